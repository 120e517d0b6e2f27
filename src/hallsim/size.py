"""How large a run will be, checked before anything is allocated.

:func:`run_size` estimates, from the compiled hall alone, the tickets a run draws and the memory
it needs: the tickets of a replication (walk-ins at the upper end of their Poisson count, and
the booked ones), the arrays the engine and the result tables keep per ticket, and the
per-interval tables (days x reporting slots x ticket classes, per replication). A long
horizon whose tickets are not kept runs span by span (:func:`hallsim.engines.inputs.day_spans`):
only the largest span's tickets are worked on at once. The bytes per
item are measured on this implementation (``benchmarks/bench_size.py`` checks them against
the peak memory of real runs); the estimate errs on the large side.

:func:`check_size` compares the estimate with the memory the caller allows (``max_memory``),
by default what the machine has available (and the process's address-space limit, if set), and
raises a :class:`~hallsim.errors.ScenarioError` that says how large the run is and what makes
it so, before :func:`hallsim.simulate` draws anything.
"""

from __future__ import annotations

import math
import os
import re
import resource
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .errors import Issue, ScenarioError

if TYPE_CHECKING:
    from .compile import CompiledHall

__all__ = [
    "RunSize",
    "available_cpus",
    "available_memory",
    "check_size",
    "expected_tickets",
    "parse_memory",
    "run_size",
]

# Bytes per ticket of one replication while it runs: its inputs and the engine's output
# (measured: 73), and per reserve pool the activation arrays (two entries of 33 bytes)
TICKET_WORK = 100
POOL_TICKET_WORK = 66
# The simpy engine's objects live while a ticket waits or is served; measured: about 125
# bytes a ticket in all with 200,000 tickets
SIMPY_TICKET_WORK = 100
# Bytes per ticket kept for the ticket table: the replication's arrays, then the table
# (measured: about 80 with several replications); without it, the served tickets' waits (the
# quantiles of the statistics need them)
TICKET_KEPT = 90
WAIT_KEPT = 8
# Bytes per (day, slot, ticket class) cell: the kernel's accumulators while a replication
# runs, and what a replication keeps (three counts in at most 4 bytes, three sums of 8 and
# open windows per group). Cells count every slot to midnight, of which a day uses its
# opening hours and the overtime it runs into: the estimate errs on the large side. The
# interval table built from the kept cells when ``Results.intervals`` is first read (about
# 80 bytes a row) is not part of the run.
CELL_WORK = 24
CELL_KEPT = 44
# Bytes per (day, slot, window group) cell while a replication runs (open windows)
GROUP_CELL_WORK = 8
# Each worker process beyond the first: an interpreter with numpy, pandas and the kernels
WORKER = 300 * 2**20


class RunSize(NamedTuple):
    """The estimated size of a run: tickets of the largest day and of one replication
    (walk-ins at their Poisson upper bound, plus bookings), interval-table cells of one
    replication, and peak bytes."""

    tickets_per_day: float
    tickets: float
    cells: int
    bytes: float

    def describe(self) -> str:
        return (
            f"about {_number(self.tickets_per_day)} tickets a day, {_number(self.tickets)} a "
            f"replication, {_number(self.cells)} interval cells a replication: "
            f"{format_bytes(self.bytes)}"
        )


def run_size(
    hall: CompiledHall,
    *,
    replications: int = 1,
    workers: int = 1,
    keep_tickets: bool = True,
    daily: np.ndarray | None = None,
    engine: str = "fast",
    batch: int = 1,
) -> RunSize:
    """Estimate the tickets and peak memory of simulating ``hall`` (see the module doc);
    ``daily`` gives each day's tickets where they are known (a replayed log). Replications
    run ``batch`` at a time in each worker process."""
    upper = _poisson_upper if daily is None else float  # drawn counts: their far upper end
    if daily is None:
        walk_in, booked = _daily_tickets(hall)
        daily = walk_in + booked
    tickets = upper(float(np.sum(daily)))
    per_day = float(np.max(daily)) if len(daily) else 0.0
    cells = hall.n_days * hall.n_slots * hall.n_categories
    # a long horizon without its tickets kept runs span by span (hallsim.engines.inputs)
    work_days = np.ones(hall.n_days, dtype=bool)
    if not keep_tickets and upper is _poisson_upper and not hall.defers:
        from .engines.inputs import day_spans

        first, stop = max(day_spans(hall), key=lambda span: daily[span[0] : span[1]].sum())
        work_days = slice(first, stop)
    work_tickets = upper(float(np.sum(daily[work_days])))
    work_cells = len(daily[work_days]) * hall.n_slots  # (day, slot) of a span
    working = (
        work_tickets * (TICKET_WORK + POOL_TICKET_WORK * hall.n_pools)
        + (work_tickets * SIMPY_TICKET_WORK if engine == "simpy" else 0.0)
        + work_cells * hall.n_categories * (CELL_WORK + CELL_KEPT)
        + work_cells * hall.n_groups * GROUP_CELL_WORK
    )
    kept = cells * CELL_KEPT + tickets * (TICKET_KEPT if keep_tickets else WAIT_KEPT)
    batch = max(1, min(batch, replications))
    processes = min(workers, math.ceil(replications / batch))
    total = processes * batch * working + (processes - 1) * WORKER + replications * kept
    return RunSize(per_day, tickets, cells, total)


def _poisson_upper(mean: float) -> float:
    """The far upper end of a Poisson count of this mean."""
    return mean + 6.0 * math.sqrt(mean) + 10.0


def expected_tickets(hall: CompiledHall) -> float:
    """The tickets a replication draws on average (walk-ins and bookings, before caps,
    balking and no-shows)."""
    walk_in, booked = _daily_tickets(hall)
    return float(walk_in.sum() + booked.sum())


def _daily_tickets(hall: CompiledHall) -> tuple[np.ndarray, np.ndarray]:
    """Expected walk-in and booked tickets of each day (before caps, balking, no-shows;
    none on a day the hall is closed)."""
    _, lengths = hall.day_pieces()  # (days, pieces)
    factors = hall.weekday_factor[hall.day_weekday]  # (days, C)
    walk_in = ((lengths @ hall.rate_per_min) * factors).sum(axis=1)
    hours = hall.kind_hours[np.maximum(hall.day_kind, 0)]
    taken = (
        (hall.day_kind[:, None] >= 0)
        & (hall.booking_minute[None, :] >= hours[:, :1])
        & (hall.booking_minute[None, :] < hours[:, 1:])
    )
    booked = np.rint(hall.booking_count[None, :] * factors[:, hall.booking_class] * taken)
    return walk_in, booked.sum(axis=1)


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def available_memory() -> float:
    """Bytes this process may still allocate: the machine's available memory, and below the
    address-space limit (``ulimit -v``) if one is set."""
    available = _meminfo("MemAvailable")
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            available = math.inf
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        used = _status("VmSize") or 0.0
        available = min(available, soft - used)
    return float(max(available, 0.0))


def _meminfo(key: str) -> float | None:
    return _kib_field("/proc/meminfo", key)


def _status(key: str) -> float | None:
    return _kib_field("/proc/self/status", key)


def _kib_field(path: str, key: str) -> float | None:
    """A ``key: <n> kB`` line of a /proc file, in bytes (None where there is no /proc)."""
    try:
        with open(path) as lines:
            for line in lines:
                if line.startswith(key + ":"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return None


_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9}
_UNITS |= {"t": 1e12, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


_SIZE = re.compile(r"\s*((?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*")


def parse_memory(value: int | float | str) -> float:
    """Bytes from a number of bytes or a size such as ``"4 GiB"``, ``"512MB"``, ``"2e9"``."""
    problem = f"max_memory must be a number of bytes or a size like '4 GiB' (got {value!r})"
    if isinstance(value, str):
        match = _SIZE.fullmatch(value)
        if match is None or match.group(2).lower() not in _UNITS:
            raise ValueError(problem)
        number = float(match.group(1)) * _UNITS[match.group(2).lower()]
    elif isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        number = float(value)
    else:
        raise ValueError(problem)
    if not (number > 0 and math.isfinite(number)):
        raise ValueError(problem)
    return number


def check_size(
    hall: CompiledHall,
    *,
    replications: int = 1,
    workers: int = 1,
    keep_tickets: bool = True,
    daily: np.ndarray | None = None,
    engine: str = "fast",
    max_memory: int | float | str | None = None,
    batch: int = 1,
) -> RunSize:
    """Raise :class:`ScenarioError` if the run would need more memory than ``max_memory``
    (default: :func:`available_memory`); return its :class:`RunSize` otherwise."""
    allowed = available_memory() if max_memory is None else parse_memory(max_memory)
    size = run_size(
        hall,
        replications=replications,
        workers=workers,
        keep_tickets=keep_tickets,
        daily=daily,
        engine=engine,
        batch=batch,
    )
    if size.bytes <= allowed:
        return size
    source = "max_memory" if max_memory is not None else "available on this machine"
    advice = _advice(hall, size, replications=replications, keep_tickets=keep_tickets)
    raise ScenarioError(
        [
            Issue(
                "run",
                f"too large to simulate: {size.describe()}, and {format_bytes(allowed)} is "
                f"{source}; {advice}",
            )
        ]
    )


def _advice(hall: CompiledHall, size: RunSize, *, replications: int, keep_tickets: bool) -> str:
    """What to change, the largest cause first."""
    walk_in, booked = _daily_tickets(hall)
    hints = []
    if booked.sum() > walk_in.sum():
        hints.append("fewer appointments (appointments.booked)")
    elif size.tickets_per_day > 1e6:
        hints.append("lower arrival rates (arrivals.rate_per_hour)")
    if hall.n_days > 1:
        hints.append(f"fewer days (hall.days = {hall.n_days})")
    if replications > 1:
        hints.append(f"fewer replications ({replications})")
    if keep_tickets:
        hints.append("keep_tickets=False (--no-tickets)")
    if size.cells > 1e7:
        hints.append("a longer interval_min or fewer categories")
    return "try " + ", ".join(hints) if hints else "allow more memory (max_memory)"


def format_bytes(value: float) -> str:
    """``"1.4 GiB"``."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value:.0f} B"


def _number(value: float) -> str:
    return f"{value:.2g}" if value >= 1e5 else f"{value:,.0f}"
