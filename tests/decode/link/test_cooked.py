"""link/cooked: Linux cooked headers (SLL, SLL2) hand on by their protocol field as
tshark's sll dissector does: an ethertype, or one of Linux's small protocol numbers that
name a header (a whole Ethernet frame, 802.2 LLC, a WAN interface's PPP frame); a
netlink capture's field is a netlink family, never an ethertype. (The ethertype and
LLC cases: test_ethernet.py.)"""

from __future__ import annotations

import pytest
from linkframes import (
    IP4,
    IP6,
    LINKTYPE_SLL,
    LINKTYPE_SLL2,
    MAC,
    NON_IP,
    V4,
    V6,
    agree_with_tshark,
    decoded_as_listed,
)
from scapy.layers.l2 import CookedLinux, CookedLinuxV2, Ether
from tshark_oracle import TSHARK

ETHER_FRAME = bytes(Ether(**MAC, type=0x0800)) + IP4
PPP_HDLC_IP4 = b"\xff\x03\x00\x21" + IP4  # address, control, PPP's IPv4
PPP_BARE_IP6 = b"\x00\x57" + IP6  # no address and control: PPP's IPv6


def _cases() -> list[tuple[int, bytes, tuple]]:
    out = []
    for linktype, head in ((LINKTYPE_SLL, lambda proto, hatype=1: bytes(
            CookedLinux(proto=proto, lladdrtype=hatype))),
                           (LINKTYPE_SLL2, lambda proto, hatype=1: bytes(
            CookedLinuxV2(proto=proto, lladdrtype=hatype)))):
        out += [
            (linktype, head(0x0003) + ETHER_FRAME, V4),  # LINUX_SLL_P_ETHERNET
            (linktype, head(0x0007) + PPP_HDLC_IP4, V4),  # ETH_P_WAN_PPP
            (linktype, head(0x0007) + PPP_BARE_IP6, V6),
            (linktype, head(0x0800, hatype=824) + IP4, NON_IP),  # nlmon: a netlink family
            (linktype, head(0x0005) + IP4, NON_IP),  # another small number: no IP
        ]
    return out


def test_small_protocol_numbers_name_their_header(decoded):
    """0x0003 and 0x0007 were non-IP (only 0x0004, LLC, was read), and a netlink
    capture's family field was read as an ethertype: 0x0800 as IPv4."""
    decoded_as_listed(decoded, _cases())


@pytest.mark.skipif(not TSHARK, reason="tshark not installed")
def test_small_protocol_numbers_agree_with_tshark(tmp_path):
    agree_with_tshark(tmp_path, _cases())
