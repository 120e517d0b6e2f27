"""Speed of many short replications (issue 11, item 3): 1000 replications of one Panjin day.

A planner's hall has 100-1000 tickets a day, so what a study pays is the cost of a
replication, not the kernel's speed. ``scenarios/panjin.toml`` with ``hall.days = 1`` (a
Monday, about 211 tickets) is simulated as a user calls it:

1. ``simulate(sc, replications=--replications (1000), seed=1, progress=False)``, one process,
   with ``keep_tickets=True`` and ``False``: best of ``--repeat`` after a warm-up;
2. ``--many`` (10,000) replications with ``workers=1`` and ``workers=2`` (``keep_tickets``
   False and True): best of ``--repeat-many``; the ratio of the two is the gain of a second
   process. ``simulate`` keeps its worker processes for the next run
   (``runner.KEEP_WORKERS_FOR``): ``workers=2`` is a run on the kept ones, ``workers=2,
   new`` one on new ones (the kept ones shut down before each, untimed), as a first run.

Every figure is given in seconds, million tickets per second and as a ratio to a minimal
numba FCFS kernel (``fcfs_kernel`` of ``bench_hall8.py``: one FIFO queue, c = the hall's
windows) timed in the same process on the same tickets: those of the 1000 replications laid
end to end (replication r shifted by r days), which is steadier than raw speed on a shared
machine. Targets (issue 11): 1000 replications in <= 0.15 s (>= 1.5 M tickets/s) with or
without tickets; 10,000 with ``workers=2`` >= 1.6x faster than with one. Reported, not
enforced.

Usage: ``python benchmarks/bench_replications.py [--replications N] [--many N] [--repeat R]
[--repeat-many R] [--profile]``; ``--profile`` prints the top of a cProfile of item 1.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
from pathlib import Path

import numpy as np
from bench_hall8 import best_of, fcfs_kernel, with_days
from figures import speed

import hallsim
from hallsim import runner
from hallsim.compile import compile_scenario
from hallsim.engines.inputs import draw_inputs

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "panjin.toml"
SEED = 1
TARGET_SECONDS = 0.15  # 1000 replications of one Panjin day
TARGET_WORKERS = 1.6  # workers=2 over workers=1, 10,000 replications


def run(scenario: hallsim.Scenario, replications: int, keep: bool, workers: int = 1):
    """The call that is timed."""
    return hallsim.simulate(
        scenario,
        replications=replications,
        seed=SEED,
        keep_tickets=keep,
        workers=workers,
        progress=False,
    )


def baseline_inputs(scenario: hallsim.Scenario, replications: int):
    """The tickets of ``replications`` replications (as ``simulate`` draws them) laid end to
    end, replication r shifted by r days: issue and base service times."""
    hall = compile_scenario(scenario)
    issued, service = [], []
    for r, sequence in enumerate(np.random.SeedSequence(SEED).spawn(replications)):
        inputs = draw_inputs(hall, np.random.default_rng(sequence))
        issued.append(inputs.issued + r * 1440.0 * hall.n_days)
        service.append(inputs.service)
    return np.concatenate(issued), np.concatenate(service), hall.n_windows


def on_new_processes(fn, repeat: int) -> float:
    """Best seconds of ``fn`` (a run with workers) on new worker processes: the kept ones
    are shut down before each call, untimed."""
    best = np.inf
    for _ in range(repeat):
        runner._KeptPool.close()
        best = min(best, best_of(fn, 1))
    return best


def measure(replications: int, many: int, repeat: int, repeat_many: int) -> dict:
    """Tickets of the ``replications`` and best seconds of the minimal kernel on them
    (``base``), and ``rows`` of (label, tickets, seconds): ``replications`` with and without
    tickets, then ``many`` with one and two workers (none when ``many`` is 0); ``many_seconds``
    by (keep_tickets, workers)."""
    scenario = with_days(hallsim.load_scenario(SCENARIO), 1)
    run(scenario, 200, True)  # warm-up: numba's cache (the numba draws too), imports
    if many:
        run(scenario, 200, False, workers=2)
    issued, service, servers = baseline_inputs(scenario, replications)
    fcfs_kernel(issued[:10], service[:10], servers)
    base = best_of(lambda: fcfs_kernel(issued, service, servers), repeat)
    n = issued.size
    per_replication = n / replications
    rows = []
    for keep in (True, False):
        seconds = best_of(lambda keep=keep: run(scenario, replications, keep), repeat)
        rows.append((f"{replications} reps, workers=1, keep_tickets={keep}", n, seconds))
    many_seconds = {}
    for keep in (False, True) if many else ():
        for workers in (1, 2):
            seconds = best_of(
                lambda keep=keep, workers=workers: run(scenario, many, keep, workers),
                repeat_many,
            )
            many_seconds[keep, workers] = seconds
            m = round(per_replication * many)
            rows.append((f"{many} reps, workers={workers}, keep_tickets={keep}", m, seconds))
        seconds = on_new_processes(lambda keep=keep: run(scenario, many, keep, 2), repeat_many)
        many_seconds[keep, "new"] = seconds
        rows.append((f"{many} reps, workers=2, new, keep_tickets={keep}", m, seconds))
    return {"tickets": n, "base": base, "rows": rows, "many_seconds": many_seconds}


def suite(short: bool) -> dict:
    """The record of ``benchmarks/suite.py``: each row against the minimal kernel on the same
    tickets, and the gain of a second worker (the runs with two workers are reported, not
    gated: they depend on a process pool on two shared cores);
    ``short``: 100 replications, best of 5, no run of many."""
    result = measure(100, 0, 5, 1) if short else measure(1000, 10_000, 5, 2)
    per_ticket = result["base"] / result["tickets"]
    figures = {
        label: speed(
            seconds,
            per_ticket * tickets,
            "minimal FCFS kernel",
            tickets=tickets,
            gate="workers=2" not in label,
        )
        for label, tickets, seconds in result["rows"]
    }
    for keep in (False, True) if result["many_seconds"] else ():
        one, two, new = (result["many_seconds"][keep, workers] for workers in (1, 2, "new"))
        figures[f"workers=2 gain, keep_tickets={keep}"] = speed(two, one, "workers=1", gate=False)
        figures[f"workers=2 gain on new processes, keep_tickets={keep}"] = speed(
            new, one, "workers=1", gate=False
        )
    return {"figures": figures}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=1000, metavar="N")
    parser.add_argument("--many", type=int, default=10_000, metavar="N")
    parser.add_argument("--repeat", type=int, default=5, metavar="R")
    parser.add_argument("--repeat-many", type=int, default=2, metavar="R")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    if min(args.replications, args.many, args.repeat, args.repeat_many) < 1:
        parser.error("counts must be positive")

    print(
        f"replications benchmark: hallsim {hallsim.__version__}, Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f} at start"
    )
    result = measure(args.replications, args.many, args.repeat, args.repeat_many)
    n, base, rows, many = (result[key] for key in ("tickets", "base", "rows", "many_seconds"))
    print(
        f"{args.replications} replications of one Panjin day: {n:,} tickets "
        f"({n / args.replications:.0f} a replication); minimal FCFS kernel {base * 1e3:.1f} ms "
        f"({n / base / 1e6:.1f} M/s)\n"
    )
    header = f"{'run':<46} {'tickets':>10} {'s':>8} {'M/s':>7} {'x base':>7}"
    print(header)
    print("-" * len(header))
    base_rate = n / base
    for label, tickets, seconds in rows:
        rate = tickets / seconds
        print(
            f"{label:<46} {tickets:>10,} {seconds:>8.3f} {rate / 1e6:>7.2f} "
            f"{rate / base_rate:>7.3f}"
        )
    print("(tickets of the 10,000-replication rows: estimated from the 1000)")
    print()
    for label, _, seconds in rows[:2]:
        verdict = "PASS" if seconds <= TARGET_SECONDS else "FAIL"
        print(f"{verdict} {label}: {seconds:.3f} s (target <= {TARGET_SECONDS} s)")
    for keep in (False, True):
        gain = many[keep, 1] / many[keep, 2]
        verdict = "PASS" if gain >= TARGET_WORKERS else "FAIL"
        print(
            f"{verdict} {args.many} reps, keep_tickets={keep}: workers=2 {gain:.2f}x faster "
            f"than workers=1 (target >= {TARGET_WORKERS}); on new processes "
            f"{many[keep, 1] / many[keep, 'new']:.2f}x"
        )
    if args.profile:
        scenario = with_days(hallsim.load_scenario(SCENARIO), 1)
        profile = cProfile.Profile()
        profile.runcall(run, scenario, args.replications, True)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    print(f"\nload average {os.getloadavg()[0]:.2f} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
