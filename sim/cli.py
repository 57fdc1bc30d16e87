"""The `memsim` command line."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="memsim", description="memsim: a testbed for kernel memory subsystems.")
    parser.add_argument("--version", action="version", version="memsim 0.1.0")
    parser.parse_args(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
