"""Demand for planning: arrivals and work per group of windows, day and planning interval.

A *group* is a set of windows that share their queues: windows whose served categories
overlap are pooled into one group (in a hall of comprehensive windows there is one group; in
a hall of department windows, one per department). A group's load is that of its
categories: arrival rates add up, and its mean service time is the arrival-weighted mean of
its categories' means, each multiplied by the group's ``generalist_factor`` for that category
(averaged over the group's windows, weighted by their counts).

:func:`demand_table` is the one table every planning method reads: one row per group, day
and interval, with ``arrivals_per_hour``, ``service_mean_min``, ``service_cv`` and
``patience_mean_min`` (``inf``: nobody abandons). A fitted or forecast arrival table can be
passed instead of a scenario; it needs ``interval_start`` (minutes of day or ``"HH:MM"``),
``arrivals_per_hour`` and ``service_mean_min``, and may have ``group`` (or ``category``),
``day``, ``interval_min``, ``service_cv`` and ``patience_mean_min``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..clock import minutes_of_day
from ..errors import PlanError
from ..scenario import WEEKDAYS, Scenario

__all__ = ["as_demand", "category_demand", "demand_table", "groups_of", "pool"]

#: Columns of a demand table, in order.
COLUMNS = (
    "group",
    "categories",
    "day",
    "weekday",
    "interval_start",
    "interval_min",
    "arrivals_per_hour",
    "service_mean_min",
    "service_cv",
    "patience_mean_min",
)


def groups_of(scenario: Scenario) -> list[tuple[str, list[int], list[int]]]:
    """The scenario's groups: ``(name, window entries, category indices)``, in file order.

    Windows (``[[windows]]`` entries) whose served categories overlap share a group; its name
    joins their ids with ``+``.
    """
    served = [set(scenario.served_categories(w)) for w in scenario.windows]
    parent = list(range(len(served)))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a in range(len(served)):
        for b in range(a + 1, len(served)):
            if served[a] & served[b]:
                parent[root(b)] = root(a)
    members: dict[int, list[int]] = {}
    for w in range(len(served)):
        members.setdefault(root(w), []).append(w)
    out = []
    for entries in members.values():
        categories = sorted(set().union(*(served[w] for w in entries)))
        name = "+".join(scenario.windows[w].id for w in entries)
        out.append((name, entries, categories))
    return out


def mean_factor(scenario: Scenario, windows: list, category: int) -> float:
    """The ``generalist_factor`` of ``category`` at those of ``windows`` that serve it,
    averaged weighted by their counts."""
    serving = [w for w in windows if category in scenario.served_categories(w)]
    counts = [w.count for w in serving]
    return float(np.average([scenario.factor(w, category) for w in serving], weights=counts))


def factor_value(factors: dict[str, float]) -> float | dict[str, float]:
    """A ``generalist_factor`` as the scenario format writes it: one number when every
    category has the same factor, else the table."""
    values = set(factors.values())
    return values.pop() if len(values) == 1 else dict(factors)


def _minute_rates(scenario: Scenario, category: int, weekday: int) -> np.ndarray:
    """Tickets per minute of ``category`` at each minute of the opening hours on ``weekday``
    (none outside that weekday's own hours, if it has some), appointments that come
    included (those of the slots that start within the hours)."""
    hall = scenario.hall
    item = scenario.categories[category]
    length = hall.close_minute - hall.open_minute
    minute = np.arange(length)
    inside = np.ones(length, dtype=bool)
    hours = None if hall.hours is None else getattr(hall.hours, WEEKDAYS[weekday])
    if hours is not None:
        first, last = (minutes_of_day(t) - hall.open_minute for t in hours)
        inside = (minute >= first) & (minute < last)
    arrivals = item.arrivals
    if arrivals.rates_per_hour is not None:
        every = arrivals.rate_interval_min or hall.interval_min
        slot = np.minimum(minute // every, len(arrivals.rates_per_hour) - 1)
        rate = np.asarray(arrivals.rates_per_hour, dtype=float)[slot] / 60.0
    else:
        rate = np.full(length, arrivals.rate_per_hour / 60.0)
    factor = 1.0 if arrivals.weekday_factors is None else arrivals.weekday_factors[weekday]
    rate = rate * factor * inside
    booking = item.appointments
    if booking is not None and factor > 0:
        slot = minute // booking.slot_min
        booked = np.asarray(booking.booked + [0], dtype=float)
        come = booked[np.minimum(slot, len(booking.booked))] * (1.0 - booking.no_show)
        taken = inside[slot * booking.slot_min] & inside  # the slot starts within the hours
        rate = rate + come / booking.slot_min * taken
    return rate


def category_demand(scenario: Scenario, *, interval_min: int | None = None) -> pd.DataFrame:
    """Arrivals and service of each category, day and planning interval, before pooling.

    Columns ``category, day, weekday, interval_start, interval_min, arrivals_per_hour,
    service_mean_min, service_second_moment, abandon_rate`` (per minute: 1 / mean patience,
    0 without patience). One row per category, day (a week at most: the pattern repeats) and
    interval of the opening hours; a weekday the hall is closed (``closed_weekdays``) has no
    rows, one with hours of its own has no arrivals outside them (holidays are not typical
    days: they are left out of planning).
    """
    hall = scenario.hall
    step = hall.interval_min if interval_min is None else _interval(interval_min)
    length = hall.close_minute - hall.open_minute
    starts = np.arange(0, length, step)
    lengths = np.minimum(step, length - starts)
    first = WEEKDAYS.index(hall.first_weekday)
    parts = []
    for c, category in enumerate(scenario.categories):
        patience = _patience_mean(scenario, c)
        for day in range(min(hall.days, 7)):
            weekday = (first + day) % 7
            if WEEKDAYS[weekday] in hall.closed_weekdays:
                continue
            per_minute = _minute_rates(scenario, c, weekday)
            tickets = np.add.reduceat(per_minute, starts)
            parts.append(
                pd.DataFrame(
                    {
                        "category": category.id,
                        "day": day,
                        "weekday": WEEKDAYS[weekday],
                        "interval_start": hall.open_minute + starts,
                        "interval_min": lengths,
                        "arrivals_per_hour": tickets / lengths * 60.0,
                        "service_mean_min": category.service.mean,
                        "service_second_moment": category.service.second_moment,
                        "abandon_rate": 0.0 if math.isinf(patience) else 1.0 / patience,
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


def pool(per_category: pd.DataFrame, name: str, factors: dict[str, float]) -> pd.DataFrame:
    """The demand of a group of windows serving the categories of ``factors`` (id -> the
    ``generalist_factor`` its service times take there), from :func:`category_demand`.

    Arrival rates add up; the mean service time, its cv and the abandonment rate are the
    arrival-weighted means of the categories' (equal weights where nobody arrives).
    """
    ids = list(factors)
    part = per_category[per_category["category"].isin(ids)]
    factor = part["category"].map(factors).to_numpy(dtype=float)
    part = part.assign(
        mean=part["service_mean_min"].to_numpy() * factor,
        second=part["service_second_moment"].to_numpy() * factor**2,
    )
    keys = ["day", "weekday", "interval_start", "interval_min"]
    grouped = part.groupby(keys, sort=True)
    total = grouped["arrivals_per_hour"].sum().to_numpy()

    def weighted(column: str) -> np.ndarray:
        products = (part[column] * part["arrivals_per_hour"]).groupby(
            [part[k] for k in keys], sort=True
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            by_rate = products.sum().to_numpy() / total
        return np.where(total > 0, by_rate, grouped[column].mean().to_numpy())

    mean, second, abandon = weighted("mean"), weighted("second"), weighted("abandon_rate")
    out = grouped.size().reset_index()[keys]
    out.insert(0, "categories", ",".join(ids))
    out.insert(0, "group", name)
    out["arrivals_per_hour"] = total
    out["service_mean_min"] = mean
    out["service_cv"] = np.sqrt(np.maximum(second / mean**2 - 1.0, 0.0))
    with np.errstate(divide="ignore"):
        out["patience_mean_min"] = np.where(abandon > 0, 1.0 / abandon, math.inf)
    return out[list(COLUMNS)]


def demand_table(scenario: Scenario, *, interval_min: int | None = None) -> pd.DataFrame:
    """Arrivals and service per group of windows, day and planning interval of ``scenario``.

    Parameters
    ----------
    scenario : Scenario
        The hall: its categories (arrivals, appointments, service, patience) and windows.
    interval_min : int, optional
        Planning interval in minutes (default: the hall's ``interval_min``).

    Returns
    -------
    pandas.DataFrame
        One row per group, day (a week at most: the pattern repeats) and interval of the
        opening hours; columns ``group, categories, day, weekday, interval_start,
        interval_min, arrivals_per_hour, service_mean_min, service_cv, patience_mean_min``.
        A group's service times take its windows' ``generalist_factor`` (per category,
        averaged over the group's windows weighted by their counts).
    """
    per_category = category_demand(scenario, interval_min=interval_min)
    parts = []
    for name, entries, categories in groups_of(scenario):
        windows = [scenario.windows[w] for w in entries]
        factors = {scenario.categories[c].id: mean_factor(scenario, windows, c) for c in categories}
        parts.append(pool(per_category, name, factors))
    return pd.concat(parts, ignore_index=True)


def _patience_mean(scenario: Scenario, category: int) -> float:
    patience = scenario.categories[category].patience
    return math.inf if patience is None else float(patience.mean)


def _interval(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 < value <= 1440:
        raise PlanError(
            f"interval_min must be a whole number of minutes in 1..1440 (got {value!r})"
        )
    return int(value)


def as_demand(demand, *, interval_min: int | None = None) -> pd.DataFrame:
    """A demand table from a Scenario or from a fitted/forecast arrival table (checked); an
    object with a ``demand_table()`` method (a :class:`hallsim.Forecast`) gives its table."""
    if isinstance(demand, Scenario):
        return demand_table(demand, interval_min=interval_min)
    if not isinstance(demand, pd.DataFrame) and callable(getattr(demand, "demand_table", None)):
        demand = demand.demand_table()
    if not isinstance(demand, pd.DataFrame):
        raise PlanError(
            "demand must be a hallsim.Scenario or a DataFrame of arrivals per interval "
            f"(got {type(demand).__name__})"
        )
    table = demand.copy()
    if table.empty:
        raise PlanError("demand is empty: no intervals")
    missing = [
        c for c in ("interval_start", "arrivals_per_hour", "service_mean_min") if c not in table
    ]
    if missing:
        raise PlanError(f"demand table: missing columns {missing} (has {list(table.columns)})")
    if "group" not in table:
        table["group"] = table["category"].astype(str) if "category" in table else "all"
    if "categories" not in table:
        table["categories"] = (
            table["category"].astype(str) if "category" in table else (table["group"].astype(str))
        )
    table["interval_start"] = [
        minutes_of_day(v) if isinstance(v, str) else v for v in table["interval_start"]
    ]
    if "day" not in table:
        table["day"] = 0
    if "weekday" not in table:
        table["weekday"] = ""
    if "interval_min" not in table:
        starts = np.unique(table["interval_start"].to_numpy(dtype=float))
        gaps = np.diff(starts)
        if interval_min is None and not len(gaps):
            raise PlanError("demand table: give interval_min (one interval, no spacing to infer)")
        table["interval_min"] = interval_min or int(gaps[gaps > 0].min())
    table = table.fillna({"patience_mean_min": math.inf, "service_cv": 1.0})
    if "service_cv" not in table:
        table["service_cv"] = 1.0
    if "patience_mean_min" not in table:
        table["patience_mean_min"] = math.inf
    for column, low in (
        ("arrivals_per_hour", 0.0),
        ("service_mean_min", None),
        ("interval_start", 0.0),
        ("interval_min", None),
    ):
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | ((values < low) if low is not None else (values <= 0))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            bound = ">= 0" if low is not None else "> 0"
            raise PlanError(
                f"demand table row {row}: {column} must be a finite number {bound} "
                f"(got {table[column].iloc[row]!r})"
            )
    return table[list(COLUMNS)].reset_index(drop=True)
