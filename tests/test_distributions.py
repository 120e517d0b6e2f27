"""Service and patience distributions: parameters mean what they say."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter
from scipy import stats

from hallsim.distributions import Distribution

SPECS = [
    {"dist": "exponential", "mean_min": 4.0},
    {"dist": "deterministic", "mean_min": 3.0},
    {"dist": "lognormal", "mean_min": 8.0, "cv": 0.6},
    {"dist": "gamma", "mean_min": 10.0, "cv": 0.8},
    {"dist": "uniform", "low_min": 2.0, "high_min": 12.0},
    {"dist": "empirical", "samples_min": [1.0, 2.5, 2.5, 9.0]},
]

# The same laws written with scipy's own parameters (an independent statement of each).
SCIPY = {
    "exponential": stats.expon(scale=4.0),
    "lognormal": stats.lognorm(s=math.sqrt(math.log1p(0.36)), scale=8.0 / math.sqrt(1.36)),
    "gamma": stats.gamma(a=1 / 0.64, scale=10.0 * 0.64),
    "uniform": stats.uniform(loc=2.0, scale=10.0),
}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s["dist"])
def test_moments_match_the_definition_and_the_samples(spec):
    dist = TypeAdapter(Distribution).validate_python(spec)
    if spec["dist"] in SCIPY:
        reference = SCIPY[spec["dist"]]
        assert dist.mean == pytest.approx(reference.mean())
        assert dist.second_moment == pytest.approx(reference.moment(2))
    x = dist.sample(np.random.default_rng(1), 400_000)
    assert x.shape == (400_000,) and np.all(x >= 0)
    for values, expected in ((x, dist.mean), (x**2, dist.second_moment)):
        half = 4 * values.std() / math.sqrt(values.size) + 1e-12  # 4 standard errors
        assert abs(values.mean() - expected) <= half


def test_samples_follow_the_law_not_only_its_moments():
    for name, reference in SCIPY.items():
        spec = next(s for s in SPECS if s["dist"] == name)
        x = TypeAdapter(Distribution).validate_python(spec).sample(np.random.default_rng(2), 20_000)
        assert stats.kstest(x, reference.cdf).pvalue > 0.001, name
