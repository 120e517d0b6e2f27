"""The size check's estimate against the memory runs really take.

:func:`hallsim.size.run_size` estimates a run's peak memory before anything is allocated, and
:func:`hallsim.simulate` refuses a run whose estimate exceeds the memory available (or
``max_memory``). The estimate must not be below what a run takes (the check would let a run
exhaust the machine), nor far above it (it would refuse runs that fit). For halls dominated by
tickets, by interval cells (many days and ticket classes) and by reserve pools, each run in a
fresh process after a small warm-up run, this prints the growth of the resident memory during
the run (the peak, reset after the warm-up, less the memory resident before; Linux) and the
estimate. Target: 1 <= estimate / measured <= 3.

Usage: ``python benchmarks/bench_size.py [--check]`` (exit 1 with ``--check`` when a ratio is
outside the target).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

RUN = """
import json, sys
import hallsim as hs
from hallsim.compile import compile_scenario
from hallsim.size import run_size

days, rate, classes, interval, pools, windows, reps, keep = json.loads(sys.argv[1])

def hall(days, rate):
    data = {
        "hall": {"open": "08:00", "close": "18:00", "days": days, "interval_min": interval},
        "categories": [
            {"id": f"C{k}", "arrivals": {"rate_per_hour": rate / classes},
             "service": {"dist": "exponential", "mean_min": 1.0}}
            for k in range(classes)
        ],
        "windows": [{"id": "W", "count": windows, "serves": ["*"]}],
    }
    if pools:
        data["categories"][0]["patience"] = {"dist": "exponential", "mean_min": 30}
        data["windows"].append({"id": "R", "count": 5, "serves": ["*"]})
        data["reserve"] = [
            {"id": "P", "staff": 5, "windows": ["R"], "serves": ["*"], "open_queue": 3}
        ]
    return hs.Scenario.model_validate(data)

hs.simulate(hall(1, 10), replications=1, seed=0, progress=False)  # warm-up: numba, imports
def status(key):  # bytes
    return [int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith(key)][0]
open("/proc/self/clear_refs", "w").write("5")  # forget the peak so far (a compile, say)
before = status("VmRSS:")
scenario = hall(days, rate)
hs.simulate(scenario, replications=reps, seed=1, progress=False, keep_tickets=keep)
after = status("VmHWM:")
size = run_size(compile_scenario(scenario), replications=reps, keep_tickets=keep)
print(json.dumps([after - before, size.bytes, size.tickets, size.cells]))
"""

# name: days, tickets per hour, ticket classes, interval_min, reserve pool, windows,
# replications, keep tickets
CASES = {
    "tickets, 1 replication": (4, 50_000, 1, 30, False, 900, 1, True),
    "tickets, no ticket table": (4, 50_000, 1, 30, False, 900, 1, False),
    "tickets, 3 replications": (4, 50_000, 1, 30, False, 900, 3, True),
    "cells, no ticket table": (20_000, 20, 5, 15, False, 3, 1, False),
    "cells, 3 replications": (20_000, 20, 5, 15, False, 3, 3, True),
    "reserve pool": (2, 30_000, 1, 30, True, 450, 1, True),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    print(f"{'case':28} {'tickets':>10} {'cells':>10} {'measured':>10} {'estimate':>10} ratio")
    failed = False
    for name, case in CASES.items():
        done = subprocess.run(
            [sys.executable, "-c", RUN, json.dumps(case)], capture_output=True, text=True
        )
        if done.returncode:
            print(done.stderr)
            return 1
        measured, estimate, tickets, cells = json.loads(done.stdout.splitlines()[-1])
        ratio = estimate / measured
        ok = 1.0 <= ratio <= 3.0
        failed |= not ok
        print(
            f"{name:28} {tickets:10.3g} {cells:10.3g} {measured / 2**20:8.0f}MB "
            f"{estimate / 2**20:8.0f}MB {ratio:5.2f} {'PASS' if ok else 'FAIL'}"
        )
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
