# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree build of rgvt.ko:
#
#   make                   # against the cached test kernel (tools/kernel.sh)
#   make KDIR=/path/to/kernel/build
#
# The kernel tree must have CONFIG_RUST=y and be built by the same rustc
# (and bindgen) this build uses: pass RUSTC=, BINDGEN= if they differ.

ifeq ($(origin KDIR),undefined)
KDIR := $(shell $(CURDIR)/tools/kernel.sh)
endif
RUSTC ?= /usr/bin/rustc
RUSTDOC ?= /usr/bin/rustdoc
CLIPPY_DRIVER ?= /usr/bin/clippy-driver
RGVT_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/rgvt
BINDGEN ?= $(or $(wildcard $(RGVT_CACHE)/bindgen/bin/bindgen),bindgen)
KMAKE = $(MAKE) -C $(KDIR) M=$(CURDIR) RUSTC=$(RUSTC) HOSTRUSTC=$(RUSTC) \
	RUSTDOC=$(RUSTDOC) BINDGEN=$(BINDGEN)

# A kernel built by LLVM (the debug kernel, tools/kernel.sh --debug) has its
# modules built by the same LLVM: LLVM=-<major> of its CONFIG_CLANG_VERSION
# (190107 -> 19), and bindgen loads that major's libclang, which knows every
# flag clang is given.
rgvt_llvm := $(shell sed -n 's/^CONFIG_CLANG_VERSION=\([1-9][0-9]*\)[0-9]\{4\}$$/\1/p' \
	$(KDIR)/.config 2>/dev/null)
ifneq ($(rgvt_llvm),)
KMAKE += LLVM=-$(rgvt_llvm)
LIBCLANG_PATH ?= /usr/lib/llvm-$(rgvt_llvm)/lib
export LIBCLANG_PATH
endif

all: modules

modules clean:
	$(KMAKE) $@

# The same build with clippy as the Rust compiler (the kernel's CLIPPY=1).
clippy:
	$(KMAKE) CLIPPY=1 CLIPPY_DRIVER=$(CLIPPY_DRIVER) modules

.PHONY: all modules clean clippy
