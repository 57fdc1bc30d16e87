"""The `memsim` command line: wiring only; the work happens in kernel_model and sim."""

from __future__ import annotations

import os

# memsim does no BLAS work; OpenBLAS's spinning idle threads would steal a core from replay.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from kernel_model import Machine, Op, trace  # noqa: E402
from kernel_model.trace import TraceFormatError  # noqa: E402


class UserError(Exception):
    """A mistake in the user's input: reported as one line, exit status 2."""


def cmd_bench(args: argparse.Namespace) -> int:
    from sim.bench import run_benchmarks

    def progress(name: str) -> None:
        if not args.json:
            print(f"running {name} ...", file=sys.stderr, flush=True)

    try:
        results = run_benchmarks(args.names, quick=args.quick, progress=progress)
    except ValueError as e:
        raise UserError(str(e)) from None
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{'benchmark':<10} {'ops/s':>14} {'baseline ops/s':>16} {'ratio':>8}  baseline")
    for name, r in results.items():
        base = r.get("baseline_ops_per_s")
        print(f"{name:<10} {r['ops_per_s']:>14,} {base if base is not None else '-':>16,} "
              f"{r.get('ratio', '-'):>8}  {r.get('baseline', '')}")
    return 0


def _load(path: str) -> trace.Trace:
    try:
        return trace.load(path, mmap=True)
    except TraceFormatError as e:
        raise UserError(str(e)) from None


def cmd_trace_convert(args: argparse.Namespace) -> int:
    from sim.progress import Progress
    from sim.workloads.ftrace import HANDLED, FtraceFormatError, import_ftrace

    bar = Progress(os.path.basename(args.input), 0, unit="bytes")
    try:
        t, info = import_ftrace(args.input, bar.update)
    except FtraceFormatError as e:
        if bar.drawn:
            print(file=sys.stderr)   # the error on a line of its own, not after the bar
        raise UserError(str(e)) from None
    try:
        trace.save(args.output, t)
    except OSError as e:
        raise UserError(f"{args.output}: {e.strerror or e}") from None
    if args.json:
        print(json.dumps({"input": args.input, "output": args.output, **info}, indent=2))
        return 0
    print(f"{args.output}: {info['records']:,} records from {sum(info['events'].values()):,} events "
          f"({len(t.sites) - 1} call sites, {t.nr_ids:,} ids, {info['cpus']} CPUs)")
    for what, n in sorted(info["skipped"].items(), key=lambda kv: -kv[1]):
        print(f"  skipped {n:>8,}  {what}")
    ignored = {e: n for e, n in info["events"].items() if e not in HANDLED}
    for e, n in sorted(ignored.items(), key=lambda kv: -kv[1]):
        print(f"  ignored {n:>8,}  {e} events (not an allocation or free)")
    return 0


def cmd_trace_info(args: argparse.Namespace) -> int:
    t = _load(args.file)
    codes, n = np.unique(np.asarray(t.records["op"]), return_counts=True)
    counts = {Op(int(op)).name.lower() if op < len(Op) else f"op{int(op)}": int(k)
              for op, k in zip(codes, n, strict=True)}
    info = {"file": args.file, "version": trace.VERSION, "records": len(t), "nr_ids": t.nr_ids,
            "call_sites": len(t.sites), "cpus": int(t.records["cpu"].max()) + 1 if len(t) else 0, "ops": counts}
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for k, v in info.items():
            if k != "ops":
                print(f"{k:<11} {v}")
        for name, n in counts.items():
            print(f"  {name:<16} {n:>12,}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    t = _load(args.file)
    try:
        m = Machine(nodes=args.nodes, node_mem=args.node_mem, cpus_per_node=args.cpus_per_node,
                    pcp=not args.no_pcp, mobility_grouping=not args.no_mobility_grouping)
    except ValueError as e:
        raise UserError(str(e)) from None
    if len(t) and int(t.records["cpu"].max()) >= len(m.cpu_to_node):
        print(f"memsim: warning: {args.file} uses CPUs up to {int(t.records['cpu'].max())}, the machine has "
              f"{len(m.cpu_to_node)}; those records will be rejected", file=sys.stderr)
    res = m.replay(t)
    summary = {"records": res.records, "ops": res.op_counts, "alloc_failed": res.alloc_failed,
               "free_skipped": res.free_skipped, "errors": res.error_counts,
               "first_errors": [str(e) for e in res.errors[:20]], "nr_free_pages": m.nr_free_pages(),
               "zone_stats": m.zone_stats(), "slab_waste": m.slab_waste()}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"replayed {res.records:,} records: {res.op_counts}")
        print(f"allocation failures {res.alloc_failed:,}, frees of failed allocations skipped {res.free_skipped:,}")
        print(f"rejected records {res.nr_errors:,} {res.error_counts if res.error_counts else ''}")
        for e in res.errors[:20]:
            print(f"  {args.file}: {e}")
        print(m.buddyinfo(), end="")
        used = [line for line in m.slabinfo().splitlines()[2:] if line.split()[2] != "0"]
        if used:
            print(*m.slabinfo().splitlines()[:2], *used, sep="\n")
    return 1 if res.nr_errors else 0


def cmd_cachesim(args: argparse.Namespace) -> int:
    from kernel_model.cachegrind import LackeyFormatError, format_summary, parse_cache_spec, simulate_lackey

    try:
        specs = {name: parse_cache_spec(getattr(args, name)) for name in ("I1", "D1", "LL")}
        events = simulate_lackey(args.lackey, **specs)
    except (ValueError, LackeyFormatError) as e:
        raise UserError(str(e)) from None
    if args.json:
        print(json.dumps({"config": {k: dict(zip(("size", "assoc", "line_size"), v, strict=True))
                                     for k, v in specs.items()}, "events": events}, indent=2))
    else:
        for name, (size, assoc, line) in specs.items():
            print(f"{name} cache: {size} B, {line} B, {assoc}-way associative")
        print(format_summary(events), end="")
    return 0


@contextlib.contextmanager
def _scenario_errors() -> Iterator[None]:
    """A scenario that cannot be loaded or run is a UserError (one line, exit 2)."""
    from sim.scenario import ScenarioError

    try:
        yield
    except ScenarioError as e:
        raise UserError(str(e)) from None


def cmd_run(args: argparse.Namespace) -> int:
    from sim import scenario
    from sim.progress import Progress

    with _scenario_errors():
        sc = scenario.load(args.scenario, args.set or [])
        if "guest" in sc.data:   # a guest scenario: the firmware in QEMU, then the host twin
            return _guest(sc, args, None, None, None, None)
        report = scenario.run(sc, args.out, args.seed, monitor=lambda name, m, total: Progress(name, total))
    print(scenario.summary(report))
    print(f"report: {report['out_dir']}/report.json")
    return 0


class GuestFailure(Exception):
    """The guest did not run to a clean end: one line, exit 1."""


def _guest(sc, args, nodes, mem, dist, timeout, as_json: bool = False, on_running=None) -> int:
    from sim.guest.qemu import GuestError
    from sim.guest.runner import run_guest, summary

    try:
        report = run_guest(sc, args.out, getattr(args, "seed", None), nodes, mem, dist, timeout, on_running)
    except GuestError as e:
        raise GuestFailure(str(e)) from None
    except ValueError as e:
        raise UserError(str(e)) from None
    if as_json:
        print(json.dumps(report, indent=1, sort_keys=True))
    else:
        print(summary(report))
        print(f"report: {report['out_dir']}/guest.json")
    return 0 if report["matches_model"] else 1


def cmd_guest_run(args: argparse.Namespace) -> int:
    from sim import scenario

    with _scenario_errors():
        sc = scenario.load(args.scenario, args.set or [])
        if args.accel:
            sc.data.setdefault("guest", {})["accel"] = args.accel
        return _guest(sc, args, args.nodes, args.mem, args.dist, args.timeout, args.json)


def cmd_analyze(args: argparse.Namespace) -> int:
    """A trace's allocation patterns, or a saved result's summary."""
    from sim import scenario
    from sim.profilers import patterns

    if args.input.endswith(".json"):
        report = _load_report(args.input)
        print(json.dumps(report, indent=1) if args.json else scenario.summary(report))
        return 0
    a = patterns.analyze(_load(args.input), temporary_within=args.temporary_within, window=args.window)
    if args.json:
        print(json.dumps(a, indent=1))
        return 0
    print(f"{a['allocs']:,} allocations ({a['bytes']:,} B), {a['frees']:,} frees, "
          f"{a['live']:,} live at the end ({a['live_bytes']:,} B)")
    print(f"temporaries (freed within {a['temporary_within']} allocations): {a['temporaries']:,}; "
          f"kmalloc rounding waste {a['kmalloc_rounding_waste']:,} B; bursts {a['nr_bursts']}")
    print("sizes:", ", ".join(f"{k} {v:,}" for k, v in a["size_histogram"].items()))
    print("top sizes:", ", ".join(f"{t['size']} B x{t['count']:,}" for t in a["top_sizes"]))
    print(f"{'call site':<32} {'allocs':>10} {'bytes':>14} {'live':>9} {'peak bytes':>14} {'waste':>12}")
    for site in a["call_sites"]:
        print(f"{site['call_site'][:32]:<32} {site['allocs']:>10,} {site['bytes']:>14,} {site['live']:>9,} "
              f"{site['peak_bytes']:>14,} {site['rounding_waste']:>12,}")
    for p in a["phases"]:
        print(f"phase {p['phase']}: records {p['records'][0]:,}..{p['records'][1]:,}, "
              f"{p['allocs']:,} allocs, {p['frees']:,} frees")
    for r in a["recommendations"]:
        print(f"recommend: {r['recommendation']} ({json.dumps(r['evidence'])})")
    return 0


def _load_report(path: str) -> dict:
    try:
        report = json.loads(Path(path).read_text())
    except OSError as e:
        raise UserError(f"{path}: {e.strerror or e}") from None
    except json.JSONDecodeError as e:
        raise UserError(f"{path}:{e.lineno}: not a memsim result: {e.msg}") from None
    if not isinstance(report, dict) or "variants" not in report or "scenario" not in report:
        raise UserError(f"{path}: not a memsim result (no scenario/variants)")
    return report


def cmd_report(args: argparse.Namespace) -> int:
    """Render a saved result (report.json, or its directory) as a self-contained HTML file."""
    from sim import scenario

    path = Path(args.result)
    path = path / "report.json" if path.is_dir() else path
    report = _load_report(str(path))
    try:
        scenario.write_html(report, path.parent, Path(args.html))
    except OSError as e:
        raise UserError(f"{e.filename}: {e.strerror}") from None
    print(f"wrote {args.html}")
    return 0


def cmd_stack(args: argparse.Namespace) -> int:
    from sim.guest.qemu import REPO
    from sim.guest.stack import worst_case

    build = Path(args.build) if args.build else REPO / "firmware" / "build"
    if not (build / "memsim-fw.dis").exists():
        raise UserError(f"{build}: no firmware build (run `make firmware`)")
    r = worst_case(build, recursion_depth=args.recursion_depth)
    if args.json:
        print(json.dumps({k: v for k, v in r.items() if k != "frames"}, indent=1))
        return 0
    for entry, e in r["entries"].items():
        print(f"{entry}: worst case {e['bytes']:,} bytes of stack")
        for f in e["path"]:
            print(f"  {r['frames'].get(f, 0):>6}  {f}")
        for cycle in e["recursive"]:
            print(f"  recursion charged {r['recursion_depth']}x: {' <-> '.join(cycle)}")
    if r["indirect_calls"]:
        print(f"indirect calls (not followed): {', '.join(r['indirect_calls'])}")
    return 0


def _monitor_guest(args: argparse.Namespace) -> int:
    """The guest's progress and free memory, read from its RAM while it runs (QMP stop/cont
    around each read, so every line is one consistent picture)."""
    import asyncio

    from sim import scenario
    from sim.guest.results import STAGES

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

    with _scenario_errors():
        sc = scenario.load(args.scenario, args.set or [])
        sc.data.setdefault("guest", {})
        return _guest(sc, args, None, None, None, None, on_running=watch)


def cmd_monitor(args: argparse.Namespace) -> int:
    """Run a scenario, printing a live line per interval (and alerts)."""
    from sim import scenario
    from sim.profilers.realtime import RealtimeTracker

    if args.guest:
        return _monitor_guest(args)

    class Live:
        def __init__(self, variant, machine, total):
            threshold = float(sc.data.get("profile", {}).get("alert_free_fraction", 0.10))
            self.variant, self.shown = variant, 0
            self.tracker = RealtimeTracker(machine, alert_free_fraction=threshold)

        def observe(self, records_done):
            self.tracker.observe(records_done)
            s = self.tracker.latest()
            eta = f"{s['records_to_exhaustion']:,.0f} records" if s["records_to_exhaustion"] else "-"
            if s["ns_to_exhaustion"]:
                eta += f" ({s['ns_to_exhaustion'] / 1e9:,.3f} s)"
            clock = f"{s['time_ns'] / 1e9:9.3f}s " if s["time_ns"] else ""
            print(f"{self.variant:<14} {clock}{records_done:>11,} free {s['free_pages']:>9,} pages  "
                  f"alloc {s['alloc_rate']:6.3f}/rec  free {s['free_rate']:6.3f}/rec  "
                  f"trend {s['trend']:+8.4f}/rec  exhaustion in {eta}", flush=True)
            if args.alerts:
                alerts = self.tracker.result()["alerts"]
                for alert in alerts[self.shown:]:
                    print(f"  ALERT at record {alert['records']:,}: {alert['alert']}", flush=True)
                self.shown = len(alerts)

    overrides = list(args.set or [])
    if args.interval:
        overrides.append(f"profile.interval={args.interval}")
    with _scenario_errors():
        sc = scenario.load(args.scenario, overrides)
        report = scenario.run(sc, args.out, monitor=Live)
    print(f"report: {report['out_dir']}/report.json")
    return 0


def _scenario_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments every command that runs a scenario takes."""
    p.add_argument("scenario", help="a scenario file or a shipped scenario's name, e.g. fragmentation")
    p.add_argument("--out", help="report directory (default: output.dir, or out/<name>)")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                   help="override a setting, e.g. --set workload.ops=20000 (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="memsim", description="memsim: a testbed for kernel memory subsystems.")
    p.add_argument("--version", action="version", version="memsim 0.1.0")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser("bench", help="run benchmarks against their baselines",
                       description="Run benchmarks; each prints ops/s and the ratio to its baseline, "
                                   "measured in the same run.")
    b.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    b.add_argument("--json", action="store_true", help="print one JSON object, an entry per benchmark")
    b.add_argument("--quick", action="store_true", help="smaller inputs, for a fast check")
    b.set_defaults(func=cmd_bench)

    t = sub.add_parser("trace", help="inspect and convert trace files",
                       description="Inspect memsim trace files, or convert Linux ftrace captures to them.")
    tsub = t.add_subparsers(dest="trace_command", required=True, metavar="SUBCOMMAND")
    ti = tsub.add_parser("info", help="header and op counts of a trace file",
                         description="Print a trace file's header and its op counts.")
    ti.add_argument("file", help="a memsim trace file")
    ti.add_argument("--json", action="store_true", help="print JSON")
    ti.set_defaults(func=cmd_trace_info)

    tc = tsub.add_parser("convert", help="convert a Linux ftrace capture to a memsim trace",
                         description="Convert ftrace text (/sys/kernel/tracing/trace with kmem:* events; "
                                     ".txt or .txt.xz) to a memsim trace file, and say what was skipped.")
    tc.add_argument("input", help="ftrace text, e.g. trace.txt or trace.txt.xz")
    tc.add_argument("output", help="the memsim trace file to write (.mtr)")
    tc.add_argument("--json", action="store_true", help="print the summary as JSON")
    tc.set_defaults(func=cmd_trace_convert)

    c = sub.add_parser("cachesim", help="cachegrind's cache counts from a lackey memory trace",
                       description="Replay a `valgrind --tool=lackey --trace-mem=yes` log through cachegrind's "
                                   "cache simulation and print its events (Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw). "
                                   "The counts equal cachegrind's for the same run and configuration.")
    c.add_argument("--lackey", required=True, metavar="FILE", help="the lackey log")
    c.add_argument("--I1", default="32768,8,64", metavar="S,A,L", help="I1 size,assoc,line (default 32768,8,64)")
    c.add_argument("--D1", default="32768,8,64", metavar="S,A,L", help="D1 size,assoc,line (default 32768,8,64)")
    c.add_argument("--LL", default="8388608,16,64", metavar="S,A,L",
                   help="LL size,assoc,line (default 8388608,16,64)")
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(func=cmd_cachesim)

    run = sub.add_parser("run", help="run a scenario file and write its report",
                         description="Run a scenario (TOML, see docs/scenarios.md), print a summary table "
                                     "and write the report directory (report.json, /proc-format texts).")
    _scenario_arguments(run)
    run.add_argument("--seed", type=int, help="override scenario.seed")
    run.set_defaults(func=cmd_run)

    mon = sub.add_parser("monitor", help="run a scenario with a live line per interval",
                         description="Run a scenario and print free memory, allocation and free rates, the "
                                     "trend and a time-to-exhaustion estimate every interval (records).")
    _scenario_arguments(mon)
    mon.add_argument("--interval", help="records between lines, or simulated time with a unit (500ms, 2s: "
                                        "traces with TIME records); default: profile.interval")
    mon.add_argument("--alerts", action="store_true", help="print alerts (low memory, min watermark, failures)")
    mon.add_argument("--guest", action="store_true", help="run the scenario in a QEMU guest and stream its "
                     "counters from guest memory while it runs (every --interval seconds, default 0.05)")
    mon.set_defaults(func=cmd_monitor)

    st = sub.add_parser("stack", help="worst-case stack depth of the guest firmware",
                        description="Static worst case from gcc -fstack-usage frames and the call graph of the "
                                    "firmware's disassembly (make firmware builds both): per entry point the "
                                    "bytes and the deepest path.")
    st.add_argument("--static", action="store_true", required=True, help="the static analysis (the only one)")
    st.add_argument("--build", default=None, help="firmware build directory (default firmware/build)")
    st.add_argument("--recursion-depth", type=int, default=8,
                    help="times a recursive cycle is charged (the cache hierarchy: its levels; default 8)")
    st.add_argument("--json", action="store_true", help="print one JSON object")
    st.set_defaults(func=cmd_stack)

    gu = sub.add_parser("guest", help="run scenarios in a QEMU guest", description="The firmware (the same "
                        "allocator code) in QEMU on a NUMA topology, compared with the host model.")
    gsub = gu.add_subparsers(dest="guest_command", required=True, metavar="COMMAND")
    gr = gsub.add_parser("run", help="replay a scenario's workload in a guest and on the host twin",
                         description="Boot the firmware with the scenario's workload on the topology of its "
                                     "[guest] section (or the options), print the topology the guest saw, the "
                                     "comparison with the host model and timings. Exit 0 when they match, 1 "
                                     "when they differ or the guest fails, 2 for bad input.")
    _scenario_arguments(gr)
    gr.add_argument("--nodes", type=int, help="NUMA nodes (default: [guest] nodes, or 2)")
    gr.add_argument("--mem", help="memory per node, e.g. 64M (default: [guest] mem, or 64M)")
    gr.add_argument("--dist", help='SLIT distances, rows separated by ";", e.g. "10,21;21,10"')
    gr.add_argument("--timeout", type=float, help="seconds before a hung guest is killed (default 120)")
    gr.add_argument("--seed", type=int, help="workload seed (default: the scenario's)")
    gr.add_argument("--accel", choices=("tcg", "kvm"), default=None,
                    help="QEMU accelerator (default: [guest] accel, or tcg: on the machines measured, KVM with "
                         "shared file-backed RAM replayed ~300x slower than TCG)")
    gr.add_argument("--json", action="store_true", help="print one JSON object")
    gr.set_defaults(func=cmd_guest_run)

    an = sub.add_parser("analyze", help="allocation patterns of a trace, or a saved result's summary",
                        description="Analyse a trace (.mtr): size histogram, call sites, lifetimes, "
                                    "temporaries, bursts, phases, rounding waste, recommendations. "
                                    "Given a report.json, print its summary.")
    an.add_argument("input", help="a trace file or a report.json")
    an.add_argument("--temporary-within", type=int, default=16, metavar="N",
                    help="a temporary is freed before N other allocations (default 16)")
    an.add_argument("--window", type=int, default=1000, help="records per burst window (default 1000)")
    an.add_argument("--json", action="store_true", help="print JSON")
    an.set_defaults(func=cmd_analyze)

    rep = sub.add_parser("report", help="render a saved result as HTML",
                         description="Render a result directory (or its report.json) as one self-contained "
                                     "HTML file.")
    rep.add_argument("result", help="a result directory or report.json")
    rep.add_argument("--html", required=True, help="the HTML file to write")
    rep.set_defaults(func=cmd_report)

    r = sub.add_parser("replay", help="replay a trace file against a machine",
                       description="Replay a trace file against a modelled machine and print what happened. "
                                   "Exit status 1 if any record was rejected.")
    r.add_argument("file", help="a memsim trace file")
    r.add_argument("--nodes", type=int, default=2, help="NUMA nodes (default 2)")
    r.add_argument("--node-mem", default="256M", help="memory per node, e.g. 256M (default)")
    r.add_argument("--cpus-per-node", type=int, default=1, help="CPUs per node (default 1)")
    r.add_argument("--no-pcp", action="store_true", help="switch the per-CPU page lists off")
    r.add_argument("--no-mobility-grouping", action="store_true", help="page_group_by_mobility_disabled")
    r.add_argument("--json", action="store_true", help="print JSON")
    r.set_defaults(func=cmd_replay)
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
    except KeyboardInterrupt:
        print("memsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:              # e.g. `memsim monitor x | head`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
