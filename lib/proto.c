#include <string.h>

#include "proto.h"
#include "sig.h"
#include "svname.h"

static const char *const verb_names[] = {
	[VERB_START] = "start",   [VERB_STOP] = "stop",     [VERB_RESTART] = "restart",
	[VERB_ONCE] = "once",     [VERB_SIGNAL] = "signal", [VERB_WAIT] = "wait",
	[VERB_RESCAN] = "rescan", [VERB_SHUTDOWN] = "shutdown", [VERB_REEXEC] = "reexec",
	[VERB_WATCH] = "watch",   [VERB_STATUS] = "status",
};

static const char *const cond_names[] = {
	[COND_UP] = "up", [COND_READY] = "ready", [COND_DOWN] = "down", [COND_EXITED] = "exited",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *
proto_verb_name(enum proto_verb v)
{
	return (size_t)v < NELEM(verb_names) ? verb_names[v] : "?";
}

const char *
proto_cond_name(enum proto_cond c)
{
	return (size_t)c < NELEM(cond_names) ? cond_names[c] : "?";
}

int
proto_reply_id_valid(const char *s, size_t len)
{
	if (len == 0 || len > PROTO_REPLY_MAX || s[0] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Splits line into tokens at runs of spaces and tabs. -1 when there are too many. */
static int
tokenize(char *line, size_t len, char **tok, int max)
{
	int n = 0;
	size_t i = 0;

	while (i < len) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			line[i++] = '\0';
		if (i == len)
			break;
		if (n == max)
			return -1;
		tok[n++] = line + i;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
	}
	line[len] = '\0';
	return n;
}

static int
parse_ms(const char *s, int64_t *ms)
{
	int64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > PROTO_WAIT_MAX_MS)
			return -1;
	}
	*ms = v;
	return 0;
}

static int
lookup(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

#define FAIL(reason)         \
	do {                 \
		*why = reason; \
		return -1;   \
	} while (0)

int
proto_parse(char *line, size_t len, struct proto_cmd *cmd, const char **why)
{
	char *tok[PROTO_NAMES_MAX + 8];
	int ntok, t = 0, v;

	if (len >= PROTO_LINE_MAX)
		FAIL("line too long");
	if (memchr(line, '\0', len) != NULL)
		FAIL("NUL byte in line");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			FAIL("control character in line");
	ntok = tokenize(line, len, tok, (int)NELEM(tok));
	if (ntok < 0)
		FAIL("too many words");
	cmd->reply[0] = '\0';
	cmd->wait_ms = -1;
	cmd->nnames = 0;
	if (t < ntok && tok[t][0] == '@') {
		size_t l = strlen(tok[t] + 1);
		if (!proto_reply_id_valid(tok[t] + 1, l))
			FAIL("bad reply id");
		memcpy(cmd->reply, tok[t] + 1, l + 1);
		t++;
		if (t < ntok && tok[t][0] == '+') {
			if (parse_ms(tok[t] + 1, &cmd->wait_ms) == -1)
				FAIL("bad wait time");
			t++;
		}
	}
	if (t == ntok)
		FAIL("empty command");
	v = lookup(tok[t++], verb_names, NELEM(verb_names));
	if (v < 0)
		FAIL("unknown command");
	cmd->verb = (enum proto_verb)v;
	if (cmd->verb == VERB_SIGNAL) {
		if (t == ntok)
			FAIL("signal: missing signal");
		cmd->sig = sig_parse(tok[t], strlen(tok[t]));
		if (cmd->sig < 0)
			FAIL("signal: unknown signal");
		t++;
	} else if (cmd->verb == VERB_WAIT) {
		if (t == ntok)
			FAIL("wait: missing state (up, ready or down)");
		v = lookup(tok[t], cond_names, COND_EXITED);
		if (v < 0)
			FAIL("wait: unknown state (up, ready or down)");
		cmd->cond = (enum proto_cond)v;
		t++;
	} else if (cmd->verb == VERB_WATCH || cmd->verb == VERB_STATUS) {
		if (t == ntok || (strcmp(tok[t], "text") != 0 && strcmp(tok[t], "json") != 0))
			FAIL("say text or json");
		cmd->json = strcmp(tok[t], "json") == 0;
		t++;
	}
	switch (cmd->verb) {
	case VERB_RESCAN:
	case VERB_SHUTDOWN:
	case VERB_REEXEC:
		if (t != ntok)
			FAIL("this command takes no argument");
		return 0;
	default:
		break;
	}
	/* watch, status: every service; wait: every normally-up one (down: every one) */
	if (t == ntok && cmd->verb != VERB_WATCH && cmd->verb != VERB_STATUS && cmd->verb != VERB_WAIT)
		FAIL("missing service name");
	for (; t < ntok; t++) {
		if (!svname_ref_valid(tok[t], strlen(tok[t])))
			FAIL("bad service name");
		cmd->names[cmd->nnames++] = tok[t];
	}
	return 0;
}

int
proto_build(char *buf, size_t size, const char *reply, int64_t wait_ms, int argc,
	    char *const argv[])
{
	size_t n = 1;
	char num[24];
	const char *parts[2];
	int np = 0;

	if (reply != NULL && reply[0] != '\0') {
		parts[np++] = reply;
		if (wait_ms >= 0) {
			int l = 0;
			int64_t v = wait_ms;
			char tmp[24];
			do
				tmp[l++] = (char)('0' + v % 10);
			while ((v /= 10) > 0);
			for (int i = 0; i < l; i++)
				/* cppcheck-suppress uninitvar ; the do-while above set tmp[0..l) */
				num[i] = tmp[l - 1 - i];
			num[l] = '\0';
			parts[np++] = num;
		}
	}
	if (size < 2)
		return -1;
	buf[0] = '\n'; /* ends any fragment a broken client left in the FIFO before us */
	for (int i = 0; i < np + argc; i++) {
		const char *w = i < np ? parts[i] : argv[i - np];
		const char *pre = i >= np ? "" : i == 0 ? "@" : "+";
		size_t pl = strlen(pre), wl = strlen(w);
		if (n + pl + wl + 2 > size || n + pl + wl + 2 > PROTO_LINE_MAX)
			return -1;
		if (i > 0)
			buf[n++] = ' ';
		/* NOLINTBEGIN(bugprone-not-null-terminated-result): a line with its length, for
		 * write(), not a string */
		memcpy(buf + n, pre, pl);
		memcpy(buf + n + pl, w, wl);
		/* NOLINTEND(bugprone-not-null-terminated-result) */
		n += pl + wl;
	}
	buf[n++] = '\n';
	return (int)n;
}
