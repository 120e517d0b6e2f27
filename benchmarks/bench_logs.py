"""Speed and memory of historical data (issue 9): read_log and fit of a million log rows.

A year of a large hall (the Panjin hall with 25 times its demand and windows: about a
million tickets) is simulated, written as a CSV log with times to the second (as queue
systems export them), then read with ``hs.read_log`` and
fitted with ``hs.fit`` (the log is made in a child process, so the memory figures are those
of reading and fitting alone). Reported beside the same file read by ``pandas.read_csv`` with
pyarrow (no checks, no types) in the same run: the ratio says what validation costs over the
plainest read. Peak memory is the process's resident-set high-water mark after each step.

Target: read_log + fit of one million rows <= 10 s and <= 1 GB.

Usage: ``python benchmarks/bench_logs.py [--scale 25] [--days 365]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from figures import speed

import hallsim as hs

ROOT = Path(__file__).resolve().parent.parent


def big_hall(scale: int, days: int) -> hs.Scenario:
    scenario = hs.load_scenario(ROOT / "scenarios" / "panjin.toml")
    data = scenario.model_dump(mode="json", exclude_none=True)
    data["hall"]["days"] = days
    for category in data["categories"]:
        rates = category["arrivals"]["rates_per_hour"]
        category["arrivals"]["rates_per_hour"] = [rate * scale for rate in rates]
    for window in data["windows"]:
        window["count"] *= scale
    return hs.Scenario.model_validate(data)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def measure(scale: int, days: int) -> dict:
    """Rows of the log, seconds of ``pandas.read_csv``, ``read_log`` and ``fit``, and the peak
    memory (MB) before reading, after ``read_log`` and after ``fit``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.csv"
        command = [sys.executable, __file__, "--scale", str(scale), "--days", str(days)]
        subprocess.run([*command, "--write", str(path)], check=True)
        before = peak_mb()
        start = time.perf_counter()
        pd.read_csv(path, engine="pyarrow")
        plain = time.perf_counter() - start
        start = time.perf_counter()
        log = hs.read_log(path)
        read = time.perf_counter() - start
        rows = log.rows_read
        after_read = peak_mb()
        start = time.perf_counter()
        hs.fit(log)
        fitted = time.perf_counter() - start
        after_fit = peak_mb()
    return {
        "rows": rows,
        "plain": plain,
        "read": read,
        "fit": fitted,
        "peak_mb": {"before": before, "read_log": after_read, "fit": after_fit},
    }


def suite(short: bool) -> dict:
    """The record of ``benchmarks/suite.py`` (full mode only: the log of a million rows is
    written by a child process): ``read_log`` and ``fit`` against ``pandas.read_csv``."""
    result = measure(25, 365)
    plain = result["plain"]
    return {
        "figures": {
            "read_log": speed(result["read"], plain, "pandas.read_csv", tickets=result["rows"]),
            "fit": speed(result["fit"], plain, "pandas.read_csv", tickets=result["rows"]),
        },
        "info": {"rows": result["rows"]},  # the process's peak memory includes earlier runs
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=25)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--write", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write is not None:  # the child: simulate and write the log
        hall = big_hall(args.scale, args.days)
        log = hs.simulate(hall, replications=1, seed=1, progress=False).to_log()
        for column in ("issued", "called", "start", "end"):  # to the second, as exports are
            log.tickets[column] = log.tickets[column].dt.floor("s")
        hs.write_log(log, args.write)
        return
    print(f"load average {os.getloadavg()[0]:.1f}")
    result = measure(args.scale, args.days)
    plain, read, fitted, rows = (result[key] for key in ("plain", "read", "fit", "rows"))
    before, after_read, after_fit = result["peak_mb"].values()
    total = read + fitted
    print(f"{rows:,} log rows ({args.days} days)")
    print(f"  pandas.read_csv (pyarrow)  {plain:6.2f} s   (baseline)")
    print(f"  hs.read_log                {read:6.2f} s   x base {read / plain:5.1f}")
    print(f"  hs.fit                     {fitted:6.2f} s   x base {fitted / plain:5.1f}")
    print(
        f"  read_log + fit             {total:6.2f} s   target <= 10 s: "
        f"{'ok' if total <= 10 else 'MISSED'}"
    )
    print(
        f"  peak memory: {before:.0f} MB before reading, {after_read:.0f} MB after read_log, "
        f"{after_fit:.0f} MB after fit   target <= 1024 MB: "
        f"{'ok' if after_fit <= 1024 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
