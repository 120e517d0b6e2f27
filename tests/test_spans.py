"""Long horizons: a replication's days drawn, run and reduced span by span (issue 11, item 5).

A replication expecting more than ``SPAN_TICKETS`` tickets draws its days in spans, each from
a generator of its own (:func:`hallsim.engines.inputs.day_spans`); without its tickets kept
it also runs and is reduced span by span, so that memory does not grow with the days beyond
the per-day aggregates. The tests shrink ``SPAN_TICKETS`` so that a few days make several
spans, and check that:

- a span's days are those of the calendar, drawn from the generator its spawn key names;
- a run that keeps its tickets runs those inputs in one piece;
- the span-by-span run (no tickets kept) gives the tables of the same inputs run in one piece
  (equal up to the rounding of times reckoned from a span's first day), for either engine,
  and every table of the one piece agrees with the slow references of ``tests/naive.py``;
- the engine never holds more than one span's tickets when none are kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import category, exponential
from test_tables_reference import check_every_table

import hallsim as hs
from hallsim.compile import compile_scenario
from hallsim.engines import fast, inputs
from hallsim.results import Results, replication_tables

pytestmark = pytest.mark.filterwarnings("ignore::hallsim.HallWarning")


def calendar_hall(days: int = 12) -> hs.Scenario:
    """Two weeks from a Friday: Saturday 09:00-11:00, Sunday closed, a holiday on day 3;
    staff with a break, a reserve pool, patience, no-shows and a daily cap: every table has
    rows, and reserve activations have times to move by a span's first day."""
    data = {
        "hall": {
            "open": "08:00",
            "close": "12:00",
            "days": days,
            "interval_min": 30,
            "first_weekday": "fri",
            "closed_weekdays": ["sun"],
            "holidays": [3],
            "hours": {"sat": ["09:00", "11:00"]},
        },
        "categories": [
            {
                **category("A", 30, exponential(4), patience=exponential(30)),
                "no_show": {"probability": 0.1, "recalls": 1, "recall_min": 1.0},
            },
            {
                "id": "B",
                "arrivals": {"rates_per_hour": [10, 30, 20, 5], "rate_interval_min": 60},
                "service": exponential(6),
                "daily_cap": 60,
            },
        ],
        "windows": [
            {"id": "W", "count": 2, "serves": ["*"]},
            {"id": "W2", "serves": ["B"], "open": [["10:00", "12:00"]]},
            {"id": "R", "serves": ["*"]},
        ],
        "staff": [{"id": "S", "count": 3, "windows": ["W", "W2"], "breaks": [["10:30", "10:45"]]}],
        "reserve": [{"id": "P", "windows": ["R"], "serves": ["A"], "open_queue": 3}],
    }
    return hs.Scenario.model_validate(data)


@pytest.fixture
def short_spans(monkeypatch):
    """Spans of about two days of the calendar hall (about 150 tickets a day)."""
    monkeypatch.setattr(inputs, "SPAN_TICKETS", 300)


def test_a_short_horizon_is_one_span():
    for path in ("panjin.toml", "panjin-operations.toml", "hall8-comprehensive.toml"):
        hall = compile_scenario(hs.load_scenario(f"scenarios/{path}"))
        assert inputs.day_spans(hall) == [(0, hall.n_days)]


def test_spans_cover_the_days_and_draw_from_their_own_generators(short_spans):
    hall = compile_scenario(calendar_hall())
    spans = inputs.day_spans(hall)
    assert len(spans) >= 4 and spans[0][0] == 0 and spans[-1][1] == hall.n_days
    assert all(b == c for (_, b), (c, _) in zip(spans, spans[1:], strict=False))
    drawn = inputs.draw_spans(hall, 5, 0, 3)
    assert drawn.replications == 3 and drawn.n_days == hall.n_days
    # no ticket on a closed day, each within its day's hours
    day = drawn.day
    per_day = np.bincount(day, minlength=hall.n_days)
    assert per_day[hall.day_kind < 0].sum() == 0 and per_day[hall.day_kind >= 0].all()
    minute = drawn.issued - 1440.0 * day
    hours = hall.day_hours[day]
    assert np.all((minute >= hours[:, 0]) & (minute < hours[:, 1]))
    # replication 2, span 1: what its own generator draws for those days, a day later each
    (a, b) = spans[1]
    own = inputs.draw_inputs(hall.days(a, b), inputs.replication_generators(5, 2, 3, span=1)[0])
    lo, hi = drawn.day_ptr[2 * hall.n_days + a], drawn.day_ptr[2 * hall.n_days + b]
    np.testing.assert_array_equal(drawn.issued[lo:hi], own.issued + 1440.0 * a)
    np.testing.assert_array_equal(drawn.service[lo:hi], own.service)
    np.testing.assert_array_equal(drawn.absent_draw[lo:hi], own.absent_draw)
    # and span 0 is the replication's own generator, as for a horizon of one span
    first = inputs.draw_inputs(hall.days(*spans[0]), inputs.replication_generators(5, 2, 3)[0])
    lo = drawn.day_ptr[2 * hall.n_days]
    np.testing.assert_array_equal(drawn.issued[lo : lo + first.n_tickets], first.issued)


def test_a_batch_drawn_by_numba_joins_its_spans_as_numpy_places_them(short_spans):
    """Numba's draws of a large batch are joined span by span after they are drawn, numpy's
    of a few replications placed as each span is drawn: the same batch either way."""
    hall = compile_scenario(calendar_hall())
    few = inputs.draw_spans(hall, 5, 14, 17)
    many = inputs.draw_spans(hall, 5, 0, inputs.STREAM_BATCH + 1)
    days = hall.n_days
    lo, hi = many.day_ptr[14 * days], many.day_ptr[17 * days]
    np.testing.assert_array_equal(many.day_ptr[14 * days : 17 * days + 1] - lo, few.day_ptr)
    for name in inputs.TICKET_FIELDS:
        array = getattr(many, name)
        np.testing.assert_array_equal(array[lo:hi] if array.size else array, getattr(few, name))


def in_one_piece(scenario: hs.Scenario, seed: int, replications: int) -> Results:
    """The run's inputs (drawn span by span) simulated and reduced as one batch."""
    hall = compile_scenario(scenario)
    drawn = inputs.draw_spans(hall, seed, 0, replications)
    parts = [replication_tables(hall, drawn, fast.run(hall, drawn), keep_tickets=True)]
    return Results.from_replications(
        hall, parts, scenario=scenario, seed=seed, engine="fast", warnings_=[]
    )


def test_a_run_that_keeps_its_tickets_runs_its_spans_in_one_piece(short_spans):
    kept = hs.simulate(calendar_hall(), replications=3, seed=8, progress=False)
    whole = in_one_piece(calendar_hall(), 8, 3)
    for name in ("tickets", "reserve", "intervals", "windows", "staff", "replication_stats"):
        pd.testing.assert_frame_equal(getattr(kept, name), getattr(whole, name), check_exact=True)


@pytest.mark.parametrize("engine", ["fast", "simpy"])
def test_a_run_span_by_span_gives_the_tables_of_one_piece(short_spans, engine):
    """Without its tickets, the run goes span by span; with them, in one piece, and every
    table of that one is checked against its tickets (tests/naive.py)."""
    replications = 2 if engine == "simpy" else 3
    options = dict(replications=replications, seed=4, engine=engine, progress=False)
    whole = hs.simulate(calendar_hall(), **options)
    spanned = hs.simulate(calendar_hall(), keep_tickets=False, **options)
    assert spanned.tickets is None
    assert len(whole.reserve) and (whole.tickets["outcome"] == "no_show").any()
    if engine == "fast":
        check_every_table(whole)
    # a span's times are reckoned from its first day, then moved: the same up to rounding
    for name in ("reserve", "intervals", "windows", "staff", "replication_stats"):
        pd.testing.assert_frame_equal(
            getattr(spanned, name), getattr(whole, name), rtol=1e-12, obj=name
        )


def test_the_engine_holds_one_span_of_tickets_at_a_time(short_spans, monkeypatch):
    """Without tickets kept, each engine call gets the days of one span (of the batch's
    replications); with them, or with a back office (whose cases cross from one day to the
    next), one call gets every day."""
    calls = []
    run = fast.run

    def counting(hall, drawn, **options):
        calls.append(drawn.n_days)
        return run(hall, drawn, **options)

    monkeypatch.setattr(fast, "run", counting)
    scenario = calendar_hall(days=20)
    spans = inputs.day_spans(compile_scenario(scenario))
    hs.simulate(scenario, replications=2, seed=1, progress=False, keep_tickets=False)
    assert calls == [b - a for a, b in spans]
    calls.clear()
    hs.simulate(scenario, replications=2, seed=1, progress=False)
    assert calls == [20]
    calls.clear()
    data = scenario.model_dump(by_alias=True, exclude_none=True)
    data["categories"][0]["deferred"] = {"share": 0.5, "back_office": "O", "pickup": False}
    data["back_office"] = [{"id": "O", "staff": 1, "service": exponential(20)}]
    with_office = hs.Scenario.model_validate(data)
    results = hs.simulate(with_office, replications=2, seed=1, progress=False, keep_tickets=False)
    assert calls == [20] and results.back_office["deferred"].sum() > 0
