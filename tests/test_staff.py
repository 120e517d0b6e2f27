"""Staff, shifts, breaks, rotation and tidal windows: hand-built cases in both engines, and
the invariants of a staffed hall.

The rules are those of :mod:`hallsim.engines` ("Staff and posts"): a window is open while a
staff member on duty works it; a staff member whose post ends finishes the ticket in hand; the
next post of that window or that staff member waits until both are released.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_rules import _run, clock

import hallsim as hs
from hallsim.clock import minutes_of_day
from hallsim.compile import compile_scenario

INF = math.inf


def staffed_hall(windows: list[dict], staff: list[dict], rotation=()) -> hs.Scenario:
    """Categories A and B, 08:00-17:00, the given windows and staff plan."""
    categories = [
        {
            "id": cid,
            "arrivals": {"rate_per_hour": 1},
            "service": {"dist": "exponential", "mean_min": 1},
        }
        for cid in "AB"
    ]
    return hs.Scenario.model_validate(
        {
            "hall": {"open": "08:00", "close": "17:00"},
            "categories": categories,
            "windows": windows,
            "staff": staff,
            "rotation": list(rotation),
        }
    )


@pytest.fixture(params=["fast", "simpy"])
def run(request):
    """Run hand-built tickets through one engine; returns output, windows, staff, outcomes."""

    def go(scenario, tickets):
        out, names, outcomes = _run(scenario, tickets, request.param)
        hall = compile_scenario(scenario)
        staff = [
            hall.staff_names[hall.post_staff[p]] if p >= 0 and hall.post_staff[p] >= 0 else None
            for p in out.post
        ]
        return out, names, staff, outcomes

    return go


def periods(out, hall, window: str) -> list[tuple[float, float]]:
    """Open periods of a window (of all its posts), in time order."""
    x = hall.window_names.index(window)
    return sorted(
        (a, b)
        for p, a, b in zip(out.period_post, out.period_start, out.period_end, strict=True)
        if hall.post_window[p] == x
    )


def test_a_break_closes_the_window_after_the_ticket_in_hand(run):
    scenario = staffed_hall(
        [{"id": "W", "serves": ["*"]}],
        [{"id": "Li", "windows": ["W"], "breaks": [["10:00", "10:30"]]}],
    )
    out, _, staff, _ = run(
        scenario, [("09:58", "A", 5, INF), ("10:01", "A", 5, INF), ("10:02", "B", 1, INF)]
    )
    # the ticket in hand at 10:00 is finished; nobody starts until Li is back at 10:30
    np.testing.assert_array_equal(out.start, [clock("09:58"), clock("10:30"), clock("10:35")])
    assert staff == ["Li", "Li", "Li"]
    hall = compile_scenario(scenario)
    assert periods(out, hall, "W") == [
        (clock("08:00"), clock("10:03")),
        (clock("10:30"), clock("17:00")),
    ]


def test_a_relief_covers_a_break_and_starts_once_the_window_is_released(run):
    scenario = staffed_hall(
        [{"id": "W", "serves": ["*"]}],
        [
            {"id": "Li", "windows": ["W"], "breaks": [["12:00", "13:00"]]},
            {"id": "Relief", "shift": ["12:00", "13:00"]},
        ],
        rotation=[{"staff": "Relief", "window": "W", "from": "12:00", "to": "13:00"}],
    )
    out, names, staff, _ = run(
        scenario, [("11:50", "A", 15, INF), ("11:55", "A", 2, INF), ("12:20", "B", 2, INF)]
    )
    # Li finishes at 12:05; the relief's post at W waits for the window until then
    np.testing.assert_array_equal(out.start, [clock("11:50"), clock("12:05"), clock("12:20")])
    assert staff == ["Li", "Relief", "Relief"]
    assert names == ["W", "W", "W"]


def test_a_relief_released_as_its_block_ends_opens_and_closes_at_that_instant(run):
    """Li's ticket in hand ends at 12:05, the instant the relief's block ends: the window's
    release opens the relief's waiting post (step 1) before its block closes it (step 2), a
    period of no length; nobody serves until Li is back."""
    scenario = staffed_hall(
        [{"id": "W", "serves": ["*"]}],
        [
            {"id": "Li", "windows": ["W"], "breaks": [["12:00", "13:00"]]},
            {"id": "Relief", "shift": ["12:00", "12:05"]},
        ],
        rotation=[{"staff": "Relief", "window": "W", "from": "12:00", "to": "12:05"}],
    )
    out, _, staff, _ = run(scenario, [("11:50", "A", 15, INF), ("12:02", "B", 2, INF)])
    np.testing.assert_array_equal(out.start, [clock("11:50"), clock("13:00")])
    assert staff == ["Li", "Li"]
    assert periods(out, compile_scenario(scenario), "W") == [
        (clock("08:00"), clock("12:05")),
        (clock("12:05"), clock("12:05")),
        (clock("13:00"), clock("17:00")),
    ]


def test_a_rotation_swap_waits_for_the_ticket_in_hand(run):
    scenario = staffed_hall(
        [{"id": "W1", "serves": ["*"]}, {"id": "W2", "serves": ["*"]}],
        [{"id": "Li", "windows": ["W1"]}, {"id": "Wang", "windows": ["W2"]}],
        rotation=[
            {"staff": "Li", "window": "W2", "from": "10:00", "to": "11:00"},
            {"staff": "Wang", "window": "W1", "from": "10:00", "to": "11:00"},
        ],
    )
    out, names, staff, _ = run(
        scenario, [("09:55", "A", 12, INF), ("10:02", "A", 5, INF), ("10:03", "B", 5, INF)]
    )
    # Li serves until 10:07: then Wang may take W1 and Li may go to W2, both at 10:07; the
    # longest-waiting ticket goes to the lower window number
    np.testing.assert_array_equal(out.start, [clock("09:55"), clock("10:07"), clock("10:07")])
    assert names == ["W1", "W1", "W2"]
    assert staff == ["Li", "Wang", "Li"]


def test_staff_skills_and_speed_shape_what_a_window_serves_and_how_fast(run):
    scenario = staffed_hall(
        [{"id": "W1", "serves": ["*"], "generalist_factor": 1.5}, {"id": "W2", "serves": ["*"]}],
        [
            {"id": "Li", "windows": ["W1"], "skills": ["A"], "speed": {"A": 2.0}},
            {"id": "Wang", "windows": ["W2"]},
        ],
    )
    out, names, staff, _ = run(scenario, [("09:00", "B", 4, INF), ("09:01", "A", 4, INF)])
    assert names == ["W2", "W1"]  # Li cannot serve B although W1 may and is free
    assert out.end[1] - out.start[1] == pytest.approx(4 * 1.5 * 2.0)


def test_a_tidal_block_switches_what_the_window_serves_after_the_ticket_in_hand(run):
    scenario = hs.Scenario.model_validate(
        {
            "hall": {"open": "08:00", "close": "17:00"},
            "categories": [
                {
                    "id": c,
                    "arrivals": {"rate_per_hour": 1},
                    "service": {"dist": "exponential", "mean_min": 1},
                }
                for c in "AB"
            ],
            "windows": [
                {
                    "id": "T",
                    "serves": ["A"],
                    "tidal": [{"from": "10:00", "to": "11:00", "serves": ["B"]}],
                }
            ],
        }
    )
    out, names, staff, outcomes = run(
        scenario, [("09:58", "A", 5, INF), ("09:59", "B", 5, INF), ("10:10", "A", 5, INF)]
    )
    np.testing.assert_array_equal(out.start, [clock("09:58"), clock("10:03"), clock("11:00")])
    assert staff == [None, None, None]
    assert outcomes == ["served"] * 3


# --------------------------------------------------------------------------- a staffed hall


@pytest.fixture(scope="module")
def lunch_relay() -> hs.Scenario:
    """Four comprehensive windows, two shifts of staff with staggered lunch breaks and a relief
    who rotates between them, one tidal window; busy enough that queues form."""
    return hs.Scenario.model_validate(
        {
            "hall": {"open": "08:30", "close": "17:00", "days": 3},
            "categories": [
                {
                    "id": "A",
                    "arrivals": {"rate_per_hour": 30},
                    "service": {"dist": "lognormal", "mean_min": 6, "cv": 0.6},
                },
                {
                    "id": "B",
                    "arrivals": {"rate_per_hour": 12},
                    "service": {"dist": "exponential", "mean_min": 9},
                    "patience": {"dist": "exponential", "mean_min": 60},
                },
            ],
            "windows": [
                {"id": "W", "count": 4, "serves": ["*"], "generalist_factor": 1.1},
                {
                    "id": "T",
                    "serves": ["A"],
                    "tidal": [{"from": "14:00", "to": "17:00", "serves": ["B"]}],
                },
            ],
            "staff": [
                {
                    "id": "early",
                    "count": 2,
                    "windows": ["W.1", "W.2"],
                    "breaks": [["11:30", "12:30"]],
                },
                {
                    "id": "late",
                    "count": 2,
                    "windows": ["W.3", "W.4"],
                    "breaks": [["12:30", "13:30"]],
                    "speed": {"B": 1.2},
                },
                {"id": "Zhao", "skills": ["A"], "windows": ["T"], "shift": ["09:00", "16:00"]},
                {"id": "relief", "shift": ["11:30", "13:30"]},
            ],
            "rotation": [
                {"staff": "relief", "window": "W.1", "from": "11:30", "to": "12:30"},
                {"staff": "relief", "window": "W.3", "from": "12:30", "to": "13:30"},
            ],
        }
    )


@pytest.fixture(scope="module")
def relay_run(lunch_relay):
    return hs.simulate(lunch_relay, replications=3, seed=11)


def _on_duty_at(staff: dict, scenario: hs.Scenario, minute: float) -> bool:
    """Independent of hallsim.staffing: is this staff member on duty at ``window`` then?"""
    shift = staff.get("shift", [scenario.hall.open, scenario.hall.close])
    end = minutes_of_day(shift[1])
    if end == scenario.hall.close_minute:  # a shift to closing time includes the overtime
        end = math.inf
    if not minutes_of_day(shift[0]) <= minute < end:
        return False
    if any(minutes_of_day(a) <= minute < minutes_of_day(b) for a, b in staff.get("breaks", [])):
        return False
    return True


def test_staff_on_a_break_or_off_shift_never_start_a_ticket(lunch_relay, relay_run):
    tickets = relay_run.tickets
    served = tickets[tickets["outcome"] == "served"]
    assert served["staff"].notna().all()
    members = {}
    for entry in lunch_relay.model_dump(by_alias=True, exclude_defaults=True)["staff"]:
        names = (
            [entry["id"]]
            if entry.get("count", 1) == 1
            else [f"{entry['id']}.{k + 1}" for k in range(entry["count"])]
        )
        homes = entry.get("windows", [])
        for k, name in enumerate(names):
            members[name] = (entry, homes[k] if homes else None)
    blocks = [
        (b.staff, b.window, minutes_of_day(b.from_), minutes_of_day(b.to))
        for b in lunch_relay.rotation
    ]
    checked = 0
    for member, window, start, day in zip(
        served["staff"], served["window"], served["start"], served["day"], strict=True
    ):
        minute = start - day * 1440.0
        entry, home = members[member]
        assert _on_duty_at(entry, lunch_relay, minute), (member, minute)
        sent = [w for s, w, a, b in blocks if s == member and a <= minute < b]
        assert window == (sent[0] if sent else home), (member, window, minute)
        checked += 1
    assert checked > 500


def test_a_window_and_a_staff_member_serve_one_ticket_at_a_time(relay_run):
    served = relay_run.tickets[relay_run.tickets["outcome"] == "served"]
    for key in ("window", "staff"):
        for _, rows in served.groupby(["replication", key], observed=True):
            ordered = rows.sort_values("start")
            assert np.all(ordered["start"].to_numpy()[1:] >= ordered["end"].to_numpy()[:-1] - 1e-9)


def test_staff_rows_add_up_to_the_tickets_and_the_windows(relay_run):
    tickets, staff, windows = relay_run.tickets, relay_run.staff, relay_run.windows
    served = tickets[tickets["outcome"] == "served"]
    busy = (
        (served["end"] - served["start"])
        .groupby([served["replication"], served["staff"]], observed=True)
        .sum()
    )
    table = staff.set_index(["replication", "staff"])
    np.testing.assert_allclose(table.loc[busy.index, "busy_min"], busy)
    counts = served.groupby(["replication", "staff"], observed=True).size()
    np.testing.assert_array_equal(table.loc[counts.index, "served"], counts)
    # every open window is staffed (no unstaffed posts here): open time agrees
    for r in range(relay_run.replications):
        assert staff.loc[staff["replication"] == r, "open_min"].sum() == pytest.approx(
            windows.loc[windows["replication"] == r, "open_min"].sum()
        )
    assert (staff["busy_min"] <= staff["open_min"] + 1e-9).all()
    # the relief works two hours a day, no more (plus any ticket in hand at 13:30)
    relief = staff[staff["staff"] == "relief"]
    assert (relief["open_min"] >= 0).all() and (relief["open_min"] <= 3 * (120 + 60)).all()


def test_a_lunch_relay_keeps_windows_open_over_lunch(relay_run):
    """Open windows per interval never drop to zero: someone always covers lunch."""
    intervals = relay_run.intervals
    lunch = intervals[(intervals["start_min"] >= 690) & (intervals["start_min"] < 810)]
    assert (
        lunch.groupby(["replication", "day", "interval"])["open_windows"].max() >= 3 - 1e-9
    ).all()
