"""The specialised kernel for halls whose window groups are independent first-come-first-
served queues (:attr:`hallsim.compile.CompiledHall.fcfs_groups`)."""

from __future__ import annotations

import numpy as np
from numba import njit

from ..compile import (
    SERVED,
)
from .heaps import _before


@njit(cache=True)
def simulate_fcfs_days(
    issued,
    category,
    service,
    day_ptr,
    day_open,
    close_offset,
    category_group,
    group_first,
    group_count,
    factor,
    start,
    end,
    window,
    outcome,
    period_post,
    period_start,
    period_end,
):
    """The same rules, specialised to halls where each group is an independent FCFS queue.

    Valid when every category is served by one group only, nobody reneges, the categories of
    a group share one priority, and every group is open from opening to closing time. Then a
    ticket's window and start are known on arrival: the group's window free earliest (ties:
    the lower number), at the later of its issue time and that window's free time. Each group
    keeps a heap of (free time, round, window); one replace-top per ticket. The round orders
    windows freed at one instant as the rules do: a zero-length service frees its window in
    the next round of that instant. Every ticket is called as its service starts (``called``
    is ``start``). Returns the period count.
    """
    n_win = 0
    for g in range(group_count.size):
        n_win += group_count[g]
    free_t = np.empty(n_win)
    free_key = np.empty(n_win, dtype=np.int64)  # round << 32 | window
    last_end = np.empty(n_win)
    n_periods = 0
    for d in range(day_open.size):
        t_open = day_open[d]
        for w in range(n_win):  # all open in round 1, in window order: already a heap
            free_t[w] = t_open
            free_key[w] = (1 << 32) | w
            last_end[w] = -np.inf
        for i in range(day_ptr[d], day_ptr[d + 1]):
            c = category[i]
            g = category_group[c]
            base = group_first[g]
            size = group_count[g]
            top = free_key[base]
            w = top & 0xFFFFFFFF
            # called on arrival (in the instant's first round), or when the window frees
            on_arrival = issued[i] > free_t[base]
            t = issued[i] if on_arrival else free_t[base]
            round_ = 1 if on_arrival else top >> 32
            finish = t + service[i] * factor[g, c]
            key = ((round_ + 1 if finish == t else 1) << 32) | w
            start[i] = t
            end[i] = finish
            window[i] = w
            outcome[i] = SERVED
            last_end[w] = finish
            j = 0  # replace the heap top by (finish, w), sifting down
            while True:
                child = 2 * j + 1
                if child >= size:
                    break
                a = base + child
                if child + 1 < size and _before(
                    free_t[a + 1], free_key[a + 1], free_t[a], free_key[a]
                ):
                    child += 1
                    a += 1
                if _before(free_t[a], free_key[a], finish, key):
                    free_t[base + j] = free_t[a]
                    free_key[base + j] = free_key[a]
                    j = child
                else:
                    break
            free_t[base + j] = finish
            free_key[base + j] = key
        t_close = t_open + close_offset
        for w in range(n_win):  # a window busy at closing time stays until it is done
            period_post[n_periods] = w
            period_start[n_periods] = t_open
            period_end[n_periods] = last_end[w] if last_end[w] > t_close else t_close
            n_periods += 1
    return n_periods
