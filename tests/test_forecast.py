"""hallsim.forecast: arrivals forecast from a known rate function, back-tested, as a scenario
and as demand for planning.

The history is drawn with fixed seeds from a known rate: a profile over the day x weekday
factors x a linear trend on the log scale (16 weeks, Monday to Friday), so the forecast's means
and intervals can be checked against the truth and a freshly drawn future.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import exponential
from scipy import stats

import hallsim as hs
import hallsim.plan as hp
from hallsim.logs import ArrivalCounts

MONDAY = pd.Timestamp("2026-01-05")
STARTS = np.arange(9 * 60, 17 * 60, 60)  # eight one-hour intervals, 09:00 to 17:00
PROFILE = np.array([0.6, 1.0, 1.2, 0.8, 0.5, 0.9, 1.1, 0.6])
WEEKDAY_FACTORS = np.array([1.3, 1.0, 0.9, 1.0, 1.1, 0.0, 0.0])
LEVEL = {"A": 40.0, "B": 20.0, "C": 10.0}  # arrivals per hour at profile 1, factor 1
GROWTH = 0.01  # log rate per week
WEEKS = 16


def open_dates(first: pd.Timestamp, days: int) -> pd.DatetimeIndex:
    dates = pd.date_range(first, periods=days, freq="D")
    return dates[dates.day_of_week < 5]


def true_means(dates: pd.DatetimeIndex, levels: dict = LEVEL) -> np.ndarray:
    """Expected counts per (category, date, interval) of the known rate function."""
    weeks = ((dates - MONDAY) / pd.Timedelta(days=7)).to_numpy()
    day = WEEKDAY_FACTORS[dates.day_of_week] * np.exp(GROWTH * weeks)
    level = np.array(list(levels.values()))
    return level[:, None, None] * day[None, :, None] * PROFILE[None, None, :]


def as_counts(dates, values: np.ndarray, categories) -> ArrivalCounts:
    """ArrivalCounts of ``values[category, date, interval]`` at :data:`STARTS`."""
    c, d, i = np.meshgrid(*(np.arange(n) for n in values.shape), indexing="ij")
    table = pd.DataFrame(
        {
            "time": dates[d.ravel()] + pd.to_timedelta(STARTS[i.ravel()], unit="min"),
            "category": np.asarray(list(categories))[c.ravel()],
            "count": values.ravel().astype(np.int64),
        }
    )
    return ArrivalCounts(table.sort_values("time", kind="stable", ignore_index=True), 60)


@pytest.fixture(scope="module")
def history():
    dates = open_dates(MONDAY, WEEKS * 7)
    counts = np.random.default_rng(11).poisson(true_means(dates))
    return dates, counts


@pytest.fixture(scope="module")
def known(history):
    dates, counts = history
    start = dates[-1] + pd.Timedelta(days=3)  # the Monday after
    return hs.forecast(as_counts(dates, counts, LEVEL), start, days=28, interval_min=60, seed=3)


def cube(fc, column: str) -> np.ndarray:
    """A column of ``fc.rates`` as counts per (category, date, interval)."""
    table = fc.rates.sort_values(["category", "date", "interval_start"])
    shape = (len(fc.categories), fc.days, -1)
    return table[column].to_numpy().reshape(shape) * fc.interval_min / 60.0


# ------------------------------------------------------------------ the forecast


def test_means_match_the_known_rates(known):
    truth = true_means(known.dates)
    mean = cube(known, "rate_per_hour")
    # the trend, extrapolated ~10 weeks beyond the middle of the history, carries about 1 %
    # standard error on all categories together and 1.5-3 % per category
    assert mean.sum() / truth.sum() == pytest.approx(1.0, abs=0.03)
    for k, category in enumerate(LEVEL):
        assert mean[k].sum() / truth[k].sum() == pytest.approx(1.0, abs=0.08), category
    # the shape: per weekday and per interval, over the categories
    weekday = known.dates.day_of_week.to_numpy()
    for w in range(5):
        ratio = mean[:, weekday == w].sum() / truth[:, weekday == w].sum()
        assert ratio == pytest.approx(1.0, abs=0.05), w
    by_interval = mean.sum(axis=(0, 1)) / truth.sum(axis=(0, 1))
    np.testing.assert_allclose(by_interval, 1.0, atol=0.06)
    trend = np.log(known.parameters["trend_per_week"].to_numpy())
    np.testing.assert_allclose(trend, GROWTH, atol=0.01)


def test_closed_weekdays_are_forecast_closed(known):
    weekend = known.rates["date"].dt.day_of_week >= 5
    closed = known.rates[weekend]
    assert len(closed) and (closed[["rate_per_hour", "rate_lo", "rate_hi"]] == 0).all().all()
    assert (known.rates.loc[~weekend, "rate_per_hour"] > 0).all()
    assert known.attrs["unseen_day_types"] == ["sat", "sun"]
    assert "sat, sun" in known.report()


def test_prediction_intervals_cover_a_fresh_future(known):
    truth = true_means(known.dates)
    lo, hi = cube(known, "rate_lo"), cube(known, "rate_hi")
    live = truth > 0
    # oracle: the exact coverage of the ideal intervals (true quantiles of the true Poisson
    # counts); above the nominal 90 % because counts are whole numbers
    tail = (1 - known.confidence) / 2
    q_lo, q_hi = stats.poisson.ppf(tail, truth), stats.poisson.ppf(1 - tail, truth)
    ideal = (stats.poisson.cdf(q_hi, truth) - stats.poisson.cdf(q_lo - 1, truth))[live].mean()
    # the forecast's intervals under the truth, exactly: estimation error moves them,
    # coefficient uncertainty widens them; both are small with 16 weeks of history
    expected = (stats.poisson.cdf(hi, truth) - stats.poisson.cdf(lo - 1, truth))[live].mean()
    assert expected == pytest.approx(ideal, abs=0.03)
    # a freshly drawn future: its coverage is binomial around the expected coverage
    future = np.random.default_rng(2026).poisson(truth)
    inside = ((future >= lo) & (future <= hi))[live]
    n = inside.size
    tolerance = 3.3 * math.sqrt(expected * (1 - expected) / n)
    assert abs(inside.mean() - expected) <= tolerance, (inside.mean(), expected, n)
    assert inside.mean() >= known.confidence - tolerance


def test_backtest_beats_naive_on_a_known_rate(known, history):
    dates, counts = history
    table = known.backtest
    assert list(table["week"]) == [
        str((dates[-1] - pd.Timedelta(days=7 * k - 1)).date()) for k in (4, 3, 2, 1)
    ] + ["overall"]
    overall = table.iloc[-1]
    weeks = table.iloc[:-1]
    assert overall["cells"] == weeks["cells"].sum() == 3 * 20 * len(STARTS)
    for column in ("model_mae", "naive_mae", "coverage"):
        weighted = (weeks[column] * weeks["cells"]).sum() / weeks["cells"].sum()
        assert overall[column] == pytest.approx(weighted)
    # seasonal-naive computed independently: the last 20 open days against the 5 before each
    naive_error = counts[:, -20:, :] - counts[:, -25:-5, :]
    assert overall["naive_mae"] == pytest.approx(np.abs(naive_error).mean())
    assert overall["naive_rmse"] == pytest.approx(np.sqrt((naive_error**2).mean()))
    # with Poisson noise, last week's count errs by about sqrt(2) times the model's error
    assert known.beats_naive
    assert overall["model_mae"] < 0.85 * overall["naive_mae"]
    assert overall["model_deviance"] < overall["naive_deviance"]
    assert "The model beats the seasonal-naive forecast" in known.report()
    # coverage of the back-test's 480 counts: at least nominal, less a binomial tolerance
    assert overall["coverage"] >= 0.9 - 3.3 * math.sqrt(0.09 / overall["cells"])


def statement_matches(fc) -> bool:
    """The report's verdict agrees with the overall MAE comparison."""
    overall = fc.backtest.iloc[-1]
    text = fc.report()
    beats = overall["model_mae"] < overall["naive_mae"]
    return (
        fc.beats_naive == beats
        and ("The model beats the seasonal-naive forecast" in text) == beats
        and ("does NOT beat the seasonal-naive forecast" in text) == (not beats)
    )


def test_report_says_when_seasonal_naive_wins():
    # pure seasonal repetition: each cell repeats last week's count with a small change (a
    # seasonal random walk), for which last week's count is the best forecast
    dates = open_dates(MONDAY, 10 * 7)
    rng = np.random.default_rng(7)
    week = np.round(40 * PROFILE[None, :] * rng.uniform(0.6, 1.4, (5, 1)))
    steps = np.round(rng.normal(0, 3, (10, 5, len(STARTS))))
    counts = np.clip(week[None] + np.cumsum(steps, axis=0), 0, None).reshape(1, 50, -1)
    fc = hs.forecast(
        as_counts(dates, counts, ["A"]),
        dates[-1] + pd.Timedelta(days=3),
        days=7,
        interval_min=60,
        model="poisson",
    )
    assert fc.beats_naive is False
    assert statement_matches(fc)
    assert "does NOT beat" in fc.report()


def test_report_statement_matches_the_numbers(known):
    assert statement_matches(known)


def test_negative_binomial_dispersion_is_estimated():
    dates = open_dates(MONDAY, 8 * 7)
    means = true_means(dates, {"A": 30.0})
    alpha = 0.08
    rng = np.random.default_rng(5)
    over = rng.negative_binomial(1 / alpha, 1 / (1 + alpha * means))
    plain = rng.poisson(means)
    both = np.concatenate([over, plain])
    fc = hs.forecast(
        as_counts(dates, both, ["over", "plain"]),
        dates[-1] + pd.Timedelta(days=3),
        days=7,
        interval_min=60,
        backtest_weeks=0,
    )
    estimates = fc.parameters.set_index("category")["alpha"]
    # 320 counts with mean ~30: the ML estimate of alpha has a standard error near 0.012
    assert estimates["over"] == pytest.approx(alpha, abs=0.04)
    assert estimates["plain"] < 0.02
    assert fc.beats_naive is None and fc.backtest.empty
    assert "No back-test" in fc.report()
    # the over-dispersed counts get the wider intervals
    width = (fc.rates["rate_hi"] - fc.rates["rate_lo"]).groupby(fc.rates["category"]).mean()
    assert width["over"] > 1.3 * width["plain"]


def test_sparse_cells_and_day_types_from_a_calendar():
    # Saturdays open in the morning only (afternoon cells never see a ticket), and holidays
    # with 40 % of the usual arrivals, labelled in the calendar
    dates = pd.date_range(MONDAY, periods=8 * 7, freq="D")
    dates = dates[dates.day_of_week < 6]
    means = true_means(dates, {"A": 30.0})
    saturday = np.asarray(dates.day_of_week == 5)
    means[:, saturday, :] = 20.0 * (STARTS < 12 * 60)
    holidays = dates[[8, 26, 38]]  # Wednesdays
    means[:, dates.isin(holidays), :] *= 0.4
    counts = np.random.default_rng(8).poisson(means)
    start = dates[-1] + pd.Timedelta(days=2)  # the Monday after the last Saturday
    calendar = {d.date(): "holiday" for d in holidays}
    calendar[start + pd.Timedelta(days=2)] = "holiday"
    calendar[str((start + pd.Timedelta(days=3)).date())] = "closed"
    fc = hs.forecast(
        as_counts(dates, counts, ["A"]),
        start,
        days=7,
        interval_min=60,
        calendar=calendar,
        backtest_weeks=0,
    )
    rates = fc.rates.set_index(["date", "interval_start"])
    assert (
        rates["day_type"].unique() == ["mon", "tue", "holiday", "closed", "fri", "sat", "sun"]
    ).all()
    saturday = rates.xs(start + pd.Timedelta(days=5), level="date")["rate_per_hour"]
    assert (saturday[saturday.index >= 12 * 60] == 0).all()
    assert saturday[saturday.index < 12 * 60].to_numpy() == pytest.approx(20.0, rel=0.25)
    assert fc.parameters.loc[0, "closed_cells"] == 5  # Saturdays 12:00 to 17:00
    assert fc.attrs["unseen_day_types"] == ["closed", "sun"]
    assert (rates.xs(start + pd.Timedelta(days=3), level="date")["rate_per_hour"] == 0).all()
    holiday = rates.xs(start + pd.Timedelta(days=2), level="date")["rate_per_hour"].sum()
    wednesday = true_means(pd.DatetimeIndex([start + pd.Timedelta(days=2)]), {"A": 30.0}).sum()
    # three holidays of ~100 tickets in history: about 6 % standard error
    assert holiday == pytest.approx(0.4 * wednesday, rel=0.2)


# ------------------------------------------------------------------ from a ticket log


PERMIT = [6, 10, 12, 8, 5, 9, 11, 6]  # arrivals per hour, 09:00 to 17:00
TAX = [3, 5, 6, 4, 2, 4, 5, 3]


def hall(days: int, first_weekday: str = "mon", interval_min: int = 60) -> hs.Scenario:
    """Two categories at four comprehensive windows, Monday to Friday."""
    per_interval = 60 // interval_min
    return hs.Scenario.model_validate(
        {
            "name": "two counters",
            "hall": {
                "open": "09:00",
                "close": "17:00",
                "days": days,
                "interval_min": interval_min,
                "first_weekday": first_weekday,
            },
            "categories": [
                {
                    "id": "permit",
                    "arrivals": {
                        "rates_per_hour": np.repeat(PERMIT, per_interval).tolist(),
                        "weekday_factors": [1.3, 1, 1, 1, 0.8, 0, 0],
                    },
                    "service": exponential(8.0),
                },
                {
                    "id": "tax",
                    "arrivals": {
                        "rates_per_hour": np.repeat(TAX, per_interval).tolist(),
                        "weekday_factors": [1.3, 1, 1, 1, 0.8, 0, 0],
                    },
                    "service": exponential(12.0),
                },
            ],
            "windows": [{"id": "W", "count": 4, "serves": ["*"]}],
        }
    )


@pytest.fixture(scope="module")
def from_log():
    log = hs.simulate(hall(10 * 7), replications=1, seed=5, progress=False).to_log()
    start = log.days[-1] + pd.Timedelta(days=3)
    return hs.forecast(log, start, days=7, interval_min=60, backtest_weeks=2, seed=1)


def test_requirements_from_a_forecast(from_log):
    table = from_log.demand_table()
    assert len(table) == 2 * 7 * 8
    service = table.groupby("category")["service_mean_min"].first()
    # the log's served tickets: ~2400 exponential services per category, se ~2 %
    assert service["permit"] == pytest.approx(8.0, rel=0.08)
    assert service["tax"] == pytest.approx(12.0, rel=0.08)
    assert table["service_cv"].to_numpy() == pytest.approx(1.0, abs=0.15)
    plan = hp.requirements(from_log, hp.Target(wait_min=10, share=0.8))
    assert len(plan) == 2 * 7 * 8
    assert set(plan["group"]) == {"permit", "tax"}
    assert sorted(set(plan["day"])) == list(range(7))
    busy = plan["arrivals_per_hour"] > 0
    assert busy.sum() == 2 * 5 * 8  # Monday to Friday
    assert (plan.loc[busy, "staff"] >= 1).all()
    assert (plan.loc[~busy, "staff"] == 0).all()


def test_demand_table_service_sources(known, from_log):
    with pytest.raises(ValueError, match="arrival counts, which carry none"):
        known.demand_table()
    table = known.demand_table(service={"A": 5.0, "B": 6.0, "C": 7.0})
    assert table.groupby("category")["service_mean_min"].first().tolist() == [5.0, 6.0, 7.0]
    assert table["arrivals_per_hour"].to_numpy() == pytest.approx(
        known.rates.sort_values(["category", "date", "interval_start"])["rate_per_hour"]
    )
    with pytest.raises(ValueError, match=r"no service for categories \['C'\]"):
        known.demand_table(service={"A": 5.0, "B": 6.0})
    with pytest.raises(ValueError, match=r"service\['A'\] must be a positive number"):
        known.demand_table(service={"A": -1.0})
    from_hall = from_log.demand_table(service=hall(7))
    assert set(from_hall["service_mean_min"]) == {8.0, 12.0}
    assert (from_hall["patience_mean_min"] == math.inf).all()


@pytest.mark.parametrize("interval_min", [60, 30])
def test_to_scenario_round_trip(from_log, interval_min):
    base = hall(5, first_weekday="wed", interval_min=interval_min)
    scenario = from_log.to_scenario(base)
    assert isinstance(scenario, hs.Scenario)
    assert scenario.hall.days == 7
    assert from_log.start.day_name() == "Monday" and scenario.hall.first_weekday == "mon"
    assert (scenario.hall.open, scenario.hall.close) == ("09:00", "17:00")
    assert scenario.hall.interval_min == interval_min
    assert [c.service for c in scenario.categories] == [c.service for c in base.categories]
    # the scenario's rate per day and hall interval, against the forecast's on that grid
    forecast = from_log.rates.sort_values(["category", "date", "interval_start"])
    per_hour = np.repeat(
        forecast["rate_per_hour"].to_numpy().reshape(2, 7, 8), 60 // interval_min, axis=2
    )
    weekday = from_log.dates.day_of_week.to_numpy()
    simulated = np.array(
        [
            np.outer(np.asarray(c.arrivals.weekday_factors)[weekday], c.arrivals.rates_per_hour)
            for c in scenario.categories
        ]
    )
    positive = per_hour > 0
    relative = np.abs(simulated - per_hour)[positive] / per_hour[positive]
    reported = from_log.attrs["scenario"]
    assert relative.max() == pytest.approx(reported["max_relative_error"])
    assert np.abs(simulated - per_hour).max() == pytest.approx(reported["max_error_per_hour"])
    # a profile x weekday fit keeps the expected tickets per weekday and per interval
    np.testing.assert_allclose(simulated.sum(axis=2), per_hour.sum(axis=2), rtol=1e-9)
    np.testing.assert_allclose(simulated.sum(axis=1), per_hour.sum(axis=1), rtol=1e-9)
    # the truth is itself profile x weekday factors (no trend), so the fit is close to it
    permit = scenario.categories[0].arrivals
    np.testing.assert_allclose(
        np.repeat(PERMIT, 60 // interval_min) * 1.3,
        np.asarray(permit.rates_per_hour) * permit.weekday_factors[0],
        rtol=0.35,
    )
    assert permit.weekday_factors[5:] == [0.0, 0.0]
    assert "forecast" in scenario.name


def test_to_scenario_needs_matching_categories(known, from_log):
    with pytest.raises(ValueError, match=r"forecast categories not in base: \['A', 'B', 'C'\]"):
        known.to_scenario(hall(5))
    with pytest.raises(TypeError, match="base must be a hallsim.Scenario"):
        from_log.to_scenario({"hall": {}})


def test_plot(known):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = known.plot("A")
    assert len(ax.lines) == 3  # history, forecast, the start
    assert len(ax.collections) == 1  # the band
    ax = known.plot()
    assert len(ax.collections) == 3
    with pytest.raises(ValueError, match="category must be one of"):
        known.plot("Z")
    plt.close("all")


# ------------------------------------------------------------------ bad input


@pytest.fixture(scope="module")
def short():
    """Three weeks of counts, Monday to Friday."""
    dates = open_dates(MONDAY, 21)
    counts = np.random.default_rng(1).poisson(true_means(dates, {"A": 20.0}))
    return dates, counts


def test_short_history_for_the_backtest(short):
    dates, counts = short
    history = as_counts(dates, counts, ["A"])
    after = dates[-1] + pd.Timedelta(days=1)
    with pytest.raises(ValueError, match=r"covers 19 days .* backtest_weeks=4 needs 36 days"):
        hs.forecast(history, after, interval_min=60)
    with pytest.raises(ValueError, match=r"covers 19 days .* backtest_weeks=2 needs 22 days"):
        hs.forecast(history, after, interval_min=60, backtest_weeks=2)
    week = as_counts(dates[:5], counts[:, :5], ["A"])
    with pytest.raises(ValueError, match=r"covers 5 days .* needs the days of two weeks"):
        hs.forecast(week, dates[5], interval_min=60, backtest_weeks=0)
    # three weeks of a hall open Monday to Friday: one week to test, two to fit
    fc = hs.forecast(history, after, days=3, interval_min=60, backtest_weeks=1)
    assert len(fc.rates) == 3 * 8
    assert len(fc.backtest) == 2 and fc.backtest.iloc[-1]["cells"] == 5 * 8


def test_bad_dates(short):
    dates, counts = short
    history = as_counts(dates, counts, ["A"])
    last = dates[-1]  # a Friday
    with pytest.raises(ValueError, match=rf"after the history's last date {last.date()}"):
        hs.forecast(history, last, interval_min=60, backtest_weeks=0)
    tuesday = last + pd.Timedelta(days=4)
    with pytest.raises(ValueError, match=r"leaves a gap .* 2026-01-26 \(mon\)"):
        hs.forecast(history, tuesday, interval_min=60, backtest_weeks=0)
    gap = as_counts(dates.delete(7), np.delete(counts, 7, axis=1), ["A"])
    with pytest.raises(ValueError, match=r"history has gaps: no counts on 2026-01-14 \(wed\)"):
        hs.forecast(gap, last + pd.Timedelta(days=1), interval_min=60, backtest_weeks=0)
    # a closed day labelled in the calendar is no gap
    fc = hs.forecast(
        gap,
        last + pd.Timedelta(days=1),
        days=1,
        interval_min=60,
        backtest_weeks=0,
        calendar={"2026-01-14": "closed"},
    )
    assert fc.days == 1
    for value in ("next week", "2026-02-01 10:30"):
        with pytest.raises(ValueError, match="start must be a date"):
            hs.forecast(history, value, interval_min=60)


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"days": 0}, r"days must be a whole number >= 1 \(got 0\)"),
        ({"days": 2.5}, r"days must be a whole number >= 1 \(got 2.5\)"),
        ({"backtest_weeks": -1}, r"backtest_weeks must be a whole number >= 0"),
        ({"model": "arima"}, r"model must be one of .* \(got 'arima'\)"),
        ({"confidence": 1.0}, r"confidence must be a share in \(0, 1\) \(got 1.0\)"),
        ({"calendar": ["2026-01-01"]}, r"calendar must map dates to day-type labels"),
        ({"calendar": {"2026-01-01": 3}}, r"calendar\['2026-01-01'\] must be a non-empty label"),
        ({"calendar": {"someday": "holiday"}}, r"calendar key 'someday' must be a date"),
        ({"service": 5.0}, r"service must be a hallsim.Scenario or a mapping"),
        ({"interval_min": 7}, r"interval_min must be a multiple of the counts' 60 minutes"),
    ],
)
def test_bad_arguments(short, keywords, message):
    dates, counts = short
    history = as_counts(dates, counts, ["A"])
    with pytest.raises(ValueError, match=message):
        hs.forecast(history, dates[-1] + pd.Timedelta(days=3), **{"interval_min": 60, **keywords})


def test_not_a_log():
    with pytest.raises(TypeError, match="TicketLog or ArrivalCounts"):
        hs.forecast(pd.DataFrame(), "2026-01-01")
