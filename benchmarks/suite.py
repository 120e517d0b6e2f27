"""The benchmark suite: speed and accuracy benchmarks in one run, JSON results, a baseline.

Runs the benchmarks registered in :data:`BENCHMARKS` (each a ``suite(short)`` function of a
script in this folder, returning the records of ``figures.py``), writes their figures with
the machine's description as JSON, and compares them with a stored baseline:

- speed figures by their **ratio** to a reference timed in the same process (the minimal
  FCFS kernel, the simpy engine, ...), which moves far less between runs and machines than
  seconds do: a gated ratio below ``baseline x (1 - tolerance)`` is a regression;
- accuracy checks by their numbers: a check whose exact value lies outside the confidence
  interval fails (as does an output that should be identical and is not), with or without
  a baseline, so a faster wrong engine fails.

Usage (from the repository root)::

    python benchmarks/suite.py [--short] [--out results.json] [--only NAME ...]
        [--baseline benchmarks/baseline.json] [--tolerance T] [--save-baseline]
    python benchmarks/suite.py --results results.json --baseline benchmarks/baseline.json

``--short`` runs tiny horizons (seconds); ``--baseline`` compares with that file's section of
the same mode; ``--save-baseline`` writes this run into it instead (the other mode's section
is kept); ``--results`` compares a results file without running anything. Exit status 1
when a check fails, a benchmark raises or a gated ratio regresses; 2 for a usage error.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import math
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the scripts import each other by name, as when run directly
    sys.path.insert(0, str(HERE))

from figures import check_passes  # noqa: E402

__all__ = [
    "BENCHMARKS",
    "TOLERANCE",
    "Benchmark",
    "compare",
    "function",
    "machine",
    "main",
    "run",
]

SCHEMA = 1
DEFAULT_BASELINE = HERE / "baseline.json"
#: Default tolerance of a gated ratio, by mode: a ratio below ``baseline x (1 - tolerance)``
#: fails. Ratios of the full mode moved by up to about +-10 % between quiet runs on the
#: project machine and by 15-20 % under load; the short mode times milliseconds, where fixed
#: costs and the scheduler weigh more (README: "The suite").
TOLERANCE = {"full": 0.25, "short": 0.5}
#: Above this load average per CPU (at the start or the end of a run) the comparison warns
#: that the figures were taken on a busy machine.
BUSY = 0.5


class Benchmark(NamedTuple):
    """A registered benchmark: ``target`` is ``"module:function"`` in this folder, the
    function taking ``short: bool`` and returning ``{"figures", "checks", "info"}``."""

    name: str
    target: str
    short: bool = True  # also run in short mode


#: The suite. Registering a script's ``suite`` function is one line here.
BENCHMARKS = [
    Benchmark("hall8", "bench_hall8:suite"),
    Benchmark("engines", "bench_engines:suite"),
    Benchmark("operations", "bench_operations:suite"),
    Benchmark("replications", "bench_replications:suite"),
    Benchmark("many_items", "bench_many_items:suite"),
    Benchmark("replay", "bench_replay:suite"),
    Benchmark("plan", "bench_plan:suite"),
    Benchmark("logs", "bench_logs:suite", short=False),
    Benchmark("erlang_c", "accuracy:erlang_c"),
    Benchmark("erlang_a", "accuracy:erlang_a"),
    Benchmark("exact_day", "accuracy:exact_day"),
]


def _git(*args: str) -> str | None:
    """Output of a git command in this repository, None where git cannot tell."""
    try:
        done = subprocess.run(
            ["git", "-C", str(HERE), *args], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _cpu_model() -> str:
    """The CPU's model name (Linux), else what ``platform`` says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine() -> dict:
    """What ran the suite: versions, CPUs, load average, the git commit."""
    import numba
    import numpy
    import pandas
    import scipy

    import hallsim

    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "scipy": scipy.__version__,
        "pandas": pandas.__version__,
        "hallsim": hallsim.__version__,
        "hallsim_path": str(Path(hallsim.__file__).parent),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": None if status is None else bool(status),
    }


def _selected(names: Iterable[str] | None, short: bool) -> list[Benchmark]:
    """The registered benchmarks to run: ``names`` in the registry's order, else all of the
    mode."""
    known = {b.name for b in BENCHMARKS}
    if names is not None:
        unknown = sorted(set(names) - known)
        if unknown:
            raise ValueError(f"unknown benchmarks {unknown}; registered: {sorted(known)}")
        return [b for b in BENCHMARKS if b.name in set(names)]
    return [b for b in BENCHMARKS if b.short or not short]


def function(name: str) -> Callable[[bool], dict]:
    """The ``suite(short)`` function of the registered benchmark ``name``."""
    targets = {b.name: b.target for b in BENCHMARKS}
    if name not in targets:
        raise ValueError(f"unknown benchmark {name!r}; registered: {sorted(targets)}")
    module, _, attribute = targets[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


def run(
    names: Iterable[str] | None = None,
    short: bool = False,
    log: Callable[[str], object] = lambda line: print(line, file=sys.stderr, flush=True),
) -> dict:
    """Run the benchmarks and return the results document.

    Parameters
    ----------
    names : iterable of str, optional
        Registered benchmarks to run (default: all, less the full-mode ones with ``short``).
    short : bool, default False
        Tiny horizons: the whole suite in seconds once the kernels are compiled.
    log : callable
        Receives a progress line per benchmark (default: standard error).

    Returns
    -------
    dict
        ``{"schema", "mode", "started", "seconds", "machine", "benchmarks"}``; each benchmark
        ``{"seconds", "figures", "checks", "info"}``, or ``{"seconds", "error"}`` if it raised.
    """
    chosen = _selected(names, short)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    begin = time.perf_counter()
    info = machine()
    results = {}
    for k, benchmark in enumerate(chosen, 1):
        # the scripts collect garbage before each timed call: what is left of the imports,
        # the compiled kernels and earlier benchmarks is frozen, so a collection takes
        # milliseconds instead of a tenth of a second (most of the short mode otherwise)
        gc.collect()
        gc.freeze()
        t0 = time.perf_counter()
        try:
            record = function(benchmark.name)(short)
            entry = {
                "figures": record.get("figures", {}),
                "checks": record.get("checks", {}),
                "info": record.get("info", {}),
            }
        except Exception:  # a benchmark that raises is recorded, and fails the suite
            entry = {"error": traceback.format_exc()}
        entry = {"seconds": time.perf_counter() - t0, **entry}
        results[benchmark.name] = entry
        verdict = "ERROR" if "error" in entry else f"{entry['seconds']:.1f} s"
        log(f"[{k}/{len(chosen)}] {benchmark.name}: {verdict}")
    info["load_average_end"] = list(os.getloadavg())
    return {
        "schema": SCHEMA,
        "mode": "short" if short else "full",
        "started": started,
        "seconds": time.perf_counter() - begin,
        "machine": info,
        "benchmarks": results,
    }


class Row(NamedTuple):
    """One line of a comparison: ``verdict`` is ``ok``, ``faster``, ``new``, ``reported``,
    ``missing`` (informative) or ``REGRESSED``, ``FAIL``, ``ERROR`` (failures)."""

    benchmark: str
    name: str
    current: str
    baseline: str
    change: str
    verdict: str


FAILURES = ("REGRESSED", "FAIL", "ERROR")


def _check_text(check: dict) -> str:
    if "identical" in check:
        return "identical" if check["identical"] is True else "DIFFERENT"
    return f"{check['estimate']:.5g} +- {check['half_width']:.2g}"


def compare(results: dict, baseline: dict | None, tolerance: float) -> list[Row]:
    """Judge ``results`` (and compare them with ``baseline``, a results document of the same
    mode, if given): the rows of the comparison, failures marked as in :class:`Row`."""
    if not 0 <= tolerance < 1:
        raise ValueError(f"tolerance must be in [0, 1) (got {tolerance!r})")
    if baseline is not None and baseline.get("mode") != results.get("mode"):
        raise ValueError(
            f"the baseline is of mode {baseline.get('mode')!r}, the results of "
            f"{results.get('mode')!r}"
        )
    before = {} if baseline is None else baseline["benchmarks"]
    rows = []
    for name, entry in results["benchmarks"].items():
        if "error" in entry:
            last = entry["error"].strip().splitlines()[-1]
            rows.append(Row(name, "(raised)", last, "", "", "ERROR"))
            continue
        old = before.get(name, {})
        for figure, now in entry["figures"].items():
            ratio = now["ratio"]
            current = f"{ratio:.4g} x {now['reference']}"
            then = old.get("figures", {}).get(figure)
            if then is None:
                rows.append(Row(name, figure, current, "", "", "new" if before else "reported"))
                continue
            change = ratio / then["ratio"] - 1
            if not (now["gate"] and then["gate"]):
                verdict = "reported"
            elif not math.isfinite(ratio) or ratio < then["ratio"] * (1 - tolerance):
                verdict = "REGRESSED"
            elif ratio > then["ratio"] * (1 + tolerance):
                verdict = "faster"
            else:
                verdict = "ok"
            rows.append(
                Row(name, figure, current, f"{then['ratio']:.4g}", f"{change:+.0%}", verdict)
            )
        for check, now in entry["checks"].items():
            exact = "identical" if "identical" in now else f"exact {now['exact']:.5g}"
            verdict = "ok" if check_passes(now) else "FAIL"
            rows.append(Row(name, check, _check_text(now), exact, "", verdict))
        for figure in old.get("figures", {}).keys() - entry["figures"].keys():
            rows.append(
                Row(name, figure, "", f"{old['figures'][figure]['ratio']:.4g}", "", "missing")
            )
        for check in old.get("checks", {}).keys() - entry["checks"].keys():
            rows.append(Row(name, check, "", "", "", "missing"))
    return rows


def table(rows: list[Row]) -> str:
    """The comparison as a plain-text table."""
    header = Row("benchmark", "figure or check", "current", "baseline", "change", "verdict")
    lines = [header, *rows]
    widths = [max(len(str(row[i])) for row in lines) for i in range(len(header))]
    out = []
    for k, row in enumerate(lines):
        out.append(
            "  ".join(
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )
        if k == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out)


def load(path: Path) -> dict:
    """A results or baseline document."""
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def save(document: dict, path: Path) -> None:
    """Write a document as indented JSON (no NaN: strict JSON)."""
    path.write_text(json.dumps(document, indent=1, allow_nan=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run (or load) the results, judge and compare them; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="tiny horizons, seconds in all")
    parser.add_argument("--out", type=Path, metavar="FILE", help="write the results as JSON")
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="run these benchmarks only (see --list)"
    )
    parser.add_argument("--list", action="store_true", help="list the registered benchmarks")
    parser.add_argument(
        "--baseline",
        type=Path,
        nargs="?",
        const=DEFAULT_BASELINE,
        metavar="FILE",
        help=f"compare with this baseline (default when given alone: {DEFAULT_BASELINE.name})",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        metavar="T",
        help=f"regression tolerance of the ratios (default by mode: {TOLERANCE})",
    )
    parser.add_argument(
        "--save-baseline",
        action="store_true",
        help="write this run into the baseline file (its mode's section) instead of comparing",
    )
    parser.add_argument(
        "--results", type=Path, metavar="FILE", help="judge this results file, run nothing"
    )
    args = parser.parse_args(argv)
    if args.list:
        for b in BENCHMARKS:
            print(f"{b.name:<14} {b.target:<28} {'short and full' if b.short else 'full only'}")
        return 0
    if args.results and (args.short or args.only or args.save_baseline):
        parser.error("--results judges a file: --short, --only and --save-baseline do not apply")

    stored = None  # the baseline file, read before the run so that a bad one fails early
    if args.baseline and (args.baseline.exists() or not args.save_baseline):
        try:
            stored = load(args.baseline)
        except (OSError, ValueError) as error:
            parser.error(f"cannot read the baseline {args.baseline}: {error}")
    if args.results:
        results = load(args.results)
    else:
        try:
            results = run(args.only, args.short)
        except ValueError as error:
            parser.error(str(error))
        if args.out:
            save(results, args.out)
    mode = results["mode"]
    baseline = None
    if stored is not None and not args.save_baseline:
        if mode not in stored:
            print(f"{args.baseline} has no {mode} section", file=sys.stderr)
            return 2
        baseline = stored[mode]
    tolerance = TOLERANCE[mode] if args.tolerance is None else args.tolerance
    try:
        rows = compare(results, baseline, tolerance)
    except ValueError as error:
        parser.error(str(error))
    print(table(rows))
    failures = [row for row in rows if row.verdict in FAILURES]
    seen = results["machine"]
    print(
        f"\n{mode} mode, {results['seconds']:.0f} s, commit {str(seen['git_commit'])[:10]}"
        f"{' (dirty)' if seen['git_dirty'] else ''}, load average "
        f"{seen['load_average'][0]:.2f} at start, {seen['load_average_end'][0]:.2f} at end"
    )
    if baseline is not None:
        then = baseline["machine"]
        print(
            f"baseline: {baseline['started']}, commit {str(then['git_commit'])[:10]}, "
            f"tolerance {tolerance:.0%} on gated ratios"
        )
    busy = max(seen["load_average"][0], seen["load_average_end"][0])
    if busy > BUSY * (seen["cpu_count"] or 1):
        print(
            f"warning: load average {busy:.2f} on {seen['cpu_count']} CPUs: other processes "
            "shared them, and a ratio may move beyond the tolerance; rerun on a quiet machine "
            "before believing a regression"
        )
    print(f"{len(failures)} failure(s)" if failures else "no failure")
    if args.save_baseline:
        path = args.baseline or DEFAULT_BASELINE
        if failures:
            print(f"not saved into {path}: a baseline must pass", file=sys.stderr)
        else:
            if stored is None and path.exists():
                stored = load(path)
            save({**(stored or {"schema": SCHEMA}), mode: results}, path)
            print(f"saved the {mode} run into {path}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
