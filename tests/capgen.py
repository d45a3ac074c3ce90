"""Tiny capture writers for tests: pcap (µs or ns, either byte order) and pcapng, from
raw frames, plus a hand-written IANA CSV registry whose named ports are certain; and
the tests' two ways of reading a capture back: dpkt's readers for an intact file
(`dpkt_frames`), and `layout`, the one hand-written walker, for the byte offsets of
records and blocks, in damaged files too.

Frames are bytes (or scapy packets, turned into bytes); each comes with its timestamp
in integer nanoseconds. Nothing here depends on portannot.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import dpkt

#: IANA CSV columns, as the registry publishes them
CSV_HEADER = ("Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,"
              "Registration Date,Modification Date,Reference,Service Code,"
              "Unauthorized Use Reported,Assignment Notes")

#: (name, port, transport): the only ports the test registry names. 40500, 49152+,
#: 443/udp and 3306/udp are deliberately left unnamed.
TEST_SERVICES = (
    ("http", 80, "tcp"), ("http", 80, "udp"),
    ("https", 443, "tcp"),
    ("mysql", 3306, "tcp"),
    ("domain", 53, "tcp"), ("domain", 53, "udp"),
    ("m3ua", 2905, "sctp"),
    ("avt-profile-1", 5004, "dccp"),
)


def write_registry(path: Path, services=TEST_SERVICES) -> Path:
    lines = [CSV_HEADER]
    lines += [f"{name},{port},{proto},test service {name},,,,,,,," for name, port, proto in services]
    path.write_text("\n".join(lines) + "\n")
    return path


def _bytes(frame) -> bytes:
    return frame if isinstance(frame, (bytes, bytearray)) else bytes(frame)


def write_pcap(path: Path, frames, *, linktype: int = 1, nsec: bool = False,
               big_endian: bool = False, snaplen: int = 262144) -> Path:
    """frames: iterable of (ts_ns, frame) or (ts_ns, frame, original_length)."""
    e = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nsec else 0xA1B2C3D4
    out = [struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for item in frames:
        ts, frame = item[0], _bytes(item[1])
        orig = item[2] if len(item) > 2 else len(frame)
        sec, frac = divmod(ts, 1_000_000_000)
        if not nsec:
            frac //= 1000
        out.append(struct.pack(e + "IIII", sec, frac, len(frame), orig))
        out.append(frame)
    path.write_bytes(b"".join(out))
    return path


def _block(btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def write_pcapng(path: Path, frames, *, linktypes=(1,)) -> Path:
    """Little-endian pcapng, one section, one IDB per linktype (µs resolution, the
    default); frames: (ts_ns, frame, interface)."""
    out = [_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))]
    for lt in linktypes:
        out.append(_block(1, struct.pack("<HHI", lt, 0, 262144)))
    for ts, frame, iface in frames:
        frame = _bytes(frame)
        t = ts // 1000
        out.append(_block(6, struct.pack("<IIIII", iface, t >> 32, t & 0xFFFFFFFF, len(frame),
                                         len(frame)) + frame))
    path.write_bytes(b"".join(out))
    return path


def write_pcapng_ticks(path: Path, tsresol: int, ticks: list[int], frame=None) -> Path:
    """A pcapng of one interface whose `if_tsresol` byte is `tsresol`, one frame (a UDP
    datagram unless given) per tick count, each the EPB's raw 64-bit timestamp as
    written: write_pcapng writes microseconds only."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    frame = _bytes(frame if frame is not None else
                   Ether() / IP(src="192.0.2.1", dst="198.51.100.2") / UDP(sport=43000, dport=53))
    option = struct.pack("<HHB3x", 9, 1, tsresol) + struct.pack("<HH", 0, 0)
    out = [_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)),
           _block(1, struct.pack("<HHI", 1, 0, 0) + option)]
    out += [_block(6, struct.pack("<IIIII", 0, t >> 32, t & 0xFFFFFFFF, len(frame), len(frame))
                   + frame) for t in ticks]
    path.write_bytes(b"".join(out))
    return path


def big_capture(path: Path, demo: Path, *, copies: int = 200, udp_flows: int = 2000) -> Path:
    """A capture whose outputs run to megabytes, for the write-failure tests: demo.pcap's
    records `copies` times (many packet rows; as flows they fold into demo's own, the
    copies' SYNs repeating the same numbers), then `udp_flows` one-packet UDP flows
    from distinct source ports (many flow rows)."""
    data = demo.read_bytes()
    assert data[:4] == b"\xd4\xc3\xb2\xa1", "demo.pcap is a little-endian microsecond pcap"
    records = [data[24:] * copies]
    for i in range(udp_flows):
        udp = dpkt.udp.UDP(sport=10000 + i, dport=53, data=b"q")
        ip = dpkt.ip.IP(src=bytes([192, 0, 2, 1]), dst=bytes([198, 51, 100, 53]),
                        p=dpkt.ip.IP_PROTO_UDP, data=udp)
        frame = bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, data=ip))
        records.append(struct.pack("<IIII", 1704070800 + i, 0, len(frame), len(frame)) + frame)
    path.write_bytes(data[:24] + b"".join(records))
    return path


def dccp_header(sport: int, dport: int, ptype: int = 0, seq: int = 1) -> bytes:
    """A 16-byte DCCP generic header (X=1, 48-bit sequence number), checksum left 0
    (portannot, like tshark, reads the ports whatever the checksum)."""
    return struct.pack("!HHBBHBBHI", sport, dport, 4, 0, 0, (ptype << 1) | 1, 0,
                       seq >> 32, seq & 0xFFFFFFFF)


# ---------------------------------------------------------------- reading back


def dpkt_frames(path) -> list[tuple[float, bytes]]:
    """(timestamp, frame) of every packet record of an intact pcap or pcapng file, as
    dpkt reads them (its pcapng reader knows one section and one byte order only)."""
    with open(path, "rb") as f:
        reader_class = dpkt.pcapng.Reader if f.read(4) == SHB else dpkt.pcap.Reader
        f.seek(0)
        return [(ts, bytes(buf)) for ts, buf in reader_class(f)]


#: pcap magic -> (byte order, record header length): µs, ns, and the 24-byte record
#: headers of Kuznetzov's modified pcap
PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1": ("<", 16), b"\x4d\x3c\xb2\xa1": ("<", 16),
               b"\x34\xcd\xb2\xa1": ("<", 24), b"\xa1\xb2\xc3\xd4": (">", 16),
               b"\xa1\xb2\x3c\x4d": (">", 16), b"\xa1\xb2\xcd\x34": (">", 24)}
SHB = b"\x0a\x0d\x0d\x0a"
#: pcapng block types that hold a packet: the obsolete Packet Block, the Simple and
#: the Enhanced Packet Block
PACKET_BLOCKS = (2, 3, 6)


@dataclass
class Layout:
    """Where the records (pcap) or blocks (pcapng) of a capture are, as far as they parse."""

    kind: str  #: 'pcap', 'pcapng' or 'other'
    order: str = "<"  #: pcap: the file's byte order
    header: int = 0  #: pcap file header length
    hdr_len: int = 16  #: pcap record header length
    spans: list[tuple[int, int]] = field(default_factory=list)  #: (start, end) per record/block
    types: list[int] = field(default_factory=list)  #: pcapng: type of each block
    orders: list[str] = field(default_factory=list)  #: pcapng: byte order of each block

    @property
    def records(self) -> list[tuple[int, int]]:
        """(start, end) of every packet record: a pcap record, a pcapng packet block."""
        if self.kind == "pcap":
            return list(self.spans)
        return [s for s, t in zip(self.spans, self.types) if t in PACKET_BLOCKS]


def layout(data: bytes, limit: int | None = None) -> Layout:
    """Walk a pcap or pcapng file by its length fields, stopping at the first record or
    block that does not fit (a pcapng length below 12, not a multiple of 4, or past the
    end) or after `limit` of them."""
    magic = data[:4]
    full = (lambda spans: False) if limit is None else (lambda spans: len(spans) >= limit)
    if magic in PCAP_MAGICS:
        e, hdr = PCAP_MAGICS[magic]
        lay = Layout("pcap", e, 24, hdr)
        off = 24
        while off + hdr <= len(data) and not full(lay.spans):
            end = off + hdr + struct.unpack_from(e + "I", data, off + 8)[0]
            if end > len(data):
                break
            lay.spans.append((off, end))
            off = end
        return lay
    if magic == SHB:
        lay = Layout("pcapng")
        off, e = 0, "<"
        while off + 12 <= len(data) and not full(lay.spans):
            if data[off:off + 4] == SHB:
                e = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            btype, blen = struct.unpack_from(e + "II", data, off)
            if blen < 12 or blen % 4 or off + blen > len(data):
                break
            lay.spans.append((off, off + blen))
            lay.types.append(btype)
            lay.orders.append(e)
            off += blen
        return lay
    return Layout("other")
