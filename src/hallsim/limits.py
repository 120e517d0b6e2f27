"""The upper bounds of the scenario format, and why each is there.

Every duration, count, rate and factor a scenario can hold has a bound far beyond any real
hall. The bounds keep a run's times, indices and counts far from where numbers stop being
exact: a time in a run is at most about ``MAX_DAYS`` days plus the work of every ticket, and
with these bounds stays below 2**53 minutes (exact in a float) and its reporting slot below
2**62 (an int64). A value beyond its bound is refused when the scenario is validated, with the
field, the value and the bound; whether the whole run fits in memory is a separate check made
before anything is allocated (:mod:`hallsim.size`).

:data:`LIMITS` lists them for the documentation (``hallsim limits`` prints it); each field's
description in the JSON Schema (``hallsim schema``) repeats its bound.
"""

from __future__ import annotations

from typing import Annotated, NamedTuple

from pydantic import Field

__all__ = [
    "LIMITS",
    "MAX_COUNT",
    "MAX_CV",
    "MAX_DAYS",
    "MAX_FACTOR",
    "MAX_MINUTES",
    "MAX_PRIORITY",
    "MAX_RATE",
    "MAX_RECALLS",
    "MAX_RESERVE_STAFF",
    "MAX_UNITS",
    "MIN_CV",
    "Limit",
    "limits_table",
]

MAX_MINUTES = 100_000.0
MAX_CV = 10.0
MIN_CV = 0.001
MAX_RATE = 1e6
MAX_FACTOR = 100.0
MAX_COUNT = 1_000_000
MAX_PRIORITY = 1_000_000
MAX_RECALLS = 100
MAX_DAYS = 100_000
MAX_UNITS = 10_000
MAX_RESERVE_STAFF = 1_000


class Limit(NamedTuple):
    """One bound of the format: the fields it applies to, its value and unit, and why."""

    fields: str
    bound: str
    why: str


LIMITS = (
    Limit(
        "durations: service and patience distributions (mean_min, low_min, high_min, "
        "samples_min), recall_min, early_min, late_min, grace_min, after_min, sla_wait_min, "
        "open_wait_min, close_wait_min, delay_min",
        f"<= {MAX_MINUTES:,.0f} minutes (about 69 days)",
        "a back-office case may take weeks; nothing at a hall takes months. Bounded "
        "durations keep every time of a run exact and its reporting slot a valid index",
    ),
    Limit(
        "cv of lognormal and gamma distributions",
        f"{MIN_CV:g} <= cv <= {MAX_CV:g}",
        "beyond 10 a handful of draws carry most of the mean and the tail reaches absurd "
        "times; below 0.001 use a deterministic distribution (a gamma's shape 1 / cv^2 "
        "would overflow)",
    ),
    Limit(
        "rate_per_hour, rates_per_hour",
        f"<= {MAX_RATE:,.0f} tickets per hour",
        "beyond any hall, and within what a Poisson draw takes",
    ),
    Limit(
        "weekday_factors, generalist_factor, speed (and the reserve's speed)",
        f"<= {MAX_FACTOR:g}",
        "factors scale rates and service times around 1; a hundredfold is already no longer "
        "the same hall",
    ),
    Limit(
        "counts: appointments.booked (per slot), daily_cap, balking.queue, open_queue, "
        "close_queue, call weights",
        f"<= {MAX_COUNT:,}",
        "per slot or per day, more than any hall issues; counts stay far within 64 bits",
    ),
    Limit(
        "priority (of categories, priority_share, appointments)",
        f"between -{MAX_PRIORITY:,} and {MAX_PRIORITY:,}",
        "priorities only order the tickets; the engine compares them as 64-bit integers",
    ),
    Limit("no_show.recalls", f"<= {MAX_RECALLS}", "a window recalls a few times, not hundreds"),
    Limit(
        "hall.days",
        f"<= {MAX_DAYS:,} (about 270 years)",
        "day numbers stay exact; whether the run fits in memory is checked before it starts",
    ),
    Limit(
        "windows.count, staff.count, back_office.staff, pickup.windows",
        f"<= {MAX_UNITS:,}",
        "ten times the largest hall; whether the run fits in memory is checked before it starts",
    ),
    Limit("reserve.staff", f"<= {MAX_RESERVE_STAFF:,}", "a reserve pool is a few people"),
)


# The constrained types of the scenario models (each field's docstring repeats its bound)
Minutes = Annotated[
    float,
    Field(ge=0, le=MAX_MINUTES, allow_inf_nan=False),
]
PositiveMinutes = Annotated[
    float,
    Field(gt=0, le=MAX_MINUTES, allow_inf_nan=False),
]
CV = Annotated[
    float,
    Field(ge=MIN_CV, le=MAX_CV, allow_inf_nan=False),
]
Rate = Annotated[
    float,
    Field(ge=0, le=MAX_RATE, allow_inf_nan=False),
]
Factor = Annotated[float, Field(gt=0, le=MAX_FACTOR, allow_inf_nan=False)]
WeekdayFactor = Annotated[
    float,
    Field(ge=0, le=MAX_FACTOR, allow_inf_nan=False),
]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT, strict=True)]
PositiveCount = Annotated[int, Field(ge=1, le=MAX_COUNT, strict=True)]
Priority = Annotated[
    int,
    Field(ge=-MAX_PRIORITY, le=MAX_PRIORITY),
]
Units = Annotated[int, Field(gt=0, le=MAX_UNITS, strict=True)]


def limits_table() -> str:
    """The bounds as a Markdown table (for the documentation and ``hallsim limits``)."""
    lines = ["| fields | bound | why |", "| --- | --- | --- |"]
    lines += [f"| {limit.fields} | {limit.bound} | {limit.why} |" for limit in LIMITS]
    return "\n".join(lines)
