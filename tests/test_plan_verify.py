"""Verification by simulation and the ISA's measurements, against slow pandas references,
and the repair loop: a short plan is caught, repaired, and holds under a new seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import exponential, make_scenario
from scipy import stats

import hallsim as hs
import hallsim.plan as hp
from hallsim.errors import PlanError
from hallsim.plan.isa import found_on_arrival
from hallsim.plan.staffed import day_scenario


@pytest.fixture(scope="module")
def two_group_hall() -> hs.Scenario:
    """Two groups of windows (one dedicated, one for two categories), a morning peak, and
    impatient citizens."""
    return make_scenario(
        [
            {
                "id": "A",
                "arrivals": {"rates_per_hour": [20, 40, 60, 30]},
                "service": {"dist": "lognormal", "mean_min": 6.0, "cv": 0.7},
                "patience": exponential(30.0),
            },
            {"id": "B", "arrivals": {"rate_per_hour": 15}, "service": exponential(8.0)},
            {"id": "C", "arrivals": {"rate_per_hour": 10}, "service": exponential(4.0)},
        ],
        [
            {"id": "WA", "count": 4, "serves": ["A"]},
            {"id": "WBC", "count": 3, "serves": ["B", "C"], "generalist_factor": 1.2},
        ],
        open="08:00",
        close="10:00",
    )


def test_a_plan_opens_exactly_its_staff(two_group_hall):
    plan = hp.requirements(two_group_hall, hp.Target(wait_min=5, share=0.8), method="erlang_a")
    scenario = day_scenario(two_group_hall, plan)
    for row in plan.itertuples():
        start, end = row.interval_start, row.interval_start + row.interval_min
        covering = [
            w
            for w in scenario.windows
            if w.id.startswith(row.group + "~")
            and any(a <= start and end <= b for a, b in scenario.spans(w))
        ]
        assert len(covering) == row.staff
        assert all(w.serves == row.categories.split(",") for w in covering)
    # windows are open in the hall's simulation (a closing window finishes its ticket)
    results = hs.simulate(scenario, replications=1, seed=1, progress=False)
    opened = results.intervals.groupby(["interval", "category"], observed=True)["open_windows"]
    for row in plan.itertuples():
        k = (row.interval_start - 480) // 30
        assert opened.first()[(k, row.categories.split(",")[0])] >= row.staff
    # the group's factor travels with its windows
    for window in scenario.windows:
        for c in scenario.served_categories(window):
            assert scenario.factor(window, c) == (1.2 if window.id.startswith("WBC~") else 1.0)


def slow_found(tickets: pd.DataFrame, ids: list[str], start: int, length: int) -> np.ndarray:
    """For each arrival in [start, start + length): tickets of its group issued before it
    and still there (waiting or served) at its issue time, one ticket at a time."""
    found = []
    queued = tickets[~tickets["outcome"].isin(["balked", "capped"])]
    queued = queued[queued["category"].astype(str).str.split(":").str[0].isin(ids)]
    for _, rep in queued.groupby("replication"):
        for ticket in rep.itertuples():
            if not start <= ticket.issued % 1440 < start + length:
                continue
            end = rep["end"].fillna(np.inf)
            there = (rep["issued"] < ticket.issued) & (end > ticket.issued)
            found.append(int(there.sum()))
    return np.bincount(found) if found else np.zeros(0, dtype=int)


def test_isa_measures_what_arrivals_find(two_group_hall):
    results = hs.simulate(two_group_hall, replications=3, seed=4, progress=False)
    groups = {"WA": ["A"], "WBC": ["B", "C"]}
    starts = np.array([480, 510, 540, 570])
    found = found_on_arrival(results.tickets, groups, starts, np.full(4, 30))
    for group, ids in groups.items():
        for k, start in enumerate(starts):
            expected = slow_found(results.tickets, ids, int(start), 30)
            got = found.get((group, k), np.zeros(0, dtype=int))
            np.testing.assert_array_equal(np.trim_zeros(got, "b"), np.trim_zeros(expected, "b"))


def slow_share(tickets: pd.DataFrame, ids, start, wait_min, replications):
    """The interval's share called within ``wait_min``, and a 95 % CI by the ratio
    estimator's textbook variance (Cochran, Sampling Techniques, 6.9), ticket by ticket."""
    hits = np.zeros(replications)
    counts = np.zeros(replications)
    for ticket in tickets.itertuples():
        if ticket.outcome in ("balked", "capped") or str(ticket.category) not in ids:
            continue
        if not start <= ticket.issued % 1440 < start + 30:
            continue
        counts[ticket.replication] += 1
        called = ticket.called if not np.isnan(ticket.called) else np.inf
        hits[ticket.replication] += called - ticket.issued <= wait_min
    ratio = hits.sum() / counts.sum()
    xbar = counts.mean()
    variance = ((hits - ratio * counts) ** 2).sum() / (replications - 1) / replications / xbar**2
    half = stats.t.ppf(0.975, replications - 1) * np.sqrt(variance)
    return ratio, ratio - half, ratio + half


def test_judged_shares_match_a_ticket_by_ticket_reference(two_group_hall):
    target = hp.Target(wait_min=4, share=0.8)
    check = hp.verify(two_group_hall, target, replications=8, seed=2, repair=False)
    results = check.results[0]
    for row in check.intervals.itertuples():
        ids = {"WA": ["A"], "WBC": ["B", "C"]}[row.group]
        share, lo, hi = slow_share(results.tickets, ids, row.interval_start, 4, 8)
        assert row.wait_share == pytest.approx(share)
        assert row.wait_share_lo == pytest.approx(max(lo, 0.0))
        assert row.wait_share_hi == pytest.approx(min(hi, 1.0))
        assert row.met == (max(lo, 0.0) >= 0.8)


def test_a_short_plan_is_caught_and_repaired(two_group_hall):
    target = hp.Target(wait_min=5, share=0.8, abandon_share=0.1)
    plan = hp.requirements(two_group_hall, target, method="erlang_a")
    short = plan.assign(staff=np.maximum(plan["staff"] - 2, 1))
    check = hp.verify(short, target, scenario=two_group_hall, replications=60, seed=1)
    first = check.iterations.iloc[0]
    assert first["missed"] > 0, "the short plan must be caught"
    assert check.ok and check.iterations.iloc[-1]["missed"] == 0
    assert len(check.iterations) > 1
    repaired = check.plan
    assert (repaired["staff"] >= short["staff"]).all()
    assert repaired["staff"].sum() > short["staff"].sum()
    # a fresh simulation with a new seed: every interval meets the target
    fresh = hp.verify(
        repaired, target, scenario=two_group_hall, replications=200, seed=99, repair=False
    )
    assert (fresh.intervals["wait_share"] >= 0.8).all(), fresh.intervals
    assert (fresh.intervals["abandon_share"] <= 0.1).all(), fresh.intervals


def test_utilisation_is_busy_over_open_windows(two_group_hall):
    """Busy window-minutes from the tickets' service spans, over the open window-minutes the
    hall reports (windows that close finish their tickets, so they may exceed the plan)."""
    target = hp.Target(max_utilisation=0.9)
    plan = hp.requirements(two_group_hall, target, method="erlang_a")
    check = hp.verify(plan, target, scenario=two_group_hall, replications=5, seed=3, repair=False)
    results = check.results[0]
    served = results.tickets.dropna(subset=["start"])
    table = results.intervals
    for row in check.intervals.itertuples():
        ids = {"WA": ["A"], "WBC": ["B", "C"]}[row.group]
        start, end = row.interval_start, row.interval_start + 30
        mine = served[served["category"].astype(str).isin(ids)]
        busy = (np.minimum(mine["end"], end) - np.maximum(mine["start"], start)).clip(lower=0)
        busy = busy.groupby(mine["replication"]).sum().reindex(range(5), fill_value=0.0)
        k = (start - 480) // 30
        open_windows = table[(table["interval"] == k) & (table["category"] == ids[0])]
        open_minutes = open_windows.set_index("replication")["open_windows"] * 30
        assert row.utilisation == pytest.approx((busy / open_minutes).mean())


def test_verify_refuses_what_it_cannot_check(two_group_hall):
    plan = hp.requirements(two_group_hall, hp.Target(delay_probability=0.5), method="erlang_c")
    with pytest.raises(PlanError, match="pass scenario="):
        hp.verify(plan, hp.Target(delay_probability=0.5))
    with pytest.raises(PlanError, match="empty"):
        hp.verify(plan.iloc[:0], hp.Target(delay_probability=0.5), scenario=two_group_hall)
    with pytest.raises(PlanError, match="takes a requirement table"):
        hp.verify([1, 2], hp.Target(delay_probability=0.5), scenario=two_group_hall)
    with pytest.raises(PlanError, match="not groups of this hall"):
        hp.verify(plan.assign(group="Z"), hp.Target(delay_probability=0.5), scenario=two_group_hall)
    with pytest.raises(PlanError, match="confidence"):
        hp.verify(two_group_hall, hp.Target(delay_probability=0.5), confidence=1.5)


def test_a_short_schedule_is_repaired_by_adding_staff_only(two_group_hall):
    target = hp.Target(wait_min=5, share=0.8)
    plan = hp.requirements(two_group_hall, target, method="erlang_a")
    short = plan.assign(staff=np.maximum(plan["staff"] - 2, 1))
    shifts = [
        hp.ShiftType("morning", 120, "08:00", "08:00"),
        hp.ShiftType("hour", 60, "08:00", "09:00", every_min=30),
    ]
    schedule = hp.schedule(short, shifts)
    check = hp.verify(schedule, target, scenario=two_group_hall, replications=60, seed=1)
    assert check.iterations["missed"].iloc[0] > 0 and check.ok
    before = schedule.coverage.set_index(["group", "interval_start"])["staffed"]
    after = check.plan.coverage.set_index(["group", "interval_start"])["staffed"]
    assert (after >= before).all() and after.sum() > before.sum()
    assert check.plan.cost > schedule.cost
