"""Speed of the fast engine relative to the simpy reference engine on hall-8 (issue 3).

Target: the fast engine at least 100 times faster than the simpy engine, measured in the
same process on the same tickets. For each hall-8 configuration ((a) dedicated windows,
(b) 30 comprehensive windows), run for ``--days`` days (default 10: about 40,000 tickets):

1. draw the inputs once: ``draw_inputs(compile_scenario(sc), np.random.default_rng(1))``;
2. time ``fast.run(hall, inputs, check=False)`` (best of ``--repeat``, after a warm-up call
   that loads or compiles the numba kernels). hall-8 takes the specialised FCFS kernel, so
   the general event loop, ``fast.run(..., kernel="general")``, is timed too;
3. time ``reference.run(hall, inputs, check=False)`` on the same inputs (best of
   ``--repeat-simpy``);
4. print tickets per second of each, the ratios simpy time / fast time, PASS/FAIL against
   100, and whether the outputs are identical (``np.array_equal(..., equal_nan=True)`` on
   called, start, end, window and outcome; the windows' open periods are compared too).

Usage: ``python benchmarks/bench_engines.py [--days N] [--repeat R] [--repeat-simpy R]
[--check]``. Exit status 0, or with ``--check`` 1 when the ratio of ``fast.run`` (its default
kernel, what ``simulate`` runs) is below 100 in either configuration or the engines'
outputs differ. The ratio of the general event loop is reported, not enforced.
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
import simpy
from figures import identical, speed

import hallsim
from hallsim.compile import compile_scenario
from hallsim.engines import fast, reference
from hallsim.engines.inputs import draw_inputs
from hallsim.engines.output import EngineOutput

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATIONS = {
    "(a) dedicated": ROOT / "scenarios" / "hall8-dedicated.toml",
    "(b) comprehensive": ROOT / "scenarios" / "hall8-comprehensive.toml",
}
TARGET = 100.0  # simpy time / fast time
DAYS = 10  # 4032 tickets a day: about 40,000 tickets
SEED = 1
TICKET_FIELDS = ("called", "start", "end", "post", "outcome")
PERIOD_FIELDS = ("period_post", "period_start", "period_end")


def with_days(scenario: hallsim.Scenario, days: int) -> hallsim.Scenario:
    """``scenario`` run for ``days`` days (re-validated)."""
    return hallsim.Scenario.model_validate(
        {**scenario.model_dump(), "hall": {**scenario.hall.model_dump(), "days": days}}
    )


def best_of(fn: Callable[[], EngineOutput], repeat: int) -> tuple[float, EngineOutput]:
    """Shortest wall time of ``repeat`` calls of ``fn`` in seconds, and its last output."""
    best = np.inf
    output = None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        output = fn()
        best = min(best, time.perf_counter() - t0)
    return best, output


def differences(a: EngineOutput, b: EngineOutput, fields: tuple[str, ...]) -> list[str]:
    """The ``fields`` in which ``a`` and ``b`` differ (NaN equals NaN)."""
    return [
        field
        for field in fields
        if not np.array_equal(getattr(a, field), getattr(b, field), equal_nan=True)
    ]


def measure(path: Path, days: int, repeat: int, repeat_simpy: int) -> dict:
    """Tickets, seconds per engine and the fields each fast kernel disagrees with simpy on."""
    scenario = with_days(hallsim.load_scenario(path), days)
    hall = compile_scenario(scenario)
    inputs = draw_inputs(hall, np.random.default_rng(SEED))
    kernels = {"fast": "auto", "fast general": "general"}
    for kernel in kernels.values():  # warm-up: numba loads its cache or compiles
        fast.run(hall, inputs, check=False, kernel=kernel)
    seconds, outputs = {}, {}
    for name, kernel in kernels.items():
        seconds[name], outputs[name] = best_of(
            lambda kernel=kernel: fast.run(hall, inputs, check=False, kernel=kernel), repeat
        )
    seconds["simpy"], outputs["simpy"] = best_of(
        lambda: reference.run(hall, inputs, check=False), repeat_simpy
    )
    diff = {
        name: differences(outputs[name], outputs["simpy"], TICKET_FIELDS + PERIOD_FIELDS)
        for name in kernels
    }
    return {"tickets": inputs.n_tickets, "seconds": seconds, "diff": diff}


def suite(short: bool) -> dict:
    """The record of ``benchmarks/suite.py``: each fast kernel against the simpy engine on the
    same tickets, and whether their outputs are identical; ``short``: 1 day, best of 10 (simpy:
    of 2)."""
    figures, checks = {}, {}
    for name, path in CONFIGURATIONS.items():
        result = measure(path, *((1, 10, 2) if short else (DAYS, 3, 1)))
        seconds = result["seconds"]
        for engine in ("fast", "fast general"):
            figures[f"{name}, {engine}"] = speed(
                seconds[engine], seconds["simpy"], "simpy engine", tickets=result["tickets"]
            )
            checks[f"{name}, {engine} = simpy"] = identical(
                not result["diff"][engine], ", ".join(TICKET_FIELDS + PERIOD_FIELDS)
            )
    return {"figures": figures, "checks": checks}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print its figures; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--days",
        type=int,
        default=DAYS,
        metavar="N",
        help=f"days per configuration (default {DAYS}: about 40,000 tickets)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        metavar="R",
        help="repetitions of each fast run, the best counts (default 3)",
    )
    parser.add_argument(
        "--repeat-simpy",
        type=int,
        default=1,
        metavar="R",
        help="repetitions of the simpy run, the best counts (default 1)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if the fast/simpy ratio is below 100 or outputs differ",
    )
    args = parser.parse_args(argv)
    if args.days < 1 or args.repeat < 1 or args.repeat_simpy < 1:
        parser.error("--days, --repeat and --repeat-simpy must be positive")

    print(
        f"engines benchmark: hallsim {hallsim.__version__}, simpy {simpy.__version__}, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f} at start"
    )
    print(
        f"hall-8, {args.days} days, inputs drawn once (default_rng({SEED})); fast: best of "
        f"{args.repeat} after a warm-up, simpy: best of {args.repeat_simpy}; "
        f"target fast/simpy speed ratio >= {TARGET:.0f}\n"
    )
    results = {
        name: measure(path, args.days, args.repeat, args.repeat_simpy)
        for name, path in CONFIGURATIONS.items()
    }

    header = (
        f"{'configuration':<18} {'engine':<42} {'tickets':>8} {'s':>8} "
        f"{'tickets/s':>12} {'x simpy':>8}"
    )
    print(header)
    print("-" * len(header))
    labels = {
        "fast": "fast.run (default: specialised FCFS)",
        "fast general": 'fast.run(kernel="general")',
        "simpy": "reference.run (simpy)",
    }
    for name, result in results.items():
        n, seconds = result["tickets"], result["seconds"]
        for engine, label in labels.items():
            s = seconds[engine]
            print(
                f"{name:<18} {label:<42} {n:>8,} {s:>8.4f} {n / s:>12,.0f} "
                f"{seconds['simpy'] / s:>8.1f}"
            )
    print()

    failed = False
    for name, result in results.items():
        seconds = result["seconds"]
        for engine, enforced in (("fast", True), ("fast general", False)):
            ratio = seconds["simpy"] / seconds[engine]
            ok = ratio >= TARGET
            failed |= enforced and not ok
            verdict, sign = ("PASS", ">=") if ok else ("FAIL", "<")
            note = "" if enforced else "  (reported, not enforced)"
            print(
                f"{verdict} {name:<17} {labels[engine]:<38} {ratio:8.1f} x simpy {sign} "
                f"{TARGET:.0f}{note}"
            )
    print()
    for name, result in results.items():
        for engine, diff in result["diff"].items():
            failed |= bool(diff)
            verdict = "differ in " + ", ".join(diff) if diff else "identical"
            print(
                f"{'SAME' if not diff else 'DIFF'} {name:<17} {labels[engine]} vs simpy: "
                f"{verdict} ({', '.join(TICKET_FIELDS)}; open periods)"
            )
    print(
        f"\nload average {os.getloadavg()[0]:.2f} at end (figures are slower when other "
        "processes share the CPUs)"
    )
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
