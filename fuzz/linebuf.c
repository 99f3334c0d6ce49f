/* fuzz/linebuf.c: lib/linebuf.c. The input, made into a stream (make_stream: at times with
 * runs of some 64 KiB of a byte or of a UTF-8 character, to reach the line limit, or as
 * lines of random lengths), is fed in writes of random sizes, then flushed, once per
 * format, with the same writes:
 * - RAW: every line ends with its only newline and holds at most LINEBUF_LINE_MAX bytes;
 *   with the newlines of the stream, they give the stream back; a line not followed by a
 *   newline of the stream is the last one (flushed), or a cut: no newline within the
 *   limit, and short of it only before a UTF-8 character that was cut.
 * - TEXT: line i is "NAME | " and RAW's line i.
 * - JSON: line i is valid JSON (checked by the validator below, RFC 8259 and RFC 3629),
 *   an object of "time" (the write's, formatted by gmtime_r), "service" and "line", whose
 *   values decode to the name and RAW's line i, each with ill-formed UTF-8 replaced as
 *   linebuf.h says (by the reference replacement below, written otherwise: a prefix is
 *   well-formed when padding it into some code point makes a valid one).
 * A write emits at most linebuf_feed_max bytes; the buffer never exceeds the limit.
 * Input: [4 bytes of seed][control byte: stream (3 bits, make_stream), name (2 bits),
 * time (2 bits)][data]. Build and run: make fuzz. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linebuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The checks go over every byte several times: without coverage tracing, which would
 * spend most of the run there, and guide the fuzzer by the harness instead of the code
 * under test. */
#define CHECKER __attribute__((no_sanitize("coverage")))

#define MAX ((size_t)LINEBUF_LINE_MAX)
#define TIME_MIN_US (-62167219200LL * 1000000)
#define TIME_MAX_US (253402300800LL * 1000000 - 1)

static const char *const names[] = {
	"svc", "web/log", "a-very-long-service-name-of-sixty-four-bytes-aaaaaaaaaaaaaaaaaaa/log",
	"we\"ird\\\n\x01\xff\xe2\x82 name",
};
static const char *const fillers[] = {
	"x", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\x01", "\xe2\x82", "\xff",
};

static uint64_t rng;

CHECKER static uint64_t
next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A growing byte buffer. */
struct bytes {
	char *p;
	size_t len, cap;
};

CHECKER static void
bytes_add(struct bytes *b, const void *s, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL)
			abort();
	}
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* ---- UTF-8, by code point values ---- */

CHECKER static size_t
seq_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		return 2;
	if ((c & 0xf0) == 0xe0)
		return 3;
	if ((c & 0xf8) == 0xf0)
		return 4;
	return 0;
}

/* s[0..n) is one well-formed character of n bytes. */
CHECKER static int
char_valid(const unsigned char *s, size_t n)
{
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	uint32_t cp = s[0] & (0x7f >> n);

	if (n < 2 || seq_len(s[0]) != n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	return cp >= min[n] && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
}

/* s[0..k) can begin a well-formed character of n bytes: the code points it can begin
 * are an interval, so one of its two ends is valid when any is. */
CHECKER static int
prefix_valid(const unsigned char *s, size_t k, size_t n)
{
	unsigned char lo[4], hi[4];

	memcpy(lo, s, k);
	memcpy(hi, s, k);
	memset(lo + k, 0x80, n - k);
	memset(hi + k, 0xbf, n - k);
	return char_valid(lo, n) || char_valid(hi, n);
}

/* s with each maximal ill-formed part replaced by U+FFFD. */
CHECKER static void
ref_replace(const unsigned char *s, size_t len, struct bytes *out)
{
	size_t i = 0;

	while (i < len) {
		size_t n = seq_len(s[i]), k = 0, run = i;
		if (n == 1) {
			while (run < len && s[run] < 0x80)
				run++;
			bytes_add(out, s + i, run - i);
			i = run;
			continue;
		}
		while (n > 0 && k < n && i + k < len && prefix_valid(s + i, k + 1, n))
			k++;
		if (n > 0 && k == n) {
			bytes_add(out, s + i, n);
			i += n;
		} else {
			bytes_add(out, "\xef\xbf\xbd", 3);
			i += k > 0 ? k : 1;
		}
	}
}

CHECKER static int
utf8_valid(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = seq_len(s[i]);
		if (n == 0 || i + n > len || (n > 1 && !char_valid(s + i, n)))
			return 0;
		i += n;
	}
	return 1;
}

/* ---- a JSON validator (RFC 8259); the top object's string members are kept ---- */

struct json {
	const unsigned char *s;
	size_t len, i;
	int depth;
	int nmembers;
	char keys[8][16];
	struct bytes values[8];
	int is_string[8];
};

static void json_value(struct json *j, int top);
static void json_fail(void) __attribute__((noreturn));

CHECKER static void
json_fail(void)
{
	abort();
}

CHECKER static void
json_ws(struct json *j)
{
	while (j->i < j->len && (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' ||
				 j->s[j->i] == '\r'))
		j->i++;
}

CHECKER static int
json_peek(struct json *j)
{
	return j->i < j->len ? j->s[j->i] : -1;
}

CHECKER static void
json_expect(struct json *j, char c)
{
	if (json_peek(j) != (unsigned char)c)
		json_fail();
	j->i++;
}

CHECKER static unsigned
json_hex4(struct json *j)
{
	unsigned v = 0;

	for (int k = 0; k < 4; k++) {
		int c = json_peek(j);
		j->i++;
		if (c >= '0' && c <= '9')
			v = v << 4 | (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v << 4 | (unsigned)(c - 'A' + 10);
		else
			json_fail();
	}
	return v;
}

CHECKER static void
put_utf8(struct bytes *out, uint32_t cp)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	bytes_add(out, b, n);
}

CHECKER static void
json_escape(struct json *j, struct bytes *out)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	int c = json_peek(j);
	const char *e;
	uint32_t cp;

	j->i++;
	if (c != 'u') {
		if (c <= 0 || (e = strchr(from, c)) == NULL)
			json_fail();
		bytes_add(out, &to[e - from], 1);
		return;
	}
	cp = json_hex4(j);
	if (cp >= 0xdc00 && cp <= 0xdfff)
		json_fail(); /* a low surrogate alone */
	if (cp >= 0xd800 && cp <= 0xdbff) {
		uint32_t lo;
		json_expect(j, '\\');
		json_expect(j, 'u');
		lo = json_hex4(j);
		if (lo < 0xdc00 || lo > 0xdfff)
			json_fail();
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	put_utf8(out, cp);
}

CHECKER static void
json_string(struct json *j, struct bytes *out)
{
	json_expect(j, '"');
	for (;;) {
		int c = json_peek(j);
		size_t n;
		if (c < 0x20) /* the end of the input, or a control character */
			json_fail();
		if (c == '"')
			break;
		if (c == '\\') {
			j->i++;
			json_escape(j, out);
			continue;
		}
		if (c < 0x80) {
			size_t run = j->i;
			while (run < j->len && j->s[run] >= 0x20 && j->s[run] < 0x80 &&
			       j->s[run] != '"' && j->s[run] != '\\')
				run++;
			bytes_add(out, j->s + j->i, run - j->i);
			j->i = run;
			continue;
		}
		n = seq_len((unsigned char)c);
		if (n == 0 || j->i + n > j->len || (n > 1 && !char_valid(j->s + j->i, n)))
			json_fail();
		bytes_add(out, j->s + j->i, n);
		j->i += n;
	}
	j->i++;
}

CHECKER static void
json_digits(struct json *j)
{
	int c = json_peek(j);

	if (c < '0' || c > '9')
		json_fail();
	while ((c = json_peek(j)) >= '0' && c <= '9')
		j->i++;
}

CHECKER static void
json_number(struct json *j)
{
	if (json_peek(j) == '-')
		j->i++;
	if (json_peek(j) == '0')
		j->i++;
	else
		json_digits(j);
	if (json_peek(j) == '.') {
		j->i++;
		json_digits(j);
	}
	if (json_peek(j) == 'e' || json_peek(j) == 'E') {
		j->i++;
		if (json_peek(j) == '+' || json_peek(j) == '-')
			j->i++;
		json_digits(j);
	}
}

CHECKER static void
json_literal(struct json *j, const char *word)
{
	size_t n = strlen(word);

	if (j->len - j->i < n || memcmp(j->s + j->i, word, n) != 0)
		json_fail();
	j->i += n;
}

CHECKER static void
json_object(struct json *j, int top)
{
	j->i++;
	json_ws(j);
	if (json_peek(j) == '}') {
		j->i++;
		return;
	}
	for (;;) {
		struct bytes key = { 0 };
		json_ws(j);
		json_string(j, &key);
		json_ws(j);
		json_expect(j, ':');
		json_ws(j);
		if (top && j->nmembers == 8)
			json_fail(); /* more than a line has */
		if (top) {
			int k = j->nmembers++;
			if (key.len > 0)
				memcpy(j->keys[k], key.p, key.len < 15 ? key.len : 15);
			j->is_string[k] = json_peek(j) == '"';
			if (j->is_string[k])
				json_string(j, &j->values[k]);
			else
				json_value(j, 0);
		} else {
			json_value(j, 0);
		}
		free(key.p);
		json_ws(j);
		if (json_peek(j) == '}')
			break;
		json_expect(j, ',');
	}
	j->i++;
}

CHECKER static void
json_array(struct json *j)
{
	j->i++;
	json_ws(j);
	if (json_peek(j) == ']') {
		j->i++;
		return;
	}
	for (;;) {
		json_value(j, 0);
		json_ws(j);
		if (json_peek(j) == ']')
			break;
		json_expect(j, ',');
	}
	j->i++;
}

CHECKER static void
json_value(struct json *j, int top)
{
	struct bytes skip = { 0 };
	int c;

	if (++j->depth > 64)
		json_fail();
	json_ws(j);
	c = json_peek(j);
	if (c == '{')
		json_object(j, top);
	else if (c == '[')
		json_array(j);
	else if (c == '"')
		json_string(j, &skip);
	else if (c == 't')
		json_literal(j, "true");
	else if (c == 'f')
		json_literal(j, "false");
	else if (c == 'n')
		json_literal(j, "null");
	else
		json_number(j);
	free(skip.p);
	j->depth--;
}

/* A whole JSON text: one value, blanks around it. */
CHECKER static void
json_parse(struct json *j, const char *s, size_t len)
{
	memset(j, 0, sizeof *j);
	j->s = (const unsigned char *)s;
	j->len = len;
	json_value(j, 1);
	json_ws(j);
	if (j->i != len)
		json_fail();
}

CHECKER static void
json_done(struct json *j)
{
	for (int k = 0; k < j->nmembers; k++)
		free(j->values[k].p);
}

/* ---- the three passes ---- */

struct pass {
	enum linebuf_fmt fmt;
	const char *name;
	size_t namelen;
	int64_t now_us;    /* of the current write */
	size_t emitted;    /* bytes by the current write */
	size_t line;       /* lines so far */
};

/* RAW's lines, end to end, and where line i begins (off[i]) and ends (off[i + 1]). */
static struct bytes raw;
static size_t *off, noff, offcap;

static const char *stream;
static size_t stream_len, stream_pos; /* RAW's pass: how far the lines gave it back */

/* RAW's line: where it is in the stream, and why it ends there. */
CHECKER static void
check_raw(const char *line, size_t len)
{
	size_t c = len - 1, left = stream_len - stream_pos;
	const char *start = stream + stream_pos;

	if (memchr(line, '\n', c) != NULL || c > MAX || c > left || memcmp(line, start, c) != 0)
		abort();
	stream_pos += c;
	if (c < left && start[c] == '\n') {
		stream_pos++;
		return;
	}
	if (c == left) {
		if (c == 0)
			abort(); /* a line that is not there */
		return;      /* the flush; the end of the stream is checked afterwards */
	}
	/* a cut: a line longer than the limit, no newline within it, cut at the limit or
	 * before a character that was cut */
	if (left <= MAX || memchr(start, '\n', MAX + 1) != NULL || c < MAX - 3)
		abort();
	if (c < MAX) {
		size_t n = seq_len((unsigned char)start[c]);
		if (n < 2 || c + n <= MAX)
			abort();
		return;
	}
	/* at the limit: not inside a character the next bytes could complete */
	for (size_t back = 1; back <= 3; back++) {
		size_t n = seq_len((unsigned char)line[c - back]);
		if (((unsigned char)line[c - back] & 0xc0) == 0x80)
			continue;
		if (n > back && prefix_valid((const unsigned char *)line + c - back, back, n))
			abort();
		break;
	}
}

CHECKER static void
time_string(int64_t us, char *out, size_t size)
{
	time_t t;
	struct tm tm;

	us = us < TIME_MIN_US ? TIME_MIN_US : us > TIME_MAX_US ? TIME_MAX_US : us;
	t = (time_t)(us / 1000000 - (us % 1000000 < 0));
	if (gmtime_r(&t, &tm) == NULL)
		abort();
	snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(us - (int64_t)t * 1000000));
}

CHECKER static void
check_json(const struct pass *p, const char *line, size_t len, const char *want, size_t wlen)
{
	struct json j;
	struct bytes v = { 0 };
	char when[64];

	if (len > LINEBUF_OUT_SIZE(p->namelen, wlen))
		abort();
	json_parse(&j, line, len - 1);
	if (j.nmembers != 3 || !j.is_string[0] || !j.is_string[1] || !j.is_string[2] ||
	    strcmp(j.keys[0], "time") != 0 ||
	    strcmp(j.keys[1], "service") != 0 || strcmp(j.keys[2], "line") != 0)
		abort();
	time_string(p->now_us, when, sizeof when);
	if (j.values[0].len != 27 || memcmp(j.values[0].p, when, 27) != 0)
		abort();
	ref_replace((const unsigned char *)p->name, p->namelen, &v);
	if (j.values[1].len != v.len || (v.len > 0 && memcmp(j.values[1].p, v.p, v.len) != 0))
		abort();
	v.len = 0;
	ref_replace((const unsigned char *)want, wlen, &v);
	if (j.values[2].len != v.len || (v.len > 0 && memcmp(j.values[2].p, v.p, v.len) != 0))
		abort();
	if (utf8_valid((const unsigned char *)want, wlen) &&
	    (v.len != wlen || (wlen > 0 && memcmp(v.p, want, wlen) != 0)))
		abort(); /* valid UTF-8 comes back as it went */
	free(v.p);
	json_done(&j);
}

CHECKER static void
on_line(void *ctx, const char *line, size_t len)
{
	struct pass *p = ctx;
	size_t i = p->line++, wlen;
	const char *want;

	p->emitted += len;
	if (len == 0 || line[len - 1] != '\n')
		abort();
	if (p->fmt == LINEBUF_RAW) {
		check_raw(line, len);
		if (i + 2 > offcap) {
			offcap = 2 * (i + 2);
			off = realloc(off, offcap * sizeof *off);
			if (off == NULL)
				abort();
		}
		off[i] = raw.len;
		off[i + 1] = raw.len + len;
		noff = i + 1;
		bytes_add(&raw, line, len);
		return;
	}
	if (i >= noff)
		abort(); /* more lines than RAW */
	want = raw.p + off[i];
	wlen = off[i + 1] - off[i] - 1;
	if (p->fmt == LINEBUF_TEXT) {
		if (len != p->namelen + 3 + wlen + 1 || memcmp(line, p->name, p->namelen) != 0 ||
		    memcmp(line + p->namelen, " | ", 3) != 0 ||
		    memcmp(line + p->namelen + 3, want, wlen) != 0)
			abort();
		return;
	}
	check_json(p, line, len, want, wlen);
}

CHECKER static int64_t
random_time(unsigned kind)
{
	uint64_t r = next_random();

	switch (kind) {
	case 0:
		return INT64_MAX - (int64_t)(r % 3);
	case 1:
		return INT64_MIN + (int64_t)(r % 3);
	case 2:
		return (int64_t)r;
	default: /* this century, mostly */
		return 946684800000000LL + (int64_t)(r % 4102444800000000ULL);
	}
}

CHECKER static size_t
random_write(size_t left)
{
	uint64_t r = next_random();
	size_t n;

	switch (r % 4) {
	case 0:
		n = 1 + (r >> 8) % 8;
		break;
	case 1:
		n = 1 + (r >> 8) % 300;
		break;
	case 2:
		n = 1 + (r >> 8) % 4096;
		break;
	default:
		n = 1 + (r >> 8) % (3 * MAX);
	}
	return n < left ? n : left;
}

static char scratch[LINEBUF_OUT_SIZE(80, MAX)];

CHECKER static void
run_pass(struct pass *p, uint64_t seed, unsigned time_kind)
{
	struct linebuf lb;
	struct linebuf_out out = { p->fmt, on_line, p, scratch, sizeof scratch };
	size_t at = 0;

	linebuf_init(&lb);
	rng = seed;
	p->line = 0;
	while (at < stream_len) {
		size_t n = random_write(stream_len - at);
		size_t max = linebuf_feed_max(&lb, p->fmt, p->namelen, n);
		p->now_us = random_time(time_kind);
		p->emitted = 0;
		if (linebuf_feed(&lb, stream + at, n, p->name, p->now_us, &out) != 0)
			abort();
		if (p->emitted > max || lb.len > MAX || lb.cap > MAX || lb.len > lb.cap)
			abort();
		at += n;
	}
	{
		size_t max = linebuf_feed_max(&lb, p->fmt, p->namelen, 0);
		p->emitted = 0;
		if (linebuf_flush_partial(&lb, p->name, p->now_us, &out) != 0 || p->emitted > max ||
		    lb.buf != NULL)
			abort();
	}
	if (p->fmt != LINEBUF_RAW && p->line != noff)
		abort(); /* fewer lines than RAW */
}

/* Lines of random lengths, mostly under LINEBUF_KEEP, made of the data's bytes over and
 * over: tails that grow and empty again, in writes that end anywhere. */
CHECKER static void
add_lines(struct bytes *s, const uint8_t *data, size_t size)
{
	size_t total = 20000 + next_random() % 60000, at = 0;

	while (s->len < total) {
		uint64_t r = next_random();
		size_t len = r % 2 ? (r >> 8) % 64 : (r >> 8) % 6000;
		for (size_t k = 0; k < len; k++, at++)
			bytes_add(s, size > 0 ? (const void *)&data[at % size] : "x", 1);
		if ((r >> 40) % 8 != 0)
			bytes_add(s, "\n", 1);
	}
}

/* The stream: by ctl & 7, the data with 1 or 2 runs of a filler inserted, each of about
 * LINEBUF_LINE_MAX bytes (1, 2), lines made of it (3), or the data alone. */
CHECKER static char *
make_stream(const uint8_t *data, size_t size, unsigned ctl, size_t *len)
{
	struct bytes s = { 0 };
	size_t runs = (ctl & 7) < 3 ? ctl & 7 : 0, at[2], rlen[2], done = 0;
	const char *fill[2];

	if ((ctl & 7) == 3) {
		add_lines(&s, data, size);
		*len = s.len;
		return s.p;
	}
	for (size_t r = 0; r < 2; r++) {
		uint64_t x = next_random();
		at[r] = size == 0 ? 0 : x % (size + 1);
		rlen[r] = MAX - 8 + (x >> 20) % 16 + ((x >> 40) % 4 == 0 ? MAX : 0);
		fill[r] = fillers[(x >> 50) % (sizeof fillers / sizeof fillers[0])];
	}
	if (runs == 2 && at[0] > at[1]) {
		size_t t = at[0];
		at[0] = at[1];
		at[1] = t;
	}
	for (size_t r = 0; r < runs; r++) {
		size_t fl = strlen(fill[r]);
		bytes_add(&s, data + done, at[r] - done);
		done = at[r];
		for (size_t k = 0; k < rlen[r]; k += fl)
			bytes_add(&s, fill[r], fl);
	}
	bytes_add(&s, data + done, size - done);
	*len = s.len;
	return s.p;
}

/* linebuf_format alone, on content that holds newlines and all. */
CHECKER static void
check_format(const uint8_t *data, size_t size, const char *name)
{
	static char out[LINEBUF_OUT_SIZE(80, 512)];
	struct pass p = { LINEBUF_JSON, name, strlen(name), 0, 0, 0 };
	size_t len = size < 512 ? size : 512, n;

	n = linebuf_format(out, LINEBUF_OUT_SIZE(p.namelen, len), LINEBUF_JSON, name, 0,
			   (const char *)data, len);
	if (n == 0 || memchr(out, '\n', n - 1) != NULL)
		abort();
	check_json(&p, out, n, (const char *)data, len);
	if (linebuf_format(out, LINEBUF_OUT_SIZE(p.namelen, len) - 1, LINEBUF_JSON, name, 0,
			   (const char *)data, len) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum linebuf_fmt fmts[] = { LINEBUF_RAW, LINEBUF_TEXT, LINEBUF_JSON };
	uint64_t seed;
	unsigned ctl;
	char *s;

	if (size < 5)
		return 0;
	seed = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)data[0] | (uint64_t)data[1] << 8 |
					(uint64_t)data[2] << 16 | (uint64_t)data[3] << 24);
	ctl = data[4];
	data += 5;
	size -= 5;
	rng = seed;
	s = make_stream(data, size, ctl, &stream_len);
	stream = s;
	stream_pos = 0;
	raw.len = 0;
	noff = 0;
	for (size_t f = 0; f < 3; f++) {
		struct pass p = { fmts[f], names[ctl >> 3 & 3], 0, 0, 0, 0 };
		p.namelen = strlen(p.name);
		run_pass(&p, seed, ctl >> 5 & 3);
		if (f == 0 && stream_pos != stream_len)
			abort(); /* RAW's lines did not give the whole stream back */
	}
	check_format(data, size, names[ctl >> 3 & 3]);
	free(s);
	return 0;
}
