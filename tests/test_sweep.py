"""hs.sweep: every point of a grid is the base scenario with the values set, simulated with
the same seed; checked point by point against simulate() of the scenario built by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import hallsim as hs
from hallsim import ScenarioError

PANJIN = Path(__file__).resolve().parents[1] / "scenarios" / "panjin.toml"

pytestmark = pytest.mark.filterwarnings("ignore::hallsim.HallWarning")


@pytest.fixture(scope="module")
def base() -> hs.Scenario:
    scenario = hs.load_scenario(PANJIN)
    return scenario.model_copy(update={"hall": scenario.hall.model_copy(update={"days": 2})})


def _by_hand(base: hs.Scenario, windows: int, service: float) -> pd.DataFrame:
    data = base.model_dump(by_alias=True, exclude_none=True)
    data["windows"][0]["count"] = windows  # the group "Z"
    for category in data["categories"]:
        category["service"]["mean_min"] = service
    results = hs.simulate(hs.Scenario.model_validate(data), replications=3, seed=5, progress=False)
    return results.summary()


def test_every_point_is_the_scenario_built_by_hand(base):
    grid = {"windows[Z].count": [4, 6], "categories[*].service.mean_min": [8.0, 12.0]}
    table = hs.sweep(base, grid, replications=3, seed=5, progress=False)
    categories = [*base.category_ids, "overall"]
    assert len(table) == 4 * len(categories)
    assert list(table.columns[:3]) == [
        "windows[Z].count",
        "categories[*].service.mean_min",
        "category",
    ]
    for (windows, service), rows in table.groupby(list(grid), sort=False):
        expected = _by_hand(base, windows, service)
        mine = rows.set_index("category")[expected.columns]
        mine.index.name = "category"
        pd.testing.assert_frame_equal(mine, expected.set_axis(categories), check_names=False)
    # more windows, less waiting (common random numbers make it hold point by point)
    overall = table[table["category"] == "overall"].set_index(list(grid))["mean_wait"]
    assert overall[(6, 12.0)] < overall[(4, 12.0)] and overall[(6, 8.0)] < overall[(4, 8.0)]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("windows[X].count", "no windows entry with id 'X'"),
        ("windows[7].count", "windows has 2 entries"),
        ("hall.dayz", "no key 'dayz' at hall (keys there:"),
        ("hall.days.more", "no key 'more' at hall.days"),
        ("hall[0].days", "hall is not a list"),
        ("categories[business]", "must end on a key"),
        ("categories[*].patiance.mean_min", "no key 'patiance'"),
        ("windows[Z]..count", "cannot read ''"),
    ],
)
def test_a_path_that_does_not_exist_is_named_before_anything_runs(base, path, message):
    with pytest.raises(ValueError, match="sweep path") as caught:
        hs.sweep(base, {path: [1]}, replications=2, seed=1, progress=False)
    assert path in str(caught.value) and message in str(caught.value)


def test_a_point_that_does_not_validate_says_which(base):
    with pytest.raises(ScenarioError) as caught:
        hs.sweep(base, {"windows[Z].count": [2, 0]}, replications=2, seed=1, progress=False)
    assert str(caught.value).startswith(
        'sweep point windows[Z].count = 0: windows[0] (id="Z").count: must be > 0'
    )


def test_bad_grids_are_refused(base):
    with pytest.raises(ValueError, match="grid must map"):
        hs.sweep(base, {}, progress=False)
    with pytest.raises(ValueError, match="has no values"):
        hs.sweep(base, {"hall.days": []}, progress=False)
    with pytest.raises(TypeError, match="base must be"):
        hs.sweep("panjin.toml", {"hall.days": [1]}, progress=False)


def test_a_points_summary_is_its_results_summary_with_warnings_and_attributes(base):
    """A sweep builds each point's summary from the replications' statistics alone: the
    same table, attributes and warnings as the full results' summary, for a hall so short
    of windows that it warns (its replications in two batches, one per worker)."""
    from hallsim.runner import simulate_many

    data = base.model_dump(by_alias=True, exclude_none=True)
    data["windows"][0]["count"] = 2
    short = hs.Scenario.model_validate(data)
    with pytest.warns(hs.HallWarning) as full_warnings:
        expected = hs.simulate(short, replications=25, seed=8, progress=False).summary(0.9)
    with pytest.warns(hs.HallWarning) as point_warnings:
        ((index, summary),) = list(
            simulate_many([short], [8], replications=25, workers=2, progress=False, summary=0.9)
        )
    assert index == 0
    pd.testing.assert_frame_equal(summary, expected)
    assert summary.attrs == expected.attrs and summary.attrs["warnings"]
    assert [str(w.message) for w in point_warnings] == [str(w.message) for w in full_warnings]
    with pytest.raises(ValueError, match="confidence must be between 0 and 1"):
        list(simulate_many([short], [8], progress=False, summary=1.5))


def test_a_sweep_on_two_processes_is_the_sweep_on_one_in_one_pool(base, monkeypatch):
    """Local processes take the batches of every point from one pool (a pool a point cost
    more than the points), kept for the next run, and the table is the one of a single
    process."""
    from concurrent import futures

    from hallsim import runner

    grid = {"windows[*].count": [2, 3, 4], "windows[*].generalist_factor": [1.0, 1.2]}
    one = hs.sweep(base, grid, replications=6, seed=4, progress=False)
    pools = []
    original = futures.ProcessPoolExecutor

    def counted(*args, **kwargs):
        pools.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr("hallsim.runner.ProcessPoolExecutor", counted)
    runner._KeptPool.close()  # one kept from an earlier run
    two = hs.sweep(base, grid, replications=6, seed=4, progress=False, workers=2)
    assert len(pools) == 1
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    again = hs.sweep(base, grid, replications=6, seed=4, progress=False, workers=2)
    assert len(pools) == 1
    pd.testing.assert_frame_equal(one, again, check_exact=True)
