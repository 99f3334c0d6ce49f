#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "linebuf.h"

/* Microseconds since the epoch of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z:
 * the time stays four digits of year, so the JSON line keeps its length bound. */
#define TIME_MIN_US (-62167219200LL * 1000000)
#define TIME_MAX_US (253402300800LL * 1000000 - 1)
#define BUF_MIN 256 /* first allocation of a tail */
#define STAMP_LEN 27 /* "2026-11-30T12:00:00.123456Z" */

/* What feed and flush format with: the call's arguments, passed on as one, and the time
 * of their lines, formatted once for them all. */
struct sink {
	const struct linebuf_out *out;
	const char *name;
	size_t namelen;
	char stamp[STAMP_LEN];
};

static char *
put(char *p, const void *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* v in exactly width decimal digits (v < 10^width). */
static char *
put_digits(char *p, int64_t v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

/* The proleptic Gregorian date of a day number (0 is 1970-01-01), by whole 400-year
 * eras of 146097 days counted from 0000-03-01, so that the leap day ends a year; no
 * gmtime_r: no time zone code, and any int64 day in range works. */
static void
civil_from_days(int64_t days, int64_t *y, int64_t *m, int64_t *d)
{
	int64_t z = days + 719468; /* days from 0000-03-01 */
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;                                    /* [0, 146096] */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);             /* [0, 365] */
	int64_t mp = (5 * doy + 2) / 153;                                  /* March is 0 */

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

/* STAMP_LEN bytes */
static char *
put_time(char *p, int64_t us)
{
	int64_t sec, frac, days, sod, y, m, d;

	if (us < TIME_MIN_US)
		us = TIME_MIN_US;
	if (us > TIME_MAX_US)
		us = TIME_MAX_US;
	/* floor divisions: before 1970, the fraction still counts forward */
	sec = us / 1000000 - (us % 1000000 < 0);
	frac = us - sec * 1000000;
	days = sec / 86400 - (sec % 86400 < 0);
	sod = sec - days * 86400;
	civil_from_days(days, &y, &m, &d);
	p = put_digits(p, y, 4);
	*p++ = '-';
	p = put_digits(p, m, 2);
	*p++ = '-';
	p = put_digits(p, d, 2);
	*p++ = 'T';
	p = put_digits(p, sod / 3600, 2);
	*p++ = ':';
	p = put_digits(p, sod / 60 % 60, 2);
	*p++ = ':';
	p = put_digits(p, sod % 60, 2);
	*p++ = '.';
	p = put_digits(p, frac, 6);
	*p++ = 'Z';
	return p;
}

/* How s[0..avail) begins a UTF-8 sequence: *full is the length of the sequence its lead
 * byte announces; returns how many of its bytes are present and well-formed (RFC 3629's
 * table: no overlong form, no surrogate, nothing past U+10FFFF), 0 when s[0] leads none. */
static size_t
utf8_scan(const unsigned char *s, size_t avail, size_t *full)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf; /* the second byte's range */
	size_t i;

	*full = 1;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		*full = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		*full = 3;
		lo = c == 0xe0 ? 0xa0 : lo;
		hi = c == 0xed ? 0x9f : hi;
	} else if (c >= 0xf0 && c <= 0xf4) {
		*full = 4;
		lo = c == 0xf0 ? 0x90 : lo;
		hi = c == 0xf4 ? 0x8f : hi;
	} else {
		return 0;
	}
	for (i = 1; i < *full && i < avail; i++) {
		if (s[i] < lo || s[i] > hi)
			break;
		lo = 0x80;
		hi = 0xbf;
	}
	return i;
}

/* Where to cut s[0..len) (a line too long): before a character the next bytes may still
 * complete, so that valid UTF-8 stays valid on both sides of the cut. */
static size_t
utf8_cut(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t back = 1; back <= 3 && back <= len; back++) {
		size_t full, at = len - back;
		if ((u[at] & 0xc0) == 0x80)
			continue; /* a continuation byte: its lead is further back */
		if (utf8_scan(u + at, back, &full) == back && full > back)
			return at;
		break;
	}
	return len;
}

static char *
put_escape(char *p, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	*p++ = '\\';
	switch (c) {
	case '"':
	case '\\':
		*p++ = (char)c;
		break;
	case '\b':
		*p++ = 'b';
		break;
	case '\t':
		*p++ = 't';
		break;
	case '\n':
		*p++ = 'n';
		break;
	case '\f':
		*p++ = 'f';
		break;
	case '\r':
		*p++ = 'r';
		break;
	default:
		p = put(p, "u00", 3);
		*p++ = hex[c >> 4];
		*p++ = hex[c & 0xf];
	}
	return p;
}

/* The inside of a JSON string: at most 6 bytes out for a byte in. */
static char *
put_json_string(char *p, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, full, got;

	while (i < len) {
		size_t run = i;
		while (run < len && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' &&
		       s[run] != '\\')
			run++;
		p = put(p, s + i, run - i);
		if ((i = run) == len)
			break;
		if (s[i] < 0x80) {
			p = put_escape(p, s[i++]);
			continue;
		}
		got = utf8_scan(s + i, len - i, &full);
		if (got == full) {
			p = put(p, s + i, full);
			i += full;
		} else {
			p = put(p, "\xef\xbf\xbd", 3); /* U+FFFD for the maximal ill-formed part */
			i += got > 0 ? got : 1;
		}
	}
	return p;
}

/* One line into out, which has LINEBUF_OUT_SIZE(namelen, len) bytes; stamp is the time
 * (put_time's STAMP_LEN bytes). */
static size_t
format_line(char *out, enum linebuf_fmt fmt, const char *name, size_t namelen,
	    const char *stamp, const char *line, size_t len)
{
	char *p = out;

	switch (fmt) {
	case LINEBUF_TEXT:
		p = put(p, name, namelen);
		p = put(p, " | ", 3);
		p = put(p, line, len);
		break;
	case LINEBUF_JSON:
		p = put(p, "{\"time\":\"", 9);
		p = put(p, stamp, STAMP_LEN);
		p = put(p, "\",\"service\":\"", 13);
		p = put_json_string(p, name, namelen);
		p = put(p, "\",\"line\":\"", 10);
		p = put_json_string(p, line, len);
		p = put(p, "\"}", 2);
		break;
	default: /* LINEBUF_RAW */
		p = put(p, line, len);
	}
	*p++ = '\n';
	return (size_t)(p - out);
}

size_t
linebuf_format(char *out, size_t size, enum linebuf_fmt fmt, const char *name,
	       int64_t now_us, const char *line, size_t len)
{
	size_t namelen = strlen(name);
	char stamp[STAMP_LEN];

	if (size < LINEBUF_OUT_SIZE(namelen, len))
		return 0;
	if (fmt == LINEBUF_JSON)
		put_time(stamp, now_us);
	return format_line(out, fmt, name, namelen, stamp, line, len);
}

static void
emit_line(const struct sink *sk, const char *line, size_t len)
{
	const struct linebuf_out *o = sk->out;

	o->emit(o->ctx, o->scratch,
		format_line(o->scratch, o->fmt, sk->name, sk->namelen, sk->stamp, line, len));
}

/* A line that data holds whole, followed by its newline: RAW emits it in place. */
static void
emit_in_place(const struct sink *sk, const char *line, size_t len)
{
	if (sk->out->fmt == LINEBUF_RAW)
		sk->out->emit(sk->out->ctx, line, len + 1);
	else
		emit_line(sk, line, len);
}

static int
sink_init(struct sink *sk, const char *name, int64_t now_us, const struct linebuf_out *out)
{
	sk->out = out;
	sk->name = name;
	sk->namelen = strlen(name);
	if (out->fmt == LINEBUF_JSON)
		put_time(sk->stamp, now_us);
	if (out->scratch_size < LINEBUF_OUT_SIZE(sk->namelen, LINEBUF_LINE_MAX)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

void
linebuf_init(struct linebuf *lb)
{
	lb->buf = NULL;
	lb->len = lb->cap = 0;
}

void
linebuf_free(struct linebuf *lb)
{
	free(lb->buf);
	linebuf_init(lb);
}

/* The buffer a feed needs, so that it can take it before it emits anything: the line
 * that the tail begins is completed there, contiguous; what follows the last newline
 * stays there. Never more than LINEBUF_LINE_MAX. */
static size_t
feed_need(const struct linebuf *lb, const char *data, size_t n)
{
	size_t need = 0, tail, room = LINEBUF_LINE_MAX - lb->len;

	if (lb->len > 0) {
		const char *nl = memchr(data, '\n', n <= room ? n : room + 1);
		if (nl != NULL)
			need = lb->len + (size_t)(nl - data);
		else
			need = n > room ? LINEBUF_LINE_MAX : lb->len + n;
	}
	for (tail = 0; tail < n && tail < LINEBUF_LINE_MAX && data[n - 1 - tail] != '\n'; tail++)
		;
	return need > tail ? need : tail;
}

static int
reserve(struct linebuf *lb, size_t need)
{
	size_t cap = BUF_MIN;
	char *p;

	if (need <= lb->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (cap > LINEBUF_LINE_MAX)
		cap = LINEBUF_LINE_MAX;
	p = realloc(lb->buf, cap);
	if (p == NULL) {
		errno = ENOMEM;
		return -1;
	}
	lb->buf = p;
	lb->cap = cap;
	return 0;
}

/* No newline within room + 1 bytes of data: the line is too long. Emits its first part;
 * returns the bytes of data consumed. What follows the cut (up to 3 bytes) stays: in data
 * when the tail was empty, else in the tail. */
static size_t
cut_long(struct linebuf *lb, const char *data, size_t room, const struct sink *sk)
{
	size_t c;

	if (lb->len == 0) {
		c = utf8_cut(data, LINEBUF_LINE_MAX);
		emit_line(sk, data, c);
		return c;
	}
	memcpy(lb->buf + lb->len, data, room);
	c = utf8_cut(lb->buf, LINEBUF_LINE_MAX);
	emit_line(sk, lb->buf, c);
	lb->len = LINEBUF_LINE_MAX - c;
	memmove(lb->buf, lb->buf + c, lb->len);
	return room;
}

int
linebuf_feed(struct linebuf *lb, const char *data, size_t n, const char *name,
	     int64_t now_us, const struct linebuf_out *out)
{
	struct sink sk;

	if (sink_init(&sk, name, now_us, out) == -1)
		return -1;
	if (lb->len + n > lb->cap && reserve(lb, feed_need(lb, data, n)) == -1)
		return -1;
	while (n > 0) {
		size_t room = LINEBUF_LINE_MAX - lb->len, k;
		const char *nl = memchr(data, '\n', n <= room ? n : room + 1);
		if (nl != NULL) {
			k = (size_t)(nl - data);
			if (lb->len == 0) {
				emit_in_place(&sk, data, k);
			} else {
				memcpy(lb->buf + lb->len, data, k);
				emit_line(&sk, lb->buf, lb->len + k);
				lb->len = 0;
			}
			k++;
		} else if (n > room) {
			k = cut_long(lb, data, room, &sk);
		} else {
			memcpy(lb->buf + lb->len, data, n);
			lb->len += n;
			k = n;
		}
		data += k;
		n -= k;
	}
	if (lb->len == 0 && lb->cap > LINEBUF_KEEP)
		linebuf_free(lb); /* a long line passed: do not keep its room */
	return 0;
}

int
linebuf_flush_partial(struct linebuf *lb, const char *name, int64_t now_us,
		      const struct linebuf_out *out)
{
	struct sink sk;

	if (sink_init(&sk, name, now_us, out) == -1)
		return -1;
	if (lb->len > 0)
		emit_line(&sk, lb->buf, lb->len);
	linebuf_free(lb);
	return 0;
}

/* At most n lines (each ends at a newline of data, or is cut before a byte of data) and
 * one more for a flush, of at most lb->len + n bytes of content in all. */
size_t
linebuf_feed_max(const struct linebuf *lb, enum linebuf_fmt fmt, size_t namelen, size_t n)
{
	size_t per_line, per_byte;

	switch (fmt) {
	case LINEBUF_TEXT:
		per_line = namelen + 4; /* " | " and the newline */
		per_byte = 1;
		break;
	case LINEBUF_JSON:
		per_line = LINEBUF_JSON_FIXED + 6 * namelen;
		per_byte = 6;
		break;
	default: /* LINEBUF_RAW */
		per_line = 1;
		per_byte = 1;
	}
	return (n + 1) * per_line + (lb->len + n) * per_byte;
}
