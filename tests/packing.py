"""Compressors and decompressors for the tests, one pair per format the reader knows.

gzip, bzip2 and xz through Python's own modules; zstd and LZ4 through pyarrow's codecs,
an implementation other than the reader's (backports.zstd, python-lz4).
tests/capture/test_formats.py reads files made by the `zstd`, `pzstd` and `lz4` tools
as well, where they are installed.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from collections.abc import Callable

import pyarrow as pa


def _arrow_pack(codec: str) -> Callable[[bytes], bytes]:
    def pack(data: bytes) -> bytes:
        sink = pa.BufferOutputStream()
        out = pa.CompressedOutputStream(sink, codec)
        out.write(data)
        out.close()
        return sink.getvalue().to_pybytes()
    return pack


def _arrow_unpack(codec: str) -> Callable[[bytes], bytes]:
    def unpack(data: bytes) -> bytes:
        return pa.CompressedInputStream(pa.BufferReader(data), codec).read()
    return unpack


PACK: dict[str, Callable[[bytes], bytes]] = {
    ".gz": lambda b: gzip.compress(b, mtime=0),
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
    ".zst": _arrow_pack("zstd"),
    ".lz4": _arrow_pack("lz4"),
}
UNPACK: dict[str, Callable[[bytes], bytes]] = {
    ".gz": gzip.decompress,
    ".bz2": bz2.decompress,
    ".xz": lzma.decompress,
    ".zst": _arrow_unpack("zstd"),
    ".lz4": _arrow_unpack("lz4"),
}
#: the name CaptureReader.compression gives each
NAMES = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd", ".lz4": "lz4"}
SUFFIXES = tuple(PACK)
