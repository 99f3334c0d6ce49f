#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "log.h"
#include "logdir.h"
#include "stamp.h"

#define CURRENT "current"
#define LOCK "lock"
#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS 1000
#define OPEN_TRIES 100 /* a file that keeps vanishing between two looks: retried later */

/* A failing step (write, rename, open) is retried after 100 ms, then after a delay that
 * doubles up to 1 s, for as long as it takes: the data stays in memory meanwhile and
 * stdin is not read, so the writer blocks instead of losing lines. The failure is
 * reported once, and so is the success that ends it. */
struct retry {
	int tries;
	int delay_ms;
	char what[512]; /* object of the messages, e.g. "DIR/current" */
};

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	/* signals are blocked (svlog.c reads them from a signalfd); EINTR only after a STOP */
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* After a failure, errno set: says so the first time, then waits. */
static void __attribute__((format(printf, 2, 3)))
retry_wait(struct retry *r, const char *fmt, ...)
{
	if (r->tries++ == 0) {
		int err = errno;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->what, sizeof r->what, fmt, ap);
		va_end(ap);
		log_warnx("%s: %s; retrying", r->what, strerror(err));
		r->delay_ms = RETRY_FIRST_MS;
	}
	sleep_ms(r->delay_ms);
	r->delay_ms = r->delay_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : r->delay_ms * 2;
}

static void
retry_done(const struct retry *r)
{
	if (r->tries > 0)
		log_info("%s: succeeded after %d %s", r->what, r->tries,
		    r->tries == 1 ? "retry" : "retries");
}

static const char *
type_name(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	return "of an unknown type";
}

static void __attribute__((noreturn))
refuse_symlink(const struct logdir *ld, const char *name)
{
	log_fatalx("%s/%s: is a symbolic link", ld->path, name);
}

/* What a file of DIR must be before svlog writes or holds it (README "svlog and other
 * users"): a regular file of svlog's own user with no other name; a hard link to a file
 * elsewhere would be written through. Once DIR has been checked (open_dir) only that user
 * and root can put anything in it, so a stranger here was left from before DIR was
 * svlog's, or planted by a user who was given DIR since: svlog says so and exits 1, even
 * in mid-run, rather than write anywhere else. */
static void
refuse_unless_ours(const struct logdir *ld, const char *name, const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		refuse_symlink(ld, name);
	if (!S_ISREG(st->st_mode))
		log_fatalx("%s/%s: not a regular file (%s)", ld->path, name,
		    type_name(st->st_mode));
	if (st->st_uid != ld->euid)
		log_fatalx("%s/%s: owned by uid %lu, not by svlog's uid %lu", ld->path, name,
		    (unsigned long)st->st_uid, (unsigned long)ld->euid);
	if (st->st_nlink > 1)
		log_fatalx("%s/%s: has %lu hard links, not one", ld->path, name,
		    (unsigned long)st->st_nlink);
}

/* DIR/name opened with flags (O_WRONLY, or O_RDWR|O_APPEND), and created when missing:
 * the descriptor, its stat in st; or -1 with errno set, a failure worth retrying.
 * Never follows a symlink, and never opens what refuse_unless_ours refuses, even for a
 * look (opening a device as root can have effects; opening a FIFO can block): an
 * existing entry is checked before the open (O_NONBLOCK for a FIFO that slips in between)
 * and the open file after it. A file that comes and goes meanwhile is looked at again. */
static int
open_file(const struct logdir *ld, const char *name, int flags, struct stat *st)
{
	int base = flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;

	for (int i = 0; i < OPEN_TRIES; i++) {
		int fd = openat(ld->dirfd, name, base | O_CREAT | O_EXCL, 0644);
		if (fd == -1 && errno == EEXIST) {
			if (fstatat(ld->dirfd, name, st, AT_SYMLINK_NOFOLLOW) == -1) {
				if (errno == ENOENT)
					continue;
				return -1;
			}
			refuse_unless_ours(ld, name, st);
			fd = openat(ld->dirfd, name, base);
			if (fd == -1 && errno == ELOOP) /* a symlink since the look */
				refuse_symlink(ld, name);
			if (fd == -1 && errno == ENOENT)
				continue;
		}
		if (fd == -1)
			return -1;
		/* F_SETFL: O_NONBLOCK off again, O_APPEND as asked */
		if (fstat(fd, st) == -1 || fcntl(fd, F_SETFL, flags & O_APPEND) == -1) {
			fd_close(fd);
			return -1;
		}
		refuse_unless_ours(ld, name, st);
		return fd;
	}
	errno = EAGAIN; /* made and removed all along: try again later */
	return -1;
}

static void
lock_dir(struct logdir *ld)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct stat st;

	ld->lockfd = open_file(ld, LOCK, O_WRONLY, &st);
	if (ld->lockfd == -1)
		log_fatal("unable to open %s/%s", ld->path, LOCK);
	if (fcntl(ld->lockfd, F_SETLK, &fl) == 0)
		return;
	if (errno != EACCES && errno != EAGAIN)
		log_fatal("unable to lock %s/%s", ld->path, LOCK);
	/* two loggers rotating one directory would lose files; a logger restarted while the
	 * old one still flushes just waits its turn (stdin unread meanwhile: nothing lost) */
	log_warnx("%s/%s: held by another svlog; waiting", ld->path, LOCK);
	while (fcntl(ld->lockfd, F_SETLKW, &fl) == -1)
		if (errno != EINTR)
			log_fatal("unable to lock %s/%s", ld->path, LOCK);
}

/* 0, or -1 with errno set. */
static int
open_current(struct logdir *ld)
{
	struct stat st;
	char last;
	int fd = open_file(ld, CURRENT, O_RDWR | O_APPEND, &st);

	if (fd == -1)
		return -1;
	ld->fd = fd;
	ld->size = (uint64_t)st.st_size;
	/* A line cut short (svlog killed while a write was being retried) must not run into
	 * the next one. */
	if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n')
		ld->out[ld->out_len++] = '\n';
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

typedef char name_buf[STAMP_NAME_LEN + 1];

/* Deletes the oldest rotated files beyond -n, and learns the newest name. */
static void
prune(struct logdir *ld)
{
	int fd = fcntl(ld->dirfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = fd == -1 ? NULL : fdopendir(fd);
	struct dirent *de;
	name_buf *names = NULL;
	size_t n = 0, cap = 0;

	if (d == NULL) {
		log_warn("unable to read %s", ld->path);
		if (fd != -1)
			fd_close(fd);
		return;
	}
	rewinddir(d); /* the offset is shared with dirfd, left at the end by the last scan */
	while ((de = readdir(d)) != NULL) {
		int64_t us = stamp_parse_name(de->d_name);
		if (us < 0)
			continue;
		if (us > ld->last_name_us)
			ld->last_name_us = us;
		if (n == cap) {
			name_buf *bigger = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
			if (bigger == NULL) {
				log_warn("not removing old files of %s", ld->path);
				closedir(d);
				free(names);
				return;
			}
			names = bigger;
		}
		memcpy(names[n++], de->d_name, sizeof *names);
	}
	closedir(d);
	if (n > ld->keep) {
		/* fixed-width UTC stamps: name order is time order */
		qsort(names, n, sizeof *names, name_cmp);
		for (size_t i = 0; i < n - ld->keep; i++)
			if (unlinkat(ld->dirfd, names[i], 0) == -1 && errno != ENOENT)
				log_warn("unable to remove %s/%s", ld->path, names[i]);
	}
	free(names);
}

/* DIR without its trailing slashes: "DIR/" would follow a symlink at DIR, O_NOFOLLOW or
 * not. "/" stays. */
static char *
dir_path(const char *path)
{
	size_t len = strlen(path);
	char *p;

	while (len > 1 && path[len - 1] == '/')
		len--;
	if ((p = malloc(len + 1)) == NULL)
		log_fatal("unable to open %s", path);
	memcpy(p, path, len);
	p[len] = '\0';
	return p;
}

/* DIR must be a directory, not a symlink, of svlog's own user, that neither its group
 * nor others may write (README "svlog and other users"): then nobody else can put a name
 * in it, and every file is opened relative to this descriptor, so what happens to the
 * path later changes nothing. A DIR svlog creates is so (0755, less the umask). */
static void
open_dir(struct logdir *ld)
{
	struct stat st;

	if (mkdir(ld->path, 0755) == -1 && errno != EEXIST)
		log_fatal("unable to create %s", ld->path);
	ld->dirfd = open(ld->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ld->dirfd == -1) {
		int err = errno;
		/* O_DIRECTORY|O_NOFOLLOW on a symlink says ENOTDIR: say what it is instead */
		if (lstat(ld->path, &st) == 0 && S_ISLNK(st.st_mode))
			log_fatalx("%s: is a symbolic link", ld->path);
		errno = err;
		log_fatal("unable to open %s", ld->path);
	}
	if (fstat(ld->dirfd, &st) == -1)
		log_fatal("unable to open %s", ld->path);
	if (st.st_uid != ld->euid)
		log_fatalx("%s: owned by uid %lu, not by svlog's uid %lu", ld->path,
		    (unsigned long)st.st_uid, (unsigned long)ld->euid);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		log_fatalx("%s: writable by %s (mode %04o)", ld->path,
		    (st.st_mode & S_IWOTH) != 0 ? "others" : "its group",
		    (unsigned)(st.st_mode & 07777));
}

void
logdir_open(struct logdir *ld, const char *path, uint64_t max_bytes, unsigned long keep)
{
	ld->path = dir_path(path);
	ld->euid = geteuid();
	ld->max_bytes = max_bytes;
	ld->keep = keep;
	ld->out_len = 0;
	ld->last_name_us = -1;
	open_dir(ld);
	lock_dir(ld);
	if (open_current(ld) == -1)
		log_fatal("unable to open %s/%s", ld->path, CURRENT);
	prune(ld);
}

size_t
logdir_line_max(const struct logdir *ld)
{
	return ld->max_bytes < LOGDIR_LINE_MAX ? (size_t)ld->max_bytes : LOGDIR_LINE_MAX;
}

static int
name_taken(const struct logdir *ld, const char *name)
{
	struct stat st;

	/* any error but ENOENT: let the rename say what is wrong */
	return fstatat(ld->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
}

static void
rotate(struct logdir *ld)
{
	name_buf name;
	struct stat st;
	struct retry r_mv = { 0 }, r_open = { 0 };
	int64_t us = stamp_now_us();

	/* a rotated file is kept for good: on disk before it gets its final name */
	if (fsync(ld->fd) == -1)
		log_warn("unable to fsync %s/%s", ld->path, CURRENT);
	/* unique and in time order even when two rotations fall in one microsecond or
	 * the clock steps back: never at or before the newest name */
	if (us <= ld->last_name_us)
		us = ld->last_name_us + 1;
	for (stamp_name(name, us); name_taken(ld, name); stamp_name(name, ++us))
		;
	/* current may have been replaced since it was opened (a DIR given to another user
	 * since): a stranger there ends svlog; a new file of ours is rotated as before */
	if (fstatat(ld->dirfd, CURRENT, &st, AT_SYMLINK_NOFOLLOW) == 0)
		refuse_unless_ours(ld, CURRENT, &st);
	/* ENOENT: someone removed current; there is nothing to rotate, just start anew */
	while (renameat(ld->dirfd, CURRENT, ld->dirfd, name) == -1 && errno != ENOENT)
		retry_wait(&r_mv, "rename %s/%s to %s", ld->path, CURRENT, name);
	retry_done(&r_mv);
	ld->last_name_us = us;
	fd_close(ld->fd);
	if (fsync(ld->dirfd) == -1) /* the rename itself */
		log_warn("unable to fsync %s", ld->path);
	while (open_current(ld) == -1)
		retry_wait(&r_open, "%s/%s", ld->path, CURRENT);
	retry_done(&r_open);
	prune(ld);
}

char *
logdir_reserve(struct logdir *ld, size_t len)
{
	uint64_t pending = ld->size + ld->out_len;
	char *p;

	if (pending > 0 && pending + len > ld->max_bytes) {
		logdir_flush(ld);
		rotate(ld);
	}
	if (ld->out_len + len > sizeof ld->out)
		logdir_flush(ld);
	p = ld->out + ld->out_len;
	ld->out_len += len;
	return p;
}

void
logdir_flush(struct logdir *ld)
{
	struct retry r = { 0 };
	size_t done = 0;

	while (done < ld->out_len) {
		size_t w = fd_write_all(ld->fd, ld->out + done, ld->out_len - done);
		done += w;
		ld->size += w;
		/* a short count leaves whole lines' tails for the retry, in the same file */
		if (done < ld->out_len)
			retry_wait(&r, "%s/%s", ld->path, CURRENT);
	}
	retry_done(&r);
	ld->out_len = 0;
}

void
logdir_close(struct logdir *ld)
{
	logdir_flush(ld);
	if (fsync(ld->fd) == -1)
		log_warn("unable to fsync %s/%s", ld->path, CURRENT);
	fd_close(ld->fd);
	ld->fd = -1;
}
