"""borrow(): a compiled function sees the same array, without reference counting
(numba.core.unsafe.refcount.get_refcount reads the count inside compiled code)."""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.core.unsafe.refcount import get_refcount

from portannot.borrow import borrow


@njit
def _total(a):
    return _sum(borrow(a))


@njit
def _sum(b):
    s = 0
    for i in range(b.shape[0]):
        s += b[i]
    return s


@njit
def _double_rows(a):
    b = borrow(a)
    for i in range(b.shape[0]):
        for j in range(b.shape[1]):
            b[i, j] *= 2


def test_reads_and_writes_reach_the_array():
    a = np.arange(1000, dtype=np.int64)
    assert _total(a) == int(a.sum())
    m = np.arange(12, dtype=np.uint32).reshape(3, 4)[:, 1:]  # a strided view
    _double_rows(m)
    np.testing.assert_array_equal(m, np.arange(12).reshape(3, 4)[:, 1:] * 2)


@njit
def _held(a, n):
    """n references to `a` held at once (a list of n bindings), and `a`'s count then."""
    keep = [a]
    for _ in range(n - 1):
        keep.append(a)
    return get_refcount(a), _sum(keep[-1])


@njit
def _held_borrowed(a, n):
    keep = [borrow(a)]
    for _ in range(n - 1):
        keep.append(borrow(a))
    return get_refcount(a), _sum(keep[-1])


def test_a_borrowed_binding_is_not_counted():
    """What borrow() is for: binding a borrowed array adds nothing to the count of
    references to the array's memory (numba's meminfo), where a plain binding adds
    one each; the borrowed bindings still read the array."""
    a = np.arange(10, dtype=np.int64)
    total = int(a.sum())
    plain = {n: _held(a, n) for n in (1, 10, 100)}
    borrowed = {n: _held_borrowed(a, n) for n in (1, 10, 100)}
    assert all(s == total for _, s in (*plain.values(), *borrowed.values()))
    base = plain[1][0] - 1  # the count without any binding of the list's
    assert {n: c for n, (c, _) in plain.items()} == {n: base + n for n in plain}
    assert {n: c for n, (c, _) in borrowed.items()} == dict.fromkeys(borrowed, base)
