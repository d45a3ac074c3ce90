"""Bounds-checked-by-caller readers of network-order fields, compiled inline."""

from __future__ import annotations

import numpy as np

from portannot.compiled import njit

#: returned by a layer whose header does not fit in the captured bytes; the kernel
#: turns it into TRUNCATED (the snaplen cut the frame) or MALFORMED (it did not)
SHORT = 100
#: returned by a layer that handed over to the next one
CONTINUE = 255


@njit(cache=True, nogil=True, inline="always")
def be16(buf, p):
    return (np.int64(buf[p]) << 8) | np.int64(buf[p + 1])


@njit(cache=True, nogil=True, inline="always")
def be32(buf, p):
    return (
        (np.int64(buf[p]) << 24)
        | (np.int64(buf[p + 1]) << 16)
        | (np.int64(buf[p + 2]) << 8)
        | np.int64(buf[p + 3])
    )


@njit(cache=True, nogil=True, inline="always")
def le16(buf, p):
    return (np.int64(buf[p + 1]) << 8) | np.int64(buf[p])


@njit(cache=True, nogil=True, inline="always")
def le32(buf, p):
    return (
        (np.int64(buf[p + 3]) << 24)
        | (np.int64(buf[p + 2]) << 16)
        | (np.int64(buf[p + 1]) << 8)
        | np.int64(buf[p])
    )


@njit(cache=True, nogil=True, inline="always")
def mem64(buf, p):
    """Eight bytes as a native little-endian word: stored into a uint64 view of an
    address column, the bytes land in the same (network) order."""
    return (
        np.uint64(buf[p])
        | (np.uint64(buf[p + 1]) << np.uint64(8))
        | (np.uint64(buf[p + 2]) << np.uint64(16))
        | (np.uint64(buf[p + 3]) << np.uint64(24))
        | (np.uint64(buf[p + 4]) << np.uint64(32))
        | (np.uint64(buf[p + 5]) << np.uint64(40))
        | (np.uint64(buf[p + 6]) << np.uint64(48))
        | (np.uint64(buf[p + 7]) << np.uint64(56))
    )


@njit(cache=True, nogil=True, inline="always")
def mem32(buf, p):
    return (
        np.uint64(buf[p])
        | (np.uint64(buf[p + 1]) << np.uint64(8))
        | (np.uint64(buf[p + 2]) << np.uint64(16))
        | (np.uint64(buf[p + 3]) << np.uint64(24))
    )
