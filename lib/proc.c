#define _GNU_SOURCE /* syscall(), for the pidfd calls glibc 2.36 does not wrap everywhere */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fdio.h"
#include "proc.h"

/* The fields after the command name, which may hold spaces and parentheses: field 3 on. */
static const char *
stat_fields(pid_t pid, char *buf, size_t size)
{
	char path[64];
	const char *p;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if (fd_slurp(path, buf, size, 0) < 0)
		return NULL;
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' ? p + 2 : NULL;
}

/* Field n (n >= 3) as a number; -1 when missing. */
static long long
stat_field(pid_t pid, int n)
{
	char buf[1024];
	const char *p = stat_fields(pid, buf, sizeof buf);

	for (int f = 3; p != NULL && f < n; f++) {
		p = strchr(p, ' ');
		if (p != NULL)
			p++;
	}
	return p != NULL ? strtoll(p, NULL, 10) : -1;
}

unsigned long long
proc_starttime(pid_t pid)
{
	long long v = stat_field(pid, 22);

	return v > 0 ? (unsigned long long)v : 0;
}

pid_t
proc_parent(pid_t pid)
{
	return (pid_t)stat_field(pid, 4);
}

pid_t
proc_session(pid_t pid)
{
	return (pid_t)stat_field(pid, 6);
}

pid_t *
proc_children_all(size_t *n)
{
	char path[64], *buf = NULL;
	size_t len = 0, cap = 0, count = 0;
	pid_t *out;
	const char *p;
	int fd;

	snprintf(path, sizeof path, "/proc/self/task/%ld/children", (long)getpid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return NULL;
	for (;;) {
		ssize_t r;
		if (cap - len < 4096) {
			char *b = realloc(buf, cap = cap ? cap * 2 : 65536);
			if (b == NULL) {
				free(buf);
				fd_close(fd);
				errno = ENOMEM;
				return NULL;
			}
			buf = b;
		}
		r = fd_read(fd, buf + len, cap - len - 1);
		if (r <= 0) {
			if (r == -1) {
				free(buf);
				fd_close(fd);
				return NULL;
			}
			break;
		}
		len += (size_t)r;
	}
	fd_close(fd);
	buf[len] = '\0';
	for (p = buf; *p != '\0'; p++)
		count += *p == ' ';
	out = malloc((count + 1) * sizeof *out);
	if (out == NULL) {
		free(buf);
		errno = ENOMEM;
		return NULL;
	}
	*n = 0;
	for (p = buf; *p != '\0' && *n <= count;) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		out[(*n)++] = (pid_t)v;
		p = end;
	}
	free(buf);
	return out;
}

int
proc_uids(pid_t pid, uid_t *ruid, uid_t *euid)
{
	char path[64], buf[4096];
	const char *p;
	unsigned long r, e;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if (fd_slurp(path, buf, sizeof buf, 0) < 0)
		return -1;
	p = strstr(buf, "\nUid:");
	/* NOLINTNEXTLINE(cert-err34-c): the kernel's format */
	if (p == NULL || sscanf(p + 5, "%lu %lu", &r, &e) != 2)
		return -1;
	*ruid = (uid_t)r;
	*euid = (uid_t)e;
	return 0;
}

int
proc_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

int
proc_signal(int pidfd, pid_t pid, int sig)
{
#ifdef SYS_pidfd_send_signal
	if (pidfd != -1)
		return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
#else
	(void)pidfd;
#endif
	return kill(pid, sig);
}
