#!/usr/bin/env bats
# svctl watch: a line per change of state, pushed by the supervisor as it happens (no
# polling), in text or JSON; a restart is a change; a watcher that stops reading never
# holds up the supervisor.

load helpers

# watch_bg FILE [ARGS...]: svctl watch in the background, its output into FILE.
watch_bg() {
	local out=$1
	shift
	# the binary itself, not the svctl function: $! is then its pid
	"$BIN/svctl" -d "$SV" -r "$RUN" watch "$@" > "$out" 2>"$out.err" 3>&- &
	WATCH_PID=$!
	sleep 0.5 # its command reaches the supervisor before what the test does next
}

all_up() {
	local n
	for n; do
		is_up "$n" || return 1
	done
}

teardown() {
	local p
	for p in "${WATCH_PID:-}" "${STUCK_PID:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null
	done
	cleanup_all
}

@test "watch: a stop is seen within a second, as status lines" {
	make_sleeper a
	make_sleeper b
	start_supervise
	wait_until 10 is_up a
	wait_until 10 is_up b
	watch_bg "$BATS_TEST_TMPDIR/w"
	local t0 t1
	t0=$(now_ms)
	svctl -w 0 stop a
	wait_until 5 grep -q '^a: down' "$BATS_TEST_TMPDIR/w"
	t1=$(now_ms)
	echo "stop seen after $((t1 - t0)) ms" >&3
	[ $((t1 - t0)) -lt 1000 ]
	grep -q '^a: stopping (pid ' "$BATS_TEST_TMPDIR/w"
	run ! grep -q '^b:' "$BATS_TEST_TMPDIR/w" # nothing happened to b
}

@test "watch: a restart after kill -9 is reported, and status counts from the new process" {
	make_sleeper a
	start_supervise
	wait_until 10 is_up a
	sleep 2.2 # up for a while: the restart is immediate and the time in state is large
	watch_bg "$BATS_TEST_TMPDIR/w" a
	local old new
	old=$(service_pid a)
	kill -9 "$old"
	wait_until 5 grep -q '^a: up (pid ' "$BATS_TEST_TMPDIR/w"
	new=$(service_pid a)
	[ "$new" != "$old" ]
	grep -q "^a: up (pid $new) 0s" "$BATS_TEST_TMPDIR/w"
	run svctl status a
	assert_output --regexp "^a: up \\(pid $new\\) [01]s"
}

@test "watch --json: one status object a line, for the names given only" {
	make_sleeper a
	make_sleeper b
	start_supervise
	wait_until 10 is_up a
	watch_bg "$BATS_TEST_TMPDIR/w" --json a
	svctl restart a
	svctl restart b
	wait_until 5 grep -q '"state":"up"' "$BATS_TEST_TMPDIR/w"
	run python3 -c 'import json,sys
for l in open(sys.argv[1]):
    o = json.loads(l); assert o["name"] == "a", o
print("ok")' "$BATS_TEST_TMPDIR/w"
	assert_output ok
}

@test "watch: no CPU and no wakeup while nothing happens; ends with the supervisor (exit 0)" {
	make_sleeper a
	start_supervise
	wait_until 10 is_up a
	watch_bg "$BATS_TEST_TMPDIR/w"
	local c0 c1 s0 s1
	c0=$(awk '{print $14 + $15}' "/proc/$WATCH_PID/stat")
	s0=$(awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$WATCH_PID/status")
	sleep 3
	c1=$(awk '{print $14 + $15}' "/proc/$WATCH_PID/stat")
	s1=$(awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$WATCH_PID/status")
	echo "watch over 3 s: $((c1 - c0)) ticks, $((s1 - s0)) switches" >&3
	[ "$c1" = "$c0" ]
	[ "$s1" = "$s0" ]
	svctl shutdown
	wait "$WATCH_PID"
	local rc=$?
	WATCH_PID=
	[ "$rc" = 0 ]
}

@test "watch: a watcher that stops reading is dropped; the supervisor and other watchers go on" {
	local i names=()
	for i in $(seq -w 1 200); do
		make_sleeper "s$i"
		names+=("s$i")
	done
	start_supervise
	wait_until 30 all_up "${names[@]}"
	# a watcher whose output nobody reads: its FIFOs fill, the supervisor drops it
	# (JSON objects: each round of restarts is a few hundred KiB of them)
	mkfifo "$BATS_TEST_TMPDIR/stuck"
	exec 7<>"$BATS_TEST_TMPDIR/stuck" # held open, never read
	"$BIN/svctl" -d "$SV" -r "$RUN" watch --json > "$BATS_TEST_TMPDIR/stuck" 2>/dev/null 3>&- &
	STUCK_PID=$!
	watch_bg "$BATS_TEST_TMPDIR/w" s001
	for i in 1 2 3 4 5 6; do
		svctl -w 10 restart "${names[@]}" >/dev/null
		log_has 'reads too slowly' && break
	done
	wait_until 10 log_has 'reads too slowly'
	run timeout 5 "$BIN/svctl" -d "$SV" -r "$RUN" -w 10 restart s001
	assert_success
	wait_until 10 grep -q '^s001: up' "$BATS_TEST_TMPDIR/w"
	[ "$(grep -c '^s001: up' "$BATS_TEST_TMPDIR/w")" -ge 2 ]
	exec 7<&-
}
