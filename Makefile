# SPDX-License-Identifier: ISC
# corral: one GNU Makefile for the daemon, the client, the exec wrapper, the
# preload library and the tests. `make`, `make test`, `make SANITIZE=1`,
# `make install PREFIX=/usr/local DESTDIR=...`.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib/corral
MANDIR ?= $(PREFIX)/share/man

# The sanitizer build lives in build-san; BUILD=build-san alone selects it too.
ifeq ($(BUILD),build-san)
SANITIZE = 1
endif
ifeq ($(SANITIZE),1)
BUILD ?= build-san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD ?= build
SANFLAGS =
endif

CC ?= cc
# Every library is required, libsystemd too (journal sink, sd-bus scopes,
# sd_notify). pkg-config is asked quietly when make reads this file: `make
# deps` may not have installed it yet. The flags stamps below stop a build
# with a clear message when a library is missing.
PKGS = libuv jansson inih ncursesw zlib libmicrohttpd libsystemd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN = -std=c11 -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wwrite-strings -Wpointer-arith -Wundef
ifeq ($(CI),true)
WARN += -Werror
endif
CFLAGS ?= -O2 -g
ALL_CFLAGS = $(WARN) $(CFLAGS) $(SANFLAGS) -D_GNU_SOURCE -DHAVE_LIBSYSTEMD=1 \
	-DCORRAL_LIBDIR='"$(LIBDIR)"' -Icommon $(PKG_CFLAGS) -MMD -MP
LIBS = $(PKG_LIBS) -lm -lpthread
LDFLAGS_ALL = $(LDFLAGS) $(SANFLAGS)
SYSTEMD_CFLAGS := $(shell pkg-config --cflags libsystemd 2>/dev/null)
SYSTEMD_LIBS := $(shell pkg-config --libs libsystemd 2>/dev/null)
CMOCKA_CFLAGS := $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

COMMON_SRC = $(wildcard common/*.c)
SUP_SRC = $(filter-out supervisor/main.c,$(wildcard supervisor/*.c))
CTL_SRC = $(filter-out ctl/main.c,$(wildcard ctl/*.c))
CLIENT_SRC = $(wildcard client/*.c)
MON_SRC = $(filter-out monitor/main.c,$(wildcard monitor/*.c))
EXEC_SRC = $(wildcard exec/*.c)
KEEPER_SRC = $(wildcard keeper/*.c) $(wildcard common/kproto*.c) common/errout.c
PRELOAD_SRC = $(wildcard preload/*.c)
TEST_SRC = $(wildcard tests/unit/test_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBCOMMON = $(BUILD)/libcommon.a
LIBSUP = $(BUILD)/libcorrald.a
LIBCTL = $(BUILD)/libctl.a
LIBCLIENT = $(BUILD)/libclient.a
LIBMON = $(BUILD)/libmonit.a
MONIT = $(BUILD)/corral-monit
TESTS = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRC))
PRELOAD = $(if $(PRELOAD_SRC),$(BUILD)/libcorral-preload.so)
EXEC = $(if $(EXEC_SRC),$(BUILD)/corral-exec)
# node reads PM2's ecosystem files with this script (shipped beside corral-exec).
LOADER = $(BUILD)/corral-ecosystem.js
KEEPER = $(BUILD)/corral-keeper
# The engine the keeper tests start (tests/keeper/).
FAKE_ENGINE = $(BUILD)/tests/fake-engine

# The C example app (socket activation + sd_notify) is never a sanitizer
# build: it runs with the preload library in LD_PRELOAD.
EXAMPLES = $(BUILD)/examples/corral-hello-c

all: $(BUILD)/corrald $(BUILD)/corral $(MONIT) $(EXEC) $(KEEPER) $(PRELOAD) $(LOADER) \
	$(EXAMPLES)

$(LOADER): exec/corral-ecosystem.js
	@mkdir -p $(dir $@)
	cp $< $@

# The flags stamps: each holds the flags its objects are built with, is
# rewritten only when they change (other CFLAGS, SANITIZE, CI, a library
# installed or upgraded), and every object depends on it, so a change of
# flags rebuilds what they went into. Making one first checks that
# pkg-config finds the libraries. Two makes of one build may run at once
# (scripts/test.sh runs vm-test beside the other steps) and write the same
# .new file: a .new the other make has already moved or removed is fine.
FLAGS_STAMP = $(BUILD)/.flags
TEST_FLAGS_STAMP = $(BUILD)/.flags-test
write_stamp = $(shell mkdir -p $(@D))$(file >$@.new,$(1))@if [ ! -e $@.new ] || \
	cmp -s $@.new $@; then rm -f $@.new; else mv -f $@.new $@ 2>/dev/null || \
	[ -e $@ ]; fi

$(FLAGS_STAMP): FORCE
	@sh scripts/need-libs.sh deps $(PKGS)
	$(call write_stamp,$(CC) $(ALL_CFLAGS) $(LIBS) $(LDFLAGS_ALL) $(SYSTEMD_LIBS) \
	    $(DAEMON_LIBS) $(CLI_LIBS))

$(TEST_FLAGS_STAMP): FORCE
	@sh scripts/need-libs.sh test-deps cmocka
	$(call write_stamp,$(CMOCKA_CFLAGS) $(CMOCKA_LIBS))

FORCE:

$(BUILD)/examples/corral-hello-c: examples/c/server.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) -D_GNU_SOURCE -o $@ $< $(SYSTEMD_CFLAGS) $(SYSTEMD_LIBS)

$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/obj/preload/%.o: preload/%.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) -D_GNU_SOURCE -fPIC -MMD -MP -c $< -o $@

$(BUILD)/obj/keeper/%.o: keeper/%.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(SANFLAGS) -D_GNU_SOURCE \
		-DCORRAL_BINDIR='"$(BINDIR)"' -Icommon -Ikeeper -MMD -MP -c $< -o $@

$(BUILD)/obj/exec/%.o: exec/%.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(SANFLAGS) -D_GNU_SOURCE -Icommon -MMD -MP -c $< -o $@

$(LIBCOMMON): $(call obj,$(COMMON_SRC))
	@rm -f $@
	ar rcs $@ $^

$(LIBSUP): $(call obj,$(SUP_SRC))
	@rm -f $@
	ar rcs $@ $^

$(LIBCTL): $(call obj,$(CTL_SRC))
	@rm -f $@
	ar rcs $@ $^

# corrald links what every engine uses. libmicrohttpd (--metrics) and
# libsystemd (journal sink, socket activation, watchdog, delegated scopes)
# are loaded when a feature needs them (supervisor/dynlib.h): linked, they
# and what they pull in cost every engine their pages.
DAEMON_LIBS := $(shell pkg-config --libs libuv jansson inih zlib 2>/dev/null) \
	-lm -lpthread

$(BUILD)/corrald: $(call obj,supervisor/main.c) $(LIBSUP) $(LIBCOMMON)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(DAEMON_LIBS)

# The clients link only the libraries they use: the corral CLI jansson and
# libc, statically (no ncurses, libsystemd, zlib or libuv, and no shared
# library to load: every command pays for its start, and the loader was a
# third of what `ls` cost; `startup --user` reads NSS sources other than
# files through glibc's own modules), jansson only in the sanitizer build;
# the dashboard corral-monit (which `corral monit` runs) jansson and ncurses.
ifeq ($(SANITIZE),1)
CLI_LIBS := -Wl,-Bstatic $(shell pkg-config --libs jansson 2>/dev/null) \
	-Wl,-Bdynamic -lm
else
CLI_LIBS := -static $(shell pkg-config --libs jansson 2>/dev/null) -lm
endif
MONIT_LIBS := $(shell pkg-config --libs jansson ncursesw 2>/dev/null) -lm

$(LIBCLIENT): $(call obj,$(CLIENT_SRC))
	@rm -f $@
	ar rcs $@ $^

$(LIBMON): $(call obj,$(MON_SRC))
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/corral: $(call obj,ctl/main.c) $(LIBCTL) $(LIBCLIENT) $(LIBCOMMON)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CLI_LIBS)

$(MONIT): $(call obj,monitor/main.c) $(LIBMON) $(LIBCLIENT) $(LIBCOMMON)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(MONIT_LIBS)

# corral-exec links libc and the privilege drop it shares with corrald.
$(BUILD)/corral-exec: $(call obj,$(EXEC_SRC) common/privswitch.c)
	$(CC) $(LDFLAGS_ALL) -o $@ $^

# corral-keeper links libc only, statically (its RSS), but dynamically in
# the sanitizer build (ASan cannot link statically).
$(KEEPER): $(call obj,$(KEEPER_SRC))
	$(CC) $(LDFLAGS_ALL) $(if $(SANFLAGS),,-static) -o $@ $^

# It spawns as the engine does: the engine's spawn files, libc only.
FAKE_ENGINE_SRC = tests/keeper/fake-engine.c tests/keeper/fake-spawn.c \
	supervisor/spawn-exec.c supervisor/spawn-clone.c supervisor/spawn-low.c \
	supervisor/spawn-child.c common/xmalloc.c
$(FAKE_ENGINE): $(FAKE_ENGINE_SRC) $(wildcard tests/keeper/*.h) \
		$(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(SANFLAGS) -D_GNU_SOURCE -Icommon -Isupervisor \
		$(PKG_CFLAGS) -o $@ $(FAKE_ENGINE_SRC) -lpthread

$(BUILD)/libcorral-preload.so: $(call obj,$(PRELOAD_SRC))
	$(CC) -shared -fPIC $(LDFLAGS) -o $@ $^ -ldl -lpthread

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBSUP) $(LIBCTL) $(LIBMON) \
	$(LIBCLIENT) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS) $(CMOCKA_LIBS)

# The keeper's table, alone: the keeper links libc only.
$(BUILD)/tests/test_keeper_table: $(BUILD)/obj/tests/unit/test_keeper_table.o \
	$(BUILD)/obj/keeper/table.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CMOCKA_LIBS)
$(BUILD)/obj/tests/unit/test_keeper_table.o: private ALL_CFLAGS += -Ikeeper

$(BUILD)/obj/tests/unit/%.o: tests/unit/%.c $(FLAGS_STAMP) $(TEST_FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Isupervisor -Ictl -Imonitor -Iclient $(CMOCKA_CFLAGS) \
		-c $< -o $@

# The client's and the daemon's sources include their private headers.
$(BUILD)/obj/supervisor/%.o: private ALL_CFLAGS += -Isupervisor
$(BUILD)/obj/ctl/%.o: private ALL_CFLAGS += -Ictl -Iclient
$(BUILD)/obj/monitor/%.o: private ALL_CFLAGS += -Imonitor -Iclient
$(BUILD)/obj/client/%.o: private ALL_CFLAGS += -Iclient

# Installing packages (apt-get, only what is missing). test-deps also
# readies the VM harness of the cgroup-v2 tests when there is one, and the
# npm packages some integration tests run.
deps:
	@sh scripts/deps.sh build

test-deps:
	@sh scripts/deps.sh test
	@sh tests/vm/prepare.sh
	@sh scripts/npm-deps.sh build/npm

unit: all $(TESTS)
	@set -e; for t in $(TESTS); do echo "== $$t"; $$t; done

# TEST_JOBS pytest workers (pytest-xdist): each test has a private home and
# mostly waits on processes, so four share two CPUs well.
TEST_JOBS ?= 4
integration: all $(FAKE_ENGINE)
	BUILD=$(BUILD) /usr/bin/python3 -m pytest -q -p no:cacheprovider \
		-n $(TEST_JOBS) --durations=10 tests/integration

# The cgroup v2 tests, in the VM harness (tests/vm/harness.sh finds it): one
# boot per group, skipped with a message where no VM can run; VM_TESTS=0
# skips them.
vm-test: all $(TESTS) $(FAKE_ENGINE)
	@if [ "$(VM_TESTS)" = 0 ]; then echo "vm tests skipped (VM_TESTS=0)"; \
	else sh tests/vm/cgroup.sh $(BUILD); fi

# The README's second command. Each step is a new make, which reads the
# flags of the libraries test-deps may just have installed: the build, then
# scripts/test.sh runs lint-man, unit, integration and the fuzzers with
# vm-test beside them. The fuzzers are sanitizer builds of their own: they
# run once, with the normal build's tests.
test: test-deps
	@$(MAKE) --no-print-directory all $(TESTS) $(FAKE_ENGINE)
	@MAKE="$(MAKE)" sh scripts/test.sh $(BUILD) $(SANITIZE)

# libFuzzer harnesses (tests/fuzz), built with clang, ASan and UBSan into
# build-fuzz from the same sources; `make fuzz` runs each one for
# FUZZ_SECONDS (FUZZ_JOBS of them at a time, default one per CPU) on a
# copy of its seed corpus and prints how many inputs it ran (scripts/fuzz.sh; FUZZ_SECONDS=600 make fuzz for a longer run).
FUZZ_CC ?= clang
FUZZ_DIR = build-fuzz
FUZZ_SECONDS ?= 12
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_CFLAGS = $(WARN) -g -O1 $(FUZZ_SAN) -D_GNU_SOURCE -DHAVE_LIBSYSTEMD=1 \
	-DCORRAL_LIBDIR='"$(LIBDIR)"' -Icommon -Isupervisor -Ipreload \
	$(shell pkg-config --cflags $(PKGS)) -MMD -MP
FUZZ_LIBSRC = $(COMMON_SRC) $(SUP_SRC) preload/addr.c tests/fuzz/stubs.c
FUZZ_LIB = $(FUZZ_DIR)/libfuzz.a
FUZZ_BINS = $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,\
	$(wildcard tests/fuzz/fuzz_*.c))

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_LIBSRC))
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: test-deps fuzz-build
	@sh scripts/fuzz.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)
	install -m 755 $(BUILD)/corrald $(BUILD)/corral $(DESTDIR)$(BINDIR)
	$(if $(EXEC),install -m 755 $(EXEC) $(DESTDIR)$(LIBDIR))
	install -m 755 $(MONIT) $(DESTDIR)$(LIBDIR)
	install -m 755 $(KEEPER) $(DESTDIR)$(LIBDIR)
	$(if $(PRELOAD),install -m 644 $(PRELOAD) $(DESTDIR)$(LIBDIR))
	install -m 644 $(LOADER) $(DESTDIR)$(LIBDIR)
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8
	install -m 644 man/corral.1 $(DESTDIR)$(MANDIR)/man1
	install -m 644 man/corral.ini.5 $(DESTDIR)$(MANDIR)/man5
	install -m 644 man/corrald.8 $(DESTDIR)$(MANDIR)/man8

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/corrald $(DESTDIR)$(BINDIR)/corral
	rm -rf $(DESTDIR)$(LIBDIR)
	rm -f $(DESTDIR)$(MANDIR)/man1/corral.1 \
		$(DESTDIR)$(MANDIR)/man5/corral.ini.5 \
		$(DESTDIR)$(MANDIR)/man8/corrald.8

# mdoc checks: no warning or error. (Style notes about cross references
# to pages that are not installed on this machine are left out.)
MANPAGES = man/corral.1 man/corrald.8 man/corral.ini.5
lint-man:
	@out=$$(mandoc -Tlint $(MANPAGES) 2>&1 | grep -v -e 'referenced manual not found' -e 'outdated mandoc.db'); \
	if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; echo "mandoc -Tlint: clean"

clean:
	rm -rf build build-san build-fuzz

.PHONY: all deps test-deps unit integration vm-test test install uninstall \
	lint-man clean fuzz fuzz-build FORCE
.SECONDARY:

-include $(shell find $(BUILD)/obj $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)

# The README's first command: set up, build (in a new make, after deps), run
# the example app on every CPU (`start` returns once the instances listen),
# ask it four times, list it. Again after a change: the old app is deleted
# first. Port: EXAMPLE_PORT.
EXAMPLE_PORT ?= 3000
run-example: deps
	@$(MAKE) --no-print-directory all
	@$(BUILD)/corral delete hello >/dev/null 2>&1 || true
	$(BUILD)/corral start examples/node/app.js --name hello -i max --port $(EXAMPLE_PORT)
	@for i in 1 2 3 4; do \
		curl -fsS --max-time 10 http://127.0.0.1:$(EXAMPLE_PORT)/ || exit 1; done
	$(BUILD)/corral ls

.PHONY: run-example
