"""Transport headers: the two ports, and the flags and sequence number for TCP.

TCP, UDP, SCTP and DCCP all start with source and destination port, so one
reader serves them; what differs is only whether there are flags to read.
"""

from __future__ import annotations

from portannot import status as S
from portannot import transport as T
from portannot.compiled import njit
from portannot.decode.fields import PAST_END, SHORT, be16, be32, u8


@njit(cache=True, nogil=True, forceinline=True)
def _missing_ports(q, ip_end, end):
    """Why ports that are not all there are missing, as tshark finds it: it reads the
    source port, then the destination port, and a read past the captured bytes is a cut
    capture (not malformed) unless it also runs past the IP payload (malformed). Where
    the snaplen cut the source port and the IP length ends inside the destination port,
    the first read fails on the cut: truncated, not malformed."""
    if q + 2 > ip_end:
        return PAST_END
    if q + 2 > end:
        return SHORT
    if q + 4 > ip_end:
        return PAST_END
    return SHORT


@njit(cache=True, nogil=True, forceinline=True)
def transport_ports(buf, q, ip_end, end, code):
    """Returns (source port, destination port, TCP flags, TCP sequence number, status) for
    a port-carrying protocol (PAST_END where the IP lengths leave no room for them, SHORT
    where the captured bytes end first: _missing_ports)."""
    if q + 4 > ip_end or q + 4 > end:
        return 0, 0, 0, 0, _missing_ports(q, ip_end, end)
    sport = be16(buf, q)
    dport = be16(buf, q + 2)
    flags = 0
    seq = 0
    # Flags only from a header that holds them: inside the IP payload and the captured
    # bytes, under a data offset of at least 5 words. Past a bogus offset or beyond
    # the IP length they are not the packet's (tshark shows none either), and a SYN
    # read there would pick a flow's originator. tshark reads the window (bytes 14-15)
    # before the flags and shows none unless 16 bytes are there; so do we, so that
    # flows built from its fields pick the same originator. The sequence number it shows
    # under the same condition, but whatever the data offset says.
    if code == T.TCP and q + 16 <= min(ip_end, end):
        seq = be32(buf, q + 4)
        if u8(buf, q + 12) >> 4 >= 5:
            flags = be16(buf, q + 12) & 0x0FFF
    return sport, dport, flags, seq, S.PORTS
