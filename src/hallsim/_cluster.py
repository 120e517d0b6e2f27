"""Batches of replications on a Dask cluster: ``simulate(..., client=...)``.

Each study (its compiled hall, and the prepared log of a replay) travels with its batch when
it has one, else once, as the result of a task of its own that its batches depend on. Each
batch of replications (a job of :func:`hallsim.runner._run_batch`: the seed, the first
replication and the one after the last, and the options) is one task (many small ones, a
sweep's points, a few to a task): it draws its replications' inputs from the seed on the
worker, simulates them and reduces them to the result arrays there. The client collects the
batches as they complete (the progress bar advances then) and hands each study's back in
replication order. A task whose worker is lost is run again by Dask on another worker: it
draws the same inputs from the same seed, so the tables do not change.

dask is imported only here, and this module only when a client is given, so that
``import hallsim`` does not pay for it.
"""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING

from . import runner

if TYPE_CHECKING:
    from distributed import Client, Future
    from tqdm.auto import tqdm

    from .engines.reference import Rules

__all__ = ["DaskExecutor", "check_client", "check_picklable", "connected"]

INSTALL = "pip install hallsim[dask]"
# How long a run waits for a first worker when the scheduler has none
WAIT_FOR_WORKERS = 60.0  # seconds
# With more batches than this many per cluster thread, tasks take several batches each
TASKS_PER_THREAD = 16
# A task's batch holds this many times runner.BATCH_TICKETS tickets (see there)
CLUSTER_BATCH_SCALE = 2


def check_client(client: object) -> None:
    """``TypeError`` unless ``client`` is a ``dask.distributed.Client`` or an address;
    ``ImportError`` saying what to install when dask is missing."""
    if isinstance(client, str):
        try:
            from distributed.comm import parse_address, parse_host_port
        except ImportError as error:
            raise ImportError(
                f"client= runs on a Dask cluster, which needs dask.distributed: {INSTALL} ({error})"
            ) from None
        try:
            scheme, location = parse_address(client)
            if scheme in ("tcp", "tls"):
                parse_host_port(location)
        except ValueError as error:
            raise ValueError(
                f"client: a scheduler address like 'tcp://host:8786' (got {client!r}: {error})"
            ) from None
        return
    try:
        from distributed import Client
    except ImportError:  # then it is not a Client
        Client = None  # noqa: N806
    if Client is None or not isinstance(client, Client):
        raise TypeError(
            "client must be a dask.distributed.Client or a scheduler address such as "
            f"'tcp://host:8786' (got {type(client).__name__}: {client!r})"
        )


def check_picklable(rules: Rules) -> None:
    """``ValueError`` if the rules cannot be sent to the workers (Dask pickles what pickle
    cannot with cloudpickle)."""
    import cloudpickle

    try:
        cloudpickle.dumps(rules)
    except (pickle.PicklingError, AttributeError, TypeError) as error:
        raise ValueError(
            f"with client= the rules are sent to the cluster's workers, so they must pickle "
            f"({error})"
        ) from None


@contextmanager
def connected(client: Client | str) -> Iterator[DaskExecutor]:
    """An executor on ``client``; for an address, a client connected for the block."""
    if not isinstance(client, str):
        yield DaskExecutor(client)
        return
    from distributed import Client

    try:
        connection = Client(client, set_as_default=False)
    except OSError as error:  # no scheduler there (a time-out), or a bad address
        raise ConnectionError(
            f"cannot connect to a Dask scheduler at {client!r}: {error}"
        ) from None
    with connection:
        yield DaskExecutor(connection)


class DaskExecutor:
    """Runs batches of replications as the tasks of a Dask cluster (see the module doc)."""

    local_workers = 1  # the size check counts one batch (a worker's) and the results here
    runs_studies_together = True  # every batch of every study is submitted at once
    batch_scale = CLUSTER_BATCH_SCALE

    def __init__(self, client: Client) -> None:
        self.client = client
        self._payload: dict[int, tuple[runner._Study, Future]] = {}

    @cached_property
    def threads(self) -> int:
        """The cluster's threads (on all its workers), waiting for a first worker."""
        nthreads = self.client.nthreads()
        if not nthreads:
            try:
                self.client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS)
            except TimeoutError:
                address = self.client.scheduler.address
                raise RuntimeError(
                    f"the Dask scheduler at {address} has no worker (waited "
                    f"{WAIT_FOR_WORKERS:.0f} s): start some with `dask worker {address}`"
                ) from None
            nthreads = self.client.nthreads()
        return sum(nthreads.values())

    def run(
        self, work: Sequence[tuple[runner._Study, list[tuple]]], bar: tqdm
    ) -> Iterator[tuple[int, list[dict]]]:
        """Submit every batch of every study, then yield each study's position and its
        batches' arrays (in job order) once all have completed."""
        from distributed import as_completed

        payloads = self._payloads(work)
        # every batch: its study's position and its own, what it takes, in the order
        # submitted (the scheduler runs tasks in that order)
        batches = [
            (index, position, payload, job)
            for index, ((_, jobs), payload) in enumerate(zip(work, payloads, strict=True))
            for position, job in enumerate(jobs)
        ]
        # many batches (a sweep's points) travel several to a task, leaving TASKS_PER_THREAD
        # tasks per thread: a task each would cost the scheduler more than they compute
        size = max(1, len(batches) // (TASKS_PER_THREAD * self.threads))
        pending: dict[str, Future] = {}
        where: dict[str, list[tuple[int, int]]] = {}
        for first in range(0, len(batches), size):
            group = batches[first : first + size]
            key = f"hallsim-batch-{uuid.uuid4().hex}"
            pending[key] = self.client.submit(
                _batches, [(payload, job) for _, _, payload, job in group], key=key
            )
            where[key] = [(index, position) for index, position, _, _ in group]
        parts: list[list[dict | None]] = [[None] * len(jobs) for _, jobs in work]
        missing = [len(jobs) for _, jobs in work]
        # as_completed runs on the default client's event loop unless told: this client's
        done = as_completed(list(pending.values()), loop=self.client.loop, with_results=True)
        try:
            for future, group in done:
                if isinstance(group, BaseException):  # a task cancelled (not failed) on the way
                    raise group
                del pending[future.key]  # the worker may drop it: it is here now
                for (index, position), part in zip(where[future.key], group, strict=True):
                    parts[index][position] = part
                    bar.update(part["replications"])
                    missing[index] -= 1
                    if missing[index] == 0:
                        study_parts, parts[index] = parts[index], []
                        yield index, study_parts
        finally:
            if pending:  # an error, or the caller stopped
                self.client.cancel(list(pending.values()))

    def _payloads(self, work: Sequence[tuple[runner._Study, list[tuple]]]) -> list:
        """What each study's batches take as its hall and replay: for a study of one batch,
        the hall and replay themselves, sent with the batch; for more, a task of the
        study's own (once per study) whose result they share. Not scattered: data scattered
        to workers is lost with them (a batch that needs it is then cancelled), while a
        task is run again on another worker."""
        payloads = []
        for study, jobs in work:
            payload = _Payload(study.hall, study.replay)
            if id(study) not in self._payload and len(jobs) > 1:
                key = f"hallsim-study-{uuid.uuid4().hex}"
                future = self.client.submit(_study_payload, payload, key=key)
                self._payload[id(study)] = (study, future)  # the study kept: its id stays its
            payloads.append(self._payload[id(study)][1] if id(study) in self._payload else payload)
        return payloads


class _Payload:
    """A study's hall and replay, as its batches take them (a plain object: Dask looks
    into the tuples and lists of a task's arguments)."""

    def __init__(self, hall, replay) -> None:
        self.hall = hall
        self.replay = replay


def _study_payload(payload: _Payload) -> _Payload:
    """A study's payload as a task's result (see ``DaskExecutor._payloads``)."""
    return payload


def _batches(batches: list[tuple[_Payload, tuple]]) -> list[dict]:
    """Batches of replications (each with its study's payload), on a worker, one after the
    other (:func:`hallsim.runner._run_batch`)."""
    return [runner._run_batch(payload.hall, job, payload.replay) for payload, job in batches]
