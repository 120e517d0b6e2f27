"""The result tables against slow, obviously correct pandas references built from the
tickets: the per-interval table (counted by issue time; queue and busy windows as time
averages) and the summary's confidence intervals (Student's t at the stated level)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import category, exponential, make_scenario
from scipy import stats

import hallsim as hs

# an overloaded hall: queues and abandonment in every interval (its warning is expected)
pytestmark = pytest.mark.filterwarnings("ignore::hallsim.HallWarning")


@pytest.fixture(scope="module")
def results():
    scenario = make_scenario(
        [
            category("A", 40, exponential(6), patience=exponential(10)),
            category("B", 20, exponential(9), patience=exponential(20)),
        ],
        [{"id": "W", "count": 5, "serves": ["*"]}],
        open="08:00",
        close="12:00",
        days=3,
        interval_min=30,
    )
    return hs.simulate(scenario, replications=3, seed=4, progress=False)


def _overlap(start, end, a, b) -> float:
    """Minutes of [start, end) inside [a, b), summed over the spans."""
    return float(np.clip(np.minimum(end, b) - np.maximum(start, a), 0, None).sum())


def test_interval_table_against_the_tickets(results):
    tickets = results.tickets
    table = results.intervals.set_index(["replication", "day", "start_min", "category"])
    checked = 0
    for (rep, day, cat), mine in tickets.groupby(["replication", "day", "category"], observed=True):
        origin = day * 1440.0
        for a in np.arange(480, 720, 30):  # each half hour of the opening hours
            issued_here = mine[(mine["issued"] >= origin + a) & (mine["issued"] < origin + a + 30)]
            row = table.loc[(rep, day, float(a), cat)]
            served = issued_here[issued_here["outcome"] == "served"]
            assert row["arrivals"] == len(issued_here)
            assert row["served"] == len(served)
            assert row["abandoned"] == (issued_here["outcome"] == "abandoned").sum()
            if len(served):
                assert row["mean_wait"] == pytest.approx(
                    (served["start"] - served["issued"]).mean()
                )
            # time averages over the half hour: waiting from issue to call (or leaving),
            # served from start to end
            left = mine["called"].fillna(mine["end"]).to_numpy()
            waiting = _overlap(mine["issued"].to_numpy(), left, origin + a, origin + a + 30)
            assert row["queue_length"] == pytest.approx(waiting / 30, abs=1e-9)
            started = mine.dropna(subset=["start"])
            busy = _overlap(started["start"].to_numpy(), started["end"].to_numpy(), origin + a,
                            origin + a + 30)  # fmt: skip
            assert row["busy_windows"] == pytest.approx(busy / 30, abs=1e-9)
            checked += 1
    assert checked == 3 * 3 * 2 * 8


def test_summary_intervals_are_student_t_at_the_stated_level(results):
    for confidence in (0.95, 0.8):
        summary = results.summary(confidence=confidence)
        for cat, values in results.replication_stats.groupby("category", observed=True):
            for metric in ("mean_wait", "abandonment", "utilisation", "tickets"):
                sample = values[metric].to_numpy(dtype=float)
                low, high = stats.t.interval(
                    confidence, sample.size - 1, loc=sample.mean(), scale=stats.sem(sample)
                )
                assert summary.loc[cat, f"{metric}_lo"] == pytest.approx(low, rel=1e-9, abs=1e-12)
                assert summary.loc[cat, f"{metric}_hi"] == pytest.approx(high, rel=1e-9, abs=1e-12)
