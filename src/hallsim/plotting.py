"""Matplotlib figures of results. Each function takes ``ax=None`` and returns the axes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .results import Results

__all__ = [
    "plot_day",
    "plot_methods",
    "plot_queue_length",
    "plot_staffing",
    "plot_verification",
    "plot_wait",
]


def _by_time(results: Results, column: str):
    """Mean of ``column`` over replications and days, per interval start and category."""
    table = results.intervals
    return (
        table.groupby(["start_min", "category"], observed=True)[column]
        .mean()
        .unstack("category")
        .rename(index=lambda minute: minute / 60.0)
    )


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def plot_queue_length(results: Results, ax: Axes | None = None) -> Axes:
    """Time-average queue length over the day, per category (mean of replications and days)."""
    ax = _axes(ax)
    _by_time(results, "queue_length").plot(ax=ax, drawstyle="steps-post")
    ax.set(xlabel="time of day (h)", ylabel="tickets waiting", title="Queue length")
    return ax


def plot_wait(results: Results, ax: Axes | None = None) -> Axes:
    """Mean wait of served tickets by the interval they were issued in, per category."""
    ax = _axes(ax)
    _by_time(results, "mean_wait").plot(ax=ax, marker=".", drawstyle="steps-post")
    sla = results.scenario.hall.sla_wait_min
    ax.axhline(sla, color="grey", linestyle="--", linewidth=1, label=f"SLA {sla:g} min")
    ax.set(xlabel="time of day (h) ticket issued", ylabel="minutes", title="Mean wait")
    ax.legend()
    return ax


def plot_day(results: Results):
    """A figure with queue length and mean wait over the day."""
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    plot_queue_length(results, ax=top)
    plot_wait(results, ax=bottom)
    fig.suptitle(results.scenario.name or "hallsim")
    fig.tight_layout()
    return fig


def _one_day(table, day: int):
    return table[table["day"] == day] if "day" in table else table


def plot_staffing(coverage, ax: Axes | None = None, day: int = 0) -> Axes:
    """Staff required and staffed per interval of one day (all groups added up), with
    shortfalls marked.

    ``coverage`` is a schedule's ``coverage`` table (``interval_start, required, staffed,
    shortfall``) or a requirement table (``interval_start, staff``).
    """
    ax = _axes(ax)
    table = _one_day(coverage, day)
    required = "required" if "required" in table else "staff"
    columns = [c for c in (required, "staffed", "shortfall") if c in table]
    per = table.groupby("interval_start")[columns].sum().rename(index=lambda m: m / 60.0)
    hours = per.index.to_numpy()
    ax.step(hours, per[required], where="post", linestyle="--", color="black", label="required")
    if "staffed" in per:
        ax.step(hours, per["staffed"], where="post", color="tab:blue", label="staffed")
    if "shortfall" in per and (per["shortfall"] > 0).any():
        short = per[per["shortfall"] > 0]
        ax.plot(
            short.index, short["staffed"], "x", color="tab:red", markersize=9, label="shortfall"
        )
    ax.set(xlabel="time of day (h)", ylabel="staff at the windows", title="Staffing")
    ax.legend()
    return ax


def plot_methods(tables: dict, ax: Axes | None = None, day: int = 0) -> Axes:
    """Staff per interval of one day by several requirement methods (groups added up):
    ``tables`` maps a label to a requirement table."""
    ax = _axes(ax)
    for label, table in tables.items():
        per = _one_day(table, day).groupby("interval_start")["staff"].sum()
        ax.step(per.index / 60.0, per.to_numpy(), where="post", label=label)
    ax.set(xlabel="time of day (h)", ylabel="staff at the windows", title="Requirements")
    ax.legend()
    return ax


def plot_verification(verification, ax: Axes | None = None, day: int = 0) -> Axes:
    """Each interval's achieved metric with its 95 % CI against the target, misses in red.

    The first criterion of the first target is drawn (the wait share when there is one);
    groups are drawn side by side.
    """
    ax = _axes(ax)
    table = _one_day(verification.intervals, day)
    table = table[table["target"] == table["target"].iloc[0]]
    metrics = [
        c
        for c in (
            "wait_share",
            "delay_probability",
            "mean_wait_min",
            "abandon_share",
            "utilisation",
        )
        if c in table
    ]
    metric = metrics[0]
    for group, part in table.groupby("group", sort=False):
        hours = part["interval_start"].to_numpy() / 60.0
        mean = part[metric].to_numpy()
        error = [mean - part[f"{metric}_lo"].to_numpy(), part[f"{metric}_hi"].to_numpy() - mean]
        ax.errorbar(hours, mean, yerr=error, fmt="o", capsize=3, label=str(group))
        missed = ~part["met"].to_numpy()
        ax.plot(hours[missed], mean[missed], "o", color="tab:red", markersize=9, fillstyle="none")
    bound = verification.targets[0].criteria.get(metric) if verification.targets else None
    if bound is not None:
        ax.axhline(bound, color="grey", linestyle="--", linewidth=1, label="target")
    ax.set(
        xlabel="time of day (h) ticket issued",
        ylabel=metric.replace("_", " "),
        title=f"Verification: {table['target'].iloc[0]}",
    )
    ax.legend()
    return ax
