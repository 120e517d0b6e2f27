"""Cost of trace replay: ``simulate(sc, arrivals=log)`` against a plain ``simulate(sc)``.

Target: replaying a log adds at most 20 % to the time of a plain simulation of the same hall
with about the same number of tickets. For each configuration (``scenarios/panjin.toml``:
patience and generalist factors; ``scenarios/panjin-operations.toml``: every operation, with
staff, reserve, appointments, caps, balking, no-shows and back offices), run for ``--days``
days (default 1000: about 115,000 and 140,000 tickets):

1. the log: replication 0 of ``simulate(sc, replications=1, seed=1)``, ``to_log()`` (not
   timed);
2. after a warm-up of both calls (numba loads or compiles its kernels), time, alternating,
   ``simulate(sc, replications=R, seed=2)`` (plain: arrivals drawn) and
   ``simulate(sc, arrivals=log, service="logged", replications=R, seed=2)`` (replay), best of
   ``--repeat`` each, for R = 1 and R = ``--replications``;
3. print seconds, tickets per second and the ratio of seconds per ticket, replay / plain
   (the plain run draws its own tickets, a few per cent more or fewer than the log's), with
   PASS/FAIL against 1.20;
4. where the replay's extra time goes: ``prepare_replay`` (reading the log and resolving
   categories, windows and factors: once per call) and ``LogReplay.inputs`` against
   ``draw_inputs`` (once per replication).

Usage: ``python benchmarks/bench_replay.py [--days N] [--repeat R] [--replications R]
[--check]``. Exit status 0, or with ``--check`` 1 when a ratio exceeds 1.20.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from figures import speed

import hallsim
from hallsim.engines.inputs import draw_inputs
from hallsim.replay import prepare_replay

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATIONS = {
    "panjin": ROOT / "scenarios" / "panjin.toml",
    "panjin-operations": ROOT / "scenarios" / "panjin-operations.toml",
}
TARGET = 1.20  # replay seconds per ticket / plain seconds per ticket
DAYS = 1000
LOG_SEED, RUN_SEED = 1, 2


def with_days(scenario: hallsim.Scenario, days: int) -> hallsim.Scenario:
    """``scenario`` run for ``days`` days (re-validated)."""
    data = scenario.model_dump(by_alias=True)
    return hallsim.Scenario.model_validate({**data, "hall": {**data["hall"], "days": days}})


def best_of(functions: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Shortest wall time of each function over ``repeat`` rounds, the functions taking
    turns within a round (so a burst of load from other processes hits them alike)."""
    best = dict.fromkeys(functions, np.inf)
    for _ in range(repeat):
        for name, function in functions.items():
            gc.collect()
            start = time.perf_counter()
            function()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def measure(path: Path, days: int, repeat: int, replications: int) -> dict:
    """Tickets and best seconds of the plain and the replayed runs, and of the replay's parts."""
    scenario = with_days(hallsim.load_scenario(path), days)
    log = hallsim.simulate(scenario, replications=1, seed=LOG_SEED, progress=False).to_log()

    def plain(r: int) -> Callable[[], hallsim.Results]:
        return lambda: hallsim.simulate(scenario, replications=r, seed=RUN_SEED, progress=False)

    def replay(r: int) -> Callable[[], hallsim.Results]:
        return lambda: hallsim.simulate(
            scenario,
            arrivals=log,
            service="logged",
            replications=r,
            seed=RUN_SEED,
            progress=False,
        )

    drawn = plain(1)().tickets  # also the warm-up
    replay(1)()
    runs = {}
    for r in sorted({1, replications}):
        seconds = best_of({"plain": plain(r), "replay": replay(r)}, repeat)
        runs[r] = seconds
    prepared = prepare_replay(scenario, log)
    hall = prepared.hall
    parts = best_of(
        {
            "prepare_replay": lambda: prepare_replay(scenario, log),
            "LogReplay.inputs": lambda: prepared.inputs(np.random.default_rng(RUN_SEED)),
            "draw_inputs": lambda: draw_inputs(hall, np.random.default_rng(RUN_SEED)),
        },
        repeat,
    )
    return {"logged": len(log.tickets), "drawn": len(drawn), "runs": runs, "parts": parts}


def suite(short: bool) -> dict:
    """The record of ``benchmarks/suite.py``: each replay against the plain run, per ticket;
    ``short``: 20 days, best of 3, 1 and 2 replications."""
    figures = {}
    for name, path in CONFIGURATIONS.items():
        result = measure(path, *((20, 3, 2) if short else (DAYS, 5, 5)))
        for r, seconds in result["runs"].items():
            # the plain run's seconds for as many tickets as the replay simulates
            plain = seconds["plain"] * result["logged"] / result["drawn"]
            figures[f"{name}, {r} replication(s)"] = speed(
                seconds["replay"], plain, "plain simulate", tickets=r * result["logged"]
            )
    return {"figures": figures}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print its figures; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--days", type=int, default=DAYS, metavar="N", help=f"days of each hall (default {DAYS})"
    )
    parser.add_argument(
        "--repeat", type=int, default=5, metavar="R", help="timed rounds, the best counts (5)"
    )
    parser.add_argument(
        "--replications",
        type=int,
        default=5,
        metavar="R",
        help="replications of the second pair of runs (default 5; the first has 1)",
    )
    parser.add_argument(
        "--check", action="store_true", help=f"exit 1 if a replay/plain ratio exceeds {TARGET}"
    )
    args = parser.parse_args(argv)
    if args.days < 1 or args.repeat < 1 or args.replications < 1:
        parser.error("--days, --repeat and --replications must be positive")

    print(
        f"replay benchmark: hallsim {hallsim.__version__}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start"
    )
    print(
        f"{args.days} days per hall; best of {args.repeat}, plain and replay taking turns; "
        f"target: replay seconds per ticket <= {TARGET:.2f} x plain\n"
    )
    results = {
        name: measure(path, args.days, args.repeat, args.replications)
        for name, path in CONFIGURATIONS.items()
    }

    header = (
        f"{'hall':<18} {'reps':>4} {'run':<7} {'tickets':>9} {'s':>8} {'tickets/s':>11} "
        f"{'x plain':>8}"
    )
    print(header)
    print("-" * len(header))
    verdicts = []
    for name, result in results.items():
        tickets = {"plain": result["drawn"], "replay": result["logged"]}
        for r, seconds in result["runs"].items():
            per_ticket = {run: seconds[run] / (r * tickets[run]) for run in seconds}
            ratio = per_ticket["replay"] / per_ticket["plain"]
            for run, s in seconds.items():
                shown = f"{ratio:8.2f}" if run == "replay" else f"{1:8.2f}"
                print(
                    f"{name:<18} {r:>4} {run:<7} {r * tickets[run]:>9,} {s:>8.3f} "
                    f"{r * tickets[run] / s:>11,.0f} {shown}"
                )
            verdicts.append((name, r, ratio))
    print()
    failed = False
    for name, r, ratio in verdicts:
        ok = ratio <= TARGET
        failed |= not ok
        print(
            f"{'PASS' if ok else 'FAIL'} {name:<18} {r} replication(s): replay "
            f"{ratio:.2f} x plain per ticket {'<=' if ok else '>'} {TARGET:.2f}"
        )
    print("\nwhere the replay's time goes (best of the rounds, seconds):")
    for name, result in results.items():
        parts = result["parts"]
        print(
            f"{name:<18} prepare_replay {parts['prepare_replay']:.3f} (once per call); "
            f"LogReplay.inputs {parts['LogReplay.inputs']:.3f} vs draw_inputs "
            f"{parts['draw_inputs']:.3f} (per replication)"
        )
    print(
        f"\nload average {os.getloadavg()[0]:.2f} at end (figures are slower when other "
        "processes share the CPUs)"
    )
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
