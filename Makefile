# profiled: a per-user daemon that keeps a Nix profile equal to a package file.
#
#   make check    build and run every test (unit and end-to-end, real Nix)
#   make demo     run profiled for real in a throw-away home
#   make          build daemon/profiled and client/profilectl
#   make check-valgrind  the end-to-end tests with profiled under valgrind
#   make bench    measure profiled against nix-env side by side (long;
#                 BENCH_QUICK=1 for a few minutes): table, CSV and PNG
#   make install  install the binaries, the systemd user units, the example
#                 config and package file, the manual pages and the shell
#                 completions under $(PREFIX) (default /usr/local)
#   make uninstall  remove what make install put
#   make deps     install every build and test dependency (Debian, as root)
#
# make check, make demo, make check-valgrind and make bench first bring what they need
# (etc/deps.sh: as root they apt-get install what is missing); make and the
# other goals never install anything and stop with the apt-get line to run.

PREFIX ?= /usr/local
# `make install PREFIX=~/.local` from a shell that passes the ~ on as it is
# (sh, zsh) must not put a ~ in the units' paths, and a trailing / must not
# keep USERUNITDIR below from knowing ~/.local.
override PREFIX := $(patsubst %/,%,$(patsubst ~/%,$(HOME)/%,$(PREFIX)))
BINDIR ?= $(PREFIX)/bin
CC ?= cc

PACKAGES = libevent libprotobuf-c sqlite3 libsystemd
TEST_PACKAGES = criterion
# Every Debian package any goal needs, from etc/deps.sh's table.
DEBIAN_PACKAGES = $(shell sh etc/deps.sh -l)

# Fail early, with the fix, when something the build needs is missing; the
# goals that install what they need check in their own recipes instead.
ifneq ($(filter-out deps clean uninstall check demo check-valgrind bench, \
	$(MAKECMDGOALS)),)
NEED_BUILD_DEPS = 1
endif
ifeq ($(MAKECMDGOALS),)
NEED_BUILD_DEPS = 1
endif
ifdef NEED_BUILD_DEPS
ifneq ($(shell sh etc/deps.sh -n build >&2 || echo missing),)
$(error the build's dependencies are missing (see above))
endif
endif

# CFLAGS and LDLIBS are recursive: pkg-config is asked when a recipe needs
# them, after etc/deps.sh has installed it and the libraries.
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter \
	-Wmissing-prototypes -Wstrict-prototypes -Iproto -Idaemon \
	$(shell pkg-config --cflags $(PACKAGES) 2>/dev/null)
LDLIBS = $(shell pkg-config --libs $(PACKAGES) 2>/dev/null)

PROTO_GEN = proto/profiled.pb-c.c proto/profiled.pb-c.h
PROTO_OBJS = proto/profiled.pb-c.o proto/frame.o

# Nix expressions compiled in (daemon/embed.sh), generated sources.
EMBED_OBJS = daemon/user-env.o daemon/adopt-manifests.o

# Modules both binaries use; the rest of daemon/ is the daemon's alone.
SHARED_OBJS = daemon/log.o daemon/xmalloc.o daemon/config.o daemon/json.o \
	daemon/path.o daemon/profile.o daemon/nix-output.o
DAEMON_OBJS = $(filter-out $(SHARED_OBJS) daemon/profiled.o $(EMBED_OBJS), \
	$(patsubst %.c,%.o,$(wildcard daemon/*.c))) $(SHARED_OBJS) \
	$(EMBED_OBJS)
CLIENT_OBJS = $(patsubst %.c,%.o,$(wildcard client/*.c))

# The queue's tests link queue.c alone with fakes for what it drives.
QUEUE_TEST_OBJS = tests/unit/test-queue.o tests/unit/queue-fakes.o
QUEUE_REAL_OBJS = daemon/queue.o daemon/inputs.o daemon/package.o \
	daemon/path.o daemon/sha256.o daemon/reason.o daemon/log.o \
	daemon/xmalloc.o
UNIT_OBJS = $(filter-out $(QUEUE_TEST_OBJS), \
	$(patsubst %.c,%.o,$(wildcard tests/unit/*.c)))
E2E_OBJS = $(patsubst %.c,%.o,$(wildcard tests/e2e/*.c))
E2E_SHIM = tests/e2e/shim/sqlite-pause.so
BENCH_OBJS = tests/bench/bench-rpc.o

all: daemon/profiled client/profilectl

# Generated code first: every object may include the generated header.
# Every object is rebuilt when a header it may include changes.
$(DAEMON_OBJS) $(CLIENT_OBJS) $(UNIT_OBJS) $(QUEUE_TEST_OBJS) $(E2E_OBJS) \
	$(BENCH_OBJS) daemon/profiled.o proto/frame.o: proto/profiled.pb-c.h \
	daemon/profiled.h proto/frame.h
$(QUEUE_TEST_OBJS): tests/unit/queue-fakes.h
$(CLIENT_OBJS): client/client.h
$(E2E_OBJS): tests/e2e/harness.h

$(PROTO_GEN): proto/profiled.proto
	protoc-c --proto_path=proto --c_out=proto $<

# The user-environment wrapper is compiled in, so an installed profiled
# never looks for data files.
daemon/user-env.c: daemon/user-env.nix daemon/embed.sh
	sh daemon/embed.sh user_env_nix $< > $@.tmp && mv $@.tmp $@
daemon/adopt-manifests.c: daemon/adopt-manifests.nix daemon/embed.sh
	sh daemon/embed.sh adopt_manifests_nix $< > $@.tmp && mv $@.tmp $@

daemon/profiled: daemon/profiled.o $(DAEMON_OBJS) $(PROTO_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

client/profilectl: $(CLIENT_OBJS) $(SHARED_OBJS) $(PROTO_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests/unit/unit-tests: $(UNIT_OBJS) $(DAEMON_OBJS) $(PROTO_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs $(TEST_PACKAGES))

tests/unit/queue-tests: $(QUEUE_TEST_OBJS) $(QUEUE_REAL_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs $(TEST_PACKAGES))

tests/e2e/e2e-tests: $(E2E_OBJS) $(SHARED_OBJS) daemon/sha256.o $(PROTO_OBJS) \
	| $(E2E_SHIM)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs $(TEST_PACKAGES))

# The kill test's LD_PRELOAD shim, which stops profiled at a SQLite commit.
$(E2E_SHIM): tests/e2e/shim/sqlite-pause.c
	$(CC) $(CFLAGS) -fPIC -shared -o $@ $< $(LDLIBS) -ldl

# The load generator and the timers make bench runs (tests/bench/).
tests/bench/bench-rpc: $(BENCH_OBJS) $(PROTO_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The goals a newcomer types bring what they need first, then run in a
# sub-make, so that nothing asks pkg-config before etc/deps.sh has run.
check demo check-valgrind bench:
	@sh etc/deps.sh $@
	@$(MAKE) --no-print-directory run-$@

run-check: all tests/unit/unit-tests tests/unit/queue-tests tests/e2e/e2e-tests \
	tests/bench/bench-rpc
	tests/unit/unit-tests
	tests/unit/queue-tests
	sh tests/make/test-deps.sh
	sh tests/make/test-bench.sh
	tests/e2e/e2e-tests --jobs 2

# Every row of tests/bench/bench.sh: BENCH_QUICK=1 for smaller sizes,
# BENCH_OUT=FILE.csv for where the CSV (and the PNG beside it) go.
run-bench: all tests/bench/bench-rpc
	bash tests/bench/bench.sh

# The end-to-end tests again with the daemon under valgrind: a memory
# error makes profiled exit 99, which fails the test that stops it.
run-check-valgrind: all tests/e2e/e2e-tests
	PROFILED_TEST_WRAPPER="valgrind -q --error-exitcode=99 \
		--leak-check=full --errors-for-leak-kinds=definite" \
		tests/e2e/e2e-tests --jobs 2

deps:
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends $(DEBIAN_PACKAGES); \
	else \
		echo "run as root: apt-get install $(DEBIAN_PACKAGES)"; \
	fi

run-demo: all
	sh etc/demo.sh

# Where systemd's user manager looks (`systemd-analyze --user unit-paths`):
# PREFIX/lib/systemd/user for /usr and /usr/local, and for ~/.local,
# ~/.local/share/systemd/user ($XDG_DATA_HOME/systemd/user): it never
# reads ~/.local/lib.  Any other PREFIX needs USERUNITDIR, e.g.
# ~/.config/systemd/user.
ifeq ($(PREFIX),$(HOME)/.local)
USERUNITDIR ?= $(PREFIX)/share/systemd/user
else
USERUNITDIR ?= $(PREFIX)/lib/systemd/user
endif
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
# zsh reads completions from its fpath: DATADIR/zsh/site-functions as zsh
# is built upstream, but Debian's zsh reads /usr/share/zsh/vendor-completions
# instead, so the zsh here says which of the two it reads under DATADIR.
# None under ~/.local: the README says what to add to fpath.
ZSH_FPATH_DIR = $(shell zsh -fc 'print -l $$fpath' 2>/dev/null | \
	grep -m1 -xE '$(DATADIR)/zsh/(site-functions|vendor-completions)')
ZSHCOMPDIR ?= $(or $(ZSH_FPATH_DIR),$(DATADIR)/zsh/site-functions)
FISHCOMPDIR ?= $(DATADIR)/fish/vendor_completions.d

# Manual pages and completions are installed if the tree has them (at the
# top or in client/).
MANPAGES = $(wildcard man/*.[158] client/man/*.[158])
BASHCOMP = $(firstword $(wildcard completions/profilectl.bash \
	client/completions/profilectl.bash))
ZSHCOMP = $(firstword $(wildcard completions/_profilectl \
	client/completions/_profilectl))
FISHCOMP = $(firstword $(wildcard completions/profilectl.fish \
	client/completions/profilectl.fish))

# Where manual page $(1) goes: MANDIR/manN/NAME.N.
man_path = $(MANDIR)/man$(subst .,,$(suffix $(1)))/$(notdir $(1))

# Every file make install puts, so make uninstall removes exactly those.
INSTALLED = $(BINDIR)/profiled $(BINDIR)/profilectl \
	$(USERUNITDIR)/profiled.service $(USERUNITDIR)/profiled.socket \
	$(DATADIR)/profiled/profiled.conf $(DATADIR)/profiled/packages.nix \
	$(foreach page,$(MANPAGES),$(call man_path,$(page))) \
	$(if $(BASHCOMP),$(BASHCOMPDIR)/profilectl) \
	$(if $(ZSHCOMP),$(ZSHCOMPDIR)/_profilectl) \
	$(if $(FISHCOMP),$(FISHCOMPDIR)/profilectl.fish)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(USERUNITDIR) \
		$(DESTDIR)$(DATADIR)/profiled
	install -m 755 daemon/profiled client/profilectl $(DESTDIR)$(BINDIR)
	sed 's#@BINDIR@#$(BINDIR)#' systemd/profiled.service \
		> $(DESTDIR)$(USERUNITDIR)/profiled.service
	chmod 644 $(DESTDIR)$(USERUNITDIR)/profiled.service
	install -m 644 systemd/profiled.socket $(DESTDIR)$(USERUNITDIR)
	install -m 644 etc/profiled.conf etc/packages.nix \
		$(DESTDIR)$(DATADIR)/profiled
	$(foreach page,$(MANPAGES),install -D -m 644 $(page) \
		$(DESTDIR)$(call man_path,$(page));)
	$(if $(BASHCOMP),install -D -m 644 $(BASHCOMP) \
		$(DESTDIR)$(BASHCOMPDIR)/profilectl)
	$(if $(ZSHCOMP),install -D -m 644 $(ZSHCOMP) \
		$(DESTDIR)$(ZSHCOMPDIR)/_profilectl)
	$(if $(FISHCOMP),install -D -m 644 $(FISHCOMP) \
		$(DESTDIR)$(FISHCOMPDIR)/profilectl.fish)

# The directories are shared with other programs, but share/profiled,
# which goes too unless someone put files of their own there.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	rmdir $(DESTDIR)$(DATADIR)/profiled 2>/dev/null || true

clean:
	rm -f daemon/*.o client/*.o proto/*.o tests/unit/*.o tests/e2e/*.o \
		$(PROTO_GEN) daemon/user-env.c daemon/adopt-manifests.c \
		daemon/profiled client/profilectl \
		tests/unit/unit-tests tests/unit/queue-tests tests/e2e/e2e-tests \
		$(E2E_SHIM) tests/bench/*.o tests/bench/bench-rpc

.PHONY: all bench check check-valgrind deps demo install uninstall clean \
	run-bench run-check run-check-valgrind run-demo
