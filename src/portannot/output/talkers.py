"""Bytes sent and received, and flows, per address over all flows: the summary's top
talkers, tallied in a compiled hash table as pieces of flows arrive.

A million flows have up to two million addresses; hashing them in pyarrow (a
dictionary encoding of 17-byte keys) took 0.3 s, numpy's sort-based unique more.
"""

from __future__ import annotations

import numpy as np

from portannot.compiled import kernel, njit
from portannot.words import finish64, hash_key, keyed, mix64

#: columns of the key table: IP version, the two address words
K_VERSION, K_W0, K_W1 = 0, 1, 2
#: columns of the sums table
S_SENT, S_RECEIVED, S_FLOWS = 0, 1, 2
EMPTY = -1


@njit(cache=True, nogil=True, forceinline=True)
def _slot(index, keys, version, w0, w1, key):
    """The index slot holding the address's row, or the empty slot where it belongs;
    hashed under the tally's random `key` (words.hash_key)."""
    h = finish64(mix64(keyed(mix64(version, w0), key), w1))
    mask = np.uint64(index.shape[0] - 1)
    s = h & mask
    while True:
        r = index[s]
        if r == EMPTY or (keys[r, K_W1] == w1 and keys[r, K_W0] == w0
                          and keys[r, K_VERSION] == version):
            return s
        s = (s + np.uint64(1)) & mask


@njit(cache=True, nogil=True, forceinline=True)
def _row(index, keys, count, version, w0, w1, key):
    """(row of the address, rows in use): a new row at the end when it is not there yet."""
    s = _slot(index, keys, version, w0, w1, key)
    r = index[s]
    if r != EMPTY:
        return r, count
    index[s] = count
    keys[count, K_VERSION] = version
    keys[count, K_W0] = w0
    keys[count, K_W1] = w1
    return count, count + 1


@kernel("i8(u8[:, ::1], u8[:, ::1], u1[::1], i8[::1], i8[::1], i8[::1], u8[:, ::1], "
        "i8[:, ::1], i8, i8)")
def tally_flows(orig, resp, version, orig_bytes, resp_bytes, index, keys, sums, count, key):
    """Add each flow to both its addresses; returns the rows in use. The caller makes
    room first: `index` at least twice, `keys` and `sums` once, the rows there may be."""
    k = np.uint64(key)
    for i in range(version.shape[0]):
        v = np.uint64(version[i])
        o, count = _row(index, keys, count, v, orig[i, 0], orig[i, 1], k)
        r, count = _row(index, keys, count, v, resp[i, 0], resp[i, 1], k)
        sums[o, S_SENT] += orig_bytes[i]
        sums[o, S_RECEIVED] += resp_bytes[i]
        sums[o, S_FLOWS] += 1
        sums[r, S_SENT] += resp_bytes[i]
        sums[r, S_RECEIVED] += orig_bytes[i]
        if r != o:  # a flow between two ports of one address is one of its flows, not two
            sums[r, S_FLOWS] += 1
    return count


@kernel("none(u8[:, ::1], i8, i8[::1], i8)")
def reindex(keys, count, index, key):
    """Fill an empty index with the rows in use (after it grew)."""
    k = np.uint64(key)
    for r in range(count):
        index[_slot(index, keys, keys[r, K_VERSION], keys[r, K_W0], keys[r, K_W1], k)] = r


class TalkerTally:
    """Per-address sums over every flow added."""

    def __init__(self, capacity: int = 1 << 12) -> None:
        self.count = 0
        self.keys = np.zeros((capacity, 3), np.uint64)
        self.sums = np.zeros((capacity, 3), np.int64)
        self.index = np.full(2 * capacity, EMPTY, np.int64)
        self.key = hash_key()

    def add(self, orig: np.ndarray, resp: np.ndarray, version: np.ndarray,
            orig_bytes: np.ndarray, resp_bytes: np.ndarray) -> None:
        self._make_room(self.count + 2 * len(version))
        self.count = tally_flows(np.ascontiguousarray(orig), np.ascontiguousarray(resp),
                                 np.ascontiguousarray(version, np.uint8), orig_bytes,
                                 resp_bytes, self.index, self.keys, self.sums, self.count,
                                 self.key)

    def _make_room(self, rows: int) -> None:
        capacity = self.keys.shape[0]
        if rows <= capacity:
            return
        while capacity < rows:
            capacity *= 2
        keys = np.zeros((capacity, 3), np.uint64)
        sums = np.zeros((capacity, 3), np.int64)
        keys[: self.count] = self.keys[: self.count]
        sums[: self.count] = self.sums[: self.count]
        self.keys, self.sums = keys, sums
        self.index = np.full(2 * capacity, EMPTY, np.int64)
        reindex(self.keys, self.count, self.index, self.key)
