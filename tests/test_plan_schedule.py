"""Shift scheduling (hallsim.plan.schedule): oracles first.

- the integer program's optimal cost equals brute-force enumeration of every combination of
  shifts on small random instances (one group; a windows limit; two groups and two staff
  types with a count limit);
- the schedule's tables agree with its shifts, recomputed here: breaks within their
  windows, people working each interval, surplus and shortfall;
- infeasible requirements raise a PlanError pointing to ``shortfall_cost``, with which the
  missing staff show in ``coverage``;
- bad input raises a PlanError naming the offending value;
- ``to_scenario`` gives a hall whose windows are open, interval by interval and group by
  group, exactly as often as the schedule staffs them (read from the scenario's posts and
  from a simulation).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pulp
import pytest

import hallsim as hs
from hallsim.clock import clock, minutes_of_day
from hallsim.errors import PlanError
from hallsim.plan.schedule import Break, Schedule, ShiftType, StaffType, schedule
from hallsim.staffing import build_posts

OPEN = 480  # 08:00


# ---------------------------------------------------------------------------- the oracle


def columns(shift_types, staff_types, interval_min, n_t, open_minute=OPEN):
    """Every (shift type, staff type, start, break placement) as (works per interval,
    cost, staff type index), from the definitions: a shift works an interval it covers
    whole and no break touches; breaks start lo, lo + interval_min, ... <= hi."""
    staff_types = staff_types or [StaffType("staff", ["*"])]
    times = open_minute + interval_min * np.arange(n_t)
    out = []
    for k in shift_types:
        first, last = minutes_of_day(k.earliest), minutes_of_day(k.latest)
        options = [list(range(b.after_min[0], b.after_min[1] + 1, interval_min)) for b in k.breaks]
        for e, staff in enumerate(staff_types):
            if k.staff_type not in (None, staff.name):
                continue
            for start in range(first, last + 1, k.every_min):
                for offsets in itertools.product(*options):
                    spans = [
                        (start + o, start + o + b.length_min)
                        for o, b in zip(offsets, k.breaks, strict=True)
                    ]
                    if any(s1[0] < s0[1] for s0, s1 in zip(spans, spans[1:], strict=False)):
                        continue
                    works = (times >= start) & (times + interval_min <= start + k.length_min)
                    for a, b in spans:
                        works &= (times + interval_min <= a) | (times >= b)
                    cost = k.length_min / 60 * k.cost_per_hour * staff.cost_factor
                    out.append((works.astype(np.int64), cost, e))
    return out


def brute_force(cols, required, eligible, *, windows=None, counts=None):
    """Least cost over every combination of shift counts (each up to the most staff any
    interval needs, more never pays), or None when none covers ``required[group, t]``.
    With staff types and groups, an interval is covered when every set of groups needs no
    more than the staff types able to serve some group of the set supply (Gale-Hall)."""
    required = np.atleast_2d(required)
    n_groups = required.shape[0]
    eligible = np.asarray(eligible, dtype=bool).reshape(-1, n_groups)
    cap = int(required.sum(axis=0).max())
    works = np.array([c[0] for c in cols])
    cost = np.array([c[1] for c in cols])
    staff = np.array([c[2] for c in cols])
    grid = np.indices((cap + 1,) * len(cols)).reshape(len(cols), -1).T  # every combination
    ok = np.ones(len(grid), dtype=bool)
    working = np.stack(
        [grid[:, staff == e] @ works[staff == e] for e in range(eligible.shape[0])]
    )  # (types, combinations, intervals)
    for size in range(1, n_groups + 1):
        for groups in itertools.combinations(range(n_groups), size):
            need = required[list(groups)].sum(axis=0)
            able = eligible[:, list(groups)].any(axis=1)
            ok &= (working[able].sum(axis=0) >= need).all(axis=1)
    if windows is not None:
        ok &= (working.sum(axis=0) <= windows).all(axis=1)
    for e, count in enumerate(counts or []):
        if count is not None:
            ok &= grid[:, staff == e].sum(axis=1) <= count
    if not ok.any():
        return None
    return float((grid[ok] @ cost).min())


def check_tables(plan: Schedule, required=None):
    """The schedule's tables against its shifts, recomputed here."""
    kinds = {k.name: k for k in plan.shift_types}
    length = plan.interval_min
    for row in plan.shifts.itertuples(index=False):
        k = kinds[row.shift_type]
        start = minutes_of_day(row.start)
        assert start == row.start_min and minutes_of_day(row.end) == row.end_min
        assert row.end_min - row.start_min == k.length_min
        assert start in k.starts and row.count > 0
        assert len(row.breaks) == len(k.breaks)
        assert math.isclose(
            row.cost,
            row.count
            * k.length_min
            / 60
            * k.cost_per_hour
            * next(e.cost_factor for e in plan.staff_types if e.name == row.staff_type),
        )
        for (a, b), brk in zip(row.breaks, k.breaks, strict=True):
            offset = minutes_of_day(a) - start
            assert brk.after_min[0] <= offset <= brk.after_min[1], (row, brk)
            assert minutes_of_day(b) - minutes_of_day(a) == brk.length_min
        if k.breaks:
            assert (row.break_start, row.break_end) == row.breaks[0]
    assert math.isclose(plan.cost, plan.shifts["cost"].sum())
    cov = plan.coverage
    for (day, start), rows in cov.groupby(["day", "interval_start"]):
        working = 0
        for row in plan.shifts[plan.shifts["day"] == day].itertuples(index=False):
            inside = row.start_min <= start and start + length <= row.end_min
            on_break = any(
                minutes_of_day(a) < start + length and minutes_of_day(b) > start
                for a, b in row.breaks
            )
            working += row.count * (inside and not on_break)
        assert (rows["working"] == working).all()
        assert rows["staffed"].sum() == working  # everybody working is at some group
        if len(plan.groups) == 1:
            assert rows["staffed"].iloc[0] == working
    np.testing.assert_array_equal(cov["surplus"], np.maximum(cov["staffed"] - cov["required"], 0))
    np.testing.assert_array_equal(cov["shortfall"], np.maximum(cov["required"] - cov["staffed"], 0))
    assert (cov["time"] == [clock(m) for m in cov["interval_start"]]).all()
    if required is not None:
        np.testing.assert_array_equal(cov["required"], required)
    if plan.unit_shortfall_cost is None:
        assert (cov["shortfall"] == 0).all()
    if not plan.assignment.empty:
        staffed = plan.assignment.groupby(["day", "group", "interval_start"])["staff"].sum()
        merged = cov.set_index(["day", "group", "interval_start"])["staffed"]
        np.testing.assert_array_equal(staffed.reindex(merged.index, fill_value=0), merged)


def random_shift_types(rng, n_t: int, *, staff_type=None):
    """A short shift without breaks (starts every hour) and maybe a long one with a break of
    two or three placements."""
    end = OPEN + 30 * n_t
    short_len = int(rng.choice([60, 90, 120]))
    latest = max(OPEN, end - short_len - int(rng.choice([0, 30])))
    types = [
        ShiftType(
            "short", short_len, "08:00", clock(OPEN + (latest - OPEN) // 60 * 60),
            every_min=60, cost_per_hour=float(rng.choice([1.25, 1.5, 2.0])),
        )
    ]  # fmt: skip
    if rng.random() < 0.75:
        lo = int(rng.choice([30, 60]))
        types.append(
            ShiftType(
                "long", 180, "08:00", clock(OPEN + 30 * int(rng.integers(0, 2))), every_min=30,
                breaks=[Break(30, (lo, lo + 30 * int(rng.integers(1, 3))))],
                staff_type=staff_type,
            )
        )  # fmt: skip
    return types


# ---------------------------------------------------------------------------- optimality


@pytest.mark.parametrize("seed", range(20))
def test_optimal_cost_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_t = int(rng.integers(6, 9))
    required = rng.integers(0, 3, n_t)
    types = random_shift_types(rng, n_t)
    best = brute_force(columns(types, None, 30, n_t), required, [[True]])
    if best is None:
        with pytest.raises(PlanError, match="shortfall_cost"):
            schedule(list(required), types, interval_min=30)
        return
    plan = schedule(list(required), types, interval_min=30)
    assert plan.optimal and plan.status == "Optimal"
    assert plan.cost == pytest.approx(best, abs=1e-6)
    assert plan.shortfall_cost == 0.0
    check_tables(plan, required)


def test_optimal_cost_with_a_windows_limit():
    # long shifts are cheaper per hour than short ones but overshoot; windows = the peak
    # requirement forbids the overshoot in some instances, and then costs more
    binding = 0
    for seed in range(12):
        rng = np.random.default_rng(300 + seed)
        n_t = int(rng.integers(6, 9))
        end = OPEN + 30 * n_t
        required = rng.integers(1, 4, n_t)
        lo = int(rng.choice([30, 60]))
        lunch = Break(30, (lo, lo + 30))
        types = [
            ShiftType("short", 60, "08:00", clock(end - 60), every_min=60, cost_per_hour=2.0),
            ShiftType("long", 180, "08:00", "08:30", every_min=30, breaks=[lunch]),
        ]
        windows = int(required.max())
        cols = columns(types, None, 30, n_t)
        best = brute_force(cols, required, [[True]], windows=windows)
        unlimited = brute_force(cols, required, [[True]])
        if best is None:
            with pytest.raises(PlanError, match="shortfall_cost"):
                schedule(list(required), types, windows=windows, interval_min=30)
            continue
        plan = schedule(list(required), types, windows=windows, interval_min=30)
        assert plan.optimal
        assert plan.cost == pytest.approx(best, abs=1e-6)
        assert (plan.coverage["working"] <= windows).all()
        check_tables(plan, required)
        binding += best > unlimited + 1e-9
    assert binding >= 2  # the limit mattered


def two_groups(required_a, required_b, interval_min=30):
    rows = []
    for group, required in (("A", required_a), ("B", required_b)):
        for t, staff in enumerate(required):
            rows.append(
                {
                    "group": group,
                    "categories": group,
                    "day": 0,
                    "interval_start": OPEN + interval_min * t,
                    "interval_min": interval_min,
                    "staff": int(staff),
                    "arrivals_per_hour": 3.0,  # ignored
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("seed", range(10))
def test_optimal_cost_with_two_groups_and_staff_types(seed):
    rng = np.random.default_rng(200 + seed)
    n_t = int(rng.integers(6, 8))
    required = rng.integers(0, 2, (2, n_t))
    staff_types = [
        StaffType("generalist", ["*"], cost_factor=1.2),
        StaffType("clerk", ["A"], count=int(rng.integers(1, 3)) if seed % 2 else None),
    ]
    types = random_shift_types(rng, n_t, staff_type="generalist")
    cols = columns(types, staff_types, 30, n_t)
    eligible = [[True, True], [True, False]]
    counts = [e.count for e in staff_types]
    best = brute_force(cols, required, eligible, counts=counts)
    table = two_groups(*required)
    if best is None:
        with pytest.raises(PlanError, match="shortfall_cost"):
            schedule(table, types, staff_types, interval_min=30)
        return
    plan = schedule(table, types, staff_types, interval_min=30)
    assert plan.optimal
    assert plan.cost == pytest.approx(best, abs=1e-6)
    check_tables(plan, required.ravel())
    # clerks only ever at group A, and never more of them than count
    assert set(plan.assignment.loc[plan.assignment["staff_type"] == "clerk", "group"]) <= {"A"}
    if staff_types[1].count is not None:
        clerks = plan.shifts.loc[plan.shifts["staff_type"] == "clerk", "count"].sum()
        assert clerks <= staff_types[1].count


@pytest.mark.filterwarnings("ignore:PULP_CBC_CMD is deprecated:DeprecationWarning")
def test_cbc_finds_the_same_optimum():
    types = [
        ShiftType("early", 240, "08:00", "09:00", breaks=[Break(30, (90, 150))]),
        ShiftType("late", 180, "10:00", "11:00", cost_per_hour=1.2),
    ]
    required = [1, 2, 2, 3, 3, 2, 2, 2, 1, 1, 1, 1]
    highs = schedule(required, types, interval_min=30)
    cbc = schedule(required, types, interval_min=30, solver=pulp.PULP_CBC_CMD(msg=False))
    assert cbc.optimal and cbc.gap == 0.0
    assert cbc.cost == pytest.approx(highs.cost)
    assert highs.gap == pytest.approx(0.0, abs=1e-4)
    check_tables(cbc, required)


class StoppedEarly(pulp.HiGHS):
    """HiGHS, reporting what it reports when the time limit stops it with a schedule
    (``solution``) or without one."""

    def __init__(self, solution: int):
        super().__init__(msg=False)
        self.solution = solution

    def actualSolve(self, lp, **kwargs):
        super().actualSolve(lp, **kwargs)
        found = self.solution != pulp.LpSolutionNoSolutionFound
        lp.assignStatus(pulp.LpStatusOptimal if found else pulp.LpStatusNotSolved, self.solution)
        return lp.status


def test_a_schedule_stopped_by_the_time_limit():
    types = [ShiftType("s", 60, "08:00", "09:00")]
    plan = schedule([1, 2, 1], types, solver=StoppedEarly(pulp.LpSolutionIntegerFeasible))
    assert not plan.optimal and plan.status == "Optimal"
    assert plan.gap == pytest.approx(0.0, abs=1e-4)  # what HiGHS says (it did finish)
    assert "not proved optimal" in repr(plan)
    check_tables(plan, [1, 2, 1])
    with pytest.raises(PlanError, match="found no schedule"):
        schedule([1, 2, 1], types, solver=StoppedEarly(pulp.LpSolutionNoSolutionFound))


def test_highs_prints_nothing(capfd):
    schedule([1, 2, 1], [ShiftType("s", 60, "08:00", "09:00")])
    out, err = capfd.readouterr()
    assert out == "" and err == ""


# ---------------------------------------------------------------------------- the tables


def test_tables_on_a_day_with_lunch_breaks():
    day = ShiftType(
        "day", 480, "08:00", "10:00", breaks=[Break(15, (90, 150)), Break(45, (210, 300))]
    )
    short = ShiftType("short", 240, "08:00", "14:00", every_min=30, cost_per_hour=1.3)
    required = [2, 2, 3, 3, 4, 4, 4, 3, 3, 4, 4, 4, 4, 3, 3, 3, 2, 2, 2, 2] * 2
    plan = schedule(required, [day, short], interval_min=15, open="08:00")
    assert plan.optimal
    check_tables(plan, required)
    assert len(plan.coverage) == len(required)
    assert (plan.coverage["interval_start"] == 480 + 15 * np.arange(len(required))).all()
    assert "day" in repr(plan) and "Optimal" in repr(plan)
    assert list(plan.shifts.columns[:10]) == [
        "day", "shift_type", "staff_type", "start", "end", "break_start", "break_end",
        "breaks", "count", "cost",
    ]  # fmt: skip
    assert plan.assignment.empty


def test_requirements_table_with_30_minute_intervals_on_a_15_minute_grid():
    table = pd.DataFrame(
        {
            "interval_start": [480, 510, 540, 570],
            "interval_min": 30,
            "staff": [1, 2, 3, 1],
            "method": "exact",  # ignored
        }
    )
    plan = schedule(table, [ShiftType("s", 60, "08:00", "09:30")], interval_min=15)
    assert plan.open_minute == 480 and plan.interval_min == 15
    np.testing.assert_array_equal(plan.coverage["required"], [1, 1, 2, 2, 3, 3, 1, 1])
    assert list(plan.coverage["group"].unique()) == ["all"]
    check_tables(plan)


def test_requirements_table_shorter_intervals_take_the_max_and_days_are_kept():
    rows = []
    for day, staff in ((0, [1, 3, 0, 2, 2, 1]), (2, [0, 0, 1, 1, 0, 0])):
        for t, s in enumerate(staff):
            rows.append({"day": day, "interval_start": 540 + 10 * t, "staff": s})
    table = pd.DataFrame(rows)  # no interval_min: 10 minutes, from the starts
    plan = schedule(table, [ShiftType("s", 120, "09:00", "09:00")], interval_min=30)
    assert plan.days == [0, 2] and plan.open_minute == 540
    cov = plan.coverage.set_index(["day", "interval_start"])["required"]
    assert cov[0].tolist() == [3, 2] and cov[2].tolist() == [1, 1]
    # a 20-minute interval on a 30-minute grid overlaps two of them
    odd = pd.DataFrame({"interval_start": [540, 560, 580], "interval_min": 20, "staff": [1, 2, 3]})
    plan = schedule(odd, [ShiftType("s", 60, "09:00", "09:00")], interval_min=30)
    assert plan.coverage["required"].tolist() == [2, 3]
    check_tables(plan)


def test_day_and_identical_days():
    rows = [
        {"day": d, "interval_start": 480 + 30 * t, "interval_min": 30, "staff": s}
        for d in (0, 1)
        for t, s in enumerate([1, 1, 2, 2])
    ]
    plan = schedule(pd.DataFrame(rows), [ShiftType("s", 60, "08:00", "09:00")])
    one = plan.day(1)
    assert one.days == [1] and one.cost == pytest.approx(plan.cost / 2)
    assert (one.shifts["day"] == 1).all()
    with pytest.raises(PlanError, match="day 5"):
        plan.day(5)


def test_days_solved_at_once_are_each_day_solved_alone(capfd):
    """Separate days are solved in threads; each day's plan is the one it gets alone, the
    solver prints nothing, and ``with_required(days=...)`` solves only the days named."""
    profiles = [[1, 2, 3, 2, 1, 1], [2, 2, 1, 1, 3, 3], [1, 1, 1, 2, 2, 2], [3, 2, 2, 1, 1, 1]]
    table = pd.DataFrame(
        [
            {"day": d, "interval_start": 480 + 30 * t, "interval_min": 30, "staff": s}
            for d, staff in enumerate(profiles)
            for t, s in enumerate(staff)
        ]
    )
    types = [ShiftType("s", 90, "08:00", "09:30", every_min=30)]
    plan = schedule(table, types)
    assert plan.days == [0, 1, 2, 3]
    for d in plan.days:
        alone = schedule(table[table["day"] == d], types)
        assert plan.day(d).cost == pytest.approx(alone.cost)
        assert plan.day(d).shifts.reset_index(drop=True).equals(alone.shifts)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    raised = table.assign(staff=table["staff"] + 1)
    again = plan.with_required(raised, keep=True, days=[2])  # the other days stay as they are
    for d in (0, 1, 3):
        assert (
            again.day(d)
            .shifts.reset_index(drop=True)
            .equals(plan.day(d).shifts.reset_index(drop=True))
        )
    staffed = again.coverage[again.coverage["day"] == 2]["staffed"].to_numpy()
    assert (staffed >= np.repeat(profiles[2], 2) + 1).all()  # 15-minute intervals
    assert again.cost > plan.cost


# ---------------------------------------------------------------------------- shortfalls


def test_infeasible_counts_raise_and_shortfall_cost_reports_them():
    staff = [StaffType("clerk", ["*"], count=1)]
    types = [ShiftType("s", 120, "08:00", "08:00")]
    with pytest.raises(PlanError, match="shortfall_cost="):
        schedule([1, 2, 2, 1], types, staff, interval_min=30)
    plan = schedule([1, 2, 2, 1], types, staff, interval_min=30, shortfall_cost=10)
    assert plan.coverage["shortfall"].tolist() == [0, 1, 1, 0]
    assert plan.cost == pytest.approx(2.0)  # the paid hours only
    assert plan.shortfall_cost == pytest.approx(20.0)
    check_tables(plan, [1, 2, 2, 1])


def test_uncoverable_hours_with_shortfall_cost():
    types = [ShiftType("s", 60, "08:00", "08:30", every_min=30)]
    with pytest.raises(PlanError, match=r"09:30-10:00 on day 0"):
        schedule([1, 1, 1, 1], types, interval_min=30)
    plan = schedule([1, 1, 1, 1], types, interval_min=30, shortfall_cost=5.0)
    assert plan.coverage["shortfall"].tolist() == [0, 0, 0, 1]
    assert plan.shortfall_cost == pytest.approx(5.0) and plan.cost == pytest.approx(2.0)
    # a shortfall dearer to fill than to leave: left
    cheap = schedule([1, 1, 1, 1], types, interval_min=30, shortfall_cost=0.1)
    assert cheap.cost == 0 and cheap.coverage["shortfall"].sum() == 4


def test_windows_below_the_requirement():
    with pytest.raises(PlanError, match=r"windows=2 but 3 staff are required at 08:30 on day 0"):
        schedule([2, 3], [ShiftType("s", 60, "08:00", "08:00")], windows=2, interval_min=30)
    plan = schedule(
        [2, 3], [ShiftType("s", 60, "08:00", "08:00")], windows=2, interval_min=30,
        shortfall_cost=100,
    )  # fmt: skip
    assert plan.coverage["shortfall"].tolist() == [0, 1]


# ---------------------------------------------------------------------------- bad input


ONE = [ShiftType("s", 60, "08:00", "09:00")]


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: Break(0, (10, 20)), "length_min"),
        (lambda: Break(15, (60, 30)), "(60, 30)"),
        (lambda: Break(15, 60), "60"),
        (lambda: ShiftType("s", 0, "08:00", "09:00"), "length_min"),
        (lambda: ShiftType("s", 60, "8am", "09:00"), "8am"),
        (lambda: ShiftType("s", 60, "10:00", "09:00"), "'10:00'"),
        (lambda: ShiftType("s", 60, "08:00", "23:30"), "24:00"),
        (lambda: ShiftType("s", 60, "08:00", "09:00", every_min=0), "every_min"),
        (lambda: ShiftType("s", 60, "08:00", "09:00", breaks=[Break(30, (20, 40))]), "(20, 40)"),
        (
            lambda: ShiftType(
                "s", 240, "08:00", "09:00", breaks=[Break(30, (60, 90)), Break(30, (60, 70))]
            ),
            "breaks[1]",
        ),
        (lambda: ShiftType("s", 60, "08:00", "09:00", cost_per_hour=-1), "-1"),
        (lambda: StaffType("clerk", "A"), "'A'"),
        (lambda: StaffType("clerk", []), "clerk"),
        (lambda: StaffType("clerk", ["A"], count=-1), "-1"),
        (lambda: StaffType("clerk", ["A"], cost_factor=math.nan), "nan"),
        (lambda: schedule([], ONE), "empty"),
        (lambda: schedule([1, -1], ONE), "-1"),
        (lambda: schedule([1, 1.5], ONE), "1.5"),
        (lambda: schedule("12", ONE), "str"),
        (
            lambda: schedule(pd.DataFrame({"interval_start": [480], "staff": [math.nan]}), ONE),
            "nan",
        ),
        (lambda: schedule(pd.DataFrame({"interval_start": [], "staff": []}), ONE), "no rows"),
        (lambda: schedule(pd.DataFrame({"interval_start": [480]}), ONE), "'staff'"),
        (lambda: schedule([1], ONE, interval_min=0), "interval_min"),
        (lambda: schedule([1], ONE, open="25:00"), "25:00"),
        (lambda: schedule([1], ONE, windows=-2), "-2"),
        (lambda: schedule([1], ONE, shortfall_cost=-3.0), "-3.0"),
        (lambda: schedule([1], ONE + ONE), "two shift types are named 's'"),
        (
            lambda: schedule([1], [ShiftType("s", 60, "08:00", "08:00", staff_type="nurse")]),
            "'nurse'",
        ),
        (
            lambda: schedule(
                two_groups([1], [1]), ONE, [StaffType("a", ["A"]), StaffType("x", ["X"])]
            ),
            "staff type 'x'",
        ),
        (lambda: schedule(two_groups([1], [1]), ONE, [StaffType("a", ["A"])]), "group 'B'"),
        (lambda: schedule([0, 1, 1], [ShiftType("s", 15, "08:00", "08:15")]), "08:30-08:45"),
    ],
)
def test_bad_input_names_the_value(make, words):
    with pytest.raises(PlanError) as info:
        make()
    assert words in str(info.value)


def test_a_group_needs_staff_with_all_its_categories():
    table = two_groups([1, 1], [1, 1])
    table.loc[table["group"] == "B", "categories"] = "A,B"
    staff = [StaffType("a", ["A"])]
    with pytest.raises(PlanError, match="no staff type can serve group 'B'"):
        schedule(table, ONE, staff)
    with pytest.raises(PlanError, match="staff type 'b'"):
        schedule(table, ONE, [*staff, StaffType("b", ["B"]), StaffType("ab", ["A", "B"])])
    plan = schedule(table, ONE, [*staff, StaffType("ab", ["A", "B"])])
    assert set(plan.assignment.loc[plan.assignment["group"] == "B", "staff_type"]) == {"ab"}


def test_group_names_as_skills_and_table_values_as_floats():
    table = two_groups([1, 1], [1, 0]).drop(columns="categories").astype({"staff": float})
    table["day"] = table["day"].astype(float)
    staff = [StaffType("a", ["A"]), StaffType("b", ["B"], cost_factor=0.5)]
    plan = schedule(table, ONE, staff, interval_min=30)
    assert plan.groups == {"A": ("A",), "B": ("B",)}
    by_type = plan.assignment.groupby("staff_type")["group"].unique()
    assert list(by_type["a"]) == ["A"] and list(by_type["b"]) == ["B"]
    inconsistent = two_groups([1, 1], [1, 1])
    inconsistent.loc[3, "categories"] = "B,C"
    with pytest.raises(PlanError, match="'B,C'"):
        schedule(inconsistent, ONE)
    duplicated = pd.concat([two_groups([1], [1]), two_groups([1], [1])], ignore_index=True)
    with pytest.raises(PlanError, match="second requirement"):
        schedule(duplicated, ONE)


def constraint_names(problem) -> set[str]:
    constraints = problem.constraints
    if callable(constraints):  # PuLP 3 (a list from PuLP 4); PuLP 2 has a dict
        return {c.name for c in constraints()}
    return set(constraints)


def test_model_names_follow_the_model():
    from hallsim.plan.schedule import _build, _prepare

    table = two_groups([1, 2], [0, 1])
    table["group"] = ["front desk", "front desk", "front_desk", "front_desk"]
    table["categories"] = ["A", "A", "B", "B"]
    kinds = [ShiftType("early shift", 60, "08:00", "08:00", breaks=[Break(15, (15, 15))])]
    staff = [StaffType("clerk", ["*"], count=3), StaffType("helper", ["B"])]
    data = _prepare(table, kinds, staff, 4, 15, "08:00", 2.0)
    problem, _ = _build(data)
    variables = {v.name for v in problem.variables()}
    assert "shifts_d0_early_shift_clerk_0800_b0815" in variables
    assert "assigned_d0_clerk_front_desk_0830" in variables
    assert "assigned_d0_clerk_front_desk_1_0830" in variables  # the second group
    assert "shortfall_d0_front_desk_0845" in variables
    assert {
        "cover_d0_front_desk_0800", "flow_d0_clerk_0800", "staff_d0_clerk_0830",
        "windows_d0_0830", "count_d0_clerk",
    } <= constraint_names(problem)  # fmt: skip
    plan = schedule(table, kinds, staff, windows=4, shortfall_cost=2.0)
    assert set(plan.coverage["group"]) == {"front desk", "front_desk"}


# ---------------------------------------------------------------------------- to_scenario


# short services: a window whose post ends finishes the ticket in hand, so the simulated
# open time per interval equals the posts' to within the overrun of one ticket
SERVICE = {"dist": "deterministic", "mean_min": 0.01}


def hall(categories="AB", close="12:00", **windows) -> hs.Scenario:
    return hs.Scenario.model_validate(
        {
            "hall": {"open": "08:00", "close": close, "interval_min": 15},
            "categories": [
                {
                    "id": c,
                    "arrivals": {"rate_per_hour": 6},
                    "service": SERVICE,
                }
                for c in categories
            ],
            "windows": [
                {"id": "W", "count": 2, "serves": ["*"], "generalist_factor": 1.25},
                *windows.get("extra", []),
            ],
        }
    )


def open_windows(scenario: hs.Scenario, group: str, start: int, length: int) -> int:
    """Windows of the group's entry with one post (one person) over the whole interval."""
    entry = [w.id for w in scenario.windows].index(group)
    return sum(
        any(a <= start and start + length <= b for a, b in post.spans)
        for post in build_posts(scenario)[0]
        if post.entry == entry
    )


def assert_round_trip(plan: Schedule, scenario: hs.Scenario) -> None:
    for row in plan.coverage.itertuples(index=False):
        got = open_windows(scenario, row.group, row.interval_start, plan.interval_min)
        assert got == row.staffed, (row.group, row.time, got, row.staffed)
    # and in a simulation (hall intervals = schedule intervals): mean open windows serving
    # each category, interval by interval (up to a ticket's overrun at a change of post)
    results = hs.simulate(scenario, replications=2, seed=1, progress=False)
    table = results.intervals
    cov = plan.coverage
    for category in scenario.category_ids:
        serving = cov["group"].map(
            lambda g, c=category: plan.groups[g] in (None, (c,)) or (c in plan.groups[g])
        )
        expected = cov[serving].groupby("interval_start")["staffed"].sum()
        for start, staffed in expected.items():
            cells = table[(table["start_min"] == start) & (table["category"] == category)]
            assert len(cells) == 2
            np.testing.assert_allclose(cells["open_windows"], staffed, atol=0.01)


def test_to_scenario_staggered_lunch_breaks_need_rotation():
    # two full shifts cover 2 windows all morning; their breaks are bridged by one cover
    # shift (cheaper than a third full shift or covers all day), so after the breaks the
    # full shifts come back to the other window
    full = ShiftType("full", 240, "08:00", "08:00", breaks=[Break(30, (60, 150))])
    cover = ShiftType("cover", 60, "08:00", "11:00", cost_per_hour=2.0)
    plan = schedule([2] * 16, [full, cover])
    assert plan.cost == pytest.approx(10.0)
    base = hall()
    scenario = plan.to_scenario(base)
    assert [w.id for w in scenario.windows] == ["all"]
    assert scenario.windows[0].count == 2 and scenario.windows[0].generalist_factor == 1.25
    assert scenario.rotation, "staggered breaks move people between windows"
    assert sum(s.count for s in scenario.staff) == plan.shifts["count"].sum()
    assert all(s.breaks or s.id.startswith("cover") for s in scenario.staff)
    assert scenario.categories == base.categories and scenario.hall == base.hall
    assert_round_trip(plan, scenario)


def test_to_scenario_day_with_lunch_breaks_and_count_entries():
    day = ShiftType("day", 240, "08:00", "08:30", breaks=[Break(30, (60, 150))])
    short = ShiftType("short", 90, "08:00", "10:30", cost_per_hour=1.6)
    required = [2, 3, 3, 4, 4, 4, 4, 3, 3, 3, 3, 3, 4, 4, 3, 2]
    plan = schedule(required, [day, short])
    scenario = plan.to_scenario(hall())
    assert_round_trip(plan, scenario)
    # people on the same shift are one [[staff]] entry of count n, with n home windows
    pair = schedule([2] * 8, [ShiftType("s", 120, "08:00", "08:00")])
    scenario = pair.to_scenario(hall())
    (entry,) = scenario.staff
    assert entry.count == 2 and entry.windows == ["all.1", "all.2"] and not scenario.rotation
    assert_round_trip(pair, scenario)


def test_to_scenario_two_groups_people_move_between_groups():
    required_a = [1, 2, 2, 1, 0, 0, 1, 2]
    required_b = [0, 0, 1, 2, 2, 2, 1, 0]
    staff = [StaffType("generalist", ["*"]), StaffType("clerk", ["A"], cost_factor=0.9)]
    types = [
        ShiftType("long", 240, "08:00", "08:00", breaks=[Break(30, (90, 120))], every_min=30),
        ShiftType("short", 60, "08:00", "11:00", every_min=30, cost_per_hour=1.5),
    ]
    plan = schedule(two_groups(required_a, required_b), types, staff, interval_min=30)
    check_tables(plan, required_a + required_b)
    base = hs.Scenario.model_validate(
        {
            "hall": {"open": "08:00", "close": "12:00", "interval_min": 30},
            "categories": [
                {"id": c, "arrivals": {"rate_per_hour": 6},
                 "service": SERVICE}
                for c in "AB"
            ],
            "windows": [
                {"id": "WA", "count": 2, "serves": ["A"], "generalist_factor": 1.1},
                {"id": "WB", "count": 2, "serves": ["B"]},
            ],
        }
    )  # fmt: skip
    scenario = plan.to_scenario(base)
    factors = {w.id: w.generalist_factor for w in scenario.windows}
    assert factors == {"A": 1.1, "B": 1.0}
    skills = {tuple(s.skills) for s in scenario.staff}
    assert skills <= {("*",), ("A",)}
    assert_round_trip(plan, scenario)


def test_to_scenario_needs_one_day():
    rows = [
        {"day": d, "interval_start": 480 + 30 * t, "interval_min": 30, "staff": s}
        for d, staff in ((0, [1, 1, 1, 1]), (1, [1, 2, 2, 1]))
        for t, s in enumerate(staff)
    ]
    plan = schedule(pd.DataFrame(rows), [ShiftType("s", 60, "08:00", "09:00")])
    with pytest.raises(PlanError, match=r"schedule\.day\(d\)"):
        plan.to_scenario(hall())
    for d in plan.days:
        assert_round_trip(plan.day(d), plan.day(d).to_scenario(hall()))
    same = pd.DataFrame(rows[:4] + [{**r, "day": 1} for r in rows[:4]])
    twice = schedule(same, [ShiftType("s", 60, "08:00", "09:00")])
    assert_round_trip(twice.day(0), twice.to_scenario(hall()))


def test_to_scenario_checks_the_base():
    plan = schedule(two_groups([1, 1], [1, 1]), ONE)
    with pytest.raises(PlanError, match="'B'"):
        plan.to_scenario(hall(categories="AC"))
