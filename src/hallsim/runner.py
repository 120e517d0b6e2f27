"""simulate(): replications, seeds, batches, workers and progress.

Replication ``r`` draws every random input from
``numpy.random.default_rng(SeedSequence(seed).spawn(replications)[r])``, so its tickets do not
depend on how many workers ran it, nor in which order. With ``arrivals=`` (a ticket log) the
log's tickets replace the drawn arrivals and the generator draws only what the log leaves
open (:mod:`hallsim.replay`).

Replications run in *batches*: consecutive replications whose days the fast engine runs as
the days of one run (each day starts empty), in one kernel call, reduced to the result
arrays in one pass (:func:`hallsim.results.replication_tables`). A batch holds enough
tickets to pay for its fixed costs (:data:`BATCH_TICKETS`); worker processes take whole
batches. The tables do not depend on the batches.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import sys
import threading
import warnings
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from tqdm.auto import tqdm

from .compile import CompiledHall, compile_scenario
from .engines import fast, reference
from .engines.inputs import TicketInputs, draw_seeded, replication_generators
from .engines.output import EngineOutput
from .precision import next_total, parse_precision, shortfalls, warning_text
from .results import PrecisionWarning, Results, replication_tables, stats_of
from .scenario import WEEKDAYS, Scenario
from .size import check_size, expected_tickets, parse_memory

if TYPE_CHECKING:
    import pandas as pd

    from .logs import TicketLog
    from .replay import LogReplay

__all__ = ["simulate"]

ENGINES = ("fast", "simpy")

# A batch takes replications until it expects this many tickets: its fixed costs (a kernel
# call, the aggregates' arrays, a copy to join it to the others) then cost little beside its
# tickets, and its arrays stay at tens of megabytes (1000 replications of a Panjin day:
# 0.14 s in one batch, 0.19 s in batches of 20,000 tickets) ...
BATCH_TICKETS = 250_000
# ... and at most this many interval cells (days x reporting slots x ticket classes of all its
# replications: the per-interval arrays it allocates, about 100 bytes each)
BATCH_CELLS = 1_000_000


def simulate(
    scenario: Scenario,
    *,
    replications: int = 10,
    seed: int | None = None,
    workers: int = 1,
    engine: Literal["fast", "simpy"] = "fast",
    rules: reference.Rules | None = None,
    keep_tickets: bool = True,
    progress: bool = True,
    arrivals: TicketLog | pd.DataFrame | None = None,
    service: Literal["logged", "drawn"] | None = None,
    categories: Mapping[str, str] | None = None,
    windows: Mapping[str, str] | None = None,
    max_memory: int | float | str | None = None,
    precision: Mapping[str, float | tuple[str, float]] | None = None,
    max_replications: int = 1000,
) -> Results:
    """Simulate ``replications`` independent runs of ``scenario``, or replay a ticket log.

    Parameters
    ----------
    scenario : Scenario
        A validated hall (see :func:`hallsim.load_scenario`).
    replications : int, default 10
        Independent runs of all the scenario's days; confidence intervals are over these.
    seed : int or None
        Root of the replications' seeds. ``None`` draws fresh entropy; the seed used is kept in
        ``Results.seed`` so the run can be repeated.
    workers : int, default 1
        Processes to run replications in (``0``: one per CPU). The tables do not depend on it.
    engine : {"fast", "simpy"}
        ``"fast"``: the numba engine. ``"simpy"``: the reference engine, which gives the same
        tickets from the same seed (slower; readable, and extensible through ``rules``).
    rules : hallsim.engines.reference.Rules, optional
        Replacement rules for the simpy engine (for example which ticket a free window calls
        next). Only with ``engine="simpy"``.
    keep_tickets : bool, default True
        Keep the ticket table. ``False`` keeps only aggregates, for very long runs.
    progress : bool, default True
        Show a tqdm progress bar (``TQDM_DISABLE=1`` silences it everywhere).
    arrivals : hallsim.TicketLog or pandas.DataFrame, optional
        Replay these tickets (a log, or a DataFrame in the log schema) instead of drawing
        arrivals: their issue times and categories, and what else the log shows of each
        ticket (see :mod:`hallsim.replay`). The run spans the log's dates, day 0 being its
        first date; replications vary only in what the log leaves open.
    service : {"logged", "drawn"}, optional
        With ``arrivals``: base service times from the logged durations (divided by the
        factor of the window and staff member that served them; the default), or all drawn
        from the scenario.
    categories : mapping, optional
        With ``arrivals``: log category -> scenario category, where the names differ.
    windows : mapping, optional
        With ``arrivals`` and logged service: log window -> scenario window, to say at which
        window's factor a logged duration was served.
    max_memory : int, float or str, optional
        The most memory the run may take, in bytes or as a size such as ``"4 GiB"``. Before
        anything is drawn the run's size is estimated (:mod:`hallsim.size`); a run larger than
        this (default: the memory available to the process) raises a ``ScenarioError`` that
        says how large it is and what to change.
    precision : mapping, optional
        Run until the 95 % interval of each named metric is this narrow in every category:
        ``{"mean_wait": 0.05}`` (half-width within 5 % of the mean), or
        ``{"service_level": ("absolute", 0.01)}``. ``replications`` is then the first round,
        and rounds are added as :mod:`hallsim.precision` describes, up to
        ``max_replications`` (a :class:`~hallsim.results.PrecisionWarning` says what missed
        if it is reached).
    max_replications : int, default 1000
        With ``precision``: the most replications to run.

    Returns
    -------
    Results
        With ``arrivals``, ``Results.scenario`` is the scenario with the log's days and
        ``Results.start_date`` the log's first date (so ``to_log()`` keeps the log's dates).
    """
    if not isinstance(scenario, Scenario):
        hint = ""
        if isinstance(scenario, str | Path):
            hint = " (read a file with hallsim.load_scenario)"
        raise TypeError(
            f"scenario must be a hallsim.Scenario (got {type(scenario).__name__}){hint}"
        )
    # a model built any way (``model_copy(update=...)``, ``model_construct``) skips its
    # checks: check it again, the same way a file is checked (ScenarioError on bad values)
    scenario = Scenario.model_validate(scenario.model_dump(by_alias=True))
    replications = _positive_int("replications", replications)
    workers = (os.cpu_count() or 1) if workers == 0 else _positive_int("workers", workers)
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES} (got {engine!r})")
    if rules is not None:
        if not isinstance(rules, reference.Rules):
            raise TypeError(
                f"rules must be a hallsim.engines.reference.Rules (got {type(rules).__name__}); "
                "wrap a function as Rules(call_next=function)"
            )
        if engine != "simpy":
            raise ValueError(f"rules apply to engine='simpy' only (got engine={engine!r})")
        if workers > 1:
            try:
                pickle.dumps(rules)
            except (pickle.PicklingError, AttributeError, TypeError) as error:
                raise ValueError(
                    "with workers > 1 the rules are sent to other processes: define call_next "
                    f"at module level, not as a lambda or nested function ({error})"
                ) from None
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)
    elif isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None (got {seed!r})")
    if max_memory is not None:
        parse_memory(max_memory)  # a bad value fails before any work
    targets = None
    if precision is not None:
        targets = parse_precision(precision)
        max_replications = _positive_int("max_replications", max_replications)
        if replications < 2 or max_replications < replications:
            raise ValueError(
                "with precision, replications (the first round) must be at least 2 and at most "
                f"max_replications (got {replications} and {max_replications})"
            )
    replay = _replay(scenario, arrivals, service, categories, windows)
    hall = compile_scenario(scenario) if replay is None else replay.hall
    if replay is not None:
        scenario = replay.scenario  # the log's days and first weekday
    run = partial(
        _replications,
        hall,
        scenario,
        replay,
        seed=int(seed),
        workers=workers,
        keep_tickets=keep_tickets,
        engine=engine,
        rules=rules,
        max_memory=max_memory,
    )
    with _progress(scenario, replications, progress) as bar, _compile_notice(hall, engine, bar):
        parts = run(0, replications, bar)
        done = replications
        while targets is not None:
            missed = shortfalls(stats_of(hall, parts), targets)
            if missed.empty:
                break
            if done >= max_replications:
                warnings.warn(warning_text(missed, max_replications), PrecisionWarning, 2)
                break
            total = next_total(done, missed, max_replications)
            bar.total = total
            parts += run(done, total, bar)
            done = total
    # the capacity warnings judge the scenario's drawn arrivals, which a replay does not use
    warnings_ = capacity_warnings(hall) if replay is None else list(replay.warnings)
    results = Results.from_replications(
        hall, parts, scenario=scenario, seed=int(seed), engine=engine, warnings_=warnings_
    )
    results.rules = rules
    if replay is not None:
        results.start_date = str(replay.first_date.date())
    return results


def _replications(
    hall: CompiledHall,
    scenario: Scenario,
    replay: LogReplay | None,
    first: int,
    stop: int,
    bar: tqdm,
    *,
    seed: int,
    workers: int,
    keep_tickets: bool,
    engine: str,
    rules: reference.Rules | None,
    max_memory,
) -> list[dict]:
    """The arrays of replications ``first`` to ``stop - 1`` (:func:`_run_batch`), in
    batches, in this process or in ``workers`` processes; checked for size first."""
    count = stop - first
    batch = _batch_size(hall, count, workers, engine, replay)
    check_size(
        hall,
        replications=stop,
        workers=workers,
        keep_tickets=keep_tickets,
        daily=None if replay is None else np.diff(replay.day_ptr),
        engine=engine,
        max_memory=max_memory,
        batch=batch,
    )
    jobs = [
        (seed, start, min(start + batch, stop), keep_tickets, engine, rules)
        for start in range(first, stop, batch)
    ]
    parts: list[dict] = []
    if workers == 1 or len(jobs) == 1:
        for job in jobs:
            parts.append(_run_batch(hall, job, replay))
            bar.update(parts[-1]["replications"])
        return parts
    # fork: scripts and notebooks need no ``if __name__ == "__main__"`` guard
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    with ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(scenario, replay),
    ) as pool:
        for part in pool.map(_run_in_worker, jobs):
            parts.append(part)
            bar.update(part["replications"])
    return parts


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer (got {value!r})")
    return int(value)


def _replay(scenario, arrivals, service, categories, windows) -> LogReplay | None:
    """The log prepared for replay, or None when there is none (and no replay option)."""
    if arrivals is None:
        for name, value in (("categories", categories), ("windows", windows)):
            if value is not None:
                raise ValueError(f"{name}= applies to a replay: pass arrivals=<a ticket log>")
        if service not in (None, "drawn"):
            raise ValueError(
                f"service={service!r} applies to a replay: pass arrivals=<a ticket log>"
            )
        return None
    from .replay import prepare_replay

    return prepare_replay(
        scenario,
        arrivals,
        service="logged" if service is None else service,
        categories=categories,
        windows=windows,
    )


def _batch_size(
    hall: CompiledHall, replications: int, workers: int, engine: str, replay: LogReplay | None
) -> int:
    """Replications per batch: enough for :data:`BATCH_TICKETS` tickets, at most
    :data:`BATCH_CELLS` interval cells, and as many batches for each worker. The simpy
    engine runs replication by replication."""
    if engine == "simpy":
        return 1
    tickets = expected_tickets(hall) if replay is None else replay.n_tickets
    cells = hall.n_days * hall.n_slots * hall.n_categories
    largest = max(1, min(math.ceil(BATCH_TICKETS / max(tickets, 1.0)), BATCH_CELLS // cells))
    batches = workers * math.ceil(replications / (workers * largest))
    return math.ceil(replications / batches)


def _run_batch(hall: CompiledHall, job: tuple, replay: LogReplay | None) -> dict:
    """Draw, simulate and reduce one batch of replications (``job``: the seed, the first
    replication and the one after the last, and the options); each replication draws from
    its own generator."""
    seed, first, stop, keep_tickets, engine, rules = job
    if replay is None:
        inputs = draw_seeded(hall, seed, first, stop)
    else:
        generators = replication_generators(seed, first, stop)
        inputs = TicketInputs.concatenate([replay.inputs(rng) for rng in generators])
    if engine == "simpy":
        output = EngineOutput.concatenate(
            [reference.run(hall, part, rules=rules, check=False) for part in inputs.split()]
        )
    else:
        output = fast.run(hall, inputs, check=False)
    return replication_tables(hall, inputs, output, keep_tickets=keep_tickets)


def _progress(scenario: Scenario, replications: int, progress: bool) -> tqdm:
    # an explicit ``disable`` would override the TQDM_DISABLE environment variable
    options = {} if progress else {"disable": True}
    return tqdm(
        total=replications, desc=scenario.name or "simulate", unit="rep", leave=False, **options
    )


# Say that the engine is compiling when the first batch has run this long without it loaded
COMPILE_NOTICE_AFTER = 3.0  # seconds


@contextmanager
def _compile_notice(hall: CompiledHall, engine: str, bar: tqdm):
    """While the block runs: if numba is still compiling the engine after
    :data:`COMPILE_NOTICE_AFTER` seconds (the first run after installing), say so on
    stderr, so that a progress bar sitting at 0 does not look like a hang. Silent without a
    progress bar and once the engine is loaded."""
    if engine != "fast" or bar.disable or fast.kernel_loaded(hall):
        yield
        return

    def notice() -> None:
        if not fast.kernel_loaded(hall):
            tqdm.write(
                "hallsim: compiling the simulation engine (first run only: later runs load "
                "it from numba's cache) ...",
                file=sys.stderr,
            )

    timer = threading.Timer(COMPILE_NOTICE_AFTER, notice)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


_worker_hall: CompiledHall | None = None
_worker_replay: LogReplay | None = None


def _init_worker(scenario: Scenario, replay: LogReplay | None) -> None:
    global _worker_hall, _worker_replay
    _worker_hall = compile_scenario(scenario) if replay is None else replay.hall
    _worker_replay = replay


def _run_in_worker(job: tuple) -> dict:
    assert _worker_hall is not None
    return _run_batch(_worker_hall, job, _worker_replay)


def capacity_warnings(hall: CompiledHall) -> list[str]:
    """Warn for each weekday whose offered work exceeds the windows' open time.

    Offered work counts each category's expected tickets, walk-in and booked (at most its
    daily cap), at its mean service time times the smallest factor of the windows that serve
    it; open time counts the windows' staffed spans and every reserve window the pools could
    open all through their hours, within the day's hours. The work is a lower bound and the
    time an upper one, so a warning is certain overload. Weekdays the hall is closed have
    neither.
    """
    _, lengths = hall.day_pieces()  # (days, pieces)
    means = hall.service_mean
    best_factor = np.where(hall.serves, hall.factor, np.inf).min(axis=0)
    n_categories = hall.n_scenario_categories
    messages = []
    first_day: dict[int, int] = {}  # a day of each weekday the hall is open (all alike)
    for day in hall.open_days.tolist():
        first_day.setdefault(int(hall.day_weekday[day]), day)
    for weekday, day in sorted(first_day.items()):
        kind = hall.day_kind[day]
        open_time = hall.staffed_minutes[kind] + float(hall.pool_minutes[kind].sum())
        tickets = hall.rate_per_min * lengths[day][:, None]  # (pieces, C) on a factor-1 day
        daily = tickets.sum(axis=0) * hall.weekday_factor[weekday]
        taken = (hall.booking_minute >= hall.kind_hours[kind, 0]) & (
            hall.booking_minute < hall.kind_hours[kind, 1]
        )
        booked = np.rint(hall.booking_count * hall.weekday_factor[weekday, hall.booking_class])
        booked = np.where(taken, booked, 0.0)
        daily += np.bincount(hall.booking_class, booked, minlength=hall.n_categories)
        # per category: its classes' tickets up to the cap, at the least work of its classes
        per_category = np.bincount(hall.class_category, daily, minlength=n_categories)
        cap = hall.category_cap[:n_categories]
        per_category = np.where(cap >= 0, np.minimum(per_category, cap), per_category)
        least = np.full(n_categories, np.inf)
        np.minimum.at(least, hall.class_category, means * best_factor)
        work = float((per_category * least).sum())
        if work > open_time:
            messages.append(
                f"overloaded on {WEEKDAYS[weekday].capitalize()}: offered work "
                f"{work / 60:.1f} window-hours exceeds {open_time / 60:.1f} open window-hours; "
                "queues grow through the day"
            )
    return messages
