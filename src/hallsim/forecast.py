"""Forecasting arrivals: tickets per category, date and interval, from the hall's history.

:func:`forecast` fits, for each category, a generalised linear model (statsmodels) of the
tickets issued per date and interval with a log link::

    log E[count] = cell(day type, interval) + trend * (days since the history began)

The *day type* of a date is its weekday (``"mon"`` ... ``"sun"``) unless ``calendar`` gives
it a label of its own (``"holiday"``, or ``"mon"`` for a Saturday worked in lieu): each day
type has its own profile over the day, one coefficient per interval (the level is their
common part), and one linear trend in time, on the log scale (a constant growth rate per
week), is shared by all cells of the category.

The count is Poisson (``model="poisson"``) or negative binomial (NB2: variance ``mu + alpha
mu^2``). The dispersion ``alpha`` is estimated by maximum likelihood the way MASS's
``glm.nb`` does it (Venables & Ripley 2002, §7.4): starting from the Poisson fit, alternately
the ``alpha`` that maximises the negative binomial likelihood of the counts given the fitted
means (:func:`scipy.optimize.minimize_scalar` over ``log(alpha)`` in [1e-6, 10]) and the GLM
refitted (Newton's method) with that ``alpha``, until ``alpha`` changes by less than 1 % (or stays
below 1e-4: Poisson counts, whose likelihood is flat in ``alpha`` there). A value near 1e-6
means the counts are not over-dispersed: Poisson.

Sparse cells. A cell (day type, interval) in which the history has no ticket of the
category at all has no finite maximum-likelihood coefficient (its fitted rate tends to 0).
Such a cell is taken as *closed*: it is left out of the fit and forecast as 0, with the
interval ``[0, 0]``. So is every cell of a day type the history never shows (a hall closed
on Sundays, a holiday label no past date carries). ``Forecast.parameters`` counts them.

Prediction intervals. The ``confidence`` interval of the count of a future cell is drawn by
simulation (``seed``): 2000 coefficient vectors from the asymptotic normal distribution of
the estimates (mean and covariance of the fit), each giving a mean ``mu``; one count from
the fitted count distribution for each; the interval is the central ``confidence`` range of
these counts (sample quantiles), in arrivals per hour. The dispersion ``alpha`` is held at its
estimate. Counts are whole numbers, so an interval covers at least ``confidence`` of the
counts (noticeably more where the mean is small).

Back-test. The last ``backtest_weeks`` weeks of the history are each forecast by the model
refitted on the history before that week, and by the *seasonal-naive* forecast (the count of
the same interval on the same day last week). Cells are compared where both forecasts exist
(a date a week before a tested date that is not in the history has no naive forecast), by the
MAE and RMSE of the counts and the mean Poisson deviance (forecasts floored at 0.1 tickets
there: a zero forecast of a non-zero count has infinite deviance, and the naive forecast is
often 0). The model *beats* seasonal-naive when its overall MAE is lower; the report says
plainly when it does not. The back-test also gives the share of counts inside their
prediction intervals (the empirical coverage).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .clock import clock
from .logs import ArrivalCounts, TicketLog
from .scenario import WEEKDAYS, Scenario

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["MODELS", "Forecast", "forecast"]

#: The count models :func:`forecast` fits.
MODELS = ("poisson", "negative_binomial")

DRAWS = 2000  # simulated counts per cell for the prediction intervals
DRAW_BLOCK = 2_000_000  # simulated values held at once
DEVIANCE_FLOOR = 0.1  # tickets: the least forecast the back-test's deviance takes
ALPHA_BOUNDS = (1e-6, 10.0)  # the negative binomial dispersion searched
MAX_ALTERNATIONS = 10  # of the dispersion and the GLM, for the negative binomial
POISSON_ALPHA = 1e-4  # a dispersion below this adds under 1 % to the variance of 100 tickets
RATE_COLUMNS = (
    "category",
    "date",
    "day_type",
    "interval_start",
    "interval_min",
    "rate_per_hour",
    "rate_lo",
    "rate_hi",
)
BACKTEST_COLUMNS = (
    "week",
    "first_date",
    "last_date",
    "cells",
    "model_mae",
    "naive_mae",
    "model_rmse",
    "naive_rmse",
    "model_deviance",
    "naive_deviance",
    "coverage",
)


@dataclass(frozen=True)
class _Fit:
    """One category's fitted model: log-rates of its open cells, then the trend per week."""

    cells: pd.MultiIndex  # (day_type, interval_start) of the coefficients, in order
    params: np.ndarray
    cov: np.ndarray
    alpha: float  # 0 for the Poisson model
    t_mid: float  # the day the trend is measured from (mean of the fitted days)
    closed: int  # cells seen in the history with no ticket


@dataclass(repr=False)
class Forecast:
    """Forecast arrivals of a hall, with their back-test.

    Attributes
    ----------
    rates : pandas.DataFrame
        One row per category, forecast date and interval: ``category, date, day_type,
        interval_start`` (minutes of day), ``interval_min``, ``rate_per_hour`` (the mean
        forecast) and ``rate_lo, rate_hi`` (the prediction interval at ``confidence``, in
        arrivals per hour).
    backtest : pandas.DataFrame
        One row per week tested (``week`` is its first date, ISO) and one ``"overall"``:
        ``first_date, last_date, cells`` (category x date x interval compared),
        ``model_mae, naive_mae, model_rmse, naive_rmse`` (counts per cell),
        ``model_deviance, naive_deviance`` (mean Poisson deviance) and ``coverage`` (share of
        counts inside the model's prediction intervals). Empty with ``backtest_weeks=0``.
    beats_naive : bool or None
        Whether the model's overall back-test MAE is below seasonal-naive's (``None``
        without a back-test).
    history : pandas.DataFrame
        The counts the model was fitted to: ``date, interval_start, category, arrivals,
        day_type``.
    parameters : pandas.DataFrame
        Per category: ``model``, ``alpha`` (negative binomial dispersion; 0 for Poisson),
        ``trend_per_week`` (the factor by which the rate grows in a week: ``exp`` of the trend),
        ``cells`` fitted, ``closed_cells`` (seen with no ticket: forecast 0), ``tickets``.
    start, days, interval_min, confidence, model
        As passed to :func:`forecast`.
    attrs : dict
        ``unseen_day_types`` (forecast day types the history never shows open: forecast 0),
        ``draws``, ``deviance_floor``, ``seed``; :meth:`to_scenario` adds ``scenario``.
    """

    rates: pd.DataFrame
    backtest: pd.DataFrame
    beats_naive: bool | None
    history: pd.DataFrame
    parameters: pd.DataFrame
    start: pd.Timestamp
    days: int
    interval_min: int
    confidence: float
    model: str
    attrs: dict = field(default_factory=dict)
    _service: Any = None  # the service passed to forecast()
    _log_service: pd.DataFrame | None = None  # service per category measured in the log

    def __repr__(self) -> str:
        last = self.start + pd.Timedelta(days=self.days - 1)
        return (
            f"Forecast({self.model}, {len(self.categories)} categories, "
            f"{self.start.date()}..{last.date()}, beats_naive={self.beats_naive})"
        )

    @property
    def categories(self) -> list[str]:
        """The categories forecast, sorted."""
        return sorted(self.rates["category"].unique().tolist())

    @property
    def dates(self) -> pd.DatetimeIndex:
        """The forecast dates."""
        return pd.date_range(self.start, periods=self.days, freq="D")

    # ------------------------------------------------------------------ report

    def report(self) -> str:
        """The forecast and its back-test in a few plain sentences."""
        last = self.start + pd.Timedelta(days=self.days - 1)
        name = "negative binomial" if self.model == "negative_binomial" else "Poisson"
        lines = [
            f"Forecast of {len(self.categories)} categories for {self.days} days, "
            f"{self.start.date()} to {last.date()}: {name} GLM per category (day type x "
            f"interval profile, linear trend on the log scale), {_percent(self.confidence)} "
            "prediction intervals."
        ]
        unseen = self.attrs.get("unseen_day_types", [])
        if unseen:
            lines.append(
                f"Day types the history never shows open, forecast as closed: {', '.join(unseen)}."
            )
        if self.backtest.empty:
            lines.append("No back-test (backtest_weeks=0).")
            return "\n".join(lines)
        total = self.backtest.iloc[-1]
        weeks = len(self.backtest) - 1
        if self.beats_naive is None:
            lines.append(
                "The back-test found no cell with a seasonal-naive forecast (no date a week "
                "before a tested date): no comparison."
            )
            return "\n".join(lines)
        lines.append(
            f"Back-test on the last {weeks} week{'s' if weeks != 1 else ''} of the history "
            f"({total['first_date'].date()} to {total['last_date'].date()}, "
            f"{int(total['cells'])} cells): MAE {total['model_mae']:.3f} against "
            f"{total['naive_mae']:.3f} for seasonal-naive (same day last week), RMSE "
            f"{total['model_rmse']:.3f} against {total['naive_rmse']:.3f}, mean Poisson deviance "
            f"{total['model_deviance']:.3f} against {total['naive_deviance']:.3f}."
        )
        if self.beats_naive:
            lines.append("The model beats the seasonal-naive forecast (lower MAE).")
        else:
            lines.append(
                "The model does NOT beat the seasonal-naive forecast: its MAE is not below "
                "seasonal-naive's. Prefer last week's counts, or look for what the model misses."
            )
        lines.append(
            f"The prediction intervals held {100 * total['coverage']:.1f} % of the back-test "
            f"counts (nominal {_percent(self.confidence)})."
        )
        return "\n".join(lines)

    # ------------------------------------------------------------------ scenario

    def to_scenario(self, base: Scenario) -> Scenario:
        """A scenario of the forecast period: ``base``'s hall with the forecast arrivals.

        ``base`` gives everything but the arrivals (service, patience, windows, staff, the
        reporting ``interval_min``); the hall runs ``days`` days from the forecast's first
        date (``first_weekday``), open from the earlier of ``base``'s opening and the first
        forecast interval to the later of its closing and the end of the last one. Each
        category's arrivals become ``rates_per_hour`` (one per ``hall.interval_min`` of the
        opening hours) times ``weekday_factors``.

        That format repeats one week, so it cannot hold all of the forecast: the rate of
        interval ``j`` on weekday ``w`` is ``profile[j] * factor[w]``, fitted by Poisson
        maximum likelihood, which keeps the forecast's expected tickets per interval of the
        day (over the period) and per weekday: ``profile`` is the mean rate per interval of
        the period's open days (days with arrivals forecast) and ``factor[w]`` the mean
        daily tickets on weekday ``w`` over those of an open day. What is lost: the trend
        within the period (each weekday gets its average over the period), dates whose day
        type differs from their weekday (a holiday gets its weekday's average), and
        weekday-specific shapes of the day. Weekdays the period does not contain get factor
        1. ``attrs["scenario"]`` of this forecast records ``max_relative_error`` (the largest
        ``|scenario - forecast| / forecast`` over the cells with a positive forecast rate, per
        category, date and ``hall.interval_min`` interval), where it occurs, and
        ``max_error_per_hour`` (the largest absolute difference, also where the forecast is
        0).
        """
        if not isinstance(base, Scenario):
            raise TypeError(f"base must be a hallsim.Scenario (got {type(base).__name__})")
        ids = base.category_ids
        missing = [c for c in self.categories if c not in ids]
        absent = [c for c in ids if c not in self.categories]
        if missing or absent:
            raise ValueError(
                "to_scenario needs the base scenario's categories to be the forecast's: "
                f"forecast categories not in base: {missing}; base categories not forecast: "
                f"{absent}"
            )
        hall = base.hall
        step = hall.interval_min
        starts = np.sort(self.rates["interval_start"].unique()).astype(int)
        open_minute = min(hall.open_minute, int(starts[0]))
        close_minute = max(hall.close_minute, int(starts[-1]) + self.interval_min)
        cube = (
            self.rates.set_index(["category", "date", "interval_start"])["rate_per_hour"]
            .reindex(pd.MultiIndex.from_product([ids, self.dates, starts]))
            .to_numpy(dtype=float)
            .reshape(len(ids), self.days, len(starts))
        )
        # per minute of the opening hours, then the mean per hall interval
        minute = np.arange(open_minute, close_minute)
        slot = (minute - starts[0]) // self.interval_min
        inside = (slot >= 0) & (slot < len(starts))
        per_minute = np.where(inside, cube[:, :, np.clip(slot, 0, len(starts) - 1)], 0.0)
        edges = np.arange(0, len(minute), step)
        lengths = np.minimum(step, len(minute) - edges)
        rate = np.add.reduceat(per_minute, edges, axis=2) / lengths  # (category, day, interval)
        # Poisson MLE of rate[c, d, j] ~ profile[c, j] * factor[c, weekday(d)] keeps the
        # margins: per interval over the period, per weekday over its days. Scaled so that
        # the profile is that of a mean open day (a day with arrivals forecast).
        daily = (rate * lengths / 60.0).sum(axis=2)  # tickets per (category, day)
        open_days = (daily > 0).sum(axis=1)
        if (open_days == 0).any():
            idle = [ids[k] for k in np.flatnonzero(open_days == 0)]
            raise ValueError(f"no arrivals forecast for categories {idle}: no scenario rates")
        mean_open = daily.sum(axis=1) / open_days
        weekday = self.dates.day_of_week.to_numpy()
        by_weekday = pd.DataFrame(daily.T).groupby(weekday).mean()  # weekday x category
        factors = np.ones((len(ids), 7))
        factors[:, by_weekday.index.to_numpy()] = (by_weekday.to_numpy() / mean_open).T
        profile = rate.sum(axis=1) / open_days[:, None]  # (category, interval)
        approx = profile[:, None, :] * factors[:, weekday][:, :, None]
        error = np.abs(approx - rate)
        positive = rate > 0
        relative = np.where(positive, error / np.where(positive, rate, 1.0), 0.0)
        worst = np.unravel_index(int(np.argmax(relative)), relative.shape)
        data = base.model_dump(by_alias=True, exclude_none=True)
        data["name"] = f"{base.name or 'hall'}: forecast from {self.start.date()}"
        data["description"] = (
            f"Arrivals forecast by hallsim.forecast ({self.model}) for {self.days} days from "
            f"{self.start.date()}, as a weekly profile x weekday factors (largest relative "
            f"error {relative.max():.1%}). {base.description}".strip()
        )
        data["hall"].update(
            open=clock(open_minute),
            close=clock(close_minute),
            days=self.days,
            first_weekday=WEEKDAYS[self.start.weekday()],
        )
        for k, category in enumerate(data["categories"]):
            category["arrivals"] = {
                "rates_per_hour": [float(v) for v in profile[k]],
                "weekday_factors": [float(v) for v in factors[k]],
            }
        scenario = Scenario.model_validate(data)
        self.attrs["scenario"] = {
            "max_relative_error": float(relative.max()),
            "where": {
                "category": ids[worst[0]],
                "date": self.dates[worst[1]],
                "interval_start": int(open_minute + edges[worst[2]]),
            },
            "max_error_per_hour": float(error.max()),
        }
        return scenario

    # ------------------------------------------------------------------ demand

    def demand_table(self, service: Scenario | Mapping[str, float] | None = None) -> pd.DataFrame:
        """The forecast as the arrival table :func:`hallsim.plan.requirements` reads.

        Parameters
        ----------
        service : Scenario or mapping, optional
            Mean service time of each category: a scenario (its categories' service and
            patience distributions) or a mapping category -> mean minutes. Default: the
            ``service`` given to :func:`forecast`, else, for a forecast from a
            :class:`~hallsim.logs.TicketLog`, the log's served tickets (mean and cv of
            ``end - start``). Patience is known only from a scenario (one fitted to the log
            includes it).

        Returns
        -------
        pandas.DataFrame
            One row per category, forecast day and interval: ``category, day`` (0 is the
            forecast's first date), ``date, weekday, interval_start, interval_min,
            arrivals_per_hour`` (the mean forecast), ``service_mean_min`` and, when known,
            ``service_cv`` and ``patience_mean_min``. Each category is its own group of
            windows; to plan for a hall's window groups use ``to_scenario(base)``.
        """
        service = self._service if service is None else _checked_service(service)
        if service is None and self._log_service is None:
            raise ValueError(
                "demand_table needs service times: this forecast was made from arrival "
                "counts, which carry none; pass service= (a Scenario or a mapping category "
                "-> mean minutes)"
            )
        per_category = self._log_service if service is None else _service_table(service)
        lacking = [c for c in self.categories if c not in per_category.index]
        if lacking:
            source = "the log has no served tickets of" if service is None else "no service for"
            raise ValueError(f"demand_table: {source} categories {lacking}; pass service=")
        table = self.rates.rename(columns={"rate_per_hour": "arrivals_per_hour"})
        table = table.assign(
            day=((table["date"] - self.start) / pd.Timedelta(days=1)).astype(int),
            weekday=np.asarray(WEEKDAYS, dtype=object)[table["date"].dt.day_of_week],
        )
        table = table.join(per_category, on="category")
        columns = [
            "category",
            "day",
            "date",
            "weekday",
            "interval_start",
            "interval_min",
            "arrivals_per_hour",
            *per_category.columns,
        ]
        return table[columns].reset_index(drop=True)

    # ------------------------------------------------------------------ plot

    def plot(
        self, category: str | None = None, ax: Axes | None = None, *, history_days: int = 21
    ) -> Axes:
        """The last ``history_days`` days of the history and the forecast with its band.

        ``category=None`` draws every category (one colour each). Arrivals per hour against
        date and time; nights and closed days are left blank.
        """
        if category is not None and category not in self.categories:
            raise ValueError(f"category must be one of {self.categories} (got {category!r})")
        history_days = _whole("history_days", history_days, 1)
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(10, 4))
        chosen = self.categories if category is None else [category]
        first = self.history["date"].max() - pd.Timedelta(days=history_days - 1)
        history = self.history[self.history["date"] >= first]
        for k, name in enumerate(chosen):
            colour = f"C{k}"
            past = history[history["category"] == name]
            x, y = _broken(past, past["arrivals"] * 60.0 / self.interval_min, self.interval_min)
            ax.plot(x, y, color=colour, linewidth=0.8, alpha=0.6, label=f"{name} history")
            future = self.rates[self.rates["category"] == name]
            x, mean = _broken(future, future["rate_per_hour"], self.interval_min)
            _, lo = _broken(future, future["rate_lo"], self.interval_min)
            _, hi = _broken(future, future["rate_hi"], self.interval_min)
            ax.plot(x, mean, color=colour, linewidth=1.5, label=f"{name} forecast")
            ax.fill_between(x, lo, hi, color=colour, alpha=0.3, linewidth=0)
        ax.axvline(self.start, color="grey", linestyle="--", linewidth=1)
        ax.set(
            xlabel="date",
            ylabel="arrivals per hour",
            title=f"Arrival forecast ({_percent(self.confidence)} prediction band)",
        )
        ax.legend(fontsize="small", ncol=2)
        return ax


def _percent(share: float) -> str:
    return f"{100 * share:g} %"


def _broken(rows: pd.DataFrame, values: pd.Series, interval_min: int):
    """Times and values of ``rows`` with a gap (NaN) after each day's last interval."""
    times = rows["date"] + pd.to_timedelta(rows["interval_start"], unit="min")
    series = pd.Series(values.to_numpy(dtype=float), index=pd.DatetimeIndex(times))
    ends = rows.groupby("date")["interval_start"].max()
    gaps = pd.Series(
        np.nan, index=pd.DatetimeIndex(ends.index + pd.to_timedelta(ends + interval_min, "min"))
    )
    joined = pd.concat([series, gaps]).sort_index()
    return joined.index, joined.to_numpy()


# ---------------------------------------------------------------------- forecast


def forecast(
    log_or_counts: TicketLog | ArrivalCounts,
    start,
    days: int = 28,
    *,
    interval_min: int = 30,
    calendar: Mapping | pd.Series | None = None,
    model: str = "negative_binomial",
    backtest_weeks: int = 4,
    confidence: float = 0.9,
    service: Scenario | Mapping[str, float] | None = None,
    seed: int = 0,
) -> Forecast:
    """Forecast the arrivals of each category per date and interval (see the module doc).

    Parameters
    ----------
    log_or_counts : TicketLog or ArrivalCounts
        The history. Every date from its first to its last must be in it, except dates whose
        day type the history never shows open (a hall closed on Sundays leaves them out).
    start : date-like
        The first forecast date: after the history's last date, with no open day type in
        between.
    days : int, default 28
        Days to forecast.
    interval_min : int, default 30
        Length of the intervals counted and forecast, in minutes (a divisor of a day; for
        counts, a multiple of theirs).
    calendar : mapping or pandas.Series, optional
        Date -> day-type label, for the history and the forecast days (e.g. ``"holiday"``);
        other dates have their weekday (``"mon"`` ... ``"sun"``).
    model : {"negative_binomial", "poisson"}
        The count distribution.
    backtest_weeks : int, default 4
        Weeks at the end of the history to back-test on (0: none). The history must then
        reach into the second week before the weeks tested: cover more than
        ``7 * (backtest_weeks + 1)`` days (three weeks of a hall open Monday to Friday, for one
        week tested; the fit needs day types seen on two dates to tell the trend from them).
    confidence : float, default 0.9
        Coverage of the prediction intervals, in (0, 1).
    service : Scenario or mapping, optional
        Service times for :meth:`Forecast.demand_table` (a scenario, or category -> mean
        minutes).
    seed : int, default 0
        Seed of the simulated prediction intervals.

    Returns
    -------
    Forecast

    Examples
    --------
    A month ahead from a ticket log, checked against last week's counts, then staffed::

        fc = hs.forecast(log, "2026-05-04", days=28)
        print(fc.report())
        plan = hp.requirements(fc, hp.Target(wait_min=10, share=0.8))
        scenario = fc.to_scenario(hs.load_scenario("scenarios/panjin.toml"))
    """
    if not isinstance(log_or_counts, TicketLog | ArrivalCounts):
        raise TypeError(
            "log_or_counts must be a hallsim TicketLog or ArrivalCounts "
            f"(got {type(log_or_counts).__name__})"
        )
    start = _date("start", start)
    days = _whole("days", days, 1)
    backtest_weeks = _whole("backtest_weeks", backtest_weeks, 0)
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS} (got {model!r})")
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not 0 < confidence < 1
    ):
        raise ValueError(f"confidence must be a share in (0, 1) (got {confidence!r})")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(f"seed must be an integer (got {seed!r})")
    service = None if service is None else _checked_service(service)
    labels = _calendar(calendar)

    counts = log_or_counts.arrival_counts(interval_min)
    if counts.empty or not counts["arrivals"].sum() > 0:
        raise ValueError("the history has no arrivals to forecast from")
    counts = counts.assign(
        date=pd.to_datetime(counts["date"]).astype("datetime64[ns]"),
        interval_start=counts["interval_start"].astype(np.int64),
        category=counts["category"].astype(str),
    )
    counts["day_type"] = _day_types(counts["date"], labels)
    first, last = counts["date"].min(), counts["date"].max()
    counts["t"] = ((counts["date"] - first) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    open_types = set(counts.loc[counts["arrivals"] > 0, "day_type"].unique())
    _check_dates(counts, start, open_types, labels)
    span = (last - first).days + 1
    needed = 7 * (backtest_weeks + 1) + 1  # the fit needs its day types seen in two weeks
    if span < needed:
        what = (
            f"the back-test of backtest_weeks={backtest_weeks} needs {needed} days or more (the "
            "weeks tested, and the days of two weeks before them to fit); lower backtest_weeks"
            if backtest_weeks
            else "the model needs the days of two weeks (8 days or more) to tell the trend "
            "from the day types"
        )
        raise ValueError(
            f"the history covers {span} days ({first.date()} to {last.date()}): {what}"
        )

    streams = np.random.SeedSequence(seed).spawn(backtest_weeks + 1)
    future = _future_grid(start, days, counts, labels)
    rates, parameters = _forecast_rates(
        counts, future, model, confidence, np.random.default_rng(streams[0]), interval_min
    )
    backtest = _backtest(counts, backtest_weeks, model, confidence, streams[1:])
    overall = None if backtest.empty else backtest.iloc[-1]
    beats = (
        None
        if overall is None or overall["cells"] == 0
        else bool(overall["model_mae"] < overall["naive_mae"])
    )
    unseen = sorted(set(future["day_type"]) - open_types)
    log_service = _log_service(log_or_counts) if isinstance(log_or_counts, TicketLog) else None
    return Forecast(
        rates=rates,
        backtest=backtest,
        beats_naive=beats,
        history=counts[["date", "interval_start", "category", "arrivals", "day_type"]],
        parameters=parameters,
        start=start,
        days=days,
        interval_min=int(interval_min),
        confidence=float(confidence),
        model=model,
        attrs={
            "unseen_day_types": unseen,
            "draws": DRAWS,
            "deviance_floor": DEVIANCE_FLOOR,
            "seed": int(seed),
        },
        _service=service,
        _log_service=log_service,
    )


# ---------------------------------------------------------------------- input


def _date(name: str, value) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ValueError(f"{name} must be a date (got {value!r})") from None
    if stamp is pd.NaT or stamp.tzinfo is not None or stamp != stamp.normalize():
        raise ValueError(f"{name} must be a date without a time or time zone (got {value!r})")
    return stamp


def _whole(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be a whole number >= {low} (got {value!r})")
    return int(value)


def _calendar(calendar) -> dict[pd.Timestamp, str]:
    if calendar is None:
        return {}
    if isinstance(calendar, pd.Series):
        calendar = calendar.to_dict()
    if not isinstance(calendar, Mapping):
        raise ValueError(
            f"calendar must map dates to day-type labels (got {type(calendar).__name__})"
        )
    labels = {}
    for key, label in calendar.items():
        date = _date(f"calendar key {key!r}", key)
        if not isinstance(label, str) or not label:
            raise ValueError(f"calendar[{key!r}] must be a non-empty label (got {label!r})")
        labels[date] = label
    return labels


def _day_types(dates: pd.Series, labels: dict[pd.Timestamp, str]) -> np.ndarray:
    """The day type of each date: its calendar label, else its weekday."""
    weekday = np.asarray(WEEKDAYS, dtype=object)[pd.DatetimeIndex(dates).day_of_week]
    if not labels:
        return weekday
    labelled = pd.Series(dates.to_numpy()).map(labels).to_numpy(dtype=object)
    return np.where(pd.isna(labelled), weekday, labelled)


def _check_dates(counts, start, open_types, labels) -> None:
    """No open day missing from the history, nor between its end and ``start``."""
    last = counts["date"].max()
    if start <= last:
        raise ValueError(
            f"start must be after the history's last date {last.date()} (got {start.date()})"
        )
    span = pd.date_range(counts["date"].min(), start - pd.Timedelta(days=1), freq="D")
    absent = span.difference(pd.DatetimeIndex(counts["date"].unique()))
    types = _day_types(pd.Series(absent), labels)
    gaps = absent[np.isin(types, list(open_types))]
    inside, after = gaps[gaps <= last], gaps[gaps > last]
    if len(inside):
        shown = ", ".join(f"{d.date()} ({WEEKDAYS[d.weekday()]})" for d in inside[:5])
        raise ValueError(
            f"the history has gaps: no counts on {shown}"
            + (f" and {len(inside) - 5} more" if len(inside) > 5 else "")
            + "; give closed days a calendar label of their own (e.g. 'closed')"
        )
    if len(after):
        raise ValueError(
            f"start {start.date()} leaves a gap after the history's last date {last.date()}: "
            f"{after[0].date()} ({WEEKDAYS[after[0].weekday()]}) is a day type the hall is "
            f"open on; start on {(last + pd.Timedelta(days=1)).date()}"
        )


def _checked_service(service):
    if isinstance(service, Scenario):
        return service
    if isinstance(service, Mapping):
        for key, value in service.items():
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ValueError(
                    f"service[{key!r}] must be a positive number of minutes (got {value!r})"
                )
        return dict(service)
    raise ValueError(
        "service must be a hallsim.Scenario or a mapping category -> mean minutes "
        f"(got {type(service).__name__})"
    )


def _service_table(service) -> pd.DataFrame:
    """Service (and patience) per category, indexed by category."""
    if isinstance(service, Scenario):
        rows = {}
        for item in service.categories:
            mean = float(item.service.mean)
            rows[item.id] = {
                "service_mean_min": mean,
                "service_cv": math.sqrt(max(item.service.second_moment / mean**2 - 1.0, 0.0)),
                "patience_mean_min": (
                    math.inf if item.patience is None else float(item.patience.mean)
                ),
            }
        return pd.DataFrame.from_dict(rows, orient="index")
    return pd.DataFrame({"service_mean_min": pd.Series(service, dtype=float)})


def _log_service(log: TicketLog) -> pd.DataFrame:
    """Mean and cv of ``end - start`` of each category's served tickets."""
    tickets = log.tickets
    served = tickets[
        (tickets["outcome"].astype(str) == "served").to_numpy()
        & tickets["start"].notna().to_numpy()
        & tickets["end"].notna().to_numpy()
    ]
    minutes = (served["end"] - served["start"]) / pd.Timedelta(minutes=1)
    grouped = minutes.groupby(served["category"].astype(str))
    table = pd.DataFrame({"service_mean_min": grouped.mean(), "service_cv": grouped.std(ddof=0)})
    table["service_cv"] = table["service_cv"] / table["service_mean_min"]
    return table[table["service_mean_min"] > 0]


# ---------------------------------------------------------------------- model


def _fit(rows: pd.DataFrame, model: str) -> _Fit | None:
    """The GLM of one category's counts (``day_type, interval_start, t, arrivals``)."""
    import statsmodels.api as sm  # here: importing hallsim stays quick

    keys = [rows["day_type"], rows["interval_start"]]
    totals = rows["arrivals"].groupby(keys, sort=True).sum()
    cells = totals.index[totals.to_numpy() > 0]
    if not len(cells):
        return None
    code = cells.get_indexer(pd.MultiIndex.from_arrays(keys))
    kept = code >= 0
    code = code[kept]
    y = rows["arrivals"].to_numpy(dtype=float)[kept]
    t = rows["t"].to_numpy(dtype=float)[kept]
    t_mid = float(t.mean())
    X = np.zeros((len(y), len(cells) + 1))
    X[np.arange(len(y)), code] = 1.0
    X[:, -1] = (t - t_mid) / 7.0  # weeks: a trend coefficient of the size of the others
    if np.ptp(t) == 0 or np.bincount(code).max() < 2:
        raise ValueError("the history has no cell seen on two dates: no trend can be fitted")
    # hasconst: the cell dummies add up to the constant (spares statsmodels a rank check).
    # Newton's method (statsmodels' analytic score and Hessian: the IRLS steps, with fewer
    # decompositions), started from each cell's mean count and no trend, near the optimum.
    start = np.append(np.log(np.bincount(code, weights=y) / np.bincount(code)), 0.0)
    poisson = sm.GLM(y, X, family=sm.families.Poisson(), hasconst=True)
    result = poisson.fit(start_params=start, method="newton")
    alpha = 0.0
    if model == "negative_binomial":
        result, alpha = _negative_binomial(y, X, result)
    return _Fit(
        cells=cells,
        params=np.asarray(result.params, dtype=float),
        cov=np.asarray(result.cov_params(), dtype=float),
        alpha=alpha,
        t_mid=t_mid,
        closed=int((totals.to_numpy() == 0).sum()),
    )


def _negative_binomial(y: np.ndarray, X: np.ndarray, poisson):
    """The NB2 GLM, ``alpha`` estimated by maximum likelihood as MASS's ``glm.nb`` does
    (Venables & Ripley 2002, §7.4): alternately the ML ``alpha`` given the fitted means and
    the GLM given ``alpha``, from the Poisson fit, until ``alpha`` settles (1 %, or below
    :data:`POISSON_ALPHA`)."""
    import statsmodels.api as sm

    def fitted(alpha: float, start: np.ndarray):
        family = sm.families.NegativeBinomial(alpha=alpha)
        return sm.GLM(y, X, family=family, hasconst=True).fit(start_params=start, method="newton")

    result, alpha = poisson, _alpha_given_means(y, poisson.mu)
    for _ in range(MAX_ALTERNATIONS):
        result = fitted(alpha, result.params)
        updated = _alpha_given_means(y, result.mu)
        # settled: within 1 %, or both so small the counts are Poisson (the likelihood is
        # flat there, and the maximiser wanders)
        if abs(math.log(updated / alpha)) < 0.01 or max(updated, alpha) < POISSON_ALPHA:
            break
        alpha = updated
    else:
        result = fitted(alpha, result.params)
    return result, alpha


def _alpha_given_means(y: np.ndarray, mu: np.ndarray) -> float:
    """The NB2 dispersion maximising the likelihood of counts ``y`` with means ``mu``."""
    from scipy import optimize, stats

    def minus_loglik(log_alpha: float) -> float:
        alpha = math.exp(log_alpha)
        return -float(stats.nbinom.logpmf(y, 1.0 / alpha, 1.0 / (1.0 + alpha * mu)).sum())

    low, high = (math.log(bound) for bound in ALPHA_BOUNDS)
    best = optimize.minimize_scalar(
        minus_loglik, bounds=(low, high), method="bounded", options={"xatol": 0.005}
    )
    return math.exp(best.x)


def _predict(fit: _Fit | None, rows: pd.DataFrame, confidence: float, rng) -> tuple:
    """Mean count and its prediction interval ``(lo, hi)`` for ``rows`` (``day_type,
    interval_start, t``); closed cells get 0 and ``[0, 0]``."""
    from scipy import stats

    n = len(rows)
    mean, lo, hi = np.zeros(n), np.zeros(n), np.zeros(n)
    if fit is None:
        return mean, lo, hi
    code = fit.cells.get_indexer(
        pd.MultiIndex.from_arrays([rows["day_type"], rows["interval_start"]])
    )
    weeks = (rows["t"].to_numpy(dtype=float) - fit.t_mid) / 7.0
    live = np.flatnonzero(code >= 0)
    if not len(live):
        return mean, lo, hi
    mean[live] = np.exp(fit.params[code[live]] + fit.params[-1] * weeks[live])
    beta = rng.multivariate_normal(fit.params, fit.cov, size=DRAWS, method="eigh")
    chunks = np.array_split(live, max(1, math.ceil(len(live) * DRAWS / DRAW_BLOCK)))
    for chunk in chunks:
        mu = np.exp(beta[:, code[chunk]] + beta[:, -1:] * weeks[chunk])
        if fit.alpha > 0:  # NB2: n = 1 / alpha, p = 1 / (1 + alpha mu) has mean mu
            counts = stats.nbinom.rvs(
                1.0 / fit.alpha, 1.0 / (1.0 + fit.alpha * mu), random_state=rng
            )
        else:
            counts = stats.poisson.rvs(mu, random_state=rng)
        tail = (1.0 - confidence) / 2.0
        lo[chunk], hi[chunk] = np.quantile(
            counts, [tail, 1.0 - tail], axis=0, method="inverted_cdf"
        )
    return mean, lo, hi


def _future_grid(start, days, counts, labels) -> pd.DataFrame:
    """Forecast dates x the history's intervals, with day types and days since it began."""
    dates = pd.date_range(start, periods=days, freq="D")
    starts = np.sort(counts["interval_start"].unique())
    grid = pd.MultiIndex.from_product([dates, starts], names=["date", "interval_start"])
    frame = grid.to_frame(index=False)
    frame["day_type"] = _day_types(frame["date"], labels)
    frame["t"] = (frame["date"] - counts["date"].min()) / pd.Timedelta(days=1)
    return frame


def _forecast_rates(counts, future, model, confidence, rng, interval_min):
    per_hour = 60.0 / interval_min
    parts, parameters = [], []
    for category, rows in counts.groupby("category", sort=True):
        fit = _fit(rows, model)
        mean, lo, hi = _predict(fit, future, confidence, rng)
        parts.append(
            future.assign(
                category=category,
                interval_min=int(interval_min),
                rate_per_hour=mean * per_hour,
                rate_lo=lo * per_hour,
                rate_hi=hi * per_hour,
            )
        )
        parameters.append(
            {
                "category": category,
                "model": model,
                "alpha": math.nan if fit is None else fit.alpha,
                "trend_per_week": math.nan if fit is None else math.exp(fit.params[-1]),
                "cells": 0 if fit is None else len(fit.cells),
                "closed_cells": 0 if fit is None else fit.closed,
                "tickets": int(rows["arrivals"].sum()),
            }
        )
    rates = pd.concat(parts, ignore_index=True)[list(RATE_COLUMNS)]
    return rates, pd.DataFrame(parameters)


# ---------------------------------------------------------------------- back-test


def _backtest(counts, weeks: int, model: str, confidence: float, streams) -> pd.DataFrame:
    """Scores of the model and of seasonal-naive on each of the last ``weeks`` weeks."""
    if weeks == 0:
        return pd.DataFrame({name: [] for name in BACKTEST_COLUMNS})
    last = counts["date"].max()
    # seasonal naive: the count of the same interval and category on the same day last week
    observed = counts.set_index(["date", "interval_start", "category"])["arrivals"]
    week_before = pd.MultiIndex.from_arrays(
        [counts["date"] - pd.Timedelta(days=7), counts["interval_start"], counts["category"]]
    )
    counts = counts.assign(naive=observed.reindex(week_before).to_numpy(dtype=float))
    compared = []
    for k in range(weeks):
        first = last - pd.Timedelta(days=7 * (weeks - k) - 1)
        train = dict(list(counts[counts["date"] < first].groupby("category", sort=True)))
        tested = counts[(counts["date"] >= first) & (counts["date"] < first + pd.Timedelta(7, "D"))]
        rng = np.random.default_rng(streams[k])
        for category, rows in tested.groupby("category", sort=True):
            fit = _fit(train[category], model) if category in train else None
            mean, lo, hi = _predict(fit, rows, confidence, rng)
            compared.append(
                pd.DataFrame(
                    {
                        "week": first,
                        "actual": rows["arrivals"].to_numpy(dtype=float),
                        "naive": rows["naive"].to_numpy(),
                        "model": mean,
                        "lo": lo,
                        "hi": hi,
                    }
                )
            )
    cells = pd.concat(compared, ignore_index=True)
    cells = cells[np.isfinite(cells["naive"].to_numpy())]
    rows = [
        _scores(str(week.date()), week, week + pd.Timedelta(days=6), part)
        for week, part in cells.groupby("week", sort=True)
    ]
    rows.append(_scores("overall", last - pd.Timedelta(days=7 * weeks - 1), last, cells))
    return pd.DataFrame(rows, columns=list(BACKTEST_COLUMNS))


def _scores(week: str, first: pd.Timestamp, last: pd.Timestamp, part: pd.DataFrame) -> dict:
    actual = part["actual"].to_numpy()
    scores = {"week": week, "first_date": first, "last_date": last, "cells": len(part)}
    for name in ("model", "naive"):
        error = part[name].to_numpy() - actual
        scores[f"{name}_mae"] = float(np.abs(error).mean()) if len(part) else math.nan
        scores[f"{name}_rmse"] = float(np.sqrt((error**2).mean())) if len(part) else math.nan
        scores[f"{name}_deviance"] = _mean_deviance(actual, part[name].to_numpy())
    inside = (actual >= part["lo"].to_numpy()) & (actual <= part["hi"].to_numpy())
    scores["coverage"] = float(inside.mean()) if len(part) else math.nan
    return scores


def _mean_deviance(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean Poisson unit deviance 2 (y log(y / mu) - (y - mu)) (McCullagh & Nelder 1989,
    §6.2), with ``mu`` floored at :data:`DEVIANCE_FLOOR`."""
    from scipy import special

    if not len(actual):
        return math.nan
    mu = np.maximum(predicted, DEVIANCE_FLOOR)
    return float(np.mean(2.0 * (special.xlogy(actual, actual / mu) - (actual - mu))))
