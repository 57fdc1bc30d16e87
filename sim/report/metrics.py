"""A run's headline figures as named numbers: "<profiler>.<name>" per variant, from each profiler's
and experiment's metrics hook, plus the replay's counts. Run histories store them and
`memsim compare` compares them (simulated counters are deterministic: equal means equal).

figures() adds the labels hooks' named strings (the best policy, the deepest chain's entry); each
name is declared with its unit and meaning (Profiler.figures, Experiment.figures), which is what
a scenario's [report] answer may cite and how the report shows it."""

from __future__ import annotations

from sim.experiments import EXPERIMENTS
from sim.profilers import REGISTRY
from sim.profilers.views import Figure, find_figure

REPLAY = (Figure("alloc_failed", "count", "allocation failures"),
          Figure("errors", "count", "records rejected by the replay"))
EXPERIMENT_KEY = "*"    # the key of the experiments' figures, beside the variants'


def metrics(report: dict) -> dict[str, dict[str, float]]:
    """{variant: {"replay.alloc_failed": 0, "fragmentation.health_score": 98.3, ...}} and, under
    the key "*", the experiments' figures."""
    return _collect(report, "metrics")


def labels(report: dict) -> dict[str, dict[str, str]]:
    """{variant: {"stack.deepest_chain_entry": "filemap_read", ...}} and "*" for the experiments'."""
    return _collect(report, "labels")


def figures(report: dict) -> dict[str, dict[str, float | str]]:
    """metrics() and labels() together: every figure a [report] answer may cite."""
    out = metrics(report)
    for key, names in labels(report).items():
        out.setdefault(key, {}).update(names)
    return out


def _collect(report: dict, hook: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for v in report["variants"]:
        m = {f"replay.{k}": x for k, x in v["replay"].items()} if hook == "metrics" else {}
        for name, prof in REGISTRY.items():
            fn = getattr(prof, hook)
            if name in v and fn is not None:
                m |= {f"{name}.{k}": x for k, x in fn(v[name]).items()}
        out[v["name"]] = m
    experiments = {f"{name}.{k}": x for name, e in EXPERIMENTS.items()
                   if name in report and getattr(e, hook) is not None
                   for k, x in getattr(e, hook)(report[name]).items()}
    if experiments:
        out[EXPERIMENT_KEY] = experiments
    return out


def declaration(name: str) -> tuple[Figure, str] | None:
    """The declaration of "<owner>.<figure>" (owner: replay, a profiler or an experiment) and the
    part its "*" matched; None for a name nobody declares."""
    owner, _, rest = name.partition(".")
    return find_figure(declared(owner), rest)


def declared(owner: str) -> tuple[Figure, ...]:
    """The figures of "replay", a profiler or an experiment (none for another name)."""
    if owner == "replay":
        return REPLAY
    source = REGISTRY.get(owner) or EXPERIMENTS.get(owner)
    return source.figures if source is not None else ()


def unit(name: str) -> str:
    found = declaration(name)
    return found[0].unit if found else "auto"


def label(name: str) -> str:
    """What a figure means, in words ("cpu0/L1d miss ratio")."""
    found = declaration(name)
    if found is None:
        return name
    figure, part = found
    return figure.label.replace("{}", part)
