"""Per frame, portannot's outermost IP addresses, transport and ports equal tshark's.

For every capture in ../shared/pcaps (all sub-directories) and in pcaps/, each record
is compared with tshark's dissection of the same frame (tests/tshark_oracle.py:
defragmentation off, outermost IP layer, the transport right after it and its IPv6
extension headers; ports quoted in ICMP errors or carried by a tunnel are not the
packet's own).

Rules, frame by frame (``ours`` = portannot's row, ``tshark`` = the oracle's):

* tshark decoded ports -> ours has status PORTS, the same transport and ports.
* tshark has no ports -> ours is not PORTS and its ports are 0. One allowed
  difference: a later IP fragment whose first fragment came earlier in the file may
  carry that first fragment's transport and ports (portannot attributes it to the flow;
  tshark, with defragmentation off, shows bare data). They must then be exactly the
  first fragment's.
* tshark has the outermost addresses -> ours has the same IP version and addresses,
  unless ours calls the packet TRUNCATED or MALFORMED and reports no IP layer.
  tshark has none -> ours has none either, unless ours is TRUNCATED or MALFORMED
  (tshark drops addresses of some damaged headers it still partly reads).
* TCP flags: where tshark decoded the outermost TCP header's flags, ours are the same;
  where it did not (the header is cut before them, or its length field is bogus), and
  on every packet that is not TCP, ours are 0. The sequence number likewise, against
  tshark's tcp.seq_raw.
* VLAN: ours is the id of the first tag after the link header, as tshark's
  vlan.id, or the id in the 802.1ad layer's summary (a double 802.1ad layer has an S-VID
  and no ieee8021ad.id), of that tag; none where tshark has none.
* frame.len, the captured length and the time (frame.time_epoch, to the nanosecond,
  where tshark shows a valid one: tests/tshark_oracle.epoch_ns) agree.

Frames where the two legitimately differ are listed, with the reason, in
EXPECTED_DIFFERENCES; those frames are left out of the comparison (and only those).
"""

from __future__ import annotations

import numpy as np
import pytest
from paths import (
    capture_id,
    capture_params,
    local_capture,
    local_captures,
    shared_capture,
    shared_captures,
)
from tshark_oracle import (
    TSHARK,
    addr_from_bytes,
    attribute_fragments,
    conversations,
    epoch_ns,
    flow_key,
    oracle,
    prefetch,
)

from portannot.decode import NO_VLAN, decode_file
from portannot.decode.columns import NO_TCP_HEADER
from portannot.status import STATUS_NAMES, Status
from portannot.transport import TRANSPORT_NAMES, Transport

#: capture id -> {frame number: reason}. Keep minimal and justified.
EXPECTED_DIFFERENCES: dict[str, dict[int, str]] = {
    "pcaps/truncated.pcap": {
        12: "snaplen keeps exactly the 4 bytes of SCTP ports; tshark 4.0 needs the whole "
            "12-byte SCTP common header before it shows any field, portannot reports the "
            "ports it has (status PORTS)",
    },
}

PARAMS = capture_params()


@pytest.fixture(scope="module", autouse=True)
def _tshark_all():
    """Run tshark over every capture up front, in parallel (results are cached)."""
    prefetch(local_captures() + shared_captures())


def _ours(batch, i: int) -> dict:
    status = int(batch.status[i])
    tr = int(batch.transport[i])
    ipv = int(batch.ip_version[i])
    return {
        "status": STATUS_NAMES[status] if status < len(STATUS_NAMES) else f"?{status}",
        "status_code": status,
        "transport": TRANSPORT_NAMES[tr] if tr != Transport.NONE and tr < 4 else None,
        "src_port": int(batch.src_port[i]),
        "dst_port": int(batch.dst_port[i]),
        "ip_version": ipv,
        "src": addr_from_bytes(batch.src_addr[i], ipv),
        "dst": addr_from_bytes(batch.dst_addr[i], ipv),
        # a later fragment has no TCP header: no flags, as tshark shows none
        "tcp_flags": None if batch.tcp_flags[i] == NO_TCP_HEADER else int(batch.tcp_flags[i]),
        "tcp_seq": int(batch.tcp_seq[i]),
        "vlan": None if int(batch.vlan[i]) == NO_VLAN else int(batch.vlan[i]),
    }


def _fmt_ours(o: dict) -> str:
    ports = f"{o['transport']} {o['src_port']}->{o['dst_port']}" if o["status"] == "ports" else (
        f"{o['transport'] or '-'} {o['src_port']}->{o['dst_port']}")
    return f"[{o['status']}] v{o['ip_version']} {o['src']} -> {o['dst']} {ports}"


def _fmt_tshark(r) -> str:
    ports = f"{r.transport} {r.src_port}->{r.dst_port}" if r.transport else "no ports"
    return f"[{r.protocols}] v{r.ip_version} {r.src} -> {r.dst} {ports}"


def _frame(r) -> str:
    """A frame as a disagreement names it: its packet number (portannot's), and, where
    tshark numbers it otherwise (after a pcapng Custom Block, which tshark counts as a
    frame), tshark's frame.number, the one to look it up by."""
    return str(r.number) if r.frame == r.number else f"{r.number} (tshark's frame.number {r.frame})"


def compare(batch, rows, expected: dict[int, str]) -> list[str]:
    """Human-readable disagreements between portannot's batch and tshark's rows."""
    problems: list[str] = []
    if len(batch) != len(rows):
        return [f"record count: ours {len(batch)}, tshark {len(rows)}"]
    frag_ports = attribute_fragments(rows)
    damaged = (Status.TRUNCATED, Status.MALFORMED)
    for i, r in enumerate(rows):
        if r.number in expected:
            continue
        o = _ours(batch, i)
        why: list[str] = []
        if int(batch.number[i]) != r.number:
            why.append(f"number {int(batch.number[i])} != {r.number}")
        if r.ts_ns is not None and int(batch.ts_ns[i]) != r.ts_ns:
            why.append(f"time {int(batch.ts_ns[i])} ns != {r.ts_ns} ns")
        if int(batch.length[i]) != r.length or int(batch.caplen[i]) != r.caplen:
            why.append(f"length/caplen {int(batch.length[i])}/{int(batch.caplen[i])} "
                       f"!= {r.length}/{r.caplen}")
        has_ports = o["status_code"] == Status.PORTS
        if r.transport is not None:
            if not has_ports or (o["transport"], o["src_port"], o["dst_port"]) != (
                    r.transport, r.src_port, r.dst_port):
                why.append("ports differ")
        elif has_ports:
            carried = frag_ports.get(r.number)
            if carried is None:
                why.append("ours has ports, tshark none")
            elif (o["transport"], o["src_port"], o["dst_port"]) != carried:
                why.append(f"later fragment carries {o['transport']} {o['src_port']}->"
                           f"{o['dst_port']}, its first fragment had {carried}")
        elif o["src_port"] or o["dst_port"]:
            why.append("non-zero ports without status PORTS")
        if o["vlan"] != r.vlan:
            why.append(f"VLAN {o['vlan']}, tshark's {r.vlan}")
        if r.transport is None and o["transport"] == "tcp" and o["tcp_flags"] is not None:
            why.append(f"TCP flags 0x{o['tcp_flags']:03x} on a frame without a TCP header")
        if (o["tcp_flags"] or 0) != (r.tcp_flags or 0):
            why.append(f"TCP flags 0x{o['tcp_flags'] or 0:03x}, tshark's "
                       + ("none" if r.tcp_flags is None else f"0x{r.tcp_flags:03x}"))
        if o["tcp_seq"] != (r.tcp_seq or 0):
            why.append(f"TCP sequence number {o['tcp_seq']}, tshark's {r.tcp_seq}")
        if r.src is not None:
            if o["ip_version"] == 0:
                if o["status_code"] not in damaged:
                    why.append("ours has no IP addresses")
            elif (o["ip_version"], o["src"], o["dst"]) != (r.ip_version, r.src, r.dst):
                why.append("addresses differ")
        elif o["ip_version"] != 0 and o["status_code"] not in damaged:
            why.append("ours has IP addresses, tshark none")
        if why:
            problems.append(f"frame {_frame(r)}: {'; '.join(why)}\n"
                            f"    ours:   {_fmt_ours(o)}\n    tshark: {_fmt_tshark(r)}")
    return problems


@pytest.mark.parametrize("capture", PARAMS)
def test_agrees_with_tshark(capture):
    cid = capture_id(capture)
    rows = oracle(capture)
    batch = decode_file(capture)
    expected = EXPECTED_DIFFERENCES.get(cid, {})
    unknown = sorted(set(expected) - {r.number for r in rows})
    assert not unknown, f"EXPECTED_DIFFERENCES lists frames {unknown} that {cid} does not have"
    problems = compare(batch, rows, expected)
    shown = "\n".join(problems[:25])
    more = f"\n... and {len(problems) - 25} more" if len(problems) > 25 else ""
    assert not problems, f"{cid}: {len(problems)} frame(s) disagree with tshark:\n{shown}{more}"


def test_expected_differences_name_real_captures():
    """Every EXPECTED_DIFFERENCES key names a capture the suite actually runs on."""
    ids = {capture_id(p) for p in local_captures() + shared_captures()}
    if not ids:
        pytest.skip("no captures found")
    stale = [k for k in EXPECTED_DIFFERENCES if k not in ids and not (
        k.startswith("shared/") and not shared_captures())]
    assert not stale, f"EXPECTED_DIFFERENCES names captures that do not exist: {stale}"


#: captures with source routes (pcaps/README.md), and the frames where portannot keeps
#: the header's destination on purpose: tshark's conversations name an RPL (type 3)
#: route's last address, portannot does not decompress RPL addresses
SOURCE_ROUTED: dict[str, tuple[int, ...]] = {
    "pcaps/source-routes.pcap": (8,),
    "shared/tcpdump/ipv6-routing-header.pcap": (),
    "shared/tcpdump/ipv6-srh-insert-cksum.pcap": (),
    "shared/zeek/ipv6-hbh-routing0.pcap": (),
}


@pytest.mark.parametrize("cid", list(SOURCE_ROUTED))
def test_source_routed_packets_make_tshark_conversations(cid):
    """A source-routed packet's destination is the route's final one, as tshark's own
    conversation tables key it (not its per-frame ipv6.dst, the next hop): a request
    and the reply from the final destination are one conversation, two-way."""
    kind, name = cid.split("/", 1)
    path = local_capture(name) if kind == "pcaps" else shared_capture(name)
    skip = SOURCE_ROUTED[cid]
    batch = decode_file(path)
    ours: dict[tuple, dict[tuple[str, int], int]] = {}
    for i in range(len(batch)):
        if int(batch.status[i]) != Status.PORTS or int(batch.number[i]) in skip:
            continue
        o = _ours(batch, i)
        a, b = (o["src"], o["src_port"]), (o["dst"], o["dst_port"])
        sent = ours.setdefault(flow_key(o["transport"], a, b), {a: 0, b: 0})
        sent[a] += 1
    assert ours == conversations(path, exclude=" or ".join(f"frame.number == {n}" for n in skip))


def test_oracle_skips_quoted_and_tunnelled_ports():
    """The oracle itself: ICMP-quoted and tunnelled ports are not the packet's own,
    the outer UDP of VXLAN is (pcaps/transports.pcap, see pcaps/README.md)."""
    rows = {r.number: r for r in oracle(local_capture("transports.pcap"))}
    for n in range(22, 32):  # GRE, IP-in-IP, 6in4, 4in6, 6in6, ICMP/ICMPv6 errors
        assert rows[n].transport is None, rows[n]
        assert rows[n].ip_version in (4, 6)
    assert (rows[32].transport, rows[32].src_port, rows[32].dst_port) == ("udp", 44008, 4789)
    assert np.all([rows[n].transport == "tcp" for n in range(1, 11)])


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_a_disagreement_names_the_frame_tshark_shows_it_as() -> None:
    """scripts/tshark_random.py (blocks, --damage all, seed 1140) named a disagreement
    'frame 1474' to look up with `tshark -Y frame.number==1474`, which showed another
    frame (an IPv6 TCP one): the rows count packet records, as portannot does, and tshark
    counts each pcapng Custom Block as a frame too, 38 of them before it (the frame was
    tshark's 1512, an IPv6 payload length of 0, a kind pcaps/README.md lists). Now a
    disagreement after such a block also names tshark's frame number: here a row of
    pcapng-multi.pcapng (a Custom Block in each of its two sections) made to disagree,
    looked up by that number in tshark itself."""
    import dataclasses
    import subprocess

    path = local_capture("pcapng-multi.pcapng")
    rows = oracle(path)
    batch = decode_file(path)
    assert [r.number for r in rows] == [int(n) for n in batch.number] == list(range(1, 8))
    assert [r.frame for r in rows] == [1, 2, 4, 5, 7, 8, 9]  # frames 3 and 6: Custom Blocks
    last = rows[-1]
    changed = [*rows[:-1], dataclasses.replace(last, vlan=4094)]
    [problem] = compare(batch, changed, {})
    assert problem.startswith("frame 7 (tshark's frame.number 9): VLAN None, tshark's 4094")
    shown = subprocess.run([TSHARK, "-n", "-r", str(path), "-Y", "frame.number==9", "-T",
                            "fields", "-e", "frame.len", "-e", "frame.time_epoch"],
                           capture_output=True, text=True, check=True).stdout.split()
    assert (int(shown[0]), epoch_ns(shown[1])) == (last.length, last.ts_ns)
