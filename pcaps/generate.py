#!/usr/bin/env python3
"""Generate the small test captures in pcaps/ (deterministic, byte-for-byte reproducible).

    python pcaps/generate.py            # rewrite every capture next to this script
    python pcaps/generate.py --out DIR  # write them somewhere else

Packets are built with scapy (plus struct for what scapy lacks: DCCP, malformed
headers, link headers); containers (pcap, pcapng) are written by hand with struct so
every byte is under control. Timestamps are fixed, payloads come from a seeded PRNG,
and compressed copies are written with fixed headers (gzip mtime 0, no file name;
zstd and LZ4 by the codecs pyarrow bundles).
See pcaps/README.md for what each file covers and what tshark says of the damaged ones.
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import io
import lzma
import random
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from scapy.config import conf

conf.verb = 0

from scapy.compat import raw  # noqa: E402
from scapy.contrib.mpls import MPLS  # noqa: E402
from scapy.layers.inet import (  # noqa: E402
    GRE,
    ICMP,
    IP,
    TCP,
    UDP,
    IPOption_LSRR,
    IPOption_NOP,
    IPOption_RR,
    IPOption_SSRR,
    IPOption_Timestamp,
)
from scapy.layers.inet6 import (  # noqa: E402
    MIP6MH_BRR,
    ICMPv6DestUnreach,
    ICMPv6EchoRequest,
    ICMPv6PacketTooBig,
    ICMPv6TimeExceeded,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    IPv6ExtHdrSegmentRouting,
    PadN,
)
from scapy.layers.ipsec import AH  # noqa: E402
from scapy.layers.l2 import ARP, Dot1AD, Dot1Q, Ether  # noqa: E402
from scapy.layers.ppp import PPP, PPP_LCP, PPPoE, PPPoED  # noqa: E402
from scapy.layers.sctp import (  # noqa: E402
    SCTP,
    SCTPChunkCookieAck,
    SCTPChunkCookieEcho,
    SCTPChunkData,
    SCTPChunkInit,
    SCTPChunkInitAck,
    SCTPChunkSACK,
)
from scapy.layers.vxlan import VXLAN  # noqa: E402
from scapy.packet import Raw  # noqa: E402

HERE = Path(__file__).resolve().parent
BASE_TS = 1_704_067_200  # 2024-01-01T00:00:00Z

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"
V4_A, V4_B = "192.0.2.1", "198.51.100.2"
V6_A, V6_B = "2001:db8::1", "2001:db8:1::2"

# link types
LT_NULL, LT_ETHERNET, LT_PPP, LT_RAW, LT_LOOP, LT_SLL = 0, 1, 9, 101, 108, 113
LT_IPV4, LT_IPV6, LT_SLL2 = 228, 229, 276
LT_C_HDLC, LT_IEEE802_11, LT_PFLOG, LT_RADIOTAP, LT_PPI, LT_NFLOG = 104, 105, 117, 127, 192, 239
LT_PRISM, LT_AVS, LT_PPP_WITH_DIR = 119, 163, 204


@dataclass
class Rec:
    """One record: captured bytes, original length, timestamp in ns, interface id."""

    data: bytes
    length: int
    ts_ns: int
    interface: int = 0


def recs(frames: Iterable[bytes], *, start: float = 0.0, step_us: int = 1000,
         caplen: dict[int, int] | None = None) -> list[Rec]:
    """Records at BASE_TS + start, one every step_us; caplen maps index -> cut length."""
    out = []
    t0 = BASE_TS * 10**9 + int(start * 10**9)
    for i, f in enumerate(frames):
        f = bytes(f)
        cut = (caplen or {}).get(i, len(f))
        out.append(Rec(f[:cut], len(f), t0 + i * step_us * 1000))
    return out


# --------------------------------------------------------------------------- containers

def pcap_bytes(records: list[Rec], linktype: int, *, endian: str = "<", nano: bool = False,
               snaplen: int = 65535) -> bytes:
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for r in records:
        sec, frac = divmod(r.ts_ns, 10**9)
        if not nano:
            frac //= 1000
        out.append(struct.pack(endian + "IIII", sec, frac, len(r.data), r.length))
        out.append(r.data)
    return b"".join(out)


def _pad4(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


def _opts(e: str, options: list[tuple[int, bytes]]) -> bytes:
    if not options:
        return b""
    out = b"".join(struct.pack(e + "HH", code, len(v)) + _pad4(v) for code, v in options)
    return out + struct.pack(e + "HH", 0, 0)


def _block(e: str, btype: int, body: bytes) -> bytes:
    body = _pad4(body)
    total = len(body) + 12
    return struct.pack(e + "II", btype, total) + body + struct.pack(e + "I", total)


def shb(e: str, comment: str | None = None) -> bytes:
    opts = [(1, comment.encode())] if comment else []
    return _block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1) + _opts(e, opts))


def idb(e: str, linktype: int, snaplen: int = 0, tsresol: int | None = None,
        tsoffset: int | None = None, name: str | None = None) -> bytes:
    opts = []
    if name:
        opts.append((2, name.encode()))
    if tsresol is not None:
        opts.append((9, bytes([tsresol])))
    if tsoffset is not None:
        opts.append((14, struct.pack(e + "q", tsoffset)))
    return _block(e, 1, struct.pack(e + "HHI", linktype, 0, snaplen) + _opts(e, opts))


def _units(tsresol: int | None) -> int:
    if tsresol is None:
        return 10**6
    if tsresol & 0x80:
        return 2 ** (tsresol & 0x7F)
    return 10**tsresol


def _ticks(ts_ns: int, tsresol: int | None, tsoffset: int) -> int:
    return (ts_ns - tsoffset * 10**9) * _units(tsresol) // 10**9


def epb(e: str, r: Rec, tsresol: int | None = None, tsoffset: int = 0,
        comment: str | None = None) -> bytes:
    t = _ticks(r.ts_ns, tsresol, tsoffset)
    body = struct.pack(e + "IIIII", r.interface, t >> 32, t & 0xFFFFFFFF, len(r.data), r.length)
    body += _pad4(r.data) + _opts(e, [(1, comment.encode())] if comment else [])
    return _block(e, 6, body)


def spb(e: str, r: Rec) -> bytes:
    return _block(e, 3, struct.pack(e + "I", r.length) + r.data)


def opb(e: str, r: Rec, tsresol: int | None = None, tsoffset: int = 0) -> bytes:
    t = _ticks(r.ts_ns, tsresol, tsoffset)
    body = struct.pack(e + "HHIIII", r.interface, 0, t >> 32, t & 0xFFFFFFFF, len(r.data), r.length)
    return _block(e, 2, body + r.data)


def nrb(e: str) -> bytes:
    rec4 = bytes([192, 0, 2, 1]) + b"client.example\0"
    rec6 = bytes.fromhex("20010db8000000000000000000000001") + b"client6.example\0"
    body = struct.pack(e + "HH", 1, len(rec4)) + _pad4(rec4)
    body += struct.pack(e + "HH", 2, len(rec6)) + _pad4(rec6)
    body += struct.pack(e + "HH", 0, 0)
    return _block(e, 4, body)


def isb(e: str, interface: int, ts_ns: int, received: int) -> bytes:
    t = ts_ns // 1000
    body = struct.pack(e + "III", interface, t >> 32, t & 0xFFFFFFFF)
    body += _opts(e, [(4, struct.pack(e + "Q", received)), (5, struct.pack(e + "Q", 0))])
    return _block(e, 5, body)


def custom_block(e: str, copy: bool = True) -> bytes:
    # Custom Block (0x00000BAD copiable / 0x40000BAD not copiable): PEN + opaque data
    return _block(e, 0x00000BAD if copy else 0x40000BAD,
                  struct.pack(e + "I", 32473) + b"portannot custom block")


# --------------------------------------------------------------------------- packet helpers

def _cksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def dccp(sport: int, dport: int, ptype: int, seq: int, ack: int | None = None,
         service: int | None = None, payload: bytes = b"", src: str = V4_A, dst: str = V4_B,
         v6: bool = False) -> bytes:
    """A DCCP packet (RFC 4340) with 48-bit sequence numbers (X=1) and a valid checksum."""
    body = b""
    if ack is not None:
        body += struct.pack("!HHI", 0, ack >> 32, ack & 0xFFFFFFFF)
    if service is not None:
        body += struct.pack("!I", service)
    if ptype == 7:  # Reset: reset code + 3 data bytes
        body += bytes([2, 0, 0, 0])
    doff = (16 + len(body)) // 4
    hdr = struct.pack("!HHBBHBBHI", sport, dport, doff, 0, 0, (ptype << 1) | 1, 0,
                      seq >> 32, seq & 0xFFFFFFFF)
    pkt = hdr + body + payload
    if v6:
        pseudo = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
                  + struct.pack("!I3xB", len(pkt), 33))
    else:
        pseudo = (socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!xBH", 33, len(pkt)))
    c = _cksum(pseudo + pkt)
    return pkt[:6] + struct.pack("!H", c) + pkt[8:]


def eth(payload, etype: int | None = None, src: str = MAC_A, dst: str = MAC_B) -> bytes:
    e = Ether(src=src, dst=dst) if etype is None else Ether(src=src, dst=dst, type=etype)
    return raw(e / payload)


def v4(src: str = V4_A, dst: str = V4_B, **kw) -> IP:
    kw.setdefault("id", 0x1000)
    kw.setdefault("ttl", 64)
    return IP(src=src, dst=dst, **kw)


def v6(src: str = V6_A, dst: str = V6_B, **kw) -> IPv6:
    kw.setdefault("hlim", 64)
    return IPv6(src=src, dst=dst, **kw)


def tcp(sport: int, dport: int, flags: str = "PA", seq: int = 1000, ack: int = 0,
        payload: bytes = b"") -> TCP:
    t = TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack if "A" in flags else 0,
            window=65535)
    return t / Raw(payload) if payload else t


def udp(sport: int, dport: int, payload: bytes = b"") -> UDP:
    u = UDP(sport=sport, dport=dport)
    return u / Raw(payload) if payload else u


def sctp_init(sport: int, dport: int) -> SCTP:
    return SCTP(sport=sport, dport=dport, tag=0) / SCTPChunkInit(
        init_tag=0x11111111, a_rwnd=65535, n_out_streams=2, n_in_streams=2, init_tsn=1)


def ip_tcp_udp_v4v6() -> list:
    """The basic four: IPv4/TCP, IPv4/UDP, IPv6/TCP, IPv6/UDP (as scapy IP layers)."""
    return [
        v4() / tcp(40000, 80, "S"),
        v4() / udp(40001, 53, b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01"),
        v6() / tcp(40002, 443, "S"),
        v6() / udp(40003, 123, b"\x23" + b"\0" * 47),
    ]


# --------------------------------------------------------------------------- captures

def cap_link_ethernet() -> bytes:
    """Ethernet II: plain, 802.1Q, 802.1ad+802.1Q, 0x9100 stacks, ARP, LLDP."""
    ip4t, ip4u, ip6t, ip6u = ip_tcp_udp_v4v6()
    frames = [
        eth(ip4t),
        eth(ip6u),
        raw(Ether(src=MAC_A, dst=MAC_B) / Dot1Q(vlan=10) / ip4u),
        raw(Ether(src=MAC_A, dst=MAC_B) / Dot1Q(vlan=11) / ip6t),
        raw(Ether(src=MAC_A, dst=MAC_B) / Dot1AD(vlan=100) / Dot1Q(vlan=20) / ip4t),
        raw(Ether(src=MAC_A, dst=MAC_B) / Dot1AD(vlan=101) / Dot1Q(vlan=21) / ip6u),
        raw(Ether(src=MAC_A, dst=MAC_B, type=0x9100) / Dot1Q(vlan=200) / Dot1Q(vlan=30) / ip4u),
        raw(Ether(src=MAC_A, dst=MAC_B, type=0x9100) / Dot1Q(vlan=201, type=0x88A8)
            / Dot1Q(vlan=202) / Dot1Q(vlan=31) / ip6t),
        raw(Ether(src=MAC_A, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=MAC_A, psrc=V4_A, pdst=V4_B)),
        raw(Ether(src=MAC_A, dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=10)
            / ARP(op=1, hwsrc=MAC_A, psrc=V4_A, pdst=V4_B)),
        # LLDP (0x88cc): chassis id, port id, TTL, end
        eth(Raw(bytes.fromhex("0207040200000000000a040403313031060200780000")), etype=0x88CC,
            dst="01:80:c2:00:00:0e"),
    ]
    return pcap_bytes(recs(frames), LT_ETHERNET)


def cap_link_mpls() -> bytes:
    """MPLS label stacks (1 and 3 labels) over Ethernet and inside a VLAN, IPv4 and IPv6."""
    ip4t, ip4u, ip6t, ip6u = ip_tcp_udp_v4v6()
    frames = [
        raw(Ether(src=MAC_A, dst=MAC_B, type=0x8847) / MPLS(label=100, s=1, ttl=64) / ip4t),
        raw(Ether(src=MAC_A, dst=MAC_B, type=0x8847) / MPLS(label=101, s=1, ttl=64) / ip6u),
        raw(Ether(src=MAC_A, dst=MAC_B, type=0x8847) / MPLS(label=200, s=0, ttl=64)
            / MPLS(label=201, s=0, ttl=64) / MPLS(label=202, s=1, ttl=64) / ip4u),
        raw(Ether(src=MAC_A, dst=MAC_B, type=0x8847) / MPLS(label=300, s=0, ttl=64)
            / MPLS(label=301, s=0, ttl=64) / MPLS(label=302, s=1, ttl=64) / ip6t),
        raw(Ether(src=MAC_A, dst=MAC_B) / Dot1Q(vlan=5, type=0x8847) / MPLS(label=400, s=1, ttl=64)
            / ip4t),
        # multicast MPLS ethertype 0x8848
        raw(Ether(src=MAC_A, dst=MAC_B, type=0x8848) / MPLS(label=500, s=1, ttl=64) / ip4u),
    ]
    return pcap_bytes(recs(frames), LT_ETHERNET)


def cap_link_pppoe() -> bytes:
    """PPPoE discovery (PADI, PADO) and session frames: LCP (non-IP), IPv4/TCP, IPv6/UDP."""
    ip4t, ip4u, ip6t, ip6u = ip_tcp_udp_v4v6()
    frames = [
        raw(Ether(src=MAC_A, dst="ff:ff:ff:ff:ff:ff") / PPPoED(code=0x09, sessionid=0)
            / Raw(bytes.fromhex("01010000"))),
        raw(Ether(src=MAC_B, dst=MAC_A) / PPPoED(code=0x07, sessionid=0)
            / Raw(bytes.fromhex("010100000102000361636d"))),
        raw(Ether(src=MAC_A, dst=MAC_B) / PPPoE(sessionid=0x11) / PPP(proto=0xC021)
            / PPP_LCP(code=1, id=1)),
        raw(Ether(src=MAC_A, dst=MAC_B) / PPPoE(sessionid=0x11) / PPP(proto=0x0021) / ip4t),
        raw(Ether(src=MAC_A, dst=MAC_B) / PPPoE(sessionid=0x11) / PPP(proto=0x0057) / ip6u),
        raw(Ether(src=MAC_A, dst=MAC_B) / Dot1Q(vlan=7) / PPPoE(sessionid=0x12) / PPP(proto=0x0021)
            / ip4u),
        # the session length (13) ends the PPP frame inside the IPv4 header
        _patch(raw(Ether(src=MAC_A, dst=MAC_B) / PPPoE(sessionid=0x11) / PPP(proto=0x0021) / ip4t),
               14 + 4, struct.pack("!H", 13)),
        # a short session frame padded to Ethernet's 60 bytes: the padding is not the packet's
        raw(Ether(src=MAC_A, dst=MAC_B) / PPPoE(sessionid=0x11) / PPP(proto=0x0021)
            / v4() / udp(40004, 53)) + b"\0" * 8,
    ]
    return pcap_bytes(recs(frames), LT_ETHERNET)


#: a customer's MAC addresses inside provider frames (PBB, pseudowires, NSH)
CUST_A, CUST_B = "02:00:5e:00:00:0c", "02:00:5e:00:00:0d"
#: an Ethernet pseudowire's control word (RFC 4448): first nibble 0, sequence number 1
PW_CW = b"\x00\x00\x00\x01"
#: a customer's addresses of manufacturers tshark's database knows (Intel, VMware): its
#: cue that a pseudowire has no control word (see pcaps/README.md)
VENDOR_A, VENDOR_B = "00:50:56:aa:bb:cc", "00:1b:21:11:22:33"


def _nsh(md_type: int, next_proto: int, context: bytes = b"") -> bytes:
    """An RFC 8300 network service header: base header (TTL 63, length in 4-byte words),
    service path 0x00000aff, then the context headers."""
    words = 2 + len(context) // 4
    return (struct.pack("!HBB", (63 << 6) | words, md_type, next_proto)
            + struct.pack("!I", 0xAFF) + context)


def cap_link_provider() -> bytes:
    """Provider encapsulations between Ethernet and IP: 802.3/LLC after a VLAN tag, 802.1ah
    backbone frames, Ethernet pseudowires over MPLS, network service headers."""
    ip4t, ip4u, ip6t, ip6u = ip_tcp_udp_v4v6()
    cust = Ether(src=CUST_A, dst=CUST_B)
    pbb = struct.pack("!I", 0x00012345)  # I-TAG: priority 0, service instance 0x012345
    frames = [
        # 802.1Q, then an 802.3 length and LLC/SNAP, as after the Ethernet header
        raw(Ether(src=MAC_A, dst=MAC_B) / Dot1Q(vlan=7, type=8 + len(raw(ip4u)))
            / Raw(SNAP + b"\x08\x00") / ip4u),
        raw(Ether(src=MAC_A, dst="01:80:c2:00:00:00") / Dot1Q(vlan=7, type=38)
            / Raw(b"\x42\x42\x03" + bytes(35))),                                 # STP: no IP
        # 802.1ah: I-TAG, the customer frame's addresses and type
        raw(Ether(src=MAC_A, dst=MAC_B, type=0x88E7) / Raw(pbb) / cust / ip4t),
        raw(Ether(src=MAC_A, dst=MAC_B) / Dot1AD(vlan=100, type=0x88E7) / Raw(pbb) / cust
            / Dot1Q(vlan=20) / ip6u),                                               # B-tag, C-tag
        raw(Ether(src=MAC_A, dst=MAC_B, type=0x88E7) / Raw(pbb)
            / Ether(src=CUST_A, dst=CUST_B, type=8 + len(raw(ip4u))) / Raw(SNAP + b"\x08\x00")
            / ip4u),                                                                # 802.3 inside
        # Ethernet pseudowires: label(s), control word, the customer frame
        raw(Ether(src=MAC_A, dst=MAC_B, type=0x8847) / MPLS(label=1000, s=1, ttl=64)
            / Raw(PW_CW) / cust / ip4u),
        raw(Ether(src=MAC_A, dst=MAC_B) / Dot1Q(vlan=5, type=0x8847) / MPLS(label=16, s=0, ttl=64)
            / MPLS(label=1001, s=1, ttl=64) / Raw(PW_CW) / cust / Dot1Q(vlan=30) / ip6t),
        raw(Ether(src=MAC_A, dst=MAC_B, type=0x8847) / MPLS(label=1002, s=1, ttl=64)
            / Raw(b"\x10\x00\x00\x07" + bytes(16))),                             # PW ACH: no IP
        # network service headers: MD type 2 (no context), MD type 1 (16 bytes of context)
        eth(Raw(_nsh(2, 1)) / ip4u, etype=0x894F),
        eth(Raw(_nsh(1, 2, bytes(range(16)))) / ip6t, etype=0x894F),
        eth(Raw(_nsh(2, 3)) / cust / ip4u, etype=0x894F),                           # Ethernet
        eth(Raw(_nsh(2, 5)) / MPLS(label=2000, s=1, ttl=64) / ip4t, etype=0x894F),  # MPLS
        eth(Raw(_nsh(2, 0xFE)) / ip4u, etype=0x894F),                               # experimental
        # transparent Ethernet bridging (0x6558): a whole Ethernet frame follows
        eth(cust / ip4u, etype=0x6558),
        # Ethernet pseudowires without a control word, the customer addresses' first nibble 0
        raw(Ether(src=MAC_A, dst=MAC_B, type=0x8847) / MPLS(label=1003, s=1, ttl=64)
            / Ether(src=VENDOR_A, dst=VENDOR_B) / ip4u),
        raw(Ether(src=MAC_A, dst=MAC_B, type=0x8847) / MPLS(label=1004, s=1, ttl=64)
            / Ether(src=VENDOR_B, dst=VENDOR_A) / Dot1Q(vlan=30) / ip6t),
    ]
    return pcap_bytes(recs(frames), LT_ETHERNET)


def _sll(proto: int, payload: bytes) -> bytes:
    # pkttype 0 (to us), ARPHRD_ETHER 1, address length 6, address (8 bytes), protocol
    return struct.pack("!HHH8sH", 0, 1, 6, bytes.fromhex("02000000000a") + b"\0\0", proto) + payload


def _sll2(proto: int, payload: bytes) -> bytes:
    # protocol, reserved, ifindex, ARPHRD_ETHER, pkttype, address length, address (8 bytes)
    return struct.pack("!HHIHBB8s", proto, 0, 2, 1, 4, 6,
                       bytes.fromhex("02000000000b") + b"\0\0") + payload


def _arp() -> bytes:
    return raw(ARP(op=2, hwsrc=MAC_B, psrc=V4_B, hwdst=MAC_A, pdst=V4_A))


def cap_link_sll() -> bytes:
    """Linux cooked capture v1 (113): IPv4/TCP, IPv6/UDP, IPv4/UDP, ARP."""
    ip4t, ip4u, ip6t, ip6u = ip_tcp_udp_v4v6()
    frames = [_sll(0x0800, raw(ip4t)), _sll(0x86DD, raw(ip6u)), _sll(0x0800, raw(ip4u)),
              _sll(0x0806, _arp())]
    return pcap_bytes(recs(frames), LT_SLL)


def cap_link_sll2() -> bytes:
    """Linux cooked capture v2 (276): IPv4/TCP, IPv6/UDP, IPv6/TCP, ARP."""
    ip4t, ip4u, ip6t, ip6u = ip_tcp_udp_v4v6()
    frames = [_sll2(0x0800, raw(ip4t)), _sll2(0x86DD, raw(ip6u)), _sll2(0x86DD, raw(ip6t)),
              _sll2(0x0806, _arp())]
    return pcap_bytes(recs(frames), LT_SLL2)


def cap_link_raw(linktype: int) -> bytes:
    ip4t, ip4u, ip6t, ip6u = ip_tcp_udp_v4v6()
    if linktype == LT_IPV4:
        frames = [ip4t, ip4u]
    elif linktype == LT_IPV6:
        frames = [ip6t, ip6u]
    else:
        frames = [ip4t, ip6u, ip4u, ip6t]
    return pcap_bytes(recs(raw(f) for f in frames), linktype)


def cap_link_null(endian: str, af_endian: str) -> bytes:
    """DLT_NULL (0): 4-byte address family in the capturing host's byte order."""
    ip4t, ip4u, ip6t, ip6u = ip_tcp_udp_v4v6()
    frames = [
        struct.pack(af_endian + "I", 2) + raw(ip4t),
        struct.pack(af_endian + "I", 24) + raw(ip6u),  # NetBSD/OpenBSD AF_INET6
        struct.pack(af_endian + "I", 28) + raw(ip6t),  # FreeBSD AF_INET6
        struct.pack(af_endian + "I", 30) + raw(ip6u),  # macOS AF_INET6
        struct.pack(af_endian + "I", 2) + raw(ip4u),
    ]
    return pcap_bytes(recs(frames), LT_NULL, endian=endian)


def cap_link_loop() -> bytes:
    """DLT_LOOP (108): like NULL but the address family is always big-endian."""
    ip4t, ip4u, ip6t, ip6u = ip_tcp_udp_v4v6()
    frames = [struct.pack("!I", 2) + raw(ip4t), struct.pack("!I", 24) + raw(ip6u),
              struct.pack("!I", 28) + raw(ip6t), struct.pack("!I", 30) + raw(ip6u)]
    return pcap_bytes(recs(frames), LT_LOOP)


def cap_link_ppp() -> bytes:
    """PPP (9): with and without HDLC address/control bytes; IPv4, IPv6, LCP (non-IP)."""
    ip4t, ip4u, ip6t, ip6u = ip_tcp_udp_v4v6()
    lcp = raw(PPP_LCP(code=1, id=7))
    frames = [
        b"\xff\x03\x00\x21" + raw(ip4t),
        b"\xff\x03\x00\x57" + raw(ip6u),
        b"\x00\x21" + raw(ip4u),
        b"\x00\x57" + raw(ip6t),
        b"\xff\x03\xc0\x21" + lcp,
        b"\xff\x43\x00\x21" + raw(ip4t),  # address 0xff, a control byte other than 0x03
    ]
    return pcap_bytes(recs(frames), LT_PPP)


def cap_link_ppp_dir() -> bytes:
    """PPP with a direction byte (204: 0 received, 1 sent): with and without HDLC
    address/control; IPv4, IPv6, LCP (non-IP); a control byte without the 0xff address,
    which PPP reads as a one-byte protocol (0x03, non-IP), as tshark does."""
    ip4t, ip4u, ip6t, ip6u = ip_tcp_udp_v4v6()
    lcp = raw(PPP_LCP(code=1, id=7))
    frames = [
        b"\x01\xff\x03\x00\x21" + raw(ip4t),
        b"\x00\xff\x03\x00\x57" + raw(ip6u),
        b"\x01\x00\x21" + raw(ip4u),
        b"\x00\x57" + raw(ip6t),  # the protocol compressed to one byte
        b"\x01\xff\x03\xc0\x21" + lcp,
        b"\x00\x03\x00\x21" + raw(ip4t),
    ]
    return pcap_bytes(recs(frames), LT_PPP_WITH_DIR)


def cap_link_chdlc() -> bytes:
    """Cisco HDLC (104): address, control, ethertype; IPv4/TCP, IPv6/UDP, SLARP (non-IP)."""
    ip4t, ip4u, ip6t, ip6u = ip_tcp_udp_v4v6()
    frames = [b"\x0f\x00\x08\x00" + raw(ip4t), b"\x8f\x00\x86\xdd" + raw(ip6u),
              b"\x8f\x00\x80\x35" + bytes.fromhex("00000000c000020100000000ffffff000000")]
    return pcap_bytes(recs(frames), LT_C_HDLC)


def _pflog(size: int, af: int) -> bytes:
    """A pf log header of `size` bytes (byte 0), address family `af`, padded to 4 bytes;
    action pass, direction in, interface em0, the rest zero."""
    head = bytearray((size + 3) & ~3)
    head[0], head[1], head[2], head[3] = size, af, 0, 0
    head[4:8] = b"em0\0"
    return bytes(head)


def cap_link_pflog() -> bytes:
    """pf log (117): OpenBSD 4.9+ 100-byte header over IPv4 and IPv6 (AF 24, 28),
    OpenBSD 3.8 61-byte header padded to 64 over IPv4; an address family that is not IP."""
    ip4t, ip4u, ip6t, ip6u = ip_tcp_udp_v4v6()
    frames = [_pflog(100, 2) + raw(ip4t), _pflog(100, 24) + raw(ip6u),
              _pflog(100, 28) + raw(ip6t), _pflog(61, 2) + raw(ip4u),
              _pflog(100, 7) + b"\0" * 20]
    return pcap_bytes(recs(frames), LT_PFLOG)


def _nflog(family: int, packet: bytes, e: str) -> bytes:
    """NFLOG: family, version 0, resource id 1 (big-endian), then attributes with
    lengths and types in the capturing host's order `e`: a prefix, the hook, the payload."""
    def tlv(kind: int, value: bytes) -> bytes:
        return _pad4(struct.pack(e + "HH", 4 + len(value), kind) + value)
    hw_protocol = 0x86DD if family == 10 else 0x0800
    return (struct.pack("!BBH", family, 0, 1) + tlv(10, b"portannot\0")
            + tlv(1, struct.pack("!HBB", hw_protocol, 1, 0)) + tlv(9, packet))


def cap_link_nflog(e: str) -> bytes:
    """Linux NFLOG (239), attribute lengths in the file's byte order: IPv4/TCP, IPv6/UDP,
    IPv4/UDP; an entry with no payload attribute (non-IP)."""
    ip4t, ip4u, ip6t, ip6u = ip_tcp_udp_v4v6()
    frames = [_nflog(2, raw(ip4t), e), _nflog(10, raw(ip6u), e), _nflog(2, raw(ip4u), e),
              struct.pack("!BBH", 2, 0, 1) + _pad4(struct.pack(e + "HH", 14, 10) + b"no payload")]
    return pcap_bytes(recs(frames), LT_NFLOG, endian=e)


SNAP = b"\xaa\xaa\x03\x00\x00\x00"
STA, AP, HOST = bytes.fromhex("02000000000a"), bytes.fromhex("02000000000c"), bytes.fromhex("02000000000b")


def _wlan(subtype: int, flags: int, body: bytes, *, ftype: int = 2, qos: int | None = None,
          ht: bool = False) -> bytes:
    """An 802.11 frame: frame control, duration, three addresses (four when to and from
    the distribution system), sequence control, QoS and HT control when asked."""
    head = struct.pack("<BBH", (subtype << 4) | (ftype << 2), flags, 0) + STA + AP + HOST
    head += struct.pack("<H", 0x0100)
    if flags & 3 == 3:
        head += HOST
    if qos is not None:
        head += struct.pack("<H", qos)
    if ht:
        head += b"\0\0\0\0"
    return head + body


def _wlan_frames() -> list[bytes]:
    ip4t, ip4u, ip6t, ip6u = ip_tcp_udp_v4v6()
    amsdu = STA + HOST + struct.pack("!H", len(SNAP) + 2 + len(raw(ip4t))) + SNAP + b"\x08\x00" + raw(ip4t)
    return [
        _wlan(0, 0x01, SNAP + b"\x08\x00" + raw(ip4t)),                     # data, to DS
        _wlan(8, 0x02, SNAP + b"\x86\xdd" + raw(ip6u), qos=0x0005),         # QoS data, from DS
        _wlan(8, 0x83, SNAP + b"\x08\x00" + raw(ip4u), qos=0, ht=True),     # WDS, QoS + HT control
        _wlan(8, 0x01, amsdu, qos=0x0080),                                   # A-MSDU, one subframe
        _wlan(8, 0x01, SNAP + b"\x08\x06" + raw(ARP(op=1, psrc=V4_A, pdst=V4_B)), qos=0),  # ARP
        _wlan(4, 0x11, b""),                                                  # null data
        _wlan(0, 0x41, b"\x01\x00\x00\x20\x00\x00\x00\x00" + b"\xee" * 40),  # protected
        _wlan(8, 0x00, b"\x64\x00\x11\x04" + b"\0" * 8 + b"\x00\x04test", ftype=0),  # beacon
    ]


def cap_link_80211() -> bytes:
    """802.11 (105): data to and from the DS, QoS, four addresses with HT control, an
    A-MSDU, ARP; null data, a protected frame and a beacon (no IP to read)."""
    return pcap_bytes(recs(_wlan_frames()), LT_IEEE802_11)


def cap_link_radiotap() -> bytes:
    """The 802.11 frames behind radiotap headers of 8 bytes and of 16 (flags, rate,
    channel, antenna signal; the flags say no FCS)."""
    short = struct.pack("<BBHI", 0, 0, 8, 0)
    longer = struct.pack("<BBHI", 0, 0, 16, 0x2E) + bytes([0x00, 0x02]) + struct.pack(
        "<HH", 2412, 0x00A0) + bytes([0xC4, 0x00])
    frames = [(short if i % 2 else longer) + f for i, f in enumerate(_wlan_frames())]
    return pcap_bytes(recs(frames), LT_RADIOTAP)


def _prism(code: int = 0x44, msglen: int = 144, order: str = "<") -> bytes:
    """A Prism monitor-mode header: message code, length, device name and the ten
    12-byte items of the wlan-ng layout (DID, status, length, data), 144 bytes."""
    head = struct.pack(order + "II", code, msglen) + b"wlan0".ljust(16, b"\0")
    for i, value in enumerate((1000, 12345, 6, 40, 0, 40, 2, 22, 0, 128)):
        head += struct.pack(order + "IHHI", 0x1041 + 0x1000 * i, 0, 4, value)
    return head


def _avs(version: int = 1, size: int = 64) -> bytes:
    """An AVS (wlan-ng) capture header of `size` bytes, big-endian: magic word with the
    version, header length, then the version 1 fields (times, PHY, channel, rate,
    antenna, priority, signal), zero-padded to `size`."""
    head = struct.pack(">IIQQIIIIIIiiII", 0x80211000 + version, size, 12345, 67890,
                       4, 6, 110, 1, 0, 2, -40, -95, 1, 1)
    return head + bytes(size - len(head))


def cap_link_prism() -> bytes:
    """LINKTYPE_PRISM_HEADER (119): 802.11 frames behind a Prism header with message
    code 0x44 and 0x41, one in big-endian order, one whose length field says 0 (tshark
    reads 144 bytes whatever it says); behind AVS headers of version 1 and 2 (some
    drivers write them under this link type); a frame with no radio header at all
    (the first word no code tshark knows); a beacon behind a Prism header (no IP)."""
    w = _wlan_frames()
    frames = [_prism(0x44) + w[0], _prism(0x41) + w[1], _prism(0x44, order=">") + w[2],
              _prism(0x44, msglen=0) + w[3], _avs(1, 64) + w[0], _avs(2, 80) + w[1],
              w[2], _prism(0x44) + w[7]]
    return pcap_bytes(recs(frames), LT_PRISM)


def cap_link_avs() -> bytes:
    """LINKTYPE_IEEE802_11_AVS (163): 802.11 frames behind AVS headers of version 1 (64
    bytes), version 2 (80), version 1 saying 72 (the 802.11 frame starts where the
    length says) and a version tshark does not know (3, 40 bytes: its fields are not
    read, the length still counts); a protected frame behind one (no IP to read)."""
    w = _wlan_frames()
    v3 = struct.pack(">II", 0x80211003, 40) + bytes(32)
    frames = [_avs(1, 64) + w[0], _avs(2, 80) + w[1], _avs(1, 72) + w[2], v3 + w[3],
              _avs(1, 64) + w[6]]
    return pcap_bytes(recs(frames), LT_AVS)


def cap_link_ppi() -> bytes:
    """Per-Packet Information (192): 8-byte headers naming 802.11 (105), Ethernet (1),
    Prism (119), AVS (163), raw IP (101) and Linux cooked (113): tshark hands on to any
    link type by its table, and so does portannot."""
    ip4t, ip4u, ip6t, ip6u = ip_tcp_udp_v4v6()
    w = _wlan_frames()

    def ppi(dlt: int) -> bytes:
        return struct.pack("<BBHI", 0, 0, 8, dlt)

    frames = [ppi(LT_IEEE802_11) + f for f in w[:4]]
    frames.append(ppi(LT_ETHERNET) + eth(ip4t))
    frames += [ppi(LT_PRISM) + _prism() + w[0], ppi(LT_AVS) + _avs() + w[1],
               ppi(LT_RAW) + raw(ip6t), ppi(LT_SLL) + _sll(0x0800, raw(ip4u))]
    return pcap_bytes(recs(frames), LT_PPI)


def _container_records() -> list[Rec]:
    frames = [eth(f) for f in ip_tcp_udp_v4v6()]
    # distinctive sub-microsecond timestamps
    return [Rec(f, len(f), BASE_TS * 10**9 + 123_456_789 + i * 1_000_001_001)
            for i, f in enumerate(frames)]


def cap_pcap_variant(endian: str, nano: bool) -> bytes:
    return pcap_bytes(_container_records(), LT_ETHERNET, endian=endian, nano=nano)


def cap_pcapng_multi() -> bytes:
    """Two sections (big-endian then little-endian), several interfaces and block types."""
    ip4t, ip4u, ip6t, ip6u = ip_tcp_udp_v4v6()
    t = BASE_TS * 10**9 + 500_000_000
    out = []
    # ---- section 1, big-endian
    e = ">"
    out.append(shb(e, "section 1 (big-endian)"))
    out.append(idb(e, LT_ETHERNET, snaplen=65535, tsresol=6, name="eth0"))        # if 0: 10^-6
    out.append(idb(e, LT_IPV4, snaplen=65535, tsresol=9, tsoffset=1000, name="raw4"))  # if 1: 10^-9
    out.append(nrb(e))
    out.append(epb(e, Rec(eth(ip4t), len(eth(ip4t)), t, 0), 6, comment="EPB on eth0"))
    out.append(epb(e, Rec(raw(ip4u), len(raw(ip4u)), t + 1_000_000, 1), 9, 1000))
    out.append(custom_block(e, copy=True))
    f = eth(ip6u)
    out.append(spb(e, Rec(f, len(f), 0)))                                          # SPB -> if 0
    f = eth(ip6t)
    out.append(opb(e, Rec(f, len(f), t + 3_000_000, 0), 6))                         # obsolete type 2
    out.append(isb(e, 0, t + 4_000_000, 3))
    # ---- section 2, little-endian; interface ids restart at 0
    e = "<"
    out.append(shb(e, "section 2 (little-endian)"))
    out.append(idb(e, LT_SLL, snaplen=96, tsresol=0x94, name="any"))              # if 0: 2^-20
    out.append(idb(e, LT_IPV6, snaplen=65535, tsresol=9, name="raw6"))             # if 1: 10^-9
    out.append(idb(e, LT_ETHERNET, snaplen=62, name="eth1"))                       # if 2: snaplen 62
    out.append(custom_block(e, copy=False))
    f = _sll(0x0800, raw(ip4t))
    out.append(epb(e, Rec(f, len(f), t + 5_000_000, 0), 0x94))
    f = raw(ip6u)
    out.append(epb(e, Rec(f, len(f), t + 6_000_000, 1), 9))
    big = eth(v4() / tcp(40010, 8080, payload=bytes(range(200))))
    out.append(epb(e, Rec(big[:62], len(big), t + 7_000_000, 2)))                 # caplen < len
    out.append(nrb(e))
    out.append(isb(e, 1, t + 8_000_000, 1))
    return b"".join(out)


def cap_pcapng_simple() -> bytes:
    """Single-section little-endian pcapng, one Ethernet interface, EPBs only."""
    e = "<"
    out = [shb(e), idb(e, LT_ETHERNET, snaplen=65535)]
    for r in _container_records():
        out.append(epb(e, r))
    return b"".join(out)


def cap_ipv4_options() -> bytes:
    frames = [
        eth(v4(options=[IPOption_NOP(), IPOption_RR(routers=["10.0.0.1", "10.0.0.2"])])
            / tcp(41000, 25, "S")),
        eth(v4(options=[IPOption_Timestamp(flg=0, timestamp=1)]) / udp(41001, 514, b"<13>hello")),
        eth(v4(options=[IPOption_NOP(), IPOption_NOP(), IPOption_NOP(), IPOption_NOP()])
            / sctp_init(41002, 9899)),
        # 40 bytes of options: IHL 15, the maximum
        eth(v4(options=[IPOption_RR(routers=[f"10.0.0.{i}" for i in range(1, 10)])])
            / tcp(41003, 110, "S")),
    ]
    return pcap_bytes(recs(frames), LT_ETHERNET)


def _mh_brr() -> MIP6MH_BRR:
    return MIP6MH_BRR()


def cap_ipv6_ext() -> bytes:
    """IPv6 extension-header chains before TCP/UDP/SCTP/DCCP, and chains that end in 59/50/135."""
    rh = IPv6ExtHdrRouting(addresses=["2001:db8:ffff::1"], segleft=1)
    frames = [
        eth(v6() / IPv6ExtHdrHopByHop() / tcp(42000, 80, "S")),
        eth(v6() / IPv6ExtHdrHopByHop() / rh / IPv6ExtHdrDestOpt() / udp(42001, 53, b"\0" * 12)),
        eth(v6() / IPv6ExtHdrDestOpt() / sctp_init(42002, 5060)),
        eth(v6() / IPv6ExtHdrRouting(addresses=[], segleft=0) / IPv6ExtHdrFragment(id=7, offset=0, m=0)
            / tcp(42003, 22, "S")),                                               # atomic fragment
        eth(v6(nh=33) / Raw(dccp(42004, 5004, 0, 1, service=0x52545020, src=V6_A, dst=V6_B,
                                 v6=True))),
        eth(v6() / IPv6ExtHdrHopByHop(nh=33) / Raw(dccp(42005, 5004, 0, 2, service=0x52545020,
                                                        src=V6_A, dst=V6_B, v6=True))),
        eth(v6() / AH(nh=6, payloadlen=4, spi=0x100, seq=1, icv=b"\xaa" * 12) / tcp(42006, 443, "S")),
        eth(v6() / IPv6ExtHdrHopByHop() / AH(nh=17, payloadlen=4, spi=0x101, seq=2, icv=b"\xbb" * 12)
            / udp(42007, 500, b"\0" * 8)),
        eth(v6() / _mh_brr()),                                                    # mobility 135
        eth(v6() / IPv6ExtHdrHopByHop(nh=59)),                                    # no next header
        eth(v6() / IPv6ExtHdrDestOpt(nh=50) / Raw(struct.pack("!II", 0x200, 1) + b"\xcc" * 24)),  # ESP
        eth(v6(nh=59) / Raw(b"ignored after no-next-header")),
    ]
    return pcap_bytes(recs(frames), LT_ETHERNET)


def _rpl(addresses: list[str], dst: str, nh: int, segleft: int) -> bytes:
    """An RPL source routing header (RFC 6554, routing type 3) whose addresses share their
    first 8 bytes with `dst` (CmprI = CmprE = 8): each carried as its last 8 bytes."""
    body = b"".join(socket.inet_pton(socket.AF_INET6, a)[8:] for a in addresses)
    assert all(socket.inet_pton(socket.AF_INET6, a)[:8] == socket.inet_pton(socket.AF_INET6, dst)[:8]
               for a in addresses)
    return struct.pack("!BBBBI", nh, len(body) // 8, 3, segleft, (8 << 28) | (8 << 24)) + body


def cap_source_routes() -> bytes:
    """Source-routed requests and their replies: the request's header names the next hop,
    the reply comes from the final destination; both are one conversation."""
    c6, c4 = "2001:db8::10", "192.0.2.10"
    seg, final6 = "2001:db8:ff::1", "2001:db8:1::53"
    hop4, via4, final4 = "198.51.100.1", "198.51.100.9", "203.0.113.53"
    query, answer = b"\x12\x34\x01\x00" + bytes(8), b"\x12\x34\x81\x80" + bytes(8)
    frames = [
        # SRv6: Segment List [final, seg], one segment left; then segments left 0 at the end
        v6(src=c6, dst=seg) / IPv6ExtHdrSegmentRouting(addresses=[final6, seg], segleft=1)
        / udp(40010, 53, query),
        v6(src=final6, dst=c6) / udp(53, 40010, answer),
        v6(src=c6, dst=final6) / IPv6ExtHdrSegmentRouting(addresses=[final6, seg], segleft=0)
        / udp(40010, 53, query),
        # type 0 (deprecated): two hops to go, the final destination last
        v6(src=c6, dst="2001:db8:ff::2") / IPv6ExtHdrRouting(
            addresses=["2001:db8:ff::3", final6], segleft=2) / tcp(40011, 80, "S"),
        v6(src=final6, dst=c6) / tcp(80, 40011, "SA", seq=5000, ack=1001),
        # Mobile IPv6 type 2: sent to the care-of address, for the home address
        v6(src=c6, dst="2001:db8:2::99") / IPv6ExtHdrRouting(
            type=2, addresses=["2001:db8:2::7"], segleft=1) / udp(40012, 53, query),
        v6(src="2001:db8:2::7", dst=c6) / udp(53, 40012, answer),
        # RPL (type 3): compressed addresses, not read; the header's destination stays
        v6(src=c6, dst="2001:db8:5::1", nh=43) / Raw(
            _rpl(["2001:db8:5::99", "2001:db8:5::53"], "2001:db8:5::1", 17, 2)
            + raw(udp(40013, 53, query))),
        # IPv4 loose source route: one address to go; then the route used up (pointer past
        # the end: the header's destination is the final one)
        v4(src=c4, dst=hop4, options=[IPOption_LSRR(routers=[final4], pointer=4)])
        / udp(40014, 53, query),
        v4(src=final4, dst=c4) / udp(53, 40014, answer),
        v4(src=c4, dst=final4, options=[IPOption_LSRR(routers=[hop4], pointer=8)])
        / udp(40014, 53, query),
        # strict source route, two addresses to go, after a NOP
        v4(src=c4, dst=hop4, options=[IPOption_NOP(), IPOption_SSRR(routers=[via4, final4],
                                                                    pointer=4)])
        / tcp(40015, 80, "S"),
        v4(src=final4, dst=c4) / tcp(80, 40015, "SA", seq=5000, ack=1001),
    ]
    return pcap_bytes(recs(eth(f) for f in frames), LT_ETHERNET)


def _frag4(pkt: IP, fragsize: int) -> list[IP]:
    """Fragment an IPv4 packet by hand (payload cut at multiples of 8 bytes)."""
    whole = raw(pkt)
    ihl = (whole[0] & 15) * 4
    payload = whole[ihl:]
    out = []
    for off in range(0, len(payload), fragsize):
        chunk = payload[off:off + fragsize]
        more = off + fragsize < len(payload)
        out.append(IP(src=pkt.src, dst=pkt.dst, id=pkt.id, ttl=pkt.ttl, proto=pkt.proto,
                      flags="MF" if more else 0, frag=off // 8) / Raw(chunk))
    return out


def _frag6(pkt: IPv6, ident: int, fragsize: int) -> list[IPv6]:
    whole = raw(pkt)
    nh = whole[6]
    payload = whole[40:]
    out = []
    for off in range(0, len(payload), fragsize):
        chunk = payload[off:off + fragsize]
        more = off + fragsize < len(payload)
        out.append(IPv6(src=pkt.src, dst=pkt.dst, hlim=pkt.hlim)
                   / IPv6ExtHdrFragment(nh=nh, offset=off // 8, m=int(more), id=ident) / Raw(chunk))
    return out


def cap_fragments() -> bytes:
    """First fragments (with ports) followed by later ones; orphans; a later one before its first."""
    u4 = _frag4(v4(id=0x2001) / udp(43000, 2049, bytes(range(256)) * 2), 200)        # 3 frags
    t4 = _frag4(v4(id=0x2002) / tcp(43001, 80, payload=b"A" * 300), 160)            # 2 frags
    u6 = _frag6(v6() / udp(43002, 53, b"B" * 300), 0x3001, 160)                     # 2 frags
    t6 = _frag6(v6() / tcp(43003, 443, payload=b"C" * 200), 0x3002, 120)            # 2 frags
    orphan4 = _frag4(v4(id=0x2003) / udp(43004, 161, b"D" * 300), 160)[1]           # first never seen
    orphan6 = _frag6(v6() / udp(43005, 162, b"E" * 300), 0x3003, 160)[1]
    late4 = _frag4(v4(id=0x2004) / udp(43006, 514, b"F" * 300), 160)               # later before first
    late6 = _frag6(v6() / tcp(43007, 179, payload=b"G" * 200), 0x3004, 120)
    frames = [
        *u4, *t4, *u6, *t6, orphan4, orphan6,
        late4[1], late4[0], late6[1], late6[0],
        # same id as u4 but different addresses: not part of u4
        *_frag4(v4(src="203.0.113.9", id=0x2001) / udp(43008, 69, b"H" * 200), 160)[1:],
        # the fragmentable part starts with destination options: the Fragment header names
        # them (60), not the transport, in the first fragment and in the later ones
        *_frag6(v6() / IPv6ExtHdrDestOpt() / udp(43009, 53, b"I" * 300), 0x3005, 160),
        *_frag6(v6() / IPv6ExtHdrDestOpt() / tcp(43010, 443, payload=b"J" * 200), 0x3006, 120),
        # transport-mode AH over IPv4 (protocol 51), fragmented
        *_frag4(v4(id=0x2005) / AH(nh=17, payloadlen=4, spi=0x102, seq=3, icv=b"\xdd" * 12)
                / udp(43011, 500, b"K" * 300), 160),
    ]
    return pcap_bytes(recs(eth(f) for f in frames), LT_ETHERNET)


def _piece4(pkt: IP, start: int, stop: int, *, more: bool, at: int | None = None) -> IP:
    """Bytes [start, stop) of an IPv4 datagram's payload as one fragment, placed at byte
    `at` of the datagram (default `start`)."""
    payload = raw(pkt)[(raw(pkt)[0] & 15) * 4:]
    return IP(src=pkt.src, dst=pkt.dst, id=pkt.id, ttl=pkt.ttl, proto=pkt.proto,
              flags="MF" if more else 0, frag=(start if at is None else at) // 8) / Raw(
        payload[start:stop])


def _piece6(pkt: IPv6, ident: int, start: int, stop: int, *, more: bool, hbh: bool = False,
            at: int | None = None) -> IPv6:
    """Bytes [start, stop) of an IPv6 datagram's payload (all of it fragmentable) behind a
    Fragment header, at byte `at` (default `start`); `hbh` puts a hop-by-hop header (the
    unfragmentable part) before the Fragment header."""
    whole = raw(pkt)
    head = v6(src=pkt.src, dst=pkt.dst) / IPv6ExtHdrHopByHop() if hbh else v6(src=pkt.src, dst=pkt.dst)
    return head / IPv6ExtHdrFragment(nh=whole[6], offset=(start if at is None else at) // 8,
                                     m=int(more), id=ident) / Raw(whole[40:][start:stop])


def cap_fragment_ends() -> bytes:
    """Where a datagram ends: an identification used again (a later fragment past the
    remembered datagram's end is not of it), and first fragments that end before the ports
    (RFC 7112's header chain split across fragments). See pcaps/README.md."""
    q4 = v4(id=77) / udp(43000, 53, b"Q" * 16)                     # payload 24 bytes
    r4 = v4(id=77) / udp(43001, 53, b"R" * 808)                    # the id again, later
    q6 = v6() / udp(43000, 53, b"Q" * 16)
    split6 = v6() / IPv6ExtHdrDestOpt(nh=17, options=[PadN(optdata=b"\0" * 12)]) / udp(
        43002, 53, b"S" * 8)                                          # dest-opts 16 bytes
    split4 = v4(id=0x7113) / AH(nh=17, payloadlen=4, spi=0x104, seq=5, icv=b"\xdd" * 12) / udp(
        43003, 500, b"T" * 8)                                         # AH 24 bytes
    syn4 = v4(id=0x7114) / tcp(43004, 80, "S")
    short4 = v4(id=0x7115) / udp(43005, 53, b"U" * 8)
    cut6 = v6() / IPv6ExtHdrDestOpt(nh=17, options=[PadN(optdata=b"\0" * 12)]) / udp(
        43006, 53, b"V" * 8)
    again4 = v4(id=77) / udp(43007, 53, b"W" * 24)
    frames = [
        # 1-2 datagram 77 whole: 16 bytes, then the last 8 at 16 (MF=0): it ends at byte 24
        _piece4(q4, 0, 16, more=True), _piece4(q4, 16, 24, more=False),
        # 3 id 77 at 800 (MF=1) and 4 at 24 exactly (MF=0): past the end, another datagram
        _piece4(r4, 800, 808, more=True), _piece4(r4, 16, 24, more=False, at=24),
        # 5 the last fragment again (at 16): the datagram's
        _piece4(q4, 16, 24, more=False),
        # 6-7 a new first fragment with id 77 starts over: its piece at 800 is its own
        _piece4(r4, 0, 16, more=True), _piece4(r4, 800, 816, more=False),
        # 8-10 the same over IPv6 with a hop-by-hop header before the Fragment header
        _piece6(q6, 77, 0, 16, more=True, hbh=True), _piece6(q6, 77, 16, 24, more=False, hbh=True),
        _piece6(q6, 77, 16, 24, more=False, hbh=True, at=800),
        # 11-12 RFC 7112: Fragment, dest-opts (next header UDP), the UDP header in the next
        _piece6(split6, 0x7112, 0, 16, more=True), _piece6(split6, 0x7112, 16, 32, more=False),
        # 13-14 the IPv4 equivalent: AH fills the first fragment, the UDP header follows
        _piece4(split4, 0, 24, more=True), _piece4(split4, 24, 40, more=False),
        # 15-16 TCP in an 8-byte first fragment: ports, no flags; the rest of the header
        _piece4(syn4, 0, 8, more=True), _piece4(syn4, 8, 20, more=False),
        # 17 a first fragment holding 2 bytes of the UDP header
        _piece4(short4, 0, 2, more=True),
        # 18 a first fragment ending inside its dest-opts header (8 of 16 bytes)
        _piece6(cut6, 0x7116, 0, 8, more=True),
        # 19-20 id 77 again: a first fragment without ports, and its piece at 16
        _piece4(again4, 0, 2, more=True), _piece4(again4, 16, 24, more=True),
        # 21 an atomic fragment (offset 0, M=0) whose payload length leaves 2 bytes of UDP:
        # the length is the whole datagram's, malformed
        v6(plen=10) / IPv6ExtHdrFragment(nh=17, offset=0, m=0, id=0x7117) / udp(43008, 53, b"X" * 8),
    ]
    return pcap_bytes(recs(eth(f) for f in frames), LT_ETHERNET)


def cap_transports() -> bytes:
    """TCP flags, UDP, SCTP, DCCP over IPv4/IPv6; protocols without ports; ICMP errors; tunnels."""
    inner_udp = v4(src=V4_B, dst=V4_A) / udp(44100, 33434, b"\0" * 12)
    inner_tcp = v4(src=V4_B, dst=V4_A) / tcp(44101, 8443, "S")
    inner6_udp = v6(src=V6_B, dst=V6_A) / udp(44102, 33435, b"\0" * 12)
    inner6_tcp = v6(src=V6_B, dst=V6_A) / tcp(44103, 993, "S")
    frames = [
        v4() / tcp(44000, 80, "S", seq=1),
        v4(src=V4_B, dst=V4_A) / tcp(80, 44000, "SA", seq=500, ack=2),
        v4() / tcp(44000, 80, "PA", seq=2, ack=501, payload=b"GET / HTTP/1.0\r\n\r\n"),
        v4() / tcp(44000, 80, "FA", seq=20, ack=501),
        v4(src=V4_B, dst=V4_A) / tcp(80, 44000, "R", seq=501),
        v6() / tcp(44001, 443, "S", seq=1),
        v6(src=V6_B, dst=V6_A) / tcp(443, 44001, "SA", seq=900, ack=2),
        v6() / tcp(44001, 443, "PA", seq=2, ack=901, payload=b"\x16\x03\x01\x00\x00"),
        v6() / tcp(44001, 443, "FA", seq=7, ack=901),
        v6(src=V6_B, dst=V6_A) / tcp(443, 44001, "RA", seq=901, ack=8),
        v4() / udp(44002, 53, b"\0" * 17),
        v6() / udp(44003, 547, b"\x01" + b"\0" * 15),
        v4() / sctp_init(44004, 2905),
        v6() / sctp_init(44005, 3868),
        v4(proto=33) / Raw(dccp(44006, 5004, 0, 10, service=1)),
        v4(src=V4_B, dst=V4_A, proto=33) / Raw(dccp(5004, 44006, 1, 20, ack=10, service=1,
                                                     src=V4_B, dst=V4_A)),
        v6(nh=33) / Raw(dccp(44007, 6000, 0, 30, service=2, src=V6_A, dst=V6_B, v6=True)),
        v4() / ICMP(type=8, id=1, seq=1) / Raw(b"ping"),
        v6() / ICMPv6EchoRequest(id=1, seq=1, data=b"ping"),
        v4(proto=50) / Raw(struct.pack("!II", 0x1234, 1) + b"\xee" * 32),              # ESP
        v6(nh=50) / Raw(struct.pack("!II", 0x1235, 1) + b"\xee" * 32),
        v4() / GRE() / inner_tcp,                                                      # GRE: inner ports
        v4(proto=4) / inner_udp,                                                       # IPIP
        v4(proto=41) / inner6_tcp,                                                     # 6in4
        v6(nh=4) / inner_tcp,                                                          # 4in6
        v6(nh=41) / inner6_udp,                                                        # 6in6
        v4(src=V4_B, dst=V4_A) / ICMP(type=3, code=3) / inner_udp,                     # quoted UDP
        v4(src=V4_B, dst=V4_A) / ICMP(type=11, code=0) / inner_tcp,                    # quoted TCP
        v6(src=V6_B, dst=V6_A) / ICMPv6DestUnreach(code=4) / inner6_udp,
        v6(src=V6_B, dst=V6_A) / ICMPv6PacketTooBig(mtu=1280) / inner6_tcp,
        v6(src=V6_B, dst=V6_A) / ICMPv6TimeExceeded() / inner6_udp,
        # VXLAN: the outer UDP is the packet's own, the inner TCP is not
        v4() / udp(44008, 4789) / VXLAN(vni=42) / Ether(src=MAC_B, dst=MAC_A) / inner_tcp,
        v4(proto=2) / Raw(bytes.fromhex("1164ee9b00000000")),                          # IGMP
        v4(proto=89) / Raw(b"\x02\x01" + b"\0" * 22),                                  # OSPF
        # transport-mode AH over IPv4 (protocol 51): the TCP after it has its ports
        v4() / AH(nh=6, payloadlen=4, spi=0x103, seq=4, icv=b"\xee" * 12) / tcp(44009, 22, "S"),
        # IPv6 between the IPv4-mapped forms of frame 11's addresses, same ports: not frame
        # 11's IPv4 flow
        v6(src=f"::ffff:{V4_A}", dst=f"::ffff:{V4_B}") / udp(44002, 53, b"\0" * 17),
    ]
    return pcap_bytes(recs(eth(f) for f in frames), LT_ETHERNET)


def cap_truncated() -> bytes:
    """Records whose capture length cuts a header (the original length says more was sent)."""
    t4 = eth(v4() / tcp(45000, 80, "S"))
    u4 = eth(v4() / udp(45001, 53, b"\0" * 20))
    t6 = eth(v6() / tcp(45002, 443, "S"))
    x6 = eth(v6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / udp(45003, 53, b"\0" * 20))
    s4 = eth(v4() / sctp_init(45004, 2905))
    d4 = eth(v4(proto=33) / Raw(dccp(45005, 5004, 0, 1, service=1)))
    opt4 = eth(v4(options=[IPOption_RR(routers=["10.0.0.1", "10.0.0.2"])]) / tcp(45006, 25, "S"))
    q4 = raw(Ether(src=MAC_A, dst=MAC_B) / Dot1Q(vlan=300) / v4() / tcp(45007, 80, "S"))
    ad4 = raw(Ether(src=MAC_A, dst=MAC_B) / Dot1AD(vlan=301) / Dot1Q(vlan=30) / v4()
              / tcp(45008, 80, "S"))
    frames = [t4, t4, t4, t4, u4, u4, t6, t6, x6, x6, s4, s4, d4, d4, opt4, t4[:8], t4, t4, t4,
              q4, q4, ad4]
    cuts = {
        0: 12,          # inside the Ethernet header
        1: 14 + 10,     # inside the IPv4 header (before the addresses)
        2: 14 + 20 + 2,  # TCP: source port only
        3: 14 + 20 + 4,  # TCP: both ports, rest of the header cut
        4: 14 + 20 + 3,  # UDP: 3 of 8 header bytes
        5: 14 + 20 + 4,  # UDP: ports only
        6: 14 + 30,     # inside the IPv6 header
        7: 14 + 40 + 1,  # IPv6 TCP: one byte of ports
        8: 14 + 40 + 4,  # inside the hop-by-hop header
        9: 14 + 40 + 16 + 2,  # after the chain, UDP source port only
        10: 14 + 20 + 3,  # SCTP: 3 bytes
        11: 14 + 20 + 4,  # SCTP: ports only
        12: 14 + 20 + 3,  # DCCP: 3 bytes
        13: 14 + 20 + 4,  # DCCP: ports only
        14: 14 + 20 + 4,  # IPv4 with options: cut inside the options
        16: 14 + 20 + 14,  # TCP: 14 bytes, the flags byte in, the window not
        17: 14 + 20 + 15,  # TCP: 15 bytes
        18: 14 + 20 + 16,  # TCP: 16 bytes, up to the window
        19: 14 + 2,     # 802.1Q tag: its TCI (the VLAN id), not the inner ethertype
        20: 14 + 1,     # 802.1Q tag: one byte of it
        21: 14 + 2,     # 802.1ad tag: its TCI only
    }
    return pcap_bytes(recs(frames, caplen=cuts), LT_ETHERNET, snaplen=65535)


def _patch(b: bytes, off: int, val: bytes) -> bytes:
    return b[:off] + val + b[off + len(val):]


def cap_malformed() -> bytes:
    """Header lengths that contradict each other or the frame (see README for tshark's view)."""
    t4 = eth(v4() / tcp(46000, 80, "S"))
    u4 = eth(v4() / udp(46001, 53, b"\0" * 20))
    x6 = eth(v6() / IPv6ExtHdrHopByHop() / tcp(46002, 443, "S"))
    t6 = eth(v6() / tcp(46003, 22, "S"))
    frames = [
        _patch(t4, 14, b"\x44"),                            # IPv4 IHL 4 (< 5)
        _patch(t4, 14 + 2, struct.pack("!H", 16)),          # IPv4 total length 16 < 20
        _patch(t4, 14, b"\x4f"),                            # IPv4 IHL 15: header longer than packet
        _patch(t4, 14 + 2, struct.pack("!H", 30)),          # total length cuts the TCP header (ports kept)
        _patch(u4, 14 + 2, struct.pack("!H", 22)),          # total length: UDP header cut to 2 bytes
        _patch(x6, 14 + 4, struct.pack("!H", 4)),           # IPv6 payload length 4 < 8-byte HBH
        _patch(x6, 14 + 4, struct.pack("!H", 10)),          # payload length: chain ok, TCP cut to 2 bytes
        _patch(t4, 14 + 20 + 12, b"\x40"),                  # TCP data offset 4 (< 5)
        _patch(t6, 14 + 40 + 12, b"\x30"),                  # TCP data offset 3 over IPv6
        _patch(u4, 14 + 20 + 4, struct.pack("!H", 4)),      # UDP length 4 (< 8)
        _patch(u4, 14 + 20 + 4, struct.pack("!H", 200)),    # UDP length beyond the IP payload
        _patch(t4, 14, b"\x54"),                            # IP version 5 in an IPv4 ethertype
        _patch(t6, 14, b"\x40"),                            # version 4 nibble in an IPv6 ethertype
        _patch(t4, 14 + 2, struct.pack("!H", 0)),           # IPv4 total length 0 (TSO / BIG TCP style)
        _patch(t4, 14 + 2, struct.pack("!H", 35)),          # total length leaves 15 bytes of TCP
        _patch(t4, 14 + 2, struct.pack("!H", 36)),          # total length leaves 16 bytes of TCP
        _patch(x6, 14 + 40 + 3, b"\xff"),                   # HBH PadN of 255 bytes: past the packet
        _patch(x6, 14 + 40 + 3, b"\x0a"),                   # HBH PadN of 10 bytes: past its header only
        _patch(_patch(x6, 14 + 4, struct.pack("!H", 2000)), 14 + 40 + 3, b"\xff"),  # ... past the
        # frame's bytes, the payload length claiming more than the frame holds
    ]
    return pcap_bytes(recs(frames), LT_ETHERNET)


# --------------------------------------------------------------------------- random stacks

def _random_l4(rnd: random.Random, src: str, dst: str, six: bool):
    """(scapy layer or raw bytes, IP protocol number) for one random transport."""
    ports = [80, 443, 53, 22, 2905, 5004, 0, 65535, 40500, rnd.randrange(1024, 65536)]
    sp, dp = rnd.choice(ports), rnd.choice(ports)
    kind = rnd.choices(["tcp", "udp", "sctp", "dccp", "icmp", "icmp-error", "esp", "tunnel"],
                       [30, 25, 8, 8, 8, 6, 5, 5])[0]
    payload = bytes(rnd.randrange(256) for _ in range(rnd.choice([0, 0, 7, 40, 300])))
    if kind == "tcp":
        flags = rnd.choice(["S", "SA", "A", "PA", "FA", "R", "RA", "", "FSRPAUEC"])
        return tcp(sp, dp, flags, seq=rnd.randrange(1 << 32), ack=rnd.randrange(1 << 32),
                   payload=payload), 6
    if kind == "udp":
        return udp(sp, dp, payload), 17
    if kind == "sctp":
        return (sctp_init(sp, dp) if rnd.random() < 0.5 else SCTP(sport=sp, dport=dp, tag=7)
                / SCTPChunkData(tsn=1, stream_id=0, stream_seq=0, proto_id=0,
                                data=payload or b"x")), 132
    if kind == "dccp":
        return Raw(dccp(sp, dp, rnd.choice([0, 2, 3]), rnd.randrange(1 << 40), service=1,
                        payload=payload, src=src, dst=dst, v6=six)), 33
    quoted = (v6(src=dst, dst=src) if six else v4(src=dst, dst=src)) / udp(dp, sp, b"\0" * 8)
    if kind == "icmp":
        return (ICMPv6EchoRequest(id=1, seq=2, data=payload) if six
                else ICMP(type=8, id=1, seq=2) / Raw(payload)), 58 if six else 1
    if kind == "icmp-error":
        return (ICMPv6DestUnreach(code=4) / quoted if six
                else ICMP(type=3, code=3) / quoted), 58 if six else 1
    if kind == "esp":
        return Raw(struct.pack("!II", 0x4242, 1) + payload), 50
    return (v4(src=V4_B, dst=V4_A) / tcp(sp, dp, "S"), 4) if rnd.random() < 0.5 else (
        GRE() / v4(src=V4_B, dst=V4_A) / udp(sp, dp, payload), 47)


def _random_ip(rnd: random.Random):
    """A random IPv4 or IPv6 packet (IPv4 options or IPv6 extension headers sometimes)."""
    six = rnd.random() < 0.35
    hosts = (["2001:db8::1", "2001:db8:1::2", "2001:db8:2::3"] if six
             else ["192.0.2.1", "198.51.100.2", "203.0.113.3"])
    src, dst = rnd.choice(hosts), rnd.choice(hosts)
    l4, proto = _random_l4(rnd, src, dst, six)
    if not six:
        opts = rnd.choice([[], [], [], [IPOption_NOP(), IPOption_RR(routers=["10.0.0.1"])],
                           [IPOption_Timestamp(flg=0, timestamp=1)]])
        return v4(src=src, dst=dst, id=rnd.randrange(65536), proto=proto, options=opts) / l4
    atomic = IPv6ExtHdrFragment(offset=0, m=0, id=rnd.randrange(1 << 32))
    ah = AH(payloadlen=4, spi=rnd.randrange(1, 1 << 32), seq=1, icv=b"\xaa" * 12)
    chain = rnd.choice([[], [], [], [IPv6ExtHdrHopByHop()], [IPv6ExtHdrDestOpt()],
                        [IPv6ExtHdrHopByHop(), IPv6ExtHdrRouting(addresses=[], segleft=0)],
                        [IPv6ExtHdrHopByHop(), IPv6ExtHdrDestOpt()], [atomic], [ah],
                        [IPv6ExtHdrHopByHop(), ah], [IPv6ExtHdrDestOpt(), atomic]])
    pkt = v6(src=src, dst=dst, nh=EXT_NUMBER[type(chain[0])] if chain else proto)
    for i, h in enumerate(chain):
        h.nh = proto if i == len(chain) - 1 else EXT_NUMBER[type(chain[i + 1])]
        pkt = pkt / h
    return pkt / l4


#: IPv6 extension headers' next-header numbers
EXT_NUMBER = {IPv6ExtHdrHopByHop: 0, IPv6ExtHdrRouting: 43, IPv6ExtHdrFragment: 44, AH: 51,
              IPv6ExtHdrDestOpt: 60}


def _random_link(rnd: random.Random, ip, six: bool, provider: bool = False) -> bytes:
    """Ethernet with VLAN tags, MPLS labels or a PPPoE session around an IP packet; with
    `provider`, also a provider encapsulation (802.1ah, an Ethernet pseudowire, NSH,
    LLC/SNAP after a tag). Without it the choices, and so the captures, are those of
    the files made before provider encapsulations were read."""
    kinds = ["plain", "vlan", "qinq", "mpls", "vlan-mpls", "pppoe"]
    weights = [50, 15, 10, 10, 5, 10]
    if provider:
        kinds, weights = [*kinds, "provider"], [*weights, 40]
    kind = rnd.choices(kinds, weights)[0]
    e = Ether(src=MAC_A, dst=MAC_B)
    if kind == "plain":
        return raw(e / ip)
    if kind == "provider":
        return _random_provider(rnd, ip, six)
    if kind == "vlan":
        return raw(e / Dot1Q(vlan=rnd.randrange(1, 4095)) / ip)
    if kind == "qinq":
        return raw(e / Dot1AD(vlan=rnd.randrange(1, 4095)) / Dot1Q(vlan=rnd.randrange(1, 4095)) / ip)
    if kind == "pppoe":
        return raw(e / PPPoE(sessionid=0x11) / PPP(proto=0x0057 if six else 0x0021) / ip)
    labels = [MPLS(label=rnd.randrange(16, 1 << 20), s=0, ttl=64)
              for _ in range(rnd.randrange(1, 4))]
    labels[-1].s = 1
    stack = labels[0]
    for m in labels[1:]:
        stack = stack / m
    if kind == "mpls":
        return raw(Ether(src=MAC_A, dst=MAC_B, type=0x8847) / stack / ip)
    return raw(e / Dot1Q(vlan=rnd.randrange(1, 4095), type=0x8847) / stack / ip)


def _random_provider(rnd: random.Random, ip, six: bool) -> bytes:
    """One of cap_link_provider's encapsulations around an IP packet."""
    et = b"\x86\xdd" if six else b"\x08\x00"
    cust = Ether(src=CUST_A, dst=CUST_B)
    kind = rnd.choice(["vlan-snap", "pbb", "pw", "nsh", "nsh-ethernet"])
    if kind == "vlan-snap":
        return raw(Ether(src=MAC_A, dst=MAC_B) / Dot1Q(vlan=rnd.randrange(1, 4095), type=8 + len(raw(ip)))
                   / Raw(SNAP + et) / ip)
    if kind == "pbb":
        return raw(Ether(src=MAC_A, dst=MAC_B, type=0x88E7)
                   / Raw(struct.pack("!I", rnd.randrange(1 << 24))) / cust / ip)
    if kind == "pw":
        return raw(Ether(src=MAC_A, dst=MAC_B, type=0x8847)
                   / MPLS(label=rnd.randrange(16, 1 << 20), s=1, ttl=64) / Raw(PW_CW) / cust / ip)
    if kind == "nsh":
        md1 = rnd.random() < 0.5
        return eth(Raw(_nsh(1, 2 if six else 1, bytes(16)) if md1 else _nsh(2, 2 if six else 1))
                   / ip, etype=0x894F)
    return eth(Raw(_nsh(2, 3)) / cust / ip, etype=0x894F)


def _transport_layer(ip):
    """The layer after the IP header and its extension headers."""
    layer = ip.payload
    while isinstance(layer, tuple(EXT_NUMBER)):
        layer = layer.payload
    return layer


def _sctp_window(frame: bytes, ip) -> tuple[int, int] | None:
    """The bytes of `frame` that hold an SCTP common header, if it carries one: tshark
    shows no SCTP field without all 12 (pcaps/truncated.pcap, frame 12), so the random
    captures are never cut inside them."""
    layer = _transport_layer(ip)
    if not isinstance(layer, SCTP):
        return None
    l4 = len(frame) - len(raw(layer))
    return l4, l4 + 12


def _random_cut(rnd: random.Random, frame: bytes, ip, low: int) -> int:
    """A captured length from `low` up, before an SCTP common header or after it."""
    cut = rnd.randrange(low, len(frame))
    sctp = _sctp_window(frame, ip)
    if sctp:
        cut = rnd.choice([max(low, sctp[0] - rnd.randrange(0, 8)), sctp[1] + rnd.randrange(0, 8)])
    return min(cut, len(frame))


def cap_random_stacks(seed: int = 20261202, count: int = 1500, provider: bool = False) -> bytes:
    """1,500 frames of seeded random layer stacks: link wrappers x IP options and extension
    chains x transports, a few ARP frames, some IP-fragmented (in order, swapped, orphaned) and some cut
    short by the snaplen, for frame-by-frame agreement with tshark on combinations the
    hand-written files do not spell out. `provider` adds the provider encapsulations."""
    rnd = random.Random(seed)
    frames: list[bytes] = []
    cuts: dict[int, int] = {}
    while len(frames) < count:
        if rnd.random() < 0.02:
            frames.append(raw(Ether(src=MAC_A, dst="ff:ff:ff:ff:ff:ff")
                              / ARP(op=1, hwsrc=MAC_A, psrc=V4_A, pdst=V4_B)))
            continue
        ip = _random_ip(rnd)
        six = isinstance(ip, IPv6)
        header = 40 if six else (raw(ip)[0] & 15) * 4
        if (rnd.random() < 0.15 and isinstance(ip.payload, (TCP, UDP))
                and len(raw(ip)) - header > 32):
            parts = (_frag6(ip, rnd.randrange(1 << 32), 32) if six else _frag4(ip, 32))
            if rnd.random() < 0.3:
                parts[0], parts[1] = parts[1], parts[0]
            if rnd.random() < 0.2:
                parts = parts[1:]
            frames += [_random_link(rnd, p, six, provider) for p in parts]
            continue
        frame = _random_link(rnd, ip, six, provider)
        if rnd.random() < 0.08:
            cuts[len(frames)] = _random_cut(rnd, frame, ip, 12)
        frames.append(frame)
    return pcap_bytes(recs(frames, caplen=cuts), LT_ETHERNET, snaplen=65535)


def _random_on_link(rnd: random.Random, linktype: int, ip, six: bool) -> bytes:
    """An IP packet framed for one of the non-Ethernet link types."""
    body = raw(ip)
    if linktype == LT_SLL:
        return _sll(0x86DD if six else 0x0800, body)
    if linktype == LT_SLL2:
        return _sll2(0x86DD if six else 0x0800, body)
    if linktype == LT_NULL:
        return struct.pack("<I", rnd.choice([24, 28, 30]) if six else 2) + body
    if linktype == LT_LOOP:
        return struct.pack("!I", rnd.choice([24, 28, 30]) if six else 2) + body
    if linktype in (LT_PPP, LT_PPP_WITH_DIR):
        ppp = rnd.choice([b"\xff\x03", b""]) + (b"\x00\x57" if six else b"\x00\x21") + body
        return (rnd.choice([b"\x00", b"\x01"]) if linktype == LT_PPP_WITH_DIR else b"") + ppp
    ethertype = b"\x86\xdd" if six else b"\x08\x00"
    if linktype == LT_C_HDLC:
        return rnd.choice([b"\x0f\x00", b"\x8f\x00"]) + ethertype + body
    if linktype == LT_PFLOG:
        return _pflog(rnd.choice([100, 61, 69]), rnd.choice([24, 28, 30]) if six else 2) + body
    if linktype == LT_NFLOG:
        return _nflog(10 if six else 2, body, "<")
    if linktype in (LT_IEEE802_11, LT_RADIOTAP, LT_PPI, LT_PRISM, LT_AVS):
        flags = rnd.choice([0x01, 0x02, 0x03])
        qos = rnd.choice([None, 0, 5])
        if qos is not None and rnd.random() < 0.3:
            flags |= 0x80  # HT control follows the QoS control
        frame = _wlan(0 if qos is None else 8, flags, SNAP + ethertype + body, qos=qos,
                      ht=bool(flags & 0x80))
        if linktype == LT_RADIOTAP:
            return struct.pack("<BBHI", 0, 0, 8, 0) + frame
        if linktype == LT_PPI:
            return struct.pack("<BBHI", 0, 0, 8, LT_IEEE802_11) + frame
        if linktype == LT_PRISM:
            return rnd.choice([_prism(0x44), _prism(0x41), _avs(1, 64)]) + frame
        if linktype == LT_AVS:
            return rnd.choice([_avs(1, 64), _avs(2, 80)]) + frame
        return frame
    return body  # LT_RAW, LT_IPV4, LT_IPV6


def cap_random_links(seed: int = 20261203, count: int = 1200) -> bytes:
    """Random stacks (as cap_random_stacks) over every link type portannot reads, in one
    little-endian pcapng section: one interface per link type, each with its own
    timestamp resolution, the packets of all interleaved; some cut short."""
    rnd = random.Random(seed)
    links = [(LT_ETHERNET, 6), (LT_SLL, 9), (LT_SLL2, 0x94), (LT_RAW, 3), (LT_NULL, 6),
             (LT_LOOP, 9), (LT_PPP, 6), (LT_IPV4, 9), (LT_IPV6, 6), (LT_C_HDLC, 6),
             (LT_PFLOG, 6), (LT_NFLOG, 9), (LT_IEEE802_11, 6), (LT_RADIOTAP, 9), (LT_PPI, 6),
             (LT_PRISM, 6), (LT_AVS, 9), (LT_PPP_WITH_DIR, 6)]
    blocks = [shb("<")] + [idb("<", lt, tsresol=res) for lt, res in links]
    t0 = BASE_TS * 10**9
    for n in range(count):
        ip = _random_ip(rnd)
        six = isinstance(ip, IPv6)
        choices = [i for i, (lt, _) in enumerate(links)
                   if not (lt == LT_IPV4 and six) and not (lt == LT_IPV6 and not six)]
        iface = rnd.choice(choices)
        lt, res = links[iface]
        frame = _random_link(rnd, ip, six) if lt == LT_ETHERNET else _random_on_link(rnd, lt, ip, six)
        cut = _random_cut(rnd, frame, ip, 1) if rnd.random() < 0.08 else len(frame)
        rec = Rec(frame[:cut], len(frame), t0 + n * 1_000_000 + rnd.randrange(1000) * 1000, iface)
        blocks.append(epb("<", rec, tsresol=res))
    return b"".join(blocks)


def cap_random_blocks(seed: int = 20261204, count: int = 800) -> bytes:
    """A pcapng file of random layout: one to three sections, each of either byte order,
    with one to four interfaces (link type, timestamp resolution, offset and snaplen
    drawn at random) and packets in enhanced, simple and obsolete packet blocks among
    name-resolution, statistics and custom blocks; the packets are random stacks."""
    rnd = random.Random(seed)
    kinds = [LT_ETHERNET, LT_SLL, LT_RAW, LT_NULL, LT_IPV4, LT_IPV6]
    out = []
    t = BASE_TS * 10**9
    n = 0
    while n < count:
        e = rnd.choice("<>")
        out.append(shb(e, rnd.choice([None, "random section"])))
        ifaces = []
        for _ in range(rnd.randrange(1, 5)):
            lt = rnd.choice(kinds)
            res = rnd.choice([None, 3, 6, 9, 0x8A, 0x94])
            offset = rnd.choice([0, 0, 1000])
            snaplen = rnd.choice([0, 65535, 200, 96])
            ifaces.append((lt, res, offset, snaplen))
            out.append(idb(e, lt, snaplen=snaplen, tsresol=res, tsoffset=offset or None))
        for _ in range(rnd.randrange(1, count - n + 1)):
            block = rnd.choices(["epb", "spb", "opb", "nrb", "isb", "custom"],
                                [80, 5, 5, 3, 4, 3])[0]
            if block == "nrb":
                out.append(nrb(e))
                continue
            if block == "isb":
                out.append(isb(e, rnd.randrange(len(ifaces)), t, n))
                continue
            if block == "custom":
                out.append(custom_block(e, copy=rnd.random() < 0.5))
                continue
            iface = 0 if block == "spb" else rnd.randrange(len(ifaces))
            lt, res, offset, snaplen = ifaces[iface]
            ip = _random_ip(rnd)
            six = isinstance(ip, IPv6)
            if (lt == LT_IPV4 and six) or (lt == LT_IPV6 and not six):
                ip = v4() / udp(40000 + n, 53) if lt == LT_IPV4 else v6() / udp(40000 + n, 53)
                six = lt == LT_IPV6
            frame = (_random_link(rnd, ip, six) if lt == LT_ETHERNET
                     else _random_on_link(rnd, lt, ip, six))
            keep = min(len(frame), snaplen) if snaplen else len(frame)
            sctp = _sctp_window(frame, ip)
            if sctp and sctp[0] + 4 <= keep < sctp[1]:
                continue  # the snaplen would cut the SCTP common header
            t += rnd.randrange(1, 5_000_000)
            rec = Rec(frame[:keep], len(frame), t, iface)
            if block == "spb":
                out.append(spb(e, rec))
            elif block == "opb":
                out.append(opb(e, rec, res, offset))
            else:
                out.append(epb(e, rec, res, offset, comment=rnd.choice([None, None, "note"])))
            n += 1
            if n >= count:
                break
    return b"".join(out)


# --------------------------------------------------------------------------- demo

def cap_demo() -> bytes:
    """The README's demo: a few hundred packets of ordinary traffic on well-known ports."""
    rnd = random.Random(20240101)
    frames: list[tuple[float, bytes]] = []
    t = 0.0

    def add(pkt, dt: float = 0.002) -> None:
        nonlocal t
        t += dt
        frames.append((t, eth(pkt) if not isinstance(pkt, bytes) else pkt))

    def tcp_conv(mk_ip, cli, srv, cport, sport, exchanges, handshake=True, close=True):
        cs, ss = 1000 + cport, 50000 + sport
        ip_c = lambda: mk_ip(cli, srv)  # noqa: E731
        ip_s = lambda: mk_ip(srv, cli)  # noqa: E731
        if handshake:
            add(ip_c() / tcp(cport, sport, "S", seq=cs - 1), 0.01)
            add(ip_s() / tcp(sport, cport, "SA", seq=ss - 1, ack=cs))
            add(ip_c() / tcp(cport, sport, "A", seq=cs, ack=ss))
        for req, resp in exchanges:
            add(ip_c() / tcp(cport, sport, "PA", seq=cs, ack=ss, payload=req))
            cs += len(req)
            for chunk in resp:
                add(ip_s() / tcp(sport, cport, "PA", seq=ss, ack=cs, payload=chunk), 0.001)
                ss += len(chunk)
            add(ip_c() / tcp(cport, sport, "A", seq=cs, ack=ss))
        if close:
            add(ip_c() / tcp(cport, sport, "FA", seq=cs, ack=ss))
            add(ip_s() / tcp(sport, cport, "FA", seq=ss, ack=cs + 1))
            add(ip_c() / tcp(cport, sport, "A", seq=cs + 1, ack=ss + 1))

    def mk4(a, b):
        return v4(a, b, id=rnd.randrange(65536))

    def mk6(a, b):
        return v6(a, b)

    def blob(n: int) -> bytes:
        return bytes(rnd.randrange(256) for _ in range(n))

    cli4, cli6 = "192.0.2.10", "2001:db8:10::10"
    # http (80), IPv4, two requests
    tcp_conv(mk4, cli4, "198.51.100.80", 49152, 80, [
        (b"GET / HTTP/1.1\r\nHost: www.example\r\n\r\n", [blob(400), blob(300)]),
        (b"GET /logo.png HTTP/1.1\r\nHost: www.example\r\n\r\n", [blob(500), blob(500), blob(120)]),
    ])
    # https (443), IPv4 and IPv6
    tcp_conv(mk4, cli4, "198.51.100.43", 49153, 443,
             [(blob(300), [blob(500), blob(500), blob(200)]), (blob(120), [blob(60)])] * 3)
    tcp_conv(mk6, cli6, "2001:db8:443::1", 49154, 443,
             [(blob(280), [blob(500), blob(400)]), (blob(90), [blob(300)])] * 3)
    # ssh (22), IPv6, many small packets
    tcp_conv(mk6, cli6, "2001:db8:22::1", 49155, 22,
             [(b"SSH-2.0-OpenSSH_9.6\r\n", [b"SSH-2.0-OpenSSH_9.2\r\n"])]
             + [(blob(48), [blob(48)]) for _ in range(20)])
    # a client using the registered source port 80 towards an unregistered high port
    tcp_conv(mk4, "192.0.2.80", "198.51.100.99", 80, 40500,
             [(blob(100), [blob(200)]), (blob(100), [blob(200)])])
    # mid-stream mysql (3306): no SYN seen, no FIN; server speaks first in the capture
    srv, cl = "192.0.2.33", "192.0.2.34"
    ss, cs = 70000, 90000
    for _ in range(12):
        q = blob(rnd.randrange(20, 120))
        add(mk4(srv, cl) / tcp(3306, 52000, "PA", seq=ss, ack=cs, payload=blob(rnd.randrange(40, 400))))
        ss += 400
        add(mk4(cl, srv) / tcp(52000, 3306, "PA", seq=cs, ack=ss, payload=q))
        cs += len(q)
    # DNS over UDP, IPv4 and IPv6 (client ports vary)
    for i in range(20):
        qid = 0x1000 + i
        cport = 33000 + 17 * i
        query = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + b"\x03www\x07example\x03com\x00\x00\x01\x00\x01"
        answer = struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + query[12:] + bytes.fromhex(
            "c00c000100010000012c0004c6336407")
        if i % 2:
            add(mk6(cli6, "2001:db8:53::53") / udp(cport, 53, query), 0.05)
            add(mk6("2001:db8:53::53", cli6) / udp(53, cport, answer))
        else:
            add(mk4(cli4, "198.51.100.53") / udp(cport, 53, query), 0.05)
            add(mk4("198.51.100.53", cli4) / udp(53, cport, answer))
    # SCTP association to m3ua (2905)
    sa, sb = "192.0.2.29", "198.51.100.29"
    add(mk4(sa, sb) / sctp_init(40001, 2905), 0.01)
    add(mk4(sb, sa) / SCTP(sport=2905, dport=40001, tag=0x11111111)
        / SCTPChunkInitAck(init_tag=0x22222222, a_rwnd=65535, n_out_streams=2, n_in_streams=2,
                           init_tsn=100))
    add(mk4(sa, sb) / SCTP(sport=40001, dport=2905, tag=0x22222222) / SCTPChunkCookieEcho(cookie=b"\0" * 16))
    add(mk4(sb, sa) / SCTP(sport=2905, dport=40001, tag=0x11111111) / SCTPChunkCookieAck())
    for i in range(8):
        add(mk4(sa, sb) / SCTP(sport=40001, dport=2905, tag=0x22222222)
            / SCTPChunkData(tsn=1 + i, stream_id=1, stream_seq=i, proto_id=3, data=blob(60)))
        add(mk4(sb, sa) / SCTP(sport=2905, dport=40001, tag=0x11111111)
            / SCTPChunkSACK(cumul_tsn_ack=1 + i, a_rwnd=65535))
    # DCCP exchange on 5004 (avt-profile-1), IPv4
    da, db = "192.0.2.50", "198.51.100.50"
    seqc, seqs = 1, 500

    def dpk(src, dst, sport, dport, ptype, seq, ack=None, service=None, payload=b""):
        ip = IP(src=src, dst=dst, id=rnd.randrange(65536), ttl=64, proto=33)
        return ip / Raw(dccp(sport, dport, ptype, seq, ack, service, payload, src=src, dst=dst))

    add(dpk(da, db, 45678, 5004, 0, seqc, service=0x52545020), 0.01)       # Request
    add(dpk(db, da, 5004, 45678, 1, seqs, ack=seqc, service=0x52545020))  # Response
    seqc += 1
    add(dpk(da, db, 45678, 5004, 3, seqc, ack=seqs))                      # Ack
    for _ in range(10):
        seqs += 1
        add(dpk(db, da, 5004, 45678, 2, seqs, payload=blob(160)))          # Data
        seqc += 1
        add(dpk(da, db, 45678, 5004, 3, seqc, ack=seqs))                   # Ack
    seqs += 1
    add(dpk(db, da, 5004, 45678, 5, seqs, ack=seqc))                       # CloseReq
    seqc += 1
    add(dpk(da, db, 45678, 5004, 6, seqc, ack=seqs))                       # Close
    seqs += 1
    add(dpk(db, da, 5004, 45678, 7, seqs, ack=seqc))                       # Reset
    # some ICMP echo and ARP, for colour
    for i in range(3):
        add(mk4(cli4, "198.51.100.80") / ICMP(type=8, id=7, seq=i) / Raw(b"\0" * 32), 0.2)
        add(mk4("198.51.100.80", cli4) / ICMP(type=0, id=7, seq=i) / Raw(b"\0" * 32))
    add(raw(Ether(src=MAC_A, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=MAC_A, psrc=cli4,
                                                           pdst="192.0.2.1")), 0.1)
    records = []
    for off, f in frames:
        ts = BASE_TS * 10**9 + int(round(off * 1e6)) * 1000
        records.append(Rec(f, len(f), ts))
    return pcap_bytes(records, LT_ETHERNET)


# --------------------------------------------------------------------------- files

def gz(b: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as f:
        f.write(b)
    return buf.getvalue()


def arrow_packed(b: bytes, codec: str) -> bytes:
    """zstd or LZ4 (frame format) with pyarrow's codecs at their default levels: the
    same bytes for the same bundled library versions."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    out = pa.CompressedOutputStream(sink, codec)
    out.write(b)
    out.close()
    return sink.getvalue().to_pybytes()


def captures() -> dict[str, bytes]:
    files = {
        "demo.pcap": cap_demo(),
        "link-ethernet-vlan.pcap": cap_link_ethernet(),
        "link-mpls.pcap": cap_link_mpls(),
        "link-pppoe.pcap": cap_link_pppoe(),
        "link-provider.pcap": cap_link_provider(),
        "link-sll.pcap": cap_link_sll(),
        "link-sll2.pcap": cap_link_sll2(),
        "link-raw101.pcap": cap_link_raw(LT_RAW),
        "link-ipv4-228.pcap": cap_link_raw(LT_IPV4),
        "link-ipv6-229.pcap": cap_link_raw(LT_IPV6),
        "link-null-le.pcap": cap_link_null("<", "<"),
        "link-null-be.pcap": cap_link_null(">", ">"),
        "link-null-swapped.pcap": cap_link_null("<", ">"),
        "link-loop.pcap": cap_link_loop(),
        "link-ppp.pcap": cap_link_ppp(),
        "link-ppp-dir.pcap": cap_link_ppp_dir(),
        "link-chdlc.pcap": cap_link_chdlc(),
        "link-pflog.pcap": cap_link_pflog(),
        "link-nflog.pcap": cap_link_nflog("<"),
        "link-nflog-be.pcap": cap_link_nflog(">"),
        "link-80211.pcap": cap_link_80211(),
        "link-radiotap.pcap": cap_link_radiotap(),
        "link-ppi.pcap": cap_link_ppi(),
        "link-prism.pcap": cap_link_prism(),
        "link-avs.pcap": cap_link_avs(),
        "pcap-usec-le.pcap": cap_pcap_variant("<", False),
        "pcap-usec-be.pcap": cap_pcap_variant(">", False),
        "pcap-nsec-le.pcap": cap_pcap_variant("<", True),
        "pcap-nsec-be.pcap": cap_pcap_variant(">", True),
        "pcapng-simple.pcapng": cap_pcapng_simple(),
        "pcapng-multi.pcapng": cap_pcapng_multi(),
        "ipv4-options.pcap": cap_ipv4_options(),
        "ipv6-ext-headers.pcap": cap_ipv6_ext(),
        "source-routes.pcap": cap_source_routes(),
        "fragments.pcap": cap_fragments(),
        "fragment-ends.pcap": cap_fragment_ends(),
        "transports.pcap": cap_transports(),
        "truncated.pcap": cap_truncated(),
        "malformed.pcap": cap_malformed(),
        "random-stacks.pcap": cap_random_stacks(),
        "random-provider.pcap": cap_random_stacks(seed=20261205, count=600, provider=True),
        "random-links.pcapng": cap_random_links(),
        "random-blocks.pcapng": cap_random_blocks(),
    }
    for name in ("pcap-usec-le.pcap", "pcapng-multi.pcapng"):
        data = files[name]
        files[name + ".gz"] = gz(data)
        files[name + ".bz2"] = bz2.compress(data, 9)
        files[name + ".xz"] = lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64,
                                            preset=6)
        files[name + ".zst"] = arrow_packed(data, "zstd")
        files[name + ".lz4"] = arrow_packed(data, "lz4")
    return files


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE, help="output directory (default: pcaps/)")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in captures().items():
        (args.out / name).write_bytes(data)
        print(f"{name:32s} {len(data):7d} bytes")


if __name__ == "__main__":
    main()
