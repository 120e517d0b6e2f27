"""The M/M/c+M birth-death chain of one group of windows: transient distribution over an
interval, and what an arriving ticket experiences given the state it finds.

The number of tickets in the group (waiting or in service) is a birth-death chain with birth
rate ``lam`` and death rate ``d_n = min(n, c) mu + max(n - c, 0) theta`` on ``n = 0..N``
(arrivals finding ``N`` are lost; callers choose ``N`` so that this never matters). Rates are
per minute; ``theta = 0`` means nobody abandons.

Transient solution by uniformization (Grassmann 1977): with ``Lam >= max_n (lam + d_n)`` and
the jump matrix ``P = I + Q / Lam``, ``p(t) = sum_k Pois(k; Lam t) p0 P^k`` and
``int_0^L p(t) dt = (1 / Lam) sum_k P(Pois(Lam L) > k) p0 P^k``.

A ticket finding ``j = n - c >= 0`` tickets waiting passes through stages ``i = j .. 0`` (tickets
still ahead of it). Stage ``i`` ends at rate ``r_i = c mu + (i + 1) theta``: the queue ahead
moves (rate ``c mu + i theta``) or the ticket itself abandons (rate ``theta``). Stage lengths
do not depend on which event ends them, so ``P(served | j) = c mu / (c mu + (j + 1) theta)``
and, given it is served, its wait is the sum of ``Exp(r_j), ..., Exp(r_0)``. This holds while
``c`` stays as it was when the ticket arrived.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Poisson tail mass of the uniformization sums that may be neglected.
_POISSON_TAIL = 1e-13


@njit(cache=True)
def _poisson_steps(x: float) -> int:
    """A number of uniformization steps whose neglected Poisson(x) tail is < 1e-13."""
    return int(x + 10.0 * math.sqrt(x) + 30.0)


@njit(cache=True)
def transient(p0, lam, mu, c, theta, length):
    """Distribution at the end of an interval of ``length`` minutes, and its time average.

    ``p0`` is the distribution at the start (its size fixes ``N``). Returns ``(p_end, p_mean)``.
    """
    size = p0.size
    top = size - 1
    death = np.empty(size)
    for n in range(size):
        death[n] = min(n, c) * mu + max(n - c, 0) * theta
    rate = lam + death[top]
    if rate <= 0.0 or length <= 0.0:
        return p0.copy(), p0.copy()
    x = rate * length
    v = p0.copy()
    nxt = np.empty(size)
    log_pmf = -x
    pmf = math.exp(log_pmf)
    tail = 1.0 - pmf  # P(Pois > k)
    p_end = pmf * v
    p_sum = tail * v
    steps = _poisson_steps(x)
    for k in range(1, steps + 1):
        for n in range(size):
            births = lam if n < top else 0.0
            stay = v[n] * (1.0 - (births + death[n]) / rate)
            if n > 0:
                stay += v[n - 1] * lam / rate
            if n < top:
                stay += v[n + 1] * death[n + 1] / rate
            nxt[n] = stay
        v, nxt = nxt, v
        log_pmf += math.log(x) - math.log(k)
        pmf = math.exp(log_pmf)
        tail -= pmf
        if tail < 0.0:
            tail = 0.0
        p_end += pmf * v
        p_sum += tail * v
        if k > x and tail < _POISSON_TAIL:
            break
    return p_end, p_sum / x


@njit(cache=True)
def stage_cdf(c, mu, theta, stages, wait):
    """``F[j] = P(Exp(r_j) + ... + Exp(r_0) <= wait)`` for ``j = 0 .. stages - 1``."""
    out = np.zeros(stages)
    if wait <= 0.0 or stages == 0:
        return out
    rate = c * mu + stages * theta  # the largest r_i
    x = rate * wait
    g = np.zeros(stages)  # P(absorbed within k uniformized steps | at stage i)
    log_pmf = -x
    cum = math.exp(log_pmf)
    steps = _poisson_steps(x)
    for k in range(1, steps + 1):
        for i in range(stages - 1, -1, -1):  # descending: g[i - 1] is still the old value
            move = (c * mu + (i + 1) * theta) / rate
            before = 1.0 if i == 0 else g[i - 1]
            g[i] = move * before + (1.0 - move) * g[i]
        log_pmf += math.log(x) - math.log(k)
        pmf = math.exp(log_pmf)
        cum += pmf
        for i in range(stages):
            out[i] += pmf * g[i]
        if k > x and 1.0 - cum < _POISSON_TAIL:
            break
    return out


@njit(cache=True)
def arrival_metrics(p, c, mu, theta, wait):
    """What a Poisson arrival meets when the state is distributed as ``p`` (PASTA).

    Returns ``(delay_probability, wait_share, mean_wait, abandon_share, utilisation)``:
    ``P(wait > 0)``, the share called within ``wait`` minutes (NaN for ``wait < 0``), the mean
    time in queue over all tickets (abandoners count until they leave), the share that
    abandons, and the mean share of the ``c`` servers busy.
    """
    size = p.size
    delay = 0.0
    busy = 0.0
    for n in range(size):
        busy += min(n, c) * p[n]
        if n >= c:
            delay += p[n]
    stages = max(size - c, 0)
    cdf = stage_cdf(c, mu, theta, stages, wait) if wait >= 0.0 else np.zeros(stages)
    share = 1.0 - delay
    mean_wait = 0.0
    abandon = 0.0
    expected = 0.0  # E[time in queue | j], built up j = 0, 1, ...
    for j in range(stages):
        r = c * mu + (j + 1) * theta
        expected = 1.0 / r + (c * mu + j * theta) / r * expected
        served = c * mu / r
        weight = p[c + j]
        mean_wait += weight * expected
        abandon += weight * (1.0 - served)
        share += weight * served * cdf[j]
    if wait < 0.0:
        share = np.nan
    return delay, share, mean_wait, abandon, busy / c
