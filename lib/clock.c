#include <time.h>

#include "clock.h"

static int64_t
ms_of(clockid_t id)
{
	struct timespec ts;

	/* clock_gettime cannot fail for these clocks with a valid pointer */
	(void)clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_ms(void)
{
	return ms_of(CLOCK_MONOTONIC);
}

int64_t
clock_wall_ms(void)
{
	return ms_of(CLOCK_REALTIME);
}

int64_t
clock_wall_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts); /* cannot fail: see ms_of() */
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
clock_wall_sec(void)
{
	return ms_of(CLOCK_REALTIME) / 1000;
}

int
clock_poll_timeout(int64_t deadline_ms, int64_t now_ms)
{
	if (deadline_ms == CLOCK_NEVER)
		return -1;
	if (deadline_ms <= now_ms)
		return 0;
	if (deadline_ms - now_ms > (int64_t)24 * 3600 * 1000)
		return 24 * 3600 * 1000;
	return (int)(deadline_ms - now_ms);
}
