#define _XOPEN_SOURCE 700 /* S_ISVTX */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safepath.h"

#define SYMLINKS_MAX 40

int
safepath_owner_ok(const char *path, uid_t uid, gid_t gid, mode_t mode, uid_t self, char *why,
		  size_t why_size)
{
	if (uid != 0 && uid != self) {
		snprintf(why, why_size, "%s is owned by uid %ld", path, (long)uid);
		return -1;
	}
	if (!S_ISLNK(mode) && ((mode & S_IWOTH) || ((mode & S_IWGRP) && gid != 0))) {
		snprintf(why, why_size, "%s is writable by %s (mode %03o)", path,
			 (mode & S_IWOTH) ? "others" : "its group", (unsigned)(mode & 0777));
		return -1;
	}
	return 0;
}

/* Writable by others, but sticky: what is in it may only be changed by its owner. */
static int
sticky_shared(const struct stat *st)
{
	return (st->st_mode & S_ISVTX) && (st->st_mode & (S_IWOTH | S_IWGRP));
}

int
safepath_check(const char *path, uid_t self, int check_last, char *why, size_t why_size)
{
	char cur[PATH_MAX], rest[PATH_MAX], tmp[PATH_MAX];
	struct stat dir, st;
	int links = 0;

	if (path[0] != '/' || snprintf(rest, sizeof rest, "%s", path) >= (int)sizeof rest) {
		snprintf(why, why_size, "%s: not an absolute path of at most %d bytes", path, PATH_MAX);
		return -1;
	}
	strcpy(cur, "/");
	if (lstat("/", &dir) == -1 ||
	    safepath_owner_ok("/", dir.st_uid, dir.st_gid, dir.st_mode, self, why, why_size) == -1)
		goto sys;
	for (;;) {
		char *p = rest, *comp, *slash;
		size_t len;
		int last;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		comp = p;
		slash = strchr(comp, '/');
		len = slash != NULL ? (size_t)(slash - comp) : strlen(comp);
		last = comp[len + strspn(comp + len, "/")] == '\0';
		if (len == 1 && comp[0] == '.') {
			memmove(rest, comp + len, strlen(comp + len) + 1);
			continue;
		}
		if (len == 2 && comp[0] == '.' && comp[1] == '.') {
			char *up = strrchr(cur, '/');
			if (up == cur)
				cur[1] = '\0';
			else if (up != NULL)
				*up = '\0';
			memmove(rest, comp + len, strlen(comp + len) + 1);
			if (lstat(cur, &dir) == -1)
				goto sys;
			continue;
		}
		if (snprintf(tmp, sizeof tmp, "%s%s%.*s", cur, strcmp(cur, "/") ? "/" : "", (int)len,
			     comp) >= (int)sizeof tmp) {
			errno = ENAMETOOLONG;
			goto sys;
		}
		if (lstat(tmp, &st) == -1) {
			if (errno == ENOENT && !check_last && last)
				return 0; /* to be made: in a directory nobody else can change */
			goto sys_tmp;
		}
		/* in a shared sticky directory only what is ours may be on our way */
		if (sticky_shared(&dir) && st.st_uid != 0 && st.st_uid != self) {
			snprintf(why, why_size, "%s is owned by uid %ld, in the shared directory %s", tmp,
				 (long)st.st_uid, cur);
			return -1;
		}
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n;
			if (++links > SYMLINKS_MAX) {
				snprintf(why, why_size, "%s: too many levels of symbolic links", path);
				return -1;
			}
			if (safepath_owner_ok(tmp, st.st_uid, st.st_gid, st.st_mode, self, why, why_size) == -1)
				return -1;
			n = readlink(tmp, target, sizeof target - 1);
			if (n == -1)
				goto sys_tmp;
			target[n] = '\0';
			if (snprintf(tmp, sizeof tmp, "%s%s%s", target, slash ? "/" : "",
				     slash ? slash + 1 : "") >= (int)sizeof tmp) {
				errno = ENAMETOOLONG;
				goto sys;
			}
			strcpy(rest, tmp);
			if (target[0] == '/') {
				strcpy(cur, "/");
				if (lstat("/", &dir) == -1)
					goto sys;
			}
			continue;
		}
		if (!last || check_last) {
			if (safepath_owner_ok(tmp, st.st_uid, st.st_gid, st.st_mode, self, why, why_size) == -1 &&
			    !(sticky_shared(&st) && !last))
				return -1;
		}
		if (!last && !S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			goto sys_tmp;
		}
		strcpy(cur, tmp);
		dir = st;
		memmove(rest, comp + len, strlen(comp + len) + 1);
	}
	return 0;
sys_tmp:
	snprintf(why, why_size, "%s: %s", tmp, strerror(errno));
	return -1;
sys:
	snprintf(why, why_size, "%s: %s", path, strerror(errno));
	return -1;
}
