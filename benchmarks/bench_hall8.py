"""Speed of hallsim on the hall-8 benchmark (issue 2), in tickets simulated per second.

Configurations (a) dedicated windows and (b) 30 comprehensive windows, each run for as many
days as give about 2 million tickets, at three levels:

1. kernel only: ``fast.run(hall, inputs, check=False)`` on pre-drawn inputs;
2. one replication without tables: ``draw_spans`` (its inputs, drawn span by span as
   ``simulate`` draws them) + ``fast.run``;
3. ``hallsim.simulate(sc, replications=1, seed=1, progress=False)`` with its tables
   (3b: the same with ``keep_tickets=False``).

Every figure is the best of ``--repeat`` runs after a warm-up on 2 days, and is also given as a
ratio to a minimal numba FCFS kernel (c identical servers, one FIFO queue) timed in the same
process on the same tickets, which is steadier than raw speed on a shared machine.

Usage: ``python benchmarks/bench_hall8.py [--days N] [--repeat R] [--check]``. Exit status 0,
or with ``--check`` 1 when level (1) misses the target in either configuration: level (1)
measures what the issue's reference figure (a minimal numba kernel on pre-drawn inputs)
measures; levels (2) and (3) are reported beside it.
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
from numba import njit

import hallsim
from hallsim.compile import CompiledHall, compile_scenario
from hallsim.engines import fast
from hallsim.engines.inputs import TicketInputs, draw_spans
from hallsim.results import Results, replication_tables
from hallsim.runner import capacity_warnings

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATIONS = {
    "(a) dedicated": ROOT / "scenarios" / "hall8-dedicated.toml",
    "(b) comprehensive": ROOT / "scenarios" / "hall8-comprehensive.toml",
}
TARGET = 10e6  # tickets per second, single-threaded
TICKETS = 2_000_000  # tickets per configuration
SEED = 1
WARM_UP_DAYS = 2


# --------------------------------------------------------------------------- baseline


@njit(cache=False)
def fcfs_kernel(
    arrival: np.ndarray, service: np.ndarray, servers: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimal FCFS c-server queue: start, end and server of each customer (arrival order).

    Each customer in turn takes the server that frees first (a binary min-heap of free times,
    ties to any server), starting at ``max(arrival, free time)``.
    """
    n = arrival.size
    start = np.empty(n)
    end = np.empty(n)
    server = np.empty(n, dtype=np.int64)
    free_at = np.zeros(servers)  # heap of the servers' free times (all 0.0: a valid heap)
    free_id = np.arange(servers)
    for i in range(n):
        s = free_id[0]
        begin = max(arrival[i], free_at[0])
        finish = begin + service[i]
        start[i] = begin
        end[i] = finish
        server[i] = s
        # the root's server is busy until ``finish``: sift it down
        j = 0
        while True:
            child = 2 * j + 1
            if child >= servers:
                break
            if child + 1 < servers and free_at[child + 1] < free_at[child]:
                child += 1
            if free_at[child] >= finish:
                break
            free_at[j] = free_at[child]
            free_id[j] = free_id[child]
            j = child
        free_at[j] = finish
        free_id[j] = s
    return start, end, server


# --------------------------------------------------------------------------- helpers


def with_days(scenario: hallsim.Scenario, days: int) -> hallsim.Scenario:
    """``scenario`` run for ``days`` days (re-validated)."""
    data = scenario.model_dump()
    data["hall"]["days"] = days
    return hallsim.Scenario.model_validate(data)


def days_for(scenario: hallsim.Scenario, tickets: int) -> int:
    """Days whose expected ticket count is closest to ``tickets``."""
    hall = compile_scenario(with_days(scenario, 7))
    slot_len = np.diff(hall.rate_bounds)  # the arrival pieces
    per_category = (hall.rate_per_min * slot_len[:, None]).sum(axis=0)  # factor-1 day
    per_day = float((hall.weekday_factor @ per_category).mean())
    return max(1, round(tickets / per_day))


def replication_inputs(hall: CompiledHall) -> TicketInputs:
    """The inputs ``simulate(..., replications=1, seed=SEED)`` draws (span by span)."""
    return draw_spans(hall, SEED, 0, 1)


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Shortest wall time of ``repeat`` calls of ``fn``, in seconds."""
    best = np.inf
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def kernel_only(hall: CompiledHall, inputs: TicketInputs) -> None:
    """Level (1)."""
    fast.run(hall, inputs, check=False)


def end_to_end(hall: CompiledHall) -> None:
    """Level (2): draw the inputs, run the kernel."""
    inputs = replication_inputs(hall)
    fast.run(hall, inputs, check=False)


def simulate(scenario: hallsim.Scenario, keep_tickets: bool) -> Results:
    """Levels (3) and (3b)."""
    return hallsim.simulate(
        scenario, replications=1, seed=SEED, progress=False, keep_tickets=keep_tickets
    )


def baseline(hall: CompiledHall, inputs: TicketInputs) -> None:
    """The minimal FCFS kernel on the same tickets, one server per window of the hall."""
    fcfs_kernel(inputs.issued, inputs.service, hall.n_windows)


def stages(scenario: hallsim.Scenario, repeat: int) -> dict[str, float]:
    """Best time of each stage of ``simulate`` (one replication), in seconds."""
    hall = compile_scenario(scenario)
    inputs = replication_inputs(hall)
    output = fast.run(hall, inputs, check=False)
    parts = {
        keep: replication_tables(hall, inputs, output, keep_tickets=keep) for keep in (True, False)
    }

    def assemble(keep: bool) -> None:
        Results.from_replications(
            hall,
            [parts[keep]],
            scenario=scenario,
            seed=SEED,
            engine="fast",
            warnings_=capacity_warnings(hall),
        )

    return {
        "compile_scenario": best_of(lambda: compile_scenario(scenario), repeat),
        "draw_spans": best_of(lambda: replication_inputs(hall), repeat),
        "fast.run": best_of(lambda: fast.run(hall, inputs, check=False), repeat),
        "replication_tables(keep_tickets=True)": best_of(
            lambda: replication_tables(hall, inputs, output, keep_tickets=True), repeat
        ),
        "Results.from_replications(tickets)": best_of(lambda: assemble(True), repeat),
        "replication_tables(keep_tickets=False)": best_of(
            lambda: replication_tables(hall, inputs, output, keep_tickets=False), repeat
        ),
        "Results.from_replications(no tickets)": best_of(lambda: assemble(False), repeat),
    }


def measure(name: str, path: Path, days: int | None, repeat: int) -> tuple[int, dict, dict]:
    """Ticket count, ``{level: seconds}`` and stage times of one configuration."""
    loaded = hallsim.load_scenario(path)
    days = days or days_for(loaded, TICKETS)

    small = with_days(loaded, WARM_UP_DAYS)  # JIT warm-up (numba cache or compile)
    small_hall = compile_scenario(small)
    small_inputs = replication_inputs(small_hall)
    baseline(small_hall, small_inputs)
    kernel_only(small_hall, small_inputs)
    end_to_end(small_hall)
    simulate(small, keep_tickets=True)
    simulate(small, keep_tickets=False)

    scenario = with_days(loaded, days)
    hall = compile_scenario(scenario)
    inputs = replication_inputs(hall)
    n = inputs.n_tickets
    check = simulate(scenario, keep_tickets=False).replication_stats
    if int(check["tickets"].iloc[-1]) != n:  # levels (1)-(3) must simulate the same tickets
        raise RuntimeError(f"{name}: simulate() drew other tickets than draw_spans()")
    seconds = {
        "baseline": best_of(lambda: baseline(hall, inputs), repeat),
        "(1)": best_of(lambda: kernel_only(hall, inputs), repeat),
        "(2)": best_of(lambda: end_to_end(hall), repeat),
        "(3)": best_of(lambda: simulate(scenario, keep_tickets=True), repeat),
        "(3b)": best_of(lambda: simulate(scenario, keep_tickets=False), repeat),
    }
    return n, seconds, stages(scenario, repeat)


LEVELS = {
    "baseline": "minimal FCFS kernel (same tickets, c = windows)",
    "(1)": "kernel only: fast.run on pre-drawn inputs",
    "(2)": "draw_spans + fast.run, no tables",
    "(3)": "simulate(), tables, keep_tickets=True",
    "(3b)": "simulate(), tables, keep_tickets=False",
}


SUITE_LEVELS = {
    "(1)": "kernel",
    "(2)": "draw + kernel",
    "(3)": "simulate",
    "(3b)": "simulate, no tickets",
}
SHORT_DAYS = 5  # the suite's short mode: about 20,000 tickets per configuration


def suite(short: bool) -> dict:
    """The record of ``benchmarks/suite.py``: each level of both configurations against the
    minimal kernel; ``short``: 5 days, best of 5 (else about 2 million tickets, best of 3)."""
    figures, info = {}, {}
    for name, path in CONFIGURATIONS.items():
        n, seconds, stage_seconds = measure(
            name, path, SHORT_DAYS if short else None, 5 if short else 3
        )
        for level, label in SUITE_LEVELS.items():
            figures[f"{name}, {level} {label}"] = speed(
                seconds[level], seconds["baseline"], "minimal FCFS kernel", tickets=n
            )
        info[name] = {"tickets": n, "stages_seconds": stage_seconds}
    return {"figures": figures, "info": info}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print its figures; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--days",
        type=int,
        default=None,
        metavar="N",
        help="days per configuration (default: about 2 million tickets)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        metavar="R",
        help="repetitions per figure, the best counts (default 3)",
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if level (1) misses the target"
    )
    args = parser.parse_args(argv)
    if (args.days is not None and args.days < 1) or args.repeat < 1:
        parser.error("--days and --repeat must be positive")

    print(
        f"hall-8 benchmark: hallsim {hallsim.__version__}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start"
    )
    print(
        f"best of {args.repeat} after warm-up; target {TARGET / 1e6:.0f} M tickets/s "
        "single-threaded; 'x base' = speed / minimal kernel's speed in this run\n"
    )
    results = {}
    for name, path in CONFIGURATIONS.items():
        results[name] = measure(name, path, args.days, args.repeat)

    header = f"{'configuration':<18} {'level':<52} {'tickets':>9} {'s':>7} {'M/s':>7} {'x base':>7}"
    print(header)
    print("-" * len(header))
    for name, (n, seconds, _) in results.items():
        base = seconds["baseline"]
        for level, label in LEVELS.items():
            s = seconds[level]
            tag = "base" if level == "baseline" else level
            print(
                f"{name:<18} {tag + ' ' + label:<52} {n:>9,} {s:>7.3f} "
                f"{n / s / 1e6:>7.2f} {base / s:>7.2f}"
            )
    print()
    missed = False
    for name, (n, seconds, _) in results.items():
        for level in ("(1)", "(2)", "(3)", "(3b)"):
            rate = n / seconds[level]
            ok = rate >= TARGET
            missed |= level == "(1)" and not ok
            verdict, sign = ("PASS", ">=") if ok else ("FAIL", "<")
            print(
                f"{verdict} {name:<17} level {level:<4} {rate / 1e6:6.2f} M tickets/s {sign} "
                f"{TARGET / 1e6:.0f} M/s  ({LEVELS[level]})"
            )

    print(
        "\nwhere the time goes (best of each stage, seconds; simulate() = compile_scenario + "
        "draw_spans + fast.run + replication_tables + Results.from_replications)"
    )
    names = list(results)
    print(f"{'stage':<42}" + "".join(f"{name:>20}" for name in names))
    for stage in results[names[0]][2]:
        print(f"{stage:<42}" + "".join(f"{results[name][2][stage]:>20.3f}" for name in names))
    print(
        f"\nload average {os.getloadavg()[0]:.2f} at end (figures are slower when other "
        "processes share the CPUs)"
    )
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
