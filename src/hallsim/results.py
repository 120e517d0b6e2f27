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

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import _kernels
from .compile import OUTCOMES, RESERVE_REASONS, SERVED, CompiledHall
from .engines.backoffice import deferred_cases
from .engines.inputs import TicketInputs
from .engines.output import EngineOutput
from .metrics import coefficient_of_variation_rows, gini_rows
from .scenario import Scenario

if TYPE_CHECKING:
    from .logs import TicketLog

__all__ = ["HallWarning", "Results"]

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


def replication_tables(
    hall: CompiledHall, inputs: TicketInputs, output: EngineOutput, *, keep_tickets: bool
) -> dict:
    """Reduce one replication to arrays (cheap to send between processes)."""
    n_cat, n_days, n_slots, n_post = hall.n_categories, hall.n_days, hall.n_slots, hall.n_posts
    day_open = np.arange(n_days) * 1440.0 + hall.open_minute
    bounds = hall.slot_bounds()

    period_day = np.clip(
        np.searchsorted(day_open, output.period_start, side="right") - 1, 0, n_days - 1
    )
    open_group = np.zeros((n_days, n_slots, hall.n_groups))
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
    post_open = np.bincount(
        output.period_post, output.period_end - output.period_start, minlength=n_post
    )
    # a ticket nobody called waits until the day's last window closes
    day_end = day_open - hall.open_minute + hall.close_minute
    np.maximum.at(day_end, period_day, output.period_end)

    counts = np.zeros((3, n_days, n_slots, n_cat), dtype=np.int64)
    wait_sum = np.zeros((n_days, n_slots, n_cat))
    areas = np.zeros((2, n_days, n_slots, n_cat))  # queue, busy
    post_busy = np.zeros(n_post)
    post_served = np.zeros(n_post, dtype=np.int64)
    post_lost = np.zeros(n_post)
    totals = np.zeros((n_cat, 9), dtype=np.int64)
    served = np.bincount(inputs.category[output.outcome == SERVED], minlength=n_cat)
    served_ptr = np.concatenate([[0], np.cumsum(served)])
    served_waits = np.empty(served_ptr[-1])
    _kernels.ticket_aggregates(
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
        hall.close_minute - hall.open_minute,
        bounds,
        hall.n_open_slots,
        hall.scenario.hall.sla_wait_min,
        counts,
        wait_sum,
        areas,
        post_busy,
        post_served,
        post_lost,
        totals,
        served_waits,
        served_ptr,
    )
    tables = {
        "arrivals": counts[0],
        "served": counts[1],
        "abandoned": counts[2],
        "wait_sum": wait_sum,
        "queue_area": areas[0],
        "busy_area": areas[1],
        "open_area": open_group @ hall.serves.astype(float),
        "windows": _per(
            hall.post_window, hall.n_windows, post_open, post_busy, post_lost, post_served
        ),
        "staff": _per(
            hall.post_staff, len(hall.staff_names), post_open, post_busy, post_lost, post_served
        ),
        "stats": _category_stats(
            hall, totals, served_waits, served_ptr, post_open, post_busy, counts, wait_sum
        ),
        "n_tickets": inputs.n_tickets,
        "served_after_close": int(totals[:, 4].sum()),
        "in_system": int(totals[:, 5].sum()),
    }
    # the k-th activation at a (post, instant) closes with the k-th period opened there, in
    # order of their ends: a post may open twice at one instant, the first time closing at once
    periods = zip(output.period_post.tolist(), output.period_start.tolist(), strict=True)
    closing: dict[tuple[int, float], list[float]] = {}
    for key, end in sorted(zip(periods, output.period_end.tolist(), strict=True)):
        closing.setdefault(key, []).append(end)
    activations = zip(output.reserve_post.tolist(), output.reserve_opened.tolist(), strict=True)
    tables["reserve"] = {
        "pool": output.reserve_pool,
        "requested": output.reserve_requested,
        "opened": output.reserve_opened,
        "closed": np.array([closing[key].pop(0) for key in activations], dtype=float),
        "post": output.reserve_post,
        "reason": output.reserve_reason,
    }
    if keep_tickets:
        served_at = output.post >= 0
        tables["tickets"] = {
            "category": inputs.category.astype(np.int16),
            "day": inputs.day.astype(np.int32),
            "issued": inputs.issued,
            "called": output.called,
            "start": output.start,
            "end": output.end,
            "window": np.where(served_at, hall.post_window[output.post], -1).astype(np.int32),
            "staff": np.where(served_at, hall.post_staff[output.post], -1).astype(np.int32),
            "outcome": output.outcome,
        }
        if hall.defers:
            tables["tickets"].update({key: getattr(output, key) for key in STAGE_COLUMNS})
    if hall.defers:
        tables["back_office"] = _back_office_stats(hall, inputs, output)
    return tables


def _time_average(arrive: np.ndarray, leave: np.ndarray, t0: float, t1: float) -> float:
    """Time-average number present over [t0, t1) of items present from ``arrive`` to
    ``leave`` (NaN: still there at t1), by integrating the count between events."""
    times = np.clip(np.concatenate([arrive, np.nan_to_num(leave, nan=t1)]), t0, t1)
    steps = np.concatenate([np.ones(arrive.size), -np.ones(leave.size)])
    order = np.argsort(times, kind="stable")
    count = np.cumsum(steps[order])
    return float(np.sum(count[:-1] * np.diff(times[order])) / (t1 - t0)) if times.size else 0.0


def _back_office_stats(hall: CompiledHall, inputs: TicketInputs, output: EngineOutput):
    """Per category: the BACK_OFFICE_METRICS of its deferred cases in one replication. Work
    in progress and queue are time averages from the first opening to the end of the last
    day."""
    t0, t1 = hall.open_minute, hall.n_days * 1440.0
    deferred = deferred_cases(hall, inputs, output.outcome)
    rows = []
    for c in range(hall.n_categories):
        cases = np.flatnonzero(deferred & (inputs.category == c))
        arrive = output.end[cases]
        start, finish = output.office_start[cases], output.office_end[cases]
        done = ~np.isnan(finish)
        lead = finish[done] - inputs.issued[cases][done]
        same_day = np.floor(finish[done] / 1440.0) == inputs.day[cases][done]
        came = ~np.isnan(output.pickup_start[cases])
        pickup_wait = output.pickup_start[cases][came] - output.pickup_arrive[cases][came]
        rows.append(
            [
                cases.size,
                _mean(start[done] - arrive[done]),
                _mean(lead),
                _mean(same_day),
                _time_average(arrive, finish, t0, t1),
                _time_average(arrive, start, t0, t1),
                np.count_nonzero(~done),
                np.count_nonzero(came),
                _mean(pickup_wait),
            ]
        )
    return np.array(rows, dtype=float)


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if values.size else np.nan


def _per(index, size, post_open, post_busy, post_lost, post_served) -> np.ndarray:
    """Open, busy and lost minutes and tickets served, summed from posts to their window or
    staff member (``index``: -1 for none), shape (size, 4)."""
    kept = index >= 0
    return np.stack(
        [
            np.bincount(index[kept], values[kept], minlength=size)
            for values in (post_open, post_busy, post_lost, post_served)
        ],
        axis=1,
    )


def _category_stats(hall, totals, served_waits, served_ptr, post_open, post_busy, counts, wait_sum):
    """Per category and overall (last row): the summary metrics of one replication, computed
    for all rows at once (no loop over categories: halls may have hundreds).

    A category's utilisation is over the posts that serve it; imbalance and tickets per
    window are over the windows that serve it at some time of the day."""
    window_open = np.bincount(hall.post_window, post_open, minlength=hall.n_windows)
    window_busy = np.bincount(hall.post_window, post_busy, minlength=hall.n_windows)
    posts = np.vstack([hall.category_posts, np.ones(hall.n_posts, dtype=bool)])
    windows = np.vstack([hall.category_windows, hall.category_windows.any(axis=0)])
    count = np.vstack([totals, totals.sum(axis=0)]).astype(float)  # (rows, 9)
    n = count[:, 0]
    # (rows, days): tickets issued, served and their waits, per day
    daily = counts.sum(axis=2)
    issued = np.hstack([daily[0], daily[0].sum(axis=1, keepdims=True)]).T
    served = np.hstack([daily[1], daily[1].sum(axis=1, keepdims=True)]).T
    daily_wait = wait_sum.sum(axis=1)
    waited = np.hstack([daily_wait, daily_wait.sum(axis=1, keepdims=True)]).T
    peak = np.argmax(issued, axis=1)
    rows = np.arange(n.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        window_utilisation = window_busy / window_open
        used = windows & (window_open > 0)
        open_time = posts @ post_open
        return np.column_stack(
            [
                n,
                *_wait_mean_and_p90(served_waits, served_ptr),
                count[:, 2] / n,  # service level
                count[:, 3] / n,  # abandonment
                count[:, 7] / n,  # balking
                count[:, 6] / n,  # capped
                count[:, 8] / n,  # no-show
                np.where(open_time > 0, (posts @ post_busy) / open_time, np.nan),
                coefficient_of_variation_rows(window_utilisation[None, :], used),
                gini_rows(np.broadcast_to(window_utilisation, used.shape), used),
                count[:, 1] / windows.sum(axis=1) / hall.n_days,
                issued[rows, peak],
                waited[rows, peak] / served[rows, peak],
            ]
        )


def _wait_mean_and_p90(waits: np.ndarray, ptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and 0.9 quantile of each category's waits (``waits[ptr[c]:ptr[c + 1]]``), then of
    all of them; NaN where there are none. The quantile is numpy's default (linear), written
    out as :func:`numpy.quantile` computes it, so that both give the same number."""
    sizes = np.diff(ptr)
    category = np.repeat(np.arange(sizes.size), sizes)
    # each category's waits ascending, then all waits ascending
    ordered = np.concatenate([waits[np.lexsort((waits, category))], np.sort(waits)])
    starts = np.append(ptr[:-1], waits.size)
    sizes = np.append(sizes, waits.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.append(np.bincount(category, waits, minlength=sizes.size - 1), waits.sum())
        means /= sizes
    if waits.size == 0:
        return means, np.full(sizes.size, np.nan)
    q = 0.9
    virtual = (sizes - 1) * q  # numpy's "linear" (Hyndman & Fan's method 7)
    below = np.floor(virtual)
    fraction = virtual - below
    last = np.maximum(sizes - 1, 0)
    low = np.where(virtual >= last, last, below).astype(np.int64)
    high = np.where(virtual >= last, last, below + 1).astype(np.int64)
    a = ordered[np.minimum(starts + low, ordered.size - 1)]
    b = ordered[np.minimum(starts + high, ordered.size - 1)]
    step = b - a
    p90 = np.where(fraction >= 0.5, b - step * (1 - fraction), a + step * fraction)
    return means, np.where(sizes > 0, p90, np.nan)


@dataclass
class Results:
    """Tables of a simulation run (see the module doc for definitions).

    Attributes
    ----------
    tickets : pandas.DataFrame or None
        One row per issued ticket: replication, ticket, category, day, issued, called, start,
        end, window, staff, outcome; ``None`` with ``keep_tickets=False``.
    intervals : pandas.DataFrame
        Per replication, day, reporting interval and category.
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
    intervals: pd.DataFrame
    windows: pd.DataFrame
    staff: pd.DataFrame
    reserve: pd.DataFrame
    back_office: pd.DataFrame
    replication_stats: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    rules: object | None = None
    start_date: str | None = None

    @classmethod
    def from_replications(
        cls,
        hall: CompiledHall,
        parts: list[dict],
        *,
        seed: int,
        engine: str,
        warnings_: list[str],
    ) -> Results:
        """Assemble per-replication arrays (in replication order) into tables."""
        categories = pd.CategoricalDtype(hall.category_ids)
        tickets = None
        if "tickets" in parts[0]:
            tickets = _ticket_table(hall, parts, categories)
        return cls(
            scenario=hall.scenario,
            seed=seed,
            replications=len(parts),
            engine=engine,
            tickets=tickets,
            intervals=_interval_table(hall, parts, categories),
            windows=_window_table(hall, parts),
            staff=_time_table(parts, "staff", "staff", hall.staff_names),
            reserve=_reserve_table(hall, parts),
            back_office=_back_office_table(hall, parts),
            replication_stats=_stats_table(hall, parts),
            warnings=warnings_ + _observed_warnings(hall, parts),
        )

    def summary(self, confidence: float = 0.95) -> pd.DataFrame:
        """Per category and overall: each metric's mean over replications and its CI.

        Columns come in threes: ``metric``, ``metric_lo``, ``metric_hi`` (a Student-t
        interval over replications at level ``confidence``; NaN with one replication).
        Warnings in :attr:`warnings` are emitted as :class:`HallWarning`.
        """
        from scipy.special import stdtrit  # Student t quantile; scipy.stats costs a second

        for message in self.warnings:
            warnings.warn(message, HallWarning, stacklevel=2)
        grouped = self.replication_stats.groupby("category", sort=False, observed=True)
        columns = {}
        for metric in METRICS:
            values = grouped[metric]
            mean = values.mean()
            count = values.count()
            sem = values.std(ddof=1) / np.sqrt(count)
            half = sem * stdtrit(np.maximum(count - 1, 1), 0.5 + confidence / 2)
            half[count < 2] = np.nan
            columns[metric] = mean
            columns[f"{metric}_lo"] = mean - half
            columns[f"{metric}_hi"] = mean + half
        table = pd.DataFrame(columns)
        table.index.name = "category"
        table.attrs["warnings"] = list(self.warnings)
        return table

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


def format_summary(table: pd.DataFrame) -> str:
    """The summary as aligned text, ``mean ± half-width`` per metric, then a line on the
    windows of the whole hall (imbalance, tickets per window per day, peak day)."""

    def shown(metric: str, scale: float = 1.0, digits: int = 1) -> list[str]:
        mean = table[metric] * scale
        half = (table[f"{metric}_hi"] - table[f"{metric}_lo"]) * scale / 2
        return [
            f"{m:.{digits}f}" if np.isnan(h) else f"{m:.{digits}f} ± {h:.{digits}f}"
            for m, h in zip(mean, half, strict=True)
        ]

    columns = {
        "tickets": ("tickets", 1.0),
        "mean_wait": ("mean wait (min)", 1.0),
        "p90_wait": ("P90 wait (min)", 1.0),
        "service_level": ("within SLA (%)", 100.0),
        "abandonment": ("abandoned (%)", 100.0),
        "utilisation": ("utilisation (%)", 100.0),
    }
    text = pd.DataFrame(
        {label: shown(metric, scale) for metric, (label, scale) in columns.items()},
        index=table.index,
    ).to_string()
    gini, cv = shown("utilisation_gini", digits=2)[-1], shown("utilisation_cv", digits=2)[-1]
    per_window = shown("tickets_per_window_day")[-1]
    peak, peak_wait = shown("peak_day_tickets")[-1], shown("peak_day_mean_wait")[-1]
    return (
        f"{text}\nwindows: utilisation Gini {gini}, CV {cv}; {per_window} tickets per window "
        f"per day; peak day {peak} tickets, mean wait {peak_wait} min"
    )


def operations_lines(results: Results) -> list[str]:
    """One line each on staff, reserve activations and deferred cases, per replication and
    day (means), for the parts of the hall that have them."""
    per_day = results.replications * results.scenario.hall.days
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


def _ticket_table(hall: CompiledHall, parts: list[dict], categories) -> pd.DataFrame:
    def column(key):  # no copy for a single replication: tables of millions of tickets
        arrays = [p["tickets"][key] for p in parts]
        return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)

    counts = [p["n_tickets"] for p in parts]
    return pd.DataFrame(
        {
            "replication": np.repeat(np.arange(len(parts), dtype=np.int32), counts),
            "ticket": np.concatenate([np.arange(k, dtype=np.int64) for k in counts]),
            "category": pd.Categorical.from_codes(column("category"), dtype=categories),
            "day": column("day"),
            "issued": column("issued"),
            "called": column("called"),
            "start": column("start"),
            "end": column("end"),
            "window": pd.Categorical.from_codes(
                column("window"), dtype=pd.CategoricalDtype(hall.window_names)
            ),
            "staff": pd.Categorical.from_codes(
                column("staff"), dtype=pd.CategoricalDtype(hall.staff_names)
            ),
            "outcome": pd.Categorical.from_codes(
                column("outcome"), dtype=pd.CategoricalDtype(OUTCOMES)
            ),
            **{key: column(key) for key in STAGE_COLUMNS if hall.defers},
        },
        copy=False,
    )


def _back_office_table(hall: CompiledHall, parts: list[dict]) -> pd.DataFrame:
    """Per replication and category (categories without a back office have zero cases)."""
    if not hall.defers:
        return pd.DataFrame(columns=["replication", "category", *BACK_OFFICE_METRICS])
    values = np.concatenate([p["back_office"] for p in parts])
    table = pd.DataFrame(values, columns=list(BACK_OFFICE_METRICS))
    for key in ("deferred", "unfinished", "pickups"):
        table[key] = table[key].astype(np.int64)
    ids = hall.category_ids
    table.insert(0, "category", pd.Categorical(np.tile(ids, len(parts)), categories=ids))
    table.insert(0, "replication", np.repeat(np.arange(len(parts), dtype=np.int32), len(ids)))
    return table


def _interval_table(hall: CompiledHall, parts: list[dict], categories) -> pd.DataFrame:
    n_days, n_slots, n_cat = parts[0]["arrivals"].shape
    bounds = hall.slot_bounds()
    used = np.zeros(n_slots, dtype=bool)
    used[: hall.n_open_slots] = True
    for p in parts:
        used |= (p["open_area"] + p["busy_area"] + p["queue_area"]).sum(axis=(0, 2)) > 0
    n_used = int(np.flatnonzero(used).max()) + 1
    length = np.diff(bounds)[:n_used]

    def stack(key):
        return np.stack([p[key][:, :n_used, :] for p in parts])  # (reps, days, slots, cats)

    served = stack("served")
    shape = served.shape
    rep, day, slot, cat = np.indices(shape).reshape(4, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_wait = stack("wait_sum") / served
    per_minute = length[None, None, :, None]
    return pd.DataFrame(
        {
            "replication": rep.astype(np.int32),
            "day": day.astype(np.int32),
            "interval": slot.astype(np.int32),
            "start_min": (hall.open_minute + bounds[:n_used])[slot],
            "category": pd.Categorical.from_codes(cat, dtype=categories),
            "arrivals": stack("arrivals").ravel().astype(np.int64),
            "served": served.ravel().astype(np.int64),
            "abandoned": stack("abandoned").ravel().astype(np.int64),
            "mean_wait": mean_wait.ravel(),
            "queue_length": (stack("queue_area") / per_minute).ravel(),
            "busy_windows": (stack("busy_area") / per_minute).ravel(),
            "open_windows": (stack("open_area") / per_minute).ravel(),
        }
    )


def _window_table(hall: CompiledHall, parts: list[dict]) -> pd.DataFrame:
    group_ids = [w.id for w in hall.scenario.windows]
    table = _time_table(parts, "windows", "window", hall.window_names)
    table.insert(
        2,
        "group",
        pd.Categorical(
            np.tile(np.array(group_ids)[hall.window_entry], len(parts)), categories=group_ids
        ),
    )
    return table


def _time_table(parts: list[dict], key: str, column: str, names: list[str]) -> pd.DataFrame:
    """Per replication and window (or staff member): open, busy and lost minutes,
    utilisation, tickets served."""
    values = np.concatenate([p[key] for p in parts]) if parts else np.zeros((0, 4))
    with np.errstate(invalid="ignore", divide="ignore"):
        utilisation = values[:, 1] / values[:, 0]
    return pd.DataFrame(
        {
            "replication": np.repeat(np.arange(len(parts), dtype=np.int32), len(names)),
            column: pd.Categorical(np.tile(names, len(parts)), categories=names),
            "open_min": values[:, 0],
            "busy_min": values[:, 1],
            "lost_min": values[:, 2],
            "utilisation": utilisation,
            "served": values[:, 3].astype(np.int64),
        }
    )


def _reserve_table(hall: CompiledHall, parts: list[dict]) -> pd.DataFrame:
    """One row per reserve activation."""
    counts = [p["reserve"]["pool"].size for p in parts]

    def column(key):
        return np.concatenate([p["reserve"][key] for p in parts])

    pools = [pool.id for pool in hall.scenario.reserve]
    post = column("post").astype(np.int64)
    opened = column("opened")
    return pd.DataFrame(
        {
            "replication": np.repeat(np.arange(len(parts), dtype=np.int32), counts),
            "pool": pd.Categorical.from_codes(column("pool").astype(np.int64), categories=pools),
            "day": (opened // 1440).astype(np.int32),
            "requested_min": column("requested"),
            "opened_min": opened,
            "closed_min": column("closed"),
            "reason": pd.Categorical.from_codes(
                column("reason").astype(np.int64), categories=list(RESERVE_REASONS)
            ),
            "window": pd.Categorical.from_codes(
                hall.post_window[post], categories=hall.window_names
            ),
            "staff": pd.Categorical.from_codes(hall.post_staff[post], categories=hall.staff_names),
        }
    )


def _stats_table(hall: CompiledHall, parts: list[dict]) -> pd.DataFrame:
    labels = [*hall.category_ids, OVERALL]
    values = np.concatenate([p["stats"] for p in parts])
    table = pd.DataFrame(values, columns=list(METRICS))
    table.insert(0, "category", pd.Categorical(np.tile(labels, len(parts)), categories=labels))
    table.insert(0, "replication", np.repeat(np.arange(len(parts), dtype=np.int32), len(labels)))
    table["tickets"] = table["tickets"].astype(np.int64)
    return table


def _observed_warnings(hall: CompiledHall, parts: list[dict]) -> list[str]:
    messages = []
    total = sum(p["n_tickets"] for p in parts)
    unserved = sum(p["in_system"] for p in parts)
    late = sum(p["served_after_close"] for p in parts)
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
