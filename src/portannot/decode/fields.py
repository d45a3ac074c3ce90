"""What a layer analyzer reads and returns: the network-order field readers (shared
with the capture walkers in portannot.words, compiled inline; the caller checks the
bounds) and the codes a layer returns besides a final status."""

from __future__ import annotations

from portannot.words import at, be16, be32, le16, le32, mem32, mem64, u8

__all__ = ["CONTINUE", "PAST_END", "SHORT", "at", "be16", "be32", "le16", "le32", "mem32", "mem64", "u8"]

#: returned by a layer whose header does not fit in the captured bytes; the kernel
#: turns it into TRUNCATED (the snaplen cut the frame) or MALFORMED (it did not)
SHORT = 100
#: returned by a layer whose header runs past the end of the IP payload (the IP length
#: fields leave no room for it). The kernel makes it MALFORMED, except in the
#: fragmentable part of a first fragment (after the IPv4 header, after the IPv6 Fragment
#: header): there the IP length is the fragment's, and the rest of the header, ports
#: included, is in the next fragment (RFC 7112's case): FRAGMENT
PAST_END = 101
#: returned by the IPv4 layer for a version-6 header where IPv4 was announced (ethertype
#: 0x0800, LINKTYPE_IPV4): the kernel reads it as IPv6, as tshark's IPv4 dissector hands
#: it to IPv6. Only the failed version check returns it, so IPv4 itself pays nothing
IPV6_INSTEAD = 102
#: returned by a layer that handed over to the next one
CONTINUE = 255
