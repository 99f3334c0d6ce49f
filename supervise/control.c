/* control.c: the control FIFO, from bytes to commands, and the replies.
 *
 * The supervisor holds a write end of its own FIFO, so it never sees EOF and never
 * spins. Each well-behaved client writes one whole line with one write() of at most
 * PIPE_BUF bytes, which the kernel keeps in one piece; so when a read empties the FIFO,
 * whatever follows the last newline is a fragment from a client that broke the rule (or
 * died halfway) and is dropped, never glued to the next client's command.
 *
 * A client that wants an answer names a reply FIFO of its own in RUNDIR/reply; the
 * answer is "O/E text" lines and a final "X CODE" (the README's "Control protocol"). A
 * client that asked to wait is a waiter until its services reach the state or its time
 * runs out; the answer is written without blocking, buffered when the FIFO is full. */
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "fdio.h"
#include "log.h"
#include "sig.h"
#include "sup.h"

#define REPLY_BUF_MAX ((size_t)256 * 1024) /* a client that reads nothing is dropped past this */
#define REPLY_STATUS_MAX ((size_t)256 * 1024 * 1024) /* a status of every service: at once */

struct waiter {
	struct waiter *next;
	struct sup *sup;
	struct evsrc ev;          /* its reply FIFO in the loop: POLLOUT while output waits */
	struct timer timer;       /* the end of its wait */
	unsigned watched;         /* the events asked for now */
	int fd;
	char *out;
	size_t outlen, outcap;
	int done;                 /* X written to out: close once it is flushed */
	int keep_open;            /* shutdown: the kernel closes it when we exit */
	int waiting;
	int watching, json;       /* svctl watch: every change of the named (or all) services */
	int big;                  /* a status reply: written whole, however many services */
	enum proto_cond cond;
	int64_t wait_ms;
	int failed;               /* exit code 1 at the end */
	int nnames;
	char (*names)[SVREF_MAX + 1];   /* NAME or NAME/log */
	unsigned char *reached;
};

int
control_open(struct sup *s)
{
	struct stat st;

	/* we hold the lock: whatever is there is a leftover; make it anew with our mode */
	if (unlinkat(s->run_dirfd, RUN_CONTROL, 0) == -1 && errno != ENOENT)
		return -1;
	if (mkfifoat(s->run_dirfd, RUN_CONTROL, 0600) == -1)
		return -1;
	s->ctl_rfd = openat(s->run_dirfd, RUN_CONTROL, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (s->ctl_rfd == -1)
		return -1;
	/* our own write end: without it every client's close would be an EOF to poll */
	s->ctl_wfd = openat(s->run_dirfd, RUN_CONTROL, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (s->ctl_wfd == -1)
		return -1;
	if (fstat(s->ctl_rfd, &st) == -1)
		return -1;
	if (!S_ISFIFO(st.st_mode) || st.st_uid != geteuid()) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

void
control_close(struct sup *s)
{
	if (unlinkat(s->run_dirfd, RUN_CONTROL, 0) == -1 && errno != ENOENT)
		log_warn("unable to remove %s/%s", s->paths.rundir, RUN_CONTROL);
}

/* --- replies --- */

static void
drop_fd(struct waiter *w)
{
	if (w->fd == -1)
		return;
	loop_unwatch(w->sup, w->fd);
	fd_close(w->fd);
	w->fd = -1;
}

/* POLLOUT while output waits; otherwise nothing is asked, and EPOLLERR still tells us
 * that a client closed its end. */
static void
rewatch(struct waiter *w)
{
	unsigned want = w->outlen > 0 ? EPOLLOUT : 0;

	if (w->fd != -1 && want != w->watched) {
		loop_rewatch(w->sup, w->fd, &w->ev, want);
		w->watched = want;
	}
}

__attribute__((format(printf, 3, 4))) static void
reply(struct waiter *w, char kind, const char *fmt, ...)
{
	char line[STATUS_TEXT_MAX + 16]; /* a JSON status, for watchers */
	va_list ap;
	int n;

	if (w == NULL || w->fd == -1)
		return;
	line[0] = kind;
	line[1] = ' ';
	va_start(ap, fmt);
	n = vsnprintf(line + 2, sizeof line - 3, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n = n + 2 > (int)sizeof line - 2 ? (int)sizeof line - 2 : n + 2;
	line[n++] = '\n';
	if (w->outlen + (size_t)n > w->outcap) {
		size_t cap = w->outcap ? w->outcap * 2 : 1024;
		char *p;
		while (cap < w->outlen + (size_t)n)
			cap *= 2;
		if (cap > (w->big ? REPLY_STATUS_MAX : REPLY_BUF_MAX) || (p = realloc(w->out, cap)) == NULL) {
			log_warnx("reply to a client dropped: it reads too slowly");
			drop_fd(w);
			return;
		}
		w->out = p;
		w->outcap = cap;
	}
	memcpy(w->out + w->outlen, line, (size_t)n);
	w->outlen += (size_t)n;
}

static void
flush(struct waiter *w)
{
	while (w->fd != -1 && w->outlen > 0) {
		ssize_t n = write(w->fd, w->out, w->outlen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			if (errno != EAGAIN) /* EPIPE: the client is gone */
				drop_fd(w);
			break;
		}
		memmove(w->out, w->out + n, w->outlen - (size_t)n);
		w->outlen -= (size_t)n;
	}
	rewatch(w);
}

static void
finish(struct waiter *w)
{
	reply(w, PROTO_EXIT, "%d", w->failed ? 1 : 0);
	w->done = 1;
	w->waiting = 0;
	timer_set(w->sup, &w->timer, CLOCK_NEVER);
	flush(w);
}

static void
waiter_free(struct waiter *w)
{
	drop_fd(w);
	timer_set(w->sup, &w->timer, CLOCK_NEVER);
	free(w->out);
	free(w->names);
	free(w->reached);
	free(w);
}

/* Drops waiters that are finished and flushed (or whose client is gone). */
void
waiters_reap(struct sup *s)
{
	for (struct waiter **pp = &s->waiters; *pp != NULL;) {
		struct waiter *w = *pp;
		if (w->fd == -1 || (w->done && w->outlen == 0 && !w->keep_open)) {
			*pp = w->next;
			waiter_free(w);
		} else {
			pp = &w->next;
		}
	}
}

static struct waiter *
client_open(struct sup *s, const char *id)
{
	struct waiter *w;
	struct stat st;
	int fd = openat(s->reply_dirfd, id, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);

	if (fd == -1) {
		log_warn("unable to open reply FIFO %s/%s/%s", s->paths.rundir, RUN_REPLY, id);
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISFIFO(st.st_mode)) {
		log_warnx("refused reply path %s/%s/%s: not a FIFO", s->paths.rundir, RUN_REPLY, id);
		fd_close(fd);
		return NULL;
	}
	(void)unlinkat(s->reply_dirfd, id, 0); /* open now; svctl unlinks it too */
	w = calloc(1, sizeof *w);
	if (w == NULL || theap_reserve(&s->timers, s->timers.n + 1) == -1) {
		free(w);
		fd_close(fd);
		return NULL;
	}
	w->sup = s;
	w->ev = (struct evsrc){ EV_WAITER, w };
	w->timer = (struct timer){ .kind = TM_WAITER, .obj = w };
	theap_node_init(&w->timer.node);
	if (loop_watch(s, fd, &w->ev, 0) == -1) {
		log_warn("watching reply FIFO %s/%s/%s", s->paths.rundir, RUN_REPLY, id);
		free(w);
		fd_close(fd);
		return NULL;
	}
	w->fd = fd;
	w->next = s->waiters;
	s->waiters = w;
	return w;
}

/* --- waiting --- */

static void
describe(struct sup *s, const char *name, char *buf, size_t size)
{
	struct service *sv = service_find(s, name);

	if (sv == NULL)
		snprintf(buf, size, "gone");
	else
		status_describe(buf, size, &sv->st, clock_wall_sec());
}

/* Marks what w waits for in sv; 1 when sv can no longer get there. */
static int
check_one(struct waiter *w, int i, struct service *sv)
{
	if (sv == NULL || sv->removed)
		return w->cond != COND_DOWN;
	if (service_cond(sv, w->cond))
		w->reached[i] = 1;
	else if (w->cond != COND_DOWN && sv->st.state == SV_FAILED)
		return 1;
	return 0;
}

static void
waiter_check(struct sup *s, struct waiter *w, struct service *changed)
{
	int all = 1;

	for (int i = 0; i < w->nnames && w->waiting; i++) {
		struct service *sv;
		if (w->reached[i])
			continue;
		if (changed != NULL && strcmp(changed->st.name, w->names[i]) != 0) {
			all = 0;
			continue;
		}
		sv = changed != NULL ? changed : service_find(s, w->names[i]);
		if (check_one(w, i, sv)) {
			char d[STATUS_TEXT_MAX];
			describe(s, w->names[i], d, sizeof d);
			reply(w, PROTO_ERR, "%s: cannot become %s: %s", w->names[i],
			      proto_cond_name(w->cond), d);
			w->failed = 1;
			w->reached[i] = 1;
		}
		all &= w->reached[i];
	}
	if (w->waiting && all)
		finish(w);
}

/* A change, to a watcher: its status line, or its JSON object, formatted once for all. */
static void
watch_event(struct waiter *w, const struct service *sv, char *text, char *json)
{
	int i;

	if (w->fd == -1)
		return;
	for (i = 0; i < w->nnames && strcmp(w->names[i], sv->st.name) != 0; i++)
		;
	if (w->nnames > 0 && i == w->nnames)
		return;
	if (w->json && json[0] == '\0')
		status_json(json, STATUS_TEXT_MAX, &sv->st);
	if (!w->json && text[0] == '\0') {
		size_t n = (size_t)snprintf(text, STATUS_TEXT_MAX, "%s: ", sv->st.name);
		if (n < STATUS_TEXT_MAX)
			status_describe(text + n, STATUS_TEXT_MAX - n, &sv->st, clock_wall_sec());
	}
	reply(w, PROTO_OUT, "%s", w->json ? json : text);
	flush(w); /* at once; a watcher that reads too slowly is dropped (reply()) */
}

void
waiters_on_change(struct sup *s, struct service *sv)
{
	char text[STATUS_TEXT_MAX], json[STATUS_TEXT_MAX];

	text[0] = json[0] = '\0';
	for (struct waiter *w = s->waiters; w != NULL; w = w->next) {
		if (w->waiting)
			waiter_check(s, w, sv);
		else if (w->watching)
			watch_event(w, sv, text, json);
	}
}

void
waiter_on_deadline(struct sup *s, struct waiter *w)
{
	if (!w->waiting)
		return;
	for (int i = 0; i < w->nnames; i++) {
		char d[STATUS_TEXT_MAX];
		if (w->reached[i])
			continue;
		describe(s, w->names[i], d, sizeof d);
		reply(w, PROTO_ERR, "%s: not %s after %lld.%03llds: %s", w->names[i],
		      proto_cond_name(w->cond), (long long)(w->wait_ms / 1000),
		      (long long)(w->wait_ms % 1000), d);
	}
	w->failed = 1;
	finish(w);
}

void
waiter_on_event(struct sup *s, struct waiter *w, unsigned events)
{
	(void)s;
	if (w->fd == -1)
		return;
	if (events & (EPOLLERR | EPOLLHUP))
		drop_fd(w); /* the client gave up: nothing left to tell it */
	else
		flush(w);
}

void
waiters_shutdown_reply(struct sup *s)
{
	for (struct waiter *w = s->waiters; w != NULL; w = w->next)
		if (w->keep_open && !w->done)
			finish(w);
}

void
waiters_abort(struct sup *s, const char *why)
{
	for (struct waiter *w = s->waiters; w != NULL; w = w->next) {
		if (w->done)
			continue;
		if (w->waiting || w->watching) {
			reply(w, PROTO_ERR, "%s", why);
			w->failed = 1;
		}
		finish(w);
	}
}

static void
wait_for(struct sup *s, struct waiter *w, const struct proto_cmd *cmd, enum proto_cond cond,
	 int64_t wait_ms, int64_t now)
{
	int all = cmd->nnames == 0 && cmd->verb == VERB_WAIT;
	size_t n = all ? s->nservices : (size_t)cmd->nnames;

	w->names = calloc(n ? n : 1, sizeof *w->names);
	w->reached = calloc(n ? n : 1, 1);
	if (w->names == NULL || w->reached == NULL) {
		reply(w, PROTO_ERR, "out of memory");
		w->failed = 1;
		finish(w);
		return;
	}
	if (all) { /* no name: every normally-up service, or for down every service */
		n = 0;
		for (struct service *sv = s->services; sv != NULL; sv = sv->next)
			if (!sv->removed && (sv->st.normally_up || cond == COND_DOWN))
				strcpy(w->names[n++], sv->st.name);
	}
	w->nnames = (int)n;
	for (int i = 0; !all && i < cmd->nnames; i++) {
		strcpy(w->names[i], cmd->names[i]);
		/* names that failed already were answered for */
		w->reached[i] = service_find(s, cmd->names[i]) == NULL;
	}
	w->cond = cond;
	w->wait_ms = wait_ms;
	timer_set(s, &w->timer, now + wait_ms);
	w->waiting = 1;
	waiter_check(s, w, NULL);
}

/* --- status, from what we hold: no file read, however many services --- */

static int
cmp_services(const void *a, const void *b)
{
	return strcmp((*(struct service *const *)a)->st.name, (*(struct service *const *)b)->st.name);
}

/* svctl status: the lines it prints (the status files' lines, or the JSON array's), in
 * the order of names it would use. */
static void
status_reply(struct sup *s, struct waiter *w, const struct proto_cmd *cmd)
{
	size_t n = 0, cap = cmd->nnames > 0 ? (size_t)cmd->nnames : s->nservices;
	/* an array of pointers: NOLINTNEXTLINE(bugprone-sizeof-expression) */
	struct service **v = calloc(cap ? cap : 1, sizeof *v);
	char *text = malloc(STATUS_TEXT_MAX);
	int64_t now = clock_wall_sec();

	w->big = 1;
	if (v == NULL || text == NULL) {
		reply(w, PROTO_ERR, "out of memory");
		w->failed = 1;
		goto out;
	}
	if (cmd->nnames > 0) {
		for (int i = 0; i < cmd->nnames; i++) {
			struct service *sv = service_find(s, cmd->names[i]);
			if (sv == NULL) {
				reply(w, PROTO_ERR, "%s: no such service", cmd->names[i]);
				w->failed = 1;
			} else {
				v[n++] = sv;
			}
		}
	} else {
		for (struct service *sv = s->services; sv != NULL && n < cap; sv = sv->next)
			v[n++] = sv;
		qsort(v, n, sizeof *v, cmp_services); /* NOLINT(bugprone-sizeof-expression): pointers */
	}
	if (cmd->json && n == 0)
		reply(w, PROTO_OUT, "[]");
	else if (cmd->json)
		reply(w, PROTO_OUT, "[");
	for (size_t i = 0; i < n; i++) {
		if (cmd->json) {
			status_json(text, STATUS_TEXT_MAX, &v[i]->st);
			reply(w, PROTO_OUT, "%s%s", text, i + 1 < n ? "," : "");
		} else {
			status_describe(text, STATUS_TEXT_MAX, &v[i]->st, now);
			reply(w, PROTO_OUT, "%s: %s", v[i]->st.name, text);
		}
	}
	if (cmd->json && n > 0)
		reply(w, PROTO_OUT, "]");
out:
	free(v);
	free(text);
	finish(w);
}

/* --- commands --- */

/* "stopping web: depends on db", on svctl's stdout */
static void
say_stopping(void *ctx, const char *who, const char *via)
{
	reply(ctx, PROTO_OUT, "stopping %s: depends on %s", who, via);
}

static void
apply(struct sup *s, struct service *sv, const struct proto_cmd *cmd, struct waiter *w)
{
	switch (cmd->verb) {
	case VERB_START:
		service_want(s, sv, WANT_UP, 0);
		break;
	case VERB_STOP: /* dependents first */
		deps_stop_dependents(s, sv, 0, say_stopping, w);
		service_want(s, sv, WANT_DOWN, 0);
		break;
	case VERB_RESTART: /* its dependents start again once it is ready */
		deps_stop_dependents(s, sv, 1, say_stopping, w);
		service_want(s, sv, WANT_UP, 1);
		break;
	case VERB_ONCE:
		service_want(s, sv, WANT_ONCE, sv->st.state != SV_UP && sv->st.state != SV_STARTING);
		break;
	case VERB_SIGNAL:
		service_signal(sv, cmd->sig);
		break;
	default:
		break;
	}
}

static void
execute(struct sup *s, const struct proto_cmd *cmd, int64_t now)
{
	struct waiter *w = cmd->reply[0] != '\0' ? client_open(s, cmd->reply) : NULL;
	int failed = 0;

	if (cmd->verb == VERB_STATUS) {
		if (w != NULL)
			status_reply(s, w, cmd);
		return;
	}
	if (cmd->verb == VERB_WATCH) {
		if (w == NULL)
			return;
		if (cmd->nnames > 0 && (w->names = calloc((size_t)cmd->nnames, sizeof *w->names)) == NULL) {
			reply(w, PROTO_ERR, "out of memory");
			w->failed = 1;
			finish(w);
			return;
		}
		for (int i = 0; i < cmd->nnames; i++)
			strcpy(w->names[i], cmd->names[i]);
		w->nnames = cmd->nnames;
		w->watching = 1;
		w->json = cmd->json;
		w->keep_open = 1; /* until the client goes, or we exit (then "X 0") */
		return;
	} else if (cmd->verb == VERB_RESCAN) {
		scan_run(s);
	} else if (cmd->verb == VERB_SHUTDOWN) {
		log_info("shutdown requested");
		s->shutting_down = 1;
		if (w != NULL)
			w->keep_open = 1;
		return;
	} else if (cmd->verb == VERB_REEXEC) {
		if (s->shutting_down || s->ct.argv != NULL) {
			reply(w, PROTO_ERR, "refused: %s", s->shutting_down ? "the supervisor is shutting down"
				   : "a main command (-- CMD) cannot be handed over");
			failed = 1;
		} else {
			log_info("reexec requested");
			s->reexec = 1;
		}
	} else {
		if (s->shutting_down && cmd->verb != VERB_STOP && cmd->verb != VERB_WAIT &&
		    cmd->verb != VERB_SIGNAL) {
			reply(w, PROTO_ERR, "refused: the supervisor is shutting down");
			if (w != NULL) {
				w->failed = 1;
				finish(w);
			}
			return;
		}
		for (int i = 0; i < cmd->nnames; i++) {
			struct service *sv = service_find(s, cmd->names[i]);
			if (sv == NULL) {
				log_warnx("refused command: %s %s: no such service",
					  proto_verb_name(cmd->verb), cmd->names[i]);
				reply(w, PROTO_ERR, "%s: no such service", cmd->names[i]);
				failed = 1;
				continue;
			}
			if (cmd->verb == VERB_SIGNAL && sv->st.pid <= 0) {
				reply(w, PROTO_ERR, "%s: not running", cmd->names[i]);
				failed = 1;
				continue;
			}
			apply(s, sv, cmd, w);
		}
	}
	if (w == NULL)
		return;
	w->failed = failed;
	if (cmd->verb == VERB_WAIT || (cmd->wait_ms > 0 && cmd->verb != VERB_SIGNAL &&
					cmd->verb != VERB_RESCAN && cmd->verb != VERB_REEXEC)) {
		enum proto_cond c = cmd->verb == VERB_WAIT ? cmd->cond
				    : cmd->verb == VERB_STOP ? COND_DOWN
				    : COND_READY;
		wait_for(s, w, cmd, c, cmd->wait_ms < 0 ? PROTO_WAIT_MAX_MS : cmd->wait_ms, now);
		return;
	}
	finish(w);
}

static void
control_line(struct sup *s, char *line, size_t len, int64_t now)
{
	struct proto_cmd cmd;
	const char *why;
	char shown[64];
	size_t i;

	if (len == 0)
		return; /* clients start their line with a newline: see proto_build() */
	/* a copy for the log, before parsing splits the line; the log stays text */
	for (i = 0; i < len && i < sizeof shown - 1; i++)
		shown[i] = (line[i] >= 0x20 && line[i] < 0x7f) ? line[i] : '?';
	shown[i] = '\0';
	if (proto_parse(line, len, &cmd, &why) == -1) {
		log_warnx("refused command: %s: \"%s%s\"", why, shown, len >= sizeof shown ? "..." : "");
		return;
	}
	execute(s, &cmd, now);
}

void
control_on_readable(struct sup *s, int64_t now)
{
	for (;;) {
		size_t room = sizeof s->ctl_buf - s->ctl_len;
		ssize_t n = fd_read(s->ctl_rfd, s->ctl_buf + s->ctl_len, room);
		char *p, *nl, *end;

		if (n == -1) {
			if (errno != EAGAIN)
				log_warn("reading the control FIFO");
			return;
		}
		if (n == 0)
			return; /* cannot happen while we hold a write end */
		end = s->ctl_buf + s->ctl_len + n;
		for (p = s->ctl_buf; (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; p = nl + 1) {
			if (s->ctl_skipping) {
				s->ctl_skipping = 0;
				continue;
			}
			control_line(s, p, (size_t)(nl - p), now);
		}
		s->ctl_len = (size_t)(end - p);
		memmove(s->ctl_buf, p, s->ctl_len);
		if ((size_t)n < room) { /* the FIFO is empty: the tail is a broken fragment */
			if (s->ctl_len > 0 && !s->ctl_skipping)
				log_warnx("refused command: unterminated fragment of %zu bytes dropped",
					  s->ctl_len);
			s->ctl_len = 0;
			s->ctl_skipping = 0;
			return;
		}
		if (s->ctl_len >= PROTO_LINE_MAX) { /* over-long: drop it up to its newline */
			if (!s->ctl_skipping)
				log_warnx("refused command: line longer than %d bytes", PROTO_LINE_MAX);
			s->ctl_skipping = 1;
			s->ctl_len = 0;
		}
	}
}
