"""The first run's compilation, shared with a second process.

The first simulation after installing compiles numba's kernels into its on-disk cache, one
after the other in one process: the event loop (most of the time), then the kernels that
build the result tables. While this process compiles the event loop, :func:`start` has a
second one compile the table kernels into the same cache (from a batch in which nothing
happened, :func:`hallsim.engines.fast.idle_output`: the same array types as a real batch),
so this process finds them there. The second process only ever adds to numba's cache, whose
files numba writes whole (a temporary file renamed into place); when it is slower, or
there is one CPU, this process compiles them itself as it would have anyway.
"""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np

from ..compile import CompiledHall
from ..size import available_cpus

__all__ = ["compile_tables", "start", "stop"]


def start(hall: CompiledHall, keep_tickets: bool) -> subprocess.Popen | None:
    """A process compiling the table kernels of ``hall`` (None with one CPU). Stop it with
    :func:`stop` once it is no longer needed."""
    if available_cpus() < 2:
        return None
    try:
        payload = pickle.dumps((hall, keep_tickets))
    except Exception:  # noqa: BLE001 (a hall that cannot travel: this process compiles all)
        return None
    process = subprocess.Popen(
        [sys.executable, "-m", __name__],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        process.stdin.write(payload)
        process.stdin.close()
    except OSError:  # it is gone already: nothing is lost
        pass
    return process


def stop(process: subprocess.Popen | None) -> None:
    """End ``process`` if it is still compiling (this process has compiled what it needed)."""
    if process is not None and process.poll() is None:
        process.terminate()
        process.wait()


def compile_tables(hall: CompiledHall, keep_tickets: bool) -> None:
    """Build the tables of batches of one and of two replications of ``hall`` in which
    nothing happened (the arrays of a batch of several are strided views: other types)."""
    from .. import _kernels
    from ..results import replication_tables
    from . import fast
    from .inputs import draw_seeded

    for replications in (1, 2):
        inputs = draw_seeded(hall, 0, 0, replications)
        output = fast.idle_output(hall, inputs)
        replication_tables(hall, inputs, output, keep_tickets=keep_tickets)
    if keep_tickets:  # the ticket table's numbering, from the tickets of each replication
        _kernels.ticket_numbers(np.diff(inputs.ticket_ptr))


if __name__ == "__main__":
    compile_tables(*pickle.loads(sys.stdin.buffer.read()))
