"""capture/pseudo_headers: a link type's pseudo-header is taken off each record, as
wiretap does, so lengths are tshark's (frame.len, frame.cap_len) and the frame starts
after it."""

from __future__ import annotations

import subprocess

import pytest
from capgen import write_pcap, write_pcapng
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from tshark_oracle import TSHARK

from portannot.capture import iter_records
from portannot.decode import decode_file
from portannot.status import STATUS_NAMES

LINKTYPE_ETHERNET, LINKTYPE_PPP_WITH_DIR = 1, 204
T0 = 1_700_000_000 * 10**9
IP4 = bytes(IP(src="192.0.2.1", dst="198.51.100.2") / UDP(sport=40000, dport=53))
PPP_DIR = b"\x01\xff\x03\x00\x21" + IP4  # sent; address, control, IPv4
ETHER = bytes(Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b", type=0x0800) / IP4)


def lengths(path) -> list[tuple[int, int, bytes]]:
    """(caplen, length, first two bytes of the frame) of every record."""
    out = []
    for b in iter_records(str(path)):
        for i in range(len(b)):
            out.append((int(b.caplen[i]), int(b.length[i]), b.record(i)[:2]))
    return out


def tshark_lengths(path) -> list[tuple[int, int]]:
    text = subprocess.run([TSHARK, "-r", str(path), "-T", "fields", "-e", "frame.cap_len",
                           "-e", "frame.len"], capture_output=True, text=True, check=True).stdout
    return [tuple(int(x) for x in line.split("\t")) for line in text.splitlines()]


def test_pcap_records_lose_the_direction_byte(tmp_path):
    cap = write_pcap(tmp_path / "dir.pcap", [(T0, PPP_DIR), (T0 + 1, PPP_DIR[:10], len(PPP_DIR)),
                                             (T0 + 2, b"", 30)],
                     linktype=LINKTYPE_PPP_WITH_DIR)
    n = len(PPP_DIR)
    # the frame starts at the PPP address byte; a record cut inside the pseudo-header
    # keeps no bytes and its original length loses the byte all the same
    assert lengths(cap) == [(n - 1, n - 1, b"\xff\x03"), (9, n - 1, b"\xff\x03"), (0, 29, b"")]
    b = decode_file(cap)
    assert [STATUS_NAMES[s] for s in b.status] == ["ports", "truncated", "truncated"]
    assert int(b.dst_port[0]) == 53
    if TSHARK:  # tshark refuses a file once a record lacks its pseudo-header: the first two
        two = write_pcap(tmp_path / "two.pcap", [(T0, PPP_DIR), (T0 + 1, PPP_DIR[:10], len(PPP_DIR))],
                         linktype=LINKTYPE_PPP_WITH_DIR)
        assert tshark_lengths(two) == [(n - 1, n - 1), (9, n - 1)]


def test_pcapng_strips_only_the_interfaces_that_have_one(tmp_path):
    cap = write_pcapng(tmp_path / "mixed.pcapng",
                       [(T0, PPP_DIR, 1), (T0 + 1000, ETHER, 0), (T0 + 2000, PPP_DIR, 1)],
                       linktypes=(LINKTYPE_ETHERNET, LINKTYPE_PPP_WITH_DIR))
    n, e = len(PPP_DIR) - 1, len(ETHER)
    assert lengths(cap) == [(n, n, b"\xff\x03"), (e, e, ETHER[:2]), (n, n, b"\xff\x03")]
    assert [int(p) for p in decode_file(cap).dst_port] == [53, 53, 53]
    if TSHARK:
        assert tshark_lengths(cap) == [(n, n), (e, e), (n, n)]


@pytest.mark.parametrize("linktype", [LINKTYPE_ETHERNET, 9, 101])
def test_other_link_types_keep_their_lengths(tmp_path, linktype):
    cap = write_pcap(tmp_path / "plain.pcap", [(T0, ETHER)], linktype=linktype)
    assert lengths(cap) == [(len(ETHER), len(ETHER), ETHER[:2])]
