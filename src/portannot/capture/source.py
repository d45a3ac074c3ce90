"""Open a capture input (file, '-' for stdin, compressed or not) as a plain byte stream.

gzip is read with ISA-L (python-isal) where it is installed, else Python's gzip; bzip2
and xz with Python's own modules; zstd with Python's own from 3.14
(compression.zstd) and its backport before; LZ4 with python-lz4. All but Python's gzip
share one reader (_Streams) that hands on each step of the decompressor as it comes, so
that a damaged stream costs only the step in progress.

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

try:
    import fcntl
except ImportError:  # Windows: no pipe sizes to set
    fcntl = None  # type: ignore[assignment]


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
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    return _stepwise(stream, "gzip", lambda: igzip_lib.IgzipDecompressor(igzip_lib.DECOMP_GZIP),
                     (isal_zlib.error,), padding=1)


def _zstd_frames(stream: BinaryIO) -> BinaryIO:
    """Concatenated zstd frames, skippable ones (pzstd's) included."""
    try:
        from compression import zstd  # type: ignore[import-not-found]  # Python 3.14+
    except ImportError:
        from backports import zstd  # type: ignore[no-redef]
    return _stepwise(stream, "zstd", zstd.ZstdDecompressor, (zstd.ZstdError,))


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
                        if self._unproven is not None:  # (xz: fewer bytes than its header)
                            raise TrailingData(self._garbage(self._unproven))
                        raise EOFError("Compressed file ended before the end-of-stream "
                                       "marker was reached")
                    self._read += len(data)
                out = self._step(dec, data, size)
            if out:
                self._unproven = None
                b[: len(out)] = out
                return len(out)

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
        self._dec, self._unproven = self._new(), at
        try:
            return self._step(self._dec, data, size)
        except DamagedStream:
            raise TrailingData(self._garbage(at)) from None

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


def _stepwise(stream: BinaryIO, name: str, new: Callable[[], Any],
              errors: tuple[type[Exception], ...], padding: int = 0) -> BinaryIO:
    return io.BufferedReader(_Streams(stream, name, new, padding, errors))  # type: ignore[arg-type,return-value]


#: first bytes of each compression format -> opener over a byte stream
COMPRESSIONS: dict[bytes, tuple[str, Callable[[BinaryIO], BinaryIO]]] = {
    b"\x1f\x8b": ("gzip", _gzip_members),
    b"BZh": ("bzip2", lambda s: _stepwise(s, "bzip2", bz2.BZ2Decompressor, (OSError,))),
    b"\xfd7zXZ\x00": ("xz", lambda s: _stepwise(
        s, "xz", lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ), (lzma.LZMAError,), padding=4)),
    b"\x28\xb5\x2f\xfd": ("zstd", _zstd_frames),
    b"\x50\x2a\x4d\x18": ("zstd", _zstd_frames),  # a skippable frame first (pzstd)
    b"\x04\x22\x4d\x18": ("lz4", _lz4_frames),  # the LZ4 frame format (`lz4` tool)
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

    def fileno(self) -> int:
        return self._raw.fileno()


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


#: the kernel buffer asked for a pipe read from (Linux's default is 64 KiB)
PIPE_BUFFER = 1 << 20


def widen_pipe(stream: BinaryIO, size: int = PIPE_BUFFER) -> None:
    """Let a pipe hold `size` bytes (at most what /proc/sys/fs/pipe-max-size allows):
    through Linux's default 64 KiB, `cat capture | portannot flows -` ran at a quarter
    of the file's speed, every 64 KiB a switch between writer and reader (mixed-1m:
    0.25 s to read the pipe at 1 MiB, 0.55-1.6 s at 64 KiB). Anything but a pipe, a
    system without the call, or a refusal (the user's pipe-buffer quota) is left as
    it is."""
    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl else None
    if setpipe is None:
        return
    try:
        fd = stream.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return
        try:
            with open("/proc/sys/fs/pipe-max-size") as f:
                size = min(size, int(f.read()))
        except (OSError, ValueError):
            pass
        if fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ) < size:
            fcntl.fcntl(fd, setpipe, size)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


def _open_raw(path: str) -> BinaryIO:
    if path == "-":
        stream = _stdin()
        widen_pipe(stream)
        return stream
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
        stream = open(path, "rb", buffering=0)  # noqa: SIM115 - handed to the caller
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from None
    widen_pipe(stream)  # a named pipe
    return stream


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
