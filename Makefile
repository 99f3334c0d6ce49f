# supervise: make, make test, make run, make install (PREFIX, DESTDIR).
# make SAN=1 builds with AddressSanitizer and UndefinedBehaviorSanitizer.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man

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

# A build with other flags must not reuse objects: SAN=1 has its own directory, and a
# switch between the two relinks the programs.
.PHONY: all test run install clean FORCE
bin/.flavour: FORCE
	@mkdir -p bin
	@echo '$(OBJ)' | cmp -s - $@ || echo '$(OBJ)' > $@
$(PROGS): bin/.flavour

test: all
	tests/run

# supervise on the bundled services (as a daemon: it returns once it takes commands),
# then testdaemon's log as it grows; Ctrl-C stops both.
run: all
	bin/supervise -d services
	@trap 'bin/svctl -d services shutdown' EXIT; trap 'exit 0' INT TERM; \
	bin/svctl -d services -w 10 wait up testdaemon && bin/svctl -d services log -f testdaemon

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 755 bin/supervise bin/svctl bin/svlog $(DESTDIR)$(BINDIR)
	install -m 644 man/supervise.8 man/svctl.8 $(DESTDIR)$(MANDIR)/man8

clean:
	rm -rf obj obj-san bin

-include $(shell find obj obj-san -name '*.d' 2>/dev/null)
