"""Compare halls on common random numbers: each metric of each hall, and the difference from
the first with a paired confidence interval.

Two halls that share their demand (the same hours and days, and the same categories with the
same arrivals, service and patience, in the same order) draw the same random inputs from the
same seed: replication ``r`` of each hall sees the same citizens with the same service times
(:mod:`hallsim.engines.inputs`), and only the windows, staff and rules differ. Replication by
replication the difference of a metric then holds only the effect of the layout, and its
Student-t interval over replications (a *paired* interval) is much narrower than the one
from independent runs. Halls whose demand differs cannot share their draws: they run on
independent seeds, the intervals are Welch's for two independent samples, and the result says
so (:attr:`Comparison.common_random_numbers` is False, :attr:`Comparison.note` says why).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.special import stdtrit  # Student t quantile (scipy.stats costs a second)

from .results import METRICS, Results
from .runner import simulate_many
from .scenario import Scenario

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["Comparison", "compare", "difference_cells", "format_comparison"]

# The metrics printed by format_comparison: per category, then for the hall as a whole
_SHOWN = {
    "mean_wait": ("mean wait (min)", 1.0),
    "p90_wait": ("P90 wait (min)", 1.0),
    "service_level": ("within SLA (%)", 100.0),
    "abandonment": ("abandoned (%)", 100.0),
    "utilisation": ("utilisation (%)", 100.0),
}
_SHOWN_OVERALL = {
    "utilisation_gini": ("utilisation Gini", 1.0),
    "utilisation_cv": ("utilisation CV", 1.0),
    "tickets_per_window_day": ("tickets per window per day", 1.0),
    "peak_day_tickets": ("peak day tickets", 1.0),
    "peak_day_mean_wait": ("peak day mean wait (min)", 1.0),
}

# What two halls must share to draw the same inputs (category names and departments, and the
# back offices, which draw last, may differ)
_HALL_FIELDS = (
    "open",
    "close",
    "days",
    "interval_min",
    "first_weekday",
    "closed_weekdays",
    "holidays",
    "hours",
)
_CATEGORY_IGNORED = {"name", "department", "deferred"}


@dataclass
class Comparison:
    """Halls run side by side (see the module doc).

    Attributes
    ----------
    table : pandas.DataFrame
        Tidy: one row per hall, category (and ``"overall"``) and metric, with the hall's
        ``mean`` and its interval (``mean_lo``, ``mean_hi``), and the ``difference`` from the
        baseline (the first hall) with its interval (``difference_lo``, ``difference_hi``;
        NaN for the baseline and for categories a hall does not have).
    results : dict of str to Results
        Each hall's run.
    baseline : str
        The first hall's name.
    common_random_numbers : bool
        Whether the halls shared their random inputs (paired intervals) or ran independently.
    note : str
        How the halls were compared, and why not paired where they were not.
    confidence : float
        The level of every interval.
    seed : int
        The seed the comparison ran from (repeat it with the same seed).
    """

    table: pd.DataFrame
    results: dict[str, Results]
    baseline: str
    common_random_numbers: bool
    note: str
    confidence: float
    seed: int

    def difference(self, metric: str = "mean_wait") -> pd.DataFrame:
        """One metric, wide: per category, each hall's mean and each other hall's difference
        from the baseline with its interval."""
        rows = self.table[self.table["metric"] == metric]
        wide = rows.pivot(index="category", columns="hall", values="mean")
        for hall in self.results:
            if hall == self.baseline:
                continue
            mine = rows[rows["hall"] == hall].set_index("category")
            for column in ("difference", "difference_lo", "difference_hi"):
                wide[f"{hall} - {self.baseline}{column[len('difference') :]}"] = mine[column]
        wide = wide.reindex(rows["category"].drop_duplicates())
        wide.columns.name = None
        return wide

    def __repr__(self) -> str:
        kind = "paired (common random numbers)" if self.common_random_numbers else "independent"
        return (
            f"<Comparison of {', '.join(self.results)}: {kind}, "
            f"{next(iter(self.results.values())).replications} replications>"
        )


def compare(
    scenarios: Mapping[str, Scenario],
    *,
    replications: int = 30,
    seed: int | None = None,
    confidence: float = 0.95,
    workers: int = 1,
    client: Client | str | None = None,
    progress: bool = True,
    max_memory: int | float | str | None = None,
) -> Comparison:
    """Run each hall of ``scenarios`` (name -> Scenario; the first is the baseline) and compare
    every metric of :meth:`Results.summary`, per category and overall.

    Halls with the same demand run on common random numbers (the same ``seed`` for all) and
    their differences get paired intervals; otherwise each hall gets its own seed and the
    intervals are Welch's. With ``client`` (a ``dask.distributed.Client`` or a scheduler
    address) the batches of every hall are submitted to the cluster at once; the comparison
    is the same as with local processes. The other arguments are those of
    :func:`hallsim.simulate`.
    """
    if not isinstance(scenarios, Mapping) or len(scenarios) < 2:
        raise ValueError(
            "scenarios must map at least two names to scenarios, e.g. "
            f'{{"before": a, "after": b}} (got {type(scenarios).__name__})'
        )
    for name, scenario in scenarios.items():
        if not isinstance(scenario, Scenario):
            raise TypeError(
                f"scenarios[{name!r}] must be a hallsim.Scenario (got {type(scenario).__name__})"
            )
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (got {confidence!r})")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)
    names = list(scenarios)
    baseline = names[0]
    reason = _why_not_common(scenarios)
    common = reason is None
    seeds = (
        [seed] * len(names)
        if common
        else [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(len(names))]
    )
    runs = dict(
        simulate_many(
            [scenarios[name] for name in names],
            seeds,
            replications=replications,
            workers=workers,
            client=client,
            progress=progress,
            max_memory=max_memory,
            desc=f"compare {len(names)} halls",
        )
    )
    results = {name: runs[index] for index, name in enumerate(names)}
    note = (
        "paired: the halls share their demand and ran on common random numbers"
        if common
        else f"independent: {reason}, so each hall ran on its own seed (Welch intervals)"
    )
    table = _table(results, baseline, common, confidence)
    return Comparison(table, results, baseline, common, note, confidence, int(seed))


def _why_not_common(scenarios: Mapping[str, Scenario]) -> str | None:
    """Why the halls cannot draw the same inputs, or None when they can."""
    names = list(scenarios)
    first = scenarios[names[0]]
    for name in names[1:]:
        other = scenarios[name]
        for field in _HALL_FIELDS:
            if getattr(first.hall, field) != getattr(other.hall, field):
                return (
                    f"hall.{field} differs ({names[0]}: {getattr(first.hall, field)!r}, "
                    f"{name}: {getattr(other.hall, field)!r})"
                )
        if first.category_ids != other.category_ids:
            return (
                f"the categories differ ({names[0]}: {first.category_ids}, {name}: "
                + str(other.category_ids)
                + ")"
            )
        for mine, theirs in zip(first.categories, other.categories, strict=True):
            if mine.model_dump(exclude=_CATEGORY_IGNORED) != theirs.model_dump(
                exclude=_CATEGORY_IGNORED
            ):
                return f"category {mine.id!r} has other arrivals, service or patience in {name}"
    return None


def _table(
    results: dict[str, Results], baseline: str, common: bool, confidence: float
) -> pd.DataFrame:
    """The tidy table of :class:`Comparison` from each hall's per-replication statistics."""
    keys = ["category", "metric"]

    def long(run: Results) -> pd.DataFrame:
        table = run.replication_stats.assign(category=run.replication_stats["category"].astype(str))
        return table.melt(["replication", "category"], list(METRICS), "metric").dropna()

    reference = long(results[baseline])
    base = _summarised(reference.groupby(keys, sort=False)["value"], confidence)
    parts = []
    for name, run in results.items():
        mine = long(run)
        table = _summarised(mine.groupby(keys, sort=False)["value"], confidence)
        if name == baseline:
            table[["difference", "difference_lo", "difference_hi"]] = np.nan
        elif common:  # paired: the interval of the replications' differences
            pairs = mine.merge(reference, on=["replication", *keys], suffixes=("", "_base"))
            pairs["value"] -= pairs["value_base"]
            paired = _summarised(pairs.groupby(keys, sort=False)["value"], confidence)
            renamed = {"mean": "difference", "mean_lo": "difference_lo", "mean_hi": "difference_hi"}
            table = table.join(paired.rename(columns=renamed)[list(renamed.values())])
        else:
            table = table.join(_welch(table, base, confidence))
        parts.append(table.reset_index().assign(hall=name))
    columns = ["hall", "category", "metric", "mean", "mean_lo", "mean_hi"]
    columns += ["difference", "difference_lo", "difference_hi"]
    table = pd.concat(parts, ignore_index=True)[columns]
    categories = pd.unique(table["category"])  # the baseline's order, then new ones
    table["hall"] = pd.Categorical(table["hall"], categories=list(results))
    table["category"] = pd.Categorical(table["category"], categories=categories)
    table["metric"] = pd.Categorical(table["metric"], categories=list(METRICS))
    return table.sort_values(["hall", "category", "metric"]).reset_index(drop=True)


def _summarised(groups, confidence: float) -> pd.DataFrame:
    """Per group: mean, Student-t interval (``mean_lo``, ``mean_hi``), count and variance."""
    table = groups.agg(["mean", "count", "var"])
    half = stdtrit(table["count"] - 1, 0.5 + confidence / 2) * np.sqrt(
        table["var"] / table["count"]
    )
    table["mean_lo"] = table["mean"] - half
    table["mean_hi"] = table["mean"] + half
    return table


def _welch(table: pd.DataFrame, base: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """Difference of means from the baseline and Welch's interval (independent samples)."""
    base = base.reindex(table.index)
    va, vb = table["var"] / table["count"], base["var"] / base["count"]
    dof = (va + vb) ** 2 / (va**2 / (table["count"] - 1) + vb**2 / (base["count"] - 1))
    half = stdtrit(dof, 0.5 + confidence / 2) * np.sqrt(va + vb)
    difference = table["mean"] - base["mean"]
    return pd.DataFrame(
        {
            "difference": difference,
            "difference_lo": difference - half,
            "difference_hi": difference + half,
        }
    )


def format_comparison(comparison: Comparison) -> str:
    """The comparison as text: for the main metrics, per category, each hall's mean and each
    other hall's difference from the baseline with its interval; then the hall-wide load
    metrics (imbalance, tickets per window, peak day)."""
    blocks = [comparison.note]
    for metric, (label, scale) in _SHOWN.items():
        blocks.append(f"{label}\n{difference_cells(comparison, metric, scale).to_string()}")
    overall = pd.concat(
        [
            difference_cells(
                comparison,
                metric,
                scale,
                digits=2 if scale == 1.0 and "utilisation" in metric else 1,
            )
            .loc[["overall"]]
            .rename(index={"overall": label})
            for metric, (label, scale) in _SHOWN_OVERALL.items()
        ]
    )
    blocks.append(f"the hall as a whole\n{overall.to_string()}")
    return "\n\n".join(blocks)


def difference_cells(
    comparison: Comparison, metric: str, scale: float = 1.0, digits: int = 1
) -> pd.DataFrame:
    """One metric as text cells: each hall's mean, each other hall's difference [interval]."""
    wide = comparison.difference(metric) * scale
    shown = pd.DataFrame(index=wide.index)
    for hall in comparison.results:
        shown[hall] = [f"{v:.{digits}f}" if v == v else "-" for v in wide[hall]]
        if hall == comparison.baseline:
            continue
        key = f"{hall} - {comparison.baseline}"
        shown[f"{key} [{comparison.confidence * 100:.0f} % CI]"] = [
            "-" if d != d else f"{d:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]"
            for d, lo, hi in zip(wide[key], wide[f"{key}_lo"], wide[f"{key}_hi"], strict=True)
        ]
    shown.index.name = None
    return shown
