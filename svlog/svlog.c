/* svlog/svlog.c: svlog [-s BYTES] [-n N] [-t] DIR, the bundled logger (README "svlog"):
 * stdin's lines appended to DIR/current, rotated by size. Here: options, signals, and the
 * read loop that cuts stdin into lines; logdir.c owns the directory and its files. */
#define _GNU_SOURCE /* signalfd */

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "clock.h"
#include "fdio.h"
#include "log.h"
#include "logdir.h"
#include "stamp.h"

#define USAGE "usage: svlog [-s BYTES] [-n N] [-t] DIR\n"
#define MAX_BYTES_DEFAULT 1000000
#define MAX_BYTES_MIN 4096
#define MAX_BYTES_MAX ((uint64_t)1 << 60)
#define KEEP_DEFAULT 10
#define KEEP_MAX 1000000
#define IN_SIZE (256 * 1024) /* > LOGDIR_LINE_MAX: after a line is cut, a read has room */
#define TERM_LINE_WAIT_MS 1000 /* after TERM, how long a begun line may take to end */

enum run_end { END_EOF, END_SIGNAL, END_READ_ERROR };

struct opts {
	uint64_t max_bytes;
	unsigned long keep;
	int stamps;
	const char *dir;
};

static struct logdir ld; /* holds the output buffer: static, not on the stack */
static char in[IN_SIZE];
static size_t in_len;    /* bytes in `in`: an unfinished line between reads */

static void __attribute__((noreturn))
usage(void)
{
	(void)fd_write_all(STDERR_FILENO, USAGE, sizeof USAGE - 1); /* exiting anyway */
	exit(2);
}

/* A decimal number within [min, max], or a usage error naming the option. */
static uint64_t
parse_num(int opt, const char *s, uint64_t min, uint64_t max)
{
	uint64_t v = 0;
	const char *p = s;

	do {
		if (*p < '0' || *p > '9' || v > (max - (uint64_t)(*p - '0')) / 10) {
			log_info("-%c %s: not a number from %llu to %llu", opt, s,
			    (unsigned long long)min, (unsigned long long)max);
			usage();
		}
		v = v * 10 + (uint64_t)(*p - '0');
	} while (*++p != '\0');
	if (v < min) {
		log_info("-%c %s: below the minimum of %llu", opt, s, (unsigned long long)min);
		usage();
	}
	return v;
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	o->max_bytes = MAX_BYTES_DEFAULT;
	o->keep = KEEP_DEFAULT;
	o->stamps = 0;
	opterr = 0; /* our own messages, in our format */
	while ((c = getopt(argc, argv, "+s:n:t")) != -1) {
		switch (c) {
		case 's':
			o->max_bytes = parse_num(c, optarg, MAX_BYTES_MIN, MAX_BYTES_MAX);
			break;
		case 'n':
			o->keep = (unsigned long)parse_num(c, optarg, 0, KEEP_MAX);
			break;
		case 't':
			o->stamps = 1;
			break;
		default:
			log_info(optopt == 's' || optopt == 'n' ? "-%c: needs a value" :
			    "-%c: unknown option", optopt);
			usage();
		}
	}
	if (argc - optind != 1 || argv[optind][0] == '\0')
		usage();
	o->dir = argv[optind];
}

/* TERM and INT arrive on a signalfd, so a signal between poll() and read() is never
 * missed; both mean: write what was read, then exit 0. */
static int
setup_signals(void)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };
	sigset_t set;
	int fd;

	/* a reader gone from stderr or a terminal hangup must not cost log lines */
	if (sigaction(SIGPIPE, &sa, NULL) == -1 || sigaction(SIGHUP, &sa, NULL) == -1)
		log_fatal("sigaction");
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		log_fatal("sigprocmask");
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd == -1)
		log_fatal("signalfd");
	return fd;
}

static void
put_line(const char *line, size_t len, const char *stamp)
{
	size_t slen = stamp != NULL ? STAMP_LINE_LEN : 0;
	char *p = logdir_reserve(&ld, slen + len + 1);

	if (stamp != NULL)
		memcpy(p, stamp, slen);
	memcpy(p + slen, line, len);
	p[slen + len] = '\n';
}

/* The longest line content written as one line: the rest of logdir_line_max() is the
 * newline and the stamp. */
static size_t
line_content_max(const struct opts *o)
{
	return logdir_line_max(&ld) - 1 - (o->stamps ? STAMP_LINE_LEN : 0);
}

/* Hands every whole line in `in` to the log directory, and cuts a line longer than
 * content_max into pieces of that size, each a line of its own (README); keeps the
 * unfinished last line for the next read. */
static void
take_lines(const char *stamp, size_t content_max)
{
	size_t pos = 0;

	while (pos < in_len) {
		const char *nl = memchr(in + pos, '\n', in_len - pos);
		size_t len = nl != NULL ? (size_t)(nl - (in + pos)) : in_len - pos;
		if (len > content_max) {
			put_line(in + pos, content_max, stamp);
			pos += content_max;
		} else if (nl != NULL) {
			put_line(in + pos, len, stamp);
			pos += len + 1;
		} else {
			break;
		}
	}
	memmove(in, in + pos, in_len - pos);
	in_len -= pos;
}

/* Reads stdin until EOF or a signal. */
static enum run_end
run(const struct opts *o, int sigfd)
{
	struct pollfd fds[2] = {
		{ .fd = STDIN_FILENO, .events = POLLIN },
		{ .fd = sigfd, .events = POLLIN },
	};
	char stamp[STAMP_LINE_LEN];
	size_t content_max = line_content_max(o);

	for (;;) {
		if (poll(fds, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			log_fatal("poll"); /* EFAULT, EINVAL, ENOMEM: nothing to retry */
		}
		if (fds[1].revents != 0)
			return END_SIGNAL; /* TERM or INT */
		if (fds[0].revents == 0)
			continue;
		ssize_t r = read(STDIN_FILENO, in + in_len, sizeof in - in_len);
		if (r == 0)
			return END_EOF;
		if (r == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			log_warn("unable to read stdin");
			return END_READ_ERROR;
		}
		in_len += (size_t)r;
		/* one stamp per read: the lines it completed arrived together */
		if (o->stamps)
			stamp_line(stamp, stamp_now_us());
		take_lines(o->stamps ? stamp : NULL, content_max);
		/* Everything read but an unfinished line is in the file before the next read:
		 * a quiet writer's lines show at once, and while a write is retried (a full
		 * disk) stdin is left alone, so the pipe fills and the writer blocks. */
		logdir_flush(&ld);
	}
}

/* After TERM no new line is read, but one begun is finished, a byte at a time so that
 * nothing of the next line is taken: that stays in the pipe for the next logger (the
 * supervisor holds the pipe open across restarts). A writer that does not end its line
 * within TERM_LINE_WAIT_MS gets it written as it is, with a newline (README). */
static void
finish_line(const struct opts *o)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	int64_t deadline_ms = clock_ms() + TERM_LINE_WAIT_MS;
	size_t content_max = line_content_max(o);
	char stamp[STAMP_LINE_LEN];

	while (in_len > 0) {
		int n = poll(&pfd, 1, clock_poll_timeout(deadline_ms, clock_ms()));
		if (n == 0 || (n == -1 && errno != EINTR))
			return;
		if (n == -1)
			continue;
		ssize_t r = read(STDIN_FILENO, in + in_len, 1);
		if (r == 0 || (r == -1 && errno != EINTR && errno != EAGAIN))
			return;
		if (r == 1 && (in[in_len++] == '\n' || in_len > content_max)) {
			stamp_line(stamp, stamp_now_us());
			take_lines(o->stamps ? stamp : NULL, content_max);
		}
	}
}

int
main(int argc, char **argv)
{
	struct opts o;
	enum run_end end;
	int sigfd;

	log_init("svlog", 0);
	if (fd_open_devnull_stdio() == -1)
		return 1; /* not even stderr to say so */
	parse_opts(argc, argv, &o);
	logdir_open(&ld, o.dir, o.max_bytes, o.keep);
	sigfd = setup_signals();
	end = run(&o, sigfd);
	if (end == END_SIGNAL)
		finish_line(&o);
	if (in_len > 0) { /* a last line without its newline gets one */
		char stamp[STAMP_LINE_LEN];
		stamp_line(stamp, stamp_now_us());
		put_line(in, in_len, o.stamps ? stamp : NULL);
		in_len = 0;
	}
	logdir_close(&ld);
	return end == END_READ_ERROR ? 1 : 0;
}
