"""Deterministic SVG charts: fixed hash salt, no dates, so the same data gives the same bytes."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams["svg.hashsalt"] = "memsim"
plt.rcParams["svg.fonttype"] = "none"   # text stays text: smaller files, no glyph paths
plt.rcParams["text.parse_math"] = False  # names come from users and traces: "$x$" is text, not mathtext


def line_chart(series: Mapping[str, tuple[Sequence[float], Sequence[float]]], title: str, xlabel: str,
               ylabel: str) -> str:
    """One line per name: (x values, y values). Returns the SVG text."""
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    try:   # closed however it ends: pyplot keeps every open figure (a malformed result's data raises)
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
    finally:
        plt.close(fig)
    return buf.getvalue()
