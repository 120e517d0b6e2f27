"""Shift scheduling: cover staff requirements per interval with shifts at least cost.

:func:`schedule` solves one integer program over all the days of the requirements (the
days do not interact; they are solved together for one call of the solver).

Sets
    Days ``d``; schedule intervals ``t`` of ``interval_min`` minutes, from the opening
    (the first requirement) to the end of the last requirement interval; groups of windows
    ``g`` (without a ``group`` column, one group ``"all"`` that every staff type may work);
    shift types ``k``; the start times ``s`` of ``k`` (``earliest`` to ``latest``
    every ``every_min``); the break placements ``p`` of ``k``: each :class:`Break` starts
    ``lo``, ``lo + interval_min``, ... (at most ``hi``) minutes after the shift's start,
    breaks in order and not overlapping; staff types ``e`` (without ``staff_types``, one
    type ``"staff"`` with every skill).

    Breaks move in steps of the *schedule interval* rather than of ``every_min``: on the
    schedule's grid a break that is not aligned with an interval costs a whole interval
    more (see "works" below), so finer steps add variables that never help, and coarser
    steps (``every_min = 60`` for hourly starts) would leave out placements that do.
Variables
    ``shifts[d, k, e, s, p]`` (integer >= 0): people of staff type ``e`` working shift type
    ``k`` from ``s`` with break placement ``p`` on day ``d`` (only staff types the shift type
    allows). With several groups, ``assigned[d, e, g, t]`` (integer >= 0): people of type
    ``e`` at group ``g``'s windows in interval ``t``, only where ``e``'s skills cover every
    category of ``g``. With ``shortfall_cost``, ``shortfall[d, g, t]`` (>= 0): staff missing
    in the interval. Auxiliary: ``working[d, e, t]``, the people of type ``e`` working in
    ``t``, defined interval by interval as the previous interval's plus the shifts that
    start working at ``t`` (their start, the end of a break) minus those that stop (a break,
    their end). A shift then enters the constraints only where its work starts or stops, not
    in every interval it works: the same program, an order of magnitude fewer nonzeros,
    and HiGHS solves it much faster (a week of three staff types: half a minute instead of
    no good schedule in five).
Works
    A shift works interval ``t`` when its span covers the whole interval and none of its
    breaks overlaps the interval at all. This is conservative: an interval the shift covers
    in part (it starts or ends inside it, or a break takes part of it) does not count.
Constraints
    Flow: ``working[d, e, t] = working[d, e, t - 1] + starting - stopping``. Every working
    person is at one group's windows: for each ``d, e, t``,
    ``sum_g assigned[d, e, g, t] = working people of type e in t`` (equality rather than
    ``<=``: the cost is the same, since a spare person can always stand at any group they
    serve, and the plan then says where everybody is). Cover: for each ``d, g, t``,
    ``sum_e assigned[d, e, g, t] + shortfall[d, g, t] >= required[d, g, t]`` (with one group
    the working people cover it directly). Windows: for each ``d, t``, all working people
    ``<= windows``. Counts: for each ``d, e``, the shifts of type ``e`` that day
    ``<= count``.
Objective
    Minimise the paid cost, ``sum(shifts x length in hours x cost_per_hour x cost_factor)``
    (breaks are paid), plus ``shortfall_cost x sum(shortfall)`` (staff-intervals missing).

Checked before solving (:class:`~hallsim.errors.PlanError`): a staff type that can serve no
group, a group no staff type can serve, a shift type for a staff type not given; and, without
``shortfall_cost``, an interval with a requirement that no shift can work and windows fewer
than an interval requires. An infeasible program raises a PlanError suggesting
``shortfall_cost``.

PuLP names follow the model: variables ``shifts_d0_early_staff_0800_b1000``,
``assigned_d0_staff_business_0830``, ``shortfall_d0_business_0830``,
``working_d0_clerk_0830``; constraints ``cover_d0_0830`` (one group) or
``cover_d0_business_0830``, ``flow_d0_clerk_0830``, ``staff_d0_clerk_0830``,
``windows_d0_0830``, ``count_d0_clerk``.

The solver is HiGHS through PuLP, else CBC (see :mod:`hallsim.plan._solver`). HiGHS
checks its time limit between steps, and one step (cut separation at the root of a large
program) can take tens of seconds, so a solve may overrun ``time_limit_s``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pulp

from ..clock import clock, minutes_of_day
from ..errors import PlanError
from ..scenario import Scenario
from ..size import available_cpus
from ._solver import INFEASIBLE, solve, variable
from .shifts import (
    BACK_OFFICE,
    Break,
    ShiftType,
    StaffType,
    _minute,
    _real,
    _staff_value,
    _whole,
    _works,
)

__all__ = ["Break", "Schedule", "ShiftType", "StaffType", "schedule"]

IMPLICIT_STAFF = "staff"  # the staff type without staff_types
IMPLICIT_GROUP = "all"  # the group without a group column


# ---------------------------------------------------------------------------- the model data


@dataclass(frozen=True)
class BackOfficeWork:
    """Back-office work for a tidal plan: ``work[d, t]`` staff-intervals of work arrive in
    schedule interval ``t`` of day ``d`` (one person in the back office for one interval does
    one), and each day's work must be done by the end of the day ``deadline_days`` later
    (the last day's, by its end)."""

    work: np.ndarray
    deadline_days: int = 0


@dataclass
class _Data:
    """Everything the model needs, as arrays."""

    interval_min: int
    open_minute: int
    times: np.ndarray  # start of every schedule interval, minutes of day
    days: list[int]
    groups: list[str]
    categories: list[tuple[str, ...] | None]  # per group; None: the implicit group
    required: np.ndarray  # (days, groups, intervals) int
    shift_types: tuple[ShiftType, ...]
    staff_types: tuple[StaffType, ...]
    eligible: np.ndarray  # (staff types, groups) bool
    # columns: one per (shift type, staff type, start, break placement)
    col_shift: np.ndarray
    col_staff: np.ndarray
    col_start: np.ndarray
    col_breaks: list[tuple[tuple[int, int], ...]]  # (start, end) minutes of day
    works: np.ndarray  # (columns, intervals) bool
    col_cost: np.ndarray
    windows: int | None
    shortfall_cost: float | None
    back_office: BackOfficeWork | None = None  # its group is the last
    kept: np.ndarray | None = None  # (days, columns): shifts a repair keeps, at least
    shift_tokens: list[str] = field(default_factory=list)
    staff_tokens: list[str] = field(default_factory=list)
    group_tokens: list[str] = field(default_factory=list)


def _tokens(names: Sequence[str]) -> list[str]:
    """Names usable in PuLP names: word characters only, unique."""
    out: list[str] = []
    for i, name in enumerate(names):
        token = re.sub(r"\W+", "_", name).strip("_") or "x"
        while token in out:
            token = f"{token}_{i}"
        out.append(token)
    return out


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}{minute % 60:02d}"


def _demand(
    required: Any, interval_min: int, open_: str
) -> tuple[int, int, list[int], list[str], list[tuple[str, ...] | None], np.ndarray]:
    """Requirements on the schedule's grid: ``(open, intervals, days, groups, categories,
    required[day, group, interval])``."""
    if isinstance(required, pd.DataFrame):
        return _demand_table(required, interval_min)
    if isinstance(required, str | bytes | dict) or not isinstance(
        required, Sequence | np.ndarray | pd.Series
    ):
        raise PlanError(
            "required must be a list of staff per interval or a requirements table "
            f"(got {type(required).__name__})"
        )
    values = list(required)
    if not values:
        raise PlanError(f"required is empty: no demand to schedule (got {required!r})")
    staff = [_staff_value(v, f"required[{i}]") for i, v in enumerate(values)]
    first = _minute(open_, "open")
    if first + len(staff) * interval_min > 1440:
        raise PlanError(
            f"{len(staff)} intervals of {interval_min} minutes from open={open_!r} end after 24:00"
        )
    table = np.array(staff, dtype=np.int64).reshape(1, 1, -1)
    return first, len(staff), [0], [IMPLICIT_GROUP], [None], table


def _demand_table(table: pd.DataFrame, interval_min: int):
    for column in ("interval_start", "staff"):
        if column not in table.columns:
            raise PlanError(f"required has no column {column!r} (columns: {list(table.columns)})")
    if len(table) == 0:
        raise PlanError("required has no rows: no demand to schedule")
    n = len(table)
    starts = [
        _whole(v, f"required row {i!r}: interval_start", minimum=0, maximum=1439, table=True)
        for i, v in zip(table.index, table["interval_start"].tolist(), strict=True)
    ]
    if "day" in table.columns:
        days_of = [
            _whole(v, f"required row {i!r}: day", minimum=0, table=True)
            for i, v in zip(table.index, table["day"].tolist(), strict=True)
        ]
    else:
        days_of = [0] * n
    if "group" in table.columns:
        group_of = [str(g) for g in table["group"].tolist()]
    else:
        group_of = [IMPLICIT_GROUP] * n
    if "interval_min" in table.columns:
        lengths = [
            _whole(v, f"required row {i!r}: interval_min", minimum=1, maximum=1440, table=True)
            for i, v in zip(table.index, table["interval_min"].tolist(), strict=True)
        ]
    else:
        unique = np.unique(starts)
        steps = np.diff(unique)
        step = int(steps[steps > 0].min()) if steps.size else interval_min
        lengths = [step] * n
    groups = list(dict.fromkeys(group_of))
    categories: dict[str, tuple[str, ...] | None] = {}
    if "categories" in table.columns:
        for i, g, text in zip(table.index, group_of, table["categories"].tolist(), strict=True):
            if not isinstance(text, str):
                raise PlanError(
                    f"required row {i!r}: categories must be comma-joined category ids "
                    f"(got {text!r})"
                )
            ids = tuple(dict.fromkeys(c.strip() for c in text.split(",") if c.strip()))
            if not ids:
                raise PlanError(f"required row {i!r}: categories is empty (got {text!r})")
            seen = categories.setdefault(g, ids)
            if set(seen) != set(ids):
                raise PlanError(
                    f"required row {i!r}: group {g!r} serves {text!r} here but "
                    f"{','.join(seen)!r} in an earlier row"
                )
    else:  # a group serves the category it is named after; no groups: anything
        categories = {g: (g,) if "group" in table.columns else None for g in groups}
    where = [
        f"required row {i!r} (day {d}, group {g!r}, {clock(s)})"
        for i, d, g, s in zip(table.index, days_of, group_of, starts, strict=True)
    ]
    staff = [_staff_value(v, w) for v, w in zip(table["staff"].tolist(), where, strict=True)]
    first = min(starts)
    end = max(s + n_min for s, n_min in zip(starts, lengths, strict=True))
    n_t = -(-(end - first) // interval_min)
    if first + n_t * interval_min > 1440:
        raise PlanError(
            f"the schedule's {interval_min}-minute intervals from {clock(first)} to cover "
            f"the requirements up to {clock(end)} end after 24:00"
        )
    days = sorted(set(days_of))
    day_index = {d: k for k, d in enumerate(days)}
    group_index = {g: k for k, g in enumerate(groups)}
    out = np.zeros((len(days), len(groups), n_t), dtype=np.int64)
    seen_rows: dict[tuple[int, str, int], str] = {}
    for d, g, s, n_min, value, w in zip(
        days_of, group_of, starts, lengths, staff, where, strict=True
    ):
        key = (d, g, s)
        if key in seen_rows:
            raise PlanError(f"{w}: a second requirement for the same interval")
        seen_rows[key] = w
        i0 = (s - first) // interval_min
        i1 = -(-(s + n_min - first) // interval_min)
        cells = out[day_index[d], group_index[g], i0:i1]
        np.maximum(cells, value, out=cells)
    return first, n_t, days, groups, [categories[g] for g in groups], out


def _named_list(values, kind: type, what: str) -> list:
    """One ``kind`` or a non-empty list of them, with distinct names."""
    if isinstance(values, kind):
        values = [values]
    if not isinstance(values, list | tuple) or not values:
        raise PlanError(
            f"{what}_types must be a non-empty list of {kind.__name__} (got {values!r})"
        )
    for value in values:
        if not isinstance(value, kind):
            raise PlanError(f"{what}_types must be {kind.__name__} objects (got {value!r})")
    names = [value.name for value in values]
    for name in names:
        if names.count(name) > 1:
            raise PlanError(f"two {what} types are named {name!r}")
    return list(values)


def _prepare(
    required,
    shift_types,
    staff_types,
    windows,
    interval_min,
    open_,
    shortfall_cost,
    back_office: pd.DataFrame | None = None,
    deadline_days: int = 0,
) -> _Data:
    interval_min = _whole(interval_min, "interval_min", minimum=1, maximum=1440)
    shift_types = _named_list(shift_types, ShiftType, "shift")
    names = [k.name for k in shift_types]
    implicit = staff_types is None
    if implicit:
        staff_types = [StaffType(IMPLICIT_STAFF, ("*",))]
    staff_types = _named_list(staff_types, StaffType, "staff")
    staff_names = [e.name for e in staff_types]
    for k in shift_types:
        if k.staff_type is not None and k.staff_type not in staff_names:
            known = "none given" if implicit else ", ".join(repr(n) for n in staff_names)
            raise PlanError(
                f"shift type {k.name!r}: staff_type {k.staff_type!r} is not among the staff "
                f"types ({known})"
            )
    if windows is not None:
        windows = _whole(windows, "windows", minimum=0)
    if shortfall_cost is not None:
        shortfall_cost = _real(shortfall_cost, "shortfall_cost")

    first, n_t, days, groups, categories, table = _demand(required, interval_min, open_)
    times = first + interval_min * np.arange(n_t, dtype=np.int64)
    eligible = np.array([[e.serves(c) for c in categories] for e in staff_types], dtype=bool)
    office = None
    if back_office is not None:  # one more group, worked by staff with the skill
        office = BackOfficeWork(
            _office_work(back_office, days, times, interval_min), int(deadline_days)
        )
        groups = [*groups, BACK_OFFICE]
        categories = [*categories, (BACK_OFFICE,)]
        table = np.concatenate([table, np.zeros((len(days), 1, n_t), dtype=table.dtype)], 1)
        skilled = np.array([[BACK_OFFICE in e.skills] for e in staff_types], dtype=bool)
        eligible = np.concatenate([eligible, skilled], axis=1)

    col_shift, col_staff, col_start, col_breaks, works, col_cost = [], [], [], [], [], []
    for ki, k in enumerate(shift_types):
        placements = k.placements(interval_min)
        if not placements:
            raise PlanError(
                f"shift type {k.name!r}: its breaks cannot be placed in order without "
                f"overlapping at {interval_min}-minute steps (breaks: {list(k.breaks)})"
            )
        for ei, e in enumerate(staff_types):
            if k.staff_type is not None and k.staff_type != e.name:
                continue
            cost = k.length_min / 60 * k.cost_per_hour * e.cost_factor
            for s in k.starts:
                for offsets in placements:
                    spans = tuple(
                        (s + o, s + o + b.length_min)
                        for o, b in zip(offsets, k.breaks, strict=True)
                    )
                    worked = _works(s, s + k.length_min, spans, times, interval_min)
                    if not worked.any():
                        continue  # a shift that works no interval only costs
                    col_shift.append(ki)
                    col_staff.append(ei)
                    col_start.append(s)
                    col_breaks.append(spans)
                    works.append(worked)
                    col_cost.append(cost)
    return _Data(
        interval_min=interval_min,
        open_minute=first,
        times=times,
        days=days,
        groups=groups,
        categories=categories,
        required=table,
        shift_types=tuple(shift_types),
        staff_types=tuple(staff_types),
        eligible=eligible,
        col_shift=np.array(col_shift, dtype=np.int64),
        col_staff=np.array(col_staff, dtype=np.int64),
        col_start=np.array(col_start, dtype=np.int64),
        col_breaks=col_breaks,
        works=np.array(works, dtype=bool).reshape(len(col_shift), n_t),
        col_cost=np.array(col_cost, dtype=float),
        windows=windows,
        shortfall_cost=shortfall_cost,
        back_office=office,
        shift_tokens=_tokens(names),
        staff_tokens=_tokens(staff_names),
        group_tokens=_tokens(groups),
    )


def _office_work(table: pd.DataFrame, days: list[int], times: np.ndarray, length: int):
    """Back-office work (``day, interval_start, work_min``) in staff-intervals per day and
    schedule interval; work outside the schedule's days and hours is refused."""
    work = np.zeros((len(days), len(times)))
    for row in table.itertuples(index=False):
        t = int(np.searchsorted(times, row.interval_start, side="right")) - 1
        if row.day not in days or t < 0 or row.interval_start >= times[-1] + length:
            if row.work_min > 0:
                raise PlanError(
                    f"back-office work on day {row.day} at {clock(int(row.interval_start))} "
                    "falls outside the schedule's days and hours"
                )
            continue
        work[days.index(row.day), t] += float(row.work_min) / length
    return work


def _check(data: _Data) -> None:
    """Errors that show without solving."""
    staff_types, groups = data.staff_types, data.groups

    def described(g: int) -> str:
        cats = data.categories[g]
        return f"{groups[g]!r}" + ("" if cats is None else f" [{', '.join(cats)}]")

    for ei, e in enumerate(staff_types):
        if not data.eligible[ei].any():
            raise PlanError(
                f"staff type {e.name!r} (skills {list(e.skills)}) can serve no group of "
                "windows: a group needs staff with all its categories (groups: "
                f"{', '.join(described(g) for g in range(len(groups)))})"
            )
    for g in range(len(groups)):
        if not data.eligible[:, g].any() and data.categories[g] == (BACK_OFFICE,):
            kinds = ", ".join(f"{e.name!r} {list(e.skills)}" for e in staff_types)
            raise PlanError(
                f"no staff type has the skill {BACK_OFFICE!r}: nobody can work in the back "
                f"office (staff types: {kinds})"
            )
        if not data.eligible[:, g].any():
            raise PlanError(
                f"no staff type can serve group {described(g)}: none has all its categories "
                f"(staff types: {', '.join(f'{e.name!r} {list(e.skills)}' for e in staff_types)})"
            )
    if data.shortfall_cost is not None:
        return
    available = np.array([e.count != 0 for e in staff_types], dtype=bool)
    length = data.interval_min
    for di, d in enumerate(data.days):
        for g in range(len(groups)):
            for t in np.flatnonzero(data.required[di, g] > 0):
                usable = data.eligible[data.col_staff, g] & available[data.col_staff]
                if not (data.works[:, t] & usable).any():
                    a = int(data.times[t])
                    hours = ", ".join(
                        f"{k.name!r} {k.earliest}-{k.latest} for {k.length_min} min"
                        for k in data.shift_types
                    )
                    raise PlanError(
                        f"no shift can work the interval {clock(a)}-{clock(a + length)} on "
                        f"day {d}, where group {groups[g]!r} needs "
                        f"{int(data.required[di, g, t])} staff (shift types: {hours}); add a "
                        "shift type or widen the starts, or pass shortfall_cost= to allow "
                        "shortfalls"
                    )
    if data.windows is not None:
        total = data.required.sum(axis=1)
        for di, d in enumerate(data.days):
            for t in np.flatnonzero(total[di] > data.windows):
                raise PlanError(
                    f"windows={data.windows} but {int(total[di, t])} staff are required at "
                    f"{clock(int(data.times[t]))} on day {d}; pass shortfall_cost= to allow "
                    "shortfalls"
                )


# ---------------------------------------------------------------------------- build and solve


@dataclass
class _Variables:
    shifts: dict[tuple[int, int], pulp.LpVariable]  # (day index, column)
    assigned: dict[tuple[int, int, int, int], pulp.LpVariable]  # (day, staff, group, t)
    shortfall: dict[tuple[int, int, int], pulp.LpVariable]  # (day, group, t)
    done: dict[tuple[int, int], pulp.LpVariable] = field(default_factory=dict)  # (day, t)


def _build(data: _Data) -> tuple[pulp.LpProblem, _Variables]:
    problem = pulp.LpProblem("shift_schedule", pulp.LpMinimize)
    n_t = len(data.times)
    n_groups = len(data.groups)
    st, et, gt = data.shift_tokens, data.staff_tokens, data.group_tokens
    hhmm = [_hhmm(int(a)) for a in data.times]
    shifts: dict[tuple[int, int], pulp.LpVariable] = {}
    kept = data.kept if data.kept is not None else np.zeros((len(data.days), len(data.col_shift)))
    for di, d in enumerate(data.days):
        for c in range(len(data.col_shift)):
            name = (
                f"shifts_d{d}_{st[data.col_shift[c]]}_{et[data.col_staff[c]]}_"
                f"{_hhmm(int(data.col_start[c]))}"
                + "".join(f"_b{_hhmm(a)}" for a, _ in data.col_breaks[c])
            )
            shifts[di, c] = variable(problem, name, pulp.LpInteger, low=kept[di, c])
    assigned: dict[tuple[int, int, int, int], pulp.LpVariable] = {}
    shortfall: dict[tuple[int, int, int], pulp.LpVariable] = {}
    objective = [float(data.col_cost[c]) * v for (_, c), v in shifts.items()]

    n_e = len(data.staff_types)
    # +1 where a column starts working (after its start or a break), -1 where it stops
    delta = np.diff(data.works.astype(np.int64), axis=1, prepend=0)
    for di, d in enumerate(data.days):
        working: dict[tuple[int, int], pulp.LpVariable] = {}  # (staff type, t)
        for e in range(n_e):
            mine = data.col_staff == e
            for t in range(n_t):
                if not (mine & data.works[:, t]).any():
                    continue  # nobody of type e can work t: 0
                v = variable(problem, f"working_d{d}_{et[e]}_{hhmm[t]}", pulp.LpContinuous)
                changes = np.flatnonzero(mine & (delta[:, t] != 0))
                before = working.get((e, t - 1))
                problem += (
                    v
                    - (before if before is not None else 0)
                    - pulp.lpSum(int(delta[c, t]) * shifts[di, int(c)] for c in changes)
                    == 0,
                    f"flow_d{d}_{et[e]}_{hhmm[t]}",
                )
                working[e, t] = v

        staffed: dict[tuple[int, int], list] = {}
        for t in range(n_t):
            if n_groups == 1:
                staffed[0, t] = [working[e, t] for e in range(n_e) if (e, t) in working]
                continue
            for e in range(n_e):
                if (e, t) not in working:
                    continue
                parts = []
                for g in np.flatnonzero(data.eligible[e]):
                    # the back office takes whoever is left: a whole number without being
                    # declared one (working and the windows' people are whole numbers)
                    office = data.back_office is not None and g == n_groups - 1
                    kind = pulp.LpContinuous if office else pulp.LpInteger
                    v = variable(problem, f"assigned_d{d}_{et[e]}_{gt[g]}_{hhmm[t]}", kind)
                    assigned[di, e, int(g), t] = v
                    staffed.setdefault((int(g), t), []).append(v)
                    parts.append(v)
                problem += (
                    pulp.lpSum(parts) == working[e, t],
                    f"staff_d{d}_{et[e]}_{hhmm[t]}",
                )
        for g in range(n_groups):
            for t in np.flatnonzero(data.required[di, g] > 0):
                t = int(t)
                lhs = list(staffed.get((g, t), []))
                if data.shortfall_cost is not None:
                    v = variable(problem, f"shortfall_d{d}_{gt[g]}_{hhmm[t]}", pulp.LpContinuous)
                    shortfall[di, g, t] = v
                    lhs.append(v)
                    objective.append(data.shortfall_cost * v)
                where = f"{gt[g]}_" if n_groups > 1 else ""
                problem += (
                    pulp.lpSum(lhs) >= int(data.required[di, g, t]),
                    f"cover_d{d}_{where}{hhmm[t]}",
                )
        if data.windows is not None:
            for t in range(n_t):
                people = [working[e, t] for e in range(n_e) if (e, t) in working]
                if data.back_office is not None:  # the back office has no windows
                    people += [-v for v in staffed.get((n_groups - 1, t), [])]
                if people:
                    problem += pulp.lpSum(people) <= data.windows, f"windows_d{d}_{hhmm[t]}"
        for e, staff_type in enumerate(data.staff_types):
            cols = np.flatnonzero(data.col_staff == e)
            if staff_type.count is not None and cols.size:
                problem += (
                    pulp.lpSum(shifts[di, int(c)] for c in cols) <= staff_type.count,
                    f"count_d{d}_{et[e]}",
                )
    done = _back_office_constraints(problem, data, assigned) if data.back_office else {}
    problem += pulp.lpSum(objective)
    return problem, _Variables(shifts, assigned, shortfall, done)


def _back_office_constraints(problem: pulp.LpProblem, data: _Data, assigned: dict) -> dict:
    """``done[d, t]`` (>= 0) staff-intervals of back-office work done in ``t``, at most the
    people there (``office_d0_0830``), and the ``backlog[d, t]`` (>= 0: nothing is done before
    it comes) it leaves: ``backlog = backlog before + work arriving - done``
    (``backlog_d0_0830``). The deadline (``deadline_d0``): at the end of day ``d +
    deadline_days`` the backlog is at most the work that came after day ``d``."""
    work, n_t = data.back_office.work, len(data.times)
    g = len(data.groups) - 1
    hhmm = [_hhmm(int(a)) for a in data.times]
    office: dict[tuple[int, int], list] = {}
    for (di, _, gg, t), v in assigned.items():
        if gg == g:
            office.setdefault((di, t), []).append(v)
    out: dict[tuple[int, int], pulp.LpVariable] = {}
    before = None
    day_end = []  # per day: (backlog variable at its end, work arrived up to its end)
    arrived = 0.0
    for di, d in enumerate(data.days):
        for t in range(n_t):
            done = variable(problem, f"done_d{d}_{hhmm[t]}", pulp.LpContinuous)
            backlog = variable(problem, f"backlog_d{d}_{hhmm[t]}", pulp.LpContinuous)
            problem += done - pulp.lpSum(office.get((di, t), [])) <= 0, f"office_d{d}_{hhmm[t]}"
            problem += (
                backlog - (before if before is not None else 0) + done == float(work[di, t]),
                f"backlog_d{d}_{hhmm[t]}",
            )
            out[di, t] = done
            before = backlog
            arrived += float(work[di, t])
        day_end.append((before, arrived))
    last = len(data.days) - 1
    for di, d in enumerate(data.days):
        backlog, arrived_by = day_end[min(di + data.back_office.deadline_days, last)]
        came_later = arrived_by - day_end[di][1]
        problem += backlog <= came_later + 1e-9, f"deadline_d{d}"
    return out


def _solve(
    problem: pulp.LpProblem, solver: Any, time_limit_s: float, mip_gap: float
) -> tuple[str, bool, float]:
    """Solve in place; ``(status name, proved optimal, relative gap)``."""
    status, optimal, gap = solve(problem, solver, time_limit_s, "schedule", mip_gap)
    if status == INFEASIBLE:
        raise PlanError(
            "the requirements cannot be covered by these shift types, windows and staff "
            "counts (the schedule is infeasible); pass shortfall_cost= to allow shortfalls at "
            "a cost and see in coverage where staff are missing"
        )
    return status, optimal, gap


# ---------------------------------------------------------------------------- read back


def _read(data: _Data, variables: _Variables, status: str, optimal: bool, gap: float) -> Schedule:
    def value(v: pulp.LpVariable) -> int:
        return int(round(v.varValue or 0.0))

    n_days, n_groups, n_t = data.required.shape
    n_e = len(data.staff_types)
    counts = np.zeros((n_days, len(data.col_shift)), dtype=np.int64)
    for (di, c), v in variables.shifts.items():
        counts[di, c] = value(v)
    # working[d, e, t]
    working = np.zeros((n_days, n_e, n_t), dtype=np.int64)
    for e in range(n_e):
        cols = data.col_staff == e
        working[:, e, :] = counts[:, cols] @ data.works[cols].astype(np.int64)
    by_group = np.zeros((n_days, n_e, n_groups, n_t), dtype=np.int64)
    if n_groups == 1:
        by_group[:, :, 0, :] = working
    else:
        for (di, e, g, t), v in variables.assigned.items():
            by_group[di, e, g, t] = value(v)
    staffed = by_group.sum(axis=1)

    rows = []
    for di, d in enumerate(data.days):  # by start time, then shift and staff type
        for c in sorted(np.flatnonzero(counts[di]), key=lambda c: data.col_start[c]):
            k = data.shift_types[data.col_shift[c]]
            e = data.staff_types[data.col_staff[c]]
            start = int(data.col_start[c])
            breaks = [(clock(a), clock(b)) for a, b in data.col_breaks[c]]
            rows.append(
                {
                    "day": d,
                    "shift_type": k.name,
                    "staff_type": e.name,
                    "start": clock(start),
                    "end": clock(start + k.length_min),
                    "break_start": breaks[0][0] if breaks else None,
                    "break_end": breaks[0][1] if breaks else None,
                    "breaks": breaks,
                    "count": int(counts[di, c]),
                    "cost": float(counts[di, c] * data.col_cost[c]),
                    "start_min": start,
                    "end_min": start + k.length_min,
                }
            )
    shift_columns = [
        "day", "shift_type", "staff_type", "start", "end", "break_start", "break_end",
        "breaks", "count", "cost", "start_min", "end_min",
    ]  # fmt: skip
    dtypes = {"day": np.int64, "count": np.int64, "cost": float, "start_min": np.int64}
    dtypes["end_min"] = np.int64
    shifts = pd.DataFrame(
        {  # object columns keep None (no break) as None
            c: pd.Series([row[c] for row in rows], dtype=dtypes.get(c, object))
            for c in shift_columns
        }
    )

    d_idx, g_idx, t_idx = np.indices((n_days, n_groups, n_t)).reshape(3, -1)
    required = data.required.ravel()
    got = staffed.ravel()
    coverage = pd.DataFrame(
        {
            "day": np.array(data.days, dtype=np.int64)[d_idx],
            "group": np.array(data.groups, dtype=object)[g_idx],
            "interval_start": data.times[t_idx],
            "time": [clock(int(a)) for a in data.times[t_idx]],
            "required": required,
            "staffed": got,
            "surplus": np.maximum(got - required, 0),
            "shortfall": np.maximum(required - got, 0),
            "working": working.sum(axis=1)[d_idx, t_idx],
        }
    )

    # with one group and one staff type, the assignment says nothing coverage does not
    listed = by_group if n_groups > 1 or n_e > 1 else np.zeros_like(by_group)
    d_idx, e_idx, g_idx, t_idx = np.nonzero(listed)
    assignment = pd.DataFrame(
        {
            "day": np.array(data.days, dtype=np.int64)[d_idx],
            "staff_type": np.array([e.name for e in data.staff_types], dtype=object)[e_idx],
            "group": np.array(data.groups, dtype=object)[g_idx],
            "interval_start": data.times[t_idx],
            "time": pd.Series([clock(int(a)) for a in data.times[t_idx]], dtype=object),
            "staff": listed[d_idx, e_idx, g_idx, t_idx],
        }
    )
    office = None
    if data.back_office is not None:
        people = staffed[:, -1, :]
        done = np.zeros_like(people, dtype=float)
        for (di, t), v in variables.done.items():
            done[di, t] = float(pulp.value(v) or 0.0)
        arrived = data.back_office.work
        backlog = np.cumsum(arrived.ravel() - done.ravel()).reshape(arrived.shape)
        d_idx, t_idx = np.indices(arrived.shape).reshape(2, -1)
        office = pd.DataFrame(
            {
                "day": np.array(data.days, dtype=np.int64)[d_idx],
                "interval_start": data.times[t_idx],
                "time": [clock(int(a)) for a in data.times[t_idx]],
                "work_arriving": arrived.ravel(),
                "staff": people.ravel(),
                "work_done": done.ravel(),
                "backlog": np.maximum(backlog.ravel(), 0.0),
            }
        )
        front = coverage["group"] != BACK_OFFICE
        coverage = coverage[front].reset_index(drop=True)
    unit = data.shortfall_cost
    return Schedule(
        shifts=shifts,
        coverage=coverage,
        assignment=assignment,
        cost=float(shifts["cost"].sum()) if len(shifts) else 0.0,
        shortfall_cost=float((unit or 0.0) * coverage["shortfall"].sum()),
        status=status,
        optimal=optimal,
        gap=gap,
        interval_min=data.interval_min,
        open_minute=data.open_minute,
        shift_types=data.shift_types,
        staff_types=data.staff_types,
        groups=dict(zip(data.groups, data.categories, strict=True)),
        unit_shortfall_cost=unit,
        windows=data.windows,
        back_office=office,
    )


# ---------------------------------------------------------------------------- the result


@dataclass(frozen=True, eq=False, repr=False)
class Schedule:
    """A shift schedule and how it covers the requirements.

    Attributes
    ----------
    shifts : pandas.DataFrame
        One row per day, shift type, staff type, start and break placement worked:
        ``day, shift_type, staff_type, start, end, break_start, break_end`` (``"HH:MM"``; the
        first break, ``None`` without breaks), ``breaks`` (every break as a pair of
        ``"HH:MM"``), ``count`` (people), ``cost``, ``start_min, end_min`` (minutes of day).
    coverage : pandas.DataFrame
        One row per day, group and schedule interval: ``day, group, interval_start`` (minutes
        of day), ``time``, ``required``, ``staffed`` (people at the group's windows),
        ``surplus`` and ``shortfall`` (staffed above or below required), ``working`` (people
        working in the interval, every group).
    assignment : pandas.DataFrame
        With several groups or staff types: ``day, staff_type, group, interval_start, time,
        staff``, the people of each type at each group (rows with staff > 0); else empty.
    cost : float
        Paid cost of the shifts.
    shortfall_cost : float
        The penalty part of the objective: ``shortfall_cost x`` staff-intervals missing.
    status : str
        PuLP's status name. ``"Optimal"`` with ``optimal`` False: the solver stopped at the
        time limit with a feasible schedule.
    optimal : bool
        Proved optimal (within the solver's gap tolerance).
    gap : float
        Relative MIP gap the solver reports (HiGHS), or 0.0 when optimal and NaN otherwise.
    interval_min, open_minute : int
        The schedule's grid: intervals of ``interval_min`` minutes from ``open_minute``.
    shift_types, staff_types : tuple
        The shift and staff types scheduled (without ``staff_types``, one type ``"staff"``).
    groups : dict
        Group name to the category ids it serves (``None``: the implicit group ``"all"``,
        any category).
    unit_shortfall_cost : float or None
        The ``shortfall_cost`` argument.
    windows : int or None
        The ``windows`` argument.
    back_office : pandas.DataFrame or None
        A tidal plan's back office (:func:`hallsim.plan.tidal`), per day and schedule
        interval: ``work_arriving`` and ``work_done`` (staff-intervals), ``staff`` there, and
        the ``backlog`` left; ``None`` for a plan of the windows only.
    options : dict
        How the plan was solved, for :meth:`with_required`.
    """

    shifts: pd.DataFrame
    coverage: pd.DataFrame
    assignment: pd.DataFrame
    cost: float
    shortfall_cost: float
    status: str
    optimal: bool
    gap: float
    interval_min: int
    open_minute: int
    shift_types: tuple[ShiftType, ...]
    staff_types: tuple[StaffType, ...]
    groups: dict[str, tuple[str, ...] | None]
    unit_shortfall_cost: float | None = None
    windows: int | None = None
    back_office: pd.DataFrame | None = None
    options: dict = field(default_factory=dict)

    @property
    def days(self) -> list[int]:
        """The days scheduled."""
        return sorted(int(d) for d in self.coverage["day"].unique())

    @property
    def times(self) -> np.ndarray:
        """Start of every schedule interval, minutes of day."""
        return np.sort(self.coverage["interval_start"].unique()).astype(np.int64)

    def __repr__(self) -> str:
        times = self.times
        end = int(times[-1]) + self.interval_min if len(times) else self.open_minute
        days = len(self.days)
        people = int(self.shifts["count"].sum()) if len(self.shifts) else 0
        missing = int(self.coverage["shortfall"].sum())
        text = (
            f"Schedule({days} day{'s' if days != 1 else ''}, {clock(self.open_minute)}-"
            f"{clock(end)} every {self.interval_min} min, {people} shifts, cost {self.cost:g}"
        )
        if missing or self.unit_shortfall_cost is not None:
            text += f", shortfall {missing} staff-intervals (penalty {self.shortfall_cost:g})"
        if self.optimal:
            text += f", {self.status}"
        else:
            text += f", not proved optimal (status {self.status}, gap {self.gap:.2%})"
        return text + ")"

    def day(self, d: int) -> Schedule:
        """The part of the schedule for day ``d`` (its tables keep ``day == d``)."""
        if d not in self.days:
            raise PlanError(f"day {d!r} is not in the schedule (days: {self.days})")

        def part(table: pd.DataFrame) -> pd.DataFrame:
            if table.empty:
                return table.copy()
            return table[table["day"] == d].reset_index(drop=True)

        shifts, coverage = part(self.shifts), part(self.coverage)
        return Schedule(
            shifts=shifts,
            coverage=coverage,
            assignment=part(self.assignment),
            cost=float(shifts["cost"].sum()) if len(shifts) else 0.0,
            shortfall_cost=float((self.unit_shortfall_cost or 0.0) * coverage["shortfall"].sum()),
            status=self.status,
            optimal=self.optimal,
            gap=self.gap,
            interval_min=self.interval_min,
            open_minute=self.open_minute,
            shift_types=self.shift_types,
            staff_types=self.staff_types,
            groups=dict(self.groups),
            unit_shortfall_cost=self.unit_shortfall_cost,
            windows=self.windows,
            back_office=None if self.back_office is None else part(self.back_office),
            options=self.options,
        )

    def with_required(
        self, required: pd.DataFrame, *, keep: bool = False, days: Sequence[int] | None = None
    ) -> Schedule:
        """The same shift types, staff types and options solved again for ``required`` (a
        requirement table): how verification repairs a plan. With ``keep``, this plan's
        shifts stay (the solver only adds to them): far quicker, and never cheaper. With
        ``days``, only those days are solved again; the others keep this plan's."""
        options = {k: v for k, v in self.options.items() if k != "required"}
        return _solve_plan(required, previous=self, keep=keep, days=days, **options)

    def _one_day(self) -> Schedule:
        days = self.days
        if len(days) <= 1:
            return self
        first = self.day(days[0])

        def plain(table: pd.DataFrame) -> pd.DataFrame:
            return table.drop(columns="day").reset_index(drop=True)

        for d in days[1:]:
            other = self.day(d)
            if not (
                plain(other.shifts).equals(plain(first.shifts))
                and plain(other.assignment).equals(plain(first.assignment))
            ):
                raise PlanError(
                    f"to_scenario needs one day's plan per scenario, and days {days[0]} and "
                    f"{d} differ; use schedule.day(d).to_scenario(base) for each day"
                )
        return first

    def to_scenario(self, base: Scenario) -> Scenario:
        """A scenario that works this plan: ``base``'s hall, categories, back offices and
        pickup, with windows, ``[[staff]]`` and ``[[rotation]]`` from the schedule.

        Each group gets a ``[[windows]]`` entry (id: the group's name) serving its
        categories (``["*"]`` for the implicit group), as many windows as the group ever
        needs at once, with the ``generalist_factor`` and call rule of the ``base`` window
        entry that serves the same categories (else 1.0 and FCFS). Each shift row becomes a
        ``[[staff]]`` entry (``count`` people, the staff type's skills, the shift and its
        breaks). Each person works one group's windows per interval as
        :attr:`assignment` says (minutes of a shift outside whole intervals go with the
        neighbouring interval); these pieces of work are laid on windows greedily by start
        time, a person keeping their window where it is free. The first window a person
        works is their home window; the others become rotation blocks. Reserve pools and
        tidal blocks of ``base`` are not kept (they name ``base``'s windows).

        With shifts on the schedule's grid, a group's windows are open in an interval
        exactly as often as :attr:`coverage` ``staffed`` says. Staff apply to every day of
        the hall: the schedule must have one day, or identical days (see :meth:`day`).

        Raises
        ------
        PlanError
            A schedule of differing days, with no shifts, or naming categories or skills
            ``base`` does not have.
        """
        from .roster import roster_scenario

        return roster_scenario(self, base)


# ---------------------------------------------------------------------------- entry point


def schedule(
    required: Sequence[int] | pd.DataFrame,
    shift_types: Sequence[ShiftType] | ShiftType,
    staff_types: Sequence[StaffType] | None = None,
    windows: int | None = None,
    interval_min: int = 15,
    open: str = "08:00",
    shortfall_cost: float | None = None,
    time_limit_s: float = 60,
    solver: Any = None,
    mip_gap: float = 1e-4,
) -> Schedule:
    """The least-cost shifts that cover staff requirements (see the module doc for the
    integer program).

    Parameters
    ----------
    required : sequence of int or pandas.DataFrame
        Staff needed at the windows per interval of ``interval_min`` minutes from ``open``,
        one day; or a requirements table (:func:`hallsim.plan.requirements`) with columns
        ``interval_start`` and ``staff`` and optionally ``group``, ``categories``, ``day``
        and ``interval_min`` (then the schedule opens at the earliest ``interval_start``;
        each schedule interval needs the most any requirement interval it overlaps needs).
    shift_types : sequence of ShiftType
        The shifts that may be worked.
    staff_types : sequence of StaffType, optional
        Kinds of staff; default one type ``"staff"`` who serve everything.
    windows : int, optional
        Physical windows: at most this many people work at once.
    interval_min : int, default 15
        The schedule's interval; breaks move in steps of it.
    open : str, default "08:00"
        Start of the first interval of a list ``required``.
    shortfall_cost : float, optional
        Allow staffing below requirement at this cost per missing staff-interval; without
        it, requirements are hard.
    time_limit_s : float, default 60
        Solver time limit, for each day (days are solved one by one); at the limit the best
        schedule found is returned (``optimal`` False, with its ``gap``).
    solver : pulp solver, optional
        Any PuLP solver; default HiGHS (``highspy``), else CBC.
    mip_gap : float, default 1e-4
        The default solver stops once its schedule is proved within this relative gap of
        the optimum (``optimal`` then means: within it).

    Returns
    -------
    Schedule

    Raises
    ------
    PlanError
        Malformed input, requirements that no shift can work, windows fewer than required,
        skills that match no group, or an infeasible program (pass ``shortfall_cost``).

    Examples
    --------
    >>> early = ShiftType("early", 240, "08:00", "09:00", breaks=[Break(15, (90, 150))])
    >>> plan = schedule([1, 2, 2, 2, 2, 2, 2, 2, 2, 1], [early], interval_min=30)
    >>> int(plan.coverage["shortfall"].sum())
    0
    """
    return _solve_plan(
        required,
        shift_types=shift_types,
        staff_types=staff_types,
        windows=windows,
        interval_min=interval_min,
        open=open,
        shortfall_cost=shortfall_cost,
        time_limit_s=time_limit_s,
        solver=solver,
        mip_gap=mip_gap,
    )


def _solve_plan(
    required,
    previous: Schedule | None = None,
    keep: bool = False,
    days: Sequence[int] | None = None,
    **options,
) -> Schedule:
    """Prepare, check, build, solve and read back; ``options`` are :func:`schedule`'s, and
    for a tidal plan ``back_office`` (work per day and interval) and ``deadline_days``.

    Days that nothing links (no back-office deadline beyond the day) are separate programs:
    each is solved on its own, which gives the same optimum much faster than one program;
    a day whose requirement is the same as in ``previous``, or that is not among ``days``
    (when given), keeps ``previous``'s plan.
    """
    again = None if days is None else {int(day) for day in days}
    days = (
        required["day"].unique()
        if isinstance(required, pd.DataFrame) and "day" in required.columns
        else []
    )
    if len(days) > 1 and options.get("deadline_days", 0) == 0:
        office = options.get("back_office")
        before = None if previous is None else previous.options.get("required")
        parts: list = []
        for day in days:
            rows = required[required["day"] == day]
            if (
                before is not None
                and day in previous.days
                and ((again is not None and int(day) not in again) or _same(rows, before, day))
            ):
                parts.append(previous.day(int(day)))
                continue
            if office is not None:
                options = {**options, "back_office": office[office["day"] == day]}
            parts.append((rows, options, _shifts_of(previous, day, keep)))
        plan = _combined(_solved_days(parts))
        options = {**options, "back_office": office}
    else:
        plan = _solve_one(required, options, previous.shifts if keep and previous else None)
    object.__setattr__(plan, "options", {**options, "required": required})
    return plan


def _solved_days(parts: list) -> list[Schedule]:
    """``parts`` with each ``(rows, options, keep)`` solved, the days at once in threads
    (one per CPU): the solver runs outside Python's lock, and each day is its own program,
    so the plans are those of one day after the other."""
    todo = [k for k, part in enumerate(parts) if isinstance(part, tuple)]
    threads = min(len(todo), available_cpus())
    if threads <= 1:
        solved = [_solve_one(*parts[k]) for k in todo]
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            solved = list(pool.map(lambda k: _solve_one(*parts[k]), todo))
    out = list(parts)
    for k, plan in zip(todo, solved, strict=True):
        out[k] = plan
    return out


def _shifts_of(previous: Schedule | None, day, keep: bool) -> pd.DataFrame | None:
    if not keep or previous is None:
        return None
    return previous.shifts[previous.shifts["day"] == day]


def _same(rows: pd.DataFrame, before: pd.DataFrame, day) -> bool:
    old = before[before["day"] == day]
    return rows.reset_index(drop=True).equals(old.reset_index(drop=True))


def _combined(parts: list[Schedule]) -> Schedule:
    """Schedules of separate days as one."""

    def joined(name: str) -> pd.DataFrame:
        return pd.concat([getattr(p, name) for p in parts], ignore_index=True)

    groups: dict = {}
    for part in parts:
        groups.update(part.groups)
    first = parts[0]
    worst = next((p.status for p in parts if p.status != "Optimal"), first.status)
    gaps = [p.gap for p in parts]
    return Schedule(
        shifts=joined("shifts"),
        coverage=joined("coverage"),
        assignment=joined("assignment"),
        cost=float(sum(p.cost for p in parts)),
        shortfall_cost=float(sum(p.shortfall_cost for p in parts)),
        status=worst,
        optimal=all(p.optimal for p in parts),
        gap=math.nan if any(math.isnan(g) for g in gaps) else max(gaps),
        interval_min=first.interval_min,
        open_minute=min(p.open_minute for p in parts),
        shift_types=first.shift_types,
        staff_types=first.staff_types,
        groups=groups,
        unit_shortfall_cost=first.unit_shortfall_cost,
        windows=first.windows,
        back_office=None if first.back_office is None else joined("back_office"),
    )


def _kept(data: _Data, keep: pd.DataFrame) -> np.ndarray:
    """The counts of ``keep`` (a schedule's shifts table) per day and model column."""
    column = {
        (
            data.shift_types[data.col_shift[c]].name,
            data.staff_types[data.col_staff[c]].name,
            int(data.col_start[c]),
            tuple(data.col_breaks[c]),
        ): c
        for c in range(len(data.col_shift))
    }
    out = np.zeros((len(data.days), len(data.col_shift)))
    for row in keep.itertuples(index=False):
        breaks = tuple((minutes_of_day(a), minutes_of_day(b)) for a, b in row.breaks)
        c = column.get((row.shift_type, row.staff_type, int(row.start_min), breaks))
        if c is not None and row.day in data.days:
            out[data.days.index(row.day), c] = row.count
    return out


def _solve_one(required, options: dict, keep: pd.DataFrame | None = None) -> Schedule:
    time_limit = _real(options["time_limit_s"], "time_limit_s")
    if time_limit <= 0:
        raise PlanError(f"time_limit_s must be > 0 (got {options['time_limit_s']!r})")
    data = _prepare(
        required,
        options["shift_types"],
        options["staff_types"],
        options["windows"],
        options["interval_min"],
        options["open"],
        options["shortfall_cost"],
        options.get("back_office"),
        options.get("deadline_days", 0),
    )
    _check(data)
    if keep is not None:
        data.kept = _kept(data, keep)
    problem, variables = _build(data)
    mip_gap = _real(options.get("mip_gap", 1e-4), "mip_gap")
    status, optimal, gap = _solve(problem, options["solver"], time_limit, mip_gap)
    return _read(data, variables, status, optimal, gap)
