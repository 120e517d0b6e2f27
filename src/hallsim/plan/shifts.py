"""Shift types, breaks and staff types: what a schedule may use.

A :class:`ShiftType` is a paid span of ``length_min`` minutes starting between ``earliest`` and
``latest`` every ``every_min``, with :class:`Break` windows; a :class:`StaffType` is a kind of
staff with skills, a cost factor and a headcount. Every value is checked when it is made, and
a bad one raises :class:`~hallsim.errors.PlanError` naming it.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..clock import minutes_of_day
from ..errors import PlanError

__all__ = ["BACK_OFFICE", "Break", "ShiftType", "StaffType"]

#: The skill of staff who may work in a tidal plan's back office, and its group's name.
BACK_OFFICE = "back_office"


# ---------------------------------------------------------------------------- input checks


def _whole(
    value: Any, what: str, *, minimum: int = 0, maximum: int | None = None, table: bool = False
) -> int:
    """A whole number in range; from a table (``table``), a float that is one too."""
    if table and isinstance(value, float | np.floating) and float(value).is_integer():
        value = int(value)
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise PlanError(f"{what} must be a whole number (got {value!r})")
    if value < minimum:
        raise PlanError(f"{what} must be >= {minimum} (got {value!r})")
    if maximum is not None and value > maximum:
        raise PlanError(f"{what} must be <= {maximum} (got {value!r})")
    return int(value)


def _real(value: Any, what: str, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise PlanError(f"{what} must be a number (got {value!r})")
    if not math.isfinite(value):
        raise PlanError(f"{what} must be finite (got {value!r})")
    if value < minimum:
        raise PlanError(f"{what} must be >= {minimum:g} (got {value!r})")
    return float(value)


def _minute(value: Any, what: str) -> int:
    if not isinstance(value, str):
        raise PlanError(f'{what} must be a time of day "HH:MM" (got {value!r})')
    try:
        return minutes_of_day(value)
    except ValueError:
        raise PlanError(f'{what} must be a time of day "HH:MM" (got {value!r})') from None


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise PlanError(f"{what} must be a non-empty string (got {value!r})")
    return value


def _staff_value(value: Any, where: str) -> int:
    """A requirement: a whole number of staff >= 0."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise PlanError(f"{where}: staff must be a whole number >= 0 (got {value!r})")
    number = float(value)
    if not math.isfinite(number) or number < 0 or number != round(number):
        raise PlanError(f"{where}: staff must be a whole number >= 0 (got {value!r})")
    return int(number)


# ---------------------------------------------------------------------------- public types


@dataclass(frozen=True)
class Break:
    """A break inside a shift: ``length_min`` minutes, starting between ``after_min[0]`` and
    ``after_min[1]`` minutes after the shift's start (the schedule chooses where).

    Examples
    --------
    >>> Break(30, (180, 300))  # a half-hour lunch 3 to 5 hours into the shift
    Break(length_min=30, after_min=(180, 300))
    """

    length_min: int
    after_min: tuple[int, int]

    def __post_init__(self) -> None:
        _whole(self.length_min, "break length_min", minimum=1, maximum=1440)
        pair = self.after_min
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise PlanError(f"break after_min must be a pair (lo, hi) of minutes (got {pair!r})")
        lo = _whole(pair[0], "break after_min lo", minimum=0)
        hi = _whole(pair[1], "break after_min hi", minimum=0)
        if hi < lo:
            raise PlanError(f"break after_min must be (lo, hi) with lo <= hi (got {pair!r})")
        object.__setattr__(self, "after_min", (lo, hi))


@dataclass(frozen=True)
class ShiftType:
    """A kind of shift: its paid length (breaks included), the start times it may take and
    its breaks.

    Parameters
    ----------
    name : str
        Unique among the shift types of a schedule.
    length_min : int
        Paid length in minutes, breaks included.
    earliest, latest : str
        ``"HH:MM"``: the earliest and the latest start.
    every_min : int, default 15
        Starts every ``every_min`` minutes from ``earliest`` to ``latest``.
    breaks : sequence of Break
        In the order they are taken; they may not overlap.
    cost_per_hour : float, default 1.0
        Cost of one paid hour (times the staff type's ``cost_factor``).
    staff_type : str, optional
        Only staff of this type work this shift type; ``None``: any type.

    Examples
    --------
    >>> day = ShiftType("day", 480, "08:00", "09:00", breaks=[Break(30, (180, 300))])
    >>> day.starts
    [480, 495, 510, 525, 540]
    """

    name: str
    length_min: int
    earliest: str
    latest: str
    every_min: int = 15
    breaks: tuple[Break, ...] = ()
    cost_per_hour: float = 1.0
    staff_type: str | None = None

    def __post_init__(self) -> None:
        name = _name(self.name, "shift type name")
        where = f"shift type {name!r}"
        length = _whole(self.length_min, f"{where}: length_min", minimum=1, maximum=1440)
        first = _minute(self.earliest, f"{where}: earliest")
        last = _minute(self.latest, f"{where}: latest")
        if last < first:
            raise PlanError(
                f"{where}: earliest must not be later than latest (got earliest="
                f"{self.earliest!r}, latest={self.latest!r})"
            )
        if last + length > 1440:
            raise PlanError(
                f"{where}: a shift starting at latest={self.latest!r} for {length} minutes "
                "ends after 24:00"
            )
        _whole(self.every_min, f"{where}: every_min", minimum=1, maximum=1440)
        breaks = self.breaks
        if not isinstance(breaks, list | tuple):
            raise PlanError(f"{where}: breaks must be a list of Break (got {breaks!r})")
        breaks = tuple(Break(**b) if isinstance(b, dict) else b for b in breaks)
        for b in breaks:
            if not isinstance(b, Break):
                raise PlanError(f"{where}: breaks must be a list of Break (got {b!r})")
            lo, hi = b.after_min
            if hi + b.length_min > length:
                raise PlanError(
                    f"{where}: a break of {b.length_min} minutes starting up to {hi} minutes "
                    f"after the start ends after the {length}-minute shift (after_min="
                    f"{b.after_min!r})"
                )
        earliest_end = 0
        for k, b in enumerate(breaks):  # the earliest placement, in order
            begin = max(b.after_min[0], earliest_end)
            if begin > b.after_min[1]:
                raise PlanError(
                    f"{where}: breaks[{k}] (after_min={b.after_min!r}) cannot start after "
                    f"the break before it ends ({earliest_end} minutes into the shift)"
                )
            earliest_end = begin + b.length_min
        object.__setattr__(self, "breaks", breaks)
        object.__setattr__(
            self, "cost_per_hour", _real(self.cost_per_hour, f"{where}: cost_per_hour")
        )
        if self.staff_type is not None:
            _name(self.staff_type, f"{where}: staff_type")

    @property
    def starts(self) -> list[int]:
        """The start times, in minutes of day."""
        first, last = minutes_of_day(self.earliest), minutes_of_day(self.latest)
        return list(range(first, last + 1, self.every_min))

    def placements(self, step: int) -> list[tuple[int, ...]]:
        """Break placements: offsets of every break's start from the shift's start, each
        ``lo, lo + step, ...`` up to ``hi``, breaks in order and not overlapping."""
        options = [range(b.after_min[0], b.after_min[1] + 1, step) for b in self.breaks]
        return [
            offsets
            for offsets in itertools.product(*options)
            if all(
                offsets[j + 1] >= offsets[j] + self.breaks[j].length_min
                for j in range(len(offsets) - 1)
            )
        ]


@dataclass(frozen=True)
class StaffType:
    """A kind of staff: the categories they can serve, their relative cost and how many of
    them are available.

    Parameters
    ----------
    name : str
        Unique among the staff types of a schedule.
    skills : sequence of str
        Category ids, or ``"*"`` for every category. Staff serve a group of windows when
        their skills cover every category the group serves.
    cost_factor : float, default 1.0
        Multiplies the shift types' ``cost_per_hour``.
    count : int, optional
        At most this many people of this type work on a day.

    Examples
    --------
    >>> StaffType("clerk", ["business", "property"], cost_factor=0.9, count=6)
    StaffType(name='clerk', skills=('business', 'property'), cost_factor=0.9, count=6)
    """

    name: str
    skills: tuple[str, ...]
    cost_factor: float = 1.0
    count: int | None = None

    def __post_init__(self) -> None:
        name = _name(self.name, "staff type name")
        where = f"staff type {name!r}"
        skills = self.skills
        if not isinstance(skills, list | tuple) or not skills:
            raise PlanError(
                f'{where}: skills must be a non-empty list of category ids or "*" (got {skills!r})'
            )
        for skill in skills:
            _name(skill, f"{where}: skill")
        object.__setattr__(self, "skills", tuple(skills))
        object.__setattr__(self, "cost_factor", _real(self.cost_factor, f"{where}: cost_factor"))
        if self.count is not None:
            _whole(self.count, f"{where}: count", minimum=0)

    def serves(self, categories: tuple[str, ...] | None) -> bool:
        """Whether these staff can work a group serving ``categories`` (``None``: the
        implicit group of a requirement without groups, which any staff may work)."""
        return categories is None or "*" in self.skills or set(categories) <= set(self.skills)


def _works(
    start: int, end: int, breaks: Sequence[tuple[int, int]], times: np.ndarray, length: int
) -> np.ndarray:
    """Intervals (starting at ``times``, ``length`` long) a shift works: inside its span and
    not touched by any break."""
    out = (times >= start) & (times + length <= end)
    for a, b in breaks:
        out &= ~((times < b) & (times + length > a))
    return out
