"""Property: random damage to a valid scenario (the halls of ``damage.py`` and every shipped
scenario, damaged as that module describes) gives a Scenario or a ScenarioError, never
anything else, and every problem it reports is one non-empty line. The profile is registered
here and applied with a decorator, so it neither depends on nor changes the global hypothesis
settings.
"""

from __future__ import annotations

import copy

from damage import BASE, OPERATIONS, SHIPPED, damaged_scenarios
from hypothesis import HealthCheck, given, settings

from hallsim import Scenario, ScenarioError
from hallsim.compile import compile_scenario

settings.register_profile(
    "hallsim-scenario-property",
    derandomize=True,
    database=None,
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile("hallsim-scenario-property")


def _check_valid(scenario: Scenario) -> None:
    """What validation promises about a scenario it accepts."""
    hall = scenario.hall
    assert hall.open_minute < hall.close_minute
    assert hall.n_intervals >= 1
    served = set()
    for window in scenario.windows:
        assert window.count >= 1
        indices = scenario.served_categories(window)
        assert indices
        served.update(indices)
        spans = scenario.spans(window)
        for start, end in spans:
            assert hall.open_minute <= start < end <= hall.close_minute
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert end < start
        for index in indices:
            assert scenario.factor(window, index) > 0
    assert served == set(range(len(scenario.categories)))
    for category in scenario.categories:
        arrivals = category.arrivals
        length = arrivals.rate_interval_min or hall.interval_min
        rates = arrivals.rates_per_hour
        assert rates is None or len(rates) == -(-(hall.close_minute - hall.open_minute) // length)
        assert rates is not None or arrivals.rate_interval_min is None
        assert category.service.mean > 0
    # the calendar: some day open, every open day's hours within the hall's
    assert hall.open_days
    assert all(0 <= day < hall.days for day in hall.holidays)
    for day in hall.open_days:
        first, last = hall.day_hours(day)
        assert hall.open_minute <= first < last <= hall.close_minute
    compile_scenario(scenario)  # a valid scenario compiles


def _validate(data: dict) -> ScenarioError | None:
    """Validate ``data``; only a Scenario or a ScenarioError may come out."""
    try:
        scenario = Scenario.model_validate(data)
    except ScenarioError as error:
        return error
    assert isinstance(scenario, Scenario)
    _check_valid(scenario)
    return None


@PROFILE
@given(damaged_scenarios([BASE, OPERATIONS, *SHIPPED.values()]))
def test_malformed_data_gives_only_scenario_errors(data):
    error = _validate(data)
    if error is not None:
        assert isinstance(error, ValueError)
        assert error.issues
        assert str(error).strip()


@PROFILE
@given(damaged_scenarios([BASE, OPERATIONS, *SHIPPED.values()]))
def test_every_error_line_is_one_non_empty_line(data):
    error = _validate(data)
    if error is not None:
        lines = str(error).split("\n")
        assert all(line.strip() for line in lines), str(error)
        assert str(error).splitlines() == lines  # no other line breaks inside a line
        # every line says where the problem is (a location, then ": ") unless the whole
        # document is wrong
        for line in lines:
            assert ": " in line or line.startswith("must be a table"), line


def test_the_bases_are_valid():
    assert _validate(copy.deepcopy(BASE)) is None
    assert _validate(copy.deepcopy(OPERATIONS)) is None
