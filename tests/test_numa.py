"""NUMA: topology, zonelist order, memory policies against the reference, numastat identities."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel_model import Machine, Op, Topology, TopologyError, trace
from kernel_model.reference.buddy import RefMachine

ASYM = [[10, 20, 30, 40], [20, 10, 20, 30], [30, 20, 10, 20], [40, 30, 20, 10]]


def test_zonelists_follow_find_next_best_node():
    t = Topology.from_slit(ASYM, "8M")
    # node 1: node 2 (distance 20) beats node 0 (20, +1 for being below node 1)
    assert t.zonelists() == [[0, 1, 2, 3], [1, 2, 0, 3], [2, 3, 1, 0], [3, 2, 1, 0]]
    flat = Topology.from_slit([[10 if i == j else 20 for j in range(4)] for i in range(4)], "8M")
    # equal distances: node_load spreads the first remote node round-robin
    assert flat.zonelists() == [[0, 1, 2, 3], [1, 2, 3, 0], [2, 3, 0, 1], [3, 0, 1, 2]]
    assert Machine(topology=t).zonelist(2) == [2, 3, 1, 0]


def test_allocation_falls_back_along_the_asymmetric_zonelist():
    m = Machine(topology=Topology.from_slit(ASYM, ["4M", "8M", "8M", "8M"]), pcp=False)
    got = [m.pfn_to_nid(p) for p in (m.alloc_pages(0, cpu=1) for _ in range(3000)) if p is not None]
    assert got[0] == 1 and got[-1] == 2 and 0 not in got   # node 1, then node 2 (next in its zonelist)


@pytest.mark.parametrize("kwargs,message", [
    (dict(distances=[[10, 20], [20]], node_mem="4M"), "missing distance"),
    (dict(distances=[[11, 20], [20, 10]], node_mem="4M"), "local distance"),
    (dict(distances=[[10, 20], [20, 10]], node_mem=["4M", 1000]), "multiple of"),
    (dict(distances=[[10, 20], [20, 10]], node_mem="4M", cpus=[[0], [0]]), "CPU 0"),
    (dict(distances=[[10, 5], [20, 10]], node_mem="4M"), "11..254"),
])
def test_topology_validation(kwargs, message):
    with pytest.raises(TopologyError, match=message):
        Topology.from_slit(**kwargs)


def test_topology_from_sysfs(tmp_path):
    for n, (dist, cpus) in enumerate([("10 21", "0-1"), ("21 10", "2")]):
        d = tmp_path / f"node{n}"
        d.mkdir()
        (d / "distance").write_text(dist + "\n")
        (d / "cpulist").write_text(cpus + "\n")
        (d / "meminfo").write_text(f"Node {n} MemTotal:       16384 kB\nNode {n} MemFree: 1 kB\n")
    t = Topology.from_sysfs(tmp_path)
    assert t.distances == [[10, 21], [21, 10]] and t.cpu_to_node == [0, 0, 1] and t.node_mem(1) == 16 << 20


def test_weighted_interleave_is_exactly_five_to_two():
    m = Machine(topology=Topology.from_slit([[10, 21], [21, 10]], "64M"))
    m.set_mempolicy(0, "weighted_interleave", [0, 1], [5, 2])
    nodes = [m.pfn_to_nid(m.alloc_pages(0, cpu=0)) for _ in range(700)]
    assert nodes[:7] == [0, 0, 0, 0, 0, 1, 1] and nodes.count(0) == 500 and nodes.count(1) == 200
    assert m.numastat()[1]["interleave_hit"] == 200 and m.numastat()[1]["other_node"] == 200


def test_numastat_text_matches_the_kernels_layout(linux_capture):
    m = Machine(nodes=2, node_mem="16M")
    m.alloc_pages(0)
    real = (linux_capture / "after" / "node0_numastat.txt").read_text()
    assert [line.split()[0] for line in m.numastat_text(0).splitlines()] == \
           [line.split()[0] for line in real.splitlines()]
    assert m.numastat_text(0).startswith("numa_hit 1\n")


POLICIES = ["default", "local", "preferred", "preferred_many", "bind", "interleave", "weighted_interleave"]


@st.composite
def numa_runs(draw):
    n = draw(st.integers(2, 4))
    dist = [[10 if i == j else draw(st.integers(11, 40)) for j in range(n)] for i in range(n)]
    mems = [draw(st.sampled_from([512, 1024, 1536])) * 4096 for _ in range(n)]
    steps = []
    for _ in range(draw(st.integers(1, 200))):
        kind = draw(st.sampled_from(["alloc"] * 6 + ["free"] * 3 + ["policy"]))
        cpu = draw(st.integers(0, n - 1))
        if kind == "policy":
            nodes = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
            steps.append(("policy", cpu, draw(st.sampled_from(POLICIES)), nodes,
                          [draw(st.integers(1, 4)) for _ in nodes]))
        else:
            steps.append((kind, cpu, draw(st.integers(0, 3)), draw(st.booleans())))
    return dist, mems, steps


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(run=numa_runs())
def test_policies_match_reference(run):
    """Same node sequence and numastat as the pure-Python reference, under every policy."""
    dist, mems, steps = run
    m = Machine(topology=Topology.from_slit(dist, mems))
    ref = RefMachine.like(m)
    live = []
    for step in steps:
        if step[0] == "policy":
            _, cpu, mode, nodes, weights = step
            m.set_mempolicy(cpu, mode, nodes, weights)
            ref.set_mempolicy(cpu, mode, nodes, weights)
        elif step[0] == "alloc":
            _, cpu, order, movable = step
            pfn = m.alloc_pages(order, "movable" if movable else "unmovable", cpu=cpu)
            assert pfn == ref.alloc_pages(order, 1 if movable else 0, cpu)
            if pfn is not None:
                live.append((pfn, order))
        elif live:
            pfn, order = live.pop(step[2] % len(live))
            m.free_pages(pfn, order, cpu=step[1])
            ref.free_pages(pfn, order, step[1])
    assert [m.numastat()[n] for n in range(len(mems))] == ref.numastat


def test_numastat_identities():
    rng = random.Random(3)
    m = Machine(topology=Topology.from_slit(ASYM, "4M"), cpus_per_node=1)
    allocated = 0
    for i in range(6000):
        cpu = rng.randrange(4)
        if i % 500 == 0:
            m.set_mempolicy(cpu, rng.choice(["bind", "preferred", "interleave", "local"]), [rng.randrange(4)])
        if m.alloc_pages(0, cpu=cpu) is not None:
            allocated += 1
    ns = m.numastat()
    assert sum(s["numa_hit"] + s["numa_miss"] for s in ns.values()) == allocated
    assert sum(s["local_node"] + s["other_node"] for s in ns.values()) == allocated
    assert sum(s["numa_foreign"] for s in ns.values()) == sum(s["numa_miss"] for s in ns.values()) > 0


def test_mempolicy_ops_in_a_trace():
    m = Machine(topology=Topology.from_slit([[10, 21], [21, 10]], "16M"), pcp=False)
    rec = trace.empty(5)
    rec[0] = (Op.MEMPOLICY, 3, 0, 0, trace.NO_ID, 0, 0b11)          # interleave over both nodes
    rec[1] = (Op.PAGE_ALLOC, 1, 0, 0, 0, 0, trace.NO_NODE)
    rec[2] = (Op.PAGE_ALLOC, 1, 0, 0, 1, 0, trace.NO_NODE)
    rec[3] = (Op.MEMPOLICY, 2, 0, 0, trace.NO_ID, 0, 0)             # bind with no nodes: rejected
    rec[4] = (Op.MEMPOLICY_WEIGHT, 0, 0, 0, trace.NO_ID, 1, 300)    # weight out of range
    res = m.replay(rec, results=True)
    assert [m.pfn_to_nid(int(p)) for p in res.results[1:3]] == [0, 1]
    assert [(e.record, e.kind) for e in res.errors] == [(3, "bad_arg"), (4, "bad_arg")]


def test_access_aware_policy_avoids_busy_nodes():
    m = Machine(topology=Topology.from_slit([[10, 21], [21, 10]], "16M"))
    rec = trace.empty(2001)
    rec[0] = (Op.PAGE_ALLOC, 1, 0, 0, 0, 0, trace.NO_NODE)
    for i in range(2000):
        rec[1 + i] = (Op.LOAD, 0, 0, 0, 0, 8, (i * 8) % 4096)   # 2000 accesses land on node 0
    assert m.replay(rec).ok
    m.set_access_aware(0, threshold=1000)
    assert {m.pfn_to_nid(m.alloc_pages(0, cpu=0)) for _ in range(5)} == {1}
    m.set_access_aware(0, threshold=5000)                         # node 0 is cool enough again
    assert m.pfn_to_nid(m.alloc_pages(0, cpu=0)) == 0


def test_memoryless_node_and_topology_descriptions(tmp_path):
    m = Machine(topology=Topology.from_slit([[10, 20], [20, 10]], ["16M", 0]))
    assert m.pfn_to_nid(m.alloc_pages(0, cpu=1)) == 0 and m.numastat()[0]["other_node"] == 1
    p = tmp_path / "t.toml"
    p.write_text('[topology]\ndistances = [[10, 21], [21, 10]]\nnode_mem = "8M"\ncpus = [[0, 1], [2]]\n')
    t = Topology.from_toml(p)
    assert t.cpu_to_node == [0, 0, 1]
    with pytest.raises(TopologyError, match="unknown key 'nodes'"):
        Topology.from_dict({"nodes": 2})
    with pytest.raises(TopologyError, match="missing key 'node_mem'"):
        Topology.from_dict({"distances": [[10]]})
    (tmp_path / "bad.toml").write_text("[topology\n")
    with pytest.raises(TopologyError, match="bad.toml"):
        Topology.from_toml(tmp_path / "bad.toml")


def test_qemu_arguments_with_and_without_hmat():
    plain = Topology.from_slit([[10, 21], [21, 10]], ["256M", "256M"], cpus=[[0, 1], [2]]).qemu_args()
    assert plain[:4] == ["-m", "512M", "-smp", "3"] and "hmat=on" not in plain
    assert "node,nodeid=0,memdev=m0,cpus=0-1" in plain and "dist,src=1,dst=0,val=21" in plain
    t = Topology.from_slit([[10, 30], [30, 10]], ["256M", "512M"], cpus=[[0], []],
                           latency=[[80, 200], [200, 80]], bandwidth=[[1000, 200], [200, 1000]])
    args = t.qemu_args()
    assert args[4:6] == ["-machine", "hmat=on"]
    assert "node,nodeid=1,memdev=m1,initiator=0" in args      # the CPU-less node names its initiator
    assert "hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-latency,latency=200" in args
    assert "hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-bandwidth,bandwidth=200M" in args
    assert not any("initiator=1," in a for a in args)
