/* lib/safepath.h: the safe-path rule (as OpenSSH's StrictModes and sudo apply it): a
 * path that no user but root and `self` can change. Every directory on the way is owned
 * by root or self and writable by nobody else, or else sticky (like /tmp) with the next
 * component owned by root or self; every symbolic link on the way is owned by root or
 * self and its target is held to the same rule. Used for RUNDIR, for service directories
 * and their files when supervise runs as root, and for the pid files it opens. */
#ifndef SAFEPATH_H
#define SAFEPATH_H

#include <stddef.h>
#include <sys/types.h>

/* Checks path (absolute). The last component, once symbolic links are followed, is held
 * to the rule as well when check_last is set (a directory or file owned by root or self
 * and writable by nobody else); it must exist then. 0, or -1 with why naming the
 * component and the cause ("/home/m is owned by uid 1001", "... is writable by others",
 * "too many levels of symbolic links", or the errno of a lookup). */
int safepath_check(const char *path, uid_t self, int check_last, char *why, size_t why_size);

/* The same test for one component already looked at (lstat): 0 when owned by root or self
 * and writable by nobody else (group write allowed for group 0); -1 with why naming path. */
int safepath_owner_ok(const char *path, uid_t uid, gid_t gid, mode_t mode, uid_t self, char *why,
		      size_t why_size);

#endif
