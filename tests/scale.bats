#!/usr/bin/env bats
# What a faster loop tends to break: a deadline and a death in the same pass, a service
# removed while its timer is pending, a pid reused by another service after a reap, many
# services started and stopped at once, an exec failure among many parallel starts.

load helpers

alive() {
	kill -0 "$1" 2>/dev/null
}

all_state() {
	local want=$1 n
	shift
	for n; do
		state_is "$n" "$want" || return 1
	done
}

@test "scale: a stop whose timeout-kill falls due as the service exits ends down, every time" {
	# exits 50 ms after TERM; SIGKILL due after 50 ms: death and deadline in one pass
	make_service racer 'trap "sleep 0.05; exit 0" TERM; while :; do sleep 0.01; done' timeout-kill=50
	start_supervise
	local i
	for i in $(seq 1 15); do
		svctl -w 10 start racer
		svctl -w 10 stop racer
		state_is racer down
		[ "$(status_field racer pid)" = 0 ]
	done
	alive "$SUP_PID"
	# shellcheck disable=SC2009 # the states of one process's children: pgrep does not say
	run ! grep -q Z <<< "$(ps -o stat= --ppid "$SUP_PID")" # no zombie left
}

@test "scale: a service removed while its restart timer is pending is forgotten, never started" {
	# shellcheck disable=SC2016 # the service's shell expands it, when it runs
	make_service crashy 'echo x >> "$0.starts"; exit 1'
	start_supervise
	# the second death in a row within 10 s: the next try waits 1 s, then 2 s...
	wait_until 20 grep -q 'restarting in [0-9]* ms' "$SUPLOG"
	wait_until 20 state_is crashy backoff
	local starts
	starts=$(wc -l < "$SV/crashy/run.starts")
	mv "$SV/crashy" "$BATS_TEST_TMPDIR/crashy.gone"
	wait_until 5 log_has 'crashy: forgotten'
	sleep 5 # past every deadline it had
	[ "$(wc -l < "$BATS_TEST_TMPDIR/crashy.gone/run.starts")" = "$starts" ]
	[ ! -e "$RUN/status/crashy" ]
	alive "$SUP_PID"
	run svctl status
	assert_success
}

@test "scale: a pid reused by another service after a reap belongs to that service" {
	[ "$(id -u)" = 0 ] || skip "needs root (a PID namespace, ns_last_pid)"
	# in a PID namespace of its own, the next pid can be chosen: service b is made to
	# get the pid that service a had
	local script=$BATS_TEST_TMPDIR/ns.sh
	make_sleeper a
	make_sleeper b
	cat > "$script" <<-SCRIPT
		set -e
		svctl() { "$BIN/svctl" -d "$SV" -r "$RUN" "\$@"; }
		"$BIN/supervise" -d "$SV" -r "$RUN"
		svctl -w 10 wait up a b
		pa=\$(sed -n 's/^pid=//p' "$RUN/status/a")
		svctl -w 10 stop a
		sleep 1.2 # b's restart below is then not held back by the spacing between starts
		mkfifo "$BATS_TEST_TMPDIR/never"
		exec 9<>"$BATS_TEST_TMPDIR/never"
		# no fork from here until b has restarted: the next pids are the start's
		# intermediate (pa - 1, a's intermediate's, free) and the service (pa)
		echo \$((pa - 2)) > /proc/sys/kernel/ns_last_pid
		printf '\\nrestart b\\n' > "$RUN/control"
		read -r -t 2 -u 9 _ || true
		pb=\$(sed -n 's/^pid=//p' "$RUN/status/b")
		echo "a had \$pa, b now \$pb"
		[ "\$pb" = "\$pa" ]
		kill -9 "\$pb"
		sleep 1.5
		svctl status a b
		grep -q '^state=down' "$RUN/status/a"
		grep -q '^restarts=1' "$RUN/status/b"
		svctl -w 10 wait up b
		svctl shutdown
	SCRIPT
	run timeout 60 unshare --pid --fork --mount-proc --kill-child bash "$script"
	echo "$output"
	assert_success
	assert_output --partial 'a: down'
	assert_output --regexp 'b: (up|starting|backoff)'
}

@test "scale: 2000 services start at once and one shutdown stops them all, no zombie" {
	local i names=()
	for i in $(seq -w 1 2000); do
		mkdir -p "$SV/.t/s$i"
		printf '#!/bin/sh\nexec sleep 1000\n' > "$SV/.t/s$i/run"
		chmod +x "$SV/.t/s$i/run"
		names+=("s$i")
	done
	mv "$SV/.t"/* "$SV/" && rmdir "$SV/.t"
	start_supervise
	wait_until 120 all_state up "${names[@]}"
	[ "$(ls "/proc/$SUP_PID/task/$SUP_PID/children" >/dev/null && wc -w < "/proc/$SUP_PID/task/$SUP_PID/children")" -ge 2000 ]
	local t0 t1
	t0=$(now_ms)
	run timeout 120 "$BIN/svctl" -d "$SV" -r "$RUN" -w 100 shutdown
	assert_success
	t1=$(now_ms)
	echo "shutdown of 2000: $((t1 - t0)) ms" >&3
	run ! alive "$SUP_PID"
	SUP_PID=
	for i in "${names[@]:0:50}"; do
		grep -q '^state=down' "$RUN/status/$i"
	done
}

@test "scale: an exec failure among many parallel starts is reported for the right service" {
	local i names=()
	for i in $(seq -w 1 200); do
		make_sleeper "s$i"
		names+=("s$i")
	done
	make_service broken 'exit 0'
	printf '#!/nonexistent/interpreter\n' > "$SV/broken/run"
	start_supervise
	wait_until 60 all_state up "${names[@]}"
	wait_until 20 state_is broken failed
	run status_field broken reason
	assert_output --partial 'No such file or directory'
	for i in "${names[@]}"; do
		[ -z "$(status_field "$i" reason)" ]
	done
}
