"""Fragmentation indices of Linux mm/vmstat.c, computed by the C core."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kernel_model import _core
from kernel_model.mm import MAX_PAGE_ORDER, NR_PAGE_ORDERS


def _nr_free_array(nr_free_per_order: Sequence[int] | np.ndarray) -> np.ndarray:
    arr = np.asarray(nr_free_per_order)
    if arr.shape != (NR_PAGE_ORDERS,):
        raise ValueError(f"need free block counts for orders 0..{MAX_PAGE_ORDER}, got shape {arr.shape}")
    if (arr < 0).any():
        raise ValueError("free block counts must not be negative")
    return np.ascontiguousarray(arr, dtype=np.uint64)


def _check_order(order: int) -> None:
    if not 0 <= order <= MAX_PAGE_ORDER:
        raise ValueError(f"order {order} out of range 0..{MAX_PAGE_ORDER}")


def extfrag_index(nr_free_per_order: Sequence[int] | np.ndarray, order: int) -> int:
    """Linux's fragmentation index in thousandths: -1000 if the request would succeed,
    0 if no free blocks, towards 1000 when failure is due to fragmentation (not clamped)."""
    _check_order(order)
    return _core.extfrag_index(_nr_free_array(nr_free_per_order), order)


def unusable_free_index(nr_free_per_order: Sequence[int] | np.ndarray, order: int) -> int:
    """Share of free memory unusable for an order-`order` request, in thousandths."""
    _check_order(order)
    return _core.unusable_free_index(_nr_free_array(nr_free_per_order), order)

