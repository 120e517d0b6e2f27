"""Exact queueing formulas, used as test oracles for the simulator and by planners.

Units: every rate is per minute and every time is in minutes. ``offered_load`` is the
dimensionless product arrival rate x mean service time (in Erlangs).

All functions validate their input and raise :class:`ValueError` naming the offending value
rather than returning a meaningless number (for example for an unstable queue).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "cobham_waits",
    "cobham_waits_mmc",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "mmc_mean_wait",
    "mmc_wait_tail",
    "pk_mean_wait",
]

#: Tail probability mass of the Erlang-A chain that may be neglected by automatic truncation.
_TAIL_MASS = 1e-12
#: Largest number of states the Erlang-A chain may be truncated at.
_MAX_STATES = 10_000_000


# --------------------------------------------------------------------------- validation


def _servers(servers: Any) -> int:
    """``servers`` as a positive ``int`` (integral floats such as ``3.0`` are accepted)."""
    if isinstance(servers, bool):
        raise ValueError(f"servers must be a positive integer (got {servers!r})")
    try:
        value = operator.index(servers)
    except TypeError:
        if isinstance(servers, float | np.floating) and float(servers).is_integer():
            value = int(servers)
        else:
            raise ValueError(f"servers must be a positive integer (got {servers!r})") from None
    if value < 1:
        raise ValueError(f"servers must be a positive integer (got {servers!r})")
    return value


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a real number (got {value!r})")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number (got {value!r})") from None


def _positive(name: str, value: Any) -> float:
    """``value`` as a finite float > 0."""
    x = _real(name, value)
    if not (math.isfinite(x) and x > 0):
        raise ValueError(f"{name} must be a finite number > 0 (got {value!r})")
    return x


def _nonnegative(name: str, value: Any) -> float:
    """``value`` as a finite float >= 0."""
    x = _real(name, value)
    if not (math.isfinite(x) and x >= 0):
        raise ValueError(f"{name} must be a finite number >= 0 (got {value!r})")
    return x


def _second_moment(name: str, value: Any, mean: float) -> float:
    """A second moment, which must be >= mean**2 (Jensen)."""
    x = _real(name, value)
    if not math.isfinite(x) or x < mean * mean * (1.0 - 1e-12):
        raise ValueError(
            f"{name} must be finite and >= service_mean**2 = {mean * mean!r} (got {value!r})"
        )
    return x


def _vector(name: str, values: Any) -> NDArray[np.float64]:
    """A non-empty 1-D float array."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 1-D sequence of numbers (got {values!r})") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of numbers (got {values!r})")
    return arr


def _stable_mmc(arrival_rate: float, service_mean: float, servers: int) -> float:
    """Offered load of a stable M/M/c queue, else ValueError."""
    load = arrival_rate * service_mean
    if load >= servers:
        raise ValueError(
            "unstable queue: arrival_rate * service_mean must be < servers "
            f"(got {arrival_rate!r} * {service_mean!r} = {load!r} >= {servers})"
        )
    return load


# --------------------------------------------------------------------------- Erlang B / C


def erlang_b(servers: int, offered_load: float) -> float:
    """Erlang B: blocking probability of the M/M/c/c (or M/G/c/c) loss system.

    Parameters
    ----------
    servers : int
        Number of servers ``c >= 1``.
    offered_load : float
        Offered load ``a = lambda * E[S]`` in Erlangs, ``a >= 0``.

    Returns
    -------
    float
        ``B(c, a) = (a^c / c!) / sum_{k=0}^c a^k / k!``.

    Notes
    -----
    Uses the recursion ``B(0) = 1``, ``B(k) = a B(k-1) / (k + a B(k-1))``, which never
    overflows and is accurate for thousands of servers.
    """
    c = _servers(servers)
    a = _nonnegative("offered_load", offered_load)
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(servers: int, offered_load: float) -> float:
    """Erlang C: probability that an arrival has to wait, ``P(Wq > 0)``, in M/M/c.

    Parameters
    ----------
    servers : int
        Number of servers ``c >= 1``.
    offered_load : float
        Offered load ``a = lambda / mu`` in Erlangs, ``0 <= a < c``.

    Returns
    -------
    float
        Probability of waiting.

    Raises
    ------
    ValueError
        If ``offered_load >= servers`` (no steady state).
    """
    c = _servers(servers)
    a = _nonnegative("offered_load", offered_load)
    if a >= c:
        raise ValueError(
            f"offered_load must be < servers for a stable M/M/c queue "
            f"(got offered_load={offered_load!r}, servers={c})"
        )
    b = erlang_b(c, a)
    # Standard identity C = c B / (c - a (1 - B)) (e.g. Kleinrock, Queueing Systems I, 3.4).
    return c * b / (c - a * (1.0 - b))


def mmc_mean_wait(arrival_rate: float, service_mean: float, servers: int) -> float:
    """Mean waiting time in queue ``E[Wq]`` of the M/M/c queue (minutes).

    ``E[Wq] = C(c, a) / (c mu - lambda)`` with ``mu = 1 / service_mean`` and ``a = lambda/mu``.

    Parameters
    ----------
    arrival_rate : float
        Poisson arrival rate ``lambda >= 0`` (per minute).
    service_mean : float
        Mean exponential service time ``1 / mu > 0`` (minutes).
    servers : int
        Number of servers ``c >= 1``.

    Returns
    -------
    float
        Mean wait over all arrivals (those not waiting count as 0).

    Raises
    ------
    ValueError
        For invalid input or if ``lambda * service_mean >= servers``.
    """
    lam = _nonnegative("arrival_rate", arrival_rate)
    m = _positive("service_mean", service_mean)
    c = _servers(servers)
    a = _stable_mmc(lam, m, c)
    return erlang_c(c, a) / (c / m - lam)


def mmc_wait_tail(
    arrival_rate: float, service_mean: float, servers: int, t: ArrayLike
) -> float | NDArray[np.float64]:
    """Waiting-time tail of the FCFS M/M/c queue, ``P(Wq > t)``.

    ``P(Wq > t) = C(c, a) exp(-(c mu - lambda) t)`` for ``t >= 0``: an arrival waits with
    probability ``C``, and a waiting time is then exponential with rate ``c mu - lambda``.

    Parameters
    ----------
    arrival_rate, service_mean, servers
        As in :func:`mmc_mean_wait`.
    t : float or array_like
        Time(s) in minutes, ``t >= 0`` (``inf`` allowed).

    Returns
    -------
    float or numpy.ndarray
        A float for scalar ``t``, otherwise an array of the shape of ``t``.
    """
    lam = _nonnegative("arrival_rate", arrival_rate)
    m = _positive("service_mean", service_mean)
    c = _servers(servers)
    a = _stable_mmc(lam, m, c)
    try:
        tt = np.asarray(t, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"t must be a number or an array of numbers (got {t!r})") from None
    bad = np.isnan(tt) | (tt < 0)
    if np.any(bad):
        raise ValueError(f"t must be >= 0 (got {tt[bad].ravel()[0]!r})")
    tail = erlang_c(c, a) * np.exp(-(c / m - lam) * tt)
    if tail.ndim == 0:
        return float(tail)
    return tail


# --------------------------------------------------------------------------- Erlang A


def _erlang_a_log_weights(lam: float, mu: float, c: int, theta: float, n_max: int) -> np.ndarray:
    """Unnormalised log stationary weights of the M/M/c+M birth-death chain, n = 0..n_max.

    ``log pi_n = sum_{k=1}^n log(lambda / d_k)`` with death rate
    ``d_k = min(k, c) mu + max(k - c, 0) theta``.
    """
    k = np.arange(1, n_max + 1, dtype=np.float64)
    death = np.minimum(k, c) * mu + np.maximum(k - c, 0.0) * theta
    out = np.empty(n_max + 1)
    out[0] = 0.0
    np.cumsum(math.log(lam) - np.log(death), out=out[1:])
    return out


def _normalise(log_w: np.ndarray) -> np.ndarray:
    w = np.exp(log_w - log_w.max())
    return w / w.sum()


def _erlang_a_distribution(lam: float, mu: float, c: int, theta: float) -> np.ndarray:
    """Stationary distribution of the M/M/c+M number in system, ``pi[n]`` for ``n = 0..N``.

    Rates per minute, already validated; ``theta > 0``. ``N`` grows until the neglected tail
    mass is provably below 1e-12: for ``n >= c`` the ratio ``pi_{n+1} / pi_n =
    lambda / d_{n+1}`` decreases in ``n``, so once ``r = lambda / d_{N+1} < 1``,
    ``sum_{n>N} pi_n <= pi_N r / (1 - r)``.
    """
    mode = max(0.0, (lam - c * mu) / theta)  # most likely queue length
    j = int(mode) + 64
    while True:
        n_max = c + j
        if n_max > _MAX_STATES:
            raise ValueError(
                f"the Erlang-A chain needs more than {_MAX_STATES} states for "
                f"arrival_rate={lam!r}, service rate={mu!r}, servers={c}, abandonment "
                f"rate={theta!r}; pass max_queue to truncate explicitly"
            )
        log_w = _erlang_a_log_weights(lam, mu, c, theta, n_max)
        r = lam / (c * mu + (j + 1) * theta)
        if r < 1.0:
            peak = log_w.max()
            log_total = peak + math.log(np.exp(log_w - peak).sum())
            log_tail = log_w[-1] - log_total + math.log(r / (1.0 - r))
            if log_tail < math.log(_TAIL_MASS):
                return _normalise(log_w)
        j *= 2


def erlang_a(
    arrival_rate: float,
    service_mean: float,
    servers: int,
    patience_mean: float,
    *,
    max_queue: int | None = None,
) -> dict[str, float]:
    """Erlang A: the M/M/c+M queue (exponential patience, abandonment from the queue).

    The number in system ``n`` is a birth-death chain with birth rate ``lambda`` and death
    rate ``min(n, c) mu + max(n - c, 0) theta``, ``theta = 1 / patience_mean``. Its stationary
    distribution ``pi`` is computed in log-space (no overflow for thousands of servers) on
    ``n = 0 .. N``. By default ``N`` is chosen so that the neglected tail mass is < 1e-12.

    Parameters
    ----------
    arrival_rate : float
        Poisson arrival rate ``lambda > 0`` (per minute).
    service_mean : float
        Mean exponential service time ``1 / mu > 0`` (minutes).
    servers : int
        Number of servers ``c >= 1``.
    patience_mean : float
        Mean exponential patience ``1 / theta > 0`` (minutes). ``math.inf`` means nobody
        abandons: the queue must then be stable and the result is the Erlang C model.
    max_queue : int, optional
        Fixed truncation: at most ``max_queue >= 0`` customers wait, i.e. ``N = c + max_queue``.
        The result is then exact for that finite waiting room, arrivals finding it full being
        lost (so ``p_served + p_abandon = 1 - P(n = N)``; ``max_queue=0`` is Erlang B).

    Returns
    -------
    dict
        ``p_wait``
            Probability an arrival has to wait, ``P(c <= n < N)`` (PASTA).
        ``p_abandon``
            Fraction of arrivals that abandon, ``sum_n pi_n (n - c)^+ theta / lambda``.
        ``p_served``
            Fraction of arrivals eventually served.
        ``mean_queue``
            Mean number waiting, ``E[(n - c)^+]``.
        ``mean_wait``
            Mean time in queue over all arrivals, ``mean_queue / lambda`` (Little).
        ``mean_wait_served``
            Mean time in queue of the arrivals that are eventually served.

    Notes
    -----
    ``mean_wait_served = E[W 1{served}] / P(served)``, conditioning on the state found on
    arrival (PASTA). An arrival finding ``n < c`` is served at once. One finding all servers
    busy and ``j = n - c`` customers waiting passes through stages ``i = j, j-1, ..., 0``
    (customers still ahead of it). Stage ``i`` ends at total rate ``r_i = c mu + (i+1) theta``:
    with rate ``c mu + i theta`` the queue ahead shrinks (a service completion or an abandonment
    ahead; at ``i = 0`` it then enters service), with rate ``theta`` the customer itself
    abandons. The stage length is ``Exp(r_i)``, independent of which event ends it, so

    - ``P(served | j) = prod_{i=0}^{j} (c mu + i theta) / r_i = c mu / (c mu + (j+1) theta)``
      (the product telescopes),
    - ``E[W 1{served} | j] = P(served | j) * sum_{i=0}^{j} 1 / r_i``.

    ``p_served`` is computed this way; it agrees with ``1 - p_abandon`` (rate balance).
    """
    lam = _positive("arrival_rate", arrival_rate)
    m = _positive("service_mean", service_mean)
    c = _servers(servers)
    p = _real("patience_mean", patience_mean)
    if not (p > 0):  # also rejects NaN
        raise ValueError(f"patience_mean must be > 0 (math.inf allowed) (got {patience_mean!r})")
    mu = 1.0 / m
    theta = 0.0 if math.isinf(p) else 1.0 / p
    if max_queue is not None:
        if isinstance(max_queue, bool):
            raise ValueError(f"max_queue must be a non-negative integer (got {max_queue!r})")
        try:
            q = operator.index(max_queue)
        except TypeError:
            raise ValueError(
                f"max_queue must be a non-negative integer (got {max_queue!r})"
            ) from None
        if q < 0:
            raise ValueError(f"max_queue must be a non-negative integer (got {max_queue!r})")

    if theta == 0.0 and max_queue is None:
        # No abandonment, infinite waiting room: exactly Erlang C.
        a = _stable_mmc(lam, m, c)
        wait = erlang_c(c, a) / (c * mu - lam)
        return {
            "p_wait": erlang_c(c, a),
            "p_abandon": 0.0,
            "p_served": 1.0,
            "mean_queue": lam * wait,
            "mean_wait": wait,
            "mean_wait_served": wait,
        }

    if max_queue is not None:
        pi = _normalise(_erlang_a_log_weights(lam, mu, c, theta, c + q))
        blocked = True
    else:
        pi = _erlang_a_distribution(lam, mu, c, theta)
        blocked = False
    n_max = pi.size - 1
    n = np.arange(n_max + 1)
    queued = np.maximum(n - c, 0).astype(np.float64)
    mean_queue = float(pi @ queued)
    p_abandon = mean_queue * theta / lam

    # States an arrival can join: all of them, except the full one when N is a real limit.
    top = n_max if blocked else n_max + 1
    p_wait = min(1.0, float(pi[c:top].sum()))  # min: rounding only
    jj = np.arange(top - c, dtype=np.float64)  # j customers waiting ahead
    rates = c * mu + (jj + 1.0) * theta  # r_j
    p_served_j = c * mu / rates
    e_wait_served_j = p_served_j * np.cumsum(1.0 / rates)
    p_served = min(1.0, float(pi[:c].sum() + pi[c:top] @ p_served_j))
    e_wait_served = float(pi[c:top] @ e_wait_served_j)
    return {
        "p_wait": p_wait,
        "p_abandon": p_abandon,
        "p_served": p_served,
        "mean_queue": mean_queue,
        "mean_wait": mean_queue / lam,
        "mean_wait_served": e_wait_served / p_served if p_served > 0 else 0.0,
    }


# --------------------------------------------------------------------------- M/G/1 & priorities


def pk_mean_wait(arrival_rate: float, service_mean: float, service_second_moment: float) -> float:
    """Pollaczek-Khinchine mean wait in queue of the M/G/1 FCFS queue (minutes).

    ``E[Wq] = lambda E[S^2] / (2 (1 - rho))`` with ``rho = lambda E[S]``.

    Parameters
    ----------
    arrival_rate : float
        Poisson arrival rate ``lambda >= 0`` (per minute).
    service_mean : float
        ``E[S] > 0`` (minutes).
    service_second_moment : float
        ``E[S^2] >= E[S]^2`` (minutes squared); ``2 E[S]^2`` for exponential service.

    Raises
    ------
    ValueError
        For invalid input or if ``rho >= 1``.
    """
    lam = _nonnegative("arrival_rate", arrival_rate)
    m = _positive("service_mean", service_mean)
    s2 = _second_moment("service_second_moment", service_second_moment, m)
    rho = lam * m
    if rho >= 1.0:
        raise ValueError(
            f"unstable M/G/1 queue: rho = arrival_rate * service_mean >= 1 (got {rho!r})"
        )
    return lam * s2 / (2.0 * (1.0 - rho))


def _priority_denominators(loads: NDArray[np.float64]) -> NDArray[np.float64]:
    """``(1 - sigma_{k-1}) (1 - sigma_k)`` with ``sigma_k`` the cumulative load of classes <= k."""
    sigma = np.cumsum(loads)
    sigma_prev = np.concatenate(([0.0], sigma[:-1]))
    return (1.0 - sigma_prev) * (1.0 - sigma)


def cobham_waits(
    arrival_rates: Sequence[float] | ArrayLike,
    service_means: Sequence[float] | ArrayLike,
    service_second_moments: Sequence[float] | ArrayLike,
) -> NDArray[np.float64]:
    """Mean waits of the non-preemptive priority M/G/1 queue (Cobham 1954).

    ``W_k = W0 / ((1 - sigma_{k-1}) (1 - sigma_k))`` with the mean residual work
    ``W0 = sum_i lambda_i E[S_i^2] / 2`` and ``sigma_k = sum_{i <= k} rho_i``.

    Parameters
    ----------
    arrival_rates : array_like
        Poisson rate ``lambda_k >= 0`` of each class (per minute), highest priority first.
    service_means : array_like
        ``E[S_k] > 0`` of each class (minutes).
    service_second_moments : array_like
        ``E[S_k^2] >= E[S_k]^2`` of each class (minutes squared).

    Returns
    -------
    numpy.ndarray
        Mean wait in queue of each class, in the given order.

    Raises
    ------
    ValueError
        For invalid input, mismatched lengths, or total load ``>= 1``.
    """
    lam = _vector("arrival_rates", arrival_rates)
    means = _vector("service_means", service_means)
    s2 = _vector("service_second_moments", service_second_moments)
    if not (lam.size == means.size == s2.size):
        raise ValueError(
            "arrival_rates, service_means and service_second_moments must have the same length "
            f"(got {lam.size}, {means.size}, {s2.size})"
        )
    for k in range(lam.size):
        _nonnegative(f"arrival_rates[{k}]", lam[k])
        _positive(f"service_means[{k}]", means[k])
        _second_moment(f"service_second_moments[{k}]", s2[k], float(means[k]))
    loads = lam * means
    total = float(loads.sum())
    if total >= 1.0:
        raise ValueError(f"unstable priority M/G/1 queue: total load must be < 1 (got {total!r})")
    w0 = float(lam @ s2) / 2.0
    return w0 / _priority_denominators(loads)


def cobham_waits_mmc(
    arrival_rates: Sequence[float] | ArrayLike, service_mean: float, servers: int
) -> NDArray[np.float64]:
    """Mean waits of the non-preemptive priority M/M/c queue with one common service rate.

    ``W_k = C(c, a) / (c mu) / ((1 - sigma_{k-1}) (1 - sigma_k))`` with
    ``sigma_k = sum_{i <= k} lambda_i / (c mu)`` and ``C`` the Erlang C probability at the
    total load ``a = sum_i lambda_i / mu`` (the multi-server extension of Cobham's formula,
    valid because all classes share the exponential service rate ``mu``).

    Parameters
    ----------
    arrival_rates : array_like
        Poisson rate ``lambda_k >= 0`` of each class (per minute), highest priority first.
    service_mean : float
        Common mean exponential service time ``1 / mu > 0`` (minutes).
    servers : int
        Number of servers ``c >= 1``.

    Returns
    -------
    numpy.ndarray
        Mean wait in queue of each class, in the given order.

    Raises
    ------
    ValueError
        For invalid input or total load ``>= servers``.
    """
    lam = _vector("arrival_rates", arrival_rates)
    for k in range(lam.size):
        _nonnegative(f"arrival_rates[{k}]", lam[k])
    m = _positive("service_mean", service_mean)
    c = _servers(servers)
    a = _stable_mmc(float(lam.sum()), m, c)
    capacity = c / m  # c mu
    return erlang_c(c, a) / capacity / _priority_denominators(lam / capacity)
