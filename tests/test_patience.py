"""Patience from censored waits: fits and survival estimates against known truth.

The oracles: patience drawn from a known distribution and censored by independent waits (or
a simulated hall), so the true mean is known; the exponential likelihood's closed form;
coverage of the intervals over many generated data sets (binomial tolerance); a slow
Kaplan-Meier with Greenwood's log-log band written here; the isotonic regression that is the
nonparametric estimate for current-status data; and the optimality condition of the
nonparametric maximum likelihood estimate checked point by point.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from conftest import category, exponential, make_scenario, mean_ci
from pydantic import TypeAdapter
from scipy import optimize, stats

import hallsim as hs
from hallsim import patience
from hallsim.distributions import Distribution, Exponential, Gamma, Lognormal
from hallsim.patience import FAMILIES, PatienceFit, fit_patience

matplotlib.use("Agg")


def lognormal_sampler(mean: float, cv: float):
    sigma = np.sqrt(np.log1p(cv**2))
    return lambda rng, n: rng.lognormal(np.log(mean) - sigma**2 / 2, sigma, n)


def gamma_sampler(mean: float, cv: float):
    shape = 1.0 / cv**2
    return lambda rng, n: rng.gamma(shape, mean / shape, n)


def exponential_sampler(mean: float):
    return lambda rng, n: rng.exponential(mean, n)


def censored_waits(rng, draw_patience, n: int, wait_mean: float, seen_leaving: float = 1.0):
    """``n`` tickets with patience from ``draw_patience`` and independent exponential waits to
    the call: who gives up before the call is seen leaving (exact) with probability
    ``seen_leaving``, otherwise found gone at the call (left-censored at the wait); the rest
    are served (right-censored at the wait). Returns (exact, right, left)."""
    patience_drawn = draw_patience(rng, n)
    wait = rng.exponential(wait_mean, n)
    gave_up = patience_drawn < wait
    seen = rng.random(n) < seen_leaving
    return patience_drawn[gave_up & seen], wait[~gave_up], wait[gave_up & ~seen]


def step_value(table: pd.DataFrame, minutes) -> np.ndarray:
    """The survival step function of ``table`` at ``minutes`` (1 before its first row)."""
    rows = np.searchsorted(table["minutes"].to_numpy(), minutes, side="right") - 1
    values = table["survival"].to_numpy()
    return np.where(rows >= 0, values[np.maximum(rows, 0)], 1.0)


# --- the parametric fit -----------------------------------------------------------------------


def test_censored_fit_finds_the_mean_the_naive_mean_misses(seed: int) -> None:
    exact, right, _ = censored_waits(
        np.random.default_rng(seed), exponential_sampler(20.0), 2000, wait_mean=10.0
    )
    fit = fit_patience(exact, right)

    exponential_row = fit.table.set_index("family").loc["exponential"]
    assert exponential_row["mean_lo"] <= 20.0 <= exponential_row["mean_hi"]
    assert fit.mean_lo <= 20.0 <= fit.mean_hi, fit.table
    # the exponential maximum likelihood estimate: total time waited / number who gave up
    closed_form = (exact.sum() + right.sum()) / exact.size
    assert exponential_row["mean"] == pytest.approx(closed_form, rel=1e-6)

    naive_lo, naive_hi = mean_ci(exact)
    assert fit.naive_mean == pytest.approx(exact.mean())
    assert naive_hi < 20.0 / 2  # far below: only the impatient are seen to give up
    assert not naive_lo <= 20.0 <= naive_hi
    assert (fit.n_exact, fit.n_right, fit.n_left) == (exact.size, right.size, 0)


@pytest.mark.parametrize(
    ("family", "draw", "datasets", "tickets"),
    [
        ("exponential", exponential_sampler(20.0), 200, 150),
        ("lognormal", lognormal_sampler(20.0, 1.5), 100, 300),
        ("gamma", gamma_sampler(20.0, 0.7), 100, 300),
    ],
)
def test_mean_interval_has_its_coverage(family, draw, datasets, tickets, seed) -> None:
    """Over independent data sets (exact, right- and left-censored values) the 95 % interval
    of the true family's mean covers 20 in about 95 % of them."""
    rng = np.random.default_rng(seed)
    covered = 0
    for _ in range(datasets):
        exact, right, left = censored_waits(rng, draw, tickets, wait_mean=15.0, seen_leaving=0.7)
        fit = fit_patience(exact, right, left, families=[family])
        covered += fit.mean_lo <= 20.0 <= fit.mean_hi
    # two-sided binomial tolerance: a 90 % interval (or a 99 % one) would fail
    low, high = stats.binom.ppf([0.001, 0.999], datasets, 0.95)
    assert low <= covered <= high, f"{family}: covered {covered} of {datasets}"


@pytest.mark.parametrize(
    ("family", "draw", "cv", "model"),
    [
        ("lognormal", lognormal_sampler(20.0, 1.5), 1.5, Lognormal),
        ("gamma", gamma_sampler(20.0, 0.5), 0.5, Gamma),
    ],
)
def test_true_family_is_chosen_from_a_large_sample(family, draw, cv, model, seed) -> None:
    exact, right, left = censored_waits(
        np.random.default_rng(seed), draw, 20_000, wait_mean=15.0, seen_leaving=0.8
    )
    # one data set at a fixed seed: the 99 % interval (coverage is tested above)
    fit = fit_patience(exact, right, left, confidence=0.99)
    assert fit.family == family, fit.table
    assert fit.table["chosen"].sum() == 1
    assert fit.table.loc[fit.table["chosen"], "family"].item() == family
    assert fit.mean_lo <= 20.0 <= fit.mean_hi
    assert fit.cv == pytest.approx(cv, rel=0.1)
    dist = TypeAdapter(Distribution).validate_python(fit.distribution)
    assert isinstance(dist, model)
    assert dist.mean == pytest.approx(fit.mean) and dist.cv == pytest.approx(fit.cv)


def test_exponential_distribution_is_a_scenario_distribution() -> None:
    fit = fit_patience([3.0, 7.0, 12.0], [5.0, 9.0, 30.0], families=["exponential"])
    assert fit.distribution == {"dist": "exponential", "mean_min": pytest.approx(66.0 / 3)}
    assert isinstance(TypeAdapter(Distribution).validate_python(fit.distribution), Exponential)


def test_left_censoring_known_at_call_is_needed(seed: int) -> None:
    """Every abandonment learnt only at the call (patience < wait to the call): fitted as
    left-censored, the mean is recovered; read as exact, it is not."""
    exact, right, left = censored_waits(
        np.random.default_rng(seed), exponential_sampler(20.0), 3000, 10.0, seen_leaving=0.0
    )
    assert exact.size == 0 and left.size > 500
    fit = fit_patience([], right, left)
    exponential_row = fit.table.set_index("family").loc["exponential"]
    assert exponential_row["mean_lo"] <= 20.0 <= exponential_row["mean_hi"]
    assert fit.mean_lo <= 20.0 <= fit.mean_hi, fit.table
    assert fit.survival.attrs["method"] == "turnbull"
    assert np.isnan(fit.naive_mean)

    as_exact = fit_patience(left, right)  # the waits to the call read as patience
    assert not as_exact.mean_lo <= 20.0 <= as_exact.mean_hi
    assert (as_exact.table["mean_lo"] > 20.0).all(), as_exact.table


def test_patience_of_a_simulated_hall(seed: int) -> None:
    """A hall with exponential patience of mean 20 min: its log's waits give the mean back."""
    scenario = make_scenario(
        [category("A", 40, exponential(6.0), patience=exponential(20.0))],
        [{"id": "W", "count": 4, "serves": ["A"]}],
        days=10,
    )
    log = hs.simulate(scenario, replications=1, seed=seed, progress=False).to_log()
    tickets = log.tickets
    assert set(tickets["outcome"].unique()) <= {"served", "abandoned"}

    def waited(until: str, outcome: str) -> np.ndarray:
        rows = tickets[tickets["outcome"] == outcome]
        return ((rows[until] - rows["issued"]) / pd.Timedelta(minutes=1)).to_numpy()

    fit = fit_patience(waited("end", "abandoned"), waited("called", "served"), confidence=0.99)
    assert fit.family in FAMILIES
    exponential_row = fit.table.set_index("family").loc["exponential"]
    assert exponential_row["mean_lo"] <= 20.0 <= exponential_row["mean_hi"]
    assert not mean_ci(waited("end", "abandoned"))[1] >= 20.0


def test_a_family_that_cannot_be_fitted_is_recorded_not_raised() -> None:
    """One exact value above every served wait: a lognormal or gamma narrowing onto it has an
    unbounded likelihood; the exponential has its closed form (30 + 55) / 1."""
    fit = fit_patience([30.0], np.arange(1.0, 11.0))
    table = fit.table.set_index("family")
    assert list(fit.table.columns) == [
        "family",
        "mean",
        "mean_lo",
        "mean_hi",
        "cv",
        "loglik",
        "aic",
        "chosen",
        "failed",
    ]
    assert table["failed"].to_dict() == {"exponential": False, "lognormal": True, "gamma": True}
    assert table.loc[["lognormal", "gamma"], ["mean", "aic"]].isna().all().all()
    assert set(fit.table.attrs["failures"]) == {"lognormal", "gamma"}
    assert fit.family == "exponential" and fit.mean == pytest.approx(85.0, rel=1e-5)


def test_zero_waits_of_those_who_left_mean_leaving_at_once() -> None:
    """An exact or left-censored 0 is read as patience below the least positive wait."""
    exact, right = np.array([2.0, 5.0, 9.0, 14.0]), np.array([0.0, 0.5, 3.0, 8.0, 20.0])
    with_zeros = fit_patience(np.r_[0.0, exact], right, [0.0])
    as_left = fit_patience(exact, right, [0.5, 0.5])
    columns = ["mean", "loglik", "aic"]
    pd.testing.assert_frame_equal(with_zeros.table[columns], as_left.table[columns], rtol=1e-6)
    assert with_zeros.n_exact == 5 and with_zeros.n_left == 1


# --- survival without a family ------------------------------------------------------------


def slow_kaplan_meier(exact, right, confidence=0.95):
    """Kaplan-Meier and Greenwood's log-log band at each distinct exact time, plainly: a
    product over event times of (1 - died / at risk), a tie censored at an event time still
    at risk (Kalbfleisch and Prentice, The Statistical Analysis of Failure Time Data)."""
    z = stats.norm.ppf(0.5 + confidence / 2)
    survival, greenwood, rows = 1.0, 0.0, []
    for time in sorted(set(exact.tolist())):
        at_risk = sum(value >= time for value in exact) + sum(value >= time for value in right)
        died = sum(value == time for value in exact)
        survival *= 1 - died / at_risk
        if at_risk > died:
            greenwood += died / (at_risk * (at_risk - died))
        if 0 < survival < 1:
            sigma = np.sqrt(greenwood) / abs(np.log(survival))
            low, high = survival ** np.exp(z * sigma), survival ** np.exp(-z * sigma)
        else:
            low = high = np.nan
        rows.append((time, survival, low, high))
    return pd.DataFrame(rows, columns=["minutes", "survival", "survival_lo", "survival_hi"])


def test_kaplan_meier_without_censoring_is_the_empirical_survival(seed: int) -> None:
    rng = np.random.default_rng(seed)
    exact = np.round(rng.exponential(8.0, 300))  # whole minutes: ties
    table = fit_patience(exact, []).survival
    assert table.attrs["method"] == "kaplan-meier"
    minutes = table["minutes"].to_numpy()
    empirical = (exact[None, :] > minutes[:, None]).mean(axis=1)
    np.testing.assert_allclose(table["survival"], empirical, atol=1e-12)
    assert minutes[0] == 0.0 and table["survival"].iloc[0] == (exact > 0).mean()


def test_kaplan_meier_with_right_censoring_is_the_slow_product(seed: int) -> None:
    rng = np.random.default_rng(seed)
    exact, right, _ = censored_waits(rng, exponential_sampler(20.0), 400, wait_mean=10.0)
    exact, right = np.round(exact), np.round(right)  # ties, also between event and censoring
    exact, right = exact[exact > 0], right
    assert np.intersect1d(exact, right).size > 0
    table = fit_patience(exact, right).survival.set_index("minutes")
    slow = slow_kaplan_meier(exact, right).set_index("minutes")
    assert table.index[0] == 0.0 and table.iloc[0]["survival"] == 1.0
    assert table.index[-1] == max(exact.max(), right.max())
    got = table.loc[slow.index]
    np.testing.assert_allclose(got["survival"], slow["survival"], rtol=1e-12)
    defined = slow["survival_lo"].notna()
    np.testing.assert_allclose(
        got.loc[defined, ["survival_lo", "survival_hi"]],
        slow.loc[defined, ["survival_lo", "survival_hi"]],
        rtol=1e-9,
    )


def test_turnbull_with_exact_and_right_censored_values_is_kaplan_meier(seed: int) -> None:
    rng = np.random.default_rng(seed)
    exact, right, _ = censored_waits(rng, exponential_sampler(20.0), 400, wait_mean=10.0)
    exact, right = np.round(exact, 1), np.round(right, 1)
    exact = exact[exact > 0]
    turnbull = patience._turnbull(exact, right, np.array([]))
    slow = slow_kaplan_meier(exact, right)
    np.testing.assert_allclose(step_value(turnbull, slow["minutes"]), slow["survival"], atol=1e-6)


def test_turnbull_on_current_status_data_is_the_isotonic_regression(seed: int) -> None:
    """Only 'gone at the call' and 'served' tickets: the nonparametric estimate of
    P(patience < wait) at the waits is the isotonic regression of the indicators 'gone'
    ordered by wait (Groeneboom and Wellner 1992, Information Bounds and Nonparametric
    Maximum Likelihood Estimation, part II, prop. 1.2)."""
    rng = np.random.default_rng(seed)
    _, right, left = censored_waits(rng, lognormal_sampler(20.0, 1.0), 300, 20.0, 0.0)
    fit = fit_patience([], right, left)
    assert fit.survival.attrs["method"] == "turnbull"
    waits = np.r_[right, left]
    order = np.argsort(waits)
    gone = np.r_[np.zeros(right.size), np.ones(left.size)][order]
    isotonic = optimize.isotonic_regression(gone).x
    np.testing.assert_allclose(step_value(fit.survival, waits[order]), 1.0 - isotonic, atol=1e-6)


def test_turnbull_with_all_three_kinds_is_the_maximum_likelihood_estimate(seed: int) -> None:
    """Check the returned survival function against the optimality condition of the
    nonparametric maximum likelihood estimate, point by point: with P_i the probability it
    gives to observation i's set, every point t has sum_{i: t in set i} 1 / P_i <= N, the
    gradient condition of a concave maximum over distributions (Gentleman and Geyer 1994)."""
    rng = np.random.default_rng(seed)
    exact, right, left = censored_waits(rng, gamma_sampler(20.0, 0.8), 80, 15.0, 0.5)
    table = fit_patience(exact, right, left).survival
    assert table[["survival_lo", "survival_hi"]].isna().all().all()
    survival = dict(zip(table["minutes"], table["survival"], strict=True))
    minutes = sorted(survival)

    def survival_at(t):  # P(patience > t)
        return min((survival[m] for m in minutes if m <= t), default=1.0)

    def mass_at(x):  # the mass the estimate puts at exactly x
        before = [m for m in minutes if m < x]
        return (survival[before[-1]] if before else 1.0) - survival.get(x, survival_at(x))

    sets = [(lambda t, x=x: t == x, mass_at(x)) for x in exact]
    sets += [(lambda t, r=r: t > r, survival_at(r)) for r in right]
    sets += [(lambda t, v=v: t < v, 1.0 - survival_at(v)) for v in left]
    assert all(probability > 0 for _, probability in sets)
    values = np.unique(np.r_[exact, right, left])
    candidates = np.r_[values, (values[1:] + values[:-1]) / 2, values[-1] + 1.0]
    n = len(sets)
    for t in candidates:
        gradient = sum(1.0 / probability for inside, probability in sets if inside(t))
        assert gradient <= n * (1 + 1e-6), f"at {t}: {gradient} > {n}"
    total = sum(np.log(probability) for _, probability in sets)
    assert np.isfinite(total)


# --- plot, errors --------------------------------------------------------------------------


@pytest.mark.parametrize("known_at_call", [False, True])
def test_plot_draws_survival_and_families(known_at_call: bool, seed: int) -> None:
    import matplotlib.pyplot as plt

    exact, right, left = censored_waits(
        np.random.default_rng(seed), exponential_sampler(20.0), 400, 10.0, 0.5
    )
    fit = fit_patience(exact, right, left if known_at_call else None)
    assert isinstance(fit, PatienceFit)
    ax = fit.plot()
    try:
        assert len(ax.get_lines()) == 1 + len(FAMILIES)
        has_band = len(ax.collections) > 0
        assert has_band == (not known_at_call)
        assert ax.get_legend() is not None
    finally:
        plt.close(ax.figure)


@pytest.mark.parametrize(
    ("arguments", "keywords", "message"),
    [
        (([1.0, -2.0], [3.0]), {}, r"abandoned_after\[1\].*-2\.0"),
        (([1.0], [3.0, np.nan]), {}, r"waited_at_least\[1\].*nan"),
        (([1.0], [3.0], [np.inf]), {}, r"abandoned_before\[0\].*inf"),
        (([[1.0, 2.0]], [3.0]), {}, "abandoned_after must be one-dimensional"),
        ((["soon"], [3.0]), {}, "abandoned_after must be numbers"),
        (([], [3.0, 4.0]), {}, "nobody was seen to give up.*not identifiable"),
        (([], [3.0], []), {}, "abandoned_after and abandoned_before are empty"),
        (([], [0.0, 0.0]), {}, "nobody was seen to give up.*only zeros"),
        (([0.0], [0.0], [0.0]), {}, "nobody was seen to give up"),
        (([1.0], [3.0]), {"families": ["weibull"]}, "weibull"),
        (([1.0], [3.0]), {"families": []}, "at least one"),
        (([1.0], [3.0]), {"confidence": 1.5}, r"confidence.*1\.5"),
    ],
)
def test_bad_input_is_refused_with_its_place(arguments, keywords, message) -> None:
    with pytest.raises(ValueError, match=message):
        fit_patience(*arguments, **keywords)
