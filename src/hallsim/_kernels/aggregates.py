"""The aggregates the result tables are built from: sums and order statistics of segments,
time-weighted areas per slot, one pass over a batch's tickets, and the ticket table's
columns."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..compile import (
    ABANDONED,
    AREA_QUEUE,
    AREA_SERVICE,
    BALKED,
    CAPPED,
    COUNT_ABANDONED,
    COUNT_ARRIVALS,
    COUNT_SERVED,
    IN_SYSTEM,
    NO_SHOW,
    SERVED,
    TOTAL_ABANDONED,
    TOTAL_AFTER_CLOSE,
    TOTAL_BALKED,
    TOTAL_CAPPED,
    TOTAL_IN_SYSTEM,
    TOTAL_NO_SHOW,
    TOTAL_SERVED,
    TOTAL_TICKETS,
    TOTAL_WITHIN_SLA,
)


@njit(cache=True)
def _pairwise_sum(values, lo, n):
    """``values[lo:lo + n].sum()`` as numpy adds it up: pairwise, in blocks of at most 128
    summed by eight running sums."""
    if n < 8:
        total = 0.0
        for i in range(lo, lo + n):
            total += values[i]
        return total
    if n <= 128:  # eight running sums, kept in registers
        r0, r1, r2, r3 = values[lo], values[lo + 1], values[lo + 2], values[lo + 3]
        r4, r5, r6, r7 = values[lo + 4], values[lo + 5], values[lo + 6], values[lo + 7]
        i = lo + 8
        stop = lo + n - n % 8
        while i < stop:
            r0 += values[i]
            r1 += values[i + 1]
            r2 += values[i + 2]
            r3 += values[i + 3]
            r4 += values[i + 4]
            r5 += values[i + 5]
            r6 += values[i + 6]
            r7 += values[i + 7]
            i += 8
        total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < lo + n:
            total += values[i]
            i += 1
        return total
    half = n // 2
    half -= half % 8
    return _pairwise_sum(values, lo, half) + _pairwise_sum(values, lo + half, n - half)


@njit(cache=True)
def segment_sums(values, starts, stops):
    """The sum of each segment ``values[starts[k]:stops[k]]`` (0 when empty), equal to the
    bit to what :func:`numpy.sum` gives for it: a batch's statistics are then those of its
    replications computed one by one."""
    sums = np.zeros(starts.size)
    for k in range(starts.size):
        if stops[k] > starts[k]:
            sums[k] = _pairwise_sum(values, starts[k], stops[k] - starts[k])
    return sums


@njit(cache=True)
def _select(values, left, right, k):
    """Reorder ``values[left:right + 1]`` so that ``values[k]`` holds the value of rank
    ``k - left`` (the smallest: rank 0), nothing larger before it and nothing smaller after
    it: Floyd and Rivest's SELECT (Communications of the ACM 18(3), 1975, Algorithm 489).
    A stretch of more than 600 values first selects within a sample-sized stretch around
    ``k``, which leaves two values that bracket rank ``k`` with high probability at the
    ends of that stretch, so one pass partitions around ``values[k]`` and little is left
    (2.5-4x fewer operations than median-of-three Hoare on a million waits)."""
    while right > left:
        if right - left > 600:
            n = right - left + 1
            i = k - left + 1
            z = math.log(n)
            s = 0.5 * math.exp(2.0 * z / 3.0)
            sd = 0.5 * math.sqrt(z * s * (n - s) / n)
            if i < n / 2:
                sd = -sd
            _select(
                values,
                max(left, int(math.floor(k - i * s / n + sd))),
                min(right, int(math.floor(k + (n - i) * s / n + sd))),
                k,
            )
        pivot = values[k]
        i, j = left, right
        values[left], values[k] = values[k], values[left]
        if values[right] > pivot:
            values[right], values[left] = values[left], values[right]
        while i < j:
            values[i], values[j] = values[j], values[i]
            i += 1
            j -= 1
            while values[i] < pivot:
                i += 1
            while values[j] > pivot:
                j -= 1
        if values[left] == pivot:
            values[left], values[j] = values[j], values[left]
        else:
            j += 1
            values[j], values[right] = values[right], values[j]
        if j <= k:
            left = j + 1
        if k <= j:
            right = j - 1


@njit(cache=True)
def segment_ranks(values, starts, stops, low, high):
    """The values of rank ``low[k]`` and ``high[k]`` (``low[k] <= high[k] <= low[k] + 1``)
    among ``values[starts[k]:stops[k]]``, for each non-empty segment (NaN for an empty one):
    what a quantile interpolates between. Reorders ``values`` within the segments; segments
    may overlap (a replication's waits hold those of its categories)."""
    below = np.full(starts.size, np.nan)
    above = np.full(starts.size, np.nan)
    for k in range(starts.size):
        lo, hi = starts[k], stops[k]
        if hi <= lo:
            continue
        _select(values, lo, hi - 1, lo + low[k])
        below[k] = values[lo + low[k]]
        if high[k] == low[k]:
            above[k] = below[k]
        else:  # the next rank: the least of what comes after
            least = values[lo + low[k] + 1]
            for i in range(lo + low[k] + 2, hi):
                least = min(least, values[i])
            above[k] = least
    return below, above


@njit(cache=True, inline="always")
def _slot_of(a, bounds, n_open):
    """Slot holding ``a`` minutes after opening: slots are regular before closing time (the
    last open slot may be shorter) and after it; no search needed. The slot number is
    compared as a float before it becomes an integer, so any time (huge, infinite, NaN)
    gives a valid slot: the last one takes everything after its start."""
    hours = bounds[n_open]
    if a < hours:
        return min(int(a / bounds[1]), n_open - 1) if a > 0 else 0
    last = bounds.size - 2
    after = (a - hours) / (bounds[n_open + 1] - hours)
    if not after < last - n_open:  # also NaN
        return last
    return n_open + int(after)


@njit(cache=True, _nrt=False)
def _add_span(areas, kind, day, c, k, x, y, bounds):
    """Add the length of [x, y) (minutes after the day's opening) falling in each slot to
    ``areas[kind, day, slot, c]``, walking from slot ``k`` (at or before ``x``'s); returns
    the slot of ``y`` (of ``x`` when the span is empty). Time past the last boundary counts
    in the last slot. Compiled without reference counting, as the event loop's helpers are
    (see :mod:`hallsim._kernels.calls`): a call costs nothing for the 4-d array."""
    last = bounds.size - 2
    while k < last and bounds[k + 1] <= x:
        k += 1
    if y > x:
        while k < last and bounds[k + 1] < y:
            areas[kind, day, k, c] += bounds[k + 1] - x
            x = bounds[k + 1]
            k += 1
        areas[kind, day, k, c] += y - x
    return k


@njit(cache=True)
def slot_areas(area, day, key, t0, t1, day_open, bounds, n_open):
    """Add each segment [t0, t1) to ``area[day, slot, key]`` slot by slot (``area``
    contiguous)."""
    planes = area.reshape(1, area.shape[0], area.shape[1], area.shape[2])
    for j in range(t0.size):
        t = day_open[day[j]]
        a = t0[j] - t
        _add_span(planes, 0, day[j], key[j], _slot_of(a, bounds, n_open), a, t1[j] - t, bounds)


# numpy's error model: no check for a zero divisor (every divisor here is a slot's length,
# which validation keeps positive), about a fifth off the pass
@njit(cache=True, error_model="numpy")
def ticket_aggregates(
    issued,
    category,
    called,
    start,
    end,
    outcome,
    window,
    recall_post,
    no_show_lost,
    day_ptr,
    day_open,
    day_end,
    days,
    close_offset,
    bounds,
    n_open,
    sla,
    counts,
    wait_sum,
    areas,
    busy_minutes,
    served_tickets,
    lost_minutes,
    category_totals,
):
    """One pass over the tickets of a batch of replications (``days`` days each, laid end to
    end: day ``d`` of the batch is day ``d % days`` of replication ``d // days``) for every
    aggregate of the result tables.

    By the (day of the batch, slot, category) a ticket was issued in: ``counts`` (planes
    ``COUNT_ARRIVALS``, ``COUNT_SERVED``, ``COUNT_ABANDONED``) and ``wait_sum`` (served
    waits). Time-weighted, by slot: ``areas[AREA_QUEUE]`` the queue (from issue to call or
    leaving; to ``day_end`` if never called) and ``areas[AREA_SERVICE]`` the service. Per
    replication and window: busy minutes and tickets served
    (``busy_minutes``, ``served_tickets``). Per replication and category,
    ``category_totals``, the columns of :data:`hallsim.compile.TOTALS`: tickets, served,
    served within ``sla``, abandoned, served after closing, still waiting, capped, balked,
    no-show. A window's lost minutes
    (``lost_minutes``) are those it spent recalling absent holders; a requeued ticket waits a
    second time, from the end of its recalls.

    Returns the waits of served tickets grouped by replication and category, each group in
    issue order, where each group starts (group ``r * categories + c`` is
    ``waits[ptr[g]:ptr[g + 1]]``), and the last slot with time in ``areas`` (-1: none).
    """
    n_cat = category_totals.shape[1]
    served_ptr = np.zeros(category_totals.shape[0] * n_cat + 1, dtype=np.int64)
    for d in range(day_open.size):
        group = (d // days) * n_cat + 1
        for i in range(day_ptr[d], day_ptr[d + 1]):
            if outcome[i] == SERVED:
                served_ptr[group + category[i]] += 1
    for g in range(served_ptr.size - 1):
        served_ptr[g + 1] += served_ptr[g]
    served_waits = np.empty(served_ptr[-1])
    fills = served_ptr[:-1].copy()
    last_slot = -1  # the last slot with time in a queue or service on some day
    for d in range(day_open.size):
        r = d // days
        window_busy = busy_minutes[r]
        window_served = served_tickets[r]
        window_lost = lost_minutes[r]
        totals = category_totals[r]
        fill = fills[r * n_cat : (r + 1) * n_cat]
        t0 = day_open[d]
        for i in range(day_ptr[d], day_ptr[d + 1]):
            c = category[i]
            a = issued[i] - t0
            k = _slot_of(a, bounds, n_open)
            counts[COUNT_ARRIVALS, d, k, c] += 1
            totals[c, TOTAL_TICKETS] += 1
            o = outcome[i]
            if o == SERVED:
                wait = start[i] - issued[i]
                counts[COUNT_SERVED, d, k, c] += 1
                wait_sum[d, k, c] += wait
                totals[c, TOTAL_SERVED] += 1
                if wait <= sla:
                    totals[c, TOTAL_WITHIN_SLA] += 1
                if start[i] - t0 >= close_offset:
                    totals[c, TOTAL_AFTER_CLOSE] += 1
                served_waits[fill[c]] = wait
                fill[c] += 1
                window_busy[window[i]] += end[i] - start[i]
                window_served[window[i]] += 1
                left = start[i]
            elif o == IN_SYSTEM:
                totals[c, TOTAL_IN_SYSTEM] += 1
                left = day_end[d]
            else:
                if o == ABANDONED:
                    counts[COUNT_ABANDONED, d, k, c] += 1
                    totals[c, TOTAL_ABANDONED] += 1
                elif o == CAPPED:
                    totals[c, TOTAL_CAPPED] += 1
                elif o == BALKED:
                    totals[c, TOTAL_BALKED] += 1
                elif o == NO_SHOW:
                    totals[c, TOTAL_NO_SHOW] += 1
                left = end[i]
            rejoined = -1.0  # when a requeued ticket joined the queue again
            if recall_post.size > 0 and recall_post[i] >= 0:
                window_lost[recall_post[i]] += no_show_lost[c]
                if o != NO_SHOW:
                    rejoined = called[i] + no_show_lost[c] - t0
            # waiting (once, or twice when requeued) and service, split by slot, each span
            # walked from the slot where the one before ended
            y = (left if rejoined < 0 and not o == NO_SHOW else called[i]) - t0
            k = _add_span(areas, AREA_QUEUE, d, c, k, a, y, bounds)
            if y > a:
                last_slot = max(last_slot, k)
            if rejoined >= 0:
                k = _add_span(areas, AREA_QUEUE, d, c, k, rejoined, left - t0, bounds)
                if left - t0 > rejoined:
                    last_slot = max(last_slot, k)
            if o == SERVED:
                k = _add_span(areas, AREA_SERVICE, d, c, k, start[i] - t0, end[i] - t0, bounds)
                if end[i] > start[i]:
                    last_slot = max(last_slot, k)
    return served_waits, served_ptr, last_slot


@njit(cache=True)
def ticket_columns(category, post, day_ptr, days, post_window, post_staff):
    """The integer columns of a batch's ticket table in one pass: each ticket's category
    (int16), day of its replication (``days`` days each; int32), and the window and staff
    of its post (int32; -1 for a ticket no post served, post -1)."""
    n = category.size
    category16 = np.empty(n, dtype=np.int16)
    day = np.empty(n, dtype=np.int32)
    window = np.empty(n, dtype=np.int32)
    staff = np.empty(n, dtype=np.int32)
    for d in range(day_ptr.size - 1):
        of_replication = d % days
        for i in range(day_ptr[d], day_ptr[d + 1]):
            category16[i] = category[i]
            day[i] = of_replication
            p = post[i]
            window[i] = post_window[p] if p >= 0 else -1
            staff[i] = post_staff[p] if p >= 0 else -1
    return category16, day, window, staff


@njit(cache=True)
def ticket_numbers(counts):
    """Each ticket's replication (int32) and number in it (int64), for replications of
    ``counts`` tickets laid end to end."""
    n = 0
    for r in range(counts.size):
        n += counts[r]
    replication = np.empty(n, dtype=np.int32)
    ticket = np.empty(n, dtype=np.int64)
    i = 0
    for r in range(counts.size):
        for j in range(counts[r]):
            replication[i] = r
            ticket[i] = j
            i += 1
    return replication, ticket
