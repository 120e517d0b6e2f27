"""Reserve pools in the event loop: which queue a pool watches, the posts it opens and
closes."""

from __future__ import annotations

import numpy as np
from numba import njit

from .calls import _CLOSED, _close, _head

# Compiled without reference counting, as the call helpers are (see hallsim._kernels.calls)


@njit(cache=True, _nrt=False)
def _pool_queue(p, issued, pool_cat_ptr, pool_cat_idx, queue, q_head, q_len, outcome):
    """Tickets waiting in reserve pool ``p``'s categories, and the earliest issue time among
    those first in line (inf when none wait)."""
    waiting = 0
    first = np.inf
    for k in range(pool_cat_ptr[p], pool_cat_ptr[p + 1]):
        c = pool_cat_idx[k]
        if q_len[c] > 0:
            waiting += q_len[c]
            first = min(first, issued[_head(c, queue, q_head, outcome)])
    return waiting, first


@njit(cache=True, _nrt=False)
def _pool_post(
    p,
    pool_first_post,
    pool_n_windows,
    pool_n_members,
    post_window,
    post_staff,
    desk_holder,
    staff_holder,
):
    """The post a reserve of pool ``p`` would open now: its first free window, worked by its
    first free member; -1 when there is none."""
    first = pool_first_post[p]
    members = pool_n_members[p]
    for i in range(pool_n_windows[p]):
        if desk_holder[post_window[first + i * members]] >= 0:
            continue
        for j in range(members):
            if staff_holder[post_staff[first + j]] < 0:
                return first + i * members + j
        return -1
    return -1


@njit(cache=True, _nrt=False)
def _close_pool(
    p,
    t,
    n_periods,
    pool_first_post,
    pool_n_windows,
    pool_n_members,
    window_group,
    mode,
    busy,
    free_len,
    period_from,
    period_post,
    period_start,
    period_end,
    post_window,
    post_staff,
    desk_holder,
    staff_holder,
):
    """Reserve pool ``p`` stands down: its free windows close now, busy ones when their
    ticket is done. Returns the period count."""
    first = pool_first_post[p]
    for w in range(first, first + pool_n_windows[p] * pool_n_members[p]):
        g = window_group[w]
        if mode[g] == _CLOSED:
            continue
        mode[g] = _CLOSED
        if not busy[w]:
            free_len[g] = 0
            n_periods = _close(
                w,
                t,
                n_periods,
                period_from,
                period_post,
                period_start,
                period_end,
                post_window,
                post_staff,
                desk_holder,
                staff_holder,
            )
    return n_periods
