/* lib/proc.h: what the kernel says of a process, and pidfds. A pid alone can be
 * recycled; a pid with its start time, or a pidfd, names one process for good. */
#ifndef PROC_H
#define PROC_H

#include <sys/types.h>

unsigned long long proc_starttime(pid_t pid); /* /proc/PID/stat field 22; 0: gone */
pid_t proc_parent(pid_t pid);                 /* field 4; -1: gone */
pid_t proc_session(pid_t pid);                /* field 6; -1: gone */
/* Its real and effective uids (/proc/PID/status); 0, or -1 when gone. */
int proc_uids(pid_t pid, uid_t *ruid, uid_t *euid);
/* Our own children (/proc/self/task/PID/children: we are single-threaded), all of them:
 * a malloc'ed array of *n pids, or NULL with errno. */
pid_t *proc_children_all(size_t *n);
int proc_pidfd(pid_t pid);                    /* pidfd_open(2); -1 with errno */
/* Signals the process behind pidfd (pid when there is no pidfd): a process that is gone
 * is never mistaken for whoever got its pid since. 0, or -1 with errno (ESRCH: gone). */
int proc_signal(int pidfd, pid_t pid, int sig);

#endif
