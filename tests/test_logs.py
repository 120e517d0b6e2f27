"""Reading and writing ticket logs and arrival counts (hallsim.logs).

Oracles: a simulated hall's own log (what was written must come back equal, and the outcomes
the simulation knows must be what the times imply), hand-made files whose every bad row is
known, and pandas group-bys of the counts kept.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import category, exponential, make_scenario
from hypothesis import event, given, settings
from hypothesis import strategies as st

import hallsim as hs
from hallsim.logs import LOG_COLUMNS, OUTCOMES, TIME_COLUMNS

# the Chinese export of a queue-management system, and its status words
QMS_COLUMNS = {
    "票号": "ticket",
    "业务类型": "category",
    "取号时间": "issued",
    "叫号时间": "called",
    "开始办理时间": "start",
    "结束时间": "end",
    "窗口": "window",
    "工作人员": "staff",
    "状态": "outcome",
}
QMS_OUTCOMES = {
    "已办结": "served",
    "弃号": "abandoned",
    "未取号离开": "balked",
    "过号": "no_show",
    "限号": "capped",
    "等待中": "in_system",
}


def busy_hall(**extra) -> hs.Scenario:
    """Two categories, two windows, four hours a day: impatient citizens abandon, some holders
    are absent when called (no-show); ``extra`` adds to category a (balking, daily cap)."""
    return make_scenario(
        [
            category(
                "a",
                30,
                exponential(5),
                patience=exponential(10),
                no_show={"probability": 0.15, "recall_min": 1.0, "recalls": 1},
                **extra,
            ),
            category("b", 10, exponential(8), patience=exponential(20)),
        ],
        [{"id": "W", "count": 2, "serves": ["a", "b"]}],
        open="08:00",
        close="12:00",
        days=2,
    )


@pytest.fixture(scope="module")
def results() -> hs.Results:
    scenario = busy_hall(
        balking={"queue": [0, 10], "probability": [0.0, 0.4]},
        daily_cap=60,
    )
    return hs.simulate(scenario, replications=2, seed=20261121, progress=False)


@pytest.fixture(scope="module")
def log(results) -> hs.TicketLog:
    log = results.to_log()
    shown = set(log.tickets["outcome"].astype(str))
    assert {"served", "abandoned", "no_show", "balked", "capped"} <= shown  # all on trial
    return log


def written(log, path) -> hs.TicketLog:
    hs.write_log(log, path)
    return hs.read_log(path)


# --- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".txt", ".parquet"])
def test_a_log_written_to_a_file_reads_back_equal(log, tmp_path, suffix):
    back = written(log, tmp_path / f"tickets{suffix}")
    pd.testing.assert_frame_equal(back.tickets, log.tickets)
    assert back.rows_read == len(log.tickets) and back.rejected.empty


def test_a_log_written_to_sqlite_reads_back_equal_by_table_and_by_query(log, tmp_path):
    url = f"sqlite:///{tmp_path / 'hall.db'}"
    hs.write_log(log, url)
    by_table = hs.read_log(url, table="tickets")
    by_query = hs.read_log(url, query="SELECT * FROM tickets WHERE category IS NOT NULL")
    hs.write_log(log, tmp_path / "tickets.csv")
    by_csv = hs.read_log(tmp_path / "tickets.csv")
    for back in (by_table, by_query):
        pd.testing.assert_frame_equal(back.tickets, log.tickets)
        pd.testing.assert_frame_equal(back.tickets, by_csv.tickets)
        pd.testing.assert_frame_equal(back.rejected, by_csv.rejected)
        assert back.rows_read == by_csv.rows_read
        assert str(tmp_path / "hall.db") in back.source


def test_sql_through_an_engine_and_a_table_of_our_own_name(log, tmp_path):
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'hall.db'}")
    hs.write_log(log, engine, table="history")
    hs.write_log(log, engine, table="history")  # replaces the table, does not append
    back = hs.read_log(engine, table="history")
    pd.testing.assert_frame_equal(back.tickets, log.tickets)
    engine.dispose()


def test_results_are_written_as_the_log_of_one_replication(results, tmp_path):
    path = tmp_path / "replication1.parquet"
    hs.write_log(results, path, start_date="2026-03-02", replication=1)
    expected = results.to_log("2026-03-02", replication=1).tickets
    pd.testing.assert_frame_equal(hs.read_log(path).tickets, expected)
    assert expected["issued"].iloc[0].date() == pd.Timestamp("2026-03-02").date()
    with pytest.raises(ValueError, match="Results"):
        hs.write_log(results.to_log(), path, replication=1)


def test_unknown_kinds_of_files_and_missing_files_are_named(log, tmp_path):
    with pytest.raises(ValueError, match=r"tickets\.xlsx"):
        hs.write_log(log, tmp_path / "tickets.xlsx")
    (tmp_path / "tickets.xlsx").write_bytes(b"PK")
    with pytest.raises(hs.LogError, match=r"tickets\.xlsx.*unknown kind of file"):
        hs.read_log(tmp_path / "tickets.xlsx")
    with pytest.raises(hs.LogError, match=r"nowhere\.csv: no such file"):
        hs.read_log(str(tmp_path / "nowhere.csv"))
    with pytest.raises(hs.LogError, match=r"nowhere\.db"):
        hs.read_log(f"sqlite:///{tmp_path / 'nowhere.db'}", table="tickets")
    assert not (tmp_path / "nowhere.db").exists()  # not created by looking
    hs.write_log(log, f"sqlite:///{tmp_path / 'hall.db'}")
    with pytest.raises(hs.LogError, match="hall.db.*cannot read"):
        hs.read_log(f"sqlite:///{tmp_path / 'hall.db'}", table="no_such_table")
    with pytest.raises(ValueError, match="table= or query="):
        hs.read_log(f"sqlite:///{tmp_path / 'hall.db'}")
    with pytest.raises(ValueError, match="errors"):
        hs.read_log(log.tickets, errors="ignore")


# --- every reason a row is rejected ---------------------------------------------------------

T = "2026-03-02 "
HEADER = "ticket,category,issued,called,start,end,window,staff,outcome"
# (row, expected reason, column, value): each row breaks one rule, row 12 two (the first wins)
BAD_ROWS = [
    ("A001,social,{T}09:00:00,{T}09:05:00,{T}09:05:10,{T}09:12:00,W1,Li,served", None),
    (",social,{T}09:01:00,,,,,,", ("missing value", "ticket", "")),
    ("A003,social,{T}09:02:00,09:03,,,,,", ("unparsable time", "called", "09:03")),
    (
        "A004,tax,{T}09:03:00,{T}09:02:00,{T}09:04:00,{T}09:10:00,W1,,served",
        ("called before issued", "called", "{T}09:02:00"),
    ),
    (
        "A005,tax,{T}09:04:00,,{T}09:03:00,{T}09:10:00,W1,,served",
        ("start before issued", "start", "{T}09:03:00"),
    ),
    (
        "A006,tax,{T}09:05:00,{T}09:07:00,{T}09:06:00,{T}09:10:00,W1,,served",
        ("start before called", "start", "{T}09:06:00"),
    ),
    (
        "A007,tax,{T}09:06:00,{T}09:07:00,{T}09:08:00,{T}09:07:30,W1,,served",
        ("end before start", "end", "{T}09:07:30"),
    ),
    ("A008,tax,{T}09:07:00,,,{T}09:06:00,,,abandoned", ("end before issued", "end", "{T}09:06:00")),
    ("A009,tax,{T}09:08:00,,,{T}09:30:00,,,lost", ("unknown outcome", "outcome", "lost")),
    (
        "A010,tax,{T}09:09:00,,,{T}09:30:00,,,served",
        ("outcome contradicts times", "outcome", "served"),
    ),
    ("A001,tax,{T}09:10:00,,,{T}09:30:00,,,abandoned", ("duplicate ticket", "ticket", "A001")),
    ("A012, ,{T}09:11:00,,,yesterday,,,", ("missing value", "category", " ")),
    (
        "A013,tax,{T}09:12:00,,{T}09:20:00,,W2,,abandoned",
        ("outcome contradicts times", "outcome", "abandoned"),
    ),
    ("A014,tax,{T}09:13:00,,,,,,in_system", None),
    # the first A004 was rejected, so this one is the ticket's first good row: kept
    ("A004,tax,{T}09:14:00,,,{T}09:20:00,,,abandoned", None),
    (
        "A016,tax,{T}09:15:00,{T}09:16:00,,{T}09:17:00,,,in_system",
        ("outcome contradicts times", "outcome", "in_system"),
    ),
]


@pytest.fixture
def bad_csv(tmp_path) -> Path:
    path = tmp_path / "bad.csv"
    lines = [HEADER] + [row.format(T=T) for row, _ in BAD_ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_every_bad_row_is_rejected_with_its_reason_row_column_and_value(bad_csv):
    log = hs.read_log(bad_csv)
    expected = pd.DataFrame(
        [
            (row, column, value.format(T=T), reason)
            for row, (_, bad) in enumerate(BAD_ROWS, start=1)
            if bad is not None
            for reason, column, value in [bad]
        ],
        columns=["row", "column", "value", "reason"],
    )
    expected = expected.astype({"row": "int64", "column": object, "value": object})
    expected["reason"] = expected["reason"].astype(object)
    pd.testing.assert_frame_equal(log.rejected, expected)
    assert log.tickets["ticket"].tolist() == ["A001", "A014", "A004"]
    assert len(log.tickets) + len(log.rejected) == log.rows_read == len(BAD_ROWS)
    summary = log.summary()
    counts = expected["reason"].value_counts()
    for reason, count in counts.items():
        assert summary[f"rejected: {reason}"] == count
    assert summary["kept"] == 3 and summary["rejected"] == counts.sum()


def test_errors_raise_stops_at_the_first_bad_row(bad_csv):
    with pytest.raises(hs.LogError) as caught:
        hs.read_log(bad_csv, errors="raise")
    error = caught.value
    assert (error.row, error.column, error.value) == (2, "ticket", "")
    assert str(error).startswith(f"{bad_csv}: row 2, column 'ticket': missing value")
    good = pd.read_csv(bad_csv, dtype=str, keep_default_na=False).iloc[[0, 13]]
    log = hs.read_log(good, errors="raise")  # nothing bad: nothing raised
    assert log.tickets["ticket"].tolist() == ["A001", "A014"]


def test_the_kept_rows_are_typed_as_the_schema_says(bad_csv):
    tickets = hs.read_log(bad_csv).tickets
    assert tickets.columns.tolist() == list(LOG_COLUMNS)
    for name in TIME_COLUMNS:
        assert tickets[name].dtype == "datetime64[ns]"
    assert tickets["outcome"].dtype == pd.CategoricalDtype(OUTCOMES)
    assert tickets.loc[0, "staff"] == "Li" and pd.isna(tickets.loc[1, "window"])
    assert tickets["issued"].is_monotonic_increasing
    assert tickets.index.equals(pd.RangeIndex(len(tickets)))


# --- headers, encodings, times --------------------------------------------------------------


def qms_export(log: hs.TicketLog) -> pd.DataFrame:
    """The log as the Chinese export shows it: own headers and status words, times to the
    second, and a column hallsim does not know."""
    words = {outcome: word for word, outcome in QMS_OUTCOMES.items()}
    table = log.tickets.copy()
    for name in TIME_COLUMNS:
        table[name] = table[name].dt.floor("s")
    table["outcome"] = table["outcome"].astype(str).map(words)
    table["备注"] = "无"
    return table.rename(columns={v: k for k, v in QMS_COLUMNS.items()})


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_chinese_headers_and_status_words_in_every_encoding(log, tmp_path, encoding):
    export = qms_export(log)
    path = tmp_path / f"export-{encoding}.csv"
    export.to_csv(path, index=False, encoding=encoding)
    back = hs.read_log(path, QMS_COLUMNS, outcomes=QMS_OUTCOMES)
    expected = log.tickets.copy()
    for name in TIME_COLUMNS:
        expected[name] = expected[name].dt.floor("s")
    pd.testing.assert_frame_equal(back.tickets, expected)


def test_other_encodings_are_refused_with_the_file_named(log, tmp_path):
    export = qms_export(log)
    path = tmp_path / "export-utf16.csv"
    export.to_csv(path, index=False, encoding="utf-16")
    with pytest.raises(hs.LogError, match=r"export-utf16\.csv.*save it as UTF-8"):
        hs.read_log(path, QMS_COLUMNS, outcomes=QMS_OUTCOMES)
    back = hs.read_log(path, QMS_COLUMNS, encoding="utf-16", outcomes=QMS_OUTCOMES)
    assert len(back.tickets) == len(log.tickets)  # readable when the encoding is named
    noise = tmp_path / "noise.csv"
    noise.write_bytes(np.random.default_rng(1).integers(128, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(hs.LogError, match=r"noise\.csv: cannot decode.*save it as UTF-8"):
        hs.read_log(noise)


def test_column_mapping_errors_list_what_the_source_has(log):
    export = qms_export(log)
    with pytest.raises(hs.LogError, match=r"no column 'ticket', 'category', 'issued'.*取号时间"):
        hs.read_log(export)
    with pytest.raises(hs.LogError, match=r"'票号': 'ticket_id'.*not in the schema"):
        hs.read_log(export, {**QMS_COLUMNS, "票号": "ticket_id"})
    with pytest.raises(hs.LogError, match="more than one column would be 'ticket'"):
        hs.read_log(export, {**QMS_COLUMNS, "备注": "ticket"})
    with pytest.raises(hs.LogError, match="'已办结': 'done'"):
        hs.read_log(export, QMS_COLUMNS, outcomes={"已办结": "done"})
    unmapped = hs.read_log(export, QMS_COLUMNS)  # status words unknown without outcomes=
    assert set(unmapped.rejected["reason"]) == {"unknown outcome"}


def test_times_in_the_forms_logs_write_them(tmp_path):
    path = tmp_path / "times.csv"
    issued = [
        "2026-03-02 09:14:05",
        "2026-03-02T09:14",
        "2026/03/02 09:14:05",
        "2026-3-2 9:14:05.25",
        "2026-03-02T09:14:05+08:00",
        "2026-03-02 09:14:05Z",
        "2026-03-02",
        "2026-02-30 09:00:00",
        "2026",
        "9:14",
        "2026-03-02 25:00",
        "2026-03-02 09:14:05 CST",
    ]
    table = pd.DataFrame({"ticket": [f"t{i}" for i in range(len(issued))], "category": "a"})
    table["issued"] = issued
    table.to_csv(path, index=False)
    log = hs.read_log(path)
    wall = {
        "t0": "2026-03-02 09:14:05",
        "t1": "2026-03-02 09:14:00",
        "t2": "2026-03-02 09:14:05",
        "t3": "2026-03-02 09:14:05.25",
        "t4": "2026-03-02 09:14:05",  # the wall time, offset dropped
        "t5": "2026-03-02 09:14:05",
        "t6": "2026-03-02 00:00:00",
    }
    kept = dict(zip(log.tickets["ticket"], log.tickets["issued"], strict=True))
    assert kept == {ticket: pd.Timestamp(time) for ticket, time in wall.items()}
    assert set(log.rejected["reason"]) == {"unparsable time"}
    assert log.rejected["row"].tolist() == [8, 9, 10, 11, 12]


def test_datetime_columns_are_taken_as_they_are_and_aware_ones_as_wall_time(tmp_path):
    issued = pd.to_datetime(["2026-03-02 09:00", "2026-03-02 10:00"]).tz_localize("Asia/Shanghai")
    table = pd.DataFrame({"ticket": ["a", "b"], "category": "x", "issued": issued})
    table["end"] = pd.to_datetime(["2026-03-02 09:30", None]).as_unit("s")
    table.to_parquet(tmp_path / "aware.parquet")
    for source in (table, tmp_path / "aware.parquet"):
        tickets = hs.read_log(source).tickets
        assert tickets["issued"].tolist() == [
            pd.Timestamp("2026-03-02 09:00"),
            pd.Timestamp("2026-03-02 10:00"),
        ]
        assert tickets["outcome"].tolist() == ["abandoned", "in_system"]


# --- outcomes inferred from the times -------------------------------------------------------


def test_outcomes_inferred_from_times_are_the_simulated_ones():
    # patience and no-show at call only: every outcome is one the times can tell
    results = hs.simulate(busy_hall(), replications=1, seed=7, progress=False)
    truth = results.to_log().tickets
    assert {"served", "abandoned", "no_show"} <= set(truth["outcome"].astype(str))
    inferred = hs.read_log(truth.drop(columns="outcome"))
    pd.testing.assert_frame_equal(inferred.tickets, truth)
    # empty cells are inferred too, given ones are kept
    half = truth.astype({"outcome": object})
    half.loc[::2, "outcome"] = ""
    pd.testing.assert_frame_equal(hs.read_log(half).tickets, truth)


def test_balked_and_capped_look_abandoned_to_a_log(log):
    inferred = hs.read_log(log.tickets.drop(columns="outcome")).tickets
    truth = log.tickets["outcome"].astype(str)
    told = truth.replace({"balked": "abandoned", "capped": "abandoned"})
    assert (inferred["outcome"].astype(str) == told).all()


def test_in_system_tickets_are_those_without_an_end():
    table = pd.DataFrame(
        {
            "ticket": ["waiting", "serving", "called", "left", "done"],
            "category": "a",
            "issued": T + "09:00",
            "called": [None, T + "09:05", T + "09:05", None, T + "09:05"],
            "start": [None, T + "09:05", None, None, T + "09:05"],
            "end": [None, None, T + "09:07", T + "09:20", T + "09:15"],
        }
    )
    outcomes = hs.read_log(table).tickets.set_index("ticket")["outcome"].astype(str)
    assert outcomes.to_dict() == {
        "waiting": "in_system",
        "serving": "in_system",
        "called": "no_show",
        "left": "abandoned",
        "done": "served",
    }


# --- damaged logs ---------------------------------------------------------------------------

GARBAGE = st.one_of(
    # no line breaks: pandas writes a cell holding one unquoted, which by CSV rules starts
    # another row (the file then really has more rows than the table)
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=12),
    st.sampled_from(
        ["", " ", "NaN", "null", "0", "-1", "2026-13-01", "2026-03-02T09:00+08:00", "served"]
    ),
    st.sampled_from(["in_system", "balked", "2026-03-01 23:59", "2026", "9:14", "nan"]),
)
DAMAGE = st.one_of(
    st.tuples(st.just("cell"), st.integers(0, 39), st.sampled_from(LOG_COLUMNS), GARBAGE),
    st.tuples(
        st.just("swap"),
        st.integers(0, 39),
        st.sampled_from(TIME_COLUMNS),
        st.sampled_from(TIME_COLUMNS),
    ),
    st.tuples(st.just("same id"), st.integers(0, 39), st.integers(0, 39)),
    st.tuples(st.just("drop"), st.sampled_from(LOG_COLUMNS)),
)


@pytest.fixture(scope="module")
def clean_table(log) -> pd.DataFrame:
    """Forty rows of the simulated log as text, as a CSV holds them."""
    table = log.tickets.iloc[:40].astype(object).astype(str)
    return table.where(log.tickets.iloc[:40].notna(), "").reset_index(drop=True)


@settings(max_examples=60, deadline=None)
@given(damages=st.lists(DAMAGE, min_size=1, max_size=8), through_csv=st.booleans())
def test_damaged_logs_give_a_log_or_a_log_error(clean_table, damages, through_csv):
    table = clean_table.copy()
    for damage in damages:
        kind, *args = damage
        if kind == "cell" and args[1] in table:
            table.loc[args[0], args[1]] = args[2]
        elif kind == "swap" and args[1] != args[2] and args[1] in table and args[2] in table:
            row, a, b = args
            table.loc[row, [a, b]] = table.loc[row, [b, a]].to_numpy()
        elif kind == "same id" and "ticket" in table:
            table.loc[args[1], "ticket"] = table.loc[args[0], "ticket"]
        elif kind == "drop" and args[0] in table:
            table = table.drop(columns=args[0])
    try:
        if through_csv:
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "damaged.csv"
                table.to_csv(path, index=False)
                log = hs.read_log(path)
        else:
            log = hs.read_log(table)
    except hs.LogError:
        event("LogError")
        return
    event("a log" + (" with rejects" if len(log.rejected) else ""))
    assert len(log.tickets) + len(log.rejected) == log.rows_read == len(table)
    tickets = log.tickets
    assert tickets["ticket"].is_unique and tickets["issued"].notna().all()
    assert tickets["outcome"].notna().all() and tickets["issued"].is_monotonic_increasing
    for earlier, later in [("issued", "called"), ("called", "start"), ("start", "end")]:
        assert not (tickets[later] < tickets[earlier]).any()
    assert log.rejected["row"].is_unique
    assert log.rejected["row"].between(1, len(table)).all()


# --- arrival counts -------------------------------------------------------------------------


def count_table(rng: np.random.Generator) -> pd.DataFrame:
    """Two days of 15-minute counts from 08:30 to 12:00 for two categories."""
    days = [pd.Timestamp("2026-03-02"), pd.Timestamp("2026-03-03")]
    times = [day + pd.Timedelta(minutes=510 + 15 * k) for day in days for k in range(14)]
    table = pd.DataFrame(
        [(time, name) for time in times for name in ("social", "tax")],
        columns=["time", "category"],
    )
    table["count"] = rng.poisson(4, len(table))
    return table


def hourly_oracle(counts: pd.DataFrame) -> pd.Series:
    """Counts per date, hour and category, by a pandas group-by."""
    key = [
        counts["time"].dt.normalize().rename("date"),
        (counts["time"].dt.hour * 60).rename("interval_start"),
        counts["category"].astype(str).rename("category"),
    ]
    return counts.groupby(key)["count"].sum()


def check_hourly(counts: hs.ArrivalCounts, good: pd.DataFrame) -> None:
    hourly = counts.arrival_counts(60).set_index(["date", "interval_start", "category"])
    oracle = hourly_oracle(good)
    assert (hourly["arrivals"].reindex(oracle.index) == oracle).all()
    assert hourly["arrivals"].sum() == oracle.sum()


def test_counts_with_categories_and_rejects(tmp_path):
    table = count_table(np.random.default_rng(3))
    good = table.copy()
    text = table.astype(str)
    text["time"] = table["time"].dt.strftime("%Y-%m-%d %H:%M")
    bad = pd.DataFrame(
        [
            ("2026-03-02 08:30", "social", "", "missing value", "count"),
            ("2026-03-02 08:30", "", "2", "missing value", "category"),
            ("08:30", "social", "2", "unparsable time", "time"),
            ("2026-03-02 09:00", "other", "-1", "count not a whole number >= 0", "count"),
            ("2026-03-02 09:00", "other", "2.5", "count not a whole number >= 0", "count"),
            ("2026-03-02 09:00", "other", "many", "count not a whole number >= 0", "count"),
            ("2026-03-02 09:37", "other", "2", "off the interval grid", "time"),
            ("2026-03-02 09:00", "social", "7", "duplicate time and category", "time"),
        ],
        columns=["time", "category", "count", "reason", "column"],
    )
    path = tmp_path / "counts.csv"
    pd.concat([text, bad[["time", "category", "count"]]]).to_csv(path, index=False)
    with pytest.raises(hs.LogError, match=r"counts\.csv: cannot infer the interval.*15 minutes"):
        hs.read_counts(path)  # the stray 09:37 hides the grid: say so, do not guess
    counts = hs.read_counts(path, interval_min=15)
    assert counts.interval_min == 15
    assert counts.rejected["reason"].tolist() == bad["reason"].tolist()
    assert counts.rejected["column"].tolist() == bad["column"].tolist()
    assert counts.rejected["row"].tolist() == list(range(len(text) + 1, len(text) + len(bad) + 1))
    assert len(counts.counts) + len(counts.rejected) == counts.rows_read == len(text) + len(bad)
    assert counts.counts["count"].dtype == np.int64
    check_hourly(counts, good)
    clean = tmp_path / "clean.csv"
    text.to_csv(clean, index=False)
    inferred = hs.read_counts(clean)
    assert inferred.interval_min == 15 and inferred.rejected.empty
    check_hourly(inferred, good)


def test_counts_without_category_are_all(tmp_path):
    table = count_table(np.random.default_rng(4))
    table = table[table["category"] == "tax"].drop(columns="category")
    table = table[table.index % 3 != 0]  # some intervals not reported: still a 15-minute grid
    path = tmp_path / "hall-counts.csv"
    table.rename(columns={"time": "时段", "count": "人数"}).to_csv(path, index=False)
    counts = hs.read_counts(path, {"时段": "time", "人数": "count"})
    assert counts.interval_min == 15 and counts.categories == ["all"]
    check_hourly(counts, table.assign(category="all"))


@pytest.mark.parametrize("target", ["counts.csv", "counts.parquet", "sqlite:///{}/counts.db"])
def test_counts_written_read_back_equal(tmp_path, target):
    table = count_table(np.random.default_rng(5))
    table = table.astype({"time": "datetime64[ns]", "category": "str"})
    counts = hs.ArrivalCounts(table, interval_min=15)
    where = target.format(tmp_path) if "://" in target else tmp_path / target
    hs.write_log(counts, where)
    back = (
        hs.read_counts(where, table="arrival_counts") if "://" in target else hs.read_counts(where)
    )
    pd.testing.assert_frame_equal(back.counts, counts.counts)
    assert back.interval_min == 15


def test_a_row_with_a_value_more_than_the_header_is_refused_not_shifted(tmp_path):
    """pandas would take the first field of such rows as the index, shifting every column
    one to the left (the category read as the ticket, the call as the issue)."""
    header = "ticket,category,issued,called"
    row = "A1,X,2026-03-02 09:00:00,2026-03-02 09:01:00"
    trailing = tmp_path / "trailing.csv"  # a comma at the end of every row: an empty field
    trailing.write_text(f"{header}\n{row},\n{row.replace('A1', 'A2')},\n", encoding="utf-8")
    log = hs.read_log(trailing)
    assert log.tickets["ticket"].tolist() == ["A1", "A2"] and len(log.rejected) == 0
    assert log.tickets["issued"].tolist() == [pd.Timestamp("2026-03-02 09:00")] * 2
    extra = tmp_path / "extra.csv"
    extra.write_text(f"{header}\n{row},2026-03-02 09:02:00\n", encoding="utf-8")
    with pytest.raises(hs.LogError, match=r"extra\.csv: .*more values than the header"):
        hs.read_log(extra)


def test_a_query_the_database_refuses_is_a_log_error(log, tmp_path):
    url = f"sqlite:///{tmp_path / 'hall.db'}"
    hs.write_log(log, url)
    with pytest.raises(hs.LogError, match=r"hall\.db \(query\).*no such table: nowhere"):
        hs.read_log(url, query="SELECT * FROM nowhere")
