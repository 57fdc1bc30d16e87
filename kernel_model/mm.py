"""Constants of the modelled memory subsystem, named as in Linux mm: the C headers' values
(kernel_model/core/mm_types.h, through the extension)."""

from __future__ import annotations

from kernel_model._core import (
    MAX_PAGE_ORDER,
    MIGRATE_HIGHATOMIC,
    MIGRATE_ISOLATE,
    MIGRATE_MOVABLE,
    MIGRATE_PCPTYPES,
    MIGRATE_RECLAIMABLE,
    MIGRATE_TYPES,
    MIGRATE_UNMOVABLE,
    MIGRATETYPE_NAMES,
    NR_PAGE_ORDERS,
    PAGE_ALLOC_COSTLY_ORDER,
    PAGE_SHIFT,
    PAGE_SIZE,
    PAGEBLOCK_NR_PAGES,
    PAGEBLOCK_ORDER,
)

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


__all__ = ["LOCAL_DISTANCE", "MAX_PAGE_ORDER", "MIGRATETYPE_NAMES", "MIGRATE_HIGHATOMIC", "MIGRATE_ISOLATE",
           "MIGRATE_MOVABLE", "MIGRATE_PCPTYPES", "MIGRATE_RECLAIMABLE", "MIGRATE_TYPES", "MIGRATE_UNMOVABLE",
           "NR_PAGE_ORDERS", "PAGEBLOCK_NR_PAGES", "PAGEBLOCK_ORDER", "PAGE_ALLOC_COSTLY_ORDER", "PAGE_SHIFT",
           "PAGE_SIZE", "REMOTE_DISTANCE", "ZONE_NAME", "migratetype_of"]
