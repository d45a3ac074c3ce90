"""The benchmark's peers (benchmarks/peers.py) build the flow table portannot builds:
their flow counts equal portannot's on the project's captures of every transport,
IPv6 extension headers and AH included. The dpkt loop keyed IPv6 on its first next
header (0 for hop-by-hop), so such packets fell out of its table; scapy's likewise.
(NFStream is left out: it is not in the test dependencies, and keys flows its own way.)"""

from __future__ import annotations

import sys

import pytest
from paths import LOCAL_PCAPS, REPO

import portannot

sys.path.insert(0, str(REPO / "benchmarks"))
import peers  # noqa: E402

CAPTURES = ["demo.pcap", "ipv6-ext-headers.pcap", "ipv4-options.pcap", "link-ethernet-vlan.pcap"]


@pytest.mark.parametrize("name", CAPTURES)
@pytest.mark.parametrize("peer", ["dpkt_flows", "scapy_flows"])
def test_a_peer_counts_portannots_flows(peer, name):
    path = str(LOCAL_PCAPS / name)
    assert getattr(peers, peer)(path, limit=0)["flows"] == len(portannot.flows(path))
