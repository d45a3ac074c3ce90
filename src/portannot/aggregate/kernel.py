"""Compiled aggregation of packets into bidirectional flows.

Two structures, so that a packet touches as little memory as possible:

- `rows`: one 128-byte row per flow (16 uint64 words: the key, the counters,
  the times, the creation sequence and eight int32 fields), dense and in the
  order flows were created. Growing it is one copy; draining it is a slice.
- `index`: an open-addressing hash index with linear probing, 8 bytes a slot:
  the upper 32 bits of the key's hash (a tag, so a probe rarely reads a row it
  does not want) and the row number. It doubles when half full, rebuilt from
  the rows.

A flow's key is (transport, lower end, higher end), an end being (address,
port) and "lower" a fixed total order, so both directions of a conversation
meet in one row; counters are kept per direction (0: lower to higher end, 1:
the reverse). Memory grows with flows, never with packets.
"""

from __future__ import annotations

import numpy as np

from portannot import status as S
from portannot.compiled import borrow, kernel, njit, prefetch
from portannot.decode.columns import NO_TCP_HEADER, TCP_FLAG_BITS
from portannot.words import finish64, keyed, mix64

ROW_WORDS = 16
# words of a row (uint64)
W_A0, W_A1, W_B0, W_B1, W_TP = range(5)
W_PK0, W_PK1, W_BY0, W_BY1 = range(5, 9)
W_FIRST, W_LAST, W_SEQ = 9, 10, 11  # int64 values stored as their bits
W_SMALL = 12  # words 12..15 hold N_SMALL int32 fields

(M_FLAGS0, M_FLAGS1, M_VLAN, M_SYN_DIR, M_SYNACK_DIR, M_BITS, M_BASE0,
 M_BASE1) = range(8)  # small = words 12..15 as int32
N_SMALL = 8
# M_BITS: the IP version in bits 0..7, then one bit each
B_FIRST_DIR = 1 << 8  # the first packet went higher end -> lower end (direction 1)
B_CLOSED = 1 << 9  # a FIN or RST was seen
B_BASE0 = 1 << 10  # M_BASE0 holds direction 0's base sequence number (B_BASE0 << 1: 1's)
B_ACK0 = 1 << 12  # direction 0 sent a TCP segment with ACK set (B_ACK0 << 1: direction 1)
# direction 0 sent a TCP header (B_SEGMENT0 << 1: direction 1); a later IP fragment has none
B_SEGMENT0 = 1 << 14
IPV_MASK = 0xFF

EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)
ROW_MASK = np.uint64(0xFFFFFFFF)

TCP_FIN, TCP_SYN, TCP_RST, TCP_ACK = 0x01, 0x02, 0x04, 0x10
TCP = 0

# state: [rows in use, next sequence number, capture clock (ns), hash key (words.hash_key)]
ST_ROWS, ST_SEQ, ST_CLOCK, ST_KEY = 0, 1, 2, 3
#: the capture clock before any packet
CLOCK_UNSET = np.iinfo(np.int64).min
# returned reasons
DONE, GROW = 0, 1
#: how many packets ahead `aggregate` prefetches the index slot it will need
AHEAD = 16


@njit(cache=True, nogil=True, forceinline=True)
def _hash(a0, a1, b0, b1, tp, key):
    """The key's hash, under the table's random `key` (words.hash_key)."""
    return finish64(mix64(mix64(mix64(mix64(keyed(a0, key), a1), b0), b1), tp))


@njit(cache=True, nogil=True, forceinline=True)
def _home(h, mask):
    """The slot a hash starts its probe at: from the hash's upper 32 bits, the ones an
    index entry keeps (_entry), so that a doubled index is filled from the old one
    without the rows (widen_index)."""
    return (h >> np.uint64(32)) & mask


@njit(cache=True, nogil=True, forceinline=True)
def _find(index, rows, h, a0, a1, b0, b1, tp):
    """(slot, row) of the key; row -1 and the empty slot where it belongs if absent."""
    mask = np.uint64(index.shape[0] - 1)
    s = _home(h, mask)
    tag = h >> np.uint64(32)
    while True:
        e = index[s]
        if e == EMPTY:
            return s, -1
        if e >> np.uint64(32) == tag:
            r = np.int64(e & ROW_MASK)
            if (rows[r, W_TP] == tp and rows[r, W_A0] == a0 and rows[r, W_A1] == a1
                    and rows[r, W_B0] == b0 and rows[r, W_B1] == b1):
                return s, r
        s = (s + np.uint64(1)) & mask


@njit(cache=True, nogil=True, forceinline=True)
def _new_syn(rows, small, r, d, seq):
    """Whether a SYN without ACK, sent in direction d of flow r, opens a new connection
    on the same ends rather than repeating the flow's own opening.

    As tshark's tcp.stream: a SYN whose sequence number differs from the base that
    direction started with (its first SYN's number, or one less than its first
    segment's) is a new connection, with or without a FIN or RST between them (ports
    reused after a close we did not capture, a client that gave up and started over);
    one with the same number is a retransmission and stays. A direction without a base
    yet (it has sent nothing, or only segments without flags, taken for ones cut before
    their flags): there a SYN is new only after the flow was closed by FIN or RST, and
    only if tshark would have a base for that side to differ from: the side sent
    segments without flags, or the other side acknowledged something (tshark takes a
    base from the other side's first ACK). With neither, tshark has no base and keeps
    the SYN in the stream (a SYN, a RST without ACK, then a SYN from the other end).
    A later IP fragment the side sent is no segment: it has no TCP header, and tshark,
    with defragmentation off, shows it as data."""
    bits = small[r, M_BITS]
    if bits & (B_BASE0 << d):
        return small[r, M_BASE0 + d] != np.int32(seq)
    if not bits & B_CLOSED:
        return False
    return (bits & ((B_SEGMENT0 << d) | (B_ACK0 << (1 - d)))) != 0


@njit(cache=True, nogil=True, forceinline=True)
def _entry(h, r):
    return ((h >> np.uint64(32)) << np.uint64(32)) | np.uint64(r)


@njit(cache=True, nogil=True, forceinline=True)
def _copy_row(rows, r, out, o):
    for j in range(ROW_WORDS):
        out[o, j] = rows[r, j]


@njit(cache=True, nogil=True, forceinline=True)
def _key(src, dst, transport, ip_version, sport, dport, i):
    """(lower address words, higher address words, version|transport|ports, direction).

    The IP version is part of the key: IPv4 addresses are held as ::ffff:a.b.c.d, so an
    IPv6 packet between IPv4-mapped addresses would otherwise join the IPv4 flow."""
    s0 = src[i, 0]
    s1 = src[i, 1]
    d0 = dst[i, 0]
    d1 = dst[i, 1]
    sp = np.uint64(sport[i])
    dp = np.uint64(dport[i])
    # order the two ends: (address words, port)
    if s0 != d0:
        forward = s0 < d0
    elif s1 != d1:
        forward = s1 < d1
    else:
        forward = sp <= dp
    t = (np.uint64(transport[i]) | (np.uint64(ip_version[i]) << np.uint64(8))) << np.uint64(32)
    if forward:
        return s0, s1, d0, d1, t | (sp << np.uint64(16)) | dp, 0
    return d0, d1, s0, s1, t | (dp << np.uint64(16)) | sp, 1


@kernel(
    "UniTuple(i8, 3)("
    "u8[::1], u8[:, ::1], i4[:, :], i8[::1], u8[:, ::1], u8[:, ::1], u1[::1], u2[::1], "
    "u2[::1], u2[::1], u4[::1], u4[::1], i8[::1], u2[::1], u1[::1], u1[::1], i8, i8, i8, "
    "u8[:, ::1], i8)"
)
def aggregate(index, rows, small, state,
              src, dst, transport, sport, dport, flags, seq, length, ts_ns, vlan, ip_version,
              status, start, idle_ns, active_ns, ended, n_ended):
    """Fold packets[start:] into the table. Flows that end (timeouts, a new SYN: see
    _new_syn) are copied out to `ended` and their row starts the new flow. Stops
    early when the index is half full or the rows are full.

    Timeouts run on the capture clock, the latest timestamp read so far: a flow is
    over once the clock is more than idle_ns past its latest packet or active_ns past
    its first. In a capture whose times only grow that is each packet's own time;
    where a packet comes late, the clock keeps the flows that end, and so the
    result, independent of where batches happen to start (FlowTable's sweep ends
    flows by the same clock).

    `small` is rows[:, W_SMALL:].view(int32). Returns (next packet index, reason,
    flows ended so far); `state` is updated in place.
    """
    index, rows, small, ended = borrow(index), borrow(rows), borrow(small), borrow(ended)
    src, dst = borrow(src), borrow(dst)
    limit = index.shape[0] // 2
    capacity = rows.shape[0]
    mask = np.uint64(index.shape[0] - 1)
    e = n_ended
    n = status.shape[0]
    nrows = state[ST_ROWS]
    clock = state[ST_CLOCK]
    key = np.uint64(state[ST_KEY])
    hashes = np.empty(n, np.uint64)
    for i in range(start, n):
        if status[i] == S.PORTS:
            a0, a1, b0, b1, tp, d = _key(src, dst, transport, ip_version, sport, dport, i)
            hashes[i] = _hash(a0, a1, b0, b1, tp, key)
    for i in range(start, n):
        # AHEAD packets on, bring the index slot in; half as far on, the row it names
        j = i + AHEAD
        if j < n and status[j] == S.PORTS:
            prefetch(index, _home(hashes[j], mask))
        j = i + AHEAD // 2
        if j < n and status[j] == S.PORTS:
            hint = index[_home(hashes[j], mask)]
            if hint != EMPTY:
                r = np.int64(hint & ROW_MASK)
                if r < capacity:
                    prefetch(rows, (r, 0))
                    prefetch(rows, (r, ROW_WORDS - 1))
        if ts_ns[i] > clock:  # every packet moves the clock, ports or not
            clock = ts_ns[i]
        if status[i] != S.PORTS:
            continue
        if nrows >= limit or nrows >= capacity:
            state[ST_ROWS] = nrows
            state[ST_CLOCK] = clock
            return i, GROW, e
        # the key again: a few register operations, cheaper than storing 5 words a packet
        a0, a1, b0, b1, tp, d = _key(src, dst, transport, ip_version, sport, dport, i)
        h = hashes[i]
        f = np.int32(flags[i]) & TCP_FLAG_BITS  # a later fragment's NO_TCP_HEADER: no flags
        ts = ts_ns[i]
        slot, r = _find(index, rows, h, a0, a1, b0, b1, tp)
        fresh = r < 0
        if fresh:
            r = nrows
            nrows += 1
            index[slot] = _entry(h, r)
        else:
            first = np.int64(rows[r, W_FIRST])
            last = np.int64(rows[r, W_LAST])
            if ((idle_ns > 0 and clock - last > idle_ns)
                    or (active_ns > 0 and clock - first > active_ns)
                    or (transport[i] == TCP and (f & TCP_SYN) and not (f & TCP_ACK)
                        and _new_syn(rows, small, r, d, seq[i]))):
                _copy_row(rows, r, ended, e)
                e += 1
                fresh = True
        if fresh:
            rows[r, W_A0] = a0
            rows[r, W_A1] = a1
            rows[r, W_B0] = b0
            rows[r, W_B1] = b1
            rows[r, W_TP] = tp
            rows[r, W_PK0] = 0
            rows[r, W_PK1] = 0
            rows[r, W_BY0] = 0
            rows[r, W_BY1] = 0
            rows[r, W_FIRST] = np.uint64(ts)
            rows[r, W_LAST] = np.uint64(ts)
            rows[r, W_SEQ] = np.uint64(state[ST_SEQ])
            state[ST_SEQ] += 1
            small[r, M_FLAGS0] = 0
            small[r, M_FLAGS1] = 0
            small[r, M_VLAN] = vlan[i]
            small[r, M_SYN_DIR] = -1
            small[r, M_SYNACK_DIR] = -1
            small[r, M_BITS] = np.int32(ip_version[i]) | (B_FIRST_DIR if d else 0)
        rows[r, W_PK0 + d] += np.uint64(1)
        rows[r, W_BY0 + d] += np.uint64(length[i])
        if ts < np.int64(rows[r, W_FIRST]):
            rows[r, W_FIRST] = np.uint64(ts)
        if ts > np.int64(rows[r, W_LAST]):
            rows[r, W_LAST] = np.uint64(ts)
        small[r, M_FLAGS0 + d] |= f
        if transport[i] == TCP:
            if f and not small[r, M_BITS] & (B_BASE0 << d):
                # tshark's base: a SYN's own number, one before any other segment's. Flags
                # 0 is a header cut before its flags (the number is not there either, as
                # tshark reads it) or a later fragment: no number to take
                small[r, M_BASE0 + d] = np.int32(seq[i] - np.uint32(0 if f & TCP_SYN else 1))
                small[r, M_BITS] |= B_BASE0 << d
            if (f & TCP_SYN) and not (f & TCP_ACK):
                if small[r, M_SYN_DIR] < 0:
                    small[r, M_SYN_DIR] = d
            elif (f & TCP_SYN) and (f & TCP_ACK):
                if small[r, M_SYNACK_DIR] < 0:
                    small[r, M_SYNACK_DIR] = d
            if f & (TCP_FIN | TCP_RST):
                small[r, M_BITS] |= B_CLOSED
            if f & TCP_ACK:
                small[r, M_BITS] |= B_ACK0 << d
            if flags[i] != NO_TCP_HEADER:
                small[r, M_BITS] |= B_SEGMENT0 << d
    state[ST_ROWS] = nrows
    state[ST_CLOCK] = clock
    return n, DONE, e


@kernel("none(u8[:, ::1], i8, u8[::1], i8)")
def build_index(rows, n, index, key):
    """Fill an empty index with rows[:n], hashed under `key`."""
    rows, index = borrow(rows), borrow(index)
    k = np.uint64(key)
    for r in range(n):
        h = _hash(rows[r, W_A0], rows[r, W_A1], rows[r, W_B0], rows[r, W_B1], rows[r, W_TP], k)
        slot, _ = _find(index, rows, h, rows[r, W_A0], rows[r, W_A1], rows[r, W_B0],
                        rows[r, W_B1], rows[r, W_TP])
        index[slot] = _entry(h, r)


@kernel("none(u8[::1], u8[::1])")
def widen_index(old, new):
    """Fill an empty index of twice the slots with the entries of `old`, rows unchanged.

    An entry holds its hash's upper half, which gives its home slot (_home), so the
    rows are not read nor hashed again; and taken in slot order, the entries land in
    two runs of the new index (home s or s + the old size), not at random: growing a
    million flows' index cost 57-61 ms of portannot.flows() on flows-1m, mostly cache
    misses, when build_index rebuilt it from the rows."""
    old, new = borrow(old), borrow(new)
    mask = np.uint64(new.shape[0] - 1)
    for i in range(old.shape[0]):
        e = old[i]
        if e == EMPTY:
            continue
        s = _home(e, mask)
        while new[s] != EMPTY:
            s = (s + np.uint64(1)) & mask
        new[s] = e


@kernel("UniTuple(i8, 2)(u8[:, ::1], i8, i8, i8, i8, u8[:, ::1])")
def evict_ended(rows, n, now, idle_ns, active_ns, ended):
    """Copy out every flow the clock `now` has ended (idle for longer than idle_ns, or
    begun more than active_ns ago; 0 is no such timeout), as `aggregate` would on the
    flow's next packet, and close the gaps, keeping the others' order. Returns (rows
    kept, flows copied out); the index must be rebuilt."""
    rows, ended = borrow(rows), borrow(ended)
    kept = 0
    e = 0
    for r in range(n):
        if ((idle_ns > 0 and now - np.int64(rows[r, W_LAST]) > idle_ns)
                or (active_ns > 0 and now - np.int64(rows[r, W_FIRST]) > active_ns)):
            _copy_row(rows, r, ended, e)
            e += 1
        else:
            if kept != r:
                _copy_row(rows, r, rows, kept)
            kept += 1
    return kept, e


# direction bases, as indices into rules.DIRECTION_BASES
BASIS_SYN, BASIS_SYNACK, BASIS_FIRST_PACKET = 0, 1, 2


@kernel(
    "none("
    "u8[:, ::1], i4[:, :], u1[::1], u1[::1], u8[:, ::1], u2[::1], u8[:, ::1], u2[::1], "
    "u1[::1], i8[::1], i8[::1], i8[::1], i8[::1], i8[::1], i8[::1], u2[::1], u2[::1], "
    "u2[::1], i8[::1])"
)
def orient(rows, small, transport, ip_version, orig_addr, orig_port, resp_addr, resp_port,
           direction_basis, first_ts, last_ts, orig_packets, orig_bytes, resp_packets,
           resp_bytes, orig_flags, resp_flags, vlan, flow_id):
    """Per flow: pick the originator by the direction rule, then lay the canonical
    (lower, higher) ends and direction-0/1 counters out as originator/responder."""
    for k in range(rows.shape[0]):
        syn = small[k, M_SYN_DIR]
        synack = small[k, M_SYNACK_DIR]
        if syn >= 0:  # the SYN's sender
            basis, lower = BASIS_SYN, syn == 0
        elif synack >= 0:  # the SYN+ACK's receiver
            basis, lower = BASIS_SYNACK, synack == 1
        else:  # the first packet's sender
            basis, lower = BASIS_FIRST_PACKET, not small[k, M_BITS] & B_FIRST_DIR
        tp = rows[k, W_TP]
        ports = (np.uint16((tp >> np.uint64(16)) & np.uint64(0xFFFF)),
                 np.uint16(tp & np.uint64(0xFFFF)))
        if (ports[0] == ports[1] and rows[k, W_A0] == rows[k, W_B0]
                and rows[k, W_A1] == rows[k, W_B1]):
            # one end talking to itself (a LAND packet): its packets all count in the
            # direction they were counted in, originator to responder, whatever the basis
            lower = True
        o, r = (0, 1) if lower else (1, 0)
        transport[k] = np.uint8((tp >> np.uint64(32)) & np.uint64(0xFF))
        ip_version[k] = small[k, M_BITS] & IPV_MASK
        orig_addr[k, 0] = rows[k, W_A0 + 2 * o]
        orig_addr[k, 1] = rows[k, W_A1 + 2 * o]
        resp_addr[k, 0] = rows[k, W_A0 + 2 * r]
        resp_addr[k, 1] = rows[k, W_A1 + 2 * r]
        orig_port[k] = ports[o]
        resp_port[k] = ports[r]
        direction_basis[k] = basis
        first_ts[k] = np.int64(rows[k, W_FIRST])
        last_ts[k] = np.int64(rows[k, W_LAST])
        orig_packets[k] = np.int64(rows[k, W_PK0 + o])
        orig_bytes[k] = np.int64(rows[k, W_BY0 + o])
        resp_packets[k] = np.int64(rows[k, W_PK0 + r])
        resp_bytes[k] = np.int64(rows[k, W_BY0 + r])
        orig_flags[k] = small[k, M_FLAGS0 + o]
        resp_flags[k] = small[k, M_FLAGS0 + r]
        vlan[k] = small[k, M_VLAN]
        flow_id[k] = np.int64(rows[k, W_SEQ]) + 1
