"""Kernels under numba's bounds checks: the property-test halls and a sample of damaged halls.

numba does not check array bounds: an index computed from an absurd time would write over
memory and the run would go on. With ``NUMBA_BOUNDSCHECK=1`` every index is checked and an
out-of-range one raises ``IndexError``. This test compiles the kernels that way once (in a
numba cache of its own, so the suite's cache keeps the fast kernels) and runs, in separate
processes, the engines' property test (random halls with every operation, both engines,
identical tickets) and a sample of the fuzz test of damaged scenarios
(``tests/fuzz_scenarios.py``: each damaged hall is refused with a ScenarioError or runs
cleanly, under a capped address space). The full fuzz run (10,000 damaged halls) is recorded
in ``benchmarks/README.md``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SAMPLE = 600  # damaged halls in the suite's sample

pytestmark = pytest.mark.skipif(
    os.environ.get("NUMBA_BOUNDSCHECK") == "1", reason="already under bounds checks"
)


def test_kernels_stay_in_bounds_on_property_and_damaged_halls(tmp_path):
    env = os.environ | {
        "NUMBA_BOUNDSCHECK": "1",
        "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache"),
        "TQDM_DISABLE": "1",
    }
    agree = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider"]
        + [str(TESTS / "test_engines_agree.py")],
        capture_output=True,
        text=True,
        env=env,
        cwd=TESTS.parent,
        timeout=1200,
    )
    assert agree.returncode == 0, agree.stdout[-4000:] + agree.stderr[-4000:]

    report_file = tmp_path / "fuzz.json"
    fuzz = subprocess.run(
        [sys.executable, str(TESTS / "fuzz_scenarios.py"), "--examples", str(SAMPLE)]
        + ["--report", str(report_file)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=1200,
    )
    current = report_file.with_name(report_file.name + ".current")
    assert fuzz.returncode in (0, 1), (
        f"the fuzz process died ({fuzz.returncode}) on:\n"
        + (current.read_text() if current.exists() else "?")
        + fuzz.stderr[-4000:]
    )
    report = json.loads(report_file.read_text())
    assert report["boundscheck"]
    assert report["examples"] == SAMPLE
    assert report["ran"] >= SAMPLE // 20  # enough damaged halls validate to be simulated
    assert report["escapes"] == 0, json.dumps(report["escaped"][:5], indent=1)
