/* output.c: the output of every service without a log/ of its own. The service writes
 * into a FIFO, RUNDIR/pipe/NAME, that it holds read-write itself (so that it never gets
 * SIGPIPE, even while no supervisor runs: it blocks once the FIFO is full, and the next
 * supervisor drains it); the supervisor reads the FIFO and appends to
 * RUNDIR/log/NAME/current, which never grows past log-size bytes (default
 * OUTPUT_LOG_SIZE): past it, current becomes `previous` (replacing the older one) and a new
 * current begins, at a line boundary whenever the line fits. So a chatty service never
 * fills RUNDIR, which is often a small tmpfs.
 *
 * Nothing is lost: when a write fails (a full disk), what was read is kept, the FIFO is
 * no longer read (the service blocks in write() once it is full) and the write is tried
 * again every OUTPUT_RETRY_MS.
 *
 * Every file is opened relative to the descriptors of our own directories, with
 * O_NOFOLLOW, and checked to be ours: a log directory someone else owns, or a symbolic
 * link planted in it, is refused, never written through. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "fdio.h"
#include "log.h"
#include "sup.h"

#define OUTPUT_READ_MAX 65536
#define OUTPUT_RETRY_MS 1000

struct output {
	char *pending;             /* read but not written yet (a failed write) */
	size_t len;
	struct service *next_blocked;
	int warned;
};

int
output_open(struct sup *s, struct service *sv)
{
	char file[SVREF_MAX + 1];
	struct stat st;

	if (sv->out_fd != -1)
		return 0;
	svname_to_file(sv->st.name, file);
	if (mkfifoat(s->pipe_dirfd, file, 0600) == -1 && errno != EEXIST)
		return -1;
	sv->out_fd = openat(s->pipe_dirfd, file, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (sv->out_fd == -1)
		return -1;
	if (fstat(sv->out_fd, &st) == -1 || !S_ISFIFO(st.st_mode) || st.st_uid != geteuid()) {
		fd_close(sv->out_fd);
		sv->out_fd = -1;
		errno = EPERM;
		return -1;
	}
	if (loop_watch(s, sv->out_fd, loop_sv_src(sv, EV_OUTPUT), EPOLLIN) == -1) {
		int e = errno;
		fd_close(sv->out_fd);
		sv->out_fd = -1;
		errno = e;
		return -1;
	}
	return 0;
}

/* RUNDIR/log/FILE, ours and written by nobody else; made when missing. */
static int
open_logdir(struct sup *s, const char *file, char *why, size_t why_size)
{
	struct stat st;
	int fd;

	if (mkdirat(s->svlog_dirfd, file, 0755) == -1 && errno != EEXIST)
		goto fail;
	fd = openat(s->svlog_dirfd, file, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		goto fail;
	if (fstat(fd, &st) == -1) {
		fd_close(fd);
		goto fail;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 022)) {
		snprintf(why, why_size, "unsafe: %s/%s/%s is owned by uid %ld, mode %03o", s->paths.rundir,
			 RUN_SVLOG, file, (long)st.st_uid, (unsigned)(st.st_mode & 0777));
		fd_close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
fail:
	snprintf(why, why_size, "%s/%s/%s: %s", s->paths.rundir, RUN_SVLOG, file, strerror(errno));
	return -1;
}

int
output_check(struct sup *s, const struct service *sv, char *why, size_t why_size)
{
	char file[SVREF_MAX + 1], w[PATH_MAX + 256];
	int fd;

	svname_to_file(sv->st.name, file);
	fd = open_logdir(s, file, w, sizeof w);
	if (fd == -1) {
		snprintf(why, why_size, "%.*s", (int)why_size - 1, w);
		return -1;
	}
	fd_close(fd);
	return 0;
}

/* A regular file of ours in dfd, for appending; *size its length. */
static int
open_current(int dfd, int excl, off_t *size)
{
	struct stat st;
	int fd = openat(dfd, "current", O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
				       (excl ? O_EXCL : 0), 0644);

	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		fd_close(fd);
		errno = EPERM;
		return -1;
	}
	*size = st.st_size;
	return fd;
}

/* Where to cut data so that current stays within max: after the last newline that fits;
 * 0 when none does but current has something (rotate first); all that fits otherwise. */
static size_t
fitting(const char *data, size_t n, off_t size, int64_t max)
{
	size_t room = size >= max ? 0 : (size_t)(max - size);
	const char *nl;

	if (n <= room)
		return n;
	nl = room > 0 ? memrchr(data, '\n', room) : NULL;
	if (nl != NULL)
		return (size_t)(nl - data) + 1;
	return size > 0 ? 0 : room;
}

/* Appends data to the service's log, rotating as needed. The bytes written. */
static size_t
write_log(struct sup *s, struct service *sv, const char *data, size_t n)
{
	char file[SVREF_MAX + 1], why[PATH_MAX + 256];
	int64_t max = sv->log_size > 0 ? sv->log_size : OUTPUT_LOG_SIZE;
	size_t done = 0;
	off_t size;
	int dfd, fd;

	svname_to_file(sv->st.name, file);
	dfd = open_logdir(s, file, why, sizeof why);
	if (dfd == -1) {
		if (!sv->out->warned)
			log_warnx("%s: output not written: %s", sv->st.name, why);
		sv->out->warned = 1;
		return 0;
	}
	fd = open_current(dfd, 0, &size);
	while (fd != -1 && done < n) {
		size_t cut = fitting(data + done, n - done, size, max);
		if (cut > 0) {
			size_t w = fd_write_all(fd, data + done, cut);
			done += w;
			size += (off_t)w;
			if (w < cut)
				break;
			continue;
		}
		/* current is full: it becomes previous, and a new one begins */
		fd_close(fd);
		fd = -1;
		if (renameat(dfd, "current", dfd, "previous") == -1)
			break;
		fd = open_current(dfd, 1, &size);
	}
	if (done < n && !sv->out->warned)
		log_warn("%s: writing its log %s/%s/%s/current", sv->st.name, s->paths.rundir,
			 RUN_SVLOG, file);
	sv->out->warned = done < n;
	if (fd != -1)
		fd_close(fd);
	fd_close(dfd);
	return done;
}

/* Keeps what could not be written, and stops reading until it is. */
static void
block(struct sup *s, struct service *sv, const char *data, size_t n)
{
	struct output *o = sv->out;
	char *p = realloc(o->pending, o->len + n);

	if (p == NULL) {
		log_warnx("%s: out of memory: %zu bytes of its output lost", sv->st.name, n);
		return;
	}
	memcpy(p + o->len, data, n);
	o->pending = p;
	if (o->len == 0) {
		o->next_blocked = s->out_blocked;
		s->out_blocked = sv;
		loop_rewatch(s, sv->out_fd, loop_sv_src(sv, EV_OUTPUT), 0);
		output_retry_soon(s);
	}
	o->len += n;
}

void
output_on_readable(struct sup *s, struct service *sv)
{
	char buf[OUTPUT_READ_MAX];
	ssize_t n;
	size_t w;

	if (sv->out == NULL && (sv->out = calloc(1, sizeof *sv->out)) == NULL) {
		log_warnx("%s: out of memory for its output", sv->st.name);
		return; /* level-triggered: tried again on the next pass */
	}
	if (sv->out->len > 0)
		return;
	/* one read a pass: a chatty service does not starve the others */
	n = fd_read(sv->out_fd, buf, sizeof buf);
	if (n <= 0) {
		if (n == -1 && errno != EAGAIN)
			log_warn("%s: reading its output", sv->st.name);
		return;
	}
	w = write_log(s, sv, buf, (size_t)n);
	if (w < (size_t)n)
		block(s, sv, buf + w, (size_t)n - w);
}

void
output_retry_soon(struct sup *s)
{
	if (s->out_retry.node.at == CLOCK_NEVER)
		timer_set(s, &s->out_retry, clock_ms() + OUTPUT_RETRY_MS);
}

void
output_on_retry(struct sup *s, int64_t now)
{
	struct service **pp = &s->out_blocked;

	service_status_retry(s);
	while (*pp != NULL) {
		struct service *sv = *pp;
		struct output *o = sv->out;
		size_t w = write_log(s, sv, o->pending, o->len);
		memmove(o->pending, o->pending + w, o->len - w);
		o->len -= w;
		if (o->len > 0) {
			pp = &o->next_blocked;
			continue;
		}
		*pp = o->next_blocked;
		loop_rewatch(s, sv->out_fd, loop_sv_src(sv, EV_OUTPUT), EPOLLIN);
	}
	if (s->out_blocked != NULL || s->status_dirty != NULL)
		timer_set(s, &s->out_retry, now + OUTPUT_RETRY_MS);
}

void
output_close(struct sup *s, struct service *sv)
{
	char file[SVREF_MAX + 1];

	if (sv->out_fd != -1)
		output_on_readable(s, sv); /* what is left in the FIFO, as far as one read goes */
	if (sv->out != NULL && sv->out->len > 0) {
		for (struct service **pp = &s->out_blocked; *pp != NULL; pp = &(*pp)->out->next_blocked)
			if (*pp == sv) {
				*pp = sv->out->next_blocked;
				break;
			}
		log_warnx("%s: %zu bytes of its output could not be written", sv->st.name, sv->out->len);
	}
	if (sv->out != NULL) {
		free(sv->out->pending);
		free(sv->out);
		sv->out = NULL;
	}
	if (sv->out_fd == -1)
		return;
	loop_unwatch(s, sv->out_fd);
	fd_close(sv->out_fd);
	sv->out_fd = -1;
	svname_to_file(sv->st.name, file);
	(void)unlinkat(s->pipe_dirfd, file, 0);
}
