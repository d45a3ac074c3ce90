"""Ethernet, 802.3 LLC/SNAP and Linux cooked headers: the links that name an ethertype,
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
#: the largest 802.3 length; a type field from 0x0600 on is an ethertype
MAX_8023_LENGTH = 0x0600


@njit(cache=True, nogil=True, forceinline=True)
def ethernet(buf, p, end):
    if end - p < 14:
        return p, 0, SHORT
    return type_or_length(buf, p + 14, end, be16(buf, p + 12))


@njit(cache=True, nogil=True, forceinline=True)
def type_or_length(buf, p, end, et):
    """What follows an Ethernet (or VLAN tag's) type/length field et, p just past it:
    an ethertype names it; an 802.3 length does not, and only an LLC/SNAP header then
    carries an ethertype."""
    if et >= MAX_8023_LENGTH:
        return p, et, CONTINUE
    if end - p >= 8 and snap_ethertype(buf, p):
        return p + 8, be16(buf, p + 6), CONTINUE
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


@njit(cache=True, nogil=True, forceinline=True)
def sll(buf, p, end):
    if end - p < 16:
        return p, 0, SHORT
    return p + 16, be16(buf, p + 14), CONTINUE


@njit(cache=True, nogil=True, forceinline=True)
def sll2(buf, p, end):
    if end - p < 20:
        return p, 0, SHORT
    return p + 20, be16(buf, p), CONTINUE
