/* lib/clock.h: time. Deadlines and durations use CLOCK_MONOTONIC milliseconds, so a
 * clock jump never shortens or stretches a delay; wall time only for what users read. */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>

#define CLOCK_NEVER INT64_MAX /* a deadline that is not armed */

int64_t clock_ms(void);        /* monotonic milliseconds */
int64_t clock_wall_sec(void);  /* epoch seconds */
int64_t clock_wall_ms(void);   /* epoch milliseconds */
int64_t clock_wall_us(void);   /* epoch microseconds (the -o json stamps) */
/* poll(2) timeout for a deadline: -1 when never, 0 when past. */
int clock_poll_timeout(int64_t deadline_ms, int64_t now_ms);

#endif
