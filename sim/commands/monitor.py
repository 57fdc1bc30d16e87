"""memsim monitor: run a scenario with a live line per interval (or watch a guest's counters)."""

from __future__ import annotations

import argparse

from sim.commands.common import scenario_arguments, scenario_errors
from sim.commands.guest import guest_result
from sim.profilers import REGISTRY, Context


def add_parser(sub) -> None:
    mon = sub.add_parser("monitor", help="run a scenario with a live line per interval",
                         description="Run a scenario and print free memory, allocation and free rates, the "
                                     "trend and a time-to-exhaustion estimate every interval (records), with "
                                     "the live figures of the scenario's other profilers.")
    scenario_arguments(mon)
    mon.add_argument("--interval", help="records between lines, or simulated time with a unit (500ms, 2s: "
                                        "traces with TIME records); default: profile.interval")
    mon.add_argument("--alerts", action="store_true", help="print alerts (low memory, min watermark, failures)")
    mon.add_argument("--guest", action="store_true", help="run the scenario in a QEMU guest and stream its "
                     "counters from guest memory while it runs (every --interval seconds, default 0.05)")
    mon.set_defaults(func=run)


class Live:
    """A watcher printing one line per interval: the real-time tracker's figures and the live
    fragment of every other profiler of the scenario that has one (the registry's live hooks)."""

    def __init__(self, spec, variant: str, machine, workload, alerts: bool) -> None:
        self.variant, self.machine, self.alerts, self.shown = variant, machine, alerts, 0
        names = ["realtime", *(n for n in spec.profile.profilers if n != "realtime")]
        self.watchers = {n: REGISTRY[n].build(Context(machine, workload, spec.profile.options[n], spec.caches))
                         for n in names if REGISTRY[n].live is not None}

    def observe(self, records_done: int) -> None:
        for w in self.watchers.values():
            w.observe(records_done)
        now = self.machine.now_ns()
        clock = f"{now / 1e9:9.3f}s " if now else ""
        parts = [REGISTRY[n].live(w) for n, w in self.watchers.items()]
        print(f"{self.variant:<14} {clock}{records_done:>11,} {'  '.join(parts)}", flush=True)
        if self.alerts:
            alerts = self.watchers["realtime"].alerts
            for alert in alerts[self.shown:]:
                print(f"  ALERT at record {alert['records']:,}: {alert['alert']}", flush=True)
            self.shown = len(alerts)


def run(args: argparse.Namespace) -> int:
    from sim.scenario import load, run_scenario

    if args.guest:
        return _guest(args)
    overrides = list(args.set)
    if args.interval:
        overrides.append(f"profile.interval={args.interval}")
    with scenario_errors():
        spec = load(args.scenario, overrides)
        result = run_scenario(spec, out=args.out,
                              observers=[lambda variant, machine, trace: Live(spec, variant, machine, trace,
                                                                              args.alerts)])
    print(f"report: {result.out}/report.json")
    return 0


def _guest(args: argparse.Namespace) -> int:
    """The guest's progress and free memory, read from its RAM while it runs (QMP stop/cont
    around each read, so every line is one consistent picture)."""
    import asyncio

    from sim.guest.results import STAGES
    from sim.scenario import load

    interval = float(args.interval or 0.05)

    async def watch(qmp, mem, pid):
        from qemu.qmp import QMPError

        last = None
        while True:
            try:
                await qmp.execute("stop")
                try:
                    r = mem.results()
                except ValueError:       # not booted yet
                    r = None
                await qmp.execute("cont")
            except (QMPError, EOFError, ConnectionError):
                return                   # the guest has exited: the run's end tells how
            if r is not None and r.done and (r.done, int(r["stage"])) != last:
                print(f"guest {STAGES.get(int(r['stage']), '?'):<14} {r.done:>11,} / {r.records:,} records  "
                      f"free pages per node {r.free_pages()}  alloc failed {int(r['alloc_failed']):,}", flush=True)
                last = (r.done, int(r["stage"]))
                if int(r["stage"]) == 4:
                    return
            await asyncio.sleep(interval)

    with scenario_errors():
        spec = load(args.scenario, args.set)
        if spec.guest is None:
            spec = spec.with_overrides(["guest.nodes=2"])
        return guest_result(spec, args, on_running=watch)
