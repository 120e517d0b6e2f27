"""The ``hallsim`` command: ``validate``, ``schema``, ``run``, ``compare``, ``report``, ``plan``,
``fit`` and ``forecast``.

Bad input (a malformed scenario, a bad option) prints located messages and exits with 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

__all__ = ["main"]


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer (got {text!r})") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer (got {text!r})")
    return value


def _memory(text: str) -> str:
    from .size import parse_memory

    try:
        parse_memory(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a size like 4GiB or 500MB (got {text!r})"
        ) from None
    return text


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer (got {text!r})") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer (got {text!r})")
    return value


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"must be a number of processes, 0 for one per CPU (got {text!r})"
        )
    return value


class _WithDefaults(argparse.HelpFormatter):
    """Help that gives each option's default, where it has one worth saying."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = action.default not in (None, False, argparse.SUPPRESS)
        if shown and action.option_strings and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


_SEED_HELP = "root of the replications' seeds (default: fresh entropy, printed)"


def _run_options(
    command: argparse.ArgumentParser, *, replications: int, scheduler: bool = False
) -> None:
    """--replications, --seed and --workers (or --scheduler), as simulate() takes them."""
    command.add_argument(
        "--replications", type=_positive, default=replications, metavar="N",
        help="independent runs of the whole horizon",
    )  # fmt: skip
    command.add_argument("--seed", type=_seed, default=None, metavar="S", help=_SEED_HELP)
    where = command.add_mutually_exclusive_group() if scheduler else command
    where.add_argument(
        "--workers", type=_workers, default=1, metavar="W", help="processes; 0: one per CPU"
    )
    if scheduler:
        where.add_argument(
            "--scheduler", default=None, metavar="ADDRESS",
            help="run on the Dask cluster of this scheduler (tcp://host:8786) instead",
        )  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="hallsim", description="Simulate government administrative service halls."
    )
    parser.add_argument("--version", action="version", version=f"hallsim {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check a scenario file")
    validate.add_argument("file", type=Path)
    schema = commands.add_parser("schema", help="print the JSON Schema of scenario files")
    schema.add_argument(
        "--markdown", action="store_true", help="the format's reference as Markdown instead"
    )
    commands.add_parser("limits", help="print the bounds of the scenario format, and why")
    run = commands.add_parser("run", help="simulate a scenario, print the summary, write tables")
    run.add_argument("file", type=Path)
    _run_options(run, replications=10, scheduler=True)
    run.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="write the summary and every table as CSV, and a PNG, here",
    )
    run.add_argument(
        "--no-tickets", action="store_true", help="keep only aggregates (for very long runs)"
    )
    run.add_argument(
        "--max-memory",
        type=_memory,
        default=None,
        metavar="SIZE",
        help="refuse a run estimated to need more (e.g. 4GiB; default: what is available)",
    )
    compare = commands.add_parser(
        "compare",
        help="run halls side by side on common random numbers; differences with paired CIs",
    )
    compare.add_argument("files", type=Path, nargs="+", metavar="FILE")
    _run_options(compare, replications=30, scheduler=True)
    report = commands.add_parser(
        "report",
        help="simulate halls and write one self-contained HTML report (and compare them)",
    )
    report.add_argument("files", type=Path, nargs="+", metavar="FILE")
    _run_options(report, replications=10, scheduler=True)
    report.add_argument(
        "--out",
        type=Path,
        default=Path("report.html"),
        metavar="FILE",
        help="the HTML file to write",
    )
    plan = commands.add_parser(
        "plan",
        help="staff a hall to a target: requirements, shifts, layout, verified by simulation",
    )
    plan.add_argument("file", type=Path)
    plan.add_argument(
        "--target",
        required=True,
        metavar="TEXT",
        help='e.g. "wait<=10@0.8" (80%% called within 10 min), "delay<=0.2", "mean_wait<=5", '
        '"abandon<=0.05", "util<=0.85"; several separated by commas',
    )
    plan.add_argument("--method", default=None, metavar="M", help="requirement method")
    plan.add_argument(
        "--shifts",
        type=Path,
        default=None,
        metavar="FILE",
        help="shift types (TOML): cover the requirements with shifts",
    )
    plan.add_argument(
        "--layout",
        action="store_true",
        help="first choose which categories each group of windows serves",
    )
    plan.add_argument(
        "--replications",
        type=_positive,
        default=100,
        metavar="N",
        help="replications per verification round",
    )
    plan.add_argument("--seed", type=_seed, default=1, metavar="S", help=_SEED_HELP)
    plan.add_argument(
        "--no-repair", action="store_true", help="report where the plan misses; do not raise it"
    )
    plan.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="write the plan (scenario TOML), tables (CSV) and a staffing chart",
    )
    fit = commands.add_parser(
        "fit", help="read a ticket log, report its rejects, fit a hall and write it as TOML"
    )
    _log_arguments(fit)
    fit.add_argument(
        "--exclude-outliers", action="store_true", help="leave out outlier days (holidays, outages)"
    )
    fit.add_argument(
        "--abandonment",
        choices=("observed", "at_call"),
        default="observed",
        help="at_call: the hall learns of abandonment only when it calls (no-shows)",
    )
    fit.add_argument(
        "--out", type=Path, default=None, metavar="FILE", help="write the fitted hall (TOML)"
    )
    forecast = commands.add_parser(
        "forecast", help="forecast arrivals per category, day and interval from a log"
    )
    _log_arguments(forecast)
    forecast.add_argument(
        "--start", default=None, metavar="DATE", help="first day (default: after the log's last)"
    )
    forecast.add_argument(
        "--days", type=_positive, default=28, metavar="N", help="days to forecast"
    )
    forecast.add_argument(
        "--out", type=Path, default=None, metavar="FILE", help="write the rates (CSV)"
    )
    for command in commands.choices.values():
        command.formatter_class = _WithDefaults
    return parser


def _log_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("log", help="a CSV or Parquet log, or a database URL (with --table)")
    command.add_argument(
        "--columns",
        type=Path,
        default=None,
        metavar="FILE",
        help="TOML: [columns] header = schema name, [outcomes] word = outcome, encoding = ...",
    )
    command.add_argument("--table", default=None, help="the database table of the log")
    command.add_argument(
        "--interval", type=_positive, default=30, metavar="MIN", help="minutes per interval"
    )
    command.add_argument(
        "--calendar",
        type=Path,
        default=None,
        metavar="FILE",
        help="CSV of date,day_type: days of their own type (holiday, closed, ...)",
    )
    command.add_argument(
        "--counts", action="store_true", help="the source holds arrival counts, not tickets"
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hallsim`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    from .errors import LogError, PlanError, ScenarioError

    try:
        if args.command == "schema":
            from .scenario import Scenario

            if args.markdown:
                from .docs import scenario_format

                print(scenario_format(), end="")
            else:
                print(json.dumps(Scenario.model_json_schema(), indent=2))
            return 0
        if args.command == "limits":
            from .limits import limits_table

            print(limits_table())
            return 0
        if args.command == "validate":
            from .scenario import load_scenario

            scenario = load_scenario(args.file)
            staff = f", {len(scenario.member_names)} staff" if scenario.staff else ""
            print(
                f"{args.file}: ok ({len(scenario.categories)} categories, "
                f"{len(scenario.window_names)} windows{staff})"
            )
            return 0
        if args.command == "plan":
            return _plan(args)
        if args.command == "compare":
            return _compare(args)
        if args.command == "report":
            return _report(args)
        if args.command in ("fit", "forecast"):
            return _from_log(args)
        return _run(args)
    except (ScenarioError, PlanError, LogError) as error:
        print(error, file=sys.stderr)
        return 2
    except ConnectionError as error:  # no scheduler at --scheduler
        if getattr(args, "scheduler", None) is None:
            raise
        print(f"hallsim {args.command}: {error}", file=sys.stderr)
        return 2


def _read_history(args: argparse.Namespace):
    """The log (or counts) named on the command line, read with its mapping file."""
    import tomllib

    from .errors import LogError
    from .logs import read_counts, read_log

    options: dict = {}
    if args.columns is not None:
        try:
            mapping = tomllib.loads(args.columns.read_text(encoding="utf-8"))
        except (OSError, UnicodeError, tomllib.TOMLDecodeError) as error:
            raise LogError(
                f"cannot read the mapping file ({error})", source=str(args.columns)
            ) from None
        unknown = set(mapping) - {"columns", "outcomes", "encoding"}
        if unknown:
            raise LogError(
                f"unknown keys {sorted(unknown)}: expected [columns], [outcomes], encoding",
                source=str(args.columns),
            )
        options = {"columns": mapping.get("columns"), "encoding": mapping.get("encoding")}
        if not args.counts:
            options["outcomes"] = mapping.get("outcomes")
    if args.counts:
        return read_counts(args.log, table=args.table, **options)
    return read_log(args.log, table=args.table, **options)


def _from_log(args: argparse.Namespace) -> int:
    """``hallsim fit`` and ``hallsim forecast``: the log's summary and rejects, then the
    fit (written as a scenario) or the forecast (written as rates)."""
    import pandas as pd

    history = _read_history(args)
    print(history.summary().to_string())
    rejected = history.rejected
    if len(rejected):
        print(f"rejected rows ({len(rejected)}; the first 10):")
        print(rejected.head(10).to_string(index=False))
    try:
        calendar = _calendar(args.calendar)
        if args.command == "fit":
            from .fit import fit

            fitted = fit(
                history,
                interval_min=args.interval,
                calendar=calendar,
                exclude_outliers=args.exclude_outliers,
                abandonment=args.abandonment,
            )
            _print_fit(fitted)
            if args.out is not None:
                fitted.save(args.out)
                print(f"fitted hall written to {args.out}")
            return 0
        from .forecast import forecast

        start = args.start
        if start is None:
            start = history.days[-1] + pd.Timedelta(days=1)
        predicted = forecast(
            history, start, days=args.days, interval_min=args.interval, calendar=calendar
        )
    except ValueError as error:  # a history that cannot be fitted or forecast, said why
        print(f"{args.log}: {error}", file=sys.stderr)
        return 2
    print(predicted.report())
    if args.out is not None:
        predicted.rates.to_csv(args.out, index=False)
        print(f"rates written to {args.out}")
    return 0


def _calendar(path: Path | None):
    """The day types of a calendar file (``date,day_type``), as a date -> label mapping."""
    if path is None:
        return None
    import pandas as pd

    from .errors import LogError

    try:
        table = pd.read_csv(path, dtype=str)
    except (OSError, UnicodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise LogError(f"cannot read the calendar ({error})", source=str(path)) from None
    if list(table.columns[:2]) != ["date", "day_type"]:
        raise LogError(
            f"a calendar has the columns date,day_type (got {list(table.columns)})",
            source=str(path),
        )
    dates = pd.to_datetime(table["date"], errors="coerce")
    if dates.isna().any():
        row = int(dates.isna().to_numpy().argmax())
        raise LogError(
            "not a date",
            source=str(path),
            row=row + 1,
            column="date",
            value=table["date"].iloc[row],
            has_value=True,
        )
    return dict(zip(dates, table["day_type"], strict=True))


def _print_fit(fitted) -> None:
    tables = fitted.report()
    with _display():
        if "outliers" in tables and len(tables["outliers"]):
            print("outlier days:")
            print(tables["outliers"][["date", "reason"]].to_string(index=False))
        if "service" in tables:
            chosen = tables["service"][tables["service"]["chosen"]]
            print("service (chosen family per category):")
            print(
                chosen[["category", "family", "n", "mean", "mean_lo", "mean_hi", "cv"]].to_string(
                    index=False
                )
            )
        if "patience" in tables:
            print("patience (censored fit):")
            print(tables["patience"].to_string(index=False))
        for note in fitted.notes:
            print(f"note: {note}")


def _display():
    import pandas as pd

    return pd.option_context("display.width", 120, "display.precision", 3)


def _out_folder(out: Path | None) -> bool:
    if out is None:
        return True
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"{out}: cannot create the output folder ({error.strerror})", file=sys.stderr)
        return False
    return True


def _plan(args: argparse.Namespace) -> int:
    from . import plan as hp
    from .plan.shifts_file import read_shifts
    from .scenario import load_scenario

    scenario = load_scenario(args.file)
    target = hp.Target.parse(args.target)
    shifts = read_shifts(args.shifts) if args.shifts is not None else None
    if not _out_folder(args.out):
        return 2
    print(f"{scenario.name or args.file}: planning for {target!r}")
    chosen = None
    if args.layout:
        chosen = hp.layout(scenario, target)
        scenario = chosen.to_scenario()
        print(
            "layout: "
            + ", ".join(f"{row.group} x{row.windows}" for row in chosen.windows.itertuples())
        )
    required = hp.requirements(
        scenario, target, method=args.method, replications=args.replications, seed=args.seed
    )
    print(f"requirements by {required.attrs['method']}: {required.attrs['why']}")
    peak = required.groupby(["day", "weekday"])["staff"].agg(["max", "sum"])
    hours = required["interval_min"].iloc[0] / 60.0
    for (day, weekday), row in peak.iterrows():
        print(
            f"  day {day} ({weekday}): at most {row['max']} staff, "
            f"{row['sum'] * hours:.1f} staff-hours at the windows"
        )
    plan = required
    if shifts is not None:
        shift_types, staff_types, options = shifts
        plan = hp.schedule(required, shift_types, staff_types=staff_types, **options)
        print(
            f"shifts: cost {plan.cost:.1f}, {plan.status}"
            f"{'' if plan.optimal else f' (gap {plan.gap:.1%})'}"
        )
    check = hp.verify(
        plan,
        target,
        scenario=scenario,
        replications=args.replications,
        seed=args.seed,
        repair=not args.no_repair,
    )
    for row in check.iterations.itertuples():
        print(
            f"  verification {row.iteration}: {row.missed} of {row.intervals} intervals "
            f"missed{'; ' + row.change if row.change else ''}"
        )
    if check.ok:
        print("the plan meets the target in every interval (95 % confidence)")
    else:
        print(f"warning: the plan misses the target in {len(check.missed)} intervals")
    if args.out is not None:
        _write_plan(check, required, chosen, args.out)
        print(f"plan, tables and staffing chart written to {args.out}")
    return 0


def _write_plan(check, required, chosen, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plotting import plot_staffing
    from .scenario import save_scenario

    scenarios = check.scenario if isinstance(check.scenario, list) else [check.scenario]
    for k, scenario in enumerate(scenarios):
        name = (
            "plan.toml"
            if len(scenarios) == 1
            else f"plan-day{k}-{scenario.hall.first_weekday}.toml"
        )
        save_scenario(scenario, out / name)
    required.to_csv(out / "requirements.csv", index=False)
    plan = check.plan
    if hasattr(plan, "coverage"):
        plan.shifts.to_csv(out / "shifts.csv", index=False)
        plan.coverage.to_csv(out / "coverage.csv", index=False)
        # the chart shows the requirement as computed, before repairs raised it
        chart = plan.coverage.assign(required=_on_grid(required, plan.coverage))
    else:
        plan.to_csv(out / "plan.csv", index=False)
        chart = plan.rename(columns={"staff": "staffed"}).assign(
            required=required["staff"].to_numpy()
        )
    if chosen is not None:
        chosen.windows.to_csv(out / "layout.csv", index=False)
    check.intervals.to_csv(out / "verification.csv", index=False)
    check.iterations.to_csv(out / "iterations.csv", index=False)
    days = sorted(chart["day"].unique()) if "day" in chart else [0]
    figure, axes = plt.subplots(len(days), 1, figsize=(9, 2.6 * len(days) + 1), squeeze=False)
    for ax, day in zip(axes[:, 0], days, strict=True):
        plot_staffing(chart, ax=ax, day=day)
        ax.set_title(f"day {day}")
    figure.tight_layout()
    figure.savefig(out / "staffing.png", dpi=110)
    plt.close(figure)


def _on_grid(required, coverage):
    """The staff ``required`` (a requirement table) on the schedule grid of ``coverage``."""
    length = int(required["interval_min"].iloc[0])
    first = int(required["interval_start"].min())
    start = first + (coverage["interval_start"] - first) // length * length
    keys = ["day", "group", "interval_start"]
    table = required.set_index(keys)["staff"]
    index = list(zip(coverage["day"], coverage["group"], start, strict=True))
    return table.reindex(index).fillna(0).to_numpy(dtype=int)


def _compare(args: argparse.Namespace) -> int:
    from .compare import compare, format_comparison
    from .scenario import load_scenario

    if len(args.files) < 2:
        print("hallsim compare: give at least two scenario files", file=sys.stderr)
        return 2
    names = [file.stem for file in args.files]
    if len(set(names)) < len(names):  # same stem in two folders: keep the paths
        names = [str(file) for file in args.files]
    scenarios = {name: load_scenario(file) for name, file in zip(names, args.files, strict=True)}
    comparison = compare(
        scenarios,
        replications=args.replications,
        seed=args.seed,
        workers=args.workers,
        client=args.scheduler,
    )
    print(f"{len(names)} halls, {args.replications} replications each, seed {comparison.seed}")
    print(format_comparison(comparison))
    return 0


def _report(args: argparse.Namespace) -> int:
    from .report import write_report

    try:
        out = write_report(
            args.files,
            args.out,
            replications=args.replications,
            seed=args.seed,
            workers=args.workers,
            client=args.scheduler,
            progress=True,
        )
    except OSError as error:  # the report cannot be written there
        print(f"hallsim report: {error}", file=sys.stderr)
        return 2
    print(f"report of {len(args.files)} hall{'s' if len(args.files) > 1 else ''} written to {out}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from .errors import ScenarioError
    from .results import PrecisionWarning, format_summary, operations_lines
    from .runner import simulate
    from .scenario import load_scenario

    scenario = load_scenario(args.file)
    if not _out_folder(args.out):
        return 2
    try:
        results = simulate(
            scenario,
            replications=args.replications,
            seed=args.seed,
            workers=args.workers,
            client=args.scheduler,
            keep_tickets=not args.no_tickets,
            max_memory=args.max_memory,
        )
    except ScenarioError as error:  # too large to run: say which file
        raise error.with_source(str(args.file)) from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = results.summary()
    title = scenario.name or str(args.file)
    print(f"{title}: {results.replications} replications, seed {results.seed}")
    print(format_summary(summary))
    for line in operations_lines(results):
        print(line)
    for message in results.warnings:
        print(f"warning: {message}")
    for warning in caught:
        if issubclass(warning.category, PrecisionWarning):
            print(f"note: {warning.message}")
    if args.out is not None:
        _write(results, summary, args.out)
        print(f"tables and plot written to {args.out}")
    return 0


def _write(results, summary, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from .plotting import plot_day

    summary.to_csv(out / "summary.csv")
    results.intervals.to_csv(out / "intervals.csv", index=False)
    results.windows.to_csv(out / "windows.csv", index=False)
    for name in ("staff", "reserve", "back_office"):
        table = getattr(results, name)
        if len(table):
            table.to_csv(out / f"{name}.csv", index=False)
    if results.tickets is not None:
        results.tickets.to_csv(out / "tickets.csv", index=False)
    figure = plot_day(results)
    figure.savefig(out / "day.png", dpi=110)


if __name__ == "__main__":
    sys.exit(main())
