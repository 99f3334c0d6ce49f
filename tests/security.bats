#!/usr/bin/env bats
# Security: a supervisor running as root against an unprivileged local user, svtest-mallory
# (and svtest-bob where a second one is needed). One test per finding of the security
# review ("security N: ..."; finding 3, the logger's, is svlog's to test): each reproduces the
# attack with the attacker's steps run as that user (setpriv), and asserts that it fails
# and that the victim directory, a stand-in for /etc, is as it was. Positive controls
# check that the rules are not stricter than they should be.
# Needs root (the tests skip otherwise). The two users are made when missing and kept.
# Cleanup: what a test registered in HOOKS, the helpers' cleanup_all, every process of the
# two users that this test started (by pid: see uid_pids), then what is in AFTER.
load helpers

MAL=svtest-mallory
BOB=svtest-bob

# --- users ---

# ensure_user NAME: a system user without a home and without a shell, made once.
ensure_user() {
	id -u "$1" >/dev/null 2>&1 && return 0
	local shell=/usr/sbin/nologin
	[ -x "$shell" ] || shell=/bin/false
	if getent group "$1" >/dev/null; then
		useradd -M -r -s "$shell" -g "$1" "$1" || id -u "$1" >/dev/null
	else
		useradd -M -r -s "$shell" -U "$1" || id -u "$1" >/dev/null
	fi
}

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root: the attacks are tried against a root supervisor"
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
	command -v useradd >/dev/null || skip "needs useradd (passwd)"
	ensure_user "$MAL"
	ensure_user "$BOB"
}

setup() {
	umask 022
	export SVTEST_SEC=$BATS_TEST_TMPDIR
	SV=$BATS_TEST_TMPDIR/sv
	RUN=$BATS_TEST_TMPDIR/run
	SUPLOG=$BATS_TEST_TMPDIR/supervise.stderr
	SUP_PID=
	HOOKS=()
	AFTER=()
	mkdir -p "$SV"
	MU=$(id -u "$MAL") MG=$(id -g "$MAL") BU=$(id -u "$BOB") BG=$(id -g "$BOB")
	open_path "$BATS_TEST_TMPDIR"
	# mallory's own directory, as her home would be
	MALDIR=$BATS_TEST_TMPDIR/mal
	mkdir -m 755 "$MALDIR"
	chown "$MU:$MG" "$MALDIR"
	# the victim: root's, as /etc is
	VICTIM=$BATS_TEST_TMPDIR/victim
	mkdir -m 755 "$VICTIM" "$VICTIM/cron.d"
	echo '# kept' > "$VICTIM/cron.d/existing"
	# shellcheck disable=SC2016 # a shadow line, dollars and all
	echo 'root:$6$SVTEST-SHADOW-SECRET$x:19000:0:99999:7:::' > "$VICTIM/shadow"
	chmod 600 "$VICTIM/shadow"
	VICTIM_BEFORE=$(victim_snapshot)
}

teardown() {
	local h
	for h in "${HOOKS[@]}"; do
		eval "$h" || true
	done
	cleanup_all
	kill_uid_procs "$MU"
	kill_uid_procs "$BU"
	for h in "${AFTER[@]}"; do
		eval "$h" || true
	done
	return 0
}

# as_mal CMD...: CMD as mallory, with her group only. as_bob: the same as bob.
as_mal() {
	setpriv --reuid="$MU" --regid="$MG" --clear-groups -- "$@"
}

as_bob() {
	setpriv --reuid="$BU" --regid="$BG" --clear-groups -- "$@"
}

# open_path DIR: DIR and every directory above it searchable by others, so that mallory
# can reach what is hers below it (nothing becomes writable).
open_path() {
	local d=$1
	while [ -n "$d" ] && [ "$d" != / ]; do
		[ -O "$d" ] && chmod o+x "$d"
		d=$(dirname "$d")
	done
}

# uid_pids UID: every live process (not a zombie) of this test whose real uid is UID,
# found by uid (ps -U), never by name. A process is this test's when it carries SVTEST_SEC in
# its environment (set in setup: the supervisor, its services and everything run with
# setpriv inherit it), so that processes of the same users started by anything else on
# the machine are left alone.
uid_pids() {
	local p st
	ps -U "$1" -o pid=,stat= 2>/dev/null | while read -r p st; do
		[ "${st#Z}" = "$st" ] &&
			grep -qzxF "SVTEST_SEC=$SVTEST_SEC" "/proc/$p/environ" 2>/dev/null &&
			echo "$p"
	done
	return 0
}

kill_uid_procs() {
	local p i
	[ -n "$1" ] && [ "$1" != 0 ] || return 0
	for i in $(seq 1 50); do
		p=$(uid_pids "$1")
		[ -z "$p" ] && return 0
		kill -CONT "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
		sleep 0.1
	done
	return 0
}

# uids PID: the real, effective, saved and filesystem uids of PID.
uids() {
	awk '/^Uid:/ { print $2, $3, $4, $5; exit }' "/proc/$1/status" 2>/dev/null
}

runs_as() {
	[ "$(uids "$1")" = "$2 $2 $2 $2" ]
}

alive() {
	local s
	s=$(cut -d ' ' -f 3 "/proc/$1/stat" 2>/dev/null) && [ "$s" != Z ]
}

up_with_pid() {
	is_up "$1" && pid_changed "$1" 0
}

ready_is() {
	[ "$(status_field "$1" ready)" = "$2" ]
}

# --- the victim ---

# Every entry of the victim directory: type, mode, owner, size, and each file's checksum.
victim_snapshot() {
	(cd "$VICTIM" && find . -printf '%p %y %m %U %s %l\n' | sort &&
		find . -type f -exec md5sum {} + | sort)
}

victim_untouched() {
	local now
	now=$(victim_snapshot)
	if [ "$now" != "$VICTIM_BEFORE" ]; then
		echo "the victim directory changed:" >&2
		diff <(echo "$VICTIM_BEFORE") <(echo "$now") >&2
		return 1
	fi
}

# --- the supervisor and its services ---

# attempt_supervise RUNDIR: a foreground supervisor on RUNDIR, expected to refuse it.
# ATTEMPT is "exited" (exit status in ATTEMPT_RC, stderr in ATTEMPT_ERR) or "ran" when it
# took RUNDIR and served (it is then stopped).
attempt_supervise() {
	local pid
	ATTEMPT_ERR=$BATS_TEST_TMPDIR/attempt.stderr
	ATTEMPT_RC=
	"$BIN/supervise" -f -d "$SV" -r "$1" 2>"$ATTEMPT_ERR" 3>&- &
	pid=$!
	SUP_PID=$pid
	wait_until 10 exited_or_serving "$pid" "$1"
	if alive "$pid"; then
		ATTEMPT=ran
		kill -TERM "$pid"
		wait "$pid" || true
	else
		ATTEMPT=exited
		ATTEMPT_RC=0
		wait "$pid" || ATTEMPT_RC=$?
	fi
	SUP_PID=
	echo "supervise on $1: $ATTEMPT ${ATTEMPT_RC:+(exit $ATTEMPT_RC)}; stderr:" >&2
	cat "$ATTEMPT_ERR" >&2
}

exited_or_serving() {
	! alive "$1" || test -p "$2/control"
}

# refused_with REGEX: the attempt ended at once with exit 1 and a message matching REGEX.
refused_with() {
	[ "$ATTEMPT" = exited ] || { echo "supervise took the run directory" >&2; return 1; }
	[ "$ATTEMPT_RC" = 1 ]
	grep -Eq -- "$1" "$ATTEMPT_ERR"
}

# A supervisor on RUNDIR with no service, stopped again: RUNDIR laid out as supervise
# makes it, for a test that then plants something in it.
init_rundir() {
	local empty=$BATS_TEST_TMPDIR/empty
	mkdir -p "$empty"
	"$BIN/supervise" -f -d "$empty" -r "$RUN" 2>>"$SUPLOG" 3>&- &
	SUP_PID=$!
	wait_until 10 test -p "$RUN/control"
	kill -TERM "$SUP_PID"
	wait "$SUP_PID" || true
	SUP_PID=
}

state_in() {
	local s w
	s=$(status_field "$1" state)
	shift
	for w in "$@"; do
		[ "$s" = "$w" ] && return 0
	done
	return 1
}

failed_with() {
	state_is "$1" failed && [[ $(status_field "$1" reason) =~ $2 ]]
}

show_status() {
	echo "--- $RUN/status/$1:" >&2
	cat "$RUN/status/$1" >&2 2>/dev/null
	return 0
}

# expect_failed NAME REGEX: NAME is not run: it settles in `failed` (never `up`) with a
# reason matching REGEX.
expect_failed() {
	wait_until 15 state_in "$1" failed up || { show_status "$1"; return 1; }
	if state_is "$1" up; then
		echo "$1 is up: it should have been refused" >&2
		show_status "$1"
		return 1
	fi
	wait_until 10 failed_with "$1" "$2" || { show_status "$1"; return 1; }
}

# expect_untrusted NAME FILE_REGEX: failed as untrusted, the reason naming the file.
expect_untrusted() {
	expect_failed "$1" untrusted
	[[ $(status_field "$1" reason) =~ $2 ]] || { show_status "$1"; return 1; }
}

# svctl_within SECS ARGS...: svctl ARGS exits 0 within SECS seconds.
svctl_within() {
	local secs=$1 t0 t1 rc=0
	shift
	t0=$(now_ms)
	timeout $((secs + 2)) "$BIN/svctl" -d "$SV" -r "$RUN" "$@" >/dev/null 2>&1 || rc=$?
	t1=$(now_ms)
	echo "svctl $*: exit $rc after $((t1 - t0)) ms" >&2
	[ "$rc" = 0 ] && [ $((t1 - t0)) -le $((secs * 1000)) ]
}

# A python that mallory may run (a per-user python under /root is not hers to run).
mal_python() {
	local c
	for c in /usr/bin/python3 /usr/local/bin/python3 "$(command -v python3)"; do
		[ -x "$c" ] && as_mal "$c" -c pass 2>/dev/null && { echo "$c"; return 0; }
	done
	return 1
}

# The sd_notify client, readable by anyone: notify.py MESSAGE to $NOTIFY_SOCKET, a path
# or, when it starts with @, an abstract socket (as sd_notify reads it).
make_notify_client() {
	NOTIFY_PY=$BATS_TEST_TMPDIR/notify.py
	cat >"$NOTIFY_PY" <<-'EOF'
		import os, socket, sys
		a = os.environ["NOTIFY_SOCKET"]
		if a.startswith("@"):
		    a = "\0" + a[1:]
		s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
		s.sendto(sys.argv[1].encode(), a)
	EOF
	chmod 644 "$NOTIFY_PY"
}

# No process of service NAME (its pid and its process group) runs as root.
no_root_process_of() {
	local pg p q u
	pg=$(status_field "$1" pgid)
	p=$(service_pid "$1")
	for q in $p $([ -n "$pg" ] && [ "$pg" != 0 ] && group_pids "$pg"); do
		[ "$q" = 0 ] && continue
		u=$(awk '/^Uid:/ { print $3; exit }' "/proc/$q/status" 2>/dev/null)
		if [ "$u" = 0 ]; then
			echo "process $q of $1 runs as root: $(tr '\0' ' ' <"/proc/$q/cmdline")" >&2
			return 1
		fi
	done
	return 0
}

# --- 1: RUNDIR through a planted symlink ---

@test "security 1: a RUNDIR that is a symlink a user planted is refused; nothing is written where it points" {
	as_mal ln -s "$VICTIM" "$MALDIR/svrun"
	attempt_supervise "$MALDIR/svrun"
	victim_untouched
	refused_with 'run directory .*(symbolic link|unsafe)'
}

# --- 2: RUNDIR and its path ---

@test "security 2: a RUNDIR below a directory another user can write is refused" {
	local open=$BATS_TEST_TMPDIR/open dir
	mkdir -m 777 "$open" # root's, but anyone's to write, without the sticky bit
	for dir in "$MALDIR" "$open"; do
		attempt_supervise "$dir/run"
		refused_with "run directory .*unsafe"
		grep -qF -- "$dir" "$ATTEMPT_ERR"
	done
	victim_untouched
}

@test "security 2: a RUNDIR subdirectory that another user owns, or that others can write, is refused" {
	local sub how
	for sub in log:mallory status:mallory reply:mode777; do
		how=${sub#*:}
		sub=${sub%%:*}
		rm -rf "$RUN"
		init_rundir
		if [ "$how" = mallory ]; then
			chown "$MU:$MG" "$RUN/$sub"
		else
			chmod 777 "$RUN/$sub"
		fi
		attempt_supervise "$RUN"
		refused_with "unsafe"
		grep -Eq -- "(^|[/ '])$sub([/: ',]|\$)" "$ATTEMPT_ERR"
	done
}

@test "security 2: a log/NAME another user owns makes NAME failed; nothing is written through her symlinks" {
	init_rundir
	# a: her directory, holding current -> the victim; b: log/b itself her symlink
	mkdir -m 755 "$RUN/log/a"
	ln -s "$VICTIM/cron.d/current" "$RUN/log/a/current"
	chown -h "$MU:$MG" "$RUN/log/a" "$RUN/log/a/current"
	ln -s "$VICTIM/cron.d" "$RUN/log/b"
	chown -h "$MU:$MG" "$RUN/log/b"
	make_service a 'echo "* * * * * root payload-a"; exec sleep 1000'
	make_service b 'echo "* * * * * root payload-b"; exec sleep 1000'
	make_service c 'echo "* * * * * root payload-c"; exec sleep 1000'
	start_supervise
	wait_until 10 up_with_pid c
	wait_until 15 state_in a failed up
	wait_until 15 state_in b failed up
	victim_untouched
	expect_failed a 'unsafe|owned by'
	expect_failed b 'unsafe|owned by|symbolic link|[Nn]ot a directory'
	# the one with a sound log directory logs as usual
	wait_until 10 grep -q payload-c "$RUN/log/c/current"
}

@test "security 2: renaming RUNDIR's path after the start and planting a symlink tree there changes nothing root writes" {
	local p=$BATS_TEST_TMPDIR/p
	mkdir -p "$p/a"
	RUN=$p/a/run
	make_service w 'echo "start $$"; exec sleep 1000'
	start_supervise
	wait_until 10 up_with_pid w
	wait_until 10 lines_at_least "$RUN/log/w/current" 1
	local old
	old=$(service_pid w)
	# what a user owning a component of the path could do: move the real directory away
	# and put a tree leading to the victim where it was
	mv "$p" "$p.moved"
	RUN=$p.moved/a/run # the directory the supervisor opened, for the checks and teardown
	mkdir -p "$p/a/run/log"
	ln -s "$VICTIM/cron.d" "$p/a/run/log/w"
	kill -KILL "$old"
	wait_until 10 restarted_somewhere
	victim_untouched
	wait_until 10 lines_at_least "$RUN/log/w/current" 2
	wait_until 10 pid_changed w "$old"
}

restarted_somewhere() {
	lines_at_least "$RUN/log/w/current" 2 || [ -e "$VICTIM/cron.d/current" ]
}

@test "security 2: positive control: a RUNDIR in a root-owned directory in /tmp is accepted" {
	local base
	base=$(mktemp -d /tmp/svtest-sec.XXXXXX)
	AFTER+=("rm -rf '$base'")
	RUN=$base/run
	make_sleeper ok
	start_supervise
	wait_until 10 up_with_pid ok
	run svctl -w 10 restart ok
	assert_success
}

@test "security 2: positive control: a root-owned symlink above RUNDIR is accepted" {
	mkdir -m 700 "$BATS_TEST_TMPDIR/real"
	ln -s "$BATS_TEST_TMPDIR/real" "$BATS_TEST_TMPDIR/link"
	RUN=$BATS_TEST_TMPDIR/link/run
	make_sleeper ok
	start_supervise
	wait_until 10 up_with_pid ok
	run svctl -w 10 restart ok
	assert_success
	test -p "$BATS_TEST_TMPDIR/real/run/control"
}

# --- 4: service directories root can trust ---

@test "security 4: a service directory owned by another user is not run" {
	make_service maldir 'exec sleep 1000' "user=$MAL"
	chown "$MU:$MG" "$SV/maldir"
	make_sleeper ok
	start_supervise
	expect_untrusted maldir 'maldir'
}

@test "security 4: a root-owned service directory whose run another user owns is not run" {
	make_service runhers 'exec sleep 1000' "user=$MAL"
	chown "$MU:$MG" "$SV/runhers/run"
	make_sleeper ok
	start_supervise
	expect_untrusted runhers '(^|[^a-z-])run([^a-z-]|$)'
}

@test "security 4: a service directory writable by others, or by another user's group, is not run" {
	make_service worldw 'exec sleep 1000' "user=$MAL"
	chmod o+w "$SV/worldw"
	make_service groupw 'exec sleep 1000' "user=$MAL"
	chgrp "$MG" "$SV/groupw"
	chmod g+w "$SV/groupw"
	make_sleeper ok
	start_supervise
	expect_untrusted worldw 'worldw'
	expect_untrusted groupw 'groupw'
}

@test "security 4: a symlinked service directory leading into another user's directory is not run" {
	as_mal mkdir "$MALDIR/svc"
	as_mal sh -c "printf '#!/bin/sh\nexec sleep 1000\n' > '$MALDIR/svc/run' && chmod 755 '$MALDIR/svc/run'"
	ln -s "$MALDIR/svc" "$SV/linked"
	make_sleeper ok
	start_supervise
	expect_untrusted linked 'linked|/mal(/|[ :]|$)'
}

@test "security 4: env/ writable by the service's user: her symlink to a root-only file does not hand her its contents" {
	make_service envleak "printf 'SECRET=%s\\n' \"\$SECRET\"; printf '%s\\n' \"\$SECRET\" > '$MALDIR/leak'; exec sleep 1000" "user=$MAL"
	mkdir -m 755 "$SV/envleak/env"
	chown "$MU:$MG" "$SV/envleak/env"
	as_mal ln -s "$VICTIM/shadow" "$SV/envleak/env/SECRET"
	make_sleeper ok
	start_supervise
	wait_until 15 state_in envleak failed up
	run grep -rs SVTEST-SHADOW-SECRET "$MALDIR" "$RUN/log/envleak"
	assert_failure
	expect_untrusted envleak '(^|[^a-z])env([^a-z]|$)'
	victim_untouched
}

@test "security 4: a user who can write her service's directory cannot delete user and be restarted as root" {
	make_service deluser 'exec sleep 1000' "user=$MAL"
	chmod 777 "$SV/deluser"
	make_sleeper ok
	start_supervise
	wait_until 15 state_in deluser failed up
	local old
	old=$(service_pid deluser)
	# the attack: no more user file, and her service killed so that it starts again
	as_mal rm -f "$SV/deluser/user"
	[ -n "$old" ] && [ "$old" != 0 ] && as_mal kill -KILL "$old"
	wait_until 10 deluser_settled "$old"
	sleep 0.5
	no_root_process_of deluser
	expect_untrusted deluser 'deluser|user'
	no_root_process_of deluser
}

deluser_settled() {
	state_is deluser failed || { is_up deluser && pid_changed deluser "$1"; }
}

@test "security 4: positive control: a root-owned service directory with user runs as that user" {
	make_service asmal 'exec sleep 1000' "user=$MAL"
	start_supervise
	wait_until 10 up_with_pid asmal
	runs_as "$(service_pid asmal)" "$MU"
}

# --- 5: pid files name the service's own daemon only ---

@test "security 5: a pid file naming another service's orphan is refused; stopping the service leaves the other running" {
	# B, root, leaves an orphan in its process group (reparented to the supervisor)
	make_service B "(sleep 1000 </dev/null >/dev/null 2>&1 & echo \$! > orphan); exec sleep 1000"
	# P, mallory's, a launcher that writes the orphan's pid into her pid file
	make_service P "cat '$SV/B/orphan' > '$MALDIR/p.pid'; exit 0" "user=$MAL" \
		"pidfile=$MALDIR/p.pid" down=
	start_supervise
	wait_until 10 up_with_pid B
	wait_until 10 test -s "$SV/B/orphan"
	local bpid orphan start
	bpid=$(service_pid B)
	orphan=$(cat "$SV/B/orphan")
	EXTRA_PIDS="${EXTRA_PIDS:-} $orphan"
	alive "$orphan"
	run svctl -w 10 start P
	start=$output
	local start_rc=$status
	run svctl -w 10 stop P
	# B and its orphan live on, untouched
	sleep 0.5
	alive "$bpid"
	alive "$orphan"
	[ "$(service_pid B)" = "$bpid" ]
	# and P's start was refused, for its pid file
	echo "svctl start P: exit $start_rc: $start" >&2
	[ "$start_rc" = 1 ]
	[[ $start =~ pidfile ]]
	grep -Eq 'P: .*pidfile' "$SUPLOG"
}

@test "security 5: a pid file naming a root process, for a service with user, is refused and the process not signalled" {
	# R, root, leaves an orphan in a session of its own: nothing ties it to R but the
	# supervisor's parenthood
	make_service R "(setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo \$! > orphan); exec sleep 1000"
	make_service P "cat '$SV/R/orphan' > '$MALDIR/p.pid'; exit 0" "user=$MAL" \
		"pidfile=$MALDIR/p.pid" down=
	start_supervise
	wait_until 10 up_with_pid R
	wait_until 10 test -s "$SV/R/orphan"
	local orphan
	orphan=$(cat "$SV/R/orphan")
	EXTRA_PIDS=$orphan
	EXTRA_PGIDS=$orphan
	runs_as "$orphan" 0
	run svctl -w 10 start P
	local start=$output start_rc=$status
	run svctl -w 10 stop P
	sleep 0.5
	alive "$orphan"
	[ "$(cut -d ' ' -f 3 "/proc/$orphan/stat")" = S ]
	echo "svctl start P: exit $start_rc: $start" >&2
	[ "$start_rc" = 1 ]
	[[ $start =~ pidfile ]]
}

@test "security 5: positive control: a self-daemonizing service with user is followed through its pid file" {
	make_service D "setsid sh -c 'echo \$\$ > \"$MALDIR/d.pid\"; exec sleep 1000' </dev/null >/dev/null 2>&1 & exit 0" \
		"user=$MAL" "pidfile=$MALDIR/d.pid"
	start_supervise
	wait_until 10 up_with_pid D
	local dpid
	dpid=$(cat "$MALDIR/d.pid")
	EXTRA_PGIDS="${EXTRA_PGIDS:-} $dpid"
	[ "$(service_pid D)" = "$dpid" ]
	runs_as "$dpid" "$MU"
	# reparented: its launcher is gone, the supervisor is its parent
	[ "$(awk '/^PPid:/ { print $2 }' "/proc/$dpid/status")" = "$SUP_PID" ]
	run svctl -w 10 stop D
	assert_success
	wait_until 10 gone_from_proc "$dpid"
}

# --- 6: no spawn a user can stall ---

cgroup2_root() {
	awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts
}

# Removes the test's cgroups once the supervisor is gone: whatever is left is killed.
remove_cgroups() {
	local d i
	for d in "$1"/*/; do
		[ -f "$d/cgroup.procs" ] || continue
		echo 0 >"$d/cgroup.freeze" 2>/dev/null
		echo 1 >"$d/cgroup.kill" 2>/dev/null
		for i in $(seq 1 50); do
			rmdir "$d" 2>/dev/null && break
			sleep 0.1
		done
	done
	rmdir "$1" 2>/dev/null
	return 0
}

@test "security 6: a user service stopped between its spawn and its exec (frozen cgroup) never stalls the supervisor" {
	local root cg
	root=$(cgroup2_root)
	[ -n "$root" ] || skip "no cgroup v2 hierarchy mounted"
	cg=$root/svtest-sec-$$-$BATS_TEST_NUMBER
	mkdir "$cg" 2>/dev/null || skip "cannot make a cgroup in $root"
	AFTER+=("remove_cgroups '$cg'")
	mkdir "$cg/frz"
	HOOKS+=("echo 0 > '$cg/frz/cgroup.freeze'")
	echo 1 >"$cg/frz/cgroup.freeze" 2>/dev/null || skip "no cgroup.freeze (kernel before 5.2)"
	# frz's process joins its frozen cgroup before its exec, and stops there
	make_service frz 'exec sleep 1000' "user=$MAL" down=
	make_sleeper ok
	start_supervise -c "$cg"
	wait_until 10 up_with_pid ok
	svctl_within 5 -w 0 start frz
	# the supervisor still answers and supervises
	svctl_within 5 -w 0 status
	svctl_within 5 status ok
	local old
	old=$(service_pid ok)
	kill -KILL "$old"
	wait_until 5 pid_changed ok "$old"
	wait_until 5 up_with_pid ok
	svctl_within 8 -w 6 restart ok
	state_is frz starting
	# thawed, it comes up
	echo 0 >"$cg/frz/cgroup.freeze"
	wait_until 10 up_with_pid frz
	runs_as "$(service_pid frz)" "$MU"
}

# The attacker's loop, run as mallory: SIGSTOP, again and again, to every process of hers
# that is a child of the supervisor (its pid, SP, is no secret): each new pid (the last
# one the kernel gave out is in /proc/loadavg) whose parent is the supervisor is kept,
# and stopped as soon as it is hers, which a spawned service is from its setuid() on.
# Bash builtins only, so that it forks nothing and comes round within microseconds.
# shellcheck disable=SC2016 # a script, expanded when it runs
STOP_LOOP='
read -r _ _ _ _ seen < /proc/loadavg
kids=()
while :; do
	read -r _ _ _ _ last < /proc/loadavg
	[ "$last" -lt "$seen" ] && seen=$last
	while [ "$seen" -lt "$last" ]; do
		seen=$((seen + 1))
		pp=
		while read -r k v _; do
			if [ "$k" = PPid: ]; then pp=$v; break; fi
		done 2>/dev/null < "/proc/$seen/status"
		[ "$pp" = "$SP" ] && kids=("$seen" "${kids[@]:0:31}")
	done
	for p in "${kids[@]}"; do
		kill -STOP "$p" 2>/dev/null
	done
done'

# Some process of uid $1 is stopped (state T).
some_stopped() {
	local p
	for p in $(uid_pids "$1"); do
		[ "$(cut -d ' ' -f 3 "/proc/$p/stat" 2>/dev/null)" = T ] && return 0
	done
	return 1
}

# What the supervisor and its children are doing (stat, wait channel), then fail.
show_supervisor() {
	ps -o pid,ppid,user,stat,wchan:24,args -p "$SUP_PID" --ppid "$SUP_PID" >&2
	return 1
}

# no_close_range.py PROGRAM ARG...: runs PROGRAM where close_range(2) fails with ENOSYS
# (a seccomp filter), as on kernels before 5.11, and with the highest descriptor limit:
# a child that closes its descriptors one by one between setuid() and exec then takes
# milliseconds there, the window the attack needs.
make_no_close_range() {
	NOCR_PY=$BATS_TEST_TMPDIR/no_close_range.py
	cat >"$NOCR_PY" <<-'EOF'
		import ctypes, os, resource, struct, sys
		libc = ctypes.CDLL(None, use_errno=True)
		def insn(code, jt, jf, k):
		    return struct.pack("HBBI", code, jt, jf, k)
		# ld nr; jeq 436 (close_range, the same number everywhere); ERRNO(ENOSYS); ALLOW
		prog = (insn(0x20, 0, 0, 0) + insn(0x15, 0, 1, 436) +
		        insn(0x06, 0, 0, 0x00050000 | 38) + insn(0x06, 0, 0, 0x7fff0000))
		buf = ctypes.create_string_buffer(prog, len(prog))
		class Fprog(ctypes.Structure):
		    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
		fp = Fprog(4, ctypes.cast(buf, ctypes.c_void_p))
		if (libc.prctl(38, ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0 or
		        libc.prctl(22, ctypes.c_ulong(2), ctypes.byref(fp), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0):
		    sys.exit("no_close_range: seccomp: " + os.strerror(ctypes.get_errno()))
		soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
		want = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
		resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
		os.execv(sys.argv[1], sys.argv[1:])
	EOF
}

@test "security 6: a user SIGSTOPping her processes while her services restart 50 times never stalls the supervisor (no close_range, as before 5.11)" {
	local names=() i stopper py
	for i in 0 1 2 3 4 5 6 7 8 9; do
		make_service "m$i" 'exec sleep 1000' "user=$MAL"
		names+=("m$i")
	done
	py=$(command -v python3) && make_no_close_range && "$py" "$NOCR_PY" /bin/true ||
		skip "needs python3 and seccomp, to take close_range away"
	"$py" "$NOCR_PY" "$BIN/supervise" -f -d "$SV" -r "$RUN" 2>>"$SUPLOG" 3>&- &
	SUP_PID=$!
	wait_until 10 test -p "$RUN/control"
	for i in "${names[@]}"; do
		wait_until 10 up_with_pid "$i"
	done
	# setpriv execs bash: $! is the loop itself
	setpriv --reuid="$MU" --regid="$MG" --clear-groups -- bash -c "MU=$MU SP=$SUP_PID; $STOP_LOOP" \
		</dev/null >/dev/null 2>&1 3>&- &
	stopper=$!
	HOOKS+=("kill -KILL $stopper")
	# five rounds of ten restarts (starts of one service are 1 s apart at least); a reply
	# to a command is the proof that the supervisor is not stuck in a spawn
	for _ in 1 2 3 4 5; do
		svctl_within 5 -w 0 restart "${names[@]}" || show_supervisor
		sleep 1.1
	done
	svctl_within 5 -w 0 restart m0 || show_supervisor
	wait_until 5 some_stopped "$MU"
	kill -KILL "$stopper"
	wait "$stopper" || true
	local p
	for p in $(uid_pids "$MU"); do
		kill -CONT "$p" 2>/dev/null || true
	done
	run svctl -w 15 restart "${names[@]}"
	assert_success
}

# --- 7: a bounded default log; a full RUNDIR ---

@test "security 7: the default log keeps current and previous, 1 MiB each by default, log-size each otherwise" {
	local line=0123456789012345678901234567890123456789
	make_service big "yes $line | head -c 3000000; echo; echo DONE; exec sleep 1000"
	make_service small "yes $line | head -c 300000; echo; echo DONE; exec sleep 1000" \
		log-size=100000
	start_supervise
	local n max f
	for n in big:1048576 small:100000; do
		max=${n#*:}
		n=${n%%:*}
		wait_until 20 grep -q '^DONE$' "$RUN/log/$n/current"
		ls -l "$RUN/log/$n" >&2
		# shellcheck disable=SC2012 # two plain names, sorted: what ls is for
		[ "$(ls "$RUN/log/$n" | tr '\n' ' ')" = "current previous " ]
		for f in current previous; do
			[ "$(stat -c %s "$RUN/log/$n/$f")" -le "$max" ]
		done
	done
}

# kill_listed FILE: the processes ("pid N") and groups ("pgid N") FILE lists.
kill_listed() {
	local kind n
	[ -f "$1" ] || return 0
	while read -r kind n; do
		case $kind in
		pid) kill -KILL "$n" 2>/dev/null ;;
		pgid) kill -KILL -- "-$n" 2>/dev/null ;;
		esac
	done <"$1"
	return 0
}

# Run in a private mount namespace: RUNDIR on a 2 MiB tmpfs, filled up, then a stop.
# Prints what it sees, one observation a line, for the test to check.
# shellcheck disable=SC2016 # a script, expanded when it runs
FULL_SCRIPT='
BIN=$1 SV=$2 SMALL=$3 SUPLOG=$4 LIST=$5
RUN=$SMALL/run
sv() { "$BIN/svctl" -d "$SV" -r "$RUN" "$@"; }
field() { sed -n "s/^$1=//p" "$RUN/status/s" 2>/dev/null | head -n 1; }
mount -t tmpfs -o size=2m,mode=0700 svtest-full "$SMALL" || { echo "no tmpfs"; exit 3; }
"$BIN/supervise" -f -d "$SV" -r "$RUN" 2>>"$SUPLOG" 3>&- &
sup=$!
echo "pid $sup" >> "$LIST"
for i in $(seq 200); do [ "$(field state)" = up ] && break; sleep 0.05; done
pid=$(field pid)
echo "pgid $(field pgid)" >> "$LIST"
echo "before: state=$(field state)"
dd if=/dev/zero of="$RUN/filler" bs=64k >/dev/null 2>&1
echo "free: $(df --output=avail "$SMALL" | tail -n 1 | tr -d " ") KiB"
sv -w 5 stop s >/dev/null 2>&1
echo "stop: exit $?"
for i in $(seq 20); do
	[ -e "/proc/$pid" ] || break
	sleep 0.1
done
[ -e "/proc/$pid" ] && echo "process: alive" || echo "process: gone"
for i in $(seq 10); do
	echo "full: state=$(field state) line=$(sv status s 2>/dev/null)"
	sleep 0.1
done
rm -f "$RUN/filler"
for i in $(seq 200); do [ "$(field state)" = down ] && break; sleep 0.05; done
echo "after: state=$(field state) line=$(sv status s 2>/dev/null)"
kill -TERM "$sup"
for i in $(seq 100); do kill -0 "$sup" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$sup" 2>/dev/null
exit 0'

@test "security 7: on a full RUNDIR a stopped service is never shown as up, and the status is right once there is room" {
	command -v unshare >/dev/null || skip "needs unshare (util-linux)"
	unshare -m true 2>/dev/null || skip "cannot make a mount namespace"
	local small=$BATS_TEST_TMPDIR/small list=$BATS_TEST_TMPDIR/ns.list
	mkdir -m 700 "$small"
	HOOKS+=("kill_listed '$list'")
	make_sleeper s
	run timeout 90 unshare -m --propagation private bash -c "$FULL_SCRIPT" full \
		"$BIN" "$SV" "$small" "$SUPLOG" "$list"
	echo "$output" >&2
	[ "$status" != 3 ] || skip "cannot mount a tmpfs"
	assert_success
	assert_line "before: state=up"
	assert_line "free: 0 KiB"
	assert_line "process: gone"
	refute_line --regexp '^full: state=up '
	refute_line --regexp '^full: .* line=s: up '
	assert_line --regexp '^after: state=down line=s: down '
}

# --- 8: notify with user ---

@test "security 8: a service with user and notify can send READY=1 and becomes ready" {
	local py
	py=$(mal_python) || skip "no python3 that $MAL may run"
	make_notify_client
	make_service n "'$py' '$NOTIFY_PY' READY=1; exec sleep 1000" "user=$MAL" notify= down=
	make_sleeper ok
	start_supervise
	run svctl -w 10 start n
	assert_success
	ready_is n 1
	runs_as "$(service_pid n)" "$MU"
}

@test "security 8: READY=1 from a process that is not the service's is not taken" {
	local py sock
	py=$(mal_python) || skip "no python3 that $MAL may run"
	make_notify_client
	# a service that says READY=1 only once the test allows it
	make_service q "printf '%s' \"\$NOTIFY_SOCKET\" > '$MALDIR/q.sock'
while [ ! -e '$MALDIR/go' ]; do sleep 0.1; done
'$py' '$NOTIFY_PY' READY=1; exec sleep 1000" "user=$MAL" notify=
	start_supervise
	wait_until 10 up_with_pid q
	wait_until 10 test -s "$MALDIR/q.sock"
	sock=$(cat "$MALDIR/q.sock")
	# root, bob, and mallory herself from outside the service send READY=1 to its socket
	NOTIFY_SOCKET=$sock "$py" "$NOTIFY_PY" READY=1 || true
	as_bob env NOTIFY_SOCKET="$sock" "$py" "$NOTIFY_PY" READY=1 2>/dev/null || true
	as_mal env NOTIFY_SOCKET="$sock" "$py" "$NOTIFY_PY" READY=1 2>/dev/null || true
	sleep 1
	show_status q
	is_up q
	ready_is q 0
	# the service's own READY=1 is taken
	touch "$MALDIR/go"
	wait_until 10 ready_is q 1
}

# --- 9: pid files: no symlink, no device or FIFO ---

@test "security 9: a pid file that is a symlink the service's user planted is refused" {
	as_mal ln -s "$MALDIR/real.pid" "$MALDIR/p.pid"
	make_service p "setsid sh -c 'echo \$\$ > \"$MALDIR/real.pid\"; exec sleep 1000' </dev/null >/dev/null 2>&1 & exit 0" \
		"user=$MAL" "pidfile=$MALDIR/p.pid"
	make_sleeper ok
	start_supervise
	expect_failed p 'pidfile.*(symbolic link|not a regular file)'
}

@test "security 9: a pid file that is a FIFO is refused without stalling the supervisor" {
	as_mal mkfifo "$MALDIR/p.pid"
	# should anything open it for reading and wait for a writer, this lets it go on
	HOOKS+=("timeout 2 sh -c 'echo > \"$MALDIR/p.pid\"' 2>/dev/null")
	make_service p 'exit 0' "user=$MAL" "pidfile=$MALDIR/p.pid"
	make_sleeper ok
	start_supervise
	wait_until 10 up_with_pid ok
	sleep 0.5
	svctl_within 8 -w 6 restart ok
	expect_failed p 'pidfile.*(symbolic link|not a regular file)'
}

# --- 10: svctl run by a user who may not control the supervisor ---

@test "security 10: svctl run by another user says permission denied, in one line, exit 1" {
	make_sleeper ok
	start_supervise
	wait_until 10 up_with_pid ok
	# a copy she can run wherever the checkout is
	cp "$BIN/svctl" "$BATS_TEST_TMPDIR/svctl"
	chmod 755 "$BATS_TEST_TMPDIR/svctl"
	local cmd rc
	for cmd in status "stop ok"; do
		rc=0
		# shellcheck disable=SC2086 # the command's words
		as_mal "$BATS_TEST_TMPDIR/svctl" -d "$SV" -r "$RUN" $cmd \
			>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" || rc=$?
		echo "svctl $cmd as $MAL: exit $rc; stderr:" >&2
		cat "$BATS_TEST_TMPDIR/err" >&2
		[ "$rc" = 1 ]
		[ "$(wc -l <"$BATS_TEST_TMPDIR/err")" = 1 ]
		grep -Eq '^svctl: permission denied: .* belongs to root' "$BATS_TEST_TMPDIR/err"
	done
	is_up ok
}
