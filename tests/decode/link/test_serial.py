"""link/serial: PPP (also behind a direction byte) and Cisco HDLC."""

from __future__ import annotations

import struct

import pytest
from linkframes import (
    IP4,
    IP6,
    LINKTYPE_ETHERNET,
    LINKTYPE_PPP,
    LINKTYPE_PPP_HDLC,
    LINKTYPE_PPP_WITH_DIR,
    MAC,
    MALFORMED,
    NON_IP,
    V4,
    V6,
    agree_with_tshark,
    decoded_as_listed,
)
from scapy.contrib.mpls import MPLS
from scapy.layers.l2 import Dot1Q, Ether
from tshark_oracle import TSHARK


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
