#!/usr/bin/env bats
# Real daemons from Debian packages run as services: redis-server (foreground, sd_notify
# readiness, self-daemonizing with a pid file), memcached and nginx, each on a loopback
# port of its own, each asked by its own client whether it answers, and by which process.
# A test whose daemon or client is not installed is skipped (.ci/run installs them).
# Cleanup: cleanup_all kills the process group in each status file; the groups of earlier
# instances (before a SIGKILL) and of a self-daemonized redis (its own session) are
# recorded in EXTRA_PGIDS as soon as they are known. Never anything by name.
load helpers

# nginx is in /usr/sbin, which a non-login PATH may lack
PATH=$PATH:/usr/sbin:/sbin

# need PROGRAM...: skips the test when one is not installed.
need() {
	local p
	for p in "$@"; do
		command -v "$p" >/dev/null ||
			skip "$p is not installed (apt-get install redis-server redis-tools memcached nginx curl)"
	done
}

# listening PORT: a TCP socket listens on PORT.
listening() {
	ss -ltnH "( sport = :$1 )" | grep -q .
}

not_listening() {
	! listening "$1"
}

# free_port BASE: the first of BASE..BASE+99 that nothing listens on. Each test has a
# range of its own.
free_port() {
	local p
	for ((p = $1; p < $1 + 100; p++)); do
		if not_listening "$p"; then
			echo "$p"
			return 0
		fi
	done
	echo "no free port in $1..$(($1 + 99))" >&2
	return 1
}

# track NAME: records the current process group of NAME for cleanup.
track() {
	local g
	g=$(status_field "$1" pgid)
	[ -n "$g" ] && [ "$g" != 0 ] && EXTRA_PGIDS="${EXTRA_PGIDS:-} $g"
	return 0
}

up_with_pid() {
	state_is "$1" up && pid_changed "$1" 0
}

up_with_new_pid() {
	state_is "$1" up && pid_changed "$1" "$2"
}

group_gone() {
	[ -z "$(group_pids "$1")" ]
}

# redis_pid PORT: the process_id the redis on PORT reports; fails when none answers.
redis_pid() {
	local out
	out=$(timeout 5 redis-cli -h 127.0.0.1 -p "$1" info server 2>/dev/null) || return 1
	out=$(printf '%s\n' "$out" | tr -d '\r' | sed -n 's/^process_id://p')
	[ -n "$out" ] && echo "$out"
}

redis_pong() {
	[ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
}

# redis_is PORT PID: the redis answering PING on PORT is process PID.
redis_is() {
	redis_pong "$1" && [ "$(redis_pid "$1")" = "$2" ]
}

# memcached_ask PORT COMMAND: the reply lines to one ASCII-protocol command, up to END
# (stats) or the first line (version), CRs removed. Plain bash /dev/tcp: no nc needed.
memcached_ask() {
	local fd line
	exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
	printf '%s\r\n' "$2" >&"$fd"
	while IFS= read -r -t 5 line <&"$fd"; do
		line=${line%$'\r'}
		echo "$line"
		case $line in END | VERSION\ * | ERROR* | CLIENT_ERROR* | SERVER_ERROR*) break ;; esac
	done
	exec {fd}>&-
}

memcached_version() {
	[[ $(memcached_ask "$1" version) == VERSION\ * ]]
}

# memcached_is PORT PID: the memcached on PORT answers `version` and is process PID.
memcached_is() {
	memcached_version "$1" &&
		[ "$(memcached_ask "$1" stats | sed -n 's/^STAT pid //p')" = "$2" ]
}

# http_get PORT: the body of GET / on PORT.
http_get() {
	curl -sf --max-time 5 "http://127.0.0.1:$1/"
}

# nginx_serves PORT TOKEN: GET / answers TOKEN.
nginx_serves() {
	[ "$(http_get "$1")" = "$2" ]
}

# children PID: the pids whose parent is PID.
children() {
	ps --ppid "$1" -o pid= | tr -d ' '
}

count_is() {
	[ "$(children "$1" | wc -l)" -eq "$2" ]
}

@test "redis-server: answers PING, a SIGKILL brings a new redis, stop ends it and closes its port" {
	need redis-server redis-cli
	local port old new
	port=$(free_port 16379)
	make_service redis "exec redis-server --port $port --bind 127.0.0.1 --save '' --appendonly no --dir \"\$PWD\""
	start_supervise
	wait_until 15 up_with_pid redis
	track redis
	old=$(service_pid redis)
	wait_until 15 redis_is "$port" "$old"

	kill -KILL "$old"
	wait_until 15 up_with_new_pid redis "$old"
	track redis
	new=$(service_pid redis)
	wait_until 15 redis_is "$port" "$new"
	[ "$(status_field redis restarts)" -ge 1 ]

	run svctl stop redis
	assert_success
	state_is redis down
	wait_until 15 gone_from_proc "$new"
	wait_until 15 not_listening "$port"
	! redis_pong "$port" || false
}

@test "redis-server --supervised systemd with notify: svctl start returns once redis said READY=1" {
	need redis-server redis-cli
	local port pid
	port=$(free_port 16479)
	make_service rn "exec redis-server --supervised systemd --port $port --bind 127.0.0.1 --save '' --appendonly no --dir \"\$PWD\"" \
		notify= down=
	start_supervise_quiet rn
	state_is rn down
	not_listening "$port"

	run svctl -w 15 start rn
	assert_success
	# no waiting from here on: start returned only after READY=1
	[ "$(status_field rn ready)" = 1 ]
	state_is rn up
	pid=$(service_pid rn)
	track rn
	redis_pong "$port"
	[ "$(redis_pid "$port")" = "$pid" ]
	# it was redis that said so, through its NOTIFY_SOCKET: its STATUS= came along (its
	# /proc/PID/environ is no witness: redis writes its process title over it)
	[[ $(status_field rn text) == *"accept connections"* ]]
	run svctl status rn
	assert_output --regexp "^rn: up \\(pid $pid\\) [0-9]+s, .*ready"

	run svctl stop rn
	assert_success
	wait_until 15 gone_from_proc "$pid"
	wait_until 15 not_listening "$port"
}

@test "redis-server --daemonize yes with pidfile: the daemon is followed, restarted after SIGKILL, stopped" {
	need redis-server redis-cli
	local port old new pgid dir=$SV/rd
	port=$(free_port 16579)
	make_service rd "exec redis-server --daemonize yes --pidfile \"\$PWD/redis.pid\" --logfile \"\$PWD/redis.log\" --port $port --bind 127.0.0.1 --save '' --appendonly no --dir \"\$PWD\"" \
		pidfile=redis.pid
	start_supervise
	wait_until 15 up_with_pid rd
	track rd
	old=$(service_pid rd)
	[ "$(cat "$dir/redis.pid")" = "$old" ]
	# the daemon, in a session of its own, reparented to the supervisor
	[ "$(ps -o ppid= -p "$old" | tr -d ' ')" = "$SUP_PID" ]
	wait_until 15 redis_is "$port" "$old"

	kill -KILL "$old"
	wait_until 15 up_with_new_pid rd "$old"
	track rd
	new=$(service_pid rd)
	# the pid file left by the killed daemon named a dead process: the one followed now
	# is the new daemon, the leader of its own process group
	[ "$(cat "$dir/redis.pid")" = "$new" ]
	pgid=$(status_field rd pgid)
	[ "$pgid" = "$new" ]
	wait_until 15 redis_is "$port" "$new"

	run svctl stop rd
	assert_success
	state_is rd down
	wait_until 15 gone_from_proc "$new"
	wait_until 15 group_gone "$pgid"
	wait_until 15 not_listening "$port"
}

@test "memcached: answers version, a SIGKILL brings a new memcached, stop ends it and closes its port" {
	need memcached
	local port old new user=
	port=$(free_port 21211)
	# as root memcached wants a user to switch to
	[ "$(id -u)" = 0 ] && user="-u nobody"
	make_service mc "exec memcached -l 127.0.0.1 -p $port -U 0 $user"
	start_supervise
	wait_until 15 up_with_pid mc
	track mc
	old=$(service_pid mc)
	wait_until 15 memcached_is "$port" "$old"

	kill -KILL "$old"
	wait_until 15 up_with_new_pid mc "$old"
	track mc
	new=$(service_pid mc)
	wait_until 15 memcached_is "$port" "$new"

	run svctl stop mc
	assert_success
	state_is mc down
	wait_until 15 gone_from_proc "$new"
	wait_until 15 not_listening "$port"
}

@test "nginx in the foreground: serves, a SIGKILLed master's workers go and a new master serves, stop empties its group" {
	need nginx curl
	local port token old oldpgid new newpgid w workers
	port=$(free_port 18080)
	token="served by supervise test $BATS_TEST_NUMBER $$"
	local user=
	[ "$(id -u)" = 0 ] && user="user root;"
	make_service web "exec nginx -p \"\$PWD/\" -e \"\$PWD/error.log\" -c \"\$PWD/nginx.conf\" -g 'daemon off;'" \
		"nginx.conf=$user
worker_processes 2;
pid nginx.pid;
error_log error.log;
events { worker_connections 64; }
http {
	access_log access.log;
	client_body_temp_path client_body_temp;
	proxy_temp_path proxy_temp;
	fastcgi_temp_path fastcgi_temp;
	uwsgi_temp_path uwsgi_temp;
	scgi_temp_path scgi_temp;
	server {
		listen 127.0.0.1:$port;
		root .;
		location = / { try_files /index.html =404; }
		location / { return 404; }
	}
}" \
		"index.html=$token"
	start_supervise
	wait_until 15 up_with_pid web
	track web
	old=$(service_pid web)
	oldpgid=$(status_field web pgid)
	wait_until 15 nginx_serves "$port" "$token"
	wait_until 15 count_is "$old" 2
	workers=$(children "$old")
	for w in $workers; do
		[ "$(ps -o pgid= -p "$w" | tr -d ' ')" = "$oldpgid" ]
	done

	# the master dies; its workers, left in its group, still hold the listening socket
	kill -KILL "$old"
	wait_until 15 up_with_new_pid web "$old"
	track web
	# the old instance's workers are stopped, nothing of it keeps the port
	for w in $workers; do
		wait_until 15 gone_from_proc "$w"
	done
	wait_until 15 group_gone "$oldpgid"
	wait_until 15 nginx_serves "$port" "$token"
	new=$(service_pid web)
	newpgid=$(status_field web pgid)
	[ "$newpgid" != "$oldpgid" ]
	[ "$(cat "$SV/web/nginx.pid")" = "$new" ]
	wait_until 15 count_is "$new" 2

	run svctl stop web
	assert_success
	state_is web down
	wait_until 15 group_gone "$newpgid"
	wait_until 15 not_listening "$port"
	! http_get "$port" || false
}
