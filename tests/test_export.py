"""Results.to_excel: every table a sheet, read back by pandas as the table it was."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import hallsim as hs
from hallsim import export

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="module")
def operations() -> hs.Results:
    """Panjin with staff, reserve windows and back offices: every table has rows."""
    scenario = hs.load_scenario(SCENARIOS / "panjin-operations.toml")
    return hs.simulate(scenario, replications=2, seed=11, progress=False)


def _as_written(table: pd.DataFrame) -> pd.DataFrame:
    """Categories as text, as a spreadsheet holds them."""
    return table.astype(
        {c: object for c in table.columns if isinstance(table[c].dtype, pd.CategoricalDtype)}
    )


def _assert_sheet_is_table(sheet: pd.DataFrame, table: pd.DataFrame) -> None:
    assert list(sheet.columns) == list(table.columns)
    assert len(sheet) == len(table)
    if len(table):
        pd.testing.assert_frame_equal(
            sheet.astype({c: object for c in sheet.columns if sheet[c].dtype == "str"}),
            _as_written(table),
            check_dtype=False,
            check_exact=False,
            rtol=1e-15,  # openpyxl writes 16 significant digits
            atol=0.0,
        )


def test_every_table_is_a_sheet_equal_to_it(operations, tmp_path):
    path = operations.to_excel(tmp_path / "panjin.xlsx")
    assert path == tmp_path / "panjin.xlsx"
    sheets = pd.read_excel(path, sheet_name=None)
    assert list(sheets) == ["summary", *export.TABLES, "run"]
    for name in export.TABLES:
        table = getattr(operations, name)
        assert len(table), name  # the hall fills every table
        _assert_sheet_is_table(sheets[name], table)
    summary = operations.summary().reset_index()
    _assert_sheet_is_table(sheets["summary"], summary)
    run = dict(zip(sheets["run"]["setting"], sheets["run"]["value"].astype(str), strict=False))
    assert run["seed"] == "11" and run["replications"] == "2"


def test_empty_tables_keep_their_columns_and_tickets_can_be_left_out(tmp_path):
    scenario = hs.load_scenario(SCENARIOS / "mmc.toml")
    results = hs.simulate(scenario, replications=2, seed=1, progress=False)
    path = results.to_excel(tmp_path / "mmc.xlsx", tickets=False)
    sheets = pd.read_excel(path, sheet_name=None)
    assert "tickets" not in sheets
    for name in ("staff", "reserve", "back_office"):
        assert len(getattr(results, name)) == 0
        _assert_sheet_is_table(sheets[name], getattr(results, name))
    _assert_sheet_is_table(sheets["intervals"], results.intervals)


def test_a_table_longer_than_a_sheet_is_refused(tmp_path, monkeypatch):
    scenario = hs.load_scenario(SCENARIOS / "mmc.toml")
    results = hs.simulate(scenario, replications=1, seed=1, progress=False)
    monkeypatch.setattr(export, "EXCEL_MAX_ROWS", 100)
    with pytest.raises(ValueError, match="tickets table has .* tickets=False"):
        results.to_excel(tmp_path / "big.xlsx")
    assert not (tmp_path / "big.xlsx").exists()
