"""link/ethernet: Ethernet, 802.3 LLC (SNAP and IP's own SAP), Linux cooked headers;
and IPv6 where an ethertype or link type announces IPv4.
"""

from __future__ import annotations

import struct
import subprocess

import pytest
from capgen import write_pcap
from linkframes import (
    A4,
    A6,
    B4,
    B6,
    DPORT,
    IP4,
    IP6,
    LINKTYPE_ETHERNET,
    LINKTYPE_IEEE802_11,
    LINKTYPE_IPV4,
    LINKTYPE_PPI,
    LINKTYPE_RADIOTAP,
    LINKTYPE_SLL,
    LINKTYPE_SLL2,
    MAC,
    MALFORMED,
    NON_IP,
    SPORT,
    V4,
    V6,
    agree_with_tshark,
    decoded_as_listed,
    ipv4_length,
    llc,
)
from scapy.layers.dot11 import Dot11, RadioTap
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop
from scapy.layers.l2 import ARP, LLC, SNAP, CookedLinux, CookedLinuxV2, Dot1Q, Dot3, Ether
from scapy.packet import Raw
from tshark_oracle import TSHARK

from portannot.decode import decode_file
from portannot.status import STATUS_NAMES
from portannot.transport import TRANSPORT_NAMES


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
        dot3(LLC(dsap=0xAA, ssap=0xAA, ctrl=3), Raw(b"\x00\x00")),  # SNAP cut short: tshark
    ]) == [NON_IP, NON_IP, V4, V4, NON_IP, NON_IP, MALFORMED]  # malformed (test_llc_edges_...)


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


def ip_in_ipv6_where_ipv4_is_announced() -> list[tuple[int, bytes, tuple]]:
    """(link type, frame, what the decoder sees): an IPv6 header under ethertype 0x0800
    carrying an IPv4 header (IP-in-IPv6, next header 4; and after an atomic Fragment
    header, as tshark_random.py's seed 4903 of --kind links --damage link met it under a
    damaged BSD null family). Its packet is the IPv6 one, no-ports; tests/tshark_oracle
    took the inner IPv4 header's addresses for it, reading an ip.src as the outer ip
    layer's, where that layer (the IPv4 dissector that handed the header on) shows only
    its version, 6."""
    v4_type = bytes(Ether(**MAC, type=0x0800))
    inner = IP(src=B4, dst=A4) / TCP(sport=SPORT, dport=80)
    outer = ("no-ports", 6, A6, B6, None, 0, 0, None)
    return [
        (LINKTYPE_ETHERNET, v4_type + bytes(IPv6(src=A6, dst=B6, nh=4) / inner), outer),
        (LINKTYPE_ETHERNET, v4_type + bytes(IPv6(src=A6, dst=B6) / IPv6ExtHdrFragment(nh=4, id=9)
                                            / inner), outer),
    ]


def test_ip_in_ipv6_where_ipv4_is_announced(decoded):
    decoded_as_listed(decoded, ip_in_ipv6_where_ipv4_is_announced())


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_ip_in_ipv6_where_ipv4_is_announced_as_the_oracle_reads_it(tmp_path):
    agree_with_tshark(tmp_path, ip_in_ipv6_where_ipv4_is_announced())


def llc_sap_ip_frames() -> list[tuple[int, bytes, tuple]]:
    """(link type, frame, what the decoder sees): IP under the LLC SAP 0x06, in every
    place an LLC header is read. tshark 4.0 hands the DSAP 0x06 (whatever the SSAP) to
    IPv4 in a UI frame (control 0x03) and an I frame (2 control bytes); the P/F bit, an
    S frame or the group DSAP 0x07 leave data; a Linux cooked header's protocol 0x0004
    is LLC (SNAP too); an 802.11 body starting 0x06 is LLC, not a bare ethertype."""
    def dot3(*layers, tag: int | None = None) -> bytes:
        body = b"".join(bytes(x) for x in layers)
        if tag is None:
            return bytes(Dot3(**MAC, len=len(body))) + body
        return bytes(Ether(**MAC) / Dot1Q(vlan=tag, type=len(body))) + body

    ui = LLC(dsap=6, ssap=6, ctrl=3)
    wlan = bytes(Dot11(type=2, subtype=0, addr1="02:00:00:00:00:0a", addr2="02:00:00:00:00:0b",
                       addr3="02:00:00:00:00:0c", SC=0x0010))
    cooked = bytes(CookedLinux(pkttype=0, proto=0x0004))
    return [
        (LINKTYPE_ETHERNET, dot3(ui, IP4), V4),
        (LINKTYPE_ETHERNET, dot3(LLC(dsap=6, ssap=0x42, ctrl=3), IP4), V4),  # any SSAP
        (LINKTYPE_ETHERNET, dot3(b"\x06\x06\x02\x04", IP4), V4),  # I frame
        (LINKTYPE_ETHERNET, dot3(ui, IP4, tag=12), V4[:-1] + (12,)),
        (LINKTYPE_ETHERNET, dot3(LLC(dsap=7, ssap=6, ctrl=3), IP4), NON_IP),
        (LINKTYPE_ETHERNET, dot3(b"\x06\x06\x13", IP4), NON_IP),  # UI with the P/F bit
        (LINKTYPE_ETHERNET, dot3(b"\x06\x06\x01\x00", IP4), NON_IP),  # S frame
        (LINKTYPE_ETHERNET, dot3(b"\x06\x06"), MALFORMED),  # no control field
        (LINKTYPE_ETHERNET, dot3(b"\x06\x06\x02"), MALFORMED),  # half an I frame's
        (LINKTYPE_SLL, cooked + bytes(ui) + IP4, V4),
        (LINKTYPE_SLL, cooked + bytes(LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(code=0x0800)) + IP4,
         V4),
        (LINKTYPE_SLL, cooked + bytes(LLC(dsap=0x42, ssap=0x42, ctrl=3)) + bytes(35), NON_IP),
        (LINKTYPE_SLL2, bytes(CookedLinuxV2(proto=0x0004)) + b"\x06\x06\x00\x00" + IP4, V4),
        (LINKTYPE_IEEE802_11, wlan + bytes(ui) + IP4, V4),
        (LINKTYPE_IEEE802_11, wlan + b"\x06\x42\x00\x00" + IP4, V4),
        (LINKTYPE_IEEE802_11, wlan + b"\x07\x06\x03" + IP4, NON_IP),
    ]


def test_ip_under_its_own_llc_sap(decoded):
    for linktype, frame, seen in llc_sap_ip_frames():
        assert decoded(linktype, [frame]) == [seen], frame


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_ip_under_its_own_llc_sap_as_tshark_shows_it(tmp_path):
    agree_with_tshark(tmp_path, llc_sap_ip_frames())


def llc_edges() -> list[tuple[int, bytes, tuple]]:
    """(link type, frame, what the decoder sees): LLC headers at their odd lengths, after
    ethertype 0x8870 (802.1 jumbo LLC, no length), after an 802.3 length and after a tag's.
    tshark reads the two SAPs and the control field (2 bytes in an I or S frame) whatever
    the SAP, and SNAP's 5 bytes after it where both SAPs are 0xaa: a header cut anywhere
    is malformed; SNAP in an I frame (2 control bytes) carries its ethertype as in a UI
    one. An 802.3 length bounds the header (padding follows a short one); an Ethernet
    type field 0 is an ethertype to tshark (no LLC), a tag's length 0 is LLC in 0 bytes."""
    mac = bytes(Ether(**MAC))[:12]
    h = bytes.fromhex

    def jumbo(body: bytes) -> bytes:
        return mac + b"\x88\x70" + body

    def dot3(body: bytes, length: int | None = None, tag: bool = False) -> bytes:
        size = (len(body) if length is None else length).to_bytes(2, "big")
        head = mac + (h("8100 0007") if tag else b"")
        return head + size + body + bytes(max(0, 46 - len(body)))

    frames = [
        (jumbo(b""), MALFORMED),
        (jumbo(h("42")), MALFORMED),
        (jumbo(h("424200")), MALFORMED),  # an I frame's control cut
        (jumbo(h("424203") + bytes(35)), NON_IP),
        (jumbo(h("aaaa030000")), MALFORMED),  # SNAP cut
        (jumbo(h("aaaa03000000 08")), MALFORMED),
        (jumbo(h("aaaa0000 000000 0800") + IP4), V4),  # SNAP in an I frame
        (jumbo(h("aaaa0100 000000 0800") + IP4), NON_IP),  # an S frame
        (jumbo(h("aaaa13 000000 0800") + IP4), NON_IP),  # UI with the P/F bit
        (jumbo(h("060601")), MALFORMED),  # an S frame's control cut
        (dot3(h("aaaa03000000 0800") + IP4), V4),
        (dot3(h("42")), MALFORMED),  # the length cuts the header: padding follows
        (dot3(h("aaaa030000")), MALFORMED),
        (dot3(h("aaaa03000000 0800") + IP4, length=6), MALFORMED),
        (dot3(b""), NON_IP),  # type 0: an unknown ethertype
        (mac + bytes(2), NON_IP),
        (dot3(b"", tag=True), MALFORMED[:-1] + (7,)),  # after a tag, LLC in 0 bytes
        (dot3(h("aaaa03000000 0800") + IP4, tag=True), V4[:-1] + (7,)),
    ]
    return [(LINKTYPE_ETHERNET, frame, seen) for frame, seen in frames]


def test_llc_edges(decoded):
    for linktype, frame, seen in llc_edges():
        assert decoded(linktype, [frame]) == [seen], frame.hex()


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_llc_edges_as_tshark_shows_them(tmp_path):
    agree_with_tshark(tmp_path, llc_edges())


def test_a_type_field_between_1500_and_1536_is_neither(decoded):
    """Up to 1500 an 802.3 length, from 1536 (0x0600) an ethertype; between them neither
    (tshark: "Invalid length/type", data): not an 802.3 frame whose LLC/SNAP is read."""
    def typed(value: int) -> bytes:
        return (bytes(Ether(**MAC))[:12] + value.to_bytes(2, "big")
                + bytes(LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x0800)) + IP4)

    assert decoded(LINKTYPE_ETHERNET, [typed(1500), typed(1501), typed(1535)]) == [V4, NON_IP, NON_IP]


def frames_an_8023_length_ends() -> list[tuple[int, bytes | tuple[bytes, int], tuple]]:
    """(link type, frame, what the decoder sees): an 802.3 length ends the packet, as
    tshark's 802.3 dissector gives LLC only that many bytes, the rest being the frame's
    trailer: an IPv4 total length of 0 (TSO) stops there, and ports past it are past the
    packet (malformed, no ports: tshark 4.0 shows ip:udp without ports, Malformed). The
    padding's 0xabab, or a destination port past the length, was read as the packet's.
    Counted by hand: the length covers LLC/SNAP (8 bytes), the 20-byte IP header and
    `udp` bytes of UDP."""
    mac = bytes(Ether(**MAC))[:12]
    udp = bytes(UDP(sport=SPORT, dport=DPORT))
    pad = b"\xab" * 20

    def dot3(udp_bytes: int, ip_total: int = 0, tag: bytes = b"") -> bytes:
        body = llc() + ipv4_length(ip_total, udp)
        return mac + tag + (8 + 20 + udp_bytes).to_bytes(2, "big") + body[:8 + 20 + udp_bytes]

    bad4 = ("malformed", 4, A4, B4, None, 0, 0, None)
    whole = ("ports", 4, A4, B4, "udp", SPORT, DPORT, None)
    tso2 = dot3(2) + pad
    return [(LINKTYPE_ETHERNET, frame, seen) for frame, seen in (
        (tso2, bad4),  # TSO: 2 bytes of UDP within the length, padding after
        (dot3(2) + udp[2:] + pad, bad4),  # the rest of the UDP header after the length
        (dot3(2, ip_total=28) + udp[2:] + pad, bad4),  # an IP length past the 802.3 length
        (dot3(4) + udp[4:] + pad, whole),  # both ports within it
        (dot3(8) + pad, whole),
        ((tso2[:-16], len(tso2)), bad4),  # cut after the length's end: the packet is whole
        (dot3(2, tag=bytes.fromhex("8100 0007")) + pad, bad4[:-1] + (7,)),  # after a tag
        (dot3(2, tag=bytes.fromhex("8926 00000000")) + pad, bad4),  # after a VN-Tag
    )] + [
        # a declared FCS comes off before LLC is read: of an 802.3 length of 8 (LLC/SNAP)
        # and 8 bytes on the wire, the FCS leaves 4 for LLC, so the SNAP header runs past
        # the packet, not only past the snaplen's cut
        (with_fcs(LINKTYPE_ETHERNET), (mac + b"\x00\x08" + llc()[:6], 14 + 8), MALFORMED),
    ]


def test_an_8023_length_ends_the_packet(decoded):
    decoded_as_listed(decoded, frames_an_8023_length_ends())


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_an_8023_length_ends_the_packet_as_tshark_shows_it(tmp_path):
    agree_with_tshark(tmp_path, frames_an_8023_length_ends())


def frames_an_8023_length_past_the_frame() -> list[tuple[int, bytes | tuple[bytes, int], tuple]]:
    """(link type, frame, what the decoder sees): an 802.3 length that runs past the frame
    on the wire (past its declared FCS too) is what tshark 4.0 flags malformed, "Length
    field value goes past the end of the payload", whatever the snaplen did; so a frame
    the snaplen cut before its ports is malformed, not truncated (it was), and one whose
    ports were captured keeps them, as tshark shows them. A length that ends exactly
    where the snaplen cut leaves the packet whole: an IP header starting there is
    malformed too. A length within the frame, cut before the ports: truncated, as
    tshark has it. Counted by hand: LLC/SNAP (8 bytes), a 20-byte IPv4 header, 8 of UDP:
    36 bytes after the length field."""
    mac = bytes(Ether(**MAC))[:12]
    body = llc() + ipv4_length(28, bytes(UDP(sport=SPORT, dport=DPORT)))

    def dot3(length: int, captured: int, tag: bytes = b"", fcs: bytes = b"") -> tuple[bytes, int]:
        frame = mac + tag + length.to_bytes(2, "big") + body + fcs
        return frame[:len(mac) + len(tag) + 2 + captured], len(frame)

    bad4 = ("malformed", 4, A4, B4, None, 0, 0, None)
    cut4 = ("truncated", 4, A4, B4, None, 0, 0, None)
    whole = ("ports", 4, A4, B4, "udp", SPORT, DPORT, None)
    tag = bytes.fromhex("8100 0007")
    eth4 = with_fcs(LINKTYPE_ETHERNET)
    return [(LINKTYPE_ETHERNET, frame, seen) for frame, seen in (
        (dot3(40, 30), bad4),  # 4 bytes past the frame, cut in the source port
        (dot3(1500, 30), bad4),
        (dot3(40, 4), MALFORMED),  # cut inside LLC/SNAP
        (dot3(40, 36), whole),  # the ports captured: tshark shows them (and its flag)
        (dot3(36, 30), cut4),  # a length within the frame: the snaplen's cut
        (dot3(8, 8), MALFORMED),  # the length ends at the cut, where IP would start
        (dot3(40, 30, tag=tag), bad4[:-1] + (7,)),  # after a tag
    )] + [(eth4, frame, seen) for frame, seen in (
        (dot3(40, 30, fcs=FCS), bad4),  # a length into the declared FCS runs past the packet
        (dot3(36, 30, fcs=FCS), cut4),  # one up to the FCS does not
    )]


def test_an_8023_length_past_the_frame_is_malformed(decoded):
    decoded_as_listed(decoded, frames_an_8023_length_past_the_frame())


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_an_8023_length_past_the_frame_as_tshark_shows_it(tmp_path):
    agree_with_tshark(tmp_path, frames_an_8023_length_past_the_frame())


#: an FCS at the end of a frame, and the pcap header's link-type field saying frames end
#: with one of `words` 16-bit words (libpcap's LT_FCS_LENGTH_PRESENT, LT_FCS_LENGTH)
FCS = b"\xde\xad\xbe\xef"


def with_fcs(linktype: int, words: int = 2) -> int:
    return linktype | 0x04000000 | words << 28


def frames_with_declared_fcs() -> list[tuple[int, bytes | tuple[bytes, int], tuple]]:
    """(link-type field, frame, what the decoder sees): Ethernet frames in a pcap whose
    header says they end with a 4-byte (or 2-byte) FCS. tshark takes it off what follows
    the Ethernet header (wiretap's pseudo-header), as after BCP's F flag
    (test_serial.test_bridged_frames_with_fcs): an IP length of 0 (TSO) stops before it,
    one that runs into it runs past the packet (malformed, no ports, where they are not
    whole before it); a snaplen that cut the frame before the FCS leaves it truncated.
    Other link types get no FCS from the header (wiretap gives it to Ethernet only):
    802.11 bare and behind radiotap, an Ethernet frame behind PPI, Linux cooked. Each was
    checked with tshark 4.0 (2 bytes of UDP before the FCS are its source port, 40000;
    the FCS's 0xdead, or 0xbeef of a 2-byte FCS, would be the destination port)."""
    udp2 = bytes(UDP(sport=SPORT, dport=DPORT))[:2]
    eth = bytes(Ether(**MAC, type=0x0800))
    tso = eth + ipv4_length(0, udp2) + FCS
    into = eth + ipv4_length(24, udp2) + FCS
    tagged = bytes(Ether(**MAC) / Dot1Q(vlan=7, type=0x0800)) + ipv4_length(0, udp2) + FCS
    bad4 = ("malformed", 4, A4, B4, None, 0, 0, None)
    bad4_tag = ("malformed", 4, A4, B4, None, 0, 0, 7)
    cut4 = ("truncated", 4, A4, B4, None, 0, 0, None)
    fcs_port = ("ports", 4, A4, B4, "udp", SPORT, 0xDEAD, None)
    wlan = bytes(Dot11(type=2, subtype=0, FCfield="to_DS")) + llc()
    radiotap = bytes(RadioTap(present="Flags", Flags=0))
    ppi = struct.pack("<BBHI", 0, 0, 8, LINKTYPE_ETHERNET)
    eth4 = with_fcs(LINKTYPE_ETHERNET)
    return [(eth4, frame, seen) for frame, seen in (
        (eth + IP4 + FCS, V4),  # an IP length short of the FCS: as without it
        (tso, bad4),
        (into, bad4),
        ((into[:-2], len(into)), bad4),  # cut inside the FCS: the packet is all there
        ((tso[:-5], len(tso)), cut4),  # cut in the source port, before the FCS
        (tagged, bad4_tag),  # a tag: the FCS is still the frame's end
        (eth + ipv6_length(0, udp2) + FCS, ("malformed", 6, A6, B6, None, 0, 0, None)),
        (eth + ipv4_length(0, bytes(UDP(sport=SPORT, dport=DPORT))) + FCS, V4_NO_PAYLOAD),
        # cut where the FCS starts: the packet is all there, its IP header 8 bytes short
        ((eth + IP4[:8], len(eth) + 12), MALFORMED),
    )] + [
        (with_fcs(LINKTYPE_ETHERNET, 1), (eth + IP4[:2], len(eth) + 4), MALFORMED),
        # a 2-byte FCS: the first two of these four bytes are the packet's
        (with_fcs(LINKTYPE_ETHERNET, 1), tso, ("ports", 4, A4, B4, "udp", SPORT, 0xDEAD, None)),
        (with_fcs(LINKTYPE_ETHERNET, 0), tso, fcs_port),  # the F bit, a length of 0: none
        (LINKTYPE_ETHERNET | 2 << 28, tso, fcs_port),  # a length without the F bit: none
        (with_fcs(LINKTYPE_IEEE802_11), wlan + ipv4_length(0, udp2) + FCS, fcs_port),
        (with_fcs(LINKTYPE_RADIOTAP), radiotap + wlan + ipv4_length(0, udp2) + FCS, fcs_port),
        (with_fcs(LINKTYPE_PPI), ppi + tso, fcs_port),
        (with_fcs(LINKTYPE_SLL), bytes(CookedLinux(proto=0x0800)) + ipv4_length(0, udp2) + FCS,
         fcs_port),
    ]


#: a UDP header and no payload before the FCS: the ports are there
V4_NO_PAYLOAD = ("ports", 4, A4, B4, "udp", SPORT, DPORT, None)


def ipv6_length(payload: int, transport: bytes) -> bytes:
    header = bytearray(IP6[:40])
    header[4:6] = struct.pack(">H", payload)
    return bytes(header) + transport


def test_fcs_the_pcap_header_declares(decoded):
    decoded_as_listed(decoded, frames_with_declared_fcs())


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_fcs_the_pcap_header_declares_as_tshark_shows_it(tmp_path):
    agree_with_tshark(tmp_path, frames_with_declared_fcs())


def test_declared_fcs_and_tcp_flags(tmp_path):
    """TCP after an IP length of 0 in a pcap that declares a 4-byte FCS: 12 bytes of TCP
    before the FCS hold no flags (tshark 4.0 shows none: it needs the window, bytes
    14-15, first), 16 hold them; with a 2-byte FCS, 12 bytes of TCP and 2 of the 4
    after them (14) still hold none. The FCS's bytes were read as the flags (0xead)."""
    syn = bytes(TCP(sport=SPORT, dport=DPORT, flags="S"))
    eth = bytes(Ether(**MAC, type=0x0800))
    frames = [eth + ipv4_length(0, syn[:12], 6) + FCS, eth + ipv4_length(0, syn[:16], 6) + FCS]
    for words in (2, 1):
        b = decode_file(write_pcap(tmp_path / f"tcp{words}.pcap", list(enumerate(frames)),
                                   linktype=with_fcs(LINKTYPE_ETHERNET, words)))
        assert [STATUS_NAMES[s] for s in b.status] == ["ports", "ports"]
        assert [int(f) for f in b.tcp_flags] == [0, 0x002], words


def _pcapng_with_fcs(path, interfaces, packets):
    """A little-endian pcapng: interfaces are (link type, if_fcslen or None), packets
    (interface, frame or (frame captured, original length), epb_flags or None)."""
    def block(btype: int, body: bytes) -> bytes:
        body += bytes(-len(body) % 4)
        return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)

    def option(code: int, value: bytes) -> bytes:
        return struct.pack("<HH", code, len(value)) + value + bytes(-len(value) % 4)

    out = [block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))]
    for linktype, fcslen in interfaces:
        opts = b"" if fcslen is None else option(13, bytes([fcslen])) + bytes(4)
        out.append(block(1, struct.pack("<HHI", linktype, 0, 0) + opts))
    for i, (iface, frame, flags) in enumerate(packets):
        data, orig = frame if isinstance(frame, tuple) else (frame, len(frame))
        opts = b"" if flags is None else option(2, struct.pack("<I", flags)) + bytes(4)
        out.append(block(6, struct.pack("<IIIII", iface, 0, i, len(data), orig) + data
                         + bytes(-len(data) % 4) + opts))
    path.write_bytes(b"".join(out))
    return path


def frames_with_fcs_in_pcapng() -> tuple[list, list]:
    """(interfaces, packets with what the decoder sees in each): Ethernet interfaces whose
    if_fcslen is 4, absent, or 0, and an 802.11 one whose if_fcslen tshark ignores;
    packets whose epb_flags FCS length (bits 5-8, bytes) overrides the interface's where
    it is not 0. As with the pcap header's (test_fcs_the_pcap_header_declares), tshark
    4.0 ends the packet the FCS's bytes before the frame's end."""
    udp2 = bytes(UDP(sport=SPORT, dport=DPORT))[:2]
    eth = bytes(Ether(**MAC, type=0x0800))
    tso = eth + ipv4_length(0, udp2) + FCS
    into = eth + ipv4_length(24, udp2) + FCS
    wlan = bytes(Dot11(type=2, subtype=0, FCfield="to_DS")) + llc() + ipv4_length(0, udp2) + FCS
    bad4 = ("malformed", 4, A4, B4, None, 0, 0, None)
    cut4 = ("truncated", 4, A4, B4, None, 0, 0, None)
    fcs_port = ("ports", 4, A4, B4, "udp", SPORT, 0xDEAD, None)
    interfaces = [(LINKTYPE_ETHERNET, 4), (LINKTYPE_ETHERNET, None), (LINKTYPE_ETHERNET, 0),
                  (LINKTYPE_IEEE802_11, 4)]
    packets = [
        ((0, eth + IP4 + FCS, None), V4),
        ((0, tso, None), bad4),
        ((0, into, None), bad4),
        ((0, (tso[:-5], len(tso)), None), cut4),
        ((0, (eth + IP4[:8], len(eth) + 12), None), MALFORMED),  # cut at the FCS
        ((0, tso, 0), bad4),  # flags without an FCS length: the interface's
        ((0, tso, 1 << 5), fcs_port),  # a 1-byte FCS: 0xdead is before it
        ((1, tso, None), fcs_port),
        ((1, tso, 4 << 5), bad4),
        ((2, tso, None), fcs_port),
        ((2, tso, 4 << 5 | 1), bad4),  # with an inbound direction
        ((3, wlan, None), fcs_port),
        ((3, wlan, 4 << 5), fcs_port),
    ]
    return interfaces, packets


def _seen(b, i: int) -> tuple:
    import ipaddress

    version = int(b.ip_version[i])
    addr = [None, None]
    if version:
        for k, col in enumerate((b.src_addr[i], b.dst_addr[i])):
            addr[k] = str(ipaddress.ip_address(bytes(col)[12:] if version == 4 else bytes(col)))
    t = int(b.transport[i])
    return (STATUS_NAMES[b.status[i]], version, *addr, TRANSPORT_NAMES[t] if t < len(TRANSPORT_NAMES) else None,
            int(b.src_port[i]), int(b.dst_port[i]), None)


def test_fcs_a_pcapng_declares(tmp_path):
    interfaces, packets = frames_with_fcs_in_pcapng()
    b = decode_file(_pcapng_with_fcs(tmp_path / "fcs.pcapng", interfaces,
                                     [p for p, _ in packets]))
    assert [_seen(b, i) for i in range(len(b))] == [seen for _, seen in packets]


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_fcs_a_pcapng_declares_as_tshark_shows_it(tmp_path):
    from tshark_oracle import oracle

    interfaces, packets = frames_with_fcs_in_pcapng()
    path = _pcapng_with_fcs(tmp_path / "fcs.pcapng", interfaces, [p for p, _ in packets])
    for row, (_, seen) in zip(oracle(path), packets, strict=True):
        assert (row.src, row.dst, row.src_port or 0, row.dst_port or 0) == (
            seen[2], seen[3], seen[5], seen[6]), row.number
        if seen[0] in ("malformed", "truncated"):
            assert row.malformed == (seen[0] == "malformed"), row.number
