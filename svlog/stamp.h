/* svlog/stamp.h: wall-clock time in microseconds, and the two ways svlog prints it (README
 * "svlog"): before a line with -t, and in the name of a rotated file. Always UTC. */
#ifndef STAMP_H
#define STAMP_H

#include <stdint.h>

#define STAMP_LINE_LEN 28 /* "2026-11-27T00:28:02.123456Z ", space included */
#define STAMP_NAME_LEN 26 /* "@20261127T002802.123456Z.s" */

int64_t stamp_now_us(void); /* CLOCK_REALTIME, microseconds since the epoch */
/* Writes the STAMP_LINE_LEN bytes of the -t prefix, without a NUL. */
void stamp_line(char *buf, int64_t us);
/* Writes a rotated file's name (STAMP_NAME_LEN bytes) and a NUL. */
void stamp_name(char *buf, int64_t us);
/* The time in a rotated file's name, or -1 when name is not exactly one. */
int64_t stamp_parse_name(const char *name);

#endif
