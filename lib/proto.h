/* lib/proto.h: the control-line grammar, parsed by the supervisor and built (then parsed
 * again, to validate it) by svctl: one implementation for both sides. The format is the
 * README's "Control protocol". */
#ifndef PROTO_H
#define PROTO_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_LINE_MAX PIPE_BUF          /* bytes, newline included */
#define PROTO_REPLY_MAX 64               /* reply FIFO id, bytes */
#define PROTO_NAMES_MAX (PIPE_BUF / 2)   /* a name and a space at least */
#define PROTO_WAIT_MAX_MS 86400000       /* a day */

enum proto_verb {
	VERB_START, VERB_STOP, VERB_RESTART, VERB_ONCE, VERB_SIGNAL,
	VERB_WAIT, VERB_RESCAN, VERB_SHUTDOWN, VERB_REEXEC, VERB_WATCH, VERB_STATUS,
};

enum proto_cond { COND_UP, COND_READY, COND_DOWN, COND_EXITED };

struct proto_cmd {
	char reply[PROTO_REPLY_MAX + 1]; /* "" when the client wants no reply */
	int64_t wait_ms;                 /* -1: reply at once */
	enum proto_verb verb;
	int sig;                         /* VERB_SIGNAL */
	enum proto_cond cond;            /* VERB_WAIT */
	int json;                        /* VERB_WATCH, VERB_STATUS: "json", else "text" */
	int nnames;
	const char *names[PROTO_NAMES_MAX]; /* point into the parsed line */
};

/* Parses one line (without its newline; line[len] must be writable), NUL-terminating
 * its tokens in place.
 * 0, or -1 with *why set to a static reason. */
int proto_parse(char *line, size_t len, struct proto_cmd *cmd, const char **why);
/* Builds "\n[@REPLY [+MS]] WORD...\n" into buf: the leading newline ends whatever
 * fragment a broken client may have left in the FIFO, so that it cannot spoil this line.
 * Its length, or -1 when it does not fit in size or in PROTO_LINE_MAX. */
int proto_build(char *buf, size_t size, const char *reply, int64_t wait_ms, int argc,
		char *const argv[]);
const char *proto_verb_name(enum proto_verb v);
const char *proto_cond_name(enum proto_cond c);
int proto_reply_id_valid(const char *s, size_t len);

/* Replies: lines "O text" (for stdout), "E text" (for stderr), then "X CODE", svctl's exit
 * status. The supervisor closes the reply FIFO after X, except for shutdown. */
#define PROTO_OUT 'O'
#define PROTO_ERR 'E'
#define PROTO_EXIT 'X'

#endif
