"""Times of day: ``"HH:MM"`` text and minutes since midnight."""

from __future__ import annotations

import re

__all__ = ["clock", "minutes_of_day"]

_TIME = re.compile(r"(?:([01][0-9]|2[0-3]):([0-5][0-9])|(24):(00))")


def minutes_of_day(text: str) -> int:
    """Minutes since midnight of a ``"HH:MM"`` time (``"24:00"`` is 1440)."""
    match = _TIME.fullmatch(text)
    if match is None:
        raise ValueError(
            f'must be a time of day "HH:MM" between "00:00" and "24:00" (got {text!r})'
        )
    hours, mins = (match.group(1), match.group(2)) if match.group(1) else ("24", "00")
    return int(hours) * 60 + int(mins)


def clock(minute: int) -> str:
    """``"HH:MM"`` of a whole minute of the day."""
    return f"{minute // 60:02d}:{minute % 60:02d}"
