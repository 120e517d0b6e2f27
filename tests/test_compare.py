"""hs.compare: halls side by side on common random numbers, paired intervals checked against
independent computations (Student's t of the replications' differences, Welch's interval from
scipy) and against Erlang C; `hallsim compare` on the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import category, exponential, make_scenario
from scipy import stats

import hallsim as hs
from hallsim.analytic import mmc_mean_wait
from hallsim.cli import main

ROOT = Path(__file__).resolve().parents[1]
BEFORE = ROOT / "scenarios" / "panjin-before.toml"
AFTER = ROOT / "scenarios" / "panjin.toml"

pytestmark = pytest.mark.filterwarnings("ignore::hallsim.HallWarning")


@pytest.fixture(scope="module")
def panjin():
    before, after = hs.load_scenario(BEFORE), hs.load_scenario(AFTER)
    return hs.compare({"before": before, "after": after}, replications=20, seed=3, progress=False)


def _stat(results: hs.Results, category: str, metric: str) -> np.ndarray:
    table = results.replication_stats
    return table.loc[table["category"] == category, metric].to_numpy(dtype=float)


def test_the_panjin_pair_runs_paired_and_the_interval_is_that_of_the_differences(panjin):
    assert panjin.common_random_numbers and panjin.note.startswith("paired")
    assert panjin.baseline == "before" and panjin.seed == 3
    # the same citizens in both halls: the same tickets in every replication
    for name in ("business", "overall"):
        before = _stat(panjin.results["before"], name, "tickets")
        assert np.array_equal(before, _stat(panjin.results["after"], name, "tickets"))
    for name in ("business", "tax", "overall"):
        for metric in ("mean_wait", "utilisation", "service_level"):
            differences = _stat(panjin.results["after"], name, metric) - _stat(
                panjin.results["before"], name, metric
            )
            low, high = stats.t.interval(
                0.95, differences.size - 1, differences.mean(), stats.sem(differences)
            )
            row = panjin.table.query(
                "hall == 'after' and category == @name and metric == @metric"
            ).iloc[0]
            assert row["difference"] == pytest.approx(differences.mean(), rel=1e-12)
            assert (row["difference_lo"], row["difference_hi"]) == pytest.approx((low, high))


def _widths(comparison: hs.Comparison, hall: str, independent: hs.Results, metric: str):
    """Widths of the paired interval of ``hall`` - baseline and of Welch's interval from an
    independent run of ``hall`` (overall)."""
    base = _stat(comparison.results[comparison.baseline], "overall", metric)
    other = _stat(independent, "overall", metric)
    welch = stats.ttest_ind(other, base, equal_var=False).confidence_interval(0.95)
    row = comparison.table.query("hall == @hall and category == 'overall' and metric == @metric")
    return float(
        row["difference_hi"].iloc[0] - row["difference_lo"].iloc[0]
    ), welch.high - welch.low


@pytest.mark.parametrize("metric", ["mean_wait", "service_level", "utilisation"])
def test_common_random_numbers_narrow_the_interval_of_the_panjin_pair(panjin, metric):
    """Department windows against comprehensive ones queue differently (one queue at the
    business windows before, the lunch relay after), so their waits are only weakly
    correlated: pairing narrows the interval, by 1.2x to 2x on this pair."""
    independent = hs.simulate(
        hs.load_scenario(AFTER), replications=20, seed=4, keep_tickets=False, progress=False
    )
    paired, welch = _widths(panjin, "after", independent, metric)
    assert paired < welch


def test_common_random_numbers_narrow_the_interval_of_close_layouts_threefold():
    """8 or 9 comprehensive windows in the Panjin hall: the utilisation's interval is at least
    3x narrower paired than independent, the mean wait's at least 2x."""
    eight = hs.load_scenario(AFTER)
    data = eight.model_dump(by_alias=True, exclude_none=True)
    data["windows"][1]["count"] += 1  # one more window open all day
    nine = hs.Scenario.model_validate(data)
    comparison = hs.compare({"8": eight, "9": nine}, replications=20, seed=3, progress=False)
    independent = hs.simulate(nine, replications=20, seed=4, keep_tickets=False, progress=False)
    paired, welch = _widths(comparison, "9", independent, "utilisation")
    assert 3 * paired <= welch
    paired, welch = _widths(comparison, "9", independent, "mean_wait")
    assert 2 * paired <= welch


def test_the_report_argument_comes_out(panjin):
    """Fewer, comprehensive windows: less waiting where the queues were, the imbalance gone,
    more tickets per window (the report's argument, on the assumed demand)."""
    wait = panjin.difference("mean_wait")
    assert wait.loc["business", "after - before_hi"] < 0
    assert wait.loc["overall", "after - before_hi"] < 0
    gini = panjin.difference("utilisation_gini")
    assert gini.loc["overall", "after"] < gini.loc["overall", "before"] / 5
    per_window = panjin.difference("tickets_per_window_day")
    assert per_window.loc["overall", "after - before_lo"] > 0


def test_the_difference_agrees_with_erlang_c():
    """Two M/M/c halls that differ only in their windows (3 or 4): over long days the paired
    difference of mean waits holds the exact difference of the stationary Erlang C waits."""
    demand = [category("A", 150, exponential(1.0))]
    halls = {
        f"c={c}": make_scenario(demand, [{"id": "W", "count": c, "serves": ["*"]}], days=5)
        for c in (3, 4)
    }
    comparison = hs.compare(halls, replications=30, seed=11, progress=False)
    assert comparison.common_random_numbers
    exact = mmc_mean_wait(150 / 60, 1.0, 4) - mmc_mean_wait(150 / 60, 1.0, 3)
    row = comparison.table.query("hall == 'c=4' and category == 'A' and metric == 'mean_wait'")
    assert row["difference_lo"].iloc[0] <= exact <= row["difference_hi"].iloc[0]


def test_halls_with_other_demand_run_independently_with_welch_intervals():
    a = make_scenario(
        [category("A", 30, exponential(5))], [{"id": "W", "count": 4, "serves": ["*"]}]
    )
    b = make_scenario(
        [category("A", 30, exponential(5)), category("B", 10, exponential(3))],
        [{"id": "W", "count": 4, "serves": ["*"]}],
    )
    comparison = hs.compare({"a": a, "b": b}, replications=8, seed=2, progress=False)
    assert not comparison.common_random_numbers
    assert "the categories differ" in comparison.note and "Welch" in comparison.note
    first, second = (_stat(comparison.results[k], "A", "mean_wait") for k in ("a", "b"))
    welch = stats.ttest_ind(second, first, equal_var=False).confidence_interval(0.95)
    row = comparison.table.query("hall == 'b' and category == 'A' and metric == 'mean_wait'")
    assert (row["difference_lo"].iloc[0], row["difference_hi"].iloc[0]) == pytest.approx(
        (welch.low, welch.high)
    )
    # a category only one hall has: its means, no difference
    assert comparison.difference("mean_wait").loc["B"].isna()["b - a"]


def test_halls_open_on_other_days_run_independently():
    """Another calendar is other demand: no common random numbers claimed."""
    data = hs.load_scenario(AFTER).model_dump(by_alias=True, exclude_none=True)
    data["hall"]["days"] = 7
    week = hs.Scenario.model_validate(data)
    data["hall"]["closed_weekdays"] = ["sun"]
    six_days = hs.Scenario.model_validate(data)
    comparison = hs.compare({"7": week, "6": six_days}, replications=2, seed=1, progress=False)
    assert not comparison.common_random_numbers
    assert "hall.closed_weekdays differs" in comparison.note


def test_bad_arguments_are_refused():
    a = hs.load_scenario(AFTER)
    with pytest.raises(ValueError, match="at least two"):
        hs.compare({"a": a}, replications=2, seed=1, progress=False)
    with pytest.raises(TypeError, match=r"scenarios\['b'\] must be a hallsim.Scenario"):
        hs.compare({"a": a, "b": "panjin.toml"}, replications=2, seed=1, progress=False)
    with pytest.raises(ValueError, match="confidence"):
        hs.compare({"a": a, "b": a}, replications=2, seed=1, confidence=95, progress=False)


def test_the_command_line_prints_the_comparison(capsys, tmp_path):
    assert main(["compare", str(BEFORE), str(AFTER), "--replications", "5", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 halls, 5 replications each, seed 1")
    assert "paired: the halls share their demand" in out
    assert "panjin - panjin-before [95 % CI]" in out and "utilisation Gini" in out
    assert main(["compare", str(BEFORE)]) == 2
    missing = tmp_path / "missing.toml"
    assert main(["compare", str(BEFORE), str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err
