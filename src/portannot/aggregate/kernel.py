"""Compiled aggregation of packets into bidirectional flows.

An open-addressing hash table with linear probing, held in a few numpy arrays.
A flow's key is (transport, lower end, higher end), an end being
(address, port) and "lower" a fixed total order, so both directions of a
conversation meet in one slot; counters are kept per direction (0: lower to
higher end, 1: the reverse). The table doubles when half full; it is the only
state that grows, and it grows with flows, never with packets.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from portannot import status as S

# columns of `keys` (uint64)
K_A0, K_A1, K_B0, K_B1, K_TP = range(5)
# columns of `counts` (uint64)
C_PK0, C_PK1, C_BY0, C_BY1 = range(4)
# columns of `times` (int64)
T_FIRST, T_LAST = range(2)
# columns of `small` (int32)
(M_LIVE, M_FLAGS0, M_FLAGS1, M_VLAN, M_FIRST_DIR, M_SYN_DIR, M_SYNACK_DIR, M_CLOSED,
 M_IPV) = range(9)
N_SMALL = 9

TCP_FIN, TCP_SYN, TCP_RST, TCP_ACK = 0x01, 0x02, 0x04, 0x10
TCP = 0

# returned reasons
DONE, GROW = 0, 1


@njit(cache=True, nogil=True, forceinline=True)
def _hash(a0, a1, b0, b1, tp):
    m = np.uint64(0x9E3779B97F4A7C15)
    h = (a0 * m) ^ a1
    h = (h * m) ^ b0
    h = (h * m) ^ b1
    h = (h * m) ^ tp
    h ^= h >> np.uint64(31)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    return h ^ (h >> np.uint64(29))


@njit(cache=True, nogil=True, forceinline=True)
def _find(keys, small, mask, a0, a1, b0, b1, tp):
    """Slot holding the key, or the empty slot where it belongs."""
    s = np.int64(_hash(a0, a1, b0, b1, tp) & np.uint64(mask))
    while True:
        if small[s, M_LIVE] == 0:
            return s
        if (keys[s, K_TP] == tp and keys[s, K_A0] == a0 and keys[s, K_A1] == a1
                and keys[s, K_B0] == b0 and keys[s, K_B1] == b1):
            return s
        s = (s + 1) & mask


@njit(cache=True, nogil=True, forceinline=True)
def _copy_slot(keys, counts, times, small, seq, s, okeys, ocounts, otimes, osmall, oseq, o):
    for j in range(5):
        okeys[o, j] = keys[s, j]
    for j in range(4):
        ocounts[o, j] = counts[s, j]
    otimes[o, 0] = times[s, 0]
    otimes[o, 1] = times[s, 1]
    for j in range(N_SMALL):
        osmall[o, j] = small[s, j]
    oseq[o] = seq[s]


@njit(cache=True, nogil=True)
def aggregate(keys, counts, times, small, seq, used, next_seq,
              src, dst, transport, sport, dport, flags, length, ts_ns, vlan, ip_version, status,
              start, idle_ns, active_ns,
              ekeys, ecounts, etimes, esmall, eseq, n_ended):
    """Fold packets[start:] into the table. Flows that end (timeouts, a new SYN after
    FIN/RST) are copied out to the e* arrays. Stops early when the table must grow.

    Returns (next packet index, reason, flows ended so far). `used` and `next_seq`
    are one-element arrays updated in place.
    """
    mask = keys.shape[0] - 1
    limit = keys.shape[0] // 2
    e = n_ended
    n = status.shape[0]
    for i in range(start, n):
        if status[i] != S.PORTS:
            continue
        if used[0] >= limit:
            return i, GROW, e
        s0 = src[i, 0]
        s1 = src[i, 1]
        d0 = dst[i, 0]
        d1 = dst[i, 1]
        sp = np.uint64(sport[i])
        dp = np.uint64(dport[i])
        # order the two ends: (address words, port)
        forward = True
        if s0 != d0:
            forward = s0 < d0
        elif s1 != d1:
            forward = s1 < d1
        else:
            forward = sp <= dp
        if forward:
            a0, a1, b0, b1 = s0, s1, d0, d1
            tp = (np.uint64(transport[i]) << np.uint64(32)) | (sp << np.uint64(16)) | dp
            d = 0
        else:
            a0, a1, b0, b1 = d0, d1, s0, s1
            tp = (np.uint64(transport[i]) << np.uint64(32)) | (dp << np.uint64(16)) | sp
            d = 1
        f = np.int32(flags[i])
        ts = ts_ns[i]
        slot = _find(keys, small, mask, a0, a1, b0, b1, tp)
        if small[slot, M_LIVE]:
            ends = False
            if idle_ns > 0 and ts - times[slot, T_LAST] > idle_ns or active_ns > 0 and ts - times[slot, T_FIRST] > active_ns or (transport[i] == TCP and small[slot, M_CLOSED]
                  and (f & TCP_SYN) and not (f & TCP_ACK)):
                ends = True
            if ends:
                _copy_slot(keys, counts, times, small, seq, slot,
                           ekeys, ecounts, etimes, esmall, eseq, e)
                e += 1
                small[slot, M_LIVE] = 0
                used[0] -= 1
        if small[slot, M_LIVE] == 0:
            keys[slot, K_A0] = a0
            keys[slot, K_A1] = a1
            keys[slot, K_B0] = b0
            keys[slot, K_B1] = b1
            keys[slot, K_TP] = tp
            for j in range(4):
                counts[slot, j] = 0
            times[slot, T_FIRST] = ts
            times[slot, T_LAST] = ts
            small[slot, M_LIVE] = 1
            small[slot, M_FLAGS0] = 0
            small[slot, M_FLAGS1] = 0
            small[slot, M_VLAN] = vlan[i]
            small[slot, M_FIRST_DIR] = d
            small[slot, M_SYN_DIR] = -1
            small[slot, M_SYNACK_DIR] = -1
            small[slot, M_CLOSED] = 0
            small[slot, M_IPV] = ip_version[i]
            seq[slot] = next_seq[0]
            next_seq[0] += 1
            used[0] += 1
        counts[slot, d] += 1
        counts[slot, 2 + d] += np.uint64(length[i])
        if ts < times[slot, T_FIRST]:
            times[slot, T_FIRST] = ts
        if ts > times[slot, T_LAST]:
            times[slot, T_LAST] = ts
        small[slot, M_FLAGS0 + d] |= f
        if transport[i] == TCP:
            if (f & TCP_SYN) and not (f & TCP_ACK):
                if small[slot, M_SYN_DIR] < 0:
                    small[slot, M_SYN_DIR] = d
            elif (f & TCP_SYN) and (f & TCP_ACK):
                if small[slot, M_SYNACK_DIR] < 0:
                    small[slot, M_SYNACK_DIR] = d
            if f & (TCP_FIN | TCP_RST):
                small[slot, M_CLOSED] = 1
    return n, DONE, e


@njit(cache=True, nogil=True)
def rehash(keys, counts, times, small, seq, nkeys, ncounts, ntimes, nsmall, nseq):
    mask = nkeys.shape[0] - 1
    for s in range(keys.shape[0]):
        if small[s, M_LIVE] == 0:
            continue
        t = _find(nkeys, nsmall, mask, keys[s, K_A0], keys[s, K_A1], keys[s, K_B0],
                  keys[s, K_B1], keys[s, K_TP])
        _copy_slot(keys, counts, times, small, seq, s, nkeys, ncounts, ntimes, nsmall, nseq, t)


@njit(cache=True, nogil=True)
def evict_idle(keys, counts, times, small, seq, now, idle_ns,
               ekeys, ecounts, etimes, esmall, eseq):
    """Copy out and clear every flow idle for longer than idle_ns; returns how many.
    The caller rehashes afterwards, since clearing breaks probe chains."""
    e = 0
    for s in range(keys.shape[0]):
        if small[s, M_LIVE] and now - times[s, T_LAST] > idle_ns:
            _copy_slot(keys, counts, times, small, seq, s, ekeys, ecounts, etimes, esmall, eseq, e)
            e += 1
            small[s, M_LIVE] = 0
    return e


@njit(cache=True, nogil=True)
def drain_in_order(keys, counts, times, small, seq, first_seq, slot_of,
                   okeys, ocounts, otimes, osmall, oseq):
    """Copy every live flow out in creation order: a scatter by sequence number into
    `slot_of` (length = sequence numbers in use since `first_seq`), then one pass."""
    for i in range(slot_of.shape[0]):
        slot_of[i] = -1
    for s in range(keys.shape[0]):
        if small[s, M_LIVE]:
            slot_of[seq[s] - first_seq] = s
    o = 0
    for i in range(slot_of.shape[0]):
        s = slot_of[i]
        if s >= 0:
            _copy_slot(keys, counts, times, small, seq, s, okeys, ocounts, otimes, osmall, oseq, o)
            o += 1
    return o
