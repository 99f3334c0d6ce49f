#!/usr/bin/env bats
# Daemon mode: `supervise -d SVDIR -r RUNDIR` without -f.
# Cleanup: these tests leave SUP_PID empty after a daemon start, so the helpers'
# cleanup_all takes the daemon's pid from $RUN/pid (see daemon_pid below, which asserts
# that file is there) and stops it first (teardown below). The python reaper of the
# signal tests goes in EXTRA_PIDS.
bats_require_minimum_version 1.5.0
load helpers

# The helpers' cleanup_all finds a daemon through RUN/pid. A daemon's parent is init,
# which may reap it late: cleanup_all's kill -0 would see the zombie for a while. So the
# daemon is stopped here first, waiting for it to be gone (exited, zombie or not); one
# that does not go is left to cleanup_all (pid file still there: TERM, then KILL).
teardown() {
	local p
	if [ -z "$SUP_PID" ] && p=$(cat "$RUN/pid" 2>/dev/null) && [[ $p =~ ^[0-9]+$ ]] &&
		alive "$p" && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = supervise ]; then
		kill -TERM "$p" 2>/dev/null
		wait_until 15 gone "$p" || true
	fi
	cleanup_all
}

# launch [supervise options]: the launcher, run the way a user would from a shell, but
# from a directory that is not /, with umask 077 and stdin from a file, so the daemon's
# chdir, umask and stdin are its own doing. fd 3 (bats) is closed: a daemon must not
# hold it. A launcher that never returns is killed after 30 s (exit 124), not hung on;
# timeout signals only its own process group, never the daemon's session.
launch() {
	: >"$BATS_TEST_TMPDIR/stdin.txt"
	(cd "$BATS_TEST_TMPDIR" && umask 077 &&
		exec timeout 30 "$BIN/supervise" "$@" <"$BATS_TEST_TMPDIR/stdin.txt" 3>&-)
}

launch_default() {
	launch -d "$SV" -r "$RUN"
}

# The daemon's pid from RUN/pid; fails when there is none or it is not a live process.
daemon_pid() {
	local p
	p=$(cat "$RUN/pid" 2>/dev/null) || return 1
	[[ $p =~ ^[0-9]+$ ]] && alive "$p" && echo "$p"
}

# alive PID: exists and is not a zombie.
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	[ "$(stat_field "$1" 3)" != Z ]
}

# stat_field PID N: field N (1-based, as in proc(5)) of /proc/PID/stat; the comm (field
# 2) may hold spaces, so fields 3 on are counted after its closing parenthesis.
stat_field() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	local -a f
	read -r -a f <<<"$s"
	echo "${f[$(($2 - 3))]}"
}

# launch_reaped: launches the daemon under a child subreaper (python), which records
# "PID EXITCODE" for each process it reaps in $REAPED (the daemon is reparented to it),
# and the launcher's exit code in $REAPED.launcher. So the daemon's exit code is seen.
launch_reaped() {
	REAPED=$BATS_TEST_TMPDIR/reaped
	python3 -c '
import ctypes, os, subprocess, sys
if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
    sys.exit("prctl failed")
out = sys.argv[1]
try:
    rc = subprocess.call(sys.argv[2:], stdin=subprocess.DEVNULL, timeout=30)
except subprocess.TimeoutExpired:
    rc = 124
with open(out + ".tmp", "w") as f:
    f.write("%d\n" % rc)
os.rename(out + ".tmp", out + ".launcher")
while True:
    try:
        pid, st = os.wait()
    except ChildProcessError:
        break
    with open(out, "a") as f:
        f.write("%d %d\n" % (pid, os.waitstatus_to_exitcode(st)))
' "$REAPED" "$BIN/supervise" -d "$SV" -r "$RUN" \
		</dev/null >"$BATS_TEST_TMPDIR/reaper.out" 2>&1 3>&- &
	EXTRA_PIDS="${EXTRA_PIDS:-} $!"
	wait_until 40 test -f "$REAPED.launcher"
	[ "$(cat "$REAPED.launcher")" = 0 ]
}

reaped_code() {
	sed -n "s/^$1 //p" "$REAPED" 2>/dev/null
}

# Two long-running services; their pids in S1 and S2.
two_sleepers_up() {
	wait_until 10 is_up a
	wait_until 10 is_up b
	S1=$(service_pid a)
	S2=$(service_pid b)
	alive "$S1"
	alive "$S2"
}

@test "daemon: the launcher returns 0 once the daemon takes commands" {
	make_sleeper x down=
	run launch_default
	assert_success
	# no waiting: the daemon must already be reading its FIFO
	test -p "$RUN/control"
	run svctl -w 10 start x
	assert_success
	is_up x
	alive "$(service_pid x)"
	run svctl status
	assert_success
}

@test "daemon: svctl status right after the launcher returns shows every service" {
	mkdir "$SV"/s{001..150}
	local d
	for d in "$SV"/s*; do
		printf '#!/bin/sh\nexec sleep 1000\n' >"$d/run"
		: >"$d/down"
	done
	chmod +x "$SV"/s*/run
	run launch_default
	assert_success
	run svctl status
	assert_success
	assert_equal "$(grep -c '^s[0-9]*: down ' <<<"$output")" 150
}

@test "daemon: its pid is in RUNDIR/pid" {
	run launch_default
	assert_success
	local p
	p=$(daemon_pid)
	assert_equal "$(cat "/proc/$p/comm")" supervise
	# that process is the one serving this RUNDIR: it holds the control FIFO open
	local ctl
	ctl=$(realpath "$RUN/control")
	local f found=0
	for f in /proc/"$p"/fd/*; do
		[ "$(readlink "$f")" = "$ctl" ] && found=1
	done
	assert_equal "$found" 1
}

@test "daemon: it is not a session leader" {
	run launch_default
	assert_success
	local p sid
	p=$(daemon_pid)
	sid=$(stat_field "$p" 6)
	[ -n "$sid" ]
	[ "$sid" != "$p" ]
	# and not in the launching shell's session either
	[ "$sid" != "$(stat_field $$ 6)" ]
}

@test "daemon: it has no controlling terminal, even when launched from one" {
	# the launcher runs on a pty, in a shell that leads the pty's session; the daemon's
	# stat is read while that shell still runs (the terminal still belongs to it)
	run timeout 30 script -qec "tty; '$BIN/supervise' -d '$SV' -r '$RUN' 3>&- &&
		echo \"stat: \$(cat /proc/\$(cat '$RUN/pid')/stat)\"" /dev/null </dev/null 3>&-
	assert_success
	assert_line --regexp '^/dev/(pts/[0-9]+|tty)'
	local line tty
	line=$(grep -a '^stat: ' <<<"$output" | tr -d '\r')
	[ -n "$line" ]
	line=${line##*) }
	read -r _ _ _ _ tty _ <<<"$line"
	assert_equal "$tty" 0
	[ "$(daemon_pid)" != "" ]
}

@test "daemon: its working directory is /" {
	run launch_default
	assert_success
	assert_equal "$(readlink "/proc/$(daemon_pid)/cwd")" /
}

@test "daemon: its umask is 0022 (launched with 077)" {
	run launch_default
	assert_success
	assert_equal "$(sed -n 's/^Umask:[[:space:]]*//p' "/proc/$(daemon_pid)/status")" 0022
}

@test "daemon: stdin is /dev/null" {
	run launch_default
	assert_success
	assert_equal "$(readlink "/proc/$(daemon_pid)/fd/0")" /dev/null
}

@test "daemon: stdout and stderr go to RUNDIR/supervise.log" {
	run launch_default
	assert_success
	local p log
	p=$(daemon_pid)
	log=$(realpath "$RUN/supervise.log")
	assert_equal "$(readlink "/proc/$p/fd/1")" "$log"
	assert_equal "$(readlink "/proc/$p/fd/2")" "$log"
}

@test "daemon: supervise.log gets timestamped event lines" {
	make_sleeper x
	run launch_default
	assert_success
	local p sp
	p=$(daemon_pid)
	wait_until 10 is_up x
	sp=$(service_pid x)
	local ts='^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}'
	wait_until 10 grep -Eq "$ts.*started \\(pid $p\\)" "$RUN/supervise.log"
	wait_until 10 grep -Eq "$ts.*x: started \\(pid $sp\\)" "$RUN/supervise.log"
}

@test "daemon: a second instance on the same RUNDIR is refused" {
	run launch_default
	assert_success
	local p
	p=$(daemon_pid)
	run --separate-stderr launch_default
	assert_failure 1
	# shellcheck disable=SC2154 # stderr is set by run --separate-stderr
	assert_equal "$stderr" "supervise: already running (pid $p)"
	# the first one is untouched and still in charge
	assert_equal "$(daemon_pid)" "$p"
	run svctl status
	assert_success
}

@test "daemon: a second instance in the foreground is refused too" {
	run launch_default
	assert_success
	local p
	p=$(daemon_pid)
	run --separate-stderr launch -f -d "$SV" -r "$RUN"
	assert_failure 1
	assert_equal "$stderr" "supervise: already running (pid $p)"
	assert_equal "$(daemon_pid)" "$p"
}

@test "daemon: a stale pid file does not block a start" {
	local stale
	sh -c 'exit 0' &
	stale=$!
	wait "$stale"
	mkdir -m 700 "$RUN"
	echo "$stale" >"$RUN/pid"
	run launch_default
	assert_success
	local p
	p=$(daemon_pid)
	[ "$p" != "$stale" ]
	test -p "$RUN/control"
	run svctl status
	assert_success
}

@test "daemon: a missing SVDIR: exit 1 and a message naming it" {
	run --separate-stderr launch -d "$BATS_TEST_TMPDIR/no-such-svdir" -r "$RUN"
	assert_failure 1
	[[ $stderr == *"$BATS_TEST_TMPDIR/no-such-svdir"* ]]
	[ ! -e "$RUN/pid" ]
}

@test "daemon: a RUNDIR writable by group and others is refused" {
	mkdir "$RUN"
	chmod 777 "$RUN"
	run --separate-stderr launch_default
	assert_failure 1
	[[ $stderr == *"$RUN"* ]]
	[[ $stderr == *writable* ]]
	[ ! -e "$RUN/pid" ]
	[ ! -e "$RUN/control" ]
}

@test "daemon: a RUNDIR writable by its group is refused" {
	mkdir "$RUN"
	chmod 770 "$RUN"
	run --separate-stderr launch_default
	assert_failure 1
	[[ $stderr == *"$RUN"* ]]
	[ ! -e "$RUN/pid" ]
}

@test "daemon: a RUNDIR owned by another user is refused" {
	[ "$(id -u)" = 0 ] || skip "needs root to chown"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	mkdir -m 700 "$RUN"
	chown nobody "$RUN"
	run --separate-stderr launch_default
	assert_failure 1
	[[ $stderr == *"$RUN"* ]]
	[ ! -e "$RUN/pid" ]
	[ ! -e "$RUN/control" ]
}

@test "daemon: a RUNDIR it creates is mode 0700" {
	run launch_default
	assert_success
	assert_equal "$(stat -c %a "$RUN")" 700
}

@test "-f: stays in the foreground and logs to stderr" {
	make_sleeper x
	start_supervise
	# the process we started is the supervisor itself, still in our session
	assert_equal "$(cat "$RUN/pid")" "$SUP_PID"
	alive "$SUP_PID"
	assert_equal "$(stat_field "$SUP_PID" 6)" "$(stat_field $$ 6)"
	grep -q "started (pid $SUP_PID)" "$SUPLOG"
	wait_until 10 is_up x
	wait_until 10 grep -q "x: started (pid $(service_pid x))" "$SUPLOG"
	[ ! -e "$RUN/supervise.log" ]
}

@test "daemon: SIGTERM stops every service, removes control and pid, exits 0" {
	make_sleeper a
	make_sleeper b
	launch_reaped
	local p
	p=$(daemon_pid)
	two_sleepers_up
	kill -TERM "$p"
	wait_until 20 grep -q "^$p " "$REAPED"
	assert_equal "$(reaped_code "$p")" 0
	gone "$S1"
	gone "$S2"
	[ ! -e "$RUN/control" ]
	[ ! -e "$RUN/pid" ]
}

@test "daemon: SIGINT stops every service, removes control and pid, exits 0" {
	make_sleeper a
	make_sleeper b
	launch_reaped
	local p
	p=$(daemon_pid)
	two_sleepers_up
	kill -INT "$p"
	wait_until 20 grep -q "^$p " "$REAPED"
	assert_equal "$(reaped_code "$p")" 0
	gone "$S1"
	gone "$S2"
	[ ! -e "$RUN/control" ]
	[ ! -e "$RUN/pid" ]
}

@test "daemon: svctl shutdown returns only after the supervisor has exited" {
	make_sleeper a
	make_sleeper b
	run launch_default
	assert_success
	local p
	p=$(daemon_pid)
	two_sleepers_up
	run svctl shutdown
	assert_success
	# no waiting: when svctl returns, it is all over
	gone "$p"
	gone "$S1"
	gone "$S2"
	[ ! -e "$RUN/control" ]
	[ ! -e "$RUN/pid" ]
}
