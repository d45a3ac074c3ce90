"""decode/link/ through the decoder: where each link type's header ends and what it
says comes next, on frames built here (with scapy, by hand where scapy has no layer),
written to a small pcap and decoded (``decoded``, tests/decode/conftest.py).

Where a header ends is pinned by cutting. Behind a link header of H bytes (the
format's own size, worked out by hand below) the frame carries IPv4 (a 20-byte header)
and UDP: its ports are read from the first H + 24 captured bytes and not from H + 23,
every cut inside the link header is TRUNCATED, and a frame that is itself shorter than
its link header (nothing cut it) is MALFORMED. Every other expectation is the packet
the frame was built with, or a status the README names for what the header says.

Here: link/dispatch, where every link type's header ends, and PPI's hand-over.
"""

from __future__ import annotations

import re
import struct

import pytest
from linkframes import (
    IP4,
    IP6,
    LINKTYPE_AVS,
    LINKTYPE_C_HDLC,
    LINKTYPE_ETHERNET,
    LINKTYPE_IEEE802_11,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    LINKTYPE_PFLOG,
    LINKTYPE_PPI,
    LINKTYPE_PPP,
    LINKTYPE_PPP_HDLC,
    LINKTYPE_PRISM,
    LINKTYPE_RADIOTAP,
    LINKTYPE_RAW,
    LINKTYPE_SLL,
    LINKTYPE_SLL2,
    MAC,
    V4,
    V6,
    avs_header,
    llc,
    pflog_header,
    prism_header,
)
from paths import LOCAL_PCAPS, REPO
from scapy.contrib.chdlc import CHDLC
from scapy.layers.dot11 import Dot11, RadioTap
from scapy.layers.l2 import LLC, SNAP, CookedLinux, CookedLinuxV2, Dot3, Ether
from scapy.layers.ppi import PPI
from scapy.layers.ppp import HDLC, PPP

import portannot
from portannot.decode.link.dispatch import LINK_TYPES

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
    ("pflog", LINKTYPE_PFLOG, pflog_header(2, 45), 48),  # 45 bytes, padded to 48
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
    ("prism", LINKTYPE_PRISM, prism_header() + bytes(Dot11(type=2, subtype=0)
                                               / LLC(dsap=0xAA, ssap=0xAA, ctrl=3)
                                               / SNAP(OUI=0, code=0x0800)), 144 + 32),
    ("avs", LINKTYPE_AVS, avs_header() + bytes(Dot11(type=2, subtype=0)
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
        (LINKTYPE_PFLOG, pflog_header(24)),
        (LINKTYPE_IEEE802_11, bytes(Dot11(type=2, subtype=0) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3)
                                    / SNAP(OUI=0, code=0x86DD))),
    ]
    for linktype, header in cases:
        assert one(linktype, header + IP6) == V6, linktype


def test_ppi_says_its_length_and_hands_on_to_the_link_type_it_names(decoded):
    data = bytes(Dot11(type=2, subtype=0)) + llc() + IP4
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


@pytest.mark.parametrize("linktype", [147, 2, 65535])  # USER0, an unused value, the last
def test_a_link_type_without_an_analyzer_is_unsupported(one, linktype):
    assert one(linktype, IP4)[0] == "unsupported-link"


def test_readme_counts_the_link_types_of_the_random_captures():
    """README's decode section says over how many link types the random stacks run:
    the link types of pcaps/random-*.pcap*, which are every one the dispatch table
    reads but those that share another's analyzer (50 with 9, 12 and 14 with 101)."""
    seen: set[int] = set()
    for path in sorted(LOCAL_PCAPS.glob("random-*.pcap*")):
        if path.suffix in (".pcap", ".pcapng"):
            seen |= set(portannot.packets(str(path))["linktype"].to_pylist())
    assert seen == set(LINK_TYPES) - {12, 14, 50}
    said = re.search(r"random layer stacks over (\w+) link types", (REPO / "README.md").read_text())
    words = {"sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20}
    assert said and words.get(said.group(1)) == len(seen), said and said.group(0)
