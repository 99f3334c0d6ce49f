#define _GNU_SOURCE /* O_PATH */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"

ssize_t
fd_read(int fd, void *buf, size_t len)
{
	ssize_t r;

	do
		r = read(fd, buf, len);
	while (r == -1 && errno == EINTR);
	return r;
}

size_t
fd_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t w = write(fd, p + done, len - done);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			break;
		done += (size_t)w;
	}
	return done;
}

int
fd_close(int fd)
{
	int saved = errno;
	int r = close(fd);

	/* Linux closes the descriptor even when close() reports EINTR: never retry. */
	if (r == 0 || errno == EINTR) {
		errno = saved;
		return 0;
	}
	return -1;
}

static int
fd_flag(int fd, int get, int set, int flag, int on)
{
	int fl = fcntl(fd, get);

	if (fl == -1)
		return -1;
	fl = on ? fl | flag : fl & ~flag;
	return fcntl(fd, set, fl);
}

int
fd_set_nonblock(int fd, int on)
{
	return fd_flag(fd, F_GETFL, F_SETFL, O_NONBLOCK, on);
}

int
fd_set_cloexec(int fd, int on)
{
	return fd_flag(fd, F_GETFD, F_SETFD, FD_CLOEXEC, on);
}

int
fd_open_devnull_stdio(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		/* the lowest free descriptor is fd itself: that is the point */
		int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (n == -1)
			return -1;
		if (n != fd) {
			fd_close(n);
			errno = EBADF;
			return -1;
		}
	}
	return 0;
}

int
fd_open_regular(int dirfd, const char *path, int nofollow)
{
	char self[64];
	struct stat st;
	int fd = openat(dirfd, path, O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0)), rd;

	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		fd_close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		fd_close(fd);
		errno = S_ISLNK(st.st_mode) ? ELOOP : EINVAL;
		return -1;
	}
	/* the very file looked at, opened for reading through its O_PATH descriptor */
	snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
	rd = open(self, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	fd_close(fd);
	return rd;
}

ssize_t
fd_slurp(const char *path, char *buf, size_t size, int nofollow)
{
	int fd = fd_open_regular(AT_FDCWD, path, nofollow);
	size_t len = 0;

	if (fd == -1)
		return -1;
	while (len + 1 < size) {
		ssize_t r = fd_read(fd, buf + len, size - 1 - len);
		if (r == -1) {
			fd_close(fd);
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len + 1 >= size) {
		char c;
		if (fd_read(fd, &c, 1) == 1) {
			fd_close(fd);
			errno = EFBIG;
			return -1;
		}
	}
	fd_close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

DIR *
fd_opendir(int dirfd)
{
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = fd == -1 ? NULL : fdopendir(fd);

	if (d == NULL && fd != -1)
		fd_close(fd);
	return d;
}
