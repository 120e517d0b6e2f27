"""Matplotlib figures of results. Each function takes ``ax=None`` and returns the axes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .results import Results

__all__ = ["plot_day", "plot_queue_length", "plot_wait"]


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
