#include <errno.h>
#include <stdlib.h>

#include "theap.h"

#define NEVER INT64_MAX

void
theap_node_init(struct theap_node *t)
{
	t->at = NEVER;
	t->idx = 0;
}

int
theap_reserve(struct theap *h, size_t n)
{
	struct theap_node **v;
	size_t cap = h->cap ? h->cap : 64;

	if (n <= h->cap)
		return 0;
	while (cap < n)
		cap *= 2;
	/* an array of pointers: NOLINTNEXTLINE(bugprone-sizeof-expression) */
	v = realloc(h->v, cap * sizeof *v);
	if (v == NULL) {
		errno = ENOMEM;
		return -1;
	}
	h->v = v;
	h->cap = cap;
	return 0;
}

static void
place(struct theap *h, size_t i, struct theap_node *t)
{
	h->v[i] = t;
	t->idx = i + 1;
}

static void
sift_up(struct theap *h, size_t i)
{
	struct theap_node *t = h->v[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (h->v[parent]->at <= t->at)
			break;
		place(h, i, h->v[parent]);
		i = parent;
	}
	place(h, i, t);
}

static void
sift_down(struct theap *h, size_t i)
{
	struct theap_node *t = h->v[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1]->at < h->v[c]->at)
			c++;
		if (t->at <= h->v[c]->at)
			break;
		place(h, i, h->v[c]);
		i = c;
	}
	place(h, i, t);
}

static void
remove_at(struct theap *h, size_t i)
{
	struct theap_node *t = h->v[i], *last = h->v[--h->n];

	t->idx = 0;
	t->at = NEVER;
	if (i == h->n)
		return;
	place(h, i, last);
	sift_down(h, i);
	sift_up(h, last->idx - 1);
}

int
theap_set(struct theap *h, struct theap_node *t, int64_t at)
{
	if (at == NEVER) {
		if (t->idx != 0)
			remove_at(h, t->idx - 1);
		t->at = NEVER;
		return 0;
	}
	if (t->idx != 0) {
		size_t i = t->idx - 1;
		int64_t was = t->at;
		t->at = at;
		if (at < was)
			sift_up(h, i);
		else
			sift_down(h, i);
		return 0;
	}
	if (h->n == h->cap && theap_reserve(h, h->n + 1) == -1) {
		t->at = NEVER;
		return -1;
	}
	t->at = at;
	place(h, h->n++, t);
	sift_up(h, h->n - 1);
	return 0;
}

int64_t
theap_next(const struct theap *h)
{
	return h->n > 0 ? h->v[0]->at : NEVER;
}

struct theap_node *
theap_pop_due(struct theap *h, int64_t now)
{
	struct theap_node *t;

	if (h->n == 0 || h->v[0]->at > now)
		return NULL;
	t = h->v[0];
	remove_at(h, 0);
	return t;
}

void
theap_free(struct theap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}
