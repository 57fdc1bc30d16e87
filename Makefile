# memsim: every target does its own set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
BUILT := $(VENV)/.built
CORE_SOURCES := $(wildcard kernel_model/core/*.c kernel_model/core/*.h kernel_model/*.pyx kernel_model/*.pxd) setup.py

.PHONY: install system-deps build test fuzz lint bench scenario clean firmware sanitize

install: $(INSTALLED)

# Debian packages the tests use: valgrind (cachegrind/lackey), setarch, a static libc, for
# the guest side QEMU and a 32-bit-capable gcc/binutils, chromium with its WebDriver for the
# report's browser test, and tmux (memsim interactive as a person sees it).
system-deps:
	@missing=""; \
	command -v valgrind >/dev/null || missing="$$missing valgrind"; \
	command -v setarch >/dev/null || missing="$$missing util-linux"; \
	[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || missing="$$missing libc6-dev"; \
	command -v qemu-system-x86_64 >/dev/null || missing="$$missing qemu-system-x86"; \
	command -v ld >/dev/null || missing="$$missing binutils"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	command -v tmux >/dev/null || missing="$$missing tmux"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

$(INSTALLED): pyproject.toml setup.py | system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(BUILT) $@

# Rebuild the extension in place when the C core or the Cython layer changes.
build: $(BUILT)

$(BUILT): $(INSTALLED) $(CORE_SOURCES)
	$(BIN)/python setup.py --quiet build_ext --inplace
	touch $@

test: system-deps build firmware
	$(BIN)/ruff check kernel_model sim tests
	$(BIN)/python -m pytest

# The fuzz tests (pytest -m fuzz) with many more examples each than `make test` runs:
# make fuzz MEMSIM_FUZZ_EXAMPLES=20000 for a longer run.
MEMSIM_FUZZ_EXAMPLES ?= 2000
fuzz: build
	MEMSIM_FUZZ_EXAMPLES=$(MEMSIM_FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -m fuzz --hypothesis-show-statistics

lint: build
	$(BIN)/ruff check kernel_model sim tests

# The debug build under ASan and UBSan: the extension with -DMM_DEBUG (the core's MM_BUG_ON
# checks) in build/sanitize beside the release one, and every test that reaches C run on it,
# with the sanitizer runtime preloaded into Python (tests/conftest.py keeps it out of the
# programs the tests start). test_freestanding builds the core without Python the same way.
# Any report, or a failed MM_BUG_ON, fails the run. The guest tests run the firmware, not
# this extension, and are left to make test.
SAN_DIR := build/sanitize
SAN_ENV := MEMSIM_SANITIZE=1 ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
	LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libstdc++.so)" \
	PYTHONPATH=$(CURDIR)/$(SAN_DIR)

sanitize: build
	@test -f "$$(gcc -print-file-name=libasan.so)" || { echo "make sanitize needs gcc's libasan" >&2; exit 2; }
	MEMSIM_SANITIZE=1 $(BIN)/python setup.py --quiet build_ext --force --build-lib $(SAN_DIR) \
		--build-temp $(SAN_DIR)/tmp
	find $(SAN_DIR)/kernel_model -type l -delete
	ln -s $(CURDIR)/kernel_model/*.py $(CURDIR)/kernel_model/reference $(SAN_DIR)/kernel_model/
	$(SAN_ENV) $(BIN)/pytest -p no:cacheprovider --capture=sys -q --ignore=tests/test_guest.py

bench: build
	$(BIN)/memsim bench

# make scenario NAME=fragmentation
scenario: build firmware
	@if [ -z "$(NAME)" ] || [ ! -f "scenarios/$(NAME).toml" ]; then \
		echo "unknown scenario '$(NAME)'. Available:" >&2; \
		ls scenarios/*.toml 2>/dev/null | sed 's|scenarios/\(.*\)\.toml|  \1|' >&2 || true; \
		[ -n "$$(ls scenarios/*.toml 2>/dev/null)" ] || echo "  (none yet)" >&2; \
		exit 2; \
	fi
	$(BIN)/memsim run scenarios/$(NAME).toml

# The guest firmware: a 32-bit multiboot kernel around the unchanged kernel_model/core sources.
FW_DIR := firmware/build
FW_ELF := $(FW_DIR)/memsim-fw.elf
FW_CORE := page_alloc mempolicy slab replay vmstat cache leak snapshot thermal bug
FW_SRC := $(wildcard firmware/*.c firmware/*.h firmware/*.S firmware/linker.ld) $(wildcard kernel_model/core/*.[ch])
FW_CFLAGS := -m32 -std=gnu99 -O2 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
	-fno-asynchronous-unwind-tables -mno-sse -mno-mmx -Wall -Wno-psabi -fstack-usage \
	-Ikernel_model/core -Ifirmware

firmware: $(FW_ELF)

$(FW_ELF): $(FW_SRC) | system-deps
	@mkdir -p $(FW_DIR)
	gcc $(FW_CFLAGS) -c firmware/boot.S -o $(FW_DIR)/boot.o
	for f in firmware/main firmware/acpi firmware/zonelist; do \
		gcc $(FW_CFLAGS) -c $$f.c -o $(FW_DIR)/$$(basename $$f).o || exit 1; done
	for f in $(FW_CORE); do \
		gcc $(FW_CFLAGS) -c kernel_model/core/$$f.c -o $(FW_DIR)/core_$$f.o || exit 1; done
	ld -m elf_i386 --no-warn-rwx-segments -T firmware/linker.ld -o $@ $(FW_DIR)/*.o
	objdump -d --no-show-raw-insn $@ > $(FW_DIR)/memsim-fw.dis

clean:
	rm -rf $(VENV) build *.egg-info kernel_model/_core.c kernel_model/_core*.so out $(FW_DIR)
