"""Mean and 95% confidence interval over a grid point's seeds (Student's t: a handful of seeds
is the normal case, where the normal approximation is far too narrow)."""

from __future__ import annotations

import math
from collections.abc import Sequence

# two-sided 95%: t(0.975, df); between the listed df the quantile is interpolated in 1/df,
# which is exact to the third decimal
T975 = {1: 12.7062, 2: 4.3027, 3: 3.1824, 4: 2.7764, 5: 2.5706, 6: 2.4469, 7: 2.3646, 8: 2.3060, 9: 2.2622,
        10: 2.2281, 11: 2.2010, 12: 2.1788, 13: 2.1604, 14: 2.1448, 15: 2.1314, 16: 2.1199, 17: 2.1098,
        18: 2.1009, 19: 2.0930, 20: 2.0860, 21: 2.0796, 22: 2.0739, 23: 2.0687, 24: 2.0639, 25: 2.0595,
        26: 2.0555, 27: 2.0518, 28: 2.0484, 29: 2.0452, 30: 2.0423, 40: 2.0211, 50: 2.0086, 60: 2.0003,
        80: 1.9901, 100: 1.9840, 120: 1.9799}
Z975 = 1.9600


def t975(df: int) -> float:
    if df < 1:
        raise ValueError("t quantile needs df >= 1")
    if df in T975:
        return T975[df]
    below = max(d for d in T975 if d < df)
    above = min((d for d in T975 if d > df), default=None)
    hi_df, hi_t = (above, T975[above]) if above is not None else (math.inf, Z975)
    frac = (1 / below - 1 / df) / (1 / below - (0 if hi_df == math.inf else 1 / hi_df))
    return T975[below] + frac * (hi_t - T975[below])


def mean_ci(values: Sequence[float]) -> tuple[float, float | None, int]:
    """(mean, half-width of the 95% interval (None below two values), n)."""
    n = len(values)
    if n == 0:
        return math.nan, None, 0
    mean = math.fsum(values) / n
    if n < 2:
        return mean, None, n
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in values) / (n - 1))
    return mean, t975(n - 1) * sd / math.sqrt(n), n
