/* notify.c: readiness. Two ways: notification-fd (the s6 convention: the service writes a
 * newline on that descriptor when it is ready) and the systemd protocol for services whose
 * directory holds `notify`: NOTIFY_SOCKET names a datagram socket on which READY=1,
 * STATUS=text and MAINPID=N are understood. The socket is RUNDIR/notify/NAME, which only
 * we can reach (RUNDIR is 0700); a service that runs as another `user` could not reach
 * it, so it gets an abstract socket instead (NOTIFY_SOCKET=@..., as systemd allows), with
 * a name nobody can guess. Anyone may send to an abstract socket, and a service's other
 * processes may send to either: every datagram is taken only when the kernel's
 * credentials of its sender say it is a process of that service (its process, group or
 * session) running as the service's user. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fdio.h"
#include "log.h"
#include "sup.h"

/* A pipe for notification-fd: we keep the read end, the child gets the write end (which
 * the caller closes after the spawn). -1 on failure. */
int
notify_pipe(struct sup *s, struct service *sv)
{
	int p[2];

	notify_close_fd(s, sv);
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	if (loop_watch(s, p[0], loop_sv_src(sv, EV_NOTIFY), EPOLLIN) == -1) {
		fd_close(p[0]);
		fd_close(p[1]);
		return -1;
	}
	sv->notify_rfd = p[0];
	return p[1];
}

void
notify_close_fd(struct sup *s, struct service *sv)
{
	if (sv->notify_rfd == -1)
		return;
	loop_unwatch(s, sv->notify_rfd);
	fd_close(sv->notify_rfd);
	sv->notify_rfd = -1;
}

/* 1: the newline came; 0: nothing yet; -1: closed without it (the pipe is closed). */
int
notify_read_fd(struct sup *s, struct service *sv)
{
	char buf[512];
	ssize_t n;

	while ((n = fd_read(sv->notify_rfd, buf, sizeof buf)) > 0)
		if (memchr(buf, '\n', (size_t)n) != NULL) {
			notify_close_fd(s, sv);
			return 1;
		}
	if (n == -1 && errno == EAGAIN)
		return 0;
	notify_close_fd(s, sv);
	return -1;
}

static int
socket_path(const struct sup *s, const struct service *sv, char *buf, size_t size)
{
	char file[SVREF_MAX + 1];

	svname_to_file(sv->st.name, file);
	return path_join(buf, size, s->paths.rundir, RUN_NOTIFY, file);
}

/* An abstract name for a `user` service: ours, the service's, and 64 random bits. */
static int
abstract_name(const struct service *sv, char *buf, size_t size)
{
	unsigned long long r = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd == -1 || fd_read(fd, &r, sizeof r) != (ssize_t)sizeof r) {
		if (fd != -1)
			fd_close(fd);
		return -1;
	}
	fd_close(fd);
	if (snprintf(buf, size, "@supervise/%ld/%s/%016llx", (long)getpid(), sv->st.name, r) >=
	    (int)size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* The service's sd_notify socket, made once and kept across its restarts (and made
 * anew when `user` comes or goes). What NOTIFY_SOCKET is to say in path; -1 with why. */
int
notify_socket(struct sup *s, struct service *sv, char *path, size_t size, char *why,
	      size_t why_size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int on = 1, fd, abstract = sv->has_user;

	if (sv->sdnotify_fd != -1 && sv->sdnotify_abstract == abstract &&
	    snprintf(path, size, "%s", sv->sdnotify_path) < (int)size)
		return 0;
	notify_close(s, sv);
	if ((abstract ? abstract_name(sv, path, size) : socket_path(s, sv, path, size)) == -1 ||
	    strlen(path) >= sizeof sa.sun_path) {
		snprintf(why, why_size, "notify: socket path longer than %zu bytes",
			 sizeof sa.sun_path - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	if (abstract)
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + !abstract);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		goto fail;
	if (!abstract) {
		char file[SVREF_MAX + 1];
		svname_to_file(sv->st.name, file);
		(void)unlinkat(s->notify_dirfd, file, 0); /* a leftover of an earlier supervisor */
	}
	if ((sv->sdnotify_path = strdup(path)) == NULL || bind(fd, (struct sockaddr *)&sa, len) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == -1 ||
	    loop_watch(s, fd, loop_sv_src(sv, EV_SDNOTIFY), EPOLLIN) == -1) {
		fd_close(fd);
		free(sv->sdnotify_path);
		sv->sdnotify_path = NULL;
		goto fail;
	}
	sv->sdnotify_fd = fd;
	sv->sdnotify_abstract = abstract;
	return 0;
fail:
	snprintf(why, why_size, "notify: socket %s: %s", path, strerror(errno));
	return -1;
}

void
notify_close(struct sup *s, struct service *sv)
{
	notify_close_fd(s, sv);
	free(sv->sdnotify_path);
	sv->sdnotify_path = NULL;
	if (sv->sdnotify_fd == -1)
		return;
	loop_unwatch(s, sv->sdnotify_fd);
	fd_close(sv->sdnotify_fd);
	sv->sdnotify_fd = -1;
	if (!sv->sdnotify_abstract) {
		char file[SVREF_MAX + 1];
		svname_to_file(sv->st.name, file);
		(void)unlinkat(s->notify_dirfd, file, 0);
	}
}

/* Is the sender one of the service's processes, as the service's user? */
static int
sender_ok(const struct service *sv, const struct ucred *cr)
{
	uid_t uid = sv->has_user ? sv->user.uid : geteuid();
	pid_t sid;

	if (cr == NULL || cr->pid <= 0 || (cr->uid != uid && cr->uid != 0))
		return 0;
	if (cr->uid == 0 && uid != 0)
		return 0; /* a `user` service's processes are that user's */
	if (cr->pid == sv->st.pid)
		return 1;
	sid = getsid(cr->pid);
	return sv->st.pgid > 1 && (sid == sv->st.pgid || getpgid(cr->pid) == sv->st.pgid);
}

/* Reads every pending datagram; fills what those of the service's processes said.
 * Returns 1 when READY=1 came. */
int
notify_read_socket(struct service *sv, char *status_text, size_t text_size, pid_t *mainpid)
{
	char buf[4096];
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(struct ucred))]; /* cppcheck-suppress unusedStructMember */
	} ctl;
	ssize_t n;
	int ready = 0;

	for (;;) {
		struct iovec iov = { buf, sizeof buf - 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl,
				     .msg_controllen = sizeof ctl };
		const struct ucred *cr = NULL;
		char *line, *save = NULL;

		n = recvmsg(sv->sdnotify_fd, &mh, MSG_CMSG_CLOEXEC);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
				cr = (const struct ucred *)(const void *)CMSG_DATA(c);
		if (!sender_ok(sv, cr)) {
			log_warnx("%s: notify datagram from pid %ld (uid %ld) ignored: not a process "
				  "of this service", sv->st.name, cr ? (long)cr->pid : -1L,
				  cr ? (long)cr->uid : -1L);
			continue;
		}
		buf[n] = '\0';
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (strcmp(line, "READY=1") == 0)
				ready = 1;
			else if (strncmp(line, "STATUS=", 7) == 0)
				snprintf(status_text, text_size, "%s", line + 7);
			else if (strncmp(line, "MAINPID=", 8) == 0)
				*mainpid = (pid_t)strtol(line + 8, NULL, 10);
		}
	}
	if (errno != EAGAIN)
		log_warn("%s: reading its notify socket", sv->st.name);
	return ready;
}

/* --- our own readiness, to whoever started us (systemd's Type=notify) --- */

/* NOTIFY_SOCKET is ours, not the services': kept, and taken out of the environment they
 * inherit. */
void
notify_self_init(struct sup *s)
{
	const char *v = getenv("NOTIFY_SOCKET");

	if (v == NULL || *v == '\0')
		return;
	s->self_notify = strdup(v);
	if (s->self_notify == NULL)
		log_warn("NOTIFY_SOCKET");
	(void)unsetenv("NOTIFY_SOCKET");
}

void
notify_self(struct sup *s, const char *msg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	if (s->self_notify == NULL)
		return;
	len = strlen(s->self_notify);
	if (len >= sizeof sa.sun_path || (s->self_notify[0] != '/' && s->self_notify[0] != '@')) {
		log_warnx("NOTIFY_SOCKET=%s: not a socket path", s->self_notify);
		return;
	}
	memcpy(sa.sun_path, s->self_notify, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
			       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) == -1)
		log_warn("sending %s to NOTIFY_SOCKET %s", msg, s->self_notify);
	if (fd != -1)
		fd_close(fd);
}
