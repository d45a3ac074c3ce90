"""Open a capture input (file, '-' for stdin, compressed or not) as a plain byte stream.

gzip, bzip2 and xz are read with Python's own modules, zstd and LZ4 with pyarrow's.

The container is recognised from its first bytes, never from the file name, so
`capture.pcap.gz`, `capture` and a pipe all work the same.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import stat
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

from portannot.errors import CaptureFormatError, InputError


def _arrow_codec(codec: str) -> Callable[[BinaryIO], BinaryIO]:
    """zstd and LZ4 through the codecs pyarrow ships (Python has neither before 3.14):
    concatenated frames and skippable frames (pzstd's) included."""
    def opener(stream: BinaryIO) -> BinaryIO:
        import pyarrow as pa

        return pa.CompressedInputStream(stream, codec)  # type: ignore[return-value]
    return opener


class TrailingData(ValueError):
    """Bytes after a whole compressed stream that do not begin another: damage, reported
    as gzip's own reader reports it (Python's bz2 and lzma readers ignore them)."""


class _Streams(io.RawIOBase):
    """Concatenated bzip2 or xz streams, decompressed one step at a time, as the `bzip2`
    and `xz` tools read them: a stream after a whole stream is read on, and anything
    else there is TrailingData. (bz2.BZ2File and lzma.LZMAFile take bytes that fail to
    start a stream for the end of the file, so garbage after a capture went unseen.)
    With `padding` (xz), zero bytes in fours between and after streams are the format's
    stream padding, not damage."""

    def __init__(self, raw: BinaryIO, name: str, new: Callable[[], Any], padding: bool) -> None:
        self._raw, self._name, self._new, self._padding = raw, name, new, padding
        self._dec: Any = new()
        self._read = 0  #: compressed bytes read so far, every one handed to a decompressor
        self._after = b""  #: bytes after the last whole stream, not yet handed on
        #: where a stream after a whole one starts, until it gives its first bytes
        self._unproven: int | None = None

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
                self._after, self._dec = dec.unused_data, None
                continue
            else:
                data = b""
                if dec.needs_input:
                    data = self._raw.read(PIECE)
                    if not data:
                        if self._unproven is not None:  # (xz: fewer bytes than its header)
                            raise TrailingData(self._garbage(self._unproven))
                        raise EOFError("Compressed file ended before the end-of-stream "
                                       "marker was reached")
                    self._read += len(data)
                out = dec.decompress(data, size)
            if out:
                self._unproven = None
                b[: len(out)] = out
                return len(out)

    def _next_stream(self, size: int) -> bytes | None:
        """Begin the stream after a whole one and return its first output (perhaps none
        yet); None at the end of the input. Bytes there that do not begin a stream (after
        the padding, for xz) are TrailingData, naming their compressed offset."""
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
        if zeros % 4:
            raise TrailingData(f"garbage after the {self._name} stream that ends at compressed "
                               f"byte {end}: {zeros} zero bytes, not stream padding (a multiple "
                               "of 4)")
        if not data:
            return None
        self._dec, self._unproven = self._new(), at
        try:
            return self._dec.decompress(data, size)
        except (OSError, lzma.LZMAError):
            raise TrailingData(self._garbage(at)) from None

    def _garbage(self, at: int) -> str:
        return (f"garbage after the {self._name} stream that ends at compressed byte {at}: "
                f"not another {self._name} stream")

    def close(self) -> None:
        self._raw.close()
        super().close()


#: compressed bytes read at a time by _Streams
PIECE = 1 << 16


#: first bytes of each compression format -> opener over a byte stream
COMPRESSIONS: dict[bytes, tuple[str, Callable[[BinaryIO], BinaryIO]]] = {
    b"\x1f\x8b": ("gzip", lambda s: gzip.GzipFile(fileobj=s, mode="rb")),
    b"BZh": ("bzip2", lambda s: io.BufferedReader(_Streams(s, "bzip2", bz2.BZ2Decompressor, False))),
    b"\xfd7zXZ\x00": ("xz", lambda s: io.BufferedReader(_Streams(
        s, "xz", lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ), True))),
    b"\x28\xb5\x2f\xfd": ("zstd", _arrow_codec("zstd")),
    b"\x50\x2a\x4d\x18": ("zstd", _arrow_codec("zstd")),  # a skippable frame first (pzstd)
    b"\x04\x22\x4d\x18": ("lz4", _arrow_codec("lz4")),  # the LZ4 frame format (`lz4` tool)
}


class _Prefixed(io.RawIOBase):
    """A stream whose first bytes were already read for sniffing (stdin cannot seek back)."""

    def __init__(self, prefix: bytes, raw: BinaryIO) -> None:
        self._prefix = memoryview(prefix)
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        if self._prefix:
            n = min(len(b), len(self._prefix))
            b[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        return self._raw.readinto(b)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _Borrowed(io.RawIOBase):
    """Standard input read through a stream of the reader's own: closing it when the
    read is over leaves sys.stdin open (a second API call, the rest of a notebook)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        return self._raw.readinto(b)


def _stdin() -> BinaryIO:
    """Standard input's bytes, or an InputError naming it when there are none to read:
    sys.stdin None (pythonw, a closed descriptor), closed, or text only (a StringIO put
    in its place)."""
    return _Borrowed(stdin_bytes())  # type: ignore[return-value]


def stdin_bytes() -> BinaryIO:
    """The byte stream under sys.stdin, read nothing of; an InputError naming standard
    input when there is none (see _stdin)."""
    stdin = sys.stdin
    if stdin is None:
        raise InputError(f"{STDIN_NAME}: there is no standard input (sys.stdin is None)")
    if getattr(stdin, "portannot_closed", False):  # closed at start (output.stdio)
        raise InputError(f"{STDIN_NAME}: standard input is closed")
    raw = getattr(stdin, "buffer", None)
    if raw is None and isinstance(stdin, (io.RawIOBase, io.BufferedIOBase)):
        raw = stdin  # a byte stream put in its place
    if raw is None:
        raise InputError(f"{STDIN_NAME}: standard input is not a byte stream here (sys.stdin "
                         f"is a {type(stdin).__name__}); give the capture's path instead")
    if raw.closed:
        raise InputError(f"{STDIN_NAME}: standard input is closed")
    return raw


def _open_raw(path: str) -> BinaryIO:
    if path == "-":
        return _stdin()
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: is a directory, not a capture file")
    try:
        return open(path, "rb", buffering=0)  # noqa: SIM115 - handed to the caller
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from None


def _read_prefix(raw: BinaryIO, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = raw.read(n - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def mappable_size(path: str) -> int | None:
    """Size of a regular, uncompressed file that can be memory-mapped, else None."""
    if path == "-":
        return None
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size < 6:
            return None
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError:
        return None
    if any(head.startswith(m) for m in COMPRESSIONS):
        return None
    return st.st_size


def open_stream(path: str) -> tuple[BinaryIO, str]:
    """Return (stream positioned at the capture's first byte, compression name or '')."""
    raw = _open_raw(path)
    try:
        head = _read_prefix(raw, 6)
    except OSError as exc:  # /proc/self/mem, a device that refuses reads: the input's fault
        raw.close()
        raise InputError(f"{display_name(path)}: read error ({exc.strerror or exc})") from None
    if not head:
        raw.close()
        raise CaptureFormatError(f"{display_name(path)}: empty file")
    stream: BinaryIO = io.BufferedReader(_Prefixed(head, raw), 1 << 20)  # type: ignore[arg-type]
    for magic, (name, opener) in COMPRESSIONS.items():
        if head.startswith(magic):
            return opener(stream), name
    return stream, ""


#: how messages name standard input, given as "-"
STDIN_NAME = "<stdin>"


def display_name(path: str) -> str:
    """An input as messages name it: standard input ("-") as STDIN_NAME."""
    return STDIN_NAME if path == "-" else path
