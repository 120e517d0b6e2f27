"""Tidal plans: the back office's work is done by its deadline, the windows keep their
requirement, and the plan's scenario puts people at the windows exactly when it says."""

from __future__ import annotations

import numpy as np
import pytest
from test_plan_schedule import open_windows

import hallsim as hs
import hallsim.plan as hp
from hallsim.errors import PlanError
from hallsim.plan.tidal import back_office_work


def deferred_hall(days: int = 1) -> hs.Scenario:
    """Two categories, one sending half its cases to a back office (20 minutes each)."""
    return hs.Scenario.model_validate(
        {
            "hall": {"open": "08:00", "close": "12:00", "interval_min": 30, "days": days},
            "categories": [
                {
                    "id": "licence",
                    "arrivals": {"rates_per_hour": [6, 18, 24, 24, 12, 12, 6, 6]},
                    "service": {"dist": "exponential", "mean_min": 8.0},
                    "deferred": {"share": 0.5, "back_office": "approval", "pickup": False},
                },
                {
                    "id": "enquiry",
                    "arrivals": {"rate_per_hour": 12},
                    "service": {"dist": "exponential", "mean_min": 4.0},
                },
            ],
            "windows": [{"id": "W", "count": 8, "serves": ["*"]}],
            "back_office": [
                {"id": "approval", "staff": 2, "service": {"dist": "exponential", "mean_min": 20.0}}
            ],
        }
    )


SHIFTS = [
    hp.ShiftType("morning", 240, "08:00", "08:00", breaks=[hp.Break(15, after_min=(90, 150))]),
    hp.ShiftType("short", 120, "08:00", "10:00", every_min=30),
]
TARGET = hp.Target(wait_min=10, share=0.8)


def test_back_office_work_is_deferred_cases_times_their_service():
    work = back_office_work(deferred_hall(), interval_min=15)
    rates = np.repeat([6, 18, 24, 24, 12, 12, 6, 6], 2)  # per hour, on the 15-minute grid
    np.testing.assert_allclose(work["cases"], rates * 0.25 * 0.5)
    np.testing.assert_allclose(work["work_min"], rates * 0.25 * 0.5 * 20.0)
    assert work["interval_start"].tolist() == list(range(480, 720, 15))


def check_plan(plan, work_minutes: np.ndarray, deadline_days: int = 0) -> None:
    """Recompute the back office's books and the windows' cover from the plan's tables."""
    office = plan.back_office.sort_values(["day", "interval_start"])
    arriving = office["work_arriving"].to_numpy()
    np.testing.assert_allclose(arriving, work_minutes / plan.interval_min)
    done = office["work_done"].to_numpy()
    assert (done <= office["staff"].to_numpy() + 1e-6).all()
    assert (np.cumsum(done) <= np.cumsum(arriving) + 1e-6).all()
    days = office["day"].to_numpy()
    for day in np.unique(days):
        by = min(day + deadline_days, days.max())
        assert done[days <= by].sum() >= arriving[days <= day].sum() - 1e-6
    cover = plan.coverage
    assert (cover["staffed"] >= cover["required"]).all()


def test_a_tidal_plan_finishes_the_back_office_and_covers_the_windows():
    scenario = deferred_hall()
    types = [hp.StaffType("clerk", ["*"]), hp.StaffType("both", ["*", "back_office"], 1.1)]
    plan = hp.tidal(scenario, TARGET, SHIFTS, staff_types=types, method="erlang_c")
    work = back_office_work(scenario, interval_min=15)
    check_plan(plan, work["work_min"].to_numpy())
    assert plan.optimal
    # only staff with the skill work in the back office
    office_people = plan.assignment[plan.assignment["group"] == "back_office"]
    assert set(office_people["staff_type"]) == {"both"}
    # the window side costs what a schedule of the windows alone costs, and the back office
    # at least its work (in staff-hours) on top
    front = hp.schedule(
        hp.requirements(scenario, TARGET, method="erlang_c"), SHIFTS, staff_types=types[:1]
    )
    assert plan.cost >= front.cost + work["work_min"].sum() / 60.0 - 1e-6


def test_a_later_deadline_is_never_dearer():
    scenario = deferred_hall(days=2)
    work = back_office_work(scenario, interval_min=15)
    costs = []
    for deadline in (0, 1):
        plan = hp.tidal(scenario, TARGET, SHIFTS, method="erlang_c", deadline_days=deadline)
        check_plan(plan, work["work_min"].to_numpy(), deadline)
        costs.append(plan.cost)
    assert costs[1] <= costs[0] + 1e-9


def test_the_windows_limit_counts_the_windows_only():
    scenario = deferred_hall()
    required = hp.requirements(scenario, TARGET, method="erlang_c")
    peak = int(required["staff"].max())
    plan = hp.tidal(scenario, TARGET, SHIFTS, method="erlang_c", windows=peak)
    front = plan.coverage.groupby("interval_start")["staffed"].sum()
    assert front.max() <= peak
    assert (plan.coverage["working"] > peak).any(), "the back office adds people beyond it"


def test_the_plans_scenario_staffs_the_windows_as_planned():
    scenario = deferred_hall()
    types = [hp.StaffType("clerk", ["*"]), hp.StaffType("both", ["*", "back_office"], 1.1)]
    plan = hp.tidal(scenario, TARGET, SHIFTS, staff_types=types, method="erlang_c")
    built = plan.to_scenario(scenario)
    assert [w.id for w in built.windows] == ["W"]
    for row in plan.coverage.itertuples(index=False):
        assert open_windows(built, row.group, row.interval_start, 15) == row.staffed
    hs.simulate(built, replications=2, seed=1, progress=False)


def test_a_tidal_plan_is_verified_and_repaired():
    scenario = deferred_hall()
    plan = hp.tidal(scenario, TARGET, SHIFTS, method="erlang_c")
    check = hp.verify(plan, TARGET, scenario=scenario, replications=60, seed=5)
    assert check.ok
    assert check.plan.back_office is not None  # repairs keep the back office


def test_tidal_refuses_what_it_cannot_plan():
    scenario = deferred_hall()
    no_office = hs.Scenario.model_validate(
        {
            **scenario.model_dump(by_alias=True, exclude_none=True),
            "categories": [
                {**c, "deferred": None} for c in scenario.model_dump(by_alias=True)["categories"]
            ],
            "back_office": [],
        }
    )
    with pytest.raises(PlanError, match="no category sends cases to a back office"):
        hp.tidal(no_office, TARGET, SHIFTS, method="erlang_c")
    with pytest.raises(PlanError, match="no staff type has the skill 'back_office'"):
        hp.tidal(
            scenario, TARGET, SHIFTS, staff_types=[hp.StaffType("clerk", ["*"])], method="erlang_c"
        )
    with pytest.raises(PlanError, match="deadline_days"):
        hp.tidal(scenario, TARGET, SHIFTS, deadline_days=-1)
