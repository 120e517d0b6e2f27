"""The registered benchmarks of ``benchmarks/suite.py``, as airspeed velocity (asv) sees them.

asv tracks values across commits (``asv run``, ``asv publish``): the methods below report the
figures of one run of the suite per benchmarked commit, made once by ``setup_cache``:

- ``Ratios.track_ratio(key)``: a speed figure's ratio to its reference timed in the same
  process (the figure the suite's baseline compares; higher is faster);
- ``Speeds.track_mtickets_per_s(key)``: the same figure in million tickets per second;
- ``Checks.track_check(key)``: an accuracy check's ``|estimate - exact| / half_width``; below 1
  the exact value lies in the confidence interval (an identical-output check: 0 or 1);
- ``Short.time_short(name)``: asv's own timing of one registered benchmark in short mode.

``key`` is ``"benchmark: figure"``, taken from the committed ``benchmarks/baseline.json`` (a
figure a commit does not produce is skipped). asv starts a process per benchmark and key, so a
quick run takes minutes even in short mode. The suite runs in full mode (a few minutes),
or in short mode when the environment variable ``HALLSIM_SUITE_SHORT`` is ``1``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent  # benchmarks/
SHORT = os.environ.get("HALLSIM_SUITE_SHORT") == "1"
MODE = "short" if SHORT else "full"


def _suite():
    """``benchmarks/suite.py``, imported by path (it puts its folder on ``sys.path``)."""
    if "suite" not in sys.modules:
        spec = importlib.util.spec_from_file_location("suite", HERE / "suite.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["suite"] = module
        spec.loader.exec_module(module)
    return sys.modules["suite"]


def _keys(kind: str, field: str | None = None) -> list[str]:
    """``"benchmark: name"`` of every figure or check of the baseline's section of the mode
    (with ``field``: those that have it)."""
    try:
        stored = json.loads((HERE / "baseline.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    benchmarks = stored.get(MODE, {}).get("benchmarks", {})
    return [
        f"{name}: {key}"
        for name, entry in benchmarks.items()
        for key, record in entry.get(kind, {}).items()
        if field is None or field in record
    ]


def _entry(results: dict, kind: str, key: str) -> dict:
    name, _, item = key.partition(": ")
    found = results["benchmarks"].get(name, {}).get(kind, {}).get(item)
    if found is None:
        raise NotImplementedError(f"{key!r} is not produced by this commit")
    return found


def _run_suite() -> dict:
    """One run of the suite, the ``setup_cache`` of the classes below: asv keys its cache by
    this function, so the run is shared. (Not named ``setup_cache`` at module level: asv would
    give it to ``Short`` too.)"""
    return _suite().run(short=SHORT, log=lambda line: None)


_run_suite.timeout = 3600


class Ratios:
    """Each speed figure's ratio to its reference timed in the same process."""

    params = _keys("figures")
    param_names = ["figure"]
    setup_cache = staticmethod(_run_suite)

    def setup(self, results: dict, key: str) -> None:
        _entry(results, "figures", key)  # asv skips what this commit does not produce

    def track_ratio(self, results: dict, key: str) -> float:
        return _entry(results, "figures", key)["ratio"]

    track_ratio.unit = "x reference"


class Speeds:
    """Each speed figure that counts tickets, in million tickets per second."""

    params = _keys("figures", "mtickets_per_s")
    param_names = ["figure"]
    setup_cache = staticmethod(_run_suite)

    def setup(self, results: dict, key: str) -> None:
        if "mtickets_per_s" not in _entry(results, "figures", key):
            raise NotImplementedError(f"{key!r} counts no tickets")

    def track_mtickets_per_s(self, results: dict, key: str) -> float:
        return _entry(results, "figures", key)["mtickets_per_s"]

    track_mtickets_per_s.unit = "M tickets/s"


class Checks:
    """Each accuracy check: ``|estimate - exact| / half_width`` (an identical-output check: 0
    when identical, 1 when not)."""

    params = _keys("checks")
    param_names = ["check"]
    setup_cache = staticmethod(_run_suite)

    def setup(self, results: dict, key: str) -> None:
        _entry(results, "checks", key)

    def track_check(self, results: dict, key: str) -> float:
        check = _entry(results, "checks", key)
        if "identical" in check:
            return 0.0 if check["identical"] is True else 1.0
        return abs(check["estimate"] - check["exact"]) / check["half_width"]

    track_check.unit = "|error| / CI half-width"


class Short:
    """asv's timing of each registered benchmark of the short mode, one call per sample."""

    params = [b.name for b in _suite().BENCHMARKS if b.short]
    param_names = ["benchmark"]
    number = 1
    repeat = 1
    rounds = 1
    warmup_time = 0
    timeout = 300

    def time_short(self, name: str) -> None:
        _suite().function(name)(True)
