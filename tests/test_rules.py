"""The documented rules of hallsim.engines on hand-built inputs, ties included.

Each case feeds the engine exact arrival, service and patience values so that events
coincide on purpose (a window freeing as a patience ends, a span ending as a service ends...).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import OUTPUT_FIELDS, on_minute_grid

import hallsim as hs
from hallsim.compile import OUTCOMES, compile_scenario
from hallsim.engines import fast, reference
from hallsim.engines.inputs import TicketInputs

INF = math.inf


def hall(windows: list[dict], priorities=(0, 0), no_show: dict | None = None) -> hs.Scenario:
    """Categories A and B (``no_show`` for A) and the given windows, 08:00-17:00."""
    categories = [
        {
            "id": cid,
            "arrivals": {"rate_per_hour": 1},
            "priority": p,
            "service": {"dist": "exponential", "mean_min": 1},
        }
        for cid, p in zip("AB", priorities, strict=True)
    ]
    if no_show is not None:
        categories[0]["no_show"] = no_show
    return hs.Scenario.model_validate(
        {"hall": {"open": "08:00", "close": "17:00"}, "categories": categories, "windows": windows}
    )


def clock(text: str) -> float:
    hours, minutes = text.split(":")
    return int(hours) * 60.0 + float(minutes)


def _run(scenario: hs.Scenario, tickets: list[tuple], engine: str):
    """tickets: (issued "HH:MM[.f]", category id, service minutes, patience minutes[,
    "absent"])."""
    compiled = compile_scenario(scenario)
    absent = [len(t) > 4 and t[4] == "absent" for t in tickets]
    inputs = TicketInputs(
        issued=np.array([clock(t[0]) for t in tickets]),
        category=np.array([scenario.category_ids.index(t[1]) for t in tickets], dtype=np.int64),
        service=np.array([float(t[2]) for t in tickets]),
        patience=np.array([float(t[3]) for t in tickets]),
        day_ptr=np.array([0, len(tickets)], dtype=np.int64),
        absent_draw=np.where(absent, 0.0, 1.0) if compiled.no_shows else np.empty(0),
    )
    out = (fast if engine == "fast" else reference).run(compiled, inputs)
    names = [compiled.window_names[compiled.post_window[w]] if w >= 0 else None for w in out.post]
    outcomes = [OUTCOMES[o] for o in out.outcome]
    return out, names, outcomes


@pytest.fixture(params=["fast", "simpy"])
def run(request):
    """Run hand-built tickets through one engine; every rule test runs in both."""
    return lambda scenario, tickets: _run(scenario, tickets, request.param)


def test_an_arrival_goes_to_the_most_specialised_free_window(run):
    scenario = hall([{"id": "Z", "serves": ["*"]}, {"id": "S", "serves": ["A"]}])
    _, names, _ = run(scenario, [("08:10", "A", 5, INF), ("08:11", "B", 5, INF)])
    assert names == ["S", "Z"]


def test_an_arrival_goes_to_the_longest_idle_window_then_the_lower_number(run):
    scenario = hall([{"id": "Z", "count": 3, "serves": ["*"]}])
    out, names, _ = run(
        scenario,
        [
            ("08:00", "A", 5, INF),  # Z.1 (all idle since 08:00: lowest number)
            ("08:01", "A", 30, INF),  # Z.2
            ("08:10", "A", 5, INF),  # Z.3 idle since 08:00, Z.1 only since 08:05
            ("08:20", "A", 5, INF),
        ],  # Z.1 idle since 08:05, Z.3 since 08:15
    )
    assert names == ["Z.1", "Z.2", "Z.3", "Z.1"]


def test_a_free_window_calls_the_highest_priority_then_the_longest_waiting(run):
    scenario = hall([{"id": "W", "serves": ["*"]}], priorities=(0, 1))
    out, _, _ = run(
        scenario,
        [
            ("08:00", "A", 20, INF),
            ("08:05", "A", 5, INF),
            ("08:06", "A", 5, INF),
            ("08:10", "B", 5, INF),
        ],
    )
    np.testing.assert_array_equal(
        out.start, [clock(t) for t in ("08:00", "08:25", "08:30", "08:20")]
    )


def test_patience_ending_as_a_window_frees_means_the_ticket_has_left(run):
    scenario = hall([{"id": "W", "serves": ["*"]}])
    out, _, outcomes = run(
        scenario, [("08:00", "A", 20, INF), ("08:05", "A", 5, 15), ("08:06", "A", 5, 15)]
    )
    assert outcomes == ["served", "abandoned", "served"]
    assert out.end[1] == clock("08:20")
    assert out.start[2] == clock("08:20")


def test_a_window_freeing_as_a_ticket_arrives_chooses_among_all_waiting_tickets(run):
    equal = hall([{"id": "W", "serves": ["*"]}])
    out, _, _ = run(
        equal, [("08:00", "A", 20, INF), ("08:05", "A", 5, INF), ("08:20", "B", 5, INF)]
    )
    assert list(out.start) == [clock("08:00"), clock("08:20"), clock("08:25")]
    urgent = hall([{"id": "W", "serves": ["*"]}], priorities=(0, 1))
    out, _, _ = run(
        urgent, [("08:00", "A", 20, INF), ("08:05", "A", 5, INF), ("08:20", "B", 5, INF)]
    )
    assert list(out.start) == [clock("08:00"), clock("08:25"), clock("08:20")]


def test_a_span_ending_as_a_service_ends_closes_the_window(run):
    scenario = hall(
        [
            {"id": "Early", "serves": ["A"], "open": [["08:00", "09:00"]]},
            {"id": "Late", "serves": ["A"], "open": [["09:30", "17:00"]]},
            {"id": "Other", "serves": ["B"]},
        ]
    )
    out, names, _ = run(scenario, [("08:40", "A", 20, INF), ("08:50", "A", 5, INF)])
    assert names == ["Early", "Late"]
    assert out.start[1] == clock("09:30")
    periods = sorted(zip(out.period_post, out.period_start, out.period_end, strict=True))
    assert periods[:2] == [(0, clock("08:00"), clock("09:00")), (1, clock("09:30"), clock("17:00"))]


def test_a_closing_window_finishes_its_ticket_and_stays_open_only_until_then(run):
    scenario = hall(
        [
            {"id": "Early", "serves": ["A"], "open": [["08:00", "09:00"]]},
            {"id": "Z", "serves": ["*"], "open": [["10:00", "17:00"]]},
        ]
    )
    out, names, outcomes = run(
        scenario, [("08:50", "A", 30, INF), ("08:55", "A", 5, INF), ("09:10", "B", 5, 30)]
    )
    assert names == ["Early", "Z", None]
    assert outcomes == ["served", "served", "abandoned"]
    assert out.end[0] == clock("09:20") and out.start[1] == clock("10:00")
    periods = sorted(zip(out.period_post, out.period_start, out.period_end, strict=True))
    assert periods[0] == (0, clock("08:00"), clock("09:20"))


def test_a_window_opening_as_a_ticket_arrives_serves_it_at_once(run):
    one = hall([{"id": "W", "serves": ["*"], "open": [["09:30", "17:00"]]}])
    out, _, _ = run(one, [("09:30", "B", 5, INF)])
    assert list(out.start) == [clock("09:30")]
    # with a ticket already waiting for the opening, that one is called first
    out, _, _ = run(one, [("08:00", "A", 5, INF), ("09:30", "B", 5, INF)])
    assert list(out.start) == [clock("09:30"), clock("09:35")]
    two = hall([{"id": "W", "count": 2, "serves": ["*"], "open": [["09:30", "17:00"]]}])
    out, names, _ = run(two, [("08:00", "A", 5, INF), ("09:30", "B", 5, INF)])
    assert names == ["W.1", "W.2"]
    assert list(out.start) == [clock("09:30"), clock("09:30")]


def test_after_closing_time_windows_open_at_close_clear_the_queue_then_close(run):
    scenario = hall(
        [
            {"id": "Z", "serves": ["*"]},
            {"id": "Short", "serves": ["A"], "open": [["08:00", "16:00"]]},
        ]
    )
    out, names, outcomes = run(
        scenario,
        [("16:50", "A", 20, INF), ("16:55", "A", 20, INF), ("16:59", "B", 1, INF)],
    )
    assert names == ["Z", "Z", "Z"]
    assert list(out.start) == [clock("16:50"), clock("17:10"), clock("17:30")]
    assert outcomes == ["served"] * 3
    z_periods = [
        (s, e)
        for w, s, e in zip(out.period_post, out.period_start, out.period_end, strict=True)
        if w == 0
    ]
    assert z_periods == [(clock("08:00"), clock("17:31"))]


def test_zero_length_service_frees_the_window_at_the_same_instant(run):
    scenario = hall([{"id": "W", "serves": ["*"]}])
    out, _, outcomes = run(scenario, [("08:00", "A", 0, INF), ("08:00", "A", 3, INF)])
    assert outcomes == ["served", "served"]
    assert list(out.start) == [clock("08:00"), clock("08:00")]


def test_a_window_freed_in_an_earlier_round_of_an_instant_has_been_idle_longer(run):
    scenario = hall([{"id": "W", "count": 2, "serves": ["*"]}])
    _, names, _ = run(
        scenario,
        [
            ("08:00", "A", 5, INF),  # W.1; both windows free again at 08:05, first round
            ("08:00", "A", 5, INF),  # W.2
            ("08:05", "A", 0, INF),  # W.1 (lower number); free again at 08:05, second round
            ("08:10", "A", 5, INF),  # W.2: free since 08:05 (first round), longer than W.1
        ],
    )
    assert names == ["W.1", "W.2", "W.1", "W.2"]


def test_zero_patience_is_served_only_by_a_window_free_at_its_arrival(run):
    scenario = hall([{"id": "W", "serves": ["*"]}])
    out, _, outcomes = run(
        scenario, [("08:00", "A", 5, 0), ("08:01", "A", 5, 0), ("08:05", "B", 5, 0)]
    )
    assert outcomes == ["served", "abandoned", "served"]
    assert out.end[1] == clock("08:01")  # left the instant it arrived
    assert out.start[2] == clock("08:05")  # the window freed as it arrived: first round


@pytest.mark.parametrize("order", [["B"], ["B", "A"]])
def test_strict_order_calls_the_first_listed_category_with_a_waiting_ticket(run, order):
    scenario = hall([{"id": "W", "serves": ["*"], "call": {"rule": "strict", "order": order}}])
    out, _, _ = run(
        scenario, [("08:00", "A", 10, INF), ("08:01", "A", 5, INF), ("08:02", "B", 5, INF)]
    )
    assert list(out.start) == [clock("08:00"), clock("08:15"), clock("08:10")]


def test_weighted_round_robin_calls_two_of_a_then_one_of_b(run):
    call = {"rule": "weighted", "weights": {"A": 2, "B": 1}}
    scenario = hall([{"id": "W", "serves": ["*"], "call": call}])
    tickets = [("08:00", "A", 1, INF)]  # called on arrival: the cycle moves on to A's second
    tickets += [(f"08:00.{k + 1}", "B", 1, INF) for k in range(3)]
    tickets += [(f"08:00.{k + 4}", "A", 1, INF) for k in range(4)]
    out, _, _ = run(scenario, tickets)
    order = [tickets[i][1] for i in np.argsort(out.start)]
    assert "".join(order) == "AABAABAB"  # A, A, B, ... until A runs out


def test_threshold_calls_the_category_first_once_it_has_waited_too_long(run):
    call = {"rule": "threshold", "category": "B", "after_min": 10}
    scenario = hall([{"id": "W", "serves": ["*"], "call": call}])
    tickets = [("08:00", "A", 12, INF), ("08:01", "A", 5, INF), ("08:05", "B", 5, INF)]
    out, _, _ = run(scenario, tickets)  # at 08:12 B has waited 7 minutes: FCFS
    assert list(out.start) == [clock("08:00"), clock("08:12"), clock("08:17")]
    tickets[0] = ("08:00", "A", 20, INF)  # at 08:20 B has waited 15 minutes: B first
    out, _, _ = run(scenario, tickets)
    assert list(out.start) == [clock("08:00"), clock("08:25"), clock("08:20")]


def test_an_absent_holder_costs_the_window_its_recalls_then_is_dropped(run):
    no_show = {"probability": 0.5, "recall_min": 1, "recalls": 2, "then": "drop"}
    scenario = hall([{"id": "W", "serves": ["*"]}], no_show=no_show)
    out, names, outcomes = run(scenario, [("08:00", "A", 5, INF, "absent"), ("08:01", "B", 5, INF)])
    assert outcomes == ["no_show", "served"]
    assert out.called[0] == clock("08:00") and np.isnan(out.start[0])
    assert out.end[0] == clock("08:03")  # the call and two recalls, a minute each
    assert list(out.recall_post) == [0, -1]
    assert out.start[1] == clock("08:03")


def test_a_requeued_ticket_goes_to_the_back_of_its_queue_and_keeps_its_first_call(run):
    no_show = {"probability": 0.5, "recall_min": 1, "recalls": 2, "then": "requeue"}
    scenario = hall([{"id": "W", "serves": ["*"]}], no_show=no_show)
    out, _, outcomes = run(
        scenario,
        [("08:00", "A", 5, INF, "absent"), ("08:01", "B", 5, INF), ("08:02", "A", 5, INF)],
    )
    assert outcomes == ["served"] * 3
    assert list(out.start) == [clock("08:13"), clock("08:03"), clock("08:08")]
    assert out.called[0] == clock("08:00")  # when it was first called


def test_a_requeued_holder_may_still_run_out_of_patience(run):
    no_show = {"probability": 0.5, "recall_min": 1, "recalls": 0, "then": "requeue"}
    scenario = hall([{"id": "W", "serves": ["*"]}], no_show=no_show)
    out, _, outcomes = run(scenario, [("08:00", "B", 4, INF), ("08:00", "A", 5, 3, "absent")])
    # B is called first (lower number); A at 08:04 is past its patience (08:03): it left
    assert outcomes == ["served", "abandoned"]
    out, _, outcomes = run(scenario, [("08:00", "A", 5, 1, "absent"), ("08:00.5", "B", 4, INF)])
    # A is called at once; it is back in the queue at 08:01, the instant its patience ends
    assert outcomes == ["abandoned", "served"] and out.end[0] == clock("08:01")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("issued", [clock("07:59")], "issued\\[0\\]"),
        ("category", [5], "category\\[0\\]"),
        ("service", [-1.0], "service\\[0\\]"),
        ("patience", [np.nan], "patience\\[0\\]"),
    ],
)
def test_hand_built_inputs_are_checked_before_the_kernel(field, value, message):
    scenario = hall([{"id": "W", "serves": ["*"]}])
    good = {
        "issued": np.array([clock("09:00")]),
        "category": np.array([0]),
        "service": np.array([1.0]),
        "patience": np.array([INF]),
        "day_ptr": np.array([0, 1]),
    }
    good[field] = np.array(value, dtype=good[field].dtype)
    with pytest.raises(ValueError, match=message):
        fast.run(compile_scenario(scenario), TicketInputs(**good))


@pytest.mark.parametrize(
    "scenario_file",
    [
        "panjin.toml",
        "panjin-operations.toml",
        "hall8-comprehensive.toml",
        "hall8-dedicated.toml",
        "mmc.toml",
    ],
)
@pytest.mark.parametrize("grid", [False, True], ids=["continuous", "one-minute grid"])
def test_every_kernel_gives_the_result_of_the_full_rules(scenario_file, grid):
    """The specialised FCFS kernel and the short paths of the event loop are optimisations:
    on the same inputs they must give exactly what the full steps give at every instant."""
    from pathlib import Path

    from hallsim.engines.inputs import draw_inputs

    scenario = hs.load_scenario(Path(__file__).parents[1] / "scenarios" / scenario_file)
    compiled = compile_scenario(scenario)
    inputs = draw_inputs(compiled, np.random.default_rng(5))
    if grid:
        inputs = on_minute_grid(inputs)
    full = fast.run(compiled, inputs, kernel="full-steps")
    for kernel in ("general", "auto"):
        other = fast.run(compiled, inputs, kernel=kernel)
        for name in OUTPUT_FIELDS:
            np.testing.assert_array_equal(
                getattr(other, name), getattr(full, name), err_msg=f"{kernel}: {name}"
            )


def test_the_fcfs_kernel_is_taken_exactly_when_its_conditions_hold():
    from pathlib import Path

    folder = Path(__file__).parents[1] / "scenarios"
    eligible = {
        name: compile_scenario(hs.load_scenario(folder / name)).fcfs_groups
        for name in ("panjin.toml", "hall8-comprehensive.toml", "hall8-dedicated.toml")
    }
    assert eligible == {
        "panjin.toml": False,  # patience, and spans with a lunch break
        "hall8-comprehensive.toml": True,
        "hall8-dedicated.toml": True,
    }
    two_groups = hall([{"id": "Z", "serves": ["*"]}, {"id": "S", "serves": ["A"]}])
    assert not compile_scenario(two_groups).fcfs_groups  # A is served by two groups
    ranked = hall([{"id": "Z", "serves": ["*"]}], priorities=(0, 1))
    assert not compile_scenario(ranked).fcfs_groups  # one group, two priorities


def test_the_call_rules_codes_follow_their_models():
    """Each call rule's code is its model's place in the union (the engines read codes, the
    scenario names rules): a rule added to one and not the other fails here."""
    from hallsim.call_rules import CALL_MODELS, CALL_RULES, rule_name

    assert [rule_name(model) for model in CALL_MODELS] == list(CALL_RULES)
