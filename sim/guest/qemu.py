"""Run the firmware in QEMU on a NUMA topology, driven over QMP, and read what it wrote.

Everything QEMU touches lives in a private directory (0700): the QMP socket, the debugcon
log and each node's RAM as a file (memory-backend-file, share=on), so the host reads guest
memory while the guest runs and after it exits. QEMU starts paused (-S); over QMP the host
checks that the memory devices and NUMA nodes are the ones asked for, then `cont`s and waits
for the exit. Every step has a timeout; QEMU is killed and the directory removed on success,
failure, timeout and Ctrl-C alike; SIGTERM and SIGHUP are handled as Ctrl-C is. QEMU never
outlives memsim: it gets SIGKILL when its parent dies (PR_SET_PDEATHSIG), even a SIGKILLed one,
and the directory of a memsim process that died (named memsim-guest-<pid>-*) is removed by the
next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import mmap
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from qemu.qmp import QMPClient, QMPError

from kernel_model.topology import Topology
from kernel_model.trace import Trace
from kernel_model.trace import save as save_trace
from sim.guest.results import RESULTS_ADDR, RESULTS_DTYPE, STATUS, GuestResults

REPO = Path(__file__).resolve().parents[2]
FIRMWARE = REPO / "firmware" / "build" / "memsim-fw.elf"


class GuestError(RuntimeError):
    """The guest did not run to a clean end: the message says what happened."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, SIGTERM or SIGHUP during a guest run (QEMU killed, directory removed)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


WORKDIR_PREFIX = "memsim-guest-"
PR_SET_PDEATHSIG = 1            # <linux/prctl.h>
_prctl = ctypes.CDLL(None, use_errno=True).prctl   # loaded here: the child between fork and exec only calls it


def _die_with(parent: int):
    """preexec_fn: the child gets SIGKILL when the thread that started it dies, however it dies."""
    def preexec() -> None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:   # the parent died before prctl took effect
            os._exit(1)
    return preexec


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:      # another user's process
        return True
    return True


def remove_stale_workdirs(tmp: str | os.PathLike | None = None) -> list[Path]:
    """Remove the guest directories (and any QEMU still running in one) of memsim processes that
    died without cleaning up, e.g. SIGKILLed; returns the directories removed."""
    removed = []
    for d in Path(tmp or tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        m = re.fullmatch(rf"{WORKDIR_PREFIX}(\d+)-\w+", d.name)
        try:
            st = d.lstat()
        except OSError:
            continue
        if m is None or not d.is_dir() or d.is_symlink() or st.st_uid != os.getuid() or _alive(int(m[1])):
            continue
        with contextlib.suppress(OSError, ValueError):
            pid = int((d / "qemu.pid").read_text())
            if str(d) in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed


@dataclass
class GuestRun:
    """What one guest run left: its results area, per-record results, debug output, timings."""

    results: GuestResults
    record_results: bytes
    debug_log: str
    exit_status: int | None
    timings: dict[str, float] = field(default_factory=dict)
    topology_seen: dict = field(default_factory=dict)
    inspected: object = None          # what run(inspect=...) returned


class GuestMemory:
    """Guest physical memory through the nodes' RAM files (node i follows node i - 1)."""

    def __init__(self, files: list[Path], sizes: list[int]) -> None:
        self._maps = []
        base = 0
        for f, size in zip(files, sizes, strict=True):
            fd = os.open(f, os.O_RDONLY)
            try:
                self._maps.append((base, size, mmap.mmap(fd, size, prot=mmap.PROT_READ)))
            finally:
                os.close(fd)
            base += size

    def read(self, addr: int, n: int) -> bytes:
        out = bytearray()
        for base, size, m in self._maps:
            if n and base <= addr < base + size:
                take = min(n, base + size - addr)
                out += m[addr - base:addr - base + take]
                addr, n = addr + take, n - take
        if n:
            raise GuestError(f"guest address {addr:#x} is beyond its RAM")
        return bytes(out)

    def results(self) -> GuestResults:
        return GuestResults.parse(self.read(RESULTS_ADDR, RESULTS_DTYPE.itemsize))

    def close(self) -> None:
        for _, _, m in self._maps:
            m.close()
        self._maps = []


def qemu_binary() -> str:
    path = shutil.which("qemu-system-x86_64")
    if path is None:
        raise GuestError("qemu-system-x86_64 not found: run `make install` (it installs Debian's qemu-system-x86)")
    return path


def firmware() -> Path:
    if not FIRMWARE.exists():
        raise GuestError(f"{FIRMWARE} not built: run `make firmware`")
    return FIRMWARE


def command(topology: Topology, trace_path: Path, workdir: Path, cmdline: str = "", machine: str = "pc",
            accel: str = "tcg") -> list[str]:
    """The QEMU command line (no shell: a list of arguments)."""
    args = topology.qemu_args(mem_path=str(workdir))
    machine_opts = [machine]
    if "-machine" in args:   # hmat=on from the topology
        i = args.index("-machine")
        machine_opts.append(args[i + 1])
        del args[i:i + 2]
    return [qemu_binary(), "-accel", accel, "-machine", ",".join(machine_opts), *args,
            "-kernel", str(firmware()), "-initrd", str(trace_path), "-append", cmdline,
            "-nodefaults", "-display", "none", "-no-reboot", "-S", "-pidfile", f"{workdir}/qemu.pid",
            "-qmp", f"unix:{workdir}/qmp.sock,server=on,wait=off",
            "-debugcon", f"file:{workdir}/debugcon.log",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]


async def _run(topology: Topology, trace_path: Path, workdir: Path, cmdline: str, machine: str, accel: str,
               timeout: float, on_running=None, inspect=None) -> GuestRun:
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    # its own session: a Ctrl-C at the terminal reaches memsim, which stops QEMU itself
    proc = subprocess.Popen(command(topology, trace_path, workdir, cmdline, machine, accel),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, preexec_fn=_die_with(os.getpid()))
    qmp = QMPClient("memsim")
    sock = workdir / "qmp.sock"
    try:
        deadline = time.monotonic() + min(timeout, 10)
        while not sock.exists():
            if proc.poll() is not None:
                raise GuestError(_start_failure(proc))
            if time.monotonic() > deadline:
                raise GuestError("QEMU did not open its QMP socket within 10 s")
            await asyncio.sleep(0.005)
        try:
            await _connect(qmp, sock, proc, time.monotonic() + 10)
            timings["qemu_start_s"] = time.monotonic() - t0
            memdev = await _within(10, qmp.execute("query-memdev"))
            numa = await _within(10, qmp.execute("human-monitor-command", {"command-line": "info numa"}))
            _check_devices(topology, memdev, numa)
            # SHUTDOWN comes with a triple fault (-no-reboot); isa-debug-exit sends nothing: EOF
            shutdown = asyncio.ensure_future(_wait_shutdown(qmp.events))
            await _within(10, qmp.execute("cont"))
        except (QMPError, OSError, EOFError) as e:   # QEMU went away while being set up
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(2)
            raise GuestError(_start_failure(proc) if proc.poll() is not None else f"QMP: {e}") from None
        timings["cont_s"] = time.monotonic() - t0
        first = asyncio.ensure_future(_first_output(workdir / "debugcon.log", t0, timings))
        files = [workdir / f"node{i}" for i in range(topology.nr_nodes)]
        mem = GuestMemory(files, [topology.node_mem(i) for i in range(topology.nr_nodes)])
        stages = asyncio.ensure_future(_watch_stages(mem, t0, timings))
        hook = asyncio.ensure_future(on_running(qmp, mem, proc.pid)) if on_running is not None else None
        try:   # the timeout covers the hook too: it runs beside the wait
            exit_status = await _within(timeout, _exited(proc))
        except TimeoutError:
            raise GuestError(f"the guest did not finish within {timeout:g} s (hung?); QEMU was killed") from None
        finally:
            for task in (shutdown, first, stages, hook):
                if task is not None and not task.done():
                    task.cancel()
        if hook is not None and hook.done() and not hook.cancelled() and hook.exception() is not None:
            raise hook.exception()
        timings["run_s"] = time.monotonic() - t0
        timings.setdefault("first_event_s", timings["run_s"])   # output came and went between two polls
        reason = shutdown.result() if shutdown.done() and not shutdown.cancelled() else None
        log = (workdir / "debugcon.log").read_text(errors="replace") if (workdir / "debugcon.log").exists() else ""
        try:
            results = mem.results()
        except ValueError as e:
            raise GuestError(_explain(exit_status, reason, log, str(e))) from None
        if results.status != 0:
            raise GuestError(_explain(exit_status, reason, log, f"firmware status {results.status}: "
                                      f"{STATUS.get(results.status, 'unknown')}"))
        records = mem.read(int(results["results_addr"]), 8 * results.records) if results.records else b""
        if "replay_start_s" in timings and "replay_end_s" in timings:
            took = max(timings["replay_end_s"] - timings["replay_start_s"], 1e-3)
            timings["replay_ops_per_s"] = results.records / took
        inspected = inspect(mem) if inspect is not None else None
        mem.close()
        return GuestRun(results, records, log, exit_status, timings, inspected=inspected)
    finally:
        try:
            with contextlib.suppress(Exception):
                await _within(2, qmp.disconnect())
        finally:   # even when a second interrupt cuts the disconnect short
            _kill(proc)


async def _within(seconds: float, aw):
    """aw with a timeout. Not asyncio.wait_for: in Python 3.11 it returns the result of an
    awaitable that completes as the task is cancelled, and the cancel (a Ctrl-C) is lost."""
    async with asyncio.timeout(seconds):
        return await aw


async def _connect(qmp: QMPClient, sock: Path, proc: subprocess.Popen, deadline: float) -> None:
    """Connect to QMP; the socket exists (bound) a moment before QEMU listens on it."""
    while True:
        try:
            await _within(10, qmp.connect(str(sock)))
            return
        except (QMPError, OSError):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.01)


def _start_failure(proc: subprocess.Popen) -> str:
    err = proc.stderr.read().decode(errors="replace").strip().splitlines()
    return f"QEMU exited at start ({proc.returncode}): {err[-1] if err else 'no message'}"


async def _interruptible(run):
    """Await run with SIGINT, SIGTERM and SIGHUP cancelling it, so that one clean-up runs for all
    (QEMU killed, directory removed); then raise Interrupted (a KeyboardInterrupt)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    caught: list[int] = []
    installed = {}

    def stop(signum: int) -> None:
        caught.append(signum)
        if not task.done():   # again until it ends: a library that swallows one cancel must not hang us
            task.cancel()
            loop.call_later(0.1, stop, signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            previous = signal.getsignal(signum)
            loop.add_signal_handler(signum, stop, signum)
            installed[signum] = previous
        except (RuntimeError, ValueError):   # not the main thread: signals stay as they are
            pass
    try:
        return await run
    except asyncio.CancelledError:
        if caught:
            raise Interrupted(caught[0]) from None
        raise
    finally:
        for signum, previous in installed.items():
            loop.remove_signal_handler(signum)
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)


async def _exited(proc: subprocess.Popen) -> int:
    """QEMU's exit status, polled so that a Ctrl-C (task cancellation) stops the wait at once."""
    while proc.poll() is None:
        await asyncio.sleep(0.002)
    return proc.returncode


async def _first_output(log: Path, t0: float, timings: dict) -> None:
    """QEMU start to the guest's first debugcon byte."""
    while not (log.exists() and log.stat().st_size):
        await asyncio.sleep(0.0005)
    timings["first_event_s"] = time.monotonic() - t0


async def _watch_stages(mem: GuestMemory, t0: float, timings: dict) -> None:
    """When the replay starts and ends, seen through shared memory (stages 3 and 4 of results.h)."""
    while True:
        try:
            stage = mem.results()["stage"]
        except ValueError:
            stage = 0
        now = time.monotonic() - t0
        if stage >= 3 and "replay_start_s" not in timings:
            timings["replay_start_s"] = now
        if stage == 4:
            timings["replay_end_s"] = now
            return
        await asyncio.sleep(0.0005)


async def _wait_shutdown(events) -> str | None:
    while True:
        event = await events.get()
        if event["event"] == "SHUTDOWN":
            return event.get("data", {}).get("reason")


def _explain(exit_status: int | None, reason: str | None, log: str, what: str) -> str:
    if reason == "guest-reset":
        return "the guest triple-faulted (QEMU reported a guest reset)"
    if exit_status is not None and exit_status < 0:
        return f"QEMU was killed by signal {-exit_status}"
    last = log.strip().splitlines()[-1] if log.strip() else "no output"
    return f"{what} (QEMU exit {exit_status}; last guest line: {last!r})"


def _check_devices(topology: Topology, memdev: list[dict], numa: str) -> None:
    """query-memdev and `info numa` must show the nodes and sizes asked for."""
    sizes = sorted(d["size"] for d in memdev)
    want = sorted(topology.node_mem(i) for i in range(topology.nr_nodes))
    if sizes != want:
        raise GuestError(f"QEMU's memory devices {sizes} are not the topology's {want}")
    if f"{topology.nr_nodes} nodes" not in numa:
        raise GuestError(f"QEMU reports {numa.splitlines()[0] if numa else 'no NUMA'}, "
                         f"expected {topology.nr_nodes} nodes")


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.wait(5)
    for stream in (proc.stdout, proc.stderr):
        if stream:
            stream.close()


def run(topology: Topology, trace: Trace | str | os.PathLike, cmdline: str = "", machine: str = "pc",
        timeout: float = 120.0, accel: str = "tcg", on_running=None, inspect=None) -> GuestRun:
    """Boot the firmware with the trace (a Trace, or a trace file's bytes as they are) as its
    module on this topology; returns its results or raises GuestError. on_running(qmp, memory,
    pid), if given, runs while the guest does; inspect(memory), after it ended cleanly (its answer
    is run.inspected)."""
    remove_stale_workdirs()
    workdir = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-"))   # 0700; its owner by pid
    try:
        module = workdir / "trace.mtr"
        if isinstance(trace, Trace):
            save_trace(module, trace)
        else:
            shutil.copyfile(trace, module)
        run_ = asyncio.run(_interruptible(_run(topology, module, workdir, cmdline, machine, accel, timeout,
                                                on_running, inspect)))
        run_.topology_seen = {"nodes": run_.results.nodes(), "distances": run_.results.distances(),
                              "cpus": run_.results.cpus(), "hmat_latency": run_.results.hmat_latency()}
        return run_
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
