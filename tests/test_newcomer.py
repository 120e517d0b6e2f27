"""Regression tests of what a newcomer's trial found (each with its example): a scenario
changed with ``model_copy`` is checked again, a file path is not a scenario, results have a
short repr, intervals stay within a metric's range and say when the replications are too
few, and a confidence level outside (0, 1) is an error."""

from __future__ import annotations

import io
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import category, exponential, make_scenario
from tqdm import tqdm

import hallsim as hs

ROOT = Path(__file__).resolve().parents[1]

PANJIN = ROOT / "scenarios" / "panjin.toml"


@pytest.fixture(scope="module")
def panjin() -> hs.Scenario:
    return hs.load_scenario(PANJIN)


def test_a_negative_window_count_set_by_model_copy_is_a_scenario_error(panjin):
    window = panjin.windows[0].model_copy(update={"count": -5})  # skips validation
    bad = panjin.model_copy(update={"windows": [window, *panjin.windows[1:]]})
    with pytest.raises(hs.ScenarioError, match=r"windows\[0\].*count.*got -5"):
        hs.simulate(bad, replications=1, seed=1, progress=False)


def test_a_window_serving_nobody_set_by_model_copy_is_a_scenario_error(panjin):
    windows = [w.model_copy(update={"serves": ["nobody"]}) for w in panjin.windows]
    bad = panjin.model_copy(update={"windows": windows})
    with pytest.raises(hs.ScenarioError, match="serves.*'nobody'"):
        hs.simulate(bad, replications=1, seed=1, progress=False)


def test_a_scenario_changed_in_place_after_a_run_is_checked_again(monkeypatch):
    """simulate() keeps the check and compilation of a scenario it ran, for the same object
    with the same data: a list of the frozen model changed in place is checked afresh, and a
    run of the unchanged scenario compiles nothing."""
    from hallsim import runner

    scenario = hs.load_scenario(PANJIN)
    first = hs.simulate(scenario, replications=2, seed=3, progress=False)
    monkeypatch.setattr(runner, "compile_scenario", lambda _: pytest.fail("compiled again"))
    again = hs.simulate(scenario, replications=2, seed=3, progress=False)
    pd.testing.assert_frame_equal(again.replication_stats, first.replication_stats)
    scenario.windows[0] = scenario.windows[0].model_copy(update={"count": -5})
    with pytest.raises(hs.ScenarioError, match=r"windows\[0\].*count.*got -5"):
        hs.simulate(scenario, replications=1, seed=1, progress=False)


def test_a_path_is_not_a_scenario():
    with pytest.raises(TypeError, match="load_scenario"):
        hs.simulate(str(PANJIN))


@pytest.fixture(scope="module")
def small() -> hs.Scenario:
    """One window, exponential service at 60 % load: waits near 0, service level near 1."""
    return make_scenario(
        [category("A", 6, exponential(6.0))], [{"id": "W", "serves": ["A"]}], close="10:00"
    )


def test_results_have_a_short_repr(small):
    run = hs.simulate(small, replications=3, seed=1, progress=False)
    text = repr(run)
    assert len(text) < 200 and "\n" not in text
    assert "3 replications" in text and "seed=1" in text and "rows" in text


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.2])
def test_a_confidence_outside_zero_one_is_an_error(small, confidence):
    run = hs.simulate(small, replications=3, seed=1, progress=False)
    with pytest.raises(ValueError, match="confidence must be between 0 and 1"):
        run.summary(confidence=confidence)


def test_intervals_of_shares_stay_within_zero_and_one_and_few_replications_warn(small):
    run = hs.simulate(small, replications=2, seed=3, progress=False)
    with pytest.warns(hs.PrecisionWarning, match="with 2 replications"):
        table = run.summary()
    for metric in ("service_level", "abandonment", "utilisation"):
        assert (table[f"{metric}_lo"] >= 0).all() and (table[f"{metric}_hi"] <= 1).all()
    for metric in ("mean_wait", "p90_wait", "tickets"):
        assert (table[f"{metric}_lo"] >= 0).all()
    # the interval is the t interval where it fits in the range, cut at the bound elsewhere
    unclipped = hs.simulate(small, replications=2, seed=3, progress=False).replication_stats
    mean = unclipped.groupby("category", observed=True)["service_level"].mean()
    assert (table["service_level"] == mean.reindex(table.index)).all()


def test_enough_replications_do_not_warn(small):
    run = hs.simulate(small, replications=10, seed=3, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", hs.PrecisionWarning)
        run.summary()


def test_the_first_run_says_the_engine_is_compiling(small, monkeypatch, capsys):
    """While numba compiles (the first run after installing, a minute of a progress bar at
    0), stderr says so; once the kernel is loaded, or without a progress bar, nothing."""
    from hallsim import runner
    from hallsim.engines import fast

    def bar(scenario, replications, progress):  # a progress bar, whatever TQDM_DISABLE says
        return tqdm(total=replications, disable=not progress, file=io.StringIO())

    monkeypatch.setattr(runner, "_progress", bar)
    monkeypatch.setattr(runner, "COMPILE_NOTICE_AFTER", 0.05)
    run_batch = runner._run_batch

    def slow_batch(*args):  # a batch that takes longer than the notice's delay
        time.sleep(0.5)
        return run_batch(*args)

    monkeypatch.setattr(runner, "_run_batch", slow_batch)
    monkeypatch.setattr(fast, "kernel_loaded", lambda hall: False)  # as on a first run
    hs.simulate(small, replications=1, seed=1, progress=True)
    assert "compiling the simulation engine (first run only" in capsys.readouterr().err
    hs.simulate(small, replications=1, seed=1, progress=False)
    assert "compiling" not in capsys.readouterr().err
    monkeypatch.setattr(fast, "kernel_loaded", lambda hall: True)
    hs.simulate(small, replications=1, seed=1, progress=True)
    assert "compiling" not in capsys.readouterr().err


@pytest.fixture(scope="module")
def week(panjin) -> hs.Results:
    return hs.simulate(panjin, replications=4, seed=2, progress=False)


def test_a_window_of_the_whole_opening_hours_is_the_summary(week):
    """The ticket metrics of all tickets issued in opening hours are the summary's."""
    window = week.summary(between=("08:30", "17:00"))
    assert list(window.index) == list(week.summary().index)
    assert list(window.columns) == [
        f"{metric}{end}" for metric in hs.results.WINDOW_METRICS for end in ("", "_lo", "_hi")
    ]
    pd.testing.assert_frame_equal(window, week.summary()[window.columns], rtol=1e-12)


def test_the_morning_peak_of_mondays_against_a_loop_over_tickets(week):
    got = week.summary(between=("09:00", "10:30"), weekday=["mon"])
    tickets = week.tickets
    first = hs.scenario.WEEKDAYS.index(week.scenario.hall.first_weekday)
    minute = tickets["issued"] - tickets["day"] * 1440
    monday = (first + tickets["day"]) % 7 == 0
    chosen = tickets[(minute >= 540) & (minute < 630) & monday]
    sla = week.scenario.hall.sla_wait_min
    for label in ["business", "tax", "overall"]:
        mine = chosen if label == "overall" else chosen[chosen["category"] == label]
        per = {"tickets": [], "mean_wait": [], "p90_wait": [], "service_level": []}
        for r in range(week.replications):
            rows = mine[mine["replication"] == r]
            served = rows[rows["outcome"] == "served"]
            waits = (served["start"] - served["issued"]).to_numpy()
            per["tickets"].append(len(rows))
            per["mean_wait"].append(waits.mean())
            per["p90_wait"].append(np.quantile(waits, 0.9))
            per["service_level"].append((waits <= sla).sum() / len(rows))
        for metric, values in per.items():
            assert got.loc[label, metric] == pytest.approx(np.mean(values), rel=1e-12)


def test_a_window_needs_tickets_and_says_what_is_wrong(panjin, week):
    aggregates = hs.simulate(panjin, replications=2, seed=1, keep_tickets=False, progress=False)
    with pytest.raises(ValueError, match="keep_tickets=True"):
        aggregates.summary(between=("09:00", "10:00"))
    with pytest.raises(ValueError, match="weekday must be among.*'monday'"):
        week.summary(weekday="monday")
    with pytest.raises(ValueError, match="between must be two times"):
        week.summary(between="09:00")


WARMUP_CHECK = """
import sys
import hallsim as hs
from hallsim import _kernels
from hallsim.compile import compile_scenario
from hallsim.engines import warmup

TABLE_KERNELS = (
    "slot_areas",
    "segment_sums",
    "segment_ranks",
    "ticket_aggregates",
    "ticket_columns",
    "ticket_numbers",
    "stage_fcfs",
)
for path in sys.argv[1:]:
    scenario = hs.load_scenario(path)
    hall = compile_scenario(scenario)
    warmup.compile_tables(hall, keep_tickets=True)
    compiled = {name: set(getattr(_kernels, name).signatures) for name in TABLE_KERNELS}
    for replications in (1, 7):
        for keep in (True, False):
            hs.simulate(scenario, replications=replications, seed=4, progress=False,
                        keep_tickets=keep)
    for name in TABLE_KERNELS:
        extra = set(getattr(_kernels, name).signatures) - compiled[name]
        assert not extra, (path, name, extra)
print("ok")
"""


def test_the_warmup_compiles_what_the_tables_need():
    """The second process of a first run compiles, from a batch where nothing happened,
    every signature of the table kernels that real runs then call (checked in a fresh
    interpreter, where only what it compiles or loads is in the kernels' signatures)."""
    paths = [str(ROOT / "scenarios" / f"{name}.toml") for name in ("panjin", "panjin-operations")]
    run = subprocess.run(
        [sys.executable, "-c", WARMUP_CHECK, *paths], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-3000:]


def test_a_first_run_shares_the_compiling_with_a_second_process(small, monkeypatch):
    """On a first run with the batches in this process, a second process is started to
    compile the table kernels, and stopped by the end of the run; with worker processes,
    or once the engine is loaded, none."""
    from hallsim import runner
    from hallsim.engines import fast, warmup

    started = []

    def start(hall, keep_tickets):
        process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        started.append((hall, keep_tickets, process))
        return process

    monkeypatch.setattr(warmup, "start", start)
    monkeypatch.setattr(runner, "COMPILE_SHARE_AFTER", 0.05)
    run_batch = runner._run_batch

    def slow_batch(*args):
        time.sleep(0.5)
        return run_batch(*args)

    monkeypatch.setattr(runner, "_run_batch", slow_batch)
    monkeypatch.setattr(fast, "kernel_loaded", lambda hall: False)  # as on a first run
    hs.simulate(small, replications=1, seed=1, progress=False, keep_tickets=False)
    ((hall, keep_tickets, process),) = started
    assert hall.n_categories >= 1 and keep_tickets is False
    assert process.poll() is not None, "the second process outlived the run"
    hs.simulate(small, replications=2, seed=1, progress=False, workers=2)
    monkeypatch.setattr(fast, "kernel_loaded", lambda hall: True)
    hs.simulate(small, replications=1, seed=1, progress=False)
    assert len(started) == 1


def test_the_second_process_compiles_and_exits(small):
    from hallsim.compile import compile_scenario
    from hallsim.engines import warmup

    process = warmup.start(compile_scenario(small), keep_tickets=True)
    if process is None:
        pytest.skip("one CPU: no second process")
    assert process.wait(timeout=120) == 0
