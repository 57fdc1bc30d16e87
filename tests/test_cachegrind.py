"""Cachegrind compatibility: counts from a lackey trace equal cachegrind's own for the same run.

These tests run valgrind (installed everywhere) on programs built here and on /sbin/ldconfig,
under `setarch -R` so both tools see the same addresses. The programs are statically linked:
under valgrind, the dynamic loader's start-up reads a few stack bytes at places that change
from run to run, so two runs of a dynamic binary (even /bin/ls) do not make the same
accesses, and a small direct-mapped cache then counts a couple of misses differently.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from kernel_model.cachegrind import CachegrindSim, LackeyFormatError, read_cachegrind_out, simulate_lackey
from sim.cli import main

PROGRAMS = {
    "scatter": r"""
#include <stdlib.h>
int main(void) {
    int n = 20000; long s = 0;
    int *a = malloc(n * sizeof(int));
    for (int i = 0; i < n; i++) a[i] = i * 7;
    for (int r = 0; r < 3; r++) for (int i = 0; i < n; i += 13) { a[(i * 31) % n] += a[i]; s += a[i]; }
    free(a);
    return (int)(s & 1);
}""",
    # unaligned 8-byte loads and stores that straddle cache lines, and read-modify-writes
    "straddle": r"""
#include <string.h>
static char buf[1 << 16];
int main(void) {
    unsigned long long x, sum = 0;
    for (int r = 0; r < 4; r++)
        for (int i = 1; i < (1 << 16) - 16; i += 29) {
            memcpy(&x, buf + i, 8); sum += x; x ^= sum; memcpy(buf + i + 3, &x, 8);
            buf[i] += 1;
        }
    return (int)(sum & 1);
}""",
}
CONFIGS = [
    ("32768,8,64", "32768,8,64", "1048576,16,64"),
    ("1024,2,64", "2048,1,32", "16384,4,64"),     # tiny, direct-mapped D1, L1 and LL line sizes differ
    ("4096,4,32", "8192,2,64", "65536,8,128"),
]

needs_valgrind = pytest.mark.skipif(
    shutil.which("valgrind") is None and not os.environ.get("CI"),
    reason="valgrind not installed (CI installs it and never skips)")


def _run(cmd: list[str], cwd) -> None:
    r = subprocess.run(["setarch", "-R", *cmd], cwd=cwd, capture_output=True, text=True, timeout=300,
                       env={"PATH": os.environ["PATH"], "LC_ALL": "C"})
    assert r.returncode in (0, 1), r.stderr[-2000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Per program: its lackey log and a function giving cachegrind's counts for a config."""
    d = tmp_path_factory.mktemp("cg")
    targets = {}
    for name, src in PROGRAMS.items():
        (d / f"{name}.c").write_text(src)
        subprocess.run(["gcc", "-O1", "-static", "-o", str(d / name), str(d / f"{name}.c")], check=True,
                       timeout=120)
        targets[name] = [str(d / name)]
    targets["ldconfig"] = ["/sbin/ldconfig", "-p"]   # a static program present on the machine
    out = {}
    for name, cmd in targets.items():
        log = d / f"{name}.lackey"
        _run(["valgrind", "--tool=lackey", "--trace-mem=yes", f"--log-file={log}", *cmd], d)

        def cachegrind(config, name=name, cmd=cmd):
            result = d / f"{name}.{'_'.join(config).replace(',', '-')}.cg"
            if not result.exists():
                _run(["valgrind", "--tool=cachegrind", "--cache-sim=yes", f"--I1={config[0]}", f"--D1={config[1]}",
                      f"--LL={config[2]}", f"--cachegrind-out-file={result}", *cmd], d)
            return read_cachegrind_out(result)
        out[name] = (log, cachegrind)
    return out


@needs_valgrind
@pytest.mark.parametrize("program", ["scatter", "straddle", "ldconfig"])
@pytest.mark.parametrize("config", CONFIGS, ids=["typical", "tiny", "mixed-lines"])
def test_counts_equal_cachegrind(runs, program, config):
    log, cachegrind = runs[program]
    specs = [tuple(int(x) for x in c.split(",")) for c in config]
    assert simulate_lackey(log, *specs) == cachegrind(config)


@needs_valgrind
def test_cli_cachesim_json_and_streaming(runs, capsys):
    log, cachegrind = runs["ldconfig"]
    config = CONFIGS[1]
    assert main(["cachesim", "--lackey", str(log), "--I1", config[0], "--D1", config[1], "--LL", config[2],
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["events"] == cachegrind(config)
    specs = [tuple(int(x) for x in c.split(",")) for c in config]
    assert simulate_lackey(log, *specs, chunk=777) == simulate_lackey(log, *specs)   # chunk edges


def test_cachegrind_rules_by_hand():
    sim = CachegrindSim((1024, 2, 64), (1024, 2, 64), (4096, 4, 64))
    import numpy as np

    def run(kinds, addrs, sizes):
        sim.access(np.array(kinds, np.uint8), np.array(addrs, np.uint64), np.array(sizes, np.uint8))
        return sim.events()

    ev = run([1], [0], [8])                      # tags start at zero: block 0 hits at once
    assert (ev["Dr"], ev["D1mr"]) == (1, 0)
    ev = run([1], [4096 + 60], [8])              # straddles two lines: one access, one miss
    assert (ev["Dr"], ev["D1mr"], ev["DLmr"]) == (2, 1, 1)
    ev = run([2], [4096 + 64], [4])              # the second line was brought in by the straddle
    assert (ev["Dw"], ev["D1mw"]) == (1, 0)


def test_modify_is_one_read_and_bad_lines_name_file_and_line(tmp_path):
    log = tmp_path / "t.lackey"
    log.write_text("==1== Lackey\nI  00400000,3\n M 00601000,8\n S 00601000,8\n")
    ev = simulate_lackey(log, (1024, 2, 64), (1024, 2, 64), (4096, 4, 64))
    assert (ev["Ir"], ev["Dr"], ev["Dw"], ev["D1mr"], ev["D1mw"]) == (1, 1, 1, 1, 0)
    log.write_text("I  00400000,3\n L 0060zz00,8\n")
    with pytest.raises(LackeyFormatError, match=r"t\.lackey:2:"):
        simulate_lackey(log, (1024, 2, 64), (1024, 2, 64), (4096, 4, 64))
    with pytest.raises(LackeyFormatError, match="No such file"):
        simulate_lackey(tmp_path / "nope", (1024, 2, 64), (1024, 2, 64), (4096, 4, 64))
    with pytest.raises(ValueError, match="power-of-two"):
        CachegrindSim((1000, 2, 64), (1024, 2, 64), (4096, 4, 64))


def test_cli_errors_are_one_line(tmp_path, capsys):
    log = tmp_path / "bad.lackey"
    log.write_text("hello\n")
    assert main(["cachesim", "--lackey", str(log)]) == 2
    assert main(["cachesim", "--lackey", str(log), "--D1", "32,8"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "bad.lackey:1:1" in err[0] and "SIZE,ASSOC,LINE_SIZE" in err[1]


def test_cachesim_latency_by_hand(tmp_path, capsys):
    """AMAT from cachegrind's counts: an instruction and two data loads go to memory (cold), the store
    hits D1; LL = 12 ns, the rest the defaults (L1 1.5 ns, memory 100 ns)."""
    log = tmp_path / "t.lackey"
    log.write_text("==1== Lackey\nI  00400000,3\n L 00601000,8\n S 00601000,8\n L 00602000,8\n")
    assert main(["cachesim", "--lackey", str(log), "--latency", "LL=12", "--json"]) == 0
    lat = json.loads(capsys.readouterr().out)["latency"]
    assert lat["ns"] == {"I1": 1.5, "D1": 1.5, "LL": 12.0, "memory": 100.0}
    assert lat["data"]["served"] == {"D1": 1, "LL": 0, "memory": 2}
    assert lat["data"]["amat_ns"] == pytest.approx((2 * 113.5 + 1.5) / 3)
    assert lat["all"]["amat_ns"] == pytest.approx((3 * 113.5 + 1.5) / 4)
    assert lat["histogram"] == [{"ns": 1.5, "accesses": 1}, {"ns": 113.5, "accesses": 3}]
    assert main(["cachesim", "--lackey", str(log), "--json"]) == 0
    assert "latency" not in json.loads(capsys.readouterr().out)      # only when latencies are asked for
    assert main(["cachesim", "--lackey", str(log), "--latency"]) == 0
    assert "AMAT:          84.000 ns" in capsys.readouterr().out     # the defaults: LL 10 ns
    assert main(["cachesim", "--lackey", str(log), "--latency", "L2=3"]) == 2
    assert "latency spec 'L2=3'" in capsys.readouterr().err
