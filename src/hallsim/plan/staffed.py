"""A hall whose windows open exactly the staff a requirement table plans, to simulate it.

Each group of windows becomes layers of single windows: layer ``k`` (window ``<group>~k``)
is open in the intervals that plan more than ``k - 1`` staff, so in every interval exactly
the planned number of the group's windows is open. The layers serve the group's categories
with its ``generalist_factor`` (per category, averaged over the group's windows) and its call
rule. Staff, rotation and reserve sections are left out (the plan replaces them); back offices
and pickup are kept. A window closing while it serves finishes that ticket.

A Scenario's windows open the same hours every day, so a plan whose days differ is simulated
day by day: :func:`day_scenario` gives one day of the hall (its weekday's arrivals) with that
day's plan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..clock import clock
from ..errors import PlanError
from ..scenario import WEEKDAYS, Scenario
from .demand import factor_value, groups_of, mean_factor

__all__ = ["day_scenario", "group_windows", "one_day"]


def group_windows(scenario: Scenario) -> dict[str, dict]:
    """Per group name: the fields its layered windows copy (``serves``, ``generalist_factor``,
    ``call``)."""
    out = {}
    for name, entries, categories in groups_of(scenario):
        windows = [scenario.windows[w] for w in entries]
        factor = {scenario.categories[c].id: mean_factor(scenario, windows, c) for c in categories}
        calls = {w.call.model_dump_json() for w in windows}
        call = windows[0].call.model_dump() if len(calls) == 1 else {"rule": "fcfs"}
        out[name] = {
            "serves": [scenario.categories[c].id for c in categories],
            "generalist_factor": factor_value(factor),
            "call": call,
        }
    return out


def day_scenario(scenario: Scenario, plan: pd.DataFrame, day: int = 0) -> Scenario:
    """Day ``day`` of ``scenario`` with the windows of ``plan`` (rows of that day: ``group,
    interval_start, interval_min, staff``).

    The day keeps its weekday (and so its ``weekday_factors``); ``days`` becomes 1.
    """
    hall = scenario.hall
    rows = plan[plan["day"] == day] if "day" in plan else plan
    groups = group_windows(scenario)
    unknown = sorted(set(rows["group"]) - set(groups))
    if unknown:
        raise PlanError(f"plan groups {unknown} are not groups of this hall ({sorted(groups)})")
    windows = []
    for name, fields in groups.items():
        part = rows[rows["group"] == name].sort_values("interval_start")
        starts = part["interval_start"].to_numpy(dtype=int)
        ends = starts + part["interval_min"].to_numpy(dtype=int)
        staff = part["staff"].to_numpy(dtype=int)
        if not len(part) or staff.max() == 0:
            # nobody is needed all day; the hall format wants every category served somewhere
            staff = np.zeros(1, dtype=int) + 1
            starts = np.array([hall.close_minute - 1])
            ends = np.array([hall.close_minute])
        for layer in range(int(staff.max())):
            spans = _spans(starts, ends, staff > layer, hall.open_minute, hall.close_minute)
            windows.append({"id": f"{name}~{layer + 1}", "open": spans, **fields})
    data = _one_day_data(scenario, day)
    data["windows"] = windows
    for section in ("staff", "rotation", "reserve"):
        data.pop(section, None)
    return Scenario.model_validate(data)


def one_day(scenario: Scenario, day: int) -> Scenario:
    """Day ``day`` of ``scenario`` on its own: ``days = 1``, the day's weekday kept."""
    return Scenario.model_validate(_one_day_data(scenario, day))


def _one_day_data(scenario: Scenario, day: int) -> dict:
    """The data of day ``day`` on its own, a typical day of its weekday (no holiday)."""
    data = scenario.model_dump(by_alias=True, exclude_none=True)
    weekday = WEEKDAYS[(WEEKDAYS.index(scenario.hall.first_weekday) + day) % 7]
    data["hall"] = {**data["hall"], "days": 1, "first_weekday": weekday, "holidays": []}
    return data


def _spans(starts, ends, on, first: int, last: int) -> list[list[str]]:
    spans: list[list[int]] = []
    for a, b, flag in zip(starts, ends, on, strict=True):
        a, b = max(int(a), first), min(int(b), last)
        if not flag or b <= a:
            continue
        if spans and spans[-1][1] == a:
            spans[-1][1] = b
        else:
            spans.append([a, b])
    return [[clock(a), clock(b)] for a, b in spans]
