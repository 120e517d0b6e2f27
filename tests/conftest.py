"""Shared helpers: small scenarios built in code, and confidence intervals over days."""

from __future__ import annotations

import os

os.environ.setdefault("TQDM_DISABLE", "1")  # before tqdm is imported: it reads it then
# one BLAS thread per test process: with pytest -n 2 on two cores, BLAS threads of both
# workers (statsmodels' fits) would otherwise fight over the cores
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402

import hallsim as hs  # noqa: E402


def make_scenario(categories: list[dict], windows: list[dict], **hall) -> hs.Scenario:
    """A scenario from category and window tables; the hall defaults to 24 h, one day."""
    return hs.Scenario.model_validate(
        {
            "hall": {"open": "00:00", "close": "24:00", **hall},
            "categories": categories,
            "windows": windows,
        }
    )


def category(cid: str, rate_per_hour: float, service: dict, **extra) -> dict:
    return {"id": cid, "arrivals": {"rate_per_hour": rate_per_hour}, "service": service, **extra}


def exponential(mean: float) -> dict:
    return {"dist": "exponential", "mean_min": mean}


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float]:
    """Student-t confidence interval of the mean of independent values."""
    values = np.asarray(values, dtype=float)
    half = stats.sem(values) * stats.t.ppf(0.5 + confidence / 2, values.size - 1)
    return values.mean() - half, values.mean() + half


def per_day(tickets, statistic, warmup_min: float = 0.0) -> np.ndarray:
    """``statistic(day_tickets)`` for each replication and day, skipping tickets issued in the
    first ``warmup_min`` minutes of the day (days are independent, so these values are i.i.d.).
    """
    late = tickets[(tickets["issued"] - tickets["day"] * 1440.0) >= warmup_min]
    return np.array([statistic(day) for _, day in late.groupby(["replication", "day"])])


def assert_within_ci(values, expected: float, what: str) -> None:
    low, high = mean_ci(values)
    print(f"{what}: oracle {expected:.4f}, 95% CI [{low:.4f}, {high:.4f}]")
    assert low <= expected <= high, (
        f"{what}: oracle {expected:.4f} outside 95% CI [{low:.4f}, {high:.4f}]"
    )


# every array of an EngineOutput: what "the same result" means between engines and kernels
OUTPUT_FIELDS = (
    "called",
    "start",
    "end",
    "post",
    "outcome",
    "recall_post",
    "period_post",
    "period_start",
    "period_end",
    "reserve_pool",
    "reserve_requested",
    "reserve_opened",
    "reserve_post",
    "reserve_reason",
    "office_start",
    "office_end",
    "pickup_arrive",
    "pickup_start",
    "pickup_end",
)


def on_minute_grid(inputs):
    """The same tickets on a one-minute grid: arrivals, services, patience and spans then
    coincide all the time (the ties the rules of ``hallsim.engines`` order)."""
    import dataclasses

    return dataclasses.replace(
        inputs,
        issued=np.floor(inputs.issued),
        service=np.round(inputs.service),
        patience=np.round(inputs.patience),
        office_service=np.round(inputs.office_service),
        pickup_service=np.round(inputs.pickup_service),
    )


@pytest.fixture
def seed() -> int:
    return 20261121
