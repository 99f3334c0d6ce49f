/* fuzz/status.c: lib/status.c's status_parse on arbitrary text (NUL-terminated, as
 * status_read hands it over). When it parses, status_format then status_parse again must
 * succeed with the same fields: what the supervisor writes it can read back when it takes
 * over running services. status_describe and status_json run on the result too, and all
 * three must fit in STATUS_TEXT_MAX as status.h promises. Build and run: make fuzz. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
same_status(const struct sv_status *a, const struct sv_status *b)
{
	if (strcmp(a->name, b->name) != 0 || a->state != b->state || a->pid != b->pid ||
	    a->pgid != b->pgid || a->starttime != b->starttime || a->since_sec != b->since_sec ||
	    a->want != b->want || a->normally_up != b->normally_up || a->ready != b->ready ||
	    a->restarts != b->restarts || a->next_sec != b->next_sec ||
	    strcmp(a->reason, b->reason) != 0 || strcmp(a->warning, b->warning) != 0 ||
	    strcmp(a->text, b->text) != 0 || a->ndeaths != b->ndeaths)
		abort();
	for (int i = 0; i < a->ndeaths; i++) {
		const struct sv_death *x = &a->deaths[i], *y = &b->deaths[i];
		if (x->when_sec != y->when_sec || x->code != y->code || x->sig != y->sig ||
		    x->ran_ms != y->ran_ms)
			abort();
	}
}

/* n bytes of text written into a buffer of STATUS_TEXT_MAX: it must not have been cut */
static void
fits(size_t n, const char *buf)
{
	if (n >= STATUS_TEXT_MAX - 1 || strlen(buf) != n)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[STATUS_TEXT_MAX], out[STATUS_TEXT_MAX];
	struct sv_status st, again;
	const char *why = NULL;
	char *buf;
	size_t n;

	if (size > STATUS_TEXT_MAX) /* status_read reads no more */
		return 0;
	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (status_parse(buf, &st, &why) == -1) {
		if (why == NULL)
			abort();
		free(buf);
		return 0;
	}
	free(buf);
	n = status_format(text, sizeof text, &st);
	fits(n, text);
	why = NULL;
	if (status_parse(text, &again, &why) == -1)
		abort();
	same_status(&st, &again);
	fits(status_describe(out, sizeof out, &st, st.since_sec + 5), out);
	fits(status_describe(out, sizeof out, &st, 0), out);
	fits(status_json(out, sizeof out, &st), out);
	return 0;
}
