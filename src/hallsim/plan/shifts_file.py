"""Shift files: the shift types, staff types and options of a schedule, as TOML.

```toml
interval_min = 15          # optional: the schedule's grid
windows = 10               # optional: physical windows (at most this many at work at once)
shortfall_cost = 100       # optional: report uncoverable intervals instead of failing

[[shift]]
name = "early"
length_min = 480           # paid, breaks included
earliest = "08:00"
latest = "09:00"
every_min = 15
cost_per_hour = 1.0
staff_type = "generalist"  # optional
breaks = [{ length_min = 30, after_min = [180, 300] }]

[[staff_type]]             # optional
name = "generalist"
skills = ["*"]
cost_factor = 1.0
count = 10
```

Every error names the file and the place in it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ..errors import PlanError
from .shifts import Break, ShiftType, StaffType

__all__ = ["read_shifts"]

_OPTIONS = {"interval_min", "windows", "shortfall_cost", "time_limit_s"}
_SHIFT = {
    "name",
    "length_min",
    "earliest",
    "latest",
    "every_min",
    "cost_per_hour",
    "staff_type",
    "breaks",
}
_STAFF = {"name", "skills", "cost_factor", "count"}


def read_shifts(path: str | Path) -> tuple[list[ShiftType], list[StaffType] | None, dict]:
    """Shift types, staff types (``None`` if the file has none) and schedule options."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise PlanError(f"{path}: cannot read the file: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise PlanError(f"{path}: not valid TOML: {error}") from None
    unknown = sorted(set(data) - _OPTIONS - {"shift", "staff_type"})
    if unknown:
        raise PlanError(
            f"{path}: unknown keys {unknown}; expected {sorted(_OPTIONS)}, "
            "[[shift]] and [[staff_type]]"
        )
    shifts = data.get("shift")
    if not isinstance(shifts, list) or not shifts:
        raise PlanError(f"{path}: needs at least one [[shift]] table")
    shift_types = [
        _build(path, f"shift[{k}]", entry, _SHIFT, _shift_type) for k, entry in enumerate(shifts)
    ]
    staff = data.get("staff_type")
    staff_types = None
    if staff is not None:
        if not isinstance(staff, list):
            raise PlanError(f"{path}: staff_type must be [[staff_type]] tables")
        staff_types = [
            _build(path, f"staff_type[{k}]", entry, _STAFF, lambda e: StaffType(**e))
            for k, entry in enumerate(staff)
        ]
    options = {key: data[key] for key in _OPTIONS if key in data}
    return shift_types, staff_types, options


def _shift_type(entry: dict) -> ShiftType:
    breaks = entry.pop("breaks", [])
    if not isinstance(breaks, list):
        raise PlanError(f"breaks must be a list of tables (got {breaks!r})")
    made = []
    for k, item in enumerate(breaks):
        if not isinstance(item, dict) or set(item) - {"length_min", "after_min"}:
            raise PlanError(
                f"breaks[{k}] must be {{ length_min = .., after_min = [lo, hi] }} (got {item!r})"
            )
        after = item.get("after_min")
        if not isinstance(after, list) or len(after) != 2:
            raise PlanError(f"breaks[{k}].after_min must be [lo, hi] (got {after!r})")
        made.append(Break(item.get("length_min"), tuple(after)))
    return ShiftType(**entry, breaks=made)


def _build(path: Path, where: str, entry: Any, keys: set[str], make) -> Any:
    if not isinstance(entry, dict):
        raise PlanError(f"{path}: {where} must be a table (got {entry!r})")
    unknown = sorted(set(entry) - keys)
    if unknown:
        raise PlanError(f"{path}: {where}: unknown keys {unknown}; expected {sorted(keys)}")
    try:
        return make(dict(entry))
    except (PlanError, TypeError) as error:
        raise PlanError(f"{path}: {where}: {error}") from None
