"""The fast engine: the numba event loop behind a validating wrapper."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numba.core import types

from .. import _kernels
from ..compile import IN_SYSTEM, CompiledHall
from .backoffice import run_stages
from .inputs import TicketInputs, check_inputs
from .output import EngineOutput

__all__ = ["run"]


KERNELS = ("auto", "general", "full-steps", "all-operations")


def run(
    hall: CompiledHall,
    inputs: TicketInputs,
    *,
    check: bool = True,
    kernel: Literal["auto", "general", "full-steps", "all-operations"] = "auto",
) -> EngineOutput:
    """Simulate one replication of ``hall``, or a batch of them, on pre-drawn ``inputs``.

    ``check=False`` skips validating ``inputs`` (for inputs from ``draw_inputs``). ``kernel``
    chooses the code path, never the result: ``"auto"`` takes the specialised kernel when
    every window group is an independent FCFS queue (:attr:`CompiledHall.fcfs_groups`);
    ``"general"`` is the event loop, with a short path for an instant holding one event;
    ``"full-steps"`` applies all steps of the rules at every instant; ``"all-operations"`` is
    the event loop as compiled for a hall with operations (reserve pools, refusals, no-shows,
    call rules, shared desks), even when ``hall`` has none: a plain hall otherwise runs a
    loop compiled without those steps (:attr:`CompiledHall.operations`). Tests run them all
    and require identical outputs.

    A batch runs in one kernel call: its replications' days, each starting empty, are days of
    one run (each day's times are those of its replication).
    """
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS} (got {kernel!r})")
    if check:
        check_inputs(hall, inputs)
    n = inputs.n_tickets
    replications = inputs.replications
    n_days = replications * hall.n_days  # days of the batch
    fcfs = kernel == "auto" and hall.fcfs_groups and bool(np.all(np.isinf(inputs.patience)))
    if fcfs:  # every ticket is served and called as its service starts: no defaults to fill
        start = np.empty(n)
        called = start
        end = np.empty(n)
        window = np.empty(n, dtype=np.int64)
        outcome = np.empty(n, dtype=np.int8)
    else:
        called = np.full(n, np.nan)
        start = np.full(n, np.nan)
        end = np.full(n, np.nan)
        window = np.full(n, -1, dtype=np.int64)
        outcome = np.full(n, IN_SYSTEM, dtype=np.int8)
    recall_post = np.full(n if hall.no_shows else 0, -1, dtype=np.int64)
    # a reserve activation needs the queue to change (a ticket event) since the last one
    n_acts_max = hall.n_pools * 2 * (n + n_days)
    n_periods_max = max(n_days * hall.max_post_periods + n_acts_max, 1)
    act_pool = np.empty(n_acts_max, dtype=np.int64)
    act_request = np.empty(n_acts_max)
    act_open = np.empty(n_acts_max)
    act_post = np.empty(n_acts_max, dtype=np.int64)
    act_reason = np.empty(n_acts_max, dtype=np.int8)
    n_acts = 0
    period_post = np.empty(n_periods_max, dtype=np.int64)
    period_start = np.empty(n_periods_max)
    period_end = np.empty(n_periods_max)
    day_open = np.tile(np.arange(hall.n_days) * 1440.0 + hall.open_minute, replications)
    # periods and activations written by the end of each day
    day_written = np.zeros((n_days, 2), dtype=np.int64)
    if fcfs:
        n_periods = _kernels.simulate_fcfs_days(
            inputs.issued,
            inputs.category,
            inputs.service,
            inputs.day_ptr,
            day_open,
            hall.close_minute - hall.open_minute,
            hall.cat_group_idx,
            hall.group_first,
            hall.group_count,
            hall.factor,
            start,
            end,
            window,
            outcome,
            period_post,
            period_start,
            period_end,
        )
        day_written[:, 0] = np.arange(1, n_days + 1) * hall.group_count.sum()
    else:
        n_periods, n_acts = _kernels.simulate_days(
            inputs.issued,
            inputs.category,
            inputs.service,
            inputs.patience,
            inputs.balk_draw,
            inputs.absent_draw,
            inputs.booked_absent,
            inputs.day_ptr,
            day_open,
            hall.category_priority,
            hall.class_category,
            hall.class_ptr,
            hall.class_idx,
            hall.category_cap,
            hall.balk_ptr,
            hall.balk_queue,
            hall.balk_prob,
            hall.no_show_prob,
            hall.no_show_lost,
            hall.no_show_requeue,
            hall.post_group,
            hall.post_window,
            hall.post_staff,
            hall.group_first,
            hall.group_count,
            hall.group_ncat,
            hall.factor,
            hall.group_cat_ptr,
            hall.group_cat_idx,
            hall.cat_group_ptr,
            hall.cat_group_idx,
            hall.call_rule,
            hall.call_ptr,
            hall.call_idx,
            hall.call_category,
            hall.call_after,
            hall.event_minute - hall.open_minute,
            hall.event_kind,
            hall.event_group,
            hall.pool_first_post,
            hall.pool_n_windows,
            hall.pool_n_members,
            hall.pool_cat_ptr,
            hall.pool_cat_idx,
            hall.pool_open_queue,
            hall.pool_open_wait,
            hall.pool_close_queue,
            hall.pool_close_wait,
            hall.pool_delay,
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
            kernel == "full-steps",
            True if hall.operations or kernel == "all-operations" else None,
        )
    ends = day_written[hall.n_days - 1 :: hall.n_days]  # of each replication
    period_ptr = np.concatenate([[0], ends[:, 0]])
    reserve_ptr = np.concatenate([[0], ends[:, 1]])
    # periods in one canonical order (replication, window, then start) whichever kernel made
    # them
    replication = np.repeat(np.arange(replications), np.diff(period_ptr))
    order = np.lexsort((period_start[:n_periods], period_post[:n_periods], replication))
    return EngineOutput(
        called=called,
        start=start,
        end=end,
        post=window,
        outcome=outcome,
        recall_post=recall_post,
        period_post=period_post[order],
        period_start=period_start[order],
        period_end=period_end[order],
        reserve_pool=act_pool[:n_acts].copy(),
        reserve_requested=act_request[:n_acts].copy(),
        reserve_opened=act_open[:n_acts].copy(),
        reserve_post=act_post[:n_acts].copy(),
        reserve_reason=act_reason[:n_acts].copy(),
        period_ptr=period_ptr,
        reserve_ptr=reserve_ptr,
        **run_stages(hall, inputs, end, outcome, _stage_queue),
    )


def _stage_queue(arrive, service, servers, span_start, span_end):
    """A back office or the pickup windows, by the numba kernel."""
    start = np.full(arrive.size, np.nan)
    end = np.full(arrive.size, np.nan)
    order = np.lexsort((np.arange(arrive.size), arrive))
    _kernels.stage_fcfs(arrive, order, service, servers, span_start, span_end, start, end)
    return start, end


def kernel_loaded(hall: CompiledHall) -> bool:
    """Whether this process has the kernel ``hall`` runs on, compiled or loaded from numba's
    on-disk cache (the first run after installing compiles it, which takes a while)."""
    if hall.fcfs_groups:
        return bool(_kernels.simulate_fcfs_days.signatures)
    # the event loop is compiled apart for plain halls and halls with operations
    plain = types.none
    return any((args[-1] == plain) != hall.operations for args in _kernels.simulate_days.signatures)
