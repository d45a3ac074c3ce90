"""decode/ip.py through the decoder: a first fragment whose IP length ends before its
ports, frame by frame, against values worked out by hand and against tshark.

A first fragment's IP length is the fragment's, not the datagram's: when it ends inside
or right after a header of the fragmentable part (after the IPv4 header, after the IPv6
Fragment header), the rest of that header and the ports are in the next fragment (RFC
7112's case, a header chain split across fragments). Nothing contradicts anything, and
tshark shows such a frame as an unreassembled fragment, never malformed: status
`fragment`, like a later fragment whose ports portannot cannot see (README, "Decode
status"). A length that ends before a header of the unfragmentable part (the IPv6
hop-by-hop header before the Fragment header), or the IP length of a packet that is not
a first fragment (an atomic fragment, a whole packet), still contradicts the headers:
`malformed`. The capture's snaplen cutting the ports off stays `truncated`. A first
fragment whose frame ends before its ports under an IP length past it is `fragment` too:
tshark reads its payload as a fragment's and notes the length only.
"""

from __future__ import annotations

import pytest
from capgen import write_pcap
from scapy.layers.inet import IP, TCP, UDP, IPOption_LSRR
from scapy.layers.inet6 import (
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    PadN,
)
from scapy.layers.ipsec import AH
from scapy.packet import Raw
from tshark_oracle import TSHARK, oracle

LINKTYPE_RAW = 101
A4, B4 = "192.0.2.1", "198.51.100.2"
A6, B6 = "2001:db8::1", "2001:db8:1::2"
T0 = 1_700_000_000 * 10**9

UDP16 = bytes(UDP(sport=43000, dport=53, len=24, chksum=0) / Raw(b"q" * 16))  # 24 bytes
SYN = bytes(TCP(sport=43001, dport=80, flags="S", chksum=0))  # 20 bytes
DSTOPTS16 = bytes(IPv6ExtHdrDestOpt(nh=17, options=[PadN(optdata=b"\0" * 12)]))  # 16 bytes
ROUTING24 = bytes(IPv6ExtHdrRouting(nh=17, addresses=["2001:db8::9"], segleft=0))  # 24 bytes
AH24 = bytes(AH(nh=17, payloadlen=4, spi=0x104, seq=1, icv=b"\xdd" * 12))  # 24 bytes


def v4(payload: bytes, *, proto: int = 17, more: bool = True, length: int | None = None) -> bytes:
    """An IPv4 first fragment (offset 0; MF unless `more` is false) of `payload`."""
    return bytes(IP(src=A4, dst=B4, id=7, proto=proto, flags="MF" if more else 0, len=length)
                 / Raw(payload))


def v6(payload: bytes, *, nh: int = 17, more: bool = True, plen: int | None = None,
       hbh: bool = False) -> bytes:
    """An IPv6 first fragment (Fragment header, offset 0, M unless `more` is false) of
    `payload`; `hbh` puts a hop-by-hop header before the Fragment header."""
    head = IPv6(src=A6, dst=B6, plen=plen)
    if hbh:
        head = head / IPv6ExtHdrHopByHop()
    return bytes(head / IPv6ExtHdrFragment(nh=nh, offset=0, m=int(more), id=7) / Raw(payload))


PORTS_4 = ("ports", 4, "tcp", 43001, 80)
FRAG_4, FRAG_6 = ("fragment", 4, None, 0, 0), ("fragment", 6, None, 0, 0)
MAL_4, MAL_6 = ("malformed", 4, None, 0, 0), ("malformed", 6, None, 0, 0)

#: (id, frame, bytes captured (None: all), ours: (status, IP version, transport, ports),
#: tshark: (ports shown, malformed)), worked out by hand
CASES = [
    # RFC 7112: Fragment -> dest-opts (next header UDP) filling the fragment
    ("v6-chain-split", v6(DSTOPTS16, nh=60), None, FRAG_6, (None, False)),
    # the fragment ends inside the dest-opts header (8 of its 16 bytes) ...
    ("v6-dstopts-cut", v6(DSTOPTS16[:8], nh=60), None, FRAG_6, (None, False)),
    # ... or an option (PadN of 32 bytes) runs past the fragment's end
    ("v6-option-past", v6(b"\x11\x00\x01\x20" + bytes(4), nh=60), None, FRAG_6, (None, False)),
    # a routing header after the Fragment header, 16 of its 24 bytes
    ("v6-routing-cut", v6(ROUTING24[:16], nh=43), None, FRAG_6, (None, False)),
    # 2 bytes of the UDP header
    ("v6-udp-2", v6(UDP16[:2]), None, FRAG_6, (None, False)),
    # the IPv4 equivalents: AH filling the fragment, AH cut, 2 bytes of UDP, nothing
    ("v4-ah-fills", v4(AH24, proto=51), None, FRAG_4, (None, False)),
    ("v4-ah-cut", v4(AH24[:16], proto=51), None, FRAG_4, (None, False)),
    ("v4-udp-2", v4(UDP16[:2]), None, FRAG_4, (None, False)),
    ("v4-empty", v4(b""), None, FRAG_4, (None, False)),
    # 8 bytes of TCP: the ports are there (the flags are not)
    ("v4-tcp-8", v4(SYN[:8], proto=6), None, PORTS_4, (("tcp", 43001, 80), False)),
    # not the fragmentable part: the payload length ends inside the hop-by-hop header
    # that comes before the Fragment header
    ("v6-hbh-cut", v6(UDP16, hbh=True, plen=4), None, ("malformed", 6, None, 0, 0), (None, True)),
    # not a first fragment: an atomic fragment (offset 0, M=0) and a whole IPv4 packet
    # whose lengths leave 2 bytes of UDP
    ("v6-atomic-udp-2", v6(UDP16, more=False, plen=10), None, MAL_6, (None, True)),
    ("v4-whole-udp-2", v4(UDP16, more=False, length=22), None, MAL_4, (None, True)),
    # the snaplen cuts a first fragment before its ports: truncated
    ("v4-cut", v4(UDP16), 22, ("truncated", 4, None, 0, 0), (None, False)),
    ("v6-cut", v6(UDP16), 50, ("truncated", 6, None, 0, 0), (None, False)),
]
#: first fragments shorter than their IP length with nothing cut: the frame ends before
#: the ports as the fragment would (`fragment`, not malformed as a whole packet would be:
#: tshark only notes the length and shows an unreassembled fragment; these were malformed
#: before 20261207, while the same frames cut by the snaplen too were `fragment`)
SHORTER_THAN_IP_LENGTH = [
    ("v4-frame-short", v4(UDP16[:2], length=100), None, FRAG_4, "exceeds packet length"),
    ("v6-frame-short", v6(UDP16[:2], plen=100), None, FRAG_6, "exceeds framing length"),
]


def _frame(frame: bytes, captured: int | None):
    return frame if captured is None else (frame[:captured], len(frame))


@pytest.mark.parametrize(("name", "frame", "captured", "ours", "tshark"), CASES,
                         ids=[c[0] for c in CASES])
def test_a_first_fragment_that_ends_before_its_ports(decoded, name, frame, captured, ours, tshark):
    (seen,) = decoded(LINKTYPE_RAW, [_frame(frame, captured)])
    assert (seen.status, seen.ip_version, seen.transport, seen.src_port, seen.dst_port) == ours


@pytest.mark.parametrize(("name", "frame", "captured", "ours", "note"), SHORTER_THAN_IP_LENGTH,
                         ids=[c[0] for c in SHORTER_THAN_IP_LENGTH])
def test_a_first_fragment_shorter_than_its_ip_length(decoded, name, frame, captured, ours,
                                                    note):
    (seen,) = decoded(LINKTYPE_RAW, [_frame(frame, captured)])
    assert (seen.status, seen.ip_version, seen.transport, seen.src_port, seen.dst_port) == ours


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_tshark_shows_them_so(tmp_path):
    """The same frames through tshark (defragmentation off): the first fragments that
    end before their ports show no ports and are not malformed (tshark: "Unreassembled
    Packet"); the others are as worked out above."""
    cases = CASES + SHORTER_THAN_IP_LENGTH
    records = [(T0 + i * 1000, frame) if captured is None else (T0 + i * 1000, frame[:captured],
                                                                 len(frame))
               for i, (_, frame, captured, _, _) in enumerate(cases)]
    rows = oracle(write_pcap(tmp_path / "first-fragments.pcap", records, linktype=LINKTYPE_RAW))
    assert len(rows) == len(cases)
    for r, (name, _, _, ours, view) in zip(rows, cases, strict=True):
        ports = (r.transport, r.src_port, r.dst_port) if r.transport else None
        assert r.ip_version == ours[1], name
        if isinstance(view, str):  # shorter than its IP length: noted, not malformed
            assert ports is None and not r.malformed and view in r.expert, (name, r)
            continue
        assert (ports, r.malformed) == view, (name, r)
        if ours[0] == "fragment":  # (an empty one tshark does not try to dissect)
            assert r.is_first_fragment, (name, r)
            assert r.frag_payload == 0 or "Unreassembled" in r.expert, (name, r)


def _length_zero(version: int) -> bytes:
    """A whole UDP packet whose IP length field is 0, as TSO and BIG TCP leave it."""
    if version == 4:
        frame = bytearray(bytes(IP(src=A4, dst=B4, proto=17) / Raw(UDP16)))
        frame[2:4] = b"\0\0"
        return bytes(frame)
    return bytes(IPv6(src=A6, dst=B6, nh=17, plen=0) / Raw(UDP16))


@pytest.mark.parametrize(("version", "captured", "ours"), [
    (4, None, ("ports", 4, "udp", 43000, 53)),  # the frame gives the length
    (4, 22, ("truncated", 4, None, 0, 0)),  # the snaplen cut 2 bytes into the UDP header
    (4, 20, ("truncated", 4, None, 0, 0)),  # ... right after the IPv4 header
    (6, None, ("ports", 6, "udp", 43000, 53)),
    (6, 42, ("truncated", 6, None, 0, 0)),
    (6, 40, ("truncated", 6, None, 0, 0)),
])
def test_an_ip_length_of_0_ends_where_the_frame_does_on_the_wire(decoded, version, captured,
                                                                  ours):
    """An IP length of 0 takes the packet's end from the frame: from its length on the
    wire, not from what the snaplen kept, so a header the snaplen cut is truncated as in
    any packet (it was malformed: the cut bytes were taken for the packet's end)."""
    (seen,) = decoded(LINKTYPE_RAW, [_frame(_length_zero(version), captured)])
    assert (seen.status, seen.ip_version, seen.transport, seen.src_port, seen.dst_port) == ours


def test_an_ipv4_header_cut_inside_its_options_gives_no_addresses(tmp_path):
    """README ('A value is null where it does not apply'): an IPv4 header the snaplen
    cut before its end, options included, is `truncated` with no addresses, IP version
    or protocol: a source-route option cut short could change the destination. A header
    captured whole but for its payload keeps them."""
    import portannot

    routed = bytes(IP(src=A4, dst=B4, options=[IPOption_LSRR(routers=["203.0.113.9"])])
                   / UDP(sport=40000, dport=53) / Raw(b"q" * 20))
    plain = bytes(IP(src=A4, dst=B4) / UDP(sport=40001, dport=53) / Raw(b"q" * 20))
    path = write_pcap(tmp_path / "cut.pcap", [(T0, routed[:22], len(routed)),
                                              (T0 + 1, plain[:22], len(plain))],
                      linktype=LINKTYPE_RAW)
    rows = portannot.packets(path).to_pydict()
    assert rows["status"] == ["truncated", "truncated"]
    assert rows["src_addr"] == [None, A4]
    assert rows["dst_addr"] == [None, B4]
    assert rows["ip_version"] == [None, 4]
    assert rows["ip_proto"] == [None, 17]
