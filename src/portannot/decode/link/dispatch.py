"""The link-type table and the dispatch through it: which analyzer reads a frame's
link header, PPI's header naming the link type after it.
"""

from __future__ import annotations

import numpy as np

from portannot import status as S
from portannot.compiled import njit
from portannot.decode.fields import CONTINUE, SHORT, le16, le32
from portannot.decode.link.cooked import sll, sll2
from portannot.decode.link.ethernet import ETH_IPV4, ETH_IPV6, ethernet
from portannot.decode.link.logs import nflog, pflog
from portannot.decode.link.loopback import loop, null, raw
from portannot.decode.link.serial import c_hdlc, ppp
from portannot.decode.link.wlan import avs, ieee802_11, prism, radiotap

# analyzer codes
(UNSUPPORTED, ETHERNET, SLL, SLL2, NULL, RAW, RAW4, RAW6, PPP, C_HDLC, PFLOG, NFLOG,
 IEEE802_11, RADIOTAP, PPI, LOOP, PRISM, AVS) = range(18)

LINKTYPE_ETHERNET, LINKTYPE_IEEE802_11 = 1, 105

#: LINKTYPE_* -> analyzer
LINK_TYPES = {
    0: NULL,  # BSD loopback, host byte order
    LINKTYPE_ETHERNET: ETHERNET,
    9: PPP,
    12: RAW,  # DLT_RAW on OpenBSD
    14: RAW,  # DLT_RAW on BSD/OS
    50: PPP,  # PPP in HDLC-like framing
    101: RAW,
    104: C_HDLC,  # Cisco HDLC
    LINKTYPE_IEEE802_11: IEEE802_11,  # 802.11 without a radio header
    108: LOOP,  # OpenBSD loopback, network byte order
    113: SLL,
    117: PFLOG,  # OpenBSD/FreeBSD pf log
    119: PRISM,  # 802.11 behind a Prism monitor-mode header (or an AVS one)
    127: RADIOTAP,  # 802.11 behind a radiotap header
    163: AVS,  # 802.11 behind an AVS (wlan-ng) capture header
    192: PPI,  # any of these link types behind a Per-Packet Information header
    204: PPP,  # PPP behind a direction byte, which the reader takes off (capture.pseudo_headers)
    228: RAW4,
    229: RAW6,
    239: NFLOG,  # Linux netfilter log
    276: SLL2,
}
LINK_TABLE = np.zeros(65536, dtype=np.uint8)
for _lt, _code in LINK_TYPES.items():
    LINK_TABLE[_lt] = _code


@njit(cache=True, nogil=True, forceinline=True)
def ppi(buf, p, end):
    """Header length (little-endian, byte 2) and the link type of what follows, which
    any analyzer here may read, as tshark hands it on by its table of link types.
    Returns (position after the header, that link type, status)."""
    if end - p < 8:
        return p, 0, SHORT
    size = max(le16(buf, p + 2), 8)  # the fixed part is there whatever the length says
    if end - p < size:
        return p, 0, SHORT
    return p + size, le32(buf, p + 4), CONTINUE


@njit(cache=True, nogil=True, forceinline=True)
def _analyzer(link_table, linktype):
    """The analyzer of a link type; a number past the table (a PPI header's 32 bits) has none."""
    return link_table[linktype] if 0 <= linktype < link_table.shape[0] else UNSUPPORTED


@njit(cache=True, nogil=True, forceinline=True)
def link_layer(link_table, linktype, buf, p, end, wire_end, wire):
    """Dispatch to the analyzer of a link type (link_table: LINK_TABLE). Returns
    (position, ethertype, end of the packet's bytes, its end on the wire, status);
    wire_end is where the frame ended on the wire (offset plus original length), for a
    link whose frames end with a trailer, and wire the same less the FCS the capture file
    declares (an Ethernet frame's), where an 802.3 length is held against it: the end on
    the wire returned is PAST_FRAME where the length runs past the frame (type_or_length).
    A PPI header names the link type after it, which is dispatched the same way."""
    kind = _analyzer(link_table, linktype)
    while kind == PPI:
        p, linktype, st = ppi(buf, p, end)
        if st != CONTINUE:
            return p, 0, end, wire, st
        kind = _analyzer(link_table, linktype)
    if kind == ETHERNET:
        return ethernet(buf, p, end, wire)  # an 802.3 length ends the packet
    if kind == RAW:
        p, et, st = raw(buf, p, end)
    elif kind == RAW4:
        et, st = ETH_IPV4, CONTINUE
    elif kind == RAW6:
        et, st = ETH_IPV6, CONTINUE
    elif kind == SLL:
        return sll(buf, p, end, wire)
    elif kind == SLL2:
        return sll2(buf, p, end, wire)
    elif kind == NULL:
        p, et, st = null(buf, p, end)
    elif kind == LOOP:
        p, et, st = loop(buf, p, end)
    elif kind == PPP:
        p, et, st = ppp(buf, p, end)
    elif kind == C_HDLC:
        p, et, st = c_hdlc(buf, p, end)
    elif kind == PFLOG:
        p, et, st = pflog(buf, p, end)
    elif kind == NFLOG:
        p, et, end, st = nflog(buf, p, end, wire_end)
    elif kind == IEEE802_11:
        return ieee802_11(buf, p, end, wire)
    elif kind == RADIOTAP:
        return radiotap(buf, p, end, wire_end)  # the frame ends before its FCS
    elif kind == PRISM:
        return prism(buf, p, end, wire)
    elif kind == AVS:
        return avs(buf, p, end, wire)
    else:
        et, st = 0, S.UNSUPPORTED_LINK
    return p, et, end, wire, st
