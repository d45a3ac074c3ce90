"""The chunk window over a pipe that pauses: what came is handed on (a live capture).

A writer thread puts a capture's header and first record into a FIFO, then waits until
the reader has handed on a batch before it writes the rest. Had the reader waited for a
full chunk (4 MiB) or the end, the writer's wait runs out and the reader's first batch
holds every record: the assertion on its length says which happened. No timing is
asserted: the writer's wait is only a bound against hanging.
"""

from __future__ import annotations

import os
import struct
import threading
from pathlib import Path

import pytest
from capgen import layout, write_pcap, write_pcapng
from paths import local_capture, local_captures

from portannot.capture import CaptureReader, chunks
from portannot.capture.chunks import ChunkWindow
from portannot.decode import Decoder, PacketBatch
from portannot.decode.decoder import decode_file

#: seconds the writer waits for the reader's first batch before writing on regardless
HANG_BOUND = 60


def _local() -> list[Path]:
    return local_captures()


def _frames() -> list[tuple[int, bytes]]:
    """demo.pcap's first five frames, as (ts_ns, frame): an independent source (dpkt)."""
    from capgen import dpkt_frames

    return [(round(ts * 1e9), frame) for ts, frame in dpkt_frames(local_capture("demo.pcap"))[:5]]


def _feed(fifo: Path, data: bytes, first_end: int, first_batch: threading.Event,
          errors: list[BaseException]) -> threading.Thread:
    """Write data[:first_end] into the FIFO, wait for the reader's first batch (or
    HANG_BOUND), then write the rest and close."""
    def run() -> None:
        try:
            with open(fifo, "wb", buffering=0) as w:
                w.write(data[:first_end])
                first_batch.wait(HANG_BOUND)
                w.write(data[first_end:])
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _capture(tmp_path: Path, fmt: str, frames: list[tuple[int, bytes]]) -> bytes:
    """The frames as a pcap or a pcapng file's bytes."""
    whole = tmp_path / f"whole.{fmt}"
    if fmt == "pcap":
        write_pcap(whole, frames)
    else:
        write_pcapng(whole, [(ts, frame, 0) for ts, frame in frames])
    return whole.read_bytes()


def _live_batches(tmp_path: Path, data: bytes, first_end: int, *, decoder: Decoder | None = None,
                  chunk_size: int = chunks.DEFAULT_CHUNK) -> list[list]:
    """What a CaptureReader over a FIFO hands on while the writer puts data[:first_end]
    in, waits for the reader's first batch, then writes the rest: each batch as its
    records, then whether it was `paused` (with a decoder, the decoded batch instead of
    its records)."""
    fifo = tmp_path / "live"
    os.mkfifo(fifo)
    first_batch, errors = threading.Event(), []
    writer = _feed(fifo, data, first_end, first_batch, errors)
    batches = []
    for batch in CaptureReader(str(fifo), chunk_size=chunk_size):
        got = [decoder.decode(batch)] if decoder else [batch.record(i) for i in range(len(batch))]
        batches.append([*got, batch.paused])
        first_batch.set()
    writer.join(HANG_BOUND)
    assert not errors
    return batches


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_a_pipe_that_pauses_hands_on_the_records_that_came(tmp_path: Path, fmt: str) -> None:
    """The first record written is a batch of its own, `paused`, before the writer goes
    on; the rest follow, and all of them are the file's records, in order."""
    frames = _frames()
    data = _capture(tmp_path, fmt, frames)
    first_end = layout(data).records[0][1]  # the header (blocks) and the first record
    batches = _live_batches(tmp_path, data, first_end)
    assert batches[0] == [frames[0][1], True], "the first record waited for the rest"
    records = [r for b in batches for r in b[:-1]]
    assert records == [frame for _, frame in frames]


def test_a_pause_hands_on_no_cut_record(tmp_path: Path) -> None:
    """A pipe that pauses inside a record hands on the records before it, and the cut
    one whole once its bytes come: the decoded packets are the file's."""
    frames = _frames()
    data = _capture(tmp_path, "pcap", frames)
    cut = layout(data).records[1][0] + 20  # 4 bytes into the second record's frame
    batches = _live_batches(tmp_path, data, cut, decoder=Decoder())
    sizes, decoded = [len(b[0]) for b in batches], [b[0] for b in batches]
    assert sizes[0] == 1 and sum(sizes) == len(frames)
    got, want = PacketBatch.join(decoded), decode_file(str(tmp_path / "whole.pcap"))
    assert (got.src_port == want.src_port).all() and (got.status == want.status).all()


@pytest.mark.parametrize(("fmt", "header", "per_record"), [("pcap", 24, 16), ("pcapng", 48, 32)])
def test_a_pause_where_the_window_is_full_hands_on_its_records(
        tmp_path: Path, fmt: str, header: int, per_record: int) -> None:
    """A writer pausing just where the window's chunk (4 KiB here) is full: its records
    are a batch, `paused`, before the writer goes on (the fill ended full, not paused:
    they waited for the next packet, and the pcap reader read on before walking them).
    Four frames padded to fill it with the header (blocks); a fifth comes after."""
    chunk = 4096
    size = (chunk - header) // 4 - per_record
    frames = [(ts, frame + bytes(size - len(frame)) if i < 4 else frame)
              for i, (ts, frame) in enumerate(_frames())]
    data = _capture(tmp_path, fmt, frames)
    assert layout(data).records[3][1] == chunk
    batches = _live_batches(tmp_path, data, chunk, chunk_size=chunk)
    assert batches[0] == [frame for _, frame in frames[:4]] + [True], "they waited for more"
    assert [r for b in batches for r in b[:-1]] == [frame for _, frame in frames]


#: a block no pcapng can have (its length is no multiple of 4), and zeros the scan past
#: it goes over byte by byte: damage where a writer paused
_DAMAGE = struct.pack("<II", 6, 5) + bytes(8)


@pytest.mark.parametrize(("after", "cut"), [
    ("section", 20),  # the next section header's first 20 of its 28 bytes
    ("damage", len(_DAMAGE)),  # the scan for the next block waits for more bytes
])
def test_a_pause_short_of_a_whole_block_hands_on_the_records_before_it(
        tmp_path: Path, after: str, cut: int) -> None:
    """A pcapng writer pausing inside a section header block, or after damage, after
    whole packet blocks: those records are a batch, `paused`, before the writer goes on
    (the walk held them past the block it could not finish: they waited for the next
    packet, and no row of theirs came out while the capture paused). All records are
    the file's, in order."""
    frames = _frames()
    first = write_pcapng(tmp_path / "first.pcapng", [(ts, f, 0) for ts, f in frames[:2]])
    rest = write_pcapng(tmp_path / "rest.pcapng", [(ts, f, 0) for ts, f in frames[2:]])
    head = first.read_bytes()
    # a second section; or damage, then the rest's packet blocks (past its SHB and IDB)
    tail = rest.read_bytes() if after == "section" else _DAMAGE + rest.read_bytes()[48:]
    batches = _live_batches(tmp_path, head + tail, len(head) + cut)
    assert batches[0] == [frames[0][1], frames[1][1], True], "they waited for the next block"
    assert [r for b in batches for r in b[:-1]] == [frame for _, frame in frames]


def test_a_file_is_read_in_whole_chunks(tmp_path: Path) -> None:
    """Only a pipe pauses: a regular file's window has no readiness to ask, its
    batches none set."""
    path = local_capture("demo.pcap")
    with open(path, "rb", buffering=0) as f:
        assert ChunkWindow(f).paused is False
    assert not any(b.paused for b in CaptureReader(str(path)))


def _read(path: str) -> tuple[list[tuple], list[tuple]]:
    """A capture's records (every field but where they lie in the window) and problems
    (path left out), as one CaptureReader gives them."""
    reader = CaptureReader(path)
    records = []
    for b in reader:
        records += [(b.record(i), int(b.length[i]), int(b.ts_ns[i]), int(b.linktype[i]),
                     int(b.interface[i]), int(b.fcs[i])) for i in range(len(b))]
    problems = [(p.offset, p.message, p.kind, p.count, p.last_offset) for p in reader.problems]
    return records, problems


@pytest.mark.parametrize("path", [p for p in _local() if p.suffix in (".pcap", ".pcapng")],
                         ids=lambda p: p.name)
def test_a_capture_read_live_in_pieces_is_the_file(tmp_path: Path, path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Every capture of pcaps/ (damaged ones too), written into a FIFO in pieces cut at
    random bytes with pauses between them, gives the same records and the same problems,
    at the same offsets, as the file: a pause hands on whole records only, and a record,
    block or damaged range cut by one is read on when its bytes come. The pause is
    shortened to 5 ms (LIVE_WAIT) and each piece waits 20 ms, so that every cut pauses."""
    import random
    import time

    monkeypatch.setattr(chunks, "LIVE_WAIT", 0.005)
    data = path.read_bytes()
    rng = random.Random(path.name)
    cuts = sorted(rng.sample(range(1, len(data)), min(6, len(data) - 1)))
    fifo = tmp_path / "live"
    os.mkfifo(fifo)
    errors: list[BaseException] = []

    def feed() -> None:
        try:
            with open(fifo, "wb", buffering=0) as w:
                for start, end in zip([0, *cuts], [*cuts, len(data)]):
                    w.write(data[start:end])
                    time.sleep(0.02)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    live = _read(str(fifo))
    writer.join(HANG_BOUND)
    assert not errors
    assert live == _read(str(path))


def test_a_spent_buffer_is_taken_again_only_once_nothing_views_it() -> None:
    """BufferPool.take hands a buffer out again only when nothing but the pool refers to
    it. It read sys.getrefcount of a local variable, which CPython 3.14 passes to the
    call without a reference of its own: one less than before, so a buffer a batch
    still viewed was taken and overwritten (on 3.14, batches a caller kept changed under
    it, and threads, split files and damaged streams gave other flows: 22 tests). A view
    kept: a fresh buffer, the view's bytes as they were; the view gone: the same one."""
    import weakref

    import numpy as np

    pool = chunks.BufferPool()
    buf = np.zeros(4096, dtype=np.uint8)
    spent = weakref.ref(buf)
    pool.give(buf)
    view = buf[100:200]  # what a batch holds of its chunk
    del buf
    fresh = pool.take(4096)
    assert fresh is not spent() and view.base is spent()
    fresh[:] = 0xFF  # the next chunk read into it
    assert not view.any()
    del view
    assert pool.take(4096) is spent()


@pytest.mark.parametrize("shift", [-1, 0, 1])
def test_a_free_buffer_is_told_by_this_interpreters_count(monkeypatch, shift) -> None:
    """What a free buffer's reference count is, is measured (chunks.FREE_REFS), not
    assumed: an interpreter counting one reference fewer than 3.10-3.14 do (as 3.14 did
    for a local passed to a call) must still not hand out a buffer a batch views, and
    one counting more must still reuse a buffer nothing views."""
    import types
    import weakref

    import numpy as np

    real = chunks.sys.getrefcount
    monkeypatch.setattr(chunks, "sys", types.SimpleNamespace(
        getrefcount=lambda obj: real(obj) + shift))
    monkeypatch.setattr(chunks, "FREE_REFS", chunks._free_refs())
    pool = chunks.BufferPool()
    buf = np.zeros(4096, dtype=np.uint8)
    spent = weakref.ref(buf)
    pool.give(buf)
    view = buf[100:200]
    del buf
    assert pool.take(4096) is not spent()
    del view
    assert pool.take(4096) is spent()
