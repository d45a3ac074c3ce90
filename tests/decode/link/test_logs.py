"""link/logs: pf log headers and NFLOG entries."""

from __future__ import annotations

import struct

import pytest
from capgen import write_pcap
from linkframes import (
    A4,
    B4,
    DPORT,
    IP4,
    IP6,
    LINKTYPE_NFLOG,
    LINKTYPE_PFLOG,
    MALFORMED,
    NON_IP,
    SPORT,
    V4,
    V6,
    ipv4_length,
    pflog_header,
)
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.pflog import PFLog
from tshark_oracle import TSHARK, oracle


def test_pflog_header_length_and_family(decoded):
    """The header says its length (byte 0, at least 45: OpenBSD 3.4's), padded to 4."""
    scapy_built = bytes(PFLog(addrfamily=2) / IP(IP4))  # scapy's own (longer) header
    assert decoded(LINKTYPE_PFLOG, [
        scapy_built,
        pflog_header(2, 45) + IP4,
        pflog_header(2, 61) + IP4,  # 61 -> 64
        pflog_header(2, 64) + IP4,
        pflog_header(28, 48) + IP6,
        pflog_header(7, 48) + IP4,  # not an IP family
        pflog_header(10, 48) + IP6,  # Linux's AF_INET6, not a BSD one: tshark shows data
        pflog_header(2, 44) + IP4,  # shorter than any pf header
    ]) == [V4, V4, V4, V4, V6, NON_IP, NON_IP, MALFORMED]


NFULA_PACKET_HDR, NFULA_PAYLOAD, NFULA_PREFIX = 1, 9, 10


def _tlv(kind: int, value: bytes, order: str = "<") -> bytes:
    return struct.pack(order + "HH", 4 + len(value), kind) + value + bytes(-len(value) % 4)


def _nflog(family: int, *tlvs: bytes) -> bytes:
    """family, version 0, resource id 1 (big-endian), then the attributes."""
    return bytes([family, 0]) + struct.pack(">H", 1) + b"".join(tlvs)


def test_nflog_attributes(decoded, one):
    """The packet is the payload attribute's value; the packet header attribute's
    hardware protocol (else the family) says what it is. Attribute lengths and types
    are in the capturing host's byte order, either one."""
    prefix = _tlv(NFULA_PREFIX, b"dropped\x00")
    hdr6 = _tlv(NFULA_PACKET_HDR, struct.pack(">HBB", 0x86DD, 3, 0))
    whole = _nflog(2, prefix, _tlv(NFULA_PAYLOAD, IP4))
    assert decoded(LINKTYPE_NFLOG, [
        whole,
        _nflog(2, _tlv(NFULA_PREFIX, b"x\x00", ">"), _tlv(NFULA_PAYLOAD, IP4, ">")),
        _nflog(10, _tlv(NFULA_PAYLOAD, IP6)),
        _nflog(0, hdr6, _tlv(NFULA_PAYLOAD, IP6)),  # family unspecified, the header says
        _nflog(7, _tlv(NFULA_PAYLOAD, IP4)),  # neither says IP
        _nflog(2, prefix),  # nothing logged
        _nflog(2, prefix, struct.pack("<HH", 2, NFULA_PREFIX) + bytes(4)),  # a length below 4
    ]) == [V4, V4, V6, V6, NON_IP, NON_IP, MALFORMED]
    # the payload attribute cut by the snaplen: its packet is cut
    assert one(LINKTYPE_NFLOG, (whole[:len(whole) - 8], len(whole)))[0] == "truncated"


def _payload_length(tlv: bytes, size: int) -> bytes:
    """A little-endian attribute whose length field says `size`, its bytes unchanged."""
    return struct.pack("<H", size) + tlv[2:]


def nflog_entries_read_as_tshark_reads_them() -> list[tuple[bytes, tuple]]:
    """(entry, what the decoder sees): every attribute is walked to the end of the frame
    (one that runs past it or is shorter than 4 bytes leaves no packet, wherever it is),
    the last payload and the last 8-byte packet header count, a hardware protocol of 0
    leaves the family byte to say what the packet is, which netfilter's 2 and 10 do, and
    the packet ends with its attribute. The damaged random link captures met the first
    five (their NFLOG disagreements). tshark 4.0 on each entry: test below."""
    hdr4 = _tlv(NFULA_PACKET_HDR, struct.pack(">HBB", 0x0800, 1, 0))
    hdr6 = _tlv(NFULA_PACKET_HDR, struct.pack(">HBB", 0x86DD, 1, 0))
    prefix = _tlv(NFULA_PREFIX, b"portannot\x00")
    tcp4 = bytes(IP(src=A4, dst=B4) / TCP(sport=SPORT, dport=80, flags="S"))
    udp2 = ipv4_length(0, bytes(UDP(sport=SPORT, dport=DPORT))[:2])  # length from the packet
    short_payload = _payload_length(_tlv(NFULA_PAYLOAD, tcp4), 24)
    tcp4_tail = _payload_length(_tlv(NFULA_PAYLOAD, tcp4), 28)
    tcp4_tail = tcp4_tail[:28] + b"\x00\x00" + tcp4_tail[30:]  # TCP's sequence: a 0 length
    return [
        # the payload's length shortened: TCP's bytes read as an attribute past the end
        (_nflog(2, prefix, hdr4, short_payload), MALFORMED),
        (_nflog(2, prefix, hdr4, tcp4_tail), MALFORMED),  # ... as one of length 0
        (_nflog(2, prefix, _tlv(NFULA_PAYLOAD, IP4), struct.pack("<HH", 64, 3)), MALFORMED),
        # the packet header's type damaged into a payload's: the last payload counts
        (_nflog(2, prefix, _tlv(NFULA_PAYLOAD, hdr4[4:]), _tlv(NFULA_PAYLOAD, IP4)), V4),
        (_nflog(2, prefix, _tlv(NFULA_PACKET_HDR, bytes(4)), _tlv(NFULA_PAYLOAD, IP4)), V4),
        (_nflog(10, prefix, hdr4, _tlv(NFULA_PAYLOAD, IP4)), V4),  # the header names it
        (_nflog(2, hdr6, hdr4, _tlv(NFULA_PAYLOAD, IP4)), V4),  # the last header counts
        # a header of another length names nothing
        (_nflog(2, _tlv(NFULA_PACKET_HDR, struct.pack(">HBB", 0x86DD, 1, 0) + bytes(4)),
                _tlv(NFULA_PAYLOAD, IP4)), V4),
        (_nflog(2, _tlv(NFULA_PACKET_HDR, struct.pack(">HBB", 0x88CC, 1, 0)),
                _tlv(NFULA_PAYLOAD, IP4)), NON_IP),  # an ethertype that is not IP
        (_nflog(28, _tlv(NFULA_PAYLOAD, IP6)), NON_IP),  # a BSD family: not NFLOG's
        (_nflog(2, prefix, _tlv(NFULA_PAYLOAD, IP4)) + b"\x00\x00\x00", V4),  # a stray tail
        # the packet ends with its attribute: UDP cut to 2 bytes, whatever comes after
        (_nflog(2, _tlv(NFULA_PAYLOAD, udp2), prefix),
         ("malformed", 4, A4, B4, None, 0, 0, None)),
    ]


def test_nflog_entries_read_as_tshark_reads_them(decoded):
    entries = nflog_entries_read_as_tshark_reads_them()
    assert decoded(LINKTYPE_NFLOG, [e for e, _ in entries]) == [s for _, s in entries]


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_nflog_entries_as_tshark_shows_them(tmp_path):
    """The same entries, through tshark 4.0 (tests/tshark_oracle): the addresses and
    ports where the decoder has them; none where it has no IP layer."""
    entries = nflog_entries_read_as_tshark_reads_them()
    path = write_pcap(tmp_path / "nflog.pcap", [(i * 1000, e) for i, (e, _) in enumerate(entries)],
                      linktype=LINKTYPE_NFLOG)
    for row, (_, seen) in zip(oracle(path), entries, strict=True):
        assert (row.src, row.dst, row.src_port or 0, row.dst_port or 0) == (
            seen[2], seen[3], seen[5], seen[6]), row.protocols
