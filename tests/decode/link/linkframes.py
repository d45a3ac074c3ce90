"""Frames and expectations the link-layer tests share: the IPv4 and IPv6 packets
each link header carries, what the decoder must see in them, link-type numbers, and
builders of the headers scapy has no layer for."""

from __future__ import annotations

import struct

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import LLC, SNAP
from scapy.packet import Raw

A4, B4 = "192.0.2.1", "198.51.100.2"
A6, B6 = "2001:db8::1", "2001:db8:0:1::2"
SPORT, DPORT = 40000, 53
IP4 = bytes(IP(src=A4, dst=B4) / UDP(sport=SPORT, dport=DPORT) / Raw(b"payload!"))
IP6 = bytes(IPv6(src=A6, dst=B6) / UDP(sport=SPORT, dport=DPORT) / Raw(b"payload!"))
#: what the decoder must see in a frame carrying IP4 / IP6
V4 = ("ports", 4, A4, B4, "udp", SPORT, DPORT, None)  # tests/decode/conftest.Seen
V6 = ("ports", 6, A6, B6, "udp", SPORT, DPORT, None)
MAC = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}
NON_IP = ("non-ip", 0, None, None, None, 0, 0, None)
MALFORMED = ("malformed", 0, None, None, None, 0, 0, None)

LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_PPP, LINKTYPE_RAW = 0, 1, 9, 101
LINKTYPE_PPP_HDLC, LINKTYPE_C_HDLC, LINKTYPE_IEEE802_11, LINKTYPE_LOOP = 50, 104, 105, 108
LINKTYPE_SLL, LINKTYPE_PFLOG, LINKTYPE_RADIOTAP, LINKTYPE_PPI = 113, 117, 127, 192
LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_NFLOG, LINKTYPE_SLL2 = 228, 229, 239, 276
LINKTYPE_PRISM, LINKTYPE_AVS, LINKTYPE_PPP_WITH_DIR = 119, 163, 204


def prism_header(code: int = 0x44, msglen: int = 144, order: str = "<") -> bytes:
    """A Prism header: message code, length, 16-byte device name, ten 12-byte items."""
    items = b"".join(struct.pack(order + "IHHI", 0x1041 + 0x1000 * i, 0, 4, i) for i in range(10))
    return struct.pack(order + "II", code, msglen) + b"wlan0".ljust(16, b"\0") + items


def avs_header(magic: int = 0x80211001, size: int = 64, pad: int | None = None) -> bytes:
    """An AVS header: big-endian magic and length, then `pad` bytes (size - 8 unless given)."""
    return struct.pack(">II", magic, size) + bytes(size - 8 if pad is None else pad)


def pflog_header(family: int, size: int = 48) -> bytes:
    """A pf log header that says it is `size` bytes long (byte 0), padded to a multiple
    of 4, with the address family at byte 1."""
    return bytes([size, family]) + bytes(-(-size // 4) * 4 - 2)


def llc(code: int = 0x0800) -> bytes:
    return bytes(LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=code))


def ipv4_length(total: int, transport: bytes, proto: int = 17) -> bytes:
    """IP4's header (UDP unless proto says) with total length `total`, then `transport`."""
    header = bytearray(bytes(IP(src=A4, dst=B4, proto=proto)))
    header[2:4] = struct.pack(">H", total)
    return bytes(header) + transport


def dot3(length: int, ip_total: int, udp_bytes: int = 8, after: bytes = b"") -> bytes:
    """An 802.3 frame from MAC's source to its destination whose length field says
    `length`: LLC/SNAP (8 bytes), IP4's 20-byte header with total length `ip_total`,
    `udp_bytes` of its UDP header (SPORT -> DPORT), then `after` (padding, an FCS)."""
    udp = struct.pack(">HHHH", SPORT, DPORT, 8, 0)[:udp_bytes]
    return (bytes.fromhex(MAC["dst"].replace(":", "") + MAC["src"].replace(":", ""))
            + struct.pack(">H", length) + llc() + ipv4_length(ip_total, udp) + after)


def decoded_as_listed(decoded, cases: list[tuple[int, bytes, tuple]]) -> None:
    """(link type, frame, what the decoder sees) cases through the decoder, one capture
    per link type: it sees what each case lists."""
    for linktype in dict.fromkeys(lt for lt, _, _ in cases):
        mine = [(f, seen) for lt, f, seen in cases if lt == linktype]
        assert decoded(linktype, [f for f, _ in mine]) == [s for _, s in mine], linktype


def agree_with_tshark(tmp_path, cases: list[tuple[int, bytes, tuple]]) -> None:
    """(link type, frame, what the decoder sees) cases through tshark, one capture per
    link type: its addresses, ports and first VLAN id are the decoder's (none where it
    has none), and it calls malformed what the decoder does (it may call more so: DNS on
    port 53 finds "payload!" malformed), and not what the decoder calls truncated. A
    frame is bytes, or (bytes captured, original length) for one the snaplen cut."""
    from capgen import write_pcap
    from tshark_oracle import oracle

    for linktype in dict.fromkeys(lt for lt, _, _ in cases):
        mine = [(f, seen) for lt, f, seen in cases if lt == linktype]
        path = write_pcap(tmp_path / f"{linktype}.pcap",
                          [(i * 1000, *(f if isinstance(f, tuple) else (f,)))
                           for i, (f, _) in enumerate(mine)], linktype=linktype)
        for row, (_, seen) in zip(oracle(path), mine, strict=True):
            assert (row.src, row.dst, row.src_port or 0, row.dst_port or 0, row.vlan) == (
                seen[2], seen[3], seen[5], seen[6], seen[7]), (linktype, row.number, row.protocols)
            if seen[0] in ("malformed", "truncated"):
                assert row.malformed == (seen[0] == "malformed"), (linktype, row.number,
                                                                     row.protocols)
