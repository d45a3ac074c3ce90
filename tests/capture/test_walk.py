"""The compiled resynchronisation scan (walk.resync_pcapng) on hand-built buffers: where
a plausible block is, what a candidate running past the buffer's end asks for, and
that at the end of the file such a candidate is passed over rather than asked for."""

from __future__ import annotations

import struct

import numpy as np

from portannot.capture.walk import resync_pcapng

MAX_BLOCK = 32 << 20


def _epb(payload: bytes = bytes(60)) -> bytes:
    body = struct.pack("<IIIII", 0, 0, 0, len(payload), len(payload)) + payload
    n = 12 + len(body)
    return struct.pack("<II", 6, n) + body + struct.pack("<I", n)


def _scan(data: bytes, start: int, at_eof: bool, end: int | None = None) -> tuple[int, int]:
    buf = np.frombuffer(data, np.uint8).copy()
    q, need = resync_pcapng(buf, start, len(data) if end is None else end, False, 1, 0,
                            MAX_BLOCK, at_eof)
    return int(q), int(need)


def test_finds_the_next_valid_block_after_junk():
    junk = bytes(range(1, 41))  # 40 bytes, no plausible head in them
    data = junk + _epb()
    assert _scan(data, 0, False) == (40, 0)
    assert _scan(data, 0, True) == (40, 0)


def test_candidate_past_the_buffer_asks_for_its_length():
    head = struct.pack("<II", 6, 4096) + bytes(8)  # claims 4096 bytes, 16 present
    q, need = _scan(head + _epb(), 0, at_eof=False)
    assert (q, need) == (0, 4096)


def test_candidate_past_the_end_of_file_is_passed_over():
    heads = struct.pack("<II", 6, MAX_BLOCK - 16) * 1000
    data = bytes(4) + heads + _epb()
    # not at the end: the first candidate (offset 4) asks for its claimed length
    assert _scan(data, 4, at_eof=False) == (4, MAX_BLOCK - 16)
    # at the end: every candidate runs past the file, the scan goes on to the real block
    assert _scan(data, 4, at_eof=True) == (4 + len(heads), 0)


def test_at_end_of_file_with_nothing_valid_runs_to_the_last_12_bytes():
    heads = struct.pack("<II", 6, MAX_BLOCK - 16) * 100
    q, need = _scan(heads, 0, at_eof=True)
    assert need == 0 and len(heads) - q < 12


def test_length_the_same_at_both_ends_is_required():
    block = bytearray(_epb())
    struct.pack_into("<I", block, len(block) - 4, 0x1234)  # trailer disagrees
    data = bytes(block) + _epb()
    assert _scan(data, 0, True) == (len(block), 0)
