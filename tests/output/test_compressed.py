"""Compressed text output (`-o flows.csv.gz`): each format as its own tool reads it back,
byte for byte, and written as every -o file is (whole or not at all)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess

import pyarrow as pa
import pytest

from portannot.errors import OutputError
from portannot.output.compressed import COMPRESSORS, CompressedWriter
from portannot.output.files import Output

#: compression -> the tool that reads it back, as README names it
TOOLS = {"gzip": "gzip", "bzip2": "bzip2", "xz": "xz", "zstd": "zstd", "lz4": "lz4"}
#: the capture reader's magic of each (capture.compression): what the file starts with
MAGIC = {"gzip": b"\x1f\x8b", "bzip2": b"BZh", "xz": b"\xfd7zXZ\x00",
         "zstd": b"\x28\xb5\x2f\xfd", "lz4": b"\x04\x22\x4d\x18"}

TEXT = b"".join(b"%d,10.0.%d.%d,udp,%d\n" % (i, i >> 8 & 255, i & 255, i % 65536)
                for i in range(200_000))


def tool_decompressed(compression: str, data: bytes) -> bytes:
    """What the format's own tool (`gzip -dc`, ...) makes of `data`, checksums checked."""
    tool = shutil.which(TOOLS[compression])
    if tool is None:
        pytest.skip(f"{TOOLS[compression]} not installed")
    proc = subprocess.run([tool, "-dc"], input=data, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_every_capture_compression_is_written():
    """The compressions -o writes are those the capture reader reads."""
    from portannot.capture.compression import COMPRESSIONS
    from portannot.output.formats import COMPRESSION_SUFFIXES

    read = {name for name, _ in COMPRESSIONS.values()}
    assert set(COMPRESSORS) == read == set(COMPRESSION_SUFFIXES.values())


@pytest.mark.parametrize("compression", sorted(COMPRESSORS))
def test_the_tool_reads_back_exactly_what_was_written(compression, tmp_path):
    """Written in pieces of every kind the writers hand on (bytes, memoryview, an Arrow
    buffer), the file decompresses with its tool to the same bytes."""
    path = tmp_path / "out"
    with open(path, "wb") as raw:
        writer = CompressedWriter(raw, compression)
        third = len(TEXT) // 3
        assert writer.write(TEXT[:third]) == third
        writer.write(memoryview(TEXT)[third: 2 * third])
        writer.write(pa.py_buffer(TEXT[2 * third:]))
        assert writer.tell() == len(TEXT)
        writer.finish()
        assert not raw.closed  # AtomicFile closes and renames it
    data = path.read_bytes()
    assert data.startswith(MAGIC[compression])
    assert len(data) < len(TEXT) // 2
    assert tool_decompressed(compression, data) == TEXT


@pytest.mark.parametrize("compression", sorted(COMPRESSORS))
def test_nothing_written_is_a_whole_empty_stream(compression, tmp_path):
    path = tmp_path / "out"
    with open(path, "wb") as raw:
        CompressedWriter(raw, compression).finish()
    assert tool_decompressed(compression, path.read_bytes()) == b""


def test_close_finishes_once_and_closes_the_file(tmp_path):
    raw = open(tmp_path / "out", "wb")  # noqa: SIM115
    writer = CompressedWriter(raw, "gzip")
    writer.write(b"a,b\n")
    writer.close()
    writer.close()
    assert raw.closed and writer.closed
    with pytest.raises(ValueError):
        writer.write(b"more")
    assert tool_decompressed("gzip", (tmp_path / "out").read_bytes()) == b"a,b\n"


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_an_output_file_is_put_in_place_compressed_only_when_whole(compression, tmp_path):
    out = Output(str(tmp_path / "flows.csv.x"), compression=compression)
    out.stream.write(TEXT)
    assert sorted(p.name for p in tmp_path.iterdir()) != ["flows.csv.x"]  # a temporary
    out.commit()
    assert [p.name for p in tmp_path.iterdir()] == ["flows.csv.x"]
    assert tool_decompressed(compression, (tmp_path / "flows.csv.x").read_bytes()) == TEXT


def test_an_aborted_compressed_output_leaves_nothing(tmp_path):
    out = Output(str(tmp_path / "flows.csv.gz"), compression="gzip")
    out.stream.write(TEXT)
    out.abort()
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_at_the_streams_end_leaves_nothing(tmp_path, monkeypatch):
    """The compressor's last bytes (its trailer: gzip's CRC and length) fail to go out:
    the file is not put in place, the temporary is removed, and the one line says so."""
    old = tmp_path / "flows.csv.gz"
    old.write_bytes(b"old")
    out = Output(str(old), force=True, compression="gzip")
    out.stream.write(TEXT)
    raw = out.stream.raw  # type: ignore[attr-defined]

    def full(_data: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(raw, "write", full, raising=False)
    with pytest.raises(OutputError, match="no space left on device; nothing written"):
        out.commit()
    assert [p.name for p in tmp_path.iterdir()] == ["flows.csv.gz"]
    assert old.read_bytes() == b"old"


def test_standard_output_is_not_compressed():
    with pytest.raises(ValueError):
        Output(None, compression="gzip")
    with pytest.raises(ValueError):
        Output("-", compression="gzip")


def test_gzip_without_isal_is_zlibs(monkeypatch, tmp_path):
    """Where python-isal is not installed (the capture reader falls back to Python's gzip
    too), zlib writes the gzip member, at the `gzip` tool's level 6."""
    import sys

    monkeypatch.setitem(sys.modules, "isal", None)
    path = tmp_path / "out.gz"
    with open(path, "wb") as raw:
        writer = CompressedWriter(raw, "gzip")
        writer.write(TEXT)
        writer.finish()
    assert tool_decompressed("gzip", path.read_bytes()) == TEXT


@pytest.mark.parametrize("compression", sorted(COMPRESSORS))
def test_a_large_write_is_compressed_a_slice_at_a_time(compression, monkeypatch, tmp_path):
    """A piece of text is given xz and bzip2 a slice at a time: a Ctrl-C is handled
    between two calls into the library, and xz took 2.5-3.3 s over each 2.7 MB piece of
    flows' CSV, a Ctrl-C waiting all that time. The stream is the same as the library
    makes of it given whole (the others are given it whole: ISA-L's gzip and LZ4 cut
    otherwise make other, as valid, streams)."""
    from portannot.output import compressed

    sizes: list[int] = []
    make = COMPRESSORS[compression]

    class Recording:
        def __init__(self) -> None:
            self.inner = make()

        def compress(self, data):
            sizes.append(memoryview(data).nbytes)
            return self.inner.compress(data)

        def flush(self):
            return self.inner.flush()

    big = TEXT * 3  # 8.6 MB
    library = make()  # the library given it whole
    whole = library.compress(big) + library.flush()
    monkeypatch.setitem(compressed.COMPRESSORS, compression, Recording)
    sliced = tmp_path / "sliced"
    with open(sliced, "wb") as raw:
        writer = CompressedWriter(raw, compression)
        assert writer.write(pa.py_buffer(big)) == len(big)
        writer.finish()
    assert sum(sizes) == len(big)
    if compression in ("bzip2", "xz"):
        assert max(sizes) <= compressed.SLICE < len(big)
    assert sliced.read_bytes() == whole
    assert tool_decompressed(compression, sliced.read_bytes()) == big
