#!/usr/bin/env bats
# svctl: every command, its effect and its exit code (0 success, 1 failed operation,
# 2 usage error; errors on stderr as "svctl: ...").
bats_require_minimum_version 1.5.0
load helpers

# alive PID: exists and is not a zombie.
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}

# A service that is known to the supervisor (its status file is there).
known() {
	test -f "$RUN/status/$1"
}

# supervisor running with the given services already known
start_with() {
	start_supervise
	local n
	for n in "$@"; do
		wait_until 10 known "$n"
	done
}

# A service whose shell traps USR1 and USR2, appending "usr1" / "usr2" to $MARK, and
# says it is ready (trap set) in $MARK.ready. It keeps its pid across signals.
make_trapper() {
	MARK=$BATS_TEST_TMPDIR/mark
	make_service "$1" "trap 'echo usr1 >>\"$MARK\"' USR1
trap 'echo usr2 >>\"$MARK\"' USR2
echo ready >\"$MARK.ready\"
while :; do sleep 1000 & wait \$!; done"
}

# A service that ignores TERM, so a stop only ends with the KILL after timeout-kill.
make_term_ignorer() {
	make_service "$1" "trap '' TERM
exec sleep 1000" timeout-kill=60000
}

# Kills the group of a service that would not stop, and waits for it to be down.
kill_service_group() {
	local g
	g=$(status_field "$1" pgid)
	[ -n "$g" ] && [ "$g" != 0 ] && kill -KILL -- "-$g"
	wait_until 10 state_is "$1" down
}

# ---- start / stop / restart / once ----

@test "start: starts a service that is down; returns once it is up" {
	make_sleeper x down=
	start_with x
	state_is x down
	run svctl start x
	assert_success
	# no waiting: start has waited
	is_up x
	alive "$(service_pid x)"
	assert_equal "$(status_field x wanted)" up
}

@test "stop: stops a running service; returns once it is down" {
	make_sleeper x
	start_with x
	wait_until 10 is_up x
	local p
	p=$(service_pid x)
	run svctl stop x
	assert_success
	state_is x down
	gone "$p"
	assert_equal "$(status_field x wanted)" down
}

@test "restart: a new process replaces the old one" {
	make_sleeper x
	start_with x
	wait_until 10 is_up x
	local p1 p2
	p1=$(service_pid x)
	run svctl restart x
	assert_success
	is_up x
	p2=$(service_pid x)
	[ -n "$p2" ] && [ "$p2" != 0 ]
	[ "$p2" != "$p1" ]
	alive "$p2"
	gone "$p1"
}

@test "once: runs the service, which is not restarted after it exits" {
	make_service x "echo run >>'$BATS_TEST_TMPDIR/runs'; exit 0" down=
	start_with x
	run svctl once x
	assert_success
	wait_until 10 grep -q run "$BATS_TEST_TMPDIR/runs"
	wait_until 10 state_is x down
	# down for good: nothing wanted, nothing scheduled, no restart counted
	assert_equal "$(status_field x wanted)" down
	assert_equal "$(status_field x next)" 0
	assert_equal "$(status_field x restarts)" 0
	assert_equal "$(grep -c run "$BATS_TEST_TMPDIR/runs")" 1
	# it did run and exit 0: the death is recorded
	grep -q '^death=[0-9]* exit=0 ' "$RUN/status/x"
}

# ---- signal ----

@test "signal USR1: reaches the service, which keeps running" {
	make_trapper x
	start_with x
	wait_until 10 is_up x
	wait_until 10 test -f "$MARK.ready"
	local p
	p=$(service_pid x)
	run svctl signal USR1 x
	assert_success
	wait_until 10 grep -q usr1 "$MARK"
	assert_equal "$(service_pid x)" "$p"
	! grep -q usr2 "$MARK" || false
}

@test "signal: a numeric signal is sent as that signal" {
	make_trapper x
	start_with x
	wait_until 10 is_up x
	wait_until 10 test -f "$MARK.ready"
	run svctl signal "$(kill -l USR2)" x
	assert_success
	wait_until 10 grep -q usr2 "$MARK"
	! grep -q usr1 "$MARK" || false
}

@test "signal: to a service that is not running fails" {
	make_sleeper x down=
	start_with x
	run --separate-stderr svctl signal USR1 x
	assert_failure 1
	# shellcheck disable=SC2154 # stderr is set by run --separate-stderr
	[[ $stderr == "svctl: "*x*"not running"* ]]
}

# ---- status ----

@test "status: line of a running service" {
	make_sleeper x
	start_with x
	wait_until 10 is_up x
	local p
	p=$(service_pid x)
	run svctl status x
	assert_success
	assert_output --regexp "^x: up \\(pid $p\\) [0-9]+s, ready\$"
}

@test "status: line of a service stopped after exiting 1" {
	make_service x "trap 'exit 1' TERM
sleep 1000 & wait \$!"
	start_with x
	wait_until 10 is_up x
	run svctl stop x
	assert_success
	run svctl status x
	assert_success
	assert_output --regexp '^x: down [0-9]+s, normally up, exit 1$'
}

@test "status: line of a service that is normally down and never ran" {
	make_sleeper x down=
	start_with x
	run svctl status x
	assert_success
	assert_output --regexp '^x: down [0-9]+s$'
}

@test "status: without a name, one line per service, sorted" {
	make_sleeper b
	make_sleeper a down=
	make_sleeper c
	start_with a b c
	wait_until 10 is_up b
	wait_until 10 is_up c
	run svctl status
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 --regexp '^a: down [0-9]+s$'
	assert_line --index 1 --regexp "^b: up \\(pid $(service_pid b)\\) [0-9]+s, ready\$"
	assert_line --index 2 --regexp "^c: up \\(pid $(service_pid c)\\) [0-9]+s, ready\$"
}

@test "status --json: a valid JSON array with the documented fields" {
	make_sleeper a
	make_sleeper b down=
	start_with a b
	wait_until 10 is_up a
	run --separate-stderr svctl status --json
	assert_success
	python3 -c '
import json, sys
doc = json.loads(sys.argv[1])
apid = int(sys.argv[2])
assert isinstance(doc, list) and len(doc) == 2, doc
by = {o["name"]: o for o in doc}
for o in doc:
    for k in ("name", "state", "pid", "since", "wanted", "normally", "ready", "restarts", "deaths"):
        assert k in o, (k, o)
    assert isinstance(o["since"], int) and o["since"] > 0, o
    assert isinstance(o["ready"], bool), o
    assert isinstance(o["restarts"], int), o
    assert isinstance(o["deaths"], list), o
a, b = by["a"], by["b"]
assert a["state"] == "up" and a["pid"] == apid and a["ready"] is True, a
assert a["wanted"] == "up" and a["normally"] == "up", a
assert b["state"] == "down" and b["pid"] is None and b["ready"] is False, b
assert b["wanted"] == "down" and b["normally"] == "down", b
' "$output" "$(service_pid a)"
	# and it parses from the pipe as a whole
	svctl status --json a | python3 -c 'import json,sys; json.load(sys.stdin)'
}

@test "status: with the supervisor stopped, prints from the status files, warns, exits 1" {
	make_sleeper x
	start_with x
	wait_until 10 is_up x
	kill -TERM "$SUP_PID"
	wait_until 20 gone "$SUP_PID"
	wait "$SUP_PID" || true
	run --separate-stderr svctl status x
	assert_failure 1
	assert_output --regexp '^x: down [0-9]+s'
	[[ $stderr == "svctl: "*"supervisor not running"* ]]
}

# ---- list / log ----

@test "list: service names, one a line" {
	make_sleeper c down=
	make_sleeper a down=
	make_sleeper b
	start_with a b c
	run svctl list
	assert_success
	assert_output "$(printf 'a\nb\nc')"
}

@test "log: prints the log file unchanged" {
	make_service x "printf 'first line\\n\\ttabbed  line  \\n\\n\\342\\202\\254 utf-8\\nno newline at end'
exec sleep 1000"
	start_with x
	wait_until 10 grep -q 'no newline at end' "$RUN/log/x/current"
	svctl log x >"$BATS_TEST_TMPDIR/out"
	cmp "$BATS_TEST_TMPDIR/out" "$RUN/log/x/current"
	grep -q '^first line$' "$BATS_TEST_TMPDIR/out"
}

@test "log -f: prints the log, then each new line as it arrives" {
	make_service x "echo already there
exec sleep 1000"
	start_with x
	wait_until 10 grep -q 'already there' "$RUN/log/x/current"
	"$BIN/svctl" -d "$SV" -r "$RUN" log -f x >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	local f=$!
	EXTRA_PIDS="${EXTRA_PIDS:-} $f"
	wait_until 10 grep -q 'already there' "$BATS_TEST_TMPDIR/out"
	echo "appended one" >>"$RUN/log/x/current"
	wait_until 10 grep -q '^appended one$' "$BATS_TEST_TMPDIR/out"
	echo "appended two" >>"$RUN/log/x/current"
	wait_until 10 grep -q '^appended two$' "$BATS_TEST_TMPDIR/out"
	# still following
	alive "$f"
	kill -TERM "$f"
	wait "$f" || true
	assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" "$(printf 'already there\nappended one\nappended two')"
}

@test "log: a service without a log fails" {
	make_sleeper x down=
	start_with x
	run --separate-stderr svctl log x
	assert_failure 1
	[[ $stderr == "svctl: "* ]]
}

# ---- wait ----

@test "wait up: returns 0 once the service is up" {
	make_sleeper x down=
	start_with x
	"$BIN/svctl" -d "$SV" -r "$RUN" -w 10 wait up x 3>&- &
	local w=$!
	EXTRA_PIDS="${EXTRA_PIDS:-} $w"
	run svctl -w 0 start x
	assert_success
	local rc=0
	wait "$w" || rc=$?
	assert_equal "$rc" 0
	is_up x
}

@test "wait up: past -w, exit 1 with the state the service is in" {
	make_sleeper x down=
	start_with x
	run --separate-stderr svctl -w 1 wait up x
	assert_failure 1
	[[ $stderr == "svctl: "*x*"down"* ]]
	state_is x down
}

@test "wait ready: returns 0 once the service is ready" {
	make_sleeper x down=
	start_with x
	"$BIN/svctl" -d "$SV" -r "$RUN" -w 10 wait ready x 3>&- &
	local w=$!
	EXTRA_PIDS="${EXTRA_PIDS:-} $w"
	run svctl -w 0 start x
	assert_success
	local rc=0
	wait "$w" || rc=$?
	assert_equal "$rc" 0
	assert_equal "$(status_field x ready)" 1
}

@test "wait ready: past -w on a down service, exit 1" {
	make_sleeper x down=
	start_with x
	run --separate-stderr svctl -w 1 wait ready x
	assert_failure 1
	[[ $stderr == "svctl: "*x*"down"* ]]
}

@test "wait down: returns 0 once the service is down" {
	make_sleeper x
	start_with x
	wait_until 10 is_up x
	local p
	p=$(service_pid x)
	"$BIN/svctl" -d "$SV" -r "$RUN" -w 10 wait down x 3>&- &
	local w=$!
	EXTRA_PIDS="${EXTRA_PIDS:-} $w"
	run svctl -w 0 stop x
	assert_success
	local rc=0
	wait "$w" || rc=$?
	assert_equal "$rc" 0
	state_is x down
	gone "$p"
}

@test "wait down: past -w on a running service, exit 1" {
	make_sleeper x
	start_with x
	wait_until 10 is_up x
	run --separate-stderr svctl -w 1 wait down x
	assert_failure 1
	[[ $stderr == "svctl: "*x*"up"* ]]
	is_up x
}

# ---- rescan / shutdown ----

@test "rescan: picks up a change no directory event tells" {
	# x/run is a symlink to a file elsewhere: making that file executable changes
	# nothing in SVDIR or x/, so only a scan can see that x became a service
	mkdir -p "$SV/x" "$BATS_TEST_TMPDIR/real"
	printf '#!/bin/sh\nexec sleep 1000\n' >"$BATS_TEST_TMPDIR/real/run"
	chmod 644 "$BATS_TEST_TMPDIR/real/run"
	ln -s "$BATS_TEST_TMPDIR/real/run" "$SV/x/run"
	start_supervise
	# a scan has seen x without an executable run: not a service
	run svctl rescan
	assert_success
	! known x || false
	chmod 755 "$BATS_TEST_TMPDIR/real/run"
	run svctl rescan
	assert_success
	# no waiting: the scan is done when rescan returns
	known x
	wait_until 10 is_up x
}

@test "shutdown: returns once the supervisor has exited, services stopped" {
	make_sleeper a
	make_sleeper b
	start_with a b
	wait_until 10 is_up a
	wait_until 10 is_up b
	local pa pb
	pa=$(service_pid a)
	pb=$(service_pid b)
	run svctl shutdown
	assert_success
	# no waiting: the supervisor is gone (a zombie of ours at most), so are the services
	gone "$SUP_PID"
	gone "$pa"
	gone "$pb"
	local rc=0
	wait "$SUP_PID" || rc=$?
	assert_equal "$rc" 0
	[ ! -e "$RUN/control" ]
}

# ---- -w ----

@test "-w 1: a stop that takes longer fails with exit 1 naming the state" {
	make_term_ignorer x
	start_with x
	wait_until 10 is_up x
	local p
	p=$(service_pid x)
	run --separate-stderr svctl -w 1 stop x
	assert_failure 1
	[[ $stderr == "svctl: "*x*"stopping"* ]]
	state_is x stopping
	alive "$p"
	kill_service_group x
}

@test "-w 0: stop returns at once" {
	make_term_ignorer x
	start_with x
	wait_until 10 is_up x
	local p t0 t1
	p=$(service_pid x)
	t0=$(now_ms)
	run svctl -w 0 stop x
	t1=$(now_ms)
	assert_success
	[ $((t1 - t0)) -lt 3000 ]
	# the command was taken: the service is being stopped, and still there
	state_is x stopping
	alive "$p"
	kill_service_group x
}

@test "-w: not a number of seconds is a usage error" {
	run --separate-stderr svctl -w soon start x
	assert_failure 2
	[[ $stderr == "svctl: "* ]]
}

# ---- failures and usage errors ----

@test "unknown service: start fails with 'no such service'" {
	make_sleeper x
	start_with x
	run --separate-stderr svctl start nosuch
	assert_failure 1
	[[ $stderr == "svctl: "*"nosuch"*"no such service"* ]]
}

@test "unknown service: status fails with 'no such service'" {
	make_sleeper x
	start_with x
	run --separate-stderr svctl status nosuch
	assert_failure 1
	[[ $stderr == "svctl: "*"nosuch"*"no such service"* ]]
}

@test "usage: no command is exit 2" {
	run --separate-stderr svctl
	assert_failure 2
	[[ $stderr == *usage* ]]
}

@test "usage: an unknown command is exit 2" {
	run --separate-stderr svctl frobnicate x
	assert_failure 2
	[[ $stderr == "svctl: "*frobnicate* ]]
}

@test "usage: a bad service name is exit 2" {
	local long64 long65 n
	long64=$(printf 'a%.0s' {1..64})
	long65=${long64}a
	for n in ../x .hidden "$long65" a/b "" . .. 'a b' 'x$'; do
		run --separate-stderr svctl start "$n"
		assert_failure 2
		[[ $stderr == "svctl: "* ]]
		run --separate-stderr svctl status "$n"
		assert_failure 2
	done
	# a 64-byte name is a name: no usage error (just no supervisor here)
	run --separate-stderr svctl start "$long64"
	assert_failure 1
}

@test "usage: signal with a bad signal is exit 2" {
	local s
	for s in BOGUS SIGBOGUS 0 65 -1 ''; do
		run --separate-stderr svctl signal "$s" x
		assert_failure 2
		[[ $stderr == "svctl: "* ]]
	done
	run --separate-stderr svctl signal
	assert_failure 2
}

@test "usage: wait with a bad state is exit 2" {
	local s
	for s in sideways UP exited ''; do
		run --separate-stderr svctl wait "$s" x
		assert_failure 2
		[[ $stderr == "svctl: "* ]]
	done
	run --separate-stderr svctl wait
	assert_failure 2
}

@test "usage: a command without its service name is exit 2" {
	local c
	for c in start stop restart once; do
		run --separate-stderr svctl "$c"
		assert_failure 2
		[[ $stderr == "svctl: "* ]]
	done
	run --separate-stderr svctl log
	assert_failure 2
	run --separate-stderr svctl list extra
	assert_failure 2
}

@test "no supervisor (no RUNDIR): start fails at once with 'supervisor not running'" {
	local t0 t1
	t0=$(now_ms)
	run --separate-stderr svctl start x
	t1=$(now_ms)
	assert_failure 1
	[[ $stderr == "svctl: "*"supervisor not running"* ]]
	[ $((t1 - t0)) -lt 3000 ]
}

@test "no supervisor (control FIFO left, no reader): start fails at once" {
	mkdir -m 700 "$RUN"
	mkfifo -m 600 "$RUN/control"
	local t0 t1
	t0=$(now_ms)
	run --separate-stderr svctl start x
	t1=$(now_ms)
	assert_failure 1
	[[ $stderr == "svctl: "*"supervisor not running"* ]]
	[ $((t1 - t0)) -lt 3000 ]
}
