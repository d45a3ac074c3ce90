"""Compressed captures: each format's decompressor, read a step at a time.

gzip goes through ISA-L (python-isal) where it is installed, else Python's gzip; bzip2
and xz through Python's own modules; zstd through Python's own from 3.14
(compression.zstd) and its backport before; LZ4 through python-lz4. All but Python's
gzip share one reader (_Streams) that hands on each step of the decompressor as it
comes, so that a damaged stream costs only the step in progress.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from types import ModuleType
from typing import Any, BinaryIO


def _gzip_members(stream: BinaryIO) -> BinaryIO:
    """Concatenated gzip members. Through ISA-L (python-isal) where it is installed, a
    step at a time like the other formats: mixed-1m's 644 MB inflate in 0.27 s, against
    0.83 s through gzip.GzipFile, which stays for a platform without isal's wheels. (isal's
    own IGzipFile reads ahead of the member's end and, on garbage after it, raised before
    handing on the member's last 10 records.) Its decompressor checks each member's CRC-32
    and length, as GzipFile does."""
    try:
        from isal import igzip_lib, isal_zlib
    except ImportError:
        return _OwnedGzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    return _stepwise(stream, "gzip", lambda: igzip_lib.IgzipDecompressor(igzip_lib.DECOMP_GZIP),
                     (isal_zlib.error,), padding=1)


class _OwnedGzipFile(gzip.GzipFile):
    """A GzipFile that closes the stream it reads when it is closed, as _Streams does
    (GzipFile leaves a fileobj given to it open: every .gz input read without isal left
    its file open until the garbage collector found it, a ResourceWarning)."""

    def close(self) -> None:
        stream = self.fileobj
        try:
            super().close()
        finally:
            if stream is not None:
                stream.close()


#: why zstd cannot be read or written where neither module imports: CPython 3.14 builds
#: its compression.zstd only where libzstd's headers were found, and backports.zstd
#: installs only before 3.14 (a CPython 3.14 built without libzstd-dev had a traceback)
NO_ZSTD = ("this Python has no zstd module (a CPython 3.14 built without libzstd; "
           "before 3.14, backports.zstd)")


def zstd_module() -> ModuleType:
    """Python's own zstd from 3.14 (compression.zstd), its backport before; an
    ImportError saying NO_ZSTD where neither imports, for the caller's one line."""
    try:
        from compression import zstd  # type: ignore[import-not-found]  # Python 3.14+
    except ImportError:
        try:
            from backports import zstd  # type: ignore[no-redef]
        except ImportError:
            raise ImportError(NO_ZSTD) from None
    return zstd


def _zstd_frames(stream: BinaryIO) -> BinaryIO:
    """Concatenated zstd frames, skippable ones (pzstd's) included."""
    zstd = zstd_module()
    return _stepwise(stream, "zstd", zstd.ZstdDecompressor, (zstd.ZstdError,))


def _bzip2_streams(stream: BinaryIO) -> BinaryIO:
    """Concatenated bzip2 streams. bz2 and lzma are imported here, by the captures that
    need them: ~1 ms of every command's start otherwise."""
    import bz2

    return _stepwise(stream, "bzip2", bz2.BZ2Decompressor, (OSError,))


def _xz_streams(stream: BinaryIO) -> BinaryIO:
    """Concatenated xz streams, and the stream padding between them."""
    import lzma

    return _stepwise(stream, "xz", lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ),
                     (lzma.LZMAError,), padding=4)


def _lz4_frames(stream: BinaryIO) -> BinaryIO:
    """Concatenated LZ4 frames, the format of the `lz4` tool."""
    import lz4.frame

    return _stepwise(stream, "LZ4", lz4.frame.LZ4FrameDecompressor, (RuntimeError,))


class TrailingData(ValueError):
    """Bytes after a whole compressed stream that do not begin another: damage, reported
    as gzip's own reader reports it (Python's bz2 and lzma readers ignore them)."""


class DamagedStream(ValueError):
    """What a decompressor raised on damage (bz2's OSError, LZMAError, ZstdError, lz4's
    RuntimeError), under one name: an OSError from the file itself stays an I/O error."""


class _Streams(io.RawIOBase):
    """Concatenated gzip members or bzip2, xz, zstd or LZ4 streams (frames), decompressed
    one step at a time, as the `gzip`, `bzip2`, `xz`, `zstd` and `lz4` tools read them: a
    stream after a whole stream is read on, and anything else there is TrailingData.
    (bz2.BZ2File and lzma.LZMAFile take bytes that fail to start a stream for the end of
    the file, so garbage after a capture went unseen.) With `padding`, zero bytes between
    and after streams are padding, not damage: in fours for xz (its format's stream
    padding), any number for gzip (as gzip.GzipFile and `gzip -d` skip them).

    Each read returns one step's output, at most the size asked for: a decompressor
    that fails loses only that step. (pyarrow's zstd and LZ4 streams, read before, lost
    up to 256 KiB of good output before a damaged block or a failed content checksum.)"""

    def __init__(self, raw: BinaryIO, name: str, new: Callable[[], Any], padding: int,
                 errors: tuple[type[Exception], ...]) -> None:
        self._raw, self._name, self._new, self._padding = raw, name, new, padding
        self._errors = errors  #: what the decompressor raises on damage
        self._dec: Any = new()
        self._read = 0  #: compressed bytes read so far, every one handed to a decompressor
        self._after = b""  #: bytes after the last whole stream, not yet handed on
        #: where a stream after a whole one starts, until it gives its first bytes
        self._unproven: int | None = None
        #: that stream's first bytes (up to HEAD), to tell another stream from garbage
        self._head = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        size = len(b)
        while True:
            dec = self._dec
            if dec is None:  # between streams
                out = self._next_stream(size)
                if out is None:
                    return 0
            elif dec.eof:
                self._after, self._dec = dec.unused_data or b"", None  # (lz4: None for none)
                continue
            else:
                data = b""
                if dec.needs_input:
                    data = self._raw.read(PIECE)
                    if not data:
                        # a stream after a whole one that began with its format's magic
                        # and stops before its first output (bzip2 and LZ4 give none
                        # until a block is whole) was cut short; anything else there
                        # is garbage (xz: fewer bytes than its header)
                        if self._unproven is not None and not self._begins_stream():
                            raise TrailingData(self._garbage(self._unproven))
                        raise EOFError("Compressed file ended before the end-of-stream "
                                       "marker was reached")
                    self._read += len(data)
                    if self._unproven is not None and len(self._head) < HEAD:
                        self._head += data[: HEAD - len(self._head)]
                out = self._step(dec, data, size)
            if out:
                self._unproven = None
                b[: len(out)] = out
                return len(out)

    @property
    def compressed_read(self) -> int:
        """Compressed bytes read so far (each one handed to a decompressor)."""
        return self._read

    def _next_stream(self, size: int) -> bytes | None:
        """Begin the stream after a whole one and return its first output (perhaps none
        yet); None at the end of the input. Bytes there that do not begin a stream (after
        the padding, for xz and gzip) are TrailingData, naming their compressed offset."""
        end = self._read - len(self._after)  #: where the whole stream ended
        data, zeros = self._after, 0
        while True:
            if self._padding:
                kept = data.lstrip(b"\0")
                zeros, data = zeros + len(data) - len(kept), kept
            if data:
                break
            data = self._raw.read(PIECE)
            if not data:
                break
            self._read += len(data)
        at = end + zeros
        if self._padding and zeros % self._padding:
            raise TrailingData(f"garbage after the {self._name} stream that ends at compressed "
                               f"byte {end}: {zeros} zero bytes, not stream padding (a multiple "
                               "of 4)")
        if not data:
            return None
        self._dec, self._unproven, self._head = self._new(), at, data[:HEAD]
        try:
            return self._step(self._dec, data, size)
        except DamagedStream:
            if self._begins_stream():  # another stream, damaged early: not garbage
                raise
            raise TrailingData(self._garbage(at)) from None

    def _begins_stream(self) -> bool:
        """Whether the bytes after the last whole stream begin with (or, cut inside it,
        are the start of) a magic of this format: another stream, not garbage."""
        head = self._head
        return any(head.startswith(m) or m.startswith(head) for m in MAGICS[self._name])

    def _step(self, dec: Any, data: bytes, size: int) -> bytes:
        try:
            return dec.decompress(data, size)
        except self._errors as exc:
            raise DamagedStream(str(exc) or type(exc).__name__) from None

    def _garbage(self, at: int) -> str:
        return (f"garbage after the {self._name} stream that ends at compressed byte {at}: "
                f"not another {self._name} stream")

    def close(self) -> None:
        self._raw.close()
        super().close()


#: compressed bytes read at a time by _Streams
PIECE = 1 << 16
#: first bytes of a stream kept by _Streams to check its magic (the longest, xz's, is 6)
HEAD = 6

#: zstd's (and LZ4's) skippable frames: magic 0x184D2A50 to 0x184D2A5F, little-endian
_SKIPPABLE = tuple(bytes([0x50 + k]) + b"\x2a\x4d\x18" for k in range(16))
#: the magic of an LZ4 frame (not a skippable one)
LZ4_MAGIC = b"\x04\x22\x4d\x18"
#: bytes of skippable frames read past, at most, for the frame that names the format
SKIPPABLE_LOOKAHEAD = 1 << 20
#: _Streams' names -> the magics a stream of that format starts with
MAGICS: dict[str, tuple[bytes, ...]] = {
    "gzip": (b"\x1f\x8b",), "bzip2": (b"BZh",), "xz": (b"\xfd7zXZ\x00",),
    "zstd": (b"\x28\xb5\x2f\xfd", *_SKIPPABLE), "LZ4": (LZ4_MAGIC, *_SKIPPABLE),
}


def compressed_offset(stream: BinaryIO) -> int | None:
    """How many bytes of the compressed file the decompressing `stream` (as COMPRESSIONS'
    openers make it) has taken in so far: where in the file its reading is, for the
    progress line. None where that cannot be told without a system call (Python's
    GzipFile, used only without isal)."""
    raw = getattr(stream, "raw", None)
    return raw.compressed_read if isinstance(raw, _Streams) else None


def _stepwise(stream: BinaryIO, name: str, new: Callable[[], Any],
              errors: tuple[type[Exception], ...], padding: int = 0) -> BinaryIO:
    return io.BufferedReader(_Streams(stream, name, new, padding, errors),  # type: ignore[arg-type,return-value]
                             STEP)


#: the most a _Streams read is asked for through its BufferedReader: the window's reads
#: (capture.chunks.COMPRESSED_PIECE), which a buffer no larger passes straight through.
#: Python's default buffer, which it was, grew from 8 to 128 KiB in 3.14: a damaged
#: stream lost the whole step of 128 KiB in progress, and a damaged .gz smaller than that
#: lost every record (not even its capture header: exit 4, where 3.13 kept the records)
STEP = 1 << 13


#: first bytes of each compression format -> opener over a byte stream
COMPRESSIONS: dict[bytes, tuple[str, Callable[[BinaryIO], BinaryIO]]] = {
    b"\x1f\x8b": ("gzip", _gzip_members),
    b"BZh": ("bzip2", _bzip2_streams),
    b"\xfd7zXZ\x00": ("xz", _xz_streams),
    b"\x28\xb5\x2f\xfd": ("zstd", _zstd_frames),
    # a skippable frame first (pzstd writes 0x184D2A50; the format allows 0x184D2A50-5F).
    # LZ4's frame format has the same skippable frames: the frame after them names the
    # format (past_skippable), zstd where it is not LZ4's
    **{m: ("zstd", _zstd_frames) for m in _SKIPPABLE},
    LZ4_MAGIC: ("lz4", _lz4_frames),  # the LZ4 frame format (`lz4` tool)
}


def read_up_to(stream: BinaryIO, n: int) -> bytes:
    """`n` bytes of the stream, fewer only at its end: a pipe's or a socket's read gives
    what has come so far, which may be less than a magic or a frame header."""
    out = bytearray()
    while len(out) < n:
        piece = stream.read(n - len(out))
        if not piece:
            break
        out += piece
    return bytes(out)


def starts_skippable(head: bytes) -> bool:
    """Whether a stream starting with `head` starts with a skippable frame: its format,
    zstd's or LZ4's, is then not known until past_skippable has read past them."""
    return head[:4] in _SKIPPABLE


def past_skippable(stream: BinaryIO) -> tuple[bytes, str, Callable[[BinaryIO], BinaryIO]]:
    """zstd's and LZ4's frame formats share their skippable frames (0x184D2A50 to
    0x184D2A5F), so a stream that starts with one is of the format of the first frame
    after them: LZ4 for LZ4's magic (0x184D2204), else zstd, whose decompressor reports
    what is not a zstd frame (`lz4 -dc` and `zstd -dc` each skip the frames and read
    their own). Returns the bytes read from the stream, to be handed to the decompressor
    before the rest (it skips the frames itself, and compressed offsets stay the file's),
    and the format's name and opener. Past SKIPPABLE_LOOKAHEAD bytes of skippable frames
    it stops looking: zstd, as before LZ4 was looked for."""
    read = bytearray()
    at = 0  #: where the frame after the skippable ones read starts
    while True:
        read += read_up_to(stream, 8)
        if read[at : at + 4] not in _SKIPPABLE or len(read) < at + 8:
            break
        size = int.from_bytes(read[at + 4 : at + 8], "little")
        if len(read) + size > SKIPPABLE_LOOKAHEAD:
            break
        read += read_up_to(stream, size)
        at += 8 + size
        if len(read) < at:  # cut inside the frame
            break
    if read[at : at + 4] == LZ4_MAGIC:
        return bytes(read), "lz4", _lz4_frames
    return bytes(read), "zstd", _zstd_frames
