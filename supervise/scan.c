/* scan.c: SVDIR and its watch. A rescan is one readdir: new service directories are
 * added (and started unless they hold `down`), vanished ones stopped and forgotten.
 * inotify says when to rescan: SVDIR itself, plus each subdirectory that is not a
 * service yet, so that a `run` arriving or becoming executable later is seen too. Without
 * inotify, a scan every RESCAN_FALLBACK_MS takes its place. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "fdio.h"
#include "log.h"
#include "sup.h"

#define DIR_EVENTS (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | \
		    IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
#define CAND_EVENTS (IN_CREATE | IN_MOVED_TO | IN_ATTRIB | IN_CLOSE_WRITE | IN_ONLYDIR)

/* Entries of SVDIR that are not services: directories still without an executable run
 * (watched) and refused names (warned about once). Forgotten when they vanish. */
struct cand {
	struct cand *next;
	int wd;       /* -1: not watched */
	int seen;
	char name[];
};
static struct cand *cands;

static struct cand *
cand_get(const char *name, int *is_new)
{
	struct cand *c;

	*is_new = 0;
	for (c = cands; c != NULL; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	c = malloc(sizeof *c + strlen(name) + 1);
	if (c == NULL)
		return NULL;
	c->wd = -1;
	strcpy(c->name, name);
	c->next = cands;
	cands = c;
	*is_new = 1;
	return c;
}

static void
cands_prune(struct sup *s)
{
	for (struct cand **pp = &cands; *pp != NULL;) {
		struct cand *c = *pp;
		if (c->seen) {
			c->seen = 0;
			pp = &c->next;
			continue;
		}
		if (c->wd != -1)
			(void)inotify_rm_watch(s->ino_fd, c->wd); /* EINVAL: already gone */
		*pp = c->next;
		free(c);
	}
}

int
scan_init(struct sup *s)
{
	s->ino_wd = -1;
	s->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->ino_fd == -1) {
		log_warn("inotify unavailable, scanning %s every %d ms", s->paths.svdir,
			 RESCAN_FALLBACK_MS);
		return 0;
	}
	s->ino_wd = inotify_add_watch(s->ino_fd, s->paths.svdir, DIR_EVENTS);
	if (s->ino_wd == -1)
		log_warn("unable to watch %s, scanning it every %d ms", s->paths.svdir,
			 RESCAN_FALLBACK_MS);
	return 0;
}

/* What an entry of SVDIR is: 1 a service (with its `down` flag; a one-shot, whose `down`
 * is its stop script, is normally up), 0 a directory without an executable run (or a
 * one-shot's up) yet, -1 nothing of ours. */
static int
classify(int dfd, const char *name, int *normally_up, int *oneshot)
{
	struct stat st;
	char path[SVNAME_MAX + 8];

	if (fstatat(dfd, name, &st, 0) == -1 || !S_ISDIR(st.st_mode))
		return -1;
	*oneshot = svdir_oneshot_at(dfd, name);
	if (*oneshot) {
		snprintf(path, sizeof path, "%s/up", name);
		*normally_up = 1;
		return fstatat(dfd, path, &st, 0) == 0 && S_ISREG(st.st_mode) ? 1 : 0;
	}
	snprintf(path, sizeof path, "%s/run", name);
	if (fstatat(dfd, path, &st, 0) == -1 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
		return 0;
	snprintf(path, sizeof path, "%s/down", name);
	*normally_up = faccessat(dfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == -1;
	return 1;
}

static void
note_candidate(struct sup *s, const char *name, int valid_name, int kind)
{
	int is_new;
	struct cand *c = cand_get(name, &is_new);
	char path[PATH_MAX];

	if (c == NULL)
		return;
	c->seen = 1;
	if (!valid_name) {
		if (is_new)
			log_warnx("%s/%s: ignored: not a valid service name (1-64 of A-Z a-z 0-9 . _ @ -)",
				  s->paths.svdir, name);
		return;
	}
	if (kind != 0 || c->wd != -1 || s->ino_fd == -1)
		return;
	if (path_join(path, sizeof path, s->paths.svdir, name, NULL) == 0)
		c->wd = inotify_add_watch(s->ino_fd, path, CAND_EVENTS);
	if (is_new)
		log_info("%s: waiting for an executable %s/%s/run", name, s->paths.svdir, name);
}

/* A new service, and its logger when it has a log/ with an executable run: the logger is
 * made and started first. The service itself is started by start_found(), once the
 * scan has read what every service depends on. */
static struct service *
add_service(struct sup *s, const char *name, int normally_up, int oneshot)
{
	struct service *sv = service_new(s, name, normally_up, NULL), *lg = NULL;
	char ref[SVREF_MAX + 1];

	if (sv == NULL)
		return NULL;
	sv->present = 1;
	sv->fresh = 1;
	sv->oneshot = oneshot;
	if (svdir_has(s, sv, "log/run", 1)) {
		snprintf(ref, sizeof ref, "%s%s", name, SVNAME_LOG);
		lg = service_new(s, ref, 1, sv);
	}
	log_info("%s: found%s%s", name, lg ? " with a logger" : "", normally_up ? "" : " (down)");
	/* what an earlier supervisor left running is taken over, not started twice */
	if (lg != NULL && !service_adopt(s, lg))
		service_want(s, lg, s->shutting_down ? WANT_DOWN : WANT_UP, 0);
	return sv;
}

static void
start_found(struct sup *s, struct service *sv)
{
	if (!service_adopt(s, sv))
		service_want(s, sv, sv->st.normally_up && !s->shutting_down ? WANT_UP : WANT_DOWN, 0);
}

void
scan_run(struct sup *s)
{
	DIR *d = opendir(s->paths.svdir);
	struct dirent *de;
	int partial;

	svdir_check_root(s);

	timer_set(s, &s->rescan, s->ino_wd == -1 ? clock_ms() + RESCAN_FALLBACK_MS : CLOCK_NEVER);
	if (d == NULL) {
		/* keep what runs: a directory that cannot be read now may be back soon */
		log_warn("unable to read %s", s->paths.svdir);
		return;
	}
	for (struct service *sv = s->services; sv != NULL; sv = sv->next)
		sv->present = 0;
	while ((errno = 0, de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		size_t len = strlen(name);
		int normally_up = 1, kind, oneshot;
		struct service *sv;

		if (name[0] == '.')
			continue;
		sv = service_find(s, name);
		if (sv != NULL) { /* known: stays while its directory exists, run or not */
			kind = classify(dirfd(d), name, &normally_up, &oneshot);
			if (kind >= 0)
				sv->present = 1;
			if (sv->present && sv->removed) { /* back while stopping: a new life */
				sv->removed = 0;
				service_want(s, sv, normally_up ? WANT_UP : WANT_DOWN, 0);
			}
			continue;
		}
		if (!svname_valid(name, len)) {
			note_candidate(s, name, 0, -1);
			continue;
		}
		kind = classify(dirfd(d), name, &normally_up, &oneshot);
		if (kind < 0)
			continue;
		if (kind == 0) {
			note_candidate(s, name, 1, 0);
			continue;
		}
		(void)add_service(s, name, normally_up, oneshot);
	}
	partial = errno != 0;
	if (partial)
		log_warn("unable to read %s", s->paths.svdir);
	closedir(d);
	/* what they depend on is read (and the cycles found) before anything new starts */
	s->deps_in_scan = 1;
	deps_scan(s);
	for (struct service *sv = s->services, *next; sv != NULL; sv = next) {
		next = sv->next; /* new ones come first: a start forgets nothing that follows */
		if (sv->fresh) {
			sv->fresh = 0;
			start_found(s, sv);
		}
	}
	deps_pull_all(s);
	s->deps_in_scan = 0;
	if (partial)
		return; /* a partial listing must not remove anything */
	cands_prune(s);
	for (struct service *sv = s->services, *next; sv != NULL; sv = next) {
		next = sv->next;
		/* loggers go with their service; the list runs newest first, so a logger
		 * (made after its service) is never the `next` that a removal frees */
		if (!sv->present && !sv->removed && sv->main == NULL) {
			log_info("%s: directory removed, stopping", sv->st.name);
			service_removed(s, sv);
		}
	}
}

void
scan_on_inotify(struct sup *s, int64_t now)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;
	int any = 0;

	while ((n = fd_read(s->ino_fd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)(void *)p;
			if (ev->wd == s->ino_wd && (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)))
				log_warnx("%s itself was removed or moved", s->paths.svdir);
			any = 1;
			p += sizeof *ev + ev->len;
		}
	}
	if (n == -1 && errno != EAGAIN)
		log_warn("reading inotify events");
	if (any && s->rescan.node.at > now + RESCAN_DEBOUNCE_MS)
		timer_set(s, &s->rescan, now + RESCAN_DEBOUNCE_MS);
}
