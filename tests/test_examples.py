"""The example year of ticket logs: what it promises, read back through read_log."""

from __future__ import annotations

import pandas as pd
import pytest

import hallsim as hs
from hallsim.examples import EXPORT_COLUMNS, EXPORT_OUTCOMES, HOLIDAYS, OUTAGE, hall_history
from hallsim.scenario import WEEKDAYS


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    scenario = hs.load_scenario("scenarios/panjin.toml")
    table = hall_history(scenario)
    path = tmp_path_factory.mktemp("export") / "panjin.csv"
    table.to_csv(path, index=False, encoding="gb18030")
    return table, path


def test_the_export_reads_back_with_its_broken_rows_rejected(export):
    table, path = export
    log = hs.read_log(path, columns=EXPORT_COLUMNS, outcomes=EXPORT_OUTCOMES)
    assert log.rows_read == len(table)
    assert len(log.tickets) + len(log.rejected) == len(table)
    assert sorted(log.rejected["reason"]) == sorted(
        [
            "duplicate ticket",
            "end before start",
            "missing value",
            "start before issued",
            "unknown outcome",
            "unparsable time",
        ]
    )


def test_holidays_and_the_outage_have_no_tickets(export):
    table, _ = export
    issued = table["取号时间"]
    days = set(issued.str[:10])
    assert not days & {str(day.date()) for day in HOLIDAYS}
    outage_day = issued[issued.str[:10] == str(OUTAGE.date())]
    assert len(outage_day) > 0 and (outage_day < str(OUTAGE)).all()
    dates = pd.to_datetime(pd.Series(sorted(days)), errors="coerce").dropna()  # one is broken
    weekdays = {WEEKDAYS[d.weekday()] for d in dates}
    assert weekdays <= {"mon", "tue", "wed", "thu", "fri"}  # the Panjin hall's week


def test_demand_grows():
    scenario = hs.load_scenario("scenarios/panjin.toml")
    table = hall_history(scenario, days=56, growth=1.0, mess=False)
    per_day = table.groupby(table["取号时间"].str[:10]).size()
    # rates x1.25 in the first four weeks, x1.75 in the next: about 1.4 times the tickets
    assert per_day.iloc[20:].mean() / per_day.iloc[:20].mean() == pytest.approx(1.4, rel=0.1)
