"""Access ops through the machine's caches: placement by the allocators, bounds, sharing, attribution."""

from __future__ import annotations

import pytest

from kernel_model import Machine, Op, Trace, trace
from kernel_model.caches import CacheConfigError

NN = trace.NO_NODE
LEVELS = [{"name": "L1d", "size": "32K", "ways": 8}, {"name": "L1i", "size": "32K", "ways": 8},
          {"name": "L2", "size": "256K", "ways": 8}, {"name": "L3", "size": "1M", "ways": 16}]


def records(*rows):
    out = trace.empty(len(rows))
    for i, (op, ident, cpu, site, arg0, arg1, flags) in enumerate(rows):
        out[i] = (op, flags, cpu, site, ident, arg0, arg1)
    return out


def test_objects_from_one_slab_share_lines_and_errors_are_caught():
    m = Machine(nodes=2, node_mem="16M", cpus_per_node=1, caches={"levels": LEVELS})
    rows = [(Op.KMALLOC, i, 0, 1, 32, NN, 0) for i in range(4)]          # four 32-byte objects: two lines
    rows += [(Op.LOAD, i, 0, 2, 8, 0, 0) for i in range(4)]
    rows += [(Op.LOAD, 0, 0, 2, 8, 30, 0),                               # crosses the object's end
             (Op.KFREE, 1, 0, 0, 0, 0, 0), (Op.STORE, 1, 0, 2, 8, 0, 0),  # use after free
             (Op.LOAD, 9, 0, 2, 8, 0, 0),                                 # never allocated
             (Op.LOAD, trace.NO_ID, 0, 3, 8, 0x1000, trace.ACCESS_RAW),  # raw address
             (Op.IFETCH, trace.NO_ID, 0, 3, 4, 0x400000, 0)]
    res = m.replay(Trace(records(*rows), ["", "alloc", "use", "raw"], nr_ids=10))
    assert [(e.record, e.kind) for e in res.errors] == [(8, "out_of_bounds"), (10, "use_after_free"),
                                                         (11, "unknown_id")]
    st = m.cache_stats()
    assert st["cpu0/L1d"]["load_misses"] == 2 + 1 and st["cpu0/L1d"]["load_hits"] == 2   # 2 lines + raw
    assert st["cpu0/L1i"]["load_misses"] == 1
    by_site = m.cache_misses_by_site()
    assert by_site["call_sites"]["use"][0] == 2 and by_site["call_sites"]["raw"][0] == 2
    assert by_site["alloc_sites"] == {"alloc": [2, 2, 2, 0]}


@pytest.mark.parametrize("llc,shared_hit", [("shared", True), ("node", False), ("cpu", False)])
def test_last_level_sharing(llc, shared_hit):
    m = Machine(nodes=2, node_mem="16M", cpus_per_node=1, caches={"levels": LEVELS, "llc": llc})
    rows = [(Op.PAGE_ALLOC, 0, 0, 0, 0, NN, 1), (Op.LOAD, 0, 0, 0, 8, 0, 0), (Op.LOAD, 0, 1, 0, 8, 0, 0)]
    assert m.replay(records(*rows)).ok
    st = m.cache_stats()
    l3 = [v for k, v in st.items() if k.endswith("L3")]
    assert sum(v["hits"] for v in l3) == (1 if shared_hit else 0)
    assert len(l3) == {"shared": 1, "node": 2, "cpu": 2}[llc]


def test_machine_cache_config_errors():
    with pytest.raises(CacheConfigError, match="llc"):
        Machine(nodes=1, node_mem="16M", caches={"levels": LEVELS, "llc": "socket"})
    with pytest.raises(CacheConfigError, match="unknown key"):
        Machine(nodes=1, node_mem="16M", caches={"levels": LEVELS, "l4": {}})


def test_without_caches_accesses_are_only_checked():
    m = Machine(nodes=1, node_mem="16M")
    res = m.replay(records((Op.KMALLOC, 0, 0, 0, 16, NN, 0), (Op.LOAD, 0, 0, 0, 8, 12, 0)))
    assert res.error_counts == {"out_of_bounds": 1} and m.cache_stats() == {}
