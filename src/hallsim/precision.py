"""Runs to a precision: how many replications a study needs, decided as it runs.

``simulate(scenario, precision={"mean_wait": 0.05}, max_replications=1000)`` runs
``replications`` first, then adds replications in rounds until, for every named metric and
every category (and ``overall``) where the metric is defined, the half-width of its 95 %
Student-t interval over the replications is within the target:

- a number is a *relative* target: half-width <= target x |mean| (``0.05``: +-5 %);
- ``("absolute", x)`` is an absolute one: half-width <= x, in the metric's unit (minutes,
  a share between 0 and 1, ...).

A metric whose replications all agree (half-width 0) has met any target. After a round that
misses, the next total is the largest, over the metrics and categories that missed, of
``n (h / target)^2 (z / t)^2``: ``n`` replications so far, ``h`` the half-width (it shrinks
as ``1 / sqrt(n)``), ``t`` the Student quantile it was computed with and ``z`` the normal one
it tends to; but at most twice ``n`` (a first round's variances are rough: a run does not
overshoot its need by more than twice), at least 10 % and 2 more than ``n``, and at most
``max_replications``. When the cap is reached first, a
:class:`~hallsim.results.PrecisionWarning` names what missed.

This is the sequential procedure of Law and Kelton (*Simulation Modeling and Analysis*,
section 9.4.1): its intervals cover at about the nominal rate when the first round has 10
replications or more and the relative target is 0.15 or less (tests/test_precision.py checks
the coverage on an Erlang C hall). Replication ``r`` draws from the same seed whatever the
rounds, so the tables are those of a run of the final number of replications.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .results import METRICS

__all__ = ["Target", "next_total", "parse_precision", "shortfalls", "warning_text"]

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Target:
    """The precision asked of one metric: a relative or an absolute half-width."""

    metric: str
    kind: str  # "relative" or "absolute"
    value: float

    def allowed(self, mean: float) -> float:
        """The largest half-width that meets the target for this mean."""
        return self.value * abs(mean) if self.kind == "relative" else self.value


def parse_precision(precision: Mapping[str, object]) -> list[Target]:
    """The targets of ``precision`` (metric -> relative target, or ``("absolute", x)``);
    ``ValueError`` naming the metric and the value for anything else."""
    if not isinstance(precision, Mapping) or not precision:
        raise ValueError(
            f'precision must map metrics to targets, e.g. {{"mean_wait": 0.05}} (got {precision!r})'
        )
    targets = []
    for metric, target in precision.items():
        if metric not in METRICS:
            raise ValueError(
                f"precision: {metric!r} is not a metric; the metrics are {', '.join(METRICS)}"
            )
        kind, value = "relative", target
        if isinstance(target, tuple | list) and len(target) == 2:
            kind, value = target
        if kind not in ("relative", "absolute") or isinstance(value, bool):
            raise ValueError(
                f"precision[{metric!r}]: a number (relative) or ('absolute', number) "
                f"(got {target!r})"
            )
        if not isinstance(value, int | float) or not 0 < value < math.inf:
            raise ValueError(f"precision[{metric!r}]: the target must be > 0 (got {value!r})")
        targets.append(Target(metric, kind, float(value)))
    return targets


def shortfalls(stats: pd.DataFrame, targets: list[Target]) -> pd.DataFrame:
    """The metrics and categories of a run's ``replication_stats`` that miss their target:
    one row each, with ``metric``, ``category``, ``mean``, ``half_width``, ``allowed`` and
    ``replications`` (empty when every target is met)."""
    from scipy.special import stdtrit  # Student t quantile

    rows = []
    grouped = stats.groupby("category", sort=False, observed=True)
    for target in targets:
        values = grouped[target.metric]
        count = values.count()
        mean = values.mean()
        half = (
            values.std(ddof=1)
            / np.sqrt(count)
            * stdtrit(np.maximum(count - 1, 1), 0.5 + CONFIDENCE / 2)
        )
        for category in mean.index:
            n, m, h = int(count[category]), float(mean[category]), float(half[category])
            if n < 2 or h == 0.0:
                continue  # undefined (no ticket), or every replication agrees
            allowed = target.allowed(m)
            if not h <= allowed:
                rows.append((target.metric, category, m, h, allowed, n))
    columns = ["metric", "category", "mean", "half_width", "allowed", "replications"]
    return pd.DataFrame(rows, columns=columns)


def next_total(done: int, missed: pd.DataFrame, cap: int) -> int:
    """Replications to have after the next round (see the module doc)."""
    from scipy.special import ndtri, stdtrit

    ratio = float(np.max(missed["half_width"] / missed["allowed"]))  # inf: a target of 0
    quantiles = ndtri(0.5 + CONFIDENCE / 2) / stdtrit(done - 1, 0.5 + CONFIDENCE / 2)
    needed = done * (ratio * quantiles) ** 2 if np.isfinite(ratio) else math.inf
    grow = max(min(needed, 2 * done), done * 1.1, done + 2)
    return int(min(cap, math.ceil(grow)))


def warning_text(missed: pd.DataFrame, cap: int) -> str:
    """What did not reach its precision within ``cap`` replications."""
    worst = missed.sort_values("half_width", ascending=False).drop_duplicates("metric")
    parts = [
        f"{row.metric} of {row.category!s} (+-{row.half_width:.3g}, target +-{row.allowed:.3g})"
        for row in worst.itertuples()
    ]
    return (
        f"max_replications={cap} reached before the precision asked: {'; '.join(parts)} "
        f"({len(missed)} metric-category pairs missed); raise max_replications or loosen "
        "the targets"
    )
