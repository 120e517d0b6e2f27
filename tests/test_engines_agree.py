"""The two engines agree: random small halls, every feature, identical ticket tables.

Hypothesis draws halls with several categories, windows with overlapping skills, spans that
open and close mid-queue, tidal blocks, staff with skills, speeds, shifts, breaks and rotation
blocks, reserve pools, back offices and pickup, patience, priorities, priority shares,
appointments, daily caps, balking, no-shows, call rules, several days with a calendar (closed
weekdays, holidays, a weekday's own hours) and rates with an interval of their own; half on a
one-minute grid, where arrivals, services, patience and spans coincide all the time. The fast
engine (each of its code paths) and the simpy engine get the same inputs and must give the
same tickets, window periods, reserve activations and back-office times. The profile is fixed
(derandomized, no database) so CI repeats it.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from conftest import OUTPUT_FIELDS, on_minute_grid
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hallsim as hs
from hallsim.clock import clock
from hallsim.compile import OUTCOMES, compile_scenario
from hallsim.engines import fast, reference
from hallsim.engines.inputs import draw_inputs
from hallsim.scenario import WEEKDAYS

PROFILE = settings(
    max_examples=250,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

DISTRIBUTIONS = st.one_of(
    st.builds(lambda m: {"dist": "exponential", "mean_min": m}, st.sampled_from([1, 3, 8])),
    st.builds(lambda m: {"dist": "deterministic", "mean_min": m}, st.sampled_from([1, 2, 5])),
    st.builds(
        lambda a, w: {"dist": "uniform", "low_min": a, "high_min": a + w},
        st.sampled_from([0, 1, 2]),
        st.sampled_from([1, 4]),
    ),
    st.builds(
        lambda m, cv: {"dist": "lognormal", "mean_min": m, "cv": cv},
        st.sampled_from([2, 6]),
        st.sampled_from([0.3, 1.0]),
    ),
    st.builds(
        lambda m, cv: {"dist": "gamma", "mean_min": m, "cv": cv},
        st.sampled_from([2, 6]),
        st.sampled_from([0.5, 1.5]),
    ),
    st.builds(
        lambda xs: {"dist": "empirical", "samples_min": xs},
        st.lists(st.sampled_from([0.0, 1.0, 2.5, 4.0]), min_size=1, max_size=4).filter(
            lambda xs: sum(xs) > 0
        ),
    ),
)


@st.composite
def halls(draw) -> hs.Scenario:
    open_minute = draw(st.sampled_from([480, 510, 540]))
    hours = draw(st.sampled_from([60, 120, 180]))
    close_minute = open_minute + hours
    interval = draw(st.sampled_from([30, 60]))
    n_cat = draw(st.integers(1, 3))
    categories = []
    for c in range(n_cat):
        if draw(st.booleans()):
            arrivals = {"rate_per_hour": draw(st.sampled_from([6, 15, 30]))}
        else:
            rate_interval = draw(st.sampled_from([None, None, 15, 45]))
            count = -(-hours // (rate_interval or interval))
            rates = draw(
                st.lists(st.sampled_from([0, 10, 40]), min_size=count, max_size=count).filter(
                    lambda r: sum(r) > 0
                )
            )
            arrivals = {"rates_per_hour": rates}
            if rate_interval is not None:
                arrivals["rate_interval_min"] = rate_interval
        category = {
            "id": f"C{c}",
            "department": draw(st.sampled_from(["front", "back"])),
            "arrivals": arrivals,
            "service": draw(DISTRIBUTIONS),
            "priority": draw(st.integers(0, 2)),
        }
        if draw(st.booleans()):
            category["patience"] = draw(DISTRIBUTIONS)
        if draw(st.integers(0, 3)) == 0:
            category["daily_cap"] = draw(st.integers(0, 20))
        if draw(st.integers(0, 3)) == 0:
            category["balking"] = draw(
                st.sampled_from(
                    [
                        {"queue": [0], "probability": [0.3]},
                        {"queue": [1, 4], "probability": [0.0, 0.8]},
                        {"queue": [0, 2, 5], "probability": [0.1, 0.1, 1.0]},
                    ]
                )
            )
        if draw(st.integers(0, 3)) == 0:
            category["priority_share"] = {
                "share": draw(st.sampled_from([0.2, 0.5])),
                "priority": draw(st.integers(0, 3)),
            }
        if draw(st.integers(0, 3)) == 0:
            slot = draw(st.sampled_from([15, 30, 60]))
            category["appointments"] = {
                "slot_min": slot,
                "booked": draw(
                    st.lists(
                        st.integers(0, 3), min_size=-(-hours // slot), max_size=-(-hours // slot)
                    )
                ),
                "early_min": draw(st.sampled_from([0, 5, 10])),
                "late_min": draw(st.sampled_from([0, 5, 20])),
                "no_show": draw(st.sampled_from([0.0, 0.2])),
                "grace_min": draw(st.sampled_from([0, 5])),
                "priority": draw(st.integers(0, 3)),
            }
        if draw(st.integers(0, 2)) == 0:
            category["no_show"] = {
                "probability": draw(st.sampled_from([0.2, 0.6, 1.0])),
                "recall_min": draw(st.sampled_from([0, 0.5, 1])),
                "recalls": draw(st.integers(0, 2)),
                "then": draw(st.sampled_from(["drop", "requeue"])),
            }
        categories.append(category)
    windows = []
    for w in range(draw(st.integers(1, 3))):
        serves = draw(
            st.one_of(
                st.just(["*"]),
                st.lists(
                    st.sampled_from([c["id"] for c in categories]),
                    min_size=1,
                    max_size=3,
                    unique=True,
                ),
                st.lists(
                    st.sampled_from(sorted({c["department"] for c in categories})),
                    min_size=1,
                    max_size=1,
                ),
            )
        )
        window = {"id": f"W{w}", "count": draw(st.integers(1, 3)), "serves": serves}
        if draw(st.booleans()):  # one or two spans, cut on a 15-minute grid
            cuts = sorted(draw(quarter_hours(open_minute, hours, 2, 4)))
            pairs = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
            window["open"] = [[clock(a), clock(b)] for a, b in pairs]
        if draw(st.booleans()):
            window["generalist_factor"] = draw(st.sampled_from([0.5, 1.5, 2.0]))
        if draw(st.integers(0, 2)) == 0:  # a tidal block switches what it serves
            a, b = sorted(draw(quarter_hours(open_minute, hours, 2)))
            window["tidal"] = [
                {
                    "from": clock(a),
                    "to": clock(b),
                    "serves": draw(
                        st.lists(
                            st.sampled_from([c["id"] for c in categories]),
                            min_size=1,
                            max_size=2,
                            unique=True,
                        )
                    ),
                }
            ]
        window["call"] = draw(st.sampled_from(["fcfs", "strict", "weighted", "threshold"]))
        windows.append(window)
    served = {
        c["id"]
        for w in windows
        for c in categories
        if "*" in w["serves"] or c["id"] in w["serves"] or c["department"] in w["serves"]
    }
    for c in categories:  # every category needs a window
        if c["id"] not in served:
            windows[0]["serves"] = [*windows[0]["serves"], c["id"]]
    for window in windows:  # a call rule names categories the window serves
        mine = [
            c["id"]
            for c in categories
            if "*" in window["serves"]
            or c["id"] in window["serves"]
            or c["department"] in window["serves"]
        ]
        rule = window.pop("call")
        if rule == "strict":
            window["call"] = {"rule": rule, "order": draw(st.permutations(mine))[:2]}
        elif rule == "weighted":
            window["call"] = {
                "rule": rule,
                "weights": {
                    cid: draw(st.integers(1, 3)) for cid in draw(st.permutations(mine))[:2]
                },
            }
        elif rule == "threshold":
            window["call"] = {
                "rule": rule,
                "category": draw(st.sampled_from(mine)),
                "after_min": draw(st.sampled_from([0, 2, 5])),
            }
    data = {
        "hall": {
            "open": clock(open_minute),
            "close": clock(close_minute),
            "interval_min": interval,
            **draw(calendars(open_minute, hours)),
        },
        "categories": categories,
        "windows": windows,
    }
    try:
        scenario = hs.Scenario.model_validate(data)
    except hs.ScenarioError:  # tidal blocks took a category's last window away
        for window in windows:
            window.pop("tidal", None)
        scenario = hs.Scenario.model_validate(data)
    if draw(st.booleans()):
        scenario = draw(staffed(data, open_minute, hours))
    if draw(st.integers(0, 2)) == 0:
        scenario = draw(with_reserve(scenario, open_minute, hours))
    if draw(st.integers(0, 2)) == 0:
        scenario = draw(with_back_office(scenario, open_minute, hours))
    return scenario


@st.composite
def calendars(draw, open_minute: int, hours: int) -> dict:
    """One to three days from some weekday, and often a calendar: closed weekdays and
    holidays (at least one day stays open), a weekday with hours of its own."""
    days = draw(st.integers(1, 3))
    first = draw(st.sampled_from(WEEKDAYS))
    weekdays = [WEEKDAYS[(WEEKDAYS.index(first) + d) % 7] for d in range(days)]
    hall = {"days": days, "first_weekday": first}
    if days > 1 and draw(st.integers(0, 2)) == 0:
        closed = draw(st.lists(st.sampled_from(weekdays), max_size=1))
        holidays = draw(st.lists(st.integers(0, days - 1), max_size=1))
        open_days = [d for d in range(days) if weekdays[d] not in closed and d not in holidays]
        if open_days:
            hall |= {"closed_weekdays": closed, "holidays": holidays}
    if draw(st.integers(0, 2)) == 0:
        weekday = draw(st.sampled_from(weekdays))
        if weekday not in hall.get("closed_weekdays", []):
            a, b = sorted(draw(quarter_hours(open_minute, hours, 2)))
            hall["hours"] = {weekday: [clock(a), clock(b)]}
    return hall


@st.composite
def with_back_office(draw, scenario: hs.Scenario, open_minute: int, hours: int) -> hs.Scenario:
    """``scenario`` with deferred cases: one or two back offices with working spans that may
    reach past closing time, and pickup windows for some categories."""
    data = scenario.model_dump(by_alias=True)
    offices = []
    for k in range(draw(st.integers(1, 2))):
        office = {"id": f"O{k}", "staff": draw(st.integers(1, 3)), "service": draw(DISTRIBUTIONS)}
        if draw(st.booleans()):
            cuts = sorted(draw(quarter_hours(open_minute, hours + 60, 2, 4)))
            office["hours"] = [
                [clock(a), clock(b)] for a, b in zip(cuts[::2], cuts[1::2], strict=False)
            ]
        offices.append(office)
    data["back_office"] = offices
    if draw(st.booleans()):
        data["pickup"] = {"windows": draw(st.integers(1, 2)), "service": draw(DISTRIBUTIONS)}
        if draw(st.booleans()):
            a, b = sorted(draw(quarter_hours(open_minute, hours, 2)))
            data["pickup"]["hours"] = [[clock(a), clock(b)]]
    for category in data["categories"]:
        if draw(st.booleans()):
            category["deferred"] = {
                "share": draw(st.sampled_from([0.3, 1.0])),
                "back_office": draw(st.sampled_from([o["id"] for o in offices])),
                "pickup": data.get("pickup") is not None and draw(st.booleans()),
            }
    deferred = [c["deferred"] for c in data["categories"] if c.get("deferred")]
    if not deferred:  # at least one category defers, and to the pickup where there is one
        data["categories"][0]["deferred"] = {
            "share": 1.0,
            "back_office": offices[0]["id"],
            "pickup": False,
        }
        deferred = [data["categories"][0]["deferred"]]
    if data.get("pickup") is not None and not any(d.get("pickup") for d in deferred):
        deferred[0]["pickup"] = True
    return hs.Scenario.model_validate(data)


@st.composite
def with_reserve(draw, scenario: hs.Scenario, open_minute: int, hours: int) -> hs.Scenario:
    """``scenario`` with a reserve pool on some of its windows (which then open for the pool
    alone, unless staff work them)."""
    open_queue = draw(st.one_of(st.none(), st.integers(1, 4)))
    pool = {
        "id": "reserve",
        "staff": draw(st.integers(1, 2)),
        "windows": draw(
            st.lists(st.sampled_from(scenario.window_names), min_size=1, max_size=2, unique=True)
        ),
        "serves": draw(
            st.lists(st.sampled_from(scenario.category_ids), min_size=1, max_size=2, unique=True)
        ),
        "open_wait_min": draw(st.sampled_from([0.5, 2, 5]))
        if open_queue is None or draw(st.booleans())
        else None,
        "close_wait_min": draw(st.sampled_from([0, 0.25])),
        "delay_min": draw(st.sampled_from([0, 1, 3])),
    }
    if open_queue is not None:
        pool["open_queue"] = open_queue
        pool["close_queue"] = draw(st.integers(0, open_queue - 1))
    if draw(st.booleans()):
        a, b = sorted(draw(quarter_hours(open_minute, hours, 2)))
        pool["hours"] = [clock(a), clock(b)]
    data = scenario.model_dump(by_alias=True)
    try:
        return hs.Scenario.model_validate({**data, "reserve": [pool]})
    except hs.ScenarioError:  # its windows were a category's only ones
        return scenario


def quarter_hours(open_minute: int, hours: int, low: int, high: int | None = None):
    """``low`` to ``high`` distinct times on a 15-minute grid within the opening hours."""
    return st.lists(
        st.integers(0, hours // 15).map(lambda k: open_minute + 15 * k),
        min_size=low,
        max_size=high or low,
        unique=True,
    )


@st.composite
def staffed(draw, data: dict, open_minute: int, hours: int) -> hs.Scenario:
    """``data`` with staff: one home window per member, skills, speeds, shifts, breaks, and
    rotation blocks kept where the plan stays valid (nobody at two windows, no window
    worked twice). Falls back to skills ``"*"``, then to no staff, when a category would have
    no window."""
    names = [
        w["id"] if w["count"] == 1 else f"{w['id']}.{k + 1}"
        for w in data["windows"]
        for k in range(w["count"])
    ]
    homes = draw(st.permutations(names))
    categories = [c["id"] for c in data["categories"]] + ["*"]
    staff, k = [], 0
    while k < len(homes):
        count = min(draw(st.integers(1, 2)), len(homes) - k)
        member = {"id": f"S{len(staff)}", "count": count, "windows": homes[k : k + count]}
        k += count
        member["skills"] = draw(st.lists(st.sampled_from(categories), min_size=1, max_size=2))
        if draw(st.booleans()):
            member["speed"] = draw(st.sampled_from([0.5, 1.5]))
        if draw(st.booleans()):
            a, b = sorted(draw(quarter_hours(open_minute, hours, 2)))
            member["shift"] = [clock(a), clock(b)]
            if draw(st.booleans()) and b - a >= 30:
                c = draw(st.sampled_from(range(a + 15, b, 15)))
                member["breaks"] = [[clock(c - 15), clock(c)]]
        staff.append(member)
    members = [
        m["id"] if m["count"] == 1 else f"{m['id']}.{j + 1}"
        for m in staff
        for j in range(m["count"])
    ]
    rotation = []
    for _ in range(draw(st.integers(0, 3))):
        a, b = sorted(draw(quarter_hours(open_minute, hours, 2)))
        block = {
            "staff": draw(st.sampled_from(members)),
            "window": draw(st.sampled_from(names)),
            "from": clock(a),
            "to": clock(b),
        }
        try:
            hs.Scenario.model_validate({**data, "staff": staff, "rotation": [*rotation, block]})
            rotation.append(block)
        except hs.ScenarioError:
            pass
    for plan in (staff, [{**m, "skills": ["*"]} for m in staff]):
        try:
            return hs.Scenario.model_validate({**data, "staff": plan, "rotation": rotation})
        except hs.ScenarioError:
            pass
    return hs.Scenario.model_validate(data)


# Each feature of the strategy (scenario sections, and outcomes the run produced) must occur
# in at least this share of the examples: a strategy that silently falls back to simpler halls
# (a section that stops validating, a rule never drawn) fails instead of passing on less
MIN_SHARE = 0.05


def features(scenario: hs.Scenario, grid: bool, output) -> set[str]:
    """What an example exercised: the sections and rules its scenario uses, and the outcomes
    and events its run produced."""
    used = {"minute grid"} if grid else set()
    for c in scenario.categories:
        for name in ("patience", "daily_cap", "balking", "priority_share", "appointments"):
            if getattr(c, name) is not None:
                used.add(name)
        if c.no_show is not None:
            used.add(f"no_show then {c.no_show.then}")
    groups_of = [0] * len(scenario.categories)
    for w in scenario.windows:
        for c in scenario.resolve(w.serves):
            groups_of[c] += 1
        used.add(f"call {w.call.rule}")
        used |= {"window spans"} if w.open else set()
        used |= {"tidal block"} if w.tidal else set()
    used |= {"overlapping skills"} if max(groups_of) > 1 else set()
    hall = scenario.hall
    used |= {"several days"} if hall.days > 1 else set()
    used |= {"closed day"} if len(hall.open_days) < hall.days else set()
    own_hours = [hall.day_hours(d) != (hall.open_minute, hall.close_minute) for d in hall.open_days]
    used |= {"weekday hours"} if any(own_hours) else set()
    rate_intervals = [c.arrivals.rate_interval_min for c in scenario.categories]
    used |= (
        {"rate interval"}
        if any(m not in (None, hall.interval_min) for m in rate_intervals)
        else set()
    )
    used |= {"staff"} if scenario.staff else set()
    used |= {"rotation"} if scenario.rotation else set()
    used |= {"reserve pool"} if scenario.reserve else set()
    used |= {"back office"} if scenario.back_office else set()
    used |= {"pickup"} if scenario.pickup is not None else set()
    for code, outcome in enumerate(OUTCOMES):
        if np.any(output.outcome == code):
            used.add(f"outcome {outcome}")
    if output.recall_post.size and np.any(output.recall_post >= 0):
        used.add("recalled in vain")
    if output.reserve_pool.size:
        used.add("reserve activation")
    if np.isfinite(output.office_end).any():
        used.add("back-office case done")
    if np.isfinite(output.pickup_end).any():
        used.add("pickup served")
    return used


FEATURES = (
    "minute grid",
    "patience",
    "daily_cap",
    "balking",
    "priority_share",
    "appointments",
    "no_show then drop",
    "no_show then requeue",
    "call fcfs",
    "call strict",
    "call weighted",
    "call threshold",
    "window spans",
    "tidal block",
    "overlapping skills",
    "several days",
    "closed day",
    "weekday hours",
    "rate interval",
    "staff",
    "rotation",
    "reserve pool",
    "back office",
    "pickup",
    *(f"outcome {outcome}" for outcome in OUTCOMES),
    "recalled in vain",
    "reserve activation",
    "back-office case done",
    "pickup served",
)


def test_both_engines_give_identical_tickets():
    seen: Counter[str] = Counter()
    examples = 0

    @PROFILE
    @given(scenario=halls(), seed=st.integers(0, 2**32 - 1), grid=st.booleans())
    def check(scenario, seed, grid):
        nonlocal examples
        hall = compile_scenario(scenario)
        inputs = draw_inputs(hall, np.random.default_rng(seed))
        if grid:
            inputs = on_minute_grid(inputs)
        expected = reference.run(hall, inputs)
        for kernel in fast.KERNELS:
            got = fast.run(hall, inputs, kernel=kernel)
            for name in OUTPUT_FIELDS:
                a, b = getattr(got, name), getattr(expected, name)
                if a.dtype.kind == "f":
                    np.testing.assert_allclose(a, b, rtol=0, atol=1e-9, err_msg=f"{kernel}: {name}")
                else:
                    np.testing.assert_array_equal(a, b, err_msg=f"{kernel}: {name}")
        examples += 1
        seen.update(features(scenario, grid, expected))

    check()
    rare = {f: seen[f] for f in FEATURES if seen[f] < MIN_SHARE * examples}
    assert not rare, f"features exercised in under {MIN_SHARE:.0%} of {examples} examples: {rare}"
    assert set(seen) <= set(FEATURES), set(seen) - set(FEATURES)


def test_the_shipped_hall_with_every_feature_gives_identical_tickets():
    """scenarios/panjin-operations.toml (staff, rotation, tidal and reserve windows, ticket
    classes, back offices...) through both engines, five days."""
    from pathlib import Path

    scenario = hs.load_scenario(Path(__file__).parents[1] / "scenarios" / "panjin-operations.toml")
    hall = compile_scenario(scenario)
    inputs = draw_inputs(hall, np.random.default_rng(7))
    expected = reference.run(hall, inputs)
    got = fast.run(hall, inputs)
    for name in OUTPUT_FIELDS:
        a, b = getattr(got, name), getattr(expected, name)
        if a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-9, err_msg=name)
        else:
            np.testing.assert_array_equal(a, b, err_msg=name)
    assert len(expected.reserve_pool) > 0 and np.isfinite(expected.office_end).any()
