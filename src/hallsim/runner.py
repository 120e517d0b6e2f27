"""simulate(): replications, seeds, batches, workers and progress.

Replication ``r`` draws every random input from
``numpy.random.default_rng(SeedSequence(seed).spawn(replications)[r])``, so its tickets do not
depend on how many workers ran it, nor in which order. A replication of a long horizon draws
its days in spans (:func:`hallsim.engines.inputs.day_spans`), span ``k > 0`` from
``SeedSequence(seed, spawn_key=(r, k))``; without its tickets kept, it runs and is reduced
span by span, in memory that grows with the days only by the per-day aggregates. With
``arrivals=`` (a ticket log) the log's tickets replace the drawn arrivals and the generator
draws only what the log leaves open (:mod:`hallsim.replay`).

Replications run in *batches*: consecutive replications whose days the fast engine runs as
the days of one run (each day starts empty), in one kernel call, reduced to the result
arrays in one pass (:func:`hallsim.results.replication_tables`). A batch holds enough
tickets to pay for its fixed costs (:data:`BATCH_TICKETS`); worker processes, or the
workers of a Dask cluster (:mod:`hallsim._cluster`), take whole batches. The tables do not
depend on the batches.
"""

from __future__ import annotations

import ctypes
import math
import multiprocessing
import os
import pickle
import shutil
import sys
import tempfile
import threading
import uuid
import warnings
import weakref
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
from tqdm.auto import tqdm

from .compile import CompiledHall, compile_scenario
from .engines import fast, reference, warmup
from .engines import inputs as engine_inputs
from .engines.inputs import (
    TicketInputs,
    day_spans,
    draw_seeded,
    draw_spans,
    replication_generators,
)
from .engines.output import EngineOutput
from .precision import next_total, parse_precision, shortfalls, warning_text
from .results import (
    SUMMARY_ARRAYS,
    PrecisionWarning,
    Results,
    check_confidence,
    day_sums,
    finished_tables,
    joined_spans,
    stats_of,
    summary_of,
)
from .scenario import WEEKDAYS, Scenario
from .size import check_size, expected_tickets, parse_memory

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client

    from .logs import TicketLog
    from .replay import LogReplay

__all__ = ["simulate", "simulate_many"]

ENGINES = ("fast", "simpy")

# A batch takes replications until it expects this many tickets: its fixed costs (a kernel
# call, the aggregates' arrays, a copy to join it to the others, a task on a cluster) then
# cost little beside its tickets, and its arrays stay at a few hundred megabytes (1000
# replications of a Panjin day: 0.14 s in one batch, 0.19 s in batches of 20,000 tickets;
# 1000 of a 20,000-ticket day on a two-worker Dask cluster: 1.05-1.07x the process pool in
# batches of 1 M tickets, 1.34-1.38x in batches of 250,000) ...
BATCH_TICKETS = 1_000_000
# ... times this on a Dask cluster, whose tasks cost more than a local process's batches
# (the same 1000 replications: 0.95-1.09x the process pool in batches of 2 M tickets,
# 1.16-1.25x in batches of 1 M; the pool itself is faster with 1 M: 10,000 Panjin days on
# two processes 1.43x one with 1 M, 1.25x with 2 M) ...
# ... and at most this many interval cells (days x reporting slots of the opening hours and
# the first overtime ones x ticket classes of all its replications: the per-interval arrays it
# allocates, about 80 bytes each; a hall of 995 categories runs 20 replications of a week in
# 2 batches, 0.2 s, where 7 batches of 3 took 0.28 s)
BATCH_CELLS = 2_000_000
BATCH_OVERTIME_SLOTS = 2


def simulate(
    scenario: Scenario,
    *,
    replications: int = 10,
    seed: int | None = None,
    workers: int = 1,
    client: Client | str | None = None,
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
        Processes on this machine to run replications in (``0``: one per CPU). The tables do
        not depend on it. The processes are kept for :data:`KEEP_WORKERS_FOR` seconds after
        the run, for the next run with as many (they start once, and their memory is
        already theirs).
    client : dask.distributed.Client or str, optional
        Run the replications on a Dask cluster instead of local processes: a connected
        ``Client``, or a scheduler's address such as ``"tcp://host:8786"`` (a client is
        connected for this call and closed after). Batches of replications are the cluster's
        tasks: each draws its replications' inputs from the seed on its worker and reduces
        them there (the aggregates travel back, and the tickets if kept); a batch whose
        worker is lost runs again on another. The tables are those of ``workers=1``. Needs
        ``pip install hallsim[dask]``, and hallsim on every worker; not with ``workers``.
    engine : {"fast", "simpy"}
        ``"fast"``: the numba engine. ``"simpy"``: the reference engine, which gives the same
        tickets from the same seed (slower; readable, and extensible through ``rules``).
    rules : hallsim.engines.reference.Rules, optional
        Replacement rules for the simpy engine (for example which ticket a free window calls
        next). Only with ``engine="simpy"``. With ``workers > 1`` or a ``client`` they are
        sent to the workers, so they must pickle.
    keep_tickets : bool, default True
        Keep the ticket table. ``False`` keeps only aggregates, for very long runs: a
        replication of more than one span of days (about 200,000 tickets each) then runs
        span by span, each span's tickets dropped once reduced.
    progress : bool, default True
        Show a tqdm progress bar (``TQDM_DISABLE=1`` silences it everywhere). It advances as
        batches complete.
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
        says how large it is and what to change. With a ``client`` the estimate counts one
        batch at a time (each worker's share) and every result kept here.
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
    workers = _workers(workers, client)
    study = _study(
        scenario,
        replications=replications,
        seed=seed,
        workers=workers,
        client=client,
        engine=engine,
        rules=rules,
        keep_tickets=keep_tickets,
        arrivals=arrivals,
        service=service,
        categories=categories,
        windows=windows,
        max_memory=max_memory,
    )
    targets = None
    if precision is not None:
        targets = parse_precision(precision)
        max_replications = _positive_int("max_replications", max_replications)
        if study.replications < 2 or max_replications < study.replications:
            raise ValueError(
                "with precision, replications (the first round) must be at least 2 and at most "
                f"max_replications (got {replications} and {max_replications})"
            )
    with _executor(client, workers) as executor:
        # the run's size is checked (and a run too large refused) before any progress bar
        jobs = study.jobs(0, study.replications, executor)
        with (
            _progress(study.scenario, study.replications, progress) as bar,
            (
                _first_compile(
                    study.hall, engine, bar, here=workers == 1, keep_tickets=keep_tickets
                )
                if client is None
                else nullcontext()
            ),
        ):
            ((_, parts),) = executor.run([(study, jobs)], bar)
            done = study.replications
            while targets is not None:
                missed = shortfalls(stats_of(study.hall, parts), targets)
                if missed.empty:
                    break
                if done >= max_replications:
                    warnings.warn(warning_text(missed, max_replications), PrecisionWarning, 2)
                    break
                total = next_total(done, missed, max_replications)
                bar.total = total
                parts += _replications(study, executor, done, total, bar)
                done = total
    return _results(study, parts)


def simulate_many(
    scenarios: Sequence[Scenario],
    seeds: Sequence[int | None],
    *,
    replications: int = 10,
    workers: int = 1,
    client: Client | str | None = None,
    progress: bool = True,
    max_memory: int | float | str | None = None,
    desc: str | None = None,
    summary: float | None = None,
    validated: bool = False,
) -> Iterator[tuple[int, Results | pd.DataFrame]]:
    """Simulate each of ``scenarios`` with its seed, keeping only aggregates (the other
    arguments are those of :func:`simulate`): every scenario is checked before any runs, and
    on a cluster every batch of every scenario is submitted before any is waited for, so
    that the cluster stays busy. With ``summary`` (a confidence level), each scenario gives
    only its ``Results.summary(summary)``, built from the replications' statistics without
    the other tables (:func:`hallsim.results.summary_of`): what a sweep needs, at a fraction
    of the cost. ``validated``: the scenarios were validated just now and not changed since
    (a sweep's points), so they are not checked again.

    Yields
    ------
    tuple of int and Results (or DataFrame)
        The scenario's position in ``scenarios`` and its results (its summary), as each
        completes: in order in local processes, in the order their batches complete on a
        cluster.
    """
    if summary is not None:
        check_confidence(summary)
    workers = _workers(workers, client)
    studies = [
        _study(
            scenario,
            replications=replications,
            seed=seed,
            workers=workers,
            client=client,
            keep_tickets=False,
            max_memory=max_memory,
            validated=validated,
        )
        for scenario, seed in zip(scenarios, seeds, strict=True)
    ]
    if not studies:
        return
    for study in studies:
        study.stats_only = summary is not None
    total = sum(study.replications for study in studies)
    with _executor(client, workers) as executor:
        # every study's size is checked before any progress bar
        work = [
            (study, study.jobs(0, study.replications, executor, len(studies))) for study in studies
        ]
        with (
            _progress(studies[0].scenario, total, progress, desc) as bar,
            (
                _first_compile(studies[0].hall, "fast", bar, here=workers == 1, keep_tickets=False)
                if client is None
                else nullcontext()
            ),
        ):
            for index, parts in executor.run(work, bar):
                study = studies[index]
                if summary is None:
                    yield index, _results(study, parts)
                else:
                    yield (
                        index,
                        summary_of(
                            study.hall,
                            parts,
                            scenario=study.scenario,
                            warnings_=_warnings(study),
                            confidence=summary,
                        ),
                    )


@dataclass
class _Study:
    """One simulation, checked and compiled: what its batches need, and what its results
    are built from."""

    hall: CompiledHall
    scenario: Scenario
    replay: LogReplay | None
    seed: int
    replications: int
    keep_tickets: bool
    engine: str
    rules: reference.Rules | None
    max_memory: int | float | str | None
    stats_only: bool = False  # batches send back only what a summary needs

    def jobs(self, first: int, stop: int, executor: _Executor, studies: int = 1) -> list[tuple]:
        """The batches of replications ``first`` to ``stop - 1`` (the jobs of
        :func:`_run_batch`), as many as keep the executor's threads busy (its share of them
        when the executor runs the batches of ``studies`` studies at once); the run's size
        is checked first."""
        threads = executor.threads
        if executor.runs_studies_together:
            threads = math.ceil(threads / studies)
        batch = _batch_size(
            self.hall, stop - first, threads, self.engine, self.replay, executor.batch_scale
        )
        check_size(
            self.hall,
            replications=stop,
            workers=executor.local_workers,
            keep_tickets=self.keep_tickets,
            daily=None if self.replay is None else np.diff(self.replay.day_ptr),
            engine=self.engine,
            max_memory=self.max_memory,
            batch=batch,
        )
        options = (self.keep_tickets, self.engine, self.rules, self.stats_only)
        return [
            (self.seed, start, min(start + batch, stop), *options)
            for start in range(first, stop, batch)
        ]


class _Executor(Protocol):
    """Runs batches of replications: in this process or local ones (:class:`_Processes`), or
    on a Dask cluster (:class:`hallsim._cluster.DaskExecutor`)."""

    threads: int  # batches are sized to keep this many busy
    local_workers: int  # batches in this machine's memory at once (for the size check)
    runs_studies_together: bool  # the batches of several studies share the threads
    batch_scale: int  # batches of this many times BATCH_TICKETS tickets

    def run(
        self, work: Sequence[tuple[_Study, list[tuple]]], bar: tqdm
    ) -> Iterator[tuple[int, list[dict]]]:
        """For each (study, jobs) of ``work``: its position in ``work`` and what
        :func:`_run_batch` returns for each of its jobs, in job order, once all are done;
        ``bar`` advances by each batch's replications as the batch completes."""
        ...


class _Processes:
    """Batches in this process, or in a pool of ``workers`` forked processes that takes the
    batches of every study of the run (a sweep's points, one after the other), kept for the
    next run (:func:`_kept_pool`); each task carries its study pickled (a few kilobytes, a
    megabyte for a hall of 995 items), which a worker unpickles once a run."""

    batch_scale = 1

    def __init__(self, workers: int) -> None:
        self.threads = self.local_workers = workers
        self.runs_studies_together = workers > 1

    def run(
        self, work: Sequence[tuple[_Study, list[tuple]]], bar: tqdm
    ) -> Iterator[tuple[int, list[dict]]]:
        if self.threads == 1 or sum(len(jobs) for _, jobs in work) == 1:
            for index, (study, jobs) in enumerate(work):
                parts = []
                for job in jobs:
                    parts.append(_run_batch(study.hall, job, study.replay))
                    bar.update(parts[-1]["replications"])
                yield index, parts
            return
        parts: list[list[dict]] = [[] for _ in work]
        missing = [len(jobs) for _, jobs in work]
        run = uuid.uuid4().hex  # the studies' key in the workers
        with _ArrayFolder() as folder:
            tasks = []
            for index, (study, jobs) in enumerate(work):
                sent = pickle.dumps((study.hall, study.replay), protocol=pickle.HIGHEST_PROTOCOL)
                tasks += [(run, index, sent, job, folder.path) for job in jobs]
            with _kept_pool(min(self.threads, len(tasks))) as pool:
                for (_, index, *_), result in zip(
                    tasks, pool.map(_run_in_worker, tasks), strict=True
                ):
                    part = folder.received(result)
                    parts[index].append(part)
                    bar.update(part["replications"])
                    missing[index] -= 1
                    if missing[index] == 0:
                        done, parts[index] = parts[index], []
                        yield index, done


# Worker processes stay this long after a run for the next one (a run on kept processes:
# 10,000 Panjin days on two 1.73-1.76x one process, against 1.50-1.55x on new ones)
KEEP_WORKERS_FOR = 60.0  # seconds


class _KeptPool:
    """The pool of worker processes kept between runs (at most one), with what it was
    started for (how many workers, the settings they were forked with; None once a run on
    it failed), the runs using it, and the timer that shuts it down when unused. A forked
    process (a worker, or a user's) keeps none."""

    lock = threading.Lock()
    kept: tuple[tuple | None, ProcessPoolExecutor] | None = None
    users = 0
    timer: threading.Timer | None = None

    @classmethod
    def close(cls) -> None:
        """Shut the kept pool down (its workers exit), unless a run is using it."""
        with cls.lock:
            if cls.users == 0:
                cls._drop()

    @classmethod
    def _drop(cls) -> None:
        if cls.timer is not None:
            cls.timer.cancel()
            if cls.timer is not threading.current_thread():
                cls.timer.join()  # gone before a new pool forks
            cls.timer = None
        if cls.kept is not None:
            _, pool = cls.kept
            cls.kept = None
            pool.shutdown(wait=True, cancel_futures=True)

    @classmethod
    def forget(cls) -> None:
        """In a forked child: the pool, its lock and timer are the parent's."""
        cls.lock = threading.Lock()
        cls.kept = cls.timer = None
        cls.users = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_KeptPool.forget)


def _worker_settings() -> tuple:
    """What a worker reads from this process's modules when it is forked: a pool forked
    with other values is not used again."""
    return (engine_inputs.STREAM_BATCH, engine_inputs.SPAN_TICKETS, SHARED_ARRAY_BYTES)


def _new_pool(workers: int) -> ProcessPoolExecutor:
    # fork: scripts and notebooks need no ``if __name__ == "__main__"`` guard
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_keep_freed_memory
    )


def _keep_freed_memory() -> None:
    """In a worker (a process of hallsim's own): glibc keeps the memory the worker frees,
    and allocates arrays under 32 MB from it, so a batch writes into pages that earlier
    batches used (a page written for the first time costs a page fault). Nothing where
    the C library is not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: keep up to 1 GB freed at the top
        libc.mallopt(-3, 1 << 25)  # M_MMAP_THRESHOLD: its largest value
    except (OSError, AttributeError):
        pass


@contextmanager
def _kept_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``workers`` forked processes: the kept one when it has as many, was forked
    with the same settings and no worker of it died, else a new one that replaces it (a run
    in another thread using the kept one: a pool of this run's own). Kept for
    :data:`KEEP_WORKERS_FOR` seconds after the last run using it; dropped after a run on it
    failed (a worker lost, an interruption)."""
    key = (workers, _worker_settings())
    with _KeptPool.lock:
        kept = _KeptPool.kept
        # a pool whose worker died (killed, out of memory) is broken for good
        usable = kept is not None and kept[0] == key and not getattr(kept[1], "_broken", False)
        if usable or _KeptPool.users == 0:
            if not usable:
                _KeptPool._drop()
                _KeptPool.kept = (key, _new_pool(workers))
            elif _KeptPool.timer is not None:
                _KeptPool.timer.cancel()
                _KeptPool.timer = None
            _KeptPool.users += 1
            pool = _KeptPool.kept[1]
        else:
            pool = None
    if pool is None:
        with _new_pool(workers) as own:
            yield own
        return
    failed = True
    try:
        yield pool
        failed = False
    finally:
        with _KeptPool.lock:
            _KeptPool.users -= 1
            if failed:
                _KeptPool.kept = (None, pool)  # no run takes it again
            if _KeptPool.users == 0:
                if failed or getattr(pool, "_broken", False):
                    _KeptPool._drop()
                else:
                    _KeptPool.timer = threading.Timer(KEEP_WORKERS_FOR, _KeptPool.close)
                    _KeptPool.timer.daemon = True
                    _KeptPool.timer.start()


@contextmanager
def _executor(client: Client | str | None, workers: int) -> Iterator[_Executor]:
    """Local processes without a client; else the cluster (connected for the block when
    ``client`` is an address)."""
    if client is None:
        yield _Processes(workers)
        return
    from ._cluster import connected

    with connected(client) as executor:
        yield executor


def _workers(workers: object, client: object) -> int:
    """The number of local processes (``0``: one per CPU); checks ``client`` against it."""
    if client is not None:
        if workers != 1:
            raise ValueError(
                "workers= runs local processes and client= a Dask cluster: give one of them "
                f"(got workers={workers!r} and a client)"
            )
        from ._cluster import check_client

        check_client(client)
    return (os.cpu_count() or 1) if workers == 0 else _positive_int("workers", workers)


def _study(
    scenario: Scenario,
    *,
    replications: int,
    seed: int | None,
    workers: int,
    client: Client | str | None,
    keep_tickets: bool,
    max_memory: int | float | str | None,
    engine: str = "fast",
    rules: reference.Rules | None = None,
    arrivals: TicketLog | pd.DataFrame | None = None,
    service: str | None = None,
    categories: Mapping[str, str] | None = None,
    windows: Mapping[str, str] | None = None,
    validated: bool = False,
) -> _Study:
    """The arguments of :func:`simulate` checked, the hall compiled (or the log prepared);
    the scenario too, unless ``validated`` (just now, by the caller)."""
    if not isinstance(scenario, Scenario):
        hint = ""
        if isinstance(scenario, str | Path):
            hint = " (read a file with hallsim.load_scenario)"
        raise TypeError(
            f"scenario must be a hallsim.Scenario (got {type(scenario).__name__}){hint}"
        )
    hall = None
    if not validated:
        scenario, hall = _checked(scenario)
    replications = _positive_int("replications", replications)
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
        if client is not None:
            from ._cluster import check_picklable

            check_picklable(rules)
        elif workers > 1:
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
    replay = _replay(scenario, arrivals, service, categories, windows)
    if replay is None and hall is None:
        hall = compile_scenario(scenario)
    return _Study(
        hall=hall if replay is None else replay.hall,
        scenario=scenario if replay is None else replay.scenario,  # the log's days, weekday
        replay=replay,
        seed=int(seed),
        replications=replications,
        keep_tickets=keep_tickets,
        engine=engine,
        rules=rules,
        max_memory=max_memory,
    )


# The last few scenarios simulated, as they were checked: {id(scenario): (a weak reference to
# it, its data then, the scenario validated from that data, compiled)}
_CHECKED: dict[int, tuple[weakref.ref, dict, Scenario, CompiledHall]] = {}
_CHECKED_KEPT = 8


def _checked(scenario: Scenario) -> tuple[Scenario, CompiledHall]:
    """``scenario`` validated from its data and compiled. A model built any way
    (``model_copy(update=...)``, ``model_construct``, a list changed in place) skips its
    checks, so it is checked again the way a file is (ScenarioError on bad values). The same
    object with the same data as a recent call's is not checked or compiled again (the
    draws' plan of its hall is then kept too): a hall of 995 items takes 40 ms to do so."""
    data = scenario.model_dump(by_alias=True)
    kept = _CHECKED.get(id(scenario))
    if kept is not None and kept[0]() is scenario and kept[1] == data:
        return kept[2], kept[3]
    checked = Scenario.model_validate(data)
    hall = compile_scenario(checked)
    if len(_CHECKED) >= _CHECKED_KEPT:
        _CHECKED.pop(next(iter(_CHECKED)), None)
    _CHECKED[id(scenario)] = (weakref.ref(scenario), data, checked, hall)
    return checked, hall


def _replications(
    study: _Study, executor: _Executor, first: int, stop: int, bar: tqdm
) -> list[dict]:
    """The arrays of replications ``first`` to ``stop - 1`` (:func:`_run_batch`), in
    batches run by ``executor``."""
    ((_, parts),) = executor.run([(study, study.jobs(first, stop, executor))], bar)
    return parts


def _results(study: _Study, parts: list[dict]) -> Results:
    """The study's tables from its batches' arrays (in replication order)."""
    results = Results.from_replications(
        study.hall,
        parts,
        scenario=study.scenario,
        seed=study.seed,
        engine=study.engine,
        warnings_=_warnings(study),
    )
    results.rules = study.rules
    if study.replay is not None:
        results.start_date = str(study.replay.first_date.date())
    return results


def _warnings(study: _Study) -> list[str]:
    """The study's warnings known before it runs."""
    # the capacity warnings judge the scenario's drawn arrivals, which a replay does not use
    replay = study.replay
    return capacity_warnings(study.hall) if replay is None else list(replay.warnings)


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
    hall: CompiledHall,
    replications: int,
    workers: int,
    engine: str,
    replay: LogReplay | None,
    scale: int = 1,
) -> int:
    """Replications per batch: enough for ``scale`` x :data:`BATCH_TICKETS` tickets, at most
    :data:`BATCH_CELLS` interval cells, and as many batches for each worker. The simpy
    engine runs replication by replication."""
    if engine == "simpy":
        return 1
    tickets = expected_tickets(hall) if replay is None else replay.n_tickets
    slots = min(hall.n_open_slots + BATCH_OVERTIME_SLOTS, hall.n_slots)
    cells = hall.n_days * slots * hall.n_categories
    largest = max(
        1, min(math.ceil(scale * BATCH_TICKETS / max(tickets, 1.0)), BATCH_CELLS // cells)
    )
    batches = workers * math.ceil(replications / (workers * largest))
    return math.ceil(replications / batches)


def _run_batch(hall: CompiledHall, job: tuple, replay: LogReplay | None) -> dict:
    """Draw, simulate and reduce one batch of replications (``job``: the seed, the first
    replication and the one after the last, and the options); each replication draws from
    its own generators. A long horizon (more than one span of days, :func:`day_spans`) whose
    tickets are not kept runs span by span, each span's tickets dropped once reduced, unless
    a back office carries cases from one day to the next."""
    seed, first, stop, keep_tickets, engine, rules, stats_only = job
    if replay is not None:
        generators = replication_generators(seed, first, stop)
        inputs = TicketInputs.concatenate([replay.inputs(rng) for rng in generators])
        sums = _day_sums(hall, inputs, engine, rules, keep_tickets)
    elif keep_tickets or hall.defers or len(spans := day_spans(hall)) == 1:
        inputs = draw_spans(hall, seed, first, stop)
        sums = _day_sums(hall, inputs, engine, rules, keep_tickets)
    else:

        def span_sums(k: int, first_day: int, stop_day: int) -> dict:
            days = hall.days(first_day, stop_day)
            inputs = draw_seeded(days, seed, first, stop, span=k)
            return _day_sums(days, inputs, engine, rules, keep_tickets=False)

        spanned = ((a, span_sums(k, a, b)) for k, (a, b) in enumerate(spans))
        sums = joined_spans(hall, spanned)
    tables = finished_tables(hall, sums)
    return {key: tables[key] for key in SUMMARY_ARRAYS} if stats_only else tables


def _day_sums(
    hall: CompiledHall,
    inputs: TicketInputs,
    engine: str,
    rules: reference.Rules | None,
    keep_tickets: bool,
) -> dict:
    """Simulate a batch of replications on ``inputs`` and sum it over its days."""
    if engine == "simpy":
        output = EngineOutput.concatenate(
            [reference.run(hall, part, rules=rules, check=False) for part in inputs.split()]
        )
    else:
        output = fast.run(hall, inputs, check=False)
    return day_sums(hall, inputs, output, keep_tickets=keep_tickets)


def _progress(
    scenario: Scenario, replications: int, progress: bool, desc: str | None = None
) -> tqdm:
    # an explicit ``disable`` would override the TQDM_DISABLE environment variable
    options = {} if progress else {"disable": True}
    desc = desc or scenario.name or "simulate"
    return tqdm(total=replications, desc=desc, unit="rep", leave=False, **options)


# While the first batch runs with the engine not yet loaded after this long, numba is
# compiling it: a second process compiles the table kernels meanwhile (batches run here), and
# a progress bar says what is happening
COMPILE_SHARE_AFTER = 1.5  # seconds
COMPILE_NOTICE_AFTER = 3.0


@contextmanager
def _first_compile(hall: CompiledHall, engine: str, bar: tqdm, *, here: bool, keep_tickets: bool):
    """While the block runs, if numba is still compiling the engine (the first run after
    installing): after :data:`COMPILE_SHARE_AFTER` seconds, when the batches run in this
    process (``here``), a second process compiles the kernels that build the tables
    (:mod:`hallsim.engines.warmup`); after :data:`COMPILE_NOTICE_AFTER` seconds, stderr says
    the engine is compiling, so that a progress bar sitting at 0 does not look like a hang
    (silent without a progress bar). Nothing once the engine is loaded."""
    notify = not bar.disable
    if engine != "fast" or not (here or notify) or fast.kernel_loaded(hall):
        yield
        return
    helpers = []

    def share() -> None:
        if not fast.kernel_loaded(hall):
            helpers.append(warmup.start(hall, keep_tickets))

    def notice() -> None:
        if not fast.kernel_loaded(hall):
            tqdm.write(
                "hallsim: compiling the simulation engine (first run only: later runs load "
                "it from numba's cache) ...",
                file=sys.stderr,
            )

    timers = [threading.Timer(COMPILE_SHARE_AFTER, share)] if here else []
    if notify:
        timers.append(threading.Timer(COMPILE_NOTICE_AFTER, notice))
    for timer in timers:
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        for timer in timers:
            timer.cancel()
            timer.join()  # one that has fired finishes (a helper it starts is then stopped)
        for helper in helpers:
            warmup.stop(helper)


# Arrays of a worker's results from this size on travel as files in shared memory (Linux's
# /dev/shm) instead of through the pool's pipe: 1000s of replications send tens of megabytes a
# batch, and pickling them through a pipe cost a second worker a third of its speed-up
SHARED_ARRAY_BYTES = 1 << 20


class _ArrayFolder:
    """A folder in shared memory (``/dev/shm``; ``path`` None where there is none) where
    worker processes leave the large arrays of their results (:func:`_sent`) and this
    process takes them back (:meth:`received`); removed, with whatever is left, on exit."""

    def __init__(self) -> None:
        self.path: str | None = None

    def __enter__(self) -> _ArrayFolder:
        if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
            self.path = tempfile.mkdtemp(prefix="hallsim-", dir="/dev/shm")
        return self

    def __exit__(self, *exc) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)

    def received(self, value):
        """``value`` (a worker's result) with the arrays it left as files read back."""
        if isinstance(value, dict):
            return {key: self.received(item) for key, item in value.items()}
        if isinstance(value, _SharedArray):
            # mapped, not read: its pages are the file's (copied only where written to), and
            # stay this array's once the file is removed
            array = np.asarray(np.load(value.path, mmap_mode="c"))
            os.remove(value.path)
            return array
        return value


@dataclass(frozen=True)
class _SharedArray:
    """Where a worker left an array (see :class:`_ArrayFolder`)."""

    path: str


def _sent(value, folder: str | None):
    """A worker's result ready to send: its large arrays left in ``folder`` as files."""
    if isinstance(value, dict):
        return {key: _sent(item, folder) for key, item in value.items()}
    if folder is not None and isinstance(value, np.ndarray) and value.nbytes >= SHARED_ARRAY_BYTES:
        path = os.path.join(folder, f"{os.getpid()}-{uuid.uuid4().hex}.npy")
        # an interval array is a view of the slots shown: numpy writes a strided array value
        # by value, 5x slower than copying it first and writing the copy
        np.save(path, np.ascontiguousarray(value))
        return _SharedArray(path)
    return value


# the studies of the run a worker is in: {(run, index): (hall, replay)}
_worker_studies: dict[tuple[str, int], tuple[CompiledHall, LogReplay | None]] = {}


def _run_in_worker(task: tuple) -> dict:
    """One batch in a worker process (``task``: its run, its study's position in the run and
    the study pickled, the job, the folder for large arrays). A worker unpickles a study
    once per run and keeps only those of its current run."""
    run, index, sent, job, folder = task
    if (run, index) not in _worker_studies:
        if any(key[0] != run for key in _worker_studies):
            _worker_studies.clear()
        _worker_studies[run, index] = pickle.loads(sent)
    hall, replay = _worker_studies[run, index]
    return _sent(_run_batch(hall, job, replay), folder)


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
