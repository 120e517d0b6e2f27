"""Matplotlib figures of results. Each function takes ``ax=None`` (a new figure) and returns
the axes it drew on.

Over the day (:func:`plot_queue_length`, :func:`plot_wait`), a line is the mean over
replications of each replication's value (itself over the days shown) and its band the 95 %
Student-t interval of that mean across replications: the spread of the estimate, not of single
days. :func:`plot_wait_distribution` pools the served tickets of every replication and day,
:func:`plot_window_load` shows each window's busy and idle hours per day,
:func:`plot_comparison` the halls of a :class:`~hallsim.compare.Comparison` side by side and
:func:`plot_staff_on_duty` who is at which window when (a Gantt chart).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .staffing import build_posts

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .compare import Comparison
    from .results import Results

__all__ = [
    "duty_spans",
    "over_the_day",
    "plot_comparison",
    "plot_day",
    "plot_methods",
    "plot_queue_length",
    "plot_staff_on_duty",
    "plot_staffing",
    "plot_verification",
    "plot_wait",
    "plot_wait_distribution",
    "plot_window_load",
    "wait_samples",
    "window_load",
]

OVERALL = "all categories"
# metrics of the summary shown as percentages
_PERCENT = {"service_level", "abandonment", "balking", "capped", "no_show", "utilisation"}
_METRIC_LABELS = {
    "tickets": "tickets per replication",
    "mean_wait": "mean wait (min)",
    "p90_wait": "P90 wait (min)",
    "service_level": "served within SLA (%)",
    "abandonment": "abandoned (%)",
    "balking": "balked (%)",
    "capped": "refused by the daily cap (%)",
    "no_show": "no-show (%)",
    "utilisation": "utilisation (%)",
    "utilisation_cv": "utilisation CV of windows",
    "utilisation_gini": "utilisation Gini of windows",
    "tickets_per_window_day": "tickets per window per day",
    "peak_day_tickets": "tickets on the peak day",
    "peak_day_mean_wait": "mean wait on the peak day (min)",
}


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def _t_interval(groups) -> pd.DataFrame:
    """Per group: ``mean``, ``lo``, ``hi`` (95 % Student-t interval of the mean; NaN with
    fewer than two values) and ``n``."""
    from scipy.special import stdtrit

    table = groups.agg(["mean", "std", "count"])
    n = table["count"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        half = table["std"].to_numpy() / np.sqrt(n) * stdtrit(np.maximum(n - 1, 1), 0.975)
    half[n < 2] = np.nan
    return pd.DataFrame(
        {"mean": table["mean"], "lo": table["mean"] - half, "hi": table["mean"] + half, "n": n},
        index=table.index,
    )


def over_the_day(
    results: Results,
    column: str,
    *,
    day: int | None = None,
    overall: bool = False,
) -> pd.DataFrame:
    """The numbers :func:`plot_queue_length` and :func:`plot_wait` draw: per interval start
    (``start_min``, minutes of day) and category, the mean over replications of ``column`` of
    the interval table with its 95 % interval across replications (``mean``, ``lo``, ``hi``,
    ``n`` replications with a value).

    Each replication's value is first taken over the days (all, or ``day`` only): the mean
    of ``queue_length`` (a time average; the days' intervals are equally long) or the mean
    of ``mean_wait`` weighted by tickets served. With ``overall`` the categories are added up
    first (queue lengths summed, waits weighted by tickets served) under the category
    ``"all categories"``.
    """
    if column not in ("queue_length", "mean_wait"):
        raise ValueError(f"column must be 'queue_length' or 'mean_wait' (got {column!r})")
    table = results.intervals
    if day is not None:
        if not 0 <= day < results.scenario.hall.days:
            raise ValueError(f"day must be between 0 and {results.scenario.hall.days - 1}")
        table = table[table["day"] == day]
    table = table[["replication", "day", "start_min", "category", column, "served"]].copy()
    table["category"] = table["category"].astype(str)
    if overall:
        table["category"] = OVERALL
    if column == "mean_wait":
        table["wait_sum"] = (table["mean_wait"] * table["served"]).fillna(0.0)
        sums = table.groupby(["replication", "start_min", "category"])[["wait_sum", "served"]]
        sums = sums.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            values = sums["wait_sum"] / sums["served"].where(sums["served"] > 0)
    else:
        per_day = table.groupby(["replication", "day", "start_min", "category"])[column].sum()
        values = per_day.groupby(["replication", "start_min", "category"]).mean()
    values = values.rename("value").reset_index()
    return _t_interval(values.groupby(["start_min", "category"])["value"])


def _plot_over_the_day(
    results: Results,
    column: str,
    ax,
    *,
    categories: Sequence[str] | None,
    day: int | None,
    overall: bool,
    bands: bool,
):
    table = over_the_day(results, column, day=day, overall=overall)
    present = set(table.index.get_level_values("category"))
    order = [*results.intervals["category"].cat.categories, OVERALL]
    shown = [c for c in order if c in present]
    if categories is not None:
        unknown = sorted(set(categories) - set(shown))
        if unknown:
            raise ValueError(f"no such categories: {unknown} (the hall has {shown})")
        shown = list(categories)
    elif not overall:  # leave out ticket classes that never come (e.g. no appointments)
        arrivals = results.intervals.groupby("category", observed=True)["arrivals"].sum()
        shown = [c for c in shown if arrivals.get(c, 0) > 0]
    starts = np.sort(table.index.get_level_values("start_min").unique().to_numpy())
    # each interval is a step from its start to the next one's; the last lasts interval_min
    ends = np.append(starts[1:], starts[-1] + results.scenario.hall.interval_min)
    hours = np.append(starts, ends[-1]) / 60.0
    for category in shown:
        part = table.xs(category, level="category").reindex(starts)
        mean = part["mean"].to_numpy()
        (line,) = ax.plot(
            hours, np.append(mean, mean[-1]), drawstyle="steps-post", label=str(category)
        )
        lo, hi = part["lo"].to_numpy(), part["hi"].to_numpy()
        if bands and np.isfinite(lo).any():
            ax.fill_between(
                hours,
                np.append(lo, lo[-1]),
                np.append(hi, hi[-1]),
                step="post",
                alpha=0.2,
                color=line.get_color(),
                linewidth=0,
            )
    return table


def _averaged_over(results: Results, day: int | None, bands: bool) -> str:
    days = "" if day is not None else f" x {len(results.scenario.hall.open_days)} days"
    where = f"day {day}, " if day is not None else ""
    band = "; band: 95 % CI" if bands else ""
    return f"{where}mean of {results.replications} replications{days}{band}"


def plot_queue_length(
    results: Results,
    ax: Axes | None = None,
    *,
    categories: Sequence[str] | None = None,
    day: int | None = None,
    overall: bool = False,
    bands: bool = True,
) -> Axes:
    """Time-average number of tickets waiting over the day, per category, with a 95 % band
    across replications.

    Parameters
    ----------
    results : Results
        A run.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).
    categories : sequence of str, optional
        The categories (ticket classes) to draw; default every one with arrivals.
    day : int, optional
        Only this day of the horizon; default the mean over the days.
    overall : bool
        One line for the whole hall (queues of all categories added up).
    bands : bool
        Draw the 95 % bands (default); without, many categories are easier to tell apart.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``: one step line per category (label: the category) and its band.
    """
    ax = _axes(ax)
    _plot_over_the_day(
        results, "queue_length", ax, categories=categories, day=day, overall=overall, bands=bands
    )
    ax.set(
        xlabel="time of day (h)",
        ylabel="tickets waiting (time average per interval)",
        title=f"Queue length ({_averaged_over(results, day, bands)})",
    )
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small")
    return ax


def _sla_line(results: Results, ax, *, vertical: bool = False) -> None:
    """The hall's SLA wait (``hall.sla_wait_min``; the default 15 minutes says so)."""
    hall = results.scenario.hall
    sla = hall.sla_wait_min
    default = "" if "sla_wait_min" in hall.model_fields_set else ", the default"
    style = {
        "color": "grey",
        "linestyle": "--",
        "linewidth": 1,
        "label": f"SLA {sla:g} min{default}",
    }
    if vertical:
        ax.axvline(sla, **style)
    else:
        ax.axhline(sla, **style)


def plot_wait(
    results: Results,
    ax: Axes | None = None,
    *,
    categories: Sequence[str] | None = None,
    day: int | None = None,
    overall: bool = False,
    bands: bool = True,
) -> Axes:
    """Mean wait of the tickets served, by the interval they were issued in, per category,
    with a 95 % band across replications and the hall's SLA wait as a dashed line.

    Parameters are those of :func:`plot_queue_length` (``overall``: the waits of all
    categories together, weighted by tickets served).

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``: one step line per category (label: the category), its band, and the SLA line.
    """
    ax = _axes(ax)
    _plot_over_the_day(
        results, "mean_wait", ax, categories=categories, day=day, overall=overall, bands=bands
    )
    _sla_line(results, ax)
    ax.set(
        xlabel="time of day (h) the ticket was issued",
        ylabel="mean wait of served tickets (min)",
        title=f"Mean wait ({_averaged_over(results, day, bands)})",
    )
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small")
    return ax


def plot_day(results: Results) -> Figure:
    """A figure with queue length and mean wait over the day (:func:`plot_queue_length`,
    :func:`plot_wait`)."""
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    plot_queue_length(results, ax=top)
    plot_wait(results, ax=bottom)
    fig.suptitle(results.scenario.name or "hallsim")
    fig.tight_layout()
    return fig


def wait_samples(results: Results, categories: Sequence[str] | None = None) -> dict:
    """The waits (``start - issued``, minutes) of the served tickets of every replication
    and day, per category (each sorted): what :func:`plot_wait_distribution` draws."""
    tickets = results.tickets
    if tickets is None:
        raise ValueError("the wait distribution needs the tickets: simulate with keep_tickets=True")
    served = tickets[tickets["outcome"] == "served"]
    waits = (served["start"] - served["issued"]).to_numpy()
    names = served["category"].astype(str).to_numpy()
    present = list(pd.unique(names))
    if categories is None:
        categories = [c for c in tickets["category"].cat.categories if c in present]
    return {c: np.sort(waits[names == c]) for c in categories}


def plot_wait_distribution(
    results: Results,
    ax: Axes | None = None,
    *,
    categories: Sequence[str] | None = None,
) -> Axes:
    """Empirical distribution function (ECDF) of the waits of served tickets, per category,
    pooled over replications and days, with the hall's SLA wait as a dashed line.

    Parameters
    ----------
    results : Results
        A run that kept its tickets (``keep_tickets=True``).
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).
    categories : sequence of str, optional
        The categories (ticket classes) to draw; default every one with a served ticket.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``: one step line per category (label ``"<category> (n=...)"``; x the sorted
        waits, y ``i / n``) and the SLA line.

    Raises
    ------
    ValueError
        When the run kept no tickets.
    """
    samples = wait_samples(results, categories)
    ax = _axes(ax)
    for category, waits in samples.items():
        n = waits.size
        if n == 0:
            continue
        ax.plot(
            waits,
            np.arange(1, n + 1) / n,
            drawstyle="steps-post",
            label=f"{category} (n={n})",
        )
    _sla_line(results, ax, vertical=True)
    ax.set(
        xlabel="wait (min)",
        ylabel="share of served tickets waiting at most this long",
        title=(
            "Wait distribution of served tickets (pooled over "
            f"{results.replications} replications x {len(results.scenario.hall.open_days)} days)"
        ),
        ylim=(0, 1.02),
    )
    ax.set_xlim(left=0)
    ax.legend(fontsize="small")
    return ax


def window_load(results: Results) -> pd.DataFrame:
    """Per window, in the hall's order: its group, open, busy and idle hours per day and
    tickets served per day (means over replications and days), utilisation (busy over open
    time, pooled) and its 95 % interval across replications (``utilisation_lo``,
    ``utilisation_hi``): what :func:`plot_window_load` draws."""
    windows = results.windows
    days = len(results.scenario.hall.open_days)
    grouped = windows.groupby("window", observed=True, sort=False)
    per = grouped[["open_min", "busy_min", "served"]].sum() / (results.replications * days)
    table = pd.DataFrame(
        {
            "group": grouped["group"].first().astype(str),
            "open_h": per["open_min"] / 60.0,
            "busy_h": per["busy_min"] / 60.0,
            "idle_h": (per["open_min"] - per["busy_min"]) / 60.0,
            "served": per["served"],
        }
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        table["utilisation"] = table["busy_h"] / table["open_h"]
    spread = _t_interval(grouped["utilisation"])
    table["utilisation_lo"] = spread["lo"]
    table["utilisation_hi"] = spread["hi"]
    table.index = table.index.astype(str)
    table.index.name = "window"
    return table


def plot_window_load(results: Results, ax: Axes | None = None) -> Axes:
    """Busy and idle hours per day of each window, stacked (the busy/idle imbalance), with
    each window's utilisation written above its bar and the hall's Gini and CV of the
    windows' utilisation in the title.

    Parameters
    ----------
    results : Results
        A run.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``: per window, a ``busy`` bar and an ``idle`` bar on top of it (hours per day,
        means over replications and days; see :func:`window_load`).
    """
    table = window_load(results)
    ax = _axes(ax)
    x = np.arange(len(table))
    ax.bar(x, table["busy_h"], color="tab:blue", label="busy")
    ax.bar(x, table["idle_h"], bottom=table["busy_h"], color="tab:blue", alpha=0.3, label="idle")
    for position, (open_h, utilisation) in enumerate(
        zip(table["open_h"], table["utilisation"], strict=True)
    ):
        text = "never open" if not open_h > 0 else f"{utilisation:.0%}"
        ax.annotate(
            text,
            (position, open_h),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize="x-small",
            rotation=90 if len(table) > 12 else 0,
        )
    ax.set_xticks(x, table.index, rotation=90 if len(table) > 12 else 0, fontsize="small")
    overall = results.replication_stats
    overall = overall[overall["category"] == "overall"]
    gini, cv = overall["utilisation_gini"].mean(), overall["utilisation_cv"].mean()
    ax.set(
        xlabel="window",
        ylabel="hours per day",
        title=(
            f"Load per window (mean of {results.replications} replications x "
            f"{len(results.scenario.hall.open_days)} days): utilisation Gini {gini:.2f}, "
            f"CV {cv:.2f}"
        ),
    )
    ax.margins(y=0.12)
    ax.legend(fontsize="small")
    return ax


def plot_comparison(
    comparison: Comparison, metric: str = "mean_wait", ax: Axes | None = None
) -> Axes:
    """One metric of compared halls side by side: per category and overall, each hall's mean
    over replications as a bar with its 95 % interval; the title gives each other hall's
    overall difference from the baseline with its interval (paired on common random
    numbers, or Welch's: see :class:`~hallsim.compare.Comparison`).

    Parameters
    ----------
    comparison : Comparison
        The result of :func:`hallsim.compare`.
    metric : str
        A metric of :meth:`Results.summary` (default ``"mean_wait"``); shares are drawn as
        percentages.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``: one bar container per hall (label: the hall), one bar per category the
        baseline has (missing categories of a hall are left empty).
    """
    table = comparison.table
    if metric not in set(table["metric"].astype(str)):
        raise ValueError(f"no such metric {metric!r}: one of {list(_METRIC_LABELS)}")
    scale = 100.0 if metric in _PERCENT else 1.0
    rows = table[table["metric"] == metric]
    categories = list(pd.unique(rows["category"].astype(str)))
    categories = [c for c in categories if c != "overall"] + ["overall"]  # the hall last
    halls = list(comparison.results)
    ax = _axes(ax)
    width = 0.8 / len(halls)
    x = np.arange(len(categories))
    for k, hall in enumerate(halls):
        mine = rows[rows["hall"] == hall]
        mine = mine.set_index(mine["category"].astype(str)).reindex(categories)
        mean = mine["mean"].to_numpy(dtype=float) * scale
        error = np.abs(
            np.vstack(
                [
                    mean - mine["mean_lo"].to_numpy(float) * scale,
                    mine["mean_hi"].to_numpy(float) * scale - mean,
                ]
            )
        )
        ax.bar(
            x + (k - (len(halls) - 1) / 2) * width,
            mean,
            width,
            yerr=np.nan_to_num(error),
            capsize=2,
            label=hall,
        )
    differences = []
    overall = rows[rows["category"].astype(str) == "overall"]
    for hall in halls[1:]:
        row = overall[overall["hall"] == hall]
        if len(row):
            d, lo, hi = (
                float(row[c].iloc[0]) * scale
                for c in ("difference", "difference_lo", "difference_hi")
            )
            differences.append(f"{hall} - {comparison.baseline}: {d:+.3g} [{lo:+.3g}, {hi:+.3g}]")
    kind = "paired" if comparison.common_random_numbers else "independent (Welch)"
    replications = next(iter(comparison.results.values())).replications
    title = f"{_METRIC_LABELS.get(metric, metric)}: mean of {replications} replications, 95 % CI"
    if differences:
        title += f"\noverall {'; '.join(differences)} ({kind})"
    ax.set_xticks(x, categories, rotation=90 if len(categories) > 8 else 0, fontsize="small")
    ax.set(xlabel="category", ylabel=_METRIC_LABELS.get(metric, metric), title=title)
    ax.legend(fontsize="small")
    return ax


def duty_spans(results: Results, *, day: int = 0, replication: int = 0) -> pd.DataFrame:
    """Who is at which window when on ``day``: one row per span, with ``staff``, ``window``,
    ``start_min`` and ``end_min`` (minutes of day) and ``kind`` (``"scheduled"``: the
    scenario's shifts, breaks and rotations; ``"reserve"``: the activations of the reserve
    pools in ``replication``, from the reserve table), spans of one member at one window that
    touch merged into one: what :func:`plot_staff_on_duty` draws."""
    scenario = results.scenario
    if not 0 <= day < scenario.hall.days:
        raise ValueError(f"day must be between 0 and {scenario.hall.days - 1}")
    members = scenario.member_names
    windows = scenario.window_names
    rows = [
        (members[post.member], windows[post.window], float(a), float(b), "scheduled")
        for post in build_posts(scenario)[0]
        if post.member >= 0
        for a, b in post.spans
    ]
    reserve = results.reserve
    reserve = reserve[(reserve["replication"] == replication) & (reserve["day"] == day)]
    midnight = day * 1440.0
    rows += [
        (str(s), str(w), opened - midnight, closed - midnight, "reserve")
        for s, w, opened, closed in zip(
            reserve["staff"],
            reserve["window"],
            reserve["opened_min"],
            reserve["closed_min"],
            strict=True,
        )
    ]
    table = pd.DataFrame(rows, columns=["staff", "window", "start_min", "end_min", "kind"])
    # a tidal block or a rotation ends one post and starts the next at the same instant: a
    # member's spans at one window that touch are one span on duty there
    table = table.sort_values(["kind", "staff", "window", "start_min"], kind="stable")
    key = [table[c].to_numpy() for c in ("kind", "staff", "window")]
    same = np.ones(len(table), dtype=bool)
    for values in key:
        same[1:] &= values[1:] == values[:-1]
    same[0] = False
    same[1:] &= table["start_min"].to_numpy()[1:] == table["end_min"].to_numpy()[:-1]
    block = np.cumsum(~same)
    merged = table.groupby(block, sort=False).agg(
        staff=("staff", "first"),
        window=("window", "first"),
        start_min=("start_min", "min"),
        end_min=("end_min", "max"),
        kind=("kind", "first"),
    )
    return merged.sort_values(["kind", "start_min"], ascending=[False, True]).reset_index(drop=True)


def plot_staff_on_duty(
    results: Results, ax: Axes | None = None, *, day: int = 0, replication: int = 0
) -> Axes:
    """Staff on duty over one day, a Gantt chart: a row per staff member (the staff table's,
    labelled with the member's utilisation, the mean over replications), a bar per span at a
    window (labelled with the window), hatched for reserve activations.

    Parameters
    ----------
    results : Results
        A run of a hall with ``[[staff]]`` or reserve pools.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).
    day : int
        The day of the horizon (default the first).
    replication : int
        The replication whose reserve activations are drawn (scheduled spans are the same
        in every replication).

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``: one bar (a rectangle patch) per row of :func:`duty_spans`.

    Raises
    ------
    ValueError
        When the hall has no staff.
    """
    staff = results.staff
    if not len(staff):
        raise ValueError("the hall has no staff ([[staff]] or [[reserve]]) to draw")
    spans = duty_spans(results, day=day, replication=replication)
    names = list(staff["staff"].cat.categories)
    busy = staff.groupby("staff", observed=False)[["open_min", "busy_min"]].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        utilisation = (busy["busy_min"] / busy["open_min"]).reindex(names)
    ax = _axes(ax)
    row = {name: k for k, name in enumerate(names)}
    for span in spans.itertuples(index=False):
        y = row[span.staff]
        reserve = span.kind == "reserve"
        ax.barh(
            y,
            (span.end_min - span.start_min) / 60.0,
            left=span.start_min / 60.0,
            height=0.6,
            color="tab:orange" if reserve else "tab:blue",
            hatch="//" if reserve else None,
            alpha=0.8,
            edgecolor="white",
        )
        ax.text(
            (span.start_min + span.end_min) / 120.0,
            y,
            span.window,
            ha="center",
            va="center",
            fontsize="x-small",
            color="white" if not reserve else "black",
            clip_on=True,
        )
    labels = [
        name if np.isnan(u) else f"{name} ({u:.0%} busy)"
        for name, u in zip(names, utilisation, strict=True)
    ]
    ax.set_yticks(np.arange(len(names)), labels, fontsize="small")
    ax.invert_yaxis()
    hall = results.scenario.hall
    ax.set_xlim(hall.open_minute / 60.0 - 0.25, hall.close_minute / 60.0 + 0.25)
    from matplotlib.patches import Patch

    ax.legend(
        handles=[
            Patch(color="tab:blue", alpha=0.8, label="scheduled"),
            Patch(
                color="tab:orange",
                alpha=0.8,
                hatch="//",
                label=f"reserve (replication {replication})",
            ),
        ],
        fontsize="small",
        loc="lower right",
    )
    ax.set(
        xlabel="time of day (h)",
        title=(
            f"Staff on duty, day {day} (busy share: mean of {results.replications} "
            f"replications x {len(hall.open_days)} days)"
        ),
    )
    return ax


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
