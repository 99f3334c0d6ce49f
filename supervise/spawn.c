/* spawn.c: fork a service doubly detached, without copying the supervisor.
 *
 * The supervisor clones an intermediate that shares its memory (CLONE_VM|CLONE_VFORK, as
 * posix_spawn does: no page tables copied, the supervisor waits until it is done); the
 * intermediate calls setsid() and clones the service the same way, with CLONE_PARENT so
 * that the service is born a child of the supervisor. The service so runs in its own
 * session and process group without being their leader (it can never get a controlling
 * terminal), and the supervisor learns of its death through SIGCHLD. Since each level
 * waits for the next to exec or exit, the outcome is known when spawn_service() returns:
 * the service's pid, and whether its exec failed and why. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdio.h"
#include "sup.h"

#define SPAWN_STACK (64 * 1024)

/* The two children's stacks, in our memory. Under AddressSanitizer, the frames a child
 * left there when it exec'd stay poisoned in the shadow memory we share with it: they
 * are unpoisoned before each use, or the next child trips over them. */
static char stack_mid[SPAWN_STACK] __attribute__((aligned(16)));
static char stack_svc[SPAWN_STACK] __attribute__((aligned(16)));
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define UNPOISON(a) __asan_unpoison_memory_region((a), sizeof(a))
#else
#define UNPOISON(a) ((void)0)
#endif

/* What the children tell the supervisor, one write of a record each on a close-on-exec
 * pipe rather than in the memory they share: under valgrind, CLONE_VM is dropped and the
 * clones become forks, and the outcome must still get through. */
struct spawn_rec {
	char kind;        /* 'P': the service's pid (or -1 and err); 'E': it failed */
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
	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = 3; fd < max; fd++)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void
child_stdio(const struct spawn_req *req, struct spawn_ctx *ctx)
{
	int fd = open(req->in_path, O_RDONLY);

	if (fd == -1 || dup2(fd, 0) == -1)
		child_fail(ctx, "stdin");
	if (fd != 0)
		(void)close(fd);
	fd = open(req->out_path, O_WRONLY | O_NOFOLLOW | req->out_flags, 0644);
	if (fd == -1 || dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
		child_fail(ctx, "open log");
	if (fd > 2)
		(void)close(fd);
}

/* The service, on its own stack in the supervisor's memory until it execs: it touches
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
		int fd = open(req->cgroup_procs, O_WRONLY);
		if (fd == -1 || write(fd, "0\n", 2) != 2)
			child_fail(ctx, "cgroup");
		(void)close(fd);
	}
	child_stdio(req, ctx); /* as ourselves: the log may not be the user's to open */
	if (req->user != NULL && (setgroups((size_t)req->user->ngroups, req->user->groups) == -1 ||
				  setgid(req->user->gid) == -1 || setuid(req->user->uid) == -1))
		child_fail(ctx, "user");
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
		tell(ctx, 'P', -1, errno, "setsid");
		_exit(1);
	}
	/* CLONE_VFORK: we go on once the service has exec'd or failed, so its record, if
	 * any, comes first */
	pid = clone(child_exec, stack_svc + sizeof stack_svc,
		    CLONE_VM | CLONE_VFORK | CLONE_PARENT | SIGCHLD, ctx);
	tell(ctx, 'P', pid, pid == -1 ? errno : 0, "fork");
	_exit(0);
}

int
spawn_service(const struct spawn_req *req, struct spawn_res *res)
{
	struct spawn_ctx ctx = { .req = req };
	struct spawn_rec r, failed = { .kind = 0 };
	pid_t mid, pid = -1;
	int p[2], err = EAGAIN;
	sigset_t all, old;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	ctx.fd = p[1];
	/* no handler of ours may run on a child's stack in our memory */
	sigfillset(&all);
	if (sigprocmask(SIG_SETMASK, &all, &old) == -1) {
		err = errno;
		goto out;
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
		goto out;
	fd_close(p[1]); /* the children's copies are closed too: exec'd, or exited */
	p[1] = -1;
	while (fd_read(p[0], &r, sizeof r) == (ssize_t)sizeof r) {
		if (r.kind == 'E')
			failed = r;
		else if (r.kind == 'P' && (pid = r.pid) == -1)
			err = r.err;
	}
	if (pid <= 0)
		goto out;
	res->pid = pid;
	res->pgid = mid;
	res->exec_err = failed.kind == 'E' ? failed.err : 0;
	snprintf(res->stage, sizeof res->stage, "%s", failed.kind == 'E' ? failed.stage : "");
	fd_close(p[0]);
	return 0;
out:
	fd_close(p[0]);
	if (p[1] != -1)
		fd_close(p[1]);
	errno = err;
	return -1;
}
