/* supervise/sup.h: the daemon's shared context and the interfaces between its parts:
 * main.c (options, daemonizing, pid lock, reexec), loop.c (wait and dispatch),
 * registry.c (the services known), service.c (the state machine), spawn.c (the
 * double-detached start), svdir.c (what a service directory says), notify.c
 * (readiness), cgroup.c (-c), scan.c (SVDIR and its watch), control.c (FIFO bytes to
 * commands, replies and waiters). */
#ifndef SUP_H
#define SUP_H

#include <poll.h>
#include <stdint.h>
#include <sys/types.h>

#include "paths.h"
#include "proto.h"
#include "status.h"

#define RESTART_SPACING_MS 1000   /* two starts of one service are at least this apart */
#define RESTART_STABLE_MS 10000   /* a death after this much running resets the backoff */
#define RESTART_MAX_DELAY_MS 60000
#define TIMEOUT_KILL_DEFAULT_MS 10000
#define RESCAN_DEBOUNCE_MS 50     /* coalesces the bursts of events of a `cp -r` */
#define RESCAN_FALLBACK_MS 1000   /* periodic scan when inotify is not available */

#define TIMEOUT_FINISH_DEFAULT_MS 5000
#define TIMEOUT_PIDFILE_MS 5000   /* a `pidfile` service's launcher has this long to write it */
#define PIDFILE_POLL_MS 50
#define WSTATUS_UNKNOWN (-1)      /* the exit of a process that was not our child */

/* `user`: the ids a service runs with. */
#define SVUSER_GROUPS_MAX 64
struct svuser {
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[SVUSER_GROUPS_MAX];
};

struct service {
	struct sv_status st;       /* what users see: written to status/NAME on each change */
	struct service *next;      /* sup.services, in order of discovery */
	struct service *hnext;     /* hash chain by name */
	struct service *logger;    /* its log/ service, or NULL */
	struct service *main;      /* for a logger: the service it logs for (NULL once gone) */
	int present;               /* seen by the latest scan */
	int removed;               /* directory gone: stop, then forget */
	int exec_errno;            /* the latest spawn's exec failed: why; else 0 */
	char exec_stage[16];
	int pipe_fd;               /* a logger: its FIFO RUNDIR/pipe/NAME, held O_RDWR; -1 */
	int notify_rfd;            /* notification-fd pipe, read until the newline; -1 */
	int sdnotify_fd;           /* sd_notify socket RUNDIR/notify/NAME (`notify`); -1 */
	int pidfd;                 /* st.pid's pidfd while it runs (signals go through it); -1 */
	int adopted;               /* st.pid is not our child: its exit comes on pidfd */
	int64_t start_ms;          /* monotonic: the latest spawn */
	int64_t deadline_ms;       /* monotonic: restart, kill, finish or pidfile; CLOCK_NEVER */
	int64_t state_ms;          /* monotonic: entered st.state */
	int short_deaths;          /* deaths in a row within RESTART_STABLE_MS of a start */
	int killed;                /* SIGKILL already sent in this stop */
	/* the death being handled (finish runs between it and what follows) */
	int death_stopped;         /* it died of a stop or restart: not a crash */
	int64_t death_ms, death_ran_ms;
	/* settings, read at each start */
	int down_signal;
	int64_t timeout_kill_ms, timeout_finish_ms;
	int notify_num;            /* notification-fd, -1 none */
	char *pidfile;             /* absolute, malloc'ed; NULL: none */
	int64_t pidfile_until_ms;  /* launcher exited: wait for the pid file until then */
	pid_t launcher_pgid;       /* meanwhile: the launcher's group, killed if all fails */
	int daemon;                /* st.pid came from the pid file */
	int has_user;              /* `user` given: run as user */
	struct svuser user;
};

struct waiter;

struct sup {
	struct paths paths;
	int foreground;
	int status_dirfd, reply_dirfd, svlog_dirfd, pipe_dirfd, notify_dirfd;
	int sig_fd, ino_fd, ctl_rfd, ctl_wfd, lock_fd;
	int ino_wd;                /* SVDIR's watch, -1 when it failed (fallback scans) */
	struct service *services;
	struct service **hash;
	size_t nhash, nservices;
	struct waiter *waiters;
	int64_t rescan_ms;         /* monotonic: pending rescan, CLOCK_NEVER */
	int shutting_down;
	int reexec;                /* asked for: loop_run() returns, main() execs */
	char self[PATH_MAX];       /* our binary, for reexec */
	char cgroup[PATH_MAX];     /* -c: services get cgroups below it; "" none */
	int exit_now;
	char ctl_buf[PROTO_LINE_MAX * 16];
	size_t ctl_len;
	int ctl_skipping;          /* inside an over-long line: drop bytes up to its newline */
};

/* registry.c */
struct service *service_find(struct sup *s, const char *name);
struct service *service_new(struct sup *s, const char *name, int normally_up,
			    struct service *main);
void service_forget(struct sup *s, struct service *sv);
struct service *service_by_pid(struct sup *s, pid_t pid);

/* service.c */
void service_want(struct sup *s, struct service *sv, enum sv_want w, int restart);
void service_signal(struct service *sv, int sig);
void service_removed(struct sup *s, struct service *sv);
void service_stop_logger(struct sup *s, struct service *lg);
void service_on_exit(struct sup *s, struct service *sv, int wstatus);
void service_on_notify(struct sup *s, struct service *sv);
void service_on_sdnotify(struct sup *s, struct service *sv);
void service_on_pidfd(struct sup *s, struct service *sv);
int service_adopt(struct sup *s, struct service *sv);
void service_on_deadline(struct sup *s, struct service *sv, int64_t now);
int service_cond(const struct service *sv, enum proto_cond c);

/* spawn.c */
struct spawn_req {
	const char *dir;       /* absolute: the child's working directory */
	char *const *argv;     /* argv[0]: the program, relative to dir */
	char *const *envp;
	const char *in_path;   /* stdin: opened O_RDONLY ("/dev/null", or the log FIFO) */
	const char *out_path;  /* stdout and stderr: opened O_WRONLY | out_flags */
	int out_flags;         /* O_APPEND | O_CREAT for a file, 0 for the log FIFO */
	int notify_fd;         /* -1, or a descriptor to hand over as notify_num */
	int notify_num;
	const struct svuser *user; /* NULL: as we are */
	const char *cgroup_procs;  /* NULL, or the cgroup.procs to join before exec */
};
struct spawn_res {
	pid_t pid, pgid;
	int exec_err;          /* 0: exec'd; else why it did not (pid is then a zombie to reap) */
	char stage[12];        /* what failed: "chdir", "open log", "exec"... */
};
int spawn_service(const struct spawn_req *req, struct spawn_res *res);

/* svdir.c */
int svdir_path(const struct sup *s, const struct service *sv, const char *file, char *buf,
	       size_t size);
int svdir_has(const struct sup *s, const struct service *sv, const char *file, int exec);
void svdir_settings(struct sup *s, struct service *sv);
int svdir_user(struct sup *s, struct service *sv); /* -1 with st.reason: cannot run as user */
char **svdir_env(struct sup *s, struct service *sv, const char *notify_socket, char *why,
		 size_t why_size);
int svdir_pidfile(struct sup *s, const struct service *sv, pid_t *pid, char *why,
		  size_t why_size);

/* notify.c */
int notify_pipe(struct service *sv);
int notify_read_fd(struct service *sv);
int notify_socket(struct sup *s, struct service *sv, char *path, size_t size, char *why,
		  size_t why_size);
void notify_close(struct sup *s, struct service *sv);
int notify_read_socket(struct service *sv, char *status_text, size_t text_size,
		       pid_t *mainpid);

/* cgroup.c */
int cgroup_init(struct sup *s, const char *dir);
int cgroup_prepare(const struct sup *s, const struct service *sv, char *buf, size_t size);
void cgroup_kill(const struct sup *s, const struct service *sv);
void cgroup_remove(const struct sup *s, const struct service *sv);

/* scan.c */
int scan_init(struct sup *s);
void scan_run(struct sup *s);
void scan_on_inotify(struct sup *s, int64_t now);

/* control.c */
int control_open(struct sup *s);
void control_on_readable(struct sup *s, int64_t now);
void control_close(struct sup *s);
void waiters_on_change(struct sup *s, struct service *sv);
void waiters_on_deadline(struct sup *s, int64_t now);
int64_t waiters_next_deadline(const struct sup *s);
int waiters_pollfds(struct sup *s, struct pollfd *pfd, int max);
void waiters_on_poll(struct sup *s, const struct pollfd *pfd, int n);
int waiters_count(const struct sup *s);
void waiters_shutdown_reply(struct sup *s);
void waiters_abort(struct sup *s, const char *why); /* every wait ends, failed */

/* loop.c */
int loop_run(struct sup *s); /* 0: shut down; 1: re-exec asked for */

#endif
