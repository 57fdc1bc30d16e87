"""The self-contained HTML report of a scenario run: summary, per-variant sections, inline SVG.
Jinja2 autoescapes everything; only our own SVG charts are inserted unescaped."""

from __future__ import annotations

import jinja2
from markupsafe import Markup

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
{% endfor %}
</body></html>
"""


def render(report: dict, charts: list[str], texts: dict[str, str]) -> str:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["nth"] = lambda seq, i: seq[i]
    inline = [Markup(c[c.index("<svg"):]) for c in charts]   # no XML prolog inside HTML
    return env.from_string(TEMPLATE).render(report=report, charts=inline, texts=texts)
