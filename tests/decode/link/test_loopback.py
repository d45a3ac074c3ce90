"""link/loopback: BSD null and loop, raw IP."""

from __future__ import annotations

import struct

from linkframes import (
    IP4,
    IP6,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
    MALFORMED,
    NON_IP,
    V4,
    V6,
)

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


def test_raw_ip_is_told_by_its_version(decoded):
    bogus = bytes([0x55]) + IP4[1:]  # version 5
    for linktype in (LINKTYPE_RAW, 12, 14):
        assert decoded(linktype, [IP4, IP6, bogus]) == [V4, V6, MALFORMED]
    # 228 and 229 say which version: IPv6 under 228 is read all the same (next test), IPv4
    # under 229 is malformed (tshark's IPv6 dissector hands nothing over)
    assert decoded(LINKTYPE_IPV4, [IP4, IP6, bogus]) == [V4, V6, MALFORMED]
    assert decoded(LINKTYPE_IPV6, [IP6, IP4]) == [V6, MALFORMED]
