#!/usr/bin/env bats
# How supervise fits into a system (README "Install"): systemd's readiness protocol
# (READY=1, STOPPING=1 on NOTIFY_SOCKET, which no service sees), the unit and what
# make install puts in place, svctl's bash completion, and the Debian package.
# Needs: python3 (the NOTIFY_SOCKET listener), systemd (systemd-analyze, for the unit
# only), dpkg-dev, debhelper and lintian (the package; skipped without them).

bats_require_minimum_version 1.5.0
load helpers

# --- NOTIFY_SOCKET ---

# listen_notify SOCKET OUT: a datagram socket at SOCKET, as systemd's for Type=notify;
# each datagram goes to OUT as one line, followed by "control=yes" or "control=no": did
# RUN/control exist when it arrived (READY=1 must come once supervise takes commands).
listen_notify() {
	python3 - "$1" "$2" "$RUN/control" <<'EOF' 3>&- &
import os, socket, sys
path, out, control = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a", buffering=1) as f:
    f.write("listening\n")
    while True:
        d = s.recv(4096).decode(errors="replace").replace("\n", " ")
        f.write("%s control=%s\n" % (d, "yes" if os.path.exists(control) else "no"))
EOF
	EXTRA_PIDS="${EXTRA_PIDS:-} $!"
	wait_until 10 grep -q listening "$2"
}

@test "notify: READY=1 once supervise -f takes commands, STOPPING=1 when svctl shutdown begins" {
	command -v python3 >/dev/null || skip "python3 is needed for the NOTIFY_SOCKET listener"
	local sock=$BATS_TEST_TMPDIR/notify.sock got=$BATS_TEST_TMPDIR/notify.got
	listen_notify "$sock" "$got"
	make_service web "env > '$BATS_TEST_TMPDIR/env'; exec sleep 1000"
	NOTIFY_SOCKET=$sock start_supervise
	wait_until 10 grep -q 'READY=1' "$got"
	grep -q 'READY=1.* control=yes' "$got"
	run ! grep -q 'STOPPING=1' "$got"
	wait_until 10 test -s "$BATS_TEST_TMPDIR/env"
	run svctl -w 20 shutdown
	assert_success
	wait_until 10 grep -q 'STOPPING=1' "$got"
	# READY=1 before STOPPING=1, each once
	run grep -o -E 'READY=1|STOPPING=1' "$got"
	assert_output "READY=1
STOPPING=1"
}

@test "notify: STOPPING=1 when TERM begins the shutdown (systemctl stop)" {
	command -v python3 >/dev/null || skip "python3 is needed for the NOTIFY_SOCKET listener"
	local sock=$BATS_TEST_TMPDIR/notify.sock got=$BATS_TEST_TMPDIR/notify.got
	listen_notify "$sock" "$got"
	# a service slow to stop: STOPPING=1 comes when the shutdown begins, not at its end
	make_service slow 'trap "sleep 2; exit 0" TERM; while :; do sleep 0.1; done'
	NOTIFY_SOCKET=$sock start_supervise
	wait_until 10 grep -q 'READY=1' "$got"
	wait_until 10 is_up slow
	kill -TERM "$SUP_PID"
	wait_until 1 grep -q 'STOPPING=1' "$got"
	kill -0 "$SUP_PID"
	wait_until 20 sup_gone
}

@test "notify: a service's environment has no NOTIFY_SOCKET of supervise's, even with notify it has its own" {
	command -v python3 >/dev/null || skip "python3 is needed for the NOTIFY_SOCKET listener"
	local sock=$BATS_TEST_TMPDIR/notify.sock got=$BATS_TEST_TMPDIR/notify.got
	listen_notify "$sock" "$got"
	make_service plain "env > '$BATS_TEST_TMPDIR/env.plain'; exec sleep 1000"
	make_service told "env > '$BATS_TEST_TMPDIR/env.told'; exec sleep 1000" notify=
	NOTIFY_SOCKET=$sock SVTEST_MARK=passed start_supervise
	wait_until 10 test -s "$BATS_TEST_TMPDIR/env.plain"
	wait_until 10 test -s "$BATS_TEST_TMPDIR/env.told"
	# the environment is passed on (the mark), NOTIFY_SOCKET is not
	grep -q '^SVTEST_MARK=passed$' "$BATS_TEST_TMPDIR/env.plain"
	run ! grep -q '^NOTIFY_SOCKET=' "$BATS_TEST_TMPDIR/env.plain"
	# a notify service gets its own socket in RUNDIR, never supervise's
	run grep '^NOTIFY_SOCKET=' "$BATS_TEST_TMPDIR/env.told"
	assert_success
	refute_output --partial "$sock"
	assert_output --partial "/notify/told"
}

@test "notify: after svctl reexec, a new service still lacks NOTIFY_SOCKET and STOPPING=1 still comes" {
	command -v python3 >/dev/null || skip "python3 is needed for the NOTIFY_SOCKET listener"
	local sock=$BATS_TEST_TMPDIR/notify.sock got=$BATS_TEST_TMPDIR/notify.got
	listen_notify "$sock" "$got"
	make_sleeper a
	NOTIFY_SOCKET=$sock start_supervise
	wait_until 10 grep -q 'READY=1' "$got"
	run svctl reexec
	assert_success
	wait_until 10 log_has 're-executed'
	# the socket is kept for supervise itself, and still hidden from what it starts
	make_service late "env > '$BATS_TEST_TMPDIR/env.late'; exec sleep 1000"
	wait_until 10 test -s "$BATS_TEST_TMPDIR/env.late"
	run ! grep -q '^NOTIFY_SOCKET=' "$BATS_TEST_TMPDIR/env.late"
	kill -TERM "$SUP_PID"
	wait_until 10 grep -q 'STOPPING=1' "$got"
}

@test "notify: supervise without NOTIFY_SOCKET starts as before" {
	make_sleeper a
	start_supervise
	wait_until 10 is_up a
}

# --- make install and the systemd unit ---

# install_tree DIR [make variables...]: make install into DIR with the flavour of the
# programs already built (so a make test SAN=1 run keeps its binaries).
install_tree() {
	local dir=$1 san=
	shift
	[ "$(cat "$ROOT/bin/.flavour" 2>/dev/null)" = obj-san ] && san=1
	make -s -C "$ROOT" install SAN="$san" "$@" >"$BATS_TEST_TMPDIR/make.out" 2>&1 ||
		{ cat "$BATS_TEST_TMPDIR/make.out" >&2; return 1; }
	[ -d "$dir" ]
}

@test "install: make install DESTDIR PREFIX puts programs, man pages, unit, completion and SVDIR in place" {
	local d=$BATS_TEST_TMPDIR/dest
	install_tree "$d" DESTDIR="$d" PREFIX=/usr
	run bash -c "cd '$d' && find . -mindepth 1 \\( -type f -o -type d -empty \\) | sort"
	assert_output "./etc/supervise
./usr/bin/supervise
./usr/bin/svctl
./usr/bin/svlog
./usr/lib/systemd/system/supervise.service
./usr/share/bash-completion/completions/svctl
./usr/share/man/man5/supervise-service.5
./usr/share/man/man8/supervise.8
./usr/share/man/man8/svctl.8
./usr/share/man/man8/svlog.8"
	[ -x "$d/usr/bin/supervise" ] && [ -x "$d/usr/bin/svctl" ] && [ -x "$d/usr/bin/svlog" ]
	# the unit runs the installed program on the package's directories
	run grep -E '^(Type|ExecStart|ExecReload|KillMode|Restart|RuntimeDirectory|RuntimeDirectoryPreserve|NotifyAccess)=' \
		"$d/usr/lib/systemd/system/supervise.service"
	assert_output "Type=notify
NotifyAccess=main
ExecStart=/usr/bin/supervise -f -d /etc/supervise -r /run/supervise
ExecReload=/bin/kill -HUP \$MAINPID
KillMode=process
Restart=always
RuntimeDirectory=supervise
RuntimeDirectoryPreserve=yes"
	run grep -c @ "$d/usr/lib/systemd/system/supervise.service"
	assert_output 0
}

@test "install: UNITDIR, COMPLETIONDIR and SVDIR_DEFAULT move what they name" {
	local d=$BATS_TEST_TMPDIR/dest
	install_tree "$d" DESTDIR="$d" PREFIX=/usr UNITDIR=/lib/systemd/system \
		COMPLETIONDIR=/usr/share/bash-completion/x SVDIR_DEFAULT=/srv/sv
	[ -f "$d/lib/systemd/system/supervise.service" ]
	[ -f "$d/usr/share/bash-completion/x/svctl" ]
	[ -d "$d/srv/sv" ]
	grep -q '^ExecStart=/usr/bin/supervise -f -d /srv/sv -r /run/supervise$' \
		"$d/lib/systemd/system/supervise.service"
}

@test "unit: systemd-analyze verify accepts the installed unit, without a warning" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is needed (apt-get install systemd)"
	# installed under a real prefix (no DESTDIR): verify checks that ExecStart's program
	# exists, and finds the man pages of Documentation= through MANPATH
	local p=$BATS_TEST_TMPDIR/prefix
	install_tree "$p" PREFIX="$p/usr" SVDIR_DEFAULT="$p/etc/supervise"
	local opts=()
	command -v man >/dev/null || opts=(--man=no) # no man-db: the pages cannot be looked up
	MANPATH=$p/usr/share/man run systemd-analyze verify "${opts[@]}" \
		"$p/usr/lib/systemd/system/supervise.service"
	assert_success
	assert_output ''
}

# --- bash completion ---

# complete_line WORD...: calls the completion as bash would for a line whose last word
# is being completed; prints COMPREPLY sorted, on one line. Anything the completion
# writes to stderr fails the test.
complete_line() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_svctl 2>"$BATS_TEST_TMPDIR/complete.err"
	if [ -s "$BATS_TEST_TMPDIR/complete.err" ]; then
		cat "$BATS_TEST_TMPDIR/complete.err" >&2
		return 1
	fi
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
	echo
}

load_completion() {
	# shellcheck source=/dev/null # not followed here: make lint checks the file on its own
	source "$ROOT/svctl/svctl.bash-completion"
	[ "$(complete -p svctl)" = "complete -F _svctl svctl" ]
}

@test "completion: commands, options, signal names, wait states, --json, -f" {
	load_completion
	run complete_line svctl ''
	assert_output "list log once reexec rescan restart shutdown signal start status stop wait watch"
	run complete_line svctl re
	assert_output "reexec rescan restart"
	run complete_line svctl -
	assert_output "-d -r -w"
	run complete_line svctl -w 3 st
	assert_output "start status stop"
	run complete_line svctl signal ''
	assert_output "ALRM CONT HUP INT KILL QUIT STOP TERM USR1 USR2 WINCH"
	run complete_line svctl signal U
	assert_output "USR1 USR2"
	run complete_line svctl wait ''
	assert_output "down ready up"
	run complete_line svctl status -
	assert_output "--json"
	run complete_line svctl watch -
	assert_output "--json"
	run complete_line svctl log -
	assert_output "-f"
	run complete_line svctl shutdown ''
	assert_output ""
}

@test "completion: service names of the running supervisor named by -d and -r on the line" {
	load_completion
	make_sleeper web
	make_sleeper worker
	make_sleeper db
	start_supervise
	wait_until 10 is_up web
	wait_until 10 is_up worker
	wait_until 10 is_up db
	# the environment names another place: the line wins, as it does for svctl
	export SVDIR=$BATS_TEST_TMPDIR/elsewhere SVRUN=$BATS_TEST_TMPDIR/elsewhere/run
	run complete_line "$BIN/svctl" -d "$SV" -r "$RUN" start ''
	assert_output "db web worker"
	run complete_line "$BIN/svctl" -d "$SV" -r "$RUN" stop w
	assert_output "web worker"
	run complete_line "$BIN/svctl" -r"$RUN" -d"$SV" signal TERM ''
	assert_output "db web worker"
	run complete_line "$BIN/svctl" -d "$SV" -r "$RUN" -w 2 wait up wo
	assert_output "worker"
	run complete_line "$BIN/svctl" -d "$SV" -r "$RUN" status --json d
	assert_output "db"
	run complete_line "$BIN/svctl" -d "$SV" -r "$RUN" log -f ''
	assert_output "db web worker"
	# -d alone: RUNDIR is SVDIR/.supervise, not this test's: no name, quietly
	run complete_line "$BIN/svctl" -d "$SV" start ''
	assert_success
	assert_output ""
}

@test "completion: service names with SVDIR and SVRUN in the environment; loggers as NAME/log" {
	load_completion
	make_sleeper api
	mkdir -p "$SV/.api-log"
	printf '#!/bin/sh\nexec cat >/dev/null\n' > "$SV/.api-log/run"
	chmod +x "$SV/.api-log/run"
	mv "$SV/.api-log" "$SV/api/log"
	start_supervise
	wait_until 10 is_up api
	wait_until 10 test -f "$RUN/status/api:log"
	export SVDIR=$SV SVRUN=$RUN
	run complete_line "$BIN/svctl" restart ''
	assert_output "api api/log"
	run complete_line "$BIN/svctl" once api/
	assert_output "api/log"
}

@test "completion: no supervisor and no RUNDIR: no name, nothing on stderr" {
	load_completion
	export SVDIR=$BATS_TEST_TMPDIR/none SVRUN=$BATS_TEST_TMPDIR/none/run
	run complete_line "$BIN/svctl" start ''
	assert_success
	assert_output ""
	# svctl not on PATH and the word not a program: the same
	run complete_line no-such-svctl-here stop ''
	assert_success
	assert_output ""
}

@test "completion: a supervisor that has exited: the names it left, nothing on stderr" {
	load_completion
	make_sleeper left
	start_supervise
	wait_until 10 is_up left
	kill -KILL "$SUP_PID"
	wait_until 10 sup_gone
	run complete_line "$BIN/svctl" -d "$SV" -r "$RUN" stop ''
	assert_success
	assert_output "left"
}

# --- the Debian package ---

@test "package: dpkg-buildpackage builds a .deb with everything in place, lintian finds no error" {
	# built from the sources in a copy of the tree, whatever bin/ holds: once is enough
	[ "$(cat "$ROOT/bin/.flavour" 2>/dev/null)" != obj-san ] ||
		skip "the package does not depend on the sanitizer build (make test runs this)"
	for p in dpkg-buildpackage dh lintian; do
		command -v "$p" >/dev/null ||
			skip "$p is needed (apt-get install dpkg-dev debhelper lintian)"
	done
	run "$ROOT/debian/check-package" "$BATS_TEST_TMPDIR/pkg"
	echo "$output" >&2
	assert_success
	assert_output --partial "check-package: ok"
}
