"""Example history: a year of a hall's ticket log, as its queue system would export it.

:func:`hall_history` simulates a hall for a year, four weeks at a time with demand growing
steadily, closes it on public holidays and for one afternoon's system outage, and writes the
tickets the way a Chinese queue-management export looks: Chinese headers
(:data:`EXPORT_COLUMNS`), Chinese outcome words (:data:`EXPORT_OUTCOMES`) and a few broken
rows (a time that cannot be read, service that ends before it starts, a duplicated ticket
number, an unknown status, a ticket without a category). It is the data of the tutorial
notebook and of tests that need a realistic log; read it with::

    log = hs.read_log(path, columns=EXPORT_COLUMNS, outcomes=EXPORT_OUTCOMES)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .scenario import WEEKDAYS, Scenario

__all__ = ["EXPORT_COLUMNS", "EXPORT_OUTCOMES", "HOLIDAYS", "OUTAGE", "hall_history"]

#: Headers of the export -> the log schema's columns.
EXPORT_COLUMNS = {
    "票号": "ticket",
    "业务类型": "category",
    "取号时间": "issued",
    "叫号时间": "called",
    "开始办理时间": "start",
    "办结时间": "end",
    "窗口": "window",
    "工作人员": "staff",
    "状态": "outcome",
}
#: Status words of the export -> the log schema's outcomes.
EXPORT_OUTCOMES = {
    "已办结": "served",
    "弃号": "abandoned",
    "未取号离开": "balked",
    "过号": "no_show",
    "限号": "capped",
    "办理中": "in_system",
}
#: Days the hall is closed in the example year (New Year, Spring Festival, Qingming,
#: Labour Day, Dragon Boat, National Day; weekdays only matter for a Monday-Friday hall).
HOLIDAYS = tuple(
    pd.Timestamp(day)
    for day in (
        "2026-01-01", "2026-01-02",
        "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20",
        "2026-04-06",
        "2026-05-01", "2026-05-04", "2026-05-05",
        "2026-06-19",
        "2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07",
    )
)  # fmt: skip
#: The afternoon the ticket machine was down: no tickets from then to the end of that day.
OUTAGE = pd.Timestamp("2026-06-10 13:00")


def hall_history(
    scenario: Scenario,
    *,
    start: str = "2025-12-01",
    days: int = 365,
    growth: float = 0.08,
    seed: int = 2026,
    mess: bool = True,
) -> pd.DataFrame:
    """A year (``days``) of ``scenario``'s tickets from ``start`` as an export table.

    Demand grows by ``growth`` over the period (arrival rates scaled block by block, four
    weeks at a time); :data:`HOLIDAYS` have no tickets and :data:`OUTAGE` cuts one afternoon
    short. With ``mess``, a few rows are broken as real exports are (see the module doc).
    Columns are the keys of :data:`EXPORT_COLUMNS`; times are text ``YYYY-MM-DD HH:MM:SS``.
    """
    from .runner import simulate  # the simulator is only needed to make the example

    first = pd.Timestamp(start)
    if first.weekday() != WEEKDAYS.index(scenario.hall.first_weekday):
        raise ValueError(
            f"start {start} is a {WEEKDAYS[first.weekday()]}; the hall's first day is a "
            f"{scenario.hall.first_weekday}"
        )
    block = 28
    seeds = np.random.SeedSequence(seed).spawn(-(-days // block))
    logs = []
    for k, block_seed in enumerate(seeds):
        length = min(block, days - k * block)
        scale = 1.0 + growth * (k * block + length / 2) / days
        data = scenario.model_dump(mode="json", exclude_none=True)
        data["hall"]["days"] = length
        for category in data["categories"]:
            arrivals = category["arrivals"]
            for key in ("rate_per_hour", "rates_per_hour"):
                if key in arrivals:
                    arrivals[key] = np.round(np.asarray(arrivals[key]) * scale, 4).tolist()
        results = simulate(
            Scenario.model_validate(data),
            replications=1,
            seed=int(block_seed.generate_state(1)[0]),
            progress=False,
        )
        logs.append(results.to_log(str((first + pd.Timedelta(days=k * block)).date())).tickets)
    tickets = pd.concat(logs, ignore_index=True)
    day = tickets["issued"].dt.normalize()
    closed = day.isin(HOLIDAYS) | ((day == OUTAGE.normalize()) & (tickets["issued"] >= OUTAGE))
    tickets = tickets[~closed].reset_index(drop=True)

    table = pd.DataFrame({"ticket": tickets["ticket"], "category": tickets["category"]})
    for column in ("issued", "called", "start", "end"):
        table[column] = tickets[column].dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")
    table["window"] = tickets["window"].fillna("")
    table["staff"] = tickets["staff"].fillna("")
    words = {outcome: word for word, outcome in EXPORT_OUTCOMES.items()}
    table["outcome"] = tickets["outcome"].astype(str).map(words)
    if mess:
        table = _broken_rows(table, np.random.default_rng(seed))
    return table.rename(columns={v: k for k, v in EXPORT_COLUMNS.items()})


def _broken_rows(table: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Rows broken as exports break: an unreadable time, an end before the start, a
    duplicated ticket number, an unknown status word, a missing category, a start before
    the ticket was issued."""
    table = table.copy()
    served = np.flatnonzero(table["outcome"].to_numpy() == "已办结")
    rows = rng.choice(served, size=7, replace=False)

    def minutes_before(row: int, column: str, minutes: int) -> str:
        earlier = pd.Timestamp(table.loc[row, column]) - pd.Timedelta(minutes=minutes)
        return earlier.strftime("%Y-%m-%d %H:%M:%S")

    table.loc[rows[0], "issued"] = "2026-13-45 25:61:00"
    table.loc[rows[1], "end"] = minutes_before(rows[1], "start", 1)
    table.loc[rows[2], "ticket"] = table.loc[rows[3], "ticket"]
    table.loc[rows[4], "outcome"] = "作废"
    table.loc[rows[5], "category"] = ""
    table.loc[rows[6], "start"] = minutes_before(rows[6], "issued", 2)
    return table
