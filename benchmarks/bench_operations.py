"""Speed on a Panjin-like hall with every operation used (issue 4).

``scenarios/panjin-operations.toml``: staff with breaks and a lunch relay, rotation blocks, a
tidal window, a reserve pool, a green channel, appointments, caps, balking, no-shows, two back
offices and a pickup window. Reported, not enforced (the issue asks for the figure):

1. the inputs of ``--days`` days (default 1000: about 200,000 tickets) are drawn once;
2. ``fast.run(hall, inputs, check=False)`` is timed (best of ``--repeat``, after a warm-up
   call): the event loop with every rule on, plus the back-office and pickup stages;
3. ``draw_inputs`` + ``fast.run``, and ``simulate(..., replications=1)`` with the tables;
4. the simpy engine runs the first ``--simpy-days`` days (default 20) of the same hall, and
   the fast engine the same inputs: the ratio simpy time / fast time, and whether the
   outputs are identical.

Usage: ``python benchmarks/bench_operations.py [--days N] [--repeat R] [--simpy-days N]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

import numpy as np
from bench_hall8 import fcfs_kernel
from figures import identical, speed

import hallsim
from hallsim.compile import compile_scenario
from hallsim.engines import fast, reference
from hallsim.engines.inputs import draw_inputs

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "panjin-operations.toml"
SEED = 1


def with_days(scenario: hallsim.Scenario, days: int) -> hallsim.Scenario:
    """``scenario`` run for ``days`` days (re-validated)."""
    data = scenario.model_dump(by_alias=True)
    return hallsim.Scenario.model_validate({**data, "hall": {**data["hall"], "days": days}})


def best(function, repeat: int) -> float:
    """Best wall time of ``repeat`` calls, garbage collection off while timing."""
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return min(times)


def same(a, b) -> bool:
    """Whether two engine outputs are identical (NaN equal to NaN)."""
    return all(
        np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True)
        for name in a.__dataclass_fields__
    )


LEVELS = ("fast.run on pre-drawn inputs", "draw_inputs + fast.run", "simulate(), tables")


def measure(days: int, repeat: int, simpy_days: int) -> dict:
    """Best seconds of each level on ``days`` days, of the minimal FCFS kernel of
    ``bench_hall8.py`` on the same tickets, and the simpy engine against the fast one on the
    first ``simpy_days`` days (seconds and whether the outputs are identical)."""
    base = hallsim.load_scenario(SCENARIO)
    scenario = with_days(base, days)
    hall = compile_scenario(scenario)
    inputs = draw_inputs(hall, np.random.default_rng(SEED))
    fast.run(hall, inputs, check=False)  # warm-up: load or compile the kernels
    load = os.getloadavg()[0]
    functions = (
        lambda: fast.run(hall, inputs, check=False),
        lambda: fast.run(hall, draw_inputs(hall, np.random.default_rng(SEED)), check=False),
        lambda: hallsim.simulate(scenario, replications=1, seed=SEED, progress=False),
    )
    seconds = {
        name: best(function, repeat) for name, function in zip(LEVELS, functions, strict=True)
    }
    fcfs_kernel(inputs.issued[:10], inputs.service[:10], hall.n_windows)  # compile
    baseline = best(lambda: fcfs_kernel(inputs.issued, inputs.service, hall.n_windows), repeat)

    small = compile_scenario(with_days(base, simpy_days))
    small_inputs = draw_inputs(small, np.random.default_rng(SEED))
    fast_s = best(lambda: fast.run(small, small_inputs, check=False), repeat)
    simpy_s = best(lambda: reference.run(small, small_inputs, check=False), 1)
    identical = same(fast.run(small, small_inputs), reference.run(small, small_inputs))
    return {
        "tickets": inputs.n_tickets,
        "load": load,
        "seconds": seconds,
        "baseline": baseline,
        "simpy_tickets": small_inputs.n_tickets,
        "fast": fast_s,
        "simpy": simpy_s,
        "identical": identical,
    }


def suite(short: bool) -> dict:
    """The record of ``benchmarks/suite.py``: each level against the minimal FCFS kernel, the
    fast engine against simpy; ``short``: 10 days, best of 5, simpy on 2 days."""
    result = measure(10, 5, 2) if short else measure(1000, 3, 20)
    n = result["tickets"]
    figures = {
        level: speed(seconds, result["baseline"], "minimal FCFS kernel", tickets=n)
        for level, seconds in result["seconds"].items()
    }
    figures["fast.run, simpy days"] = speed(
        result["fast"], result["simpy"], "simpy engine", tickets=result["simpy_tickets"]
    )
    checks = {"fast = simpy": identical(result["identical"], "every output array")}
    return {"figures": figures, "checks": checks}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--simpy-days", type=int, default=20)
    args = parser.parse_args(argv)

    result = measure(args.days, args.repeat, args.simpy_days)
    n = result["tickets"]
    print(
        f"Panjin with every operation: hallsim {hallsim.__version__}, Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
        f"{result['load']:.2f}; {args.days} days, {n:,} tickets, best of {args.repeat}\n"
    )
    print(f"{'level':32} {'s':>8} {'M tickets/s':>12}")
    for name, seconds in result["seconds"].items():
        print(f"{name:32} {seconds:8.3f} {n / seconds / 1e6:12.2f}")
    print(
        f"\nsimpy engine, {args.simpy_days} days ({result['simpy_tickets']:,} tickets): "
        f"{result['simpy_tickets'] / result['simpy']:,.0f} tickets/s; fast/simpy = "
        f"{result['simpy'] / result['fast']:,.0f}x; outputs identical: {result['identical']}"
    )
    print(f"load average {os.getloadavg()[0]:.2f} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
