/* lib/atomicfile.h: replace a file so that readers see the old or the new contents, never
 * a mix: write NAME.tmp beside it, check the write and the close, rename over NAME. No
 * fsync: these are runtime files, rebuilt by the supervisor, and a sync on every state
 * change would cost more than it protects. */
#ifndef ATOMICFILE_H
#define ATOMICFILE_H

#include <stddef.h>

/* 0, or -1 with errno set; on failure the old file is untouched and the temp removed. */
int atomicfile_write(int dirfd, const char *name, const void *data, size_t len, int mode);

#endif
