/* lib/theap.h: deadlines in a binary min-heap, so that the next one is found in O(1) and
 * one is armed, moved or disarmed in O(log n), however many there are. A node lives in
 * whatever it times (a service, a client waiting); the heap only points at it. */
#ifndef THEAP_H
#define THEAP_H

#include <stddef.h>
#include <stdint.h>

struct theap_node {
	int64_t at;   /* monotonic ms; CLOCK_NEVER (INT64_MAX) when not armed */
	size_t idx;   /* 1 + its place in the heap; 0 when not in it */
};

struct theap {
	struct theap_node **v;
	size_t n, cap;
};

void theap_node_init(struct theap_node *t);
/* Room for n nodes at least, so that theap_set() cannot fail for them. 0, or -1 (ENOMEM). */
int theap_reserve(struct theap *h, size_t n);
/* Arms t at `at` (moving it if armed), or disarms it when at is INT64_MAX. 0, or -1 with
 * errno ENOMEM when it had to grow and could not (t is then left disarmed). */
int theap_set(struct theap *h, struct theap_node *t, int64_t at);
/* The earliest deadline, INT64_MAX when none. */
int64_t theap_next(const struct theap *h);
/* Removes and returns the earliest node due at or before now (disarmed), or NULL. */
struct theap_node *theap_pop_due(struct theap *h, int64_t now);
void theap_free(struct theap *h);

#endif
