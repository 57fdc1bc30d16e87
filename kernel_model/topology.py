"""NUMA topology: nodes with memory and CPUs, SLIT distances (and optional HMAT figures),
as a networkx graph. It gives the Machine its layout and zonelists and renders QEMU's
-numa options for the guest side."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import networkx as nx

from kernel_model.mm import LOCAL_DISTANCE, PAGE_SIZE
from kernel_model.units import parse_size
from kernel_model.zonelist import build_zonelists


class TopologyError(ValueError):
    """A topology that cannot be: the message names the node or pair; `key` is the description's
    key at fault (distances, node_mem, cpus, latency, bandwidth) when one is."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class Topology:
    """Nodes 0..n-1; graph node attributes mem (bytes) and cpus (list); edge attribute distance
    (a directed graph: SLIT distances need not be symmetric); optional HMAT latency (ns) and
    bandwidth (MB/s) per initiator/target pair as edge attributes."""

    def __init__(self, graph: nx.DiGraph) -> None:
        self.graph = graph
        self._validate()

    @classmethod
    def from_slit(cls, distances: Sequence[Sequence[int]], node_mem: int | str | Sequence[int | str],
                  cpus: Sequence[Sequence[int]] | None = None, latency=None, bandwidth=None) -> Topology:
        """From a SLIT matrix; node_mem one size for all or one per node; cpus per node
        (default: one CPU per node, numbered by node). Values come from users (TOML, the
        command line): every one is checked for its type and range here."""
        n = len(_rows(distances, "distances"))
        if n == 0:
            raise TopologyError("topology: no nodes", "distances")
        distances = _matrix(distances, "distances", n, 0, 255)
        if isinstance(node_mem, (int, str)) and not isinstance(node_mem, bool):
            mems = [node_mem] * n
        elif isinstance(node_mem, (list, tuple)):
            mems = list(node_mem)
        else:
            raise TopologyError(f"topology: node_mem {_show(node_mem)} is not a size or a list of sizes", "node_mem")
        if len(mems) != n:
            raise TopologyError(f"topology: {len(mems)} memory sizes for {n} nodes", "node_mem")
        if cpus is None:
            cpus = [[i] for i in range(n)]
        else:
            cpus = [[_integer(c, f"cpus[{i}]", 0, MAX_CPU_ID) for c in _rows(row, f"cpus[{i}]")]
                    for i, row in enumerate(_rows(cpus, "cpus"))]
        if len(cpus) != n:
            raise TopologyError(f"topology: {len(cpus)} CPU lists for {n} nodes", "cpus")
        latency = None if latency is None else _matrix(latency, "latency", n, 1, (1 << 32) - 1)
        bandwidth = None if bandwidth is None else _matrix(bandwidth, "bandwidth", n, 1, (1 << 32) - 1)
        g = nx.DiGraph()
        for i in range(n):
            try:
                mem = parse_size(mems[i])
            except (TypeError, ValueError) as e:
                raise TopologyError(f"node {i}: {e}", "node_mem") from None
            g.add_node(i, mem=mem, cpus=cpus[i])
        for i, row in enumerate(distances):
            for j, d in enumerate(row):
                attrs = {"distance": d}
                if latency is not None:
                    attrs["latency"] = latency[i][j]
                if bandwidth is not None:
                    attrs["bandwidth"] = bandwidth[i][j]
                g.add_edge(i, j, **attrs)
        return cls(g)

    @classmethod
    def from_dict(cls, d: Mapping, where: str = "topology") -> Topology:
        """From a description: {"distances": [[10, 21], [21, 10]], "node_mem": "256M" or [...],
        "cpus": [[0], [1]], optional "latency" and "bandwidth" matrices (HMAT)}."""
        if not isinstance(d, Mapping):
            raise TopologyError(f"{where}: expected a table, got {_show(d)}")
        unknown = set(d) - {"distances", "node_mem", "cpus", "latency", "bandwidth"}
        if unknown:
            raise TopologyError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        for key in ("distances", "node_mem"):
            if key not in d:
                raise TopologyError(f"{where}: missing key {key!r}")
        try:
            return cls.from_slit(d["distances"], d["node_mem"], d.get("cpus"), d.get("latency"), d.get("bandwidth"))
        except TopologyError as e:
            raise TopologyError(f"{where}: {str(e).removeprefix('topology: ')}", e.key) from None

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> Topology:
        """From a TOML file with a [topology] table (or the keys at the top)."""
        import tomllib

        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise TopologyError(f"{path}: {getattr(e, 'strerror', None) or e}") from None
        except UnicodeDecodeError as e:
            raise TopologyError(f"{path}: not UTF-8 text (byte {e.start})") from None
        return cls.from_dict(data.get("topology", data), f"{path}: topology")

    @classmethod
    def from_sysfs(cls, root: str | os.PathLike = "/sys/devices/system/node") -> Topology:
        """This host's topology from /sys/devices/system/node."""
        root = Path(root)
        nodes = sorted(int(p.name[4:]) for p in root.glob("node[0-9]*"))
        if not nodes:
            raise TopologyError(f"{root}: no NUMA nodes")
        dist, mems, cpus = [], [], []
        for n in nodes:
            d = root / f"node{n}"
            dist.append([int(x) for x in (d / "distance").read_text().split()])
            kb = next(int(line.split()[3]) for line in (d / "meminfo").read_text().splitlines() if "MemTotal" in line)
            mems.append(kb * 1024 // PAGE_SIZE * PAGE_SIZE)
            cpus.append(_parse_cpulist((d / "cpulist").read_text().strip()))
        return cls.from_slit(dist, mems, cpus)

    def _validate(self) -> None:
        n = self.nr_nodes
        if sorted(self.graph.nodes) != list(range(n)):
            raise TopologyError("topology: nodes must be numbered 0..n-1")
        seen_cpus: set[int] = set()
        for i in range(n):
            mem = self.graph.nodes[i]["mem"]
            if mem % PAGE_SIZE:
                raise TopologyError(f"node {i}: memory {mem} is not a multiple of the {PAGE_SIZE}-byte page",
                                    "node_mem")
            for cpu in self.graph.nodes[i]["cpus"]:
                if cpu in seen_cpus:
                    raise TopologyError(f"node {i}: CPU {cpu} is already on another node", "cpus")
                seen_cpus.add(cpu)
            for j in range(n):
                if not self.graph.has_edge(i, j):
                    raise TopologyError(f"SLIT: missing distance from node {i} to node {j}", "distances")
                d = self.graph.edges[i, j]["distance"]
                if i == j and d != LOCAL_DISTANCE:
                    raise TopologyError(f"SLIT: local distance of node {i} is {d}, must be {LOCAL_DISTANCE}",
                                        "distances")
                if i != j and not LOCAL_DISTANCE < d <= 254:
                    raise TopologyError(f"SLIT: distance {i}->{j} is {d}, must be 11..254", "distances")
        if seen_cpus != set(range(len(seen_cpus))):
            raise TopologyError("topology: CPUs must be numbered 0..n-1 across the nodes", "cpus")
        if not seen_cpus:
            raise TopologyError("topology: no CPUs", "cpus")

    @property
    def nr_nodes(self) -> int:
        return self.graph.number_of_nodes()

    @property
    def distances(self) -> list[list[int]]:
        n = self.nr_nodes
        return [[self.graph.edges[i, j]["distance"] for j in range(n)] for i in range(n)]

    def node_mem(self, node: int) -> int:
        return self.graph.nodes[node]["mem"]

    def cpus(self, node: int) -> list[int]:
        return list(self.graph.nodes[node]["cpus"])

    @property
    def cpu_to_node(self) -> list[int]:
        owner = {cpu: n for n in range(self.nr_nodes) for cpu in self.cpus(n)}
        return [owner[c] for c in range(len(owner))]

    @property
    def has_bandwidth(self) -> bool:
        return all("bandwidth" in self.graph.edges[e] for e in self.graph.edges)

    def bandwidths(self) -> list[list[float]]:
        n = self.nr_nodes
        return [[self.graph.edges[i, j]["bandwidth"] for j in range(n)] for i in range(n)]

    def latencies(self) -> list[list[int]]:
        """Access latency in ns per (CPU node, memory node): HMAT latency where given, else 10 ns
        per SLIT distance unit (so a local access costs 100 ns)."""
        n = self.nr_nodes
        return [[int(self.graph.edges[i, j].get("latency", 10 * self.graph.edges[i, j]["distance"]))
                 for j in range(n)] for i in range(n)]

    def zonelists(self) -> list[list[int]]:
        """Linux's zonelist order (find_next_best_node) of every node."""
        n = self.nr_nodes
        return build_zonelists(self.distances, [bool(self.cpus(i)) for i in range(n)],
                               [self.node_mem(i) > 0 for i in range(n)])

    @property
    def has_latency(self) -> bool:
        return all("latency" in self.graph.edges[e] for e in self.graph.edges)

    def qemu_args(self, backend: str = "memory-backend-ram", mem_path: str | None = None) -> list[str]:
        """-m/-smp/-object/-numa options for a guest with this topology; with HMAT figures also
        -machine hmat=on and -numa hmat-lb entries (initiators: the nodes with CPUs). With mem_path
        (a directory) each node's RAM is a file there, shared with the host (mem_path/node<i>)."""
        if mem_path is not None:
            backend = "memory-backend-file"
        n = self.nr_nodes
        total = sum(self.node_mem(i) for i in range(n))
        hmat = self.has_latency or self.has_bandwidth
        initiators = [i for i in range(n) if self.cpus(i)]
        args = ["-m", f"{total >> 20}M", "-smp", str(len(self.cpu_to_node))]
        if hmat:
            args += ["-machine", "hmat=on"]
        for i in range(n):
            shared = f",mem-path={mem_path}/node{i},share=on" if mem_path is not None else ""
            args += ["-object", f"{backend},id=m{i},size={self.node_mem(i) >> 20}M{shared}"]
            cpus = self.cpus(i)
            numa = f"node,nodeid={i},memdev=m{i}"
            if cpus:
                numa += f",cpus={min(cpus)}-{max(cpus)}" if len(cpus) > 1 else f",cpus={cpus[0]}"
            elif hmat:   # a CPU-less node names its nearest initiator
                numa += f",initiator={min(initiators, key=lambda k: (self.distances[i][k], k))}"
            args += ["-numa", numa]
        for i in range(n):
            for j in range(n):
                if i != j:
                    args += ["-numa", f"dist,src={i},dst={j},val={self.distances[i][j]}"]
        for i in initiators if hmat else []:
            for j in range(n):
                e = self.graph.edges[i, j]
                if "latency" in e:
                    args += ["-numa", f"hmat-lb,initiator={i},target={j},hierarchy=memory,"
                                      f"data-type=access-latency,latency={int(e['latency'])}"]
                if "bandwidth" in e:
                    args += ["-numa", f"hmat-lb,initiator={i},target={j},hierarchy=memory,"
                                      f"data-type=access-bandwidth,bandwidth={int(e['bandwidth'])}M"]
        return args


MAX_CPU_ID = (1 << 31) - 1   # CPU numbers are checked to be 0..n-1 once all are read


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _rows(value, what: str) -> list:
    if not isinstance(value, (list, tuple)):
        raise TopologyError(f"topology: {what} must be a list, got {_show(value)}", what.split("[")[0])
    return list(value)


def _integer(value, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise TopologyError(f"topology: {what}: expected an integer in {lo}..{hi}, got {_show(value)}",
                            what.split("[")[0])
    return value


def _matrix(value, what: str, n: int, lo: int, hi: int) -> list[list[int]]:
    """An n x n matrix of integers in lo..hi."""
    rows = _rows(value, what)
    if len(rows) != n:
        raise TopologyError(f"topology: {what} has {len(rows)} rows for {n} nodes", what)
    out = []
    for i, row in enumerate(rows):
        row = _rows(row, f"{what}[{i}]")
        if len(row) != n:
            kind = "missing distance" if what == "distances" else f"{n} expected"
            raise TopologyError(f"topology: {what} row {i}: {len(row)} values for {n} nodes ({kind})", what)
        out.append([_integer(x, f"{what}[{i}][{j}]", lo, hi) for j, x in enumerate(row)])
    return out


def _parse_cpulist(text: str) -> list[int]:
    cpus: list[int] = []
    for part in filter(None, text.split(",")):
        lo, _, hi = part.partition("-")
        cpus += list(range(int(lo), int(hi or lo) + 1))
    return cpus
