"""Link layers: each analyzer finds where the network layer starts and what it is.

An analyzer returns (position after its header, ethertype of what follows,
CONTINUE) or (position, 0, final status). Its choice of ethertype hands the
packet to the network dispatch, as Zeek's packet analyzers hand over by table.
"""

from __future__ import annotations

import numpy as np

from portannot import status as S
from portannot.compiled import njit
from portannot.decode.fields import CONTINUE, SHORT, be16, be32, le32

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_MPLS = 0x8847

# analyzer codes
UNSUPPORTED, ETHERNET, SLL, SLL2, NULL, RAW, RAW4, RAW6, PPP = range(9)

#: LINKTYPE_* -> analyzer
LINK_TYPES = {
    0: NULL,  # BSD loopback, host byte order
    1: ETHERNET,
    9: PPP,
    12: RAW,  # DLT_RAW on OpenBSD
    14: RAW,  # DLT_RAW on BSD/OS
    50: PPP,  # PPP in HDLC-like framing
    101: RAW,
    108: NULL,  # OpenBSD loopback, network byte order (either order is accepted)
    113: SLL,
    228: RAW4,
    229: RAW6,
    276: SLL2,
}
LINK_TABLE = np.zeros(65536, dtype=np.uint8)
for _lt, _code in LINK_TYPES.items():
    LINK_TABLE[_lt] = _code

#: BSD address families that mean IPv6 (NetBSD/OpenBSD 24, FreeBSD 28, Darwin 30, Linux 10)
AF_INET = 2
AF_INET6 = (24, 28, 30, 10)

#: PPP protocol numbers -> ethertype
PPP_IPV4 = 0x0021
PPP_IPV6 = 0x0057
PPP_MPLS = 0x0281


@njit(cache=True, nogil=True, forceinline=True)
def ppp_to_ethertype(proto):
    if proto == PPP_IPV4:
        return ETH_IPV4
    if proto == PPP_IPV6:
        return ETH_IPV6
    if proto == PPP_MPLS:
        return ETH_MPLS
    return 0


@njit(cache=True, nogil=True, forceinline=True)
def ethernet(buf, p, end):
    if end - p < 14:
        return p, 0, SHORT
    et = be16(buf, p + 12)
    p += 14
    if et >= 0x0600:
        return p, et, CONTINUE
    # 802.3 length field: only LLC/SNAP carries an ethertype
    if end - p >= 8 and buf[p] == 0xAA and buf[p + 1] == 0xAA and buf[p + 2] == 0x03:
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


@njit(cache=True, nogil=True, forceinline=True)
def _af_ethertype(af):
    if af == AF_INET:
        return ETH_IPV4
    if af == 24 or af == 28 or af == 30 or af == 10:  # AF_INET6 values
        return ETH_IPV6
    return 0


@njit(cache=True, nogil=True, forceinline=True)
def null(buf, p, end):
    """The 4-byte address family, in whichever byte order the capturing host wrote it;
    some stacks put an ethertype in the low-order half instead (as Wireshark accepts)."""
    if end - p < 4:
        return p, 0, SHORT
    et = _af_ethertype(le32(buf, p))
    if et == 0:
        et = _af_ethertype(be32(buf, p))
    if et == 0:
        half = be16(buf, p + 2)
        if half == ETH_IPV4 or half == ETH_IPV6:
            et = half
    if et == 0:
        return p + 4, 0, S.NON_IP
    return p + 4, et, CONTINUE


@njit(cache=True, nogil=True, forceinline=True)
def raw(buf, p, end):
    if end - p < 1:
        return p, 0, SHORT
    version = buf[p] >> 4
    if version == 4:
        return p, ETH_IPV4, CONTINUE
    if version == 6:
        return p, ETH_IPV6, CONTINUE
    return p, 0, S.MALFORMED


@njit(cache=True, nogil=True, forceinline=True)
def ppp(buf, p, end):
    if end - p < 2:
        return p, 0, SHORT
    # HDLC address and control. No protocol field begins with 0xff (an uncompressed one
    # begins with an even byte; 0x00ff, which would compress to it, is reserved), so
    # 0xff alone says they are there, whatever the control byte: as tshark reads it.
    if buf[p] == 0xFF:
        p += 2
    if end - p < 1:
        return p, 0, SHORT
    if buf[p] & 1:  # protocol field compressed to one byte
        proto = np.int64(buf[p])
        p += 1
    else:
        if end - p < 2:
            return p, 0, SHORT
        proto = be16(buf, p)
        p += 2
    et = ppp_to_ethertype(proto)
    if et == 0:
        return p, 0, S.NON_IP
    return p, et, CONTINUE


@njit(cache=True, nogil=True, forceinline=True)
def link_layer(kind, buf, p, end):
    """Dispatch to the analyzer of a link type."""
    if kind == ETHERNET:
        return ethernet(buf, p, end)
    if kind == SLL:
        return sll(buf, p, end)
    if kind == SLL2:
        return sll2(buf, p, end)
    if kind == NULL:
        return null(buf, p, end)
    if kind == RAW:
        return raw(buf, p, end)
    if kind == RAW4:
        return p, ETH_IPV4, CONTINUE
    if kind == RAW6:
        return p, ETH_IPV6, CONTINUE
    if kind == PPP:
        return ppp(buf, p, end)
    return p, 0, S.UNSUPPORTED_LINK
