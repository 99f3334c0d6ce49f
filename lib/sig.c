#include <signal.h>
#include <stdio.h>
#include <strings.h>

#include "sig.h"

static const struct {
	const char *name;
	int sig;
} sig_table[] = {
	{ "HUP", SIGHUP },   { "INT", SIGINT },     { "QUIT", SIGQUIT }, { "ILL", SIGILL },
	{ "TRAP", SIGTRAP }, { "ABRT", SIGABRT },   { "BUS", SIGBUS },   { "FPE", SIGFPE },
	{ "KILL", SIGKILL }, { "USR1", SIGUSR1 },   { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM },   { "TERM", SIGTERM }, { "CHLD", SIGCHLD },
	{ "CONT", SIGCONT }, { "STOP", SIGSTOP },   { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN },
	{ "TTOU", SIGTTOU }, { "URG", SIGURG },     { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
	{ "PWR", SIGPWR },   { "SYS", SIGSYS },
};

int
sig_parse(const char *s, size_t len)
{
	if (len == 0)
		return -1;
	if (s[0] >= '0' && s[0] <= '9') {
		int n = 0;
		for (size_t i = 0; i < len; i++) {
			if (s[i] < '0' || s[i] > '9' || n > 64)
				return -1;
			n = n * 10 + (s[i] - '0');
		}
		return n >= 1 && n <= 64 ? n : -1;
	}
	if (len > 3 && strncasecmp(s, "SIG", 3) == 0) {
		s += 3;
		len -= 3;
	}
	for (size_t i = 0; i < sizeof sig_table / sizeof sig_table[0]; i++) {
		const char *n = sig_table[i].name;
		size_t nl = 0;
		while (n[nl] != '\0')
			nl++;
		if (nl == len && strncasecmp(s, n, len) == 0)
			return sig_table[i].sig;
	}
	return -1;
}

const char *
sig_name(int sig)
{
	static char num[16];

	for (size_t i = 0; i < sizeof sig_table / sizeof sig_table[0]; i++)
		if (sig_table[i].sig == sig)
			return sig_table[i].name;
	(void)snprintf(num, sizeof num, "%d", sig);
	return num;
}
