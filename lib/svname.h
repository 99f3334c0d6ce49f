/* lib/svname.h: what a service name may be (the README's "Services"). A service is
 * named by its directory; its logger (the log/ subdirectory) by NAME/log, and its status
 * file by NAME:log, since ':' is never part of a name. */
#ifndef SVNAME_H
#define SVNAME_H

#include <stddef.h>

#define SVNAME_MAX 64                  /* bytes of a directory name, without the NUL */
#define SVREF_MAX (SVNAME_MAX + 4)     /* NAME or NAME/log */
#define SVNAME_LOG "/log"

/* 1 when s[0..len) is a valid service name: 1-64 bytes of [A-Za-z0-9._@-], not starting
 * with '.' (so never "." or ".."). */
int svname_valid(const char *s, size_t len);
/* 1 when s[0..len) is a valid name, or one followed by "/log". */
int svname_ref_valid(const char *s, size_t len);
/* The file name for a reference ("web/log" -> "web:log") and back; out has
 * SVREF_MAX + 1 bytes. */
void svname_to_file(const char *ref, char *out);
void svname_from_file(const char *file, char *out);

#endif
