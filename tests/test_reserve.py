"""Reserve pools (应急人员): hand-built cases in both engines, and a busy hall's invariants.

The rule (:mod:`hallsim.engines`, step 7): after every round, a pool looks at the tickets
waiting in its categories. It stands down when at most ``close_queue`` wait and none longer
than ``close_wait_min``; otherwise, within its hours, with no activation under way and a
window and a member free, it calls a reserve when ``open_queue`` wait or the first in line
has waited ``open_wait_min``; the window opens ``delay_min`` later.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_rules import _run, clock

import hallsim as hs
from hallsim.compile import RESERVE_REASONS, compile_scenario

INF = math.inf


def reserve_hall(**pool) -> hs.Scenario:
    """One window W serving A and B, reserve windows R.1 and R.2 for a pool serving A."""
    return hs.Scenario.model_validate(
        {
            "hall": {"open": "08:00", "close": "17:00"},
            "categories": [
                {
                    "id": c,
                    "arrivals": {"rate_per_hour": 1},
                    "service": {"dist": "exponential", "mean_min": 1},
                }
                for c in "AB"
            ],
            "windows": [{"id": "W", "serves": ["*"]}, {"id": "R", "count": 2, "serves": ["*"]}],
            "reserve": [{"id": "peak", "windows": ["R"], "serves": ["A"], **pool}],
        }
    )


@pytest.fixture(params=["fast", "simpy"])
def run(request):
    return lambda scenario, tickets: _run(scenario, tickets, request.param)


def activations(out) -> list[tuple]:
    return [
        (RESERVE_REASONS[reason], requested, opened)
        for reason, requested, opened in zip(
            out.reserve_reason, out.reserve_requested, out.reserve_opened, strict=True
        )
    ]


def test_a_long_queue_calls_a_reserve_after_the_delay(run):
    scenario = reserve_hall(staff=2, open_queue=3, close_queue=0, delay_min=5)
    out, names, _ = run(
        scenario,
        [
            ("09:00", "A", 60, INF),  # W is busy for an hour
            ("09:01", "A", 10, INF),
            ("09:02", "B", 10, INF),  # not the pool's category: does not count
            ("09:03", "A", 10, INF),
            ("09:04", "A", 30, INF),  # the third A waiting: the trigger
        ],
    )
    assert activations(out) == [("queue", clock("09:04"), clock("09:09"))]
    # R.1 opens at 09:09 and calls the first A; two A still wait, below open_queue; the B
    # ticket waits for W
    assert names == ["W", "R.1", "W", "R.1", "R.1"]
    np.testing.assert_array_equal(
        out.start[1:], [clock("09:09"), clock("10:00"), clock("09:19"), clock("09:29")]
    )
    # the pool stands down once nobody waits: R.1 closes when its last ticket is done
    hall = compile_scenario(scenario)
    reserve_periods = [
        (a, b)
        for p, a, b in zip(out.period_post, out.period_start, out.period_end, strict=True)
        if hall.post_staff[p] >= 0
    ]
    assert reserve_periods == [(clock("09:09"), clock("09:59"))]


def test_a_long_wait_calls_a_reserve_the_moment_it_passes_the_threshold(run):
    scenario = reserve_hall(open_wait_min=10, close_wait_min=0, delay_min=2)
    out, names, _ = run(scenario, [("09:00", "A", 60, INF), ("09:01.5", "A", 5, INF)])
    assert activations(out) == [("wait", clock("09:11.5"), clock("09:13.5"))]
    assert out.start[1] == clock("09:13.5")
    assert names[1] == "R.1"


def test_no_reserve_outside_its_hours_and_one_at_its_start_if_needed(run):
    scenario = reserve_hall(open_queue=1, hours=["10:00", "11:00"])
    out, names, _ = run(scenario, [("09:00", "A", 90, INF), ("09:05", "A", 5, INF)])
    # the queue passed the threshold at 09:05, outside the pool's hours
    assert activations(out) == [("queue", clock("10:00"), clock("10:00"))]
    assert out.start[1] == clock("10:00")


def test_a_pool_stands_down_at_the_end_of_its_hours_after_the_ticket_in_hand(run):
    scenario = reserve_hall(open_queue=1, hours=["09:00", "10:00"])
    out, names, _ = run(
        scenario,
        [("09:00", "A", 120, INF), ("09:10", "A", 55, INF), ("09:20", "A", 5, INF)],
    )
    assert activations(out) == [("queue", clock("09:10"), clock("09:10"))]
    # R.1 serves 09:10-10:05, then closes: the 09:20 ticket waits for W at 11:00
    assert out.start[2] == clock("11:00") and names[2] == "W"


def test_the_reserve_table_lists_activations_and_staff_hours():
    scenario = reserve_hall(staff=2, open_queue=4, close_queue=1, delay_min=3)
    busy = scenario.model_copy(
        update={
            "categories": [
                c.model_copy(
                    update={"arrivals": c.arrivals.model_copy(update={"rate_per_hour": 20})}
                )
                for c in scenario.categories
            ]
        }
    )
    results = hs.simulate(busy, replications=3, seed=5)
    table = results.reserve
    assert len(table) > 0
    np.testing.assert_allclose(table["opened_min"] - table["requested_min"], 3.0)
    assert (table["closed_min"] >= table["opened_min"]).all()
    assert set(table["window"]) <= {"R.1", "R.2"}
    # the staff table's open time of the reserve members is the activations' length
    hours = (table["closed_min"] - table["opened_min"]).groupby(table["replication"]).sum()
    staff = results.staff.groupby("replication")["open_min"].sum()
    np.testing.assert_allclose(staff.loc[hours.index], hours)
