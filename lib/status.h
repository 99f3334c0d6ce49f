/* lib/status.h: RUNDIR/status/NAME. The supervisor writes it on every state change; svctl
 * and the supervisor itself (when it takes over running services) read it. The text
 * format is the README's "Status files"; nobody else knows the layout. */
#ifndef STATUS_H
#define STATUS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "svname.h"

/* What is, as users see it. The transitions live in supervise/service.c. */
enum sv_state {
	SV_DOWN, SV_STARTING, SV_UP, SV_STOPPING, SV_FINISHING, SV_BACKOFF, SV_FAILED,
	SV_WAITING, /* wanted up, its dependencies not ready yet */
};
/* What was asked. */
enum sv_want { WANT_DOWN, WANT_UP, WANT_ONCE };

#define STATUS_DEATHS 5      /* deaths kept, newest first */
#define STATUS_REASON_MAX 160
#define STATUS_WAITING_MAX 512 /* what a waiting service waits for, and why */
#define STATUS_DEPS_MAX 1024    /* its dependencies' names, space-separated */

struct sv_death {
	int64_t when_sec;  /* epoch */
	int code;          /* exit code, or -1 when killed */
	int sig;           /* killing signal, or 0 */
	int64_t ran_ms;    /* how long it had run */
};

struct sv_status {
	char name[SVREF_MAX + 1];     /* NAME or NAME/log */
	enum sv_state state;
	pid_t pid;                   /* 0: no process */
	pid_t pgid;
	unsigned long long starttime; /* the pid's start time, /proc/PID/stat field 22 */
	int64_t since_sec;           /* epoch, entered this state */
	enum sv_want want;
	int normally_up;
	int ready;
	unsigned restarts;
	int64_t next_sec;            /* epoch: next start (backoff, failed) or kill (stopping); 0 */
	char reason[STATUS_REASON_MAX];
	char warning[STATUS_REASON_MAX]; /* a settings file ignored, and why */
	char text[STATUS_REASON_MAX];    /* what the service said of itself (sd_notify STATUS=) */
	int ndeaths;
	struct sv_death deaths[STATUS_DEATHS];
	int oneshot;                 /* `type` oneshot */
	char deps[STATUS_DEPS_MAX];  /* "db cache": what it depends on ("" none; cut at a name) */
	char waiting_for[STATUS_WAITING_MAX]; /* waiting: "db (failed: exit 1), cache" */
};

const char *status_state_name(enum sv_state s);
const char *status_want_name(enum sv_want w);

/* The file's text; its length (truncated text never happens: the buffer bound is ours). */
size_t status_format(char *buf, size_t size, const struct sv_status *st);
/* 0, or -1 with *why set when buf is not a status file. buf must be NUL-terminated. */
int status_parse(const char *buf, struct sv_status *st, const char **why);
/* 0, or -1 with errno set (EINVAL: the file is not a status file). name: NAME or
 * NAME/log (its file is NAME:log). */
int status_write(int dirfd, const struct sv_status *st);
int status_read(int dirfd, const char *name, struct sv_status *st);
/* The svctl status line without the name: "up (pid 4242) 12s, ready". */
size_t status_describe(char *buf, size_t size, const struct sv_status *st, int64_t now_sec);
/* One JSON object for the service. */
size_t status_json(char *buf, size_t size, const struct sv_status *st);

/* status_format, status_describe and status_json fit: JSON is the longest, about 7 KiB
 * at most, when the four free texts are all control characters (6 bytes each as \u00XX)
 * and the dependencies take all their room (quoted, comma-separated) */
#define STATUS_TEXT_MAX 8192

#endif
