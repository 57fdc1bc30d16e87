"""A scenario's question and its answer, written in the scenario file over named figures:

    [report]
    question = "How many order-9 blocks survive the churn?"
    answer = "Grouping keeps {grouping-on:fragmentation.free_blocks_order_ge_9} blocks, ..."

{VARIANT:FIGURE} is a figure of one variant ("replay.alloc_failed", "<profiler>.<name>"), {FIGURE}
an experiment's ("numa_what_if.best.policy"); {{ and }} are literal braces. The names are checked
when the scenario loads (check()); after the run, answer() fills in the figures (sim.report.metrics)
and report.json keeps the question, the template, the answer and every figure it used, so the
page shows the same answer without the scenario file. Reports never compute: the figures are the
profilers' own, formatted by sim.report.fmt.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sim.experiments import EXPERIMENTS
from sim.profilers import REGISTRY
from sim.report import fmt
from sim.report.metrics import EXPERIMENT_KEY, declaration, declared, figures, label, unit

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


@dataclass(frozen=True)
class Ref:
    """A figure cited by the template: its key as written, its variant ("*": experiments) and name."""
    key: str
    variant: str
    name: str


class TemplateError(ValueError):
    """A template that cannot be filled in; the message says which figure and why."""


def parse(template: str) -> list[str | Ref]:
    """The template as literal text and figure references, in order."""
    out: list[str | Ref] = []
    text, pos = [], 0
    for m in _TOKEN.finditer(template):
        text.append(template[pos:m.start()])
        pos = m.end()
        tok = m.group(0)
        if tok in ("{{", "}}"):
            text.append(tok[0])
            continue
        if m.group(1) is None:
            raise TemplateError(f"unmatched {tok!r} at character {m.start() + 1} (write {tok * 2} for a brace)")
        key = m.group(1).strip()
        variant, sep, name = key.rpartition(":")
        if not name:
            raise TemplateError(f"empty figure {{{key}}} at character {m.start() + 1}")
        if "".join(text):
            out.append("".join(text))
        text = []
        out.append(Ref(key, variant if sep else EXPERIMENT_KEY, name))
    text.append(template[pos:])
    if "".join(text):
        out.append("".join(text))
    return out


def check(template: str, variants: Iterable[str], profilers: Iterable[str] | None,
          experiments: Iterable[str] | None) -> None:
    """Every figure the template cites exists in a scenario with these variants, profilers and
    experiments; else TemplateError naming the first that does not. profilers (experiments) None:
    any registered one (a command-line override chose them: a figure it leaves out is missing from
    the run's answer, not an error in the file)."""
    variants = list(variants)
    profilers = set(REGISTRY) if profilers is None else set(profilers)
    experiments = set(EXPERIMENTS) if experiments is None else set(experiments)
    for ref in parse(template):
        if not isinstance(ref, Ref):
            continue
        owner = ref.name.partition(".")[0]
        if ref.variant == EXPERIMENT_KEY:
            if owner not in experiments:
                hint = (f"a profiler's figure needs its variant: {{{variants[0]}:{ref.name}}}"
                        if owner in REGISTRY or owner == "replay" else
                        f"experiments in this scenario: {', '.join(sorted(experiments)) or 'none'}")
                raise TemplateError(f"unknown figure {{{ref.key}}}: {owner!r} is not an experiment of the "
                                    f"scenario ({hint})")
        else:
            if ref.variant not in variants:
                raise TemplateError(f"unknown figure {{{ref.key}}}: no variant {ref.variant!r} "
                                    f"(variants: {', '.join(variants)})")
            if owner != "replay" and owner not in profilers:
                raise TemplateError(f"unknown figure {{{ref.key}}}: the {owner!r} profiler is not in "
                                    f"profile.profilers (profilers: replay, {', '.join(sorted(profilers))})")
        if declaration(ref.name) is None:
            raise TemplateError(f"unknown figure {{{ref.key}}}: {owner!r} has no figure "
                                f"{ref.name.partition('.')[2]!r} (its figures: "
                                f"{', '.join(f.name for f in declared(owner)) or 'none'})")


def answer(question: str, template: str, report: dict) -> dict:
    """The report.json block of a run's question and answer. A figure the run lacks (a variant
    not run, a cache the machine does not have) leaves the answer out and is listed as missing."""
    have = figures(report)
    used, missing = {}, []
    for ref in parse(template):
        if not isinstance(ref, Ref) or ref.key in used:
            continue
        value = have.get(ref.variant, {}).get(ref.name)
        if value is None:
            missing.append(ref.key)
            continue
        u = unit(ref.name)
        c = fmt.cell(value, u)
        used[ref.key] = {"variant": ref.variant, "name": ref.name, "value": value, "unit": u,
                         "label": label(ref.name), "text": c.text, "exact": c.exact}
    out = {"question": question, "template": template, "figures": used,
           "answer": None if missing else "".join(p if isinstance(p, str) else used[p.key]["text"]
                                                  for p in parse(template))}
    if missing:
        out["missing"] = missing
    return out


def parts(block: dict) -> list[str | dict]:
    """The answer as literal text and the figures' entries (for markup), in order."""
    return [p if isinstance(p, str) else {"key": p.key, **block["figures"][p.key]} for p in parse(block["template"])]
