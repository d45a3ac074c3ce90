"""Link layers: each analyzer finds where the network layer starts and what it is.

An analyzer returns (position after its header, ethertype of what follows,
CONTINUE) or (position, 0, final status). Its choice of ethertype hands the
packet to the network dispatch, as Zeek's packet analyzers hand over by table.
`link_layer` also returns where the packet's bytes end: the captured end, except
where the link header says a trailer (an 802.11 FCS) ends the frame.

Each analyzer is in the module of its family: `ethernet` (Ethernet, 802.3 LLC/SNAP),
`cooked` (Linux cooked, SLL and SLL2), `loopback` (BSD null and loop, raw IP), `serial` (PPP, Cisco HDLC),
`logs` (pf, NFLOG), `wlan` (802.11 behind radiotap, Prism and AVS headers);
`dispatch` holds the table of link types and `link_layer`, which the kernel calls.
"""

from portannot.decode.link.dispatch import LINK_TABLE, LINK_TYPES, link_layer
from portannot.decode.link.ethernet import (
    ETH_IPV4,
    ETH_IPV6,
    ETH_MPLS,
    ETH_MPLS_MULTICAST,
    ETH_NSH,
    ETH_TEB,
    MAX_8023_LENGTH,
    ethernet,
    llc,
    type_or_length,
)
from portannot.decode.link.loopback import version_ethertype
from portannot.decode.link.serial import ETH_BCP, ppp_protocol, ppp_to_ethertype

__all__ = [
    "ETH_BCP", "ETH_IPV4", "ETH_IPV6", "ETH_MPLS", "ETH_MPLS_MULTICAST", "ETH_NSH", "ETH_TEB",
    "LINK_TABLE", "LINK_TYPES", "MAX_8023_LENGTH", "ethernet", "link_layer", "llc",
    "ppp_protocol", "ppp_to_ethertype", "type_or_length", "version_ethertype",
]
