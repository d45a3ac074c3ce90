"""tshark as the reference decoder: what portannot must report for every frame.

One tshark run per capture (defragmentation and TCP reassembly off), fields printed
with every occurrence (``-E occurrence=a``). From ``frame.protocols`` (e.g.
``eth:ethertype:ip:icmp:ip:udp``) we find the OUTERMOST IP layer, skip the IPv6
extension headers that follow it, and look at the next layer: if that is
tcp/udp/sctp/dccp and tshark decoded its ports, those are the packet's ports. The
outermost layers always own the first occurrence of each field, so ports quoted
inside an ICMP error (``ip:icmp:ip:udp``) or carried by a tunnel (``ip:gre:ip:tcp``,
``ip:ipv6:tcp``) are never taken, while the outer UDP of VXLAN/GTP/Geneve is.

Non-packet records that tshark numbers as frames (pcapng Custom Blocks show up as
"data" frames without an interface or encapsulation) are dropped, so ``number``
counts packet records only, like capinfos and portannot.

Compressed captures (gzip, bzip2, xz, zstd, LZ4: tests/packing.py, told by the file
name's suffix) are decompressed to a cache file first (tshark 4.0 reads gzip, zstd and
LZ4 itself, not bzip2 or xz: one path for all).

Results are cached in memory and on disk (``.pytest_cache/tshark-oracle`` of the repo)
keyed by (path, size, mtime), so only changed captures run tshark again.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

from packing import UNPACK

TSHARK = shutil.which("tshark")
CAPINFOS = shutil.which("capinfos")

REPO = Path(__file__).resolve().parents[1]
CACHE_DIR = REPO / ".pytest_cache" / "tshark-oracle"
CACHE_VERSION = "19"

TRANSPORTS = ("tcp", "udp", "sctp", "dccp")

#: frame.protocols names of IPv6 extension headers that sit between the IPv6 header
#: and the transport (AH is skipped too: its payload is the transport). Shim6 is its
#: own protocol to tshark, "shim6"; HIP ("hip") it never walks past.
IPV6_EXT = frozenset({
    "ipv6.hopopts", "ipv6.routing", "ipv6.fraghdr", "ipv6.dstopts", "shim6", "ah",
})

FIELDS = (
    "frame.number", "frame.time_epoch", "frame.len", "frame.cap_len", "frame.encap_type", "frame.protocols",
    "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
    "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
    "sctp.srcport", "sctp.dstport", "dccp.srcport", "dccp.dstport", "tcp.flags", "tcp.seq_raw",
    "ip.version", "ip.proto", "ip.id", "ip.flags.mf", "ip.frag_offset", "ip.len", "ip.hdr_len",
    "ipv6.nxt", "ipv6.fraghdr.ident", "ipv6.fraghdr.offset", "ipv6.fraghdr.more", "ipv6.plen",
    "ipv6.hopopts.len_oct", "ipv6.routing.len_oct", "ipv6.dstopts.len_oct", "ah.length",
    "vlan.id", "ieee8021ad",
    "_ws.malformed", "_ws.expert.message",
    "ipv6.routing.type", "ipv6.routing.segleft", "ipv6.routing.len", "ipv6.routing.src.addr",
    "ipv6.routing.mipv6.home_address", "ipv6.routing.srh.addr",
)

#: frame.protocols names of the tags and type fields that may follow the link header
#: before the network layer (the outer tag stack)
TAG_STACK = frozenset({"ethertype", "vlan", "ieee8021ad"})

#: frame.protocols names of the layers tshark shows before the link header itself: radio
#: headers (radiotap, Prism, AVS's wlancap, PPI), the radio information it adds before
#: an 802.11 frame (wlan_radio), and PPI's pseudo-layer before an Ethernet frame
BEFORE_LINK = frozenset({"radiotap", "prism", "wlancap", "ppi", "wlan_radio", "pcap_pktdata"})

PREFS = (
    "ip.defragment:FALSE", "ipv6.defragment:FALSE",
    "tcp.desegment_tcp_streams:FALSE", "tcp.analyze_sequence_numbers:FALSE",
)


@dataclass(frozen=True)
class OracleRow:
    """tshark's view of one packet record, reduced to what portannot reports."""

    number: int  #: 1-based, packet records only (portannot's `number`)
    #: tshark's frame.number, what `tshark -Y frame.number==N` selects: it counts the
    #: records tshark shows that are not packets too (a pcapng Custom Block is a frame
    #: of 'data' to it), so it runs ahead of `number` after each of them
    frame: int
    ts_ns: int | None  #: frame.time_epoch in nanoseconds; None for a pcapng Simple Packet Block
    length: int  #: frame.len (original length)
    caplen: int
    protocols: str  #: frame.protocols
    ip_version: int  #: 0 (no IP layer decoded), 4 or 6: the outermost IP layer
    src: str | None  #: outermost IP source, canonical text; None if tshark has none
    dst: str | None  #: its final destination (see final_ipv6_destination)
    next_layer: str | None  #: frame.protocols name after the outer IP (and IPv6 ext headers)
    transport: str | None  #: tcp/udp/sctp/dccp if tshark decoded that header's ports
    src_port: int | None
    dst_port: int | None
    tcp_flags: int | None  #: flags of that TCP header, when tshark decoded them
    tcp_seq: int | None  #: its sequence number as sent (tcp.seq_raw), when tshark shows it
    vlan: int | None  #: id of the outermost VLAN tag right after the link header
    frag_key: tuple | None  #: outer-IP fragment identity, None if not a fragment
    #: offset of this fragment in 8-byte units, as -T fields prints ip.frag_offset and
    #: ipv6.fraghdr.offset (0 for first fragments / whole packets)
    frag_offset: int
    frag_more: bool
    #: the fragment's payload by the IP length fields (IPv4: ip.len - ip.hdr_len; IPv6:
    #: ipv6.plen less the extension headers up to the Fragment header's end), None for
    #: a whole packet or where tshark does not give the lengths
    frag_payload: int | None
    malformed: bool  #: tshark flagged the frame malformed (exception or bogus header)
    expert: str  #: tshark's expert messages, for diagnostics

    @property
    def is_ip(self) -> bool:
        return self.ip_version != 0

    @property
    def is_fragment(self) -> bool:
        return self.frag_key is not None

    @property
    def is_later_fragment(self) -> bool:
        return self.frag_key is not None and self.frag_offset > 0

    @property
    def is_first_fragment(self) -> bool:
        return self.frag_key is not None and self.frag_offset == 0

    def flow_end(self, which: str) -> tuple[str, int]:
        if which == "src":
            return (self.src, self.src_port)
        return (self.dst, self.dst_port)


# --------------------------------------------------------------------------- helpers

def canon_addr(text: str) -> str:
    """Canonical text of an IPv4/IPv6 address, as tshark writes it (inet_ntop: an IPv6
    address embedding an IPv4 one ends dotted, ::ffff:192.0.2.1; Python's ipaddress
    writes ::ffff:c000:201 before 3.13). An IPv4-mapped address stays IPv6: it is
    another packet's address than the IPv4 one."""
    a = ipaddress.ip_address(text.strip())
    if a.version == 6:
        return socket.inet_ntop(socket.AF_INET6, a.packed)
    return str(a)


def addr_from_bytes(b16, ip_version: int) -> str | None:
    """Text of portannot's 16-byte address column (IPv4 stored as ::ffff:a.b.c.d)."""
    raw = bytes(bytearray(b16))
    if ip_version == 4:
        return str(ipaddress.IPv4Address(raw[12:16]))
    if ip_version == 6:
        return canon_addr(str(ipaddress.IPv6Address(raw)))
    return None


def _key(path: Path) -> str:
    st = path.stat()
    h = hashlib.sha1(f"{CACHE_VERSION}|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()


def plain_capture(path: str | os.PathLike) -> Path:
    """The path tshark/capinfos should read: the file itself, or its decompressed copy."""
    path = Path(path)
    suffix = next((s for s in UNPACK if path.name.endswith(s)), None)
    if suffix is None:
        return path
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    out = CACHE_DIR / f"{_key(path)}.{path.name[:-len(suffix)].rsplit('.', 1)[-1]}"
    if not out.exists():
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(UNPACK[suffix](path.read_bytes()))
        tmp.replace(out)
    return out


def _ints(s: str) -> list[int]:
    return [int(x, 0) for x in s.split(",") if x != ""] if s else []


def _strs(s: str) -> list[str]:
    return [x for x in s.split(",") if x != ""] if s else []


def _flag(s: str) -> list[bool]:
    return [x.strip().lower() in ("1", "true") for x in s.split(",") if x != ""] if s else []


def _first(values: list, i: int = 0):
    return values[i] if len(values) > i else None


def parse_line(cols: dict[str, str], number: int) -> OracleRow:
    protos = cols["frame.protocols"].split(":") if cols["frame.protocols"] else []
    ip_version, src, dst = 0, None, None
    next_layer = transport = None
    sport = dport = flags = seq = None
    frag_key, frag_offset, frag_more, frag_payload = None, 0, False, None

    ip_at = next((i for i, p in enumerate(protos) if p in ("ip", "ipv6")), None)
    if (ip_at is not None and protos[ip_at] == "ip" and protos[ip_at + 1 : ip_at + 2] == ["ipv6"]
            and _first(_ints(cols["ip.version"])) == 6):
        # an IPv6 header under an IPv4 type: tshark's ip shows the version, 6, and hands it
        # to ipv6 (an ip.src there is an IPv4 header's inside it, IP-in-IPv6)
        ip_at += 1
    if ip_at is not None:
        outer = protos[ip_at]
        ip_version = 4 if outer == "ip" else 6
        # the outermost layer of each kind owns the first occurrence of its fields
        n_same_before = protos[:ip_at].count(outer)  # always 0; kept for clarity
        pre = "ip" if ip_version == 4 else "ipv6"
        srcs, dsts = _strs(cols[f"{pre}.src"]), _strs(cols[f"{pre}.dst"])
        if len(srcs) > n_same_before and len(dsts) > n_same_before:
            src, dst = canon_addr(srcs[n_same_before]), canon_addr(dsts[n_same_before])
        j = ip_at + 1
        has_fraghdr = has_routing = False
        if ip_version == 6:
            while j < len(protos) and protos[j] in IPV6_EXT:
                has_fraghdr |= protos[j] == "ipv6.fraghdr"
                has_routing |= protos[j] == "ipv6.routing"
                j += 1
            if has_routing and dst is not None:
                dst = final_ipv6_destination(cols) or dst
        else:  # transport-mode IPsec: AH between IPv4 and the transport
            while j < len(protos) and protos[j] == "ah":
                j += 1
        next_layer = protos[j] if j < len(protos) else None
        if next_layer in TRANSPORTS:
            k = protos[:j].count(next_layer)
            sp = _ints(cols[f"{next_layer}.srcport"])
            dp = _ints(cols[f"{next_layer}.dstport"])
            if len(sp) > k and len(dp) > k:
                transport, sport, dport = next_layer, sp[k], dp[k]
            if next_layer == "tcp":
                flags = _first(_ints(cols["tcp.flags"]), k)
                seq = _first(_ints(cols["tcp.seq_raw"]), k)
        # fragments of the outermost IP header
        if ip_version == 4 and src is not None:
            off = _first(_ints(cols["ip.frag_offset"]))
            mf = _first(_flag(cols["ip.flags.mf"]))
            ident = _first(_ints(cols["ip.id"]))
            proto = _first(_ints(cols["ip.proto"]))
            if off is not None and mf is not None and (off > 0 or mf):
                frag_key, frag_offset, frag_more = (4, src, dst, proto, ident), off, mf
                total = _first(_ints(cols["ip.len"]))
                header = _first(_ints(cols["ip.hdr_len"]))
                if total and header is not None and total >= header:
                    frag_payload = total - header
        elif ip_version == 6 and src is not None and has_fraghdr:
            off = _first(_ints(cols["ipv6.fraghdr.offset"]))
            more = _first(_flag(cols["ipv6.fraghdr.more"]))
            ident = _first(_ints(cols["ipv6.fraghdr.ident"]))
            if off is not None and more is not None and (off > 0 or more):
                frag_key, frag_offset, frag_more = (6, src, dst, ident), off, more
                frag_payload = ipv6_fragment_payload(protos, ip_at, cols)

    vlan = outer_vlan(protos, cols)
    expert = cols.get("_ws.expert.message", "")
    malformed = bool(cols.get("_ws.malformed")) or any(
        w in expert for w in ("Malformed", "Bogus", "Bad length", "Bad header length"))
    return OracleRow(
        number=number, frame=int(cols["frame.number"]), ts_ns=epoch_ns(cols["frame.time_epoch"]), length=int(cols["frame.len"]),
        caplen=int(cols["frame.cap_len"]),
        protocols=cols["frame.protocols"], ip_version=ip_version if src is not None else 0,
        src=src, dst=dst, next_layer=next_layer, transport=transport, src_port=sport,
        dst_port=dport, tcp_flags=flags, tcp_seq=seq, vlan=vlan, frag_key=frag_key, frag_offset=frag_offset,
        frag_more=frag_more, frag_payload=frag_payload,
        malformed=malformed, expert=expert,
    )


#: the -T fields field holding each IPv6 extension header's length, and its unit: bytes
#: (len_oct), or AH's 4-byte words less 2
EXT_LENGTH = {"ipv6.hopopts": "ipv6.hopopts.len_oct", "ipv6.routing": "ipv6.routing.len_oct",
              "ipv6.dstopts": "ipv6.dstopts.len_oct", "ah": "ah.length"}


def ipv6_fragment_payload(protos: list[str], ip_at: int, cols: dict[str, str]) -> int | None:
    """Bytes after the outermost IPv6 header's Fragment header, by ipv6.plen: the
    payload less the extension headers before the Fragment header and its own 8 bytes.
    None for a payload length of 0 (jumbo or TSO) or a header before the Fragment header
    whose length tshark does not give."""
    plen = _first(_ints(cols["ipv6.plen"]))
    if not plen:
        return None
    used = 0
    for j in range(ip_at + 1, len(protos)):
        name = protos[j]
        if name == "ipv6.fraghdr":
            return plen - used - 8
        if name not in EXT_LENGTH:
            return None
        size = _first(_ints(cols[EXT_LENGTH[name]]), protos[:j].count(name))
        if size is None:
            return None
        used += (size + 2) * 4 if name == "ah" else size
    return None


def final_ipv6_destination(cols: dict[str, str]) -> str | None:
    """Where the outermost IPv6 header's routing header sends the packet when it has
    segments left, as tshark's conversations (and the transport checksum) key it: a type 0
    source route's last address, Mobile IPv6's (type 2) home address, a segment routing
    header's (type 4) Segment List[0]. ipv6.dst is the header's, the next hop. None when
    there is no such address. The outermost header's routing header is the first in the
    frame, so its fields come first; RPL (type 3) is left out on purpose (README: its
    compressed addresses are not read). With two routing headers in one chain (which RFC
    8200 forbids) only the first counts here."""
    kind = _first(_ints(cols["ipv6.routing.type"]))
    segleft = _first(_ints(cols["ipv6.routing.segleft"]))
    if not segleft:
        return None
    if kind == 0:
        count = (_first(_ints(cols["ipv6.routing.len"])) or 0) // 2
        route = _strs(cols["ipv6.routing.src.addr"])
        return canon_addr(route[count - 1]) if 0 < count <= len(route) else None
    field = {2: "ipv6.routing.mipv6.home_address", 4: "ipv6.routing.srh.addr"}.get(kind)
    first = _first(_strs(cols[field])) if field else None
    return canon_addr(first) if first else None


def epoch_ns(text: str) -> int | None:
    """frame.time_epoch ("1704067200.010000000") as integer nanoseconds, exactly. None
    where tshark shows no time (a Simple Packet Block has none) or prints an invalid
    nanosecond field as it is ("1418145370.1000000000", more than 9 digits)."""
    if not text or len(text.partition(".")[2]) > 9:
        return None
    return int(Decimal(text).scaleb(9))


#: the id of an 802.1ad layer in its summary (the ``ieee8021ad`` field): "ID: 10" for one
#: tag, "S-VID: 10, C-VID: 20" where tshark reads a second 802.1ad tag (0x88a8 twice) into
#: the same layer, which then has ieee8021ad.svid and .cvid and no ieee8021ad.id, and
#: "IEEE 802.1ah, B-VID: 100, I-SID: ..." where an 802.1ah I-TAG follows the tag
SERVICE_TAG_ID = re.compile(r"\b(?:S-VID|B-VID|ID): (\d+)")


def outer_vlan(protos: list[str], cols: dict[str, str]) -> int | None:
    """The id of the first tag (802.1Q or 802.1ad) of the tag stack that follows the
    link header; tags further in (inside MPLS pseudowires, tunnels) are not the frame's.
    An LLC/SNAP header naming the tag's ethertype (after an 802.3 length or ethertype
    0x8870, where tshark shows `eth:llc:vlan`) is the link's, as a type field is: the tag
    after it is the frame's first (it was read as none, where tshark shows its vlan.id).
    An 802.1ad layer's id is read from its summary: the id fields of a single and a
    double layer (ieee8021ad.id, .svid) are counted apart, so neither's first value
    says which layer comes first. The link header is the first layer that is not a radio
    header or a pseudo-layer before it (BEFORE_LINK): behind radiotap the stack starts
    after `radiotap:wlan_radio:wlan`, not after `radiotap` (it was read as none there)."""
    link = next((i for i, name in enumerate(protos) if name not in BEFORE_LINK), len(protos))
    for name in protos[link + 1:]:
        if name == "llc":
            continue
        if name not in TAG_STACK:
            return None
        if name == "vlan":
            return _first(_ints(cols["vlan.id"]))  # the first of its kind: nothing precedes it
        if name == "ieee8021ad":
            found = SERVICE_TAG_ID.search(cols["ieee8021ad"])
            return int(found.group(1)) if found else None
    return None


def _run_tshark(path: Path) -> list[OracleRow]:
    if TSHARK is None:
        raise RuntimeError("tshark not found on PATH")
    cmd = [TSHARK, "-n", "-r", str(path)]
    for p in PREFS:
        cmd += ["-o", p]
    cmd += ["-T", "fields", "-E", "occurrence=a", "-E", "separator=/t", "-E", "aggregator=,",
            "-E", "quote=n"]
    for f in FIELDS:
        cmd += ["-e", f]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    # exit 2 = the file ended mid-record: the complete records were still printed
    if proc.returncode not in (0, 2):
        raise RuntimeError(f"tshark failed on {path}: {proc.stderr.strip()}")
    rows = []
    for line in proc.stdout.splitlines():
        parts = line.split("\t")
        parts += [""] * (len(FIELDS) - len(parts))
        cols = dict(zip(FIELDS, parts[: len(FIELDS)], strict=True))
        if not cols["frame.encap_type"]:  # pcapng Custom Block etc.: not a packet record
            continue
        rows.append(parse_line(cols, len(rows) + 1))
    return rows


_MEMO: dict[str, list[OracleRow]] = {}


def _from_json(d: dict) -> OracleRow:
    d = dict(d)
    d["frag_key"] = tuple(d["frag_key"]) if d["frag_key"] is not None else None
    return OracleRow(**d)


def oracle(path: str | os.PathLike) -> list[OracleRow]:
    """tshark's per-frame view of a capture (cached)."""
    path = Path(path)
    key = _key(path)
    if key in _MEMO:
        return _MEMO[key]
    cache = CACHE_DIR / f"{key}.json"
    rows = None
    if cache.exists():
        try:
            rows = [_from_json(d) for d in json.loads(cache.read_text())]
        except (ValueError, TypeError, KeyError):
            rows = None
    if rows is None:
        rows = _run_tshark(plain_capture(path))
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps([asdict(r) for r in rows]))
        tmp.replace(cache)
    _MEMO[key] = rows
    return rows


def prefetch(paths, workers: int | None = None) -> None:
    """Run tshark on several captures in parallel (fills the caches)."""
    todo = [p for p in paths if _key(Path(p)) not in _MEMO]
    if not todo:
        return
    with ThreadPoolExecutor(max_workers=workers or max(2, os.cpu_count() or 2)) as ex:
        list(ex.map(oracle, todo))


def conversations(path: str | os.PathLike, transports=("tcp", "udp"), exclude: str = "",
                  ) -> dict[tuple, dict[tuple[str, int], int]]:
    """tshark's own conversation tables (``-q -z conv,tcp -z conv,udp``, not built from
    the per-frame fields): (transport, {end, end}) -> {end: frames it sent}, an end being
    (canonical address, port). `exclude` is a display filter of frames to leave out."""
    if TSHARK is None:
        raise RuntimeError("tshark not found on PATH")
    cmd = [TSHARK, "-n", "-q", "-r", str(plain_capture(path))]
    for t in transports:
        cmd += ["-z", f"conv,{t}" + (f",!({exclude})" if exclude else "")]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    convs: dict[tuple, dict[tuple[str, int], int]] = {}
    transport = None
    for line in out.splitlines():
        if line.endswith("Conversations"):
            transport = line.split()[0].lower()
        elif "<->" in line and transport:
            # A <-> B | frames, bytes B sent (<-) | frames, bytes A sent (->) | ...
            a, _, b, from_b, _, _, from_a = line.split()[:7]
            (ha, pa), (hb, pb) = a.rsplit(":", 1), b.rsplit(":", 1)
            end_a, end_b = (canon_addr(ha), int(pa)), (canon_addr(hb), int(pb))
            convs[flow_key(transport, end_a, end_b)] = {end_a: int(from_a), end_b: int(from_b)}
    return convs


def capinfos_count(path: str | os.PathLike) -> int:
    """Packet count according to capinfos (-c -M -T); records before a mid-record cut."""
    if CAPINFOS is None:
        raise RuntimeError("capinfos not found on PATH")
    plain = plain_capture(path)
    proc = subprocess.run([CAPINFOS, "-c", "-M", "-T", "-r", str(plain)], capture_output=True,
                          text=True, check=False)
    last = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if not last:
        raise RuntimeError(f"capinfos failed on {path}: {proc.stderr.strip()}")
    return int(last[-1].split("\t")[-1])


# --------------------------------------------------------------------------- derived views

def attribute_fragments(rows: list[OracleRow]) -> dict[int, tuple[str, int, int]]:
    """Frame number -> (transport, src_port, dst_port) for later fragments whose first
    fragment (offset 0, same outer-IP fragment identity) appeared earlier in the file.

    The most recent first fragment with that identity names the datagram (one that
    tshark shows without ports, a datagram without). Once a later fragment of it with
    MF=0, its last, has come, the datagram ends at that fragment's offset plus its
    payload (the first such fragment decides), and a later fragment that starts there
    or beyond is another datagram's with the same identification, whose first fragment
    was not seen."""
    first: dict[tuple, list] = {}  # identity -> [ports, where the datagram ends or None]
    out = {}
    for r in rows:
        if r.frag_key is None:
            continue
        start = r.frag_offset * 8
        if start == 0:
            if r.transport is not None:
                first[r.frag_key] = [(r.transport, r.src_port, r.dst_port), None]
            else:
                first.pop(r.frag_key, None)
            continue
        datagram = first.get(r.frag_key)
        if datagram is None:
            continue
        ports, end = datagram
        if end is not None and start >= end:
            continue
        out[r.number] = ports
        if not r.frag_more and end is None and r.frag_payload is not None:
            datagram[1] = start + r.frag_payload
    return out


def flow_key(transport: str, a: tuple[str, int], b: tuple[str, int]) -> tuple:
    """Bidirectional flow identity: transport + the unordered pair of (addr, port) ends."""
    return (transport, frozenset((a, b)))


def reference_flows(rows: list[OracleRow]) -> dict[tuple, dict[tuple[str, int], list[int]]]:
    """Flows built from tshark's per-frame fields: key -> {sending end: [packets, bytes]}.
    Later fragments count with their first fragment's flow when that came earlier."""
    frag_ports = attribute_fragments(rows)
    flows: dict[tuple, dict[tuple[str, int], list[int]]] = {}
    for r in rows:
        if r.transport is not None:
            t, sp, dp = r.transport, r.src_port, r.dst_port
        elif r.number in frag_ports:
            t, sp, dp = frag_ports[r.number]
        else:
            continue
        a, b = (r.src, sp), (r.dst, dp)
        ends = flows.setdefault(flow_key(t, a, b), {})
        stat = ends.setdefault(a, [0, 0])
        stat[0] += 1
        stat[1] += r.length
    return flows


def describe(rows: list[OracleRow]) -> str:
    """Readable dump of the oracle's rows (for debugging and for pcaps/README.md)."""
    lines = []
    for r in rows:
        ports = f"{r.transport} {r.src_port}->{r.dst_port}" if r.transport else "-"
        frag = f" frag(off={r.frag_offset},more={int(r.frag_more)})" if r.frag_key else ""
        lines.append(f"{r.number:5d} {r.protocols:45s} {r.src or '-'} -> {r.dst or '-'} "
                     f"{ports}{frag}{' MALFORMED' if r.malformed else ''}")
    return "\n".join(lines)


if __name__ == "__main__":  # python tests/tshark_oracle.py FILE...
    import sys

    for p in sys.argv[1:]:
        print(f"== {p} (capinfos: {capinfos_count(p)})")
        print(describe(oracle(p)))
