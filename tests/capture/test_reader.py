"""CaptureReader used on its own, as README's "Each stage stands alone" shows it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from paths import local_capture

from portannot.capture import CaptureReader

DEMO = local_capture("demo.pcap")


def _not_paths(capture: Path) -> list[object]:
    return [capture.open("rb"), io.BytesIO(capture.read_bytes()), bytes(capture),
            bytearray(bytes(capture))]


@pytest.mark.parametrize("index", range(4))
def test_a_file_object_or_bytes_is_refused_as_the_api_refuses_it(index: int) -> None:
    """CaptureReader took str() of what it was given: an open file or BytesIO became the
    path "<_io.BufferedReader name=...>", and b'/x/demo.pcap' the path "b'/x/demo.pcap'",
    both an InputError "no such file" for a capture that exists. iter_records and
    portannot.flows() refuse them with a TypeError saying what to give."""
    arg = _not_paths(DEMO)[index]
    with pytest.raises(TypeError, match="capture paths must be str or os.PathLike"):
        CaptureReader(arg)  # type: ignore[arg-type]
    if isinstance(arg, io.IOBase):
        arg.close()


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
