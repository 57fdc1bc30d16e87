"""A sweep's results as plain data for its report page (sim.report.sweep renders them): every
point, the mean and 95% interval over seeds of each grid point (and variant), and the series
and matrices of the charts: a metric against one knob with a line per value of a second, and a
heatmap over the two."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from sim.sweep.stats import mean_ci
from sim.sweep.values import show, toml_value

MAX_FACETS = 8     # charts per metric and kind when more than two knobs vary


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def summarize(sweep: Mapping[str, Any], runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """sweep: History.sweep(); runs: History.runs(sweep=...) (in point order)."""
    grid: dict[str, list] = sweep["grid"]
    metrics: list[str] = sweep["metrics"]
    variants = list(dict.fromkeys(v for r in runs for v in r["metrics"]))
    points = [{"key": r["key"], "params": {k: show(r["params"].get(k)) for k in grid}, "seed": r["seed"],
               "status": r["status"], "error": r["error"], "seconds": r["timings"].get("run"),
               "values": {v: [r["metrics"].get(v, {}).get(m) for m in metrics] for v in variants}}
              for r in runs]
    by_point: dict[tuple, list] = {}
    for r in runs:
        by_point.setdefault(tuple(toml_value(r["params"].get(k)) for k in grid), []).append(r)
    groups = []
    for combo in itertools.product(*grid.values()):
        params = dict(zip(grid, combo, strict=True))
        members = by_point.get(tuple(toml_value(v) for v in combo), [])
        ok = [r for r in members if r["status"] == "success"]
        for v in variants:
            stats = []
            for m in metrics:
                vals = [r["metrics"][v][m] for r in ok if m in r["metrics"].get(v, {})
                        and r["metrics"][v][m] is not None]
                mean, ci, n = mean_ci(vals)
                stats.append({"mean": mean, "ci": ci, "n": n})
            groups.append({"params": params, "labels": {k: show(x) for k, x in params.items()}, "variant": v,
                           "runs": len(members), "stats": stats})
    missing = sorted({m for m in metrics if not any(m in r["metrics"].get(v, {}) for r in runs for v in variants)})
    known = sorted({m for r in runs for mv in r["metrics"].values() for m in mv})
    counts = {s: sum(r["status"] == s for r in runs) for s in ("success", "failed", "running", "cancelled")}
    return {"id": sweep["id"], "scenario": sweep["scenario"], "path": sweep["path"], "grid":
            {k: [show(v) for v in vs] for k, vs in grid.items()}, "seeds": sweep["seeds"], "metrics": metrics,
            "variants": variants, "points": points, "groups": groups, "counts": counts,
            "missing_metrics": missing, "known_metrics": known if missing else [],
            "charts": _charts(grid, metrics, variants, groups)}


def _charts(grid: Mapping[str, list], metrics: Sequence[str], variants: Sequence[str],
            groups: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The knobs that vary (grid keys with several values, then the variant): the first numeric
    knob is the x axis, the next one the lines and the heatmap's rows, any others one chart each."""
    dims: dict[str, list] = {k: list(vs) for k, vs in grid.items() if len(vs) > 1}
    if len(variants) > 1:
        dims["variant"] = list(variants)
    if not dims:
        return []
    x = next((k for k in dims if k != "variant" and _numeric(dims[k])), next(iter(dims)))
    lines = next((k for k in dims if k != x), None)
    rest = [k for k in dims if k not in (x, lines)]

    def value(g: Mapping[str, Any], k: str) -> Any:
        return g["variant"] if k == "variant" else g["params"][k]

    def short(k: str) -> str:
        return k.partition(".")[2] or k

    def label(k: str, v: Any) -> str:
        return str(v) if k == "variant" else f"{short(k)}={show(v)}"

    xs = dims[x] if _numeric(dims[x]) and x != "variant" else [v if x == "variant" else show(v) for v in dims[x]]
    out = []
    for mi, metric in enumerate(metrics):
        facets = list(itertools.product(*(dims[k] for k in rest)))
        for facet in facets[:MAX_FACETS]:
            chosen = [g for g in groups if all(value(g, k) == v for k, v in zip(rest, facet, strict=True))]
            where = ", ".join(label(k, v) for k, v in zip(rest, facet, strict=True))
            suffix = f" ({where})" if where else ""

            def cell(xv: Any, lv: Any, chosen: list = chosen, metric_i: int = mi) -> tuple[float, float]:
                g = next((g for g in chosen if value(g, x) == xv and (lines is None or value(g, lines) == lv)), None)
                if g is None:
                    return math.nan, math.nan
                s = g["stats"][metric_i]
                return s["mean"], math.nan if s["ci"] is None else s["ci"]

            series = {}
            for lv in (dims[lines] if lines else [None]):
                cells = [cell(xv, lv) for xv in dims[x]]
                name = label(lines, lv) if lines else metric
                series[name] = (xs, [c[0] for c in cells], [c[1] for c in cells])
            out.append({"kind": "lines", "metric": metric, "title": f"{metric} vs {x}{suffix}", "xlabel": short(x),
                        "ylabel": f"{short(metric)} (mean, 95% CI)", "series": series})
            if lines is not None:
                out.append({"kind": "heatmap", "metric": metric, "title": f"{metric}: {x} x {lines}{suffix}",
                            "xlabel": short(x), "ylabel": short(lines), "xlabels": [show(v) for v in dims[x]],
                            "ylabels": [str(v) if lines == "variant" else show(v) for v in dims[lines]],
                            "matrix": [[cell(xv, lv)[0] for xv in dims[x]] for lv in dims[lines]]})
        if len(facets) > MAX_FACETS:
            out.append({"kind": "note", "metric": metric,
                        "title": f"{metric}: {len(facets) - MAX_FACETS} more combinations of "
                                 f"{', '.join(rest)} are in the tables only"})
    return out
