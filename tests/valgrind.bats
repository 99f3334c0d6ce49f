#!/usr/bin/env bats
# The supervisor under valgrind's memcheck through a scripted scenario (services of every
# kind; status, start, stop, restart, signal, once, wait; malformed control lines; a
# service directory added and one removed; HUP; shutdown), and svctl under memcheck: no
# memory error, no definite leak. Skipped when valgrind is missing or the binaries are
# built with the sanitizers (make test SAN=1), which cannot run under valgrind.
#
# Valgrind runs clone(CLONE_VM|CLONE_VFORK) as a fork: it drops CLONE_VM (see
# ML_(do_fork_clone) in coregrind/m_syswrap/syswrap-linux.c). spawn.c does not rely on the
# memory it shares with its children for what they report (a pipe carries it), so
# services start under valgrind too, and the whole scenario runs.
load helpers

VG_COMMON=(--error-exitcode=99 --leak-check=full)
VG_SUP=("${VG_COMMON[@]}" --errors-for-leak-kinds=definite --track-fds=no --trace-children=no)

setup() {
	SV=$BATS_TEST_TMPDIR/sv
	RUN=$BATS_TEST_TMPDIR/run
	SUPLOG=$BATS_TEST_TMPDIR/supervise.stderr
	SUP_PID=
	mkdir -p "$SV"
	command -v valgrind >/dev/null ||
		skip "valgrind is not installed (apt-get install valgrind)"
	if [ "$(cat "$BIN/.flavour" 2>/dev/null)" = obj-san ] ||
		grep -qa __asan_init "$BIN/supervise" "$BIN/svctl"; then
		skip "the binaries are built with AddressSanitizer (make SAN=1): not for valgrind"
	fi
}

teardown() {
	kill_test_groups
	cleanup_all
	# anything of this test that outlived its supervisor, by process group
	kill_test_groups
}

# Kills the process group of every process whose working directory is in this test's
# SVDIR: services the supervisor could not keep track of (see above), by process group.
kill_test_groups() {
	local d p cwd g
	for d in /proc/[0-9]*; do
		cwd=$(readlink "$d/cwd" 2>/dev/null) || continue
		case $cwd in
		"$SV"/*) ;;
		*) continue ;;
		esac
		p=${d#/proc/}
		g=$(ps -o pgid= -p "$p" 2>/dev/null | tr -d ' ')
		[ -n "$g" ] && [ "$g" -gt 1 ] && kill -KILL -- "-$g" 2>/dev/null
	done
	return 0
}

note() {
	echo "# $*" >&3
}

has_status() {
	[ -f "$RUN/status/$1" ]
}

no_status() {
	[ ! -e "$RUN/status/$1" ]
}

# The service's state is one of the given ones.
state_in() {
	local st
	st=$(status_field "$1" state)
	shift
	[[ " $* " == *" $st "* ]]
}

# vg_svctl LOG ARGS...: svctl under memcheck, valgrind's report (and svctl's stderr) in LOG.
vg_svctl() {
	local log=$1
	shift
	valgrind "${VG_COMMON[@]}" "$BIN/svctl" -d "$SV" -r "$RUN" "$@" 2>"$log"
}

more_than() {
	[ "$(suplog_count "$1")" -gt "$2" ]
}

# check_valgrind_log FILE PID: memcheck of process PID found nothing (its own summary
# lines), nor did it in any process forked under valgrind (other pids in FILE).
check_valgrind_log() {
	local log=$1 pid=$2
	grep -q "^==$pid== ERROR SUMMARY: 0 errors from 0 contexts" "$log" || {
		echo "valgrind ($pid): no clean ERROR SUMMARY in $log:" >&2
		grep -E '^==[0-9]+==' "$log" | tail -n 60 >&2
		return 1
	}
	if grep -E '^==[0-9]+== ERROR SUMMARY: [1-9]' "$log" >&2; then
		echo "valgrind: errors in $log" >&2
		grep -E '^==[0-9]+==' "$log" | head -n 200 >&2
		return 1
	fi
	if grep -E 'definitely lost: [0-9,]*[1-9]' "$log" >&2; then
		echo "valgrind: definite leaks in $log" >&2
		grep -E '^==[0-9]+==' "$log" | head -n 200 >&2
		return 1
	fi
	if grep -E 'Unsupported clone|does not support|Valgrind.*(panic|assertion)' "$log" >&2; then
		echo "valgrind: it could not run the program" >&2
		return 1
	fi
}

@test "supervise under valgrind memcheck: a whole scenario, no error, no definite leak" {
	local svlog_bin=$BIN/svlog vg_pid rc before
	make_sleeper sleeper
	make_service crasher 'exit 1'
	# shellcheck disable=SC2016 # the finish script's own arguments
	make_service finisher 'exec sleep 1000' \
		finish='#!/bin/sh
echo "finish $1 $2" >> finish.out'
	chmod +x "$SV/finisher/finish"
	mkdir -p "$SV/.logged.tmp/log"
	printf '#!/bin/sh\nexec "%s" ./main\n' "$svlog_bin" > "$SV/.logged.tmp/log/run"
	printf '#!/bin/sh\necho hello from logged\nexec sleep 1000\n' > "$SV/.logged.tmp/run"
	chmod +x "$SV/.logged.tmp/run" "$SV/.logged.tmp/log/run"
	mv "$SV/.logged.tmp" "$SV/logged"
	make_sleeper downer down=

	valgrind "${VG_SUP[@]}" "$BIN/supervise" -f -d "$SV" -r "$RUN" 2>"$SUPLOG" 3>&- &
	SUP_PID=$!
	vg_pid=$SUP_PID # valgrind execs the tool, which runs supervise: one pid, in its log
	wait_until 30 test -p "$RUN/control"
	wait_until 30 grep -q 'started (pid' "$SUPLOG"
	local s
	for s in sleeper crasher finisher logged logged:log downer; do
		wait_until 30 has_status "$s"
	done

	# spawning works under valgrind too (it runs the clones as forks: see the top)
	wait_until 30 is_up sleeper
	wait_until 30 is_up logged
	wait_until 30 is_up logged:log
	wait_until 30 is_up finisher
	wait_until 30 grep -q 'hello from logged' "$SV/logged/log/main/current"
	wait_until 30 state_in crasher up backoff down failed
	assert_equal "$(status_field downer state)" down

	run svctl status
	assert_success
	for s in sleeper crasher finisher logged logged/log downer; do
		assert_line --regexp "^$s: "
	done
	run svctl status --json
	assert_success
	assert_output --partial '"name":"downer"'

	# start, stop, restart, signal, once, wait
	run svctl -w 30 start downer
	assert_success
	wait_until 30 is_up downer
	run svctl -w 30 stop sleeper
	assert_success
	wait_until 30 state_is sleeper down
	run svctl -w 30 restart finisher
	assert_success
	wait_until 30 grep -q '^finish ' "$SV/finisher/finish.out"
	run svctl signal USR1 logged
	assert_success
	run svctl signal HUP sleeper # down: refused, "not running"
	assert_failure 1
	assert_output --partial 'not running'
	run svctl once crasher
	assert_success
	run svctl -w 30 wait down crasher
	assert_success
	run svctl -w 30 stop crasher
	assert_success
	run svctl -w 30 wait down crasher sleeper
	assert_success
	run svctl -w 30 start no-such-service
	assert_failure 1
	assert_output --partial 'no such service'

	# malformed lines: junk, an over-long line, an unknown verb
	before=$(suplog_count 'refused command')
	printf 'junk\001here\n' > "$RUN/control"
	wait_until 30 more_than 'refused command' "$before"
	head -c 6000 /dev/zero | tr '\0' x > "$RUN/control.long"
	printf '\n' >> "$RUN/control.long"
	cat "$RUN/control.long" > "$RUN/control"
	wait_until 30 more_than 'refused command' "$((before + 1))"
	printf 'frobnicate sleeper\n' > "$RUN/control"
	wait_until 30 more_than 'refused command' "$((before + 2))"
	run svctl status sleeper
	assert_success

	# a service directory added, one removed
	make_sleeper added
	wait_until 30 has_status added
	rm -rf "$SV/downer"
	wait_until 30 no_status downer
	# HUP rescans
	kill -HUP "$SUP_PID"
	wait_until 30 grep -q 'got HUP: rescanning' "$SUPLOG"
	run svctl status added
	assert_success

	run svctl -w 30 shutdown
	assert_success
	wait_until 30 sup_gone
	rc=0
	wait "$SUP_PID" || rc=$?
	SUP_PID=
	note "valgrind of supervise: $(grep -E 'ERROR SUMMARY|definitely lost|All heap blocks' "$SUPLOG" |
		sed 's/^==[0-9]*== *//' | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
	check_valgrind_log "$SUPLOG" "$vg_pid"
	assert_equal "$rc" 0
	grep -q 'exiting' "$SUPLOG"
}

@test "svctl under valgrind memcheck: status and start, no error, no leak" {
	make_sleeper web down=
	start_supervise
	local log=$BATS_TEST_TMPDIR/svctl-vg
	run vg_svctl "$log.status" status
	assert_success
	assert_output --regexp '^web: down'
	check_valgrind_log "$log.status" "$(grep -m1 -o '^==[0-9]*==' "$log.status" | tr -d =)"
	run vg_svctl "$log.start" -w 30 start web
	assert_success
	wait_until 30 is_up web
	check_valgrind_log "$log.start" "$(grep -m1 -o '^==[0-9]*==' "$log.start" | tr -d =)"
	note "valgrind of svctl: $(grep -hE 'ERROR SUMMARY|definitely lost|All heap blocks' "$log".* |
		sed 's/^==[0-9]*== *//' | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
}
