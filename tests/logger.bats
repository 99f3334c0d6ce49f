#!/usr/bin/env bats
# Logger services: a service directory NAME with an executable log/run gets a logger
# service NAME/log, fed through the FIFO RUN/pipe/NAME that the supervisor holds open, so
# that no line is lost when either side restarts. The logger starts first and stops last.
# Also: runit / s6 style service directories (exec 2>&1, finish, down, env/, svlog -t).
load helpers

# make_logged NAME 'run body' 'log/run body' [PATH=content...]: a service with a logger;
# run and log/run are /bin/sh scripts; PATH (relative to the service directory, e.g.
# env/FOO or down) is written with content as is (no newline added); a finish is made
# executable. The directory appears in SVDIR at once, complete.
make_logged() {
	local name=$1 run=$2 logrun=$3 tmp="$SV/.$1.tmp-logged" kv
	shift 3
	mkdir -p "$tmp/log"
	printf '#!/bin/sh\n%s\n' "$run" > "$tmp/run"
	printf '#!/bin/sh\n%s\n' "$logrun" > "$tmp/log/run"
	chmod +x "$tmp/run" "$tmp/log/run"
	for kv in "$@"; do
		mkdir -p "$(dirname "$tmp/${kv%%=*}")"
		printf '%s' "${kv#*=}" > "$tmp/${kv%%=*}"
		if [ "${kv%%=*}" = finish ]; then
			chmod +x "$tmp/finish"
		fi
	done
	mv "$tmp" "$SV/$name"
}

up_with_pid() {
	is_up "$1" && pid_changed "$1" 0
}

# line_of PATTERN: the number of the first line of the supervisor's log holding PATTERN
# (a fixed string).
line_of() {
	grep -n -F -m 1 -- "$1" "$SUPLOG" | cut -d: -f1
}

file_has() {
	grep -q -F -x -- "$2" "$1"
}

# The whole log of an svlog directory, rotated files first: in order.
whole_log() {
	local f
	for f in "$1"/@*.s "$1"/current; do
		[ -f "$f" ] && cat "$f"
	done
	return 0
}

# --- plumbing ---

@test "logger: the main's stdout and stderr, with and without exec 2>&1, arrive in log/main/current" {
	make_logged web 'echo out-1; echo err-1 >&2; exec 2>&1; echo err-2 >&2; echo out-2; exec sleep 1000' \
		"exec '$BIN/svlog' ./main"
	start_supervise
	wait_until 10 both_up web
	wait_until 10 file_has "$SV/web/log/main/current" out-2
	run cat "$SV/web/log/main/current"
	assert_output "$(printf 'out-1\nerr-1\nerr-2\nout-2')"
	# nothing of it went to the supervisor's own log file for the service
	run cat "$RUN/log/web/current"
	refute_output --partial out-1
}

@test "logger: the main's stdout and stderr and the logger's stdin are the FIFO RUN/pipe/NAME" {
	make_logged web 'exec sleep 1000' "exec '$BIN/svlog' ./main"
	start_supervise
	wait_until 10 both_up web
	local main logger fifo
	main=$(service_pid web)
	logger=$(service_pid web:log)
	fifo=$(readlink -f "$RUN/pipe/web")
	[ -p "$RUN/pipe/web" ]
	[ "$(readlink -f "/proc/$main/fd/1")" = "$fifo" ]
	[ "$(readlink -f "/proc/$main/fd/2")" = "$fifo" ]
	[ "$(readlink -f "/proc/$logger/fd/0")" = "$fifo" ]
	# the supervisor holds it open itself, so neither side's restart closes it
	run ls -l "/proc/$SUP_PID/fd"
	assert_output --partial "$fifo"
}

@test "logger: the logger's own stdout and stderr go to RUN/log/NAME:log/current" {
	make_logged web 'echo from-main; exec sleep 1000' \
		"echo logger-stdout; echo logger-stderr >&2; exec '$BIN/svlog' ./main"
	start_supervise
	wait_until 10 both_up web
	wait_until 10 file_has "$RUN/log/web:log/current" logger-stderr
	run cat "$RUN/log/web:log/current"
	assert_output "$(printf 'logger-stdout\nlogger-stderr')"
	wait_until 10 file_has "$SV/web/log/main/current" from-main
	run svctl log web/log
	assert_success
	assert_output "$(printf 'logger-stdout\nlogger-stderr')"
}

# --- no line lost, none split ---

# The writer: numbered lines as fast as it can; the counter file holds the last number
# whose line was written whole (a line of less than PIPE_BUF is one atomic write), so
# every number from 1 to the counter's must be in the log exactly once, in order. TERM
# (stop, restart) ends it between two lines: the trap runs once the current command is done.
LOSSLESS_PAD=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ

# The writer's counter; a read that falls between its truncation and its write is retried.
counter_value() {
	local v
	while :; do
		v=$(cat "$COUNTER" 2>/dev/null)
		[ -n "$v" ] || [ ! -e "$COUNTER" ] && break
	done
	echo "${v:-0}"
}

counter_above() {
	[ "$(counter_value)" -gt "$1" ]
}

# The last line of DIR/current is line number N: the logger has read everything.
log_reached() {
	[ "$(tail -n 1 "$1/current" | cut -d' ' -f1)" = "$2" ]
}

@test "logger: no line lost, duplicated or split across 20 restarts of the main and 5 of the logger" {
	COUNTER=$BATS_TEST_TMPDIR/counter
	local dir=$SV/seq/log/main
	make_logged seq "trap 'stop=1' TERM
i=\$(cat '$COUNTER' 2>/dev/null || echo 0)
stop=
while [ -z \"\$stop\" ]; do
	i=\$((i + 1))
	echo \"\$i $LOSSLESS_PAD\" || exit 1
	echo \$i > '$COUNTER'
done
exit 0" "exec '$BIN/svlog' -s 16384 -n 100000 ./main"
	start_supervise
	wait_until 10 both_up seq
	local k old oldlog logger_restarts=0
	for k in $(seq 1 20); do
		# this instance has written lines of its own before it goes
		wait_until 10 counter_above "$(counter_value)"
		old=$(service_pid seq)
		run svctl restart seq
		assert_success
		pid_changed seq "$old"
		if [ $((k % 4)) -eq 2 ]; then
			oldlog=$(service_pid seq:log)
			run svctl restart seq/log
			assert_success
			pid_changed seq:log "$oldlog"
			logger_restarts=$((logger_restarts + 1))
		fi
	done
	[ "$logger_restarts" -eq 5 ]
	wait_until 10 counter_above "$(counter_value)"
	run svctl stop seq
	assert_success
	local n
	n=$(counter_value)
	# the logger has read everything the main wrote, then stops
	wait_until 15 log_reached "$dir" "$n"
	run svctl stop seq/log
	assert_success
	state_is seq:log down
	# rotation happened: the check spans several files
	compgen -G "$dir/@*.s" > /dev/null
	local files
	files=$(find "$dir" -maxdepth 1 -name '@*' | wc -l)
	# every line whole and in the expected format; every number once, in order
	run awk -v n="$n" -v pad="$LOSSLESS_PAD" '
		$0 !~ ("^[0-9]+ " pad "$") { split_lines++; next }
		{
			v = $1 + 0
			if (v != prev + 1) disorder++
			prev = v
			seen[v]++
		}
		END {
			for (i = 1; i <= n; i++) {
				if (!(i in seen)) lost++
				else if (seen[i] > 1) dup += seen[i] - 1
			}
			for (v in seen) if (v + 0 > n || v + 0 < 1) extra++
			printf "expected %d lines: lost %d, duplicated %d, split or malformed %d, out of order %d, unexpected %d\n",
				n, lost, dup, split_lines, disorder, extra
			exit (lost + dup + split_lines + disorder + extra) != 0
		}' < <(whole_log "$dir")
	echo "# $output ($files rotated files)" >&3
	assert_success
}

@test "logger: lines written while the logger is stopped wait in the pipe and arrive when it is back" {
	COUNTER=$BATS_TEST_TMPDIR/counter
	make_logged tick "i=0; while :; do i=\$((i + 1)); echo \"tick \$i\"; echo \$i > '$COUNTER'; sleep 0.05; done" \
		"exec '$BIN/svlog' ./main"
	start_supervise
	wait_until 10 both_up tick
	wait_until 10 file_has "$SV/tick/log/main/current" 'tick 1'
	run svctl stop tick/log
	assert_success
	local at_stop
	at_stop=$(counter_value)
	wait_until 10 counter_above $((at_stop + 10))
	run svctl start tick/log
	assert_success
	local n
	n=$(counter_value)
	wait_until 10 file_has "$SV/tick/log/main/current" "tick $n"
	run awk '$0 != "tick " NR { print "line " NR ": " $0; bad = 1 } END { exit bad }' \
		"$SV/tick/log/main/current"
	assert_success
}

# --- order: the logger starts first and stops last ---

@test "logger: it is started before its service" {
	make_logged web 'exec sleep 1000' "exec '$BIN/svlog' ./main"
	start_supervise
	wait_until 10 both_up web
	local main logger
	main=$(service_pid web)
	logger=$(service_pid web:log)
	wait_until 10 grep -q "web: started (pid $main)" "$SUPLOG"
	[ "$(line_of "web/log: started (pid $logger)")" -lt "$(line_of "web: started (pid $main)")" ]
	# and so is its process (start times in clock ticks)
	[ "$(status_field web:log starttime)" -le "$(status_field web starttime)" ]
}

# Services below that handle TERM ignore it from then on (trap "" TERM, inherited by what
# they run): the stop signal goes to the process and to its process group, so a second
# one may come while the first is being handled.

@test "logger: at shutdown the main is stopped first, its logger last" {
	# the main takes a while to stop, and says goodbye: the logger must still be there
	make_logged web "trap 'trap \"\" TERM; echo goodbye; sleep 0.5; exit 0' TERM; echo hello; sleep 1000 & wait" \
		"exec '$BIN/svlog' ./main"
	start_supervise
	wait_until 10 both_up web
	local main logger
	main=$(service_pid web)
	logger=$(service_pid web:log)
	EXTRA_PIDS="$main $logger"
	wait_until 10 file_has "$SV/web/log/main/current" hello # its trap is set
	run svctl shutdown
	assert_success
	wait_until 10 gone_from_proc "$main"
	wait_until 10 gone_from_proc "$logger"
	local main_stopped log_stopped main_exit log_exit
	main_exit=$(line_of "web: exited")
	main_stopped=$(line_of "web: stopped")
	log_exit=$(line_of "web/log: exited")
	log_stopped=$(line_of "web/log: stopped")
	echo "main exited $main_exit, stopped $main_stopped; logger exited $log_exit, stopped $log_stopped" >&2
	[ -n "$main_stopped" ]
	[ -n "$log_stopped" ]
	[ "$main_exit" -lt "$log_exit" ]
	[ "$main_stopped" -lt "$log_stopped" ]
	run cat "$SV/web/log/main/current"
	assert_output "$(printf 'hello\ngoodbye')"
}

@test "logger: at shutdown every line the main writes while it stops reaches the log" {
	# the main answers TERM with a burst of 3000 lines and exits; a logger that rotates
	# often (and so fsyncs often) is behind when the main exits
	seq -f "bye %g $LOSSLESS_PAD" 1 3000 > "$BATS_TEST_TMPDIR/burst"
	make_logged web "trap 'trap \"\" TERM; exec cat \"$BATS_TEST_TMPDIR/burst\"' TERM; echo hello; sleep 1000 & wait" \
		"exec '$BIN/svlog' -s 4096 -n 100000 ./main"
	start_supervise
	wait_until 10 both_up web
	wait_until 10 file_has "$SV/web/log/main/current" hello
	# shellcheck disable=SC2034 # read by cleanup_all (helpers.bash) in teardown
	EXTRA_PIDS="$(service_pid web) $(service_pid web:log)"
	run svctl shutdown
	assert_success
	run bash -c "grep -c '^bye ' < <(cat '$SV/web/log/main'/@*.s '$SV/web/log/main/current')"
	echo "# at shutdown: $output of 3000 lines written while stopping reached the log" >&3
	[ "$output" -eq 3000 ]
	run bash -c "cat '$SV/web/log/main'/@*.s '$SV/web/log/main/current' | tail -n 1"
	assert_output "bye 3000 $LOSSLESS_PAD"
}

# --- svctl and NAME/log ---

@test "logger: svctl status NAME/log shows the logger up with its pid" {
	make_logged web 'exec sleep 1000' "exec '$BIN/svlog' ./main"
	start_supervise
	wait_until 10 both_up web
	local logger
	logger=$(service_pid web:log)
	run svctl status web/log
	assert_success
	assert_output --regexp "^web/log: up \\(pid $logger\\) [0-9]+s"
	[ "${#lines[@]}" -eq 1 ]
	run svctl status --json web/log
	assert_success
	assert_output --partial "\"name\":\"web/log\""
	assert_output --partial "\"pid\":$logger"
}

@test "logger: svctl list lists NAME and NAME/log" {
	make_logged web 'exec sleep 1000' "exec '$BIN/svlog' ./main"
	make_sleeper plain
	start_supervise
	wait_until 10 both_up web
	wait_until 10 up_with_pid plain
	run svctl list
	assert_success
	run sort <<< "$output"
	assert_output "$(printf 'plain\nweb\nweb/log')"
}

@test "logger: svctl restart NAME/log gives the logger a new pid; the main keeps its own" {
	COUNTER=$BATS_TEST_TMPDIR/counter
	make_logged web "i=0; while :; do i=\$((i + 1)); echo \"tick \$i\"; echo \$i > '$COUNTER'; sleep 0.05; done" \
		"exec '$BIN/svlog' ./main"
	start_supervise
	wait_until 10 both_up web
	local main logger
	main=$(service_pid web)
	logger=$(service_pid web:log)
	run svctl restart web/log
	assert_success
	pid_changed web:log "$logger"
	is_up web:log
	[ "$(service_pid web)" = "$main" ]
	kill -0 "$main"
	wait_until 10 gone_from_proc "$logger"
	# the new logger carries on with the main's lines
	local n
	n=$(counter_value)
	wait_until 10 file_has "$SV/web/log/main/current" "tick $((n + 2))"
	[ "$(service_pid web)" = "$main" ]
}

@test "logger: removing the service directory stops the main, then the logger, and forgets both" {
	make_logged web "trap 'trap \"\" TERM; echo goodbye; sleep 0.5; exit 0' TERM; echo hello; sleep 1000 & wait" \
		"exec '$BIN/svlog' ./main"
	start_supervise
	wait_until 10 both_up web
	local main logger
	main=$(service_pid web)
	logger=$(service_pid web:log)
	# shellcheck disable=SC2034 # read by cleanup_all (helpers.bash) in teardown
	EXTRA_PGIDS="$(status_field web pgid) $(status_field web:log pgid)"
	wait_until 10 file_has "$SV/web/log/main/current" hello
	# moved out of SVDIR: gone for the supervisor, while its log stays readable here
	mv "$SV/web" "$BATS_TEST_TMPDIR/web.gone"
	wait_until 10 grep -q 'web/log: forgotten' "$SUPLOG"
	wait_until 10 gone_from_proc "$main"
	wait_until 10 gone_from_proc "$logger"
	local main_stopped log_stopped
	main_stopped=$(line_of "web: stopped")
	log_stopped=$(line_of "web/log: stopped")
	[ -n "$main_stopped" ]
	[ -n "$log_stopped" ]
	[ "$main_stopped" -lt "$log_stopped" ]
	[ "$(line_of "web: forgotten")" -lt "$(line_of "web/log: forgotten")" ]
	# the logger was there until the main was done
	run cat "$BATS_TEST_TMPDIR/web.gone/log/main/current"
	assert_output "$(printf 'hello\ngoodbye')"
	# forgotten: no status files, no pipe, not listed
	[ ! -e "$RUN/status/web" ]
	[ ! -e "$RUN/status/web:log" ]
	[ ! -e "$RUN/pipe/web" ]
	run svctl list
	refute_output --partial web
	run svctl status web/log
	assert_failure
}

# --- runit / s6 style service directories ---

# make_runit NAME [PATH=content...]: a service directory as runit and s6 users write it:
# run with exec 2>&1, a line on stderr, then exec of the program ($RUNIT_PROG, default
# sleep), log/run with `exec svlog -t ./main` (svlog found on PATH), and whatever files
# follow (finish, down, env/...).
make_runit() {
	local name=$1 prog=${RUNIT_PROG:-'exec sleep 1000'}
	shift
	make_logged "$name" "exec 2>&1
echo \"starting \$\$\" >&2
$prog" 'exec svlog -t ./main' "$@"
}

# start_supervise_for NAME: the supervisor, ready once NAME's logger is up (NAME itself
# may hold down, and so never say "started").
start_supervise_for() {
	"$BIN/supervise" -f -d "$SV" -r "$RUN" 2>>"$SUPLOG" 3>&- &
	SUP_PID=$!
	wait_until 10 test -p "$RUN/control"
	wait_until 10 test -f "$RUN/status/$1"
	wait_until 10 up_with_pid "$1:log"
}

# A finish that writes its arguments where the test reads them.
finish_script() {
	# shellcheck disable=SC2016 # the finish script's own arguments
	printf '#!/bin/sh\necho "$1 $2" > %s.tmp\nmv %s.tmp %s\n' "$1" "$1" "$1"
}

# the -t stamp: UTC ISO 8601 with microseconds, then a space
STAMP_RE='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z'

@test "runit/s6 style: finish gets the exit code and 0 as signal" {
	export PATH="$BIN:$PATH"
	local args=$BATS_TEST_TMPDIR/finish.args
	# the service exits 3 at once
	RUNIT_PROG='exit 3' make_runit job down= "finish=$(finish_script "$args")"
	start_supervise_for job
	run svctl -w 0 once job
	assert_success
	wait_until 10 test -s "$args"
	run cat "$args"
	assert_output '3 0'
	wait_until 10 state_is job down
	grep -q '^death=[0-9]* exit=3 ' "$RUN/status/job"
}

@test "runit/s6 style: finish gets -1 and the signal number when the service was killed" {
	export PATH="$BIN:$PATH"
	local args=$BATS_TEST_TMPDIR/finish.args
	make_runit job down= "finish=$(finish_script "$args")"
	start_supervise_for job
	run svctl once job
	assert_success
	wait_until 10 up_with_pid job
	kill -KILL "$(service_pid job)"
	wait_until 10 test -s "$args"
	run cat "$args"
	assert_output '-1 9'
	wait_until 10 state_is job down
}

@test "runit/s6 style: a down file keeps the service down until svctl start" {
	export PATH="$BIN:$PATH"
	make_runit web down=
	start_supervise_for web
	wait_until 10 up_with_pid web:log # the logger runs: the main is not normally up
	# a window of time: the main must not start on its own
	sleep 1.5
	state_is web down
	[ "$(status_field web normally)" = down ]
	[ "$(suplog_count 'web: started')" -eq 0 ]
	[ ! -s "$SV/web/log/main/current" ]
	run svctl start web
	assert_success
	wait_until 10 up_with_pid web
	local pid
	pid=$(service_pid web)
	wait_until 10 grep -q -E "^$STAMP_RE starting $pid\$" "$SV/web/log/main/current"
}

@test "runit/s6 style: env/ sets each variable to its file's first line; an empty file unsets it" {
	export PATH="$BIN:$PATH"
	export LOGGER_TEST_GONE=inherited LOGGER_TEST_KEPT=inherited
	# shellcheck disable=SC2016 # expanded by the service's shell
	RUNIT_PROG='echo "FOO=[$FOO] SPACEY=[$SPACEY] EMPTYLINE=[${EMPTYLINE-unset}] GONE=[${LOGGER_TEST_GONE-unset}] KEPT=[${LOGGER_TEST_KEPT-unset}]"; exec sleep 1000' \
		make_runit web \
		"env/FOO=$(printf 'bar baz\nsecond line')" \
		"env/SPACEY=$(printf 'value \t')" \
		"env/EMPTYLINE=$(printf '\n_')" \
		env/LOGGER_TEST_GONE=
	# $(...) drops trailing newlines: EMPTYLINE holds "\n_", whose first line is empty
	start_supervise
	wait_until 10 both_up web
	wait_until 10 grep -q 'FOO=' "$SV/web/log/main/current"
	run grep 'FOO=' "$SV/web/log/main/current"
	assert_output --regexp "^$STAMP_RE FOO=\\[bar baz\\] SPACEY=\\[value\\] EMPTYLINE=\\[\\] GONE=\\[unset\\] KEPT=\\[inherited\\]\$"
}

@test "runit/s6 style: svlog -t stamps each line with the UTC time, ISO 8601 with microseconds" {
	export PATH="$BIN:$PATH"
	RUNIT_PROG='exec testdaemon' make_runit hello
	start_supervise
	wait_until 10 both_up hello
	local log=$SV/hello/log/main/current
	wait_until 10 grep -q -E "^$STAMP_RE .*:hello world\$" "$log"
	# every line stamped: the run's own line (stderr, through exec 2>&1) and the program's
	run grep -c -v -E "^$STAMP_RE " "$log"
	assert_output 0
	grep -q -E "^$STAMP_RE starting [0-9]+\$" "$log"
	# the stamp is now, in UTC
	local stamp now at
	stamp=$(grep -m 1 'hello world' "$log" | cut -d' ' -f1)
	at=$(date -u -d "$stamp" +%s)
	now=$(date -u +%s)
	echo "stamp $stamp ($at), now $now" >&2
	[ $((now - at)) -ge 0 ]
	[ $((now - at)) -le 30 ]
}

@test "logger: wait works on the logger of a service with a 64-byte name (NAME/log is 68 bytes)" {
	local n
	n=$(printf 'a%.0s' $(seq 64))
	# made whole under a dot name, then renamed: the scan sees it with its log/ at once
	mkdir -p "$SV/.new/log"
	printf '#!/bin/sh\nexec sleep 1000\n' > "$SV/.new/run"
	printf '#!/bin/sh\nexec cat >/dev/null\n' > "$SV/.new/log/run"
	chmod +x "$SV/.new/run" "$SV/.new/log/run"
	mv "$SV/.new" "$SV/$n"
	start_supervise
	run svctl -w 10 wait up "$n" "$n/log"
	assert_success
	run svctl status "$n/log"
	assert_output --regexp "^$n/log: up \(pid [0-9]+\)"
}
