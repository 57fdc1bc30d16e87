"""4 NUMA: per-node utilisation and numastat, locality and its history, per-CPU local and
remote accesses, and the remote hot spots; numatop's re-sort by remote or local accesses."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult

from kernel_model.machine import NUMASTAT
from sim.tui.frame import Frame
from sim.tui.views.base import Sort, View
from sim.tui.widgets import Heading, Plain, RowTable, count, ratio, spark


def _share(r) -> float:
    total = r["remote"] + r["local"]
    return r["remote"] / total if total else 0.0


class NumaView(View):
    key, name_, title, section = "4", "numa", "NUMA", "numa"
    sorts = (Sort("remote accesses", lambda r: (r["remote"], r["local"])),
             Sort("local accesses", lambda r: (r["local"], r["remote"])),
             Sort("remote share", lambda r: (_share(r), r["remote"])))

    def compose(self) -> ComposeResult:
        yield Heading("Nodes (numastat)")
        yield RowTable(id="numa-nodes")
        yield Plain(id="numa-locality")
        yield Heading("CPUs")
        yield RowTable(id="numa-cpus")
        yield Heading("Remote hot spots: call sites")
        yield RowTable(id="numa-sites")

    def draw(self, frame: Frame) -> None:
        n = frame.numa
        if n is None:
            return
        nodes = [(str(x["node"]), ratio(x.get("utilisation")), count(x.get("free_pages")),
                  *(count(x.get(k)) for k in NUMASTAT), count(x.get("accesses"))) for x in n.nodes]
        self.query_one("#numa-nodes", RowTable).show_rows(("node", "used", "free pages", *NUMASTAT, "accesses"),
                                                          nodes)
        text = Text(f"locality {ratio(n.locality)}  ")
        text.append(spark(n.locality_history, max(self.size.width - 24, 8), 1.0), "cyan")
        text.append(f"   sorted by {self.sort_label}", "dim")
        if n.note:
            text.append(f"\n{n.note}", "dim")
        self.query_one("#numa-locality", Plain).update(text)
        cpus = self.sort(n.cpus)
        self.query_one("#numa-cpus", RowTable).show_rows(
            ("cpu", "node", "local", "remote", "remote share", "cost ns"),
            [(str(c["cpu"]), str(c["node"]), f"{c['local']:,}", f"{c['remote']:,}", ratio(_share(c)),
              f"{c['cost_ns']:,}") for c in cpus])
        self.rows = self.sort(self.keep(n.hot_sites, lambda r: r["site"]))
        self.query_one("#numa-sites", RowTable).show_rows(
            ("call site", "remote", "local", "remote share"),
            [(r["site"], f"{r['remote']:,}", f"{r['local']:,}", ratio(_share(r))) for r in self.rows])
