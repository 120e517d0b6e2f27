"""Imbalance measures for the load of windows: how unevenly busy a hall's windows are.

The Panjin report argues that comprehensive windows removed the "busy/idle imbalance"
(忙闲不均) of department windows; these put a number on it, per replication.
"""

from __future__ import annotations

import numpy as np

__all__ = ["coefficient_of_variation", "gini"]


def coefficient_of_variation(values) -> float:
    """Population standard deviation over mean; NaN when empty or the mean is 0."""
    x = np.asarray(values, dtype=float)
    if x.size == 0 or not x.mean() > 0:
        return float("nan")
    return float(x.std() / x.mean())


def gini(values) -> float:
    """Gini coefficient: mean absolute difference over twice the mean, sum |x_i - x_j| /
    (2 n^2 mean); 0 when all are equal, (n - 1) / n when one window does all the work.

    Computed from the sorted values as sum (2i - n - 1) x_(i) / (n^2 mean), i = 1..n.
    """
    x = np.sort(np.asarray(values, dtype=float))
    n = x.size
    if n == 0 or not x.mean() > 0:
        return float("nan")
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * x).sum() / (n * n * x.mean()))
