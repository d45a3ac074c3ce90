"""Compiled text forms: addresses against the C library's inet_ntop, which tshark's
text matches (RFC 5952 compression for IPv6; an embedded IPv4 address dotted), epoch seconds against exact decimal arithmetic (6 and 9 digits, negatives),
TCP flag letters."""

from __future__ import annotations

import ipaddress
import random
import socket

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portannot.output.text import (
    addresses,
    epoch_seconds,
    human_bytes,
    human_duration,
    tcp_flag_text,
)


def _words(raw: list[bytes]) -> np.ndarray:
    """16-byte addresses (network order) as the (n, 2) uint64 words the kernels take."""
    return np.frombuffer(b"".join(raw), np.uint8).reshape(-1, 16).copy().view(np.uint64)


def _v4_raw(a: ipaddress.IPv4Address) -> bytes:
    return b"\0" * 10 + b"\xff\xff" + a.packed


def _random_v6(rng: random.Random) -> ipaddress.IPv6Address:
    """Groups drawn to give zero runs of every length and position (and ties)."""
    kind = rng.random()
    groups = []
    for _ in range(8):
        r = rng.random()
        if r < 0.45:
            groups.append(0)
        elif r < 0.6:
            groups.append(rng.choice((1, 0xF, 0x10, 0xFF, 0x100, 0xFFF, 0x1000, 0xFFFF)))
        else:
            groups.append(rng.randrange(0x10000))
    if kind < 0.05:
        groups = [0] * 8
    a = ipaddress.IPv6Address(b"".join(g.to_bytes(2, "big") for g in groups))
    return a


def _ntop(a: ipaddress.IPv6Address) -> str:
    """As tshark writes it. (Python's ipaddress agrees, except that before 3.13 it writes
    ::ffff:192.0.2.1 in hex, and that it never writes ::192.0.2.1 dotted.)"""
    return socket.inet_ntop(socket.AF_INET6, a.packed)


EDGE_V6 = [
    "::", "::1", "1::", "2001:db8::1", "2001:db8:0:0:1:0:0:1", "2001:0:0:1::1",
    "0:0:1:0:0:0:1:0", "1:0:0:2:0:0:3:4", "1:0:1:0:1:0:1:0", "0:1:0:1:0:1:0:1",
    "fe80::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "1:2:3:4:5:6:7:0", "0:2:3:4:5:6:7:8",
    "1:2:3:0:5:6:7:8", "1:0:0:0:0:0:0:0", "0:0:0:0:0:0:0:1", "abcd:ef01::9:0:0",
    # IPv4 embedded: mapped and compatible are dotted, the rest (NAT64, ::ffff:0:a.b.c.d) not
    "::ffff:192.0.2.1", "::ffff:0.0.0.1", "::192.0.2.1", "::0.1.0.0", "::ffff:0:102:304",
    "64:ff9b::102:304", "::2:102:304", "0:0:0:0:1:ffff:102:304",
]


def test_ipv6_edge_cases_match_inet_ntop():
    addrs = [ipaddress.IPv6Address(a) for a in EDGE_V6]
    got = addresses(_words([a.packed for a in addrs]), np.full(len(addrs), 6, np.uint8)).to_pylist()
    assert got == [_ntop(a) for a in addrs]
    assert got[EDGE_V6.index("::ffff:192.0.2.1")] == "::ffff:192.0.2.1"


def test_random_ipv6_matches_inet_ntop():
    rng = random.Random(5952)
    addrs = [_random_v6(rng) for _ in range(20_000)]
    got = addresses(_words([a.packed for a in addrs]), np.full(len(addrs), 6, np.uint8)).to_pylist()
    bad = [(_ntop(a), g) for a, g in zip(addrs, got) if g != _ntop(a)]
    assert not bad, f"{len(bad)} differ, e.g. {bad[:5]}"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([0, 0, 0, 1, 0xABCD, 0xFFFF, 0x0A0]), min_size=8, max_size=8))
def test_ipv6_zero_runs_property(groups):
    a = ipaddress.IPv6Address(b"".join(g.to_bytes(2, "big") for g in groups))
    got = addresses(_words([a.packed]), np.array([6], np.uint8)).to_pylist()
    assert got == [_ntop(a)]


def test_random_ipv4_matches_ipaddress():
    rng = random.Random(4)
    addrs = [ipaddress.IPv4Address(rng.getrandbits(32)) for _ in range(20_000)]
    addrs += [ipaddress.IPv4Address(x) for x in ("0.0.0.0", "255.255.255.255", "10.0.0.1",
                                                  "100.10.1.0", "9.99.199.255")]
    got = addresses(_words([_v4_raw(a) for a in addrs]), np.full(len(addrs), 4, np.uint8)).to_pylist()
    assert got == [str(a) for a in addrs]


def test_mixed_versions_and_nulls():
    v4 = ipaddress.IPv4Address("192.0.2.1")
    v6 = ipaddress.IPv6Address("2001:db8::5")
    raw = [_v4_raw(v4), b"\0" * 16, v6.packed, b"\0" * 16, _v4_raw(v4)]
    got = addresses(_words(raw), np.array([4, 0, 6, 6, 4], np.uint8)).to_pylist()
    assert got == ["192.0.2.1", None, "2001:db8::5", "::", "192.0.2.1"]


def test_empty_column():
    assert addresses(np.zeros((0, 2), np.uint64), np.zeros(0, np.uint8)).to_pylist() == []
    assert epoch_seconds(np.zeros(0, np.int64), 6).to_pylist() == []


# ------------------------------------------------------------------ epoch seconds

def _reference_epoch(ns: int, digits: int) -> str:
    """Exact text: sign, whole seconds, `digits` fraction digits (truncated toward zero)."""
    sign = "-" if ns < 0 else ""
    mag = abs(ns)
    sec, frac = divmod(mag, 10**9)
    frac //= 10 ** (9 - digits)
    return f"{sign}{sec}.{frac:0{digits}d}"


EPOCH_EDGES = [0, 1, 999, 1000, 999_999_999, 1_000_000_000, 1_704_067_200_500_000_000,
               1_704_067_200_504_999_160, -1, -1000, -1_000_000_000, -1_500_000_000,
               -999_999_999_000, 2**62, -(2**62), 86_400 * 10**9 * 365 * 200]


@pytest.mark.parametrize("digits", [6, 9])
def test_epoch_edges(digits):
    got = epoch_seconds(np.array(EPOCH_EDGES, np.int64), digits).to_pylist()
    assert got == [_reference_epoch(v, digits) for v in EPOCH_EDGES]


def test_epoch_nine_digits_random():
    rng = np.random.default_rng(9)
    ts = rng.integers(-(2**62), 2**62, 20_000, dtype=np.int64)
    got = epoch_seconds(ts, 9).to_pylist()
    assert got == [_reference_epoch(int(v), 9) for v in ts]


def test_epoch_six_digits_of_microsecond_times_are_exact():
    """A µs capture's times are whole µs: six digits lose nothing, negatives included."""
    rng = np.random.default_rng(6)
    us = rng.integers(-(2**52), 2**52, 20_000, dtype=np.int64)
    ts = us * 1000
    got = epoch_seconds(ts, 6).to_pylist()
    for g, u in zip(got, us.tolist()):
        sign = "-" if u < 0 else ""
        assert g == f"{sign}{abs(u) // 10**6}.{abs(u) % 10**6:06d}"
    # and the text parses back to the same instant
    from decimal import Decimal

    assert all(int(Decimal(g) * 10**6) == u for g, u in zip(got[:500], us[:500].tolist()))


def test_epoch_examples():
    got = epoch_seconds(np.array([-1_500_000_000, 1_500_000, -1000], np.int64), 6).to_pylist()
    assert got == ["-1.500000", "0.001500", "-0.000001"]
    got = epoch_seconds(np.array([1_704_067_200_504_999_160, -5], np.int64), 9).to_pylist()
    assert got == ["1704067200.504999160", "-0.000000005"]


# ------------------------------------------------------------------ TCP flags

def test_tcp_flag_letters():
    flags = np.array([0x002, 0x012, 0x011, 0x004, 0x018, 0x0C2, 0x100, 0x000, 0x1FF], np.uint16)
    got = tcp_flag_text(flags).to_pylist()
    assert got == ["S", "SA", "FA", "R", "PA", "SEC", "N", "", "FSRPAUECN"]


S = 1_000_000_000


@pytest.mark.parametrize("ns, told", [
    (0, ""),
    (59 * S + S - 1, ""),  # 59.999999999 s: under a minute, the seconds say it
    (60 * S, "1 min 0 s"),
    (3 * 60 * S + 5 * S + 123, "3 min 5 s"),
    (3_600 * S, "1 h 0 min"),  # two units, the smaller one even when 0
    (90_061 * S, "1 d 1 h"),  # 1 d 1 h 1 min 1 s: two units, cut, not rounded
    (86_399 * S, "23 h 59 min"),
    # 1kxun.pcap (ndpi): 2016-08-02 02:19:33.025824 to 2022-06-04 23:27:16.487007
    (184_280_863_461_183_000, "2,132 d 21 h"),
    (-90_061 * S, "-1 d 1 h"),  # times out of order across files
])
def test_human_duration(ns, told):
    assert human_duration(ns) == told


@pytest.mark.parametrize("n, told", [
    (0, "0 B"), (999, "999 B"), (1000, "1.0 kB"), (1_234, "1.2 kB"),
    (999_949, "999.9 kB"),
    (999_950, "1.0 MB"), (999_960, "1.0 MB"),  # was "1000.0 kB": unit chosen before rounding
    (999_950_000, "1.0 GB"), (631_000_000, "631.0 MB"),
    (5 * 10**15, "5000.0 TB"),  # the largest unit takes what is left
])
def test_human_bytes(n, told):
    """capinfos' decimal units, one decimal from kB on; no "1000.0" of a unit."""
    assert human_bytes(n) == told
