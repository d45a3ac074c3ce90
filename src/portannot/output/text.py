"""Text for people: addresses and timestamps (compiled: a column at a time), TCP flags as
letters, byte counts in decimal units.

Python's ipaddress would cost about a microsecond an address; these kernels
write every string of a column into one buffer that becomes an Arrow string
array without a copy per value.
"""

from __future__ import annotations

import functools
import os
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa

from portannot.compiled import borrow, kernel, njit
from portannot.output.arrays import arrow, strings, validity
from portannot.output.plural import counted

HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _octet_table() -> tuple[np.ndarray, np.ndarray]:
    """Each octet value's decimal digits and a dot, in 4 bytes ("7." and two spare), and
    how many of them it uses: a dotted quad is four table copies, no division."""
    text = np.zeros((256, 4), np.uint8)
    size = np.zeros(256, np.int64)
    for v in range(256):
        digits = f"{v}.".encode()
        text[v, : len(digits)] = np.frombuffer(digits, np.uint8)
        size[v] = len(digits)
    return text, size


OCTET_TEXT, OCTET_SIZE = _octet_table()


#: the longest text of an IPv6 address (eight groups of four hex digits and seven colons)
IPV6_TEXT_MAX = 39


@njit(cache=True, nogil=True, inline="always")
def _octet(w, j):
    """Octet j of the dotted quad held in the high 32 bits of `w` (an address's second
    word in memory order)."""
    return np.int64((w >> np.uint64(32 + 8 * j)) & np.uint64(0xFF))


@njit(cache=True, nogil=True)
def _put_dotted(out, o, w, octet_text, octet_size):
    """The high 32 bits of `w` (an address's second word in memory order, so its last
    four bytes) as a dotted quad. Each octet's 4 table bytes are stored whole and the
    position moves by its length: the spare bytes are overwritten by the next octet, or
    lie past the text (addresses() leaves room for them)."""
    for j in range(4):
        v = _octet(w, j)
        out[o] = octet_text[v, 0]
        out[o + 1] = octet_text[v, 1]
        out[o + 2] = octet_text[v, 2]
        out[o + 3] = octet_text[v, 3]
        o += octet_size[v]
    return o - 1  # no dot after the last octet


@kernel("i8(u8[:, ::1], u1[::1], u1[::1], u1[:, ::1], i8[::1], u1[::1], i4[::1])")
def _format_addresses(words, version, hexd, octet_text, octet_size, out, offsets):
    """words: (n, 2) uint64 in memory order; version 4, 6 or 0 (no address: empty)."""
    out = borrow(out)
    o = 0
    b = np.empty(16, np.uint8)
    g = np.empty(8, np.int64)
    for i in range(words.shape[0]):
        offsets[i] = o
        if version[i] == 0:
            continue
        if version[i] == 4:
            o = _put_dotted(out, o, words[i, 1], octet_text, octet_size)
            continue
        for k in range(2):
            w = words[i, k]
            for j in range(8):
                b[8 * k + j] = (w >> np.uint64(8 * j)) & np.uint64(0xFF)
        for j in range(8):
            g[j] = (np.int64(b[2 * j]) << 8) | np.int64(b[2 * j + 1])
        # longest run of zero groups (at least two), leftmost on a tie: RFC 5952
        best, best_len, run, run_len = -1, 1, -1, 0
        for j in range(8):
            if g[j] == 0:
                if run_len == 0:
                    run = j
                run_len += 1
                if run_len > best_len:
                    best, best_len = run, run_len
            else:
                run_len = 0
        if best == 0 and (best_len == 6 or (best_len == 5 and g[5] == 0xFFFF)):
            # IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d): the last
            # 32 bits dotted, as inet_ntop and tshark write them (RFC 5952 section 5)
            out[o] = 58
            out[o + 1] = 58
            o += 2
            if best_len == 5:
                for c in (102, 102, 102, 102, 58):  # "ffff:"
                    out[o] = c
                    o += 1
            o = _put_dotted(out, o, words[i, 1], octet_text, octet_size)
            continue
        j = 0
        while j < 8:
            if j == best:
                out[o] = 58
                o += 1
                if j == 0:
                    out[o] = 58
                    o += 1
                j += best_len
                continue
            v = g[j]
            started = False
            for sh in (12, 8, 4, 0):
                d = (v >> sh) & 0xF
                if d or started or sh == 0:
                    out[o] = hexd[d]
                    o += 1
                    started = True
            if j < 7:
                out[o] = 58
                o += 1
            j += 1
    offsets[words.shape[0]] = o
    return o


@kernel("i8(u8[:, ::1], u1[::1], i8[::1])")
def _text_bound(words, version, octet_size):
    """Bytes the text of these addresses takes: exact for IPv4 (its octets' digits),
    IPV6_TEXT_MAX for IPv6."""
    total = 0
    for i in range(words.shape[0]):
        if version[i] == 4:
            w = words[i, 1]
            for j in range(4):
                total += octet_size[_octet(w, j)]
            total -= 1
        elif version[i] != 0:
            total += IPV6_TEXT_MAX
    return total


def addresses(words: np.ndarray, version: np.ndarray) -> pa.Array:
    """Standard text forms (dotted quad, RFC 5952; an IPv6 address that embeds an
    IPv4 one as inet_ntop writes it) of address words; null where no IP.

    The text buffer is sized by a first pass (_text_bound): a column of IPv4
    addresses is written in place, where a buffer of 39 bytes an address, cut to
    size by a copy, had cost more than the formatting."""
    n = words.shape[0]
    words = np.ascontiguousarray(words)
    version = version.astype(np.uint8)
    bound = _text_bound(words, version, OCTET_SIZE)
    out = np.empty(bound + 3, np.uint8)  # + 3: the dotted quad's whole 4-byte stores
    offsets = np.empty(n + 1, np.int32)
    size = _format_addresses(words, version, HEX, OCTET_TEXT, OCTET_SIZE, out, offsets)
    data = out[:size] if size == bound else out[:size].copy()  # IPv6 shorter than its bound
    bitmap, nulls = validity(version != 0)
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(data), bitmap, null_count=nulls,
    )


@kernel("i8(i8[::1], i8, u1[::1], i4[::1])")
def _format_epoch(ts, digits, out, offsets):
    o = 0
    buf = np.empty(24, np.uint8)
    div = 1
    for _ in range(9 - digits):
        div *= 10
    for i in range(ts.shape[0]):
        offsets[i] = o
        v = ts[i]
        neg = v < 0
        if neg:
            v = -v
            out[o] = 45
            o += 1
        sec = v // 1_000_000_000
        frac = (v % 1_000_000_000) // div
        k = 0
        while True:
            buf[k] = 48 + sec % 10
            sec //= 10
            k += 1
            if sec == 0:
                break
        while k > 0:
            k -= 1
            out[o] = buf[k]
            o += 1
        if digits > 0:
            out[o] = 46
            o += 1
            for j in range(digits - 1, -1, -1):
                out[o + j] = 48 + frac % 10
                frac //= 10
            o += digits
    offsets[ts.shape[0]] = o
    return o


def epoch_seconds(ts_ns: np.ndarray, digits: int) -> pa.Array:
    """Epoch seconds as decimal text with `digits` fraction digits (6 for µs captures)."""
    n = ts_ns.shape[0]
    out = np.empty(max(n * 32, 1), np.uint8)
    offsets = np.empty(n + 1, np.int32)
    size = _format_epoch(ts_ns.astype(np.int64), int(digits), out, offsets)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out[:size].copy()))


def utc_time(ts_ns: int, digits: int) -> str:
    """An epoch-nanosecond time as UTC date and time with `digits` fraction digits, as
    capinfos writes it ("2024-01-01 00:00:00.000000002"): the capture's precision, which
    a float of seconds loses past the microsecond. The fraction is cut, not rounded, as
    in epoch_seconds."""
    sec, frac = divmod(ts_ns, 1_000_000_000)
    text = (datetime(1970, 1, 1) + timedelta(seconds=sec)).strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{frac // 10 ** (9 - digits):0{digits}d}" if digits else text


TCP_FLAG_LETTERS = "FSRPAUECN"


def tcp_flag_text(flags: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """TCP flags as letters (tcpdump's F S R P A U E C, N for the old nonce bit); null
    where `valid` is False."""
    flags = flags.astype(np.intp)
    present = np.flatnonzero(np.bincount(flags, minlength=1))  # the flag sets seen, in order
    code = np.zeros(present[-1] + 1 if present.size else 1, np.int32)
    code[present] = np.arange(present.size, dtype=np.int32)
    words = ["".join(ch for bit, ch in enumerate(TCP_FLAG_LETTERS) if int(u) >> bit & 1)
             for u in present]
    return pa.DictionaryArray.from_arrays(arrow(code[flags], pa.int32(), valid), strings(words))


def human_bytes(n: float) -> str:
    """A byte count in decimal units (kB = 1000 B), as capinfos and tshark's tables give
    them: one decimal from kB on. The unit is chosen after rounding: 999,960 B is
    "1.0 MB", not "1000.0 kB"."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        shown = f"{n:.0f}" if unit == "B" else f"{n:.1f}"
        if abs(float(shown)) < 1000 or unit == "TB":
            return f"{shown} {unit}"
        n /= 1000
    return str(n)


#: the units a long span is told in, largest first, and their length in seconds
DURATION_UNITS = (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1))


def human_duration(ns: int) -> str:
    """A span of a minute or more in its two largest units, whole ("2,132 d 21 h",
    "1 h 0 min", "3 min 5 s"), beside the exact seconds: 184280863.461183 s does not say
    at a glance that a capture's clock jumped six years. Shorter spans: "" (their
    seconds say it)."""
    seconds = abs(ns) // 1_000_000_000
    if seconds < 60:
        return ""
    parts = []
    for unit, size in DURATION_UNITS:
        if parts or seconds >= size:
            parts.append(f"{seconds // size:,} {unit}")
            seconds %= size
        if len(parts) == 2:
            break
    return ("-" if ns < 0 else "") + " ".join(parts)


def files_read(files: int, unreadable: int) -> str:
    """"from 1 file", "from 2 files", or "from 1 of 2 files (1 could not be read)": a
    total that counts a skipped input as read would overstate what the numbers cover."""
    if not unreadable:
        return f"from {counted(files, 'file')}"
    return (f"from {files - unreadable:,} of {counted(files, 'file')} "
            f"({unreadable:,} could not be read)")


def text_path(path: str) -> str:
    """A file name as text: bytes that are not UTF-8 (which os.fsdecode keeps as lone
    surrogates, and JSON cannot hold: written out, they made the document invalid)
    as backslash escapes, b'caf\\xe9.pcap' -> 'caf\\\\xe9.pcap'."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


#: IP protocol numbers -> the names a Wireshark user reads in its Protocol column and in
#: `ip.proto` ("ICMPv6", "ESP", "IPIP (4)"), lower case like the transports; a number
#: not here is shown as itself
IP_PROTOCOL_NAMES = {
    0: "hopopt", 1: "icmp", 2: "igmp", 4: "ipip", 6: "tcp", 8: "egp", 17: "udp", 33: "dccp",
    41: "ipv6", 43: "ipv6-route", 44: "ipv6-frag", 46: "rsvp", 47: "gre", 50: "esp",
    51: "ah", 58: "icmpv6", 59: "ipv6-nonxt", 60: "ipv6-opts", 88: "eigrp", 89: "ospf",
    103: "pim", 108: "ipcomp", 112: "vrrp", 115: "l2tp", 132: "sctp", 136: "udplite",
    137: "mpls",
}


def ip_protocol_text(ip_proto: pa.Array) -> pa.Array:
    """IP protocol numbers (uint8, null where no IP) as names (`icmp`, `esp`, `gre`), or
    the number as text where unnamed (`253`): the packets table shows them for rows
    without ports, which otherwise all looked alike."""
    return _protocol_names().take(ip_proto)


@functools.cache
def _protocol_names() -> pa.Array:
    """The text of every protocol number, 0 to 255, made once."""
    return strings([IP_PROTOCOL_NAMES.get(p, str(p)) for p in range(256)])
