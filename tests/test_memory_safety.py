"""Every size and index a user can give reaches the C core bounded: machines beyond the core's
arrays are refused, the core's entry points refuse out-of-range arguments themselves, and
cachegrind geometries are checked by cachegrind's rules before anything is allocated.

Under `make sanitize` these run with ASan/UBSan: a check that is missing is a report there."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel_model import Machine, Topology, _core
from kernel_model.cachegrind import CachegrindSim, geometry_problem, parse_cache_spec
from kernel_model.machine import BASE_PFN
from sim.cli import main


def test_a_topology_with_more_cpus_than_the_core_is_refused():
    cpus = [list(range(_core.MAX_CPUS // 2 + 1)), list(range(_core.MAX_CPUS // 2 + 1, _core.MAX_CPUS + 2))]
    topo = Topology.from_slit([[10, 20], [20, 10]], "16M", cpus=cpus)
    with pytest.raises(ValueError, match=rf"topology lists {_core.MAX_CPUS + 2} CPUs; the model handles 1..256"):
        Machine(topology=topo)
    zones = [{"start_pfn": BASE_PFN, "spanned_pages": 256, "usable_pfns": [(BASE_PFN, BASE_PFN + 256)]}]
    with pytest.raises(ValueError, match="CPUs"):
        Machine(zones=zones, cpu_to_node=[0] * (_core.MAX_CPUS + 1), distances=[[10]])
    with pytest.raises(ValueError, match="node 0..0"):
        Machine(zones=zones, cpu_to_node=[0, 1], distances=[[10]])
    assert len(Machine(topology=Topology.from_slit([[10]], "16M", cpus=[list(range(_core.MAX_CPUS))]))
               .cpu_to_node) == _core.MAX_CPUS


@pytest.mark.parametrize("nodes,cpus", [(0, 1), (_core.MAX_NODES + 1, 1), (1, 0), (1, _core.MAX_CPUS + 1)])
def test_the_core_refuses_machines_beyond_its_arrays(nodes, cpus):
    zones = [(BASE_PFN + 256 * n, 256, [(BASE_PFN + 256 * n, BASE_PFN + 256 * (n + 1))]) for n in range(nodes)]
    zonelists = [[(n + k) % nodes for k in range(nodes)] for n in range(nodes)]
    with pytest.raises(ValueError, match=f"1..{_core.MAX_NODES} nodes and 1..{_core.MAX_CPUS} CPUs"):
        _core.MachineCore(zones, [0] * cpus, zonelists, True, True, 0)


def test_the_core_refuses_bad_layouts():
    zone = (BASE_PFN, 256, [(BASE_PFN, BASE_PFN + 256)])
    with pytest.raises(ValueError, match="node of a CPU"):
        _core.MachineCore([zone], [1], [[0]], True, True, 0)
    with pytest.raises(ValueError, match="zonelist"):
        _core.MachineCore([zone], [0], [[3]], True, True, 0)
    with pytest.raises(ValueError, match="outside the zone"):
        _core.MachineCore([(BASE_PFN, 256, [(BASE_PFN, BASE_PFN + 257)])], [0], [[0]], True, True, 0)


def test_entry_points_bound_their_arguments():
    """The C entry points answer out-of-range cpus, nodes, caches and migratetypes with their
    failure value; the Cython layer raises ValueError for indices it would dereference."""
    m = Machine(nodes=2, node_mem="8M")
    core = m._core
    assert core.alloc_pages(0, 1, 2, -1) is None                   # cpu 2 of 2
    assert core.alloc_pages(0, 1, 0, 2) is None                    # node 2 of 2
    assert core.alloc_pages(0, _core.MIGRATE_PCPTYPES, 0, -1) is None
    assert core.alloc_pages(_core.MAX_PAGE_ORDER + 1, 1, 0, -1) is None
    pfn = core.alloc_pages(0, 1, 0, -1)
    assert core.free_pages(pfn, 0, 2) == _core.MM_FREE_BAD_CPU
    assert core.free_pages(pfn, 0, 0) == _core.MM_FREE_OK
    assert core.kmalloc(64, 2, -1) is None and core.kmalloc(64, 0, 2) is None
    assert core.kmem_cache_alloc(core.nr_caches, 0, -1) is None
    addr = core.kmalloc(64, 0, -1)
    assert core.kfree(addr, 2) == _core.SLAB_EBADCPU and core.kfree(addr, 0) == _core.SLAB_OK
    for call in (lambda: core.zone(2), lambda: core.page_map(2), lambda: core.free_lists(2), lambda: core.slabs(2),
                 lambda: core.pcp_lists(0, 2), lambda: core.cache(core.nr_caches), lambda: core.cpu_freelist(0, 2),
                 lambda: core.node_partial(0, 2), lambda: core.pageblock_migratetypes(2),
                 lambda: core.page_descriptors(2), lambda: core.kmalloc_cache(0), lambda: core.kmalloc_cache(8193),
                 lambda: core.snapshot(np.zeros(1, np.uint64)), lambda: core.set_latency([[1]]),
                 lambda: core.replay(np.zeros(24, np.uint8), 2, 1),
                 lambda: _core.slab_calculate_order(0, 1), lambda: _core.extfrag_index(np.zeros(3, np.uint64), 0),
                 lambda: _core.unusable_free_index(np.zeros(_core.NR_PAGE_ORDERS, np.uint64), 99),
                 lambda: _core.reuse_ids(np.zeros(3, np.uint32), np.zeros(2, np.uint8), 3),
                 lambda: _core.leak_classify(np.array([0, 1], np.uint32), np.array([5], np.uint32),
                                             np.zeros(1, np.uint8), np.zeros(1, np.uint8))):
        with pytest.raises(ValueError):
            call()


def test_cache_core_bounds_its_indices():
    caches = _core.CacheCore(2)
    with pytest.raises(ValueError, match="not wired"):
        caches.access(0, 0, 8, 1)
    with pytest.raises(ValueError, match="hierarchy 2"):
        caches.access(2, 0, 8, 1)
    i = caches.add(64, 8, 64, 0, True, True, 0, 0, False)
    for call in (lambda: caches.stats(i + 1), lambda: caches.flush(i + 1), lambda: caches.contains(i + 1, 0),
                 lambda: caches.link(i, i + 1), lambda: caches.wire(0, i, i + 1), lambda: caches.page_walks(2),
                 lambda: caches.add(64, 8, 64, 0, True, True, 3, 0, False)):
        with pytest.raises(ValueError):
            call()
    caches.wire(0, i, i)
    with pytest.raises(ValueError, match="access kind"):
        caches.access(0, 0, 8, len(_core.ACCESS_KIND_NAMES))


@pytest.mark.parametrize("nodes,weights_nodes", [(2, [0, 1]), (4, [1, 3]), (64, [62, 63])])
def test_interleave_starts_at_the_lowest_node_and_wraps(nodes, weights_nodes):
    """The first interleave step starts from il_prev = -1 (once a negative shift: UBSan's report)
    and the last node wraps to the first."""
    m = Machine(nodes=nodes, node_mem="1M" if nodes > 4 else "8M")
    m.set_mempolicy(0, "interleave", weights_nodes)
    got = [m.pfn_to_nid(m.alloc_pages(0, "movable")) for _ in range(2 * len(weights_nodes))]
    assert got == weights_nodes * 2


# -- cachegrind geometry: cachegrind's rules, checked before anything is allocated ---------------

@pytest.mark.parametrize("option", ["--I1", "--D1", "--LL"])
@pytest.mark.parametrize("spec,reason", [
    ("65536,65536,65536", "set count"),          # line x assoc overflowed 32 bits: was SIGFPE
    ("4294967296,8,64", "above 2147483647"),     # was an OverflowError traceback
    ("2147483648,1,1", "above 2147483647"),      # was tens of GiB of tags
    ("32768,0,64", "positive"),
    ("32768,8,8", "minimum of 16"),
    ("3072,2,64", "set count"),
    ("32768,1,32768", "larger than one line"),
    ("1" * 30 + ",8,64", "SIZE,ASSOC,LINE_SIZE"),
])
def test_cachesim_refuses_bad_geometry_in_one_line(tmp_path, capsys, option, spec, reason):
    log = tmp_path / "t.lackey"
    log.write_text("I  00400000,3\n")
    assert main(["cachesim", "--lackey", str(log), option, spec]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and spec in err[0] and reason in err[0], err


def test_the_simulator_refuses_what_the_parser_refuses():
    for spec in [(65536, 65536, 65536), (2**32, 8, 64), (2**31, 1, 1), (-1, 8, 64), (2**70, 1, 64)]:
        with pytest.raises(ValueError, match="cachegrind needs"):
            CachegrindSim((32768, 8, 64), spec, (1 << 20, 8, 64))


sizes = st.one_of(st.integers(0, 1 << 33), st.sampled_from([0, 1, 16, 64, 3 << 10, 1 << 30, 2**31 - 1, 2**31]),
                  st.builds(lambda e: 1 << e, st.integers(0, 33)))


@settings(max_examples=400, deadline=None)
@given(size=sizes, assoc=sizes, line=sizes)
def test_geometry_rules_agree_with_the_core(size, assoc, line):
    """The Python explanation and the C check accept exactly the same geometries."""
    assert (geometry_problem(size, assoc, line) is None) == bool(_core.cachegrind_tags(size, assoc, line))


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind")
@pytest.mark.parametrize("spec", ["32768,8,64", "1073741824,16,64", "65536,2,32768", "98304,3,64",
                                  "3072,2,64", "32768,1,32768", "2147483648,1,64", "4294967296,8,64", "32768,8,8",
                                  "32768,0,64"])
def test_geometry_rules_are_cachegrinds(spec):
    """cachegrind itself takes a D1 spec exactly when parse_cache_spec does (lines of 16 bytes
    and more are left out: valgrind also refuses lines shorter than the host's registers)."""
    r = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=yes", f"--D1={spec}",
                        "--cachegrind-out-file=/dev/null", "/bin/true"], capture_output=True, timeout=120)
    try:
        parse_cache_spec(spec)
        ours = True
    except ValueError:
        ours = False
    assert (r.returncode == 0) == ours, r.stderr.decode()[-500:]
