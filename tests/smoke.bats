#!/usr/bin/env bats
load helpers

@test "testdaemon writes hello world lines to its log" {
	mkdir -p "$SV/testdaemon"
	printf '#!/bin/sh\nexec %s/testdaemon\n' "$BIN" > "$SV/testdaemon/run"
	chmod +x "$SV/testdaemon/run"
	start_supervise
	wait_until 10 is_up testdaemon
	wait_until 10 grep -q 'hello world' "$RUN/log/testdaemon/current"
	run svctl log testdaemon
	assert_success
	assert_line --regexp '^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}:hello world$'
}
