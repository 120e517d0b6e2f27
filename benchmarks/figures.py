"""The records of the benchmark suite (``benchmarks/suite.py``): speed figures and checks.

A benchmark registered in the suite is a function ``suite(short: bool) -> dict`` in one of the
scripts; the dict it returns is ``{"figures": {name: speed(...)}, "checks": {name: ...},
"info": {...}}`` (each key optional), built with the helpers below so that every script writes
the same fields:

- :func:`speed`: seconds of a timed run and its ratio to a reference run timed in the same
  process (the minimal FCFS kernel, the simpy engine, ...), higher is better;
- :func:`accuracy`: an estimate with its confidence interval from independent samples (days or
  replications) against an exact value;
- :func:`identical`: whether two outputs that must be the same are the same.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

__all__ = ["CONFIDENCE", "accuracy", "check_passes", "identical", "speed"]

#: Confidence of the accuracy checks' intervals. With fixed seeds each check is deterministic;
#: when a change of the random streams draws new samples, a correct engine fails one given
#: check with probability 0.1 %, about 1 % over the suite's dozen checks.
CONFIDENCE = 0.999


def speed(
    seconds: float,
    reference_seconds: float,
    reference: str,
    *,
    tickets: int | None = None,
    gate: bool = True,
) -> dict:
    """A speed figure: ``ratio = reference_seconds / seconds`` (higher is faster).

    Parameters
    ----------
    seconds : float
        Best wall time of the timed run.
    reference_seconds : float
        Best wall time of the reference doing the same work (the same tickets), in the same
        process; scale it to the timed run's work where the two differ.
    reference : str
        What the reference is, e.g. ``"minimal FCFS kernel"``.
    tickets : int, optional
        Tickets of the timed run: adds ``tickets`` and ``mtickets_per_s``.
    gate : bool, default True
        Whether a comparison with the baseline fails when the ratio regresses (False: too
        noisy on a shared machine, reported only).
    """
    if not (seconds > 0 and reference_seconds > 0):
        raise ValueError(
            f"seconds must be > 0 (got seconds={seconds!r}, "
            f"reference_seconds={reference_seconds!r})"
        )
    figure = {
        "seconds": float(seconds),
        "ratio": float(reference_seconds / seconds),
        "reference": reference,
        "reference_seconds": float(reference_seconds),
        "gate": bool(gate),
    }
    if tickets is not None:
        figure["tickets"] = int(tickets)
        figure["mtickets_per_s"] = tickets / seconds / 1e6
    return figure


def accuracy(
    samples: ArrayLike, exact: float, *, scale: float = 1.0, confidence: float = CONFIDENCE
) -> dict:
    """An accuracy check: the Student-t interval of the mean of i.i.d. ``samples`` / ``scale``
    against ``exact``.

    ``scale`` turns per-day counts into shares (the expected arrivals of a day) without
    changing the test. The check passes when ``|estimate - exact| <= half_width``.
    """
    values = np.asarray(samples, dtype=float)
    if values.ndim != 1 or values.size < 2 or not np.isfinite(values).all():
        raise ValueError(f"samples must be at least 2 finite values (got {values!r})")
    estimate = values.mean() / scale
    half = stats.sem(values) * stats.t.ppf(0.5 + confidence / 2, values.size - 1) / scale
    return {
        "estimate": float(estimate),
        "exact": float(exact),
        "half_width": float(half),
        "confidence": confidence,
        "samples": int(values.size),
        "inside": bool(abs(estimate - exact) <= half),
    }


def identical(same: bool, what: str) -> dict:
    """A check that two outputs are the same (``what`` says which)."""
    return {"identical": bool(same), "what": what}


def check_passes(check: dict) -> bool:
    """Whether a check passes, judged from its numbers (not from its stored verdict)."""
    if "identical" in check:
        return check["identical"] is True
    estimate, exact, half = check["estimate"], check["exact"], check["half_width"]
    return all(map(math.isfinite, (estimate, exact, half))) and abs(estimate - exact) <= half
