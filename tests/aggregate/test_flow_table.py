"""FlowTable on its own: growth, equality with a plain-Python aggregation, timeouts,
FIN/RST + new SYN, the idle sweep that keeps the live table small, and random streams
against the README's rules as tests/flow_reference.py applies them to tshark's frames
(the one plain-Python statement of the rules).

Packets are PacketBatches built with numpy (no capture, no decoder), so every field
the table reads is chosen here. FlowTable.update returns the flows that ended in a
batch; drain() the rest, in creation order.
"""

from __future__ import annotations

import mmap
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from ipaddress import IPv4Address

import numpy as np
import pytest
from capgen import TEST_SERVICES, write_registry
from flow_reference import expected_row, flag_letters, rule_flows

from portannot.aggregate import FlowTable, RawFlows, flow_columns
from portannot.aggregate import kernel as K
from portannot.aggregate.table import SMALL_PAGES_FROM, mapping_of, table_array
from portannot.decode import NO_VLAN, PacketBatch
from portannot.decode.columns import NO_TCP_HEADER
from portannot.status import Status

SEC = 1_000_000_000
T0 = 1_700_000_000 * SEC
FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


def v4_words(addr: np.ndarray) -> np.ndarray:
    """IPv4 addresses (uint32, host order) as 16-byte IPv4-mapped rows."""
    out = np.zeros((len(addr), 16), np.uint8)
    out[:, 10] = 0xFF
    out[:, 11] = 0xFF
    out[:, 12:16] = addr.astype(">u4").view(np.uint8).reshape(-1, 4)
    return out


def batch(src, sport, dst, dport, ts, *, transport=1, length=100, flags=0, seq=0,
          status=Status.PORTS):
    """A PacketBatch of IPv4 packets; scalars broadcast."""
    src = np.asarray(src, np.uint32)
    n = len(src)

    def col(v, dtype):
        return np.broadcast_to(np.asarray(v, dtype), (n,)).copy()

    b = PacketBatch.empty(n)
    b.number = np.arange(1, n + 1, dtype=np.int64)
    b.ts_ns = col(ts, np.int64)
    b.length = col(length, np.uint32)
    b.caplen = b.length.copy()
    b.interface = np.zeros(n, np.uint32)
    b.linktype = np.ones(n, np.uint16)
    b.vlan = np.full(n, NO_VLAN, np.uint16)
    b.ip_version = np.full(n, 4, np.uint8)
    b.ip_proto = np.where(col(transport, np.uint8) == 0, 6, 17).astype(np.uint8)
    b.src_addr = v4_words(src)
    b.dst_addr = v4_words(col(dst, np.uint32))
    b.transport = col(transport, np.uint8)
    b.src_port = col(sport, np.uint16)
    b.dst_port = col(dport, np.uint16)
    b.tcp_flags = col(flags, np.uint16)
    b.tcp_seq = col(seq, np.uint32)
    b.status = col(status, np.uint8)
    return b


def chunks(b: PacketBatch, size: int):
    for s in range(0, len(b), size):
        yield b.take(np.arange(s, min(s + size, len(b))))


def run(table: FlowTable, batches) -> list[RawFlows]:
    """Every flow the table hands out, in the order it hands them out."""
    out = []
    for b in batches:
        ended = table.update(b)
        if len(ended):
            out.append(ended)
    out.append(table.drain())
    return out


@pytest.fixture(scope="module")
def services():
    from portannot.registry import load_table

    return load_table()  # shipped snapshot; names do not matter here


def rows(raw: RawFlows, services) -> list[tuple]:
    """(transport, frozenset of ends -> (packets, bytes) per sending end, first, last, id)."""
    c = flow_columns(raw, services)
    oa = c.orig_addr.astype(np.uint64).view(np.uint8).reshape(-1, 16)[:, 12:16]
    ra = c.resp_addr.astype(np.uint64).view(np.uint8).reshape(-1, 16)[:, 12:16]
    out = []
    for i in range(len(c)):
        o = (bytes(oa[i]), int(c.orig_port[i]))
        r = (bytes(ra[i]), int(c.resp_port[i]))
        sides = {o: (int(c.orig_packets[i]), int(c.orig_bytes[i]))}
        if c.resp_packets[i]:
            sides[r] = (int(c.resp_packets[i]), int(c.resp_bytes[i]))
        out.append((int(c.transport[i]), frozenset((o, r)), sides, int(c.first_ts[i]),
                    int(c.last_ts[i]), int(c.flow_id[i])))
    return out


def python_flows(b: PacketBatch) -> dict:
    """The same aggregation, by hand: key -> [sides, first, last, first index]."""
    flows: dict = {}
    src = b.src_addr[:, 12:16]
    dst = b.dst_addr[:, 12:16]
    for i in range(len(b)):
        if b.status[i] != Status.PORTS:
            continue
        s = (bytes(src[i]), int(b.src_port[i]))
        d = (bytes(dst[i]), int(b.dst_port[i]))
        key = (int(b.transport[i]), frozenset((s, d)))
        f = flows.setdefault(key, [{}, int(b.ts_ns[i]), int(b.ts_ns[i]), len(flows)])
        pk, by = f[0].get(s, (0, 0))
        f[0][s] = (pk + 1, by + int(b.length[i]))
        f[1] = min(f[1], int(b.ts_ns[i]))
        f[2] = max(f[2], int(b.ts_ns[i]))
    return flows


# ------------------------------------------------------------------ growth and equality

@pytest.mark.parametrize("view_held", [False, True], ids=["in-place", "view-held"])
def test_many_flows_grow_the_table_and_match_python(services, view_held):
    """The rows grow past their first mapping (4 MiB, 32,768 flows). In place when
    nothing else looks at them; with a view held elsewhere, mremap is refused and the
    rows are copied, the view still reading the old rows."""
    rng = np.random.default_rng(7)
    n_flows = 50_000
    # distinct flows: client address i, port from i; server one of 8 addresses
    client = (0x0A000000 + np.arange(n_flows)).astype(np.uint32)
    cport = (1024 + np.arange(n_flows) % 60000).astype(np.uint16)
    server = (0xC6336400 + np.arange(n_flows) % 8).astype(np.uint32)
    sport = np.where(np.arange(n_flows) % 3 == 0, 443, 53).astype(np.uint16)
    # 120k packets: every flow once in order, then random packets both ways
    extra = rng.integers(0, n_flows, 70_000)
    fwd = rng.random(70_000) < 0.5
    idx = np.concatenate([np.arange(n_flows), extra])
    forward = np.concatenate([np.ones(n_flows, bool), fwd])
    src = np.where(forward, client[idx], server[idx])
    dst = np.where(forward, server[idx], client[idx])
    sp = np.where(forward, cport[idx], sport[idx])
    dp = np.where(forward, sport[idx], cport[idx])
    transport = np.where(sport[idx] == 443, 0, 1)
    ts = T0 + np.arange(len(idx), dtype=np.int64) * 1000
    length = rng.integers(60, 1500, len(idx))
    status = np.where(rng.random(len(idx)) < 0.02, Status.NO_PORTS, Status.PORTS)
    status[:n_flows] = Status.PORTS
    flags = np.where(transport == 0, ACK, 0)
    b = batch(src, sp, dst, dp, ts, transport=transport, length=length, flags=flags,
              status=status)

    table = FlowTable()
    first_pages = mapping_of(table.rows)
    assert first_pages is not None and table.rows.shape[0] < n_flows
    held = table.rows[:1] if view_held else None
    for part in chunks(b, 8192):
        assert len(table.update(part)) == 0
    assert table.rows.shape[0] >= n_flows
    assert (mapping_of(table.rows) is first_pages) is not view_held
    if held is not None:
        assert int(held[0, 0]) == int(table.rows[0, 0])  # the first flow, copied
    got = [table.drain()]
    assert len(got) == 1, "no timeouts: every flow comes out at drain"
    raw = got[0]
    assert len(raw) == n_flows
    assert len(table) == 0 and table.flows_started == n_flows
    ours = rows(raw, services)
    ref = python_flows(b)
    assert len(ref) == n_flows
    # creation order = first appearance = flow_id
    assert [r[5] for r in ours] == list(range(1, n_flows + 1))
    ref_list = sorted(ref.items(), key=lambda kv: kv[1][3])
    mism = []
    for (t, ends_, sides, first, last, fid), (key, (rsides, rfirst, rlast, order)) in zip(ours, ref_list):
        if (t, ends_) != key or sides != rsides or (first, last) != (rfirst, rlast) or fid != order + 1:
            mism.append((fid, t, sides, rsides, first, rfirst, last, rlast))
    assert not mism, f"{len(mism)} flows differ, e.g. {mism[:3]}"


def test_the_index_doubles_from_its_own_entries(services):
    """From 64 slots to 32,768: each doubling fills the wider index from the old one's
    entries (kernel.widen_index), not from the rows. Every flow is still found after
    the nine doublings (its second packet, sent the other way once all flows exist,
    adds to it), and the index names each row exactly once."""
    n_flows = 10_000
    client = (0x0A000000 + np.arange(n_flows)).astype(np.uint32)
    server = np.full(n_flows, 0xC6336401, np.uint32)
    cport = (1024 + np.arange(n_flows) % 50_000).astype(np.uint16)
    ts = T0 + np.arange(2 * n_flows, dtype=np.int64)
    b = batch(np.concatenate([client, server]), np.concatenate([cport, np.full(n_flows, 53)]),
              np.concatenate([server, client]), np.concatenate([np.full(n_flows, 53), cport]),
              ts, length=np.concatenate([np.full(n_flows, 100), np.full(n_flows, 300)]))
    table = FlowTable(slots=64)
    for part in chunks(b, 1000):
        assert len(table.update(part)) == 0
    assert table.slots == 32_768
    entries = table.index[table.index != K.EMPTY]
    assert sorted((entries & K.ROW_MASK).tolist()) == list(range(n_flows))
    got = rows(table.drain(), services)
    assert len(got) == n_flows
    assert all(sorted(sides.values()) == [(1, 100), (1, 300)] for _, _, sides, *_ in got)


def _vm_flags(address: int) -> list[str]:
    """The kernel's VmFlags for the mapping that holds `address` (/proc/self/smaps)."""
    inside = False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                lo, hi = (int(x, 16) for x in head.split("-"))
                inside = lo <= address < hi
            elif inside and head == "VmFlags:":
                return line.split()[1:]
    raise AssertionError(f"no mapping holds {address:#x}")


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps") or not hasattr(mmap, "MADV_NOHUGEPAGE"),
                    reason="Linux's smaps and madvise only")
def test_the_table_arrays_refuse_huge_pages():
    """The rows and index of a large table are mapped with MADV_NOHUGEPAGE, as the
    kernel itself reports ('nh' in the mapping's VmFlags); small ones are numpy's."""
    big = table_array((SMALL_PAGES_FROM // 128, 16), np.uint64)
    big[:] = 7  # writable, every page touched
    assert big.shape == (SMALL_PAGES_FROM // 128, 16) and big.flags.c_contiguous
    assert "nh" in _vm_flags(big.ctypes.data)
    assert int(big.sum()) == 7 * big.size
    small = table_array(1000, np.uint64)
    assert small.base is None  # a plain numpy allocation
    table = FlowTable(slots=1 << 20)  # an index of 8 MiB, rows of 64 MiB
    assert "nh" in _vm_flags(table.index.ctypes.data)
    assert "nh" in _vm_flags(table.rows.ctypes.data)


def test_packets_without_ports_are_ignored(services):
    b = batch([1, 1, 1], 1000, 2, 53, T0, status=[Status.PORTS, Status.FRAGMENT, Status.NO_PORTS])
    (raw,) = run(FlowTable(), [b])
    assert len(raw) == 1
    assert rows(raw, services)[0][2] == {(bytes([0, 0, 0, 1]), 1000): (1, 100)}


def test_same_ends_other_transport_is_another_flow(services):
    b = batch([1, 1], 1000, 2, 53, T0, transport=[0, 1])
    (raw,) = run(FlowTable(), [b])
    assert len(raw) == 2


# ------------------------------------------------------------------ timeouts

def _single_flow(ts, **kw):
    n = len(ts)
    fwd = np.arange(n) % 2 == 0
    return batch(np.where(fwd, 1, 2), np.where(fwd, 40000, 53), np.where(fwd, 2, 1),
                 np.where(fwd, 53, 40000), np.asarray(ts, np.int64), **kw)


def _summary(parts: list[RawFlows], services):
    raw = RawFlows.concat(parts)
    c = flow_columns(raw, services)
    return [(int(f), int(a), int(b_), int(p), int(q)) for f, a, b_, p, q in zip(
        c.flow_id, c.first_ts, c.last_ts, c.orig_packets + c.resp_packets, c.orig_bytes + c.resp_bytes)]


def test_idle_timeout_splits_and_counts_add_up(services):
    secs = [0, 1, 2, 3, 10, 11, 11.5, 30, 30.1]
    ts = [T0 + int(s * SEC) for s in secs]
    b = _single_flow(ts, length=np.arange(100, 100 + len(ts)))
    got = _summary(run(FlowTable(idle_timeout=5), chunks(b, 3)), services)
    assert [(f - 1, (a - T0) / SEC, (z - T0) / SEC, p) for f, a, z, p, _ in got] == [
        (0, 0, 3, 4), (1, 10, 11.5, 3), (2, 30, 30.1, 2)]
    whole = _summary(run(FlowTable(), [b]), services)
    assert len(whole) == 1
    assert sum(g[3] for g in got) == whole[0][3] == len(ts)
    assert sum(g[4] for g in got) == whole[0][4] == int(b.length.sum())


def test_idle_gap_equal_to_the_timeout_does_not_split(services):
    b = _single_flow([T0, T0 + 5 * SEC, T0 + 10 * SEC])
    assert len(_summary(run(FlowTable(idle_timeout=5), [b]), services)) == 1


def test_active_timeout_splits_long_flows(services):
    ts = [T0 + s * SEC for s in range(10)]
    b = _single_flow(ts)
    got = _summary(run(FlowTable(active_timeout=3.5), [b]), services)
    # a flow ends when a packet comes more than 3.5 s after the flow's first packet
    assert [((a - T0) // SEC, (z - T0) // SEC, p) for _, a, z, p, _ in got] == [
        (0, 3, 4), (4, 7, 4), (8, 9, 2)]
    assert sum(g[3] for g in got) == 10
    assert [g[0] for g in got] == [1, 2, 3]


def test_split_flows_keep_distinct_ids_and_other_flows_unaffected(services):
    # flow X: packets at 0 and 100 s (idle 10 -> split); flow Y: at 50 s only
    b = batch([1, 5, 1], [1000, 2000, 1000], [2, 6, 2], 53,
              [T0, T0 + 50 * SEC, T0 + 100 * SEC])
    got = _summary(run(FlowTable(idle_timeout=10), [b]), services)
    ids = sorted(g[0] for g in got)
    assert ids == [1, 2, 3]
    assert sum(g[3] for g in got) == 3


def test_timeouts_run_on_the_capture_clock_whatever_the_batches(services):
    """A packet that comes late (its time earlier than packets before it): flow X at 0 s,
    flow Y from 0.1 to 10 s, then X's answer stamped 0.5 s. Its own time is 0.5 s after
    X's packet, but the capture's clock is at 10 s, 10 s past X: with an idle timeout of
    1 s, X has ended and the answer starts a flow. Decided by the clock, the flows are
    the same however the packets fall into batches (the idle sweep after each batch
    ends flows by the same clock)."""
    ys = T0 + SEC // 10 + np.arange(200, dtype=np.int64) * (SEC // 20)
    b = batch(np.r_[1, np.full(200, 5), 2], np.r_[1000, np.full(200, 2000), 53],
              np.r_[2, np.full(200, 6), 1], np.r_[53, np.full(200, 53), 1000],
              np.r_[T0, ys, T0 + SEC // 2])
    expected = [(1, T0, T0, 1), (2, T0 + SEC // 10, int(ys[-1]), 200),
                (3, T0 + SEC // 2, T0 + SEC // 2, 1)]
    for size in (1, 7, 64, len(b)):
        got = _summary(run(FlowTable(idle_timeout=1), chunks(b, size)), services)
        assert sorted(g[:4] for g in got) == expected, size
    # active timeout of 5 s, the same clock: Y ends after its 101st packet (5.1 s) and
    # goes on as a new flow; X is 10 s old by the clock when its answer comes
    got = _summary(run(FlowTable(active_timeout=5), [b]), services)
    assert sorted(g[:4] for g in got) == [
        (1, T0, T0, 1), (2, T0 + SEC // 10, int(ys[100]), 101), (3, int(ys[101]), int(ys[-1]), 99),
        (4, T0 + SEC // 2, T0 + SEC // 2, 1)]


# ------------------------------------------------------------------ TCP close and reopen

def _tcp_conv(segments, t0=T0):
    """[(flags, forward?, seq)] on the ends 1:40000 <-> 2:80."""
    fwd = np.array([d for _, d, _ in segments])
    return batch(np.where(fwd, 1, 2), np.where(fwd, 40000, 80), np.where(fwd, 2, 1),
                 np.where(fwd, 80, 40000), t0 + np.arange(len(fwd), dtype=np.int64) * 1000,
                 transport=0, flags=[f for f, _, _ in segments],
                 seq=[s for _, _, s in segments])


def _handshake(client_isn, server_isn=5000):
    """SYN, SYN+ACK, ACK with the sequence numbers a real connection has."""
    return [(SYN, True, client_isn), (SYN | ACK, False, server_isn), (ACK, True, client_isn + 1)]


HANDSHAKE = _handshake(1000)


@pytest.mark.parametrize("close", [
    [(FIN | ACK, True, 1001), (FIN | ACK, False, 5001), (ACK, True, 1002)],
    [(RST, False, 5001)],
    [(RST | ACK, True, 1001)],
], ids=["fin", "rst", "rst-ack"])
def test_new_syn_after_close_starts_a_new_flow(services, close):
    conv = HANDSHAKE + close + _handshake(9000, 7000) + [(ACK, True, 9001)]
    b = _tcp_conv(conv)
    got = _summary(run(FlowTable(), [b]), services)
    first = len(HANDSHAKE) + len(close)
    assert [(g[0], g[3]) for g in got] == [(1, first), (2, len(conv) - first)]


def test_retransmitted_syn_is_the_same_flow(services):
    """A SYN with the number its side started from is the same SYN again, before or
    after a FIN (tshark's tcp.stream keeps it too)."""
    for after in ([], [(FIN | ACK, True, 1001)]):
        b = _tcp_conv(HANDSHAKE + after + [(SYN, True, 1000), (ACK, True, 1001)])
        assert len(_summary(run(FlowTable(), [b]), services)) == 1


def test_new_isn_without_close_starts_a_new_flow(services):
    """Ports reused after a close the capture missed: a SYN with another number is a new
    connection though no FIN or RST was seen (tshark: a new tcp.stream)."""
    conv = HANDSHAKE + [(ACK, True, 1001)] + _handshake(9000, 7000)
    got = _summary(run(FlowTable(), [_tcp_conv(conv)]), services)
    assert [(g[0], g[3]) for g in got] == [(1, 4), (2, 3)]


def test_mid_stream_side_gets_a_base_one_below_its_first_segment(services):
    """A flow seen from mid-stream: a side's base is one less than its first segment's
    number (tshark's), so a SYN numbered just below that segment is taken for the same
    connection and any other number for a new one."""
    mid = [(ACK, True, 3000), (ACK, False, 8000)]
    same = _tcp_conv(mid + [(SYN, True, 2999)])
    assert len(_summary(run(FlowTable(), [same]), services)) == 1
    other = _tcp_conv(mid + [(SYN, True, 3000)])
    assert len(_summary(run(FlowTable(), [other]), services)) == 2


def test_syn_from_a_silent_side_opens_only_after_a_close(services):
    """A side that has sent nothing has no base: its SYN is new only after FIN or RST."""
    one_sided = [(ACK, False, 8000)]
    b = _tcp_conv(one_sided + [(SYN, True, 1000)])
    assert len(_summary(run(FlowTable(), [b]), services)) == 1
    b = _tcp_conv(one_sided + [(RST, False, 8000), (SYN, True, 1000)])
    assert len(_summary(run(FlowTable(), [b]), services)) == 2


@pytest.mark.parametrize("close", [FIN, RST], ids=["fin", "rst"])
def test_syn_from_a_silent_side_after_an_unacknowledging_close_stays(services, close):
    """A SYN, then a FIN or RST without ACK from the same side, then a SYN from the
    other side, which has sent nothing: tshark has no base for that side (it takes one
    from the other side's first ACK, and none came), so its tcp.stream keeps the three
    frames together; so must the flow. Once that side has been acknowledged, tshark has a
    base and its SYN after the close is a new connection."""
    b = _tcp_conv([(SYN, True, 100), (close, True, 101), (SYN, False, 5)])
    assert len(_summary(run(FlowTable(), [b]), services)) == 1
    b = _tcp_conv([(SYN, True, 100), (close | ACK, True, 101), (SYN, False, 5)])
    assert len(_summary(run(FlowTable(), [b]), services)) == 2


def test_a_later_fragment_is_no_segment_of_a_silent_side(services):
    """A SYN, a FIN without ACK from the same side, then a SYN from the other side, which
    has sent only a later IP fragment of a datagram begun before (its first fragment's
    ports, no TCP header: NO_TCP_HEADER): tshark, with defragmentation off, shows the
    fragment as data, has no base for that side and keeps the SYN in the stream; so must
    the flow (test_flows_vs_tshark checks the same against tshark). A segment without
    flags from that side (a header cut before its flags) is a segment: two flows."""
    for middle, flows in ((NO_TCP_HEADER, 1), (0, 2)):
        b = _tcp_conv([(SYN, True, 100), (middle, False, 0), (FIN, True, 101), (SYN, False, 5)])
        assert len(_summary(run(FlowTable(), [b]), services)) == flows, hex(middle)


def test_synack_after_close_is_not_a_new_syn(services):
    b = _tcp_conv(HANDSHAKE + [(FIN, True, 1001), (SYN | ACK, False, 6000), (ACK, True, 1002)])
    assert len(_summary(run(FlowTable(), [b]), services)) == 1


def test_sequence_numbers_above_two_to_the_31_compare_whole(services):
    """The base is kept in 32 bits of a signed field: numbers with the top bit set must
    still compare as the same number."""
    isn = 0xFFFFFFF0
    b = _tcp_conv(_handshake(isn) + [(SYN, True, isn)])
    assert len(_summary(run(FlowTable(), [b]), services)) == 1
    b = _tcp_conv(_handshake(isn) + [(SYN, True, isn - 2**31)])
    assert len(_summary(run(FlowTable(), [b]), services)) == 2


def test_udp_is_never_split_by_flags(services):
    b = batch([1, 1, 1], 4000, 2, 53, [T0, T0 + 1, T0 + 2], transport=1, flags=[FIN, SYN, SYN])
    assert len(_summary(run(FlowTable(), [b]), services)) == 1


def test_reopened_flow_across_batches(services):
    conv = HANDSHAKE + [(RST, True, 1001)] + _handshake(9000)
    b = _tcp_conv(conv)
    got = _summary(run(FlowTable(), chunks(b, 1)), services)
    assert [g[3] for g in got] == [4, 3]


@pytest.mark.parametrize("which", ["idle_timeout", "active_timeout"])
@pytest.mark.parametrize("value", [0, 0.0, -5, 1e-10, float("nan"), float("inf"), 2e9,
                                   timedelta(0), timedelta(seconds=-1)])
def test_a_timeout_that_would_be_none_is_refused(which, value):
    """FlowTable(idle_timeout=0), -5 or 1e-10 (0 ns) silently meant no timeout, the
    kernel's 0; NaN failed converting to an integer, with its own message."""
    with pytest.raises(ValueError, match=which):
        FlowTable(**{which: value})


@pytest.mark.parametrize("value", ["5", True, [5]])
def test_a_timeout_that_is_not_a_number_is_a_type_error(value):
    with pytest.raises(TypeError, match="idle_timeout"):
        FlowTable(idle_timeout=value)


def test_a_timeout_as_timedelta_is_its_seconds(services):
    """datetime.timedelta by total_seconds() (pandas' Timedelta, a subclass, by its ns:
    below); whole nanoseconds rounded, not truncated (0.3 s as a float product is
    299999999.99... ns)."""
    secs = [0, 1, 2, 3, 10, 11, 11.5, 30]
    b = _single_flow([T0 + int(s * SEC) for s in secs])
    by_delta = _summary(run(FlowTable(idle_timeout=timedelta(seconds=5),
                                      active_timeout=timedelta(milliseconds=2500)), [b]), services)
    # by hand: 3 s is 3 past the first packet (> 2.5), 10 s is 7 past 3 s (> 5), 30 s too
    assert [((a - T0) / SEC, (z - T0) / SEC, p) for _, a, z, p, _ in by_delta] == [
        (0, 2, 3), (3, 3, 1), (10, 11.5, 3), (30, 30, 1)]
    assert by_delta == _summary(run(FlowTable(idle_timeout=5, active_timeout=2.5), [b]),
                                services)
    assert FlowTable(idle_timeout=0.3).idle_ns == 300_000_000
    assert FlowTable(active_timeout=timedelta(microseconds=1)).active_ns == 1_000
    assert FlowTable(idle_timeout=1e-9).idle_ns == 1
    assert FlowTable(idle_timeout=2.9999e-9).idle_ns == 2
    # typed digits floored as typed: rounded to a millionth of a ns first, this was 3 ns
    assert FlowTable(idle_timeout=2.9999999999e-9).idle_ns == 2
    assert FlowTable(idle_timeout=1.99999999999999e-3).idle_ns == 1_999_999  # 15 digits
    assert FlowTable(idle_timeout=np.timedelta64(5, "us")).idle_ns == 5_000  # 4.99...96e-06 s
    assert FlowTable(idle_timeout=3 * 1e-6).idle_ns == 3_000
    assert FlowTable(active_timeout=0.1 + 0.2).active_ns == 300_000_000  # 0.30000000000000004
    pd = pytest.importorskip("pandas")
    assert FlowTable(idle_timeout=pd.Timedelta(1, "ns")).idle_ns == 1
    assert FlowTable(idle_timeout=pd.Timedelta(minutes=2)).idle_ns == 120 * SEC


def test_a_pandas_timedelta_is_taken_to_its_nanosecond():
    """A pandas Timedelta holds whole ns, which its total_seconds() does not give: pandas
    2 (the newest for Python 3.10) rounds them to microseconds as datetime.timedelta does
    (1 ns was 0 s, refused as no timeout; 1,500 ns was 1,000 ns), pandas 3 to a float (the
    last ns lost past 104 days). Its own ns, by hand, as for a numpy timedelta64."""
    pd = pytest.importorskip("pandas")
    assert FlowTable(idle_timeout=pd.Timedelta(1, "ns")).idle_ns == 1
    assert FlowTable(active_timeout=pd.Timedelta(1_500, "ns")).active_ns == 1_500
    days = pd.Timedelta(days=200, nanoseconds=1)
    assert FlowTable(idle_timeout=days).idle_ns == 200 * 86_400 * SEC + 1
    assert FlowTable(idle_timeout=pd.Timedelta(seconds=2.5)).idle_ns == 2_500_000_000
    with pytest.raises(ValueError, match="idle_timeout"):
        FlowTable(idle_timeout=pd.Timedelta(0))
    with pytest.raises(ValueError, match="active_timeout"):
        FlowTable(active_timeout=pd.Timedelta(days=-1))


@pytest.mark.parametrize(("which", "times", "flows"), [
    ("idle_timeout", [0, 1, 3], [(0, 1, 2), (3, 3, 1)]),  # gaps of 1 and 2 ns
    ("active_timeout", [0, 1, 2], [(0, 1, 2), (2, 2, 1)]),  # 1 and 2 ns past the first
])
def test_a_timeout_between_whole_nanoseconds_splits_a_longer_gap(services, which, times, flows):
    """A timeout of 1.5 ns: 1 ns is not more than it, 2 ns is (rounded to the nearest
    ns the timeout was 2 ns, and all three packets stayed in one flow)."""
    b = _single_flow([T0 + t for t in times])
    got = _summary(run(FlowTable(**{which: 1.5e-9}), [b]), services)
    assert [(a - T0, z - T0, p) for _, a, z, p, _ in got] == flows


# ------------------------------------------------------------------ the sweep

@pytest.mark.parametrize("which", ["idle_timeout", "active_timeout"])
def test_the_sweep_bounds_live_flows(services, which):
    """300k single-packet flows, 1 ms apart, a timeout of 1 s: live flows stay far below
    the number of flows, and the slot arrays shrink back; nothing is lost. With the
    active timeout alone there was no sweep: every flow waited for the drain (and
    iter_flows gave nothing until the end of the capture)."""
    n, step = 300_000, 1_000_000
    i = np.arange(n, dtype=np.int64)
    src = (0x0A000000 + i).astype(np.uint32)
    b = batch(src, (1024 + i % 60000).astype(np.uint16), 0xC0000201, 53, T0 + i * step)
    table = FlowTable(**{which: 1})
    peak_live = peak_slots = 0
    handed_out = 0
    for part in chunks(b, 10_000):
        handed_out += len(table.update(part))
        peak_live = max(peak_live, len(table))
        peak_slots = max(peak_slots, table.slots)
    rest = table.drain()
    assert handed_out + len(rest) == n
    # every flow but the last second's (~1000) is over long before the end
    assert handed_out > n // 2, (
        f"only {handed_out} of {n} flows handed out before drain (peak live {peak_live}): "
        "the sweep stopped running")
    # a sweep runs at least every max(live, 65536) packets
    assert peak_live <= (1 << 16) + 10_000 + 1_000, peak_live
    assert peak_slots <= 1 << 18, peak_slots
    assert table.flows_started == n


@pytest.mark.parametrize("which", ["idle_timeout", "active_timeout"])
def test_a_packet_from_the_future_does_not_stop_the_sweep(services, which):
    """One packet stamped a day ahead moves the clock past every flow there is and every
    flow to come until the times catch up: each later flow is over at its first packet
    (README: the clock's catch). The periodic sweep waits for the clock to move a timeout
    on, so those flows used to stay until the drain, the table growing with each (300k
    flows after such a packet: 2^20 slots). A full table now first hands out what the
    clock has ended, and grows only if that does not make room."""
    n = 300_000
    i = np.arange(n, dtype=np.int64)
    future = batch([9], 9, 2, 53, T0 + 86_400 * SEC)
    later = batch((0x0A000000 + i).astype(np.uint32), (1024 + i % 60000).astype(np.uint16),
                  0xC0000201, 53, T0 + SEC + i * 1_000)
    table = FlowTable(**{which: 60})
    handed_out, peak_slots = [], 0
    for part in [future, *chunks(later, 10_000)]:
        handed_out.append(table.update(part))
        peak_slots = max(peak_slots, table.slots)
    assert peak_slots <= 1 << 17, peak_slots
    got = _summary([*handed_out, table.drain()], services)
    # by hand: n + 1 flows of one packet each, every one of them whole
    assert len(got) == n + 1 and {g[3] for g in got} == {1}
    assert sorted(g[0] for g in got) == list(range(1, n + 2))
    # the same flows as packet by packet, where every later packet ends its flow's
    # predecessor, here none: batch boundaries change when flows come out, not which
    whole = _summary(run(FlowTable(**{which: 60}), [future, later]), services)
    assert sorted(got) == sorted(whole)


def test_the_active_sweep_hands_out_what_the_next_packet_would_end(services):
    """A flow past its active timeout comes out once the clock passes it (other flows'
    packets move the clock), not at the drain; the flows are the ones the kernel makes
    packet by packet, only handed out sooner."""
    # flow A (1:40000 <-> 2:53) sends at 0, 1, 2 s; flow B (3:1000 <-> 2:53) every
    # second from 0.5 s to 9.5 s, moving the clock past A's first packet + 2.5 s
    a = _single_flow([T0, T0 + SEC, T0 + 2 * SEC])
    b = batch(np.full(10, 3), 1000, 2, 53, T0 + SEC // 2 + np.arange(10, dtype=np.int64) * SEC)
    both = _concat_batches(a, b)
    both = both.take(np.argsort(both.ts_ns, kind="stable"))
    table = FlowTable(active_timeout=2.5)
    handed_out, a_out_at = [], None
    for part in chunks(both, 1):
        ended = _summary([table.update(part)], services)
        if any(first == T0 for _, first, _, _, _ in ended):
            a_out_at = (int(part.ts_ns[0]) - T0) / SEC
        handed_out += ended
    # by hand: sweeps run when the clock has moved 2.5 s since the last one: at 2.5 s
    # (A is not yet more than 2.5 s old), then at 5.5 s, which hands A out
    assert a_out_at == 5.5
    got = sorted(handed_out + _summary([table.drain()], services))
    # by hand: A is one flow of 3 packets; B's next packet ends it every 3 s
    assert [((f_ - T0) / SEC, (z - T0) / SEC, p) for _, f_, z, p, _ in got] == [
        (0, 2, 3), (0.5, 2.5, 3), (3.5, 5.5, 3), (6.5, 8.5, 3), (9.5, 9.5, 1)]
    assert got == sorted(_summary(run(FlowTable(active_timeout=2.5), [both]), services))


def _concat_batches(*parts: PacketBatch) -> PacketBatch:
    from portannot.decode.decoder import concat

    return concat(list(parts))


def test_no_sweep_without_a_timeout():
    b = batch((np.arange(70_000) + 1).astype(np.uint32), 1000, 2, 53, T0)
    table = FlowTable()
    assert len(table.update(b)) == 0
    assert len(table) == 70_000


# ------------------------------------------------------------------ random streams vs the README

#: the transports' codes in the batches built here (0 is TCP: flags go there)
TRANSPORTS = ("tcp", "udp", "sctp", "dccp")
#: (transport, port) -> name: what the hand-written registry names (tests/capgen.py)
NAMES = {(proto, port): name for name, port, proto in TEST_SERVICES}
PSH = 0x08
TCP_FLAG_CHOICES = [SYN, SYN | ACK, ACK, PSH | ACK, FIN | ACK, RST, RST | ACK, 0]
TCP_FLAG_WEIGHTS = [0.06, 0.05, 0.45, 0.25, 0.06, 0.03, 0.03, 0.07]


@pytest.fixture(scope="module")
def named_table(tmp_path_factory):
    from portannot.registry import load_registry

    return load_registry(write_registry(tmp_path_factory.mktemp("reg") / "r.csv")).table()


def random_stream(seed: int) -> PacketBatch:
    """Packets of ~40 conversations over few addresses and ports (named, unnamed, one
    end talking to itself), TCP flags that open, close and reopen flows, times that
    mostly grow with some packets late, and packets without ports moving the clock."""
    rng = np.random.default_rng(seed)
    ports = np.array([80, 443, 53, 3306, 2905, 5004, 40500, 50000, 50001], np.uint16)
    convs = [(int(rng.integers(0, 4)), int(rng.integers(1, 5)), int(ports[rng.integers(0, 9)]),
              int(rng.integers(1, 5)), int(ports[rng.integers(0, 9)])) for _ in range(40)]
    convs.append((0, 3, 80, 3, 80))  # a LAND-style packet: both ends the same
    n = int(rng.integers(500, 3000))
    which = rng.integers(0, len(convs), n)
    fwd = rng.random(n) < 0.5
    conv = np.array(convs)[which]
    tp = conv[:, 0]
    src = np.where(fwd, conv[:, 1], conv[:, 3])
    sport = np.where(fwd, conv[:, 2], conv[:, 4])
    dst = np.where(fwd, conv[:, 3], conv[:, 1])
    dport = np.where(fwd, conv[:, 4], conv[:, 2])
    flags = np.where(tp == 0, rng.choice(TCP_FLAG_CHOICES, n, p=TCP_FLAG_WEIGHTS), 0)
    gaps = rng.exponential(0.3 * SEC, n).astype(np.int64)
    ts = T0 + np.cumsum(gaps)
    late = rng.random(n) < 0.05
    ts[late] -= rng.integers(0, 3 * SEC, int(late.sum()))
    status = np.where(rng.random(n) < 0.1, rng.integers(1, 7, n), Status.PORTS)
    b = batch(src.astype(np.uint32), sport, dst, dport, ts, transport=tp,
              length=rng.integers(60, 1515, n), flags=flags, status=status)
    b.vlan = np.where(rng.random(n) < 0.7, NO_VLAN, rng.choice([10, 20], n)).astype(np.uint16)
    return b


@dataclass(frozen=True)
class Frame:
    """One packet as tests/flow_reference.py reads tshark's frames (OracleRow's fields
    that rule_flows uses): text addresses, a transport name only where the packet has
    ports, no VLAN as None."""

    number: int
    ts_ns: int
    length: int
    transport: str | None
    src: str
    src_port: int
    dst: str
    dst_port: int
    tcp_flags: int
    tcp_seq: int | None  #: as tshark's tcp.seq_raw: TCP packets only
    vlan: int | None
    frag_key: None = None  #: no fragments here
    frag_offset: int = 0


def frames(b: PacketBatch) -> list[Frame]:
    """The batch's packets as the reference reads them."""
    src = b.src_addr[:, 12:16].copy().view(">u4")[:, 0]
    dst = b.dst_addr[:, 12:16].copy().view(">u4")[:, 0]
    return [Frame(i + 1, int(b.ts_ns[i]), int(b.length[i]),
                  TRANSPORTS[b.transport[i]] if b.status[i] == Status.PORTS else None,
                  str(IPv4Address(int(src[i]))), int(b.src_port[i]),
                  str(IPv4Address(int(dst[i]))), int(b.dst_port[i]), int(b.tcp_flags[i]),
                  int(b.tcp_seq[i]) if b.status[i] == Status.PORTS and b.transport[i] == 0 else None,
                  None if b.vlan[i] == NO_VLAN else int(b.vlan[i]))
            for i in range(len(b))]


def readme_flows(b: PacketBatch, idle_ns: int, active_ns: int) -> dict[int, tuple]:
    """The flows the README's rules give (tests/flow_reference.py, the reference the
    tshark comparisons use, applied one packet at a time): flow id -> (transport,
    originator, responder, then expected_row's fields after the originator)."""
    out = {}
    for key, runs in rule_flows("random", frames(b), idle_ns, active_ns).items():
        for f in runs:
            orig, *rest = expected_row(key, f, NAMES)
            resp = next((e for e in key[1] if e != orig), orig)
            out[f.flow_id] = (key[0], orig, resp, *rest)
    return out


def table_flows(parts: list[RawFlows], table) -> dict[int, tuple]:
    """FlowTable's flows in the same shape as readme_flows'."""
    from portannot.aggregate.rules import DIRECTION_BASES, SERVICE_BASES

    c = flow_columns(RawFlows.concat(parts), table)
    oa = c.orig_addr.view(np.uint8).reshape(-1, 16)[:, 12:16].copy().view(">u4")[:, 0]
    ra = c.resp_addr.view(np.uint8).reshape(-1, 16)[:, 12:16].copy().view(">u4")[:, 0]
    out = {}
    for i in range(len(c)):
        t = TRANSPORTS[c.transport[i]]
        name = str(table.names[c.service[i]]) or None
        out[int(c.flow_id[i])] = (
            t, (str(IPv4Address(int(oa[i]))), int(c.orig_port[i])),
            (str(IPv4Address(int(ra[i]))), int(c.resp_port[i])),
            DIRECTION_BASES[c.direction_basis[i]], name,
            int(c.service_port[i]) if name else None, SERVICE_BASES[c.service_basis[i]],
            flag_letters(t, int(c.orig_flags[i])), flag_letters(t, int(c.resp_flags[i])),
            None if c.vlan[i] == NO_VLAN else int(c.vlan[i]),
            int(c.first_ts[i]), int(c.last_ts[i]), int(c.orig_packets[i]),
            int(c.orig_bytes[i]), int(c.resp_packets[i]), int(c.resp_bytes[i]))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_random_streams_follow_the_readme(named_table, seed):
    """Every field of every flow, against the README's rules applied one packet at a
    time by tests/flow_reference.py: direction and service bases, splits by idle and active
    timeout on the capture clock, FIN/RST then SYN, per-direction counts and flags,
    VLAN, ids; for any cutting of the stream into batches."""
    b = random_stream(seed)
    rng = np.random.default_rng(1000 + seed)
    idle = [None, 0.5, 2.0][seed % 3]
    active = [None, 3.0][seed // 3 % 2]
    want = readme_flows(b, int(idle * SEC) if idle else 0, int(active * SEC) if active else 0)
    cuts = np.sort(rng.choice(np.arange(1, len(b)), int(rng.integers(0, 40)), replace=False))
    pieces = [b.take(np.arange(lo, hi)) for lo, hi in
              zip(np.r_[0, cuts], np.r_[cuts, len(b)])]
    got = table_flows(run(FlowTable(idle_timeout=idle, active_timeout=active), pieces),
                      named_table)
    assert sorted(got) == sorted(want) == list(range(1, len(want) + 1))
    differ = [(k, got[k], want[k]) for k in want if got[k] != want[k]]
    assert not differ, f"{len(differ)} of {len(want)} flows differ, e.g. {differ[:2]}"
    ported = b.status == Status.PORTS
    assert sum(r[12] + r[14] for r in got.values()) == int(ported.sum())
    assert sum(r[13] + r[15] for r in got.values()) == int(b.length[ported].sum())


@pytest.mark.parametrize("slots", [0, 1, 3, 100, 65_535, -64])
def test_slots_not_a_power_of_two_are_refused(slots: int) -> None:
    """The index is probed with `hash & (slots - 1)`, which reaches every slot only for a
    power of two: FlowTable(slots=3) (or 100, or 1) never found a free slot and the first
    update looped for ever, and slots=0 was a segmentation fault."""
    with pytest.raises(ValueError, match="slots must be a power of two"):
        FlowTable(slots=slots)


@pytest.mark.parametrize("slots", [2, 4, 1 << 16])
def test_the_smallest_powers_of_two_aggregate(slots: int) -> None:
    n = 300
    client = (0x0A000000 + np.arange(n)).astype(np.uint32)
    server = np.full(n, 0xC6336401, np.uint32)
    b = batch(client, np.full(n, 40000), server, np.full(n, 53),
              T0 + np.arange(n, dtype=np.int64))
    table = FlowTable(slots=slots)
    assert len(table.update(b)) + len(table.drain()) == n


def _three_flows() -> PacketBatch:
    n = 3
    return batch(np.arange(n) + 0x0A000001, np.full(n, 40000), np.full(n, 0xC6336401),
                 np.full(n, 53), T0 + np.arange(n, dtype=np.int64))


@pytest.mark.parametrize("field", ["status", "ts_ns", "length", "src_port", "transport",
                                   "src_addr", "vlan"])
def test_columns_of_another_length_are_refused(field: str) -> None:
    """The kernel reads every column up to `status`'s length and writes ended flows into
    rows sized by len(batch): a PacketBatch whose status had 2,000,000 rows over 270
    packets was 'corrupted double-linked list' (abort), and shorter columns were read past
    their end without a word."""
    b = _three_flows()
    column = getattr(b, field)
    setattr(b, field, np.concatenate([column, column[:1]]))
    with pytest.raises(ValueError, match=f"PacketBatch.{field} has 4 rows, 3 packets"):
        FlowTable().update(b)


@pytest.mark.parametrize(("field", "dtype"), [("ts_ns", np.float64), ("src_port", np.int32),
                                              ("src_addr", np.uint16), ("status", np.int64)])
def test_a_column_of_another_type_says_which_and_what(field: str, dtype: type) -> None:
    """numba's message named an argument number of the kernel's signature."""
    b = _three_flows()
    setattr(b, field, getattr(b, field).astype(dtype))
    with pytest.raises(TypeError, match=f"PacketBatch.{field} must be"):
        FlowTable().update(b)


def _held(raw: RawFlows) -> int:
    """Bytes of memory the RawFlows keeps alive: its rows' whole allocation."""
    base = raw.rows
    while isinstance(base.base, np.ndarray):
        base = base.base
    return int(base.nbytes)


@pytest.mark.parametrize("idle", [None, 60.0])
def test_what_update_returns_holds_the_flows_it_ended_not_the_batch(idle) -> None:
    """update returned a view into rows allocated for every packet of the batch (128
    bytes each) however few flows ended: README's loop, which keeps each update's
    RawFlows until the end, held 128 bytes of address space per packet read (10,000
    packets, no flow ended: 1.28 MB for nothing). Untouched, most of it was not
    resident, but it counts against an address-space limit (ulimit -v) and a strict
    overcommit policy."""
    n = 10_000
    client = (0x0A000000 + np.arange(n) % 50).astype(np.uint32)
    b = batch(client, np.full(n, 40000), np.full(n, 0xC6336401), np.full(n, 53),
              T0 + np.arange(n, dtype=np.int64))
    table = FlowTable(idle_timeout=idle)
    kept = [table.update(b) for _ in range(3)]
    assert all(len(raw) == 0 for raw in kept)
    assert all(_held(raw) <= 16 * 128 for raw in kept), [_held(raw) for raw in kept]
    late = batch(client[:1], [40000], [0xC6336401], [53], [T0 + 200 * SEC])
    ended = table.update(late)  # the clock passes every flow's end (idle) or nothing
    assert _held(ended) <= max(1, len(ended)) * 2 * 128


@pytest.mark.parametrize("field", ["status", "ts_ns", "src_port"])
def test_a_column_without_rows_says_what_it_must_be(field: str) -> None:
    """A 0-d array (np.uint16(53) set as a column) passed the row-shape check, whose
    shape[1:] is () as a column's, and the check then failed on its own shape[0]:
    IndexError 'tuple index out of range' instead of what the column must be."""
    b = _three_flows()
    setattr(b, field, np.asarray(getattr(b, field)[0]))
    with pytest.raises(TypeError, match=f"PacketBatch.{field} must be a contiguous 1-D"):
        FlowTable().update(b)


@pytest.mark.parametrize(("number", "error", "message"), [
    (np.arange(1, 3, dtype=np.int64), ValueError, "PacketBatch.number has 2 rows, 3 packets"),
    ([1, 2, 3], TypeError, "PacketBatch.number must be a contiguous 1-D numpy array of int64"),
])
def test_a_number_column_of_another_length_is_named(number: object, error: type,
                                                    message: str) -> None:
    """len(batch) is `number`'s length, which the check did not look at: a `number` of 2
    rows over 3 packets was blamed on the first column checked ('PacketBatch.src_addr has
    3 rows, 2 packets'), and a list was AttributeError "'list' object has no attribute
    'shape'"."""
    b = _three_flows()
    b.number = number  # type: ignore[assignment]
    with pytest.raises(error, match=re.escape(message)):
        FlowTable().update(b)
