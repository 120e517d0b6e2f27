"""Results of a simulation: tidy tables and a summary with confidence intervals.

One replication's engine output is reduced by :func:`replication_tables` into plain arrays
(tickets, per-interval and per-window aggregates, per-category statistics); :class:`Results`
gathers the replications into pandas tables. Definitions:

- a ticket's *wait* is ``start - issued`` when served; means and P90 are over served tickets;
- *service level* is the share of issued tickets served within ``hall.sla_wait_min``
  (abandoned and unserved tickets count as misses);
- *abandonment* is the share of issued tickets that gave up waiting; *balking* the share
  whose holders left on seeing the queue, *capped* the share refused by a daily cap,
  *no_show* the share dropped after recalls;
- a category's *utilisation* is busy time over open time of the windows that serve it;
  ``utilisation_cv`` and ``utilisation_gini`` measure how unevenly busy those windows are
  (each window's busy over open time; see :mod:`hallsim.metrics`);
- ``tickets_per_window_day`` is tickets served over (windows that serve the category x days);
- the *peak day* is the day with the most tickets issued: its tickets and mean wait;
- per interval, arrivals, served, abandoned and mean wait are counted by the interval the
  ticket was *issued* in; queue length, busy and open windows are time averages over it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import _kernels
from .clock import minutes_of_day
from .compile import (
    AREA_QUEUE,
    AREA_SERVICE,
    COUNT_ABANDONED,
    COUNT_ARRIVALS,
    COUNT_SERVED,
    OUTCOMES,
    RESERVE_REASONS,
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
    TOTALS,
    CompiledHall,
)
from .engines.backoffice import deferred_cases
from .engines.inputs import TicketInputs, replication_order
from .engines.output import EngineOutput
from .metrics import coefficient_of_variation_rows, gini_rows
from .scenario import WEEKDAYS, Scenario

if TYPE_CHECKING:
    from pathlib import Path

    from .logs import TicketLog

__all__ = ["HallWarning", "PrecisionWarning", "Results"]

OVERALL = "overall"
METRICS = (
    "tickets",
    "mean_wait",
    "p90_wait",
    "service_level",
    "abandonment",
    "balking",
    "capped",
    "no_show",
    "utilisation",
    "utilisation_cv",
    "utilisation_gini",
    "tickets_per_window_day",
    "peak_day_tickets",
    "peak_day_mean_wait",
)


# Per replication and category, for deferred cases (Results.back_office)
BACK_OFFICE_METRICS = (
    "deferred",  # cases sent to the back office
    "office_wait",  # mean minutes from the window to the back office starting on it
    "lead_time",  # mean minutes from the ticket's issue to the result being ready
    "same_day",  # share of finished cases ready on the day their ticket was issued
    "office_wip",  # time-average cases in the back office (waiting or worked on)
    "office_queue",  # time-average cases waiting in the back office
    "unfinished",  # cases still open when the run ends
    "pickups",  # citizens who collected at the pickup windows
    "pickup_wait",  # mean minutes waited at the pickup windows
)
# Ticket-table columns of deferred cases
STAGE_COLUMNS = ("office_start", "office_end", "pickup_arrive", "pickup_start", "pickup_end")


class HallWarning(UserWarning):
    """The hall is overloaded or leaves tickets unserved: read the numbers with care."""


class PrecisionWarning(UserWarning):
    """Too few replications for the confidence intervals asked for: they are rough."""


# Metrics that are shares (0 to 1); every metric is >= 0. An interval is clipped to the range.
SHARE_METRICS = frozenset(
    {"service_level", "abandonment", "balking", "capped", "no_show", "utilisation"}
    | {"utilisation_gini"}
)
# The metrics of summary(between=..., weekday=...): those of the tickets issued then
WINDOW_METRICS = METRICS[: METRICS.index("no_show") + 1]
# share metric -> the outcome it counts
_SHARE_OUTCOMES = {"abandonment": "abandoned", "balking": "balked", "capped": "capped"} | {
    "no_show": "no_show"
}
# Below this many replications a clipped interval says the replications are too few
FEW_REPLICATIONS = 10


def replication_tables(
    hall: CompiledHall, inputs: TicketInputs, output: EngineOutput, *, keep_tickets: bool
) -> dict:
    """Reduce a batch of replications (one or more, see
    :class:`~hallsim.engines.inputs.TicketInputs`) to arrays whose first axis is the
    replication (cheap to send between processes): one pass over all the batch's tickets,
    no loop over replications or categories."""
    return finished_tables(hall, day_sums(hall, inputs, output, keep_tickets=keep_tickets))


def day_sums(
    hall: CompiledHall, inputs: TicketInputs, output: EngineOutput, *, keep_tickets: bool
) -> dict:
    """What :func:`replication_tables` reduces a batch to, in sums over its days that the
    sums of further days add to (:func:`joined_spans`): per replication, day, reporting slot
    and category the :data:`INTERVAL_ARRAYS`; per replication the posts' open, busy and lost
    minutes and tickets served (``post_*``), each category's ``totals`` and its served
    waits (``waits``, by replication and category), the reserve activations; and the
    tickets if kept."""
    batch, n_days = inputs.replications, hall.n_days
    day_open = np.tile(np.arange(n_days) * 1440.0 + hall.open_minute, batch)  # batch's days
    period_replication, period_day, post_open, day_end = _periods(hall, output, day_open)
    bounds = hall.slot_bounds()[: _slots_needed(hall, inputs, output, day_open, day_end) + 1]
    open_group = np.zeros((day_open.size, bounds.size - 1, hall.n_groups))
    _kernels.slot_areas(
        open_group,
        period_day,
        hall.post_group[output.period_post],
        output.period_start,
        output.period_end,
        day_open,
        bounds,
        hall.n_open_slots,
    )
    sums = _ticket_sums(hall, inputs, output, day_open, day_end, bounds)
    if np.any(hall.kind_hours[:, 1] != hall.close_minute):  # days closing before the hall's
        _served_after_close(hall, inputs, output, day_open, sums["totals"])
    counts, areas = sums["counts"], sums["areas"]

    # the interval arrays end with the last slot that has time in it on some day (the
    # overtime slots after it are empty): less to send between processes and to keep
    serving = hall.serves.any(axis=1)  # groups that serve a ticket class
    open_slots = np.flatnonzero(open_group[:, :, serving].any(axis=(0, 2)))
    last = max(sums["last_slot"], open_slots[-1] if open_slots.size else -1)
    shown = max(hall.n_open_slots, last + 1)

    def per_replication(values: np.ndarray, dtype=None) -> np.ndarray:
        """(days of the batch, slots, ...) -> (batch, n_days, shown, ...)."""
        values = values[:, :shown].reshape(batch, n_days, shown, *values.shape[2:])
        return values if dtype is None else values.astype(dtype)

    count_type = _count_type(counts[COUNT_ARRIVALS])  # served or abandoned: some arrivals
    tables = {
        "replications": batch,
        # the counts in the smallest integers that hold them (a fraction of a long horizon's
        # memory: a slot of a category rarely has more than 127 tickets)
        "arrivals": per_replication(counts[COUNT_ARRIVALS], count_type),
        "served": per_replication(counts[COUNT_SERVED], count_type),
        "abandoned": per_replication(counts[COUNT_ABANDONED], count_type),
        "wait_sum": per_replication(sums["wait_sum"]),
        "queue_area": per_replication(areas[AREA_QUEUE]),
        "busy_area": per_replication(areas[AREA_SERVICE]),
        "open_area": per_replication(open_group),  # per window group (its categories: table)
        "post_open": post_open,
        "post_busy": sums["busy"],
        "post_lost": sums["lost"],
        "post_served": sums["served"],
        "totals": sums["totals"],
        "waits": sums["waits"],
        "waits_ptr": sums["waits_ptr"],
        "n_tickets": np.diff(inputs.ticket_ptr),
        "reserve": _reserve_activations(output, period_replication),
        "reserve_counts": np.diff(output.reserve_ptr),
    }
    if keep_tickets:
        category, day, window, staff = _kernels.ticket_columns(
            inputs.category, output.post, inputs.day_ptr, n_days, hall.post_window, hall.post_staff
        )
        tables["tickets"] = {
            "category": category,
            "day": day,
            "issued": inputs.issued,
            "called": output.called,
            "start": output.start,
            "end": output.end,
            "window": window,
            "staff": staff,
            "outcome": output.outcome,
        }
        if hall.defers:
            tables["tickets"].update({key: getattr(output, key) for key in STAGE_COLUMNS})
    if hall.defers:
        tables["back_office"] = _back_office_stats(hall, inputs, output)
    return tables


def _count_type(counts: np.ndarray, smallest: type = np.int8) -> type:
    """The smallest signed integer type, from ``smallest`` on, that holds every one of
    ``counts``."""
    largest = int(counts.max(initial=0))
    kinds = (np.int8, np.int16, np.int32, np.int64)
    return next(kind for kind in kinds[kinds.index(smallest) :] if largest <= np.iinfo(kind).max)


# What day_sums keeps that the finished tables replace: sums per post, totals and waits
_RAW_SUMS = ("post_open", "post_busy", "post_lost", "post_served", "totals", "waits", "waits_ptr")
# Day sums that add up over the spans of days of a horizon, per replication
_ADDITIVE_SUMS = ("n_tickets", "reserve_counts", *_RAW_SUMS[:5])
# Times of the reserve activations: minutes since day 0's midnight
_RESERVE_TIMES = ("requested", "opened", "closed")


def finished_tables(hall: CompiledHall, sums: dict) -> dict:
    """The arrays of :func:`replication_tables` from the batch's :func:`day_sums` (of all
    its days): the per-window, per-staff and per-category statistics in place of the raw
    sums."""
    tables = {key: value for key, value in sums.items() if key not in _RAW_SUMS}
    posts = [sums[key] for key in _RAW_SUMS[:4]]
    tables["windows"] = _per(hall.post_window, hall.n_windows, *posts)
    tables["staff"] = _per(hall.post_staff, len(hall.staff_names), *posts)
    tables["stats"] = _category_stats(hall, sums)
    totals = sums["totals"]
    tables["served_after_close"] = totals[:, :, TOTAL_AFTER_CLOSE].sum(axis=1)
    tables["in_system"] = totals[:, :, TOTAL_IN_SYSTEM].sum(axis=1)
    return tables


def joined_spans(hall: CompiledHall, spans: Iterable[tuple[int, dict]]) -> dict:
    """The :func:`day_sums` of a batch of replications of ``hall`` from those of its spans of
    days (``spans``: the first day of each, in order, and the sums of those days as days of
    their own, all of the same replications). Each span's sums are added as they come and
    dropped: what is kept grows with the days only by the interval arrays and the served
    waits. (A batch that keeps its tickets runs in one piece.)"""
    joined: dict = {}
    waits, reserves, reserve_counts = [], [], []
    for first_day, part in spans:
        if not joined:
            joined = {key: part[key].copy() for key in _ADDITIVE_SUMS}
            joined["replications"] = part["replications"]
            for key in INTERVAL_ARRAYS:  # slots are added as spans show them
                shape = (part["replications"], hall.n_days, 0, *part[key].shape[3:])
                joined[key] = np.zeros(shape, dtype=part[key].dtype)
        else:
            for key in _ADDITIVE_SUMS:
                joined[key] += part[key]
        days = slice(first_day, first_day + part["served"].shape[1])
        shown = part["served"].shape[2]
        for key in INTERVAL_ARRAYS:
            kept = joined[key]
            dtype = np.promote_types(kept.dtype, part[key].dtype)  # counts: a larger one
            if shown > kept.shape[2] or dtype != kept.dtype:  # or a slot no span reached
                slots = max(shown, kept.shape[2])
                joined[key] = np.zeros((*kept.shape[:2], slots, *kept.shape[3:]), dtype)
                joined[key][:, :, : kept.shape[2]] = kept
            joined[key][:, days, :shown] = part[key]
        waits.append((part["waits"], part["waits_ptr"]))
        shift = 1440.0 * first_day  # a span's times are reckoned from its first day
        reserve = part["reserve"]
        reserves.append(
            {
                key: reserve[key] + shift if key in _RESERVE_TIMES else reserve[key]
                for key in reserve
            }
        )
        reserve_counts.append(part["reserve_counts"])
        del part  # before the next span is computed: one span's sums at a time
    joined["waits"], joined["waits_ptr"] = _joined_waits(waits)
    # the activations of a batch, replication after replication, each span after span
    order = replication_order(np.stack(reserve_counts))
    joined["reserve"] = {
        key: np.concatenate([reserve[key] for reserve in reserves])[order] for key in reserves[0]
    }
    return joined


def _joined_waits(spans: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The served waits of spans of days (each by (replication, category) group: group ``g``
    at ``waits[ptr[g]:ptr[g + 1]]``), joined by group, each group's span after span. Each
    span's waits are dropped as they are placed."""
    counts = np.stack([np.diff(ptr) for _, ptr in spans])  # (spans, groups)
    ptr = np.concatenate([[0], np.cumsum(counts.sum(axis=0))])
    waits = np.empty(ptr[-1])
    placed = ptr[:-1].copy()  # where each group's next waits go
    while spans:
        span_waits, span_ptr = spans.pop(0)
        sizes = np.diff(span_ptr)
        waits[np.repeat(placed - span_ptr[:-1], sizes) + np.arange(span_ptr[-1])] = span_waits
        placed += sizes
    return waits, ptr


def _periods(hall: CompiledHall, output: EngineOutput, day_open: np.ndarray):
    """From the posts' open periods of a batch (days opening at ``day_open``): each period's
    replication and day of the batch, each replication's open minutes per post, and when
    each day's last window closed (the wait of a ticket nobody called ends then)."""
    batch, n_days, n_post = output.replications, hall.n_days, hall.n_posts
    period_replication = np.repeat(np.arange(batch), np.diff(output.period_ptr))
    period_day = period_replication * n_days + np.clip(
        np.searchsorted(day_open[:n_days], output.period_start, side="right") - 1, 0, n_days - 1
    )
    post_open = np.bincount(
        period_replication * n_post + output.period_post,
        output.period_end - output.period_start,
        minlength=batch * n_post,
    ).reshape(batch, n_post)
    # a day ends at its closing time (at its opening when the hall is closed), or later
    closing = np.where(hall.day_kind >= 0, hall.kind_hours[hall.day_kind, 1], hall.open_minute)
    day_end = day_open - hall.open_minute + np.tile(closing, batch)
    np.maximum.at(day_end, period_day, output.period_end)
    return period_replication, period_day, post_open, day_end


def _slots_needed(hall, inputs: TicketInputs, output: EngineOutput, day_open, day_end) -> int:
    """The reporting slots a batch's aggregates can fill: up to the one holding its latest
    time after a day's opening (a day's last window closing, a ticket leaving), and one
    more; the overtime slots after it would stay empty (they are not allocated, and the
    kernels' last slot takes anything later, so no time can fall outside)."""
    latest = (day_end - day_open).max()
    busy = np.diff(inputs.day_ptr) > 0  # days with tickets: each day's latest end, NaN ignored
    if busy.any():
        last_end = np.fmax.reduceat(output.end, inputs.day_ptr[:-1][busy])
        latest = max(latest, np.fmax.reduce(last_end - day_open[busy], initial=0.0))
    slot = int(np.searchsorted(hall.slot_bounds(), latest, side="right"))
    return min(hall.n_slots, max(slot + 1, hall.n_open_slots + 1))


def _ticket_sums(
    hall: CompiledHall,
    inputs: TicketInputs,
    output: EngineOutput,
    day_open: np.ndarray,
    day_end: np.ndarray,
    bounds: np.ndarray,
) -> dict[str, np.ndarray]:
    """The sums of :func:`hallsim._kernels.ticket_aggregates` over a batch's tickets: per
    (day of the batch, slot, category) ``counts`` (arrivals, served, abandoned),
    ``wait_sum`` and ``areas`` (queue, busy); per replication and post ``busy``, ``served``
    and ``lost`` minutes; per replication and category ``totals``; and the served waits by
    replication and category (``waits``, group ``g`` at ``waits_ptr[g]:waits_ptr[g + 1]``)."""
    batch, n_cat, n_post = inputs.replications, hall.n_categories, hall.n_posts
    shape = (day_open.size, bounds.size - 1, n_cat)
    sums = {
        # a cell has at most its day's tickets: counted in int16 when it holds the busiest
        # day's (half the memory to fault in for hundreds of categories), else int32; not
        # int8, so that the warm-up's idle batches compile the kernel for real ones
        "counts": np.zeros((3, *shape), dtype=_count_type(np.diff(inputs.day_ptr), np.int16)),
        "wait_sum": np.zeros(shape),
        "areas": np.zeros((2, *shape)),
        "busy": np.zeros((batch, n_post)),
        "served": np.zeros((batch, n_post), dtype=np.int64),
        "lost": np.zeros((batch, n_post)),
        "totals": np.zeros((batch, n_cat, len(TOTALS)), dtype=np.int64),
    }
    sums["waits"], sums["waits_ptr"], sums["last_slot"] = _kernels.ticket_aggregates(
        inputs.issued,
        inputs.category,
        output.called,
        output.start,
        output.end,
        output.outcome,
        output.post,
        output.recall_post,
        hall.no_show_lost,
        inputs.day_ptr,
        day_open,
        day_end,
        hall.n_days,
        hall.close_minute - hall.open_minute,
        bounds,
        hall.n_open_slots,
        hall.sla_wait_min,
        sums["counts"],
        sums["wait_sum"],
        sums["areas"],
        sums["busy"],
        sums["served"],
        sums["lost"],
        sums["totals"],
    )
    return sums


def _served_after_close(
    hall: CompiledHall,
    inputs: TicketInputs,
    output: EngineOutput,
    day_open: np.ndarray,
    totals: np.ndarray,
) -> None:
    """Count again the tickets served after closing time (the aggregates' kernel compares
    with the hall's ``close``) where days of the calendar close earlier: a ticket counts
    when its service started at or after its own day's closing time."""
    closing = np.tile(hall.day_hours[:, 1] - hall.open_minute, inputs.replications)
    ticket = np.repeat(np.arange(day_open.size), np.diff(inputs.day_ptr))
    after = (output.outcome == SERVED) & (output.start - day_open[ticket] >= closing[ticket])
    group = inputs.replication * hall.n_categories + inputs.category
    counts = np.bincount(group[after], minlength=totals.shape[0] * hall.n_categories)
    totals[:, :, TOTAL_AFTER_CLOSE] = counts.reshape(totals.shape[:2])


def _reserve_activations(output: EngineOutput, period_replication: np.ndarray) -> dict:
    """The reserve activations of a batch, and when each closed: the k-th activation at a
    (replication, post, instant) closes with the k-th period opened there, in order of their
    ends (a post may open twice at one instant, the first time closing at once)."""
    replication = np.repeat(np.arange(output.replications), np.diff(output.reserve_ptr))
    n_periods, n_acts = output.period_post.size, output.reserve_post.size
    closed = np.empty(n_acts)
    if n_acts:
        periods = (period_replication, output.period_post, output.period_start)
        activations = (replication, output.reserve_post, output.reserve_opened)
        # the k-th of each key: periods by their end, activations as they opened
        period_rank = _rank_within(periods, output.period_end)
        act_rank = _rank_within(activations, np.arange(n_acts))
        # every activation sorts right after its period: same key and rank, then the flag
        keys = [np.concatenate(pair) for pair in zip(periods, activations, strict=True)]
        flag = np.repeat([0, 1], [n_periods, n_acts])
        order = np.lexsort((flag, np.concatenate([period_rank, act_rank]), *keys[::-1]))
        act = np.flatnonzero(order >= n_periods)
        closed[order[act] - n_periods] = output.period_end[order[act - 1]]
    return {
        "pool": output.reserve_pool,
        "requested": output.reserve_requested,
        "opened": output.reserve_opened,
        "closed": closed,
        "post": output.reserve_post,
        "reason": output.reserve_reason,
    }


def _rank_within(keys: tuple[np.ndarray, ...], by: np.ndarray) -> np.ndarray:
    """Each entry's rank among the entries of its key (the arrays of ``keys`` together),
    ordered by ``by``: 0 for the first."""
    order = np.lexsort((by, *keys[::-1]))
    new = np.zeros(order.size, dtype=bool)  # where a key starts, in that order
    new[:1] = True
    for key in keys:
        new[1:] |= key[order][1:] != key[order][:-1]
    first = np.maximum.accumulate(np.where(new, np.arange(order.size), 0))
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size) - first
    return rank


def _group_mean(group: np.ndarray, values: np.ndarray, groups: int) -> np.ndarray:
    """Mean of ``values`` in each of ``groups`` groups, as :func:`numpy.mean` gives it for
    the group's values in their order (NaN for an empty group)."""
    order = np.argsort(group, kind="stable")
    ptr = np.concatenate([[0], np.cumsum(np.bincount(group, minlength=groups))])
    sums = _kernels.segment_sums(values[order].astype(float), ptr[:-1], ptr[1:])
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / np.diff(ptr)


def _time_averages(
    group: np.ndarray, groups: int, arrive: np.ndarray, leave: np.ndarray, t0: float, t1: float
) -> np.ndarray:
    """Per group, the time-average number present over [t0, t1) of items present from
    ``arrive`` to ``leave`` (NaN: still there at t1), by integrating the count between
    events."""
    times = np.clip(np.concatenate([arrive, np.nan_to_num(leave, nan=t1)]), t0, t1)
    steps = np.concatenate([np.ones(arrive.size), -np.ones(leave.size)])
    of = np.concatenate([group, group])
    order = np.lexsort((times, of))  # by group, then time (arrivals first at equal times)
    times, steps = times[order], steps[order]
    count = np.cumsum(steps)  # integers: exact, and 0 between groups
    # a group's events are ptr[g]:ptr[g + 1], and its steps between them all but the last
    ptr = np.concatenate([[0], np.cumsum(np.bincount(of, minlength=groups))])
    areas = count[:-1] * np.diff(times)
    area = _kernels.segment_sums(areas, ptr[:-1], np.maximum(ptr[1:] - 1, ptr[:-1]))
    return area / (t1 - t0)


def _back_office_stats(hall: CompiledHall, inputs: TicketInputs, output: EngineOutput):
    """Per replication and category: the BACK_OFFICE_METRICS of its deferred cases, shape
    (batch, categories, 9). Work in progress and queue are time averages from the first
    opening to the end of the last day."""
    n_cat = hall.n_categories
    groups = inputs.replications * n_cat
    t0, t1 = hall.open_minute, hall.n_days * 1440.0
    cases = np.flatnonzero(deferred_cases(hall, inputs, output.outcome))
    group = (inputs.replication * n_cat + inputs.category)[cases]
    arrive = output.end[cases]
    start, finish = output.office_start[cases], output.office_end[cases]
    done = ~np.isnan(finish)
    same_day = np.floor(finish[done] / 1440.0) == inputs.day[cases][done]
    came = ~np.isnan(output.pickup_start[cases])
    pickup_wait = output.pickup_start[cases][came] - output.pickup_arrive[cases][came]
    _time_average = partial(_time_averages, group, groups)  # per replication and category
    stats = np.column_stack(
        [
            np.bincount(group, minlength=groups),
            _group_mean(group[done], start[done] - arrive[done], groups),
            _group_mean(group[done], finish[done] - inputs.issued[cases][done], groups),
            _group_mean(group[done], same_day, groups),
            _time_average(arrive, finish, t0, t1),
            _time_average(arrive, start, t0, t1),
            np.bincount(group[~done], minlength=groups),
            np.bincount(group[came], minlength=groups),
            _group_mean(group[came], pickup_wait, groups),
        ]
    )
    return stats.reshape(inputs.replications, n_cat, len(BACK_OFFICE_METRICS))


def _sum_over_members(values: np.ndarray, members: np.ndarray) -> np.ndarray:
    """``values @ members.T`` for a boolean ``members`` (rows, K): ``values`` (..., K) summed
    over each row's members, (..., rows). Written as sums in member order, not a matrix
    product: numpy hands a float product to BLAS, whose threads stall these small products
    on a busy machine (a second of spinning for milliseconds of work)."""
    row, member = np.nonzero(members)
    flat = values.reshape(-1, values.shape[-1])
    target = (np.arange(flat.shape[0])[:, None] * members.shape[0] + row).ravel()
    sums = np.bincount(target, flat[:, member].ravel(), minlength=flat.shape[0] * members.shape[0])
    return sums.reshape(*values.shape[:-1], members.shape[0])


def _per(index, size, post_open, post_busy, post_lost, post_served) -> np.ndarray:
    """Open, busy and lost minutes and tickets served, summed from posts to their window or
    staff member (``index``: -1 for none) in each replication, shape (batch, size, 4)."""
    kept = index >= 0
    batch = post_open.shape[0]
    target = (np.arange(batch)[:, None] * size + index[None, kept]).ravel()
    return np.stack(
        [
            np.bincount(target, values[:, kept].ravel(), minlength=batch * size)
            for values in (post_open, post_busy, post_lost, post_served)
        ],
        axis=1,
    ).reshape(batch, size, 4)


def _category_stats(hall: CompiledHall, sums: dict) -> np.ndarray:
    """Per replication, category and overall (last row of each replication): the summary
    metrics, shape (batch, categories + 1, metrics), from a batch's :func:`day_sums`,
    computed for all of them at once (no loop over replications or categories: halls may
    have hundreds of categories, studies thousands of replications). A *row* here is a
    (replication, category or overall).

    A category's utilisation is over the posts that serve it; imbalance and tickets per
    window are over the windows that serve it at some time of the day, per open day."""
    totals, post_open, post_busy = sums["totals"], sums["post_open"], sums["post_busy"]
    batch, n_cat = totals.shape[:2]
    n_win = hall.n_windows
    target = (np.arange(batch)[:, None] * n_win + hall.post_window[None, :]).ravel()
    window_open = np.bincount(target, post_open.ravel(), minlength=batch * n_win)
    window_busy = np.bincount(target, post_busy.ravel(), minlength=batch * n_win)
    rows = n_cat + 1  # of a replication
    window_sets, window_set_of_row = hall.row_window_sets
    windows_of_row = window_sets.sum(axis=1)[window_set_of_row]  # windows serving each row
    count = np.concatenate([totals, totals.sum(axis=1, keepdims=True)], axis=1)
    count = count.reshape(-1, len(TOTALS)).astype(float)  # (rows, TOTALS)
    n = count[:, TOTAL_TICKETS]

    def by_day(values: np.ndarray) -> np.ndarray:
        """(batch, days, slots, categories) summed over the slots -> (rows, days)."""
        values = values.sum(axis=2)
        values = np.concatenate([values, values.sum(axis=2, keepdims=True)], axis=2)
        return values.transpose(0, 2, 1).reshape(batch * rows, hall.n_days)

    # tickets issued and served, and their waits, per day of each replication and category
    issued, served = by_day(sums["arrivals"]), by_day(sums["served"])
    waited = by_day(sums["wait_sum"])
    peak = np.argmax(issued, axis=1)
    row = np.arange(n.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        cv, gini = _imbalance(window_busy, window_open, window_sets, window_set_of_row, batch)
        # per replication and row, over the row's posts (rows of one department share them)
        post_sets, set_of_row = hall.row_post_sets
        open_time = _sum_over_members(post_open, post_sets)[:, set_of_row].ravel()
        busy_time = _sum_over_members(post_busy, post_sets)[:, set_of_row].ravel()
        return np.column_stack(
            [
                n,
                *_wait_mean_and_p90(sums["waits"], sums["waits_ptr"], batch),
                count[:, TOTAL_WITHIN_SLA] / n,
                count[:, TOTAL_ABANDONED] / n,
                count[:, TOTAL_BALKED] / n,
                count[:, TOTAL_CAPPED] / n,
                count[:, TOTAL_NO_SHOW] / n,
                np.where(open_time > 0, busy_time / open_time, np.nan),
                cv,
                gini,
                count[:, TOTAL_SERVED] / np.tile(windows_of_row, batch) / hall.open_days.size,
                issued[row, peak],
                waited[row, peak] / served[row, peak],
            ]
        ).reshape(batch, rows, len(METRICS))


def _imbalance(
    window_busy: np.ndarray,
    window_open: np.ndarray,
    sets: np.ndarray,
    set_of_row: np.ndarray,
    batch: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficient of variation and Gini of the utilisation of each row's windows that were
    open, per replication and row, (batch x rows): computed once per replication for each
    distinct set of windows (``sets``, (sets, windows) bool; ``set_of_row``: each row's)."""
    n_win = sets.shape[1]
    utilisation = (window_busy / window_open).reshape(batch, 1, n_win)
    used = sets[None, :, :] & (window_open.reshape(batch, 1, n_win) > 0)  # (batch, sets, X)
    utilisation = np.broadcast_to(utilisation, used.shape).reshape(-1, n_win)
    used = used.reshape(-1, n_win)
    figures = []
    for rows_of in (coefficient_of_variation_rows, gini_rows):
        per_set = rows_of(utilisation, used).reshape(batch, len(sets))
        figures.append(per_set[:, set_of_row].ravel())
    return figures[0], figures[1]


def _wait_mean_and_p90(
    waits: np.ndarray, ptr: np.ndarray, batch: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and 0.9 quantile of the waits of each replication and category (group ``r *
    categories + c`` is ``waits[ptr[g]:ptr[g + 1]]``), then of each replication's waits,
    replication after replication (batch x (categories + 1)); NaN where there are none. The
    quantile is numpy's default (linear), written out as :func:`numpy.quantile` computes it,
    so that both give the same number; the means are :func:`numpy.mean`'s. Reorders ``waits``
    within the groups (no copy: a long horizon has tens of millions)."""
    n_cat = (ptr.size - 1) // batch
    replication_ptr = ptr[::n_cat]
    rows = (batch, n_cat + 1)
    starts = np.concatenate([ptr[:-1].reshape(batch, n_cat), replication_ptr[:-1, None]], axis=1)
    stops = np.concatenate([ptr[1:].reshape(batch, n_cat), replication_ptr[1:, None]], axis=1)
    sizes = stops - starts
    with np.errstate(invalid="ignore", divide="ignore"):
        means = _kernels.segment_sums(waits, starts.ravel(), stops.ravel()).reshape(rows) / sizes
    q = 0.9
    virtual = (sizes - 1) * q  # numpy's "linear" (Hyndman & Fan's method 7)
    below = np.floor(virtual)
    fraction = virtual - below
    last = np.maximum(sizes - 1, 0)
    low = np.where(virtual >= last, last, below).astype(np.int64)
    high = np.where(virtual >= last, last, below + 1).astype(np.int64)
    a, b = _kernels.segment_ranks(waits, starts.ravel(), stops.ravel(), low.ravel(), high.ravel())
    a, b = a.reshape(rows), b.reshape(rows)
    step = b - a
    p90 = np.where(fraction >= 0.5, b - step * (1 - fraction), a + step * fraction)
    return means.ravel(), np.where(sizes > 0, p90, np.nan).ravel()


@dataclass
class Results:
    """Tables of a simulation run (see the module doc for definitions).

    Attributes
    ----------
    tickets : pandas.DataFrame or None
        One row per issued ticket: replication, ticket, category, day, issued, called, start,
        end, window, staff, outcome; ``None`` with ``keep_tickets=False``.
    intervals : pandas.DataFrame
        Per replication, day, reporting interval and category. Built when first read (a
        long horizon's has many rows: a run that never reads it does not pay for them).
    windows : pandas.DataFrame
        Per replication and window: open and busy minutes, minutes lost recalling absent
        holders, utilisation (busy over open), tickets served.
    staff : pandas.DataFrame
        The same per replication and staff member (``open_min``: minutes staffing an open
        window), reserve staff included; no rows without staff.
    reserve : pandas.DataFrame
        One row per reserve activation: its pool, day, when the trigger fired
        (``requested_min``), when the window opened and closed, why (``queue`` or
        ``wait``), the window and the reserve staff member.
    back_office : pandas.DataFrame
        Per replication and category, deferred cases (:data:`BACK_OFFICE_METRICS`): how
        many, back-office wait, lead time to the result, share ready the same day, work in
        progress and queue (time averages), unfinished, pickups and pickup wait. With
        deferred cases the ticket table also has their stage times (:data:`STAGE_COLUMNS`).
    replication_stats : pandas.DataFrame
        Per replication and category (and ``"overall"``): the metrics of :meth:`summary`.
    warnings : list of str
        Overload and unserved-ticket warnings, repeated by :meth:`summary`.
    rules : hallsim.engines.reference.Rules or None
        Replacement rules the simpy engine ran with (``None``: the documented rules).
    start_date : str or None
        The date of day 0 when the run has one (a replay of a log: its first date), the
        default of :meth:`to_log`.
    """

    scenario: Scenario
    seed: int
    replications: int
    engine: str
    tickets: pd.DataFrame | None
    windows: pd.DataFrame
    staff: pd.DataFrame
    reserve: pd.DataFrame
    back_office: pd.DataFrame
    replication_stats: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    rules: object | None = None
    start_date: str | None = None
    # what the interval table is built from: the hall and each batch's interval arrays
    _interval_arrays: tuple[CompiledHall, list[dict]] | None = field(default=None, repr=False)

    @cached_property
    def intervals(self) -> pd.DataFrame:
        hall, parts = self._interval_arrays
        table = _interval_table(hall, parts, pd.CategoricalDtype(hall.category_ids))
        self._interval_arrays = None  # the table holds them now
        return table

    def __repr__(self) -> str:
        tickets = "not kept" if self.tickets is None else f"{len(self.tickets)} rows"
        return (
            f"Results({self.scenario.name or 'hall'!r}: {self.replications} replications x "
            f"{self.scenario.hall.days} days, seed={self.seed}, engine={self.engine!r}, "
            f"tickets {tickets}, {len(self.warnings)} warnings)"
        )

    @classmethod
    def from_replications(
        cls,
        hall: CompiledHall,
        parts: list[dict],
        *,
        scenario: Scenario,
        seed: int,
        engine: str,
        warnings_: list[str],
    ) -> Results:
        """Assemble the arrays of batches of replications (:func:`replication_tables`, in
        replication order) of ``scenario`` compiled as ``hall`` into tables, each built
        once."""
        data = _joined(parts)
        categories = pd.CategoricalDtype(hall.category_ids)
        tickets = None
        if "tickets" in data:
            tickets = _ticket_table(hall, data, categories)
        return cls(
            scenario=scenario,
            seed=seed,
            replications=data["replications"],
            engine=engine,
            tickets=tickets,
            windows=_window_table(hall, data),
            staff=_time_table(data, "staff", "staff", hall.staff_names),
            reserve=_reserve_table(hall, data),
            back_office=_back_office_table(hall, data),
            replication_stats=_stats_table(hall, data),
            warnings=warnings_ + _observed_warnings(data),
            _interval_arrays=(
                hall,
                [{key: p[key] for key in ("replications", *INTERVAL_ARRAYS)} for p in parts],
            ),
        )

    def summary(
        self,
        confidence: float = 0.95,
        *,
        between: tuple[str, str] | None = None,
        weekday: str | Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Per category and overall: each metric's mean over replications and its CI.

        Columns come in threes: ``metric``, ``metric_lo``, ``metric_hi`` (a Student-t
        interval over replications at level ``confidence``; NaN with one replication),
        clipped to the metric's range (shares between 0 and 1, everything else >= 0). When
        an interval had to be clipped and there are fewer than 10 replications, a
        :class:`PrecisionWarning` says so. Shares are fractions here and in the CSV files
        (the console summary shows percentages). Warnings in :attr:`warnings` are emitted
        as :class:`HallWarning`.

        Parameters
        ----------
        confidence : float, default 0.95
            Level of the intervals, between 0 and 1.
        between : (str, str), optional
            ``("HH:MM", "HH:MM")``: only the tickets issued from the first time of day up
            to (not including) the second, e.g. the morning peak ``("09:00", "10:30")``.
        weekday : str or list of str, optional
            Only the days that fall on these weekdays (``"mon"`` ... ``"sun"``), e.g. the
            Mondays of a week.

        With ``between`` or ``weekday``, the metrics are those of the tickets issued then,
        per replication, from the ticket table (``keep_tickets=True``): ``tickets`` (over
        the matching days of a replication), ``mean_wait``, ``p90_wait``,
        ``service_level``, ``abandonment``, ``balking``, ``capped`` and ``no_show``; the
        metrics of whole days and windows (utilisation, peak day, ...) are left out.
        """
        check_confidence(confidence)
        stats, metrics = self.replication_stats, METRICS
        if between is not None or weekday is not None:
            stats, metrics = self._window_stats(between, weekday), WINDOW_METRICS
        return _summary(stats, metrics, confidence, self.replications, self.warnings, self.scenario)

    def _window_stats(self, between, weekday) -> pd.DataFrame:
        """Per replication and category (and overall): the :data:`WINDOW_METRICS` of the
        tickets issued ``between`` two times of day on days of ``weekday``."""
        if self.tickets is None:
            raise ValueError(
                "summary(between=..., weekday=...) reads the ticket table: simulate with "
                "keep_tickets=True"
            )
        hall = self.scenario.hall
        tickets = self.tickets
        day = tickets["day"].to_numpy()
        keep = np.ones(len(tickets), dtype=bool)
        days = np.arange(hall.days)
        if between is not None:
            if isinstance(between, str) or len(between) != 2:
                raise ValueError(f'between must be two times, ("HH:MM", "HH:MM") (got {between!r})')
            start, end = (minutes_of_day(t) for t in between)
            minute = tickets["issued"].to_numpy() - day * 1440.0
            keep &= (minute >= start) & (minute < end)
        if weekday is not None:
            names = [weekday] if isinstance(weekday, str) else list(weekday)
            unknown = [name for name in names if name not in WEEKDAYS]
            if unknown:
                raise ValueError(
                    f"weekday must be among {', '.join(WEEKDAYS)} (got {unknown[0]!r})"
                )
            first = WEEKDAYS.index(hall.first_weekday)
            days = days[np.isin((first + days) % 7, [WEEKDAYS.index(n) for n in names])]
            keep &= np.isin(day, days)
        chosen = tickets[keep]
        outcome = chosen["outcome"].to_numpy()
        served = outcome == "served"
        wait = (chosen["start"] - chosen["issued"]).where(served)
        columns = pd.DataFrame(
            {
                "replication": chosen["replication"],
                "category": chosen["category"],
                "tickets": 1,
                "wait": wait,
                "service_level": (wait <= hall.sla_wait_min).astype(float),
                **{metric: outcome == name for metric, name in _SHARE_OUTCOMES.items()},
            }
        )
        labels = list(tickets["category"].cat.categories)
        parts = []
        for keys in (["category", "replication"], ["replication"]):
            grouped = columns.groupby(keys, observed=True)
            part = grouped[["tickets", "service_level", *_SHARE_OUTCOMES]].sum()
            part["mean_wait"] = grouped["wait"].mean()
            part["p90_wait"] = grouped["wait"].quantile(0.9)
            part = part.reset_index()
            if "category" not in part:
                part.insert(0, "category", OVERALL)
            parts.append(part)
        table = pd.concat(parts, ignore_index=True).astype({"category": str})
        # every (category, replication), with no ticket issued then: 0 tickets, NaN metrics
        every = pd.MultiIndex.from_product(
            [[*labels, OVERALL], range(self.replications)], names=["category", "replication"]
        )
        table = table.set_index(["category", "replication"]).reindex(every).reset_index()
        table["tickets"] = table["tickets"].fillna(0)
        issued = table["tickets"].where(table["tickets"] > 0)
        for metric in ("service_level", *_SHARE_OUTCOMES):
            table[metric] = table[metric] / issued
        table["category"] = pd.Categorical(table["category"], categories=[*labels, OVERALL])
        return table[["replication", "category", *WINDOW_METRICS]]

    def to_log(self, start_date: str | None = None, *, replication: int = 0) -> TicketLog:
        """One replication's tickets as a ticket log (see :mod:`hallsim.logs`).

        Day 0 becomes ``start_date`` (ISO date; its weekday must be the hall's
        ``first_weekday``; default: :attr:`start_date`, else the first such day from 2026-01-05
        on), minutes become
        datetimes, and ticket ids ``"<yyyymmdd>-<n>"`` count each day's tickets from 1. Write it
        with :func:`hallsim.logs.write_log`; read back, it gives the same log.
        """
        from .logs import log_from_results

        return log_from_results(self, start_date, replication)

    def to_excel(self, path: str | Path, *, tickets: bool = True) -> Path:
        """Write every table as a sheet of an Excel workbook, with the summary and the run's
        settings (:func:`hallsim.export.write_excel`); returns ``path``."""
        from .export import write_excel

        return write_excel(self, path, tickets=tickets)


def format_summary(table: pd.DataFrame) -> str:
    """The summary as aligned text: a line saying what the numbers are, ``mean ± half-width``
    per metric (``mean (low-high)`` where the interval was clipped to the metric's range),
    then a line on the windows of the whole hall (imbalance, tickets per window per day,
    peak day)."""

    def shown(metric: str, scale: float = 1.0, digits: int = 1) -> list[str]:
        cells = []
        for m, lo, hi in zip(
            table[metric] * scale,
            table[f"{metric}_lo"] * scale,
            table[f"{metric}_hi"] * scale,
            strict=True,
        ):
            if np.isnan(lo):
                cells.append(f"{m:.{digits}f}")
            elif math.isclose(m - lo, hi - m, rel_tol=1e-9, abs_tol=1e-12):
                cells.append(f"{m:.{digits}f} ± {hi - m:.{digits}f}")
            else:
                cells.append(f"{m:.{digits}f} ({lo:.{digits}f}-{hi:.{digits}f})")
        return cells

    days = table.attrs.get("days", 1)
    columns = {
        "tickets": ("tickets", 1.0),
        "mean_wait": ("mean wait (min)", 1.0),
        "p90_wait": ("P90 wait (min)", 1.0),
        "service_level": ("within SLA (%)", 100.0),
        "abandonment": ("abandoned (%)", 100.0),
        "utilisation": ("utilisation (%)", 100.0),
    }
    cells = {label: shown(metric, scale) for metric, (label, scale) in columns.items()}
    if days > 1:
        per_day = table["tickets"] / days
        cells = {"tickets": cells["tickets"], "per day": [f"{t:.1f}" for t in per_day]} | {
            k: v for k, v in cells.items() if k != "tickets"
        }
    text = pd.DataFrame(cells, index=table.index).to_string()
    gini, cv = shown("utilisation_gini", digits=2)[-1], shown("utilisation_cv", digits=2)[-1]
    per_window = shown("tickets_per_window_day")[-1]
    peak, peak_wait = shown("peak_day_tickets")[-1], shown("peak_day_mean_wait")[-1]
    replications = table.attrs.get("replications")
    confidence = table.attrs.get("confidence", 0.95)
    over = f" over {replications} replications" if replications else ""
    open_ = " open" if table.attrs.get("closed_days") else ""
    legend = (
        f"tickets: per replication, all {days}{open_} day{'s' if days > 1 else ''}; "
        "utilisation: of "
        f"the windows serving the category; shares in % (fractions in the CSV files); "
        f"± {confidence:.0%} interval{over}"
    )
    return (
        f"{legend}\n{text}\nwindows: utilisation Gini {gini}, CV {cv}; {per_window} tickets "
        f"per window per day; peak day {peak} tickets, mean wait {peak_wait} min"
    )


def operations_lines(results: Results) -> list[str]:
    """One line each on staff, reserve activations and deferred cases, per replication and
    open day (means), for the parts of the hall that have them."""
    per_day = results.replications * len(results.scenario.hall.open_days)
    lines = []
    if len(results.staff):
        staff = results.staff
        staffed = staff["open_min"].sum()
        lines.append(
            f"staff: {staff['staff'].nunique()} people, {staffed / 60 / per_day:.1f} staffed "
            f"hours a day, busy {staff['busy_min'].sum() / staffed:.0%}"
        )
    if results.scenario.reserve:
        reserve = results.reserve
        hours = (reserve["closed_min"] - reserve["opened_min"]).sum() / 60
        lines.append(
            f"reserve: {len(reserve) / per_day:.1f} activations and {hours / per_day:.1f} "
            "staff-hours a day"
        )
    office = results.back_office
    if len(office):
        cases = office["deferred"].sum()
        done = cases - office["unfinished"].sum()
        lead = (office["lead_time"] * (office["deferred"] - office["unfinished"])).sum() / done
        same_day = (office["same_day"] * (office["deferred"] - office["unfinished"])).sum() / done
        lines.append(
            f"back office: {cases / per_day:.1f} deferred cases a day, lead time "
            f"{lead / 60:.1f} h, {same_day:.0%} ready the same day, "
            f"{office['unfinished'].sum() / results.replications:.1f} open at the end"
        )
    return lines


# Arrays of replication_tables per (replication, day, slot, category; ``open_area`` per window
# group): the interval table takes the slots it shows straight from each batch
INTERVAL_ARRAYS = (
    "arrivals",
    "served",
    "abandoned",
    "wait_sum",
    "queue_area",
    "busy_area",
    "open_area",
)


def _tiled(names: list[str], replications: int) -> pd.Categorical:
    """``names`` once per replication, as a categorical column of them."""
    return pd.Categorical.from_codes(np.tile(np.arange(len(names)), replications), names)


def _joined(parts: list[dict]) -> dict:
    """The arrays of batches of replications joined along their first axis, the
    replication's (no copy for a single batch: tables of millions of tickets), but for the
    :data:`INTERVAL_ARRAYS`."""
    if len(parts) == 1:
        return parts[0]
    joined = {"replications": sum(p["replications"] for p in parts)}
    for key, value in parts[0].items():
        if isinstance(value, dict):
            joined[key] = {k: np.concatenate([p[key][k] for p in parts]) for k in value}
        elif key != "replications" and key not in INTERVAL_ARRAYS:
            joined[key] = np.concatenate([p[key] for p in parts])
    return joined


def _ticket_table(hall: CompiledHall, data: dict, categories) -> pd.DataFrame:
    columns = data["tickets"]
    replication, ticket = _kernels.ticket_numbers(data["n_tickets"])

    def coded(codes: np.ndarray, dtype: pd.CategoricalDtype) -> pd.Categorical:
        # the codes are the kernels' own (checked by the tests), not a user's
        return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)

    return pd.DataFrame(
        {
            "replication": replication,
            "ticket": ticket,
            "category": coded(columns["category"], categories),
            "day": columns["day"],
            "issued": columns["issued"],
            "called": columns["called"],
            "start": columns["start"],
            "end": columns["end"],
            "window": coded(columns["window"], pd.CategoricalDtype(hall.window_names)),
            "staff": coded(columns["staff"], pd.CategoricalDtype(hall.staff_names)),
            "outcome": coded(columns["outcome"], pd.CategoricalDtype(OUTCOMES)),
            **{key: columns[key] for key in STAGE_COLUMNS if hall.defers},
        },
        copy=False,
    )


def _back_office_table(hall: CompiledHall, data: dict) -> pd.DataFrame:
    """Per replication and category (categories without a back office have zero cases)."""
    if not hall.defers:
        return pd.DataFrame(columns=["replication", "category", *BACK_OFFICE_METRICS])
    replications = data["replications"]
    values = data["back_office"].reshape(-1, len(BACK_OFFICE_METRICS))
    table = pd.DataFrame(values, columns=list(BACK_OFFICE_METRICS))
    for key in ("deferred", "unfinished", "pickups"):
        table[key] = table[key].astype(np.int64)
    ids = hall.category_ids
    table.insert(0, "category", _tiled(ids, replications))
    table.insert(0, "replication", np.repeat(np.arange(replications, dtype=np.int32), len(ids)))
    return table


def _interval_table(hall: CompiledHall, parts: list[dict], categories) -> pd.DataFrame:
    """Per replication, open day, reporting interval (up to the last one with any time in
    it) and category, from the batches' arrays (a day the hall is closed has no rows)."""
    bounds = hall.slot_bounds()
    n_used = max(p["served"].shape[2] for p in parts)  # each batch's up to its last used
    length = np.diff(bounds)[:n_used]

    open_days = hall.open_days
    days = slice(None) if len(open_days) == hall.n_days else np.asarray(open_days)
    replications = sum(p["replications"] for p in parts)
    n_days, n_cat = len(open_days), hall.n_categories

    def stack(key):  # (replications, open days, slots shown, categories), each batch's
        dtype = np.int64 if parts[0][key].dtype.kind == "i" else np.float64
        values = np.zeros((replications, n_days, n_used, n_cat), dtype=dtype)
        first = 0
        for part in parts:  # zero after a batch's last slot shown
            block = part[key][:, days]
            if key == "open_area":  # per window group: summed over the groups serving each
                block = _sum_over_members(block, hall.serves.T)
            values[first : first + block.shape[0], :, : block.shape[2]] = block
            first += block.shape[0]
        return values

    served = stack("served")
    cells = n_days * n_used * n_cat  # of a replication, in the order of the table's rows
    slot = np.tile(np.repeat(np.arange(n_used, dtype=np.int32), n_cat), replications * n_days)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_wait = stack("wait_sum") / served
    per_minute = length[None, None, :, None]
    return pd.DataFrame(
        {
            "replication": np.repeat(np.arange(replications, dtype=np.int32), cells),
            "day": np.tile(
                np.repeat(hall.open_days.astype(np.int32), n_used * n_cat), replications
            ),
            "interval": slot,
            "start_min": (hall.open_minute + bounds[:n_used])[slot],
            "category": pd.Categorical.from_codes(
                np.tile(np.arange(n_cat), replications * n_days * n_used), dtype=categories
            ),
            "arrivals": stack("arrivals").ravel(),
            "served": served.ravel(),
            "abandoned": stack("abandoned").ravel(),
            "mean_wait": mean_wait.ravel(),
            "queue_length": (stack("queue_area") / per_minute).ravel(),
            "busy_windows": (stack("busy_area") / per_minute).ravel(),
            "open_windows": (stack("open_area") / per_minute).ravel(),
        },
        copy=False,  # fresh arrays: no copy into one block (a second for 4 M rows)
    )


def _window_table(hall: CompiledHall, data: dict) -> pd.DataFrame:
    group_ids = hall.entry_ids
    table = _time_table(data, "windows", "window", hall.window_names)
    table.insert(
        2,
        "group",
        pd.Categorical.from_codes(
            np.tile(hall.window_entry, data["replications"]), categories=group_ids
        ),
    )
    return table


def _time_table(data: dict, key: str, column: str, names: list[str]) -> pd.DataFrame:
    """Per replication and window (or staff member): open, busy and lost minutes,
    utilisation, tickets served."""
    replications = data["replications"]
    values = data[key].reshape(-1, 4)
    with np.errstate(invalid="ignore", divide="ignore"):
        utilisation = values[:, 1] / values[:, 0]
    return pd.DataFrame(
        {
            "replication": np.repeat(np.arange(replications, dtype=np.int32), len(names)),
            column: _tiled(names, replications),
            "open_min": values[:, 0],
            "busy_min": values[:, 1],
            "lost_min": values[:, 2],
            "utilisation": utilisation,
            "served": values[:, 3].astype(np.int64),
        }
    )


def _reserve_table(hall: CompiledHall, data: dict) -> pd.DataFrame:
    """One row per reserve activation."""
    reserve = data["reserve"]
    pools = hall.pool_ids
    post = reserve["post"].astype(np.int64)
    opened = reserve["opened"]
    return pd.DataFrame(
        {
            "replication": np.repeat(
                np.arange(data["replications"], dtype=np.int32), data["reserve_counts"]
            ),
            "pool": pd.Categorical.from_codes(reserve["pool"].astype(np.int64), categories=pools),
            "day": (opened // 1440).astype(np.int32),
            "requested_min": reserve["requested"],
            "opened_min": opened,
            "closed_min": reserve["closed"],
            "reason": pd.Categorical.from_codes(
                reserve["reason"].astype(np.int64), categories=list(RESERVE_REASONS)
            ),
            "window": pd.Categorical.from_codes(
                hall.post_window[post], categories=hall.window_names
            ),
            "staff": pd.Categorical.from_codes(hall.post_staff[post], categories=hall.staff_names),
        }
    )


# What :func:`summary_of` reads of a batch (:func:`replication_tables`): a batch run for a
# summary alone sends back only these
SUMMARY_ARRAYS = ("replications", "stats", "n_tickets", "in_system", "served_after_close")


def check_confidence(confidence: object) -> None:
    """ValueError unless ``confidence`` is a level strictly between 0 and 1."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, e.g. 0.95 (got {confidence!r})")


def summary_of(
    hall: CompiledHall,
    parts: list[dict],
    *,
    scenario: Scenario,
    warnings_: list[str],
    confidence: float = 0.95,
) -> pd.DataFrame:
    """What ``Results.from_replications(hall, parts, ...).summary(confidence)`` returns,
    built from the replications' statistics alone: a sweep summarises each of its points and
    needs none of the other tables."""
    check_confidence(confidence)
    counts = {key: np.concatenate([p[key] for p in parts]) for key in SUMMARY_ARRAYS[2:]}
    messages = warnings_ + _observed_warnings(counts)
    # the rows of the replication_stats table, as arrays (no table: a sweep summarises each
    # of hundreds of points, and pandas would take most of its client's time)
    stats = np.concatenate([p["stats"] for p in parts])  # (replications, rows, metrics)
    replications, rows = stats.shape[:2]
    labels = pd.Categorical.from_codes(np.arange(rows), [*hall.category_ids, OVERALL])
    codes = np.tile(np.arange(rows), replications)
    values = stats.reshape(-1, len(METRICS))
    return _summary_of_values(
        codes, labels, values, METRICS, confidence, replications, messages, scenario, level=3
    )


def _summary(
    stats: pd.DataFrame,
    metrics: Sequence[str],
    confidence: float,
    replications: int,
    messages: list[str],
    scenario: Scenario,
) -> pd.DataFrame:
    """:meth:`Results.summary` of the per-replication ``stats`` (its warnings raised as the
    caller of ``summary`` raises them)."""
    codes, labels = pd.factorize(stats["category"], sort=False)
    values = stats[list(metrics)].to_numpy(dtype=float)
    return _summary_of_values(
        codes, labels, values, metrics, confidence, replications, messages, scenario, level=4
    )


def _summary_of_values(
    codes: np.ndarray,
    labels: pd.Categorical,
    values: np.ndarray,
    metrics: Sequence[str],
    confidence: float,
    replications: int,
    messages: list[str],
    scenario: Scenario,
    *,
    level: int,
) -> pd.DataFrame:
    """:func:`_summary` of the statistics ``values`` (one row per replication and category,
    a column per metric) of the categories ``labels[codes]``; its warnings name the frame
    ``level`` calls up."""
    from scipy.special import stdtrit  # Student t quantile; scipy.stats costs a second

    for message in messages:
        warnings.warn(message, HallWarning, stacklevel=level)
    # every category and metric at once, in numpy (a sweep summarises each of its points):
    # per category, in the order categories first appear, the mean, count and standard
    # deviation of each metric over the replications where it is defined (not NaN)
    defined = ~np.isnan(values)
    n_groups, n_metrics = len(labels), len(metrics)
    cell = (codes[:, None] * n_metrics + np.arange(n_metrics)).ravel()

    def per_group(weights: np.ndarray) -> np.ndarray:
        sums = np.bincount(cell, weights.ravel(), minlength=n_groups * n_metrics)
        return sums.reshape(n_groups, n_metrics)

    count = per_group(defined.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = per_group(np.where(defined, values, 0.0)) / count
        deviation = np.where(defined, values - mean[codes], 0.0)
        std = np.sqrt(per_group(deviation**2) / (count - 1))
        sem = std / np.sqrt(count)
    half = sem * stdtrit(np.maximum(count - 1, 1), 0.5 + confidence / 2)
    half[count < 2] = np.nan
    top = np.array([1.0 if metric in SHARE_METRICS else np.inf for metric in metrics])
    lo, hi = mean - half, mean + half
    outside = ((lo < 0) | (hi > top)).any(axis=0)
    clipped = [metric for metric, out in zip(metrics, outside, strict=True) if out]
    lo, hi = np.where(lo < 0, 0.0, lo), np.where(hi > top, top, hi)  # NaN stays NaN
    # one block of columns metric, metric_lo, metric_hi for each metric in turn
    columns = [f"{metric}{suffix}" for metric in metrics for suffix in ("", "_lo", "_hi")]
    block = np.stack([mean, lo, hi], axis=2).reshape(len(labels), len(columns))
    if clipped and replications < FEW_REPLICATIONS:
        warnings.warn(
            f"with {replications} replications the {confidence:.0%} intervals of "
            f"{', '.join(clipped)} reach beyond the metric's range and were clipped to it; "
            f"run {FEW_REPLICATIONS} or more replications for intervals to rely on",
            PrecisionWarning,
            stacklevel=level,
        )
    table = pd.DataFrame(block, columns=columns, index=pd.Index(labels, name="category"))
    table.attrs["warnings"] = list(messages)
    hall = scenario.hall
    table.attrs.update(
        replications=replications,
        days=len(hall.open_days),
        closed_days=hall.days - len(hall.open_days),
        confidence=confidence,
    )
    return table


def stats_of(hall: CompiledHall, parts: list[dict]) -> pd.DataFrame:
    """The ``replication_stats`` table of batches of replications (as
    :meth:`Results.from_replications` builds it), without the other tables."""
    stats = [{"stats": p["stats"], "replications": p["replications"]} for p in parts]
    return _stats_table(hall, _joined(stats))


def _stats_table(hall: CompiledHall, data: dict) -> pd.DataFrame:
    labels = [*hall.category_ids, OVERALL]
    replications = data["replications"]
    values = data["stats"].reshape(-1, len(METRICS))
    table = pd.DataFrame(values, columns=list(METRICS))
    table.insert(0, "category", _tiled(labels, replications))
    table.insert(0, "replication", np.repeat(np.arange(replications, dtype=np.int32), len(labels)))
    table["tickets"] = table["tickets"].astype(np.int64)
    return table


def _observed_warnings(data: dict) -> list[str]:
    messages = []
    total = int(data["n_tickets"].sum())
    unserved = int(data["in_system"].sum())
    late = int(data["served_after_close"].sum())
    if unserved:
        messages.append(
            f"{unserved} of {total} tickets were still waiting when the last window that serves "
            "them closed (outcome in_system): check the windows' open spans"
        )
    if total and late / total > 0.05:
        messages.append(
            f"{late / total:.0%} of tickets were called after closing time: the hall cannot "
            "clear its queue within opening hours"
        )
    return messages
