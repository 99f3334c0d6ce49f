/* client.c: svctl's side of the control protocol. The reply FIFO exists and is open for
 * reading before the command is sent, so no answer can be missed; then poll() sleeps
 * until the supervisor writes or closes: no polling loop. */
#define _GNU_SOURCE /* syscall(), for pidfd_open */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "client.h"
#include "clock.h"
#include "fdio.h"
#include "log.h"
#include "proto.h"

static char reply_path[PATH_MAX];

static void
unlink_reply(void)
{
	if (reply_path[0] != '\0')
		(void)unlink(reply_path); /* the supervisor may have unlinked it already */
}

static void
on_signal(int sig)
{
	unlink_reply();
	signal(sig, SIG_DFL);
	raise(sig);
}

int
client_supervisor_running(const struct paths *p)
{
	char path[PATH_MAX];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd, running;

	if (path_join(path, sizeof path, p->rundir, RUN_PID, NULL) == -1)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return 0;
	running = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
	fd_close(fd);
	return running;
}

static int
open_control(const struct paths *p)
{
	char path[PATH_MAX];
	int fd;

	if (path_join(path, sizeof path, p->rundir, RUN_CONTROL, NULL) == -1) {
		log_warn("%s/%s", p->rundir, RUN_CONTROL);
		return -1;
	}
	/* O_NONBLOCK: without a reader this fails at once with ENXIO instead of hanging */
	fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1 && (errno == ENXIO || errno == ENOENT))
		log_warnx("supervisor not running (no reader on %s)", path);
	else if (fd == -1)
		log_warn("unable to open %s", path);
	return fd;
}

static int
make_reply_fifo(const struct paths *p)
{
	char id[PROTO_REPLY_MAX + 1];
	struct sigaction sa;
	int fd;

	snprintf(id, sizeof id, "svctl-%ld-%lld", (long)getpid(), (long long)(clock_wall_ms() % 100000000));
	if (path_join(reply_path, sizeof reply_path, p->rundir, RUN_REPLY, id) == -1 ||
	    mkfifo(reply_path, 0600) == -1) {
		log_warn("unable to create a reply FIFO in %s/%s", p->rundir, RUN_REPLY);
		reply_path[0] = '\0';
		return -1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	atexit(unlink_reply);
	fd = open(reply_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		log_warn("unable to open %s", reply_path);
	return fd;
}

/* Relays complete lines of buf; returns the bytes consumed. *code gets X's value. */
static size_t
relay(const char *buf, size_t len, int *code)
{
	size_t used = 0;
	const char *nl;

	while ((nl = memchr(buf + used, '\n', len - used)) != NULL) {
		const char *line = buf + used;
		size_t n = (size_t)(nl - line);
		if (n >= 2 && line[0] == PROTO_OUT)
			printf("%.*s\n", (int)(n - 2), line + 2);
		else if (n >= 2 && line[0] == PROTO_ERR)
			fprintf(stderr, "svctl: %.*s\n", (int)(n - 2), line + 2);
		else if (n >= 2 && line[0] == PROTO_EXIT)
			*code = n == 3 && line[2] == '0' ? 0 : 1; /* "X 0"; anything else fails */
		used = (size_t)(nl - buf) + 1;
	}
	return used;
}

/* A pidfd for the supervisor named by RUNDIR/pid: it becomes readable when that process
 * has exited, which the close of the reply FIFO (during its exit) does not yet prove.
 * -1 when there is no such process or no pidfd. */
static int
supervisor_pidfd(const struct paths *p)
{
	char path[PATH_MAX], buf[32];
	long pid;

	if (path_join(path, sizeof path, p->rundir, RUN_PID, NULL) == -1 ||
	    fd_slurp(path, buf, sizeof buf, 1) <= 0 || (pid = strtol(buf, NULL, 10)) <= 1)
		return -1;
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
#else
	return -1;
#endif
}

static int
wait_exited(int pidfd, int64_t deadline)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
	int n;

	if (pidfd == -1)
		return 0; /* nothing better to wait on: the reply's end will do */
	do
		n = poll(&pfd, 1, clock_poll_timeout(deadline, clock_ms()));
	while (n == -1 && errno == EINTR);
	fd_close(pidfd);
	return n == 1 ? 0 : -1;
}

int
client_request(const struct paths *p, int argc, char *const argv[], int64_t wait_ms,
	       int64_t limit_ms, int until_exit)
{
	char line[PROTO_LINE_MAX], buf[65536]; /* a reply line: a JSON status at most */
	size_t have = 0;
	int ctl, fd, len, code = -1, pidfd;
	int64_t deadline;
	const char *id;

	ctl = open_control(p);
	if (ctl == -1)
		return 1;
	pidfd = until_exit ? supervisor_pidfd(p) : -1;
	fd = limit_ms > 0 ? make_reply_fifo(p) : -2;
	if (fd == -1) {
		fd_close(ctl);
		return 1;
	}
	id = fd >= 0 ? strrchr(reply_path, '/') + 1 : NULL;
	len = proto_build(line, sizeof line, id, wait_ms, argc, argv);
	if (len < 0) {
		log_warnx("command longer than %d bytes: split it", PROTO_LINE_MAX);
		return 2;
	}
	/* one write of at most PIPE_BUF bytes: atomic, never mixed with another client's */
	ssize_t w = write(ctl, line, (size_t)len);
	if (w != len) {
		if (w == -1 && errno == EAGAIN)
			log_warnx("the supervisor is not reading its control FIFO (full)");
		else
			log_warn("unable to send the command");
		return 1;
	}
	fd_close(ctl);
	if (fd < 0)
		return 0; /* nothing to hear */
	deadline = clock_ms() + limit_ms;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t now = clock_ms();
		int n = poll(&pfd, 1, clock_poll_timeout(deadline, now));
		ssize_t r;

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_warn("poll");
			return 1;
		}
		if (n == 0) {
			if (code >= 0)
				log_warnx("the supervisor has not exited after %lld s",
					  (long long)(limit_ms / 1000));
			else
				log_warnx("no reply from the supervisor within %lld s",
					  (long long)(limit_ms / 1000));
			return 1;
		}
		r = fd_read(fd, buf + have, sizeof buf - have);
		if (r == -1 && errno == EAGAIN)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
		size_t used = relay(buf, have, &code);
		memmove(buf, buf + used, have - used);
		have -= used;
		if (have == sizeof buf) /* a line longer than we take: drop it */
			have = 0;
		if (code >= 0 && !until_exit)
			break;
	}
	fd_close(fd);
	fflush(stdout);
	if (code < 0) {
		log_warnx("the supervisor closed the reply without an answer");
		return 1;
	}
	if (until_exit && wait_exited(pidfd, deadline) == -1) {
		log_warnx("the supervisor has not exited after %lld s", (long long)(limit_ms / 1000));
		return 1;
	}
	return code;
}
