"""Constants of the modelled memory subsystem, named as in Linux mm."""

from __future__ import annotations

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
MAX_PAGE_ORDER = 10  # inclusive: orders 0..10
NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1
PAGEBLOCK_ORDER = 9
PAGEBLOCK_NR_PAGES = 1 << PAGEBLOCK_ORDER
PAGE_ALLOC_COSTLY_ORDER = 3  # highest order kept on per-CPU lists

# Migratetypes in the kernel's order (CONFIG_MEMORY_ISOLATION=y, no CMA), with
# the names /proc/pagetypeinfo prints.
MIGRATE_UNMOVABLE, MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE, MIGRATE_HIGHATOMIC, MIGRATE_ISOLATE = range(5)
MIGRATE_PCPTYPES = 3
MIGRATETYPE_NAMES = ("Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate")
MIGRATE_TYPES = len(MIGRATETYPE_NAMES)

ZONE_NAME = "Normal"  # one zone per node, as on a 64-bit machine whose memory is above 4 GiB

LOCAL_DISTANCE = 10
REMOTE_DISTANCE = 20


def migratetype_of(value: int | str) -> int:
    """Map "movable" / "Movable" / 1 to the migratetype number an allocation may request."""
    if isinstance(value, str):
        names = [n.lower() for n in MIGRATETYPE_NAMES[:MIGRATE_PCPTYPES]]
        try:
            return names.index(value.lower())
        except ValueError:
            raise ValueError(f"unknown migratetype {value!r}: expected one of {', '.join(names)}") from None
    if not 0 <= int(value) < MIGRATE_PCPTYPES:
        raise ValueError(f"migratetype {value} out of range 0..{MIGRATE_PCPTYPES - 1}")
    return int(value)
