"""Ports for later IP fragments, remembered from their first fragment.

A fixed-size, set-associative table keyed by (source, destination, protocol,
identification): memory stays bounded whatever the capture holds; when a set is
full the oldest entry gives way, which only costs a later fragment its ports.
"""

from __future__ import annotations

import numpy as np

from portannot.compiled import njit
from portannot.words import finish64, mix64

SLOTS = 1 << 16
WAYS = 8


class FragmentTable:
    def __init__(self, slots: int = SLOTS) -> None:
        self.keys = np.zeros((slots, 5), dtype=np.uint64)
        self.ports = np.zeros(slots, dtype=np.uint32)
        self.transport = np.zeros(slots, dtype=np.uint8)
        self.stamp = np.zeros(slots, dtype=np.int64)  # 0: empty
        self.clock = np.ones(1, dtype=np.int64)


@njit(cache=True, nogil=True, forceinline=True)
def _key(src, dst, i, proto, ident, out):
    out[0] = src[i, 0]
    out[1] = src[i, 1]
    out[2] = dst[i, 0]
    out[3] = dst[i, 1]
    out[4] = (np.uint64(proto) << np.uint64(32)) | np.uint64(ident)
    return finish64(mix64(mix64(mix64(mix64(out[0], out[1]), out[2]), out[3]), out[4]))


@njit(cache=True, nogil=True, forceinline=True)
def remember(keys, ports, transport, stamp, clock, src, dst, i, proto, ident, code, sport, dport, key):
    h = _key(src, dst, i, proto, ident, key)
    mask = keys.shape[0] - 1
    victim = -1
    oldest = np.int64(1) << np.int64(62)
    for w in range(WAYS):
        s = (np.int64(h) + w) & mask
        same = stamp[s] != 0
        for j in range(5):
            if keys[s, j] != key[j]:
                same = False
        if same or stamp[s] == 0:
            victim = s
            break
        if stamp[s] < oldest:
            oldest = stamp[s]
            victim = s
    for j in range(5):
        keys[victim, j] = key[j]
    ports[victim] = (np.uint32(sport) << 16) | np.uint32(dport)
    transport[victim] = code
    stamp[victim] = clock[0]
    clock[0] += 1


@njit(cache=True, nogil=True, forceinline=True)
def recall(keys, ports, transport, stamp, src, dst, i, proto, ident, key):
    """Slot of the first fragment's entry, or -1."""
    h = _key(src, dst, i, proto, ident, key)
    mask = keys.shape[0] - 1
    for w in range(WAYS):
        s = (np.int64(h) + w) & mask
        if stamp[s] == 0:
            continue
        same = True
        for j in range(5):
            if keys[s, j] != key[j]:
                same = False
                break
        if same:
            return s
    return -1
