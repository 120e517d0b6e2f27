"""One self-contained HTML report of one or more halls, to hand on.

:func:`write_report` simulates each hall and writes a single HTML file with, per hall, the
summary (95 % intervals), the operations and warnings, the plots of :mod:`hallsim.plotting`
(queue length and wait over the day, the wait distribution, the load per window, the staff
on duty), the per-interval and per-window tables and the scenario file; with two halls or
more, first their comparison (:func:`hallsim.compare`: paired intervals on common random
numbers where the halls share their demand). The plots are PNG images embedded as base64
``data:`` URLs and the style sheet is inline: the file needs no network and no other file,
and has no script. The seed is printed with the command that repeats the report.
"""

from __future__ import annotations

import base64
import html
import io
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .scenario import Scenario, load_scenario

if TYPE_CHECKING:
    from distributed import Client

    from .compare import Comparison
    from .results import Results

__all__ = ["hall_interval_table", "window_table", "write_report"]

# Above this many categories (ticket classes with arrivals) the plots over the day show the
# hall as a whole, and the wait distribution the busiest categories
MAX_LINES = 8
# Above this many, the lines per category come without their bands (they would hide them)
BANDS = 4

# Summary columns of the report: metric -> (label, scale, digits)
_SUMMARY = {
    "tickets": ("tickets per replication", 1.0, 0),
    "mean_wait": ("mean wait (min)", 1.0, 1),
    "p90_wait": ("P90 wait (min)", 1.0, 1),
    "service_level": ("within SLA (%)", 100.0, 1),
    "abandonment": ("abandoned (%)", 100.0, 1),
    "utilisation": ("utilisation (%)", 100.0, 1),
}
_HALL_WIDE = {
    "utilisation_gini": ("utilisation Gini of the windows", 1.0, 2),
    "utilisation_cv": ("utilisation CV of the windows", 1.0, 2),
    "tickets_per_window_day": ("tickets per window per day", 1.0, 1),
    "peak_day_tickets": ("tickets on the peak day", 1.0, 0),
    "peak_day_mean_wait": ("mean wait on the peak day (min)", 1.0, 1),
}
_COMPARED = ("mean_wait", "p90_wait", "service_level", "abandonment", "utilisation")

_STYLE = """
body { font-family: sans-serif; margin: 1.5em auto; max-width: 72em; padding: 0 1em;
       color: #222; line-height: 1.4; }
h1 { border-bottom: 2px solid #444; }
h2 { border-bottom: 1px solid #aaa; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
th { background: #eee; }
td:first-child, th:first-child { text-align: left; }
.scroll { overflow-x: auto; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #555; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.8em; }
.note { color: #555; }
.warning { color: #a00; }
"""


def write_report(
    scenarios: str | Path | Scenario | Sequence | Mapping,
    out: str | Path,
    *,
    replications: int = 10,
    seed: int | None = None,
    workers: int = 1,
    client: Client | str | None = None,
    progress: bool = False,
    title: str | None = None,
) -> Path:
    """Simulate halls and write one self-contained HTML report of them.

    Parameters
    ----------
    scenarios : path, Scenario, sequence of them, or mapping of name to them
        The halls: scenario files (read with :func:`hallsim.load_scenario`; the report shows
        the file's text) or :class:`~hallsim.Scenario` objects (shown as TOML). A hall's
        name is its mapping key, else the file's stem, else the scenario's ``name``. With
        two halls or more the first is the baseline of the comparison.
    out : str or pathlib.Path
        The HTML file to write (replaced if it exists); its folder must exist.
    replications : int
        Replications per hall (the intervals are over these).
    seed : int, optional
        Root seed (default: fresh entropy); printed in the report, with the command that
        repeats it. With two halls or more it is the seed of :func:`hallsim.compare`.
    workers : int
        Processes per simulation (0: one per CPU), as in :func:`hallsim.simulate`.
    client : dask.distributed.Client or str, optional
        Run the simulations on this Dask cluster (a client, or a scheduler address such as
        ``"tcp://host:8786"``) instead of local processes, as in :func:`hallsim.simulate`:
        the same seed gives the same report.
    progress : bool
        Show progress bars.
    title : str, optional
        The report's title (default: the halls' names).

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    hallsim.ScenarioError
        A scenario file that cannot be read or is not a valid hall.
    TypeError
        A hall given as something else than a path or a Scenario.
    ValueError
        Bad ``replications``, ``seed`` or names.
    FileNotFoundError, IsADirectoryError
        When ``out`` cannot be written (checked before simulating).

    Notes
    -----
    With two halls or more, :func:`hallsim.compare` runs them first (without their
    tickets), then each hall runs again on the same seed with its tickets, for the wait
    distribution: the same numbers, since a seed gives the same tables.
    """
    halls = _halls(scenarios)
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise ValueError(f"replications must be a positive integer (got {replications!r})")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed must be a non-negative integer (got {seed!r})")
    out = Path(out)
    if out.is_dir():
        raise IsADirectoryError(f"{out}: is a folder; give the report's file name")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"{out.parent}: no such folder for the report")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)

    from .compare import compare
    from .results import HallWarning
    from .runner import simulate

    comparison = None
    seeds = {name: seed for name in halls}
    if len(halls) > 1:
        comparison = compare(
            {name: scenario for name, (scenario, _, _) in halls.items()},
            replications=replications,
            seed=seed,
            workers=workers,
            client=client,
            progress=progress,
        )
        seeds = {name: run.seed for name, run in comparison.results.items()}
    runs = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HallWarning)
        for name, (scenario, _, _) in halls.items():
            runs[name] = simulate(
                scenario,
                replications=replications,
                seed=seeds[name],
                workers=workers,
                client=client,
                keep_tickets=True,
                progress=progress,
            )
        page = _page(halls, runs, comparison, replications, seed, title)
    out.write_text(page, encoding="utf-8")
    return out


def _halls(scenarios) -> dict[str, tuple[Scenario, str, str]]:
    """Name -> (scenario, its text, where it came from) of what :func:`write_report` was given."""
    if isinstance(scenarios, str | Path | Scenario):
        items = [(None, scenarios)]
    elif isinstance(scenarios, Mapping):
        items = [(str(name), value) for name, value in scenarios.items()]
    elif isinstance(scenarios, Sequence):
        items = [(None, value) for value in scenarios]
    else:
        raise TypeError(
            "scenarios must be a scenario file, a Scenario, or a list or mapping of them "
            f"(got {type(scenarios).__name__})"
        )
    if not items:
        raise ValueError("no scenarios to report on")
    paths = [Path(value) for _, value in items if isinstance(value, str | Path)]
    stems = [path.stem for path in paths]
    unique_stems = len(set(stems)) == len(stems)
    halls: dict[str, tuple[Scenario, str, str]] = {}
    for k, (name, value) in enumerate(items):
        if isinstance(value, str | Path):
            path = Path(value)
            scenario = load_scenario(path)
            text = path.read_bytes().decode("utf-8-sig")
            default = path.stem if unique_stems else str(path)
            source = str(path)
        elif isinstance(value, Scenario):
            import tomli_w

            scenario = value
            text = tomli_w.dumps(scenario.model_dump(by_alias=True, exclude_none=True))
            default = scenario.name or f"hall {k + 1}"
            source = None
        else:
            raise TypeError(
                f"each hall must be a scenario file or a hallsim.Scenario (got "
                f"{type(value).__name__})"
            )
        name = name or default
        if name in halls:
            raise ValueError(f"two halls are named {name!r}: give them names in a mapping")
        halls[name] = (scenario, text, source or f"{name}.toml")
    return halls


def _clock(minute: float) -> str:
    """``"HH:MM"`` of a minute of the day (past midnight: ``"24:30"``, for overtime)."""
    minute = int(round(minute))
    return f"{minute // 60:02d}:{minute % 60:02d}"


def hall_interval_table(results: Results, *, by_category: bool = False) -> pd.DataFrame:
    """The per-interval table of the report: per reporting interval (and category), means
    over replications and days of arrivals, served and abandoned tickets (by the interval
    the ticket was issued in), the mean wait of served tickets (weighted by tickets served),
    the time-average queue length and windows busy; by category also the windows open that
    serve it. For the hall as a whole, categories are added up (windows open are not: a
    window serves several)."""
    table = results.intervals
    per = results.replications * len(results.scenario.hall.open_days)
    keys = ["start_min"] + (["category"] if by_category else [])
    table = table.assign(wait_sum=(table["mean_wait"] * table["served"]).fillna(0.0))
    columns = ["arrivals", "served", "abandoned", "wait_sum", "queue_length", "busy_windows"]
    if by_category:
        columns.append("open_windows")
    sums = table.groupby(keys, observed=True)[columns].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        wait = sums["wait_sum"] / sums["served"].where(sums["served"] > 0)
    shown = (sums.drop(columns="wait_sum") / per).assign(mean_wait=wait).reset_index()
    starts = np.sort(shown["start_min"].unique())
    ends = np.append(starts[1:], starts[-1] + results.scenario.hall.interval_min)
    label = {a: f"{_clock(a)}-{_clock(b)}" for a, b in zip(starts, ends, strict=True)}
    shown.insert(0, "interval", shown.pop("start_min").map(label))
    order = ["interval"] + (["category"] if by_category else [])
    order += ["arrivals", "served", "abandoned", "mean_wait", "queue_length", "busy_windows"]
    return shown[order + (["open_windows"] if by_category else [])]


def window_table(results: Results) -> pd.DataFrame:
    """The per-window table of the report: per window, means over replications and days of
    open and busy hours, minutes lost recalling absent holders and tickets served, and the
    utilisation (busy over open time)."""
    windows = results.windows
    per = results.replications * len(results.scenario.hall.open_days)
    grouped = windows.groupby("window", observed=True, sort=False)
    sums = grouped[["open_min", "busy_min", "lost_min", "served"]].sum() / per
    table = pd.DataFrame(
        {
            "group": grouped["group"].first().astype(str),
            "open (h/day)": sums["open_min"] / 60.0,
            "busy (h/day)": sums["busy_min"] / 60.0,
            "lost to recalls (min/day)": sums["lost_min"],
            "tickets served per day": sums["served"],
        }
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        table["utilisation (%)"] = 100.0 * sums["busy_min"] / sums["open_min"]
    table.index = table.index.astype(str)
    table.index.name = "window"
    return table.reset_index()


def _figure_html(draw, caption: str, size: tuple[float, float] = (9.0, 4.5)) -> str:
    """A figure drawn by ``draw(ax)`` as an embedded PNG (no pyplot: no display needed)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    draw(figure.subplots())
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    alt = html.escape(caption, quote=True)
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{alt}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _table_html(table: pd.DataFrame, digits: int = 2, index: bool = False) -> str:
    text = table.to_html(
        index=index,
        border=0,
        na_rep="-",
        float_format=lambda value: f"{value:,.{digits}f}",
        escape=True,
    )
    return f'<div class="scroll">{text}</div>'


def _with_interval(table: pd.DataFrame, metric: str, scale: float, digits: int) -> list[str]:
    mean = table[metric].to_numpy(dtype=float) * scale
    half = (table[f"{metric}_hi"] - table[f"{metric}_lo"]).to_numpy(dtype=float) * scale / 2
    return [
        "-"
        if np.isnan(m)
        else (f"{m:.{digits}f}" if np.isnan(h) else f"{m:.{digits}f} ± {h:.{digits}f}")
        for m, h in zip(mean, half, strict=True)
    ]


def _summary_html(results: Results) -> str:
    from .results import operations_lines

    summary = results.summary()
    main = pd.DataFrame(
        {
            label: _with_interval(summary, metric, scale, digits)
            for metric, (label, scale, digits) in _SUMMARY.items()
        },
        index=summary.index.astype(str),
    )
    main.index.name = "category"
    overall = summary.loc[["overall"]]
    wide = pd.DataFrame(
        {
            "hall as a whole": [label for label, _, _ in _HALL_WIDE.values()],
            "mean ± 95 % CI": [
                _with_interval(overall, metric, scale, digits)[0]
                for metric, (_, scale, digits) in _HALL_WIDE.items()
            ],
        }
    )
    parts = [
        "<p class='note'>Means over replications ± the half-width of the 95 % Student-t "
        "interval across replications. Tickets are per replication over all "
        f"{len(results.scenario.hall.open_days)} open days; percentages are shares of tickets "
        "issued; a category's utilisation is that of the windows serving it.</p>",
        _table_html(main.reset_index()),
        _table_html(wide),
    ]
    lines = operations_lines(results)
    if lines:
        parts.append("<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in lines) + "</ul>")
    for message in results.warnings:
        parts.append(f"<p class='warning'>warning: {html.escape(message)}</p>")
    return "\n".join(parts)


def _comparison_html(comparison: Comparison) -> str:
    from .compare import difference_cells
    from .plotting import _METRIC_LABELS, _PERCENT, plot_comparison

    parts = [f"<p>{html.escape(comparison.note)}; seed {comparison.seed}.</p>"]
    for metric in _COMPARED:
        scale = 100.0 if metric in _PERCENT else 1.0
        shown = difference_cells(comparison, metric, scale, digits=2)
        shown.index = shown.index.astype(str)
        shown.index.name = "category"
        parts.append(f"<h3>{html.escape(_METRIC_LABELS[metric])}</h3>")
        parts.append(_table_html(shown.reset_index()))
    n_categories = comparison.table["category"].nunique()
    width = max(9.0, 0.5 * n_categories * len(comparison.results))
    for metric in ("mean_wait", "service_level", "utilisation"):
        parts.append(
            _figure_html(
                lambda ax, metric=metric: plot_comparison(comparison, metric, ax=ax),
                f"{_METRIC_LABELS[metric]} of the halls side by side, per category and "
                "overall (bars: means over replications; whiskers: 95 % CI)",
                size=(width, 4.5),
            )
        )
    return "\n".join(parts)


def _plots_html(results: Results) -> str:
    from . import plotting

    arrivals = results.intervals.groupby("category", observed=True)["arrivals"].sum()
    busy = [str(c) for c in arrivals[arrivals > 0].sort_values(ascending=False).index]
    many = len(busy) > MAX_LINES
    bands = len(busy) <= BANDS or many
    if many:
        which = f"the hall as a whole ({len(busy)} categories)"
    else:
        which = "per category" + ("" if bands else f" (no bands: more than {BANDS} categories)")
    band = ", 95 % band across replications" if bands else ""
    parts = [
        _figure_html(
            lambda ax: plotting.plot_queue_length(results, ax=ax, overall=many, bands=bands),
            f"Tickets waiting over the day, {which}: time average per interval, mean over "
            f"replications and days{band}.",
        ),
        _figure_html(
            lambda ax: plotting.plot_wait(results, ax=ax, overall=many, bands=bands),
            f"Mean wait of served tickets by the interval they were issued in, {which}{band}; "
            "dashed: the SLA wait.",
        ),
    ]
    shown = busy[:MAX_LINES]
    note = f" (the {MAX_LINES} busiest of {len(busy)} categories)" if many else ""
    parts.append(
        _figure_html(
            lambda ax: plotting.plot_wait_distribution(results, ax=ax, categories=shown),
            f"Share of served tickets that waited at most a given time{note}, pooled over "
            "replications and days; dashed: the SLA wait.",
        )
    )
    n_windows = results.windows["window"].nunique()
    parts.append(
        _figure_html(
            lambda ax: plotting.plot_window_load(results, ax=ax),
            "Busy and idle hours per day of each window (means over replications and days), "
            "utilisation above each bar.",
            size=(max(9.0, 0.3 * n_windows), 4.5),
        )
    )
    if len(results.staff):
        n_staff = results.staff["staff"].nunique()
        parts.append(
            _figure_html(
                lambda ax: plotting.plot_staff_on_duty(results, ax=ax, day=0),
                "Staff on duty on the first day: scheduled spans at each window (shifts, "
                "breaks, rotations) and, hatched, the reserve activations of replication 0.",
                size=(9.0, max(3.0, 0.35 * n_staff + 1.5)),
            )
        )
    return "\n".join(parts)


def _page(
    halls: dict[str, tuple[Scenario, str, str]],
    runs: dict[str, Results],
    comparison: Comparison | None,
    replications: int,
    seed: int,
    title: str | None,
) -> str:
    from . import __version__

    names = list(halls)
    title = title or (" vs ".join(names) if len(names) > 1 else names[0])
    sources = " ".join(source for _, _, source in halls.values())
    command = f"hallsim report {sources} --replications {replications} --seed {seed}"
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{len(names)} hall{'s' if len(names) > 1 else ''}, {replications} replications "
        f"each, seed <strong>{seed}</strong> (hallsim {__version__}). The same seed gives "
        f"the same report: <code>{html.escape(command)}</code>.</p>",
    ]
    if comparison is not None:
        body += [
            "<h2>Comparison</h2>",
            f"<p>Baseline: {html.escape(comparison.baseline)}. Each hall's mean and each other "
            "hall's difference from the baseline, with its 95 % interval.</p>",
            _comparison_html(comparison),
        ]
    for name, results in runs.items():
        scenario, text, _ = halls[name]
        hall = scenario.hall
        anchor = html.escape(name)
        body += [
            f"<h2>{anchor}</h2>",
            f"<p>{html.escape(scenario.name or name)}: {hall.open}-{hall.close}, "
            f"{hall.days} day{'s' if hall.days > 1 else ''} from {hall.first_weekday}, "
            f"{len(scenario.window_names)} windows, {len(scenario.categories)} categories; "
            f"{results.replications} replications, seed {results.seed}.</p>",
            "<h3>Summary</h3>",
            _summary_html(results),
            "<h3>Plots</h3>",
            _plots_html(results),
            "<h3>Per interval (the hall as a whole)</h3>",
            "<p class='note'>Means per day over replications and days; arrivals, served, "
            "abandoned and mean wait (min) by the interval the ticket was issued in; queue "
            "length and busy windows are time averages over the interval.</p>",
            _table_html(hall_interval_table(results)),
            "<details><summary>Per interval and category</summary>",
            _table_html(hall_interval_table(results, by_category=True)),
            "</details>",
            "<h3>Per window</h3>",
            _table_html(window_table(results)),
            "<h3>Scenario</h3>",
            f"<pre>{html.escape(text)}</pre>",
        ]
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
