"""Every numba kernel of hallsim. Private: call them through the validating wrappers in
:mod:`hallsim.engines.fast` and :mod:`hallsim.engines.inputs`.

The event loop follows the rules documented in :mod:`hallsim.engines` (the semantics both
engines share). Kernels never draw random numbers: they transform pre-drawn inputs, so another
engine can consume the very same draws. A "window" here is what the engines serve at: a post
(:mod:`hallsim.staffing`), which is a window of the hall when nobody rotates or switches.

One module per stage:

- :mod:`.inputs`: walk-ins' issue times and categories, tickets by category;
- :mod:`.heaps`: the event loop's timetables (binary heaps) and ring positions;
- :mod:`.calls`: the call and window helpers (refusals, serving, recalls, opening and
  closing windows, the call of a ticket by rule or by priority);
- :mod:`.pools`: reserve pools;
- :mod:`.event_loop`: ``simulate_days``, the loop itself, and its bundles of arrays;
- :mod:`.fcfs`: ``simulate_fcfs_days``, for halls of independent FCFS window groups;
- :mod:`.backoffice`: ``stage_fcfs``, the back offices and pickup windows;
- :mod:`.aggregates`: what the result tables are built from.
"""

from .aggregates import (
    segment_ranks,
    segment_sums,
    slot_areas,
    ticket_aggregates,
    ticket_columns,
    ticket_numbers,
)
from .backoffice import stage_fcfs
from .calls import balk_probability
from .event_loop import HallArrays, Output, Pools, Tickets, simulate_days
from .fcfs import simulate_fcfs_days
from .inputs import (
    arrival_times,
    assign_categories,
    category_guide,
    in_issue_order,
    walk_ins,
)

__all__ = [
    "HallArrays",
    "Output",
    "Pools",
    "Tickets",
    "arrival_times",
    "assign_categories",
    "balk_probability",
    "category_guide",
    "in_issue_order",
    "segment_ranks",
    "segment_sums",
    "simulate_days",
    "simulate_fcfs_days",
    "slot_areas",
    "stage_fcfs",
    "ticket_aggregates",
    "ticket_columns",
    "ticket_numbers",
    "walk_ins",
]
