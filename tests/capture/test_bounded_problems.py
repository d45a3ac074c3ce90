"""A damaged file may hold a problem in every block: what the read keeps of them, and
what it reports, stays bounded.

The captures are written here block by block, so every expected byte offset is the sum
of the block lengths before it (SHB 28 bytes, IDB 20, each EPB 32 + its frame padded
to 4). A packet block naming an interface its section never described is damage
whose framing is sound (its two lengths agree): tshark stops there ("interface index
5 is not less than interface count 1"); portannot skips the block and reads on.
"""

from __future__ import annotations

import gzip
import json
import struct
import warnings
from pathlib import Path

import pytest

import portannot
from portannot.capture import CaptureReader, ProblemLog, ReadProblem
from portannot.capture.problems import DAMAGED_BLOCKS, DAMAGED_RANGES, DETAIL
from portannot.decode import Decoder, concat
from portannot.pipeline import PacketStream


def _block(btype: int, body: bytes, trailer: int | None = None) -> bytes:
    body += bytes(-len(body) % 4)
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n if trailer is None else trailer)


SHB = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
IDB = _block(1, struct.pack("<HHI", 1, 0, 0))


def _frame(i: int) -> bytes:
    """Ethernet / IPv4 / UDP 192.0.2.1:(1000 + i) -> 198.51.100.2:53, 42 bytes."""
    udp = struct.pack(">HHHH", 1000 + i, 53, 8, 0)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 28, i, 0, 64, 17, 0,
                     bytes([192, 0, 2, 1]), bytes([198, 51, 100, 2]))
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + udp


def _epb(i: int, iface: int = 0, trailer: int | None = None) -> bytes:
    frame = _frame(i)
    ts = 1_700_000_000_000_000 + i
    return _block(6, struct.pack("<IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(frame),
                                 len(frame)) + frame, trailer)


EPB_LEN = 32 + 44  #: a 42-byte frame padded to 44


def damaged_capture(path: Path, bad: int, *, before: int = 3, after: int = 2) -> list[int]:
    """SHB, IDB, `before` sound EPBs, `bad` EPBs naming interface 5, `after` sound EPBs;
    returns the byte offset of every bad block."""
    head = SHB + IDB + b"".join(_epb(i) for i in range(before))
    bad_block = _epb(99, iface=5)
    tail = b"".join(_epb(before + i) for i in range(after))
    path.write_bytes(head + bad_block * bad + tail)
    return [len(head) + k * EPB_LEN for k in range(bad)]


def _read(path: Path, **kw) -> tuple[list[int], CaptureReader]:
    reader = CaptureReader(str(path), **kw)
    batches = [Decoder().decode(b) for b in reader]
    return concat(batches).src_port.tolist() if batches else [], reader


N = 100_000


@pytest.mark.parametrize("how", ["chunked", "small-chunks", "gzip"])
def test_a_hundred_thousand_damaged_blocks_keep_twenty_and_count_the_rest(tmp_path, how):
    path = tmp_path / "bad.pcapng"
    offsets = damaged_capture(path, N)
    kw = {}
    if how == "gzip":
        path = path.with_suffix(".pcapng.gz")
        path.write_bytes(gzip.compress((tmp_path / "bad.pcapng").read_bytes(), 1, mtime=0))
    elif how == "small-chunks":
        kw = {"chunk_size": 1 << 16}  # the bad blocks span many walks of the window
    ports, reader = _read(path, **kw)
    assert ports == [1000, 1001, 1002, 1003, 1004]
    problems = list(reader.problems)
    assert len(problems) == DETAIL + 1 == 21
    assert reader.problems.total == N
    assert [p.offset for p in problems[:DETAIL]] == offsets[:DETAIL]
    assert all(p.count == 1 and p.kind == DAMAGED_BLOCKS for p in problems[:DETAIL])
    unit = "decompressed byte offset" if how == "gzip" else "byte offset"
    assert str(problems[0]) == (
        f"{path}: enhanced packet block of 76 bytes names interface 5, of 1 in its section; "
        f"skipped the block at {unit} {28 + 20 + 3 * 76}")
    rest = problems[-1]
    assert (rest.offset, rest.count, rest.last_offset) == (offsets[DETAIL], N - DETAIL, offsets[-1])
    assert str(rest) == (f"{path}: ... and 99,980 more damaged blocks like these, "
                         f"from {unit} {offsets[20]} to {offsets[-1]}")


def test_the_log_counts_each_kind_apart():
    """Kept as they come up to DETAIL, then one line per kind: 'like these' when some of
    that kind are shown above it, else the first of them quoted; a kind met only once
    past the detail is that problem itself."""
    log = ProblemLog(detail=3)
    for k in range(5):
        log.append(ReadProblem("f", 100 * k, "damaged block", DAMAGED_BLOCKS))
    for k in range(4):
        log.append(ReadProblem("f", 1000 + 100 * k, f"range {k}", DAMAGED_RANGES))
    log.append(ReadProblem("f", 5000, "file ends inside a block"))
    assert log.total == 10 and len(log) == 6 and bool(log)
    assert [str(p) for p in log] == [
        "f: damaged block at byte offset 0",
        "f: damaged block at byte offset 100",
        "f: damaged block at byte offset 200",
        "f: ... and 2 more damaged blocks like these, from byte offset 300 to 400",
        "f: 4 more damaged byte ranges (the first: range 0 at byte offset 1000), "
        "from byte offset 1000 to 1300",
        "f: file ends inside a block at byte offset 5000",
    ]
    log.count_more(DAMAGED_BLOCKS, 10, 9000)
    assert log.total == 20 and log[3].count == 12 and log[3].last_offset == 9000
    assert not ProblemLog() and len(ProblemLog()) == 0


def test_damaged_ranges_past_the_detail_are_counted(tmp_path):
    """Blocks whose trailing length disagrees send the reader scanning to the next sound
    block, each a range of its own: 30 of them, 20 shown and one line for 10."""
    good = [_epb(i) for i in range(31)]
    data = SHB + IDB + good[0]
    starts = []
    for i in range(1, 31):
        starts.append(len(data))
        data += _epb(100 + i, trailer=0x1234) + good[i]
    path = tmp_path / "ranges.pcapng"
    path.write_bytes(data)
    ports, reader = _read(path)
    assert ports == [1000 + i for i in range(31)]
    problems = list(reader.problems)
    assert len(problems) == 21 and reader.problems.total == 30
    assert [p.offset for p in problems] == starts[:21]
    assert f"at byte offset {starts[0] + EPB_LEN}" in str(problems[0])
    assert problems[-1].count == 10 and problems[-1].last_offset == starts[-1]
    assert "... and 10 more damaged byte ranges like these" in str(problems[-1])


def _damaged_pair(tmp_path: Path) -> tuple[Path, list[int]]:
    path = tmp_path / "bad.pcapng"
    return path, damaged_capture(path, 5000)


def test_the_accounting_and_its_warnings_are_bounded(tmp_path):
    path, offsets = _damaged_pair(tmp_path)
    stream = PacketStream([path, path], chunk_size=1 << 16)
    assert sum(len(b) for b in stream) == 10
    acc = stream.accounting
    assert len(acc.problems) == 2 * 21 and acc.problem_count == 2 * 5000
    lines = acc.warnings()
    assert lines == [str(p) for p in acc.problems]
    assert lines[20] == lines[41] == (f"{path}: ... and 4,980 more damaged blocks like these, "
                                      f"from byte offset {offsets[20]} to {offsets[-1]}")
    assert acc.damaged


def test_the_api_warns_once_per_line(tmp_path):
    path, offsets = _damaged_pair(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = portannot.packets(path)
        report = portannot.summary(path)
    assert table.num_rows == 5 and report["packets"] == 5
    got = [str(w.message) for w in caught if issubclass(w.category, portannot.CaptureWarning)]
    assert len(got) == 2 * 21
    assert got[:21] == got[21:] == report["warnings"]
    assert got[20].endswith(f"4,980 more damaged blocks like these, from byte offset "
                            f"{offsets[20]} to {offsets[-1]}")


def test_the_command_prints_twenty_one_lines_and_exits_3(tmp_path, cli):
    path, _ = _damaged_pair(tmp_path)
    code, out, err = cli("summary", "--json", str(path))
    assert code == 3
    assert len(err.splitlines()) == 21
    assert json.loads(out)["warnings"] == [line.removeprefix("portannot: warning: ")
                                           for line in err.splitlines()]


@pytest.mark.parametrize("between", [b"\xde\xad\xbe\xef", IDB])
def test_damage_or_interfaces_between_single_packets_do_not_split_batches(tmp_path, between):
    """A damaged word (or an interface block) before every packet block: each walk then
    finds one record, and each was handed out as a batch of its own, one Parquet row
    group each (a 2.4 MB capture to Parquet: 36 s and 900 MB). Records held across
    them make batches of up to pcapng.MAX_PENDING walks; every record is read, in order,
    and every damaged range reported (counted past the first 20)."""
    from portannot.capture.pcapng import MAX_PENDING

    n = 3000
    path = tmp_path / "every-block.pcapng"
    path.write_bytes(SHB + IDB + b"".join(between + _epb(i) for i in range(n)))
    reader = CaptureReader(str(path))
    batches = list(reader)
    ports = concat([Decoder().decode(b) for b in batches]).src_port.tolist()
    assert ports == [(1000 + i) & 0xFFFF for i in range(n)]
    assert len(batches) <= n // MAX_PENDING + 2
    assert [b.first_number for b in batches] == [
        1 + sum(len(b) for b in batches[:k]) for k in range(len(batches))]
    damaged = n if between != IDB else 0
    assert reader.problems.total == damaged
