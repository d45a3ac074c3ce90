"""capture/compression: gzip through ISA-L where python-isal is installed, else through
Python's gzip module; both give the bytes Python's gzip.decompress gives. (Damage and
what follows a stream, for every format: test_compressed_damage.py and
test_compressed_trailing.py.)"""

from __future__ import annotations

import gc
import gzip
import os
import sys
import warnings

import pytest
from paths import local_capture

from portannot.capture import CaptureReader
from portannot.capture.source import open_stream


@pytest.mark.parametrize("isal", [True, False], ids=["isal", "python-gzip"])
def test_gzip_through_isal_or_pythons_gzip_alike(isal, monkeypatch, tmp_path):
    """Two members cut inside a record, zero bytes between and after them (which
    GzipFile and `gzip -d` skip): the capture whole, as gzip.decompress has it, and
    its records those of the plain file. Without isal, Python's GzipFile reads it."""
    if isal:
        pytest.importorskip("isal")
    else:
        monkeypatch.setitem(sys.modules, "isal", None)  # import isal: ImportError
    demo = local_capture("demo.pcap")
    data = demo.read_bytes()
    blob = gzip.compress(data[:1000], mtime=0) + bytes(7) + gzip.compress(data[1000:]) + bytes(3)
    assert gzip.decompress(blob) == data
    path = tmp_path / "demo.pcap.gz"
    path.write_bytes(blob)
    stream, name = open_stream(str(path))
    with stream:
        assert name == "gzip" and stream.read() == data
        assert isinstance(stream, gzip.GzipFile) is not isal
    reader = CaptureReader(path)
    records = [b.record(i) for b in reader for i in range(len(b))]
    assert records == [b.record(i) for b in CaptureReader(demo) for i in range(len(b))]
    assert list(reader.problems) == []


@pytest.mark.parametrize("isal", [True, False], ids=["isal", "python-gzip"])
def test_a_gzip_input_closes_its_file(isal, monkeypatch, tmp_path):
    """Closing the stream closes the file under it, with or without isal: Python's
    GzipFile left the file open (a ResourceWarning per .gz input, its descriptor held
    until the garbage collector came)."""
    if isal:
        pytest.importorskip("isal")
    else:
        monkeypatch.setitem(sys.modules, "isal", None)
    path = tmp_path / "demo.pcap.gz"
    path.write_bytes(gzip.compress(local_capture("demo.pcap").read_bytes()))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        stream, _ = open_stream(str(path))
        under = stream.fileobj if isinstance(stream, gzip.GzipFile) else stream.raw._raw
        stream.read()
        stream.close()
        assert under.closed
        reader = CaptureReader(path)
        assert sum(len(b) for b in reader) == 270
        gc.collect()


@pytest.mark.parametrize("nibble", [0x0, 0x3, 0xF])
def test_zstd_starting_with_any_skippable_frame(nibble, tmp_path):
    """A zstd file may begin with a skippable frame of any magic 0x184D2A50-0x184D2A5F
    (`zstd -dc` skips them all): only 0x184D2A50 (pzstd's) was known, the rest refused
    as not a capture. The records are the plain file's."""
    import shutil
    import struct
    import subprocess

    if shutil.which("zstd") is None:
        pytest.skip("the zstd tool is not installed")
    demo = local_capture("demo.pcap")
    frames = subprocess.run(["zstd", "-q", "-c", str(demo)], capture_output=True, check=True).stdout
    path = tmp_path / "demo.pcap.zst"
    path.write_bytes(struct.pack("<II", 0x184D2A50 | nibble, 5) + b"hello" + frames)
    assert subprocess.run(["zstd", "-dc", str(path)], capture_output=True).stdout == demo.read_bytes()
    reader = CaptureReader(path)
    records = [b.record(i) for b in reader for i in range(len(b))]
    assert records == [b.record(i) for b in CaptureReader(demo) for i in range(len(b))]
    assert reader.compression == "zstd" and list(reader.problems) == []


@pytest.mark.parametrize("nibbles", [(0x0,), (0xA, 0x3)], ids=["one", "two"])
def test_lz4_starting_with_skippable_frames(nibbles, tmp_path):
    """LZ4's frame format has skippable frames too, with zstd's magics (0x184D2A50 to
    0x184D2A5F): a file starting with one was taken for zstd, whose decompressor skipped
    it and called the LZ4 frame after it garbage (exit 4: "zstd stream is damaged"),
    where `lz4 -dc` skips the skippable frames and decompresses the capture. The format
    is the first real frame's: the records are the plain file's, the compression LZ4."""
    import shutil
    import struct
    import subprocess

    if shutil.which("lz4") is None:
        pytest.skip("the lz4 tool is not installed")
    demo = local_capture("demo.pcap")
    frames = subprocess.run(["lz4", "-q", "-c", str(demo)], capture_output=True, check=True).stdout
    skippable = b"".join(struct.pack("<II", 0x184D2A50 | k, 3 * k) + b"abc" * k for k in nibbles)
    path = tmp_path / "demo.pcap.lz4"
    path.write_bytes(skippable + frames)
    assert subprocess.run(["lz4", "-dc", str(path)], capture_output=True).stdout == demo.read_bytes()
    reader = CaptureReader(path)
    records = [b.record(i) for b in reader for i in range(len(b))]
    assert records == [b.record(i) for b in CaptureReader(demo) for i in range(len(b))]
    assert reader.compression == "lz4" and list(reader.problems) == []
    # through a pipe, which cannot go back to the frames looked past (the file fits in
    # the pipe's buffer, 64 KiB)
    import os

    r, w = os.pipe()
    assert len(skippable + frames) < 65_536
    os.write(w, skippable + frames)
    os.close(w)
    stream, name = open_stream(f"/dev/fd/{r}")
    os.close(r)
    with stream:
        assert name == "lz4" and stream.read() == demo.read_bytes()


def _open_descriptors_of(path) -> list[int]:
    """This process's descriptors open on `path` (Linux's /proc)."""
    fds = "/proc/self/fd"
    found = []
    for fd in os.listdir(fds):
        try:
            if os.readlink(f"{fds}/{fd}") == str(path):
                found.append(int(fd))
        except OSError:  # the descriptor listdir itself had open, closed since
            pass
    return found


def without_zstd(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a CPython 3.14 built without libzstd: compression.zstd's `import _zstd`
    fails (it runs again: a compression.zstd imported before is taken away), and
    backports.zstd is not installed."""
    monkeypatch.setitem(sys.modules, "_zstd", None)
    monkeypatch.setitem(sys.modules, "backports", None)
    for name in [n for n in sys.modules if n == "compression.zstd" or n.startswith("compression.zstd.")]:
        monkeypatch.delitem(sys.modules, name)
    if "compression" in sys.modules:
        monkeypatch.delattr(sys.modules["compression"], "zstd", raising=False)


def test_zstd_without_a_zstd_module_is_an_input_error(monkeypatch, tmp_path):
    """A CPython 3.14 built without libzstd has no compression.zstd, and backports.zstd
    installs only before 3.14: a .zst capture ended the command with a traceback
    (ModuleNotFoundError: No module named 'backports', exit 1). It is an InputError
    naming the file and why, and the file is closed."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("no /proc/self/fd to count open files")
    from packing import PACK

    from portannot.capture.compression import NO_ZSTD, zstd_module
    from portannot.errors import InputError

    path = tmp_path / "demo.pcap.zst"
    path.write_bytes(PACK[".zst"](local_capture("demo.pcap").read_bytes()))  # pyarrow's zstd
    without_zstd(monkeypatch)
    with pytest.raises(ImportError, match="libzstd"):
        zstd_module()
    with pytest.raises(InputError) as exc:
        open_stream(str(path))
    assert str(exc.value) == f"{path}: cannot decompress zstd: {NO_ZSTD}"
    assert _open_descriptors_of(path) == []
