"""Tiny capture writers for tests: pcap (µs or ns, either byte order) and pcapng, from
raw frames, plus a hand-written IANA CSV registry whose named ports are certain.

Frames are bytes (or scapy packets, turned into bytes); each comes with its timestamp
in integer nanoseconds. Nothing here depends on portannot.
"""

from __future__ import annotations

import struct
from pathlib import Path

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


def dccp_header(sport: int, dport: int, ptype: int = 0, seq: int = 1) -> bytes:
    """A 16-byte DCCP generic header (X=1, 48-bit sequence number), checksum left 0
    (portannot, like tshark, reads the ports whatever the checksum)."""
    return struct.pack("!HHBBHBBHI", sport, dport, 4, 0, 0, (ptype << 1) | 1, 0,
                       seq >> 32, seq & 0xFFFFFFFF)
