"""Back office and pickup: an Erlang C oracle, Little's law, working hours, the pickup rule.

Deferred cases leave the window for a back office (a first-come-first-served queue with
working hours that carries over from day to day) and, with a pickup, come back to the pickup
windows (:mod:`hallsim.engines.backoffice`).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_within_ci

import hallsim as hs
from hallsim.analytic import mmc_mean_wait
from hallsim.compile import compile_scenario
from hallsim.engines.backoffice import pickup_arrivals


def deferring_hall(days: int = 2, **office) -> hs.Scenario:
    """A round-the-clock hall whose 40 windows never queue (so cases reach the back office
    as a Poisson stream, one a minute), every ticket a deferred case."""
    return hs.Scenario.model_validate(
        {
            "hall": {"open": "00:00", "close": "24:00", "days": days, "interval_min": 60},
            "categories": [
                {
                    "id": "A",
                    "arrivals": {"rate_per_hour": 60},
                    "service": {"dist": "exponential", "mean_min": 1},
                    "deferred": {"share": 1.0, "back_office": "approval", "pickup": False},
                }
            ],
            "windows": [{"id": "W", "count": 40, "serves": ["A"]}],
            "back_office": [
                {
                    "id": "approval",
                    "staff": 3,
                    "hours": [["00:00", "24:00"]],
                    "service": {"dist": "exponential", "mean_min": 2.4},
                    **office,
                }
            ],
        }
    )


def test_a_round_the_clock_back_office_is_an_mmc_queue():
    """Departures of a queue-free front (M/M/infinity) are Poisson, so the back office is
    M/M/3 at load 0.8: its mean wait after a day's warm-up is Erlang C's."""
    results = hs.simulate(deferring_hall(days=5), replications=12, seed=2026)
    tickets = results.tickets
    after = tickets[tickets["end"] >= 1440.0]
    waits = (after["office_start"] - after["end"]).groupby(after["replication"]).mean()
    assert (tickets["start"] == tickets["issued"]).mean() > 0.999  # the front never queues
    assert_within_ci(waits.to_numpy(), mmc_mean_wait(1.0, 2.4, 3), "back-office mean wait")


def test_back_office_work_in_progress_obeys_littles_law():
    """Time-average cases in the back office = arrival rate x mean time there (cases open at
    the end counted to the end), on every sample path."""
    scenario = deferring_hall(days=3, staff=2, hours=[["08:00", "12:00"], ["13:00", "17:00"]])
    results = hs.simulate(scenario, replications=3, seed=7)
    horizon = 3 * 1440.0
    for r, tickets in results.tickets.groupby("replication"):
        arrive = tickets["end"].to_numpy()
        leave = np.nan_to_num(tickets["office_end"].to_numpy(), nan=horizon)
        inside = np.minimum(leave, horizon) - np.minimum(arrive, horizon)
        wip = results.back_office.loc[results.back_office["replication"] == r, "office_wip"]
        assert wip.iloc[0] * horizon == pytest.approx(inside.sum(), rel=1e-9)
        assert results.back_office.loc[results.back_office["replication"] == r, "unfinished"].iloc[
            0
        ] == np.count_nonzero(np.isnan(tickets["office_end"]))


def test_the_back_office_starts_cases_only_in_working_hours_and_finishes_those_in_hand():
    hours = [["08:00", "12:00"], ["13:00", "17:00"]]
    results = hs.simulate(deferring_hall(days=2, hours=hours), replications=1, seed=3)
    tickets = results.tickets
    started = tickets.dropna(subset=["office_start"])
    minute = started["office_start"].to_numpy() % 1440.0
    assert (((minute >= 480) & (minute < 720)) | ((minute >= 780) & (minute < 1020))).all()
    assert (started["office_start"] >= started["end"]).all()
    # first come, first served; at most three staff at work at any start
    order = started.sort_values(["end", "ticket"])
    assert (np.diff(order["office_start"].to_numpy()) >= 0).all()
    begin, finish = started["office_start"].to_numpy(), started["office_end"].to_numpy()
    at_work = [np.count_nonzero((begin <= x) & (x < finish)) for x in begin]
    assert max(at_work) == 3
    # ending after a span's end happens (the case in hand is finished), starting never does
    assert ((started["office_end"] % 1440.0 > 720) & (minute < 720)).any()


def test_pickup_comes_the_same_day_when_it_can_else_the_next_day_within_pickup_hours():
    scenario = hs.Scenario.model_validate(
        {
            **deferring_hall(days=3).model_dump(by_alias=True),
            "categories": [
                {
                    "id": "A",
                    "arrivals": {"rate_per_hour": 60},
                    "service": {"dist": "exponential", "mean_min": 1},
                    "deferred": {"share": 1.0, "back_office": "approval"},
                }
            ],
            "pickup": {
                "windows": 1,
                "hours": [["09:00", "12:00"], ["14:00", "17:00"]],
                "service": {"dist": "exponential", "mean_min": 1},
            },
        }
    )
    hall = compile_scenario(scenario)
    ready = np.array([9 * 60 + 30, 8 * 60, 12 * 60 + 30, 17 * 60 + 1, 1440 + 9 * 60, np.nan])
    draw = np.array([0.0, 0.0, 0.0, 0.5, 0.0, 0.0])
    arrive = pickup_arrivals(hall, ready, draw)
    expected = [9 * 60 + 30, 9 * 60, 14 * 60, 1440 + 14 * 60, 1440 + 9 * 60, np.nan]
    np.testing.assert_array_equal(arrive, expected)
    # the last day's late results are collected after the run: no pickup
    assert np.isnan(pickup_arrivals(hall, np.array([2 * 1440 + 18 * 60.0]), np.array([0.3])))[0]
