#!/usr/bin/env bats
# SVDIR scanning: what counts as a service, when it is noticed (inotify, SIGHUP,
# svctl rescan), and what happens when its directory goes away.
load helpers

# alive PID: the process exists and is not a zombie.
alive() {
	local st
	kill -0 "$1" 2>/dev/null || return 1
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}

# listed NAME: svctl list shows NAME.
listed() {
	svctl list 2>/dev/null | grep -qxF -- "$1"
}

# Remembers a service's process group, so teardown kills it even once the supervisor
# has forgotten the service (its status file gone).
remember_pgid() {
	local g
	g=$(status_field "$1" pgid)
	[ -n "$g" ] && [ "$g" != 0 ] && EXTRA_PGIDS="${EXTRA_PGIDS:-} $g"
	return 0
}

# A complete service directory outside SVDIR: DIR with an executable run.
make_outside_service() {
	mkdir -p "$1.tmp"
	printf '#!/bin/sh\nexec sleep 1000\n' > "$1.tmp/run"
	chmod +x "$1.tmp/run"
	mv "$1.tmp" "$1"
}

@test "a new service directory is picked up and started without any command" {
	start_supervise
	make_sleeper fresh
	# the contract says within 1 s; the deadline leaves room for a loaded machine
	wait_until 5 up_and_alive fresh
	assert_equal "$(status_field fresh wanted)" up
	assert_equal "$(status_field fresh normally)" up
}

@test "a new directory holding down is found but not started; svctl start starts it" {
	start_supervise
	make_sleeper lazy down=
	make_sleeper marker
	# marker was created after lazy: once it is up, a scan has seen lazy as well
	wait_until 10 up_and_alive marker
	wait_until 10 test -f "$RUN/status/lazy"
	assert_equal "$(status_field lazy state)" down
	assert_equal "$(status_field lazy normally)" down
	assert_equal "$(status_field lazy wanted)" down
	assert_equal "$(status_field lazy pid)" 0
	assert_equal "$(suplog_count 'lazy: started')" 0
	run svctl start lazy
	assert_success
	wait_until 10 up_and_alive lazy
	assert_equal "$(status_field lazy normally)" down
}

@test "a directory made first whose executable run is written later is picked up" {
	start_supervise
	mkdir "$SV/late"
	make_sleeper marker
	wait_until 10 up_and_alive marker
	# seen without a run: not a service yet
	[ ! -e "$RUN/status/late" ]
	# as cp does: the file is created executable, then filled
	printf '#!/bin/sh\nexec sleep 1000\n' > "$BATS_TEST_TMPDIR/run.template"
	chmod 755 "$BATS_TEST_TMPDIR/run.template"
	cp "$BATS_TEST_TMPDIR/run.template" "$SV/late/run"
	wait_until 10 up_and_alive late
}

@test "a run written non-executable and made executable later is picked up" {
	start_supervise
	mkdir "$SV/noexec.tmp"
	printf '#!/bin/sh\nexec sleep 1000\n' > "$SV/noexec.tmp/run"
	chmod 644 "$SV/noexec.tmp/run"
	mv "$SV/noexec.tmp" "$SV/noexec"
	make_sleeper marker
	wait_until 10 up_and_alive marker
	[ ! -e "$RUN/status/noexec" ]
	chmod +x "$SV/noexec/run"
	wait_until 10 up_and_alive noexec
}

@test "removing a service directory stops its process and forgets the service" {
	start_supervise
	make_sleeper doomed
	make_sleeper keeper
	wait_until 10 up_and_alive doomed
	wait_until 10 up_and_alive keeper
	remember_pgid doomed
	local pid keep
	pid=$(service_pid doomed)
	keep=$(service_pid keeper)
	listed doomed
	rm -rf "$SV/doomed"
	wait_until 5 eval '! alive '"$pid"
	wait_until 5 test ! -e "$RUN/status/doomed"
	run svctl list
	assert_success
	refute_line doomed
	assert_line keeper
	# the other service is not touched
	assert_equal "$(service_pid keeper)" "$keep"
	up_and_alive keeper
}

@test "names starting with a dot are not services" {
	make_sleeper .hidden
	start_supervise
	make_sleeper visible
	wait_until 10 up_and_alive visible
	[ ! -e "$RUN/status/.hidden" ]
	run svctl list
	assert_success
	assert_output visible
	assert_equal "$(suplog_count '\.hidden: started')" 0
}

@test "invalid names are ignored and the log names each of them once" {
	local long
	long=$(printf 'x%.0s' $(seq 1 65))   # one byte over the 64-byte limit
	make_sleeper 'bad name'
	make_sleeper 'bad:name'
	make_sleeper "$long"
	start_supervise
	make_sleeper good
	wait_until 10 up_and_alive good
	# more scans must not repeat the warning
	run svctl rescan
	assert_success
	run svctl rescan
	assert_success
	make_sleeper good2
	wait_until 10 up_and_alive good2
	run svctl list
	assert_success
	assert_output "$(printf 'good\ngood2')"
	[ ! -e "$RUN/status/bad name" ]
	[ ! -e "$RUN/status/bad:name" ]
	[ ! -e "$RUN/status/$long" ]
	assert_equal "$(grep -cF -- 'bad name' "$SUPLOG")" 1
	assert_equal "$(grep -cF -- 'bad:name' "$SUPLOG")" 1
	assert_equal "$(grep -cF -- "$long" "$SUPLOG")" 1
}

@test "a symlinked directory counts as a service" {
	make_outside_service "$BATS_TEST_TMPDIR/elsewhere"
	start_supervise
	ln -s "$BATS_TEST_TMPDIR/elsewhere" "$SV/linked"
	wait_until 10 up_and_alive linked
	run svctl list
	assert_output linked
}

# A dangling symlink whose target appears later (outside SVDIR) makes no inotify event
# in SVDIR: only an explicit rescan can find it.
@test "SIGHUP rescans SVDIR" {
	ln -s "$BATS_TEST_TMPDIR/target" "$SV/viahup"
	start_supervise
	make_outside_service "$BATS_TEST_TMPDIR/target"
	kill -HUP "$SUP_PID"
	wait_until 10 up_and_alive viahup
	kill -0 "$SUP_PID"
	grep -q 'HUP' "$SUPLOG"
}

@test "svctl rescan rescans SVDIR" {
	ln -s "$BATS_TEST_TMPDIR/target" "$SV/viactl"
	start_supervise
	make_outside_service "$BATS_TEST_TMPDIR/target"
	run svctl rescan
	assert_success
	wait_until 10 up_and_alive viactl
}

@test "a directory removed and quickly recreated with the same name runs a service" {
	start_supervise
	make_sleeper phoenix
	wait_until 10 up_and_alive phoenix
	remember_pgid phoenix
	for _ in 1 2 3; do
		rm -rf "$SV/phoenix"
		make_sleeper phoenix
	done
	# made after the loop: once it is up, a scan has seen the final SVDIR
	make_sleeper marker
	wait_until 10 up_and_alive marker
	remember_pgid phoenix
	wait_until 10 up_and_alive phoenix
	remember_pgid phoenix
	listed phoenix
}

@test "a directory recreated while its service is still stopping runs it again" {
	start_supervise
	# ignores TERM: after the removal it stays in stopping until timeout-kill
	make_service phoenix 'trap "" TERM; exec sleep 1000' timeout-kill=1500
	wait_until 10 up_and_alive phoenix
	remember_pgid phoenix
	local old
	old=$(service_pid phoenix)
	rm -rf "$SV/phoenix"
	wait_until 5 state_is phoenix stopping
	make_sleeper phoenix
	wait_until 10 eval '! alive '"$old"
	wait_until 10 up_and_alive phoenix
	remember_pgid phoenix
	[ "$(service_pid phoenix)" != "$old" ]
	listed phoenix
}
