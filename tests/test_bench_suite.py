"""The benchmark suite (``benchmarks/suite.py``) in its short mode: the JSON it writes, its
comparison with a baseline, and its accuracy benchmarks failing a wrong engine.

Speed is not judged here (tests run beside each other on shared cores): the comparison is
checked on the run against itself and against baselines and results broken on purpose.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import hallsim as hs

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load(name: str, path: Path):
    """A module of ``benchmarks/`` by path (the suite puts its folder on ``sys.path``)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


suite = load("suite", BENCHMARKS / "suite.py")
accuracy = load("accuracy", BENCHMARKS / "accuracy.py")
figures = load("figures", BENCHMARKS / "figures.py")


@pytest.fixture(scope="module")
def results() -> dict:
    return suite.run(short=True, log=lambda line: None)


def judge(tmp_path: Path, results: dict, baseline: dict | None = None) -> int:
    """Exit status of ``suite.py --results FILE [--baseline FILE]``."""
    path = tmp_path / "results.json"
    suite.save(results, path)
    argv = ["--results", str(path)]
    if baseline is not None:
        stored = tmp_path / "baseline.json"
        suite.save({"schema": suite.SCHEMA, baseline["mode"]: baseline}, stored)
        argv += ["--baseline", str(stored)]
    return suite.main(argv)


def test_results_follow_the_schema(results):
    assert results["schema"] == suite.SCHEMA and results["mode"] == "short"
    assert {"python", "numpy", "numba", "cpu_count", "load_average", "git_commit"} <= set(
        results["machine"]
    )
    assert list(results["benchmarks"]) == [b.name for b in suite.BENCHMARKS if b.short]
    json.loads(json.dumps(results, allow_nan=False))  # strict JSON: no NaN
    for name, entry in results["benchmarks"].items():
        assert "error" not in entry, entry.get("error")
        assert set(entry) == {"seconds", "figures", "checks", "info"}
        assert entry["figures"] or entry["checks"], name
        for figure in entry["figures"].values():
            assert figure["seconds"] > 0 and figure["reference_seconds"] > 0
            assert figure["ratio"] == pytest.approx(figure["reference_seconds"] / figure["seconds"])
            assert isinstance(figure["reference"], str) and isinstance(figure["gate"], bool)
            if "tickets" in figure:
                assert figure["mtickets_per_s"] == pytest.approx(
                    figure["tickets"] / figure["seconds"] / 1e6
                )
        for check in entry["checks"].values():
            if "identical" not in check:
                assert set(check) == {
                    "estimate",
                    "exact",
                    "half_width",
                    "confidence",
                    "samples",
                    "inside",
                }
                assert check["half_width"] > 0 and check["samples"] >= 2
                assert check["inside"] == (
                    abs(check["estimate"] - check["exact"]) <= check["half_width"]
                )
    for name in ("erlang_c", "erlang_a", "exact_day"):
        assert len(results["benchmarks"][name]["checks"]) >= 3


def test_every_check_passes_and_the_run_passes_against_itself(results, tmp_path, capsys):
    failed = [
        (name, check)
        for name, entry in results["benchmarks"].items()
        for check, row in entry["checks"].items()
        if not figures.check_passes(row)
    ]
    assert failed == []
    assert judge(tmp_path, results) == 0
    assert judge(tmp_path, results, baseline=results) == 0
    assert "REGRESSED" not in capsys.readouterr().out


def test_a_baseline_three_times_faster_fails(results, tmp_path, capsys):
    better = copy.deepcopy(results)
    gated = 0
    for entry in better["benchmarks"].values():
        for figure in entry["figures"].values():
            figure["ratio"] *= 3
            gated += figure["gate"]
    assert judge(tmp_path, results, baseline=better) == 1
    out = capsys.readouterr().out
    assert out.count("REGRESSED") == gated > 10
    # within the tolerance it passes: the baseline 10 % faster
    slightly = copy.deepcopy(results)
    for entry in slightly["benchmarks"].values():
        for figure in entry["figures"].values():
            figure["ratio"] *= 1.1
    assert judge(tmp_path, results, baseline=slightly) == 0


@pytest.mark.parametrize("broken", ["estimate", "identical", "error"])
def test_a_broken_result_fails(results, tmp_path, capsys, broken):
    bad = copy.deepcopy(results)
    if broken == "estimate":  # outside its interval; the stored verdict still says inside
        check = bad["benchmarks"]["erlang_c"]["checks"]["P(wait > 0)"]
        check["estimate"] = check["exact"] + 1.5 * check["half_width"]
    elif broken == "identical":
        bad["benchmarks"]["engines"]["checks"]["(a) dedicated, fast = simpy"]["identical"] = False
    else:
        bad["benchmarks"]["plan"] = {"seconds": 1.0, "error": "Traceback\nValueError: boom"}
    assert judge(tmp_path, bad) == 1
    assert judge(tmp_path, bad, baseline=results) == 1
    verdict = {"estimate": "FAIL", "identical": "FAIL", "error": "ERROR"}[broken]
    assert verdict in capsys.readouterr().out


def test_a_faster_wrong_engine_fails_every_accuracy_benchmark(monkeypatch):
    """An engine that serves 10 % faster than the hall says: each accuracy benchmark has a
    check whose exact value falls outside the interval."""
    simulate = hs.simulate

    def wrong(scenario, **options):
        data = scenario.model_dump()
        for category in data["categories"]:
            category["service"]["mean_min"] *= 0.9
        return simulate(hs.Scenario.model_validate(data), **options)

    monkeypatch.setattr(hs, "simulate", wrong)
    for name, function in accuracy.BENCHMARKS.items():
        checks = function(True)["checks"]
        assert not all(figures.check_passes(row) for row in checks.values()), name


def test_the_committed_baseline_has_both_modes_of_every_registered_benchmark(results):
    stored = suite.load(BENCHMARKS / "baseline.json")
    for mode in ("short", "full"):
        section = stored[mode]
        assert section["mode"] == mode
        wanted = [b.name for b in suite.BENCHMARKS if b.short or mode == "full"]
        assert set(section["benchmarks"]) <= {b.name for b in suite.BENCHMARKS}
        assert [name for name in wanted if name not in section["benchmarks"]] == []
    # nothing the baseline tracks silently disappears from a run
    for name, entry in stored["short"]["benchmarks"].items():
        assert set(entry["figures"]) <= set(results["benchmarks"][name]["figures"]), name
        assert set(entry["checks"]) <= set(results["benchmarks"][name]["checks"]), name


def test_the_command_line_rejects_what_it_cannot_do(tmp_path, capsys):
    assert suite.main(["--list"]) == 0
    assert "exact_day" in capsys.readouterr().out
    with pytest.raises(SystemExit) as error:
        suite.main(["--only", "no_such_benchmark"])
    assert error.value.code == 2
    assert "no_such_benchmark" in capsys.readouterr().err
    with pytest.raises(ValueError, match="tolerance"):
        suite.compare({"mode": "short", "benchmarks": {}}, None, 1.5)
    with pytest.raises(ValueError, match="mode"):
        suite.compare({"mode": "short", "benchmarks": {}}, {"mode": "full"}, 0.5)


def test_the_accuracy_records_are_honest_intervals():
    """The interval of figures.accuracy is Student's t: on normal samples of known mean it
    covers the mean at about its confidence."""
    rng = np.random.default_rng(0)
    covered = [
        figures.accuracy(rng.normal(1.0, 2.0, 20), 1.0, confidence=0.9)["inside"]
        for _ in range(1500)
    ]
    assert abs(np.mean(covered) - 0.9) < 0.025  # 3.2 standard errors of 1500 draws
    row = figures.accuracy([10.0, 12.0, 14.0], 0.4, scale=30.0)
    assert row["estimate"] == pytest.approx(0.4) and row["inside"]
    assert math.isfinite(row["half_width"])


def test_the_asv_benchmarks_read_the_suite(results):
    asv = load("hallsim_asv_benchmarks", BENCHMARKS / "asv_bench" / "benchmarks.py")
    key = "hall8: (a) dedicated, (1) kernel"
    assert key in asv.Ratios.params and key in asv.Speeds.params
    assert "plan: requirements, exact chain" not in asv.Speeds.params  # counts no tickets
    figure = results["benchmarks"]["hall8"]["figures"]["(a) dedicated, (1) kernel"]
    assert asv.Ratios().track_ratio(results, key) == figure["ratio"]
    assert asv.Speeds().track_mtickets_per_s(results, key) == figure["mtickets_per_s"]
    assert 0 <= asv.Checks().track_check(results, "exact_day: abandonment share, the day") <= 1
    with pytest.raises(NotImplementedError):  # asv skips it
        asv.Ratios().setup(results, "hall8: no such figure")
    assert asv.Short.params == [b.name for b in suite.BENCHMARKS if b.short]
