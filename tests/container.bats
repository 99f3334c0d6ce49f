#!/usr/bin/env bats
# Container mode (README "Container mode"): supervise as PID 1 of a PID namespace
# (unshare --pid --fork --mount-proc --kill-child, as root), signalled from outside by
# its pid here; and as the parent of a main command (-- CMD). Each namespace dies with
# its unshare process, which the teardown kills by pid.

load helpers

NS_PID=

setup() {
	SV=$BATS_TEST_TMPDIR/sv
	RUN=$BATS_TEST_TMPDIR/run
	SUPLOG=$BATS_TEST_TMPDIR/supervise.stderr
	OUT=$BATS_TEST_TMPDIR/supervise.stdout
	SUP_PID=
	mkdir -p "$SV"
}

teardown() {
	if [ -n "$NS_PID" ]; then
		# --kill-child: the namespace's PID 1 gets SIGKILL, and the kernel kills the rest
		kill -KILL "$NS_PID" 2>/dev/null
		wait_until 10 gone_from_proc "$NS_PID" || true
	else
		cleanup_all
	fi
}

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root (PID namespaces, mounts, setpriv)"
}

# The host pid of the namespace's PID 1: unshare's only child.
ns_child() {
	local c
	c=$(ps -o pid= --ppid "$NS_PID" | tr -d ' ' | head -n 1)
	[ -n "$c" ] && SUP_PID=$c
}

# ns_start [ARG...]: supervise -d SV -r RUN ARG... as PID 1 of a new PID namespace (no
# -f: PID 1 stays in the foreground by itself), stdout to $OUT, ready for commands.
ns_start() {
	need_root
	unshare --pid --fork --mount-proc --kill-child \
		"$BIN/supervise" -d "$SV" -r "$RUN" "$@" >"$OUT" 2>>"$SUPLOG" 3>&- &
	NS_PID=$!
	wait_until 10 ns_child
	wait_until 10 test -p "$RUN/control"
	wait_until 10 grep -q 'started (pid 1)' "$SUPLOG"
}

# ns_wait: the namespace's exit status (unshare relays its PID 1's) in $NS_RC.
ns_wait() {
	NS_RC=0
	wait "$NS_PID" || NS_RC=$?
	NS_PID=
}

# Zombies among supervise's children, as seen from here.
zombies() {
	# shellcheck disable=SC2009 # the states of one process's children: pgrep does not say
	ps -o stat= --ppid "$SUP_PID" | grep -c '^Z' || true
}

no_zombie() {
	[ "$(zombies)" -eq 0 ]
}

child_named() {
	# shellcheck disable=SC2009 # a whole command line matched, among one process's children
	ps -o args= --ppid "$SUP_PID" | grep -qx -- "$1"
}

# sup CMD-LESS OR CMD ARGS: supervise in the foreground, not PID 1, status in $rc.
sup_run() {
	rc=0
	timeout 30 "$BIN/supervise" -f -d "$SV" -r "$RUN" "$@" >"$OUT" 2>>"$SUPLOG" 3>&- || rc=$?
}

# add_cat_logger NAME: a log/ whose run copies its input to its stdout.
add_cat_logger() {
	mkdir -p "$SV/.$1.log"
	printf '#!/bin/sh\nexec cat\n' >"$SV/.$1.log/run"
	chmod +x "$SV/.$1.log/run"
	mv "$SV/.$1.log" "$SV/$1/log"
}

# --- PID 1 ---

@test "PID 1: stays in the foreground, reaps orphans of services and of entered processes" {
	make_service orphaner '(sleep 1.5 &); exec sleep 1000'
	ns_start
	wait_until 10 is_up orphaner
	# the orphan is handed to PID 1 (a subreaper too), which reaps it once it exits
	wait_until 5 child_named "sleep 1.5"
	# a process entered from outside (a HEALTHCHECK) leaves an orphan behind
	nsenter -t "$SUP_PID" -p -m sh -c 'sleep 1.2 & exit 0'
	wait_until 5 child_named "sleep 1.2"
	wait_until 10 sh -c "! ps -o args= --ppid $SUP_PID | grep -q '^sleep 1\.[25]\$'"
	sleep 0.3
	run zombies
	assert_output 0
	kill -TERM "$SUP_PID"
	ns_wait
	[ "$NS_RC" -eq 0 ]
}

@test "PID 1: a signal it has no use for is taken and ignored, never fatal" {
	make_sleeper a
	ns_start
	wait_until 10 is_up a
	for sig in USR1 ALRM PWR WINCH URG VTALRM; do
		kill -"$sig" "$SUP_PID"
	done
	wait_until 5 log_has 'got VTALRM: ignored'
	run svctl status a
	assert_success
	kill -0 "$SUP_PID"
}

@test "PID 1: TERM with a service that ignores TERM: everything gone within the -t deadline, exit 0" {
	make_service stubborn "trap '' TERM; exec sleep 1000"
	make_service stubborn2 "trap '' TERM; exec sleep 1000" timeout-kill=60000
	make_sleeper polite
	ns_start -t 2000
	wait_until 10 is_up stubborn
	wait_until 10 is_up stubborn2
	wait_until 10 is_up polite
	t0=$(now_ms)
	kill -TERM "$SUP_PID"
	ns_wait
	t1=$(now_ms)
	echo "shutdown took $((t1 - t0)) ms" >&3
	[ "$NS_RC" -eq 0 ]
	[ $((t1 - t0)) -lt 2500 ]
	[ $((t1 - t0)) -ge 1900 ]
	log_has 'shutdown deadline (2000 ms) reached'
}

@test "PID 1: the deadline defaults to 9000 ms" {
	make_service stubborn "trap '' TERM; exec sleep 1000" timeout-kill=60000
	ns_start
	wait_until 10 is_up stubborn
	t0=$(now_ms)
	kill -TERM "$SUP_PID"
	ns_wait
	t1=$(now_ms)
	[ $((t1 - t0)) -ge 8900 ]
	[ $((t1 - t0)) -lt 9800 ]
	log_has 'shutdown deadline (9000 ms) reached'
}

# --- the main command ---

@test "CMD: exit codes 0 to 255 are supervise's" {
	for code in $(seq 0 255); do
		sup_run -- sh -c "exit $code"
		[ "$rc" -eq "$code" ] || { echo "exit $code gave $rc"; false; }
	done
}

@test "CMD: a death by signal N is 128+N" {
	for sig in HUP INT KILL TERM USR1 SEGV; do
		sup_run -- sh -c "kill -$sig \$\$"
		n=$(kill -l "$sig")
		[ "$rc" -eq $((128 + n)) ] || { echo "$sig gave $rc"; false; }
	done
}

@test "CMD: not found is 127, not executable is 126, with a message; services stopped" {
	make_sleeper a
	sup_run -- /nonexistent/prog arg
	[ "$rc" -eq 127 ]
	log_has 'unable to run /nonexistent/prog: not found'
	printf 'echo hi\n' >"$BATS_TEST_TMPDIR/noexec"
	sup_run -- "$BATS_TEST_TMPDIR/noexec"
	[ "$rc" -eq 126 ]
	log_has "unable to run $BATS_TEST_TMPDIR/noexec: Permission denied"
	run state_is a down
	assert_success
	[ "$(suplog_count 'a: stopped')" -eq 2 ]
}

@test "CMD: starts once the normally-up services are ready; gets our stdio, its own group, a clean signal state" {
	make_service slow 'sleep 1; echo >&5; exec sleep 1000' notification-fd=5
	make_sleeper off down=
	cat >"$BATS_TEST_TMPDIR/cmd" <<EOF
#!/bin/sh
echo "ready=\$($BIN/svctl -d $SV -r $RUN -w 0 wait ready >/dev/null 2>&1 && echo yes)"
echo "pgid=\$(ps -o pgid= -p \$\$ | tr -d ' ') pid=\$\$"
grep -E '^Sig(Blk|Ign)' /proc/\$\$/status
echo "to stderr" >&2
read line; echo "stdin=\$line"
exit 3
EOF
	chmod +x "$BATS_TEST_TMPDIR/cmd"
	rc=0
	echo "from stdin" | timeout 30 "$BIN/supervise" -d "$SV" -r "$RUN" -- "$BATS_TEST_TMPDIR/cmd" \
		>"$OUT" 2>>"$SUPLOG" 3>&- || rc=$?
	[ "$rc" -eq 3 ]
	run cat "$OUT"
	assert_line 'ready=yes'
	assert_line 'SigBlk:	0000000000000000'
	assert_line 'SigIgn:	0000000000000000'
	assert_line 'stdin=from stdin'
	grep -qx 'to stderr' "$SUPLOG"
	pid=$(sed -n 's/^pgid=\([0-9]*\) pid=\([0-9]*\)$/\2/p' "$OUT")
	pgid=$(sed -n 's/^pgid=\([0-9]*\) pid=.*/\1/p' "$OUT")
	[ -n "$pid" ] && [ "$pid" = "$pgid" ]
}

@test "CMD: starts after 10 s at the latest, with a warning naming the services not ready" {
	make_service never 'exec sleep 1000' notification-fd=5
	t0=$(now_ms)
	sup_run -- true
	t1=$(now_ms)
	[ "$rc" -eq 0 ]
	[ $((t1 - t0)) -ge 9900 ]
	log_has 'without waiting any longer for: never'
}

@test "CMD as PID 1: HUP USR1 USR2 WINCH CONT are forwarded to its group; TERM ends it, then the services" {
	make_sleeper a
	cat >"$BATS_TEST_TMPDIR/cmd" <<EOF
#!/bin/sh
for s in HUP USR1 USR2 WINCH CONT; do trap "echo got \$s >>$BATS_TEST_TMPDIR/got" \$s; done
trap "echo got TERM >>$BATS_TEST_TMPDIR/got; exit 42" TERM
echo waiting >$BATS_TEST_TMPDIR/got
while :; do sleep 0.05; done
EOF
	chmod +x "$BATS_TEST_TMPDIR/cmd"
	ns_start -- "$BATS_TEST_TMPDIR/cmd"
	wait_until 10 test -s "$BATS_TEST_TMPDIR/got"
	for sig in HUP USR1 USR2 WINCH CONT; do
		kill -"$sig" "$SUP_PID"
		wait_until 5 grep -qx "got $sig" "$BATS_TEST_TMPDIR/got"
	done
	kill -TERM "$SUP_PID"
	ns_wait
	[ "$NS_RC" -eq 42 ]
	grep -qx 'got TERM' "$BATS_TEST_TMPDIR/got"
	# CMD first, then the services
	run grep -n -e 'cmd: exited (code 42)' -e 'a: stopped' "$SUPLOG"
	assert_line --index 0 --partial 'cmd: exited (code 42)'
	assert_line --index 1 --partial 'a: stopped'
}

@test "CMD that ignores TERM gets KILL 10 s later: 137" {
	"$BIN/supervise" -d "$SV" -r "$RUN" -t 30000 -- sh -c "trap '' TERM; touch $BATS_TEST_TMPDIR/started; while :; do sleep 0.05; done" \
		>"$OUT" 2>>"$SUPLOG" 3>&- &
	SUP_PID=$!
	wait_until 10 test -e "$BATS_TEST_TMPDIR/started"
	kill -TERM "$SUP_PID"
	rc=0
	wait "$SUP_PID" || rc=$?
	[ "$rc" -eq 137 ]
	log_has 'sh did not exit within 10000 ms of TERM: sending KILL'
}

@test "svctl shutdown with a CMD: CMD gets TERM, its status is ours" {
	cat >"$BATS_TEST_TMPDIR/cmd" <<EOF
#!/bin/sh
trap 'exit 9' TERM
touch $BATS_TEST_TMPDIR/started
while :; do sleep 0.05; done
EOF
	chmod +x "$BATS_TEST_TMPDIR/cmd"
	"$BIN/supervise" -d "$SV" -r "$RUN" -- "$BATS_TEST_TMPDIR/cmd" >"$OUT" 2>>"$SUPLOG" 3>&- &
	SUP_PID=$!
	wait_until 10 test -e "$BATS_TEST_TMPDIR/started"
	run svctl shutdown
	assert_success
	rc=0
	wait "$SUP_PID" || rc=$?
	[ "$rc" -eq 9 ]
}

# --- critical services ---

@test "critical: its own exit ends everything with its code; its SIGKILL with 137" {
	make_service crit 'sleep 0.5; exit 3' critical=
	make_sleeper other
	sup_run
	[ "$rc" -eq 3 ]
	log_has 'crit: critical service exited (code 3): shutting down, exit 3'
	log_has 'other: stopped'
	rm -rf "$RUN" "$SV/crit"
	make_service crit2 'exec sleep 1000' critical=
	"$BIN/supervise" -f -d "$SV" -r "$RUN" >"$OUT" 2>>"$SUPLOG" 3>&- &
	SUP_PID=$!
	wait_until 10 is_up crit2
	kill -KILL "$(service_pid crit2)"
	rc=0
	wait "$SUP_PID" || rc=$?
	[ "$rc" -eq 137 ]
	log_has 'crit2: critical service died (signal KILL): shutting down, exit 137'
}

@test "critical: a program that cannot be executed ends everything with 126 or 127" {
	mkdir -p "$SV/crit"
	printf '#!/nonexistent/interpreter\n' >"$SV/crit/run"
	chmod +x "$SV/crit/run"
	touch "$SV/crit/critical"
	sup_run
	[ "$rc" -eq 127 ]
	log_has 'crit: critical service unable to start'
}

@test "critical: a stopped critical service ends nothing; the shutdown asked for exits 0" {
	make_sleeper crit critical=
	make_sleeper other
	"$BIN/supervise" -f -d "$SV" -r "$RUN" >"$OUT" 2>>"$SUPLOG" 3>&- &
	SUP_PID=$!
	wait_until 10 is_up crit
	run svctl stop crit
	assert_success
	run svctl restart other
	assert_success
	sleep 0.3
	kill -0 "$SUP_PID"
	run svctl status other
	assert_output --regexp '^other: up'
	kill -TERM "$SUP_PID"
	rc=0
	wait "$SUP_PID" || rc=$?
	[ "$rc" -eq 0 ]
}

@test "critical with a CMD: CMD's status wins" {
	make_service crit 'sleep 0.3; exit 4' critical=
	sup_run -- sh -c "trap 'exit 5' TERM; while :; do sleep 0.05; done"
	[ "$rc" -eq 5 ]
}

# --- -o text|json ---

# writer NAME LINES LEN: LINES lines "NAME-NNNNN-xxx..." of LEN bytes, each in writes of
# 37 bytes, the last line without its newline.
make_writer() {
	make_service "$1" "exec perl -e '
		\$| = 1;
		for my \$i (1..$2) {
			my \$l = sprintf(\"%s-%05d-\", \"$1\", \$i);
			\$l .= \"x\" x ($3 - length \$l);
			\$l .= \"\\n\" if \$i < $2;
			syswrite(STDOUT, substr(\$l, \$_, 37)) for grep { \$_ % 37 == 0 } 0..length(\$l) - 1;
		}
		sleep 1000'"
}

# check_lines FILE NAME LINES LEN: every line of NAME whole, in order, none missing.
check_text() {
	awk -v n="$2" -v cnt="$3" -v len="$4" '
		index($0, n " | ") != 1 { next }
		{ got++; want = sprintf("%s-%05d-", n, got)
		  body = substr($0, length(n) + 4)
		  if (index(body, want) != 1 || length(body) != len || body !~ /^[^|]*-x+$/) {
			print "line " got " of " n " broken: " substr(body, 1, 40) "... (" length(body) ")"; bad = 1; exit 1 } }
		END { if (!bad && got != cnt) { print n ": " got " lines, not " cnt; exit 1 } }' "$1"
}

@test "-o text: two services writing long lines in small writes: every line whole, in order, the last one too" {
	make_writer alpha 300 9000
	make_writer beta 300 5000
	"$BIN/supervise" -d "$SV" -r "$RUN" -o text >"$OUT" 2>>"$SUPLOG" 3>&- &
	SUP_PID=$!
	wait_until 60 sh -c "[ \$(grep -c '^alpha | ' $OUT) -ge 299 ] && [ \$(grep -c '^beta | ' $OUT) -ge 299 ]"
	kill -TERM "$SUP_PID"
	wait "$SUP_PID"
	run check_text "$OUT" alpha 300 9000
	assert_success
	run check_text "$OUT" beta 300 5000
	assert_success
	[ ! -e "$RUN/log/alpha/current" ] || [ ! -s "$RUN/log/alpha/current" ]
}

@test "-o json: lines whole and in order as JSON objects; supervise's own lines too; a long line cut at 64 KiB" {
	make_writer alpha 200 9000
	make_writer beta 200 3000
	make_service big 'head -c 70000 /dev/zero | tr "\0" y; echo; printf "a\tb\"c\\\\ \001\n\n"; exec sleep 1000'
	"$BIN/supervise" -d "$SV" -r "$RUN" -o json >"$OUT" 2>>"$SUPLOG" 3>&- &
	SUP_PID=$!
	wait_until 60 sh -c "[ \$(grep -c '\"service\":\"alpha\"' $OUT) -ge 199 ] && [ \$(grep -c '\"service\":\"beta\"' $OUT) -ge 199 ]"
	kill -TERM "$SUP_PID"
	wait "$SUP_PID"
	python3 - "$OUT" "$SUPLOG" <<'EOF'
import json, re, sys
seen = {}
big = []
for line in open(sys.argv[1], encoding='utf-8'):
    o = json.loads(line)
    assert set(o) == {"time", "service", "line"}, o
    assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z', o["time"]), o["time"]
    if o["service"] == "big":
        big.append(o["line"])
        continue
    n = seen.get(o["service"], 0) + 1
    seen[o["service"]] = n
    want = "%s-%05d-" % (o["service"], n)
    ln = {"alpha": 9000, "beta": 3000}[o["service"]]
    assert o["line"].startswith(want) and len(o["line"]) == ln and o["line"].endswith("x"), (n, o["line"][:40])
assert seen == {"alpha": 200, "beta": 200}, seen
assert big == ["y" * 65536, "y" * (70000 - 65536), 'a\tb"c\\ \x01', ""], [len(b) for b in big]
for line in open(sys.argv[2], encoding='utf-8'):
    # under make SAN=1, AddressSanitizer's own notes on the spawn's stack switch
    if re.match(r'==\d+==WARNING: ASan|False positive error reports|For details see', line):
        continue
    o = json.loads(line)
    assert o["service"] == "supervise" and set(o) == {"time", "service", "line"}, o
EOF
}

@test "-o text: the lines written during the shutdown are all there, and a last line without newline" {
	make_service bye "trap 'i=0; while [ \$i -lt 500 ]; do i=\$((i+1)); echo \"bye \$i\"; done; printf last; exit 0' TERM; echo hello; while :; do sleep 0.05; done"
	make_service bye2 "trap 'seq 1 500 | sed s/^/bye2-/; exit 0' TERM; echo hello; while :; do sleep 0.05; done" down=
	add_cat_logger bye2
	rm "$SV/bye2/down"
	"$BIN/supervise" -d "$SV" -r "$RUN" -o text >"$OUT" 2>>"$SUPLOG" 3>&- &
	SUP_PID=$!
	wait_until 10 grep -q '^bye | hello$' "$OUT"
	wait_until 10 grep -q '^bye2/log | hello$' "$OUT"
	kill -TERM "$SUP_PID"
	wait "$SUP_PID"
	for i in $(seq 1 500); do
		grep -qx "bye | bye $i" "$OUT" || { echo "bye $i missing"; false; }
		grep -qx "bye2/log | bye2-$i" "$OUT" || { echo "bye2-$i missing"; false; }
	done
	grep -qx 'bye | last' "$OUT"
}

@test "-o text: a stalled stdout blocks the services, never svctl; nothing lost once it is read" {
	mkfifo "$BATS_TEST_TMPDIR/stdout"
	# shellcheck disable=SC2217 # it holds the FIFO open for reading and never reads: on purpose
	sleep 1000 <"$BATS_TEST_TMPDIR/stdout" & # a reader that reads nothing (yet)
	holder=$!
	EXTRA_PIDS="${EXTRA_PIDS:-} $holder"
	make_service chatty 'seq 1 200000 | sed s/^/line-/; exec sleep 1000'
	make_sleeper other
	"$BIN/supervise" -d "$SV" -r "$RUN" -o text >"$BATS_TEST_TMPDIR/stdout" 2>>"$SUPLOG" 3>&- &
	SUP_PID=$!
	wait_until 10 is_up other
	sleep 1
	for _ in 1 2 3; do
		run timeout 5 "$BIN/svctl" -d "$SV" -r "$RUN" -w 3 restart other
		assert_success
	done
	run timeout 5 "$BIN/svctl" -d "$SV" -r "$RUN" status chatty
	assert_output --regexp '^chatty: up'
	cat "$BATS_TEST_TMPDIR/stdout" >"$OUT" &
	reader=$!
	EXTRA_PIDS="${EXTRA_PIDS:-} $reader"
	wait_until 10 test -s "$OUT" # cat has the FIFO open: the holder may go
	kill "$holder"
	wait_until 60 sh -c "grep -q '^chatty | line-200000\$' $OUT"
	kill -TERM "$SUP_PID"
	wait "$SUP_PID"
	wait "$reader" || true
	[ "$(grep -c '^chatty | line-' "$OUT")" -eq 200000 ]
	grep '^chatty | ' "$OUT" | sed 's/^chatty | line-//' | awk '$0 != NR { print "out of order at " NR; exit 1 }'
}

# --- read-only, any uid ---

@test "a read-only SVDIR (bind mount) with RUNDIR elsewhere: nothing written below it" {
	need_root
	make_sleeper a
	make_service b 'echo out; exec sleep 1000' down=
	add_cat_logger b
	rm "$SV/b/down"
	mkdir -p "$BATS_TEST_TMPDIR/ro"
	find "$SV" -newer "$SV" >/dev/null
	before=$(find "$SV" -printf '%p %s %T@\n' | sort)
	unshare --mount --propagation private sh -c "
		mount --bind '$SV' '$BATS_TEST_TMPDIR/ro' && mount -o remount,bind,ro '$BATS_TEST_TMPDIR/ro' &&
		! touch '$BATS_TEST_TMPDIR/ro/x' 2>/dev/null &&
		exec '$BIN/supervise' -d '$BATS_TEST_TMPDIR/ro' -r '$RUN' -o text" >"$OUT" 2>>"$SUPLOG" 3>&- &
	NS_PID=$!
	wait_until 10 is_up a
	wait_until 10 is_up b
	wait_until 10 grep -qx 'b/log | out' "$OUT"
	run "$BIN/svctl" -d "$BATS_TEST_TMPDIR/ro" -r "$RUN" -w 5 restart a
	assert_success
	! grep -q 'Read-only file system' "$SUPLOG" || false
	kill -TERM "$NS_PID"
	wait "$NS_PID"
	NS_PID=
	after=$(find "$SV" -printf '%p %s %T@\n' | sort)
	[ "$before" = "$after" ]
}

@test "a uid without a passwd entry runs supervise and its services" {
	need_root
	! getent passwd 12345 >/dev/null || skip "uid 12345 has a passwd entry here"
	base=$(mktemp -d /tmp/ct-uid.XXXXXX)
	mkdir -p "$base/sv/a" "$base/bin"
	# the programs where that uid can reach them, wherever this tree is checked out
	cp "$BIN/supervise" "$BIN/svctl" "$base/bin/"
	printf '#!/bin/sh\nid -u\nexec sleep 1000\n' >"$base/sv/a/run"
	chmod 755 "$base/sv/a/run" "$base/sv/a" "$base/sv" "$base/bin"
	chown 12345:12345 "$base"
	chmod 700 "$base"
	SV=$base/sv RUN=$base/run
	local bin=$base/bin
	setpriv --reuid=12345 --regid=12345 --clear-groups \
		"$bin/supervise" -d "$SV" -r "$RUN" -o text -- sh -c "$bin/svctl -d $SV -r $RUN -w 5 wait ready && $bin/svctl -d $SV -r $RUN status a; exit 6" \
		>"$OUT" 2>>"$SUPLOG" 3>&- || rc=$?
	rm -rf "$base"
	[ "${rc:-0}" -eq 6 ]
	grep -qx 'a | 12345' "$OUT"
	grep -q '^a: up (pid' "$OUT"
}

# --- probes ---

@test "svctl wait without a name: every normally-up service; -w 0 wait ready is a probe" {
	make_service slow 'sleep 1.5; echo >&5; exec sleep 1000' notification-fd=5
	make_sleeper fast
	make_sleeper off down=
	start_supervise
	run svctl -w 0 wait ready
	assert_failure 1
	assert_output --partial 'slow: not ready'
	refute_output --partial 'fast:'
	refute_output --partial 'off:'
	run svctl -w 5 wait ready
	assert_success
	run svctl -w 0 wait ready
	assert_success
	run svctl -w 0 wait down
	assert_failure 1
	assert_output --partial 'fast: not down'
	refute_output --partial 'off:'
}
