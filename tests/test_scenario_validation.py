"""Scenario validation: every malformed scenario gives one located line per problem.

Each case below mutates a valid base scenario in one way and names the line it must produce:
the location inside the data (``windows[1] (id="W2").count``) and the offending value
(``(got -1)``). The same cases are checked through ``Scenario.model_validate``, through
``Scenario(**data)`` and through a TOML file read by ``load_scenario`` (where every line must
also start with the file's path).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w

import hallsim
from hallsim import Scenario, ScenarioError, load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

# A valid hall: 08:00-12:00 (four 60-minute intervals), three categories (A has a department,
# B uses rates_per_hour and weekday_factors and has patience, C a uniform service time), two
# window groups (W1 serves department "dept1" and category B in two spans with a per-category
# generalist factor; W2 is comprehensive with a scalar factor).
BASE: dict[str, Any] = {
    "schema_version": 1,
    "name": "test hall",
    "hall": {"open": "08:00", "close": "12:00", "days": 2, "interval_min": 60, "sla_wait_min": 10},
    "categories": [
        {
            "id": "A",
            "name": "Alpha",
            "department": "dept1",
            "arrivals": {"rate_per_hour": 10},
            "service": {"dist": "exponential", "mean_min": 5.0},
        },
        {
            "id": "B",
            "arrivals": {"rates_per_hour": [5, 6, 7, 8], "weekday_factors": [1, 1, 1, 1, 1, 0, 0]},
            "service": {"dist": "lognormal", "mean_min": 8.0, "cv": 0.5},
            "patience": {"dist": "exponential", "mean_min": 30.0},
            "priority": 1,
        },
        {
            "id": "C",
            "arrivals": {"rate_per_hour": 3},
            "service": {"dist": "uniform", "low_min": 2, "high_min": 6},
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


@pytest.fixture
def base() -> dict[str, Any]:
    """A fresh deep copy of the valid base scenario."""
    return copy.deepcopy(BASE)


# --- mutations ---------------------------------------------------------------------------------

Path_ = tuple[str | int, ...]


def _parent(data: dict, path: Path_) -> Any:
    node = data
    for part in path[:-1]:
        node = node[part]
    return node


def put(path: Path_, value: Any):
    """Mutation: set the value at ``path`` (adding the key if it is new)."""

    def mutate(data: dict) -> None:
        _parent(data, path)[path[-1]] = copy.deepcopy(value)

    return mutate


def drop(path: Path_):
    """Mutation: delete the key or item at ``path``."""

    def mutate(data: dict) -> None:
        del _parent(data, path)[path[-1]]

    return mutate


def both(*mutations):
    def mutate(data: dict) -> None:
        for mutation in mutations:
            mutation(data)

    return mutate


W1 = 'windows[0] (id="W1")'
W2 = 'windows[1] (id="W2")'
CA = 'categories[0] (id="A")'
CB = 'categories[1] (id="B")'
CC = 'categories[2] (id="C")'

# A staff plan for the base: Li works W2 with a break, during which team.1 relieves her;
# team (two members) works W1.1 and W1.2.
STAFFED = both(
    put(
        ("staff",),
        [
            {"id": "Li", "windows": ["W2"], "breaks": [["10:00", "10:30"]]},
            {"id": "team", "count": 2, "skills": ["dept1", "B"], "windows": ["W1"]},
        ],
    ),
    put(("rotation",), [{"staff": "team.1", "window": "W2", "from": "10:00", "to": "10:30"}]),
)
LI = 'staff[0] (id="Li")'
TEAM = 'staff[1] (id="team")'

# (mutation, location, fragments that must appear in the located line)
CASES = [
    # serves: unknown entries, categories nobody serves
    pytest.param(
        put(("windows", 0, "serves"), ["dept1", "B", "nosuch"]),
        f"{W1}.serves[2]",
        ["not a category id", "(got 'nosuch')"],
        id="serves-unknown-category",
    ),
    pytest.param(
        put(("windows", 1, "serves"), ["A", "B"]),
        CC,
        ["no window serves this category"],
        id="category-served-by-no-window",
    ),
    # arrival rates
    pytest.param(
        put(("categories", 1, "arrivals", "rates_per_hour"), [5, 6, 7]),
        f"{CB}.arrivals.rates_per_hour",
        ["4 values", "(got 3)"],
        id="rates-too-short",
    ),
    pytest.param(
        put(("categories", 1, "arrivals", "rates_per_hour"), [5, 6, 7, 8, 9]),
        f"{CB}.arrivals.rates_per_hour",
        ["4 values", "(got 5)"],
        id="rates-too-long",
    ),
    pytest.param(
        put(("hall", "interval_min"), 30),
        f"{CB}.arrivals.rates_per_hour",
        ["8 values", "(got 4)"],
        id="rates-wrong-length-for-interval",
    ),
    pytest.param(
        put(("categories", 0, "arrivals", "rate_per_hour"), -3),
        f"{CA}.arrivals.rate_per_hour",
        ["must be >= 0", "(got -3)"],
        id="rate-negative",
    ),
    pytest.param(
        put(("categories", 0, "arrivals", "rate_per_hour"), math.inf),
        f"{CA}.arrivals.rate_per_hour",
        ["finite", "(got inf)"],
        id="rate-infinite",
    ),
    pytest.param(
        put(("categories", 1, "arrivals", "rates_per_hour"), [5, -2, 7, 8]),
        f"{CB}.arrivals.rates_per_hour[1]",
        ["must be >= 0", "(got -2)"],
        id="rates-negative-entry",
    ),
    pytest.param(
        put(("categories", 0, "arrivals", "rates_per_hour"), [1, 2, 3, 4]),
        f"{CA}.arrivals",
        ["exactly one of rate_per_hour or rates_per_hour"],
        id="rate-and-rates",
    ),
    pytest.param(
        put(("categories", 0, "arrivals"), {}),
        f"{CA}.arrivals",
        ["exactly one of rate_per_hour or rates_per_hour"],
        id="no-rate",
    ),
    pytest.param(
        put(("categories", 1, "arrivals", "weekday_factors"), [1, 1, 1]),
        f"{CB}.arrivals.weekday_factors",
        ["7", "(got [1, 1, 1])"],
        id="weekday-factors-too-short",
    ),
    pytest.param(
        put(("categories", 1, "arrivals", "weekday_factors"), [1] * 8),
        f"{CB}.arrivals.weekday_factors",
        ["7", "(got [1, 1, 1, 1, 1, 1, 1, 1])"],
        id="weekday-factors-too-long",
    ),
    pytest.param(
        put(("categories", 1, "arrivals", "weekday_factors", 2), -1),
        f"{CB}.arrivals.weekday_factors[2]",
        ["must be >= 0", "(got -1)"],
        id="weekday-factor-negative",
    ),
    # hall hours
    pytest.param(
        put(("hall", "open"), "8am"), "hall.open", ['"HH:MM"', "(got '8am')"], id="open-malformed"
    ),
    pytest.param(
        put(("hall", "open"), "8:00"),
        "hall.open",
        ['"HH:MM"', "(got '8:00')"],
        id="open-one-digit-hour",
    ),
    pytest.param(
        put(("hall", "open"), "25:00"), "hall.open", ['"HH:MM"', "(got '25:00')"], id="open-hour-25"
    ),
    pytest.param(
        put(("hall", "close"), "12:60"),
        "hall.close",
        ['"HH:MM"', "(got '12:60')"],
        id="close-minute-60",
    ),
    pytest.param(
        put(("hall", "close"), 1200), "hall.close", ["string", "(got 1200)"], id="close-a-number"
    ),
    pytest.param(put(("hall", "open"), "24:00"), "hall.open", ["'24:00'"], id="open-at-24:00"),
    pytest.param(
        both(put(("hall", "open"), "12:00"), put(("hall", "close"), "08:00")),
        "hall",
        ["close must be later than open", "'12:00'", "'08:00'"],
        id="hall-hours-reversed",
    ),
    pytest.param(
        put(("hall", "close"), "08:00"),
        "hall",
        ["close must be later than open", "open='08:00', close='08:00'"],
        id="hall-hours-empty",
    ),
    pytest.param(
        put(("hall", "open"), "08:00\n"), "hall.open", ["'08:00\\n'"], id="open-trailing-newline"
    ),
    pytest.param(
        put(("hall", "open"), "0\uff18:00"),
        "hall.open",
        ["'0\uff18:00'"],
        id="open-fullwidth-digit",
    ),
    # other hall settings
    pytest.param(
        put(("hall", "days"), 0), "hall.days", ["must be >= 1", "(got 0)"], id="days-zero"
    ),
    pytest.param(
        put(("hall", "interval_min"), 0),
        "hall.interval_min",
        ["> 0", "(got 0)"],
        id="interval-zero",
    ),
    pytest.param(
        put(("hall", "interval_min"), -30),
        "hall.interval_min",
        ["> 0", "(got -30)"],
        id="interval-negative",
    ),
    pytest.param(
        put(("hall", "sla_wait_min"), -1),
        "hall.sla_wait_min",
        [">= 0", "(got -1)"],
        id="sla-negative",
    ),
    pytest.param(
        put(("hall", "first_weekday"), "monday"),
        "hall.first_weekday",
        ["'mon'", "(got 'monday')"],
        id="first-weekday-unknown",
    ),
    pytest.param(put(("schema_version",), 2), "schema_version", ["(got 2)"], id="schema-version-2"),
    # window spans
    pytest.param(
        put(("windows", 0, "open", 1), ["10:30", "noon"]),
        f"{W1}.open[1][1]",
        ['"HH:MM"', "(got 'noon')"],
        id="span-time-malformed",
    ),
    pytest.param(
        put(("windows", 0, "open", 1), ["12:00", "10:30"]),
        f"{W1}.open[1]",
        ["end after it starts", "(got ['12:00', '10:30'])"],
        id="span-reversed",
    ),
    pytest.param(
        put(("windows", 0, "open", 1), ["10:30", "10:30"]),
        f"{W1}.open[1]",
        ["end after it starts", "(got ['10:30', '10:30'])"],
        id="span-empty",
    ),
    pytest.param(
        put(("windows", 0, "open", 1), ["09:30", "12:00"]),
        f"{W1}.open[1]",
        ["overlaps open[0]", "(got ['09:30', '12:00'])"],
        id="spans-overlap",
    ),
    pytest.param(
        put(("windows", 0, "open"), [["10:30", "12:00"], ["08:00", "11:00"]]),
        f"{W1}.open[0]",
        ["overlaps open[1]", "(got ['10:30', '12:00'])"],
        id="spans-overlap-unsorted",
    ),
    pytest.param(
        put(("windows", 0, "open", 1), ["10:30", "13:00"]),
        f"{W1}.open[1]",
        ["within the hall's hours 08:00-12:00", "(got ['10:30', '13:00'])"],
        id="span-after-closing",
    ),
    pytest.param(
        put(("windows", 0, "open", 0), ["07:30", "10:00"]),
        f"{W1}.open[0]",
        ["within the hall's hours", "(got ['07:30', '10:00'])"],
        id="span-before-opening",
    ),
    pytest.param(
        put(("windows", 0, "open", 1), ["10:30"]),
        f"{W1}.open[1]",
        ["(got ['10:30'])"],
        id="span-one-time",
    ),
    pytest.param(
        put(("windows", 0, "open", 1), ["10:30", "11:00", "12:00"]),
        f"{W1}.open[1]",
        ["(got ['10:30', '11:00', '12:00'])"],
        id="span-three-times",
    ),
    pytest.param(
        put(("windows", 0, "open"), "08:00-12:00"),
        f"{W1}.open",
        ["list", "(got '08:00-12:00')"],
        id="spans-a-string",
    ),
    # counts
    pytest.param(
        put(("windows", 1, "count"), -1),
        f"{W2}.count",
        ["must be > 0", "(got -1)"],
        id="count-negative",
    ),
    pytest.param(
        put(("windows", 1, "count"), 0), f"{W2}.count", ["must be > 0", "(got 0)"], id="count-zero"
    ),
    pytest.param(
        put(("windows", 1, "count"), 1.5),
        f"{W2}.count",
        ["integer", "(got 1.5)"],
        id="count-fractional",
    ),
    pytest.param(
        put(("windows", 1, "count"), "two"),
        f"{W2}.count",
        ["integer", "(got 'two')"],
        id="count-text",
    ),
    pytest.param(
        put(("windows", 1, "count"), True),
        f"{W2}.count",
        ["integer", "(got True)"],
        id="count-boolean",
    ),
    pytest.param(
        put(("windows", 1, "count"), 10**30), f"{W2}.count", ["(got 10000"], id="count-beyond-int64"
    ),
    # service and patience distributions
    pytest.param(
        put(("categories", 0, "service", "mean_min"), 0),
        f"{CA}.service.mean_min",
        ["must be > 0", "(got 0)"],
        id="service-mean-zero",
    ),
    pytest.param(
        put(("categories", 0, "service", "mean_min"), -2),
        f"{CA}.service.mean_min",
        ["must be > 0", "(got -2)"],
        id="service-mean-negative",
    ),
    pytest.param(
        put(("categories", 0, "service", "mean_min"), math.nan),
        f"{CA}.service.mean_min",
        ["finite", "(got nan)"],
        id="service-mean-nan",
    ),
    pytest.param(
        put(("categories", 1, "patience", "mean_min"), -1),
        f"{CB}.patience.mean_min",
        ["must be > 0", "(got -1)"],
        id="patience-mean-negative",
    ),
    pytest.param(
        put(("categories", 1, "service", "cv"), 0),
        f"{CB}.service.cv",
        ["must be >= 0.001", "(got 0)"],
        id="cv-zero",
    ),
    pytest.param(
        put(("categories", 2, "service", "high_min"), 2),
        f"{CC}.service",
        ["high_min must be > low_min", "low_min=2.0", "high_min=2.0"],
        id="uniform-high-equals-low",
    ),
    pytest.param(
        put(("categories", 2, "service", "high_min"), 1),
        f"{CC}.service",
        ["high_min must be > low_min", "low_min=2.0", "high_min=1.0"],
        id="uniform-high-below-low",
    ),
    pytest.param(
        put(("categories", 2, "service"), {"dist": "empirical", "samples_min": [0, 0]}),
        f"{CC}.service",
        ["samples_min", "only zeros"],
        id="empirical-all-zeros",
    ),
    pytest.param(
        put(("categories", 2, "service"), {"dist": "empirical", "samples_min": []}),
        f"{CC}.service.samples_min",
        ["at least 1", "(got [])"],
        id="empirical-empty",
    ),
    pytest.param(
        put(("categories", 0, "service", "dist"), "normal"),
        f"{CA}.service",
        ["unknown dist 'normal'", "exponential"],
        id="dist-unknown",
    ),
    pytest.param(
        drop(("categories", 0, "service", "dist")),
        f"{CA}.service",
        ["needs a dist key"],
        id="dist-missing",
    ),
    pytest.param(
        put(("categories", 1, "service"), "exponential"),
        f"{CB}.service",
        ["table", "(got 'exponential')"],
        id="service-a-string",
    ),
    # generalist factors
    pytest.param(
        put(("windows", 0, "generalist_factor"), {"C": 1.3}),
        f"{W1}.generalist_factor.C",
        ["not a category this window serves", "(got 'C')"],
        id="generalist-factor-category-not-served",
    ),
    pytest.param(
        put(("windows", 0, "generalist_factor"), {"nosuch": 1.3}),
        f"{W1}.generalist_factor.nosuch",
        ["not a category this window serves"],
        id="generalist-factor-unknown-category",
    ),
    pytest.param(
        put(("windows", 1, "generalist_factor"), -1),
        f"{W2}.generalist_factor",
        ["must be > 0", "(got -1)"],
        id="generalist-factor-negative",
    ),
    pytest.param(
        put(("windows", 1, "generalist_factor"), "fast"),
        f"{W2}.generalist_factor",
        ["(got 'fast')"],
        id="generalist-factor-text",
    ),
    pytest.param(
        put(("windows", 0, "generalist_factor"), {"B": 0}),
        f"{W1}.generalist_factor.B",
        ["must be > 0", "(got 0)"],
        id="generalist-factor-table-zero",
    ),
    # unknown keys
    pytest.param(put(("colour",), "blue"), "colour", ["unknown key"], id="unknown-key-top"),
    pytest.param(
        put(("hall", "lunch"), "12:00"), "hall.lunch", ["unknown key"], id="unknown-key-hall"
    ),
    pytest.param(
        put(("windows", 1, "colour"), "blue"),
        f"{W2}.colour",
        ["unknown key"],
        id="unknown-key-window",
    ),
    pytest.param(
        put(("categories", 0, "arrivals", "rate"), 3),
        f"{CA}.arrivals.rate",
        ["unknown key"],
        id="unknown-key-arrivals",
    ),
    pytest.param(
        put(("categories", 0, "service", "sd"), 1),
        f"{CA}.service.sd",
        ["unknown key"],
        id="unknown-key-distribution",
    ),
    # missing keys
    pytest.param(drop(("hall",)), "hall", ["required key is missing"], id="missing-hall"),
    pytest.param(
        drop(("hall", "close")), "hall.close", ["required key is missing"], id="missing-close"
    ),
    pytest.param(
        drop(("categories", 2, "service")),
        f"{CC}.service",
        ["required key is missing"],
        id="missing-service",
    ),
    pytest.param(
        drop(("categories", 2, "id")),
        "categories[2].id",
        ["required key is missing"],
        id="missing-category-id",
    ),
    pytest.param(
        drop(("windows", 1, "serves")),
        f"{W2}.serves",
        ["required key is missing"],
        id="missing-serves",
    ),
    pytest.param(
        drop(("categories", 0, "service", "mean_min")),
        f"{CA}.service.mean_min",
        ["required key is missing"],
        id="missing-mean",
    ),
    # ids and lists
    pytest.param(
        put(("categories", 2, "id"), "A"),
        'categories[2] (id="A").id',
        ["duplicate category id", "(got 'A')"],
        id="duplicate-category-id",
    ),
    pytest.param(
        put(("windows", 1, "id"), "W1"),
        'windows[1] (id="W1").id',
        ["duplicate window id", "(got 'W1')"],
        id="duplicate-window-id",
    ),
    pytest.param(
        put(("categories", 2, "id"), "*"),
        'categories[2] (id="*").id',
        ['"*" is reserved', "(got '*')"],
        id="category-id-star",
    ),
    pytest.param(
        put(("categories", 2, "id"), ""),
        'categories[2] (id="").id',
        ["empty", "(got '')"],
        id="category-id-empty",
    ),
    pytest.param(
        put(("windows", 1, "serves"), []),
        f"{W2}.serves",
        ["at least 1", "(got [])"],
        id="serves-empty",
    ),
    pytest.param(
        put(("windows", 1, "serves"), "*"),
        f"{W2}.serves",
        ["list", "(got '*')"],
        id="serves-a-string",
    ),
    pytest.param(
        put(("categories",), []), "categories", ["at least 1", "(got [])"], id="no-categories"
    ),
    pytest.param(
        put(("categories", 1, "priority"), "high"),
        f"{CB}.priority",
        ["integer", "(got 'high')"],
        id="priority-text",
    ),
    # staff, rotation and tidal blocks (on a staffed copy of the base)
    pytest.param(
        both(STAFFED, put(("staff", 0, "shift"), ["12:00", "09:00"])),
        f"{LI}.shift",
        ["must end after it starts", "['12:00', '09:00']"],
        id="shift-ends-before-it-starts",
    ),
    pytest.param(
        both(STAFFED, put(("staff", 0, "breaks"), [["07:00", "08:30"]])),
        f"{LI}.breaks[0]",
        ["within the shift 08:00-12:00", "['07:00', '08:30']"],
        id="break-outside-shift",
    ),
    pytest.param(
        both(STAFFED, put(("staff", 0, "breaks"), [["10:00", "10:30"], ["10:15", "11:00"]])),
        f"{LI}.breaks[1]",
        ["overlaps breaks[0]", "['10:15', '11:00']"],
        id="breaks-overlap",
    ),
    pytest.param(
        both(STAFFED, put(("staff", 0, "skills"), ["nosuch"])),
        f"{LI}.skills[0]",
        ["not a category id", "'nosuch'"],
        id="staff-skill-unknown",
    ),
    pytest.param(
        both(STAFFED, put(("staff", 1, "speed"), {"C": 1.2})),
        f"{TEAM}.speed.C",
        ["not a skill of this staff", "'C'"],
        id="staff-speed-not-a-skill",
    ),
    pytest.param(
        both(STAFFED, put(("staff", 1, "speed"), 0)),
        f"{TEAM}.speed",
        ["> 0", "(got 0)"],
        id="staff-speed-zero",
    ),
    pytest.param(
        both(STAFFED, put(("staff", 1, "windows"), ["W9"])),
        f"{TEAM}.windows[0]",
        ["not a window name or id", "'W9'"],
        id="staff-home-window-unknown",
    ),
    pytest.param(
        both(STAFFED, put(("staff", 1, "windows"), ["W1.1"])),
        f"{TEAM}.windows",
        ["one home window per staff member: 2, not 1"],
        id="staff-home-windows-too-few",
    ),
    pytest.param(
        both(STAFFED, lambda data: data["staff"].append({"id": "team.1"})),
        'staff[2] (id="team.1").id',
        ['duplicate staff member name "team.1"'],
        id="staff-duplicate-member",
    ),
    pytest.param(
        both(STAFFED, put(("staff", 1, "windows"), ["W2", "W1.1"])),
        f"{TEAM}.windows",
        ['window "W2" is already worked by "Li" from 08:00 to 10:00', "'team.1'"],
        id="window-worked-twice-by-home",
    ),
    pytest.param(
        both(STAFFED, put(("rotation", 0, "staff"), "Wang")),
        "rotation[0].staff",
        ["not a staff member's name", "'Wang'"],
        id="rotation-unknown-staff",
    ),
    pytest.param(
        both(STAFFED, put(("rotation", 0, "window"), "W1")),
        "rotation[0].window",
        ["not a window name", "'W1'"],
        id="rotation-group-not-a-window",
    ),
    pytest.param(
        both(STAFFED, put(("rotation", 0, "to"), "09:00")),
        "rotation[0]",
        ["block must end after it starts", "['10:00', '09:00']"],
        id="rotation-ends-before-it-starts",
    ),
    pytest.param(
        both(
            STAFFED,
            lambda data: data["rotation"].append(
                {"staff": "team.1", "window": "W1.1", "from": "10:15", "to": "11:00"}
            ),
        ),
        "rotation[1]",
        ['puts "team.1" at two windows at once: overlaps rotation[0]'],
        id="rotation-one-person-at-two-windows",
    ),
    pytest.param(
        both(
            STAFFED,
            lambda data: data["rotation"].append(
                {"staff": "team.2", "window": "W2", "from": "10:15", "to": "11:00"}
            ),
        ),
        "rotation[1]",
        ['window "W2" is already worked by "team.1" from 10:15 to 10:30', "'team.2'"],
        id="rotation-window-worked-twice",
    ),
    pytest.param(
        put(("rotation",), [{"staff": "Li", "window": "W2", "from": "10:00", "to": "11:00"}]),
        "rotation",
        ["a rotation needs [[staff]]"],
        id="rotation-without-staff",
    ),
    pytest.param(
        both(STAFFED, drop(("staff", 0)), put(("rotation",), [])),
        CC,
        ["no window serves this category while open"],
        id="category-without-staffed-window",
    ),
    pytest.param(
        put(("windows", 1, "tidal"), [{"from": "11:00", "to": "10:00", "serves": ["A"]}]),
        f"{W2}.tidal[0]",
        ["block must end after it starts", "['11:00', '10:00']"],
        id="tidal-ends-before-it-starts",
    ),
    pytest.param(
        put(
            ("windows", 1, "tidal"),
            [
                {"from": "09:00", "to": "10:00", "serves": ["A", "C"]},
                {"from": "09:30", "to": "11:00", "serves": ["C"]},
            ],
        ),
        f"{W2}.tidal[1]",
        ["block overlaps tidal[0]", "['09:30', '11:00']"],
        id="tidal-blocks-overlap",
    ),
    pytest.param(
        put(("windows", 1, "tidal"), [{"from": "09:00", "to": "10:00", "serves": ["Z"]}]),
        f"{W2}.tidal[0].serves[0]",
        ["not a category id", "'Z'"],
        id="tidal-serves-unknown",
    ),
    pytest.param(
        put(("windows", 1, "tidal"), [{"from": "08:00", "to": "12:00", "serves": ["A"]}]),
        CC,
        ["no window serves this category while open"],
        id="tidal-leaves-a-category-unserved",
    ),
    # reserve pools
    pytest.param(
        put(("reserve",), [{"id": "peak", "windows": ["W9"], "serves": ["A"], "open_queue": 3}]),
        'reserve[0] (id="peak").windows[0]',
        ["not a window name or id", "'W9'"],
        id="reserve-unknown-window",
    ),
    pytest.param(
        put(("reserve",), [{"id": "peak", "windows": ["W2"], "serves": ["Z"], "open_queue": 3}]),
        'reserve[0] (id="peak").serves[0]',
        ["not a category id", "'Z'"],
        id="reserve-rule-for-unknown-category",
    ),
    pytest.param(
        put(("reserve",), [{"id": "peak", "windows": ["W2"], "serves": ["A"]}]),
        'reserve[0] (id="peak")',
        ["give open_queue, open_wait_min or both"],
        id="reserve-without-trigger",
    ),
    pytest.param(
        put(
            ("reserve",),
            [{"id": "peak", "windows": ["W2"], "serves": ["A"], "open_queue": 3, "close_queue": 3}],
        ),
        'reserve[0] (id="peak")',
        ["close_queue must be below open_queue", "close_queue=3, open_queue=3"],
        id="reserve-close-not-below-open",
    ),
    pytest.param(
        put(
            ("reserve",),
            [
                {
                    "id": "peak",
                    "windows": ["W2"],
                    "serves": ["A"],
                    "open_queue": 3,
                    "hours": ["07:00", "10:00"],
                }
            ],
        ),
        'reserve[0] (id="peak").hours',
        ["within the hall's hours 08:00-12:00", "['07:00', '10:00']"],
        id="reserve-hours-outside-the-hall",
    ),
    pytest.param(
        put(("reserve",), [{"id": "peak", "windows": ["W2"], "serves": ["*"], "open_queue": 3}]),
        CC,
        ["no window serves this category while open"],
        id="reserve-takes-a-categorys-only-window",
    ),
    # back office and pickup
    pytest.param(
        put(
            ("categories", 0, "deferred"), {"share": 0.5, "back_office": "nosuch", "pickup": False}
        ),
        f"{CA}.deferred.back_office",
        ["not a back office id", "'nosuch'"],
        id="deferred-unknown-back-office",
    ),
    pytest.param(
        both(
            put(
                ("back_office",), [{"id": "ap", "service": {"dist": "exponential", "mean_min": 30}}]
            ),
            put(("categories", 0, "deferred"), {"share": 0.5, "back_office": "ap"}),
        ),
        f"{CA}.deferred.pickup",
        ["needs a [pickup] section"],
        id="deferred-pickup-without-pickup-windows",
    ),
    pytest.param(
        put(("categories", 0, "deferred"), {"share": 1.5, "back_office": "ap", "pickup": False}),
        f"{CA}.deferred.share",
        ["<= 1", "(got 1.5)"],
        id="deferred-share-above-one",
    ),
    pytest.param(
        put(
            ("back_office",),
            [
                {
                    "id": "ap",
                    "hours": [["12:00", "08:00"]],
                    "service": {"dist": "exponential", "mean_min": 30},
                }
            ],
        ),
        'back_office[0] (id="ap").hours[0]',
        ["span must end after it starts", "['12:00', '08:00']"],
        id="back-office-hours-end-before-start",
    ),
    pytest.param(
        put(
            ("pickup",),
            {
                "hours": [["09:00", "12:00"], ["11:00", "13:00"]],
                "service": {"dist": "exponential", "mean_min": 2},
            },
        ),
        "pickup.hours[1]",
        ["span overlaps hours[0]", "['11:00', '13:00']"],
        id="pickup-hours-overlap",
    ),
    pytest.param(
        put(
            ("back_office",),
            [{"id": "ap", "staff": 0, "service": {"dist": "exponential", "mean_min": 3}}],
        ),
        'back_office[0] (id="ap").staff',
        ["> 0", "(got 0)"],
        id="back-office-no-staff",
    ),
    # ticket classes: priority shares and appointments
    pytest.param(
        put(("categories", 0, "priority_share"), {"share": 1.0, "priority": 2}),
        f"{CA}.priority_share.share",
        ["< 1", "(got 1.0)"],
        id="priority-share-all",
    ),
    pytest.param(
        put(("categories", 0, "appointments"), {"slot_min": 60, "booked": [1, 2]}),
        f"{CA}.appointments.booked",
        ["one count per 60-minute slot from 08:00 to 12:00: 4 values", "(got 2)"],
        id="appointments-wrong-slot-count",
    ),
    pytest.param(
        put(("categories", 0, "appointments"), {"slot_min": 60, "booked": [1, 2, -1, 0]}),
        f"{CA}.appointments.booked[2]",
        [">= 0", "(got -1)"],
        id="appointments-negative-booking",
    ),
    pytest.param(
        put(("categories", 0, "id"), "A:priority"),
        'categories[0] (id="A:priority").id',
        ['":" is reserved for ticket classes'],
        id="category-id-with-colon",
    ),
]


def _located_line(error: ScenarioError, location: str, prefix: str = "") -> str:
    """The one line of ``error`` located at ``location`` (after ``prefix``)."""
    lines = str(error).splitlines()
    head = f"{prefix}{location}: "
    found = [line for line in lines if line.startswith(head)]
    assert len(found) == 1, f"expected one line starting {head!r}, got:\n{error}"
    return found[0]


def _check(error: ScenarioError, location: str, fragments: list[str], prefix: str = "") -> None:
    line = _located_line(error, location, prefix)
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} missing from {line!r}"
    # one mutation, one problem, one line
    assert len(error.issues) == 1, f"expected one problem, got:\n{error}"
    assert len(str(error).splitlines()) == 1


def _mutated(base: dict, mutation) -> dict:
    mutation(base)
    return base


# --- the valid base ----------------------------------------------------------------------------


def test_base_scenario_is_valid(base):
    scenario = Scenario.model_validate(base)
    assert scenario.category_ids == ["A", "B", "C"]
    # W1 serves department dept1 (category A) and category B; W2 every category
    assert scenario.served_categories(scenario.windows[0]) == [0, 1]
    assert scenario.served_categories(scenario.windows[1]) == [0, 1, 2]
    assert scenario.spans(scenario.windows[0]) == [(480, 600), (630, 720)]
    assert scenario.factor(scenario.windows[0], 1) == 1.2
    assert scenario.factor(scenario.windows[0], 0) == 1.0


def test_close_at_midnight_is_valid(base):
    base["hall"].update(open="20:00", close="24:00")
    base["windows"][0]["open"] = [["20:00", "22:00"], ["22:00", "24:00"]]
    scenario = Scenario.model_validate(base)
    assert scenario.hall.close_minute == 1440
    assert scenario.spans(scenario.windows[0]) == [(1200, 1440)]  # adjacent spans merged


def test_valid_scenario_is_not_changed_by_validation(base):
    before = copy.deepcopy(base)
    Scenario.model_validate(base)
    assert base == before


# --- malformed cases through the API -----------------------------------------------------------


@pytest.mark.parametrize(("mutation", "location", "fragments"), CASES)
def test_model_validate_gives_located_error(base, mutation, location, fragments):
    data = _mutated(base, mutation)
    with pytest.raises(ScenarioError) as caught:
        Scenario.model_validate(data)
    _check(caught.value, location, fragments)


@pytest.mark.parametrize(("mutation", "location", "fragments"), CASES)
def test_keyword_construction_gives_located_error(base, mutation, location, fragments):
    data = _mutated(base, mutation)
    with pytest.raises(ScenarioError) as caught:
        Scenario(**data)
    _check(caught.value, location, fragments)


def test_spec_example_message_exactly(base):
    base["windows"][1]["count"] = -1
    with pytest.raises(ScenarioError) as caught:
        Scenario.model_validate(base)
    assert str(caught.value) == 'windows[1] (id="W2").count: must be > 0 (got -1)'


def test_scenario_error_is_a_value_error(base):
    base["windows"][1]["count"] = -1
    with pytest.raises(ValueError):
        Scenario.model_validate(base)
    assert issubclass(ScenarioError, ValueError)
    assert hallsim.ScenarioError is ScenarioError


def _construct(how: str, data: dict) -> Scenario:
    return Scenario.model_validate(data) if how == "model_validate" else Scenario(**data)


CONSTRUCTORS = ["model_validate", "keywords"]


@pytest.mark.parametrize("how", CONSTRUCTORS)
def test_issues_are_structured(base, how):
    base["windows"][1]["count"] = -1
    with pytest.raises(ScenarioError) as caught:
        _construct(how, base)
    [issue] = caught.value.issues
    assert issue.where == f"{W2}.count"
    assert issue.value == -1 and issue.has_value
    assert str(issue) == f"{W2}.count: must be > 0 (got -1)"


@pytest.mark.parametrize("how", CONSTRUCTORS)
def test_every_problem_is_listed(base, how):
    base["windows"][0]["count"] = 0
    base["windows"][1]["count"] = -1
    base["hall"]["days"] = 0
    with pytest.raises(ScenarioError) as caught:
        _construct(how, base)
    error = caught.value
    expected = [
        "hall.days: must be >= 1 (got 0)",
        f"{W1}.count: must be > 0 (got 0)",
        f"{W2}.count: must be > 0 (got -1)",
    ]
    assert sorted(str(issue) for issue in error.issues) == expected
    assert sorted(str(error).splitlines()) == expected


def test_every_problem_is_one_line_of_the_message(base):
    base["windows"][0]["count"] = 0
    base["windows"][1]["count"] = -1
    with pytest.raises(ScenarioError) as caught:
        Scenario.model_validate(base)
    assert str(caught.value).splitlines() == [
        f"{W1}.count: must be > 0 (got 0)",
        f"{W2}.count: must be > 0 (got -1)",
    ]


def test_every_cross_field_problem_is_listed(base):
    base["windows"][0]["serves"] = ["dept1", "B", "nosuch"]
    base["windows"][1]["id"] = "W1"
    base["categories"][1]["arrivals"]["rates_per_hour"] = [1, 2]
    with pytest.raises(ScenarioError) as caught:
        Scenario.model_validate(base)
    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    assert any(line.startswith(f"{W1}.serves[2]: ") for line in lines)
    assert any(line.startswith('windows[1] (id="W1").id: ') for line in lines)
    assert any(line.startswith(f"{CB}.arrivals.rates_per_hour: ") for line in lines)


@pytest.mark.parametrize("data", [None, [], "hall", 5], ids=repr)
def test_not_a_table_at_all(data):
    with pytest.raises(ScenarioError) as caught:
        Scenario.model_validate(data)
    assert "must be a table" in str(caught.value)


def test_non_string_top_level_key(base):
    base[1] = "x"
    with pytest.raises(ScenarioError) as caught:
        Scenario.model_validate(base)
    assert "1" in str(caught.value)


@pytest.mark.parametrize("line_break", ["\n", "\r", "\x85", "\u2028", "\u2029"])
@pytest.mark.parametrize(
    "mutation",
    [
        lambda br: put(("hall", f"a{br}b"), 1),
        lambda br: both(put(("windows", 1, "id"), f"W{br}2"), put(("windows", 1, "count"), -1)),
    ],
    ids=["key", "id"],
)
def test_line_break_in_key_or_id_stays_on_one_line(base, mutation, line_break):
    with pytest.raises(ScenarioError) as caught:
        Scenario.model_validate(_mutated(base, mutation(line_break)))
    assert len(str(caught.value).splitlines()) == len(caught.value.issues) == 1


@pytest.mark.parametrize(
    ("mutation", "location"),
    [
        (put(("",), 1), '""'),
        (put(("hall", ""), 1), 'hall.""'),
    ],
    ids=["top", "nested"],
)
def test_keys_that_are_not_bare_words_are_quoted(base, mutation, location):
    with pytest.raises(ScenarioError) as caught:
        Scenario.model_validate(_mutated(base, mutation))
    assert str(caught.value) == f"{location}: unknown key"


@pytest.mark.parametrize(
    ("mutation", "location", "fragment"),
    [
        (put(("hall", "x[1]"), 0), "hall.", "x[1]"),
        (
            both(
                put(("categories", 1, "id"), "gamma"),
                put(("windows", 0, "serves"), ["dept1", "gamma"]),
                put(("windows", 0, "generalist_factor"), {"gamma": 0}),
            ),
            f"{W1}.generalist_factor.",
            "gamma",
        ),
    ],
    ids=["key-with-bracket", "category-named-like-a-dist"],
)
def test_keys_that_look_like_union_labels_keep_their_place(base, mutation, location, fragment):
    with pytest.raises(ScenarioError) as caught:
        Scenario.model_validate(_mutated(base, mutation))
    [line] = str(caught.value).splitlines()
    assert line.startswith(location)
    assert fragment in line.split(": ")[0]


# --- a tiny TOML writer ------------------------------------------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    raise TypeError(f"cannot write {value!r} as TOML")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def to_toml(data: dict[str, Any]) -> str:
    """TOML text for a scenario-shaped dict: top-level keys, ``[tables]`` for top-level dicts,
    ``[[arrays of tables]]`` for top-level lists of dicts, inline tables below that."""
    lines = [
        f"{_toml_key(k)} = {_toml_value(v)}"
        for k, v in data.items()
        if not isinstance(v, dict) and not _is_table_array(v)
    ]
    for key, value in data.items():
        if isinstance(value, dict):
            lines += ["", f"[{_toml_key(key)}]"]
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()]
        elif _is_table_array(value):
            for table in value:
                lines += ["", f"[[{_toml_key(key)}]]"]
                lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def test_toml_writer_round_trips_the_base(base):
    text = to_toml(base)
    assert "[hall]" in text and text.count("[[categories]]") == 3
    assert tomllib.loads(text) == base


def test_toml_writer_round_trips_awkward_values():
    data = {
        "s": 'quote " back \\ nl \n tab \t 中文',
        "f": [1.5, -0.0, math.inf, 1e300],
        "t": {"a b": {"x": []}, "ok": True},
        "arr": [{"k": 1}, {"k": {"z": "y"}}],
    }
    assert tomllib.loads(to_toml(data)) == data


# --- the same malformed cases through a TOML file ----------------------------------------------


@pytest.mark.parametrize(("mutation", "location", "fragments"), CASES)
def test_load_scenario_gives_located_error_in_file(base, tmp_path, mutation, location, fragments):
    path = tmp_path / "hall.toml"
    path.write_text(to_toml(_mutated(base, mutation)), encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    error = caught.value
    for line in str(error).splitlines():
        assert line.startswith(f"{path}: "), line
    _check(error, location, fragments, prefix=f"{path}: ")
    assert error.source == str(path)


def test_load_scenario_accepts_str_path(base, tmp_path):
    base["windows"][1]["count"] = -1
    path = tmp_path / "hall.toml"
    path.write_text(to_toml(base), encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(str(path))
    assert str(caught.value) == f'{path}: windows[1] (id="W2").count: must be > 0 (got -1)'


def test_load_scenario_lists_every_problem_with_the_file(base, tmp_path):
    base["windows"][0]["count"] = 0
    base["windows"][1]["count"] = -1
    path = tmp_path / "two.toml"
    path.write_text(to_toml(base), encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).splitlines() == [
        f"{path}: {W1}.count: must be > 0 (got 0)",
        f"{path}: {W2}.count: must be > 0 (got -1)",
    ]


def test_toml_syntax_error_names_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('name = "unterminated\n[hall\nopen = "08:00"\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: ")
    assert "TOML" in text and "line 1" in text
    assert len(text.splitlines()) == 1


def test_duplicate_toml_key_is_a_located_syntax_error(tmp_path):
    path = tmp_path / "dup.toml"
    path.write_text('name = "a"\nname = "b"\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_missing_file_names_the_file(tmp_path):
    path = tmp_path / "nowhere" / "hall.toml"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value) == f"{path}: file not found"


def test_unreadable_file_names_the_file(tmp_path):
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path)  # a directory
    assert str(caught.value).startswith(f"{tmp_path}: cannot read the file")


def test_non_utf8_file_names_the_file(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_utf8_file_with_a_byte_order_mark_loads(base, tmp_path):
    """Windows Notepad saves UTF-8 with a BOM; it once failed as 'not valid TOML ... line 1'."""
    path = tmp_path / "notepad.toml"
    base["categories"][0]["name"] = "企业开办"
    path.write_bytes(b"\xef\xbb\xbf" + tomli_w.dumps(base).encode("utf-8"))
    assert load_scenario(path).categories[0].name == "企业开办"


def test_gbk_file_says_its_encoding_and_the_fix(base, tmp_path):
    """A GBK file once failed with a byte offset; now the line, the encoding and the fix."""
    path = tmp_path / "gbk.toml"
    base["categories"][0]["name"] = "企业开办"
    text = tomli_w.dumps(base)
    path.write_bytes(text.encode("gbk"))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    line = text[: text.index("企业")].count("\n") + 1
    message = str(caught.value)
    assert message.startswith(f"{path}: not UTF-8 text (line {line}): it reads as GBK/GB18030")
    assert "save it as UTF-8" in message


def test_empty_file_lists_the_required_keys(tmp_path):
    path = tmp_path / "empty.toml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).splitlines() == [
        f"{path}: {key}: required key is missing" for key in ("hall", "categories", "windows")
    ]


# --- valid files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_scenarios_load(path):
    scenario = load_scenario(path)
    assert isinstance(scenario, Scenario)
    assert scenario.categories and scenario.windows
    served = set()
    for window in scenario.windows:
        served.update(scenario.served_categories(window))
    assert served == set(range(len(scenario.categories)))


def test_shipped_scenarios_exist():
    assert {p.name for p in SCENARIOS.glob("*.toml")} >= {"mmc.toml", "panjin.toml"}


def test_written_base_loads_to_the_same_scenario(base, tmp_path):
    path = tmp_path / "hall.toml"
    path.write_text(to_toml(base), encoding="utf-8")
    assert load_scenario(path) == Scenario.model_validate(base)


def test_toml_local_times_are_accepted(base, tmp_path):
    text = to_toml(base)
    text = text.replace('open = "08:00"', "open = 08:00:00").replace(
        'close = "12:00"', "close = 12:00:00"
    )
    text = text.replace(
        'open = [["08:00", "10:00"], ["10:30", "12:00"]]',
        "open = [[08:00:00, 10:00:00], [10:30:00, 12:00:00]]",
    )
    assert "08:00:00" in text and "10:30:00" in text
    path = tmp_path / "times.toml"
    path.write_text(text, encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.hall.open == "08:00" and scenario.hall.close == "12:00"
    assert scenario.spans(scenario.windows[0]) == [(480, 600), (630, 720)]
    assert scenario == Scenario.model_validate(base)


def test_toml_local_time_with_seconds_is_rejected(base, tmp_path):
    text = to_toml(base).replace('open = "08:00"', "open = 08:00:30")
    path = tmp_path / "seconds.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    line = _located_line(caught.value, "hall.open", prefix=f"{path}: ")
    assert "08:00:30" in line


def test_toml_date_time_is_rejected(base, tmp_path):
    text = to_toml(base).replace('open = "08:00"', "open = 2024-01-01T08:00:00")
    path = tmp_path / "datetime.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    _located_line(caught.value, "hall.open", prefix=f"{path}: ")


# --- parsing never executes code -----------------------------------------------------------------


def test_code_in_strings_stays_inert(base, tmp_path):
    marker = tmp_path / "pwned"
    payload = f"__import__('os').system('touch {marker}')"
    base["name"] = payload
    base["description"] = "{{7*7}} ${{7*7}} !!python/object/apply:os.system ['true']"
    base["categories"][0]["name"] = payload
    base["categories"][0]["department"] = "eval('1+1')"
    base["windows"][0]["serves"] = ["eval('1+1')", "B"]
    path = tmp_path / "payload.toml"
    path.write_text(to_toml(base), encoding="utf-8")
    for scenario in (load_scenario(path), Scenario.model_validate(base)):
        assert scenario.name == payload
        assert scenario.description == base["description"]
        assert scenario.categories[0].name == payload
        assert scenario.categories[0].department == "eval('1+1')"
        assert scenario.served_categories(scenario.windows[0]) == [0, 1]
    assert not marker.exists()


def test_code_in_a_bad_value_is_shown_not_run(base, tmp_path):
    marker = tmp_path / "pwned"
    payload = f"__import__('os').system('touch {marker}')"
    base["windows"][1]["count"] = payload
    with pytest.raises(ScenarioError) as caught:
        Scenario.model_validate(base)
    line = _located_line(caught.value, f"{W2}.count")
    assert "__import__('os')" in line
    assert not marker.exists()
