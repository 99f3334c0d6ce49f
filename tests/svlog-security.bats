#!/usr/bin/env bats
# bin/svlog against a local attacker (README "svlog", SPEC "Security"): a root svlog
# must never write, create or open what an unprivileged user chose. Each test plays the
# attack as the user svtest-mallory (created here when missing), through setpriv, and
# checks both the refusal and that the victim, a stand-in for /etc under the test's
# temporary directory (root's, 0755, as /etc is), was not touched. Needs root.
load helpers

export LC_ALL=C # ls in byte order: rotated names sort by time
MALLORY=svtest-mallory

setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	if ! id -u "$MALLORY" >/dev/null 2>&1; then
		useradd -M -r -s /usr/sbin/nologin "$MALLORY"
		touch "$BATS_FILE_TMPDIR/user-created"
	fi
}

teardown_file() {
	if [ -f "$BATS_FILE_TMPDIR/user-created" ]; then
		userdel "$MALLORY"
	fi
}

setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root: the attacks are a user's against a root svlog"
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux) to act as another user"
	SV=$BATS_TEST_TMPDIR/sv
	RUN=$BATS_TEST_TMPDIR/run
	# shellcheck disable=SC2034 # read by cleanup_all (helpers.bash) in teardown
	SUPLOG=$BATS_TEST_TMPDIR/supervise.stderr
	# shellcheck disable=SC2034 # read by cleanup_all (helpers.bash) in teardown
	SUP_PID=
	M_UID=$(id -u "$MALLORY")
	M_GID=$(id -g "$MALLORY")
	# bats makes its temporary directories 0700: mallory must get through to this test's
	# (only those: nothing above the run's own directory is changed)
	case $BATS_TEST_TMPDIR in
	"$BATS_RUN_TMPDIR"/*) ;;
	*) skip "$BATS_TEST_TMPDIR is not under $BATS_RUN_TMPDIR: not opening its parents" ;;
	esac
	local p=$BATS_TEST_TMPDIR
	while [ "$p" != "$BATS_RUN_TMPDIR" ]; do
		chmod o+x "$p"
		p=$(dirname "$p")
	done
	chmod o+x "$BATS_RUN_TMPDIR"
	as_mallory test -x "$BATS_TEST_TMPDIR" ||
		skip "$MALLORY cannot reach $BATS_TEST_TMPDIR (a parent of $BATS_RUN_TMPDIR is closed)"
	# svlog where she can run it, wherever this tree is checked out (its directories
	# may be closed to her)
	mkdir -m 755 "$BATS_TEST_TMPDIR/bin"
	cp "$BIN/svlog" "$BATS_TEST_TMPDIR/bin/svlog"
	SVLOG_BIN=$BATS_TEST_TMPDIR/bin/svlog
	VICTIM=$BATS_TEST_TMPDIR/victim # stands for /etc: root's, mallory may not write it
	mkdir -p "$VICTIM/cron.d"
	chmod -R 755 "$VICTIM"
	HOME_M=$BATS_TEST_TMPDIR/mallory # a directory of hers, as a user's log directory is
	mkdir "$HOME_M"
	chown "$M_UID:$M_GID" "$HOME_M"
}

teardown() {
	cleanup_all
}

as_mallory() {
	setpriv --reuid="$M_UID" --regid="$M_GID" --clear-groups -- "$@"
}

# svlog ARGS...: as root, in the foreground, 20 s at most (a blocked open shows as 124).
svlog() {
	timeout 20 "$SVLOG_BIN" "$@"
}

# victim_untouched: nothing was created in the stand-in for /etc.
victim_untouched() {
	run ls -A "$VICTIM/cron.d"
	assert_output ''
	[ ! -e "$VICTIM/nologin" ]
}

# mallory_dir_given_back: DIR is hers, with whatever she left in it, and then root's
# again (chown without -R): only what she left can still be a trap.
mallory_dir_given_back() {
	chown root:root "$1"
}

@test "svlog: run as a user in her own directory works: files hers, rotation included" {
	d=$HOME_M/log
	seq 1 2000 > "$BATS_TEST_TMPDIR/in"
	run as_mallory timeout 20 "$SVLOG_BIN" -s 4096 -n 100 "$d" < "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_output ''
	cat "$d"/@*.s "$d/current" | cmp - "$BATS_TEST_TMPDIR/in"
	# shellcheck disable=SC2010 # svlog's names, plain characters; ls sorts them
	[ "$(ls "$d" | grep -c '^@')" -ge 2 ]
	run stat -c '%U %a' "$d" "$d/current" "$d/lock" "$d"/@*.s
	refute_output --partial root
	assert_line --index 0 "$MALLORY 755"
}

@test "svlog: a symlink at current before the start: the victim is not created" {
	d=$HOME_M/log
	as_mallory mkdir "$d"
	as_mallory ln -s "$VICTIM/cron.d/x" "$d/current"
	# as a root logger in her directory (a `user` service without log/user)
	run sh -c 'echo "* * * * * root evil" | "$0" "$1"' "$SVLOG_BIN" "$d"
	assert_failure 1
	assert_output "svlog: $d: owned by uid $M_UID, not by svlog's uid 0"
	victim_untouched
	# and once the directory is root's again, the link she left
	mallory_dir_given_back "$d"
	run sh -c 'echo "* * * * * root evil" | "$0" "$1"' "$SVLOG_BIN" "$d"
	assert_failure 1
	assert_output "svlog: $d/current: is a symbolic link"
	victim_untouched
	[ -L "$d/current" ]
}

@test "svlog: a symlink at lock before the start: the victim is not created" {
	d=$HOME_M/log
	as_mallory mkdir "$d"
	as_mallory ln -s "$VICTIM/nologin" "$d/lock"
	run svlog "$d" < /dev/null
	assert_failure 1
	assert_output "svlog: $d: owned by uid $M_UID, not by svlog's uid 0"
	victim_untouched
	mallory_dir_given_back "$d"
	run svlog "$d" < /dev/null
	assert_failure 1
	assert_output "svlog: $d/lock: is a symbolic link"
	victim_untouched
	[ ! -e "$d/current" ]
}

@test "svlog: DIR itself a symlink, with or without a trailing slash: nothing written where it points" {
	as_mallory ln -s "$VICTIM/cron.d" "$HOME_M/log"
	for d in "$HOME_M/log" "$HOME_M/log/" "$HOME_M/log//"; do
		run sh -c 'echo "* * * * * root evil" | "$0" "$1"' "$SVLOG_BIN" "$d"
		assert_failure 1
		assert_output "svlog: $HOME_M/log: is a symbolic link"
	done
	victim_untouched
	# a dangling one: svlog does not create the directory it names
	as_mallory ln -s "$VICTIM/newdir" "$HOME_M/log2"
	run svlog "$HOME_M/log2" < /dev/null
	assert_failure 1
	assert_output "svlog: $HOME_M/log2: is a symbolic link"
	[ ! -e "$VICTIM/newdir" ]
}

@test "svlog: DIR of another user, or writable by others: refused, nothing in it touched" {
	d=$HOME_M/log
	as_mallory mkdir "$d"
	as_mallory sh -c "echo hers > '$d/current'"
	run svlog "$d" < /dev/null
	assert_failure 1
	assert_output "svlog: $d: owned by uid $M_UID, not by svlog's uid 0"
	run ls -A "$d"
	assert_output current
	[ "$(cat "$d/current")" = hers ]
	# the other way round: her svlog on root's directory
	r=$BATS_TEST_TMPDIR/rootlog
	mkdir -m 755 "$r"
	run as_mallory timeout 20 "$SVLOG_BIN" "$r" < /dev/null
	assert_failure 1
	assert_output "svlog: $r: owned by uid 0, not by svlog's uid $M_UID"
	# root's, but where others (or a group) could plant names: sticky or not
	for how in 0777:others 1777:others 0757:others 0775:'its group' 1770:'its group'; do
		chmod "${how%%:*}" "$r"
		run svlog "$r/" < /dev/null
		assert_failure 1
		assert_output "svlog: $r: writable by ${how#*:} (mode ${how%%:*})"
	done
	run ls -A "$r"
	assert_output ''
}

@test "svlog: a FIFO or a directory at current or lock: refused at once, never opened" {
	d=$HOME_M/log
	as_mallory mkdir "$d"
	as_mallory mkfifo "$d/current"
	mallory_dir_given_back "$d"
	run svlog "$d" < /dev/null
	assert_failure 1
	assert_output "svlog: $d/current: not a regular file (a FIFO)"
	# at lock, opened for writing, a FIFO without a reader would block svlog for good
	rm "$d/current" "$d/lock"
	mkfifo "$d/lock"
	chown "$M_UID" "$d/lock"
	run svlog "$d" < /dev/null
	assert_failure 1
	assert_output "svlog: $d/lock: not a regular file (a FIFO)"
	rm "$d/lock"
	as_mallory mkdir "$HOME_M/log2"
	as_mallory mkdir "$HOME_M/log2/current"
	mallory_dir_given_back "$HOME_M/log2"
	run svlog "$HOME_M/log2" < /dev/null
	assert_failure 1
	assert_output "svlog: $HOME_M/log2/current: not a regular file (a directory)"
}

@test "svlog: a current she left, or one with a second name elsewhere: refused, neither written" {
	d=$HOME_M/log
	as_mallory mkdir "$d"
	as_mallory sh -c "echo hers > '$d/current'"
	mallory_dir_given_back "$d"
	run sh -c 'echo evil | "$0" "$1"' "$SVLOG_BIN" "$d"
	assert_failure 1
	assert_output "svlog: $d/current: owned by uid $M_UID, not by svlog's uid 0"
	[ "$(cat "$d/current")" = hers ]
	# a hard link to a file of root's (possible for a user where fs.protected_hardlinks
	# is 0): appending to current would append to it
	rm "$d/current"
	echo 'root file' > "$VICTIM/cron.d/x"
	ln "$VICTIM/cron.d/x" "$d/current"
	run sh -c 'echo "* * * * * root evil" | "$0" "$1"' "$SVLOG_BIN" "$d"
	assert_failure 1
	assert_output "svlog: $d/current: has 2 hard links, not one"
	[ "$(cat "$VICTIM/cron.d/x")" = 'root file' ]
}

# start_bg_svlog ARGS...: root svlog in the background reading the FIFO $IN, which the
# test holds open as fd 4; stderr in $ERR.
start_bg_svlog() {
	IN=$BATS_TEST_TMPDIR/in
	ERR=$BATS_TEST_TMPDIR/svlog.stderr
	mkfifo "$IN"
	exec 4<>"$IN"
	"$SVLOG_BIN" "$@" <"$IN" 2>"$ERR" 3>&- 4>&- &
	LOG_PID=$!
	EXTRA_PIDS="${EXTRA_PIDS:-} $LOG_PID"
}

exited() {
	! kill -0 "$1" 2>/dev/null || [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" = Z ]
}

wait_exit() {
	wait_until 10 exited "$1"
	rc=0
	wait "$1" || rc=$?
}

rotated_some() {
	# shellcheck disable=SC2010 # svlog's names, plain characters; ls sorts them
	[ "$(ls "$1" | grep -c '^@')" -ge "$2" ]
}

# refused_or_rotated PID DIR NAME: svlog has exited, or rotated past NAME since.
refused_or_rotated() {
	# shellcheck disable=SC2010 # svlog's names, plain characters; ls sorts them
	exited "$1" || [ "$(ls "$2" | grep '^@' | tail -n 1)" '>' "$3" ]
}

# The DIR check is made at the start; these two give DIR to mallory afterwards (an
# administrator's chown -R while the logger runs), so that what stands between her and
# the victim is how svlog opens, renames and creates files in it.

@test "svlog: a symlink planted at current while svlog runs ends it at the next rotation" {
	d=$BATS_TEST_TMPDIR/log
	start_bg_svlog -s 4096 "$d"
	echo before >&4
	wait_until 10 grep -qx before "$d/current"
	chown "$M_UID" "$d"
	as_mallory ln -sfn "$VICTIM/cron.d/x" "$d/current"
	seq 1 2000 >&4 # 8893 bytes: at least one rotation
	wait_exit "$LOG_PID"
	exec 4>&-
	assert_equal "$rc" 1
	run cat "$ERR"
	assert_output "svlog: $d/current: is a symbolic link"
	victim_untouched
}

@test "svlog: a symlink re-planted at current during rotations, hundreds of times: never followed" {
	d=$BATS_TEST_TMPDIR/log
	start_bg_svlog -s 4096 -n 5 "$d"
	# lines as fast as svlog takes them: a rotation every 4096 bytes
	yes 'a line of the service, to be rotated and rotated' >&4 3>&- 4>&- &
	writer=$!
	EXTRA_PIDS="$EXTRA_PIDS $writer"
	wait_until 10 rotated_some "$d" 3
	chown "$M_UID" "$d"
	# her loop, 5 s at most: first a link that can only land in the window of a rotation
	# (current is missing just between the rename of the old one and the creation of the
	# new one: on the unpatched svlog, won within milliseconds); then a link taken away
	# and planted again, hundreds of times
	# shellcheck disable=SC2016 # perl's variables, in perl's quotes
	run as_mallory perl -e '
		my ($target, $link) = @ARGV;
		my ($won, $planted, $end) = (0, 0, time + 5);
		$won = symlink $target, $link until $won || time >= $end;
		$end = time + 5;
		while ($planted < 500 && time < $end) {
			unlink $link if -l $link;
			$planted++ if symlink $target, $link;
		}
		print $won ? 1 : 0, " $planted\n";' "$VICTIM/cron.d/x" "$d/current"
	assert_success
	read -r won planted <<<"$output"
	echo "mallory: in the window of a rotation: $won; planted afterwards: $planted" >&3
	[ "$planted" -ge 100 ]
	victim_untouched
	# svlog has refused, or goes on rotating into regular files of its own
	# shellcheck disable=SC2010 # svlog's names, plain characters; ls sorts them
	newest=$(ls "$d" | grep '^@' | tail -n 1)
	wait_until 10 refused_or_rotated "$LOG_PID" "$d" "$newest"
	kill "$writer"
	wait "$writer" || true # killed: quietly
	if exited "$LOG_PID"; then
		echo "svlog refused and exited" >&3
		wait_exit "$LOG_PID"
		assert_equal "$rc" 1
		run cat "$ERR"
		assert_output "svlog: $d/current: is a symbolic link"
	else
		echo "svlog still logging" >&3
		[ ! -L "$d/current" ]
		[ -f "$d/current" ]
		[ "$(stat -c %u "$d/current")" = 0 ]
	fi
	exec 4>&-
	victim_untouched
}

@test "svlog: a user service's logger with the same log/user works in a DIR of hers; without log/user it says why" {
	# README "svlog and other users", as it tells to set it up
	mkdir -p "$SV/.web/log"
	# shellcheck disable=SC2016 # the service's script, expanded when it runs
	printf '#!/bin/sh\nwhile :; do echo "hello from $(id -un)"; sleep 0.1; done\n' > "$SV/.web/run"
	printf '#!/bin/sh\nexec "%s" ./main\n' "$SVLOG_BIN" > "$SV/.web/log/run"
	chmod 755 "$SV" "$SV/.web/run" "$SV/.web/log/run"
	echo "$MALLORY" > "$SV/.web/user"
	echo "$MALLORY" > "$SV/.web/log/user"
	install -d -o "$MALLORY" -g "$M_GID" -m 750 "$SV/.web/log/main"
	mv "$SV/.web" "$SV/web"
	start_supervise
	d=$SV/web/log/main
	wait_until 10 grep -qx "hello from $MALLORY" "$d/current"
	run stat -c %U "$d/current" "$d/lock"
	assert_output "$(printf '%s\n%s' "$MALLORY" "$MALLORY")"
	# the logger as root, the supervisor's user: her DIR is refused, and the reason logged
	rm "$SV/web/log/user"
	svctl restart web/log || true # it cannot become ready
	wait_until 10 grep -qx "svlog: ./main: owned by uid $M_UID, not by svlog's uid 0" \
		"$RUN/log/web:log/current"
	victim_untouched
}
