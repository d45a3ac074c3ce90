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
#: the 802.2 LLC service access point of IP (DSAP 0x06; RFC 1042 carries IP in SNAP, but
#: some old stacks used the SAP, and tshark reads it as IPv4)
LLC_SAP_IP = 0x06


@njit(cache=True, nogil=True, forceinline=True)
def ethernet(buf, p, end):
    if end - p < 14:
        return p, 0, SHORT
    return type_or_length(buf, p + 14, end, be16(buf, p + 12))


@njit(cache=True, nogil=True, forceinline=True)
def type_or_length(buf, p, end, et):
    """What follows an Ethernet (or VLAN tag's) type/length field et, p just past it:
    an ethertype names it; an 802.3 length does not, and only an LLC/SNAP header then
    carries an ethertype; a value between the two (1501-1535) is neither: no IP."""
    if et >= MAX_8023_LENGTH:
        return p, et, CONTINUE
    if et > MAX_8023_PAYLOAD:
        return p, 0, S.NON_IP
    return llc(buf, p, end)


@njit(cache=True, nogil=True, forceinline=True)
def llc(buf, p, end):
    """An 802.2 LLC header at p and what it names: SNAP's ethertype, or IPv4 for IP's
    own SAP, as tshark reads it: the DSAP 0x06 (any SSAP), in an unnumbered information
    frame (control 0x03, the P/F bit clear: 3 bytes) or an information frame (control
    bit 0 clear: 2 bytes of control, 4 in all). A SNAP header cut short, any other SAP
    or frame: no IP. A SAP 6 header cut short: SHORT (tshark: malformed)."""
    if end - p >= 8 and snap_ethertype(buf, p):
        return p + 8, be16(buf, p + 6), CONTINUE
    if end - p < 1 or buf[p] != LLC_SAP_IP:
        return p, 0, S.NON_IP
    if end - p < 3:
        return p, 0, SHORT
    control = buf[p + 2]
    if control == 0x03:
        return p + 3, ETH_IPV4, CONTINUE
    if control & 1:
        return p, 0, S.NON_IP
    if end - p < 4:
        return p, 0, SHORT
    return p + 4, ETH_IPV4, CONTINUE


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
