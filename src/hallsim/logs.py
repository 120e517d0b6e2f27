"""Ticket logs and arrival counts: the hall's own history, as hallsim reads and writes it.

A *ticket log* has one row per ticket a hall issued, with datetimes (the schema below); a
queue-management system exports one, and :meth:`hallsim.Results.to_log` writes a simulated
hall as one. *Arrival counts* are what halls keep when they keep no tickets: tickets issued
per time interval, optionally per category.

Log schema (:data:`LOG_COLUMNS`):

``ticket``
    The ticket's id (text, unique in the log).
``category``
    The service item (text).
``issued``
    When the ticket was issued (datetime).
``called``, ``start``, ``end``
    When a window called it, began and ended service (datetimes, optional). A ticket never
    served has no ``start``; its ``end`` is when it left (gave up, was refused).
``window``, ``staff``
    Who served it (text, optional).
``outcome``
    One of :data:`OUTCOMES` (optional: inferred from the times when missing).

:func:`read_log` and :func:`read_counts` read either from a CSV file (UTF-8, UTF-8 with a
byte-order mark, or GB18030/GBK), a Parquet file, a pandas DataFrame or an SQL database
(SQLAlchemy), rename the source's own headers with ``columns=``, and check every row: a row
that cannot be right (an empty id, an unreadable time, service ending before it began, a
duplicate) is not kept but listed, with its row number, column, value and reason, in
``.rejected``; nothing is dropped silently. :func:`write_log` writes a log, simulated
results or counts in the same formats, and reading them back gives the same table.
"""

from __future__ import annotations

import codecs
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .compile import OUTCOMES
from .errors import LogError

if TYPE_CHECKING:
    from .results import Results

__all__ = [
    "LOG_COLUMNS",
    "OUTCOMES",
    "ArrivalCounts",
    "TicketLog",
    "read_counts",
    "read_log",
    "write_log",
]

LOG_COLUMNS = (
    "ticket",
    "category",
    "issued",
    "called",
    "start",
    "end",
    "window",
    "staff",
    "outcome",
)
TIME_COLUMNS = ("issued", "called", "start", "end")
REQUIRED_COLUMNS = ("ticket", "category", "issued")
COUNT_COLUMNS = ("time", "category", "count")
ALL_CATEGORIES = "all"  # the category of counts kept without one


def _empty_rejected() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": pd.Series(dtype="int64"),
            "column": pd.Series(dtype=object),
            "value": pd.Series(dtype=object),
            "reason": pd.Series(dtype=object),
        }
    )


@dataclass
class TicketLog:
    """A validated ticket log.

    Attributes
    ----------
    tickets : pandas.DataFrame
        The rows kept, in the columns of :data:`LOG_COLUMNS` and in order of issue:
        ``ticket``, ``category``, ``window``, ``staff`` as text (``window`` and ``staff``
        missing where nobody served the ticket), the four times as ``datetime64[ns]`` (``NaT``
        where absent), ``outcome`` categorical over :data:`OUTCOMES`.
    rejected : pandas.DataFrame
        Every row not kept: ``row`` (its number in the source, the first data row being 1),
        ``column``, ``value`` and ``reason``.
    source : str or None
        Where the log was read from.
    rows_read : int
        Data rows in the source: always ``len(tickets) + len(rejected)``.
    """

    tickets: pd.DataFrame
    rejected: pd.DataFrame = field(default_factory=_empty_rejected)
    source: str | None = None
    rows_read: int | None = None

    def __post_init__(self) -> None:
        if self.rows_read is None:
            self.rows_read = len(self.tickets) + len(self.rejected)

    @property
    def days(self) -> pd.DatetimeIndex:
        """The dates on which tickets were issued."""
        return pd.DatetimeIndex(self.tickets["issued"].dt.normalize().unique()).sort_values()

    @property
    def categories(self) -> list[str]:
        """The categories in the log, sorted."""
        return sorted(self.tickets["category"].unique().tolist())

    def summary(self) -> pd.Series:
        """Rows read, kept and rejected (also by reason), days, first and last day, and
        categories."""
        return _summary(self, "log", len(self.tickets))

    def arrival_counts(self, interval_min: int = 30) -> pd.DataFrame:
        """Tickets issued per date, interval of ``interval_min`` and category.

        Every ticket counts (also those that balked or were refused by a cap: they arrived).
        Returns ``date, interval_start`` (minutes of day), ``category``, ``arrivals``, on the
        full grid: every day of the log x every interval from the first one with a ticket to
        the last one x every category, zeros included.
        """
        issued = self.tickets["issued"]
        return _counts_grid(
            issued.dt.normalize(),
            _minute_of_day(issued),
            self.tickets["category"].astype(str),
            np.ones(len(issued), dtype=np.int64),
            interval_min,
        )


@dataclass
class ArrivalCounts:
    """Arrival counts per interval.

    Attributes
    ----------
    counts : pandas.DataFrame
        ``time`` (start of the interval, ``datetime64[ns]``), ``category`` (text;
        ``"all"`` for counts kept without one), ``count`` (int >= 0), in order of time.
    interval_min : int
        The length of the intervals counted, in minutes.
    rejected, source, rows_read
        As for :class:`TicketLog`.
    """

    counts: pd.DataFrame
    interval_min: int
    rejected: pd.DataFrame = field(default_factory=_empty_rejected)
    source: str | None = None
    rows_read: int | None = None

    def __post_init__(self) -> None:
        if self.rows_read is None:
            self.rows_read = len(self.counts) + len(self.rejected)

    @property
    def days(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.counts["time"].dt.normalize().unique()).sort_values()

    @property
    def categories(self) -> list[str]:
        return sorted(self.counts["category"].unique().tolist())

    def summary(self) -> pd.Series:
        """Rows read, kept and rejected (also by reason), days, categories, the interval and
        the tickets counted."""
        return _summary(
            self,
            "counts",
            len(self.counts),
            interval_min=self.interval_min,
            tickets=int(self.counts["count"].sum()),
        )

    def arrival_counts(self, interval_min: int | None = None) -> pd.DataFrame:
        """The counts on the grid of :meth:`TicketLog.arrival_counts`, in intervals of
        ``interval_min`` (a multiple of :attr:`interval_min`; default: as kept)."""
        step = self.interval_min if interval_min is None else int(interval_min)
        if step % self.interval_min:
            raise ValueError(
                f"interval_min must be a multiple of the counts' {self.interval_min} minutes "
                f"(got {interval_min!r})"
            )
        time = self.counts["time"]
        return _counts_grid(
            time.dt.normalize(),
            _minute_of_day(time),
            self.counts["category"].astype(str),
            self.counts["count"].to_numpy(dtype=np.int64),
            step,
        )


def _summary(history: TicketLog | ArrivalCounts, name: str, kept: int, **extra) -> pd.Series:
    """Rows read, kept and rejected (also by reason), days, first and last day, categories,
    then ``extra``, of a log or of counts."""
    days = history.days
    items = {
        "source": history.source,
        "rows_read": history.rows_read,
        "kept": kept,
        "rejected": len(history.rejected),
    }
    for reason, count in history.rejected["reason"].value_counts().sort_index().items():
        items[f"rejected: {reason}"] = int(count)
    items.update(
        {
            "days": len(days),
            "first_day": days[0].date() if len(days) else None,
            "last_day": days[-1].date() if len(days) else None,
            "categories": len(history.categories),
            **extra,
        }
    )
    return pd.Series(items, name=name, dtype=object)


def _minute_of_day(times: pd.Series) -> np.ndarray:
    return ((times - times.dt.normalize()) / pd.Timedelta(minutes=1)).to_numpy(dtype=float)


def _counts_grid(dates, minutes, categories, weights, interval_min: int) -> pd.DataFrame:
    """Sum ``weights`` per (date, interval, category) on the full grid."""
    if isinstance(interval_min, bool) or not isinstance(interval_min, int | np.integer):
        raise ValueError(f"interval_min must be a whole number of minutes (got {interval_min!r})")
    if not 1 <= interval_min <= 1440 or 1440 % interval_min:
        raise ValueError(f"interval_min must divide a day of 1440 minutes (got {interval_min!r})")
    columns = ["date", "interval_start", "category", "arrivals"]
    if len(dates) == 0:
        return pd.DataFrame({name: [] for name in columns})
    start = (np.floor(minutes / interval_min) * interval_min).astype(np.int64)
    observed = pd.DataFrame(
        {"date": dates.to_numpy(), "interval_start": start, "category": categories.to_numpy()}
    )
    observed["arrivals"] = weights
    summed = observed.groupby(["date", "interval_start", "category"], sort=True)["arrivals"].sum()
    grid = pd.MultiIndex.from_product(
        [
            np.sort(observed["date"].unique()),
            np.arange(start.min(), start.max() + 1, interval_min),
            sorted(observed["category"].unique()),
        ],
        names=["date", "interval_start", "category"],
    )
    table = summed.reindex(grid, fill_value=0).reset_index()
    table["arrivals"] = table["arrivals"].astype(np.int64)
    return table


# --- reading -------------------------------------------------------------------------------

CSV_SUFFIXES = (".csv", ".txt")
PARQUET_SUFFIXES = (".parquet",)
TEXT_COLUMNS = ("ticket", "category", "window", "staff")
NOT_SERVED = ("abandoned", "balked", "capped", "no_show")  # outcomes of tickets never served
ENCODINGS = ("utf-8-sig", "gb18030")  # tried in turn; utf-8-sig also reads UTF-8 without a BOM
ERRORS = ("report", "raise")
_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default text dtype
_DAY_NS = 86_400 * 10**9
_MINUTE_NS = 60 * 10**9

# A time as logs write it: a date (year first, "-" or "/"), optionally a time of day to the
# minute, second or fraction of a second and then optionally a UTC offset. Only such text is
# handed to pandas: its ISO parser would also read "2026" or "2026-03" as a date (the first
# day). The offset is dropped (the wall time is kept) by _OFFSET.
_TIME = (
    r"^\d{4}[-/]\d\d?[-/]\d\d?"
    r"(?:[ T]\d\d?:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:\s*(?:Z|[+-]\d\d(?::?\d\d)?))?)?$"
)
_OFFSET = r"(:\d\d(?:\.\d+)?)\s*(?:Z|[+-]\d\d(?::?\d\d)?)$"

# Why a row is rejected, in the order the checks apply (a row gets the first that fits).
LOG_REASONS = (
    "missing value",
    "unparsable time",
    "called before issued",
    "start before issued",
    "start before called",
    "end before start",
    "end before issued",
    "unknown outcome",
    "outcome contradicts times",
    "duplicate ticket",
)
COUNT_REASONS = (
    "missing value",
    "unparsable time",
    "count not a whole number >= 0",
    "off the interval grid",
    "duplicate time and category",
)


def read_log(
    source: str | os.PathLike | pd.DataFrame | Any,
    columns: Mapping[str, str] | None = None,
    *,
    table: str | None = None,
    query: str | None = None,
    encoding: str | None = None,
    outcomes: Mapping[str, str] | None = None,
    errors: str = "report",
) -> TicketLog:
    """Read and check a ticket log.

    Parameters
    ----------
    source : str, path, pandas.DataFrame or sqlalchemy Engine
        A CSV file (``.csv``, ``.txt``; comma, tab, semicolon or ``|`` separated), a Parquet
        file (``.parquet``), a DataFrame, or a database: an SQLAlchemy URL such as
        ``"sqlite:///hall.db"`` or an Engine, with ``table=`` or ``query=``.
    columns : mapping, optional
        The source's headers to the names of :data:`LOG_COLUMNS`, e.g. ``{"取号时间":
        "issued", "业务类型": "category", "票号": "ticket"}``. Headers the schema does not
        know are ignored; ``ticket``, ``category`` and ``issued`` must be there.
    table, query : str, optional
        For a database: the table to read, or an SQL query whose result is the log.
    encoding : str, optional
        A CSV file's encoding. By default UTF-8 (with or without a byte-order mark) is tried,
        then GB18030 (which includes GBK and GB2312).
    outcomes : mapping, optional
        The source's own outcome values to :data:`OUTCOMES`, e.g. ``{"已办结": "served",
        "过号": "no_show", "弃号": "abandoned"}``. The schema's own names are read in any
        letter case.
    errors : {"report", "raise"}
        ``"report"``: keep the good rows, list the bad ones in ``.rejected``. ``"raise"``:
        raise :class:`~hallsim.errors.LogError` at the first bad row.

    Returns
    -------
    TicketLog
        The rows kept, typed as :class:`TicketLog` says, in order of issue; the rows
        rejected, with ``row`` (the first data row is 1), ``column``, ``value`` and
        ``reason``; always ``len(tickets) + len(rejected) == rows_read``.

    Raises
    ------
    LogError
        The source cannot be read (no such file, unknown kind of file, undecodable text, a
        malformed CSV, a database error), a required column is absent, ``columns=`` or
        ``outcomes=`` map to names the schema does not have; or, with ``errors="raise"``, the
        first bad row, by row, column, value and reason.

    Notes
    -----
    Cells are stripped of surrounding blanks; an empty cell is a missing value. Times are
    read by pandas from text such as ``2026-03-02 09:14:05``, ``2026-03-02T09:14`` or
    ``2026/03/02 09:14:05`` (a date alone is midnight); a UTC offset is dropped, keeping the
    wall time the hall's clock showed; datetime columns (Parquet, databases) are taken as
    they are, time-zone aware ones as wall time too.

    Each row gets the first of these reasons that fits, and is rejected: ``missing value``
    (``ticket``, ``category`` or ``issued`` empty), ``unparsable time``, ``called before
    issued``, ``start before issued``, ``start before called``, ``end before start``,
    ``end before issued``, ``unknown outcome``, ``outcome contradicts times``, ``duplicate
    ticket``. An outcome contradicts the times when a ``served`` ticket lacks its start or
    its end, a ticket never served (``abandoned``, ``balked``, ``capped``, ``no_show``) has
    a start, or one still ``in_system`` has an end. Of tickets sharing an id, the first
    otherwise good one is kept, so ids are unique in the log (ticket numbers that restart
    every day need the date in them first).

    A missing outcome (no ``outcome`` column, or an empty cell) is inferred from the times:
    a ticket with a start was ``served`` if it has an end too, else it is ``in_system``
    (still being served); one without a start but called is a ``no_show``; one neither
    called nor started but with an end left: ``abandoned`` (a log cannot tell balking or a
    daily cap from this); one with nothing after its issue is ``in_system``.

    Examples
    --------
    >>> log = read_log(  # doctest: +SKIP
    ...     "tickets.csv",
    ...     {"取号时间": "issued", "业务类型": "category", "票号": "ticket"},
    ...     outcomes={"已办结": "served", "弃号": "abandoned"},
    ... )
    >>> log.summary()  # doctest: +SKIP
    """
    _check_errors(errors)
    lookup = _outcome_lookup(outcomes)
    frame, label = _read_source(source, table=table, query=query, encoding=encoding)
    raw = _schema_columns(frame, columns, LOG_COLUMNS, REQUIRED_COLUMNS, label)
    n = len(frame)
    text = {
        name: _as_text(raw[name]) if name in raw else pd.Series(np.nan, range(n), dtype=_STR)
        for name in (*TEXT_COLUMNS, "outcome")
    }
    times, blank, unparsable = {}, {}, {}
    for name in TIME_COLUMNS:
        if name in raw:
            times[name], blank[name], unparsable[name] = _parse_times(raw[name])
        else:
            times[name] = pd.Series(pd.NaT, range(n), dtype="datetime64[ns]")
            blank[name] = unparsable[name] = np.zeros(n, dtype=bool)
    issued, called, start, end = (times[name] for name in TIME_COLUMNS)
    has_called, has_start, has_end = (times[name].notna().to_numpy() for name in TIME_COLUMNS[1:])

    checks = _Checks(n, LOG_REASONS, LOG_COLUMNS)
    for name in REQUIRED_COLUMNS:
        checks.flag(
            "missing value", name, blank["issued"] if name == "issued" else text[name].isna()
        )
    for name in TIME_COLUMNS:
        checks.flag("unparsable time", name, unparsable[name])
    checks.flag("called before issued", "called", called < issued)
    checks.flag("start before issued", "start", start < issued)
    checks.flag("start before called", "start", start < called)
    checks.flag("end before start", "end", end < start)
    checks.flag("end before issued", "end", end < issued)

    given = text["outcome"].notna().to_numpy()
    codes = _outcome_codes(text["outcome"], lookup)  # -1: missing or unknown
    checks.flag("unknown outcome", "outcome", given & (codes < 0))
    code = {name: i for i, name in enumerate(OUTCOMES)}
    contradicts = (
        ((codes == code["served"]) & ~(has_start & has_end))
        | (np.isin(codes, [code[name] for name in NOT_SERVED]) & has_start)
        | ((codes == code["in_system"]) & has_end)
    )
    checks.flag("outcome contradicts times", "outcome", given & contradicts)
    inferred = np.select(
        [has_start & has_end, has_start, has_called, has_end],
        [code["served"], code["in_system"], code["no_show"], code["abandoned"]],
        code["in_system"],
    )
    codes = np.where(given, codes, inferred)

    ok = checks.ok()
    repeated = np.zeros(n, dtype=bool)
    repeated[ok] = text["ticket"][ok].duplicated(keep="first").to_numpy()
    checks.flag("duplicate ticket", "ticket", repeated)

    rejected = checks.rejected(raw, label, errors)
    keep = checks.ok()
    tickets = pd.DataFrame(
        {
            **{name: text[name] for name in ("ticket", "category")},
            **times,
            **{name: text[name] for name in ("window", "staff")},
            "outcome": pd.Categorical.from_codes(codes.astype(np.int8), categories=OUTCOMES),
        }
    )[keep]
    tickets = tickets.sort_values("issued", kind="stable", ignore_index=True)
    return TicketLog(_typed_tickets(tickets), rejected, source=label, rows_read=n)


def read_counts(
    source: str | os.PathLike | pd.DataFrame | Any,
    columns: Mapping[str, str] | None = None,
    *,
    table: str | None = None,
    query: str | None = None,
    encoding: str | None = None,
    interval_min: int | None = None,
    errors: str = "report",
) -> ArrivalCounts:
    """Read and check arrival counts: tickets issued per interval, optionally per category.

    Parameters
    ----------
    source, columns, table, query, encoding, errors
        As for :func:`read_log`; the schema's names are :data:`COUNT_COLUMNS`: ``time`` (the
        start of the interval), ``category`` (optional: without it every count is of
        category ``"all"``) and ``count``.
    interval_min : int, optional
        The intervals' length in minutes (dividing a day). By default it is inferred: the
        greatest common divisor of the differences between the times of a day; when that is
        not also the most common difference (a stray time, or intervals of two lengths), a
        :class:`~hallsim.errors.LogError` asks for it instead of guessing.

    Returns
    -------
    ArrivalCounts
        Counts in order of time and category; rejected rows as for :func:`read_log`.

    Notes
    -----
    A row is rejected, with the first reason that fits: ``missing value`` (``time``,
    ``count``, or ``category`` when there is such a column), ``unparsable time`` (times as
    for :func:`read_log`), ``count not a whole number >= 0``, ``off the interval grid`` (a
    time that is not a whole number of intervals after midnight), ``duplicate time and
    category`` (the first good one is kept).
    """
    _check_errors(errors)
    step = None if interval_min is None else _check_interval(interval_min)
    frame, label = _read_source(source, table=table, query=query, encoding=encoding)
    raw = _schema_columns(frame, columns, COUNT_COLUMNS, ("time", "count"), label)
    n = len(frame)
    time, time_blank, time_unparsable = _parse_times(raw["time"])
    if "category" in raw:
        category = _as_text(raw["category"])
    else:
        category = pd.Series(ALL_CATEGORIES, range(n), dtype=_STR)
    count = raw["count"].reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(count.dtype) and not pd.api.types.is_bool_dtype(count.dtype):
        number = count.astype(float).to_numpy()
        count_blank = np.isnan(number)
    else:
        count_text = _as_text(count)
        count_blank = count_text.isna().to_numpy()
        number = pd.to_numeric(count_text, errors="coerce").to_numpy(dtype=float)

    checks = _Checks(n, COUNT_REASONS, COUNT_COLUMNS)
    checks.flag("missing value", "time", time_blank)
    if "category" in raw:
        checks.flag("missing value", "category", category.isna())
    checks.flag("missing value", "count", count_blank)
    checks.flag("unparsable time", "time", time_unparsable)
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(number) & (number >= 0) & (number == np.floor(number))
        whole &= number <= 2.0**53  # beyond, a float no longer holds every whole number
    checks.flag("count not a whole number >= 0", "count", ~whole)

    ns = time.to_numpy(dtype="datetime64[ns]").view(np.int64)
    if step is None:
        step = _infer_interval(ns[checks.ok()], label)
    checks.flag("off the interval grid", "time", checks.ok() & (ns % (step * _MINUTE_NS) != 0))
    ok = checks.ok()
    repeated = np.zeros(n, dtype=bool)
    repeated[ok] = (
        pd.DataFrame({"time": time[ok], "category": category[ok]}).duplicated().to_numpy()
    )
    checks.flag("duplicate time and category", "time", repeated)

    rejected = checks.rejected(raw, label, errors)
    keep = checks.ok()
    counts = pd.DataFrame(
        {
            "time": time[keep].to_numpy(),
            "category": category[keep].astype(_STR).reset_index(drop=True),
            "count": number[keep].astype(np.int64),
        }
    )
    counts = counts.sort_values(["time", "category"], kind="stable", ignore_index=True)
    return ArrivalCounts(counts, step, rejected, source=label, rows_read=n)


def _check_errors(errors: str) -> None:
    if not isinstance(errors, str) or errors not in ERRORS:
        raise ValueError(f'errors must be "report" or "raise" (got {errors!r})')


def _check_interval(interval_min) -> int:
    if isinstance(interval_min, bool) or not isinstance(interval_min, int | np.integer):
        raise ValueError(f"interval_min must be a whole number of minutes (got {interval_min!r})")
    if not 1 <= interval_min <= 1440 or 1440 % interval_min:
        raise ValueError(f"interval_min must divide a day of 1440 minutes (got {interval_min!r})")
    return int(interval_min)


def _infer_interval(ns: np.ndarray, label: str) -> int:
    """The interval of counts at the times ``ns`` (int64 nanoseconds): the greatest common
    divisor of the differences between successive times of a day, if it is also the most
    common difference; otherwise the times do not say it and LogError asks for it."""
    ask = "pass interval_min= (minutes)"
    times = np.unique(ns)
    same_day = times[1:] // _DAY_NS == times[:-1] // _DAY_NS
    gaps = np.diff(times)[same_day]
    if gaps.size == 0:
        raise LogError(
            f"cannot infer the interval: no day has two valid times; {ask}", source=label
        )
    step = int(np.gcd.reduce(gaps))
    values, frequency = np.unique(gaps, return_counts=True)
    common = int(values[frequency.argmax()])
    if step != common:
        raise LogError(
            f"cannot infer the interval: times are mostly {common / _MINUTE_NS:g} minutes "
            f"apart, but some only {step / _MINUTE_NS:g} minutes apart; {ask}",
            source=label,
        )
    if step % _MINUTE_NS or 1440 % (step // _MINUTE_NS):
        raise LogError(
            f"cannot infer the interval: the times are {step / _MINUTE_NS:g} minutes apart, "
            f"which does not divide a day into whole minutes; {ask}",
            source=label,
        )
    return step // _MINUTE_NS


class _Checks:
    """The first reason (and its column) each row is rejected for, as the checks apply."""

    def __init__(self, n: int, reasons: tuple[str, ...], columns: tuple[str, ...]) -> None:
        self.reasons, self.columns = reasons, columns
        self.reason = np.full(n, -1, dtype=np.int8)  # -1: kept so far
        self.column = np.full(n, -1, dtype=np.int8)

    def flag(self, reason: str, column: str, bad) -> None:
        new = np.asarray(bad, dtype=bool) & (self.reason < 0)
        self.reason[new] = self.reasons.index(reason)
        self.column[new] = self.columns.index(column)

    def ok(self) -> np.ndarray:
        return self.reason < 0

    def rejected(self, raw: dict[str, pd.Series], label: str, errors: str) -> pd.DataFrame:
        """The rejected rows as a table, or (``errors="raise"``) LogError on the first."""
        bad = np.flatnonzero(self.reason >= 0)
        values = np.empty(bad.size, dtype=object)
        for k, name in enumerate(self.columns):
            here = self.column[bad] == k
            if here.any():
                cells = raw[name].iloc[bad[here]].astype(object)
                values[here] = cells.where(cells.notna(), "").to_numpy()
        reasons = np.array(self.reasons, dtype=object)[self.reason[bad]]
        columns = np.array(self.columns, dtype=object)[self.column[bad]]
        if errors == "raise" and bad.size:
            raise LogError(
                reasons[0],
                source=label,
                row=int(bad[0]) + 1,
                column=columns[0],
                value=values[0],
                has_value=True,
            )
        table = _empty_rejected()
        if bad.size:
            table = pd.DataFrame(
                {
                    "row": (bad + 1).astype(np.int64),
                    "column": pd.Series(columns, dtype=object),
                    "value": pd.Series(values, dtype=object),
                    "reason": pd.Series(reasons, dtype=object),
                }
            )
        return table


def _outcome_lookup(outcomes: Mapping[str, str] | None) -> dict[str, str]:
    """The source's outcome values (stripped) to the schema's."""
    if outcomes is None:
        return {}
    if not isinstance(outcomes, Mapping):
        raise ValueError(f"outcomes must map the source's values to outcomes (got {outcomes!r})")
    unknown = {key: value for key, value in outcomes.items() if value not in OUTCOMES}
    if unknown:
        raise LogError(
            f"outcomes= maps {_shown(unknown)} to values that are not outcomes; the outcomes "
            f"are {', '.join(OUTCOMES)}"
        )
    return {str(key).strip(): value for key, value in outcomes.items()}


def _outcome_codes(text: pd.Series, lookup: dict[str, str]) -> np.ndarray:
    """Codes of :data:`OUTCOMES` for the outcome cells; -1 where missing or unknown."""
    values, uniques = pd.factorize(text)  # values -1 where missing
    own = {name.casefold(): i for i, name in enumerate(OUTCOMES)}
    table = np.array(
        [
            OUTCOMES.index(lookup[value]) if value in lookup else own.get(value.casefold(), -1)
            for value in uniques
        ]
        + [-1],
        dtype=np.int64,
    )
    return table[values]  # index -1 picks the final -1


def _read_source(source, *, table, query, encoding) -> tuple[pd.DataFrame, str]:
    """The source as a DataFrame (CSV: every column text) and a label naming it."""
    if isinstance(source, pd.DataFrame):
        _only_for_sql(table, query, encoding, "a DataFrame")
        return source, "DataFrame"
    if _is_database(source):
        if encoding is not None:
            raise ValueError("encoding= applies to CSV files only")
        return _read_sql(source, table=table, query=query)
    if not isinstance(source, str | os.PathLike):
        raise TypeError(
            "source must be a CSV or Parquet path, a DataFrame, an SQL URL or an SQLAlchemy "
            f"Engine (got {type(source).__name__})"
        )
    label = os.fspath(source)
    path = Path(source)
    suffix = path.suffix.lower()
    _only_for_sql(table, query, None, "a file")
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        raise LogError(
            f"unknown kind of file {suffix or '(no extension)'!r}: hallsim reads CSV (.csv, "
            ".txt) and Parquet (.parquet) files, DataFrames and SQL URLs",
            source=label,
        )
    if not path.is_file():
        raise LogError("no such file", source=label)
    if suffix in CSV_SUFFIXES:
        return _read_csv(path, label, encoding), label
    if encoding is not None:
        raise ValueError("encoding= applies to CSV files only")
    try:
        return pd.read_parquet(path), label
    except (OSError, ValueError, pa.ArrowException) as error:
        raise LogError(f"cannot read it as Parquet: {error}", source=label) from None


def _only_for_sql(table, query, encoding, what: str) -> None:
    if table is not None or query is not None:
        raise ValueError(f"table= and query= apply to databases, not to {what}")
    if encoding is not None:
        raise ValueError(f"encoding= applies to CSV files, not to {what}")


def _read_csv(path: Path, label: str, encoding: str | None) -> pd.DataFrame:
    fix = "save it as UTF-8, or pass encoding=..."
    with path.open("rb") as file:
        head = file.read(1 << 16)
    if encoding is None:
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head:
            raise LogError(
                f"cannot decode the file: it looks like UTF-16 or binary; {fix}", source=label
            )
        candidates = ENCODINGS
    else:
        try:
            codecs.lookup(encoding)
        except (LookupError, TypeError):
            raise ValueError(f"unknown encoding {encoding!r}") from None
        candidates = (encoding,)
    first_line = head.decode(candidates[0], errors="replace").splitlines()[:1]
    separator = _separator(first_line[0] if first_line else "")
    options = {"sep": separator, "dtype": str, "keep_default_na": False, "na_values": [""]}
    for name in candidates:
        try:
            try:  # pyarrow's reader is several times faster ...
                return pd.read_csv(path, encoding=name, engine="pyarrow", **options)
            except pd.errors.ParserError:  # ... but refuses rows short of fields: pad them
                # index_col=False: a row with a field more than the header must not make its
                # first field the index (shifting every column); an empty one (a comma at
                # the end of the line) is dropped, one with a value warns: refused below
                with warnings.catch_warnings():
                    warnings.simplefilter("error", pd.errors.ParserWarning)
                    return pd.read_csv(path, encoding=name, engine="c", index_col=False, **options)
        except UnicodeError:
            continue
        except pd.errors.ParserWarning:
            raise LogError(
                "not a well-formed CSV file: a row has more values than the header has columns",
                source=label,
            ) from None
        except pd.errors.EmptyDataError:
            raise LogError("the file is empty: no header row", source=label) from None
        except pd.errors.ParserError as error:
            message = str(error).strip().splitlines()[0]
            raise LogError(f"not a well-formed CSV file: {message}", source=label) from None
    tried = " or ".join(candidates)
    raise LogError(f"cannot decode the file as {tried}; {fix}", source=label)


def _separator(header: str) -> str:
    """The separator the header line uses most: comma, tab, semicolon or bar."""
    counts = {separator: header.count(separator) for separator in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _is_database(source) -> bool:
    if isinstance(source, str):
        return "://" in source
    if isinstance(source, pd.DataFrame | os.PathLike):
        return False
    from sqlalchemy.engine import Connection, Engine

    return isinstance(source, Engine | Connection)


def _read_sql(source, *, table, query) -> tuple[pd.DataFrame, str]:
    import sqlalchemy as sa

    if (table is None) == (query is None):
        raise ValueError("a database source needs table= or query= (one of them)")
    own = isinstance(source, str)
    if own:
        try:
            url = sa.engine.make_url(source)
        except sa.exc.ArgumentError as error:
            raise LogError(f"not a database URL: {error}", source=source) from None
        name = url.render_as_string(hide_password=True)
        database = url.database or ""
        if url.get_backend_name() == "sqlite" and database not in ("", ":memory:"):
            if not database.startswith("file:") and not Path(database).is_file():
                raise LogError("no such database file", source=name)
        try:
            engine = sa.create_engine(url)
        except (sa.exc.SQLAlchemyError, ImportError) as error:
            raise LogError(f"cannot open the database: {error}", source=name) from None
    else:
        engine = source
        name = source.engine.url.render_as_string(hide_password=True)
    label = f"{name} (table {table})" if table is not None else f"{name} (query)"
    try:
        if table is not None:
            frame = pd.read_sql_table(table, engine)
        else:
            frame = pd.read_sql_query(query, engine)
    except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError, ValueError) as error:
        message = str(error).splitlines()[0]
        raise LogError(f"cannot read from the database: {message}", source=label) from None
    finally:
        if own:
            engine.dispose()
    return frame, label


def _schema_columns(
    frame: pd.DataFrame,
    columns: Mapping[str, str] | None,
    schema: tuple[str, ...],
    required: tuple[str, ...],
    label: str,
) -> dict[str, pd.Series]:
    """The source's columns under the schema's names (``columns`` renames headers; others
    are dropped), each with a fresh 0..n-1 index."""
    if columns is None:
        columns = {}
    if not isinstance(columns, Mapping):
        raise ValueError(f"columns must map the source's headers to {schema} (got {columns!r})")
    unknown = {key: value for key, value in columns.items() if value not in schema}
    if unknown:
        raise LogError(
            f"columns= maps {_shown(unknown)} to names not in the schema; its names are "
            f"{', '.join(schema)}",
            source=label,
        )
    renames = {str(key).strip(): value for key, value in columns.items()}
    headers = [str(header).strip() for header in frame.columns]
    found: dict[str, list[int]] = {}
    for position, header in enumerate(headers):
        name = renames.get(header, header)
        if name in schema:
            found.setdefault(name, []).append(position)
    has = f"the source has columns {_shown(headers)}"
    for name, positions in found.items():
        if len(positions) > 1:
            twice = [headers[position] for position in positions]
            raise LogError(f"more than one column would be {name!r}: {_shown(twice)}", source=label)
    missing = [name for name in required if name not in found]
    if missing:
        raise LogError(
            f"no column {', '.join(map(repr, missing))} (map the source's headers with "
            f"columns={{header: name}}); {has}",
            source=label,
        )
    return {
        name: frame.iloc[:, positions[0]].reset_index(drop=True)
        for name, positions in found.items()
    }


def _shown(items, limit: int = 30) -> str:
    text = repr(items if len(items) <= limit else list(items)[:limit] + ["..."])
    return text


def _as_text(values: pd.Series) -> pd.Series:
    """Cells as stripped text, missing where empty. Whole floats (a column of integers with
    gaps) are written without ``.0``."""
    if pd.api.types.is_float_dtype(values.dtype):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        present = numbers[~np.isnan(numbers)]
        if np.isfinite(present).all() and (present == np.round(present)).all():
            if present.size == 0 or np.abs(present).max() < 2.0**53:
                values = values.astype("Int64")
    text = values.astype(_STR).str.strip()
    return text.mask(text == "").reset_index(drop=True)


def _parse_times(values: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """The cells as ``datetime64[ns]`` wall times, and where they are empty and where not
    empty but unreadable (not a time, or out of the years datetime64[ns] holds)."""
    values = values.reset_index(drop=True)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)  # wall time
    if pd.api.types.is_datetime64_dtype(values.dtype):
        parsed, blank = values, values.isna().to_numpy()
    else:
        text = _as_text(values)
        blank = text.isna().to_numpy()
        cells = pa.array(text, type=pa.large_string(), from_pandas=True)
        valid = pc.fill_null(pc.match_substring_regex(cells, _TIME), False)
        if pc.any(pc.match_substring_regex(cells, _OFFSET)).as_py():
            cells = pc.replace_substring_regex(cells, _OFFSET, r"\1")
        wall = pc.if_else(valid, cells, None)
        try:  # Arrow's strict ISO cast: ten times faster; it refuses 2026-02-30 and 25:00 ...
            parsed = pd.Series(
                pc.cast(wall, pa.timestamp("ns")).to_numpy(zero_copy_only=False),
                dtype="datetime64[ns]",
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            # ... and any form it does not know ("/", single digits) sends the column to
            # pandas' ISO parser, which reads every form the pattern admits and turns the
            # impossible dates and times into NaT
            wall = pd.Series(pd.array(wall, dtype=_STR))
            parsed = pd.to_datetime(wall, format="ISO8601", errors="coerce")
    if parsed.dtype != "datetime64[ns]":
        inside = (parsed >= pd.Timestamp.min) & (parsed <= pd.Timestamp.max)
        parsed = parsed.where(inside).astype("datetime64[ns]")
    unparsable = ~blank & parsed.isna().to_numpy()
    return parsed, blank, unparsable


def _typed_tickets(tickets: pd.DataFrame) -> pd.DataFrame:
    """The log's columns typed as :class:`TicketLog` says."""
    typed = {}
    for name in LOG_COLUMNS:
        column = tickets[name]
        if name in TIME_COLUMNS:
            typed[name] = column.astype("datetime64[ns]")
        elif name == "outcome":
            typed[name] = column.astype(pd.CategoricalDtype(OUTCOMES))
        else:
            typed[name] = column.astype(_STR)
    return pd.DataFrame(typed, index=tickets.index)


# --- writing -------------------------------------------------------------------------------


def write_log(
    log_or_results: TicketLog | ArrivalCounts | Results,
    path_or_url: str | os.PathLike | Any,
    *,
    table: str | None = None,
    start_date: str | None = None,
    replication: int = 0,
) -> None:
    """Write a ticket log, simulated results or arrival counts.

    Parameters
    ----------
    log_or_results : TicketLog, ArrivalCounts or hallsim.Results
        Results are written as the log of one replication (:meth:`hallsim.Results.to_log`
        with ``start_date`` and ``replication``).
    path_or_url : str, path or sqlalchemy Engine
        A CSV file (``.csv``, ``.txt``: UTF-8, comma separated, ISO times, empty cells for
        missing values), a Parquet file (``.parquet``), or a database (an SQLAlchemy URL or
        Engine), where the table ``table`` is replaced.
    table : str, optional
        The database table; default ``"tickets"`` for a log, ``"arrival_counts"`` for counts.
    start_date, replication
        For results only: see :meth:`hallsim.Results.to_log`.

    Notes
    -----
    :func:`read_log` (:func:`read_counts`) reads what this writes back into an equal table:
    ``tickets`` in the columns of :data:`LOG_COLUMNS` (``counts`` in :data:`COUNT_COLUMNS`).
    """
    from .results import Results

    if isinstance(log_or_results, Results):
        log_or_results = log_or_results.to_log(start_date, replication=replication)
    elif isinstance(log_or_results, TicketLog | ArrivalCounts):
        if start_date is not None or replication != 0:
            raise ValueError("start_date and replication apply to Results, not to a log")
    else:
        raise TypeError(
            "write_log writes a TicketLog, ArrivalCounts or hallsim.Results "
            f"(got {type(log_or_results).__name__})"
        )
    if isinstance(log_or_results, TicketLog):
        frame = log_or_results.tickets[list(LOG_COLUMNS)]
        frame = frame.assign(outcome=frame["outcome"].astype(_STR))
        default_table = "tickets"
    else:
        frame = log_or_results.counts[list(COUNT_COLUMNS)]
        default_table = "arrival_counts"
    if _is_database(path_or_url):
        _write_sql(frame, path_or_url, table or default_table)
        return
    if not isinstance(path_or_url, str | os.PathLike):
        raise TypeError(
            "path_or_url must be a CSV or Parquet path, an SQL URL or an SQLAlchemy Engine "
            f"(got {type(path_or_url).__name__})"
        )
    if table is not None:
        raise ValueError("table= applies to databases, not to files")
    path = Path(path_or_url)
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        frame.to_csv(path, index=False, encoding="utf-8", na_rep="")
    elif suffix in PARQUET_SUFFIXES:
        frame.to_parquet(path, index=False)
    else:
        raise ValueError(
            f"{os.fspath(path_or_url)}: unknown kind of file {suffix or '(no extension)'!r}: "
            "hallsim writes CSV (.csv, .txt) and Parquet (.parquet) files and SQL URLs"
        )


def _write_sql(frame: pd.DataFrame, url_or_engine, table: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        frame.to_sql(table, engine, if_exists="replace", index=False)
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()


def log_from_results(results, start_date: str | None, replication: int) -> TicketLog:
    """The ticket log of one replication of ``results`` (see
    :meth:`hallsim.Results.to_log`)."""
    from .scenario import WEEKDAYS

    if results.tickets is None:
        raise ValueError("these results kept no tickets (simulate(..., keep_tickets=True))")
    if (
        isinstance(replication, bool)
        or not isinstance(replication, int | np.integer)
        or not 0 <= replication < results.replications
    ):
        raise ValueError(
            f"replication must be one of 0..{results.replications - 1} (got {replication!r})"
        )
    first = WEEKDAYS.index(results.scenario.hall.first_weekday)
    if start_date is None:
        start_date = results.start_date
    if start_date is None:
        day0 = pd.Timestamp("2026-01-05")  # a Monday
        day0 += pd.Timedelta(days=first)
    else:
        try:
            day0 = pd.Timestamp(start_date)
        except (ValueError, TypeError):
            raise ValueError(f"start_date must be an ISO date (got {start_date!r})") from None
        if day0 != day0.normalize():
            raise ValueError(f"start_date must be a date without a time (got {start_date!r})")
        if day0.weekday() != first:
            raise ValueError(
                f"start_date {day0.date()} is a {WEEKDAYS[day0.weekday()]}, but the hall's "
                f"day 0 is a {WEEKDAYS[first]} (hall.first_weekday)"
            )
    table = results.tickets
    table = table[table["replication"].to_numpy() == replication]
    origin = np.datetime64(day0.to_datetime64(), "ns")

    def when(column: str) -> np.ndarray:
        minutes = table[column].to_numpy(dtype=float)
        # to the microsecond, as databases and Python's datetime keep times; NaN -> NaT
        return origin + np.round(minutes * 60e6).astype("timedelta64[us]")

    days = table["day"].to_numpy()
    number = table.groupby("day").cumcount().to_numpy() + 1
    dates = pd.DatetimeIndex(origin + days.astype("timedelta64[D]")).strftime("%Y%m%d")
    tickets = pd.DataFrame(
        {
            "ticket": (dates + "-" + pd.Index(number).astype(_STR).str.zfill(4)).to_numpy(),
            "category": table["category"].astype(str).to_numpy(),
            **{column: when(column) for column in TIME_COLUMNS},
            "window": table["window"].astype(object).where(table["window"].notna()).to_numpy(),
            "staff": table["staff"].astype(object).where(table["staff"].notna()).to_numpy(),
            "outcome": pd.Categorical(table["outcome"].astype(str), categories=OUTCOMES),
        }
    )
    tickets = tickets.sort_values("issued", kind="stable", ignore_index=True)
    return TicketLog(
        tickets=_typed_tickets(tickets), source=f"simulated: {results.scenario.name or 'hall'}"
    )
