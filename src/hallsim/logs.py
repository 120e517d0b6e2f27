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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .compile import OUTCOMES

__all__ = ["LOG_COLUMNS", "OUTCOMES", "ArrivalCounts", "TicketLog"]

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
        days = self.days
        items = {
            "source": self.source,
            "rows_read": self.rows_read,
            "kept": len(self.tickets),
            "rejected": len(self.rejected),
        }
        for reason, count in self.rejected["reason"].value_counts().sort_index().items():
            items[f"rejected: {reason}"] = int(count)
        items.update(
            {
                "days": len(days),
                "first_day": days[0].date() if len(days) else None,
                "last_day": days[-1].date() if len(days) else None,
                "categories": len(self.categories),
            }
        )
        return pd.Series(items, name="log", dtype=object)

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
        """Rows read, kept and rejected (also by reason), days, categories, tickets."""
        days = self.days
        items = {
            "source": self.source,
            "rows_read": self.rows_read,
            "kept": len(self.counts),
            "rejected": len(self.rejected),
        }
        for reason, count in self.rejected["reason"].value_counts().sort_index().items():
            items[f"rejected: {reason}"] = int(count)
        items.update(
            {
                "interval_min": self.interval_min,
                "days": len(days),
                "first_day": days[0].date() if len(days) else None,
                "last_day": days[-1].date() if len(days) else None,
                "categories": len(self.categories),
                "tickets": int(self.counts["count"].sum()),
            }
        )
        return pd.Series(items, name="counts", dtype=object)

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
        return origin + np.round(minutes * 60e9).astype("timedelta64[ns]")  # NaN -> NaT

    days = table["day"].to_numpy()
    number = table.groupby("day").cumcount().to_numpy() + 1
    dates = pd.DatetimeIndex(origin + days.astype("timedelta64[D]")).strftime("%Y%m%d")
    tickets = pd.DataFrame(
        {
            "ticket": [f"{d}-{n:04d}" for d, n in zip(dates, number, strict=True)],
            "category": table["category"].astype(str).to_numpy(),
            **{column: when(column) for column in TIME_COLUMNS},
            "window": table["window"].astype(object).where(table["window"].notna()).to_numpy(),
            "staff": table["staff"].astype(object).where(table["staff"].notna()).to_numpy(),
            "outcome": pd.Categorical(table["outcome"].astype(str), categories=OUTCOMES),
        }
    )
    tickets = tickets.sort_values("issued", kind="stable", ignore_index=True)
    return TicketLog(tickets=tickets, source=f"simulated: {results.scenario.name or 'hall'}")
