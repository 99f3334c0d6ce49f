/* notify.c: readiness. Two ways: notification-fd (the s6 convention: the service writes a
 * newline on that descriptor when it is ready) and the systemd protocol for services whose
 * directory holds `notify`: NOTIFY_SOCKET names a datagram socket RUNDIR/notify/NAME on
 * which READY=1, STATUS=text and MAINPID=N are understood. */
#define _GNU_SOURCE
#include <errno.h>
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
notify_pipe(struct service *sv)
{
	int p[2];

	if (sv->notify_rfd != -1) {
		fd_close(sv->notify_rfd);
		sv->notify_rfd = -1;
	}
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	sv->notify_rfd = p[0];
	return p[1];
}

/* 1: the newline came; 0: nothing yet; -1: closed without it (the pipe is closed). */
int
notify_read_fd(struct service *sv)
{
	char buf[512];
	ssize_t n;

	while ((n = fd_read(sv->notify_rfd, buf, sizeof buf)) > 0)
		if (memchr(buf, '\n', (size_t)n) != NULL) {
			fd_close(sv->notify_rfd);
			sv->notify_rfd = -1;
			return 1;
		}
	if (n == -1 && errno == EAGAIN)
		return 0;
	fd_close(sv->notify_rfd);
	sv->notify_rfd = -1;
	return -1;
}

static int
socket_path(const struct sup *s, const struct service *sv, char *buf, size_t size)
{
	char file[SVREF_MAX + 1];

	svname_to_file(sv->st.name, file);
	return path_join(buf, size, s->paths.rundir, RUN_NOTIFY, file);
}

/* The service's sd_notify socket, made once and kept across its restarts. Its path in
 * buf; -1 with why on failure. */
int
notify_socket(struct sup *s, struct service *sv, char *path, size_t size, char *why,
	      size_t why_size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int on = 1, fd;

	if (socket_path(s, sv, path, size) == -1 || strlen(path) >= sizeof sa.sun_path) {
		snprintf(why, why_size, "notify: socket path longer than %zu bytes",
			 sizeof sa.sun_path - 1);
		return -1;
	}
	if (sv->sdnotify_fd != -1)
		return 0;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		goto fail;
	(void)unlink(path); /* a leftover of an earlier supervisor */
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == -1) {
		fd_close(fd);
		goto fail;
	}
	sv->sdnotify_fd = fd;
	return 0;
fail:
	snprintf(why, why_size, "notify: socket %s: %s", path, strerror(errno));
	return -1;
}

void
notify_close(struct sup *s, struct service *sv)
{
	char path[PATH_MAX];

	if (sv->notify_rfd != -1) {
		fd_close(sv->notify_rfd);
		sv->notify_rfd = -1;
	}
	if (sv->sdnotify_fd == -1)
		return;
	fd_close(sv->sdnotify_fd);
	sv->sdnotify_fd = -1;
	if (socket_path(s, sv, path, sizeof path) == 0)
		(void)unlink(path);
}

/* Reads every pending datagram; fills what they said. Returns 1 when READY=1 came. */
int
notify_read_socket(struct service *sv, char *status_text, size_t text_size, pid_t *mainpid)
{
	char buf[4096];
	ssize_t n;
	int ready = 0;

	while ((n = recv(sv->sdnotify_fd, buf, sizeof buf - 1, 0)) >= 0 || errno == EINTR) {
		char *line, *save = NULL;
		if (n < 0)
			continue;
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
