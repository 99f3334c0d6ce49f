/* lib/sig.h: signal names as users write them (TERM, SIGTERM, 15) and as we print them. */
#ifndef SIG_H
#define SIG_H

#include <stddef.h>

/* The signal number for a name (with or without "SIG", any case) or a decimal number
 * 1..64; -1 when it is neither. */
int sig_parse(const char *s, size_t len);
/* "TERM" for SIGTERM; a decimal string for a signal without a name (static buffer). */
const char *sig_name(int sig);

#endif
