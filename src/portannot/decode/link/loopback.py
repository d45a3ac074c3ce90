"""BSD loopback (null, loop) and raw IP: links that name an address family, or nothing
but the IP version itself.
"""

from __future__ import annotations

from portannot import status as S
from portannot.compiled import njit
from portannot.decode.fields import CONTINUE, SHORT, be32, le32
from portannot.decode.link.ethernet import ETH_IPV4, ETH_IPV6
from portannot.decode.link.serial import ppp

#: BSD address families: IPv4 is 2 everywhere, IPv6 differs by system
AF_INET = 2
AF_INET6_BSD, AF_INET6_FREEBSD, AF_INET6_DARWIN = 24, 28, 30


@njit(cache=True, nogil=True, forceinline=True)
def bsd_af_ethertype(af):
    """A BSD address family's ethertype: the families a BSD loopback or pf log header
    can name (Linux's AF_INET6, 10, is not one; tshark shows it as data)."""
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
    et = bsd_af_ethertype(word)
    if et == 0:
        return p + 4, 0, S.NON_IP
    return p + 4, et, CONTINUE


@njit(cache=True, nogil=True, forceinline=True)
def loop(buf, p, end):
    """OpenBSD loopback (DLT_LOOP): the address family in network byte order, as the
    link type says and as tshark reads it (no guessing at the order, unlike DLT_NULL)."""
    if end - p < 4:
        return p, 0, SHORT
    et = bsd_af_ethertype(be32(buf, p))
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
