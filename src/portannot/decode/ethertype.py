"""Ethertype dispatch: VLAN tags, MPLS labels and PPPoE sessions, one header a step.

ETHER_TABLE says what each ethertype is. The kernel looks the ethertype up and,
until it reaches IPv4 or IPv6, hands the packet to `ether_step`, which peels one
header and names the ethertype of what follows (an MPLS label that is not the
bottom of its stack names MPLS again).
"""

from __future__ import annotations

import numpy as np

from portannot import status as S
from portannot.compiled import njit
from portannot.decode.fields import CONTINUE, SHORT, be16
from portannot.decode.link import ppp_to_ethertype

OTHER, IPV4, IPV6, VLAN, MPLS, PPPOE_SESSION, SERVICE_TAG = range(7)

ETHERTYPES = {
    0x0800: IPV4,
    0x86DD: IPV6,
    0x8100: VLAN,  # 802.1Q
    0x88A8: SERVICE_TAG,  # 802.1ad: a VLAN tag, read whole before its id counts
    0x9100: VLAN,  # pre-standard QinQ
    0x9200: VLAN,
    0x8847: MPLS,  # unicast
    0x8848: MPLS,  # multicast
    0x8864: PPPOE_SESSION,
}
ETHER_TABLE = np.zeros(65536, dtype=np.uint8)
for _et, _kind in ETHERTYPES.items():
    ETHER_TABLE[_et] = _kind

MAX_LAYERS = 16  #: tags + labels followed before giving up (stops crafted endless stacks)
ETH_MPLS = 0x8847


@njit(cache=True, nogil=True, forceinline=True)
def ether_step(kind, buf, p, end):
    """Peel one header. Returns (position, next ethertype, VLAN id or -1, end of what
    follows, status)."""
    if kind == VLAN or kind == SERVICE_TAG:
        if end - p < 4:
            # a tag cut after its TCI: tshark shows an 802.1Q id, not an 802.1ad one
            partial = kind == VLAN and end - p >= 2
            return p, 0, be16(buf, p) & 0x0FFF if partial else -1, end, SHORT
        return p + 4, be16(buf, p + 2), be16(buf, p) & 0x0FFF, end, CONTINUE
    if kind == MPLS:
        if end - p < 4:
            return p, 0, -1, end, SHORT
        bottom = buf[p + 2] & 1
        p += 4
        if not bottom:
            return p, ETH_MPLS, -1, end, CONTINUE
        if end - p < 1:
            return p, 0, -1, end, SHORT
        version = buf[p] >> 4  # no type field: the payload's first nibble says
        if version == 4:
            return p, 0x0800, -1, end, CONTINUE
        if version == 6:
            return p, 0x86DD, -1, end, CONTINUE
        return p, 0, -1, end, S.NON_IP
    if kind == PPPOE_SESSION:
        if end - p < 8:
            return p, 0, -1, end, SHORT
        et = ppp_to_ethertype(be16(buf, p + 6))
        if et == 0:
            return p + 8, 0, -1, end, S.NON_IP
        # the session header's length bounds the PPP frame, as an IP length does its
        # packet (tshark reads no further): what lies past it is padding, not the packet
        session_end = p + 6 + be16(buf, p + 4)
        return p + 8, et, -1, min(end, session_end), CONTINUE
    return p, 0, -1, end, S.NON_IP
