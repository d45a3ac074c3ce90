"""CaptureReader used on its own, as README's "Each stage stands alone" shows it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from packing import NAMES, PACK
from paths import local_capture

from portannot.capture import CaptureReader
from portannot.errors import InputError

DEMO = local_capture("demo.pcap")


@pytest.mark.parametrize("arg", [bytes(DEMO), bytearray(bytes(DEMO))])
def test_bytes_are_refused_as_the_api_refuses_them(arg) -> None:
    """CaptureReader took str() of what it was given: b'/x/demo.pcap' became the path
    "b'/x/demo.pcap'", an InputError "no such file" for a capture that exists."""
    with pytest.raises(TypeError, match="capture paths must be str or os.PathLike"):
        CaptureReader(arg)  # type: ignore[arg-type]


def _records(reader: CaptureReader) -> list[tuple[int, bytes]]:
    """(timestamp in ns, captured bytes) of every record the reader gives."""
    out = []
    for batch in reader:
        buf = batch.data.tobytes()
        for ts, off, cap in zip(batch.ts_ns.tolist(), batch.offset.tolist(),
                                batch.caplen.tolist()):
            out.append((ts, buf[off : off + cap]))
    return out


@pytest.mark.parametrize("suffix", ["", *PACK])
def test_a_file_object_is_read_as_its_path_and_left_open(suffix: str, tmp_path: Path) -> None:
    """As dpkt.pcap.Reader(f) does: the records from a binary file object are the
    path's, compressed data in it detected as in a file (offsets then count the
    decompressed bytes), and the object, the caller's, is left open."""
    data = DEMO.read_bytes()
    packed = PACK[suffix](data) if suffix else data
    path = tmp_path / f"demo.pcap{suffix}"
    path.write_bytes(packed)
    expected = _records(CaptureReader(path))
    assert len(expected) == 270
    for obj in (io.BytesIO(packed), path.open("rb")):
        reader = CaptureReader(obj)
        assert _records(reader) == expected
        assert reader.compression == (NAMES[suffix] if suffix else "")
        assert not obj.closed
        assert obj.read() == b""  # read to its end
        obj.close()
    assert CaptureReader(io.BytesIO(packed)).display == "<stream 1>"
    with path.open("rb") as f:
        assert CaptureReader(f).display == str(path)


def test_a_pathlike_and_standard_input_name_are_taken() -> None:
    assert sum(len(b) for b in CaptureReader(DEMO)) == 270
    assert CaptureReader("-").display == "<stdin>"


def test_reading_again_counts_one_read(tmp_path: Path) -> None:
    """Iterated twice, the reader read the file twice and added the second read to the
    first: `records` said 540 for demo.pcap's 270, and each problem was listed twice."""
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(DEMO.read_bytes()[:-10])  # ends inside its last record
    reader = CaptureReader(cut)
    first = sum(len(b) for b in reader)
    problems = [str(p) for p in reader.problems]
    again = sum(len(b) for b in reader)
    assert again == first == reader.records
    assert len(problems) == 1
    assert [str(p) for p in reader.problems] == problems
    demo = CaptureReader(DEMO)
    for _ in range(2):
        assert sum(len(b) for b in demo) == 270
    assert demo.records == 270


@pytest.mark.parametrize("tool", ["", "gzip", "bzip2", "xz", "zstd", "lz4"])
def test_offset_is_where_the_reading_is_in_the_file(tmp_path, tool):
    """CaptureReader.offset, what the progress line's percentage counts: bytes of the file
    as it lies on disk (a compressed one's compressed bytes), growing batch by batch to
    the file's size once its last batch is read."""
    import shutil
    import subprocess

    from capgen import big_capture
    from paths import LOCAL_PCAPS

    capture = big_capture(tmp_path / "big.pcap", LOCAL_PCAPS / "demo.pcap", copies=100)
    if tool:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
        packed = tmp_path / f"big.pcap.{tool}"
        with open(packed, "wb") as out:
            subprocess.run([tool, "-c", str(capture)], stdout=out, check=True)
        capture = packed
    reader = CaptureReader(str(capture), chunk_size=1 << 20)
    offsets = [reader.offset for _ in reader]
    assert len(offsets) > 1 and offsets == sorted(offsets)
    assert offsets[-1] == capture.stat().st_size


@pytest.mark.parametrize("damage", ["cut", "flipped"])
def test_a_file_object_that_fails_mid_read_keeps_the_records_before(damage: str,
                                                                     tmp_path: Path) -> None:
    """A gzip.GzipFile over a stream cut short raises EOFError from its read, over a
    damaged one BadGzipFile or zlib.error: that was a CaptureFormatError
    "<stream 1>:  stream cut short (...)" (no compression name: the object decompressed,
    not portannot) and none of the records before it, where the same bytes as a .gz
    path give every record up to the damage and a warning. Now the object's failure is
    a read error: the records before it are kept, as for a file's I/O error, and the
    problem says what the object raised."""
    import gzip

    demo = DEMO.read_bytes()
    data = demo[:24] + demo[24:] * 40  # its records 40 times: many gzip steps
    packed = bytearray(gzip.compress(data))
    if damage == "cut":
        packed = packed[: len(packed) * 2 // 3]
    else:
        packed[len(packed) // 2] ^= 0xFF
    path = tmp_path / "damaged.pcap.gz"
    path.write_bytes(packed)
    expected = _records(CaptureReader(path, chunk_size=1 << 16))
    reader = CaptureReader(gzip.GzipFile(fileobj=io.BytesIO(bytes(packed))), chunk_size=1 << 16)
    got = _records(reader)
    assert len(got) > 270
    assert got == expected
    if damage == "cut":  # (flipped, the walk stops first, at the garbage inflated)
        assert [p.message for p in reader.problems][-1] == (
            "read error (EOFError: Compressed file ended before the end-of-stream marker "
            "was reached); stopped reading")
    with pytest.raises(InputError, match=r"^<stream 1>: read error \(EOFError: "):
        list(CaptureReader(gzip.GzipFile(fileobj=io.BytesIO(bytes(packed[:30])))))


@pytest.mark.parametrize("chunk", [4096, None])
def test_a_file_truncated_while_read_is_reported(chunk, tmp_path: Path) -> None:
    """A regular file cut shorter while it is read (a rotation's copytruncate): its end
    came early to the reader, which said at most "file ends inside a record" at an offset
    past the file's new end, or, where the read had reached a record's end (the whole of
    a small file is read at once), nothing at all: the rows were of bytes the file no
    longer holds, exit 0. Now the read reports that the file shrank, and where it ends.
    The records are those whose bytes were read (capgen.layout of the file as it was)."""
    from capgen import layout

    data = DEMO.read_bytes()
    path = tmp_path / "rotated.pcap"
    path.write_bytes(data)
    spans = layout(data).records
    new_end = spans[0][1]  # the first record's end
    kwargs = {} if chunk is None else {"chunk_size": chunk}
    reader = CaptureReader(str(path), **kwargs)
    got = 0
    for i, batch in enumerate(reader):
        got += len(batch)
        if i == 0:
            path.write_bytes(data[:new_end])
    *cut, shrank = list(reader.problems)
    assert shrank.offset == new_end and "file shrank while it was read" in shrank.message
    read = int(shrank.message.split("after ")[1].split(" bytes")[0])
    assert read > new_end
    # every record that starts before the read's end, the last one cut where it is
    assert got == sum(start < read for start, _ in spans)
    if chunk is None:  # the whole file in one read: no cut record, only the shrink
        assert read == len(data) and not cut and got == len(spans)
    else:
        [cut_record] = cut
        assert "file ends inside a record" in cut_record.message
