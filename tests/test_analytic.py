"""Check the analytic oracles against independent facts (closed forms, brute-force CTMCs)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from hallsim.analytic import (
    cobham_waits,
    cobham_waits_mmc,
    erlang_a,
    erlang_b,
    erlang_c,
    mmc_mean_wait,
    mmc_wait_tail,
    pk_mean_wait,
)

# ----------------------------------------------------------------------------- brute force


def stationary(q: np.ndarray) -> np.ndarray:
    """Solve pi Q = 0, sum(pi) = 1 for a dense generator matrix."""
    a = q.T.copy()
    a[-1, :] = 1.0
    b = np.zeros(len(q))
    b[-1] = 1.0
    pi = np.linalg.solve(a, b)
    assert np.allclose(pi @ q, 0.0, atol=1e-12)
    return pi


def birth_death_generator(lam: float, death: list[float]) -> np.ndarray:
    """Generator of a birth-death chain on 0..N, death[n] = death rate in state n (death[0]=0)."""
    size = len(death)
    q = np.zeros((size, size))
    for n in range(size):
        if n + 1 < size:
            q[n, n + 1] = lam
        if n > 0:
            q[n, n - 1] = death[n]
        q[n, n] = -q[n].sum()
    return q


def mmc_abandon_ctmc(lam: float, mu: float, c: int, theta: float, size: int) -> np.ndarray:
    """Stationary distribution of M/M/c+M on 0..size-1 built element by element."""
    death = [min(n, c) * mu + max(n - c, 0) * theta for n in range(size)]
    return stationary(birth_death_generator(lam, death))


def priority_mmc_ctmc(lams: list[float], mu: float, c: int, qmax: int) -> np.ndarray:
    """Mean queue lengths per class of a 2-class non-preemptive priority M/M/c (equal mu).

    State: (busy servers, waiting class 1, waiting class 2); queues are only non-empty when
    all servers are busy. Arrivals beyond ``qmax`` waiting in a class are dropped.
    """
    states = [(b, 0, 0) for b in range(c)] + [
        (c, q1, q2) for q1 in range(qmax + 1) for q2 in range(qmax + 1)
    ]
    index = {s: i for i, s in enumerate(states)}
    q = np.zeros((len(states), len(states)))
    for s, i in index.items():
        b, q1, q2 = s
        moves = []
        for k, lam in enumerate(lams):
            if b < c:
                moves.append(((b + 1, 0, 0), lam))
            elif k == 0 and q1 < qmax:
                moves.append(((c, q1 + 1, q2), lam))
            elif k == 1 and q2 < qmax:
                moves.append(((c, q1, q2 + 1), lam))
        if b > 0:
            if q1 > 0:
                target = (c, q1 - 1, q2)
            elif q2 > 0:
                target = (c, q1, q2 - 1)
            else:
                target = (b - 1, 0, 0)
            moves.append((target, b * mu))
        for target, rate in moves:
            q[i, index[target]] += rate
        q[i, i] = -q[i].sum()
    pi = stationary(q)
    q1s = np.array([s[1] for s in states])
    q2s = np.array([s[2] for s in states])
    return np.array([pi @ q1s, pi @ q2s])


def priority_mg1_exp_ctmc(lams: list[float], mus: list[float], qmax: int) -> np.ndarray:
    """Mean queue lengths per class of a 2-class non-preemptive priority M/M/1 (class mus).

    State: (waiting class 1, waiting class 2, class in service or 0 when idle).
    """
    states = [(0, 0, 0)] + [
        (q1, q2, s) for q1 in range(qmax + 1) for q2 in range(qmax + 1) for s in (1, 2)
    ]
    index = {st: i for i, st in enumerate(states)}
    q = np.zeros((len(states), len(states)))
    for st, i in index.items():
        q1, q2, s = st
        moves = []
        if s == 0:
            moves += [((0, 0, 1), lams[0]), ((0, 0, 2), lams[1])]
        else:
            if q1 < qmax:
                moves.append(((q1 + 1, q2, s), lams[0]))
            if q2 < qmax:
                moves.append(((q1, q2 + 1, s), lams[1]))
            if q1 > 0:
                target = (q1 - 1, q2, 1)
            elif q2 > 0:
                target = (q1, q2 - 1, 2)
            else:
                target = (0, 0, 0)
            moves.append((target, mus[s - 1]))
        for target, rate in moves:
            q[i, index[target]] += rate
        q[i, i] = -q[i].sum()
    pi = stationary(q)
    q1s = np.array([st[0] for st in states])
    q2s = np.array([st[1] for st in states])
    return np.array([pi @ q1s, pi @ q2s])


# ----------------------------------------------------------------------------- Erlang B / C


@pytest.mark.parametrize("c", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("a", [0.1, 1.0, 3.7, 10.0])
def test_erlang_b_closed_form(c: int, a: float) -> None:
    terms = [a**k / math.factorial(k) for k in range(c + 1)]
    assert erlang_b(c, a) == pytest.approx(terms[-1] / sum(terms), rel=1e-12)


def test_erlang_b_edge_and_large() -> None:
    assert erlang_b(3, 0.0) == 0.0
    b = erlang_b(1000, 950.0)
    assert 0.0 < b < 1.0 and math.isfinite(b)
    # Log-space closed form for a large system.
    c, a = 1000, 950.0
    logs = np.array([k * math.log(a) - math.lgamma(k + 1) for k in range(c + 1)])
    expected = math.exp(logs[-1] - (logs.max() + math.log(np.exp(logs - logs.max()).sum())))
    assert b == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("c", "a"), [(1, 0.5), (2, 1.5), (4, 3.2), (7, 2.0), (10, 9.5)])
def test_erlang_c_closed_forms(c: int, a: float) -> None:
    # Textbook closed form.
    top = a**c / math.factorial(c) * c / (c - a)
    direct = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    assert erlang_c(c, a) == pytest.approx(direct, rel=1e-12)
    # Via Erlang B.
    b = erlang_b(c, a)
    assert erlang_c(c, a) == pytest.approx(c * b / (c - a * (1 - b)), rel=1e-12)


@pytest.mark.parametrize(("lam", "m", "c"), [(0.5, 1.0, 1), (2.0, 1.5, 4), (3.0, 0.5, 2)])
def test_mmc_against_birth_death(lam: float, m: float, c: int) -> None:
    size = 600
    death = [min(n, c) / m for n in range(size)]
    pi = stationary(birth_death_generator(lam, death))
    n = np.arange(size)
    assert erlang_c(c, lam * m) == pytest.approx(pi[c:].sum(), rel=1e-9)
    assert mmc_mean_wait(lam, m, c) == pytest.approx(pi @ np.maximum(n - c, 0) / lam, rel=1e-9)


def test_mmc_wait_tail() -> None:
    lam, m, c = 3.0, 1.2, 5
    assert mmc_wait_tail(lam, m, c, 0.0) == pytest.approx(erlang_c(c, lam * m), rel=1e-14)
    assert isinstance(mmc_wait_tail(lam, m, c, 1.0), float)
    # E[W] = integral of P(W > t) dt.
    area, _ = integrate.quad(lambda t: mmc_wait_tail(lam, m, c, t), 0, np.inf)
    assert area == pytest.approx(mmc_mean_wait(lam, m, c), rel=1e-8)
    t = np.array([[0.0, 1.0], [2.0, np.inf]])
    out = mmc_wait_tail(lam, m, c, t)
    assert isinstance(out, np.ndarray) and out.shape == (2, 2)
    assert out[1, 1] == 0.0
    assert np.all(np.diff(out.ravel()[:3]) < 0)


def test_mmc_zero_arrivals() -> None:
    assert mmc_mean_wait(0.0, 1.0, 2) == 0.0
    assert erlang_c(2, 0.0) == 0.0


# ----------------------------------------------------------------------------- Erlang A


@pytest.mark.parametrize(("lam", "m", "c"), [(0.8, 1.0, 1), (8.0, 1.0, 10), (45.0, 2.0, 100)])
def test_erlang_a_large_patience_is_erlang_c(lam: float, m: float, c: int) -> None:
    res = erlang_a(lam, m, c, 1e9)
    assert res["p_wait"] == pytest.approx(erlang_c(c, lam * m), abs=1e-6)
    assert res["mean_wait"] == pytest.approx(mmc_mean_wait(lam, m, c), abs=1e-6)
    assert res["mean_wait_served"] == pytest.approx(mmc_mean_wait(lam, m, c), abs=1e-6)
    assert res["p_abandon"] < 1e-6
    exact = erlang_a(lam, m, c, math.inf)
    assert exact["p_wait"] == pytest.approx(erlang_c(c, lam * m), rel=1e-14)
    assert exact["mean_wait"] == pytest.approx(mmc_mean_wait(lam, m, c), rel=1e-14)
    assert exact["mean_wait_served"] == exact["mean_wait"]
    assert exact["p_abandon"] == 0.0 and exact["p_served"] == 1.0


@pytest.mark.parametrize(
    ("lam", "m", "c", "patience"),
    [(0.9, 1.0, 1, 3.0), (1.5, 1.0, 1, 2.0), (4.0, 1.0, 3, 0.7), (2.0, 1.0, 2, 10.0)],
)
def test_erlang_a_against_ctmc(lam: float, m: float, c: int, patience: float) -> None:
    size = 200
    pi = mmc_abandon_ctmc(lam, 1 / m, c, 1 / patience, size)
    n = np.arange(size)
    queue = np.maximum(n - c, 0)
    res = erlang_a(lam, m, c, patience)
    assert res["mean_queue"] == pytest.approx(pi @ queue, rel=1e-9)
    assert res["p_abandon"] == pytest.approx(pi @ queue / patience / lam, rel=1e-9)
    assert res["p_wait"] == pytest.approx(pi[c:].sum(), rel=1e-9)
    assert res["mean_wait"] == pytest.approx(pi @ queue / lam, rel=1e-9)
    assert res["p_served"] + res["p_abandon"] == pytest.approx(1.0, abs=1e-12)


def tagged_customer(j: int, c: int, mu: float, theta: float) -> tuple[float, float, float]:
    """Absorbing CTMC of an arrival that finds j waiting ahead: (P(served), E[W 1{served}], E[W]).

    Transient states i = j..0 customers ahead; from i the queue ahead moves at rate
    c mu + i theta (to i-1, or to "served" from 0), the customer abandons at rate theta.
    Solved with the fundamental matrix, not the closed form used in the module.
    """
    size = j + 1  # state index = customers ahead
    q = np.zeros((size, size))
    to_served = np.zeros(size)
    for i in range(size):
        forward = c * mu + i * theta
        if i > 0:
            q[i, i - 1] = forward
        else:
            to_served[i] = forward
        q[i, i] = -(forward + theta)
    occupation = np.linalg.inv(-q)  # expected time in each transient state
    h = occupation @ to_served  # P(served | start)
    return h[j], (occupation @ h)[j], occupation.sum(axis=1)[j]


@pytest.mark.parametrize(
    ("lam", "m", "c", "patience"),
    [(0.9, 1.0, 1, 3.0), (1.5, 1.0, 1, 0.5), (4.0, 1.0, 3, 0.7), (7.0, 0.5, 4, 2.5)],
)
def test_erlang_a_served_wait_against_tagged_chain(
    lam: float, m: float, c: int, patience: float
) -> None:
    mu, theta, size = 1 / m, 1 / patience, 120
    pi = mmc_abandon_ctmc(lam, mu, c, theta, size)
    p_served, e_wait_served, e_wait = pi[:c].sum(), 0.0, 0.0
    for n in range(c, size - 1):
        ps, ews, ew = tagged_customer(n - c, c, mu, theta)
        p_served += pi[n] * ps
        e_wait_served += pi[n] * ews
        e_wait += pi[n] * ew
    res = erlang_a(lam, m, c, patience)
    assert res["p_served"] == pytest.approx(p_served, rel=1e-9)
    assert res["mean_wait_served"] == pytest.approx(e_wait_served / p_served, rel=1e-9)
    # The tagged-customer view of the mean wait agrees with Little's law.
    assert res["mean_wait"] == pytest.approx(e_wait, rel=1e-9)
    # mean_wait = P(S) E[W | S] + P(A) E[W | A], with E[W | A] from the tagged chain.
    e_wait_abandoned = (e_wait - e_wait_served) / (1 - p_served)
    assert res["mean_wait"] == pytest.approx(
        res["p_served"] * res["mean_wait_served"] + res["p_abandon"] * e_wait_abandoned,
        rel=1e-9,
    )


def test_erlang_a_single_server_served_wait_by_integration() -> None:
    # c = 1 with one waiting place (max_queue=1): an arrival that waits finds nobody ahead, so
    # it is served iff the residual service T ~ Exp(mu) beats its patience X ~ Exp(theta):
    # P(S) = mu / (mu + theta) and E[W 1{S}] = int_0^inf t mu e^{-mu t} e^{-theta t} dt.
    lam, mu, theta = 0.9, 1.3, 0.4
    weights = np.array([1.0, lam / mu, lam**2 / (mu * (mu + theta))])
    pi = weights / weights.sum()
    e_ws, _ = integrate.quad(lambda t: t * mu * math.exp(-(mu + theta) * t), 0, np.inf)
    p_s = pi[0] + pi[1] * mu / (mu + theta)
    res = erlang_a(lam, 1 / mu, 1, 1 / theta, max_queue=1)
    assert res["p_wait"] == pytest.approx(pi[1], rel=1e-12)
    assert res["p_served"] == pytest.approx(p_s, rel=1e-12)
    assert res["mean_wait_served"] == pytest.approx(pi[1] * e_ws / p_s, rel=1e-9)
    assert res["p_served"] + res["p_abandon"] == pytest.approx(1 - pi[2], rel=1e-12)


def test_erlang_a_limits_and_consistency() -> None:
    # theta -> 0 gives the M/M/c value for served customers.
    res = erlang_a(8.0, 1.0, 10, 1e7)
    assert res["mean_wait_served"] == pytest.approx(mmc_mean_wait(8.0, 1.0, 10), rel=1e-5)
    # max_queue = 0 is the Erlang B loss system.
    loss = erlang_a(5.0, 1.0, 6, 2.0, max_queue=0)
    assert loss["p_served"] == pytest.approx(1 - erlang_b(6, 5.0), rel=1e-12)
    assert loss["p_wait"] == 0.0 and loss["mean_queue"] == 0.0 and loss["p_abandon"] == 0.0
    # Automatic truncation agrees with a generous explicit one.
    auto = erlang_a(12.0, 1.0, 10, 3.0)
    wide = erlang_a(12.0, 1.0, 10, 3.0, max_queue=2000)
    for key, value in auto.items():
        assert value == pytest.approx(wide[key], rel=1e-10, abs=1e-13)
    # Overload: served rate = c mu exactly when all servers are always busy.
    over = erlang_a(1200.0, 1.0, 1000, 2.0)
    assert over["p_served"] * 1200.0 == pytest.approx(1000.0, rel=1e-6)


def test_erlang_a_many_servers_no_overflow() -> None:
    lam, m, c = 1900.0, 0.5, 1000  # 950 Erlangs on 1000 servers
    res = erlang_a(lam, m, c, 1e9)
    assert all(math.isfinite(v) for v in res.values())
    assert res["p_wait"] == pytest.approx(erlang_c(c, lam * m), abs=1e-6)
    assert res["mean_wait"] == pytest.approx(mmc_mean_wait(lam, m, c), abs=1e-6)
    res = erlang_a(2100.0, 0.5, c, 4.0)
    assert all(math.isfinite(v) for v in res.values())
    assert res["p_served"] + res["p_abandon"] == pytest.approx(1.0, abs=1e-9)


# ----------------------------------------------------------------------------- M/G/1, priorities


def test_pk_exponential_is_mm1() -> None:
    lam, m = 0.7, 1.1
    assert pk_mean_wait(lam, m, 2 * m**2) == pytest.approx(mmc_mean_wait(lam, m, 1), rel=1e-12)


def test_pk_deterministic_is_md1() -> None:
    lam, m = 0.6, 1.2
    rho = lam * m
    assert pk_mean_wait(lam, m, m**2) == pytest.approx(rho * m / (2 * (1 - rho)), rel=1e-12)


def test_cobham_single_class_is_pk() -> None:
    out = cobham_waits([0.4], [1.5], [4.0])
    assert out.shape == (1,)
    assert out[0] == pytest.approx(pk_mean_wait(0.4, 1.5, 4.0), rel=1e-12)


def test_cobham_conservation_law() -> None:
    # Kleinrock: sum_k rho_k W_k = rho * W_FCFS for any work-conserving non-preemptive order.
    lams = np.array([0.1, 0.25, 0.15])
    m, s2 = 1.2, 3.1
    w = cobham_waits(lams, [m] * 3, [s2] * 3)
    rho = lams * m
    assert rho @ w == pytest.approx(rho.sum() * pk_mean_wait(lams.sum(), m, s2), rel=1e-12)
    # Also with unequal service distributions (W_FCFS of the mixed stream).
    means, s2s = np.array([0.5, 1.0, 2.0]), np.array([0.5, 1.5, 9.0])
    lams = np.array([0.3, 0.2, 0.2])
    w = cobham_waits(lams, means, s2s)
    rho = lams * means
    lam = lams.sum()
    fcfs = pk_mean_wait(lam, float(lams @ means) / lam, float(lams @ s2s) / lam)
    assert rho @ w == pytest.approx(rho.sum() * fcfs, rel=1e-12)
    assert np.all(np.diff(w) > 0)


def test_cobham_against_ctmc() -> None:
    lams, mus = [0.3, 0.25], [1.5, 0.8]
    queues = priority_mg1_exp_ctmc(lams, mus, qmax=45)
    w = cobham_waits(lams, [1 / mu for mu in mus], [2 / mu**2 for mu in mus])
    np.testing.assert_allclose(w, queues / np.array(lams), rtol=1e-7)


def test_cobham_mmc_single_class_is_mmc() -> None:
    out = cobham_waits_mmc([3.0], 1.2, 5)
    assert out[0] == pytest.approx(mmc_mean_wait(3.0, 1.2, 5), rel=1e-12)


def test_cobham_mmc_conservation() -> None:
    lams = np.array([1.0, 0.5, 1.5])
    w = cobham_waits_mmc(lams, 1.2, 5)
    assert lams @ w == pytest.approx(lams.sum() * mmc_mean_wait(lams.sum(), 1.2, 5), rel=1e-12)


@pytest.mark.parametrize("c", [1, 2, 3])
def test_cobham_mmc_against_ctmc(c: int) -> None:
    mu = 1.0
    lams = [0.3 * c, 0.25 * c]
    queues = priority_mmc_ctmc(lams, mu, c, qmax=50)
    w = cobham_waits_mmc(lams, 1 / mu, c)
    np.testing.assert_allclose(w, queues / np.array(lams), rtol=1e-7)
    if c == 1:
        np.testing.assert_allclose(cobham_waits(lams, [1.0, 1.0], [2.0, 2.0]), w, rtol=1e-12)


# ----------------------------------------------------------------------------- invalid input


@pytest.mark.parametrize(
    ("func", "args", "kwargs", "shown"),
    [
        (erlang_b, (0, 1.0), {}, "0"),
        (erlang_b, (2.5, 1.0), {}, "2.5"),
        (erlang_b, (True, 1.0), {}, "True"),
        (erlang_b, (3, -1.0), {}, "-1.0"),
        (erlang_b, (3, float("nan")), {}, "nan"),
        (erlang_c, (3, 3.0), {}, "3.0"),
        (erlang_c, (-1, 0.5), {}, "-1"),
        (mmc_mean_wait, (5.0, 1.0, 4), {}, "5.0"),
        (mmc_mean_wait, (1.0, 0.0, 4), {}, "0.0"),
        (mmc_mean_wait, (-1.0, 1.0, 4), {}, "-1.0"),
        (mmc_wait_tail, (1.0, 1.0, 2, -0.5), {}, "-0.5"),
        (mmc_wait_tail, (1.0, 1.0, 2, [0.0, -2.0]), {}, "-2.0"),
        (erlang_a, (0.0, 1.0, 2, 1.0), {}, "0.0"),
        (erlang_a, (1.0, 1.0, 0, 1.0), {}, "0"),
        (erlang_a, (1.0, 1.0, 2, 0.0), {}, "0.0"),
        (erlang_a, (1.0, 1.0, 2, -3.0), {}, "-3.0"),
        (erlang_a, (3.0, 1.0, 2, math.inf), {}, "3.0"),
        (erlang_a, (1.0, 1.0, 2, 1.0), {"max_queue": -1}, "-1"),
        (erlang_a, (1.0, 1.0, 2, 1.0), {"max_queue": 1.5}, "1.5"),
        (pk_mean_wait, (1.0, 1.0, 2.0), {}, "1.0"),
        (pk_mean_wait, (0.5, 1.0, 0.5), {}, "0.5"),
        (cobham_waits, ([0.5, 0.6], [1.0, 1.0], [2.0, 2.0]), {}, "1.1"),
        (cobham_waits, ([0.1, -0.1], [1.0, 1.0], [2.0, 2.0]), {}, "-0.1"),
        (cobham_waits, ([0.1], [1.0, 1.0], [2.0, 2.0]), {}, "1, 2, 2"),
        (cobham_waits, ([], [], []), {}, "[]"),
        (cobham_waits_mmc, ([2.0, 1.5], 1.0, 3), {}, "3.5"),
        (cobham_waits_mmc, ([1.0], 1.0, 0), {}, "0"),
    ],
)
def test_invalid_input(func, args, kwargs, shown: str) -> None:
    with pytest.raises(ValueError, match="got") as info:
        func(*args, **kwargs)
    assert shown in str(info.value)
