"""The iterative staffing algorithm (ISA), driven by hallsim's simulator.

Feldman, Mandelbaum, Massey & Whitt (2008, "Staffing of time-varying queues to achieve
time-stable performance", Management Science 54(2)) staff a time-varying queue no formula
covers by a fixed point: simulate the hall with staffing ``s_n``; estimate, per interval, the
distribution of the number ``L`` of tickets in the group that an arriving ticket finds; set
``s_{n+1}`` to the smallest staffing whose target holds for that distribution; repeat until
the staffing no longer changes. For a delay-probability target ``alpha`` the step is theirs,
``s = min{s : P(L >= s) <= alpha}``. For the other criteria (wait share, mean wait,
abandonment) the found distribution is turned into an arriving ticket's experience with the
stage formulas of :mod:`hallsim.plan._chain` (the ticket's progress through the queue at rate
``s mu + i theta``); the simulation supplies what those formulas cannot know: the real
service-time distribution, priorities, no-shows, caps, appointments, how queues build up
and carry over.

The hall is simulated day by day (:func:`hallsim.plan.staffed.day_scenario`); every iteration
uses the same seed (common random numbers), so the staffing changes only where it must. It
starts from the Erlang-A staffing. With discrete staff the iteration may cycle between two
staffings (more staff, fewer found waiting, fewer staff, ...); it then stops at the larger of
the staffings in the cycle, interval by interval, and reports the metrics of the last
simulation.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from ..results import HallWarning
from ..runner import simulate
from ..scenario import Scenario
from ._chain import arrival_metrics
from ._search import applying, meets, reported_wait, smallest
from .staffed import day_scenario
from .target import Target

__all__ = ["isa", "found_on_arrival"]

#: Outcomes of tickets that never joined a queue.
_NEVER_QUEUED = ("balked", "capped")


def found_on_arrival(
    tickets: pd.DataFrame, groups: dict[str, list[str]], starts: np.ndarray, length: np.ndarray
) -> dict[tuple[str, int], np.ndarray]:
    """Histogram of the number in the group (waiting or served) each arriving ticket finds.

    ``groups`` maps a group to its category ids; ``starts`` and ``length`` are the planning
    intervals (minutes of day). Keys are ``(group, interval index)``; values count arrivals
    finding ``n = 0, 1, ...``. Tickets of a class ``<id>:priority`` or ``<id>:appointment``
    count for their category ``<id>``.
    """
    category = tickets["category"].astype("category")
    base = np.array([str(c).split(":")[0] for c in category.cat.categories])[
        category.cat.codes.to_numpy()
    ]
    joined = ~tickets["outcome"].isin(_NEVER_QUEUED).to_numpy()
    issued_all = tickets["issued"].to_numpy(dtype=float)
    end_all = tickets["end"].to_numpy(dtype=float)
    # one time line: replication r's times shifted by r * span, so that sorted searches
    # never mix replications; tickets still there at the horizon leave at its end
    span = float(np.nanmax(end_all, initial=0.0)) + float(issued_all.max(initial=0.0)) + 1.0
    shift = tickets["replication"].to_numpy(dtype=float) * span
    out: dict[tuple[str, int], np.ndarray] = {}
    for group, ids in groups.items():
        mine = joined & np.isin(base, ids)
        if not mine.any():
            continue
        issued = issued_all[mine] + shift[mine]
        end = np.nan_to_num(end_all[mine], nan=span - 1.0) + shift[mine]
        found = np.searchsorted(np.sort(issued), issued, side="left") - np.searchsorted(
            np.sort(end), issued, side="right"
        )
        minute = issued_all[mine] % 1440
        k = np.searchsorted(starts, minute, side="right") - 1
        inside = (k >= 0) & (minute < starts[np.maximum(k, 0)] + length[np.maximum(k, 0)])
        for slot in np.unique(k[inside]):
            out[(group, int(slot))] = np.bincount(found[inside & (k == slot)])
    return out


def isa(
    scenario: Scenario,
    start: pd.DataFrame,
    targets: list[Target],
    *,
    replications: int = 100,
    seed: int | None = 0,
    max_iterations: int = 10,
) -> pd.DataFrame:
    """Requirements of ``scenario`` by the ISA (see the module docstring).

    ``start`` is a requirement table of the scenario to start from (the Erlang-A staffing);
    returns it with the ISA's ``staff``, the metrics the last simulation predicts, and
    ``attrs["iterations"]`` (per day, the staffing of each iteration).
    """
    plan = start.copy()
    plan["interval"] = plan.groupby(["group", "day"], sort=False).cumcount()
    groups = {
        g: rows["categories"].iloc[0].split(",") for g, rows in plan.groupby("group", sort=False)
    }
    history: dict[int, list[np.ndarray]] = {}
    for day in sorted(plan["day"].unique()):
        rows = plan.index[plan["day"] == day]
        history[int(day)] = [plan.loc[rows, "staff"].to_numpy()]
        for _ in range(max_iterations):
            found = _simulate_found(scenario, plan.loc[rows], int(day), groups, replications, seed)
            staff, metrics = [], []
            for i in rows:
                row = plan.loc[i]
                wanted = applying(targets, groups[row["group"]])
                counts = found.get((row["group"], int(row["interval"])))
                if counts is None or counts.sum() == 0:
                    staff.append(int(row["staff"]))
                    metrics.append(tuple(row[m] for m in _METRIC_COLUMNS))
                    continue
                p = counts / counts.sum()
                mu = 1.0 / float(row["service_mean_min"])
                patience = float(row["patience_mean_min"])
                theta = 1.0 / patience if math.isfinite(patience) else 0.0

                def enough(c, p=p, mu=mu, theta=theta, wanted=wanted):
                    return meets(wanted, lambda w: arrival_metrics(p, c, mu, theta, w))

                where = f"group {row['group']!r}, day {day}, {row['time']}"
                c = smallest(int(row["staff"]), enough, lambda where=where: where)
                staff.append(c)
                metrics.append(arrival_metrics(p, c, mu, theta, reported_wait(wanted)))
            seen = history[int(day)]
            cycle = next((k for k, s in enumerate(seen) if np.array_equal(s, staff)), None)
            plan.loc[rows, "staff"] = staff
            plan.loc[rows, list(_METRIC_COLUMNS)] = np.array(metrics, dtype=float)
            seen.append(np.array(staff))
            if cycle == len(seen) - 2:  # a fixed point
                break
            if cycle is not None:  # a cycle: take the most of its staffings, to be safe
                plan.loc[rows, "staff"] = np.max(seen[cycle:], axis=0)
                break
    plan.attrs["iterations"] = history
    return plan.drop(columns="interval")


_METRIC_COLUMNS = (
    "delay_probability",
    "wait_share",
    "mean_wait_min",
    "abandon_share",
    "utilisation",
)


def _simulate_found(scenario, rows, day, groups, replications, seed):
    sc = day_scenario(scenario, rows, day)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HallWarning)
        results = simulate(sc, replications=replications, seed=seed, progress=False)
    first = rows[rows["group"] == rows["group"].iloc[0]].sort_values("interval_start")
    starts = first["interval_start"].to_numpy(dtype=int)
    length = first["interval_min"].to_numpy(dtype=int)
    return found_on_arrival(results.tickets, groups, starts, length)
