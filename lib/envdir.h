/* lib/envdir.h: a service's env/ directory, daemontools envdir semantics: file NAME sets
 * NAME to the file's first line, trailing blanks removed and NUL bytes turned into
 * newlines; an empty file unsets NAME. */
#ifndef ENVDIR_H
#define ENVDIR_H

#include <stddef.h>

#define ENVDIR_FILE_MAX 65536 /* bytes read of each file */

/* The value a file's contents give: a malloc'ed string, or NULL with *unset set when the
 * file is empty (NULL with *unset clear: out of memory). */
char *envdir_value(const char *buf, size_t len, int *unset);
/* A new environment: base with the directory's settings applied (dir NULL: none), then
 * extra ("NAME=VALUE", or NULL), malloc'ed as one block (free() it). NULL with why filled
 * (the file and the cause) on failure. */
char **envdir_apply(char *const *base, const char *dir, const char *extra, char *why,
		    size_t why_size);

#endif
