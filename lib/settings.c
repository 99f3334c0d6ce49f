#include <string.h>

#include "settings.h"
#include "sig.h"

/* The first line, without leading and trailing blanks: [*s, *s + return). */
static size_t
first_line(const char **s)
{
	const char *p = *s, *end;

	while (*p == ' ' || *p == '\t')
		p++;
	end = p;
	while (*end != '\0' && *end != '\n')
		end++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*s = p;
	return (size_t)(end - p);
}

static int
parse_uint(const char *text, int64_t max, int64_t *out, const char **why)
{
	size_t len = first_line(&text);
	int64_t v = 0;

	if (len == 0) {
		*why = "empty";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9') {
			*why = "not a whole number";
			return -1;
		}
		v = v * 10 + (text[i] - '0');
		if (v > max) {
			*why = "too large";
			return -1;
		}
	}
	*out = v;
	return 0;
}

int
settings_signal(const char *text, int *sig, const char **why)
{
	size_t len = first_line(&text);
	int s = sig_parse(text, len);

	if (s < 0) {
		*why = len == 0 ? "empty" : "unknown signal";
		return -1;
	}
	*sig = s;
	return 0;
}

int
settings_ms(const char *text, int64_t *ms, const char **why)
{
	return parse_uint(text, INT32_MAX, ms, why);
}

int
settings_fd(const char *text, int *fd, const char **why)
{
	int64_t v;

	if (parse_uint(text, 1023, &v, why) == -1)
		return -1;
	if (v < 3) {
		*why = "must be 3 or more (0-2 are stdio)";
		return -1;
	}
	*fd = (int)v;
	return 0;
}
