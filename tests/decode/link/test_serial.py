"""link/serial: PPP (also behind a direction byte) and Cisco HDLC."""

from __future__ import annotations

import struct

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
    LINKTYPE_PPP,
    LINKTYPE_PPP_HDLC,
    LINKTYPE_PPP_WITH_DIR,
    MAC,
    MALFORMED,
    NON_IP,
    SPORT,
    V4,
    V6,
    agree_with_tshark,
    decoded_as_listed,
    ipv4_length,
)
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import TCP, UDP
from scapy.layers.l2 import Dot1Q, Ether
from tshark_oracle import TSHARK

from portannot.decode import decode_file
from portannot.status import STATUS_NAMES


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


def ppp_protocol_numbers() -> list[tuple[int, bytes, tuple]]:
    """(link type, frame, what the decoder sees): the PPP protocol numbers tshark's table
    has besides 0x0021 and 0x0057: MPLS multicast (0x0283), and IPv4's and IPv6's
    ethertypes (0x0800, 0x86dd), with and without address and control, over PPP and
    PPPoE; MPLS's ethertype (0x8847) there is data to tshark."""
    label = bytes(MPLS(label=100, s=1, ttl=64))

    def pppoe(proto: int, body: bytes) -> bytes:
        payload = struct.pack(">H", proto) + body
        return (bytes(Ether(**MAC, type=0x8864)) + struct.pack(">BBHH", 0x11, 0, 1, len(payload))
                + payload)

    return [
        (LINKTYPE_PPP, b"\xff\x03\x08\x00" + IP4, V4),
        (LINKTYPE_PPP, b"\x08\x00" + IP4, V4),
        (LINKTYPE_PPP, b"\xff\x03\x86\xdd" + IP6, V6),
        (LINKTYPE_PPP, b"\x86\xdd" + IP6, V6),
        (LINKTYPE_PPP, b"\xff\x03\x02\x83" + label + IP4, V4),
        (LINKTYPE_PPP, b"\xff\x03\x88\x47" + label + IP4, NON_IP),
        (LINKTYPE_PPP, b"\xff\x03\x08\x00" + IP6, V6),  # IPv4's dissector hands IPv6 on
        (LINKTYPE_ETHERNET, pppoe(0x0800, IP4), V4),
        (LINKTYPE_ETHERNET, pppoe(0x86DD, IP6), V6),
        (LINKTYPE_ETHERNET, pppoe(0x0283, label + IP4), V4),
    ]


def test_ppp_protocol_numbers(decoded):
    for linktype, frame, seen in ppp_protocol_numbers():
        assert decoded(linktype, [frame]) == [seen], frame


def ppp_with_direction() -> list[tuple[int, bytes, tuple]]:
    """LINKTYPE_PPP_WITH_DIR (204): a direction byte (0 received, else sent), then PPP
    framed as on link type 9. A control byte without the 0xff address before it is a
    one-byte protocol number (0x03, no IP): tshark reads it so."""
    frames = [
        (b"\x00\xff\x03\x00\x21" + IP4, V4),
        (b"\x01\xff\x03\x00\x57" + IP6, V6),
        (b"\x07\x00\x21" + IP4, V4),
        (b"\x00\x21" + IP4, V4),
        (b"\x01\x57" + IP6, V6),
        (b"\x01\xff\x03\xc0\x21" + bytes(8), NON_IP),  # LCP
        (b"\x00\x03\x00\x21" + IP4, NON_IP),
        (b"\x00\xff\x03\x08\x00" + IP4, V4),
    ]
    return [(LINKTYPE_PPP_WITH_DIR, frame, seen) for frame, seen in frames]


def test_ppp_with_direction(decoded):
    decoded_as_listed(decoded, ppp_with_direction())


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_ppp_with_direction_as_tshark_shows_it(tmp_path):
    agree_with_tshark(tmp_path, ppp_with_direction())


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_ppp_protocol_numbers_as_tshark_shows_them(tmp_path):
    agree_with_tshark(tmp_path, ppp_protocol_numbers())


def bridged_frames() -> list[tuple[int, bytes, tuple]]:
    """(link type, frame, what the decoder sees): PPP protocol 0x0031, RFC 3518's bridged
    frame: a flags byte (0x80 an FCS at the end, 0x20 zero pad, 0x10 a bridge control
    packet, a pad count) and a MAC type (1 Ethernet), then the frame, read by tshark's
    bcp_bpdu into eth when the MAC type is 1, whatever the flags but 0x10. A tag inside
    the bridged frame is not the PPP frame's VLAN. Over PPP (framed or not, the protocol
    compressed) and PPPoE."""
    eth = bytes(Ether(**MAC, type=0x0800)) + IP4
    tagged = bytes(Ether(**MAC) / Dot1Q(vlan=7, type=0x86DD)) + IP6
    fcs = b"\x12\x34\x56\x78"

    def pppoe(body: bytes) -> bytes:
        payload = b"\x00\x31" + body
        return (bytes(Ether(**MAC, type=0x8864)) + struct.pack(">BBHH", 0x11, 0, 1, len(payload))
                + payload)

    frames = [
        (b"\xff\x03\x00\x31\x00\x01" + eth, V4),
        (b"\xff\x03\x00\x31\x80\x01" + eth + fcs, V4),  # with the frame's FCS
        (b"\xff\x03\x00\x31\x23\x01" + eth + bytes(3), V4),  # zero pad, 3 pad bytes
        (b"\x00\x31\x00\x01" + eth, V4),
        (b"\x31\x00\x01" + eth, V4),  # the protocol compressed
        (b"\xff\x03\x00\x31\x00\x01" + tagged, V6),
        (b"\xff\x03\x00\x31\x10\x01" + eth, NON_IP),  # bridge control
        (b"\xff\x03\x00\x31\x00\x02" + eth, NON_IP),  # 802.4
        (b"\xff\x03\x00\x31\x00\x04" + eth, NON_IP),  # FDDI
        (b"\xff\x03\x00\x31\x00\x0b" + eth, NON_IP),  # unknown
        (b"\xff\x03\x00\x31\x00\x01", NON_IP),  # no frame
        (b"\xff\x03\x00\x31\x00", MALFORMED),  # the MAC type missing
        (b"\xff\x03\x00\x31\x00\x01" + eth[:20], MALFORMED),  # the IP header cut
    ]
    return [(LINKTYPE_PPP, frame, seen) for frame, seen in frames] + [
        (LINKTYPE_ETHERNET, pppoe(b"\x00\x01" + eth), V4),
        (LINKTYPE_ETHERNET, pppoe(b"\x10\x01" + eth), NON_IP),
    ]


def test_bridged_frames(decoded):
    for linktype, frame, seen in bridged_frames():
        assert decoded(linktype, [frame]) == [seen], frame


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_bridged_frames_as_tshark_shows_them(tmp_path):
    agree_with_tshark(tmp_path, bridged_frames())


#: a frame the snaplen cut before an IP header
CUT = ("truncated", 0, None, None, None, 0, 0, None)
#: a bridged frame's FCS (BCP flag 0x80), 4 bytes after the Ethernet frame
FCS = b"\xde\xad\xbe\xef"


def bridged_frames_with_fcs() -> list[tuple[int, bytes | tuple[bytes, int], tuple]]:
    """(link type, frame, what the decoder sees): bridged frames that say they end with
    their FCS (flag 0x80). tshark reads them with its Ethernet dissector with FCS, which
    takes the last 4 bytes on the wire off what follows the Ethernet header: an IP
    length of 0 stops before them, and one that runs into them runs past the packet
    (malformed, no ports, where they are not whole before it), as after radiotap's FCS
    (test_wlan.test_radiotap_fcs_ends_the_packet). The FCS's first two bytes (0xdead) were
    read as a destination port. Without the flag the same bytes are the frame's. Each was
    checked with tshark 4.0 (bytes counted by hand: 2 of UDP before the FCS are its
    source port, 40000, and the FCS's 0xdead would be the destination port)."""
    fcs, plain = b"\xff\x03\x00\x31\x80\x01", b"\xff\x03\x00\x31\x00\x01"
    udp2 = bytes(UDP(sport=SPORT, dport=DPORT))[:2]
    udp1 = udp2[:1]

    def eth(packet: bytes, ethertype: int = 0x0800) -> bytes:
        return bytes(Ether(**MAC, type=ethertype)) + packet

    def pppoe(body: bytes) -> bytes:
        payload = b"\x00\x31" + body
        return (bytes(Ether(**MAC, type=0x8864)) + struct.pack(">BBHH", 0x11, 0, 1, len(payload))
                + payload)

    def v6(payload: int, transport: bytes) -> bytes:
        header = bytearray(IP6[:40])
        header[4:6] = struct.pack(">H", payload)
        return bytes(header) + transport

    bad4 = ("malformed", 4, A4, B4, None, 0, 0, None)
    bad6 = ("malformed", 6, A6, B6, None, 0, 0, None)
    cut4 = ("truncated", 4, A4, B4, None, 0, 0, None)
    fcs_port = ("ports", 4, A4, B4, "udp", SPORT, 0xDEAD, None)
    into = fcs + eth(ipv4_length(24, udp2)) + FCS  # UDP's ports: 2 bytes, then the FCS
    tso = fcs + eth(ipv4_length(0, udp2)) + FCS  # the IP length from the frame
    tso1 = fcs + eth(ipv4_length(0, udp1)) + FCS
    tagged = bytes(Ether(**MAC) / Dot1Q(vlan=7, type=0x0800)) + ipv4_length(0, udp2)
    return [(LINKTYPE_PPP, frame, seen) for frame, seen in (
        (fcs + eth(IP4) + FCS, V4),
        (tso, bad4),
        (plain + eth(ipv4_length(0, udp2)) + FCS, fcs_port),  # no flag: the bytes count
        (into, bad4),
        ((into[:-2], len(into)), bad4),  # cut inside the FCS: the packet is all there
        ((into[:-5], len(into)), cut4),  # cut before it, inside the source port
        ((tso[:-5], len(tso)), cut4),  # IP length 0, cut in the source port, before the FCS
        ((tso1[:-5], len(tso1)), bad4),  # 1 byte of UDP before the FCS, none captured
        (fcs + eth(v6(4, udp2), 0x86DD) + FCS, bad6),
        (fcs + eth(v6(0, udp2), 0x86DD) + FCS, bad6),
        (fcs + tagged + FCS, bad4),  # a tag inside: the FCS is still the frame's end
        (plain + tagged + FCS, fcs_port),
        (fcs + eth(b"") + FCS, MALFORMED),  # the Ethernet header, then only the FCS
        (fcs + eth(b"")[:12] + FCS, NON_IP),  # the header's type read from the FCS, as tshark
        # cut where the FCS starts: the packet is all there, its IP header 8 bytes short
        ((fcs + eth(IP4[:8]), len(fcs + eth(IP4[:8]) + FCS)), MALFORMED),
        # under 4 bytes after the Ethernet header on the wire: no FCS to take off (tshark
        # takes it only where that many follow), so the snaplen cut the IP header
        ((fcs + eth(IP4[:1]), len(fcs + eth(IP4[:2]))), CUT),
        ((fcs + eth(IP4[:1]), len(fcs + eth(IP4[:3]))), CUT),
    )] + [
        (LINKTYPE_ETHERNET, pppoe(b"\x80\x01" + eth(ipv4_length(0, udp2)) + FCS), bad4),
        (LINKTYPE_ETHERNET, pppoe(b"\x80\x01" + eth(ipv4_length(24, udp2)) + FCS) + bytes(8),
         bad4),  # Ethernet padding after the PPPoE frame: its FCS ends the packet
        (LINKTYPE_ETHERNET, pppoe(b"\x00\x01" + eth(ipv4_length(0, udp2)) + FCS), fcs_port),
    ]


def test_bridged_frames_with_fcs(decoded):
    decoded_as_listed(decoded, bridged_frames_with_fcs())


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_bridged_frames_with_fcs_as_tshark_shows_them(tmp_path):
    agree_with_tshark(tmp_path, bridged_frames_with_fcs())


def test_bridged_fcs_and_tcp_flags(tmp_path):
    """TCP behind a bridged frame with FCS and an IP length of 0: 12 bytes of TCP before
    the FCS hold no flags (tshark shows none: it needs the window, bytes 14-15, first);
    16 hold them. The FCS's bytes were read as the flags (0xead)."""
    syn = bytes(TCP(sport=SPORT, dport=DPORT, flags="S"))
    head = b"\xff\x03\x00\x31\x80\x01" + bytes(Ether(**MAC, type=0x0800))
    frames = [head + ipv4_length(0, syn[:12], 6) + FCS, head + ipv4_length(0, syn[:16], 6) + FCS]
    b = decode_file(write_pcap(tmp_path / "tcp.pcap", [(i, f) for i, f in enumerate(frames)],
                               linktype=LINKTYPE_PPP))
    assert [STATUS_NAMES[s] for s in b.status] == ["ports", "ports"]
    assert [int(f) for f in b.tcp_flags] == [0, 0x002]
