"""Service-time and patience distributions of a scenario, in minutes.

Each distribution is a small frozen pydantic model tagged by ``dist``. It knows its mean and
second moment (for the analytic oracles) and draws samples with a ``numpy.random.Generator``
through the matching ``scipy.stats`` distribution.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import stats

__all__ = [
    "Deterministic",
    "Distribution",
    "Empirical",
    "Exponential",
    "Gamma",
    "Lognormal",
    "Uniform",
]

PositiveMinutes = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeMinutes = Annotated[float, Field(ge=0, allow_inf_nan=False)]
PositiveCV = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _Dist(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @property
    def mean(self) -> float:
        """Mean in minutes."""
        return float(self.frozen().mean())

    @property
    def second_moment(self) -> float:
        """E[X^2] in minutes squared."""
        return float(self.frozen().moment(2))

    def frozen(self):  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` independent values (minutes) from ``rng``."""
        return np.asarray(self.frozen().rvs(size=size, random_state=rng), dtype=np.float64)


class Exponential(_Dist):
    """Exponential with mean ``mean_min``: memoryless service or patience."""

    dist: Literal["exponential"] = "exponential"
    mean_min: PositiveMinutes

    def frozen(self):
        return stats.expon(scale=self.mean_min)


class Deterministic(_Dist):
    """Always exactly ``mean_min``."""

    dist: Literal["deterministic"] = "deterministic"
    mean_min: PositiveMinutes

    @property
    def mean(self) -> float:
        return self.mean_min

    @property
    def second_moment(self) -> float:
        return self.mean_min**2

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, self.mean_min, dtype=np.float64)


class Lognormal(_Dist):
    """Lognormal with mean ``mean_min`` and coefficient of variation ``cv``.

    With sigma^2 = ln(1 + cv^2) and mu = ln(mean) - sigma^2 / 2 the mean and cv are exact.
    """

    dist: Literal["lognormal"] = "lognormal"
    mean_min: PositiveMinutes
    cv: PositiveCV

    def frozen(self):
        sigma2 = math.log1p(self.cv**2)
        return stats.lognorm(s=math.sqrt(sigma2), scale=self.mean_min * math.exp(-sigma2 / 2))


class Gamma(_Dist):
    """Gamma with mean ``mean_min`` and coefficient of variation ``cv`` (shape 1 / cv^2)."""

    dist: Literal["gamma"] = "gamma"
    mean_min: PositiveMinutes
    cv: PositiveCV

    def frozen(self):
        shape = 1.0 / self.cv**2
        return stats.gamma(a=shape, scale=self.mean_min / shape)


class Uniform(_Dist):
    """Uniform between ``low_min`` and ``high_min``."""

    dist: Literal["uniform"] = "uniform"
    low_min: NonNegativeMinutes
    high_min: PositiveMinutes

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high_min <= self.low_min:
            raise ValueError(
                f"high_min must be > low_min (got low_min={self.low_min}, high_min={self.high_min})"
            )
        return self

    def frozen(self):
        return stats.uniform(loc=self.low_min, scale=self.high_min - self.low_min)


class Empirical(_Dist):
    """Resampling with replacement from observed durations ``samples_min``."""

    dist: Literal["empirical"] = "empirical"
    samples_min: Annotated[list[NonNegativeMinutes], Field(min_length=1)]

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

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.choice(np.asarray(self.samples_min, dtype=np.float64), size=size)


Distribution = Annotated[
    Exponential | Deterministic | Lognormal | Gamma | Uniform | Empirical,
    Field(discriminator="dist"),
]
"""Any of the supported distributions, chosen by its ``dist`` key."""

DIST_NAMES = ("exponential", "deterministic", "lognormal", "gamma", "uniform", "empirical")
