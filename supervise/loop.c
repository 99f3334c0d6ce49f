/* loop.c: wait and dispatch, nothing else. Every event is a descriptor: signals through
 * a signalfd, directory changes through inotify, commands through the FIFO, readiness
 * through pipes and sockets, waiting clients through their reply FIFOs. Timers are
 * deadlines on the monotonic clock; poll's timeout is the time to the earliest, infinite
 * when none, so an idle supervisor sleeps. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "fdio.h"
#include "log.h"
#include "sup.h"

enum { PFD_SIG, PFD_CTL, PFD_INO, PFD_FIXED };

/* A service's descriptor in the poll set: notification-fd, sd_notify, and
 * the pidfd of a process taken over (not our child: no SIGCHLD for it). */
struct svfd {
	struct service *sv;
	int fd, kind;
};

static void
on_service_fd(struct sup *s, const struct svfd *f)
{
	const int fds[] = { f->sv->notify_rfd, f->sv->sdnotify_fd,
			    f->sv->adopted ? f->sv->pidfd : -1 };

	if (fds[f->kind] != f->fd) /* closed meanwhile by an earlier event */
		return;
	if (f->kind == 0)
		service_on_notify(s, f->sv);
	else if (f->kind == 1)
		service_on_sdnotify(s, f->sv);
	else
		service_on_pidfd(s, f->sv);
}

static void
begin_shutdown(struct sup *s)
{
	if (s->shutting_down == 2)
		return;
	s->shutting_down = 2; /* 1: asked for; 2: every service told */
	log_info("stopping every service");
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
		if (sv != NULL)
			service_on_exit(s, sv, wstatus);
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

static int
all_down(const struct sup *s)
{
	for (const struct service *sv = s->services; sv != NULL; sv = sv->next)
		if (sv->st.pid > 0)
			return 0;
	return 1;
}

static int64_t
next_deadline(const struct sup *s)
{
	int64_t next = s->rescan_ms, w = waiters_next_deadline(s);

	if (w < next)
		next = w;
	for (const struct service *sv = s->services; sv != NULL; sv = sv->next)
		if (sv->deadline_ms < next)
			next = sv->deadline_ms;
	return next;
}

static void
run_deadlines(struct sup *s, int64_t now)
{
	if (s->rescan_ms <= now)
		scan_run(s);
	for (struct service *sv = s->services, *next; sv != NULL; sv = next) {
		next = sv->next;
		if (sv->deadline_ms <= now)
			service_on_deadline(s, sv, now);
	}
	waiters_on_deadline(s, now);
}

int
loop_run(struct sup *s)
{
	struct pollfd *pfd = NULL;
	struct svfd *svfds = NULL;
	size_t cap = 0;

	for (;;) {
		size_t need = PFD_FIXED + 3 * s->nservices + (size_t)waiters_count(s);
		int nsv = 0, nw, n;
		int64_t now;

		if (s->shutting_down)
			begin_shutdown(s);
		if (s->shutting_down && all_down(s))
			break;
		if (s->reexec && !s->shutting_down) {
			free(pfd);
			free(svfds);
			return 1;
		}
		if (need > cap) {
			size_t c = need * 2;
			struct pollfd *p = realloc(pfd, c * sizeof *pfd);
			struct svfd *e = p ? realloc(svfds, c * sizeof *e) : NULL;
			if (p != NULL)
				pfd = p;
			if (e == NULL)
				log_fatal("unable to grow the poll set");
			svfds = e;
			cap = c;
		}
		/* need >= PFD_FIXED > 0 = cap on the first pass, so pfd has been allocated:
		 * NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
		pfd[PFD_SIG] = (struct pollfd){ .fd = s->sig_fd, .events = POLLIN };
		pfd[PFD_CTL] = (struct pollfd){ .fd = s->ctl_rfd, .events = POLLIN };
		pfd[PFD_INO] = (struct pollfd){ .fd = s->ino_fd, .events = POLLIN };
		for (struct service *sv = s->services; sv != NULL; sv = sv->next) {
			const int fds[] = { sv->notify_rfd, sv->sdnotify_fd,
					    sv->adopted ? sv->pidfd : -1 };
			for (int k = 0; k < 3; k++) {
				if (fds[k] == -1)
					continue;
				pfd[PFD_FIXED + nsv] = (struct pollfd){ .fd = fds[k], .events = POLLIN };
				svfds[nsv++] = (struct svfd){ sv, fds[k], k };
			}
		}
		nw = waiters_pollfds(s, pfd + PFD_FIXED + nsv, (int)(cap - PFD_FIXED - (size_t)nsv));
		/* NOLINTNEXTLINE(bugprone-misplaced-widening-cast): a count of descriptors */
		n = poll(pfd, (nfds_t)(PFD_FIXED + nsv + nw),
			 clock_poll_timeout(next_deadline(s), clock_ms()));
		if (n == -1 && errno != EINTR)
			log_fatal("poll");
		if (n > 0) {
			/* services first: none is freed until the signals are read below */
			for (int i = 0; i < nsv; i++)
				if (pfd[PFD_FIXED + i].revents)
					on_service_fd(s, &svfds[i]);
			/* before anything can add a waiter and shift the list against pfd */
			waiters_on_poll(s, pfd + PFD_FIXED + nsv, nw);
			if (pfd[PFD_SIG].revents)
				on_signals(s);
			now = clock_ms();
			if (pfd[PFD_CTL].revents)
				control_on_readable(s, now);
			if (pfd[PFD_INO].revents)
				scan_on_inotify(s, now);
		}
		run_deadlines(s, clock_ms());
	}
	free(pfd);
	free(svfds);
	return 0;
}
