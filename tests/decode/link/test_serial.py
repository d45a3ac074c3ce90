"""link/serial: PPP and Cisco HDLC."""

from __future__ import annotations

import struct

import pytest
from linkframes import (
    IP4,
    IP6,
    LINKTYPE_C_HDLC,
    LINKTYPE_PPP,
    LINKTYPE_PPP_HDLC,
    MAC,
    NON_IP,
    V4,
    V6,
)
from scapy.contrib.mpls import MPLS
from scapy.layers.l2 import Ether


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
