"""Compressed text output: `-o flows.csv.gz` writes gzip-compressed CSV.

One writer for the five formats the capture reader decompresses, through the libraries
that read them (capture.compression): ISA-L's deflate (python-isal) for gzip, Python's
`bz2` and `lzma`, Python's zstd from 3.14 and `backports.zstd` before it, python-lz4.
Each is a compressor object fed the text as it is written, so that the writing streams
and an error of the file underneath (a full disk, a broken pipe) is the OSError it was:
the commands' exit 5 and their broken-pipe message come from it. (pyarrow's
CompressedOutputStream has no xz, and its gzip, at zlib's level 9, wrote 11 MB/s of
CSV. ISA-L's default level, 2, deflated flows-1m --quick's 16.6 MB of CSV in 0.05 s to
3.15 MB; zlib's level 6, `gzip`'s, took 0.73 s to 2.64 MB.)

Light: nothing is imported until a compressor is made.
"""

from __future__ import annotations

from typing import Any, BinaryIO, Protocol


class _Compressor(Protocol):
    def compress(self, data: Any) -> bytes: ...

    def flush(self) -> bytes: ...


def _gzip() -> _Compressor:
    """One gzip member (wbits 31: a gzip header, no file name, time 0, so the same rows
    give the same file), at ISA-L's default level; zlib's level 6, the `gzip` tool's,
    where isal is not installed."""
    try:
        from isal import isal_zlib
    except ImportError:
        import zlib

        return zlib.compressobj(6, zlib.DEFLATED, 31)
    return isal_zlib.compressobj(isal_zlib.ISAL_DEFAULT_COMPRESSION, isal_zlib.DEFLATED, 31)


def _bzip2() -> _Compressor:
    import bz2

    return bz2.BZ2Compressor(9)  # the `bzip2` tool's default block size, 900 kB


def _xz() -> _Compressor:
    import lzma

    # the `xz` tool's defaults: preset 6, a CRC-64 of the content
    return lzma.LZMACompressor(lzma.FORMAT_XZ, check=lzma.CHECK_CRC64)


def _zstd() -> _Compressor:
    from portannot.capture.compression import zstd_module

    zstd = zstd_module()
    # level 3 and a content checksum, as the `zstd` tool writes
    return zstd.ZstdCompressor(options={zstd.CompressionParameter.compression_level: 3,
                                        zstd.CompressionParameter.checksum_flag: 1})


class _Lz4:
    """An LZ4 frame with a content checksum, as the `lz4` tool writes: its header goes
    out with the first text."""

    def __init__(self) -> None:
        import lz4.frame

        self._frame = lz4.frame.LZ4FrameCompressor(content_checksum=True)
        self._header: bytes | None = self._frame.begin()

    def compress(self, data: Any) -> bytes:
        out = self._frame.compress(data)
        if self._header is not None:
            out, self._header = self._header + out, None
        return out

    def flush(self) -> bytes:
        head, self._header = self._header or b"", None
        return head + self._frame.flush()


#: compression name -> its compressor, made anew for each output
COMPRESSORS = {"gzip": _gzip, "bzip2": _bzip2, "xz": _xz, "zstd": _zstd, "lz4": _Lz4}


#: bytes given a slow compressor at a time: a signal's handler (Ctrl-C) runs only between
#: two calls into the library, and xz compresses about 1 MB of text a second (flows'
#: pieces of CSV are 2.7 MB: a Ctrl-C waited up to 3.3 s), bzip2 about 5 MB. Their
#: streams are the same however the text is cut (tests/output/test_compressed.py);
#: ISA-L's gzip and LZ4's frames are not, and take milliseconds over a piece
SLICE = 1 << 18
#: the compressions given their text a SLICE at a time
SLICED = frozenset({"bzip2", "xz"})


class CompressedWriter:
    """A binary stream that writes what it is given compressed to `raw`.

    finish() ends the compressed stream (its trailer, checksum and all) and leaves `raw`
    open, for AtomicFile to close and rename; close() finishes and closes `raw`. A
    writer given up on (abort) is simply dropped: nothing is finished, and the caller
    removes the file. Not an io class on purpose: io's finalizer would close, that is
    finish, a stream given up on, writing a trailer after an error."""

    def __init__(self, raw: BinaryIO, compression: str) -> None:
        self.raw = raw
        self._compressor: _Compressor | None = COMPRESSORS[compression]()
        self._written = 0  #: uncompressed bytes written, for tell()
        self._slice = SLICE if compression in SLICED else None

    def writable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return self.raw.closed

    def write(self, data: Any) -> int:
        """Compress `data` (any bytes-like object) and write what the compressor gives."""
        if self._compressor is None:
            raise ValueError("write to a finished compressed stream")
        view = memoryview(data).cast("B")
        step = self._slice or max(len(view), 1)
        for start in range(0, len(view), step):
            out = self._compressor.compress(view[start:start + step])
            if out:
                self.raw.write(out)
        self._written += len(view)
        return len(view)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        """Flush `raw` (not the compressor: a flushed deflate or zstd block costs ratio,
        and the file is only read once it is whole)."""
        self.raw.flush()

    def finish(self) -> None:
        """End the compressed stream and flush `raw`; after the first call, nothing."""
        if self._compressor is None:
            return
        compressor, self._compressor = self._compressor, None
        self.raw.write(compressor.flush())
        self.raw.flush()

    def close(self) -> None:
        try:
            self.finish()
        finally:
            self.raw.close()
