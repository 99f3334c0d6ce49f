#!/usr/bin/env bats
# lib/linebuf.c, the line assembler and formatter of supervise -o text|json, through its
# unit-test program (tests/linebuf_test.c; make test builds it, or make bin/linebuf_test).
load helpers

linebuf_case() {
	[ -x "$BIN/linebuf_test" ] || fail "$BIN/linebuf_test is missing: make bin/linebuf_test"
	run "$BIN/linebuf_test" "$1"
	assert_success
	assert_output "ok $1"
}

@test "linebuf: lines whole whatever the sizes of the writes" {
	linebuf_case split_writes
}

@test "linebuf: an empty line is a line" {
	linebuf_case empty_lines
}

@test "linebuf: carriage returns are content" {
	linebuf_case crlf
}

@test "linebuf: 64 KiB is one line, one byte more is cut, nothing lost" {
	linebuf_case boundary
}

@test "linebuf: a cut never splits a UTF-8 character" {
	linebuf_case boundary_utf8
}

@test "linebuf: an unterminated last line is ended by the flush" {
	linebuf_case partial_flush
}

@test "linebuf: json escapes every control character, quotes and backslashes" {
	linebuf_case json_controls
}

@test "linebuf: json passes valid UTF-8 and replaces invalid sequences by U+FFFD" {
	linebuf_case json_utf8
}

@test "linebuf: long and odd service names" {
	linebuf_case names
}

@test "linebuf: output sizes are bounded and checked" {
	linebuf_case sizes
}

@test "linebuf: json time in UTC to the microsecond, as gmtime says, years 0-9999" {
	linebuf_case time
}

@test "linebuf: out of memory loses nothing and the same bytes can be fed again" {
	linebuf_case enomem
}

@test "linebuf: a buffer only for an unterminated tail, never past 64 KiB" {
	linebuf_case memory
}

@test "linebuf: a feed emits no more than linebuf_feed_max says" {
	linebuf_case feed_max
}

@test "linebuf: the test program refuses an unknown case" {
	[ -x "$BIN/linebuf_test" ] || fail "$BIN/linebuf_test is missing: make bin/linebuf_test"
	run "$BIN/linebuf_test" no_such_case
	assert_failure 2
}
