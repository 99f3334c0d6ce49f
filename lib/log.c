#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fdio.h"
#include "linebuf.h"
#include "log.h"

static const char *log_prog = "?";
static int log_stamps;
static int log_as_json;

void
log_json(int on)
{
	log_as_json = on;
}

/* The line as a JSON object, written whole: the text is at most the 1024 bytes of a line,
 * and each byte becomes at most 6 in JSON. */
static void
emit_json(const char *text, size_t len)
{
	char out[LINEBUF_OUT_SIZE(16, 1024)];
	size_t n;

	if (strlen(log_prog) > 16)
		return;
	n = linebuf_format(out, sizeof out, LINEBUF_JSON, log_prog, clock_wall_us(), text, len);
	if (n > 0)
		(void)fd_write_all(STDERR_FILENO, out, n); /* nowhere left to report a failure */
}

void
log_init(const char *prog, int timestamps)
{
	log_prog = prog;
	log_stamps = timestamps;
}

/* One write(2) a line, so lines of concurrent writers to one file never mix. */
static void
log_emit(const char *level, int err, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n = 0;

	if (log_as_json) {
		n = (size_t)snprintf(line, sizeof line, "%s", level);
		if (n < sizeof line) {
			int w = vsnprintf(line + n, sizeof line - n, fmt, ap);
			n = w < 0 ? n : n + (size_t)w;
		}
		if (err && n < sizeof line)
			n += (size_t)snprintf(line + n, sizeof line - n, ": %s", strerror(err));
		emit_json(line, n < sizeof line ? n : sizeof line - 1);
		return;
	}
	if (log_stamps) {
		int64_t ms = clock_wall_ms();
		time_t t = (time_t)(ms / 1000);
		struct tm tm;
		if (gmtime_r(&t, &tm) != NULL)
			n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
		n += (size_t)snprintf(line + n, sizeof line - n, ".%03dZ ", (int)(ms % 1000));
	}
	n += (size_t)snprintf(line + n, sizeof line - n, "%s: %s", log_prog, level);
	if (n < sizeof line) {
		int w = vsnprintf(line + n, sizeof line - n, fmt, ap);
		n = w < 0 ? n : n + (size_t)w;
	}
	if (err && n < sizeof line)
		n += (size_t)snprintf(line + n, sizeof line - n, ": %s", strerror(err));
	if (n >= sizeof line - 1) {
		n = sizeof line - 2;
		line[n - 3] = line[n - 2] = line[n - 1] = '.';
	}
	line[n++] = '\n';
	(void)fd_write_all(STDERR_FILENO, line, n); /* nowhere left to report a failure */
}

#define LOG_BODY(level, err)              \
	do {                              \
		va_list ap;               \
		va_start(ap, fmt);        \
		log_emit(level, err, fmt, ap); \
		va_end(ap);               \
	} while (0)

void
log_info(const char *fmt, ...)
{
	LOG_BODY("", 0);
}

void
log_warn(const char *fmt, ...)
{
	int err = errno;

	LOG_BODY("warning: ", err);
	errno = err;
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY("warning: ", 0);
}

void
log_fatal(const char *fmt, ...)
{
	int err = errno;

	LOG_BODY("", err);
	exit(1);
}

void
log_fatalx(const char *fmt, ...)
{
	LOG_BODY("", 0);
	exit(1);
}
