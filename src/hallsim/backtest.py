"""Back-test: does a hall model reproduce what the hall really did?

:func:`backtest` simulates a scenario (a fitted hall, say) over as many days as a ticket log
covers, starting on the log's first weekday, and compares what the log shows with what the
replications show, per category and time of day: tickets per day, mean and P90 wait of
served tickets, the share that abandoned, and per time of day the utilisation of the windows.

Both sides are measured the same way, by :func:`log_metrics` on a ticket log: the
simulation's replications are turned into logs with :meth:`hallsim.Results.to_log` first.
Utilisation as a log shows it: the minutes the windows spent serving inside the interval,
over the minutes of the windows that served at least one ticket that day (a log does not
record when a window was open).

The observed value is one history; each replication is another possible history of the same
days. So the observed value is compared with the replications' spread: it is *inside* when it
lies between their 2.5 % and 97.5 % quantiles (``sim_lo``, ``sim_hi``; with 20 replications
or more that band is meaningful). ``sim_mean`` is the replications' mean.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .logs import TicketLog, _minute_of_day
from .results import HallWarning
from .runner import simulate
from .scenario import WEEKDAYS, Scenario

__all__ = ["Backtest", "backtest", "log_metrics"]

METRICS = ("tickets_per_day", "mean_wait", "p90_wait", "abandonment", "utilisation")
ALL = "all"  # the category of hall-wide rows (utilisation)


def log_metrics(log: TicketLog, interval_min: int = 60) -> pd.DataFrame:
    """Per category and interval of the day (over all the log's days): ``tickets_per_day``,
    ``mean_wait`` and ``p90_wait`` (minutes, served tickets, ``start - issued``),
    ``abandonment`` (share of tickets with outcome ``abandoned``); and per interval, for
    category ``"all"``, ``utilisation`` (see the module doc). Long format: ``category,
    interval_start, metric, value``."""
    tickets = log.tickets
    n_days = max(len(log.days), 1)
    issued = tickets["issued"]
    minute = _minute_of_day(issued)
    frame = pd.DataFrame(
        {
            "category": tickets["category"].astype(str).to_numpy(),
            "interval_start": (minute // interval_min * interval_min).astype(np.int64),
            "wait": ((tickets["start"] - issued) / pd.Timedelta(minutes=1)).to_numpy(),
            "abandoned": (tickets["outcome"] == "abandoned").to_numpy(),
        }
    )
    grouped = frame.groupby(["category", "interval_start"], sort=True)
    table = pd.DataFrame(
        {
            "tickets_per_day": grouped.size() / n_days,
            "mean_wait": grouped["wait"].mean(),
            "p90_wait": grouped["wait"].quantile(0.9),
            "abandonment": grouped["abandoned"].mean(),
        }
    )
    long = table.reset_index().melt(
        id_vars=["category", "interval_start"], var_name="metric", value_name="value"
    )
    return pd.concat([long, _utilisation(tickets, interval_min)], ignore_index=True)


def _utilisation(tickets: pd.DataFrame, interval_min: int) -> pd.DataFrame:
    served = tickets[tickets["start"].notna() & tickets["end"].notna() & tickets["window"].notna()]
    columns = ["category", "interval_start", "metric", "value"]
    if served.empty:
        return pd.DataFrame(columns=columns)
    day = served["start"].dt.normalize()
    start = ((served["start"] - day) / pd.Timedelta(minutes=1)).to_numpy()
    end = ((served["end"] - day) / pd.Timedelta(minutes=1)).to_numpy()
    edges = np.arange(
        start.min() // interval_min * interval_min, end.max() + interval_min, interval_min
    )
    # minutes of each service inside each interval (services x intervals)
    overlap = np.clip(
        np.minimum(end[:, None], edges[None, 1:]) - np.maximum(start[:, None], edges[None, :-1]),
        0,
        None,
    )
    busy = overlap.sum(axis=0)
    windows_per_day = served.groupby(day)["window"].nunique()
    open_minutes = windows_per_day.sum() * interval_min
    return pd.DataFrame(
        {
            "category": ALL,
            "interval_start": edges[:-1].astype(np.int64),
            "metric": "utilisation",
            "value": busy / open_minutes,
        }
    )


@dataclass
class Backtest:
    """What :func:`backtest` found.

    Attributes
    ----------
    table : pandas.DataFrame
        ``category, interval_start, metric, observed, sim_mean, sim_lo, sim_hi, inside``
        (``sim_lo``/``sim_hi``: the replications' 2.5 % and 97.5 % quantiles).
    replications : int
    scenario : Scenario
        The scenario as simulated (its days and first weekday set from the log).
    """

    table: pd.DataFrame
    replications: int
    scenario: Scenario

    def summary(self) -> pd.DataFrame:
        """Per metric: cells compared and the share with the observed value inside the
        replications' band."""
        judged = self.table.dropna(subset=["observed", "sim_lo", "sim_hi"])
        return judged.groupby("metric", sort=False).agg(
            cells=("inside", "size"), inside_share=("inside", "mean")
        )

    def plot(self, metric: str = "mean_wait", category: str | None = None, ax=None):
        """Observed (points) against the replications' band and mean, by time of day."""
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS} (got {metric!r})")
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots()
        rows = self.table[self.table["metric"] == metric]
        if category is not None:
            rows = rows[rows["category"] == category]
        for name, part in rows.groupby("category", sort=True):
            hours = part["interval_start"] / 60.0
            line = ax.plot(hours, part["sim_mean"], label=f"{name} simulated")[0]
            ax.fill_between(
                hours, part["sim_lo"], part["sim_hi"], alpha=0.2, color=line.get_color()
            )
            ax.plot(hours, part["observed"], "o", color=line.get_color(), label=f"{name} observed")
        ax.set_xlabel("hour of day")
        ax.set_ylabel(metric.replace("_", " "))
        ax.legend(fontsize="small")
        return ax


def backtest(
    scenario: Scenario,
    log: TicketLog,
    *,
    replications: int = 20,
    seed: int | None = 0,
    interval_min: int = 60,
) -> Backtest:
    """Simulate ``scenario`` over the days of ``log`` and compare, per category and
    interval, the log's metrics with the replications' (see the module doc).

    Parameters
    ----------
    scenario : Scenario
        The hall model, e.g. ``hs.fit(log).scenario``. Its days and first weekday are
        replaced by the log's (from the first to the last date).
    log : TicketLog
        The history to compare with.
    replications, seed
        Simulated histories and their root seed.
    interval_min : int, default 60
        Time-of-day resolution of the comparison.
    """
    if not isinstance(log, TicketLog):
        raise TypeError(f"log must be a hallsim TicketLog (got {type(log).__name__})")
    if log.tickets.empty:
        raise ValueError("the log has no tickets to compare with")
    days = log.days
    span = int((days[-1] - days[0]).days) + 1
    data = scenario.model_dump(mode="json", exclude_none=True)
    data["hall"].update(days=span, first_weekday=WEEKDAYS[days[0].weekday()])
    simulated = Scenario.model_validate(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HallWarning)
        results = simulate(simulated, replications=replications, seed=seed, progress=False)
    start_date = str(days[0].date())
    runs = []
    for r in range(replications):
        history = results.to_log(start_date, replication=r)
        kept = history.tickets["issued"].dt.normalize().isin(days)  # the log's dates only
        history = TicketLog(history.tickets[kept].reset_index(drop=True))
        runs.append(log_metrics(history, interval_min).assign(replication=r))
    simulated_metrics = pd.concat(runs, ignore_index=True)
    keys = ["category", "interval_start", "metric"]
    band = simulated_metrics.groupby(keys, sort=True)["value"].agg(
        sim_mean="mean",
        sim_lo=lambda v: v.quantile(0.025),
        sim_hi=lambda v: v.quantile(0.975),
    )
    observed = log_metrics(log, interval_min).set_index(keys)["value"].rename("observed")
    table = pd.concat([observed, band], axis=1).reset_index()
    table["inside"] = (table["observed"] >= table["sim_lo"]) & (
        table["observed"] <= table["sim_hi"]
    )
    table = table[
        [
            "category",
            "interval_start",
            "metric",
            "observed",
            "sim_mean",
            "sim_lo",
            "sim_hi",
            "inside",
        ]
    ]
    return Backtest(table=table, replications=replications, scenario=simulated)
