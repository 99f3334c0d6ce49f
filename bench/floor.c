/* floor: the restart latency with no supervisor, the limit every supervisor is measured
 * against. A bare C loop does what a supervisor does at a restart and nothing else: it
 * runs the service (fork, exec ./run in SVCDIR), waits for its stamp, reads
 * CLOCK_REALTIME and SIGKILLs it, reaps it (blocking waitpid), forks and execs ./run
 * again; the latency is the new instance's start stamp minus the kill time, exactly as
 * `helper kill` measures a supervisor.
 *
 *   floor SVCDIR STAMPFILE TIMEOUT_MS [TRIALS]
 *
 * SVCDIR/run is the stamp program; STAMPFILE is where it writes (the caller sets
 * STAMP_DIR accordingly). Prints one latency in ns per trial, one a line. Each instance
 * is killed and reaped before it returns; a wait past TIMEOUT_MS exits 1.
 *
 *   floor -n SVDIR
 *
 * The bring-up floor: forks and execs ./run in every service directory of SVDIR, one
 * after the other as fast as it can, without waiting for any exec, and does nothing
 * else (the caller times it like a supervisor's bring-up: from the exec of floor to the
 * last stamp). Then the shutdown floor: it waits for SIGTERM or SIGINT, sends SIGTERM to
 * every child, reaps them all with blocking waitpid() and exits 0 (the caller times it
 * like a supervisor's shutdown: from its signal to floor's exit). A child still there
 * 5 s after the signal gets SIGKILL, so that the exit stays bounded. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
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
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	exit(2);
}

static pid_t
start(void)
{
	static char *av[] = { "./run", NULL };
	pid_t pid = fork();

	if (pid == -1)
		die("fork");
	if (pid == 0) {
		execve(av[0], av, environ);
		_exit(127);
	}
	return pid;
}

/* Waits until STAMPFILE grows past *SIZE with a complete line; returns its stamp. */
static long long
next_stamp(int ifd, const char *file, off_t *size, long long deadline, pid_t child)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct pollfd p = { .fd = ifd, .events = POLLIN };

	for (;;) {
		int fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd == -1)
			die(file);
		ssize_t n = pread(fd, buf, sizeof buf - 1, *size);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			char *nl = strchr(buf, '\n');
			long long ns;
			if (nl != NULL && sscanf(buf, "%lld", &ns) == 1) {
				*size += nl + 1 - buf;
				return ns;
			}
		}
		long long l = deadline - mono_ms();
		if (l <= 0) {
			fprintf(stderr, "floor: timeout: no stamp in %s\n", file);
			kill(child, SIGKILL);
			waitpid(child, NULL, 0);
			exit(1);
		}
		if (poll(&p, 1, l > INT_MAX ? INT_MAX : (int)l) == -1 && errno != EINTR)
			die("poll");
		while (read(ifd, buf, sizeof buf) > 0)
			;
	}
}

static volatile sig_atomic_t alarmed;

static void
on_alarm(int sig)
{
	(void)sig;
	if (alarmed == 0)
		alarmed = 1;
}

static int
bringup(const char *svdir)
{
	DIR *d = opendir(svdir);
	struct dirent *e;
	pid_t *pids = NULL;
	size_t n = 0, cap = 0;
	sigset_t set;
	int sig;

	if (d == NULL)
		die(svdir);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			pids = realloc(pids, cap * sizeof *pids);
			if (pids == NULL)
				die("realloc");
		}
		pid_t pid = fork();
		if (pid == -1)
			die("fork");
		if (pid == 0) {
			static char *av[] = { "./run", NULL };
			sigprocmask(SIG_UNBLOCK, &set, NULL);
			if (fchdir(dirfd(d)) == -1 || chdir(e->d_name) == -1)
				_exit(127);
			execve(av[0], av, environ);
			_exit(127);
		}
		pids[n++] = pid;
	}
	closedir(d);

	while (sigwait(&set, &sig) != 0)
		;
	for (size_t i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	/* SIGALRM interrupts the blocking waitpid() once, 5 s on, for the SIGKILL below */
	struct sigaction sa = { .sa_handler = on_alarm };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) == -1)
		die("sigaction");
	alarm(5);
	for (size_t left = n; left > 0;) {
		if (waitpid(-1, NULL, 0) > 0) {
			left--;
			continue;
		}
		if (errno == ECHILD)
			break;
		if (errno == EINTR && alarmed == 1) {
			for (size_t i = 0; i < n; i++)
				kill(pids[i], SIGKILL);
			alarmed = 2;
		} else if (errno != EINTR) {
			die("waitpid");
		}
	}
	free(pids);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "-n") == 0)
		return bringup(argv[2]);
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: floor SVCDIR STAMPFILE TIMEOUT_MS [TRIALS] | floor -n SVDIR\n");
		return 2;
	}
	const char *file = argv[2];
	long long timeout = atoll(argv[3]);
	int trials = argc == 5 ? atoi(argv[4]) : 1;
	off_t size;
	int fd, ifd;
	pid_t pid;

	if (chdir(argv[1]) == -1)
		die(argv[1]);
	fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd == -1)
		die(file);
	size = lseek(fd, 0, SEEK_END);
	close(fd);
	ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ifd == -1 || inotify_add_watch(ifd, file, IN_MODIFY | IN_CLOSE_WRITE) == -1)
		die("inotify");

	for (int i = 0; i < trials; i++) {
		long long deadline = mono_ms() + timeout;
		pid = start();
		next_stamp(ifd, file, &size, deadline, pid);

		/* the restart: kill, reap, fork + exec, as a supervisor would */
		long long t_kill = now_ns();
		if (kill(pid, SIGKILL) == -1)
			die("kill");
		while (waitpid(pid, NULL, 0) == -1)
			if (errno != EINTR)
				die("waitpid");
		pid = start();
		long long ns = next_stamp(ifd, file, &size, deadline, pid);
		printf("%lld\n", ns - t_kill);
		fflush(stdout);

		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	return 0;
}
