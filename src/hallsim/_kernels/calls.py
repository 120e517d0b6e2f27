"""The call and window helpers of the event loop: balking and refusals, serving, absent
holders and recalls, opening and closing windows, and the call of a ticket (``_by_rule``
for a call rule, else ``_first_in_line``, then ``_dequeue``)."""

from __future__ import annotations

import numpy as np
from numba import njit

from ..call_rules import CALL_STRICT, CALL_THRESHOLD, CALL_WEIGHTED
from ..compile import (
    BALKED,
    CAPPED,
    IN_SYSTEM,
    NO_SHOW,
    SERVED,
)
from .heaps import _wrap

# The helpers here are compiled without numba's reference counting (``_nrt=False``, as numba
# compiles its own string helpers): they allocate nothing and only read and write arrays the
# event loop keeps alive, and LLVM inlines them into the loop. Inlined by numba instead
# (``inline="always"``), each call counted a reference to every array it takes, atomically,
# in and out: half of the loop's time (perf, 2026-12-02), and each such helper made it slower.

# Modes of a window group.
_CLOSED, _OPEN, _OVERTIME = 0, 1, 2


@njit(cache=True, _nrt=False)
def _idle_longer(idle_since, idle_round, post_window, w, v):
    """Whether free post ``w`` has been idle longer than ``v``: freed at an earlier instant,
    or in an earlier round of the same instant, or at the lower window number."""
    return idle_since[w] < idle_since[v] or (
        idle_since[w] == idle_since[v]
        and (
            idle_round[w] < idle_round[v]
            or (idle_round[w] == idle_round[v] and post_window[w] < post_window[v])
        )
    )


@njit(cache=True)
def balk_probability(queue, points, probabilities):
    """Balking probability at ``queue`` waiting: linear between the points, constant beyond
    (both engines call this one function, so they take the same decisions)."""
    last = points.size - 1
    if queue <= points[0]:
        return probabilities[0]
    if queue >= points[last]:
        return probabilities[last]
    k = 0
    while points[k + 1] < queue:
        k += 1
    share = (queue - points[k]) / (points[k + 1] - points[k])
    return probabilities[k] + (probabilities[k + 1] - probabilities[k]) * share


@njit(cache=True, _nrt=False)
def _refused(
    i,
    c,
    t,
    waiting,
    admitted,
    cap,
    balk_draw,
    balk_ptr,
    balk_queue,
    balk_prob,
    outcome,
    end,
    booked_absent,
    class_category,
    class_ptr,
    class_idx,
):
    """A booked holder who never came, the daily cap, then balking: whether ticket ``i``
    (class ``c``) leaves at once, its outcome set; otherwise it counts towards the day's cap.
    Caps and the displayed queue are those of the category, all its classes together."""
    if booked_absent.size > 0 and booked_absent[i]:
        outcome[i] = NO_SHOW
        end[i] = t
        return True
    k = class_category[c]
    if 0 <= cap[c] <= admitted[k]:
        outcome[i] = CAPPED
        end[i] = t
        return True
    lo = balk_ptr[c]
    hi = balk_ptr[c + 1]
    if hi > lo:
        shown = 0
        for j in range(class_ptr[k], class_ptr[k + 1]):
            shown += waiting[class_idx[j]]
        if balk_draw[i] < balk_probability(float(shown), balk_queue[lo:hi], balk_prob[lo:hi]):
            outcome[i] = BALKED
            end[i] = t
            return True
    admitted[k] += 1
    return False


@njit(cache=True, _nrt=False)
def _serve(
    i,
    w,
    g,
    t,
    service,
    category,
    factor,
    called,
    start,
    end,
    window,
    outcome,
    recall_post,
):
    """Window ``w`` of group ``g`` calls ticket ``i`` at ``t`` (a holder who is present, see
    :func:`_absent`); returns when the service ends. A requeued ticket keeps its first call."""
    c = category[i]
    if recall_post.size == 0 or recall_post[i] < 0:  # a first call
        called[i] = t
    start[i] = t
    finish = t + service[i] * factor[g, c]
    end[i] = finish
    window[i] = w
    outcome[i] = SERVED
    return finish


@njit(cache=True, _nrt=False)
def _absent(
    i,
    w,
    t,
    category,
    absent_draw,
    no_show_prob,
    no_show_lost,
    called,
    outcome,
    recall_post,
    recalling,
):
    """If ticket ``i``'s holder is absent at this first call, window ``w`` starts recalling:
    returns when it gives up; otherwise -1."""
    c = category[i]
    if recall_post[i] >= 0 or not absent_draw[i] < no_show_prob[c]:
        return -1.0
    called[i] = t
    recall_post[i] = w
    outcome[i] = NO_SHOW  # until a requeue brings the holder back
    recalling[w] = i
    return t + no_show_lost[c]


@njit(cache=True, _nrt=False)
def _end_recall(
    w,
    t,
    recalling,
    category,
    no_show_requeue,
    outcome,
    end,
    rank,
    next_rank,
    queue,
    q_tail,
    q_len,
    cat_group_ptr,
    cat_group_idx,
    waiting_for,
):
    """Window ``w`` gives up on its absent holder: drop the ticket, or put it at the back of
    its category's queue (it joins the queue again now). Returns the next free rank."""
    i = recalling[w]
    recalling[w] = -1
    c = category[i]
    if not no_show_requeue[c]:
        end[i] = t
        return next_rank
    outcome[i] = IN_SYSTEM
    rank[i] = next_rank
    queue[q_tail[c]] = i
    q_tail[c] += 1
    q_len[c] += 1
    for k in range(cat_group_ptr[c], cat_group_ptr[c + 1]):
        waiting_for[cat_group_idx[k]] += 1
    return next_rank + 1


@njit(cache=True, _nrt=False)
def _close(
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
):
    """Window (post) ``w`` closes at ``t``: record its open period, release its desk and its
    staff member; returns the period count."""
    period_post[n_periods] = w
    period_start[n_periods] = period_from[w]
    period_end[n_periods] = t
    period_from[w] = np.nan
    desk_holder[post_window[w]] = -1
    if post_staff[w] >= 0:
        staff_holder[post_staff[w]] = -1
    return n_periods + 1


@njit(cache=True, _nrt=False)
def _hold(w, t, post_window, post_staff, desk_holder, staff_holder, period_from):
    """Open post ``w`` at ``t`` if its desk and its staff member are free (no other post of
    theirs still finishing a ticket) and hold them; returns whether it opened."""
    staff = post_staff[w]
    if desk_holder[post_window[w]] >= 0 or (staff >= 0 and staff_holder[staff] >= 0):
        return False
    desk_holder[post_window[w]] = w
    if staff >= 0:
        staff_holder[staff] = w
    period_from[w] = t
    return True


@njit(cache=True, _nrt=False)
def _open_waiting(
    t,
    round_,
    waiting,
    post_window,
    post_staff,
    desk_holder,
    staff_holder,
    period_from,
    post_group,
    free,
    free_head,
    free_len,
    group_first,
    group_count,
    idle_since,
    idle_round,
):
    """Posts whose span began while their desk or staff member was held open now, in post
    order, if they can; returns how many did."""
    opened = 0
    for w in range(waiting.size):
        if waiting[w] and _hold(
            w, t, post_window, post_staff, desk_holder, staff_holder, period_from
        ):
            waiting[w] = False
            opened += 1
            _free_in_order(
                w,
                post_group[w],
                t,
                round_,
                free,
                free_head,
                free_len,
                group_first,
                group_count,
                idle_since,
                idle_round,
                post_window,
            )
    return opened


@njit(cache=True, _nrt=False)
def _free(
    w, g, t, round_, free, free_head, free_len, group_first, group_count, idle_since, idle_round
):
    """Append window ``w`` to the ring of free windows of its group ``g``, idle since ``t``.
    Windows freed at one instant and round come in window order (step 1 frees them in post
    order, which is window order within a group), except those :func:`_open_waiting` opens:
    it calls :func:`_free_in_order`."""
    free[group_first[g] + _wrap(free_head[g] + free_len[g], group_count[g])] = w
    free_len[g] += 1
    idle_since[w] = t
    idle_round[w] = round_


@njit(cache=True, _nrt=False)
def _free_in_order(
    w,
    g,
    t,
    round_,
    free,
    free_head,
    free_len,
    group_first,
    group_count,
    idle_since,
    idle_round,
    post_window,
):
    """:func:`_free`, but before windows freed at the same instant and round with a higher
    window number (the ring stays in the order of :func:`_idle_longer`)."""
    first = group_first[g]
    size = group_count[g]
    k = free_len[g]
    while k > 0:
        v = free[first + _wrap(free_head[g] + k - 1, size)]
        if not (idle_since[v] == t and idle_round[v] == round_ and post_window[v] > post_window[w]):
            break
        free[first + _wrap(free_head[g] + k, size)] = v
        k -= 1
    free[first + _wrap(free_head[g] + k, size)] = w
    free_len[g] += 1
    idle_since[w] = t
    idle_round[w] = round_


@njit(cache=True, _nrt=False)
def _head(c, queue, q_head, outcome):
    """The longest-waiting ticket of category ``c`` (dropping tickets that left)."""
    while outcome[queue[q_head[c]]] != IN_SYSTEM:
        q_head[c] += 1
    return queue[q_head[c]]


@njit(cache=True, _nrt=False)
def _first_in_line(g, priority, group_cat_ptr, group_cat_idx, queue, q_head, q_len, outcome, rank):
    """The category whose ticket group ``g`` calls by default: the highest priority, then the
    ticket that joined the queue first (its ``rank``: the ticket number, or later for a
    requeued ticket; no ranks kept when nothing is requeued)."""
    pick = -1
    pick_c = -1
    for k in range(group_cat_ptr[g], group_cat_ptr[g + 1]):
        c = group_cat_idx[k]
        if q_len[c] == 0:
            continue
        i = _head(c, queue, q_head, outcome)
        if (
            pick < 0
            or priority[c] > priority[pick_c]
            or (
                priority[c] == priority[pick_c]
                and (i < pick if rank.size == 0 else rank[i] < rank[pick])
            )
        ):
            pick = i
            pick_c = c
    return pick_c


@njit(cache=True, _nrt=False)
def _by_rule(
    g,
    w,
    t,
    issued,
    call_rule,
    call_ptr,
    call_idx,
    call_category,
    call_after,
    call_position,
    queue,
    q_head,
    q_len,
    outcome,
):
    """The category whose ticket window ``w`` of group ``g`` calls at ``t`` by the group's call
    rule (strict order, weighted round robin or threshold); -1 when the rule picks none (the
    default order applies: :func:`_first_in_line`)."""
    rule = call_rule[g]
    if rule == CALL_STRICT:
        for k in range(call_ptr[g], call_ptr[g + 1]):
            if q_len[call_idx[k]] > 0:
                return call_idx[k]
    elif rule == CALL_WEIGHTED:
        size = call_ptr[g + 1] - call_ptr[g]
        for j in range(size):
            k = (call_position[w] + j) % size
            if q_len[call_idx[call_ptr[g] + k]] > 0:
                call_position[w] = (k + 1) % size
                return call_idx[call_ptr[g] + k]
    elif rule == CALL_THRESHOLD:
        c = call_category[g]
        if q_len[c] > 0 and t - issued[_head(c, queue, q_head, outcome)] > call_after[g]:
            return c
    return -1


@njit(cache=True, _nrt=False)
def _dequeue(c, cat_group_ptr, cat_group_idx, queue, q_head, q_len, waiting_for, outcome):
    """Remove and return the first ticket in category ``c``'s queue."""
    i = _head(c, queue, q_head, outcome)
    q_head[c] += 1
    q_len[c] -= 1
    for k in range(cat_group_ptr[c], cat_group_ptr[c + 1]):
        waiting_for[cat_group_idx[k]] -= 1
    return i
