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
 * link planted in it, is refused, never written through.
 *
 * With -o text|json the output goes to our stdout instead, a line at a time: a line
 * assembler per service (lib/linebuf.h) and one bounded queue. Only whole lines (or a
 * line cut at 64 KiB, or the tail its writer left when it died) enter the queue, so no
 * line is ever built from two services. A FIFO is read only while the queue has room for
 * all that the read could make of it; when it has not, that service is parked (its FIFO
 * no longer watched: the service blocks in write() once the FIFO is full, nothing is
 * lost) until stdout has taken enough, which epoll tells (EPOLLOUT). The loop meanwhile
 * goes on with everything else. Our stdout is written through a description of its own
 * (reopened through /proc), nonblocking, so CMD, which shares the original one, never
 * sees O_NONBLOCK. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "fdio.h"
#include "linebuf.h"
#include "log.h"
#include "sup.h"

#define OUTPUT_READ_MAX 65536
#define OUTPUT_RETRY_MS 1000
#define OUTQ_HIGH ((size_t)1024 * 1024)  /* -o: bytes queued for stdout past which no FIFO is read */
#define OUTQ_LOW (OUTQ_HIGH / 4) /* parked services are read again below this */
#define OUTQ_READ_MIN 512        /* a read smaller than this is not worth it: park */

struct output {
	char *pending;             /* read but not written yet (a failed write) */
	size_t len;
	struct service *next_blocked;
	int warned;
	struct linebuf lb;         /* -o: the line being assembled */
	struct service *next_parked;
	int parked;                /* -o: its FIFO is not read until the queue has room */
};

/* -o: the queue to our stdout. */
static struct {
	int fd;                    /* our own description of stdout, or 1 */
	int sock;                  /* a socket: send(MSG_DONTWAIT) */
	int pollable;              /* in the epoll set (not a regular file, not blocking) */
	unsigned watched;
	char *buf;
	size_t start, len, cap;
	struct service *parked;
	struct linebuf_out out;
	int broken;                /* stdout failed for good: said once */
} q = { .fd = -1 };

static struct output *
out_get(struct service *sv)
{
	if (sv->out == NULL && (sv->out = calloc(1, sizeof *sv->out)) != NULL)
		linebuf_init(&sv->out->lb);
	return sv->out;
}

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
output_check(struct sup *s, struct service *sv, char *why, size_t why_size)
{
	char file[SVREF_MAX + 1], w[PATH_MAX + 256];
	int fd;

	if (s->out_mode != OUT_FILES)
		return 0; /* no log file: our stdout */
	svname_to_file(sv->st.name, file);
	fd = open_logdir(s, file, w, sizeof w);
	if (fd == -1) {
		snprintf(why, why_size, "%.*s", (int)why_size - 1, w);
		return -1;
	}
	fd_close(fd);
	sv->logdir_ok = 1;
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

static void stdout_on_readable(struct sup *s, struct service *sv);

void
output_on_readable(struct sup *s, struct service *sv)
{
	char buf[OUTPUT_READ_MAX];
	ssize_t n;
	size_t w;

	if (s->out_mode != OUT_FILES) {
		stdout_on_readable(s, sv);
		return;
	}
	if (out_get(sv) == NULL) {
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

static void unpark(struct sup *s, struct service *sv);
static void stdout_drain(struct sup *s, struct service *sv);

void
output_close(struct sup *s, struct service *sv)
{
	char file[SVREF_MAX + 1];

	if (s->out_mode != OUT_FILES && sv->out_fd != -1) {
		stdout_drain(s, sv); /* all that is left, and its last line */
		unpark(s, sv);
	} else if (sv->out_fd != -1) {
		output_on_readable(s, sv); /* what is left in the FIFO, as far as one read goes */
	}
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
		linebuf_free(&sv->out->lb);
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

/* --- -o text|json: our stdout --- */

int
output_stdout_init(struct sup *s)
{
	struct stat st;

	if (fstat(STDOUT_FILENO, &st) == -1)
		return -1;
	q.out.fmt = s->out_mode == OUT_JSON ? LINEBUF_JSON : LINEBUF_TEXT;
	q.out.emit = NULL; /* set below: see q_emit */
	q.out.scratch_size = LINEBUF_OUT_SIZE(SVREF_MAX, LINEBUF_LINE_MAX);
	q.out.scratch = malloc(q.out.scratch_size);
	if (q.out.scratch == NULL)
		return -1;
	q.fd = STDOUT_FILENO;
	if (S_ISSOCK(st.st_mode)) {
		q.sock = 1; /* MSG_DONTWAIT: nonblocking for us alone */
	} else if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		/* a pipe or a terminal: a description of our own, so that O_NONBLOCK is ours */
		q.fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (q.fd == -1) {
			log_warn("-o: reopening standard output; writing to it blocks");
			q.fd = STDOUT_FILENO;
		}
	}
	s->ev_stdout = (struct evsrc){ EV_STDOUT, s };
	/* a regular file never makes a writer wait (and epoll refuses it) */
	q.pollable = q.fd != STDOUT_FILENO || q.sock;
	if (q.pollable && loop_watch(s, q.fd, &s->ev_stdout, 0) == -1) {
		log_warn("-o: watching standard output; writing to it blocks");
		if (q.fd != STDOUT_FILENO)
			fd_close(q.fd);
		q.fd = STDOUT_FILENO;
		q.sock = q.pollable = 0;
	}
	return 0;
}

static void
q_emit(void *ctx, const char *line, size_t len)
{
	(void)ctx;
	if (q.start + q.len + len > q.cap && q.start > 0) {
		memmove(q.buf, q.buf + q.start, q.len);
		q.start = 0;
	}
	if (q.len + len > q.cap) {
		size_t cap = q.cap ? q.cap : 65536;
		char *p;
		while (cap < q.len + len)
			cap *= 2;
		p = realloc(q.buf, cap);
		if (p == NULL) {
			log_warnx("-o: out of memory: a line of %zu bytes lost", len);
			return;
		}
		q.buf = p;
		q.cap = cap;
	}
	memcpy(q.buf + q.start + q.len, line, len);
	q.len += len;
}

static void
q_watch(struct sup *s, unsigned events)
{
	if (q.pollable && q.watched != events) {
		loop_rewatch(s, q.fd, &s->ev_stdout, events);
		q.watched = events;
	}
}

static void
unpark(struct sup *s, struct service *sv)
{
	struct service **pp;

	if (sv->out == NULL || !sv->out->parked)
		return;
	for (pp = &q.parked; *pp != sv; pp = &(*pp)->out->next_parked)
		;
	*pp = sv->out->next_parked;
	sv->out->parked = 0;
	if (sv->out_fd != -1)
		loop_rewatch(s, sv->out_fd, loop_sv_src(sv, EV_OUTPUT), EPOLLIN);
}

static void
park(struct sup *s, struct service *sv)
{
	if (sv->out->parked)
		return;
	sv->out->parked = 1;
	sv->out->next_parked = q.parked;
	q.parked = sv;
	loop_rewatch(s, sv->out_fd, loop_sv_src(sv, EV_OUTPUT), 0);
}

/* Writes what stdout takes without waiting; the rest when it says it can take more. */
static void
q_write(struct sup *s)
{
	while (q.len > 0) {
		ssize_t n = q.sock ? send(q.fd, q.buf + q.start, q.len, MSG_DONTWAIT | MSG_NOSIGNAL)
				   : write(q.fd, q.buf + q.start, q.len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN && q.pollable)
			break;
		if (n == -1) {
			if (!q.broken)
				log_warn("-o: writing to standard output: output dropped from now on");
			q.broken = 1;
			q.len = 0;
			break;
		}
		q.start += (size_t)n;
		q.len -= (size_t)n;
	}
	if (q.len == 0)
		q.start = 0;
	q_watch(s, q.len > 0 ? EPOLLOUT : 0);
	while (q.len < OUTQ_LOW && q.parked != NULL)
		unpark(s, q.parked);
}

void
output_on_stdout(struct sup *s)
{
	q_write(s);
}

static void
feed(struct service *sv, const char *data, size_t n)
{
	q.out.emit = q_emit;
	if (linebuf_feed(&sv->out->lb, data, n, sv->st.name, clock_wall_us(), &q.out) == -1)
		log_warn("%s: %zu bytes of its output lost", sv->st.name, n);
}

/* The most a read may take: all it could make must fit in the queue's room. */
static size_t
read_size(const struct service *sv)
{
	size_t room = q.len < OUTQ_HIGH ? OUTQ_HIGH - q.len : 0, n = OUTPUT_READ_MAX;
	size_t namelen = strlen(sv->st.name);

	while (n >= OUTQ_READ_MIN && linebuf_feed_max(&sv->out->lb, q.out.fmt, namelen, n) > room)
		n /= 2;
	return n >= OUTQ_READ_MIN ? n : 0;
}

static void
stdout_on_readable(struct sup *s, struct service *sv)
{
	char buf[OUTPUT_READ_MAX];
	size_t max;
	ssize_t n;

	if (out_get(sv) == NULL) {
		log_warnx("%s: out of memory for its output", sv->st.name);
		return; /* level-triggered: tried again on the next pass */
	}
	if (sv->out->parked)
		return;
	max = read_size(sv);
	if (max == 0) {
		park(s, sv);
		return;
	}
	/* one read a pass: a chatty service does not starve the others */
	n = fd_read(sv->out_fd, buf, max);
	if (n <= 0) {
		if (n == -1 && errno != EAGAIN)
			log_warn("%s: reading its output", sv->st.name);
		return;
	}
	feed(sv, buf, (size_t)n);
	q_write(s);
}

/* All its FIFO holds, whatever the queue's size (a FIFO holds a bounded amount), then its
 * unterminated last line: its writer is gone. */
static void
stdout_drain(struct sup *s, struct service *sv)
{
	char buf[OUTPUT_READ_MAX];
	ssize_t n;

	if (out_get(sv) == NULL)
		return;
	q.out.emit = q_emit;
	while ((n = fd_read(sv->out_fd, buf, sizeof buf)) > 0)
		feed(sv, buf, (size_t)n);
	if (linebuf_flush_partial(&sv->out->lb, sv->st.name, clock_wall_us(), &q.out) == -1)
		log_warn("%s: its last line", sv->st.name);
	q_write(s);
}

void
output_writer_gone(struct sup *s, struct service *sv)
{
	if (s->out_mode != OUT_FILES && sv->out_fd != -1)
		stdout_drain(s, sv);
}

/* File mode: what is left in the FIFO, as far as the log takes it. */
static void
files_drain(struct sup *s, struct service *sv)
{
	char buf[OUTPUT_READ_MAX];
	ssize_t n;
	size_t w;

	if (out_get(sv) == NULL)
		return;
	while (sv->out->len == 0 && (n = fd_read(sv->out_fd, buf, sizeof buf)) > 0) {
		w = write_log(s, sv, buf, (size_t)n);
		if (w < (size_t)n)
			block(s, sv, buf + w, (size_t)n - w);
	}
}

void
output_drain_all(struct sup *s, int64_t until_ms)
{
	for (struct service *sv = s->services; sv != NULL; sv = sv->next) {
		if (sv->out_fd == -1)
			continue;
		if (s->out_mode == OUT_FILES)
			files_drain(s, sv);
		else
			stdout_drain(s, sv);
	}
	if (s->out_mode == OUT_FILES)
		return;
	while (q.len > 0) {
		int64_t now = clock_ms();
		struct pollfd p = { .fd = q.fd, .events = POLLOUT };
		if (until_ms != CLOCK_NEVER && now >= until_ms)
			break;
		if (poll(&p, 1, clock_poll_timeout(until_ms, now)) == -1 && errno != EINTR)
			break;
		q_write(s);
	}
	if (q.len > 0)
		log_warnx("-o: %zu bytes of output not written: standard output does not take them",
			  q.len);
}
