"""Fitting a hall from its log (hallsim.fit): the round trip from a known hall is the oracle.

A known hall is simulated for 63 days (one replication), written as a log and fitted; the
fit's intervals must cover the hall's true parameters about as often as their level says,
and the fitted hall, simulated, must reproduce the known hall's KPIs. The many cells of the
arrival rates are judged at 95 % with a binomial tolerance on the misses; the handful of
single intervals (service, patience, generalist factor, no-show) come from a fit at 99 %, so
that checking them all together keeps the risk of a false alarm small.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import hallsim as hs
from hallsim.logs import ArrivalCounts, TicketLog

matplotlib.use("Agg")

DAYS = 63  # nine weeks from a Monday
PROFILE = np.array(
    [0.6, 0.9, 1.2, 1.4, 1.4, 1.3, 1.1, 0.9, 0.7, 0.7, 0.9, 1.1, 1.3, 1.3, 1.2, 1.0, 0.8, 0.5]
)  # 18 half-hours from 08:00 to 17:00
FACTORS = [1.3, 1.0, 0.9, 1.0, 1.1, 0.5, 0.0]  # closed on Sundays
LEVELS = {"A": 12.0, "B": 8.0, "C": 6.0}
GENERALIST = 1.2
BALK_QUEUE, BALK_PROBABILITY = [0, 6], [0.0, 0.5]


def known_hall(days: int = DAYS) -> hs.Scenario:
    """Three categories with a two-peak day and weekday factors: A lognormal service and
    exponential patience, B gamma service, exponential patience and no-shows, C exponential
    service, no patience and balking; dedicated windows for A and B, and comprehensive windows
    that are GENERALIST times slower."""
    arrivals = {
        cid: {"rates_per_hour": list(level * PROFILE), "weekday_factors": FACTORS}
        for cid, level in LEVELS.items()
    }
    return hs.Scenario.model_validate(
        {
            "hall": {"open": "08:00", "close": "17:00", "days": days},
            "categories": [
                {
                    "id": "A",
                    "arrivals": arrivals["A"],
                    "service": {"dist": "lognormal", "mean_min": 8.0, "cv": 0.6},
                    "patience": {"dist": "exponential", "mean_min": 40.0},
                },
                {
                    "id": "B",
                    "arrivals": arrivals["B"],
                    "service": {"dist": "gamma", "mean_min": 12.0, "cv": 0.8},
                    "patience": {"dist": "exponential", "mean_min": 60.0},
                    "no_show": {"probability": 0.05, "recall_min": 1.0, "recalls": 2},
                },
                {
                    "id": "C",
                    "arrivals": arrivals["C"],
                    "service": {"dist": "exponential", "mean_min": 5.0},
                    "balking": {"queue": BALK_QUEUE, "probability": BALK_PROBABILITY},
                },
            ],
            "windows": [
                {"id": "WA", "count": 2, "serves": ["A"]},
                {"id": "WB", "count": 2, "serves": ["B"]},
                {"id": "WX", "count": 2, "serves": ["*"], "generalist_factor": GENERALIST},
            ],
        }
    )


@pytest.fixture(scope="module")
def log() -> TicketLog:
    return hs.simulate(known_hall(), replications=1, seed=7, progress=False).to_log()


@pytest.fixture(scope="module")
def fitted(log) -> hs.Fit:
    return hs.fit(log, confidence=0.99)


def arrivals_only(log: TicketLog) -> TicketLog:
    """The log as a hall that keeps only issue times (fast to fit: no service, no patience)."""
    return TicketLog(tickets=log.tickets[["ticket", "category", "issued"]].copy())


# ---------------------------------------------------------------------- arrivals


def test_each_interval_rate_interval_covers_the_true_rate(log):
    table = hs.fit(arrivals_only(log)).arrivals  # 95 % intervals
    assert set(table["day_type"]) == {"mon", "tue", "wed", "thu", "fri", "sat"}  # Sunday closed
    assert (table["days"] == 9).all()
    weekday = table["day_type"].map(
        {w: k for k, w in enumerate(("mon", "tue", "wed", "thu", "fri", "sat"))}
    )
    slot = (table["interval_start"] - 480) // 30
    truth = table["category"].map(LEVELS) * PROFILE[slot] * np.array(FACTORS)[weekday]
    missed = int(((truth < table["rate_lo"]) | (truth > table["rate_hi"])).sum())
    n = len(table)
    low, high = stats.binom.ppf([0.0005, 0.9995], n, 0.05)
    print(f"{missed} of {n} cells miss the true rate; 99.9% binomial range [{low}, {high}]")
    assert low <= missed <= high
    # the rate is tickets over exposure, and the interval is Garwood's
    row = table.iloc[5]
    assert row.rate_per_hour == pytest.approx(row.tickets / (row.days * 0.5))
    assert row.rate_lo * row.days * 0.5 == pytest.approx(stats.chi2.ppf(0.025, 2 * row.tickets) / 2)


def test_weekly_profile_is_the_multiplicative_fit(fitted):
    """rates_per_hour x weekday_factors reproduce each weekday's total and each interval's
    total over the open days (the independence fit), and Sunday is closed."""
    table = fitted.arrivals[fitted.arrivals["category"] == "A"]
    profile = fitted.profile[fitted.profile["category"] == "A"]["rate_per_hour"].to_numpy()
    factors = fitted.weekday_factors.set_index("category").loc["A"]
    assert factors["sun"] == 0
    for weekday, cells in table.groupby("day_type"):
        fitted_total = (profile * factors[weekday]).sum() * 0.5 * cells["days"].iloc[0]
        assert fitted_total == pytest.approx(cells["tickets"].sum())
    per_interval = table.groupby("interval_start")["tickets"].sum().to_numpy()
    assert profile * 0.5 * 54 == pytest.approx(per_interval)  # 54 open days
    # one shape for all weekdays is true here: the G test does not reject
    assert (fitted.weekday_factors["shape_pvalue"] > 0.001).all()


def test_poisson_days_are_not_overdispersed(fitted):
    assert not fitted.dispersion["overdispersed"].any()
    assert fitted.dispersion["dispersion_index"].between(0.7, 1.4).all()


def test_overdispersed_days_are_flagged_from_counts(tmp_path):
    """Counts with a gamma-distributed level per day (cv 0.5) against plain Poisson days."""
    rng = np.random.default_rng(3)
    dates = pd.date_range("2026-03-02", periods=84, freq="D")
    rows = []
    for date in dates:
        factor = FACTORS[date.weekday()]
        level = rng.gamma(4.0, 1 / 4.0)
        for k, shape in enumerate(PROFILE):
            time = date + pd.Timedelta(minutes=480 + 30 * k)
            for category, day_level in (("plain", 1.0), ("mixed", level)):
                mean = 20.0 * shape * factor * day_level * 0.5
                rows.append((time, category, rng.poisson(mean)))
    counts = pd.DataFrame(rows, columns=["time", "category", "count"])
    result = hs.fit(ArrivalCounts(counts=counts, interval_min=30, source="generated"))
    flags = result.dispersion.set_index(["category", "day_type"])["overdispersed"]
    assert flags["mixed"].all()
    assert not flags["plain"].any()
    assert any("mixed on mon days: overdispersed (index of dispersion " in n for n in result.notes)
    # counts give arrivals only
    assert result.service is None and result.patience is None and result.windows is None
    with pytest.raises(ValueError, match="pass base="):
        _ = result.scenario
    base = hs.Scenario.model_validate(
        {
            "hall": {"open": "09:00", "close": "12:00"},
            "categories": [
                {
                    "id": cid,
                    "arrivals": {"rate_per_hour": 1},
                    "service": {"dist": "exponential", "mean_min": 4},
                }
                for cid in ("mixed", "plain", "other")
            ],
            "windows": [{"id": "W", "count": 3, "serves": ["*"]}],
        }
    )
    scenario = result.to_scenario(base, days=14)
    assert (scenario.hall.open, scenario.hall.close, scenario.hall.days) == ("08:00", "17:00", 14)
    plain = scenario.categories[1].arrivals
    assert plain.weekday_factors[6] == 0
    expected = result.profile[result.profile["category"] == "plain"]["rate_per_hour"]
    assert plain.rates_per_hour == pytest.approx(expected.to_numpy(), rel=1e-4)
    assert scenario.categories[2].arrivals.rate_per_hour == 1  # not in the counts: kept
    assert scenario.categories[0].service == base.categories[0].service
    path = result.save(tmp_path / "from-counts.toml", base=base, days=14)
    assert hs.load_scenario(path) == scenario
    assert "from the base scenario" in path.read_text(encoding="utf-8")


def test_holiday_and_outage_are_outliers_and_can_be_dropped(log):
    tickets = arrivals_only(log).tickets
    holiday, outage = pd.Timestamp("2026-01-20"), pd.Timestamp("2026-02-05")  # a Tue, a Thu
    day = tickets["issued"].dt.normalize()
    afternoon = (day == outage) & (tickets["issued"].dt.hour >= 12)
    tickets = tickets[(day != holiday) & ~afternoon]
    result = hs.fit(TicketLog(tickets=tickets))
    outliers = result.outliers.set_index("date")
    assert list(outliers.index) == [holiday, outage]
    assert "no tickets" in outliers.loc[holiday, "reason"]
    assert "stop in the 11:30 interval" in outliers.loc[outage, "reason"]
    assert result.excluded.empty
    assert result.arrivals.set_index("day_type").loc["tue", "days"].iloc[0] == 9

    dropped = hs.fit(TicketLog(tickets=tickets), exclude_outliers=True)
    assert list(dropped.excluded["date"]) == [holiday, outage]
    assert dropped.excluded["reason"].str.startswith("outlier: ").all()
    days = dropped.arrivals.groupby("day_type")["days"].first()
    assert days["tue"] == 8 and days["thu"] == 8 and days["mon"] == 9
    # dropping a day by hand
    by_hand = hs.fit(TicketLog(tickets=tickets), exclude=["2026-01-05"])
    assert list(by_hand.excluded["date"]) == [pd.Timestamp("2026-01-05")]
    assert by_hand.excluded["reason"].tolist() == ["asked for (exclude=)"]
    assert by_hand.arrivals.groupby("day_type")["days"].first()["mon"] == 8


def test_calendar_day_types(log):
    holidays = {"2026-01-06": "holiday", "2026-02-17": "holiday"}
    result = hs.fit(arrivals_only(log), calendar=holidays)
    counts = result.arrivals.groupby("day_type")["days"].first()
    assert counts["holiday"] == 2 and counts["tue"] == 7
    assert any(
        "'holiday'" in note and "no place in the hall format" in note for note in result.notes
    )
    # a callable: weekends as a day type of their own; Saturday's factor then comes from the
    # Saturdays all the same (its days carry another label), relative to the Mon-Fri mean
    weekend = hs.fit(arrivals_only(log), calendar=lambda d: "weekend" if d.weekday() >= 5 else None)
    assert "weekend" in set(weekend.arrivals["day_type"])
    a = log.tickets[log.tickets["category"] == "A"]
    weekday = a["issued"].dt.day_of_week
    per_day = (weekday == 5).sum() / 9 / ((weekday < 5).sum() / 45)
    factors = weekend.weekday_factors.set_index("category").loc["A"]
    assert factors["sat"] == pytest.approx(per_day)
    assert factors["sun"] == 0
    assert any("sat, sun" in note and "whatever their label" in note for note in weekend.notes)


# ---------------------------------------------------------------------- service


def test_service_recovers_family_mean_and_cv(fitted):
    chosen = fitted.service[fitted.service["chosen"]].set_index("category")
    # C is served only at the comprehensive windows: its durations are GENERALIST x 5
    truth = {
        "A": ("lognormal", 8.0, 0.6),
        "B": ("gamma", 12.0, 0.8),
        "C": ("exponential", 6.0, 1.0),
    }
    for category, (family, mean, cv) in truth.items():
        row = chosen.loc[category]
        assert row.family == family, category
        assert row.mean_lo <= mean <= row.mean_hi, (category, row.mean_lo, row.mean_hi)
        assert row.cv_lo <= cv <= row.cv_hi, (category, row.cv_lo, row.cv_hi)
        assert row.ks_pvalue > 0.01
    assert len(fitted.service) == 12  # three families and the empirical row per category


def test_empirical_service_when_no_family_fits(tmp_path):
    """Two kinds of case in one category (2 and 20 minutes): no family passes the KS test,
    so the scenario resamples the durations' quantiles."""
    rng = np.random.default_rng(4)
    n = 3000
    day = pd.Timestamp("2026-03-02") + pd.to_timedelta(rng.integers(0, 10, n), unit="D")
    issued = day + pd.to_timedelta(rng.uniform(540, 720, n), unit="min")
    duration = np.where(rng.random(n) < 0.5, rng.gamma(20, 0.1, n), rng.gamma(20, 1.0, n))
    start = issued + pd.to_timedelta(rng.exponential(3.0, n), unit="min")
    tickets = pd.DataFrame(
        {
            "ticket": [f"T{k}" for k in range(n)],
            "category": "社保",  # ids and names as a Chinese hall's log has them
            "issued": issued,
            "called": start,
            "start": start,
            "end": start + pd.to_timedelta(duration, unit="min"),
            "window": "窗口 1",
            "staff": None,
            "outcome": "served",
        }
    ).sort_values("issued", ignore_index=True)
    result = hs.fit(TicketLog(tickets=tickets, source='hall "one"\nexport.csv'))
    service = result.service.set_index("family")
    assert service.loc["empirical", "chosen"]
    assert (service.loc[["exponential", "lognormal", "gamma"], "ks_pvalue"] < 0.01).all()
    dist = result.scenario.categories[0].service
    assert dist.dist == "empirical" and len(dist.samples_min) == 1000
    assert dist.mean == pytest.approx(duration.mean(), rel=0.01)
    path = result.save(tmp_path / "empirical.toml")
    assert hs.load_scenario(path) == result.scenario
    assert result.scenario.windows[0].id == "社保"
    text = path.read_text(encoding="utf-8")
    assert "empirical by KS (every family rejected at 1 %)" in text
    assert result.patience.loc[0, "family"] == "none"


def test_generalist_factor_is_recovered(fitted):
    table = fitted.generalist.set_index("category")
    assert set(table.index) == {"A", "B"}  # C has no dedicated window
    for category in ("A", "B"):
        row = table.loc[category]
        assert row.ratio_lo <= GENERALIST <= row.ratio_hi
        assert row.applied
    windows = fitted.windows.set_index("entry")
    assert windows.loc["A", "count"] == 2 and windows.loc["A", "serves"] == ["A"]
    assert windows.loc["B", "windows"] == ["WB.1", "WB.2"]
    assert windows.loc["comprehensive", "serves"] == ["A", "B", "C"]


def staffed_hall() -> hs.Scenario:
    """Two categories served at three windows by staff of known speeds."""
    return hs.Scenario.model_validate(
        {
            "hall": {"open": "08:00", "close": "17:00", "days": 30},
            "categories": [
                {
                    "id": "A",
                    "arrivals": {"rate_per_hour": 14},
                    "service": {"dist": "exponential", "mean_min": 6},
                },
                {
                    "id": "B",
                    "arrivals": {"rate_per_hour": 6},
                    "service": {"dist": "exponential", "mean_min": 12},
                },
            ],
            "windows": [{"id": "W", "count": 3, "serves": ["*"]}],
            "staff": [
                {"id": "fast", "speed": 0.8, "windows": ["W.1"]},
                {"id": "usual", "speed": 1.0, "windows": ["W.2"]},
                {"id": "slow", "speed": 1.3, "windows": ["W.3"]},
            ],
        }
    )


def test_staff_speed_is_recovered():
    """The oracle: a member's speed over the ticket-weighted mean speed of the tickets of the
    same categories, x their mix of categories (from the log's own counts)."""
    speeds = {"fast": 0.8, "usual": 1.0, "slow": 1.3}
    base = {"A": 6.0, "B": 12.0}
    log = hs.simulate(staffed_hall(), replications=1, seed=11, progress=False).to_log()
    result = hs.fit(log, confidence=0.99)
    served = log.tickets[log.tickets["outcome"] == "served"]
    n = served.groupby(["staff", "category"]).size().unstack()
    mean_speed = (n.mul(pd.Series(speeds), axis=0)).sum() / n.sum()  # per category
    table = result.staff_speed.set_index("staff")
    for member, speed in speeds.items():
        mix = n.loc[member]
        expected = (
            speed * (mix * pd.Series(base)).sum() / (mix * pd.Series(base) * mean_speed).sum()
        )
        row = table.loc[member]
        assert row.speed_lo <= expected <= row.speed_hi, (
            member,
            expected,
            row.speed_lo,
            row.speed_hi,
        )
        shrink = row.tickets / (row.tickets + 50)
        assert row.speed == pytest.approx(1 + (row.speed_raw - 1) * shrink)
    # no dedicated windows: no generalist factor
    assert result.generalist.empty


# ---------------------------------------------------------------------- patience, no-show, balking


def test_patience_censored_mean_covers_truth_and_naive_mean_does_not(fitted):
    table = fitted.patience.set_index("category")
    for category, mean in (("A", 40.0), ("B", 60.0)):
        row = table.loc[category]
        assert row.family == "exponential"
        assert row.mean_lo <= mean <= row.mean_hi, (category, row.mean_lo, row.mean_hi)
        assert not row.mean_lo <= row.naive_mean <= row.mean_hi
        assert row.naive_mean < mean / 4
        assert row.n_left == 0
    assert table.loc["C", "family"] == "none"
    assert "waits forever" in table.loc["C", "note"]
    assert set(fitted.patience_fits) == {"A", "B"}


def test_no_show_share_at_call(fitted):
    table = fitted.no_show.set_index("category")
    row = table.loc["B"]
    assert row.share_lo <= 0.05 <= row.share_hi
    assert row.lost_min == pytest.approx(3.0)  # a call and two recalls of a minute
    assert table.loc["A", "no_show"] == 0 and table.loc["C", "share"] == 0


def slow_queue_at_issue(tickets: pd.DataFrame) -> np.ndarray:
    """For each ticket, the tickets of its category issued before it, admitted, and neither
    called nor gone by then: one ticket at a time, day by day."""
    out = np.zeros(len(tickets), dtype=int)
    admitted = ~tickets["outcome"].isin(["balked", "capped"]).to_numpy()
    gone = tickets["called"].fillna(tickets["end"]).to_numpy()
    issued = tickets["issued"].to_numpy()
    day = tickets["issued"].dt.normalize().to_numpy()
    category = tickets["category"].to_numpy()
    for i in range(len(tickets)):
        before = (day == day[i]) & (category == category[i]) & (issued < issued[i]) & admitted
        out[i] = int((before & ~(gone <= issued[i])).sum())
    return out


def test_balking_by_queue_length(log, fitted):
    from hallsim.fit import _queue_at_issue

    tickets = log.tickets[log.tickets["category"] == "C"].reset_index(drop=True)
    first_days = tickets[tickets["issued"] < pd.Timestamp("2026-01-12")]
    np.testing.assert_array_equal(_queue_at_issue(first_days), slow_queue_at_issue(first_days))

    # oracle: a bin's expected share is the mean of the true probability at its tickets' queues
    queue = _queue_at_issue(tickets)
    truth = np.interp(queue, BALK_QUEUE, BALK_PROBABILITY)
    table = fitted.balking
    assert set(table["category"]) == {"C"}
    missed = 0
    for row in table.itertuples():
        mine = (queue >= row.queue_min) & (queue <= row.queue_max)
        assert mine.sum() == row.tickets
        expected = truth[mine].mean()
        missed += not row.share_lo <= expected <= row.share_hi
    assert missed <= stats.binom.ppf(0.999, len(table), 0.05)
    assert (np.diff(table["probability"]) >= 0).all()
    balking = fitted.scenario.categories[2].balking
    assert balking.queue == table["queue"].tolist()


def test_abandonment_known_only_at_call():
    """A hall that learns of abandonment at the call: holders whose patience (exponential,
    mean 30) ran out before their call are absent then. Left-censoring recovers the mean;
    reading the log as if abandonment were observed does not."""
    scenario = hs.Scenario.model_validate(
        {
            "hall": {"open": "08:00", "close": "12:00", "days": 10},
            "categories": [
                {
                    "id": "A",
                    "arrivals": {"rate_per_hour": 10},
                    "service": {"dist": "exponential", "mean_min": 5.5},
                }
            ],
            "windows": [{"id": "W", "serves": ["*"]}],
        }
    )
    tickets = hs.simulate(scenario, replications=1, seed=5, progress=False).to_log().tickets.copy()
    wait = (tickets["called"] - tickets["issued"]) / pd.Timedelta(minutes=1)
    patience = np.random.default_rng(6).exponential(30.0, len(tickets))
    gone = (patience < wait).to_numpy()
    tickets["outcome"] = tickets["outcome"].astype(str).where(~gone, "no_show")
    for column in ("start", "window", "staff"):
        tickets.loc[gone, column] = None
    tickets.loc[gone, "end"] = tickets.loc[gone, "called"]
    log = TicketLog(tickets=tickets)
    at_call = hs.fit(log, abandonment="at_call")  # slow: the Turnbull estimate
    row = at_call.patience.set_index("category").loc["A"]
    assert row.n_left == gone.sum() > 100 and row.n_exact == 0
    assert row.mean_lo <= 30.0 <= row.mean_hi
    shows = at_call.no_show.set_index("category").loc["A"]
    assert shows.share == 0 and "not identifiable" in shows.note
    assert "no_show" not in at_call.scenario.categories[0].model_dump(exclude_none=True)
    observed = hs.fit(log)  # no-shows read as absent holders: nobody seen to give up
    assert observed.patience.set_index("category").loc["A", "family"] == "none"
    assert observed.no_show.set_index("category").loc["A", "share"] > 0.2


# ---------------------------------------------------------------------- the fitted hall


def test_fitted_hall_reproduces_the_kpis(fitted):
    """Both halls run 5 replications of the log's 63 days. The fitted hall carries the
    estimation error of one 63-day log, of the order of one 63-day run's spread, so each KPI's
    difference is judged against sqrt(s_true^2 / 5 + s_fit^2 / 5 + s_true^2) (s: the spread of
    the KPI over 63-day runs): within 3 of those."""
    runs = 5
    true = hs.simulate(known_hall(), replications=runs, seed=1, progress=False)
    fit = hs.simulate(fitted.to_scenario(days=DAYS), replications=runs, seed=2, progress=False)
    a = true.replication_stats.groupby("category", observed=True)
    b = fit.replication_stats.groupby("category", observed=True)
    for metric in ("mean_wait", "abandonment", "utilisation", "balking", "no_show"):
        difference = (b[metric].mean() - a[metric].mean()).drop("overall")
        scale = np.sqrt(a[metric].var() / runs + b[metric].var() / runs + a[metric].var())
        z = (difference / scale.drop("overall")).fillna(0.0)
        print(metric, z.round(2).to_dict())
        assert (z.abs() <= 3).all(), (metric, z.to_dict())
    # the summaries' 95% CIs of mean wait and utilisation overlap too
    s_true, s_fit = true.summary(), fit.summary()
    for metric in ("mean_wait", "utilisation"):
        for category in "ABC":
            assert s_true.loc[category, f"{metric}_lo"] <= s_fit.loc[category, f"{metric}_hi"]
            assert s_fit.loc[category, f"{metric}_lo"] <= s_true.loc[category, f"{metric}_hi"]


def test_scenario_parts(fitted):
    scenario = fitted.scenario
    assert (scenario.hall.open, scenario.hall.close, scenario.hall.days) == ("08:00", "17:00", 7)
    a, b, c = scenario.categories
    assert a.service.dist == "lognormal" and b.service.dist == "gamma"
    assert a.patience.dist == "exponential" and c.patience is None
    assert b.no_show.probability == pytest.approx(
        fitted.no_show.set_index("category").loc["B", "share"]
    )
    assert [w.id for w in scenario.windows] == ["A", "B", "comprehensive"]
    comprehensive = scenario.windows[2]
    assert comprehensive.serves == ["*"]
    assert set(comprehensive.generalist_factor) == {"A", "B"}


def test_save_and_load_round_trip(fitted, tmp_path):
    path = fitted.save(tmp_path / "fitted.toml")
    assert hs.load_scenario(path) == fitted.scenario
    text = path.read_text(encoding="utf-8")
    assert "served tickets, lognormal by AIC, mean 8." in text
    assert "gave up (exact)" in text and "first ticket at 08:" in text
    assert "# 2 window(s) WA.1, WA.2" in text
    longer = fitted.save(tmp_path / "two-weeks.toml", days=14)
    assert hs.load_scenario(longer).hall.days == 14


def test_report_and_plots(fitted):
    import matplotlib.pyplot as plt

    tables = fitted.report()
    assert {"arrivals", "service", "patience", "windows", "notes"} <= set(tables)
    assert all(isinstance(t, pd.DataFrame) for t in tables.values())
    for ax in (
        fitted.plot_arrivals("A"),
        fitted.plot_arrivals("B", day_type="mon"),
        fitted.plot_service("A"),
        fitted.plot_patience("A"),
    ):
        assert isinstance(ax, matplotlib.axes.Axes)
    with pytest.raises(ValueError, match="no patience fit.*waits forever"):
        fitted.plot_patience("C")
    with pytest.raises(ValueError, match="unknown category 'D'"):
        fitted.plot_service("D")
    plt.close("all")


def test_bad_input(log):
    quick = arrivals_only(log)
    with pytest.raises(ValueError, match="abandonment must be one of"):
        hs.fit(quick, abandonment="sometimes")
    with pytest.raises(ValueError, match="confidence must be"):
        hs.fit(quick, confidence=95)
    with pytest.raises(ValueError, match=r"exclude: '2025-12-31' is not a day of the log"):
        hs.fit(quick, exclude=["2025-12-31"])
    with pytest.raises(ValueError, match="interval_min must divide a day"):
        hs.fit(quick, interval_min=7)
    with pytest.raises(ValueError, match="calendar: the label of 2026-01-05"):
        hs.fit(quick, calendar={"2026-01-05": 3})
    with pytest.raises(TypeError, match="TicketLog or ArrivalCounts"):
        hs.fit(log.tickets)
    with pytest.raises(hs.LogError, match="no tickets"):
        hs.fit(TicketLog(tickets=quick.tickets.iloc[:0]))
    result = hs.fit(quick)  # issue times only: arrivals, as from counts
    assert result.service is None
    with pytest.raises(ValueError, match="pass base="):
        result.to_scenario()


def test_window_hours_are_recovered_from_activity():
    """Panjin's six windows close for lunch (12:00-13:30) while two stay open: the fit finds
    both groups and the gap, from when the windows began services."""
    panjin = hs.load_scenario("scenarios/panjin.toml")
    data = panjin.model_dump(mode="json", exclude_none=True)
    data["hall"]["days"] = 20
    log = hs.simulate(hs.Scenario.model_validate(data), replications=1, seed=3, progress=False)
    fitted = hs.fit(log.to_log())
    windows = {w.count: w.open for w in fitted.scenario.windows}
    assert windows == {2: None, 6: [["08:30", "12:00"], ["13:30", "17:00"]]}


def test_cv_interval_of_many_tickets_has_its_coverage():
    """The delta-method interval used for more than BOOTSTRAP_MAX_N durations covers a known
    cv about 95 % of the time (gamma, cv 0.8), and agrees with the bootstrap's."""
    from scipy import stats

    from hallsim.fit import _cv_interval

    rng = np.random.default_rng(7)
    shape = 1 / 0.8**2
    trials = 300
    hits = sum(
        lo <= 0.8 <= hi
        for lo, hi in (
            _cv_interval(rng.gamma(shape, 10 / shape, 6000), 0.05) for _ in range(trials)
        )
    )
    assert stats.binom.ppf(0.001, trials, 0.95) <= hits <= stats.binom.ppf(0.999, trials, 0.95)
    x = rng.gamma(shape, 10 / shape, 6000)
    boot = stats.bootstrap(
        (x,),
        lambda s, axis: s.std(axis=axis, ddof=1) / s.mean(axis=axis),
        n_resamples=999,
        method="percentile",
        random_state=np.random.default_rng(0),
    ).confidence_interval
    lo, hi = _cv_interval(x, 0.05)
    assert lo == pytest.approx(boot.low, abs=0.005) and hi == pytest.approx(boot.high, abs=0.005)


def test_a_patience_mean_far_beyond_the_waits_seen_is_noted(monkeypatch):
    """Where the chosen family's mean lies far beyond the longest wait in the log and the
    families disagree on it (a lognormal 100 times the exponential's), the fit says the mean
    is an extrapolation; where they agree, it says nothing."""
    import hallsim.patience

    panjin = hs.load_scenario("scenarios/panjin.toml")
    log = hs.simulate(panjin, replications=1, seed=2, progress=False).to_log()
    real = hallsim.patience.fit_patience

    def lognormal_chosen(times_exponential: float):
        def fake(*args, **kwargs):
            result = real(*args, **kwargs)
            table = result.table.copy()
            means = table.set_index("family")["mean"]
            mean = float(means["exponential"]) * times_exponential
            table.loc[table["family"] == "lognormal", "mean"] = mean
            result.table, result.family, result.mean = table, "lognormal", mean
            return result

        return fake

    monkeypatch.setattr(hallsim.patience, "fit_patience", lognormal_chosen(100.0))
    assert sum("extrapolation" in note for note in hs.fit(log).notes) == len(panjin.categories)
    monkeypatch.setattr(hallsim.patience, "fit_patience", lognormal_chosen(1.5))
    assert not any("extrapolation" in note for note in hs.fit(log).notes)
