"""The event loop (``simulate_days``): the steps of the rules in :mod:`hallsim.engines`, in
the order of its docstring, over the arrays of four bundles."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ..call_rules import CALL_WEIGHTED
from ..compile import (
    ABANDONED,
    HALL_CLOSE,
    IN_SYSTEM,
    REASON_QUEUE,
    REASON_WAIT,
    RESERVE_END,
    RESERVE_START,
    SPAN_CLOSE,
    SPAN_OPEN,
)
from .calls import (
    _CLOSED,
    _OPEN,
    _OVERTIME,
    _absent,
    _by_rule,
    _close,
    _dequeue,
    _end_recall,
    _first_in_line,
    _free,
    _hold,
    _idle_longer,
    _open_waiting,
    _refused,
    _serve,
)
from .heaps import _heap_pop, _heap_push, _heap_replace_top, _wrap
from .pools import _close_pool, _pool_post, _pool_queue

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


@njit(cache=True)
def simulate_days(tickets, hall, pools, out, batch_only, operations):
    """Run every day of one replication, or of a batch of replications laid end to end (each
    day starts empty: only ``tickets.day_open`` says when a day's events happen); fills
    ``out`` (:class:`Output`), reading ``tickets`` (:class:`Tickets`), ``hall``
    (:class:`HallArrays`) and ``pools`` (:class:`Pools`).

    An instant with a single event (a service ending, a ticket arriving: nearly all of them)
    takes a short path; instants where events coincide apply the steps of the rules in
    full. Both give the same result; ``batch_only=True`` forces the full steps (for tests).
    With reserve pools a short path is followed by step 7 (the pools look at their queues),
    and an instant while a post waits for its desk or staff member takes the full steps.
    Returns the number of open periods and of reserve
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
    pool_active = np.zeros(n_pools, dtype=np.bool_)  # within the pool's hours
    pending = np.empty(n_pools)  # when an activation opens a reserve window (inf: none)
    requested = np.empty(n_pools)
    reason = np.zeros(n_pools, dtype=np.int8)
    timer = np.empty(n_pools)  # when the first in line will have waited open_wait
    # whether a reserve window of the pool may be open (else standing down changes nothing:
    # a reserve window opens only by an activation, and closes only as its pool stands down)
    standing = np.zeros(n_pools, dtype=np.bool_)
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
        standing[:] = False
        waiting[:] = False
        n_waiting = 0
        # the periods closed when waiting posts were last looked at: only a period closing
        # releases a desk or a staff member, so until another closes none of them can open
        periods_seen = -1
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
            # (with reserve pools, then step 7; not while a post waits, which step 7 may open)
            short = False
            if batch_only or (n_pools > 0 and n_waiting > 0):
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
                    else:
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
                    # the single event done: the reserve pools look at their queues (step 7)
                    if n_pools == 0:
                        continue
                    short = True
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
                    pass  # refused (an `if` of its own: a plain hall's loop prunes it)
                else:
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
                # the single event done: the reserve pools look at their queues (step 7)
                if n_pools == 0:
                    continue
                short = True

            # ---- the full steps, for coinciding events
            dirty = False

            # 1. services ending now free their windows (after a short path, one it started
            # that ends now ends in the next round; steps 2, 4, 5 and 6 then find nothing to
            # do at this instant, and step 7 runs)
            while not short and n_done > 0 and done_t[0] == t:
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
            if operations is not None and n_waiting > 0 and n_periods != periods_seen:
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
                periods_seen = n_periods
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
                    standing[g] = False
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
                        standing[p] = True
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
            if operations is not None and n_waiting > 0 and n_periods != periods_seen:
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
                periods_seen = n_periods
                dirty |= opened > 0

            # 3. patience runs out (after a short path, a patience it set that runs out now
            # runs out in the next round)
            while not short and n_quit > 0 and quit_t[0] == t:
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
                    if operations is not None and n_waiting > 0 and n_periods != periods_seen:
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
                        periods_seen = n_periods
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
                            if standing[p]:
                                standing[p] = False
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
                    if n_pools > 0 and n_waiting > 0 and n_periods != periods_seen:
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
                        periods_seen = n_periods
                        opened += more
                if opened == 0:
                    break
                dirty = True
        day_written[d, 0] = n_periods
        day_written[d, 1] = n_acts
    return n_periods, n_acts
