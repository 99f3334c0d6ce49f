/* container.c: supervise as a container's entrypoint (the README's "Container mode").
 * The PID 1 duties, as a checklist:
 * - every signal is taken from the signalfd (main.c blocks them all as PID 1: a PID 1
 *   gets no default action, so a signal without a handler would be lost);
 * - everything is reaped: the loop's SIGCHLD reap takes any child, services or not,
 *   orphans handed to us by the kernel included;
 * - what belongs to the main command (HUP, USR1, USR2, WINCH, CONT) goes to its group;
 * - TERM, INT and QUIT go to CMD first; the services stop once it is gone;
 * - the whole shutdown is bounded by -t: at the deadline, SIGKILL to what still runs;
 * - we leave with CMD's status, else a `critical` service's, else 0.
 *
 * CMD starts once every normally-up service is up and ready. That is a count (ct.unready)
 * kept as states change, never a walk over the services; a timer bounds the wait. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "clock.h"
#include "fdio.h"
#include "log.h"
#include "sig.h"
#include "sup.h"

#define CMD_START_MAX_MS 10000 /* CMD starts at the latest this long after we did */
#define CMD_KILL_MS 10000      /* CMD still running this long after the stop signal: KILL */
#define LOGGER_GRACE_MS 250    /* past the deadline: loggers read what is left, then KILL */

void
container_init(struct sup *s, char **argv, int64_t deadline_ms)
{
	struct container *ct = &s->ct;

	ct->pid1 = getpid() == 1;
	ct->argv = argv;
	ct->state = argv != NULL ? CMD_WAITING : CMD_NONE;
	ct->report_fd = -1;
	ct->exit_code = -1;
	/* inside Docker's default 10 s between its TERM and its KILL */
	ct->deadline_ms = deadline_ms >= 0 ? deadline_ms : ct->pid1 ? 9000 : -1;
	ct->cmd_timer = (struct timer){ .kind = TM_CMD, .obj = s };
	ct->deadline_timer = (struct timer){ .kind = TM_DEADLINE, .obj = s };
	theap_node_init(&ct->cmd_timer.node);
	theap_node_init(&ct->deadline_timer.node);
	/* CMD gets the terminal only when it is ours to give: we are its foreground group */
	ct->tty = argv != NULL && isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
	if (theap_reserve(&s->timers, s->timers.n + 2) == -1)
		log_fatal("timers");
	if (argv != NULL)
		timer_set(s, &ct->cmd_timer, clock_ms() + CMD_START_MAX_MS);
}

int
container_mode(const struct sup *s)
{
	return s->ct.pid1 || s->ct.argv != NULL;
}

/* --- readiness: a count, kept as states change --- */

void
container_on_state(struct sup *s, struct service *sv)
{
	int unready = sv->st.normally_up && !sv->removed && !service_cond(sv, COND_READY);

	if (unready == sv->unready)
		return;
	sv->unready = unready;
	if (unready)
		s->ct.unready++;
	else
		s->ct.unready--;
}

void
container_on_forget(struct sup *s, struct service *sv)
{
	if (sv->unready)
		s->ct.unready--;
	sv->unready = 0;
}

/* --- the main command --- */

/* In the child: CMD as if started by a shell: its own group (the terminal's foreground
 * one when there is a terminal), default dispositions, an empty mask, our stdio and
 * environment, no other descriptor. Every signal is blocked on entry (start_cmd). */
static void __attribute__((noreturn))
cmd_child(const struct sup *s, int report)
{
	sigset_t none;
	int err;

	(void)setpgid(0, 0);
	/* from a background group: allowed while SIGTTOU is blocked, as it is here */
	if (s->ct.tty)
		(void)tcsetpgrp(STDIN_FILENO, getpid()); /* no terminal control: CMD runs anyway */
	for (int sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL); /* fails for KILL, STOP and unused numbers: fine */
	(void)setrlimit(RLIMIT_NOFILE, &s->nofile); /* ours was raised; best effort */
#ifdef SYS_close_range
	(void)syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
#endif
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	execvp(s->ct.argv[0], s->ct.argv);
	err = errno;
	(void)fd_write_all(report, &err, sizeof err); /* the parent tells why */
	_exit(err == ENOENT || err == ENOTDIR ? 127 : 126);
}

static void
start_cmd(struct sup *s)
{
	struct container *ct = &s->ct;
	sigset_t all, old;
	int p[2];
	pid_t pid;

	timer_set(s, &ct->cmd_timer, CLOCK_NEVER);
	ct->state = CMD_DONE;
	if (pipe2(p, O_CLOEXEC) == -1) {
		log_warn("unable to start %s: pipe", ct->argv[0]);
		ct->exit_code = 126;
		s->shutting_down = 1;
		return;
	}
	sigfillset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, &old); /* none of our handlers in the child */
	pid = fork();
	if (pid == 0)
		cmd_child(s, p[1]);
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	fd_close(p[1]);
	if (pid == -1) {
		log_warn("unable to start %s: fork", ct->argv[0]);
		fd_close(p[0]);
		ct->exit_code = 126;
		s->shutting_down = 1;
		return;
	}
	(void)setpgid(pid, pid); /* as the child does: whichever runs first; EACCES once it exec'd */
	ct->pid = pid;
	ct->report_fd = p[0];
	ct->state = CMD_RUNNING;
	log_info("%s: started (pid %ld)", ct->argv[0], (long)pid);
}

/* The names of the normally-up services that are not ready, in the warning: once, when
 * CMD starts without them. */
static void
warn_unready(struct sup *s)
{
	char names[1024];
	size_t n = 0, more = 0;

	for (struct service *sv = s->services; sv != NULL; sv = sv->next) {
		if (!sv->unready)
			continue;
		if (n + strlen(sv->st.name) + 3 < sizeof names)
			n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", n ? ", " : "",
					      sv->st.name);
		else
			more++;
	}
	if (more > 0)
		snprintf(names + n, sizeof names - n, " and %zu more", more);
	log_warnx("starting %s after %d ms without waiting any longer for: %s", s->ct.argv[0],
		  CMD_START_MAX_MS, names);
}

void
container_pass(struct sup *s)
{
	if (s->ct.state == CMD_WAITING && s->ct.unready == 0 && !s->shutting_down)
		start_cmd(s);
}

/* 127 for a program not found, 126 for one that cannot be executed (as a shell says). */
static int
exec_failure(struct sup *s, int wstatus)
{
	int err = 0;

	if (s->ct.report_fd == -1)
		return 0;
	/* it has exited: its report is whole */
	if (fd_read(s->ct.report_fd, &err, sizeof err) != (ssize_t)sizeof err)
		err = 0;
	fd_close(s->ct.report_fd);
	s->ct.report_fd = -1;
	if (err == 0)
		return 0;
	log_warnx("unable to run %s: %s", s->ct.argv[0],
		  err == ENOENT ? "not found" : strerror(err));
	return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 126;
}

static int
wstatus_code(int wstatus)
{
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 1;
}

int
container_on_reaped(struct sup *s, pid_t pid, int wstatus)
{
	struct container *ct = &s->ct;
	int code;

	if (ct->state != CMD_RUNNING || pid != ct->pid)
		return 0;
	ct->state = CMD_DONE;
	ct->pid = 0;
	timer_set(s, &ct->cmd_timer, CLOCK_NEVER);
	code = exec_failure(s, wstatus);
	if (code == 0) {
		code = wstatus_code(wstatus);
		if (WIFSIGNALED(wstatus))
			log_info("%s: exited (signal %s): shutting down", ct->argv[0],
				 sig_name(WTERMSIG(wstatus)));
		else
			log_info("%s: exited (code %d): shutting down", ct->argv[0], code);
	}
	ct->exit_code = code; /* CMD's status wins over a critical service's */
	if (ct->tty) { /* the terminal back to us, for whatever we still write */
		sigset_t ttou, old;
		sigemptyset(&ttou);
		sigaddset(&ttou, SIGTTOU);
		(void)sigprocmask(SIG_BLOCK, &ttou, &old);
		(void)tcsetpgrp(STDIN_FILENO, getpgrp()); /* best effort: we are leaving */
		(void)sigprocmask(SIG_SETMASK, &old, NULL);
	}
	s->shutting_down = 1;
	return 1;
}

/* --- critical services --- */

/* The status a critical service leaves with: its exit code, 128+N for signal N, 126 or
 * 127 when its program could not be executed, 1 for another failure to start. */
static int
death_code(const struct service *sv)
{
	const struct sv_death *d = &sv->st.deaths[0];

	if (sv->exec_errno != 0)
		return sv->exec_errno == ENOENT || sv->exec_errno == ENOTDIR ? 127 : 126;
	if (sv->st.reason[0] != '\0' || sv->st.ndeaths == 0)
		return 1;
	if (d->sig > 0)
		return 128 + d->sig;
	return d->code >= 0 ? d->code : 1;
}

void
container_on_death(struct sup *s, struct service *sv)
{
	int code;

	if (s->shutting_down || sv->death_stopped || sv->st.want == WANT_DOWN || sv->removed ||
	    !svdir_has(s, sv, "critical", 0))
		return;
	code = death_code(sv);
	if (sv->st.reason[0] != '\0')
		log_warnx("%s: critical service unable to start: %s: shutting down, exit %d",
			  sv->st.name, sv->st.reason, code);
	else if (sv->st.deaths[0].sig > 0)
		log_warnx("%s: critical service died (signal %s): shutting down, exit %d", sv->st.name,
			  sig_name(sv->st.deaths[0].sig), code);
	else
		log_warnx("%s: critical service exited (code %d): shutting down, exit %d",
			  sv->st.name, sv->st.deaths[0].code, code);
	if (s->ct.exit_code == -1)
		s->ct.exit_code = code;
	s->shutting_down = 1;
}

/* --- signals --- */

static void
forward(struct sup *s, int sig)
{
	if (kill(-s->ct.pid, sig) == -1 && errno != ESRCH)
		log_warn("forwarding %s to %s (group %ld)", sig_name(sig), s->ct.argv[0],
			 (long)s->ct.pid);
}

int
container_on_signal(struct sup *s, int sig)
{
	struct container *ct = &s->ct;

	if (!container_mode(s) || sig == SIGCHLD)
		return 0;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
	case SIGQUIT:
		if (ct->stop_sig == 0)
			ct->stop_sig = sig;
		log_info("got %s: shutting down", sig_name(sig));
		s->shutting_down = s->shutting_down ? s->shutting_down : 1;
		if (ct->state == CMD_RUNNING && ct->signalled)
			forward(s, sig); /* again: asked for again */
		return 1;
	case SIGHUP:
	case SIGUSR1:
	case SIGUSR2:
	case SIGWINCH:
	case SIGCONT:
		if (ct->state == CMD_RUNNING) {
			forward(s, sig);
			return 1;
		}
		/* their meaning without CMD; a CMD to come cannot be handed over by a reexec */
		if (sig == SIGHUP || (sig == SIGUSR2 && ct->argv == NULL))
			return 0;
		log_info("got %s: ignored", sig_name(sig));
		return 1;
	default:
		log_info("got %s: ignored", sig_name(sig));
		return 1;
	}
}

/* --- shutdown --- */

static void
arm_deadline(struct sup *s)
{
	struct container *ct = &s->ct;

	if (ct->deadline_ms >= 0 && ct->deadline_timer.node.at == CLOCK_NEVER && !ct->killing)
		timer_set(s, &ct->deadline_timer, clock_ms() + ct->deadline_ms);
}

int
container_may_stop_services(struct sup *s)
{
	struct container *ct = &s->ct;

	arm_deadline(s);
	if (ct->state == CMD_WAITING) { /* never started: nothing to wait for */
		ct->state = CMD_NONE;
		timer_set(s, &ct->cmd_timer, CLOCK_NEVER);
	}
	if (ct->state != CMD_RUNNING)
		return 1;
	if (!ct->signalled) {
		int sig = ct->stop_sig ? ct->stop_sig : SIGTERM;
		ct->signalled = 1;
		log_info("sending %s to %s (group %ld)", sig_name(sig), ct->argv[0], (long)ct->pid);
		forward(s, sig);
		(void)kill(-ct->pid, SIGCONT); /* a stopped CMD could not act on it */
		timer_set(s, &ct->cmd_timer, clock_ms() + CMD_KILL_MS);
	}
	return 0;
}

int
container_done(const struct sup *s)
{
	return s->ct.state != CMD_RUNNING;
}

/* The deadline: SIGKILL to every process group we started but the loggers', which are
 * told to finish (their pipes closed) and get LOGGER_GRACE_MS to read what is left;
 * then to them too, and we leave. */
static void
kill_all(struct sup *s, int loggers)
{
	for (struct service *sv = s->services; sv != NULL; sv = sv->next) {
		if ((sv->main != NULL) != loggers || sv->st.pid <= 0)
			continue;
		if (sv->st.pgid > 1)
			(void)kill(-sv->st.pgid, SIGKILL); /* ESRCH: gone meanwhile */
		(void)kill(sv->st.pid, SIGKILL);           /* our child, not yet reaped */
		cgroup_kill(s, sv);
	}
	if (!loggers && s->ct.state == CMD_RUNNING)
		(void)kill(-s->ct.pid, SIGKILL);
}

static void
on_deadline(struct sup *s, int64_t now)
{
	struct container *ct = &s->ct;

	if (ct->killing == 0) {
		log_warnx("shutdown deadline (%lld ms) reached: killing what still runs",
			  (long long)ct->deadline_ms);
		ct->killing = 1;
		kill_all(s, 0);
		for (struct service *sv = s->services; sv != NULL; sv = sv->next)
			if (sv->main != NULL && sv->st.pid > 0 && sv->pipe_fd != -1)
				service_stop_logger(s, sv);
		timer_set(s, &ct->deadline_timer, now + LOGGER_GRACE_MS);
		return;
	}
	ct->killing = 2;
	kill_all(s, 1);
	s->exit_now = 1;
}

void
container_on_timer(struct sup *s, struct timer *t, int64_t now)
{
	struct container *ct = &s->ct;

	if (t->kind == TM_DEADLINE) {
		on_deadline(s, now);
		return;
	}
	if (ct->state == CMD_WAITING && s->shutting_down) {
		ct->state = CMD_NONE; /* the shutdown came first: CMD never runs */
	} else if (ct->state == CMD_WAITING) {
		warn_unready(s);
		start_cmd(s);
	} else if (ct->state == CMD_RUNNING) {
		log_warnx("%s did not exit within %d ms of %s: sending KILL", ct->argv[0], CMD_KILL_MS,
			  sig_name(ct->stop_sig ? ct->stop_sig : SIGTERM));
		(void)kill(-ct->pid, SIGKILL);
	}
}

int
container_exit_code(const struct sup *s)
{
	return s->ct.exit_code >= 0 ? s->ct.exit_code : 0;
}

/* Past the deadline, the loggers' grace bounds the last writes to stdout too. */
int64_t
container_drain_until(const struct sup *s)
{
	if (s->ct.killing)
		return clock_ms() + LOGGER_GRACE_MS;
	if (s->ct.deadline_timer.node.at != CLOCK_NEVER)
		return s->ct.deadline_timer.node.at + LOGGER_GRACE_MS;
	return CLOCK_NEVER;
}
