"""Plain-text renderings of results for the terminal: the scenario summary table, and the other
commands' outputs (replay, trace info, trace conversion, allocation patterns, benchmarks, stacks).
They only lay out what the results hold."""

from __future__ import annotations

import json

from sim.experiments import EXPERIMENTS
from sim.profilers import REGISTRY


def summary(report: dict) -> str:
    """A line per variant: allocation failures, the fixed columns of profilers that have them
    (fragmentation), then the other profilers' headline fragments; then each experiment's table."""
    present = [p for name, p in REGISTRY.items() if p.summary and any(name in v for v in report["variants"])]
    columns = [p for p in present if p.summary_head]
    lines = [f"{report['scenario']}: {report['records']:,} records, seed {report['seed']}",
             f"{'variant':<24} {'alloc fail':>10} " + " ".join(p.summary_head for p in columns) + "  other"]
    for v in report["variants"]:
        cells = [p.summary(v[p.name]) if p.name in v else " " * len(p.summary_head) for p in columns]
        other = [p.summary(v[p.name]) for p in present if not p.summary_head and p.name in v]
        lines.append(f"{v['name']:<24} {v['replay']['alloc_failed']:>10,} " + " ".join(cells)
                     + f"  {'; '.join(o for o in other if o)}")
    for name, e in EXPERIMENTS.items():
        if name in report and e.summary is not None:
            lines += e.summary(report[name])
    if "report" in report:   # the scenario's question and the answer its figures give
        block = report["report"]
        lines += ["", block["question"], block["answer"] if block["answer"] is not None else
                  f"(not answered: this run lacks {', '.join(block.get('missing', []))})"]
    return "\n".join(lines)


def patterns(a: dict) -> str:
    """The allocation-pattern analysis (sim.profilers.patterns.analyze) as `memsim analyze` prints it."""
    lines = [f"{a['allocs']:,} allocations ({a['bytes']:,} B), {a['frees']:,} frees, "
             f"{a['live']:,} live at the end ({a['live_bytes']:,} B)",
             f"temporaries (freed within {a['temporary_within']} allocations): {a['temporaries']:,}; "
             f"kmalloc rounding waste {a['kmalloc_rounding_waste']:,} B; bursts {a['nr_bursts']}",
             "sizes: " + ", ".join(f"{k} {v:,}" for k, v in a["size_histogram"].items()),
             "top sizes: " + ", ".join(f"{t['size']} B x{t['count']:,}" for t in a["top_sizes"]),
             f"{'call site':<32} {'allocs':>10} {'bytes':>14} {'live':>9} {'peak bytes':>14} {'waste':>12}"]
    for site in a["call_sites"]:
        lines.append(f"{site['call_site'][:32]:<32} {site['allocs']:>10,} {site['bytes']:>14,} {site['live']:>9,} "
                     f"{site['peak_bytes']:>14,} {site['rounding_waste']:>12,}")
    for p in a["phases"]:
        lines.append(f"phase {p['phase']}: records {p['records'][0]:,}..{p['records'][1]:,}, "
                     f"{p['allocs']:,} allocs, {p['frees']:,} frees")
    for r in a["recommendations"]:
        lines.append(f"recommend: {r['recommendation']} ({json.dumps(r['evidence'])})")
    return "\n".join(lines)


def bench_table(results: dict[str, dict]) -> str:
    lines = [f"{'benchmark':<10} {'ops/s':>14} {'baseline ops/s':>16} {'ratio':>8}  baseline"]
    for name, r in results.items():
        base = r.get("baseline_ops_per_s")
        lines.append(f"{name:<10} {r['ops_per_s']:>14,} {base if base is not None else '-':>16,} "
                     f"{r.get('ratio', '-'):>8}  {r.get('baseline', '')}")
    return "\n".join(lines)


def replay(path: str, summary: dict, buddyinfo: str, slabinfo: str) -> str:
    """`memsim replay`: what happened, the first rejected records, the final buddyinfo and the used slabs."""
    lines = [f"replayed {summary['records']:,} records: {summary['ops']}",
             f"allocation failures {summary['alloc_failed']:,}, frees of failed allocations skipped "
             f"{summary['free_skipped']:,}"
             + (f"; frees of what came before the trace: {summary['pretrace_freed']:,} freed imported memory, "
                f"{summary['pretrace_skipped']:,} found none" if summary.get("pretrace_freed") or
                summary.get("pretrace_skipped") else ""),
             f"rejected records {sum(summary['errors'].values()):,} {summary['errors'] if summary['errors'] else ''}"]
    lines += [f"  {path}: {e}" for e in summary["first_errors"]]
    text = "\n".join(lines) + "\n" + buddyinfo
    used = [line for line in slabinfo.splitlines()[2:] if line.split()[2] != "0"]
    if used:
        text += "\n".join([*slabinfo.splitlines()[:2], *used]) + "\n"
    return text.rstrip("\n")


def trace_info(info: dict) -> str:
    lines = [f"{k:<11} {v}" for k, v in info.items() if k != "ops"]
    lines += [f"  {name:<16} {n:>12,}" for name, n in info["ops"].items()]
    return "\n".join(lines)


def conversion(output: str, info: dict, handled: set[str]) -> str:
    """`memsim trace convert`: records written, what was skipped and which events were ignored."""
    lines = [f"{output}: {info['records']:,} records from {sum(info['events'].values()):,} events "
             f"({info['sites'] - 1} call sites, {info['nr_ids']:,} ids, {info['cpus']} CPUs)"]
    for event, n in info.get("before_trace", {}).items():
        lines.append(f"  before  {n:>8,}  {event} of what was allocated before the trace (frees without an id: "
                     "a machine imported from /proc frees its own)")
    for what, n in sorted(info["skipped"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  skipped {n:>8,}  {what}")
    ignored = {e: n for e, n in info["events"].items() if e not in handled}
    for e, n in sorted(ignored.items(), key=lambda kv: -kv[1]):
        lines.append(f"  ignored {n:>8,}  {e} events (not an allocation or free)")
    return "\n".join(lines)


def stack(r: dict) -> str:
    """`memsim stack --static`: per entry point the worst case and its path."""
    lines = []
    for entry, e in r["entries"].items():
        lines.append(f"{entry}: worst case {e['bytes']:,} bytes of stack")
        lines += [f"  {r['frames'].get(f, 0):>6}  {f}" for f in e["path"]]
        lines += [f"  recursion charged {r['recursion_depth']}x: {' <-> '.join(cycle)}" for cycle in e["recursive"]]
    if r["indirect_calls"]:
        lines.append(f"indirect calls (not followed): {', '.join(r['indirect_calls'])}")
    return "\n".join(lines)


def guest(report: dict) -> str:
    """`memsim guest run`: the topology the guest saw, guest vs model, timings."""
    seen = report["topology_seen"]
    lines = [f"{report['scenario']} in a guest: {report['records']:,} records, {len(seen['nodes'])} nodes"]
    for n in seen["nodes"]:
        mem = ", ".join(f"{r['base']:#x}+{r['size'] >> 10}K" for r in n["memory"])
        zones = ", ".join(f"{z['zone']} {z['start_pfn']:#x}+{z['spanned_pages']:#x}" for z in n.get("zones", []))
        lines.append(f"  node {n['node']}: memory {mem}; usable pfns "
                     f"{', '.join(f'{a:#x}-{b:#x}' for a, b in n['usable_pfns'])}; "
                     + (f"zones {zones}; " if zones else "") + f"cpus {n['cpus']}")
    lines.append("  distances " + "; ".join(",".join(map(str, row)) for row in seen["distances"]))
    c = report["comparison"]
    rejected = sum(c["errors"].values())
    if not report["matches_model"]:
        verdict = f"DIFFERS from the model (first record {c['first_difference']}, checks {c['checks']})"
    elif rejected:   # both sides agree on a replay that went wrong: not a result to call identical
        verdict = (f"REJECTED {rejected:,} of {c['records']:,} records (" +
                   ", ".join(f"{k} {v:,}" for k, v in sorted(c["errors"].items())) +
                   "): guest and model agree, but the replay is not clean")
    else:
        verdict = "identical to the model"
    lines.append(f"  guest vs model: {verdict}")
    if "leak_scan" in report:
        ls = report["leak_scan"]
        lines.append(f"  leak scan of guest memory: {ls['objects']:,} live objects, {ls['pointers']:,} pointers; "
                     + ", ".join(f"{k.replace('_', ' ')} {len(v)}" for k, v in ls["by_kind"].items())
                     + f"; unreferenced (kmemleak) {len(ls['unreferenced'])}")
    t = report["timings"]
    lines.append(f"  timings: QEMU up {t.get('qemu_start_s', 0) * 1000:.0f} ms, first guest output "
                 f"{t.get('first_event_s', 0) * 1000:.0f} ms, whole run {t.get('run_s', 0) * 1000:.0f} ms"
                 + (f", replay {t['replay_ops_per_s']:,.0f} records/s" if "replay_ops_per_s" in t else ""))
    return "\n".join(lines)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:+.1%}"


def fidelity(r: dict) -> str:
    """`memsim fidelity`: the model's prediction from the capture's before/ against its after/."""
    rp = r["replay"]
    lines = [f"{r['capture']}: {rp['records']:,} records replayed from before/, {rp['errors']:,} rejected, "
             f"{rp['alloc_failed']:,} allocations failed; frees of pre-trace memory: {rp['pretrace_freed']:,} "
             f"freed imported memory, {rp['pretrace_skipped']:,} found none left",
             "", f"{'numastat delta':<26} {'model':>10} {'Linux':>10} {'error':>8}"]
    for n, counters in r["numastat"].items():
        for c, v in counters.items():
            lines.append(f"  node {n} {c:<18} {v['model']:>10,} {v['real']:>10,} {_pct(v['rel_error']):>8}")
    lines += ["", f"{'MemFree (kB)':<26} {'model':>10} {'Linux':>10} {'error':>8}   "
                  f"{'+ pcp pages':>11} {'Linux':>10} {'error':>8}"]
    for n, v in r["memfree_kb"].items():
        lines.append(f"  node {n:<20} {v['model']:>10,} {v['real']:>10,} {_pct(v['rel_error']):>8}   "
                     f"{v['model_with_pcp']:>11,} {v['real_with_pcp']:>10,} {_pct(v['rel_error_with_pcp']):>8}")
    free = r["free_pages_by_order"]
    lines += ["", "free blocks per order (buddyinfo)    0     1     2     3     4     5     6     7     8     9    10"]
    for zone, v in free["zones"].items():
        for who in ("model", "real", "before"):
            label = {"model": "model", "real": "Linux", "before": "before"}[who]
            lines.append(f"  {zone:<12} {label:<8}" + "".join(f"{x:>6}" for x in v[who]))
    lines.append(f"  distance from Linux in pages: model {free['distance']:,}, \"no change\" "
                 f"{free['before_distance']:,}")
    lines += ["", f"{'slab active objects delta':<26} {'model':>10} {'Linux':>10}"]
    for name, v in r["slab"].items():
        lines.append(f"  {name:<24} {v['model']:>10,} {v['real']:>10,}")
    lines.append(f"  distance from Linux in objects: model {r['slab_distance']['model']:,}, \"no change\" "
                 f"{r['slab_distance']['before']:,}")
    lines += ["", f"targets: {r['met']} of {len(r['targets'])} met"]
    for t in r["targets"]:
        lines.append(f"  {'met   ' if t['met'] else 'MISSED'} {t['target']}" +
                     (f" ({_pct(t['rel_error'])})" if t["rel_error"] is not None and "within" in t["target"] else ""))
    return "\n".join(lines)
