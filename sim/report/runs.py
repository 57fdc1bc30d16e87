"""Terminal text of the run history: `memsim history`, `memsim compare` and the end of a sweep."""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Sequence
from typing import Any


def _when(t: float | None) -> str:
    return "-" if t is None else datetime.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def _num(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:,.6g}" if math.isfinite(x) else str(x)
    return f"{x:,}" if isinstance(x, int) else str(x)


def _params(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in params.items()) or "-"


def history(runs: Sequence[dict[str, Any]]) -> str:
    if not runs:
        return "no runs"
    lines = [f"{'run':<16}  {'scenario':<20} {'seed':>6} {'status':<9} {'seconds':>8}  {'finished':<19}  parameters"]
    for r in runs:
        seconds = r["timings"].get("run")
        lines.append(f"{r['key']:<16}  {r['scenario'][:20]:<20} {r['seed']:>6} {r['status']:<9} "
                     f"{'-' if seconds is None else f'{seconds:.2f}':>8}  {_when(r['finished']):<19}  "
                     f"{_params(r['params'])}")
        if r["error"]:
            lines.append(f"{'':<18}error: {r['error']}")
    return "\n".join(lines)


def compare(a: dict[str, Any], b: dict[str, Any], rows: Sequence[Any], changes: Sequence[tuple[str, Any, Any]],
            crossed: Sequence[tuple[Any, Any]], tolerance: float) -> str:
    """rows: sim.history.compare.Row; changes: where the scenarios differ; crossed: (threshold, row)."""
    lines = [f"A: {a['key']}  {a['scenario']}  seed {a['seed']}  {a['status']}  {a['code']}  {_params(a['params'])}",
             f"B: {b['key']}  {b['scenario']}  seed {b['seed']}  {b['status']}  {b['code']}  {_params(b['params'])}"]
    for key, x, y in changes:
        lines.append(f"{key}: {_num(x)} -> {_num(y)}")
    if a["code"] != b["code"]:
        lines.append(f"code: {a['code']} -> {b['code']}")
    lines.append("")
    width = max([len(r.name) for r in rows] + [6])
    vwidth = max([len(r.variant) for r in rows] + [7])
    lines.append(f"{'variant':<{vwidth}}  {'metric':<{width}}  {'A':>14}  {'B':>14}  {'change':>12}  {'%':>9}")
    for r in rows:
        pct = "" if r.pct is None or r.pct == 0 else ("inf" if math.isinf(r.pct) else f"{r.pct:+.2f}%")
        change = "" if r.change is None or r.change == 0 else _num(r.change)
        mark = {"=": "", "~": f"  (within {tolerance:g}%)", "!=": "  *"}.get(r.verdict, f"  ({r.verdict})")
        lines.append(f"{r.variant:<{vwidth}}  {r.name:<{width}}  {_num(r.a):>14}  {_num(r.b):>14}  {change:>12}  "
                     f"{pct:>9}{mark}")
    differ = sum(r.verdict not in ("=", "~") for r in rows)
    lines.append("")
    lines.append(f"{differ} of {len(rows)} figures differ" if differ else f"all {len(rows)} figures agree")
    for t, r in crossed:
        pct = "present in one run only" if r.pct is None else f"{r.pct:+.2f}%"
        lines.append(f"FAIL {t.text}: {r.variant} {r.name} {_num(r.a)} -> {_num(r.b)} ({pct})")
    return "\n".join(lines)


def sweep_outcome(outcome: Any, db: str) -> str:
    """The lines a sweep ends with (sim.sweep.Outcome)."""
    plan = outcome.plan
    total = len(plan.points)
    ok = total - outcome.cancelled - len(outcome.failed)
    lines = [f"sweep {plan.sweep_id}: {total} points, {ok} succeeded ({outcome.skipped} already in the history), "
             f"{len(outcome.failed)} failed" + (f", {outcome.cancelled} cancelled" if outcome.cancelled else "")]
    for point, error in outcome.failed:
        lines.append(f"  failed {point.key} {point.label()}: {error}")
    if outcome.report is not None:
        lines.append(f"report: {outcome.report}")
    lines.append(f"history: {db} (memsim history --db {db} --sweep {plan.sweep_id})")
    return "\n".join(lines)
