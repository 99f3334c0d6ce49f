/* svlog/logdir.h: the log directory (README "svlog"): DIR/lock, DIR/current and the
 * rotated DIR/@TIMESTAMP.s files. Lines are gathered in an output buffer and written in
 * big writes; a line never straddles two files, current never grows past max_bytes, and
 * nothing is dropped: a failed write, rename or open is retried until it passes. Nothing
 * in DIR is followed or opened unless it is svlog's own regular file: svlog often runs as
 * root, and a user who could write DIR would otherwise choose where root writes. */
#ifndef LOGDIR_H
#define LOGDIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LOGDIR_LINE_MAX 65536          /* longest line written, stamp and newline included */
#define LOGDIR_OUT_SIZE (512 * 1024)   /* at least LOGDIR_LINE_MAX */

struct logdir {
	char *path;            /* DIR as given less trailing slashes, for messages */
	uid_t euid;            /* the owner of DIR and of every file svlog opens in it */
	int dirfd;
	int lockfd;            /* only held: the fcntl lock lives as long as it */
	int fd;                /* DIR/current, O_APPEND */
	uint64_t size;         /* bytes in current, written ones only */
	uint64_t max_bytes;    /* -s */
	unsigned long keep;    /* -n */
	int64_t last_name_us;  /* stamp of the newest rotated file: names only go forward */
	size_t out_len;
	char out[LOGDIR_OUT_SIZE];
};

/* Creates DIR (one level, 0755) if missing, takes DIR/lock (waiting while another svlog
 * holds it), opens current for appending. Exits 1 with a message on failure, and when
 * DIR, lock or current is not svlog's own (README "svlog and other users": a symlink,
 * another user's, a DIR others may write, a current that is not a regular file). */
void logdir_open(struct logdir *ld, const char *path, uint64_t max_bytes, unsigned long keep);
/* The longest line accepted by logdir_reserve: LOGDIR_LINE_MAX, or less when -s is. */
size_t logdir_line_max(const struct logdir *ld);
/* Room for one whole line of len bytes (1..logdir_line_max) at the end of the buffer, for
 * the caller to fill. Rotates first when the line would take current past max_bytes. */
char *logdir_reserve(struct logdir *ld, size_t len);
/* Writes the buffer to current; returns only when all of it is written. */
void logdir_flush(struct logdir *ld);
/* Flushes, then fsyncs current. */
void logdir_close(struct logdir *ld);

#endif
