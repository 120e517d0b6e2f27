"""A short mutation check: hand-made mutants of the kernels and the result tables.

Each mutant is a one-line change a tired programmer could make (an off-by-a-few-minutes time,
a swapped column, a wrong quantile, a strict comparison). The committed source (``git archive
HEAD``, so work in progress does not interfere) is copied to a scratch folder once; for each
mutant the one file is changed there and the tests that should catch it run against the copy
(``PYTHONPATH`` first, numba's cache kept in the scratch folder for the mutants of other
files; a mutant of a kernel module starts from an empty one, as numba's cache does not
follow a kernel's helpers across files). A mutant is *caught* when a test fails, *survives*
when all pass. A survivor is a hole in the tests: give it a test, and keep it in this list.

Usage: ``python benchmarks/mutants.py [--only NAME ...] [--list]``. Exit 1 if a mutant survives.
Takes 15-25 minutes on two cores (each mutant of a ``_kernels`` module recompiles its kernels).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]

# The tests that judge the engines and the tables: oracles, the simpy engine, invariants and
# the slow references
TESTS = [
    "tests/test_tables_reference.py",
    "tests/test_engines_agree.py",
    "tests/test_invariants.py",
    "tests/test_oracles.py",
    "tests/test_rules.py",
    "tests/test_staff.py",
    "tests/test_reserve.py",
    "tests/test_back_office.py",
    "tests/test_ticketing.py",
    "tests/test_spans.py",
    "tests/test_distributions.py",
]


class Mutant(NamedTuple):
    name: str
    file: str  # under src/hallsim
    original: str  # must occur exactly once
    mutated: str


MUTANTS = [
    # --- result tables (results.py and the back office) ---
    Mutant(
        "summary at the 0.9 quantile of t (80 % intervals)",
        "results.py",
        "stdtrit(np.maximum(count - 1, 1), 0.5 + confidence / 2)",
        "stdtrit(np.maximum(count - 1, 1), 0.9)",
    ),
    Mutant(
        "interval counts in int16 whatever the busiest day",
        "results.py",
        "dtype=_count_type(np.diff(inputs.day_ptr), np.int16)",
        "dtype=np.int16",
    ),
    Mutant(
        "P90 wait at the 0.8 quantile",
        "results.py",
        "    q = 0.9\n",
        "    q = 0.8\n",
    ),
    Mutant(
        "window table: busy and lost minutes swapped",
        "results.py",
        "for values in (post_open, post_busy, post_lost, post_served)",
        "for values in (post_open, post_lost, post_busy, post_served)",
    ),
    Mutant(
        "back office: same day judged an hour later",
        "results.py",
        "same_day = np.floor(finish[done] / 1440.0)",
        "same_day = np.floor((finish[done] + 60.0) / 1440.0)",
    ),
    Mutant(
        "back office: queue counted until the case is finished",
        "results.py",
        "_time_average(arrive, start, t0, t1),",
        "_time_average(arrive, finish, t0, t1),",
    ),
    Mutant(
        "utilisation over every post, not the category's",
        "results.py",
        "busy_time / open_time",
        "np.repeat(post_busy.sum(axis=1), open_time.size // len(post_busy)) / open_time",
    ),
    Mutant(
        "tickets per window-day counts issued, not served",
        "results.py",
        "count[:, TOTAL_SERVED] / np.tile(windows_of_row, batch) / hall.open_days.size",
        "count[:, TOTAL_TICKETS] / np.tile(windows_of_row, batch) / hall.open_days.size",
    ),
    Mutant(
        "interval table: open windows from the busy area",
        "results.py",
        '"open_windows": (stack("open_area") / per_minute)',
        '"open_windows": (stack("busy_area") / per_minute)',
    ),
    Mutant(
        "unserved tickets wait only until closing time",
        "results.py",
        "    np.maximum.at(day_end, period_day, output.period_end)\n",
        "",
    ),
    Mutant(
        "peak day is the quietest day",
        "results.py",
        "peak = np.argmax(issued, axis=1)",
        "peak = np.argmin(issued, axis=1)",
    ),
    Mutant(
        "interval mean wait over at least two tickets",
        "results.py",
        'mean_wait = stack("wait_sum") / served',
        'mean_wait = stack("wait_sum") / np.maximum(served, 2)',
    ),
    Mutant(
        "service level counts abandoned tickets as served in time",
        "results.py",
        "count[:, TOTAL_WITHIN_SLA] / n,",
        "(count[:, TOTAL_WITHIN_SLA] + count[:, TOTAL_ABANDONED]) / n,",
    ),
    Mutant(
        "reserve activation's day shifted",
        "results.py",
        '"day": (opened // 1440).astype(np.int32)',
        '"day": ((opened + 720) // 1440).astype(np.int32)',
    ),
    Mutant(
        "pickup an open day later",
        "engines/backoffice.py",
        "following = np.append(open_days, hall.n_days)[position]",
        "following = np.append(open_days, hall.n_days)[np.minimum(position + 1, open_days.size)]",
    ),
    # --- the aggregates kernel (shared by both engines) ---
    Mutant(
        "a ticket counted in the interval of its issue time plus 5 minutes",
        "_kernels/aggregates.py",
        "            a = issued[i] - t0\n",
        "            a = issued[i] + 5.0 - t0\n",
    ),
    Mutant(
        "service level threshold a minute late",
        "_kernels/aggregates.py",
        "                if wait <= sla:",
        "                if wait <= sla + 1.0:",
    ),
    Mutant(
        "served after close judged by the end of service",
        "_kernels/aggregates.py",
        "if start[i] - t0 >= close_offset:",
        "if end[i] - t0 >= close_offset:",
    ),
    Mutant(
        "a served ticket's queue time runs to the end of its service",
        "_kernels/aggregates.py",
        "                left = start[i]\n",
        "                left = end[i]\n",
    ),
    Mutant(
        "a pairwise sum's running sums added in another order",
        "_kernels/aggregates.py",
        "total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))",
        "total = (((r0 + r1) + r2) + r3) + ((r4 + r5) + (r6 + r7))",
    ),
    Mutant(
        "ticket table: the day of the batch instead of the replication's",
        "_kernels/aggregates.py",
        "        of_replication = d % days\n",
        "        of_replication = d\n",
    ),
    Mutant(
        "ticket table: a ticket's staff member is its window",
        "_kernels/aggregates.py",
        "staff[i] = post_staff[p] if p >= 0 else -1",
        "staff[i] = post_window[p] if p >= 0 else -1",
    ),
    Mutant(
        "ticket table: tickets numbered across the batch",
        "_kernels/aggregates.py",
        "            ticket[i] = j\n",
        "            ticket[i] = i\n",
    ),
    Mutant(
        "minutes lost recalling not counted",
        "_kernels/aggregates.py",
        "window_lost[recall_post[i]] += no_show_lost[c]",
        "window_lost[recall_post[i]] += 0.0 * no_show_lost[c]",
    ),
    # --- the inputs ---
    Mutant(
        "a span of numpy's draws placed a span late",
        "engines/inputs.py",
        "part.issued[:] += 1440.0 * spans[k][0]",
        "part.issued[:] += 1440.0 * spans[k][1]",
    ),
    Mutant(
        "numba's spans joined with their times from the wrong day",
        "engines/inputs.py",
        "                joined += shift  # each span's times from its own first day",
        "                joined -= shift  # each span's times from its own first day",
    ),
    # --- the event loop (the simpy engine is its oracle) ---
    Mutant(
        "equal times: the higher number first",
        "_kernels/heaps.py",
        "return t1 < t2 or (t1 == t2 and i1 < i2)",
        "return t1 < t2 or (t1 == t2 and i1 > i2)",
    ),
    Mutant(
        "the daily cap lets one more in",
        "_kernels/calls.py",
        "if 0 <= cap[c] <= admitted[k]:",
        "if 0 <= cap[c] < admitted[k]:",
    ),
    Mutant(
        "arrivals' patience 1 % longer",
        "_kernels/event_loop.py",
        "t + patience[arr], arr)",
        "t + 1.01 * patience[arr], arr)",
    ),
    Mutant(
        "threshold rule a minute late",
        "_kernels/calls.py",
        "> call_after[g]:",
        "> call_after[g] + 1.0:",
    ),
    Mutant(
        "a long horizon's waits joined over one another",
        "results.py",
        "        placed += sizes\n",
        "",
    ),
    Mutant(
        "a span's reserve activations not moved to its days",
        "results.py",
        "reserve[key] + shift if key in _RESERVE_TIMES",
        "reserve[key] if key in _RESERVE_TIMES",
    ),
    Mutant(
        "a uniform on a boundary takes the category before it",
        "_kernels/inputs.py",
        "while c < n_cat - 1 and row[c] <= x:",
        "while c < n_cat - 1 and row[c] < x:",
    ),
    Mutant(
        "a uniform just below a guide table's step takes the category after it",
        "_kernels/inputs.py",
        "while c > 0 and row[c - 1] > x:",
        "while False:",
    ),
    Mutant(
        "durations of categories without patience take patience draws' places",
        "_kernels/inputs.py",
        "fill[key[i]] += has_draws[key[i]]",
        "fill[key[i]] += 1",
    ),
    Mutant(
        "exponential durations of a joint draw with the means in reverse",
        "distributions.py",
        "* np.repeat(parameters[0], sizes)",
        "* np.repeat(parameters[0][::-1], sizes)",
    ),
    Mutant(
        "the P90's selection drops the pivot's last swap",
        "_kernels/aggregates.py",
        "            values[j], values[right] = values[right], values[j]\n",
        "",
    ),
    Mutant(
        "the interval arrays end a slot before the last with time in it",
        "results.py",
        "shown = max(hall.n_open_slots, last + 1)",
        "shown = max(hall.n_open_slots, last)",
    ),
    Mutant(
        "one draw for a kind of distributions, with the first one's parameters",
        "distributions.py",
        "*(np.repeat(p, sizes) for p in parameters)",
        "*(np.full(int(np.sum(sizes)), p[0]) for p in parameters)",
    ),
    Mutant(
        "a reserve pool never standing, so never standing down",
        "_kernels/event_loop.py",
        "                        standing[p] = True\n",
        "",
    ),
    Mutant(
        "posts waiting for a desk are looked at again only once two periods have closed",
        "_kernels/event_loop.py",
        "dirty = True\n\n            # posts waiting for a desk or staff member released now"
        "\n            if operations is not None and n_waiting > 0 and n_periods != periods_seen:",
        "dirty = True\n\n            # posts waiting for a desk or staff member released now"
        "\n            if operations is not None and n_waiting > 0 and n_periods > "
        "periods_seen + 1:",
    ),
    Mutant(
        "a zero patience set by a short path runs out in the same round",
        "_kernels/event_loop.py",
        "while not short and n_quit > 0 and quit_t[0] == t:",
        "while n_quit > 0 and quit_t[0] == t:",
    ),
]


def run(mutant: Mutant, scratch: Path) -> tuple[bool, float, str]:
    """Apply ``mutant`` in the scratch copy, run the tests, restore; (caught, seconds, why)."""
    path = scratch / "src" / "hallsim" / mutant.file
    original = path.read_text()
    stamp = path.stat()
    if original.count(mutant.original) != 1:
        raise SystemExit(f"{mutant.name}: the original text is not found exactly once")
    # numba's cache keys a kernel by its own file, not by the helpers it calls from others
    # (a mutant of _kernels/calls.py would run with a cached, unmutated event loop): a
    # kernel module's mutant starts from an empty cache and leaves none behind
    cache = scratch / "numba-cache"
    kernels = mutant.file.startswith("_kernels/") or mutant.file == "_streams.py"
    if kernels:
        shutil.rmtree(cache, ignore_errors=True)
    path.write_text(original.replace(mutant.original, mutant.mutated))
    env = os.environ | {
        "PYTHONPATH": str(scratch / "src"),
        "NUMBA_CACHE_DIR": str(cache),
        "TQDM_DISABLE": "1",
    }
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *TESTS],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
    finally:
        path.write_text(original)
        os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
        if kernels:
            shutil.rmtree(cache, ignore_errors=True)
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]
    return done.returncode != 0, time.perf_counter() - started, failed[0] if failed else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="mutants whose name has this")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    mutants = [m for m in MUTANTS if args.only is None or any(part in m.name for part in args.only)]
    if args.list:
        for mutant in mutants:
            print(f"{mutant.file:22} {mutant.name}")
        return 0
    # mutants of one file after another, the kernels last: they invalidate numba's cache
    mutants.sort(key=lambda m: m.file.startswith("_kernels/"))
    for mutant in mutants:  # every original in the committed source, before anything runs
        committed = subprocess.run(
            ["git", "show", f"HEAD:src/hallsim/{mutant.file}"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        if committed.count(mutant.original) != 1:
            raise SystemExit(f"{mutant.name}: the original text is not found exactly once")
    survivors = []
    with tempfile.TemporaryDirectory(prefix="hallsim-mutants-") as folder:
        scratch = Path(folder)
        archive = subprocess.run(
            ["git", "archive", "HEAD", "src/hallsim"], cwd=ROOT, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(scratch)], input=archive.stdout, check=True)
        for mutant in mutants:
            caught, seconds, why = run(mutant, scratch)
            print(f"{'caught  ' if caught else 'SURVIVED'} {seconds:6.0f} s  {mutant.name}")
            if why:
                print(f"         {why}")
            if not caught:
                survivors.append(mutant.name)
    print(f"{len(mutants) - len(survivors)} of {len(mutants)} mutants caught")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
