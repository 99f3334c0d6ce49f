/* lib/paths.h: where things are. SVDIR and RUNDIR come from the options, else the
 * environment, else the defaults (the README's "Files"); the names inside RUNDIR are
 * fixed here so that supervise and svctl agree. */
#ifndef PATHS_H
#define PATHS_H

#include <limits.h>

#define RUN_CONTROL "control"     /* the control FIFO */
#define RUN_PID "pid"             /* the supervisor's pid, under a lock */
#define RUN_LOG "supervise.log"   /* the daemon's own log */
#define RUN_STATUS "status"       /* status/NAME */
#define RUN_SVLOG "log"           /* log/NAME/current */
#define RUN_REPLY "reply"         /* reply/ID: svctl's reply FIFOs */
#define RUN_PIPE "pipe"           /* pipe/NAME: the FIFO from a service to its logger */
#define RUN_NOTIFY "notify"       /* notify/NAME: sd_notify sockets */

struct paths {
	char svdir[PATH_MAX];
	char rundir[PATH_MAX];
};

/* -d, $SVDIR, ./services; -r, $SVRUN, SVDIR/.supervise. 0, or -1 (ENAMETOOLONG). */
int paths_resolve(struct paths *p, const char *opt_svdir, const char *opt_rundir);
/* buf = a "/" b ["/" c]; 0, or -1 with errno ENAMETOOLONG. c may be NULL. */
int path_join(char *buf, size_t size, const char *a, const char *b, const char *c);

#endif
