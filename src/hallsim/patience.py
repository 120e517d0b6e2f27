"""Patience from censored waits: how long citizens would wait before giving up.

A ticket log shows a citizen's *patience* only in part. Who was seen to leave after waiting
``w`` minutes had patience ``w`` (exact). Who was called after waiting ``w`` had patience
longer than ``w`` (right-censored); these are most tickets, and leaving them out makes the
mean of the abandoners' waits far too short (only the impatient are seen to give up). Who
was gone when called after ``w`` minutes (many halls learn of an abandonment only at the
call, 过号) had patience shorter than ``w`` (left-censored). :func:`fit_patience` fits
patience families by maximum likelihood to all three kinds of observation, chooses one by
AIC, and estimates the survival function without a family (Kaplan-Meier, or Turnbull's
estimate when there is left censoring) to judge the fits against.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import optimize, stats

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["FAMILIES", "PatienceFit", "fit_patience"]

FAMILIES = ("exponential", "lognormal", "gamma")
"""The patience families :func:`fit_patience` can fit (all with their origin at zero)."""

_SCIPY = {"exponential": stats.expon, "lognormal": stats.lognorm, "gamma": stats.gamma}
_START_ROWS = 50_000  # the rough search starts on at most this many rows
_HESSIAN_STEP = 1e-3  # finite-difference steps in log-parameters
_GRADIENT_STEP = 1e-4
_SCORE_TOLERANCE = 1e-10  # g' I^-1 g at the maximum: within 1e-5 standard errors
_ROUNDING_TOLERANCE = 1e-4  # ... or within 0.01 standard errors where rounding hides more
_NEWTON_STEPS = 20
_LOG_PARAMETER_LIMIT = 30.0  # |log parameter| beyond this: the fit ran off to an edge
_TURNBULL_TOL = 1e-8  # stop when max_j d_j / N <= 1 + tol (the NPMLE condition)
_TURNBULL_MAXITER = 10_000


@dataclass
class PatienceFit:
    """The patience fitted to censored waits by :func:`fit_patience`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per family tried: ``family``, ``mean`` (minutes), ``mean_lo``, ``mean_hi``
        (its confidence interval), ``cv``, ``loglik``, ``aic``, ``chosen`` (the least AIC),
        ``failed`` (the fit did not converge to a finite maximum; its numbers are NaN and
        ``table.attrs["failures"]`` says why). ``table.attrs`` also holds ``confidence`` and
        ``interval_method`` (per family).
    family : str
        The chosen family.
    mean, mean_lo, mean_hi : float
        The chosen family's mean patience (minutes) and its confidence interval.
    cv : float
        The chosen family's coefficient of variation.
    distribution : dict
        The chosen family as a hallsim scenario distribution, e.g.
        ``{"dist": "lognormal", "mean_min": 18.2, "cv": 1.4}``.
    naive_mean : float
        The mean of the exact values (waits of those seen to give up): biased low, shown for
        comparison. NaN when there are none.
    survival : pandas.DataFrame
        The survival function without a family, ``minutes, survival, survival_lo,
        survival_hi``: a step function, ``survival`` being P(patience > minutes) from that
        row until the next. ``attrs["method"]`` is ``"kaplan-meier"`` or ``"turnbull"``.
    n_exact, n_right, n_left : int
        The numbers of exact, right-censored and left-censored values given.
    confidence : float
        The confidence level of the intervals.
    """

    table: pd.DataFrame
    family: str
    mean: float
    mean_lo: float
    mean_hi: float
    cv: float
    distribution: dict
    naive_mean: float
    survival: pd.DataFrame
    n_exact: int
    n_right: int
    n_left: int
    confidence: float = 0.95
    _fitted: dict[str, Any] = field(default_factory=dict, repr=False)

    def plot(self, ax: Axes | None = None) -> Axes:
        """The survival function without a family (with its pointwise band, for Kaplan-Meier)
        against the fitted families' survival functions; the chosen family drawn solid."""
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots()
        table = self.survival
        minutes = table["minutes"].to_numpy()
        method = table.attrs.get("method", "kaplan-meier")
        ax.step(
            minutes,
            table["survival"],
            where="post",
            color="black",
            label="Kaplan-Meier" if method == "kaplan-meier" else "Turnbull",
        )
        if table["survival_lo"].notna().any():
            ax.fill_between(
                minutes,
                table["survival_lo"],
                table["survival_hi"],
                step="post",
                color="grey",
                alpha=0.3,
                label=f"{self.confidence:.0%} pointwise band",
            )
        grid = np.linspace(0.0, float(minutes.max()) if minutes.size else 1.0, 400)
        for family, frozen in self._fitted.items():
            chosen = family == self.family
            ax.plot(
                grid,
                frozen.sf(grid),
                linestyle="-" if chosen else "--",
                linewidth=2.0 if chosen else 1.2,
                label=f"{family} (mean {frozen.mean():.3g} min)" + (", chosen" if chosen else ""),
            )
        ax.set(
            xlabel="minutes waited",
            ylabel="share still willing to wait",
            title="Patience",
            ylim=(0.0, 1.02),
        )
        ax.legend()
        return ax


def fit_patience(
    abandoned_after: ArrayLike,
    waited_at_least: ArrayLike,
    abandoned_before: ArrayLike | None = None,
    *,
    families: Sequence[str] = ("exponential", "lognormal", "gamma"),
    confidence: float = 0.95,
) -> PatienceFit:
    """Fit patience (minutes a citizen would wait before giving up) to censored waits.

    Each family of :data:`FAMILIES` is fitted by maximum likelihood, every observation
    contributing what it tells: the density at an exact value, the survival function at a
    right-censored one, the distribution function at a left-censored one (scipy.stats'
    ``logpdf``, ``logsf`` and ``logcdf`` of the family with location 0). A Nelder-Mead
    search from the exponential fit (on a thinned sample for long logs) starts Newton steps
    on the full likelihood. The family with the least AIC is chosen.

    Confidence intervals for each family's mean patience:

    - exponential: the likelihood-ratio (profile likelihood) interval, the means whose
      log-likelihood is within ``chi2(1).ppf(confidence) / 2`` of the maximum;
    - lognormal and gamma: the delta-method interval for the log of the mean, from the
      observed information (numerical Hessian of the censored log-likelihood in the log of
      the parameters), exponentiated: ``exp(log m +- z se)``.

    The survival function without a family is the Kaplan-Meier estimate (scipy.stats.ecdf)
    with a pointwise log-log interval (Kalbfleisch and Prentice) when nothing is
    left-censored; otherwise Turnbull's (1976) nonparametric maximum likelihood estimate,
    without an interval (its sampling distribution is not the usual one; the band columns
    are NaN).

    Parameters
    ----------
    abandoned_after : array_like
        Waits (minutes) after which the citizen was seen to give up: exact patience.
    waited_at_least : array_like
        Waits (minutes) of tickets called and served: patience was longer.
    abandoned_before : array_like, optional
        Waits (minutes) to a call that found the citizen gone: patience was shorter.
    families : sequence of str
        The families to fit, from :data:`FAMILIES`.
    confidence : float
        The confidence level of the intervals, in (0, 1).

    Returns
    -------
    PatienceFit

    Raises
    ------
    ValueError
        A wait that is negative, NaN or infinite (naming the argument, position and value);
        nobody seen to give up (no exact and no left-censored value: patience is not
        identifiable), or every wait zero; an unknown family; a confidence outside (0, 1);
        no family could be fitted.

    Notes
    -----
    A wait of zero among the exact or left-censored values means giving up at once, within
    the log's resolution; the families (whose density vanishes or diverges at 0) read it as
    patience shorter than the least positive wait in the data.
    """
    exact = _waits(abandoned_after, "abandoned_after")
    right = _waits(waited_at_least, "waited_at_least")
    left = _waits([] if abandoned_before is None else abandoned_before, "abandoned_before")
    families = _families(families)
    if isinstance(confidence, bool) or not (
        isinstance(confidence, int | float | np.floating) and 0.0 < confidence < 1.0
    ):
        raise ValueError(f"confidence must be a number in (0, 1) (got {confidence!r})")
    confidence = float(confidence)
    _identifiable(exact, right, left)

    waits = _for_families(exact, right, left)
    sample = _Sample.from_waits(*waits)
    rows, fitted, failures, methods = [], {}, {}, {}
    for family in families:
        methods[family] = _INTERVAL_METHOD[family]
        try:
            theta, loglik, low, high = _fit_family(family, sample, waits, confidence)
        except (ValueError, ArithmeticError, RuntimeError, np.linalg.LinAlgError) as error:
            failures[family] = str(error) or type(error).__name__
            rows.append({"family": family, "failed": True})
            continue
        mean, cv = _mean_cv(family, theta)
        shapes, scale = _scipy_args(family, theta)
        fitted[family] = _SCIPY[family](*shapes, loc=0.0, scale=scale)
        rows.append(
            {
                "family": family,
                "mean": mean,
                "mean_lo": low,
                "mean_hi": high,
                "cv": cv,
                "loglik": loglik,
                "aic": 2.0 * len(theta) - 2.0 * loglik,
                "failed": False,
            }
        )
    if not fitted:
        detail = "; ".join(f"{name}: {why}" for name, why in failures.items())
        raise ValueError(f"no patience family could be fitted ({detail})")

    table = pd.DataFrame(
        rows, columns=["family", "mean", "mean_lo", "mean_hi", "cv", "loglik", "aic", "failed"]
    )
    table = table.astype({name: float for name in table.columns[1:-1]})
    table["failed"] = table["failed"].astype(bool)
    best = table["aic"].idxmin()  # NaN (failed) rows are skipped
    table.insert(7, "chosen", table.index == best)
    table.attrs.update({"confidence": confidence, "failures": failures, "interval_method": methods})
    chosen = table.loc[best]
    family = str(chosen["family"])
    distribution = {"dist": family, "mean_min": float(chosen["mean"])}
    if family != "exponential":
        distribution["cv"] = float(chosen["cv"])
    return PatienceFit(
        table=table,
        family=family,
        mean=float(chosen["mean"]),
        mean_lo=float(chosen["mean_lo"]),
        mean_hi=float(chosen["mean_hi"]),
        cv=float(chosen["cv"]),
        distribution=distribution,
        naive_mean=float(exact.mean()) if exact.size else math.nan,
        survival=_survival(exact, right, left, confidence),
        n_exact=int(exact.size),
        n_right=int(right.size),
        n_left=int(left.size),
        confidence=confidence,
        _fitted=fitted,
    )


# --- input ----------------------------------------------------------------------------------


def _waits(values: ArrayLike, name: str) -> np.ndarray:
    """``values`` as a 1-D float array of finite waits >= 0, or a ValueError naming them."""
    try:
        waits = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers of minutes (got {_show(values)})") from None
    if waits.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (got shape {waits.shape})")
    bad = np.flatnonzero(~(np.isfinite(waits) & (waits >= 0.0)))
    if bad.size:
        value = waits[bad[0]]
        raise ValueError(
            f"{name}[{bad[0]}] must be a finite wait >= 0 minutes (got {value!r}; "
            f"{bad.size} bad value{'s' if bad.size > 1 else ''} in {name})"
        )
    return waits


def _show(values: Any) -> str:
    text = repr(values)
    return text if len(text) <= 60 else text[:57] + "..."


def _families(families: Sequence[str]) -> list[str]:
    if isinstance(families, str):
        families = [families]
    chosen = list(families)
    if not chosen:
        raise ValueError(f"families must name at least one of {FAMILIES} (got {families!r})")
    for family in chosen:
        if family not in FAMILIES:
            raise ValueError(f"unknown patience family {family!r}: use one of {FAMILIES}")
    if len(set(chosen)) < len(chosen):
        raise ValueError(f"families must not repeat a family (got {families!r})")
    return chosen


def _identifiable(exact: np.ndarray, right: np.ndarray, left: np.ndarray) -> None:
    """Raise when the waits say nothing about patience."""
    if exact.size + left.size == 0:
        if right.size and not right.any():
            raise ValueError(
                "nobody was seen to give up, and every wait is zero: abandoned_after and "
                f"abandoned_before are empty and waited_at_least holds only zeros (got "
                f"{right.size} zeros); there is no patience to fit"
            )
        raise ValueError(
            "nobody was seen to give up: abandoned_after and abandoned_before are empty (got "
            f"0 values each; waited_at_least has {right.size}), so patience is not "
            "identifiable: there is nothing to fit"
        )
    if not (exact.any() or right.any() or left.any()):
        raise ValueError(
            "every wait is zero (abandoned_after, waited_at_least and abandoned_before hold only "
            "zeros): nobody was seen to give up after waiting, so there is no patience to fit"
        )


# --- the families -----------------------------------------------------------------------------

_INTERVAL_METHOD = {
    "exponential": "profile likelihood",
    "lognormal": "delta method on log mean (observed information)",
    "gamma": "delta method on log mean (observed information)",
}


def _scipy_args(family: str, theta) -> tuple[tuple, Any]:
    """scipy's shape arguments and scale for the log-parameters ``theta`` (scale last)."""
    if family == "exponential":
        return (), np.exp(theta[0])
    return (np.exp(theta[0]),), np.exp(theta[1])


def _mean_cv(family: str, theta) -> tuple[float, float]:
    shapes, scale = _scipy_args(family, theta)
    if family == "exponential":
        return float(scale), 1.0
    if family == "lognormal":
        (sigma,) = shapes
        return float(scale * np.exp(sigma**2 / 2)), float(np.sqrt(np.expm1(sigma**2)))
    (shape,) = shapes
    return float(shape * scale), float(1.0 / np.sqrt(shape))


def _log_mean_gradient(family: str, theta) -> np.ndarray:
    """d log(mean) / d theta: lognormal log m = log scale + sigma^2 / 2, gamma log m = log a +
    log scale (theta the logs of the parameters)."""
    if family == "lognormal":
        return np.array([np.exp(2 * theta[0]), 1.0])
    return np.array([1.0, 1.0])


@dataclass(frozen=True)
class _Sample:
    """The waits for the likelihood (see :func:`_for_families`): distinct values with their
    counts, per kind of observation (a log's waits repeat at its resolution, so this is far
    shorter than the log)."""

    exact: np.ndarray
    exact_count: np.ndarray
    right: np.ndarray
    right_count: np.ndarray
    left: np.ndarray
    left_count: np.ndarray

    @classmethod
    def from_waits(cls, exact: np.ndarray, right: np.ndarray, left: np.ndarray) -> _Sample:
        return cls(*_counted(exact), *_counted(right), *_counted(left))

    @property
    def size(self) -> float:
        return self.exact_count.sum() + self.right_count.sum() + self.left_count.sum()

    def loglik(self, family: str, theta) -> float:
        """The censored log-likelihood at log-parameters ``theta``."""
        dist = _SCIPY[family]
        shapes, scale = _scipy_args(family, theta)
        with np.errstate(all="ignore"):
            total = (
                self.exact_count @ dist.logpdf(self.exact, *shapes, scale=scale)
                + self.right_count @ dist.logsf(self.right, *shapes, scale=scale)
                + self.left_count @ dist.logcdf(self.left, *shapes, scale=scale)
            )
        return float(total) if np.isfinite(total) else -math.inf


def _for_families(
    exact: np.ndarray, right: np.ndarray, left: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The waits as the families read them: a zero exact or left-censored wait (giving up at
    once, within the log's resolution) becomes left-censored at the least positive wait (the
    families' density vanishes or diverges at 0). Returns (exact, right, left)."""
    everything = np.concatenate([exact, right, left])
    least = everything[everything > 0].min()
    at_once = np.full(int((exact == 0).sum() + (left == 0).sum()), least)
    return exact[exact > 0], right, np.concatenate([left[left > 0], at_once])


def _counted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values and how often each occurs (as floats, for fast dot products)."""
    distinct, count = np.unique(values, return_counts=True)
    return distinct, count.astype(np.float64)


def _start(family: str, exact: np.ndarray, right: np.ndarray, left: np.ndarray) -> np.ndarray:
    """A rough maximum of the censored likelihood, by Nelder-Mead on every ``step``-th value
    of each kind when the log is long (the full likelihood then finishes the search), from
    the exponential fit: shape 1 (a gamma of shape 1 is that exponential; a lognormal of
    sigma 1 with its mean)."""
    total = exact.size + right.size + left.size
    step = max(1, math.ceil(total / _START_ROWS))

    def thin(values: np.ndarray) -> np.ndarray:  # a few values: the median one
        values = np.sort(values)
        return values[step // 2 :: step] if values.size > step else values[values.size // 2 :][:1]

    sample = _Sample.from_waits(thin(exact), thin(right), thin(left))
    # exponential MLE with left-censoring ignored: the time at risk over those who left
    exposure = sample.exact @ sample.exact_count + sample.right @ sample.right_count
    leavers = max(sample.exact_count.sum() + sample.left_count.sum(), 1.0)
    mean = max(exposure / leavers, 1e-6)
    if family == "exponential":
        first = np.log([mean])
    elif family == "gamma":
        first = np.array([0.0, np.log(mean)])
    else:  # lognormal: sigma 1, the median that gives this mean
        first = np.array([0.0, np.log(mean) - 0.5])
    size = sample.size

    def negative(theta):
        return -sample.loglik(family, theta) / size

    result = optimize.minimize(
        negative, first, method="Nelder-Mead", options={"xatol": 1e-3, "fatol": 1e-6}
    )
    return result.x if np.isfinite(result.fun) and result.fun <= negative(first) else first


def _fit_family(
    family: str, sample: _Sample, waits: tuple[np.ndarray, ...], confidence: float
) -> tuple[np.ndarray, float, float, float]:
    """The maximum likelihood log-parameters, log-likelihood and the mean's interval."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        start = _start(family, *waits)
    if not np.all(np.isfinite(start)):
        raise ValueError(f"the rough search gave no finite parameters (got {np.exp(start)})")

    # the rough search may have seen part of a long log only: finish on the full likelihood with
    # Newton steps; from a start they cannot improve on, search with BFGS first (per
    # observation, so the gradient's scale does not grow with the log)
    try:
        theta, information = _newton_maximum(family, sample, start)
    except ValueError:
        size = sample.size

        def negative(theta):
            return -sample.loglik(family, theta) / size

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = optimize.minimize(negative, start, method="BFGS", options={"gtol": 1e-7})
        better = np.isfinite(result.fun) and result.fun <= negative(start)
        theta, information = _newton_maximum(family, sample, result.x if better else start)
    loglik = sample.loglik(family, theta)
    if family == "exponential":
        low, high = _profile_interval(sample, theta, loglik, confidence)
    else:
        low, high = _delta_interval(family, theta, information, confidence)
    return theta, loglik, low, high


def _newton_maximum(
    family: str, sample: _Sample, theta: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Finish the search with Newton steps on numerical derivatives (statsmodels' finite
    differences) and make sure it ended at a proper maximum: the observed information
    ``I = -Hessian`` positive definite and the score ``g`` with ``g' I^-1 g`` (the squared
    distance to the maximum, in standard errors) negligible. A likelihood that keeps rising
    toward the edge of the family (e.g. a lognormal narrowing onto one exact value) fails.
    """
    from statsmodels.tools.numdiff import approx_fprime, approx_hess3

    def loglik(point):
        return sample.loglik(family, point)

    value = loglik(theta)
    for _ in range(_NEWTON_STEPS):
        if not np.isfinite(value) or np.any(np.abs(theta) > _LOG_PARAMETER_LIMIT):
            break
        information = -approx_hess3(theta, loglik, epsilon=_HESSIAN_STEP)
        score = approx_fprime(theta, loglik, epsilon=_GRADIENT_STEP, centered=True).ravel()
        if not (np.all(np.isfinite(information)) and np.all(np.isfinite(score))):
            break
        if np.any(np.linalg.eigvalsh(information) <= 0):
            break
        step = np.linalg.solve(information, score)
        distance = score @ step
        if distance < _SCORE_TOLERANCE:
            return theta, information
        for _ in range(30):  # halve the step until the likelihood rises
            trial = theta + step
            trial_value = loglik(trial)
            if trial_value > value:
                theta, value = trial, trial_value
                break
            step = step / 2.0
        else:
            if distance < _ROUNDING_TOLERANCE:  # closer than the likelihood's rounding shows
                return theta, information
            break
    raise ValueError(
        "the likelihood has no proper maximum in this family (it keeps rising toward the "
        f"family's edge, or there is too little data; log-parameters {np.round(theta, 3)})"
    )


def _profile_interval(
    sample: _Sample, theta: np.ndarray, loglik: float, confidence: float
) -> tuple[float, float]:
    """The exponential mean's likelihood-ratio interval: {m : 2 (l_max - l(m)) <= chi2_1}
    (e.g. Lawless, Statistical Models and Methods for Lifetime Data, 2003). A side where the
    likelihood never drops that far (too little information) is 0 or infinity."""
    drop = stats.chi2.ppf(confidence, df=1) / 2.0

    def excess(log_mean: float) -> float:
        return loglik - drop - sample.loglik("exponential", [log_mean])

    bounds = []
    for direction in (-1.0, 1.0):
        inner, outer = theta[0], theta[0] + direction
        for _ in range(60):
            if excess(outer) > 0:
                break
            inner, outer = outer, outer + direction
        else:
            bounds.append(0.0 if direction < 0 else math.inf)
            continue
        bounds.append(math.exp(optimize.brentq(excess, inner, outer, xtol=1e-12)))
    return bounds[0], bounds[1]


def _delta_interval(
    family: str, theta: np.ndarray, information: np.ndarray, confidence: float
) -> tuple[float, float]:
    """exp(log m +- z se(log m)), se^2 = g' I^-1 g with g = d log m / d theta and I the
    observed information in the log-parameters (the delta method)."""
    gradient = _log_mean_gradient(family, theta)
    se = math.sqrt(gradient @ np.linalg.solve(information, gradient))
    z = stats.norm.ppf(0.5 + confidence / 2.0)
    mean, _ = _mean_cv(family, theta)
    with np.errstate(over="ignore"):
        return mean * float(np.exp(-z * se)), mean * float(np.exp(z * se))


# --- survival without a family ---------------------------------------------------------------


def _survival(
    exact: np.ndarray, right: np.ndarray, left: np.ndarray, confidence: float
) -> pd.DataFrame:
    """Kaplan-Meier (exact + right-censored) or Turnbull (with left-censored) survival."""
    last = float(np.concatenate([exact, right, left]).max())
    if left.size == 0:
        table = _kaplan_meier(exact, right, confidence)
        method = "kaplan-meier"
    else:
        # a left-censored zero (gone at a call at once) is a giving-up at 0, like an exact 0
        table = _turnbull(np.concatenate([exact, left[left == 0]]), right, left[left > 0])
        method = "turnbull"
    if last > table["minutes"].iloc[-1]:  # where the estimate's data end
        final = table.iloc[[-1]].assign(minutes=last)
        table = pd.concat([table, final], ignore_index=True)
    table.attrs["method"] = method
    return table


def _kaplan_meier(exact: np.ndarray, right: np.ndarray, confidence: float) -> pd.DataFrame:
    """Kaplan-Meier at 0 and at each distinct exact value, with scipy's pointwise log-log
    interval (undefined, NaN, where the estimate is 0; exactly 1 where it is 1)."""
    data = stats.CensoredData(uncensored=exact, right=right) if right.size else exact
    sf = stats.ecdf(data).sf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        band = sf.confidence_interval(confidence, method="log-log")
    minutes = np.unique(exact)
    survival = sf.evaluate(minutes)
    low, high = band.low.evaluate(minutes), band.high.evaluate(minutes)
    at_one = survival >= 1.0
    low[at_one], high[at_one] = 1.0, 1.0
    return _with_origin(minutes, survival, low, high)


def _with_origin(minutes, survival, low, high) -> pd.DataFrame:
    """The step function's table, starting at (0, 1) unless something happens at 0 (its band
    there is [1, 1], or NaN when there is no band)."""
    if minutes.size == 0 or minutes[0] > 0:
        edge = 1.0 if np.any(np.isfinite(low)) else np.nan
        minutes, survival = np.r_[0.0, minutes], np.r_[1.0, survival]
        low, high = np.r_[edge, low], np.r_[edge, high]
    return pd.DataFrame(
        {"minutes": minutes, "survival": survival, "survival_lo": low, "survival_hi": high}
    )


# Boundaries of the sets where patience may lie, ordered along the line: at the same minute,
# "ends just before" < "starts at" < "ends at" < "starts just after".
_ENDS_BEFORE, _STARTS_AT, _ENDS_AT, _STARTS_AFTER = range(4)


def _turnbull(exact: np.ndarray, right: np.ndarray, left: np.ndarray) -> pd.DataFrame:
    """Turnbull's nonparametric maximum likelihood (NPMLE) survival function.

    Each observation says patience lies in a set: ``{x}`` (exact), ``(r, inf)`` (right),
    ``[0, l)`` (left-censored). The NPMLE puts its mass only on the *innermost intervals*,
    where a set's start is followed by an end with no other start between (Turnbull 1976,
    "The empirical distribution function with arbitrarily grouped, censored and truncated
    data", JRSS B 38), and maximises ``sum_i log P(set i)`` over those masses ``p``. Each set
    covers a run of consecutive innermost intervals, so ``P(set i)`` is a difference of the
    cumulative masses ``F`` and every sum over sets is a difference array: one iteration is
    linear in the data. Survival is shown at the right end of each innermost interval (where
    the mass lies within one is not determined).
    """
    n_exact, n_right, n_left = exact.size, right.size, left.size
    start_at = np.concatenate([exact, right, np.zeros(n_left)])
    start_kind = np.repeat([_STARTS_AT, _STARTS_AFTER, _STARTS_AT], [n_exact, n_right, n_left])
    end_at = np.concatenate([exact, np.full(n_right, np.inf), left])
    end_kind = np.repeat([_ENDS_AT, _ENDS_AT, _ENDS_BEFORE], [n_exact, n_right, n_left])

    # rank every boundary (minute, kind) along the line
    at = np.concatenate([start_at, end_at])
    kind = np.concatenate([start_kind, end_kind])
    is_start = np.r_[np.ones(start_at.size, bool), np.zeros(end_at.size, bool)]
    order = np.lexsort((kind, at))
    at, kind, is_start = at[order], kind[order], is_start[order]
    ranks = np.cumsum(np.r_[True, (at[1:] != at[:-1]) | (kind[1:] != kind[:-1])]) - 1
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = ranks

    # innermost intervals: a start immediately followed by an end
    opens = np.flatnonzero(is_start[:-1] & ~is_start[1:])
    inner_start, inner_end, inner_right_at = ranks[opens], ranks[opens + 1], at[opens + 1]

    # the distinct sets with their counts; set i covers innermost intervals first..last
    sets, count = np.unique(
        np.c_[rank[: start_at.size], rank[start_at.size :]], axis=0, return_counts=True
    )
    first = np.searchsorted(inner_start, sets[:, 0], side="left")
    last = np.searchsorted(inner_end, sets[:, 1], side="right") - 1
    mass = _npmle_masses(first, last, count.astype(np.float64), inner_start.size)

    survival = np.clip(1.0 - np.cumsum(mass), 0.0, 1.0)
    finite = np.isfinite(inner_right_at)
    minutes, survival = inner_right_at[finite], survival[finite]
    empty = np.full(minutes.size, np.nan)
    return _with_origin(minutes, survival, empty, empty.copy())


def _npmle_masses(first: np.ndarray, last: np.ndarray, count: np.ndarray, n: int) -> np.ndarray:
    """The masses on ``n`` innermost intervals maximising ``sum_i count_i log P(set i)``, set
    ``i`` being intervals ``first_i..last_i``.

    Each iteration is one self-consistency (EM) step of Turnbull (1976),
    ``p_j <- p_j / N * sum_{i covers j} count_i / P(set i)``, then one iterative convex
    minorant (ICM) step on the cumulative masses ``F`` (Groeneboom and Wellner 1992; with the
    line search of Jongbloed 1998): a Newton step with the Hessian's diagonal, kept monotone
    by weighted isotonic regression. This is the hybrid EM-ICM of Wellner and Zhan (1997,
    JASA 92), much faster than EM alone when there is much left censoring. It stops at the
    NPMLE condition ``max_j sum_{i covers j} count_i / P(set i) <= N (1 + tol)`` (Gentleman
    and Geyer 1994, Biometrika 81), which bounds the mean log-likelihood's distance from its
    maximum by ``tol``.
    """
    total = count.sum()
    low, high = first, last + 1  # P(set i) = F[high_i] - F[low_i], F = [0, cumsum(p)]

    def loglik(cumulative: np.ndarray) -> tuple[float, np.ndarray]:
        prob = cumulative[high] - cumulative[low]
        if np.any(prob <= 0):
            return -math.inf, prob
        return float(count @ np.log(prob)), prob

    mass = np.full(n, 1.0 / n)
    cumulative = np.r_[0.0, np.cumsum(mass)]
    value, prob = loglik(cumulative)
    for _ in range(_TURNBULL_MAXITER):
        share = count / prob
        support = np.cumsum(np.bincount(low, share, n + 1) - np.bincount(high, share, n + 1))
        support = support[:n]
        if support.max() <= total * (1.0 + _TURNBULL_TOL):
            return mass
        # self-consistency (EM) step
        mass = mass * support / total
        mass /= mass.sum()
        cumulative = np.r_[0.0, np.cumsum(mass)]
        value, prob = loglik(cumulative)
        # ICM step on F[1..n-1] (F[0] = 0 and F[n] = 1 stay)
        share, share2 = count / prob, count / prob**2
        gradient = np.bincount(high, share, n + 1) - np.bincount(low, share, n + 1)
        curvature = np.bincount(high, share2, n + 1) + np.bincount(low, share2, n + 1)
        gradient, curvature = gradient[1:n], curvature[1:n]
        used = curvature > 0
        newton = cumulative[1:n] + np.divide(
            gradient, curvature, out=np.zeros_like(gradient), where=used
        )
        weights = np.where(used, curvature, np.finfo(float).tiny)
        target = np.clip(optimize.isotonic_regression(newton, weights=weights).x, 0.0, 1.0)
        direction = np.r_[0.0, target - cumulative[1:n], 0.0]
        step = 1.0
        while step > 1e-10:
            trial = cumulative + step * direction
            trial_value, trial_prob = loglik(trial)
            if trial_value > value:
                cumulative, value, prob = trial, trial_value, trial_prob
                mass = np.diff(cumulative)
                break
            step /= 2.0
    warnings.warn(
        f"Turnbull's estimate did not converge in {_TURNBULL_MAXITER} iterations",
        RuntimeWarning,
        stacklevel=4,
    )
    return mass
