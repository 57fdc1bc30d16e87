"""The sweep report page (out/<sweep>/sweep.html): the means with 95% intervals per grid point,
the charts, and every point with a link to its own report. It renders sim.sweep.summary's plain
data; Jinja2 autoescapes everything, only our own SVG charts are inserted unescaped."""

from __future__ import annotations

import math
from typing import Any

import jinja2
from markupsafe import Markup

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>memsim sweep: {{ s.id }}</title>
<style>
body { font-family: sans-serif; margin: 2em; max-width: 72em; color: #222 } code { background: #f6f6f6 }
table { border-collapse: collapse; margin-bottom: 1em }
td, th { border: 1px solid #ccc; padding: .25em .5em; text-align: right } td.l, th.l { text-align: left }
tr.failed td { background: #fde8e8 } tr.running td, tr.cancelled td { color: #888 }
</style></head><body>
{% set many = s.variants | length > 1 %}
<h1>memsim sweep: {{ s.id }}</h1>
<p>Scenario <b>{{ s.scenario }}</b> (<code>{{ s.path }}</code>), {{ s.points | length }} points:
{% for k, vs in s.grid.items() %}<code>{{ k }}</code> in {{ vs | join(", ") }}; {% endfor %}
seeds {{ s.seeds | join(", ") }}.</p>
<p>{{ s.counts.success }} succeeded, {{ s.counts.failed }} failed
{%- if s.counts.running %}, {{ s.counts.running }} running or interrupted{% endif %}
{%- if s.counts.cancelled %}, {{ s.counts.cancelled }} cancelled{% endif %}.</p>
{% if s.missing_metrics %}<p><b>No run reported {{ s.missing_metrics | join(", ") }}</b>
(the runs report: {{ s.known_metrics | join(", ") }}).</p>{% endif %}
<h2>Means over seeds, with 95% confidence intervals</h2>
<p>Student's t interval over the seeds that succeeded (n); simulated figures are deterministic per seed,
so the interval is the spread the seeds cause.</p>
<table><tr>
{%- for k in s.grid %}<th class="l">{{ k }}</th>{% endfor %}
{%- if many %}<th class="l">variant</th>{% endif %}<th>n</th>
{%- for m in s.metrics %}<th>{{ m }}</th>{% endfor %}</tr>
{% for g in s.groups %}<tr>
{%- for k in s.grid %}<td class="l">{{ g.labels[k] }}</td>{% endfor %}
{%- if many %}<td class="l">{{ g.variant }}</td>{% endif %}
<td>{{ g.stats[0].n if g.stats else 0 }}/{{ g.runs }}</td>
{%- for st in g.stats %}<td>{{ st | mean_ci }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% if charts %}<h2>Charts</h2>{% endif %}
{% for title, chart in charts %}
{% if chart %}<figure>{{ chart }}</figure>{% else %}<p>{{ title }}</p>{% endif %}
{% endfor %}
<h2>Points</h2>
<table><tr>
{%- for k in s.grid %}<th class="l">{{ k }}</th>{% endfor %}
<th>seed</th><th class="l">status</th><th class="l">run</th><th>seconds</th>
{%- for v in s.variants %}{% for m in s.metrics %}<th>{% if many %}{{ v }}<br>{% endif %}{{ m }}</th>{% endfor %}
{%- endfor %}</tr>
{% for p in s.points %}<tr class="{{ p.status }}">
{%- for k in s.grid %}<td class="l">{{ p.params[k] }}</td>{% endfor %}
<td>{{ p.seed }}</td><td class="l">{{ p.status }}{% if p.error %}: {{ p.error }}{% endif %}</td>
<td class="l">{% if p.status == "success" %}<a href="{{ p.key }}/report.html">{{ p.key }}</a>
{%- else %}{{ p.key }}{% endif %}</td><td>{{ p.seconds | num }}</td>
{%- for v in s.variants %}{% for x in p["values"][v] %}<td>{{ x | num }}</td>{% endfor %}{% endfor %}</tr>
{% endfor %}</table>
</body></html>
"""


def _num(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float):
        return f"{x:,.1f}" if abs(x) >= 1000 else f"{x:.4g}"
    return f"{x:,}" if isinstance(x, int) else str(x)


def _mean_ci(st: dict) -> str:
    if st["n"] == 0:
        return "-"
    return _num(st["mean"]) + ("" if st["ci"] is None else f" ± {_num(st['ci'])}")


def render(summary: dict[str, Any]) -> str:
    from sim.report import svg

    charts = []
    for c in summary["charts"]:
        if c["kind"] == "lines":
            text = svg.errorbar_chart(c["series"], c["title"], c["xlabel"], c["ylabel"])
        elif c["kind"] == "heatmap":
            text = svg.grid_heatmap(c["matrix"], c["xlabels"], c["ylabels"], c["title"], c["xlabel"], c["ylabel"])
        else:
            charts.append((c["title"], None))
            continue
        charts.append((c["title"], Markup(text[text.index("<svg"):])))   # no XML prolog inside HTML
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["num"] = _num
    env.filters["mean_ci"] = _mean_ci
    return env.from_string(TEMPLATE).render(s=summary, charts=charts)
