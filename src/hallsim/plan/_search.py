"""Searching for the least staff that meets a target: the steps every requirement method
shares (which targets apply to a group, whether predicted metrics meet them, the monotone
search)."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import PlanError
from .target import METRICS, Target

#: The largest staff a group may need in an interval before the target is called unreachable.
MAX_STAFF = 10_000

Metrics = tuple[float, float, float, float, float]  # in the order of METRICS


def applying(targets: list[Target], group_categories: list[str]) -> list[Target]:
    """The targets that apply to a group serving ``group_categories``."""
    applying = [t for t in targets if any(t.applies_to(c) for c in group_categories)]
    if not applying:
        raise PlanError(
            f"no target applies to the group serving {group_categories}; give a target "
            "without categories, or one naming them"
        )
    return applying


def reported_wait(targets: list[Target]) -> float:
    """The wait threshold the tables report the share within: the first target's
    ``wait_min`` (-1: none, the share is then NaN)."""
    waits = [t.wait_min for t in targets if t.wait_min is not None]
    return waits[0] if waits else -1.0


def meets(targets: list[Target], metrics_at: Callable[[float], Metrics]) -> bool:
    """Whether every target holds; ``metrics_at(wait)`` predicts the metrics with the share
    taken within ``wait`` minutes."""
    for target in targets:
        metrics = dict(
            zip(
                METRICS,
                metrics_at(-1.0 if target.wait_min is None else target.wait_min),
                strict=True,
            )
        )
        if not target.met(metrics):
            return False
    return True


def smallest(start: int, meets: Callable[[int], bool], where: Callable[[], str]) -> int:
    """The smallest staff >= 1 that ``meets`` (monotone), searched from ``start``;
    ``where()`` names the interval in the error when none does."""
    c = max(1, start)
    if meets(c):
        while c > 1 and meets(c - 1):
            c -= 1
        return c
    while not meets(c):
        c += 1
        if c > MAX_STAFF:
            raise PlanError(
                f"{where()}: no staffing up to {MAX_STAFF} meets the target; is it reachable "
                "(a wait target of 0, or utilisation >= 1 where nobody abandons)?"
            )
    return c
