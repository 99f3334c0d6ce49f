/* fuzz/proto.c: lib/proto.c's proto_parse on arbitrary bytes as one control line (the
 * supervisor's FIFO input, hostile until parsed). When it parses, the command is built
 * again with proto_build, as svctl would send it, and that line must parse to the same
 * command. Build and run: make fuzz. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "sig.h"
#include "svname.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
same_cmd(const struct proto_cmd *a, const struct proto_cmd *b)
{
	if (strcmp(a->reply, b->reply) != 0 || a->wait_ms != b->wait_ms || a->verb != b->verb ||
	    a->nnames != b->nnames)
		abort();
	if (a->verb == VERB_SIGNAL && a->sig != b->sig)
		abort();
	if (a->verb == VERB_WAIT && a->cond != b->cond)
		abort();
	for (int i = 0; i < a->nnames; i++)
		if (strcmp(a->names[i], b->names[i]) != 0)
			abort();
}

/* What svctl would send for cmd: proto_build, then parse that line. */
static void
rebuild(const struct proto_cmd *cmd)
{
	static char *argv[PROTO_NAMES_MAX + 2];
	static char line[PROTO_LINE_MAX + 2];
	struct proto_cmd again;
	const char *why = NULL;
	int argc = 0, n;

	argv[argc++] = (char *)proto_verb_name(cmd->verb);
	if (cmd->verb == VERB_SIGNAL)
		argv[argc++] = (char *)sig_name(cmd->sig);
	else if (cmd->verb == VERB_WAIT)
		argv[argc++] = (char *)proto_cond_name(cmd->cond);
	for (int i = 0; i < cmd->nnames; i++)
		argv[argc++] = (char *)cmd->names[i];
	n = proto_build(line, sizeof line, cmd->reply, cmd->wait_ms, argc, argv);
	if (n == -1)
		return; /* "+MS" or a longer signal name can make it too long: svctl says so */
	if (n < 2 || n > PROTO_LINE_MAX || line[0] != '\n' || line[n - 1] != '\n')
		abort();
	if (proto_parse(line + 1, (size_t)n - 2, &again, &why) == -1)
		abort();
	same_cmd(cmd, &again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_cmd cmd;
	const char *why = NULL;
	char *line = malloc(size + 1); /* proto_parse writes line[len] */

	if (line == NULL)
		return 0;
	memcpy(line, data, size);
	if (proto_parse(line, size, &cmd, &why) == -1) {
		if (why == NULL)
			abort();
	} else {
		if (cmd.nnames < 0 || cmd.nnames > PROTO_NAMES_MAX)
			abort();
		if (cmd.reply[0] != '\0' && !proto_reply_id_valid(cmd.reply, strlen(cmd.reply)))
			abort();
		if (cmd.wait_ms < -1 || cmd.wait_ms > PROTO_WAIT_MAX_MS)
			abort();
		for (int i = 0; i < cmd.nnames; i++) {
			const char *nm = cmd.names[i];
			if (nm < line || nm >= line + size + 1 ||
			    !svname_ref_valid(nm, strlen(nm)))
				abort();
		}
		rebuild(&cmd);
	}
	free(line);
	return 0;
}
