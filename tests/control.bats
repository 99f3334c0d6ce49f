#!/usr/bin/env bats
# The control FIFO: bad input is refused and logged and never stops or stalls the
# supervisor; good commands from well-behaved clients always get through.
load helpers

teardown() {
	# a test that stopped the supervisor must not leave it stopped for cleanup_all
	if [ -n "${SUP_PID:-}" ]; then kill -CONT "$SUP_PID" 2>/dev/null || true; fi
	cleanup_all
}

alive() {
	local st
	kill -0 "$1" 2>/dev/null || return 1
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}

# Bytes waiting in the control FIFO (FIONREAD through a reader of our own that reads
# nothing).
fifo_queued() {
	perl -e 'use Fcntl; eval { require "sys/ioctl.ph" };
		my $req = defined(&FIONREAD) ? &FIONREAD() : 0x541B;
		sysopen(my $f, $ARGV[0], O_RDONLY | O_NONBLOCK) or die "open: $!";
		my $n = pack("i", 0);
		ioctl($f, $req, $n) or die "ioctl: $!";
		print unpack("i", $n), "\n";' "$RUN/control"
}

# The supervisor has read everything written to its FIFO so far.
drained() {
	[ "$(fifo_queued)" = 0 ]
}

# bg_svctl ARGS...: svctl in the background, itself (not a subshell) in $!.
bg_svctl() {
	"$BIN/svctl" -d "$SV" -r "$RUN" "$@" >/dev/null 2>&1 3>&- &
}

refusals() {
	suplog_count 'refused command'
}

more_refusals_than() {
	[ "$(refusals)" -gt "$1" ]
}

# Two services: a up, b normally down. Sets A_PID and REFUSED (refusals so far).
two_services() {
	make_sleeper a
	make_sleeper b down=
	start_supervise
	wait_until 10 up_and_alive a
	wait_until 10 state_is b down
	A_PID=$(service_pid a)
	REFUSED=$(refusals)
}

# The supervisor is alive, a still runs untouched, b is as it was (B_STATE, B_PID),
# and the supervisor obeys a command (restart b). Then updates REFUSED.
still_works() {
	kill -0 "$SUP_PID"
	run svctl -w 10 wait up a
	assert_success
	assert_equal "$(service_pid a)" "$A_PID"
	up_and_alive a
	assert_equal "$(status_field b state)" "$B_STATE"
	assert_equal "$(service_pid b)" "$B_PID"
	run svctl -w 10 restart b
	assert_success
	up_and_alive b
	[ "$(service_pid b)" != "$B_PID" ]
	assert_equal "$(service_pid a)" "$A_PID"
	REFUSED=$(refusals)
}

# send BYTES...: raw bytes to the control FIFO as printf prints them; waits until the
# supervisor has read them all.
send() {
	# shellcheck disable=SC2059 # the format is the argument: the escapes are the bytes
	printf "$@" > "$RUN/control"
	wait_until 10 drained
}

# refused LINE...: sends the raw input, which must be refused and logged; the
# supervisor must go on working and nothing may have changed.
refused() {
	B_STATE=$(status_field b state)
	B_PID=$(service_pid b)
	send "$@"
	wait_until 10 more_refusals_than "$REFUSED"
	still_works
}

@test "an unknown verb is refused and logged" {
	two_services
	refused 'bogus a\n'
	grep -q 'refused command.*bogus' "$SUPLOG"
}

@test "a bad service name is refused and logged" {
	two_services
	refused 'start ../b\n'
	grep -q 'refused command.*\.\./b' "$SUPLOG"
}

@test "a command without its service name is refused" {
	two_services
	refused 'start\n'
}

@test "signal without a signal or without a service is refused" {
	two_services
	refused 'signal\n'
	# a HUP sent anywhere would kill a (sleep dies of HUP): its pid must not change
	refused 'signal HUP\n'
}

@test "an unknown signal is refused" {
	two_services
	refused 'signal BOGUS a\n'
	refused 'signal 99999 a\n'
}

@test "binary junk is refused and the supervisor goes on" {
	two_services
	B_STATE=$(status_field b state)
	B_PID=$(service_pid b)
	head -c 3000 /dev/urandom > "$RUN/control"
	wait_until 10 drained
	wait_until 10 more_refusals_than "$REFUSED"
	still_works
}

@test "an over-long line without a newline is dropped, not executed" {
	two_services
	# a valid command padded past PIPE_BUF: none of it may be acted upon
	refused 'stop a%10000s' ''
}

@test "an over-long line with a newline is refused, not executed in part" {
	two_services
	refused 'stop a%10000s\n' ''
	# and the line after it, sent separately, is read as a line of its own
	run svctl -w 10 stop a
	assert_success
	state_is a down
}

@test "a NUL byte inside a line is refused" {
	two_services
	# a parser that stops at the NUL would see "stop a"
	refused 'stop a\0b\n'
}

@test "a client that opens the FIFO and never writes does not stall the supervisor" {
	two_services
	sleep 1000 7>"$RUN/control" 3>&- &
	EXTRA_PIDS="${EXTRA_PIDS:-} $!"
	local holder=$!
	wait_until 10 test -e "/proc/$holder/fd/7"
	run svctl -w 10 stop a
	assert_success
	state_is a down
	run svctl -w 10 start a
	assert_success
	up_and_alive a
	kill "$holder"
	run svctl -w 10 restart a
	assert_success
	up_and_alive a
}

@test "an unterminated fragment of a dead client does not spoil the next command" {
	two_services
	printf 'sta' > "$RUN/control"
	wait_until 10 drained
	run svctl -w 10 stop a
	assert_success
	state_is a down
	grep -q 'refused command' "$SUPLOG"
}

@test "a fragment does not spoil a command queued right behind it" {
	two_services
	# the supervisor is slow (stopped here): the fragment and the next client's
	# command are both in the FIFO when it reads
	kill -STOP "$SUP_PID"
	printf 'sta' > "$RUN/control"
	bg_svctl -w 3 stop a
	local client=$!
	EXTRA_PIDS="${EXTRA_PIDS:-} $client"
	# shellcheck disable=SC2016 # expanded by eval, at each try
	wait_until 10 eval '[ "$(fifo_queued)" -gt 3 ]'
	kill -CONT "$SUP_PID"
	wait_until 15 eval '! kill -0 '"$client"
	wait "$client"
	state_is a down
}

@test "a plain command without a reply id is obeyed" {
	two_services
	printf 'stop a\n' > "$RUN/control"
	wait_until 10 state_is a down
	wait_until 10 eval '! alive '"$A_PID"
	printf 'start b\n' > "$RUN/control"
	wait_until 10 up_and_alive b
	assert_equal "$(refusals)" "$REFUSED"
}

@test "concurrent clients all get their answer and the final states are right" {
	local n pid
	for n in c1 c2 c3; do make_sleeper "$n"; done
	make_sleeper c4 down=
	start_supervise
	for n in c1 c2 c3; do wait_until 10 up_and_alive "$n"; done
	wait_until 10 state_is c4 down
	local p1 p2 p3
	p1=$(service_pid c1)
	p2=$(service_pid c2)
	p3=$(service_pid c3)
	local pids=()
	for _ in 1 2 3 4; do
		bg_svctl -w 20 restart c1; pids+=($!)
		bg_svctl -w 20 restart c2; pids+=($!)
		bg_svctl -w 20 start c3; pids+=($!)
		bg_svctl -w 20 start c4; pids+=($!)
		bg_svctl status; pids+=($!)
	done
	EXTRA_PIDS="${EXTRA_PIDS:-} ${pids[*]}"
	local failed=0
	for pid in "${pids[@]}"; do
		wait "$pid" || failed=$((failed + 1))
	done
	assert_equal "$failed" 0
	for n in c1 c2 c3 c4; do up_and_alive "$n"; done
	[ "$(service_pid c1)" != "$p1" ]
	[ "$(service_pid c2)" != "$p2" ]
	assert_equal "$(service_pid c3)" "$p3"
	run svctl status c1 c2 c3 c4
	assert_success
	assert_equal "${#lines[@]}" 4
	assert_equal "$(refusals)" 0
}

@test "a reply id that does not exist: the command applies, the supervisor goes on" {
	two_services
	printf '@nosuch stop a\n' > "$RUN/control"
	wait_until 10 state_is a down
	kill -0 "$SUP_PID"
	run svctl -w 10 start a
	assert_success
	up_and_alive a
}

@test "a reply id that is not a FIFO: the command applies, the file is not written" {
	two_services
	: > "$RUN/reply/plain"
	printf '@plain stop a\n' > "$RUN/control"
	wait_until 10 state_is a down
	[ ! -s "$RUN/reply/plain" ]
	kill -0 "$SUP_PID"
	run svctl -w 10 start a
	assert_success
	up_and_alive a
}

@test "a reply FIFO nobody reads: the command applies, the supervisor goes on" {
	two_services
	mkfifo "$RUN/reply/orphan"
	printf '@orphan +5000 stop a\n' > "$RUN/control"
	wait_until 10 state_is a down
	kill -0 "$SUP_PID"
	run svctl -w 10 start a
	assert_success
	up_and_alive a
}

@test "a waiting client that dies before its answer does not disturb the supervisor" {
	# ignores TERM: the stop takes timeout-kill, and the client is gone by then
	make_service slow 'trap "" TERM; exec sleep 1000' timeout-kill=1500
	make_sleeper other
	start_supervise
	wait_until 10 up_and_alive slow
	wait_until 10 up_and_alive other
	local other
	other=$(service_pid other)
	bg_svctl -w 5 stop slow
	local client=$!
	EXTRA_PIDS="${EXTRA_PIDS:-} $client"
	wait_until 10 state_is slow stopping
	kill -KILL "$client"
	wait_until 10 state_is slow down
	kill -0 "$SUP_PID"
	run svctl -w 10 start slow
	assert_success
	up_and_alive slow
	assert_equal "$(service_pid other)" "$other"
	run svctl -w 10 restart other
	assert_success
	up_and_alive other
}
