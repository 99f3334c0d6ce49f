/* tests/clockjump.c: an LD_PRELOAD shim for the clock-jump test: CLOCK_REALTIME, as the
 * program under test reads it, is moved by the number of seconds written in the file
 * $CLOCKJUMP_FILE; every other clock is left alone. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);
	if (real == NULL)
		real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	int r = real(id, ts);
	const char *f = getenv("CLOCKJUMP_FILE");
	if (r == 0 && id == CLOCK_REALTIME && f != NULL) {
		FILE *fp = fopen(f, "r");
		long off = 0;
		if (fp != NULL) {
			if (fscanf(fp, "%ld", &off) != 1)
				off = 0;
			fclose(fp);
		}
		ts->tv_sec += off;
	}
	return r;
}
