#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "atomicfile.h"
#include "fdio.h"

int
atomicfile_write(int dirfd, const char *name, const void *data, size_t len, int mode)
{
	char tmp[512];
	int fd, saved;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", name) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* O_NOFOLLOW: a symlink planted at the temp name is refused, never written through */
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd == -1)
		return -1;
	if (fd_write_all(fd, data, len) != len) {
		if (errno == 0)
			errno = EIO;
		goto fail;
	}
	if (close(fd) == -1 && errno != EINTR) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) == -1)
		goto fail;
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		(void)close(fd);
	(void)unlinkat(dirfd, tmp, 0); /* best effort; the error to report is the first one */
	errno = saved;
	return -1;
}
