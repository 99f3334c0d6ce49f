#!/usr/bin/env bats
# What a service directory may hold besides run: finish, env/, notification-fd, notify
# (sd_notify), pidfile (self-daemonizing services), and the validation of settings files.
load helpers

PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo python3)

# A service directory is built out of SVDIR's sight (a dot name), then published at once.
# new_service NAME; script NAME FILE 'sh body'; setting NAME FILE CONTENT; publish NAME
new_service() {
	mkdir -p "$SV/.$1.tmp-build"
}

script() {
	printf '#!/bin/sh\n%s\n' "$3" > "$SV/.$1.tmp-build/$2"
	chmod +x "$SV/.$1.tmp-build/$2"
}

setting() {
	mkdir -p "$(dirname "$SV/.$1.tmp-build/$2")"
	printf '%s\n' "$3" > "$SV/.$1.tmp-build/$2"
}

publish() {
	mv "$SV/.$1.tmp-build" "$SV/$1"
}

up_with_pid() {
	is_up "$1" && pid_changed "$1" 0
}

ready_is() {
	[ "$(status_field "$1" ready)" = "$2" ]
}

# file_is FILE CONTENT: FILE exists and holds exactly CONTENT (trailing newlines aside).
file_is() {
	[ -f "$1" ] && [ "$(cat "$1")" = "$2" ]
}

text_is() {
	[ "$(status_field "$1" text)" = "$2" ]
}

reason_has() {
	[[ $(status_field "$1" reason) == *"$2"* ]]
}

# A run that exits with CODE the first time and then runs for good.
exit_once() {
	echo "[ -e once ] && exec sleep 1000; touch once; exit $1"
}

# The python sd_notify client: notify.py MESSAGE sends one datagram to $NOTIFY_SOCKET.
make_notify_client() {
	NOTIFY_PY=$BATS_TEST_TMPDIR/notify.py
	cat > "$NOTIFY_PY" <<-'EOF'
		import os, socket, sys
		s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
		s.sendto(sys.argv[1].encode(), os.environ["NOTIFY_SOCKET"])
	EOF
}

# --- finish ---

@test "finish: runs in the service directory as ./finish EXIT SIGNAL after an exit (3 -> '3 0')" {
	new_service f
	script f run "$(exit_once 3)"
	# shellcheck disable=SC2016 # the script expands it when it runs
	script f finish 'echo "$1 $2" >> args; pwd -P > where'
	publish f
	start_supervise
	wait_until 10 test -s "$SV/f/args"
	[ "$(head -n 1 "$SV/f/args")" = "3 0" ]
	[ "$(cat "$SV/f/where")" = "$(cd "$SV/f" && pwd -P)" ]
	wait_until 10 up_with_pid f
	grep -q 'f: finish started (pid' "$SUPLOG"
}

@test "finish: after a death by a signal it gets '-1 SIGNAL' (kill -KILL -> '-1 9')" {
	new_service f
	script f run 'exec sleep 1000'
	# shellcheck disable=SC2016 # the script expands it when it runs
	script f finish 'echo "$1 $2" >> args'
	publish f
	start_supervise
	wait_until 10 up_with_pid f
	local old
	old=$(service_pid f)
	kill -KILL "$old"
	wait_until 10 test -s "$SV/f/args"
	[ "$(head -n 1 "$SV/f/args")" = "-1 9" ]
	wait_until 10 pid_changed f "$old"
	wait_until 10 up_with_pid f
}

@test "finish: runs to its end before the next start of run" {
	new_service f
	# without the wait, the restart 1 s after the first start would come before the
	# finish line, which comes 1.5 s after the death
	script f run "echo run >> order; $(exit_once 1)"
	script f finish 'sleep 1.5; echo finish >> order'
	publish f
	start_supervise
	wait_until 10 test -e "$SV/f/once"
	wait_until 10 file_is "$SV/f/order" "$(printf 'run\nfinish\nrun')"
	wait_until 10 up_with_pid f
	[ "$(cat "$SV/f/order")" = "$(printf 'run\nfinish\nrun')" ]
}

@test "finish: while it runs the state is finishing" {
	new_service f
	script f run "$(exit_once 0)"
	script f finish 'echo $$ > finish.pid; sleep 2'
	publish f
	start_supervise
	wait_until 10 state_is f finishing
	# the process shown is finish's
	wait_until 10 test -s "$SV/f/finish.pid"
	EXTRA_PIDS=$(cat "$SV/f/finish.pid")
	[ "$(service_pid f)" = "$(cat "$SV/f/finish.pid")" ]
	run svctl status f
	assert_output --partial 'f: finishing'
	wait_until 10 up_with_pid f
}

@test "finish: timeout-finish kills a finish that takes too long, and the service restarts" {
	new_service f
	script f run "$(exit_once 1)"
	script f finish 'echo $$ > finish.pid; exec sleep 1000'
	setting f timeout-finish 300
	publish f
	start_supervise
	wait_until 10 test -s "$SV/f/finish.pid"
	local t0 fpid
	t0=$(now_ms)
	fpid=$(cat "$SV/f/finish.pid")
	EXTRA_PIDS=$fpid
	wait_until 10 gone_from_proc "$fpid"
	wait_until 10 up_with_pid f
	# the default (5 s) would keep it finishing much longer
	echo "up again $(($(now_ms) - t0)) ms after finish started" >&2
	[ $(($(now_ms) - t0)) -lt 4000 ]
	grep -q 'f: finish did not end within 300 ms, sending KILL' "$SUPLOG"
}

@test "finish: runs after svctl stop too ('-1 15' for a TERM death)" {
	new_service f
	script f run 'exec sleep 1000'
	# shellcheck disable=SC2016 # the script expands it when it runs
	script f finish 'echo "$1 $2" > args'
	publish f
	start_supervise
	wait_until 10 up_with_pid f
	run svctl stop f
	assert_success
	wait_until 10 test -s "$SV/f/args"
	[ "$(cat "$SV/f/args")" = "-1 15" ]
	wait_until 10 state_is f down
}

# --- env/ ---

@test "env/: a file sets the variable to its first line, trailing blanks trimmed" {
	new_service e
	# shellcheck disable=SC2016 # the script expands it when it runs
	script e run 'printf "%s|" "$GREETING" > out; exec sleep 1000'
	mkdir -p "$SV/.e.tmp-build/env"
	printf 'hello world \t \t\nsecond line\n' > "$SV/.e.tmp-build/env/GREETING"
	publish e
	start_supervise
	wait_until 10 test -s "$SV/e/out"
	[ "$(cat "$SV/e/out")" = "hello world|" ]
}

@test "env/: NUL bytes in the value become newlines" {
	new_service e
	# shellcheck disable=SC2016 # the script expands it when it runs
	script e run 'printf "%s" "$X" > out; exec sleep 1000'
	mkdir -p "$SV/.e.tmp-build/env"
	printf 'a\0b' > "$SV/.e.tmp-build/env/X"
	publish e
	start_supervise
	wait_until 10 test -s "$SV/e/out"
	[ "$(od -An -c "$SV/e/out" | tr -s ' ')" = "$(printf 'a\nb' | od -An -c | tr -s ' ')" ]
}

@test "env/: an empty file unsets a variable the supervisor has" {
	export SVTEST_GONE=present
	new_service e
	# shellcheck disable=SC2016 # the script expands it when it runs
	script e run 'echo "gone=${SVTEST_GONE-unset}" > out; exec sleep 1000'
	mkdir -p "$SV/.e.tmp-build/env"
	: > "$SV/.e.tmp-build/env/SVTEST_GONE"
	publish e
	start_supervise
	wait_until 10 test -s "$SV/e/out"
	[ "$(cat "$SV/e/out")" = "gone=unset" ]
}

@test "env/: other variables are inherited from the supervisor, env/ overrides its own" {
	export SVTEST_KEPT=kept SVTEST_OVER=old
	new_service e
	script e run 'env > env.out; exec sleep 1000'
	setting e env/SVTEST_OVER new
	setting e env/SVTEST_ADDED added
	publish e
	start_supervise
	wait_until 10 grep -q '^SVTEST_OVER=' "$SV/e/env.out"
	grep -qx 'SVTEST_KEPT=kept' "$SV/e/env.out"
	grep -qx 'SVTEST_OVER=new' "$SV/e/env.out"
	grep -qx 'SVTEST_ADDED=added' "$SV/e/env.out"
	[ "$(grep -c '^SVTEST_OVER=' "$SV/e/env.out")" = 1 ]
	grep -qx "PATH=$PATH" "$SV/e/env.out"
}

# --- notification-fd ---

@test "notification-fd: svctl start returns only once the service wrote its newline" {
	new_service n
	script n run 'sleep 2; echo >&5; exec sleep 1000'
	setting n notification-fd 5
	setting n down ''
	publish n
	start_supervise
	local t0 t1
	t0=$(now_ms)
	run svctl -w 10 start n
	t1=$(now_ms)
	assert_success
	echo "svctl start took $((t1 - t0)) ms" >&2
	[ $((t1 - t0)) -ge 1500 ]
	is_up n
	ready_is n 1
	run svctl status n
	assert_output --regexp '^n: up \(pid [0-9]+\) [0-9]+s, ready'
}

@test "notification-fd: up but not ready until the newline comes" {
	new_service n
	script n run 'while [ ! -e go ]; do sleep 0.05; done; echo >&5; exec sleep 1000'
	setting n notification-fd 5
	publish n
	start_supervise
	wait_until 10 up_with_pid n
	ready_is n 0
	run svctl status n
	refute_output --partial 'ready'
	touch "$SV/n/go"
	wait_until 10 ready_is n 1
	is_up n
	grep -q 'n: ready' "$SUPLOG"
}

@test "notification-fd: svctl wait ready waits for the newline" {
	new_service n
	script n run 'while [ ! -e go ]; do sleep 0.05; done; echo >&5; exec sleep 1000'
	setting n notification-fd 5
	publish n
	start_supervise
	wait_until 10 up_with_pid n
	run svctl -w 1 wait ready n
	assert_failure 1
	touch "$SV/n/go"
	run svctl -w 10 wait ready n
	assert_success
	ready_is n 1
}

@test "notification-fd: a service that closes it without a newline is never ready" {
	new_service n
	script n run 'exec 5>&-; exec sleep 1000'
	setting n notification-fd 5
	setting n down ''
	publish n
	start_supervise
	run svctl -w 2 start n
	assert_failure 1
	is_up n
	ready_is n 0
	wait_until 10 grep -q 'n: closed its notification-fd without saying it is ready' "$SUPLOG"
}

# --- sd_notify ---

@test "notify: the service gets NOTIFY_SOCKET, the path of a datagram socket" {
	new_service d
	# shellcheck disable=SC2016 # the script expands it when it runs
	script d run 'printf "%s" "$NOTIFY_SOCKET" > sock; exec sleep 1000'
	setting d notify ''
	publish d
	start_supervise
	wait_until 10 test -s "$SV/d/sock"
	local sock
	sock=$(cat "$SV/d/sock")
	[[ $sock == /* ]]
	test -S "$sock"
	# a datagram socket: a SOCK_DGRAM connect to a stream socket would fail
	"$PY" -c 'import socket, sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).connect(sys.argv[1])' "$sock"
}

@test "notify: svctl start waits for READY=1" {
	make_notify_client
	new_service d
	script d run "sleep 2; '$PY' '$NOTIFY_PY' READY=1; exec sleep 1000"
	setting d notify ''
	setting d down ''
	publish d
	start_supervise
	local t0 t1
	t0=$(now_ms)
	run svctl -w 10 start d
	t1=$(now_ms)
	assert_success
	echo "svctl start took $((t1 - t0)) ms" >&2
	[ $((t1 - t0)) -ge 1500 ]
	is_up d
	ready_is d 1
}

@test "notify: a service that has not sent READY=1 is up, not ready" {
	new_service d
	script d run 'exec sleep 1000'
	setting d notify ''
	setting d down ''
	publish d
	start_supervise
	run svctl -w 2 start d
	assert_failure 1
	is_up d
	ready_is d 0
}

@test "notify: STATUS= text shows in the status file and the status line" {
	make_notify_client
	new_service d
	script d run "'$PY' '$NOTIFY_PY' 'STATUS=serving 3 clients'; '$PY' '$NOTIFY_PY' READY=1; exec sleep 1000"
	setting d notify ''
	publish d
	start_supervise
	wait_until 10 ready_is d 1
	wait_until 10 text_is d "serving 3 clients"
	run svctl status d
	assert_output --partial '"serving 3 clients"'
}

# --- pidfile ---

# A launcher that starts a detached daemon writing its pid to ./pid, and exits 0.
# shellcheck disable=SC2016 # expanded by the shell that runs the launcher
DAEMONIZE='setsid sh -c '\''echo $$ > "$PWD/pid"; exec sleep 1000'\'' >/dev/null 2>&1 & exit 0'

all_gone() {
	local p
	for p in "$@"; do
		gone_from_proc "$p" || return 1
	done
}

# Processes (not zombies) whose parent is the supervisor.
sup_children() {
	ps --ppid "$SUP_PID" -o pid=,stat= | awk '$2 !~ /^Z/ { print $1 }'
}

pid_file_is_service_pid() {
	local p
	p=$(cat "$SV/$1/pid" 2>/dev/null) && [ -n "$p" ] && [ "$(service_pid "$1")" = "$p" ]
}

@test "pidfile: the daemon a launcher left is the service's process, up" {
	new_service p
	script p run "$DAEMONIZE"
	setting p pidfile pid
	publish p
	start_supervise
	wait_until 10 test -s "$SV/p/pid"
	local dpid
	dpid=$(cat "$SV/p/pid")
	EXTRA_PGIDS=$dpid
	wait_until 10 up_with_pid p
	[ "$(service_pid p)" = "$dpid" ]
	[ "$(status_field p pgid)" = "$dpid" ]
	kill -0 "$dpid"
	grep -q "p: daemon found (pid $dpid)" "$SUPLOG"
}

@test "pidfile: a killed daemon makes the supervisor start the service again" {
	new_service p
	script p run "$DAEMONIZE"
	setting p pidfile pid
	publish p
	start_supervise
	wait_until 10 up_with_pid p
	wait_until 10 pid_file_is_service_pid p
	local old new
	old=$(service_pid p)
	EXTRA_PGIDS=$old
	kill -KILL "$old"
	wait_until 10 pid_changed p "$old"
	wait_until 10 up_with_pid p
	wait_until 10 pid_file_is_service_pid p
	new=$(service_pid p)
	EXTRA_PGIDS="$old $new"
	[ "$new" != "$old" ]
	kill -0 "$new"
	gone_from_proc "$old"
}

@test "pidfile: svctl stop kills the daemon" {
	new_service p
	script p run "$DAEMONIZE"
	setting p pidfile pid
	publish p
	start_supervise
	wait_until 10 up_with_pid p
	wait_until 10 pid_file_is_service_pid p
	local dpid
	dpid=$(service_pid p)
	EXTRA_PGIDS=$dpid
	run svctl stop p
	assert_success
	state_is p down
	wait_until 10 gone_from_proc "$dpid"
}

@test "pidfile: the old daemon's pid file is not taken for the new daemon's; one daemon runs" {
	new_service p
	# a daemon that takes a moment before it writes its pid file, as real ones do; the
	# file still holds the previous daemon's pid meanwhile
	script p run "setsid sh -c 'sleep 0.3; echo \$\$ > \"\$PWD/pid\"; exec sleep 1000' >/dev/null 2>&1 & exit 0"
	setting p pidfile pid
	publish p
	start_supervise
	wait_until 10 up_with_pid p
	wait_until 10 pid_file_is_service_pid p
	local old
	old=$(service_pid p)
	EXTRA_PGIDS=$old
	kill -KILL "$old"
	wait_until 10 pid_changed p "$old"
	wait_until 10 up_with_pid p
	wait_until 10 pid_file_is_service_pid p
	# shellcheck disable=SC2034 # read by cleanup_all (helpers.bash) in teardown
	EXTRA_PGIDS="$old $(sup_children)"
	run grep 'not a daemon of this service' "$SUPLOG"
	assert_failure
	[ "$(status_field p restarts)" = 1 ]
	# the daemon followed is the only one: no copy from another launch runs beside it
	[ "$(sup_children)" = "$(service_pid p)" ]
}

@test "pidfile: when the pid file never comes, nothing the launcher left keeps running" {
	new_service p
	script p run 'sleep 1000 >/dev/null 2>&1 & echo $! >> leftovers; exit 0'
	setting p pidfile pid
	setting p down ''
	publish p
	start_supervise
	run svctl -w 10 start p
	assert_failure 1
	assert_output --partial 'not written within'
	run svctl -w 10 stop p
	assert_success
	EXTRA_PIDS=$(cat "$SV/p/leftovers")
	# shellcheck disable=SC2086 # a word per pid
	wait_until 10 all_gone $EXTRA_PIDS
}

@test "pidfile: a pid file that does not hold a pid: failed, 'not a pid'" {
	new_service p
	script p run 'echo garbage > pid; exit 0'
	setting p pidfile pid
	publish p
	start_supervise
	wait_until 10 state_is p failed
	wait_until 10 reason_has p "not a pid"
	reason_has p pidfile
	run svctl status p
	assert_output --partial 'not a pid'
}

@test "pidfile: the pid of a process that is not the service's is refused and never signalled" {
	# shellcheck disable=SC2217 # no stdin: nothing of the test held open
	sleep 1000 </dev/null >/dev/null 2>&1 3>&- &
	local stranger=$!
	disown "$stranger"
	EXTRA_PIDS=$stranger
	new_service p
	script p run "echo $stranger > pid; exit 0"
	setting p pidfile pid
	setting p down ''
	publish p
	start_supervise
	# read again and again in case it is stale, then failed: svctl gives up at failed
	run svctl -w 10 start p
	assert_failure 1
	assert_output --partial "pid $stranger is not a daemon of this service"
	grep -q "p: unable to start: pidfile .*: pid $stranger is not a daemon of this service" "$SUPLOG"
	[ "$(service_pid p)" = 0 ]
	run svctl -w 10 stop p
	assert_success
	state_is p down
	kill -0 "$stranger"
	# neither killed nor stopped: still sleeping
	[ "$(ps -o stat= -p "$stranger" | cut -c1)" = S ]
}

@test "pidfile: a launcher that never writes it: failed after 5 s, 'not written within'" {
	new_service p
	script p run 'exit 0'
	setting p pidfile pid
	setting p down ''
	publish p
	start_supervise
	local t0 t1
	t0=$(now_ms)
	# the wait for up gives up when the service fails (the retry comes at once after the
	# first failure, so the failed state itself is too short to catch by polling)
	run svctl -w 10 start p
	t1=$(now_ms)
	echo "svctl start gave up after $((t1 - t0)) ms" >&2
	assert_failure 1
	assert_output --partial 'not written within'
	[ $((t1 - t0)) -ge 4500 ]
	[ $((t1 - t0)) -lt 9000 ]
	grep -q 'p: unable to start: pidfile .*/p/pid: not written within 5000 ms' "$SUPLOG"
}

# --- settings validation ---

@test "settings: a junk down-signal is ignored with a warning; TERM is used" {
	make_sleeper s down-signal=FOO
	start_supervise
	wait_until 10 up_with_pid s
	[[ $(status_field s warning) == *down-signal*TERM* ]]
	grep -q 's: ignoring down-signal' "$SUPLOG"
	run svctl status s
	assert_output --partial 'warning: down-signal'
	run svctl stop s
	assert_success
	grep -q '^death=[0-9]* signal=TERM ' "$RUN/status/s"
}

@test "settings: a junk timeout-kill is ignored with a warning naming the default" {
	make_sleeper s timeout-kill=abc
	start_supervise
	wait_until 10 up_with_pid s
	[[ $(status_field s warning) == *timeout-kill*10000* ]]
	grep -q 's: ignoring timeout-kill' "$SUPLOG"
}

@test "settings: notification-fd 0 is ignored with a warning; the service is ready when up" {
	make_sleeper s notification-fd=0
	start_supervise
	wait_until 10 up_with_pid s
	[[ $(status_field s warning) == *notification-fd*none* ]]
	grep -q 's: ignoring notification-fd' "$SUPLOG"
	wait_until 10 ready_is s 1
}

@test "settings: notification-fd x is ignored with a warning; the service is ready when up" {
	make_sleeper s notification-fd=x
	start_supervise
	wait_until 10 up_with_pid s
	[[ $(status_field s warning) == *notification-fd*none* ]]
	grep -q 's: ignoring notification-fd' "$SUPLOG"
	wait_until 10 ready_is s 1
}

@test "settings: a junk timeout-finish is ignored with a warning naming the default" {
	new_service s
	script s run 'exec sleep 1000'
	script s finish 'exit 0'
	setting s timeout-finish 'soon'
	publish s
	start_supervise
	wait_until 10 up_with_pid s
	[[ $(status_field s warning) == *timeout-finish*5000* ]]
	grep -q 's: ignoring timeout-finish' "$SUPLOG"
}

@test "settings: a good value clears the warning at the next start" {
	make_sleeper s down-signal=FOO
	start_supervise
	wait_until 10 up_with_pid s
	[ -n "$(status_field s warning)" ]
	echo HUP > "$SV/s/down-signal"
	run svctl restart s
	assert_success
	wait_until 10 up_with_pid s
	[ -z "$(status_field s warning)" ]
	run svctl status s
	refute_output --partial 'warning'
	[ "$(grep -c 's: ignoring down-signal' "$SUPLOG")" = 1 ]
	# and the new value is the one used
	run svctl stop s
	assert_success
	grep -q '^death=[0-9]* signal=HUP ' "$RUN/status/s"
}
