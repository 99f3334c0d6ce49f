#!/usr/bin/env bats
# Faults the supervisor must live through: a run that loses its exec bit, an unreadable
# service directory, a service without stdout and stderr, one that leaves 100 children
# behind, a zombie factory, one that ignores every signal it can, a full RUNDIR and a
# supervisor out of file descriptors.
# Cleanup: the helpers' cleanup_all (the supervisor, then every service process group from
# the status files); process groups the status files no longer name go in EXTRA_PGIDS;
# the teardown below then unmounts the tmpfs of the full-filesystem test.
load helpers

PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo python3)

teardown() {
	[ -d "$SV/a" ] && chmod 755 "$SV/a"
	cleanup_all
	if [ -n "${RUN_MOUNTED:-}" ]; then
		umount "$RUN" 2>/dev/null || umount -l "$RUN"
	fi
	return 0
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

up_with_pid() {
	is_up "$1" && pid_changed "$1" 0
}

up_alive() {
	up_with_pid "$1" && alive "$(service_pid "$1")"
}

# Every process of process group PGID, zombies included, as "PID STAT".
group_ps() {
	ps -e -o pid=,pgid=,stat= | awk -v g="$1" '$2 == g { print $1, $3 }'
}

group_count() {
	group_ps "$1" | wc -l
}

group_gone() {
	[ "$(group_count "$1")" -eq 0 ]
}

group_zombies() {
	group_ps "$1" | awk '$2 ~ /^Z/' | wc -l
}

group_zombies_are() {
	[ "$(group_zombies "$1")" -eq "$2" ]
}

# The supervisor's children, as "PID STAT".
sup_children() {
	ps --ppid "$SUP_PID" -o pid=,stat=
}

no_zombie_children() {
	! sup_children | awk '$2 ~ /^Z/ { found = 1 } END { exit !found }'
}

# sup_children_are PIDS...: the supervisor's children are exactly these processes.
sup_children_are() {
	[ "$(sup_children | awk '{ print $1 }' | sort)" = "$(printf '%s\n' "$@" | sort)" ]
}

# ignores PID SIG: PID's disposition of signal number SIG is "ignore".
ignores() {
	local m
	m=$(sed -n 's/^SigIgn:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
	[ -n "$m" ] && [ $(((16#$m >> ($2 - 1)) & 1)) -eq 1 ]
}

pid_is() {
	[ "$(service_pid "$1")" = "$2" ]
}

# up_at_least N NAME...: at least N of the NAMEs are up.
up_at_least() {
	[ "$(count_state up "${@:2}")" -ge "$1" ]
}

reason_is() {
	[ "$(status_field "$1" reason)" = "$2" ]
}

count_state() {
	local n c=0
	for n in "${@:2}"; do
		state_is "$n" "$1" && c=$((c + 1))
	done
	echo "$c"
}

# --- run, service directory, stdio ---

@test "faults: a run that loses its exec bit while running: the service keeps running" {
	make_sleeper a
	start_supervise
	wait_until 10 up_alive a
	local pid
	pid=$(service_pid a)
	chmod a-x "$SV/a/run"
	run svctl rescan
	assert_success
	# the rescan is done once it is answered: the service is still known and untouched
	run svctl status a
	assert_success
	assert_output --regexp "^a: up \\(pid $pid\\) "
	alive "$pid"
	assert_equal "$(service_pid a)" "$pid"
	refute log_has "a: forgotten"
	refute log_has "a: stopping"
}

@test "faults: a run without its exec bit: the next start fails with a reason, retried" {
	make_sleeper a
	start_supervise
	wait_until 10 up_alive a
	local pid
	pid=$(service_pid a)
	chmod a-x "$SV/a/run"
	run svctl rescan
	assert_success
	kill -KILL "$pid"
	wait_until 10 state_is a failed
	wait_until 10 reason_is a "exec ./run: Permission denied"
	assert_equal "$(service_pid a)" 0
	run svctl status a
	assert_success
	assert_output --regexp '^a: failed '
	assert_output --partial "exec ./run: Permission denied"
	assert_output --partial "next try in"
	# fixed, it comes back at its retry, without any command
	chmod a+x "$SV/a/run"
	wait_until 20 up_alive a
	alive "$SUP_PID"
}

@test "faults: a service directory made unreadable while running breaks nothing" {
	make_sleeper a
	start_supervise
	wait_until 10 up_alive a
	local pid
	pid=$(service_pid a)
	chmod 000 "$SV/a"
	run svctl rescan
	assert_success
	run svctl status a
	assert_success
	assert_output --regexp "^a: up \\(pid $pid\\) "
	alive "$SUP_PID"
	# (as root, access is not denied: the restart works as before)
	kill -KILL "$pid"
	wait_until 10 pid_changed a "$pid"
	wait_until 10 up_alive a
	alive "$SUP_PID"
	chmod 755 "$SV/a"
}

@test "faults: a service that closes its stdout and stderr runs fine" {
	make_service a 'exec >&- 2>&-; exec sleep 1000'
	start_supervise
	wait_until 10 up_alive a
	local pid
	pid=$(service_pid a)
	# its stdio is closed indeed: only fd 0 is left
	run ls "/proc/$pid/fd"
	assert_output 0
	run svctl status a
	assert_success
	assert_output --regexp "^a: up \\(pid $pid\\) "
	refute log_has "a: exited"
	run svctl -w 10 stop a
	assert_success
	state_is a down
	wait_until 10 gone "$pid"
	assert_equal "$(status_field a restarts)" 0
	wait_until 10 log_has "a: exited (signal TERM)"
}

# --- processes left behind ---

@test "faults: a service that forks 100 children and exits: they are killed and reaped, it restarts" {
	local t=$BATS_TEST_TMPDIR
	make_service a "if [ ! -e '$t/forked' ]; then
	read -r _ _ _ _ pgid _ < /proc/\$\$/stat
	echo \$pgid > '$t/pgid'
	for i in \$(seq 100); do sleep 1000 & echo \$! >> '$t/kids'; done
	: > '$t/forked'
	exit 0
fi
exec sleep 1000"
	start_supervise
	wait_until 10 test -e "$t/forked"
	local pgid
	pgid=$(cat "$t/pgid")
	EXTRA_PGIDS="${EXTRA_PGIDS:-} $pgid"
	assert_equal "$(line_count "$t/kids")" 100
	# the second run, which just sleeps
	wait_until 10 pid_changed a 0
	wait_until 10 up_alive a
	local pid
	pid=$(service_pid a)
	[ "$(status_field a pgid)" != "$pgid" ]
	# the first run's group is empty: no child left running, no zombie left either
	wait_until 10 group_gone "$pgid"
	local k
	while read -r k; do
		[ ! -e "/proc/$k" ]
	done < "$t/kids"
	wait_until 10 no_zombie_children
	wait_until 10 sup_children_are "$pid"
	wait_until 10 log_has "a: exited (code 0)"
}

@test "faults: a zombie factory: once it is stopped, nothing of it is left, zombies included" {
	make_service a "exec '$PY' ./factory.py" 'factory.py=import os, time
for i in range(50):
    if os.fork() == 0:
        os._exit(0)
time.sleep(1000)'
	start_supervise
	wait_until 10 up_alive a
	local pid pgid
	pid=$(service_pid a)
	pgid=$(status_field a pgid)
	EXTRA_PGIDS="${EXTRA_PGIDS:-} $pgid"
	# 50 zombies that their parent never reaps, and the parent itself
	wait_until 10 group_zombies_are "$pgid" 50
	assert_equal "$(group_count "$pgid")" 51
	run svctl -w 10 stop a
	assert_success
	state_is a down
	wait_until 10 group_gone "$pgid"
	wait_until 10 no_zombie_children
	run sup_children
	assert_output ''
	alive "$SUP_PID"
}

@test "faults: a service that ignores every catchable signal is killed at timeout-kill" {
	# shellcheck disable=SC2016 # the service's script, expanded when it runs
	make_service a 'for s in $(seq 1 31); do
	case $s in 9|19) ;; *) trap "" $s ;; esac
done
while :; do sleep 1; done' timeout-kill=500
	start_supervise
	wait_until 10 up_alive a
	local pid pgid
	pid=$(service_pid a)
	pgid=$(status_field a pgid)
	# every trap is set: TERM (15), HUP (1) and CONT (18) among them
	wait_until 10 ignores "$pid" 15
	ignores "$pid" 1
	ignores "$pid" 18
	local t0 ms
	t0=$(date +%s%N)
	run svctl -w 10 stop a
	assert_success
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "stopped in $ms ms" >&3
	# TERM did nothing: only the SIGKILL, 500 ms later, ended it
	[ "$ms" -ge 450 ]
	state_is a down
	wait_until 10 gone "$pid"
	wait_until 10 group_gone "$pgid"
	run grep '^death=' "$RUN/status/a"
	assert_line --index 0 --regexp '^death=[0-9]+ signal=KILL '
}

# --- resources ---

@test "faults: on a full RUNDIR the supervisor keeps supervising; the status catches up later" {
	local t=$BATS_TEST_TMPDIR
	mkdir -m 700 "$RUN"
	mount -t tmpfs -o size=256k,mode=0700 tmpfs "$RUN" 2>/dev/null ||
		skip "cannot mount a tmpfs"
	RUN_MOUNTED=1
	make_service a "echo \$\$ >> '$t/a.pids'; exec sleep 1000"
	start_supervise
	wait_until 10 up_alive a
	local p1
	p1=$(service_pid a)
	dd if=/dev/zero of="$RUN/filler" bs=4k 2>/dev/null || true
	assert_equal "$(df --output=avail "$RUN" | tail -n 1 | tr -d ' ')" 0
	kill -KILL "$p1"
	# restarted: a new process, the supervisor's child, although no status can be written
	wait_until 10 lines_at_least "$t/a.pids" 2
	local p2
	p2=$(tail -n 1 "$t/a.pids")
	[ "$p2" != "$p1" ]
	wait_until 10 alive "$p2"
	assert_equal "$(stat_field "$p2" 4)" "$SUP_PID"
	wait_until 10 log_has "unable to write the status of a"
	alive "$SUP_PID"
	# space again: the next change is written
	rm -f "$RUN/filler"
	kill -KILL "$p2"
	wait_until 10 lines_at_least "$t/a.pids" 3
	local p3
	p3=$(tail -n 1 "$t/a.pids")
	wait_until 20 pid_is a "$p3"
	wait_until 10 up_alive a
	run svctl status a
	assert_success
	assert_output --regexp "^a: up \\(pid $p3\\) "
}

@test "faults: out of file descriptors (EMFILE) the supervisor goes on; the rest start once it has some" {
	local names=() n
	for n in $(seq -w 1 30); do
		# a readiness pipe per start, and an output FIFO per service: descriptors the
		# supervisor must find for each
		make_service "s$n" 'echo >&5; exec sleep 1000' notification-fd=5
		names+=("s$n")
	done
	# a hard limit of 40 (the supervisor raises its soft limit to the hard one, and this
	# machine may not let root raise a hard limit later): some services start, the
	# others fail with EMFILE
	(ulimit -n 40 && exec "$BIN/supervise" -f -d "$SV" -r "$RUN" 2>>"$SUPLOG" 3>&-) &
	SUP_PID=$!
	wait_until 10 grep -q 'started (pid' "$SUPLOG"
	wait_until 10 log_has "Too many open files"
	wait_until 10 up_at_least 1 "${names[@]}"
	local up
	up=$(count_state up "${names[@]}")
	echo "up with 40 descriptors: $up of 30" >&3
	[ "$up" -lt 30 ]
	alive "$SUP_PID"
	run svctl status
	assert_success
	assert_output --partial 'Too many open files'
	# descriptors come back when services go: the remaining 15 all start
	for n in $(seq 16 30); do
		rm -rf "$SV/s$n"
	done
	wait_until 20 up_at_least 15 "${names[@]:0:15}"
	for n in "${names[@]:0:15}"; do
		alive "$(service_pid "$n")"
	done
	alive "$SUP_PID"
}

# uptime_s: seconds since boot, from /proc/uptime: no wall clock involved.
uptime_s() {
	cut -d' ' -f1 /proc/uptime
}

starts_at_least() {
	[ "$(wc -l < "$SV/jumpy/starts" 2>/dev/null || echo 0)" -ge "$1" ]
}

# gap N: seconds between start N-1 and start N (lines of the starts file).
gap() {
	awk -v n="$1" 'NR == n - 1 { a = $1 } NR == n { printf "%.2f", $1 - a }' "$SV/jumpy/starts"
}

@test "faults: wall clock jumps, forward and back, neither shorten nor stretch a backoff" {
	command -v cc >/dev/null || skip "needs a C compiler for the clock shim"
	cc -shared -fPIC -o "$BATS_TEST_TMPDIR/clockjump.so" "$BATS_TEST_DIRNAME/clockjump.c" -ldl
	echo 0 > "$BATS_TEST_TMPDIR/jump"
	# every start notes the time since boot, then the service dies at once
	make_service jumpy "cut -d' ' -f1 /proc/uptime >> \"\$PWD/starts\"; exit 1"
	# (ASAN_OPTIONS: under make test SAN=1, AddressSanitizer would refuse a preloaded
	# library ahead of its own)
	CLOCKJUMP_FILE="$BATS_TEST_TMPDIR/jump" LD_PRELOAD="$BATS_TEST_TMPDIR/clockjump.so" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		"$BIN/supervise" -f -d "$SV" -r "$RUN" 2>>"$SUPLOG" 3>&- &
	SUP_PID=$!
	# starts at 0, 1 (spacing), 2 (1 s after the 2nd death); then 2 s, then 4 s waits
	wait_until 15 starts_at_least 3
	echo 3600 > "$BATS_TEST_TMPDIR/jump" # an hour forward: must not cut the 2 s short
	wait_until 15 starts_at_least 4
	echo -3600 > "$BATS_TEST_TMPDIR/jump" # and back, two hours: must not stretch the 4 s
	wait_until 15 starts_at_least 5
	local g4 g5
	g4=$(gap 4)
	g5=$(gap 5)
	echo "gaps after the jumps: $g4 s (2 s due), $g5 s (4 s due)" >&3
	awk -v g="$g4" 'BEGIN { exit !(g >= 1.8 && g < 4) }'
	awk -v g="$g5" 'BEGIN { exit !(g >= 3.8 && g < 7) }'
	kill -0 "$SUP_PID"
}
