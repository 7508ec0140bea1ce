# tlsgate — top-level build.
#
# One `make` builds everything out of tree into build/: tlsgated, tlsgatectl, the BPF objects and
# their skeletons, and the test binaries.  `make SANITIZE=1` builds the same into build/san/ with
# ASan+UBSan (`make check` runs its unit tests and its tlsgated: tiers unit-san, e2e-san).
# Sources are picked up by directory, so adding a file needs no Makefile change; each module
# folder is one archive (none for a folder without sources):
#
#   lib/*.c              log, JSON writer, socket helpers               -> libtgutil.a
#   smtp/*.c             SMTP text, dot scan, Received writer/parser    -> libsmtp.a
#   policy/*.c           policy model, tables, matcher, resolution      -> libpolicy.a
#   report/*.c           posture store, TLS reports (RFC 8460), pages   -> libreport.a
#   ktls/*.c             kernel TLS hand-off and data pump              -> libktls.a
#   hw/*.c               NIC offload (ethtool netlink, sock_diag)       -> libhw.a
#   bpf/*.c              BPF user side (loader, tc, routes, metrics)    -> libtgbpf.a
#   bpf/*.bpf.c          BPF programs                                   -> X.bpf.o + X.skel.h
#   control/*.c          netlink control plane: wire protocol, server, client, auth -> libcontrol.a
#   daemon/tlsgated.c    tlsgated's main; daemon/*.c (rest)             -> libdaemon.a
#   ctl/main.c           tlsgatectl's main; ctl/*.c (rest)              -> libctl.a
#   tests/lib/*.c        test helpers                                   -> libtgtest.a
#   tests/{unit,bpf,e2e,vm}/test_*.c, tests/*/helper_*.c                -> one binary each

BUILD    ?= build
export BUILD
SANITIZE ?= 0
FUZZ     ?= 0
V        ?= 0

ifeq ($(FUZZ),1)
# libFuzzer targets (tests/fuzz/fuzz_*.c): everything built by clang with coverage + ASan/UBSan.
O  := $(BUILD)/fuzz
CC := clang
else ifeq ($(SANITIZE),1)
O := $(BUILD)/san
else
O := $(BUILD)
endif

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' $(1) $(2);
endif

CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
PKGS     := openssl libnl-3.0 libnl-genl-3.0 libnl-route-3.0 libbpf zlib

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# libunbound (policy/dane.c): Debian 12's libunbound.pc lists libevent, nettle and hogweed under
# Requires.private without libunbound-dev depending on their -dev packages, so pkg-config fails
# for it (and for every package named with it); the header is in /usr/include, the library is
# one -l.
PKG_LIBS   += -lunbound

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wconversion -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wvla -Wundef
HARDEN := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
CFLAGS ?= -O2 -g
TG_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(WARN) $(HARDEN) -I. -I$(O)/bpf $(PKG_CFLAGS)
LDFLAGS ?=
TG_LDFLAGS := -pie -Wl,-z,relro,-z,now -Wl,--as-needed

ifeq ($(FUZZ),1)
# -fno-sanitize-recover: a UBSan report aborts the run (it would otherwise print and go on, and
# the fuzz tier would pass).
TG_CFLAGS := $(filter-out -D_FORTIFY_SOURCE=2,$(TG_CFLAGS)) -DTLSGATE_FUZZ \
	-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TG_LDFLAGS += -fsanitize=fuzzer,address,undefined
endif

ifeq ($(SANITIZE),1)
# _FORTIFY_SOURCE and ASan check the same things twice and disagree on some builtins.
TG_CFLAGS := $(filter-out -D_FORTIFY_SOURCE=2,$(TG_CFLAGS)) -fsanitize=address,undefined \
	-fno-omit-frame-pointer -fno-sanitize-recover=all
TG_LDFLAGS += -fsanitize=address,undefined
endif

# cmocka's assertion macros cast between integer widths freely.
TEST_CFLAGS := $(filter-out -Wconversion,$(TG_CFLAGS)) -Itests
TEST_LIBS   := -lcmocka

# ---------------------------------------------------------------------------------------------
# Sources

util_src    := $(wildcard lib/*.c)
smtp_src    := $(wildcard smtp/*.c)
policy_src  := $(wildcard policy/*.c)
report_src  := $(wildcard report/*.c)
ktls_src    := $(wildcard ktls/*.c)
hw_src      := $(wildcard hw/*.c)
bpfu_src    := $(filter-out %.bpf.c,$(wildcard bpf/*.c))
control_src := $(wildcard control/*.c)
dmain_src   := daemon/tlsgated.c
daemon_src  := $(filter-out $(dmain_src),$(wildcard daemon/*.c))
ctl_src     := ctl/main.c
ctllib_src  := $(filter-out $(ctl_src),$(wildcard ctl/*.c))
tlib_src    := $(wildcard tests/lib/*.c)
bpf_prog    := $(wildcard bpf/*.bpf.c)

obj = $(patsubst %.c,$(O)/obj/%.o,$(1))

ctl_obj    := $(call obj,$(ctl_src))
dmain_obj  := $(call obj,$(dmain_src))
tlib_obj   := $(call obj,$(tlib_src))

bpf_obj    := $(patsubst bpf/%.bpf.c,$(O)/bpf/%.bpf.o,$(bpf_prog))
bpf_skel   := $(patsubst bpf/%.bpf.c,$(O)/bpf/%.skel.h,$(bpf_prog))
VMLINUX_H  := $(O)/bpf/vmlinux.h
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

# Archives, in link order (users before what they use: ktls/dane.c uses policy/dane.c); a
# module without sources has none.
#   archive name : sources
lib_modules := ctl:ctllib daemon:daemon control:control report:report ktls:ktls policy:policy smtp:smtp \
	tgbpf:bpfu hw:hw tgutil:util
LIBS := $(foreach m,$(lib_modules),$(if $($(word 2,$(subst :, ,$(m)))_src),$(O)/lib$(word 1,$(subst :, ,$(m))).a))

test_dirs  := unit bpf e2e vm
test_src   := $(foreach d,$(test_dirs),$(wildcard tests/$(d)/test_*.c tests/$(d)/helper_*.c))
test_bin   := $(patsubst tests/%.c,$(O)/tests/%,$(test_src))
unit_bin   := $(filter $(O)/tests/unit/%,$(test_bin))
fuzz_src   := $(wildcard tests/fuzz/fuzz_*.c)
fuzz_bin   := $(patsubst tests/fuzz/%.c,$(O)/fuzz-bin/%,$(fuzz_src))

all_src := $(util_src) $(smtp_src) $(policy_src) $(report_src) $(ktls_src) $(hw_src) $(bpfu_src) \
	$(control_src) $(dmain_src) $(daemon_src) $(ctl_src) $(ctllib_src) $(tlib_src) $(test_src) \
	$(fuzz_src)

.PHONY: deb all bins tests unit-tests fuzz-targets bpf clean deps check check-unit check-bpf check-e2e check-vm \
	check-fuzz fuzz-long demo bench vm-kernel install format help
.DEFAULT_GOAL := all

all: bins tests
bins: $(O)/tlsgated $(O)/tlsgatectl
tests: $(test_bin)
unit-tests: $(unit_bin)
fuzz-targets: $(fuzz_bin)
bpf: $(bpf_obj) $(bpf_skel)

# ---------------------------------------------------------------------------------------------
# BPF: vmlinux.h from the running kernel's BTF when it has one, else the checked-in copy
# (generated from Debian's 6.1 kernel, the oldest kernel we support).

$(VMLINUX_H):
	$(Q)mkdir -p $(@D)
	$(call msg,GEN,$@)
	$(Q)if [ -r $(VMLINUX_BTF) ] && \
		$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp 2>/dev/null; then \
		mv $@.tmp $@; \
	else \
		echo "  (no kernel BTF here: using bpf/vmlinux/vmlinux.h)"; rm -f $@.tmp; \
		cp bpf/vmlinux/vmlinux.h $@; \
	fi

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -I$(O)/bpf -I.

$(O)/bpf/%.bpf.o: bpf/%.bpf.c $(VMLINUX_H) $(wildcard bpf/*.h)
	$(call msg,CLANG,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(O)/bpf/%.skel.h: $(O)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

# ---------------------------------------------------------------------------------------------
# C objects.  Every object waits for the skeletons: user code includes them.

$(O)/obj/tests/%.o: tests/%.c | $(bpf_skel)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(TEST_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(O)/obj/%.o: %.c | $(bpf_skel)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(TG_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

define archive
$(O)/lib$(1).a: $(call obj,$(2))
	@mkdir -p $$(@D)
	$$(call msg,AR,$$@)
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
endef

$(foreach m,$(lib_modules),$(eval $(call archive,$(word 1,$(subst :, ,$(m))),$($(word 2,$(subst :, ,$(m)))_src))))
$(eval $(call archive,tgtest,$(tlib_src)))

$(O)/tlsgated: $(dmain_obj) $(LIBS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(TG_LDFLAGS) $(LDFLAGS) $(dmain_obj) $(LIBS) $(PKG_LIBS) -o $@

$(O)/tlsgatectl: $(ctl_obj) $(LIBS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(TG_LDFLAGS) $(LDFLAGS) $(ctl_obj) $(LIBS) $(PKG_LIBS) -o $@

$(O)/tests/%: $(O)/obj/tests/%.o $(O)/libtgtest.a $(LIBS)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(TG_LDFLAGS) $(LDFLAGS) $< $(O)/libtgtest.a $(LIBS) $(PKG_LIBS) $(TEST_LIBS) -o $@

# libFuzzer supplies main(); build with `make FUZZ=1 fuzz-targets`.
$(O)/fuzz-bin/%: $(O)/obj/tests/fuzz/%.o $(O)/libtgtest.a $(LIBS)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(TG_LDFLAGS) $(LDFLAGS) $< $(O)/libtgtest.a $(LIBS) $(PKG_LIBS) -o $@

-include $(patsubst %.c,$(O)/obj/%.d,$(all_src))

# What a program outside the Makefile links with, in order (the benchmarks' own C programs):
# `make -s print-link` prints the archives and the system libraries.
.PHONY: print-link
print-link:
	@echo $(O)/libtgtest.a $(LIBS) $(PKG_LIBS)

# ---------------------------------------------------------------------------------------------
# Dependencies, tests, demo

# Installs the Debian packages the build and the tests need; a no-op when all are present.
deps:
	$(Q)scripts/deps.sh

# The VM tiers' kernels: Debian 12's linux-image-6.1 (and a newer one from trixie-backports that
# can re-key kTLS), their tls.ko and crypto modules, and an initramfs, cached under build/.
vm-kernel: deps
	$(Q)tests/vm/fetch-kernel $(BUILD)/vm
	$(Q)tests/vm/fetch-kernel $(BUILD)/vm-rekey trixie-backports

check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 unit-tests bins
	$(Q)$(MAKE) --no-print-directory FUZZ=1 fuzz-targets
	$(Q)tests/vm/fetch-kernel $(BUILD)/vm
	$(Q)tests/vm/fetch-kernel $(BUILD)/vm-rekey trixie-backports
	$(Q)tests/check unit unit-san fuzz bpf e2e e2e-san vm vm-rekey

check-unit: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 unit-tests
	$(Q)tests/check unit unit-san

check-fuzz: deps
	$(Q)$(MAKE) --no-print-directory FUZZ=1 fuzz-targets
	$(Q)tests/check fuzz

# The fuzz tier for longer (10 min a target unless TLSGATE_FUZZ_SECONDS says otherwise), growing
# each corpus in $(BUILD)/fuzz-corpus/ from one run to the next.  Not part of `make check`.
fuzz-long: deps
	$(Q)$(MAKE) --no-print-directory FUZZ=1 fuzz-targets
	$(Q)s=$${TLSGATE_FUZZ_SECONDS:-600}; TLSGATE_FUZZ_SECONDS=$$s \
		TLSGATE_TEST_TIMEOUT=$$((s + 300)) TLSGATE_FUZZ_CORPUS=$(abspath $(BUILD))/fuzz-corpus \
		tests/check fuzz

check-bpf: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/check bpf

check-e2e: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 bins
	$(Q)tests/check e2e e2e-san

check-vm: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/vm/fetch-kernel $(BUILD)/vm
	$(Q)tests/vm/fetch-kernel $(BUILD)/vm-rekey trixie-backports
	$(Q)tests/check vm vm-rekey

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/vm/fetch-kernel $(BUILD)/vm
	$(Q)scripts/demo

# The Debian package (packaging/debian), built from a copy of the tracked tree.
deb: deps
	$(Q)scripts/build-deb $(BUILD)/deb

# Performance, not tests: ratios against peers measured in the same run (bench/run), results
# in bench/results/*.json and a table in docs/BENCHMARKS.md.
bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/vm/fetch-kernel $(BUILD)/vm
	$(Q)bench/run $(BENCH)

format:
	$(Q)clang-format -i $(all_src) $(wildcard */*.h tests/*/*.h bpf/*.bpf.c)

clean:
	$(Q)rm -rf $(BUILD)

help:
	@echo "make            build everything into $(BUILD)/"
	@echo "make deps       install the Debian packages needed (idempotent)"
	@echo "make check      run every test tier (check-unit, check-fuzz, check-bpf, check-e2e, check-vm)"
	@echo "make fuzz-long  every fuzz target for 10 minutes (TLSGATE_FUZZ_SECONDS), not in check"
	@echo "make demo       build and show tlsgate working"
	@echo "make deb        the Debian package into $(BUILD)/deb/"
	@echo "make bench      measure against stunnel, Postfix and raw OpenSSL (docs/BENCHMARKS.md);"
	@echo "                BENCH=\"relay reuse\" runs only those bench/bench_NAME.sh"
	@echo "make SANITIZE=1 build with ASan+UBSan into $(BUILD)/san/"
