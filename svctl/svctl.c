/* svctl: tells the supervisor what to do; reads status and logs itself. Usage and exit
 * codes: the README's "svctl" and svctl(8). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "clock.h"
#include "fdio.h"
#include "follow.h"
#include "log.h"
#include "proto.h"
#include "sig.h"
#include "status.h"
#include "svname.h"

#define WAIT_DEFAULT_MS 7000
#define REPLY_GRACE_MS 3000 /* beyond the wait: the supervisor's answer is on its way */
#define WATCH_FOREVER_MS ((int64_t)100 * 365 * 86400000) /* watch: until the supervisor exits */

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
		"usage: svctl [-d SVDIR] [-r RUNDIR] [-w SECS] COMMAND [NAME...]\n"
		"commands: start|stop|restart|once NAME...  signal SIG NAME...\n"
		"          status [--json] [NAME...]  list  log [-f] NAME\n"
		"          wait up|ready|down [NAME...]  watch [--json] [NAME...]\n"
		"          rescan  shutdown  reexec\n");
	exit(2);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "svctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	usage();
}

static void
check_names(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (!svname_ref_valid(argv[i], strlen(argv[i])))
			usage_error("invalid service name '%s' (1-64 of A-Z a-z 0-9 . _ @ -, not starting with .)",
				    argv[i]);
}

static int64_t
parse_secs(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > PROTO_WAIT_MAX_MS / 1000.0)
		usage_error("-w: not a number of seconds: '%s'", s);
	return (int64_t)(v * 1000 + 0.5);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the services the supervisor knows: its status files, sorted. */
static int
known_names(int dirfd, char ***out)
{
	int n = 0, cap = 0;
	DIR *d = fd_opendir(dirfd);
	struct dirent *de;
	char **v = NULL;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char ref[SVREF_MAX + 1];
		size_t len = strlen(de->d_name);
		if (len > SVREF_MAX)
			continue;
		svname_from_file(de->d_name, ref); /* web:log is web/log */
		if (!svname_ref_valid(ref, len))
			continue; /* ".", "..", NAME.tmp of a write in progress is valid: see below */
		if (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nv = realloc(v, (size_t)cap * sizeof *v);
			if (nv == NULL)
				log_fatal("out of memory");
			v = nv;
		}
		if ((v[n++] = strdup(ref)) == NULL)
			log_fatal("out of memory");
	}
	closedir(d);
	if (n > 0) /* v is NULL when there is none, and qsort's array must not be NULL */
		qsort(v, (size_t)n, sizeof *v, cmp_names);
	*out = v;
	return n;
}

static void
free_names(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A RUNDIR we may not enter is another user's supervisor: say so, not "not running". */
static void
check_access(const struct paths *p)
{
	struct stat st;
	struct passwd *pw;

	if (stat(p->rundir, &st) == -1) {
		if (errno == EACCES)
			log_fatalx("permission denied: %s cannot be reached", p->rundir);
		return;
	}
	if (access(p->rundir, X_OK) == 0 || errno != EACCES)
		return;
	pw = getpwuid(st.st_uid);
	if (pw != NULL)
		log_fatalx("permission denied: %s belongs to %s", p->rundir, pw->pw_name);
	log_fatalx("permission denied: %s belongs to uid %ld", p->rundir, (long)st.st_uid);
}

/* watch [--json] [NAME...]: the supervisor pushes a line per change on our reply FIFO,
 * until it exits ("X 0") or we are interrupted; each line is written out at once. */
static int
cmd_watch(const struct paths *p, int argc, char **argv)
{
	char *args[PROTO_NAMES_MAX + 2];
	int json = argc > 0 && strcmp(argv[0], "--json") == 0;

	argc -= json;
	argv += json;
	check_names(argc, argv);
	if (argc > PROTO_NAMES_MAX)
		usage_error("watch: too many names");
	args[0] = "watch";
	args[1] = json ? "json" : "text";
	for (int i = 0; i < argc; i++)
		args[i + 2] = argv[i];
	setvbuf(stdout, NULL, _IOLBF, 0);
	return client_request(p, argc + 2, args, -1, WATCH_FOREVER_MS, 0);
}

static int
open_status_dir(const struct paths *p)
{
	char path[PATH_MAX];
	int fd;

	if (path_join(path, sizeof path, p->rundir, RUN_STATUS, NULL) == -1)
		log_fatal("%s/%s", p->rundir, RUN_STATUS);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		log_warn("no status in %s (has supervise run on it?)", path);
	return fd;
}

static int
warn_if_not_running(const struct paths *p)
{
	if (client_supervisor_running(p))
		return 0;
	log_warnx("supervisor not running: what follows may be stale");
	return 1;
}

static int
cmd_status(const struct paths *p, int argc, char **argv)
{
	int json = 0, rc = 0, dfd, n, first = 1;
	char **names;
	int64_t now = clock_wall_sec();

	if (argc > 0 && strcmp(argv[0], "--json") == 0) {
		json = 1;
		argc--;
		argv++;
	}
	check_names(argc, argv);
	if (client_supervisor_running(p) && argc <= PROTO_NAMES_MAX) {
		/* the supervisor answers from what it holds: one reply, no file per service */
		char *args[PROTO_NAMES_MAX + 2];
		args[0] = "status";
		args[1] = json ? "json" : "text";
		for (int i = 0; i < argc; i++)
			args[i + 2] = argv[i];
		rc = client_request(p, argc + 2, args, -1, REPLY_GRACE_MS, 0);
		if (rc != 2) /* 2: the names do not fit in one command: read the files */
			return rc;
	}
	dfd = open_status_dir(p);
	if (dfd == -1)
		return 1;
	rc = warn_if_not_running(p);
	if (argc > 0) {
		names = argv;
		n = argc;
	} else if ((n = known_names(dfd, &names)) == -1) {
		log_warn("unable to list %s/%s", p->rundir, RUN_STATUS);
		return 1;
	}
	if (json)
		printf("[");
	for (int i = 0; i < n; i++) {
		struct sv_status st;
		char text[STATUS_TEXT_MAX];
		if (status_read(dfd, names[i], &st) == -1) {
			if (errno == ENOENT)
				log_warnx("%s: no such service", names[i]);
			else
				log_warn("%s: unable to read its status", names[i]);
			rc = 1;
			continue;
		}
		if (json) {
			status_json(text, sizeof text, &st);
			printf("%s\n%s", first ? "" : ",", text);
		} else {
			status_describe(text, sizeof text, &st, now);
			printf("%s: %s\n", st.name, text);
		}
		first = 0;
	}
	if (json)
		printf("%s]\n", first ? "" : "\n");
	if (names != argv)
		free_names(names, n);
	return fflush(stdout) == EOF ? 1 : rc;
}

static int
cmd_list(const struct paths *p, int argc)
{
	char **names;
	int dfd, n, rc;

	if (argc != 0)
		usage_error("list takes no argument");
	if ((dfd = open_status_dir(p)) == -1)
		return 1;
	rc = warn_if_not_running(p);
	if ((n = known_names(dfd, &names)) == -1) {
		log_warn("unable to list %s/%s", p->rundir, RUN_STATUS);
		return 1;
	}
	for (int i = 0; i < n; i++)
		printf("%s\n", names[i]);
	free_names(names, n);
	return fflush(stdout) == EOF ? 1 : rc;
}

static int
cmd_log(const struct paths *p, int argc, char **argv)
{
	char path[PATH_MAX];
	int follow = 0;

	if (argc > 0 && strcmp(argv[0], "-f") == 0) {
		follow = 1;
		argc--;
		argv++;
	}
	if (argc != 1)
		usage_error("log takes one service name");
	check_names(argc, argv);
	char file[SVREF_MAX + 1];
	svname_to_file(argv[0], file);
	if (path_join(path, sizeof path, p->rundir, RUN_SVLOG, file) == -1 ||
	    strlen(path) + sizeof "/current" > sizeof path)
		log_fatalx("%s: path too long", argv[0]);
	strcat(path, "/current");
	return follow_log(path, argv[0], follow);
}

int
main(int argc, char **argv)
{
	const char *opt_d = NULL, *opt_r = NULL;
	int64_t wait_ms = WAIT_DEFAULT_MS;
	struct paths p;
	const char *cmd;
	int c;

	log_init("svctl", 0);
	if (fd_open_devnull_stdio() == -1)
		return 1;
	while ((c = getopt(argc, argv, "+d:r:w:h")) != -1) {
		switch (c) {
		case 'd': opt_d = optarg; break;
		case 'r': opt_r = optarg; break;
		case 'w': wait_ms = parse_secs(optarg); break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage();
	if (paths_resolve(&p, opt_d, opt_r) == -1)
		log_fatal("paths");
	check_access(&p);
	cmd = argv[0];
	argc--;
	argv++;
	if (strcmp(cmd, "status") == 0)
		return cmd_status(&p, argc, argv);
	if (strcmp(cmd, "list") == 0)
		return cmd_list(&p, argc);
	if (strcmp(cmd, "log") == 0)
		return cmd_log(&p, argc, argv);
	if (strcmp(cmd, "watch") == 0)
		return cmd_watch(&p, argc, argv);

	/* the rest go to the supervisor: validate with the supervisor's own parser */
	{
		char line[PROTO_LINE_MAX + 1];
		struct proto_cmd pc;
		const char *why;
		int len, first_name = 0;
		int waits = 1;

		if (strcmp(cmd, "signal") == 0) {
			if (argc < 1 || sig_parse(argv[0], strlen(argv[0])) < 0)
				usage_error("signal: unknown signal '%s'", argc ? argv[0] : "");
			first_name = 1;
		} else if (strcmp(cmd, "wait") == 0) {
			if (argc < 1 || (strcmp(argv[0], "up") != 0 && strcmp(argv[0], "ready") != 0 &&
					 strcmp(argv[0], "down") != 0))
				usage_error("wait: say up, ready or down");
			first_name = 1;
		}
		check_names(argc - first_name, argv + first_name);
		len = proto_build(line, sizeof line, NULL, -1, argc + 1, argv - 1);
		if (len < 0)
			usage_error("command longer than %d bytes: split it", PROTO_LINE_MAX);
		if (proto_parse(line + 1, (size_t)len - 2, &pc, &why) == -1)
			usage_error("%s: %s", cmd, why);
		switch (pc.verb) {
		case VERB_ONCE:
		case VERB_SIGNAL:
		case VERB_RESCAN:
		case VERB_REEXEC:
			waits = 0;
			break;
		default:
			break;
		}
		if (pc.verb == VERB_SHUTDOWN && wait_ms == 0) /* -w 0: do not wait for the exit */
			return client_request(&p, argc + 1, argv - 1, -1, 0, 0);
		return client_request(&p, argc + 1, argv - 1, waits ? wait_ms : -1,
				      (waits ? wait_ms : 0) + REPLY_GRACE_MS,
				      pc.verb == VERB_SHUTDOWN);
	}
}
