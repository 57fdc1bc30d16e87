"""4 NUMA: per-node utilisation and numastat, locality and its history, per-CPU local and
remote accesses, and the remote hot spots; numatop's re-sort by remote or local accesses. With
them, where the run has them: each node's temperature and its history against the throttle
(the thermal model), the migration recommendations with their copy cost and break-even, and
load-balancing advice."""

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
        for key, title, widget in (("temp", "Temperature (millidegrees above ambient)", RowTable),
                                   ("mig", "Migration recommendations", RowTable),
                                   ("bal", "Load balancing", Plain)):
            yield _hidden(Heading(title, id=f"numa-{key}-head"))
            yield _hidden(widget(id=f"numa-{key}"))

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
        top = max([n.throttle or 0, *(t["peak"] for t in n.temperatures)]) or 1
        self._show("temp", n.temperatures, lambda w: w.show_rows(
            ("node", "now", "peak", "throttle", "throttled", "history"),
            [(str(t["node"]), count(t["temperature"]), count(t["peak"]), count(n.throttle),
              f"{t['throttled_ns'] / 1e6:,.3f} ms", spark(t["history"], 30, top)) for t in n.temperatures]))
        self._show("mig", n.migrations, lambda w: w.show_rows(
            ("object", "allocated at", "remote", "node", "to", "pages", "copy ns", "break-even"),
            [(str(r["object"]), r["alloc_site"], count(r["remote_accesses"]), count(r["node"]),
              count(r["target_node"]), count(r["pages"]), count(r["copy_cost_ns"]), count(r["break_even_accesses"]))
             for r in n.migrations]))
        self._show("bal", n.balance, lambda w: w.update("\n".join(a["advice"] for a in n.balance)))

    def _show(self, key: str, rows, fill) -> None:
        """Fill a part the run may not have, and show it (with its heading) only when it has rows."""
        for part in (f"#numa-{key}-head", f"#numa-{key}"):
            self.query_one(part).display = bool(rows)
        if rows:
            fill(self.query_one(f"#numa-{key}"))


def _hidden(widget):
    widget.display = False
    return widget
