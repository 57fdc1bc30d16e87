"""The `memsim` commands: one module per verb, each with add_parser(subparsers) and the function
its parser runs. They only wire: the work happens in kernel_model and sim, the text in sim.report."""

from sim.commands import (
    analyze,
    bench,
    cachesim,
    compare,
    fidelity,
    guest,
    history,
    interactive,
    monitor,
    optimize,
    replay,
    report,
    run,
    stack,
    sweep,
    trace,
)

# the order `memsim --help` lists them
COMMANDS = (run, monitor, interactive, report, analyze, replay, trace, fidelity, cachesim, guest, stack, bench, sweep,
            optimize,
            history, compare)

__all__ = ["COMMANDS"]
