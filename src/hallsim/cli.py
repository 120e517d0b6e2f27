"""The ``hallsim`` command: ``validate``, ``schema`` and ``run``.

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


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer (got {text!r})") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer (got {text!r})")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hallsim", description="Simulate government administrative service halls."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check a scenario file")
    validate.add_argument("file", type=Path)
    commands.add_parser("schema", help="print the JSON Schema of scenario files")
    run = commands.add_parser("run", help="simulate a scenario, print the summary, write tables")
    run.add_argument("file", type=Path)
    run.add_argument("--replications", type=_positive, default=10, metavar="N")
    run.add_argument("--seed", type=_seed, default=None, metavar="S")
    run.add_argument("--workers", type=_positive, default=1, metavar="W")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hallsim`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    from .errors import ScenarioError

    try:
        if args.command == "schema":
            from .scenario import Scenario

            print(json.dumps(Scenario.model_json_schema(), indent=2))
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
        return _run(args)
    except ScenarioError as error:
        print(error, file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from .results import HallWarning, format_summary, operations_lines
    from .runner import simulate
    from .scenario import load_scenario

    scenario = load_scenario(args.file)
    if args.out is not None:
        try:
            args.out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            print(
                f"{args.out}: cannot create the output folder ({error.strerror})", file=sys.stderr
            )
            return 2
    results = simulate(
        scenario,
        replications=args.replications,
        seed=args.seed,
        workers=args.workers,
        keep_tickets=not args.no_tickets,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HallWarning)
        summary = results.summary()
    title = scenario.name or str(args.file)
    print(f"{title}: {results.replications} replications, seed {results.seed}")
    print(format_summary(summary))
    for line in operations_lines(results):
        print(line)
    for message in results.warnings:
        print(f"warning: {message}")
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
