/* svdir.c: what a service directory says: its settings files, read at each start (a bad
 * value is logged and shown in the status with the default used), its env/, its pid
 * file. The README's "Service directory" is the contract. */
#define _GNU_SOURCE /* getgrouplist() */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envdir.h"
#include "fdio.h"
#include "log.h"
#include "proc.h"
#include "safepath.h"
#include "settings.h"
#include "sig.h"
#include "sup.h"

extern char **environ;

int
svdir_path(const struct sup *s, const struct service *sv, const char *file, char *buf,
	   size_t size)
{
	/* a logger's directory is its main service's log/ */
	const char *name = sv->st.name;
	char base[SVREF_MAX + 1];
	char *slash;

	strcpy(base, name);
	slash = strchr(base, '/');
	if (slash != NULL)
		*slash = '\0';
	if (slash != NULL && file != NULL) {
		char sub[PATH_MAX];
		if (snprintf(sub, sizeof sub, "log/%s", file) >= (int)sizeof sub)
			return -1;
		return path_join(buf, size, s->paths.svdir, base, sub);
	}
	return path_join(buf, size, s->paths.svdir, base, slash != NULL ? "log" : file);
}

/* 1 when the directory holds file (executable, when exec is set). */
int
svdir_has(const struct sup *s, const struct service *sv, const char *file, int exec)
{
	char path[PATH_MAX];
	struct stat st;

	if (svdir_path(s, sv, file, path, sizeof path) == -1 || stat(path, &st) == -1)
		return 0;
	return exec ? S_ISREG(st.st_mode) && (st.st_mode & 0111) : 1;
}

/* --- trust (as root): the safe-path rule for the service's directory and files --- */

void
svdir_check_root(struct sup *s)
{
	char why[STATUS_REASON_MAX];

	s->svdir_unsafe[0] = '\0';
	if (geteuid() == 0 && safepath_check(s->paths.svdir, 0, 1, why, sizeof why) == -1) {
		if (strcmp(why, s->svdir_unsafe) != 0)
			log_warnx("%s: no service will be started: %s", s->paths.svdir, why);
		snprintf(s->svdir_unsafe, sizeof s->svdir_unsafe, "%s", why);
	}
}

/* path, which may not exist: root's (or a link whose target and way are), written by
 * nobody else. */
static int
trust_one(const char *path, char *why, size_t why_size)
{
	char w[PATH_MAX + 64];
	struct stat st;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, why_size, "untrusted: %.100s: %s", path, strerror(errno));
		return -1;
	}
	if ((S_ISLNK(st.st_mode) ? safepath_check(path, 0, 1, w, sizeof w)
				 : safepath_owner_ok(path, st.st_uid, st.st_gid, st.st_mode, 0, w, sizeof w)) == -1) {
		snprintf(why, why_size, "untrusted: %.140s", w);
		return -1;
	}
	return 0;
}

/* The entries of env/: a file that its owner may change sets a variable of a root
 * service (LD_PRELOAD...). */
static int
trust_envdir(const char *dir, char *why, size_t why_size)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int r = 0;

	if (d == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 0 : trust_one(dir, why, why_size);
	while (r == 0 && (de = readdir(d)) != NULL) {
		char path[PATH_MAX];
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path)
			continue; /* envdir_apply() says so */
		r = trust_one(path, why, why_size);
	}
	closedir(d);
	return r;
}

int
svdir_trust(struct sup *s, const struct service *sv, char *why, size_t why_size)
{
	static const char *const files[] = {
		"run", "finish", "up", "down", "user", "env", "log", "log/run", "log/finish",
		"log/user", "log/env",
	};
	char dir[PATH_MAX], path[PATH_MAX], w[PATH_MAX + 64];
	struct stat st;

	if (geteuid() != 0)
		return 0;
	if (s->svdir_unsafe[0] != '\0') {
		snprintf(why, why_size, "untrusted: %.140s", s->svdir_unsafe);
		return -1;
	}
	/* the directory (SVDIR/NAME, which may be a symbolic link, and for a logger
	 * SVDIR/NAME/log too), then its files */
	if (svdir_path(s, sv->main != NULL ? sv->main : sv, NULL, dir, sizeof dir) == -1 ||
	    lstat(dir, &st) == -1) {
		snprintf(why, why_size, "untrusted: %.100s: %s", dir, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode) ? safepath_check(dir, 0, 1, w, sizeof w)
				: safepath_owner_ok(dir, st.st_uid, st.st_gid, st.st_mode, 0, w, sizeof w)) {
		snprintf(why, why_size, "untrusted: %.140s", w);
		return -1;
	}
	if (sv->main != NULL) {
		if (svdir_path(s, sv, NULL, dir, sizeof dir) == -1 || trust_one(dir, why, why_size) == -1)
			return -1;
	}
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		if (sv->main != NULL && strncmp(files[i], "log", 3) == 0)
			continue; /* a logger has no log/ of its own */
		if (path_join(path, sizeof path, dir, files[i], NULL) == -1 ||
		    trust_one(path, why, why_size) == -1)
			return -1;
		if ((strcmp(files[i], "env") == 0 || strcmp(files[i], "log/env") == 0) &&
		    trust_envdir(path, why, why_size) == -1)
			return -1;
	}
	return 0;
}

/* A settings file into text: 1 when read, 0 when absent, -1 when unreadable. */
static int
read_setting(struct sup *s, struct service *sv, const char *file, char *text, size_t size)
{
	char path[PATH_MAX];

	if (svdir_path(s, sv, file, path, sizeof path) == -1 ||
	    fd_slurp(path, text, size, 0) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(text, size, "%s", errno == EINVAL ? "not a regular file" : strerror(errno));
		return -1;
	}
	return 1;
}

static void
warn_setting(struct service *sv, const char *file, const char *why, const char *dflt)
{
	size_t n = strlen(sv->st.warning);

	log_warnx("%s: ignoring %s: %s; using %s", sv->st.name, file, why, dflt);
	snprintf(sv->st.warning + n, sizeof sv->st.warning - n, "%s%s: %s, using %s",
		 n ? "; " : "", file, why, dflt);
}

static void
setting_ms(struct sup *s, struct service *sv, const char *file, int64_t *ms, int64_t dflt)
{
	char text[SETTINGS_FILE_MAX], d[24];
	const char *why = text;
	int r = read_setting(s, sv, file, text, sizeof text);

	*ms = dflt;
	if (r == 0 || (r == 1 && settings_ms(text, ms, &why) == 0))
		return;
	*ms = dflt;
	snprintf(d, sizeof d, "%lld", (long long)dflt);
	warn_setting(sv, file, why, d);
}

/* `type` of directory name (relative to dirfd): 1 "oneshot", 0 "longrun" or none
 * (blanks and a newline around it do not matter). */
int
svdir_oneshot_at(int dirfd, const char *name)
{
	char path[PATH_MAX], text[SETTINGS_FILE_MAX];
	size_t len = 0;
	ssize_t r = 1;
	int fd;

	if (snprintf(path, sizeof path, "%s/type", name) >= (int)sizeof path)
		return 0;
	fd = fd_open_regular(dirfd, path, 1);
	if (fd == -1)
		return 0;
	while (len < sizeof text - 1 && (r = fd_read(fd, text + len, sizeof text - 1 - len)) > 0)
		len += (size_t)r;
	fd_close(fd);
	text[len] = '\0';
	while (len > 0 && strchr(" \t\r\n", text[len - 1]) != NULL)
		text[--len] = '\0';
	return r != -1 && strcmp(text + strspn(text, " \t"), "oneshot") == 0;
}

void
svdir_settings(struct sup *s, struct service *sv)
{
	char text[SETTINGS_FILE_MAX];
	const char *why = text;
	int r;

	sv->st.warning[0] = '\0';
	sv->down_signal = SIGTERM;
	r = read_setting(s, sv, "down-signal", text, sizeof text);
	if (r == -1 || (r == 1 && settings_signal(text, &sv->down_signal, &why) == -1)) {
		sv->down_signal = SIGTERM;
		warn_setting(sv, "down-signal", why, "TERM");
	}
	setting_ms(s, sv, "timeout-kill", &sv->timeout_kill_ms, TIMEOUT_KILL_DEFAULT_MS);
	setting_ms(s, sv, "timeout-finish", &sv->timeout_finish_ms, TIMEOUT_FINISH_DEFAULT_MS);
	/* a whole number as well, of bytes; 0 would mean a rotation at every write */
	setting_ms(s, sv, "log-size", &sv->log_size, OUTPUT_LOG_SIZE);
	if (sv->log_size == 0)
		sv->log_size = OUTPUT_LOG_SIZE;
	if (sv->main == NULL && sv->st.pid == 0) { /* what runs keeps its type */
		char dir[PATH_MAX];
		if (svdir_path(s, sv, NULL, dir, sizeof dir) == 0)
			sv->oneshot = svdir_oneshot_at(AT_FDCWD, dir);
	}
	setting_ms(s, sv, "timeout-up", &sv->timeout_up_ms, 0);
	setting_ms(s, sv, "timeout-down", &sv->timeout_down_ms, 0);
	sv->notify_num = -1;
	why = text;
	r = read_setting(s, sv, "notification-fd", text, sizeof text);
	if (r == -1 || (r == 1 && settings_fd(text, &sv->notify_num, &why) == -1)) {
		sv->notify_num = -1;
		warn_setting(sv, "notification-fd", why, "none");
	}
	free(sv->pidfile);
	sv->pidfile = NULL;
	r = read_setting(s, sv, "pidfile", text, sizeof text);
	if (r == 1) {
		char dir[PATH_MAX], path[PATH_MAX];
		size_t len;
		const char *p = text;
		while (*p == ' ' || *p == '\t')
			p++;
		len = strcspn(p, "\r\n");
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		int too_long = (p[0] != '/' && svdir_path(s, sv, NULL, dir, sizeof dir) == -1) ||
			       snprintf(path, sizeof path, "%s%s%.*s", p[0] == '/' ? "" : dir,
					p[0] == '/' ? "" : "/", (int)len, p) >= (int)sizeof path;
		if (len == 0)
			warn_setting(sv, "pidfile", "empty", "none");
		else if (too_long)
			warn_setting(sv, "pidfile", "path too long", "none");
		else if ((sv->pidfile = strdup(path)) == NULL)
			warn_setting(sv, "pidfile", "out of memory", "none");
	} else if (r == -1) {
		warn_setting(sv, "pidfile", text, "none");
	}
}

/* The child's environment: ours, env/ applied, NOTIFY_SOCKET for sd_notify services.
 * malloc'ed (free() it); NULL with why on failure. */
char **
svdir_env(struct sup *s, struct service *sv, const char *notify_socket, char *why,
	  size_t why_size)
{
	char dir[PATH_MAX], extra[PATH_MAX + 16];
	struct stat st;
	int has_env = svdir_path(s, sv, "env", dir, sizeof dir) == 0 && stat(dir, &st) == 0 &&
		      S_ISDIR(st.st_mode);

	if (notify_socket != NULL)
		snprintf(extra, sizeof extra, "NOTIFY_SOCKET=%s", notify_socket);
	return envdir_apply(environ, has_env ? dir : NULL, notify_socket ? extra : NULL, why,
			    why_size);
}

/* The pid file is the service user's to write, and so is its directory, often: it is
 * read without following a symbolic link that user could have planted anywhere on its
 * path (each component of the path as given is looked at with lstat, and a link is
 * followed only when root or we own it: nobody else can make one of those), and only
 * when it is a regular file, which is looked at before it is opened (fd_open_regular):
 * a device is never opened. -1 with why, or its length. */
static ssize_t
read_pidfile(const char *path, char *text, size_t size, char *why, size_t why_size)
{
	char prefix[PATH_MAX];
	ssize_t n;

	for (const char *p = strchr(path + 1, '/');; p = strchr(p + 1, '/')) {
		size_t len = p != NULL ? (size_t)(p - path) : strlen(path);
		struct stat st;
		if (len >= sizeof prefix)
			break;
		memcpy(prefix, path, len);
		prefix[len] = '\0';
		if (lstat(prefix, &st) == -1)
			break; /* the open below says why */
		if (S_ISLNK(st.st_mode) && st.st_uid != 0 && st.st_uid != geteuid()) {
			snprintf(why, why_size, "pidfile %s: %s is a symbolic link of uid %ld", path, prefix,
				 (long)st.st_uid);
			return -1;
		}
		if (p == NULL)
			break;
	}
	n = fd_slurp(path, text, size, 1);
	if (n == -1 && errno != ENOENT)
		snprintf(why, why_size, "pidfile %s: %s", path,
			 errno == ELOOP ? "is a symbolic link" : errno == EINVAL ? "not a regular file"
											: strerror(errno));
	return n;
}

/* Whether pid may be taken for the service's daemon: a process reparented to us (an
 * orphan of ours: a double-forking daemon is exactly that), running as the service's
 * user, in no other service's process group or session (nor, with -c, outside the
 * service's cgroup), and not another service's already. 1, or 0 with why. */
static int
pid_trusted(struct sup *s, const struct service *sv, pid_t pid, char *why, size_t why_size)
{
	const struct service *o;
	uid_t ruid, euid;
	pid_t pgid = getpgid(pid), sid = getsid(pid);

	if (proc_parent(pid) != getpid()) {
		snprintf(why, why_size, "pidfile %s: pid %ld is not a daemon of this service",
			 sv->pidfile, (long)pid);
		return 0;
	}
	if ((o = service_by_pid(s, pid)) != NULL || (o = service_by_pgid(s, pgid)) != NULL ||
	    (o = service_by_pgid(s, sid)) != NULL) {
		if (o != sv) {
			snprintf(why, why_size, "pidfile %s: pid %ld is a process of service %s",
				 sv->pidfile, (long)pid, o->st.name);
			return 0;
		}
	}
	if (sv->has_user && (proc_uids(pid, &ruid, &euid) == -1 || ruid != sv->user.uid ||
			     euid != sv->user.uid)) {
		snprintf(why, why_size, "pidfile %s: pid %ld does not run as the service's user",
			 sv->pidfile, (long)pid);
		return 0;
	}
	if (!cgroup_has(s, sv, pid)) {
		snprintf(why, why_size, "pidfile %s: pid %ld is not in the service's cgroup",
			 sv->pidfile, (long)pid);
		return 0;
	}
	return 1;
}

/* The daemon a `pidfile` service's launcher left behind. 1 with *pid when found and
 * trusted; 0 when not (yet): no file, or (with why) a pid that is gone or not to be
 * trusted (above), such as a stale file the new daemon has yet to replace; -1 with why
 * when the file cannot be read or does not hold a pid. */
int
svdir_pidfile(struct sup *s, const struct service *sv, pid_t *pid, char *why,
	      size_t why_size)
{
	char text[64];
	long v = 0;
	size_t i = 0;
	ssize_t n = read_pidfile(sv->pidfile, text, sizeof text, why, why_size);

	if (n == -1)
		return errno == ENOENT ? 0 : -1;
	while (i < (size_t)n && (text[i] == ' ' || text[i] == '\t'))
		i++;
	if (i == (size_t)n)
		return 0; /* being written: an empty file is not an answer yet */
	for (; i < (size_t)n && text[i] >= '0' && text[i] <= '9' && v < 0x7fffffff; i++)
		v = v * 10 + (text[i] - '0');
	while (i < (size_t)n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' ||
				 text[i] == '\r'))
		i++;
	if (i != (size_t)n || v <= 1 || v >= 0x7fffffff) {
		snprintf(why, why_size, "pidfile %s: not a pid", sv->pidfile);
		return -1;
	}
	/* stale (left by a daemon that died) or foreign: not trusted, ever; but the new
	 * daemon may not have replaced it yet, so it is "not yet" until the end */
	if (!pid_trusted(s, sv, (pid_t)v, why, why_size))
		return 0;
	*pid = (pid_t)v;
	return 1;
}

/* `user`: "user[:group]": that user's uid, its primary group (or group) and its
 * supplementary groups. Only a supervisor running as root can switch. 0 when the service
 * runs as that user (or no user is given); -1 with st.reason when it cannot. */
int
svdir_user(struct sup *s, struct service *sv)
{
	char text[SETTINGS_FILE_MAX], *name, *group;
	struct passwd *pw;
	int r = read_setting(s, sv, "user", text, sizeof text), n = SVUSER_GROUPS_MAX;

	sv->has_user = 0;
	if (r == 0)
		return 0;
	if (r == -1) {
		snprintf(sv->st.reason, sizeof sv->st.reason, "user: %.100s", text);
		return -1;
	}
	name = text + strspn(text, " \t");
	name[strcspn(name, " \t\r\n")] = '\0';
	group = strchr(name, ':');
	if (group != NULL)
		*group++ = '\0';
	if (geteuid() != 0) {
		snprintf(sv->st.reason, sizeof sv->st.reason,
			 "user: the supervisor does not run as root, so cannot run it as %.64s", name);
		return -1;
	}
	errno = 0;
	pw = *name != '\0' ? getpwnam(name) : NULL;
	if (pw == NULL) {
		snprintf(sv->st.reason, sizeof sv->st.reason, "user: no user %.64s", name);
		return -1;
	}
	sv->user.uid = pw->pw_uid;
	sv->user.gid = pw->pw_gid;
	if (group != NULL) {
		struct group *gr = getgrnam(group);
		if (gr == NULL) {
			snprintf(sv->st.reason, sizeof sv->st.reason, "user: no group %.64s", group);
			return -1;
		}
		sv->user.gid = gr->gr_gid;
	}
	if (getgrouplist(pw->pw_name, sv->user.gid, sv->user.groups, &n) == -1) {
		snprintf(sv->st.reason, sizeof sv->st.reason,
			 "user: %.64s is in more than %d groups", name, SVUSER_GROUPS_MAX);
		return -1;
	}
	sv->user.ngroups = n;
	sv->has_user = 1;
	return 0;
}
