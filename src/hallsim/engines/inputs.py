"""The random inputs of one replication, drawn before any event happens.

Both engines consume a :class:`TicketInputs`; fed the same inputs they produce the same
tickets. :func:`draw_inputs` draws them from one ``numpy.random.Generator`` in a fixed order:

1. the number of tickets of each (day, arrival piece): Poisson with the piece's total rate
   times its minutes within the day's hours (none on a day the hall is closed);
2. unit exponential spacings that place them in the piece (sorted, no sort needed);
3. one uniform per ticket choosing its category in proportion to the piece's rates; then, if
   any category takes appointments, two uniforms per booking (day by day, slot by slot: the
   arrival within the early-late window, then whether the holder comes at all), and the
   booked tickets join the walk-ins in order of issue (walk-ins first at equal times);
4. base service times, category by category (tickets of a category in issue order);
5. patience, category by category, for categories that have one (others wait forever);
6. if any category balks, one uniform per ticket in issue order (it balks when the uniform is
   below its balking probability);
7. if any category has no-shows, one uniform per ticket in issue order (its holder is absent
   when first called if the uniform is below the category's no-show probability);
8. if any category defers cases to a back office: one uniform per ticket in issue order (a
   served ticket is deferred if it is below the category's share); back-office times,
   office by office (tickets of the categories it takes, in issue order); and with a pickup,
   pickup service times and one uniform per ticket (when a next-day pickup comes), both in
   issue order.

:func:`draw_seeded` draws many replications, each from its own generator in this order, as
one batch (replications laid end to end) that an engine runs in one call.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .. import _kernels, _streams
from .._kernels.inputs import SEARCH_CATEGORIES
from ..compile import CompiledHall
from ..distributions import Distribution, JointSampler, joint_sampler
from ..size import expected_tickets

__all__ = [
    "TicketInputs",
    "check_inputs",
    "deferred_draws",
    "draw_inputs",
    "day_spans",
    "draw_seeded",
    "draw_spans",
    "replication_generators",
    "replication_order",
]

# A batch of this many replications or more is drawn by numba (hallsim._streams). Its draws
# are faster whatever the batch (20 Panjin weeks in 0.8 ms against numpy's 2.2, the same of
# a hall of 995 lognormal items in 14 ms against 23), but a new process loads its kernels
# from the cache in 0.2 s (and the first run ever compiles them, about 4 s): not worth it
# for a few replications, such as the 10 of `hallsim run`
STREAM_BATCH = 16
# A replication of many days draws them in spans of consecutive days, each from a generator of
# its own, expecting about this many tickets (:func:`day_spans`): without its tickets kept, a
# long horizon then runs and is reduced span by span, in memory that does not grow with it
SPAN_TICKETS = 200_000
# per-ticket fields of TicketInputs, in the order of its fields (empty when not drawn)
TICKET_FIELDS = (
    "issued",
    "category",
    "service",
    "patience",
    "balk_draw",
    "absent_draw",
    "booked_absent",
    "deferred_draw",
    "office_service",
    "pickup_service",
    "pickup_draw",
)


@dataclass(frozen=True)
class TicketInputs:
    """Every random input of a replication, one entry per ticket in issue order.

    ``issued`` is in absolute minutes (day ``d`` spans ``[d * 1440, (d + 1) * 1440)`` plus
    overtime), ``service`` is the base service time before a window's factor, ``patience`` is
    ``inf`` for a citizen who never gives up, ``balk_draw`` the uniform a balking decision
    compares (empty when no category balks), ``absent_draw`` the uniform that decides a
    no-show (empty when no category has no-shows). Tickets of day ``d`` are
    ``day_ptr[d]:day_ptr[d + 1]``.

    A *batch* holds ``replications`` replications laid end to end: their tickets one
    replication after the other, and their days likewise (``day_ptr`` has ``replications x
    days + 1`` entries). Times stay those of each replication's own days, so day ``d`` of
    every replication spans the same minutes; :meth:`split` gives the replications back.
    """

    issued: np.ndarray
    category: np.ndarray
    service: np.ndarray
    patience: np.ndarray
    day_ptr: np.ndarray
    balk_draw: np.ndarray = field(default_factory=lambda: np.empty(0))
    absent_draw: np.ndarray = field(default_factory=lambda: np.empty(0))
    booked_absent: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.bool_))
    deferred_draw: np.ndarray = field(default_factory=lambda: np.empty(0))
    office_service: np.ndarray = field(default_factory=lambda: np.empty(0))
    pickup_service: np.ndarray = field(default_factory=lambda: np.empty(0))
    pickup_draw: np.ndarray = field(default_factory=lambda: np.empty(0))
    replications: int = 1

    @property
    def n_tickets(self) -> int:
        return int(self.issued.size)

    @property
    def n_days(self) -> int:
        """Days of each replication."""
        return (self.day_ptr.size - 1) // self.replications

    @property
    def ticket_ptr(self) -> np.ndarray:
        """Tickets of replication ``r`` are ``ticket_ptr[r]:ticket_ptr[r + 1]``."""
        return self.day_ptr[:: self.n_days]

    @property
    def day(self) -> np.ndarray:
        """Day of each ticket (in its replication)."""
        days = np.arange(self.day_ptr.size - 1) % self.n_days
        return np.repeat(days, np.diff(self.day_ptr))

    @property
    def replication(self) -> np.ndarray:
        """Replication of each ticket (its number in the batch)."""
        return np.repeat(np.arange(self.replications), np.diff(self.ticket_ptr))

    def split(self) -> list[TicketInputs]:
        """The replications of a batch, each as inputs of its own."""
        if self.replications == 1:
            return [self]
        ptr = self.ticket_ptr.tolist()
        days = self.n_days
        parts = []
        for r in range(self.replications):
            lo, hi = ptr[r], ptr[r + 1]
            fields = {}
            for name in TICKET_FIELDS:
                array = getattr(self, name)
                fields[name] = array[lo:hi] if array.size else array  # empty: not drawn
            day_ptr = self.day_ptr[r * days : (r + 1) * days + 1] - lo
            parts.append(TicketInputs(day_ptr=day_ptr, **fields))
        return parts

    def take(self, tickets: np.ndarray, day_ptr: np.ndarray) -> TicketInputs:
        """The inputs of ``tickets`` (ticket numbers of whole days, in order) as one run of
        the days that ``day_ptr`` delimits among them."""
        fields = {}
        for name in TICKET_FIELDS:
            array = getattr(self, name)
            fields[name] = array[tickets] if array.size else array  # empty: not drawn
        return TicketInputs(day_ptr=day_ptr, **fields)

    @classmethod
    def concatenate(cls, parts: Sequence[TicketInputs]) -> TicketInputs:
        """One batch of the replications of ``parts`` (batches themselves), in order."""
        if len(parts) == 1:
            return parts[0]
        fields = {name: np.concatenate([getattr(p, name) for p in parts]) for name in TICKET_FIELDS}
        offsets = np.cumsum([0] + [p.n_tickets for p in parts[:-1]])
        day_ptr = np.concatenate(
            [parts[0].day_ptr[:1]]
            + [p.day_ptr[1:] + o for p, o in zip(parts, offsets, strict=True)]
        )
        replications = sum(p.replications for p in parts)
        return cls(day_ptr=day_ptr, replications=replications, **fields)

    @classmethod
    def join_days(cls, parts: Sequence[TicketInputs], first_days: Sequence[int]) -> TicketInputs:
        """One batch of the days of ``parts``: batches of the same replications over
        consecutive spans of days, part ``k``'s first day being day ``first_days[k]`` (its
        times move by as many days)."""
        if len(parts) == 1:
            return parts[0]
        counts = np.stack([np.diff(p.ticket_ptr) for p in parts])  # (spans, replications)
        # one replication's spans follow each other already; several are interleaved
        order = None if counts.shape[1] == 1 else replication_order(counts)
        shift = np.repeat(1440.0 * np.asarray(first_days), counts.sum(axis=1))
        fields = {}
        for name in TICKET_FIELDS:
            joined = np.concatenate([getattr(p, name) for p in parts])
            if name == "issued":
                joined += shift  # each span's times from its own first day
            fields[name] = joined if order is None or not joined.size else joined[order]
        replications = parts[0].replications
        per_day = np.hstack([np.diff(p.day_ptr).reshape(replications, -1) for p in parts])
        day_ptr = np.concatenate([[0], np.cumsum(per_day)]).astype(np.int64)
        return cls(day_ptr=day_ptr, replications=replications, **fields)


def replication_order(counts: np.ndarray) -> np.ndarray:
    """Entries of a batch of replications laid out span after span, each span replication
    after replication (``counts[k, r]`` entries of replication ``r`` in span ``k``), in the
    order replication after replication, each replication span after span: the positions
    to take."""
    starts = (np.cumsum(counts) - counts.ravel()).reshape(counts.shape)
    sizes, starts = counts.T.ravel(), starts.T.ravel()  # blocks in the order wanted
    return np.repeat(starts - (np.cumsum(sizes) - sizes), sizes) + np.arange(sizes.sum())


def draw_inputs(hall: CompiledHall, rng: np.random.Generator) -> TicketInputs:
    """Draw the inputs of one replication of ``hall`` from ``rng`` (order in module doc),
    with numpy's samplers."""
    plan = _DrawPlan.planned(hall)
    return plan.assemble([plan.draw(rng)])


def draw_seeded(
    hall: CompiledHall, seed: int, first: int, stop: int, *, span: int = 0
) -> TicketInputs:
    """Replications ``first`` to ``stop - 1`` of :func:`hallsim.simulate` with ``seed``, as
    one batch: replication ``r`` draws from ``default_rng(SeedSequence(seed).spawn(n)[r])``
    (any ``n`` above ``r``) what :func:`draw_inputs` draws from it.

    That is the whole horizon of a hall of one span of days (:func:`day_spans`). A longer
    horizon is drawn span by span: ``span=k`` draws span ``k`` (``hall`` is then that span's
    days, ``CompiledHall.days``), replication ``r`` from ``SeedSequence(seed, spawn_key=(r,
    k))`` for ``k > 0``; :func:`draw_spans` joins them.

    A batch of :data:`STREAM_BATCH` replications or more, of distributions that
    :mod:`hallsim._streams` draws (all but ``empirical``), is drawn there: numba seeds the
    generators and draws each step of the draw order for the whole batch, value for value
    as numpy would. Otherwise only numpy's calls run in Python, replication by replication.
    Either way what the draws become (issue times, categories, durations in issue order) is
    worked out for the whole batch.
    """
    plan = _DrawPlan.planned(hall)
    if plan.forms is None or stop - first < STREAM_BATCH:
        generators = replication_generators(seed, first, stop, span=span)
        return plan.assemble([plan.draw(rng) for rng in generators])
    entropy = np.array(_words32(seed), dtype=np.uint64)
    return plan.draw_streams(_streams.seeded(entropy, _spawn_keys(first, stop, span)))


def draw_spans(hall: CompiledHall, seed: int, first: int, stop: int) -> TicketInputs:
    """Every day of replications ``first`` to ``stop - 1`` of ``hall`` with ``seed``, drawn span
    by span as :func:`draw_seeded` draws them, in one batch: numba's draws of a batch of
    spans joined, numpy's put in place span by span as they are drawn."""
    spans = day_spans(hall)
    if len(spans) == 1:
        return draw_seeded(hall, seed, first, stop)
    halls = [hall.days(a, b) for a, b in spans]
    plans = [_DrawPlan.planned(days) for days in halls]
    if plans[0].forms is not None and stop - first >= STREAM_BATCH:
        return TicketInputs.join_days(
            [draw_seeded(days, seed, first, stop, span=k) for k, days in enumerate(halls)],
            [a for a, _ in spans],
        )
    # numpy's: each span of each replication put in its place in the batch as it is drawn
    # (its draws still in cache), the batch's size known from the walk-ins, drawn first
    keys = [(r, k) for r in range(first, stop) for k in range(len(spans))]
    generators = {(r, k): replication_generators(seed, r, r + 1, span=k)[0] for r, k in keys}
    counts = {(r, k): generators[r, k].poisson(plans[k].expected) for r, k in keys}
    booked = [plan.bookings[0].size for plan in plans]
    sizes = [int(counts[r, k].sum()) + booked[k] for r, k in keys]
    ends = np.cumsum(sizes)
    fields: dict[str, np.ndarray] = {}
    day_tickets = []
    for (r, k), end, size in zip(keys, ends.tolist(), sizes, strict=True):
        plan = plans[k]
        part = plan.assemble([plan.draw(generators.pop((r, k)), counts[r, k])])
        part.issued[:] += 1440.0 * spans[k][0]  # a span's times are drawn from its own first day
        for name in TICKET_FIELDS:
            array = getattr(part, name)
            if array.size:  # drawn (and of tickets)
                if name not in fields:
                    fields[name] = np.empty(int(ends[-1]), dtype=array.dtype)
                fields[name][end - size : end] = array
        day_tickets.append(np.diff(part.day_ptr))
    for name in TICKET_FIELDS:  # not drawn, or no tickets
        fields.setdefault(name, getattr(part, name))
    return TicketInputs(
        day_ptr=np.concatenate([[0], np.cumsum(np.concatenate(day_tickets))]),
        replications=stop - first,
        **fields,
    )


def day_spans(hall: CompiledHall) -> list[tuple[int, int]]:
    """The spans of days a replication of ``hall`` draws (and, keeping no tickets, runs and
    reduces) one at a time, as (first day, day after the last): all its days when it expects
    at most :data:`SPAN_TICKETS` tickets, else spans of equal length (the last one shorter)
    that expect about that many each. A span's days are those of the calendar (weekdays,
    hours, holidays)."""
    total = expected_tickets(hall)
    if total <= SPAN_TICKETS:
        return [(0, hall.n_days)]
    days = max(1, math.floor(SPAN_TICKETS * hall.n_days / total))
    return [(a, min(a + days, hall.n_days)) for a in range(0, hall.n_days, days)]


def replication_generators(
    seed: int, first: int, stop: int, *, span: int = 0
) -> list[np.random.Generator]:
    """The generators of replications ``first`` to ``stop - 1`` with ``seed`` (those of
    ``SeedSequence(seed).spawn(n)``), or of their span ``span > 0`` of days (see
    :func:`draw_seeded`)."""
    return [
        np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(key)))
        for key in _spawn_keys(first, stop, span).tolist()
    ]


def _spawn_keys(first: int, stop: int, span: int) -> np.ndarray:
    """The spawn keys of replications ``first`` to ``stop - 1`` (their span ``span > 0``),
    one row each."""
    replications = np.arange(first, stop, dtype=np.uint64)[:, None]
    if span == 0:
        return replications
    return np.hstack([replications, np.full_like(replications, span)])


def _words32(value: int) -> list[int]:
    """A non-negative integer as numpy's SeedSequence reads it: 32-bit words, lowest
    first."""
    words = [value & 0xFFFFFFFF]
    while value >= 1 << 32:
        value >>= 32
        words.append(value & 0xFFFFFFFF)
    return words


# the draw plans of the last few compiled halls: {id(hall): (weak reference to it, plan)}
_PLANS: dict[int, tuple[weakref.ref, _DrawPlan]] = {}
_PLANS_KEPT = 8


class _Drawn(NamedTuple):
    """The draws of one replication, before they are put in issue order."""

    counts: np.ndarray  # walk-ins of each (day, slot) bucket
    issued: np.ndarray
    category: np.ndarray
    service: list[np.ndarray]  # by category, each in issue order (the runs of _DrawPlan)
    patience: list[np.ndarray]  # likewise, categories with patience only
    balk_draw: np.ndarray | None
    absent_draw: np.ndarray | None
    booked_absent: np.ndarray | None
    deferred: dict


@dataclass(frozen=True)
class _DrawPlan:
    """What the draws of every replication of a hall share, worked out once: the expected
    walk-ins of each (day, slot) bucket and where it lies, each bucket's cumulative category
    probabilities, the bookings, and the distributions as numpy samplers and in the forms of
    :mod:`hallsim._streams`. Draws a replication with numpy (:meth:`draw`) or a batch with
    numba (:meth:`draw_streams`).

    A *run* ``(first, stop, sampler)`` covers categories ``first..stop - 1``, neighbours with
    one distribution, or with distributions of one kind that draws value by value
    (``Distribution.elementwise``), which one call draws for all of them: numpy gives the
    same numbers as a call per category (a hall of 995 items makes a few calls, not 995).
    """

    hall: CompiledHall
    expected: np.ndarray  # (days x pieces,) walk-ins
    bucket_start: np.ndarray  # (days x slots,) absolute minutes
    bucket_len: np.ndarray
    cum_prob: np.ndarray  # (days x pieces, C)
    guide: np.ndarray  # where to look for a category in cum_prob (empty for a few)
    service: tuple[tuple[int, int, JointSampler], ...]
    patience: tuple[tuple[int, int, JointSampler], ...]
    has_patience: np.ndarray  # (C,) bool
    bookings: tuple[np.ndarray, np.ndarray]  # a replication's bookings: slot row, day
    forms: _Forms | None  # for hallsim._streams; None when it cannot draw them all

    @classmethod
    def planned(cls, hall: CompiledHall) -> _DrawPlan:
        """The plan of ``hall``, worked out on its first batch and kept for the others (the
        last few halls' plans are kept; a hall is recognised by identity, and compiled halls
        are frozen)."""
        kept = _PLANS.get(id(hall))
        if kept is not None and kept[0]() is hall:
            return kept[1]
        plan = cls.of(hall)
        if len(_PLANS) >= _PLANS_KEPT:
            _PLANS.pop(next(iter(_PLANS)))
        _PLANS[id(hall)] = (weakref.ref(hall), plan)
        return plan

    @classmethod
    def of(cls, hall: CompiledHall) -> _DrawPlan:
        start, length = hall.day_pieces()  # (days, pieces)
        days = np.arange(hall.n_days)
        rates = hall.rate_per_min[None, :, :] * hall.weekday_factor[hall.day_weekday][:, None, :]
        total_rate = rates.sum(axis=2)  # (days, pieces)
        with np.errstate(invalid="ignore", divide="ignore"):
            cum_prob = np.cumsum(rates, axis=2) / total_rate[:, :, None]
        cum_prob = cum_prob.reshape(-1, hall.n_categories)
        # from the last category with a positive rate on, nothing else may be chosen
        positive = rates.reshape(-1, hall.n_categories) > 0
        last = hall.n_categories - 1 - np.argmax(positive[:, ::-1], axis=1)
        cum_prob[np.arange(hall.n_categories)[None, :] >= last[:, None]] = 2.0
        return cls(
            hall=hall,
            expected=(total_rate * length).ravel(),
            bucket_start=(days[:, None] * 1440.0 + (hall.open_minute + start)).ravel(),
            bucket_len=length.ravel(),
            cum_prob=np.ascontiguousarray(cum_prob),
            guide=(
                _kernels.category_guide(cum_prob)
                if hall.n_categories > SEARCH_CATEGORIES
                else np.empty((0, 0), dtype=np.int32)
            ),
            service=_runs(hall.service),
            patience=_runs(hall.patience),
            has_patience=np.array([p is not None for p in hall.patience], dtype=bool),
            bookings=_booking_rows(hall),
            forms=_Forms.of(hall),
        )

    def draw(self, rng: np.random.Generator, counts: np.ndarray | None = None) -> _Drawn:
        """Every draw of one replication from ``rng``, in the order of the module doc
        (``counts``: its first, the walk-ins of each bucket, when drawn already)."""
        hall = self.hall
        if counts is None:
            counts = rng.poisson(self.expected)
        n = int(counts.sum())
        spacings = rng.standard_exponential(n + int(np.count_nonzero(counts)))
        issued, category, per_category = _kernels.walk_ins(
            counts,
            self.bucket_start,
            self.bucket_len,
            spacings,
            self.cum_prob,
            self.guide,
            rng.random(n),
        )
        booked_absent = None
        if hall.books:
            draws = rng.random((self.bookings[0].size, 2))
            issued, category, booked_absent, _ = _merge_bookings(
                hall, self.bookings, issued, category, np.zeros(n, dtype=np.int64), draws, 1
            )
            per_category = np.bincount(category, minlength=hall.n_categories)
        service = _draw_runs(rng, self.service, per_category)
        patience = _draw_runs(rng, self.patience, per_category)
        n = issued.size
        return _Drawn(
            counts,
            issued,
            category,
            service,
            patience,
            rng.random(n) if hall.balks else None,
            rng.random(n) if hall.no_shows else None,
            booked_absent,
            deferred_draws(hall, rng, category),
        )

    def assemble(self, parts: Sequence[_Drawn]) -> TicketInputs:
        """The batch of the replications drawn as ``parts``: durations put in issue order
        (each replication's are drawn by category) and the days' boundaries."""
        hall = self.hall
        n_cat = hall.n_categories
        issued = _joined([p.issued for p in parts])
        category = _joined([p.category for p in parts])
        n = issued.size
        day_ptr = self.day_ptr(np.stack([p.counts for p in parts]))
        # durations were drawn per replication and category, each category in issue order
        key = category
        if len(parts) > 1:
            key = np.repeat(np.arange(len(parts)) * n_cat, [p.issued.size for p in parts]) + key
        every = np.ones(len(parts) * n_cat, dtype=np.bool_)
        service = _kernels.in_issue_order(
            key, _joined([a for p in parts for a in p.service]), every, np.nan
        )
        patience = np.full(n, np.inf)
        if self.patience:
            has_patience = np.tile(self.has_patience, len(parts))
            drawn = _joined([a for p in parts for a in p.patience])
            patience = _kernels.in_issue_order(key, drawn, has_patience, np.inf)
        deferred = {}
        if hall.defers:
            deferred = {
                key: np.concatenate([p.deferred[key] for p in parts]) for key in parts[0].deferred
            }
        return TicketInputs(
            issued,
            category,
            service,
            patience,
            day_ptr,
            np.concatenate([p.balk_draw for p in parts]) if hall.balks else np.empty(0),
            np.concatenate([p.absent_draw for p in parts]) if hall.no_shows else np.empty(0),
            (
                np.concatenate([p.booked_absent for p in parts])
                if hall.books
                else np.empty(0, dtype=np.bool_)
            ),
            replications=len(parts),
            **deferred,
        )

    def day_ptr(self, counts: np.ndarray) -> np.ndarray:
        """Where each day of a batch starts among its tickets, from each replication's
        walk-ins per (day, slot) bucket (``counts``, one row a replication) and its
        bookings (booked tickets are issued on their day)."""
        hall = self.hall
        days = counts.reshape(counts.shape[0], hall.n_days, -1).sum(axis=2)
        days += np.bincount(self.bookings[1], minlength=hall.n_days)
        return np.concatenate([[0], np.cumsum(days)]).astype(np.int64)

    def draw_streams(self, cursors: np.ndarray) -> TicketInputs:
        """The batch drawn by :mod:`hallsim._streams` from the generators whose states are
        ``cursors`` (moved on as they draw): what :meth:`draw` and :meth:`assemble` give,
        value for value. The steps of the module doc, each one kernel call for the batch."""
        hall, forms = self.hall, self.forms
        batch = cursors.shape[0]
        issued, category, counts, ticket_ptr = _streams.walk_ins(
            cursors, self.expected, self.bucket_start, self.bucket_len, self.cum_prob, self.guide
        )
        replication = np.repeat(np.arange(batch), np.diff(ticket_ptr))
        booked_absent = np.empty(0, dtype=np.bool_)
        if hall.books:
            per_replication = np.full(batch, 2 * self.bookings[0].size)
            draws = _streams.uniforms(cursors, per_replication).reshape(-1, 2)
            issued, category, booked_absent, replication = _merge_bookings(
                hall, self.bookings, issued, category, replication, draws, batch
            )
            ticket_ptr = np.concatenate([[0], np.cumsum(np.bincount(replication, minlength=batch))])
        tickets = np.diff(ticket_ptr)

        def durations(key, form, missing):
            return _streams.durations(cursors, ticket_ptr, key, *form, missing)

        def uniforms():
            return _streams.uniforms(cursors, tickets)

        service = durations(category, forms.service, np.nan)
        patience = np.full(issued.size, np.inf)
        if self.patience:
            patience = durations(category, forms.patience, np.inf)
        balk_draw = uniforms() if hall.balks else np.empty(0)
        absent_draw = uniforms() if hall.no_shows else np.empty(0)
        deferred = {}
        if hall.defers:
            deferred["deferred_draw"] = uniforms()
            office = hall.deferred_office[category]
            deferred["office_service"] = durations(office, forms.office, np.nan)
            if hall.pickup_windows:
                everyone = np.zeros(issued.size, dtype=np.int64)
                deferred["pickup_service"] = durations(everyone, forms.pickup, np.nan)
                deferred["pickup_draw"] = uniforms()
        return TicketInputs(
            issued,
            category,
            service,
            patience,
            self.day_ptr(counts),
            balk_draw,
            absent_draw,
            booked_absent,
            replications=batch,
            **deferred,
        )


class _Forms(NamedTuple):
    """The distributions of a hall in the stream forms of :mod:`hallsim._streams`: (codes,
    first and second parameters), per category (service, patience), back office and the
    pickup."""

    service: tuple[np.ndarray, np.ndarray, np.ndarray]
    patience: tuple[np.ndarray, np.ndarray, np.ndarray]
    office: tuple[np.ndarray, np.ndarray, np.ndarray]
    pickup: tuple[np.ndarray, np.ndarray, np.ndarray]

    @classmethod
    def of(cls, hall: CompiledHall) -> _Forms | None:
        """None when some distribution has no stream form (or numba's ziggurat tables are
        missing: ``_streams.AVAILABLE``)."""
        if not _streams.AVAILABLE:
            return None
        pickup = [] if hall.pickup_service is None else [hall.pickup_service]
        forms = [
            _stream_forms(hall.service),
            _stream_forms(hall.patience),
            _stream_forms(hall.office_service),
            _stream_forms(pickup),
        ]
        return None if any(form is None for form in forms) else cls(*forms)


def _stream_forms(distributions: list[Distribution | None]):
    """The stream forms of ``distributions`` (None: no draw), or None if one has none."""
    forms = [(_streams.NONE, 0.0, 0.0) if d is None else d.stream_form() for d in distributions]
    if any(form is None for form in forms):
        return None
    code, a, b = zip(*forms, strict=True) if forms else ((), (), ())
    return (
        np.array(code, dtype=np.int64),
        np.array(a, dtype=np.float64),
        np.array(b, dtype=np.float64),
    )


def _runs(distributions: list[Distribution | None]) -> tuple[tuple[int, int, JointSampler], ...]:
    """Runs of neighbouring categories that one call may draw for (see :class:`_DrawPlan`):
    of one distribution, or of one kind that draws value by value with their own
    parameters (:func:`hallsim.distributions.joint_sampler`); categories without a
    distribution (``None``) draw nothing."""
    runs: list[list] = []
    previous = None
    for c, distribution in enumerate(distributions):
        if distribution is None:
            previous = None
            continue
        joins = previous is not None and (
            distribution == previous
            or (distribution.elementwise and type(distribution) is type(previous))
        )
        if joins:
            runs[-1][1] = c + 1
        else:
            runs.append([c, c + 1])
        previous = distribution
    return tuple((a, b, joint_sampler(distributions[a:b])) for a, b in runs)


def _draw_runs(rng: np.random.Generator, runs, sizes: np.ndarray) -> list[np.ndarray]:
    """One replication's draws of ``runs``, ``sizes[c]`` values for category ``c``."""
    drawn = []
    for first, stop, sampler in runs:
        if sizes[first:stop].any():
            drawn.append(sampler(rng, sizes[first:stop]))
    return drawn


def _joined(arrays: list[np.ndarray]) -> np.ndarray:
    """The arrays one after the other (no copy of a single one)."""
    if len(arrays) == 1:
        return arrays[0]
    return np.concatenate(arrays) if arrays else np.empty(0)


def deferred_draws(hall: CompiledHall, rng: np.random.Generator, category: np.ndarray) -> dict:
    """Step 8 of the module doc: the deferred cases' draws for tickets of ``category`` (in
    issue order), as keyword arguments of :class:`TicketInputs` (none without a back
    office)."""
    if not hall.defers:
        return {}
    n = category.size
    draws = {"deferred_draw": rng.random(n)}
    office = hall.deferred_office[category]
    office_service = np.full(n, np.nan)
    for o, service in enumerate(hall.office_service):
        mine = office == o
        office_service[mine] = service.sample(rng, int(mine.sum()))
    draws["office_service"] = office_service
    if hall.pickup_windows:
        draws["pickup_service"] = hall.pickup_service.sample(rng, n)
        draws["pickup_draw"] = rng.random(n)
    return draws


def _booking_rows(hall: CompiledHall) -> tuple[np.ndarray, np.ndarray]:
    """The bookings of a replication in the order they are drawn (day by day, slot by slot):
    the row of each (its slot of ``hall.booking_*``) and its day. A day takes the bookings of
    the slots that start within its hours (none when the hall is closed)."""
    days = np.arange(hall.n_days)
    factor = hall.weekday_factor[hall.day_weekday][:, hall.booking_class]  # (days, slots)
    counts = np.rint(hall.booking_count[None, :] * factor).astype(np.int64)
    with np.errstate(invalid="ignore"):  # NaN hours: closed
        taken = (hall.booking_minute[None, :] >= hall.day_hours[:, :1]) & (
            hall.booking_minute[None, :] < hall.day_hours[:, 1:]
        )
    counts = np.where(taken, counts, 0).ravel()
    row = np.repeat(np.tile(np.arange(hall.booking_class.size), hall.n_days), counts)
    day = np.repeat(np.repeat(days, hall.booking_class.size), counts)
    return row, day


def _with_bookings(hall: CompiledHall, rng: np.random.Generator, issued, category):
    """One replication's walk-in tickets with its booked ones merged in, in order of issue,
    and which booked holders never came (see :class:`~hallsim.scenario.Appointments`)."""
    rows = _booking_rows(hall)
    draws = rng.random((rows[0].size, 2))
    replication = np.zeros(issued.size, dtype=np.int64)
    return _merge_bookings(hall, rows, issued, category, replication, draws, 1)[:3]


def _merge_bookings(hall: CompiledHall, rows, issued, category, replication, draws, batch: int):
    """The walk-in tickets of a batch (with their ``replication``) and each replication's
    booked tickets (``rows``; ``draws``: two uniforms per booking, replication after
    replication), merged in order of replication and issue (walk-ins first at equal
    times): issue times, ticket classes, whether the holder never came, replications."""
    row, day = np.tile(rows[0], batch), np.tile(rows[1], batch)
    slot = day * 1440.0 + hall.booking_minute[row]
    early, late = hall.booking_early[row], hall.booking_late[row]
    hours = hall.day_hours[day]  # open days only: a closed day takes no bookings
    arrive = np.clip(
        slot - early + draws[:, 0] * (early + late),
        day * 1440.0 + hours[:, 0],
        np.nextafter(day * 1440.0 + hours[:, 1], -np.inf),
    )
    absent = draws[:, 1] < hall.booking_no_show[row]
    on_time = arrive <= slot + hall.booking_grace[row]
    booked_issued = np.where(absent, slot, arrive)
    booked_class = np.where(absent | on_time, hall.booking_class[row], hall.booking_walk_in[row])
    merged = np.concatenate([issued, booked_issued])
    replications = np.concatenate([replication, np.repeat(np.arange(batch), rows[0].size)])
    order = np.lexsort((merged, replications))  # stable: walk-ins first at equal times
    flags = np.concatenate([np.zeros(issued.size, dtype=np.bool_), absent])
    classes = np.concatenate([category, booked_class])
    return merged[order], classes[order], flags[order], replications[order]


def check_inputs(hall: CompiledHall, inputs: TicketInputs) -> None:
    """Raise ``ValueError`` naming the first field that an engine cannot consume.

    Guards the kernels against inputs built by hand (extensions, tests): wrong shapes or
    dtypes, unsorted or out-of-hours issue times, unknown categories, negative durations.
    """
    n = inputs.issued.size
    for name, dtype in (
        ("issued", np.float64),
        ("category", np.int64),
        ("service", np.float64),
        ("patience", np.float64),
    ):
        array = getattr(inputs, name)
        if not isinstance(array, np.ndarray) or array.dtype != dtype or array.shape != (n,):
            raise ValueError(
                f"inputs.{name}: must be a {np.dtype(dtype).name} array of shape ({n},) "
                f"(got {type(array).__name__} {getattr(array, 'dtype', '')} "
                f"{getattr(array, 'shape', '')})"
            )
    absent = inputs.booked_absent
    if not (
        isinstance(absent, np.ndarray)
        and absent.dtype == np.bool_
        and (absent.shape == (n,) or (absent.shape == (0,) and not hall.books))
    ):
        raise ValueError(
            f"inputs.booked_absent: must be a bool array of shape ({n},)"
            + ("" if hall.books else " or empty")
            + f" (got {getattr(absent, 'shape', type(absent).__name__)})"
        )
    pickup = hall.defers and hall.pickup_windows > 0
    for name, needed in (
        ("balk_draw", hall.balks),
        ("absent_draw", hall.no_shows),
        ("deferred_draw", hall.defers),
        ("office_service", hall.defers),
        ("pickup_service", pickup),
        ("pickup_draw", pickup),
    ):
        draws = getattr(inputs, name)
        if not (
            isinstance(draws, np.ndarray)
            and draws.dtype == np.float64
            and (draws.shape == (n,) or (draws.shape == (0,) and not needed))
        ):
            raise ValueError(
                f"inputs.{name}: must be a float64 array of shape ({n},)"
                + ("" if needed else " or empty")
                + f" (got {getattr(draws, 'shape', type(draws).__name__)})"
            )
    ptr = inputs.day_ptr
    days = inputs.replications * hall.n_days
    if ptr.shape != (days + 1,) or ptr[0] != 0 or ptr[-1] != n or np.any(np.diff(ptr) < 0):
        raise ValueError(f"inputs.day_ptr: must rise from 0 to {n} in {days + 1} steps (got {ptr})")
    if n == 0:
        return
    day = inputs.day
    offset = inputs.issued - day * 1440.0
    hours = hall.day_hours[day]  # NaN on a closed day: no ticket is within its hours
    bad = np.flatnonzero(~((offset >= hours[:, 0]) & (offset < hours[:, 1])))
    if bad.size:
        i = bad[0]
        raise ValueError(
            f"inputs.issued[{i}]: not within day {day[i]}'s hours (got {inputs.issued[i]})"
        )
    falls = np.diff(inputs.issued) < 0
    starts = inputs.ticket_ptr[1:-1]
    falls[starts[(starts > 0) & (starts < n)] - 1] = False  # each replication starts again
    if np.any(falls):
        i = int(np.flatnonzero(falls)[0]) + 1
        raise ValueError(
            f"inputs.issued[{i}]: issue times must not decrease (got {inputs.issued[i]})"
        )
    for name, values, low, high in (
        ("category", inputs.category, 0, hall.n_categories - 1),
        ("service", inputs.service, 0.0, np.finfo(float).max),
        ("patience", inputs.patience, 0.0, np.inf),
    ):
        bad = np.flatnonzero(~((values >= low) & (values <= high)))
        if bad.size:
            i = bad[0]
            raise ValueError(f"inputs.{name}[{i}]: must be in [{low}, {high}] (got {values[i]})")
