"""Replications and sweeps on Dask (issue 13, items 1 and 4): local processes against a
``LocalCluster``, a large sweep and a one-year horizon, with time and memory.

(a) **Replications.** ``--replications`` (1000) replications of a day of about 20,000
    tickets, aggregates only (``keep_tickets=False``): ``scenarios/hall8-comprehensive.toml``
    scaled by 5 (arrival rates x5, 150 comprehensive windows instead of 30: the same load per
    window, 20,160 tickets a day on average). Timed with ``workers=1``, ``workers=2`` and
    ``client=`` a ``LocalCluster`` of two one-thread worker processes (started before, and
    warmed up: numba's kernels loaded in each worker). Best of ``--repeat``. Targets (issue
    13): <= 3 s with both cores; two workers >= 1.7x one; the cluster within 1.3x of the
    process pool.
(b) **A large sweep.** ``--points`` (200) points x ``--sweep-replications`` (100)
    replications of a Panjin week (``scenarios/panjin.toml`` with ``days = 7``): 10 window
    counts of group Z x 20 generalist factors, on the same LocalCluster: wall time, peak
    resident memory of each worker and of this process (the client), and the workers'
    idle share ``(wall x threads - sum of the batches' compute times) / (wall x threads)``
    from Dask's task stream, in parts: before the first batch starts (the client checks and
    compiles every point first), between two batches of a worker, and the rest (the client
    and the scheduler share the two cores; the last batches). The **per-task overhead** is
    the idle share once the first batch has started: what running the batches as tasks
    costs (target: <= 10 %).
(c) **A long horizon.** One replication of ``--days`` (365) Panjin days, tickets kept, on
    the LocalCluster and in this process: time and peak memory.

Each cluster part runs twice, on a LocalCluster as Dask starts it and on one whose workers
start with ``MALLOC_MMAP_THRESHOLD_`` = 32 MiB (see :data:`CLUSTERS`: Dask's default
``MALLOC_TRIM_THRESHOLD_`` slows hallsim's batches). The LocalCluster's scheduler runs in
this process (the client); its workers are processes.
Peak memory is Linux's ``VmHWM`` (reset through ``/proc/self/clear_refs`` before each
measure), in MiB. ``--short`` runs each part small (100 replications, 10 points x 20, 30
days: seconds). Every part is a function returning a dict of figures; ``main()`` prints them.

Usage: ``python benchmarks/bench_dask.py [--short] [--replications N] [--repeat R]
[--points P] [--sweep-replications N] [--days D] [--json]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from bench_hall8 import best_of, with_days

import hallsim
from hallsim.compile import compile_scenario
from hallsim.size import expected_tickets

ROOT = Path(__file__).resolve().parent.parent
HALL8 = ROOT / "scenarios" / "hall8-comprehensive.toml"
PANJIN = ROOT / "scenarios" / "panjin.toml"
SEED = 1
SCALE = 5  # hall-8 (b) x5: about 20,000 tickets a day
TARGET_SECONDS = 3.0  # (a), both cores
TARGET_SCALING = 1.7  # (a), workers=2 over workers=1
TARGET_CLUSTER = 1.3  # (a), LocalCluster over workers=2
TARGET_OVERHEAD = 0.10  # (b)
MIB = 2**20


def day_of_20000() -> hallsim.Scenario:
    """hall-8 (b) with its arrival rates and windows scaled by :data:`SCALE`."""
    data = hallsim.load_scenario(HALL8).model_dump()
    for category in data["categories"]:
        category["arrivals"]["rate_per_hour"] *= SCALE
    data["windows"][0]["count"] *= SCALE
    data["name"] = f"hall-8 comprehensive x{SCALE}"
    return hallsim.Scenario.model_validate(data)


def sweep_grid(points: int) -> dict[str, list]:
    """``points`` points: window counts of group Z (4, 5, ...) x generalist factors."""
    counts = 10 if points >= 10 else points
    factors = max(1, points // counts)
    return {
        "windows[Z].count": list(range(4, 4 + counts)),
        "windows[*].generalist_factor": [round(1.0 + 0.01 * k, 2) for k in range(factors)],
    }


# --- memory: Linux's peak resident set, reset before each measure -------------------------


def reset_peak() -> int:
    """Forget this process's peak resident memory; its resident memory now, in bytes."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    return _status("VmRSS:")


def peak() -> int:
    """This process's peak resident memory since the last :func:`reset_peak`, in bytes."""
    return _status("VmHWM:")


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def workers_peak(client) -> list[int]:
    return sorted(client.run(peak).values())


# --- the parts ---------------------------------------------------------------------------


def replications_figures(replications: int, repeat: int, client=None) -> dict:
    """(a): seconds of ``replications`` replications of the 20,000-ticket day, aggregates
    only: with one and two local processes, or on the cluster of ``client``."""
    scenario = day_of_20000()
    executors = {"workers=1": {}, "workers=2": {"workers": 2}}
    if client is not None:
        executors = {"cluster": {"client": client}}
    for executor in executors.values():  # warm-up: numba's kernels loaded in every worker
        hallsim.simulate(scenario, replications=4, seed=SEED, progress=False, **executor)
    seconds = {
        label: best_of(
            lambda executor=executor: hallsim.simulate(
                scenario,
                replications=replications,
                seed=SEED,
                keep_tickets=False,
                progress=False,
                **executor,
            ),
            repeat,
        )
        for label, executor in executors.items()
    }
    tickets = expected_tickets(compile_scenario(scenario)) * replications
    return {"replications": replications, "tickets": tickets, "seconds": seconds}


def sweep_figures(client, points: int, replications: int) -> dict:
    """(b): the sweep of ``points`` points x ``replications`` of a Panjin week on the cluster:
    wall time, peak memory (workers, client), and the per-task overhead."""
    from distributed import get_task_stream

    base = with_days(hallsim.load_scenario(PANJIN), 7)
    grid = sweep_grid(points)
    n_points = int(np.prod([len(values) for values in grid.values()]))
    warm_up = {"windows[Z].count": [5]}
    hallsim.sweep(base, warm_up, replications=10, seed=SEED, client=client, progress=False)
    threads = sum(client.nthreads().values())
    client.run(reset_peak)
    before = reset_peak()
    with get_task_stream(client) as stream:
        start, cpu, clock = time.perf_counter(), time.process_time(), time.time()
        table = hallsim.sweep(
            base, grid, replications=replications, seed=SEED, client=client, progress=False
        )
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    spans: dict[tuple, list[tuple[float, float]]] = {}  # per worker thread: its batches
    for task in stream.data:
        if str(task["key"]).startswith("hallsim-batch"):
            for part in task["startstops"]:
                if part["action"] == "compute":
                    spans.setdefault((task["worker"], task["thread"]), []).append(
                        (part["start"], part["stop"])
                    )
    compute = [stop - start for thread in spans.values() for start, stop in thread]
    busy = float(np.sum(compute))
    # Dask's own share: a worker thread's time between the end of a batch and the start of
    # the next (all are submitted before the first runs, so none waits for the client)
    gaps = [
        max(0.0, following[0] - previous[1])
        for thread in spans.values()
        for previous, following in zip(sorted(thread), sorted(thread)[1:], strict=False)
    ]
    figures = {
        "points": n_points,
        "replications": replications,
        "rows": len(table),
        "tasks": len(compute),
        "seconds": wall,
        "compute_seconds": busy,
        "idle": (wall * threads - busy) / (wall * threads),
        "gap_ms_median": 1e3 * float(np.median(gaps)) if gaps else 0.0,
        "gaps_share": float(np.sum(gaps)) / (wall * threads),
        # the points validated and compiled (all before any runs), until the first batch
        "setup_seconds": min(start for thread in spans.values() for start, _ in thread) - clock,
        "client_cpu_seconds": cpu,  # the tables of each point, and the scheduler (in here)
        "workers_peak_mib": [value / MIB for value in workers_peak(client)],
        "client_growth_mib": (peak() - before) / MIB,
    }
    # the idle share once the first batch has started
    figures["overhead"] = figures["idle"] - figures["setup_seconds"] / wall
    return figures


def year_figures(client, days: int) -> dict:
    """(c): one replication of ``days`` Panjin days with its tickets, on the cluster and in
    this process: seconds and peak memory."""
    scenario = with_days(hallsim.load_scenario(PANJIN), days)
    options = {"replications": 1, "seed": SEED, "progress": False}
    hallsim.simulate(with_days(scenario, 2), client=client, **options)  # warm-up
    client.run(reset_peak)
    before = reset_peak()
    start = time.perf_counter()
    results = hallsim.simulate(scenario, client=client, **options)
    cluster = time.perf_counter() - start
    worker_mib = [value / MIB for value in workers_peak(client)]
    client_mib = (peak() - before) / MIB
    tickets = len(results.tickets)
    del results
    before = reset_peak()
    start = time.perf_counter()
    hallsim.simulate(scenario, **options)
    local = time.perf_counter() - start
    return {
        "days": days,
        "tickets": tickets,
        "cluster_seconds": cluster,
        "workers_peak_mib": worker_mib,
        "client_growth_mib": client_mib,
        "local_seconds": local,
        "local_growth_mib": (peak() - before) / MIB,
    }


# Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536, which also stops glibc from
# raising its mmap threshold: every large array of a batch is then mapped and faulted in
# anew (a batch of 13 replications of the 20,000-ticket day: 0.060 s -> 0.083 s). A fixed
# threshold of 32 MiB (glibc's own ceiling for the dynamic one) gives the speed back.
CLUSTERS = {
    "LocalCluster(2)": {},
    "LocalCluster(2), mmap 32 MiB": {
        "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 32 * MIB
    },
}


def cluster_figures(config: dict, args: argparse.Namespace) -> dict:
    """(a), (b) and (c) on a LocalCluster of two one-thread worker processes started with
    the Dask configuration ``config``."""
    import dask
    from distributed import Client, LocalCluster

    with (
        dask.config.set(config),
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        return {
            "replications": replications_figures(args.replications, args.repeat, client),
            "sweep": sweep_figures(client, args.points, args.sweep_replications),
            "year": year_figures(client, args.days),
        }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    """Run the three parts on one LocalCluster and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="each part small (seconds)")
    parser.add_argument("--replications", type=int, default=None, metavar="N")
    parser.add_argument("--repeat", type=int, default=None, metavar="R")
    parser.add_argument("--points", type=int, default=None, metavar="P")
    parser.add_argument("--sweep-replications", type=int, default=None, metavar="N")
    parser.add_argument("--days", type=int, default=None, metavar="D")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    defaults = (100, 1, 10, 20, 30) if args.short else (1000, 3, 200, 100, 365)
    names = ("replications", "repeat", "points", "sweep_replications", "days")
    for name, default in zip(names, defaults, strict=True):
        if getattr(args, name) is None:
            setattr(args, name, default)
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be positive")

    print(
        f"dask benchmark: hallsim {hallsim.__version__}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hallsim.HallWarning)  # small Z groups are overloaded
        figures = {"local": replications_figures(args.replications, args.repeat)}
        for label, config in CLUSTERS.items():
            figures[label] = cluster_figures(config, args)
    local = figures["local"]
    pool = local["seconds"]["workers=2"]
    print(
        f"\n(a) {local['replications']} replications of a "
        f"{local['tickets'] / local['replications']:,.0f}-ticket day (hall-8 x{SCALE}), "
        f"aggregates only, best of {args.repeat}"
    )
    rows = dict(local["seconds"])
    rows.update({label: figures[label]["replications"]["seconds"]["cluster"] for label in CLUSTERS})
    for label, seconds in rows.items():
        print(
            f"  {label:<30} {seconds:7.2f} s  {local['tickets'] / seconds / 1e6:6.2f} M tickets/s"
            f"  {seconds / pool:5.2f} x workers=2"
        )
    best = min(rows[label] for label in rows if label != "workers=1")
    scaling = local["seconds"]["workers=1"] / pool
    print(f"  {verdict(best <= TARGET_SECONDS)} both cores {best:.2f} s (target <= 3 s)")
    print(f"  {verdict(scaling >= TARGET_SCALING)} workers 1 -> 2: {scaling:.2f}x (target >= 1.7)")
    for label in CLUSTERS:
        ratio = rows[label] / pool
        print(f"  {verdict(ratio <= TARGET_CLUSTER)} {label} / process pool: {ratio:.2f} (<= 1.3)")
    for label in CLUSTERS:
        b, c = figures[label]["sweep"], figures[label]["year"]
        print(
            f"\n{label}\n(b) sweep of {b['points']} points x {b['replications']} replications "
            f"of a Panjin week: {b['tasks']} tasks, {b['rows']} rows"
        )
        print(
            f"  wall {b['seconds']:.1f} s, batches computing {b['compute_seconds']:.1f} s, this "
            f"process (client and scheduler) {b['client_cpu_seconds']:.1f} s of CPU"
        )
        print(
            "  peak memory: workers "
            + ", ".join(f"{value:.0f}" for value in b["workers_peak_mib"])
            + f" MiB; client +{b['client_growth_mib']:.0f} MiB"
        )
        print(
            f"  workers idle {100 * b['idle']:.1f} % of wall x threads: before the first batch "
            f"{100 * b['setup_seconds'] / b['seconds']:.1f} % (the points checked and compiled, "
            f"{b['setup_seconds']:.2f} s), between two batches of a worker "
            f"{100 * b['gaps_share']:.1f} % ({b['gap_ms_median']:.1f} ms median), the rest "
            f"{100 * (b['overhead'] - b['gaps_share']):.1f} %"
        )
        print(
            f"  {verdict(b['overhead'] <= TARGET_OVERHEAD)} per-task overhead (idle once the "
            f"first batch started) {100 * b['overhead']:.1f} % of wall x threads (target <= 10 %)"
        )
        print(f"(c) one replication of {c['days']} Panjin days, tickets kept: {c['tickets']:,}")
        print(
            f"  cluster {c['cluster_seconds']:.2f} s, workers' peak "
            + ", ".join(f"{value:.0f}" for value in c["workers_peak_mib"])
            + f" MiB, client +{c['client_growth_mib']:.0f} MiB; this process "
            f"{c['local_seconds']:.2f} s, +{c['local_growth_mib']:.0f} MiB"
        )
    if args.json:
        print(json.dumps(figures, indent=2))
    print(f"\nload average {os.getloadavg()[0]:.2f} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
