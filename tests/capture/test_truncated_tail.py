"""A capture cut short mid-record: every complete record before the cut is still
decoded, the damage is reported with its byte offset, and the CLI exits with 3.

For a few captures (pcap little- and big-endian, a two-section pcapng, a shared pcapng),
the file is cut at EVERY byte offset strictly inside each of its last three records
(packet blocks for pcapng). The Python API (CaptureReader + Decoder) is used for every
offset; the CLI (`python -m portannot packets FILE -f csv`, and once through stdin) for
a sample of offsets. A cut exactly on a record boundary leaves a valid, shorter file.
A cut inside the capture's own header leaves no capture at all (exit 4, like a file
that is not a capture).

The reader may also keep the record the cut falls in (number k+1) when its own
header is whole, with the bytes that are present: then its caplen is smaller than the
whole record's, and its length and timestamp are the whole record's.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from capgen import dpkt_frames, layout
from packing import PACK, SUFFIXES
from paths import local_capture, shared_capture

from portannot.capture import CaptureReader
from portannot.capture.chunks import COMPRESSED_PIECE
from portannot.capture.source import open_stream
from portannot.decode import Decoder, concat, decode_file
from portannot.errors import CaptureFormatError, ExitCode

CAPTURES = [
    pytest.param(("local", "demo.pcap"), id="pcaps/demo.pcap"),
    pytest.param(("local", "pcap-usec-be.pcap"), id="pcaps/pcap-usec-be.pcap"),
    pytest.param(("local", "pcapng-multi.pcapng"), id="pcaps/pcapng-multi.pcapng"),
    pytest.param(("shared", "zeek/pcapng-multi-interface.pcapng"),
                 id="shared/zeek/pcapng-multi-interface.pcapng"),
]

#: the CLI is run for these captures only, at a few offsets each (process start-up is slow)
CLI_CAPTURES = ("demo.pcap", "pcapng-multi.pcapng")


def _path(spec) -> Path:
    where, name = spec
    return local_capture(name) if where == "local" else shared_capture(name)


def record_spans(data: bytes) -> list[tuple[int, int]]:
    """(start, end) byte offsets of every packet record of a pcap or pcapng file."""
    return layout(data).records


def read_api(path: Path):
    reader = CaptureReader(str(path))
    decoder = Decoder()
    batches = [decoder.decode(b) for b in reader]
    return (concat(batches) if batches else None), reader.problems


_FIELDS = ("number", "status", "transport", "src_port", "dst_port", "length", "ts_ns")


def _same_prefix(got, full, k: int, *, allow_partial: bool = False) -> bool:
    """got = the first k records of full, plus (if allow_partial) a partial record k+1."""
    n = 0 if got is None else len(got)
    if n == k + 1 and allow_partial and k < len(full):
        part = got.take(np.array([k]))
        if not (int(part.number[0]) == k + 1 and int(part.caplen[0]) < int(full.caplen[k])
                and int(part.length[0]) == int(full.length[k])
                and int(part.ts_ns[0]) == int(full.ts_ns[k])):
            return False
        got = got.take(np.arange(k))
        n = k
    if n != k:
        return False
    if k == 0:
        return True
    return all(np.array_equal(getattr(got, f), getattr(full, f)[:k]) for f in _FIELDS)


@pytest.mark.parametrize("spec", CAPTURES)
def test_every_cut_inside_the_last_three_records(spec, tmp_path):
    path = _path(spec)
    data = path.read_bytes()
    spans = record_spans(data)
    full = decode_file(path)
    assert len(full) == len(spans)
    cut_file = tmp_path / ("cut" + path.suffix)
    failures = []
    for idx in range(max(0, len(spans) - 3), len(spans)):
        start, end = spans[idx]
        for cut in range(start, end):
            cut_file.write_bytes(data[:cut])
            got, problems = read_api(cut_file)
            if not _same_prefix(got, full, idx, allow_partial=cut > start):
                failures.append(f"cut at {cut} (record {idx + 1} spans {start}-{end}): "
                                f"{0 if got is None else len(got)} records, expected the first {idx}")
            if cut == start:  # clean boundary: a valid, shorter capture
                if problems:
                    failures.append(f"cut at record boundary {cut}: unexpected problems {problems}")
            elif not any(start <= p.offset <= cut for p in problems):
                failures.append(f"cut at {cut} (record {idx + 1} starts at {start}): "
                                f"problems {[str(p) for p in problems]} name no offset in {start}..{cut}")
    assert not failures, f"{path.name}: {len(failures)} bad cut(s):\n" + "\n".join(failures[:20])


def _cli(args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portannot", *args], input=stdin,
                          capture_output=True, timeout=120, check=False)


def _check_cli(proc, k: int, start: int, cut: int, label: str) -> list[str]:
    out = []
    err = proc.stderr.decode(errors="replace")
    if proc.returncode != ExitCode.DAMAGED_INPUT:
        out.append(f"{label}: exit code {proc.returncode}, expected {int(ExitCode.DAMAGED_INPUT)}; "
                   f"stderr: {err.strip()[:300]}")
    numbers = [int(x) for x in re.findall(r"\d+", err)]
    if not any(start <= n <= cut for n in numbers):
        out.append(f"{label}: stderr names no byte offset in {start}..{cut}: {err.strip()[:300]}")
    rows = list(csv.DictReader(io.StringIO(proc.stdout.decode(errors="replace"))))
    got = [int(r["number"]) for r in rows] if rows and "number" in rows[0] else []
    if got not in (list(range(1, k + 1)), list(range(1, k + 2))):
        out.append(f"{label}: CSV frame numbers {got if got is None else got[:5]}..., "
                   f"expected 1..{k}")
    return out


@pytest.mark.parametrize("name", CLI_CAPTURES)
def test_cli_reports_cut_files(name, tmp_path):
    path = local_capture(name)
    data = path.read_bytes()
    spans = record_spans(data)
    failures = []
    cut_file = tmp_path / ("cut" + path.suffix)
    samples = []
    for idx in range(max(0, len(spans) - 3), len(spans)):
        start, end = spans[idx]
        samples.append((idx, start, (start + 5, end - 1)[idx % 2]))  # in the header / last byte
    samples.append((len(spans) - 1, spans[-1][0], (spans[-1][0] + spans[-1][1]) // 2))
    for idx, start, cut in samples:
        cut_file.write_bytes(data[:cut])
        proc = _cli(["packets", str(cut_file), "-f", "csv"])
        failures += _check_cli(proc, idx, start, cut, f"{name} cut at {cut}")
    # the same through stdin
    idx, start, cut = samples[-1]
    proc = _cli(["packets", "-", "-f", "csv"], stdin=data[:cut])
    failures += _check_cli(proc, idx, start, cut, f"{name} via stdin cut at {cut}")
    assert not failures, "\n".join(failures)


def test_cli_whole_file_is_not_damaged():
    path = local_capture("demo.pcap")
    proc = _cli(["packets", str(path), "-f", "csv"])
    assert proc.returncode == ExitCode.OK, proc.stderr.decode(errors="replace")
    rows = list(csv.DictReader(io.StringIO(proc.stdout.decode())))
    assert len(rows) == len(dpkt_frames(path))


def _damaged(packed: bytes, how: str) -> bytes:
    if how == "cut-half":
        return packed[: len(packed) // 2]
    if how == "cut-near-end":
        return packed[: len(packed) - 30]
    if how == "cut-last-bytes":
        return packed[: len(packed) - 4]
    if how == "flipped-byte":
        p = bytearray(packed)
        p[len(p) * 2 // 3] ^= 0x55
        return bytes(p)
    return packed + b"this is not a compressed stream"  # trailing garbage


def _readable(damaged: Path) -> tuple[bytes, bool]:
    """What the damaged stream still yields, read a little at a time until its
    decompressor gives up; and whether it did give up."""
    stream, _ = open_stream(str(damaged))
    out = bytearray()
    try:
        while chunk := stream.read(512):
            out += chunk
    except Exception:  # noqa: BLE001 - whatever the codec raises on damage
        return bytes(out), True
    return bytes(out), False


@pytest.mark.parametrize("how", ["cut-half", "cut-near-end", "cut-last-bytes", "flipped-byte",
                                 "trailing-garbage"])
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_damaged_compressed_stream_keeps_what_came_before(suffix, how, tmp_path):
    """A compressed capture cut short or damaged: the records decoded are a prefix of the
    whole (the last possibly partial), the damage is reported, and no more is lost than
    the reader's piece of decompressed bytes (COMPRESSED_PIECE) before the point where
    the decompressor gives up, plus the record that point falls in."""
    path = local_capture("random-stacks.pcap")
    data = path.read_bytes()
    full = decode_file(path)
    damaged = tmp_path / f"damaged.pcap{suffix}"
    damaged.write_bytes(_damaged(PACK[suffix](data), how))
    readable, noticed = _readable(damaged)
    # a flipped byte may come out as a changed byte before the codec notices (gzip and
    # bzip2 check the content only at the end of a stream or block), or without its
    # noticing at all (zstd and LZ4 frames written without a content checksum)
    same = next((i for i, (a, b) in enumerate(zip(readable, data)) if a != b), len(readable))
    try:
        got, problems = read_api(damaged)
    except CaptureFormatError as exc:  # not even the capture's header decompressed
        assert same < 24, f"refused although {same} bytes decompress as they were: {exc}"
        return
    k = 0 if got is None else len(got)
    spans = record_spans(data)
    intact = sum(1 for _, end in spans if end <= same)  # records the damage left as they were
    assert k >= intact or _same_prefix(got, full, k) or (
        k > 0 and _same_prefix(got, full, k - 1, allow_partial=True)), f"{k} records: not a prefix"
    assert _same_prefix(got.take(np.arange(min(k, intact))) if got is not None else None,
                        full, min(k, intact)), "records before the damage changed"
    if not noticed:
        return
    assert problems, "the damage was not reported"
    whole_before = sum(1 for _, end in spans if end <= min(same, len(readable)) - COMPRESSED_PIECE)
    assert k >= whole_before, f"kept {k} records, {whole_before} lie wholly before the damage"


def _header_length(data: bytes) -> int:
    """Bytes of the capture's own header: a pcap's 24, or a pcapng's first section header
    block, whose length the block states in the byte order its magic gives."""
    if data[:4] != b"\x0a\x0d\x0d\x0a":
        return 24
    order = "little" if data[8:12] == b"\x4d\x3c\x2b\x1a" else "big"
    return int.from_bytes(data[4:8], order)


@pytest.mark.parametrize("spec", CAPTURES)
def test_a_cut_inside_the_capture_header_leaves_no_capture(spec, tmp_path):
    """A file that ends inside its header (a pcap's 24 bytes, a pcapng's first section
    header block) holds no capture: CaptureFormatError, as for a file that is not one,
    never an empty capture with a warning. Cut right after the header it is a capture of
    no packets, read without a problem."""
    data = _path(spec).read_bytes()
    head = _header_length(data)
    cut_file = tmp_path / ("cut" + _path(spec).suffix)
    wrong = []
    for cut in range(1, head):
        cut_file.write_bytes(data[:cut])
        try:
            got, problems = read_api(cut_file)
        except CaptureFormatError as exc:
            if cut >= 12 and f"({cut} of {head} bytes)" not in str(exc) and head != 24:
                wrong.append(f"cut at {cut}: {exc}")
            continue
        wrong.append(f"cut at {cut}: read as a capture ({0 if got is None else len(got)} "
                     f"records, problems {[str(p) for p in problems]})")
    assert not wrong, "\n".join(wrong[:10])
    cut_file.write_bytes(data[:head])
    got, problems = read_api(cut_file)
    assert got is None and not problems


def test_cli_skips_a_pcapng_cut_inside_its_section_header(tmp_path):
    """The CLI's side: alone, exit 4 and one line; beside a good capture, that one is
    read in full, the cut one is named as skipped, and the command exits 4; from standard
    input the same."""
    data = local_capture("pcapng-multi.pcapng").read_bytes()
    cut = _header_length(data) - 20
    cut_file = tmp_path / "cut.pcapng"
    cut_file.write_bytes(data[:cut])
    alone = _cli(["flows", str(cut_file), "-f", "csv", "-q"])
    assert alone.returncode == ExitCode.INPUT_ERROR
    assert alone.stderr.decode().splitlines() == [
        f"portannot: {cut_file}: file ends inside the pcapng section header block "
        f"({cut} of {_header_length(data)} bytes)"]
    piped = _cli(["flows", "-", "-f", "csv", "-q"], stdin=data[:cut])
    assert piped.returncode == ExitCode.INPUT_ERROR and b"<stdin>" in piped.stderr
    demo = local_capture("demo.pcap")
    both = _cli(["flows", str(cut_file), str(demo), "-f", "csv", "-q"])
    only = _cli(["flows", str(demo), "-f", "csv", "-q"])
    assert both.returncode == ExitCode.INPUT_ERROR
    assert "skipped" in both.stderr.decode() and str(cut_file) in both.stderr.decode()
    assert both.stdout == only.stdout and only.returncode == ExitCode.OK
