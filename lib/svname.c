#include <string.h>

#include "svname.h"

int
svname_valid(const char *s, size_t len)
{
	if (len == 0 || len > SVNAME_MAX || s[0] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '@' || c == '-'))
			return 0;
	}
	return 1;
}

int
svname_ref_valid(const char *s, size_t len)
{
	size_t l = sizeof SVNAME_LOG - 1;

	if (len > l && memcmp(s + len - l, SVNAME_LOG, l) == 0)
		return svname_valid(s, len - l);
	return svname_valid(s, len);
}

static void
swap_char(const char *in, char *out, char from, char to)
{
	size_t i;

	for (i = 0; i < SVREF_MAX && in[i] != '\0'; i++)
		out[i] = in[i] == from ? to : in[i];
	out[i] = '\0';
}

void
svname_to_file(const char *ref, char *out)
{
	swap_char(ref, out, '/', ':');
}

void
svname_from_file(const char *file, char *out)
{
	swap_char(file, out, ':', '/');
}
