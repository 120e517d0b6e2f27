"""A hall scenario: opening hours, categories of business, windows. Validated on construction.

A scenario is plain data (TOML on disk: the README's "Scenario files"). Times of day are
``"HH:MM"`` strings, durations are minutes, arrival rates are per hour. Every check runs when
the model is built, and every failure is a :class:`~hallsim.errors.ScenarioError` whose lines
name the place in the data and the offending value.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import operator
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from ._model import Name, _Frozen
from .call_rules import CallFCFS, CallRule, CallStrict, CallThreshold, CallWeighted
from .clock import minutes_of_day
from .distributions import Distribution
from .errors import Issue, ScenarioError
from .limits import (
    MAX_DAYS,
    MAX_RECALLS,
    MAX_RESERVE_STAFF,
    Count,
    Factor,
    Minutes,
    PositiveCount,
    Priority,
    Rate,
    Units,
    WeekdayFactor,
)
from .staffing import build_posts

__all__ = [
    "Appointments",
    "Arrivals",
    "BackOffice",
    "Balking",
    "CallFCFS",
    "CallStrict",
    "CallThreshold",
    "CallWeighted",
    "Deferred",
    "NoShow",
    "Category",
    "Hall",
    "Pickup",
    "PriorityShare",
    "Reserve",
    "Rotation",
    "Scenario",
    "Staff",
    "Tidal",
    "WeekdayHours",
    "Window",
    "load_scenario",
    "minutes_of_day",
    "save_scenario",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _time_of_day(value: Any) -> Any:
    """Accept TOML local times (``open = 08:00:00``) as well as ``"08:00"`` strings."""
    if isinstance(value, dt.time):
        if value.second or value.microsecond:
            raise ValueError(f"times of day are whole minutes (got {value.isoformat()})")
        return f"{value.hour:02d}:{value.minute:02d}"
    if isinstance(value, str):
        minutes_of_day(value)
    return value


TimeOfDay = Annotated[str, BeforeValidator(_time_of_day)]
Span = Annotated[list[TimeOfDay], Field(min_length=2, max_length=2)]


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class WeekdayHours(_Frozen):
    """Opening hours of particular weekdays (``[hall.hours]``), for example ``sat = ["09:00",
    "12:00"]``: on those days tickets are issued only within these hours, which lie within
    the hall's ``open``-``close``; weekdays not listed keep the hall's hours."""

    mon: Span | None = None
    """["HH:MM", "HH:MM"] on Mondays, within the hall's hours."""
    tue: Span | None = None
    """["HH:MM", "HH:MM"] on Tuesdays, within the hall's hours."""
    wed: Span | None = None
    """["HH:MM", "HH:MM"] on Wednesdays, within the hall's hours."""
    thu: Span | None = None
    """["HH:MM", "HH:MM"] on Thursdays, within the hall's hours."""
    fri: Span | None = None
    """["HH:MM", "HH:MM"] on Fridays, within the hall's hours."""
    sat: Span | None = None
    """["HH:MM", "HH:MM"] on Saturdays, within the hall's hours."""
    sun: Span | None = None
    """["HH:MM", "HH:MM"] on Sundays, within the hall's hours."""


class Hall(_Frozen):
    """Opening hours, calendar and reporting settings of the hall. Tickets are issued from
    ``open`` until ``close`` on each of ``days`` days; every day starts empty.
    ``interval_min`` is the reporting interval (and, unless a category's
    ``rate_interval_min`` says otherwise, the length of one entry of its
    ``rates_per_hour``); ``sla_wait_min`` is the service-level threshold of reports;
    ``first_weekday`` names the weekday of day 0. The calendar: the hall is closed on
    ``closed_weekdays`` and on the ``holidays`` (day numbers of the run, from 0, as in the
    results' ``day`` column). On a closed day no ticket is issued (walk-in or booked), no
    window opens, the back office and pickup windows do not work, and utilisation, open time
    and per-day figures leave the day out. ``hours`` gives some weekdays other hours within
    ``open``-``close``: that day tickets are issued only within them, every span (windows,
    staff, tidal blocks, reserve pools) is cut to them, and a window open at their end goes
    into overtime as at closing time.
    """

    open: TimeOfDay
    """When tickets start being issued each day, "HH:MM"."""
    close: TimeOfDay
    """When tickets stop being issued, "HH:MM" (up to "24:00"), after open."""
    days: Annotated[int, Field(ge=1, le=MAX_DAYS)] = 1
    """Days simulated per replication, each starting empty; at most 100,000."""
    interval_min: Annotated[int, Field(gt=0, le=1440)] = 30
    """Minutes per reporting interval (and per entry of rates_per_hour by default)."""
    sla_wait_min: Minutes = 15.0
    """Minutes: a ticket called within them meets the service level; at most 100,000."""
    first_weekday: Weekday = "mon"
    """Weekday of day 0 ("mon" ... "sun"), for weekday_factors and the calendar."""
    closed_weekdays: list[Weekday] = []
    """Weekdays the hall is closed ("mon" ... "sun"), e.g. ["sat", "sun"]."""
    holidays: list[Annotated[int, Field(ge=0, le=MAX_DAYS, strict=True)]] = []
    """Days of the run the hall is closed, numbered from 0 (day 0 is first_weekday)."""
    hours: WeekdayHours | None = None
    """Hours of particular weekdays, within open-close ([hall.hours])."""

    @field_validator("open")
    @classmethod
    def _open_before_midnight(cls, value: str) -> str:
        if value == "24:00":
            raise ValueError('the hall cannot open at "24:00"')
        return value

    @model_validator(mode="after")
    def _close_after_open(self) -> Hall:
        if self.close_minute <= self.open_minute:
            raise ValueError(
                f"close must be later than open (got open={self.open!r}, close={self.close!r})"
            )
        return self

    @property
    def open_minute(self) -> int:
        return minutes_of_day(self.open)

    @property
    def close_minute(self) -> int:
        return minutes_of_day(self.close)

    @property
    def n_intervals(self) -> int:
        """Reporting intervals in the opening hours (the last may be shorter)."""
        return math.ceil((self.close_minute - self.open_minute) / self.interval_min)

    def weekday(self, day: int) -> str:
        """The weekday ("mon" ... "sun") of day ``day`` of the run."""
        return WEEKDAYS[(WEEKDAYS.index(self.first_weekday) + day) % 7]

    def day_hours(self, day: int) -> tuple[int, int] | None:
        """Opening and closing minute of day ``day`` of the run; None when the hall is
        closed that day."""
        weekday = self.weekday(day)
        if weekday in self.closed_weekdays or day in self.holidays:
            return None
        span = None if self.hours is None else getattr(self.hours, weekday)
        if span is None:
            return self.open_minute, self.close_minute
        return minutes_of_day(span[0]), minutes_of_day(span[1])

    @property
    def open_days(self) -> list[int]:
        """The days of the run the hall is open (not closed by the calendar)."""
        first = WEEKDAYS.index(self.first_weekday)
        closed = {WEEKDAYS.index(weekday) for weekday in self.closed_weekdays}
        holidays = set(self.holidays)
        return [
            day
            for day in range(self.days)
            if (first + day) % 7 not in closed and day not in holidays
        ]


class Arrivals(_Frozen):
    """Ticket arrivals of a category: a Poisson process, piecewise constant in time.

    Give either ``rate_per_hour`` (the whole day) or ``rates_per_hour`` (one value per
    ``rate_interval_min`` minutes of the opening hours, from ``open``; by default the hall's
    reporting interval, so hourly rates may be reported by 15 minutes).
    ``weekday_factors`` (7 values, Monday first) scales the rates by day of week; 0 means no
    arrivals that day. A rate of 0 is a category without walk-ins (appointments only, or
    closed for now).
    """

    rate_per_hour: Rate | None = None
    """Tickets per hour all day (Poisson); 0 for no walk-ins; at most 1,000,000."""
    rates_per_hour: list[Rate] | None = None
    """Tickets per hour in each rate interval of the opening hours; at most 1,000,000."""
    rate_interval_min: Annotated[int, Field(gt=0, le=1440)] | None = None
    """Minutes per entry of rates_per_hour; default: the hall's interval_min."""
    weekday_factors: Annotated[list[WeekdayFactor], Field(min_length=7, max_length=7)] | None = None
    """Seven factors, Monday first, scaling the rates by day of week; at most 100."""

    @model_validator(mode="after")
    def _one_rate_form(self) -> Arrivals:
        if (self.rate_per_hour is None) == (self.rates_per_hour is None):
            raise ValueError("give exactly one of rate_per_hour or rates_per_hour")
        return self


class Balking(_Frozen):
    """Probability that a citizen leaves without a ticket, given the number of tickets of
    the category waiting (as the hall's display shows it): linear between the points
    (``queue[k]``, ``probability[k]``), constant beyond the first and the last."""

    queue: Annotated[list[Count], Field(min_length=1)]
    """Queue lengths (tickets of the category waiting), increasing; at most 1,000,000."""
    probability: Annotated[list[Annotated[float, Field(ge=0, le=1)]], Field(min_length=1)]
    """Probability of leaving without a ticket at each queue length."""

    @model_validator(mode="after")
    def _points(self) -> Balking:
        if len(self.queue) != len(self.probability):
            raise ValueError(
                f"queue and probability need as many values (got {len(self.queue)} and "
                f"{len(self.probability)})"
            )
        if any(b <= a for a, b in zip(self.queue, self.queue[1:], strict=False)):
            raise ValueError(f"queue lengths must increase (got {self.queue})")
        return self


class NoShow(_Frozen):
    """No-show at call (过号): the holder of a share ``probability`` of the tickets is absent
    when first called. The window calls and recalls ``recalls`` times, ``recall_min`` minutes
    each time, then drops the ticket (outcome ``no_show``) or, with ``then = "requeue"``,
    puts it at the back of its category's queue (the holder has come back)."""

    probability: Annotated[float, Field(ge=0, le=1)]
    """Share of holders absent when first called."""
    recall_min: Minutes = 1.0
    """Minutes each call and recall takes; at most 100,000."""
    recalls: Annotated[int, Field(ge=0, le=MAX_RECALLS, strict=True)] = 2
    """Recalls after the first call before the window gives up; at most 100."""
    then: Literal["drop", "requeue"] = "drop"
    """"drop": the ticket ends as no_show; "requeue": it goes to the back of the queue."""

    @property
    def lost_min(self) -> float:
        """Minutes a window spends on an absent holder: the call and every recall."""
        return (1 + self.recalls) * self.recall_min


class PriorityShare(_Frozen):
    """A share of a category's walk-in tickets are priority tickets (绿色通道 for the elderly
    and disabled, or VIP): the ticket class ``<id>:priority``, with its own ``priority``."""

    share: Annotated[float, Field(gt=0, lt=1)]
    """Share of the category's walk-in tickets that are priority tickets."""
    priority: Priority
    """Priority of those tickets (higher is called first), from -1,000,000 to 1,000,000."""


class Appointments(_Frozen):
    """Booked tickets (预约): ``booked[k]`` appointments in the ``k``-th slot of ``slot_min``
    minutes from opening, every day (scaled by the category's weekday factors, rounded).
    A holder arrives at a uniform time from ``early_min`` before to ``late_min`` after the
    slot's start (within opening hours), or with probability ``no_show`` not at all (a
    ticket with outcome ``no_show`` at the slot's start). Arriving at most ``grace_min``
    after the slot's start, the ticket is of class ``<id>:appointment`` with ``priority``;
    later, an ordinary ticket of the category. Booked tickets count towards the category's
    daily cap like the others, in order of issue."""

    slot_min: Annotated[int, Field(gt=0, le=1440, strict=True)]
    """Minutes per booking slot, from opening."""
    booked: Annotated[list[Count], Field(min_length=1)]
    """Bookings in each slot, every day (scaled by the weekday factors); at most 1,000,000."""
    early_min: Minutes = 0.0
    """Minutes a holder may arrive before the slot starts; at most 100,000."""
    late_min: Minutes = 0.0
    """Minutes a holder may arrive after the slot starts; at most 100,000."""
    no_show: Annotated[float, Field(ge=0, le=1)] = 0.0
    """Share of booked holders who never come."""
    grace_min: Minutes = 0.0
    """Minutes late that keep the appointment class; at most 100,000."""
    priority: Priority = 0
    """Priority of on-time booked tickets, from -1,000,000 to 1,000,000."""


class Deferred(_Frozen):
    """A share of a category's served tickets are deferred items (承诺件): after the window,
    the case goes to back office ``back_office``, and with ``pickup`` the citizen collects
    the result at the pickup windows. The others are instant items (即办件), done at the
    window."""

    share: Annotated[float, Field(ge=0, le=1)]
    """Share of the category's served tickets that are deferred cases."""
    back_office: Name
    """Id of the [[back_office]] that works on them."""
    pickup: bool = True
    """Whether the citizen collects the result at the pickup windows."""


class Category(_Frozen):
    """A kind of business: its arrivals, service time, patience and priority.

    A ticket of a higher ``priority`` is called before a lower one; ``patience`` (optional) is
    how long a citizen waits before leaving (reneging). ``daily_cap`` (限号) refuses tickets
    beyond that many a day (outcome ``capped``); ``balking`` makes citizens leave without a
    ticket when the queue is long (outcome ``balked``); ``no_show`` makes some holders absent
    when called (过号); ``deferred`` sends a share of its cases to a back office;
    ``priority_share`` and ``appointments`` add ticket classes ``<id>:priority`` and
    ``<id>:appointment``, reported as categories of their own and served wherever the
    category is.
    """

    id: Name
    """Unique id, used in serves, skills and results ("*" and ":" are reserved)."""
    name: str | None = None
    """Display name, for example the item's name in Chinese."""
    department: str | None = None
    """Department it belongs to; windows and staff may name departments."""
    arrivals: Arrivals
    """How tickets of this category arrive."""
    service: Distribution
    """Service time at a window, before window and staff factors (minutes)."""
    patience: Distribution | None = None
    """How long a citizen waits before leaving; none: waits forever."""
    priority: Priority = 0
    """Tickets of a higher priority are called first; from -1,000,000 to 1,000,000."""
    daily_cap: Count | None = None
    """Tickets accepted a day (限号), later ones refused (capped); at most 1,000,000."""
    balking: Balking | None = None
    """Probability of leaving without a ticket by queue length."""
    no_show: NoShow | None = None
    """Holders absent when called (过号)."""
    deferred: Deferred | None = None
    """Share of cases sent on to a back office (承诺件)."""
    priority_share: PriorityShare | None = None
    """Share of tickets in a priority class <id>:priority (绿色通道)."""
    appointments: Appointments | None = None
    """Booked tickets per slot (预约), class <id>:appointment."""

    @field_validator("id")
    @classmethod
    def _not_wildcard(cls, value: str) -> str:
        if value == "*":
            raise ValueError('"*" is reserved for "every category"')
        if ":" in value:
            raise ValueError(
                f'":" is reserved for ticket classes such as "A:priority" (got {value!r})'
            )
        return value


Factor = Annotated[
    Annotated[Factor, Tag("number")] | Annotated[dict[str, Factor], Tag("table")],
    Discriminator(lambda v: "table" if isinstance(v, dict) else "number"),
]


class Tidal(_Frozen):
    """A time block (潮汐) in which a window serves ``serves`` instead of its usual
    categories."""

    model_config = ConfigDict(populate_by_name=True)

    from_: TimeOfDay = Field(alias="from")
    """Start of the block, "HH:MM"."""
    to: TimeOfDay
    """End of the block, "HH:MM"."""
    serves: Annotated[list[Name], Field(min_length=1)]
    """What the windows serve during the block (ids, departments or *)."""


class Window(_Frozen):
    """A group of ``count`` identical windows, named ``id`` (one window) or ``id.1`` ...
    ``id.<count>``.

    ``serves`` lists category ids, department names or ``"*"`` (a comprehensive window);
    ``tidal`` blocks switch what the windows serve by time of day. ``open`` lists the spans
    ``["HH:MM", "HH:MM"]`` the windows are open (default: the hall's hours); when the scenario
    has ``[[staff]]``, a window is open only where such a span and a staff member working it
    meet. ``generalist_factor`` multiplies service times at these windows, for every category
    (a number) or per category id (a table; unlisted categories 1.0). ``call`` is the rule a
    free window follows to call the next ticket (default FCFS with priorities).
    """

    id: Name
    """Unique id; windows of the group are <id>.1, <id>.2, ... when count > 1."""
    count: Units = 1
    """Identical windows in the group; at most 10,000."""
    serves: Annotated[list[Name], Field(min_length=1)]
    """Category ids, department names, or "*" for every category."""
    open: list[Span] | None = None
    """Spans ["HH:MM", "HH:MM"] the windows are open; default: the hall's hours."""
    tidal: list[Tidal] = []
    """Time blocks in which the windows serve other categories (潮汐)."""
    generalist_factor: Factor = 1.0
    """Service-time factor at these windows, a number or per category id; at most 100."""
    call: CallRule = CallFCFS()
    """Rule a free window follows to call the next ticket; default fcfs."""

    @property
    def names(self) -> list[str]:
        """The names of the windows of this entry."""
        if self.count == 1:
            return [self.id]
        return [f"{self.id}.{k + 1}" for k in range(self.count)]


class Staff(_Frozen):
    """A named staff member, or a group of ``count`` interchangeable ones named ``id.1`` ...

    ``skills`` lists the categories they can serve (ids, departments or ``"*"``); ``speed``
    multiplies their service times, for every category (a number) or per category id (a
    table; unlisted 1.0), on top of the window's ``generalist_factor``. They are on duty
    during ``shift`` (default: the hall's hours) except ``breaks``, and work at their home
    window (``windows``: one per member, window names or ``[[windows]]`` ids, which stand for
    all their windows in order) unless a ``[[rotation]]`` block sends them elsewhere.
    """

    id: Name
    """Unique id; members are <id>.1, <id>.2, ... when count > 1."""
    count: Units = 1
    """Interchangeable members; at most 10,000."""
    skills: Annotated[list[Name], Field(min_length=1)] = ["*"]
    """Category ids, department names or "*" the members can serve."""
    speed: Factor = 1.0
    """Service-time factor of the members, a number or per category id; at most 100."""
    shift: Span | None = None
    """["HH:MM", "HH:MM"] on duty; default: the hall's hours."""
    breaks: list[Span] = []
    """Spans off duty within the shift."""
    windows: list[Name] = []
    """Home window of each member (window names or [[windows]] ids)."""

    @property
    def names(self) -> list[str]:
        """The names of the members of this entry."""
        if self.count == 1:
            return [self.id]
        return [f"{self.id}.{k + 1}" for k in range(self.count)]


class Reserve(_Frozen):
    """A pool of ``staff`` reserve staff (应急人员, named ``id.1`` ...) who open ``windows``
    (names or ``[[windows]]`` ids, tried in order) to serve ``serves`` when those categories'
    queue grows: when ``open_queue`` of their tickets wait, or the oldest has waited
    ``open_wait_min``. A window opens ``delay_min`` after the trigger, one at a time; the
    pool's windows close (each finishing its ticket in hand) once at most ``close_queue``
    wait and none longer than ``close_wait_min``, and at the end of ``hours``. ``speed``
    multiplies their service times."""

    id: Name
    """Unique id; members are <id>.1, <id>.2, ..."""
    staff: Annotated[
        int,
        Field(
            gt=0,
            le=MAX_RESERVE_STAFF,
            strict=True,
        ),
    ] = 1
    """Reserve staff in the pool; at most 1,000."""
    windows: Annotated[list[Name], Field(min_length=1)]
    """Windows the pool may open (names or [[windows]] ids), in order."""
    serves: Annotated[list[Name], Field(min_length=1)]
    """Categories the pool watches and serves."""
    open_queue: PositiveCount | None = None
    """Open a window when this many of their tickets wait; at most 1,000,000."""
    open_wait_min: Minutes | None = None
    """Open a window when the first in line has waited this long (minutes, <= 100,000)."""
    close_queue: Count = 0
    """Stand down when at most this many wait (and none too long); <= 1,000,000."""
    close_wait_min: Minutes = 0.0
    """... and the first in line has waited at most this long (minutes, <= 100,000)."""
    delay_min: Minutes = 0.0
    """Minutes from the trigger to the window opening; at most 100,000."""
    hours: Span | None = None
    """["HH:MM", "HH:MM"] the pool works; default: the hall's hours."""
    speed: Factor = 1.0
    """Service-time factor of reserve staff, a number or per category id; at most 100."""

    @model_validator(mode="after")
    def _a_trigger(self) -> Reserve:
        if self.open_queue is None and self.open_wait_min is None:
            raise ValueError("give open_queue, open_wait_min or both")
        if self.open_queue is not None and self.close_queue >= self.open_queue:
            raise ValueError(
                f"close_queue must be below open_queue (got close_queue={self.close_queue}, "
                f"open_queue={self.open_queue})"
            )
        if self.open_wait_min is not None and self.close_wait_min >= self.open_wait_min:
            raise ValueError(
                f"close_wait_min must be below open_wait_min (got close_wait_min="
                f"{self.close_wait_min:g}, open_wait_min={self.open_wait_min:g})"
            )
        return self

    @property
    def names(self) -> list[str]:
        """The names of the pool's members."""
        return [f"{self.id}.{k + 1}" for k in range(self.staff)]


class BackOffice(_Frozen):
    """A back-office stage (后台审批): ``staff`` people work its queue of deferred cases first
    come, first served, during ``hours`` (default: the hall's hours that day) every day the
    hall is open; a case in hand at the end of a span is finished. The citizen does not wait
    there. Its queue carries over from day to day."""

    id: Name
    """Unique id, named by categories' deferred.back_office."""
    staff: Units = 1
    """People working the queue; at most 10,000."""
    hours: list[Span] | None = None
    """Spans they work each open day; default: the hall's hours that day."""
    service: Distribution
    """Desk time per case (minutes)."""


class Pickup(_Frozen):
    """The pickup windows (统一出件): ``windows`` windows open during ``hours`` (default: the
    hall's hours that day) serve citizens collecting deferred results, first come, first
    served, each taking ``service``. A citizen collects on the day the back office finishes,
    if it finishes within that day's pickup hours, else on the next day the hall is open at
    a uniformly drawn time of its pickup hours."""

    windows: Units = 1
    """Pickup windows; at most 10,000."""
    hours: list[Span] | None = None
    """Spans the pickup windows are open each open day; default: the hall's hours that day."""
    service: Distribution
    """Minutes per pickup."""


class Rotation(_Frozen):
    """A rotation block (交叉轮岗): staff member ``staff`` works window ``window`` from
    ``from`` to ``to`` instead of their home window."""

    model_config = ConfigDict(populate_by_name=True)

    staff: Name
    """The staff member (a name such as S.2)."""
    window: Name
    """The window they work in the block."""
    from_: TimeOfDay = Field(alias="from")
    """Start of the block, "HH:MM"."""
    to: TimeOfDay
    """End of the block, "HH:MM"."""


class _CrossFieldErrors(Exception):
    """Raised inside validation (not a ValueError, so pydantic lets it through)."""

    def __init__(self, issues: list[tuple[tuple, str, Any]]) -> None:
        super().__init__(issues)
        self.issues = issues


_NO_VALUE = object()

# Category indices by id and by department, per list of categories (a hall with hundreds of
# items resolves every window's ``serves`` against them): at most _LOOKUPS_KEPT lists
_LOOKUPS: dict[int, tuple[list, dict[str, int], dict[str, list[int]]]] = {}
_LOOKUPS_KEPT = 8


def _category_lookup(categories: list) -> tuple[dict[str, int], dict[str, list[int]]]:
    """``({id: index}, {department: [indices]})`` of ``categories``, built once per list. A
    list is recognised by identity, element by element (categories are frozen), so a list
    changed in place or a new list at a reused address is looked up afresh."""
    kept = _LOOKUPS.get(id(categories))
    if (
        kept is not None
        and len(kept[0]) == len(categories)
        and all(map(operator.is_, kept[0], categories))
    ):
        return kept[1], kept[2]
    by_id: dict[str, int] = {}
    by_department: dict[str, list[int]] = {}
    for index, category in enumerate(categories):
        by_id.setdefault(category.id, index)
        if category.department is not None:
            by_department.setdefault(category.department, []).append(index)
    if len(_LOOKUPS) >= _LOOKUPS_KEPT:
        _LOOKUPS.pop(next(iter(_LOOKUPS)))
    _LOOKUPS[id(categories)] = (list(categories), by_id, by_department)
    return by_id, by_department


class Scenario(_Frozen):
    """A whole hall: hours, categories and windows. Build it with :func:`load_scenario`,
    ``Scenario.model_validate(data)`` or ``Scenario(**data)``; malformed data raises
    :class:`~hallsim.errors.ScenarioError`.
    """

    schema_version: Literal[1] = 1
    """Version of the file format; 1."""
    name: str = ""
    """Name of the hall, shown in reports and progress bars."""
    description: str = ""
    """Free text: what the scenario is for."""
    hall: Hall
    """Opening hours, days and reporting settings ([hall])."""
    categories: Annotated[list[Category], Field(min_length=1)]
    """The kinds of business citizens come for ([[categories]]); at least one."""
    windows: Annotated[list[Window], Field(min_length=1)]
    """The windows, in groups of identical ones ([[windows]]); at least one."""
    staff: list[Staff] = []
    """Named staff; with any, a window is open only while staffed ([[staff]])."""
    rotation: list[Rotation] = []
    """Blocks in which a staff member works another window ([[rotation]])."""
    reserve: list[Reserve] = []
    """Pools of reserve staff who open extra windows at peak ([[reserve]])."""
    back_office: list[BackOffice] = []
    """Back offices that work on deferred cases ([[back_office]])."""
    pickup: Pickup | None = None
    """The pickup windows where citizens collect deferred results ([pickup])."""

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except (ValidationError, _CrossFieldErrors) as error:
            raise _scenario_error(error, data) from None

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Scenario:  # type: ignore[override]
        if isinstance(obj, dict) and any(not isinstance(key, str) for key in obj):
            raise ScenarioError(
                [
                    Issue(_key(key) if isinstance(key, str) else repr(key), "keys must be strings")
                    for key in obj
                    if not isinstance(key, str)
                ]
            )
        try:
            return super().model_validate(obj, **kwargs)
        except (ValidationError, _CrossFieldErrors) as error:
            raise _scenario_error(error, obj) from None

    @property
    def category_ids(self) -> list[str]:
        return [category.id for category in self.categories]

    def served_categories(self, window: Window) -> list[int]:
        """Indices of the categories ``window`` serves, resolving departments and ``"*"``."""
        served: set[int] = set()
        for entry in window.serves:
            served.update(self._resolve(entry))
        return sorted(served)

    def spans(self, window: Window) -> list[tuple[int, int]]:
        """Open spans of ``window`` in minutes of day, sorted, adjacent spans merged."""
        if window.open is None:
            return [(self.hall.open_minute, self.hall.close_minute)]
        merged: list[tuple[int, int]] = []
        for start, end in sorted((minutes_of_day(a), minutes_of_day(b)) for a, b in window.open):
            if merged and start == merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        return merged

    @property
    def window_names(self) -> list[str]:
        """Names of every window, in file order (``id``, or ``id.k`` in a group)."""
        return [name for window in self.windows for name in window.names]

    @property
    def window_entries(self) -> list[int]:
        """The ``[[windows]]`` entry of every window, in file order."""
        return [e for e, window in enumerate(self.windows) for _ in window.names]

    def window_indices(self, names: list[str]) -> list[int]:
        """Indices of windows named in ``names``: window names, or ``[[windows]]`` ids that
        stand for all their windows in order."""
        window_names = self.window_names
        out = []
        for name in names:
            entry = next((w for w in self.windows if w.id == name), None)
            out.extend(window_names.index(n) for n in (entry.names if entry else [name]))
        return out

    def resolve(self, entries: list[str]) -> list[int]:
        """Sorted indices of the categories that ids, department names or ``"*"`` name."""
        return sorted({c for entry in entries for c in self._resolve(entry)})

    @property
    def member_names(self) -> list[str]:
        """Names of every staff member, in file order (``id``, or ``id.k`` in a group), then
        the members of the reserve pools."""
        return [name for staff in [*self.staff, *self.reserve] for name in staff.names]

    def speed(self, staff: Staff | Reserve, category: int) -> float:
        """Service-time factor of ``staff`` (or a reserve pool) for the category with index
        ``category``."""
        if isinstance(staff.speed, dict):
            return staff.speed.get(self.categories[category].id, 1.0)
        return staff.speed

    def factor(self, window: Window, category: int) -> float:
        """Service-time factor of ``window`` for the category with index ``category``."""
        if isinstance(window.generalist_factor, dict):
            return window.generalist_factor.get(self.categories[category].id, 1.0)
        return window.generalist_factor

    def _resolve(self, entry: str) -> list[int]:
        if entry == "*":
            return list(range(len(self.categories)))
        by_id, by_department = _category_lookup(self.categories)
        if entry in by_id:
            return [by_id[entry]]
        return list(by_department.get(entry, ()))

    @model_validator(mode="after")
    def _cross_checks(self) -> Scenario:
        issues = list(self._cross_field_issues())
        if not issues:  # the staff plan, laid out in time, needs valid parts
            posts, issues = build_posts(self)
            served = {c for post in posts for c in post.served}
            issues += [
                (
                    ("categories", i),
                    "no window serves this category while open (check the staff's skills "
                    "and shifts, tidal blocks, and windows kept for reserve pools)",
                    _NO_VALUE,
                )
                for i in range(len(self.categories))
                if not issues and i not in served
            ]
        if issues:
            raise _CrossFieldErrors(issues)
        return self

    def _cross_field_issues(self):
        hall = self.hall
        yield from self._calendar_issues()
        seen: dict[str, int] = {}
        for i, category in enumerate(self.categories):
            if category.id in seen:
                yield ("categories", i, "id"), "duplicate category id", category.id
            seen[category.id] = i
            booking = category.appointments
            slots = (
                0
                if booking is None
                else -(-(hall.close_minute - hall.open_minute) // booking.slot_min)
            )
            if booking is not None and len(booking.booked) != slots:
                yield (
                    ("categories", i, "appointments", "booked"),
                    f"needs one count per {booking.slot_min}-minute slot from {hall.open} to "
                    f"{hall.close}: {slots} values",
                    len(booking.booked),
                )
            yield from self._rate_issues(i, category.arrivals)
        seen = {}
        served_anywhere: set[int] = set()
        for w, window in enumerate(self.windows):
            if window.id in seen:
                yield ("windows", w, "id"), "duplicate window id", window.id
            seen[window.id] = w
            for s, entry in enumerate(window.serves):
                if not self._resolve(entry):
                    yield (
                        ("windows", w, "serves", s),
                        'not a category id, a department name or "*"',
                        entry,
                    )
            served = self.served_categories(window)
            served_anywhere.update(served)
            for k, tidal in enumerate(window.tidal):
                for s, entry in enumerate(tidal.serves):
                    found = self._resolve(entry)
                    served_anywhere.update(found)
                    if not found:
                        yield (
                            ("windows", w, "tidal", k, "serves", s),
                            'not a category id, a department name or "*"',
                            entry,
                        )
            if isinstance(window.generalist_factor, dict):
                served_ids = {self.categories[c].id for c in served}
                for key in window.generalist_factor:
                    if key not in served_ids:
                        yield (
                            ("windows", w, "generalist_factor", key),
                            "not a category this window serves",
                            key,
                        )
            yield from self._span_issues(w, window)
            yield from self._tidal_issues(w, window)
            tidal_served = [c for tidal in window.tidal for c in self.resolve(tidal.serves)]
            yield from self._call_issues(w, window, served + tidal_served)
        for i in range(len(self.categories)):
            if i not in served_anywhere:
                yield ("categories", i), "no window serves this category", _NO_VALUE
        yield from self._staff_issues()
        yield from self._office_issues()

    def _rate_issues(self, i: int, arrivals: Arrivals):
        """``rates_per_hour`` has one rate per rate interval of the opening hours."""
        hall = self.hall
        where = ("categories", i, "arrivals")
        minutes = arrivals.rate_interval_min
        if arrivals.rates_per_hour is None:
            if minutes is not None:
                yield (*where, "rate_interval_min"), "applies to rates_per_hour only", minutes
            return
        minutes = minutes or hall.interval_min
        needed = -(-(hall.close_minute - hall.open_minute) // minutes)
        if len(arrivals.rates_per_hour) != needed:
            yield (
                (*where, "rates_per_hour"),
                f"needs one rate per {minutes}-minute interval from {hall.open} to "
                f"{hall.close}: {needed} values",
                len(arrivals.rates_per_hour),
            )

    def _calendar_issues(self):
        """Closed weekdays and holidays listed once, holidays within the run, weekday hours
        within the hall's and not on a closed weekday, and at least one open day."""
        hall = self.hall
        for k, weekday in enumerate(hall.closed_weekdays):
            if hall.closed_weekdays.index(weekday) != k:
                yield ("hall", "closed_weekdays", k), "listed twice", weekday
        seen: set[int] = set()
        for k, day in enumerate(hall.holidays):
            if day in seen:
                yield ("hall", "holidays", k), "listed twice", day
            elif day >= hall.days:
                yield (
                    ("hall", "holidays", k),
                    f"not a day of the run: days are numbered from 0 to {hall.days - 1}",
                    day,
                )
            seen.add(day)
        for weekday in WEEKDAYS if hall.hours is not None else ():
            span = getattr(hall.hours, weekday)
            if span is None:
                continue
            a, b = (minutes_of_day(t) for t in span)
            where = ("hall", "hours", weekday)
            if weekday in hall.closed_weekdays:
                yield where, "the hall is closed that weekday (closed_weekdays)", span
            elif b <= a:
                yield where, "must end after it starts", span
            elif a < hall.open_minute or b > hall.close_minute:
                yield where, f"must lie within the hall's hours {hall.open}-{hall.close}", span
        if not hall.open_days:
            yield (
                ("hall",),
                f"the hall is closed on every one of its {hall.days} days "
                "(closed_weekdays, holidays)",
                _NO_VALUE,
            )

    def _office_issues(self):
        offices = [office.id for office in self.back_office]
        for k, office in enumerate(self.back_office):
            if offices.index(office.id) != k:
                yield ("back_office", k, "id"), "duplicate back office id", office.id
            yield from _hours_issues(("back_office", k, "hours"), office.hours)
        if self.pickup is not None:
            yield from _hours_issues(("pickup", "hours"), self.pickup.hours)
        for i, category in enumerate(self.categories):
            deferred = category.deferred
            if deferred is None:
                continue
            if deferred.back_office not in offices:
                yield (
                    ("categories", i, "deferred", "back_office"),
                    "not a back office id",
                    deferred.back_office,
                )
            if deferred.pickup and self.pickup is None:
                yield (
                    ("categories", i, "deferred", "pickup"),
                    "needs a [pickup] section (or pickup = false)",
                    True,
                )

    def _staff_issues(self):
        hall = self.hall
        window_names = self.window_names
        window_ids = {window.id for window in self.windows}
        seen: dict[str, int] = {}
        for s, staff in enumerate(self.staff):
            for name in staff.names:
                if name in seen:
                    yield ("staff", s, "id"), f'duplicate staff member name "{name}"', staff.id
                seen[name] = s
            skills: set[int] = set()
            for k, entry in enumerate(staff.skills):
                skills.update(self._resolve(entry))
                if not self._resolve(entry):
                    yield (
                        ("staff", s, "skills", k),
                        'not a category id, a department name or "*"',
                        entry,
                    )
            if isinstance(staff.speed, dict):
                skill_ids = {self.categories[c].id for c in skills}
                for key in staff.speed:
                    if key not in skill_ids:
                        yield ("staff", s, "speed", key), "not a skill of this staff", key
            shift = staff.shift or [hall.open, hall.close]
            if minutes_of_day(shift[1]) <= minutes_of_day(shift[0]):
                yield ("staff", s, "shift"), "must end after it starts", shift
                continue
            breaks = sorted(
                (minutes_of_day(a), minutes_of_day(b), k, [a, b])
                for k, (a, b) in enumerate(staff.breaks)
            )
            for a, b, k, text in breaks:
                if b <= a:
                    yield ("staff", s, "breaks", k), "must end after it starts", text
                elif a < minutes_of_day(shift[0]) or b > minutes_of_day(shift[1]):
                    yield (
                        ("staff", s, "breaks", k),
                        f"break must lie within the shift {shift[0]}-{shift[1]}",
                        text,
                    )
            for (_, b0, k0, _), (a1, _, k1, text1) in zip(breaks, breaks[1:], strict=False):
                if a1 < b0:
                    yield ("staff", s, "breaks", k1), f"break overlaps breaks[{k0}]", text1
            homes = 0
            for k, name in enumerate(staff.windows):
                if name in window_ids:
                    homes += next(w.count for w in self.windows if w.id == name)
                elif name in window_names:
                    homes += 1
                else:
                    yield ("staff", s, "windows", k), "not a window name or id", name
                    homes = None
                    break
            if staff.windows and homes is not None and homes != staff.count:
                yield (
                    ("staff", s, "windows"),
                    f"needs one home window per staff member: {staff.count}, not {homes}",
                    staff.windows,
                )
        seen_pools: set[str] = set()
        for p, pool in enumerate(self.reserve):
            for name in pool.names:
                if name in seen:
                    yield ("reserve", p, "id"), f'duplicate staff member name "{name}"', pool.id
                seen[name] = -1
            if pool.id in seen_pools:
                yield ("reserve", p, "id"), "duplicate reserve pool id", pool.id
            seen_pools.add(pool.id)
            for k, name in enumerate(pool.windows):
                if name not in window_ids and name not in window_names:
                    yield ("reserve", p, "windows", k), "not a window name or id", name
            served: set[int] = set()
            for k, entry in enumerate(pool.serves):
                served.update(self._resolve(entry))
                if not self._resolve(entry):
                    yield (
                        ("reserve", p, "serves", k),
                        'not a category id, a department name or "*"',
                        entry,
                    )
            if isinstance(pool.speed, dict):
                served_ids = {self.categories[c].id for c in served}
                for key in pool.speed:
                    if key not in served_ids:
                        yield ("reserve", p, "speed", key), "not a category the pool serves", key
            if pool.hours is not None:
                a, b = (minutes_of_day(x) for x in pool.hours)
                if b <= a:
                    yield ("reserve", p, "hours"), "must end after it starts", pool.hours
                elif a < hall.open_minute or b > hall.close_minute:
                    yield (
                        ("reserve", p, "hours"),
                        f"must lie within the hall's hours {hall.open}-{hall.close}",
                        pool.hours,
                    )
        if self.rotation and not self.staff:
            yield ("rotation",), "a rotation needs [[staff]] to rotate", _NO_VALUE
            return
        regular = {name for staff in self.staff for name in staff.names}
        for j, block in enumerate(self.rotation):
            if block.staff not in regular:
                yield ("rotation", j, "staff"), "not a staff member's name", block.staff
            if block.window not in window_names:
                yield ("rotation", j, "window"), "not a window name", block.window
            if minutes_of_day(block.to) <= minutes_of_day(block.from_):
                yield ("rotation", j), "block must end after it starts", [block.from_, block.to]

    def _call_issues(self, w: int, window: Window, served: list[int]):
        named = window.call.named()
        served_ids = {self.categories[c].id for c in served}
        seen = set()
        for key, index, cid in named:
            where = ("windows", w, "call", key) + (() if index is None else (index,))
            if cid not in served_ids:
                yield where, "not a category this window serves", cid
            elif cid in seen:
                yield where, "listed twice", cid
            seen.add(cid)

    def _tidal_issues(self, w: int, window: Window):
        blocks = []
        for k, tidal in enumerate(window.tidal):
            a, b = minutes_of_day(tidal.from_), minutes_of_day(tidal.to)
            if b <= a:
                yield (
                    ("windows", w, "tidal", k),
                    "block must end after it starts",
                    [
                        tidal.from_,
                        tidal.to,
                    ],
                )
            else:
                blocks.append((a, b, k, [tidal.from_, tidal.to]))
        blocks.sort()
        for (_, b0, k0, _), (a1, _, k1, text1) in zip(blocks, blocks[1:], strict=False):
            if a1 < b0:
                yield ("windows", w, "tidal", k1), f"block overlaps tidal[{k0}]", text1

    def _span_issues(self, w: int, window: Window):
        if window.open is None:
            return
        hall = self.hall
        spans = []
        for s, (start, end) in enumerate(window.open):
            a, b = minutes_of_day(start), minutes_of_day(end)
            where = ("windows", w, "open", s)
            if b <= a:
                yield where, "span must end after it starts", [start, end]
            elif a < hall.open_minute or b > hall.close_minute:
                yield (
                    where,
                    f"span must lie within the hall's hours {hall.open}-{hall.close}",
                    [
                        start,
                        end,
                    ],
                )
            else:
                spans.append((a, b, s, [start, end]))
        spans.sort()
        for (_, b0, s0, _), (a1, _, s1, text1) in zip(spans, spans[1:], strict=False):
            if a1 < b0:
                yield ("windows", w, "open", s1), f"span overlaps open[{s0}]", text1


def _hours_issues(where: tuple, hours: list[list[str]] | None):
    """Working spans: each ends after it starts, none overlap."""
    spans = []
    for k, (start, end) in enumerate(hours or []):
        a, b = minutes_of_day(start), minutes_of_day(end)
        if b <= a:
            yield (*where, k), "span must end after it starts", [start, end]
        else:
            spans.append((a, b, k, [start, end]))
    spans.sort()
    for (_, b0, k0, _), (a1, _, k1, text1) in zip(spans, spans[1:], strict=False):
        if a1 < b0:
            yield (*where, k1), f"span overlaps {where[-1]}[{k0}]", text1


def _scenario_error(error: Exception, data: Any) -> ScenarioError:
    if isinstance(error, _CrossFieldErrors):
        issues = [
            Issue(
                _where(loc, data),
                message,
                None if value is _NO_VALUE else value,
                value is not _NO_VALUE,
            )
            for loc, message, value in error.issues
        ]
        return ScenarioError(issues)
    assert isinstance(error, ValidationError)
    details = error.errors()
    if len(details) == 1 and isinstance(details[0].get("ctx", {}).get("error"), ScenarioError):
        return details[0]["ctx"]["error"]
    return ScenarioError([_issue(detail, data) for detail in error.errors()])


_MESSAGES = {
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than_equal": "must be <= {le}",
    "less_than": "must be < {lt}",
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "tuple_type": 'must be a pair ["HH:MM", "HH:MM"]',
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
    "string_too_short": "must not be empty",
    "union_tag_invalid": "unknown {discriminator} {tag!r}: expected one of {expected_tags}",
    "union_tag_not_found": "needs a {discriminator} key",
}


def _issue(detail: dict, data: Any) -> Issue:
    kind = detail["type"]
    ctx = {  # pydantic quotes these: 'dist', 'exponential', ...
        key: value.replace("'", "") if key in ("discriminator", "expected_tags") else value
        for key, value in detail.get("ctx", {}).items()
    }
    loc = _data_loc(detail["loc"], data, kind)
    if kind in _MESSAGES:
        try:
            message = _MESSAGES[kind].format(**{k: _number(v) for k, v in ctx.items()})
        except (KeyError, IndexError):
            message = detail["msg"]
    elif kind == "literal_error":
        message = f"must be {ctx.get('expected', 'one of the allowed values')}"
    else:
        message = detail["msg"].removeprefix("Value error, ")
    value = detail.get("input", _NO_VALUE)
    has_value = kind not in ("missing",) and not isinstance(value, dict) and "(got " not in message
    if kind == "extra_forbidden":
        loc, value, has_value = loc, _NO_VALUE, False
    return Issue(_where(loc, data), message, None if value is _NO_VALUE else value, has_value)


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _data_loc(loc: tuple, data: Any, kind: str) -> tuple:
    """``loc`` without pydantic's union labels (``constrained-float``, ``dict[str,...]``, dist
    tags), found by walking the raw data rather than by name: a string part is a key when the
    node there is a table holding it (or it is the last part of a "missing" error)."""
    kept = []
    node = data
    for i, part in enumerate(loc):
        if isinstance(node, BaseModel):
            node = dict(node)
        if isinstance(part, int):
            kept.append(part)
            node = (
                node[part]
                if isinstance(node, list | tuple) and -len(node) <= part < len(node)
                else None
            )
        elif isinstance(node, dict) and (part in node or (kind == "missing" and i == len(loc) - 1)):
            kept.append(part)
            node = node.get(part)
        # else: a union label, not in the data
    return tuple(kept)


def _where(loc: tuple, data: Any) -> str:
    """``windows[1] (id="W2").count`` from a location and the raw data."""
    text = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
            node = (
                node[part]
                if isinstance(node, list | tuple) and -len(node) <= part < len(node)
                else None
            )
            ident = node.get("id") if isinstance(node, dict) else getattr(node, "id", None)
            if isinstance(ident, str):
                text += f" (id={_quoted(ident)})"
        else:
            text += f".{_key(part)}" if text else _key(part)
            if isinstance(node, dict):
                node = node.get(part)
            elif isinstance(node, BaseModel):
                node = getattr(node, str(part), None)
            else:
                node = None
    return text


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(part: Any) -> str:
    """A key as TOML writes it: bare if it can be, else quoted."""
    text = str(part)
    return text if _BARE_KEY.fullmatch(text) else _quoted(text)


# json.dumps leaves these as they are, but str.splitlines() breaks lines on them
_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def _quoted(text: str) -> str:
    """``text`` as a one-line JSON string (readable non-ASCII kept)."""
    return json.dumps(text, ensure_ascii=False).translate(_LINE_BREAKS)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario from a TOML file.

    Parsing never executes code from the file. Any problem raises
    :class:`~hallsim.errors.ScenarioError` with the file name in each line.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError([Issue("", "file not found")], str(path)) from None
    except OSError as error:
        raise ScenarioError([Issue("", f"cannot read the file: {error}")], str(path)) from None
    try:
        text = raw.decode("utf-8-sig")  # Windows Notepad starts UTF-8 files with a BOM
    except UnicodeDecodeError as error:
        raise ScenarioError([Issue("", _not_utf8(raw, error))], str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError([Issue("", f"not valid TOML: {error}")], str(path)) from None
    try:
        return Scenario.model_validate(data)
    except ScenarioError as error:
        raise error.with_source(str(path)) from None


def _not_utf8(raw: bytes, error: UnicodeDecodeError) -> str:
    """What to say about a file that is not UTF-8: where, and how to fix a Chinese encoding."""
    line = raw[: error.start].count(b"\n") + 1
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError:
        return f"not UTF-8 text (line {line}); save the file as UTF-8"
    return (
        f"not UTF-8 text (line {line}): it reads as GBK/GB18030, a Chinese encoding; save it "
        "as UTF-8 (in Notepad: Save as, Encoding UTF-8), or convert it with "
        "iconv -f GB18030 -t UTF-8"
    )


def save_scenario(scenario: Scenario, path: str | Path) -> Path:
    """Write ``scenario`` as a TOML file that :func:`load_scenario` reads back unchanged
    (every field written out, defaults included)."""
    import tomli_w

    path = Path(path)
    data = scenario.model_dump(by_alias=True, exclude_none=True)
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path
