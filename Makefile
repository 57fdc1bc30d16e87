# memsim: every target does its own set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
BUILT := $(VENV)/.built
CORE_SOURCES := $(wildcard kernel_model/core/*.c kernel_model/core/*.h kernel_model/*.pyx kernel_model/*.pxd) setup.py

.PHONY: install system-deps build test lint bench scenario clean

install: $(INSTALLED)

# Debian packages the tests use: valgrind (cachegrind/lackey), setarch, a static libc.
system-deps:
	@missing=""; \
	command -v valgrind >/dev/null || missing="$$missing valgrind"; \
	command -v setarch >/dev/null || missing="$$missing util-linux"; \
	[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || missing="$$missing libc6-dev"; \
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

test: system-deps build
	$(BIN)/ruff check kernel_model sim tests
	$(BIN)/python -m pytest

lint: build
	$(BIN)/ruff check kernel_model sim tests

bench: build
	$(BIN)/memsim bench

# make scenario NAME=fragmentation
scenario: build
	@if [ -z "$(NAME)" ] || [ ! -f "scenarios/$(NAME).toml" ]; then \
		echo "unknown scenario '$(NAME)'. Available:" >&2; \
		ls scenarios/*.toml 2>/dev/null | sed 's|scenarios/\(.*\)\.toml|  \1|' >&2 || true; \
		[ -n "$$(ls scenarios/*.toml 2>/dev/null)" ] || echo "  (none yet)" >&2; \
		exit 2; \
	fi
	$(BIN)/memsim run scenarios/$(NAME).toml

clean:
	rm -rf $(VENV) build *.egg-info kernel_model/_core.c kernel_model/_core*.so out
