# pgfold — fold dedicated postgres containers into one shared instance.
#
# Sources are found by wildcard: a new module under src/ or a new test file
# under tests/ needs no Makefile edit.

PREFIX   ?= /usr/local
BUILD    ?= build
CC       ?= cc
PKGS     := libpq yaml-0.1 libcurl libsodium jansson
TEST_PKGS := criterion

# pkg-config is read when make parses this file. Targets that install what
# they need (check, unit, demo, bench, asan) therefore run `deps` first and
# then re-enter make, so the build's make parses after the packages exist.
# A plain `make` that lacks a module stops with one line naming it (pkg-check).
pkg_missing = $(strip $(foreach m,$(1),$(if $(shell pkg-config --exists $(m) 2>/dev/null && echo y),,$(m))))
HAVE_PKGCONFIG := $(shell command -v pkg-config 2>/dev/null)
PKG_MISSING  := $(call pkg_missing,$(PKGS))
TEST_MISSING := $(call pkg_missing,$(TEST_PKGS))
# Debian package of each pkg-config module (scripts/deps.sh installs them all).
deb_of = $(strip $(if $(HAVE_PKGCONFIG),,pkg-config) $(patsubst libpq,libpq-dev,$(patsubst yaml-0.1,libyaml-dev,$(patsubst libcurl,libcurl4-openssl-dev,\
         $(patsubst libsodium,libsodium-dev,$(patsubst jansson,libjansson-dev,$(patsubst criterion,libcriterion-dev,$(1))))))))

PKG_CFLAGS := $(if $(PKG_MISSING),,$(shell pkg-config --cflags $(PKGS)))
PKG_LIBS   := $(if $(PKG_MISSING),,$(shell pkg-config --libs $(PKGS)))
CRIT_LIBS  := $(if $(TEST_MISSING),,$(shell pkg-config --libs criterion))

WARN     := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wvla -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter
HARDEN   := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
OPT      ?= -O2 -g
CFLAGS   ?=
CFLAGS   += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(HARDEN) -Iinclude $(PKG_CFLAGS) -MMD -MP
LDFLAGS  += -pie -Wl,-z,relro,-z,now
LDLIBS   += $(PKG_LIBS)

SRC_ALL  := $(shell find src -name '*.c' | sort)
SRC_LIB  := $(filter-out src/main.c,$(SRC_ALL))
OBJ_LIB  := $(SRC_LIB:%.c=$(BUILD)/%.o)
OBJ_MAIN := $(BUILD)/src/main.o
# tests/fuzz/ holds the fuzz targets (each its own binary, not Criterion's).
TEST_SRC := $(shell find tests -name '*.c' -not -path 'tests/fuzz/*' | sort)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
FUZZ_OBJ := $(FUZZ_SRC:%.c=$(BUILD)/%.o) $(BUILD)/tests/fuzz/replay.o
REPLAY_BINS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/replay_%)

BIN      := $(BUILD)/pgfold
TESTBIN  := $(BUILD)/pgfold-tests

.PHONY: all deps lab lab-stop check check-v2 faults unit integration asan install uninstall \
        demo bench clean format-check db-status db-backup db-console \
        db-migrate db-rollback db-migrate-status db-validate db-migrate-create \
        schema-target-check \
        pkg-check test-pkg-check build-tests fresh-check fuzz fuzz-build fuzz-bins fuzz-replay \
        faults

all: $(BIN)

$(BIN): $(OBJ_LIB) $(OBJ_MAIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(TESTBIN): $(OBJ_LIB) $(TEST_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CRIT_LIBS)

# Every object waits for the module check: a missing library is one line, not
# a compiler error naming the wrong header.
$(OBJ_LIB) $(OBJ_MAIN): | pkg-check
$(TEST_OBJ): | test-pkg-check
$(FUZZ_OBJ): | pkg-check

pkg-check:
	@$(if $(PKG_MISSING),printf 'pgfold: missing pkg-config modules: %s; install them with `make deps` (or: apt-get install %s)\n' \
	  "$(PKG_MISSING)" "$(call deb_of,$(PKG_MISSING))" >&2; exit 1,:)

test-pkg-check: pkg-check
	@$(if $(TEST_MISSING),printf 'pgfold: missing pkg-config modules for the tests: %s; install them with `make deps` (or: apt-get install %s)\n' \
	  "$(TEST_MISSING)" "$(call deb_of,$(TEST_MISSING))" >&2; exit 1,:)

build-tests: $(BIN) $(TESTBIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# Tests include the module headers plus tests/ helpers.
$(BUILD)/tests/%.o: CFLAGS += -Itests

deps:
	@scripts/deps.sh

lab: deps
	@PGFOLD_SKIP_DEPS=1 scripts/lab.sh up

lab-stop:
	@scripts/lab.sh down

# Criterion: keep the closing "Synthesis:" line visible. Integration tests
# share one engine, so they use unique names and can run in parallel.
CRITERION_FLAGS ?= --jobs 2

unit: deps
	@$(MAKE) --no-print-directory build-tests fuzz-replay
	PGFOLD_TEST_BIN=$(abspath $(BIN)) PGFOLD_TEST_UNIT_ONLY=1 $(TESTBIN) $(CRITERION_FLAGS)

# The litter ledger (tests/lab.h): what the run created; scripts/litter.sh
# fails the run when any of it (container, compose project, volume) is left.
LEDGER := $(abspath $(BUILD))/lab-ledger

check: lab
	@$(MAKE) --no-print-directory build-tests fuzz-replay
	@rm -f $(LEDGER)
	PGFOLD_TEST_LEDGER=$(LEDGER) PGFOLD_TEST_BIN=$(abspath $(BIN)) $(TESTBIN) $(CRITERION_FLAGS); \
	  rc=$$?; scripts/litter.sh $(LEDGER) || rc=1; exit $$rc

# `check` runs compose 1.29 (docker-compose); this runs the suites that use
# compose again under compose v2, the `docker compose` plugin `make lab`
# installs (PGFOLD_TEST_COMPOSE, tests/lab.h).
V2_FILTER ?= @(migrate*|rollback*|retire*|rename*|faults|rewrite*|compose*|service_demo)/*

check-v2: lab
	@$(MAKE) --no-print-directory build-tests
	@rm -f $(LEDGER)
	PGFOLD_TEST_LEDGER=$(LEDGER) PGFOLD_TEST_COMPOSE=v2 PGFOLD_TEST_BIN=$(abspath $(BIN)) \
	  $(TESTBIN) $(CRITERION_FLAGS) --filter '$(V2_FILTER)'; \
	  rc=$$?; scripts/litter.sh $(LEDGER) || rc=1; exit $$rc

# Randomized fault trials (tests/migrate/test_faults.c; make check runs one
# trial of each kind): kill -9, SIGTERM and SIGINT at random moments of every
# phase of migrate and rollback, each followed by a re-run that must
# converge. The table goes to stderr and to $(FAULTS_REPORT). FAULTS=N
# trials of each op for kill -9 (N/2 for each signal); PGFOLD_FAULTS_SEED
# repeats a run.
FAULTS ?= 20
FAULTS_REPORT ?= build/faults.txt
faults: lab
	@$(MAKE) --no-print-directory build-tests
	@rm -f $(FAULTS_REPORT) $(LEDGER)
	PGFOLD_FAULTS=$(FAULTS) PGFOLD_FAULTS_REPORT=$(abspath $(FAULTS_REPORT)) \
	  PGFOLD_TEST_LEDGER=$(LEDGER) PGFOLD_TEST_BIN=$(abspath $(BIN)) $(TESTBIN) \
	  --filter 'faults/*'; rc=$$?; scripts/litter.sh $(LEDGER) || rc=1; \
	  cat $(FAULTS_REPORT) 2>/dev/null; exit $$rc

# Sanitizer build in its own tree; the same tests must pass under it.
ASAN_OPT := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -U_FORTIFY_SOURCE
asan: lab
	$(MAKE) BUILD=build-asan OPT="$(ASAN_OPT)" \
	        LDFLAGS="-fsanitize=address,undefined" build-asan/pgfold build-asan/pgfold-tests
	@# every committed fuzz input again, with the sanitizers (no clang needed)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  $(MAKE) --no-print-directory BUILD=build-asan OPT="$(ASAN_OPT)" \
	        LDFLAGS="-fsanitize=address,undefined" fuzz-replay
	PGFOLD_TEST_BIN=$(abspath build-asan/pgfold) ASAN_OPTIONS=detect_leaks=1 \
	  LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp):print_suppressions=0 \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 build-asan/pgfold-tests $(CRITERION_FLAGS)

# Fuzzing (tests/fuzz/, one target a file). `make fuzz` installs clang and
# its runtime (scripts/deps.sh fuzz), builds each target with libFuzzer,
# ASan and UBSan in $(FUZZ_BUILD), and runs each for FUZZ_SECONDS from the
# committed corpus and regressions (scripts/fuzz.sh prints the table; a
# crash fails it and is kept under $(FUZZ_BUILD)/crashes/<target>/).
# `make fuzz-replay` (part of check and unit) needs no clang: the targets
# built with $(CC) and tests/fuzz/replay.c run every committed input once.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

fuzz:
	@scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-build:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang \
	  OPT="-O1 -g -fsanitize=fuzzer-no-link $(FUZZ_SAN) -U_FORTIFY_SOURCE" \
	  LDFLAGS="-fsanitize=fuzzer $(FUZZ_SAN)" fuzz-bins

fuzz-bins: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)

$(BUILD)/fuzz/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(OBJ_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fuzz/replay_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o $(OBJ_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

fuzz-replay: $(REPLAY_BINS)
	@for t in $(FUZZ_TARGETS); do \
	  $(BUILD)/fuzz/replay_$$t tests/fuzz/corpus/$$t tests/fuzz/regressions/$$t || \
	  { echo "fuzz-replay: target $$t failed on a committed input (above)" >&2; exit 1; }; \
	done

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/pgfold
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0644 man/pgfold.1 $(DESTDIR)$(PREFIX)/share/man/man1/pgfold.1
	install -m 0644 completions/pgfold.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/pgfold

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/pgfold
	rm -f $(DESTDIR)$(PREFIX)/share/man/man1/pgfold.1
	rm -f $(DESTDIR)$(PREFIX)/share/bash-completion/completions/pgfold

# Day-to-day shortcuts on the shared instance of the stack in $PGFOLD_ROOT
# (or ROOT=...): make db-status, make db-backup DB=name, make db-console [DB=name].
PGFOLD  ?= $(abspath $(BIN))
ROOT_ARG = $(if $(ROOT),--root "$(ROOT)")

db-status: $(BIN)
	$(PGFOLD) $(ROOT_ARG) db list

db-backup: $(BIN)
	@test -n "$(DB)" || { echo "usage: make db-backup DB=name" >&2; exit 2; }
	$(PGFOLD) $(ROOT_ARG) db backup "$(DB)"

db-console: $(BIN)
	$(PGFOLD) $(ROOT_ARG) db console $(if $(DB),"$(DB)")

# Schema migrations of one service's database (`pgfold schema`): S=service
# or DB=database (then DIR=directory too, unless a service uses DB).
SCHEMA_TARGET = $(if $(S),"$(S)",$(if $(DB),--db "$(DB)")) $(if $(DIR),--dir "$(DIR)")
schema-target-check:
	@test -n "$(S)$(DB)" || { echo "usage: make $(MAKECMDGOALS) S=service (or DB=name [DIR=dir])" >&2; exit 2; }

db-migrate: $(BIN) schema-target-check
	$(PGFOLD) $(ROOT_ARG) schema up $(SCHEMA_TARGET)

db-rollback: $(BIN) schema-target-check
	$(PGFOLD) $(ROOT_ARG) schema down $(SCHEMA_TARGET)

db-migrate-status: $(BIN) schema-target-check
	$(PGFOLD) $(ROOT_ARG) schema status $(SCHEMA_TARGET)

db-validate: $(BIN) schema-target-check
	$(PGFOLD) $(ROOT_ARG) schema validate $(SCHEMA_TARGET)

db-migrate-create: $(BIN) schema-target-check
	@test -n "$(NAME)" || { echo "usage: make db-migrate-create S=service NAME=name" >&2; exit 2; }
	$(PGFOLD) $(ROOT_ARG) schema create $(SCHEMA_TARGET) "$(NAME)"

demo: lab
	@$(MAKE) --no-print-directory $(BIN)
	@scripts/demo.sh

bench: lab
	@$(MAKE) --no-print-directory $(BIN)
	@scripts/bench.sh

# The README's build path in a throwaway Debian 12 container that has none of
# the build packages (scripts/fresh-check.sh); catches parse-time flag defects.
fresh-check: lab
	@scripts/fresh-check.sh

clean:
	rm -rf build build-asan build-fuzz

-include $(OBJ_LIB:.o=.d) $(OBJ_MAIN:.o=.d) $(TEST_OBJ:.o=.d) $(FUZZ_OBJ:.o=.d)
