"""memsim interactive: a Textual terminal UI over a running scenario (sim.tui.live), a saved
report (sim.tui.report) or a QEMU guest (sim.tui.guest). Sources make immutable frames
(sim.tui.frame); the app (sim.tui.app) polls them and draws the view on screen (sim.tui.views)."""
