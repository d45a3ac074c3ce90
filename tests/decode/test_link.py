"""decode/link/ through the decoder: where each link type's header ends and what it
says comes next, on frames built here (with scapy, by hand where scapy has no layer),
written to a small pcap and decoded (``decoded``, tests/decode/conftest.py).

Where a header ends is pinned by cutting. Behind a link header of H bytes (the
format's own size, worked out by hand below) the frame carries IPv4 (a 20-byte header)
and UDP: its ports are read from the first H + 24 captured bytes and not from H + 23,
every cut inside the link header is TRUNCATED, and a frame that is itself shorter than
its link header (nothing cut it) is MALFORMED. Every other expectation is the packet
the frame was built with, or a status the README names for what the header says.
"""

from __future__ import annotations

import struct
import subprocess

import pytest
from capgen import write_pcap
from scapy.contrib.chdlc import CHDLC
from scapy.contrib.mpls import MPLS
from scapy.layers.dot11 import Dot11, Dot11QoS, RadioTap
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop
from scapy.layers.l2 import ARP, LLC, SNAP, CookedLinux, CookedLinuxV2, Dot1Q, Dot3, Ether
from scapy.layers.pflog import PFLog
from scapy.layers.ppi import PPI
from scapy.layers.ppp import HDLC, PPP
from scapy.packet import Raw
from tshark_oracle import TSHARK, oracle

from portannot.decode import decode_file
from portannot.status import STATUS_NAMES

A4, B4 = "192.0.2.1", "198.51.100.2"
A6, B6 = "2001:db8::1", "2001:db8:0:1::2"
SPORT, DPORT = 40000, 53
IP4 = bytes(IP(src=A4, dst=B4) / UDP(sport=SPORT, dport=DPORT) / Raw(b"payload!"))
IP6 = bytes(IPv6(src=A6, dst=B6) / UDP(sport=SPORT, dport=DPORT) / Raw(b"payload!"))
#: what the decoder must see in a frame carrying IP4 / IP6
V4 = ("ports", 4, A4, B4, "udp", SPORT, DPORT, None)  # tests/decode/conftest.Seen
V6 = ("ports", 6, A6, B6, "udp", SPORT, DPORT, None)
MAC = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}
NON_IP = ("non-ip", 0, None, None, None, 0, 0, None)
MALFORMED = ("malformed", 0, None, None, None, 0, 0, None)

LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_PPP, LINKTYPE_RAW = 0, 1, 9, 101
LINKTYPE_PPP_HDLC, LINKTYPE_C_HDLC, LINKTYPE_IEEE802_11, LINKTYPE_LOOP = 50, 104, 105, 108
LINKTYPE_SLL, LINKTYPE_PFLOG, LINKTYPE_RADIOTAP, LINKTYPE_PPI = 113, 117, 127, 192
LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_NFLOG, LINKTYPE_SLL2 = 228, 229, 239, 276
LINKTYPE_PRISM, LINKTYPE_AVS = 119, 163


def _prism(code: int = 0x44, msglen: int = 144, order: str = "<") -> bytes:
    """A Prism header: message code, length, 16-byte device name, ten 12-byte items."""
    items = b"".join(struct.pack(order + "IHHI", 0x1041 + 0x1000 * i, 0, 4, i) for i in range(10))
    return struct.pack(order + "II", code, msglen) + b"wlan0".ljust(16, b"\0") + items


def _avs(magic: int = 0x80211001, size: int = 64, pad: int | None = None) -> bytes:
    """An AVS header: big-endian magic and length, then `pad` bytes (size - 8 unless given)."""
    return struct.pack(">II", magic, size) + bytes(size - 8 if pad is None else pad)


@pytest.fixture
def one(decoded):
    return lambda linktype, frame: decoded(linktype, [frame])[0]


# ------------------------------------------------------------------ where a header ends

def _pflog(family: int, size: int = 48) -> bytes:
    """A pf log header that says it is `size` bytes long (byte 0), padded to a multiple
    of 4, with the address family at byte 1."""
    return bytes([size, family]) + bytes(-(-size // 4) * 4 - 2)


#: (id, link type, link header for IPv4, its length H in bytes, worked out by hand)
HEADERS = [
    ("ethernet", LINKTYPE_ETHERNET, bytes(Ether(**MAC, type=0x0800)), 14),  # 6 + 6 + 2
    ("802.3-snap", LINKTYPE_ETHERNET, bytes(Dot3(**MAC, len=8 + len(IP4)) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3)
                                            / SNAP(OUI=0, code=0x0800)), 22),  # 14 + LLC 3 + SNAP 5
    ("sll", LINKTYPE_SLL, bytes(CookedLinux(proto=0x0800)), 16),
    ("sll2", LINKTYPE_SLL2, bytes(CookedLinuxV2(proto=0x0800)), 20),
    ("null", LINKTYPE_NULL, struct.pack("<I", 2), 4),  # AF_INET, host order
    ("loop", LINKTYPE_LOOP, struct.pack(">I", 2), 4),
    ("raw", LINKTYPE_RAW, b"", 0),
    ("raw-12", 12, b"", 0),
    ("raw-14", 14, b"", 0),
    ("ipv4", LINKTYPE_IPV4, b"", 0),
    ("ppp", LINKTYPE_PPP, bytes(HDLC() / PPP(proto=0x0021)), 4),  # ff 03, protocol 0021
    ("ppp-hdlc", LINKTYPE_PPP_HDLC, bytes(HDLC() / PPP(proto=0x0021)), 4),
    ("c-hdlc", LINKTYPE_C_HDLC, bytes(CHDLC(proto=0x0800)), 4),  # address, control, type
    ("pflog", LINKTYPE_PFLOG, _pflog(2, 45), 48),  # 45 bytes, padded to 48
    ("802.11", LINKTYPE_IEEE802_11, bytes(Dot11(type=2, subtype=0, FCfield="to_DS")
                                          / LLC(dsap=0xAA, ssap=0xAA, ctrl=3)
                                          / SNAP(OUI=0, code=0x0800)), 32),  # 24 + 8
    ("radiotap", LINKTYPE_RADIOTAP, bytes(RadioTap() / Dot11(type=2, subtype=0)
                                          / LLC(dsap=0xAA, ssap=0xAA, ctrl=3)
                                          / SNAP(OUI=0, code=0x0800)), 8 + 32),
    ("ppi-ethernet", LINKTYPE_PPI, bytes(PPI(dlt=1) / Ether(**MAC, type=0x0800)), 8 + 14),
    ("ppi-802.11", LINKTYPE_PPI, bytes(PPI(dlt=105) / Dot11(type=2, subtype=0)
                                       / LLC(dsap=0xAA, ssap=0xAA, ctrl=3)
                                       / SNAP(OUI=0, code=0x0800)), 8 + 32),
    ("ppi-raw", LINKTYPE_PPI, bytes(PPI(dlt=101)), 8),
    ("prism", LINKTYPE_PRISM, _prism() + bytes(Dot11(type=2, subtype=0)
                                               / LLC(dsap=0xAA, ssap=0xAA, ctrl=3)
                                               / SNAP(OUI=0, code=0x0800)), 144 + 32),
    ("avs", LINKTYPE_AVS, _avs() + bytes(Dot11(type=2, subtype=0)
                                         / LLC(dsap=0xAA, ssap=0xAA, ctrl=3)
                                         / SNAP(OUI=0, code=0x0800)), 64 + 32),
]


#: headers whose cut is not asserted past their first bytes: an 802.3 frame cut inside
#: its LLC/SNAP header reads as non-ip (the decoder cannot tell it from another LLC
#: protocol), not truncated
CUTS_CHECKED = {"802.3-snap": 14}


@pytest.mark.parametrize("name,linktype,header,size", [pytest.param(*h, id=h[0]) for h in HEADERS])
def test_the_network_layer_starts_where_the_link_header_ends(decoded, one, name, linktype, header,
                                                             size):
    assert len(header) == size
    frame = header + IP4
    whole = len(frame)
    checked = CUTS_CHECKED.get(name, size)
    cuts = [(frame[:k], whole) for k in range(checked)]  # inside the link header
    got = decoded(linktype, [frame, (frame[:size + 24], whole),
                                       (frame[:size + 23], whole), *cuts])
    assert got[:2] == [V4, V4]
    assert got[2][0] == "truncated"  # three bytes of the ports
    assert [g[0] for g in got[3:]] == ["truncated"] * checked
    if size and checked == size:  # a frame shorter than its link header that nothing cut
        assert one(linktype, header[:size - 1])[0] == "malformed"


def test_ipv6_behind_each_link_type(one):
    """The same headers announcing IPv6 carry it."""
    cases = [
        (LINKTYPE_ETHERNET, bytes(Ether(**MAC, type=0x86DD))),
        (LINKTYPE_SLL, bytes(CookedLinux(proto=0x86DD))),
        (LINKTYPE_SLL2, bytes(CookedLinuxV2(proto=0x86DD))),
        (LINKTYPE_RAW, b""),
        (LINKTYPE_IPV6, b""),
        (LINKTYPE_PPP, bytes(HDLC() / PPP(proto=0x0057))),
        (LINKTYPE_C_HDLC, bytes(CHDLC(proto=0x86DD))),
        (LINKTYPE_PFLOG, _pflog(24)),
        (LINKTYPE_IEEE802_11, bytes(Dot11(type=2, subtype=0) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3)
                                    / SNAP(OUI=0, code=0x86DD))),
    ]
    for linktype, header in cases:
        assert one(linktype, header + IP6) == V6, linktype


# ------------------------------------------------------------------ Ethernet

def test_ethernet_payloads(decoded):
    def dot3(*layers) -> bytes:
        body = b"".join(bytes(x) for x in layers)
        return bytes(Dot3(**MAC, len=len(body))) + body

    llc_snap = LLC(dsap=0xAA, ssap=0xAA, ctrl=3)
    assert decoded(LINKTYPE_ETHERNET, [
        bytes(Ether(**MAC) / ARP()),
        bytes(Ether(**MAC, type=0x88CC) / Raw(bytes(20))),  # LLDP
        dot3(llc_snap, SNAP(OUI=0, code=0x0800), IP4),  # RFC 1042
        dot3(llc_snap, SNAP(OUI=0xF8, code=0x0800), IP4),  # 802.1H
        dot3(llc_snap, SNAP(OUI=0x00000C, code=0x0800), IP4),  # Cisco's own protocol 0x0800
        dot3(LLC(dsap=0x42, ssap=0x42, ctrl=3), Raw(bytes(35))),  # spanning tree
        dot3(LLC(dsap=0xAA, ssap=0xAA, ctrl=3), Raw(b"\x00\x00")),  # SNAP cut short
    ]) == [NON_IP, NON_IP, V4, V4, NON_IP, NON_IP, NON_IP]


# ------------------------------------------------------------------ BSD loopback

#: DLT_NULL words (the first 4 bytes, then IP4 or IP6 as the word says) and what
#: tshark 4.0 reads in them (packet-null.c on a little-endian machine); each checked with
#: tshark, and so were all 160,000 words of 20 byte values (tshark's protocols, udp ports)
NULL_WORDS = [
    (struct.pack("<I", 2), V4),  # AF_INET, little-endian host
    (struct.pack(">I", 2), V4),  # big-endian host: the upper half is not 0, swapped
    *((struct.pack(order + "I", af), V6) for order in "<>" for af in (24, 28, 30)),
    (struct.pack("<I", 10), NON_IP),  # Linux's AF_INET6 is no BSD family: data
    (struct.pack(">I", 10), NON_IP),
    (struct.pack("<I", 7), NON_IP),  # BSD AF_ISO: tshark reads OSI, no IP
    (b"\x02\x00\x02\x00", V4),  # IRIX/UNICOS snoop: a 16-bit family, then 2 zero bytes
    (b"\x00\x02\x00\x00", V4),  # the same written in the other byte order
    (b"\x00\x00\x08\x00", V4),  # old Linux: an ethertype in the low half
    (b"\x00\x00\x86\xdd", V6),
    (b"\x12\x34\x08\x00", V4),  # above 1500 once swapped: tshark keeps 16 bits of it
    (b"\xff\x03\x00\x21", V4),  # ff 03: PPP in HDLC framing, protocol IPv4
]


def test_null_family_read_as_tshark_reads_it(decoded):
    """DLT_NULL's address family is in the capturing host's byte order, which the file
    does not record: tshark's guess (upper half nonzero: swapped, unless it looks like a
    16-bit family; above 1500: an ethertype; ff 03: PPP) is the decoder's too."""
    frames = [word + (IP6 if want == V6 else IP4) for word, want in NULL_WORDS]
    assert decoded(LINKTYPE_NULL, frames) == [want for _, want in NULL_WORDS]


def test_null_ethertype_goes_on_through_the_ethertype_table(decoded):
    """A word that is an ethertype hands over as Ethernet's would: an 802.1Q tag (0x8100,
    swapped from 02 00 81 00: tshark's null:vlan) is read with its VLAN id."""
    tagged = b"\x02\x00\x81\x00" + struct.pack(">HH", 7, 0x0800) + IP4
    assert decoded(LINKTYPE_NULL, [tagged]) == [V4[:-1] + (7,)]


def test_loop_family_is_big_endian(decoded):
    """DLT_LOOP says network byte order and tshark reads only that (ntohl, no guess): a
    little-endian 2 is family 0x02000000, not IP. Checked with tshark."""
    assert decoded(LINKTYPE_LOOP, [
        struct.pack(">I", 2) + IP4,
        *(struct.pack(">I", af) + IP6 for af in (24, 28, 30)),
        struct.pack("<I", 2) + IP4,
        struct.pack("<I", 24) + IP6,
        struct.pack(">I", 10) + IP6,  # Linux's AF_INET6
        b"\x00\x00\x08\x00" + IP4,  # an ethertype is no family here
        b"\xff\x03\x00\x21" + IP4,  # nor PPP
    ]) == [V4, V6, V6, V6, NON_IP, NON_IP, NON_IP, NON_IP, NON_IP]


# ------------------------------------------------------------------ raw IP

def test_raw_ip_is_told_by_its_version(decoded):
    bogus = bytes([0x55]) + IP4[1:]  # version 5
    for linktype in (LINKTYPE_RAW, 12, 14):
        assert decoded(linktype, [IP4, IP6, bogus]) == [V4, V6, MALFORMED]
    # 228 and 229 say which version: IPv6 under 228 is read all the same (next test), IPv4
    # under 229 is malformed (tshark's IPv6 dissector hands nothing over)
    assert decoded(LINKTYPE_IPV4, [IP4, IP6, bogus]) == [V4, V6, MALFORMED]
    assert decoded(LINKTYPE_IPV6, [IP6, IP4]) == [V6, MALFORMED]


def ipv6_where_ipv4_is_announced() -> list[tuple[int, bytes | tuple, tuple]]:
    """(link type, frame, what the decoder sees): a version-6 header under ethertype
    0x0800 or LINKTYPE_IPV4 is IPv6 to tshark 4.0, whose IPv4 dissector hands it to its
    IPv6 one (extension headers, fragments and all); another version is still malformed."""
    v4_type = bytes(Ether(**MAC, type=0x0800))
    hbh_tcp = bytes(IPv6(src=A6, dst=B6) / IPv6ExtHdrHopByHop() / TCP(sport=SPORT, dport=80))
    first = bytes(IPv6(src=A6, dst=B6) / IPv6ExtHdrFragment(m=1, id=7) / UDP(sport=SPORT, dport=DPORT)
                  / Raw(b"payload!"))
    tagged = bytes(Ether(**MAC) / Dot1Q(vlan=12, type=0x0800)) + IP6
    return [
        (LINKTYPE_ETHERNET, v4_type + IP6, V6),
        (LINKTYPE_ETHERNET, tagged, V6[:-1] + (12,)),
        (LINKTYPE_ETHERNET, v4_type + hbh_tcp, ("ports", 6, A6, B6, "tcp", SPORT, 80, None)),
        (LINKTYPE_ETHERNET, v4_type + first, V6),
        (LINKTYPE_ETHERNET, (v4_type + IP6[:30], 14 + len(IP6)),
         ("truncated", 0, None, None, None, 0, 0, None)),
        (LINKTYPE_ETHERNET, v4_type + bytes([0x55]) + IP4[1:], MALFORMED),
        (LINKTYPE_IPV4, IP6, V6),
    ]


def test_ipv6_where_ipv4_is_announced(decoded):
    for linktype, frame, seen in ipv6_where_ipv4_is_announced():
        assert decoded(linktype, [frame]) == [seen], frame


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_ipv6_where_ipv4_is_announced_as_tshark_shows_it(tmp_path):
    """The same frames through tshark 4.0, its IPv6 layer's fields read directly
    (tests/tshark_oracle keys on the first IP layer, here the IPv4 dissector that
    showed no field): its addresses and ports are the decoder's."""
    fields = ("ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport")
    for n, (linktype, frame, seen) in enumerate(ipv6_where_ipv4_is_announced()):
        data, length = frame if isinstance(frame, tuple) else (frame, len(frame))
        path = write_pcap(tmp_path / f"v6-{n}.pcap", [(0, data, length)], linktype=linktype)
        cmd = [TSHARK, "-n", "-r", str(path), "-o", "ipv6.defragment:FALSE", "-T", "fields",
               "-E", "occurrence=f"]
        for f in fields:
            cmd += ["-e", f]
        src, dst, *ports = subprocess.run(cmd, capture_output=True, text=True,
                                          check=True).stdout.rstrip("\n").split("\t")
        sport, dport = (int(x) for x in (ports[:2] if ports[0] else ports[2:]) or (0, 0)) \
            if any(ports) else (0, 0)
        if seen[0] == "truncated":  # tshark shows the source the cut header holds, no more
            src = seen[2]
        assert (src or None, dst or None, sport, dport) == (seen[2], seen[3], seen[5], seen[6])


# ------------------------------------------------------------------ PPP, Cisco HDLC

@pytest.mark.parametrize("linktype", [LINKTYPE_PPP, LINKTYPE_PPP_HDLC])
def test_ppp_framings(decoded, linktype):
    """Address and control (ff 03) or none; the protocol in two bytes or compressed to
    one (an odd first byte); 0xff marks address and control whatever the control byte."""
    label = bytes(MPLS(label=100, s=1, ttl=64))
    assert decoded(linktype, [
        b"\xff\x03\x00\x21" + IP4,
        b"\x00\x21" + IP4,
        b"\x21" + IP4,
        b"\xff\x03\x21" + IP4,
        b"\xff\x00\x00\x21" + IP4,
        b"\xff\x03\x00\x57" + IP6,
        b"\xff\x03\x02\x81" + label + IP4,  # MPLS unicast
        b"\xff\x03\xc0\x21" + bytes(8),  # LCP
        b"\xff\x03\x80\x21" + bytes(8),  # IPCP
    ]) == [V4, V4, V4, V4, V4, V6, V4, NON_IP, NON_IP]


def test_cisco_hdlc(decoded):
    """Only the protocols Cisco HDLC carries (tshark's chdlc.protocol table: IPv4, IPv6,
    MPLS, bridged Ethernet); a VLAN, PPPoE, 802.1ah or NSH ethertype tshark shows as
    data. Checked with tshark."""
    label = bytes(MPLS(label=100, s=1, ttl=64))
    tag = struct.pack(">HH", 5, 0x0800)
    assert decoded(LINKTYPE_C_HDLC, [
        b"\x0f\x00\x08\x00" + IP4,  # unicast
        b"\x8f\x00\x08\x00" + IP4,  # broadcast
        b"\x0f\x00\x80\x35" + bytes(20),  # SLARP
        b"\x0f\x00\x88\x47" + label + IP4,  # MPLS unicast
        b"\x0f\x00\x88\x48" + label + IP4,  # MPLS multicast
        b"\x0f\x00\x65\x58" + bytes(Ether(**MAC, type=0x0800)) + IP4,  # bridged Ethernet
        b"\x0f\x00\x81\x00" + tag + IP4,  # 802.1Q
        b"\x8f\x00\x91\x00" + tag + IP4,  # QinQ
        b"\x0f\x00\x88\x64" + bytes.fromhex("11000001") + struct.pack(">HH", 2 + len(IP4), 0x21)
        + IP4,  # PPPoE session
    ]) == [V4, V4, NON_IP, V4, V4, V4, NON_IP, NON_IP, NON_IP]


# ------------------------------------------------------------------ pf log

def test_pflog_header_length_and_family(decoded):
    """The header says its length (byte 0, at least 45: OpenBSD 3.4's), padded to 4."""
    scapy_built = bytes(PFLog(addrfamily=2) / IP(IP4))  # scapy's own (longer) header
    assert decoded(LINKTYPE_PFLOG, [
        scapy_built,
        _pflog(2, 45) + IP4,
        _pflog(2, 61) + IP4,  # 61 -> 64
        _pflog(2, 64) + IP4,
        _pflog(28, 48) + IP6,
        _pflog(7, 48) + IP4,  # not an IP family
        _pflog(2, 44) + IP4,  # shorter than any pf header
    ]) == [V4, V4, V4, V4, V6, NON_IP, MALFORMED]


# ------------------------------------------------------------------ Linux NFLOG

NFULA_PACKET_HDR, NFULA_PAYLOAD, NFULA_PREFIX = 1, 9, 10


def _tlv(kind: int, value: bytes, order: str = "<") -> bytes:
    return struct.pack(order + "HH", 4 + len(value), kind) + value + bytes(-len(value) % 4)


def _nflog(family: int, *tlvs: bytes) -> bytes:
    """family, version 0, resource id 1 (big-endian), then the attributes."""
    return bytes([family, 0]) + struct.pack(">H", 1) + b"".join(tlvs)


def test_nflog_attributes(decoded, one):
    """The packet is the payload attribute's value; the packet header attribute's
    hardware protocol (else the family) says what it is. Attribute lengths and types
    are in the capturing host's byte order, either one."""
    prefix = _tlv(NFULA_PREFIX, b"dropped\x00")
    hdr6 = _tlv(NFULA_PACKET_HDR, struct.pack(">HBB", 0x86DD, 3, 0))
    whole = _nflog(2, prefix, _tlv(NFULA_PAYLOAD, IP4))
    assert decoded(LINKTYPE_NFLOG, [
        whole,
        _nflog(2, _tlv(NFULA_PREFIX, b"x\x00", ">"), _tlv(NFULA_PAYLOAD, IP4, ">")),
        _nflog(10, _tlv(NFULA_PAYLOAD, IP6)),
        _nflog(0, hdr6, _tlv(NFULA_PAYLOAD, IP6)),  # family unspecified, the header says
        _nflog(7, _tlv(NFULA_PAYLOAD, IP4)),  # neither says IP
        _nflog(2, prefix),  # nothing logged
        _nflog(2, prefix, struct.pack("<HH", 2, NFULA_PREFIX) + bytes(4)),  # a length below 4
    ]) == [V4, V4, V6, V6, NON_IP, NON_IP, MALFORMED]
    # the payload attribute cut by the snaplen: its packet is cut
    assert one(LINKTYPE_NFLOG, (whole[:len(whole) - 8], len(whole)))[0] == "truncated"


def _payload_length(tlv: bytes, size: int) -> bytes:
    """A little-endian attribute whose length field says `size`, its bytes unchanged."""
    return struct.pack("<H", size) + tlv[2:]


def nflog_entries_read_as_tshark_reads_them() -> list[tuple[bytes, tuple]]:
    """(entry, what the decoder sees): every attribute is walked to the end of the frame
    (one that runs past it or is shorter than 4 bytes leaves no packet, wherever it is),
    the last payload and the last 8-byte packet header count, a hardware protocol of 0
    leaves the family byte to say what the packet is, which netfilter's 2 and 10 do, and
    the packet ends with its attribute. The damaged random link captures met the first
    five (their NFLOG disagreements). tshark 4.0 on each entry: test below."""
    hdr4 = _tlv(NFULA_PACKET_HDR, struct.pack(">HBB", 0x0800, 1, 0))
    hdr6 = _tlv(NFULA_PACKET_HDR, struct.pack(">HBB", 0x86DD, 1, 0))
    prefix = _tlv(NFULA_PREFIX, b"portannot\x00")
    tcp4 = bytes(IP(src=A4, dst=B4) / TCP(sport=SPORT, dport=80, flags="S"))
    udp2 = _ipv4_length(0, bytes(UDP(sport=SPORT, dport=DPORT))[:2])  # length from the packet
    short_payload = _payload_length(_tlv(NFULA_PAYLOAD, tcp4), 24)
    tcp4_tail = _payload_length(_tlv(NFULA_PAYLOAD, tcp4), 28)
    tcp4_tail = tcp4_tail[:28] + b"\x00\x00" + tcp4_tail[30:]  # TCP's sequence: a 0 length
    return [
        # the payload's length shortened: TCP's bytes read as an attribute past the end
        (_nflog(2, prefix, hdr4, short_payload), MALFORMED),
        (_nflog(2, prefix, hdr4, tcp4_tail), MALFORMED),  # ... as one of length 0
        (_nflog(2, prefix, _tlv(NFULA_PAYLOAD, IP4), struct.pack("<HH", 64, 3)), MALFORMED),
        # the packet header's type damaged into a payload's: the last payload counts
        (_nflog(2, prefix, _tlv(NFULA_PAYLOAD, hdr4[4:]), _tlv(NFULA_PAYLOAD, IP4)), V4),
        (_nflog(2, prefix, _tlv(NFULA_PACKET_HDR, bytes(4)), _tlv(NFULA_PAYLOAD, IP4)), V4),
        (_nflog(10, prefix, hdr4, _tlv(NFULA_PAYLOAD, IP4)), V4),  # the header names it
        (_nflog(2, hdr6, hdr4, _tlv(NFULA_PAYLOAD, IP4)), V4),  # the last header counts
        # a header of another length names nothing
        (_nflog(2, _tlv(NFULA_PACKET_HDR, struct.pack(">HBB", 0x86DD, 1, 0) + bytes(4)),
                _tlv(NFULA_PAYLOAD, IP4)), V4),
        (_nflog(2, _tlv(NFULA_PACKET_HDR, struct.pack(">HBB", 0x88CC, 1, 0)),
                _tlv(NFULA_PAYLOAD, IP4)), NON_IP),  # an ethertype that is not IP
        (_nflog(28, _tlv(NFULA_PAYLOAD, IP6)), NON_IP),  # a BSD family: not NFLOG's
        (_nflog(2, prefix, _tlv(NFULA_PAYLOAD, IP4)) + b"\x00\x00\x00", V4),  # a stray tail
        # the packet ends with its attribute: UDP cut to 2 bytes, whatever comes after
        (_nflog(2, _tlv(NFULA_PAYLOAD, udp2), prefix),
         ("malformed", 4, A4, B4, None, 0, 0, None)),
    ]


def test_nflog_entries_read_as_tshark_reads_them(decoded):
    entries = nflog_entries_read_as_tshark_reads_them()
    assert decoded(LINKTYPE_NFLOG, [e for e, _ in entries]) == [s for _, s in entries]


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_nflog_entries_as_tshark_shows_them(tmp_path):
    """The same entries, through tshark 4.0 (tests/tshark_oracle): the addresses and
    ports where the decoder has them; none where it has no IP layer."""
    entries = nflog_entries_read_as_tshark_reads_them()
    path = write_pcap(tmp_path / "nflog.pcap", [(i * 1000, e) for i, (e, _) in enumerate(entries)],
                      linktype=LINKTYPE_NFLOG)
    for row, (_, seen) in zip(oracle(path), entries, strict=True):
        assert (row.src, row.dst, row.src_port or 0, row.dst_port or 0) == (
            seen[2], seen[3], seen[5], seen[6]), row.protocols


# ------------------------------------------------------------------ 802.11

def _llc(code: int = 0x0800) -> bytes:
    return bytes(LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=code))


def test_ieee802_11_frames(decoded):
    """Only data frames with a body in the clear carry IP: 24 bytes of header (30 with
    four addresses), QoS control 2 more, HT control 4 more when the order bit is set,
    an A-MSDU subframe header 14 more; then LLC/SNAP."""
    qos = bytes(Dot11(type=2, subtype=8, FCfield="to_DS"))
    assert decoded(LINKTYPE_IEEE802_11, [
        bytes(Dot11(type=2, subtype=0, FCfield="to_DS")) + _llc() + IP4,
        bytes(Dot11(type=2, subtype=0, FCfield="to_DS+from_DS", addr4="02:00:00:00:00:04"))
        + _llc() + IP4,
        bytes(Dot11(type=2, subtype=8, FCfield="to_DS") / Dot11QoS(TID=5)) + _llc() + IP4,
        bytes(Dot11(type=2, subtype=8, FCfield="to_DS+order")) + b"\x05\x00" + bytes(4)
        + _llc() + IP4,  # QoS control, HT control
        qos + b"\x80\x00" + bytes(14) + _llc() + IP4,  # A-MSDU
        bytes(Dot11(type=2, subtype=0, FCfield="to_DS+protected")) + bytes(8) + IP4,
        bytes(Dot11(type=2, subtype=4, FCfield="to_DS")),  # null data
        bytes(Dot11(type=0, subtype=8)) + bytes(12),  # beacon
        bytes(Dot11(type=2, subtype=0, FCfield="to_DS+MF")) + _llc() + IP4,  # a first fragment
        bytes(Dot11(type=2, subtype=0, proto=1)) + _llc() + IP4,  # protocol version 1
        bytes(Dot11(type=2, subtype=0)) + bytes(LLC(dsap=0x42, ssap=0x42, ctrl=3)) + bytes(40),
    ]) == [V4, V4, V4, V4, V4, NON_IP, NON_IP, NON_IP, NON_IP, NON_IP, NON_IP]


#: 802.11 addresses: addr1, addr2, addr3 (and addr4) of the frames below
W1, W2, W3, W4 = (f"02:00:00:00:00:a{k}" for k in range(1, 5))


def _wlan(fcfield: str, subtype: int = 0) -> bytes:
    """A data frame's header (24 bytes; 30 with four addresses), addresses W1-W4 and
    sequence control 0x0010 (sequence number 1, fragment 0)."""
    return bytes(Dot11(type=2, subtype=subtype, FCfield=fcfield, addr1=W1, addr2=W2,
                       addr3=W3, addr4=W4, SC=0x0010))


def test_ieee802_11_mesh_control(decoded):
    """An 802.11s Mesh Control field (flags, TTL, 4-byte sequence number, then 6 bytes
    for each extra address the flags' address extension names) between the header and
    LLC. tshark 4.0 looks for it in frames from the DS whatever the QoS control's Mesh
    Control Present bit (bit 8) says: valid flags, and 0xaa 0xaa right after the field.
    Each frame here was checked with tshark (wlan.mesh.control_field, ports 40000->53)."""
    mesh_qos = b"\x00\x01"  # QoS control with Mesh Control Present
    ae0 = b"\x00\x1f" + struct.pack("<I", 7)  # flags 0, TTL 31, sequence number 7
    ae2 = b"\x02\x1f" + struct.pack("<I", 7) + bytes(12)  # two more addresses: 18 bytes
    ae3 = b"\x03\x1f" + struct.pack("<I", 7) + bytes(18)  # address extension 3: reserved
    assert decoded(LINKTYPE_IEEE802_11, [
        _wlan("to_DS+from_DS", 8) + mesh_qos + ae0 + _llc() + IP4,  # 30 + 2 + 6 + 8
        _wlan("from_DS", 8) + mesh_qos + ae2 + _llc() + IP4,  # 24 + 2 + 18 + 8
        _wlan("from_DS") + ae0 + _llc() + IP4,  # no QoS control: still read (tshark)
        _wlan("to_DS", 8) + mesh_qos + ae0 + _llc() + IP4,  # not from the DS: no mesh field
        _wlan("from_DS", 8) + mesh_qos + ae3 + _llc() + IP4,
        _wlan("from_DS", 8) + mesh_qos + ae0 + b"\x08\x00" + IP4,  # no LLC after it
    ]) == [V4, V4, V4, NON_IP, NON_IP, NON_IP]


def test_ieee802_11_bodies_without_llc(decoded):
    """A body that does not start with 0xaa 0xaa: tshark 4.0 reads it, in this order, as
    an Ethernet frame when its first address is the 802.11 destination or its second
    the source (which header address each is depends on the DS bits); IPX for 0xffff;
    LLC after two stray bytes when they are 0x0000 (OLPC) or the sequence control again
    (Atheros: 10 00); else a bare ethertype. Each was checked with tshark."""
    eth = bytes(Ether(dst=W3, src="02:00:00:00:00:99", type=0x0800))  # to DS: dst addr3
    eth_sa = bytes(Ether(dst="02:00:00:00:00:99", src=W2, type=0x86DD))  # source addr2
    from_ds = bytes(Ether(dst=W1, src=W3, type=0x0800))  # from DS: dst addr1, source addr3
    assert decoded(LINKTYPE_IEEE802_11, [
        _wlan("to_DS") + eth + IP4,
        _wlan("to_DS") + eth_sa + IP6,
        _wlan("from_DS") + from_ds + IP4,
        _wlan("to_DS+from_DS") + bytes(Ether(dst=W3, src=W4, type=0x0800)) + IP4,
        _wlan("to_DS") + bytes(Ether(dst=W1, src=W3, type=0x0800)) + IP4,  # not its addresses
        _wlan("to_DS") + b"\xff\xff" + IP4,  # IPX
        _wlan("to_DS") + b"\x00\x00" + _llc() + IP4,  # OLPC
        _wlan("to_DS") + b"\x10\x00" + _llc() + IP4,  # sequence control repeated
        _wlan("to_DS") + b"\x00\x00" + b"\x08\x00" + IP4,  # only LLC after stray bytes
        _wlan("to_DS") + b"\x08\x00" + IP4,  # bare ethertypes
        _wlan("to_DS") + b"\x86\xdd" + IP6,
        _wlan("to_DS") + b"\x05\xdc" + IP4,  # below 0x0600: an LLC header (SAP 0x05)
    ]) == [V4, V6, V4, V4, NON_IP, NON_IP, V4, V4, NON_IP, V4, V6, NON_IP]


def test_radiotap_data_pad(decoded):
    """Flags bit 0x20 (data pad): the 802.11 header is padded to a multiple of 4 bytes,
    so a QoS data header of 26 bytes takes 28 (tshark agrees). The Flags field follows
    the present words and the 8-byte TSFT field when that is present (aligned to 8);
    a Flags field the header's length leaves out does not count."""
    qos = _wlan("to_DS", 8) + b"\x00\x00"  # 26 bytes
    flags = struct.pack("<BBHI", 0, 0, 9, 0x02)  # present: Flags; length 9
    tsft = struct.pack("<BBHI", 0, 0, 17, 0x03) + bytes(8)  # TSFT, then Flags; length 17
    outside = struct.pack("<BBHI", 0, 0, 8, 0x02)  # Flags present, length 8: not in it
    assert decoded(LINKTYPE_RADIOTAP, [
        flags + b"\x20" + qos + b"\x00\x00" + _llc() + IP4,
        tsft + b"\x20" + qos + b"\x00\x00" + _llc() + IP4,
        flags + b"\x00" + qos + _llc() + IP4,  # no pad
        flags + b"\x20" + _wlan("to_DS+from_DS", 8) + b"\x00\x00" + _llc() + IP4,  # 32: whole
        # QoS data + CF-Poll: its frame control byte (0xa8) would be flags with a pad
        outside + _wlan("to_DS", 10) + b"\x00\x00" + _llc() + IP4,
    ]) == [V4, V4, V4, V4, V4]


#: a radiotap header with a Flags field (length 9) and the flags byte
def _radiotap_flags(flags: int) -> bytes:
    return struct.pack("<BBHIB", 0, 0, 9, 0x02, flags)


FCS = b"\xde\xad\xbe\xef"


def _ipv4_length(total: int, transport: bytes, proto: int = 17) -> bytes:
    """IP4's header (UDP unless proto says) with total length `total`, then `transport`."""
    header = bytearray(bytes(IP(src=A4, dst=B4, proto=proto)))
    header[2:4] = struct.pack(">H", total)
    return bytes(header) + transport


def test_radiotap_fcs_ends_the_packet(decoded):
    """Flags bit 0x10: the frame ends with the 802.11 FCS, which tshark cuts off before
    it reads the 802.11 frame: an IP length that runs into those 4 bytes runs past the
    packet (malformed, no ports, where they are not whole before the FCS), and an IPv4
    total length of 0 (length from the frame) stops before them. A snaplen that cut the
    frame inside the FCS left the packet whole (malformed, not truncated); one that cut
    it before the FCS cut the packet. Each frame was checked with tshark (no udp ports
    where this says no ports)."""
    fcs, plain = _radiotap_flags(0x10), _radiotap_flags(0x00)
    head = bytes(Dot11(type=2, subtype=0, FCfield="to_DS")) + _llc()
    udp2 = bytes(UDP(sport=SPORT, dport=DPORT))[:2]  # 2 bytes of UDP before the FCS
    into_fcs = fcs + head + _ipv4_length(24, udp2) + FCS  # UDP's ports: 2 bytes + FCS
    v6 = bytearray(IP6[:40])
    v6[4:6] = struct.pack(">H", 4)  # a payload of 4 bytes: 2 of UDP, 2 of FCS
    short4 = ("malformed", 4, A4, B4, None, 0, 0, None)
    assert decoded(LINKTYPE_RADIOTAP, [
        fcs + head + IP4 + FCS,
        fcs + head + _ipv4_length(0, udp2) + FCS,  # length from the frame: without the FCS
        plain + head + _ipv4_length(0, udp2) + FCS,  # no FCS flag: its first 2 bytes a port
        into_fcs,
        (into_fcs[:-2], len(into_fcs)),  # cut inside the FCS: the packet is all there
        (into_fcs[:-5], len(into_fcs)),  # cut before it: the packet is cut
        fcs + head + _ipv4_length(28, bytes(UDP(sport=SPORT, dport=DPORT))[:4]) + FCS,  # the ports
        fcs + head[:-4] + FCS,  # LLC cut by the FCS (tshark: malformed LLC)
        fcs + head[:-2] + b"\x86\xdd" + bytes(v6) + udp2 + FCS,
    ]) == [V4, short4, ("ports", 4, A4, B4, "udp", SPORT, 0xDEAD, None), short4, short4,
           ("truncated", 4, A4, B4, None, 0, 0, None), V4, MALFORMED,
           ("malformed", 6, A6, B6, None, 0, 0, None)]


def test_radiotap_fcs_and_tcp_flags(tmp_path):
    """TCP flags only from 16 header bytes before the FCS: an IPv4 total length of 0
    with 12 bytes of TCP before it gives ports and no flags, as in tshark (tcp.flags
    absent); with 16 bytes, the flags (SYN)."""
    head = _radiotap_flags(0x10) + bytes(Dot11(type=2, subtype=0, FCfield="to_DS")) + _llc()
    syn = bytes(TCP(sport=SPORT, dport=80, flags="S"))
    frames = [head + _ipv4_length(0, syn[:12], 6) + FCS, head + _ipv4_length(0, syn[:16], 6) + FCS]
    b = decode_file(write_pcap(tmp_path / "fcs.pcap", [(i * 1000, f) for i, f in enumerate(frames)],
                               linktype=LINKTYPE_RADIOTAP))
    assert [STATUS_NAMES[s] for s in b.status] == ["ports", "ports"]
    assert list(b.src_port) == [SPORT, SPORT]
    assert [int(f) for f in b.tcp_flags] == [0, 0x002]


def test_radiotap_and_ppi_say_their_length(decoded):
    data = bytes(Dot11(type=2, subtype=0)) + _llc() + IP4
    long_radiotap = bytes(RadioTap(present="Flags+Rate+Channel", Flags=0, Rate=2,
                                   ChannelFrequency=2412, ChannelFlags=0xA0))
    assert RadioTap(long_radiotap).len == len(long_radiotap) == 14  # 8 + 1 + 1 + 4
    bad = struct.pack("<BBHI", 0, 0, 7, 0)  # a radiotap length below its own 8 bytes
    assert decoded(LINKTYPE_RADIOTAP, [long_radiotap + data, bad + data]) == [
        V4, MALFORMED]
    ppi = [
        bytes(PPI(dlt=105)) + data,
        struct.pack("<BBHI", 0, 0, 4, 1) + bytes(Ether(**MAC, type=0x0800)) + IP4,  # length < 8: 8
        struct.pack("<BBHI", 0, 0, 12, 1) + bytes(4) + bytes(Ether(**MAC, type=0x0800)) + IP4,
        struct.pack("<BBHI", 0, 0, 8, 127) + bytes(RadioTap()) + data,  # radiotap inside
        struct.pack("<BBHI", 0, 0, 8, 147) + IP4,  # USER0: no analyzer
        struct.pack("<BBHI", 0, 0, 8, 192) + struct.pack("<BBHI", 0, 0, 8, 228) + IP4,  # PPI in PPI
    ]
    got = decoded(LINKTYPE_PPI, ppi)
    assert got[:4] == [V4, V4, V4, V4]
    assert got[4][0] == "unsupported-link"
    assert got[5] == V4


# ------------------------------------------------------------------ Prism and AVS

def prism_and_avs_frames() -> list[tuple[int, bytes, tuple]]:
    """(link type, frame, what the decoder must see), as tshark 4.0 reads these headers:
    under Prism's link type an AVS header of version 1 or 2 (magic 0x80211001/2), a
    Prism header (code 0x41 or 0x44, either byte order: 144 bytes, whatever its length
    field says), else an 802.11 frame with no radio header. An AVS header's length
    (bytes 4-8) says where 802.11 starts, whatever the version; tshark first reads the
    fixed fields of versions 0 and 1 (64 bytes) and 2 (80)."""
    wlan = bytes(Dot11(type=2, subtype=0, FCfield="to_DS")) + _llc() + IP4
    beacon = bytes(Dot11(type=0, subtype=8)) + bytes(12)
    return [
        (LINKTYPE_PRISM, _prism(0x44) + wlan, V4),
        (LINKTYPE_PRISM, _prism(0x41) + wlan, V4),
        (LINKTYPE_PRISM, _prism(0x44, order=">") + wlan, V4),
        (LINKTYPE_PRISM, _prism(0x44, msglen=100) + wlan, V4),
        (LINKTYPE_PRISM, _prism(0x44, msglen=200) + wlan, V4),
        (LINKTYPE_PRISM, _prism(0x99) + wlan, NON_IP),  # no code: 802.11 at byte 0
        (LINKTYPE_PRISM, wlan, V4),
        (LINKTYPE_PRISM, _prism(0x44) + beacon, NON_IP),
        (LINKTYPE_PRISM, _prism(0x44)[:100], MALFORMED),
        (LINKTYPE_PRISM, _avs(0x80211001, 64) + wlan, V4),
        (LINKTYPE_PRISM, _avs(0x80211002, 80) + wlan, V4),
        (LINKTYPE_PRISM, _avs(0x80211003, 64) + wlan, NON_IP),  # not AVS: 802.11 at byte 0
        (LINKTYPE_AVS, _avs(0x80211001, 64) + wlan, V4),
        (LINKTYPE_AVS, _avs(0x80211001, 72) + wlan, V4),
        (LINKTYPE_AVS, _avs(0x80211002, 80) + wlan, V4),
        (LINKTYPE_AVS, _avs(0x80211003, 24) + wlan, V4),  # fields unknown, length counts
        (LINKTYPE_AVS, _avs(0x12345678, 16) + wlan, V4),
        (LINKTYPE_AVS, _avs(0x80211002, 64) + wlan[:10], MALFORMED),  # 74 < version 2's 80
        (LINKTYPE_AVS, _avs(0x80211001, 2000, pad=56) + wlan, MALFORMED),  # length past the frame
        (LINKTYPE_AVS, _prism(0x44) + wlan, MALFORMED),  # no magic check: length 0x90000000
        (LINKTYPE_PPI, struct.pack("<BBHI", 0, 0, 8, LINKTYPE_PRISM) + _prism() + wlan, V4),
        (LINKTYPE_PPI, struct.pack("<BBHI", 0, 0, 8, LINKTYPE_AVS) + _avs() + wlan, V4),
    ]


def test_prism_and_avs_headers(decoded):
    cases = prism_and_avs_frames()
    for linktype in (LINKTYPE_PRISM, LINKTYPE_AVS, LINKTYPE_PPI):
        mine = [(frame, seen) for lt, frame, seen in cases if lt == linktype]
        assert decoded(linktype, [f for f, _ in mine]) == [s for _, s in mine], linktype


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_prism_and_avs_headers_as_tshark_shows_them(tmp_path):
    """The same frames through tshark 4.0: its ports where the decoder has them, none
    where it has none, and malformed where the decoder says malformed."""
    cases = prism_and_avs_frames()
    for linktype in (LINKTYPE_PRISM, LINKTYPE_AVS, LINKTYPE_PPI):
        mine = [seen for lt, _, seen in cases if lt == linktype]
        path = write_pcap(tmp_path / f"{linktype}.pcap",
                          [(i * 1000, f) for i, (lt, f, _) in
                           enumerate(c for c in cases if c[0] == linktype)], linktype=linktype)
        for row, seen in zip(oracle(path), mine, strict=True):
            assert (row.src, row.dst, row.src_port or 0, row.dst_port or 0) == (
                seen[2], seen[3], seen[5], seen[6]), (linktype, row.number, row.protocols)
            if seen[0] == "malformed":
                assert row.malformed, (linktype, row.number, row.protocols)


# ------------------------------------------------------------------ other link types

@pytest.mark.parametrize("linktype", [147, 2, 65535])  # USER0, an unused value, the last
def test_a_link_type_without_an_analyzer_is_unsupported(one, linktype):
    assert one(linktype, IP4)[0] == "unsupported-link"


def test_sll_names_the_protocol_of_what_follows(decoded):
    assert decoded(LINKTYPE_SLL, [
        bytes(CookedLinux(pkttype=0, proto=0x0800)) + IP4,
        bytes(CookedLinux(pkttype=4, proto=0x86DD)) + IP6,  # outgoing
        bytes(CookedLinux(proto=0x0806) / ARP()),
    ]) == [V4, V6, NON_IP]
    assert decoded(LINKTYPE_SLL2, [
        bytes(CookedLinuxV2(proto=0x0800)) + IP4,
        bytes(CookedLinuxV2(proto=0x0806) / ARP()),
    ]) == [V4, NON_IP]
