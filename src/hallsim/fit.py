"""Fitting a hall from its own history: a ticket log (or arrival counts) -> a Scenario.

:func:`fit` reads what a hall's log shows and estimates, with confidence intervals, each part
of the hall format:

- **arrivals**: tickets per category, *day type* (weekday by default, or a calendar's labels
  such as ``"holiday"``) and interval, as rates per hour with exact Poisson intervals; the
  dispersion of the daily counts (is a day's level random beyond Poisson?); days whose total
  is out of line for their day type (a holiday, an outage), which can be dropped;
- **service**: per category, exponential, lognormal and gamma fits to the served tickets'
  durations, chosen by AIC; per staff member a speed factor; per category the ratio of
  durations at comprehensive and at dedicated windows (the ``generalist_factor``);
- **patience**: per category, from the waits of tickets that gave up (exact) and of tickets
  that were called (censored), by :func:`hallsim.patience.fit_patience`;
- **no-shows, balking and windows**: the share of called tickets whose holder was absent,
  the probability of leaving on seeing the queue, and which windows served what.

:meth:`Fit.to_scenario` turns it into a validated :class:`~hallsim.scenario.Scenario`, and
:meth:`Fit.save` writes that as TOML with a comment on each number saying where it came from.

Day types and the format: the format has one profile per category (``rates_per_hour``) times
a factor per weekday (``weekday_factors``). The fit takes the multiplicative Poisson model
``rate(day type, interval) = factor(day type) x profile(interval)`` whose maximum-likelihood
estimate is the independence fit of the day type x interval table of counts: the profile is
the mean rate per interval over all the open weekday-labelled days (pooled), and a weekday's
factor is its mean daily tickets over the mean of all those days. Day types that are not
weekday names (``"holiday"``) cannot be written in the format: their days are left out of the
scenario's rates and listed in :attr:`Fit.notes`. When the weekdays' profiles differ in shape
(a likelihood-ratio test of the multiplicative model, in :attr:`Fit.weekday_factors`), the
format's one profile is an approximation, and the notes say so.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .errors import LogError
from .scenario import WEEKDAYS, Scenario

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .logs import ArrivalCounts, TicketLog

__all__ = ["Fit", "fit"]

# A day is an outlier when its modified z-score exceeds this (Iglewicz & Hoaglin, "How to
# Detect and Handle Outliers", 1993): |total - median| > 3.5 x robust sd of its day type.
OUTLIER_Z = 3.5
# Day types with fewer days than this are not judged for outliers.
OUTLIER_MIN_DAYS = 3
# Overdispersion is flagged when the index-of-dispersion test's p-value is below this.
DISPERSION_LEVEL = 0.01
# The empirical distribution is chosen only when a KS test rejects every family at this level.
KS_LEVEL = 0.01
# Staff speed factors are shrunk towards 1 by n / (n + STAFF_SHRINK_TICKETS): a member with
# 50 tickets moves halfway. With a per-ticket cv of about 1 and staff speeds spread by about
# 0.15, empirical Bayes would give k = 1 / 0.15^2, about 44.
STAFF_SHRINK_TICKETS = 50
# A window serves a category when it has at least this share of the window's tickets.
SERVES_SHARE = 0.01
# An empirical service distribution keeps this many quantiles of the durations.
EMPIRICAL_QUANTILES = 1000
BOOTSTRAP_RESAMPLES = 999
BOOTSTRAP_SEED = 20260101
BOOTSTRAP_MAX_N = 5000  # more served tickets: the cv interval by the delta method
# hallsim's ticket classes, counted as their category (the format's ids cannot hold ":")
CLASS_SUFFIXES = (":priority", ":appointment")
ABANDONMENT = ("observed", "at_call")
FAMILIES = ("exponential", "lognormal", "gamma")


@dataclass(repr=False)
class Fit:
    """A hall fitted from its log: tables of estimates, and the scenario they make.

    Every table is a :class:`pandas.DataFrame`; intervals are at level :attr:`confidence`.
    Tables that need tickets (service, patience, windows, ...) are ``None`` when the fit
    was made from arrival counts.

    Attributes
    ----------
    source : str or None
        Where the log came from.
    interval_min : int
        The length of the intervals arrivals were counted in.
    confidence : float
        The level of every interval.
    abandonment : {"observed", "at_call"}
        How abandonment shows in the log (see :func:`fit`).
    hours : tuple of int
        The opening hours from activity, in minutes of day: the start of the interval of the
        first ticket issued, the end of the interval of the last one (over the kept days).
    days : DataFrame
        One row per date from the first to the last day of the log: ``date, weekday,
        day_type, tickets, first_interval, last_interval`` (minutes of day of the first and
        last interval with a ticket), ``excluded`` (why the day was dropped, or ``""``).
    outliers : DataFrame
        Days whose total tickets are out of line for their day type: ``date, day_type,
        tickets, median, low, high, reason``. The rule: a day is an outlier when its total
        lies outside ``median +/- 3.5 x s`` of its day type's days, where ``s`` is the
        larger of the normal-consistent median absolute deviation (``1.4826 x MAD``) and the
        Poisson standard deviation ``sqrt(median)`` (the modified z-score of Iglewicz and
        Hoaglin, floored at Poisson noise so that a day type of near-identical days does not
        flag every small difference). Day types with fewer than 3 days are not judged.
    excluded : DataFrame
        The days dropped before fitting (``exclude=``, and ``exclude_outliers=True``):
        ``date, day_type, tickets, reason``.
    arrivals : DataFrame
        ``category, day_type, interval_start, interval_min, days, tickets, rate_per_hour,
        rate_lo, rate_hi`` over the opening hours, for the day types with tickets: the rate is
        tickets / (days x interval hours), the interval the exact Poisson (Garwood) one.
    dispersion : DataFrame
        Per category and day type, ``category, day_type, days, intervals,
        dispersion_index, statistic, df, p_value, overdispersed``: Fisher's index of
        dispersion of the daily counts of each interval across the days, pooled over the
        intervals (the chi-square statistic ``sum (x - mean)^2 / mean`` over days and
        intervals, on ``sum(days - 1)`` degrees of freedom under Poisson days;
        ``dispersion_index`` is it over its df, about 1 for Poisson days). ``overdispersed``
        when ``p_value < 0.01``: the days' levels vary more than Poisson noise (weather,
        events), which a Poisson model of the day does not reproduce.
    profile : DataFrame
        The scenario's ``rates_per_hour``: ``category, interval_start, rate_per_hour``.
    weekday_factors : DataFrame
        The scenario's ``weekday_factors``: ``category`` and one column per weekday
        (``mon`` ... ``sun``), with ``shape_statistic, shape_df, shape_pvalue``: the
        likelihood-ratio (G) test of the multiplicative model over the weekdays.
    service : DataFrame or None
        Per category and family (exponential, lognormal, gamma, empirical): ``category,
        family, n, mean, mean_lo, mean_hi, cv, cv_lo, cv_hi, aic, ks_pvalue, chosen``. ``mean``
        and ``cv`` are the family's (the empirical row: the sample's); ``mean_lo/hi`` is the
        Student-t interval of the sample mean and ``cv_lo/hi`` a percentile bootstrap interval
        of the sample cv (999 resamples, fixed seed; above 5,000 durations the delta-method
        interval, as good there and one pass), the same on each row of a category.
        Families are fitted by maximum likelihood with the origin fixed at 0; ``aic = 2k -
        2 log L``; ``ks_pvalue`` is the Kolmogorov-Smirnov test against the fitted family
        (conservative: its parameters come from the same data). The chosen row has the least
        AIC, or is the empirical one when every family's KS test rejects at 1 %. Durations
        are those at dedicated windows, with the comprehensive windows' durations divided by
        the generalist factor where one is applied (see :attr:`generalist`).
    staff_speed : DataFrame or None
        Per staff member, ``staff, tickets, speed_raw, speed_lo, speed_hi, speed``:
        ``speed_raw`` is the ratio estimator ``sum(duration) / sum(category mean)`` over
        their tickets (their mean over the mean of the same categories' durations, so 1 is
        the hall's average), its interval from the ratio estimator's variance (Cochran,
        *Sampling Techniques*, 1977, 6.3); ``speed`` is it shrunk towards 1 by ``n / (n +
        50)``.
    generalist : DataFrame or None
        Per category served both at dedicated windows (serving only it) and at windows
        serving several categories: ``category, n_dedicated, n_comprehensive,
        mean_dedicated, mean_comprehensive, ratio, ratio_lo, ratio_hi, applied``; the
        interval by the delta method on the log of the ratio of the two means. ``applied``
        when the interval excludes 1: the scenario then gives those windows this
        ``generalist_factor``.
    patience : DataFrame or None
        Per category, ``category, family, n_exact, n_right, n_left, mean, mean_lo, mean_hi,
        cv, naive_mean, note``, from :func:`hallsim.patience.fit_patience` (the fits
        themselves in :attr:`patience_fits`). ``family`` is ``"none"`` when nobody gave up:
        such a category waits forever.
    no_show : DataFrame or None
        Per category, ``category, called, no_show, share, share_lo, share_hi, lost_min,
        note``: the share of called tickets whose holder was absent (Clopper-Pearson
        interval), and the median minutes a window spent on one.
    balking : DataFrame or None
        For the categories with balked tickets: ``category, queue_min, queue_max, queue,
        tickets, balked, share, share_lo, share_hi, probability`` per run of queue lengths
        (the number of the category's tickets waiting when a ticket was issued, from the
        log); ``probability`` is the share made non-decreasing in the queue (weighted
        isotonic regression), whose runs are the bins; ``queue`` is the run's mean length.
    windows : DataFrame or None
        One row per ``[[windows]]`` entry: ``entry, count, serves, open, windows, tickets``;
        windows with the same served categories (those with at least 1 % of the window's
        tickets) and the same opening spans form one entry. ``open`` is ``None`` for windows
        open all the hours, else their ``(open, close)`` spans in minutes of day: the
        intervals in which they began services on at least a tenth as many days as the
        busiest window did there (a lunch relay shows as a gap).
    patience_fits : dict
        Category -> :class:`hallsim.patience.PatienceFit`.
    durations : dict
        Category -> the service durations (minutes) the service fit used.
    first_issue, last_issue : str or None
        The earliest and the latest time of day (``"HH:MM:SS"``) a ticket was issued on the
        kept days (from a ticket log).
    notes : list of str
        Everything the fit could not do or had to assume, in words.
    """

    source: str | None
    interval_min: int
    confidence: float
    abandonment: str
    hours: tuple[int, int]
    days: pd.DataFrame
    outliers: pd.DataFrame
    excluded: pd.DataFrame
    arrivals: pd.DataFrame
    dispersion: pd.DataFrame
    profile: pd.DataFrame
    weekday_factors: pd.DataFrame
    service: pd.DataFrame | None = None
    staff_speed: pd.DataFrame | None = None
    generalist: pd.DataFrame | None = None
    patience: pd.DataFrame | None = None
    no_show: pd.DataFrame | None = None
    balking: pd.DataFrame | None = None
    windows: pd.DataFrame | None = None
    patience_fits: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    durations: dict[str, np.ndarray] = field(default_factory=dict)
    first_issue: str | None = None
    last_issue: str | None = None

    def __repr__(self) -> str:
        kept = int((self.days["excluded"] == "").sum())
        return (
            f"Fit(source={self.source!r}, days={kept} kept of {len(self.days)}, "
            f"categories={self.categories}, tickets={int(self.arrivals['tickets'].sum())}, "
            f"from={'ticket log' if self.service is not None else 'arrival counts'})"
        )

    @property
    def categories(self) -> list[str]:
        """The categories fitted, sorted."""
        return sorted(self.profile["category"].unique().tolist())

    @property
    def scenario(self) -> Scenario:
        """The fitted hall, one week long: :meth:`to_scenario` without a base."""
        return self.to_scenario()

    # ------------------------------------------------------------------ scenario

    def to_scenario(self, base: Scenario | None = None, days: int = 7) -> Scenario:
        """The fitted hall as a validated :class:`~hallsim.scenario.Scenario`.

        Parameters
        ----------
        base : Scenario, optional
            A hall to take what the log does not show from. Without it, the scenario is all
            the fit's: the opening hours, each category's arrivals (``rates_per_hour`` x
            ``weekday_factors``, see the module's notes), service, patience, no-show and
            balking, and the windows (one ``[[windows]]`` entry per set of served
            categories, with the generalist factors applied). With it, the base keeps its
            settings, names, windows and staff, and its categories (matched by id; every
            category of the log must be one of them) take the fit's arrivals and, from a
            ticket log, service, patience, no-show and balking; the hours and interval are
            the fit's. A fit from arrival counts needs a base.
        days : int, default 7
            Days the scenario runs, from a Monday.

        Raises
        ------
        ValueError
            Counts without a base, a log category missing from the base, a category the
            format cannot take (an id with ``":"``, no tickets on any weekday-labelled day).
        hallsim.ScenarioError
            The result does not validate (e.g. a base window open outside the fitted hours).
        """
        data, _ = self._scenario_data(base, days)
        return Scenario.model_validate(data)

    def save(self, path: str | Path, *, base: Scenario | None = None, days: int = 7) -> Path:
        """Write :meth:`to_scenario` (same arguments) as TOML, with comments on where each
        number came from; :func:`hallsim.load_scenario` reads it back to the same scenario."""
        data, comments = self._scenario_data(base, days)
        Scenario.model_validate(data)  # fail before writing
        path = Path(path)
        path.write_text(_toml_document(data, comments), encoding="utf-8")
        return path

    def _scenario_data(self, base: Scenario | None, days: int) -> tuple[dict, dict]:
        if isinstance(days, bool) or not isinstance(days, int | np.integer) or days < 1:
            raise ValueError(f"days must be a positive integer (got {days!r})")
        if base is not None and not isinstance(base, Scenario):
            raise TypeError(f"base must be a hallsim.Scenario (got {type(base).__name__})")
        from_log = self.service is not None
        if base is None and not from_log:
            raise ValueError(
                "arrival counts give arrivals only: pass base= (a Scenario) for the service, "
                "patience and windows, e.g. fit.to_scenario(base)"
            )
        for category in self.categories:
            if ":" in category:
                raise ValueError(
                    f'category {category!r}: a scenario id cannot hold ":"; rename it in the log'
                )
        comments: dict[tuple, list[str]] = {}
        open_min, close_min = self.hours
        kept = self.days[self.days["excluded"] == ""]
        comments[()] = [
            f"Fitted by hallsim.fit from {self.source or 'a log'}: "
            f"{int(self.arrivals['tickets'].sum()):,} tickets on {len(kept)} days "
            f"({kept['date'].min().date()} to {kept['date'].max().date()}), in "
            f"{self.interval_min}-minute intervals; intervals at {self.confidence:.0%}.",
        ]
        if len(self.excluded):
            comments[()].append(
                "Days left out: "
                + "; ".join(
                    f"{row.date.date()} ({row.reason})" for row in self.excluded.itertuples()
                )
            )
        comments[()] += [f"Note: {note}" for note in self.notes]
        hall = {
            "open": _clock(open_min),
            "close": _clock(close_min),
            "days": int(days),
            "interval_min": self.interval_min,
            "first_weekday": "mon",
        }
        hours = "opening hours from activity"
        if self.first_issue is not None:
            hours += (
                f": first ticket at {self.first_issue} (interval from "
                f"{_clock(open_min)}), last at {self.last_issue} (interval to "
                f"{_clock(close_min)})"
            )
        comments[("hall", "open")] = [hours]
        if base is None:
            data: dict[str, Any] = {
                "name": f"Fitted: {self.source}" if self.source else "Fitted hall",
                "hall": hall,
                "categories": [],
                "windows": [],
            }
            for i, category in enumerate(self.categories):
                entry, notes = self._category_data(category, from_log, has_base=False)
                data["categories"].append({"id": category, **entry})
                for key, lines in notes.items():
                    comments[("categories", i, key)] = lines
            self._windows_data(data, comments)
        else:
            data = base.model_dump(by_alias=True, exclude_none=True)
            data["hall"] = {**data["hall"], **{k: v for k, v in hall.items() if k != "days"}}
            data["hall"]["days"] = int(days)
            ids = [c["id"] for c in data["categories"]]
            missing = [c for c in self.categories if c not in ids]
            if missing:
                hint = (
                    '; "all" stands for counts kept without a category: give counts per category'
                    if "all" in missing
                    else ""
                )
                raise ValueError(
                    f"categories of the log not in the base scenario: {missing} "
                    f"(the base has {ids}){hint}"
                )
            for i, entry in enumerate(data["categories"]):
                if entry["id"] not in self.categories:
                    comments[("categories", i, "id")] = ["not in the log: as in the base scenario"]
                    continue
                fitted, notes = self._category_data(entry["id"], from_log, has_base=True)
                if "service" in fitted:  # the log showed its tickets: what it lacks, it lacks
                    for key in ("patience", "no_show", "balking"):
                        entry.pop(key, None)
                entry.update(fitted)
                for key, lines in notes.items():
                    comments[("categories", i, key)] = lines
            comments[("windows", 0)] = ["windows, staff and settings from the base scenario"]
        return data, comments

    def _category_data(self, category: str, from_log: bool, has_base: bool) -> tuple[dict, dict]:
        """The fitted parts of one category's entry, and a comment for each."""
        entry: dict[str, Any] = {}
        notes: dict[str, list[str]] = {}
        rates = self.profile.loc[self.profile["category"] == category, "rate_per_hour"]
        factors = self.weekday_factors.set_index("category").loc[category]
        if not rates.sum() > 0:
            raise ValueError(
                f"category {category!r} has no tickets on any weekday-labelled day: the format's "
                "rates_per_hour x weekday_factors cannot hold it"
            )
        entry["arrivals"] = {
            "rates_per_hour": [_round(r) for r in rates],
            "weekday_factors": [_round(factors[w]) for w in WEEKDAYS],
        }
        cells = self.arrivals[self.arrivals["category"] == category]
        weekday_cells = cells[cells["day_type"].isin(WEEKDAYS)]
        notes["arrivals"] = [
            f"arrivals: {int(weekday_cells['tickets'].sum()):,} tickets on the weekday-labelled "
            "days; rates_per_hour = the mean rate per interval over all open days, "
            "weekday_factors = each weekday's mean daily tickets over that mean "
            f"(G test of one shape for all weekdays: p = {factors['shape_pvalue']:.3g})"
        ]
        if not from_log:
            return entry, notes
        chosen = self.service[(self.service["category"] == category) & self.service["chosen"]]
        row = chosen.iloc[0]
        if row.family == "none":
            if not has_base:
                raise ValueError(
                    f"category {category!r} has no service times in the log: pass base= "
                    "(a Scenario) for them"
                )
            notes["service"] = ["service from the base scenario: too few served tickets"]
            return entry, notes
        entry["service"] = self._service_dist(category, row)
        notes["service"] = [
            f"{int(row.n):,} served tickets, {row.family} by "
            f"{'AIC' if row.family != 'empirical' else 'KS (every family rejected at 1 %)'}, "
            f"mean {row['mean']:.3g} [{row.mean_lo:.3g}, {row.mean_hi:.3g}] min, "
            f"cv {row.cv:.3g} (sample cv [{row.cv_lo:.3g}, {row.cv_hi:.3g}])"
        ]
        patience = self.patience.set_index("category").loc[category]
        if category in self.patience_fits:
            result = self.patience_fits[category]
            entry["patience"] = _round_dist(result.distribution)
            notes["patience"] = [
                f"patience: {patience.n_exact:,} gave up (exact), {patience.n_right:,} called "
                f"(waited at least), {patience.n_left:,} absent at call (gave up before); "
                f"{patience.family} by AIC, mean {patience['mean']:.3g} "
                f"[{patience.mean_lo:.3g}, {patience.mean_hi:.3g}] min "
                + (
                    f"(naive mean of the waits of those who gave up: {patience.naive_mean:.3g})"
                    if patience.n_exact
                    else "(nobody was seen to give up)"
                )
            ]
        else:
            notes["service"].append(f"no patience: {patience.note}")
        show = self.no_show.set_index("category").loc[category]
        if show.share > 0:
            lost = show.lost_min
            if np.isfinite(lost) and lost > 0:
                entry["no_show"] = {"probability": _round(show.share), "recall_min": _round(lost)}
                entry["no_show"]["recalls"] = 0
            else:
                entry["no_show"] = {"probability": _round(show.share)}
            notes["no_show"] = [
                f"no-show: {show.no_show:,} of {show.called:,} called tickets "
                f"({show.share:.3%} [{show.share_lo:.3%}, {show.share_hi:.3%}]); "
                + (
                    f"a window lost a median {lost:.3g} min on each (one call, no recalls)"
                    if "recall_min" in entry["no_show"]
                    else "time lost not in the log: the format's default recalls"
                )
            ]
        if self.balking is not None and (self.balking["category"] == category).any():
            bins = self.balking[self.balking["category"] == category]
            entry["balking"] = {
                "queue": [int(q) for q in bins["queue"]],
                "probability": [_round(p, 4) for p in bins["probability"]],
            }
            notes["balking"] = [
                f"balking: {int(bins['balked'].sum()):,} of {int(bins['tickets'].sum()):,} "
                "tickets left on seeing the queue; the share per run of queue lengths, made "
                "non-decreasing (isotonic), at each run's mean queue length"
            ]
        return entry, notes

    def _service_dist(self, category: str, row) -> dict:
        if row.family == "exponential":
            return {"dist": "exponential", "mean_min": _round(row["mean"])}
        if row.family in ("lognormal", "gamma"):
            return {"dist": row.family, "mean_min": _round(row["mean"]), "cv": _round(row.cv)}
        durations = np.sort(self.durations[category])
        if durations.size > EMPIRICAL_QUANTILES:
            probabilities = (np.arange(EMPIRICAL_QUANTILES) + 0.5) / EMPIRICAL_QUANTILES
            durations = np.quantile(durations, probabilities)
        return {"dist": "empirical", "samples_min": [_round(d) for d in durations]}

    def _windows_data(self, data: dict, comments: dict) -> None:
        if self.windows is None or self.windows.empty:
            raise ValueError("the log names no windows: pass base= (a Scenario) with windows")
        everything = set(self.categories)
        applied = (
            self.generalist[self.generalist["applied"]].set_index("category")["ratio"]
            if self.generalist is not None and len(self.generalist)
            else pd.Series(dtype=float)
        )
        for w, row in enumerate(self.windows.itertuples()):
            serves = list(row.serves)
            entry: dict[str, Any] = {
                "id": row.entry,
                "count": int(row.count),
                "serves": ["*"] if set(serves) == everything else serves,
            }
            factors = {c: _round(applied[c], 4) for c in serves if c in applied.index}
            if len(serves) > 1 and factors:
                entry["generalist_factor"] = factors
            hours = "open all the hall's hours"
            if row.open:
                entry["open"] = [[_clock(a), _clock(b)] for a, b in row.open]
                hours = (
                    "open when they began services on at least a tenth as many days as the "
                    "busiest window did (closed otherwise: a lunch relay, say)"
                )
            data["windows"].append(entry)
            lines = [
                f"{row.count} window(s) {', '.join(row.windows)}: {int(row.tickets):,} tickets "
                f"served, serving the categories with at least 1 % of them; {hours}"
            ]
            if "generalist_factor" in entry:
                lines.append(
                    "generalist_factor: mean duration here over that at dedicated windows "
                    "(its interval excludes 1)"
                )
            comments[("windows", w)] = lines

    # ------------------------------------------------------------------ report and plots

    def report(self) -> dict[str, pd.DataFrame]:
        """Every table of the fit by name (those a fit from counts lacks are left out),
        and the notes as a one-column table."""
        names = (
            "days",
            "outliers",
            "excluded",
            "arrivals",
            "dispersion",
            "profile",
            "weekday_factors",
            "service",
            "staff_speed",
            "generalist",
            "patience",
            "no_show",
            "balking",
            "windows",
        )
        tables = {name: getattr(self, name) for name in names if getattr(self, name) is not None}
        tables["notes"] = pd.DataFrame({"note": self.notes}, dtype=object)
        return tables

    def plot_arrivals(
        self, category: str, day_type: str | None = None, ax: Axes | None = None
    ) -> Axes:
        """Observed rate per interval with its exact Poisson interval, against the fitted
        profile (x the day type's weekday factor). Without ``day_type``: all the open
        weekday-labelled days pooled, against ``rates_per_hour``."""
        from scipy import stats

        self._check_category(category)
        ax = _axes(ax)
        cells = self.arrivals[self.arrivals["category"] == category]
        profile = self.profile[self.profile["category"] == category]
        factor = 1.0
        if day_type is None:
            cells = cells[cells["day_type"].isin(WEEKDAYS)]
            pooled = cells.groupby("interval_start", as_index=False)[["days", "tickets"]].sum()
            hours = pooled["days"].to_numpy() * self.interval_min / 60
            low, high = _garwood(pooled["tickets"].to_numpy(), 1 - self.confidence, stats)
            x = pooled["interval_start"].to_numpy() / 60
            rate = pooled["tickets"] / hours
            low, high = low / hours, high / hours
            label = "all open weekdays"
        else:
            if day_type not in set(cells["day_type"]):
                raise ValueError(
                    f"day_type {day_type!r} has no tickets in the fit (day types: "
                    f"{sorted(set(self.arrivals['day_type']))})"
                )
            cells = cells[cells["day_type"] == day_type]
            x = cells["interval_start"].to_numpy() / 60
            rate, low, high = (cells[c].to_numpy() for c in ("rate_per_hour", "rate_lo", "rate_hi"))
            label = day_type
            factors = self.weekday_factors.set_index("category").loc[category]
            factor = float(factors[day_type]) if day_type in WEEKDAYS else None
        step = self.interval_min / 60 / 2
        ax.errorbar(
            x + step,
            rate,
            yerr=[rate - low, high - rate],
            fmt="o",
            markersize=3,
            label=f"observed ({label}), {self.confidence:.0%} interval",
        )
        if factor is not None:
            ax.stairs(
                profile["rate_per_hour"].to_numpy() * factor,
                np.append(profile["interval_start"].to_numpy(), self.hours[1]) / 60,
                label="fitted" + (f" (profile x {factor:.2f})" if day_type else " profile"),
            )
        ax.set(
            xlabel="time of day (h)",
            ylabel="tickets per hour",
            title=f"Arrivals: {category}",
        )
        ax.legend()
        return ax

    def plot_service(self, category: str, ax: Axes | None = None) -> Axes:
        """The empirical CDF of the durations the service fit used, against the fitted
        families' CDFs (the chosen one thicker)."""
        from scipy import stats

        self._check_category(category)
        if self.service is None:
            raise ValueError("a fit from arrival counts has no service times")
        ax = _axes(ax)
        durations = np.sort(self.durations.get(category, np.empty(0)))
        if durations.size == 0:
            raise ValueError(f"category {category!r} has no served tickets in the log")
        ax.step(
            durations,
            np.arange(1, durations.size + 1) / durations.size,
            where="post",
            color="black",
            label=f"observed ({durations.size:,})",
        )
        grid = np.linspace(0, durations[-1], 400)
        rows = self.service[self.service["category"] == category]
        for row in rows.itertuples():
            if row.family == "empirical" or not np.isfinite(row.aic):
                continue
            cdf = _frozen(row.family, row.mean, row.cv, stats).cdf(grid)
            ax.plot(
                grid,
                cdf,
                linewidth=2.5 if row.chosen else 1,
                label=f"{row.family} (AIC {row.aic:,.0f})" + (" chosen" if row.chosen else ""),
            )
        ax.set(xlabel="minutes", ylabel="share of tickets", title=f"Service time: {category}")
        ax.legend()
        return ax

    def plot_patience(self, category: str, ax: Axes | None = None) -> Axes:
        """The patience fit's plot (:meth:`hallsim.patience.PatienceFit.plot`)."""
        self._check_category(category)
        if category not in self.patience_fits:
            raise ValueError(
                f"category {category!r} has no patience fit"
                + (
                    f": {self.patience.set_index('category').loc[category, 'note']}"
                    if self.patience is not None
                    else " (a fit from arrival counts)"
                )
            )
        return self.patience_fits[category].plot(ax=ax)

    def _check_category(self, category: str) -> None:
        if category not in self.categories:
            raise ValueError(f"unknown category {category!r} (the fit has {self.categories})")


def fit(
    log_or_counts: TicketLog | ArrivalCounts,
    interval_min: int = 30,
    *,
    calendar: Mapping | pd.Series | Callable | None = None,
    exclude: Iterable | None = None,
    exclude_outliers: bool = False,
    abandonment: Literal["observed", "at_call"] = "observed",
    confidence: float = 0.95,
) -> Fit:
    """Fit a hall from its ticket log or arrival counts.

    Parameters
    ----------
    log_or_counts : TicketLog or ArrivalCounts
        A ticket log gives everything; arrival counts give the arrivals only (the rest then
        comes from a base scenario: ``fit.to_scenario(base)``). hallsim's ticket classes
        (``"A:priority"``, ``"A:appointment"``) count as their category.
    interval_min : int, default 30
        Length of the intervals of the arrival rates (and of the scenario's
        ``rates_per_hour``); it must divide a day (and, for counts, be a multiple of theirs).
    calendar : mapping, Series or callable, optional
        The day type of each date: a mapping or Series from dates to labels (dates not in it
        are their weekday, ``"mon"`` ... ``"sun"``), or a callable from a date
        (:class:`pandas.Timestamp`) to a label (``None``: its weekday). A label that is a
        weekday name counts as that weekday (a Saturday worked as a Monday).
    exclude : iterable of dates, optional
        Days to drop before fitting (every ticket of those days).
    exclude_outliers : bool, default False
        Drop the days listed in :attr:`Fit.outliers` too.
    abandonment : {"observed", "at_call"}
        ``"observed"``: the log shows who gave up (outcome ``abandoned``, with the time they
        left); tickets called, whether served or absent (``no_show``), waited at least until
        the call. ``"at_call"``: the hall learns of abandonment only at the call (过号), so a
        ``no_show`` ticket's holder gave up before its call: its wait to the call is a
        left-censored patience. The share of holders absent for another reason is then not
        identifiable and set to 0.
    confidence : float, default 0.95
        Level of every interval.

    Returns
    -------
    Fit

    Raises
    ------
    LogError
        An empty log.
    ValueError
        Bad arguments (named, with the value).
    """
    from .logs import ArrivalCounts, TicketLog

    if abandonment not in ABANDONMENT:
        raise ValueError(f"abandonment must be one of {ABANDONMENT} (got {abandonment!r})")
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not 0 < confidence < 1
    ):
        raise ValueError(f"confidence must be a number between 0 and 1 (got {confidence!r})")
    if isinstance(log_or_counts, TicketLog):
        source = log_or_counts.source
        tickets = _prepared_tickets(log_or_counts.tickets)
        if tickets.empty:
            raise LogError("the log has no tickets to fit", source=source)
        grid = TicketLog(tickets=tickets.drop(columns="date")).arrival_counts(interval_min)
    elif isinstance(log_or_counts, ArrivalCounts):
        source = log_or_counts.source
        tickets = None
        if not int(log_or_counts.counts["count"].sum()) > 0:
            raise LogError("the counts have no tickets to fit", source=source)
        grid = log_or_counts.arrival_counts(interval_min)
        grid["category"] = _base_category(grid["category"])
        grid = grid.groupby(["date", "interval_start", "category"], as_index=False)[
            "arrivals"
        ].sum()
    else:
        raise TypeError(
            "fit needs a hallsim TicketLog or ArrivalCounts "
            f"(got {type(log_or_counts).__name__}); read one with hallsim.read_log"
        )
    interval_min = int(interval_min)
    notes: list[str] = []

    # the counts as a dense array: dates (first to last, every day) x intervals x categories
    dates = pd.date_range(grid["date"].min(), grid["date"].max(), freq="D")
    intervals = np.arange(
        grid["interval_start"].min(), grid["interval_start"].max() + 1, interval_min
    )
    categories = sorted(grid["category"].unique().tolist())
    counts = np.zeros((len(dates), len(intervals), len(categories)), dtype=np.int64)
    np.add.at(
        counts,
        (
            dates.get_indexer(pd.DatetimeIndex(grid["date"])),
            np.searchsorted(intervals, grid["interval_start"].to_numpy()),
            pd.Index(categories).get_indexer(grid["category"]),
        ),
        grid["arrivals"].to_numpy(dtype=np.int64),
    )
    labels = _day_types(dates, calendar)
    days = _days_table(dates, labels, counts, intervals)

    # days dropped: those asked for, then (optionally) the outliers among the others
    for date in _dates(exclude, dates):
        days.loc[days["date"] == date, "excluded"] = "asked for (exclude=)"
    outliers = _outliers(days[days["excluded"] == ""], intervals, interval_min)
    if exclude_outliers:
        for row in outliers.itertuples():
            days.loc[days["date"] == row.date, "excluded"] = f"outlier: {row.reason}"
    excluded = days.loc[days["excluded"] != "", ["date", "day_type", "tickets", "excluded"]]
    excluded = excluded.rename(columns={"excluded": "reason"}).reset_index(drop=True)
    kept = (days["excluded"] == "").to_numpy()
    if not kept.any() or not counts[kept].sum() > 0:
        raise ValueError("every day with tickets was excluded: nothing is left to fit")

    # the opening hours from the kept days' activity
    active = np.flatnonzero(counts[kept].sum(axis=(0, 2)))
    first, last = int(active[0]), int(active[-1])
    counts, intervals = counts[:, first : last + 1], intervals[first : last + 1]
    hours = (int(intervals[0]), min(int(intervals[-1]) + interval_min, 1440))
    alpha = 1 - confidence
    arrivals, dispersion = _arrival_tables(
        counts[kept], labels[kept], intervals, categories, interval_min, alpha
    )
    weekdays = days["weekday"].to_numpy()
    profile, weekday_factors = _weekly_profile(
        counts[kept], labels[kept], weekdays[kept], intervals, categories, interval_min, notes
    )
    result = Fit(
        source=source,
        interval_min=interval_min,
        confidence=float(confidence),
        abandonment=abandonment,
        hours=hours,
        days=days,
        outliers=outliers,
        excluded=excluded,
        arrivals=arrivals,
        dispersion=dispersion,
        profile=profile,
        weekday_factors=weekday_factors,
        notes=notes,
    )
    for row in dispersion[dispersion["overdispersed"]].itertuples():
        notes.append(
            f"{row.category} on {row.day_type} days: overdispersed (index of dispersion "
            f"{row.dispersion_index:.2f}, p = {row.p_value:.2g}): the day's level varies more "
            "than a Poisson day's; the scenario's Poisson arrivals understate the spread of busy "
            "days"
        )
    if tickets is not None and not (tickets["start"].notna() & tickets["end"].notna()).any():
        notes.append(
            "the log has no service times (start and end): arrivals only, as from counts; "
            "to_scenario needs a base scenario"
        )
        tickets = None
    if tickets is not None:
        kept_dates = pd.DatetimeIndex(days.loc[kept, "date"])
        tickets = tickets[tickets["date"].isin(kept_dates)]
        time_of_day = tickets["issued"] - tickets["date"]
        result.first_issue = _time_text(time_of_day.min())
        result.last_issue = _time_text(time_of_day.max())
        _fit_tickets(result, tickets, categories, alpha, notes)
    if (tickets is not None) and (tickets["outcome"] == "capped").any():
        notes.append(
            "the log has capped tickets (a daily cap): the cap is not fitted; the scenario "
            "admits them"
        )
    return result


# ---------------------------------------------------------------------- arrivals


def _base_category(category: pd.Series) -> pd.Series:
    """hallsim's ticket classes ``X:priority`` and ``X:appointment`` as their category."""
    text = category.astype(str)
    for suffix in CLASS_SUFFIXES:
        text = text.str.removesuffix(suffix)
    return text


def _prepared_tickets(table: pd.DataFrame) -> pd.DataFrame:
    """The log's tickets with categories as in the scenario, outcomes filled in from the
    times where missing, and the date of issue."""
    tickets = table.copy()
    tickets["category"] = _base_category(tickets["category"])
    for column in ("called", "start", "end", "window", "staff"):
        if column not in tickets:
            tickets[column] = pd.NaT if column in ("called", "start", "end") else None
    outcome = tickets["outcome"].astype(object) if "outcome" in tickets else None
    inferred = np.select(
        [
            tickets["start"].notna() & tickets["end"].notna(),
            tickets["start"].notna(),
            tickets["called"].notna(),
            tickets["end"].notna(),
        ],
        ["served", "in_system", "no_show", "abandoned"],
        default="in_system",
    )
    tickets["outcome"] = inferred if outcome is None else outcome.where(outcome.notna(), inferred)
    tickets["outcome"] = tickets["outcome"].astype(str)
    tickets["date"] = tickets["issued"].dt.normalize()
    return tickets


def _day_types(dates: pd.DatetimeIndex, calendar) -> np.ndarray:
    weekdays = np.array([WEEKDAYS[d] for d in dates.day_of_week], dtype=object)
    if calendar is None:
        return weekdays
    if callable(calendar) and not isinstance(calendar, Mapping | pd.Series):
        labels = [calendar(date) for date in dates]
    elif isinstance(calendar, Mapping | pd.Series):
        items = calendar.items()
        table = {}
        for key, label in items:
            try:
                date = pd.Timestamp(key).normalize()
            except (ValueError, TypeError):
                raise ValueError(f"calendar: {key!r} is not a date") from None
            table[date] = label
        labels = [table.get(date) for date in dates]
    else:
        raise ValueError(
            "calendar must be a mapping or Series from dates to labels, or a callable "
            f"(got {type(calendar).__name__})"
        )
    out = weekdays.copy()
    for k, label in enumerate(labels):
        if label is None:
            continue
        if not isinstance(label, str) or not label:
            raise ValueError(
                f"calendar: the label of {dates[k].date()} must be a non-empty text (got {label!r})"
            )
        out[k] = label
    return out


def _dates(exclude, dates: pd.DatetimeIndex) -> list[pd.Timestamp]:
    if exclude is None:
        return []
    if isinstance(exclude, str) or not isinstance(exclude, Iterable):
        exclude = [exclude]
    out = []
    for value in exclude:
        try:
            date = pd.Timestamp(value).normalize()
        except (ValueError, TypeError):
            raise ValueError(f"exclude: {value!r} is not a date") from None
        if date not in dates:
            raise ValueError(
                f"exclude: {value!r} is not a day of the log ({dates[0].date()} to "
                f"{dates[-1].date()})"
            )
        out.append(date)
    return out


def _days_table(dates, labels, counts, intervals) -> pd.DataFrame:
    per_interval = counts.sum(axis=2)
    any_ticket = per_interval > 0
    has = any_ticket.any(axis=1)
    first = np.where(has, intervals[np.argmax(any_ticket, axis=1)], np.nan)
    last = np.where(
        has, intervals[len(intervals) - 1 - np.argmax(any_ticket[:, ::-1], axis=1)], np.nan
    )
    return pd.DataFrame(
        {
            "date": dates,
            "weekday": [WEEKDAYS[d] for d in dates.day_of_week],
            "day_type": labels,
            "tickets": per_interval.sum(axis=1),
            "first_interval": first,
            "last_interval": last,
            "excluded": "",
        }
    )


def _outliers(days: pd.DataFrame, intervals, interval_min: int) -> pd.DataFrame:
    """Days whose total is out of line for their day type (see :attr:`Fit.outliers`)."""
    from scipy import stats

    rows = []
    for day_type, group in days.groupby("day_type", sort=False):
        if len(group) < OUTLIER_MIN_DAYS:
            continue
        totals = group["tickets"].to_numpy(dtype=float)
        median = float(np.median(totals))
        scale = max(stats.median_abs_deviation(totals, scale="normal"), math.sqrt(median))
        if scale == 0:
            continue  # a closed day type: every day has no tickets
        low, high = max(median - OUTLIER_Z * scale, 0.0), median + OUTLIER_Z * scale
        usual_first = np.nanmedian(group["first_interval"])
        usual_last = np.nanmedian(group["last_interval"])
        for row in group[(totals < low) | (totals > high)].itertuples():
            side = "below" if row.tickets < low else "above"
            reason = (
                f"{row.tickets:,} tickets, {side} the range [{low:.0f}, {high:.0f}] of "
                f"{day_type} days (median {median:.0f} over {len(group)} days, +/- "
                f"{OUTLIER_Z} robust sd)"
            )
            if row.tickets == 0:
                reason = f"no tickets ({day_type} days: median {median:.0f}; a holiday?)"
            elif row.last_interval < usual_last - interval_min:
                reason += (
                    f"; tickets stop in the {_clock(row.last_interval)} interval, usually "
                    f"{_clock(usual_last)} (an outage?)"
                )
            elif row.first_interval > usual_first + interval_min:
                reason += (
                    f"; tickets start in the {_clock(row.first_interval)} interval, usually "
                    f"{_clock(usual_first)}"
                )
            rows.append((row.date, day_type, row.tickets, median, low, high, reason))
    columns = ["date", "day_type", "tickets", "median", "low", "high", "reason"]
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values("date", ignore_index=True)


def _garwood(k: np.ndarray, alpha: float, stats) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval of a Poisson mean from a count ``k``: chi-square quantiles
    ``chi2(alpha/2; 2k) / 2`` and ``chi2(1 - alpha/2; 2k + 2) / 2`` (Garwood, "Fiducial limits
    for the Poisson distribution", Biometrika 28, 1936)."""
    k = np.asarray(k, dtype=float)
    low = np.where(k > 0, stats.chi2.ppf(alpha / 2, 2 * np.maximum(k, 1)) / 2, 0.0)
    high = stats.chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2
    return low, high


def _type_order(labels) -> list[str]:
    present = set(labels)
    return [w for w in WEEKDAYS if w in present] + sorted(present - set(WEEKDAYS))


def _arrival_tables(counts, labels, intervals, categories, interval_min, alpha):
    """Rates per category, day type and interval, and the dispersion of the days."""
    from scipy import stats

    arrival_rows, dispersion_rows = [], []
    n_intervals = len(intervals)
    for day_type in _type_order(labels):
        days = counts[labels == day_type]  # (D, I, C)
        if not days.sum() > 0:
            continue  # closed on this day type
        n_days = days.shape[0]
        tickets = days.sum(axis=0)  # (I, C)
        arrival_rows.append(
            pd.DataFrame(
                {
                    "category": np.repeat(categories, n_intervals),
                    "day_type": day_type,
                    "interval_start": np.tile(intervals, len(categories)),
                    "days": n_days,
                    "tickets": tickets.T.ravel(),
                }
            )
        )
        # Fisher's index of dispersion test, pooled over intervals (Cochran, "Some methods
        # for strengthening the common chi-square tests", Biometrics 10, 1954)
        mean = days.mean(axis=0)
        variance = days.var(axis=0, ddof=1) if n_days > 1 else np.full(mean.shape, np.nan)
        valid = mean > 0
        statistic = np.where(valid, (n_days - 1) * variance / np.where(valid, mean, 1), 0).sum(
            axis=0
        )
        df = (n_days - 1) * valid.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            index = np.where(df > 0, statistic / np.maximum(df, 1), np.nan)
            p_value = np.where(df > 0, stats.chi2.sf(statistic, np.maximum(df, 1)), np.nan)
        dispersion_rows.append(
            pd.DataFrame(
                {
                    "category": categories,
                    "day_type": day_type,
                    "days": n_days,
                    "intervals": valid.sum(axis=0),
                    "dispersion_index": index,
                    "statistic": statistic,
                    "df": df,
                    "p_value": p_value,
                    "overdispersed": p_value < DISPERSION_LEVEL,
                }
            )
        )
    arrivals = pd.concat(arrival_rows, ignore_index=True)
    hours = arrivals["days"].to_numpy() * interval_min / 60
    low, high = _garwood(arrivals["tickets"].to_numpy(), alpha, stats)
    arrivals.insert(3, "interval_min", interval_min)
    arrivals["rate_per_hour"] = arrivals["tickets"] / hours
    arrivals["rate_lo"] = low / hours
    arrivals["rate_hi"] = high / hours
    order = {label: k for k, label in enumerate(_type_order(labels))}
    arrivals = arrivals.sort_values(
        ["category", "day_type", "interval_start"],
        key=lambda s: s.map(order) if s.name == "day_type" else s,
        ignore_index=True,
    )
    dispersion = pd.concat(dispersion_rows, ignore_index=True).sort_values(
        ["category", "day_type"],
        key=lambda s: s.map(order) if s.name == "day_type" else s,
        ignore_index=True,
    )
    return arrivals, dispersion


def _weekly_profile(counts, labels, weekdays, intervals, categories, interval_min, notes):
    """The format's ``rates_per_hour`` x ``weekday_factors`` per category: the maximum
    likelihood fit of the multiplicative Poisson model over the weekday-labelled days (the
    independence fit of the day type x interval table; e.g. Agresti, *Categorical Data
    Analysis*, 2002, 8.2), and a G test of it.

    A weekday none of whose days carries its own label (every Saturday labelled "weekend")
    takes its factor from its days whatever their label; a weekday with no day in the log
    gets 1 (no evidence either way); a weekday whose days have no tickets, 0."""
    from scipy import stats

    hours = interval_min / 60
    open_day = counts.sum(axis=(1, 2)) > 0
    type_open = {t: bool(open_day[labels == t].any()) for t in set(labels)}
    weekday_types = [w for w in WEEKDAYS if type_open.get(w)]
    n_days = np.array([(labels == w).sum() for w in weekday_types], dtype=float)
    # (T, I, C) tickets per open weekday type
    by_type = np.zeros((len(weekday_types), len(intervals), len(categories)))
    for k, weekday in enumerate(weekday_types):
        by_type[k] = counts[labels == weekday].sum(axis=0)
    total_days = n_days.sum()
    column = by_type.sum(axis=0)  # (I, C)
    profile_rates = column / (total_days * hours) if total_days else np.zeros_like(column, float)
    profile = pd.DataFrame(
        {
            "category": np.repeat(categories, len(intervals)),
            "interval_start": np.tile(intervals, len(categories)),
            "rate_per_hour": profile_rates.T.ravel(),
        }
    )
    rows = []
    unseen = [w for w in WEEKDAYS if w not in set(weekdays)]
    relabelled = [w for w in WEEKDAYS if w not in set(labels) and w not in unseen]
    for c, category in enumerate(categories):
        total = column[:, c].sum()
        row = {"category": category}
        for w in WEEKDAYS:
            if w in unseen:
                row[w] = 1.0
            elif total == 0 or not (w in weekday_types or w in relabelled):
                row[w] = 0.0  # closed that weekday
            else:
                days = counts[(labels == w) if w in weekday_types else (weekdays == w), :, c]
                row[w] = (days.sum() / days.shape[0]) / (total / total_days)
        observed = by_type[:, :, c]  # (T, I)
        rows_sum, cols_sum = observed.sum(axis=1), observed.sum(axis=0)
        expected = np.outer(rows_sum, cols_sum) / total if total > 0 else observed * 0.0
        positive = observed > 0
        statistic = 2 * float(
            (observed[positive] * np.log(observed[positive] / expected[positive])).sum()
        )
        df = max((int((rows_sum > 0).sum()) - 1) * (int((cols_sum > 0).sum()) - 1), 0)
        row["shape_statistic"] = statistic
        row["shape_df"] = df
        row["shape_pvalue"] = float(stats.chi2.sf(statistic, df)) if df > 0 else np.nan
        rows.append(row)
        if df > 0 and row["shape_pvalue"] < DISPERSION_LEVEL:
            notes.append(
                f"{category}: the weekdays' daily profiles differ in shape (G = {statistic:.1f} "
                f"on {df} df, p = {row['shape_pvalue']:.2g}); the format's one profile x "
                "weekday factors is an approximation (fit.arrivals has each day type's rates)"
            )
    if relabelled:
        notes.append(
            f"weekdays none of whose days carries its own label: {', '.join(relabelled)}; "
            "their weekday factor comes from their days whatever their label"
        )
    if unseen:
        notes.append(
            f"weekdays without a day in the log: {', '.join(unseen)}; their weekday factor is "
            "set to 1 (no evidence either way)"
        )
    for label in sorted(set(labels) - set(WEEKDAYS)):
        if type_open.get(label):
            days = counts[labels == label]
            notes.append(
                f"day type {label!r} ({days.shape[0]} days, {days.sum() / days.shape[0]:.0f} "
                "tickets a day) has no place in the hall format (rates_per_hour x "
                "weekday_factors): its days are left out of the scenario's rates"
            )
    return profile, pd.DataFrame(rows)


# ---------------------------------------------------------------------- tickets


def _minutes(later: pd.Series, earlier: pd.Series) -> np.ndarray:
    return ((later - earlier) / pd.Timedelta(minutes=1)).to_numpy(dtype=float)


def _fit_tickets(result: Fit, tickets: pd.DataFrame, categories, alpha: float, notes) -> None:
    """Service, staff, generalist, patience, no-show, balking and windows from the tickets."""
    served = tickets[tickets["start"].notna() & tickets["end"].notna()].copy()
    served["duration"] = _minutes(served["end"], served["start"])
    zero = served["duration"] <= 0
    if zero.any():
        notes.append(
            f"{int(zero.sum()):,} served tickets with a duration of 0 are left out of the "
            "service fits"
        )
    served = served[~zero]
    result.windows, window_sets = _windows(
        served, categories, notes, result.hours, result.interval_min
    )
    result.generalist = _generalist(served, window_sets, alpha)
    # durations as at a dedicated window: divided by the applied generalist ratios
    applied = result.generalist.set_index("category")["ratio"].where(
        result.generalist.set_index("category")["applied"]
    )
    multi = served["window"].map({w: len(s) > 1 for w, s in window_sets.items()}).fillna(False)
    ratio = served["category"].map(applied.dropna()).fillna(1.0)
    served["duration"] = served["duration"] / np.where(multi.astype(bool), ratio, 1.0)
    result.service, result.durations = _service(served, categories, alpha, notes)
    result.staff_speed = _staff_speed(served, alpha)
    result.patience, result.patience_fits = _patience(
        tickets, categories, result.abandonment, result.confidence, notes
    )
    result.no_show = _no_show(tickets, categories, result.abandonment, alpha)
    result.balking = _balking(tickets, alpha)
    in_system = int((tickets["outcome"] == "in_system").sum())
    if in_system:
        notes.append(
            f"{in_system:,} tickets still in the system at the end of the log are left out "
            "of patience and no-show"
        )


def _window_spans(at_window: pd.DataFrame, hours: tuple[int, int], interval_min: int) -> dict:
    """When each window is open, from when it starts serving: per interval of the opening
    hours, the share of the log's days on which the window began a service in it. A window
    is closed in an interval where that share is below a tenth of the busiest window's share
    there (a lunch relay, a window that opens late); an interval in which no window ever
    begins a service stays open. Returns window -> ``[(open, close), ...]`` minutes of day,
    or ``None`` for a window open all the hours."""
    start = at_window["start"]
    day = start.dt.normalize()
    minute = ((start - day) / pd.Timedelta(minutes=1)).to_numpy()
    edges = np.arange(hours[0], hours[1], interval_min)
    slot = np.searchsorted(edges, minute, side="right") - 1
    inside = (minute >= hours[0]) & (minute < hours[1])
    began = (
        pd.DataFrame({"window": at_window["window"].astype(str)[inside], "slot": slot[inside],
                      "day": day[inside]})
        .drop_duplicates()
        .groupby(["window", "slot"])
        .size()
        .unstack("slot", fill_value=0)
        .reindex(columns=range(len(edges)), fill_value=0)
    )  # fmt: skip
    share = began / max(day.nunique(), 1)
    is_open = (share >= 0.1 * share.max(axis=0)) | (share.max(axis=0) == 0)
    spans = {}
    for window, flags in is_open.iterrows():
        flags = flags.to_numpy()
        if flags.all():
            spans[window] = None
            continue
        runs, k = [], 0
        while k < len(flags):
            if flags[k]:
                first = k
                while k < len(flags) and flags[k]:
                    k += 1
                runs.append(
                    (
                        int(edges[first]),
                        int(min(edges[first] + (k - first) * interval_min, hours[1])),
                    )
                )
            k += 1
        spans[window] = runs or None
    return spans


def _windows(served: pd.DataFrame, categories, notes, hours, interval_min):
    """Each window's served categories and opening spans, and the ``[[windows]]`` entries
    they form (windows with the same categories and spans make one entry)."""
    at_window = served[served["window"].notna()]
    if at_window.empty:
        notes.append("the log names no windows: the scenario needs a base for them")
        empty = pd.DataFrame(columns=["entry", "count", "serves", "open", "windows", "tickets"])
        return empty, {}
    spans = _window_spans(at_window, hours, interval_min)
    table = pd.crosstab(at_window["window"].astype(str), at_window["category"])
    share = table.div(table.sum(axis=1), axis=0)
    sets = {w: {c for c in table.columns if share.loc[w, c] >= SERVES_SHARE} for w in table.index}
    for category in categories:
        if not any(category in s for s in sets.values()):
            if category in table.columns and table[category].sum() > 0:
                window = table[category].idxmax()
                why = f"below 1 % of every window's tickets: given to {window}, its busiest"
            else:
                window = table.sum(axis=1).idxmax()
                why = f"never served: given to the busiest window, {window}"
            sets[window].add(category)
            notes.append(f"category {category!r} {why}")
    groups: dict[tuple, list[str]] = {}
    for window in table.index:
        key = (frozenset(sets[window]), tuple(spans.get(window) or ()))
        groups.setdefault(key, []).append(window)
    rows = []
    for (served_set, open_spans), windows in sorted(
        groups.items(), key=lambda g: (len(g[0][0]), sorted(g[0][0]), g[0][1])
    ):
        serves = sorted(served_set)
        if set(serves) == set(categories) and len(categories) > 1:
            entry = "comprehensive"
        else:
            entry = "+".join(serves)
            if len(entry) > 40:
                entry = f"windows{len(rows) + 1}"
        if any(row["entry"] == entry for row in rows):  # same categories, other hours
            entry = f"{entry}-{len(rows) + 1}"
        rows.append(
            {
                "entry": entry,
                "count": len(windows),
                "serves": serves,
                "open": list(open_spans) or None,
                "windows": sorted(windows),
                "tickets": int(table.loc[windows].to_numpy().sum()),
            }
        )
    return pd.DataFrame(rows), sets


def _generalist(served: pd.DataFrame, window_sets: dict, alpha: float) -> pd.DataFrame:
    """Mean duration at windows serving several categories over that at dedicated ones,
    with a delta-method interval on the log of the ratio."""
    from scipy import stats

    columns = [
        "category",
        "n_dedicated",
        "n_comprehensive",
        "mean_dedicated",
        "mean_comprehensive",
        "ratio",
        "ratio_lo",
        "ratio_hi",
        "applied",
    ]
    kind = served["window"].map(
        {w: ("dedicated" if len(s) == 1 else "comprehensive") for w, s in window_sets.items()}
    )
    stats_by = (
        served.assign(kind=kind)
        .dropna(subset=["kind"])
        .groupby(["category", "kind"])["duration"]
        .agg(["count", "mean", "var"])
        .unstack("kind")
    )
    rows = []
    z = stats.norm.ppf(1 - alpha / 2)
    for category, row in stats_by.iterrows():
        try:
            n_d, n_c = row[("count", "dedicated")], row[("count", "comprehensive")]
        except KeyError:
            continue
        if not (n_d >= 2 and n_c >= 2):
            continue
        m_d, m_c = row[("mean", "dedicated")], row[("mean", "comprehensive")]
        v_d, v_c = row[("var", "dedicated")], row[("var", "comprehensive")]
        ratio = m_c / m_d
        se = math.sqrt(v_d / (n_d * m_d**2) + v_c / (n_c * m_c**2))
        low, high = ratio * math.exp(-z * se), ratio * math.exp(z * se)
        rows.append((category, int(n_d), int(n_c), m_d, m_c, ratio, low, high, low > 1 or high < 1))
    return pd.DataFrame(rows, columns=columns)


def _service(served: pd.DataFrame, categories, alpha: float, notes):
    """Exponential, lognormal, gamma and empirical fits per category."""
    rows, durations = [], {}
    for category in categories:
        x = served.loc[served["category"] == category, "duration"].to_numpy(dtype=float)
        durations[category] = x
        if x.size < 2:
            notes.append(
                f"category {category!r} has {x.size} served ticket(s) with a duration: too few "
                "to fit a service time (to_scenario needs a base scenario for it)"
            )
            rows.append({"category": category, "family": "none", "n": x.size, "chosen": True})
            continue
        rows.extend(_service_rows(category, x, alpha))
    return pd.DataFrame(rows), durations


def _frozen(family: str, mean: float, cv: float, stats):
    """The scipy distribution of a family with this mean and cv (origin 0)."""
    if family == "exponential":
        return stats.expon(scale=mean)
    if family == "lognormal":
        sigma2 = math.log1p(cv**2)
        return stats.lognorm(math.sqrt(sigma2), scale=mean * math.exp(-sigma2 / 2))
    shape = 1 / cv**2
    return stats.gamma(shape, scale=mean / shape)


def _cv_interval(x: np.ndarray, alpha: float) -> tuple[float, float]:
    """Normal interval of the coefficient of variation by the delta method. With the mean m,
    variance v and central moments mu3, mu4: Var(x bar) = v/n, Var(s^2) = (mu4 - v^2)/n,
    Cov(x bar, s^2) = mu3/n, and cv = sqrt(v)/m, so
    Var(cv) = (cv^4 + (mu4 - v^2) / (4 v m^2) - mu3 / m^3) / n."""
    from scipy import stats

    m = x.mean()
    centred = x - m
    v = centred @ centred / (x.size - 1)
    mu3 = (centred**3).mean()
    mu4 = (centred**4).mean()
    cv = math.sqrt(v) / m
    variance = (cv**4 + (mu4 - v * v) / (4 * v * m * m) - mu3 / m**3) / x.size
    half = stats.norm.ppf(1 - alpha / 2) * math.sqrt(max(variance, 0.0))
    return cv - half, cv + half


def _service_rows(category: str, x: np.ndarray, alpha: float) -> list[dict]:
    from scipy import stats

    n = x.size
    mean = float(x.mean())
    sd = float(x.std(ddof=1))
    half = stats.t.ppf(1 - alpha / 2, n - 1) * sd / math.sqrt(n)
    if sd == 0:
        cv_lo = cv_hi = 0.0
    elif n <= BOOTSTRAP_MAX_N:
        boot = stats.bootstrap(
            (x,),
            lambda s, axis: s.std(axis=axis, ddof=1) / s.mean(axis=axis),
            n_resamples=BOOTSTRAP_RESAMPLES,
            batch=max(1, min(BOOTSTRAP_RESAMPLES, int(5e6 // n))),
            confidence_level=1 - alpha,
            method="percentile",
            random_state=np.random.default_rng(BOOTSTRAP_SEED),
        )
        cv_lo, cv_hi = float(boot.confidence_interval.low), float(boot.confidence_interval.high)
    else:  # many tickets: the delta method is as good and costs one pass
        cv_lo, cv_hi = _cv_interval(x, alpha)
    common = {
        "category": category,
        "n": n,
        "mean_lo": mean - half,
        "mean_hi": mean + half,
        "cv_lo": cv_lo,
        "cv_hi": cv_hi,
    }
    rows = []
    for family in FAMILIES:
        try:
            if family == "exponential":
                _, scale = stats.expon.fit(x, floc=0)
                frozen, k, fam_mean, fam_cv = stats.expon(scale=scale), 1, scale, 1.0
            elif family == "lognormal":
                s, _, scale = stats.lognorm.fit(x, floc=0)
                frozen, k = stats.lognorm(s, scale=scale), 2
                fam_mean, fam_cv = scale * math.exp(s**2 / 2), math.sqrt(math.expm1(s**2))
            else:
                a, _, scale = stats.gamma.fit(x, floc=0)
                frozen, k, fam_mean, fam_cv = stats.gamma(a, scale=scale), 2, a * scale, a**-0.5
            loglik = float(frozen.logpdf(x).sum())
            if not np.isfinite(loglik):
                raise ValueError("non-finite likelihood")
            aic = 2 * k - 2 * loglik
            # the exact null distribution costs a second per 100,000 durations; beyond
            # 5,000 the asymptotic (Kolmogorov) one is as accurate
            method = "asymp" if n > BOOTSTRAP_MAX_N else "auto"
            ks = float(stats.kstest(x, frozen.cdf, method=method).pvalue)
        except (ValueError, RuntimeError, FloatingPointError):
            fam_mean = fam_cv = aic = ks = np.nan
        rows.append(
            {**common, "family": family, "mean": fam_mean, "cv": fam_cv, "aic": aic, "ks": ks}
        )
    rows.append(
        {
            **common,
            "family": "empirical",
            "mean": mean,
            "cv": sd / mean if mean > 0 else np.nan,
            "aic": np.nan,
            "ks": np.nan,
        }
    )
    fitted = [r for r in rows[:-1] if np.isfinite(r["aic"])]
    fits = [r for r in fitted if r["ks"] >= KS_LEVEL]
    chosen = min(fits, key=lambda r: r["aic"]) if fits else rows[-1]
    columns = ["category", "family", "n", "mean", "mean_lo", "mean_hi", "cv", "cv_lo", "cv_hi"]
    return [
        {
            **{c: r[c] for c in columns},
            "aic": r["aic"],
            "ks_pvalue": r["ks"],
            "chosen": r is chosen,
        }
        for r in rows
    ]


def _staff_speed(served: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Each staff member's ratio of durations to their categories' means, shrunk to 1."""
    from scipy import stats

    columns = ["staff", "tickets", "speed_raw", "speed_lo", "speed_hi", "speed"]
    staffed = served[served["staff"].notna()]
    if staffed.empty:
        return pd.DataFrame(columns=columns)
    expected = staffed["category"].map(served.groupby("category")["duration"].mean())
    table = pd.DataFrame(
        {
            "staff": staffed["staff"].astype(str),
            "d": staffed["duration"].to_numpy(),
            "mu": expected.to_numpy(),
        }
    )
    sums = table.groupby("staff").agg(n=("d", "size"), d=("d", "sum"), mu=("mu", "sum"))
    ratio = sums["d"] / sums["mu"]
    table["residual"] = table["d"] - table["staff"].map(ratio) * table["mu"]
    # variance of the ratio estimator: sum(residual^2) / ((n - 1) n mean(mu)^2)
    residual = table.groupby("staff")["residual"].apply(lambda r: float((r**2).sum()))
    n = sums["n"]
    mean_mu = sums["mu"] / n
    se = np.sqrt(residual / (np.maximum(n - 1, 1) * n * mean_mu**2))
    z = stats.norm.ppf(1 - alpha / 2)
    out = pd.DataFrame(
        {
            "staff": sums.index,
            "tickets": n.to_numpy(),
            "speed_raw": ratio.to_numpy(),
            "speed_lo": (ratio - z * se).where(n > 1).to_numpy(),
            "speed_hi": (ratio + z * se).where(n > 1).to_numpy(),
            "speed": (1 + (ratio - 1) * n / (n + STAFF_SHRINK_TICKETS)).to_numpy(),
        }
    )
    return out.reset_index(drop=True)


def _patience(tickets: pd.DataFrame, categories, abandonment: str, confidence: float, notes):
    from .patience import fit_patience

    called_at = tickets["called"].fillna(tickets["start"])
    wait_to_call = _minutes(called_at, tickets["issued"])
    left_at = _minutes(tickets["end"], tickets["issued"])
    outcome = tickets["outcome"].to_numpy()
    category = tickets["category"].to_numpy()
    called = called_at.notna().to_numpy()
    exact = (outcome == "abandoned") & np.isfinite(left_at)
    if abandonment == "at_call":
        left = (outcome == "no_show") & called
        right = called & ~left
    else:
        left = np.zeros(len(tickets), dtype=bool)
        right = called
    rows, fits = [], {}
    for c in categories:
        mine = category == c
        a, r, b = left_at[mine & exact], wait_to_call[mine & right], wait_to_call[mine & left]
        row = {
            "category": c,
            "family": "none",
            "n_exact": a.size,
            "n_right": r.size,
            "n_left": b.size,
            "mean": np.nan,
            "mean_lo": np.nan,
            "mean_hi": np.nan,
            "cv": np.nan,
            "naive_mean": float(a.mean()) if a.size else np.nan,
            "note": "",
        }
        if a.size == 0 and b.size == 0:
            row["note"] = "nobody gave up: no patience (waits forever)"
        else:
            try:
                result = fit_patience(a, r, b if b.size else None, confidence=confidence)
            except ValueError as error:
                row["note"] = f"not identifiable: {error}"
            else:
                fits[c] = result
                row.update(
                    family=result.family,
                    mean=result.mean,
                    mean_lo=result.mean_lo,
                    mean_hi=result.mean_hi,
                    cv=result.cv,
                    naive_mean=result.naive_mean,
                )
                longest = float(np.concatenate([a, r, b]).max())
                simplest = result.table.set_index("family")["mean"].get("exponential", np.nan)
                if result.mean > 2 * longest and not 0.5 <= result.mean / simplest <= 2:
                    # the likelihood sees patience only up to the longest wait: beyond it,
                    # the mean is the family's extrapolation, and families differ wildly
                    row["note"] = (
                        f"the {result.family} patience mean ({result.mean:,.0f} min) lies far "
                        f"beyond the longest wait seen ({longest:,.0f} min): the log fixes "
                        "patience only up to there, the mean is the family's extrapolation "
                        f"(exponential: {simplest:,.0f} min)"
                    )
        if row["note"]:
            notes.append(f"category {c!r}: {row['note']}")
        rows.append(row)
    return pd.DataFrame(rows), fits


def _no_show(tickets: pd.DataFrame, categories, abandonment: str, alpha: float) -> pd.DataFrame:
    """Share of called tickets whose holder was absent, with a Clopper-Pearson interval
    (Clopper and Pearson, Biometrika 26, 1934: beta quantiles)."""
    from scipy import stats

    called_at = tickets["called"].fillna(tickets["start"])
    called = called_at.notna()
    absent = called & (tickets["outcome"] == "no_show")
    lost = pd.Series(_minutes(tickets["end"], called_at), index=tickets.index)
    table = pd.DataFrame(
        {
            "category": tickets["category"],
            "called": called.astype(int),
            "no_show": absent.astype(int),
            "lost": lost.where(absent),
        }
    )
    grouped = table.groupby("category").agg(
        called=("called", "sum"), no_show=("no_show", "sum"), lost_min=("lost", "median")
    )
    grouped = grouped.reindex(categories, fill_value=0)
    n, k = grouped["called"].to_numpy(), grouped["no_show"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n > 0, k / np.maximum(n, 1), 0.0)
        low = np.where(k > 0, stats.beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        high = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
    out = pd.DataFrame(
        {
            "category": categories,
            "called": n,
            "no_show": k,
            "share": share,
            "share_lo": low,
            "share_hi": high,
            "lost_min": grouped["lost_min"].to_numpy(dtype=float),
            "note": "",
        }
    )
    if abandonment == "at_call":
        out[["share", "share_lo", "share_hi"]] = 0.0
        out["note"] = (
            "abandonment at call: no-shows are patience (gave up before the call); a share "
            "absent for other reasons is not identifiable, set to 0"
        )
    return out


def _queue_at_issue(tickets: pd.DataFrame) -> np.ndarray:
    """The number of tickets of each ticket's category waiting when it was issued: issued
    before it, admitted (not balked, capped or a booked holder who never came), and neither
    called nor gone by then (tickets never called or gone wait until the end of their day)."""
    issued = tickets["issued"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    called_at = tickets["called"].fillna(tickets["start"])
    gone = called_at.fillna(tickets["end"])
    end_of_day = tickets["issued"].dt.normalize() + pd.Timedelta(days=1)
    departure = gone.fillna(end_of_day).to_numpy(dtype="datetime64[ns]").astype(np.int64)
    outcome = tickets["outcome"].to_numpy()
    refused = np.isin(outcome, ["balked", "capped"]) | (
        (outcome == "no_show") & called_at.isna().to_numpy()
    )
    queue = np.zeros(len(tickets), dtype=np.int64)
    codes, _ = pd.factorize(tickets["category"])
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(codes.max() + 2))
    for k in range(len(bounds) - 1):
        rows = order[bounds[k] : bounds[k + 1]]
        admitted = rows[~refused[rows]]
        joined = np.sort(issued[admitted])
        left = np.sort(departure[admitted])
        t = issued[rows]
        queue[rows] = np.searchsorted(joined, t, "left") - np.searchsorted(left, t, "left")
    return np.maximum(queue, 0)


def _balking(tickets: pd.DataFrame, alpha: float) -> pd.DataFrame | None:
    """Balking probability by queue length at issue, per category that has balked tickets."""
    from scipy import stats
    from scipy.optimize import isotonic_regression

    balked = tickets["outcome"].to_numpy() == "balked"
    if not balked.any():
        return None
    judged = ~np.isin(tickets["outcome"].to_numpy(), ["capped"])
    queue = _queue_at_issue(tickets)
    rows = []
    for category in sorted(tickets.loc[balked, "category"].unique()):
        mine = (tickets["category"].to_numpy() == category) & judged
        per_length = (
            pd.DataFrame({"queue": queue[mine], "balked": balked[mine].astype(int)})
            .groupby("queue")["balked"]
            .agg(["size", "sum"])
        )
        n, k = per_length["size"].to_numpy(float), per_length["sum"].to_numpy(float)
        fitted = isotonic_regression(k / n, weights=n, increasing=True)
        lengths = per_length.index.to_numpy()
        for a, b in zip(fitted.blocks[:-1], fitted.blocks[1:], strict=True):
            n_bin, k_bin = n[a:b].sum(), k[a:b].sum()
            rows.append(
                {
                    "category": category,
                    "queue_min": int(lengths[a]),
                    "queue_max": int(lengths[b - 1]),
                    "queue": int(round((lengths[a:b] * n[a:b]).sum() / n_bin)),
                    "tickets": int(n_bin),
                    "balked": int(k_bin),
                    "share": k_bin / n_bin,
                    "share_lo": stats.beta.ppf(alpha / 2, k_bin, n_bin - k_bin + 1)
                    if k_bin > 0
                    else 0.0,
                    "share_hi": stats.beta.ppf(1 - alpha / 2, k_bin + 1, n_bin - k_bin)
                    if k_bin < n_bin
                    else 1.0,
                    "probability": float(fitted.x[a]),
                }
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------- TOML with comments


def _round(value: float, digits: int = 5) -> float:
    """``value`` to ``digits`` significant digits (the file stays readable)."""
    return float(f"{float(value):.{digits}g}")


def _round_dist(dist: dict) -> dict:
    return {k: _round(v) if isinstance(v, float) else v for k, v in dist.items()}


def _time_text(time_of_day: pd.Timedelta) -> str:
    seconds = int(time_of_day.total_seconds())
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _clock(minute: float) -> str:
    minute = int(minute)
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_string(key)


def _toml_string(text: str) -> str:
    # a JSON string is a TOML basic string, but for DEL, which TOML wants escaped
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: Any) -> str:
    """``value`` as an inline TOML value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value!r} to TOML")
        return repr(float(value))
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, Mapping):
        items = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return f"{{ {items} }}" if items else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write a {type(value).__name__} to TOML")


def _comment_lines(lines: list[str] | None) -> list[str]:
    return [f"# {line}" for text in lines or [] for line in str(text).splitlines()]


def _toml_document(data: dict, comments: dict[tuple, list[str]]) -> str:
    """A scenario's data as TOML: scalar keys, then tables, then arrays of tables, each key
    preceded by its comment (``comments[(section, index, key)]``)."""

    def is_table_array(value: Any) -> bool:
        return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)

    def body(table: dict, where: tuple) -> list[str]:
        out = []
        for key, value in table.items():
            out += _comment_lines(comments.get((*where, key)))
            out.append(f"{_toml_key(key)} = {_toml_value(value)}")
        return out

    lines = _comment_lines(comments.get(()))
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict) and not is_table_array(v)}
    lines += body(scalars, ())
    for key, value in data.items():
        if isinstance(value, dict):
            lines += ["", *_comment_lines(comments.get((key,))), f"[{_toml_key(key)}]"]
            lines += body(value, (key,))
        elif is_table_array(value):
            for index, item in enumerate(value):
                lines += [
                    "",
                    *_comment_lines(comments.get((key, index))),
                    f"[[{_toml_key(key)}]]",
                ]
                lines += body(item, (key, index))
    return "\n".join(lines) + "\n"
