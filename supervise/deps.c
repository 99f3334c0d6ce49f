/* deps.c: who waits for whom. Each service names what it depends on (dependencies.d/
 * or `dependencies`, the README's "Dependencies"); the graph is kept as pointers both
 * ways and two counts per service, so that no event looks at more than its own edges:
 *
 *   pending   its dependencies not ready: it may start when that is 0;
 *   holders   its dependents that run: it may stop when that is 0.
 *
 * A change of state (service_enter) that changes whether a service is ready or runs
 * walks its dependents (or its dependencies) and moves their counts; those whose count
 * came to 0 are queued, and the state machine is asked to look at them once the walk is
 * done (service_deps_poke), so that no walk ever sees the edges change under it.
 * Cycles are searched for at each scan (and when a start finds a list changed), by one
 * depth-first search over every edge; their members fail with the path. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "log.h"
#include "sup.h"

#define DEPS_FILE_MAX 65536 /* bytes of a `dependencies` file */

typedef char dep_name[SVNAME_MAX + 1];

static int
is_ready(const struct service *sv)
{
	return sv->st.state == SV_UP && sv->st.ready && !sv->stop_pending && !sv->removed &&
	       !sv->gone;
}

/* Runs (or is a one-shot that is up): what it depends on must not stop under it. Members
 * of a cycle hold nothing, or no member could ever stop. */
static int
is_active(const struct service *sv)
{
	if (sv->gone || sv->cycle[0] != '\0')
		return 0;
	switch (sv->st.state) {
	case SV_STARTING:
	case SV_UP:
	case SV_STOPPING:
	case SV_FINISHING:
		return 1;
	default:
		return 0;
	}
}

/* --- the queue of services to look at again --- */

static void
queue(struct sup *s, struct service *sv)
{
	if (sv->poked || sv->gone)
		return;
	sv->poked = 1;
	sv->poke_next = NULL;
	if (s->poke_tail != NULL)
		s->poke_tail->poke_next = sv;
	else
		s->poke_head = sv;
	s->poke_tail = sv;
}

/* Only the outermost call drains: pokes start and stop services, which changes states
 * and so queues more, never inside a walk. */
static void
drain(struct sup *s)
{
	if (s->deps_draining)
		return;
	s->deps_draining = 1;
	while (s->poke_head != NULL) {
		struct service *sv = s->poke_head;
		s->poke_head = sv->poke_next;
		if (s->poke_head == NULL)
			s->poke_tail = NULL;
		sv->poked = 0;
		if (!sv->gone) /* forgotten meanwhile: still allocated until the pass ends */
			service_deps_poke(s, sv);
	}
	s->deps_draining = 0;
}

/* --- reading the list --- */

static int
cmp_name(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b); /* each an array of char */
}

/* What is read: the names, and the invalid ones (counted; the first kept, to be told). */
struct names {
	dep_name *list;
	size_t n, cap;
	int nbad;
	char bad[SVNAME_MAX + 1];
};

/* Adds name[0..len) to the list (grown as needed). */
static int
add_name(struct names *l, const char *name, size_t len)
{
	if (!svname_valid(name, len)) {
		if (l->nbad++ == 0)
			snprintf(l->bad, sizeof l->bad, "%.*s", (int)(len > SVNAME_MAX ? SVNAME_MAX : len),
				 name);
		return 0;
	}
	if (l->n == l->cap) {
		size_t c = l->cap ? l->cap * 2 : 8;
		dep_name *p = realloc(l->list, c * sizeof *p);
		if (p == NULL)
			return -1;
		l->list = p;
		l->cap = c;
	}
	memset(l->list[l->n], 0, sizeof *l->list); /* lists are compared whole (memcmp) */
	memcpy(l->list[l->n], name, len);
	l->n++;
	return 0;
}

/* dependencies.d/: the entries' names (what they are or hold does not matter). */
static int
read_dir(int dfd, struct names *l)
{
	int fd = openat(dfd, "dependencies.d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (fd == -1)
		return -1;
	d = fdopendir(fd);
	if (d == NULL) {
		fd_close(fd);
		return -1;
	}
	while (r == 0 && (errno = 0, de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			r = add_name(l, de->d_name, strlen(de->d_name));
	if (r == 0 && errno != 0)
		r = -1;
	closedir(d);
	return r;
}

/* `dependencies`: one name a line; blank lines and `#` comments ignored. */
static int
read_file(int dfd, struct names *l)
{
	int fd = fd_open_regular(dfd, "dependencies", 0);
	char *buf;
	size_t len = 0;
	ssize_t r = 1;

	if (fd == -1)
		return -1;
	buf = malloc(DEPS_FILE_MAX);
	if (buf == NULL) {
		fd_close(fd);
		return -1;
	}
	while (len < DEPS_FILE_MAX - 1 && (r = fd_read(fd, buf + len, DEPS_FILE_MAX - 1 - len)) > 0)
		len += (size_t)r;
	fd_close(fd);
	buf[len] = '\0';
	for (char *line = buf, *nl; r != -1 && line < buf + len; line = nl + 1) {
		char *end;
		nl = strchr(line, '\n');
		if (nl == NULL)
			nl = buf + len;
		*nl = '\0';
		line[strcspn(line, "#")] = '\0';
		line += strspn(line, " \t\r");
		for (end = line + strlen(line); end > line && strchr(" \t\r", end[-1]); end--)
			;
		if (end > line && add_name(l, line, (size_t)(end - line)) == -1)
			r = -1;
	}
	free(buf);
	return r == -1 ? -1 : 0;
}

/* The names sv depends on, sorted, without repeats: *list (malloc'ed) and *n. No list
 * (neither file) is an empty one. -1 when the list cannot be read. */
static int
read_names(struct sup *s, struct service *sv, struct names *l)
{
	char dir[PATH_MAX];
	size_t k = 0;
	int dfd, r;

	memset(l, 0, sizeof *l);
	if (svdir_path(s, sv, NULL, dir, sizeof dir) == -1)
		return -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1)
		return -1;
	r = read_dir(dfd, l);
	if (r == -1 && (errno == ENOENT || errno == ENOTDIR)) {
		r = read_file(dfd, l);
		if (r == -1 && errno == ENOENT)
			r = 0;
	}
	fd_close(dfd);
	if (r == -1) {
		free(l->list);
		l->list = NULL;
		l->n = 0;
		return -1;
	}
	if (l->n > 1)
		qsort(l->list, l->n, sizeof *l->list, cmp_name);
	for (size_t i = 0; i < l->n; i++)
		if (k == 0 || strcmp(l->list[k - 1], l->list[i]) != 0)
			memmove(l->list[k++], l->list[i], sizeof *l->list);
	l->n = k;
	return 0;
}

/* --- edges --- */

static void
hold(struct sup *s, struct service *dep, int on)
{
	if (on) {
		dep->holders++;
		return;
	}
	if (dep->holders == 0) {
		log_warnx("%s: internal error: no dependent left to release it", dep->st.name);
		return;
	}
	if (--dep->holders == 0 && dep->stop_pending)
		queue(s, dep);
}

static void
count_pending(struct service *sv, int up)
{
	if (up)
		sv->pending++;
	else if (sv->pending == 0)
		log_warnx("%s: internal error: more dependencies ready than it has", sv->st.name);
	else
		sv->pending--;
}

/* The edge sv -> deps[i], found by name. */
static void
link_edge(struct sup *s, struct service *sv, size_t i)
{
	struct service *d = service_find(s, sv->dep_names[i]);

	if (d != NULL && (d->main != NULL || d->gone))
		d = NULL;
	sv->deps[i] = d;
	if (d == NULL || !d->counted_ready)
		count_pending(sv, 1);
	if (d == NULL)
		return;
	if (d->ndependents == d->dependents_cap) {
		size_t c = d->dependents_cap ? d->dependents_cap * 2 : 4;
		/* an array of pointers: NOLINTNEXTLINE(bugprone-sizeof-expression) */
		struct service **p = realloc(d->dependents, c * sizeof *p);
		if (p == NULL) { /* as if it were missing: sv waits, and says so */
			log_warnx("%s: out of memory linking it to %s", sv->st.name, d->st.name);
			sv->deps[i] = NULL;
			if (d->counted_ready)
				count_pending(sv, 1);
			return;
		}
		d->dependents = p;
		d->dependents_cap = c;
	}
	d->dependents[d->ndependents++] = sv;
	if (sv->counted_active)
		hold(s, d, 1);
}

static void
unlink_edge(struct sup *s, struct service *sv, size_t i)
{
	struct service *d = sv->deps[i];

	if (d == NULL || !d->counted_ready)
		count_pending(sv, 0);
	sv->deps[i] = NULL;
	if (d == NULL)
		return;
	for (size_t k = 0; k < d->ndependents; k++)
		if (d->dependents[k] == sv) {
			d->dependents[k] = d->dependents[--d->ndependents];
			break;
		}
	if (sv->counted_active)
		hold(s, d, 0);
}

/* st.deps: the names, space-separated, as many whole ones as fit. */
static void
status_names(struct service *sv)
{
	size_t len = 0;

	sv->st.deps[0] = '\0';
	for (size_t i = 0; i < sv->ndeps; i++) {
		size_t n = strlen(sv->dep_names[i]);
		if (len + n + 2 > sizeof sv->st.deps)
			break;
		if (len > 0)
			sv->st.deps[len++] = ' ';
		memcpy(sv->st.deps + len, sv->dep_names[i], n + 1);
		len += n;
	}
}

int
deps_load(struct sup *s, struct service *sv)
{
	struct names l;
	dep_name *names;
	struct service **deps;
	size_t n;

	if (sv->main != NULL || sv->gone || sv->removed)
		return 0;
	/* an unreadable list keeps the one we had: a passing error must not start anything */
	if (read_names(s, sv, &l) == -1) {
		log_warn("%s: unable to read its dependencies", sv->st.name);
		return 0;
	}
	names = l.list;
	n = l.n;
	if (n == sv->ndeps && (n == 0 || memcmp(names, sv->dep_names, n * sizeof *names) == 0)) {
		free(names);
		for (size_t i = 0; i < n; i++) /* a missing one may be there now */
			if (sv->deps[i] == NULL && service_find(s, sv->dep_names[i]) != NULL) {
				unlink_edge(s, sv, i);
				link_edge(s, sv, i);
			}
		return 0;
	}
	/* an array of pointers: NOLINTNEXTLINE(bugprone-sizeof-expression) */
	deps = n > 0 ? calloc(n, sizeof *deps) : NULL;
	if (n > 0 && deps == NULL) {
		log_warnx("%s: out of memory reading its dependencies", sv->st.name);
		free(names);
		return 0;
	}
	if (l.nbad > 0)
		log_warnx("%s: %d dependenc%s ignored (not a valid service name): \"%s\"%s",
			  sv->st.name, l.nbad, l.nbad == 1 ? "y" : "ies", l.bad, l.nbad > 1 ? "..." : "");
	for (size_t i = 0; i < sv->ndeps; i++)
		unlink_edge(s, sv, i);
	free(sv->deps);
	free(sv->dep_names);
	sv->deps = deps;
	sv->dep_names = names;
	sv->ndeps = n;
	for (size_t i = 0; i < n; i++)
		link_edge(s, sv, i);
	status_names(sv);
	if (n > 0)
		log_info("%s: depends on %s", sv->st.name, sv->st.deps);
	return 1;
}

/* --- events --- */

/* How sv shows in the waiting_for of a dependent: why it is not ready, when that is not
 * just that it is on its way. */
static void
shown_text(const struct service *sv, char *buf, size_t size)
{
	buf[0] = '\0';
	if (sv->removed)
		snprintf(buf, size, "removed");
	else if (sv->st.state == SV_FAILED)
		snprintf(buf, size, "failed: %.150s", sv->st.reason);
	else if (sv->stop_pending || sv->st.state == SV_STOPPING || sv->st.state == SV_FINISHING)
		snprintf(buf, size, "%s", sv->st.want == WANT_DOWN ? "stopping" : "restarting");
	else if (sv->st.state == SV_BACKOFF || sv->st.state == SV_DOWN)
		snprintf(buf, size, "%s", status_state_name(sv->st.state));
}

void
deps_waiting_text(const struct service *sv, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sv->ndeps; i++) {
		const struct service *d = sv->deps[i];
		char shown[STATUS_REASON_MAX], why[STATUS_REASON_MAX + 4];
		int n;
		if (d != NULL && is_ready(d))
			continue;
		why[0] = '\0';
		if (d == NULL)
			snprintf(shown, sizeof shown, "no such service");
		else
			shown_text(d, shown, sizeof shown);
		if (shown[0] != '\0')
			snprintf(why, sizeof why, " (%s)", shown);
		n = snprintf(buf + len, size - len, "%s%s%s", len ? ", " : "", sv->dep_names[i], why);
		if (n < 0 || (size_t)n >= size - len) { /* cut: end with an ellipsis */
			if (size > 4)
				memcpy(buf + size - 4, "...", 4);
			return;
		}
		len += (size_t)n;
	}
}

void
deps_on_change(struct sup *s, struct service *sv)
{
	int ready = is_ready(sv), active = is_active(sv), refresh = 0;

	if (sv->ndependents > 0) {
		char shown[STATUS_REASON_MAX];
		shown_text(sv, shown, sizeof shown);
		if (strcmp(shown, sv->shown) != 0) {
			memcpy(sv->shown, shown, sizeof shown);
			refresh = 1; /* the waiting_for of its waiting dependents says it */
		}
	}
	if (ready != sv->counted_ready || refresh) {
		for (size_t i = 0; i < sv->ndependents; i++) {
			struct service *d = sv->dependents[i];
			if (ready != sv->counted_ready)
				count_pending(d, !ready);
			if (d->st.state == SV_WAITING)
				queue(s, d);
		}
		sv->counted_ready = ready;
	}
	if (active != sv->counted_active) {
		sv->counted_active = active;
		for (size_t i = 0; i < sv->ndeps; i++)
			if (sv->deps[i] != NULL)
				hold(s, sv->deps[i], active);
	}
	drain(s);
}

int
deps_can_start(struct sup *s, struct service *sv)
{
	/* read at every start, but the scan has just read them all */
	if (!s->deps_in_scan && deps_load(s, sv))
		deps_check_cycles(s);
	return sv->pending == 0 && sv->cycle[0] == '\0';
}

/* --- cycles --- */

/* Room for a walk: every service at most once, and one more. */
static struct service **
walk_alloc(struct sup *s)
{
	/* an array of pointers: NOLINTNEXTLINE(bugprone-sizeof-expression) */
	struct service **p = malloc((s->nservices + 1) * sizeof *p);

	if (p == NULL)
		log_warnx("out of memory walking the dependency graph");
	return p;
}

/* The counts of holders as is_active() now says (the cycle flags changed it). */
static void
recount_holders(struct sup *s)
{
	for (struct service *sv = s->services; sv != NULL; sv = sv->next)
		sv->holders = 0;
	for (struct service *sv = s->services; sv != NULL; sv = sv->next) {
		sv->counted_active = is_active(sv);
		for (size_t i = 0; sv->counted_active && i < sv->ndeps; i++)
			if (sv->deps[i] != NULL)
				sv->deps[i]->holders++;
	}
	for (struct service *sv = s->services; sv != NULL; sv = sv->next)
		if (sv->stop_pending && sv->holders == 0)
			queue(s, sv);
}

/* The path stk[j..top) back to stk[j] (== d) is a cycle: each member gets its text,
 * told from the smallest name so that one cycle always reads the same. 1 when it is new. */
static int
mark_cycle(struct sup *s, struct service **stk, size_t top, const struct service *d, unsigned gen)
{
	char text[STATUS_REASON_MAX];
	size_t j = top - 1, m, len, n;
	int fresh = 0;

	/* d is on the path (the caller found it there): NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
	while (j > 0 && stk[j] != d)
		j--;
	n = top - j;
	m = j;
	for (size_t i = j; i < top; i++)
		if (strcmp(stk[i]->st.name, stk[m]->st.name) < 0)
			m = i;
	len = (size_t)snprintf(text, sizeof text, "dependency cycle: ");
	for (size_t k = 0; k <= n && len < sizeof text; k++) {
		const struct service *x = stk[j + (m - j + k) % n];
		len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", k ? " -> " : "", x->st.name);
	}
	if (len >= sizeof text)
		memcpy(text + sizeof text - 4, "...", 4);
	for (size_t i = j; i < top; i++) {
		struct service *x = stk[i];
		if (x->cycle_gen == gen)
			continue; /* on another cycle found first */
		x->cycle_gen = gen;
		if (strcmp(x->cycle, text) != 0) {
			memcpy(x->cycle, text, sizeof text);
			fresh = 1;
			queue(s, x);
		}
	}
	if (fresh)
		log_warnx("%s: none of these is started", text);
	return fresh;
}

/* A service on a cycle that the walk did not go round: one whose cycle meets another,
 * found first, through a service the walk had already finished (a -> d -> c -> a, where
 * a -> b -> c -> a came first). Only services that lead into a cycle found can be on
 * such a one: they are found by a walk up the dependents of those, then each is searched
 * from, along its dependencies, for a way back to itself. A graph without cycles costs
 * nothing here. */
static int
more_cycles(struct sup *s, struct service **q, struct service **stk, unsigned gen)
{
	size_t head = 0, tail = 0;
	unsigned up = ++s->deps_mark;
	int changed = 0;

	for (struct service *sv = s->services; sv != NULL; sv = sv->next)
		if (sv->cycle_gen == gen) {
			sv->mark = up;
			q[tail++] = sv;
		}
	while (head < tail) {
		struct service *n = q[head++];
		for (size_t k = 0; k < n->ndependents; k++)
			if (n->dependents[k]->mark != up) {
				n->dependents[k]->mark = up;
				q[tail++] = n->dependents[k];
			}
	}
	for (size_t c = 0, ncand = tail; c < ncand; c++) {
		struct service *x = q[c], *y = NULL;
		size_t top = 0;
		unsigned m;
		if (x->cycle_gen == gen)
			continue;
		/* q[0..ncand) holds the candidates: the search queues after them */
		m = ++s->deps_mark;
		head = tail = ncand;
		q[tail++] = x;
		while (head < tail && y == NULL) {
			struct service *n = q[head++];
			for (size_t i = 0; i < n->ndeps && y == NULL; i++) {
				struct service *d = n->deps[i];
				if (d == x) {
					y = n;
				} else if (d != NULL && d->mark != m) {
					d->mark = m;
					d->dfs_via = n;
					q[tail++] = d;
				}
			}
		}
		if (y == NULL)
			continue;
		for (struct service *n = y; n != x; n = n->dfs_via)
			stk[top++] = n;
		stk[top++] = x;
		for (size_t i = 0; i < top / 2; i++) { /* x first, then its way round */
			struct service *t = stk[i];
			stk[i] = stk[top - 1 - i];
			stk[top - 1 - i] = t;
		}
		changed |= mark_cycle(s, stk, top, x, gen);
	}
	return changed;
}

void
deps_check_cycles(struct sup *s)
{
	struct service **stk = walk_alloc(s);
	unsigned gen = ++s->deps_cycle_gen;
	int changed = 0;
	size_t top = 0;

	if (stk == NULL)
		return;
	for (struct service *sv = s->services; sv != NULL; sv = sv->next)
		sv->color = 0;
	for (struct service *root = s->services; root != NULL; root = root->next) {
		if (root->color != 0 || root->ndeps == 0)
			continue;
		root->color = 1;
		root->dfs_i = 0;
		stk[top++] = root;
		while (top > 0) {
			struct service *x = stk[top - 1], *d;
			if (x->dfs_i == x->ndeps) {
				x->color = 2;
				top--;
				continue;
			}
			d = x->deps[x->dfs_i++];
			if (d == NULL || d->color == 2)
				continue; /* done: a diamond meets it again, no cycle */
			if (d->color == 1) {
				changed |= mark_cycle(s, stk, top, d, gen);
				continue;
			}
			d->color = 1;
			d->dfs_i = 0;
			stk[top++] = d;
		}
	}
	{
		struct service **q = malloc((2 * s->nservices + 2) * sizeof *q); /* NOLINT(bugprone-sizeof-expression) */
		if (q != NULL)
			changed |= more_cycles(s, q, stk, gen);
		else
			log_warnx("out of memory walking the dependency graph");
		free(q);
	}
	free(stk);
	for (struct service *sv = s->services; sv != NULL; sv = sv->next)
		if (sv->cycle[0] != '\0' && sv->cycle_gen != gen) {
			log_info("%s: no longer on a dependency cycle", sv->st.name);
			sv->cycle[0] = '\0';
			changed = 1;
			queue(s, sv);
		}
	if (changed)
		recount_holders(s);
	drain(s);
}

void
deps_scan(struct sup *s)
{
	for (struct service *sv = s->services; sv != NULL; sv = sv->next)
		(void)deps_load(s, sv);
	deps_check_cycles(s);
	for (struct service *sv = s->services; sv != NULL; sv = sv->next)
		if (sv->st.state == SV_WAITING)
			queue(s, sv); /* a dependency may have come, or gone */
	drain(s);
}

/* --- wanting up, stopping --- */

/* From the services on stk[0..top) (marked), down their dependencies: those wanted down
 * (and one-shots that failed: tried again) are wanted up. Dependencies wanted up already
 * pulled theirs, but for a waiting one, which may wait for a failed one-shot below. */
static void
pull(struct sup *s, struct service **stk, size_t top)
{
	struct service **want = walk_alloc(s);
	size_t n = 0;

	if (want == NULL)
		return;
	while (top > 0) {
		struct service *x = stk[--top];
		for (size_t i = 0; i < x->ndeps; i++) {
			struct service *d = x->deps[i];
			int need;
			if (d == NULL || d->mark == s->deps_mark || d->removed)
				continue;
			d->mark = s->deps_mark;
			need = d->st.want == WANT_DOWN || (d->oneshot && d->st.state == SV_FAILED);
			if (need)
				want[n++] = d;
			if (need || d->st.state == SV_WAITING)
				stk[top++] = d;
		}
	}
	s->deps_pulling = 1; /* this walk covered what they depend on */
	for (size_t i = 0; i < n; i++)
		if (!want[i]->gone) {
			log_info("%s: wanted up: a service wanted up depends on it", want[i]->st.name);
			service_want(s, want[i], WANT_UP, 0);
		}
	s->deps_pulling = 0;
	free(want);
}

void
deps_pull(struct sup *s, struct service *sv)
{
	struct service **stk;

	if (s->deps_pulling || s->deps_in_scan || sv->ndeps == 0 || (stk = walk_alloc(s)) == NULL)
		return;
	sv->mark = ++s->deps_mark;
	stk[0] = sv;
	pull(s, stk, 1);
	free(stk);
}

/* After a scan: what the services wanted up depend on, in one walk. */
void
deps_pull_all(struct sup *s)
{
	struct service **stk = walk_alloc(s);
	size_t top = 0;

	if (stk == NULL)
		return;
	++s->deps_mark;
	for (struct service *sv = s->services; sv != NULL; sv = sv->next)
		if (sv->st.want != WANT_DOWN && sv->ndeps > 0 && !sv->removed) {
			sv->mark = s->deps_mark;
			stk[top++] = sv;
		}
	pull(s, stk, top);
	free(stk);
}

void
deps_stop_dependents(struct sup *s, struct service *sv, int restart,
		     void (*say)(void *ctx, const char *who, const char *via), void *ctx)
{
	struct service **stk = walk_alloc(s), **order = walk_alloc(s);
	size_t top = 0, n = 0;

	if (stk == NULL || order == NULL)
		goto out;
	/* depth first down the dependents; each is listed once all of its own are:
	 * dependents first */
	sv->mark = ++s->deps_mark;
	sv->dfs_i = 0;
	stk[top++] = sv;
	while (top > 0) {
		struct service *x = stk[top - 1], *d;
		if (x->dfs_i == x->ndependents) {
			top--;
			if (x != sv)
				order[n++] = x;
			continue;
		}
		d = x->dependents[x->dfs_i++];
		if (d->mark == s->deps_mark)
			continue;
		d->mark = s->deps_mark;
		d->dfs_i = 0;
		d->dfs_via = x;
		stk[top++] = d;
	}
	s->deps_pulling = 1; /* a restart of a dependent pulls nothing new */
	for (size_t i = 0; i < n; i++) {
		struct service *x = order[i];
		if (x->gone || (restart ? !is_active(x) || x->st.want == WANT_DOWN
				       : x->st.want == WANT_DOWN && !is_active(x)))
			continue;
		log_info("%s: %s: depends on %s", x->st.name, restart ? "restarting" : "stopping",
			 x->dfs_via->st.name);
		if (say != NULL)
			say(ctx, x->st.name, x->dfs_via->st.name);
		service_want(s, x, restart ? x->st.want : WANT_DOWN, restart);
	}
	s->deps_pulling = 0;
out:
	free(stk);
	free(order);
}

/* Its directory is gone and so is it: its dependents wait for "no such service". */
void
deps_forget(struct sup *s, struct service *sv)
{
	if (sv->counted_ready)
		for (size_t i = 0; i < sv->ndependents; i++)
			count_pending(sv->dependents[i], 1);
	sv->counted_ready = 0;
	for (size_t i = 0; i < sv->ndependents; i++) {
		struct service *d = sv->dependents[i];
		for (size_t k = 0; k < d->ndeps; k++)
			if (d->deps[k] == sv)
				d->deps[k] = NULL; /* counted as not ready, as a missing one is */
		if (d->st.state == SV_WAITING)
			queue(s, d);
	}
	free(sv->dependents);
	sv->dependents = NULL;
	sv->ndependents = sv->dependents_cap = 0;
	for (size_t i = 0; i < sv->ndeps; i++)
		unlink_edge(s, sv, i);
	sv->counted_active = 0;
	free(sv->deps);
	free(sv->dep_names);
	sv->deps = NULL;
	sv->dep_names = NULL;
	sv->ndeps = 0;
	sv->stop_pending = 0;
	sv->gone = 1;
	drain(s);
}
