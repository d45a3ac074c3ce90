"""Per-packet decode status: every record read lands in exactly one of these."""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    PORTS = 0  #: a transport header with both ports was decoded
    NO_PORTS = 1  #: IP packet of a protocol without ports (ICMP, ESP, GRE, ...)
    NON_IP = 2  #: link frame that carries no IP (ARP, LLDP, PPP control, ...)
    FRAGMENT = 3  #: IP fragment whose ports cannot be seen (a later one whose first was not seen; a first one that ends before them)
    TRUNCATED = 4  #: the capture's snaplen cut the packet before its ports
    MALFORMED = 5  #: header lengths contradict each other or the frame
    UNSUPPORTED_LINK = 6  #: link type portannot does not decode


STATUS_NAMES: tuple[str, ...] = (
    "ports",
    "no-ports",
    "non-ip",
    "fragment",
    "truncated",
    "malformed",
    "unsupported-link",
)


# Plain-int twins of Status for compiled code (numba types IntEnum members less
# efficiently than literals).
PORTS = int(Status.PORTS)
NO_PORTS = int(Status.NO_PORTS)
NON_IP = int(Status.NON_IP)
FRAGMENT = int(Status.FRAGMENT)
TRUNCATED = int(Status.TRUNCATED)
MALFORMED = int(Status.MALFORMED)
UNSUPPORTED_LINK = int(Status.UNSUPPORTED_LINK)
