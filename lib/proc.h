/* lib/proc.h: what the kernel says of a process, and pidfds. A pid alone can be
 * recycled; a pid with its start time, or a pidfd, names one process for good. */
#ifndef PROC_H
#define PROC_H

#include <sys/types.h>

unsigned long long proc_starttime(pid_t pid); /* /proc/PID/stat field 22; 0: gone */
pid_t proc_parent(pid_t pid);                 /* field 4; -1: gone */
pid_t proc_session(pid_t pid);                /* field 6; -1: gone */
/* Our own children (/proc/self/task/PID/children: we are single-threaded), at most max.
 * Their number, or -1. */
int proc_children(pid_t *out, int max);
int proc_pidfd(pid_t pid);                    /* pidfd_open(2); -1 with errno */
/* Signals the process behind pidfd (pid when there is no pidfd): a process that is gone
 * is never mistaken for whoever got its pid since. 0, or -1 with errno (ESRCH: gone). */
int proc_signal(int pidfd, pid_t pid, int sig);

#endif
