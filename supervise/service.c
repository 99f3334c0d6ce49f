/* service.c: each service is a state machine; this file owns every transition.
 *
 *   DOWN      --want up/once---------------------> STARTING (spawned) or BACKOFF (spacing)
 *   STARTING  --exec'd (no pidfile)--------------> UP (ready now, or when it says so)
 *   STARTING  --launcher exited 0 (pidfile)------> STARTING, until the pid file names the
 *                                                  daemon: UP; or FAILED
 *   STARTING,UP --exit---------------------------> FINISHING (./finish runs), then as below
 *   STARTING,UP --exit, wanted up----------------> STARTING, BACKOFF or FAILED (exec failed)
 *   STARTING,UP --exit, wanted down or once------> DOWN
 *   STARTING,UP --want down, or restart----------> STOPPING (down-signal + CONT to the group)
 *   STOPPING  --timeout-kill---------------------> STOPPING (SIGKILL to the group)
 *   STOPPING  --exit-----------------------------> FINISHING, DOWN, or STARTING/BACKOFF
 *                                                  when wanted up (a restart)
 *   FINISHING --finish exits, or timeout-finish--> what the death called for (above)
 *   BACKOFF,FAILED --deadline--------------------> STARTING
 *   BACKOFF,FAILED --want down-------------------> DOWN
 *   any start, dependencies not ready------------> WAITING (deps.c says when they are:
 *                                                  service_deps_poke), or FAILED on a cycle
 *   WAITING   --dependencies ready---------------> STARTING (or BACKOFF: spacing)
 *   WAITING   --want down------------------------> DOWN
 *   UP,STARTING --want down or restart, with
 *               dependents running---------------> the same, stop_pending: stops once
 *                                                  the last of them has (dependents first)
 * A one-shot (`type` oneshot) runs `up` in STARTING: exit 0 makes it UP (ready, no
 * process), anything else FAILED, not retried; its stop runs `down` in STOPPING, then DOWN.
 *
 * Every change goes through service_enter(), which stamps the time, rewrites the status
 * file and tells the waiters: keeping every change on that one path is what makes the
 * status trustworthy. What is (st.state) stays apart from what was asked (st.want). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "fdio.h"
#include "log.h"
#include "proc.h"
#include "sig.h"
#include "sup.h"

/* A status file that cannot be written (a full RUNDIR) must not go on saying what is no
 * longer true: it is removed, and written again as soon as it can be (retried with the
 * output, output.c). */
static void
status_save(struct sup *s, struct service *sv)
{
	char file[SVREF_MAX + 1];

	if (status_write(s->status_dirfd, &sv->st) == 0)
		return;
	if (!sv->status_dirty)
		log_warn("unable to write the status of %s in %s/%s; retrying", sv->st.name,
			 s->paths.rundir, RUN_STATUS);
	svname_to_file(sv->st.name, file);
	(void)unlinkat(s->status_dirfd, file, 0); /* possible on a full file system */
	if (!sv->status_dirty) {
		sv->status_dirty = 1;
		sv->dirty_next = s->status_dirty;
		s->status_dirty = sv;
	}
	output_retry_soon(s);
}

void
service_status_retry(struct sup *s)
{
	struct service *list = s->status_dirty;

	s->status_dirty = NULL;
	while (list != NULL) {
		struct service *sv = list;
		list = sv->dirty_next;
		sv->status_dirty = 0;
		status_save(s, sv);
	}
}

/* The one way a state changes. */
static void
service_enter(struct sup *s, struct service *sv, enum sv_state next, int64_t deadline_ms)
{
	int64_t now = clock_ms();

	if (next == SV_WAITING)
		deps_waiting_text(sv, sv->st.waiting_for, sizeof sv->st.waiting_for);
	else
		sv->st.waiting_for[0] = '\0';
	/* the time shown is that in this state with this process: a restart is a change */
	if (sv->st.state != next || sv->since_pid != sv->st.pid) {
		if (next == SV_WAITING && sv->st.state != next)
			log_info("%s: waiting for %s", sv->st.name, sv->st.waiting_for);
		sv->since_pid = sv->st.pid;
		sv->st.state = next;
		sv->st.since_sec = clock_wall_sec();
		sv->state_ms = now;
	}
	timer_set(s, &sv->timer, deadline_ms);
	sv->st.next_sec = deadline_ms == CLOCK_NEVER || next == SV_STARTING ? 0
			  : clock_wall_sec() + (deadline_ms - now + 999) / 1000;
	if (next != SV_FAILED && next != SV_BACKOFF && next != SV_FINISHING)
		sv->st.reason[0] = '\0';
	if (next != SV_UP && next != SV_STARTING)
		sv->stop_pending = 0; /* its stop has begun, or it died first */
	sv->st.oneshot = sv->oneshot;
	status_save(s, sv);
	container_on_state(s, sv);
	waiters_on_change(s, sv);
	deps_on_change(s, sv); /* ready or not, running or not: its edges count it */
}

/* --- starting --- */

static int64_t
backoff_ms(struct service *sv, int64_t ran_ms)
{
	/* the README's "Restarts" */
	if (ran_ms >= RESTART_STABLE_MS) {
		sv->short_deaths = 0;
		return 0;
	}
	sv->short_deaths++;
	if (sv->short_deaths <= 1)
		return 0;
	if (sv->short_deaths - 2 >= 6)
		return RESTART_MAX_DELAY_MS;
	return (int64_t)1000 << (sv->short_deaths - 2);
}

/* A start that did not get as far as a running service: FAILED with the reason (already
 * in st.reason), retried on the crash schedule. */
static void
failed(struct sup *s, struct service *sv, int64_t now)
{
	int64_t at = now + backoff_ms(sv, 0);

	container_on_death(s, sv); /* a critical one ends everything */
	if (at < sv->start_ms + RESTART_SPACING_MS)
		at = sv->start_ms + RESTART_SPACING_MS;
	log_warnx("%s: unable to start: %s; retrying in %lld ms", sv->st.name, sv->st.reason,
		  (long long)(at - now));
	service_enter(s, sv, SV_FAILED, at);
}

/* st.pid becomes pid, a child of ours (born so, or reparented to us): until we reap it its
 * pid cannot be recycled, so plain kill() is safe and no pidfd is held, which keeps a
 * thousand services well within the usual 1024 descriptors. */
static void
drop_pidfd(struct sup *s, struct service *sv)
{
	if (sv->pidfd == -1)
		return;
	loop_unwatch(s, sv->pidfd);
	fd_close(sv->pidfd);
	sv->pidfd = -1;
}

static void
follow(struct sup *s, struct service *sv, pid_t pid, pid_t pgid)
{
	drop_pidfd(s, sv);
	service_set_pid(s, sv, pid, pgid);
	sv->st.starttime = proc_starttime(pid);
	sv->adopted = 0;
}

/* A FIFO of RUNDIR/pipe, opened (nonblocking: we hold the other end, or it is ours) and
 * checked to be ours, then blocking again for the service. */
static int
fifo_open(struct sup *s, const char *file, int mode)
{
	struct stat st;
	int fd = openat(s->pipe_dirfd, file, mode | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);

	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISFIFO(st.st_mode) || st.st_uid != geteuid() ||
	    fd_set_nonblock(fd, 0) == -1) {
		fd_close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* The service's stdin and stdout, opened here, relative to our own directories: the
 * child never opens a path that someone could change between our check and its open. A
 * logger reads its service's FIFO; a service with a logger writes into it; any other
 * writes into its own FIFO, read by output.c. 0, or -1 with st.reason. */
static int
stdio_fds(struct sup *s, struct service *sv, int *in, int *out)
{
	char file[SVREF_MAX + 1];

	*in = s->devnull_fd;
	*out = -1;
	if (sv->main != NULL) {
		svname_to_file(sv->main->st.name, file);
		if ((*in = fifo_open(s, file, O_RDONLY)) == -1)
			goto fail;
	}
	/* checked until it passes: then nobody but us can change it (RUNDIR/log is ours, 0700) */
	if (sv->logger == NULL && !sv->logdir_ok &&
	    output_check(s, sv, sv->st.reason, sizeof sv->st.reason) == -1) {
		if (*in != s->devnull_fd)
			fd_close(*in);
		return -1;
	}
	if (sv->logger == NULL && output_open(s, sv) == -1)
		goto fail;
	svname_to_file(sv->st.name, file);
	/* read-write into its own FIFO: it never gets SIGPIPE, even with no supervisor */
	if ((*out = fifo_open(s, file, sv->logger != NULL ? O_WRONLY : O_RDWR)) == -1)
		goto fail;
	return 0;
fail:
	snprintf(sv->st.reason, sizeof sv->st.reason, "pipe %s: %s",
		 file, strerror(errno));
	if (*in != s->devnull_fd && *in != -1)
		fd_close(*in);
	return -1;
}

/* Starts argv[0] of the service directory with the service's stdio and environment;
 * run (not finish) also gets the readiness channels. Its exec is reported later, on
 * spawn_fd (service_on_spawn). 0, or -1 with st.reason set. */
static int
spawn_prog(struct sup *s, struct service *sv, char *const argv[], int is_run)
{
	char dir[PATH_MAX], sock[PATH_MAX], cg[PATH_MAX];
	struct spawn_req req = { .dir = dir, .argv = argv, .notify_fd = -1, .in_fd = -1,
				 .out_fd = -1 };
	struct spawn_res res;
	char **env = NULL;
	int r = -1;

	if (svdir_path(s, sv, NULL, dir, sizeof dir) == -1) {
		snprintf(sv->st.reason, sizeof sv->st.reason, "path too long");
		return -1;
	}
	if (svdir_trust(s, sv, sv->st.reason, sizeof sv->st.reason) == -1 ||
	    svdir_user(s, sv) == -1)
		return -1;
	req.user = sv->has_user ? &sv->user : NULL;
	req.nofile = &s->nofile;
	if (s->cgroup[0] != '\0') {
		if (cgroup_prepare(s, sv, cg, sizeof cg) == -1) {
			snprintf(sv->st.reason, sizeof sv->st.reason, "cgroup: %s", strerror(errno));
			return -1;
		}
		req.cgroup_procs = cg;
	}
	if (is_run && svdir_has(s, sv, "notify", 0)) {
		if (notify_socket(s, sv, sock, sizeof sock, sv->st.reason, sizeof sv->st.reason) == -1)
			return -1;
	} else {
		notify_close(s, sv);
	}
	env = svdir_env(s, sv, sv->sdnotify_fd != -1 ? sock : NULL, sv->st.reason,
			sizeof sv->st.reason);
	if (env == NULL)
		return -1;
	req.envp = env;
	if (stdio_fds(s, sv, &req.in_fd, &req.out_fd) == -1)
		goto out;
	if (is_run && sv->notify_num >= 0) {
		req.notify_fd = notify_pipe(s, sv);
		req.notify_num = sv->notify_num;
		if (req.notify_fd == -1) {
			snprintf(sv->st.reason, sizeof sv->st.reason, "notification pipe: %s",
				 strerror(errno));
			goto out;
		}
	}
	if (spawn_service(&req, &res) == -1) {
		snprintf(sv->st.reason, sizeof sv->st.reason, "spawn: %s", strerror(errno));
		goto out;
	}
	follow(s, sv, res.pid, res.pgid);
	sv->exec_errno = res.exec_err;
	snprintf(sv->exec_stage, sizeof sv->exec_stage, "%s", res.stage);
	if (sv->spawn_fd != -1) { /* an earlier report that never ended: moot now */
		loop_unwatch(s, sv->spawn_fd);
		fd_close(sv->spawn_fd);
	}
	sv->spawn_fd = res.report_fd;
	if (loop_watch(s, sv->spawn_fd, loop_sv_src(sv, EV_SPAWN), EPOLLIN) == -1)
		log_warn("%s: watching its exec report", sv->st.name); /* its exit still comes */
	r = 0;
out:
	free(env);
	if (req.in_fd != s->devnull_fd && req.in_fd != -1)
		fd_close(req.in_fd);
	if (req.out_fd != -1)
		fd_close(req.out_fd);
	if (req.notify_fd != -1)
		fd_close(req.notify_fd); /* the service has it now */
	return r;
}

/* Reads the exec report of the latest spawn. 1 when it has ended (exec_errno then says
 * whether the exec failed), 0 when more is to come. */
static int
read_report(struct sup *s, struct service *sv)
{
	int r;

	if (sv->spawn_fd == -1)
		return 1;
	r = spawn_report(sv->spawn_fd, &sv->exec_errno, sv->exec_stage, sizeof sv->exec_stage);
	if (r == 0)
		return 0;
	loop_unwatch(s, sv->spawn_fd);
	fd_close(sv->spawn_fd);
	sv->spawn_fd = -1;
	return 1;
}

static void
went_up(struct sup *s, struct service *sv)
{
	/* without a readiness channel, running is ready */
	if (sv->notify_num < 0 && sv->sdnotify_fd == -1)
		sv->st.ready = 1;
	service_enter(s, sv, SV_UP, CLOCK_NEVER);
}

/* A start that cannot be now: its dependencies are not ready, or it is on a cycle. */
static int
deps_hold_start(struct sup *s, struct service *sv)
{
	if (deps_can_start(s, sv)) {
		sv->cycle_failed = 0;
		return 0;
	}
	if (sv->cycle[0] == '\0') {
		service_enter(s, sv, SV_WAITING, CLOCK_NEVER);
		return 1;
	}
	snprintf(sv->st.reason, sizeof sv->st.reason, "%s", sv->cycle);
	sv->cycle_failed = 1;
	service_enter(s, sv, SV_FAILED, CLOCK_NEVER); /* until the cycle is broken */
	return 1;
}

/* `up` or `down` of a one-shot: exec'd when executable, else read by /bin/sh. */
static char *const *
oneshot_argv(struct sup *s, struct service *sv, int down)
{
	static char *const up[] = { "./up", NULL }, *const sh_up[] = { "/bin/sh", "./up", NULL };
	static char *const dn[] = { "./down", NULL }, *const sh_dn[] = { "/bin/sh", "./down", NULL };

	if (svdir_has(s, sv, down ? "down" : "up", 1))
		return down ? dn : up;
	return down ? sh_dn : sh_up;
}

static void
start_run(struct sup *s, struct service *sv)
{
	static char *const run[] = { "./run", NULL };
	int64_t now = clock_ms();

	svdir_settings(s, sv);
	if (deps_hold_start(s, sv))
		return;
	sv->start_ms = now;
	sv->timed_out = 0;
	sv->running_down = 0;
	sv->killed = 0;
	sv->daemon = 0;
	sv->pidfile_until_ms = 0;
	sv->st.ready = 0;
	sv->st.text[0] = '\0';
	if (spawn_prog(s, sv, sv->oneshot ? oneshot_argv(s, sv, 0) : run, !sv->oneshot) == -1) {
		if (!sv->oneshot) {
			failed(s, sv, now);
			return;
		}
		log_warnx("%s: unable to run up: %s", sv->st.name, sv->st.reason);
		service_enter(s, sv, SV_FAILED, CLOCK_NEVER); /* a one-shot is tried when asked */
		return;
	}
	log_info("%s: %sstarted (pid %ld)", sv->st.name, sv->oneshot ? "up " : "", (long)sv->st.pid);
	/* up once it has exec'd (known already unless it runs as another user: spawn.c); a
	 * one-shot once its up has exited 0 */
	if (!sv->oneshot && read_report(s, sv) && sv->exec_errno == 0 && sv->pidfile == NULL) {
		went_up(s, sv);
		return;
	}
	service_enter(s, sv, SV_STARTING, sv->oneshot && sv->timeout_up_ms > 0
						  ? now + sv->timeout_up_ms : CLOCK_NEVER);
}

/* The exec report of the latest spawn: a run that has exec'd is up (a `pidfile` one
 * waits for its launcher to exit); a failed exec is told by the exit that follows. */
void
service_on_spawn(struct sup *s, struct service *sv)
{
	if (!read_report(s, sv) || sv->exec_errno != 0 || sv->oneshot)
		return;
	if (sv->st.state == SV_STARTING && sv->pidfile == NULL && sv->st.pid > 0)
		went_up(s, sv);
}

/* Start at once, or as soon as the spacing between starts allows. */
static void
start_soon(struct sup *s, struct service *sv, int64_t not_before)
{
	int64_t now = clock_ms();

	if (not_before < sv->start_ms + RESTART_SPACING_MS)
		not_before = sv->start_ms + RESTART_SPACING_MS;
	if (not_before <= now) {
		start_run(s, sv);
		return;
	}
	log_info("%s: restarting in %lld ms", sv->st.name, (long long)(not_before - now));
	service_enter(s, sv, sv->st.state == SV_FAILED ? SV_FAILED : SV_BACKOFF, not_before);
}

/* --- stopping --- */

static void
kill_group(struct service *sv, int sig)
{
	/* The group, and the process on its own only when it moved to another group: a
	 * second TERM would tell many daemons to skip their graceful exit. The process goes
	 * through its pidfd, so a recycled pid is never signalled. */
	if (sv->st.pgid > 1 && kill(-sv->st.pgid, sig) == 0 && getpgid(sv->st.pid) == sv->st.pgid)
		return;
	if (proc_signal(sv->pidfd, sv->st.pid, sig) == -1 && errno != ESRCH)
		log_warn("%s: kill %s %ld", sv->st.name, sig_name(sig), (long)sv->st.pid);
}

/* What a stopped service leaves behind goes: its cgroup (with -c) at once, and the
 * processes of its session (its session id is its group id) that were reparented to us,
 * found at the end of the loop pass (leftovers_run) for every service stopped in it. */
static void
kill_leftovers(struct sup *s, const struct service *sv, pid_t sid)
{
	cgroup_kill(s, sv);
	if (s->nleftover == s->leftover_cap) {
		size_t cap = s->leftover_cap ? s->leftover_cap * 2 : 64;
		pid_t *p = realloc(s->leftover_sids, cap * sizeof *p);
		if (p == NULL) {
			log_warnx("%s: out of memory: what it left behind is not looked for", sv->st.name);
			return;
		}
		s->leftover_sids = p;
		s->leftover_cap = cap;
	}
	s->leftover_sids[s->nleftover++] = sid;
}

static int
cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* One look at our children for all the sessions of this pass: the cost is that of one
 * read of the list and of a look at each child that is not a service, whatever the
 * number of services stopped. */
void
leftovers_run(struct sup *s)
{
	size_t n, k = 0;
	pid_t *kids;

	if (s->nleftover == 0)
		return;
	for (size_t i = 0; i < s->nleftover; i++)
		if (service_by_pgid(s, s->leftover_sids[i]) == NULL) /* not reused by a start */
			s->leftover_sids[k++] = s->leftover_sids[i];
	s->nleftover = 0;
	if (k == 0)
		return;
	qsort(s->leftover_sids, k, sizeof *s->leftover_sids, cmp_pid);
	kids = proc_children_all(&n);
	if (kids == NULL) {
		log_warn("reading our children");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		pid_t sid;
		if (service_by_pid(s, kids[i]) != NULL)
			continue;
		sid = proc_session(kids[i]);
		if (sid > 0 && bsearch(&sid, s->leftover_sids, k, sizeof sid, cmp_pid) != NULL)
			(void)kill(kids[i], SIGKILL); /* our unreaped child: not a recycled pid */
	}
	free(kids);
}

/* A `pidfile` start that came to nothing (no trusted pid, or stopped while waiting): what
 * its launcher left running goes, or every retry would add one more. */
static void
kill_launcher(struct sup *s, struct service *sv)
{
	if (sv->launcher_pgid > 1) {
		(void)kill(-sv->launcher_pgid, SIGKILL); /* ESRCH: nothing was left */
		kill_leftovers(s, sv, sv->launcher_pgid);
	}
	sv->launcher_pgid = 0;
	sv->pidfile_until_ms = 0;
}

static void
stop_now(struct sup *s, struct service *sv)
{
	int64_t now = clock_ms();

	kill_group(sv, sv->down_signal);
	if (sv->down_signal != SIGCONT)
		kill_group(sv, SIGCONT);
	service_enter(s, sv, SV_STOPPING,
		      sv->timeout_kill_ms > 0 ? now + sv->timeout_kill_ms : CLOCK_NEVER);
}

static void oneshot_down(struct sup *s, struct service *sv);

static void
stop_it(struct sup *s, struct service *sv)
{
	if (sv->oneshot && sv->st.state == SV_UP)
		oneshot_down(s, sv);
	else
		stop_now(s, sv);
}

/* Dependents first: while one runs, the stop waits (deps.c pokes it when the last is
 * gone), and meanwhile the service no longer counts as ready for anyone. */
static void
stop_when_free(struct sup *s, struct service *sv)
{
	if (sv->holders > 0) {
		if (!sv->stop_pending)
			log_info("%s: stops once its dependents are down (%zu running)", sv->st.name,
				 sv->holders);
		sv->stop_pending = 1;
		service_enter(s, sv, sv->st.state, sv->timer.node.at);
		return;
	}
	sv->stop_pending = 0;
	stop_it(s, sv);
}

void
service_want(struct sup *s, struct service *sv, enum sv_want w, int restart)
{
	enum sv_want was = sv->st.want;

	sv->st.want = w;
	if (w != WANT_DOWN)
		deps_pull(s, sv); /* what it depends on is wanted up too */
	switch (sv->st.state) {
	case SV_WAITING:
		service_enter(s, sv, w == WANT_DOWN ? SV_DOWN : SV_WAITING, CLOCK_NEVER);
		break;
	case SV_DOWN:
	case SV_BACKOFF:
	case SV_FAILED:
		if (w == WANT_DOWN) {
			service_enter(s, sv, SV_DOWN, CLOCK_NEVER); /* status shows the new want */
		} else {
			sv->short_deaths = 0; /* asked for: at once, but for the spacing */
			start_soon(s, sv, 0);
		}
		break;
	case SV_STARTING:
		if (sv->st.pid == 0) { /* waiting for a pid file: no daemon known to stop */
			if (w == WANT_DOWN || restart) {
				kill_launcher(s, sv);
				if (w == WANT_DOWN)
					service_enter(s, sv, SV_DOWN, CLOCK_NEVER);
				else
					start_soon(s, sv, 0);
			} else {
				status_save(s, sv);
			}
			break;
		}
		/* fall through */
	case SV_UP:
		if (w == WANT_DOWN || restart) {
			stop_when_free(s, sv);
			break;
		}
		if (was == WANT_DOWN)
			sv->stop_pending = 0; /* a stop that had not begun: called off */
		service_enter(s, sv, sv->st.state, sv->timer.node.at);
		break;
	case SV_STOPPING:
	case SV_FINISHING:
		status_save(s, sv); /* what comes next reads st.want */
		break;
	}
}

void
service_signal(struct service *sv, int sig)
{
	if (sv->st.pid > 0)
		kill_group(sv, sig);
}

/* A logger whose service is down for good (shutdown, or its directory removed): we let go
 * of its FIFO, so that it reads what is left in it, meets EOF and exits by itself; a
 * stop signal would make it drop what is still in the pipe. timeout-kill still bounds it. */
void
service_stop_logger(struct sup *s, struct service *lg)
{
	int64_t now = clock_ms();

	lg->st.want = WANT_DOWN;
	if (lg->pipe_fd != -1) {
		fd_close(lg->pipe_fd);
		lg->pipe_fd = -1;
	}
	if (lg->st.pid <= 0 || (lg->st.state != SV_UP && lg->st.state != SV_STARTING)) {
		service_want(s, lg, WANT_DOWN, 0);
		return;
	}
	log_info("%s: its service is down: it ends when it has read everything", lg->st.name);
	service_enter(s, lg, SV_STOPPING,
		      lg->timeout_kill_ms > 0 ? now + lg->timeout_kill_ms : CLOCK_NEVER);
}

/* Its directory is gone: stop it, then forget it (after_death() does the rest for one
 * that runs); its logger goes the same way, after it. */
void
service_removed(struct sup *s, struct service *sv)
{
	sv->removed = 1;
	deps_on_change(s, sv); /* no longer ready for anyone */
	/* its dependents stop first, then wait for it to come back */
	deps_stop_dependents(s, sv, 1, NULL, NULL);
	if (sv->st.pid > 0 || (sv->oneshot && sv->st.state == SV_UP)) {
		service_want(s, sv, WANT_DOWN, 0);
		return;
	}
	if (sv->logger != NULL) {
		sv->logger->removed = 1;
		service_stop_logger(s, sv->logger);
	}
	service_forget(s, sv);
}

/* --- events --- */

static void
record_death(struct service *sv, int wstatus, int64_t ran_ms)
{
	struct sv_death *d = &sv->st.deaths[0];

	memmove(&sv->st.deaths[1], &sv->st.deaths[0],
		(STATUS_DEATHS - 1) * sizeof sv->st.deaths[0]);
	if (sv->st.ndeaths < STATUS_DEATHS)
		sv->st.ndeaths++;
	d->when_sec = clock_wall_sec();
	d->ran_ms = ran_ms;
	d->code = wstatus == WSTATUS_UNKNOWN ? -1 : WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
	d->sig = wstatus != WSTATUS_UNKNOWN && WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
}


void
service_on_notify(struct sup *s, struct service *sv)
{
	int r = notify_read_fd(s, sv);

	if (r == -1)
		log_warnx("%s: closed its notification-fd without saying it is ready", sv->st.name);
	if (r != 1)
		return;
	log_info("%s: ready", sv->st.name);
	sv->st.ready = 1;
	if (sv->st.state == SV_UP)
		service_enter(s, sv, SV_UP, sv->timer.node.at);
}

void
service_on_sdnotify(struct sup *s, struct service *sv)
{
	char text[sizeof sv->st.text];
	pid_t mainpid = 0;
	int ready;

	snprintf(text, sizeof text, "%s", sv->st.text);
	ready = notify_read_socket(sv, text, sizeof text, &mainpid);
	if (mainpid > 1 && mainpid != sv->st.pid && sv->st.pid > 0 &&
	    proc_parent(mainpid) == getpid() && service_by_pid(s, mainpid) == NULL) {
		/* a daemon that forked: follow the process it names, if it is ours */
		log_info("%s: main pid now %ld", sv->st.name, (long)mainpid);
		follow(s, sv, mainpid, getpgid(mainpid));
		sv->daemon = 1;
	}
	if (ready && !sv->st.ready) {
		log_info("%s: ready", sv->st.name);
		sv->st.ready = 1;
	}
	snprintf(sv->st.text, sizeof sv->st.text, "%s", text);
	if (sv->st.state == SV_UP || sv->st.state == SV_STARTING)
		service_enter(s, sv, sv->st.state, sv->timer.node.at);
}

/* Down for good: its logger follows at shutdown or when its directory is gone. */
static void
settle_down(struct sup *s, struct service *sv)
{
	service_enter(s, sv, SV_DOWN, CLOCK_NEVER);
	if (sv->logger != NULL && (sv->removed || s->shutting_down)) {
		/* the logger stops last, once nothing more can come down its pipe */
		sv->logger->removed |= sv->removed;
		service_stop_logger(s, sv->logger);
	}
	if (sv->removed)
		service_forget(s, sv);
}

/* --- one-shots --- */

static void clear_process(struct sup *s, struct service *sv, int leftover_sig);

static void
oneshot_settle(struct sup *s, struct service *sv)
{
	if (sv->st.want != WANT_DOWN && !s->shutting_down && !sv->removed)
		start_soon(s, sv, 0); /* a restart */
	else
		settle_down(s, sv);
}

/* Stopping a one-shot that is up: its `down`, when it has one. */
static void
oneshot_down(struct sup *s, struct service *sv)
{
	int64_t now = clock_ms();

	sv->st.ready = 0;
	sv->timed_out = 0;
	if (!svdir_has(s, sv, "down", 0)) {
		oneshot_settle(s, sv);
		return;
	}
	if (spawn_prog(s, sv, oneshot_argv(s, sv, 1), 0) == -1) {
		log_warnx("%s: unable to run down: %s", sv->st.name, sv->st.reason);
		sv->st.reason[0] = '\0';
		oneshot_settle(s, sv);
		return;
	}
	sv->running_down = 1;
	log_info("%s: down started (pid %ld)", sv->st.name, (long)sv->st.pid);
	service_enter(s, sv, SV_STOPPING,
		      sv->timeout_down_ms > 0 ? now + sv->timeout_down_ms : CLOCK_NEVER);
}

/* timeout-up or timeout-down: the script's group is killed, and it failed. */
static void
oneshot_timeout(struct sup *s, struct service *sv)
{
	log_warnx("%s: %s did not end within %lld ms, sending KILL", sv->st.name,
		  sv->running_down ? "down" : "up",
		  (long long)(sv->running_down ? sv->timeout_down_ms : sv->timeout_up_ms));
	kill_group(sv, SIGKILL);
	cgroup_kill(s, sv);
	sv->killed = 1;
	sv->timed_out = 1;
	service_enter(s, sv, sv->st.state, CLOCK_NEVER);
}

/* Why up or down did not succeed, into st.reason ("" when it did). */
static void
oneshot_reason(struct service *sv, int wstatus, const char *script)
{
	sv->st.reason[0] = '\0';
	if (sv->exec_errno != 0)
		snprintf(sv->st.reason, sizeof sv->st.reason, "%s ./%s: %s", sv->exec_stage, script,
			 strerror(sv->exec_errno));
	else if (sv->timed_out)
		snprintf(sv->st.reason, sizeof sv->st.reason, "timeout");
	else if (wstatus == WSTATUS_UNKNOWN)
		snprintf(sv->st.reason, sizeof sv->st.reason, "status unknown");
	else if (WIFSIGNALED(wstatus))
		snprintf(sv->st.reason, sizeof sv->st.reason, "signal %s", sig_name(WTERMSIG(wstatus)));
	else if (WEXITSTATUS(wstatus) != 0)
		snprintf(sv->st.reason, sizeof sv->st.reason, "exit %d", WEXITSTATUS(wstatus));
}

static void
oneshot_exit(struct sup *s, struct service *sv, int wstatus)
{
	const char *script = sv->running_down ? "down" : "up";
	enum sv_state was = sv->st.state;

	clear_process(s, sv, SIGKILL); /* nothing a script started outlives it */
	record_death(sv, wstatus, clock_ms() - sv->state_ms);
	oneshot_reason(sv, wstatus, script);
	if (sv->st.reason[0] != '\0')
		log_warnx("%s: %s failed: %s", sv->st.name, script, sv->st.reason);
	else
		log_info("%s: %s succeeded", sv->st.name, script);
	if (sv->running_down) {
		sv->running_down = 0;
		if (sv->timed_out && !sv->removed && !s->shutting_down)
			service_enter(s, sv, SV_FAILED, CLOCK_NEVER);
		else
			oneshot_settle(s, sv);
		return;
	}
	if (was == SV_STOPPING) { /* stopped before its up was done */
		oneshot_settle(s, sv);
		return;
	}
	if (sv->st.reason[0] != '\0') {
		service_enter(s, sv, SV_FAILED, CLOCK_NEVER); /* tried again when asked */
		return;
	}
	sv->st.ready = 1;
	service_enter(s, sv, SV_UP, CLOCK_NEVER);
}

/* What a death calls for, once finish (if any) is done with it. */
static void
after_death(struct sup *s, struct service *sv)
{
	int64_t now = clock_ms();

	container_on_death(s, sv); /* a critical one ends everything */
	if (sv->st.want == WANT_ONCE)
		sv->st.want = WANT_DOWN;
	if (sv->st.want == WANT_DOWN || s->shutting_down) {
		if (sv->death_stopped)
			log_info("%s: stopped", sv->st.name);
		settle_down(s, sv);
		return;
	}
	if (sv->death_stopped) { /* a restart: not a crash */
		start_soon(s, sv, 0);
		return;
	}
	sv->st.restarts++;
	if (sv->st.reason[0] != '\0') /* the run never ran */
		failed(s, sv, now);
	else
		start_soon(s, sv, sv->death_ms + backoff_ms(sv, sv->death_ran_ms));
}

static void
run_finish(struct sup *s, struct service *sv, int wstatus)
{
	char code[16], sig[16];
	char *argv[] = { "./finish", code, sig, NULL };
	char reason[sizeof sv->st.reason];

	snprintf(code, sizeof code, "%d",
		 wstatus != WSTATUS_UNKNOWN && WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
	snprintf(sig, sizeof sig, "%d",
		 wstatus != WSTATUS_UNKNOWN && WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0);
	memcpy(reason, sv->st.reason, sizeof reason); /* the run's, kept for after_death() */
	if (spawn_prog(s, sv, argv, 0) == -1) {
		log_warnx("%s: unable to run ./finish: %s", sv->st.name, sv->st.reason);
		memcpy(sv->st.reason, reason, sizeof reason);
		after_death(s, sv);
		return;
	}
	memcpy(sv->st.reason, reason, sizeof reason);
	log_info("%s: finish started (pid %ld)", sv->st.name, (long)sv->st.pid);
	service_enter(s, sv, SV_FINISHING,
		      sv->timeout_finish_ms > 0 ? clock_ms() + sv->timeout_finish_ms : CLOCK_NEVER);
}

/* "NAME: exited (code 1) after 12 ms", "NAME: finish exited (signal KILL) ..." */
static void
log_exit(struct service *sv, const char *what, int wstatus, int64_t ran)
{
	if (wstatus == WSTATUS_UNKNOWN)
		log_info("%s: %sexited (status unknown: taken over, not our child) after %lld ms",
			 sv->st.name, what, (long long)ran);
	else if (WIFSIGNALED(wstatus))
		log_info("%s: %sexited (signal %s) after %lld ms", sv->st.name, what,
			 sig_name(WTERMSIG(wstatus)), (long long)ran);
	else
		log_info("%s: %sexited (code %d) after %lld ms", sv->st.name, what,
			 WEXITSTATUS(wstatus), (long long)ran);
}

static void
clear_process(struct sup *s, struct service *sv, int leftover_sig)
{
	if (sv->st.pgid > 1 && leftover_sig > 0) {
		(void)kill(-sv->st.pgid, leftover_sig); /* ESRCH: nothing left, as it should be */
		(void)kill(-sv->st.pgid, SIGCONT);
		if (leftover_sig == SIGKILL)
			kill_leftovers(s, sv, sv->st.pgid);
	}
	service_set_pid(s, sv, 0, 0);
	sv->st.starttime = 0;
	sv->adopted = 0;
	drop_pidfd(s, sv);
}

void
service_on_exit(struct sup *s, struct service *sv, int wstatus)
{
	int64_t now = clock_ms(), ran = now - sv->start_ms;
	enum sv_state was = sv->st.state;

	(void)read_report(s, sv); /* it has exited: its report is whole, whatever came first */
	if (sv->oneshot) {
		oneshot_exit(s, sv, wstatus);
		return;
	}
	if (was == SV_FINISHING) {
		log_exit(sv, "finish ", wstatus, now - sv->state_ms);
		clear_process(s, sv, SIGKILL);
		after_death(s, sv);
		return;
	}
	if (was == SV_STARTING && sv->exec_errno == 0 && sv->pidfile != NULL &&
	    wstatus != WSTATUS_UNKNOWN && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
		/* the launcher of a self-daemonizing service is done: look for its daemon;
		 * its group is left alone, the daemon may still be in it */
		log_info("%s: launcher exited, reading %s", sv->st.name, sv->pidfile);
		sv->launcher_pgid = sv->st.pgid;
		clear_process(s, sv, 0);
		sv->pidfile_until_ms = now + TIMEOUT_PIDFILE_MS;
		service_enter(s, sv, SV_STARTING, now);
		return;
	}
	/* leftovers of a stopped service do not outlive it; those of a crashed one get the
	 * stop signal the service would have had */
	clear_process(s, sv, was == SV_STOPPING ? SIGKILL : sv->down_signal);
	sv->st.ready = 0;
	notify_close_fd(s, sv);
	record_death(sv, wstatus, ran);
	sv->death_stopped = was == SV_STOPPING;
	sv->death_ms = now;
	sv->death_ran_ms = ran;
	if (sv->exec_errno != 0)
		snprintf(sv->st.reason, sizeof sv->st.reason, "%s ./run: %s", sv->exec_stage,
			 strerror(sv->exec_errno));
	else
		log_exit(sv, sv->daemon ? "daemon " : "", wstatus, ran);
	if (sv->exec_errno == 0 && svdir_has(s, sv, "finish", 1))
		run_finish(s, sv, wstatus);
	else
		after_death(s, sv);
}

void
service_on_pidfd(struct sup *s, struct service *sv)
{
	/* a process taken over is not our child: no wait status, just the news */
	if (sv->adopted)
		service_on_exit(s, sv, WSTATUS_UNKNOWN);
}

/* A one-shot an earlier supervisor left up stays up: its up is not run twice. */
static int
adopt_oneshot(struct sup *s, struct service *sv, const struct sv_status *old)
{
	svdir_settings(s, sv);
	sv->st.want = old->want;
	sv->st.ready = 1;
	sv->st.ndeaths = old->ndeaths;
	memcpy(sv->st.deaths, old->deaths, sizeof old->deaths);
	sv->st.state = SV_UP;
	sv->st.since_sec = old->since_sec;
	log_info("%s: taken over (up, a one-shot)", sv->st.name);
	service_enter(s, sv, SV_UP, CLOCK_NEVER);
	return 1;
}

/* Takes over the process a status file of an earlier supervisor names, when it still
 * runs: the same pid and the same start time, checked through a pidfd so that the pid
 * cannot be recycled in between. 1 when taken over. */
int
service_adopt(struct sup *s, struct service *sv)
{
	struct sv_status old;
	int64_t now = clock_ms(), wall = clock_wall_sec();
	int pidfd;

	if (status_read(s->status_dirfd, sv->st.name, &old) == -1)
		return 0;
	if (sv->oneshot && old.oneshot && old.state == SV_UP && old.pid == 0)
		return adopt_oneshot(s, sv, &old);
	if (old.pid <= 1 || old.starttime == 0)
		return 0;
	pidfd = proc_pidfd(old.pid);
	/* the same process (start time), and alive: a zombie nobody reaped yet is dead */
	if (pidfd == -1 || proc_starttime(old.pid) != old.starttime ||
	    poll(&(struct pollfd){ .fd = pidfd, .events = POLLIN }, 1, 0) != 0) {
		if (pidfd != -1)
			fd_close(pidfd);
		return 0;
	}
	svdir_settings(s, sv);
	if (svdir_has(s, sv, "notify", 0)) { /* it may still talk: be there to hear it */
		char path[PATH_MAX];
		(void)notify_socket(s, sv, path, sizeof path, sv->st.reason, sizeof sv->st.reason);
		sv->st.reason[0] = '\0';
	}
	service_set_pid(s, sv, old.pid, old.pgid);
	sv->st.starttime = old.starttime;
	sv->adopted = proc_parent(old.pid) != getpid(); /* after a reexec: still our child */
	if (sv->adopted) {
		sv->pidfd = pidfd; /* its death comes on it; signals go through it */
		if (loop_watch(s, pidfd, loop_sv_src(sv, EV_PIDFD), EPOLLIN) == -1)
			log_warn("%s: watching its pidfd", sv->st.name);
	} else {
		fd_close(pidfd);
		sv->pidfd = -1;
	}
	if (sv->logger == NULL && output_open(s, sv) == -1) /* drain what it wrote meanwhile */
		log_warn("%s: its output FIFO", sv->st.name);
	sv->st.want = old.want;
	sv->st.ready = old.ready;
	sv->st.restarts = old.restarts;
	sv->st.ndeaths = old.ndeaths;
	memcpy(sv->st.deaths, old.deaths, sizeof old.deaths);
	memcpy(sv->st.text, old.text, sizeof old.text);
	sv->daemon = sv->pidfile != NULL;
	sv->start_ms = now - (wall > old.since_sec ? wall - old.since_sec : 0) * 1000;
	log_info("%s: taken over (pid %ld, %s)", sv->st.name, (long)old.pid, status_state_name(old.state));
	/* in the state it was in, since when it was: service_enter() then changes neither */
	sv->st.state = old.state == SV_FINISHING || old.state == SV_STOPPING ? old.state : SV_UP;
	sv->st.since_sec = old.since_sec;
	sv->since_pid = old.pid;
	switch (old.state) {
	case SV_FINISHING:
		service_enter(s, sv, SV_FINISHING, sv->timeout_finish_ms > 0 ? now + sv->timeout_finish_ms
									    : CLOCK_NEVER);
		break;
	case SV_STOPPING:
		stop_now(s, sv); /* again: the first stop signal may predate a restart of ours */
		break;
	default:
		if (sv->st.want == WANT_DOWN) /* asked to stop while nobody supervised it */
			stop_now(s, sv);
		else
			went_up(s, sv);
	}
	return 1;
}

/* A `pidfile` service whose launcher is done: is the daemon there? */
static void
check_pidfile(struct sup *s, struct service *sv, int64_t now)
{
	pid_t pid;
	int r;

	sv->st.reason[0] = '\0';
	r = svdir_pidfile(s, sv, &pid, sv->st.reason, sizeof sv->st.reason);
	if (r == 0 && now < sv->pidfile_until_ms) {
		service_enter(s, sv, SV_STARTING, now + PIDFILE_POLL_MS);
		return;
	}
	sv->pidfile_until_ms = 0;
	if (r == 1) {
		sv->launcher_pgid = 0;
		follow(s, sv, pid, getpgid(pid));
		sv->daemon = 1;
		log_info("%s: daemon found (pid %ld)", sv->st.name, (long)pid);
		went_up(s, sv);
		return;
	}
	if (r == 0 && sv->st.reason[0] == '\0')
		snprintf(sv->st.reason, sizeof sv->st.reason, "pidfile %.100s: not written within %d ms",
			 sv->pidfile, TIMEOUT_PIDFILE_MS);
	kill_launcher(s, sv);
	sv->st.restarts++;
	failed(s, sv, now);
}

void
service_on_deadline(struct sup *s, struct service *sv, int64_t now)
{
	switch (sv->st.state) {
	case SV_BACKOFF:
	case SV_FAILED:
		start_run(s, sv);
		break;
	case SV_STARTING:
		if (sv->oneshot)
			oneshot_timeout(s, sv);
		else if (sv->pidfile_until_ms > 0)
			check_pidfile(s, sv, now);
		break;
	case SV_STOPPING:
	case SV_FINISHING:
		if (sv->running_down) {
			oneshot_timeout(s, sv);
			break;
		}
		log_warnx("%s: %s within %lld ms, sending KILL", sv->st.name,
			  sv->st.state == SV_STOPPING ? "did not stop" : "finish did not end",
			  (long long)(sv->st.state == SV_STOPPING ? sv->timeout_kill_ms
								  : sv->timeout_finish_ms));
		kill_group(sv, SIGKILL);
		cgroup_kill(s, sv);
		sv->killed = 1;
		service_enter(s, sv, sv->st.state, CLOCK_NEVER);
		break;
	default:
		break;
	}
}

void
service_deps_poke(struct sup *s, struct service *sv)
{
	if (sv->stop_pending && sv->holders == 0) { /* its last dependent is down */
		sv->stop_pending = 0;
		if (sv->st.state == SV_UP || (sv->st.state == SV_STARTING && sv->st.pid > 0))
			stop_it(s, sv);
		return;
	}
	if (s->shutting_down)
		return;
	if (sv->st.state == SV_WAITING) {
		if (sv->pending == 0 || sv->cycle[0] != '\0')
			start_soon(s, sv, 0); /* start_run() looks again */
		else
			service_enter(s, sv, SV_WAITING, CLOCK_NEVER); /* what it waits for changed */
	} else if (sv->cycle_failed && sv->cycle[0] == '\0' && sv->st.state == SV_FAILED &&
		   sv->st.want != WANT_DOWN) {
		start_soon(s, sv, 0); /* its cycle is broken */
	}
}

int
service_cond(const struct service *sv, enum proto_cond c)
{
	switch (c) {
	case COND_UP:
		return sv->st.state == SV_UP;
	case COND_READY:
		return sv->st.state == SV_UP && sv->st.ready;
	case COND_DOWN:
	case COND_EXITED:
		return sv->st.state == SV_DOWN;
	}
	return 0;
}
