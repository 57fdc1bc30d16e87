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


def sections(v: dict) -> list[tuple[str, list[tuple[str, object]], list[tuple[str, list[dict]]]]]:
    """Each enabled profiler's headline figures and tables for one variant."""
    out = []
    if "slab" in v:
        s = v["slab"]
        out.append(("Slab", [("layout loss (bytes)", f"{s['total_loss']:,}"),
                             ("kmalloc rounding waste (bytes)", f"{s['total_kmalloc_rounding']:,}")],
                    [("Caches by loss", _flat(s["top_loss"]))]))
    if "patterns" in v:
        p = v["patterns"]
        out.append(("Allocation patterns", [("allocations", f"{p['allocs']:,}"), ("bytes", f"{p['bytes']:,}"),
                                            ("live at the end", f"{p['live']:,}"),
                                            (f"temporaries (freed within {p['temporary_within']} allocations)",
                                             f"{p['temporaries']:,}"), ("bursts", p["nr_bursts"]),
                                            ("sizes", ", ".join(f"{k}: {n:,}"
                                                                for k, n in p["size_histogram"].items()))],
                    [("Call sites", _flat(p["call_sites"])), ("Recommendations", _flat(p["recommendations"]))]))
    if "cache" in v:
        c = v["cache"]
        out.append(("Caches", [], [("Per cache", _flat([{"cache": k, **x} for k, x in c["caches"].items()])),
                                   ("Prefetch candidates", _flat(c["prefetch_candidates"]))]))
    if "numa" in v:
        n = v["numa"]
        out.append(("NUMA", [("locality", f"{n['locality']:.1%}"), ("access cost (ns)", f"{n['access_cost_ns']:,}")],
                    [("Remote hot spots: call sites", _flat(n["remote_hot_spots"]["call_sites"])),
                     ("Migration recommendations", _flat(n["migration_recommendations"]))]))
    if "stack" in v:
        st = v["stack"]
        out.append(("Stacks", [("stack size (bytes)", f"{st['stack_size']:,}"),
                               ("deepest chain (bytes)", f"{st['deepest_chain']['bytes']:,}"),
                               ("kstack buckets", ", ".join(f"{k}: {x:,}" for k, x in st["kstack_buckets"].items()))],
                    [("Per CPU", _flat(st["cpus"])), ("Largest frames", _flat(st["largest_frames"]))]))
    if "leaks" in v:
        lk = v["leaks"]
        out.append(("Leaks", [(k.replace("_", " "), f"{x['objects']:,} objects, {x['bytes']:,} bytes")
                              for k, x in lk["summary"].items()] +
                    [("kmemleak reports", f"{lk['kmemleak']['reported']:,}")],
                    [("Lost objects by allocation site", _flat(lk["by_site"])),
                     ("kmemleak reports", _flat(lk["kmemleak"]["reports"])),
                     ("Growth suspects", _flat(lk["growth_suspects"]))]))
    if "realtime" in v:
        rt = v["realtime"]
        last = rt["snapshots"][-1] if rt["snapshots"] else {}
        out.append(("Real-time tracker", [("free pages at the end", f"{last.get('free_pages', 0):,}"),
                                          ("alerts", len(rt["alerts"]))], [("Alerts", _flat(rt["alerts"]))]))
    return out


def render(report: dict, charts: list[str], texts: dict[str, str]) -> str:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.globals["sections"] = sections
    env.filters["nth"] = lambda seq, i: seq[i]
    inline = [Markup(c[c.index("<svg"):]) for c in charts]   # no XML prolog inside HTML
    return env.from_string(TEMPLATE).render(report=report, charts=inline, texts=texts)
