# supervise: make, make test, make run, make install (PREFIX, DESTDIR; UNITDIR,
# COMPLETIONDIR, SVDIR_DEFAULT below).
# make SAN=1 builds with AddressSanitizer and UndefinedBehaviorSanitizer.
# make lint: cppcheck and clang-tidy (.clang-tidy), mandoc on the man pages, shellcheck on
# the shell scripts; make fuzz: the libFuzzer harnesses
# of fuzz/ (FUZZ_SECONDS each), make fuzz-merge: their new inputs into fuzz/corpus/.
# make bench: our supervisor side by side with daemontools, runit, s6 and supervisord
# (bench/run; BENCH_TRIALS, BENCH_ONLY, ...); never part of make test.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
# the systemd unit and svctl's bash completion; the Debian package sets UNITDIR
UNITDIR ?= $(PREFIX)/lib/systemd/system
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
# the service directory the unit runs supervise on; make install creates it (empty)
SVDIR_DEFAULT ?= /etc/supervise

CC ?= cc
CFLAGS ?= -O2 -g
WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wpointer-arith -Wcast-qual -Wformat=2
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) -Ilib -MMD -MP $(CFLAGS)
ifeq ($(SAN),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
OBJ = obj-san
else
OBJ = obj
endif

LIB_SRC = $(wildcard lib/*.c)
SUP_SRC = $(wildcard supervise/*.c)
CTL_SRC = $(wildcard svctl/*.c)
SVLOG_SRC = $(wildcard svlog/*.c)
TD_SRC = services/testdaemon/testdaemon.c

LIB_OBJ = $(LIB_SRC:%.c=$(OBJ)/%.o)
SUP_OBJ = $(SUP_SRC:%.c=$(OBJ)/%.o)
CTL_OBJ = $(CTL_SRC:%.c=$(OBJ)/%.o)
SVLOG_OBJ = $(SVLOG_SRC:%.c=$(OBJ)/%.o)
TD_OBJ = $(TD_SRC:%.c=$(OBJ)/%.o)

PROGS = bin/supervise bin/svctl bin/svlog bin/testdaemon
# Unit-test programs, run by tests/*.bats; built by make test, not installed.
TEST_PROGS = bin/linebuf_test

all: $(PROGS)

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(OBJ)/libsv.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

bin/supervise: $(SUP_OBJ) $(OBJ)/libsv.a
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^)

bin/svctl: $(CTL_OBJ) $(OBJ)/libsv.a
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^)

bin/svlog: $(SVLOG_OBJ) $(OBJ)/libsv.a
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^)

bin/testdaemon: $(TD_OBJ)
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^)

# --wrap=realloc: the test makes lib/linebuf.c's allocation fail at will.
bin/linebuf_test: $(OBJ)/tests/linebuf_test.o $(OBJ)/libsv.a
	@mkdir -p bin
	$(CC) $(LDFLAGS) -Wl,--wrap=realloc -o $@ $(filter %.o %.a,$^)

# A build with other flags must not reuse objects: SAN=1 has its own directory, and a
# switch between the two relinks the programs.
.PHONY: all test run install clean lint lint-c lint-man lint-sh fuzz fuzz-build fuzz-merge bench FORCE
bin/.flavour: FORCE
	@mkdir -p bin
	@echo '$(OBJ)' | cmp -s - $@ || echo '$(OBJ)' > $@
$(PROGS) $(TEST_PROGS): bin/.flavour

test: all $(TEST_PROGS)
	tests/run

# supervise on the bundled services (as a daemon: it returns once it takes commands),
# then testdaemon's log as it grows; Ctrl-C stops both.
run: all
	bin/supervise -d services
	@trap 'bin/svctl -d services shutdown' EXIT; trap 'exit 0' INT TERM; \
	bin/svctl -d services -w 10 wait up testdaemon && bin/svctl -d services log -f testdaemon

# Side by side with daemontools, runit, s6 and supervisord when installed (bench/run says
# how; options BENCH_TRIALS, BENCH_ONLY, BENCH_SCALE_N, ...), then ours at 100 to 10,000
# services and the scaling curves drawn with gnuplot (gnuplot-nox) into docs/scaling.svg.
# Never part of make test. The helpers are static: their exec costs no dynamic loading.
BENCH_PROGS = bin/bench/stamp bin/bench/helper bin/bench/floor
bin/bench/%: bench/%.c
	@mkdir -p bin/bench
	$(CC) -std=c11 -O2 $(WARN) -static -o $@ $<

bench: all $(BENCH_PROGS)
	bench/run

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(COMPLETIONDIR) $(DESTDIR)$(SVDIR_DEFAULT)
	install -m 755 bin/supervise bin/svctl bin/svlog $(DESTDIR)$(BINDIR)
	install -m 644 man/supervise-service.5 $(DESTDIR)$(MANDIR)/man5
	install -m 644 man/supervise.8 man/svctl.8 man/svlog.8 $(DESTDIR)$(MANDIR)/man8
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SVDIR@|$(SVDIR_DEFAULT)|g' \
		supervise/supervise.service.in > $(DESTDIR)$(UNITDIR)/supervise.service
	chmod 644 $(DESTDIR)$(UNITDIR)/supervise.service
	install -m 644 svctl/svctl.bash-completion $(DESTDIR)$(COMPLETIONDIR)/svctl

clean:
	rm -rf obj obj-san obj-fuzz bin

# Static analysis; both exit non-zero on any finding. A false positive is suppressed
# where it occurs, with the reason (cppcheck-suppress, NOLINT), or a clang-tidy check is
# turned off in .clang-tidy, with the reason there. cppcheck reads no system header, so
# it is given the syscall numbers glibc defines, to check the code that is built rather
# than the fallbacks; variableScope is off: declarations open their block here (STYLE.md
# follows OpenBSD's style(9)), they are not moved to the innermost scope.
LINT_SRC = $(LIB_SRC) $(SUP_SRC) $(CTL_SRC) $(SVLOG_SRC) $(TD_SRC)
CPPCHECK = cppcheck
CLANG_TIDY = clang-tidy
lint: lint-c lint-man lint-sh

lint-c:
	$(CPPCHECK) -q --std=c11 --enable=warning,style,performance,portability \
		--error-exitcode=1 --inline-suppr --suppress=missingIncludeSystem \
		--suppress=variableScope -D_POSIX_C_SOURCE=200809L -DSYS_pidfd_open=434 \
		-DSYS_pidfd_send_signal=424 -DSYS_close_range=436 -Ilib $(LINT_SRC)
	$(CLANG_TIDY) --quiet $(LINT_SRC) $(wildcard fuzz/*.c) -- -std=c11 -D_POSIX_C_SOURCE=200809L -Ilib

# Man pages: mandoc's warnings (and errors) fail, its style notes do not.
MANDOC = mandoc
lint-man:
	$(MANDOC) -Tlint -Wwarning man/*.[0-9]

# Every shell script: tests (bats, which shellcheck reads by its shebang, and helpers),
# the runners, the bundled services, the benchmark's and the package's scripts. A
# finding is fixed, or disabled where it occurs with the reason beside it. For the bats
# files only, SC2030 and SC2031 are off: they say that a variable set in a @test does
# not outlive it, which is how bats is meant to work (each test runs in a process of
# its own, and teardown runs in that process, where it sees the variable).
SHELLCHECK = shellcheck
SH_SCRIPTS = tests/*.bash tests/run .ci/run bench/svlog-throughput bench/watch-cost bench/container \
	bench/deps-bringup services/*/run \
	debian/check-package debian/supervise.postinst svctl/svctl.bash-completion
lint-sh:
	$(SHELLCHECK) $(SH_SCRIPTS)
	$(SHELLCHECK) -e SC2030,SC2031 tests/*.bats

# Fuzzing: one libFuzzer harness per fuzz/NAME.c, linked with the lib/ sources built by
# clang with the fuzzer's instrumentation (not the gcc archive). Each runs FUZZ_SECONDS
# on its committed corpus fuzz/corpus/NAME/; what it finds new goes to the scratch
# obj-fuzz/corpus/NAME/ (make fuzz-merge adds what brings new coverage to the committed
# one), crashing inputs to obj-fuzz/crash/NAME-*, its output to obj-fuzz/NAME.log.
# make fuzz FUZZ_TARGETS=proto runs one.
FUZZ_CC = clang
FUZZ_SECONDS = 60
FUZZ_TARGETS = $(patsubst fuzz/%.c,%,$(wildcard fuzz/*.c))
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	      -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Ilib -MMD -MP
FUZZ_LIB_OBJ = $(LIB_SRC:%.c=obj-fuzz/%.o)

obj-fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

obj-fuzz/fuzz-%: obj-fuzz/fuzz/%.o $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^

fuzz-build: $(FUZZ_TARGETS:%=obj-fuzz/fuzz-%)
.SECONDARY: $(FUZZ_TARGETS:%=obj-fuzz/fuzz/%.o) $(FUZZ_LIB_OBJ)

fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p obj-fuzz/corpus/$$t obj-fuzz/crash obj-fuzz/tmp; \
		echo "fuzz: $$t for $(FUZZ_SECONDS)s (obj-fuzz/$$t.log)"; \
		dict=; [ ! -f fuzz/$$t.dict ] || dict=-dict=fuzz/$$t.dict; \
		if ! TMPDIR=$$PWD/obj-fuzz/tmp obj-fuzz/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) \
			-print_final_stats=1 -artifact_prefix=obj-fuzz/crash/$$t- $$dict \
			obj-fuzz/corpus/$$t fuzz/corpus/$$t >obj-fuzz/$$t.log 2>&1; then \
			tail -n 50 obj-fuzz/$$t.log; echo "fuzz: $$t failed: obj-fuzz/$$t.log"; exit 1; \
		fi; \
		grep -E 'stat::number_of_executed_units|stat::new_units_added' obj-fuzz/$$t.log; \
	done

fuzz-merge: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p obj-fuzz/corpus/$$t; \
		obj-fuzz/fuzz-$$t -merge=1 fuzz/corpus/$$t obj-fuzz/corpus/$$t >obj-fuzz/$$t-merge.log 2>&1 || \
			{ tail -n 20 obj-fuzz/$$t-merge.log; exit 1; }; \
		sed -n "s|^MERGE-OUTER: \([0-9]* new files\).*|fuzz-merge: $$t: \1 added to fuzz/corpus/$$t|p" \
			obj-fuzz/$$t-merge.log; \
	done

-include $(shell find obj obj-san obj-fuzz -name '*.d' 2>/dev/null)
