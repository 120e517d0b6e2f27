"""Trace replay (hallsim.replay): a log's own tickets through a scenario, in both engines.

The oracle: a simulated hall written as a log and replayed through the same scenario gives
back every ticket (called, start, end, window, staff, outcome), whatever the replication
draws for what the log leaves open.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import category, exponential, make_scenario, mean_ci
from scipy import stats

import hallsim as hs
from hallsim.distributions import Deterministic, Empirical, Gamma, Lognormal, Uniform
from hallsim.errors import LogError
from hallsim.replay import patience_beyond, prepare_replay

ENGINES = ("fast", "simpy")
TIMES = ("issued", "called", "start", "end")
LABELS = ("category", "window", "staff", "outcome")


def small_hall(generalists: int = 3, patience: bool = True, **hall) -> hs.Scenario:
    """Three categories at dedicated and generalist windows (slower on A and B), with
    patience, priorities, no-shows and balking."""
    impatient = {"patience": exponential(12.0)} if patience else {}
    return make_scenario(
        [
            category("A", 24, {"dist": "lognormal", "mean_min": 6.0, "cv": 0.5}, **impatient),
            category(
                "B",
                9,
                exponential(8.0),
                priority=1,
                no_show={"probability": 0.2, "recall_min": 1.0, "recalls": 1},
                **(
                    {"patience": {"dist": "gamma", "mean_min": 20.0, "cv": 0.7}} if patience else {}
                ),
            ),
            category(
                "C",
                5,
                {"dist": "gamma", "mean_min": 10.0, "cv": 0.8},
                balking={"queue": [0, 4], "probability": [0.0, 0.6]},
            ),
        ],
        [
            {"id": "D", "count": 2, "serves": ["A"]},
            {
                "id": "G",
                "count": generalists,
                "serves": ["*"],
                "generalist_factor": {"A": 1.3, "B": 1.1},
            },
        ],
        **{"open": "08:00", "close": "12:00", "days": 3, "first_weekday": "wed", **hall},
    )


def operations_hall(days: int = 2) -> hs.Scenario:
    """Panjin with every operation: staff, breaks, rotation, a tidal window, a reserve pool,
    priority tickets, appointments, caps, balking, requeued no-shows, back offices."""
    scenario = hs.load_scenario("scenarios/panjin-operations.toml")
    data = scenario.model_dump(by_alias=True)
    return hs.Scenario.model_validate({**data, "hall": {**data["hall"], "days": days}})


def text(column: pd.Series) -> list:
    return column.astype(object).where(column.notna(), None).tolist()


def assert_same_tickets(replayed: pd.DataFrame, original: pd.DataFrame) -> None:
    """Ticket tables (in issue order) equal: times to 1e-6 minutes, labels exactly."""
    assert len(replayed) == len(original)
    for column in TIMES:
        np.testing.assert_allclose(
            replayed[column].to_numpy(), original[column].to_numpy(), rtol=0, atol=1e-6
        )
    for column in (*LABELS, "day"):
        assert text(replayed[column]) == text(original[column]), column


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("hall", ["small", "operations"])
def test_replaying_a_simulated_log_through_its_scenario_gives_back_every_ticket(engine, hall):
    scenario = small_hall() if hall == "small" else operations_hall()
    original = hs.simulate(scenario, replications=1, seed=11, engine=engine, progress=False)
    # a year before the default dates: the replay must keep the log's own
    log = original.to_log(str((original.to_log().days[0] - pd.Timedelta(weeks=52)).date()))
    outcomes = set(log.tickets["outcome"].astype(str))
    # the oracle covers reneging, no-shows and balking (caps, appointments: operations hall)
    assert {"served", "abandoned", "no_show"} <= outcomes
    assert "balked" in outcomes if hall == "small" else "capped" in outcomes

    replayed = hs.simulate(
        scenario,
        arrivals=log,
        service="logged",
        replications=1,
        seed=99,
        engine=engine,
        progress=False,
    )
    assert_same_tickets(replayed.tickets, original.tickets)
    assert replayed.warnings == [] and replayed.scenario.hall.days == scenario.hall.days

    # through the datetime round trip: the replay's own log is the log
    again = replayed.to_log().tickets  # the replay keeps the log's dates
    assert again["ticket"].tolist() == log.tickets["ticket"].tolist()
    for column in TIMES:
        gap = (again[column] - log.tickets[column]) / pd.Timedelta(minutes=1)
        assert np.nanmax(np.abs(gap.to_numpy(dtype=float))) <= 1e-6, column
        assert (again[column].isna() == log.tickets[column].isna()).all(), column
    for column in LABELS:
        assert text(again[column]) == text(log.tickets[column]), column


def test_a_log_given_as_a_dataframe_replays_like_the_log():
    scenario = small_hall(days=1)
    log = hs.simulate(scenario, replications=1, seed=4, progress=False).to_log()
    # optional columns may be missing: outcomes are then inferred from the times
    frame = log.tickets.drop(columns=["staff", "outcome"])
    frame["issued"] = frame["issued"].dt.strftime("%Y-%m-%d %H:%M:%S.%f")  # times as text
    from_frame = hs.simulate(scenario, arrivals=frame, replications=1, seed=1, progress=False)
    from_log = hs.simulate(scenario, arrivals=log, replications=1, seed=1, progress=False)
    assert_same_tickets(from_frame.tickets, from_log.tickets)


def test_a_log_of_arrivals_only_leaves_everything_else_to_the_draws():
    scenario = small_hall(days=2)
    log = hs.simulate(scenario, replications=1, seed=4, progress=False).to_log()
    arrivals = log.tickets[["ticket", "category", "issued"]]
    replay = prepare_replay(scenario, arrivals)
    assert np.isnan(replay.service).all() and np.isinf(replay.waited).all()
    assert np.isnan(replay.balk_draw).all() and np.isnan(replay.absent_draw).all()
    impatient = np.isin(replay.category, [0, 1])  # A and B have a patience, C none
    assert np.isnan(replay.patience[impatient]).all()
    assert np.isinf(replay.patience[~impatient]).all()
    tickets = hs.simulate(
        scenario, arrivals=arrivals, replications=2, seed=1, progress=False
    ).tickets
    first, second = (run for _, run in tickets.groupby("replication"))
    np.testing.assert_array_equal(first["issued"].to_numpy(), second["issued"].to_numpy())
    assert text(first["outcome"]) != text(second["outcome"])


def test_fewer_windows_make_the_same_tickets_wait_longer():
    scenario = small_hall(generalists=3, patience=False)
    original = hs.simulate(scenario, replications=1, seed=5, progress=False)
    log = original.to_log()
    fewer = small_hall(generalists=1, patience=False)  # one window "G" instead of G.1-G.3
    with pytest.raises(ValueError, match=r"window 'G\.\d'.*windows=\{'G\.\d'"):
        hs.simulate(fewer, arrivals=log, replications=1, seed=5, progress=False)
    same_window = {f"G.{k}": "G" for k in (1, 2, 3)}
    replayed = hs.simulate(
        fewer, arrivals=log, windows=same_window, replications=2, seed=5, progress=False
    )
    for _, tickets in replayed.tickets.groupby("replication"):
        np.testing.assert_allclose(
            tickets["issued"].to_numpy(), original.tickets["issued"].to_numpy(), atol=1e-6
        )
        assert text(tickets["category"]) == text(original.tickets["category"])

    def mean_wait(tickets: pd.DataFrame) -> float:
        served = tickets[tickets["outcome"] == "served"]
        return float((served["start"] - served["issued"]).mean())

    assert mean_wait(replayed.tickets) > 1.5 * mean_wait(original.tickets)
    assert set(replayed.tickets["window"].dropna().astype(str)) == {"D.1", "D.2", "G"}


def test_logged_service_is_the_duration_over_the_factor_of_the_window_that_served_it():
    scenario = small_hall(days=1)
    original = hs.simulate(scenario, replications=1, seed=8, progress=False)
    replay = prepare_replay(scenario, original.to_log())
    tickets = original.tickets
    served = (tickets["outcome"] == "served").to_numpy()
    at_generalist = tickets["window"].astype(str).str.startswith("G").to_numpy()
    factor = np.select(
        [
            at_generalist & (tickets["category"] == "A"),
            at_generalist & (tickets["category"] == "B"),
        ],
        [1.3, 1.1],
        1.0,
    )
    duration = (tickets["end"] - tickets["start"]).to_numpy()
    np.testing.assert_allclose(
        replay.service[served], duration[served] / factor[served], rtol=0, atol=1e-6
    )
    assert (served & at_generalist & (factor > 1)).sum() > 10
    assert np.isnan(replay.service[~served]).all()  # drawn
    drawn = prepare_replay(scenario, original.to_log(), service="drawn")
    assert np.isnan(drawn.service).all()


def test_replications_vary_only_in_what_the_log_leaves_open():
    scenario = small_hall(days=2)
    log = hs.simulate(scenario, replications=1, seed=2, progress=False).to_log()
    # through the same scenario nothing the replications draw changes a ticket
    tickets = hs.simulate(scenario, arrivals=log, replications=3, seed=6, progress=False).tickets
    runs = [
        run.drop(columns="replication").reset_index(drop=True)
        for _, run in tickets.groupby("replication")
    ]
    for run in runs[1:]:
        pd.testing.assert_frame_equal(run, runs[0])

    # what is drawn: patience of those who did not give up, service of those not served
    replay = prepare_replay(scenario, log)
    one, two = (replay.inputs(np.random.default_rng(s)) for s in (1, 2))
    outcome = log.tickets["outcome"].astype(str).to_numpy()
    abandoned, served = outcome == "abandoned", outcome == "served"
    np.testing.assert_array_equal(one.issued, two.issued)
    np.testing.assert_array_equal(one.category, two.category)
    np.testing.assert_array_equal(one.patience[abandoned], two.patience[abandoned])
    np.testing.assert_array_equal(one.service[served], two.service[served])
    finite = served & np.isfinite(one.patience)
    assert (one.patience[finite] != two.patience[finite]).all()
    assert (one.service[~served] != two.service[~served]).all()

    # with service drawn, replications differ in their service times, not in their tickets
    drawn = hs.simulate(
        scenario, arrivals=log, service="drawn", replications=2, seed=6, progress=False
    ).tickets
    first, second = (run for _, run in drawn.groupby("replication"))
    np.testing.assert_array_equal(first["issued"].to_numpy(), second["issued"].to_numpy())
    assert text(first["category"]) == text(second["category"])
    assert not np.allclose(first["end"].to_numpy(), second["end"].to_numpy(), equal_nan=True)


def test_replications_and_workers_give_the_same_replay():
    scenario = small_hall(days=1)
    log = hs.simulate(scenario, replications=1, seed=3, progress=False).to_log()
    options = {"arrivals": log, "service": "drawn", "replications": 2, "seed": 7}
    alone = hs.simulate(scenario, workers=1, progress=False, **options).tickets
    pooled = hs.simulate(scenario, workers=2, progress=False, **options).tickets
    pd.testing.assert_frame_equal(alone, pooled)


def served_log(waits: np.ndarray, category_id: str = "A") -> pd.DataFrame:
    """Served tickets, one a minute from midnight, each called after its wait."""
    issued = pd.Timestamp("2026-03-02") + pd.to_timedelta(np.arange(waits.size), unit="min")
    called = issued + pd.to_timedelta(waits, unit="min")
    return pd.DataFrame(
        {
            "ticket": [f"t{k}" for k in range(waits.size)],
            "category": category_id,
            "issued": issued,
            "called": called,
            "start": called,
            "end": called + pd.Timedelta(minutes=3),
            "window": "W",
            "outcome": "served",
        }
    )


def test_drawn_patience_exceeds_the_wait_seen_and_the_excess_is_memoryless():
    mean = 20.0
    scenario = make_scenario(
        [category("A", 10, exponential(3.0), patience=exponential(mean))],
        [{"id": "W", "serves": ["*"]}],
        days=3,
    )
    waits = np.random.default_rng(0).uniform(0.5, 60.0, 4000)
    replay = prepare_replay(scenario, served_log(waits))
    assert replay.hall.n_days == 3  # 4000 tickets, one a minute
    patience = replay.inputs(np.random.default_rng(1)).patience
    waited = patience - waits
    assert (waited > 0).all()
    # memoryless: the excess over the wait is exponential with the patience's mean
    low, high = mean_ci(waited)
    assert low <= mean <= high, (low, high)
    assert stats.kstest(waited, stats.expon(scale=mean).cdf).pvalue > 0.01


@pytest.mark.parametrize(
    ("distribution", "frozen"),
    [
        (
            Lognormal(mean_min=15.0, cv=0.8),
            stats.lognorm(s=np.sqrt(np.log1p(0.64)), scale=15.0 / np.sqrt(1.64)),
        ),
        (Gamma(mean_min=15.0, cv=0.6), stats.gamma(a=1 / 0.36, scale=15.0 * 0.36)),
        (Uniform(low_min=5.0, high_min=40.0), stats.uniform(loc=5.0, scale=35.0)),
    ],
)
def test_patience_beyond_a_wait_has_the_truncated_law(distribution, frozen):
    wait = 12.0
    uniforms = np.random.default_rng(3).random(5000)
    patience = patience_beyond(distribution, np.full(uniforms.size, wait), uniforms)
    assert (patience > wait).all()

    def truncated_cdf(x):  # P(T <= x | T > wait), the oracle from scipy
        return np.clip((frozen.cdf(x) - frozen.cdf(wait)) / frozen.sf(wait), 0.0, 1.0)

    assert stats.kstest(patience, truncated_cdf).pvalue > 0.01
    free = patience_beyond(distribution, np.full(uniforms.size, -np.inf), uniforms)
    assert stats.kstest(free, frozen.cdf).pvalue > 0.01  # no wait: the law itself


def test_patience_beyond_a_wait_for_empirical_and_deterministic_patience():
    uniforms = np.random.default_rng(4).random(6000)
    waits = np.full(uniforms.size, 2.5)
    drawn = patience_beyond(Empirical(samples_min=[1, 2, 3, 5, 8]), waits, uniforms)
    values, counts = np.unique(drawn, return_counts=True)
    np.testing.assert_array_equal(values, [3, 5, 8])  # uniformly among the samples above
    assert stats.chisquare(counts).pvalue > 0.01
    fixed = patience_beyond(
        Deterministic(mean_min=4.0), np.array([1.0, 3.9, 4.0, 9.0]), uniforms[:4]
    )
    np.testing.assert_array_equal(fixed, [4.0, 4.0, np.inf, np.inf])


def test_a_wait_the_patience_law_cannot_exceed_replays_as_never_giving_up():
    scenario = make_scenario(
        [
            category(
                "A",
                10,
                exponential(3.0),
                patience={"dist": "uniform", "low_min": 1.0, "high_min": 10.0},
            )
        ],
        [{"id": "W", "serves": ["*"]}],
    )
    log = served_log(np.array([5.0, 15.0, 30.0]))
    replay = prepare_replay(scenario, log)
    patience = replay.inputs(np.random.default_rng(0)).patience
    assert 5.0 < patience[0] <= 10.0 and np.isinf(patience[1:]).all()
    results = hs.simulate(scenario, arrivals=log, replications=1, seed=0, progress=False)
    assert any("2 tickets of 'A' waited longer" in message for message in results.warnings)
    assert (results.tickets["outcome"] == "served").all()


def test_a_replay_spans_the_logs_dates_from_the_weekday_of_the_first():
    scenario = small_hall(days=1)
    log = served_log(np.array([1.0, 2.0, 3.0]), "C")
    log["issued"] = pd.to_datetime(["2026-03-04 09:00", "2026-03-06 10:00", "2026-03-06 08:00"])
    log["called"] = log["start"] = log["issued"] + pd.Timedelta(minutes=1)
    log["end"] = log["start"] + pd.Timedelta(minutes=4)
    log["window"] = "G.1"
    results = hs.simulate(scenario, arrivals=log, replications=1, seed=0, progress=False)
    hall = results.scenario.hall
    assert (hall.days, hall.first_weekday) == (3, "wed")
    tickets = results.tickets
    assert tickets["day"].tolist() == [0, 2, 2]
    np.testing.assert_allclose(tickets["issued"], [540.0, 2 * 1440 + 480.0, 2 * 1440 + 600.0])
    np.testing.assert_allclose(tickets["end"] - tickets["start"], 4.0)  # factor 1 for C


def test_categories_map_log_names_and_classes_to_the_scenarios():
    scenario = small_hall(days=1)
    log = served_log(np.array([1.0, 2.0, 3.0]), "passport")
    log["issued"] += pd.Timedelta(hours=9)
    log[["called", "start", "end"]] = log[["called", "start", "end"]] + pd.Timedelta(hours=9)
    log["window"] = "G.2"
    with pytest.raises(ValueError) as error:
        hs.simulate(scenario, arrivals=log, replications=1, progress=False)
    message = str(error.value)
    assert "ticket 't0'" in message and "'passport'" in message and "(3 tickets" in message
    assert "categories={'passport':" in message
    replay = prepare_replay(scenario, log, categories={"passport": "B"})
    assert [replay.hall.category_ids[c] for c in replay.category] == ["B"] * 3

    log.loc[1, "category"] = "passport:priority"  # B has no priority tickets in the scenario
    with pytest.raises(
        ValueError, match=r"ticket 't1'.*'B' has no priority tickets.*priority_share"
    ):
        prepare_replay(scenario, log, categories={"passport": "B"})
    log.loc[1, "category"] = "passport"
    with pytest.raises(ValueError, match="windows maps 'G.2' to 'Z'"):
        prepare_replay(scenario, log, categories={"passport": "B"}, windows={"G.2": "Z"})


def test_errors_name_the_ticket_the_value_and_the_fix():
    scenario = small_hall(days=1)  # open 08:00-12:00
    log = served_log(np.array([1.0, 2.0]), "A")
    log["issued"] += pd.Timedelta(hours=7, minutes=59)  # 07:59 and 08:00
    with pytest.raises(
        ValueError,
        match=r"ticket 't0' was issued at 2026-03-02 07:59:00, outside"
        r" the hall's opening hours 08:00-12:00 \(1 of the log's 2 tickets\); widen hall.open",
    ):
        hs.simulate(scenario, arrivals=log, replications=1, progress=False)
    with pytest.raises(ValueError, match="has no tickets to replay"):
        hs.simulate(scenario, arrivals=log.iloc[:0], replications=1, progress=False)
    with pytest.raises(LogError, match=r"required column\(s\) \['issued'\]"):
        prepare_replay(scenario, log.drop(columns="issued"))
    bad = served_log(np.array([1.0, 2.0]), "A")
    bad[list(TIMES)] += pd.Timedelta(hours=9)
    bad.loc[1, "end"] = bad.loc[1, "start"] - pd.Timedelta(minutes=1)
    with pytest.raises(ValueError, match="ticket 't1': end before start"):
        prepare_replay(scenario, bad)
    with pytest.raises(ValueError, match="service='logged' applies to a replay"):
        hs.simulate(scenario, service="logged", progress=False)
    with pytest.raises(ValueError, match="categories= applies to a replay"):
        hs.simulate(scenario, categories={"x": "A"}, progress=False)
    with pytest.raises(ValueError, match="service must be one of"):
        hs.simulate(scenario, arrivals=bad, service="fitted", progress=False)
