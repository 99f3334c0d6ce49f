/* service.c: each service is a state machine; this file owns every transition.
 *
 *   DOWN     --want up/once-------------------> STARTING (spawned) or BACKOFF (spacing)
 *   STARTING --exec report EOF----------------> UP
 *   STARTING,UP --exit, wanted up-------------> STARTING, BACKOFF or FAILED (exec failed)
 *   STARTING,UP --exit, wanted down or once---> DOWN
 *   STARTING,UP --want down, or restart-------> STOPPING (down-signal + CONT to the group)
 *   STOPPING --timeout-kill-------------------> STOPPING (SIGKILL to the group)
 *   STOPPING --exit---------------------------> DOWN, or STARTING/BACKOFF when wanted up
 *   BACKOFF,FAILED --deadline-----------------> STARTING
 *   BACKOFF,FAILED --want down----------------> DOWN
 *
 * Every change goes through service_enter(), which stamps the time, rewrites the status
 * file and tells the waiters: keeping every change on that one path is what makes the
 * status trustworthy. What is (st.state) stays apart from what was asked (st.want). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "fdio.h"
#include "log.h"
#include "settings.h"
#include "sig.h"
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

static void
status_save(struct sup *s, struct service *sv)
{
	if (status_write(s->status_dirfd, &sv->st) == -1)
		log_warn("unable to write %s/%s/%s", s->paths.rundir, RUN_STATUS, sv->st.name);
}

/* The one way a state changes. */
static void
service_enter(struct sup *s, struct service *sv, enum sv_state next, int64_t deadline_ms)
{
	int64_t now = clock_ms();

	if (sv->st.state != next) {
		sv->st.state = next;
		sv->st.since_sec = clock_wall_sec();
		sv->state_ms = now;
	}
	sv->deadline_ms = deadline_ms;
	sv->st.next_sec = deadline_ms == CLOCK_NEVER ? 0
			  : clock_wall_sec() + (deadline_ms - now + 999) / 1000;
	if (next != SV_FAILED && next != SV_BACKOFF)
		sv->st.reason[0] = '\0';
	status_save(s, sv);
	waiters_on_change(s, sv);
}

struct service *
service_new(struct sup *s, const char *name, int normally_up)
{
	struct service *sv = calloc(1, sizeof *sv);
	size_t i;

	if (sv == NULL) {
		log_warn("%s: unable to add service", name);
		return NULL;
	}
	if (mkdirat(s->svlog_dirfd, name, 0755) == -1 && errno != EEXIST)
		log_warn("unable to create %s/%s/%s", s->paths.rundir, RUN_SVLOG, name);
	strcpy(sv->st.name, name); /* the scan validated it: at most SVNAME_MAX bytes */
	sv->st.state = SV_DOWN;
	sv->st.since_sec = clock_wall_sec();
	sv->st.normally_up = normally_up;
	sv->st.want = WANT_DOWN;
	sv->exec_fd = -1;
	sv->deadline_ms = CLOCK_NEVER;
	sv->state_ms = clock_ms();
	sv->start_ms = -RESTART_SPACING_MS;
	if (s->nservices + 1 > s->nhash / 2)
		hash_grow(s);
	sv->next = s->services;
	s->services = sv;
	i = hash_name(name) & (s->nhash - 1);
	sv->hnext = s->hash[i];
	s->hash[i] = sv;
	s->nservices++;
	status_save(s, sv);
	return sv;
}

void
service_forget(struct sup *s, struct service *sv)
{
	struct service **pp;

	for (pp = &s->services; *pp != sv; pp = &(*pp)->next)
		;
	*pp = sv->next;
	for (pp = &s->hash[hash_name(sv->st.name) & (s->nhash - 1)]; *pp != sv; pp = &(*pp)->hnext)
		;
	*pp = sv->hnext;
	s->nservices--;
	if (unlinkat(s->status_dirfd, sv->st.name, 0) == -1 && errno != ENOENT)
		log_warn("unable to remove %s/%s/%s", s->paths.rundir, RUN_STATUS, sv->st.name);
	log_info("%s: forgotten: its directory is gone", sv->st.name);
	sv->st.state = SV_DOWN;
	sv->removed = 1;
	waiters_on_change(s, sv); /* before the free: waiters drop their interest */
	if (sv->exec_fd != -1)
		fd_close(sv->exec_fd);
	free(sv);
}

/* A settings file of the service directory into text: 1 when read, 0 when absent (the
 * default applies silently), -1 when unreadable (logged; the default applies). */
static int
read_setting(struct sup *s, struct service *sv, const char *file, char *text, size_t size)
{
	char path[PATH_MAX];

	if (path_join(path, sizeof path, s->paths.svdir, sv->st.name, file) == -1 ||
	    fd_slurp(path, text, size, 0) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("%s: unable to read %s, using the default", sv->st.name, file);
		return -1;
	}
	return 1;
}

static void
read_settings(struct sup *s, struct service *sv)
{
	char text[SETTINGS_FILE_MAX];
	const char *why;

	sv->down_signal = SIGTERM;
	if (read_setting(s, sv, "down-signal", text, sizeof text) == 1 &&
	    settings_signal(text, &sv->down_signal, &why) == -1)
		log_warnx("%s: ignoring down-signal: %s; using TERM", sv->st.name, why);
	sv->timeout_kill_ms = TIMEOUT_KILL_DEFAULT_MS;
	if (read_setting(s, sv, "timeout-kill", text, sizeof text) == 1 &&
	    settings_ms(text, &sv->timeout_kill_ms, &why) == -1)
		log_warnx("%s: ignoring timeout-kill: %s; using %d", sv->st.name, why,
			  TIMEOUT_KILL_DEFAULT_MS);
}

static int64_t backoff_ms(struct service *sv, int64_t ran_ms);

/* A start that did not get as far as a running ./run: FAILED with the reason, retried on
 * the crash schedule. */
static void
failed(struct sup *s, struct service *sv, int64_t now)
{
	int64_t at = now + backoff_ms(sv, 0);

	if (at < sv->start_ms + RESTART_SPACING_MS)
		at = sv->start_ms + RESTART_SPACING_MS;
	log_warnx("%s: unable to start: %s; retrying in %lld ms", sv->st.name, sv->st.reason,
		  (long long)(at - now));
	service_enter(s, sv, SV_FAILED, at);
}

static void
spawn_now(struct sup *s, struct service *sv)
{
	char dir[PATH_MAX], logpath[PATH_MAX];
	struct spawn_req req = { dir, logpath };
	struct spawn_res res;
	int64_t now = clock_ms();

	read_settings(s, sv);
	sv->start_ms = now;
	sv->killed = 0;
	sv->exec_errno = 0;
	sv->st.ready = 0;
	if (path_join(dir, sizeof dir, s->paths.svdir, sv->st.name, NULL) == -1 ||
	    path_join(logpath, sizeof logpath, s->paths.rundir, RUN_SVLOG, sv->st.name) == -1 ||
	    strlen(logpath) + sizeof "/current" > sizeof logpath) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	strcat(logpath, "/current");
	if (spawn_service(&req, &res) == -1)
		goto fail;
	sv->st.pid = res.pid;
	sv->st.pgid = res.pgid;
	sv->st.starttime = spawn_starttime(res.pid);
	sv->exec_fd = res.report_fd;
	log_info("%s: started (pid %ld)", sv->st.name, (long)res.pid);
	service_enter(s, sv, SV_STARTING, CLOCK_NEVER);
	return;
fail:
	snprintf(sv->st.reason, sizeof sv->st.reason, "spawn: %s", strerror(errno));
	failed(s, sv, now);
}

/* Start at once, or as soon as the spacing between starts allows. */
static void
start_soon(struct sup *s, struct service *sv, int64_t not_before)
{
	int64_t now = clock_ms();

	if (not_before < sv->start_ms + RESTART_SPACING_MS)
		not_before = sv->start_ms + RESTART_SPACING_MS;
	if (not_before <= now) {
		spawn_now(s, sv);
		return;
	}
	log_info("%s: restarting in %lld ms", sv->st.name, (long long)(not_before - now));
	service_enter(s, sv, sv->st.state == SV_FAILED ? SV_FAILED : SV_BACKOFF, not_before);
}

static void
kill_group(struct service *sv, int sig)
{
	/* The pid first: a service that moved to a group of its own still gets it. It is
	 * our unreaped child, so the pid cannot have been reused. */
	if (kill(sv->st.pid, sig) == -1 && errno != ESRCH)
		log_warn("%s: kill %s %ld", sv->st.name, sig_name(sig), (long)sv->st.pid);
	if (sv->st.pgid > 1)
		(void)kill(-sv->st.pgid, sig); /* ESRCH: the group is gone already */
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

void
service_want(struct sup *s, struct service *sv, enum sv_want w, int restart)
{
	sv->st.want = w;
	switch (sv->st.state) {
	case SV_DOWN:
		if (w != WANT_DOWN) {
			sv->short_deaths = 0;
			start_soon(s, sv, 0);
		} else {
			service_enter(s, sv, SV_DOWN, CLOCK_NEVER); /* status shows the new want */
		}
		break;
	case SV_BACKOFF:
	case SV_FAILED:
		if (w == WANT_DOWN) {
			service_enter(s, sv, SV_DOWN, CLOCK_NEVER);
		} else if (restart) {
			sv->short_deaths = 0;
			start_soon(s, sv, 0);
		} else {
			status_save(s, sv);
		}
		break;
	case SV_STARTING:
	case SV_UP:
		if (w == WANT_DOWN || restart)
			stop_now(s, sv);
		else
			service_enter(s, sv, sv->st.state, sv->deadline_ms);
		break;
	case SV_STOPPING:
		status_save(s, sv); /* the exit decides; it reads st.want */
		break;
	}
}

void
service_signal(struct service *sv, int sig)
{
	if (sv->st.pid > 0)
		kill_group(sv, sig);
}

void
service_removed(struct sup *s, struct service *sv)
{
	sv->removed = 1;
	if (sv->st.pid > 0)
		service_want(s, sv, WANT_DOWN, 0);
	else
		service_forget(s, sv);
}

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
	d->code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
	d->sig = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
}

/* Delay before the next start after an unwanted death (the README's "Restarts"). */
static int64_t
backoff_ms(struct service *sv, int64_t ran_ms)
{
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

/* The exec report, when there is one, decides between a failed exec and a death. */
static void
drain_exec_report(struct service *sv)
{
	struct spawn_report r;

	if (sv->exec_fd == -1)
		return;
	if (fd_read(sv->exec_fd, &r, sizeof r) == (ssize_t)sizeof r) {
		sv->exec_errno = r.err != 0 ? r.err : EIO;
		r.stage[sizeof r.stage - 1] = '\0';
		snprintf(sv->exec_stage, sizeof sv->exec_stage, "%s", r.stage);
	}
	fd_close(sv->exec_fd);
	sv->exec_fd = -1;
}

void
service_on_exec_report(struct sup *s, struct service *sv)
{
	drain_exec_report(sv);
	if (sv->exec_errno != 0 || sv->st.state != SV_STARTING)
		return; /* a failed exec is told by the exit that follows */
	sv->st.ready = 1;
	service_enter(s, sv, SV_UP, CLOCK_NEVER);
}

void
service_on_exit(struct sup *s, struct service *sv, int wstatus)
{
	int64_t now = clock_ms(), ran = now - sv->start_ms;
	enum sv_state was = sv->st.state;

	drain_exec_report(sv);
	if (was == SV_STARTING && sv->exec_errno == 0) {
		/* it did run: let status and waiters see it up before it is gone */
		sv->st.ready = 1;
		service_enter(s, sv, SV_UP, CLOCK_NEVER);
	}
	if (sv->st.pgid > 1) {
		/* leftovers of a stopped service do not outlive it; those of a crashed one
		 * get the stop signal the service would have had */
		(void)kill(-sv->st.pgid, was == SV_STOPPING ? SIGKILL : sv->down_signal);
		(void)kill(-sv->st.pgid, SIGCONT);
	}
	sv->st.pid = 0;
	sv->st.pgid = 0;
	sv->st.starttime = 0;
	sv->st.ready = 0;
	record_death(sv, wstatus, ran);
	if (sv->exec_errno != 0) {
		snprintf(sv->st.reason, sizeof sv->st.reason, "%s ./run: %s", sv->exec_stage,
			 strerror(sv->exec_errno));
	} else if (WIFSIGNALED(wstatus)) {
		log_info("%s: exited (signal %s) after %lld ms", sv->st.name,
			 sig_name(WTERMSIG(wstatus)), (long long)ran);
	} else {
		log_info("%s: exited (code %d) after %lld ms", sv->st.name, WEXITSTATUS(wstatus),
			 (long long)ran);
	}
	if (sv->st.want == WANT_ONCE)
		sv->st.want = WANT_DOWN;
	if (sv->st.want == WANT_DOWN || s->shutting_down) {
		if (was == SV_STOPPING)
			log_info("%s: stopped", sv->st.name);
		service_enter(s, sv, SV_DOWN, CLOCK_NEVER);
		if (sv->removed)
			service_forget(s, sv);
		return;
	}
	if (was == SV_STOPPING) { /* a restart: not a crash */
		start_soon(s, sv, 0);
		return;
	}
	sv->st.restarts++;
	if (sv->exec_errno != 0)
		failed(s, sv, now);
	else
		start_soon(s, sv, now + backoff_ms(sv, ran));
}

void
service_on_deadline(struct sup *s, struct service *sv, int64_t now)
{
	if (sv->deadline_ms > now)
		return;
	switch (sv->st.state) {
	case SV_BACKOFF:
	case SV_FAILED:
		sv->deadline_ms = CLOCK_NEVER;
		spawn_now(s, sv);
		break;
	case SV_STOPPING:
		log_warnx("%s: did not stop within %lld ms, sending KILL", sv->st.name,
			  (long long)sv->timeout_kill_ms);
		kill_group(sv, SIGKILL);
		sv->killed = 1;
		service_enter(s, sv, SV_STOPPING, CLOCK_NEVER);
		break;
	default:
		sv->deadline_ms = CLOCK_NEVER;
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
