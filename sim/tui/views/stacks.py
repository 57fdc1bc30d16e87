"""7 stacks: per-CPU depth now and over time, high-water marks against the stack size,
overflows, the deepest chain and the largest frames (shown when the stack profiler is on); the
tasks of TASK records with their own stacks, and the suggestions (dominant frames, recursion)."""

from __future__ import annotations

from textual.app import ComposeResult

from sim.tui.frame import Frame
from sim.tui.views.base import Sort, View
from sim.tui.widgets import Heading, Plain, RowTable, spark


class StacksView(View):
    key, name_, title, section, profiler = "7", "stacks", "Stacks", "stacks", "stack"
    sorts = (Sort("high water", lambda c: (c["high_water"], -c["cpu"])),
             Sort("depth now", lambda c: (c["depth"], -c["cpu"])),
             Sort("overflows", lambda c: (c["overflows"], -c["cpu"])),
             Sort("cpu", lambda c: c["cpu"], descending=False))

    def compose(self) -> ComposeResult:
        yield Plain(id="stacks-head")
        yield RowTable(id="stacks-cpus")
        yield Heading("Deepest chain")
        yield Plain(id="stacks-chain")
        yield Heading("Largest frames")
        yield RowTable(id="stacks-frames")
        tasks, heading = RowTable(id="stacks-tasks"), Heading("Tasks (their own stacks)", id="stacks-tasks-head")
        tasks.display = heading.display = False
        yield heading
        yield tasks
        yield Heading("Suggestions")
        yield Plain(id="stacks-suggestions")

    def draw(self, frame: Frame) -> None:
        s = frame.stacks
        if s is None:
            return
        self.query_one("#stacks-head", Plain).update(f"stack size {s.stack_size:,} bytes   "
                                                       f"sorted by {self.sort_label}")
        self.rows = self.sort(self.keep(s.cpus, lambda c: f"cpu{c['cpu']}"))
        self.query_one("#stacks-cpus", RowTable).show_rows(
            ("cpu", "depth", "high water", "of stack", "overflows", "calls", "depth over time"),
            [(f"cpu{c['cpu']}", f"{c['depth']:,}", f"{c['high_water']:,}", f"{c['high_water'] / s.stack_size:.0%}",
              f"{c['overflows']:,}", f"{c['calls']:,}",
              spark(s.depth_history[c["cpu"]] if c["cpu"] < len(s.depth_history) else (), 30, s.stack_size))
             for c in self.rows])
        d = s.deepest
        self.query_one("#stacks-chain", Plain).update(
            f"cpu{d['cpu']}, {d['bytes']:,} bytes: " + " > ".join(d["functions"]) if d and d["functions"] else "-")
        self.query_one("#stacks-frames", RowTable).show_rows(
            ("function", "bytes"), [(f["function"], f"{f['bytes']:,}")
                                    for f in self.keep(s.largest_frames, lambda f: f["function"])])
        for part in ("#stacks-tasks-head", "#stacks-tasks"):
            self.query_one(part).display = bool(s.tasks)
        if s.tasks:
            tasks = sorted(self.keep(s.tasks, lambda t: f"task{t['task']}"),
                           key=lambda t: (-t["high_water"], t["task"]))
            self.query_one("#stacks-tasks", RowTable).show_rows(
                ("task", "high water", "of stack", "overflows", "calls", "on cpu then", "running on"),
                [(f"task{t['task']}", f"{t['high_water']:,}", f"{t['high_water'] / s.stack_size:.0%}",
                  f"{t['overflows']:,}", f"{t['calls']:,}", f"cpu{t['cpu']}",
                  f"cpu{t['running_on']}" if t["running_on"] >= 0 else "-") for t in tasks])
        self.query_one("#stacks-suggestions", Plain).update("\n".join(suggestion_lines(s.suggestions)) or "-")


def suggestion_lines(sug) -> list[str]:
    """The suggestions as lines: each dominant frame and what shrinking it saves, each recursive
    cycle and what a loop would save."""
    if not sug:
        return []
    lines = [f"shrink {f['function']}'s {f['frame']:,}-byte frame ({f['share']:.0%} of the deepest chain) to "
             f"{f['median_frame']:,}: saves {f['bytes_saved']:,} bytes" for f in sug["frames"]]
    lines += [f"{' <-> '.join(r['functions'])}: {r['kind']} recursion {r['depth']} deep, {r['bytes']:,} bytes on "
              f"{r['stack']}; as a loop it saves {r['bytes_saved']:,}" for r in sug["recursion"]]
    return lines
