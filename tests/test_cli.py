"""The ``hallsim`` command: validate, schema and run; bad input exits 2 without a traceback.

Most tests call :func:`hallsim.cli.main` in-process; a few run ``python -m hallsim.cli`` in a
subprocess to prove the real exit codes and streams.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hallsim.cli import main

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "mmc.toml"

TICKET_COLUMNS = [
    "replication",
    "ticket",
    "category",
    "day",
    "issued",
    "called",
    "start",
    "end",
    "window",
    "staff",
    "outcome",
]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

GOOD = """\
schema_version = 1
name = "cli hall"

[hall]
open = "08:00"
close = "12:00"
interval_min = 60

[[categories]]
id = "A"
department = "dept1"
arrivals = { rate_per_hour = 20 }
service = { dist = "exponential", mean_min = 2.0 }

[[categories]]
id = "B"
arrivals = { rates_per_hour = [5, 6, 7, 8] }
service = { dist = "gamma", mean_min = 4.0, cv = 0.5 }

[[windows]]
id = "W1"
count = 2
serves = ["dept1"]
open = [["08:00", "10:00"], ["10:30", "12:00"]]

[[windows]]
id = "W2"
count = 1
serves = ["*"]
"""

# (name, (old, new) replacement in GOOD or the whole text, location expected on stderr,
#  fragment expected in the same line)
BAD_FILES = [
    (
        "count",
        ('count = 1\nserves = ["*"]', 'count = -1\nserves = ["*"]'),
        'windows[1] (id="W2").count',
        "(got -1)",
    ),
    (
        "serves",
        ('serves = ["dept1"]', 'serves = ["dept1", "nosuch"]'),
        'windows[0] (id="W1").serves[1]',
        "(got 'nosuch')",
    ),
    (
        "rates-length",
        ("[5, 6, 7, 8]", "[5, 6, 7]"),
        'categories[1] (id="B").arrivals.rates_per_hour',
        "(got 3)",
    ),
    ("hours-reversed", ('close = "12:00"', 'close = "07:00"'), "hall", "'07:00'"),
    ("time-malformed", ('open = "08:00"', 'open = "8h"'), "hall.open", "(got '8h')"),
    (
        "span-overlap",
        ('["10:30", "12:00"]', '["09:30", "12:00"]'),
        'windows[0] (id="W1").open[1]',
        "(got ['09:30', '12:00'])",
    ),
    (
        "mean",
        ("mean_min = 2.0", "mean_min = 0"),
        'categories[0] (id="A").service.mean_min',
        "(got 0)",
    ),
    (
        "unknown-key",
        ("interval_min = 60", "interval_min = 60\nlunch = 1"),
        "hall.lunch",
        "unknown key",
    ),
    ("dist", ('"gamma"', '"normal"'), 'categories[1] (id="B").service', "'normal'"),
    ("syntax", ('name = "cli hall"', 'name = "cli hall'), "", "TOML"),
]


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")


def call(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run ``main(argv)`` in-process: exit code, stdout, stderr (argparse exits count too)."""
    try:
        code = main([str(arg) for arg in argv])
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def run_cli(*args: str | Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TQDM_DISABLE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "hallsim.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=ROOT,
    )


def write_bad(tmp_path: Path, name: str, change: tuple[str, str]) -> Path:
    old, new = change
    assert old in GOOD
    path = tmp_path / f"{name}.toml"
    path.write_text(GOOD.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.fixture
def good(tmp_path) -> Path:
    path = tmp_path / "good.toml"
    path.write_text(GOOD, encoding="utf-8")
    return path


def assert_located(err: str, path: Path, location: str, fragment: str) -> None:
    lines = err.strip().splitlines()
    assert lines, "nothing on stderr"
    for line in lines:
        assert line.startswith(f"{path}: "), line
    head = f"{path}: {location}: " if location else f"{path}: "
    matching = [line for line in lines if line.startswith(head) and fragment in line]
    assert matching, f"no line starting {head!r} containing {fragment!r} in:\n{err}"


# --- validate --------------------------------------------------------------------------------


def test_validate_good_file(good, capsys):
    code, out, err = call(["validate", good], capsys)
    assert code == 0
    assert out.startswith(f"{good}: ok")
    assert "2 categories" in out and "3 windows" in out
    assert err == ""


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.toml")), ids=lambda p: p.name)
def test_validate_shipped_scenarios(path, capsys):
    code, out, err = call(["validate", path], capsys)
    assert (code, err) == (0, "")
    assert ": ok" in out


@pytest.mark.parametrize(
    ("name", "change", "location", "fragment"), BAD_FILES, ids=[case[0] for case in BAD_FILES]
)
def test_validate_bad_file(tmp_path, capsys, name, change, location, fragment):
    path = write_bad(tmp_path, name, change)
    code, out, err = call(["validate", path], capsys)
    assert code == 2
    assert out == ""
    assert "Traceback" not in out + err
    assert_located(err, path, location, fragment)


def test_validate_missing_file(tmp_path, capsys):
    path = tmp_path / "missing.toml"
    code, out, err = call(["validate", path], capsys)
    assert code == 2
    assert out == ""
    assert err.strip() == f"{path}: file not found"


def test_validate_names_the_file_on_every_line(tmp_path, capsys):
    text = GOOD.replace("count = 2", "count = 0").replace("count = 1", "count = -1")
    path = tmp_path / "two.toml"
    path.write_text(text, encoding="utf-8")
    code, _, err = call(["validate", path], capsys)
    assert code == 2
    assert err.strip().splitlines() == [
        f'{path}: windows[0] (id="W1").count: must be > 0 (got 0)',
        f'{path}: windows[1] (id="W2").count: must be > 0 (got -1)',
    ]


def test_validate_several_problems_each_on_a_line(tmp_path, capsys):
    text = GOOD.replace("count = 2", "count = 0").replace("count = 1", "count = -1")
    path = tmp_path / "two.toml"
    path.write_text(text, encoding="utf-8")
    code, _, err = call(["validate", path], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2
    assert lines[0] == f'{path}: windows[0] (id="W1").count: must be > 0 (got 0)'
    assert lines[1].endswith('windows[1] (id="W2").count: must be > 0 (got -1)')


def test_validate_subprocess_good_and_bad(good, tmp_path):
    ok = run_cli("validate", good)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(f"{good}: ok")
    assert ok.stderr == ""

    bad = write_bad(tmp_path, "count", BAD_FILES[0][1])
    failed = run_cli("validate", bad)
    assert failed.returncode == 2
    assert failed.stdout == ""
    assert "Traceback" not in failed.stdout + failed.stderr
    assert failed.stderr.strip() == f'{bad}: windows[1] (id="W2").count: must be > 0 (got -1)'


# --- schema ----------------------------------------------------------------------------------


def test_schema_is_json_with_the_top_level_tables(capsys):
    code, out, err = call(["schema"], capsys)
    assert (code, err) == (0, "")
    schema = json.loads(out)
    assert {"hall", "categories", "windows"} <= set(schema["properties"])
    assert {"hall", "categories", "windows"} <= set(schema["required"])
    assert schema["properties"]["categories"]["type"] == "array"


# --- run -------------------------------------------------------------------------------------


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def test_run_writes_summary_tables_and_plot(tmp_path, capsys):
    out_dir = tmp_path / "out" / "nested"  # created by the command
    code, out, err = call(
        ["run", MMC, "--replications", "3", "--seed", "1", "--out", out_dir], capsys
    )
    assert code == 0, err
    assert "Traceback" not in out + err
    table = out.splitlines()
    assert any(line.split()[:1] == ["A"] for line in table), out  # the category's row
    assert any(line.split()[:1] == ["overall"] for line in table), out
    assert "3 replications" in out and "seed 1" in out

    for name in ("summary.csv", "intervals.csv", "windows.csv", "tickets.csv", "day.png"):
        assert (out_dir / name).is_file(), name
        assert (out_dir / name).stat().st_size > 0, name
    assert (out_dir / "day.png").read_bytes()[:8] == PNG_MAGIC

    columns, tickets = _rows(out_dir / "tickets.csv")
    assert columns == TICKET_COLUMNS
    assert tickets
    assert {row["replication"] for row in tickets} == {"0", "1", "2"}
    assert {row["category"] for row in tickets} == {"A"}
    assert {row["outcome"] for row in tickets} <= {
        "served",
        "abandoned",
        "balked",
        "no_show",
        "capped",
        "in_system",
    }

    _, summary = _rows(out_dir / "summary.csv")
    assert [row["category"] for row in summary] == ["A", "overall"]
    _, windows = _rows(out_dir / "windows.csv")
    assert {row["replication"] for row in windows} == {"0", "1", "2"}
    assert len(windows) == 3 * 3  # 3 replications x 3 windows


def test_run_no_tickets_writes_no_ticket_table(tmp_path, capsys):
    out_dir = tmp_path / "out"
    code, out, err = call(
        ["run", MMC, "--replications", "2", "--seed", "1", "--out", out_dir, "--no-tickets"], capsys
    )
    assert code == 0, err
    assert not (out_dir / "tickets.csv").exists()
    for name in ("summary.csv", "intervals.csv", "windows.csv", "day.png"):
        assert (out_dir / name).is_file(), name


def test_run_same_seed_prints_same_summary(capsys):
    args = ["run", MMC, "--replications", "3", "--seed", "7"]
    first = call(args, capsys)
    second = call(args, capsys)
    assert first[0] == second[0] == 0
    assert first[1] == second[1]
    assert "overall" in first[1]


def test_run_subprocess_writes_outputs(tmp_path):
    out_dir = tmp_path / "out"
    done = run_cli("run", MMC, "--replications", "3", "--seed", "1", "--out", out_dir)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "overall" in done.stdout
    assert (out_dir / "day.png").read_bytes()[:8] == PNG_MAGIC
    with (out_dir / "tickets.csv").open(encoding="utf-8") as handle:
        assert handle.readline().strip().split(",") == TICKET_COLUMNS


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (["--replications", "0"], "--replications"),
        (["--replications", "x"], "--replications"),
        (["--replications", "-3"], "--replications"),
        (["--seed", "-1"], "--seed"),
        (["--seed", "1.5"], "--seed"),
        (["--workers", "-1"], "--workers"),
        (["--frobnicate"], "--frobnicate"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_run_bad_options_exit_2(tmp_path, capsys, options, fragment):
    out_dir = tmp_path / "out"
    code, out, err = call(["run", MMC, *options, "--out", out_dir], capsys)
    assert code == 2
    assert fragment in err
    assert "Traceback" not in out + err
    assert not out_dir.exists()  # nothing was run


def test_run_missing_file_exits_2(tmp_path, capsys):
    path = tmp_path / "missing.toml"
    code, out, err = call(["run", path, "--replications", "1"], capsys)
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    assert err.strip() == f"{path}: file not found"


@pytest.mark.parametrize(
    ("name", "change", "location", "fragment"),
    BAD_FILES[:3],
    ids=[case[0] for case in BAD_FILES[:3]],
)
def test_run_bad_scenario_exits_2(tmp_path, capsys, name, change, location, fragment):
    path = write_bad(tmp_path, name, change)
    out_dir = tmp_path / "out"
    code, out, err = call(["run", path, "--replications", "1", "--out", out_dir], capsys)
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    assert_located(err, path, location, fragment)
    assert not out_dir.exists()


def test_run_out_is_a_file_exits_2(tmp_path, capsys):
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder", encoding="utf-8")
    code, out, err = call(["run", MMC, "--replications", "1", "--out", blocker], capsys)
    assert code == 2
    assert "Traceback" not in out + err
    assert str(blocker) in err


@pytest.mark.parametrize(
    "argv",
    [[], ["frobnicate"], ["validate"], ["run"]],
    ids=["nothing", "unknown-command", "validate-no-file", "run-no-file"],
)
def test_usage_errors_exit_2(capsys, argv):
    code, out, err = call(argv, capsys)
    assert code == 2
    assert "usage:" in err
    assert "Traceback" not in out + err


def test_bad_options_subprocess():
    done = run_cli("run", MMC, "--replications", "0")
    assert done.returncode == 2
    assert "--replications" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_run_on_a_hall_with_operations_writes_their_tables(tmp_path, capsys):
    operations = ROOT / "scenarios" / "panjin-operations.toml"
    code, out, err = call(["run", operations, "--replications", "2", "--out", tmp_path], capsys)
    assert code == 0, err
    for line in ("staff: 10 people", "reserve: ", "back office: "):
        assert line in out, out
    for name in ("staff.csv", "reserve.csv", "back_office.csv"):
        assert (tmp_path / name).stat().st_size > 0, name
    columns, tickets = _rows(tmp_path / "tickets.csv")
    assert columns[: len(TICKET_COLUMNS)] == TICKET_COLUMNS
    assert {row["staff"] for row in tickets} > {""}  # filled for served tickets


def test_version_is_printed(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"hallsim {hallsim_version()}"


def hallsim_version() -> str:
    import hallsim

    return hallsim.__version__


def test_help_gives_the_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "independent runs of the whole horizon (default: 10)" in text
    assert "processes; 0: one per CPU (default: 1)" in text
    assert "(default: None)" not in text and "(default: False)" not in text


def test_workers_zero_means_one_per_cpu_as_in_the_api(capsys):
    assert main(["run", str(MMC), "--replications", "2", "--seed", "1", "--workers", "0"]) == 0
    assert "M/M/3" in capsys.readouterr().out
    with pytest.raises(SystemExit) as caught:
        main(["run", str(MMC), "--workers", "-1"])
    assert caught.value.code == 2
    assert "0 for one per CPU (got '-1')" in capsys.readouterr().err
