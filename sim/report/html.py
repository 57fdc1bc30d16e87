"""The self-contained HTML report of a scenario run: summary, per-variant sections, inline SVG.
Jinja2 autoescapes everything; only our own SVG charts are inserted unescaped."""

from __future__ import annotations

import jinja2
from markupsafe import Markup

from sim.profilers import REGISTRY

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>memsim: {{ report.scenario }}</title>
<style>
body { font-family: sans-serif; margin: 2em; max-width: 60em; color: #222 }
table { border-collapse: collapse } td, th { border: 1px solid #ccc; padding: .3em .6em; text-align: right }
th:first-child, td:first-child { text-align: left } pre { background: #f6f6f6; padding: .5em; overflow-x: auto }
</style></head><body>
<h1>memsim: {{ report.scenario }}</h1>
<p>{{ report.description }}</p>
<p>{{ "{:,}".format(report.records) }} records, seed {{ report.seed }}.</p>
<h2>Summary</h2>
<table><tr><th>variant</th><th>allocation failures</th><th>free blocks of order &ge; 9</th>
<th>health (0-100)</th><th>unusable index, order 9 (&permil;)</th></tr>
{% for v in report.variants %}<tr><td>{{ v.name }}</td><td>{{ v.replay.alloc_failed }}</td>
<td>{{ v.fragmentation.final | sum(attribute="free_blocks_order_ge_9") }}</td>
<td>{{ v.fragmentation.health_score }}</td>
<td>{{ v.fragmentation.final | map(attribute="unusable_index") | map("nth", 9) | join(" / ") }}</td></tr>
{% endfor %}</table>
<h2>Fragmentation over time</h2>
{% for chart in charts %}<figure>{{ chart }}</figure>{% endfor %}
{% for v in report.variants %}
<h2>Variant {{ v.name }}</h2>
<p>Machine:
{% for k, val in v.machine | dictsort %}{{ k }} = {{ val }}{% if not loop.last %}, {% endif %}
{% endfor %}</p>
<p>Pageblocks per migratetype (Unmovable, Movable, Reclaimable, HighAtomic, Isolate):
{% for node, counts in v.fragmentation.pageblocks | dictsort %}node {{ node }}: {{ counts | join(", ") }}
{% if not loop.last %}; {% endif %}{% endfor %}</p>
<pre>{{ texts[v.name] }}</pre>
{% for title, facts, tables in sections(v) %}
<h3>{{ title }}</h3>
{% if facts %}<table>{% for label, value in facts %}<tr><td>{{ label }}</td><td>{{ value }}</td></tr>
{% endfor %}</table>{% endif %}
{% for caption, (head, rows) in tables if rows %}<p>{{ caption }}</p>
<table><tr>{% for k in head %}<th>{{ k }}</th>{% endfor %}</tr>
{% for row in rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>{% endfor %}</table>
{% endfor %}{% endfor %}
{% endfor %}
</body></html>
"""


def _flat(rows: list[dict]) -> tuple[list[str], list[list[object]]]:
    """A table from dicts: the union of their keys as columns, nested values as compact text."""
    head = list(dict.fromkeys(k for r in rows for k in r))
    cell = lambda x: x if isinstance(x, (int, float, str)) else "" if x is None else str(x)  # noqa: E731
    return head, [[cell(r.get(k)) for k in head] for r in rows]


def sections(v: dict) -> list[tuple[str, list[tuple[str, object]], list[tuple[str, tuple]]]]:
    """Each profiler's section for one variant (title, facts, tables), in registry order."""
    out = []
    for name, prof in REGISTRY.items():
        if name in v and prof.section is not None:
            sec = prof.section(v[name])
            out.append((prof.title, sec.facts, [(caption, _flat(rows)) for caption, rows in sec.tables]))
    return out


def charts(report: dict) -> dict[str, str]:
    """Every profiler's charts over all variants, as SVG text by file name."""
    from sim.report import svg

    out = {}
    for name, prof in REGISTRY.items():
        results = {v["name"]: v[name] for v in report["variants"] if name in v}
        if results and prof.charts is not None:
            for c in prof.charts(results):
                out[c.file] = svg.line_chart(c.series, c.title, c.xlabel, c.ylabel)
    return out


def render(report: dict, texts: dict[str, str], svgs: dict[str, str] | None = None) -> str:
    """The self-contained page: the charts inline (computed here unless given)."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.globals["sections"] = sections
    env.filters["nth"] = lambda seq, i: seq[i]
    svgs = charts(report) if svgs is None else svgs
    inline = [Markup(c[c.index("<svg"):]) for c in svgs.values()]   # no XML prolog inside HTML
    return env.from_string(TEMPLATE).render(report=report, charts=inline, texts=texts)
