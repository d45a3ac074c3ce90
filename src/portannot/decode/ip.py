"""IPv4 and IPv6: addresses, the protocol after the header chain, and fragmentation.

Each returns the transport header position and the end of the IP payload (from
the IP length fields; the kernel clips it to the captured bytes). IPv6's chain
of extension headers is walked one header a step, as the layers below are.

The destination address is the packet's final destination: the header's, unless a
source route (IPv4 loose or strict, an IPv6 routing header) still has hops to go,
when the header holds only the next hop. Replies come from the final destination,
the transport checksum counts it (RFC 791 3.1, RFC 8200 8.1), and tshark's
conversations are keyed on it; with the next hop a flow would split in two.
"""

from __future__ import annotations

import numpy as np

from portannot import status as S
from portannot.compiled import njit
from portannot.decode.fields import (
    CONTINUE,
    IPV6_INSTEAD,
    PAST_END,
    SHORT,
    be16,
    be32,
    mem32,
    mem64,
    u8,
)

NOT_FRAGMENT, FIRST_FRAGMENT, LATER_FRAGMENT = 0, 1, 2

# IPv6 extension headers
HOPOPTS, ROUTING, FRAGMENT, DSTOPTS, AH, MOBILITY, HIP, SHIM6 = 0, 43, 44, 60, 51, 135, 139, 140
# IPv6 routing types: source route (deprecated), Mobile IPv6, RPL, segment routing
RT_SOURCE, RT_MIPV6, RT_RPL, RT_SRH = 0, 2, 3, 4
# IPv4 options: end of list, no-operation, loose and strict source route
IPOPT_EOL, IPOPT_NOP, IPOPT_LSRR, IPOPT_SSRR = 0, 1, 131, 137
#: IPv6 extension headers (and IPv4 AH headers) followed before giving up
MAX_EXTENSIONS = 32
V4_MAPPED = np.uint64(0xFFFF0000)


@njit(cache=True, nogil=True, forceinline=True)
def ipv4(buf, p, end, whole, src, dst, i):
    """The fixed header and its options' route. `end`: the bytes there are; `whole`: where
    the frame ends on the wire (its captured end unless the snaplen cut it), which ends
    a packet whose total length is 0."""
    if end - p < 20:
        return p, p, 0, NOT_FRAGMENT, 0, SHORT
    if u8(buf, p) >> 4 != 4:
        return p, p, 0, NOT_FRAGMENT, 0, _not_ipv4(buf, p)
    # ::ffff:a.b.c.d in memory order (see fields.mem64)
    src[i, 0] = 0
    dst[i, 0] = 0
    src[i, 1] = V4_MAPPED | (mem32(buf, p + 12) << np.uint64(32))
    dst[i, 1] = V4_MAPPED | (mem32(buf, p + 16) << np.uint64(32))
    ihl = (u8(buf, p) & 0x0F) * 4
    total = be16(buf, p + 2)
    proto = u8(buf, p + 9)
    if ihl < 20:
        return p, p, proto, NOT_FRAGMENT, 0, S.MALFORMED
    if total == 0:  # TSO / BIG TCP super-packet: the frame gives the length
        ip_end = whole
    elif total < ihl:
        return p, p, proto, NOT_FRAGMENT, 0, S.MALFORMED
    else:
        ip_end = p + total
    if end - p < ihl:
        return p, ip_end, proto, NOT_FRAGMENT, 0, SHORT
    if ihl > 20:
        _source_route(buf, p + 20, p + ihl, dst, i)
    frag = be16(buf, p + 6)
    offset = frag & 0x1FFF
    more = frag & 0x2000
    kind = NOT_FRAGMENT
    if offset:
        kind = LATER_FRAGMENT
    elif more:
        kind = FIRST_FRAGMENT
    return p + ihl, ip_end, proto, kind, be16(buf, p + 4), CONTINUE


@njit(cache=True, nogil=True, forceinline=True)
def _not_ipv4(buf, p):
    """The status of a header announced as IPv4 whose version is not 4: a version-6 one
    is read as IPv6 (IPV6_INSTEAD), as tshark 4.0's IPv4 dissector hands it over and
    shows its ports; any other version is malformed ("Bogus IPv4 version")."""
    if u8(buf, p) >> 4 == 6:
        return IPV6_INSTEAD
    return S.MALFORMED


@njit(cache=True, nogil=True, forceinline=True)
def _source_route(buf, o, stop, dst, i):
    """The options in buf[o:stop]: a loose or strict source route with addresses left
    (its pointer, 1-based, not past its length) sends the packet on to its last address,
    the option's last 4 bytes. Read as tshark's conversations read it: a pointer before
    the first address or inside one leaves the header's destination."""
    while o < stop:
        kind = buf[o]
        if kind == IPOPT_EOL:
            return
        if kind == IPOPT_NOP:
            o += 1
            continue
        if o + 1 >= stop:
            return
        size = np.int64(buf[o + 1])
        if size < 2 or o + size > stop:
            return
        if kind == IPOPT_LSRR or kind == IPOPT_SSRR:
            # type, length, pointer, then the addresses (at least one)
            if size >= 7:
                pointer = buf[o + 2]
                if pointer >= 4 and pointer % 4 == 0 and pointer <= size:
                    dst[i, 1] = V4_MAPPED | (mem32(buf, o + size - 4) << np.uint64(32))
            return
        o += size


@njit(cache=True, nogil=True, forceinline=True)
def ipv6(buf, p, end, whole, src, dst, i):
    """The fixed header; the kernel walks the extension headers with `ipv6_extension`.
    `whole`: where the frame ends, for a payload length of 0 (as ipv4's)."""
    if end - p < 40:
        return p, p, 0, SHORT
    if u8(buf, p) >> 4 != 6:
        return p, p, 0, S.MALFORMED
    src[i, 0] = mem64(buf, p + 8)
    src[i, 1] = mem64(buf, p + 16)
    dst[i, 0] = mem64(buf, p + 24)
    dst[i, 1] = mem64(buf, p + 32)
    plen = be16(buf, p + 4)
    ip_end = p + 40 + plen if plen else whole  # 0: jumbo payload (hop-by-hop option) or TSO
    return p + 40, ip_end, u8(buf, p + 6), CONTINUE


@njit(cache=True, nogil=True, forceinline=True)
def is_ipv6_extension(nxt):
    return (nxt == HOPOPTS or nxt == ROUTING or nxt == DSTOPTS or nxt == MOBILITY
            or nxt == HIP or nxt == SHIM6 or nxt == AH or nxt == FRAGMENT)


@njit(cache=True, nogil=True, forceinline=True)
def ipv6_extension(buf, q, ip_end, end, nxt, dst, i):
    """Skip one extension header (a routing header with segments left also sets the
    final destination). Returns (position, next header, fragment kind, id, status); a
    header that runs past the IP payload is PAST_END (the kernel decides between
    malformed and a first fragment's end)."""
    if nxt == FRAGMENT:
        if q + 8 > ip_end:
            return q, nxt, NOT_FRAGMENT, 0, PAST_END
        if end - q < 8:
            return q, nxt, NOT_FRAGMENT, 0, SHORT
        frag = be16(buf, q + 2)
        kind = NOT_FRAGMENT
        if frag & 0xFFF8:
            kind = LATER_FRAGMENT
        elif frag & 1:
            kind = FIRST_FRAGMENT
        return q + 8, buf[q], kind, be32(buf, q + 4), CONTINUE
    if q + 2 > ip_end:
        return q, nxt, NOT_FRAGMENT, 0, PAST_END
    if end - q < 2:
        return q, nxt, NOT_FRAGMENT, 0, SHORT
    hlen = (buf[q + 1] + 2) * 4 if nxt == AH else (buf[q + 1] + 1) * 8
    if nxt == ROUTING and end - q >= 4 and buf[q + 3] > 0:
        _route_destination(buf, q, min(q + hlen, ip_end, end), dst, i)
    if nxt == HOPOPTS or nxt == DSTOPTS:
        options_end = _options_end(buf, q + 2, q + hlen, end)
        if options_end > ip_end:
            return q, nxt, NOT_FRAGMENT, 0, PAST_END
        if options_end > end:  # past the bytes there are: truncated if cut, else malformed
            return q, nxt, NOT_FRAGMENT, 0, SHORT
    return q + hlen, buf[q], NOT_FRAGMENT, 0, CONTINUE


@njit(cache=True, nogil=True, forceinline=True)
def fragment_place(buf, word, version):
    """Where a fragment starts in its datagram, in bytes, and whether more fragments
    follow it, from its fragment word at `word`: IPv4's flags and offset (header + 6,
    the offset in 8-byte units), the IPv6 Fragment header's offset and M flag (header
    + 2, the offset already in bytes)."""
    w = be16(buf, word)
    if version == 4:
        return np.int64(w & 0x1FFF) * 8, (w & 0x2000) != 0
    return np.int64(w & 0xFFF8), (w & 1) != 0


@njit(cache=True, nogil=True, forceinline=True)
def _route_destination(buf, q, stop, dst, i):
    """The final destination of a routing header at q with segments left, read from
    buf[q:stop]: a source route's (type 0) last address, Mobile IPv6's (type 2) home
    address, a segment routing header's (type 4) Segment List[0], the last segment.
    RPL's (type 3) addresses are compressed against the header's destination: not read,
    the header's destination stays (tshark's conversations decompress it)."""
    rtype = buf[q + 2]
    addresses = buf[q + 1] // 2  # 16-byte entries after the first 8 bytes
    if rtype == RT_SOURCE and addresses > 0:
        a = q + 8 + 16 * (addresses - 1)
    elif (rtype == RT_MIPV6 or rtype == RT_SRH) and addresses > 0:
        a = q + 8
    else:
        return
    if a + 16 <= stop:
        dst[i, 0] = mem64(buf, a)
        dst[i, 1] = mem64(buf, a + 8)


@njit(cache=True, nogil=True, forceinline=True)
def _options_end(buf, o, stop, end):
    """Where the options that start in buf[o:stop] (type, length, value; RFC 8200 4.2)
    end, read as far as captured. One that runs past the IP payload, or past the bytes
    the frame holds, ends the packet: tshark stops there and shows no transport. (One
    that only runs past its header, tshark shows and goes on after the header; so do
    we.)"""
    while o < stop and o < end:
        if buf[o] == 0:  # Pad1: the one option without a length
            o += 1
            continue
        if o + 1 >= end:
            break
        o += 2 + buf[o + 1]
    return o
