/* bench/deps-events.c: the cost of a readiness event against the number of dependents
 * and against the number of services, measured on the supervisor's own graph code
 * (supervise/deps.c, linked with the rest of the daemon but for main.c). A service
 * with D dependents (down: they only have edges) becomes ready and not ready again K
 * times; each change walks its dependents once. Then the same with 10 dependents among
 * many unrelated services: the cost must not move. Prints ns an event and a dependent.
 * Built and run by bench/deps-bringup (EVENTS=1): deps-events EMPTY-DIR. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sup.h"

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A graph of one root, ndeps dependents of it and nother services on their own. */
static struct service *
graph(struct sup *s, int ndeps, int nother)
{
	char name[32];
	struct service *root = service_new(s, "root", 0, NULL);

	for (int i = 0; i < ndeps + nother; i++) {
		struct service *sv;
		snprintf(name, sizeof name, "%s%d", i < ndeps ? "d" : "o", i);
		sv = service_new(s, name, 0, NULL);
		if (sv == NULL)
			exit(1);
		if (i >= ndeps)
			continue;
		sv->deps = calloc(1, sizeof *sv->deps);
		sv->dep_names = calloc(1, sizeof *sv->dep_names);
		strcpy(sv->dep_names[0], "root");
		sv->deps[0] = root;
		sv->ndeps = 1;
		sv->pending = 1;
		if (root->ndependents == root->dependents_cap) {
			root->dependents_cap = root->dependents_cap ? root->dependents_cap * 2 : 4;
			root->dependents = realloc(root->dependents,
						   root->dependents_cap * sizeof *root->dependents);
		}
		root->dependents[root->ndependents++] = sv;
	}
	return root;
}

static double
ns_per_event(struct sup *s, struct service *root, int k)
{
	int64_t t0 = now_ns();

	for (int i = 0; i < k; i++) {
		root->st.state = i % 2 == 0 ? SV_UP : SV_DOWN;
		root->st.ready = i % 2 == 0;
		deps_on_change(s, root);
	}
	return (double)(now_ns() - t0) / k;
}

static const char *dir; /* for the log directories service_new() makes */

static void
run(int ndeps, int nother, int k)
{
	struct sup s;
	struct service *root;
	double ns;

	memset(&s, 0, sizeof s);
	if ((s.svlog_dirfd = open(dir, O_RDONLY | O_DIRECTORY)) == -1) {
		perror(dir);
		exit(1);
	}
	root = graph(&s, ndeps, nother);
	ns = ns_per_event(&s, root, k);
	printf("  %6d dependents, %6d services: %8.0f ns an event", ndeps, ndeps + nother + 1, ns);
	if (ndeps > 0)
		printf(", %5.1f ns a dependent", ns / ndeps);
	printf("\n");
	for (int i = 0; i < ndeps; i++) /* every dependent saw every change */
		if (root->dependents[i]->pending != (size_t)(k % 2 == 0)) {
			printf("deps-events: wrong count at %d\n", i);
			exit(1);
		}
	close(s.svlog_dirfd); /* the graph is left to the exit */
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: deps-events EMPTY-DIR\n");
		return 2;
	}
	dir = argv[1];
	log_init("deps-events", 0);
	printf("readiness events (ready, then not ready, ...): cost against dependents\n");
	run(0, 0, 200000);
	run(100, 0, 200000);
	run(1000, 0, 20000);
	run(5000, 0, 4000);
	run(50000, 0, 400);
	printf("with 10 dependents, against the number of services\n");
	run(10, 100, 200000);
	run(10, 10000, 200000);
	run(10, 100000, 200000);
	return 0;
}
