/* testdaemon: writes "<asctime>:hello world" to stdout once a second, flushing each line;
 * exits 0 on SIGTERM. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(void)
{
	struct sigaction sa;
	struct timespec next;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	if (sigaction(SIGTERM, &sa, NULL) == -1) {
		perror("testdaemon: sigaction");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!stop) {
		time_t now = time(NULL);
		struct tm tm;
		char when[64];

		/* asctime's text, without its newline */
		if (localtime_r(&now, &tm) == NULL || strftime(when, sizeof when, "%a %b %e %H:%M:%S %Y", &tm) == 0) {
			fprintf(stderr, "testdaemon: unable to format the time\n");
			return 1;
		}
		if (printf("%s:hello world\n", when) < 0 || fflush(stdout) == EOF) {
			fprintf(stderr, "testdaemon: write: %s\n", strerror(errno));
			return 1;
		}
		next.tv_sec += 1;
		while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
	}
	return 0;
}
