"""The fast engine against exact queueing formulas (steady state of long 24-hour days).

Days are independent and start empty, so each test skips a warm-up at the start of every day
and takes the per-day statistics as i.i.d. samples: the oracle must lie in their 95 % CI.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_within_ci, category, exponential, make_scenario, per_day

import hallsim as hs
from hallsim import analytic


def waits(day):
    served = day[day["outcome"] == "served"]
    return (served["start"] - served["issued"]).to_numpy()


ENGINES = ["fast", "simpy"]  # the simpy engine alone passes the same checks


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("servers", "rate_per_min", "days"),
    [(3, 2.1, 30), (4, 3.6, 60)],  # rho = 0.70 and rho = 0.90
    ids=["rho0.70", "rho0.90"],
)
def test_mmc_matches_erlang_c(servers, rate_per_min, days, engine, seed):
    scenario = make_scenario(
        [category("A", rate_per_min * 60, exponential(1.0))],
        [{"id": "W", "count": servers, "serves": ["A"]}],
        days=days,
    )
    tickets = hs.simulate(scenario, replications=1, seed=seed, engine=engine).tickets
    warmup = 300.0
    assert_within_ci(
        per_day(tickets, lambda d: waits(d).mean(), warmup),
        analytic.mmc_mean_wait(rate_per_min, 1.0, servers),
        "mean wait",
    )
    assert_within_ci(
        per_day(tickets, lambda d: (waits(d) > 0).mean(), warmup),
        analytic.erlang_c(servers, rate_per_min),
        "P(wait > 0)",
    )
    for t in (0.5, 2.0):
        assert_within_ci(
            per_day(tickets, lambda d, t=t: (waits(d) > t).mean(), warmup),
            analytic.mmc_wait_tail(rate_per_min, 1.0, servers, t),
            f"P(wait > {t})",
        )


@pytest.mark.parametrize("engine", ENGINES)
def test_exponential_patience_matches_erlang_a(engine, seed):
    rate, servers, patience = 3.3, 3, 2.0  # offered load 1.1 per window: only patience saves it
    scenario = make_scenario(
        [category("A", rate * 60, exponential(1.0), patience=exponential(patience))],
        [{"id": "W", "count": servers, "serves": ["A"]}],
        days=30,
    )
    tickets = hs.simulate(scenario, replications=1, seed=seed, engine=engine).tickets
    oracle = analytic.erlang_a(rate, 1.0, servers, patience)
    assert_within_ci(
        per_day(tickets, lambda d: (d["outcome"] == "abandoned").mean(), 300.0),
        oracle["p_abandon"],
        "abandonment share",
    )
    assert_within_ci(
        per_day(tickets, lambda d: waits(d).mean(), 300.0),
        oracle["mean_wait_served"],
        "mean wait of served tickets",
    )


@pytest.mark.parametrize(
    "service",
    [
        {"dist": "deterministic", "mean_min": 1.0},
        {"dist": "lognormal", "mean_min": 1.0, "cv": 0.5},
        {"dist": "uniform", "low_min": 0.5, "high_min": 1.5},
    ],
    ids=lambda s: s["dist"],
)
def test_single_window_matches_pollaczek_khinchine(service, seed):
    rate = 0.75
    scenario = make_scenario(
        [category("A", rate * 60, service)], [{"id": "W", "serves": ["A"]}], days=40
    )
    tickets = hs.simulate(scenario, replications=1, seed=seed).tickets
    assert_within_ci(
        per_day(tickets, lambda d: waits(d).mean(), 240.0),
        analytic.pk_mean_wait(rate, 1.0, scenario.categories[0].service.second_moment),
        "mean wait",
    )


def test_priority_classes_match_cobham(seed):
    rates = np.array([0.15, 0.25, 0.35])  # per minute, highest priority first; rho = 0.75
    scenario = make_scenario(
        [category(f"P{k}", r * 60, exponential(1.0), priority=10 - k) for k, r in enumerate(rates)],
        [{"id": "W", "serves": ["*"]}],
        days=60,
    )
    tickets = hs.simulate(scenario, replications=1, seed=seed).tickets
    expected = analytic.cobham_waits(rates, [1.0] * 3, [2.0] * 3)
    for k in range(3):
        assert_within_ci(
            per_day(tickets, lambda d, k=k: waits(d[d["category"] == f"P{k}"]).mean(), 240.0),
            expected[k],
            f"class {k} mean wait",
        )
    assert expected[0] < expected[1] < expected[2]


def test_priority_classes_on_several_windows_match_cobham_mmc(seed):
    rates = np.array([0.6, 1.2])  # per minute on 2 windows: rho = 0.9
    scenario = make_scenario(
        [
            category("VIP", rates[0] * 60, exponential(1.0), priority=1),
            category("N", rates[1] * 60, exponential(1.0)),
        ],
        [{"id": "W", "count": 2, "serves": ["*"]}],
        days=60,
    )
    tickets = hs.simulate(scenario, replications=1, seed=seed).tickets
    expected = analytic.cobham_waits_mmc(rates, 1.0, 2)
    for k, cid in enumerate(["VIP", "N"]):
        assert_within_ci(
            per_day(tickets, lambda d, c=cid: waits(d[d["category"] == c]).mean(), 300.0),
            expected[k],
            f"{cid} mean wait",
        )
