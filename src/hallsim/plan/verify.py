"""Verification by simulation: does a plan meet its target in every interval? Repair if not.

Formulas price plans; the simulator judges them. :func:`verify` simulates a plan (a
requirement table, a :class:`~hallsim.plan.Schedule` or a ready Scenario) and estimates, for
every group of windows, day and planning interval, each targeted metric over the tickets
issued in that interval, with a 95 % confidence interval over replications (a ratio
estimator: the replications' pooled share, its standard error by the delta method, Student's
t). An interval *meets* the target when its whole confidence interval lies on the right side
of it (so a pass is evidence, not luck); it *misses* otherwise.

With ``repair=True``, every missed interval gets one more staff member (a requirement table),
or, for a Schedule, the requirement becomes what each interval staffed, one more where it
missed, and the solver adds shifts to the plan's (a repair only adds staff); the plan is simulated
again, until every interval meets the target or ``max_iterations`` is reached. Each
iteration is reported.

Per ticket, as the tickets table defines them: its wait is ``called - issued`` (a ticket
never called waits until it leaves, ``end - issued``); it waited when that is > 0; it was
called within ``wait_min`` when it was called that soon; it abandoned when its outcome is
``abandoned``. Tickets that balked or were refused by a daily cap never queued and are not
counted. Utilisation is the group's busy window-minutes over its open window-minutes.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..clock import clock
from ..errors import PlanError
from ..results import HallWarning, Results
from ..runner import simulate
from ..scenario import Scenario
from .demand import groups_of
from .staffed import day_scenario, one_day
from .target import Target, targets_for

__all__ = ["Verification", "verify"]


@dataclass
class Verification:
    """What :func:`verify` found.

    Attributes
    ----------
    intervals : pandas.DataFrame
        The last simulation, per target, group, day and interval: ``tickets``, and for each
        criterion ``<metric>``, ``<metric>_lo``, ``<metric>_hi`` (95 % CI) and ``met``
        (every criterion met at the confidence level), ``missed`` (the criteria missed).
    iterations : pandas.DataFrame
        Per iteration: intervals judged and missed, the ``size`` of the plan judged
        (staff-hours, or a schedule's cost), what the repair changed, and the seconds spent
        simulating, judging and repairing.
    plan : pandas.DataFrame or Schedule or Scenario
        The plan as verified last (repaired, if it was).
    scenario : Scenario or list of Scenario
        What was simulated last (one per day for a plan whose days differ).
    ok : bool
        Every interval met the target in the last simulation.
    confidence : float
        The level of the intervals and of the verdicts.
    targets : list of Target
        The targets judged.
    results : list of Results
        The last simulation (one per day simulated apart).
    """

    intervals: pd.DataFrame
    iterations: pd.DataFrame
    plan: object
    scenario: object
    ok: bool
    confidence: float
    targets: list[Target] = field(default_factory=list)
    results: list[Results] = field(default_factory=list, repr=False)

    @property
    def missed(self) -> pd.DataFrame:
        """The intervals that missed the target."""
        return self.intervals[~self.intervals["met"]]

    def __repr__(self) -> str:
        state = "meets the target" if self.ok else f"misses in {len(self.missed)} intervals"
        return (
            f"Verification({state} after {len(self.iterations)} iteration(s), "
            f"{int(self.intervals['tickets'].sum())} tickets judged)"
        )


def verify(
    plan: pd.DataFrame | Scenario | object,
    target: Target | Sequence[Target],
    *,
    scenario: Scenario | None = None,
    replications: int = 100,
    seed: int | None = 0,
    repair: bool = True,
    max_iterations: int = 8,
    confidence: float = 0.95,
    interval_min: int | None = None,
) -> Verification:
    """Simulate a plan, judge every interval against ``target``, and repair it if asked.

    Parameters
    ----------
    plan : DataFrame, Schedule or Scenario
        A requirement table (:func:`hallsim.plan.requirements`: ``group, day,
        interval_start, interval_min, staff``), a :class:`~hallsim.plan.Schedule`, or a
        Scenario to check as it is (a Scenario is not repaired).
    target : Target or list of Target
        What every interval must achieve.
    scenario : Scenario
        The hall the plan is for (needed for a requirement table or a Schedule).
    replications, seed
        Replications per simulation and the root seed (the same in every iteration: the
        repairs are compared on common random numbers).
    repair : bool, default True
        Raise the plan where intervals miss and simulate again.
    max_iterations : int, default 8
        Simulations at most.
    confidence : float, default 0.95
        Level of the confidence intervals and of the meet/miss decision.
    interval_min : int, optional
        Planning interval to judge a Scenario by (default: the hall's ``interval_min``).

    Returns
    -------
    Verification
    """
    if not 0.5 <= confidence < 1:
        raise PlanError(f"confidence must be in [0.5, 1) (got {confidence!r})")
    if (
        isinstance(max_iterations, bool)
        or not isinstance(max_iterations, int)
        or (max_iterations < 1)
    ):
        raise PlanError(f"max_iterations must be a positive integer (got {max_iterations!r})")
    subject = _subject(plan, scenario, interval_min)
    targets = targets_for(target, subject.base.category_ids)
    rows = []
    for iteration in range(1, max_iterations + 1):
        started = time.perf_counter()
        runs = subject.simulate(replications, seed)
        simulated = time.perf_counter()
        judged = judge(runs, subject, targets, confidence)
        missed = judged[~judged["met"]]
        ok = missed.empty
        change = ""
        judged_at = time.perf_counter()
        size = subject.size
        if not ok and repair and subject.repairable and iteration < max_iterations:
            change = subject.raise_where(missed)
        rows.append(
            {
                "iteration": iteration,
                "intervals": len(judged),
                "missed": len(missed),
                "size": size,
                "change": change,
                "simulate_s": simulated - started,
                "judge_s": judged_at - simulated,
                "repair_s": time.perf_counter() - judged_at,
            }
        )
        if ok or not change:
            break
    return Verification(
        intervals=judged,
        iterations=pd.DataFrame(rows),
        plan=subject.plan,
        scenario=subject.last_scenarios,
        ok=ok,
        confidence=confidence,
        targets=targets,
        results=[results for _, results in runs],
    )


# --------------------------------------------------------------------------- judging


def judge(
    runs: list[tuple[int, Results]],
    subject: _Subject,
    targets: list[Target],
    confidence: float,
) -> pd.DataFrame:
    """Per target, group, day and interval: each criterion's estimate, CI and verdict."""
    starts = np.array([start for start, _ in subject.intervals])
    ends = np.array([start + length for start, length in subject.intervals])
    parts = []
    for first_day, results in runs:
        tickets = results.tickets
        tickets = tickets[~tickets["outcome"].isin(("balked", "capped"))]
        category = tickets["category"].astype("category")
        base = np.array([str(c).split(":")[0] for c in category.cat.categories], dtype=object)[
            category.cat.codes.to_numpy()
        ]
        minute = tickets["issued"].to_numpy() % 1440
        slot = np.searchsorted(starts, minute, side="right") - 1
        slot[(slot < 0) | (minute >= ends[np.maximum(slot, 0)])] = -1
        called = tickets["called"].notna().to_numpy()
        when = np.where(called, tickets["called"], tickets["end"])
        wait = np.nan_to_num(when - tickets["issued"].to_numpy(), nan=np.inf)
        reps = tickets["replication"].to_numpy()
        outcome = tickets["outcome"].to_numpy()
        ticket_day = tickets["day"].to_numpy()
        for day in range(results.scenario.hall.days):
            for group, categories in subject.groups.items():
                for target in targets:
                    ids = [c for c in categories if target.applies_to(c)]
                    if not ids:
                        continue
                    mine = np.flatnonzero(np.isin(base, ids) & (ticket_day == day))
                    mine = mine[np.argsort(slot[mine], kind="stable")]
                    bounds = np.searchsorted(slot[mine], np.arange(len(starts) + 1))
                    for k, (start, length) in enumerate(subject.intervals):
                        pick = mine[bounds[k] : bounds[k + 1]]
                        row = {
                            "target": repr(target),
                            "group": group,
                            "day": first_day + day,
                            "interval_start": start,
                            "time": clock(start),
                            "tickets": int(pick.size),
                        }
                        criteria = _criteria(
                            target,
                            wait[pick],
                            called[pick],
                            outcome[pick],
                            reps[pick],
                            results.replications,
                            confidence,
                            lambda: _utilisation(results, ids, day, start, length),  # noqa: B023
                        )
                        parts.append({**row, **criteria})
    return pd.DataFrame(parts)


def _criteria(target, wait, called, outcome, reps, n_rep, confidence, utilisation) -> dict:
    """Estimates, CIs and verdicts of ``target``'s criteria over one interval's tickets;
    ``utilisation()`` gives the per-replication utilisation when a criterion needs it."""
    counts = np.bincount(reps, minlength=n_rep).astype(float)
    indicators = {
        "delay_probability": wait > 0,
        "wait_share": called & (wait <= (target.wait_min or 0.0)),
        "mean_wait_min": np.where(np.isfinite(wait), wait, 0.0),
        "abandon_share": outcome == "abandoned",
    }
    out: dict = {}
    missed = []
    for name, bound in target.criteria.items():
        if name == "utilisation":
            values = utilisation()
            mean, half = _mean_ci(values, confidence)
        else:
            sums = np.bincount(reps, weights=indicators[name].astype(float), minlength=n_rep)
            mean, half = _ratio_ci(sums, counts, confidence)
        lo, hi = mean - half, mean + half
        if name != "mean_wait_min":  # shares
            lo, hi = max(lo, 0.0), min(hi, 1.0)
        out[name], out[f"{name}_lo"], out[f"{name}_hi"] = mean, lo, hi
        if np.isnan(mean):
            continue  # no tickets in this interval: nothing to judge
        ok = lo >= bound if name == "wait_share" else hi <= bound
        if not ok:
            missed.append(name)
    out["met"] = not missed
    out["missed"] = ",".join(missed)
    return out


def _ratio_ci(sums: np.ndarray, counts: np.ndarray, confidence: float) -> tuple[float, float]:
    """Pooled ratio ``sum(sums) / sum(counts)`` and its CI half-width over replications."""
    total = counts.sum()
    if total == 0:
        return np.nan, np.nan
    ratio = sums.sum() / total
    r = counts.size
    if r < 2:
        return ratio, np.inf
    # delta method for a ratio of means: var = sum((y - R x)^2) / (r (r - 1) xbar^2)
    residual = sums - ratio * counts
    se = np.sqrt((residual**2).sum() / (r * (r - 1))) / (total / r)
    return ratio, float(stats.t.ppf(1 - (1 - confidence) / 2, r - 1) * se)


def _mean_ci(values: np.ndarray, confidence: float) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.nan, np.nan
    if values.size < 2:
        return float(values.mean()), np.inf
    se = values.std(ddof=1) / np.sqrt(values.size)
    return float(values.mean()), float(stats.t.ppf(1 - (1 - confidence) / 2, values.size - 1) * se)


def _utilisation(results: Results, ids, day: int, start: int, length: int) -> np.ndarray:
    """Per replication: the group's busy windows over its open windows in the interval."""
    table = results.intervals
    inside = (
        (table["day"] == day)
        & (table["start_min"] >= start)
        & (table["start_min"] < start + length)
    )
    part = table[inside & table["category"].astype(str).str.split(":").str[0].isin(ids)]
    per_rep = (
        part.groupby(["replication", "interval"])
        .agg(busy=("busy_windows", "sum"), open=("open_windows", "max"))
        .groupby("replication")
        .sum()
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return (per_rep["busy"] / per_rep["open"]).to_numpy(dtype=float)


# --------------------------------------------------------------------------- what is verified


class _Subject:
    """A plan to simulate and, where it can be, raise."""

    base: Scenario
    plan: object
    repairable = False
    last_scenarios: object = None

    def _setup(self, base: Scenario, interval_min: int | None):
        self.base = base
        self.groups = {
            name: [base.categories[c].id for c in categories]
            for name, _, categories in groups_of(base)
        }
        hall = base.hall
        step = interval_min or hall.interval_min
        starts = np.arange(hall.open_minute, hall.close_minute, step)
        self.intervals = [(int(s), int(min(step, hall.close_minute - s))) for s in starts]

    @property
    def size(self) -> float:
        return np.nan

    def _run_days(self, days: list[int], scenarios: list[Scenario], replications, seed):
        """Each day's simulation; a day whose scenario has not changed since the last round
        keeps its results (the same seed would give the same tickets)."""
        cache = getattr(self, "_cache", {})
        runs = []
        for day, scenario in zip(days, scenarios, strict=True):
            if day not in cache or cache[day][0] != scenario:
                cache[day] = (scenario, _quiet_simulate(scenario, replications, seed))
            runs.append((day, cache[day][1]))
        self._cache = cache
        self.last_scenarios = scenarios
        return runs


class _ScenarioSubject(_Subject):
    def __init__(self, scenario: Scenario, interval_min: int | None):
        self._setup(scenario, interval_min)
        self.plan = self.last_scenarios = scenario

    def simulate(self, replications, seed):
        return [(0, _quiet_simulate(self.plan, replications, seed))]


class _RequirementSubject(_Subject):
    repairable = True

    def __init__(self, table: pd.DataFrame, base: Scenario):
        missing = {"group", "interval_start", "interval_min", "staff"} - set(table.columns)
        if missing:
            raise PlanError(f"a requirement table needs columns {sorted(missing)}")
        self.plan = table.copy()
        if "day" not in self.plan:
            self.plan["day"] = 0
        step = int(self.plan["interval_min"].max())
        self._setup(base, step)

    @property
    def size(self) -> float:
        return float((self.plan["staff"] * self.plan["interval_min"]).sum() / 60.0)

    def simulate(self, replications, seed):
        days = sorted(int(day) for day in self.plan["day"].unique())
        scenarios = [day_scenario(self.base, self.plan, day) for day in days]
        return self._run_days(days, scenarios, replications, seed)

    def raise_where(self, missed: pd.DataFrame) -> str:
        keys = set(zip(missed["group"], missed["day"], missed["interval_start"], strict=True))
        hit = [
            (g, d, s) in keys
            for g, d, s in zip(
                self.plan["group"], self.plan["day"], self.plan["interval_start"], strict=True
            )
        ]
        self.plan.loc[hit, "staff"] += 1
        return f"+1 staff in {sum(hit)} interval(s)"


class _ScheduleSubject(_Subject):
    """A Schedule: simulated day by day through ``to_scenario``; repaired by requiring what
    every schedule interval staffed, one more inside a missed interval, and letting the
    solver add shifts to the plan's (same types and options) on the days that missed: a
    repair only adds staff, and a day that met the target keeps its plan."""

    repairable = True

    def __init__(self, schedule, base: Scenario):
        self.plan = schedule
        self._setup(base, None)

    @property
    def size(self) -> float:
        return float(self.plan.cost)

    def simulate(self, replications, seed):
        days = self.plan.days
        scenarios = [self.plan.day(d).to_scenario(one_day(self.base, d)) for d in days]
        return self._run_days(days, scenarios, replications, seed)

    def raise_where(self, missed: pd.DataFrame) -> str:
        plan = self.plan
        coverage = plan.coverage
        one_group = set(plan.groups) == {"all"} and plan.groups["all"] is None
        hit = np.zeros(len(coverage), dtype=bool)
        for row in missed.itertuples():
            inside = (
                (coverage["day"] == row.day)
                & (coverage["interval_start"] >= row.interval_start)
                & (coverage["interval_start"] < row.interval_start + self.base.hall.interval_min)
            )
            hit |= (inside & (one_group or coverage["group"] == row.group)).to_numpy()
        # what was staffed stays required (it was judged, a new solve must not take it away:
        # the repair only adds), and a missed interval needs one more
        staffed = coverage["staffed"].to_numpy()
        required = np.maximum(coverage["required"].to_numpy(), staffed + hit)
        table = pd.DataFrame(
            {
                "group": coverage["group"],
                "categories": [",".join(plan.groups[g] or ()) for g in coverage["group"]],
                "day": coverage["day"],
                "interval_start": coverage["interval_start"],
                "interval_min": plan.interval_min,
                "staff": required,
            }
        )
        if one_group:
            table = table.drop(columns="categories")
        hit_days = coverage.loc[hit, "day"].unique()
        self.plan = plan.with_required(table, keep=True, days=[int(d) for d in hit_days])
        return f"requirement raised in {int(hit.sum())} schedule interval(s); shifts added"


def _subject(plan, scenario: Scenario | None, interval_min: int | None) -> _Subject:
    if isinstance(plan, Scenario):
        return _ScenarioSubject(plan, interval_min)
    if scenario is None or not isinstance(scenario, Scenario):
        raise PlanError(
            "verify needs the hall a plan is for: pass scenario=<the Scenario> "
            f"(got {type(scenario).__name__})"
        )
    if isinstance(plan, pd.DataFrame):
        if plan.empty:
            raise PlanError("the plan to verify is empty")
        return _RequirementSubject(plan, scenario)
    if hasattr(plan, "to_scenario") and hasattr(plan, "coverage"):
        return _ScheduleSubject(plan, scenario)
    raise PlanError(
        f"verify takes a requirement table, a Schedule or a Scenario (got {type(plan).__name__})"
    )


def _quiet_simulate(scenario: Scenario, replications: int, seed) -> Results:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HallWarning)
        return simulate(scenario, replications=replications, seed=seed, progress=False)
