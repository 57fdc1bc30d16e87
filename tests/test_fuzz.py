"""Fuzz tests of every input format memsim reads (besides ftrace text: test_ftrace.py): trace files
and their replay, lackey logs, scenario files and --set, topology descriptions, result
directories. Each input either works or ends in the format's one error naming the file and line
(or the --set key), never another exception; in-process for speed, and a sample of the failures
through `python -m sim.cli` to prove exit status 2, one stderr line, no traceback and no signal.

`make test` runs a small number of examples of each (about half a minute in all); `make fuzz` sets
MEMSIM_FUZZ_EXAMPLES to run many more (tests/fuzzing.py).
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from contextlib import redirect_stderr
from pathlib import Path

import numpy as np
import pytest
from fuzzing import fuzz
from hypothesis import assume, event, given
from hypothesis import strategies as st

from kernel_model import Machine, Topology, TopologyError, trace
from kernel_model._core import NR_OP_CODES, CachegrindSim
from kernel_model.cachegrind import LackeyFormatError, simulate_lackey
from kernel_model.machine import MAX_IDS
from kernel_model.trace import HEADER, OP_DTYPE, TraceFormatError
from sim.cli import main
from sim.scenario import ScenarioError, ScenarioSpec, build_machine, load, run_scenario, shipped
from sim.scenario.spec import SHIPPED
from sim.workloads import kmalloc_churn, page_churn
from sim.workloads.object_graph import object_graph

REPO = Path(__file__).resolve().parents[1]
WORK = Path(tempfile.mkdtemp(prefix="memsim-fuzz-"))
SUBPROCESS_SAMPLE = 3        # failing inputs per fuzzer that also go through a memsim process
pytestmark = pytest.mark.fuzz


@pytest.fixture(scope="module", autouse=True)
def _remove_work():
    yield
    shutil.rmtree(WORK, ignore_errors=True)


def run_cli(args: list[str]) -> tuple[int, list[str]]:
    """memsim in-process: (exit status, stderr lines)."""
    err = io.StringIO()
    with redirect_stderr(err), open(os.devnull, "w") as null, _stdout(null):
        rc = main([str(a) for a in args])
    return rc, err.getvalue().splitlines()


class _stdout:
    def __init__(self, f) -> None:
        self.f = f

    def __enter__(self):
        self.saved, sys.stdout = sys.stdout, self.f

    def __exit__(self, *exc):
        sys.stdout = self.saved


def one_line_error(rc: int, err: list[str], where: str) -> None:
    assert rc == 2 and len(err) == 1 and err[0].startswith("memsim: error: ") and where in err[0], (rc, err)


_sampled: dict[str, int] = {}


def in_a_process(kind: str, args: list[str]) -> None:
    """The first few failing inputs of each fuzzer also run as a real memsim process: exit status
    2 (no signal, no crash), one stderr line, no traceback."""
    if _sampled.get(kind, 0) >= SUBPROCESS_SAMPLE:
        return
    _sampled[kind] = _sampled.get(kind, 0) + 1
    r = subprocess.run([sys.executable, "-m", "sim.cli", *map(str, args)], cwd=REPO, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr, r


# -- values ------------------------------------------------------------------------------------------

SIZES = st.sampled_from(["0", "4K", "1M", "16M", "256M", "15T", "1T", "1G", "12Q", "-1M", "1.5M", "4096", "", " "])
STRINGS = st.one_of(SIZES, st.sampled_from(["abc", "500ms", "2s", "lru", "plru", "node", "$x$", "<script>x</script>",
                                            "../..", "a b", "fragmentation", "page_churn", "trace"]),
                    st.text(max_size=12))
INTS = st.one_of(st.integers(-3, 300), st.sampled_from([2**31, 2**32, 2**63 - 1, -(2**63), 2**28 + 1, 10**20]))
SCALARS = st.one_of(INTS, st.floats(allow_nan=True, allow_infinity=True), st.booleans(), STRINGS)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.sampled_from(["a", "name", "size", "ways"]),
                                                                       inner, max_size=3)), max_leaves=8)


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return json.dumps(v)       # a TOML basic string (lone surrogates: a TOML error, also fine)
    if isinstance(v, list):
        return "[" + ", ".join(map(toml_value, v)) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + "}"


def toml_document(data: dict) -> str:
    head, tables = [], []
    for section, value in data.items():
        if section == "variant" and isinstance(value, list) and all(isinstance(v, dict) for v in value):
            tables += ["[[variant]]\n" + "".join(f"{json.dumps(k)} = {toml_value(x)}\n" for k, x in v.items())
                       for v in value]
        elif isinstance(value, dict):
            tables.append(f"[{section}]\n" + "".join(f"{json.dumps(k)} = {toml_value(x)}\n" for k, x in value.items()))
        else:
            head.append(f"{section} = {toml_value(value)}\n")
    return "".join(head) + "".join(tables)


def paths(node, prefix=()) -> list[tuple]:
    """Every path into a nested dict/list structure."""
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw, doc):
    """doc with one to three mutations: a value replaced, a key removed or added."""
    doc = json.loads(json.dumps(doc, allow_nan=True))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(paths(doc)))
        parent = doc
        for k in where[:-1]:
            parent = parent[k]
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if not where or action == "add":
            target = parent if not where else parent[where[-1]] if isinstance(parent[where[-1]], dict) else parent
            if isinstance(target, dict):
                target[draw(st.sampled_from(["nodes", "node_mem", "cpus", "ops", "colour", "size", "name", "x"]))] = \
                    draw(VALUES)
        elif action == "remove":
            del parent[where[-1]]
        else:
            parent[where[-1]] = draw(VALUES)
    return doc


# -- trace files and their replay ----------------------------------------------------------------------

def _base_traces() -> list[bytes]:
    out = []
    for t in (page_churn(300, 60, cpus=2, seed=1), kmalloc_churn(300, 50, cpus=2, seed=2),
              object_graph(operations=300, tables=1, cpus=2, leaks=1, population=50, seed=3)):
        buf = WORK / "base.mtr"
        trace.save(buf, t)
        out.append(buf.read_bytes())
    return out


BASE_TRACES = _base_traces()
RECORD = st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 65535), st.integers(0, 2**32 - 1),
                   st.sampled_from([0, 1, 2, 5, 40, 2**32 - 1, 2**28]), st.integers(0, 2**32 - 1),
                   st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([0, 1, 8, 4096, 2**64 - 1])))


@st.composite
def trace_bytes(draw) -> bytes:
    raw = bytearray(draw(st.sampled_from(BASE_TRACES)))
    for _ in range(draw(st.integers(1, 4))):
        nrec = max((len(raw) - 64) // 24, 0)
        kind = draw(st.sampled_from(["header", "truncate", "bytes", "records", "records", "records", "append"]))
        if kind == "header" and len(raw) >= 64:
            header = np.frombuffer(bytes(raw[:64]), HEADER).copy()
            name = draw(st.sampled_from(HEADER.names))
            bits = 8 * HEADER.fields[name][0].itemsize
            header[name] = draw(st.binary(min_size=8, max_size=8)) if name == "magic" else \
                draw(st.one_of(st.integers(0, 2**bits - 1),
                               st.sampled_from([0, 1, 2, 24, 63, 64, 65, nrec, nrec + 1, nrec - 1, MAX_IDS,
                                                MAX_IDS + 1]).map(lambda v, bits=bits: v % 2**bits)))
            raw[:64] = header.tobytes()
        elif kind == "truncate":
            del raw[draw(st.integers(0, len(raw))):]
        elif kind == "bytes" and raw:
            at = draw(st.integers(0, len(raw) - 1))
            patch = draw(st.binary(min_size=1, max_size=16))
            raw[at:at + len(patch)] = patch
        elif kind == "records" and nrec:
            records = np.frombuffer(bytes(raw[64:64 + 24 * nrec]), OP_DTYPE).copy()
            for _ in range(draw(st.integers(1, 20))):
                records[draw(st.integers(0, nrec - 1))] = draw(RECORD)
            raw[64:64 + 24 * nrec] = records.tobytes()
        else:
            raw += draw(st.binary(max_size=64))
    return bytes(raw)


@fuzz(150)
@given(trace_bytes())
def test_trace_files_load_or_fail_with_the_file_name_and_replay_counts_every_error(raw):
    path = WORK / "fuzz.mtr"
    path.write_bytes(raw)
    try:
        t = trace.load(path)
    except TraceFormatError as e:
        event("refused at load")
        assert str(e).startswith(f"{path}: ")
        one_line_error(*run_cli(["replay", path]), str(path))
        in_a_process("trace", ["replay", path])
        return
    event(f"loaded, {'with' if (t.records['op'] >= NR_OP_CODES).any() else 'no'} bad ops")
    if t.nr_ids > MAX_IDS:
        one_line_error(*run_cli(["replay", path]), f"{path}: the header declares")
        return
    res = Machine(nodes=2, node_mem="16M", cpus_per_node=2).replay(t)
    ops = t.records["op"]
    assert res.records == len(t)
    assert res.error_counts.get("bad_op", 0) == int((ops >= NR_OP_CODES).sum())
    assert sum(res.op_counts.values()) + res.error_counts.get("bad_op", 0) == len(t)
    rc, err = run_cli(["replay", path, "--cpus-per-node", "2"])
    assert rc in (0, 1) or (rc == 2 and len(err) == 1 and "runs on" in err[0]), (rc, err)


# -- lackey logs ------------------------------------------------------------------------------------------

ACCESS = st.tuples(st.sampled_from(["I  ", " L ", " S ", " M "]), st.integers(0, 2**64 - 1), st.integers(1, 64))
LINE = st.one_of(
    ACCESS.map(lambda a: f"{a[0]}{a[1]:x},{a[2]}"),
    ACCESS.map(lambda a: f"{a[0]}{a[1]:08X},{a[2]}\r"),
    st.sampled_from(["", "\r", "==123== Lackey, an example Valgrind tool", "--123-- warning", "I  ,8", " L 10,0",
                     " L 10,65", " X 10,8", "I  10,8 ", "I 10,8", " L 10,99999", "I  12345678901234567,8",
                     " L 10,8\rjunk", "\x00", "I  zz,8"]),
    st.text(alphabet="IMLS ,0123456789abcdefx\r=-", max_size=24))


def lackey_reference(data: bytes) -> tuple[dict[str, int] | None, tuple[int, int] | None]:
    """lackey.c's grammar in Python: the events of the valid lines, or (line, column) of the first bad one."""
    kinds, addrs, sizes = [], [], []
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, line in enumerate(lines, 1):
        if line in (b"", b"\r") or line[:2] in (b"==", b"--"):
            continue
        if len(line) > 3 and line[:3] == b"I  ":
            kind = 0
        elif len(line) > 3 and line[0:1] == b" " and line[2:3] == b" ":
            kind = {b"L": 1, b"M": 1, b"S": 2}.get(line[1:2])
            if kind is None:
                return None, (number, 2)
        else:
            return None, (number, 1)
        m = re.match(rb"([0-9a-fA-F]{1,16})", line[3:])
        if m is None or line[3 + m.end():3 + m.end() + 1] != b",":
            return None, (number, 4 + (m.end() if m else 0))
        rest = line[3 + m.end() + 1:]
        n = re.match(rb"[0-9]{1,4}", rest)
        end = n.end() if n else 0
        if n is None or not 1 <= int(n[0]) <= 64 or rest[end:end + 1] not in (b"", b"\r"):
            return None, (number, 4 + m.end() + 1 + end)
        kinds.append(kind)
        addrs.append(int(m[1], 16))
        sizes.append(int(n[0]))
    sim = CachegrindSim((32768, 8, 64), (32768, 8, 64), (8388608, 16, 64))
    sim.access(np.array(kinds, np.uint8), np.array(addrs, np.uint64), np.array(sizes, np.uint8))
    return sim.events(), None


@fuzz(200)
@given(st.lists(LINE, max_size=30), st.booleans(), st.integers(1, 64))
def test_lackey_logs_parse_as_the_reference_does_in_any_chunking(lines, final_newline, chunk):
    data = "\n".join(lines).encode("utf-8", "surrogateescape") + (b"\n" if final_newline and lines else b"")
    path = WORK / "fuzz.lackey"
    path.write_bytes(data)
    events, error = lackey_reference(data)
    spec = ((32768, 8, 64), (32768, 8, 64), (8388608, 16, 64))
    for size in (chunk, 8 << 20):
        try:
            got = simulate_lackey(path, *spec, chunk=size)
        except LackeyFormatError as e:
            event("refused")
            assert error is not None and str(e).startswith(f"{path}:{error[0]}:{error[1]}: not a lackey trace line"), \
                (str(e), error)
            continue
        assert error is None and got == events
    if error is not None:
        one_line_error(*run_cli(["cachesim", "--lackey", path]), f"{path}:{error[0]}:{error[1]}")
        in_a_process("lackey", ["cachesim", "--lackey", path])


# -- scenario files and --set ----------------------------------------------------------------------------

SCENARIOS = {name: tomllib.loads((SHIPPED / f"{name}.toml").read_text()) for name in shipped()}
WHERE = re.compile(r"^(--set [A-Za-z0-9_.-]+[:\[.]|" + re.escape(str(WORK)) + r"/[^:]+:\d+[:\s])")


def check_loaded(spec: ScenarioSpec) -> None:
    """What the spec accepted, the model builds (for machines small enough to build quickly)."""
    for v in spec.variants:
        m = spec.machine.merged(v.machine)
        mem = m.node_mem if m.node_mem is not None else "256M"
        small = spec.topology is None and isinstance(mem, str) and mem in ("16M", "64M", "128M", "256M", "512M")
        if small and (m.nodes or 2) <= 8:
            try:
                build_machine(spec, v)
            except ScenarioError as e:    # a combination only Machine checks: still one located line
                assert WHERE.match(str(e)) or str(e).startswith(str(spec.path)), str(e)


@fuzz(150)
@given(st.data())
def test_mutated_scenario_files_load_or_name_the_file_line_and_key(data):
    name = data.draw(st.sampled_from(sorted(SCENARIOS)))
    doc = data.draw(mutated(SCENARIOS[name]))
    path = WORK / f"{name}.toml"
    try:
        path.write_text(toml_document(doc), errors="surrogateescape")
    except UnicodeEncodeError:
        assume(False)
    try:
        spec = load(path)
    except ScenarioError as e:
        event("refused")
        assert WHERE.match(str(e)), str(e)
        one_line_error(*run_cli(["run", path, "--out", WORK / "out"]), str(path))
        in_a_process("scenario", ["run", path, "--out", WORK / "out"])
        return
    check_loaded(spec)


SET_KEYS = ["machine.nodes", "machine.node_mem", "machine.cpus_per_node", "machine.pcp", "machine.min_free_kbytes",
            "workload.ops", "workload.cpus", "workload.generator", "workload.file", "profile.interval",
            "profile.profilers", "profile.experiments", "scenario.seed", "scenario.name", "topology.distances",
            "topology.node_mem", "caches.levels", "caches.llc", "guest.nodes", "guest.mem", "guest.timeout",
            "output.dir", "variant.name", "nosuch.key", "machine", "machine.x.y"]


@fuzz(150)
@given(st.sampled_from(sorted(SCENARIOS)), st.sampled_from(SET_KEYS),
       st.one_of(VALUES.map(toml_value), st.text(max_size=12)))
def test_set_values_load_or_name_the_option(name, key, value):
    override = f"{key}={value}"
    try:
        spec = load(SHIPPED / f"{name}.toml", [override])
    except ScenarioError as e:
        event("refused")
        message = str(e)
        assert message.startswith(("--set ", f"{SHIPPED / name}.toml:")), message
        if message.startswith("--set "):
            assert message.startswith((f"--set {key}", f"--set {override!r}")), message
        one_line_error(*run_cli(["run", name, "--set", override, "--out", WORK / "out"]), message[:20])
        in_a_process("set", ["run", name, "--set", override, "--out", WORK / "out"])
        return
    check_loaded(spec)


# -- topology descriptions -----------------------------------------------------------------------------

TOPOLOGY = {"distances": [[10, 21], [21, 10]], "node_mem": ["16M", "32M"], "cpus": [[0, 1], [2]],
            "latency": [[80, 200], [200, 80]], "bandwidth": [[1000, 300], [300, 1000]]}


@fuzz(200)
@given(mutated({"topology": TOPOLOGY}))
def test_topology_descriptions_build_or_say_what_is_wrong(doc):
    path = WORK / "topology.toml"
    try:
        path.write_text(toml_document(doc), errors="surrogateescape")
    except UnicodeEncodeError:
        assume(False)
    try:
        t = Topology.from_toml(path)
    except TopologyError as e:
        event("refused")
        assert str(e).startswith(f"{path}: "), str(e)
        return
    n = t.nr_nodes
    assert len(t.distances) == n and len(t.latencies()) == n and t.zonelists()
    assert sorted(t.cpu_to_node) == sorted(t.cpu_to_node) and t.qemu_args()


# -- result directories ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def result_dir():
    out = WORK / "result"
    run_scenario("leak", ["workload.operations=3000", "profile.interval=1000"], out=out)
    return out


@fuzz(60)
@given(data=st.data())
def test_result_directories_render_or_fail_in_one_line(result_dir, data):
    original = json.loads((result_dir / "report.json").read_text())
    target = WORK / "mutated"
    target.mkdir(exist_ok=True)
    for f in result_dir.glob("*.txt"):
        (target / f.name).write_bytes(f.read_bytes())
    how = data.draw(st.sampled_from(["tree", "tree", "tree", "truncate", "bytes"]))
    text = json.dumps(original)
    if how == "tree":
        text = json.dumps(data.draw(mutated(original)))
    elif how == "truncate":
        text = text[: data.draw(st.integers(0, len(text)))]
    raw = text.encode()
    if how == "bytes":
        at = data.draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + data.draw(st.binary(min_size=1, max_size=8)) + raw[at + 8:]
    (target / "report.json").write_bytes(raw)
    page = WORK / "page.html"
    page.unlink(missing_ok=True)
    for args in (["report", target, "--html", page], ["analyze", target]):
        rc, err = run_cli(args)
        event(f"{args[0]}: exit {rc}")
        if rc == 2:
            one_line_error(rc, err, str(target))
            in_a_process("result", args)
        else:
            assert rc == 0, (rc, err)
    if page.exists():        # whatever strings the report holds are escaped
        assert "<script>x</script>" not in page.read_text()
