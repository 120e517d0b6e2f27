"""The hall's calendar (closed weekdays, holidays, weekday hours) and arrival rates with an
interval of their own: the newcomer's closed weekend as a regression test, the draws and the
schedule of a day with its own hours against formulas, the back office and pickup over
closed days, and the located errors of ``hallsim validate``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import OUTPUT_FIELDS, category, exponential, make_scenario

import hallsim as hs
from hallsim.compile import SERVED, compile_scenario
from hallsim.engines import fast, reference
from hallsim.engines.backoffice import absolute_spans, pickup_arrivals
from hallsim.engines.inputs import _DrawPlan, draw_inputs
from hallsim.results import format_summary, replication_tables
from hallsim.runner import capacity_warnings

PANJIN = Path(__file__).resolve().parents[1] / "scenarios" / "panjin.toml"


def with_hall(scenario: hs.Scenario, **changes) -> hs.Scenario:
    """``scenario`` with ``changes`` to its ``[hall]``, validated."""
    data = scenario.model_dump(by_alias=True, exclude_none=True)
    data["hall"].update(changes)
    return hs.Scenario.model_validate(data)


def run(scenario: hs.Scenario, **options) -> hs.Results:
    return hs.simulate(scenario, replications=4, seed=2, progress=False, **options)


@pytest.fixture(scope="module")
def panjin() -> hs.Scenario:
    return hs.load_scenario(PANJIN)  # Monday to Friday, weekday_factors 0 on the weekend


def test_a_closed_weekend_gives_the_five_day_week(panjin):
    """The newcomer's finding: a calendar week (days = 7) whose weekend had weekday_factors
    0 counted the weekend's windows as open (utilisation 49.8 % became 35.4 %). With the
    weekend closed, the 7-day week is the 5-day week, table for table: the draws are made
    day by day, a closed day's arrival pieces expect no tickets and a Poisson draw of mean 0
    takes no random number, and the weekend comes last, so Monday to Friday draw the very
    same numbers (identical tables, not merely equal within a CI)."""
    five = run(panjin)
    week = run(with_hall(panjin, days=7, closed_weekdays=["sat", "sun"]))
    for table in ("tickets", "intervals", "windows", "replication_stats", "back_office"):
        pd.testing.assert_frame_equal(getattr(week, table), getattr(five, table), obj=table)
    assert week.summary().attrs["days"] == 5
    # without the calendar the same tickets met windows open on the weekend as well: two
    # more days of each window's hours (its spans) in the denominator
    open_week = run(with_hall(panjin, days=7))
    pd.testing.assert_frame_equal(open_week.tickets, five.tickets)
    hours = {
        name: sum(b - a for a, b in open_week.scenario.spans(window))
        for window in panjin.windows
        for name in window.names
    }
    extra = open_week.windows["window"].astype(str).map(hours).to_numpy()
    np.testing.assert_allclose(
        open_week.windows["open_min"].to_numpy(), five.windows["open_min"].to_numpy() + 2 * extra
    )
    utilisation = week.summary()["utilisation"]["overall"]
    assert open_week.summary()["utilisation"]["overall"] < 0.75 * utilisation


@pytest.fixture(scope="module")
def odd_week(panjin) -> hs.Scenario:
    """Thursday to Wednesday: the closed weekend and a holiday (Tuesday) mid-run."""
    return with_hall(panjin, days=7, first_weekday="thu", closed_weekdays=["sat", "sun"])


def test_closed_days_mid_run_have_no_tickets_no_open_window_and_no_rows(odd_week):
    scenario = with_hall(odd_week, holidays=[5])
    hall = compile_scenario(scenario)
    assert hall.open_days.tolist() == [0, 1, 4, 6]
    results = run(scenario)
    assert set(results.tickets["day"]) == {0, 1, 4, 6}
    assert sorted(results.intervals["day"].unique()) == [0, 1, 4, 6]
    inputs = draw_inputs(hall, np.random.default_rng(5))
    output = fast.run(hall, inputs)
    period_day = (output.period_start // 1440).astype(int)
    assert set(period_day.tolist()) == {0, 1, 4, 6}
    # open time: each window's spans on each open day, plus overtime past closing time
    per_window = results.windows.groupby("window", observed=True)["open_min"].sum() / 4
    spans = {
        name: sum(b - a for a, b in scenario.spans(window))
        for window in scenario.windows
        for name in window.names
    }
    for name, minutes in per_window.items():
        assert 4 * spans[name] <= minutes < 4 * spans[name] + 4 * 120
    # tickets per window and day count the four open days only
    stats = results.replication_stats
    overall = stats[stats["category"] == "overall"]
    served = results.tickets.groupby("replication")["outcome"].apply(
        lambda o: (o == "served").sum()
    )
    np.testing.assert_allclose(
        overall["tickets_per_window_day"].to_numpy(), served.to_numpy() / len(hall.window_names) / 4
    )
    assert "all 4 open days" in format_summary(results.summary())


def test_both_engines_agree_over_closed_days_and_weekday_hours(odd_week):
    scenario = with_hall(odd_week, holidays=[5], hours={"fri": ["09:00", "12:00"]})
    hall = compile_scenario(scenario)
    inputs = draw_inputs(hall, np.random.default_rng(9))
    expected = reference.run(hall, inputs)
    for kernel in ("auto", "general", "full-steps"):
        got = fast.run(hall, inputs, kernel=kernel)
        for name in OUTPUT_FIELDS:
            np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), name)


def test_the_fcfs_kernel_runs_each_kind_of_day_as_the_rules_say():
    """A hall of independent FCFS groups takes the specialised kernel, one call per kind of
    day (Saturday's hours, the others'), and gives what the simpy engine gives."""
    scenario = make_scenario(
        [category("A", 40, exponential(3.0)), category("B", 20, exponential(5.0))],
        [{"id": "W", "count": 2, "serves": ["A"]}, {"id": "V", "serves": ["B"]}],
        open="08:00",
        close="12:00",
        days=7,
        first_weekday="wed",
        closed_weekdays=["sun"],
        holidays=[1],
        hours={"sat": ["09:00", "11:00"], "mon": ["08:00", "10:30"]},
    )
    hall = compile_scenario(scenario)
    assert hall.fcfs_groups and hall.n_kinds == 3
    inputs = draw_inputs(hall, np.random.default_rng(1))
    expected = reference.run(hall, inputs)
    for kernel in ("auto", "general"):
        got = fast.run(hall, inputs, kernel=kernel)
        for name in OUTPUT_FIELDS:
            np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), name)


# --- a weekday with its own hours ------------------------------------------------------------


@pytest.fixture(scope="module")
def saturday() -> hs.Scenario:
    """08:30-17:00 on weekdays, 09:00-12:00 on Saturdays; Sundays closed. Window M works
    the morning and the afternoon with a lunch break, window A the afternoon only."""
    return make_scenario(
        [
            category("A", 6, exponential(3.0)),
            {
                "id": "B",
                "arrivals": {
                    "rates_per_hour": [k + 1 for k in range(17)],
                    "weekday_factors": [1, 1, 1, 1, 1, 2, 1],
                },
                "service": exponential(5.0),
                "appointments": {"slot_min": 60, "booked": [1] * 9},
            },
        ],
        [
            {
                "id": "M",
                "count": 2,
                "serves": ["*"],
                "open": [["08:30", "12:00"], ["13:30", "17:00"]],
            },
            {"id": "A", "serves": ["*"], "open": [["13:00", "17:00"]]},
        ],
        open="08:30",
        close="17:00",
        days=7,
        first_weekday="mon",
        closed_weekdays=["sun"],
        hours={"sat": ["09:00", "12:00"]},
    )


def test_a_short_day_expects_the_rates_over_its_own_hours(saturday):
    """The expected walk-ins of each (day, interval): rate x factor x the minutes of the
    interval within the day's hours, by hand."""
    hall = compile_scenario(saturday)
    expected = _DrawPlan.of(hall).expected.reshape(7, -1)
    b_rates = np.arange(1, 18) / 60.0
    for day in range(7):
        first, last = {5: (540, 720), 6: (0, 0)}.get(day, (510, 1020))
        factor = 2.0 if day == 5 else 1.0
        starts = 510 + 30 * np.arange(17)
        minutes = np.clip(np.minimum(starts + 30, last) - np.maximum(starts, first), 0, None)
        np.testing.assert_allclose(expected[day], minutes * (0.1 + factor * b_rates), rtol=1e-12)


def test_on_a_short_day_tickets_and_bookings_keep_to_its_hours(saturday):
    results = run(saturday, keep_tickets=True)
    tickets = results.tickets
    minute = tickets["issued"] - tickets["day"] * 1440.0
    sat = tickets[tickets["day"] == 5]
    assert len(sat) and (minute[sat.index] >= 540).all() and (minute[sat.index] < 720).all()
    assert not (tickets["day"] == 6).any()
    # one booking a slot from 08:30, hourly: Saturday takes the three slots from 09:30 (x 2)
    booked = sat[sat["category"] == "B:appointment"]
    assert booked.groupby("replication").size().tolist() == [6] * 4


def test_on_a_short_day_spans_are_cut_to_its_hours(saturday):
    """Saturday (day 5): window M opens at 09:00 (not 08:30), its morning span reaches
    12:00, the day's closing time, so it stays in overtime while tickets issued before wait;
    its afternoon span and window A do not open."""
    hall = compile_scenario(saturday)
    inputs = draw_inputs(hall, np.random.default_rng(4))
    output = fast.run(hall, inputs)
    names = np.array(hall.window_names)[hall.post_window[output.period_post]]
    day = output.period_start // 1440
    start = output.period_start[day == 5] - 5 * 1440
    end = output.period_end[day == 5] - 5 * 1440
    assert sorted(names[day == 5].tolist()) == ["M.1", "M.2"]
    assert (start == 540).all() and (end >= 720).all()
    saturday_tickets = inputs.day == 5
    served = output.outcome[saturday_tickets] == SERVED
    assert served.all()
    last = output.end[saturday_tickets].max() - 5 * 1440
    assert end.max() == pytest.approx(max(last, 720.0))
    # a weekday: M from 08:30 to 12:00 and from 13:30, A from 13:00
    monday = day == 0
    assert sorted(output.period_start[monday].tolist()) == [510, 510, 780, 810, 810]


def test_tickets_served_after_a_short_days_closing_are_counted(saturday):
    """``served_after_close`` counts tickets whose service began at or after their own
    day's closing time (12:00 on Saturday, 17:00 on weekdays)."""
    data = saturday.model_dump(by_alias=True, exclude_none=True)
    data["windows"][0]["count"] = 1  # one window M: Saturday's queue outlasts its hours
    data["categories"][1]["arrivals"]["weekday_factors"] = [1, 1, 1, 1, 1, 4, 1]
    busy = hs.Scenario.model_validate(data)
    hall = compile_scenario(busy)
    inputs = draw_inputs(hall, np.random.default_rng(3))
    output = fast.run(hall, inputs)
    tables = replication_tables(hall, inputs, output, keep_tickets=False)
    close = np.where(inputs.day == 5, 720.0, 1020.0) + inputs.day * 1440.0
    late = (output.outcome == SERVED) & (output.start >= close)
    assert late[inputs.day == 5].any()
    assert tables["served_after_close"].tolist() == [int(late.sum())]


def test_a_closed_weekday_is_never_overloaded_and_a_short_one_counts_its_own_hours(saturday):
    data = saturday.model_dump(by_alias=True, exclude_none=True)
    data["categories"][1]["arrivals"]["weekday_factors"] = [1, 1, 1, 1, 1, 100, 100]
    hall = compile_scenario(hs.Scenario.model_validate(data))
    messages = capacity_warnings(hall)
    assert [m.split(":")[0] for m in messages] == ["overloaded on Sat"]
    # Saturday's open time: two M windows from 09:00 to 12:00
    assert "exceeds 6.0 open window-hours" in messages[0]


# --- back office and pickup over closed days ------------------------------------------------


def test_back_office_and_pickup_work_on_open_days_only():
    deferred = {"share": 1.0, "back_office": "O", "pickup": True}
    data = {
        "hall": {
            "open": "09:00",
            "close": "17:00",
            "days": 7,
            "first_weekday": "thu",
            "closed_weekdays": ["sat", "sun"],
            "holidays": [4],
            "hours": {"fri": ["09:00", "12:00"]},
        },
        "categories": [category("A", 10, exponential(2.0), deferred=deferred)],
        "windows": [{"id": "W", "serves": ["A"]}],
        "back_office": [
            {"id": "O", "service": exponential(30.0)},
            {"id": "late", "hours": [["18:00", "20:00"]], "service": exponential(30.0)},
        ],
        "pickup": {"windows": 1, "service": exponential(2.0)},
    }
    hall = compile_scenario(hs.Scenario.model_validate(data))
    # Thu 09:00-17:00, Fri 09:00-12:00, Mon (day 4) a holiday, Tue and Wed
    start, end = absolute_spans(hall.office_spans[0], hall.day_kind)
    days = [0, 1, 5, 6]
    assert start.tolist() == [d * 1440 + 540 for d in days]
    assert end.tolist() == [
        d * 1440 + h for d, h in zip(days, [1020, 720, 1020, 1020], strict=True)
    ]
    start, end = absolute_spans(hall.office_spans[1], hall.day_kind)
    assert start.tolist() == [d * 1440 + 1080 for d in days]  # its own hours, open days
    # a result ready on Friday after its pickup hours is collected on Tuesday (day 5), a share
    # 0.25 into its hours; one ready on Thursday morning, at once
    ready = np.array([1 * 1440 + 13 * 60, 0 * 1440 + 600, 6 * 1440 + 1100])
    arrive = pickup_arrivals(hall, ready, np.array([0.25, 0.9, 0.5]))
    assert arrive[0] == 5 * 1440 + 540 + 0.25 * 480
    assert arrive[1] == 600
    assert np.isnan(arrive[2])  # after the last day's hours: no open day follows


# --- arrival rates with an interval of their own --------------------------------------------


def rates_hall(rates: list[float], interval_min: int, rate_interval_min: int | None) -> hs.Scenario:
    arrivals = {"rates_per_hour": rates}
    if rate_interval_min is not None:
        arrivals["rate_interval_min"] = rate_interval_min
    return make_scenario(
        [
            {"id": "A", "arrivals": arrivals, "service": exponential(4.0)},
            category("B", 5, exponential(6.0)),
        ],
        [{"id": "W", "count": 2, "serves": ["*"]}],
        open="08:00",
        close="12:00",
        days=3,
        interval_min=interval_min,
    )


def test_hourly_rates_reported_by_15_minutes_are_the_rates_repeated_every_15_minutes():
    hourly = [10.0, 40.0, 25.0, 5.0]
    reported = run(rates_hall(hourly, 15, 60))
    repeated = run(rates_hall([r for r in hourly for _ in range(4)], 15, None))
    for table in ("tickets", "intervals", "replication_stats"):
        pd.testing.assert_frame_equal(getattr(reported, table), getattr(repeated, table))
    assert reported.intervals["interval"].max() >= 15  # reported by 15 minutes


def test_rate_intervals_and_reporting_intervals_cut_the_day_into_pieces():
    """Rates every 45 minutes reported every 30: pieces start at every multiple of either;
    each piece expects its rate over its minutes."""
    rates = [12.0, 24.0, 36.0, 48.0, 60.0, 72.0]  # 08:00-12:00 in 45-minute intervals
    hall = compile_scenario(rates_hall(rates, 30, 45))
    cuts = [0, 30, 45, 60, 90, 120, 135, 150, 180, 210, 225, 240]
    assert hall.rate_bounds.tolist() == cuts
    expected = _DrawPlan.of(hall).expected.reshape(3, -1)[0]
    lengths = np.diff(cuts)
    rate = np.array(rates)[np.array(cuts[:-1]) // 45] / 60.0 + 5 / 60.0
    np.testing.assert_allclose(expected, rate * lengths, rtol=1e-12)


def test_without_rate_intervals_the_pieces_are_the_reporting_slots():
    for path in sorted(PANJIN.parent.glob("*.toml")):
        hall = compile_scenario(hs.load_scenario(path))
        np.testing.assert_array_equal(hall.rate_bounds, hall.slot_bounds()[: hall.n_open_slots + 1])


# --- located errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hall", "arrivals", "line"),
    [
        (
            {"closed_weekdays": ["sat", "sun", "sat"]},
            None,
            "hall.closed_weekdays[2]: listed twice (got 'sat')",
        ),
        (
            {"closed_weekdays": ["funday"]},
            None,
            "hall.closed_weekdays[0]: must be 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun'",
        ),
        ({"holidays": [1, 1]}, None, "hall.holidays[1]: listed twice (got 1)"),
        (
            {"holidays": [3]},
            None,
            "hall.holidays[0]: not a day of the run: days are numbered from 0 to 2 (got 3)",
        ),
        ({"holidays": [-1]}, None, "hall.holidays[0]: must be >= 0 (got -1)"),
        (
            {"hours": {"sat": ["07:00", "12:00"]}},
            None,
            "hall.hours.sat: must lie within the hall's hours 08:00-12:00 (got ['07:00', '12:00'])",
        ),
        (
            {"hours": {"mon": ["11:00", "10:00"]}},
            None,
            "hall.hours.mon: must end after it starts (got ['11:00', '10:00'])",
        ),
        (
            {"hours": {"sun": ["09:00", "10:00"]}, "closed_weekdays": ["sun"]},
            None,
            "hall.hours.sun: the hall is closed that weekday (closed_weekdays)",
        ),
        ({"hours": {"someday": ["09:00", "10:00"]}}, None, "hall.hours.someday: unknown key"),
        (
            {"closed_weekdays": ["mon", "tue"], "holidays": [2]},
            None,
            "hall: the hall is closed on every one of its 3 days (closed_weekdays, holidays)",
        ),
        (
            {},
            {"rates_per_hour": [1.0, 2.0], "rate_interval_min": 60},
            'categories[0] (id="A").arrivals.rates_per_hour: needs one rate per 60-minute '
            "interval from 08:00 to 12:00: 4 values (got 2)",
        ),
        (
            {},
            {"rate_per_hour": 3.0, "rate_interval_min": 60},
            'categories[0] (id="A").arrivals.rate_interval_min: applies to rates_per_hour only '
            "(got 60)",
        ),
        (
            {},
            {"rates_per_hour": [1.0], "rate_interval_min": 0},
            'categories[0] (id="A").arrivals.rate_interval_min: must be > 0 (got 0)',
        ),
    ],
)
def test_calendar_and_rate_errors_name_their_place(hall, arrivals, line):
    data = rates_hall([1.0] * 16, 15, None).model_dump(by_alias=True, exclude_none=True)
    data["hall"].update(hall)
    if arrivals is not None:
        data["categories"][0]["arrivals"] = arrivals
    with pytest.raises(hs.ScenarioError) as caught:
        hs.Scenario.model_validate(data)
    assert any(found.startswith(line) for found in str(caught.value).splitlines()), str(
        caught.value
    )


def test_validate_reports_them_with_the_file(tmp_path, capsys):
    from hallsim.cli import main

    file = tmp_path / "hall.toml"
    text = PANJIN.read_text(encoding="utf-8").replace(
        'first_weekday = "mon"',
        'first_weekday = "mon"\nholidays = [5]\n[hall.hours]\nsat = ["08:00", "12:00"]',
    )
    file.write_text(text, encoding="utf-8")
    assert main(["validate", str(file)]) != 0
    err = capsys.readouterr()
    output = err.out + err.err
    assert f"{file}: hall.holidays[0]: not a day of the run" in output
    assert f"{file}: hall.hours.sat: must lie within the hall's hours 08:30-17:00" in output


def test_planning_demand_reads_rate_intervals_and_the_calendar(saturday):
    from hallsim.plan.demand import category_demand

    hourly = category_demand(rates_hall([10.0, 40.0, 25.0, 5.0], 15, 60))
    repeated = category_demand(
        rates_hall([r for r in [10.0, 40.0, 25.0, 5.0] for _ in range(4)], 15, None)
    )
    pd.testing.assert_frame_equal(hourly, repeated)
    demand = category_demand(saturday, interval_min=30)
    assert "sun" not in set(demand["weekday"])  # closed: nothing to plan
    sat = demand[(demand["weekday"] == "sat") & (demand["category"] == "A")]
    inside = (sat["interval_start"] >= 540) & (sat["interval_start"] < 720)
    np.testing.assert_allclose(sat.loc[inside, "arrivals_per_hour"], 6.0, rtol=1e-12)
    assert (sat.loc[~inside, "arrivals_per_hour"] == 0.0).all()


def test_a_calendar_is_saved_and_read_back(saturday, tmp_path):
    path = hs.save_scenario(saturday, tmp_path / "saturday.toml")
    assert "[hall.hours]" in path.read_text(encoding="utf-8")
    assert hs.load_scenario(path) == saturday
