"""Conservation and consistency invariants of the fast engine on a hall using every feature."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import category, exponential, make_scenario
from scipy import stats

import hallsim as hs
from hallsim import _kernels
from hallsim.compile import compile_scenario
from hallsim.engines.inputs import draw_inputs

PROFILE = [4, 10, 14, 12, 9, 6, 3, 2, 5, 9, 12, 11, 8, 5, 3, 2, 1, 1]  # per hour, 08:00-17:00


@pytest.fixture(scope="module")
def busy_hall() -> hs.Scenario:
    """Three categories, overlapping skills, priorities, patience, lunch spans, five days."""
    return hs.Scenario.model_validate(
        {
            "name": "busy hall",
            "hall": {"open": "08:00", "close": "17:00", "days": 5, "first_weekday": "thu"},
            "categories": [
                {
                    "id": "tax",
                    "department": "finance",
                    "arrivals": {
                        "rates_per_hour": PROFILE,
                        "weekday_factors": [1.3, 1, 1, 1, 1.2, 0.4, 0],
                    },
                    "service": {"dist": "lognormal", "mean_min": 9, "cv": 0.6},
                    "patience": {"dist": "exponential", "mean_min": 40},
                },
                {
                    "id": "fund",
                    "department": "finance",
                    "arrivals": {"rate_per_hour": 6},
                    "service": {"dist": "gamma", "mean_min": 12, "cv": 0.8},
                    "priority": 1,
                },
                {
                    "id": "permit",
                    "arrivals": {"rates_per_hour": [p / 2 for p in PROFILE]},
                    "service": {"dist": "uniform", "low_min": 5, "high_min": 25},
                    "patience": {"dist": "deterministic", "mean_min": 30},
                },
            ],
            "windows": [
                {
                    "id": "F",
                    "count": 2,
                    "serves": ["finance"],
                    "open": [["08:00", "12:00"], ["13:30", "17:00"]],
                },
                {"id": "P", "serves": ["permit"], "open": [["09:00", "16:00"]]},
                {"id": "Z", "count": 2, "serves": ["*"], "generalist_factor": {"permit": 1.3}},
            ],
        }
    )


@pytest.fixture(scope="module")
def run(busy_hall):
    return hs.simulate(busy_hall, replications=4, seed=7)


def test_every_ticket_once_with_one_outcome_and_consistent_times(busy_hall, run):
    hall = compile_scenario(busy_hall)
    np.testing.assert_array_equal(hall.post_window, np.arange(hall.n_windows))  # one post each
    seeds = np.random.SeedSequence(run.seed).spawn(run.replications)
    for r, tickets in run.tickets.groupby("replication"):
        inputs = draw_inputs(hall, np.random.default_rng(seeds[r]))
        assert len(tickets) == inputs.n_tickets
        np.testing.assert_array_equal(tickets["ticket"], np.arange(inputs.n_tickets))
        np.testing.assert_array_equal(tickets["issued"], inputs.issued)
        np.testing.assert_array_equal(tickets["category"].cat.codes, inputs.category)
        outcome = tickets["outcome"].to_numpy()
        assert set(outcome) <= {"served", "abandoned", "in_system"}
        served = outcome == "served"
        window = tickets["window"].cat.codes.to_numpy()
        group = hall.post_group[window[served]]
        cat = inputs.category[served]
        start = tickets["start"].to_numpy()
        assert np.all(hall.serves[group, cat]), "a window served a category it does not serve"
        np.testing.assert_array_equal(tickets["called"].to_numpy()[served], start[served])
        np.testing.assert_array_equal(
            tickets["end"].to_numpy()[served],
            start[served] + inputs.service[served] * hall.factor[group, cat],
        )
        assert np.all(start[served] >= inputs.issued[served])
        assert np.all(start[served] < inputs.issued[served] + inputs.patience[served])
        left = outcome == "abandoned"
        np.testing.assert_array_equal(
            tickets["end"].to_numpy()[left], inputs.issued[left] + inputs.patience[left]
        )
        assert tickets.loc[~served, ["called", "start"]].isna().all().all()
        assert (window[~served] == -1).all()


def test_a_window_serves_one_ticket_at_a_time(run):
    served = run.tickets[run.tickets["outcome"] == "served"]
    for _, at_window in served.groupby(["replication", "window"], observed=True):
        ordered = at_window.sort_values("start")
        assert np.all(ordered["start"].to_numpy()[1:] >= ordered["end"].to_numpy()[:-1])


def _open_at(scenario, group: int, minute_of_day: np.ndarray) -> np.ndarray:
    spans = scenario.spans(scenario.windows[group])
    inside = np.zeros(minute_of_day.shape, dtype=bool)
    for a, b in spans:
        inside |= (minute_of_day >= a) & (minute_of_day < b)
    if spans[-1][1] == scenario.hall.close_minute:  # overtime after closing
        inside |= minute_of_day >= scenario.hall.close_minute
    return inside


def test_no_service_starts_at_a_closed_window(busy_hall, run):
    hall = compile_scenario(busy_hall)
    served = run.tickets[run.tickets["outcome"] == "served"]
    group = hall.post_group[served["window"].cat.codes.to_numpy()]
    minute = served["start"].to_numpy() - served["day"].to_numpy() * 1440.0
    for g in range(hall.n_groups):
        mine = group == g
        assert mine.any()
        assert _open_at(busy_hall, g, minute[mine]).all(), busy_hall.windows[g].id


def test_no_window_idles_while_a_ticket_it_serves_waits(busy_hall, run):
    """At the issue time of every ticket that had to wait, each open window that serves it
    is busy."""
    hall = compile_scenario(busy_hall)
    tickets = run.tickets
    served = tickets[tickets["outcome"] == "served"]
    waited = tickets[(tickets["start"] > tickets["issued"]) | (tickets["outcome"] != "served")]
    checked = 0
    for (r, w), at_window in served.groupby(["replication", "window"], observed=True):
        g = hall.post_group[hall.window_names.index(w)]
        mine = waited[
            (waited["replication"] == r) & hall.serves[g, waited["category"].cat.codes.to_numpy()]
        ]
        t = mine["issued"].to_numpy()
        t = t[_open_at(busy_hall, g, t - mine["day"].to_numpy() * 1440.0)]
        ordered = at_window.sort_values("start")
        k = np.searchsorted(ordered["start"].to_numpy(), t, side="right") - 1
        busy = (k >= 0) & (t < ordered["end"].to_numpy()[np.maximum(k, 0)])
        assert busy.all(), f"window {w} idle while a ticket it serves waited"
        checked += t.size
    assert checked > 100


def test_interval_and_window_tables_add_up(run):
    tickets, intervals, windows = run.tickets, run.intervals, run.windows
    assert intervals["arrivals"].sum() == len(tickets)
    assert intervals["served"].sum() == (tickets["outcome"] == "served").sum()
    assert intervals["abandoned"].sum() == (tickets["outcome"] == "abandoned").sum()
    length = np.diff(compile_scenario(run.scenario).slot_bounds())[intervals["interval"]]
    served = tickets[tickets["outcome"] == "served"]
    np.testing.assert_allclose(
        (intervals["busy_windows"] * length).sum(), (served["end"] - served["start"]).sum()
    )
    left = tickets["called"].fillna(tickets["end"])
    assert not left.isna().any()
    np.testing.assert_allclose(
        (intervals["queue_length"] * length).sum(), (left - tickets["issued"]).sum()
    )
    busy = served.groupby(["replication", "window"], observed=True).apply(
        lambda s: (s["end"] - s["start"]).sum(), include_groups=False
    )
    merged = windows.set_index(["replication", "window"])["busy_min"]
    np.testing.assert_allclose(merged.loc[busy.index].to_numpy(), busy.to_numpy())
    assert (windows["utilisation"] <= 1 + 1e-12).all()
    assert windows["served"].sum() == len(served)


def test_arrival_counts_follow_the_configured_rates(busy_hall):
    days = 70
    scenario = hs.Scenario.model_validate(
        {**busy_hall.model_dump(), "hall": {**busy_hall.hall.model_dump(), "days": days}}
    )
    hall = compile_scenario(scenario)
    intervals = hs.simulate(scenario, replications=2, seed=3).intervals
    observed = intervals[intervals["interval"] < hall.n_open_slots].copy()
    observed["weekday"] = hall.day_weekday[observed["day"]]
    counts = observed.groupby(["weekday", "interval", "category"], observed=True)["arrivals"].sum()
    n_days = pd.Series(hall.day_weekday).value_counts() * 2  # replications
    length = np.diff(hall.slot_bounds())
    expected = np.array(
        [
            n_days[w]
            * hall.rate_per_min[k, hall.category_ids.index(c)]
            * hall.weekday_factor[w, hall.category_ids.index(c)]
            * length[k]
            for w, k, c in counts.index
        ]
    )
    assert (counts.to_numpy()[expected == 0] == 0).all()
    keep = expected > 0
    chi2 = ((counts.to_numpy()[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    p_value = stats.chi2.sf(chi2, keep.sum())
    assert p_value > 0.001, f"chi2 {chi2:.1f} on {keep.sum()} cells, p = {p_value:.2g}"


@pytest.mark.parametrize("n_categories", [3, 32, 33, 995])
def test_a_ticket_takes_the_category_its_uniform_falls_in(n_categories):
    """The kernel that turns a ticket's uniform into its category (by counting for few
    categories, from a guide table for many) against the definition: the number of the
    bucket's cumulative probabilities at or below the uniform; categories with no rate in a
    bucket never come, nor do those after the last one with a rate."""
    rng = np.random.default_rng(n_categories)
    rates = rng.random((6, n_categories)) * (rng.random((6, n_categories)) < 0.7)
    rates[:, 0] = 1.0  # every bucket has arrivals
    rates[2, 1:] = 0.0  # one category only
    cum_prob = np.cumsum(rates, axis=1) / rates.sum(axis=1, keepdims=True)
    last = n_categories - 1 - np.argmax((rates > 0)[:, ::-1], axis=1)
    cum_prob[np.arange(n_categories)[None, :] >= last[:, None]] = 2.0
    counts = rng.integers(0, 2000, 6)
    uniforms = rng.random(counts.sum())
    edges = cum_prob[0, : min(3, n_categories - 1)]
    uniforms[: edges.size] = edges  # exactly on a boundary: the next category
    # bucket 3: every category alike, its boundaries exactly on the guide table's steps j / m,
    # and uniforms on them and just below them (where x * m may round up to the step)
    steps = np.arange(1, n_categories) / n_categories
    rates[3] = 1.0
    cum_prob[3] = np.append(steps, 2.0)
    first = counts[:3].sum()
    at_steps = np.concatenate([steps, np.nextafter(steps, 0.0)])[: counts[3]]
    uniforms[first : first + at_steps.size] = at_steps
    chosen = np.empty(uniforms.size, dtype=np.int64)
    guide = _kernels.category_guide(cum_prob)
    _kernels.assign_categories(counts, cum_prob, guide, uniforms, chosen)
    bucket = np.repeat(np.arange(6), counts)
    expected = (uniforms[:, None] >= cum_prob[bucket, : n_categories - 1]).sum(axis=1)
    np.testing.assert_array_equal(chosen, expected)
    assert np.all(rates[bucket, chosen] > 0)


@pytest.mark.parametrize("load", [0.6, 0.8, 0.92])
def test_pooled_windows_never_wait_longer_than_split_windows(load):
    """Same inputs (common random numbers), identical service times: pooling wins."""
    service = {"dist": "deterministic", "mean_min": 4.0}
    rate = load * 2 / 4.0 * 60  # two windows per category
    categories = [category("A", rate, service), category("B", rate, service)]
    split = make_scenario(
        categories,
        [{"id": "A", "count": 2, "serves": ["A"]}, {"id": "B", "count": 2, "serves": ["B"]}],
        days=3,
    )
    pooled = make_scenario(categories, [{"id": "Z", "count": 4, "serves": ["*"]}], days=3)
    for seed in range(10):
        a = hs.simulate(split, replications=1, seed=seed).tickets
        b = hs.simulate(pooled, replications=1, seed=seed).tickets
        np.testing.assert_array_equal(a["issued"], b["issued"])
        assert (b["start"] - b["issued"]).mean() <= (a["start"] - a["issued"]).mean()


def test_overload_completes_and_warns():
    scenario = make_scenario(
        [category("A", 120, exponential(1.0))],
        [{"id": "W", "serves": ["A"]}],
        open="08:00",
        close="12:00",
    )
    run = hs.simulate(scenario, replications=2, seed=1)
    assert (run.tickets["outcome"] == "served").all()
    assert run.tickets["end"].max() > 12 * 60 + 60  # the queue is cleared long after closing
    with pytest.warns(hs.HallWarning) as caught:
        run.summary()
    messages = [str(w.message) for w in caught]
    assert any("overloaded" in m for m in messages), messages
    assert any("after closing time" in m for m in messages), messages


def test_unserved_tickets_stay_in_system_and_warn():
    scenario = make_scenario(
        [category("A", 30, exponential(1.0))],
        [{"id": "W", "serves": ["A"], "open": [["08:00", "10:00"]]}],
        open="08:00",
        close="12:00",
    )
    run = hs.simulate(scenario, replications=1, seed=1)
    late = run.tickets[run.tickets["issued"] >= 10 * 60]
    assert len(late) > 0 and (late["outcome"] == "in_system").all()
    assert late["end"].isna().all()
    with pytest.warns(hs.HallWarning, match="in_system"):
        run.summary()
