"""Service and patience distributions: parameters mean what they say."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter
from scipy import stats

from hallsim.distributions import Distribution, joint_sampler

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


@pytest.mark.parametrize("spec", SPECS[:5], ids=lambda s: s["dist"])
def test_one_call_draws_several_distributions_of_a_kind_as_calls_in_turn(spec):
    """joint_sampler draws, value for value, what a sample call of each distribution in
    turn draws (different parameters, and a distribution with no value to draw)."""
    adapter = TypeAdapter(Distribution)
    scaled = []
    for factor in (1.0, 1.7, 0.4, 2.5):
        changed = {
            key: value * factor if key.endswith("_min") else value for key, value in spec.items()
        }
        scaled.append(adapter.validate_python(changed))
    sizes = np.array([30, 0, 7, 12])
    joint = joint_sampler(scaled)(np.random.default_rng(5), sizes)
    rng = np.random.default_rng(5)
    one_by_one = np.concatenate([d.sample(rng, int(n)) for d, n in zip(scaled, sizes, strict=True)])
    np.testing.assert_array_equal(joint, one_by_one)
    assert len({type(d) for d in scaled}) == 1 and len(set(scaled)) == 4


def test_one_call_draws_one_kind_only():
    adapter = TypeAdapter(Distribution)
    mixed = [adapter.validate_python(spec) for spec in (SPECS[0], SPECS[2])]
    with pytest.raises(ValueError, match="one kind"):
        joint_sampler(mixed)
    empirical = [adapter.validate_python(SPECS[5]), adapter.validate_python(SPECS[5])]
    values = joint_sampler(empirical)(np.random.default_rng(2), np.array([3, 4]))
    np.testing.assert_array_equal(values, empirical[0].sample(np.random.default_rng(2), 7))
