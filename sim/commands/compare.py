"""memsim compare: two runs of the history side by side; --fail-on gates CI on a change."""

from __future__ import annotations

import argparse
import json
import math

from sim.commands.common import UserError


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="compare two runs of the run history metric by metric",
                       description="Print every metric of two runs side by side with the difference, and where "
                                   "their scenarios differ. Simulated figures are deterministic, so equal means "
                                   "equal; timings count as equal within --time-tolerance. Exit status 1 when a "
                                   "--fail-on threshold is crossed.")
    p.add_argument("a", metavar="RUN_A", help="a run key, or a unique prefix of it (memsim history lists them)")
    p.add_argument("b", metavar="RUN_B")
    p.add_argument("--db", default="out/memsim.db", help="run history (default: out/memsim.db)")
    p.add_argument("--fail-on", action="append", default=[], metavar="[VARIANT/]METRIC:PCT%",
                   help="exit 1 when METRIC moves by more than PCT percent from A to B (+PCT: only up, -PCT: "
                        "only down), e.g. fragmentation.health_score:-5%% or time.run:+20%% (repeatable)")
    p.add_argument("--time-tolerance", type=float, default=10.0, metavar="PCT",
                   help="timings within this many percent count as the same (default 10)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=run)


def _finite(x: float | None) -> float | str | None:
    return x if x is None or math.isfinite(x) else str(x)


def run(args: argparse.Namespace) -> int:
    from sim.history import History, HistoryError
    from sim.history.compare import CompareError, compare, crossed, parse_fail_on, scenario_changes
    from sim.report import runs as text

    try:
        thresholds = [parse_fail_on(t) for t in args.fail_on]
        with History(args.db) as h:
            keys = [h.find(args.a), h.find(args.b)]
            found = {r["key"]: r for r in h.runs(keys=keys)}
        a, b = found[keys[0]], found[keys[1]]
        rows = compare(a, b, args.time_tolerance)
        failed = crossed(rows, thresholds)
    except (HistoryError, CompareError) as e:
        raise UserError(str(e)) from None
    changes = scenario_changes(a["resolved"], b["resolved"])
    if args.json:
        print(json.dumps({
            "a": {k: a[k] for k in ("key", "scenario", "seed", "status", "code", "params")},
            "b": {k: b[k] for k in ("key", "scenario", "seed", "status", "code", "params")},
            "scenario_changes": [{"key": k, "a": x, "b": y} for k, x, y in changes],
            "rows": [{"variant": r.variant, "metric": r.name, "a": r.a, "b": r.b, "change": r.change,
                      "pct": _finite(r.pct), "verdict": r.verdict} for r in rows],
            "failed": [{"fail_on": t.text, "variant": r.variant, "metric": r.name, "pct": _finite(r.pct)}
                       for t, r in failed]}, indent=1))
    else:
        print(text.compare(a, b, rows, changes, failed, args.time_tolerance))
    return 1 if failed else 0
