/* cgroup.c: with -c DIR (a directory in a writable cgroup v2 hierarchy), each service runs
 * in its own cgroup DIR/NAME, and stopping it ends with cgroup.kill: every process of the
 * service goes, even one that called setsid() and left the process group. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "fdio.h"
#include "log.h"
#include "sup.h"

#define CGROUP2_MAGIC 0x63677270 /* statfs f_type of cgroup2 (linux/magic.h) */

int
cgroup_init(struct sup *s, const char *dir)
{
	struct statfs sfs;
	char path[PATH_MAX];

	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		log_fatal("cgroup directory %s", dir);
	if (realpath(dir, s->cgroup) == NULL)
		log_fatal("cgroup directory %s", dir);
	if (statfs(s->cgroup, &sfs) == -1)
		log_fatal("cgroup directory %s", s->cgroup);
	if (sfs.f_type != CGROUP2_MAGIC)
		log_fatalx("cgroup directory %s: not in a cgroup v2 hierarchy", s->cgroup);
	if (path_join(path, sizeof path, s->cgroup, "cgroup.procs", NULL) == -1 ||
	    access(path, W_OK) == -1)
		log_fatal("cgroup directory %s: cannot move processes into it", s->cgroup);
	return 0;
}

static int
cgroup_file(const struct sup *s, const struct service *sv, const char *file, char *buf,
	    size_t size)
{
	char name[SVREF_MAX + 1];

	svname_to_file(sv->st.name, name);
	return path_join(buf, size, s->cgroup, name, file);
}

/* The service's cgroup, made when missing; its cgroup.procs path in buf. 0, or -1. */
int
cgroup_prepare(const struct sup *s, const struct service *sv, char *buf, size_t size)
{
	char dir[PATH_MAX];

	if (cgroup_file(s, sv, NULL, dir, sizeof dir) == -1)
		return -1;
	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		return -1;
	return cgroup_file(s, sv, "cgroup.procs", buf, size);
}

static void
write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd == -1 || fd_write_all(fd, text, strlen(text)) != strlen(text))
		log_warn("unable to write %s", path);
	if (fd != -1)
		fd_close(fd);
}

void
cgroup_kill(const struct sup *s, const struct service *sv)
{
	char path[PATH_MAX];

	if (s->cgroup[0] != '\0' && cgroup_file(s, sv, "cgroup.kill", path, sizeof path) == 0)
		write_file(path, "1");
}

void
cgroup_remove(const struct sup *s, const struct service *sv)
{
	char dir[PATH_MAX];

	if (s->cgroup[0] != '\0' && cgroup_file(s, sv, NULL, dir, sizeof dir) == 0 &&
	    rmdir(dir) == -1 && errno != ENOENT)
		log_warn("unable to remove %s", dir);
}

/* Is pid in the service's cgroup? Always, without -c. /proc/PID/cgroup names it relative
 * to the hierarchy's root: our path for it ends with that. */
int
cgroup_has(const struct sup *s, const struct service *sv, pid_t pid)
{
	char path[64], buf[4096], want[PATH_MAX];
	const char *line;
	size_t len, wlen;

	if (s->cgroup[0] == '\0')
		return 1;
	snprintf(path, sizeof path, "/proc/%ld/cgroup", (long)pid);
	if (fd_slurp(path, buf, sizeof buf, 0) < 0 || cgroup_file(s, sv, NULL, want, sizeof want) == -1)
		return 0;
	line = strncmp(buf, "0::", 3) == 0 ? buf : strstr(buf, "\n0::");
	if (line == NULL)
		return 0;
	line += line == buf ? 3 : 4;
	len = strcspn(line, "\n");
	wlen = strlen(want);
	return len > 0 && wlen >= len && memcmp(want + wlen - len, line, len) == 0 &&
	       (wlen == len || want[wlen - len - 1] != '\0');
}
