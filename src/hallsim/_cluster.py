"""Batches of replications on a Dask cluster: ``simulate(..., client=...)``.

Each study (its compiled hall, and the prepared log of a replay) is sent once, as the result
of a task of its own that the study's batches depend on. Each batch of replications (a job
of :func:`hallsim.runner._run_batch`: the seed, the first replication and the one after the
last, and the options) is one task: it draws its replications' inputs from the seed on the
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

        payloads = self._payloads([study for study, _ in work])
        pending: dict[str, Future] = {}
        where: dict[str, tuple[int, int]] = {}
        for index, ((_, jobs), payload) in enumerate(zip(work, payloads, strict=True)):
            # a map per study: the scheduler runs the studies' tasks in the order submitted
            keys = [f"hallsim-batch-{uuid.uuid4().hex}" for _ in jobs]
            pending.update(
                zip(
                    keys,
                    self.client.map(_batch, [payload] * len(jobs), jobs, key=keys),
                    strict=True,
                )
            )
            where.update((key, (index, position)) for position, key in enumerate(keys))
        parts: list[list[dict | None]] = [[None] * len(jobs) for _, jobs in work]
        missing = [len(jobs) for _, jobs in work]
        # as_completed runs on the default client's event loop unless told: this client's
        done = as_completed(list(pending.values()), loop=self.client.loop, with_results=True)
        try:
            for future, part in done:
                if isinstance(part, BaseException):  # a task cancelled (not failed) on the way
                    raise part
                del pending[future.key]  # the worker may drop it: it is here now
                index, position = where[future.key]
                parts[index][position] = part
                bar.update(part["replications"])
                missing[index] -= 1
                if missing[index] == 0:
                    study_parts, parts[index] = parts[index], []
                    yield index, study_parts
        finally:
            if pending:  # an error, or the caller stopped
                self.client.cancel(list(pending.values()))

    def _payloads(self, studies: list[runner._Study]) -> list[Future]:
        """Each study's hall and replay as the result of a task of its own (once per
        study), which the batches depend on. Not scattered: data scattered to workers is
        lost with them (a batch that needs it is then cancelled), while a task's result is
        computed again on another worker."""
        for study in studies:
            if id(study) not in self._payload:
                key = f"hallsim-study-{uuid.uuid4().hex}"
                future = self.client.submit(_study_payload, study.hall, study.replay, key=key)
                self._payload[id(study)] = (study, future)
        return [self._payload[id(study)][1] for study in studies]


def _study_payload(hall, replay) -> tuple:
    """A study's hall and replay, as a task's result (see ``DaskExecutor._payloads``)."""
    return hall, replay


def _batch(payload: tuple, job: tuple) -> dict:
    """One batch of replications, on a worker (:func:`hallsim.runner._run_batch`)."""
    hall, replay = payload
    return runner._run_batch(hall, job, replay)
