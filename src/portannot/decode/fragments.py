"""Ports for later IP fragments, remembered from their first fragment.

A fixed-size, set-associative table keyed by (IP version, source, destination,
protocol (IPv4's only), identification): memory stays bounded whatever the capture holds; when a set is
full the oldest entry gives way, which only costs a later fragment its ports.

An identification names one datagram at a time, and is used again for others: each
entry is the latest first fragment's datagram. Once that datagram's last fragment
(MF=0) has been seen, the entry also holds where the datagram ends (`end`, in bytes;
0 while unknown), and a later fragment that starts there or beyond belongs to another
datagram whose first fragment was not seen. A first fragment that gives no ports (cut,
ending before them, of a protocol without any) leaves an entry without a transport
(T.NONE): its later fragments get none, not an older datagram's.
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
        self.end = np.zeros(slots, dtype=np.int64)  # where the datagram ends; 0: not known
        self.stamp = np.zeros(slots, dtype=np.int64)  # 0: empty
        self.clock = np.ones(1, dtype=np.int64)


@njit(cache=True, nogil=True, forceinline=True)
def _key(src, dst, i, version, proto, ident, out):
    """The datagram's key in `out`, and its hash. The IP version is part of it: IPv4
    addresses are held as ::ffff:a.b.c.d, so an IPv6 fragment between IPv4-mapped
    addresses would otherwise find an IPv4 datagram's ports. The protocol is IPv4's
    only: an IPv6 datagram's fragments may name different next headers, the first
    fragment's alone counting (RFC 8200 4.5), so IPv6 reassembly keys by addresses and
    identification."""
    if version == 6:
        proto = 0
    out[0] = src[i, 0]
    out[1] = src[i, 1]
    out[2] = dst[i, 0]
    out[3] = dst[i, 1]
    out[4] = ((np.uint64(version) << np.uint64(40)) | (np.uint64(proto) << np.uint64(32))
              | np.uint64(ident))
    return finish64(mix64(mix64(mix64(mix64(out[0], out[1]), out[2]), out[3]), out[4]))


@njit(cache=True, nogil=True, forceinline=True)
def remember(keys, ports, transport, end, stamp, clock, src, dst, i, version, proto, ident, code,
             sport, dport, key):
    """A first fragment's datagram, in its key's slot (the oldest of the set gives way).
    `code` T.NONE (with ports 0) records a first fragment without ports."""
    h = _key(src, dst, i, version, proto, ident, key)
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
    end[victim] = 0
    stamp[victim] = clock[0]
    clock[0] += 1


@njit(cache=True, nogil=True, forceinline=True)
def recall(keys, ports, transport, stamp, src, dst, i, version, proto, ident, key):
    """Slot of the first fragment's entry, or -1."""
    h = _key(src, dst, i, version, proto, ident, key)
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
