"""A damaged zstd or LZ4 stream costs no more than the reader's piece of decompressed
bytes (COMPRESSED_PIECE) before the point where the decompressor fails.

The capture is compressed as concatenated frames of FRAME decompressed bytes each (one
valid stream: `zstd -d` and `lz4 -d` read frames one after another), so where damage
sits in the decompressed stream is known by hand: a damaged header of frame k at
k * FRAME; a failed content checksum of frame k, found once the whole frame is out, at
(k + 1) * FRAME; a damaged block j of an LZ4 frame of 64 KiB blocks at k * FRAME +
j * 64 KiB. pyarrow's zstd and LZ4 streams, which the reader used before, lost up to
256 KiB of good bytes there (they hand on nothing of the step that fails, and their
steps are that large).
"""

from __future__ import annotations

import struct

import lz4.frame
import numpy as np
import pytest

from portannot.capture import CaptureReader
from portannot.capture.chunks import COMPRESSED_PIECE

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:
    from backports import zstd  # type: ignore[no-redef]

FRAME = 256 << 10
LZ4_BLOCK = 64 << 10
FRAMES = 8


def _capture() -> bytes:
    """A pcap of records of 60 to 259 bytes (so that no record ends on a frame
    boundary by design), whose frames are random bytes: the reader keeps records
    whatever they hold."""
    rng = np.random.default_rng(7)
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    size, i = 24, 0
    while size < FRAMES * FRAME:
        n = 60 + (i * 37) % 200
        out.append(struct.pack("<IIII", 1_700_000_000 + i, i % 1_000_000, n, n) + rng.bytes(n))
        size += 16 + n
        i += 1
    return b"".join(out)[: FRAMES * FRAME - 100]  # the last record cut: whole frames only before


def _record_ends(data: bytes) -> list[int]:
    ends, at = [], 24
    while at + 16 <= len(data):
        at += 16 + struct.unpack_from("<I", data, at + 8)[0]
        if at <= len(data):
            ends.append(at)
    return ends


def _zstd_frames(data: bytes) -> list[bytearray]:
    options = {zstd.CompressionParameter.checksum_flag: 1}
    return [bytearray(zstd.compress(data[i : i + FRAME], options=options))
            for i in range(0, len(data), FRAME)]


def _lz4_frames(data: bytes) -> list[bytearray]:
    return [bytearray(lz4.frame.compress(data[i : i + FRAME], content_checksum=True,
                                         block_size=lz4.frame.BLOCKSIZE_MAX64KB))
            for i in range(0, len(data), FRAME)]


def _lz4_block(frame: bytearray, j: int) -> int:
    """Offset of block j's size field: after the magic, FLG, BD, the content size
    (FLG bit 3) and the header checksum; each block is its size field, its bytes and
    a block checksum when FLG bit 4 says so."""
    flg = frame[4]
    at = 4 + 2 + (8 if flg & 0x08 else 0) + 1
    for _ in range(j):
        size = struct.unpack_from("<I", frame, at)[0] & 0x7FFFFFFF
        at += 4 + size + (4 if flg & 0x10 else 0)
    return at


def _damage(frames: list[bytearray], codec: str, how: str, k: int) -> int:
    """Damage frame k as `how` says; return where in the decompressed stream it lies."""
    frame = frames[k]
    if how == "frame-header":
        frame[4] |= 0x08 if codec == "zstd" else 0x03  # a reserved bit (zstd), (LZ4) bits
        return k * FRAME
    if how == "content-checksum":
        frame[-1] ^= 0xFF
        return (k + 1) * FRAME
    at = _lz4_block(frame, 2)  # "block": LZ4 block 2 claims more than a block can hold
    frame[at : at + 4] = struct.pack("<I", 0x7FFFFFF0)
    return k * FRAME + 2 * LZ4_BLOCK


def _records(path) -> tuple[list[bytes], list]:
    reader = CaptureReader(str(path))
    return [b.record(i) for b in reader for i in range(len(b))], list(reader.problems)


CASES = [("zstd", "frame-header"), ("zstd", "content-checksum"), ("lz4", "frame-header"),
         ("lz4", "content-checksum"), ("lz4", "block")]


@pytest.mark.parametrize(("codec", "how"), CASES, ids=[f"{c}-{h}" for c, h in CASES])
@pytest.mark.parametrize("k", [1, 5])
def test_damage_costs_at_most_one_piece(codec, how, k, tmp_path):
    data = _capture()
    frames = (_zstd_frames if codec == "zstd" else _lz4_frames)(data)
    at = _damage(frames, codec, how, k)
    path = tmp_path / f"damaged.pcap.{'zst' if codec == 'zstd' else 'lz4'}"
    path.write_bytes(b"".join(frames))

    plain = tmp_path / "plain.pcap"
    plain.write_bytes(data)
    whole, _ = _records(plain)
    got, problems = _records(path)

    before = sum(1 for end in _record_ends(data) if end <= at - COMPRESSED_PIECE)
    assert len(got) >= before, (f"kept {len(got)} records; {before} end more than "
                                f"{COMPRESSED_PIECE} bytes before the damage at {at}")
    assert got[:before] == whole[:before]
    assert len(got) <= sum(1 for end in _record_ends(data) if end <= at) + 1, "read past the damage"
    assert problems, "the damage was not reported"
