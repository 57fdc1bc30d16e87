"""Deterministic SVG charts: fixed hash salt, no dates, so the same data gives the same bytes."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams["svg.hashsalt"] = "memsim"
plt.rcParams["svg.fonttype"] = "none"   # text stays text: smaller files, no glyph paths


def line_chart(series: Mapping[str, tuple[Sequence[float], Sequence[float]]], title: str, xlabel: str,
               ylabel: str) -> str:
    """One line per name: (x values, y values). Returns the SVG text."""
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    for name, (xs, ys) in series.items():
        ax.plot(list(xs), list(ys), label=str(name), linewidth=1.5)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if series:
        ax.legend()
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return buf.getvalue()


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


def heatmap(matrix: Sequence[Sequence[float]], xlabels: Sequence[str], ylabels: Sequence[str], title: str,
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
