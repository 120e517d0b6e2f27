"""docs/results.md documents every column of every table of a real run, and no other."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

import hallsim as hs
from hallsim.results import METRICS

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "docs" / "results.md"
TABLES = (
    "tickets",
    "intervals",
    "windows",
    "staff",
    "reserve",
    "back_office",
    "replication_stats",
)


def _documented() -> dict[str, list[str]]:
    """Per section (``results.<table>``, ``Comparison.table``): the columns of its table."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in DOCUMENT.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"## `(?:results\.)?([\w.]+)(?:\(\))?`", line)
        if heading:
            current = heading.group(1)
            sections[current] = []
        elif line.startswith("## "):
            current = None
        row = re.match(r"\| `(\w+)` \|", line)
        if row and current is not None:
            sections[current].append(row.group(1))
    return sections


@pytest.fixture(scope="module")
def operations() -> hs.Results:
    """Panjin with staff, reserve, back offices, priority and appointments: every table and
    every optional column."""
    scenario = hs.load_scenario(ROOT / "scenarios" / "panjin-operations.toml")
    return hs.simulate(scenario, replications=2, seed=3, progress=False)


def test_every_table_is_documented_column_by_column(operations):
    documented = _documented()
    for name in TABLES:
        table = getattr(operations, name)
        assert len(table), f"{name}: the run should fill every table"
        columns = documented.get(name)
        assert columns is not None, f"docs/results.md has no section for results.{name}"
        assert len(set(columns)) == len(columns), f"{name}: a column documented twice"
        missing = [c for c in table.columns if c not in columns]
        extra = [c for c in columns if c not in table.columns]
        assert missing == [], f"results.{name}: columns not in docs/results.md: {missing}"
        assert extra == [], f"docs/results.md names columns results.{name} lacks: {extra}"


def test_the_summary_is_each_metric_with_its_interval(operations):
    metrics = [
        c for c in _documented()["replication_stats"] if c not in ("replication", "category")
    ]
    assert metrics == list(METRICS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hs.HallWarning)
        summary = operations.summary()
    assert summary.index.name == "category"
    assert list(summary.columns) == [f"{m}{s}" for m in metrics for s in ("", "_lo", "_hi")]
    assert "results.summary()" in DOCUMENT.read_text(encoding="utf-8")


def test_the_comparison_table_is_documented():
    scenario = hs.load_scenario(ROOT / "scenarios" / "mmc.toml")
    faster = scenario.model_copy(
        update={"windows": [scenario.windows[0].model_copy(update={"count": 4})]}
    )
    comparison = hs.compare(
        {"three": scenario, "four": faster}, replications=2, seed=1, progress=False
    )
    assert _documented()["Comparison.table"] == list(comparison.table.columns)
