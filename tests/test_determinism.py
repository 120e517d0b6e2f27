"""Same seed, same tables: whatever the number of workers, and with or without the JIT."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hallsim as hs
from hallsim import runner
from hallsim.engines import inputs

SCENARIO = "scenarios/panjin.toml"
TABLES = ("tickets", "intervals", "windows", "staff", "reserve", "back_office", "replication_stats")


@pytest.fixture(scope="module")
def panjin() -> hs.Scenario:
    return hs.load_scenario(SCENARIO)


def assert_same_results(a: hs.Results, b: hs.Results) -> None:
    pd.testing.assert_frame_equal(a.tickets, b.tickets)
    pd.testing.assert_frame_equal(a.intervals, b.intervals)
    pd.testing.assert_frame_equal(a.windows, b.windows)
    pd.testing.assert_frame_equal(a.summary(), b.summary())


def test_same_seed_gives_identical_tables(panjin):
    assert_same_results(
        hs.simulate(panjin, replications=3, seed=11), hs.simulate(panjin, replications=3, seed=11)
    )


def test_other_seed_gives_other_tickets(panjin):
    a = hs.simulate(panjin, replications=1, seed=1).tickets
    b = hs.simulate(panjin, replications=1, seed=2).tickets
    assert len(a) != len(b) or not np.array_equal(a["issued"], b["issued"])


def test_workers_do_not_change_the_tables(panjin):
    one = hs.simulate(panjin, replications=5, seed=5, workers=1)
    two = hs.simulate(panjin, replications=5, seed=5, workers=2)
    assert_same_results(one, two)


def kept_pool() -> tuple:
    """The kept pool of worker processes and its processes (None and () when none)."""
    kept = runner._KeptPool.kept
    return (None, ()) if kept is None else (kept[1], tuple(kept[1]._processes.values()))


def test_workers_are_kept_for_the_next_run_then_leave(panjin, monkeypatch):
    """The next run with as many workers takes the same processes (the same tables); a
    run with other worker settings forks new ones; unused, they exit."""
    monkeypatch.setattr(runner, "KEEP_WORKERS_FOR", 1.0)
    runner._KeptPool.close()
    first = hs.simulate(panjin, replications=6, seed=5, workers=2)
    pool, processes = kept_pool()
    assert pool is not None and len(processes) == 2
    assert_same_results(first, hs.simulate(panjin, replications=6, seed=5, workers=2))
    assert kept_pool() == (pool, processes)
    monkeypatch.setattr(runner, "SHARED_ARRAY_BYTES", 0)  # forked with another setting
    assert_same_results(first, hs.simulate(panjin, replications=6, seed=5, workers=2))
    other, others = kept_pool()
    assert other is not pool and not any(p.is_alive() for p in processes)
    deadline = time.monotonic() + 30
    while runner._KeptPool.kept is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert runner._KeptPool.kept is None
    for process in others:
        process.join(timeout=10)
        assert not process.is_alive()


def test_a_worker_lost_between_runs_is_replaced(panjin):
    """A kept pool whose worker died (killed, out of memory) is not used again."""
    runner._KeptPool.close()
    first = hs.simulate(panjin, replications=6, seed=5, workers=2)
    pool, processes = kept_pool()
    os.kill(processes[0].pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not getattr(pool, "_broken", True) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert_same_results(first, hs.simulate(panjin, replications=6, seed=5, workers=2))
    assert kept_pool()[0] is not pool
    runner._KeptPool.close()


def test_a_run_beside_one_on_the_kept_pool_gets_the_kept_or_its_own():
    """While a run uses the kept pool, another run with as many workers shares it, one
    with other workers gets a pool of its own (the kept one is not shut down under a run);
    a run that failed on the kept pool drops it."""
    runner._KeptPool.close()
    with runner._kept_pool(2) as kept:
        with runner._kept_pool(3) as own:
            assert own is not kept
        with runner._kept_pool(2) as same:
            assert same is kept
    with pytest.raises(RuntimeError, match="after shutdown"):
        own.submit(abs, 1)
    assert runner._KeptPool.kept == ((2, runner._worker_settings()), kept)
    with pytest.raises(KeyboardInterrupt), runner._kept_pool(2) as pool:
        assert pool is kept
        raise KeyboardInterrupt
    assert runner._KeptPool.kept is None
    with pytest.raises(RuntimeError, match="after shutdown"):
        kept.submit(abs, 1)


def test_a_forked_process_keeps_no_pool(panjin):
    """A process forked from one that keeps a pool (a worker, a user's own) starts its own:
    the pool, its lock and its timer are the parent's."""
    if not hasattr(os, "fork"):
        pytest.skip("no fork")
    hs.simulate(panjin, replications=6, seed=5, workers=2)
    assert runner._KeptPool.kept is not None
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's exit status is the assertion
        os._exit(0 if runner._KeptPool.kept is None and runner._KeptPool.timer is None else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    runner._KeptPool.close()


def test_arrays_sent_through_shared_memory_change_nothing(panjin, monkeypatch):
    """Worker processes leave their results' large arrays as files in /dev/shm (every array,
    here), read back and removed: the tables of one process, and no file left behind."""
    shared = Path("/dev/shm")
    if not shared.is_dir():
        pytest.skip("no /dev/shm: arrays travel through the pool's pipe")
    monkeypatch.setattr(runner, "SHARED_ARRAY_BYTES", 0)
    sent, folders = [], []
    received, enter = runner._ArrayFolder.received, runner._ArrayFolder.__enter__

    def counting(self, value):
        sent.append(value)
        return received(self, value)

    def entered(self):
        folders.append(enter(self).path)
        return self

    monkeypatch.setattr(runner._ArrayFolder, "received", counting)
    monkeypatch.setattr(runner._ArrayFolder, "__enter__", entered)
    two = hs.simulate(panjin, replications=6, seed=5, workers=2)
    assert any(isinstance(v, runner._SharedArray) for part in sent for v in part.values())
    assert_same_results(hs.simulate(panjin, replications=6, seed=5), two)
    (folder,) = folders
    assert folder.startswith(str(shared)) and not Path(folder).exists()


@pytest.mark.parametrize(
    ("scenario", "workers"),
    [("panjin-operations.toml", 1), ("panjin-operations.toml", 2), ("mmc.toml", 1)],
)
def test_batches_do_not_change_the_tables(monkeypatch, scenario, workers):
    """Replications run in batches (``runner.BATCH_TICKETS``), drawn by numba or by numpy
    (``inputs.STREAM_BATCH``): a replication a batch, a few, or all in one give every table
    to the bit. The hall with every operation takes the general event loop, M/M/3 the
    FCFS kernel."""
    data = hs.load_scenario(f"scenarios/{scenario}").model_dump()
    data["hall"]["days"] = 2
    hall = hs.Scenario.model_validate(data)
    runs = []
    for batch_tickets, stream_batch in ((1, 10**9), (700, 1), (10**9, 1), (10**9, 10**9)):
        monkeypatch.setattr(runner, "BATCH_TICKETS", batch_tickets)
        monkeypatch.setattr(inputs, "STREAM_BATCH", stream_batch)
        runs.append(hs.simulate(hall, replications=7, seed=3, workers=workers, progress=False))
    first = runs[0]
    for other in runs[1:]:
        for name in TABLES:
            pd.testing.assert_frame_equal(
                getattr(first, name), getattr(other, name), check_exact=True
            )
        pd.testing.assert_frame_equal(first.summary(), other.summary(), check_exact=True)
        assert first.warnings == other.warnings


def test_simpy_batches_do_not_change_the_tables(monkeypatch):
    """The simpy engine runs a replication at a time, but batches of several give the same
    tables (their outputs joined as the fast engine's are)."""
    data = hs.load_scenario("scenarios/panjin-operations.toml").model_dump()
    data["hall"]["days"] = 2
    hall = hs.Scenario.model_validate(data)
    one = hs.simulate(hall, replications=4, seed=8, engine="simpy", progress=False)
    monkeypatch.setattr(runner, "_batch_size", lambda *args: 3)
    three = hs.simulate(hall, replications=4, seed=8, engine="simpy", progress=False)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(one, name), getattr(three, name), check_exact=True)


def test_replication_r_does_not_depend_on_how_many_run(panjin):
    few = hs.simulate(panjin, replications=2, seed=9).tickets
    many = hs.simulate(panjin, replications=4, seed=9).tickets
    pd.testing.assert_frame_equal(few, many[many["replication"] < 2])


def test_seed_none_is_recorded_and_repeatable(panjin):
    first = hs.simulate(panjin, replications=1)
    again = hs.simulate(panjin, replications=1, seed=first.seed)
    pd.testing.assert_frame_equal(first.tickets, again.tickets)


def test_keep_tickets_false_keeps_the_same_aggregates(panjin):
    full = hs.simulate(panjin, replications=3, seed=4)
    lean = hs.simulate(panjin, replications=3, seed=4, keep_tickets=False)
    assert lean.tickets is None
    pd.testing.assert_frame_equal(full.intervals, lean.intervals)
    pd.testing.assert_frame_equal(full.summary(), lean.summary())


def test_kernels_run_without_jit_and_agree(panjin, tmp_path):
    """The pure-Python execution of the kernels (NUMBA_DISABLE_JIT=1) gives the same tables."""
    small = hs.Scenario.model_validate(
        {**panjin.model_dump(), "hall": {**panjin.hall.model_dump(), "days": 1}}
    )
    path = tmp_path / "nojit.pkl"
    code = (
        "import pickle, sys, hallsim as hs\n"
        "sc = pickle.load(open(sys.argv[1], 'rb'))\n"
        "res = hs.simulate(sc, replications=2, seed=3, progress=False)\n"
        "pickle.dump((res.tickets, res.intervals, res.windows), open(sys.argv[1], 'wb'))\n"
    )
    path.write_bytes(pickle.dumps(small))
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, env=env, timeout=600)
    tickets, intervals, windows = pickle.loads(path.read_bytes())
    jitted = hs.simulate(small, replications=2, seed=3)
    pd.testing.assert_frame_equal(tickets, jitted.tickets)
    pd.testing.assert_frame_equal(intervals, jitted.intervals)
    pd.testing.assert_frame_equal(windows, jitted.windows)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("replications", 0),
        ("replications", 1.5),
        ("workers", -1),
        ("seed", -3),
        ("seed", "x"),
        ("engine", "simpy-ish"),
    ],
)
def test_bad_simulate_arguments_are_refused_with_the_value(panjin, option, value):
    with pytest.raises(ValueError, match=str(value)):
        hs.simulate(panjin, **{option: value})


def test_rules_are_checked_before_any_work(panjin):
    from hallsim.engines.reference import Rules, highest_priority_then_oldest

    with pytest.raises(TypeError, match="Rules"):
        hs.simulate(panjin, engine="simpy", rules=highest_priority_then_oldest)
    with pytest.raises(ValueError, match="engine='simpy' only"):
        hs.simulate(panjin, rules=Rules())
    with pytest.raises(ValueError, match="module level"):
        hs.simulate(panjin, engine="simpy", workers=2, rules=Rules(call_next=lambda d, w: 0))
