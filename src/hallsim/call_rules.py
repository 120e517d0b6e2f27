"""Call rules: which waiting ticket a free window calls (``call`` of a ``[[windows]]``
entry).

Each rule is written here once: its scenario entry (a model of :data:`CallRule`, whose
docstring is the rule), the categories it names (checked against what the window serves),
and what :func:`hallsim.compile_scenario` makes of it (:meth:`compiled`: a code of
:data:`CALL_RULES`, a list of ticket classes, a watched class and minutes per group of
windows). The two engines apply a rule by its code: the numba kernel in
``hallsim._kernels.calls._by_rule`` and the simpy engine in
:func:`hallsim.engines.reference.window_call_rule`.

To add a rule: a model here (``rule: Literal["name"]``), added to :data:`CallRule` and
:data:`CALL_RULES` with a code (in the same place), with its ``named`` and ``compiled``;
then its branch in the two engines. The format's documentation lists the rules from
:data:`CallRule`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal, get_args

from pydantic import Field

from ._model import Name, _Frozen
from .limits import Minutes, PositiveCount

__all__ = [
    "CALL_MODELS",
    "CALL_RULES",
    "CallFCFS",
    "CallRule",
    "CallStrict",
    "CallThreshold",
    "CallWeighted",
    "rule_name",
]

# the rules' codes, as the engines read them (CompiledHall.call_rule)
CALL_RULES = ("fcfs", "strict", "weighted", "threshold")
CALL_FCFS, CALL_STRICT, CALL_WEIGHTED, CALL_THRESHOLD = range(len(CALL_RULES))

# what compile_scenario gives a group of windows: (rule code, its classes in the order the
# rule lists them, the class it watches or -1, minutes)
Compiled = tuple[int, list[int], int, float]
Classes = Callable[[str], list[int]]  # a category's ticket classes, highest priority first
WalkIn = Callable[[str], int]  # a category's walk-in class (its index among the categories)


class CallFCFS(_Frozen):
    """Call the waiting ticket with the highest priority, then the one issued first."""

    rule: Literal["fcfs"] = "fcfs"
    """"fcfs": highest priority, then the ticket issued first."""

    def named(self) -> list[tuple[str, object, str]]:
        """The categories the rule names, as (field, key or None, category id)."""
        return []

    def compiled(self, classes: Classes, walk_in: WalkIn, served: list[int]) -> Compiled:
        """The rule for a group serving the ticket classes ``served`` (``classes`` and
        ``walk_in`` give a category's classes)."""
        return CALL_FCFS, [], -1, 0.0


class CallStrict(_Frozen):
    """Call from the first category in ``order`` that has a waiting ticket (the one issued
    first); categories not listed come after, by the FCFS rule."""

    rule: Literal["strict"]
    """"strict": categories in a fixed order."""
    order: Annotated[list[Name], Field(min_length=1)]
    """Category ids, first called first; unlisted ones after, by FCFS."""

    def named(self) -> list[tuple[str, object, str]]:
        return [("order", k, cid) for k, cid in enumerate(self.order)]

    def compiled(self, classes: Classes, walk_in: WalkIn, served: list[int]) -> Compiled:
        listed = [k for cid in self.order for k in classes(cid) if k in served]
        return CALL_STRICT, listed, -1, 0.0


class CallWeighted(_Frozen):
    """Weighted round robin: each window cycles through the categories, ``weights[c]`` calls
    in a row for category ``c`` (unlisted categories served: weight 1), skipping categories
    with nobody waiting; the cycle position is the window's own and restarts each day."""

    rule: Literal["weighted"]
    """"weighted": weighted round robin over the categories served."""
    weights: Annotated[dict[str, PositiveCount], Field(min_length=1)]
    """Calls in a row per category id (unlisted: 1), from 1 to 1,000,000."""

    def named(self) -> list[tuple[str, object, str]]:
        return [("weights", cid, cid) for cid in self.weights]

    def compiled(self, classes: Classes, walk_in: WalkIn, served: list[int]) -> Compiled:
        cycle = [k for cid, weight in self.weights.items() for k in classes(cid) * weight]
        cycle = [k for k in cycle if k in served] + [k for k in served if k not in cycle]
        return CALL_WEIGHTED, cycle, -1, 0.0


class CallThreshold(_Frozen):
    """Call ``category`` first when its longest-waiting ticket has waited more than
    ``after_min`` minutes; otherwise the FCFS rule."""

    rule: Literal["threshold"]
    """"threshold": one category first once its oldest ticket has waited long."""
    category: Name
    """The category called first past the threshold."""
    after_min: Minutes
    """Minutes its oldest ticket must have waited; at most 100,000."""

    def named(self) -> list[tuple[str, object, str]]:
        return [("category", None, self.category)]

    def compiled(self, classes: Classes, walk_in: WalkIn, served: list[int]) -> Compiled:
        watched = walk_in(self.category)
        if watched not in served:  # a category the group does not serve: the FCFS rule
            return CALL_FCFS, [], -1, 0.0
        return CALL_THRESHOLD, [], watched, self.after_min


CallRule = Annotated[
    CallFCFS | CallStrict | CallWeighted | CallThreshold, Field(discriminator="rule")
]

# the models of the union, in the order of CALL_RULES
CALL_MODELS: tuple[type[_Frozen], ...] = get_args(get_args(CallRule)[0])


def rule_name(model: type[_Frozen]) -> str:
    """The ``rule`` value that selects ``model``."""
    return get_args(model.model_fields["rule"].annotation)[0]
