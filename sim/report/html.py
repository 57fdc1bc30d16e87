"""The self-contained HTML report of a scenario run.

First screen: the scenario's question and the answer its figures give (sim/report/answer.py),
then a table of every variant's headline figures; then one collapsible section per profiler and
experiment (registry order): its definitions, its charts (variants overlaid), and per variant its
facts and tables. Formatting is sim.report.fmt's, drawing sim.report.svg's; this module only lays
out what the profilers describe (sim/profilers/views.py).

The page is rendered from report.json's data only, so `memsim report DIR` writes the same bytes
as the run. Jinja2 autoescapes every string; only our own SVG is inserted as markup. The CSS and
JavaScript (sortable tables, the variant selector, the theme toggle) are package data, inlined:
nothing is loaded from elsewhere, and a Content-Security-Policy lets no other script run. With
JavaScript off, every section is open and every variant shown.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import jinja2
from markupsafe import Markup

from sim.experiments import EXPERIMENTS
from sim.profilers import REGISTRY
from sim.profilers.views import Chart, Column, Fact, LineChart, Marker, Section, Table
from sim.report import answer, fmt, metrics, svg

MAX_ROWS = 50               # rows shown per table (the rest: report.json)
MAX_FIGURE_ROWS = 80        # rows of the figures table
MAX_VARIANT_CHARTS = 16     # variants drawn in per-variant charts
MAX_PHASE_MARKERS = 20      # PHASE markers drawn per variant and chart


@dataclass(frozen=True)
class Drawn:
    """A drawn chart: its file name, the SVG, whose it is and which variant it shows (its index and
    name; None for a chart over every variant)."""
    file: str
    svg: str
    owner: str
    variant: int | None
    variant_name: str | None


def _owners(report: dict) -> list[tuple[str, str, str, object]]:
    """(name, title, kind, declaration) of every profiler and experiment present, in registry order."""
    out = [(n, p.title, "profiler", p) for n, p in REGISTRY.items() if any(n in v for v in report["variants"])]
    out += [(n, e.title, "experiment", e) for n, e in EXPERIMENTS.items() if n in report]
    return out


def _descriptions(report: dict) -> list[tuple[str, Chart]]:
    out = []
    shown = {v["name"]: v for v in report["variants"][:MAX_VARIANT_CHARTS]}
    for name, _, kind, decl in _owners(report):
        if decl.charts is None:
            continue
        if kind == "experiment":
            out += [(name, c) for c in decl.charts(report[name])]
            continue
        results = {v["name"]: v[name] for v in report["variants"] if name in v}
        out += [(name, c) for c in decl.charts(results) if c.variant is None or c.variant in shown]
    return out


def _phases(report: dict, chart: LineChart, index: Mapping[str, int]) -> list[Marker]:
    """The PHASE markers of the variants a chart over records shows."""
    if chart.xunit != "records":
        return []
    names = [chart.variant] if chart.variant is not None else \
        list(dict.fromkeys(chart.variants.get(s, s) for s in chart.series))
    out = []
    for v in report["variants"]:
        if v["name"] in names and v["name"] in index:
            out += [Marker(p["record"], f"phase {p['name']}", v["name"]) for p in v["phases"][:MAX_PHASE_MARKERS]]
    return out


def charts(report: dict) -> list[Drawn]:
    """Every profiler's and experiment's charts, drawn, in page order."""
    index = {v["name"]: i for i, v in enumerate(report["variants"])}
    out = []
    for owner, chart in _descriptions(report):
        phases = _phases(report, chart, index) if isinstance(chart, LineChart) else []
        out.append(Drawn(chart.file, svg.draw(chart, index, phases, small=chart.variant is not None), owner,
                         index.get(chart.variant) if chart.variant is not None else None, chart.variant))
    return out


def _fact(f: Fact | tuple) -> Fact:
    return f if isinstance(f, Fact) else Fact(*f)


def format_table(t: Table | tuple) -> dict:
    t = t if isinstance(t, Table) else Table(*t)
    columns = t.columns or tuple(Column(k, k.replace("_", " ")) for k in dict.fromkeys(k for r in t.rows for k in r))
    rows = [[fmt.cell(r.get(c.key), c.unit) for c in columns] for r in t.rows[:MAX_ROWS]]
    numeric = [all(row[i].sort is not None or row[i].text == "–" for row in rows) and bool(rows)
               for i in range(len(columns))]
    return {"caption": t.caption, "note": t.note, "head": [(c.label, n) for c, n in zip(columns, numeric, strict=True)],
            "rows": rows, "total": len(t.rows), "omitted": max(len(t.rows) - MAX_ROWS, 0)}


def _section(sec: Section) -> dict:
    facts = [_fact(f) for f in sec.facts]
    return {"facts": [(f.label, fmt.cell(f.value, f.unit)) for f in facts],
            "tables": [format_table(t) for t in sec.tables], "notes": list(sec.notes)}


def _cited(report: dict) -> list[str]:
    """The figure names the answer cites, in its order."""
    block = report.get("report")
    refs = answer.parse(block["template"]) if block else []
    return list(dict.fromkeys(r.name for r in refs if isinstance(r, answer.Ref)))


def _figures(report: dict) -> dict:
    """Every variant's headline figures (rows: figures, columns: variants; those the answer cites
    first), and the experiments'."""
    per = metrics.figures(report)
    cited = _cited(report)
    names = list(dict.fromkeys(n for v in report["variants"] for n in per.get(v["name"], {})))
    names.sort(key=lambda n: cited.index(n) if n in cited else len(cited))
    rows = [(metrics.label(n), n, [fmt.cell(per[v["name"]].get(n), metrics.unit(n)) for v in report["variants"]],
             n in cited) for n in names]
    exp = dict(sorted(per.get(metrics.EXPERIMENT_KEY, {}).items(),
                      key=lambda kv: cited.index(kv[0]) if kv[0] in cited else len(cited)))
    return {"rows": rows[:MAX_FIGURE_ROWS], "omitted": max(len(rows) - MAX_FIGURE_ROWS, 0),
            "experiments": [(metrics.label(n), n, fmt.cell(x, metrics.unit(n)), n in cited) for n, x in exp.items()]}


def page(report: dict, texts: Mapping[str, str], drawn: Sequence[Drawn]) -> dict:
    """What the template lays out: plain, formatted, in page order (the sections the answer cites
    first: its evidence)."""
    sections = []
    owners = {n.partition(".")[0] for n in _cited(report)}
    for name, title, kind, decl in sorted(_owners(report), key=lambda o: o[0] not in owners):
        mine = [d for d in drawn if d.owner == name]
        blocks = []
        if kind == "experiment":
            if decl.section is not None:
                blocks.append({"index": None, "name": None, "charts": [], **_section(decl.section(report[name]))})
        else:
            for i, v in enumerate(report["variants"]):
                if name in v:
                    sec = decl.section(v[name]) if decl.section is not None else Section()
                    blocks.append({"index": i, "name": v["name"], **_section(sec),
                                   "charts": [Markup(svg.strip_prolog(d.svg)) for d in mine if d.variant == i]})
        sections.append({"id": f"{kind}-{name}", "title": title, "doc": decl.doc, "blocks": blocks,
                         "charts": [Markup(svg.strip_prolog(d.svg)) for d in mine if d.variant is None]})
    block = report.get("report")
    return {"report": report, "variants": [v["name"] for v in report["variants"]], "sections": sections,
            "question": block, "parts": answer.parts(block) if block and block.get("answer") else None,
            "figures": _figures(report), "texts": texts,
            "machines": [[(k, fmt.value(x)) for k, x in sorted(v["machine"].items())] for v in report["variants"]]}


@cache
def _asset(name: str) -> str:
    return resources.files("sim.report").joinpath(name).read_text(encoding="utf-8")


def render_template(name: str, **model) -> str:
    """templates/<name> filled in, autoescaped, with the page's style and script inlined (the
    script allowed by its hash in the page's Content-Security-Policy)."""
    env = jinja2.Environment(loader=jinja2.FunctionLoader(lambda n: _asset(f"templates/{n}")), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    script = _asset("assets/report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return env.get_template(name).render(**model, style=Markup(_asset("assets/report.css")), script=Markup(script),
                                         script_hash=f"sha256-{digest}")


def render(report: dict, texts: Mapping[str, str], drawn: Sequence[Drawn] | None = None) -> str:
    """The self-contained page (the charts drawn here unless given)."""
    return render_template("report.html.j2", **page(report, texts, charts(report) if drawn is None else drawn))
