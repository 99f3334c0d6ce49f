#define _GNU_SOURCE /* syscall(), for the pidfd calls glibc 2.36 does not wrap everywhere */
#include <errno.h>
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

int
proc_children(pid_t *out, int max)
{
	char path[64], buf[65536];
	const char *p = buf;
	int n = 0;

	snprintf(path, sizeof path, "/proc/self/task/%ld/children", (long)getpid());
	if (fd_slurp(path, buf, sizeof buf, 0) < 0)
		return -1;
	while (n < max && *p != '\0') {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		out[n++] = (pid_t)v;
		p = end;
	}
	return n;
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
