"""Window layout (hallsim.plan.layout): oracles first.

- two categories with equal exponential service: the comprehensive group's windows equal
  the Erlang C count computed here from ``hallsim.analytic``; at generalist_factor 1 the
  pooled group wins, at 1.6 the dedicated groups do, and over a grid of factors the choice
  follows the Erlang C counts (the crossover); the default factor is read from the
  scenario's comprehensive windows;
- every candidate of a four-category hall is priced as the Erlang C counts say, and the
  optimal cost equals enumeration of every set partition of the categories (with and
  without a window limit, with skill_cost, by windows and by staff-hours); a limit below
  the fewest windows raises a PlanError naming that count;
- Panjin: the department candidates against the "before" hall of 22 department windows
  (priced by hand with ``requirements``);
- ``to_scenario`` validates, simulates, and serves each category at exactly one entry;
- bad input raises a PlanError naming the offending value.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hallsim as hs
import hallsim.plan as hp
from hallsim.analytic import erlang_c, mmc_wait_tail
from hallsim.errors import PlanError
from hallsim.plan.layout import Layout, layout

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
TARGET = hp.Target(wait_min=5, share=0.8)


def hall(categories: list[dict], windows: list[dict], **extra) -> hs.Scenario:
    """A morning hall (08:00-12:00, hourly intervals, one day)."""
    return hs.Scenario.model_validate(
        {
            "hall": {"open": "08:00", "close": "12:00", "interval_min": 60},
            "categories": categories,
            "windows": windows,
            **extra,
        }
    )


def category(cid: str, rates, mean: float, **extra) -> dict:
    arrivals = {"rate_per_hour": rates} if np.isscalar(rates) else {"rates_per_hour": rates}
    return {
        "id": cid,
        "arrivals": arrivals,
        "service": {"dist": "exponential", "mean_min": mean},
        **extra,
    }


def erlang_c_staff(rate_per_hour: float, mean_min: float, target: hp.Target) -> int:
    """Smallest c whose stationary M/M/c meets ``P(W <= wait_min) >= share``."""
    if rate_per_hour <= 0:
        return 0
    lam = rate_per_hour / 60.0
    c = math.floor(lam * mean_min) + 1
    while 1.0 - mmc_wait_tail(lam, mean_min, c, target.wait_min) < target.share:
        c += 1
    assert erlang_c(c, lam * mean_min) < 1.0
    return c


# ------------------------------------------------------------------ two categories: pooling


def two_categories(**window) -> hs.Scenario:
    windows = [{"id": "A", "count": 8, "serves": ["A"]}, {"id": "B", "count": 8, "serves": ["B"]}]
    if window:
        windows = [{"id": "Z", "count": 16, "serves": ["*"], **window}]
    return hall(
        [
            category("A", 30.0, 10.0, department="dA"),
            category("B", 30.0, 10.0, department="dB"),
        ],
        windows,
    )


def test_pooling_equals_erlang_c_and_wins_at_factor_one():
    result = layout(two_categories(), TARGET, generalist_factor=1.0, windows=40)
    pooled = erlang_c_staff(60.0, 10.0, TARGET)
    dedicated = erlang_c_staff(30.0, 10.0, TARGET)
    print(f"pooled {pooled} windows, dedicated 2 x {dedicated}")
    assert pooled < 2 * dedicated  # the economy of scale the test is about
    assert list(result.windows["group"]) == ["comprehensive"]
    assert int(result.windows["windows"].iloc[0]) == pooled
    rows = result.candidates.set_index("group")
    assert rows.loc["dA", "windows"] == rows.loc["dB", "windows"] == dedicated
    assert rows.loc["comprehensive", "staff_hours"] == pooled * 4  # four hours, flat demand
    assert result.optimal and result.status == "Optimal" and result.gap == pytest.approx(0.0)
    assert result.cost == pooled
    # the current hall (dedicated windows) priced the same way
    assert result.comparison.loc["current", "windows"] == 2 * dedicated
    assert result.comparison.loc["chosen", "windows"] == pooled
    assert "comprehensive" in repr(result)


def test_dedicated_wins_at_a_large_generalist_factor():
    result = layout(two_categories(), TARGET, generalist_factor=1.6, windows=40)
    pooled = erlang_c_staff(60.0, 16.0, TARGET)
    dedicated = erlang_c_staff(30.0, 10.0, TARGET)
    assert pooled > 2 * dedicated
    assert sorted(result.windows["group"]) == ["dA", "dB"]
    assert result.cost == 2 * dedicated
    comprehensive = result.candidates.set_index("group").loc["comprehensive"]
    assert comprehensive["windows"] == pooled
    assert comprehensive["generalist_factor"] == 1.6
    assert not comprehensive["chosen"]


def test_default_factor_comes_from_the_comprehensive_windows():
    slow = layout(two_categories(generalist_factor=1.6), TARGET, windows=40)
    assert sorted(slow.windows["group"]) == ["dA", "dB"]
    assert slow.candidates.set_index("group").loc["comprehensive", "generalist_factor"] == 1.6
    assert slow.comparison.loc["current", "windows"] == erlang_c_staff(60.0, 16.0, TARGET)
    # a hall without comprehensive windows: generalists are as fast as specialists
    fast = layout(two_categories(), TARGET, windows=40)
    assert list(fast.windows["group"]) == ["comprehensive"]


def test_crossover_follows_erlang_c():
    """Over a grid of factors, pooling wins exactly while its Erlang C count is below the
    dedicated windows (a small skill_cost breaks ties towards dedicated windows)."""
    dedicated = 2 * erlang_c_staff(30.0, 10.0, TARGET)
    choices = {}
    for factor in np.round(np.arange(1.0, 1.61, 0.05), 2):
        result = layout(
            two_categories(),
            TARGET,
            generalist_factor=float(factor),
            skill_cost=0.01,
            windows=40,
        )
        pooled_wins = list(result.windows["group"]) == ["comprehensive"]
        assert pooled_wins == (erlang_c_staff(60.0, 10.0 * factor, TARGET) < dedicated), factor
        choices[float(factor)] = pooled_wins
    print("pooled wins:", choices)
    assert choices[1.0] and not choices[1.6]
    wins = list(choices.values())
    crossover = wins.index(False)
    assert not any(wins[crossover:])  # once dedicated windows win, they keep winning
    assert 1.0 < list(choices)[crossover] <= 1.6


# ------------------------------------------------------------------ brute force


FOUR = [
    category("A", [20.0, 40.0, 30.0, 10.0], 6.0, department="front"),
    category("B", [15.0, 25.0, 35.0, 20.0], 8.0, department="front"),
    category("C", [10.0, 12.0, 8.0, 6.0], 15.0, department="tax"),
    category("D", [6.0, 9.0, 12.0, 3.0], 10.0),
]
FACTOR = 1.15


@pytest.fixture(scope="module")
def four() -> hs.Scenario:
    return hall(FOUR, [{"id": "Z", "count": 30, "serves": ["*"], "generalist_factor": FACTOR}])


def partitions(items: list[str]):
    """Every set partition of ``items`` (Bell(4) = 15 for four)."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for partition in partitions(rest):
        yield [[first], *partition]
        for k in range(len(partition)):
            yield [*partition[:k], [first, *partition[k]], *partition[k + 1 :]]


def test_partitions_enumeration():
    found = list(partitions(list("ABCD")))
    assert len(found) == 15
    assert len({frozenset(frozenset(block) for block in p) for p in found}) == 15


def test_candidates_priced_as_erlang_c(four):
    """Every subset's windows and staff-hours from the pooled M/M/c, computed here."""
    result = layout(four, TARGET, "all", windows=100)
    assert len(result.candidates) == 15
    spec = {c["id"]: c for c in FOUR}
    for row in result.candidates.itertuples():
        ids = row.categories.split(",")
        departments = {spec[c].get("department", c) for c in ids}
        factor = FACTOR if len(departments) > 1 else 1.0
        staff = []
        for k in range(4):
            rates = [spec[c]["arrivals"]["rates_per_hour"][k] for c in ids]
            means = [spec[c]["service"]["mean_min"] * factor for c in ids]
            mean = float(np.average(means, weights=rates))
            staff.append(erlang_c_staff(sum(rates), mean, TARGET))
        assert row.group == "+".join(ids)
        assert row.windows == max(staff), row.group
        assert row.staff_hours == pytest.approx(sum(staff)), row.group
        assert row.generalist_factor == factor, row.group


def brute_force(candidates: pd.DataFrame, price, limit: int | None) -> tuple[float, list]:
    by_set = {frozenset(row.categories.split(",")): row for row in candidates.itertuples()}
    best, best_partition = math.inf, None
    for partition in partitions(list("ABCD")):
        rows = [by_set[frozenset(block)] for block in partition]
        if limit is not None and sum(r.windows for r in rows) > limit:
            continue
        total = sum(price(r) for r in rows)
        if total < best - 1e-9:
            best, best_partition = total, partition
    return best, best_partition


@pytest.mark.parametrize(
    ("cost", "skill_cost", "limit"),
    [
        ("windows", 0.0, None),
        ("windows", 0.5, None),
        ("staff_hours", 0.0, None),
        ("staff_hours", 1.0, "binding"),
        ("staff_hours", 2.0, "binding"),
        ("windows", 0.3, "binding"),
    ],
)
def test_optimum_equals_enumeration(four, cost, skill_cost, limit):
    free = layout(four, TARGET, "all", cost=cost, skill_cost=skill_cost, windows=100)
    candidates = free.candidates

    def price(row) -> float:
        base = row.windows if cost == "windows" else row.staff_hours
        return base + skill_cost * row.windows * (len(row.categories.split(",")) - 1)

    for row in candidates.itertuples():
        assert row.cost == pytest.approx(price(row))
    windows_limit = None
    if limit == "binding":  # one window fewer than the unconstrained optimum uses, if it fits
        fewest, _ = brute_force(candidates, lambda r: r.windows, None)
        windows_limit = int(free.windows["windows"].sum()) - 1
        assert windows_limit >= fewest  # the instance is chosen so that the limit binds
    best, partition = brute_force(candidates, price, windows_limit)
    result = (
        free
        if windows_limit is None
        else layout(four, TARGET, "all", cost=cost, skill_cost=skill_cost, windows=windows_limit)
    )
    print(cost, skill_cost, windows_limit, "->", partition, best, list(result.windows["group"]))
    assert result.cost == pytest.approx(best)
    assert result.cost == pytest.approx(result.windows["cost"].sum())
    served = sorted(c for ids in result.windows["categories"] for c in ids.split(","))
    assert served == list("ABCD")  # a partition
    if windows_limit is not None:
        assert result.windows["windows"].sum() <= windows_limit
        assert result.cost > free.cost - 1e-9


def test_limit_below_the_fewest_windows(four):
    free = layout(four, TARGET, "all", windows=100)
    fewest, _ = brute_force(free.candidates, lambda r: r.windows, None)
    assert free.cost == fewest  # cost="windows": the optimum is the fewest windows
    with pytest.raises(PlanError, match=rf"windows={fewest - 1}\b.*needs at least {fewest} "):
        layout(four, TARGET, "all", windows=fewest - 1)


def test_no_exact_cover(four):
    with pytest.raises(PlanError, match="exactly once"):
        layout(four, TARGET, [["A", "B"], ["B", "C"], ["D"]], windows=100)


def test_list_and_dict_candidates(four):
    listed = layout(four, TARGET, [["A", "B"], ["C"], ["D"], ["C", "D"]], windows=100)
    assert set(listed.candidates["group"]) == {"A+B", "C", "D", "C+D"}
    named = layout(four, TARGET, {"front": ["front"], "rest": ["C", "D"]}, windows=100)
    assert list(named.windows["group"]) == ["front", "rest"]
    rows = named.candidates.set_index("group")
    assert rows.loc["front", "categories"] == "A,B"
    assert rows.loc["front", "generalist_factor"] == 1.0  # one department: specialists
    assert rows.loc["rest", "generalist_factor"] == FACTOR
    assert rows.loc["rest", "departments"] == "tax,D"
    # per-category factors
    table = layout(four, TARGET, [["A", "B", "C", "D"]], generalist_factor={"C": 1.3})
    factor = table.windows["generalist_factor"].iloc[0]
    assert factor == {"A": 1.0, "B": 1.0, "C": 1.3, "D": 1.0}


# ------------------------------------------------------------------ Panjin


PANJIN_TARGET = hp.Target(wait_min=15, share=0.8)
BEFORE = {  # the "before" hall: 22 department windows
    "market_regulation": 5,
    "natural_resources": 4,
    "human_resources": 4,
    "housing_fund": 3,
    "tax": 3,
    "guidance": 3,
}


@pytest.fixture(scope="module")
def before() -> hs.Scenario:
    data = tomllib.loads((SCENARIOS / "panjin.toml").read_text(encoding="utf-8"))
    data["windows"] = [
        {"id": department, "count": count, "serves": [department]}
        for department, count in BEFORE.items()
    ]
    return hs.Scenario.model_validate(data)


@pytest.fixture(scope="module")
def panjin_layout(before) -> Layout:
    return layout(before, PANJIN_TARGET, "departments", generalist_factor=1.1)


def test_panjin_against_department_windows(before, panjin_layout):
    result = panjin_layout
    print(result)
    print(result.comparison.to_string())
    assert len(before.window_names) == 22
    assert len(result.candidates) == 7  # six departments and the comprehensive group
    dedicated = result.comparison.loc["current"]
    chosen = result.comparison.loc["chosen"]
    assert chosen["windows"] <= dedicated["windows"] <= 22
    assert dedicated["groups"] == 6
    # the department windows priced by hand: requirements per department
    by_hand = hp.requirements(hp.demand_table(before), PANJIN_TARGET, method="erlang_a")
    hand = by_hand.assign(hours=by_hand["staff"] * by_hand["interval_min"] / 60).groupby(
        "categories"
    )
    rows = result.candidates.set_index("categories")
    for categories, part in hand:
        assert rows.loc[categories, "windows"] == part["staff"].max(), categories
        assert rows.loc[categories, "staff_hours"] == pytest.approx(part["hours"].sum())
        assert rows.loc[categories, "generalist_factor"] == 1.0
    assert dedicated["windows"] == sum(part["staff"].max() for _, part in hand)
    comprehensive = rows.loc[",".join(before.category_ids)]
    assert comprehensive["group"] == "comprehensive"
    assert comprehensive["generalist_factor"] == 1.1
    assert result.requirements["group"].isin(result.windows["group"]).all()
    assert set(result.requirements["method"]) == {"erlang_a"}


def test_panjin_default_factor_from_comprehensive_windows():
    panjin = hs.load_scenario(SCENARIOS / "panjin.toml")
    result = layout(panjin, PANJIN_TARGET, windows=30)
    rows = result.candidates.set_index("group")
    assert rows.loc["comprehensive", "generalist_factor"] == pytest.approx(1.1)
    # the hall's comprehensive layout is the comprehensive candidate
    assert result.comparison.loc["current", "windows"] == rows.loc["comprehensive", "windows"]
    fewest = int(result.windows["windows"].sum())
    if fewest > 8:  # the eight windows of the hall are too few for this target
        with pytest.raises(PlanError, match=f"windows=8.*{fewest} windows"):
            layout(panjin, PANJIN_TARGET)


# ------------------------------------------------------------------ to_scenario


def served_once(scenario: hs.Scenario) -> None:
    for c, cid in enumerate(scenario.category_ids):
        entries = [w.id for w in scenario.windows if c in scenario.served_categories(w)]
        assert len(entries) == 1, (cid, entries)


def test_to_scenario_simulates(four):
    result = layout(four, TARGET, "all", cost="staff_hours", skill_cost=0.5, windows=100)
    scenario = result.to_scenario()
    served_once(scenario)
    assert [w.count for w in scenario.windows] == list(result.windows["windows"])
    for window, row in zip(scenario.windows, result.windows.itertuples(), strict=True):
        assert sorted(scenario.category_ids[c] for c in scenario.served_categories(window)) == (
            sorted(row.categories.split(","))
        )
        assert window.generalist_factor == row.generalist_factor
    assert hs.Scenario.model_validate(scenario.model_dump(by_alias=True)) == scenario
    runs = hs.simulate(scenario, replications=2, seed=1, progress=False)
    assert len(runs.tickets) > 0
    assert set(runs.tickets["category"].astype(str)) == set("ABCD")


def test_to_scenario_panjin(panjin_layout):
    scenario = panjin_layout.to_scenario()
    served_once(scenario)
    assert not scenario.staff and not scenario.reserve and not scenario.rotation
    assert len(scenario.window_names) == panjin_layout.windows["windows"].sum()
    if list(panjin_layout.windows["group"]) == ["comprehensive"]:
        assert scenario.windows[0].serves == ["*"]
        assert scenario.windows[0].generalist_factor == 1.1
    runs = hs.simulate(scenario, replications=2, seed=1, progress=False)
    assert len(runs.tickets) > 0


def test_to_scenario_drops_staff_and_rotation():
    data = tomllib.loads((SCENARIOS / "panjin-operations.toml").read_text(encoding="utf-8"))
    operations = hs.Scenario.model_validate(data)
    assert operations.staff and operations.reserve
    result = layout(operations, PANJIN_TARGET, windows=40)
    scenario = result.to_scenario()
    served_once(scenario)
    assert not scenario.staff and not scenario.reserve and not scenario.rotation
    assert len(scenario.window_names) == result.windows["windows"].sum()


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("kwargs", "shown"),
    [
        ({"candidates": []}, "[]"),
        ({"candidates": {}}, "{}"),
        ({"candidates": [["A", "Z"]]}, "'Z'"),
        ({"candidates": [["A", "B", "C"]]}, "['D']"),
        ({"candidates": [["A", "B"], ["B", "A"], ["C", "D"]]}, "'A+B'"),
        ({"candidates": [["A", "A"], ["B", "C", "D"]]}, "'A' twice"),
        ({"candidates": [[], ["A", "B", "C", "D"]]}, "[]"),
        ({"candidates": ["A", "B"]}, "'A'"),
        ({"candidates": "some"}, "'some'"),
        ({"candidates": 3}, "int"),
        ({"cost": "money"}, "'money'"),
        ({"skill_cost": -1}, "-1"),
        ({"skill_cost": math.nan}, "nan"),
        ({"method": "isa"}, "'isa'"),
        ({"method": "fastest"}, "'fastest'"),
        ({"method": None}, "None"),
        ({"generalist_factor": 0}, "0"),
        ({"generalist_factor": "fast"}, "'fast'"),
        ({"generalist_factor": {"Q": 1.2}}, "'Q'"),
        ({"generalist_factor": {"A": -1.0}}, "-1.0"),
        ({"windows": 0}, "0"),
        ({"windows": 2.5}, "2.5"),
        ({"time_limit_s": 0}, "0"),
        ({"interval_min": 0}, "0"),
    ],
)
def test_bad_input(four, kwargs, shown):
    with pytest.raises(PlanError) as error:
        layout(four, TARGET, **{"windows": 100, **kwargs})
    print(error.value)
    assert shown in str(error.value)


def test_bad_scenario_and_too_many_categories():
    with pytest.raises(PlanError, match="Scenario .got dict"):
        layout({"hall": {}}, TARGET)
    many = hall([category(f"K{k}", 5.0, 5.0) for k in range(13)], [{"id": "Z", "serves": ["*"]}])
    with pytest.raises(PlanError, match="13 categories.*pass a list"):
        layout(many, TARGET, "all")
