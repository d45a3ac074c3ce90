"""The capture readers on the formats of pcaps/: pcap µs/ns in both byte orders,
multi-section multi-interface pcapng against tshark, compressed copies, and a tiny
chunk size (records straddling chunks, records larger than a chunk).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
from capgen import dpkt_frames, layout, write_pcap, write_pcapng, write_pcapng_ticks
from dpkt import pcapng as ng
from packing import NAMES, PACK, SUFFIXES
from paths import local_capture, shared_capture

from portannot.capture import CaptureReader, as_paths, iter_records
from portannot.capture.walk import TS_LIMIT
from portannot.decode import decode_file

TSHARK = shutil.which("tshark")


def records(path, **kw) -> tuple[list[tuple], CaptureReader]:
    """(number, ts_ns, caplen, length, linktype, interface, bytes) per record."""
    reader = CaptureReader(str(path), **kw)
    out = []
    for b in reader:
        for i in range(len(b)):
            out.append((int(b.numbers[i]), int(b.ts_ns[i]), int(b.caplen[i]), int(b.length[i]),
                        int(b.linktype[i]), int(b.interface[i]), b.record(i)))
    return out, reader


# ------------------------------------------------------------------ pcap variants

PCAP_VARIANTS = ["pcap-usec-le.pcap", "pcap-usec-be.pcap", "pcap-nsec-le.pcap", "pcap-nsec-be.pcap"]


def test_pcap_byte_orders_and_precisions_agree():
    recs = {}
    for name in PCAP_VARIANTS:
        got, reader = records(local_capture(name))
        assert not reader.problems, (name, reader.problems)
        assert reader.ts_digits == (9 if "nsec" in name else 6), name
        recs[name] = got
    ns = recs["pcap-nsec-le.pcap"]
    assert len(ns) == 4
    for name, got in recs.items():
        assert [r[:1] + r[2:] for r in got] == [r[:1] + r[2:] for r in ns], name
        if "usec" in name:
            assert [r[1] for r in got] == [r[1] // 1000 * 1000 for r in ns], name
        else:
            assert [r[1] for r in got] == [r[1] for r in ns], name
    # timestamps as the README says: ...0.123456789 + i * 1.000001001 s
    base = 1704067200 * 10**9 + 123456789
    assert [r[1] for r in ns] == [base + i * 1_000_001_001 for i in range(4)]


def test_an_invalid_subsecond_field_carries_into_the_seconds():
    """tcpdump's timestamp_invalid_nano.pcap: records 2 and 3 hold 1,000,000,000 and
    2,147,483,648 ns (tcpdump prints "(invalid ns)", tshark a time that is not one).
    The README's rule: the field's value is added as it is, the excess carrying into
    the seconds. Record headers read by hand: (1418145369, 999999999),
    (1418145370, 1000000000), (1418145370, 2147483648)."""
    got, reader = records(shared_capture("tcpdump/timestamp_invalid_nano.pcap"))
    assert not reader.problems
    assert [r[1] for r in got] == [1_418_145_369_999_999_999, 1_418_145_371_000_000_000,
                                   1_418_145_372_147_483_648]


def test_pcap_variants_decode_to_the_same_packet_columns():
    batches = {name: decode_file(local_capture(name)) for name in PCAP_VARIANTS}
    ref = batches["pcap-nsec-le.pcap"]
    cols = ("number", "caplen", "length", "interface", "linktype", "vlan", "ip_version", "src_addr",
            "dst_addr", "ip_proto", "transport", "src_port", "dst_port", "tcp_flags", "status")
    for name, b in batches.items():
        for c in cols:
            assert np.array_equal(getattr(b, c), getattr(ref, c)), (name, c)
        assert np.array_equal(b.ts_ns // 1000, ref.ts_ns // 1000), name


# ------------------------------------------------------------------ pcapng against tshark

def pcapng_interfaces(data: bytes) -> tuple[list[tuple[int, int, int]], list[int]]:
    """Per packet record (section index, interface id within the section, linktype),
    and the number of interfaces each section describes: the blocks found by
    tests/capgen.layout, their fields read by dpkt's block classes (dpkt's own pcapng
    reader knows one section only)."""
    lay = layout(data)
    assert lay.kind == "pcapng" and lay.spans[-1][1] == len(data), "not a whole pcapng file"
    out: list[tuple[int, int, int]] = []
    sections: list[list[int]] = []  # linktype of each interface, per section
    for (start, end), btype, order in zip(lay.spans, lay.types, lay.orders):
        block, le = data[start:end], order == "<"
        if btype == 0x0A0D0D0A:
            sections.append([])
        elif btype == 1:
            idb = ng.InterfaceDescriptionBlockLE if le else ng.InterfaceDescriptionBlock
            sections[-1].append(idb(block).linktype)
        elif btype in (2, 6):
            cls = {2: (ng.PacketBlockLE, ng.PacketBlock),
                   6: (ng.EnhancedPacketBlockLE, ng.EnhancedPacketBlock)}[btype][not le]
            iface = cls(block).iface_id
            out.append((len(sections) - 1, iface, sections[-1][iface]))
        elif btype == 3:  # a Simple Packet Block: the section's first interface
            out.append((len(sections) - 1, 0, sections[-1][0]))
    return out, [len(links) for links in sections]


def tshark_frames(path: Path) -> list[tuple[str, str, int, int]]:
    """(frame.time_epoch, frame.interface_id, len, caplen) of the packet records."""
    proc = subprocess.run([TSHARK, "-n", "-r", str(path), "-T", "fields", "-E", "separator=/t",
                           "-e", "frame.time_epoch", "-e", "frame.interface_id",
                           "-e", "frame.encap_type", "-e", "frame.len", "-e", "frame.cap_len"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode in (0, 2), proc.stderr
    out = []
    for line in proc.stdout.splitlines():
        ts, iface, encap, length, caplen = (line.split("\t") + [""] * 5)[:5]
        if not encap:  # Custom Block shown as a frame: not a packet record
            continue
        out.append((ts, iface, int(length), int(caplen)))
    return out


def _ns(epoch: str) -> int:
    sec, _, frac = epoch.partition(".")
    return int(sec) * 10**9 + int((frac + "000000000")[:9])


PCAPNG = [
    pytest.param(("local", "pcapng-multi.pcapng"), id="pcaps/pcapng-multi.pcapng"),
    pytest.param(("local", "pcapng-simple.pcapng"), id="pcaps/pcapng-simple.pcapng"),
    pytest.param(("shared", "zeek/pcapng-multi-interface.pcapng"),
                 id="shared/zeek/pcapng-multi-interface.pcapng"),
]


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
@pytest.mark.parametrize("spec", PCAPNG)
def test_pcapng_interfaces_and_times_match_tshark(spec):
    where, name = spec
    path = local_capture(name) if where == "local" else shared_capture(name)
    got, reader = records(path)
    assert not reader.problems
    ifaces, idbs = pcapng_interfaces(path.read_bytes())
    ref = tshark_frames(path)
    assert len(got) == len(ref) == len(ifaces)
    # portannot numbers interfaces through the whole file (section 2's interface 0
    # follows section 1's last); tshark 4.0 restarts the ids in each section
    section_base = [sum(idbs[:sec]) for sec in range(len(idbs))]
    bad = []
    for k, (rec, (sec, local, linktype), (ts, tiface, length, caplen)) in enumerate(
            zip(got, ifaces, ref), 1):
        number, ts_ns, cl, ln, lt, iface = rec[:6]
        if number != k or lt != linktype or (cl, ln) != (caplen, length):
            bad.append((k, "record", rec[:6], linktype, caplen, length))
        if iface != section_base[sec] + local:
            bad.append((k, "interface", iface, section_base[sec] + local))
        if tiface and int(tiface) != local:
            bad.append((k, "tshark interface", tiface, local))
        if ts and ts_ns != _ns(ts):  # tshark shows no time for a Simple Packet Block
            bad.append((k, "ts", ts_ns, ts))
    assert not bad, bad


JAN_2024 = 1_704_067_200  #: 2024-01-01 00:00:00 UTC


def _exact_ns(raw: int, tsresol: int) -> int:
    """The instant a raw EPB timestamp stands for, in whole ns rounded down, worked out
    with Python's unbounded integers (tshark 4.0 overflows from 2^-35 on: 0.75 s came
    out as 0.213129088 s, so it cannot be the reference here)."""
    exp = tsresol & 0x7F
    if tsresol & 0x80:
        return raw * 10**9 // 2**exp
    return raw * 10**9 // 10**exp


@pytest.mark.parametrize("tsresol", [0xA2, 0xA3, 0xA8, 0xB0, 0xBF, 0x0A, 0x0C, 0x13])
def test_pcapng_fine_resolutions_give_exact_times(tsresol, tmp_path):
    """Binary resolutions from 2^-34 to 2^-63 and decimal ones from 10^-10 to 10^-19:
    the fraction of a second is taken without the 64-bit product overflowing."""
    exp = tsresol & 0x7F
    per_second = 2**exp if tsresol & 0x80 else 10**exp
    # whole seconds as far as 64 bits of ticks reach, capped at 2024
    seconds = min(JAN_2024, (2**64 - 1) // per_second - 1)
    rng = np.random.default_rng(tsresol)
    fractions = [0, 1, per_second * 3 // 4, per_second - 1,
                 *(int(f) for f in rng.integers(0, per_second, 20, dtype=np.uint64)
                   if per_second <= 2**63)]
    ticks = [seconds * per_second + f for f in fractions]
    got, reader = records(write_pcapng_ticks(tmp_path / "t.pcapng", tsresol, ticks))
    assert [r[1] for r in got] == [_exact_ns(t, tsresol) for t in ticks]
    assert not reader.problems


@pytest.mark.parametrize("tsresol", [0x14, 0x1C, 0x1D, 0x7F, 0xC0, 0xDF, 0xE0, 0xFF])
def test_pcapng_resolutions_finer_than_64_bits_of_ticks_give_exact_times(tsresol, tmp_path):
    """if_tsresol's 7 exponent bits go up to 10^-127 and 2^-127 s: units so fine that 64
    bits of ticks span less than a second (10^-20 s: 0.18 s). They were taken as 10^-19
    and 2^-63 s, 10 and 2 times too coarse or more: 1.7e19 ticks of 10^-20 s came out
    as 1.7 s, not 0.17 s, and 2^64 - 1 ticks of 2^-127 s as 1.999999999 s, not 0."""
    rng = np.random.default_rng(tsresol)
    ticks = [0, 1, 10**9, 2**63 + 2**62, 17 * 10**18, 2**64 - 1,
             *(int(t) for t in rng.integers(0, 2**64 - 1, 20, dtype=np.uint64))]
    got, reader = records(write_pcapng_ticks(tmp_path / "t.pcapng", tsresol, ticks))
    assert [r[1] for r in got] == [_exact_ns(t, tsresol) for t in ticks]
    assert not reader.problems


def test_pcapng_times_past_what_nanoseconds_hold_are_kept_and_reported(tmp_path, cli):
    """A year-3000 microsecond time wrapped round the int64 to 1830 (and the flow's
    duration went negative, and `summary` failed). The packet is kept, its time held
    at the limit (2^62 - 1 ns, 2116-02-20), and the read reports it (exit 3)."""
    limit = TS_LIMIT
    ticks = [JAN_2024 * 10**6, 32_503_680_000 * 10**6, 9_223_372_036_854_775, JAN_2024 * 10**6]
    cap = write_pcapng_ticks(tmp_path / "future.pcapng", 6, ticks)
    got, reader = records(cap)
    assert [r[1] for r in got] == [JAN_2024 * 10**9, limit, limit, JAN_2024 * 10**9]
    [problem] = reader.problems
    # SHB 28, IDB with its option 32, the first EPB: 32 and a 42-byte frame padded to 44
    assert problem.offset == 28 + 32 + 32 + 44
    assert "2 records from here with a time nanoseconds cannot hold" in problem.message
    code, out, err = cli("summary", str(cap))
    assert code == 3 and "2116-02-20" in out and "cannot hold" in err
    code, out, err = cli("flows", str(cap), "-f", "csv")
    assert code == 3 and float(next(csv.DictReader(io.StringIO(out)))["duration"]) > 0


def test_times_held_at_both_limits_make_a_duration_an_int64_holds(tmp_path, cli):
    """One flow's two packets held at the two limits, the earliest and the latest time
    (nanosecond ticks moved back by 10 s more than 2116 is from 1970: 5 ns is before 1823,
    2^64 - 1 ns, 2554, still past 2116): its duration
    is the whole span, 2 * (2^62 - 1) ns. With the limits at +-2^62 it was 2^63 ns, one
    more than an int64 holds: negative in the API and Parquet, a crash (SIGSEGV) in CSV,
    JSON Lines and the table, a traceback in `summary`."""
    import portannot

    cap = _with_offset(tmp_path / "span.pcapng", 9, -(LIMIT_S + 10), [5, 2**64 - 1])
    assert [r[1] for r in records(cap)[0]] == [-TS_LIMIT, TS_LIMIT]
    with pytest.warns(portannot.CaptureWarning, match="cannot hold"):
        [row] = portannot.flows(cap).to_pylist()
    assert row["packets"] == 2 and row["duration"] == 2 * TS_LIMIT / 1e9 > 0
    code, out, err = cli("flows", str(cap), "-f", "csv")
    [flow] = list(csv.DictReader(io.StringIO(out)))
    assert code == 3 and flow["duration"] == f"{2 * TS_LIMIT // 10**9}.{2 * TS_LIMIT % 10**9:09d}"
    for args in (["flows", "-f", "jsonl"], ["flows"], ["summary"], ["summary", "--json"]):
        code, out, err = cli(*args, str(cap))
        assert code == 3 and "Traceback" not in err and "cannot hold" in err, args


def _with_offset(path: Path, tsresol: int, offset_s: int, ticks: list[int]) -> Path:
    """write_pcapng_ticks' capture with an if_tsoffset of `offset_s` seconds as well."""
    import struct

    data = write_pcapng_ticks(path, tsresol, ticks).read_bytes()
    idb_at = 28  # after the 28-byte section header
    idb_len = int.from_bytes(data[idb_at + 4 : idb_at + 8], "little")
    # the IDB's options end with opt_endofopt (4 bytes) before its trailing length
    option = struct.pack("<HHq", 14, 8, offset_s)
    end = idb_at + idb_len - 8
    body = data[idb_at + 8 : end] + option + data[end : idb_at + idb_len - 4]
    n = len(body) + 12
    idb = struct.pack("<II", 1, n) + body + struct.pack("<I", n)
    path.write_bytes(data[:idb_at] + idb + data[idb_at + idb_len :])
    return path


LIMIT_S = TS_LIMIT // 10**9  #: 4611686018: the whole seconds of the time limit, 2116-02-20


@pytest.mark.parametrize("tsresol, offset_s, tick, expect_ns, held", [
    # the review's ng_tsoff.pcapng: 2024 moved back by -(2^62 // 10^9) - 1 s is 1877;
    # the offset was dropped as too large for ns, and the time read as 2024 without a word
    (6, -4611686019, JAN_2024 * 10**6 + 10_000, -2907618818_990_000_000, False),
    (6, -LIMIT_S, JAN_2024 * 10**6, (JAN_2024 - LIMIT_S) * 10**9, False),
    # whole seconds (2^0) and a billion seconds back: 1992
    (0x80, -10**9, JAN_2024, (JAN_2024 - 10**9) * 10**9, False),
    # 2^-3 s: 4611686018.875 s, moved on by 4611686018 s, is 9223372036.875 s, past the
    # limit: it came out at -2^62 (1823), the sum having wrapped round the int64 first
    (0x83, LIMIT_S, (LIMIT_S << 3) | 7, TS_LIMIT, True),
    # offsets no int64 of ns holds: held at the limit in their direction, and reported
    (6, 10**12, 1, TS_LIMIT, True),
    (6, -(2**63), 5, -TS_LIMIT, True),
    (6, 2**63 - 1, 5, TS_LIMIT, True),
    (9, -9_223_372_036, 2**64 - 1, TS_LIMIT, True),
    # ticks whose ns no int64 holds, brought back by a negative offset: they were held at
    # the later limit, not moved, and reported; tshark moves them (2^63 ns is 2262-04-11,
    # less 6 * 10^9 s, 2072-02-22; 10^19 us less 10^13 s is 0, 1970)
    (9, -6 * 10**9, 2**63 + 5, 2**63 + 5 - 6 * 10**18, False),
    (6, -(10**13), 10**19, 0, False),
    (0x80, 1_700_000_000 - 2**62, 2**62, 1_700_000_000 * 10**9, False),
    # ... or past the earlier limit: held there, not at the later one
    (6, -(10**13), 2**63, -TS_LIMIT, True),
    (0x94, -(10**13), 2**63, -TS_LIMIT, True),
])
def test_pcapng_time_offsets_move_times_without_wrapping(tsresol, offset_s, tick, expect_ns,
                                                         held, tmp_path):
    """if_tsoffset (whole seconds, signed 64 bits) added to a time: exactly, as far as
    int64 ns reach (+-(2^62 - 1) ns, 1823 to 2116), else the time is held at that limit and the
    read reports it, as for times of their own past it (c40a2ba)."""
    cap = _with_offset(tmp_path / "offset.pcapng", tsresol, offset_s, [tick])
    got, reader = records(cap)
    assert [r[1] for r in got] == [expect_ns]
    assert bool(reader.problems) is held
    if held:
        assert "1 record from here with a time nanoseconds cannot hold" in str(reader.problems[0])
    elif TSHARK:  # tshark adds the offset too (its own times have no such limit)
        [(ts, _, _, _)] = tshark_frames(cap)
        assert _ns(ts) == expect_ns


def test_pcapng_multi_as_documented():
    got, reader = records(local_capture("pcapng-multi.pcapng"))
    assert [r[4] for r in got] == [1, 228, 1, 1, 113, 229, 1]
    assert reader.ts_digits == 9
    # the snaplen-cut EPB: 62 of 254 bytes
    assert got[-1][2:4] == (62, 254)
    # every timestamped packet at 2024-01-01T00:00:00.5Z + k ms (the 2^-20 one rounds down)
    t0 = 1704067200_500_000_000
    assert got[0][1] == t0 and got[1][1] == t0 + 1_000_000
    assert got[4][1] == 1704067200_504_999_160


# ------------------------------------------------------------------ compressed copies

@pytest.mark.parametrize("name", ["pcap-usec-le.pcap", "pcapng-multi.pcapng"])
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_compressed_copies_read_like_the_plain_file(name, suffix):
    plain, _ = records(local_capture(name))
    packed, reader = records(local_capture(name + suffix))
    assert packed == plain
    assert not reader.problems
    assert reader.compression == NAMES[suffix]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_compression_is_told_by_content_not_name(suffix, tmp_path):
    src = local_capture("demo.pcap")
    odd = tmp_path / "capture.bin"
    odd.write_bytes(PACK[suffix](src.read_bytes()))
    assert records(odd)[0] == records(src)[0]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_an_empty_compressed_file_says_so(suffix, tmp_path):
    """A whole stream that decompresses to nothing: 'not a pcap or pcapng capture
    (starts with )' said nothing of why."""
    from portannot.errors import CaptureFormatError

    path = tmp_path / f"empty.pcap{suffix}"
    path.write_bytes(PACK[suffix](b""))
    with pytest.raises(CaptureFormatError) as exc:
        records(path)
    assert str(exc.value) == f"{path}: empty after decompression (a {NAMES[suffix]} stream of no bytes)"


#: the command-line tools people compress captures with: one frame with a content
#: checksum (zstd), a frame behind a skippable frame (pzstd), 64 KiB blocks with block
#: checksums and the content size (lz4)
TOOLS = {
    "zstd": (["zstd", "-q", "-19", "--check", "-c"], "zstd"),
    "pzstd": (["pzstd", "-q", "-p", "2", "-c"], "zstd"),
    "lz4": (["lz4", "-q", "-B4", "-BX", "--content-size", "-c"], "lz4"),
}


@pytest.mark.parametrize("pieces", [1, 3], ids=["whole", "3-concatenated"])
@pytest.mark.parametrize("tool", list(TOOLS))
def test_captures_compressed_by_the_usual_tools(tool, pieces, tmp_path):
    """Files made by the zstd, pzstd and lz4 tools themselves rather than by the codec
    the reader uses; also several files of each cut at odd offsets and concatenated,
    which these formats define as one stream (`cat a.zst b.zst`)."""
    cmd, name = TOOLS[tool]
    if shutil.which(cmd[0]) is None:
        pytest.skip(f"{cmd[0]} is not installed")
    src = local_capture("random-stacks.pcap")
    data = src.read_bytes()
    cuts = [0, *(len(data) * k // pieces + 7 for k in range(1, pieces)), len(data)]
    packed = tmp_path / f"random-stacks.pcap.{tool}"
    packed.write_bytes(b"".join(
        subprocess.run(cmd, input=data[a:b], capture_output=True, check=True).stdout
        for a, b in zip(cuts, cuts[1:])
    ))
    got, reader = records(packed)
    assert reader.compression == name
    assert not reader.problems
    assert got == records(src)[0]


# ------------------------------------------------------------------ chunk sizes

def _varied_frames(n: int = 400) -> list[tuple[int, bytes]]:
    """Ethernet-ish frames of 14 .. 9000 bytes (several larger than 4096), distinct bytes."""
    rng = np.random.default_rng(64)
    sizes = rng.integers(14, 1600, n)
    sizes[::37] = rng.integers(4097, 9001, len(sizes[::37]))
    sizes[5] = 14
    frames = []
    for i, s in enumerate(sizes):
        body = rng.integers(0, 256, int(s), dtype=np.uint8).tobytes()
        frames.append((1_700_000_000 * 10**9 + i * 1_234_567_000, body))
    return frames


@pytest.fixture(scope="module")
def varied(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("varied")
    frames = _varied_frames()
    pcap = write_pcap(d / "varied.pcap", frames, nsec=True, big_endian=True)
    ng = write_pcapng(d / "varied.pcapng", [(t, f, i % 2) for i, (t, f) in enumerate(frames)],
                      linktypes=(1, 101))
    out = {"pcap": pcap, "pcapng": ng}
    for key, p in list(out.items()):
        gz = d / (p.name + ".gz")
        gz.write_bytes(gzip.compress(p.read_bytes(), mtime=0))
        out[key + ".gz"] = gz
    return out


@pytest.mark.parametrize("kind", ["pcap", "pcapng", "pcap.gz", "pcapng.gz"])
@pytest.mark.parametrize("chunk", [64, 4096, 5000, 65536])
def test_small_chunks_give_the_same_records(varied, kind, chunk):
    path = varied[kind]
    default, _ = records(path)
    assert len(default) == 400
    assert max(r[2] for r in default) > 4096
    got, reader = records(path, chunk_size=chunk)
    assert not reader.problems
    assert got == default


def test_small_chunks_on_a_real_capture():
    path = shared_capture("ndpi/1kxun.pcap")
    got, reader = records(path, chunk_size=64)
    assert not reader.problems
    frames = dpkt_frames(path)
    assert len(got) == len(frames) > 1000
    assert [r[6] for r in got] == [f for _, f in frames]
    assert [r[1] for r in got] == [round(ts * 1e6) * 1000 for ts, _ in frames]  # a µs pcap


def test_written_frames_come_back(varied):
    frames = _varied_frames()
    got, _ = records(varied["pcap"], chunk_size=64)
    assert [(r[1], r[6]) for r in got] == frames
    got, _ = records(varied["pcapng"], chunk_size=64)
    assert [(r[1], r[6]) for r in got] == [(t // 1000 * 1000, f) for t, f in frames]
    assert [r[4] for r in got] == [(1, 101)[i % 2] for i in range(len(frames))]


# ------------------------------------------------------------------ chunk buffers


def _dpkt_frames(path) -> list[bytes]:
    return [frame for _, frame in dpkt_frames(path)]


def test_batches_kept_by_the_caller_stay_intact(varied):
    """Chunk buffers are reused only once nothing refers to them: batches a caller
    keeps still hold their own bytes after the reader has moved far past them."""
    path = varied["pcap"]
    batches = list(CaptureReader(str(path), chunk_size=4096))
    assert len(batches) > 2 * 8  # more chunks than the window keeps spare
    got = [b.record(i) for b in batches for i in range(len(b))]
    assert got == _dpkt_frames(path)


def test_dropped_batches_lend_their_buffers_again(varied):
    """Reading batch by batch reuses a handful of buffers (the very same objects, not
    new ones at a recycled address), and the bytes are still right."""
    import weakref

    path = varied["pcap"]
    buffers: list[weakref.ref] = []
    got, batches, reused = [], 0, 0
    for b in CaptureReader(str(path), chunk_size=4096):
        batches += 1
        if any(ref() is b.data for ref in buffers):
            reused += 1
        else:
            buffers.append(weakref.ref(b.data))
        got.extend(b.record(i) for i in range(len(b)))
        del b
    assert got == _dpkt_frames(path)
    assert len(buffers) <= 4 and reused == batches - len(buffers) > 10


def test_a_read_error_is_the_inputs_with_its_name():
    """/proc/self/mem opens but refuses reads at offset 0 (EIO): the input's fault, exit
    4 with the file named, not an output error."""
    import os

    from portannot.capture import CaptureReader
    from portannot.errors import ExitCode, InputError

    if not os.path.exists("/proc/self/mem"):
        pytest.skip("no /proc")
    with pytest.raises(InputError, match=r"^/proc/self/mem: read error \(") as exc:
        list(CaptureReader("/proc/self/mem"))
    assert exc.value.exit_code == ExitCode.INPUT_ERROR


def test_garbage_after_a_whole_gzip_stream_costs_no_record(tmp_path):
    """The gzip stream is whole; only what follows it is not gzip. Every record is read
    (a read filling its piece past the stream's end took the last ones down with it),
    and the garbage is reported."""
    demo = local_capture("demo.pcap")
    path = tmp_path / "demo.pcap.gz"
    path.write_bytes(gzip.compress(demo.read_bytes()) + b"GARBAGE AFTER THE STREAM")
    whole = sum(len(b) for b in CaptureReader(demo))
    reader = CaptureReader(path)
    assert sum(len(b) for b in reader) == whole
    assert [p.message.split(" (")[0] for p in reader.problems] == ["gzip stream is damaged"]


def test_paths_one_several_or_a_generator_read_alike():
    demo = local_capture("demo.pcap")
    one = len(dpkt_frames(demo))
    assert sum(len(b) for b in iter_records(demo)) == one
    assert len(decode_file(str(demo))) == one
    # a generator is read once, in order; file_index numbers the inputs
    batches = list(iter_records(p for p in (demo, demo)))
    assert sum(len(b) for b in batches) == 2 * one
    assert {b.file_index for b in batches} == {0, 1}
    with pytest.raises(TypeError, match="not bytes"):
        as_paths(str(demo).encode())


def test_a_small_file_gets_a_window_of_its_own_size(varied, tmp_path):
    """A regular file smaller than a chunk is read into a buffer of its size (and one
    byte, to meet the end at once): many small files keep hundreds of buffers alive in
    the stages' queues. From POOLED_FROM on the size is rounded up to a power of two,
    for files of about the same size to reuse each other's buffers. A pipe or a
    compressed stream, whose size is not known, gets whole chunks, and the records are
    the same."""
    from portannot.capture.reader import POOLED_FROM

    demo = local_capture("demo.pcap")
    assert demo.stat().st_size + 1 < POOLED_FROM
    assert {b.data.shape[0] for b in CaptureReader(str(demo))} == {demo.stat().st_size + 1}
    path = varied["pcap"]
    size = path.stat().st_size
    assert POOLED_FROM <= size + 1 < 4 << 20
    batches = list(CaptureReader(str(path)))
    window = batches[0].data.shape[0]
    assert {b.data.shape[0] for b in batches} == {window}
    assert window & (window - 1) == 0 and size + 1 <= window < 2 * (size + 1)
    gz = list(CaptureReader(str(varied["pcap.gz"])))
    assert gz[0].data.shape[0] == 4 << 20
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(path.read_bytes()))
    writer.start()
    piped = list(CaptureReader(str(fifo)))
    writer.join()
    assert piped[0].data.shape[0] == 4 << 20
    frames = [b.record(i) for b in batches for i in range(len(b))]
    assert frames == _dpkt_frames(path)
    for other in (gz, piped):
        assert [b.record(i) for b in other for i in range(len(b))] == frames


def _cut_in_files(path: Path, folder: Path, parts: int) -> list[Path]:
    """`path`'s records in `parts` pcap files of about the same size, each with the
    file header, as `tcpdump -C` or `editcap -c` leave a capture."""
    data = path.read_bytes()
    cuts = [start for start, _ in layout(data).records]  # each record's header
    step = len(cuts) // parts
    bounds = [cuts[i * step] for i in range(parts)] + [len(data)]
    out = []
    for i in range(parts):
        piece = folder / f"part{i}.pcap"
        piece.write_bytes(data[:24] + data[bounds[i]:bounds[i + 1]])
        out.append(piece)
    return out


def test_files_of_one_stream_reuse_spent_buffers_and_held_batches_stay_intact(varied, tmp_path):
    """The files of one stream share their spent chunk buffers (BufferPool): a chunk or a
    file read after another takes a buffer once no batch refers to it, instead of fresh
    memory. A batch still held (by a caller, or a stage's queue) keeps its buffer: its
    records are the file's, byte for byte, whatever is read after it."""
    from portannot.capture.chunks import BufferPool

    parts = _cut_in_files(varied["pcap"], tmp_path, 3)
    expected = [_dpkt_frames(p) for p in parts]
    chunk = 16 << 10
    assert all(p.stat().st_size > 4 * chunk for p in parts)
    pool = BufferPool()
    buffers = set()  # ids: a reference would itself keep a buffer from coming back
    for part, frames in zip(parts, expected):  # nothing held: buffers come back
        count = 0
        for b in CaptureReader(str(part), chunk_size=chunk, buffers=pool):
            assert b.data.shape[0] == chunk
            assert [b.record(i) for i in range(len(b))] == frames[count:count + len(b)]
            count += len(b)
            buffers.add(id(b.data))
        assert count == len(frames)
    # 400 KB in 16 KiB chunks, through three buffers: the batch in hand's, the one
    # being filled, and the one the previous batch held until the loop let it go
    assert len(buffers) <= 3
    held = [list(CaptureReader(str(p), chunk_size=chunk, buffers=pool)) for p in parts]
    batches = [b for file in held for b in file]
    assert len({id(b.data) for b in batches}) == len(batches)  # none shared while held
    for file, frames in zip(held, expected):
        assert [b.record(i) for b in file for i in range(len(b))] == frames
