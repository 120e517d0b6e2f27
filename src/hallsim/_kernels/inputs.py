"""The input kernels: walk-in issue times and categories from pre-drawn uniforms and
exponential spacings, and durations drawn category by category put in issue order. They
draw nothing themselves."""

from __future__ import annotations

import numpy as np
from numba import njit

# From this many categories on, a ticket's category is found by a binary search
SEARCH_CATEGORIES = 32


@njit(cache=True)
def arrival_times(counts, bucket_start, bucket_len, spacings, out):
    """Sorted arrival times of a Poisson process, ``counts[b]`` in each bucket.

    Given n points in a bucket, their order statistics are those of n uniforms, which equal
    the normalised partial sums S_i / S_{n+1} of n + 1 unit exponentials (``spacings``;
    Devroye 1986, ch. V.3). This avoids sorting. A non-empty bucket uses n + 1 spacings.
    """
    pos = 0
    e = 0
    for b in range(counts.size):
        n = counts[b]
        if n == 0:
            continue
        total = 0.0
        for j in range(n + 1):
            total += spacings[e + j]
        lo = bucket_start[b]
        hi = lo + bucket_len[b]
        acc = 0.0
        for j in range(n):
            acc += spacings[e + j]
            t = lo + bucket_len[b] * (acc / total)
            if t >= hi:  # rounding must not push a ticket onto the bucket's end
                t = np.nextafter(hi, -np.inf)
            out[pos + j] = t
        e += n + 1
        pos += n


@njit(cache=True)
def category_guide(cum_prob):
    """Where :func:`assign_categories` starts looking for a uniform's category among many:
    ``guide[b, j]`` is the number of ``cum_prob[b, :-1]`` entries at or below ``j / m``,
    ``m`` the number of categories (a guide table: Chen and Asau 1974; Devroye 1986,
    ch. III.2.4). A uniform then needs about two comparisons, whatever ``m``."""
    rows, n_cat = cum_prob.shape
    guide = np.empty((rows, n_cat), dtype=np.int32)
    for b in range(rows):
        c = 0
        for j in range(n_cat):
            while c < n_cat - 1 and cum_prob[b, c] <= j / n_cat:
                c += 1
            guide[b, j] = c
    return guide


@njit(cache=True)
def assign_categories(counts, cum_prob, guide, uniforms, out):
    """Category of each arrival: the number of ``cum_prob[bucket, :-1]`` entries <= its
    uniform.

    ``cum_prob`` must hold 2.0 from the last category with a positive rate on, so a uniform
    never lands past it. Few categories are counted (no unpredictable branches); with more
    than ``SEARCH_CATEGORIES``, ``guide`` (:func:`category_guide`; empty otherwise) says
    where to start, and a row never decreasing, the count is found by stepping from there.
    """
    pos = 0
    n_cat = cum_prob.shape[1]
    for b in range(counts.size):
        row = cum_prob[b, : n_cat - 1]
        for _ in range(counts[b]):
            x = uniforms[pos]
            if n_cat > SEARCH_CATEGORIES:
                c = guide[b, min(int(x * n_cat), n_cat - 1)]
                while c < n_cat - 1 and row[c] <= x:
                    c += 1
                while c > 0 and row[c - 1] > x:  # x * n_cat rounded up to the next step
                    c -= 1
            else:
                c = 0
                for k in range(n_cat - 1):
                    c += x >= row[k]
            out[pos] = c
            pos += 1


@njit(cache=True)
def in_issue_order(key, drawn, has_draws, missing):
    """Values drawn group by group put in the tickets' order: ``drawn`` holds, for each
    group ``k`` (in order) with ``has_draws[k]``, one value per ticket of the group in
    issue order (``key[i]``: ticket ``i``'s group); ticket ``i`` gets the next value of its
    group, or ``missing`` when its group has none."""
    fill = np.zeros(has_draws.size, dtype=np.int64)  # where each group's next value is
    for i in range(key.size):
        fill[key[i]] += has_draws[key[i]]
    total = 0
    for k in range(fill.size):
        total, fill[k] = total + fill[k], total
    out = np.empty(key.size)
    for i in range(key.size):
        k = key[i]
        if has_draws[k]:
            out[i] = drawn[fill[k]]
            fill[k] += 1
        else:
            out[i] = missing
    return out


@njit(cache=True)
def walk_ins(counts, bucket_start, bucket_len, spacings, cum_prob, guide, uniforms):
    """One replication's walk-in tickets: issue times (:func:`arrival_times`), categories
    (:func:`assign_categories`) and how many tickets each category got."""
    n = uniforms.size
    issued = np.empty(n)
    category = np.empty(n, dtype=np.int64)
    arrival_times(counts, bucket_start, bucket_len, spacings, issued)
    assign_categories(counts, cum_prob, guide, uniforms, category)
    per_category = np.zeros(cum_prob.shape[1], dtype=np.int64)
    for i in range(n):
        per_category[category[i]] += 1
    return issued, category, per_category
