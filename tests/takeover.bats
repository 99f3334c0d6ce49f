#!/usr/bin/env bats
# The supervisor's own death and rebirth: killed with SIGKILL and started again on the same
# RUNDIR, it takes over the services still running (verified by pid and start time) instead
# of starting second copies; `svctl reexec` and SIGUSR2 replace it in place; a service whose
# directory went away while no supervisor ran is stopped by the next one.
# Cleanup: kill_supervisor forgets the dead supervisor's pid and the teardown below removes
# the stale RUN/pid it left (a pid that may be reused by then), so cleanup_all never signals
# it; the services' process groups are still in the status files, where cleanup_all finds
# them. A daemon (SUP_PID empty) is found through RUN/pid and checked to hold our control
# FIFO before it is signalled. Decoy processes of the tests go in EXTRA_PIDS.
load helpers

teardown() {
	local p
	if [ -z "$SUP_PID" ]; then
		p=$(cat "$RUN/pid" 2>/dev/null)
		if [[ $p =~ ^[0-9]+$ ]] && alive "$p" && holds_control "$p"; then
			kill -TERM "$p" 2>/dev/null
			wait_until 15 gone "$p" || kill -KILL "$p" 2>/dev/null
		fi
		rm -f "$RUN/pid"
	fi
	cleanup_all
}

# --- helpers ---

# stat_field PID N: field N (1-based, as in proc(5)) of /proc/PID/stat.
stat_field() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) } # the command name may hold spaces and parentheses
	local -a f
	read -r -a f <<<"$s"
	echo "${f[$(($2 - 3))]}"
}

# alive PID: exists and is not a zombie.
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	[ "$(stat_field "$1" 3)" != Z ]
}

# stat_is PID N VALUE: field N of /proc/PID/stat is VALUE.
stat_is() {
	[ "$(stat_field "$1" "$2")" = "$3" ]
}

# holds_control PID: PID has this test's control FIFO open (it is our supervisor).
holds_control() {
	local f ctl
	ctl=$(realpath "$RUN/control" 2>/dev/null) || return 1
	for f in /proc/"$1"/fd/*; do
		[ "$(readlink "$f" 2>/dev/null)" = "$ctl" ] && return 0
	done
	return 1
}

up_with_pid() {
	is_up "$1" && pid_changed "$1" 0
}

# Number of live processes in session SID (zombies aside).
session_count() {
	ps -e -o sid=,stat= | awk -v s="$1" '$1 == s && $2 !~ /^Z/' | wc -l
}

session_gone() {
	[ "$(session_count "$1")" -eq 0 ]
}

# A service whose run records its pid in $BATS_TEST_TMPDIR/NAME.starts, then sleeps.
make_counted() {
	make_service "$1" "echo \$\$ >> '$BATS_TEST_TMPDIR/$1.starts'; exec sleep 1000" "${@:2}"
}

starts() {
	wc -l < "$BATS_TEST_TMPDIR/$1.starts"
}

# kill_supervisor: SIGKILL to the foreground supervisor, reaped when it is our child; its
# pid forgotten.
kill_supervisor() {
	kill -KILL "$SUP_PID"
	wait "$SUP_PID" 2>/dev/null || true # not our child when started by another process
	wait_until 10 gone "$SUP_PID"
	SUP_PID=
}

# restart_supervise: a new foreground supervisor on the same SVDIR and RUNDIR. The
# control FIFO of the dead one is still there: ready once the new one says it started.
restart_supervise() {
	"$BIN/supervise" -f -d "$SV" -r "$RUN" 2>>"$SUPLOG" 3>&- &
	SUP_PID=$!
	wait_until 10 grep -q "supervise: started (pid $SUP_PID) on" "$SUPLOG"
}

taken_over() {
	wait_until 10 grep -q "$1: taken over (pid $2" "$SUPLOG"
}

# clock_past T: the wall clock (epoch seconds) has reached T.
clock_past() {
	[ "$(date +%s)" -ge "$1" ]
}

lines_above() {
	[ "$(line_count "$1")" -gt "$2" ]
}

# A logged service NAME whose main writes "line N", N = 1, 2, 3 ..., every 20 ms, and
# whose logger is svlog writing to NAME/log/main.
make_numbered() {
	local tmp="$SV/.$1.tmp-numbered"
	mkdir -p "$tmp/log"
	# shellcheck disable=SC2016 # the service's script, expanded when it runs
	printf '#!/bin/sh\ni=0\nwhile :; do i=$((i + 1)); echo "line $i"; sleep 0.02; done\n' > "$tmp/run"
	printf '#!/bin/sh\nexec %s ./main\n' "$BIN/svlog" > "$tmp/log/run"
	chmod +x "$tmp/run" "$tmp/log/run"
	mv "$tmp" "$SV/$1"
}

# numbered_ok FILE: FILE holds "line 1", "line 2" ... with no gap, no repeat, no junk.
numbered_ok() {
	awk '$0 != "line " NR { print FILENAME ":" NR ": " $0; bad = 1; exit } END { exit bad }' "$1"
}

# reply_pending: the supervisor holds a reply FIFO open (a client waits for an answer).
reply_pending() {
	# shellcheck disable=SC2010 # ls -l shows what each descriptor is open on
	ls -l "/proc/$SUP_PID/fd" 2>/dev/null | grep -q -- "$(realpath "$RUN")/reply/"
}

# --- SIGKILL of the supervisor, and the next one ---

@test "takeover: after kill -9 of the supervisor, its services keep running" {
	make_sleeper a
	make_sleeper b
	start_supervise
	wait_until 10 up_with_pid a
	wait_until 10 up_with_pid b
	local pa pb sup=$SUP_PID
	pa=$(service_pid a)
	pb=$(service_pid b)
	assert_equal "$(stat_field "$pa" 4)" "$sup"
	kill_supervisor
	alive "$pa"
	alive "$pb"
	# no longer the dead supervisor's children, and not killed by its death
	[ "$(stat_field "$pa" 4)" != "$sup" ]
	# the status files still name them, for the next supervisor and for svctl status
	assert_equal "$(service_pid a)" "$pa"
	assert_equal "$(service_pid b)" "$pb"
}

@test "takeover: a new supervisor takes over a running service: same pid, no second copy" {
	make_counted a
	start_supervise
	wait_until 10 up_with_pid a
	local pid sid
	pid=$(service_pid a)
	sid=$(stat_field "$pid" 6)
	assert_equal "$(starts a)" 1
	kill_supervisor
	restart_supervise
	taken_over a "$pid"
	grep -q "a: taken over (pid $pid, up)" "$SUPLOG"
	wait_until 10 up_with_pid a
	assert_equal "$(service_pid a)" "$pid"
	alive "$pid"
	# one run only, and its session holds that one process
	assert_equal "$(starts a)" 1
	assert_equal "$(session_count "$sid")" 1
	assert_equal "$(grep -c 'a: started (pid' "$SUPLOG")" 1
	run svctl status a
	assert_success
	assert_output --regexp "^a: up \\(pid $pid\\) "
}

@test "takeover: every running service is taken over, each with its own pid" {
	local n
	for n in s1 s2 s3 s4 s5; do make_counted "$n"; done
	start_supervise
	declare -A pid
	for n in s1 s2 s3 s4 s5; do
		wait_until 10 up_with_pid "$n"
		pid[$n]=$(service_pid "$n")
	done
	kill_supervisor
	restart_supervise
	for n in s1 s2 s3 s4 s5; do
		taken_over "$n" "${pid[$n]}"
		wait_until 10 up_with_pid "$n"
		assert_equal "$(service_pid "$n")" "${pid[$n]}"
		assert_equal "$(starts "$n")" 1
	done
}

@test "takeover: the status history (restarts, deaths) survives the takeover" {
	make_sleeper a
	start_supervise
	wait_until 10 up_with_pid a
	local old
	old=$(service_pid a)
	kill -KILL "$old"
	wait_until 10 pid_changed a "$old"
	wait_until 10 up_with_pid a
	local pid
	pid=$(service_pid a)
	assert_equal "$(status_field a restarts)" 1
	kill_supervisor
	restart_supervise
	taken_over a "$pid"
	wait_until 10 up_with_pid a
	assert_equal "$(status_field a restarts)" 1
	run grep -c '^death=[0-9]* signal=KILL ' "$RUN/status/a"
	assert_output 1
}

@test "takeover: the time in state (since) is that of the first supervisor" {
	make_sleeper a
	start_supervise
	wait_until 10 up_with_pid a
	local pid since
	pid=$(service_pid a)
	since=$(status_field a since)
	kill_supervisor
	# a second or two later, so that a since reset by the takeover would show
	wait_until 10 clock_past $((since + 2))
	restart_supervise
	taken_over a "$pid"
	wait_until 10 up_with_pid a
	assert_equal "$(status_field a since)" "$since"
	run svctl status a
	assert_success
	refute_output --regexp ' (0|1)s'
}

@test "takeover: a service that died while no supervisor ran is started again, new pid" {
	make_counted a
	make_counted b
	start_supervise
	wait_until 10 up_with_pid a
	wait_until 10 up_with_pid b
	local pa pb
	pa=$(service_pid a)
	pb=$(service_pid b)
	kill_supervisor
	kill -KILL "$pa"
	# dead and reaped (by init, its parent now)
	wait_until 10 gone_from_proc "$pa"
	restart_supervise
	taken_over b "$pb"
	wait_until 10 pid_changed a "$pa"
	wait_until 10 up_with_pid a
	alive "$(service_pid a)"
	assert_equal "$(starts a)" 2
	run grep -c "a: started (pid" "$SUPLOG"
	assert_output 2
	refute log_has "a: taken over"
	# the other one was not started twice
	assert_equal "$(starts b)" 1
}

@test "takeover: a service that died but is not yet reaped (a zombie) is started again, not taken over" {
	make_counted a
	# the first supervisor runs under a child subreaper that never reaps: when it dies,
	# its services become that one's children, and a service killed then stays a zombie
	(python3 -c '
import ctypes, os, signal, sys
if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
    sys.exit("prctl failed")
if os.fork() == 0:
    os.execv(sys.argv[1], sys.argv[1:])
while True:
    signal.pause()
' "$BIN/supervise" -f -d "$SV" -r "$RUN" </dev/null >/dev/null 2>>"$SUPLOG" 3>&- &
		echo $! >"$BATS_TEST_TMPDIR/reaper")
	local reaper
	reaper=$(cat "$BATS_TEST_TMPDIR/reaper")
	EXTRA_PIDS="${EXTRA_PIDS:-} $reaper"
	wait_until 10 log_has "supervise: started (pid"
	SUP_PID=$(cat "$RUN/pid")
	wait_until 10 up_with_pid a
	local pa
	pa=$(service_pid a)
	kill_supervisor
	kill -KILL "$pa"
	wait_until 10 stat_is "$pa" 3 Z
	assert_equal "$(stat_field "$pa" 4)" "$reaper"
	restart_supervise
	wait_until 10 pid_changed a "$pa"
	wait_until 10 up_with_pid a
	assert_equal "$(starts a)" 2
	# a dead process is not "taken over"
	refute log_has "a: taken over"
}

@test "takeover: a taken-over service can be stopped: its process is gone" {
	make_sleeper a
	start_supervise
	wait_until 10 up_with_pid a
	local pid
	pid=$(service_pid a)
	kill_supervisor
	restart_supervise
	taken_over a "$pid"
	run svctl -w 10 stop a
	assert_success
	state_is a down
	wait_until 10 gone "$pid"
	assert_equal "$(service_pid a)" 0
	alive "$SUP_PID"
}

@test "takeover: a taken-over service can be restarted: a new process" {
	make_counted a
	start_supervise
	wait_until 10 up_with_pid a
	local pid
	pid=$(service_pid a)
	kill_supervisor
	restart_supervise
	taken_over a "$pid"
	run svctl -w 10 restart a
	assert_success
	wait_until 10 up_with_pid a
	local new
	new=$(service_pid a)
	[ "$new" != "$pid" ]
	alive "$new"
	wait_until 10 gone "$pid"
	assert_equal "$(starts a)" 2
}

@test "takeover: svctl signal reaches a taken-over service" {
	local marker=$BATS_TEST_TMPDIR/usr1
	make_service a "trap 'echo usr1 >> \"$marker\"' USR1
while :; do sleep 1000 & wait \$!; done"
	start_supervise
	wait_until 10 up_with_pid a
	local pid
	pid=$(service_pid a)
	kill_supervisor
	restart_supervise
	taken_over a "$pid"
	[ ! -e "$marker" ]
	run svctl signal USR1 a
	assert_success
	wait_until 10 test -s "$marker"
	run sort -u "$marker"
	assert_output usr1
	# a trapped signal does not end it
	alive "$pid"
	assert_equal "$(service_pid a)" "$pid"
}

@test "takeover: svctl signal reaches a taken-over service once per command, never twice" {
	local marker=$BATS_TEST_TMPDIR/usr1
	make_service a "trap 'echo usr1 >> \"$marker\"' USR1
while :; do sleep 1000 & wait \$!; done"
	start_supervise
	wait_until 10 up_with_pid a
	local pid
	pid=$(service_pid a)
	kill_supervisor
	restart_supervise
	taken_over a "$pid"
	# a second copy of a signal shows only when the service has handled the first one
	# before it comes: a race, so the signal is sent 20 times
	local i
	for i in $(seq 20); do
		run svctl signal USR1 a
		assert_success
		wait_until 10 lines_at_least "$marker" "$i"
	done
	assert_equal "$(line_count "$marker")" 20
}

@test "takeover: a taken-over service that dies is restarted; its exit status is unknown (-1)" {
	make_sleeper a
	start_supervise
	wait_until 10 up_with_pid a
	local pid
	pid=$(service_pid a)
	kill_supervisor
	restart_supervise
	taken_over a "$pid"
	# not the new supervisor's child: only its pidfd tells of the death
	[ "$(stat_field "$pid" 4)" != "$SUP_PID" ]
	kill -KILL "$pid"
	wait_until 10 pid_changed a "$pid"
	wait_until 10 up_with_pid a
	alive "$(service_pid a)"
	wait_until 10 log_has "a: exited (status unknown"
	run grep '^death=' "$RUN/status/a"
	assert_line --index 0 --regexp '^death=[0-9]+ exit=-1 ran_ms=[0-9]+$'
	assert_equal "$(status_field a restarts)" 1
	# the new process is the supervisor's own child again
	assert_equal "$(stat_field "$(service_pid a)" 4)" "$SUP_PID"
}

@test "takeover: a status pid reused by another process (other start time) is neither taken nor signalled" {
	make_counted a
	start_supervise
	wait_until 10 up_with_pid a
	local pid pgid st
	pid=$(service_pid a)
	pgid=$(status_field a pgid)
	st=$(status_field a starttime)
	kill_supervisor
	kill -KILL -- "-$pgid"
	wait_until 10 gone "$pid"
	# a process of ours in a session of its own, named by the status file as if it were a
	# with a's (old) start time: the pid "reused"
	# (started from a subshell, so that it is no job of this shell: no "Killed" notice)
	(setsid sleep 1000 </dev/null >/dev/null 2>&1 3>&- & echo $! >"$BATS_TEST_TMPDIR/decoy")
	local decoy
	decoy=$(cat "$BATS_TEST_TMPDIR/decoy")
	EXTRA_PIDS="${EXTRA_PIDS:-} $decoy"
	wait_until 10 stat_is "$decoy" 5 "$decoy"
	[ "$(stat_field "$decoy" 22)" != "$st" ]
	sed -i -e "s/^pid=.*/pid=$decoy/" -e "s/^pgid=.*/pgid=$decoy/" "$RUN/status/a"
	assert_equal "$(service_pid a)" "$decoy"
	restart_supervise
	wait_until 10 pid_changed a "$decoy"
	wait_until 10 up_with_pid a
	refute log_has "a: taken over"
	assert_equal "$(starts a)" 2
	alive "$decoy"
	run svctl -w 10 stop a
	assert_success
	state_is a down
	alive "$decoy"
	assert_equal "$(stat_field "$decoy" 3)" S
}

@test "takeover: daemon mode: a daemon killed with -9 and launched again takes over the services" {
	make_counted a
	(exec "$BIN/supervise" -d "$SV" -r "$RUN" </dev/null 3>&-)
	local d1
	d1=$(cat "$RUN/pid")
	alive "$d1"
	wait_until 10 up_with_pid a
	local pid
	pid=$(service_pid a)
	kill -KILL "$d1"
	wait_until 10 gone "$d1"
	alive "$pid"
	(exec "$BIN/supervise" -d "$SV" -r "$RUN" </dev/null 3>&-)
	local d2
	d2=$(cat "$RUN/pid")
	[ "$d2" != "$d1" ]
	alive "$d2"
	# the launcher returns after the first scan: the takeover is done by then
	grep -q "a: taken over (pid $pid, up)" "$RUN/supervise.log"
	assert_equal "$(service_pid a)" "$pid"
	assert_equal "$(starts a)" 1
	run svctl status a
	assert_success
	assert_output --regexp "^a: up \\(pid $pid\\) "
}

# --- a logger pair ---

@test "takeover: a logger pair outlives the supervisor; no line is lost, none doubled" {
	make_numbered web
	start_supervise
	wait_until 10 both_up web
	local main logger log=$SV/web/log/main/current
	main=$(service_pid web)
	logger=$(service_pid web:log)
	wait_until 10 lines_above "$log" 10
	kill_supervisor
	# lines still flow while no supervisor runs
	local n
	n=$(line_count "$log")
	wait_until 10 lines_above "$log" $((n + 20))
	restart_supervise
	taken_over web "$main"
	taken_over web/log "$logger"
	n=$(line_count "$log")
	wait_until 10 lines_above "$log" $((n + 20))
	assert_equal "$(service_pid web)" "$main"
	assert_equal "$(service_pid web:log)" "$logger"
	alive "$main"
	alive "$logger"
	run numbered_ok "$log"
	assert_success
}

@test "takeover: after a takeover the logger restarts without losing a line: the pipe is held again" {
	make_numbered web
	start_supervise
	wait_until 10 both_up web
	local main logger log=$SV/web/log/main/current
	main=$(service_pid web)
	logger=$(service_pid web:log)
	kill_supervisor
	restart_supervise
	taken_over web "$main"
	taken_over web/log "$logger"
	run svctl -w 10 restart web/log
	assert_success
	wait_until 10 pid_changed web:log "$logger"
	wait_until 10 both_up web
	local n
	n=$(line_count "$log")
	wait_until 10 lines_above "$log" $((n + 20))
	# the writer never met a pipe without a reader (SIGPIPE): same process
	assert_equal "$(service_pid web)" "$main"
	alive "$main"
	run numbered_ok "$log"
	assert_success
}

# --- reexec ---

@test "reexec: svctl reexec keeps the supervisor's pid and every service's pid" {
	make_sleeper a
	make_sleeper b
	start_supervise
	wait_until 10 up_with_pid a
	wait_until 10 up_with_pid b
	local pa pb
	pa=$(service_pid a)
	pb=$(service_pid b)
	run svctl reexec
	assert_success
	wait_until 10 log_has "re-executed (pid $SUP_PID)"
	alive "$SUP_PID"
	assert_equal "$(cat "$RUN/pid")" "$SUP_PID"
	wait_until 10 log_has "b: taken over (pid $pb"
	assert_equal "$(service_pid a)" "$pa"
	assert_equal "$(service_pid b)" "$pb"
	alive "$pa"
	alive "$pb"
	assert_equal "$(grep -c ': started (pid' "$SUPLOG")" 3
	run svctl status
	assert_success
	assert_line --regexp "^a: up \\(pid $pa\\) "
	assert_line --regexp "^b: up \\(pid $pb\\) "
}

@test "reexec: SIGUSR2 re-executes the supervisor the same way" {
	make_sleeper a
	start_supervise
	wait_until 10 up_with_pid a
	local pa
	pa=$(service_pid a)
	kill -USR2 "$SUP_PID"
	wait_until 10 log_has "re-executed (pid $SUP_PID)"
	wait_until 10 log_has "a: taken over (pid $pa"
	alive "$SUP_PID"
	assert_equal "$(cat "$RUN/pid")" "$SUP_PID"
	assert_equal "$(service_pid a)" "$pa"
	alive "$pa"
	run svctl status a
	assert_success
	assert_output --regexp "^a: up \\(pid $pa\\) "
}

@test "reexec: the control FIFO keeps working: start and stop after a reexec" {
	make_sleeper a
	make_sleeper b down=
	start_supervise
	wait_until 10 up_with_pid a
	run svctl reexec
	assert_success
	wait_until 10 log_has "re-executed (pid $SUP_PID)"
	run svctl -w 10 start b
	assert_success
	is_up b
	alive "$(service_pid b)"
	local pa
	pa=$(service_pid a)
	run svctl -w 10 stop a
	assert_success
	state_is a down
	wait_until 10 gone "$pa"
}

@test "reexec: a service killed after a reexec is restarted; its death is known (SIGCHLD)" {
	make_sleeper a
	start_supervise
	wait_until 10 up_with_pid a
	local pid
	pid=$(service_pid a)
	run svctl reexec
	assert_success
	wait_until 10 log_has "a: taken over (pid $pid"
	# still the supervisor's child after the exec
	assert_equal "$(stat_field "$pid" 4)" "$SUP_PID"
	kill -KILL "$pid"
	wait_until 10 pid_changed a "$pid"
	wait_until 10 up_with_pid a
	alive "$(service_pid a)"
	wait_until 10 log_has "a: exited (signal KILL)"
	run grep '^death=' "$RUN/status/a"
	assert_line --index 0 --regexp '^death=[0-9]+ signal=KILL ran_ms=[0-9]+$'
	# reaped: no zombie left under the supervisor
	run ps --ppid "$SUP_PID" -o stat=
	refute_output --partial Z
}

@test "reexec: a client waiting during a reexec gets an error, not a hang" {
	make_sleeper a
	start_supervise
	wait_until 10 up_with_pid a
	local out=$BATS_TEST_TMPDIR/wait.out err=$BATS_TEST_TMPDIR/wait.err
	"$BIN/svctl" -d "$SV" -r "$RUN" -w 60 wait down a >"$out" 2>"$err" 3>&- &
	local w=$!
	EXTRA_PIDS="${EXTRA_PIDS:-} $w"
	wait_until 10 reply_pending
	run svctl reexec
	assert_success
	wait_until 10 gone "$w"
	local rc=0
	wait "$w" || rc=$?
	assert_equal "$rc" 1
	run cat "$err"
	assert_output --regexp '^svctl: .*re-?exec'
	# and the supervisor still answers
	run svctl status a
	assert_success
}

@test "reexec: a logger pair keeps running and the logger restarts after it without a lost line" {
	make_numbered web
	start_supervise
	wait_until 10 both_up web
	local main logger log=$SV/web/log/main/current
	main=$(service_pid web)
	logger=$(service_pid web:log)
	run svctl reexec
	assert_success
	wait_until 10 log_has "web: taken over (pid $main"
	assert_equal "$(service_pid web:log)" "$logger"
	run svctl -w 10 restart web/log
	assert_success
	wait_until 10 pid_changed web:log "$logger"
	wait_until 10 both_up web
	local n
	n=$(line_count "$log")
	wait_until 10 lines_above "$log" $((n + 20))
	assert_equal "$(service_pid web)" "$main"
	alive "$main"
	run numbered_ok "$log"
	assert_success
}

@test "reexec: the time in state (since) is kept" {
	make_sleeper a
	start_supervise
	wait_until 10 up_with_pid a
	local pid since
	pid=$(service_pid a)
	since=$(status_field a since)
	wait_until 10 clock_past $((since + 2))
	run svctl reexec
	assert_success
	wait_until 10 log_has "a: taken over (pid $pid"
	assert_equal "$(status_field a since)" "$since"
}

# --- a directory removed while no supervisor ran ---

@test "takeover: a service whose directory went away while no supervisor ran is stopped" {
	make_sleeper a
	make_sleeper b
	start_supervise
	wait_until 10 up_with_pid a
	wait_until 10 up_with_pid b
	local pa pb pgid
	pa=$(service_pid a)
	pb=$(service_pid b)
	pgid=$(status_field a pgid)
	EXTRA_PGIDS="${EXTRA_PGIDS:-} $pgid"
	kill_supervisor
	rm -rf "$SV/a"
	restart_supervise
	wait_until 10 gone "$pa"
	wait_until 10 log_has "a: its directory is gone"
	wait_until 10 test ! -e "$RUN/status/a"
	# the other one is taken over as usual
	taken_over b "$pb"
	alive "$pb"
}

@test "takeover: a service whose directory went away and that ignores TERM is killed anyway" {
	make_service a "trap '' TERM; exec sleep 1000"
	start_supervise
	wait_until 10 up_with_pid a
	local pa pgid
	pa=$(service_pid a)
	pgid=$(status_field a pgid)
	EXTRA_PGIDS="${EXTRA_PGIDS:-} $pgid"
	kill_supervisor
	rm -rf "$SV/a"
	restart_supervise
	wait_until 10 log_has "a: its directory is gone"
	# the default timeout-kill is 10 s: SIGKILL then
	wait_until 15 gone "$pa"
	wait_until 10 session_gone "$pgid"
}
