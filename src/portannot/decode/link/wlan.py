"""802.11 data frames and the radio headers captured in front of them: radiotap,
Prism and AVS.
"""

from __future__ import annotations

import numpy as np

from portannot import status as S
from portannot.compiled import njit
from portannot.decode.fields import CONTINUE, SHORT, be16, be32, le16, le32
from portannot.decode.link.ethernet import LLC_SAP_IP, MAX_8023_LENGTH, ethernet, llc, llc_snap

#: 802.11 frame control flags (the second byte)
WLAN_FROM_DS, WLAN_MORE_FRAGMENTS, WLAN_PROTECTED, WLAN_ORDER = 0x02, 0x04, 0x40, 0x80
#: radiotap Flags field: the frame ends with the 4-byte 802.11 FCS; the 802.11 header is
#: padded to a multiple of 4 bytes
RADIOTAP_FCS, RADIOTAP_DATA_PAD = 0x10, 0x20
FCS_SIZE = 4


@njit(cache=True, nogil=True, forceinline=True)
def ieee802_11(buf, p, end, wire, datapad=False):
    """Data frames that carry a body in the clear, up to the network layer. Management,
    control, null-data and protected (encrypted) frames carry no IP one can read.
    datapad: the radio header says the MAC header is padded to 4 bytes (Atheros). wire:
    where the frame ends on the wire (less an FCS the radio header names). Returns the
    end of the packet's bytes, captured and on the wire, too: a whole Ethernet frame in
    the body is bounded by its 802.3 length as on an Ethernet link (wlan_body)."""
    if end - p < 2:
        return p, 0, end, wire, SHORT
    fc, flags = buf[p], buf[p + 1]
    # protocol version 0 only; data frames with a body, in the clear and whole (the first
    # of several 802.11 fragments carries part of a packet, as tshark shows it: no IP)
    if fc & 3 or (fc >> 2) & 3 != 2 or fc & 0x40 or flags & (WLAN_MORE_FRAGMENTS | WLAN_PROTECTED):
        return p, 0, end, wire, S.NON_IP
    size = 30 if flags & 3 == 3 else 24  # a fourth address when to and from DS
    amsdu = 0
    if fc & 0x80:  # QoS data: QoS control, and HT control when the order bit is set
        if end - p < size + 2:
            return p, 0, end, wire, SHORT
        amsdu = buf[p + size] & 0x80  # the first A-MSDU subframe: addresses, length, LLC
        size += 6 if flags & WLAN_ORDER else 2
    if datapad:
        size = (size + 3) & ~3
    if amsdu:
        size += 14
        if end - p < size + 8:
            return p, 0, end, wire, SHORT
        q, et, st = llc_snap(buf, p + size, end)
        return q, et, end, wire, st
    return wlan_body(buf, p, p + size + mesh_control(buf, p + size, end, flags), end, wire)


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
def wlan_body(buf, h, p, end, wire):
    """What an 802.11 data frame's body at p holds (h: the frame's start). Mostly
    LLC/SNAP, but some hardware sends other things, and tshark guesses at them in this
    order, so portannot does too: a whole Ethernet frame (its addresses repeat the
    802.11 header's), Netware IPX (0xffff), two stray bytes (0x0000, or the sequence
    control repeated: OLPC, Atheros) before LLC, LLC of IP's SAP (0x06), a bare
    ethertype. Returns the ends of the packet (ieee802_11): an Ethernet frame's 802.3
    length ends it, as tshark's Ethernet dissector bounds it here too."""
    if end - p < 2:
        return p, 0, end, wire, SHORT
    if buf[p] == 0xAA and buf[p + 1] == 0xAA:
        q, et, st = llc_snap(buf, p, end)
        return q, et, end, wire, st
    if _ethernet_inside(buf, h, p, end):
        return ethernet(buf, p, end, wire)
    if buf[p] == 0xFF and buf[p + 1] == 0xFF:
        return p, 0, end, wire, S.NON_IP
    if (buf[p] == 0 and buf[p + 1] == 0) or (buf[p] == buf[h + 22] and buf[p + 1] == buf[h + 23]):
        q, et, st = llc_snap(buf, p + 2, end)
        return q, et, end, wire, st
    if buf[p] == LLC_SAP_IP:  # before the ethertype guess: tshark reads LLC here
        q, et, st = llc(buf, p, end)
        return q, et, end, wire, st
    et = be16(buf, p)
    if et >= MAX_8023_LENGTH:
        return p + 2, et, end, wire, CONTINUE
    return p, 0, end, wire, S.NON_IP  # an LLC header of another SAP


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
    Returns the end of the packet's bytes, captured and on the wire, too: without the
    FCS, as tshark cuts it off before it reads the 802.11 frame (so an IP length that runs
    into the FCS runs past the packet, and a snaplen that cut the frame where the FCS
    starts cut none of the packet). The FCS is the last 4 bytes on the wire (wire_end):
    a snaplen that cut the frame before them leaves the captured end as it is."""
    if end - p < 4:
        return p, 0, end, wire_end, SHORT
    size = le16(buf, p + 2)
    if size < 8:
        return p, 0, end, wire_end, S.MALFORMED
    if end - p < size:
        return p, 0, end, wire_end, SHORT
    flags = radiotap_flags(buf, p, size)
    if flags & RADIOTAP_FCS:
        wire_end = max(wire_end - FCS_SIZE, p + size)
        end = min(end, wire_end)
    return ieee802_11(buf, p + size, end, wire_end, flags & RADIOTAP_DATA_PAD != 0)


#: Prism message codes (little-endian in the files seen; tshark tries both orders)
PRISM_MSGCODES = (0x41, 0x44)
#: the Prism header: code, length, device name, ten 12-byte items; tshark reads the
#: 802.11 frame after it whatever the length field says
PRISM_HEADER_SIZE = 144
#: AVS capture headers start with 0x80211000 plus a version (big-endian)
AVS_MAGIC = 0x80211000


@njit(cache=True, nogil=True, forceinline=True)
def prism(buf, p, end, wire):
    """LINKTYPE_PRISM_HEADER, read as tshark 4.0 reads it: an AVS header where the first
    word is AVS version 1 or 2 (some drivers put one under this link type), a Prism
    header where it is a Prism message code in either byte order, else no radio header
    at all (an 802.11 frame straight away, as some captures mix)."""
    if end - p < 4:
        return p, 0, end, wire, SHORT
    first = be32(buf, p)
    if first == AVS_MAGIC + 1 or first == AVS_MAGIC + 2:
        return avs(buf, p, end, wire)
    code = le32(buf, p)
    if code == PRISM_MSGCODES[0] or code == PRISM_MSGCODES[1] \
            or first == PRISM_MSGCODES[0] or first == PRISM_MSGCODES[1]:
        if end - p < PRISM_HEADER_SIZE:
            return p, 0, end, wire, SHORT
        return ieee802_11(buf, p + PRISM_HEADER_SIZE, end, wire)
    return ieee802_11(buf, p, end, wire)


@njit(cache=True, nogil=True, forceinline=True)
def avs(buf, p, end, wire):
    """An AVS (wlan-ng) capture header: its length (big-endian, byte 4) says where the
    802.11 frame starts, whatever the magic word says. tshark first reads the fixed
    fields of versions 0 and 1 (64 bytes) and 2 (80), so a frame shorter than those
    has no 802.11 frame to it."""
    if end - p < 8:
        return p, 0, end, wire, SHORT
    version = be32(buf, p) - AVS_MAGIC
    need = 64 if 0 <= version <= 1 else (80 if version == 2 else 8)
    size = be32(buf, p + 4)
    if end - p < need or end - p < size:
        return p, 0, end, wire, SHORT
    return ieee802_11(buf, p + size, end, wire)
