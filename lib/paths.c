#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "paths.h"

int
path_join(char *buf, size_t size, const char *a, const char *b, const char *c)
{
	int n = c != NULL ? snprintf(buf, size, "%s/%s/%s", a, b, c)
			  : snprintf(buf, size, "%s/%s", a, b);

	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int
copy(char *dst, size_t size, const char *src)
{
	if (snprintf(dst, size, "%s", src) >= (int)size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
paths_resolve(struct paths *p, const char *opt_svdir, const char *opt_rundir)
{
	const char *sv = opt_svdir, *run = opt_rundir;

	if (sv == NULL || *sv == '\0')
		sv = getenv("SVDIR");
	if (sv == NULL || *sv == '\0')
		sv = "./services";
	if (run == NULL || *run == '\0')
		run = getenv("SVRUN");
	if (copy(p->svdir, sizeof p->svdir, sv) == -1)
		return -1;
	if (run != NULL && *run != '\0')
		return copy(p->rundir, sizeof p->rundir, run);
	return path_join(p->rundir, sizeof p->rundir, p->svdir, ".supervise", NULL);
}
