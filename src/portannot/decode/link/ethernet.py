"""Ethernet and 802.3 LLC/SNAP headers: the links that name an ethertype,
and the ethertypes the link analyzers hand over with.
"""

from __future__ import annotations

from portannot import status as S
from portannot.compiled import njit
from portannot.decode.fields import CONTINUE, SHORT, be16

#: ethertypes the analyzers (these and decode/ethertype's) hand over with
ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_MPLS = 0x8847
ETH_MPLS_MULTICAST = 0x8848
ETH_NSH = 0x894F
#: Transparent Ethernet Bridging: a whole Ethernet frame follows (as GRE names it)
ETH_TEB = 0x6558
#: the first ethertype: a type field from 0x0600 on is one (the name is the historical
#: one, kept: other modules test `et >= MAX_8023_LENGTH`); up to MAX_8023_PAYLOAD, 1500,
#: it is an 802.3 length; between the two neither (tshark: "Invalid length/type", data)
MAX_8023_LENGTH = 0x0600
MAX_8023_PAYLOAD = 1500
#: the end on the wire type_or_length gives an 802.3 length past the frame's end there
#: (tshark flags it malformed): past any frame's end, so the kernel tells it whatever FCS
#: a header took off the wire end on the way (radiotap's, before an Ethernet frame in
#: an 802.11 body)
PAST_FRAME = 1 << 62
#: the 802.2 LLC service access point of IP (DSAP 0x06; RFC 1042 carries IP in SNAP, but
#: some old stacks used the SAP, and tshark reads it as IPv4)
LLC_SAP_IP = 0x06


@njit(cache=True, nogil=True, forceinline=True)
def ethernet(buf, p, end, wire):
    """An Ethernet header's type field 0 is an (unknown) ethertype to tshark, not an
    802.3 length: no LLC after it (after a tag it is a length). wire: where the frame
    ends on the wire. Returns the ends an 802.3 length gives too (type_or_length)."""
    if end - p < 14:
        return p, 0, end, wire, SHORT
    et = be16(buf, p + 12)
    if et >= MAX_8023_LENGTH:  # the common case first, as type_or_length has it
        return p + 14, et, end, wire, CONTINUE
    if et == 0:
        return p + 14, 0, end, wire, S.NON_IP
    return type_or_length(buf, p + 14, end, wire, et)


@njit(cache=True, nogil=True, forceinline=True)
def type_or_length(buf, p, end, wire, et):
    """What follows an Ethernet (or VLAN tag's) type/length field et, p just past it:
    an ethertype names it; an 802.3 length does not, and only an LLC/SNAP header then
    carries an ethertype, read within the length as tshark reads it (a header the length
    cuts is malformed, though padding follows); a value between the two (1501-1535) is
    neither: no IP. Returns the end of what follows, captured and on the wire (`wire`,
    where the frame ends there, less a declared FCS), too: the length ends it, as
    tshark's 802.3 dissector gives LLC only that many bytes (padding and anything else
    after them are the frame's trailer, not the packet's: an IP length of 0 stops there,
    and a header or ports past it are malformed). A length past the frame's end on the
    wire ends it at PAST_FRAME: tshark then gives LLC what there is and flags the 802.3
    header malformed ("Length field value goes past the end of the payload"), which the
    kernel tells by it."""
    if et >= MAX_8023_LENGTH:
        return p, et, end, wire, CONTINUE
    if et > MAX_8023_PAYLOAD:
        return p, 0, end, wire, S.NON_IP
    end = min(end, p + et)
    q, et_next, st = llc(buf, p, end)
    return q, et_next, end, p + et if p + et <= wire else PAST_FRAME, st


#: an LLC/SNAP header's organization code and protocol id, after the control field
SNAP_HEADER = 5


@njit(cache=True, nogil=True, forceinline=True)
def llc(buf, p, end):
    """An 802.2 LLC header at p and what it names, as tshark reads it: the two SAPs, the
    control field (1 byte in a U frame, 2 in an I or S frame: bits 0-1 not 11), and after
    it, where both SAPs are 0xAA, a SNAP header (5 bytes). An information frame (UI,
    control 0x03, the P/F bit clear; or an I frame) carries SNAP's ethertype, or IPv4
    behind IP's own SAP, the DSAP 0x06 (any SSAP). A header cut short anywhere, SNAP's
    part too: SHORT (tshark: malformed, whatever the SAP). Any other SAP, frame kind or
    SNAP organization code: no IP."""
    if end - p < 3:
        return p, 0, SHORT
    control = buf[p + 2]
    size = 3 if control & 3 == 3 else 4
    snap = buf[p] == 0xAA and buf[p + 1] == 0xAA
    if snap:
        size += SNAP_HEADER
    if end - p < size:
        return p, 0, SHORT
    if control != 0x03 and control & 1:  # neither UI nor I: no payload tshark follows
        return p, 0, S.NON_IP
    if snap:
        q = p + size - SNAP_HEADER
        if buf[q] == 0 and buf[q + 1] == 0 and (buf[q + 2] == 0 or buf[q + 2] == 0xF8):
            return p + size, be16(buf, q + 3), CONTINUE
        return p, 0, S.NON_IP
    if buf[p] == LLC_SAP_IP:
        return p + size, ETH_IPV4, CONTINUE
    return p, 0, S.NON_IP


@njit(cache=True, nogil=True, forceinline=True)
def snap_ethertype(buf, p):
    """Whether buf[p:p + 8] is an LLC/SNAP header whose protocol id is an ethertype: its
    organization code is 00-00-00 (RFC 1042) or 00-00-f8 (802.1H); under any other, the
    id is that organization's own number."""
    return (buf[p] == 0xAA and buf[p + 1] == 0xAA and buf[p + 2] == 0x03
            and buf[p + 3] == 0 and buf[p + 4] == 0 and (buf[p + 5] == 0 or buf[p + 5] == 0xF8))


@njit(cache=True, nogil=True, forceinline=True)
def llc_snap(buf, p, end):
    """An LLC/SNAP header at p and the ethertype it names."""
    if end - p < 8:
        return p, 0, SHORT
    if snap_ethertype(buf, p):
        return p + 8, be16(buf, p + 6), CONTINUE
    return p, 0, S.NON_IP
