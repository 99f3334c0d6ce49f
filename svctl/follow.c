#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"
#include "follow.h"
#include "log.h"

/* Copies fd from its offset to its end onto stdout; -1 when stdout is gone. */
static int
drain(int fd)
{
	char buf[65536];
	ssize_t n;

	while ((n = fd_read(fd, buf, sizeof buf)) > 0)
		if (fd_write_all(1, buf, (size_t)n) != (size_t)n)
			return -1;
	if (n == -1)
		log_warn("read");
	return 0;
}

static int
watch(int ino, const char *path, char *dir)
{
	char *slash;

	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash != NULL)
		*slash = '\0';
	/* the directory: "current" replaced (rotation) or created; the file: appended */
	if (inotify_add_watch(ino, dir, IN_CREATE | IN_MOVED_TO) == -1 ||
	    inotify_add_watch(ino, path, IN_MODIFY) == -1)
		return -1;
	return 0;
}

int
follow_log(const char *path, const char *name, int follow)
{
	char dir[PATH_MAX], ev[4096] __attribute__((aligned(8)));
	int fd = open(path, O_RDONLY | O_CLOEXEC), ino;
	struct stat st, now;

	if (fd == -1) {
		log_warn("%s: no log at %s", name, path);
		return 1;
	}
	if (!follow) {
		int rc = drain(fd) == 0 ? 0 : 1;
		fd_close(fd);
		return rc;
	}
	ino = inotify_init1(IN_CLOEXEC);
	if (ino == -1 || watch(ino, path, dir) == -1) {
		log_warn("%s: unable to follow %s", name, path);
		return 1;
	}
	for (;;) {
		if (drain(fd) == -1)
			return 0; /* the reader went away: done */
		if (fstat(fd, &st) == 0 && lseek(fd, 0, SEEK_CUR) > st.st_size)
			(void)lseek(fd, 0, SEEK_SET); /* truncated: start over */
		if (stat(path, &now) == 0 && (now.st_ino != st.st_ino || now.st_dev != st.st_dev)) {
			int nfd = open(path, O_RDONLY | O_CLOEXEC);
			if (nfd != -1) { /* replaced: finish the old file, go on with the new */
				(void)drain(fd);
				fd_close(fd);
				fd = nfd;
				(void)inotify_add_watch(ino, path, IN_MODIFY);
				continue;
			}
		}
		if (fd_read(ino, ev, sizeof ev) == -1) {
			log_warn("inotify");
			return 1;
		}
	}
}
