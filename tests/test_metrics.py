"""Window-load imbalance and peak-day metrics, against definitions and known loads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import hallsim as hs
from hallsim.metrics import coefficient_of_variation, gini

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def gini_by_pairs(x) -> float:
    x = np.asarray(x, dtype=float)
    return np.abs(x[:, None] - x[None, :]).sum() / (2 * x.size**2 * x.mean())


def test_gini_and_cv_follow_their_definitions():
    assert gini([0.7, 0.7, 0.7]) == 0.0
    assert gini([0, 0, 1]) == pytest.approx(2 / 3)  # one window does all the work: (n-1)/n
    rng = np.random.default_rng(3)
    for _ in range(20):
        x = rng.random(rng.integers(1, 40))
        assert gini(x) == pytest.approx(gini_by_pairs(x))
        assert gini(3 * x) == pytest.approx(gini(x))  # scale free
        assert coefficient_of_variation(x) == pytest.approx(np.std(x) / np.mean(x))
    assert np.isnan(gini([])) and np.isnan(coefficient_of_variation([0.0, 0.0]))


def with_days(path: Path, days: int) -> hs.Scenario:
    scenario = hs.load_scenario(path)
    return hs.Scenario.model_validate(
        {**scenario.model_dump(), "hall": {**scenario.hall.model_dump(), "days": days}}
    )


def test_dedicated_windows_are_as_unevenly_busy_as_their_loads_say():
    """hall-8 (a): each group's windows are busy rho = rate x mean / count of the time."""
    dedicated = with_days(SCENARIOS / "hall8-dedicated.toml", 40)
    stats = hs.simulate(dedicated, replications=3, seed=8).summary()
    rates, means, counts = [48, 36, 30, 24, 18, 12], [6, 8, 10, 5, 12, 15], [6, 6, 6, 3, 5, 4]
    loads = [r / 60 * m / c for r, m, c in zip(rates, means, counts, strict=True)]
    expected = np.repeat(loads, counts)  # one value per window
    assert abs(stats.loc["overall", "utilisation_gini"] - gini(expected)) < 0.005
    assert abs(stats.loc["overall", "utilisation_cv"] - coefficient_of_variation(expected)) < 0.01


def test_comprehensive_windows_remove_the_imbalance():
    """The Panjin claim, on the same tickets: pooled windows share the work evenly."""
    runs = {
        name: hs.simulate(
            with_days(SCENARIOS / f"hall8-{name}.toml", 10), replications=3, seed=2
        ).replication_stats
        for name in ("dedicated", "comprehensive")
    }
    gini_of = {
        name: stats.loc[stats["category"] == "overall", "utilisation_gini"].to_numpy()
        for name, stats in runs.items()
    }
    assert np.all(gini_of["comprehensive"] < gini_of["dedicated"])
    assert np.all(gini_of["comprehensive"] < 0.01)


def test_per_window_and_peak_day_figures_match_the_ticket_table():
    panjin = hs.load_scenario(SCENARIOS / "panjin.toml")
    run = hs.simulate(panjin, replications=2, seed=4)
    stats = run.replication_stats.set_index(["replication", "category"])
    windows = sum(w.count for w in panjin.windows)
    for r, tickets in run.tickets.groupby("replication"):
        served = tickets[tickets["outcome"] == "served"]
        assert stats.loc[(r, "overall"), "tickets_per_window_day"] == pytest.approx(
            len(served) / windows / panjin.hall.days
        )
        per_day = tickets.groupby("day").size()
        peak = per_day.idxmax()
        assert stats.loc[(r, "overall"), "peak_day_tickets"] == per_day.max()
        on_peak = served[served["day"] == peak]
        assert stats.loc[(r, "overall"), "peak_day_mean_wait"] == pytest.approx(
            (on_peak["start"] - on_peak["issued"]).mean()
        )
