"""``hallsim plan``: a verified plan written as a scenario and tables; bad input exits 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import hallsim as hs
from hallsim.cli import main

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "mmc.toml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

SHIFTS = """\
windows = 6

[[shift]]
name = "day"
length_min = 480
earliest = "08:00"
latest = "08:00"
breaks = [{ length_min = 30, after_min = [180, 270] }]

[[shift]]
name = "half"
length_min = 240
earliest = "08:00"
latest = "12:00"
every_min = 30
cost_per_hour = 1.2
"""


def test_plan_writes_a_verified_plan(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        ["plan", str(MMC), "--target", "wait<=2@0.8", "--replications", "40", "--out", str(out)]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "requirements by exact" in printed
    assert "meets the target in every interval" in printed
    plan = hs.load_scenario(out / "plan.toml")
    required = pd.read_csv(out / "requirements.csv")
    staffed = pd.read_csv(out / "plan.csv")
    # the written hall opens exactly the (repaired) staff of each interval
    for row in staffed.itertuples():
        start, end = row.interval_start, row.interval_start + row.interval_min
        open_ = [w for w in plan.windows if any(a <= start and end <= b for a, b in plan.spans(w))]
        assert len(open_) == row.staff
    assert (staffed["staff"] >= required["staff"]).all()
    verification = pd.read_csv(out / "verification.csv")
    assert verification["met"].all()
    assert (out / "staffing.png").read_bytes().startswith(PNG_MAGIC)


def test_plan_with_shifts(tmp_path, capsys):
    shifts = tmp_path / "shifts.toml"
    shifts.write_text(SHIFTS, encoding="utf-8")
    out = tmp_path / "out"
    code = main(
        [
            "plan",
            str(MMC),
            "--target",
            "wait<=2@0.8",
            "--shifts",
            str(shifts),
            "--replications",
            "40",
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "shifts: cost" in printed
    table = pd.read_csv(out / "shifts.csv")
    coverage = pd.read_csv(out / "coverage.csv")
    assert set(table["shift_type"]) <= {"day", "half"}
    assert (coverage["staffed"] + coverage["shortfall"] >= coverage["required"]).all()
    assert (coverage["working"] <= 6).all()
    hs.load_scenario(out / "plan.toml")


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--target", "wait<=0@1"], "share must be in (0, 1)"),
        (["--target", "util<=1"], "cannot be met"),
        (["--target", "soon"], "expected one of"),
        (["--target", "wait<=5@0.8", "--method", "guess"], "method must be one of"),
        (["--target", "wait<=5@0.8", "--shifts", "missing.toml"], "missing.toml: file not found"),
    ],
)
def test_bad_plans_exit_2_with_a_message(arguments, message, capsys):
    assert main(["plan", str(MMC), *arguments]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "[[shift]]\nname = 'a'\nlength_min = 480\nearliest = '8am'\nlatest = '09:00'\n",
            "shift[0]: ",
        ),
        ("[[shift]]\nname = 'a'\nlength = 480\n", "shift[0]: unknown keys ['length']"),
        ("windows = 3\n", "needs at least one [[shift]]"),
        (
            "[[shift]]\nname = 'a'\nlength_min = 480\nearliest = '08:00'\nlatest = '08:00'\n"
            "breaks = [{ length_min = 30, after_min = 200 }]\n",
            "after_min must be [lo, hi]",
        ),
        ("[[shift]\n", "not valid TOML"),
    ],
)
def test_bad_shift_files_name_the_place(tmp_path, text, message, capsys):
    shifts = tmp_path / "shifts.toml"
    shifts.write_text(text, encoding="utf-8")
    code = main(["plan", str(MMC), "--target", "wait<=2@0.8", "--shifts", str(shifts)])
    err = capsys.readouterr().err
    assert code == 2
    assert str(shifts) in err and message in err


def test_the_real_command_exits_2_without_a_traceback():
    run = subprocess.run(
        [sys.executable, "-m", "hallsim.cli", "plan", str(MMC), "--target", "delay<=0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and "delay_probability must be in" in run.stderr


def test_saved_scenarios_read_back_unchanged(tmp_path):
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        scenario = hs.load_scenario(path)
        assert hs.load_scenario(hs.save_scenario(scenario, tmp_path / path.name)) == scenario


def test_shipped_shift_files_read():
    from hallsim.plan.shifts_file import read_shifts

    files = sorted((ROOT / "scenarios" / "shifts").glob("*.toml"))
    assert files
    for path in files:
        shift_types, _, options = read_shifts(path)
        assert shift_types and options.get("windows", 1) > 0


@pytest.mark.parametrize(
    "text, message",
    [
        (  # the hall closes at 16:00: a 4-hour shift starting by 09:00 cannot reach it
            "[[shift]]\nname = 'a'\nlength_min = 240\nearliest = '08:00'\nlatest = '09:00'\n",
            "no shift",
        ),
        (
            "[[shift]]\nname = 'a'\nlength_min = 480\nearliest = '08:00'\nlatest = '08:00'\n"
            "[[staff_type]]\nname = 'all'\nskills = ['*']\n"
            "[[staff_type]]\nname = 'tax'\nskills = ['tax']\n",
            "staff type 'tax'",
        ),
    ],
)
def test_plans_no_shift_or_staff_can_work_exit_2(tmp_path, text, message, capsys):
    shifts = tmp_path / "shifts.toml"
    shifts.write_text(text, encoding="utf-8")
    code = main(["plan", str(MMC), "--target", "wait<=2@0.8", "--shifts", str(shifts)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and "Traceback" not in err
