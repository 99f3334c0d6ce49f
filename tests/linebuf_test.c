/* tests/linebuf_test.c: lib/linebuf.c checked case by case (tests/linebuf.bats runs
 * each). Usage: linebuf_test CASE... or linebuf_test all. Linked with
 * -Wl,--wrap=realloc, so that a test can make the module's allocation fail. Prints
 * "ok CASE" for each case that passes; on the first failure, what was expected and what
 * came, and exits 1. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linebuf.h"

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

static int realloc_fails; /* the next realloc calls that fail */

void *
__wrap_realloc(void *p, size_t n)
{
	if (realloc_fails > 0) {
		realloc_fails--;
		return NULL;
	}
	return __real_realloc(p, n);
}

#define NAME "svc"
#define M ((size_t)LINEBUF_LINE_MAX)
#define NOW 1796040000123456LL /* 2026-11-30T12:00:00.123456Z */
#define STAMP "2026-11-30T12:00:00.123456Z"
#define JSON(line) "{\"time\":\"" STAMP "\",\"service\":\"" NAME "\",\"line\":\"" line "\"}\n"

/* What the emit callback received: the lines end to end, and how many. */
struct got {
	char *buf;
	size_t len, cap;
	size_t lines;
	size_t longest;
	int bad; /* a line without its final newline, or with another one inside (RAW/TEXT) */
};

static const char *test_name = "?";
static void fail(const char *fmt, const char *a, size_t alen, const char *b, size_t blen)
	__attribute__((noreturn));
static char scratch[LINEBUF_OUT_SIZE(200, LINEBUF_LINE_MAX)];

static void
fail(const char *fmt, const char *a, size_t alen, const char *b, size_t blen)
{
	fprintf(stderr, "linebuf_test: %s: %s\n", test_name, fmt);
	if (a != NULL) {
		fprintf(stderr, "expected (%zu bytes): %.*s\n", alen, alen > 400 ? 400 : (int)alen, a);
		fprintf(stderr, "got (%zu bytes): %.*s\n", blen, blen > 400 ? 400 : (int)blen, b);
		for (size_t i = 0; i < alen && i < blen; i++)
			if (a[i] != b[i]) {
				fprintf(stderr, "first difference at byte %zu: %#x, not %#x\n", i,
					(unsigned char)b[i], (unsigned char)a[i]);
				break;
			}
	}
	exit(1);
}

static void
collect(void *ctx, const char *line, size_t len)
{
	struct got *g = ctx;

	if (len == 0 || line[len - 1] != '\n')
		g->bad = 1;
	if (g->len + len > g->cap) {
		g->cap = (g->len + len) * 2;
		g->buf = __real_realloc(g->buf, g->cap);
		if (g->buf == NULL)
			fail("out of memory", NULL, 0, NULL, 0);
	}
	memcpy(g->buf + g->len, line, len);
	g->len += len;
	g->lines++;
	if (len > g->longest)
		g->longest = len;
}

static struct linebuf_out
out_for(enum linebuf_fmt fmt, struct got *g)
{
	struct linebuf_out o = { fmt, collect, g, scratch, sizeof scratch };

	memset(g, 0, sizeof *g);
	return o;
}

static void
expect(const struct got *g, const char *want, size_t wlen, size_t lines)
{
	if (g->len != wlen || (wlen > 0 && memcmp(g->buf, want, wlen) != 0))
		fail("wrong output", want, wlen, g->buf, g->len);
	if (g->lines != lines) {
		fprintf(stderr, "linebuf_test: %s: %zu lines, not %zu\n", test_name, g->lines, lines);
		exit(1);
	}
	if (g->bad)
		fail("a line without its newline", NULL, 0, NULL, 0);
}

static void
feed(struct linebuf *lb, const char *data, size_t n, const struct linebuf_out *o)
{
	if (linebuf_feed(lb, data, n, NAME, NOW, o) != 0)
		fail("linebuf_feed failed", NULL, 0, NULL, 0);
}

/* data fed in pieces of step bytes, then the partial line flushed. */
static void
run_fmt(enum linebuf_fmt fmt, const char *data, size_t n, size_t step, struct got *g)
{
	struct linebuf lb;
	struct linebuf_out o = out_for(fmt, g);

	linebuf_init(&lb);
	for (size_t i = 0; i < n; i += step)
		feed(&lb, data + i, n - i < step ? n - i : step, &o);
	if (linebuf_flush_partial(&lb, NAME, NOW, &o) != 0)
		fail("linebuf_flush_partial failed", NULL, 0, NULL, 0);
	if (lb.buf != NULL || lb.len != 0)
		fail("the buffer is still there after the flush", NULL, 0, NULL, 0);
}

/* The same output whatever the sizes of the writes. */
static void
check_steps(enum linebuf_fmt fmt, const char *data, size_t n, const char *want, size_t wlen,
	    size_t lines)
{
	static const size_t steps[] = { 1, 2, 3, 7, 4096, 65535, 65536, 65537, 1 << 20 };
	struct got g;

	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		run_fmt(fmt, data, n, steps[i], &g);
		expect(&g, want, wlen, lines);
		free(g.buf);
	}
}

#define CHECK(fmt, data, want, lines) \
	check_steps(fmt, data, sizeof(data) - 1, want, sizeof(want) - 1, lines)

static void
test_split_writes(void)
{
	static const char in[] = "hello\nworld, a longer line\n\nend\n";
	struct got g;

	CHECK(LINEBUF_RAW, in, in, 4);
	CHECK(LINEBUF_TEXT, in, "svc | hello\nsvc | world, a longer line\nsvc | \nsvc | end\n", 4);
	CHECK(LINEBUF_JSON, in, JSON("hello") JSON("world, a longer line") JSON("") JSON("end"), 4);
	/* every cut of the input into two writes */
	for (size_t cut = 0; cut <= sizeof in - 1; cut++) {
		struct linebuf lb;
		struct linebuf_out o = out_for(LINEBUF_TEXT, &g);
		linebuf_init(&lb);
		feed(&lb, in, cut, &o);
		feed(&lb, in + cut, sizeof in - 1 - cut, &o);
		expect(&g, "svc | hello\nsvc | world, a longer line\nsvc | \nsvc | end\n", 56, 4);
		if (lb.buf != NULL && lb.len != 0)
			fail("a tail is left after a whole line", NULL, 0, NULL, 0);
		linebuf_free(&lb);
		free(g.buf);
	}
}

static void
test_empty_lines(void)
{
	CHECK(LINEBUF_RAW, "\n\n\n", "\n\n\n", 3);
	CHECK(LINEBUF_TEXT, "\n\n\n", "svc | \nsvc | \nsvc | \n", 3);
	CHECK(LINEBUF_JSON, "\n\nx\n", JSON("") JSON("") JSON("x"), 3);
	CHECK(LINEBUF_RAW, "", "", 0); /* no output, not even at the flush */
}

static void
test_crlf(void)
{
	CHECK(LINEBUF_RAW, "a\r\nb\r\n\r\n", "a\r\nb\r\n\r\n", 3);
	CHECK(LINEBUF_TEXT, "a\r\nb\r\n", "svc | a\r\nsvc | b\r\n", 2);
	CHECK(LINEBUF_JSON, "a\r\n\r\nc\rd", JSON("a\\r") JSON("\\r") JSON("c\\rd"), 3);
}

static char *
filled(size_t n, char c, const char *end)
{
	size_t e = strlen(end);
	char *s = malloc(n + e + 1);

	if (s == NULL)
		fail("out of memory", NULL, 0, NULL, 0);
	memset(s, c, n);
	memcpy(s + n, end, e + 1);
	return s;
}

/* n bytes of 'x', then end; expect lines of the given lengths (content, RAW). */
static void
check_long(size_t n, const char *end, const size_t *lens, size_t nlines)
{
	char *in = filled(n, 'x', end), *want;
	size_t inlen = strlen(in), wlen = 0;

	want = malloc(inlen + nlines + 1);
	if (want == NULL)
		fail("out of memory", NULL, 0, NULL, 0);
	for (size_t i = 0, at = 0; i < nlines; i++) {
		memcpy(want + wlen, in + at, lens[i]);
		wlen += lens[i];
		at += lens[i];
		if (in[at] == '\n')
			at++;
		want[wlen++] = '\n';
	}
	check_steps(LINEBUF_RAW, in, inlen, want, wlen, nlines);
	free(in);
	free(want);
}

static void
test_boundary(void)
{
	check_long(M - 1, "\n", (size_t[]){ M - 1 }, 1);
	check_long(M, "\n", (size_t[]){ M }, 1);             /* exactly the limit: one line */
	check_long(M + 1, "\n", (size_t[]){ M, 1 }, 2);      /* one over: cut */
	check_long(M, "", (size_t[]){ M }, 1);               /* the limit, then the flush */
	check_long(M + 1, "", (size_t[]){ M, 1 }, 2);
	check_long(2 * M, "\nab\n", (size_t[]){ M, M, 2 }, 3);
	check_long(3 * M + 5, "", (size_t[]){ M, M, M, 5 }, 4);
	check_long(M, "\n\n", (size_t[]){ M, 0 }, 2);        /* the newline after the limit is its own */
}

/* A character across the limit goes whole to the next line: JSON gets it back, no U+FFFD. */
static void
test_boundary_utf8(void)
{
	static const char *chars[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80" };
	for (size_t c = 0; c < 3; c++) {
		size_t cl = strlen(chars[c]);
		for (size_t off = 1; off < cl; off++) {
			/* the character begins off bytes before the limit */
			char *in = filled(M - off, 'x', chars[c]), *want;
			struct got g;
			size_t inlen = strlen(in);
			want = malloc(2 * inlen + 64);
			if (want == NULL)
				fail("out of memory", NULL, 0, NULL, 0);
			memcpy(want, in, M - off);
			want[M - off] = '\n';
			memcpy(want + M - off + 1, chars[c], cl);
			want[M - off + 1 + cl] = '\n';
			check_steps(LINEBUF_RAW, in, inlen, want, inlen + 2, 2);
			run_fmt(LINEBUF_JSON, in, inlen, 4096, &g);
			if (g.lines != 2 || memmem(g.buf, g.len, "\xef\xbf\xbd", 3) != NULL ||
			    memmem(g.buf, g.len, chars[c], cl) == NULL)
				fail("a character cut at the limit", want, inlen + 2, g.buf, g.len);
			free(g.buf);
			free(in);
			free(want);
		}
	}
	/* an invalid sequence at the limit is cut where it falls */
	{
		char *in = filled(M - 1, 'x', "\xff\xfe");
		size_t inlen = strlen(in);
		char *want = filled(M - 1, 'x', "\xff\n\xfe\n");
		check_steps(LINEBUF_RAW, in, inlen, want, inlen + 2, 2);
		free(in);
		free(want);
	}
}

static void
test_partial_flush(void)
{
	struct linebuf lb;
	struct got g;
	struct linebuf_out o = out_for(LINEBUF_TEXT, &g);

	linebuf_init(&lb);
	feed(&lb, "one\ntw", 6, &o);
	feed(&lb, "o", 1, &o);
	expect(&g, "svc | one\n", 10, 1);
	if (linebuf_flush_partial(&lb, NAME, NOW, &o) != 0)
		fail("linebuf_flush_partial failed", NULL, 0, NULL, 0);
	expect(&g, "svc | one\nsvc | two\n", 20, 2);
	if (linebuf_flush_partial(&lb, NAME, NOW, &o) != 0) /* nothing left: no line */
		fail("linebuf_flush_partial failed", NULL, 0, NULL, 0);
	expect(&g, "svc | one\nsvc | two\n", 20, 2);
	feed(&lb, "three\n", 6, &o); /* the writer restarted */
	expect(&g, "svc | one\nsvc | two\nsvc | three\n", 32, 3);
	linebuf_free(&lb);
	free(g.buf);
	CHECK(LINEBUF_RAW, "a\nb", "a\nb\n", 2);
	CHECK(LINEBUF_JSON, "a\nb\r", JSON("a") JSON("b\\r"), 2);
}

static void
test_json_controls(void)
{
	static const char *esc[32] = {
		"\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006",
		"\\u0007", "\\b", "\\t", "\\n", "\\u000b", "\\f", "\\r", "\\u000e", "\\u000f",
		"\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016",
		"\\u0017", "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d",
		"\\u001e", "\\u001f",
	};
	char want[256], line[4];
	size_t n;

	for (int c = 0; c < 32; c++) {
		if (c == '\n')
			continue; /* ends the line; a name may hold one: test_names */
		line[0] = 'a';
		line[1] = (char)c;
		line[2] = 'b';
		n = (size_t)snprintf(want, sizeof want, JSON("a%sb"), esc[c]);
		check_steps(LINEBUF_JSON, line, 3, want, n, 1);
	}
	CHECK(LINEBUF_JSON, "say \"hi\"\n", JSON("say \\\"hi\\\""), 1);
	CHECK(LINEBUF_JSON, "C:\\dir\\\n", JSON("C:\\\\dir\\\\"), 1);
	CHECK(LINEBUF_JSON, "a/b \x7f ~\n", JSON("a/b \x7f ~"), 1); /* DEL and / need no escape */
	CHECK(LINEBUF_JSON, "\"\\\"\n", JSON("\\\"\\\\\\\""), 1);
}

static void
test_json_utf8(void)
{
#define FFFD "\xef\xbf\xbd"
	static const char *cases[][2] = {
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf" },
		{ "\xe2\x80\xa8\xf4\x8f\xbf\xbf", "\xe2\x80\xa8\xf4\x8f\xbf\xbf" }, /* U+2028, U+10FFFF */
		{ "\xff", FFFD },
		{ "a\x80" "b", "a" FFFD "b" },            /* a stray continuation byte */
		{ "\xc3", FFFD },                         /* truncated at the end */
		{ "\xc3(", FFFD "(" },
		{ "\xe2\x82" "A", FFFD "A" },             /* one U+FFFD for the maximal part */
		{ "\xf0\x9f\x98" "A", FFFD "A" },
		{ "\xc0\xaf", FFFD FFFD },                /* overlong '/' */
		{ "\xe0\x80\xaf", FFFD FFFD FFFD },       /* overlong, 3 bytes */
		{ "\xed\xa0\x80", FFFD FFFD FFFD },       /* surrogate U+D800 */
		{ "\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD }, /* U+110000 */
		{ "\xf5\x80", FFFD FFFD },
		{ "\xfe\xff\xc1", FFFD FFFD FFFD },
		{ "\xe2\x82\xe2\x82\xac", FFFD "\xe2\x82\xac" },
	};
	char in[64], want[512];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = (size_t)snprintf(in, sizeof in, "%s\n", cases[i][0]);
		size_t w = (size_t)snprintf(want, sizeof want, JSON("%s"), cases[i][1]);
		check_steps(LINEBUF_JSON, in, n, want, w, 1);
		/* TEXT and RAW pass every byte */
		w = (size_t)snprintf(want, sizeof want, "svc | %s\n", cases[i][0]);
		check_steps(LINEBUF_TEXT, in, n, want, w, 1);
	}
#undef FFFD
}

static void
test_names(void)
{
	char name[69], want[512], out[LINEBUF_OUT_SIZE(68, 10)];
	size_t n;

	memset(name, 'n', 64);
	memcpy(name + 64, "/log", 5);
	n = linebuf_format(out, sizeof out, LINEBUF_TEXT, name, NOW, "hi", 2);
	snprintf(want, sizeof want, "%s | hi\n", name);
	if (n != strlen(want) || memcmp(out, want, n) != 0)
		fail("a long name in TEXT", want, strlen(want), out, n);
	n = linebuf_format(out, sizeof out, LINEBUF_JSON, name, NOW, "hi", 2);
	snprintf(want, sizeof want, "{\"time\":\"" STAMP "\",\"service\":\"%s\",\"line\":\"hi\"}\n",
		 name);
	if (n != strlen(want) || memcmp(out, want, n) != 0)
		fail("a long name in JSON", want, strlen(want), out, n);
	/* a name is a JSON string too */
	n = linebuf_format(out, sizeof out, LINEBUF_JSON, "a\"b\\c\n\xff", NOW, "", 0);
	snprintf(want, sizeof want,
		 "{\"time\":\"" STAMP "\",\"service\":\"a\\\"b\\\\c\\n\xef\xbf\xbd\",\"line\":\"\"}\n");
	if (n != strlen(want) || memcmp(out, want, n) != 0)
		fail("a name escaped", want, strlen(want), out, n);
	n = linebuf_format(out, sizeof out, LINEBUF_JSON, "supervise", NOW, "started", 7);
	snprintf(want, sizeof want,
		 "{\"time\":\"" STAMP "\",\"service\":\"supervise\",\"line\":\"started\"}\n");
	if (n != strlen(want) || memcmp(out, want, n) != 0)
		fail("supervise's own line", want, strlen(want), out, n);
}

/* The room asked for is enough, and is checked. */
static void
test_sizes(void)
{
	char out[LINEBUF_OUT_SIZE(3, 4)], ctl[4] = { 1, 2, 3, 4 };
	struct linebuf lb;
	struct got g;
	struct linebuf_out o = out_for(LINEBUF_JSON, &g);

	if (linebuf_format(out, sizeof out, LINEBUF_JSON, "\x01\x02\x03", NOW, ctl, 4) == 0)
		fail("LINEBUF_OUT_SIZE is not enough", NULL, 0, NULL, 0);
	if (linebuf_format(out, sizeof out - 1, LINEBUF_JSON, "\x01\x02\x03", NOW, ctl, 4) != 0)
		fail("a buffer too small was used", NULL, 0, NULL, 0);
	/* a scratch too small for the longest line: refused before anything is done */
	o.scratch_size = LINEBUF_OUT_SIZE(3, LINEBUF_LINE_MAX) - 1;
	linebuf_init(&lb);
	errno = 0;
	if (linebuf_feed(&lb, "a\nb", 3, NAME, NOW, &o) != -1 || errno != EINVAL || g.lines != 0 ||
	    lb.len != 0)
		fail("a scratch too small was used", NULL, 0, NULL, 0);
	o.scratch_size = LINEBUF_OUT_SIZE(3, LINEBUF_LINE_MAX);
	feed(&lb, "a\nb", 3, &o);
	if (g.lines != 1 || lb.len != 1)
		fail("the exact scratch size was refused", NULL, 0, NULL, 0);
	linebuf_free(&lb);
	free(g.buf);
}

static void
check_time(int64_t us, const char *want)
{
	char out[LINEBUF_OUT_SIZE(1, 0)];
	size_t n = linebuf_format(out, sizeof out, LINEBUF_JSON, "s", us, "", 0);

	if (n < 9 + 27 || memcmp(out + 9, want, 27) != 0)
		fail("wrong time", want, 27, out + 9, n < 9 ? 0 : 27);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
test_time(void)
{
	char want[64];

	check_time(0, "1970-01-01T00:00:00.000000Z");
	check_time(NOW, STAMP);
	check_time(-1, "1969-12-31T23:59:59.999999Z");
	check_time(951782400000000LL, "2000-02-29T00:00:00.000000Z");
	check_time(4107542399999999LL, "2100-02-28T23:59:59.999999Z");
	check_time(4107542400000000LL, "2100-03-01T00:00:00.000000Z");
	check_time(INT64_MAX, "9999-12-31T23:59:59.999999Z"); /* clamped */
	check_time(INT64_MIN, "0000-01-01T00:00:00.000000Z");
	/* against gmtime_r, from year 0 to 9999 */
	for (int i = 0; i < 200000; i++) {
		int64_t us = (int64_t)(next_random() % 315569520000000000ULL) - 62167219200000000LL;
		time_t t = (time_t)(us / 1000000 - (us % 1000000 < 0));
		struct tm tm;
		if (gmtime_r(&t, &tm) == NULL)
			fail("gmtime_r failed", NULL, 0, NULL, 0);
		snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (int)(us - (int64_t)t * 1000000));
		check_time(us, want);
	}
}

/* An allocation that fails: -1 ENOMEM, nothing emitted, nothing kept; the same bytes fed
 * again give what they would have. */
static void
test_enomem(void)
{
#define TAIL "third, unterminated"
	static const char in[] = "first\nsecond\n" TAIL;
	const size_t tl = sizeof TAIL - 1;
	struct linebuf lb;
	struct got g;
	struct linebuf_out o = out_for(LINEBUF_RAW, &g);

	linebuf_init(&lb);
	realloc_fails = 1;
	errno = 0;
	if (linebuf_feed(&lb, in, sizeof in - 1, NAME, NOW, &o) != -1 || errno != ENOMEM)
		fail("no ENOMEM", NULL, 0, NULL, 0);
	if (g.lines != 0 || lb.len != 0 || lb.buf != NULL)
		fail("something was done before ENOMEM", NULL, 0, NULL, 0);
	feed(&lb, in, sizeof in - 1, &o);
	expect(&g, "first\nsecond\n", 13, 2);
	/* growing a tail that exists */
	realloc_fails = 1;
	{
		char *big = filled(10000, 'y', "\n");
		if (linebuf_feed(&lb, big, 10001, NAME, NOW, &o) != -1 || errno != ENOMEM ||
		    g.lines != 2 || lb.len != tl)
			fail("a tail that could not grow was touched", NULL, 0, NULL, 0);
		feed(&lb, big, 10001, &o);
		if (g.lines != 3 || g.len != 13 + tl + 10001 ||
		    memcmp(g.buf + 13, TAIL "y", tl + 1) != 0)
			fail("wrong line after a retry", NULL, 0, NULL, 0);
		free(big);
	}
	if (lb.buf != NULL)
		fail("a large empty buffer is kept", NULL, 0, NULL, 0);
	linebuf_free(&lb);
	free(g.buf);
#undef TAIL
}

/* No buffer while every write holds whole lines; one for a tail, up to the limit. */
static void
test_memory(void)
{
	struct linebuf lb;
	struct got g;
	struct linebuf_out o = out_for(LINEBUF_TEXT, &g);
	char *big = filled(5 * M, 'z', "");

	linebuf_init(&lb);
	for (int i = 0; i < 100; i++)
		feed(&lb, "a whole line\n", 13, &o);
	if (lb.buf != NULL || lb.cap != 0)
		fail("a buffer for whole lines", NULL, 0, NULL, 0);
	feed(&lb, "tail", 4, &o);
	if (lb.buf == NULL || lb.cap > LINEBUF_KEEP)
		fail("no small buffer for a tail", NULL, 0, NULL, 0);
	feed(&lb, big, 5 * M, &o);
	if (lb.cap > LINEBUF_LINE_MAX || lb.len > LINEBUF_LINE_MAX)
		fail("a buffer past the limit", NULL, 0, NULL, 0);
	if (g.longest != 7 + LINEBUF_LINE_MAX) /* "svc | ", the newline */
		fail("a line past the limit", NULL, 0, NULL, 0);
	feed(&lb, "\n", 1, &o);
	if (lb.buf != NULL)
		fail("a buffer of 64 KiB kept when empty", NULL, 0, NULL, 0);
	linebuf_free(&lb);
	free(big);
	free(g.buf);
}

/* What a feed emits stays within linebuf_feed_max, for the worst inputs: empty lines,
 * control characters, a name that is all escapes. */
static void
test_feed_max(void)
{
	static const enum linebuf_fmt fmts[] = { LINEBUF_RAW, LINEBUF_TEXT, LINEBUF_JSON };
	static const char *name = "\x01\x02\x03";
	char *nl = filled(10000, '\n', ""), *ctl = filled(3 * M, 1, "");
	const size_t sizes[] = { LINEBUF_LINE_MAX - 1, 10000, 3 * M };
	const char *data[] = { ctl, nl, ctl };

	for (size_t f = 0; f < 3; f++) {
		struct linebuf lb;
		struct got g;
		struct linebuf_out o = out_for(fmts[f], &g);
		size_t max;
		linebuf_init(&lb);
		for (size_t i = 0; i < 3; i++) {
			max = linebuf_feed_max(&lb, fmts[f], 3, sizes[i]);
			g.len = 0;
			if (linebuf_feed(&lb, data[i], sizes[i], name, NOW, &o) != 0 || g.len > max)
				fail("more than linebuf_feed_max", NULL, 0, NULL, 0);
		}
		if (g.lines != 10000 + 2) /* 3 * 64 KiB: two cut, one waits */
			fail("wrong number of lines", NULL, 0, NULL, 0);
		g.len = 0;
		max = linebuf_feed_max(&lb, fmts[f], 3, 0);
		if (linebuf_flush_partial(&lb, name, NOW, &o) != 0 || g.len > max || g.len == 0)
			fail("more than linebuf_feed_max (flush)", NULL, 0, NULL, 0);
		free(g.buf);
	}
	free(nl);
	free(ctl);
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "split_writes", test_split_writes },
	{ "empty_lines", test_empty_lines },
	{ "crlf", test_crlf },
	{ "boundary", test_boundary },
	{ "boundary_utf8", test_boundary_utf8 },
	{ "partial_flush", test_partial_flush },
	{ "json_controls", test_json_controls },
	{ "json_utf8", test_json_utf8 },
	{ "names", test_names },
	{ "sizes", test_sizes },
	{ "time", test_time },
	{ "enomem", test_enomem },
	{ "memory", test_memory },
	{ "feed_max", test_feed_max },
};

int
main(int argc, char **argv)
{
	size_t ntests = sizeof tests / sizeof tests[0];

	if (argc < 2) {
		fprintf(stderr, "usage: linebuf_test all | CASE...\n");
		return 2;
	}
	for (int a = 1; a < argc; a++) {
		int found = 0;
		for (size_t i = 0; i < ntests; i++) {
			if (strcmp(argv[a], "all") != 0 && strcmp(argv[a], tests[i].name) != 0)
				continue;
			found = 1;
			test_name = tests[i].name;
			tests[i].fn();
			printf("ok %s\n", tests[i].name);
		}
		if (!found) {
			fprintf(stderr, "linebuf_test: no case %s\n", argv[a]);
			return 2;
		}
	}
	return 0;
}
