"""Binary heaps of (time, id) pairs, ties broken by the smaller id, and ring-buffer positions:
the event loop's timetables and queues."""

from __future__ import annotations

from numba import njit

# Compiled without reference counting, as the call helpers are (see hallsim._kernels.calls)


@njit(cache=True, _nrt=False)
def _before(t1, i1, t2, i2):
    return t1 < t2 or (t1 == t2 and i1 < i2)


@njit(cache=True, _nrt=False)
def _heap_push(keys, ids, n, t, i):
    j = n
    while j > 0:
        parent = (j - 1) >> 1
        if _before(keys[parent], ids[parent], t, i):
            break
        keys[j] = keys[parent]
        ids[j] = ids[parent]
        j = parent
    keys[j] = t
    ids[j] = i
    return n + 1


@njit(cache=True, _nrt=False)
def _heap_pop(keys, ids, n):
    """Remove the root (read it before calling); returns the new size.

    The sift-down loop is written out here, in :func:`_heap_replace_top` and in the FCFS
    kernel: sharing one helper made the event loop 12-15 % slower (numba's nested inlining).
    """
    n -= 1
    if n == 0:
        return 0
    t = keys[n]
    i = ids[n]
    j = 0
    while True:
        child = 2 * j + 1
        if child >= n:
            break
        if child + 1 < n and _before(keys[child + 1], ids[child + 1], keys[child], ids[child]):
            child += 1
        if _before(keys[child], ids[child], t, i):
            keys[j] = keys[child]
            ids[j] = ids[child]
            j = child
        else:
            break
    keys[j] = t
    ids[j] = i
    return n


@njit(cache=True, _nrt=False)
def _wrap(position, size):
    """``position % size`` for 0 <= position < 2 * size, without a division."""
    return position - size if position >= size else position


@njit(cache=True, _nrt=False)
def _heap_replace_top(keys, ids, n, t, i):
    """Replace the root by (t, i) and restore the heap (a pop and a push in one sift)."""
    j = 0
    while True:
        child = 2 * j + 1
        if child >= n:
            break
        if child + 1 < n and _before(keys[child + 1], ids[child + 1], keys[child], ids[child]):
            child += 1
        if _before(keys[child], ids[child], t, i):
            keys[j] = keys[child]
            ids[j] = ids[child]
            j = child
        else:
            break
    keys[j] = t
    ids[j] = i
