# Shared by every test file: each test gets its own SVDIR ($SV) and RUNDIR ($RUN) in its
# temporary directory; teardown stops the supervisor and every service process group it
# started, by pid and process group, never by name.

bats_require_minimum_version 1.5.0 # run ! CMD
load 'node_modules/bats-support/load'
load 'node_modules/bats-assert/load'

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
BIN=$ROOT/bin

setup() {
	SV=$BATS_TEST_TMPDIR/sv
	RUN=$BATS_TEST_TMPDIR/run
	SUPLOG=$BATS_TEST_TMPDIR/supervise.stderr
	SUP_PID=
	mkdir -p "$SV"
}

teardown() {
	cleanup_all
}

# svctl with this test's directories.
svctl() {
	"$BIN/svctl" -d "$SV" -r "$RUN" "$@"
}

# make_service NAME 'shell body' [FILE=content...]: a service whose run is /bin/sh body.
make_service() {
	local name=$1 body=$2 tmp="$SV/.$1.tmp-make"
	mkdir -p "$tmp"
	shift 2
	local kv
	for kv in "$@"; do
		printf '%s\n' "${kv#*=}" > "$tmp/${kv%%=*}"
	done
	printf '#!/bin/sh\n%s\n' "$body" > "$tmp/run"
	chmod +x "$tmp/run"
	# a dot name is not a service; the rename makes it appear at once, complete
	mv "$tmp" "$SV/$name"
}

# A long-running service that exits 0 on TERM.
make_sleeper() {
	make_service "$1" 'exec sleep 1000' "${@:2}"
}

# start_supervise [options]: foreground supervisor in the background, ready for commands.
start_supervise() {
	"$BIN/supervise" -f -d "$SV" -r "$RUN" "$@" 2>>"$SUPLOG" 3>&- &
	SUP_PID=$!
	wait_until 10 test -p "$RUN/control"
	# the FIFO exists before the first scan: wait for the log line that follows it
	wait_until 10 grep -q 'started (pid' "$SUPLOG"
}

# wait_until SECS COMMAND...: retries COMMAND every 50 ms; fails the test after SECS.
wait_until() {
	local secs=$1
	shift
	local start
	start=$(date +%s%N)
	while ! "$@" 2>/dev/null; do
		if [ $(( ($(date +%s%N) - start) / 1000000 )) -gt $((secs * 1000)) ]; then
			echo "wait_until: '$*' still false after ${secs}s" >&2
			return 1
		fi
		sleep 0.05
	done
}

# status_field NAME KEY: a field of RUN/status/NAME.
status_field() {
	sed -n "s/^$2=//p" "$RUN/status/$1" 2>/dev/null | head -n 1
}

service_pid() {
	status_field "$1" pid
}

state_is() {
	[ "$(status_field "$1" state)" = "$2" ]
}

pid_changed() {
	local p
	p=$(service_pid "$1")
	[ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$2" ]
}

is_up() {
	state_is "$1" up
}

# Number of log lines matching a pattern in the supervisor's stderr.
suplog_count() {
	grep -c -- "$1" "$SUPLOG" 2>/dev/null || true
}

# Stops the supervisor (TERM, then KILL) and kills every process group a service had.
cleanup_all() {
	local pgids=() f g p
	if [ -d "$RUN/status" ]; then
		for f in "$RUN"/status/*; do
			[ -f "$f" ] || continue
			g=$(sed -n 's/^pgid=//p' "$f")
			[ -n "$g" ] && [ "$g" != 0 ] && pgids+=("$g")
		done
	fi
	[ -z "$SUP_PID" ] && [ -f "$RUN/pid" ] && SUP_PID=$(cat "$RUN/pid" 2>/dev/null)
	if [ -n "$SUP_PID" ] && kill -0 "$SUP_PID" 2>/dev/null; then
		kill -TERM "$SUP_PID" 2>/dev/null
		for _ in $(seq 1 150); do
			kill -0 "$SUP_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$SUP_PID" 2>/dev/null
	fi
	for g in "${pgids[@]}" ${EXTRA_PGIDS:-}; do
		kill -KILL -- "-$g" 2>/dev/null
	done
	for p in ${EXTRA_PIDS:-}; do
		kill -KILL "$p" 2>/dev/null
	done
	return 0
}

# --- shared by several test files ---

# A service and its logger both up, each with a process.
both_up() {
	up_with_pid "$1" && up_with_pid "$1:log"
}

gone() {
	! alive "$1"
}

gone_from_proc() {
	! [ -e "/proc/$1" ]
}

# Pids of every process (zombies included) in process group PGID.
group_pids() {
	ps -e -o pid=,pgid= | awk -v g="$1" '$2 == g { print $1 }'
}

line_count() {
	if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi
}

lines_at_least() {
	[ "$(line_count "$1")" -ge "$2" ]
}

log_has() {
	grep -q -F -- "$1" "$SUPLOG"
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

restarts_at_least() {
	[ "$(status_field "$1" restarts)" -ge "$2" ]
}

# A foreground supervisor for a test whose services all hold `down` (no "started" line
# comes): ready once NAME's status file is there.
start_supervise_quiet() {
	"$BIN/supervise" -f -d "$SV" -r "$RUN" 2>>"$SUPLOG" 3>&- &
	SUP_PID=$!
	wait_until 10 test -p "$RUN/control"
	wait_until 10 test -f "$RUN/status/$1"
}

sup_fd_count() {
	# shellcheck disable=SC2012 # descriptor numbers: ls counts them right
	ls "/proc/$SUP_PID/fd" | wc -l
}

sup_fd_count_is() {
	[ "$(sup_fd_count)" -eq "$1" ]
}

sup_gone() {
	! kill -0 "$SUP_PID" 2>/dev/null
}

up_and_alive() {
	local p
	is_up "$1" || return 1
	p=$(service_pid "$1")
	[ -n "$p" ] && [ "$p" != 0 ] && alive "$p"
}
