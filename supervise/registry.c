/* registry.c: the services the supervisor knows, by name, by pid and by process group
 * (hash tables: a death or a command finds its service in O(1)) and in order of
 * discovery; making one (with its logger's FIFO and its log directory) and forgetting
 * one (its status file, its descriptors). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "fdio.h"
#include "log.h"
#include "sup.h"

static size_t
hash_name(const char *s)
{
	size_t h = 5381;

	while (*s != '\0')
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static size_t
hash_pid(pid_t pid, size_t n)
{
	return ((size_t)pid * 2654435761U) & (n - 1);
}

static void
hash_grow(struct sup *s)
{
	size_t n = s->nhash ? s->nhash * 2 : 64;
	/* arrays of pointers: NOLINTNEXTLINE(bugprone-sizeof-expression) */
	struct service **h = calloc(n, sizeof *h), **p = calloc(n, sizeof *p), **g = calloc(n, sizeof *g);

	if (h == NULL || p == NULL || g == NULL) {
		free(h); /* keep the old tables: longer chains, still correct */
		free(p);
		free(g);
		return;
	}
	for (struct service *sv = s->services; sv != NULL; sv = sv->next) {
		size_t i = hash_name(sv->st.name) & (n - 1);
		sv->hnext = h[i];
		h[i] = sv;
		if (sv->st.pid > 0) {
			i = hash_pid(sv->st.pid, n);
			sv->pnext = p[i];
			p[i] = sv;
		}
		if (sv->st.pgid > 0) {
			i = hash_pid(sv->st.pgid, n);
			sv->gnext = g[i];
			g[i] = sv;
		}
	}
	free(s->hash);
	free(s->ptab);
	free(s->gtab);
	s->hash = h;
	s->ptab = p;
	s->gtab = g;
	s->nhash = n;
}

struct service *
service_find(struct sup *s, const char *name)
{
	if (s->nhash == 0)
		return NULL;
	for (struct service *sv = s->hash[hash_name(name) & (s->nhash - 1)]; sv; sv = sv->hnext)
		if (strcmp(sv->st.name, name) == 0)
			return sv;
	return NULL;
}

struct service *
service_by_pid(struct sup *s, pid_t pid)
{
	if (s->nhash == 0 || pid <= 0)
		return NULL;
	for (struct service *sv = s->ptab[hash_pid(pid, s->nhash)]; sv; sv = sv->pnext)
		if (sv->st.pid == pid)
			return sv;
	return NULL;
}

struct service *
service_by_pgid(struct sup *s, pid_t pgid)
{
	if (s->nhash == 0 || pgid <= 0)
		return NULL;
	for (struct service *sv = s->gtab[hash_pid(pgid, s->nhash)]; sv; sv = sv->gnext)
		if (sv->st.pgid == pgid)
			return sv;
	return NULL;
}

static void
unlink_chain(struct service **pp, struct service *sv, int by_group)
{
	for (; *pp != NULL; pp = by_group ? &(*pp)->gnext : &(*pp)->pnext)
		if (*pp == sv) {
			*pp = by_group ? sv->gnext : sv->pnext;
			return;
		}
}

/* The one way st.pid and st.pgid change, so that the tables and the count of services
 * with a process stay right. */
void
service_set_pid(struct sup *s, struct service *sv, pid_t pid, pid_t pgid)
{
	if (sv->st.pid > 0) {
		unlink_chain(&s->ptab[hash_pid(sv->st.pid, s->nhash)], sv, 0);
		s->nrunning--;
	}
	if (sv->st.pgid > 0)
		unlink_chain(&s->gtab[hash_pid(sv->st.pgid, s->nhash)], sv, 1);
	sv->st.pid = pid;
	sv->st.pgid = pgid;
	if (pid > 0) {
		size_t i = hash_pid(pid, s->nhash);
		sv->pnext = s->ptab[i];
		s->ptab[i] = sv;
		s->nrunning++;
	}
	if (pgid > 0) {
		size_t i = hash_pid(pgid, s->nhash);
		sv->gnext = s->gtab[i];
		s->gtab[i] = sv;
	}
}

/* The FIFO between a service and its logger, held open read-write by us for as long as
 * the logger exists: whichever side restarts, the other end stays, and nothing written
 * is lost. */
static int
logger_pipe(struct sup *s, struct service *logger, const char *file)
{
	if (mkfifoat(s->pipe_dirfd, file, 0600) == -1 && errno != EEXIST)
		return -1;
	logger->pipe_fd = openat(s->pipe_dirfd, file, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
	return logger->pipe_fd == -1 ? -1 : 0;
}

struct service *
service_new(struct sup *s, const char *name, int normally_up, struct service *main)
{
	struct service *sv = calloc(1, sizeof *sv);
	char file[SVREF_MAX + 1];
	size_t i;

	if (sv == NULL) {
		log_warn("%s: unable to add service", name);
		return NULL;
	}
	sv->pipe_fd = sv->notify_rfd = sv->sdnotify_fd = sv->pidfd = sv->spawn_fd = sv->out_fd = -1;
	sv->timer = (struct timer){ .kind = TM_SERVICE, .obj = sv };
	theap_node_init(&sv->timer.node);
	if (theap_reserve(&s->timers, s->nservices + 64) == -1) {
		log_warn("%s: unable to add service", name);
		free(sv);
		return NULL;
	}
	/* the pipe is named after the service it carries the output of */
	if (main != NULL && logger_pipe(s, sv, main->st.name) == -1) {
		log_warn("%s: unable to make its pipe %s/%s/%s", name, s->paths.rundir, RUN_PIPE,
			 main->st.name);
		free(sv);
		return NULL;
	}
	svname_to_file(name, file);
	if (mkdirat(s->svlog_dirfd, file, 0755) == -1 && errno != EEXIST)
		log_warn("unable to create %s/%s/%s", s->paths.rundir, RUN_SVLOG, file);
	strcpy(sv->st.name, name); /* the scan validated it: at most SVREF_MAX bytes */
	sv->st.state = SV_DOWN;
	sv->st.since_sec = clock_wall_sec();
	sv->st.normally_up = normally_up;
	sv->st.want = WANT_DOWN;
	sv->state_ms = clock_ms();
	sv->start_ms = -RESTART_SPACING_MS;
	if (main != NULL) {
		sv->main = main;
		main->logger = sv;
	}
	if (s->nservices + 1 > s->nhash / 2)
		hash_grow(s);
	sv->next = s->services;
	s->services = sv;
	i = hash_name(name) & (s->nhash - 1);
	sv->hnext = s->hash[i];
	s->hash[i] = sv;
	s->nservices++;
	return sv; /* no status written yet: an earlier one may name a process to take over */
}

void
service_forget(struct sup *s, struct service *sv)
{
	struct service **pp;
	char file[SVREF_MAX + 1];

	deps_forget(s, sv); /* its dependents now wait for "no such service" */
	for (pp = &s->services; *pp != sv; pp = &(*pp)->next)
		;
	*pp = sv->next;
	for (pp = &s->hash[hash_name(sv->st.name) & (s->nhash - 1)]; *pp != sv; pp = &(*pp)->hnext)
		;
	*pp = sv->hnext;
	s->nservices--;
	svname_to_file(sv->st.name, file);
	if (unlinkat(s->status_dirfd, file, 0) == -1 && errno != ENOENT)
		log_warn("unable to remove %s/%s/%s", s->paths.rundir, RUN_STATUS, file);
	log_info("%s: forgotten: its directory is gone", sv->st.name);
	sv->st.state = SV_DOWN;
	sv->removed = 1;
	container_on_forget(s, sv);
	waiters_on_change(s, sv); /* before the free: waiters drop their interest */
	if (sv->main != NULL)
		sv->main->logger = NULL;
	if (sv->logger != NULL)
		sv->logger->main = NULL;
	if (strchr(file, ':') != NULL) { /* a logger: the pipe bears its service's name */
		if (sv->pipe_fd != -1)
			fd_close(sv->pipe_fd);
		*strchr(file, ':') = '\0';
		(void)unlinkat(s->pipe_dirfd, file, 0);
	}
	timer_set(s, &sv->timer, CLOCK_NEVER);
	service_set_pid(s, sv, 0, 0);
	for (pp = &s->status_dirty; sv->status_dirty && *pp != NULL; pp = &(*pp)->dirty_next)
		if (*pp == sv) {
			*pp = sv->dirty_next;
			break;
		}
	if (sv->pidfd != -1) {
		loop_unwatch(s, sv->pidfd);
		fd_close(sv->pidfd);
		sv->pidfd = -1;
	}
	if (sv->spawn_fd != -1) {
		loop_unwatch(s, sv->spawn_fd);
		fd_close(sv->spawn_fd);
		sv->spawn_fd = -1;
	}
	output_close(s, sv);
	notify_close(s, sv);
	cgroup_remove(s, sv);
	/* events of this pass may still name it: freed once the pass is over */
	sv->dnext = s->graveyard;
	s->graveyard = sv;
}

void
graveyard_free(struct sup *s)
{
	while (s->graveyard != NULL) {
		struct service *sv = s->graveyard;
		s->graveyard = sv->dnext;
		free(sv->pidfile);
		free(sv);
	}
}
