/* supervise/sup.h: the daemon's shared context and the interfaces between its parts:
 * main.c (options, daemonizing, pid lock, reexec), loop.c (wait and dispatch),
 * registry.c (the services known), service.c (the state machine), spawn.c (the
 * double-detached start), svdir.c (what a service directory says), notify.c
 * (readiness), cgroup.c (-c), scan.c (SVDIR and its watch), control.c (FIFO bytes to
 * commands, replies and waiters), output.c (the services' output, to files or to our
 * stdout), container.c (PID 1 duties, the main command, the shutdown deadline). */
#ifndef SUP_H
#define SUP_H

#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "paths.h"
#include "proto.h"
#include "status.h"
#include "theap.h"

#define RESTART_SPACING_MS 1000   /* two starts of one service are at least this apart */
#define RESTART_STABLE_MS 10000   /* a death after this much running resets the backoff */
#define RESTART_MAX_DELAY_MS 60000
#define TIMEOUT_KILL_DEFAULT_MS 10000
#define RESCAN_DEBOUNCE_MS 50     /* coalesces the bursts of events of a `cp -r` */
#define RESCAN_FALLBACK_MS 1000   /* periodic scan when inotify is not available */

#define TIMEOUT_FINISH_DEFAULT_MS 5000
#define OUTPUT_LOG_SIZE 1048576   /* log-size default: bytes of log/NAME/current before rotation */
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

/* What a descriptor in the loop's epoll set is for: the loop dispatches on kind, obj is
 * the service (or client) it belongs to. Services hold one for each kind they use. */
enum ev_kind {
	EV_SIGNAL, EV_CONTROL, EV_INOTIFY, EV_WAITER,
	EV_STDOUT,   /* -o: our stdout can take more */
	/* a service's: */
	EV_NOTIFY,   /* notification-fd pipe */
	EV_SDNOTIFY, /* sd_notify socket */
	EV_PIDFD,    /* a taken-over process: its death */
	EV_SPAWN,    /* a start under way: its exec report */
	EV_OUTPUT,   /* its output, when the supervisor writes it (no log/) */
	EV_KINDS
};
#define EV_SV_FIRST EV_NOTIFY
struct evsrc {
	enum ev_kind kind;
	void *obj;
};

/* What a timer in the heap is for (a struct theap_node first in each). */
enum tm_kind {
	TM_SERVICE, TM_WAITER, TM_RESCAN, TM_OUTPUT,
	TM_CMD,      /* container.c: CMD's start (10 s at most), then its SIGKILL */
	TM_DEADLINE, /* container.c: -t, the end of the shutdown */
};
struct timer {
	struct theap_node node; /* first: the heap hands back node pointers */
	enum tm_kind kind;
	void *obj;
};

struct service {
	struct sv_status st;       /* what users see: written to status/NAME on each change */
	struct service *next;      /* sup.services, in order of discovery */
	struct service *hnext;     /* hash chain by name */
	struct service *pnext;     /* hash chain by st.pid (registry.c) */
	struct service *gnext;     /* hash chain by st.pgid */
	struct service *dnext;     /* sup.graveyard: forgotten, freed after the loop pass */
	struct service *dirty_next; /* sup.status_dirty: a status file to write again */
	int status_dirty;
	struct service *logger;    /* its log/ service, or NULL */
	struct service *main;      /* for a logger: the service it logs for (NULL once gone) */
	int present;               /* seen by the latest scan */
	int fresh;                 /* found by the scan under way, started at its end */
	int removed;               /* directory gone: stop, then forget */
	int exec_errno;            /* the latest spawn's exec failed: why; else 0 */
	char exec_stage[16];
	int spawn_fd;              /* the latest spawn's exec report, until it ends; -1 */
	int out_fd;                /* no log/: the FIFO RUNDIR/pipe/NAME we read its output from */
	struct output *out;        /* what output.c keeps of it (NULL while it wrote nothing) */
	int logdir_ok;             /* RUNDIR/log/NAME found ours once: it stays so */
	struct evsrc ev[EV_KINDS - EV_SV_FIRST];
	struct timer timer;        /* restart, kill, finish or pidfile deadline */
	int pipe_fd;               /* a logger: its FIFO RUNDIR/pipe/NAME, held O_RDWR; -1 */
	int notify_rfd;            /* notification-fd pipe, read until the newline; -1 */
	int sdnotify_fd;           /* sd_notify socket RUNDIR/notify/NAME (`notify`); -1 */
	int sdnotify_abstract;     /* it is an abstract socket (a `user` service) */
	char *sdnotify_path;       /* what NOTIFY_SOCKET says (malloc'ed while the socket is) */
	int pidfd;                 /* st.pid's pidfd while it runs (signals go through it); -1 */
	int adopted;               /* st.pid is not our child: its exit comes on pidfd */
	int64_t start_ms;          /* monotonic: the latest spawn */
	int64_t state_ms;          /* monotonic: entered st.state (with st.pid: since_pid) */
	pid_t since_pid;
	int short_deaths;          /* deaths in a row within RESTART_STABLE_MS of a start */
	int killed;                /* SIGKILL already sent in this stop */
	/* the death being handled (finish runs between it and what follows) */
	int death_stopped;         /* it died of a stop or restart: not a crash */
	int64_t death_ms, death_ran_ms;
	/* settings, read at each start */
	int down_signal;
	int64_t timeout_kill_ms, timeout_finish_ms;
	int64_t log_size;          /* log-size: bytes of current before it is rotated */
	int notify_num;            /* notification-fd, -1 none */
	char *pidfile;             /* absolute, malloc'ed; NULL: none */
	int64_t pidfile_until_ms;  /* launcher exited: wait for the pid file until then */
	pid_t launcher_pgid;       /* meanwhile: the launcher's group, killed if all fails */
	int daemon;                /* st.pid came from the pid file */
	int has_user;              /* `user` given: run as user */
	struct svuser user;
	/* one-shots (`type` oneshot): `up` runs in STARTING, `down` in STOPPING */
	int oneshot;               /* as found at the scan, then at each start (st.oneshot) */
	int64_t timeout_up_ms, timeout_down_ms; /* 0: no limit */
	int running_down;          /* the process is its `down` */
	int timed_out;             /* SIGKILL sent at timeout-up/down: it failed with "timeout" */
	/* deps.c: the graph. Edges are pointers both ways; the counts are kept as the
	 * states change, so that an event costs what its own edges cost. */
	struct service **deps;     /* what it depends on; NULL where no such service (yet) */
	char (*dep_names)[SVNAME_MAX + 1]; /* their names, sorted */
	size_t ndeps;
	struct service **dependents;
	size_t ndependents, dependents_cap;
	size_t pending;            /* deps not ready (missing ones included): starts at 0 */
	size_t holders;            /* dependents with a process (or a one-shot up): it stops
				    * (or restarts) once there is none */
	int counted_ready, counted_active; /* what its edges have counted it as */
	int stop_pending;          /* asked to stop or restart, waiting for holders to be 0 */
	char cycle[STATUS_REASON_MAX]; /* "dependency cycle: a -> b -> a" while on one; "" */
	int cycle_failed;          /* FAILED because of a cycle: started once it is broken */
	unsigned cycle_gen;
	char shown[STATUS_REASON_MAX]; /* how a dependent's waiting_for shows it ("backoff") */
	struct service *poke_next; /* sup.poke_head: to look at once the current event is done */
	int poked;
	int gone;                  /* forgotten: its edges are no more */
	unsigned mark;             /* traversals (deps.c) */
	int color;                 /* cycle search: 0 new, 1 on the path, 2 done */
	size_t dfs_i;
	struct service *dfs_via;
	int unready;               /* counted in sup.ct.unready: normally up, not up and ready */
};

/* Container mode (container.c): the main command and the shutdown deadline. */
enum cmd_state { CMD_NONE, CMD_WAITING, CMD_RUNNING, CMD_DONE };
struct container {
	int pid1;                  /* we are PID 1 */
	char **argv;               /* -- CMD ARG...; NULL: none */
	enum cmd_state state;
	pid_t pid;                 /* CMD's pid and process group while it runs */
	int report_fd;             /* its exec report (an errno), read when it exits; -1 */
	int tty;                   /* stdin is a terminal whose foreground group we were */
	int signalled;             /* CMD got the shutdown signal */
	int stop_sig;              /* the signal that began the shutdown (TERM, INT, QUIT) */
	int exit_code;             /* what supervise exits with; -1: no CMD status, no critical */
	int64_t deadline_ms;       /* -t; -1: none */
	int killing;               /* the deadline passed: 1 all but loggers killed, 2 all */
	size_t unready;            /* normally-up services not up and ready (service.unready) */
	struct timer cmd_timer, deadline_timer;
};

/* -o: where the output of services without log/ goes. */
enum out_mode { OUT_FILES, OUT_TEXT, OUT_JSON };

struct waiter;

struct sup {
	struct paths paths;
	int foreground;
	int run_dirfd, status_dirfd, reply_dirfd, svlog_dirfd, pipe_dirfd, notify_dirfd;
	int devnull_fd;            /* O_RDONLY: the services' stdin */
	int sig_fd, ino_fd, ctl_rfd, ctl_wfd, lock_fd, ep_fd;
	int ino_wd;                /* SVDIR's watch, -1 when it failed (fallback scans) */
	struct evsrc ev_sig, ev_ctl, ev_ino;
	struct service *services;
	struct service **hash, **ptab, **gtab; /* by name, by pid, by process group */
	size_t nhash, nptab, nservices;
	size_t nrunning;           /* services with a process (st.pid > 0) */
	struct service *graveyard; /* forgotten during this loop pass */
	pid_t *leftover_sids;      /* sessions to clear of leftovers at the end of the pass */
	size_t nleftover, leftover_cap;
	struct waiter *waiters;
	struct theap timers;
	struct timer rescan;       /* pending rescan */
	struct timer out_retry;    /* output.c: writes to retry (a full disk) */
	struct service *out_blocked;
	struct service *status_dirty; /* status files that could not be written */
	struct rlimit nofile;      /* RLIMIT_NOFILE as we found it, for the services */
	char svdir_unsafe[STATUS_REASON_MAX]; /* as root: why SVDIR cannot be trusted; "" */
	char *self_notify;         /* our own NOTIFY_SOCKET (under systemd), or NULL */
	struct service *poke_head, *poke_tail; /* deps.c: services to look at again */
	int deps_draining;
	int deps_in_scan;          /* the scan has read every service's dependencies */
	int deps_pulling;          /* a pull covers the closure: no pull within it */
	unsigned deps_mark, deps_cycle_gen;
	int shutting_down;
	struct container ct;
	enum out_mode out_mode;
	struct evsrc ev_stdout;
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
struct service *service_by_pgid(struct sup *s, pid_t pgid);
void service_set_pid(struct sup *s, struct service *sv, pid_t pid, pid_t pgid);
void graveyard_free(struct sup *s);

/* service.c */
void service_want(struct sup *s, struct service *sv, enum sv_want w, int restart);
void service_signal(struct service *sv, int sig);
void service_removed(struct sup *s, struct service *sv);
void service_stop_logger(struct sup *s, struct service *lg);
void service_on_exit(struct sup *s, struct service *sv, int wstatus);
void service_on_notify(struct sup *s, struct service *sv);
void service_on_sdnotify(struct sup *s, struct service *sv);
void service_on_pidfd(struct sup *s, struct service *sv);
void service_on_spawn(struct sup *s, struct service *sv);
void service_status_retry(struct sup *s);
void leftovers_run(struct sup *s);
int service_adopt(struct sup *s, struct service *sv);
void service_on_deadline(struct sup *s, struct service *sv, int64_t now);
int service_cond(const struct service *sv, enum proto_cond c);
/* deps.c asks the state machine to look at sv again: its dependencies became ready (or
 * what it waits for changed), or its last dependent stopped. */
void service_deps_poke(struct sup *s, struct service *sv);

/* deps.c: who waits for whom (the README's "Dependencies") */
int deps_load(struct sup *s, struct service *sv); /* reads its list: 1 when it changed */
void deps_scan(struct sup *s);         /* every service's list, then the cycles */
void deps_check_cycles(struct sup *s);
int deps_can_start(struct sup *s, struct service *sv); /* reads its list again; 1: go */
void deps_on_change(struct sup *s, struct service *sv); /* from service_enter() */
void deps_pull(struct sup *s, struct service *sv);      /* wanted up: its deps too */
void deps_pull_all(struct sup *s);
/* Stops (or with restart, restarts) what depends on sv, transitively, dependents first;
 * say() is told of each one (NULL: nobody to tell). */
void deps_stop_dependents(struct sup *s, struct service *sv, int restart,
			  void (*say)(void *ctx, const char *who, const char *via), void *ctx);
void deps_forget(struct sup *s, struct service *sv);
void deps_waiting_text(const struct service *sv, char *buf, size_t size);

/* spawn.c */
struct spawn_req {
	const char *dir;       /* absolute: the child's working directory */
	char *const *argv;     /* argv[0]: the program, relative to dir */
	char *const *envp;
	int in_fd;             /* stdin: /dev/null, or for a logger its FIFO */
	int out_fd;            /* stdout and stderr: the FIFO to its logger or to us */
	int notify_fd;         /* -1, or a descriptor to hand over as notify_num */
	int notify_num;
	const struct svuser *user; /* NULL: as we are */
	const char *cgroup_procs;  /* NULL, or the cgroup.procs to join before exec */
	const struct rlimit *nofile; /* RLIMIT_NOFILE to give back (ours is raised), or NULL */
};
struct spawn_res {
	pid_t pid, pgid;
	int report_fd;         /* nonblocking: what spawn_report() reads */
	int exec_err;          /* the exec failed already (errno), at stage; else 0 */
	char stage[12];
};
/* 0 with res filled, or -1 with errno: nothing runs. */
int spawn_service(const struct spawn_req *req, struct spawn_res *res);
/* The exec report: 1 exec'd (or gone without a word), 0 nothing yet, -1 the exec failed
 * with *err at stage. Once it returns other than 0, close the descriptor. */
int spawn_report(int fd, int *err, char *stage, size_t size);

/* svdir.c */
int svdir_path(const struct sup *s, const struct service *sv, const char *file, char *buf,
	       size_t size);
int svdir_has(const struct sup *s, const struct service *sv, const char *file, int exec);
void svdir_settings(struct sup *s, struct service *sv);
/* `type` of the service directory name (relative to dirfd): 1 oneshot, 0 longrun. */
int svdir_oneshot_at(int dirfd, const char *name);
int svdir_user(struct sup *s, struct service *sv); /* -1 with st.reason: cannot run as user */
/* As root: 0 when the service's directory and files can be changed by nobody but root
 * (the safe-path rule), else -1 with why naming the file and its owner. */
int svdir_trust(struct sup *s, const struct service *sv, char *why, size_t why_size);
void svdir_check_root(struct sup *s); /* at each scan: can SVDIR itself be trusted? */
char **svdir_env(struct sup *s, struct service *sv, const char *notify_socket, char *why,
		 size_t why_size);
int svdir_pidfile(struct sup *s, const struct service *sv, pid_t *pid, char *why,
		  size_t why_size);

/* notify.c */
int notify_pipe(struct sup *s, struct service *sv);
void notify_close_fd(struct sup *s, struct service *sv);
int notify_read_fd(struct sup *s, struct service *sv);
int notify_socket(struct sup *s, struct service *sv, char *path, size_t size, char *why,
		  size_t why_size);
void notify_close(struct sup *s, struct service *sv);
int notify_read_socket(struct service *sv, char *status_text, size_t text_size,
		       pid_t *mainpid);
void notify_self_init(struct sup *s);             /* takes NOTIFY_SOCKET for ourselves */
void notify_self(struct sup *s, const char *msg); /* "READY=1", "STOPPING=1" */

/* cgroup.c */
int cgroup_init(struct sup *s, const char *dir);
int cgroup_prepare(const struct sup *s, const struct service *sv, char *buf, size_t size);
void cgroup_kill(const struct sup *s, const struct service *sv);
int cgroup_has(const struct sup *s, const struct service *sv, pid_t pid);
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
void waiter_on_deadline(struct sup *s, struct waiter *w);
void waiter_on_event(struct sup *s, struct waiter *w, unsigned events);
void waiters_reap(struct sup *s);
void waiters_shutdown_reply(struct sup *s);
void waiters_abort(struct sup *s, const char *why); /* every wait ends, failed */

/* output.c: the output of services without log/, into RUNDIR/log/NAME (bounded) */
int output_open(struct sup *s, struct service *sv);
/* Can its log directory be written? 0, or -1 with why (a directory that is not ours). */
int output_check(struct sup *s, struct service *sv, char *why, size_t why_size);
void output_on_readable(struct sup *s, struct service *sv);
void output_on_retry(struct sup *s, int64_t now);
void output_retry_soon(struct sup *s); /* arms the retry timer (status files use it too) */
void output_close(struct sup *s, struct service *sv);
/* -o text|json: our stdout takes the output (0, or -1 with errno); a writer of sv's FIFO
 * died (its partial line ends); stdout can take more; everything left, before we exit
 * (bounded by until_ms, CLOCK_NEVER none). */
int output_stdout_init(struct sup *s);
void output_writer_gone(struct sup *s, struct service *sv);
void output_on_stdout(struct sup *s);
void output_drain_all(struct sup *s, int64_t until_ms);

/* container.c */
void container_init(struct sup *s, char **argv, int64_t deadline_ms);
int container_mode(const struct sup *s); /* PID 1, or a CMD: the signals to take */
void container_on_state(struct sup *s, struct service *sv);  /* from service_enter() */
void container_on_forget(struct sup *s, struct service *sv); /* from service_forget() */
/* A death (or failed start) not asked for: a `critical` service ends everything. */
void container_on_death(struct sup *s, struct service *sv);
int container_on_signal(struct sup *s, int sig);  /* 1: handled here */
int container_on_reaped(struct sup *s, pid_t pid, int wstatus); /* 1: it was CMD */
void container_on_timer(struct sup *s, struct timer *t, int64_t now);
void container_pass(struct sup *s);              /* each loop pass: start CMD when due */
int container_may_stop_services(struct sup *s);  /* shutting down: CMD first */
int container_done(const struct sup *s);         /* CMD gone (or none) */
int container_exit_code(const struct sup *s);
int64_t container_drain_until(const struct sup *s); /* the final drain's bound */

/* loop.c */
void loop_init(struct sup *s);
/* Watches fd for events (EPOLLIN...) as what e says; loop_unwatch() before closing it. */
int loop_watch(struct sup *s, int fd, struct evsrc *e, unsigned events);
void loop_rewatch(struct sup *s, int fd, struct evsrc *e, unsigned events);
void loop_unwatch(struct sup *s, int fd);
/* A service's event source of that kind. */
struct evsrc *loop_sv_src(struct service *sv, enum ev_kind kind);
/* Arms (or with CLOCK_NEVER disarms) a timer. */
void timer_set(struct sup *s, struct timer *t, int64_t at);
int loop_run(struct sup *s); /* 0: shut down; 1: re-exec asked for */

#endif
