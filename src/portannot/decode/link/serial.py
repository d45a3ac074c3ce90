"""PPP and Cisco HDLC: serial-line framings whose protocol field names IP or MPLS.
"""

from __future__ import annotations

import numpy as np

from portannot import status as S
from portannot.compiled import njit
from portannot.decode.fields import CONTINUE, SHORT, be16
from portannot.decode.link.ethernet import (
    ETH_IPV4,
    ETH_IPV6,
    ETH_MPLS,
    ETH_MPLS_MULTICAST,
    ETH_TEB,
)

#: PPP protocol numbers -> ethertype
PPP_IPV4 = 0x0021
PPP_IPV6 = 0x0057
PPP_MPLS = 0x0281
PPP_MPLS_MULTICAST = 0x0283
#: RFC 3518 BCP's bridged LAN traffic (a MAC frame behind a 2-byte header)
PPP_BCP = 0x0031
#: what the ethertype table knows it by: it has no ethertype, and a number past the
#: 16-bit space is one no type field can name (the table runs to it)
ETH_BCP = 0x10000 | PPP_BCP


@njit(cache=True, nogil=True, forceinline=True)
def ppp_to_ethertype(proto):
    """The ethertype of what a PPP protocol number names, 0 for no IP. As tshark's table
    of PPP protocols has them: PPP's own numbers for IPv4, IPv6 and MPLS (unicast and
    multicast), and IPv4's and IPv6's ethertypes too, which some stacks send there (an
    ethertype for MPLS or anything else tshark shows as data); a bridged frame (BCP)
    too, whose own header decode/ethertype's `bcp` reads."""
    if proto == PPP_IPV4 or proto == ETH_IPV4:
        return ETH_IPV4
    if proto == PPP_IPV6 or proto == ETH_IPV6:
        return ETH_IPV6
    if proto == PPP_MPLS:
        return ETH_MPLS
    if proto == PPP_MPLS_MULTICAST:
        return ETH_MPLS_MULTICAST
    if proto == PPP_BCP:
        return ETH_BCP
    return 0


@njit(cache=True, nogil=True, forceinline=True)
def ppp(buf, p, end):
    if end - p < 2:
        return p, 0, SHORT
    # HDLC address and control. No protocol field begins with 0xff (an uncompressed one
    # begins with an even byte; 0x00ff, which would compress to it, is reserved), so
    # 0xff alone says they are there, whatever the control byte: as tshark reads it.
    if buf[p] == 0xFF:
        p += 2
    p, proto, st = ppp_protocol(buf, p, end)
    if st != CONTINUE:
        return p, 0, st
    et = ppp_to_ethertype(proto)
    if et == 0:
        return p, 0, S.NON_IP
    return p, et, CONTINUE


@njit(cache=True, nogil=True, forceinline=True)
def ppp_protocol(buf, p, end):
    """PPP's protocol field at p: (position after it, protocol, CONTINUE or SHORT). Two
    bytes, or one where it was compressed (RFC 1661 PFC: an odd first byte)."""
    if end - p < 1:
        return p, 0, SHORT
    if buf[p] & 1:
        return p + 1, np.int64(buf[p]), CONTINUE
    if end - p < 2:
        return p, 0, SHORT
    return p + 2, be16(buf, p), CONTINUE


@njit(cache=True, nogil=True, forceinline=True)
def c_hdlc(buf, p, end):
    """Address, control, then a protocol number from the ethertype space. Only the ones
    Cisco HDLC carries, which are the ones tshark's table for it (chdlc.protocol) has:
    IPv4, IPv6, MPLS and a bridged Ethernet frame. A VLAN, PPPoE, 802.1ah or NSH
    ethertype there tshark shows as data, and so this is non-IP."""
    if end - p < 4:
        return p, 0, SHORT
    et = be16(buf, p + 2)
    if et == ETH_IPV4 or et == ETH_IPV6 or et == ETH_MPLS or et == ETH_MPLS_MULTICAST or et == ETH_TEB:
        return p + 4, et, CONTINUE
    return p + 4, 0, S.NON_IP
