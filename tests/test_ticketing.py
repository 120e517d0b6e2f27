"""Daily caps (限号) and balking: conservation, the cap's arithmetic and a birth-death oracle."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import assert_within_ci, category, exponential, make_scenario, per_day

import hallsim as hs
from hallsim import analytic as hs_analytic
from hallsim.compile import compile_scenario
from hallsim.engines.inputs import _with_bookings


def test_a_daily_cap_lets_in_the_first_tickets_of_each_day_and_refuses_the_rest():
    scenario = make_scenario(
        [category("A", 20, exponential(5.0), daily_cap=30), category("B", 10, exponential(5.0))],
        [{"id": "W", "count": 2, "serves": ["*"]}],
        open="08:00",
        close="12:00",
        days=5,
    )
    tickets = hs.simulate(scenario, replications=3, seed=1).tickets
    for (_, _, cid), day in tickets.groupby(["replication", "day", "category"], observed=True):
        refused = (day["outcome"] == "capped").to_numpy()
        if cid == "B":
            assert not refused.any()
            continue
        assert not refused[:30].any() and refused[30:].all()  # issue order within the day
        assert (day.loc[refused, "end"] == day.loc[refused, "issued"]).all()
        assert day.loc[refused, "start"].isna().all()
    assert (tickets["outcome"] == "capped").sum() > 0


def test_a_zero_cap_refuses_everyone():
    scenario = make_scenario(
        [category("A", 20, exponential(5.0), daily_cap=0)],
        [{"id": "W", "serves": ["A"]}],
        open="08:00",
        close="10:00",
    )
    run = hs.simulate(scenario, replications=2, seed=3)
    assert (run.tickets["outcome"] == "capped").all()
    assert run.summary().loc["A", "capped"] == 1.0


def test_balking_matches_the_birth_death_chain():
    """M/M/1 whose arrivals balk with p(q) at q waiting: a birth-death chain on N in system
    with birth rate lambda (1 - p(max(N - 1, 0))); by PASTA the balking share is
    sum_N pi_N p(max(N - 1, 0))."""
    rate, mean = 1.2, 1.0  # per minute: overloaded without balking
    points, probabilities = [0, 2, 6], [0.0, 0.3, 0.9]
    scenario = make_scenario(
        [
            category(
                "A",
                rate * 60,
                exponential(mean),
                balking={"queue": points, "probability": probabilities},
            )
        ],
        [{"id": "W", "serves": ["A"]}],
        days=20,
    )
    tickets = hs.simulate(scenario, replications=1, seed=5).tickets
    p = np.interp(np.maximum(np.arange(200) - 1, 0), points, probabilities)
    weights = np.concatenate([[1.0], np.cumprod(rate * mean * (1 - p[:-1]))])
    pi = weights / weights.sum()
    assert_within_ci(
        per_day(tickets, lambda d: (d["outcome"] == "balked").mean(), 120.0),
        float((pi * p).sum()),
        "balking share",
    )


@pytest.mark.parametrize(
    ("balking", "message"),
    [
        ({"queue": [0, 5], "probability": [0.1]}, "as many values"),
        ({"queue": [5, 5], "probability": [0.1, 0.2]}, "must increase"),
        ({"queue": [0], "probability": [1.5]}, "must be <= 1"),
        ({"queue": [-1], "probability": [0.5]}, "must be >= 0"),
    ],
)
def test_bad_balking_tables_are_located(balking, message):
    with pytest.raises(hs.ScenarioError, match=r"categories\[0\] \(id=\"A\"\)\.balking") as e:
        make_scenario(
            [category("A", 20, exponential(5.0), balking=balking)], [{"id": "W", "serves": ["A"]}]
        )
    assert message in str(e.value)


@pytest.mark.parametrize("then", ["drop", "requeue"])
def test_no_shows_conserve_tickets_and_count_the_windows_lost_time(then):
    no_show = {"probability": 0.3, "recall_min": 1.5, "recalls": 1, "then": then}
    scenario = make_scenario(
        [category("A", 25, exponential(4.0), no_show=no_show), category("B", 20, exponential(3.0))],
        [{"id": "W", "count": 3, "serves": ["*"]}],
        open="08:00",
        close="12:00",
        days=3,
    )
    run = hs.simulate(scenario, replications=2, seed=6)
    tickets, windows, intervals = run.tickets, run.windows, run.intervals
    assert set(tickets["outcome"]) <= {"served", "no_show", "in_system"}
    recalled = tickets["called"].notna() & (
        (tickets["outcome"] == "no_show") | (tickets["start"] > tickets["called"])
    )
    assert recalled.sum() > 0 and (tickets.loc[recalled, "category"] == "A").all()
    dropped = tickets["outcome"] == "no_show"
    assert (dropped.sum() > 0) == (then == "drop")
    np.testing.assert_allclose(
        tickets.loc[dropped, "end"] - tickets.loc[dropped, "called"],
        3.0,  # call + 1 recall
    )
    np.testing.assert_allclose(windows["lost_min"].sum(), 3.0 * recalled.sum())
    # waiting time: before the first call, and for a requeued ticket again after its recalls
    first = (tickets["called"].fillna(tickets["end"]) - tickets["issued"]).sum()
    again = (tickets["start"] - tickets["called"] - 3.0)[recalled & ~dropped].sum()
    length = np.diff(compile_scenario(scenario).slot_bounds())[intervals["interval"]]
    np.testing.assert_allclose((intervals["queue_length"] * length).sum(), first + again)
    share = (
        tickets[tickets["category"] == "A"]
        .groupby("replication")["outcome"]
        .apply(lambda outcome: (outcome == "no_show").mean())
    )
    with warnings.catch_warnings():  # the requeued holders' recalls run past closing time
        warnings.simplefilter("ignore", hs.HallWarning)
        summary = run.summary()
    assert summary.loc["A", "no_show"] == pytest.approx(share.mean())


# --------------------------------------------------------------------------- ticket classes


def waits(tickets):
    return tickets["start"] - tickets["issued"]


def test_a_green_channel_share_matches_cobham_on_several_windows(seed):
    """A 30 % priority share of one category is the two-class priority M/M/2 queue."""
    rate, share = 1.8, 0.3  # per minute on 2 windows: rho = 0.9
    scenario = make_scenario(
        [
            category(
                "A", rate * 60, exponential(1.0), priority_share={"share": share, "priority": 1}
            )
        ],
        [{"id": "W", "count": 2, "serves": ["A"]}],
        days=60,
    )
    tickets = hs.simulate(scenario, replications=1, seed=seed).tickets
    assert set(tickets["category"].cat.categories) == {"A", "A:priority"}
    expected = hs_analytic.cobham_waits_mmc([rate * share, rate * (1 - share)], 1.0, 2)
    for k, cid in enumerate(["A:priority", "A"]):
        assert_within_ci(
            per_day(tickets, lambda d, c=cid: waits(d[d["category"] == c]).mean(), 300.0),
            expected[k],
            f"{cid} mean wait",
        )


BOOKED = [2, 0, 3, 1]  # per hour-long slot, 08:00-12:00


def booking_hall(**appointments) -> hs.Scenario:
    return make_scenario(
        [
            category(
                "A",
                20,
                exponential(5.0),
                appointments={"slot_min": 60, "booked": BOOKED, "priority": 1, **appointments},
                arrivals={"rate_per_hour": 20, "weekday_factors": [1, 1, 1, 1, 1, 0.5, 0]},
            )
        ],
        [{"id": "W", "count": 2, "serves": ["A"]}],
        open="08:00",
        close="12:00",
        days=7,
    )


def test_every_booking_has_one_ticket_and_late_holders_lose_their_priority():
    scenario = booking_hall(early_min=10, late_min=20, grace_min=5, no_show=0.25)
    results = hs.simulate(scenario, replications=20, seed=4)
    tickets = results.tickets
    booked = tickets[tickets["category"] == "A:appointment"]
    # the bookings of each day: the profile, halved on Saturday (rounded), none on Sunday;
    # late holders get an ordinary ticket of A
    hall = compile_scenario(scenario)
    issued, classes, never = _with_bookings(
        hall, np.random.default_rng(0), np.empty(0), np.empty(0, dtype=np.int64)
    )
    expected = [np.rint(np.array(BOOKED) * f).sum() for f in (1, 1, 1, 1, 1, 0.5, 0)]
    np.testing.assert_array_equal(np.bincount((issued // 1440).astype(int), minlength=7), expected)
    late = ~never & (((issued % 1440.0) - 480.0 + 10.0) % 60.0 - 10.0 > 5.0)
    assert late.any() and (classes[late] == 0).all() and (classes[~late] == 1).all()
    # the booked holders who came on time arrive within [slot - early, slot + grace]
    came = booked[booked["outcome"] != "no_show"]
    into_slot = ((came["issued"] % 1440.0) - 480.0 + 10.0) % 60.0 - 10.0
    assert ((into_slot >= -10.0) & (into_slot <= 5.0)).all()
    # those who never came: a no_show ticket at the slot's start, never served
    absent = booked[booked["outcome"] == "no_show"]
    assert ((absent["issued"] % 60.0) == 0).all() and absent["start"].isna().all()
    assert (absent["end"] == absent["issued"]).all()
    # no-show share: 25 % of bookings (each booking one row: on time, late or absent)
    bookings_per_rep = sum(BOOKED) * 5 + np.rint(np.array(BOOKED) * 0.5).sum()
    share = absent.groupby("replication").size().reindex(range(20), fill_value=0)
    assert_within_ci(share.to_numpy() / bookings_per_rep, 0.25, "appointment no-show share")


def test_on_time_appointments_are_called_before_walk_ins():
    scenario = booking_hall(grace_min=60, late_min=30)
    tickets = hs.simulate(scenario, replications=10, seed=9).tickets
    served = tickets[tickets["outcome"] == "served"]
    wait = waits(served).groupby(served["category"], observed=True).mean()
    assert wait["A:appointment"] < wait["A"] / 2


def test_a_category_without_walk_ins_is_modelled(seed):
    """A rate of 0 (appointments only, or an item closed for now) once failed validation;
    now such a category issues no walk-in tickets, in both engines."""
    import hallsim as hs

    service = {"dist": "exponential", "mean_min": 5}
    data = {
        "hall": {"open": "08:00", "close": "12:00", "interval_min": 30},
        "categories": [
            {"id": "A", "arrivals": {"rate_per_hour": 20}, "service": service},
            {
                "id": "booked",
                "arrivals": {"rate_per_hour": 0},
                "service": service,
                "appointments": {"slot_min": 30, "booked": [2] * 8},
            },
            {"id": "closed", "arrivals": {"rates_per_hour": [0] * 8}, "service": service},
        ],
        "windows": [{"id": "W", "count": 3, "serves": ["*"]}],
    }
    scenario = hs.Scenario.model_validate(data)
    for engine in ("fast", "simpy"):
        results = hs.simulate(scenario, replications=2, seed=seed, engine=engine, progress=False)
        issued = results.tickets.groupby("category", observed=False).size()
        assert issued["booked"] == 0 and issued["closed"] == 0
        assert issued["booked:appointment"] == 2 * 16 and issued["A"] > 0
