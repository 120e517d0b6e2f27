"""Window layout: which groups of categories the hall's windows should serve (consolidation).

:func:`layout` chooses, among candidate groups of categories, a set of groups that serves
every category exactly once (a set partitioning problem), at least price. Each chosen group
becomes a set of windows that share one queue and serve exactly its categories.

Sets
    Categories ``c`` of the scenario; candidate groups ``g``, each a set of categories
    (``"departments"``: one group per department and the comprehensive group of every
    category; ``"all"``: every non-empty subset; or the caller's list).
Prices
    A group's load is the pooled load of its categories (:func:`~hallsim.plan.demand.pool`).
    A group spanning more than one department is staffed by generalists, whose service times
    take ``generalist_factor``; a group within one department by specialists (factor 1). Its
    staff per day and interval come from :func:`~hallsim.plan.requirements` with a formula
    method. ``windows[g]`` is its largest staff over all days and intervals and
    ``staff_hours[g]`` the sum of staff x interval hours over the days (a week at most).
    ``price[g]`` is ``windows[g]`` (``cost="windows"``) or ``staff_hours[g]``
    (``cost="staff_hours"``), plus ``skill_cost x windows[g] x (categories of g - 1)``: the
    cost of training each person on more items.
Variables
    ``use[g]`` (binary): the layout has a set of windows for group ``g``.
Constraints
    ``cover[c]``: every category is served by exactly one chosen group,
    ``sum(use[g] for g containing c) == 1``. ``windows_limit``: the windows of the chosen
    groups fit the hall, ``sum(windows[g] use[g]) <= windows`` (default: the scenario's
    physical window count).
Objective
    Minimise ``sum(price[g] use[g])``.

PuLP names follow the model: variables ``use_<group>``, constraints ``cover_<category>`` and
``windows_limit`` (names made safe: letters, digits and ``_`` only). The solver is HiGHS
through PuLP, else CBC (see :mod:`hallsim.plan._solver`).

The prices are those of stationary formulas per interval; the simulator judges the result:
``hp.verify(result.to_scenario(), target)``.
"""

from __future__ import annotations

import itertools
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pulp

from ..errors import PlanError
from ..scenario import Scenario
from ._solver import INFEASIBLE, solve, variable
from .demand import category_demand, demand_table, factor_value, pool
from .requirements import METHODS, requirements
from .target import METRICS, Target

__all__ = ["COSTS", "Layout", "layout"]

#: The kinds of price a group can have.
COSTS = ("windows", "staff_hours")

#: The formula methods a layout can be priced with ("isa" simulates: too slow for pricing).
PRICING_METHODS = tuple(m for m in METHODS if m != "isa")

#: The most categories ``candidates="all"`` enumerates the subsets of (2**12 - 1 = 4095).
MAX_ALL = 12

#: Name of the comprehensive group of ``candidates="departments"``.
COMPREHENSIVE = "comprehensive"


@dataclass(frozen=True)
class _Group:
    """A candidate group: its name, category indices and ids, departments and factors."""

    name: str
    indices: tuple[int, ...]
    ids: tuple[str, ...]
    departments: tuple[str, ...]
    generalist: bool
    factors: dict[str, float]


# ---------------------------------------------------------------------------- results


@dataclass
class Layout:
    """A window layout chosen by :func:`layout`.

    Attributes
    ----------
    windows : pandas.DataFrame
        One row per chosen group: ``group, categories`` (ids joined with ``,``),
        ``windows`` (needed), ``staff_hours``, ``generalist_factor`` (a number, or a dict
        category id -> factor where they differ) and ``cost`` (its price).
    candidates : pandas.DataFrame
        Every candidate priced: ``group, categories, departments, generalist_factor,
        windows, staff_hours, cost, chosen``.
    requirements : pandas.DataFrame
        The requirement rows (:func:`~hallsim.plan.requirements`) of the chosen groups.
    comparison : pandas.DataFrame
        Rows ``current`` (the scenario's own groups and factors, priced the same way) and
        ``chosen``: ``windows, staff_hours, groups, cost`` and the predicted metrics
        (``delay_probability, wait_share, mean_wait_min, abandon_share, utilisation``)
        averaged over intervals, weighted by their tickets.
    status : str
        PuLP's status of the solve (``"Optimal"``).
    optimal : bool
        The solver proved the layout optimal (else it stopped at ``time_limit_s``).
    gap : float
        Relative MIP gap the solver reports (HiGHS), or 0.0 when optimal and NaN otherwise.
    cost : float
        The total price of the chosen groups (the objective).
    scenario : Scenario
        The hall the layout is for.
    cost_kind : str
        ``"windows"`` or ``"staff_hours"``.
    """

    windows: pd.DataFrame
    candidates: pd.DataFrame
    requirements: pd.DataFrame
    comparison: pd.DataFrame
    status: str
    optimal: bool
    gap: float
    cost: float
    scenario: Scenario = field(repr=False)
    cost_kind: str = "windows"

    def to_scenario(self) -> Scenario:
        """The scenario with its windows laid out as chosen.

        ``[[windows]]`` becomes one entry per chosen group: ``id`` its name made safe
        (letters, digits, ``_``), ``count`` its windows (at least 1), ``serves`` its category
        ids (``["*"]`` for a group of every category) and ``generalist_factor`` its factor
        (a number, or a table per category). ``[[staff]]``, ``[[rotation]]`` and
        ``[[reserve]]`` name the old windows and are dropped: the new windows are open all
        the hall's hours, calling first come, first served.

        Returns
        -------
        Scenario
        """
        scenario = self.scenario
        data = scenario.model_dump(by_alias=True, exclude_none=True)
        for key in ("staff", "rotation", "reserve"):
            data.pop(key, None)
        every = set(scenario.category_ids)
        ids = _safe_names(list(self.windows["group"]))
        entries = []
        for row, window_id in zip(self.windows.itertuples(index=False), ids, strict=True):
            categories = row.categories.split(",")
            factor = row.generalist_factor
            entries.append(
                {
                    "id": window_id,
                    "count": max(1, int(row.windows)),
                    "serves": ["*"] if set(categories) == every else categories,
                    "generalist_factor": dict(factor)
                    if isinstance(factor, Mapping)
                    else float(factor),
                }
            )
        data["windows"] = entries
        return Scenario.model_validate(data)

    def __repr__(self) -> str:
        state = "optimal" if self.optimal else f"not proved optimal, gap {self.gap:.3g}"
        head = (
            f"Layout({len(self.windows)} group(s), {int(self.windows['windows'].sum())} "
            f"windows, cost {self.cost:g} ({self.cost_kind}), {state})"
        )
        lines = [head]
        if "current" in self.comparison.index:
            current = self.comparison.loc["current"]
            lines.append(
                f"  current layout: {int(current['windows'])} windows in "
                f"{int(current['groups'])} group(s), cost {current['cost']:g}"
            )
        shown = self.windows[["group", "categories", "windows", "staff_hours", "cost"]]
        lines += ["  " + line for line in shown.to_string(index=False).splitlines()]
        return "\n".join(lines)


# ---------------------------------------------------------------------------- entry point


def layout(
    scenario: Scenario,
    target: Target | Sequence[Target],
    candidates: str | Sequence[Sequence[str]] | Mapping[str, Sequence[str]] = "departments",
    *,
    method: str = "erlang_a",
    interval_min: int | None = None,
    generalist_factor: float | Mapping[str, float] | None = None,
    cost: str = "windows",
    skill_cost: float = 0.0,
    windows: int | None = None,
    time_limit_s: float = 60,
    solver: Any = None,
) -> Layout:
    """Choose the groups of categories the hall's windows serve, at least price.

    Parameters
    ----------
    scenario : Scenario
        The hall: its categories (arrivals, service, patience, departments) and windows.
    target : Target or list of Target
        What every interval must achieve; each group is staffed to meet it.
    candidates : {"departments", "all"}, list of lists of str, or dict, default "departments"
        The groups to choose from. ``"departments"``: one per department (a category
        without one is a group of its own, named by its id) plus the comprehensive group
        ``"comprehensive"`` of every category (unless one department has them all). A name
        that is taken already becomes the ids joined with ``+``. ``"all"``: every non-empty
        subset of the categories (at most 12 categories), named by their ids joined with
        ``+``. A list: each a list of category ids (or department names, or ``"*"``),
        named by the ids joined with ``+``; a dict: name -> such a list.
    method : str, default "erlang_a"
        The requirement formula (:func:`~hallsim.plan.requirements`); not ``"isa"``.
    interval_min : int, optional
        Planning interval (default: the hall's ``interval_min``).
    generalist_factor : float or dict, optional
        Service-time factor at windows of a group that spans departments, for every category
        (a number) or per category id (a dict; unlisted categories 1.0). Default: that of
        the scenario's windows serving every category (averaged, weighted by their counts),
        else 1.0.
    cost : {"windows", "staff_hours"}, default "windows"
        What a group costs: its windows (largest staff in any interval) or its staff-hours.
    skill_cost : float, default 0
        Added per window for each category beyond the first that the group serves.
    windows : int, optional
        The most windows the layout may use (default: the scenario's window count).
    time_limit_s : float, default 60
        Solver time limit in seconds.
    solver : pulp solver, optional
        Any PuLP solver; default HiGHS (``highspy``), else CBC.

    Returns
    -------
    Layout

    Raises
    ------
    PlanError
        Bad input (the message names the part and the value), or no layout fits
        ``windows`` (the message gives the fewest windows the candidates need).

    Examples
    --------
    >>> import hallsim as hs, hallsim.plan as hp  # doctest: +SKIP
    >>> from hallsim.plan.layout import layout  # doctest: +SKIP
    >>> hall = hs.load_scenario("scenarios/panjin.toml")  # doctest: +SKIP
    >>> layout(hall, hp.Target(wait_min=15, share=0.8)).windows  # doctest: +SKIP
    """
    if not isinstance(scenario, Scenario):
        raise PlanError(f"scenario must be a hallsim.Scenario (got {type(scenario).__name__})")
    _check_method(method)
    if cost not in COSTS:
        raise PlanError(f"cost must be one of {COSTS} (got {cost!r})")
    skill_cost = _number("skill_cost", skill_cost, low=0.0)
    time_limit_s = _number("time_limit_s", time_limit_s, low=0.0, strict=True)
    limit = _window_limit(scenario, windows)
    factors = _generalist_factors(scenario, generalist_factor)
    groups = _candidates(scenario, candidates, factors)

    table, required = _price(
        scenario, groups, target, method, interval_min, cost=cost, skill_cost=skill_cost
    )
    problem, use = _build(scenario, groups, table, limit)
    status, optimal, gap = solve(problem, solver, time_limit_s, "layout")
    if status == INFEASIBLE:
        raise _infeasible(scenario, groups, table, limit, solver, time_limit_s)
    current = _price_current(
        scenario, target, method, interval_min, cost=cost, skill_cost=skill_cost
    )
    return _read(
        scenario, groups, table, required, use, current, status, optimal, gap, cost_kind=cost
    )


# ---------------------------------------------------------------------------- input


def _check_method(method: Any) -> None:
    if method == "isa":
        raise PlanError(
            "method 'isa' simulates the hall: too slow to price every candidate group; use a "
            f"formula method, one of {PRICING_METHODS} (got 'isa')"
        )
    if method not in PRICING_METHODS:
        raise PlanError(f"method must be one of {PRICING_METHODS} (got {method!r})")


def _number(name: str, value: Any, *, low: float, strict: bool = False) -> float:
    ok = (
        not isinstance(value, bool)
        and isinstance(value, numbers.Real)
        and math.isfinite(value)
        and (value > low if strict else value >= low)
    )
    if not ok:
        bound = f"> {low:g}" if strict else f">= {low:g}"
        raise PlanError(f"{name} must be a finite number {bound} (got {value!r})")
    return float(value)


def _window_limit(scenario: Scenario, windows: Any) -> int:
    if windows is None:
        return len(scenario.window_names)
    if isinstance(windows, bool) or not isinstance(windows, numbers.Integral) or windows < 1:
        raise PlanError(f"windows must be a whole number of windows >= 1 (got {windows!r})")
    return int(windows)


def _generalist_factors(scenario: Scenario, value: Any) -> dict[str, float]:
    """Per category id, the service-time factor of a generalist window."""
    ids = scenario.category_ids
    if value is None:
        every = [
            w
            for w in scenario.windows
            if len(scenario.served_categories(w)) == len(scenario.categories)
        ]
        if not every:
            return dict.fromkeys(ids, 1.0)
        counts = [w.count for w in every]
        return {
            cid: float(np.average([scenario.factor(w, c) for w in every], weights=counts))
            for c, cid in enumerate(ids)
        }
    if isinstance(value, Mapping):
        out = dict.fromkeys(ids, 1.0)
        for key, factor in value.items():
            if key not in out:
                raise PlanError(
                    f"generalist_factor: {key!r} is not a category id; the scenario has {ids}"
                )
            out[key] = _number(f"generalist_factor[{key!r}]", factor, low=0.0, strict=True)
        return out
    factor = _number("generalist_factor", value, low=0.0, strict=True)
    return dict.fromkeys(ids, factor)


def _candidates(scenario: Scenario, candidates: Any, generalist: dict[str, float]) -> list[_Group]:
    """The candidate groups, checked: named uniquely, no set twice, every category in one."""
    n = len(scenario.categories)
    ids = scenario.category_ids
    named: list[tuple[str | None, list[int]]] = []
    if isinstance(candidates, str):
        if candidates == "departments":
            departments: dict[tuple[str, str], list[int]] = {}
            for c in range(n):
                departments.setdefault(_department(scenario, c), []).append(c)
            named = [(name, members) for (_, name), members in departments.items()]
            if len(named) > 1:
                named.append((COMPREHENSIVE, list(range(n))))
        elif candidates == "all":
            if n > MAX_ALL:
                raise PlanError(
                    f"candidates='all': {n} categories give {2**n - 1} subsets, too many (at "
                    f"most {MAX_ALL} categories); pass a list of candidate groups"
                )
            named = [
                (None, list(subset))
                for size in range(1, n + 1)
                for subset in itertools.combinations(range(n), size)
            ]
        else:
            raise PlanError(
                "candidates must be 'departments', 'all', a list of lists of category ids or a "
                f"dict name -> category ids (got {candidates!r})"
            )
    elif isinstance(candidates, Mapping):
        for name, members in candidates.items():
            if not isinstance(name, str) or not name:
                raise PlanError(f"candidates: group names must be non-empty strings (got {name!r})")
            named.append((name, _members(scenario, members, f"candidates[{name!r}]")))
    elif isinstance(candidates, Sequence):
        for k, members in enumerate(candidates):
            named.append((None, _members(scenario, members, f"candidates[{k}]")))
    else:
        raise PlanError(
            "candidates must be 'departments', 'all', a list of lists of category ids or a "
            f"dict name -> category ids (got {type(candidates).__name__})"
        )
    if not named:
        raise PlanError(f"candidates: no candidate group (got {candidates!r})")

    seen: dict[frozenset[int], str] = {}
    groups: list[_Group] = []
    used: set[str] = set()
    for name, members in named:
        members = sorted(members)
        member_ids = tuple(ids[c] for c in members)
        key = frozenset(members)
        label = name if name is not None else "+".join(member_ids)
        if key in seen:
            raise PlanError(
                f"candidates: {label!r} lists the same categories as {seen[key]!r} "
                f"({list(member_ids)})"
            )
        if label in used:
            label = "+".join(member_ids)
            if label in used:
                raise PlanError(f"candidates: two groups are named {label!r}")
        seen[key] = label
        used.add(label)
        keys = list(dict.fromkeys(_department(scenario, c) for c in members))
        spans = len(keys) > 1
        factors = {ids[c]: (generalist[ids[c]] if spans else 1.0) for c in members}
        departments = tuple(name for _, name in keys)
        groups.append(_Group(label, tuple(members), member_ids, departments, spans, factors))

    covered = {c for g in groups for c in g.indices}
    missing = [ids[c] for c in range(n) if c not in covered]
    if missing:
        raise PlanError(f"candidates: no candidate group serves categories {missing}")
    return groups


def _department(scenario: Scenario, c: int) -> tuple[str, str]:
    """The department of category ``c``: ``("department", name)``, or ``("category", id)``
    for a category without one (a department of its own)."""
    category = scenario.categories[c]
    if category.department is None:
        return ("category", category.id)
    return ("department", category.department)


def _members(scenario: Scenario, members: Any, where: str) -> list[int]:
    """Category indices of one candidate: ids, department names or ``"*"``."""
    if isinstance(members, str) or not isinstance(members, Sequence):
        raise PlanError(f"{where} must be a list of category ids (got {members!r})")
    if not members:
        raise PlanError(f"{where} is empty: a group serves at least one category (got [])")
    out: list[int] = []
    for entry in members:
        found = scenario.resolve([entry]) if isinstance(entry, str) else []
        if not found:
            raise PlanError(
                f"{where}: {entry!r} is not a category id, a department name or '*'; the "
                f"scenario's categories are {scenario.category_ids}"
            )
        for c in found:
            if c in out:
                raise PlanError(f"{where} lists category {scenario.category_ids[c]!r} twice")
            out.append(c)
    return out


# ---------------------------------------------------------------------------- pricing


def _summary(required: pd.DataFrame) -> pd.DataFrame:
    """Per group of a requirement table: windows (largest staff) and staff-hours."""
    hours = required["staff"] * required["interval_min"] / 60.0
    return (
        required.assign(staff_hours=hours)
        .groupby("group", sort=False)
        .agg(windows=("staff", "max"), staff_hours=("staff_hours", "sum"))
    )


def _prices(windows: np.ndarray, hours: np.ndarray, sizes: np.ndarray, cost: str, skill: float):
    base = windows if cost == "windows" else hours
    return base + skill * windows * (sizes - 1)


def _price(
    scenario: Scenario,
    groups: list[_Group],
    target: Target | Sequence[Target],
    method: str,
    interval_min: int | None,
    *,
    cost: str,
    skill_cost: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every candidate priced (``candidates`` without ``chosen``) and its requirements."""
    per_category = category_demand(scenario, interval_min=interval_min)
    demand = pd.concat([pool(per_category, g.name, g.factors) for g in groups], ignore_index=True)
    required = requirements(demand, target, method=method)
    summary = _summary(required).reindex([g.name for g in groups])
    windows = summary["windows"].to_numpy(dtype=int)
    hours = summary["staff_hours"].to_numpy(dtype=float)
    sizes = np.array([len(g.ids) for g in groups])
    table = pd.DataFrame(
        {
            "group": [g.name for g in groups],
            "categories": [",".join(g.ids) for g in groups],
            "departments": [",".join(g.departments) for g in groups],
            "generalist_factor": [factor_value(g.factors) for g in groups],
            "windows": windows,
            "staff_hours": hours,
            "cost": _prices(windows, hours, sizes, cost, skill_cost),
        }
    )
    return table, required


def _price_current(
    scenario: Scenario,
    target: Target | Sequence[Target],
    method: str,
    interval_min: int | None,
    *,
    cost: str,
    skill_cost: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The scenario's own layout priced the same way: per group and its requirements."""
    demand = demand_table(scenario, interval_min=interval_min)
    required = requirements(demand, target, method=method)
    summary = _summary(required)
    sizes = (
        demand.groupby("group", sort=False)["categories"]
        .first()
        .reindex(summary.index)
        .str.split(",")
        .str.len()
        .to_numpy()
    )
    windows = summary["windows"].to_numpy(dtype=int)
    hours = summary["staff_hours"].to_numpy(dtype=float)
    summary["cost"] = _prices(windows, hours, sizes, cost, skill_cost)
    return summary, required


# ---------------------------------------------------------------------------- model


def _safe_names(names: Sequence[str]) -> list[str]:
    """``names`` with letters, digits and ``_`` only, made unique (``_2``, ``_3`` ...)."""
    out: list[str] = []
    used: set[str] = set()
    for name in names:
        base = re.sub(r"[^A-Za-z0-9_]+", "_", str(name)).strip("_") or "group"
        safe, k = base, 1
        while safe in used:
            k += 1
            safe = f"{base}_{k}"
        used.add(safe)
        out.append(safe)
    return out


def _build(
    scenario: Scenario,
    groups: list[_Group],
    table: pd.DataFrame,
    limit: int | None,
    *,
    objective: str = "cost",
) -> tuple[pulp.LpProblem, dict[str, pulp.LpVariable]]:
    """The set-partitioning program: ``use[g]``, ``cover[c]``, ``windows_limit``."""
    problem = pulp.LpProblem("layout", pulp.LpMinimize)
    use = {
        g.name: variable(problem, f"use_{safe}", pulp.LpBinary, low=None)
        for g, safe in zip(groups, _safe_names([g.name for g in groups]), strict=True)
    }
    windows = dict(zip(table["group"], table["windows"].astype(int), strict=True))
    price = dict(zip(table["group"], table["cost"].astype(float), strict=True))
    weight = windows if objective == "windows" else price
    problem += pulp.lpSum(float(weight[g.name]) * use[g.name] for g in groups)
    for c, safe in enumerate(_safe_names(scenario.category_ids)):
        problem += (
            pulp.lpSum(use[g.name] for g in groups if c in g.indices) == 1,
            f"cover_{safe}",
        )
    if limit is not None:
        problem += (
            pulp.lpSum(int(windows[g.name]) * use[g.name] for g in groups) <= limit,
            "windows_limit",
        )
    return problem, use


def _infeasible(
    scenario: Scenario,
    groups: list[_Group],
    table: pd.DataFrame,
    limit: int,
    solver: Any,
    time_limit_s: float,
) -> PlanError:
    """Why there is no layout: the candidates partition nothing, or the limit is too low (and
    the fewest windows found without it)."""
    problem, _ = _build(scenario, groups, table, None, objective="windows")
    status, optimal, _ = solve(problem, solver, time_limit_s, "layout")
    if status == INFEASIBLE:
        return PlanError(
            "candidates: no choice of candidate groups serves every category exactly once "
            f"(got groups {list(table['group'])})"
        )
    fewest = int(round(pulp.value(problem.objective) or 0.0))
    found = "needs at least" if optimal else "was found with"
    return PlanError(
        f"windows={limit}: no layout of the candidates fits in {limit} windows; the smallest "
        f"layout without the limit {found} {fewest} windows (pass windows={fewest} or more)"
    )


# ---------------------------------------------------------------------------- read back


def _weighted_metrics(required: pd.DataFrame) -> dict[str, float]:
    """Predicted metrics averaged over intervals, weighted by their tickets."""
    tickets = (required["arrivals_per_hour"] * required["interval_min"]).to_numpy(dtype=float)
    out = {}
    for name in METRICS:
        values = required[name].to_numpy(dtype=float)
        out[name] = float(np.sum(values * tickets) / tickets.sum()) if tickets.sum() > 0 else np.nan
    return out


def _read(
    scenario: Scenario,
    groups: list[_Group],
    table: pd.DataFrame,
    required: pd.DataFrame,
    use: dict[str, pulp.LpVariable],
    current: tuple[pd.DataFrame, pd.DataFrame],
    status: str,
    optimal: bool,
    gap: float,
    *,
    cost_kind: str,
) -> Layout:
    chosen = [g.name for g in groups if (use[g.name].varValue or 0.0) > 0.5]
    table = table.assign(chosen=table["group"].isin(chosen))
    windows = table[table["chosen"]][
        ["group", "categories", "windows", "staff_hours", "generalist_factor", "cost"]
    ].reset_index(drop=True)
    mine = required[required["group"].isin(chosen)].reset_index(drop=True)
    mine.attrs = dict(required.attrs)
    summary, current_required = current
    rows = {
        "current": {
            "windows": int(summary["windows"].sum()),
            "staff_hours": float(summary["staff_hours"].sum()),
            "groups": len(summary),
            "cost": float(summary["cost"].sum()),
            **_weighted_metrics(current_required),
        },
        "chosen": {
            "windows": int(windows["windows"].sum()),
            "staff_hours": float(windows["staff_hours"].sum()),
            "groups": len(windows),
            "cost": float(windows["cost"].sum()),
            **_weighted_metrics(mine),
        },
    }
    comparison = pd.DataFrame.from_dict(rows, orient="index")
    comparison.index.name = "layout"
    return Layout(
        windows=windows,
        candidates=table,
        requirements=mine,
        comparison=comparison,
        status=status,
        optimal=optimal,
        gap=gap,
        cost=float(windows["cost"].sum()),
        scenario=scenario,
        cost_kind=cost_kind,
    )
