/* stamp: the benchmark's service. The first thing it does is read CLOCK_REALTIME; it
 * appends "NS PID\n" (its start time in ns, its pid) with one write() to
 * $STAMP_DIR/NAME, NAME being the last component of its working directory (the service
 * directory: every supervisor runs a service there), or to ./stamps without STAMP_DIR.
 * With STAMP_NOTIFY_FD=N it then writes a newline on descriptor N (s6's readiness
 * notification, for an s6 tree with notification-fd). Then it waits for SIGTERM (or
 * SIGINT) and exits 0. Built static, so that its exec
 * costs no dynamic loading: what is measured is the supervisor, not ld.so.
 * Arguments are ignored: s6-supervise, for one, passes the service's name. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
main(void)
{
	struct timespec ts;
	char cwd[4096], path[8192], line[64];
	const char *dir, *name;
	sigset_t set;
	int fd, len, sig;

	clock_gettime(CLOCK_REALTIME, &ts);
	/* TERM and INT are waited for below; blocked first so that an early one is kept */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);

	if ((dir = getenv("STAMP_DIR")) != NULL && *dir != '\0') {
		if (getcwd(cwd, sizeof cwd) == NULL)
			return 111;
		name = strrchr(cwd, '/');
		name = name != NULL && name[1] != '\0' ? name + 1 : cwd;
		snprintf(path, sizeof path, "%s/%s", dir, name);
	} else {
		snprintf(path, sizeof path, "stamps");
	}
	len = snprintf(line, sizeof line, "%lld %ld\n",
		       (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, (long)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd == -1 || write(fd, line, (size_t)len) != len)
		return 111;
	close(fd);
	/* s6 readiness, for the s6 tree that declares notification-fd: a newline on it */
	if ((dir = getenv("STAMP_NOTIFY_FD")) != NULL) {
		int nfd = atoi(dir);
		if (nfd > 2 && write(nfd, "\n", 1) == 1)
			close(nfd);
	}

	for (;;)
		if (sigwait(&set, &sig) == 0)
			return 0;
}
