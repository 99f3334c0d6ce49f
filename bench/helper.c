/* helper: the timing side of bench/run. Every clock read that a figure depends on is
 * taken here, in C, next to the event it times; the driver only collects the numbers.
 *
 *   helper kill FILE TIMEOUT_MS MIN_UP_MS
 *       FILE is a service's stamp file (lines "NS PID", see stamp.c). Takes the running
 *       instance from its last line, waits until that instance has run MIN_UP_MS, reads
 *       CLOCK_REALTIME and sends SIGKILL right after, then waits (inotify, no polling) for
 *       the next instance's line. Prints "LATENCY_NS OLD_PID NEW_PID OLD_UPTIME_MS".
 *   helper wait DIR N TIMEOUT_MS
 *       Prints "ready" once it watches DIR, then returns when DIR holds N non-empty
 *       files (N services have stamped). Prints "done N".
 *   helper time TIMEOUT_MS [-q] -- PROGRAM ARG...
 *       Runs one process and times it whole, spawn to reaped. -q: its stdout goes to
 *       /dev/null. Prints "ELAPSED_NS EXIT_STATUS" (128+N when killed by signal N).
 *   helper svcup TIMEOUT_MS DIR
 *       daemontools: `svc -u DIR`, then `svstat DIR` again and again until it says up;
 *       the whole sequence timed. Prints "ELAPSED_NS SVSTAT_RUNS".
 *   helper exec T0FILE -- PROGRAM ARG...
 *       Writes CLOCK_REALTIME in ns to T0FILE and execs PROGRAM: the bring-up's start.
 *   helper storm DIR PREFIX PID TIMEOUT_MS
 *       The crash storm. Every stamp file in DIR whose name starts with PREFIX names its
 *       running instance (last line); reads the CPU time of PID (the supervisor), the
 *       clock, and SIGKILLs all those instances one after the other, then waits
 *       (inotify on DIR, names looked up, a full rescan on overflow) until every one of
 *       them has a new instance. Prints "BACK_NS CPU_NS N SEND_NS CPU_TICK_NS": the last
 *       new stamp minus the time before the first kill, the supervisor's CPU time
 *       (schedstat, ns, all its threads) from before the first kill to when the last new
 *       stamp was seen, the number of instances, how long sending the kills took, and
 *       the same CPU time from utime + stime (/proc/PID/stat, clock ticks).
 *   helper stop PID TIMEOUT_MS [-- PROGRAM ARG...]
 *       Reads the clock, then runs PROGRAM (its stdout to /dev/null), or without one
 *       sends SIGTERM to PID, and waits (pidfd) until PID has exited. Prints
 *       "EXIT_NS PROG_STATUS PROG_NS CPU_NS": until PID exited, PROGRAM's exit status
 *       and time (-1 -1 without one), the CPU time PID used meanwhile (its schedstat,
 *       read again from the zombie, or -1 once gone).
 *
 * Every wait is bounded by its TIMEOUT_MS: past it, the helper says "timeout ..." on
 * stderr, kills what it spawned (by pid) and exits 1. Exit 2: usage or system error. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void __attribute__((noreturn))
die(const char *what)
{
	fprintf(stderr, "helper: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: helper kill FILE TIMEOUT_MS MIN_UP_MS | wait DIR N TIMEOUT_MS |"
			" time TIMEOUT_MS [-q] -- PROG ARG... | svcup TIMEOUT_MS DIR |"
			" exec T0FILE -- PROG ARG... | storm DIR PREFIX PID TIMEOUT_MS |"
			" stop PID TIMEOUT_MS [-- PROG ARG...]\n");
	exit(2);
}

static long long
num(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		usage();
	return v;
}

/* Milliseconds left before DEADLINE (monotonic ms), 0 when past it. */
static int
left_ms(long long deadline)
{
	long long l = deadline - mono_ms();

	return l <= 0 ? 0 : l > INT_MAX ? INT_MAX : (int)l;
}

/* Reads FILE from offset FROM; the last complete line's two numbers into *NS, *PID.
 * Returns 1 when a complete line was found past FROM, 0 otherwise; *SIZE = file size. */
static int
last_line(const char *file, off_t from, long long *ns, long *pid, off_t *size)
{
	char buf[65536];
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	off_t total = from;
	int found = 0;
	size_t have = 0;

	if (fd == -1)
		return -1;
	if (lseek(fd, from, SEEK_SET) == -1)
		die("lseek");
	/* stamp files are a few lines long: read them whole, keep the last line */
	while ((n = read(fd, buf + have, sizeof buf - 1 - have)) > 0) {
		total += n;
		have += (size_t)n;
		if (have == sizeof buf - 1) { /* keep the tail only */
			memmove(buf, buf + have / 2, have - have / 2);
			have -= have / 2;
		}
	}
	close(fd);
	buf[have] = '\0';
	*size = total;
	/* the last '\n'-terminated line */
	char *end = have > 0 ? strrchr(buf, '\n') : NULL;
	if (end != NULL) {
		*end = '\0';
		char *start = strrchr(buf, '\n');
		start = start != NULL ? start + 1 : buf;
		if (sscanf(start, "%lld %ld", ns, pid) == 2)
			found = 1;
	}
	return found;
}

static void
drain(int ifd)
{
	char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(ifd, buf, sizeof buf) > 0)
		;
}

static int
cmd_kill(int argc, char **argv)
{
	if (argc != 5)
		usage();
	const char *file = argv[2];
	long long timeout = num(argv[3]), min_up = num(argv[4]);
	long long ns0, ns1, t_kill, deadline;
	long pid0, pid1;
	off_t size0, size1;
	struct pollfd p;
	int ifd, r;

	ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ifd == -1)
		die("inotify_init1");
	if (inotify_add_watch(ifd, file, IN_MODIFY | IN_CLOSE_WRITE) == -1)
		die(file);
	r = last_line(file, 0, &ns0, &pid0, &size0);
	if (r != 1) {
		fprintf(stderr, "helper: %s: no stamp line\n", file);
		return 1;
	}
	if (kill((pid_t)pid0, 0) == -1) {
		fprintf(stderr, "helper: %s: instance %ld is not running\n", file, pid0);
		return 1;
	}
	long long age_ms = (now_ns() - ns0) / 1000000;
	if (age_ms < min_up) {
		long long d = min_up - age_ms;
		struct timespec ts = { (time_t)(d / 1000), (long)(d % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
	drain(ifd);
	/* the file again, in case a line arrived meanwhile (it should not) */
	if (last_line(file, 0, &ns0, &pid0, &size0) != 1)
		return 1;
	age_ms = (now_ns() - ns0) / 1000000;

	t_kill = now_ns();
	if (kill((pid_t)pid0, SIGKILL) == -1)
		die("kill");
	deadline = mono_ms() + timeout;
	p = (struct pollfd){ .fd = ifd, .events = POLLIN };
	for (;;) {
		r = last_line(file, size0, &ns1, &pid1, &size1);
		if (r == 1 && pid1 != pid0)
			break;
		int l = left_ms(deadline);
		if (l == 0) {
			fprintf(stderr, "helper: timeout: %s: no new instance %lld ms after killing %ld\n",
				file, timeout, pid0);
			return 1;
		}
		if (poll(&p, 1, l) == -1 && errno != EINTR)
			die("poll");
		drain(ifd);
	}
	printf("%lld %ld %ld %lld\n", ns1 - t_kill, pid0, pid1, age_ms);
	return 0;
}

/* Non-empty regular files in DIR. */
static int
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;
	int n = 0;

	if (d == NULL)
		die(dir);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, 0) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
			n++;
	}
	closedir(d);
	return n;
}

static int
cmd_wait(int argc, char **argv)
{
	if (argc != 5)
		usage();
	const char *dir = argv[2];
	int want = (int)num(argv[3]);
	long long deadline = mono_ms() + num(argv[4]);
	char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct pollfd p;
	int ifd, have;

	ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ifd == -1)
		die("inotify_init1");
	if (inotify_add_watch(ifd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR) == -1)
		die(dir);
	printf("ready\n");
	fflush(stdout);
	p = (struct pollfd){ .fd = ifd, .events = POLLIN };
	while ((have = count_files(dir)) < want) {
		/* count only once enough events came for the rest, or every 250 ms */
		int events = 0, recount = 0;
		while (!recount && events < want - have) {
			int l = left_ms(deadline);
			if (l == 0) {
				fprintf(stderr, "helper: timeout: %s: %d of %d stamped\n", dir,
					count_files(dir), want);
				printf("timeout %d\n", count_files(dir));
				return 1;
			}
			int r = poll(&p, 1, l < 250 ? l : 250);
			if (r == -1 && errno != EINTR)
				die("poll");
			if (r == 0) {
				recount = 1;
				continue;
			}
			ssize_t n;
			while ((n = read(ifd, buf, sizeof buf)) > 0) {
				for (char *q = buf; q < buf + n;) {
					struct inotify_event *ev = (struct inotify_event *)(void *)q;
					if (ev->mask & IN_Q_OVERFLOW)
						recount = 1;
					events++;
					q += sizeof *ev + ev->len;
				}
			}
		}
	}
	printf("done %d\n", have);
	return 0;
}

static pid_t
spawn(char **av, int out_fd)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r;

	posix_spawn_file_actions_init(&fa);
	if (out_fd != -1)
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	r = posix_spawnp(&pid, av[0], &fa, NULL, av, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		errno = r;
		die(av[0]);
	}
	return pid;
}

/* Waits for PID until DEADLINE; returns its wait status, or -1 after killing it. */
static int
reap(pid_t pid, long long deadline)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0), st;

	if (pfd == -1)
		die("pidfd_open");
	struct pollfd p = { .fd = pfd, .events = POLLIN };
	for (;;) {
		int r = poll(&p, 1, left_ms(deadline));
		if (r == 1)
			break;
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			die("poll");
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		close(pfd);
		return -1;
	}
	close(pfd);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			die("waitpid");
	return st;
}

static int
status_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int
cmd_time(int argc, char **argv)
{
	int i = 3, quiet = 0, out = -1, st;

	if (argc < 5)
		usage();
	long long timeout = num(argv[2]);
	if (strcmp(argv[i], "-q") == 0) {
		quiet = 1;
		i++;
	}
	if (i >= argc || strcmp(argv[i], "--") != 0 || i + 1 >= argc)
		usage();
	if (quiet && (out = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1)
		die("/dev/null");
	long long deadline = mono_ms() + timeout;
	long long t0 = now_ns();
	pid_t pid = spawn(argv + i + 1, out);
	st = reap(pid, deadline);
	long long t1 = now_ns();
	if (st == -1) {
		fprintf(stderr, "helper: timeout: %s ran over %lld ms; killed\n", argv[i + 1], timeout);
		return 1;
	}
	printf("%lld %d\n", t1 - t0, status_code(st));
	return 0;
}

static int
cmd_svcup(int argc, char **argv)
{
	if (argc != 4)
		usage();
	long long deadline = mono_ms() + num(argv[2]);
	char *svc[] = { "svc", "-u", argv[3], NULL };
	char *svstat[] = { "svstat", argv[3], NULL };
	char buf[4096];
	int runs = 0, st;

	long long t0 = now_ns();
	st = reap(spawn(svc, -1), deadline);
	if (st == -1 || status_code(st) != 0) {
		fprintf(stderr, "helper: svc -u %s failed\n", argv[3]);
		return 1;
	}
	for (;;) {
		int pfd[2];
		size_t have = 0;
		ssize_t n;

		if (pipe2(pfd, O_CLOEXEC) == -1)
			die("pipe");
		pid_t pid = spawn(svstat, pfd[1]);
		close(pfd[1]);
		while ((n = read(pfd[0], buf + have, sizeof buf - 1 - have)) > 0)
			have += (size_t)n;
		close(pfd[0]);
		buf[have] = '\0';
		st = reap(pid, deadline);
		runs++;
		if (st != -1 && strstr(buf, ": up ") != NULL)
			break;
		if (left_ms(deadline) == 0) {
			fprintf(stderr, "helper: timeout: svstat %s: %s", argv[3], buf);
			return 1;
		}
	}
	printf("%lld %d\n", now_ns() - t0, runs);
	return 0;
}

static int
cmd_exec(int argc, char **argv)
{
	char line[32];
	int fd, len;

	if (argc < 5 || strcmp(argv[3], "--") != 0)
		usage();
	long long t0 = now_ns();
	len = snprintf(line, sizeof line, "%lld\n", t0);
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1 || write(fd, line, (size_t)len) != len)
		die(argv[2]);
	close(fd);
	execvp(argv[4], argv + 4);
	die(argv[4]);
}

/* CPU time of every thread of PID, in ns (schedstat: exact, where utime + stime of
 * /proc/PID/stat counts clock ticks); -1 when PID is gone. */
static long long
cpu_ns(pid_t pid)
{
	char path[320], buf[128];
	long long sum = 0;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%ld/task/%s/schedstat", (long)pid, e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd == -1)
			continue; /* a thread that has just exited */
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			sum += atoll(buf);
		}
	}
	closedir(d);
	return sum;
}

/* utime + stime of PID from /proc/PID/stat, in ns (clock-tick resolution); -1: gone. */
static long long
cpu_tick_ns(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long ut, st;
	int fd;
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* the fields after the command, which may hold spaces and parentheses */
	char *p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
				&ut, &st) != 2)
		return -1;
	return (long long)(ut + st) * (1000000000LL / sysconf(_SC_CLK_TCK));
}

/* One instance of the storm: its stamp file, how far it has been read, the pid killed. */
struct victim {
	char name[NAME_MAX + 1];
	off_t size;
	long pid;
	int done;
};

static int
victim_cmp(const void *a, const void *b)
{
	return strcmp(((const struct victim *)a)->name, ((const struct victim *)b)->name);
}

/* Whether V's file has a line of another instance past what was read; its stamp to *NS. */
static int
victim_back(int dfd, struct victim *v, long long *ns)
{
	char buf[4096];
	int fd = openat(dfd, v->name, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	long pid;

	if (fd == -1)
		return 0;
	n = pread(fd, buf, sizeof buf - 1, v->size);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* the first complete line after the killed instance's: the next instance */
	char *nl = strchr(buf, '\n');
	if (nl == NULL || sscanf(buf, "%lld %ld", ns, &pid) != 2 || pid == v->pid)
		return 0;
	return 1;
}

/* The victims of DIR: files named PREFIX..., sorted by name, each with its last pid. */
static struct victim *
victims(const char *dir, const char *prefix, size_t *count)
{
	struct victim *vs = NULL;
	size_t n = 0, cap = 0, plen = strlen(prefix);
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		die(dir);
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, plen) != 0 || e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			if ((vs = realloc(vs, cap * sizeof *vs)) == NULL)
				die("realloc");
		}
		struct victim *v = &vs[n];
		char path[PATH_MAX];
		long long ns;
		snprintf(v->name, sizeof v->name, "%s", e->d_name);
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (last_line(path, 0, &ns, &v->pid, &v->size) != 1) {
			fprintf(stderr, "helper: %s: no stamp line\n", path);
			exit(1);
		}
		v->done = 0;
		n++;
	}
	closedir(d);
	qsort(vs, n, sizeof *vs, victim_cmp);
	*count = n;
	return vs;
}

static int
cmd_storm(int argc, char **argv)
{
	if (argc != 6)
		usage();
	const char *dir = argv[2];
	pid_t sup = (pid_t)num(argv[4]);
	long long deadline = mono_ms() + num(argv[5]);
	char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
	long long last = 0, ns, cpu0, tick0, t0, t_sent;
	size_t n, left;
	struct victim *vs;
	struct pollfd p;
	int ifd, dfd;

	ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ifd == -1)
		die("inotify_init1");
	/* one write() a stamp: IN_MODIFY alone tells of every new line, with its name */
	if (inotify_add_watch(ifd, dir, IN_MODIFY | IN_ONLYDIR) == -1)
		die(dir);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		die(dir);
	vs = victims(dir, argv[3], &n);
	if (n == 0) {
		fprintf(stderr, "helper: %s: no stamp file named %s...\n", dir, argv[3]);
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		if (kill((pid_t)vs[i].pid, 0) == -1) {
			fprintf(stderr, "helper: %s: instance %ld is not running\n", vs[i].name,
				vs[i].pid);
			return 1;
		}

	cpu0 = cpu_ns(sup);
	tick0 = cpu_tick_ns(sup);
	t0 = now_ns();
	for (size_t i = 0; i < n; i++)
		if (kill((pid_t)vs[i].pid, SIGKILL) == -1 && errno != ESRCH)
			die("kill");
	t_sent = now_ns();

	p = (struct pollfd){ .fd = ifd, .events = POLLIN };
	left = n;
	int rescan = 1; /* lines written while the kills went out came before any read */
	while (left > 0) {
		if (rescan) {
			for (size_t i = 0; i < n; i++)
				if (!vs[i].done && victim_back(dfd, &vs[i], &ns)) {
					vs[i].done = 1;
					left--;
					last = ns > last ? ns : last;
				}
			rescan = 0;
			continue;
		}
		int l = left_ms(deadline);
		if (l == 0) {
			fprintf(stderr, "helper: timeout: %s: %zu of %zu instances not back after %s ms\n",
				dir, left, n, argv[5]);
			printf("timeout %zu\n", left);
			return 1;
		}
		int r = poll(&p, 1, l < 250 ? l : 250);
		if (r == -1 && errno != EINTR)
			die("poll");
		if (r == 0) { /* quiet for 250 ms: look at what is left, whatever inotify said */
			rescan = 1;
			continue;
		}
		ssize_t got;
		while ((got = read(ifd, buf, sizeof buf)) > 0) {
			for (char *q = buf; q < buf + got;) {
				struct inotify_event *ev = (struct inotify_event *)(void *)q;
				q += sizeof *ev + ev->len;
				if (ev->mask & IN_Q_OVERFLOW) {
					rescan = 1;
					continue;
				}
				if (ev->len == 0)
					continue;
				struct victim key, *v;
				snprintf(key.name, sizeof key.name, "%s", ev->name);
				v = bsearch(&key, vs, n, sizeof *vs, victim_cmp);
				if (v != NULL && !v->done && victim_back(dfd, v, &ns)) {
					v->done = 1;
					left--;
					last = ns > last ? ns : last;
				}
			}
		}
	}
	long long cpu1 = cpu_ns(sup), tick1 = cpu_tick_ns(sup);
	printf("%lld %lld %zu %lld %lld\n", last - t0, cpu0 < 0 || cpu1 < 0 ? -1 : cpu1 - cpu0,
	       n, t_sent - t0, tick0 < 0 || tick1 < 0 ? -1 : tick1 - tick0);
	free(vs);
	return 0;
}

static int
cmd_stop(int argc, char **argv)
{
	if (argc != 4 && (argc < 6 || strcmp(argv[4], "--") != 0))
		usage();
	pid_t pid = (pid_t)num(argv[2]), prog = -1;
	long long timeout = num(argv[3]), deadline = mono_ms() + timeout;
	long long t0, t1, t_prog = -1, cpu0, cpu1;
	int pfd, st = -1, out;

	if ((pfd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1)
		die("pidfd_open");
	if ((out = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1)
		die("/dev/null");
	cpu0 = cpu_ns(pid);
	t0 = now_ns();
	if (argc > 4)
		prog = spawn(argv + 5, out);
	else if (kill(pid, SIGTERM) == -1)
		die("kill");
	struct pollfd p = { .fd = pfd, .events = POLLIN };
	for (;;) {
		int r = poll(&p, 1, left_ms(deadline));
		if (r == 1)
			break;
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			die("poll");
		fprintf(stderr, "helper: timeout: %ld still running %lld ms after the stop\n",
			(long)pid, timeout);
		if (prog != -1) {
			kill(prog, SIGKILL);
			waitpid(prog, NULL, 0);
		}
		printf("timeout\n");
		return 1;
	}
	t1 = now_ns();
	cpu1 = cpu_ns(pid); /* a zombie until its parent reaps it: still readable */
	if (prog != -1) {
		st = reap(prog, deadline + 10000);
		t_prog = now_ns() - t0;
		if (st == -1) {
			fprintf(stderr, "helper: timeout: %s still running; killed\n", argv[5]);
			return 1;
		}
	}
	printf("%lld %d %lld %lld\n", t1 - t0, st == -1 ? -1 : status_code(st), t_prog,
	       cpu0 < 0 || cpu1 < 0 ? -1 : cpu1 - cpu0);
	close(pfd);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "kill") == 0)
		return cmd_kill(argc, argv);
	if (strcmp(argv[1], "wait") == 0)
		return cmd_wait(argc, argv);
	if (strcmp(argv[1], "time") == 0)
		return cmd_time(argc, argv);
	if (strcmp(argv[1], "svcup") == 0)
		return cmd_svcup(argc, argv);
	if (strcmp(argv[1], "exec") == 0)
		return cmd_exec(argc, argv);
	if (strcmp(argv[1], "storm") == 0)
		return cmd_storm(argc, argv);
	if (strcmp(argv[1], "stop") == 0)
		return cmd_stop(argc, argv);
	usage();
}
