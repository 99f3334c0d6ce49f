#!/usr/bin/env bats
# Service lifecycle: restarts and their throttling, stop escalation, process-group
# cleanup, detachment of the service process, failed execs, once, and reaping.
load helpers

# make_raw_service NAME CONTENT [FILE=content...]: a service whose run is CONTENT as is
# (no #!/bin/sh added), appearing in SVDIR at once, complete.
make_raw_service() {
	local name=$1 content=$2 kv
	mkdir -p "$SV/$name.tmp-raw"
	printf '%s' "$content" > "$SV/$name.tmp-raw/run"
	chmod +x "$SV/$name.tmp-raw/run"
	shift 2
	for kv in "$@"; do
		printf '%s\n' "${kv#*=}" > "$SV/$name.tmp-raw/${kv%%=*}"
	done
	mv "$SV/$name.tmp-raw" "$SV/$name"
}

# proc_stat PID FIELD: field FIELD (1-based, as in proc(5)) of /proc/PID/stat.
proc_stat() {
	local s rest
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	rest=${s##*) } # the command name may hold spaces and parentheses
	local -a f
	read -r -a f <<< "$rest"
	printf '%s\n' "${f[$(($2 - 3))]}"
}

group_count() {
	group_pids "$1" | wc -l
}

group_gone() {
	[ "$(group_count "$1")" -eq 0 ]
}

group_has() {
	[ "$(group_count "$1")" -eq "$2" ]
}

status_line_has() {
	local out
	out=$(svctl status "$1") || return 1
	local pat
	for pat in "${@:2}"; do
		[[ $out == *"$pat"* ]] || return 1
	done
}

up_with_pid() {
	is_up "$1" && pid_changed "$1" 0
}

parent_is() {
	[ "$(proc_stat "$1" 4)" = "$2" ]
}

no_zombie_children() {
	# shellcheck disable=SC2009 # the state of every child of one process: ps, not pgrep
	! ps --ppid "$SUP_PID" -o stat= | grep -q Z
}

@test "a service killed with SIGKILL is restarted with a new pid and is up again" {
	make_sleeper s1
	start_supervise
	wait_until 10 up_with_pid s1
	local old
	old=$(service_pid s1)
	kill -KILL "$old"
	wait_until 10 pid_changed s1 "$old"
	wait_until 10 is_up s1
	local new
	new=$(service_pid s1)
	[ "$new" != "$old" ]
	kill -0 "$new"
	wait_until 10 grep -q "s1: exited (signal KILL)" "$SUPLOG"
	run status_field s1 restarts
	[ "$output" -ge 1 ]
}

@test "a service that keeps crashing at once is throttled: backoff, next try, deaths recorded" {
	local starts=$BATS_TEST_TMPDIR/crash.starts
	make_service crash "date +%s%N >> '$starts'; exit 1"
	start_supervise
	wait_until 10 lines_at_least "$starts" 1
	# a window of time: 1 s spacing then 1, 2, 4 s of backoff gives starts at about
	# 0, 1, 2, 4 s (next at 8 s); a plain 1 s restart loop would give 7 or 8
	sleep 7
	local n
	n=$(line_count "$starts")
	echo "starts in 7 s: $n" >&2
	[ "$n" -ge 3 ]
	[ "$n" -le 6 ]
	# two starts are never less than 1 s apart (some slack for the run's own start-up)
	run awk 'NR > 1 && ($1 - prev) / 1000000 < 800 { print "too close: " ($1 - prev) / 1000000 " ms"; bad = 1 }
		{ prev = $1 } END { exit bad }' "$starts"
	assert_success
	# the last gap is the backoff after the third short death in a row: 2 s
	run awk 'NR == 3 { a = $1 } NR == 4 { b = $1 } END { exit !(b && (b - a) / 1000000 >= 1700) }' "$starts"
	assert_success
	wait_until 10 status_line_has crash ": backoff" "next try in"
	wait_until 10 state_is crash backoff
	run grep -c '^death=[0-9]* exit=1 ' "$RUN/status/crash"
	[ "$output" -ge 3 ]
	run status_field crash restarts
	[ "$output" -ge 3 ]
}

@test "a death after 10 s of running restarts at once, whatever backoff came before" {
	local starts=$BATS_TEST_TMPDIR/long.starts
	# three short deaths first (starts at about 0, 1, 2, 4 s): the next crash backoff
	# would be 4 s; the fourth start runs for good
	make_service long "echo x >> '$starts'; [ \$(wc -l < '$starts') -ge 4 ] || exit 1; exec sleep 1000"
	start_supervise
	wait_until 15 lines_at_least "$starts" 4
	wait_until 10 up_with_pid long
	local old t0 t1
	old=$(service_pid long)
	# a window of time: let it run past 10 s
	sleep 10.5
	[ "$(service_pid long)" = "$old" ]
	t0=$(now_ms)
	kill -KILL "$old"
	wait_until 10 pid_changed long "$old"
	t1=$(now_ms)
	echo "restart after $((t1 - t0)) ms" >&2
	[ $((t1 - t0)) -lt 2500 ]
	wait_until 10 is_up long
	# the death recorded is the long one
	run sed -n '0,/^death=/s/^death=[0-9]* signal=KILL ran_ms=//p' "$RUN/status/long"
	[ -n "$output" ]
	[ "$output" -ge 10000 ]
}

@test "stop escalates to SIGKILL after timeout-kill when the service ignores TERM" {
	make_service stubborn "trap '' TERM; while :; do sleep 0.1; done" timeout-kill=500
	start_supervise
	wait_until 10 up_with_pid stubborn
	local pgid
	pgid=$(status_field stubborn pgid)
	EXTRA_PGIDS="$pgid"
	run svctl -w 6 stop stubborn
	assert_success
	state_is stubborn down
	wait_until 10 group_gone "$pgid"
	grep -q 'stubborn: did not stop within 500 ms, sending KILL' "$SUPLOG"
	grep -q '^death=[0-9]* signal=KILL ' "$RUN/status/stubborn"
}

@test "timeout-kill 0 never escalates: the service stays stopping" {
	make_service stubborn "trap '' TERM; while :; do sleep 0.1; done" timeout-kill=0
	start_supervise
	wait_until 10 up_with_pid stubborn
	local pid pgid
	pid=$(service_pid stubborn)
	pgid=$(status_field stubborn pgid)
	EXTRA_PGIDS="$pgid"
	# lets 2 s pass: well past what 0 would mean as "at once"
	run svctl -w 2 stop stubborn
	assert_failure
	state_is stubborn stopping
	kill -0 "$pid"
	# no kill deadline at all (a default timeout would show one)
	[ "$(status_field stubborn next)" = 0 ]
	run svctl status stubborn
	assert_output --partial 'stubborn: stopping'
	refute_output --partial 'kill in'
	! grep -q 'sending KILL' "$SUPLOG" || false
	# clean up ourselves: the supervisor would wait for ever on shutdown
	kill -KILL -- "-$pgid"
	wait_until 10 state_is stubborn down
}

@test "down-signal chooses the signal sent on stop" {
	local mark=$BATS_TEST_TMPDIR/hup.mark
	make_service hupper "trap 'echo hup > \"$mark\"; exit 0' HUP; trap 'echo term > \"$mark\"; exit 0' TERM; while :; do sleep 0.1; done" down-signal=HUP
	start_supervise
	wait_until 10 up_with_pid hupper
	run svctl stop hupper
	assert_success
	wait_until 10 test -s "$mark"
	[ "$(cat "$mark")" = hup ]
	grep -q '^death=[0-9]* exit=0 ' "$RUN/status/hupper"
}

@test "stop leaves no process of the service's process group behind" {
	make_service kids 'sleep 1000 & sleep 1000 & exec sleep 1000'
	start_supervise
	wait_until 10 up_with_pid kids
	local pgid
	pgid=$(status_field kids pgid)
	# shellcheck disable=SC2034 # read by cleanup_all (helpers.bash) in teardown
	EXTRA_PGIDS="$pgid"
	wait_until 10 group_has "$pgid" 3
	run svctl stop kids
	assert_success
	# gone, zombies included: the leftovers were killed and reaped
	wait_until 10 group_gone "$pgid"
}

@test "a service runs detached: own session and group, child of the supervisor, clean fds and signals" {
	make_sleeper det
	# the supervisor itself has extra fds (3 and 7) and an ignored signal to pass on
	( trap '' USR2; exec "$BIN/supervise" -f -d "$SV" -r "$RUN" ) \
		2>>"$SUPLOG" 3>"$BATS_TEST_TMPDIR/fd3" 7>"$BATS_TEST_TMPDIR/fd7" &
	SUP_PID=$!
	wait_until 10 test -p "$RUN/control"
	wait_until 10 up_with_pid det
	local pid sid pgid ppid
	pid=$(service_pid det)
	pgid=$(proc_stat "$pid" 5)
	sid=$(proc_stat "$pid" 6)
	ppid=$(proc_stat "$pid" 4)
	echo "pid=$pid pgid=$pgid sid=$sid ppid=$ppid sup=$SUP_PID" >&2
	[ "$sid" = "$pgid" ]                    # its own session and group
	[ "$sid" != "$pid" ]                    # not a session leader
	[ "$sid" != "$(proc_stat "$SUP_PID" 6)" ] # not the supervisor's session
	[ "$(status_field det pgid)" = "$pgid" ]
	[ "$ppid" = "$SUP_PID" ]
	# no controlling terminal
	[ "$(proc_stat "$pid" 7)" = 0 ]
	run ls "/proc/$pid/fd"
	assert_output "$(printf '0\n1\n2')"
	grep -E '^(Name|State|Sig(Blk|Ign|Cgt)):' "/proc/$pid/status" >&2 # shown on failure
	grep -q '^SigBlk:[[:space:]]*0*$' "/proc/$pid/status"
	grep -q '^SigIgn:[[:space:]]*0*$' "/proc/$pid/status"
	[ "$(readlink "/proc/$pid/fd/0")" = /dev/null ]
	# stdout and stderr: its output FIFO, which the supervisor reads (read-write: no SIGPIPE)
	[ "$(readlink -f "/proc/$pid/fd/1")" = "$(readlink -f "$RUN/pipe/det")" ]
	[ "$(readlink -f "/proc/$pid/fd/2")" = "$(readlink -f "$RUN/pipe/det")" ]
	grep -q '^flags:.*2$' "/proc/$pid/fdinfo/1" # O_RDWR
	# working directory: the service directory
	[ "$(readlink -f "/proc/$pid/cwd")" = "$(readlink -f "$SV/det")" ]
}

@test "a run with a missing interpreter is failed with the exec reason, and retried" {
	make_raw_service badinterp $'#!/nonexistent/interpreter\necho never\n'
	start_supervise
	wait_until 10 state_is badinterp failed
	run svctl status badinterp
	assert_output --regexp '^badinterp: failed '
	assert_output --partial 'exec ./run:'
	assert_output --partial 'No such file or directory'
	# retried on the crash schedule: 1 s spacing, then 1 s
	wait_until 10 restarts_at_least badinterp 2
	[ "$(suplog_count 'badinterp: unable to start: exec ./run:')" -ge 2 ]
	state_is badinterp failed || state_is badinterp starting
}

@test "a run in a format that cannot be exec'd is failed with the exec reason" {
	make_raw_service badformat $'this is not a program\n'
	start_supervise
	wait_until 10 state_is badformat failed
	run svctl status badformat
	assert_output --regexp '^badformat: failed '
	assert_output --partial 'exec ./run: Exec format error'
	assert_output --partial 'next try in'
	wait_until 10 restarts_at_least badformat 2
}

@test "once runs a down service one time and does not restart it" {
	local runs=$BATS_TEST_TMPDIR/once.runs
	make_service one "echo run >> '$runs'; sleep 0.5; exit 0" down=
	start_supervise_quiet one
	state_is one down
	[ "$(line_count "$runs")" -eq 0 ]
	run svctl once one
	assert_success
	wait_until 10 lines_at_least "$runs" 1
	wait_until 10 state_is one down
	# a window of time well past the 1 s restart spacing
	sleep 2.5
	[ "$(line_count "$runs")" -eq 1 ]
	state_is one down
	[ "$(status_field one wanted)" = down ]
	[ "$(status_field one pid)" = 0 ]
}

all_up_changed() {
	local i
	for i in $(seq 0 9); do
		pid_changed "z$i" "${OLD[$i]}" && is_up "z$i" || return 1
	done
}

@test "many restarts leave no zombie and no extra fd in the supervisor" {
	local i
	for i in $(seq 0 9); do
		make_sleeper "z$i"
	done
	start_supervise
	OLD=(0 0 0 0 0 0 0 0 0 0)
	wait_until 10 all_up_changed
	local before
	before=$(sup_fd_count)
	for _ in 1 2 3; do
		for i in $(seq 0 9); do
			OLD[i]=$(service_pid "z$i")
		done
		for i in $(seq 0 9); do
			kill -KILL "${OLD[$i]}"
		done
		wait_until 15 all_up_changed
	done
	for i in $(seq 0 9); do
		[ "$(status_field "z$i" restarts)" -eq 3 ]
	done
	wait_until 10 no_zombie_children
	# one child per service and nothing else
	[ "$(ps --ppid "$SUP_PID" -o pid= | wc -l)" -eq 10 ]
	wait_until 10 sup_fd_count_is "$before"
}

@test "a child left behind by an exiting service is killed and reaped" {
	local child=$BATS_TEST_TMPDIR/child.pid
	make_service forker "sleep 1000 & echo \$! > '$child.tmp'; mv '$child.tmp' '$child'; exit 0" down=
	start_supervise_quiet forker
	state_is forker down
	run svctl once forker
	assert_success
	wait_until 10 test -s "$child"
	local c
	c=$(cat "$child")
	# shellcheck disable=SC2034 # read by cleanup_all (helpers.bash) in teardown
	EXTRA_PIDS="$c"
	wait_until 10 state_is forker down
	# neither running nor a zombie: killed with the group and reaped
	wait_until 10 gone_from_proc "$c"
}

@test "an orphan of a service is reparented to the supervisor and reaped when it dies" {
	local child=$BATS_TEST_TMPDIR/orphan.pid
	# the orphan ignores TERM, so it outlives the cleanup after its parent's exit
	make_service forker "(trap '' TERM; exec sleep 1000) & echo \$! > '$child.tmp'; mv '$child.tmp' '$child'; exit 0" down=
	start_supervise_quiet forker
	state_is forker down
	run svctl once forker
	assert_success
	wait_until 10 test -s "$child"
	local c
	c=$(cat "$child")
	# shellcheck disable=SC2034 # read by cleanup_all (helpers.bash) in teardown
	EXTRA_PIDS="$c"
	wait_until 10 state_is forker down
	kill -0 "$c"
	# the supervisor is the child subreaper
	wait_until 10 parent_is "$c" "$SUP_PID"
	kill -KILL "$c"
	wait_until 10 gone_from_proc "$c"
}
