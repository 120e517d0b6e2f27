"""The random inputs of one replication, drawn before any event happens.

Both engines consume a :class:`TicketInputs`; fed the same inputs they produce the same
tickets. :func:`draw_inputs` draws them from one ``numpy.random.Generator`` in a fixed order:

1. the number of tickets of each (day, reporting slot): Poisson with the slot's total rate;
2. unit exponential spacings that place them in the slot (sorted, no sort needed);
3. one uniform per ticket choosing its category in proportion to the slot's rates; then, if
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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import _kernels
from ..compile import CompiledHall

__all__ = ["TicketInputs", "check_inputs", "deferred_draws", "draw_inputs"]


@dataclass(frozen=True)
class TicketInputs:
    """Every random input of a replication, one entry per ticket in issue order.

    ``issued`` is in absolute minutes (day ``d`` spans ``[d * 1440, (d + 1) * 1440)`` plus
    overtime), ``service`` is the base service time before a window's factor, ``patience`` is
    ``inf`` for a citizen who never gives up, ``balk_draw`` the uniform a balking decision
    compares (empty when no category balks), ``absent_draw`` the uniform that decides a
    no-show (empty when no category has no-shows). Tickets of day ``d`` are
    ``day_ptr[d]:day_ptr[d + 1]``.
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

    @property
    def n_tickets(self) -> int:
        return int(self.issued.size)

    @property
    def day(self) -> np.ndarray:
        """Day of each ticket."""
        return np.repeat(np.arange(self.day_ptr.size - 1), np.diff(self.day_ptr))


def draw_inputs(hall: CompiledHall, rng: np.random.Generator) -> TicketInputs:
    """Draw the inputs of one replication of ``hall`` from ``rng`` (order in module doc)."""
    bounds = hall.slot_bounds()[: hall.n_open_slots + 1]
    slot_start = hall.open_minute + bounds[:-1]
    slot_len = np.diff(bounds)
    days = np.arange(hall.n_days)
    rates = hall.rate_per_min[None, :, :] * hall.weekday_factor[hall.day_weekday][:, None, :]
    total_rate = rates.sum(axis=2)  # (days, slots)

    counts = rng.poisson(total_rate * slot_len[None, :]).ravel()
    n = int(counts.sum())
    bucket_start = (days[:, None] * 1440.0 + slot_start[None, :]).ravel()
    bucket_len = np.broadcast_to(slot_len, total_rate.shape).ravel().copy()
    spacings = rng.standard_exponential(n + int(np.count_nonzero(counts)))
    issued = np.empty(n)
    _kernels.arrival_times(counts, bucket_start, bucket_len, spacings, issued)

    with np.errstate(invalid="ignore", divide="ignore"):
        cum_prob = np.cumsum(rates, axis=2) / total_rate[:, :, None]
    cum_prob = cum_prob.reshape(-1, hall.n_categories)
    # from the last category with a positive rate on, nothing else may be chosen
    positive = rates.reshape(-1, hall.n_categories) > 0
    last = hall.n_categories - 1 - np.argmax(positive[:, ::-1], axis=1)
    cum_prob[np.arange(hall.n_categories)[None, :] >= last[:, None]] = 2.0
    category = np.empty(n, dtype=np.int64)
    _kernels.assign_categories(counts, np.ascontiguousarray(cum_prob), rng.random(n), category)

    booked_absent = np.empty(0, dtype=np.bool_)
    if hall.books:
        issued, category, booked_absent = _with_bookings(hall, rng, issued, category)
        n = issued.size
    order, ptr = _kernels.order_by_category(category, hall.n_categories)
    categories = hall.category_spec
    drawn = np.empty(n)
    for c, spec in enumerate(categories):
        drawn[ptr[c] : ptr[c + 1]] = spec.service.sample(rng, ptr[c + 1] - ptr[c])
    service = np.empty(n)
    service[order] = drawn
    patience = np.full(n, np.inf)
    if any(spec.patience is not None for spec in categories):
        drawn[:] = np.inf
        for c, spec in enumerate(categories):
            if spec.patience is not None:
                drawn[ptr[c] : ptr[c + 1]] = spec.patience.sample(rng, ptr[c + 1] - ptr[c])
        patience[order] = drawn

    balk_draw = rng.random(n) if hall.balks else np.empty(0)
    absent_draw = rng.random(n) if hall.no_shows else np.empty(0)
    if hall.books:
        day_counts = np.bincount((issued // 1440.0).astype(np.int64), minlength=hall.n_days)
    else:
        day_counts = counts.reshape(hall.n_days, hall.n_open_slots).sum(axis=1)
    day_ptr = np.concatenate([[0], np.cumsum(day_counts)]).astype(np.int64)
    deferred = deferred_draws(hall, rng, category)
    return TicketInputs(
        issued,
        category,
        service,
        patience,
        day_ptr,
        balk_draw,
        absent_draw,
        booked_absent,
        **deferred,
    )


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
    for o, spec in enumerate(hall.scenario.back_office):
        mine = office == o
        office_service[mine] = spec.service.sample(rng, int(mine.sum()))
    draws["office_service"] = office_service
    if hall.pickup_windows:
        draws["pickup_service"] = hall.scenario.pickup.service.sample(rng, n)
        draws["pickup_draw"] = rng.random(n)
    return draws


def _with_bookings(hall: CompiledHall, rng: np.random.Generator, issued, category):
    """The walk-in tickets with the booked ones merged in, in order of issue, and which
    booked holders never came (see :class:`~hallsim.scenario.Appointments`)."""
    days = np.arange(hall.n_days)
    factor = hall.weekday_factor[hall.day_weekday][:, hall.booking_class]  # (days, slots)
    counts = np.rint(hall.booking_count[None, :] * factor).astype(np.int64).ravel()
    row = np.repeat(np.tile(np.arange(hall.booking_class.size), hall.n_days), counts)
    day = np.repeat(np.repeat(days, hall.booking_class.size), counts)
    draws = rng.random((row.size, 2))
    slot = day * 1440.0 + hall.booking_minute[row]
    early, late = hall.booking_early[row], hall.booking_late[row]
    arrive = np.clip(
        slot - early + draws[:, 0] * (early + late),
        day * 1440.0 + hall.open_minute,
        np.nextafter(day * 1440.0 + hall.close_minute, -np.inf),
    )
    absent = draws[:, 1] < hall.booking_no_show[row]
    on_time = arrive <= slot + hall.booking_grace[row]
    booked_issued = np.where(absent, slot, arrive)
    booked_class = np.where(absent | on_time, hall.booking_class[row], hall.booking_walk_in[row])
    merged = np.concatenate([issued, booked_issued])
    order = np.argsort(merged, kind="stable")  # walk-ins first at equal times
    flags = np.concatenate([np.zeros(issued.size, dtype=np.bool_), absent])
    return merged[order], np.concatenate([category, booked_class])[order], flags[order]


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
    if ptr.shape != (hall.n_days + 1,) or ptr[0] != 0 or ptr[-1] != n or np.any(np.diff(ptr) < 0):
        raise ValueError(
            f"inputs.day_ptr: must rise from 0 to {n} in {hall.n_days + 1} steps (got {ptr})"
        )
    if n == 0:
        return
    day = inputs.day
    offset = inputs.issued - day * 1440.0
    bad = np.flatnonzero(~((offset >= hall.open_minute) & (offset < hall.close_minute)))
    if bad.size:
        i = bad[0]
        raise ValueError(
            f"inputs.issued[{i}]: not within day {day[i]}'s hours (got {inputs.issued[i]})"
        )
    if np.any(np.diff(inputs.issued) < 0):
        i = int(np.flatnonzero(np.diff(inputs.issued) < 0)[0]) + 1
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
