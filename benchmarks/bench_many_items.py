"""A hall of many items: 995 categories from 51 departments (Maoming's city hall lists 995
items from 51 departments; a hall fitted from its logs has one category per item).

Each category has lognormal service (mean 4-20 minutes, cv 0.8) and exponential patience
(mean 40 minutes); arrivals total about 2,300 a day over 08:30-17:00, five days a week. Two
layouts: department windows (each department's windows serve its items) and comprehensive
windows (every window serves every item), with as many windows in both. Each layout runs
``simulate(..., replications=20, seed=1)`` as a user calls it, with and without the ticket
table (best of ``--repeat``), printed as seconds and million tickets per second, beside the
minimal FCFS kernel of ``bench_hall8.py`` on the same tickets (``x base``).

Target (issue 11): >= 2 M tickets/s with both layouts. Usage:
``python benchmarks/bench_many_items.py [--repeat 3]``. Always exits 0.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from bench_hall8 import baseline, best_of
from figures import speed

import hallsim as hs
from hallsim.compile import compile_scenario
from hallsim.engines.inputs import draw_inputs

DEPARTMENTS, ITEMS = 51, 995
TARGET = 2.0  # million tickets per second


def many_items(layout: str) -> hs.Scenario:
    """The hall, with department or comprehensive windows."""
    rng = np.random.default_rng(0)
    department = np.sort(rng.integers(0, DEPARTMENTS, ITEMS))
    weight = rng.pareto(1.2, ITEMS) + 0.05  # a few busy items, many rare ones
    rate = 2300 / 8.5 * weight / weight.sum()  # per hour
    mean = rng.uniform(4, 20, ITEMS)
    categories = [
        {
            "id": f"item{k}",
            "department": f"dept{department[k]}",
            "arrivals": {"rate_per_hour": float(rate[k])},
            "service": {"dist": "lognormal", "mean_min": float(mean[k]), "cv": 0.8},
            "patience": {"dist": "exponential", "mean_min": 40.0},
        }
        for k in range(ITEMS)
    ]
    offered = np.bincount(department, rate * mean / 60, minlength=DEPARTMENTS)  # Erlangs
    present = np.unique(department)
    count = {d: max(1, int(np.ceil(offered[d] / 0.8))) for d in present}  # 80 % load
    if layout == "departments":
        windows = [{"id": f"D{d}", "count": count[d], "serves": [f"dept{d}"]} for d in present]
    else:
        windows = [{"id": "C", "count": sum(count.values()), "serves": ["*"]}]
    load = offered.sum()
    return hs.Scenario.model_validate(
        {
            "name": f"995 items, {layout} ({load:.0f} Erlangs)",
            "hall": {"open": "08:30", "close": "17:00", "days": 5, "interval_min": 30},
            "categories": categories,
            "windows": windows,
        }
    )


def measure(repeat: int, replications: int = 20) -> list[dict]:
    """Per layout and ``keep_tickets``: tickets, best seconds of ``simulate`` and of the
    minimal FCFS kernel on as many tickets (``base``)."""
    rows = []
    for layout in ("departments", "comprehensive"):
        scenario = many_items(layout)
        warm = hs.simulate(scenario, replications=replications, seed=1, progress=False)
        tickets = len(warm.tickets)
        # the minimal FCFS kernel on a replication's tickets, one server per window, x reps
        hall = compile_scenario(scenario)
        inputs = draw_inputs(hall, np.random.default_rng(1))
        baseline(hall, inputs)
        base = best_of(lambda h=hall, i=inputs: baseline(h, i), repeat) * tickets / inputs.n_tickets
        for keep in (True, False):
            seconds = best_of(
                lambda keep=keep, scenario=scenario: hs.simulate(
                    scenario, replications=replications, seed=1, keep_tickets=keep, progress=False
                ),
                repeat,
            )
            rows.append(
                {"layout": layout, "keep": keep, "tickets": tickets, "s": seconds, "base": base}
            )
    return rows


def suite(short: bool) -> dict:
    """The record of ``benchmarks/suite.py``: each layout against the minimal kernel on as
    many tickets; ``short``: 2 replications, best of 2 (else 20, best of 3)."""
    rows = measure(2, 2) if short else measure(3, 20)
    return {
        "figures": {
            f"{row['layout']}, keep_tickets={row['keep']}": speed(
                row["s"], row["base"], "minimal FCFS kernel", tickets=row["tickets"]
            )
            for row in rows
        }
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    print(f"{ITEMS} items, {DEPARTMENTS} departments; load average {os.getloadavg()[0]:.2f}")
    print(f"{'layout':<14}{'tickets':>11}{'kept':>6}{'s':>8}{'M/s':>7}{'x base':>8}")
    for row in measure(args.repeat):
        speed_m = row["tickets"] / row["s"] / 1e6
        verdict = "PASS" if speed_m >= TARGET else "FAIL"
        print(
            f"{row['layout']:<14}{row['tickets']:>11,}{row['keep']!s:>6}{row['s']:>8.3f}"
            f"{speed_m:>7.2f}{row['base'] / row['s']:>8.2f}   {verdict} (target {TARGET} M/s)"
        )
    print(f"load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
