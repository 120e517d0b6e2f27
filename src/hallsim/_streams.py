"""numpy's random streams in numba: seeds, ``PCG64`` and the samplers hallsim draws with.
Private: used by :mod:`hallsim.engines.inputs`.

A replication draws every input from its own generator,
``numpy.random.default_rng(SeedSequence(seed).spawn(replications)[r])`` (a ``PCG64`` bit
generator; :mod:`hallsim.runner`). Everything such a generator draws follows from 128-bit
integer arithmetic and a few floating-point formulas, written out here so that one kernel
call draws a step of the draw order for a whole batch of replications, with nothing done per
replication in Python, and still draws, to the bit, what numpy's ``Generator`` draws:

- :func:`seeded`: ``SeedSequence``'s hash mixing of the seed and the spawn key into a 128-bit
  pool, then ``generate_state(4, uint64)`` and ``PCG64``'s seeding (``pcg64_set_seed``);
- :func:`_word`: ``PCG64``'s step (a 128-bit LCG) and output (XSL-RR), in 64-bit halves;
- the samplers: a double is the top 53 bits of a word; ``standard_exponential`` and
  ``standard_normal`` are numpy's ziggurats (the tables are numba's: numba ships numpy's
  ziggurat constants for its own ``Generator`` support, ``numba.np.random._constants``),
  ``gamma`` Marsaglia and Tsang's method, ``poisson`` the multiplication method below 10 and
  PTRS from 10 on, as in ``numpy/random/src/distributions/distributions.c``.

A *cursor* is a generator's state ``[state high, state low, increment high, increment
low]`` (``uint64``); drawing moves it on. ``tests/test_streams.py`` checks every piece
against numpy, value for value.

Only the smallest functions are inlined: inlining the samplers as well makes the first
compilation three times longer (about 35 s against 10 s) for a few milliseconds per 1000
replications. Without the JIT (``NUMBA_DISABLE_JIT=1``) numpy warns of the wrap-around of
64-bit integers that the arithmetic here relies on; the values are the same.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._kernels import arrival_times, assign_categories

try:  # a private module of numba's: without it, numpy draws (see AVAILABLE)
    from numba.np.random._constants import fe_double as FE
    from numba.np.random._constants import fi_double as FI
    from numba.np.random._constants import ke_double as KE
    from numba.np.random._constants import ki_double as KI
    from numba.np.random._constants import we_double as WE
    from numba.np.random._constants import wi_double as WI
    from numba.np.random._constants import ziggurat_exp_r as EXP_R
    from numba.np.random._constants import ziggurat_nor_inv_r as NOR_INV_R
    from numba.np.random._constants import ziggurat_nor_r as NOR_R

    AVAILABLE = True
except ImportError:  # pragma: no cover - a numba that moved them
    FE = FI = WE = WI = np.zeros(256)
    KE = KI = np.zeros(256, dtype=np.uint64)
    EXP_R = NOR_INV_R = NOR_R = 0.0
    AVAILABLE = False
from .distributions import STREAM_FORMS

# Distribution codes (the forms of hallsim.distributions.STREAM_FORMS); NONE: no draw
NONE = -1
DETERMINISTIC, EXPONENTIAL, LOGNORMAL, GAMMA, UNIFORM = (
    STREAM_FORMS.index(name)
    for name in ("deterministic", "exponential", "lognormal", "gamma", "uniform")
)
_U = np.uint64
_MASK32 = _U(0xFFFFFFFF)
# PCG64's multiplier (PCG_DEFAULT_MULTIPLIER_128), high and low halves
_MULTIPLIER_HIGH = _U(2549297995355413924)
_MULTIPLIER_LOW = _U(4865540595714422341)
# SeedSequence's hash constants
_INIT_A, _MULT_A = _U(0x43B0D7E5), _U(0x931E8875)
_INIT_B, _MULT_B = _U(0x8B51F9DD), _U(0x58F38DED)
_MIX_MULT_L, _MIX_MULT_R = _U(0xCA01F9DD), _U(0x4973F715)
_POOL_SIZE = 4

# numpy's random_loggam coefficients
_LOGGAM = np.array(
    [
        8.333333333333333e-02,
        -2.777777777777778e-03,
        7.936507936507937e-04,
        -5.952380952380952e-04,
        8.417508417508418e-04,
        -1.917526917526918e-03,
        6.410256410256410e-03,
        -2.955065359477124e-02,
        1.796443723688307e-01,
        -1.39243221690590e00,
    ]
)


# --------------------------------------------------------------------------- generators

# The helpers that step a generator and draw one value are compiled without reference
# counting, as the event loop's are (see hallsim._kernels.calls): 1.5x faster draws


@njit(cache=True, _nrt=False)
def _hashmix(value, hash_const):
    """SeedSequence's ``hashmix`` on 32-bit words (held in uint64); ``hash_const[0]`` moves
    on."""
    value = (value ^ hash_const[0]) & _MASK32
    hash_const[0] = (hash_const[0] * _MULT_A) & _MASK32
    value = (value * hash_const[0]) & _MASK32
    return value ^ (value >> _U(16))


@njit(cache=True, _nrt=False)
def _mix(x, y):
    """SeedSequence's ``mix`` of two 32-bit words."""
    result = (_MIX_MULT_L * x - _MIX_MULT_R * y) & _MASK32
    return result ^ (result >> _U(16))


@njit(cache=True, _nrt=False)
def _mul_high(a, b):
    """The high 64 bits of the 128-bit product of ``a`` and ``b``."""
    a_low, a_high = a & _MASK32, a >> _U(32)
    b_low, b_high = b & _MASK32, b >> _U(32)
    cross = a_low * b_high
    other = a_high * b_low
    middle = ((a_low * b_low) >> _U(32)) + (cross & _MASK32) + (other & _MASK32)
    return a_high * b_high + (cross >> _U(32)) + (other >> _U(32)) + (middle >> _U(32))


@njit(cache=True, _nrt=False)
def _step(cursor):
    """PCG64's step: state = state x multiplier + increment (mod 2^128)."""
    high, low = cursor[0], cursor[1]
    product = low * _MULTIPLIER_LOW
    high = _mul_high(low, _MULTIPLIER_LOW) + low * _MULTIPLIER_HIGH + high * _MULTIPLIER_LOW
    low = product + cursor[3]
    cursor[0] = high + cursor[2] + (_U(1) if low < product else _U(0))
    cursor[1] = low


@njit(cache=True, _nrt=False)
def _mix_entropy(pool, assembled, hash_const):
    """SeedSequence's ``mix_entropy``: the pool from the assembled entropy."""
    hash_const[0] = _INIT_A
    for i in range(pool.size):
        pool[i] = _hashmix(assembled[i] if i < assembled.size else _U(0), hash_const)
    for i_src in range(pool.size):  # every word of the pool changes every other
        for i_dst in range(pool.size):
            if i_src != i_dst:
                pool[i_dst] = _mix(pool[i_dst], _hashmix(pool[i_src], hash_const))
    for i_src in range(pool.size, assembled.size):  # entropy beyond the pool's size
        for i_dst in range(pool.size):
            pool[i_dst] = _mix(pool[i_dst], _hashmix(assembled[i_src], hash_const))


@njit(cache=True, _nrt=False)
def _set_seed(cursor, pool, words):
    """``PCG64(seed_sequence)``: the first four 64-bit words of the sequence's
    ``generate_state`` (eight 32-bit words from the pool, lowest first) seed the generator:
    the state starts at 0 with an odd increment from the last two, steps, adds the seed
    from the first two, and steps again (``pcg64_set_seed``)."""
    multiplier = _INIT_B
    for i in range(words.size):
        value = pool[i % pool.size] ^ multiplier
        multiplier = (multiplier * _MULT_B) & _MASK32
        value = (value * multiplier) & _MASK32
        words[i] = value ^ (value >> _U(16))
    seed_high = words[0] | (words[1] << _U(32))
    seed_low = words[2] | (words[3] << _U(32))
    sequence_high = words[4] | (words[5] << _U(32))
    sequence_low = words[6] | (words[7] << _U(32))
    cursor[0] = _U(0)
    cursor[1] = _U(0)
    cursor[2] = (sequence_high << _U(1)) | (sequence_low >> _U(63))
    cursor[3] = (sequence_low << _U(1)) | _U(1)
    _step(cursor)
    low = cursor[1] + seed_low
    cursor[0] += seed_high + (_U(1) if low < cursor[1] else _U(0))
    cursor[1] = low
    _step(cursor)


@njit(cache=True)
def seeded(entropy, keys):
    """The cursors of ``PCG64(SeedSequence(entropy, spawn_key=tuple(k)))`` for each row ``k``
    of ``keys`` (words below 2^32; ``(n, 1)``: the generators of
    ``SeedSequence(entropy).spawn(n)``), ``entropy`` given as its 32-bit words, lowest
    first."""
    # the entropy, zeros up to a full pool, then the spawn key (loops: a slice assignment
    # takes seconds to compile)
    size = entropy.size if entropy.size > _POOL_SIZE else _POOL_SIZE
    n_keys, key_size = keys.shape
    assembled = np.zeros(size + key_size, dtype=np.uint64)
    for i in range(entropy.size):
        assembled[i] = entropy[i]
    cursors = np.empty((n_keys, 4), dtype=np.uint64)
    pool = np.empty(_POOL_SIZE, dtype=np.uint64)
    hash_const = np.empty(1, dtype=np.uint64)
    words = np.empty(2 * _POOL_SIZE, dtype=np.uint64)
    for r in range(n_keys):
        for j in range(key_size):
            assembled[size + j] = keys[r, j]
        _mix_entropy(pool, assembled, hash_const)
        _set_seed(cursors[r], pool, words)
    return cursors


@njit(cache=True, _nrt=False)
def _word(cursor):
    """The next raw 64-bit word of a cursor's generator (``random_raw``)."""
    _step(cursor)
    x = cursor[0] ^ cursor[1]
    rotation = cursor[0] >> _U(58)
    return (x >> rotation) | (x << ((_U(64) - rotation) & _U(63)))


# --------------------------------------------------------------------------- one value


@njit(cache=True, _nrt=False)
def _double(cursor):
    """``Generator.random()``: a uniform on [0, 1) from the top 53 bits of a word."""
    return (_word(cursor) >> _U(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, _nrt=False)
def _standard_exponential(cursor):
    """``Generator.standard_exponential()`` (the ziggurat)."""
    while True:
        ri = _word(cursor) >> _U(3)
        idx = np.intp(ri & _U(0xFF))
        ri >>= _U(8)
        x = ri * WE[idx]
        if ri < KE[idx]:
            return x
        if idx == 0:  # the tail
            return EXP_R - np.log1p(-_double(cursor))
        if (FE[idx - 1] - FE[idx]) * _double(cursor) + FE[idx] < np.exp(-x):
            return x


@njit(cache=True, _nrt=False)
def _standard_normal(cursor):
    """``Generator.standard_normal()`` (the ziggurat)."""
    while True:
        r = _word(cursor)
        idx = np.intp(r & _U(0xFF))
        r >>= _U(8)
        sign = r & _U(1)
        rabs = (r >> _U(1)) & _U(0x000FFFFFFFFFFFFF)
        x = rabs * WI[idx]
        if sign:
            x = -x
        if rabs < KI[idx]:
            return x
        if idx == 0:  # the tail
            while True:
                xx = -NOR_INV_R * np.log1p(-_double(cursor))
                yy = -np.log1p(-_double(cursor))
                if yy + yy > xx * xx:
                    if (rabs >> _U(8)) & _U(1):
                        return -(NOR_R + xx)
                    return NOR_R + xx
        elif (FI[idx - 1] - FI[idx]) * _double(cursor) + FI[idx] < np.exp(-0.5 * x * x):
            return x


@njit(cache=True, _nrt=False)
def _standard_gamma(cursor, shape):
    """``Generator.standard_gamma(shape)``."""
    if shape == 1.0:
        return _standard_exponential(cursor)
    if shape == 0.0:
        return 0.0
    if shape < 1.0:
        while True:
            u = _double(cursor)
            v = _standard_exponential(cursor)
            if u <= 1.0 - shape:
                x = u ** (1.0 / shape)
                if x <= v:
                    return x
            else:
                y = -np.log((1 - u) / shape)
                x = (1.0 - shape + shape * y) ** (1.0 / shape)
                if x <= v + y:
                    return x
    b = shape - 1.0 / 3.0
    c = 1.0 / np.sqrt(9 * b)
    while True:
        while True:
            x = _standard_normal(cursor)
            v = 1.0 + c * x
            if v > 0.0:
                break
        v = v * v * v
        u = _double(cursor)
        if u < 1.0 - 0.0331 * (x * x) * (x * x):
            return b * v
        if np.log(u) < 0.5 * x * x + b * (1.0 - v + np.log(v)):
            return b * v


@njit(cache=True, _nrt=False)
def _loggam(x):
    """numpy's ``random_loggam``: log(Gamma(x))."""
    if x == 1.0 or x == 2.0:
        return 0.0
    n = int(7 - x) if x <= 7.0 else 0
    x0 = x + n
    x2 = 1.0 / (x0 * x0)
    gl0 = _LOGGAM[9]
    for k in range(8, -1, -1):
        gl0 *= x2
        gl0 += _LOGGAM[k]
    gl = gl0 / x0 + 0.5 * np.log(2 * np.pi) + (x0 - 0.5) * np.log(x0) - x0
    if x <= 7.0:
        for _ in range(n):
            gl -= np.log(x0 - 1.0)
            x0 -= 1.0
    return gl


@njit(cache=True, _nrt=False)
def _poisson(cursor, lam):
    """``Generator.poisson(lam)``: PTRS from 10 on, multiplication below."""
    if lam >= 10:
        slam = np.sqrt(lam)
        loglam = np.log(lam)
        b = 0.931 + 2.53 * slam
        a = -0.059 + 0.02483 * b
        invalpha = 1.1239 + 1.1328 / (b - 3.4)
        vr = 0.9277 - 3.6224 / (b - 2)
        while True:
            u = _double(cursor) - 0.5
            v = _double(cursor)
            us = 0.5 - np.fabs(u)
            k = np.int64(np.floor((2 * a / us + b) * u + lam + 0.43))
            if us >= 0.07 and v <= vr:
                return k
            if k < 0 or (us < 0.013 and v > us):
                continue
            if (np.log(v) + np.log(invalpha) - np.log(a / (us * us) + b)) <= (
                -lam + k * loglam - _loggam(k + 1)
            ):
                return k
    if lam == 0:
        return 0
    enlam = np.exp(-lam)
    count = 0
    product = 1.0
    while True:
        product *= _double(cursor)
        if product > enlam:
            count += 1
        else:
            return count


@njit(cache=True, _nrt=False)
def _sample(cursor, form, a, b):
    """One value of a distribution in stream form (``hallsim.distributions.STREAM_FORMS``),
    as its ``sample`` draws it: exponential(scale a), lognormal(mu a, sigma b), gamma(shape
    a, scale b), uniform(low a, width b), deterministic (a, no draw)."""
    if form == EXPONENTIAL:
        return a * _standard_exponential(cursor)
    if form == LOGNORMAL:
        return np.exp(a + b * _standard_normal(cursor))
    if form == GAMMA:
        return b * _standard_gamma(cursor, a)
    if form == UNIFORM:
        return a + b * _double(cursor)
    return a


# --------------------------------------------------------------------------- batch steps


@njit(cache=True)
def walk_ins(cursors, expected, bucket_start, bucket_len, cum_prob, guide):
    """Steps 1-3 of the draw order for each replication (cursor): Poisson counts of the
    (day, slot) buckets, exponential spacings, a uniform per ticket for its category.
    Returns the batch's issue times, categories, the counts (a row per replication), and
    where each replication's tickets start."""
    batch = cursors.shape[0]
    counts = np.empty((batch, expected.size), dtype=np.int64)
    ticket_ptr = np.zeros(batch + 1, dtype=np.int64)
    buckets = np.zeros(batch, dtype=np.int64)  # non-empty buckets: each takes one more spacing
    for r in range(batch):
        cursor = cursors[r]
        tickets = 0
        for k in range(expected.size):
            count = _poisson(cursor, expected[k])
            counts[r, k] = count
            tickets += count
            buckets[r] += count > 0
        ticket_ptr[r + 1] = ticket_ptr[r] + tickets
    issued = np.empty(ticket_ptr[batch])
    category = np.empty(ticket_ptr[batch], dtype=np.int64)
    for r in range(batch):
        cursor = cursors[r]
        lo, hi = ticket_ptr[r], ticket_ptr[r + 1]
        spacings = np.empty(hi - lo + buckets[r])
        for j in range(spacings.size):
            spacings[j] = _standard_exponential(cursor)
        uniforms = np.empty(hi - lo)
        for j in range(uniforms.size):
            uniforms[j] = _double(cursor)
        arrival_times(counts[r], bucket_start, bucket_len, spacings, issued[lo:hi])
        assign_categories(counts[r], cum_prob, guide, uniforms, category[lo:hi])
    return issued, category, counts, ticket_ptr


@njit(cache=True)
def uniforms(cursors, counts):
    """``counts[r]`` uniforms from each replication's stream, replication after
    replication."""
    values = np.empty(counts.sum())
    at = 0
    for r in range(cursors.shape[0]):
        cursor = cursors[r]
        for _ in range(counts[r]):
            values[at] = _double(cursor)
            at += 1
    return values


@njit(cache=True)
def durations(cursors, ticket_ptr, key, form, a, b, missing):
    """A value per ticket of its key's distribution (``form[k]``, ``a[k]``, ``b[k]``), drawn
    in each replication key by key, the tickets of a key in issue order (as a ``sample``
    call per key draws them); ``missing`` for tickets of key -1 or of a key of form
    :data:`NONE`."""
    n_keys = form.size
    values = np.full(key.size, missing)
    start = np.empty(n_keys + 1, dtype=np.int64)
    order = np.empty(key.size, dtype=np.int64)
    for r in range(cursors.shape[0]):
        cursor = cursors[r]
        lo, hi = ticket_ptr[r], ticket_ptr[r + 1]
        start[:] = 0  # a counting sort of the replication's tickets by key
        for i in range(lo, hi):
            if key[i] >= 0:
                start[key[i] + 1] += 1
        for k in range(n_keys):
            start[k + 1] += start[k]
        fill = start[:-1].copy()
        for i in range(lo, hi):
            if key[i] >= 0:
                order[fill[key[i]]] = i
                fill[key[i]] += 1
        for k in range(n_keys):
            if form[k] == NONE:
                continue
            for j in range(start[k], start[k + 1]):
                values[order[j]] = _sample(cursor, form[k], a[k], b[k])
    return values
