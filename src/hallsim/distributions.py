"""Service-time and patience distributions of a scenario, in minutes.

Each distribution is a small frozen pydantic model tagged by ``dist``. It knows its mean and
second moment (for the analytic oracles), draws samples with a ``numpy.random.Generator``
with numpy's own samplers (fast, and no scipy import on the simulation path).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .limits import CV, Minutes, PositiveMinutes

__all__ = [
    "Deterministic",
    "Distribution",
    "Empirical",
    "Exponential",
    "Gamma",
    "Lognormal",
    "Uniform",
    "joint_sampler",
]


# (generator, size) -> size values: a distribution's sampler, its parameters worked out once
Sampler = Callable[[np.random.Generator, int], np.ndarray]
# (generator, sizes) -> values of several distributions, sizes[k] of the k-th (joint_sampler)
JointSampler = Callable[[np.random.Generator, np.ndarray], np.ndarray]
# What the numba samplers of hallsim._streams draw, by code (the index here)
STREAM_FORMS = ("deterministic", "exponential", "lognormal", "gamma", "uniform")


class _Dist(BaseModel):
    # a docstring under a field is its description in the JSON Schema and the format docs
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    # Whether ``sample(rng, a + b)`` gives what ``sample(rng, a)`` then ``sample(rng, b)`` give
    # (each value drawn on its own, in turn): then several groups of tickets may share a call
    elementwise: ClassVar[bool] = True
    # The numpy method whose values times the only parameter of ``_numpy`` are, bit for bit,
    # what ``_numpy``'s method draws (numpy computes ``scale * standard``), or None
    scaled_standard: ClassVar[str | None] = None

    @property
    def mean(self) -> float:
        """Mean in minutes."""
        return self.mean_min

    @property
    def second_moment(self) -> float:
        """E[X^2] in minutes squared."""
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` independent values (minutes) from ``rng``."""
        return self.sampler()(rng, size)

    def sampler(self) -> Sampler:
        """:meth:`sample` as a plain function, for drawing many times."""
        name, parameters = self._numpy()
        draw = getattr(np.random.Generator, name)
        return lambda rng, size: draw(rng, *parameters, size)

    def _numpy(self) -> tuple[str, tuple[float, ...]]:
        """The ``numpy.random.Generator`` method that draws this distribution and its
        parameters (all but its ``size``)."""
        raise NotImplementedError

    def stream_form(self) -> tuple[int, float, float] | None:
        """``(code, a, b)``: the form (index in :data:`STREAM_FORMS`) and parameters in which
        the numba samplers of :mod:`hallsim._streams` draw exactly what :meth:`sample`
        draws; None when they cannot (numpy then draws)."""
        return None


def joint_sampler(distributions: Sequence[Distribution]) -> JointSampler:
    """A function ``(rng, sizes)`` that draws ``sizes[k]`` values of each of
    ``distributions`` in turn in one numpy call: what a ``sample`` call of each in turn
    draws, value for value, as numpy draws array parameters element by element. For
    distributions of one kind that draws value by value (``elementwise``)."""
    first = distributions[0]
    if all(d == first for d in distributions):
        sampler = first.sampler()
        return lambda rng, sizes: sampler(rng, int(np.sum(sizes)))
    if not first.elementwise or any(type(d) is not type(first) for d in distributions):
        raise ValueError(f"not one kind that draws value by value: {distributions!r}")
    if isinstance(first, Deterministic):
        values = np.array([d.mean_min for d in distributions], dtype=np.float64)
        return lambda rng, sizes: np.repeat(values, sizes)
    name = first._numpy()[0]
    draw = getattr(np.random.Generator, name)
    parameters = np.array([d._numpy()[1] for d in distributions], dtype=np.float64).T
    if first.scaled_standard is not None:  # twice as fast as numpy's array parameters
        standard = getattr(np.random.Generator, first.scaled_standard)
        return lambda rng, sizes: (
            standard(rng, int(np.sum(sizes))) * np.repeat(parameters[0], sizes)
        )
    return lambda rng, sizes: draw(rng, *(np.repeat(p, sizes) for p in parameters))


class Exponential(_Dist):
    """Exponential with mean ``mean_min``: memoryless service or patience."""

    dist: Literal["exponential"] = "exponential"
    """The tag "exponential"."""
    mean_min: PositiveMinutes
    """Mean in minutes, more than 0 and at most 100,000."""

    scaled_standard: ClassVar[str] = "standard_exponential"

    @property
    def second_moment(self) -> float:
        return 2.0 * self.mean_min**2

    def _numpy(self) -> tuple[str, tuple[float, ...]]:
        return "exponential", (self.mean_min,)

    def stream_form(self) -> tuple[int, float, float]:
        return STREAM_FORMS.index("exponential"), self.mean_min, 0.0


class Deterministic(_Dist):
    """Always exactly ``mean_min``."""

    dist: Literal["deterministic"] = "deterministic"
    """The tag "deterministic"."""
    mean_min: PositiveMinutes
    """The value in minutes, more than 0 and at most 100,000."""

    @property
    def second_moment(self) -> float:
        return self.mean_min**2

    def sampler(self) -> Sampler:
        value = self.mean_min
        return lambda rng, size: np.full(size, value, dtype=np.float64)

    def stream_form(self) -> tuple[int, float, float]:
        return STREAM_FORMS.index("deterministic"), self.mean_min, 0.0


class Lognormal(_Dist):
    """Lognormal with mean ``mean_min`` and coefficient of variation ``cv``.

    With sigma^2 = ln(1 + cv^2) and mu = ln(mean) - sigma^2 / 2 the mean and cv are exact.
    """

    dist: Literal["lognormal"] = "lognormal"
    """The tag "lognormal"."""
    mean_min: PositiveMinutes
    """Mean in minutes, more than 0 and at most 100,000."""
    cv: CV
    """Coefficient of variation (standard deviation over mean), from 0.001 to 10."""

    @property
    def second_moment(self) -> float:
        return self.mean_min**2 * (1.0 + self.cv**2)

    def _log_params(self) -> tuple[float, float]:
        sigma2 = math.log1p(self.cv**2)
        return math.log(self.mean_min) - sigma2 / 2, math.sqrt(sigma2)

    def _numpy(self) -> tuple[str, tuple[float, ...]]:
        return "lognormal", self._log_params()

    def stream_form(self) -> tuple[int, float, float]:
        return STREAM_FORMS.index("lognormal"), *self._log_params()


class Gamma(_Dist):
    """Gamma with mean ``mean_min`` and coefficient of variation ``cv`` (shape 1 / cv^2)."""

    dist: Literal["gamma"] = "gamma"
    """The tag "gamma"."""
    mean_min: PositiveMinutes
    """Mean in minutes, more than 0 and at most 100,000."""
    cv: CV
    """Coefficient of variation (standard deviation over mean), from 0.001 to 10."""

    @property
    def second_moment(self) -> float:
        return self.mean_min**2 * (1.0 + self.cv**2)

    def _shape_scale(self) -> tuple[float, float]:
        shape = 1.0 / self.cv**2
        return shape, self.mean_min / shape

    def _numpy(self) -> tuple[str, tuple[float, ...]]:
        return "gamma", self._shape_scale()

    def stream_form(self) -> tuple[int, float, float]:
        return STREAM_FORMS.index("gamma"), *self._shape_scale()


class Uniform(_Dist):
    """Uniform between ``low_min`` and ``high_min``."""

    dist: Literal["uniform"] = "uniform"
    """The tag "uniform"."""
    low_min: Minutes
    """Lowest value in minutes, at least 0."""
    high_min: PositiveMinutes
    """Highest value in minutes, above low_min and at most 100,000."""

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high_min <= self.low_min:
            raise ValueError(
                f"high_min must be > low_min (got low_min={self.low_min}, high_min={self.high_min})"
            )
        return self

    @property
    def mean(self) -> float:
        return (self.low_min + self.high_min) / 2

    @property
    def second_moment(self) -> float:
        a, b = self.low_min, self.high_min
        return (a * a + a * b + b * b) / 3

    def _numpy(self) -> tuple[str, tuple[float, ...]]:
        return "uniform", (self.low_min, self.high_min)

    def stream_form(self) -> tuple[int, float, float]:
        return STREAM_FORMS.index("uniform"), self.low_min, self.high_min - self.low_min


class Empirical(_Dist):
    """Resampling with replacement from observed durations ``samples_min``."""

    dist: Literal["empirical"] = "empirical"
    """The tag "empirical"."""
    samples_min: Annotated[list[Minutes], Field(min_length=1)]
    """Observed durations in minutes (each at most 100,000), drawn with replacement."""

    # the indices are bounded integers, which numpy may draw several to a random word:
    # splitting a call is not promised to draw the same, so calls are never shared
    elementwise: ClassVar[bool] = False

    @model_validator(mode="after")
    def _positive_mean(self) -> Empirical:
        if not sum(self.samples_min) > 0:
            raise ValueError("samples_min must contain a positive value (got only zeros)")
        return self

    @property
    def mean(self) -> float:
        return float(np.mean(self.samples_min))

    @property
    def second_moment(self) -> float:
        return float(np.mean(np.square(self.samples_min)))

    def sampler(self) -> Sampler:
        samples = np.asarray(self.samples_min, dtype=np.float64)
        return lambda rng, size: rng.choice(samples, size=size)


Distribution = Annotated[
    Exponential | Deterministic | Lognormal | Gamma | Uniform | Empirical,
    Field(discriminator="dist"),
]
"""Any of the supported distributions, chosen by its ``dist`` key."""
