#!/usr/bin/env bats
# Dependencies and one-shots: start order (by the times the services record themselves),
# parallel starts, waiting and why, stop and restart propagation, shutdown order, cycles,
# one-shots and their timeouts, status and --json.
load helpers

# Each service appends "MS EVENT NAME" lines to $EV (ms since the epoch).
setup_file() {
	:
}

ev_setup() {
	EV=$BATS_TEST_TMPDIR/events
	: > "$EV"
}

# The shell lines a run script starts with: stamp EVENT records the time.
stamp_lib() {
	# shellcheck disable=SC2016 # the service's shell expands it, when it runs
	printf 'stamp() { echo "$(($(date +%%s%%N) / 1000000)) $1 %s" >> %s; }\n' "$1" "$EV"
}

# dep_service NAME 'body' [dep:NAME...] [FILE=content...]: a longrun service whose run
# records "start", then runs body; dep:X adds dependencies.d/X.
dep_service() {
	local name=$1 body=$2 tmp="$SV/.$1.tmp-dep" a
	shift 2
	mkdir -p "$tmp"
	for a in "$@"; do
		case $a in
		dep:*) mkdir -p "$tmp/dependencies.d"; : > "$tmp/dependencies.d/${a#dep:}" ;;
		*) printf '%s\n' "${a#*=}" > "$tmp/${a%%=*}" ;;
		esac
	done
	{ printf '#!/bin/sh\n'; stamp_lib "$name"; printf 'stamp start\n%s\n' "$body"; } > "$tmp/run"
	chmod +x "$tmp/run"
	mv "$tmp" "$SV/$name"
}

# A service ready (notification-fd 3) after SECS, recording "ready"; on TERM it records
# "stop" and exits after STOPSECS (default 0).
ready_after() {
	local name=$1 secs=$2 stop=${3:-0}
	shift 3 2>/dev/null || shift $#
	dep_service "$name" "trap 'stamp stop; sleep $stop; exit 0' TERM
sleep $secs
stamp ready
echo >&3
while :; do sleep 1 & wait \$!; done" notification-fd=3 "$@"
}

# A long-running service, ready at once, recording "stop" on TERM (after STOPSECS).
sleeper() {
	local name=$1 stop=$2
	shift 2
	dep_service "$name" "trap 'stamp stop; sleep $stop; exit 0' TERM
while :; do sleep 1 & wait \$!; done" "$@"
}

# oneshot NAME 'up body' [dep:X...] [FILE=content...]: up records "up", then runs body.
oneshot() {
	local name=$1 body=$2 tmp="$SV/.$1.tmp-one" a
	shift 2
	mkdir -p "$tmp"
	for a in "$@"; do
		case $a in
		dep:*) mkdir -p "$tmp/dependencies.d"; : > "$tmp/dependencies.d/${a#dep:}" ;;
		*) printf '%s\n' "${a#*=}" > "$tmp/${a%%=*}" ;;
		esac
	done
	echo oneshot > "$tmp/type"
	{ stamp_lib "$name"; printf 'stamp up\n%s\n' "$body"; } > "$tmp/up"
	mv "$tmp" "$SV/$name"
}

# t NAME EVENT: the (first) time NAME recorded EVENT; tn: the Nth.
t() {
	awk -v n="$1" -v e="$2" '$2 == e && $3 == n { print $1; exit }' "$EV"
}
tn() {
	awk -v n="$1" -v e="$2" -v k="$3" '$2 == e && $3 == n && ++c == k { print $1; exit }' "$EV"
}

has_event() {
	[ -n "$(tn "$1" "$2" "${3:-1}")" ]
}

ready_is() {
	[ "$(status_field "$1" ready)" = 1 ] && is_up "$1"
}

status_has() {
	local out
	out=$(svctl status "$1") || return 1
	[[ $out == *"$2"* ]]
}

@test "a dependent starts only once its dependency is ready, and meanwhile says what it waits for" {
	ev_setup
	ready_after db 1.5 0
	sleeper web 0 dep:db
	start_supervise
	wait_until 5 state_is web waiting
	run svctl status web
	assert_output --regexp '^web: waiting [0-9]+s, waiting for db$'
	[ "$(status_field web waiting_for)" = db ]
	wait_until 10 ready_is web
	[ "$(t web start)" -ge "$(t db ready)" ]
	run svctl status web
	assert_output --regexp '^web: up \(pid [0-9]+\) [0-9]+s, ready, depends on db$'
}

@test "the dependencies file works as dependencies.d/ does, comments and blank lines ignored" {
	ev_setup
	ready_after db 1 0
	ready_after cache 0.5 0
	sleeper web 0 "dependencies=# what web needs
db

cache   # the cache"
	start_supervise
	wait_until 10 ready_is web
	[ "$(status_field web dependencies)" = "cache db" ]
	[ "$(t web start)" -ge "$(t db ready)" ]
	[ "$(t web start)" -ge "$(t cache ready)" ]
}

@test "20 dependents of one one-shot start together once its up has succeeded" {
	ev_setup
	oneshot setup 'sleep 1'
	for i in $(seq 1 20); do sleeper "w$i" 0 dep:setup; done
	start_supervise
	for i in $(seq 1 20); do wait_until 20 is_up "w$i"; done
	wait_until 5 state_is setup up
	run svctl status setup
	assert_output --regexp '^setup: up [0-9]+s, oneshot, exit 0$'
	local done_ms first=0 last=0 s
	done_ms=$(( $(t setup up) + 1000 ))
	for i in $(seq 1 20); do
		s=$(t "w$i" start)
		[ "$s" -ge "$done_ms" ]
		[ "$first" = 0 ] || [ "$s" -lt "$first" ] && first=$s
		[ "$s" -gt "$last" ] && last=$s
	done
	# started in one go, not one after another (each start is a fork and an exec)
	echo "spread: $((last - first)) ms" >&3
	[ $((last - first)) -lt 1500 ]
}

@test "a chain of 5 comes up in the sum of its readiness delays and no more" {
	ev_setup
	ready_after c1 0.4 0
	for i in 2 3 4 5; do ready_after "c$i" 0.4 0 "dep:c$((i - 1))"; done
	start_supervise
	wait_until 20 ready_is c5
	local total=$(( $(t c5 ready) - $(t c1 start) ))
	echo "chain: $total ms for 2000 ms of delays" >&3
	[ "$total" -ge 2000 ]
	# each link starts as soon as the one before is ready: no polling, no rounds
	for i in 2 3 4 5; do
		local gap=$(( $(t "c$i" start) - $(t "c$((i - 1))" ready) ))
		[ "$gap" -ge 0 ]
		[ "$gap" -lt 400 ]
	done
	[ "$total" -lt 3500 ]
}

@test "a missing dependency keeps its dependent waiting until it appears" {
	ev_setup
	sleeper web 0 dep:db
	start_supervise_quiet web
	wait_until 5 state_is web waiting
	run svctl status web
	assert_output --regexp '^web: waiting [0-9]+s, waiting for db \(no such service\)$'
	sleep 1
	state_is web waiting
	ready_after db 0.5 0
	wait_until 10 ready_is web
	[ "$(t web start)" -ge "$(t db ready)" ]
}

@test "a down-marked dependency is pulled up by its dependent" {
	ev_setup
	sleeper db 0 down=
	sleeper web 0 dep:db
	start_supervise
	wait_until 10 is_up web
	is_up db
	[ "$(status_field db wanted)" = up ]
}

@test "a failed one-shot keeps its dependents waiting, is not retried by itself, and svctl start tries it again" {
	ev_setup
	oneshot setup "[ -e $BATS_TEST_TMPDIR/ok ] || exit 3"
	sleeper web 0 dep:setup
	start_supervise_quiet web
	wait_until 10 state_is setup failed
	wait_until 5 status_has web 'waiting for setup (failed: exit 3)'
	run svctl status web
	assert_output --regexp '^web: waiting [0-9]+s, waiting for setup \(failed: exit 3\)$'
	run svctl status setup
	assert_output --regexp '^setup: failed [0-9]+s, oneshot, normally up, exit 3$'
	sleep 2
	[ "$(grep -c ' up setup' "$EV")" = 1 ]
	touch "$BATS_TEST_TMPDIR/ok"
	run svctl start web
	assert_success
	is_up web
	state_is setup up
	[ "$(grep -c ' up setup' "$EV")" = 2 ]
}

@test "svctl stop of a dependency stops its dependents first, transitively, and says so" {
	ev_setup
	sleeper db 0.3
	sleeper web 0.3 dep:db
	sleeper app 0.3 dep:web
	sleeper other 0
	start_supervise
	for n in db web app other; do wait_until 10 is_up "$n"; done
	run svctl stop db
	assert_success
	assert_output "stopping app: depends on web
stopping web: depends on db"
	for n in db web app; do state_is "$n" down; [ "$(status_field "$n" wanted)" = down ]; done
	is_up other
	# each got its stop signal only once what depends on it had exited (0.3 s each)
	[ $(( $(t web stop) - $(t app stop) )) -ge 300 ]
	[ $(( $(t db stop) - $(t web stop) )) -ge 300 ]
}

@test "svctl restart of a dependency restarts its running dependents after it is ready" {
	ev_setup
	ready_after db 0.5 0.2
	sleeper web 0.2 dep:db
	start_supervise
	wait_until 10 is_up web
	local old
	old=$(service_pid web)
	run svctl restart db
	assert_success
	assert_output "stopping web: depends on db"
	wait_until 10 pid_changed web "$old"
	wait_until 10 is_up web
	[ "$(t db stop)" -ge "$(t web stop)" ]
	[ "$(tn web start 2)" -ge "$(tn db ready 2)" ]
}

@test "a crash of a dependency, restarted by itself, leaves its dependents alone" {
	ev_setup
	sleeper db 0
	sleeper web 0 dep:db
	start_supervise
	wait_until 10 is_up web
	local web_pid db_pid
	web_pid=$(service_pid web)
	db_pid=$(service_pid db)
	kill -KILL "$db_pid"
	wait_until 10 pid_changed db "$db_pid"
	wait_until 10 is_up db
	sleep 0.5
	[ "$(service_pid web)" = "$web_pid" ]
	is_up web
	run ! has_event web stop
}

@test "shutdown stops dependents before their dependencies, unrelated services at once" {
	ev_setup
	sleeper a 0.5
	sleeper b 0.5 dep:a
	sleeper c 0.5 dep:b
	sleeper x 0.5
	sleeper y 0.5
	start_supervise
	for n in a b c x y; do wait_until 10 is_up "$n"; done
	run svctl shutdown
	assert_success
	[ $(( $(t b stop) - $(t c stop) )) -ge 500 ]
	[ $(( $(t a stop) - $(t b stop) )) -ge 500 ]
	# unrelated: told at the same time as the first of the chain
	[ $(( $(t x stop) - $(t c stop) )) -lt 400 ]
	[ $(( $(t y stop) - $(t c stop) )) -lt 400 ]
	[ $(( $(t c stop) - $(t x stop) )) -lt 400 ]
}

@test "cycles of 1, 2 and 3 services fail each member with the path; a diamond is no cycle" {
	ev_setup
	sleeper a 0 dep:a
	sleeper b 0 dep:c
	sleeper c 0 dep:b
	sleeper d 0 dep:e
	sleeper e 0 dep:f
	sleeper f 0 dep:d
	sleeper top 0 dep:left dep:right
	sleeper left 0 dep:bottom
	sleeper right 0 dep:bottom
	sleeper bottom 0
	sleeper free 0
	start_supervise
	for n in top left right bottom free; do wait_until 10 is_up "$n"; done
	for n in a b c d e f; do wait_until 5 state_is "$n" failed; done
	[ "$(status_field a reason)" = "dependency cycle: a -> a" ]
	[ "$(status_field b reason)" = "dependency cycle: b -> c -> b" ]
	[ "$(status_field c reason)" = "dependency cycle: b -> c -> b" ]
	for n in d e f; do [ "$(status_field "$n" reason)" = "dependency cycle: d -> e -> f -> d" ]; done
	for n in a b c d e f; do run ! has_event "$n" start; done
	[ "$(suplog_count 'dependency cycle: d -> e -> f -> d')" = 1 ]
	# broken, the cycle's members start
	rm "$SV/c/dependencies.d/b"
	svctl rescan
	wait_until 10 is_up b
	wait_until 10 is_up c
	state_is a failed
}

@test "a service on a second cycle through a member of a first is failed too, with its own path" {
	ev_setup
	# p -> q -> r -> p, and p -> s -> r -> p: s is on a cycle, whichever is found first.
	# p comes last, so the search starts from it (the newest service is looked at
	# first) and goes round p -> q -> r first: s, reached through r once r is done,
	# is on no path it walks back along
	sleeper q 0 dep:r
	sleeper r 0 dep:p
	sleeper s 0 dep:r
	sleeper t 0 dep:s
	start_supervise
	wait_until 5 state_is r waiting
	sleeper p 0 dep:q dep:s
	svctl rescan
	for n in p q r s; do wait_until 5 state_is "$n" failed; done
	for n in p q r s; do
		[[ "$(status_field "$n" reason)" == "dependency cycle: "*" -> $n"* ]] ||
			[[ "$(status_field "$n" reason)" == "dependency cycle: $n -> "* ]]
		run ! has_event "$n" start
	done
	[[ "$(status_field s reason)" == "dependency cycle: p -> s -> r -> p" ]] ||
		[[ "$(status_field s reason)" == "dependency cycle: r -> p -> s -> r" ]] ||
		[[ "$(status_field s reason)" == *" s "* ]]
	# t depends on the cycle without being on it: it waits, and says for what
	wait_until 5 state_is t waiting
	run status_field t reason
	refute_output --partial 'dependency cycle'
}

@test "a one-shot's up past timeout-up is killed with its process group and fails" {
	ev_setup
	oneshot slow "sleep 1000 & echo \$! > $BATS_TEST_TMPDIR/child; sleep 1000" timeout-up=500
	start_supervise_quiet slow
	wait_until 10 state_is slow failed
	[ "$(status_field slow reason)" = timeout ]
	local child
	child=$(cat "$BATS_TEST_TMPDIR/child")
	wait_until 5 gone_from_proc "$child"
	sleep 1.5
	[ "$(grep -c ' up slow' "$EV")" = 1 ] # not retried by itself
}

@test "a one-shot's down runs when it is stopped, exec'd or read by /bin/sh; timeout-down bounds it" {
	ev_setup
	oneshot s1 'exit 0'
	printf '%s\n' "#!/bin/sh" "echo \"\$((\$(date +%s%N) / 1000000)) down s1\" >> $EV" > "$SV/s1/down"
	chmod +x "$SV/s1/down"
	oneshot s2 'exit 0' timeout-down=300
	printf 'sleep 1000\n' > "$SV/s2/down"
	start_supervise_quiet s2
	wait_until 10 state_is s1 up
	wait_until 10 state_is s2 up
	run svctl stop s1
	assert_success
	has_event s1 down
	state_is s1 down
	svctl -w 0 stop s2
	wait_until 10 state_is s2 failed
	[ "$(status_field s2 reason)" = timeout ]
}

@test "status --json gives type, dependencies and waiting_for" {
	ev_setup
	oneshot setup 'exit 0'
	sleeper web 0 dep:db dep:setup
	start_supervise_quiet web
	wait_until 10 state_is setup up
	wait_until 10 status_has web 'waiting for db (no such service)'
	run svctl status --json web setup
	assert_success
	assert_output --partial '"name":"web","state":"waiting"'
	assert_output --partial '"type":"longrun","dependencies":["db","setup"],"waiting_for":"db (no such service)"'
	assert_output --partial '"name":"setup","state":"up"'
	assert_output --partial '"type":"oneshot","dependencies":[],"waiting_for":null'
	[ "$(status_field setup type)" = oneshot ]
	[ "$(status_field web state)" = waiting ]
}

@test "a removed dependency stops its dependents first; they wait for it and start when it is back" {
	ev_setup
	# db says when it is ready, after its start is stamped: web's start, which waits for
	# that, can then never be stamped before db's however the shells are scheduled
	ready_after db 0 0.3
	sleeper web 0 dep:db
	start_supervise
	wait_until 10 is_up web
	mv "$SV/db" "$BATS_TEST_TMPDIR/db.away"
	wait_until 10 state_is web waiting
	wait_until 10 status_has web 'waiting for db (no such service)'
	[ "$(t db stop)" -ge "$(t web stop)" ]
	mv "$BATS_TEST_TMPDIR/db.away" "$SV/db"
	wait_until 10 is_up web
	[ "$(tn web start 2)" -ge "$(tn db start 2)" ]
}

@test "a service that names itself is a cycle of one, and the others run" {
	ev_setup
	sleeper self 0 "dependencies=self"
	sleeper ok 0
	start_supervise
	wait_until 10 state_is self failed
	run svctl status self
	assert_output --partial 'dependency cycle: self -> self'
	is_up ok
}
