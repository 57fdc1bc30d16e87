"""Charts as deterministic SVG (matplotlib): lines, bars and heatmaps as the profilers describe them
(sim/profilers/views.py). Fixed hash salt, no dates, so the same data gives the same bytes.

matplotlib draws; this module then adds what a page needs and matplotlib does not write: every
series, bar and marker is tagged with its variant (data-variant, for the page's variant
selector) and carries an SVG <title>, and every data point gets an invisible hover target whose
<title> is the exact value (native tooltips, no JavaScript). Text from traces (variant, cache and
call-site names) is escaped, and never parsed as mathtext."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import matplotlib
from markupsafe import escape

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import LogNorm, Normalize  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter  # noqa: E402

from sim.profilers.views import BarChart, Heatmap, LineChart, Marker  # noqa: E402
from sim.report import fmt  # noqa: E402

plt.rcParams.update({
    "svg.hashsalt": "memsim",
    "svg.fonttype": "none",            # text stays text: smaller files, no glyph paths
    "text.parse_math": False,          # "$x$" in a variant name is text, not mathtext
    "text.usetex": False,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 9,
    "figure.facecolor": "none",        # transparent: the page's theme shows through
    "axes.facecolor": "none",
    "savefig.facecolor": "none",
    "axes.spines.top": False,
    "axes.spines.right": False,
})

MAX_SERIES = 16          # lines (or bar series) drawn per chart; the chart says how many it left out
MAX_TIPS = 400           # hover targets per series (thinned evenly beyond)
MAX_MARKER_LABELS = 6    # markers drawn with a label; the others only with a tooltip
MAX_CATEGORIES = 40      # bars per series
LINESTYLES = ("-", "--", ":", "-.")
WIDE, SMALL = (6.4, 3.0), (4.2, 2.6)


class _Tags:
    """gids given to matplotlib artists, and what to put in their SVG group afterwards."""

    def __init__(self) -> None:
        self.groups: dict[str, tuple[int | None, str]] = {}
        # hover targets: (variant, "tips" (points: x, y, text) or "cols" (x, y, width, height, text), items)
        self.tips: list[tuple[int | None, str, list[tuple]]] = []

    def gid(self, variant: int | None, title: str) -> str:
        gid = f"memsim-{len(self.groups)}"
        self.groups[gid] = (variant, title)
        return gid


def _variant_attr(v: int | None) -> str:
    return "" if v is None else f' data-variant="{v}"'


def _finish(fig, tags: _Tags) -> str:
    """The figure's SVG with the tags applied and the hover targets added."""
    overlay = []
    for variant, kind, items in tags.tips:
        if kind == "tips":
            body = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="transparent"><title>{escape(t)}</title>'
                           '</circle>' for x, y, t in items)
        else:
            body = "".join(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="transparent">'
                           f'<title>{escape(t)}</title></rect>' for x, y, w, h, t in items)
        overlay.append(f'<g class="{kind}"{_variant_attr(variant)}>{body}</g>')
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    svg = buf.getvalue()
    for gid, (variant, title) in tags.groups.items():
        svg = svg.replace(f'<g id="{gid}">', f'<g id="{gid}" class="series"{_variant_attr(variant)}>'
                          f'<title>{escape(title)}</title>', 1)
    return svg.replace("</svg>", "\n".join(overlay) + "\n</svg>") if overlay else svg


def _to_svg(fig, ax, xs: Sequence[float], ys: Sequence[float]) -> list[tuple[float, float]]:
    """Data coordinates -> SVG user units (points from the top left)."""
    disp = ax.transData.transform(list(zip(xs, ys, strict=True))) if len(xs) else []
    scale = 72 / fig.dpi
    height = fig.get_size_inches()[1] * 72
    return [(x * scale, height - y * scale) for x, y in disp]


def _tip(value: object, unit: str) -> str:
    c = fmt.cell(value, unit)
    return c.exact or c.text


def _thin(n: int) -> range:
    return range(0, n, max(1, -(-n // MAX_TIPS)))


def line_chart(chart: LineChart, variants: Mapping[str, int], phases: Sequence[Marker] = (),
               size: tuple[float, float] = WIDE) -> str:
    """A LineChart; variants maps variant names to their index on the page."""
    names = list(chart.series)[:MAX_SERIES]
    of = {n: chart.variants.get(n, n if n in variants else chart.variant) for n in names}
    by_variant = len({of[n] for n in names if of[n] is not None}) >= 2
    seen: dict[str | None, int] = {}
    fig, ax = plt.subplots(figsize=size)
    tags = _Tags()
    cycle = 0
    for n in names:
        xs, ys = (list(a) for a in chart.series[n])
        v = variants.get(of[n]) if of[n] is not None else None
        style = chart.styles.get(n, "")
        if by_variant and v is not None:
            color, ls = f"C{v % 10}", LINESTYLES[seen.get(of[n], 0) % len(LINESTYLES)]
            seen[of[n]] = seen.get(of[n], 0) + 1
        else:
            color, ls = f"C{cycle % 10}", "-"
            cycle += 1
        if style == "point":
            (artist,) = ax.plot(xs, ys, label=n, color=color, marker="X", markersize=8, linestyle="none")
        else:
            (artist,) = ax.plot(xs, ys, label=n, color=color, linewidth=1.5,
                                linestyle={"dashed": "--", "dotted": ":"}.get(style, ls))
        artist.set_gid(tags.gid(v, n))
    for y, label in chart.hlines:
        artist = ax.axhline(y, color="#888888", linewidth=1, linestyle="--")
        artist.set_gid(tags.gid(None, f"{label}: {_tip(y, chart.yunit)}"))
        ax.annotate(label, (1, y), xycoords=("axes fraction", "data"), xytext=(-2, 3), textcoords="offset points",
                    ha="right", fontsize=8, color="#555555")
    _markers(ax, tags, [*chart.markers, *phases], variants, chart.xunit)
    ax.set_title(chart.title)
    ax.set_xlabel(chart.xlabel)
    ax.set_ylabel(chart.ylabel)
    ax.grid(True, alpha=0.3)
    _axes(ax.xaxis, chart.xunit, size)
    _axes(ax.yaxis, chart.yunit, size)
    if len(names) > 1 or any(chart.styles.get(n) for n in names):
        ax.legend(fontsize=8, loc="best")
    if len(chart.series) > len(names):
        fig.text(0.99, 0.01, f"{len(names)} of {len(chart.series)} lines shown", ha="right", fontsize=7)
    fig.tight_layout()   # lays out (and autoscales) the axes: the data transform is final from here
    for n in names:
        xs, ys = (list(a) for a in chart.series[n])
        keep = _thin(len(xs))
        pts = _to_svg(fig, ax, [xs[i] for i in keep], [ys[i] for i in keep])
        v = variants.get(of[n]) if of[n] is not None else None
        tips = [(x, y, f"{n} · {chart.xlabel} {_tip(xs[i], chart.xunit)}: {_tip(ys[i], chart.yunit)}")
                for (x, y), i in zip(pts, keep, strict=True)]
        tags.tips.append((v, "tips", tips))
    return _finish(fig, tags)


def _int(x: float) -> float:
    return int(x) if float(x).is_integer() else x


def _axis(y: float, unit: str, short: bool = False) -> str:
    """An axis tick: the unit's text, short."""
    if unit in fmt.COUNTS or unit == "auto":
        return fmt.compact(y) if short else fmt.number(_int(y))
    if unit == "ratio":
        return f"{100 * y:.3g}%"
    return fmt.value(_int(y) if unit not in ("score", "number", "thousandths") else y, unit)


class _BinaryLocator(MaxNLocator):
    """Byte ticks at multiples of a power of two (4 KiB, 8 KiB...), not at 4.9 KiB."""

    def tick_values(self, vmin: float, vmax: float):
        step = 1 << max(0, math.ceil(math.log2(max(vmax - vmin, 1) / self._nbins)))
        return [step * k for k in range(math.floor(vmin / step), math.ceil(vmax / step) + 1)]


def _axes(axis, unit: str, size: tuple[float, float]) -> None:
    """Ticks in the unit's format; whole numbers only for counts, powers of two for bytes."""
    nbins = 6 if size == WIDE else 4
    if unit == "bytes":
        axis.set_major_locator(_BinaryLocator(nbins=nbins))
    else:
        axis.set_major_locator(MaxNLocator(nbins=nbins, integer=unit in fmt.COUNTS))
    axis.set_major_formatter(FuncFormatter(lambda v, _: _axis(v, unit, size != WIDE)))


def _markers(ax, tags: _Tags, markers: Sequence[Marker], variants: Mapping[str, int], xunit: str) -> None:
    """Vertical lines with a tooltip each; the first few distinct ones also labelled."""
    labelled: set[tuple[float, str]] = set()
    for m in markers:
        v = variants.get(m.variant) if m.variant is not None else None
        artist = ax.axvline(m.x, color="#999999", linewidth=1, linestyle=":")
        who = f"{m.variant}: " if m.variant is not None and len(variants) > 1 else ""
        artist.set_gid(tags.gid(v, f"{who}{m.label} at {_tip(m.x, xunit)}"))
        if (m.x, m.label) not in labelled and len(labelled) < MAX_MARKER_LABELS:
            labelled.add((m.x, m.label))
            ax.annotate(m.label, (m.x, 1), xycoords=("data", "axes fraction"), xytext=(-3, -3),
                        textcoords="offset points", rotation=90, ha="right", va="top", fontsize=7,
                        color="#555555")


def bar_chart(chart: BarChart, variants: Mapping[str, int], size: tuple[float, float] = WIDE) -> str:
    cats = list(chart.categories)[:MAX_CATEGORIES]
    names = list(chart.series)[:MAX_SERIES]
    fig, ax = plt.subplots(figsize=size)
    tags = _Tags()
    width = 0.8 if chart.stacked else 0.8 / max(len(names), 1)
    base = [0.0] * len(cats)
    pos = list(range(len(cats)))
    for k, n in enumerate(names):
        vals = [float(x) for x in list(chart.series[n])[: len(cats)]]
        offs = [p if chart.stacked else p - 0.4 + width * (k + 0.5) for p in pos]
        if chart.horizontal:
            bars = ax.barh(offs, vals, height=width, label=n, color=f"C{k % 10}", left=base if chart.stacked else 0)
        else:
            bars = ax.bar(offs, vals, width=width, label=n, color=f"C{k % 10}", bottom=base if chart.stacked else 0)
        for c, patch in enumerate(bars.patches):
            owner = chart.variants.get(cats[c]) or chart.variants.get(n) or \
                next((x for x in (n, cats[c]) if x in variants), chart.variant)
            v = variants.get(owner) if owner is not None else None
            what = f"{cats[c]} · {n}" if len(names) > 1 else cats[c]
            patch.set_gid(tags.gid(v, f"{what}: {_tip(chart.series[n][c], chart.unit)}"))
            if cats[c] in chart.highlight:
                patch.set_edgecolor("#000000")
                patch.set_linewidth(2)
        if chart.stacked:
            base = [b + x for b, x in zip(base, vals, strict=True)]
    (ax.set_yticks if chart.horizontal else ax.set_xticks)(pos)
    labels = [f"{c} (best)" if c in chart.highlight else c for c in cats]
    if chart.horizontal:
        ax.set_yticklabels(labels)
        ax.invert_yaxis()
        _axes(ax.xaxis, chart.unit, size)
    else:
        long = max((len(c) for c in cats), default=0) > 8 or len(cats) > 8
        ax.set_xticklabels(labels, rotation=30 if long else 0, ha="right" if long else "center")
        _axes(ax.yaxis, chart.unit, size)
    for t in (ax.get_yticklabels() if chart.horizontal else ax.get_xticklabels()):
        if t.get_text().endswith(" (best)"):
            t.set_fontweight("bold")
    ax.set_title(chart.title)
    ax.set_xlabel(chart.xlabel)
    ax.set_ylabel(chart.ylabel)
    ax.grid(True, axis="x" if chart.horizontal else "y", alpha=0.3)
    if len(names) > 1:
        ax.legend(fontsize=8, loc="best")
    if len(chart.categories) > len(cats):
        fig.text(0.99, 0.01, f"{len(cats)} of {len(chart.categories)} shown", ha="right", fontsize=7)
    fig.tight_layout()
    return _finish(fig, tags)


def heatmap(chart: Heatmap, variants: Mapping[str, int], size: tuple[float, float] = WIDE) -> str:
    """Columns are time windows (x), rows the y bins; a hover target per column names its total
    and its hottest row."""
    vals = [[float(x) for x in col] for col in chart.values]
    fig, ax = plt.subplots(figsize=size)
    tags = _Tags()
    if vals and vals[0]:
        top = max(max(col) for col in vals)
        norm = LogNorm(vmin=1, vmax=max(top, 1)) if chart.log else Normalize(vmin=0, vmax=max(top, 1))
        masked = [[x if (x > 0 or not chart.log) else float("nan") for x in col] for col in vals]
        im = ax.imshow(list(map(list, zip(*masked, strict=True))), aspect="auto", origin="lower",
                       interpolation="nearest", cmap="viridis", norm=norm,
                       extent=(-0.5, len(vals) - 0.5, -0.5, len(vals[0]) - 0.5))
        bar = fig.colorbar(im, ax=ax)
        bar.set_label(chart.unit)
        bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.compact(v)))
        bar.ax.yaxis.set_minor_formatter(NullFormatter())
        ticks = _ticks(len(vals), 6 if size == WIDE else 4)
        ax.set_xticks(ticks)
        ax.set_xticklabels([fmt.compact(chart.x[i]) for i in ticks])
        rows = _ticks(len(chart.rows))
        ax.set_yticks(rows)
        ax.set_yticklabels([chart.rows[i] for i in rows])
    ax.set_title(chart.title)
    ax.set_xlabel(chart.xlabel)
    ax.set_ylabel(chart.ylabel)
    fig.tight_layout()
    v = variants.get(chart.variant) if chart.variant is not None else None
    cols = []
    for i, col in enumerate(vals):
        (x0, y0), (x1, y1) = _to_svg(fig, ax, [i - 0.5, i + 0.5], [len(col) - 0.5, -0.5])
        hot = max(range(len(col)), key=col.__getitem__) if col else 0
        text = (f"{chart.xlabel} {fmt.number(_int(chart.x[i]))}: total {_tip(sum(chart.values[i]), chart.unit)}"
                + (f"; most in {chart.ylabel} {chart.rows[hot]} ({_tip(chart.values[i][hot], chart.unit)})"
                   if col and col[hot] else ""))
        cols.append((x0, y0, x1 - x0, y1 - y0, text))
    tags.tips.append((v, "cols", cols))
    return _finish(fig, tags)


def _ticks(n: int, most: int = 8) -> list[int]:
    step = max(1, -(-n // most))
    return list(range(0, n, step))


def draw(chart: LineChart | BarChart | Heatmap, variants: Mapping[str, int], phases: Sequence[Marker] = (),
         small: bool = False) -> str:
    size = SMALL if small else WIDE
    before = set(plt.get_fignums())
    try:
        if isinstance(chart, LineChart):
            return line_chart(chart, variants, phases, size)
        if isinstance(chart, BarChart):
            return bar_chart(chart, variants, size)
        return heatmap(chart, variants, size)
    except BaseException:   # pyplot keeps every open figure: one per malformed chart would pile up
        for n in set(plt.get_fignums()) - before:
            plt.close(n)
        raise


def strip_prolog(svg: str) -> str:
    """The <svg> element alone, for an HTML page: no XML prolog, doctype or RDF metadata."""
    svg = svg[svg.index("<svg"):]
    start, end = svg.find("<metadata>"), svg.find("</metadata>")
    return svg[:start] + svg[end + len("</metadata>"):] if 0 <= start < end else svg



# The sweep page's charts (sim/report/sweep.py): means with confidence intervals, knob grids.

def _svg(fig, ax, title: str, xlabel: str, ylabel: str) -> str:
    import textwrap

    ax.set_title(textwrap.fill(title, 64), fontsize="medium")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return buf.getvalue()


def _categorical(xs: Sequence) -> bool:
    return not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs)


def errorbar_chart(series: Mapping[str, tuple[Sequence, Sequence[float], Sequence[float]]], title: str, xlabel: str,
                   ylabel: str) -> str:
    """One line per name through (x, mean) with error bars of the given half-widths (NaN: none);
    x values that are not all numbers are categories, evenly spaced."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    cats = list(dict.fromkeys(x for xs, _, _ in series.values() for x in xs))
    categorical = _categorical(cats)
    for name, (xs, ys, errs) in series.items():
        pos = [cats.index(x) for x in xs] if categorical else list(xs)
        ax.errorbar(pos, list(ys), yerr=[0.0 if e != e else e for e in errs], label=str(name), marker="o",
                    capsize=3, linewidth=1.5)
    if categorical:
        ax.set_xticks(range(len(cats)), [str(c) for c in cats])
    ax.grid(True, alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize="small")
    return _svg(fig, ax, title, xlabel, ylabel)


def grid_heatmap(matrix: Sequence[Sequence[float]], xlabels: Sequence[str], ylabels: Sequence[str], title: str,
            xlabel: str, ylabel: str) -> str:
    """Cells coloured by value and labelled with it (NaN: an empty cell marked "-"); vector, no raster."""
    import numpy as np

    data = np.ma.masked_invalid(np.array(matrix, dtype=float))
    fig, ax = plt.subplots(figsize=(6.4, max(2.6, 1.4 + 0.45 * len(ylabels))))
    mesh = ax.pcolormesh(data, cmap="viridis", edgecolors="white", linewidth=0.5)
    fig.colorbar(mesh, ax=ax)
    lo, hi = (float(data.min()), float(data.max())) if data.count() else (0.0, 0.0)
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            dark = v == v and hi > lo and (v - lo) / (hi - lo) < 0.6
            text = "-" if v != v else f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"
            ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize="small",
                    color="white" if dark else "black")
    ax.set_xticks([j + 0.5 for j in range(len(xlabels))], list(xlabels))
    ax.set_yticks([i + 0.5 for i in range(len(ylabels))], list(ylabels))
    return _svg(fig, ax, title, xlabel, ylabel)
