"""Profilers: each reads a machine's counters and snapshots between replay chunks, never drives it."""
