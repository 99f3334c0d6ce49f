/* registry.c: the services the supervisor knows, by name (a hash table) and in order of
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

static void
hash_grow(struct sup *s)
{
	size_t n = s->nhash ? s->nhash * 2 : 64;
	/* an array of pointers: NOLINTNEXTLINE(bugprone-sizeof-expression) */
	struct service **h = calloc(n, sizeof *h);

	if (h == NULL)
		return; /* keep the old table: longer chains, still correct */
	for (struct service *sv = s->services; sv != NULL; sv = sv->next) {
		size_t i = hash_name(sv->st.name) & (n - 1);
		sv->hnext = h[i];
		h[i] = sv;
	}
	free(s->hash);
	s->hash = h;
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
	for (struct service *sv = s->services; sv != NULL; sv = sv->next)
		if (sv->st.pid == pid)
			return sv;
	return NULL;
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
	sv->pipe_fd = sv->notify_rfd = sv->sdnotify_fd = sv->pidfd = -1;
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
	sv->deadline_ms = CLOCK_NEVER;
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
	if (sv->pidfd != -1)
		fd_close(sv->pidfd);
	notify_close(s, sv);
	cgroup_remove(s, sv);
	free(sv->pidfile);
	free(sv);
}
