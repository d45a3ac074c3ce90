"""What follows a whole compressed stream: another stream is read on (as `gzip -d`,
`bzip2 -d` and `xz -d` read concatenated streams), xz's stream padding is nothing, and
anything else is damage, reported once, at the decompressed offset where the capture
stops, after every record before it.

Python's gzip module raised on garbage after a member (exit 3), its bz2 and lzma
readers took it for the end of the file (exit 0); gzip is now read as the others are
(through ISA-L), and Python's gzip only where isal is not installed
(tests/capture/test_source.py reads both ways). The tools: `gzip -d` warns "trailing
garbage ignored" (exit 2), `bzip2 -d` "trailing garbage after EOF ignored", `xz -d`
fails (exit 1); `xz -d` accepts zero padding in fours and refuses 3 zero bytes.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import shutil
import subprocess

import pytest
from paths import local_capture

from portannot.capture import CaptureReader

PACK = {"gzip": lambda b: gzip.compress(b, mtime=0), "bzip2": lambda b: bz2.compress(b, 1),
        "xz": lzma.compress}
GARBAGE = b"garbage\n"


def _demo() -> bytes:
    return local_capture("demo.pcap").read_bytes()


def _read(path) -> tuple[list[bytes], list]:
    reader = CaptureReader(str(path))
    got = [b.record(i) for b in reader for i in range(len(b))]
    return got, list(reader.problems)


def _plain() -> list[bytes]:
    return _read(local_capture("demo.pcap"))[0]


@pytest.mark.parametrize("codec", list(PACK))
def test_garbage_after_the_stream_is_damage_after_every_record(codec, tmp_path):
    data = _demo()
    stream = PACK[codec](data)
    path = tmp_path / "cg.pcap.x"
    path.write_bytes(stream + GARBAGE)
    got, problems = _read(path)
    assert got == _plain() and len(got) == 270
    assert [p.offset for p in problems] == [len(data)]  # 41,777: the whole capture read
    assert problems[0].message.startswith(f"{codec} stream is damaged (")
    assert problems[0].message.endswith("); stopped reading")
    assert (f"garbage after the {codec} stream that ends at compressed byte {len(stream)}: "
            f"not another {codec} stream") in problems[0].message


@pytest.mark.parametrize("codec", list(PACK))
def test_concatenated_streams_are_one_capture(codec, tmp_path):
    """The capture cut at an odd offset (inside a record) and each part compressed on its
    own: `cat a.bz2 b.bz2` decompresses to the whole, and so it reads; garbage after the
    second stream is reported as after the first."""
    data = _demo()
    cut = len(data) // 3 + 7
    joined = PACK[codec](data[:cut]) + PACK[codec](data[cut:])
    path = tmp_path / "joined.pcap.x"
    path.write_bytes(joined)
    assert _read(path) == (_plain(), [])
    path.write_bytes(joined + GARBAGE)
    got, problems = _read(path)
    assert got == _plain() and [p.offset for p in problems] == [len(data)]
    tool = {"gzip": "gzip", "bzip2": "bzip2", "xz": "xz"}[codec]
    if shutil.which(tool):
        path.write_bytes(joined)
        out = subprocess.run([tool, "-dc", str(path)], capture_output=True, check=True).stdout
        assert out == data


@pytest.mark.parametrize("zeros, damaged", [(4, False), (12, False), (3, True), (5, True)])
def test_xz_stream_padding(zeros, damaged, tmp_path):
    """xz's format allows zero bytes in multiples of four after a stream (and between
    streams, where they are checked the same way)."""
    data = _demo()
    stream = lzma.compress(data)
    path = tmp_path / "padded.pcap.xz"
    path.write_bytes(stream + bytes(zeros))
    got, problems = _read(path)
    assert got == _plain()
    if damaged:
        assert [p.offset for p in problems] == [len(data)]
        assert f"ends at compressed byte {len(stream)}: {zeros} zero bytes" in problems[0].message
    else:
        assert problems == []
    # between two streams, the first ending at decompressed byte 100, 6 bytes into the
    # second record's header (the first record, 54 bytes, ends at 94)
    between = tmp_path / "between.pcap.xz"
    first = lzma.compress(data[:100])
    between.write_bytes(first + bytes(zeros) + lzma.compress(data[100:]))
    got, problems = _read(between)
    if damaged:
        assert got == _plain()[:1]
        assert [p.offset for p in problems] == [94, 100]
        assert problems[0].message.startswith("file ends inside a record header")
        assert f"ends at compressed byte {len(first)}: {zeros} zero bytes" in problems[1].message
    else:
        assert got == _plain() and problems == []
    if shutil.which("xz"):
        proc = subprocess.run(["xz", "-dc", str(path)], capture_output=True, check=False)
        assert (proc.returncode != 0) is damaged


def test_bzip2_trailing_garbage_through_the_command(tmp_path, cli):
    """The review's case: `(bzip2 -c demo.pcap; echo garbage) > cg.pcap.bz2`."""
    data = _demo()
    stream = bz2.compress(data)
    path = tmp_path / "cg.pcap.bz2"
    path.write_bytes(stream + GARBAGE)
    code, out, err = cli("summary", "--json", str(path))
    assert code == 3
    assert err.splitlines() == [
        f"portannot: warning: {path}: bzip2 stream is damaged (garbage after the bzip2 "
        f"stream that ends at compressed byte {len(stream)}: not another bzip2 stream); "
        f"stopped reading at decompressed byte offset {len(data)}"]
    code, out, err = cli("packets", str(path), "-f", "csv")
    assert code == 3 and len(out.splitlines()) == 1 + 270


@pytest.mark.parametrize("codec", ["bzip2", "xz"])
def test_a_stream_cut_short_after_a_whole_one_is_damage(codec, tmp_path):
    """A second stream that begins but ends early: the first's records are all there."""
    data = _demo()
    second = PACK[codec](data[:50])
    path = tmp_path / "cut.pcap.x"
    path.write_bytes(PACK[codec](data) + second[: len(second) // 2])
    got, problems = _read(path)
    assert got[:270] == _plain() and len(problems) >= 1
    assert problems[-1].message.startswith((f"{codec} stream is damaged",
                                            f"{codec} stream cut short"))


@pytest.mark.parametrize("codec", ["gzip", "bzip2", "xz"])
def test_a_file_cut_short_is_called_so(codec, tmp_path, cli):
    """A compressed capture that simply stops (a copy or download cut short) is 'cut
    short', not 'damaged', and its offsets say they count decompressed bytes: the
    compressed file is smaller than the offsets. (Five copies of the capture's records:
    bzip2 gives nothing of a 100 KB block until its end.)"""
    data = _demo()
    stream = PACK[codec](data + data[24:] * 4)
    path = tmp_path / "cut.pcap.x"
    path.write_bytes(stream[: len(stream) * 3 // 4])
    code, _, err = cli("summary", "--json", str(path))
    assert code == 3
    last = err.splitlines()[-1]
    assert f"{path}: {codec} stream cut short (" in last
    assert re.search(r"stopped reading at decompressed byte offset \d+$", last), last


def _zstd(data: bytes) -> bytes:
    try:
        from compression import zstd  # type: ignore[import-not-found]
    except ImportError:
        from backports import zstd  # type: ignore[no-redef]
    return zstd.compress(data)


def _lz4(data: bytes) -> bytes:
    import lz4.frame

    return lz4.frame.compress(data)


STREAMS = {**PACK, "zstd": _zstd, "LZ4": _lz4}


@pytest.mark.parametrize("keep", [2, 8, "half"])
@pytest.mark.parametrize("codec", list(STREAMS))
def test_a_second_stream_cut_before_its_first_bytes_is_cut_short(codec, keep, tmp_path):
    """Two streams, the second cut before it gave any output (inside its magic, its
    header, or for bzip2 and LZ4 its first block: `pbzip2` writes a stream per 900 kB
    block, so a cut copy of its output stops so almost anywhere). The file simply
    stops: "cut short", as the tools say ("Compressed file ends unexpectedly"), not
    "garbage after the stream: not another stream", which it was called."""
    data = _demo()
    first, second = STREAMS[codec](data), STREAMS[codec](data[24:])
    cut = len(second) // 2 if keep == "half" else keep
    if keep == "half" and codec not in ("bzip2", "LZ4"):
        cut = min(cut, 8)  # the others give output before half their (small) stream
    path = tmp_path / "cut.pcap.x"
    path.write_bytes(first + second[:cut])
    got, problems = _read(path)
    assert got[:270] == _plain()
    name = "lz4" if codec == "LZ4" else codec
    assert problems[-1].message.startswith(f"{name} stream cut short ("), problems[-1].message
    assert "garbage" not in problems[-1].message


def test_a_second_zstd_frame_damaged_in_its_header_is_damage_not_garbage(tmp_path):
    """A frame that begins with zstd's magic and a reserved header bit set is a damaged
    frame, not bytes that are "not another zstd stream"."""
    data = _demo()
    second = bytearray(_zstd(data[24:]))
    second[4] |= 0x08  # a reserved bit of the frame header descriptor
    path = tmp_path / "damaged.pcap.zst"
    path.write_bytes(_zstd(data) + bytes(second))
    got, problems = _read(path)
    assert got == _plain()
    assert problems[-1].message.startswith("zstd stream is damaged (")
    assert "garbage" not in problems[-1].message
