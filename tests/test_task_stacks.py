"""Per-task stacks (TASK records): by hand, against the pure-Python reference under random
streams, the suggestions (dominant frames, recursion) by hand, and the task-stacks scenario."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from test_scenarios import validate_report

from kernel_model import Machine, Op
from kernel_model._core import MM_MAX_TASKS
from kernel_model.reference.stack import RefStacks
from sim.profilers.stack import StackProfiler, frame_suggestions, recursion
from sim.scenario import run_scenario
from sim.workloads import task_stacks
from sim.workloads.script import Workload

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def test_tasks_keep_their_own_stacks_by_hand():
    m = Machine(nodes=1, node_mem="16M", cpus_per_node=2)
    prof = StackProfiler(m, stack_size=550)
    w = Workload(cpus=2)
    w.task(5, cpu=0)
    w.call("a", 100, cpu=0)
    w.call("b", 200, cpu=0)
    w.task(7, cpu=0)                  # task 5 is preempted with 300 bytes on its stack
    w.call("c", 50, cpu=0)
    w.task(5, cpu=1)                  # task 5 resumes on CPU 1
    w.call("d", 300, cpu=1)           # 600 > 550: an overflow of task 5's stack
    w.ret(cpu=1)
    w.call("e", 10, cpu=1)
    res = m.replay(w.trace())
    assert res.ok
    assert m.cpu_tasks() == [7, 5]
    assert [s["depth"] for s in m.stacks()[0]] == [0, 0]                    # the CPUs' own tasks did nothing
    assert m.snapshot().stack_depth[0].tolist() == [50, 310]               # the tasks they run now
    tasks = m.task_stacks()
    assert tasks[5]["high_water"] == 600 and tasks[5]["hw_cpu"] == 1 and tasks[5]["overflows"] == 1
    assert tasks[5]["chain_bytes"] == [100, 200, 300] and tasks[5]["depth"] == 310 and tasks[5]["on_cpu"] == 1
    assert tasks[7] == {**tasks[7], "high_water": 50, "calls": 1, "on_cpu": 0}
    out = prof.result()
    assert out["deepest_chain"] == {"cpu": 1, "bytes": 600, "functions": ["a", "b", "d"],
                                    "frame_bytes": [100, 200, 300], "task": 5}
    assert [(t["task"], t["high_water"], t["overflows"]) for t in out["tasks"]] == [(5, 600, 1), (7, 50, 0)]
    assert out["kstack_buckets"]["kstack_1k"] == 2


def test_a_task_taken_by_another_cpu_leaves_the_first_to_its_own_task():
    m = Machine(nodes=1, node_mem="16M", cpus_per_node=2)
    m.enable_stacks()
    w = Workload(cpus=2)
    w.task(3, cpu=0)
    w.task(3, cpu=1)
    w.call("x", 64, cpu=0)            # CPU 0 runs its own task again
    w.task(None, cpu=1)
    m.replay(w.trace())
    assert m.cpu_tasks() == [-1, -1]
    assert m.stacks()[0][0]["high_water"] == 64 and m.task_stacks() == {}


def test_task_ids_out_of_range_are_bad_records_with_or_without_the_stack_model():
    for stacks in (True, False):
        m = Machine(nodes=1, node_mem="16M")
        if stacks:
            m.enable_stacks()
        w = Workload()
        w._emit(Op.TASK, arg0=MM_MAX_TASKS)
        w.task(MM_MAX_TASKS - 1)
        w.task(None)
        res = m.replay(w.trace())
        assert res.error_counts == {"bad_arg": 1} and res.errors[0].record == 0


stream = st.lists(st.one_of(
    st.tuples(st.just("task"), st.integers(0, 2), st.one_of(st.none(), st.integers(0, 5))),
    st.tuples(st.just("call"), st.integers(0, 2), st.integers(1, 4), st.integers(1, 300)),
    st.tuples(st.just("ret"), st.integers(0, 2))), max_size=200)


@settings(max_examples=200, deadline=None)
@given(stream)
def test_the_stack_model_matches_the_reference(ops):
    m = Machine(nodes=1, node_mem="16M", cpus_per_node=3)
    m.enable_stacks(1000)
    ref = RefStacks(3, 1000)
    w = Workload(cpus=3)
    sites = {}
    for op in ops:
        if op[0] == "task":
            w.task(op[2], cpu=op[1])
            ref.task(op[1], op[2])
        elif op[0] == "call":
            w.call(f"f{op[2]}", op[3], cpu=op[1])
            sites[op[2]] = w._site(f"f{op[2]}")
            ref.call(op[1], sites[op[2]], op[3])
        else:
            w.ret(cpu=op[1])
            ref.ret(op[1])
    res = m.replay(w.trace())
    assert res.nr_errors == ref.errors

    def view(s):
        return (s["depth"], s["high_water"], s["overflows"], s["calls"], list(zip(s["chain"], s["chain_bytes"],
                                                                                    strict=True)))

    def ref_view(s):
        return (s.depth, s.high_water, s.overflows, s.calls, s.chain)

    assert [view(s) for s in m.stacks()[0]] == [ref_view(s) for s in ref.cpus]
    assert {t: view(s) for t, s in m.task_stacks().items()} == \
        {t: ref_view(s) for t, s in ref.tasks.items() if s.calls}
    assert m.cpu_tasks() == [-1 if t is None else t for t in ref.running]


def test_suggestions_by_hand():
    fns = ["a", "b", "c", "c", "c", "d", "e", "d", "e"]
    sizes = [100, 1000, 50, 50, 50, 200, 80, 200, 80]          # 1,810 bytes, lower median 80
    assert frame_suggestions(fns, sizes, 1810) == [
        {"function": "b", "frame": 1000, "occurrences": 1, "bytes_saved": 920, "share": 1000 / 1810,
         "median_frame": 80, "high_water_after": 890},
        {"function": "d", "frame": 200, "occurrences": 2, "bytes_saved": 240, "share": 200 / 1810,
         "median_frame": 80, "high_water_after": 1570}]
    assert recursion(fns, sizes) == [
        {"functions": ["c"], "kind": "self", "depth": 3, "frames": 3, "first_frame": 2, "bytes": 150,
         "bytes_saved": 100},
        {"functions": ["d", "e"], "kind": "mutual", "depth": 2, "frames": 4, "first_frame": 5, "bytes": 560,
         "bytes_saved": 280}]
    assert recursion(["a", "b", "a", "c", "b"], [1, 2, 3, 4, 5])[0]["functions"] == ["a", "b", "c"]   # overlaps merge
    assert recursion(["a", "b"], [1, 2]) == [] and frame_suggestions([], [], 0) == []


def test_the_task_stacks_workload_switches_tasks_and_resumes_their_chains():
    t = task_stacks.task_stacks(tasks=4, cpus=2, slices=50, seed=1)
    rec = t.records
    assert set(rec["arg0"][rec["op"] == Op.TASK].tolist()) <= set(range(4))
    m = Machine(nodes=1, node_mem="16M", cpus_per_node=2)
    m.enable_stacks()
    assert m.replay(t).ok
    assert all(s["calls"] == 0 for s in m.stacks()[0]) and len(m.task_stacks()) == 4


def test_the_task_stacks_scenario(tmp_path):
    report = run_scenario(SCENARIOS / "task-stacks.toml", ["workload.slices=1500"], out=tmp_path).report
    validate_report(report)
    shallow, deep = (v["stack"] for v in report["variants"])
    for r, levels in ((shallow, 24), (deep, 80)):
        chain = r["deepest_chain"]
        walk = chain["functions"].count("ext4_ext_walk_tree")
        assert chain["functions"][0] == "sys_ioctl" and chain["functions"][-1] == "xts_decrypt"
        # sys_ioctl .. ext4_ext_map_blocks, the walk, the leaf read and fscrypt, then xts_decrypt's frame
        assert chain["bytes"] == 752 + 176 * walk + 352 + 1536 and 1 <= walk <= levels
        top = r["suggestions"]["recursion"][0]
        assert (top["functions"], top["kind"], top["depth"]) == (["ext4_ext_walk_tree"], "self", walk)
        assert top["bytes_saved"] == 176 * (walk - 1)
        # xts_decrypt's frame dominates the chain as long as it holds a tenth of it
        dominant = [f["function"] for f in r["suggestions"]["frames"]]
        assert dominant == (["xts_decrypt"] if 1536 >= 0.1 * chain["bytes"] else [])
        cycles = {tuple(x["functions"]) for x in r["suggestions"]["recursion"]}
        assert ("link_path_walk", "pick_link", "step_into", "walk_component") in cycles
    assert sum(t["overflows"] for t in shallow["tasks"]) == 0 < sum(t["overflows"] for t in deep["tasks"])
    assert (tmp_path / "charts" / "extents-80.stack_tasks.svg").exists()
