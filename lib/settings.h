/* lib/settings.h: the values of a service directory's settings files (down-signal,
 * timeout-kill, timeout-finish, notification-fd). Each parser takes the file's text,
 * uses its first line with surrounding white space trimmed, and returns 0, or -1 with
 * *why set to a static reason. */
#ifndef SETTINGS_H
#define SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#define SETTINGS_FILE_MAX 256 /* bytes a settings file may hold */

int settings_signal(const char *text, int *sig, const char **why);
int settings_ms(const char *text, int64_t *ms, const char **why);   /* 0..2^31 ms */
int settings_fd(const char *text, int *fd, const char **why);       /* 3..1023 */

#endif
