"""The `memsim` command line: the commands of sim/commands, and the one-line errors they end in."""

from __future__ import annotations

import os

# memsim does no BLAS work; OpenBLAS's spinning idle threads would steal a core from replay.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from importlib.metadata import PackageNotFoundError, version  # noqa: E402

from sim.commands import COMMANDS  # noqa: E402
from sim.commands.common import GuestFailure, UserError  # noqa: E402


def _version() -> str:
    try:
        return version("memsim")
    except PackageNotFoundError:   # run from a source tree that was never installed
        return "unknown (not installed)"


class Parser(argparse.ArgumentParser):
    """An argument the command does not take is reported by the command's own parser, with its
    usage (argparse leaves it to the top level, which shows only `memsim COMMAND ...`)."""

    def parse_known_args(self, args=None, namespace=None):
        parsed, extra = super().parse_known_args(args, namespace)
        if extra and self._subparsers is None:
            self.error(f"unrecognized arguments: {' '.join(extra)}")
        return parsed, extra


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="memsim", description="memsim: a testbed for kernel memory subsystems.")
    p.add_argument("--version", action="version", version=f"memsim {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as e:
        print(f"memsim: error: {e}", file=sys.stderr)
        return 2
    except GuestFailure as e:
        print(f"memsim: guest: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:   # Ctrl-C; SIGTERM or SIGHUP during a guest run (sim.guest.qemu.Interrupted)
        signum = getattr(e, "signum", signal.SIGINT)
        print("memsim: interrupted" + (f" ({signal.Signals(signum).name})" if signum != signal.SIGINT else "")
              + "".join(f" {note}" for note in getattr(e, "__notes__", ())), file=sys.stderr)
        return 128 + signum
    except BrokenPipeError:              # e.g. `memsim monitor x | head`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
