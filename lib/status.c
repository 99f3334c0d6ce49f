#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomicfile.h"
#include "fdio.h"
#include "sig.h"
#include "status.h"

static const char *const state_names[] = {
	[SV_DOWN] = "down",       [SV_STARTING] = "starting", [SV_UP] = "up",
	[SV_STOPPING] = "stopping", [SV_FINISHING] = "finishing", [SV_BACKOFF] = "backoff",
	[SV_FAILED] = "failed",   [SV_WAITING] = "waiting",
};
static const char *const want_names[] = {
	[WANT_DOWN] = "down", [WANT_UP] = "up", [WANT_ONCE] = "once",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *
status_state_name(enum sv_state s)
{
	return (size_t)s < NELEM(state_names) ? state_names[s] : "?";
}

const char *
status_want_name(enum sv_want w)
{
	return (size_t)w < NELEM(want_names) ? want_names[w] : "?";
}

/* A bounded string builder: appends never overflow; n keeps counting so the caller can
 * tell truncation, which our own bounds make impossible in practice. */
struct sbuf {
	char *p;
	size_t size, n;
};

__attribute__((format(printf, 2, 3))) static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(b->n < b->size ? b->p + b->n : NULL, b->n < b->size ? b->size - b->n : 0,
		      fmt, ap);
	va_end(ap);
	if (w > 0)
		b->n += (size_t)w;
}

static size_t
sb_done(struct sbuf *b)
{
	if (b->size == 0)
		return 0;
	if (b->n >= b->size)
		b->n = b->size - 1;
	b->p[b->n] = '\0';
	return b->n;
}

static void
death_text(struct sbuf *b, const struct sv_death *d, const char *eq)
{
	if (d->sig > 0)
		sb_printf(b, "signal%s%s", eq, sig_name(d->sig));
	else
		sb_printf(b, "exit%s%d", eq, d->code);
}

/* Free text (src[0..len), up to a NUL) as one line: a newline in it would start a field
 * of its own. The parser applies it too, so that what it reads is what would be written. */
static void
one_line(char *dst, size_t size, const char *src, size_t len)
{
	size_t i;

	for (i = 0; i < len && src[i] != '\0' && i < size - 1; i++)
		dst[i] = (src[i] == '\n' || src[i] == '\r') ? ' ' : src[i];
	dst[i] = '\0';
}

size_t
status_format(char *buf, size_t size, const struct sv_status *st)
{
	struct sbuf b = { buf, size, 0 };
	char reason[STATUS_REASON_MAX], warning[STATUS_REASON_MAX], text[STATUS_REASON_MAX];
	char deps[STATUS_DEPS_MAX], waiting[STATUS_WAITING_MAX];

	one_line(reason, sizeof reason, st->reason, sizeof st->reason);
	one_line(warning, sizeof warning, st->warning, sizeof st->warning);
	one_line(text, sizeof text, st->text, sizeof st->text);
	one_line(deps, sizeof deps, st->deps, sizeof st->deps);
	one_line(waiting, sizeof waiting, st->waiting_for, sizeof st->waiting_for);
	sb_printf(&b, "name=%s\nstate=%s\npid=%ld\npgid=%ld\nstarttime=%llu\nsince=%lld\n",
		  st->name, status_state_name(st->state), (long)st->pid, (long)st->pgid,
		  st->starttime, (long long)st->since_sec);
	sb_printf(&b, "wanted=%s\nnormally=%s\nready=%d\nrestarts=%u\nnext=%lld\nreason=%s\n",
		  status_want_name(st->want), st->normally_up ? "up" : "down", st->ready ? 1 : 0,
		  st->restarts, (long long)st->next_sec, reason);
	sb_printf(&b, "warning=%s\ntext=%s\n", warning, text);
	sb_printf(&b, "type=%s\ndependencies=%s\nwaiting_for=%s\n",
		  st->oneshot ? "oneshot" : "longrun", deps, waiting);
	for (int i = 0; i < st->ndeaths && i < STATUS_DEATHS; i++) {
		const struct sv_death *d = &st->deaths[i];
		sb_printf(&b, "death=%lld ", (long long)d->when_sec);
		death_text(&b, d, "=");
		sb_printf(&b, " ran_ms=%lld\n", (long long)d->ran_ms);
	}
	return sb_done(&b);
}

/* Decimal integer in [min, max] spanning all of s..end. */
static int
parse_num(const char *s, const char *end, long long min, long long max, long long *out)
{
	long long v = 0;
	int neg = 0;

	if (s < end && *s == '-') {
		neg = 1;
		s++;
	}
	if (s == end)
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (INT64_MAX - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (neg)
		v = -v;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
lookup(const char *s, const char *end, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(names[i]) == (size_t)(end - s) && memcmp(s, names[i], (size_t)(end - s)) == 0)
			return (int)i;
	return -1;
}

static int
parse_death(const char *v, const char *end, struct sv_death *d)
{
	const char *sp1 = memchr(v, ' ', (size_t)(end - v)), *sp2;
	long long n;

	if (sp1 == NULL || parse_num(v, sp1, 0, INT64_MAX / 2, &n) == -1)
		return -1;
	d->when_sec = n;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (sp2 == NULL)
		return -1;
	d->code = -1;
	d->sig = 0;
	if (strncmp(sp1 + 1, "exit=", 5) == 0) {
		if (parse_num(sp1 + 6, sp2, -1, 255, &n) == -1) /* -1: not known */
			return -1;
		d->code = (int)n;
	} else if (strncmp(sp1 + 1, "signal=", 7) == 0) {
		d->sig = sig_parse(sp1 + 8, (size_t)(sp2 - sp1 - 8));
		if (d->sig < 0)
			return -1;
	} else {
		return -1;
	}
	if (strncmp(sp2 + 1, "ran_ms=", 7) != 0 || parse_num(sp2 + 8, end, 0, INT64_MAX / 2, &n) == -1)
		return -1;
	d->ran_ms = n;
	return 0;
}

#define BAD(reason)           \
	do {                  \
		*why = reason; \
		return -1;    \
	} while (0)

int
status_parse(const char *buf, struct sv_status *st, const char **why)
{
	static const char *const updown[] = { "down", "up" };
	const char *line = buf;
	int seen_name = 0, seen_state = 0;

	memset(st, 0, sizeof *st);
	while (*line != '\0') {
		const char *nl = strchr(line, '\n'), *eq;
		const char *end = nl != NULL ? nl : line + strlen(line);
		long long n;
		int k;

		eq = memchr(line, '=', (size_t)(end - line));
		if (eq == NULL)
			BAD("line without '='");
		const char *v = eq + 1;
		size_t klen = (size_t)(eq - line);
#define KEY(s) (klen == sizeof(s) - 1 && memcmp(line, s, klen) == 0)
		if (KEY("name")) {
			if (!svname_ref_valid(v, (size_t)(end - v)))
				BAD("bad name");
			memcpy(st->name, v, (size_t)(end - v));
			st->name[end - v] = '\0';
			seen_name = 1;
		} else if (KEY("state")) {
			if ((k = lookup(v, end, state_names, NELEM(state_names))) < 0)
				BAD("bad state");
			st->state = (enum sv_state)k;
			seen_state = 1;
		} else if (KEY("wanted")) {
			if ((k = lookup(v, end, want_names, NELEM(want_names))) < 0)
				BAD("bad wanted");
			st->want = (enum sv_want)k;
		} else if (KEY("normally")) {
			if ((k = lookup(v, end, updown, 2)) < 0)
				BAD("bad normally");
			st->normally_up = k;
		} else if (KEY("pid") || KEY("pgid")) {
			if (parse_num(v, end, 0, 0x7fffffff, &n) == -1)
				BAD("bad pid");
			*(KEY("pid") ? &st->pid : &st->pgid) = (pid_t)n;
		} else if (KEY("starttime")) {
			if (parse_num(v, end, 0, INT64_MAX, &n) == -1)
				BAD("bad starttime");
			st->starttime = (unsigned long long)n;
		} else if (KEY("since") || KEY("next")) {
			if (parse_num(v, end, 0, INT64_MAX / 2, &n) == -1)
				BAD("bad time");
			*(KEY("since") ? &st->since_sec : &st->next_sec) = n;
		} else if (KEY("ready")) {
			if (parse_num(v, end, 0, 1, &n) == -1)
				BAD("bad ready");
			st->ready = (int)n;
		} else if (KEY("restarts")) {
			if (parse_num(v, end, 0, 0xffffffffLL, &n) == -1)
				BAD("bad restarts");
			st->restarts = (unsigned)n;
		} else if (KEY("reason") || KEY("warning") || KEY("text")) {
			char *dst = KEY("reason") ? st->reason : KEY("warning") ? st->warning : st->text;
			one_line(dst, STATUS_REASON_MAX, v, (size_t)(end - v));
		} else if (KEY("dependencies")) {
			one_line(st->deps, sizeof st->deps, v, (size_t)(end - v));
		} else if (KEY("waiting_for")) {
			one_line(st->waiting_for, sizeof st->waiting_for, v, (size_t)(end - v));
		} else if (KEY("type")) {
			static const char *const types[] = { "longrun", "oneshot" };
			if ((k = lookup(v, end, types, 2)) < 0)
				BAD("bad type");
			st->oneshot = k;
		} else if (KEY("death")) {
			if (st->ndeaths < STATUS_DEATHS) {
				if (parse_death(v, end, &st->deaths[st->ndeaths]) == -1)
					BAD("bad death");
				st->ndeaths++;
			}
		} /* unknown keys: ignored, so newer writers stay readable */
#undef KEY
		line = nl != NULL ? nl + 1 : end;
	}
	if (!seen_name || !seen_state)
		BAD("missing name or state");
	return 0;
}

int
status_write(int dirfd, const struct sv_status *st)
{
	char buf[STATUS_TEXT_MAX], file[SVREF_MAX + 1];
	size_t n = status_format(buf, sizeof buf, st);

	svname_to_file(st->name, file);
	return atomicfile_write(dirfd, file, buf, n, 0644);
}

int
status_read(int dirfd, const char *name, struct sv_status *st)
{
	char buf[STATUS_TEXT_MAX + 1], file[SVREF_MAX + 1];
	const char *why;
	ssize_t n;
	int fd;

	svname_to_file(name, file);
	fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return -1;
	n = fd_read(fd, buf, sizeof buf - 1);
	fd_close(fd);
	if (n == -1)
		return -1;
	buf[n] = '\0';
	if (strlen(buf) != (size_t)n || status_parse(buf, st, &why) == -1 ||
	    strcmp(st->name, name) != 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int64_t
age(int64_t then, int64_t now)
{
	return then > 0 && now > then ? now - then : 0;
}

/* The space-separated names of st.deps after lead, comma-separated. */
static void
deps_list(struct sbuf *b, const char *deps, const char *lead)
{
	const char *p = deps;
	int first = 1;

	sb_printf(b, "%s", lead);
	while (*p != '\0') {
		size_t n = strcspn(p, " ");
		if (n > 0) {
			sb_printf(b, "%s%.*s", first ? "" : ", ", (int)n, p);
			first = 0;
		}
		p += n + (p[n] == ' ');
	}
}

size_t
status_describe(char *buf, size_t size, const struct sv_status *st, int64_t now_sec)
{
	struct sbuf b = { buf, size, 0 };

	sb_printf(&b, "%s", status_state_name(st->state));
	if (st->pid > 0)
		sb_printf(&b, " (pid %ld)", (long)st->pid);
	sb_printf(&b, " %llds", (long long)age(st->since_sec, now_sec));
	if (st->oneshot)
		sb_printf(&b, ", oneshot");
	if (st->state == SV_WAITING && st->waiting_for[0] != '\0')
		sb_printf(&b, ", waiting for %s", st->waiting_for);
	if (st->pid > 0 && st->ready)
		sb_printf(&b, ", ready");
	if (st->next_sec > 0) {
		int64_t in = st->next_sec > now_sec ? st->next_sec - now_sec : 0;
		sb_printf(&b, st->state == SV_STOPPING ? ", kill in %llds" : ", next try in %llds",
			  (long long)in);
	}
	if (st->want == WANT_ONCE)
		sb_printf(&b, ", once");
	else if (st->pid > 0 && st->want == WANT_DOWN && st->state != SV_STOPPING)
		sb_printf(&b, ", want down");
	else if (st->pid == 0 && st->want == WANT_UP && st->state == SV_DOWN)
		sb_printf(&b, ", want up");
	if (st->pid > 0 && !st->normally_up)
		sb_printf(&b, ", normally down");
	else if (st->pid == 0 && st->normally_up && st->state != SV_WAITING && st->state != SV_UP)
		sb_printf(&b, ", normally up"); /* a one-shot is up with no process */
	if (st->pid == 0 && st->ndeaths > 0) {
		char d[64];
		struct sbuf db = { d, sizeof d, 0 };
		death_text(&db, &st->deaths[0], " ");
		sb_done(&db);
		if (strcmp(d, st->reason) != 0) /* a failed one-shot's reason says it already */
			sb_printf(&b, ", %s", d);
	}
	if (st->restarts > 0)
		sb_printf(&b, ", %u restart%s", st->restarts, st->restarts == 1 ? "" : "s");
	if (st->reason[0] != '\0')
		sb_printf(&b, ", %s", st->reason);
	if (st->text[0] != '\0')
		sb_printf(&b, ", \"%s\"", st->text);
	if (st->warning[0] != '\0')
		sb_printf(&b, ", warning: %s", st->warning);
	if (st->deps[0] != '\0' && st->state != SV_WAITING)
		deps_list(&b, st->deps, ", depends on ");
	return sb_done(&b);
}

static void
json_string(struct sbuf *b, const char *s)
{
	sb_printf(b, "\"");
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			sb_printf(b, "\\%c", c);
		else if (c < 0x20)
			sb_printf(b, "\\u%04x", c);
		else
			sb_printf(b, "%c", c);
	}
	sb_printf(b, "\"");
}

size_t
status_json(char *buf, size_t size, const struct sv_status *st)
{
	struct sbuf b = { buf, size, 0 };

	sb_printf(&b, "{\"name\":");
	json_string(&b, st->name);
	sb_printf(&b, ",\"state\":\"%s\",\"pid\":", status_state_name(st->state));
	if (st->pid > 0)
		sb_printf(&b, "%ld", (long)st->pid);
	else
		sb_printf(&b, "null");
	sb_printf(&b, ",\"since\":%lld,\"wanted\":\"%s\",\"normally\":\"%s\",\"ready\":%s",
		  (long long)st->since_sec, status_want_name(st->want),
		  st->normally_up ? "up" : "down", st->ready ? "true" : "false");
	sb_printf(&b, ",\"restarts\":%u,\"next\":", st->restarts);
	if (st->next_sec > 0)
		sb_printf(&b, "%lld", (long long)st->next_sec);
	else
		sb_printf(&b, "null");
	sb_printf(&b, ",\"reason\":");
	if (st->reason[0] != '\0')
		json_string(&b, st->reason);
	else
		sb_printf(&b, "null");
	sb_printf(&b, ",\"warning\":");
	if (st->warning[0] != '\0')
		json_string(&b, st->warning);
	else
		sb_printf(&b, "null");
	sb_printf(&b, ",\"text\":");
	if (st->text[0] != '\0')
		json_string(&b, st->text);
	else
		sb_printf(&b, "null");
	sb_printf(&b, ",\"type\":\"%s\",\"dependencies\":[", st->oneshot ? "oneshot" : "longrun");
	for (const char *p = st->deps, *sep = ""; *p != '\0';) {
		char name[STATUS_DEPS_MAX];
		size_t n = strcspn(p, " ");
		if (n > 0) {
			memcpy(name, p, n);
			name[n] = '\0';
			sb_printf(&b, "%s", sep);
			json_string(&b, name);
			sep = ",";
		}
		p += n + (p[n] == ' ');
	}
	sb_printf(&b, "],\"waiting_for\":");
	if (st->state == SV_WAITING && st->waiting_for[0] != '\0')
		json_string(&b, st->waiting_for);
	else
		sb_printf(&b, "null");
	sb_printf(&b, ",\"deaths\":[");
	for (int i = 0; i < st->ndeaths; i++) {
		const struct sv_death *d = &st->deaths[i];
		sb_printf(&b, "%s{\"when\":%lld,\"exit\":", i ? "," : "", (long long)d->when_sec);
		if (d->sig > 0)
			sb_printf(&b, "null,\"signal\":\"%s\"", sig_name(d->sig));
		else
			sb_printf(&b, "%d,\"signal\":null", d->code);
		sb_printf(&b, ",\"ran_ms\":%lld}", (long long)d->ran_ms);
	}
	sb_printf(&b, "]}");
	return sb_done(&b);
}
