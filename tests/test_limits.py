"""Reliability: the format's bounds, the size check before a run, and slots that stay in range.

The damaged values that once validated and then crashed, corrupted memory or exhausted the
machine (a service mean of 1e300 minutes, a billion bookings per slot, a priority of 10**30,
a cv of 1e200, ...) are each refused with a ScenarioError that names the field, the value and
the bound, from the API and from the command line (exit 2, no traceback); a valid hall too
large to simulate is refused before anything is allocated, saying how large it is.
"""

from __future__ import annotations

import copy
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from damage import OPERATIONS

import hallsim as hs
from hallsim import Scenario, ScenarioError, limits
from hallsim._kernels.aggregates import _slot_of
from hallsim.cli import main
from hallsim.compile import compile_scenario
from hallsim.scenario import save_scenario
from hallsim.size import check_size, parse_memory, run_size

ROOT = Path(__file__).resolve().parents[1]

# (where in the data, the damaged value, the error's location, the bound it must name)
A = 'categories[0] (id="A")'
B = 'categories[1] (id="B")'
BEYOND = [
    (("categories", 0, "service", "mean_min"), 1e300, f"{A}.service.mean_min", "<= 100000"),
    (("categories", 1, "service", "cv"), 1e200, f"{B}.service.cv", "<= 10"),
    (("categories", 1, "service", "cv"), 1e-300, f"{B}.service.cv", ">= 0.001"),
    (("categories", 1, "patience", "high_min"), 1e9, f"{B}.patience.high_min", "<= 100000"),
    (("categories", 2, "service", "samples_min", 1), 1e12, None, "<= 100000"),
    (("categories", 0, "appointments", "booked", 1), 10**9, None, "<= 1000000"),
    (("categories", 0, "appointments", "late_min"), 1e20, None, "<= 100000"),
    (("categories", 0, "priority"), 10**30, f"{A}.priority", "<= 1000000"),
    (("categories", 0, "priority_share", "priority"), -(10**30), None, ">= -1000000"),
    (("categories", 0, "arrivals", "rate_per_hour"), 1e7, None, "<= 1000000"),
    (("categories", 1, "arrivals", "weekday_factors", 0), 1e6, None, "<= 100"),
    (("categories", 1, "daily_cap"), 2**63, f"{B}.daily_cap", "<= 1000000"),
    (("windows", 0, "generalist_factor", "B"), 1e300, None, "<= 100"),
    (("windows", 0, "count"), 10**6, 'windows[0] (id="W1").count', "<= 10000"),
    (("staff", 0, "count"), 10**5, 'staff[0] (id="S").count', "<= 10000"),
    (("reserve", 0, "open_queue"), 10**12, None, "<= 1000000"),
    (("reserve", 0, "delay_min"), math.ldexp(1, 1000), None, "<= 100000"),
    (("reserve", 0, "staff"), 5000, None, "<= 1000"),
    (("back_office", 0, "service", "mean_min"), 1e10, None, "<= 100000"),
    (("back_office", 0, "staff"), 10**5, None, "<= 10000"),
    (("pickup", "windows"), 10**5, "pickup.windows", "<= 10000"),
    (("hall", "days"), 10**6, "hall.days", "<= 100000"),
    (("hall", "sla_wait_min"), 1e300, "hall.sla_wait_min", "<= 100000"),
]


def _damaged(path: tuple, value) -> dict:
    data = copy.deepcopy(OPERATIONS)
    data["categories"][0]["no_show"] = {"probability": 0.1}
    data["categories"][1]["daily_cap"] = 100
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return data


@pytest.mark.parametrize(("path", "value", "where", "bound"), BEYOND)
def test_a_value_beyond_its_bound_is_named_with_the_bound(path, value, where, bound):
    with pytest.raises(ScenarioError) as caught:
        Scenario.model_validate(_damaged(path, value))
    (line,) = str(caught.value).splitlines()
    last = f"[{path[-1]}]" if isinstance(path[-1], int) else path[-1]
    assert line.startswith(where or "") and f"{last}: must be {bound} (got " in line, line


@pytest.mark.parametrize(("path", "value", "where", "bound"), BEYOND[:4])
def test_the_command_line_refuses_them_with_exit_2(tmp_path, path, value, where, bound):
    data = _damaged(path, value)
    file = tmp_path / "hall.toml"
    file.write_text(tomli_w.dumps(data))  # the raw data: no Scenario to save
    done = subprocess.run(
        [sys.executable, "-m", "hallsim.cli", "run", str(file), "--replications", "1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    assert f"{file}: " in done.stderr and f"must be {bound}" in done.stderr


def test_the_bounds_are_in_the_schema_and_the_documentation():
    schema = Scenario.model_json_schema()
    text = str(schema)
    for bound in ("100,000", "1,000,000", "from 0.001 to 10", "at most 100", "at most 10,000"):
        assert bound in text
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert limits.limits_table() in readme
    assert main(["limits"]) == 0


def test_values_at_their_bounds_validate():
    data = _damaged(("categories", 0, "service", "mean_min"), limits.MAX_MINUTES)
    data["categories"][0]["priority"] = limits.MAX_PRIORITY
    data["categories"][1]["service"]["cv"] = limits.MAX_CV
    data["windows"][0]["generalist_factor"] = {"B": limits.MAX_FACTOR}
    Scenario.model_validate(data)


# --- the size check -------------------------------------------------------------------------


def _hall(**changes) -> Scenario:
    data = copy.deepcopy(OPERATIONS)
    for path, value in changes.items():
        node = data
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node[part]
        node[parts[-1]] = value
    return Scenario.model_validate(data)


def test_a_billion_bookings_a_day_are_refused_before_anything_is_allocated():
    # a million bookings in each of 1440 one-minute slots: valid, and 1.4e9 tickets a day
    scenario = _hall(
        **{
            "categories.0.appointments.slot_min": 1,
            "categories.0.appointments.booked": [limits.MAX_COUNT] * 240,
        }
    )
    with pytest.raises(ScenarioError) as caught:
        hs.simulate(scenario, replications=1, seed=1, progress=False)
    message = str(caught.value)
    assert message.startswith("run: too large to simulate: about 2.4e+08 tickets a day")
    assert "GiB" in message and "fewer appointments (appointments.booked)" in message


def test_max_memory_is_respected_and_named():
    scenario = _hall(**{"hall.days": 10_000})
    size = run_size(compile_scenario(scenario), replications=10)
    with pytest.raises(ScenarioError, match="is max_memory; try fewer days") as caught:
        hs.simulate(scenario, replications=10, seed=1, progress=False, max_memory="100 MiB")
    assert "100.0 MiB" in str(caught.value)
    assert size.bytes > 100 * 2**20
    # the same run fits in what its estimate asks for
    assert check_size(
        compile_scenario(scenario), replications=10, max_memory=size.bytes
    ).bytes == pytest.approx(size.bytes)


def test_keeping_no_tickets_shrinks_the_estimate():
    hall = compile_scenario(_hall(**{"hall.days": 1000}))
    kept = run_size(hall, replications=20).bytes
    aggregates = run_size(hall, replications=20, keep_tickets=False).bytes
    assert aggregates < kept


def test_the_command_line_refuses_a_run_too_large_with_exit_2(tmp_path, capsys):
    file = tmp_path / "long.toml"
    save_scenario(_hall(**{"hall.days": 50_000}), file)
    assert main(["run", str(file), "--max-memory", "64MiB"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{file}: run: too large to simulate") and "64.0 MiB" in err
    with pytest.raises(SystemExit) as caught:
        main(["run", str(file), "--max-memory", "lots"])
    assert caught.value.code == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4 GiB", 4 * 2**30), ("512MB", 512e6), ("2e9", 2e9), (1024, 1024.0), ("1.5kib", 1536.0)],
)
def test_sizes_are_read(text, expected):
    assert parse_memory(text) == expected


@pytest.mark.parametrize("text", ["lots", "4 GB extra", "-1", 0, math.nan, True, "1.2.3GB", None])
def test_bad_sizes_are_refused(text):
    with pytest.raises(ValueError, match="max_memory must be"):
        parse_memory(text)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc")
def test_the_estimate_bounds_the_memory_a_run_takes():
    """The growth of resident memory during a run of about 2 million tickets (a fresh process,
    after a small warm-up run, its peak reset) stays below the estimate, and the estimate is
    not three times larger (``benchmarks/bench_size.py`` checks more kinds of halls)."""
    code = """
import hallsim as hs
from hallsim.compile import compile_scenario
from hallsim.size import run_size
sc = hs.Scenario.model_validate({
    "hall": {"open": "08:00", "close": "18:00", "days": 4, "interval_min": 30},
    "categories": [{"id": "A", "arrivals": {"rate_per_hour": 50000},
                    "service": {"dist": "exponential", "mean_min": 1.0}}],
    "windows": [{"id": "W", "count": 900, "serves": ["*"]}]})
small = {"dist": "exponential", "mean_min": 1.0}
hs.simulate(hs.Scenario.model_validate({"hall": {"open": "08:00", "close": "09:00"},
    "categories": [{"id": "A", "arrivals": {"rate_per_hour": 5}, "service": small}],
    "windows": [{"id": "W", "serves": ["*"]}]}), replications=1, seed=0, progress=False)
def status(key):  # bytes
    return [int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith(key)][0]
open("/proc/self/clear_refs", "w").write("5")  # the peak so far (a compile, say) is forgotten
before = status("VmRSS:")
hs.simulate(sc, replications=1, seed=1, progress=False)
print(status("VmHWM:") - before, run_size(compile_scenario(sc)).bytes)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    used, estimate = map(float, done.stdout.split())
    assert used < estimate < 3 * used, (used, estimate)


# --- slots stay in range whatever the time ----------------------------------------------------


@pytest.mark.parametrize("minutes", [1e300, math.inf, math.nan, 2.0**70, -5.0, 0.0])
def test_any_time_falls_in_a_valid_slot(minutes):
    bounds = np.array([0.0, 30.0, 60.0, 90.0, 120.0, 150.0])  # 3 open slots, 2 after close
    slot = _slot_of(minutes, bounds, 3)
    assert 0 <= slot <= bounds.size - 2
    assert slot == (0 if minutes <= 0 else 4)  # NaN too: the last slot
