/* loop.c: wait and dispatch, nothing else. Every event is a descriptor in one epoll set,
 * registered once when it is opened and removed before it is closed: signals through a
 * signalfd, directory changes through inotify, commands through the FIFO, readiness
 * through pipes and sockets, exec reports through pipes, service output through FIFOs,
 * waiting clients through their reply FIFOs. Timers are deadlines on the monotonic clock
 * in a heap: the wait's timeout is the time to the earliest, infinite when none, so an
 * idle supervisor sleeps. Nothing here walks the services: an event costs the same with
 * ten services or ten thousand. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "fdio.h"
#include "log.h"
#include "sup.h"

#define EVENTS_MAX 256

void
loop_init(struct sup *s)
{
	s->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (s->ep_fd == -1)
		log_fatal("epoll_create1");
	s->ev_sig = (struct evsrc){ EV_SIGNAL, s };
	s->ev_ctl = (struct evsrc){ EV_CONTROL, s };
	s->ev_ino = (struct evsrc){ EV_INOTIFY, s };
	s->rescan = (struct timer){ .kind = TM_RESCAN, .obj = s };
	s->out_retry = (struct timer){ .kind = TM_OUTPUT, .obj = s };
	theap_node_init(&s->rescan.node);
	theap_node_init(&s->out_retry.node);
	if (loop_watch(s, s->sig_fd, &s->ev_sig, EPOLLIN) == -1 ||
	    loop_watch(s, s->ctl_rfd, &s->ev_ctl, EPOLLIN) == -1 ||
	    (s->ino_fd != -1 && loop_watch(s, s->ino_fd, &s->ev_ino, EPOLLIN) == -1))
		log_fatal("epoll_ctl");
}

int
loop_watch(struct sup *s, int fd, struct evsrc *e, unsigned events)
{
	struct epoll_event ev = { .events = events, .data.ptr = e };

	return epoll_ctl(s->ep_fd, EPOLL_CTL_ADD, fd, &ev);
}

void
loop_rewatch(struct sup *s, int fd, struct evsrc *e, unsigned events)
{
	struct epoll_event ev = { .events = events, .data.ptr = e };

	if (epoll_ctl(s->ep_fd, EPOLL_CTL_MOD, fd, &ev) == -1)
		log_warn("epoll_ctl(MOD, %d)", fd);
}

/* Before the close: a copy of the descriptor in a child that has yet to exec would keep
 * the registration, and its events, alive. */
void
loop_unwatch(struct sup *s, int fd)
{
	if (epoll_ctl(s->ep_fd, EPOLL_CTL_DEL, fd, NULL) == -1 && errno != ENOENT && errno != EBADF)
		log_warn("epoll_ctl(DEL, %d)", fd);
}

struct evsrc *
loop_sv_src(struct service *sv, enum ev_kind kind)
{
	struct evsrc *e = &sv->ev[kind - EV_SV_FIRST];

	e->kind = kind;
	e->obj = sv;
	return e;
}

void
timer_set(struct sup *s, struct timer *t, int64_t at)
{
	/* room for every service's and waiter's timer is reserved when they are made */
	if (theap_set(&s->timers, &t->node, at) == -1)
		log_fatal("unable to grow the timer heap");
}

static void
begin_shutdown(struct sup *s)
{
	if (s->shutting_down == 2)
		return;
	s->shutting_down = 2; /* 1: asked for; 2: every service told */
	log_info("stopping every service");
	notify_self(s, "STOPPING=1");
	for (struct service *sv = s->services, *next; sv != NULL; sv = next) {
		next = sv->next;
		/* a logger stops last: when its service is down (after_death() sees to the
		 * loggers of services still running) */
		if (sv->main == NULL)
			service_want(s, sv, WANT_DOWN, 0);
		else if (sv->main->st.pid == 0)
			service_stop_logger(s, sv);
	}
}

static void
reap(struct sup *s)
{
	int wstatus;
	pid_t pid;

	while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0) {
		struct service *sv = service_by_pid(s, pid);
		if (sv != NULL && !sv->adopted) {
			output_writer_gone(s, sv);
			service_on_exit(s, sv, wstatus);
		} else if (sv == NULL && container_on_reaped(s, pid, wstatus)) {
			continue; /* the main command */
		}
		/* else: a descendant a service left behind, reparented to us: reaped, no zombie */
	}
	if (pid == -1 && errno != ECHILD)
		log_warn("waitpid");
}

static void
on_signals(struct sup *s)
{
	struct signalfd_siginfo si;

	while (fd_read(s->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (container_on_signal(s, (int)si.ssi_signo))
			continue;
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(s);
			break;
		case SIGTERM:
		case SIGINT:
			log_info("got %s: shutting down", si.ssi_signo == SIGTERM ? "TERM" : "INT");
			s->shutting_down = 1;
			break;
		case SIGUSR2:
			log_info("got USR2: re-executing");
			s->reexec = !s->shutting_down;
			break;
		case SIGHUP:
			log_info("got HUP: rescanning");
			scan_run(s);
			break;
		default:
			break;
		}
	}
}

static void
dispatch(struct sup *s, struct evsrc *e, unsigned events, int64_t now)
{
	struct service *sv = e->obj;

	switch (e->kind) {
	case EV_SIGNAL:
		on_signals(s);
		break;
	case EV_CONTROL:
		control_on_readable(s, now);
		break;
	case EV_INOTIFY:
		scan_on_inotify(s, now);
		break;
	case EV_WAITER:
		waiter_on_event(s, e->obj, events);
		break;
	case EV_STDOUT:
		output_on_stdout(s);
		break;
	/* a service's descriptor may have been closed by an earlier event of this pass
	 * (a forgotten service is freed only once the pass is over) */
	case EV_NOTIFY:
		if (sv->notify_rfd != -1)
			service_on_notify(s, sv);
		break;
	case EV_SDNOTIFY:
		if (sv->sdnotify_fd != -1)
			service_on_sdnotify(s, sv);
		break;
	case EV_PIDFD:
		if (sv->pidfd != -1 && sv->adopted) {
			output_writer_gone(s, sv);
			service_on_pidfd(s, sv);
		}
		break;
	case EV_SPAWN:
		if (sv->spawn_fd != -1)
			service_on_spawn(s, sv);
		break;
	case EV_OUTPUT:
		if (sv->out_fd != -1)
			output_on_readable(s, sv);
		break;
	case EV_KINDS:
		break;
	}
}

static void
run_timers(struct sup *s, int64_t now)
{
	struct theap_node *n;

	while ((n = theap_pop_due(&s->timers, now)) != NULL) {
		struct timer *t = (struct timer *)(void *)n;
		switch (t->kind) {
		case TM_SERVICE:
			service_on_deadline(s, t->obj, now);
			break;
		case TM_WAITER:
			waiter_on_deadline(s, t->obj);
			break;
		case TM_RESCAN:
			scan_run(s);
			break;
		case TM_OUTPUT:
			output_on_retry(s, now);
			break;
		case TM_CMD:
		case TM_DEADLINE:
			container_on_timer(s, t, now);
			break;
		}
	}
}

int
loop_run(struct sup *s)
{
	struct epoll_event evs[EVENTS_MAX];

	for (;;) {
		int n;

		/* CMD first: the services stop once it is gone */
		if (s->shutting_down && container_may_stop_services(s))
			begin_shutdown(s);
		if ((s->shutting_down && s->nrunning == 0 && container_done(s)) || s->exit_now)
			break;
		container_pass(s);
		if (s->reexec && !s->shutting_down)
			return 1;
		n = epoll_wait(s->ep_fd, evs, EVENTS_MAX,
			       clock_poll_timeout(theap_next(&s->timers), clock_ms()));
		if (n == -1 && errno != EINTR)
			log_fatal("epoll_wait");
		for (int i = 0; i < n; i++)
			dispatch(s, evs[i].data.ptr, evs[i].events, clock_ms());
		run_timers(s, clock_ms());
		leftovers_run(s);
		waiters_reap(s);
		graveyard_free(s);
	}
	return 0;
}
