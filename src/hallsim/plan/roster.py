"""A schedule laid out as people at windows: the scenario that works a plan.

Each person of a one-day :class:`~hallsim.plan.Schedule` works one group's windows per
interval, as its ``assignment`` says; these pieces of work are laid on windows greedily by
start time, a person keeping their window where it is free. The first window a person works
is their home window, the others become ``[[rotation]]`` blocks; time in a tidal plan's back
office is time away from the windows, written as breaks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..clock import clock, minutes_of_day
from ..errors import PlanError, ScenarioError
from ..scenario import Scenario
from .shifts import BACK_OFFICE, StaffType, _works

if TYPE_CHECKING:
    from .schedule import Schedule

__all__ = ["roster_scenario"]


def roster_scenario(schedule: Schedule, base: Scenario) -> Scenario:
    """:meth:`Schedule.to_scenario <hallsim.plan.Schedule.to_scenario>`."""
    if not isinstance(base, Scenario):
        raise PlanError(f"to_scenario needs a hallsim.Scenario (got {type(base).__name__})")
    plan = schedule._one_day()
    if plan.shifts.empty:
        raise PlanError("the schedule has no shifts: there is nobody to staff the windows")
    groups = list(schedule.groups)
    serves = {
        g: ["*"] if c is None else list(c) for g, c in schedule.groups.items() if g != BACK_OFFICE
    }
    for g, entries in serves.items():
        for entry in entries:
            if not base.resolve([entry]):
                raise PlanError(
                    f"group {g!r} serves {entry!r}, which is not a category id or "
                    f"department of {base.name or 'the base scenario'!r} (categories: "
                    f"{base.category_ids})"
                )
    for e in schedule.staff_types:
        for skill in _window_skills(e):
            if not base.resolve([skill]):
                raise PlanError(
                    f"staff type {e.name!r} has skill {skill!r}, which is not a category id "
                    f"or department of the base scenario (categories: {base.category_ids})"
                )
    people = _people(plan, groups)
    pieces = _pieces(plan, people, groups, base.hall.open_minute, base.hall.close_minute)
    # time in the back office is time away from the windows, like a break
    office = groups.index(BACK_OFFICE) if BACK_OFFICE in groups else -1
    away: dict[int, list[tuple[int, int]]] = {}
    for m, g, a, b in pieces:
        if g == office:
            away.setdefault(m, []).append((a, b))
    pieces = [piece for piece in pieces if piece[1] != office]
    at_window = {piece[0] for piece in pieces}
    windows_of, at = _lay_out(pieces, len(groups))

    window_names = []  # per group
    for g, n in enumerate(windows_of):
        name = groups[g]
        window_names.append([name] if n == 1 else [f"{name}.{j + 1}" for j in range(n)])
    spare = next((names[0] for names in window_names if names), None)
    if spare is None:
        raise PlanError(
            f"the schedule staffs no window during the hall's hours "
            f"{base.hall.open}-{base.hall.close}"
        )
    homes: list[str] = []
    rotation: list[dict] = []
    for m, person in enumerate(people):
        mine = sorted((a, b, g, at[p]) for p, (pm, g, a, b) in enumerate(pieces) if pm == m)
        if not mine:
            eligible = [g for g in person["groups"] if window_names[g]]
            homes.append(window_names[eligible[0]][0] if eligible else spare)
            continue
        home = window_names[mine[0][2]][mine[0][3]]
        homes.append(home)
        blocks: list[list] = []
        for a, b, g, w in mine:
            name = window_names[g][w]
            if blocks and blocks[-1][2] == name and blocks[-1][1] == a:
                blocks[-1][1] = b
            else:
                blocks.append([a, b, name])
        rotation += [
            {"staff": person["name"], "window": name, "from": clock(a), "to": clock(b)}
            for a, b, name in blocks
            if name != home
        ]

    window_entries = []
    for g, group in enumerate(groups):
        if not windows_of[g] or g == office:
            continue
        wanted = base.resolve(serves[group])
        like = next((w for w in base.windows if base.served_categories(w) == wanted), None)
        entry: dict[str, Any] = {"id": group, "count": windows_of[g], "serves": serves[group]}
        if like is not None:
            entry["generalist_factor"] = like.generalist_factor
            entry["call"] = like.call
        window_entries.append(entry)
    staff_entries = []
    m = 0
    for row in plan.shifts.itertuples(index=False):
        entry = {
            "id": _entry_id(row, len(schedule.staff_types) > 1),
            "count": int(row.count),
            "skills": _window_skills(_staff_type(schedule, row.staff_type)),
            "shift": [row.start, row.end],
            "breaks": [list(b) for b in row.breaks],
            "windows": homes[m : m + int(row.count)],
        }
        members = range(m, m + int(row.count))
        m += int(row.count)
        if not any(k in away for k in members):
            staff_entries.append(entry)
            continue
        for k in members:  # each with their own time in the back office
            if k not in at_window:
                continue  # in the back office all day: not at the windows
            spans = [(minutes_of_day(a), minutes_of_day(b)) for a, b in row.breaks]
            staff_entries.append(
                {
                    **entry,
                    "id": people[k]["name"],
                    "count": 1,
                    "breaks": [[clock(a), clock(b)] for a, b in _merged(spans + away.get(k, []))],
                    "windows": [homes[k]],
                }
            )
    try:
        return Scenario(
            name=f"{base.name} (schedule)" if base.name else "schedule",
            description=f"{base.description}\n{plan!r}".strip(),
            hall=base.hall,
            categories=list(base.categories),
            windows=window_entries,
            staff=staff_entries,
            rotation=rotation,
            back_office=list(base.back_office),
            pickup=base.pickup,
        )
    except ScenarioError as error:
        raise PlanError(f"the schedule does not make a valid scenario:\n{error}") from error


def _window_skills(staff_type: StaffType) -> list[str]:
    """A staff type's skills at the windows (without the back office's)."""
    return [skill for skill in staff_type.skills if skill != BACK_OFFICE] or ["*"]


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _staff_type(plan: Schedule, name: str) -> StaffType:
    return next(e for e in plan.staff_types if e.name == name)


def _entry_id(row: Any, typed: bool) -> str:
    text = f"{row.shift_type}@{row.start}"
    if typed:
        text += f"/{row.staff_type}"
    return text + "".join(f"/b{a}" for a, _ in row.breaks)


def _people(plan: Schedule, groups: list[str]) -> list[dict]:
    """Every person of a one-day plan, with the group they work in every interval (-1: not
    working), from the assignment."""
    times = plan.times
    n_t = len(times)
    length = plan.interval_min
    quota: dict[tuple[str, int], np.ndarray] = {}
    if plan.assignment.empty:
        (e,) = plan.staff_types
        for g, group in enumerate(groups):
            rows = plan.coverage[plan.coverage["group"] == group].sort_values("interval_start")
            quota[e.name, g] = rows["staffed"].to_numpy(dtype=np.int64)
    else:
        for row in plan.assignment.itertuples(index=False):
            cells = quota.setdefault(
                (row.staff_type, groups.index(row.group)), np.zeros(n_t, dtype=np.int64)
            )
            cells[int(np.searchsorted(times, row.interval_start))] += int(row.staff)
    people = []
    for row in plan.shifts.itertuples(index=False):
        breaks = [(minutes_of_day(a), minutes_of_day(b)) for a, b in row.breaks]
        works = _works(row.start_min, row.end_min, breaks, times, length)
        entry_id = _entry_id(row, len(plan.staff_types) > 1)
        staff_type = _staff_type(plan, row.staff_type)
        for j in range(int(row.count)):
            people.append(
                {
                    "name": entry_id if row.count == 1 else f"{entry_id}.{j + 1}",
                    "type": row.staff_type,
                    "start": int(row.start_min),
                    "end": int(row.end_min),
                    "breaks": breaks,
                    "works": works,
                    "group": np.full(n_t, -1, dtype=np.int64),
                    "groups": [
                        g for g, c in enumerate(plan.groups.values()) if staff_type.serves(c)
                    ],
                }
            )
    last = [-1] * len(people)
    for t in range(n_t):
        for e in plan.staff_types:
            here = [m for m, p in enumerate(people) if p["type"] == e.name and p["works"][t]]
            left = [int(quota.get((e.name, g), np.zeros(n_t))[t]) for g in range(len(groups))]
            if sum(left) != len(here):
                raise PlanError(
                    f"internal: {len(here)} people of type {e.name!r} work at "
                    f"{clock(int(times[t]))} but {sum(left)} are assigned"
                )
            waiting = []
            for m in here:  # keep people where they were
                if last[m] >= 0 and left[last[m]] > 0:
                    people[m]["group"][t] = last[m]
                    left[last[m]] -= 1
                else:
                    waiting.append(m)
            for m in waiting:
                g = max(range(len(groups)), key=lambda g: left[g])
                people[m]["group"][t] = g
                left[g] -= 1
            for m in here:
                last[m] = int(people[m]["group"][t])
    return people


def _pieces(
    plan: Schedule, people: list[dict], groups: list[str], hall_open: int, hall_close: int
) -> list[tuple[int, int, int, int]]:
    """``(person, group, from, to)``: every person's time on duty (shift minus breaks, within
    the hall's hours) cut where their group changes. Minutes outside whole working intervals
    go with the neighbouring interval's group."""
    times = plan.times
    length = plan.interval_min
    out = []
    for m, person in enumerate(people):
        segments, at = [], person["start"]
        for a, b in sorted(person["breaks"]):
            segments.append((at, a))
            at = b
        segments.append((at, person["end"]))
        groups_of = person["group"]
        worked = np.flatnonzero(groups_of >= 0)
        for a, b in segments:
            if b <= a:
                continue
            inside = np.flatnonzero((times >= a) & (times + length <= b))
            cuts: list[tuple[int, int, int]] = []  # (from, to, group)
            if inside.size == 0:
                before = worked[times[worked] < a]
                after = worked[times[worked] >= b]
                if before.size:
                    g = int(groups_of[before[-1]])
                elif after.size:
                    g = int(groups_of[after[0]])
                else:
                    g = person["groups"][0]
                cuts.append((a, b, g))
            else:
                for t in inside:
                    g = int(groups_of[t])
                    t0 = int(times[t])
                    if cuts and cuts[-1][2] == g:
                        cuts[-1] = (cuts[-1][0], t0 + length, g)
                    else:
                        cuts.append((t0, t0 + length, g))
                cuts[0] = (a, cuts[0][1], cuts[0][2])
                cuts[-1] = (cuts[-1][0], b, cuts[-1][2])
            for a1, b1, g in cuts:
                a1, b1 = max(a1, hall_open), min(b1, hall_close)
                if b1 > a1:
                    out.append((m, g, a1, b1))
    return out


def _lay_out(pieces: list[tuple[int, int, int, int]], n_groups: int) -> tuple[list[int], list[int]]:
    """Windows per group and the window (index within its group) of every piece: interval
    colouring by start time, which needs no more windows than pieces overlap at once."""
    free_at: list[list[int]] = [[] for _ in range(n_groups)]
    last: dict[tuple[int, int], int] = {}
    at = [0] * len(pieces)
    order = sorted(range(len(pieces)), key=lambda p: (pieces[p][2], pieces[p][3], pieces[p][0]))
    for p in order:
        m, g, a, b = pieces[p]
        slots = free_at[g]
        w = last.get((m, g))
        if w is None or slots[w] > a:
            w = next((j for j, free in enumerate(slots) if free <= a), None)
            if w is None:
                slots.append(a)
                w = len(slots) - 1
        slots[w] = b
        last[m, g] = w
        at[p] = w
    return [len(slots) for slots in free_at], at
