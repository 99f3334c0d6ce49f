#!/usr/bin/env bats
# Load: 1000 services at once, 50 concurrent svctl clients, and a crash storm. Each test
# prints its figures to the TAP output (fd 3, "# ..." lines) and appends them to
# $LOAD_FIGURES, else to load-figures.txt in the run's test directory.
# Cleanup: cleanup_all (the supervisor, then the process group in each status file);
# the client loops of the concurrency test are in EXTRA_PIDS. Never anything by name.
load helpers

# figure TEXT: one figure, in the TAP output and in the figures file.
figure() {
	local f=${LOAD_FIGURES:-$BATS_TEST_TMPDIR/../load-figures.txt}
	echo "# $*" >&3
	printf '%s: %s\n' "$BATS_TEST_DESCRIPTION" "$*" >> "$f"
}

# make_many PREFIX FIRST LAST WIDTH: services PREFIX<n> (n zero-padded to WIDTH), each
# `exec sleep 100000`, written in bulk (a few processes in all, not a few per service).
# Only before the supervisor runs: they do not appear atomically.
make_many() {
	local n
	# shellcheck disable=SC2046 # a word per name: names are letters and digits
	(cd "$SV" && mkdir $(names "$@"))
	for n in $(names "$@"); do
		printf '#!/bin/sh\nexec sleep 100000\n' > "$SV/$n/run"
	done
	chmod +x "$SV/$1"*/run
}

# names PREFIX FIRST LAST WIDTH: the names make_many made, one line.
names() {
	local i n out=()
	for ((i = $2; i <= $3; i++)); do
		printf -v n "%s%0*d" "$1" "$4" "$i"
		out+=("$n")
	done
	echo "${out[*]}"
}

up_count() {
	svctl status 2>/dev/null | grep -c ': up '
}

up_count_is() {
	[ "$(up_count)" -eq "$1" ]
}

sup_children() {
	ps --ppid "$SUP_PID" -o pid= | wc -l
}

sup_children_is() {
	[ "$(sup_children)" -eq "$1" ]
}

# sup_mem KEY: VmRSS or RssAnon of the supervisor, in kB.
sup_mem() {
	awk -v k="$1:" '$1 == k { print $2 }' "/proc/$SUP_PID/status"
}

# sup_cpu_ms: CPU time (user + system) the supervisor has used, in ms.
sup_cpu_ms() {
	local s rest
	s=$(cat "/proc/$SUP_PID/stat")
	rest=${s##*) }
	local -a f
	read -r -a f <<< "$rest"
	echo $(((f[11] + f[12]) * 1000 / $(getconf CLK_TCK)))
}

no_zombie_children() {
	# shellcheck disable=SC2009 # the state of every child of one process: ps, not pgrep
	! ps --ppid "$SUP_PID" -o stat= | grep -q Z
}

# snapshot GLOB: "name state pid restarts" for every status file matching GLOB (which must
# not match the NAME.tmp files of an atomic rewrite), one awk for all.
snapshot() {
	# shellcheck disable=SC2086 # $1 is a glob, expanded here
	awk -F= 'FNR == 1 && NR > 1 { print n, s, p, r }
		$1 == "name" { n = $2 } $1 == "state" { s = $2 } $1 == "pid" { p = $2 }
		$1 == "restarts" { r = $2 }
		END { if (NR) print n, s, p, r }' $1
}

# A foreground supervisor with a soft RLIMIT_NOFILE of $1, otherwise as start_supervise.
start_supervise_nofile() {
	(ulimit -S -n "$1" && exec "$BIN/supervise" -f -d "$SV" -r "$RUN") 2>>"$SUPLOG" 3>&- &
	SUP_PID=$!
	wait_until 10 test -p "$RUN/control"
	wait_until 10 grep -q 'started (pid' "$SUPLOG"
}

# thousand_up START_COMMAND...: starts the supervisor with START_COMMAND, waits until the 1000
# services are up; sets T_UP (ms from start to all up).
thousand_up() {
	local t0 t1
	t0=$(now_ms)
	"$@"
	wait_until 60 up_count_is 1000
	t1=$(now_ms)
	T_UP=$((t1 - t0))
	# one child per service, nothing else (the intermediate of the double fork is reaped
	# at once)
	wait_until 30 sup_children_is 1000
}

@test "1000 services start and are all up; the supervisor has exactly 1000 children" {
	make_many s 1 1000 4
	thousand_up start_supervise
	figure "1000 services up in $T_UP ms"
	figure "supervisor with 1000 services: $(sup_fd_count) fds, VmRSS $(sup_mem VmRSS) kB, RssAnon $(sup_mem RssAnon) kB (RLIMIT_NOFILE soft $(ulimit -S -n))"
	# every service started at the first try: no start failed, none restarted
	run grep -c 'unable to start' "$SUPLOG"
	assert_output 0
	run grep -L '^restarts=0$' "$RUN"/status/s[0-9][0-9][0-9][0-9]
	assert_output ''
	[ "$(svctl status | wc -l)" -eq 1000 ]
	# shutdown stops them all; timed as a figure
	local t0 t1
	t0=$(now_ms)
	run svctl -w 60 shutdown
	assert_success
	t1=$(now_ms)
	figure "shutdown with 1000 services: $((t1 - t0)) ms"
	wait_until 10 sup_gone
}

# The usual default soft limit: what a supervisor started from a login shell or by
# systemd gets. 1000 services need 1000 processes, not 1000 descriptors: the supervisor
# should need only a few per service being started, not one per service running.
@test "1000 services start under a soft RLIMIT_NOFILE of 1024 without running out of fds" {
	[ "$(ulimit -H -n)" = unlimited ] || [ "$(ulimit -H -n)" -ge 1024 ] ||
		skip "hard RLIMIT_NOFILE below 1024"
	make_many s 1 1000 4
	thousand_up start_supervise_nofile 1024
	local fds emfile
	fds=$(sup_fd_count)
	emfile=$(grep -c 'Too many open files' "$SUPLOG" || true)
	figure "soft RLIMIT_NOFILE 1024: 1000 services up in $T_UP ms, $fds fds held, $emfile 'Too many open files' log lines"
	[ "$emfile" -eq 0 ]
	run grep -c 'unable to start' "$SUPLOG"
	assert_output 0
	# room left for clients and restarts, under whatever soft limit it runs with
	local limit
	limit=$(awk '/^Max open files/ { print $4 }' "/proc/$SUP_PID/limits")
	[ "$limit" = unlimited ] || [ $((fds + 64)) -le "$limit" ]
	# and so 20 concurrent clients all get their answer (here: a wait that times out)
	local i pids=() waits=$BATS_TEST_TMPDIR/waits
	for i in $(seq 1 20); do
		"$BIN/svctl" -d "$SV" -r "$RUN" -w 2 wait down s0001 > "$waits.$i" 2>&1 3>&- &
		pids+=($!)
	done
	EXTRA_PIDS="${pids[*]}"
	for i in "${pids[@]}"; do wait "$i" || true; done
	run cat "$waits".*
	[ "$(grep -c '^svctl: s0001: not down after 2.000s: up ' <<< "$output")" -eq 20 ]
}

# client_loop I N: N svctl commands from client I, each reply checked: exit status and
# whole output. cK (K in 1..20) are up throughout with the pids in CPIDS (space-separated,
# cK's is word K); rK (K in 1..4) are restarted by every client all the time, so their
# status may be in any state, but must be a well-formed line. Needs SV, RUN, BIN, CPIDS and
# BATS_TEST_TMPDIR; writes "COUNT FAILURES" to client.I.count, each failure to client.I.fail.
client_loop() {
	local i=$1 n=$2 j k r out rc want fails=0 count=0 cmd got ok re
	local -a CPID
	# shellcheck disable=SC2153 # CPIDS comes from the environment (see above)
	read -r -a CPID <<< "0 $CPIDS"
	local fail=$BATS_TEST_TMPDIR/client.$i.fail
	for ((j = 0; j < n; j++)); do
		k=$(((i + j) % 20 + 1))
		r=$(((i + j) % 4 + 1))
		rc=0
		case $((j % 8)) in
		0) cmd="-w 0 start c$k" want='' ;;
		1) cmd="status c$k" want="RE:^c$k: up \\(pid ${CPID[$k]}\\) [0-9]+s, ready\$" ;;
		2) cmd="signal CONT c$k" want='' ;;
		3) cmd="-w 5 wait up c$k" want='' ;;
		4) cmd="start nosuch$k" want="svctl: nosuch$k: no such service" rc=1 ;;
		5) cmd="-w 0 restart r$r" want='' ;;
		6) cmd="status r$r" want=ANY-STATUS ;;
		7) cmd="signal CONT nosuch$k" want="svctl: nosuch$k: no such service" rc=1 ;;
		esac
		# (an assignment from a failing command would end the loop under errexit)
		# shellcheck disable=SC2086
		out=$(svctl $cmd 2>&1) && got=0 || got=$?
		count=$((count + 1))
		ok=1
		[ "$got" -eq "$rc" ] || ok=0
		if [ "$want" = ANY-STATUS ]; then
			# "rK: STATE", "(pid N)" whenever a process runs, the time, details; one line
			re="^r$r: (up|starting|stopping|down|backoff)( \\(pid [0-9]+\\))? [0-9]+s(, .*)?\$"
			[[ $out =~ $re ]] && [[ $out != *$'\n'* ]] || ok=0
			case ${BASH_REMATCH[1]:-} in
			up | stopping) [ -n "${BASH_REMATCH[2]}" ] || ok=0 ;;
			esac
		elif [[ $want == RE:* ]]; then
			re=${want#RE:}
			[[ $out =~ $re ]] && [[ $out != *$'\n'* ]] || ok=0
		else
			[ "$out" = "$want" ] || ok=0
		fi
		if [ "$ok" = 0 ]; then
			fails=$((fails + 1))
			printf 'client %s: svctl %s: exit %s (want %s): %q\n' "$i" "$cmd" "$got" "$rc" "$out" >> "$fail"
		fi
	done
	echo "$count $fails" > "$BATS_TEST_TMPDIR/client.$i.count"
}

reply_dir_empty() {
	[ -z "$(ls -A "$RUN/reply" 2>/dev/null)" ]
}

@test "50 concurrent svctl clients, 10000 commands, every reply correct" {
	local k
	for k in $(seq 1 20); do make_sleeper "c$k"; done
	for k in $(seq 1 4); do make_sleeper "r$k"; done
	start_supervise
	wait_until 30 up_count_is 24
	CPID=()
	for k in $(seq 1 20); do CPID[k]=$(service_pid "c$k"); done
	local fds0 cpu0 cpu1 clients=50 per=200 i pids=() t0 t1
	fds0=$(sup_fd_count)
	cpu0=$(sup_cpu_ms)
	t0=$(now_ms)
	for ((i = 1; i <= clients; i++)); do
		# a fresh bash for each client: forking the test's own shell for each of the
		# 10000 commands costs several times what the commands cost
		SV=$SV RUN=$RUN BIN=$BIN CPIDS="${CPID[*]:1}" BATS_TEST_TMPDIR=$BATS_TEST_TMPDIR \
			bash -c "$(declare -f svctl client_loop); client_loop $i $per" 3>&- &
		pids+=($!)
	done
	EXTRA_PIDS="${pids[*]}"
	for i in "${pids[@]}"; do wait "$i"; done
	t1=$(now_ms)
	cpu1=$(sup_cpu_ms)
	# shellcheck disable=SC2034 # read by cleanup_all (helpers.bash) in teardown
	EXTRA_PIDS=
	local total=0 fails=0 c f
	for ((i = 1; i <= clients; i++)); do
		read -r c f < "$BATS_TEST_TMPDIR/client.$i.count"
		total=$((total + c))
		fails=$((fails + f))
	done
	figure "$total commands from $clients clients in $((t1 - t0)) ms: $((total * 1000 / (t1 - t0))) commands/s, $fails wrong replies"
	figure "supervisor CPU time for them: $((cpu1 - cpu0)) ms"
	if [ "$fails" -gt 0 ]; then
		cat "$BATS_TEST_TMPDIR"/client.*.fail | head -n 20 >&2
	fi
	[ "$total" -eq $((clients * per)) ]
	[ "$fails" -eq 0 ]
	# every command reached the supervisor whole: the only refusals are the unknown names,
	# one for each such command (a garbled or interleaved line would be refused otherwise)
	[ "$(grep -c 'refused command' "$SUPLOG")" -eq $((total / 4)) ]
	[ "$(grep 'refused command' "$SUPLOG" | grep -vc ': no such service$')" -eq 0 ]
	# the stable services were never disturbed
	for k in $(seq 1 20); do
		[ "$(service_pid "c$k")" = "${CPID[$k]}" ]
		[ "$(status_field "c$k" restarts)" = 0 ]
	done
	# the churned ones come back up; nothing is left over: reply FIFOs, descriptors
	run svctl -w 15 wait up r1 r2 r3 r4
	assert_success
	wait_until 10 reply_dir_empty
	wait_until 10 sup_fd_count_is "$fds0"
	kill -0 "$SUP_PID"
}

# all_changed_up OLDFILE N: N services, each up with a pid other than its pid in OLDFILE.
all_changed_up() {
	snapshot "$RUN/status/k[0-9][0-9][0-9]" | awk -v n="$2" '
		NR == FNR { old[$1] = $3; next }
		{ seen++ }
		!($1 in old) || $2 != "up" || $3 == 0 || $3 == old[$1] { bad++ }
		END { exit !(seen == n && bad == 0) }' "$1" -
}

# all_died OLDFILE N: none of the N services still has its pid in OLDFILE (every death
# has been seen by the supervisor).
all_died() {
	snapshot "$RUN/status/k[0-9][0-9][0-9]" | awk -v n="$2" '
		NR == FNR { old[$1] = $3; next }
		{ seen++ }
		$3 == old[$1] { bad++ }
		END { exit !(seen == n && bad == 0) }' "$1" -
}

# The crash storm: every service's process killed with one kill -KILL, ten times.
#
# Why `svctl start` after each storm: between storms the services run for about a second,
# so every death is a "short" one (under 10 s). The second short death in a row waits
# 1 s, the third 2 s, then 4, 8, 16, 32, 60 s: ten storms with nothing in between would
# take over 4 minutes of backoff, and spacing the storms 10 s apart (to reset it) 100 s
# or more. The spec gives the way out: `start` starts a service in backoff at once,
# subject only to the 1 s spacing between two starts. So after
# each storm the test waits until the supervisor has seen every death (no service has
# its old pid), then `svctl start`s them all: those restarted at once are left alone,
# those in backoff start now. Each storm is then about 1 s (the spacing between two
# starts of a service) plus the work, and every storm is a real one: all N services die
# at the same moment, their SIGCHLDs coalesce, and N restarts are due together.
@test "crash storm: 10 times every service SIGKILLed at once; all come back, no zombie, no fd or memory growth" {
	local n=200 t0 t1 times=()
	make_many k 1 "$n" 3
	start_supervise
	wait_until 30 up_count_is "$n"
	local all old=$BATS_TEST_TMPDIR/old.pids
	all=$(names k 1 "$n" 3)
	wait_until 10 no_zombie_children
	local fds0 rss0 anon0
	fds0=$(sup_fd_count)
	rss0=$(sup_mem VmRSS)
	anon0=$(sup_mem RssAnon)
	for _ in $(seq 1 10); do
		snapshot "$RUN/status/k[0-9][0-9][0-9]" > "$old"
		[ "$(awk '$2 == "up" && $3 > 0' "$old" | wc -l)" -eq "$n" ]
		t0=$(now_ms)
		# shellcheck disable=SC2046
		kill -KILL $(awk '{ print $3 }' "$old")
		wait_until 30 all_died "$old" "$n"
		# shellcheck disable=SC2086
		run svctl -w 30 start $all
		assert_success
		wait_until 30 all_changed_up "$old" "$n"
		t1=$(now_ms)
		times+=($((t1 - t0)))
	done
	figure "$n services, 10 storms: all up again after ${times[*]} ms"
	# every death counted, each service up, one child per service and no zombie
	run awk '$2 != "up" || $4 != 10' <(snapshot "$RUN/status/k[0-9][0-9][0-9]")
	assert_output ''
	[ "$(grep -c ': exited (signal KILL)' "$SUPLOG")" -eq $((n * 10)) ]
	wait_until 10 no_zombie_children
	wait_until 10 sup_children_is "$n"
	wait_until 10 sup_fd_count_is "$fds0"
	local rss1 anon1
	rss1=$(sup_mem VmRSS)
	anon1=$(sup_mem RssAnon)
	figure "supervisor after $((n * 10)) deaths: fds $fds0 -> $(sup_fd_count), VmRSS $rss0 -> $rss1 kB, RssAnon $anon0 -> $anon1 kB ($((anon1 - anon0)) kB)"
	# bound: RssAnon grows by less than 1 MiB over the 10 storms (10 x N deaths and
	# restarts: with N = 200, about 500 bytes a death): a leak of a status buffer, a death
	# record or a spawn's bookkeeping per restart would exceed it. Under AddressSanitizer
	# (make test SAN=1) freed memory sits in its quarantine, so RSS says nothing there;
	# LeakSanitizer checks for leaks at exit instead.
	if ! grep -q libasan "/proc/$SUP_PID/maps"; then
		[ $((anon1 - anon0)) -lt 1024 ]
	fi
	kill -0 "$SUP_PID"
}
