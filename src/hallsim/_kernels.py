"""Every numba kernel of hallsim. Private: call them through the validating wrappers in
:mod:`hallsim.engines.fast` and :mod:`hallsim.engines.inputs`.

The event loop follows the rules documented in :mod:`hallsim.engines` (the semantics both
engines share). Kernels never draw random numbers: they transform pre-drawn inputs, so another
engine can consume the very same draws. A "window" here is what the engines serve at: a post
(:mod:`hallsim.staffing`), which is a window of the hall when nobody rotates or switches.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .compile import (
    ABANDONED,
    AREA_QUEUE,
    AREA_SERVICE,
    BALKED,
    CALL_STRICT,
    CALL_THRESHOLD,
    CALL_WEIGHTED,
    CAPPED,
    COUNT_ABANDONED,
    COUNT_ARRIVALS,
    COUNT_SERVED,
    HALL_CLOSE,
    IN_SYSTEM,
    NO_SHOW,
    REASON_QUEUE,
    REASON_WAIT,
    RESERVE_END,
    RESERVE_START,
    SERVED,
    SPAN_CLOSE,
    SPAN_OPEN,
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

# Modes of a window group.
_CLOSED, _OPEN, _OVERTIME = 0, 1, 2


# --------------------------------------------------------------------------- bundles
# The event loop's arrays travel in a few named tuples (numba passes them by value: a field
# is a local array to the compiled code, at no cost).


class Tickets(NamedTuple):
    """A batch's tickets, drawn beforehand (:class:`~hallsim.engines.inputs.TicketInputs`),
    and its days: day ``d`` holds tickets ``day_ptr[d]:day_ptr[d + 1]`` and opens at minute
    ``day_open[d]``."""

    issued: np.ndarray
    category: np.ndarray
    service: np.ndarray
    patience: np.ndarray
    balk_draw: np.ndarray
    absent_draw: np.ndarray
    booked_absent: np.ndarray
    day_ptr: np.ndarray
    day_open: np.ndarray


class HallArrays(NamedTuple):
    """The compiled hall as the event loop reads it (the fields of
    :class:`~hallsim.compile.CompiledHall` of the same names; ``priority`` is
    ``category_priority``, ``window_group`` is ``post_group`` and ``event_offset`` the events'
    minutes after opening)."""

    priority: np.ndarray
    class_category: np.ndarray
    class_ptr: np.ndarray
    class_idx: np.ndarray
    category_cap: np.ndarray
    balk_ptr: np.ndarray
    balk_queue: np.ndarray
    balk_prob: np.ndarray
    no_show_prob: np.ndarray
    no_show_lost: np.ndarray
    no_show_requeue: np.ndarray
    window_group: np.ndarray
    post_window: np.ndarray
    post_staff: np.ndarray
    group_first: np.ndarray
    group_count: np.ndarray
    group_ncat: np.ndarray
    factor: np.ndarray
    group_cat_ptr: np.ndarray
    group_cat_idx: np.ndarray
    cat_group_ptr: np.ndarray
    cat_group_idx: np.ndarray
    call_rule: np.ndarray
    call_ptr: np.ndarray
    call_idx: np.ndarray
    call_category: np.ndarray
    call_after: np.ndarray
    event_offset: np.ndarray
    event_kind: np.ndarray
    event_group: np.ndarray


class Pools(NamedTuple):
    """The reserve pools (``pool_*`` fields of :class:`~hallsim.compile.CompiledHall`)."""

    first_post: np.ndarray
    n_windows: np.ndarray
    n_members: np.ndarray
    cat_ptr: np.ndarray
    cat_idx: np.ndarray
    open_queue: np.ndarray
    open_wait: np.ndarray
    close_queue: np.ndarray
    close_wait: np.ndarray
    delay: np.ndarray


class Output(NamedTuple):
    """What the event loop writes: per ticket (pre-filled with NaN, NaN, NaN, -1,
    IN_SYSTEM and -1), per open period of a post, per reserve activation, and per day the
    periods and activations written by its end."""

    called: np.ndarray
    start: np.ndarray
    end: np.ndarray
    window: np.ndarray
    outcome: np.ndarray
    recall_post: np.ndarray
    period_post: np.ndarray
    period_start: np.ndarray
    period_end: np.ndarray
    act_pool: np.ndarray
    act_request: np.ndarray
    act_open: np.ndarray
    act_post: np.ndarray
    act_reason: np.ndarray
    day_written: np.ndarray


# --------------------------------------------------------------------------- inputs


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
def assign_categories(counts, cum_prob, uniforms, out):
    """Category of each arrival: the number of ``cum_prob[bucket, :]`` entries <= its uniform.

    ``cum_prob`` must hold 2.0 from the last category with a positive rate on, so a uniform
    never lands past it (counting instead of searching avoids unpredictable branches).
    """
    pos = 0
    n_cat = cum_prob.shape[1]
    for b in range(counts.size):
        for _ in range(counts[b]):
            x = uniforms[pos]
            c = 0
            for k in range(n_cat - 1):
                c += x >= cum_prob[b, k]
            out[pos] = c
            pos += 1


@njit(cache=True)
def order_by_category(category, n_cat):
    """Ticket numbers grouped by category, each group in issue order (a counting sort), and
    the group boundaries: category c's tickets are ``order[ptr[c]:ptr[c + 1]]``."""
    ptr = np.zeros(n_cat + 1, dtype=np.int64)
    for i in range(category.size):
        ptr[category[i] + 1] += 1
    for c in range(n_cat):
        ptr[c + 1] += ptr[c]
    fill = ptr[:-1].copy()
    order = np.empty(category.size, dtype=np.int64)
    for i in range(category.size):
        c = category[i]
        order[fill[c]] = i
        fill[c] += 1
    return order, ptr


@njit(cache=True)
def walk_ins(counts, bucket_start, bucket_len, spacings, cum_prob, uniforms):
    """One replication's walk-in tickets: issue times (:func:`arrival_times`), categories
    (:func:`assign_categories`) and how many tickets each category got."""
    n = uniforms.size
    issued = np.empty(n)
    category = np.empty(n, dtype=np.int64)
    arrival_times(counts, bucket_start, bucket_len, spacings, issued)
    assign_categories(counts, cum_prob, uniforms, category)
    per_category = np.zeros(cum_prob.shape[1], dtype=np.int64)
    for i in range(n):
        per_category[category[i]] += 1
    return issued, category, per_category


# --------------------------------------------------------------------------- heaps


@njit(cache=True, inline="always")
def _before(t1, i1, t2, i2):
    return t1 < t2 or (t1 == t2 and i1 < i2)


@njit(cache=True, inline="always")
def _heap_push(keys, ids, n, t, i):
    j = n
    while j > 0:
        parent = (j - 1) >> 1
        if _before(keys[parent], ids[parent], t, i):
            break
        keys[j] = keys[parent]
        ids[j] = ids[parent]
        j = parent
    keys[j] = t
    ids[j] = i
    return n + 1


@njit(cache=True, inline="always")
def _heap_pop(keys, ids, n):
    """Remove the root (read it before calling); returns the new size.

    The sift-down loop is written out here, in :func:`_heap_replace_top` and in the FCFS
    kernel: sharing one helper made the event loop 12-15 % slower (numba's nested inlining).
    """
    n -= 1
    if n == 0:
        return 0
    t = keys[n]
    i = ids[n]
    j = 0
    while True:
        child = 2 * j + 1
        if child >= n:
            break
        if child + 1 < n and _before(keys[child + 1], ids[child + 1], keys[child], ids[child]):
            child += 1
        if _before(keys[child], ids[child], t, i):
            keys[j] = keys[child]
            ids[j] = ids[child]
            j = child
        else:
            break
    keys[j] = t
    ids[j] = i
    return n


# --------------------------------------------------------------------------- event loop


@njit(cache=True, inline="always")
def _wrap(position, size):
    """``position % size`` for 0 <= position < 2 * size, without a division."""
    return position - size if position >= size else position


@njit(cache=True, inline="always")
def _heap_replace_top(keys, ids, n, t, i):
    """Replace the root by (t, i) and restore the heap (a pop and a push in one sift)."""
    j = 0
    while True:
        child = 2 * j + 1
        if child >= n:
            break
        if child + 1 < n and _before(keys[child + 1], ids[child + 1], keys[child], ids[child]):
            child += 1
        if _before(keys[child], ids[child], t, i):
            keys[j] = keys[child]
            ids[j] = ids[child]
            j = child
        else:
            break
    keys[j] = t
    ids[j] = i


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True)
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


@njit(cache=True, inline="always")
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


@njit(cache=True)
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


@njit(cache=True, inline="always")
def _head(c, queue, q_head, outcome):
    """The longest-waiting ticket of category ``c`` (dropping tickets that left)."""
    while outcome[queue[q_head[c]]] != IN_SYSTEM:
        q_head[c] += 1
    return queue[q_head[c]]


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
def _dequeue(c, cat_group_ptr, cat_group_idx, queue, q_head, q_len, waiting_for, outcome):
    """Remove and return the first ticket in category ``c``'s queue."""
    i = _head(c, queue, q_head, outcome)
    q_head[c] += 1
    q_len[c] -= 1
    for k in range(cat_group_ptr[c], cat_group_ptr[c + 1]):
        waiting_for[cat_group_idx[k]] -= 1
    return i


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
def simulate_days(tickets, hall, pools, out, batch_only, operations):
    """Run every day of one replication, or of a batch of replications laid end to end (each
    day starts empty: only ``tickets.day_open`` says when a day's events happen); fills
    ``out`` (:class:`Output`), reading ``tickets`` (:class:`Tickets`), ``hall``
    (:class:`HallArrays`) and ``pools`` (:class:`Pools`).

    An instant with a single event (a service ending, a ticket arriving: nearly all of them)
    takes a short path; instants where events coincide apply the steps of the rules in
    full. Both give the same result; ``batch_only=True`` forces the full steps (for tests;
    reserve pools force them too). Returns the number of open periods and of reserve
    activations written; ``day_written[d]`` gets both counts as day ``d`` ends (a day's
    periods and activations are written while it runs).

    ``operations`` is None for a plain hall (:attr:`CompiledHall.operations` false): numba
    then leaves out, at compile time, every step only the hall operations need (reserve
    pools, refusals, no-shows, call rules, posts waiting for a shared desk or staff member),
    so a plain hall's first run compiles about half the loop. Any other value (``True``)
    compiles them all.
    """
    # the bundles' arrays as locals: read in the loop, not through the tuples (each read of
    # a tuple's field in the loop would count a reference to its array)
    (
        issued,
        category,
        service,
        patience,
        balk_draw,
        absent_draw,
        booked_absent,
        day_ptr,
        day_open,
    ) = tickets
    (
        priority,
        class_category,
        class_ptr,
        class_idx,
        category_cap,
        balk_ptr,
        balk_queue,
        balk_prob,
        no_show_prob,
        no_show_lost,
        no_show_requeue,
        window_group,
        post_window,
        post_staff,
        group_first,
        group_count,
        group_ncat,
        factor,
        group_cat_ptr,
        group_cat_idx,
        cat_group_ptr,
        cat_group_idx,
        call_rule,
        call_ptr,
        call_idx,
        call_category,
        call_after,
        event_offset,
        event_kind,
        event_group,
    ) = hall
    (
        pool_first_post,
        pool_n_windows,
        pool_n_members,
        pool_cat_ptr,
        pool_cat_idx,
        pool_open_queue,
        pool_open_wait,
        pool_close_queue,
        pool_close_wait,
        pool_delay,
    ) = pools
    (
        called,
        start,
        end,
        window,
        outcome,
        recall_post,
        period_post,
        period_start,
        period_end,
        act_pool,
        act_request,
        act_open,
        act_post,
        act_reason,
        day_written,
    ) = out
    n_win = window_group.size
    n_grp = group_count.size
    n_cat = priority.size
    n_days = day_open.size
    n_events = event_offset.size
    n_pools = 0
    if operations is not None:
        n_pools = pool_first_post.size
        batch_only = batch_only or n_pools > 0  # reserves check the queues after every round
    pool_active = np.zeros(n_pools, dtype=np.bool_)  # within the pool's hours
    pending = np.empty(n_pools)  # when an activation opens a reserve window (inf: none)
    requested = np.empty(n_pools)
    reason = np.zeros(n_pools, dtype=np.int8)
    timer = np.empty(n_pools)  # when the first in line will have waited open_wait
    n_acts = 0

    max_day = 0
    for d in range(n_days):
        max_day = max(max_day, day_ptr[d + 1] - day_ptr[d])

    busy = np.zeros(n_win, dtype=np.bool_)
    period_from = np.empty(n_win)  # start of the window's open period, NaN when closed
    # posts hold their desk and staff member while open; a post whose span begins while they
    # are held (finishing a ticket at another post) waits for them
    desk_holder = np.empty(post_window.max() + 1 if n_win else 0, dtype=np.int64)
    staff_holder = np.empty(max(post_staff.max() + 1 if n_win else 0, 1), dtype=np.int64)
    waiting = np.zeros(n_win, dtype=np.bool_)
    idle_since = np.zeros(n_win)
    idle_round = np.zeros(n_win, dtype=np.int64)  # round of the instant it was freed in
    free = np.empty(n_win, dtype=np.int64)  # per-group FIFO rings of free open windows
    free_head = np.zeros(n_grp, dtype=np.int64)
    free_len = np.zeros(n_grp, dtype=np.int64)
    mode = np.zeros(n_grp, dtype=np.int64)
    waiting_for = np.zeros(n_grp, dtype=np.int64)  # waiting tickets a group may call
    done_t = np.empty(n_win)  # service completions: heap keyed (time, window)
    done_w = np.empty(n_win, dtype=np.int64)
    quit_t = np.empty(max(max_day, 1))  # patience deadlines: heap keyed (time, ticket)
    quit_i = np.empty(max(max_day, 1), dtype=np.int64)
    requeues = False
    for c in range(n_cat):
        requeues |= no_show_requeue[c]
    # per-category FIFO regions; a requeued ticket joins its category's queue a second time
    queue = np.empty(max(2 * max_day if requeues else max_day, 1), dtype=np.int64)
    rank = np.arange(issued.size) if requeues else np.empty(0, dtype=np.int64)
    next_rank = issued.size  # ranks of requeued tickets come after every ticket number
    recalling = np.full(n_win, -1, dtype=np.int64)  # ticket whose holder a window recalls
    no_shows = recall_post.size > 0
    q_head = np.zeros(n_cat, dtype=np.int64)
    q_tail = np.zeros(n_cat, dtype=np.int64)
    q_len = np.zeros(n_cat, dtype=np.int64)
    admitted = np.zeros(n_cat, dtype=np.int64)  # tickets let in today, for the daily cap
    call_position = np.zeros(n_win, dtype=np.int64)  # of each window in its round robin
    refusals = balk_ptr[n_cat] > 0 or booked_absent.size > 0
    for c in range(n_cat):
        refusals |= category_cap[c] >= 0

    n_periods = 0
    for d in range(n_days):
        lo = day_ptr[d]
        hi = day_ptr[d + 1]
        t_open = day_open[d]
        # each day starts empty
        busy[:] = False
        period_from[:] = np.nan
        desk_holder[:] = -1
        staff_holder[:] = -1
        pool_active[:] = False
        pending[:] = np.inf
        timer[:] = np.inf
        waiting[:] = False
        n_waiting = 0
        free_len[:] = 0
        mode[:] = _CLOSED
        waiting_for[:] = 0
        q_len[:] = 0
        admitted[:] = 0
        call_position[:] = 0
        q_tail[:] = 0
        for i in range(lo, hi):
            q_tail[category[i]] += 2 if no_show_requeue[category[i]] else 1
        offset = 0
        for c in range(n_cat):
            size = q_tail[c]
            q_head[c] = offset
            q_tail[c] = offset
            offset += size
        n_done = 0
        n_quit = 0
        arr = lo
        ev = 0
        overtime = False
        last_t = -np.inf
        round_ = 0  # rounds of one instant: events caused at the instant come a round later

        while True:
            t_arr = issued[arr] if arr < hi else np.inf
            t_done = done_t[0] if n_done > 0 else np.inf
            t_other = t_open + event_offset[ev] if ev < n_events else np.inf
            if n_quit > 0 and quit_t[0] < t_other:
                t_other = quit_t[0]
            if operations is not None:
                for p in range(n_pools):
                    t_other = min(t_other, pending[p], timer[p])
            t = min(t_arr, t_done, t_other)
            if t == np.inf:
                break
            round_ = round_ + 1 if t == last_t else 0
            last_t = t

            # ---- short paths: one service ending, or one ticket arriving, alone at its instant
            if batch_only:
                pass
            elif t_done < t_arr and t_done < t_other:
                w = done_w[0]
                requeue = False
                if operations is not None:
                    requeue = recalling[w] >= 0 and no_show_requeue[category[recalling[w]]]
                g = window_group[w]
                if not (
                    (n_done > 1 and done_t[1] == t)
                    or (n_done > 2 and done_t[2] == t)
                    or requeue
                    or (n_waiting > 0 and mode[g] != _OPEN)  # closing may let a post open
                ):
                    if operations is not None and recalling[w] >= 0:  # holder dropped
                        next_rank = _end_recall(
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
                        )
                    if mode[g] != _CLOSED and waiting_for[g] > 0:
                        pick_c = -1
                        if operations is not None:  # a call rule
                            pick_c = _by_rule(
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
                            )
                        if pick_c < 0:
                            pick_c = _first_in_line(
                                g,
                                priority,
                                group_cat_ptr,
                                group_cat_idx,
                                queue,
                                q_head,
                                q_len,
                                outcome,
                                rank,
                            )
                        i = _dequeue(
                            pick_c,
                            cat_group_ptr,
                            cat_group_idx,
                            queue,
                            q_head,
                            q_len,
                            waiting_for,
                            outcome,
                        )
                        finish = -1.0
                        if operations is not None and no_shows:
                            finish = _absent(
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
                            )
                        if finish < 0:
                            finish = _serve(
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
                            )
                        _heap_replace_top(done_t, done_w, n_done, finish, w)
                        continue
                    n_done = _heap_pop(done_t, done_w, n_done)
                    busy[w] = False
                    if mode[g] == _OPEN:
                        _free(
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
                        )
                    else:  # closed, or free after closing time: the window closes
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
                    continue
            elif (
                t_arr < t_done
                and t_arr < t_other
                and not (arr + 1 < hi and issued[arr + 1] == t_arr)
            ):
                i = arr
                arr += 1
                c = category[i]
                if (
                    operations is not None
                    and refusals
                    and _refused(
                        i,
                        c,
                        t,
                        q_len,
                        admitted,
                        category_cap,
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
                    )
                ):
                    continue
                best = -1
                best_w = -1
                for k in range(cat_group_ptr[c], cat_group_ptr[c + 1]):
                    g = cat_group_idx[k]
                    if free_len[g] == 0:
                        continue
                    w = free[group_first[g] + free_head[g]]
                    # fewer categories served, then idle longer, then the lower number (written
                    # out: as a helper returning a bool this costs 15 % of the loop)
                    if (
                        best < 0
                        or group_ncat[g] < group_ncat[best]
                        or (
                            group_ncat[g] == group_ncat[best]
                            and _idle_longer(idle_since, idle_round, post_window, w, best_w)
                        )
                    ):
                        best = g
                        best_w = w
                if best >= 0:
                    free_head[best] = _wrap(free_head[best] + 1, group_count[best])
                    free_len[best] -= 1
                    # the call moves the round robin on
                    if operations is not None and call_rule[best] == CALL_WEIGHTED:
                        size = call_ptr[best + 1] - call_ptr[best]
                        k = call_position[best_w]
                        while call_idx[call_ptr[best] + k] != c:
                            k = (k + 1) % size
                        call_position[best_w] = (k + 1) % size
                    finish = -1.0
                    if operations is not None and no_shows:
                        finish = _absent(
                            i,
                            best_w,
                            t,
                            category,
                            absent_draw,
                            no_show_prob,
                            no_show_lost,
                            called,
                            outcome,
                            recall_post,
                            recalling,
                        )
                    if finish < 0:
                        finish = _serve(
                            i,
                            best_w,
                            best,
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
                        )
                    busy[best_w] = True
                    n_done = _heap_push(done_t, done_w, n_done, finish, best_w)
                    # a holder who is absent and requeued may wait again
                    if operations is not None and no_show_requeue[c] and patience[i] < np.inf:
                        n_quit = _heap_push(quit_t, quit_i, n_quit, t + patience[i], i)
                else:
                    queue[q_tail[c]] = i
                    q_tail[c] += 1
                    q_len[c] += 1
                    for k in range(cat_group_ptr[c], cat_group_ptr[c + 1]):
                        waiting_for[cat_group_idx[k]] += 1
                    if patience[i] < np.inf:
                        n_quit = _heap_push(quit_t, quit_i, n_quit, t + patience[i], i)
                continue

            # ---- the full steps, for coinciding events
            dirty = False

            # 1. services ending now free their windows
            while n_done > 0 and done_t[0] == t:
                w = done_w[0]
                n_done = _heap_pop(done_t, done_w, n_done)
                busy[w] = False
                g = window_group[w]
                if operations is not None and recalling[w] >= 0:  # drop or requeue its ticket
                    next_rank = _end_recall(
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
                    )
                    dirty = True
                if mode[g] == _CLOSED:
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
                else:
                    _free(
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
                    )
                    dirty = True

            # posts waiting for a desk or staff member released now
            if operations is not None and n_waiting > 0:
                opened = _open_waiting(
                    t,
                    round_,
                    waiting,
                    post_window,
                    post_staff,
                    desk_holder,
                    staff_holder,
                    period_from,
                    window_group,
                    free,
                    free_head,
                    free_len,
                    group_first,
                    group_count,
                    idle_since,
                    idle_round,
                )
                n_waiting -= opened
                dirty |= opened > 0

            # 2. schedule: spans close, spans open, the hall closes (overtime)
            while ev < n_events and t_open + event_offset[ev] == t:
                g = event_group[ev]
                kind = event_kind[ev]
                ev += 1
                if kind == SPAN_OPEN:
                    mode[g] = _OPEN
                    for w in range(group_first[g], group_first[g] + group_count[g]):
                        if np.isnan(period_from[w]) and not _hold(
                            w, t, post_window, post_staff, desk_holder, staff_holder, period_from
                        ):
                            waiting[w] = True
                            n_waiting += 1
                            continue
                        if not busy[w]:
                            _free(
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
                            )
                    dirty = True
                elif kind == SPAN_CLOSE:
                    mode[g] = _CLOSED
                    for w in range(group_first[g], group_first[g] + group_count[g]):
                        if waiting[w]:  # its span is over before it could open
                            waiting[w] = False
                            n_waiting -= 1
                    for k in range(free_len[g]):
                        w = free[group_first[g] + _wrap(free_head[g] + k, group_count[g])]
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
                    free_len[g] = 0
                elif kind == HALL_CLOSE:
                    mode[g] = _OVERTIME
                    overtime = True
                elif operations is not None and kind == RESERVE_START:
                    pool_active[g] = True
                elif operations is not None and kind == RESERVE_END:
                    pool_active[g] = False
                    pending[g] = np.inf
                    n_periods = _close_pool(
                        g,
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
                    )
            if operations is not None:
                for p in range(n_pools):  # reserve windows whose activation delay is over open
                    if pending[p] != t:
                        continue
                    pending[p] = np.inf
                    w = _pool_post(
                        p,
                        pool_first_post,
                        pool_n_windows,
                        pool_n_members,
                        post_window,
                        post_staff,
                        desk_holder,
                        staff_holder,
                    )
                    if w >= 0:
                        g = window_group[w]
                        mode[g] = _OPEN
                        _hold(w, t, post_window, post_staff, desk_holder, staff_holder, period_from)
                        _free(
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
                        )
                        dirty = True
                        act_pool[n_acts] = p
                        act_request[n_acts] = requested[p]
                        act_open[n_acts] = t
                        act_post[n_acts] = w
                        act_reason[n_acts] = reason[p]
                        n_acts += 1

            # posts waiting for a desk or staff member released now
            if operations is not None and n_waiting > 0:
                opened = _open_waiting(
                    t,
                    round_,
                    waiting,
                    post_window,
                    post_staff,
                    desk_holder,
                    staff_holder,
                    period_from,
                    window_group,
                    free,
                    free_head,
                    free_len,
                    group_first,
                    group_count,
                    idle_since,
                    idle_round,
                )
                n_waiting -= opened
                dirty |= opened > 0

            # 3. patience runs out
            while n_quit > 0 and quit_t[0] == t:
                i = quit_i[0]
                n_quit = _heap_pop(quit_t, quit_i, n_quit)
                if outcome[i] == IN_SYSTEM:
                    outcome[i] = ABANDONED
                    end[i] = t
                    c = category[i]
                    q_len[c] -= 1
                    for k in range(cat_group_ptr[c], cat_group_ptr[c + 1]):
                        waiting_for[cat_group_idx[k]] -= 1

            # 4. tickets issued now join their category's queue
            while arr < hi and issued[arr] == t:
                c = category[arr]
                if (
                    operations is not None
                    and refusals
                    and _refused(
                        arr,
                        c,
                        t,
                        q_len,
                        admitted,
                        category_cap,
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
                    )
                ):
                    arr += 1
                    continue
                queue[q_tail[c]] = arr
                q_tail[c] += 1
                q_len[c] += 1
                for k in range(cat_group_ptr[c], cat_group_ptr[c + 1]):
                    waiting_for[cat_group_idx[k]] += 1
                if patience[arr] < np.inf:
                    n_quit = _heap_push(quit_t, quit_i, n_quit, t + patience[arr], arr)
                arr += 1
                dirty = True

            # 5. free windows call waiting tickets; 6. after closing time, free windows with
            # nothing left to call close, which may let a waiting post open: then 5 and 6 again
            while True:
                while dirty:
                    best = -1
                    best_w = -1
                    for g in range(n_grp):
                        if free_len[g] == 0 or waiting_for[g] == 0:
                            continue
                        w = free[group_first[g] + free_head[g]]
                        if (
                            best < 0
                            or group_ncat[g] < group_ncat[best]
                            or (
                                group_ncat[g] == group_ncat[best]
                                and _idle_longer(idle_since, idle_round, post_window, w, best_w)
                            )
                        ):
                            best = g
                            best_w = w
                    if best < 0:
                        break
                    g = best
                    w = best_w
                    free_head[g] = _wrap(free_head[g] + 1, group_count[g])
                    free_len[g] -= 1
                    pick_c = -1
                    if operations is not None:  # a call rule
                        pick_c = _by_rule(
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
                        )
                    if pick_c < 0:
                        pick_c = _first_in_line(
                            g,
                            priority,
                            group_cat_ptr,
                            group_cat_idx,
                            queue,
                            q_head,
                            q_len,
                            outcome,
                            rank,
                        )
                    i = _dequeue(
                        pick_c,
                        cat_group_ptr,
                        cat_group_idx,
                        queue,
                        q_head,
                        q_len,
                        waiting_for,
                        outcome,
                    )
                    finish = -1.0
                    if operations is not None and no_shows:
                        finish = _absent(
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
                        )
                    if finish < 0:
                        finish = _serve(
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
                        )
                    busy[w] = True
                    n_done = _heap_push(done_t, done_w, n_done, finish, w)

                opened = 0
                if overtime:
                    for g in range(n_grp):
                        if mode[g] != _OVERTIME:
                            continue
                        for k in range(free_len[g]):
                            w = free[group_first[g] + _wrap(free_head[g] + k, group_count[g])]
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
                        free_len[g] = 0
                    if operations is not None and n_waiting > 0:
                        opened = _open_waiting(
                            t,
                            round_,
                            waiting,
                            post_window,
                            post_staff,
                            desk_holder,
                            staff_holder,
                            period_from,
                            window_group,
                            free,
                            free_head,
                            free_len,
                            group_first,
                            group_count,
                            idle_since,
                            idle_round,
                        )
                        n_waiting -= opened
                # 7. reserve pools look at their queues: stand down, or call a reserve
                if operations is not None:
                    for p in range(n_pools):
                        n_wait, first = _pool_queue(
                            p, issued, pool_cat_ptr, pool_cat_idx, queue, q_head, q_len, outcome
                        )
                        due = first + pool_open_wait[p]
                        if n_wait <= pool_close_queue[p] and (
                            n_wait == 0 or t - first <= pool_close_wait[p]
                        ):
                            pending[p] = np.inf
                            n_periods = _close_pool(
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
                            )
                        elif (
                            pool_active[p]
                            and pending[p] == np.inf
                            and (n_wait >= pool_open_queue[p] or t >= due)
                            and _pool_post(
                                p,
                                pool_first_post,
                                pool_n_windows,
                                pool_n_members,
                                post_window,
                                post_staff,
                                desk_holder,
                                staff_holder,
                            )
                            >= 0
                        ):
                            pending[p] = t + pool_delay[p]
                            requested[p] = t
                            reason[p] = (
                                REASON_QUEUE if n_wait >= pool_open_queue[p] else REASON_WAIT
                            )
                        timer[p] = due if n_wait > 0 and t < due else np.inf
                    if n_pools > 0 and n_waiting > 0:
                        more = _open_waiting(
                            t,
                            round_,
                            waiting,
                            post_window,
                            post_staff,
                            desk_holder,
                            staff_holder,
                            period_from,
                            window_group,
                            free,
                            free_head,
                            free_len,
                            group_first,
                            group_count,
                            idle_since,
                            idle_round,
                        )
                        n_waiting -= more
                        opened += more
                if opened == 0:
                    break
                dirty = True
        day_written[d, 0] = n_periods
        day_written[d, 1] = n_acts
    return n_periods, n_acts


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


# --------------------------------------------------------------------------- aggregates


@njit(cache=True)
def _pairwise_sum(values, lo, n):
    """``values[lo:lo + n].sum()`` as numpy adds it up: pairwise, in blocks of at most 128
    summed by eight running sums."""
    if n < 8:
        total = 0.0
        for i in range(lo, lo + n):
            total += values[i]
        return total
    if n <= 128:
        r = values[lo : lo + 8].copy()
        i = 8
        while i < n - n % 8:
            for j in range(8):
                r[j] += values[lo + i + j]
            i += 8
        total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n:
            total += values[lo + i]
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
def _select(values, lo, hi, k):
    """Reorder ``values[lo:hi]`` so that ``values[k]`` holds the value of rank ``k - lo``
    (the smallest: rank 0), nothing larger before it and nothing smaller after it
    (Hoare's selection)."""
    while hi - lo > 16:
        mid = (lo + hi) // 2
        x, y, z = values[lo], values[mid], values[hi - 1]
        pivot = max(min(x, y), min(max(x, y), z))  # the median of the three
        i, j = lo, hi - 1
        while i <= j:
            while values[i] < pivot:
                i += 1
            while values[j] > pivot:
                j -= 1
            if i <= j:
                values[i], values[j] = values[j], values[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j + 1
        elif k >= i:
            lo = i
        else:
            return  # values[j + 1:i] all equal the pivot
    for i in range(lo + 1, hi):  # a short stretch: insertion sort
        x = values[i]
        j = i - 1
        while j >= lo and values[j] > x:
            values[j + 1] = values[j]
            j -= 1
        values[j + 1] = x


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
        _select(values, lo, hi, lo + low[k])
        below[k] = values[lo + low[k]]
        if high[k] == low[k]:
            above[k] = below[k]
        else:  # the next rank: the least of what comes after
            least = values[lo + low[k] + 1]
            for i in range(lo + low[k] + 2, hi):
                least = min(least, values[i])
            above[k] = least
    return below, above


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


@njit(cache=True, inline="always")
def _add_segment(area, day, key, a, b, bounds, n_open):
    """Add the length of [a, b) (minutes after the day's opening) falling in each slot to
    ``area[day, slot, key]``; time past the last boundary counts in the last slot."""
    if b > a:
        last = bounds.size - 2
        k = _slot_of(a, bounds, n_open)
        while k < last and bounds[k + 1] < b:
            area[day, k, key] += bounds[k + 1] - a
            a = bounds[k + 1]
            k += 1
        area[day, k, key] += b - a


@njit(cache=True)
def slot_areas(area, day, key, t0, t1, day_open, bounds, n_open):
    """Add each segment [t0, t1) to ``area[day, slot, key]`` slot by slot."""
    for j in range(t0.size):
        t = day_open[day[j]]
        _add_segment(area, day[j], key[j], t0[j] - t, t1[j] - t, bounds, n_open)


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
    served_waits,
    served_ptr,
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
    second time, from the end of its recalls. ``served_waits`` gets the waits of served
    tickets grouped by replication and category (group ``r * categories + c`` starts at
    ``served_ptr[r * categories + c]``), each group in issue order.
    """
    n_cat = category_totals.shape[1]
    fills = served_ptr[:-1].copy()
    last = bounds.size - 2
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
            # waiting (once, or twice when requeued) and service, split by slot (written out
            # here: a call to a helper taking the 4-d array costs several times the work)
            for segment in range(3):
                kind = AREA_QUEUE
                if segment == 0:
                    x = a
                    y = (left if rejoined < 0 and not o == NO_SHOW else called[i]) - t0
                elif segment == 1:
                    if rejoined < 0:
                        continue
                    x = rejoined
                    y = left - t0
                    k = _slot_of(x, bounds, n_open)
                else:
                    if o != SERVED:
                        break
                    kind = AREA_SERVICE
                    x = start[i] - t0
                    y = end[i] - t0
                    k = _slot_of(x, bounds, n_open)
                if y > x:
                    while k < last and bounds[k + 1] < y:
                        areas[kind, d, k, c] += bounds[k + 1] - x
                        x = bounds[k + 1]
                        k += 1
                    areas[kind, d, k, c] += y - x
