"""Back office and pickup (前台受理-后台审批-统一出件): what happens to deferred cases after
the window.

A served ticket of a category with ``deferred`` is a deferred case when its pre-drawn
``deferred_draw`` is below the category's share. It joins its back office's queue when its
window service ends. Each back office is a first-come-first-served queue (by arrival, then
ticket number) with ``staff`` servers working during its hours, on every day the hall is
open over the whole run: a case starts at the first instant at or after its arrival when a
server is free within working hours, and is never interrupted. With ``pickup``, the
citizen then collects the result (see :class:`~hallsim.scenario.Pickup` for when) at the
pickup windows, another such queue. Cases still open when the run's last working span ends
keep NaN times.

These stages never act back on the hall: they read the front's outcome. Both engines share
this module's rules and differ only in the queue that runs a stage (``queue`` below: a numba
kernel, or simpy processes).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..compile import SERVED, CompiledHall
from .inputs import TicketInputs

__all__ = ["StageQueue", "absolute_spans", "deferred_cases", "pickup_arrivals", "run_stages"]

# (arrive, service, servers, span_start, span_end) -> (start, end): one stage's queue; jobs
# are all entries of ``arrive``, in the order of arrival, then index
StageQueue = Callable[
    [np.ndarray, np.ndarray, int, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]
]


def absolute_spans(spans: np.ndarray, day_kind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Working spans on a day of each kind (minutes of day, shape (K, k, 2)) laid out over
    the days of the calendar (``day_kind``: each day's kind, -1 when closed: no spans)."""
    days = np.flatnonzero(day_kind >= 0)
    spans = spans[day_kind[days]]  # (open days, k, 2)
    offsets = (days * 1440.0)[:, None]
    return (offsets + spans[:, :, 0]).ravel(), (offsets + spans[:, :, 1]).ravel()


def pickup_arrivals(hall: CompiledHall, ready: np.ndarray, draw: np.ndarray) -> np.ndarray:
    """When citizens whose results are ``ready`` come to the pickup windows: at ``ready`` if
    pickup is open then, else at the next pickup opening that day; after that day's last
    pickup span (or on a day the hall is closed), on the next open day at the time a share
    ``draw`` of its pickup hours in (NaN past the last day)."""
    day = np.floor(ready / 1440.0)
    minute = ready - day * 1440.0
    arrive = np.full(ready.shape, np.nan)
    later = ~np.isnan(ready)
    # the kind of each ready day (-1: closed); after the run's last day, the hall's hours
    kind = np.zeros(ready.shape, dtype=np.int64)
    known = later & (day < hall.n_days)
    kind[known] = hall.day_kind[day[known].astype(np.int64)]
    kind[~later] = -1
    for k, spans in enumerate(hall.pickup_spans):
        of_kind = kind == k
        for a, b in spans[::-1]:  # the earliest span not over yet wins: go backwards
            today = of_kind & (minute < b)
            arrive[today] = day[today] * 1440.0 + np.maximum(minute[today], a)
            later &= ~today
    # the first open day after each day 0 ... n_days (n_days: there is none)
    open_days = hall.open_days
    position = np.searchsorted(open_days, np.arange(hall.n_days + 1), side="right")
    following = np.append(open_days, hall.n_days)[position]
    next_day = following[np.minimum(day[later], hall.n_days).astype(np.int64)]
    next_kind = np.append(hall.day_kind, -1)[next_day]
    share = draw[later]
    chosen = np.full(next_day.size, np.nan)
    for k, spans in enumerate(hall.pickup_spans):
        mine = next_kind == k
        lengths = spans[:, 1] - spans[:, 0]
        into = share[mine] * lengths.sum()  # minutes of pickup time into the next day
        span = np.minimum(np.searchsorted(np.cumsum(lengths), into, side="right"), len(spans) - 1)
        offset = into - np.concatenate([[0.0], np.cumsum(lengths)])[span]
        chosen[mine] = next_day[mine] * 1440.0 + spans[span, 0] + offset
    arrive[later] = chosen
    return arrive


def deferred_cases(hall: CompiledHall, inputs: TicketInputs, outcome: np.ndarray) -> np.ndarray:
    """Which tickets are deferred cases: served, of a category with a back office, and drawn
    into its share."""
    if not hall.defers:
        return np.zeros(inputs.n_tickets, dtype=bool)
    return (
        (outcome == SERVED)
        & (hall.deferred_office[inputs.category] >= 0)
        & (inputs.deferred_draw < hall.deferred_share[inputs.category])
    )


def run_stages(
    hall: CompiledHall,
    inputs: TicketInputs,
    end: np.ndarray,
    outcome: np.ndarray,
    queue: StageQueue,
) -> dict[str, np.ndarray]:
    """Per ticket: ``office_start``, ``office_end``, ``pickup_arrive``, ``pickup_start``,
    ``pickup_end`` (NaN where they do not apply); empty arrays when no category defers. A
    batch's replications each have their own stages (a queue carries over from day to day
    within a replication only)."""
    n = inputs.n_tickets if hall.defers else 0
    times = {
        key: np.full(n, np.nan)
        for key in ("office_start", "office_end", "pickup_arrive", "pickup_start", "pickup_end")
    }
    if n == 0:
        return times
    ptr = inputs.ticket_ptr
    for r, part in enumerate(inputs.split()):
        mine = slice(ptr[r], ptr[r + 1])
        part_times = {key: values[mine] for key, values in times.items()}  # views
        _replication_stages(hall, part, end[mine], outcome[mine], queue, part_times)
    return times


def _replication_stages(
    hall: CompiledHall,
    inputs: TicketInputs,
    end: np.ndarray,
    outcome: np.ndarray,
    queue: StageQueue,
    times: dict[str, np.ndarray],
) -> None:
    """The stages of one replication, written into ``times`` (see :func:`run_stages`)."""
    office = hall.deferred_office[inputs.category]
    deferred = deferred_cases(hall, inputs, outcome)
    for o in range(hall.n_offices):
        jobs = np.flatnonzero(deferred & (office == o))
        span_start, span_end = absolute_spans(hall.office_spans[o], hall.day_kind)
        start, finish = queue(
            end[jobs], inputs.office_service[jobs], int(hall.office_staff[o]), span_start, span_end
        )
        times["office_start"][jobs] = start
        times["office_end"][jobs] = finish
    collect = np.flatnonzero(deferred & hall.deferred_pickup[inputs.category])
    if collect.size:
        arrive = pickup_arrivals(hall, times["office_end"][collect], inputs.pickup_draw[collect])
        times["pickup_arrive"][collect] = arrive
        coming = collect[~np.isnan(arrive)]
        span_start, span_end = absolute_spans(hall.pickup_spans, hall.day_kind)
        start, finish = queue(
            times["pickup_arrive"][coming],
            inputs.pickup_service[coming],
            hall.pickup_windows,
            span_start,
            span_end,
        )
        times["pickup_start"][coming] = start
        times["pickup_end"][coming] = finish
