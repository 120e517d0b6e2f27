"""Trace replay: a hall simulated on the real tickets of its log.

``hallsim.simulate(scenario, arrivals=log, service="logged")`` replaces the scenario's
arrival process by the tickets of a ticket log (:mod:`hallsim.logs`): their issue times and
categories, and as much of each ticket's own randomness as the log shows. The engines are
unchanged; :class:`LogReplay` only builds their :class:`~hallsim.engines.inputs.TicketInputs`
from the log instead of drawing them. So a simulated hall, written as a log with
``Results.to_log()`` and replayed through the same scenario, gives back every ticket's
called, start and end times, window and outcome; replayed through another layout it answers
"what would these very citizens have met there?".

**Days.** Day 0 is the log's first date and the run spans ``last - first + 1`` days (dates
without tickets are empty days); the hall's ``first_weekday`` is that of the first date. The
scenario's ``closed_weekdays`` and weekday ``hours`` apply to the log's dates; its
``holidays`` (day numbers of its own run) do not. A ticket issued outside its day's opening
hours (or on a closed weekday), or of a category the scenario does not know, is an error
(``categories=`` maps the log's categories to the scenario's; a class ``X:priority`` or
``X:appointment`` maps to that class of the category ``X`` maps to).

**What the log fixes, by logged outcome** (everything else is drawn from the replication's
generator, so replications vary only in what the log leaves open):

=============  ===============================  ==============  ============  ===============
outcome        patience                         holder absent   balks         base service
=============  ===============================  ==============  ============  ===============
served         drawn longer than its wait (1)   no (2)          no            logged (3)
abandoned      logged ``end - issued``          yes if called   no            drawn
no_show        drawn longer than its wait (1)   yes (4)         no            drawn
balked         drawn                            drawn           yes (5)       drawn
capped         drawn                            drawn           drawn         drawn
in_system      drawn longer than its wait (6)   yes if called   no            drawn
unknown (7)    drawn                            drawn           drawn         drawn
=============  ===============================  ==============  ============  ===============

(1) From the scenario's patience distribution *conditioned on exceeding the wait seen* (from
    issue to the last call), by inverse CDF: :func:`patience_beyond`. A wait the
    distribution cannot exceed (beyond a uniform's upper end, say) gives a patience that
    never runs out, and a warning in ``Results.warnings``.
(2) Its absent draw is 1, so the holder is there when first called; except, in a category
    whose no-shows requeue, a served ticket whose service began at least the recall time
    (``recall_min * (1 + recalls)``) after its first call: its holder was absent then.
(3) ``(end - start)`` divided by the factor the engine applies at the window and staff member
    that served it (the window's ``generalist_factor`` times the staff's ``speed``), so the
    same window gives back the logged duration and a faster one a shorter one. A window or
    staff member the scenario does not have (after ``windows=``) is fine when every window
    (staff member) that serves the category applies one factor (speed) to it; otherwise it
    is an error. Tickets without a logged duration draw theirs. ``service="drawn"``: all
    drawn.
(4) Its absent draw is 0. A no-show that was never called (a booked holder who never came,
    in a scenario with appointments) leaves at its issue time, as the engines do for booked
    tickets (``booked_absent``).
(5) Its balking draw is 0: it balks again whenever the queue it finds gives balking any
    chance. Tickets that joined the queue have balking draw 1 (they never balk); capped
    tickets never reached the decision and draw theirs.
(6) Its wait is counted up to the last time the log shows on that day.
(7) A ticket without an outcome has one inferred from its times: a start means served; an
    end after a call, no_show; an end later than issue, abandoned; an end at issue, balked;
    a call and no end, in_system. A ticket with neither outcome nor times beyond its issue
    (a log of arrivals only) leaves everything but its issue time and class to the draws.

Abandoned tickets keep their logged patience even in a category to which the scenario gives
no patience (the log shows it); other tickets of such categories never give up.

**Appointments and caps.** Booked tickets are the log's tickets of class ``X:appointment``
(and its no-shows that were never called): no booked tickets are drawn. The scenario's
daily caps apply to the log's tickets as they come. Deferred cases, back-office and pickup
times are drawn as in a simulation.

**Draws of replication r**, from ``numpy.random.default_rng(SeedSequence(seed).spawn(R)[r])``
in this order: base service times of the tickets without a logged one, class by class (in
issue order); one uniform per ticket whose patience is drawn (in issue order) for the inverse
CDF; if any category balks, one uniform per ticket; if any has no-shows, one uniform per
ticket (then the log's fixed values replace the drawn ones); the deferred cases' draws as in
:func:`~hallsim.engines.inputs.draw_inputs`. The built inputs pass
:func:`~hallsim.engines.inputs.check_inputs` before any engine runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from .clock import clock
from .compile import (
    ABANDONED,
    APPOINTMENT,
    BALKED,
    CAPPED,
    CLASS_SUFFIX,
    IN_SYSTEM,
    NO_SHOW,
    OUTCOMES,
    PRIORITY,
    SERVED,
    CompiledHall,
    compile_scenario,
)
from .distributions import (
    Deterministic,
    Distribution,
    Empirical,
    Exponential,
    Gamma,
    Lognormal,
    Uniform,
)
from .engines.inputs import TicketInputs, check_inputs, deferred_draws
from .errors import LogError
from .logs import LOG_COLUMNS, REQUIRED_COLUMNS, TIME_COLUMNS, TicketLog
from .scenario import WEEKDAYS, Hall, Scenario

__all__ = ["SERVICE_SOURCES", "LogReplay", "patience_beyond", "prepare_replay"]

SERVICE_SOURCES = ("logged", "drawn")
NS_PER_MIN = 60_000_000_000
NS_PER_DAY = 1440 * NS_PER_MIN
FACTOR_TOLERANCE = 1e-12  # factors closer than this (relative) are one factor
UNKNOWN = -1  # the outcome of a ticket whose log shows only its issue


@dataclass(frozen=True, eq=False)
class LogReplay:
    """A ticket log made ready to replay through a scenario (see the module doc).

    Per ticket, in order of issue (the log's rows sorted by ``issued``, ties in log order):
    what the log fixes, with NaN where a replication draws it.

    Attributes
    ----------
    scenario : Scenario
        The scenario the log is replayed through, its ``days`` and ``first_weekday`` set
        from the log's dates.
    hall : CompiledHall
        That scenario compiled.
    first_date : pandas.Timestamp
        The date of day 0.
    ticket : pandas.Series
        The log's ticket ids.
    issued : numpy.ndarray
        Issue times, minutes since the first date's midnight.
    category : numpy.ndarray
        Ticket class (index into ``hall.category_ids``).
    day_ptr : numpy.ndarray
        Tickets of day ``d`` are ``day_ptr[d]:day_ptr[d + 1]``.
    service : numpy.ndarray
        Base service time (before the window's factor); NaN: drawn.
    patience : numpy.ndarray
        Fixed patience (``inf``: never gives up); NaN: drawn by :func:`patience_beyond`.
    waited : numpy.ndarray
        The wait a drawn patience must exceed; ``-inf``: drawn unconditionally.
    balk_draw, absent_draw : numpy.ndarray
        Fixed balking and absence draws (0 or 1); NaN: drawn.
    booked_absent : numpy.ndarray
        Booked holders who never came (bool).
    warnings : list of str
        What the replay could not follow the scenario in, for ``Results.warnings``.
    """

    scenario: Scenario
    hall: CompiledHall
    first_date: pd.Timestamp
    ticket: pd.Series
    issued: np.ndarray
    category: np.ndarray
    day_ptr: np.ndarray
    service: np.ndarray
    patience: np.ndarray
    waited: np.ndarray
    balk_draw: np.ndarray
    absent_draw: np.ndarray
    booked_absent: np.ndarray
    warnings: list[str] = field(default_factory=list)
    _groups: dict = field(default_factory=dict, init=False, repr=False)  # see _to_draw

    @property
    def n_tickets(self) -> int:
        return int(self.issued.size)

    def _to_draw(self, name: str) -> list[tuple[int, np.ndarray]]:
        """Per class, the tickets (in issue order) whose ``name`` a replication draws: the
        same in every replication, so found once."""
        groups = self._groups
        if name not in groups:
            tickets = np.flatnonzero(np.isnan(getattr(self, name)))
            classes = self.category[tickets]
            # a stable sort of 16-bit keys is a radix sort: linear in the tickets
            order = tickets[np.argsort(classes.astype(np.int16), kind="stable")]
            ptr = np.cumsum(np.bincount(classes, minlength=self.hall.n_categories))
            groups[name] = [
                (c, part) for c, part in enumerate(np.split(order, ptr[:-1])) if part.size
            ]
        return groups[name]

    def inputs(self, rng: np.random.Generator) -> TicketInputs:
        """The inputs of one replication: the log's tickets, the rest drawn from ``rng`` (in
        the order of the module doc), checked by
        :func:`~hallsim.engines.inputs.check_inputs`."""
        hall = self.hall
        category = self.category
        service = self.service.copy()
        for c, tickets in self._to_draw("service"):
            service[tickets] = hall.service[c].sample(rng, tickets.size)
        patience = self.patience.copy()
        drawn = np.isnan(patience)
        if drawn.any():
            uniforms = np.full(patience.size, np.nan)
            uniforms[drawn] = rng.random(int(drawn.sum()))
            for c, tickets in self._to_draw("patience"):
                patience[tickets] = patience_beyond(
                    hall.patience[c], self.waited[tickets], uniforms[tickets]
                )

        balk_draw = _fixed_or_drawn(rng, self.balk_draw) if hall.balks else np.empty(0)
        absent_draw = _fixed_or_drawn(rng, self.absent_draw) if hall.no_shows else np.empty(0)
        inputs = TicketInputs(
            self.issued,
            category,
            service,
            patience,
            self.day_ptr,
            balk_draw,
            absent_draw,
            self.booked_absent if hall.books else np.empty(0, dtype=np.bool_),
            **deferred_draws(hall, rng, category),
        )
        check_inputs(hall, inputs)
        return inputs


def _fixed_or_drawn(rng: np.random.Generator, fixed: np.ndarray) -> np.ndarray:
    """One uniform per ticket, replaced by the fixed value where there is one."""
    drawn = rng.random(fixed.size)
    return np.where(np.isnan(fixed), drawn, fixed)


def _scipy(distribution: Distribution):
    """The scipy.stats frozen distribution of a continuous scenario distribution."""
    from scipy import stats  # imported only when a replay needs it (it costs a second)

    if isinstance(distribution, Lognormal):
        mu, sigma = distribution._log_params()
        return stats.lognorm(s=sigma, scale=math.exp(mu))
    if isinstance(distribution, Gamma):
        shape = 1.0 / distribution.cv**2
        return stats.gamma(a=shape, scale=distribution.mean_min / shape)
    if isinstance(distribution, Uniform):
        low, high = distribution.low_min, distribution.high_min
        return stats.uniform(loc=low, scale=high - low)
    raise TypeError(f"no scipy form for {type(distribution).__name__}")


def _can_exceed(distribution: Distribution, waited: np.ndarray) -> np.ndarray:
    """Whether a patience drawn from ``distribution`` can exceed ``waited`` (its survival
    there is positive, in floating point)."""
    if isinstance(distribution, Exponential):  # memoryless: drawn as waited + exponential
        return np.ones(waited.shape, dtype=bool)
    if isinstance(distribution, Deterministic):
        return distribution.mean_min > waited
    if isinstance(distribution, Empirical):
        return max(distribution.samples_min) > waited
    return _scipy(distribution).sf(waited) > 0


def patience_beyond(
    distribution: Distribution, waited: np.ndarray, uniforms: np.ndarray
) -> np.ndarray:
    """Patience drawn from ``distribution`` conditioned on exceeding ``waited``, by inverse CDF.

    A citizen seen to wait ``w`` minutes without giving up has a patience ``T`` with
    ``T > w``; its law is the patience law truncated to ``(w, inf)``, with survival
    ``S(t) / S(w)``. Given a uniform ``u``, ``T = S^{-1}(u S(w))`` has exactly that law
    (inverse transform sampling, e.g. Devroye, *Non-Uniform Random Variate Generation*,
    1986, §II.2). For the exponential this is ``w`` plus an exponential of the same mean
    (memorylessness); for an empirical distribution it picks uniformly among the samples
    above ``w``; continuous families use ``scipy.stats`` (``isf`` of ``u * sf(w)``).

    Parameters
    ----------
    distribution : Distribution
        The scenario's patience distribution.
    waited : numpy.ndarray
        The waits to exceed, minutes; ``-inf`` (or any value <= 0) draws unconditionally.
    uniforms : numpy.ndarray
        Uniforms on [0, 1), one per value of ``waited``: the inverse CDF's input.

    Returns
    -------
    numpy.ndarray
        Patience in minutes, greater than ``waited`` where ``waited > 0``; ``inf`` where the
        distribution cannot exceed ``waited`` (its survival there is 0).
    """
    waited = np.asarray(waited, dtype=float)
    uniforms = np.asarray(uniforms, dtype=float)
    if waited.shape != uniforms.shape:
        raise ValueError(
            f"waited and uniforms need one shape (got {waited.shape} and {uniforms.shape})"
        )
    lower = np.where(waited > 0, waited, -np.inf)
    with np.errstate(divide="ignore"):
        if isinstance(distribution, Exponential):
            patience = np.maximum(lower, 0.0) - distribution.mean_min * np.log(uniforms)
        elif isinstance(distribution, Deterministic):
            patience = np.where(distribution.mean_min > lower, distribution.mean_min, np.inf)
        elif isinstance(distribution, Empirical):
            samples = np.sort(np.asarray(distribution.samples_min, dtype=float))
            first = np.searchsorted(samples, lower, side="right")  # first sample above
            above = samples.size - first
            pick = np.minimum(first + np.floor(uniforms * above).astype(np.int64), samples.size - 1)
            patience = np.where(above > 0, samples[pick], np.inf)
        else:
            frozen = _scipy(distribution)
            patience = frozen.isf(uniforms * frozen.sf(lower))
    # rounding in isf must not give back the wait itself: the engines would renege then
    return np.where(waited > 0, np.maximum(patience, np.nextafter(waited, np.inf)), patience)


# --------------------------------------------------------------------------- reading the log


def _log_table(arrivals: TicketLog | pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """The log's tickets with every schema column (missing optional ones empty), by
    position."""
    if isinstance(arrivals, TicketLog):
        table, source = arrivals.tickets, arrivals.source
    elif isinstance(arrivals, pd.DataFrame):
        table, source = arrivals, None
    else:
        raise TypeError(
            "arrivals must be a hallsim TicketLog or a pandas DataFrame in its schema "
            f"(got {type(arrivals).__name__})"
        )
    missing = [name for name in REQUIRED_COLUMNS if name not in table.columns]
    if missing:
        raise LogError(
            f"the log lacks the required column(s) {missing}; it has {list(table.columns)}",
            source=source,
        )
    index = pd.RangeIndex(len(table))
    columns = {}
    for name in LOG_COLUMNS:
        if name not in table.columns:
            empty = pd.NaT if name in TIME_COLUMNS else None
            columns[name] = pd.Series(empty, index=index, dtype=None if empty else object)
        elif name in TIME_COLUMNS:
            columns[name] = _datetimes(table[name], name, source).set_axis(index)
        else:
            columns[name] = table[name].set_axis(index)
    return pd.DataFrame(columns, copy=False), source


def _datetimes(values: pd.Series, column: str, source: str | None) -> pd.Series:
    if not pd.api.types.is_datetime64_any_dtype(values):
        try:
            values = pd.to_datetime(values)
        except (ValueError, TypeError):
            try:  # formats that differ from row to row
                values = pd.to_datetime(values, format="mixed")
            except (ValueError, TypeError) as error:
                raise LogError(
                    f"cannot read the times ({error})", source=source, column=column
                ) from None
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_localize(None)  # wall time, as the hall's clock shows it
    return values


def _nanoseconds(values: pd.Series) -> np.ndarray:
    """Datetimes as int64 nanoseconds (NaT: the int64 minimum)."""
    return values.to_numpy(dtype="datetime64[ns]").view(np.int64)


def _minutes(values: pd.Series, origin: int) -> np.ndarray:
    """Minutes since ``origin`` (ns), NaN for NaT. Every column goes through nanoseconds, so
    equal times in columns of different units give equal minutes."""
    ns = _nanoseconds(values)
    minutes = (ns - origin) / NS_PER_MIN
    minutes[ns == np.iinfo(np.int64).min] = np.nan  # NaT
    return minutes


def _codes(values: pd.Series) -> tuple[np.ndarray, list]:
    """Integer codes of a column's values (-1 where missing) and the distinct values."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(dtype=np.int64), list(values.cat.categories)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(np.int64), list(uniques)


def _lookup(codes: np.ndarray, values: list, table: dict) -> np.ndarray:
    """``table[value]`` of each code's value (-1 for a missing value or one not in it)."""
    found = np.array([table.get(value, -1) for value in values] + [-1], dtype=np.int64)
    return found[codes]  # code -1 takes the last entry


def _outcomes(table: pd.DataFrame, times: dict[str, np.ndarray], source) -> np.ndarray:
    """Outcome codes; where the log gives none, inferred from the times (see note 7 of the
    module doc), :data:`UNKNOWN` for a ticket with no time but its issue."""
    codes, values = _codes(table["outcome"])
    outcome = _lookup(
        codes, [str(value) for value in values], {name: k for k, name in enumerate(OUTCOMES)}
    )
    unknown = np.flatnonzero((outcome < 0) & (codes >= 0))
    if unknown.size:
        i = unknown[0]
        raise LogError(
            f"ticket {table['ticket'].iloc[i]!r}: unknown outcome, expected one of "
            f"{list(OUTCOMES)}",
            source=source,
            column="outcome",
            value=table["outcome"].iloc[i],
            has_value=True,
        )
    missing = np.flatnonzero(codes < 0)
    if missing.size:
        issued, called, start, end = (times[name][missing] for name in TIME_COLUMNS)
        outcome[missing] = np.select(
            [
                ~np.isnan(start),
                ~np.isnan(end) & ~np.isnan(called),
                end > issued,
                end == issued,
                ~np.isnan(called),
            ],
            [SERVED, NO_SHOW, ABANDONED, BALKED, IN_SYSTEM],
            UNKNOWN,
        )
    return outcome


def _check_order(table: pd.DataFrame, times: dict[str, np.ndarray], source) -> None:
    """Times must not run backwards: a negative wait or duration cannot be replayed."""
    issued, called, start, end = (times[name] for name in TIME_COLUMNS)
    for column, later, earlier, what in (
        ("called", called, issued, "called before issued"),
        ("start", start, issued, "start before issued"),
        ("end", end, issued, "end before issued"),
        ("end", end, start, "end before start"),
    ):
        bad = np.flatnonzero(later < earlier)
        if bad.size:
            i = bad[0]
            raise LogError(
                f"ticket {table['ticket'].iloc[i]!r}: {what}",
                source=source,
                column=column,
                value=str(table[column].iloc[i]),
                has_value=True,
            )


def _replay_scenario(scenario: Scenario, first: pd.Timestamp, days: int) -> Scenario:
    """The scenario run for the log's ``days`` from the weekday of its first date (without
    the scenario's holidays: day numbers of another run)."""
    try:
        hall = Hall.model_validate(
            {
                **scenario.hall.model_dump(),
                "days": days,
                "first_weekday": WEEKDAYS[first.weekday()],
                "holidays": [],
            }
        )
    except ValueError:
        raise ValueError(
            f"the log spans {days} days from {first.date()}: more than a run can hold "
            "(100,000 days); replay it in parts"
        ) from None
    return scenario.model_copy(update={"hall": hall})


def _check_hours(hall: CompiledHall, issued, day, table) -> None:
    """Every ticket is issued within its day's opening hours (as the engines require)."""
    offset = issued - day * 1440.0
    hours = hall.day_hours[day]  # NaN on a closed day
    bad = np.flatnonzero(~((offset >= hours[:, 0]) & (offset < hours[:, 1])))
    if bad.size:
        i = bad[0]
        weekday = WEEKDAYS[hall.day_weekday[day[i]]]
        if np.isnan(hours[i, 0]):
            where = f'on a closed weekday ("{weekday}")'
            fix = "remove it from hall.closed_weekdays"
        else:
            span = f"{clock(int(hours[i, 0]))}-{clock(int(hours[i, 1]))}"
            own = hours[i, 0] != hall.open_minute or hours[i, 1] != hall.close_minute
            where = f"outside the hall's opening hours {span}"
            where += f' on "{weekday}"' if own else ""
            fix = "widen " + (f"hall.hours.{weekday}" if own else "hall.open and hall.close")
        raise ValueError(
            f"ticket {table['ticket'].iloc[i]!r} was issued at {table['issued'].iloc[i]}, "
            f"{where} ({bad.size} of the log's {_tickets(issued.size)}); {fix} in the "
            "scenario, or drop those tickets from the log"
        )


def _ticket_classes(
    hall: CompiledHall, table: pd.DataFrame, categories: Mapping | None
) -> np.ndarray:
    """Each ticket's class: the log's category, mapped by ``categories``; a class
    ``X:priority`` / ``X:appointment`` maps to that class of the category ``X`` maps to."""
    mapping = dict(categories or {})
    codes, names = _codes(table["category"])
    if (codes < 0).any():
        i = int(np.argmax(codes < 0))
        raise LogError(f"ticket {table['ticket'].iloc[i]!r}: no category", column="category")
    index = {cid: c for c, cid in enumerate(hall.category_ids)}
    classes = np.empty(len(names), dtype=np.int64)
    suffixes = {CLASS_SUFFIX[PRIORITY][1:], CLASS_SUFFIX[APPOINTMENT][1:]}
    for j, name in enumerate(map(str, names)):
        target = mapping.get(name)
        if target is None:
            base, colon, kind = name.rpartition(":")
            if colon and kind in suffixes:
                target = f"{mapping.get(base, base)}:{kind}"
            else:
                target = name
        if target not in index:
            mine = codes == j
            if not mine.any():
                continue  # a category of the column's dtype that no ticket has
            ticket = table["ticket"].iloc[int(np.argmax(mine))]
            count = int(np.count_nonzero(mine))
            raise ValueError(_unknown_category(hall, ticket, name, target, count))
        classes[j] = index[target]
    return classes[codes]


def _tickets(count: int) -> str:
    return f"{count} ticket" + ("" if count == 1 else "s")


def _unknown_category(hall, ticket, name, target, count) -> str:
    scenario_ids = hall.category_ids[: hall.n_scenario_categories]
    where = f"ticket {ticket!r} has category {name!r}"
    if target != name:
        where += f" (mapped to {target!r})"
    base, _, kind = target.rpartition(":")
    if base in scenario_ids:
        option = "priority_share" if kind == "priority" else "appointments"
        return (
            f"{where}, but the scenario's category {base!r} has no {kind} tickets "
            f"({_tickets(count)} of the log); give it {option} in the scenario, or map them to "
            f"its walk-in class with categories={{{name!r}: {base!r}}}"
        )
    return (
        f"{where}, which the scenario does not know ({_tickets(count)} of the log; the "
        f"scenario's categories: {', '.join(scenario_ids)}); map it with "
        f"categories={{{name!r}: <a scenario category>}}"
    )


# --------------------------------------------------------------------------- logged service


def _member_speeds(scenario: Scenario) -> np.ndarray:
    """Speed of each staff member (regular, then reserve), shape (members, categories)."""
    members = [s for s in scenario.staff for _ in s.names] + [
        p for p in scenario.reserve for _ in p.names
    ]
    n_categories = len(scenario.categories)
    return np.array(
        [[scenario.speed(m, k) for k in range(n_categories)] for m in members], dtype=float
    ).reshape(len(members), n_categories)


def _window_factors(scenario: Scenario) -> np.ndarray:
    """``generalist_factor`` of each window, shape (windows, categories)."""
    n_categories = len(scenario.categories)
    return np.array(
        [
            [scenario.factor(scenario.windows[e], k) for k in range(n_categories)]
            for e in scenario.window_entries
        ],
        dtype=float,
    )


def _one_factor(values: np.ndarray) -> float | None:
    """The factor all ``values`` agree on, or None."""
    values = np.unique(values)
    if values.size and values[-1] - values[0] <= FACTOR_TOLERANCE * values[-1]:
        return float(values[0])
    return None


def _service_factors(
    scenario: Scenario, hall: CompiledHall, table: pd.DataFrame, rows, classes, windows
):
    """For the tickets at ``rows`` (of class ``classes``): the factor the engines apply at
    the window and staff member the log says served them (``hall``: ``scenario`` compiled)."""
    rows = np.asarray(rows)
    mapping = dict(windows or {})
    for name, target in mapping.items():
        if target not in hall.window_names:
            raise ValueError(
                f"windows maps {name!r} to {target!r}, which is not a window of the scenario "
                f"(its windows: {', '.join(hall.window_names)})"
            )
    window_factor = _window_factors(scenario)
    speed = _member_speeds(scenario)
    # a class every window and staff member serves at one factor needs no names looked up
    unstaffed = [1.0] if (hall.post_staff < 0).any() else []  # posts nobody in particular works
    anywhere = np.full(hall.n_categories, np.nan)
    for c, k in enumerate(hall.class_category):
        fw = _one_factor(window_factor[:, k])
        sp = _one_factor(np.concatenate([speed[:, k], unstaffed]))
        if fw is not None and sp is not None:
            anywhere[c] = fw * sp
    factors = anywhere[classes]
    named = np.flatnonzero(np.isnan(factors))
    if named.size:
        factors[named] = _named_factors(
            hall, table, rows[named], classes[named], window_factor, speed, mapping
        )
    return factors


def _named_factors(hall, table, rows, classes, window_factor, speed, mapping) -> np.ndarray:
    """The factors of tickets whose class has several: by the window and staff named."""
    window_codes, window_values = _codes(table["window"])
    staff_codes, staff_values = _codes(table["staff"])
    window_index = {name: x for x, name in enumerate(hall.window_names)}
    window_index.update({name: window_index[target] for name, target in mapping.items()})
    w = _lookup(window_codes[rows], window_values, window_index)
    staff_index = {name: m for m, name in enumerate(hall.staff_names)}
    s = _lookup(staff_codes[rows], staff_values, staff_index)
    n_windows, n_staff = hall.n_windows + 1, len(hall.staff_names) + 1
    key = ((w + 1) * n_staff + (s + 1)) * hall.n_categories + classes
    inverse, combos = pd.factorize(key)
    factors = np.empty(combos.size)
    for j, combo in enumerate(combos.tolist()):
        rest, c = divmod(combo, hall.n_categories)
        x, m = (value - 1 for value in divmod(rest, n_staff))
        assert x < n_windows
        k = hall.class_category[c]
        serving = hall.serves[hall.post_group, c]
        if x >= 0:
            fw = window_factor[x, k]
        else:
            at = serving & (hall.post_staff == m) if m >= 0 else serving
            fw = _one_factor(window_factor[hall.post_window[at if at.any() else serving], k])
            if fw is None:
                i = rows[int(np.argmax(inverse == j))]
                raise ValueError(_unknown_place(hall, table, i, "window", c, "windows"))
        if m >= 0:
            sp = speed[m, k]
        elif not len(hall.staff_names):
            sp = 1.0
        else:
            at = serving & (hall.post_window == x) if x >= 0 else serving
            post_speed = np.where(hall.post_staff >= 0, speed[hall.post_staff, k], 1.0)
            sp = _one_factor(post_speed[at if at.any() else serving])
            if sp is None:
                i = rows[int(np.argmax(inverse == j))]
                raise ValueError(_unknown_place(hall, table, i, "staff", c, None))
        factors[j] = fw * sp  # as the engines compute it (x 1.0 changes no float)
    return factors[inverse]


def _unknown_place(hall, table, i, column, c, keyword) -> str:
    name = table[column].iloc[i]
    named = f"{'a window' if column == 'window' else 'staff'} not named in the log"
    if not pd.isna(name):
        named = f"{'window' if column == 'window' else 'staff member'} {name!r}"
    fix = (
        f"name its window in windows={{{name!r}: <a scenario window>}}, or"
        if keyword and not pd.isna(name)
        else f"rename the log's {column} to the scenario's, or"
    )
    return (
        f"ticket {table['ticket'].iloc[i]!r} was served by {named}, which the scenario does "
        f"not have, and the scenario serves {hall.category_ids[c]!r} at different service-time "
        f"factors, so its logged duration cannot be made a base service time: {fix} replay "
        "with service='drawn'"
    )


# --------------------------------------------------------------------------- the replay


def prepare_replay(
    scenario: Scenario,
    arrivals: TicketLog | pd.DataFrame,
    *,
    service: Literal["logged", "drawn"] = "logged",
    categories: Mapping[str, str] | None = None,
    windows: Mapping[str, str] | None = None,
) -> LogReplay:
    """Prepare ``arrivals`` (a ticket log) for replay through ``scenario``.

    Parameters
    ----------
    scenario : Scenario
        The hall to replay the tickets in; its ``days`` and ``first_weekday`` are replaced
        by the log's.
    arrivals : TicketLog or pandas.DataFrame
        The tickets (a DataFrame in the log schema of :mod:`hallsim.logs`: ``ticket``,
        ``category``, ``issued`` required).
    service : {"logged", "drawn"}, default "logged"
        Base service times from the logged durations where there are some, or all drawn.
    categories : mapping, optional
        Log category -> scenario category (or ticket class), for names that differ.
    windows : mapping, optional
        Log window -> scenario window name, to say which factor a logged duration was served
        at (see the module doc).

    Returns
    -------
    LogReplay
        What the log fixes; :meth:`LogReplay.inputs` draws the rest of one replication.
    """
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a hallsim.Scenario (got {type(scenario).__name__})")
    if service not in SERVICE_SOURCES:
        raise ValueError(f"service must be one of {SERVICE_SOURCES} (got {service!r})")
    for name, mapping in (("categories", categories), ("windows", windows)):
        if mapping is not None and not isinstance(mapping, Mapping):
            raise TypeError(f"{name} must be a mapping (got {type(mapping).__name__})")
    table, source = _log_table(arrivals)
    if len(table) == 0:
        where = f" {source}" if source else ""
        raise ValueError(f"the log{where} has no tickets to replay")
    if table["issued"].isna().any():
        i = int(np.argmax(table["issued"].isna().to_numpy()))
        raise LogError(
            f"ticket {table['ticket'].iloc[i]!r}: no issue time", source=source, column="issued"
        )
    issued_ns = _nanoseconds(table["issued"])
    if np.any(np.diff(issued_ns) < 0):  # in order of issue, ties in log order
        order = np.argsort(issued_ns, kind="stable")
        table = table.iloc[order].reset_index(drop=True)
        issued_ns = issued_ns[order]
    origin = issued_ns[0] - issued_ns[0] % NS_PER_DAY  # midnight of the first date
    day = (issued_ns - origin) // NS_PER_DAY
    first_date = pd.Timestamp(origin)
    scenario = _replay_scenario(scenario, first_date, int(day[-1]) + 1)
    hall = compile_scenario(scenario)
    times = {name: _minutes(table[name], origin) for name in TIME_COLUMNS}
    issued = times["issued"]
    _check_hours(hall, issued, day, table)
    _check_order(table, times, source)
    category = _ticket_classes(hall, table, categories)
    outcome = _outcomes(table, times, source)
    called, start, end = times["called"], times["start"], times["end"]

    n = len(table)
    lost = hall.no_show_lost[category]
    # a log keeps times to the microsecond or the second: a gap within a millisecond of the
    # recall time is the recall time
    requeued = hall.no_show_requeue[category] & (lost > 0) & (start - called >= lost - 1e-3 / 60)
    served = outcome == SERVED
    never_called = np.isnan(called)
    absent = np.select(
        [served & ~requeued, served, outcome == NO_SHOW, ~never_called],
        [1.0, 0.0, 0.0, 0.0],
        np.nan,
    )
    booked = np.array([cid.endswith(CLASS_SUFFIX[APPOINTMENT]) for cid in hall.category_ids])
    booked_absent = (outcome == NO_SHOW) & never_called & booked[category]
    balk_draw = np.select(
        [outcome == BALKED, (outcome == CAPPED) | (outcome == UNKNOWN) | booked_absent],
        [0.0, np.nan],
        1.0,
    )

    # the wait a drawn patience must exceed: up to the last call (the start of service after
    # a requeue), and for tickets still waiting, up to the day's last logged time
    waited_until = np.where(served & (requeued | never_called), start, called)
    day_ptr = np.concatenate([[0], np.cumsum(np.bincount(day, minlength=hall.n_days))])
    waiting = np.flatnonzero(outcome == IN_SYSTEM)
    if waiting.size:
        last = np.fmax(np.fmax(issued, called), np.fmax(start, end))
        day_last = np.full(hall.n_days, -np.inf)
        np.maximum.at(day_last, day, last)
        waited_until[waiting] = day_last[day[waiting]]
    waited = np.where(np.isnan(waited_until), -np.inf, waited_until - issued)
    has_patience = np.array([p is not None for p in hall.patience])[category]
    patience = np.where(has_patience, np.nan, np.inf)
    patience = np.where(outcome == ABANDONED, end - issued, patience)
    patience[booked_absent] = np.inf  # they never wait

    warnings = []
    for c, distribution in enumerate(hall.patience):
        if distribution is None or isinstance(distribution, Exponential):
            continue  # an exponential patience exceeds any wait
        mine = np.flatnonzero((category == c) & np.isnan(patience) & (waited > 0))
        beyond = ~_can_exceed(distribution, waited[mine])
        if beyond.any():
            patience[mine[beyond]] = np.inf
            warnings.append(
                f"replay: {beyond.sum()} tickets of {hall.category_ids[c]!r} waited longer "
                f"than its patience distribution allows (up to {waited[mine].max():.1f} min); "
                "they are replayed as never giving up"
            )

    base = np.full(n, np.nan)
    if service == "logged":
        timed = np.flatnonzero(served & ~np.isnan(start) & ~np.isnan(end))
        if timed.size:
            factors = _service_factors(scenario, hall, table, timed, category[timed], windows)
            base[timed] = (end[timed] - start[timed]) / factors
    return LogReplay(
        scenario=scenario,
        hall=hall,
        first_date=first_date,
        ticket=table["ticket"],
        issued=issued,
        category=category,
        day_ptr=day_ptr.astype(np.int64),
        service=base,
        patience=patience,
        waited=waited,
        balk_draw=balk_draw,
        absent_draw=absent,
        booked_absent=booked_absent,
        warnings=warnings,
    )
