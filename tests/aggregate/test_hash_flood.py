"""Captures aimed at one hash slot: the flow table and the talker tally hash under a
random key (words.hash_key), so a capture cannot choose where its keys land.

Without the key the hash is invertible: given the other words, the last address word
that sends a key to any chosen hash can be solved for, and a capture of N such flows
made every new flow probe past all the others (160,000 took minutes where ordinary
flows take 0.1 s). The tests build such keys, show that the hash without a key sends
them all to one value, and that the tables' clusters stay short with it."""

from __future__ import annotations

import numpy as np

from portannot.aggregate import FlowTable
from portannot.aggregate import kernel as K
from portannot.decode import NO_VLAN, PacketBatch
from portannot.output.talkers import EMPTY as TALLY_EMPTY
from portannot.output.talkers import TalkerTally, _slot
from portannot.status import Status
from portannot.words import GOLDEN, keyed

N = 4000
C = np.uint64(0x0123456789ABCDEF)
UDP, V6 = 1, 6


def longest_cluster(occupied: np.ndarray) -> int:
    """The longest run of occupied slots: how far a linear probe may have to walk."""
    edges = np.diff(np.concatenate(([0], occupied.astype(np.int8), [0])))
    return int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max())


def without_key(word: np.uint64) -> np.uint64:
    """words.keyed with the key 0: what the hash does with its first word(s) when it has
    no key, here to solve for the words that follow."""
    return np.uint64(keyed(np.uint64(word), np.uint64(0)))


def aimed_flows() -> tuple[np.ndarray, np.ndarray, np.uint64]:
    """Source and destination address words ((N, 2) uint64) of N IPv6/UDP flows, port
    40000 to 53, that all hash alike without a key; and their key's last word."""
    tp = (np.uint64(UDP | (V6 << 8)) << np.uint64(32)) | np.uint64((40000 << 16) | 53)
    with np.errstate(over="ignore"):
        a0 = np.arange(1, N + 1, dtype=np.uint64)
        a1 = np.zeros(N, np.uint64)
        b0 = np.full(N, 0xFFFFFFFFFFFFFF00, np.uint64)
        first = np.array([without_key(w) for w in a0], np.uint64)
        b1 = ((first * GOLDEN ^ a1) * GOLDEN ^ b0) * GOLDEN ^ C  # the state then is C
    return np.stack([a0, a1], 1), np.stack([b0, b1], 1), tp


def packets(src: np.ndarray, dst: np.ndarray) -> PacketBatch:
    n = len(src)
    b = PacketBatch.empty(n)
    b.number = np.arange(1, n + 1, dtype=np.int64)
    b.ts_ns = np.arange(n, dtype=np.int64) + 1_700_000_000 * 10**9
    b.length = np.full(n, 70, np.uint32)
    b.caplen = b.length.copy()
    b.interface = np.zeros(n, np.uint32)
    b.linktype = np.ones(n, np.uint16)
    b.vlan = np.full(n, NO_VLAN, np.uint16)
    b.ip_version = np.full(n, V6, np.uint8)
    b.ip_proto = np.full(n, 17, np.uint8)
    b.src_addr = np.ascontiguousarray(src).view(np.uint8).reshape(n, 16)
    b.dst_addr = np.ascontiguousarray(dst).view(np.uint8).reshape(n, 16)
    b.transport = np.full(n, UDP, np.uint8)
    b.src_port = np.full(n, 40000, np.uint16)
    b.dst_port = np.full(n, 53, np.uint16)
    b.tcp_flags = np.zeros(n, np.uint16)
    b.tcp_seq = np.zeros(n, np.uint32)
    b.status = np.full(n, Status.PORTS, np.uint8)
    return b


def test_flows_aimed_at_one_slot_spread_under_the_tables_key():
    src, dst, tp = aimed_flows()
    table = FlowTable()
    ended = table.update(packets(src, dst))
    assert len(ended) == 0 and len(table) == N
    rows = table.rows[:N]
    with np.errstate(over="ignore"):
        unkeyed = {int(K._hash(r[K.W_A0], r[K.W_A1], r[K.W_B0], r[K.W_B1], r[K.W_TP],
                               np.uint64(0))) for r in rows}
        keyed = {int(K._hash(r[K.W_A0], r[K.W_A1], r[K.W_B0], r[K.W_B1], r[K.W_TP],
                             np.uint64(table.state[K.ST_KEY]))) for r in rows}
    assert set(rows[:, K.W_TP].tolist()) == {int(tp)}  # the keys are as built
    assert len(unkeyed) == 1  # without the key: one hash, one cluster of N
    assert len(keyed) == N
    assert longest_cluster(table.index != K.EMPTY) < 64
    assert len(table.drain()) == N


def test_each_table_has_its_own_key():
    keys = {int(FlowTable().state[K.ST_KEY]) for _ in range(8)}
    keys |= {TalkerTally().key for _ in range(8)}
    assert len(keys) == 16 and all(0 <= k < 1 << 63 for k in keys)


def test_addresses_aimed_at_one_talker_slot_spread():
    """The summary's talker tally: N addresses solved to hash alike without its key."""
    version = np.uint64(V6)
    with np.errstate(over="ignore"):
        w0 = np.arange(1, N + 1, dtype=np.uint64)
        w1 = np.array([without_key(version * GOLDEN ^ w) for w in w0], np.uint64) * GOLDEN ^ C
        keys = np.zeros((1, 3), np.uint64)
        unkeyed = {int(_slot(np.full(1 << 20, TALLY_EMPTY, np.int64), keys, version, a, b,
                             np.uint64(0))) for a, b in zip(w0[:50], w1[:50])}
    assert len(unkeyed) == 1
    tally = TalkerTally()
    orig = np.stack([w0, w1], 1)
    resp = np.tile(np.array([[7, 7]], np.uint64), (N, 1))
    ones = np.ones(N, np.int64)
    tally.add(orig, resp, np.full(N, V6, np.uint8), ones, ones)
    assert tally.count == N + 1
    assert longest_cluster(tally.index != TALLY_EMPTY) < 64
