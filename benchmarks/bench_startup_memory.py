"""Startup time of ``hallsim run`` (issues 2 and 11) and peak memory of a 2-million-ticket run.

1. ``hallsim run scenarios/mmc.toml --replications 3 --seed 1`` runs twice (``TQDM_DISABLE=1``):
   the first may compile the numba kernels into their on-disk cache, the second must start and
   finish in under 3 s.
2. First run (issue 11): ``hallsim run scenarios/panjin.toml`` with ``NUMBA_CACHE_DIR``
   pointing to a fresh temporary folder, so every kernel it uses compiles (target <= 15 s),
   then again on that now warm cache (target <= 2 s). Beside it, the same first run pinned
   to one CPU, where hallsim compiles everything in one process (with two CPUs a second
   process compiles the table kernels meanwhile): the ratio is what that saves, in the same
   run. ``--no-first-run`` skips it.
3. ``simulate`` on hall-8 (b), 30 comprehensive windows, for about 2 million tickets with one
   replication, in a fresh process, with ``keep_tickets=True`` and ``False``: its peak resident
   memory (``ru_maxrss``) must stay under 500 MB.

4. A long horizon (issue 11): ``hallsim run`` of ``scenarios/panjin.toml`` with ``days =
   100000`` (about 11.4 M tickets), ``--no-tickets --replications 1``, in a fresh process: its
   peak resident memory must stay within 1 GB (the days run span by span; what is kept grows
   only by the per-day aggregates). ``--no-long-horizon`` skips it.

Usage: ``python benchmarks/bench_startup_memory.py [--days N] [--no-first-run]
[--no-long-horizon]``. Always exits 0.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

import hallsim
from hallsim.compile import compile_scenario

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "scenarios" / "mmc.toml"
PANJIN = ROOT / "scenarios" / "panjin.toml"
FIRST_RUN_TARGET = 15.0  # seconds, empty numba cache
WARM_RUN_TARGET = 2.0  # seconds, the same cache warm
HALL8 = ROOT / "scenarios" / "hall8-comprehensive.toml"
STARTUP_TARGET = 3.0  # seconds, second run
MEMORY_TARGET = 500.0  # MB (10^6 bytes)
LONG_DAYS = 100_000
LONG_MEMORY_TARGET = 1000.0  # MB, the long horizon without tickets
TICKETS = 2_000_000
TIMEOUT = 300  # seconds per child process

# Run in a fresh interpreter: simulate hall-8 (b) for argv[1] days; argv[2] == "1" keeps tickets.
SIMULATE = """
import sys
import hallsim
scenario = hallsim.load_scenario(sys.argv[3])
data = scenario.model_dump()
data["hall"]["days"] = int(sys.argv[1])
scenario = hallsim.Scenario.model_validate(data)
results = hallsim.simulate(scenario, replications=1, seed=1, progress=False,
                           keep_tickets=sys.argv[2] == "1")
print(int(results.replication_stats["tickets"].iloc[-1]))
"""


def hallsim_command() -> list[str]:
    """The ``hallsim`` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("hallsim")
    if script.exists():
        return [str(script)]
    found = shutil.which("hallsim")
    return [found] if found else [sys.executable, "-m", "hallsim.cli"]


def run_child(command: list[str], one_cpu: bool = False, **env: str) -> tuple[float, float, str]:
    """Run ``command`` (``one_cpu``: pinned to one CPU); return its wall time (s), peak
    resident memory (MB) and stdout.

    ``os.wait4`` reaps the child and gives its own ``ru_maxrss``: the figure that
    ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` reports after it exits when it is the
    only child (RUSAGE_CHILDREN keeps the maximum over every child reaped so far).
    """
    env = {**os.environ, "TQDM_DISABLE": "1", **env}
    with tempfile.TemporaryFile(mode="w+") as stderr:
        t0 = time.perf_counter()
        pin = None
        if one_cpu and hasattr(os, "sched_setaffinity"):
            cpu = min(os.sched_getaffinity(0))

            def pin() -> None:
                os.sched_setaffinity(0, {cpu})

        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            preexec_fn=pin,
        )
        timer = threading.Timer(TIMEOUT, process.kill)
        timer.start()
        stdout = process.stdout.read()
        process.stdout.close()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - t0
        timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            stderr.seek(0)
            raise RuntimeError(
                f"{' '.join(command)} exited with {process.returncode}:\n{stderr.read()}"
            )
    return wall, usage.ru_maxrss * 1024 / 1e6, stdout  # ru_maxrss is in KiB on Linux


def days_for(tickets: int) -> int:
    """Days of hall-8 (b) whose expected ticket count is closest to ``tickets``."""
    hall = compile_scenario(hallsim.load_scenario(HALL8))
    slot_len = np.diff(hall.rate_bounds)  # the arrival pieces
    per_category = (hall.rate_per_min * slot_len[:, None]).sum(axis=0)  # factor-1 day
    per_day = float((hall.weekday_factor @ per_category).mean())
    return max(1, round(tickets / per_day))


def verdict(ok: bool) -> str:
    """PASS or FAIL."""
    return "PASS" if ok else "FAIL"


def first_run() -> list[str]:
    """Time ``hallsim run scenarios/panjin.toml`` on an empty numba cache, then warm; print
    the figures and return the verdict lines."""
    command = [*hallsim_command(), "run", str(PANJIN.relative_to(ROOT))]
    print(f"$ TQDM_DISABLE=1 NUMBA_CACHE_DIR=<fresh folder> {' '.join(command)}")
    with tempfile.TemporaryDirectory(prefix="hallsim-numba-cache-") as cache:
        alone, _, _ = run_child(command, one_cpu=True, NUMBA_CACHE_DIR=cache)
    with tempfile.TemporaryDirectory(prefix="hallsim-numba-cache-") as cache:
        first, first_rss, _ = run_child(command, NUMBA_CACHE_DIR=cache)
        warm, warm_rss, _ = run_child(command, NUMBA_CACHE_DIR=cache)
    print(f"  first run on one CPU (no helper)    {alone:6.2f} s")
    print(
        f"  first run (empty cache: compiles)   {first:6.2f} s   peak {first_rss:6.0f} MB"
        f"   {first / alone:.2f} x one CPU"
    )
    print(f"  warm run (the same cache)           {warm:6.2f} s   peak {warm_rss:6.0f} MB")
    lines = []
    for name, seconds, target in (
        ("first", first, FIRST_RUN_TARGET),
        ("warm", warm, WARM_RUN_TARGET),
    ):
        ok = seconds <= target
        lines.append(
            f"{verdict(ok)} {name} `hallsim run scenarios/panjin.toml` {seconds:.2f} s "
            f"{'<=' if ok else '>'} {target:.0f} s"
        )
    return lines


def long_horizon() -> str:
    """Run ``hallsim run`` on Panjin with :data:`LONG_DAYS` days and ``--no-tickets``; print
    its figures and return the verdict line."""
    text = PANJIN.read_text(encoding="utf-8").replace("days = 5\n", f"days = {LONG_DAYS}\n", 1)
    with tempfile.TemporaryDirectory(prefix="hallsim-long-") as folder:
        path = Path(folder) / "panjin-long.toml"
        path.write_text(text, encoding="utf-8")
        command = [*hallsim_command(), "run", str(path), "--no-tickets", "--replications", "1"]
        print(f"$ TQDM_DISABLE=1 {' '.join(command[:2])} <panjin.toml, days = {LONG_DAYS}> "
              f"{' '.join(command[3:])}")  # fmt: skip
        wall, rss, stdout = run_child([*command, "--seed", "1"])
    tickets = next(line for line in stdout.splitlines() if line.startswith("overall")).split()[1]
    print(f"  {float(tickets):,.0f} tickets in {wall:.1f} s (with imports), peak {rss:.0f} MB")
    ok = rss <= LONG_MEMORY_TARGET
    return (
        f"{verdict(ok)} peak memory, {LONG_DAYS:,} days without tickets {rss:.0f} MB "
        f"{'<=' if ok else '>'} {LONG_MEMORY_TARGET:.0f} MB"
    )


def main(argv: list[str] | None = None) -> int:
    """Measure and print; return the exit status (always 0)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--days",
        type=int,
        default=None,
        metavar="N",
        help="days of hall-8 (b) for the memory run (default: ~2 M tickets)",
    )
    parser.add_argument(
        "--no-first-run",
        action="store_true",
        help="skip the first run on an empty numba cache (it takes up to a minute)",
    )
    parser.add_argument(
        "--no-long-horizon",
        action="store_true",
        help=f"skip the run of {LONG_DAYS:,} days without tickets (about 10 s)",
    )
    args = parser.parse_args(argv)
    days = args.days or days_for(TICKETS)

    print(
        f"startup and memory: hallsim {hallsim.__version__}, Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f}\n"
    )
    command = [
        *hallsim_command(),
        "run",
        str(SMALL.relative_to(ROOT)),
        "--replications",
        "3",
        "--seed",
        "1",
    ]
    print(f"$ TQDM_DISABLE=1 {' '.join(command)}")
    first, first_rss, _ = run_child(command)
    second, second_rss, _ = run_child(command)
    interpreter, _, _ = run_child([sys.executable, "-c", "pass"])
    imports, import_rss, _ = run_child([sys.executable, "-c", "import hallsim"])
    print(f"  first run (may compile the kernels) {first:6.2f} s   peak {first_rss:6.0f} MB")
    print(f"  second run (cached kernels)         {second:6.2f} s   peak {second_rss:6.0f} MB")
    print(f"  for reference: python -c pass      {interpreter:6.2f} s")
    print(f"  python -c 'import hallsim'          {imports:6.2f} s   peak {import_rss:6.0f} MB")
    ok_startup = second < STARTUP_TARGET
    print(
        f"{verdict(ok_startup)} second `hallsim run` {second:.2f} s "
        f"{'<' if ok_startup else '>='} {STARTUP_TARGET:.0f} s\n"
    )
    if not args.no_first_run:
        print("\n".join(first_run()) + "\n")

    print(
        f"simulate(hall-8 (b), {days} days, replications=1, seed=1) in a fresh process; "
        "peak RSS (ru_maxrss) in MB = 10^6 bytes"
    )
    lines = []
    for keep in (True, False):
        wall, rss, stdout = run_child(
            [sys.executable, "-c", SIMULATE, str(days), "1" if keep else "0", str(HALL8)]
        )
        tickets = int(stdout.split()[-1])
        print(
            f"  keep_tickets={keep!s:<5} {tickets:>9,} tickets  peak {rss:6.0f} MB  "
            f"(wall {wall:.1f} s with imports)"
        )
        ok = rss < MEMORY_TARGET
        lines.append(
            f"{verdict(ok)} peak memory, keep_tickets={keep!s:<5} {rss:4.0f} MB "
            f"{'<' if ok else '>='} {MEMORY_TARGET:.0f} MB"
        )
    print(f"  (fixed cost: 'import hallsim' alone peaks at {import_rss:.0f} MB)")
    print("\n".join(lines))
    if not args.no_long_horizon:
        print()
        print(long_horizon())
    return 0


if __name__ == "__main__":
    sys.exit(main())
