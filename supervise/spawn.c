/* spawn.c: start a service doubly detached.
 *
 * The supervisor clones an intermediate that shares its memory (CLONE_VM|CLONE_VFORK, as
 * posix_spawn does) and is suspended while it lives: it calls setsid() and clones the
 * service with CLONE_PARENT, so that the service is born a child of the supervisor, then
 * tells the service's pid on a close-on-exec pipe and exits. The service so runs in its
 * own session and process group without being their leader (it can never get a
 * controlling terminal), and the supervisor learns of its death through SIGCHLD.
 *
 * A service that runs as we do is cloned the same way (CLONE_VM|CLONE_VFORK): no page
 * tables are copied, and the intermediate, so the supervisor, waits until it has exec'd
 * or failed; that is the fork+exec floor, and nobody but root can make it longer.
 * A service with `user` switches to that user before its exec, and from then on that
 * user could stop it (SIGSTOP) or slow it down: it is cloned as a fork instead, with its
 * own copy of the memory (the page tables copied once), and nobody waits for its exec.
 *
 * Either way the outcome comes on the pipe, read by spawn_report() as an event (at once,
 * for the first kind): a record saying what failed (the stage and errno), or the end of
 * the pipe with nothing more, which means the exec happened (the kernel closes the pipe
 * at exec). (Both kinds of clone are ones valgrind runs: a vfork and a fork.) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdio.h"
#include "sup.h"

#define SPAWN_STACK (64 * 1024)

/* The children's stacks, in our memory, used while we wait (or, for a forked service,
 * in its own copy). Under AddressSanitizer, the frames a child left stay poisoned in the
 * shadow memory we share with it: they are unpoisoned before each use. */
static char stack_mid[SPAWN_STACK] __attribute__((aligned(16)));
static char stack_svc[SPAWN_STACK] __attribute__((aligned(16)));
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define UNPOISON(a) __asan_unpoison_memory_region((a), sizeof(a))
#else
#define UNPOISON(a) ((void)0)
#endif

struct spawn_rec {
	char kind;        /* 'P': the service's pid; 'F': the intermediate failed; 'E': exec failed */
	pid_t pid;
	int err;
	char stage[12];
};

struct spawn_ctx {
	const struct spawn_req *req;
	int fd;           /* the pipe's write end */
};

static void
tell(const struct spawn_ctx *ctx, char kind, pid_t pid, int err, const char *stage)
{
	struct spawn_rec r;

	memset(&r, 0, sizeof r);
	r.kind = kind;
	r.pid = pid;
	r.err = err;
	snprintf(r.stage, sizeof r.stage, "%s", stage);
	(void)fd_write_all(ctx->fd, &r, sizeof r); /* nobody is left to tell if this fails */
}

static void __attribute__((noreturn))
child_fail(struct spawn_ctx *ctx, const char *stage)
{
	tell(ctx, 'E', 0, errno != 0 ? errno : EIO, stage);
	_exit(127);
}

static void
child_reset_signals(void)
{
	sigset_t none;

	/* our handlers give way to the defaults at exec by themselves; what we ignore does
	 * not, and the rest was put back to its default when we started (main.c) */
	(void)signal(SIGPIPE, SIG_DFL);
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
	if (max < 0 || max > 1048576)
		max = 1048576;
	for (int fd = 3; fd < max; fd++)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* The service, on its own stack in our memory (or in its own copy of it): it touches
 * nothing but its stack and ctx, and leaves through execve() or _exit(). */
static int
child_exec(void *arg)
{
	struct spawn_ctx *ctx = arg;
	const struct spawn_req *req = ctx->req;

	child_reset_signals();
	if (chdir(req->dir) == -1)
		child_fail(ctx, "chdir");
	if (req->cgroup_procs != NULL) { /* joined before anything of the service runs */
		int fd = open(req->cgroup_procs, O_WRONLY | O_CLOEXEC);
		if (fd == -1 || write(fd, "0\n", 2) != 2)
			child_fail(ctx, "cgroup");
		(void)close(fd);
	}
	/* the supervisor opened them (relative to its directories, never through a path
	 * someone could change); dup2 clears close-on-exec */
	if (dup2(req->in_fd, 0) == -1)
		child_fail(ctx, "stdin");
	if (dup2(req->out_fd, 1) == -1 || dup2(req->out_fd, 2) == -1)
		child_fail(ctx, "open log");
	if (req->user != NULL && (setgroups((size_t)req->user->ngroups, req->user->groups) == -1 ||
				  setgid(req->user->gid) == -1 || setuid(req->user->uid) == -1))
		child_fail(ctx, "user");
	if (req->nofile != NULL && setrlimit(RLIMIT_NOFILE, req->nofile) == -1)
		child_fail(ctx, "rlimit");
	child_cloexec_all();
	if (req->notify_fd != -1) { /* dup2 clears close-on-exec, except onto itself */
		if (req->notify_fd == req->notify_num ? fd_set_cloexec(req->notify_num, 0) == -1
						      : dup2(req->notify_fd, req->notify_num) == -1)
			child_fail(ctx, "notify fd");
	}
	execve(req->argv[0], req->argv, req->envp);
	child_fail(ctx, "exec");
}

static int
intermediate(void *arg)
{
	struct spawn_ctx *ctx = arg;
	pid_t pid;

	if (setsid() == -1) {
		tell(ctx, 'F', -1, errno, "setsid");
		_exit(1);
	}
	/* as we are: we wait for its exec (CLONE_VFORK), in our memory; with `user`: a fork,
	 * its own copy of our memory, waited for by nobody */
	pid = clone(child_exec, stack_svc + sizeof stack_svc,
		    (ctx->req->user != NULL ? 0 : CLONE_VM | CLONE_VFORK) | CLONE_PARENT | SIGCHLD,
		    ctx);
	tell(ctx, pid == -1 ? 'F' : 'P', pid, pid == -1 ? errno : 0, "fork");
	_exit(pid == -1);
}

int
spawn_service(const struct spawn_req *req, struct spawn_res *res)
{
	struct spawn_ctx ctx = { .req = req };
	struct spawn_rec r;
	pid_t mid;
	int p[2], err;
	sigset_t all, old;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	ctx.fd = p[1];
	/* no handler of ours may run in the children before they reset the signals */
	sigfillset(&all);
	if (sigprocmask(SIG_SETMASK, &all, &old) == -1) {
		err = errno;
		goto fail;
	}
	UNPOISON(stack_mid);
	UNPOISON(stack_svc);
	mid = clone(intermediate, stack_mid + sizeof stack_mid, CLONE_VM | CLONE_VFORK | SIGCHLD,
		    &ctx);
	err = errno;
	/* it has exited (CLONE_VFORK): reap it here, so the loop only sees services die */
	while (mid != -1 && waitpid(mid, NULL, 0) == -1 && errno == EINTR)
		;
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	if (mid == -1)
		goto fail;
	fd_close(p[1]); /* the intermediate's copy is closed: the service's is the last */
	p[1] = -1;
	if (fd_set_nonblock(p[0], 1) == -1) {
		err = errno;
		goto fail;
	}
	/* the intermediate's record, there since it has exited: the service's pid, or why
	 * there is none; a quick service may have told of its failed exec before it */
	res->exec_err = 0;
	res->stage[0] = '\0';
	while ((n = fd_read(p[0], &r, sizeof r)) == (ssize_t)sizeof r && r.kind == 'E') {
		res->exec_err = r.err;
		snprintf(res->stage, sizeof res->stage, "%s", r.stage);
	}
	if (n != (ssize_t)sizeof r || r.kind != 'P') {
		err = n == (ssize_t)sizeof r && r.kind == 'F' ? r.err : EIO;
		goto fail;
	}
	res->pid = r.pid;
	res->pgid = mid;
	res->report_fd = p[0];
	return 0;
fail:
	fd_close(p[0]);
	if (p[1] != -1)
		fd_close(p[1]);
	errno = err;
	return -1;
}

int
spawn_report(int fd, int *err, char *stage, size_t size)
{
	struct spawn_rec r;
	ssize_t n;
	int failed = 0;

	while ((n = fd_read(fd, &r, sizeof r)) == (ssize_t)sizeof r) {
		if (r.kind != 'E')
			continue;
		failed = 1;
		*err = r.err;
		snprintf(stage, size, "%s", r.stage);
	}
	if (n == -1 && errno == EAGAIN)
		return failed ? -1 : 0;
	/* the end: exec'd, or gone; a record cut short is not one */
	return failed ? -1 : 1;
}
