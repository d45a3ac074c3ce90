"""Firewall logs: OpenBSD's pf log header and Linux's NFLOG entries, each with the
packet it logged.
"""

from __future__ import annotations

import numpy as np

from portannot import status as S
from portannot.compiled import njit
from portannot.decode.fields import CONTINUE, SHORT, be16, le16
from portannot.decode.link.ethernet import ETH_IPV4, ETH_IPV6
from portannot.decode.link.loopback import bsd_af_ethertype

#: pf's smallest log header (OpenBSD 3.4); the header is padded to 4 bytes
PFLOG_MIN_HEADER = 45


@njit(cache=True, nogil=True, forceinline=True)
def pflog(buf, p, end):
    """The header gives its own length (byte 0) and the address family (byte 1)."""
    if end - p < 2:
        return p, 0, SHORT
    size = np.int64(buf[p])
    if size < PFLOG_MIN_HEADER:
        return p, 0, S.MALFORMED
    et = bsd_af_ethertype(buf[p + 1])
    size = (size + 3) & ~3
    if end - p < size:
        return p, 0, SHORT
    if et == 0:
        return p + size, 0, S.NON_IP
    return p + size, et, CONTINUE


NFULA_PACKET_HDR, NFULA_PAYLOAD = 1, 9
#: NFLOG's family byte: netfilter's NFPROTO_IPV4 and NFPROTO_IPV6 (not BSD families)
NFPROTO_IPV4, NFPROTO_IPV6 = 2, 10
#: an NFULA_PACKET_HDR attribute: length and type, hardware protocol, hook, padding
NFLOG_PACKET_HDR_SIZE = 8


@njit(cache=True, nogil=True, forceinline=True)
def _nflog_family_ethertype(family):
    """The family byte's ethertype, for an entry whose packet header names no hardware
    protocol: netfilter's two IP families only, as tshark reads it (24, 28 or 30 there is
    not IPv6: they are BSD numbers, and NFLOG is Linux's)."""
    if family == NFPROTO_IPV4:
        return ETH_IPV4
    if family == NFPROTO_IPV6:
        return ETH_IPV6
    return 0


@njit(cache=True, nogil=True, forceinline=True)
def _nflog_attribute_fault(o, size, end, wire_end):
    """CONTINUE if an attribute of `size` bytes at o is well formed and captured whole,
    else why not: a length below 4 (tshark stops there and dissects nothing), past the
    frame (tshark: an exception, malformed), past the captured bytes only (SHORT)."""
    if size < 4:
        return S.MALFORMED
    if o + size > wire_end and o + size > end:
        return S.MALFORMED
    if o + size > end:
        return SHORT
    return CONTINUE


@njit(cache=True, nogil=True, forceinline=True)
def nflog(buf, p, end, wire_end):
    """A family byte, version and resource id, then type-length-value attributes; the
    packet is the payload attribute's value, ending where that attribute ends. Read as
    tshark 4.0 reads an entry, so damaged entries come out the same: every attribute to
    the end of the frame is walked, and one that is malformed or runs past the bytes
    leaves no packet at all, wherever it is (a payload attribute shortened by damage
    makes the rest of the packet read as attributes). The last payload and the last
    8-byte packet header attribute count; a nonzero hardware protocol in that header goes
    to the ethertype table, else the family byte says IPv4 or IPv6. Lengths and types are
    in the capturing host's byte order, which the file does not record: little-endian
    when the first length fits the record (nearly every Linux host), else big-endian.
    Returns the end of the packet's bytes too."""
    if end - p < 6:
        return p, 0, end, SHORT
    o = p + 4
    little = 4 <= le16(buf, o) <= end - o
    payload, payload_end, hw = np.int64(-1), end, np.int64(0)
    while max(wire_end, end) - o >= 4:
        if end - o < 4:
            return o, 0, end, SHORT
        size = le16(buf, o) if little else be16(buf, o)
        kind = (le16(buf, o + 2) if little else be16(buf, o + 2)) & 0x7FFF
        fault = _nflog_attribute_fault(o, size, end, wire_end)
        if fault != CONTINUE:
            return o, 0, end, fault
        if kind == NFULA_PACKET_HDR and size == NFLOG_PACKET_HDR_SIZE:
            hw = be16(buf, o + 4)
        elif kind == NFULA_PAYLOAD:
            payload, payload_end = o + 4, o + size
        o += (size + 3) & ~3
    if payload < 0:
        return min(o, end), 0, end, S.NON_IP  # no packet logged
    et = hw if hw != 0 else _nflog_family_ethertype(buf[p])
    if et == 0:
        return payload, 0, payload_end, S.NON_IP
    return payload, et, payload_end, CONTINUE
