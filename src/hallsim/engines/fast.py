"""The fast engine: the numba event loop behind a validating wrapper."""

from __future__ import annotations

from typing import Literal, NamedTuple

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

    A batch runs in one kernel call per kind of day of the calendar (one call without
    weekday hours): its replications' days of that kind, each starting empty, are days of
    one run (each day's times are those of its replication); closed days have no tickets and
    no call.
    """
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS} (got {kernel!r})")
    if check:
        check_inputs(hall, inputs)
    n = inputs.n_tickets
    replications = inputs.replications
    fcfs = kernel == "auto" and hall.fcfs_groups and bool(np.all(np.isinf(inputs.patience)))
    out = _Tickets.empty(n, hall.no_shows, fcfs)
    # each kind of day (its hours) in a kernel call of its own, closed days in none
    batch_kind = np.tile(hall.day_kind, replications)
    runs = []
    for kind in range(hall.n_kinds):
        days = np.flatnonzero(batch_kind == kind)
        if days.size == batch_kind.size:  # every day of the batch: no copies
            runs.append(_run_days(hall, inputs, out, days, kind, fcfs, kernel))
        elif days.size:
            tickets, day_ptr = _day_tickets(inputs.day_ptr, days)
            part = _Tickets.empty(tickets.size, hall.no_shows, fcfs)
            runs.append(
                _run_days(hall, inputs.take(tickets, day_ptr), part, days, kind, fcfs, kernel)
            )
            out.put(tickets, part)

    if not runs:  # every day closed
        runs.append(_Run.empty())

    def joined(key: str) -> np.ndarray:
        return np.concatenate([getattr(run, key) for run in runs])

    # periods in one canonical order (replication, post, then start) and activations in the
    # order they opened, whichever kernel calls made them
    period_replication = joined("period_day") // hall.n_days
    period_post, period_start = joined("period_post"), joined("period_start")
    order = np.lexsort((period_start, period_post, period_replication))
    act_day = joined("act_day")
    opened = np.argsort(act_day, kind="stable")
    return EngineOutput(
        called=out.called,
        start=out.start,
        end=out.end,
        post=out.window,
        outcome=out.outcome,
        recall_post=out.recall_post,
        period_post=period_post[order],
        period_start=period_start[order],
        period_end=joined("period_end")[order],
        reserve_pool=joined("act_pool")[opened],
        reserve_requested=joined("act_request")[opened],
        reserve_opened=joined("act_open")[opened],
        reserve_post=joined("act_post")[opened],
        reserve_reason=joined("act_reason")[opened],
        period_ptr=_ptr(period_replication, replications),
        reserve_ptr=_ptr(act_day // hall.n_days, replications),
        **run_stages(hall, inputs, out.end, out.outcome, _stage_queue),
    )


def idle_output(hall: CompiledHall, inputs: TicketInputs) -> EngineOutput:
    """The output of a batch in which nothing happened: every ticket still in the hall, no
    window ever open. Not a simulation: arrays of the types the table builders take, for
    compiling their kernels ahead of a run (:mod:`hallsim.engines.warmup`)."""
    out = _Tickets.empty(inputs.n_tickets, hall.no_shows, fcfs=False)
    counts, times = np.empty(0, dtype=np.int64), np.empty(0)
    no_entries = np.zeros(inputs.replications + 1, dtype=np.int64)
    return EngineOutput(
        called=out.called,
        start=out.start,
        end=out.end,
        post=out.window,
        outcome=out.outcome,
        recall_post=out.recall_post,
        period_post=counts,
        period_start=times,
        period_end=times,
        reserve_pool=counts,
        reserve_requested=times,
        reserve_opened=times,
        reserve_post=counts,
        reserve_reason=np.empty(0, dtype=np.int8),
        period_ptr=no_entries,
        reserve_ptr=no_entries,
        **run_stages(hall, inputs, out.end, out.outcome, _stage_queue),
    )


class _Tickets(NamedTuple):
    """The per-ticket outputs a kernel fills."""

    called: np.ndarray
    start: np.ndarray
    end: np.ndarray
    window: np.ndarray
    outcome: np.ndarray
    recall_post: np.ndarray

    @classmethod
    def empty(cls, n: int, no_shows: bool, fcfs: bool) -> _Tickets:
        """Outputs for ``n`` tickets, filled with their defaults (the FCFS kernel writes every
        ticket, served and called as its service starts: no defaults, ``called`` is
        ``start``)."""
        recall_post = np.full(n if no_shows else 0, -1, dtype=np.int64)
        if fcfs:
            start = np.empty(n)
            return cls(
                start,
                start,
                np.empty(n),
                np.empty(n, dtype=np.int64),
                np.empty(n, dtype=np.int8),
                recall_post,
            )
        return cls(
            np.full(n, np.nan),
            np.full(n, np.nan),
            np.full(n, np.nan),
            np.full(n, -1, dtype=np.int64),
            np.full(n, IN_SYSTEM, dtype=np.int8),
            recall_post,
        )

    def put(self, tickets: np.ndarray, part: _Tickets) -> None:
        """Write the outputs of a subset of the tickets (``part``) at their places."""
        for name in self._fields:
            mine = getattr(self, name)
            if mine.size and not (name == "called" and mine is self.start):
                mine[tickets] = getattr(part, name)


class _Run(NamedTuple):
    """What a kernel call wrote besides the tickets: per period and per activation, its day
    of the batch; the periods' posts and times; the activations."""

    period_day: np.ndarray
    act_day: np.ndarray
    period_post: np.ndarray
    period_start: np.ndarray
    period_end: np.ndarray
    act_pool: np.ndarray
    act_request: np.ndarray
    act_open: np.ndarray
    act_post: np.ndarray
    act_reason: np.ndarray

    @classmethod
    def empty(cls) -> _Run:
        """What a run of no day writes."""
        counts, times = np.empty(0, dtype=np.int64), np.empty(0)
        return cls(counts, counts, counts, times, times, counts, times, times, counts,
                   np.empty(0, dtype=np.int8))  # fmt: skip


def _run_days(
    hall: CompiledHall,
    inputs: TicketInputs,
    out: _Tickets,
    days: np.ndarray,
    kind: int,
    fcfs: bool,
    kernel: str,
) -> _Run:
    """Run the ``days`` of the batch (all of one ``kind``, whose tickets are those of
    ``inputs``, day after day) in one kernel call, filling ``out``."""
    n = inputs.n_tickets
    n_days = days.size
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
    midnight = (days % hall.n_days) * 1440.0
    # periods and activations written by the end of each day
    day_written = np.zeros((n_days, 2), dtype=np.int64)
    if fcfs:
        opens, closes = hall.kind_hours[kind]
        n_periods = _kernels.simulate_fcfs_days(
            inputs.issued,
            inputs.category,
            inputs.service,
            inputs.day_ptr,
            midnight + opens,
            closes - opens,
            hall.cat_group_idx,
            hall.group_first,
            hall.group_count,
            hall.factor,
            out.start,
            out.end,
            out.window,
            out.outcome,
            period_post,
            period_start,
            period_end,
        )
        day_written[:, 0] = np.arange(1, n_days + 1) * hall.group_count.sum()
    else:
        tickets = _kernels.Tickets(
            inputs.issued,
            inputs.category,
            inputs.service,
            inputs.patience,
            inputs.balk_draw,
            inputs.absent_draw,
            inputs.booked_absent,
            inputs.day_ptr,
            midnight + hall.open_minute,
        )
        output = _kernels.Output(
            *out,
            period_post,
            period_start,
            period_end,
            act_pool,
            act_request,
            act_open,
            act_post,
            act_reason,
            day_written,
        )
        n_periods, n_acts = _kernels.simulate_days(
            tickets,
            _hall_arrays(hall, kind),
            _pools(hall),
            output,
            kernel == "full-steps",
            True if hall.operations or kernel == "all-operations" else None,
        )
    written = np.diff(day_written, axis=0, prepend=0)  # per day
    return _Run(
        np.repeat(days, written[:, 0]),
        np.repeat(days, written[:, 1]),
        period_post[:n_periods],
        period_start[:n_periods],
        period_end[:n_periods],
        act_pool[:n_acts],
        act_request[:n_acts],
        act_open[:n_acts],
        act_post[:n_acts],
        act_reason[:n_acts],
    )


def _hall_arrays(hall: CompiledHall, kind: int) -> _kernels.HallArrays:
    """The hall's arrays the event loop reads, with the schedule of days of ``kind``."""
    events = slice(hall.event_ptr[kind], hall.event_ptr[kind + 1])
    return _kernels.HallArrays(
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
        hall.event_minute[events] - hall.open_minute,
        hall.event_kind[events],
        hall.event_group[events],
    )


def _pools(hall: CompiledHall) -> _kernels.Pools:
    """The hall's reserve pools as the event loop reads them."""
    return _kernels.Pools(
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
    )


def _day_tickets(day_ptr: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The tickets of ``days`` (of a batch whose days start at ``day_ptr``), in order, and
    where each of those days starts among them."""
    lo, counts = day_ptr[days], np.diff(day_ptr)[days]
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return np.repeat(lo - ptr[:-1], counts) + np.arange(ptr[-1]), ptr


def _ptr(replication: np.ndarray, replications: int) -> np.ndarray:
    """Where each replication's entries start, from the (sorted) replication of each."""
    counts = np.bincount(replication, minlength=replications)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def _stage_queue(arrive, service, servers, span_start, span_end):
    """A back office or the pickup windows, by the numba kernel."""
    start = np.full(arrive.size, np.nan)
    end = np.full(arrive.size, np.nan)
    order = np.lexsort((np.arange(arrive.size), arrive))
    _kernels.stage_fcfs(arrive, order, service, servers, span_start, span_end, start, end)
    return start, end


def kernel_loaded(hall: CompiledHall) -> bool:
    """Whether this process has the kernel ``hall`` runs on, compiled or loaded from numba's
    on-disk cache (the first run after installing compiles it, which takes a while). Always
    true with ``NUMBA_DISABLE_JIT=1``: nothing compiles."""
    if not hasattr(_kernels.simulate_days, "signatures"):  # plain Python functions
        return True
    if hall.fcfs_groups:
        return bool(_kernels.simulate_fcfs_days.signatures)
    # the event loop is compiled apart for plain halls and halls with operations
    plain = types.none
    return any((args[-1] == plain) != hall.operations for args in _kernels.simulate_days.signatures)
