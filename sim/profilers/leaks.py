"""Leak detector: kmemleak's scan and memcheck's categories over the model's memory.

Every scan reads the live kmalloc/kmem_cache objects' bytes (Machine.leak_scan): a word that
points into a live object is a reference, to its start or interior. From the root objects:
- memcheck's categories: still reachable (a chain of start pointers from a root), possibly
  lost (reached only through an interior pointer), definitely lost (nothing unreached points
  to it), indirectly lost (reached only from lost objects);
- kmemleak's report: objects no pointer chain reaches (white) in two scans in a row and
  older than min_age records, each reported once;
- growth suspects: allocation sites whose live objects grew at three scans in four or more
  and never shrank (leaks that stay reachable, such as a cache that is never trimmed);
- the seed's four leak classes: Direct (definitely lost), Indirect (indirectly lost), Resource
  (page allocations of sites that never freed one, which kmemleak does not scan, and kmem_caches
  created and never destroyed) and Fragmentation (slabs used below a threshold, kept by the few
  objects still in them: their bytes attributed to those objects' allocation sites);
- false positives: kmemleak reports later contradicted (the object is freed, becomes referenced,
  or is marked kmemleak_not_leak), with the rate per allocation site.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from kernel_model import Machine
from kernel_model._core import LEAK_INDIRECT as WHITE  # kinds >= this: unreferenced (kmemleak's white objects)
from kernel_model._core import LEAK_KIND_NAMES as KINDS
from kernel_model._core import MM_LEAK_NOT_LEAK, NO_SITE, leak_classify
from kernel_model.mm import PAGE_SIZE
from kernel_model.slabinfo import KmemCache
from kernel_model.trace import Trace, site_name
from sim.fields import Field, Float, Int
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
    """memcheck's kind (an index into KINDS) of every object in the scan: roots and objects marked
    not a leak (kmemleak's grey objects, scanned) start the chains."""
    row, col, interior = references(scan)
    return leak_classify(row, col, interior, (scan["root"] != 0).astype(np.uint8))


CLASSES = ("direct", "indirect", "resource", "fragmentation")   # the seed's leak classes
CONTRADICTIONS = ("freed", "referenced", "not_leak")           # how a kmemleak report turns out false


def fragmentation(scan: dict, sites: np.ndarray, use_below: float) -> tuple[dict, dict[int, list[int]]]:
    """Slabs (not a CPU's active one) whose objects in use are fewer than use_below of their
    objects: each slab's bytes shared among the scan's objects in it (the remainder of the
    division one byte each to the lowest addresses). Totals, and per allocation site [slabs,
    objects, bytes kept]."""
    pin = np.flatnonzero((scan["slab_objects"] > 0) & (scan["slab_active"] == 0) &
                         (scan["slab_inuse"] < use_below * scan["slab_objects"].astype(np.float64)))
    pin = pin[np.lexsort((scan["addr"][pin], scan["slab"][pin]))]
    slab = scan["slab"][pin]
    first = np.flatnonzero(np.r_[True, slab[1:] != slab[:-1]]) if len(pin) else np.zeros(0, np.int64)
    count = np.diff(np.r_[first, len(pin)])
    nbytes = np.int64(PAGE_SIZE) << scan["slab_order"][pin[first]].astype(np.int64)
    rank = np.arange(len(pin)) - np.repeat(first, count)
    share = np.repeat(nbytes // count, count) + (rank < np.repeat(nbytes % count, count))
    by_site: dict[int, list[int]] = {}
    for i, k in enumerate(pin.tolist()):
        row = by_site.setdefault(int(sites[k]), [set(), 0, 0])
        row[0].add(int(slab[i]))
        row[1] += 1
        row[2] += int(share[i])
    total = {"use_below": use_below, "slabs": len(first), "pages": int(nbytes.sum()) // PAGE_SIZE,
             "objects": len(pin), "bytes": int(nbytes.sum()),
             "free_bytes": int(nbytes.sum() - scan["size"][pin].astype(np.int64).sum())}
    return total, {s: [len(r[0]), r[1], r[2]] for s, r in by_site.items()}


@dataclass
class LeakDetector:
    machine: Machine
    trace: Trace
    min_age: int = 1000          # records an object must have lived before kmemleak reports it
    growth_scans: int = 4        # a suspect grew at this many scans at least, and at 3/4 of them
    frag_use: float = 0.25       # slabs used below this share are fragmentation leaks
    max_listed: int = 1000       # leaked objects listed in the result (all are counted)
    max_points: int = 200
    _series: Series = field(init=False)   # live objects per allocation site at each scan
    _white_before: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    _reported: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    _reports: list[dict] = field(default_factory=list)
    _nr_reports: int = 0
    _open: dict[int, tuple[int, int, int]] = field(default_factory=dict)   # alloc record -> (site, id, scan)
    _site_reports: dict[int, list[int]] = field(default_factory=dict)      # site -> [reports, *CONTRADICTIONS]
    _contradicted: list[dict] = field(default_factory=list)
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
        self._contradict(scan, kind, records_done)
        for i in due_at[: max(self.max_listed - len(self._reports), 0)].tolist():
            self._reports.append({"id": int(scan["id"][i]), "site": self._site(int(sites[i])),
                                  "bytes": int(scan["size"][i]), "alloc_record": int(born[i]),
                                  "reported_at": records_done})
        for i in due_at.tolist():
            self._open[int(born[i])] = (int(sites[i]), int(scan["id"][i]), records_done)
            self._site_reports.setdefault(int(sites[i]), [0] * (1 + len(CONTRADICTIONS)))[0] += 1
        self._nr_reports += len(due)
        self._reported = np.union1d(self._reported[np.isin(self._reported, born)], due)   # live ones only
        self._white_before = white
        index = sites if self._site_ids is None else np.searchsorted(self._site_ids, sites)
        self._series.append(records_done, live_by_site=np.bincount(index, minlength=self._nr_sites))
        self._last = (scan, kind, sites)

    def _contradict(self, scan: dict, kind: np.ndarray, records_done: int) -> None:
        """Reports this scan contradicts: the object was freed, is referenced again, or is marked
        not a leak. Each report is settled once."""
        if not self._open:
            return
        born = scan["alloc_record"]
        rec = np.fromiter(self._open, np.uint64, len(self._open))
        reason = np.zeros(len(rec), np.int64)          # CONTRADICTIONS index, -1: still unreferenced
        if len(born):
            order = np.argsort(born, kind="stable")
            at = order[np.minimum(np.searchsorted(born[order], rec), len(born) - 1)]
            reason = np.where(born[at] != rec, 0, np.where((scan["root"][at] & MM_LEAK_NOT_LEAK) != 0, 2,
                                                           np.where(kind[at] < WHITE, 1, -1)))
        for r, why in zip(rec.tolist(), reason.tolist(), strict=True):
            if why < 0:
                continue
            site, id_, reported_at = self._open.pop(r)
            self._site_reports[site][1 + why] += 1
            if len(self._contradicted) < self.max_listed:
                self._contradicted.append({"id": id_, "site": self._site(site), "alloc_record": r,
                                           "reported_at": reported_at, "contradicted_at": records_done,
                                           "reason": CONTRADICTIONS[why]})

    def _site(self, site: int) -> str:
        return site_name(self.trace, site)

    def false_positives(self, scan: dict) -> dict:
        rows = []
        for site, (reports, *why) in self._site_reports.items():
            rows.append({"site": self._site(site), "reports": reports, "false_positives": sum(why),
                         **dict(zip(CONTRADICTIONS, why, strict=True)),
                         "rate": sum(why) / reports if reports else 0.0})
        rows.sort(key=lambda r: (-r["false_positives"], -r["reports"], r["site"]))
        false = sum(r["false_positives"] for r in rows)
        return {"reports": self._nr_reports, "false_positives": false,
                "rate": false / self._nr_reports if self._nr_reports else 0.0,
                "by_reason": {k: sum(r[k] for r in rows) for k in CONTRADICTIONS},
                "marked_not_leak": int(((scan["root"] & MM_LEAK_NOT_LEAK) != 0).sum()),
                "by_site": rows, "contradicted": self._contradicted}

    def resources(self) -> dict:
        """Page allocations held by sites that never freed one, and the trace's kmem_caches never
        destroyed (with the pages their slabs hold and their objects in use)."""
        res = self.machine.leak_resources()
        frees = res["site_frees"]
        page_sites: dict[int, list[int]] = {}
        for site, order in zip(res["page_site"].tolist(), res["page_order"].tolist(), strict=True):
            if site != NO_SITE and (site >= len(frees) or not frees[site]):
                row = page_sites.setdefault(site, [0, 0])
                row[0] += 1
                row[1] += 1 << order
        names = {c.index: c.name for c in self.machine.caches()}
        caches = []
        for idx in sorted(set(res["cache"].tolist())):
            st = self.machine.slab_stats(KmemCache(idx, names[idx]))
            pages = st["slabs"] << st["order"]
            caches.append({"cache": names[idx], "objects_in_use": self.machine.cache_objects_in_use(
                KmemCache(idx, names[idx])), "slabs": st["slabs"], "pages": pages, "bytes": pages * PAGE_SIZE})
        pages = [{"site": self._site(s), "allocations": n, "pages": p, "bytes": p * PAGE_SIZE}
                 for s, (n, p) in page_sites.items()]
        pages.sort(key=lambda r: (-r["bytes"], r["site"]))
        return {"page_sites": pages, "caches": caches,
                "objects": sum(r["allocations"] for r in pages) + len(caches),
                "bytes": sum(r["bytes"] for r in pages) + sum(c["bytes"] for c in caches)}

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
        frag, frag_sites = fragmentation(scan, sites, self.frag_use)
        resource = self.resources()
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
            "classes": {"direct": summary["definitely_lost"], "indirect": summary["indirectly_lost"],
                        "resource": {"objects": resource["objects"], "bytes": resource["bytes"]},
                        "fragmentation": {"objects": frag["objects"], "bytes": frag["bytes"]}},
            "resource": resource,
            "fragmentation": {**frag, "by_site": sorted(
                ({"site": self._site(s), "slabs": n, "objects": k, "bytes_kept": b}
                 for s, (n, k, b) in frag_sites.items()), key=lambda r: (-r["bytes_kept"], r["site"]))},
            "false_positives": self.false_positives(scan),
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


CLASSES_NOTE = ("The seed's leak classes: Direct = definitely lost; Indirect = indirectly lost; Resource = page "
                "allocations (which kmemleak does not scan) still held by allocation sites that never freed one, and "
                "kmem_caches created and never destroyed (one destroyed with objects in use stays, as in Linux), with "
                "the pages their slabs hold; Fragmentation = slabs (not a CPU's active slab) with fewer objects in use "
                "than the threshold share, whose pages only those objects keep: each slab's bytes are shared among "
                "them and counted at their allocation sites. A kmemleak report is a false positive when a later scan "
                "contradicts it: the object was freed, is referenced again, or was marked kmemleak_not_leak (NOT_LEAK: "
                "never reported, and scanned like a root); the rate is false positives over reports.")


def _section(r: dict) -> Section:
    kinds = [{"kind": k.replace("_", " "), **x} for k, x in r["summary"].items()]
    lost = [{**x, "kind": x["kind"].replace("_", " ")} for x in r["leaks"]]
    by_site = [{**x, "kind": x["kind"].replace("_", " ")} for x in r["by_site"]]
    fp = r["false_positives"]
    return Section([Fact("lost objects (all kinds but still reachable)", r["leaks_total"], "objects"),
                    Fact("definitely lost", r["summary"]["definitely_lost"]["bytes"], "bytes"),
                    Fact("resource leaks", r["classes"]["resource"]["bytes"], "bytes"),
                    Fact("fragmentation leaks (slab bytes kept)", r["classes"]["fragmentation"]["bytes"], "bytes"),
                    Fact("kmemleak reports", r["kmemleak"]["reported"], "count"),
                    Fact("kmemleak false positives", fp["false_positives"], "count"),
                    Fact("false-positive rate", fp["rate"], "ratio"),
                    Fact("growth suspects", len(r["growth_suspects"]), "count"),
                    Fact("scans", r["scans"], "count")],
                   [Table("Leak classes", [{"class": c, **r["classes"][c]} for c in CLASSES], (
                       Column("class", "class", "text"), Column("objects", "objects", "objects"),
                       Column("bytes", "bytes", "bytes"))),
                    Table("By memcheck kind", kinds, (Column("kind", "kind", "text"),
                                                      Column("objects", "objects", "objects"),
                                                      Column("bytes", "bytes", "bytes"))),
                    Table("Resource leaks: page allocation sites that never freed one", r["resource"]["page_sites"], (
                        Column("site", "allocation site", "text"), Column("allocations", "allocations held", "count"),
                        Column("pages", "pages", "pages"), Column("bytes", "bytes", "bytes"))),
                    Table("Resource leaks: kmem_caches never destroyed", r["resource"]["caches"], (
                        Column("cache", "cache", "text"), Column("objects_in_use", "objects in use", "objects"),
                        Column("slabs", "slabs", "count"), Column("bytes", "slab bytes", "bytes"))),
                    Table(f"Fragmentation leaks: slabs below {r['fragmentation']['use_below']:.0%} use, by the "
                          "allocation site of the objects keeping them", r["fragmentation"]["by_site"], (
                              Column("site", "allocation site", "text"), Column("slabs", "slabs kept", "count"),
                              Column("objects", "objects keeping them", "objects"),
                              Column("bytes_kept", "slab bytes kept", "bytes"))),
                    Table("kmemleak false positives by allocation site", fp["by_site"], (
                        Column("site", "allocation site", "text"), Column("reports", "reports", "count"),
                        Column("false_positives", "false positives", "count"), Column("freed", "freed later", "count"),
                        Column("referenced", "referenced later", "count"),
                        Column("not_leak", "marked not a leak", "count"),
                        Column("rate", "false-positive rate", "ratio"))),
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
                        Column("alloc_record", "allocated at record", "records"))),
                    Table("Contradicted kmemleak reports", fp["contradicted"], (
                        Column("id", "object", "count"), Column("site", "allocation site", "text"),
                        Column("reported_at", "reported at record", "records"),
                        Column("contradicted_at", "contradicted at record", "records"),
                        Column("reason", "why", "text")))],
                   [KINDS_NOTE, CLASSES_NOTE])


def _charts(results: Mapping[str, dict]) -> list[BarChart]:
    kinds = [k.replace("_", " ") for k in KINDS]
    sites = list(dict.fromkeys(x["site"] for r in results.values() for x in r["by_site"]))[:12]
    return [BarChart("leak_kinds.svg", "Objects by memcheck kind (last scan)", "kind", "objects", kinds,
                     {name: [r["summary"][k]["objects"] for k in KINDS] for name, r in results.items()}),
            BarChart("leak_sites.svg", "Lost bytes by allocation site", "bytes", "", sites,
                     {name: [sum(x["bytes"] for x in r["by_site"] if x["site"] == s) for s in sites]
                      for name, r in results.items()}, horizontal=True, unit="bytes"),
            BarChart("leak_classes.svg", "Leaked bytes by class (Direct, Indirect, Resource, Fragmentation)", "class",
                     "bytes", list(CLASSES), {name: [r["classes"][c]["bytes"] for c in CLASSES]
                                              for name, r in results.items()}, unit="bytes")]


def _metrics(r: dict) -> dict[str, float]:
    out = {f"{k}_objects": x["objects"] for k, x in r["summary"].items()}
    out |= {f"{k}_bytes": x["bytes"] for k, x in r["summary"].items()}
    out["kmemleak_reported"] = r["kmemleak"]["reported"]
    out["growth_suspects"] = len(r["growth_suspects"])
    out["leaks_total"] = r["leaks_total"]
    if r["growth_suspects"]:
        out["top_growth_per_1k_records"] = r["growth_suspects"][0]["objects_per_1k_records"]
    out |= {f"{c}_{k}": r["classes"][c][k] for c in CLASSES for k in ("objects", "bytes")}
    out["resource_caches"] = len(r["resource"]["caches"])
    out["fragmentation_slabs"] = r["fragmentation"]["slabs"]
    fp = r["false_positives"]
    out["false_positives"] = fp["false_positives"]
    out["false_positive_rate"] = round(fp["rate"], 6)
    if fp["by_site"] and fp["by_site"][0]["false_positives"]:
        out["top_false_positive_rate"] = round(fp["by_site"][0]["rate"], 6)
    return out


def _labels(r: dict) -> dict[str, str]:
    out = {}
    if r["growth_suspects"]:
        out["top_growth_site"] = r["growth_suspects"][0]["site"]
    lost = [x for x in r["by_site"] if x["kind"] == "definitely_lost"]
    if lost:
        out["top_definitely_lost_site"] = lost[0]["site"]
    if r["resource"]["page_sites"]:
        out["top_resource_site"] = r["resource"]["page_sites"][0]["site"]
    if r["resource"]["caches"]:
        out["first_undestroyed_cache"] = r["resource"]["caches"][0]["cache"]
    if r["fragmentation"]["by_site"]:
        out["top_fragmentation_site"] = r["fragmentation"]["by_site"][0]["site"]
    fp = r["false_positives"]["by_site"]
    if fp and fp[0]["false_positives"]:
        out["top_false_positive_site"] = fp[0]["site"]
    return out


FIGURES = (*(Figure(f"{k}_objects", "objects", f"{k.replace('_', ' ')} objects") for k in KINDS),
           *(Figure(f"{k}_bytes", "bytes", f"{k.replace('_', ' ')} bytes") for k in KINDS),
           Figure("kmemleak_reported", "count", "kmemleak reports"),
           Figure("growth_suspects", "count", "growth suspects"),
           Figure("leaks_total", "objects", "lost objects (every kind but still reachable)"),
           Figure("top_growth_per_1k_records", "number", "the fastest growth, objects per 1,000 records"),
           Figure("top_growth_site", "text", "the fastest-growing allocation site"),
           Figure("top_definitely_lost_site", "text", "the site losing the most bytes definitely"),
           *(Figure(f"{c}_{k}", unit, f"{c} leaks ({k})") for c in CLASSES
             for k, unit in (("objects", "objects"), ("bytes", "bytes"))),
           Figure("resource_caches", "count", "kmem_caches never destroyed"),
           Figure("fragmentation_slabs", "count", "slabs kept by few objects"),
           Figure("false_positives", "count", "kmemleak reports later contradicted"),
           Figure("false_positive_rate", "ratio", "kmemleak's false-positive rate"),
           Figure("top_false_positive_rate", "ratio", "the false-positive rate of the site with the most"),
           Figure("top_resource_site", "text", "the page allocation site holding the most bytes, never freeing"),
           Figure("first_undestroyed_cache", "text", "the first kmem_cache never destroyed"),
           Figure("top_fragmentation_site", "text", "the allocation site keeping the most slab bytes"),
           Figure("top_false_positive_site", "text", "the site with the most kmemleak false positives"))


PROFILER = register(Profiler(
    "leaks", "Leaks", lambda ctx: LeakDetector(ctx.machine, ctx.trace, min_age=ctx.options["leak_min_age"],
                                               frag_use=ctx.options["leak_frag_use"]),
    options=(Field("leak_min_age", Int(0, 1 << 62), 1000,
                   "records an object lives before kmemleak may report it"),
             Field("leak_frag_use", Float(0.0, 1.0), 0.25,
                   "slabs with fewer objects in use than this share of theirs are fragmentation leaks")),
    doc="memcheck's categories, the leak classes (direct, indirect, resource, fragmentation), kmemleak's reports "
        "and their false positives, and growth suspects from scans of model memory",
    metrics=_metrics, labels=_labels, figures=FIGURES, summary=_summary, section=_section, charts=_charts))
