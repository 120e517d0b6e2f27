"""Tidal plans (潮汐): front desk and back office staffed together, interval by interval.

Deferred cases (承诺件: a category's ``deferred`` share) leave the window for a back office.
Window work must meet the target in every interval; back-office work may wait, but each
day's work must be done by the end of the day (or ``deadline_days`` later). Staff whose
skills include ``"back_office"`` may work either side and move between them by the
interval, so the back office takes the quiet hours of the windows.

:func:`tidal` is the shift model of :mod:`hallsim.plan.schedule` with one more group, the
back office, that has no requirement of its own but work to finish:

Work
    ``work[d, t]``: staff-intervals of back-office work arriving in schedule interval ``t``
    of day ``d``: expected deferred cases issued in ``t`` (arrival rate x ``deferred.share``)
    x the mean service time of their back office, over the interval's length. A case is taken
    to reach the back office in the interval its ticket was issued.
Variables
    As in :func:`~hallsim.plan.schedule`, with ``assigned[d, e, back_office, t]`` for staff
    types with the skill, and ``done[d, t]`` (>= 0): work done in ``t``.
Constraints
    ``office``: ``done[d, t] <=`` the people in the back office; ``arrived``: work done so far
    ``<=`` work arrived so far (nothing is done before it comes); ``deadline``: by the end of
    day ``d + deadline_days``, all of day ``d``'s work is done. The windows limit counts the
    people at the windows only.

The back offices of the scenario are pooled into one for the plan. ``Schedule.back_office``
reports, per interval, the work arriving and done, the people there and the backlog;
``Schedule.to_scenario`` gives the windows' side (back-office time is time away from the
windows, written as breaks), keeping the scenario's own back-office sections.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import PlanError
from ..scenario import Scenario
from .demand import category_demand
from .requirements import requirements
from .schedule import Schedule, _solve_plan
from .shifts import BACK_OFFICE, ShiftType, StaffType
from .target import Target

__all__ = ["back_office_work", "tidal"]


def back_office_work(scenario: Scenario, *, interval_min: int = 15) -> pd.DataFrame:
    """Expected back-office work per day and interval of ``scenario``: ``day,
    interval_start, cases, work_min`` (deferred cases issued in the interval, and the
    minutes of back-office work they bring)."""
    offices = {office.id: office.service.mean for office in scenario.back_office}
    per_category = category_demand(scenario, interval_min=interval_min)
    rows = []
    for category in scenario.categories:
        deferred = category.deferred
        if deferred is None or deferred.share == 0:
            continue
        part = per_category[per_category["category"] == category.id]
        cases = part["arrivals_per_hour"] * part["interval_min"] / 60.0 * deferred.share
        rows.append(
            pd.DataFrame(
                {
                    "day": part["day"],
                    "interval_start": part["interval_start"],
                    "cases": cases,
                    "work_min": cases * offices[deferred.back_office],
                }
            )
        )
    if not rows:
        return pd.DataFrame(columns=["day", "interval_start", "cases", "work_min"])
    table = pd.concat(rows).groupby(["day", "interval_start"], as_index=False).sum()
    return table.sort_values(["day", "interval_start"]).reset_index(drop=True)


def tidal(
    scenario: Scenario,
    target: Target | Sequence[Target],
    shift_types: Sequence[ShiftType],
    staff_types: Sequence[StaffType] | None = None,
    *,
    method: str | None = None,
    deadline_days: int = 0,
    windows: int | None = None,
    interval_min: int = 15,
    shortfall_cost: float | None = None,
    time_limit_s: float = 60,
    solver=None,
    mip_gap: float = 0.01,
    replications: int = 100,
    seed: int | None = 0,
) -> Schedule:
    """Shifts for the windows and the back office together, at least cost.

    Parameters
    ----------
    scenario : Scenario
        The hall: its categories' ``deferred`` shares and back offices give the back-office
        work; its windows and arrivals the front desk's requirements.
    target : Target or list of Target
        What the windows must achieve in every interval.
    shift_types : sequence of ShiftType
        The shifts that may be worked.
    staff_types : sequence of StaffType, optional
        Kinds of staff; those whose skills include ``"back_office"`` may work there. Default:
        one type ``"staff"`` with every skill, back office included.
    method : str, optional
        The requirement method for the windows (:func:`hallsim.plan.requirements`).
    deadline_days : int, default 0
        Days a case may wait in the back office beyond the day it came (0: the same day).
    windows, interval_min, shortfall_cost, time_limit_s, solver
        As in :func:`hallsim.plan.schedule`.
    mip_gap : float, default 0.01
        Stop once the plan is proved within 1 % of the least cost: the back office's
        backlog makes the program much harder to close than a schedule of the windows
        (minutes rather than seconds for the last fraction of a percent).
    replications, seed
        For the ISA, when it gives the requirements.

    Returns
    -------
    Schedule
        With ``back_office``: per day and interval the work arriving and done, the people in
        the back office and the backlog.
    """
    if (
        isinstance(deadline_days, bool)
        or not isinstance(deadline_days, int | np.integer)
        or deadline_days < 0
    ):
        raise PlanError(f"deadline_days must be a whole number >= 0 (got {deadline_days!r})")
    if not isinstance(scenario, Scenario):
        raise PlanError(f"tidal plans a hallsim.Scenario (got {type(scenario).__name__})")
    work = back_office_work(scenario, interval_min=interval_min)
    if work.empty or not (work["work_min"] > 0).any():
        raise PlanError(
            "no category sends cases to a back office (categories[].deferred): there is no "
            "back-office work to plan; use hp.schedule for the windows alone"
        )
    if staff_types is None:
        staff_types = [StaffType("staff", ("*", BACK_OFFICE))]
    required = requirements(scenario, target, method=method, replications=replications, seed=seed)
    return _solve_plan(
        required,
        shift_types=shift_types,
        staff_types=staff_types,
        windows=windows,
        interval_min=interval_min,
        open=None,
        shortfall_cost=shortfall_cost,
        time_limit_s=time_limit_s,
        solver=solver,
        back_office=work,
        deadline_days=int(deadline_days),
        mip_gap=mip_gap,
    )
