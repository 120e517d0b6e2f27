"""Planning: staffing requirements, shift schedules, window layouts and tidal plans.

``import hallsim.plan as hp``. A :class:`Target` says what the hall must achieve in every
planning interval; :func:`requirements` turns demand into staff per interval and group of
windows; :func:`schedule` covers requirements with shifts at least cost; :func:`layout`
chooses which categories each group of windows serves;
:func:`tidal` plans front desk and back office together; :func:`verify` checks a plan by
simulation and repairs it.
"""

from .demand import demand_table
from .layout import Layout, layout
from .requirements import METHODS, requirements
from .schedule import Break, Schedule, ShiftType, StaffType, schedule
from .target import Target
from .tidal import tidal
from .verify import Verification, verify

__all__ = [
    "METHODS",
    "Break",
    "Layout",
    "Schedule",
    "ShiftType",
    "StaffType",
    "Target",
    "Verification",
    "demand_table",
    "layout",
    "requirements",
    "schedule",
    "tidal",
    "verify",
]
