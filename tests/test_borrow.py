"""borrow(): a compiled function sees the same array, without reference counting."""

from __future__ import annotations

import sys

import numpy as np
from numba import njit

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


def test_the_callers_reference_count_is_untouched():
    a = np.ones(10, dtype=np.int64)
    before = sys.getrefcount(a)
    for _ in range(1000):
        _total(a)
    assert sys.getrefcount(a) == before
