"""Leak detector: kmemleak's scan and memcheck's categories over the model's memory.

Every scan reads the live kmalloc/kmem_cache objects' bytes (Machine.leak_scan): a word that
points into a live object is a reference, to its start or interior. From the root objects:
- memcheck's categories: still reachable (a chain of start pointers from a root), possibly
  lost (reached only through an interior pointer), definitely lost (nothing unreached points
  to it), indirectly lost (reached only from lost objects);
- kmemleak's report: objects no pointer chain reaches (white) in two scans in a row and
  older than min_age records, each reported once;
- growth suspects: allocation sites whose live objects grew at three scans in four or more
  and never shrank (leaks that stay reachable, such as a cache that is never trimmed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from kernel_model import Machine
from kernel_model._core import LEAK_INDIRECT as WHITE  # kinds >= this: unreferenced (kmemleak's white objects)
from kernel_model._core import LEAK_KIND_NAMES as KINDS
from kernel_model._core import leak_classify
from kernel_model.trace import Trace, site_name
from sim.fields import Field, Int
from sim.profilers.registry import BarChart, Column, Fact, Figure, Profiler, Section, Table, register
from sim.profilers.series import Series

VERSION = 1


def references(scan: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The scan's pointer words that point into live objects, as CSR (row, col, interior)."""
    addr, value = scan["addr"], scan["value"]
    order = np.argsort(addr, kind="stable")
    starts = addr[order]
    ends = starts + scan["size"][order]
    by_value = np.argsort(value, kind="stable")    # sorted needles: a binary search with locality
    pos = np.empty(len(value), np.int64)
    pos[by_value] = np.searchsorted(starts, value[by_value], side="right") - 1
    hit = np.maximum(pos, 0)
    ok = (pos >= 0) & (value < ends[hit])
    hit = hit[ok]
    interior = (value[ok] != starts[hit]).astype(np.uint8)
    src = scan["src"][ok]
    row = np.searchsorted(src, np.arange(len(addr) + 1)).astype(np.uint32)   # src is in object order
    return row, order[hit].astype(np.uint32), interior


def classify(scan: dict) -> np.ndarray:
    """memcheck's kind (an index into KINDS) of every object in the scan."""
    row, col, interior = references(scan)
    return leak_classify(row, col, interior, scan["root"].astype(np.uint8))


@dataclass
class LeakDetector:
    machine: Machine
    trace: Trace
    min_age: int = 1000          # records an object must have lived before kmemleak reports it
    growth_scans: int = 4        # a suspect grew at this many scans at least, and at 3/4 of them
    max_listed: int = 1000       # leaked objects listed in the result (all are counted)
    max_points: int = 200
    _series: Series = field(init=False)   # live objects per allocation site at each scan
    _white_before: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    _reported: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    _reports: list[dict] = field(default_factory=list)
    _nr_reports: int = 0
    _last: tuple | None = None

    def __post_init__(self) -> None:
        self.machine.enable_leak_tracking()
        self._series = Series(states=("live_by_site",), max_points=self.max_points)
        # Counts per site are indexed by site id while every id is in the string table; a trace
        # naming sites past it (e.g. 0xF0000000) is counted over the ids it uses, not 2^32 slots.
        site = self.trace.records["site"]
        self._site_ids = None
        self._nr_sites = len(self.trace.sites)
        if len(site) and int(site.max()) >= self._nr_sites:
            self._site_ids = np.unique(site)
            self._nr_sites = len(self._site_ids)

    def observe(self, records_done: int) -> None:
        """A leak scan (it reads object memory, not the snapshot's counters)."""
        if self._series.records and self._series.records[-1] == records_done:
            return
        scan = self.machine.leak_scan()
        kind = classify(scan)
        born = scan["alloc_record"]
        sites = self.trace.records["site"][born.astype(np.int64)] if len(born) else np.zeros(0, np.uint32)
        # kmemleak: white now and at the previous scan, old enough, not reported yet
        white_at = np.flatnonzero(kind >= WHITE)
        white = born[white_at]
        due_at = white_at[np.isin(white, self._white_before) & ~np.isin(white, self._reported) &
                          (records_done - white.astype(np.int64) >= self.min_age)]
        due = born[due_at]
        for i in due_at[: max(self.max_listed - len(self._reports), 0)].tolist():
            self._reports.append({"id": int(scan["id"][i]), "site": self._site(int(sites[i])),
                                  "bytes": int(scan["size"][i]), "alloc_record": int(born[i]),
                                  "reported_at": records_done})
        self._nr_reports += len(due)
        self._reported = np.union1d(self._reported[np.isin(self._reported, born)], due)   # live ones only
        self._white_before = white
        index = sites if self._site_ids is None else np.searchsorted(self._site_ids, sites)
        self._series.append(records_done, live_by_site=np.bincount(index, minlength=self._nr_sites))
        self._last = (scan, kind, sites)

    def _site(self, site: int) -> str:
        return site_name(self.trace, site)

    def kinds(self) -> dict[int, str]:
        """The last scan's kind of every live object, by trace id."""
        scan, kind, _ = self._last
        return {int(i): KINDS[k] for i, k in zip(scan["id"].tolist(), kind.tolist(), strict=True)}

    def growth_suspects(self) -> list[dict]:
        if len(self._series) < 2:
            return []
        live = np.array(self._series["live_by_site"])
        records = self._series.records
        grew = (np.diff(live, axis=0) > 0).sum(axis=0)
        shrank = (np.diff(live, axis=0) < 0).sum(axis=0)
        ids = np.arange(self._nr_sites) if self._site_ids is None else self._site_ids
        out = [{"site": self._site(int(ids[s])), "scans_grown": int(grew[s]), "scans_shrunk": int(shrank[s]),
                "live_first": int(live[0, s]), "live_last": int(live[-1, s]),
                "objects_per_1k_records": round(1000 * float(live[-1, s] - live[0, s]) /
                                                max(records[-1] - records[0], 1), 3)}
               for s in np.flatnonzero((grew >= max(self.growth_scans, 0.75 * (len(live) - 1))) & (shrank == 0) &
                                       (live[-1] > live[0]))]
        return sorted(out, key=lambda r: -r["objects_per_1k_records"])

    def result(self) -> dict:
        if self._last is None:
            self.observe(0)
        scan, kind, sites = self._last
        size = scan["size"]
        summary = {k: {"objects": int((kind == i).sum()), "bytes": int(size[kind == i].sum())}
                   for i, k in enumerate(KINDS)}
        lost = np.flatnonzero(kind > 0)
        lost = lost[np.lexsort((scan["alloc_record"][lost], -kind[lost].astype(np.int64)))]
        by_site: dict[tuple[str, str], list[int]] = {}
        for i in lost.tolist():
            entry = by_site.setdefault((self._site(int(sites[i])), KINDS[kind[i]]), [0, 0])
            entry[0] += 1
            entry[1] += int(size[i])
        return {
            "version": VERSION, "unit": "bytes", "scans": len(self._series), "records": self._series.records,
            "summary": summary,
            "leaks": [{"id": int(scan["id"][i]), "kind": KINDS[kind[i]], "bytes": int(size[i]),
                       "site": self._site(int(sites[i])), "alloc_record": int(scan["alloc_record"][i])}
                      for i in lost[: self.max_listed].tolist()],
            "leaks_listed": int(min(len(lost), self.max_listed)), "leaks_total": int(len(lost)),
            "by_site": [{"site": s, "kind": k, "objects": n, "bytes": b}
                        for (s, k), (n, b) in sorted(by_site.items(), key=lambda kv: -kv[1][1])],
            "kmemleak": {"min_age_records": self.min_age, "reported": self._nr_reports, "reports": self._reports},
            "growth_suspects": self.growth_suspects(),
        }


def _summary(r: dict) -> str:
    lk = r["summary"]
    return ("leaks: " + ", ".join(f"{k.replace('_', ' ')} {lk[k]['objects']:,}" for k in
                                  ("definitely_lost", "indirectly_lost", "possibly_lost")) +
            f"; kmemleak reported {r['kmemleak']['reported']:,}")


KINDS_NOTE = ("memcheck's kinds, from the last scan of every live object's memory: still reachable (a chain of "
              "pointers to object starts from a root), possibly lost (reached only through a pointer into its "
              "middle), indirectly lost (reached only from lost objects), definitely lost (nothing points to it). "
              "kmemleak reports an object no chain reaches at two scans in a row, once it is older than the minimum "
              "age. A growth suspect is a site whose live objects grew at 3 scans in 4 or more and never shrank.")


def _section(r: dict) -> Section:
    kinds = [{"kind": k.replace("_", " "), **x} for k, x in r["summary"].items()]
    lost = [{**x, "kind": x["kind"].replace("_", " ")} for x in r["leaks"]]
    by_site = [{**x, "kind": x["kind"].replace("_", " ")} for x in r["by_site"]]
    return Section([Fact("lost objects (all kinds but still reachable)", r["leaks_total"], "objects"),
                    Fact("definitely lost", r["summary"]["definitely_lost"]["bytes"], "bytes"),
                    Fact("kmemleak reports", r["kmemleak"]["reported"], "count"),
                    Fact("growth suspects", len(r["growth_suspects"]), "count"),
                    Fact("scans", r["scans"], "count")],
                   [Table("By memcheck kind", kinds, (Column("kind", "kind", "text"),
                                                      Column("objects", "objects", "objects"),
                                                      Column("bytes", "bytes", "bytes"))),
                    Table("Lost objects by allocation site", by_site, (
                        Column("site", "allocation site", "text"), Column("kind", "kind", "text"),
                        Column("objects", "objects", "objects"), Column("bytes", "bytes", "bytes"))),
                    Table("Growth suspects", r["growth_suspects"], (
                        Column("site", "allocation site", "text"), Column("scans_grown", "scans it grew", "count"),
                        Column("scans_shrunk", "scans it shrank", "count"),
                        Column("live_first", "live at the first scan", "objects"),
                        Column("live_last", "live at the last scan", "objects"),
                        Column("objects_per_1k_records", "growth per 1,000 records", "number"))),
                    Table("kmemleak reports", r["kmemleak"]["reports"], (
                        Column("id", "object", "count"), Column("site", "allocation site", "text"),
                        Column("bytes", "bytes", "bytes"), Column("alloc_record", "allocated at record", "records"),
                        Column("reported_at", "reported at record", "records"))),
                    Table("Lost objects", lost, (
                        Column("id", "object", "count"), Column("kind", "kind", "text"),
                        Column("bytes", "bytes", "bytes"), Column("site", "allocation site", "text"),
                        Column("alloc_record", "allocated at record", "records")))],
                   [KINDS_NOTE])


def _charts(results: Mapping[str, dict]) -> list[BarChart]:
    kinds = [k.replace("_", " ") for k in KINDS]
    sites = list(dict.fromkeys(x["site"] for r in results.values() for x in r["by_site"]))[:12]
    return [BarChart("leak_kinds.svg", "Objects by memcheck kind (last scan)", "kind", "objects", kinds,
                     {name: [r["summary"][k]["objects"] for k in KINDS] for name, r in results.items()}),
            BarChart("leak_sites.svg", "Lost bytes by allocation site", "bytes", "", sites,
                     {name: [sum(x["bytes"] for x in r["by_site"] if x["site"] == s) for s in sites]
                      for name, r in results.items()}, horizontal=True, unit="bytes")]


def _metrics(r: dict) -> dict[str, float]:
    out = {f"{k}_objects": x["objects"] for k, x in r["summary"].items()}
    out |= {f"{k}_bytes": x["bytes"] for k, x in r["summary"].items()}
    out["kmemleak_reported"] = r["kmemleak"]["reported"]
    out["growth_suspects"] = len(r["growth_suspects"])
    out["leaks_total"] = r["leaks_total"]
    if r["growth_suspects"]:
        out["top_growth_per_1k_records"] = r["growth_suspects"][0]["objects_per_1k_records"]
    return out


def _labels(r: dict) -> dict[str, str]:
    out = {}
    if r["growth_suspects"]:
        out["top_growth_site"] = r["growth_suspects"][0]["site"]
    lost = [x for x in r["by_site"] if x["kind"] == "definitely_lost"]
    if lost:
        out["top_definitely_lost_site"] = lost[0]["site"]
    return out


FIGURES = (*(Figure(f"{k}_objects", "objects", f"{k.replace('_', ' ')} objects") for k in KINDS),
           *(Figure(f"{k}_bytes", "bytes", f"{k.replace('_', ' ')} bytes") for k in KINDS),
           Figure("kmemleak_reported", "count", "kmemleak reports"),
           Figure("growth_suspects", "count", "growth suspects"),
           Figure("leaks_total", "objects", "lost objects (every kind but still reachable)"),
           Figure("top_growth_per_1k_records", "number", "the fastest growth, objects per 1,000 records"),
           Figure("top_growth_site", "text", "the fastest-growing allocation site"),
           Figure("top_definitely_lost_site", "text", "the site losing the most bytes definitely"))


PROFILER = register(Profiler(
    "leaks", "Leaks", lambda ctx: LeakDetector(ctx.machine, ctx.trace, min_age=ctx.options["leak_min_age"]),
    options=(Field("leak_min_age", Int(0, 1 << 62), 1000,
                   "records an object lives before kmemleak may report it"),),
    doc="memcheck's categories, kmemleak's reports and growth suspects from scans of model memory",
    metrics=_metrics, labels=_labels, figures=FIGURES, summary=_summary, section=_section, charts=_charts))
