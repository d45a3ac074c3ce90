"""decode/ports.py through the decoder: which status a transport header whose ports are
not all there gets, as tshark reads it.

tshark reads the source port, then the destination port; a read past the captured bytes
is a cut capture (tshark: no "Malformed Packet") unless it runs past the IP payload too
(a malformed one). So where the IP length ends inside the ports and the snaplen cut the
packet before the source port's end, the cut comes first: `truncated`; where the source
port is whole and the IP length ends inside the destination port, `malformed`. The IP
total lengths and captured byte counts below are worked out by hand (20 bytes of IPv4
header, 40 of IPv6, the ports in the transport header's first 4 bytes).
"""

from __future__ import annotations

import struct

import pytest
from capgen import dccp_header, write_pcap
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from tshark_oracle import TSHARK, oracle

A4, B4 = "192.0.2.1", "198.51.100.2"
A6, B6 = "2001:db8::1", "2001:db8:0:1::2"
SPORT, DPORT = 40000, 443
MAC = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}
ETHERNET = 1
#: the transports with ports, and a header of each to take them from
HEADERS = {6: bytes(TCP(sport=SPORT, dport=DPORT)), 17: bytes(UDP(sport=SPORT, dport=DPORT)),
           33: dccp_header(SPORT, DPORT), 132: struct.pack(">HH", SPORT, DPORT) + bytes(8)}
#: (IP payload length by the IP header, transport bytes captured, status): the IP
#: length ends inside the ports or after them, the snaplen cut before or inside them
CUTS = [
    (2, 1, "truncated"),  # the source port cut, and within the IP length: the cut first
    (2, 0, "truncated"),
    (3, 1, "truncated"),
    (1, 0, "malformed"),  # the source port runs past the IP payload
    (3, 2, "malformed"),  # the source port whole, the destination port past the payload
    (3, 3, "malformed"),
    (4, 3, "truncated"),  # the ports within the IP length, cut
    (4, 4, "ports"),
]


def ipv4(proto: int, payload: int, flags: str = "") -> bytes:
    header = bytearray(bytes(IP(src=A4, dst=B4, proto=proto, flags=flags)))
    header[2:4] = struct.pack(">H", 20 + payload)
    return bytes(Ether(**MAC, type=0x0800)) + bytes(header) + HEADERS[proto][:4]


def ipv6(proto: int, payload: int) -> bytes:
    header = bytes(IPv6(src=A6, dst=B6, nh=proto, plen=payload))
    return bytes(Ether(**MAC, type=0x86DD)) + header + HEADERS[proto][:4]


def frames() -> list[tuple[tuple[bytes, int], str]]:
    """((captured bytes, original length), status): each cut for each transport over
    IPv4, and over IPv6 and in an IPv4 first fragment (MF) for UDP. A first fragment cut
    before its source port is cut too: tshark dissects it as UDP and finds it short."""
    out = []

    def cut(frame: bytes, transport_at: int, captured: int, status: str) -> None:
        out.append(((frame[:transport_at + captured], len(frame)), status))

    for proto in HEADERS:
        for payload, captured, status in CUTS:
            if proto != 132 or status != "ports":  # tshark shows SCTP's ports only with the
                cut(ipv4(proto, payload), 34, captured, status)  # whole 12-byte header
    for payload, captured, status in CUTS:
        cut(ipv6(17, payload), 54, captured, status)
    cut(ipv4(17, 2, flags="MF"), 34, 1, "truncated")
    return out


def test_ports_cut_and_past_the_ip_length(decoded):
    built = frames()
    got = decoded(ETHERNET, [f for f, _ in built])
    assert [g.status for g in got] == [status for _, status in built]
    assert all((g.src_port, g.dst_port) == ((SPORT, DPORT) if s == "ports" else (0, 0))
               for g, (_, s) in zip(got, built, strict=True))


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_ports_cut_and_past_the_ip_length_as_tshark_reads_them(tmp_path):
    """tshark shows the ports where the status is ports (the header after them is cut
    by the IP length: malformed to tshark, whose ports count all the same); where it
    shows none, it calls the frame malformed where the status is malformed, and only
    there."""
    built = frames()
    path = write_pcap(tmp_path / "cuts.pcap", [(i * 1000, *f) for i, (f, _) in enumerate(built)],
                      linktype=ETHERNET)
    for row, (_, status) in zip(oracle(path), built, strict=True):
        if status == "ports":
            assert (row.src_port, row.dst_port) == (SPORT, DPORT), row.number
        else:
            assert (row.src_port, row.malformed) == (None, status == "malformed"), (
                row.number, row.protocols, status)


def test_an_empty_ipv4_payload_is_malformed(decoded):
    """An IPv4 packet of TCP, UDP, SCTP or DCCP whose total length is its header's (20)
    carries none of the transport header: malformed, as over IPv6 (README's malformed
    row), padding after it or not."""
    empty = [ipv4(proto, 0)[:34] + pad for proto in HEADERS for pad in (b"", bytes(26))]
    assert [g.status for g in decoded(ETHERNET, empty)] == ["malformed"] * len(empty)


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_an_empty_ipv4_payload_as_tshark_shows_it(tmp_path):
    """tshark 4.0 calls no transport dissector on an empty IPv4 payload and flags
    nothing (frame.protocols ends at ip), while it calls UDP on an empty IPv6 payload
    behind a hop-by-hop header and shows it malformed: the difference README keeps."""
    from scapy.layers.inet6 import IPv6ExtHdrHopByHop

    v6 = bytes(Ether(**MAC, type=0x86DD) / IPv6(src=A6, dst=B6, plen=8)
               / IPv6ExtHdrHopByHop(nh=17))
    frames = [ipv4(proto, 0)[:34] for proto in HEADERS] + [v6]
    path = write_pcap(tmp_path / "empty.pcap", list(enumerate(frames)), linktype=ETHERNET)
    rows = oracle(path)
    assert [(r.protocols.split(":")[-1], r.malformed) for r in rows] == (
        [("ip", False)] * len(HEADERS) + [("udp", True)])


#: (transport bytes on the wire, captured, status): the IP length runs past the frame,
#: which ends inside the ports on the wire, and the snaplen cut it shorter; tshark reads
#: the IP payload up to the frame's end, so the port it stops at is malformed where it
#: runs past that end too, else cut (IPv4 header fields likewise: README's truncated row)
FRAME_ENDS = [
    (1, 0, "malformed"),  # the source port runs past the frame's end
    (2, 0, "truncated"),
    (2, 1, "truncated"),
    (3, 1, "truncated"),
    (3, 2, "malformed"),  # the destination port runs past it
    (4, 3, "truncated"),
]


def frames_ending_inside_the_ports() -> list[tuple[tuple[bytes, int], str]]:
    """((captured bytes, original length), status): each case for TCP, UDP and DCCP over
    IPv4 (IP payload length 8 on a frame that holds fewer of it) and UDP over IPv6 (a
    payload length of 8). These were truncated where tshark 4.0 flags Malformed Packet:
    the decoder held the ports against the IP length only."""
    out = []
    for proto in (6, 17, 33):
        for wire, captured, status in FRAME_ENDS:
            frame = ipv4(proto, 8)[:34 + wire]
            out.append(((frame[:34 + captured], len(frame)), status))
    for wire, captured, status in FRAME_ENDS:
        frame = ipv6(17, 8)[:54 + wire]
        out.append(((frame[:54 + captured], len(frame)), status))
    return out


def test_a_frame_ending_inside_the_ports(decoded):
    built = frames_ending_inside_the_ports()
    assert [g.status for g in decoded(ETHERNET, [f for f, _ in built])] == [s for _, s in built]


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_a_frame_ending_inside_the_ports_as_tshark_reads_it(tmp_path):
    built = frames_ending_inside_the_ports()
    path = write_pcap(tmp_path / "ends.pcap", [(i * 1000, *f) for i, (f, _) in enumerate(built)],
                      linktype=ETHERNET)
    for row, (_, status) in zip(oracle(path), built, strict=True):
        assert (row.src_port, row.malformed) == (None, status == "malformed"), (
            row.number, row.protocols, status)


#: (header before UDP, its bytes on the wire, captured): the snaplen cuts the header
#: inside a field that ends within the frame on the wire (AH: the SPI, bytes 4-7; a
#: type 0 routing header: its address, bytes 8-23), the IP length runs past the frame,
#: which ends before the ports or inside them
CUT_BEFORE_THE_PORTS = [("ah", 8, 4), ("ah", 25, 6), ("routing", 24, 8), ("routing", 26, 20)]


def frames_cut_before_their_ports() -> list[tuple[bytes, int]]:
    """(captured bytes, original length): each case over IPv4 (AH only) and IPv6. These
    were malformed where tshark 4.0 shows a cut capture: the decoder held the ports
    against the frame's end on the wire even where the snaplen had cut a header before
    them, at which tshark stops."""
    from scapy.layers.inet6 import IPv6ExtHdrRouting
    from scapy.layers.ipsec import AH

    ah = bytes(AH(nh=17, payloadlen=4, spi=1, seq=1, icv=bytes(12))) + HEADERS[17][:4]
    routing = bytes(IPv6ExtHdrRouting(nh=17, addresses=["2001:db8::9"], segleft=0)) + (
        HEADERS[17][:4])
    out = []
    for header, wire, captured in CUT_BEFORE_THE_PORTS:
        chain = ah if header == "ah" else routing
        nh = 51 if header == "ah" else 43
        v4 = bytearray(bytes(IP(src=A4, dst=B4, proto=nh)))
        v4[2:4] = struct.pack(">H", 20 + 40)
        ip = [bytes(v4)] if header == "ah" else []
        ip.append(bytes(IPv6(src=A6, dst=B6, nh=nh, plen=40)))
        for head in ip:
            lead = bytes(Ether(**MAC, type=0x0800 if head[0] >> 4 == 4 else 0x86DD)) + head
            frame = lead + chain[:wire]
            out.append((frame[:len(lead) + captured], len(frame)))
    return out


def test_a_header_before_the_ports_cut_by_the_snaplen(decoded):
    built = frames_cut_before_their_ports()
    assert [g.status for g in decoded(ETHERNET, built)] == ["truncated"] * len(built)


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_a_header_before_the_ports_cut_by_the_snaplen_as_tshark_reads_it(tmp_path):
    built = frames_cut_before_their_ports()
    path = write_pcap(tmp_path / "cut.pcap", [(i * 1000, *f) for i, f in enumerate(built)],
                      linktype=ETHERNET)
    rows = oracle(path)
    assert [(r.src_port, r.malformed) for r in rows] == [(None, False)] * len(built), [
        (r.number, r.protocols, r.expert) for r in rows]
    assert all(r.protocols.split(":")[-1] in ("ah", "ipv6.routing") for r in rows)
