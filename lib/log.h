/* lib/log.h: the programs' messages. Every line is "PROG: [warning: ]text", prefixed by
 * a UTC timestamp when log_timestamps is on (the supervisor's log). */
#ifndef LOG_H
#define LOG_H

void log_init(const char *prog, int timestamps);
/* On: each line is one JSON object {"time":...,"service":PROG,"line":"[warning: ]text"}
 * (lib/linebuf.h's format), for supervise -o json. */
void log_json(int on);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));    /* + strerror(errno) */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));  /* + errno, exit 1 */
void log_fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn)); /* exit 1 */

#endif
