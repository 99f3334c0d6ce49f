/* lib/svname.h: what a service name may be (the README's "Service names"). */
#ifndef SVNAME_H
#define SVNAME_H

#include <stddef.h>

#define SVNAME_MAX 64 /* bytes, without the NUL */

/* 1 when s[0..len) is a valid service name: 1-64 bytes of [A-Za-z0-9._@-], not starting
 * with '.' (so never "." or ".."). */
int svname_valid(const char *s, size_t len);

#endif
