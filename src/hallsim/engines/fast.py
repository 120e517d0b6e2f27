"""The fast engine: the numba event loop behind a validating wrapper."""

from __future__ import annotations

import numpy as np

from .. import _kernels
from ..compile import IN_SYSTEM, CompiledHall
from .inputs import TicketInputs, check_inputs
from .output import EngineOutput

__all__ = ["run"]


def run(
    hall: CompiledHall, inputs: TicketInputs, *, check: bool = True, batch_only: bool = False
) -> EngineOutput:
    """Simulate one replication of ``hall`` on pre-drawn ``inputs``.

    ``check=False`` skips validating ``inputs`` (for inputs from :func:`draw_inputs`).
    ``batch_only=True`` applies the full rules at every instant instead of the short path for
    an instant with one event; the result is the same (tests use it to prove that).
    """
    if check:
        check_inputs(hall, inputs)
    n = inputs.n_tickets
    called = np.full(n, np.nan)
    start = np.full(n, np.nan)
    end = np.full(n, np.nan)
    window = np.full(n, -1, dtype=np.int64)
    outcome = np.full(n, IN_SYSTEM, dtype=np.int8)
    n_periods_max = max(hall.n_days * hall.max_window_periods, 1)
    period_window = np.empty(n_periods_max, dtype=np.int64)
    period_start = np.empty(n_periods_max)
    period_end = np.empty(n_periods_max)
    day_open = np.arange(hall.n_days) * 1440.0 + hall.open_minute
    n_periods = _kernels.simulate_days(
        inputs.issued,
        inputs.category,
        inputs.service,
        inputs.patience,
        inputs.day_ptr,
        day_open,
        hall.category_priority,
        hall.window_group,
        hall.group_first,
        hall.group_count,
        hall.group_ncat,
        hall.factor,
        hall.group_cat_ptr,
        hall.group_cat_idx,
        hall.cat_group_ptr,
        hall.cat_group_idx,
        hall.event_minute - hall.open_minute,
        hall.event_kind,
        hall.event_group,
        called,
        start,
        end,
        window,
        outcome,
        period_window,
        period_start,
        period_end,
        batch_only,
    )
    return EngineOutput(
        called=called,
        start=start,
        end=end,
        window=window,
        outcome=outcome,
        period_window=period_window[:n_periods].copy(),
        period_start=period_start[:n_periods].copy(),
        period_end=period_end[:n_periods].copy(),
    )
