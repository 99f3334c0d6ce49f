#!/usr/bin/env bats
# bin/svlog, the bundled logger (README "svlog"): lines, stamps, rotation, TERM, EOF, a
# full disk. Foreground runs go through `timeout`; background ones are killed by pid in
# teardown (EXTRA_PIDS), and a tmpfs mounted by a test is unmounted there.
load helpers

export LC_ALL=C # ls and sort in byte order: rotated names sort by time

NAME_RE='^@[0-9]{8}T[0-9]{6}\.[0-9]{6}Z\.s$'
STAMP_RE='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z'

teardown() {
	cleanup_all
	if [ -n "${MNT:-}" ] && mountpoint -q "$MNT"; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT"
	fi
}

# svlog ARGS...: in the foreground, 20 s at most.
svlog() {
	timeout 20 "$BIN/svlog" "$@"
}

# rotated DIR: the rotated files' names, oldest first.
rotated() {
	# shellcheck disable=SC2010 # svlog's names, plain characters; ls sorts them
	ls "$1" | grep -E "$NAME_RE" || true
}

# all_lines DIR: the rotated files in name order, then current.
all_lines() {
	local f
	for f in $(rotated "$1"); do
		cat "$1/$f"
	done
	cat "$1/current"
}

# exited PID: gone, or a zombie.
exited() {
	! kill -0 "$1" 2>/dev/null || [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" = Z ]
}

running() {
	! exited "$1"
}

# wait_exit PID: its exit status in $rc, once it has exited (10 s at most).
wait_exit() {
	wait_until 10 exited "$1"
	rc=0
	wait "$1" || rc=$?
}

# start_bg_svlog ARGS...: svlog in the background, reading the FIFO $IN, stderr in $ERR;
# the test holds the FIFO's write end as fd 4, so svlog starts at once.
start_bg_svlog() {
	IN=$BATS_TEST_TMPDIR/in
	ERR=$BATS_TEST_TMPDIR/svlog.stderr
	mkfifo "$IN"
	exec 4<>"$IN"
	"$BIN/svlog" "$@" <"$IN" 2>"$ERR" 3>&- 4>&- &
	LOG_PID=$!
	EXTRA_PIDS="${EXTRA_PIDS:-} $LOG_PID"
}

# mount_small_tmpfs: a 1 MiB tmpfs on $MNT, or the test is skipped.
mount_small_tmpfs() {
	MNT=$BATS_TEST_TMPDIR/mnt
	mkdir -p "$MNT"
	if ! mount -t tmpfs -o size=1m tmpfs "$MNT" 2>/dev/null; then
		MNT=
		skip "cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): no full disk to test on"
	fi
}

# fill_disk: takes every free block of $MNT.
fill_disk() {
	dd if=/dev/zero of="$MNT/filler" bs=4096 2>/dev/null || true
	run dd if=/dev/zero of="$MNT/probe" bs=4096 count=1
	assert_failure
	assert_output --partial 'No space left on device'
}

@test "svlog: lines arrive unchanged in DIR/current; DIR is created 0755" {
	d=$BATS_TEST_TMPDIR/log
	printf 'first line\n\n  spaces\tand tabs  \nutf-8: \xc3\xa9t\xc3\xa9\n\x01binary\x7f\nlast\n' > "$BATS_TEST_TMPDIR/in"
	run svlog "$d" < "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_output ''
	cmp "$BATS_TEST_TMPDIR/in" "$d/current"
	[ "$(stat -c %a "$d")" = 755 ]
	[ "$(stat -c %a "$d/current")" = 644 ]
	[ -z "$(rotated "$d")" ]
}

@test "svlog: an existing current is appended to" {
	d=$BATS_TEST_TMPDIR/log
	mkdir "$d"
	printf 'old 1\nold 2\n' > "$d/current"
	printf 'new 1\n' | svlog "$d"
	printf 'old 1\nold 2\nnew 1\n' | cmp - "$d/current"
	# a current cut short (a killed logger) gets the newline before the next line
	printf 'cut sh' >> "$d/current"
	printf 'new 2\n' | svlog "$d"
	printf 'old 1\nold 2\nnew 1\ncut sh\nnew 2\n' | cmp - "$d/current"
}

@test "svlog: -t prefixes each line with an ISO 8601 UTC stamp with microseconds" {
	d=$BATS_TEST_TMPDIR/log
	today=$(date -u +%Y-%m-%d)
	printf 'alpha\n\nbeta gamma\n' | svlog -t "$d"
	run cat "$d/current"
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 --regexp "^${STAMP_RE} alpha\$"
	assert_line --index 1 --regexp "^${STAMP_RE} \$"
	assert_line --index 2 --regexp "^${STAMP_RE} beta gamma\$"
	# the stamp is now, in UTC
	assert_line --index 0 --regexp "^${today}T"
	sed -E "s/^${STAMP_RE} //" "$d/current" | cmp - <(printf 'alpha\n\nbeta gamma\n')
}

@test "svlog: a last line without a newline gets one, with or without -t" {
	d=$BATS_TEST_TMPDIR/log
	printf 'one\ntwo' | svlog "$d"
	printf 'one\ntwo\n' | cmp - "$d/current"
	printf 'three' | svlog -t "$d/../log2"
	run cat "$BATS_TEST_TMPDIR/log2/current"
	assert_output --regexp "^${STAMP_RE} three\$"
	[ "$(tail -c 1 "$BATS_TEST_TMPDIR/log2/current" | od -An -c | tr -d ' ')" = '\n' ]
}

@test "svlog: rotation keeps every file within -s, in order, no line split, names sorted by time" {
	d=$BATS_TEST_TMPDIR/log
	seq 1 50000 > "$BATS_TEST_TMPDIR/in"
	run svlog -s 4096 -n 1000 "$d" < "$BATS_TEST_TMPDIR/in"
	assert_success
	names=$(rotated "$d")
	n=$(echo "$names" | wc -l)
	# 288894 bytes in files of at most 4096: at least 71 files with current
	[ "$n" -ge 70 ]
	for f in $names current; do
		size=$(stat -c %s "$d/$f")
		[ "$size" -le 4096 ] || { echo "$f: $size bytes" >&2; return 1; }
		# whole lines only: every file ends with a newline, so no line straddles two
		[ "$(tail -c 1 "$d/$f" | od -An -c | tr -d ' ')" = '\n' ] || { echo "$f: split" >&2; return 1; }
	done
	# the concatenation in name order is the input, byte for byte
	all_lines "$d" | cmp - "$BATS_TEST_TMPDIR/in"
	# names unique and in the same order as their contents' sequence numbers
	[ "$(echo "$names" | sort -u | wc -l)" -eq "$n" ]
	prev=0
	for f in $names; do
		first=$(head -n 1 "$d/$f")
		[ "$first" -gt "$prev" ]
		prev=$first
	done
}

@test "svlog: -n keeps the newest N rotated files; -n 0 keeps none" {
	d=$BATS_TEST_TMPDIR/log
	seq 1 50000 > "$BATS_TEST_TMPDIR/in"
	svlog -s 4096 -n 3 "$d" < "$BATS_TEST_TMPDIR/in"
	[ "$(rotated "$d" | wc -l)" -eq 3 ]
	# what is left is the end of the input, whole and in order
	got=$(all_lines "$d" | wc -l)
	all_lines "$d" | cmp - <(tail -n "$got" "$BATS_TEST_TMPDIR/in")
	[ "$(tail -n 1 "$d/current")" = 50000 ]

	d0=$BATS_TEST_TMPDIR/log0
	svlog -s 4096 -n 0 "$d0" < "$BATS_TEST_TMPDIR/in"
	[ -z "$(rotated "$d0")" ]
	got=$(wc -l < "$d0/current")
	[ "$got" -gt 0 ]
	cmp "$d0/current" <(tail -n "$got" "$BATS_TEST_TMPDIR/in")
	[ "$(stat -c %s "$d0/current")" -le 4096 ]
}

@test "svlog: default sizes rotate at 1000000 bytes and keep 10 files" {
	d=$BATS_TEST_TMPDIR/log
	seq 1 400000 > "$BATS_TEST_TMPDIR/in" # 2888895 bytes: 2 rotations
	svlog "$d" < "$BATS_TEST_TMPDIR/in"
	[ "$(rotated "$d" | wc -l)" -eq 2 ]
	for f in $(rotated "$d"); do
		size=$(stat -c %s "$d/$f")
		[ "$size" -le 1000000 ]
		[ "$size" -gt 999000 ]
	done
	all_lines "$d" | cmp - "$BATS_TEST_TMPDIR/in"
	seq 1 1500000 | svlog "$d"
	[ "$(rotated "$d" | wc -l)" -eq 10 ]
}

@test "svlog: a current already too big is rotated before the next line" {
	d=$BATS_TEST_TMPDIR/log
	mkdir "$d"
	seq 1 1000 > "$d/current" # 3893 bytes
	seq 1001 1100 | svlog -s 4096 "$d"
	[ "$(rotated "$d" | wc -l)" -eq 1 ]
	all_lines "$d" | cmp - <(seq 1 1100)
}

@test "svlog: a new rotated name comes after the newest in DIR, even one from the future" {
	d=$BATS_TEST_TMPDIR/log
	mkdir "$d"
	printf 'future\n' > "$d/@29991231T235959.999999Z.s"
	seq 1 2000 | svlog -s 4096 -n 100 "$d"
	run rotated "$d"
	assert_line --index 0 '@29991231T235959.999999Z.s'
	assert_line --index 1 '@30000101T000000.000000Z.s'
	assert_line --index 2 '@30000101T000000.000001Z.s'
	all_lines "$d" | cmp - <(echo future; seq 1 2000)
}

@test "svlog: a line longer than the maximum is cut into pieces that are lines of their own" {
	d=$BATS_TEST_TMPDIR/log
	# with -s 4096 a piece is at most 4096 bytes, newline included
	{ head -c 10000 /dev/zero | tr '\0' x; echo; echo after; } | svlog -s 4096 "$d"
	for f in $(rotated "$d") current; do
		[ "$(stat -c %s "$d/$f")" -le 4096 ]
	done
	run all_lines "$d"
	assert_equal "${#lines[@]}" 4
	assert_equal "${#lines[0]}" 4095
	assert_equal "${#lines[1]}" 4095
	assert_equal "${#lines[2]}" 1810
	assert_equal "${lines[3]}" after
	[ "$(all_lines "$d" | tr -d '\n' | tr -d x)" = after ]

	# otherwise at most 65536 bytes; with -t the stamp counts, and each piece has one
	d2=$BATS_TEST_TMPDIR/log2
	{ head -c 100000 /dev/zero | tr '\0' y; echo; } | svlog -t "$d2"
	run awk '{ print length($0) }' "$d2/current"
	assert_output "$(printf '65535\n%d' $((100000 - (65535 - 28) + 28)))"
	[ "$(sed -E "s/^${STAMP_RE} //" "$d2/current" | tr -d '\n' | wc -c)" -eq 100000 ]
}

@test "svlog: waits for lines while stdin stays open; TERM writes what was read and exits 0" {
	d=$BATS_TEST_TMPDIR/log
	start_bg_svlog "$d"
	printf 'one\ntwo\nhalf' >&4
	wait_until 5 grep -qx two "$d/current"
	running "$LOG_PID"
	kill -TERM "$LOG_PID"
	wait_exit "$LOG_PID"
	exec 4>&-
	assert_equal "$rc" 0
	# the unfinished line read before TERM, not ended within 1 s, is written with a newline
	printf 'one\ntwo\nhalf\n' | cmp - "$d/current"
	[ ! -s "$ERR" ]
}

@test "svlog: after TERM a begun line is finished, and the next one is left in the pipe" {
	d=$BATS_TEST_TMPDIR/log
	start_bg_svlog -t "$d"
	printf 'one\nhalf' >&4
	wait_until 5 grep -q ' one$' "$d/current"
	kill -TERM "$LOG_PID"
	sleep 0.3 # deliberately: time to take the TERM, which nothing outside shows
	printf ' and the rest\nnext line\n' >&4
	wait_exit "$LOG_PID"
	assert_equal "$rc" 0
	run sed -E "s/^${STAMP_RE} //" "$d/current"
	assert_output "$(printf 'one\nhalf and the rest')"
	# the next line is still in the pipe, for the next logger
	IFS= read -r -t 2 rest <&4
	exec 4>&-
	assert_equal "$rest" 'next line'
}

@test "svlog: a second svlog on the same DIR waits for the first one's lock" {
	d=$BATS_TEST_TMPDIR/log
	start_bg_svlog "$d"
	printf 'first\n' >&4
	wait_until 5 grep -qx first "$d/current"
	first=$LOG_PID
	printf 'second\n' | "$BIN/svlog" "$d" 2>"$BATS_TEST_TMPDIR/second.err" 3>&- 4>&- &
	second=$!
	EXTRA_PIDS="$EXTRA_PIDS $second"
	wait_until 5 grep -qx "svlog: warning: $d/lock: held by another svlog; waiting" "$BATS_TEST_TMPDIR/second.err"
	running "$second"
	run grep -c second "$d/current"
	assert_output 0
	exec 4>&- # EOF: the first exits and the second gets the lock
	wait_exit "$first"
	assert_equal "$rc" 0
	wait_exit "$second"
	assert_equal "$rc" 0
	printf 'first\nsecond\n' | cmp - "$d/current"
}

@test "svlog: full disk: warns once, stops reading, keeps every line, writes them when space returns" {
	mount_small_tmpfs
	d=$MNT/log
	start_bg_svlog -s 1000000 "$d"
	wait_until 5 test -f "$d/current"
	fill_disk
	seq 1 100000 > "$BATS_TEST_TMPDIR/seq" # 588895 bytes: more than svlog and the pipe hold
	cat "$BATS_TEST_TMPDIR/seq" >&4 3>&- 4>&- &
	writer=$!
	EXTRA_PIDS="$EXTRA_PIDS $writer"
	exec 4>&- # the writer's copy is the last write end: its exit is svlog's EOF
	wait_until 10 grep -qx "svlog: warning: $d/current: No space left on device; retrying" "$ERR"
	# deliberately idle for a few retries (100 ms, then doubling up to 1 s): they must not
	# repeat the warning, and svlog must neither exit nor read on
	sleep 1.5
	running "$LOG_PID"
	running "$writer" # blocked on the full pipe: nothing was read and dropped
	[ "$(grep -c 'No space left on device' "$ERR")" -eq 1 ]
	rm "$MNT/filler"
	wait_exit "$writer"
	wait_exit "$LOG_PID"
	assert_equal "$rc" 0
	cmp "$BATS_TEST_TMPDIR/seq" "$d/current"
	[ "$(grep -c 'No space left on device' "$ERR")" -eq 1 ]
	grep -Eqx "svlog: $d/current: succeeded after [0-9]+ retries" "$ERR"
}

@test "svlog: full disk: TERM does not drop what was read; svlog exits once it is written" {
	mount_small_tmpfs
	d=$MNT/log
	start_bg_svlog -t -s 1000000 "$d"
	wait_until 5 test -f "$d/current"
	fill_disk
	# in the background: svlog stops reading, so the writer may block on the full pipe
	seq 1 20000 >&4 3>&- 4>&- &
	EXTRA_PIDS="$EXTRA_PIDS $!"
	wait_until 10 grep -q "No space left on device; retrying" "$ERR"
	kill -TERM "$LOG_PID"
	sleep 0.5 # deliberately: a few retries while TERM is pending
	running "$LOG_PID"
	rm "$MNT/filler"
	wait_exit "$LOG_PID"
	exec 4>&-
	assert_equal "$rc" 0
	# every line it read is there, whole, in order: 1..K
	got=$(wc -l < "$d/current")
	[ "$got" -gt 0 ]
	sed -E "s/^${STAMP_RE} //" "$d/current" | cmp - <(seq 1 "$got")
}

@test "svlog: usage errors exit 2 with the usage line" {
	for args in "" "-s" "-s 4095 $BATS_TEST_TMPDIR/x" "-s 1k $BATS_TEST_TMPDIR/x" \
		"-n -1 $BATS_TEST_TMPDIR/x" "-x $BATS_TEST_TMPDIR/x" "a b"; do
		# shellcheck disable=SC2086 # the options, a word each
		run "$BIN/svlog" $args < /dev/null
		assert_failure 2
		assert_line 'usage: svlog [-s BYTES] [-n N] [-t] DIR'
	done
	run "$BIN/svlog" -s 4095 "$BATS_TEST_TMPDIR/x"
	assert_line 'svlog: -s 4095: below the minimum of 4096'
	[ ! -e "$BATS_TEST_TMPDIR/x" ]
	run svlog -s 4096 -n 0 "$BATS_TEST_TMPDIR/x" < /dev/null
	assert_success
	[ -f "$BATS_TEST_TMPDIR/x/current" ]
}

@test "svlog: a DIR that cannot be created is an error, exit 1" {
	run svlog "$BATS_TEST_TMPDIR/no/such/dir" < /dev/null
	assert_failure 1
	assert_output "svlog: unable to create $BATS_TEST_TMPDIR/no/such/dir: No such file or directory"
}
