"""Posts: which window is open, worked by whom and serving what, at each time of day.

A *post* is one window worked by one staff member (or by nobody in particular, in a
scenario without ``[[staff]]``, where a window a reserve pool lists opens for the reserve
alone) under one set of served categories and factors, with the
spans of the day it holds. A window changes post when its staff member changes (shifts,
breaks, rotation blocks) or when a tidal block switches what it serves; two posts of one
window, or of one staff member, are never open at the same time. The engines serve at posts;
results add them up per window and per staff member.

Times are whole minutes, so the plan is laid out minute by minute over the opening hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .clock import clock, minutes_of_day

if TYPE_CHECKING:
    from .scenario import Scenario

__all__ = ["Post", "build_posts"]


@dataclass(frozen=True)
class Post:
    """One window, its staff member (-1: unstaffed), what it serves (category indices, with
    the service-time factor of each) and its spans (minutes of day, sorted, disjoint)."""

    window: int
    entry: int
    member: int
    served: tuple[int, ...]
    factors: tuple[float, ...]
    spans: tuple[tuple[int, int], ...]


def _runs(mask: np.ndarray, first: int):
    """``(start, end)`` minute ranges where ``mask`` holds; index 0 is minute ``first``."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [(first + int(a), first + int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def build_posts(scenario: Scenario) -> tuple[list[Post], list[tuple[tuple, str, object]]]:
    """The posts of a scenario whose fields are each valid, and the problems of its staff
    plan (a window staffed twice at once, one person at two windows at once) as
    ``(location, message, value)``."""
    hall = scenario.hall
    first, last = hall.open_minute, hall.close_minute
    length = last - first
    window_names = scenario.window_names
    window_entry = scenario.window_entries
    member_names = [name for staff in scenario.staff for name in staff.names]
    member_entry = [s for s, staff in enumerate(scenario.staff) for _ in staff.names]
    staffed = bool(scenario.staff)
    issues: list[tuple[tuple, str, object]] = []

    def mask(start: str, end: str) -> np.ndarray:
        out = np.zeros(length, dtype=bool)
        a = min(max(minutes_of_day(start), first), last)
        b = min(max(minutes_of_day(end), first), last)
        out[a - first : b - first] = True
        return out

    # minute by minute, for the windows that need it: staffed halls, tidal windows
    laid_out = staffed or any(window.tidal for window in scenario.windows)
    rows = len(window_names) if laid_out else 0
    open_mask = np.zeros((rows, length), dtype=bool)
    block = np.zeros((rows, length), dtype=np.int64)  # 0: usual; k: tidal[k-1]
    for x, e in enumerate(window_entry if laid_out else []):
        window = scenario.windows[e]
        if not staffed and not window.tidal:
            continue  # its post is the window itself, open in its spans
        for start, end in window.open or [(hall.open, hall.close)]:
            open_mask[x] |= mask(start, end)
        for k, tidal in enumerate(window.tidal):
            block[x][mask(tidal.from_, tidal.to)] = k + 1

    member_at = np.full((rows if staffed else 0, length), -1, dtype=np.int64)
    if staffed:
        _assign(scenario, mask, member_names, member_entry, window_names, member_at, first, issues)
        open_mask &= member_at >= 0
    if issues:
        return [], issues

    served_cache: dict[tuple[int, int, int], tuple[tuple[int, ...], tuple[float, ...]]] = {}

    def served(x: int, k: int, m: int):
        """Categories and factors of window ``x`` in tidal block ``k`` (0: none), staffed by
        member ``m`` (-1: nobody in particular)."""
        e = window_entry[x]
        if (e, k, m) not in served_cache:
            window = scenario.windows[e]
            entries = window.serves if k == 0 else window.tidal[k - 1].serves
            categories = scenario.resolve(entries)
            factors = [scenario.factor(window, c) for c in categories]
            if m >= 0:
                staff = scenario.staff[member_entry[m]]
                skills = set(scenario.resolve(staff.skills))
                pairs = [
                    (c, f * scenario.speed(staff, c))
                    for c, f in zip(categories, factors, strict=True)
                    if c in skills
                ]
                categories = [c for c, _ in pairs]
                factors = [f for _, f in pairs]
            served_cache[(e, k, m)] = (tuple(categories), tuple(factors))
        return served_cache[(e, k, m)]

    reserve_only = (
        set()
        if staffed
        else set(
            scenario.window_indices([name for pool in scenario.reserve for name in pool.windows])
        )
    )
    posts: list[Post] = []
    for x, e in enumerate(window_entry):
        window = scenario.windows[e]
        if x in reserve_only:  # opened by its reserve pool alone
            continue
        if not staffed and not window.tidal:
            categories, factors = served(x, 0, -1)
            window_spans = scenario.spans(window)
            if window_spans:  # else never open
                posts.append(Post(x, e, -1, categories, factors, tuple(window_spans)))
            continue
        at = member_at[x] if staffed else -1
        state = np.where(open_mask[x], block[x] * (len(member_names) + 1) + at + 1, -1)
        spans: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for value in np.unique(state[state >= 0]):
            k, m = divmod(int(value), len(member_names) + 1)
            spans[(k, m - 1)] = _runs(state == value, first)
        by_start = sorted(spans.items(), key=lambda item: item[1][0])
        for (k, m), runs in by_start:
            categories, factors = served(x, k, m)
            if categories:
                posts.append(Post(x, e, m, categories, factors, tuple(runs)))
    return posts, issues


def _assign(
    scenario, mask, member_names, member_entry, window_names, member_at, first, issues
) -> None:
    """Fill ``member_at`` (window x minute -> staff member on duty there), reporting a window
    staffed twice at once and a staff member sent to two windows at once."""
    hall = scenario.hall
    length = member_at.shape[1]
    duty = np.zeros((len(member_names), length), dtype=bool)
    home = np.full(len(member_names), -1, dtype=np.int64)
    m = 0
    for staff in scenario.staff:
        shift = staff.shift or (hall.open, hall.close)
        on = mask(*shift)
        for start, end in staff.breaks:
            on &= ~mask(start, end)
        homes = scenario.window_indices(staff.windows)
        for k in range(staff.count):
            duty[m] = on
            if homes:
                home[m] = homes[k]
            m += 1
    rotated = np.full((len(member_names), length), -1, dtype=np.int64)  # rotation block index
    blocks = []
    for j, block in enumerate(scenario.rotation):
        m = member_names.index(block.staff)
        minutes = mask(block.from_, block.to)
        clash = minutes & (rotated[m] >= 0)
        if clash.any():
            other = int(rotated[m][clash][0])
            issues.append(
                (
                    ("rotation", j),
                    f'puts "{block.staff}" at two windows at once: overlaps rotation[{other}]',
                    [block.from_, block.to],
                )
            )
        rotated[m][minutes & (rotated[m] < 0)] = j
        blocks.append((m, window_names.index(block.window), minutes & duty[m], ("rotation", j)))
    homes = [
        (m, home[m], duty[m] & (rotated[m] < 0), ("staff", member_entry[m], "windows"))
        for m in range(len(member_names))
        if home[m] >= 0
    ]
    for m, x, minutes, where in homes + blocks:
        clash = minutes & (member_at[x] >= 0)
        if clash.any():
            holder = member_at[x][clash][0]
            a, b = _runs(clash & (member_at[x] == holder), first)[0]
            other = member_names[holder]
            issues.append(
                (
                    where,
                    f'window "{window_names[x]}" is already worked by "{other}" from '
                    f"{clock(a)} to {clock(b)}",
                    member_names[m],
                )
            )
        member_at[x][minutes & (member_at[x] < 0)] = m
