"""Damaged scenarios: random damage to valid scenario data, for the property and fuzz tests.

:func:`damaged_scenarios` starts from a hall built here (``BASE``, or ``OPERATIONS`` with every
operation) or from a shipped scenario file, and damages it one to three times: a random leaf or
subtree replaced with junk (None, zero, negative, huge, nan and infinite numbers, booleans,
text, lists, tables, times of day, ids), a number replaced by an extreme one or scaled by a
large or small power of ten, a key deleted or renamed, an unknown key added, or a list made
shorter or longer.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SHIPPED = {path.name: tomllib.loads(path.read_text()) for path in sorted(SCENARIOS.glob("*.toml"))}

BASE: dict[str, Any] = {
    "schema_version": 1,
    "name": "property hall",
    "hall": {
        "open": "08:00",
        "close": "12:00",
        "days": 1,
        "interval_min": 60,
        "sla_wait_min": 10,
        "first_weekday": "mon",
    },
    "categories": [
        {
            "id": "A",
            "department": "dept1",
            "arrivals": {"rate_per_hour": 10},
            "service": {"dist": "exponential", "mean_min": 5.0},
        },
        {
            "id": "B",
            "arrivals": {"rates_per_hour": [5, 6, 7, 8], "weekday_factors": [1, 1, 1, 1, 1, 0, 0]},
            "service": {"dist": "gamma", "mean_min": 8.0, "cv": 0.5},
            "patience": {"dist": "uniform", "low_min": 1, "high_min": 30},
            "priority": 1,
        },
        {
            "id": "C",
            "arrivals": {"rate_per_hour": 3},
            "service": {"dist": "empirical", "samples_min": [1, 2, 3]},
        },
    ],
    "windows": [
        {
            "id": "W1",
            "count": 2,
            "serves": ["dept1", "B"],
            "open": [["08:00", "10:00"], ["10:30", "12:00"]],
            "generalist_factor": {"B": 1.2},
        },
        {"id": "W2", "count": 1, "serves": ["*"], "generalist_factor": 1.1},
    ],
}

# The same hall with every operation: staff, rotation, tidal and reserve windows, ticket
# classes, deferred cases, the calendar
OPERATIONS: dict[str, Any] = copy.deepcopy(BASE)
OPERATIONS["categories"][0].update(
    {
        "priority_share": {"share": 0.1, "priority": 2},
        "appointments": {"slot_min": 60, "booked": [1, 2, 0, 1], "late_min": 5, "no_show": 0.1},
        "deferred": {"share": 0.5, "back_office": "O"},
    }
)
OPERATIONS["categories"][2]["deferred"] = {"share": 1.0, "back_office": "O", "pickup": False}
OPERATIONS["windows"][1]["tidal"] = [{"from": "10:00", "to": "11:00", "serves": ["A", "C"]}]
OPERATIONS["windows"].append({"id": "R", "serves": ["*"]})
OPERATIONS["staff"] = [
    {"id": "S", "count": 2, "windows": ["W1"], "breaks": [["10:00", "10:30"]]},
    {"id": "Li", "windows": ["W2"], "speed": {"A": 1.2}, "shift": ["08:00", "11:30"]},
    {"id": "relief", "skills": ["*"], "shift": ["10:00", "12:00"]},
]
OPERATIONS["rotation"] = [
    {"staff": "relief", "window": "W1.1", "from": "10:00", "to": "10:30"},
    {"staff": "relief", "window": "W2", "from": "11:30", "to": "12:00"},
]
OPERATIONS["reserve"] = [
    {"id": "P", "staff": 1, "windows": ["R"], "serves": ["A", "B"], "open_queue": 4, "delay_min": 5}
]
OPERATIONS["back_office"] = [
    {"id": "O", "staff": 2, "service": {"dist": "exponential", "mean_min": 30}}
]
OPERATIONS["pickup"] = {"windows": 1, "service": {"dist": "exponential", "mean_min": 2}}
# and a calendar: Friday to Monday, Saturday's own hours, Sunday closed, Monday a holiday;
# category B's rates hourly, reported by the hour as well
OPERATIONS["hall"].update(
    {
        "days": 4,
        "first_weekday": "fri",
        "closed_weekdays": ["sun"],
        "holidays": [3],
        "hours": {"sat": ["09:00", "11:00"]},
    }
)
OPERATIONS["categories"][1]["arrivals"]["rate_interval_min"] = 60

# Values that mean something to the validator, so mutations also reach the deeper checks
# (times, spans, references, dist tags) and not only the type checks.
MEANINGFUL = st.sampled_from(
    [
        "08:00",
        "10:00",
        "12:00",
        "24:00",
        "00:00",
        "7:00",
        "12:60",
        "A",
        "B",
        "C",
        "*",
        "dept1",
        "W1",
        "W2",
        "W1.1",
        "S.1",
        "Li",
        "relief",
        "O",
        "",
        "exponential",
        "deterministic",
        "lognormal",
        "gamma",
        "uniform",
        "empirical",
        "normal",
        "mon",
        "sat",
        "sun",
        "dist",
        "mean_min",
        "rate_per_hour",
        "rates_per_hour",
        ["08:00", "09:00"],
        ["09:00", "08:00"],
        ["07:00", "13:00"],
        [["08:00", "12:00"]],
        {"dist": "exponential", "mean_min": 1},
        {"dist": "uniform", "low_min": 3, "high_min": 3},
        {"dist": "empirical", "samples_min": [0, 0]},
        {"rate_per_hour": 1},
        {"rates_per_hour": []},
        dt.time(8, 0),
        dt.time(8, 0, 30),
        dt.datetime(2024, 1, 1, 8, 0),
        dt.date(2024, 1, 1),
    ]
)
NUMBERS = st.one_of(
    st.sampled_from(
        [
            0,
            -1,
            1,
            2,
            7,
            1440,
            1441,
            -0.0,
            0.5,
            1e-300,
            1e300,
            2**63,
            -(2**63),
            10**30,
            math.nan,
            math.inf,
            -math.inf,
        ]
    ),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
)


TEXTS = st.text(max_size=12)


def junk() -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), NUMBERS, TEXTS, MEANINGFUL)
    nested = st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(
                st.one_of(TEXTS, MEANINGFUL.filter(lambda v: isinstance(v, str))),
                children,
                max_size=4,
            ),
        ),
        max_leaves=8,
    )
    # mostly plausible values, so that the deeper checks get exercised, sometimes any junk;
    # copied, because sampled_from hands out the same list and dict objects every time and
    # the mutations below change what they put in place (shared values would leak between
    # examples, and a list could even be extended with itself)
    return st.one_of(MEANINGFUL, NUMBERS, scalars, nested).map(copy.deepcopy)


Location = tuple[str | int, ...]


def _paths(node: Any, path: Location = ()) -> list[tuple[Location, Any]]:
    """Every (path, value) below ``node``, subtrees and leaves, the root excluded."""
    found = []
    if isinstance(node, dict):
        children = list(node.items())
    elif isinstance(node, list):
        children = list(enumerate(node))
    else:
        children = []
    for key, child in children:
        found.append(((*path, key), child))
        found.extend(_paths(child, (*path, key)))
    return found


def _at(data: Any, path: Location) -> Any:
    for part in path:
        data = data[part]
    return data


KEYS = ["colour", "count", "id", "open", "dist", "cv", "rate_per_hour", "mean_min", "booked"]
KEYS += ["holidays", "closed_weekdays", "hours", "rate_interval_min"]


# How often each kind of damage is drawn: mostly junk (so that validation is exercised), or
# mostly numbers made extreme (so that more damaged halls validate and get simulated)
JUNK = ("replace",) * 4 + ("number", "scale", "delete", "rename", "add_key", "resize")
EXTREME = ("number",) * 3 + ("scale",) * 3 + ("replace", "delete", "rename", "resize")


@st.composite
def damaged_scenarios(
    draw, bases: list[dict[str, Any]] | None = None, kinds: tuple[str, ...] = JUNK
) -> dict[str, Any]:
    """Scenario data from ``bases`` (default ``BASE`` and ``OPERATIONS``) damaged one to three
    times by ``kinds`` of damage (see the module doc)."""
    data = copy.deepcopy(draw(st.sampled_from(bases or [BASE, OPERATIONS])))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        numbers = [
            path
            for path, value in paths
            if isinstance(value, int | float) and not isinstance(value, bool)
        ]
        kind = draw(st.sampled_from(kinds))
        if kind == "replace" and paths:
            path, _ = draw(st.sampled_from(paths))
            _at(data, path[:-1])[path[-1]] = draw(junk())
        elif kind == "number" and numbers:
            path = draw(st.sampled_from(numbers))
            _at(data, path[:-1])[path[-1]] = draw(NUMBERS)
        elif kind == "scale" and numbers:
            path = draw(st.sampled_from(numbers))
            power = draw(st.sampled_from([3, 6, 9, 12, 30, 300, -3, -9, -300]))
            value = _at(data, path)
            scaled = (
                value * 10**power if isinstance(value, int) and power > 0 else value * 10.0**power
            )
            _at(data, path[:-1])[path[-1]] = scaled
        elif kind == "delete" and paths:
            path, _ = draw(st.sampled_from(paths))
            del _at(data, path[:-1])[path[-1]]
        elif kind in ("rename", "add_key"):
            tables = [((), data)] + [(p, v) for p, v in paths if isinstance(v, dict)]
            _, table = draw(st.sampled_from(tables))
            key = draw(st.one_of(TEXTS, st.sampled_from(KEYS)))
            if kind == "rename":
                if not table:
                    continue
                old = draw(st.sampled_from(sorted(table)))
                table[key] = table.pop(old)
            else:
                table[key] = draw(junk())
        elif kind == "resize":
            lists = [v for _, v in paths if isinstance(v, list)]
            if not lists:
                continue
            items = draw(st.sampled_from(lists))
            if items and draw(st.booleans()):
                del items[draw(st.integers(0, len(items) - 1)) :]
            else:
                extra = copy.deepcopy(items[-1]) if items and draw(st.booleans()) else draw(junk())
                items.extend([extra] * draw(st.integers(1, 3)))
    return data
