"""The README's "Flows: how direction and service are decided", rule by rule.

Each test builds a small capture with scapy in tmp_path and runs it through
``portannot.flows(path, registry=REGISTRY)`` with a hand-written IANA CSV registry
(tests/capgen.py: TEST_SERVICES) so which ports are named is certain: 80 http
(tcp, udp), 443 https (tcp only), 3306 mysql (tcp), 53 domain (tcp, udp), 2905 m3ua
(sctp), 5004 avt-profile-1 (dccp); 40500 and every high port unnamed.

Expected counts are derived by hand: bytes are the frames' lengths on the wire.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from capgen import dccp_header, write_pcap, write_registry
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Dot1Q, Ether
from scapy.layers.sctp import SCTP, SCTPChunkInit
from scapy.packet import Raw

import portannot

T0 = 1_700_000_000 * 10**9  # ns
MS = 1_000_000

A, B = "192.0.2.1", "198.51.100.2"  # A < B in portannot's end order


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    return write_registry(tmp_path / "registry.csv")


def tcp(src, sport, dst, dport, flags, payload=b"", vlan=None):
    ip = IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst)
    l2 = Ether() / Dot1Q(vlan=vlan) if vlan is not None else Ether()
    return l2 / ip / TCP(sport=sport, dport=dport, flags=flags) / Raw(payload)


def udp(src, sport, dst, dport, payload=b""):
    return Ether() / IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / Raw(payload)


def flows_of(tmp_path: Path, registry: Path, packets) -> list[dict]:
    """The flow rows of a capture holding `packets` 1 ms apart."""
    cap = write_pcap(tmp_path / "cap.pcap",
                     [(T0 + i * MS, bytes(p)) for i, p in enumerate(packets)])
    return portannot.flows(cap, registry=registry).to_pylist()


def only(rows: list[dict]) -> dict:
    assert len(rows) == 1, rows
    return rows[0]


def ends(row) -> tuple:
    return (row["orig_addr"], row["orig_port"], row["resp_addr"], row["resp_port"])


# ------------------------------------------------------------------ direction: syn

def test_syn_sender_is_originator_and_responder_port_names_the_service(tmp_path, registry):
    # B's first packet comes first (a stray ACK), then A's SYN: the SYN decides, not order
    row = only(flows_of(tmp_path, registry, [
        tcp(B, 80, A, 50000, "A"),
        tcp(A, 50000, B, 80, "S"),
        tcp(B, 80, A, 50000, "SA"),
        tcp(A, 50000, B, 80, "A"),
    ]))
    assert ends(row) == (A, 50000, B, 80)
    assert row["direction_basis"] == "syn"
    assert (row["service"], row["service_port"], row["service_basis"]) == ("http", 80, "responder-port")


def test_syn_from_registered_port_80_to_unregistered_port_gives_no_service(tmp_path, registry):
    """A client whose SYN comes from port 80: the server (40500) has no name, and the
    client's registered port never names the flow."""
    row = only(flows_of(tmp_path, registry, [
        tcp(A, 80, B, 40500, "S"),
        tcp(B, 40500, A, 80, "SA"),
        tcp(A, 80, B, 40500, "A"),
        tcp(A, 80, B, 40500, "PA", b"hello"),
    ]))
    assert ends(row) == (A, 80, B, 40500)
    assert row["direction_basis"] == "syn"
    assert row["service"] is None
    assert row["service_port"] is None
    assert row["service_basis"] == "none"


def test_syn_from_the_higher_end_orders_the_flow_the_other_way(tmp_path, registry):
    """The originator is the higher end of portannot's key order: orig/resp must swap."""
    row = only(flows_of(tmp_path, registry, [
        tcp(B, 51000, A, 443, "S"),
        tcp(A, 443, B, 51000, "SA"),
    ]))
    assert ends(row) == (B, 51000, A, 443)
    assert (row["service"], row["service_basis"], row["direction_basis"]) == (
        "https", "responder-port", "syn")


# ------------------------------------------------------------------ direction: synack

def test_synack_without_syn_makes_its_receiver_the_originator(tmp_path, registry):
    row = only(flows_of(tmp_path, registry, [
        tcp(B, 443, A, 50001, "SA"),
        tcp(A, 50001, B, 443, "A"),
        tcp(A, 50001, B, 443, "PA", b"x" * 10),
    ]))
    assert ends(row) == (A, 50001, B, 443)
    assert row["direction_basis"] == "synack"
    assert (row["service"], row["service_port"], row["service_basis"]) == ("https", 443, "responder-port")


@pytest.mark.parametrize("first", ["S", "SA", "A"], ids=["syn", "synack", "first-packet"])
def test_an_end_talking_to_itself_counts_every_packet_originator_to_responder(
        tmp_path, registry, first):
    """A LAND packet (source and destination the same address and port): whichever rule
    picks the originator, it is also the responder, and each packet counts once, in the
    originator's direction."""
    frames = [tcp(A, 80, A, 80, first, b"x" * 10), tcp(A, 80, A, 80, "A")]
    row = only(flows_of(tmp_path, registry, frames))
    assert ends(row) == (A, 80, A, 80)
    assert row["direction_basis"] == {"S": "syn", "SA": "synack", "A": "first-packet"}[first]
    assert (row["orig_packets"], row["orig_bytes"]) == (2, sum(len(f) for f in frames))
    assert (row["resp_packets"], row["resp_bytes"]) == (0, 0)
    assert row["service"] == "http"


def test_synack_beats_first_packet(tmp_path, registry):
    """The client's data comes first, the server's SYN+ACK later: still synack, and the
    SYN+ACK's receiver (the client) originates."""
    row = only(flows_of(tmp_path, registry, [
        tcp(B, 50002, A, 80, "PA", b"GET"),
        tcp(A, 80, B, 50002, "SA"),
    ]))
    assert ends(row) == (B, 50002, A, 80)
    assert row["direction_basis"] == "synack"
    assert row["service"] == "http"


def test_synack_from_unnamed_port_gives_no_service(tmp_path, registry):
    """The SYN+ACK sender is the server; its port (40500) is unnamed, so no service even
    though the client's port 3306 is named."""
    row = only(flows_of(tmp_path, registry, [
        tcp(B, 40500, A, 3306, "SA"),
        tcp(A, 3306, B, 40500, "A"),
    ]))
    assert ends(row) == (A, 3306, B, 40500)
    assert row["direction_basis"] == "synack"
    assert row["service"] is None and row["service_basis"] == "none"


# ------------------------------------------------------------------ direction: first packet

def test_midstream_between_two_named_ports_takes_the_lower(tmp_path, registry):
    """No SYN: the first packet's sender originates; both 443 and 3306 are named, the
    lower (443) is the service, whichever end it is on."""
    row = only(flows_of(tmp_path, registry, [
        tcp(B, 3306, A, 443, "PA", b"a" * 20),
        tcp(A, 443, B, 3306, "A"),
        tcp(B, 3306, A, 443, "PA", b"b" * 20),
    ]))
    assert ends(row) == (B, 3306, A, 443)
    assert row["direction_basis"] == "first-packet"
    assert (row["service"], row["service_port"], row["service_basis"]) == ("https", 443, "lower-named-port")


def test_midstream_lower_named_port_on_the_originator_side(tmp_path, registry):
    row = only(flows_of(tmp_path, registry, [
        tcp(A, 80, B, 3306, "PA", b"x"),
        tcp(B, 3306, A, 80, "A"),
    ]))
    assert ends(row) == (A, 80, B, 3306)
    assert (row["service"], row["service_port"], row["service_basis"]) == ("http", 80, "lower-named-port")


def test_midstream_one_named_port_on_the_first_sender(tmp_path, registry):
    """Mid-stream mysql, the server speaks first: originator = server, service from its port."""
    row = only(flows_of(tmp_path, registry, [
        tcp(A, 3306, B, 52000, "PA", b"greeting"),
        tcp(B, 52000, A, 3306, "PA", b"login"),
    ]))
    assert ends(row) == (A, 3306, B, 52000)
    assert row["direction_basis"] == "first-packet"
    assert (row["service"], row["service_port"], row["service_basis"]) == ("mysql", 3306, "one-named-port")


def test_midstream_one_named_port_on_the_responder(tmp_path, registry):
    row = only(flows_of(tmp_path, registry, [
        tcp(A, 52001, B, 3306, "PA", b"query"),
        tcp(B, 3306, A, 52001, "PA", b"rows"),
    ]))
    assert ends(row) == (A, 52001, B, 3306)
    assert (row["service"], row["service_port"], row["service_basis"]) == ("mysql", 3306, "one-named-port")


def test_midstream_neither_port_named(tmp_path, registry):
    row = only(flows_of(tmp_path, registry, [
        tcp(B, 40500, A, 50003, "PA", b"x"),
        tcp(A, 50003, B, 40500, "A"),
    ]))
    assert ends(row) == (B, 40500, A, 50003)
    assert row["direction_basis"] == "first-packet"
    assert row["service"] is None and row["service_port"] is None
    assert row["service_basis"] == "none"


def test_name_is_per_transport(tmp_path, registry):
    """443 is named for tcp only: a UDP flow on 443 (QUIC) gets no service."""
    row = only(flows_of(tmp_path, registry, [
        udp(A, 50004, B, 443, b"q" * 30),
        udp(B, 443, A, 50004, b"r" * 30),
    ]))
    assert row["transport"] == "udp"
    assert row["service"] is None and row["service_basis"] == "none"


# ------------------------------------------------------------------ UDP, SCTP, DCCP

def test_udp_exchange(tmp_path, registry):
    q = udp(A, 33000, B, 53, b"q" * 17)
    r = udp(B, 53, A, 33000, b"r" * 41)
    row = only(flows_of(tmp_path, registry, [q, r]))
    assert row["transport"] == "udp"
    assert ends(row) == (A, 33000, B, 53)
    assert row["direction_basis"] == "first-packet"
    assert (row["service"], row["service_port"], row["service_basis"]) == ("domain", 53, "one-named-port")
    assert (row["orig_packets"], row["orig_bytes"]) == (1, len(q))
    assert (row["resp_packets"], row["resp_bytes"]) == (1, len(r))
    assert row["orig_tcp_flags"] is None and row["resp_tcp_flags"] is None


def test_udp_same_named_port_both_sides(tmp_path, registry):
    """53 <-> 53: both named and equal; the lower (either) names it."""
    row = only(flows_of(tmp_path, registry, [udp(B, 53, A, 53, b"x"), udp(A, 53, B, 53, b"y")]))
    assert ends(row) == (B, 53, A, 53)
    assert (row["service"], row["service_port"], row["service_basis"]) == ("domain", 53, "lower-named-port")


def test_sctp_flow(tmp_path, registry):
    init = Ether() / IP(src=A, dst=B) / SCTP(sport=40000, dport=2905) / SCTPChunkInit()
    ack = Ether() / IP(src=B, dst=A) / SCTP(sport=2905, dport=40000) / SCTPChunkInit()
    row = only(flows_of(tmp_path, registry, [init, ack, init]))
    assert row["transport"] == "sctp"
    assert ends(row) == (A, 40000, B, 2905)
    assert row["direction_basis"] == "first-packet"
    assert (row["service"], row["service_port"], row["service_basis"]) == ("m3ua", 2905, "one-named-port")
    assert (row["orig_packets"], row["resp_packets"]) == (2, 1)
    assert row["orig_bytes"] == 2 * len(init) and row["resp_bytes"] == len(ack)


def test_dccp_flow(tmp_path, registry):
    """DCCP (IP protocol 33) built by hand: a Request from 40001 to 5004 and a Response."""
    req = Ether() / IP(src=A, dst=B, proto=33) / Raw(dccp_header(40001, 5004, ptype=0) + b"d" * 8)
    resp = Ether() / IP(src=B, dst=A, proto=33) / Raw(dccp_header(5004, 40001, ptype=1))
    row = only(flows_of(tmp_path, registry, [req, resp]))
    assert row["transport"] == "dccp"
    assert ends(row) == (A, 40001, B, 5004)
    assert (row["service"], row["service_port"], row["service_basis"]) == (
        "avt-profile-1", 5004, "one-named-port")
    assert (row["orig_bytes"], row["resp_bytes"]) == (len(req), len(resp))


def test_tcp_port_name_does_not_leak_to_other_transports(tmp_path, registry):
    """5004 is named for dccp only, 2905 for sctp only: as TCP they give nothing."""
    row = only(flows_of(tmp_path, registry, [tcp(A, 2905, B, 5004, "PA", b"x")]))
    assert row["service"] is None and row["service_basis"] == "none"


# ------------------------------------------------------------------ counts, flags, times, VLAN

def test_per_direction_counts_bytes_flags_and_times(tmp_path, registry):
    pkts = [
        tcp(A, 50010, B, 80, "S"),
        tcp(B, 80, A, 50010, "SA"),
        tcp(A, 50010, B, 80, "A"),
        tcp(A, 50010, B, 80, "PA", b"G" * 100),
        tcp(B, 80, A, 50010, "PA", b"R" * 1000),
        tcp(B, 80, A, 50010, "PAU", b"R" * 7),
        tcp(A, 50010, B, 80, "FA"),
        tcp(B, 80, A, 50010, "R"),
    ]
    row = only(flows_of(tmp_path, registry, pkts))
    orig = [p for p in pkts if p[TCP].sport == 50010]
    resp = [p for p in pkts if p[TCP].sport == 80]
    assert (row["orig_packets"], row["resp_packets"]) == (4, 4)
    assert row["orig_bytes"] == sum(len(p) for p in orig) == 4 * 54 + 100
    assert row["resp_bytes"] == sum(len(p) for p in resp) == 4 * 54 + 1000 + 7
    assert row["packets"] == 8 and row["bytes"] == 8 * 54 + 100 + 1000 + 7
    # letters in tcpdump order F S R P A U
    assert row["orig_tcp_flags"] == "FSPA"
    assert row["resp_tcp_flags"] == "SRPAU"
    assert row["first_ts"].value == T0
    assert row["last_ts"].value == T0 + 7 * MS
    assert row["duration"] == pytest.approx(0.007)
    assert row["vlan"] is None
    assert row["ip_version"] == 4


def test_ipv6_flow(tmp_path, registry):
    a6, b6 = "2001:db8::1", "2001:db8:0:1::2"
    row = only(flows_of(tmp_path, registry, [
        tcp(a6, 50011, b6, 443, "S"), tcp(b6, 443, a6, 50011, "SA")]))
    assert ends(row) == (a6, 50011, b6, 443)
    assert row["ip_version"] == 6 and row["service"] == "https"
    assert row["orig_bytes"] == 14 + 40 + 20


def test_vlan_column(tmp_path, registry):
    rows = flows_of(tmp_path, registry, [
        tcp(A, 50020, B, 80, "S", vlan=100),
        tcp(B, 80, A, 50020, "SA", vlan=100),
        tcp(A, 50021, B, 80, "S"),
    ])
    by_port = {r["orig_port"]: r for r in rows}
    assert by_port[50020]["vlan"] == 100
    assert by_port[50020]["orig_bytes"] == 14 + 4 + 20 + 20
    assert by_port[50021]["vlan"] is None


def test_flow_ids_follow_first_appearance(tmp_path, registry):
    rows = flows_of(tmp_path, registry, [
        udp(A, 1001, B, 53), udp(A, 1002, B, 53), udp(B, 53, A, 1001), udp(A, 1003, B, 53),
    ])
    assert [(r["flow_id"], r["orig_port"]) for r in rows] == [(1, 1001), (2, 1002), (3, 1003)]
