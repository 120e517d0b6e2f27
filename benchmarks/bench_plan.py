"""Speed of planning (issue 8): requirements by the exact chain, and a verified weekly plan.

1. Requirements for a 10-category hall, each category at windows of its own, 7 days x 20
   half-hour intervals (1,400 group-intervals), by ``method="exact"`` (the time-varying chain
   solved interval by interval). Target: <= 1 s. Reported beside the same requirements by
   stationary Erlang C (SIPP) in the same run: the ratio says what the exact chain costs over
   the simplest formula.
2. A verified weekly tidal plan for the same hall: front desk by the exact chain, four staff
   types, shifts with lunch breaks, back office for deferred cases, each day's plan verified
   by simulation with 100 replications and repaired. Target: <= 60 s. Reported beside one
   ``simulate`` of the week with 100 replications (the unit verification pays per round).

Usage: ``python benchmarks/bench_plan.py [--repeat R] [--skip-tidal]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from figures import speed

import hallsim as hs
import hallsim.plan as hp

DEPARTMENTS = (
    "civil",
    "civil",
    "tax",
    "tax",
    "social",
    "social",
    "property",
    "property",
    "business",
    "business",
)


def ten_category_hall(days: int = 7) -> hs.Scenario:
    """08:00-18:00, a week (or ``days`` days), ten categories with morning and afternoon
    peaks, a share of deferred cases going to a back office."""
    rng = np.random.default_rng(8)
    profile = np.array([3, 6, 9, 10, 9, 7, 5, 3, 2, 3, 5, 7, 9, 10, 9, 7, 5, 4, 3, 2], float)
    categories = []
    for k in range(10):
        scale = rng.uniform(0.6, 1.6)
        categories.append(
            {
                "id": f"c{k}",
                "department": DEPARTMENTS[k],
                "arrivals": {
                    "rates_per_hour": (profile * scale).round(2).tolist(),
                    "weekday_factors": [1.3, 1.0, 1.0, 0.9, 1.1, 0.5, 0.3],
                },
                "service": {"dist": "exponential", "mean_min": float(rng.uniform(5, 15))},
                "patience": {"dist": "exponential", "mean_min": 60.0},
                **(
                    {"deferred": {"share": 0.4, "back_office": "approval", "pickup": False}}
                    if k % 3 == 0
                    else {}
                ),
            }
        )
    return hs.Scenario.model_validate(
        {
            "name": "ten categories, a week",
            "hall": {"open": "08:00", "close": "18:00", "days": days, "interval_min": 30},
            "categories": categories,
            "windows": [{"id": f"w{k}", "count": 6, "serves": [f"c{k}"]} for k in range(10)],
            "back_office": [
                {"id": "approval", "staff": 4, "service": {"dist": "exponential", "mean_min": 30.0}}
            ],
        }
    )


def best(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def measure_requirements(repeat: int, days: int = 7) -> dict:
    """Best seconds of the requirements by the exact chain and by Erlang C (SIPP) for ``days``
    days, and the number of group-intervals."""
    hall = ten_category_hall(days)
    target = hp.Target(wait_min=10, share=0.8)
    rows = len(hp.requirements(hall, target, method="exact"))  # compile the kernels once
    exact = best(lambda: hp.requirements(hall, target, method="exact"), repeat)
    sipp = best(lambda: hp.requirements(hall, target, method="erlang_c"), repeat)
    return {"exact": exact, "sipp": sipp, "rows": rows}


def suite(short: bool) -> dict:
    """The record of ``benchmarks/suite.py``: the exact chain's requirements against Erlang C
    (SIPP) in the same run, best of 3 (``short``: one day); the verified tidal plan, minutes
    long, is left to this script."""
    result = measure_requirements(3, 1 if short else 7)
    return {
        "figures": {
            "requirements, exact chain": speed(result["exact"], result["sipp"], "Erlang C (SIPP)")
        },
        "info": {"group_intervals": result["rows"]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-tidal", action="store_true")
    args = parser.parse_args()
    hall = ten_category_hall()
    target = hp.Target(wait_min=10, share=0.8)
    result = measure_requirements(args.repeat)
    exact, sipp, rows = result["exact"], result["sipp"], result["rows"]
    print(f"requirements, {rows} group-intervals (10 categories x 7 days x 20 intervals)")
    print(f"  exact chain      {exact:7.3f} s   target <= 1 s: {'ok' if exact <= 1 else 'MISSED'}")
    print(f"  Erlang C (SIPP)  {sipp:7.3f} s   exact / SIPP = {exact / sipp:.1f}")
    if args.skip_tidal or not hasattr(hp, "tidal"):
        return
    shift_types = [
        hp.ShiftType("early", 480, "08:00", "09:00", breaks=[hp.Break(30, after_min=(180, 300))]),
        hp.ShiftType("late", 480, "09:30", "10:00", breaks=[hp.Break(30, after_min=(180, 300))]),
        hp.ShiftType("half", 240, "08:00", "14:00", cost_per_hour=1.1),
    ]
    staff_types = [
        hp.StaffType("generalist", ["*", "back_office"], cost_factor=1.15),
        hp.StaffType("civil_tax", ["c0", "c1", "c2", "c3"]),
        hp.StaffType("social_property", ["c4", "c5", "c6", "c7", "back_office"]),
        hp.StaffType("business", ["c8", "c9"]),
    ]
    start = time.perf_counter()
    plan = hp.tidal(hall, target, shift_types, staff_types=staff_types, method="exact")
    check = hp.verify(plan, target, scenario=hall, replications=100, seed=1)
    tidal = time.perf_counter() - start
    week = best(lambda: hs.simulate(hall, replications=100, seed=1, progress=False), 1)
    print(
        f"verified weekly tidal plan  {tidal:7.1f} s   target <= 60 s: "
        f"{'ok' if tidal <= 60 else 'MISSED'}; {len(check.iterations)} verification rounds, "
        f"{'meets' if check.ok else 'misses'} the target"
    )
    print(
        f"  one simulate() of the week, 100 replications: {week:.2f} s "
        f"(plan / simulate = {tidal / week:.0f})"
    )


if __name__ == "__main__":
    main()
