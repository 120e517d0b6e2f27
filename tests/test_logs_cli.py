"""``hallsim fit`` and ``hallsim forecast``: from an export with Chinese headers to a fitted
hall and to forecast rates; bad input exits 2 without a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import hallsim as hs
from hallsim.cli import main
from hallsim.examples import EXPORT_COLUMNS, EXPORT_OUTCOMES, HOLIDAYS, hall_history

ROOT = Path(__file__).resolve().parents[1]


def _toml_table(name: str, mapping: dict) -> str:
    return f"[{name}]\n" + "".join(f'"{key}" = "{value}"\n' for key, value in mapping.items())


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """Six weeks of the Panjin hall's export (GB18030, Chinese headers), its mapping file and
    a calendar of its holidays."""
    folder = tmp_path_factory.mktemp("export")
    table = hall_history(hs.load_scenario(ROOT / "scenarios" / "panjin.toml"), days=42)
    table.to_csv(folder / "export.csv", index=False, encoding="gb18030")
    (folder / "map.toml").write_text(
        'encoding = "gb18030"\n\n'
        + _toml_table("columns", EXPORT_COLUMNS)
        + "\n"
        + _toml_table("outcomes", EXPORT_OUTCOMES),
        encoding="utf-8",
    )
    pd.DataFrame({"date": [d.date() for d in HOLIDAYS], "day_type": "holiday"}).to_csv(
        folder / "calendar.csv", index=False
    )
    return folder, len(table)


def test_fit_prints_the_rejects_and_writes_a_hall(export, capsys):
    folder, rows = export
    out = folder / "fitted.toml"
    code = main(
        ["fit", str(folder / "export.csv"), "--columns", str(folder / "map.toml"),
         "--calendar", str(folder / "calendar.csv"), "--out", str(out)]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "rows_read" in printed and str(rows) in printed
    for reason in ("unparsable time", "end before start", "duplicate ticket", "unknown outcome"):
        assert reason in printed
    fitted = hs.load_scenario(out)
    assert set(fitted.category_ids) == {
        c.id for c in hs.load_scenario(ROOT / "scenarios" / "panjin.toml").categories
    }


def test_forecast_writes_rates(export, capsys):
    folder, _ = export
    out = folder / "rates.csv"
    code = main(
        ["forecast", str(folder / "export.csv"), "--columns", str(folder / "map.toml"),
         "--calendar", str(folder / "calendar.csv"), "--days", "7", "--out", str(out)]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0 and "seasonal-naive" in printed
    rates = pd.read_csv(out)
    # from the day after the log's last (Friday 2026-01-09)
    assert set(rates["date"]) == {str(d.date()) for d in pd.date_range("2026-01-10", periods=7)}
    assert (rates["rate_lo"] <= rates["rate_per_hour"]).all()
    assert (rates["rate_per_hour"] <= rates["rate_hi"]).all()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["fit", "missing.csv"], "no such file"),
        (["fit", "{export}", "--columns", "{folder}/nothing.toml"], "mapping file"),
        (["fit", "{export}", "--columns", "{folder}/calendar.csv"], "mapping file"),
        (["fit", "{export}"], "ticket"),  # Chinese headers without the mapping
        (["forecast", "{export}", "--columns", "{folder}/map.toml"], "gaps"),  # holidays
        (["fit", "{export}", "--columns", "{folder}/map.toml", "--calendar", "{export}"],
         "calendar"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_without_a_traceback(export, arguments, message):
    folder, _ = export
    filled = [a.format(export=folder / "export.csv", folder=folder) for a in arguments]
    done = subprocess.run(
        [sys.executable, "-m", "hallsim.cli", *filled], capture_output=True, text=True, cwd=folder
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
