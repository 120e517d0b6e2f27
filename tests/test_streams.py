"""numba draws what numpy draws (hallsim._streams): the generators of a batch, every sampler,
and whole batches of inputs against :func:`draw_inputs` replication by replication."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_engines_agree import halls, with_back_office

import hallsim as hs
from hallsim import _streams
from hallsim.compile import compile_scenario
from hallsim.distributions import (
    Deterministic,
    Empirical,
    Exponential,
    Gamma,
    Lognormal,
    Uniform,
)
from hallsim.engines import inputs
from hallsim.engines.inputs import (
    TICKET_FIELDS,
    _DrawPlan,
    draw_inputs,
    draw_seeded,
    replication_generators,
)

SEEDS = [0, 1, 7, 2**32 - 1, 2**32, 2**64 + 3, 2**127 + 11, 2**200 + 1]
DISTRIBUTIONS = [
    Exponential(mean_min=3.0),
    Lognormal(mean_min=5.0, cv=0.7),
    Lognormal(mean_min=5.0, cv=10.0),
    Gamma(mean_min=4.0, cv=0.001),  # shape 10^6
    Gamma(mean_min=4.0, cv=0.3),
    Gamma(mean_min=4.0, cv=1.0),  # shape 1: exponential
    Gamma(mean_min=4.0, cv=1.7),  # shape below 1
    Gamma(mean_min=4.0, cv=10.0),  # shape 0.01
    Uniform(low_min=1.0, high_min=4.0),
    Deterministic(mean_min=2.0),
]
PROFILE = settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


def cursors(seed: int, first: int, stop: int) -> np.ndarray:
    entropy = np.array(inputs._words32(seed), dtype=np.uint64)
    return _streams.seeded(entropy, np.arange(first, stop, dtype=np.uint64)[:, None])


@pytest.mark.parametrize("seed", SEEDS)
def test_seeded_generators_are_those_of_seed_sequence_spawn(seed):
    """Cursor r draws what ``default_rng(SeedSequence(seed).spawn(n)[r])`` draws."""
    batch = cursors(seed, 3, 9)
    drawn = _streams.uniforms(batch, np.full(6, 50)).reshape(6, 50)
    spawned = np.random.SeedSequence(seed).spawn(9)[3:]
    expected = [np.random.default_rng(sequence).random(50) for sequence in spawned]
    np.testing.assert_array_equal(drawn, expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_seeded_generators_take_spawn_keys_of_two_words(seed):
    """A row ``(r, k)`` of keys draws what ``SeedSequence(seed, spawn_key=(r, k))`` draws (the
    generator of span ``k`` of replication ``r``)."""
    keys = np.array([[0, 1], [3, 2], [2**32 - 1, 7]], dtype=np.uint64)
    entropy = np.array(inputs._words32(seed), dtype=np.uint64)
    drawn = _streams.uniforms(_streams.seeded(entropy, keys), np.full(3, 20)).reshape(3, 20)
    expected = [
        np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(map(int, k)))).random(20)
        for k in keys
    ]
    np.testing.assert_array_equal(drawn, expected)


@pytest.mark.parametrize("distribution", DISTRIBUTIONS, ids=repr)
def test_each_sampler_draws_what_numpy_draws_and_no_more(distribution):
    form = [np.array([value]) for value in distribution.stream_form()]
    n = 2000
    for seed in range(20):
        batch = cursors(seed, 0, 1)
        key = np.zeros(n, dtype=np.int64)
        drawn = _streams.durations(batch, np.array([0, n]), key, *form, np.nan)
        rng = replication_generators(seed, 0, 1)[0]
        np.testing.assert_array_equal(drawn, distribution.sample(rng, n))
        # the stream goes on where numpy's does
        np.testing.assert_array_equal(_streams.uniforms(batch, np.array([3])), rng.random(3))


def test_poisson_counts_are_numpy_s_small_and_large():
    """Multiplication below 10, PTRS from 10 on (with numpy's log-gamma), none at 0."""
    expected = np.array([0.0, 1e-9, 0.3, 2.5, 9.999, 10.0, 15.5, 40.0, 1e3, 1e6] * 30)
    for seed in range(20):
        batch = cursors(seed, 0, 1)
        bucket_start, bucket_len = np.zeros(expected.size), np.ones(expected.size)
        one_category, no_guide = np.full((300, 1), 2.0), np.empty((0, 0), dtype=np.int32)
        _, _, counts, _ = _streams.walk_ins(
            batch, expected, bucket_start, bucket_len, one_category, no_guide
        )
        rng = replication_generators(seed, 0, 1)[0]
        np.testing.assert_array_equal(counts[0], rng.poisson(expected))


def test_empirical_has_no_stream_form_and_falls_back_to_numpy():
    assert Empirical(samples_min=[1.0, 2.0]).stream_form() is None
    scenario = hs.Scenario.model_validate(
        {
            "hall": {"open": "08:00", "close": "12:00"},
            "categories": [
                {
                    "id": "A",
                    "arrivals": {"rate_per_hour": 20},
                    "service": {"dist": "empirical", "samples_min": [1.0, 3.0, 4.5]},
                }
            ],
            "windows": [{"id": "W", "serves": ["A"]}],
        }
    )
    hall = compile_scenario(scenario)
    assert _DrawPlan.of(hall).forms is None
    assert_same_inputs(hall, seed=5, first=0, stop=3)


def assert_same_inputs(hall, seed: int, first: int, stop: int) -> None:
    """A batch drawn by :func:`draw_seeded` is, replication by replication, what
    :func:`draw_inputs` draws from that replication's generator."""
    batch = draw_seeded(hall, seed, first, stop)
    assert batch.replications == stop - first
    generators = replication_generators(seed, first, stop)
    for got, rng in zip(batch.split(), generators, strict=True):
        expected = draw_inputs(hall, rng)
        for name in (*TICKET_FIELDS, "day_ptr"):
            np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), name)
            assert getattr(got, name).dtype == getattr(expected, name).dtype, name


@st.composite
def drawable_halls(draw) -> hs.Scenario:
    """Random halls (appointments, caps, balking, no-shows, patience...), some with a back
    office and pickup; only distributions that numba draws."""
    scenario = draw(halls())
    if draw(st.booleans()):
        opening = scenario.hall.open_minute
        hours = scenario.hall.close_minute - opening
        scenario = draw(with_back_office(scenario, opening, hours))
    return scenario


@PROFILE
@given(scenario=drawable_halls(), seed=st.integers(0, 2**64), first=st.integers(0, 1000))
def test_batches_drawn_by_numba_are_what_numpy_draws(scenario, seed, first):
    hall = compile_scenario(scenario)
    assume(_DrawPlan.of(hall).forms is not None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(inputs, "STREAM_BATCH", 1)
        assert_same_inputs(hall, seed, first, first + 3)


def test_the_shipped_halls_draw_the_same_in_batches(monkeypatch):
    """Every shipped scenario (appointments, back offices, pickup, ...), both paths."""
    for path in sorted((Path(__file__).parents[1] / "scenarios").glob("*.toml")):
        data = hs.load_scenario(path).model_dump()
        data["hall"]["days"] = min(data["hall"]["days"], 3)
        hall = compile_scenario(hs.Scenario.model_validate(data))
        assert _DrawPlan.of(hall).forms is not None, path.name
        for stream_batch in (1, 10**9):
            monkeypatch.setattr(inputs, "STREAM_BATCH", stream_batch)
            assert_same_inputs(hall, seed=11, first=4, stop=7)
