"""decode/fragments.py through the decoder: which later IP fragments take their first
fragment's ports, frame by frame, against values worked out by hand and against tshark
(its per-frame fields, and the reference rule built on them, tshark_oracle.attribute_fragments).

An identification names one datagram at a time. Its latest first fragment names the
datagram (with its ports, or without any when that fragment showed none); once the
datagram's last fragment (MF=0) has been seen, the datagram ends at that fragment's
offset plus its payload, and a later fragment that starts there or beyond is another
datagram's, whose first fragment was not seen: status `fragment` (README, "Decode status").
"""

from __future__ import annotations

import struct
import subprocess

import pytest
from capgen import write_pcap
from paths import local_capture
from scapy.layers.inet import IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment
from scapy.layers.ipsec import AH
from scapy.packet import Raw
from tshark_oracle import TSHARK, attribute_fragments, oracle

import portannot
from portannot.decode import decode_file
from portannot.status import STATUS_NAMES

needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark not installed")

LINKTYPE_RAW = 101
A4, B4 = "192.0.2.1", "198.51.100.2"
A6, B6 = "2001:db8::1", "2001:db8:1::2"
T0 = 1_700_000_000 * 10**9

# ------------------------------------------------------------------ pcaps/fragment-ends.pcap

#: frame -> (status, transport, source port, destination port), worked out by hand from
#: pcaps/generate.py's cap_fragment_ends (pcaps/README.md lists the frames)
ENDS = {
    1: ("ports", "udp", 43000, 53),   # id 77, first fragment, 16 bytes
    2: ("ports", "udp", 43000, 53),   # its last (MF=0) at 16, 8 bytes: it ends at byte 24
    3: ("fragment", None, 0, 0),      # id 77 at 800: past the end, another datagram
    4: ("fragment", None, 0, 0),      # id 77 at 24, exactly the end
    5: ("ports", "udp", 43000, 53),   # the last fragment again, at 16
    6: ("ports", "udp", 43001, 53),   # a new first fragment with id 77: starts over
    7: ("ports", "udp", 43001, 53),   # ... its piece at 800
    8: ("ports", "udp", 43000, 53),   # IPv6, hop-by-hop before the Fragment header
    9: ("ports", "udp", 43000, 53),   # its last at 16, 8 bytes
    10: ("fragment", None, 0, 0),     # id 77 at 800
    11: ("fragment", None, 0, 0),     # Fragment, dest-opts, UDP in the next fragment
    12: ("fragment", None, 0, 0),     # ... that next fragment: its first showed no ports
    13: ("fragment", None, 0, 0),     # IPv4 AH fills the first fragment
    14: ("fragment", None, 0, 0),     # ... the UDP header after it
    15: ("ports", "tcp", 43004, 80),  # 8 bytes of TCP: the ports
    16: ("ports", "tcp", 43004, 80),  # ... the rest of its header
    17: ("fragment", None, 0, 0),     # 2 bytes of UDP in a first fragment
    18: ("fragment", None, 0, 0),     # a first fragment ending inside dest-opts
    19: ("fragment", None, 0, 0),     # id 77 again, 2 bytes of UDP: a datagram without ports
    20: ("fragment", None, 0, 0),     # ... its piece at 16 (not frame 6's 43001)
    21: ("malformed", None, 0, 0),    # an atomic fragment whose length leaves 2 bytes of UDP
}
#: what tshark shows: first fragments with ports, and whether it calls a frame malformed
TSHARK_PORTS = {1: ("udp", 43000, 53), 6: ("udp", 43001, 53), 8: ("udp", 43000, 53),
                15: ("tcp", 43004, 80)}
TSHARK_MALFORMED = {21}
#: the reference rule on tshark's fields: later fragments -> their first fragment's ports
REFERENCE = {2: ("udp", 43000, 53), 5: ("udp", 43000, 53), 7: ("udp", 43001, 53),
             9: ("udp", 43000, 53), 16: ("tcp", 43004, 80)}


def _seen(batch) -> dict[int, tuple]:
    out = {}
    for i in range(len(batch)):
        t = int(batch.transport[i])
        out[int(batch.number[i])] = (STATUS_NAMES[batch.status[i]],
                                     ("tcp", "udp", "sctp", "dccp")[t] if t < 4 else None,
                                     int(batch.src_port[i]), int(batch.dst_port[i]))
    return out


def test_fragment_ends_by_hand():
    assert _seen(decode_file(local_capture("fragment-ends.pcap"))) == ENDS


@needs_tshark
def test_fragment_ends_as_tshark_shows_them():
    rows = oracle(local_capture("fragment-ends.pcap"))
    assert [r.number for r in rows] == list(ENDS)
    for r in rows:
        ports = (r.transport, r.src_port, r.dst_port) if r.transport else None
        assert ports == TSHARK_PORTS.get(r.number), r
        assert r.malformed == (r.number in TSHARK_MALFORMED), r
        assert r.is_fragment == (r.number != 21), r  # 21: offset 0 and M=0, no fragment
    assert attribute_fragments(rows) == REFERENCE
    # where tshark shows ports, ours are those; a later fragment with ports has the
    # reference's; every other frame has none
    for n, (status, *ports) in ENDS.items():
        want = TSHARK_PORTS.get(n) or REFERENCE.get(n)
        assert (tuple(ports) if status == "ports" else None) == want, n


# ------------------------------------------------------------------ built datagrams

def _v4(start: int, payload: bytes, more: bool, ident: int = 9) -> bytes:
    """An IPv4 UDP fragment at byte `start` of datagram `ident`."""
    return bytes(IP(src=A4, dst=B4, id=ident, proto=17, flags="MF" if more else 0,
                    frag=start // 8) / Raw(payload))


def _v6(start: int, payload: bytes, more: bool, ident: int = 9) -> bytes:
    return bytes(IPv6(src=A6, dst=B6) / IPv6ExtHdrFragment(nh=17, offset=start // 8, m=int(more),
                                                           id=ident) / Raw(payload))


def _udp(sport: int) -> bytes:
    """A first fragment's 16 bytes: a UDP header (sport -> 53) and 8 bytes of data."""
    return bytes(UDP(sport=sport, dport=53, len=1000, chksum=0) / Raw(b"d" * 8))


P, FR = "ports", "fragment"

#: (id, fragment builder, [(start, payload, MF)], the statuses by hand)
SCENARIOS = [
    # the last fragment before a middle one: the middle one starts before the end (40)
    ("out-of-order", [(0, _udp(41000), True), (32, b"e" * 8, False), (16, b"m" * 16, True),
                      (40, b"x" * 8, True)], [P, P, P, FR]),
    # the first last fragment decides the end (24); a second one, ending at 16, does not
    # move it: a piece at 16 is still the datagram's, one at 24 is not
    ("first-last-decides", [(0, _udp(41001), True), (16, b"e" * 8, False),
                            (8, b"f" * 8, False), (16, b"g" * 8, True), (24, b"h" * 8, True)],
     [P, P, P, P, FR]),
    # a last fragment that starts past the end sets nothing: the datagram still ends at 24
    ("stray-last", [(0, _udp(41002), True), (16, b"e" * 8, False), (800, b"s" * 16, False),
                    (16, b"e" * 8, False), (24, b"t" * 8, True)], [P, P, FR, P, FR]),
    # without a last fragment, any offset is the datagram's
    ("no-end-yet", [(0, _udp(41003), True), (800, b"a" * 8, True), (8, b"b" * 8, True)],
     [P, P, P]),
]


def _ports(sport: int) -> tuple:
    return ("udp", sport, 53)


@pytest.mark.parametrize("build", [_v4, _v6], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize(("name", "pieces", "statuses"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_where_a_datagram_ends(decoded, build, name, pieces, statuses):
    seen = decoded(LINKTYPE_RAW, [build(*p) for p in pieces])
    sport = int.from_bytes(pieces[0][1][:2], "big")
    want = [(s, *(_ports(sport) if s == P else (None, 0, 0))) for s in statuses]
    assert [(s.status, s.transport, s.src_port, s.dst_port) for s in seen] == want


@needs_tshark
@pytest.mark.parametrize("build", [_v4, _v6], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize(("name", "pieces", "statuses"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_the_reference_rule_on_tshark_fields(tmp_path, build, name, pieces, statuses):
    """The same frames through tshark: the first fragment's ports are shown, the later
    fragments are bare data, and the reference rule on tshark's fields (offsets, MF,
    payload lengths) attributes exactly the later fragments the decoder gives ports."""
    path = write_pcap(tmp_path / f"{name}.pcap",
                      [(T0 + i * 1000, build(*p)) for i, p in enumerate(pieces)],
                      linktype=LINKTYPE_RAW)
    rows = oracle(path)
    sport = int.from_bytes(pieces[0][1][:2], "big")
    assert (rows[0].transport, rows[0].src_port, rows[0].dst_port) == _ports(sport)
    assert all(r.transport is None and r.is_later_fragment for r in rows[1:])
    assert [r.frag_payload for r in rows] == [len(p[1]) for p in pieces]
    later = {n for n, s in enumerate(statuses[1:], start=2) if s == P}
    assert attribute_fragments(rows) == dict.fromkeys(later, _ports(sport))


def test_the_datagram_end_holds_across_files(tmp_path):
    """The fragment table lives as long as the Decoder: across batches and files, a piece
    past the end of the datagram a first file completed is not of it, and a first
    fragment in the second file starts the identification over."""
    a = write_pcap(tmp_path / "a.pcap", [(T0, _v4(0, _udp(42000), True)),
                                         (T0 + 1000, _v4(16, b"e" * 8, False))],
                   linktype=LINKTYPE_RAW)
    b = write_pcap(tmp_path / "b.pcap", [(T0 + 2000, _v4(800, b"s" * 8, False)),
                                         (T0 + 3000, _v4(0, _udp(42001), True)),
                                         (T0 + 4000, _v4(800, b"s" * 8, False))],
                   linktype=LINKTYPE_RAW)
    batch = decode_file([a, b])
    got = [(STATUS_NAMES[batch.status[i]], int(batch.src_port[i])) for i in range(len(batch))]
    assert got == [(P, 42000), (P, 42000), (FR, 0), (P, 42001), (P, 42001)]


def test_ipv4_and_ipv6_fragments_are_kept_apart(decoded):
    """IPv4 addresses are held as ::ffff:a.b.c.d, but an IPv6 fragment between those
    IPv4-mapped addresses is no fragment of the IPv4 datagram with the same
    identification and protocol (README: IPv4 and IPv6 are kept apart; tshark, keying
    IPv4 and IPv6 fragments apart, shows it as bare data with no first fragment), nor the
    other way round."""
    mapped = IPv6(src="::ffff:" + A4, dst="::ffff:" + B4)
    v6_first = bytes(mapped / IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=9) / Raw(_udp(42100)))
    v6_later = bytes(mapped / IPv6ExtHdrFragment(nh=17, offset=2, m=1, id=9) / Raw(b"m" * 8))
    seen = decoded(LINKTYPE_RAW, [_v4(0, _udp(42101), True), v6_later,
                                  v6_first, _v4(16, b"e" * 8, True)])
    assert [(s.status, s.ip_version, s.src_port) for s in seen] == [
        (P, 4, 42101), (FR, 6, 0), (P, 6, 42100), (P, 4, 42101)]


def test_a_later_tcp_fragment_has_no_flags(tmp_path):
    """A later fragment of a TCP segment takes its first fragment's ports, but holds no
    TCP header: its tcp_flags is null, as tshark shows no tcp.flags there (README: null
    where a value does not apply; 0 only for a header cut before its flags, which caplen
    tells apart, or a segment sent without flags). It was 0, which no column told apart
    from a segment sent with no flags (a null scan). The flow's flags are the first
    fragment's."""
    segment = IP(src=A4, dst=B4, id=11) / TCP(sport=42200, dport=80, flags="PA") / Raw(b"a" * 2000)
    pieces = [bytes(f) for f in fragment(segment, 1000)]
    bare = bytes(IP(src=A4, dst=B4) / TCP(sport=42200, dport=80, flags=""))
    path = write_pcap(tmp_path / "tcp-fragments.pcap",
                      [(T0 + i * 1000, f) for i, f in enumerate([*pieces, bare])],
                      linktype=LINKTYPE_RAW)
    rows = portannot.packets(path).to_pydict()
    assert rows["status"] == [P] * 4
    assert rows["src_port"] == [42200] * 4
    assert rows["tcp_flags"] == [0x18, None, None, 0]
    flows = portannot.flows(path).to_pydict()
    assert (flows["orig_packets"], flows["orig_tcp_flags"]) == ([4], ["PA"])


def test_an_ipv6_later_fragment_is_found_whatever_its_next_header(decoded):
    """RFC 8200 4.5: the Next Header values in the Fragment headers of one packet's
    fragments may differ, and only the first fragment's is used; IPv6 reassembly
    (tshark's, Linux's) keys a datagram by its addresses and identification alone. A
    later fragment naming another next header (59 here) lost its datagram's ports."""
    pair = IPv6(src="2001:db8::1", dst="2001:db8::2")
    first = bytes(pair / IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=77) / Raw(_udp(42300)))
    later = bytes(pair / IPv6ExtHdrFragment(nh=59, offset=2, m=0, id=77) / Raw(b"n" * 8))
    other = bytes(pair / IPv6ExtHdrFragment(nh=17, offset=2, m=0, id=78) / Raw(b"o" * 8))
    seen = decoded(LINKTYPE_RAW, [first, later, other])
    assert [(s.status, s.src_port) for s in seen] == [(P, 42300), (P, 42300), (FR, 0)]


HOUR = 3600 * 10**9


@pytest.mark.parametrize("build", [_v4, _v6], ids=["ipv4", "ipv6"])
def test_capture_time_does_not_end_a_datagram(tmp_path, build):
    """README: a later fragment an hour after its first fragment still takes its ports,
    as tshark's reassembly (on, its default) joins the two into the datagram; the
    reference rule on tshark's fields (defragmentation off) attributes it too."""
    pieces = [(0, (0, _udp(42400), True)), (HOUR, (16, b"a" * 8, False))]
    path = write_pcap(tmp_path / "hour.pcap", [(T0 + t, build(*p)) for t, p in pieces],
                      linktype=LINKTYPE_RAW)
    batch = decode_file(path)
    assert [(STATUS_NAMES[s], int(p)) for s, p in zip(batch.status, batch.src_port)] == [
        (P, 42400), (P, 42400)]
    if TSHARK is None:
        return
    assert attribute_fragments(oracle(path)) == {2: _ports(42400)}
    out = subprocess.run([TSHARK, "-n", "-r", str(path), "-o", "ip.defragment:TRUE",
                          "-o", "ipv6.defragment:TRUE", "-T", "fields", "-e", "frame.number",
                          "-e", "udp.srcport"], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["1\t", "2\t42400"]  # reassembled in frame 2


# ------------------------------------------------- a first fragment cut short on the wire

#: the transports with ports, and the first 4 bytes of a header of each (the ports; the
#: frames below hold at most 3 of them)
PORTS = {proto: struct.pack(">HH", 40000, 443) for proto in (6, 17, 33, 132)}
#: an AH header of 24 bytes (12 of ICV) before UDP
AH_UDP = bytes(AH(nh=17, payloadlen=4, spi=1, seq=1, icv=bytes(12)))
#: where the frames below end: 0 to 3 bytes of the ports, an IP length of 24 past them
ON_THE_WIRE = (0, 1, 2, 3)


def _short_v4(proto: int, wire: int, more: bool) -> bytes:
    header = IP(src=A4, dst=B4, proto=proto, flags="MF" if more else 0, len=20 + 24)
    return bytes(header) + PORTS.get(proto, AH_UDP)[:wire]


def _short_v6(proto: int, wire: int, more: bool) -> bytes:
    return bytes(IPv6(src=A6, dst=B6, plen=8 + 24) / IPv6ExtHdrFragment(nh=proto, m=int(more),
                                                                        id=9)) + PORTS[proto][:wire]


def frames_ending_before_their_ports() -> list[tuple[bytes, str]]:
    """(frame, status by hand): first fragments (MF, offset 0) whose frame ends, uncut,
    inside or before their ports, or inside a header before them (dest-opts after the
    Fragment header, 4 of its 8 bytes; AH, 10 of its 24), under an IP length past the
    frame: `fragment`, as README's first fragment that ends before its ports; the same
    frames not fragmented, malformed (an IPv6 atomic fragment, M=0, is none). IPv4 with
    no byte of its payload is left out there: tshark calls no transport (README)."""
    out = []
    for more, status in ((True, FR), (False, "malformed")):
        for proto in PORTS:
            for wire in ON_THE_WIRE:
                if more or wire:
                    out.append((_short_v4(proto, wire, more), status))
                out.append((_short_v6(proto, wire, more), status))
        dstopts = bytes(IPv6ExtHdrDestOpt(nh=17))[:4]
        out.append((bytes(IPv6(src=A6, dst=B6, plen=32) / IPv6ExtHdrFragment(
            nh=60, m=int(more), id=9)) + dstopts, status))
        out.append((_short_v4(51, 10, more), status))
    return out


def test_a_first_fragment_whose_frame_ends_before_its_ports(decoded):
    """These first fragments were malformed: the decoder took a header the frame's end
    cut short (not the snaplen) as malformed whatever the fragment, where one the IP
    length ends before was already `fragment`."""
    built = frames_ending_before_their_ports()
    assert [s.status for s in decoded(LINKTYPE_RAW, [f for f, _ in built])] == [
        s for _, s in built]


@needs_tshark
def test_a_first_fragment_whose_frame_ends_before_its_ports_as_tshark_shows_it(tmp_path):
    """tshark 4.0 gives a first fragment's payload to the next header as a fragment's:
    a read past its end is an "Unreassembled fragment", no Malformed Packet, where the
    same frame not fragmented is malformed."""
    built = frames_ending_before_their_ports()
    path = write_pcap(tmp_path / "short.pcap", [(T0 + i * 1000, f) for i, (f, _) in
                                                enumerate(built)], linktype=LINKTYPE_RAW)
    for row, (_, status) in zip(oracle(path), built, strict=True):
        assert (row.src_port, row.malformed) == (None, status == "malformed"), (
            row.number, row.protocols, row.expert)
        if row.protocols != "raw:ip":  # IPv4 with no byte of payload calls no transport
            assert ("Unreassembled fragment" in row.expert) == (status == FR), row.number
