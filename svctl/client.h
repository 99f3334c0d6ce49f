/* svctl/client.h: one request to the supervisor over its control FIFO, and its reply
 * through a FIFO of our own (the README's "Control protocol"). */
#ifndef CLIENT_H
#define CLIENT_H

#include <stdint.h>

#include "paths.h"

/* Sends words (a command line) and relays the reply: "O" lines to stdout, "E" lines to
 * stderr. wait_ms: how long the supervisor may wait for the state (-1: not sent).
 * limit_ms: how long we wait for the whole answer; 0: send, expect no answer. until_exit: after the answer, wait for
 * the supervisor to close its end (it does so by exiting). Returns the exit status. */
int client_request(const struct paths *p, int argc, char *const argv[], int64_t wait_ms,
		   int64_t limit_ms, int until_exit);
/* 1 when a supervisor holds RUNDIR/pid's lock, 0 when none does. */
int client_supervisor_running(const struct paths *p);

#endif
