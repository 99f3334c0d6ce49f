/* svctl/follow.h: `svctl log [-f]`: print a log file unchanged, then (follow) each byte
 * appended to it, across truncation and replacement, woken by inotify. */
#ifndef FOLLOW_H
#define FOLLOW_H

int follow_log(const char *path, const char *name, int follow);

#endif
