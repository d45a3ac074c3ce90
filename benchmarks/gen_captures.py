"""Generate the benchmark captures: whole pcap files built with numpy, in chunks.

    python benchmarks/gen_captures.py            # every capture, full size
    python benchmarks/gen_captures.py --quick    # the same, a tenth of the packets
    python benchmarks/gen_captures.py mixed-1m   # one capture

Files land in benchmarks/data/ with a sidecar NAME.json holding the parameters
they were made from; a file whose sidecar matches is reused, not rebuilt.

The traffic model: flows with a heavy-tailed number of packets, each flow with
a start time and a duration, all packets sorted by time. TCP flows of 3 or more
packets open with SYN, SYN/ACK, ACK and flows of 5 or more close with FIN. The
server side uses real service ports, the client side ephemeral ones. IPv4
checksums are left at zero; every length field is consistent with the frame.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"
GENERATOR_VERSION = 3

#: name -> parameters. Packets per flow of 1 means every packet is its own flow.
SPECS: dict[str, dict] = {
    "mixed-1m": {
        "packets": 1_000_000,
        "sizes": "mixed",
        "packets_per_flow": 40,
        "ipv6": 0.1,
        "seed": 1,
    },
    # as many flows as mixed-1m (25 k), each twice as long: the capture alone doubles. The same
    # seed draws them alike, not the same ones: once the packets are shared out among the flows
    # (twice as many), every later draw differs, and no flow of mixed-1m is in it
    "mixed-2m": {
        "packets": 2_000_000,
        "sizes": "mixed",
        "packets_per_flow": 80,
        "ipv6": 0.1,
        "seed": 1,
    },
    "small-1m": {
        "packets": 1_000_000,
        "sizes": "small",
        "packets_per_flow": 40,
        "ipv6": 0.0,
        "seed": 2,
    },
    "small-5m": {
        "packets": 5_000_000,
        "sizes": "small",
        "packets_per_flow": 40,
        "ipv6": 0.0,
        "seed": 2,
    },
    "flows-1m": {
        "packets": 1_000_000,
        "sizes": "mixed",
        "packets_per_flow": 1,
        "ipv6": 0.1,
        "seed": 3,
    },
}
QUICK_DIVISOR = 10
PACKETS_PER_SECOND = 10_000  # capture duration = packets / this
CHUNK_PACKETS = 250_000

# Transport kinds of the model and their IP protocol numbers (ICMP becomes 58 on IPv6).
TCP, UDP, SCTP, DCCP, ICMP = range(5)
KIND_NAMES = ("tcp", "udp", "sctp", "dccp", "icmp")
KIND_SHARE = (0.74, 0.20, 0.015, 0.01, 0.035)  # share of flows
IP_PROTO = {TCP: 6, UDP: 17, SCTP: 132, DCCP: 33, ICMP: 1}
L4_HEADER = {TCP: 20, UDP: 8, SCTP: 16, DCCP: 16, ICMP: 8}  # SCTP: common header + chunk header
L4_MIN = {TCP: 20, UDP: 8, SCTP: 28, DCCP: 16, ICMP: 8}  # SCTP DATA chunk is at least 16 bytes

#: server ports by kind: (ports, weights)
SERVER_PORTS = {
    TCP: ((443, 80, 22, 25, 993, 853, 5432, 8080, 8443, 3389), (55, 20, 5, 3, 3, 3, 3, 4, 2, 2)),
    UDP: ((53, 443, 123, 5353, 1900, 500, 4500, 51820), (50, 25, 8, 6, 3, 3, 3, 2)),
    SCTP: ((2905, 3868, 36412, 38412), (1, 1, 1, 1)),
    DCCP: ((5004, 9, 5060), (1, 1, 1)),
}
CLIENT_HOSTS = 5000
SERVER_HOSTS = 2000
EPOCH = 1_700_000_000
SMALL_FRAME = 64


def spec_for(name: str, quick: bool = False) -> dict:
    spec = dict(SPECS[name], name=name, version=GENERATOR_VERSION)
    if quick:
        spec["packets"] //= QUICK_DIVISOR
    return spec


def capture_path(name: str, quick: bool = False) -> Path:
    return DATA_DIR / (f"{name}.quick.pcap" if quick else f"{name}.pcap")


def ensure(name: str, quick: bool = False, verbose: bool = True) -> tuple[Path, dict]:
    """Path and metadata of a capture, generating it unless a matching one exists."""
    path = capture_path(name, quick)
    meta_path = path.with_suffix(".json")
    spec = spec_for(name, quick)
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("spec") == spec and meta.get("bytes") == path.stat().st_size:
            return path, meta
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    meta = write_capture(path, spec)
    meta["generate_seconds"] = round(time.perf_counter() - start, 2)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    if verbose:
        print(
            f"generated {path.name}: {meta['packets']:,} packets, {meta['flows']:,} flows, "
            f"{meta['bytes'] / 1e6:,.0f} MB, mean frame {meta['mean_frame']:.0f} B "
            f"in {meta['generate_seconds']} s",
            file=sys.stderr,
        )
    return path, meta


# ---------------------------------------------------------------- traffic model


def frame_sizes(rng: np.random.Generator, n: int, sizes: str) -> np.ndarray:
    """Wire sizes of data packets: a mix of ACK-sized, medium and full-size frames."""
    if sizes == "small":
        return np.full(n, SMALL_FRAME, np.int64)
    pick = rng.choice(4, size=n, p=(0.36, 0.22, 0.08, 0.34))
    low = np.array([64, 128, 576, 1024])[pick]
    high = np.array([128, 576, 1024, 1515])[pick]
    out = rng.integers(low, high)
    full = (pick == 3) & (rng.random(n) < 0.8)
    out[full] = 1514
    return out


def flow_table(rng: np.random.Generator, spec: dict) -> dict[str, np.ndarray]:
    """Per-flow attributes: packet count, start, duration, version, kind, hosts, ports."""
    n = spec["packets"]
    per_flow = spec["packets_per_flow"]
    flows = n // per_flow
    if per_flow == 1:
        counts = np.ones(flows, np.int64)
    else:  # heavy tail, every flow at least one packet; the largest holds ~3% of mixed-1m
        weight = np.minimum(rng.pareto(1.2, flows) + 1.0, 0.02 * n)
        counts = 1 + np.floor(weight / weight.sum() * (n - flows)).astype(np.int64)
        extra = rng.choice(flows, size=n - int(counts.sum()), replace=False)
        counts[extra] += 1
    duration_total = n / PACKETS_PER_SECOND
    start = rng.random(flows) * duration_total * 0.95
    length = np.minimum(rng.exponential(duration_total / 20, flows), duration_total - start)
    length[counts == 1] = 0.0

    ipv6 = rng.random(flows) < spec["ipv6"]
    kind = rng.choice(5, size=flows, p=KIND_SHARE)
    server_port = np.zeros(flows, np.int64)
    for k, (ports, weights) in SERVER_PORTS.items():
        mask = kind == k
        p = np.asarray(weights, float) / sum(weights)
        server_port[mask] = rng.choice(ports, size=int(mask.sum()), p=p)
    client_port = rng.integers(32768, 61000, flows)
    client_port[kind == ICMP] = rng.integers(1, 65536, int((kind == ICMP).sum()))  # echo id
    if per_flow == 1:  # one client per flow keeps every flow distinct
        client_host = np.arange(flows, dtype=np.int64)
    else:
        client_host = rng.integers(0, CLIENT_HOSTS, flows)
    server_host = rng.integers(0, SERVER_HOSTS, flows)
    return {
        "count": counts,
        "start": start,
        "length": length,
        "ipv6": ipv6,
        "kind": kind,
        "server_port": server_port,
        "client_port": client_port,
        "client_host": client_host,
        "server_host": server_host,
        "seq": rng.integers(0, 2**32, flows),
    }


def packet_table(rng: np.random.Generator, spec: dict, fl: dict) -> dict[str, np.ndarray]:
    """Per-packet attributes in time order: flow, direction, rank in flow, flags, size."""
    counts = fl["count"]
    flow = np.repeat(np.arange(len(counts)), counts)
    ts = fl["start"][flow] + rng.random(len(flow)) * fl["length"][flow]
    order = np.argsort(ts, kind="stable")
    flow, ts = flow[order], ts[order]

    # rank of each packet within its flow, in time order
    by_flow = np.argsort(flow, kind="stable")
    first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.empty(len(flow), np.int64)
    rank[by_flow] = np.arange(len(flow)) - first[flow[by_flow]]

    n = len(flow)
    count = counts[flow]
    kind = fl["kind"][flow]
    reply = rng.random(n) < 0.55  # data packets lean server -> client
    reply[rank == 0] = False
    size = frame_sizes(rng, n, spec["sizes"])
    flags = np.where(size > 90, 0x18, 0x10)  # PSH/ACK with data, ACK without

    tcp = kind == TCP
    shake = tcp & (count >= 3) & (rank < 3)
    flags[shake & (rank == 0)] = 0x02
    flags[shake & (rank == 1)] = 0x12
    flags[shake & (rank == 2)] = 0x10
    reply[shake] = rank[shake] == 1
    fin = tcp & (count >= 5) & (rank == count - 1)
    flags[fin] = 0x11
    size[shake | fin] = SMALL_FRAME
    return {"flow": flow, "ts": ts, "rank": rank, "reply": reply, "size": size, "flags": flags}


# ---------------------------------------------------------------- bytes


def put(mat: np.ndarray, col: int, values, fmt: str) -> None:
    """Write one field (numpy dtype string, e.g. '>u2') into column `col` of every row."""
    values = np.broadcast_to(np.asarray(values), (mat.shape[0],))
    raw = values.astype(fmt).view(np.uint8).reshape(mat.shape[0], -1)
    mat[:, col : col + raw.shape[1]] = raw


def addresses(host: np.ndarray, ipv6: bool, server: bool) -> np.ndarray:
    """(n, 4) or (n, 16) address bytes. IPv4 clients 10/8, servers 198.18/15;
    IPv6 clients 2001:db8::/64, servers 2001:db8:ffff::/64, host id in the low bits."""
    n = len(host)
    if not ipv6:
        base = (198 << 24 | 18 << 16) if server else (10 << 24)
        return (base + host).astype(">u4").view(np.uint8).reshape(n, 4)
    out = np.zeros((n, 16), np.uint8)
    out[:, 0:4] = (0x20, 0x01, 0x0D, 0xB8)
    if server:
        out[:, 4:6] = 0xFF
    out[:, 12:16] = (host + 1).astype(">u4").view(np.uint8).reshape(n, 4)
    return out


def build_group(r: dict, v6: bool, kind: int) -> tuple[np.ndarray, int]:
    """Header bytes (pcap record header + Ethernet + IP + transport) of one group of
    packets that share IP version and transport kind."""
    ip_len = 40 if v6 else 20
    head = 16 + 14 + ip_len + L4_HEADER[kind]
    n = len(r["size"])
    mat = np.zeros((n, head), np.uint8)
    size = r["size"]
    ts = r["ts"]
    sec = np.floor(ts).astype(np.int64)
    put(mat, 0, EPOCH + sec, "<u4")
    put(mat, 4, ((ts - sec) * 1e6).astype(np.int64), "<u4")
    put(mat, 8, size, "<u4")
    put(mat, 12, size, "<u4")

    reply = r["reply"]
    e = 16  # Ethernet: locally administered MACs, swapped on replies
    mat[:, e : e + 6] = (2, 0, 0, 0, 0, 1)
    mat[:, e + 6 : e + 12] = (2, 0, 0, 0, 0, 2)
    mat[reply, e + 5], mat[reply, e + 11] = 2, 1
    put(mat, e + 12, 0x86DD if v6 else 0x0800, ">u2")

    client = addresses(r["client_host"], v6, server=False)
    server = addresses(r["server_host"], v6, server=True)
    src = np.where(reply[:, None], server, client)
    dst = np.where(reply[:, None], client, server)
    ip = e + 14
    proto = 58 if (v6 and kind == ICMP) else IP_PROTO[kind]
    if v6:
        mat[:, ip] = 0x60
        put(mat, ip + 4, size - 14 - 40, ">u2")
        mat[:, ip + 6] = proto
        mat[:, ip + 7] = 64
        mat[:, ip + 8 : ip + 24] = src
        mat[:, ip + 24 : ip + 40] = dst
    else:
        mat[:, ip] = 0x45
        put(mat, ip + 2, size - 14, ">u2")
        put(mat, ip + 4, r["rank"] & 0xFFFF, ">u2")
        mat[:, ip + 6] = 0x40  # don't fragment
        mat[:, ip + 8] = 64
        mat[:, ip + 9] = proto
        mat[:, ip + 12 : ip + 16] = src
        mat[:, ip + 16 : ip + 20] = dst

    t = ip + ip_len
    sport = np.where(reply, r["server_port"], r["client_port"])
    dport = np.where(reply, r["client_port"], r["server_port"])
    if kind == ICMP:
        mat[:, t] = np.where(reply, 129 if v6 else 0, 128 if v6 else 8)
        put(mat, t + 4, r["client_port"], ">u2")  # echo identifier
        put(mat, t + 6, r["rank"] & 0xFFFF, ">u2")
        return mat, head
    put(mat, t, sport, ">u2")
    put(mat, t + 2, dport, ">u2")
    if kind == TCP:
        put(mat, t + 4, (r["seq"] + r["rank"] * 1000) & 0xFFFFFFFF, ">u4")
        mat[:, t + 12] = 0x50
        mat[:, t + 13] = r["flags"]
        put(mat, t + 14, 0xFFFF, ">u2")
    elif kind == UDP:
        put(mat, t + 4, size - (t - 16), ">u2")
    elif kind == SCTP:
        put(mat, t + 4, r["seq"] & 0xFFFFFFFF, ">u4")  # verification tag
        mat[:, t + 12] = 0  # DATA chunk
        mat[:, t + 13] = 0x03
        put(mat, t + 14, size - (t - 16) - 12, ">u2")
    elif kind == DCCP:
        mat[:, t + 4] = 4  # data offset, in 32-bit words
        mat[:, t + 8] = (2 << 1) | 1  # type Data, extended sequence numbers
        put(mat, t + 10, (r["rank"] >> 32) & 0xFFFF, ">u2")
        put(mat, t + 12, r["rank"] & 0xFFFFFFFF, ">u4")
    return mat, head


def write_chunk(out, rows: dict) -> int:
    """Write one chunk of packets (time-ordered rows) and return its byte count."""
    size = rows["size"]
    rec_len = 16 + size
    offset = np.concatenate(([0], np.cumsum(rec_len)[:-1]))
    buf = np.zeros(int(rec_len.sum()), np.uint8)
    for v6 in (False, True):
        for kind in range(5):
            mask = (rows["ipv6"] == v6) & (rows["kind"] == kind)
            if not mask.any():
                continue
            group = {k: v[mask] for k, v in rows.items()}
            mat, head = build_group(group, v6, kind)
            buf[offset[mask][:, None] + np.arange(head)] = mat
    out.write(buf.tobytes())
    return len(buf)


def write_capture(path: Path, spec: dict) -> dict:
    rng = np.random.default_rng(spec["seed"])
    fl = flow_table(rng, spec)
    pk = packet_table(rng, spec, fl)
    ip_len = np.where(fl["ipv6"], 40, 20)
    min_size = np.maximum(
        SMALL_FRAME, 14 + ip_len + np.array([L4_MIN[k] for k in range(5)])[fl["kind"]]
    )
    pk["size"] = np.maximum(pk["size"], min_size[pk["flow"]])

    tmp = path.with_suffix(".tmp")
    total = 0
    with open(tmp, "wb") as out:
        out.write(np.array([0xA1B2C3D4], "<u4").tobytes())
        out.write(np.array([2, 4], "<u2").tobytes())
        out.write(np.array([0, 0, 65535, 1], "<u4").tobytes())  # zone, sigfigs, snaplen, Ethernet
        total += 24
        n = len(pk["flow"])
        for lo in range(0, n, CHUNK_PACKETS):
            sl = slice(lo, min(n, lo + CHUNK_PACKETS))
            f = pk["flow"][sl]
            rows = {k: v[sl] for k, v in pk.items() if k != "flow"}
            for key in (
                "ipv6",
                "kind",
                "server_port",
                "client_port",
                "client_host",
                "server_host",
                "seq",
            ):
                rows[key] = fl[key][f]
            total += write_chunk(out, rows)
    tmp.replace(path)
    kinds = np.bincount(fl["kind"][pk["flow"]], minlength=5)
    return {
        "spec": spec,
        "packets": int(len(pk["flow"])),
        "flows": int(len(fl["count"])),
        "bytes": total,
        "mean_frame": float(pk["size"].mean()),
        "ipv6_packets": int(fl["ipv6"][pk["flow"]].sum()),
        "packets_by_kind": {KIND_NAMES[k]: int(kinds[k]) for k in range(5)},
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"captures to make, of {', '.join(SPECS)} (default: all)",
    )
    ap.add_argument("--quick", action="store_true", help=f"1/{QUICK_DIVISOR} of the packets")
    ap.add_argument("--force", action="store_true", help="rebuild even if present")
    args = ap.parse_args(argv)
    unknown = sorted(set(args.names) - set(SPECS))
    if unknown:
        ap.error(f"unknown capture {', '.join(unknown)}")
    for name in args.names or SPECS:
        if args.force:
            capture_path(name, args.quick).with_suffix(".json").unlink(missing_ok=True)
        path, meta = ensure(name, args.quick)
        print(f"{path}  {meta['packets']:,} packets  {meta['bytes'] / 1e6:,.0f} MB")


if __name__ == "__main__":
    main()
