"""Fuzz harness shared by the short hypothesis run (tests/fuzz) and the long run
(scripts/fuzz_long.py): seeds, structure-aware mutations, and the properties.

`mutate(data, rng)` changes bytes, length fields and block structure of a capture
(found by tests/capgen.layout, which walks damaged files too);
`check(data, workdir, chunk_size)` reads and decodes the result and raises
AssertionError when a property does not hold:

* no exception escapes except PortannotError (a clean one-line refusal);
* every record read has a valid status, and the decoder hands back as many records
  as the reader counted;
* nothing is read from outside a record: every record lies inside the batch's
  data buffer, records do not overlap, their bytes are bytes of the input, and
  decoding each record copied alone into an exactly-sized slot followed by guard
  bytes gives exactly the result of decoding it in place;
* problems name a byte offset inside the input;
* (no hang) the caller bounds the time; see `watchdog`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import faulthandler
import os
import random
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from capgen import SHB, Layout
from capgen import layout as walk
from packing import PACK, UNPACK

from portannot.capture import CaptureReader, RecordBatch
from portannot.capture.chunks import DEFAULT_CHUNK
from portannot.capture.source import open_stream
from portannot.decode import Decoder
from portannot.decode.columns import PacketBatch
from portannot.errors import PortannotError
from portannot.status import STATUS_NAMES

REPO = Path(__file__).resolve().parents[2]
SEED_DIRS = (REPO / "pcaps",  # and the shared captures (tests/paths.py: SHARED)
             Path(os.environ.get("PORTANNOT_SHARED") or REPO.parent / "shared") / "pcaps")
CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap")
#: the pcapng-test-generator files have no suffix
EXTRA_NAMES = ("output_be", "output_le")

GUARD = 64  #: guard bytes after each relocated record

INTERESTING32 = (0, 1, 2, 3, 4, 7, 8, 11, 12, 13, 15, 16, 19, 20, 24, 27, 28, 31, 32, 33, 64,
                 255, 256, 1500, 65535, 65536, 262144, 262145, (32 << 20), (32 << 20) + 4,
                 (64 << 20), (64 << 20) + 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFF0, 0xFFFFFFFC,
                 0xFFFFFFFF)
INTERESTING16 = (0, 1, 4, 5, 8, 20, 39, 40, 41, 0x0800, 0x86DD, 0x8100, 0x8847, 0x8864,
                 0x7FFF, 0xFFFF)


# ---------------------------------------------------------------- seeds


def _is_seed(path: Path) -> bool:
    if not path.is_file():
        return False
    name = path.name
    for suffix in UNPACK:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name.endswith(CAPTURE_SUFFIXES) or name in EXTRA_NAMES


def seed_paths() -> list[Path]:
    """Every capture of pcaps/ and ../shared/pcaps (recursively), sorted."""
    found: list[Path] = []
    for root in SEED_DIRS:
        if root.is_dir():
            found += [p for p in root.rglob("*") if _is_seed(p)]
    return sorted(found)


@dataclass
class Seed:
    path: Path
    plain: bytes  #: decompressed content
    compression: str  #: '' or the suffix it came with


def load_seed(path: Path, limit: int | None = None) -> Seed:
    raw = path.read_bytes()
    for suffix, unpack in UNPACK.items():
        if path.name.endswith(suffix):
            plain = unpack(raw)
            return Seed(path, plain[:limit] if limit else plain, suffix)
    return Seed(path, raw[:limit] if limit else raw, "")


def load_seeds(limit: int | None = None) -> list[Seed]:
    return [load_seed(p, limit) for p in seed_paths()]


# ---------------------------------------------------------------- structure


#: a mutated capture is walked as far as its length fields hold, up to this many blocks
LAYOUT_LIMIT = 100_000


def layout(data: bytes) -> Layout:
    return walk(data, LAYOUT_LIMIT)


# ---------------------------------------------------------------- mutations


def _u32(rng: random.Random, near: int | None = None) -> int:
    if near is not None and rng.random() < 0.4:
        return max(0, min(0xFFFFFFFF, near + rng.choice((-8, -4, -3, -1, 1, 3, 4, 8, 12, 4096))))
    if rng.random() < 0.8:
        return rng.choice(INTERESTING32)
    return rng.getrandbits(32)


def _put32(buf: bytearray, pos: int, value: int, order: str) -> None:
    if pos >= 0 and pos + 4 <= len(buf):
        struct.pack_into(order + "I", buf, pos, value & 0xFFFFFFFF)


def _span(rng: random.Random, lay: Layout) -> tuple[int, int] | None:
    return rng.choice(lay.spans) if lay.spans else None


def mutate(data: bytes, rng: random.Random, others: list[bytes] | None = None) -> bytes:
    """1-4 random mutations of bytes, length fields and record/block structure."""
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
        lay = layout(bytes(buf))
        op = rng.randrange(14)
        span = _span(rng, lay)
        if op == 0 and buf:  # flip bits / set bytes
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(len(buf))
                buf[i] = rng.choice((buf[i] ^ (1 << rng.randrange(8)), rng.getrandbits(8), 0, 0xFF))
        elif op == 1 and span:  # a record's or block's own length field
            s, e = span
            order = lay.order if lay.kind == "pcap" else lay.orders[lay.spans.index(span)]
            if lay.kind == "pcap":
                pos = s + rng.choice((8, 8, 12))
                _put32(buf, pos, _u32(rng, e - s - lay.hdr_len), order)
            else:
                pos = rng.choice((s + 4, s + 4, e - 4, s + 20, s + 8))
                _put32(buf, pos, _u32(rng, e - s), order)
        elif op == 2 and buf:  # truncate
            del buf[rng.randrange(len(buf)):]
        elif op == 3 and span:  # duplicate a record/block, up to a long run of them
            s, e = span
            n = rng.choice((1, 2, 10, 100, 1000)) if e - s <= 256 else rng.choice((1, 2, 5))
            buf[e:e] = bytes(buf[s:e]) * n
        elif op == 4 and span:  # delete a record/block
            s, e = span
            del buf[s:e]
        elif op == 5:  # insert random bytes (aligned or not)
            i = rng.randrange(len(buf) + 1)
            if lay.kind == "pcapng" and span and rng.random() < 0.7:
                i = span[rng.randrange(2)]
            buf[i:i] = rng.randbytes(rng.choice((1, 3, 4, 8, 12, 16, 64)))
        elif op == 6 and others:  # splice a record/block of another capture
            other = rng.choice(others)
            olay = layout(other)
            ospan = _span(rng, olay)
            if ospan:
                i = span[0] if span else rng.randrange(len(buf) + 1)
                buf[i:i] = other[ospan[0]:ospan[1]]
        elif op == 7 and lay.kind == "pcapng":  # a run of empty / tiny blocks
            i = span[rng.randrange(2)] if span else len(buf)
            order = lay.orders[lay.spans.index(span)] if span else "<"
            btype = rng.choice((0, 4, 5, 0x0BAD, 0x40000BAD, 0x12345678, 1, 2, 3, 6))
            blen = rng.choice((12, 12, 16, 0, 8, 10))
            body = struct.pack(order + "II", btype, blen) + bytes(max(0, blen - 12))
            body += struct.pack(order + "I", blen)
            buf[i:i] = body * rng.choice((1, 10, 1000, 5000))
        elif op == 8 and lay.kind == "pcap" and len(buf) >= 24:  # file header fields
            pos = rng.choice((16, 20, 20, 4))
            _put32(buf, pos, rng.choice((0, 1, 9, 101, 113, 228, 229, 276, 0xFFFF, 0x10001,
                                         65535, 0xFFFFFFFF, 147, 12)), lay.order)
        elif op == 9 and lay.kind == "pcapng" and span:  # IDB / SHB fields: linktype, options
            s, e = span
            order = lay.orders[lay.spans.index(span)]
            if e - s >= 20:
                pos = rng.randrange(s + 8, e - 4) & ~1
                if pos + 2 <= e:
                    struct.pack_into(order + "H", buf, pos, rng.choice(INTERESTING16))
        elif op == 10 and span:  # set a 16-bit field inside a packet (IP/L4 header lengths)
            s, e = span
            if e - s > 4:
                pos = rng.randrange(s, e - 1)
                struct.pack_into(">H", buf, pos, rng.choice(INTERESTING16))
        elif op == 11 and lay.kind == "pcapng" and span:  # flip a section's byte order magic
            s, _ = span
            if buf[s:s + 4] == SHB and len(buf) >= s + 12:
                buf[s + 8:s + 12] = bytes(reversed(buf[s + 8:s + 12]))
        elif op == 12 and span and len(lay.spans) > 1:  # swap two records/blocks
            a, b = sorted(rng.sample(lay.spans, 2))
            if a[1] <= b[0]:
                buf[:] = buf[:a[0]] + buf[b[0]:b[1]] + buf[a[1]:b[0]] + buf[a[0]:a[1]] + buf[b[1]:]
        elif op == 13 and buf:  # overwrite a 4-byte word anywhere with an interesting value
            i = rng.randrange(len(buf))
            _put32(buf, i, _u32(rng), rng.choice("<>"))
    return bytes(buf)


def maybe_compress(data: bytes, rng: random.Random, compression: str) -> tuple[bytes, str]:
    """Sometimes wrap the mutated bytes in gzip/bz2/xz/zstd/LZ4, and sometimes damage
    the wrapper."""
    r = rng.random()
    if not compression and r > 0.1:
        return data, ""
    kind = compression or rng.choice(tuple(PACK))
    packed = PACK[kind](data)
    if rng.random() < 0.3 and packed:
        p = bytearray(packed)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(p))
            p[i] ^= 1 << rng.randrange(8)
        if rng.random() < 0.3:
            del p[rng.randrange(len(p)):]
        packed = bytes(p)
    return packed, kind


# ---------------------------------------------------------------- properties


@dataclass
class Outcome:
    rejected: str = ""  #: PortannotError message, if the input was refused
    records: int = 0
    problems: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _plain_bytes(path: Path) -> bytes | None:
    """What the reader sees: the decompressed stream, or None when it is damaged (then
    how much of it a reader gets depends on its read sizes)."""
    try:
        stream, _ = open_stream(str(path))
    except PortannotError:
        return b""
    out = bytearray()
    try:
        while True:
            chunk = stream.read(1 << 16)
            if not chunk:
                break
            out += chunk
    except Exception:  # noqa: BLE001 - any decompression error: zlib.error, LZMAError, EOFError, OSError
        return None
    finally:
        stream.close()
    return bytes(out)


def relocate(batch: RecordBatch, guard: int) -> RecordBatch:
    """The same records, each copied alone into an exactly-sized slot followed by guard bytes."""
    caplen = batch.caplen.astype(np.int64)
    slot = caplen + GUARD
    offset = np.zeros(len(batch), np.int64)
    if len(batch):
        np.cumsum(slot[:-1], out=offset[1:])
    data = np.full(int(slot.sum()) + GUARD, guard, np.uint8)
    for i in range(len(batch)):
        s = int(batch.offset[i])
        data[offset[i]:offset[i] + caplen[i]] = batch.data[s:s + caplen[i]]
    return dataclasses.replace(batch, data=data, offset=offset)


_COLUMNS = [f.name for f in dataclasses.fields(PacketBatch) if f.name not in ("file_index", "path")]


def _same(a: PacketBatch, b: PacketBatch) -> list[str]:
    return [c for c in _COLUMNS if not np.array_equal(getattr(a, c), getattr(b, c))]


def check_batch(batch: RecordBatch, plain: bytes | None, expect_number: int) -> None:
    n = len(batch)
    for name in ("caplen", "length", "ts_ns", "linktype", "interface"):
        assert getattr(batch, name).shape == (n,), f"{name} has shape {getattr(batch, name).shape}"
    assert batch.first_number == expect_number, (batch.first_number, expect_number)
    off = batch.offset.astype(np.int64)
    end = off + batch.caplen.astype(np.int64)
    assert (off >= 0).all(), "record offset before the buffer"
    assert (end <= batch.data.shape[0]).all(), "record extends past the data buffer"
    if n > 1:
        assert (end[:-1] <= off[1:]).all(), "records overlap or are out of order"
    if plain is not None and len(plain) <= (1 << 20):
        for i in range(n):
            rec = batch.record(i)
            assert not rec or rec in plain, f"record {batch.first_number + i} holds bytes not in the input"


def check(data: bytes, workdir: Path, chunk_size: int = DEFAULT_CHUNK,
          suffix: str = "") -> Outcome:
    """Read and decode one input, asserting the properties above."""
    path = workdir / f"fuzz-input.cap{suffix}"
    path.write_bytes(data)
    plain = _plain_bytes(path)
    out = Outcome()
    t0 = time.perf_counter()
    reader = CaptureReader(str(path), chunk_size=chunk_size)
    in_place, guard0, guard1 = Decoder(), Decoder(), Decoder()
    counts = np.zeros(256, np.int64)
    decoded = 0
    number = 1
    try:
        for batch in reader:
            check_batch(batch, plain, number)
            number += len(batch)
            got = in_place.decode(batch)
            for guard, dec in ((0x00, guard0), (0xFF, guard1)):
                alone = dec.decode(relocate(batch, guard))
                diff = _same(got, alone)
                assert not diff, f"decoding in place differs from decoding alone in {diff}"
            assert len(got) == len(batch)
            counts += np.bincount(got.status, minlength=256)
            decoded += len(got)
    except PortannotError as exc:
        out.rejected = str(exc) or exc.__class__.__name__
        assert "\n" not in out.rejected, "error message spans several lines"
    out.seconds = time.perf_counter() - t0
    assert decoded == reader.records, (decoded, reader.records)
    assert counts[len(STATUS_NAMES):].sum() == 0, "a record has no valid status"
    out.records = decoded
    out.statuses = {STATUS_NAMES[i]: int(c) for i, c in enumerate(counts[:len(STATUS_NAMES)]) if c}
    out.problems = len(reader.problems)
    for p in reader.problems:
        limit = len(data) if plain is None else len(plain)
        assert 0 <= p.offset <= (1 << 62 if plain is None else limit), f"problem offset {p.offset} outside the input: {p}"
        assert p.message and "\n" not in p.message
        assert "byte offset" in str(p)
    return out


@contextlib.contextmanager
def watchdog(seconds: float):
    """Kill the process with a traceback if the body hangs (works inside compiled code)."""
    faulthandler.dump_traceback_later(seconds, exit=True, file=sys.stderr)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
