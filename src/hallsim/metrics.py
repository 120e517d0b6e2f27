"""Imbalance measures for the load of windows: how unevenly busy a hall's windows are.

The Panjin report argues that comprehensive windows removed the "busy/idle imbalance"
(忙闲不均) of department windows; these put a number on it, per replication.
"""

from __future__ import annotations

import numpy as np

__all__ = ["coefficient_of_variation", "coefficient_of_variation_rows", "gini", "gini_rows"]


def coefficient_of_variation(values) -> float:
    """Population standard deviation over mean; NaN when empty or the mean is 0."""
    x = np.asarray(values, dtype=float).reshape(1, -1)
    return float(coefficient_of_variation_rows(x, np.ones(x.shape, dtype=bool))[0])


def gini(values) -> float:
    """Gini coefficient: mean absolute difference over twice the mean, sum |x_i - x_j| /
    (2 n^2 mean); 0 when all are equal, (n - 1) / n when one window does all the work.

    Computed from the sorted values as sum (2i - n - 1) x_(i) / (n^2 mean), i = 1..n.
    """
    x = np.asarray(values, dtype=float).reshape(1, -1)
    return float(gini_rows(x, np.ones(x.shape, dtype=bool))[0])


def coefficient_of_variation_rows(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """:func:`coefficient_of_variation` of each row's values where ``mask`` holds."""
    n = mask.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(mask, values, 0.0).sum(axis=1) / n
        spread = np.where(mask, values - mean[:, None], 0.0)
        cv = np.sqrt((spread * spread).sum(axis=1) / n) / mean
    return np.where(mean > 0, cv, np.nan)


def gini_rows(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """:func:`gini` of each row's values where ``mask`` holds."""
    n = mask.sum(axis=1)[:, None]
    x = np.sort(np.where(mask, values, np.inf), axis=1)  # each row's values first, ascending
    i = np.arange(1, values.shape[1] + 1)[None, :]
    kept = i <= n
    x = np.where(kept, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = x.sum(axis=1) / n[:, 0]
        result = (np.where(kept, 2 * i - n - 1, 0) * x).sum(axis=1) / (n[:, 0] ** 2 * mean)
    return np.where(mean > 0, result, np.nan)
