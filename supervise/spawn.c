/* spawn.c: fork a service doubly detached. The supervisor forks an intermediate that
 * calls setsid() and forks the service, reports the service's pid, and exits: the service
 * runs in its own session and process group without being their leader, so it can never
 * acquire a controlling terminal, and as the child subreaper the supervisor becomes its
 * parent and learns of its death through SIGCHLD. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdio.h"
#include "sup.h"

/* The child side reports with one write of a fixed-size record: atomic on a pipe. */
static void __attribute__((noreturn))
child_fail(int fd, const char *stage)
{
	struct spawn_report r;

	memset(&r, 0, sizeof r);
	r.err = errno;
	snprintf(r.stage, sizeof r.stage, "%s", stage);
	(void)fd_write_all(fd, &r, sizeof r); /* nobody is left to tell if this fails */
	_exit(127);
}

static void
child_reset_signals(void)
{
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL); /* fails for KILL, STOP and unused numbers: fine */
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Every descriptor but 0-2 closes at exec, inherited ones included: the service gets
 * stdio and nothing else. */
static void
child_cloexec_all(void)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) == 0)
		return;
#endif
	long max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = 3; fd < max; fd++)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void
child_stdio(const struct spawn_req *req, int report)
{
	int fd = open(req->in_path, O_RDONLY);

	if (fd == -1 || dup2(fd, 0) == -1)
		child_fail(report, "stdin");
	if (fd != 0)
		(void)close(fd);
	fd = open(req->out_path, O_WRONLY | O_NOFOLLOW | req->out_flags, 0644);
	if (fd == -1 || dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
		child_fail(report, "open log");
	if (fd > 2)
		(void)close(fd);
}

static void __attribute__((noreturn))
child_exec(const struct spawn_req *req, int report)
{
	child_reset_signals();
	if (chdir(req->dir) == -1)
		child_fail(report, "chdir");
	if (req->cgroup_procs != NULL) { /* joined before anything of the service runs */
		int fd = open(req->cgroup_procs, O_WRONLY);
		if (fd == -1 || write(fd, "0\n", 2) != 2)
			child_fail(report, "cgroup");
		(void)close(fd);
	}
	child_stdio(req, report); /* as ourselves: the log may not be the user's to open */
	if (req->user != NULL && (setgroups((size_t)req->user->ngroups, req->user->groups) == -1 ||
				  setgid(req->user->gid) == -1 || setuid(req->user->uid) == -1))
		child_fail(report, "user");
	child_cloexec_all();
	if (req->notify_fd != -1 && report == req->notify_num) {
		report = fcntl(report, F_DUPFD_CLOEXEC, 3); /* make room for the notify fd */
		if (report == -1)
			_exit(127);
	}
	if (req->notify_fd != -1) { /* dup2 clears close-on-exec, except onto itself */
		if (req->notify_fd == req->notify_num ? fd_set_cloexec(req->notify_num, 0) == -1
						      : dup2(req->notify_fd, req->notify_num) == -1)
			child_fail(report, "notify fd");
	}
	execve(req->argv[0], req->argv, req->envp);
	child_fail(report, "exec");
}

int
spawn_service(const struct spawn_req *req, struct spawn_res *res)
{
	int pidp[2], rep[2];
	pid_t mid, pid = -1;
	int err = 0;

	if (pipe2(pidp, O_CLOEXEC) == -1)
		return -1;
	if (pipe2(rep, O_CLOEXEC) == -1) {
		fd_close(pidp[0]);
		fd_close(pidp[1]);
		return -1;
	}
	mid = fork();
	if (mid == 0) {
		pid_t got[2];
		fd_close(pidp[0]);
		fd_close(rep[0]);
		if (setsid() == -1) {
			got[0] = -1;
			got[1] = errno;
		} else {
			got[0] = fork();
			got[1] = errno;
			if (got[0] == 0)
				child_exec(req, rep[1]);
		}
		(void)fd_write_all(pidp[1], got, sizeof got);
		_exit(0);
	}
	err = errno;
	fd_close(pidp[1]);
	fd_close(rep[1]);
	if (mid > 0) {
		pid_t got[2];
		ssize_t n = fd_read(pidp[0], got, sizeof got);
		err = n == (ssize_t)sizeof got ? (int)got[1] : EPIPE;
		if (n == (ssize_t)sizeof got)
			pid = got[0];
		/* the intermediate exits right after its report: reap it here, so the loop
		 * only ever sees services die */
		while (waitpid(mid, NULL, 0) == -1 && errno == EINTR)
			;
	}
	fd_close(pidp[0]);
	if (pid <= 0) {
		fd_close(rep[0]);
		errno = err != 0 ? err : EAGAIN;
		return -1;
	}
	res->pid = pid;
	res->pgid = mid;
	res->report_fd = rep[0];
	return 0;
}
