"""A first-come-first-served stage of servers working in spans: the back offices and the
pickup windows (:mod:`hallsim.engines.backoffice`)."""

from __future__ import annotations

import numpy as np
from numba import njit

from .heaps import _heap_replace_top


@njit(cache=True)
def stage_fcfs(arrive, order, service, servers, span_start, span_end, start, end):
    """A first-come-first-served stage with ``servers`` identical servers working during the
    spans ``[span_start[k], span_end[k])`` (absolute, sorted, disjoint): jobs, taken in
    ``order`` (by arrival, then ticket), start at the first instant at or after their
    arrival when a server is free and a span is open, and are never interrupted. Jobs left
    when the spans run out keep ``start`` and ``end`` NaN."""
    free_t = np.full(servers, -np.inf)  # heap of (free time, server)
    free_s = np.arange(servers)
    k = 0
    for j in order:
        s = max(arrive[j], free_t[0])
        while k < span_end.size and span_end[k] <= s:
            k += 1
        if k == span_end.size:
            break
        s = max(s, span_start[k])
        start[j] = s
        end[j] = s + service[j]
        _heap_replace_top(free_t, free_s, servers, end[j], free_s[0])
