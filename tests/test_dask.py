"""Replications on a Dask cluster (``client=``): the same tables as one process, whatever the
cluster (threads, processes, a scheduler and workers started from the command line), also
when a worker dies in the middle of a run; and the errors that say what is wrong."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import cloudpickle
import pandas as pd
import pytest
from distributed import Client, LocalCluster, WorkerPlugin
from tqdm.auto import tqdm

import hallsim as hs
from hallsim import _cluster, runner
from hallsim.cli import main
from hallsim.compile import compile_scenario
from hallsim.engines.reference import Rules, window_call_rule

ROOT = Path(__file__).resolve().parents[1]
PANJIN = ROOT / "scenarios" / "panjin.toml"
PANJIN_BEFORE = ROOT / "scenarios" / "panjin-before.toml"
TABLES = ("tickets", "intervals", "windows", "staff", "reserve", "back_office", "replication_stats")

pytestmark = pytest.mark.filterwarnings("ignore::hallsim.HallWarning")


def with_days(path: Path, days: int) -> hs.Scenario:
    data = hs.load_scenario(path).model_dump()
    data["hall"]["days"] = days
    return hs.Scenario.model_validate(data)


@pytest.fixture(scope="module")
def panjin() -> hs.Scenario:
    return with_days(PANJIN, 2)


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of a few replications: a run of 7 is several tasks that complete in any
    order, and must still be joined in replication order."""
    monkeypatch.setattr(runner, "BATCH_TICKETS", 800)


def assert_same_results(a: hs.Results, b: hs.Results) -> None:
    for name in TABLES:
        left, right = getattr(a, name), getattr(b, name)
        if left is None or right is None:
            assert left is None and right is None, name
        else:
            pd.testing.assert_frame_equal(left, right, check_exact=True)
    pd.testing.assert_frame_equal(a.summary(), b.summary(), check_exact=True)
    assert a.warnings == b.warnings


@contextmanager
def local_cluster(processes: bool) -> Iterator[Client]:
    """A LocalCluster of two one-thread workers, in this process or in two others."""
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=":0"
        ) as cluster,
        Client(cluster, set_as_default=False) as connection,
    ):
        yield connection


@pytest.fixture(scope="module", params=[False, True], ids=["threads", "processes"])
def client(request) -> Iterator[Client]:
    with local_cluster(request.param) as connection:
        yield connection


@pytest.fixture(scope="module")
def threads() -> Iterator[Client]:
    with local_cluster(False) as connection:
        yield connection


@pytest.mark.parametrize("keep_tickets", [True, False])
def test_a_cluster_gives_the_tables_of_one_process(client, panjin, small_batches, keep_tickets):
    options = dict(replications=7, seed=5, keep_tickets=keep_tickets, progress=False)
    one = hs.simulate(panjin, **options)
    assert_same_results(hs.simulate(panjin, client=client, **options), one)


def test_sweep_and_compare_on_a_cluster_are_those_of_one_process(client, panjin):
    grid = {"windows[Z].count": [5, 7], "categories[*].service.mean_min": [9.0, 11.0]}
    options = dict(replications=4, seed=3, progress=False)
    pd.testing.assert_frame_equal(
        hs.sweep(panjin, grid, client=client, **options),
        hs.sweep(panjin, grid, **options),
        check_exact=True,
    )
    data = panjin.model_dump()
    data["windows"][0]["count"] = 6
    fewer = hs.Scenario.model_validate(data)
    halls = {"eight": panjin, "six": fewer}
    here, there = hs.compare(halls, **options), hs.compare(halls, client=client, **options)
    pd.testing.assert_frame_equal(there.table, here.table, check_exact=True)
    assert (there.seed, there.note) == (here.seed, here.note)


def test_a_run_to_a_precision_adds_rounds_on_the_cluster(threads, panjin):
    options = dict(replications=4, seed=2, keep_tickets=False, progress=False, max_replications=40)
    precise = {"mean_wait": 0.1}
    one = hs.simulate(panjin, precision=precise, **options)
    there = hs.simulate(panjin, precision=precise, client=threads, **options)
    assert there.replications == one.replications > 4  # more than one round
    assert_same_results(there, one)


def test_the_progress_bar_advances_batch_by_batch(threads, panjin, small_batches, monkeypatch):
    updates = []

    class Bar(tqdm):
        def update(self, n=1):
            updates.append(n)
            return super().update(n)

    def bar(scenario, replications, progress, desc=None):
        return Bar(total=replications, file=io.StringIO(), mininterval=0)

    monkeypatch.setattr(runner, "_progress", bar)
    hs.simulate(panjin, replications=7, seed=1, client=threads)
    batch = runner._batch_size(
        compile_scenario(panjin), 7, 2, "fast", None, scale=_cluster.CLUSTER_BATCH_SCALE
    )
    assert batch < 7
    assert sorted(updates) == sorted(min(batch, 7 - first) for first in range(0, 7, batch))


def test_rules_travel_to_the_workers(client):
    """The simpy engine's rules are pickled for the workers as Dask does (cloudpickle): a
    lambda goes, which local processes refuse."""
    scenario = with_days(PANJIN, 1)
    options = dict(replications=2, seed=4, engine="simpy", progress=False)
    same = Rules(call_next=lambda day, window: window_call_rule(day, window))
    with pytest.raises(ValueError, match="define call_next at module level"):
        hs.simulate(scenario, workers=2, rules=same, **options)
    assert_same_results(
        hs.simulate(scenario, client=client, rules=same, **options),
        hs.simulate(scenario, **options),
    )
    lock = threading.Lock()

    def locked(day, window):
        with lock:
            return window_call_rule(day, window)

    with pytest.raises(ValueError, match="sent to the cluster's workers, so they must pickle"):
        hs.simulate(scenario, client=client, rules=Rules(call_next=locked), **options)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"workers": 2}, ValueError, r"give one of them \(got workers=2 and a client\)"),
        ({"workers": 0}, ValueError, r"got workers=0 and a client"),
        ({"client": 8786}, TypeError, r"dask.distributed.Client or a scheduler .*got int: 8786"),
        ({"client": "localhost"}, ValueError, r"got 'localhost': missing port number"),
        ({"client": ""}, ValueError, r"scheduler address like 'tcp://host:8786'"),
    ],
)
def test_bad_client_options_fail_before_anything_runs(panjin, options, error, message):
    options = {"client": "tcp://127.0.0.1:8786", **options}
    with pytest.raises(error, match=message):
        hs.simulate(panjin, replications=2, **options)
    with pytest.raises(error, match=message):
        hs.sweep(panjin, {"windows[Z].count": [4]}, replications=2, **options)


def test_a_missing_dask_says_what_to_install(panjin, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    monkeypatch.setitem(sys.modules, "distributed.comm", None)
    with pytest.raises(ImportError, match=r"pip install hallsim\[dask\]"):
        hs.simulate(panjin, client="tcp://127.0.0.1:8786")
    with pytest.raises(TypeError, match="dask.distributed.Client"):
        hs.simulate(panjin, client=object())


def test_importing_hallsim_does_not_import_dask():
    code = "import sys, hallsim; print(sorted({'dask', 'distributed'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_unreachable_scheduler_is_a_clear_error(panjin, capsys):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(ConnectionError, match="cannot connect to a Dask scheduler at"):
            hs.simulate(panjin, replications=2, client="tcp://127.0.0.1:1")
        argv = ["run", str(PANJIN), "--replications", "2", "--scheduler", "tcp://127.0.0.1:1"]
        assert main(argv) == 2
    assert "cannot connect to a Dask scheduler at 'tcp://127.0.0.1:1'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:  # argparse: not allowed with --workers
        main(["run", str(PANJIN), "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"])
    assert exit_.value.code == 2


# --- a scheduler and two workers started as a user starts them -----------------------------


def _dask_command() -> list[str]:
    """The ``dask`` command installed beside this Python (``python -m dask`` otherwise)."""
    script = shutil.which("dask", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "dask"]


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """``dask scheduler`` and two ``dask worker ADDRESS`` processes; their address. All
    stopped at the end, whatever happened."""
    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    processes = []
    logs = []
    address = None

    def start(*arguments: str) -> None:
        log = open(folder / f"process-{len(processes)}.log", "wb")  # noqa: SIM115
        logs.append(log)
        processes.append(subprocess.Popen([*_dask_command(), *arguments], stdout=log, stderr=log))

    try:
        start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
              "--scheduler-file", str(scheduler_file))  # fmt: skip
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            assert processes[0].poll() is None, (folder / "process-0.log").read_text()
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        for _ in range(2):
            start("worker", address, "--nthreads", "1", "--no-dashboard")
        with Client(address, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        if address is not None:  # the scheduler closes its workers and itself
            with suppress(OSError), Client(address, timeout=5, set_as_default=False) as client:
                client.shutdown()
        for process in reversed(processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # a failed start, or a shutdown that hung
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for log in logs:
            log.close()


def test_a_scheduler_address_gives_the_tables_of_one_process(scheduler, panjin, small_batches):
    options = dict(replications=7, seed=6, progress=False)
    assert_same_results(
        hs.simulate(panjin, client=scheduler, **options), hs.simulate(panjin, **options)
    )
    grid = {"windows[Z].count": [5, 7]}
    pd.testing.assert_frame_equal(
        hs.sweep(panjin, grid, client=scheduler, **options),
        hs.sweep(panjin, grid, **options),
        check_exact=True,
    )


def test_hallsim_run_takes_a_scheduler(scheduler, tmp_path, capsys):
    argv = ["run", str(PANJIN), "--replications", "3", "--seed", "2", "--no-tickets"]
    assert main([*argv, "--out", str(tmp_path / "here")]) == 0
    assert main([*argv, "--scheduler", scheduler, "--out", str(tmp_path / "there")]) == 0
    for name in ("summary.csv", "intervals.csv", "windows.csv"):
        here = (tmp_path / "here" / name).read_text()
        assert (tmp_path / "there" / name).read_text() == here


def test_hallsim_report_takes_a_scheduler(scheduler, tmp_path, capsys):
    """The report of two halls (a comparison, then each hall with its tickets) run on the
    cluster is the report run here, byte for byte."""

    def executed() -> int:
        with Client(scheduler, set_as_default=False) as client:
            counts = client.run(lambda dask_worker: dask_worker.state.executed_count)
        return sum(counts.values())

    argv = ["report", str(PANJIN), str(PANJIN_BEFORE), "--replications", "3", "--seed", "4"]
    assert main([*argv, "--out", str(tmp_path / "here.html")]) == 0
    before = executed()
    assert main([*argv, "--scheduler", scheduler, "--out", str(tmp_path / "there.html")]) == 0
    assert executed() >= before + 4, "the report did not run on the cluster"
    here = (tmp_path / "here.html").read_text(encoding="utf-8")
    assert (tmp_path / "there.html").read_text(encoding="utf-8") == here


class KillFirstBatch(WorkerPlugin):
    """Kills (SIGKILL) the worker process that starts the first batch of hallsim, once: the
    marker file, created atomically, records its pid."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def transition(self, key, start, finish, **kwargs) -> None:
        if finish != "executing" or not str(key).startswith("hallsim-batch"):
            return
        try:
            descriptor = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(descriptor, str(os.getpid()).encode())
        os.close(descriptor)
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_killed_mid_run_changes_nothing(scheduler, panjin, small_batches, tmp_path):
    """The first batch to start kills its worker; Dask runs it again on the other worker
    (and its nanny starts a new one), and the tables are still those of one process."""
    marker = tmp_path / "killed"
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests
    try:
        with Client(scheduler, set_as_default=False) as client:
            client.register_plugin(KillFirstBatch(str(marker)), name="kill-first-batch")
            try:
                before = set(client.run(os.getpid).values())
                options = dict(replications=7, seed=9, progress=False)
                killed = hs.simulate(panjin, client=client, **options)
                assert marker.exists()
                pid = int(marker.read_text())
                client.wait_for_workers(2, timeout=60)  # the nanny's new worker process
                assert pid in before and pid not in client.run(os.getpid).values()
            finally:
                client.unregister_worker_plugin("kill-first-batch")
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert_same_results(killed, hs.simulate(panjin, **options))
