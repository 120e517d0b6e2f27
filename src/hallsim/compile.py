"""Scenario -> flat numpy arrays that both engines read (one source of truth).

Windows are numbered in file order, ``count`` windows per ``[[windows]]`` entry, and staff
members likewise (then the reserve pools' members). The engines serve at *posts*
(:mod:`hallsim.staffing`: a window, who works it and what it serves, with its spans); posts
that share an entry, categories, factors and spans form a *group*, and posts are numbered
group by group. Categories are *ticket classes*: the scenario's categories, then their
priority and appointment classes. Times are minutes; a day ``d`` opens at
``d * 1440 + open_minute`` ("absolute minutes since the first day's midnight", the unit of
every time in results).

Reporting slots: ``n_open_slots`` slots of ``interval_min`` cover the opening hours (the last
may be shorter), then ``n_slots - n_open_slots`` slots of the same length after closing time
hold the overtime (the last slot also takes anything later than that). Arrival *pieces* cut
the opening hours where a reporting slot or any category's rate interval starts; the rates
are constant within a piece (without ``rate_interval_min`` the pieces are the slots).

The calendar: each day has a *kind* (``day_kind``), its opening hours (``kind_hours``; kind 0
is the hall's own ``open``-``close``), or is closed (-1). Each kind has its schedule of the
day, the spans of the posts and reserve pools cut to its hours.

Data flows one way: after :func:`compile_scenario` nothing reads the scenario. What the
inputs, the engines, the results and the warnings need of it is here, as arrays, names and
the (frozen) distributions to draw from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from .call_rules import CALL_FCFS
from .clock import minutes_of_day
from .distributions import Distribution
from .scenario import WEEKDAYS, Category, Scenario
from .staffing import Post, build_posts

__all__ = ["OUTCOMES", "CompiledHall", "compile_scenario"]

# Outcome codes of the ticket table, in the order its documentation lists them.
OUTCOMES = ("served", "abandoned", "balked", "no_show", "capped", "in_system")
SERVED, ABANDONED, BALKED, NO_SHOW, CAPPED, IN_SYSTEM = range(len(OUTCOMES))

# Kinds of schedule event, applied in this order at one instant (after service completions);
# the reserve kinds' "group" is the reserve pool.
SPAN_CLOSE, SPAN_OPEN, HALL_CLOSE, RESERVE_END, RESERVE_START = range(5)
# Why a reserve window opened, and the codes engines record.
RESERVE_REASONS = ("queue", "wait")
REASON_QUEUE, REASON_WAIT = range(len(RESERVE_REASONS))

# Columns of a replication's ticket totals per category (hallsim._kernels.ticket_aggregates)
TOTALS = (
    "tickets",
    "served",
    "within_sla",
    "abandoned",
    "served_after_close",
    "in_system",
    "capped",
    "balked",
    "no_show",
)
(
    TOTAL_TICKETS,
    TOTAL_SERVED,
    TOTAL_WITHIN_SLA,
    TOTAL_ABANDONED,
    TOTAL_AFTER_CLOSE,
    TOTAL_IN_SYSTEM,
    TOTAL_CAPPED,
    TOTAL_BALKED,
    TOTAL_NO_SHOW,
) = range(len(TOTALS))
# Planes of the per-(day, slot, category) counts and time areas of the same pass
COUNT_ARRIVALS, COUNT_SERVED, COUNT_ABANDONED = range(3)
AREA_QUEUE, AREA_SERVICE = range(2)


@dataclass(frozen=True)
class CompiledHall:
    """Everything an engine needs, as arrays. Built by :func:`compile_scenario`."""

    n_days: int
    open_minute: float
    close_minute: float
    interval_min: float
    n_open_slots: int
    n_slots: int
    day_weekday: np.ndarray  # (days,) int: 0 = Monday
    day_kind: np.ndarray  # (days,) int64: the kind of each day (its hours), -1 when closed
    kind_hours: np.ndarray  # (K, 2) float64 opening and closing minute of day of each kind
    # ticket classes, called "categories" from here on: the scenario's categories (0..S-1,
    # walk-in tickets), then their priority and appointment classes
    category_ids: list[str]
    service: tuple[Distribution, ...]  # (C,) service time of each class (its category's)
    patience: tuple[Distribution | None, ...]  # (C,) None: never gives up
    service_mean: np.ndarray  # (C,) float64 minutes
    class_category: np.ndarray  # (C,) int64 its index in the scenario
    class_ptr: np.ndarray  # CSR: classes of scenario category k are class_idx[ptr[k]:ptr[k+1]]
    class_idx: np.ndarray
    category_priority: np.ndarray  # (C,) int64
    rate_bounds: np.ndarray  # (pieces + 1,) arrival pieces' boundaries, minutes after opening
    rate_per_min: np.ndarray  # (pieces, C) arrivals per minute on a factor-1 day
    weekday_factor: np.ndarray  # (7, C)
    category_cap: np.ndarray  # (C,) int64 daily cap, -1 for none
    balk_ptr: np.ndarray  # CSR: balking points of category c are balk_*[ptr[c]:ptr[c+1]]
    balk_queue: np.ndarray  # float64 queue lengths
    balk_prob: np.ndarray  # float64 probabilities
    no_show_prob: np.ndarray  # (C,) float64, 0 for none
    no_show_lost: np.ndarray  # (C,) float64 minutes a window spends on an absent holder
    no_show_requeue: np.ndarray  # (C,) bool: requeue (else drop) after the recalls
    # windows, staff, and the posts the engines serve at (see hallsim.staffing)
    sla_wait_min: float | None  # the hall's service-level wait, None for none
    entry_ids: list[str]  # id of each [[windows]] entry
    window_names: list[str]
    window_entry: np.ndarray  # (X,) int64 [[windows]] entry of each window
    staff_names: list[str]
    post_group: np.ndarray  # (P,) int64
    post_window: np.ndarray  # (P,) int64 the window a post is at
    post_staff: np.ndarray  # (P,) int64 the staff member working it, -1 for none
    group_first: np.ndarray  # (G,) int64 first post of the group
    group_count: np.ndarray  # (G,) int64
    group_ncat: np.ndarray  # (G,) int64 number of categories served
    serves: np.ndarray  # (G, C) bool
    factor: np.ndarray  # (G, C) float64 service-time factor
    group_cat_ptr: np.ndarray  # CSR: categories of group g are group_cat_idx[ptr[g]:ptr[g+1]]
    group_cat_idx: np.ndarray
    cat_group_ptr: np.ndarray  # CSR: groups serving category c
    cat_group_idx: np.ndarray
    call_rule: np.ndarray  # (G,) int64: a code of hallsim.call_rules.CALL_RULES
    call_ptr: np.ndarray  # CSR per group: strict order, or the weighted round-robin cycle
    call_idx: np.ndarray
    call_category: np.ndarray  # (G,) int64: the threshold rule's category, -1 otherwise
    call_after: np.ndarray  # (G,) float64: the threshold rule's minutes
    # schedule of a day of each kind, minutes of day, sorted by (time, kind, group): the
    # events of day kind k are event_*[event_ptr[k]:event_ptr[k + 1]]
    event_ptr: np.ndarray  # (K + 1,) int64
    event_minute: np.ndarray  # float64
    event_kind: np.ndarray  # int64: SPAN_CLOSE, SPAN_OPEN, HALL_CLOSE, RESERVE_*
    event_group: np.ndarray  # int64
    # reserve pools: posts pool_first_post[p] + i * members + j (window i, member j)
    pool_first_post: np.ndarray  # (R,) int64
    pool_n_windows: np.ndarray  # (R,) int64
    pool_n_members: np.ndarray  # (R,) int64
    pool_cat_ptr: np.ndarray  # CSR: categories a pool serves and watches
    pool_cat_idx: np.ndarray
    pool_open_queue: np.ndarray  # (R,) int64 (a huge number when not a trigger)
    pool_open_wait: np.ndarray  # (R,) float64 minutes (inf when not a trigger)
    pool_close_queue: np.ndarray  # (R,) int64
    pool_close_wait: np.ndarray  # (R,) float64
    pool_delay: np.ndarray  # (R,) float64 minutes
    pool_ids: list[str]
    pool_minutes: np.ndarray  # (K, R) float64: window-minutes a pool can open on a day of a kind
    # deferred cases: back offices and pickup (see hallsim.engines.backoffice)
    deferred_share: np.ndarray  # (C,) float64
    deferred_office: np.ndarray  # (C,) int64, -1 for none
    deferred_pickup: np.ndarray  # (C,) bool
    office_staff: np.ndarray  # (O,) int64
    office_spans: list[np.ndarray]  # per office (K, k, 2): working spans on a day of each kind
    office_service: tuple[Distribution, ...]  # (O,)
    pickup_service: Distribution | None
    pickup_windows: int
    pickup_spans: np.ndarray  # (K, k, 2) minutes of day, on a day of each kind
    # appointments: bookings of slot k of appointment class booking_class[k]
    booking_class: np.ndarray  # (B,) int64 the appointment class of each slot with bookings
    booking_walk_in: np.ndarray  # (B,) int64 the class of a holder arriving late
    booking_minute: np.ndarray  # (B,) float64 slot start, minutes of day
    booking_count: np.ndarray  # (B,) int64 on a weekday factor of 1
    booking_early: np.ndarray  # (B,) float64
    booking_late: np.ndarray  # (B,) float64
    booking_grace: np.ndarray  # (B,) float64
    booking_no_show: np.ndarray  # (B,) float64
    plain_categories: bool  # no category has patience, a cap, balking or no-shows
    no_shows: bool  # some category has no-shows (then the inputs carry a uniform per ticket)
    staffed_minutes: np.ndarray  # (K,) window-minutes the posts (not the pools') are open
    max_post_periods: int = field(default=0)  # bound on open periods of all posts in a day

    def days(self, first: int, stop: int) -> CompiledHall:
        """The hall for days ``first`` to ``stop - 1`` of its calendar, as the days of a run
        of their own (day ``first`` becomes day 0, with its weekday and hours)."""
        return replace(
            self,
            n_days=stop - first,
            day_weekday=self.day_weekday[first:stop],
            day_kind=self.day_kind[first:stop],
        )

    @cached_property
    def category_posts(self) -> np.ndarray:
        """(C, P) bool: the posts that serve each ticket class."""
        return self.serves[self.post_group].T.copy()

    @cached_property
    def category_windows(self) -> np.ndarray:
        """(C, X) bool: the windows with a post that serves each ticket class."""
        at_window = np.zeros((self.n_posts, self.n_windows), dtype=bool)
        at_window[np.arange(self.n_posts), self.post_window] = True
        return (self.category_posts.astype(np.int64) @ at_window) > 0

    @cached_property
    def row_post_sets(self) -> tuple[np.ndarray, np.ndarray]:
        """The distinct sets of posts among those serving each ticket class and all posts
        (the statistics' rows: classes, then overall), (sets, P) bool, and each row's set:
        rows with one set (the categories of a department) share their sums."""
        return _distinct_rows(np.vstack([self.category_posts, np.ones(self.n_posts, dtype=bool)]))

    @cached_property
    def row_window_sets(self) -> tuple[np.ndarray, np.ndarray]:
        """The same for the windows serving each ticket class and any of them."""
        return _distinct_rows(np.vstack([self.category_windows, self.category_windows.any(axis=0)]))

    @cached_property
    def fcfs_groups(self) -> bool:
        """Whether every window group is an independent first-come-first-served queue.

        True when there is no reserve pool and no appointment, each category is served by
        exactly one group, no category has patience, a daily cap, balking or no-shows, the
        categories of a group share one priority, and every group calls by the FCFS rule and
        is open from opening to closing time (so no post waits for another); the fast engine
        then takes a specialised kernel.
        """
        return (
            self.n_pools == 0
            and bool(np.all(np.diff(self.cat_group_ptr) == 1))
            and not self.books
            and self.plain_categories
            and all(
                len(set(self.category_priority[self.serves[g]].tolist())) == 1
                for g in range(self.n_groups)
            )
            and bool(np.all(self.call_rule == CALL_FCFS))
            and all(self._whole_day_groups(kind) for kind in range(self.n_kinds))
        )

    def _whole_day_groups(self, kind: int) -> bool:
        """Whether on a day of ``kind`` every group has one span, the day's whole hours."""
        events = slice(self.event_ptr[kind], self.event_ptr[kind + 1])
        minute, what = self.event_minute[events], self.event_kind[events]
        return (
            what.size == 2 * self.n_groups
            and bool(np.all(minute[what == SPAN_OPEN] == self.kind_hours[kind, 0]))
            and bool(np.all(what[what != SPAN_OPEN] == HALL_CLOSE))
        )

    @cached_property
    def operations(self) -> bool:
        """Whether the hall uses reserve pools, appointments, caps, balking, no-shows, a call
        rule other than FCFS, or posts sharing a desk or staff member (the event loop compiles
        those steps only for such halls)."""
        return (
            self.n_pools > 0
            or self.books
            or self.balks
            or self.no_shows
            or bool(np.any(self.category_cap >= 0))
            or bool(np.any(self.call_rule != CALL_FCFS))
            or np.unique(self.post_window).size < self.n_posts  # posts share a desk
            or np.unique(staff := self.post_staff[self.post_staff >= 0]).size < staff.size
        )

    @cached_property
    def balks(self) -> bool:
        """Whether any category balks (then the inputs carry a uniform per ticket)."""
        return bool(self.balk_ptr[-1] > 0)

    @property
    def n_categories(self) -> int:
        return len(self.category_ids)

    @property
    def n_kinds(self) -> int:
        """Kinds of day (opening hours) of the calendar; kind 0 is the hall's own hours."""
        return len(self.kind_hours)

    @cached_property
    def open_days(self) -> np.ndarray:
        """The days the hall is open (not closed by the calendar)."""
        return np.flatnonzero(self.day_kind >= 0)

    @cached_property
    def day_hours(self) -> np.ndarray:
        """(days, 2) opening and closing minute of day of each day; NaN when closed."""
        hours = np.full((self.n_days, 2), np.nan)
        hours[self.open_days] = self.kind_hours[self.day_kind[self.open_days]]
        return hours

    def day_pieces(self) -> tuple[np.ndarray, np.ndarray]:
        """(days, pieces): where each arrival piece starts within each day's hours (minutes
        after the hall's opening) and how long it lasts there (0 when the hall is closed)."""
        hours = self.kind_hours[np.maximum(self.day_kind, 0)] - self.open_minute
        low = np.clip(self.rate_bounds[None, :-1], hours[:, :1], hours[:, 1:])
        high = np.clip(self.rate_bounds[None, 1:], hours[:, :1], hours[:, 1:])
        return low, np.where(self.day_kind[:, None] >= 0, high - low, 0.0)

    @property
    def n_scenario_categories(self) -> int:
        """Categories of the scenario (the first classes)."""
        return len(self.class_ptr) - 1

    @property
    def n_windows(self) -> int:
        return len(self.window_names)

    @property
    def n_posts(self) -> int:
        return len(self.post_group)

    @property
    def books(self) -> bool:
        """Whether any category takes appointments (then the inputs say who never came)."""
        return self.booking_class.size > 0

    @cached_property
    def defers(self) -> bool:
        """Whether any category sends deferred cases to a back office."""
        return bool(np.any(self.deferred_office >= 0))

    @property
    def n_offices(self) -> int:
        return len(self.office_staff)

    @property
    def n_pools(self) -> int:
        return len(self.pool_first_post)

    @property
    def n_groups(self) -> int:
        return len(self.group_count)

    def slot_bounds(self) -> np.ndarray:
        """Slot boundaries in minutes after opening, ``n_slots + 1`` values."""
        hours = self.close_minute - self.open_minute
        inner = np.minimum(np.arange(self.n_open_slots) * self.interval_min, hours)
        after = hours + np.arange(self.n_slots - self.n_open_slots + 1) * self.interval_min
        return np.concatenate([inner, after])


def _distinct_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a boolean matrix, in order of first appearance, and each row's
    number among them (a dictionary of the packed rows: ``np.unique(axis=0)`` sorts, tens of
    milliseconds for a thousand rows)."""
    numbers: dict[bytes, int] = {}
    number_of_row = np.array(
        [numbers.setdefault(row.tobytes(), len(numbers)) for row in np.packbits(rows, axis=1)],
        dtype=np.int64,
    )
    _, first = np.unique(number_of_row, return_index=True)  # each number's first row
    return rows[first], number_of_row


def _csr(rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(r) for r in rows])
    idx = np.array([x for r in rows for x in r], dtype=np.int64)
    return ptr, idx


# Kinds of ticket class, and the suffix of their ids
WALK_IN, PRIORITY, APPOINTMENT = range(3)
CLASS_SUFFIX = ("", ":priority", ":appointment")


def _classes(scenario: Scenario):
    """Ticket classes: every category (its walk-in tickets), then each category's priority
    class and appointment class. Per class: its category's spec, the category's index, its
    kind, its priority and its share of the category's walk-in arrival rate."""
    categories = scenario.categories
    rows = [
        (c, k, WALK_IN, c.priority, 1.0 - (c.priority_share.share if c.priority_share else 0.0))
        for k, c in enumerate(categories)
    ]
    for k, category in enumerate(categories):
        if category.priority_share is not None:
            share = category.priority_share
            rows.append((category, k, PRIORITY, share.priority, share.share))
        if category.appointments is not None:  # its tickets come from bookings
            rows.append((category, k, APPOINTMENT, category.appointments.priority, 0.0))
    return [list(column) for column in zip(*rows, strict=True)]


def _bookings(scenario: Scenario, specs: list[Category], class_category, kinds) -> dict:
    """The booking arrays: one entry per slot with bookings, of every appointment class."""
    hall = scenario.hall
    rows = []
    for k, (spec, c, kind) in enumerate(zip(specs, class_category, kinds, strict=True)):
        if kind != APPOINTMENT:
            continue
        booking = spec.appointments
        for slot, count in enumerate(booking.booked):
            if count:
                minute = hall.open_minute + slot * booking.slot_min
                rows.append(
                    (k, c, minute, count, booking.early_min, booking.late_min)
                    + (booking.grace_min, booking.no_show)
                )
    names = ("class", "walk_in", "minute", "count", "early", "late", "grace", "no_show")
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return {
        f"booking_{name}": np.array(column, dtype=np.int64 if j in (0, 1, 3) else float)
        for j, (name, column) in enumerate(zip(names, columns, strict=True))
    }


def _call_rules(
    scenario: Scenario,
    group_entry: list[int],
    served_rows: list[list[int]],
    classes_of: list[list[int]],
    class_priority: list[int],
):
    """Per group: its call rule's code, the rule's class list, the watched class and minutes
    (:meth:`hallsim.call_rules.CallFCFS.compiled` and the other rules').

    A category named in a rule stands for its ticket classes, highest priority first (each
    with the category's weight in a weighted rule); a threshold watches its walk-in class.
    Lists keep only what the group serves (staff skills and tidal blocks may narrow it); a
    threshold on a category the group does not serve leaves the FCFS rule."""
    ids = scenario.category_ids

    def classes(cid: str) -> list[int]:
        return sorted(classes_of[ids.index(cid)], key=lambda k: -class_priority[k])

    compiled = [
        scenario.windows[e].call.compiled(classes, ids.index, served)
        for e, served in zip(group_entry, served_rows, strict=True)
    ]
    return tuple([rule[k] for rule in compiled] for k in range(4))


def _working_spans(hours: list[list[str]] | None, kind_hours: np.ndarray) -> np.ndarray:
    """Sorted working spans on a day of each kind, minutes of day, shape (K, k, 2): ``hours``
    every day, or by default the day's hours."""
    if hours is None:
        return kind_hours[:, None, :].copy()
    spans = sorted((minutes_of_day(a), minutes_of_day(b)) for a, b in hours)
    return np.tile(np.array(spans, dtype=float).reshape(1, -1, 2), (len(kind_hours), 1, 1))


def _arrival_pieces(hall, specs: list[Category], class_share: list[float]):
    """The arrival pieces' boundaries (minutes after opening: every start of a reporting
    slot or of a category's rate interval, and the closing time) and each class's arrivals
    per minute in each piece, on a day of factor 1."""
    hours = hall.close_minute - hall.open_minute
    lengths = {hall.interval_min} | {
        spec.arrivals.rate_interval_min
        for spec in specs
        if spec.arrivals.rates_per_hour is not None and spec.arrivals.rate_interval_min
    }
    cuts = sorted({hours}.union(*(range(0, hours, length) for length in lengths)))
    bounds = np.array(cuts, dtype=float)
    rate = np.zeros((bounds.size - 1, len(specs)))
    for c, spec in enumerate(specs):
        arrivals = spec.arrivals
        if arrivals.rates_per_hour is not None:
            length = arrivals.rate_interval_min or hall.interval_min
            per_interval = np.asarray(arrivals.rates_per_hour) / 60.0 * class_share[c]
            rate[:, c] = per_interval[np.asarray(cuts[:-1]) // length]
        else:
            rate[:, c] = arrivals.rate_per_hour / 60.0 * class_share[c]
    return bounds, rate


def _calendar(hall) -> tuple[np.ndarray, np.ndarray]:
    """Each day's kind (-1 when closed) and each kind's opening and closing minute: kind 0
    is the hall's own hours, then the weekday hours that differ, Monday first."""
    kinds: list[tuple[int, int]] = [(hall.open_minute, hall.close_minute)]
    weekday_kind = np.full(7, -1, dtype=np.int64)
    for w, weekday in enumerate(WEEKDAYS):
        if weekday in hall.closed_weekdays:
            continue
        span = None if hall.hours is None else getattr(hall.hours, weekday)
        hours = kinds[0] if span is None else (minutes_of_day(span[0]), minutes_of_day(span[1]))
        if hours not in kinds:
            kinds.append(hours)
        weekday_kind[w] = kinds.index(hours)
    first = WEEKDAYS.index(hall.first_weekday)
    day_kind = weekday_kind[(first + np.arange(hall.days)) % 7]
    day_kind[hall.holidays] = -1
    return day_kind, np.array(kinds, dtype=float)


def _overlap(spans, hours: list[float]) -> float:
    """Minutes of ``spans`` within ``hours`` (opening and closing minute)."""
    return float(sum(max(0.0, min(b, hours[1]) - max(a, hours[0])) for a, b in spans))


def _schedule(group_spans, pool_hours, hours: list[float]) -> list[tuple[float, int, int]]:
    """The events of a day with ``hours``: each group's spans and each reserve pool's hours
    cut to them, sorted; a span that reaches the day's closing time ends with it."""
    events: list[tuple[float, int, int]] = []
    first, last = hours
    for g, spans in enumerate(group_spans):
        for start, end in spans:
            a, b = max(float(start), first), min(float(end), last)
            if a < b:
                events.append((a, SPAN_OPEN, g))
                events.append((b, HALL_CLOSE if b == last else SPAN_CLOSE, g))
    for p, (start, end) in enumerate(pool_hours):
        a, b = max(float(start), first), min(float(end), last)
        if a < b:
            events.append((a, RESERVE_START, p))
            events.append((b, RESERVE_END, p))
    return sorted(events)


def _reserve_posts(scenario: Scenario) -> list[Post]:
    """The posts of the reserve pools, opened by their triggers (no spans): window ``i``
    worked by member ``j``, for each pool in order."""
    posts = []
    member = len(scenario.member_names) - sum(pool.staff for pool in scenario.reserve)
    entries = scenario.window_entries
    for pool in scenario.reserve:
        served = scenario.resolve(pool.serves)
        for x in scenario.window_indices(pool.windows):
            window = scenario.windows[entries[x]]
            factors = tuple(scenario.factor(window, c) * scenario.speed(pool, c) for c in served)
            for j in range(pool.staff):
                posts.append(Post(x, entries[x], member + j, tuple(served), factors, ()))
        member += pool.staff
    return posts


def _groups(posts: list[Post]) -> list[list[Post]]:
    """Posts in groups that share everything but the window (and staff member): same
    ``[[windows]]`` entry, categories, factors and spans. Groups come in entry order, then by
    their first opening; a group's posts in window order."""
    groups: dict[tuple, list[Post]] = {}
    for post in posts:
        groups.setdefault((post.entry, post.served, post.factors, post.spans), []).append(post)
    ordered = sorted(groups.items(), key=lambda item: (item[0][0], item[0][3][0][0]))
    return [sorted(members, key=lambda post: post.window) for _, members in ordered]


def compile_scenario(scenario: Scenario) -> CompiledHall:
    """Flatten a validated :class:`~hallsim.scenario.Scenario` into arrays."""
    hall = scenario.hall
    n_open = hall.n_intervals
    n_slots = n_open + math.ceil(1440 / hall.interval_min)
    specs, class_category, kinds, class_priority, class_share = _classes(scenario)
    n_cat = len(specs)
    classes_of: list[list[int]] = [[] for _ in scenario.categories]
    for k, c in enumerate(class_category):
        classes_of[c].append(k)
    class_ptr, class_idx = _csr(classes_of)

    rate_bounds, rate = _arrival_pieces(hall, specs, class_share)
    weekday = np.ones((7, n_cat))
    for c, category in enumerate(specs):
        if category.arrivals.weekday_factors is not None:
            weekday[:, c] = category.arrivals.weekday_factors
    balk_ptr = np.cumsum(
        [0] + [0 if c.balking is None else len(c.balking.queue) for c in specs]
    ).astype(np.int64)
    balk_queue = np.array(
        [q for c in specs if c.balking is not None for q in c.balking.queue], dtype=float
    )
    balk_prob = np.array(
        [p for c in specs if c.balking is not None for p in c.balking.probability], dtype=float
    )
    first = WEEKDAYS.index(hall.first_weekday)
    day_weekday = (first + np.arange(hall.days)) % 7
    day_kind, kind_hours = _calendar(hall)

    plan = build_posts(scenario)[0]
    groups = _groups(plan) + [[post] for post in _reserve_posts(scenario)]
    posts = [post for group in groups for post in group]
    pool_sizes = [(len(scenario.window_indices(p.windows)), p.staff) for p in scenario.reserve]
    pool_posts = [windows * members for windows, members in pool_sizes]  # the last posts
    pool_first = len(posts) - sum(pool_posts) + np.cumsum([0, *pool_posts])[:-1]
    n_groups = len(groups)
    serves = np.zeros((n_groups, n_cat), dtype=np.bool_)
    factor = np.ones((n_groups, n_cat))
    served_rows = [[k for c in group[0].served for k in classes_of[c]] for group in groups]
    for g, group in enumerate(groups):
        for c, f in zip(group[0].served, group[0].factors, strict=True):
            serves[g, classes_of[c]] = True
            factor[g, classes_of[c]] = f
    pool_hours = [
        [minutes_of_day(t) for t in pool.hours or (hall.open, hall.close)]
        for pool in scenario.reserve
    ]
    group_spans = [group[0].spans for group in groups]
    schedules = [_schedule(group_spans, pool_hours, hours) for hours in kind_hours.tolist()]
    events = [event for schedule in schedules for event in schedule]
    group_entry = [group[0].entry for group in groups]
    group_cat_ptr, group_cat_idx = _csr(served_rows)
    call_rules, call_rows, call_category, call_after = _call_rules(
        scenario, group_entry, served_rows, classes_of, class_priority
    )
    call_ptr, call_idx = _csr(call_rows)
    serving_category, serving_group = np.nonzero(serves.T)  # by category, then group
    cat_group_ptr = np.concatenate([[0], np.cumsum(np.bincount(serving_category, minlength=n_cat))])
    cat_group_idx = serving_group.astype(np.int64)
    pool_cat_ptr, pool_cat_idx = _csr(
        [
            [k for c in scenario.resolve(pool.serves) for k in classes_of[c]]
            for pool in scenario.reserve
        ]
    )
    post_window = np.array([post.window for post in posts], dtype=np.int64)
    offices = [office.id for office in scenario.back_office]
    post_staff = np.array([post.member for post in posts], dtype=np.int64)
    pool_minutes = np.zeros((len(kind_hours), len(pool_hours)))
    for k, hours in enumerate(kind_hours.tolist()):
        for p, ((windows, members), (a, b)) in enumerate(zip(pool_sizes, pool_hours, strict=True)):
            pool_minutes[k, p] = min(windows, members) * _overlap([(a, b)], hours)
    return CompiledHall(
        n_days=hall.days,
        open_minute=float(hall.open_minute),
        close_minute=float(hall.close_minute),
        interval_min=float(hall.interval_min),
        n_open_slots=n_open,
        n_slots=n_slots,
        day_weekday=day_weekday.astype(np.int64),
        day_kind=day_kind,
        kind_hours=kind_hours,
        category_ids=[
            spec.id + CLASS_SUFFIX[kind] for spec, kind in zip(specs, kinds, strict=True)
        ],
        service=tuple(c.service for c in specs),
        patience=tuple(c.patience for c in specs),
        service_mean=np.array([c.service.mean for c in specs], dtype=float),
        class_category=np.array(class_category, dtype=np.int64),
        class_ptr=class_ptr,
        class_idx=class_idx,
        category_priority=np.array(class_priority, dtype=np.int64),
        category_cap=np.array(
            [-1 if c.daily_cap is None else c.daily_cap for c in specs], dtype=np.int64
        ),
        balk_ptr=balk_ptr,
        balk_queue=balk_queue,
        balk_prob=balk_prob,
        no_show_prob=np.array([0.0 if c.no_show is None else c.no_show.probability for c in specs]),
        no_show_lost=np.array([0.0 if c.no_show is None else c.no_show.lost_min for c in specs]),
        no_show_requeue=np.array(
            [c.no_show is not None and c.no_show.then == "requeue" for c in specs],
            dtype=np.bool_,
        ),
        rate_bounds=rate_bounds,
        rate_per_min=rate,
        weekday_factor=weekday,
        sla_wait_min=hall.sla_wait_min,
        entry_ids=[w.id for w in scenario.windows],
        window_names=scenario.window_names,
        window_entry=np.array(scenario.window_entries, dtype=np.int64),
        staff_names=scenario.member_names,
        post_group=np.repeat(np.arange(n_groups), [len(group) for group in groups]),
        post_window=post_window,
        post_staff=post_staff,
        group_first=np.cumsum([0] + [len(group) for group in groups[:-1]]).astype(np.int64),
        group_count=np.array([len(group) for group in groups], dtype=np.int64),
        group_ncat=serves.sum(axis=1).astype(np.int64),
        serves=serves,
        factor=factor,
        group_cat_ptr=group_cat_ptr,
        group_cat_idx=group_cat_idx,
        cat_group_ptr=cat_group_ptr,
        cat_group_idx=cat_group_idx,
        call_rule=np.array(call_rules, dtype=np.int64),
        call_ptr=call_ptr,
        call_idx=call_idx,
        call_category=np.array(call_category, dtype=np.int64),
        call_after=np.array(call_after, dtype=float),
        event_ptr=np.cumsum([0] + [len(schedule) for schedule in schedules]).astype(np.int64),
        event_minute=np.array([e[0] for e in events]),
        event_kind=np.array([e[1] for e in events], dtype=np.int64),
        event_group=np.array([e[2] for e in events], dtype=np.int64),
        pool_first_post=pool_first.astype(np.int64),
        pool_n_windows=np.array([w for w, _ in pool_sizes], dtype=np.int64),
        pool_n_members=np.array([m for _, m in pool_sizes], dtype=np.int64),
        pool_cat_ptr=pool_cat_ptr,
        pool_cat_idx=pool_cat_idx,
        pool_open_queue=np.array(
            [2**62 if p.open_queue is None else p.open_queue for p in scenario.reserve],
            dtype=np.int64,
        ),
        pool_open_wait=np.array(
            [np.inf if p.open_wait_min is None else p.open_wait_min for p in scenario.reserve],
            dtype=float,
        ),
        pool_close_queue=np.array([p.close_queue for p in scenario.reserve], dtype=np.int64),
        pool_close_wait=np.array([p.close_wait_min for p in scenario.reserve], dtype=float),
        pool_delay=np.array([p.delay_min for p in scenario.reserve], dtype=float),
        pool_ids=[p.id for p in scenario.reserve],
        pool_minutes=pool_minutes,
        deferred_share=np.array([0.0 if c.deferred is None else c.deferred.share for c in specs]),
        deferred_office=np.array(
            [-1 if c.deferred is None else offices.index(c.deferred.back_office) for c in specs],
            dtype=np.int64,
        ),
        deferred_pickup=np.array(
            [c.deferred is not None and c.deferred.pickup for c in specs], dtype=np.bool_
        ),
        **_bookings(scenario, specs, class_category, kinds),
        office_staff=np.array([o.staff for o in scenario.back_office], dtype=np.int64),
        office_spans=[_working_spans(o.hours, kind_hours) for o in scenario.back_office],
        office_service=tuple(o.service for o in scenario.back_office),
        pickup_service=None if scenario.pickup is None else scenario.pickup.service,
        pickup_windows=0 if scenario.pickup is None else scenario.pickup.windows,
        pickup_spans=_working_spans(
            None if scenario.pickup is None else scenario.pickup.hours, kind_hours
        ),
        plain_categories=all(
            c.patience is None and c.daily_cap is None and c.balking is None and c.no_show is None
            for c in scenario.categories
        ),
        no_shows=any(c.no_show is not None for c in scenario.categories),
        staffed_minutes=np.array(
            [sum(_overlap(post.spans, hours) for post in plan) for hours in kind_hours.tolist()],
            dtype=float,
        ),
        max_post_periods=sum(len(post.spans) for post in posts),
    )
