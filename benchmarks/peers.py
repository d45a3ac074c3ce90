"""The peers portannot is measured against, each run in a process of its own.

Python peers (plain per-packet loops, on purpose):

    python benchmarks/peers.py dpkt-decode FILE     # the decoder's fields, per packet
    python benchmarks/peers.py dpkt-flows FILE      # the bidirectional flow table
    python benchmarks/peers.py scapy-flows FILE --limit 20000
    python benchmarks/peers.py nfstream-flows FILE

Each prints one line `RESULT {json}` with the packets it handled and the seconds
its loop took (imports excluded). Command peers (tshark, cat) are argument lists
built by `tshark_conv_cmd` and `cat_cmd`, timed from outside.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import time

#: IP protocols whose first 4 bytes are source and destination port
PORT_PROTOCOLS = {6: "tcp", 17: "udp", 132: "sctp", 33: "dccp"}


def _ports(l4) -> tuple[int, int]:
    """Ports of a dpkt transport object, or of the raw bytes dpkt left unparsed (DCCP,
    or a header dpkt could not unpack)."""
    if isinstance(l4, bytes):
        return struct.unpack_from(">HH", l4) if len(l4) >= 4 else (0, 0)
    return l4.sport, l4.dport


def dpkt_decode(path: str, limit: int = 0) -> dict:
    """Per packet: timestamp, captured and wire length, IP version, addresses, IP
    protocol, transport, ports and TCP flags - the fields portannot's decoder
    writes. They are folded into a checksum so none of the work is skipped."""
    import dpkt

    packets = 0
    by_proto: dict[int, int] = {}
    check = 0
    start = time.perf_counter()
    with open(path, "rb") as f:
        for ts, buf in dpkt.pcap.Reader(f):
            packets += 1
            caplen = len(buf)
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
            if isinstance(ip, (dpkt.ip.IP, dpkt.ip6.IP6)):
                version = 4 if isinstance(ip, dpkt.ip.IP) else 6
                src, dst = ip.src, ip.dst
                # IPv6: the transport after the extension headers (nxt is the first; dpkt
                # sets p where it walked a chain to its end)
                proto = ip.p if version == 4 else getattr(ip, "p", ip.nxt)
                sport = dport = flags = 0
                if proto in PORT_PROTOCOLS:
                    l4 = ip.data
                    sport, dport = _ports(l4)
                    if proto == 6 and not isinstance(l4, bytes):
                        flags = l4.flags
                by_proto[proto] = by_proto.get(proto, 0) + 1
                check ^= hash((ts, caplen, version, src, dst, sport, dport, flags))
            if limit and packets >= limit:
                break
    seconds = time.perf_counter() - start
    return {"packets": packets, "seconds": seconds, "by_proto": by_proto, "check": check}


def _flow_key(proto: int, src: bytes, sport: int, dst: bytes, dport: int):
    """Direction-free key: the smaller (address, port) end first. Returns (key, forward)."""
    a, b = (src, sport), (dst, dport)
    if a <= b:
        return (proto, a, b), True
    return (proto, b, a), False


def _add(table: dict, key, forward: bool, size: int, ts: float) -> None:
    row = table.get(key)
    if row is None:  # packets a->b, bytes a->b, packets b->a, bytes b->a, first, last
        row = table[key] = [0, 0, 0, 0, ts, ts]
    if forward:
        row[0] += 1
        row[1] += size
    else:
        row[2] += 1
        row[3] += size
    row[5] = ts


def dpkt_flows(path: str, limit: int = 0) -> dict:
    """The bidirectional flow table portannot builds: key transport + two (address,
    port) ends, per direction packets and bytes, first and last timestamp."""
    import dpkt

    table: dict = {}
    packets = 0
    start = time.perf_counter()
    with open(path, "rb") as f:
        for ts, buf in dpkt.pcap.Reader(f):
            packets += 1
            ip = dpkt.ethernet.Ethernet(buf).data
            if isinstance(ip, (dpkt.ip.IP, dpkt.ip6.IP6)):
                # IPv6: after the extension headers, as portannot keys it (see dpkt_decode)
                proto = ip.p if isinstance(ip, dpkt.ip.IP) else getattr(ip, "p", ip.nxt)
                if proto in PORT_PROTOCOLS:  # flows are of packets with ports, as portannot's
                    sport, dport = _ports(ip.data)
                    key, forward = _flow_key(proto, ip.src, sport, ip.dst, dport)
                    _add(table, key, forward, len(buf), ts)
            if limit and packets >= limit:
                break
    seconds = time.perf_counter() - start
    return {"packets": packets, "seconds": seconds, "flows": len(table)}


def scapy_flows(path: str, limit: int = 20_000) -> dict:
    """The same flow table with scapy's PcapReader (slow: meant for a prefix, scaled)."""
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import (
        IPv6,
        IPv6ExtHdrDestOpt,
        IPv6ExtHdrFragment,
        IPv6ExtHdrHopByHop,
        IPv6ExtHdrRouting,
    )
    from scapy.layers.ipsec import AH
    from scapy.utils import PcapReader

    IPV6_EXTENSIONS = (IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                       AH)

    table: dict = {}
    packets = 0
    start = time.perf_counter()
    with PcapReader(path) as reader:
        for pkt in reader:
            packets += 1
            ip = pkt.getlayer(IP) or pkt.getlayer(IPv6)
            if ip is not None:
                proto, l4 = (ip.proto, ip.payload) if ip.version == 4 else (ip.nh, ip.payload)
                while isinstance(l4, IPV6_EXTENSIONS):  # to the transport, as portannot does
                    proto, l4 = l4.nh, l4.payload
                if proto in PORT_PROTOCOLS:
                    if hasattr(l4, "sport"):
                        sport, dport = l4.sport, l4.dport
                    else:
                        sport, dport = _ports(bytes(l4))
                    key, forward = _flow_key(proto, ip.src.encode(), sport, ip.dst.encode(), dport)
                    size = pkt.wirelen if pkt.wirelen is not None else len(pkt.original)
                    _add(table, key, forward, size, float(pkt.time))
            if limit and packets >= limit:
                break
    seconds = time.perf_counter() - start
    return {"packets": packets, "seconds": seconds, "flows": len(table)}


def nfstream_flows(path: str, limit: int = 0) -> dict:
    """NFStream with DPI and statistics off: its meter builds the flow table in C,
    the Python side iterates the finished flows. `packets` is the sum of the flows'
    packets (NFStream skips what it cannot key, so it may be below the file's count)."""
    from nfstream import NFStreamer

    flows = packets = 0
    start = time.perf_counter()
    streamer = NFStreamer(
        source=path,
        n_dissections=0,
        statistical_analysis=False,
        splt_analysis=0,
        system_visibility_mode=0,
    )
    for flow in streamer:
        flows += 1
        packets += flow.bidirectional_packets
        if limit and packets >= limit:
            break
    seconds = time.perf_counter() - start
    return {"packets": packets, "seconds": seconds, "flows": flows}


PYTHON_PEERS = {
    "dpkt-decode": dpkt_decode,
    "dpkt-flows": dpkt_flows,
    "scapy-flows": scapy_flows,
    "nfstream-flows": nfstream_flows,
}


def tshark_conv_cmd(path: str, limit: int = 0) -> list[str]:
    """tshark's TCP and UDP conversation tables (limit: read only the first packets)."""
    cmd = ["tshark", "-q", "-z", "conv,tcp", "-z", "conv,udp", "-r", path]
    return [*cmd, "-c", str(limit)] if limit else cmd


def cat_cmd(path: str) -> list[str]:
    """`cat FILE > /dev/null` (the harness points stdout at /dev/null)."""
    return ["cat", path]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Run one Python peer and print RESULT {json}.")
    ap.add_argument("peer", choices=sorted(PYTHON_PEERS))
    ap.add_argument("path")
    ap.add_argument("--limit", type=int, default=0, help="stop after this many packets")
    args = ap.parse_args(argv)
    result = PYTHON_PEERS[args.peer](args.path, args.limit)
    print("RESULT " + json.dumps(result), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
