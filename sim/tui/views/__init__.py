"""The app's views, in key order."""

from sim.tui.views.base import Sort, View
from sim.tui.views.buddy import BuddyView
from sim.tui.views.caches import CachesView
from sim.tui.views.leaks import LeaksView
from sim.tui.views.numa import NumaView
from sim.tui.views.overview import Overview
from sim.tui.views.slab import SlabView
from sim.tui.views.stacks import StacksView

VIEWS: tuple[type[View], ...] = (Overview, BuddyView, SlabView, NumaView, CachesView, LeaksView, StacksView)

__all__ = ["VIEWS", "Sort", "View"]
