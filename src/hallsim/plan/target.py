"""Service targets: what a plan must achieve in every planning interval.

A :class:`Target` holds one or more criteria; a plan meets it in an interval when every
criterion holds for the tickets issued in that interval. Criteria:

- ``delay_probability``: the share of tickets that wait at all, ``P(W > 0) <= x``;
- ``wait_min`` with ``share``: the share of tickets called within ``wait_min`` minutes is
  at least ``share`` (a service level, "80 % within 10 minutes");
- ``mean_wait_min``: the mean wait is at most this;
- ``abandon_share``: the share of tickets that give up waiting is at most this;
- ``max_utilisation``: offered load per staff member (occupancy) is at most this.

``categories`` limits the target to some categories (ids); ``None`` means every category. A
group of windows that serves several categories must meet the strictest target among them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import PlanError

__all__ = ["METRICS", "Target", "targets_for"]

#: Predicted or achieved metric columns, in the order tables show them.
METRICS = ("delay_probability", "wait_share", "mean_wait_min", "abandon_share", "utilisation")


@dataclass(frozen=True)
class Target:
    """A service target, applied per planning interval to the tickets issued in it.

    Parameters
    ----------
    delay_probability : float, optional
        Largest acceptable share of tickets that wait at all, in (0, 1).
    wait_min, share : float, optional
        Together: at least ``share`` (in (0, 1)) of tickets are called within ``wait_min``
        minutes (``wait_min >= 0``).
    mean_wait_min : float, optional
        Largest acceptable mean wait (minutes, > 0).
    abandon_share : float, optional
        Largest acceptable share of tickets that abandon, in (0, 1).
    max_utilisation : float, optional
        Largest acceptable occupancy of the staff, in (0, 1]. On its own it keeps a queue
        without abandonment stable only when it is below 1.
    categories : sequence of str, optional
        The category ids the target is for; ``None``: all.

    Examples
    --------
    >>> Target(wait_min=10, share=0.8)
    Target(wait<=10@0.8)
    >>> Target.parse("wait<=10@0.8, util<=0.85")
    Target(wait<=10@0.8, util<=0.85)
    """

    delay_probability: float | None = None
    wait_min: float | None = None
    share: float | None = None
    mean_wait_min: float | None = None
    abandon_share: float | None = None
    max_utilisation: float | None = None
    categories: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        def number(name: str) -> float | None:
            value = getattr(self, name)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise PlanError(f"target {name} must be a number (got {value!r})")
            if not math.isfinite(value):
                raise PlanError(f"target {name} must be finite (got {value!r})")
            object.__setattr__(self, name, float(value))
            return float(value)

        def probability(name: str, *, closed: bool = False, why: str = "") -> None:
            value = number(name)
            if value is not None and not (0 < value < 1 or (closed and value == 1)):
                bound = "(0, 1]" if closed else "(0, 1)"
                raise PlanError(f"target {name} must be in {bound}{why} (got {value!r})")

        probability("delay_probability", why=": no staffing makes waiting impossible")
        probability("share", why=": no staffing calls every ticket within a time")
        probability("abandon_share", why=": with patience, some tickets always abandon")
        probability("max_utilisation", closed=True)
        wait = number("wait_min")
        if wait is not None and wait < 0:
            raise PlanError(f"target wait_min must be >= 0 (got {wait!r})")
        if (self.wait_min is None) != (self.share is None):
            raise PlanError(
                "target wait_min and share go together: share of tickets called within "
                f"wait_min minutes (got wait_min={self.wait_min!r}, share={self.share!r})"
            )
        mean = number("mean_wait_min")
        if mean is not None and mean <= 0:
            raise PlanError(
                f"target mean_wait_min must be > 0: no staffing makes every wait 0 (got {mean!r})"
            )
        if self.categories is not None:
            if isinstance(self.categories, str) or not isinstance(self.categories, Iterable):
                raise PlanError(
                    f"target categories must be a list of category ids (got {self.categories!r})"
                )
            object.__setattr__(self, "categories", tuple(self.categories))
            if not self.categories:
                raise PlanError("target categories must not be empty (got [])")
        if not self.criteria:
            raise PlanError(
                "a target needs at least one of delay_probability, wait_min + share, "
                "mean_wait_min, abandon_share, max_utilisation"
            )

    @property
    def criteria(self) -> dict[str, float]:
        """The criteria set, by metric name (``wait_share`` for wait_min + share)."""
        out = {}
        if self.delay_probability is not None:
            out["delay_probability"] = self.delay_probability
        if self.share is not None:
            out["wait_share"] = self.share
        if self.mean_wait_min is not None:
            out["mean_wait_min"] = self.mean_wait_min
        if self.abandon_share is not None:
            out["abandon_share"] = self.abandon_share
        if self.max_utilisation is not None:
            out["utilisation"] = self.max_utilisation
        return out

    def met(self, metrics: dict[str, float], *, tolerance: float = 1e-12) -> bool:
        """Whether predicted or achieved ``metrics`` (keys of :data:`METRICS`) meet it."""
        return not self.missed(metrics, tolerance=tolerance)

    def missed(self, metrics: dict[str, float], *, tolerance: float = 1e-12) -> list[str]:
        """The criteria that ``metrics`` miss (a NaN metric misses)."""
        out = []
        for name, bound in self.criteria.items():
            value = metrics[name]
            ok = value >= bound - tolerance if name == "wait_share" else value <= bound + tolerance
            if not ok:  # NaN fails both comparisons
                out.append(name)
        return out

    def applies_to(self, category: str) -> bool:
        return self.categories is None or category in self.categories

    @classmethod
    def parse(cls, text: str) -> Target:
        """A target from text, criteria separated by commas: ``wait<=10@0.8`` (80 % called
        within 10 minutes), ``delay<=0.2``, ``mean_wait<=5``, ``abandon<=0.05``,
        ``util<=0.85``."""
        values: dict[str, float] = {}
        for part in [p.strip() for p in str(text).split(",") if p.strip()]:
            match = _CRITERION.fullmatch(part)
            if match is None:
                raise PlanError(
                    f"target {part!r}: expected one of wait<=MIN@SHARE, delay<=P, "
                    "mean_wait<=MIN, abandon<=P, util<=U"
                )
            name, value, share = match.group(1), float(match.group(2)), match.group(3)
            if (name == "wait") != (share is not None):
                raise PlanError(f"target {part!r}: a share goes with wait only, as wait<=10@0.8")
            if name == "wait":
                values["wait_min"], values["share"] = value, float(share)
            else:
                values[_NAMES[name]] = value
        if not values:
            raise PlanError(f"target {text!r}: no criterion (e.g. wait<=10@0.8)")
        return cls(**values)

    def __repr__(self) -> str:
        parts = []
        for name, value in self.criteria.items():
            if name == "wait_share":
                parts.append(f"wait<={self.wait_min:g}@{self.share:g}")
            else:
                parts.append(f"{_SHORT[name]}<={value:g}")
        if self.categories is not None:
            parts.append(f"categories={list(self.categories)}")
        return f"Target({', '.join(parts)})"


_NUMBER = r"([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
_CRITERION = re.compile(
    rf"(wait|delay|mean_wait|abandon|util)\s*<=\s*{_NUMBER}(?:\s*@\s*{_NUMBER})?"
)
_NAMES = {
    "delay": "delay_probability",
    "mean_wait": "mean_wait_min",
    "abandon": "abandon_share",
    "util": "max_utilisation",
}
_SHORT = {
    "delay_probability": "delay",
    "mean_wait_min": "mean_wait",
    "abandon_share": "abandon",
    "utilisation": "util",
}


def targets_for(target: Target | Sequence[Target], categories: Sequence[str]) -> list[Target]:
    """The targets that apply to any of ``categories``, checking every target's ids exist."""
    targets = [target] if isinstance(target, Target) else list(target)
    if not targets or not all(isinstance(t, Target) for t in targets):
        raise PlanError(f"target must be a hp.Target or a list of them (got {target!r})")
    known = set(categories)
    for t in targets:
        unknown = sorted(set(t.categories or ()) - known)
        if unknown:
            raise PlanError(f"{t!r}: unknown categories {unknown}; the demand has {sorted(known)}")
    return [t for t in targets if any(t.applies_to(c) for c in categories)]
