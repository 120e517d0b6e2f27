"""Staffing requirements: how many staff each group of windows needs in each interval.

For every group of windows (see :mod:`hallsim.plan.demand`), day and planning interval,
:func:`requirements` finds the smallest number of staff at the windows whose predicted
service meets every :class:`~hallsim.plan.Target` that applies to the group's categories.
The methods differ in how they predict service from the arrival rates:

``"erlang_b"``
    Loss system (M/M/c/c): ``delay_probability`` is the share turned away. For self-service
    machines and booths where nobody queues.
``"erlang_c"``
    Stationary M/M/c in each interval on its own (SIPP: stationary independent period by
    period). Nobody abandons, so it is conservative where people do.
``"erlang_a"``
    Stationary M/M/c+M: exponential patience with the categories' mean patience.
``"lag"``
    Lag-SIPP (Green, Kolesar & Whitt 2007): the stationary model fed the arrival rate one mean
    service time earlier, since the load lags the arrivals.
``"mol"``
    Modified offered load (Jennings, Mandelbaum, Massey & Whitt 1996): the stationary model
    fed the load of an infinite-server queue, ``m(t) = int_0^inf lambda(t - u) P(S > u) du``
    (service taken as gamma with the group's mean and cv).
``"exact"``
    The time-varying hall solved exactly as a Markovian chain: the forward Kolmogorov
    equations of the M/M/c+M birth-death chain, interval by interval, each interval starting
    from the distribution the previous one left (the hall opens empty). Exact for the
    chain; two approximations of the hall remain, which :func:`~hallsim.plan.verify` checks:
    a ticket's wait is computed with the staffing of its interval held while it waits, and
    where the staffing falls, the chain hands the leaving staff's tickets back to the queue
    (the hall lets them finish).
``"isa"``
    The iterative staffing algorithm (Feldman, Mandelbaum, Massey & Whitt 2008) driven by
    hallsim's simulator, for halls no formula covers: general service, priorities,
    no-shows, caps, appointments (see :mod:`hallsim.plan.isa`).

``method=None`` picks ``"exact"`` for a Markovian hall (exponential service and patience,
none of the operations no chain covers) and ``"isa"`` for any other scenario; for an arrival
table it picks ``"exact"``. The table's ``method`` column and ``attrs["why"]`` say which and
why.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import pandas as pd
from scipy import stats

from ..analytic import _erlang_a_distribution, erlang_b, erlang_c
from ..clock import clock
from ..errors import PlanError
from ..scenario import Scenario
from ._chain import arrival_metrics, transient
from ._search import Metrics, applying, meets, reported_wait, smallest
from .demand import as_demand
from .target import METRICS, Target, targets_for

__all__ = ["METHODS", "requirements"]

METHODS = ("erlang_b", "erlang_c", "erlang_a", "lag", "mol", "exact", "isa")


def requirements(
    demand: Scenario | pd.DataFrame,
    target: Target | Sequence[Target],
    method: str | None = None,
    interval_min: int | None = None,
    shrinkage: float = 0.0,
    *,
    replications: int = 100,
    seed: int | None = 0,
    max_iterations: int = 10,
) -> pd.DataFrame:
    """Staff needed at each group of windows in each planning interval.

    Parameters
    ----------
    demand : Scenario or pandas.DataFrame
        A hall (its categories, services and window groups), or an arrival table (see
        :func:`hallsim.plan.demand.as_demand`).
    target : Target or list of Target
        What every interval must achieve; a group meets every target of its categories.
    method : {"erlang_b", "erlang_c", "erlang_a", "lag", "mol", "exact", "isa"}, optional
        How service is predicted (module docstring); ``None`` picks the best that applies.
    interval_min : int, optional
        Planning interval (default: the hall's ``interval_min``).
    shrinkage : float, default 0
        Share of paid time not at the windows (leave, training, breaks): ``headcount =
        ceil(staff / (1 - shrinkage))``.
    replications, seed, max_iterations
        For ``"isa"`` only: replications per simulation, the seed, and the iteration limit.

    Returns
    -------
    pandas.DataFrame
        One row per group, day and interval: ``group, categories, day, weekday,
        interval_start`` (minutes of day), ``time``, ``interval_min``, ``arrivals_per_hour``,
        ``service_mean_min``, ``offered_load``, ``staff``, ``headcount``, the predicted
        ``delay_probability, wait_share, mean_wait_min, abandon_share, utilisation``, and
        ``method``. ``attrs`` keeps ``method``, ``why``, ``target`` and ``interval_min``.
    """
    if method is not None and method not in METHODS:
        raise PlanError(f"method must be one of {METHODS} or None (got {method!r})")
    if (
        isinstance(shrinkage, bool)
        or not isinstance(shrinkage, int | float)
        or not (0 <= shrinkage < 1)
    ):
        raise PlanError(f"shrinkage must be a share in [0, 1) (got {shrinkage!r})")
    table = as_demand(demand, interval_min=interval_min)
    categories = sorted({c for ids in table["categories"] for c in ids.split(",")})
    targets = targets_for(target, categories)
    if method is None:
        method, why = _pick(demand)
    else:
        why = "chosen by the caller"
    if method == "isa":
        if not isinstance(demand, Scenario):
            raise PlanError("method 'isa' simulates the hall: demand must be a Scenario")
        from .isa import isa

        out = isa(
            demand,
            _by_formula(table, targets, "erlang_a"),
            targets,
            replications=replications,
            seed=seed,
            max_iterations=max_iterations,
        )
    else:
        out = _by_formula(table, targets, method)
    out["headcount"] = np.ceil(out["staff"] / (1.0 - shrinkage) - 1e-9).astype(int)
    out["method"] = method
    out.attrs.update(
        method=method, why=why, target=targets, interval_min=int(table["interval_min"].max())
    )
    return out[list(OUTPUT)]


OUTPUT = (
    "group",
    "categories",
    "day",
    "weekday",
    "interval_start",
    "time",
    "interval_min",
    "arrivals_per_hour",
    "service_mean_min",
    "offered_load",
    "staff",
    "headcount",
    *METRICS,
    "method",
)


def _pick(demand) -> tuple[str, str]:
    if not isinstance(demand, Scenario):
        return "exact", "an arrival table: the time-varying Markovian chain, solved exactly"
    reasons = sorted(_not_markovian(demand))
    if reasons:
        return "isa", "no formula covers " + ", ".join(reasons) + ": simulated (ISA)"
    return "exact", "a Markovian hall: the time-varying chain, solved exactly"


def _not_markovian(scenario: Scenario) -> set[str]:
    out = set()
    for category in scenario.categories:
        if category.service.dist != "exponential":
            out.add(f"{category.service.dist} service")
        if category.patience is not None and category.patience.dist != "exponential":
            out.add(f"{category.patience.dist} patience")
        for feature in ("priority_share", "appointments", "no_show", "daily_cap", "balking"):
            if getattr(category, feature) is not None:
                out.add(feature.replace("_", " "))
    if len({c.priority for c in scenario.categories}) > 1:
        out.add("priorities")
    if any(w.call.rule != "fcfs" for w in scenario.windows):
        out.add("call rules")
    if any(w.tidal for w in scenario.windows):
        out.add("tidal windows")
    return out


# --------------------------------------------------------------------------- formulas


def _stationary(method: str, lam: float, mean: float, theta: float) -> Callable:
    """``metrics(c, wait)`` of the stationary model of ``method`` (rates per minute)."""
    load = lam * mean
    mu = 1.0 / mean
    if method == "erlang_b":

        def metrics(c: int, wait: float) -> Metrics:
            block = erlang_b(c, load)
            return block, 1.0 - block, 0.0, 0.0, load * (1.0 - block) / c

        return metrics
    if method == "erlang_c" or theta == 0.0:

        def metrics(c: int, wait: float) -> Metrics:
            if load >= c:
                return 1.0, 0.0, math.inf, 0.0, load / c
            delay = erlang_c(c, load)
            share = 1.0 - delay * math.exp(-(c * mu - lam) * wait) if wait >= 0 else math.nan
            return delay, share, delay / (c * mu - lam), 0.0, load / c

        return metrics

    def metrics(c: int, wait: float) -> Metrics:
        pi = _erlang_a_distribution(lam, mu, c, theta)
        return arrival_metrics(pi, c, mu, theta, wait)

    return metrics


def _stationary_rates(method: str, rows: pd.DataFrame) -> np.ndarray:
    """Per interval, the arrival rate (per minute) the stationary model is fed."""
    rate = rows["arrivals_per_hour"].to_numpy(dtype=float) / 60.0
    if method not in ("lag", "mol"):
        return rate
    starts = rows["interval_start"].to_numpy(dtype=int)
    lengths = rows["interval_min"].to_numpy(dtype=int)
    first = int(starts.min())
    minute_rate = np.zeros(int((starts + lengths).max()) - first)
    for start, length, value in zip(starts, lengths, rate, strict=True):
        minute_rate[start - first : start - first + length] = value
    mean = rows["service_mean_min"].to_numpy(dtype=float)
    cv = rows["service_cv"].to_numpy(dtype=float)
    out = np.empty(len(rows))
    for k, (start, length) in enumerate(zip(starts, lengths, strict=True)):
        minutes = np.arange(start - first, start - first + length)
        if method == "lag":
            shift = int(round(mean[k]))
            before = minutes - shift
            out[k] = np.where(before >= 0, minute_rate[np.maximum(before, 0)], 0.0).mean()
        else:
            out[k] = _modified_load(minute_rate, minutes, mean[k], cv[k]) / mean[k]
    return out


def _modified_load(minute_rate: np.ndarray, minutes: np.ndarray, mean: float, cv: float):
    """Mean over ``minutes`` of ``int_0^inf lambda(t - u) P(S > u) du``, S gamma(mean, cv),
    lambda constant within each minute (evaluated at minute midpoints)."""
    horizon = int(minutes.max()) + 1
    edges = np.arange(horizon + 1, dtype=float)  # ages u = 0, 1, ...
    if cv < 1e-6:
        survival_mass = np.clip(mean - edges[:-1], 0.0, 1.0)
    else:
        shape = 1.0 / cv**2

        # int_u^{u+1} P(S > x) dx via E[min(S, x)] = x sf(x) + mean cdf_{shape+1}(x)
        def partial(x):
            return x * stats.gamma.sf(x, shape, scale=mean / shape) + mean * stats.gamma.cdf(
                x, shape + 1, scale=mean / shape
            )

        survival_mass = np.diff(partial(edges))
    load = np.convolve(minute_rate[:horizon], survival_mass)[:horizon]
    return float(load[minutes].mean())


def _by_formula(table: pd.DataFrame, targets: list[Target], method: str) -> pd.DataFrame:
    parts = []
    for (group, _), rows in table.groupby(["group", "day"], sort=False):
        rows = rows.sort_values("interval_start").reset_index(drop=True)
        wanted = applying(targets, rows["categories"].iloc[0].split(","))
        if method == "erlang_b":
            bad = [t for t in wanted if set(t.criteria) - {"delay_probability", "utilisation"}]
            if bad:
                raise PlanError(
                    f"method 'erlang_b' (a loss system) answers delay_probability and "
                    f"max_utilisation targets only (got {bad[0]!r})"
                )
        _check_reachable(wanted, rows, method, group)
        if method == "exact":
            staff, metrics, load = _exact_day(rows, wanted)
        else:
            staff, metrics, load = _stationary_day(rows, wanted, method)
        rows = rows.assign(offered_load=load, staff=staff)
        for name, values in zip(METRICS, np.asarray(metrics).T, strict=True):
            rows[name] = values
        parts.append(rows)
    out = pd.concat(parts, ignore_index=True)
    out["time"] = [clock(int(m)) for m in out["interval_start"]]
    return out


def _check_reachable(targets: list[Target], rows: pd.DataFrame, method: str, group: str):
    """A utilisation target of 1 or more alone cannot keep a queue without abandonment
    stable: no staffing is then 'enough'."""
    abandons = (
        method not in ("erlang_c", "erlang_b")
        and np.isfinite(rows["patience_mean_min"].to_numpy(dtype=float)).any()
    )
    for target in targets:
        alone = set(target.criteria) == {"utilisation"}
        if alone and target.max_utilisation >= 1 and not abandons and method != "erlang_b":
            raise PlanError(
                f"group {group!r}: {target!r} cannot be met: at utilisation >= 1 a queue where "
                "nobody abandons grows without end; use a value below 1 or a wait target"
            )


def _labels(rows: pd.DataFrame, k: int) -> str:
    return (
        f"group {rows['group'].iloc[k]!r}, day {rows['day'].iloc[k]}, "
        f"{clock(int(rows['interval_start'].iloc[k]))}"
    )


def _stationary_day(rows: pd.DataFrame, targets: list[Target], method: str):
    rates = _stationary_rates(method, rows)
    means = rows["service_mean_min"].to_numpy(dtype=float)
    patience = rows["patience_mean_min"].to_numpy(dtype=float)
    report = reported_wait(targets)
    staff, metrics = [], []
    for k, (lam, mean, wait) in enumerate(zip(rates, means, patience, strict=True)):
        theta = 0.0 if method == "erlang_c" or not np.isfinite(wait) else 1.0 / wait
        if lam <= 0:
            staff.append(0)
            metrics.append((0.0, 1.0 if report >= 0 else math.nan, 0.0, 0.0, 0.0))
            continue
        model = _stationary(method, lam, mean, theta)
        start = int(lam * mean) + (1 if theta == 0 else 0)

        def enough(c: int) -> bool:
            return meets(targets, lambda w: model(c, w))  # noqa: B023

        c = smallest(start, enough, partial(_labels, rows, k))
        staff.append(c)
        metrics.append(model(c, report))
    return np.array(staff, dtype=int), metrics, rates * means


def _exact_day(rows: pd.DataFrame, targets: list[Target]):
    """The day's intervals in order, each from the distribution the previous one left."""
    rates = rows["arrivals_per_hour"].to_numpy(dtype=float) / 60.0
    means = rows["service_mean_min"].to_numpy(dtype=float)
    patience = rows["patience_mean_min"].to_numpy(dtype=float)
    lengths = rows["interval_min"].to_numpy(dtype=float)
    report = reported_wait(targets)
    state = np.ones(1)  # the hall opens empty
    staff, metrics = [], []
    for k, (lam, mean, wait, length) in enumerate(
        zip(rates, means, patience, lengths, strict=True)
    ):
        mu = 1.0 / mean
        theta = 1.0 / wait if np.isfinite(wait) else 0.0
        if lam <= 0 and state.size == 1:
            staff.append(0)
            metrics.append((0.0, 1.0 if report >= 0 else math.nan, 0.0, 0.0, 0.0))
            continue
        if lam <= 0:  # nobody arrives: keep the staff of the interval before, to clear
            c = staff[-1] if staff and staff[-1] > 0 else 1
            end, mean_state = _transient(state, lam, mu, c, theta, length)
        else:
            c, end, mean_state = _exact_interval(
                state, lam, mu, theta, length, targets, partial(_labels, rows, k)
            )
        staff.append(c)
        metrics.append(arrival_metrics(mean_state, c, mu, theta, report))
        state = _trim(end)
    return np.array(staff, dtype=int), metrics, rates * means


def _exact_interval(state, lam, mu, theta, length, targets, where):
    """The smallest staff meeting ``targets`` over one interval started from ``state``, with
    the distribution at its end and its time average."""
    solved: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def enough(c: int) -> bool:
        if c not in solved:
            solved[c] = _transient(state, lam, mu, c, theta, length)
        mean_state = solved[c][1]
        return meets(targets, lambda w: arrival_metrics(mean_state, c, mu, theta, w))

    stable = int(lam / mu) + (1 if theta == 0 else 0)
    c = smallest(stable, enough, where)
    return c, *solved[c]


def _transient(state, lam, mu, c, theta, length):
    """The chain over one interval on a state space large enough to lose nothing."""
    expected = lam * length
    size = state.size + c + int(expected + 10.0 * math.sqrt(expected) + 20.0)
    while True:
        start = np.zeros(size)
        start[: state.size] = state
        end, mean = transient(start, lam, mu, c, theta, float(length))
        if end[-1] < 1e-13 and mean[-1] < 1e-13:
            return end, mean
        size *= 2


def _trim(p: np.ndarray) -> np.ndarray:
    """``p`` without its negligible upper tail (mass below 1e-15), renormalised."""
    keep = np.flatnonzero(p > 1e-15)
    top = int(keep[-1]) + 1 if keep.size else 1
    out = np.clip(p[:top], 0.0, None)
    return out / out.sum()
