/* main.c: options, daemonizing, the pid lock; then the loop. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "fdio.h"
#include "log.h"
#include "proc.h"
#include "safepath.h"
#include "sig.h"
#include "sup.h"

#define READY_MARK '\0' /* the daemon's last byte to its launcher: "taking commands" */

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: supervise [-f] [-d SVDIR] [-r RUNDIR] [-c CGROUPDIR] [-o text|json] [-t MS]\n"
			"                 [-- CMD [ARG...]]\n");
	exit(2);
}

static enum out_mode
parse_out_mode(const char *arg)
{
	if (strcmp(arg, "text") == 0)
		return OUT_TEXT;
	if (strcmp(arg, "json") == 0)
		return OUT_JSON;
	fprintf(stderr, "supervise: -o: say text or json, not '%s'\n", arg);
	usage();
}

static int64_t
parse_ms(const char *arg)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < 0 || v > 86400000) {
		fprintf(stderr, "supervise: -t: not a number of milliseconds: '%s'\n", arg);
		usage();
	}
	return v;
}

/* SVDIR must exist, and becomes absolute (the daemon runs in /). */
static void
check_svdir(struct paths *p)
{
	char abs[PATH_MAX];
	struct stat st;

	if (realpath(p->svdir, abs) == NULL)
		log_fatal("service directory %s", p->svdir);
	if (stat(abs, &st) == -1 || !S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		log_fatal("service directory %s", p->svdir);
	}
	strcpy(p->svdir, abs);
}

/* RUNDIR: made (0700) when missing, then opened, and from then on used only through that
 * descriptor, so that nothing done to its path later changes where we write. Refused
 * when it is a symbolic link, is not ours, could be written by others, or is reached
 * through a directory or link that a user other than root and us could change (the
 * safe-path rule, lib/safepath.h). Its path becomes absolute, not resolved: it is what
 * users gave, for messages and for the services' NOTIFY_SOCKET. */
static int
open_rundir(struct paths *p)
{
	char abs[PATH_MAX], why[PATH_MAX + 128], *slash;
	struct stat st;
	int fd;

	if (p->rundir[0] != '/') {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof cwd) == NULL || path_join(abs, sizeof abs, cwd, p->rundir, NULL) == -1)
			log_fatal("run directory %s", p->rundir);
		strcpy(p->rundir, abs);
	}
	for (size_t n = strlen(p->rundir); n > 1 && p->rundir[n - 1] == '/'; n--)
		p->rundir[n - 1] = '\0';
	strcpy(abs, p->rundir);
	slash = strrchr(abs, '/');
	*(slash == abs ? slash + 1 : slash) = '\0';
	if (safepath_check(abs, geteuid(), 1, why, sizeof why) == -1)
		log_fatalx("run directory %s: unsafe: %s", p->rundir, why);
	if (mkdir(p->rundir, 0700) == -1 && errno != EEXIST)
		log_fatal("unable to create run directory %s", p->rundir);
	fd = open(p->rundir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && (errno == ELOOP || errno == ENOTDIR) && lstat(p->rundir, &st) == 0 &&
	    S_ISLNK(st.st_mode))
		log_fatalx("run directory %s: is a symbolic link", p->rundir);
	if (fd == -1)
		log_fatal("run directory %s", p->rundir);
	if (fstat(fd, &st) == -1)
		log_fatal("run directory %s", p->rundir);
	if (st.st_uid != geteuid())
		log_fatalx("run directory %s: owned by uid %ld, not by us (uid %ld)", p->rundir,
			   (long)st.st_uid, (long)geteuid());
	if (st.st_mode & 022)
		log_fatalx("run directory %s: writable by others (mode %03o); chmod 700 it", p->rundir,
			   (unsigned)(st.st_mode & 0777));
	if (faccessat(fd, ".", W_OK, AT_EACCESS) == -1)
		log_fatal("run directory %s", p->rundir);
	return fd;
}

/* A daemon keeps nothing of its launcher's descriptors but ours (and 0-2, redirected
 * next): an inherited pipe held open would keep its reader waiting forever. */
static void
close_inherited(int keep_a, int keep_b)
{
	int keep[2] = { keep_a < keep_b ? keep_a : keep_b, keep_a < keep_b ? keep_b : keep_a };
	long max = sysconf(_SC_OPEN_MAX);

#ifdef SYS_close_range
	unsigned from = 3;
	int ok = 1;
	for (int i = 0; i < 2 && ok; i++) {
		if (keep[i] < (int)from)
			continue;
		if ((unsigned)keep[i] > from)
			ok = syscall(SYS_close_range, from, (unsigned)keep[i] - 1, 0U) == 0;
		from = (unsigned)keep[i] + 1;
	}
	if (ok && syscall(SYS_close_range, from, ~0U, 0U) == 0)
		return;
#endif
	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = 3; fd < max; fd++)
		if (fd != keep[0] && fd != keep[1])
			(void)close(fd); /* EBADF for most: fine */
}

/* A thousand services and more each hold a descriptor or two (their output FIFO, a
 * readiness channel): the soft limit goes up to the hard one, as systemd does. */
static void
raise_fd_limit(struct sup *s)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		s->nofile = rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit(RLIMIT_NOFILE)");
	}
}

/* Fork, setsid, fork. The launcher waits on a pipe that is the daemon's stderr until it
 * is ready: it shows what the daemon says, and exits 0 only when the ready mark comes. */
static int
daemonize(int keep)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		log_fatal("pipe");
	pid = fork();
	if (pid == -1)
		log_fatal("fork");
	if (pid > 0) {
		char buf[512];
		ssize_t n;
		int ready = 0, said = 0;
		fd_close(p[1]);
		while ((n = fd_read(p[0], buf, sizeof buf)) > 0) {
			ready = buf[n - 1] == READY_MARK;
			said = 1;
			(void)fd_write_all(2, buf, (size_t)(ready ? n - 1 : n));
		}
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		if (!ready && !said)
			fprintf(stderr, "supervise: the daemon did not start\n");
		exit(ready ? 0 : 1);
	}
	fd_close(p[0]);
	if (setsid() == -1)
		log_fatal("setsid");
	pid = fork();
	if (pid == -1)
		log_fatal("fork");
	if (pid > 0)
		_exit(0);
	close_inherited(p[1], keep);
	if (chdir("/") == -1)
		log_fatal("chdir /");
	umask(022);
	int null = open("/dev/null", O_RDWR);
	if (null == -1 || dup2(null, 0) == -1 || dup2(null, 1) == -1 || dup2(p[1], 2) == -1)
		log_fatal("redirecting stdio");
	if (null > 2)
		fd_close(null);
	return p[1];
}

/* RUNDIR/pid, locked for our lifetime: a second supervisor on this RUNDIR is refused,
 * and a stale file (no lock) is simply taken over. */
static int
lock_pidfile(const struct sup *s)
{
	char buf[32];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct stat st;
	int fd, n;

	fd = openat(s->run_dirfd, RUN_PID, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd == -1)
		log_fatal("unable to open %s/%s", s->paths.rundir, RUN_PID);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
		log_fatalx("%s/%s: not a regular file of ours", s->paths.rundir, RUN_PID);
	if (fcntl(fd, F_SETLK, &fl) == -1) {
		if (errno != EAGAIN && errno != EACCES)
			log_fatal("unable to lock %s/%s", s->paths.rundir, RUN_PID);
		if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
			log_fatalx("already running (pid %ld)", (long)fl.l_pid);
		log_fatalx("already running");
	}
	n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n)
		log_fatal("unable to write %s/%s", s->paths.rundir, RUN_PID);
	return fd;
}

/* A directory of RUNDIR: made 0700 when missing; one that is there must be ours and
 * writable by nobody else. */
static int
open_subdir(const struct sup *s, const char *name)
{
	struct stat st;
	int fd;

	if (mkdirat(s->run_dirfd, name, 0700) == -1 && errno != EEXIST)
		log_fatal("unable to create %s/%s", s->paths.rundir, name);
	fd = openat(s->run_dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		log_fatal("unable to open %s/%s", s->paths.rundir, name);
	if (fstat(fd, &st) == -1)
		log_fatal("%s/%s", s->paths.rundir, name);
	if (st.st_uid != geteuid() || (st.st_mode & 022))
		log_fatalx("run directory %s: unsafe: %s/%s is owned by uid %ld, mode %03o", s->paths.rundir,
			   s->paths.rundir, name, (long)st.st_uid, (unsigned)(st.st_mode & 0777));
	return fd;
}

/* The real-time signals below SIGRTMIN that the C library keeps for itself: its
 * signal() and sigaction() refuse them, yet an ignored one is inherited through exec like
 * any other (some environments hand them over ignored). Straight to the kernel, whose
 * first real-time signal is 32. */
static void
reset_libc_signals(void)
{
	/* the kernel's struct sigaction, read by the kernel only */
	struct {
		void (*handler)(int);   /* cppcheck-suppress unusedStructMember */
		unsigned long flags;    /* cppcheck-suppress unusedStructMember */
		void (*restorer)(void); /* cppcheck-suppress unusedStructMember */
		unsigned long mask;
	} ksa = { SIG_DFL, 0, NULL, 0 };

	for (int sig = 32; sig < SIGRTMIN; sig++)
		(void)syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof ksa.mask); /* best effort */
}

static void
noop_handler(int sig)
{
	(void)sig;
}

/* In container mode (PID 1, or a CMD) we take more: QUIT (a shutdown) and what is
 * forwarded to CMD; as PID 1, every signal but those a fault raises, which must stay
 * deliverable, and KILL and STOP; with a CMD, the terminal's stop signals, so that our
 * writes from a background group are never stopped. */
static int
take_signal(int sig, int container, int pid1)
{
	switch (sig) {
	case SIGCHLD: case SIGTERM: case SIGINT: case SIGHUP: case SIGUSR2:
		return 1;
	case SIGQUIT: case SIGUSR1: case SIGWINCH: case SIGCONT:
	case SIGTSTP: case SIGTTIN: case SIGTTOU:
		return container;
	case SIGKILL: case SIGSTOP: case SIGPIPE:
	case SIGSEGV: case SIGBUS: case SIGFPE: case SIGILL: case SIGTRAP: case SIGSYS: case SIGABRT:
		return 0;
	default:
		return pid1 && sig < 32;
	}
}

/* Signals arrive on a signalfd. They are blocked for that, and get a do-nothing handler
 * too: as PID 1, a signal left at its default disposition would never be delivered. */
static int
setup_signals(int container, int pid1)
{
	struct sigaction sa;
	sigset_t set;
	int fd;

	/* every disposition at its default first: one ignored by whoever started us (nohup,
	 * a shell's background job) would otherwise reach every service, and the spawn only
	 * resets what it knows we changed (see spawn.c) */
	for (int sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL); /* fails for KILL, STOP and unused numbers: fine */
	reset_libc_signals();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = noop_handler;
	sigemptyset(&set);
	for (int sig = 1; sig < 32; sig++) {
		if (!take_signal(sig, container, pid1))
			continue;
		sigaddset(&set, sig);
		if (sigaction(sig, &sa, NULL) == -1)
			log_fatal("sigaction %s", sig_name(sig));
	}
	sa.sa_handler = SIG_IGN; /* a client gone from its reply FIFO is an EPIPE, not a death */
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		log_fatal("sigaction");
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		log_fatal("sigprocmask");
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd == -1)
		log_fatal("signalfd");
	return fd;
}

/* Leftovers of clients that died before the supervisor opened their reply FIFO. */
static void
clean_dir(int dirfd)
{
	DIR *d = fd_opendir(dirfd);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			(void)unlinkat(dirfd, de->d_name, 0); /* best effort */
	closedir(d);
}

/* Status files of services that are no longer in SVDIR. */
static void
prune_status(struct sup *s)
{
	DIR *d = fd_opendir(s->status_dirfd);
	struct dirent *de;

	if (d == NULL) {
		log_warn("unable to read %s/%s", s->paths.rundir, RUN_STATUS);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char ref[SVREF_MAX + 1];
		struct sv_status st;
		struct service *sv;
		if (de->d_name[0] == '.' || strlen(de->d_name) > SVREF_MAX)
			continue;
		svname_from_file(de->d_name, ref);
		if (service_find(s, ref) != NULL)
			continue;
		/* its directory went away while no supervisor ran: what still runs of it is
		 * taken over as removed, so it is stopped (with timeout-kill) and forgotten */
		if (status_read(s->status_dirfd, ref, &st) == 0 && st.pid > 1 &&
		    (sv = service_new(s, ref, 0, NULL)) != NULL) {
			if (service_adopt(s, sv)) {
				log_info("%s: its directory is gone: stopping what is left of it", ref);
				service_removed(s, sv);
				continue;
			}
			service_forget(s, sv);
		}
		(void)unlinkat(s->status_dirfd, de->d_name, 0);
	}
	closedir(d);
}

#define REEXEC_ENV "SUPERVISE_REEXEC" /* "CTL_R,CTL_W,LOCK": descriptors handed over */

/* Replaces this process by a fresh copy of our binary, keeping the pid, the children
 * (every service stays our child), the pid lock and the control FIFO with whatever it
 * holds; the status files carry the rest. Returns only when the exec failed. */
static void
reexec(struct sup *s)
{
	char fds[64], deadline[32];
	char *argv[16] = { s->self, "-f", "-d", s->paths.svdir, "-r", s->paths.rundir };
	const int keep[] = { s->ctl_rfd, s->ctl_wfd, s->lock_fd };
	int argc = 6;

	if (s->cgroup[0] != '\0') {
		argv[argc++] = "-c";
		argv[argc++] = s->cgroup;
	}
	if (s->out_mode != OUT_FILES) {
		argv[argc++] = "-o";
		argv[argc++] = s->out_mode == OUT_JSON ? "json" : "text";
	}
	if (s->ct.deadline_ms >= 0) {
		snprintf(deadline, sizeof deadline, "%lld", (long long)s->ct.deadline_ms);
		argv[argc++] = "-t";
		argv[argc++] = deadline;
	}

	waiters_abort(s, "the supervisor re-executed itself: wait again");
	snprintf(fds, sizeof fds, "%d,%d,%d", s->ctl_rfd, s->ctl_wfd, s->lock_fd);
	for (size_t i = 0; i < 3; i++)
		if (fd_set_cloexec(keep[i], 0) == -1)
			log_warn("reexec: keeping descriptor %d", keep[i]);
	if (s->self_notify != NULL && setenv("NOTIFY_SOCKET", s->self_notify, 1) == -1)
		log_warn("reexec: NOTIFY_SOCKET");
	if (setrlimit(RLIMIT_NOFILE, &s->nofile) == -1) /* the new self raises it again */
		log_warn("reexec: setrlimit");
	if (setenv(REEXEC_ENV, fds, 1) == -1)
		log_warn("reexec: setenv");
	else
		execv(s->self, argv);
	log_warn("reexec: unable to exec %s; going on as before", s->self);
	(void)unsetenv(REEXEC_ENV);
	(void)unsetenv("NOTIFY_SOCKET");
	for (size_t i = 0; i < 3; i++)
		(void)fd_set_cloexec(keep[i], 1);
	s->reexec = 0;
}

/* After a reexec: the descriptors our earlier self handed over. 1 when there are. */
static int
reexec_takeover(struct sup *s)
{
	const char *v = getenv(REEXEC_ENV);
	int r, w, l;
	struct stat st;

	if (v == NULL)
		return 0;
	/* NOLINTNEXTLINE(cert-err34-c): our earlier self wrote it; fstat refuses a wrong one */
	if (sscanf(v, "%d,%d,%d", &r, &w, &l) != 3 || fstat(r, &st) == -1 || !S_ISFIFO(st.st_mode) ||
	    fstat(w, &st) == -1 || !S_ISFIFO(st.st_mode) || fstat(l, &st) == -1 ||
	    !S_ISREG(st.st_mode))
		log_fatalx("%s=%s: not the descriptors of a supervisor", REEXEC_ENV, v);
	(void)unsetenv(REEXEC_ENV); /* services must not see it */
	s->ctl_rfd = r;
	s->ctl_wfd = w;
	s->lock_fd = l;
	if (fd_set_cloexec(r, 1) == -1 || fd_set_cloexec(w, 1) == -1 || fd_set_cloexec(l, 1) == -1)
		log_fatal("reexec: descriptors");
	return 1;
}

int
main(int argc, char **argv)
{
	static struct sup sup;
	struct sup *s = &sup;
	const char *opt_d = NULL, *opt_r = NULL, *opt_c = NULL;
	int c, ready_fd = -1, reexeced;
	int64_t deadline_ms = -1;
	char **cmd = NULL;

	log_init("supervise", 0);
	if (fd_open_devnull_stdio() == -1)
		return 111;
	/* "+": options end at the first operand, and only `--` may introduce CMD */
	while ((c = getopt(argc, argv, "+fd:r:c:o:t:")) != -1) {
		switch (c) {
		case 'c': opt_c = optarg; break;
		case 'f': s->foreground = 1; break;
		case 'd': opt_d = optarg; break;
		case 'r': opt_r = optarg; break;
		case 'o': s->out_mode = parse_out_mode(optarg); break;
		case 't': deadline_ms = parse_ms(optarg); break;
		default: usage();
		}
	}
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0)
		usage();
	if (optind < argc)
		cmd = argv + optind;
	container_init(s, cmd, deadline_ms);
	/* as PID 1 nobody waits for a launcher; CMD and -o need our stdio as it is */
	if (s->ct.pid1 || cmd != NULL || s->out_mode != OUT_FILES)
		s->foreground = 1;
	if (s->out_mode == OUT_JSON)
		log_json(1);
	if (paths_resolve(&s->paths, opt_d, opt_r) == -1)
		log_fatal("paths");
	check_svdir(&s->paths);
	s->run_dirfd = open_rundir(&s->paths);
	if (opt_c != NULL)
		cgroup_init(s, opt_c);
	ssize_t n = readlink("/proc/self/exe", s->self, sizeof s->self - 1);
	if (n <= 0)
		log_fatal("readlink /proc/self/exe");
	s->self[n] = '\0';
	reexeced = reexec_takeover(s);
	notify_self_init(s);
	if (!s->foreground && !reexeced)
		ready_fd = daemonize(s->run_dirfd);
	if (!reexeced)
		s->lock_fd = lock_pidfile(s);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_fatal("prctl(PR_SET_CHILD_SUBREAPER)");
	s->status_dirfd = open_subdir(s, RUN_STATUS);
	s->svlog_dirfd = open_subdir(s, RUN_SVLOG);
	s->reply_dirfd = open_subdir(s, RUN_REPLY);
	s->pipe_dirfd = open_subdir(s, RUN_PIPE);
	s->notify_dirfd = open_subdir(s, RUN_NOTIFY);
	s->devnull_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (s->devnull_fd == -1)
		log_fatal("/dev/null");
	raise_fd_limit(s);
	clean_dir(s->reply_dirfd);
	s->sig_fd = setup_signals(container_mode(s), s->ct.pid1);
	if (!reexeced && control_open(s) == -1)
		log_fatal("unable to create the control FIFO %s/%s", s->paths.rundir, RUN_CONTROL);
	scan_init(s);
	loop_init(s);
	if (s->out_mode != OUT_FILES && output_stdout_init(s) == -1)
		log_fatal("-o: standard output");
	log_init("supervise", 1);
	if (ready_fd != -1) {
		struct stat st;
		int fd = openat(s->run_dirfd, RUN_LOG, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
				0644);
		if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
			log_fatal("unable to open %s/%s", s->paths.rundir, RUN_LOG);
		if (dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
			log_fatal("redirecting stdio to %s/%s", s->paths.rundir, RUN_LOG);
		fd_close(fd);
	}
	log_info("%s (pid %ld) on %s, run directory %s", reexeced ? "re-executed" : "started",
		 (long)getpid(), s->paths.svdir, s->paths.rundir);
	scan_run(s);
	prune_status(s);
	notify_self(s, "READY=1"); /* taking commands, the first scan done */
	if (ready_fd != -1) {
		/* after the first scan: what svctl status shows then is complete */
		char mark = READY_MARK;
		(void)fd_write_all(ready_fd, &mark, 1); /* the launcher exits 1 without it */
		fd_close(ready_fd);
	}
	while (loop_run(s) == 1)
		reexec(s);
	/* every line written until now, out (within the deadline's grace, when there is one) */
	output_drain_all(s, container_drain_until(s));
	waiters_shutdown_reply(s);
	control_close(s);
	if (unlinkat(s->run_dirfd, RUN_PID, 0) == -1)
		log_warn("unable to remove %s/%s", s->paths.rundir, RUN_PID);
	log_info("exiting (status %d)", container_exit_code(s));
	return container_exit_code(s);
}
