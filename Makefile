# deloc — one flat Makefile.  `make` installs missing Debian build packages,
# then builds ./deloc.  `make test` runs every spec.  `make V=1` shows commands.

PREFIX    ?= /usr/local
CC        ?= cc
SANITIZE  ?=
BUILD     := build
MAKE_PID  := $(shell echo $$PPID)
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
LIBDIR    := /usr/lib/$(MULTIARCH)
GIT_DESC  := $(shell git describe --tags --always --dirty 2>/dev/null)
VERSION   := $(if $(filter v%,$(GIT_DESC)),$(patsubst v%,%,$(GIT_DESC)),0.1.0$(if $(GIT_DESC),+g$(GIT_DESC)))

# Debian packages the build and the tests need; `make deps` installs what is missing.
BUILD_PKGS := gcc make pkg-config libluajit-5.1-dev libyaml-dev lua-cjson-dev \
              libcurl4-openssl-dev libedit-dev
TEST_PKGS  := lua-busted python3 openssl curl tmux docker-compose debootstrap hyperfine socat
FUZZ_PKGS  := clang libclang-rt-dev
LINT_PKGS  := lua-check clang-format
# make test-k8s-pods: Debian's containerd, runc and CNI plugins under the node, the clients of its logins
PODS_PKGS  := containerd runc containernetworking-plugins iptables nftables iproute2 postgresql-client redis-tools

ifeq ($(V),1)
Q :=
else
Q := @
endif

CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -fno-strict-aliasing
CPPFLAGS += -I/usr/include/luajit-2.1 -I/usr/include/lua5.1 -iquote src -iquote $(BUILD) \
            -DDELOC_VERSION='"$(VERSION)"'
LDFLAGS  += -Wl,--export-dynamic-symbol='lua*' -Wl,--as-needed
# Static: LuaJIT, libyaml, lua-cjson (by path: its .pc pulls in a second Lua ABI).
# Dynamic, loaded on first use with dlopen: libedit (deloc repl) and libcurl
# (deloc.http's first request), so commands that need neither start without them.
STATIC_LIBS := $(LIBDIR)/libluajit-5.1.a $(LIBDIR)/libyaml.a $(LIBDIR)/liblua5.1-cjson.a
LDLIBS   += -lm -ldl

ifneq ($(SANITIZE),)
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=$(SANITIZE)
endif

C_SRCS   := $(sort $(wildcard src/*.c))
C_OBJS   := $(patsubst src/%.c,$(BUILD)/%.o,$(C_SRCS))
BINDINGS := $(patsubst src/l_%.c,%,$(sort $(wildcard src/l_*.c)))
# recipes/contracts/ holds the image contracts: data for spec/contract_spec.lua, not recipes
LUA_SRCS := $(sort $(filter-out recipes/contracts/%,$(shell find lua adapters recipes -name '*.lua' 2>/dev/null)))

.PHONY: all deps install uninstall test unit e2e test-k8s-full test-k8s-pods test-minio ctest bench demo demo-down clean format check-format lint fuzz fuzz-smoke

all: deps deloc

deps:
	$(Q)missing=$$(for p in $(BUILD_PKGS) $(if $(filter test unit e2e test-k8s-full test-k8s-pods bench demo,$(MAKECMDGOALS)),$(TEST_PKGS)) \
	  $(if $(filter test-k8s-pods,$(MAKECMDGOALS)),$(PODS_PKGS)) \
	  $(if $(filter test fuzz fuzz-smoke,$(MAKECMDGOALS)),$(FUZZ_PKGS)) \
	  $(if $(filter lint format check-format,$(MAKECMDGOALS)),$(LINT_PKGS)); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing missing packages:" $$missing; \
	  if [ "$$(id -u)" != 0 ]; then echo "deloc: run as root or install: $$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(BUILD):
	$(Q)mkdir -p $@

# Build flags are part of every object: a SANITIZE build never links stale objects.
$(BUILD)/flags: FORCE | $(BUILD)
	$(file >$@.$(MAKE_PID),$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS))
	$(Q)cmp -s $@.$(MAKE_PID) $@ && rm -f $@.$(MAKE_PID) || mv -f $@.$(MAKE_PID) $@
FORCE:

$(BUILD)/%.o: src/%.c $(BUILD)/flags | $(BUILD) deps
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# The generator compiles each Lua file to bytecode (with line info) and writes one
# table of modules; a Lua syntax error stops the build here.
$(BUILD)/embedgen: src/gen/embed.c | $(BUILD) deps
	@echo "  HOSTCC  $<"
	$(Q)$(CC) -std=c11 -O1 -Wall -Wextra -Werror -D_GNU_SOURCE -I/usr/include/luajit-2.1 \
	  -o $@ $< $(LIBDIR)/libluajit-5.1.a -lm -ldl

$(BUILD)/lua_files: FORCE | $(BUILD)
	$(file >$@.$(MAKE_PID),$(LUA_SRCS))
	$(Q)cmp -s $@.$(MAKE_PID) $@ && rm -f $@.$(MAKE_PID) || mv -f $@.$(MAKE_PID) $@

$(BUILD)/embedded.c: $(BUILD)/embedgen $(BUILD)/lua_files $(LUA_SRCS)
	@echo "  EMBED   $(words $(LUA_SRCS)) Lua files"
	$(Q)$(BUILD)/embedgen $@ $(LUA_SRCS)

$(BUILD)/bindings.h: FORCE | $(BUILD)
	$(Q){ for b in $(BINDINGS); do echo "BINDING($$b)"; done; } > $@.$(MAKE_PID); \
	  cmp -s $@.$(MAKE_PID) $@ && rm -f $@.$(MAKE_PID) || mv -f $@.$(MAKE_PID) $@

$(BUILD)/host.o: $(BUILD)/bindings.h

$(BUILD)/embedded.o: $(BUILD)/embedded.c $(BUILD)/flags
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

deloc: $(C_OBJS) $(BUILD)/embedded.o
	@echo "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(STATIC_LIBS) $(LDLIBS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 -s deloc $(DESTDIR)$(PREFIX)/bin/deloc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/deloc

# C tests of pure cores: spec/c/test_NAME.c links with src/NAME.c.
CTESTS := $(patsubst spec/c/test_%.c,$(BUILD)/test_%,$(wildcard spec/c/test_*.c))
$(BUILD)/test_%: spec/c/test_%.c src/%.c $(BUILD)/flags | $(BUILD)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(filter-out -Wl$(COMMA)%,$(LDFLAGS)) -o $@ $< src/$*.c $(LIBDIR)/libyaml.a -lm
COMMA := ,
# sys_at's walk also needs sys.c's messages and sys_fs.c's lock.
$(BUILD)/test_sys_at: spec/c/test_sys_at.c src/sys_at.c src/sys.c src/sys_fs.c $(BUILD)/flags | $(BUILD)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(filter-out -Wl$(COMMA)%,$(LDFLAGS)) -o $@ $< src/sys_at.c src/sys.c src/sys_fs.c -lm

ctest: $(CTESTS)

# libFuzzer targets (fuzz/*.c) for the YAML loader, the HTTP answer path,
# recipe loading and the sandbox child's answer (wire); clang builds them with ASan+UBSan into build-fuzz/.
# `make fuzz` runs each FUZZ_TIME seconds, `make test` a FUZZ_SMOKE one.
FUZZ_TIME  ?= 60
FUZZ_SMOKE ?= 10
FUZZ_DIR   := build-fuzz
# (-Werror is the gcc build's; clang warns on some system macros, NLMSG_OK)
FUZZ_FLAGS := -g -O1 -std=c11 -Wall -Wextra -D_GNU_SOURCE -fno-strict-aliasing \
              -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJS  := $(patsubst src/%.c,$(FUZZ_DIR)/%.o,$(filter-out src/main.c,$(C_SRCS))) $(FUZZ_DIR)/embedded.o
FUZZERS    := $(patsubst fuzz/%.c,$(FUZZ_DIR)/fuzz_%,$(wildcard fuzz/*.c))

.SECONDARY: $(FUZZ_OBJS)
$(FUZZ_DIR):
	$(Q)mkdir -p $@
# headers tracked as for the main build; host.c lists the bindings there are
$(FUZZ_DIR)/%.o: src/%.c | $(FUZZ_DIR)
	@echo "  FUZZCC  $<"
	$(Q)clang $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<
$(FUZZ_DIR)/host.o: $(BUILD)/bindings.h
$(FUZZ_DIR)/embedded.o: $(BUILD)/embedded.c | $(FUZZ_DIR)
	$(Q)clang $(CPPFLAGS) -g -O1 -c -o $@ $<
$(FUZZ_DIR)/fuzz_%: fuzz/%.c fuzz/harness.h $(FUZZ_OBJS)
	@echo "  FUZZ    $@"
	$(Q)clang $(CPPFLAGS) $(FUZZ_FLAGS) -Werror -fsanitize=fuzzer -Wl,--export-dynamic-symbol='lua*' \
	  -o $@ $< $(FUZZ_OBJS) $(STATIC_LIBS) -lm -ldl -lpthread

fuzz: deps $(FUZZERS)
	$(Q)./fuzz/run $(FUZZ_TIME)

fuzz-smoke: deps $(FUZZERS)
	$(Q)./fuzz/run $(FUZZ_SMOKE)

# The whole suite: C tests, fuzz smoke, unit specs, end-to-end specs; last
# line `N passed, N failed`.
test: all ctest fuzz-smoke
	$(Q)./spec/run all

unit: all ctest
	$(Q)./spec/run unit

e2e: all
	$(Q)./spec/run e2e

# Kubernetes with controllers, a scheduler and kwok's fake nodes: workloads
# become Ready, so --wait, rollback and scale are tested (not part of `make test`:
# the extra builds are long on a cold machine).
test-k8s-full: all
	$(Q)./spec/run k8sfull

# Kubernetes whose pods really run: a kubelet, kube-proxy, CoreDNS and containerd
# on this machine (root, cgroups, a bridge of its own); see README "Testing on real
# pods" (not part of `make test`).
test-k8s-pods: all
	$(Q)./spec/run k8spods

# The minio recipe on stand-ins built from the MinIO server and client Go
# modules at the recipe's pinned tags (not part of `make test`: the first
# build of both takes many minutes on 2 cores; cached afterwards).
test-minio: all
	$(Q)./spec/run minio

bench: all
	$(Q)./bench/run

# The main job: Postgres and Redis healthy, endpoints and status printed.
demo: all
	$(Q)spec/images/demo

demo-down: all
	$(Q)spec/images/demo-down

# luacheck with the committed .luacheckrc: zero warnings.
lint: deps
	$(Q)luacheck --quiet --codes --formatter plain lua adapters recipes spec bench

format: deps
	clang-format -i src/*.c src/*.h src/gen/*.c spec/c/*.c fuzz/*.c fuzz/*.h

check-format: deps
	clang-format --dry-run -Werror src/*.c src/*.h src/gen/*.c spec/c/*.c fuzz/*.c fuzz/*.h

clean:
	rm -rf $(BUILD) $(FUZZ_DIR) deloc

-include $(wildcard $(BUILD)/*.d $(FUZZ_DIR)/*.d)
