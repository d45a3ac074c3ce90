"""Ethertype dispatch: the headers that may stand between the link layer and IP.

ETHER_TABLE names the analyzer of each ethertype, as link.LINK_TABLE does for link
types. Until the packet reaches IPv4 or IPv6 the kernel hands it to `ether_step`,
which calls that analyzer: it peels one header and names the ethertype of what
follows (an MPLS label that is not the bottom of its stack names MPLS again; a
header carrying a whole Ethernet frame names ETH_TEB, whose analyzer is the link
layer's own Ethernet one). Each analyzer returns (position after its header, next
ethertype, CONTINUE) or (position, 0, final status), as the link analyzers do.
"""

from __future__ import annotations

import numpy as np

from portannot import status as S
from portannot.compiled import njit
from portannot.decode.fields import CONTINUE, SHORT, be16
from portannot.decode.link import (
    ETH_BCP,
    ETH_IPV4,
    ETH_IPV6,
    ETH_MPLS,
    ETH_NSH,
    ETH_TEB,
    ethernet,
    llc,
    ppp_protocol,
    ppp_to_ethertype,
    type_or_length,
    version_ethertype,
)

# analyzer codes
(OTHER, IPV4, IPV6, VLAN, SERVICE_TAG, MPLS, PPPOE_SESSION, PBB, NSH, ETHERNET, LLC, VN_TAG,
 TAG_6, TRILL, BCP) = range(15)

ETHERTYPES = {
    ETH_IPV4: IPV4,
    ETH_IPV6: IPV6,
    0x8100: VLAN,  # 802.1Q
    0x88A8: SERVICE_TAG,  # 802.1ad: a VLAN tag, read whole before its id counts,
    # then always an ethertype (see vlan)
    0x9100: VLAN,  # pre-standard QinQ
    0x9200: VLAN,
    ETH_MPLS: MPLS,  # unicast
    0x8848: MPLS,  # multicast
    0x8864: PPPOE_SESSION,
    0x88E7: PBB,  # 802.1ah provider backbone bridging: a service instance tag
    ETH_NSH: NSH,  # RFC 8300 network service header
    ETH_TEB: ETHERNET,
    0x8926: VN_TAG,  # Cisco VN-Tag (fabric extenders)
    0x893F: TAG_6,  # 802.1BR E-Tag
    0x8909: TAG_6,  # Cisco MetaData (TrustSec's security group tag)
    0x22F3: TRILL,  # RFC 6325
    0x8870: LLC,  # 802.1 "jumbo" LLC: an 802.2 header with no 802.3 length before it (tshark's
    # LLC dissector is registered for it), read as after a length
    ETH_BCP: BCP,  # PPP's bridged frame (protocol 0x0031): no ethertype, a number past them
}
ETHER_TABLE = np.zeros(max(65536, ETH_BCP + 1), dtype=np.uint8)
for _et, _kind in ETHERTYPES.items():
    ETHER_TABLE[_et] = _kind

#: headers between the link's and IP followed before giving up (tags, labels, PPPoE,
#: pseudowires and provider frames together; stops crafted endless stacks): a
#: segment-routing label stack behind QinQ runs past 16, which was the limit
MAX_LAYERS = 64


@njit(cache=True, nogil=True, forceinline=True)
def vlan(buf, p, end, wire, service):
    """An 802.1Q tag (802.1ad when `service`): the id, then a type field. After an 802.1Q
    tag it is read as after the Ethernet header (an 802.3 length leads to LLC/SNAP); after
    an 802.1ad tag it goes to the ethertype table as it is, as tshark reads it ("802.1ad
    tags are always followed by an ethertype"): a length there is not IP. Returns the
    id too, and the ends an 802.3 length gives (type_or_length)."""
    if end - p < 4:
        # a tag cut after its TCI: tshark shows an 802.1Q id, not an 802.1ad one
        partial = not service and end - p >= 2
        return p, 0, be16(buf, p) & 0x0FFF if partial else -1, end, wire, SHORT
    vid = be16(buf, p) & 0x0FFF
    if service:
        return p + 4, be16(buf, p + 2), vid, end, wire, CONTINUE
    q, et, end, wire, st = type_or_length(buf, p + 4, end, wire, be16(buf, p + 2))
    return q, et, vid, end, wire, st


#: an Ethernet header's length: the customer frame's addresses and type field
ETH_HEADER = 14
#: ARP (non-IP, so not in the table): over Ethernet its hardware type is 1 and the
#: protocol type IPv4's
ETH_ARP, ARP_ETHERNET = 0x0806, 1


@njit(cache=True, nogil=True, forceinline=True)
def _reads_as_ethernet(buf, q, end):
    """Whether an Ethernet header at q names a header this table reads, an IP one followed
    by its own version nibble, or an Ethernet ARP: the evidence that a customer frame
    starts at q (ARP, the commonest frame that is not IP, would else be read 4 bytes off
    and its protocol type, IPv4's, taken for the frame's)."""
    if end - q < ETH_HEADER + 4:
        return False
    et = be16(buf, q + 12)
    if et == ETH_ARP:
        return be16(buf, q + ETH_HEADER) == ARP_ETHERNET and be16(buf, q + 16) == ETH_IPV4
    if ETHER_TABLE[et] == OTHER:
        return False
    if et == ETH_IPV4 or et == ETH_IPV6:
        return version_ethertype(buf, q + ETH_HEADER) == et
    return True


@njit(cache=True, nogil=True, forceinline=True)
def pseudowire(buf, p, end):
    """An Ethernet pseudowire (RFC 4448) after the bottom label, its payload's first
    nibble 0: a control word (first nibble 0 too) then the customer frame, or the frame
    at once, whose destination address may start with a 0 nibble. Nothing in the packet
    says which; the customer frame's type field does, at byte 12 of one reading and 16
    of the other. The control word is read unless only the frame without it names a
    header (RFC 8469 recommends the word; a frame too short to tell, under 18 bytes from
    where the customer frame would start, keeps it).

    tshark 4.0 guesses from the manufacturer database instead: no control word when the
    first 12 bytes read as two MAC addresses of known manufacturers. That agrees on
    frames with vendors' addresses and errs on locally administered or multicast ones,
    and on a zero control word before addresses whose third and fourth bytes are zero
    (00:00:00 is Xerox's): pcaps/README.md."""
    if end - p < 4:
        return p, 0, SHORT
    if not _reads_as_ethernet(buf, p + 4, end) and _reads_as_ethernet(buf, p, end):
        return p, ETH_TEB, CONTINUE
    return p + 4, ETH_TEB, CONTINUE


#: the first nibble of a PW associated channel header (RFC 4385) after the bottom label
ACH_NIBBLE = 1
#: its channel types that carry IP (PPP's numbers; RFC 5085's VCCV sends LSP ping so)
ACH_IPV4, ACH_IPV6 = 0x0021, 0x0057


@njit(cache=True, nogil=True, forceinline=True)
def associated_channel(buf, p, end):
    """A PW associated channel header (first nibble 1, version, a reserved byte, the
    channel type), as tshark's pwach dissector reads it: type 0x0021 is IPv4 and 0x0057
    IPv6 (the version and reserved bytes not checked), any other not IP (BFD, 0x0007)."""
    if end - p < 4:
        return p, 0, SHORT
    channel = be16(buf, p + 2)
    if channel == ACH_IPV4:
        return p + 4, ETH_IPV4, CONTINUE
    if channel == ACH_IPV6:
        return p + 4, ETH_IPV6, CONTINUE
    return p, 0, S.NON_IP


#: reserved labels that name what follows them at the bottom of the stack: the G-ACh
#: label (RFC 5586), an associated channel header, and the OAM alert label (RFC 3429), a
#: Y.1711 OAM message
GAL, OAM_ALERT = 13, 14


@njit(cache=True, nogil=True, forceinline=True)
def mpls(buf, p, end):
    """One label. After the bottom of the stack no field names the payload: its first
    nibble does, IPv4 (4), IPv6 (6), an Ethernet pseudowire (0) or a PW associated
    channel (1); except after a bottom GAL (an associated channel, whatever the nibble)
    or OAM alert label (no IP), as tshark reads them."""
    if end - p < 4:
        return p, 0, SHORT
    bottom = buf[p + 2] & 1
    label = (np.int64(be16(buf, p)) << 4) | (buf[p + 2] >> 4)
    p += 4
    if not bottom:
        return p, ETH_MPLS, CONTINUE
    if label == GAL:
        return associated_channel(buf, p, end)
    if label == OAM_ALERT:
        return p, 0, S.NON_IP
    if end - p < 1:
        return p, 0, SHORT
    if buf[p] >> 4 == 0:
        return pseudowire(buf, p, end)
    if buf[p] >> 4 == ACH_NIBBLE:
        return associated_channel(buf, p, end)
    et = version_ethertype(buf, p)
    if et == 0:
        return p, 0, S.NON_IP  # unknown
    return p, et, CONTINUE


@njit(cache=True, nogil=True, forceinline=True)
def pppoe_session(buf, p, end):
    """The session header and PPP's protocol. The header's length bounds the PPP frame, as
    an IP length does its packet (tshark reads no further): what lies past it is padding,
    not the packet. Returns the end of the frame too."""
    if end - p < 6:
        return p, 0, end, SHORT
    # the protocol field may be compressed to one byte (RFC 2516 forbids only address and
    # control compression over PPPoE)
    q, proto, st = ppp_protocol(buf, p + 6, end)
    if st != CONTINUE:
        return p, 0, end, st
    et = ppp_to_ethertype(proto)
    if et == 0:
        return q, 0, end, S.NON_IP
    return q, et, min(end, p + 6 + be16(buf, p + 4)), CONTINUE


#: the I-TAG (4 bytes) and the customer's destination and source addresses
PBB_HEADER = 16


@njit(cache=True, nogil=True, forceinline=True)
def pbb(buf, p, end):
    """802.1ah: the I-TAG (priority, flags, 24-bit service instance id), the customer
    frame's addresses, then its type field. That goes to the ethertype table as it is,
    as tshark reads it: an 802.3 length there is not followed into LLC."""
    if end - p < PBB_HEADER + 2:
        return p, 0, SHORT
    return p + PBB_HEADER + 2, be16(buf, p + PBB_HEADER), CONTINUE


#: a VN-Tag's length (direction, pointer, destination and source virtual interfaces)
VN_TAG_HEADER = 4
#: an E-Tag's, and a Cisco MetaData header's (version, length, option, SGT)
TAG_6_HEADER = 6
#: TRILL's fixed header (version, multi-destination bit, options length, hop count, the
#: egress and ingress nicknames), before its options
TRILL_HEADER = 6


@njit(cache=True, nogil=True, forceinline=True)
def vn_tag(buf, p, end, wire):
    """Cisco's VN-Tag, then a type field read as after an 802.1Q tag, as tshark reads it:
    an 802.3 length there leads to LLC/SNAP."""
    if end - p < VN_TAG_HEADER + 2:
        return p, 0, end, wire, SHORT
    q = p + VN_TAG_HEADER
    return type_or_length(buf, q + 2, end, wire, be16(buf, q))  # with the ends a length gives


@njit(cache=True, nogil=True, forceinline=True)
def tag_6(buf, p, end):
    """A 6-byte tag, then an ethertype taken as it is (a length there is not followed into
    LLC, as tshark reads it): 802.1BR's E-Tag, or Cisco's MetaData, whose length field
    tshark does not read either."""
    if end - p < TAG_6_HEADER + 2:
        return p, 0, SHORT
    return p + TAG_6_HEADER + 2, be16(buf, p + TAG_6_HEADER), CONTINUE


@njit(cache=True, nogil=True, forceinline=True)
def trill(buf, p, end):
    """RFC 6325: the fixed header, options of as many 4-byte words as its 5-bit length
    says (bits 6-10 of the first word), then the whole inner Ethernet frame. The version
    and the multi-destination bit change nothing of that (tshark reads any)."""
    if end - p < TRILL_HEADER:
        return p, 0, SHORT
    size = TRILL_HEADER + ((be16(buf, p) >> 6) & 0x1F) * 4
    if end - p < size:
        return p, 0, SHORT
    return p + size, ETH_TEB, CONTINUE


#: a BCP header's flags (RFC 3518 5.3): the bridged frame ends with its FCS (the F
#: flag); a bridge control packet, no MAC frame behind it
BCP_FCS, BCP_CONTROL = 0x80, 0x10
#: its MAC type of an 802.3/Ethernet frame (with or without its FCS: the F flag)
BCP_ETHERNET = 1
#: an Ethernet frame's FCS
ETH_FCS = 4


@njit(cache=True, nogil=True, inline="always")
def less_fcs(wire, end, start, size):
    """The frame's end on the wire and its captured end without an FCS of `size` bytes,
    taken off what follows the Ethernet header (`start`: where it ends) as tshark's
    Ethernet dissectors take it (packet-ethertype.c, packet-ieee8023.c): only where
    at least that many bytes follow the header on the wire, else nothing (an IP header
    there is short either way, and the FCS taken anyway made a frame the snaplen cut
    there malformed where tshark has it cut); a snaplen that cut the frame before the
    FCS leaves the captured end as it is. The one rule for an FCS a capture file
    declares (decode.kernel) and the one a BCP header's flag names (bcp)."""
    if wire - start >= size:
        wire -= size
        end = min(end, wire)
    return wire, end


@njit(cache=True, nogil=True, forceinline=True)
def bcp(buf, p, end, wire):
    """RFC 3518's bridged frame after PPP's protocol 0x0031: a flags byte and a MAC type,
    then the frame. As tshark's bcp_bpdu reads it: only an Ethernet frame (MAC type 1) is
    followed, from byte 2 whatever the other flags and the pad count say; a bridge
    control packet (flag 0x10) has no MAC type and no frame, and any other MAC type (802.4,
    802.5, FDDI) is not followed; nothing after the header is no frame either.

    A frame that says it ends with its FCS (flag 0x80) goes to tshark's Ethernet dissector
    with FCS, which takes the last 4 bytes on the wire (`wire`: where the frame ends
    there, past the captured end where the snaplen cut it) off what follows the Ethernet
    header, not off the header: so must the end returned (an IP length of 0 or one that
    runs into the FCS would else read its bytes as the packet's): less_fcs, as the FCS a
    capture file declares. Returns the end and the end on the wire too."""
    if end - p < 1:
        return p, 0, end, wire, SHORT
    flags = buf[p]
    if flags & BCP_CONTROL:
        return p, 0, end, wire, S.NON_IP
    if end - p < 2:
        return p, 0, end, wire, SHORT
    if buf[p + 1] != BCP_ETHERNET or end - p == 2:
        return p, 0, end, wire, S.NON_IP
    q = p + 2
    if flags & BCP_FCS:
        wire, end = less_fcs(wire, end, q + ETH_HEADER, ETH_FCS)
    return q, ETH_TEB, end, wire, CONTINUE


#: NSH next protocol -> ethertype (RFC 8300 section 11.2.5)
NSH_IPV4, NSH_IPV6, NSH_ETHERNET, NSH_NSH, NSH_MPLS = 1, 2, 3, 4, 5
NSH_MD_TYPE_1, NSH_MD_TYPE_2 = 1, 2


@njit(cache=True, nogil=True, forceinline=True)
def _nsh_ethertype(nxt):
    if nxt == NSH_IPV4:
        return ETH_IPV4
    if nxt == NSH_IPV6:
        return ETH_IPV6
    if nxt == NSH_ETHERNET:
        return ETH_TEB
    if nxt == NSH_NSH:
        return ETH_NSH
    if nxt == NSH_MPLS:
        return ETH_MPLS
    return 0


@njit(cache=True, nogil=True, forceinline=True)
def nsh(buf, p, end):
    """RFC 8300: base and service path headers (8 bytes), context headers, then the
    packet the next protocol field names. The header's length (4-byte words) is taken as
    tshark takes it: MD type 1 is 24 bytes whatever it says, MD type 2 at least 8 and
    any other type at least 4."""
    if end - p < 8:
        return p, 0, SHORT
    size = np.int64(buf[p + 1] & 0x3F) * 4
    md_type = buf[p + 2]
    if md_type == NSH_MD_TYPE_1:
        size = 24
    elif md_type == NSH_MD_TYPE_2:
        size = max(size, 8)
    else:
        size = max(size, 4)
    if end - p < size:
        return p, 0, SHORT
    et = _nsh_ethertype(buf[p + 3])
    if et == 0:
        return p + size, 0, S.NON_IP
    return p + size, et, CONTINUE


@njit(cache=True, nogil=True, forceinline=True)
def ether_step(kind, buf, p, end, wire):
    """Dispatch to the analyzer of an ethertype. `wire` is where the packet ends on the
    wire (see `bcp`). Returns (position, next ethertype, VLAN id or -1, end of what
    follows, its end on the wire, status): PAST_FRAME where an 802.3 length runs past
    `wire` (type_or_length)."""
    if kind == VLAN or kind == SERVICE_TAG:
        return vlan(buf, p, end, wire, kind == SERVICE_TAG)
    if kind == MPLS:
        p, et, st = mpls(buf, p, end)
    elif kind == PPPOE_SESSION:
        p, et, end, st = pppoe_session(buf, p, end)
    elif kind == PBB:
        p, et, st = pbb(buf, p, end)
    elif kind == NSH:
        p, et, st = nsh(buf, p, end)
    elif kind == ETHERNET:
        p, et, end, wire, st = ethernet(buf, p, end, wire)
    elif kind == LLC:
        p, et, st = llc(buf, p, end)
    elif kind == VN_TAG:
        p, et, end, wire, st = vn_tag(buf, p, end, wire)
    elif kind == TAG_6:
        p, et, st = tag_6(buf, p, end)
    elif kind == TRILL:
        p, et, st = trill(buf, p, end)
    elif kind == BCP:
        p, et, end, wire, st = bcp(buf, p, end, wire)
    else:
        return p, 0, -1, end, wire, S.NON_IP
    return p, et, -1, end, wire, st
