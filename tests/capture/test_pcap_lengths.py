"""A pcap record header's captured length: one no record can have is damage wherever it
is; a file that ends inside a record whose length is plausible was cut short.

Expectations are worked out from demo.pcap's own layout (a 24-byte file header, then
16-byte record headers; its 270 records' offsets from capgen.layout) and, where tshark
and capinfos are installed, checked against their counts: both stop at a length above
their maximum ("File has 4294967280-byte packet, bigger than maximum of 262144") and
keep every record before it; both drop a record the file ends inside ("cut short in the
middle of a packet"), where portannot keeps its bytes as one cut record.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from capgen import layout
from packing import PACK
from paths import local_capture

from portannot.capture import CaptureReader

TSHARK = shutil.which("tshark")
CAPINFOS = shutil.which("capinfos")
HUGE = 0xFFFFFFF0


def _demo() -> tuple[bytes, list[int]]:
    data = local_capture("demo.pcap").read_bytes()
    starts = [start for start, _ in layout(data).records]
    assert len(starts) == 270 and starts[0] == 24
    return data, starts


def _with_caplen(data: bytes, at: int, caplen: int) -> bytes:
    out = bytearray(data)
    struct.pack_into("<I", out, at + 8, caplen)
    return bytes(out)


def _read(path: Path) -> tuple[list[tuple[int, int, int]], list]:
    """(number, caplen, length) per record, and the problems."""
    reader = CaptureReader(str(path))
    got = [(int(n), int(c), int(ln)) for b in reader
           for n, c, ln in zip(b.numbers, b.caplen, b.length)]
    return got, list(reader.problems)


def _tshark_count(path: Path) -> tuple[int, str]:
    """Frames tshark shows, and what it says on stderr."""
    proc = subprocess.run([TSHARK, "-n", "-r", str(path), "-T", "fields", "-e", "frame.number"],
                          capture_output=True, text=True, check=False)
    return len(proc.stdout.split()), proc.stderr


def _capinfos_count(path: Path) -> int | None:
    """Packets capinfos counts before it stops (its -c line, or 'after reading N')."""
    proc = subprocess.run([CAPINFOS, "-c", str(path)], capture_output=True, text=True, check=False)
    for line in (proc.stdout + proc.stderr).splitlines():
        if "Number of packets" in line:
            return int(line.split(":")[1].strip().replace(",", ""))
        if "after reading" in line:
            return int(line.split("after reading")[1].split()[0])
    return None


@pytest.mark.parametrize("record", [5, 200, 268, 269], ids=lambda r: f"record-{r + 1}")
def test_an_impossible_caplen_is_damage_however_near_the_end(record, tmp_path):
    """demo.pcap is 41,777 bytes: every record lies within one record's reach (16 +
    262,144 bytes) of its end. A length of 4294967280 there was taken for a file cut
    short, and the rest of the file kept as one invented record ('40950 of 4294967280
    captured bytes present; kept what is there')."""
    data, starts = _demo()
    path = tmp_path / "huge.pcap"
    path.write_bytes(_with_caplen(data, starts[record], HUGE))
    got, problems = _read(path)
    assert [n for n, _, _ in got] == list(range(1, record + 1))
    assert [p.offset for p in problems] == [starts[record]]
    assert problems[0].message == ("record header claims 4294967280 captured bytes "
                                   "(limit 262144); stopped reading")
    if TSHARK:
        count, err = _tshark_count(path)
        assert count == record and "bigger than maximum of 262144" in err
    if CAPINFOS:
        assert _capinfos_count(path) == record


@pytest.mark.parametrize("suffix", ["", ".zst", ".gz"])
def test_two_captures_joined_stop_at_the_second_header(suffix, tmp_path):
    """`cat demo.pcap demo.pcap`, read as one capture: the second file header reads as a
    record header (magic and version as the time, this-zone 0 as its captured length: a
    record of 0 bytes at 41,777, in 2055, which tshark shows as frame 271 too), then its
    snaplen and link type as the next one's time, the first record's seconds
    (1704067200) as its captured length: damage at 41,777 + 16, not a 1.7 GB record."""
    data, _ = _demo()
    joined = data + data
    path = tmp_path / ("joined.pcap" + suffix)
    path.write_bytes(PACK[suffix](joined) if suffix else joined)
    got, problems = _read(path)
    assert len(got) == 271 and got[-1] == (271, 0, 0)
    assert [p.offset for p in problems] == [len(data) + 16]
    assert "claims 1704067200 captured bytes" in problems[0].message
    if TSHARK and not suffix:
        count, err = _tshark_count(path)
        assert count == 271 and "1704067200-byte packet" in err


@pytest.mark.parametrize("claim, kept", [(262144, True), (262145, False)])
def test_the_limit_itself_is_a_length_a_cut_record_may_claim(claim, kept, tmp_path):
    """The last record claims `claim` bytes and the file ends 10 bytes into it: at the
    limit (the larger of the file's snaplen, 65535 here, and 262144) it is a cut record,
    kept with its 10 bytes; one byte more and it is damage, and no record."""
    data, starts = _demo()
    last = starts[-1]
    path = tmp_path / "cut.pcap"
    path.write_bytes(_with_caplen(data, last, claim)[: last + 16 + 10])
    got, problems = _read(path)
    assert len(got) == 269 + kept
    assert [p.offset for p in problems] == [last]
    if kept:
        assert got[-1][:2] == (270, 10)
        assert problems[0].message == (f"file ends inside a record (10 of {claim} captured "
                                       "bytes present); kept what is there")
    else:
        assert "stopped reading" in problems[0].message


def test_a_larger_snaplen_raises_the_limit(tmp_path):
    """A file header's snaplen above 262144 allows records that long (up to 64 MiB)."""
    data, starts = _demo()
    big = bytearray(_with_caplen(data, starts[-1], 1 << 20)[: starts[-1] + 16 + 30])
    struct.pack_into("<I", big, 16, 1 << 20)  # the file header's snaplen
    path = tmp_path / "big-snaplen.pcap"
    path.write_bytes(bytes(big))
    got, problems = _read(path)
    assert len(got) == 270 and got[-1][:2] == (270, 30)
    assert "file ends inside a record (30 of 1048576" in problems[0].message


def test_a_cut_last_record_is_kept_where_tshark_drops_it(tmp_path):
    """README 'Untrusted captures': the file ends 10 bytes into record 6 (whose header
    is whole and claims 354 bytes): portannot keeps 6 records, the last with its 10
    bytes; tshark and capinfos show 5."""
    data, starts = _demo()
    path = tmp_path / "cut.pcap"
    path.write_bytes(data[: starts[5] + 16 + 10])
    got, problems = _read(path)
    assert len(got) == 6 and got[-1][:2] == (6, 10)
    assert got[-1][2] == struct.unpack_from("<I", data, starts[5] + 12)[0]
    assert [p.offset for p in problems] == [starts[5]]
    assert problems[0].message == ("file ends inside a record (10 of 354 captured bytes "
                                   "present); kept what is there")
    if TSHARK:
        count, err = _tshark_count(path)
        assert count == 5 and "cut short in the middle of a packet" in err
    if CAPINFOS:
        assert _capinfos_count(path) == 5


def _versioned(data: bytes, starts: list[int], major: int, minor: int, swap: bool) -> bytes:
    """demo.pcap with its file header's version set, every record's length on the wire
    raised by 100 (caplen < length, as a snaplen cut leaves it) and, if `swap`, the two
    length fields written the other way round."""
    out = bytearray(data)
    struct.pack_into("<HH", out, 4, major, minor)
    for at in starts:
        incl, orig = struct.unpack_from("<II", data, at + 8)
        struct.pack_into("<II", out, at + 8, *((orig + 100, incl) if swap else (incl, orig + 100)))
    return bytes(out)


def _tshark_lengths(path: Path) -> list[tuple[int, int]]:
    proc = subprocess.run([TSHARK, "-n", "-r", str(path), "-T", "fields", "-e", "frame.number",
                           "-e", "frame.cap_len", "-e", "frame.len"],
                          capture_output=True, text=True, check=False)
    return [(int(c), int(ln)) for _, c, ln in (line.split("\t") for line in proc.stdout.splitlines())]


@pytest.mark.parametrize("major, minor, swap", [
    (2, 4, False),  # today's order: captured length first
    (2, 0, True), (2, 2, True), (543, 0, True),  # before 2.3, and DG/UX: the other way round
    (2, 3, False), (2, 3, True),  # 2.3: either; a captured length above the other says which
])
def test_old_versions_hold_the_lengths_the_other_way_round(major, minor, swap, tmp_path):
    """libpcap and tshark swap a record's two lengths in files before version 2.3 (and
    543.0), and in 2.3 when the captured one is the larger. shared/ndpi/fuzz-2021-10-13.pcap,
    a version 2.0 file, has one record of caplen 197 and length 524,501 so; read in 2.4's
    order its caplen is more than a record can have."""
    data, starts = _demo()
    path = tmp_path / "versioned.pcap"
    path.write_bytes(_versioned(data, starts, major, minor, swap))
    got, problems = _read(path)
    demo, _ = _read(local_capture("demo.pcap"))
    assert problems == []
    assert got == [(n, c, ln + 100) for n, c, ln in demo]
    if TSHARK:
        assert _tshark_lengths(path) == [(c, ln) for _, c, ln in got]


def test_an_impossible_length_in_an_old_file_is_damage(tmp_path):
    """A version 2.0 file whose 7th record holds 4294967280 where its captured length
    goes (second, in that version): damage there, as in 2.4's order."""
    data, starts = _demo()
    old = bytearray(_versioned(data, starts, 2, 0, True))
    struct.pack_into("<I", old, starts[6] + 12, HUGE)
    path = tmp_path / "old.pcap"
    path.write_bytes(bytes(old))
    got, problems = _read(path)
    assert len(got) == 6 and [p.offset for p in problems] == [starts[6]]
    assert "claims 4294967280 captured bytes" in problems[0].message
    if TSHARK:
        count, err = _tshark_count(path)
        assert count == 6 and "bigger than maximum" in err
