"""Linux cooked captures (SLL and SLL2, `tcpdump -i any`): a header in place of the
link's own, whose protocol field names what follows as Linux's sockets name it, mostly
an ethertype.
"""

from __future__ import annotations

from portannot import status as S
from portannot.compiled import njit
from portannot.decode.fields import CONTINUE, SHORT, be16
from portannot.decode.link.ethernet import ethernet, llc
from portannot.decode.link.serial import ppp

#: protocol values below the ethertypes that name a header (Linux's ETH_P_*): a whole
#: Ethernet frame (LINUX_SLL_P_ETHERNET), an 802.2 LLC header (LINUX_SLL_P_802_2), a PPP
#: frame (ETH_P_WAN_PPP: Linux's HDLC and PPP WAN interfaces); the others (Novell
#: 802.3, CAN, ...) carry no IP, and the ethertype table has none of them
SLL_P_ETHERNET = 0x0003
SLL_P_802_2 = 0x0004
SLL_P_WAN_PPP = 0x0007
#: the device type of a netlink socket's capture (`nlmon`): its protocol field is the
#: netlink family, not an ethertype
ARPHRD_NETLINK = 824


@njit(cache=True, nogil=True, forceinline=True)
def sll(buf, p, end, wire):
    if end - p < 16:
        return p, 0, end, wire, SHORT
    return _cooked(buf, p + 16, end, wire, be16(buf, p + 14), be16(buf, p + 2))


@njit(cache=True, nogil=True, forceinline=True)
def sll2(buf, p, end, wire):
    if end - p < 20:
        return p, 0, end, wire, SHORT
    return _cooked(buf, p + 20, end, wire, be16(buf, p), be16(buf, p + 8))


@njit(cache=True, nogil=True, forceinline=True)
def _cooked(buf, p, end, wire, protocol, hatype):
    """What follows a cooked header with this protocol field and device type, as
    tshark's sll dissector hands it on. Returns the ends of the packet, captured and on
    the wire (`wire`: the frame's end there), too: a whole Ethernet frame's 802.3 length
    ends it, as tshark's Ethernet dissector bounds it here as on an Ethernet link."""
    if hatype == ARPHRD_NETLINK:
        return p, 0, end, wire, S.NON_IP
    if protocol == SLL_P_802_2:
        q, et, st = llc(buf, p, end)
    elif protocol == SLL_P_ETHERNET:
        return ethernet(buf, p, end, wire)
    elif protocol == SLL_P_WAN_PPP:
        q, et, st = ppp(buf, p, end)
    else:
        q, et, st = p, protocol, CONTINUE
    return q, et, end, wire, st
