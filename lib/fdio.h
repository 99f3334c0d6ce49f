/* lib/fdio.h: descriptor I/O that carries the EINTR and short-count care, so call sites
 * stay short. Every function returns what its syscall would, with errno preserved. */
#ifndef FDIO_H
#define FDIO_H

#include <dirent.h>
#include <stddef.h>
#include <sys/types.h>

ssize_t fd_read(int fd, void *buf, size_t len);          /* read(2), retrying EINTR */
size_t fd_write_all(int fd, const void *buf, size_t len); /* len, or less with errno set */
int fd_close(int fd);                                      /* close(2), errno preserved */
int fd_set_nonblock(int fd, int on);
int fd_set_cloexec(int fd, int on);
int fd_open_devnull_stdio(void); /* opens /dev/null on any of 0, 1, 2 that is closed */
/* A directory stream on a copy of dirfd, which stays open and where it was; closedir()
 * it. NULL with errno set. */
DIR *fd_opendir(int dirfd);
/* Opens path (relative to dirfd) for reading only when it is a regular file: it is
 * looked at first without being opened (O_PATH), since opening a device or a FIFO can
 * have effects or block. The descriptor (O_NONBLOCK), or -1 with errno: EINVAL when it is
 * not a regular file, ELOOP when it is a symbolic link and nofollow is set. */
int fd_open_regular(int dirfd, const char *path, int nofollow);
/* Reads a whole small regular file (up to size-1 bytes) into buf, NUL-terminated (see
 * fd_open_regular). Returns the length, or -1 with errno set (EFBIG when it does not
 * fit). */
ssize_t fd_slurp(const char *path, char *buf, size_t size, int nofollow);

#endif
