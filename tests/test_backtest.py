"""Back-test of a hall model against a history: the true model passes, a wrong one fails."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import hallsim as hs
from hallsim.backtest import backtest, log_metrics
from hallsim.logs import TicketLog


def _with(scenario: hs.Scenario, **hall) -> hs.Scenario:
    data = scenario.model_dump(mode="json", exclude_none=True)
    data["hall"].update(hall)
    return hs.Scenario.model_validate(data)


@pytest.fixture(scope="module")
def panjin():
    return hs.load_scenario("scenarios/panjin.toml")


@pytest.fixture(scope="module")
def history(panjin):
    """Twenty days of the Panjin hall, as its log would show them."""
    return hs.simulate(_with(panjin, days=20), replications=1, seed=5, progress=False).to_log()


def test_the_true_model_reproduces_its_history(panjin, history):
    check = backtest(panjin, history, replications=40, seed=1)
    days = history.days
    assert check.scenario.hall.days == (days[-1] - days[0]).days + 1  # the log's span
    summary = check.summary()
    for metric in ("tickets_per_day", "mean_wait", "abandonment"):
        cells = int(summary.loc[metric, "cells"])
        inside = round(summary.loc[metric, "inside_share"] * cells)
        # the 95 % band of 40 replications: the observed history is inside about 95 % of
        # the time; at most what a binomial(cells, 0.92) gives with probability 0.001 below
        assert inside >= stats.binom.ppf(0.001, cells, 0.92), (metric, inside, cells)


def test_a_slower_hall_is_caught(panjin, history):
    data = panjin.model_dump(mode="json", exclude_none=True)
    for category in data["categories"]:
        category["service"]["mean_min"] *= 1.5
    slower = hs.Scenario.model_validate(data)
    check = backtest(slower, history, replications=20, seed=1)
    waits = check.table[check.table["metric"] == "mean_wait"].dropna()
    assert (waits["observed"] < waits["sim_lo"]).mean() > 0.5
    utilisation = check.table[check.table["metric"] == "utilisation"].dropna()
    assert (utilisation["observed"] < utilisation["sim_mean"]).all()


def test_log_metrics_against_a_plain_computation(history):
    """Each metric recomputed ticket by ticket, without the vectorised code."""
    table = log_metrics(history, 60).set_index(["category", "interval_start", "metric"])["value"]
    tickets = history.tickets
    days = tickets["issued"].dt.normalize().nunique()
    groups: dict = {}
    for row in tickets.itertuples():
        minute = row.issued.hour * 60 + row.issued.minute
        groups.setdefault((row.category, minute // 60 * 60), []).append(row)
    for (category, start), rows in groups.items():
        waits = [(r.start - r.issued).total_seconds() / 60 for r in rows if pd.notna(r.start)]
        assert table[category, start, "tickets_per_day"] == pytest.approx(len(rows) / days)
        assert table[category, start, "abandonment"] == pytest.approx(
            np.mean([r.outcome == "abandoned" for r in rows])
        )
        if waits:
            assert table[category, start, "mean_wait"] == pytest.approx(np.mean(waits))
            assert table[category, start, "p90_wait"] == pytest.approx(np.quantile(waits, 0.9))
    # utilisation: minute by minute, the windows serving over the windows that served that day
    served = tickets.dropna(subset=["start", "end", "window"])
    busy: dict = {}
    open_minutes = 0
    for _, day_rows in served.groupby(served["start"].dt.normalize()):
        open_minutes += day_rows["window"].nunique() * 60
        for row in day_rows.itertuples():
            day = row.start.normalize()
            a = (row.start - day).total_seconds() / 60
            b = (row.end - day).total_seconds() / 60
            hour = int(a // 60) * 60
            while hour < b:
                busy[hour] = busy.get(hour, 0.0) + max(0.0, min(b, hour + 60) - max(a, hour))
                hour += 60
    for hour, minutes in busy.items():
        assert table["all", hour, "utilisation"] == pytest.approx(minutes / open_minutes)


def test_bad_input(panjin, history):
    with pytest.raises(TypeError, match="TicketLog"):
        backtest(panjin, history.tickets)
    with pytest.raises(ValueError, match="no tickets"):
        backtest(panjin, TicketLog(history.tickets.iloc[:0]))
