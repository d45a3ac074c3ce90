"""link/cooked: Linux cooked headers (SLL, SLL2) hand on by their protocol field as
tshark's sll dissector does: an ethertype, or one of Linux's small protocol numbers that
name a header (a whole Ethernet frame, 802.2 LLC, a WAN interface's PPP frame); a
netlink capture's field is a netlink family, never an ethertype; a whole Ethernet
frame's 802.3 length ends the packet as on an Ethernet link. (The ethertype and LLC
cases: test_ethernet.py.)"""

from __future__ import annotations

import pytest
from linkframes import (
    A4,
    B4,
    DPORT,
    IP4,
    IP6,
    LINKTYPE_SLL,
    LINKTYPE_SLL2,
    MAC,
    NON_IP,
    SPORT,
    V4,
    V6,
    agree_with_tshark,
    decoded_as_listed,
    dot3,
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


def frames_an_8023_length_ends() -> list[tuple[int, bytes | tuple[bytes, int], tuple]]:
    """(link type, frame, what the decoder sees): a whole Ethernet frame behind protocol
    0x0003 goes to tshark's Ethernet dissector, whose 802.3 length bounds LLC as on an
    Ethernet link (tests/decode/link/test_ethernet.py test_an_8023_length_ends_the_packet):
    an IPv4 total length of 0 (TSO) stops at its end, so the padding after 2 bytes of UDP
    is no destination port (it was: 40000 -> 0xabab), nor is UDP's rest after a length
    that ends inside it (it was: ports); a length past the frame's end on the wire is
    tshark's malformed 802.3 header, so a frame the snaplen cut before its ports is
    malformed (it was truncated); within the frame, truncated. Counted by hand: the
    length covers LLC/SNAP (8), the IPv4 header (20) and the UDP bytes."""
    bad4 = ("malformed", 4, A4, B4, None, 0, 0, None)
    cut4 = ("truncated", 4, A4, B4, None, 0, 0, None)
    whole = ("ports", 4, A4, B4, "udp", SPORT, DPORT, None)
    pad = b"\xab" * 20
    out = []
    for linktype, head in ((LINKTYPE_SLL, bytes(CookedLinux(proto=0x0003))),
                           (LINKTYPE_SLL2, bytes(CookedLinuxV2(proto=0x0003)))):
        past = head + dot3(40, 28)  # 36 bytes after the length field
        within = head + dot3(36, 28)
        out += [(linktype, frame, seen) for frame, seen in (
            (head + dot3(30, 0, 2, pad), bad4),  # TSO: 2 bytes of UDP within the length
            (head + dot3(30, 28, 8, pad), bad4),  # the rest of UDP after the length
            (head + dot3(36, 28, 8, pad), whole),
            ((past[:-6], len(past)), bad4),  # cut in the source port
            ((within[:-6], len(within)), cut4),
        )]
    return out


def test_an_8023_length_ends_the_packet(decoded):
    decoded_as_listed(decoded, frames_an_8023_length_ends())


@pytest.mark.skipif(not TSHARK, reason="tshark not installed")
def test_an_8023_length_ends_the_packet_as_tshark_shows_it(tmp_path):
    agree_with_tshark(tmp_path, frames_an_8023_length_ends())
