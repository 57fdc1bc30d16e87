"""The run history: an SQLite file (WAL mode) with one row per run key, its metrics and timings,
and the sweeps that ran them.

One writer (the sweep's client) writes each run in one transaction: a row only reads `success`
together with all its metrics and timings, so a sweep killed at any moment leaves finished runs
complete and the others `running` (or `cancelled` when it was interrupted cleanly), which the
next sweep runs again.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000      # another process writing the same file: wait this long, then fail
STATUSES = ("running", "success", "failed", "cancelled")

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,
    scenario TEXT NOT NULL,
    seed NOT NULL,                   -- an integer (as text above 2**63-1)
    params TEXT NOT NULL,            -- JSON {"section.key": value}: the overrides that made this run
    status TEXT NOT NULL CHECK (status IN ('running', 'success', 'failed', 'cancelled')),
    error TEXT,                      -- one line
    traceback TEXT,
    code TEXT NOT NULL,              -- memsim version (+ commit) that ran it
    host TEXT,
    pid INTEGER,
    started REAL,
    finished REAL,
    out TEXT,                        -- the report directory
    resolved TEXT NOT NULL           -- JSON: the scenario as it ran
);
CREATE TABLE IF NOT EXISTS metrics (
    run TEXT NOT NULL REFERENCES runs(key) ON DELETE CASCADE,
    variant TEXT NOT NULL,           -- "*" for experiments
    name TEXT NOT NULL,
    value,                           -- no affinity: integers stay integers, floats floats
    PRIMARY KEY (run, variant, name)
);
CREATE TABLE IF NOT EXISTS timings (
    run TEXT NOT NULL REFERENCES runs(key) ON DELETE CASCADE,
    name TEXT NOT NULL,
    seconds REAL NOT NULL,
    PRIMARY KEY (run, name)
);
CREATE TABLE IF NOT EXISTS sweeps (
    id TEXT PRIMARY KEY,
    scenario TEXT NOT NULL,
    path TEXT NOT NULL,
    grid TEXT NOT NULL,              -- JSON {"section.key": [values]}
    seeds TEXT NOT NULL,             -- JSON [seeds]
    metrics TEXT NOT NULL,           -- JSON [metric names the report charts]
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sweep_points (
    sweep TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
    run TEXT NOT NULL,
    position INTEGER NOT NULL,
    params TEXT NOT NULL,            -- JSON {"section.key": value}: this point's grid values
    seed NOT NULL,
    PRIMARY KEY (sweep, run)
);
CREATE INDEX IF NOT EXISTS runs_scenario ON runs (scenario);
"""


class HistoryError(Exception):
    """The history file cannot be opened or read; the message names it."""


@dataclass(frozen=True)
class NewRun:
    """A run about to start: what its row says before it finishes."""
    key: str
    scenario: str
    seed: int
    params: Mapping[str, Any]
    code: str
    out: str
    resolved: Mapping[str, Any]


def _seed(seed: int) -> int | str:
    return seed if seed < 1 << 63 else str(seed)


def _dumps(x: Any) -> str:
    return json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class History:
    """An open history file. `create` makes a missing file (writers); readers want it to exist."""

    def __init__(self, path: str | Path, create: bool = False) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise HistoryError(f"{self.path}: no run history here (memsim sweep writes one)")
        self.db: sqlite3.Connection | None = None
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db.execute("PRAGMA foreign_keys = ON")
            found = self.db.execute("PRAGMA user_version").fetchone()[0]
            empty = self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
            if not (found == SCHEMA_VERSION or (create and found == 0 and empty)):
                raise HistoryError(f"{self.path}: not a memsim run history (schema {found}, "
                                   f"this memsim reads {SCHEMA_VERSION})")
            if create:
                self.db.execute("PRAGMA journal_mode = WAL")    # readers never block the writer
                self.db.execute("PRAGMA synchronous = NORMAL")  # WAL: a killed process loses no commit
            if found == 0:
                self.db.executescript(f"BEGIN IMMEDIATE;{SCHEMA}PRAGMA user_version = {SCHEMA_VERSION};COMMIT;")
        except (sqlite3.DatabaseError, OSError, HistoryError) as e:
            self.close()
            if isinstance(e, HistoryError):
                raise
            raise HistoryError(f"{self.path}: {e.strerror if isinstance(e, OSError) else e}") from None

    def close(self) -> None:
        if self.db is not None:
            self.db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> _Transaction:
        return _Transaction(self.db)

    # writing (the sweep's client only)

    def record_sweep(self, sweep_id: str, scenario: str, path: str, grid: Mapping[str, list], seeds: Sequence[int],
                     metrics: Sequence[str], points: Iterable[tuple[str, Mapping[str, Any], int]]) -> None:
        """The sweep's definition and its points (key, grid values, seed), replacing earlier ones."""
        now = time.time()
        with self.transaction():
            self.db.execute("INSERT INTO sweeps VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                            "scenario = excluded.scenario, path = excluded.path, grid = excluded.grid, "
                            "seeds = excluded.seeds, metrics = excluded.metrics, updated = excluded.updated",
                            (sweep_id, scenario, path, _dumps(grid), _dumps([str(s) for s in seeds]),
                             _dumps(list(metrics)), now, now))
            self.db.execute("DELETE FROM sweep_points WHERE sweep = ?", (sweep_id,))
            self.db.executemany("INSERT INTO sweep_points VALUES (?, ?, ?, ?, ?)",
                                [(sweep_id, key, i, _dumps(params), _seed(seed))
                                 for i, (key, params, seed) in enumerate(points)])

    def start(self, runs: Sequence[NewRun]) -> None:
        """Rows for runs about to start (status running; an earlier attempt's figures dropped)."""
        with self.transaction():
            keys = [(r.key,) for r in runs]
            self.db.executemany("DELETE FROM metrics WHERE run = ?", keys)
            self.db.executemany("DELETE FROM timings WHERE run = ?", keys)
            self.db.executemany(
                "INSERT INTO runs (key, scenario, seed, params, status, code, out, resolved, started) "
                "VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                "status = 'running', error = NULL, traceback = NULL, host = NULL, pid = NULL, finished = NULL, "
                "code = excluded.code, out = excluded.out, started = excluded.started",
                [(r.key, r.scenario, _seed(r.seed), _dumps(r.params), r.code, r.out, _dumps(r.resolved), time.time())
                 for r in runs])

    def finish(self, key: str, status: str, metrics: Mapping[str, Mapping[str, float]],
               timings: Mapping[str, float], error: str | None = None, traceback: str | None = None,
               host: str | None = None, pid: int | None = None, started: float | None = None) -> None:
        """A run's outcome with all its figures, in one transaction."""
        assert status in ("success", "failed"), status
        with self.transaction():
            self.db.execute("DELETE FROM metrics WHERE run = ?", (key,))
            self.db.execute("DELETE FROM timings WHERE run = ?", (key,))
            self.db.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?)",
                                [(key, variant, name, value) for variant, m in metrics.items()
                                 for name, value in m.items()])
            self.db.executemany("INSERT INTO timings VALUES (?, ?, ?)",
                                [(key, name, seconds) for name, seconds in timings.items()])
            cur = self.db.execute("UPDATE runs SET status = ?, error = ?, traceback = ?, host = ?, pid = ?, "
                                  "started = coalesce(?, started), finished = ? WHERE key = ?",
                                  (status, error, traceback, host, pid, started, time.time(), key))
            if cur.rowcount != 1:
                raise HistoryError(f"{self.path}: run {key} has no row to finish")

    def cancel(self, keys: Iterable[str]) -> None:
        """Runs that were started and will not finish (the sweep was interrupted)."""
        with self.transaction():
            self.db.executemany("UPDATE runs SET status = 'cancelled', finished = ? WHERE key = ? "
                                "AND status = 'running'", [(time.time(), k) for k in keys])

    # reading

    def succeeded(self, keys: Iterable[str]) -> set[str]:
        return {r[0] for r in self._for_keys("SELECT key FROM runs", "key", list(keys), "AND status = 'success'")}

    def runs(self, scenario: str | None = None, sweep: str | None = None, keys: Sequence[str] | None = None,
             status: str | None = None) -> list[dict[str, Any]]:
        """Runs as plain dicts (oldest first), with their metrics {variant: {name: value}} and
        timings {name: seconds}; with `sweep`, its points in order and their grid values."""
        where, args = [], []
        if sweep is not None:
            query = ("SELECT r.*, p.params AS point_params, p.position FROM sweep_points p "
                     "JOIN runs r ON r.key = p.run WHERE p.sweep = ?")
            args.append(sweep)
            order = "p.position"
        else:
            query, order = "SELECT r.* FROM runs r WHERE 1", "r.started, r.key"
        if scenario is not None:
            where.append("r.scenario = ?")
            args.append(scenario)
        if status is not None:
            where.append("r.status = ?")
            args.append(status)
        if keys is not None:
            where.append(f"r.key IN ({','.join('?' * len(keys))})")
            args.extend(keys)
        rows = [dict(r) for r in self.db.execute(" AND ".join([query, *where]) + f" ORDER BY {order}", args)]
        figures: dict[str, dict] = {r["key"]: {"metrics": {}, "timings": {}, "sweeps": []} for r in rows}
        if rows:
            for p in self._for_keys("SELECT run, sweep FROM sweep_points", "run", list(figures), "ORDER BY sweep"):
                figures[p["run"]]["sweeps"].append(p["sweep"])
            for m in self._for_keys("SELECT run, variant, name, value FROM metrics", "run", list(figures)):
                figures[m["run"]]["metrics"].setdefault(m["variant"], {})[m["name"]] = m["value"]
            for t in self._for_keys("SELECT run, name, seconds FROM timings", "run", list(figures)):
                figures[t["run"]]["timings"][t["name"]] = t["seconds"]
        out = []
        for r in rows:
            params = json.loads(r.pop("point_params", None) or r["params"])
            r.pop("position", None)
            out.append({**r, "seed": int(r["seed"]), "params": params, "resolved": json.loads(r["resolved"]),
                        **figures[r["key"]]})
        return out

    def _for_keys(self, query: str, column: str, keys: list[str], tail: str = "") -> list[sqlite3.Row]:
        out = []
        for i in range(0, len(keys), 500):   # SQLite caps the number of parameters of a statement
            chunk = keys[i:i + 500]
            out += self.db.execute(f"{query} WHERE {column} IN ({','.join('?' * len(chunk))}) {tail}",
                                   chunk).fetchall()
        return out

    def find(self, prefix: str) -> str:
        """The key a unique prefix (at least 4 hex digits) names."""
        if len(prefix) < 4 or any(c not in "0123456789abcdef" for c in prefix.lower()):
            raise HistoryError(f"{prefix!r}: a run is named by its key or a prefix of it (4+ hex digits)")
        keys = [r[0] for r in self.db.execute("SELECT key FROM runs WHERE key LIKE ? ORDER BY key",
                                              (prefix.lower() + "%",))]
        if not keys:
            raise HistoryError(f"{prefix}: no such run in {self.path}")
        if len(keys) > 1:
            raise HistoryError(f"{prefix}: names {len(keys)} runs in {self.path} ({', '.join(keys[:4])}"
                               f"{', ...' if len(keys) > 4 else ''}): give more digits")
        return keys[0]

    def sweep(self, sweep_id: str) -> dict[str, Any]:
        row = self.db.execute("SELECT * FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()
        if row is None:
            known = [r[0] for r in self.db.execute("SELECT id FROM sweeps ORDER BY updated DESC LIMIT 5")]
            raise HistoryError(f"{sweep_id}: no such sweep in {self.path}"
                               + (f" (recent: {', '.join(known)})" if known else ""))
        return {**dict(row), "grid": json.loads(row["grid"]), "seeds": [int(s) for s in json.loads(row["seeds"])],
                "metrics": json.loads(row["metrics"])}


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception (KeyboardInterrupt included)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type | None, *exc: object) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
