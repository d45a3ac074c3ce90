"""The peers portannot is measured against, each run in a process of its own.

Python peers (plain per-packet loops, on purpose):

    python benchmarks/peers.py dpkt-decode FILE     # the decoder's fields, per packet
    python benchmarks/peers.py dpkt-flows FILE      # the bidirectional flow table
    python benchmarks/peers.py scapy-flows FILE --limit 20000
    python benchmarks/peers.py nfstream-flows FILE

Each prints one line `RESULT {json}` with the packets it handled and the seconds
its loop took (imports excluded); the flow peers add `by_transport`, the flows and
packets they keyed per transport, which bench_flows compares with portannot's table.
Command peers (tshark, cat) are argument lists built by `tshark_conv_cmd` and
`cat_cmd`, timed from outside; `tshark_conv_counts` reads tshark's tables back.
"""

from __future__ import annotations

import argparse
import json
import re
import struct
import sys
import time

#: IP protocols whose first 4 bytes are source and destination port
PORT_PROTOCOLS = {6: "tcp", 17: "udp", 132: "sctp", 33: "dccp"}
#: the transports tshark's `-z conv,tcp -z conv,udp` tables cover
TSHARK_TRANSPORTS = ("tcp", "udp")


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


def _by_transport(table: dict) -> dict[str, list[int]]:
    """Flows and packets per transport of a flow table (named as portannot's `transport`
    column): what bench_flows holds against portannot's table, so that a peer keying
    fewer packets shows, not only one keying fewer flows."""
    out: dict[str, list[int]] = {}
    for (proto, _a, _b), row in table.items():
        entry = out.setdefault(PORT_PROTOCOLS[proto], [0, 0])
        entry[0] += 1
        entry[1] += row[0] + row[2]
    return out


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
    return {"packets": packets, "seconds": seconds, "flows": len(table),
            "by_transport": _by_transport(table)}


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
    from scapy.layers.l2 import Dot1AD, Ether
    from scapy.packet import bind_layers
    from scapy.utils import PcapReader

    # the outer tag of the 0x9100 kind, which dpkt and portannot read and scapy leaves raw
    # (its frames' packets fell out of the table while their flows were still counted)
    bind_layers(Ether, Dot1AD, type=0x9100)

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
    return {"packets": packets, "seconds": seconds, "flows": len(table),
            "by_transport": _by_transport(table)}


def nfstream_flows(path: str, limit: int = 0) -> dict:
    """NFStream with DPI and statistics off: its meter builds the flow table in C,
    the Python side iterates the finished flows. `packets` is the sum of the flows'
    packets (NFStream skips what it cannot key, so it may be below the file's count);
    `by_transport` counts the flows of port transports only, as portannot keys them
    (NFStream keys ICMP and other protocols too)."""
    from nfstream import NFStreamer

    flows = packets = 0
    by_transport: dict[str, list[int]] = {}
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
        transport = PORT_PROTOCOLS.get(flow.protocol)
        if transport is not None:
            entry = by_transport.setdefault(transport, [0, 0])
            entry[0] += 1
            entry[1] += flow.bidirectional_packets
        if limit and packets >= limit:
            break
    seconds = time.perf_counter() - start
    return {"packets": packets, "seconds": seconds, "flows": flows, "by_transport": by_transport}


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


#: a conversation line: "A <-> B", then frames and bytes (a number and its unit) each way
#: and in total; the total frames are kept
_CONV_LINE = re.compile(r"<->\s+\S+\s+(?:\d+\s+\d+\s+\S+\s+){2}(\d+)\s+\d+\s+\S+\s")


def tshark_conv_counts(text: str) -> dict[str, list[int]]:
    """Conversations and their total frames per transport, read from the tables
    `tshark -q -z conv,tcp -z conv,udp` prints: tshark's side of the flow table, held
    against portannot's TCP and UDP flows. A conversation line in a layout not
    understood is a ValueError: counting it as nothing would hide a peer doing less."""
    out: dict[str, list[int]] = {}
    current = None
    for line in text.splitlines():
        words = line.split()
        if len(words) == 2 and words[1] == "Conversations":
            current = out.setdefault(words[0].lower(), [0, 0])
        elif "<->" in line:
            match = _CONV_LINE.search(line)
            if current is None or match is None:
                raise ValueError(f"tshark conversation line not understood: {line.strip()!r}")
            current[0] += 1
            current[1] += int(match.group(1))
    return out


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
