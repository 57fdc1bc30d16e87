"""Tasks sharing CPUs, each on its own kernel stack: TASK records switch the task a CPU runs (a
task picked up elsewhere moves), and each task resumes its call chain where it was preempted.
Tasks take turns at four kinds of system call, by task number:

- read:     sys_read down the ext4 read path to the NVMe driver (plain frames)
- open:     path walks that follow `symlinks` nested symbolic links: link_path_walk ->
            walk_component -> step_into -> pick_link -> link_path_walk ... (mutual recursion)
- fiemap:   an extent-tree walk recursing up to `extent_depth` levels (ext4_ext_walk_tree calls
            itself: self-recursion), whose leaf block is decrypted in place by fscrypt with a
            `big_frame`-byte frame (xts_decrypt's on-stack buffers)
- sendmsg:  a TLS send encrypting in gcm_encrypt (another large frame)
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from kernel_model.trace import Trace
from sim.workloads.generator import Generator, count, cpus
from sim.workloads.script import Workload

READ = (("sys_read", 96), ("vfs_read", 128), ("ext4_file_read_iter", 160), ("filemap_read", 384),
        ("filemap_get_pages", 144), ("page_cache_sync_ra", 112), ("read_pages", 256), ("ext4_mpage_readpages", 512),
        ("submit_bio", 144), ("blk_mq_submit_bio", 208), ("nvme_queue_rq", 320))
OPEN_HEAD = (("sys_openat", 80), ("do_sys_openat2", 112), ("do_filp_open", 96), ("path_openat", 176))
OPEN_LINK = (("link_path_walk", 208), ("walk_component", 144), ("step_into", 128), ("pick_link", 160))
OPEN_TAIL = (("lookup_fast", 96), ("nfs_lookup_revalidate", 64))
FIEMAP_HEAD = (("sys_ioctl", 96), ("ext4_ioctl", 224), ("ext4_fiemap", 192), ("ext4_ext_map_blocks", 240))
WALK = ("ext4_ext_walk_tree", 176)
FIEMAP_TAIL = (("ext4_read_extent_block", 128), ("fscrypt_decrypt_block_inplace", 96),
               ("crypto_skcipher_decrypt", 128))
SEND = (("sys_sendmsg", 96), ("sock_sendmsg", 112), ("tls_sw_sendmsg", 288), ("tls_push_record", 160),
        ("crypto_aead_encrypt", 128))
KINDS = ("read", "open", "fiemap", "sendmsg")


def _chains(kind: str, rng: np.random.Generator, symlinks: int, extent_depth: int,
            big_frame: int) -> Iterator[list[tuple[str, int]]]:
    """One call chain after another for a task of this kind."""
    while True:
        if kind == "read":
            yield list(READ[: int(rng.integers(4, len(READ) + 1))])
        elif kind == "open":
            yield [*OPEN_HEAD, *OPEN_LINK * int(rng.integers(1, symlinks + 1)), *OPEN_TAIL]
        elif kind == "fiemap":
            yield [*FIEMAP_HEAD, *[WALK] * int(rng.integers(1, extent_depth + 1)), *FIEMAP_TAIL,
                   ("xts_decrypt", big_frame)]
        else:
            yield [*SEND, ("gcm_encrypt", big_frame // 2)]


def task_stacks(tasks: int = 12, cpus: int = 4, slices: int = 3000, slice_ops: int = 48, symlinks: int = 6,
                extent_depth: int = 24, big_frame: int = 1536, seed: int = 0) -> Trace:
    """`slices` scheduling slices: each puts a random task on the next CPU (a TASK record) and
    runs up to `slice_ops` of its CALL/RET records, its chains resuming where they stopped."""
    if tasks <= 0 or cpus <= 0 or slices <= 0 or slice_ops <= 0 or symlinks <= 0 or extent_depth <= 0:
        raise ValueError("need tasks, cpus, slices, slice_ops, symlinks and extent_depth > 0")
    rng = np.random.default_rng(seed)
    w = Workload(cpus=cpus)
    chains = [_chains(KINDS[t % len(KINDS)], rng, symlinks, extent_depth, big_frame) for t in range(tasks)]
    pending: list[list[tuple[str, int] | None]] = [[] for _ in range(tasks)]   # a frame to call, None: return
    for s in range(slices):
        cpu, task = s % cpus, int(rng.integers(tasks))
        w.task(task, cpu=cpu)
        for _ in range(int(rng.integers(1, slice_ops + 1))):
            if not pending[task]:
                chain = next(chains[task])
                pending[task] = [*chain, *[None] * len(chain)]
            frame = pending[task].pop(0)
            if frame is None:
                w.ret(cpu=cpu)
            else:
                w.call(frame[0], frame[1], cpu=cpu)
    return w.trace()


GENERATOR = Generator("task_stacks", task_stacks, (
    count("tasks", max=1 << 14, doc="tasks taking turns on the CPUs, each on its own stack"), cpus(),
    count("slices", doc="scheduling slices: a task switched onto a CPU, running some of its calls"),
    count("slice_ops", max=4096, doc="most CALL/RET records a slice runs"),
    count("symlinks", max=40, doc="most nested symbolic links a path walk follows (mutual recursion)"),
    count("extent_depth", max=200, doc="deepest extent-tree walk (self-recursion)"),
    count("big_frame", min=8, max=8192, doc="bytes of xts_decrypt's frame (gcm_encrypt's is half)"),
), "tasks switched on and off CPUs (TASK), each with its own stack and call chains")
