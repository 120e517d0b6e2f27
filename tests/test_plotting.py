"""The planners' plots (hallsim.plotting): each returns its axes, draws the numbers of the
table it plots (recomputed here with pandas), takes a given axes, and needs no display."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: every figure is drawn off screen

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402

import hallsim as hs  # noqa: E402
from hallsim import plotting  # noqa: E402

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="module")
def operations() -> hs.Results:
    """Panjin with staff, reserve windows and back offices: every table has rows."""
    scenario = hs.load_scenario(SCENARIOS / "panjin-operations.toml")
    return hs.simulate(scenario, replications=3, seed=7, progress=False)


@pytest.fixture(scope="module")
def comparison() -> hs.Comparison:
    halls = {
        "before": hs.load_scenario(SCENARIOS / "panjin-before.toml"),
        "after": hs.load_scenario(SCENARIOS / "panjin.toml"),
    }
    return hs.compare(halls, replications=3, seed=3, progress=False)


@pytest.fixture
def ax():
    figure, ax = plt.subplots()
    yield ax
    plt.close(figure)


def _lines(ax) -> dict:
    return {line.get_label(): line for line in ax.get_lines()}


def _categories_with_arrivals(results) -> list[str]:
    arrivals = results.intervals.groupby("category", observed=True)["arrivals"].sum()
    return [str(c) for c in arrivals.index if arrivals[c] > 0]


def test_queue_length_is_the_mean_of_replications_of_the_mean_over_days(operations, ax):
    assert plotting.plot_queue_length(operations, ax=ax) is ax
    lines = _lines(ax)
    expected_categories = _categories_with_arrivals(operations)
    assert [c for c in lines if not c.startswith("_")] == expected_categories
    table = operations.intervals
    for category in expected_categories:
        rows = table[table["category"] == category]
        expected = (
            rows.groupby(["replication", "start_min"])["queue_length"]
            .mean()
            .groupby("start_min")
            .mean()
        )
        line = lines[category]
        hours = np.asarray(line.get_xdata())
        assert np.allclose(hours[:-1], expected.index / 60.0)
        assert hours[-1] == pytest.approx(expected.index[-1] / 60.0 + 0.5)  # the last step
        assert np.allclose(np.asarray(line.get_ydata())[:-1], expected.to_numpy())
        assert line.get_drawstyle() == "steps-post"
    assert len(ax.collections) == len(expected_categories)  # a band each
    assert "3 replications x 5 days" in ax.get_title()


def test_bands_are_student_t_intervals_across_replications(operations):
    band = plotting.over_the_day(operations, "queue_length").xs("business", level="category")
    table = operations.intervals
    rows = table[table["category"] == "business"]
    per_replication = rows.groupby(["start_min", "replication"])["queue_length"].mean()
    for start, values in per_replication.groupby(level="start_min"):
        values = values.to_numpy()
        half = stats.t.ppf(0.975, values.size - 1) * stats.sem(values)
        if values.std() > 0:
            assert band.loc[start, "lo"] == pytest.approx(values.mean() - half)
            assert band.loc[start, "hi"] == pytest.approx(values.mean() + half)


def test_wait_over_the_day_weights_days_by_tickets_served_and_shows_the_sla(operations, ax):
    assert plotting.plot_wait(operations, ax=ax, categories=["business", "tax"]) is ax
    lines = _lines(ax)
    table = operations.intervals
    for category in ("business", "tax"):
        rows = table[table["category"] == category].assign(
            total=lambda t: (t["mean_wait"] * t["served"]).fillna(0.0)
        )
        sums = rows.groupby(["replication", "start_min"])[["total", "served"]].sum()
        per_replication = sums["total"] / sums["served"].replace(0, np.nan)
        expected = per_replication.groupby("start_min").mean()
        drawn = np.asarray(lines[category].get_ydata())[:-1]
        assert np.allclose(drawn, expected.to_numpy(), equal_nan=True)
    sla = lines["SLA 15 min"]
    assert np.allclose(sla.get_ydata(), 15.0)


def test_overall_adds_the_queues_of_all_categories(operations, ax):
    plotting.plot_queue_length(operations, ax=ax, overall=True, day=1)
    (line,) = [line for line in ax.get_lines() if line.get_label() == "all categories"]
    table = operations.intervals
    table = table[table["day"] == 1]
    expected = (
        table.groupby(["replication", "start_min"])["queue_length"]
        .sum()
        .groupby("start_min")
        .mean()
    )
    assert np.allclose(np.asarray(line.get_ydata())[:-1], expected.to_numpy())
    assert ax.get_title().startswith("Queue length (day 1, mean of 3 replications;")


def test_wait_distribution_is_the_ecdf_of_served_waits(operations, ax):
    assert plotting.plot_wait_distribution(operations, ax=ax) is ax
    tickets = operations.tickets
    served = tickets[tickets["outcome"] == "served"]
    waits = (served["start"] - served["issued"]).groupby(served["category"], observed=True)
    lines = [line for line in ax.get_lines() if "(n=" in line.get_label()]
    assert len(lines) == waits.ngroups
    for line, (category, values) in zip(lines, waits, strict=True):
        assert line.get_label() == f"{category} (n={len(values)})"
        assert np.allclose(line.get_xdata(), np.sort(values.to_numpy()))
        y = np.asarray(line.get_ydata())
        assert np.allclose(y, np.arange(1, len(values) + 1) / len(values))
    assert any(line.get_label().startswith("SLA 15 min") for line in ax.get_lines())


def test_wait_distribution_needs_the_tickets():
    scenario = hs.load_scenario(SCENARIOS / "mmc.toml")
    results = hs.simulate(scenario, replications=2, seed=1, keep_tickets=False, progress=False)
    with pytest.raises(ValueError, match="keep_tickets=True"):
        plotting.plot_wait_distribution(results)


def test_window_load_stacks_busy_and_idle_hours_per_day(operations, ax):
    assert plotting.plot_window_load(operations, ax=ax) is ax
    busy, idle = ax.containers
    per = operations.windows.groupby("window", observed=True)[["open_min", "busy_min"]].sum()
    per = per / (3 * 5) / 60.0
    assert np.allclose([bar.get_height() for bar in busy], per["busy_min"])
    assert np.allclose([bar.get_height() for bar in idle], per["open_min"] - per["busy_min"])
    assert np.allclose([bar.get_y() for bar in idle], per["busy_min"])
    labels = [tick.get_text() for tick in ax.get_xticklabels()]
    assert labels == list(operations.scenario.window_names)
    stats_ = operations.replication_stats
    gini = stats_[stats_["category"] == "overall"]["utilisation_gini"].mean()
    assert f"Gini {gini:.2f}" in ax.get_title()


def test_comparison_draws_each_halls_means_with_intervals(comparison, ax):
    assert plotting.plot_comparison(comparison, "service_level", ax=ax) is ax
    table = comparison.table
    rows = table[table["metric"] == "service_level"]
    labels = [tick.get_text() for tick in ax.get_xticklabels()]
    assert labels[-1] == "overall"
    bars = [c for c in ax.containers if isinstance(c, matplotlib.container.BarContainer)]
    assert [c.get_label() for c in bars] == ["before", "after"]
    for container, hall in zip(bars, ["before", "after"], strict=True):
        mine = rows[rows["hall"] == hall].set_index("category")["mean"]
        heights = [bar.get_height() for bar in container]
        assert np.allclose(heights, [100 * mine[label] for label in labels])
    overall = rows[(rows["hall"] == "after") & (rows["category"] == "overall")]
    assert f"{100 * overall['difference'].iloc[0]:+.3g}" in ax.get_title()
    assert "(paired)" in ax.get_title()
    with pytest.raises(ValueError, match="no such metric"):
        plotting.plot_comparison(comparison, "speed")


def test_staff_on_duty_draws_every_span_and_the_reserve_activations(operations, ax):
    assert plotting.plot_staff_on_duty(operations, ax=ax, day=0) is ax
    spans = plotting.duty_spans(operations, day=0)
    bars = [patch for patch in ax.patches if patch.get_width() > 0]
    assert len(bars) == len(spans)
    # the reserve activations are those of the reserve table (replication 0, day 0)
    reserve = operations.reserve
    reserve = reserve[(reserve["replication"] == 0) & (reserve["day"] == 0)]
    drawn = spans[spans["kind"] == "reserve"]
    assert sorted(drawn["start_min"]) == pytest.approx(sorted(reserve["opened_min"]))
    assert sorted(drawn["end_min"] - drawn["start_min"]) == pytest.approx(
        sorted(reserve["closed_min"] - reserve["opened_min"])
    )
    # scheduled time per member is about what the staff table says they were open: a post
    # opens when the one before it at the window finishes its ticket, and stays open over time
    scheduled = spans[spans["kind"] == "scheduled"]
    scheduled = (scheduled["end_min"] - scheduled["start_min"]).groupby(scheduled["staff"]).sum()
    staff = operations.staff.groupby("staff", observed=True)["open_min"].sum() / (3 * 5)
    for member, minutes in scheduled.items():
        assert abs(staff[member] - minutes) <= 30
    labels = [tick.get_text() for tick in ax.get_yticklabels()]
    assert len(labels) == operations.staff["staff"].nunique()
    assert labels[0].startswith("early.1 (") and labels[0].endswith("% busy)")


def test_staff_on_duty_needs_staff():
    scenario = hs.load_scenario(SCENARIOS / "mmc.toml")
    results = hs.simulate(scenario, replications=2, seed=1, progress=False)
    with pytest.raises(ValueError, match="no staff"):
        plotting.plot_staff_on_duty(results)


def test_without_an_axes_each_plot_makes_its_figure(operations, comparison):
    drawn = [
        plotting.plot_queue_length(operations),
        plotting.plot_wait(operations, overall=True),
        plotting.plot_wait_distribution(operations, categories=["tax"]),
        plotting.plot_window_load(operations),
        plotting.plot_comparison(comparison),
        plotting.plot_staff_on_duty(operations, day=4, replication=2),
    ]
    for ax in drawn:
        assert isinstance(ax, matplotlib.axes.Axes)
        ax.figure.canvas.draw()  # renders off screen (Agg)
        plt.close(ax.figure)
    with pytest.raises(ValueError, match="no such categories"):
        plotting.plot_wait(operations, categories=["nobody"])
    assert pd.api.types.is_float_dtype(plotting.window_load(operations)["utilisation"])
