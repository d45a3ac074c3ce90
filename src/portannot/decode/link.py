"""Link layers: each analyzer finds where the network layer starts and what it is.

An analyzer returns (position after its header, ethertype of what follows,
CONTINUE) or (position, 0, final status). Its choice of ethertype hands the
packet to the network dispatch, as Zeek's packet analyzers hand over by table.
`link_layer` also returns where the packet's bytes end: the captured end, except
where the link header says a trailer (an 802.11 FCS) ends the frame.
"""

from __future__ import annotations

import numpy as np

from portannot import status as S
from portannot.compiled import njit
from portannot.decode.fields import CONTINUE, SHORT, be16, be32, le16, le32

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
    228: RAW4,
    229: RAW6,
    239: NFLOG,  # Linux netfilter log
    276: SLL2,
}
LINK_TABLE = np.zeros(65536, dtype=np.uint8)
for _lt, _code in LINK_TYPES.items():
    LINK_TABLE[_lt] = _code

#: BSD address families: IPv4 is 2 everywhere, IPv6 differs by system
AF_INET = 2
AF_INET6_BSD, AF_INET6_FREEBSD, AF_INET6_DARWIN, AF_INET6_LINUX = 24, 28, 30, 10

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
    if af == AF_INET6_BSD or af == AF_INET6_FREEBSD or af == AF_INET6_DARWIN or af == AF_INET6_LINUX:
        return ETH_IPV6
    return 0


@njit(cache=True, nogil=True, forceinline=True)
def _bsd_af_ethertype(af):
    """A BSD address family's ethertype: the families a BSD loopback header can name
    (Linux's AF_INET6, 10, is not one; tshark shows it as data)."""
    if af == AF_INET:
        return ETH_IPV4
    if af == AF_INET6_BSD or af == AF_INET6_FREEBSD or af == AF_INET6_DARWIN:
        return ETH_IPV6
    return 0


#: Wireshark's IEEE_802_3_MAX_LEN: a DLT_NULL word above it is an ethertype
NULL_MAX_FAMILY = 1500


@njit(cache=True, nogil=True, forceinline=True)
def null_word(word):
    """DLT_NULL's 4-byte word, read little-endian, made into an address family or an
    ethertype the way tshark 4.0 (packet-null.c, on a little-endian machine) does, so the
    two agree on words that damage or odd stacks made: a nonzero upper half is a
    big-endian family (swapped whole), unless its top byte is zero and the next below 6
    (IRIX/UNICOS snoop: a 16-bit big-endian family, then two zero bytes, read on the other
    byte order); a zero upper half is the family itself, or, with a zero low byte and
    the next below 6, that snoop header in this order (the 16 bits swapped). A result
    above 1500 is an ethertype (old Linux loopback), of which tshark keeps 16 bits."""
    if word & 0xFFFF0000:
        if (word & 0xFF000000) == 0 and (word & 0x00FF0000) < 0x00060000:
            return word >> 16
        return (((word & 0xFF) << 24) | ((word & 0xFF00) << 8)
                | ((word >> 8) & 0xFF00) | (word >> 24))
    if (word & 0xFF) == 0 and (word & 0xFF00) < 0x0600:
        return word >> 8
    return word


@njit(cache=True, nogil=True, forceinline=True)
def null(buf, p, end):
    """BSD loopback (DLT_NULL): the address family in the capturing host's byte order,
    which the file does not record, read as tshark reads it (`null_word`); a frame that
    starts ff 03 is PPP in HDLC framing (an ISDN driver's), as tshark takes it."""
    if end - p >= 2 and buf[p] == 0xFF and buf[p + 1] == 0x03:
        return ppp(buf, p, end)
    if end - p < 4:
        return p, 0, SHORT
    word = null_word(le32(buf, p))
    if word > NULL_MAX_FAMILY:  # an ethertype: the ethertype table goes on (VLAN, MPLS...)
        return p + 4, word & 0xFFFF, CONTINUE
    et = _bsd_af_ethertype(word)
    if et == 0:
        return p + 4, 0, S.NON_IP
    return p + 4, et, CONTINUE


@njit(cache=True, nogil=True, forceinline=True)
def loop(buf, p, end):
    """OpenBSD loopback (DLT_LOOP): the address family in network byte order, as the
    link type says and as tshark reads it (no guessing at the order, unlike DLT_NULL)."""
    if end - p < 4:
        return p, 0, SHORT
    et = _bsd_af_ethertype(be32(buf, p))
    if et == 0:
        return p + 4, 0, S.NON_IP
    return p + 4, et, CONTINUE


@njit(cache=True, nogil=True, forceinline=True)
def version_ethertype(buf, p):
    """The ethertype of an IP packet at p told by its version nibble, 0 if not 4 or 6:
    for headers that name no protocol (raw IP, the bottom of an MPLS stack)."""
    version = buf[p] >> 4
    if version == 4:
        return ETH_IPV4
    if version == 6:
        return ETH_IPV6
    return 0


@njit(cache=True, nogil=True, forceinline=True)
def raw(buf, p, end):
    if end - p < 1:
        return p, 0, SHORT
    et = version_ethertype(buf, p)
    if et == 0:
        return p, 0, S.MALFORMED
    return p, et, CONTINUE


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
    et = _af_ethertype(buf[p + 1])
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


#: 802.11 frame control flags (the second byte)
WLAN_FROM_DS, WLAN_MORE_FRAGMENTS, WLAN_PROTECTED, WLAN_ORDER = 0x02, 0x04, 0x40, 0x80
#: radiotap Flags field: the frame ends with the 4-byte 802.11 FCS; the 802.11 header is
#: padded to a multiple of 4 bytes
RADIOTAP_FCS, RADIOTAP_DATA_PAD = 0x10, 0x20
FCS_SIZE = 4


@njit(cache=True, nogil=True, forceinline=True)
def ieee802_11(buf, p, end, datapad=False):
    """Data frames that carry a body in the clear, up to the network layer. Management,
    control, null-data and protected (encrypted) frames carry no IP one can read.
    datapad: the radio header says the MAC header is padded to 4 bytes (Atheros)."""
    if end - p < 2:
        return p, 0, SHORT
    fc, flags = buf[p], buf[p + 1]
    # protocol version 0 only; data frames with a body, in the clear and whole (the first
    # of several 802.11 fragments carries part of a packet, as tshark shows it: no IP)
    if fc & 3 or (fc >> 2) & 3 != 2 or fc & 0x40 or flags & (WLAN_MORE_FRAGMENTS | WLAN_PROTECTED):
        return p, 0, S.NON_IP
    size = 30 if flags & 3 == 3 else 24  # a fourth address when to and from DS
    amsdu = 0
    if fc & 0x80:  # QoS data: QoS control, and HT control when the order bit is set
        if end - p < size + 2:
            return p, 0, SHORT
        amsdu = buf[p + size] & 0x80  # the first A-MSDU subframe: addresses, length, LLC
        size += 6 if flags & WLAN_ORDER else 2
    if datapad:
        size = (size + 3) & ~3
    if amsdu:
        size += 14
        if end - p < size + 8:
            return p, 0, SHORT
        return llc_snap(buf, p + size, end)
    return wlan_body(buf, p, p + size + mesh_control(buf, p + size, end, flags), end)


@njit(cache=True, nogil=True, forceinline=True)
def mesh_control(buf, p, end, flags):
    """The length of an 802.11s Mesh Control field at p (0 if none), found as tshark
    finds it: whatever the QoS control's Mesh Control Present bit says, a frame from
    the DS whose body starts with valid mesh flags (no reserved bit, address extension
    0-2) and has LLC (0xaa 0xaa) right after the field of that length."""
    if not flags & WLAN_FROM_DS or end - p < 1:
        return 0
    mesh = buf[p]
    if mesh & 0xFC or mesh & 3 == 3:
        return 0
    size = 6 + 6 * np.int64(mesh & 3)
    if end - p < size + 2 or buf[p + size] != 0xAA or buf[p + size + 1] != 0xAA:
        return 0
    return size


@njit(cache=True, nogil=True, forceinline=True)
def wlan_body(buf, h, p, end):
    """What an 802.11 data frame's body at p holds (h: the frame's start). Mostly
    LLC/SNAP, but some hardware sends other things, and tshark guesses at them in this
    order, so portannot does too: a whole Ethernet frame (its addresses repeat the
    802.11 header's), Netware IPX (0xffff), two stray bytes (0x0000, or the sequence
    control repeated: OLPC, Atheros) before LLC, a bare ethertype."""
    if end - p < 2:
        return p, 0, SHORT
    if buf[p] == 0xAA and buf[p + 1] == 0xAA:
        return llc_snap(buf, p, end)
    if _ethernet_inside(buf, h, p, end):
        return ethernet(buf, p, end)
    if buf[p] == 0xFF and buf[p + 1] == 0xFF:
        return p, 0, S.NON_IP
    if (buf[p] == 0 and buf[p + 1] == 0) or (buf[p] == buf[h + 22] and buf[p + 1] == buf[h + 23]):
        return llc_snap(buf, p + 2, end)
    et = be16(buf, p)
    if et >= MAX_8023_LENGTH:
        return p + 2, et, CONTINUE
    return p, 0, S.NON_IP  # an LLC header of another SAP


@njit(cache=True, nogil=True, forceinline=True)
def llc_snap(buf, p, end):
    """An LLC/SNAP header at p and the ethertype it names."""
    if end - p < 8:
        return p, 0, SHORT
    if snap_ethertype(buf, p):
        return p + 8, be16(buf, p + 6), CONTINUE
    return p, 0, S.NON_IP


@njit(cache=True, nogil=True, forceinline=True)
def _same_address(buf, a, b):
    """Whether the 6-byte MAC addresses at a and b are equal."""
    return le32(buf, a) == le32(buf, b) and le16(buf, a + 4) == le16(buf, b + 4)


@njit(cache=True, nogil=True, forceinline=True)
def _ethernet_inside(buf, h, p, end):
    """Whether the body at p is a whole Ethernet frame: it starts with the 802.11
    frame's destination address, or its second address is the frame's source (the
    test linux-wlan-ng and tshark use). Which 802.11 address is which depends on the
    to/from DS bits: destination addr1 unless to DS (addr3); source addr2 if not from
    DS, else addr3, or addr4 with both bits."""
    ds = buf[h + 1] & 3
    da = h + (16 if ds & 1 else 4)
    sa = h + (10 if ds & 2 == 0 else (24 if ds == 3 else 16))
    if end - p >= 6 and _same_address(buf, p, da):
        return True
    return end - p >= 12 and _same_address(buf, p + 6, sa)


@njit(cache=True, nogil=True, forceinline=True)
def radiotap_flags(buf, p, size):
    """The radiotap Flags field (0 if absent or outside the header's size bytes): after
    the present bitmaps (another follows while bit 31 is set) and, when present, the
    8-byte TSFT field, aligned to 8 from the header's start."""
    present = le32(buf, p + 4)
    o = 8
    word = present
    while word & 0x80000000:
        if o + 4 > size:
            return 0
        word = le32(buf, p + o)
        o += 4
    if present & 1:  # TSFT
        o = ((o + 7) & ~7) + 8
    if present & 2 and o < size:
        return np.int64(buf[p + o])
    return 0


@njit(cache=True, nogil=True, forceinline=True)
def radiotap(buf, p, end, wire_end):
    """The radio header says its own length (little-endian, at byte 2), and in its Flags
    field whether the 802.11 header is padded and whether the frame ends with the FCS.
    Returns the end of the packet's bytes too: without the FCS, as tshark cuts it off
    before it reads the 802.11 frame (so an IP length that runs into the FCS runs past
    the packet). The FCS is the last 4 bytes on the wire (wire_end): a snaplen that cut
    the frame before them leaves the captured end as it is."""
    if end - p < 4:
        return p, 0, end, SHORT
    size = le16(buf, p + 2)
    if size < 8:
        return p, 0, end, S.MALFORMED
    if end - p < size:
        return p, 0, end, SHORT
    flags = radiotap_flags(buf, p, size)
    if flags & RADIOTAP_FCS:
        end = max(min(end, wire_end - FCS_SIZE), p + size)
    q, et, st = ieee802_11(buf, p + size, end, flags & RADIOTAP_DATA_PAD != 0)
    return q, et, end, st


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


#: Prism message codes (little-endian in the files seen; tshark tries both orders)
PRISM_MSGCODES = (0x41, 0x44)
#: the Prism header: code, length, device name, ten 12-byte items; tshark reads the
#: 802.11 frame after it whatever the length field says
PRISM_HEADER_SIZE = 144
#: AVS capture headers start with 0x80211000 plus a version (big-endian)
AVS_MAGIC = 0x80211000


@njit(cache=True, nogil=True, forceinline=True)
def prism(buf, p, end):
    """LINKTYPE_PRISM_HEADER, read as tshark 4.0 reads it: an AVS header where the first
    word is AVS version 1 or 2 (some drivers put one under this link type), a Prism
    header where it is a Prism message code in either byte order, else no radio header
    at all (an 802.11 frame straight away, as some captures mix)."""
    if end - p < 4:
        return p, 0, SHORT
    first = be32(buf, p)
    if first == AVS_MAGIC + 1 or first == AVS_MAGIC + 2:
        return avs(buf, p, end)
    code = le32(buf, p)
    if code == PRISM_MSGCODES[0] or code == PRISM_MSGCODES[1] \
            or first == PRISM_MSGCODES[0] or first == PRISM_MSGCODES[1]:
        if end - p < PRISM_HEADER_SIZE:
            return p, 0, SHORT
        return ieee802_11(buf, p + PRISM_HEADER_SIZE, end)
    return ieee802_11(buf, p, end)


@njit(cache=True, nogil=True, forceinline=True)
def avs(buf, p, end):
    """An AVS (wlan-ng) capture header: its length (big-endian, byte 4) says where the
    802.11 frame starts, whatever the magic word says. tshark first reads the fixed
    fields of versions 0 and 1 (64 bytes) and 2 (80), so a frame shorter than those
    has no 802.11 frame to it."""
    if end - p < 8:
        return p, 0, SHORT
    version = be32(buf, p) - AVS_MAGIC
    need = 64 if 0 <= version <= 1 else (80 if version == 2 else 8)
    size = be32(buf, p + 4)
    if end - p < need or end - p < size:
        return p, 0, SHORT
    return ieee802_11(buf, p + size, end)


@njit(cache=True, nogil=True, forceinline=True)
def link_layer(link_table, linktype, buf, p, end, wire_end):
    """Dispatch to the analyzer of a link type (link_table: LINK_TABLE). Returns
    (position, ethertype, end of the packet's bytes, status); wire_end is where the
    frame ended on the wire (offset plus original length), for a link whose frames end
    with a trailer. A PPI header names the link type after it, which is dispatched the
    same way."""
    kind = link_table[linktype] if 0 <= linktype < link_table.shape[0] else UNSUPPORTED
    while kind == PPI:
        p, linktype, st = ppi(buf, p, end)
        if st != CONTINUE:
            return p, 0, end, st
        kind = link_table[linktype] if 0 <= linktype < link_table.shape[0] else UNSUPPORTED
    if kind == ETHERNET:
        p, et, st = ethernet(buf, p, end)
    elif kind == RAW:
        p, et, st = raw(buf, p, end)
    elif kind == RAW4:
        et, st = ETH_IPV4, CONTINUE
    elif kind == RAW6:
        et, st = ETH_IPV6, CONTINUE
    elif kind == SLL:
        p, et, st = sll(buf, p, end)
    elif kind == SLL2:
        p, et, st = sll2(buf, p, end)
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
        return nflog(buf, p, end, wire_end)
    elif kind == IEEE802_11:
        p, et, st = ieee802_11(buf, p, end)
    elif kind == RADIOTAP:
        return radiotap(buf, p, end, wire_end)
    elif kind == PRISM:
        p, et, st = prism(buf, p, end)
    elif kind == AVS:
        p, et, st = avs(buf, p, end)
    else:
        et, st = 0, S.UNSUPPORTED_LINK
    return p, et, end, st
