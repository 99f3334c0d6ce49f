/* lib/linebuf.h: a service's output cut into whole lines, formatted for supervise -o
 * (the README's "Container mode"): the partial line a service has written so far, and the
 * formatter of its lines. No I/O: lines go to a callback, which copies them (into the
 * caller's output queue) before it returns.
 *
 * Lines. A line ends at its newline, which is not part of its content; an empty line is a
 * line; a carriage return is content. A line longer than LINEBUF_LINE_MAX bytes is cut
 * into several of at most that many bytes, never inside a UTF-8 character that the bytes
 * so far could still complete (so a cut line may hold up to 3 bytes less). A last line
 * without a newline waits for linebuf_flush_partial (the writer exited). No byte is lost,
 * added (but the newline that ends a cut or flushed line) or reordered.
 *
 * Formats, each line with its newline:
 * - LINEBUF_RAW: the content as is (the bounded log files).
 * - LINEBUF_TEXT: "NAME | content".
 * - LINEBUF_JSON: {"time":"2026-11-30T12:00:00.123456Z","service":"NAME","line":"content"}
 *   time in UTC to the microsecond, from now_us (microseconds since the epoch; clamped to
 *   years 0000-9999). NAME and content are JSON strings (RFC 8259): '"' and '\' escaped,
 *   control characters as \b \t \n \f \r or \u00XX, valid UTF-8 as is; every maximal
 *   part of an ill-formed UTF-8 sequence (a stray byte, a truncated or overlong sequence,
 *   a surrogate, a code point past U+10FFFF) becomes one U+FFFD, as WHATWG's decoder does,
 *   so the line is always valid JSON and valid UTF-8.
 *
 * Memory: struct linebuf holds only the unterminated tail of what was fed, allocated when
 * there is one (a service that writes nothing, or whole lines a write, costs no buffer),
 * at most LINEBUF_LINE_MAX bytes, released by linebuf_flush_partial and when it empties
 * after holding more than LINEBUF_KEEP bytes. Formatting allocates nothing: it writes in
 * the caller's scratch space.
 *
 * Back-pressure: feed consumes all it is given and emits synchronously; the caller bounds
 * its queue by the bytes it reads: a feed of n bytes emits at most linebuf_feed_max(n)
 * bytes (at most n lines), so it may read n bytes while that many are free. */
#ifndef LINEBUF_H
#define LINEBUF_H

#include <stddef.h>
#include <stdint.h>

#define LINEBUF_LINE_MAX 65536 /* bytes of content of one line */
#define LINEBUF_KEEP 4096      /* a buffer up to this size is kept when it empties */
/* The JSON format without NAME and content. */
#define LINEBUF_JSON_FIXED \
	(sizeof "{\"time\":\"2026-11-30T12:00:00.123456Z\",\"service\":\"\",\"line\":\"\"}\n" - 1)
/* Room for one line of len bytes of content from NAME of namelen bytes, in any format (a
 * byte of content or name becomes at most 6: "\u0001"). */
#define LINEBUF_OUT_SIZE(namelen, len) (LINEBUF_JSON_FIXED + 6 * (size_t)(namelen) + 6 * (size_t)(len))

enum linebuf_fmt { LINEBUF_RAW, LINEBUF_TEXT, LINEBUF_JSON };

/* Receives one formatted line, newline included; line is valid only during the call. */
typedef void linebuf_emit_fn(void *ctx, const char *line, size_t len);

/* Where the lines of every service go; one may serve them all. */
struct linebuf_out {
	enum linebuf_fmt fmt;
	linebuf_emit_fn *emit;
	void *ctx;
	char *scratch;       /* LINEBUF_OUT_SIZE(strlen(name), LINEBUF_LINE_MAX) bytes at least */
	size_t scratch_size;
};

/* One per output stream (service); the fields are the module's. */
struct linebuf {
	char *buf;  /* the unterminated tail, NULL when never allocated */
	size_t len;
	size_t cap;
};

void linebuf_init(struct linebuf *lb);
void linebuf_free(struct linebuf *lb); /* the tail is dropped: flush it first */
/* Feeds n bytes of name's output and emits every line they complete, each stamped now_us.
 * 0; -1 with errno ENOMEM (the tail could not be kept) or EINVAL (scratch too small),
 * and then nothing was emitted nor kept: the caller may feed the same bytes again. */
int linebuf_feed(struct linebuf *lb, const char *data, size_t n, const char *name,
		 int64_t now_us, const struct linebuf_out *out);
/* Emits the unterminated tail, if any, as a line (the writer exited) and frees the buffer.
 * 0, or -1 with errno EINVAL (scratch too small), and then nothing changed. */
int linebuf_flush_partial(struct linebuf *lb, const char *name, int64_t now_us,
			  const struct linebuf_out *out);
/* The most bytes linebuf_feed(lb, ..., n, ...) can emit, and with n = 0 the most that
 * linebuf_flush_partial can. */
size_t linebuf_feed_max(const struct linebuf *lb, enum linebuf_fmt fmt, size_t namelen, size_t n);
/* Formats one line of content line[0..len) into out (no NUL added): its length, or 0 when
 * size < LINEBUF_OUT_SIZE(strlen(name), len). Also for supervise's own log lines in JSON
 * (name "supervise"). */
size_t linebuf_format(char *out, size_t size, enum linebuf_fmt fmt, const char *name,
		      int64_t now_us, const char *line, size_t len);

#endif
