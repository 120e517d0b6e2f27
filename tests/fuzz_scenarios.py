"""Fuzz: damaged scenarios are refused with a ScenarioError, or simulate cleanly.

Every shipped scenario and the two halls of :mod:`damage` are damaged at random (see that
module); whatever validates is simulated for one day and one replication, in this process,
with its address space capped (``--heap-gb``), so a run that tries to allocate too much fails
here instead of taking the machine down. An *escape* is anything but a ``ScenarioError`` or a
clean run: another exception, a crash of the process, or a result that breaks conservation
(every ticket exactly one outcome, counted once in the interval table; a served ticket's times
in order). The report (JSON) counts each kind and lists every escape with its scenario.

    python tests/fuzz_scenarios.py --examples 10000 --report fuzz.json

The test suite runs a sample (``tests/test_fuzz.py``); the full run is recorded in
``benchmarks/README.md``. Before each simulation the damaged data is written to
``<report>.current``, so a crash that kills the process still shows its input.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numba
from damage import BASE, EXTREME, JUNK, OPERATIONS, SHIPPED, damaged_scenarios
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import hallsim as hs
from hallsim import Scenario, ScenarioError

BASES = [BASE, OPERATIONS, *SHIPPED.values()]


def one_day(scenario: Scenario) -> Scenario:
    """The scenario with its hall's days set to 1 (days themselves are checked by validation
    and by the size check, not by simulating them), from its first open day, without
    holidays (day numbers of the longer run)."""
    hall = scenario.hall
    first = hall.weekday(hall.open_days[0]) if hall.open_days else hall.first_weekday
    update = {"days": 1, "holidays": [], "first_weekday": first}
    return scenario.model_copy(update={"hall": hall.model_copy(update=update)})


def conservation_problem(results: hs.Results) -> str | None:
    """What is wrong with a run's tables, or None: every ticket has one outcome and is
    counted once by issue time; a served ticket was called, started and ended in order."""
    tickets = results.tickets
    if tickets["outcome"].isna().any():
        return "a ticket without an outcome"
    counted = int(results.intervals["arrivals"].sum())
    if counted != len(tickets):
        return f"{len(tickets)} tickets but {counted} counted in the interval table"
    served = tickets[tickets["outcome"] == "served"]
    times = served[["issued", "called", "start", "end"]].to_numpy()
    if not (times == times).all():
        return "a served ticket without a time"
    if (times[:, 1:] < times[:, :-1]).any():
        return "a served ticket's times out of order"
    return None


def try_one(data: dict[str, Any]) -> tuple[str, str | None]:
    """``("invalid" | "refused" | "ran", None)`` or ``("escape", what happened)``."""
    try:
        scenario = Scenario.model_validate(data)
    except ScenarioError:
        return "invalid", None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = hs.simulate(one_day(scenario), replications=1, seed=0, progress=False)
    except ScenarioError:
        return "refused", None
    except Exception:  # noqa: BLE001 - an escape is exactly what this records
        return "escape", traceback.format_exc(limit=4)
    problem = conservation_problem(results)
    return ("escape", problem) if problem else ("ran", None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--heap-gb", type=float, default=6.0, help="address-space cap")
    parser.add_argument("--report", type=Path, default=Path("fuzz-report.json"))
    args = parser.parse_args(argv)

    # warm up (imports, numba's compile or cache load) before the cap
    hs.simulate(Scenario.model_validate(OPERATIONS), replications=1, seed=0, progress=False)
    cap = int(args.heap_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    current = args.report.with_name(args.report.name + ".current")
    counts: Counter[str] = Counter()
    escapes: list[dict[str, str]] = []
    started = time.perf_counter()

    @settings(
        max_examples=args.examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.one_of(damaged_scenarios(BASES, JUNK), damaged_scenarios(BASES, EXTREME)))
    def fuzz(data):
        current.write_text(repr(data))
        kind, detail = try_one(data)
        counts[kind] += 1
        if kind == "escape":
            escapes.append({"scenario": repr(data), "what": detail})

    fuzz()
    current.unlink(missing_ok=True)
    report = {
        "examples": sum(counts.values()),
        "invalid": counts["invalid"],
        "refused": counts["refused"],
        "ran": counts["ran"],
        "escapes": len(escapes),
        "seconds": round(time.perf_counter() - started, 1),
        "heap_gb": args.heap_gb,
        "boundscheck": bool(numba.config.BOUNDSCHECK),
        "escaped": escapes,
    }
    args.report.write_text(json.dumps(report, indent=1))
    print({key: value for key, value in report.items() if key != "escaped"})
    return 1 if escapes else 0


if __name__ == "__main__":
    sys.exit(main())
