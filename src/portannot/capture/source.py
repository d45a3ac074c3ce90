"""Open a capture input (file, '-' for stdin, a binary file object, compressed or not) as a
plain byte stream.

A compressed stream (gzip, bzip2, xz, zstd, LZ4: capture.compression) is recognised and
decompressed here, standard input and pipes read (a pipe with a wider kernel buffer).

The container is recognised from its first bytes, never from the file name, so
`capture.pcap.gz`, `capture` and a pipe all work the same.
"""

from __future__ import annotations

import errno
import io
import os
import select
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, Protocol

from portannot.background import STOP_POLL, Stopped, stop_requested
from portannot.capture.compression import (
    COMPRESSIONS,
    past_skippable,
    starts_skippable,
)
from portannot.errors import BrokenPipeOutput, CaptureFormatError, InputError
from portannot.printable import nul_in_name

try:
    import fcntl
except ImportError:  # Windows: no pipe sizes to set
    fcntl = None  # type: ignore[assignment]


class _Prefixed(io.RawIOBase):
    """A stream whose first bytes were already read for sniffing (stdin cannot seek back)."""

    def __init__(self, prefix: bytes, raw: BinaryIO) -> None:
        self._prefix = memoryview(prefix)
        self._raw = raw
        #: whether bytes come within a wait (ChunkWindow.fill hands on what it has when
        #: none do: a live capture's rows go out as it pauses); None where the stream
        #: below cannot say (a file object, a terminal, a socket)
        self.ready: Callable[[float], bool] | None = (
            self._ready if getattr(raw, "ready", None) is not None else None)

    def _ready(self, timeout: float) -> bool:
        return bool(self._prefix) or self._raw.ready(timeout)  # type: ignore[attr-defined]

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
    read is over leaves sys.stdin open (a second API call, the rest of a notebook). Each
    readinto is one read of it (readinto1 where it has one: sys.stdin.buffer's readinto
    waits until the whole request has come, past what a pipe's _Awaited waited for)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._read = getattr(raw, "readinto1", None) or raw.readinto

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        return self._read(b)

    def fileno(self) -> int:
        return self._raw.fileno()


class ReadsBytes(Protocol):
    """A binary file object known by its read(): gzip.GzipFile and zipfile's members are
    io classes but not typing.BinaryIO, and a user's own reader is neither, yet each is
    read as README says ("anything with readinto() or read()")."""

    def read(self, size: int, /) -> bytes: ...


class ReadsInto(Protocol):
    """A binary file object known by its readinto() alone (given a writable memoryview)."""

    def readinto(self, buffer: memoryview, /) -> int | None: ...


#: a file object in place of a path, as a type checker is to take it (is_file_object at
#: run time)
FileObject = BinaryIO | ReadsBytes | ReadsInto


class StreamInput:
    """A readable binary file object given as a capture input in place of a path (an open
    file, io.BytesIO, gzip.GzipFile, a socket's makefile('rb'): anything with readinto()
    or read()). It is read from where it stands, once, as a pipe is: never sought, and
    never closed here, for its caller owns it. `name` is what messages and provenance
    call it."""

    __slots__ = ("obj", "name")

    def __init__(self, obj: Any, name: str) -> None:
        self.obj = obj
        self.name = name

    def __repr__(self) -> str:
        return f"StreamInput({self.name!r})"


def is_file_object(obj: object) -> bool:
    """Whether `obj` is given as a file object rather than a path or a list of them."""
    return isinstance(obj, (io.IOBase, StreamInput)) or hasattr(obj, "read") \
        or hasattr(obj, "readinto")


def stream_input(obj: Any, number: int) -> StreamInput:
    """`obj`, the `number`th file object of a call's inputs (from 1), as an input: named by
    its `name` attribute where that is a file name, else "<stream N>" (a BytesIO has no
    name, a socket's file its descriptor's number). A text-mode file is a TypeError (its
    read() gives str: the capture's bytes already decoded, some of them replaced); a closed
    one, like a closed standard input, an InputError; one open for writing only, a
    TypeError."""
    if isinstance(obj, StreamInput):
        return obj
    if _text_mode(obj):
        raise TypeError(f"a capture file object must be binary, not text mode "
                        f"({type(obj).__name__}): open it with 'rb'")
    name = getattr(obj, "name", None)
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    if not isinstance(name, str) or not name:
        name = f"<stream {number}>"
    if getattr(obj, "closed", False):
        raise InputError(f"{name}: the file object is closed")
    readable = getattr(obj, "readable", None)
    if readable is not None and not readable():
        raise TypeError(f"{name}: the file object is not open for reading")
    return StreamInput(obj, name)


def _text_mode(obj: Any) -> bool:
    """Whether `obj` reads str: a TextIOBase, or an object of no io class whose `mode`
    lacks 'b' (tempfile's wrapper of a 'w+' file). An io byte stream is binary whatever
    its mode says: zipfile's members have mode 'r', ZipFile.open's argument."""
    if isinstance(obj, io.TextIOBase):
        return True
    if isinstance(obj, (io.RawIOBase, io.BufferedIOBase)):
        return False
    mode = getattr(obj, "mode", None)
    return isinstance(mode, str) and "b" not in mode


class ObjectReadError(OSError):
    """What a caller's file object raised from its read, as a read error: the records
    before it are kept and the rest reported lost, as for a file's I/O error. A
    gzip.GzipFile over a stream cut short raises EOFError, over a damaged one
    BadGzipFile or zlib.error: taken for portannot's own decompression failing, they
    were a CaptureFormatError "<stream 1>:  stream cut short" (no compression named)
    that lost the records already read into the window."""


class NotReady(ObjectReadError):
    """A non-blocking file object had no bytes ready. A capture read takes what each read
    gives and cannot wait on such an object without polling its descriptor, which a
    buffered or a descriptor-less one (an SSL socket's, a generator's wrapper) does not
    allow: the read stops there as at a read error, said as what it is."""

    def __init__(self) -> None:
        super().__init__(errno.EAGAIN, "the file object is non-blocking and had no bytes "
                         "ready (give a blocking one)")


def read_failure(exc: OSError) -> str:
    """A read error as its one line says it: a non-blocking object's by itself, another
    one as 'read error (why)'."""
    if isinstance(exc, NotReady):
        return exc.strerror
    return f"read error ({exc.strerror or exc})"


class _ObjectStream(io.RawIOBase):
    """A caller's file object read through a raw stream of the reader's own: closing this
    when the read is over leaves the object open (the caller's to close). Each readinto
    is one read of the object: readinto1 where it has one (BufferedReader's readinto, of
    a socket or a pipe, waits until the whole request has come), else readinto, else
    read()."""

    def __init__(self, source: StreamInput) -> None:
        self._source = source
        obj = source.obj
        self._one = getattr(obj, "readinto1", None)
        self._into = getattr(obj, "readinto", None)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        try:
            return self._read_once(b)
        except (TypeError, Stopped, NotReady):
            raise
        except BlockingIOError:  # the object's own read said so (a FileIO's read() is None)
            raise NotReady() from None
        except Exception as exc:  # noqa: BLE001 - whatever the object raises is its failure
            raise ObjectReadError(f"{type(exc).__name__}: {exc}") from None

    def _read_once(self, b) -> int:  # type: ignore[no-untyped-def]
        if self._one is not None:
            try:
                return self._got(self._one(b))
            except io.UnsupportedOperation:  # a BufferedIOBase without read1
                self._one = None
        if self._into is not None:
            return self._got(self._into(b))
        data = self._source.obj.read(len(b))
        if not isinstance(data, (bytes, bytearray, memoryview)):
            if data is None:
                return self._got(None)
            raise TypeError(f"{self._source.name}: read() gave {type(data).__name__}, not "
                            "bytes: give a binary file object")
        b[: len(data)] = data
        return len(data)

    def _got(self, n: int | None) -> int:
        if n is None:  # a non-blocking object with nothing ready: not the end of the data
            raise NotReady()
        return n


class _Awaited(io.RawIOBase):
    """A pipe read one read at a time, each once poll() says bytes (or the writer's
    close) are there, waiting STOP_POLL at a time and looking between waits whether the
    stage reading it was stopped (background.stop_requested): a read waiting in the
    system's read on a pipe whose writer holds it open without writing could not see the
    stop, and close() left the reading thread, and the pipe, until the writer wrote or
    closed. Bytes already there cost one poll() a read (of up to the 1 MiB widen_pipe
    asks for); a read is one read of the stream below (readinto1 where it has one:
    sys.stdin.buffer's readinto waits to fill the whole request).

    The same poll() watches the output pipe given to watch_output, if any: once its
    reader has gone, a wait here raises BrokenPipeOutput, as the next write would."""

    def __init__(self, raw: BinaryIO, fd: int) -> None:
        self._raw = raw
        self._fd = fd
        self._poll = select.poll()
        self._poll.register(fd, select.POLLIN)
        #: the output pipe watched (see watch_output), None when there is none
        self._output = _WATCHED[-1] if _WATCHED else None
        if self._output is not None:
            # no event asked for: poll() reports POLLERR unasked, on a pipe's write end
            # once no reader is left
            self._poll.register(self._output, 0)
        self._read = getattr(raw, "readinto1", None) or raw.readinto

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        wait = int(STOP_POLL * 1000)
        while not self._wait(wait):
            if stop_requested():
                raise Stopped("the consumer stopped the read")
        return self._read(b)

    def ready(self, timeout: float) -> bool:
        """Whether bytes (or the writer's close) are there now or come within `timeout`
        seconds."""
        return self._wait(max(0, round(timeout * 1000)))

    def _wait(self, ms: int) -> bool:
        """Whether the pipe has bytes (or its writer's close) within `ms` milliseconds; a
        BrokenPipeOutput once the watched output's reader has gone."""
        events = self._poll.poll(ms)
        for fd, event in events:
            if fd == self._output:
                if event & (select.POLLERR | select.POLLHUP):
                    raise BrokenPipeOutput()
                # anything else (POLLNVAL: the descriptor closed) would be reported at
                # every poll, a busy wait: that output is watched no more
                self._poll.unregister(fd)
                self._output = None
        return any(fd == self._fd for fd, _ in events)

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        self._raw.close()
        super().close()


#: the output pipe whose reader's going ends a wait on an input pipe (watch_output)
_WATCHED: list[int] = []


@contextmanager
def watch_output(fd: int | None) -> Iterator[None]:
    """While the block runs, input pipes opened in it (standard input, a FIFO) also watch
    `fd`, where the command writes its output, if that is a pipe: once that pipe's
    reader has gone (`| head -1` has its line), a wait for input ends in a
    BrokenPipeOutput. Without it, a live capture gone quiet (`tcpdump -U -w - |
    portannot packets - | head -1`) kept the command waiting, its output unwritable,
    until the next packet's rows failed to be written. A file, a terminal or None is
    not watched: their writes do not fail that way."""
    try:
        watched = fd is not None and stat.S_ISFIFO(os.fstat(fd).st_mode)
    except (OSError, ValueError):
        watched = False
    if watched:
        _WATCHED.append(fd)  # type: ignore[arg-type]
    try:
        yield
    finally:
        if watched:
            _WATCHED.pop()


def _pipe_read(stream: BinaryIO, st: os.stat_result | None = None) -> BinaryIO:
    """`stream`, a pipe's widened and read through _Awaited; anything else (a file, a
    terminal, a byte stream without a descriptor) as it is. `st`: what stat said of it,
    when known."""
    try:
        fd = stream.fileno()
        if st is None:
            st = os.fstat(fd)
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation: no descriptor
        return stream
    if not stat.S_ISFIFO(st.st_mode):
        return stream
    widen_pipe(stream)
    if not hasattr(select, "poll"):  # Windows: waits in the read, as before
        return stream
    return _Awaited(stream, fd)  # type: ignore[return-value]


def _stdin() -> BinaryIO:
    """Standard input's bytes, or an InputError naming it when there are none to read:
    sys.stdin None (pythonw, a closed descriptor), closed, text only (a StringIO put
    in its place), or a terminal: `portannot flows -` typed without a pipe waited for
    ever on a capture no one types (gzip refuses so: "compressed data not read from a
    terminal"). A --files-from list may still be typed there (stdin_bytes)."""
    raw = stdin_bytes()
    if _terminal(raw):
        raise InputError(f"{STDIN_NAME}: standard input is a terminal: a capture is not read "
                         "from one (pipe or redirect it, or give the capture's path)")
    return _Borrowed(raw)  # type: ignore[return-value]


def _terminal(stream: BinaryIO) -> bool:
    """True if `stream` is a terminal; False too when it cannot say (no descriptor)."""
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False


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


def _open_raw(path: Input) -> tuple[BinaryIO, os.stat_result | None]:
    """The input opened unbuffered, with what stat says of it (None: standard input or a
    file object). Each system call here is one more wait for the interpreter's lock while
    the other stages run: of 12,730 files of 50 kB, the reading thread spent 110 us a
    file, 44 us alone. A terminal named by its path (/dev/tty, /dev/stdin on one) is
    refused as standard input on one is: it waited for a capture no one types."""
    if isinstance(path, StreamInput):
        if getattr(path.obj, "closed", False):  # closed since the call
            raise InputError(f"{path.name}: the file object is closed")
        return _ObjectStream(path), None  # type: ignore[return-value]
    if path == "-":
        return _pipe_read(_stdin()), None
    if not path:
        # os.stat('') is ENOENT: the message was ": no such file", naming nothing
        raise InputError(f"{EMPTY_NAME}: an empty file name, not a capture")
    if "\0" in path:
        raise InputError(nul_in_name(path))
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
    if stat.S_ISSOCK(st.st_mode):  # open() refuses one, saying "No such device or address"
        raise InputError(f"{path}: is a socket, not a capture file")
    try:
        stream = open(path, "rb", buffering=0)  # noqa: SIM115 - handed to the caller
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from None
    if stat.S_ISFIFO(st.st_mode):
        return _pipe_read(stream, st), st
    if stat.S_ISCHR(st.st_mode) and _terminal(stream):
        stream.close()
        raise InputError(f"{path}: is a terminal: a capture is not read from one (pipe or "
                         "redirect it, or give the capture's path)")
    return stream, st


def open_stream(path: Input) -> tuple[BinaryIO, str]:
    """Return (stream positioned at the capture's first byte, compression name or '')."""
    stream, compression, _size = open_capture(path)
    return stream, compression


def open_capture(path: Input) -> tuple[BinaryIO, str, int | None]:
    """open_stream's stream and compression name, and the file's size when it is a
    regular one (None for a pipe, a device, standard input or a file object): what stat
    said as the file was opened, so that the reader sizes its window without asking
    again."""
    raw, st = _open_raw(path)
    size = st.st_size if st is not None and stat.S_ISREG(st.st_mode) else None
    regular = size is not None
    try:
        # a regular file's first bytes are read where they are, the file left at its start
        head = os.pread(raw.fileno(), 6, 0) if regular else _head(raw, 6)
    except OSError as exc:  # /proc/self/mem, a device that refuses reads: the input's fault
        raw.close()
        raise InputError(f"{display_name(path)}: {read_failure(exc)}") from None
    if not head:
        raw.close()
        raise CaptureFormatError(f"{display_name(path)}: empty file")
    compressed = next(((name, opener) for magic, (name, opener) in COMPRESSIONS.items()
                       if head.startswith(magic)), None)
    if compressed is None and regular:
        # read as it is, each read one read of the file straight into the reader's window.
        # Through a BufferedReader, a file smaller than its 1 MiB buffer was read into that
        # buffer and copied again, into fresh memory each time: 625 files of 1 MB (one
        # capture cut up, as `tcpdump -C 1` writes them) were read at a third of the
        # whole file's speed
        return raw, "", size
    source = raw if regular else _Prefixed(head, raw)  # a pipe cannot go back to its start
    if compressed is None:
        # each read one read of the pipe, straight into the window, as a file's is: a
        # buffer between held bytes that poll() does not see (see _Prefixed.ready)
        return source, "", size  # type: ignore[return-value]
    stream: BinaryIO = io.BufferedReader(source, 1 << 20)  # type: ignore[arg-type]
    if compressed is not None:
        name, opener = compressed
        if starts_skippable(head):  # zstd's or LZ4's: the frame after them says which
            prefix, name, opener = past_skippable(stream)
            stream = _Prefixed(prefix, stream)  # type: ignore[assignment]
        try:
            return opener(stream), name, size
        except ImportError as exc:  # a decompressor this Python was built without
            stream.close()
            raise InputError(f"{display_name(path)}: cannot decompress {name}: {exc}") from None
    return stream, "", size


def _head(raw: BinaryIO, n: int) -> bytes:
    """At least `n` bytes of a stream that cannot go back (fewer only at its end), and
    whatever else its reads brought. Each read asks for HEAD_READ bytes: asked for 6,
    sys.stdin.buffer read up to 8 KiB of the pipe and kept the rest in its own buffer,
    where poll() does not see it, so that a live capture's first packets waited there
    for the next ones."""
    out = bytearray()
    piece = bytearray(HEAD_READ)
    while len(out) < n:
        got = raw.readinto(piece)  # type: ignore[attr-defined]
        if not got:
            break
        out += memoryview(piece)[:got]
    return bytes(out)


#: the most the first read of a stream takes (see _head): more than the 8 KiB buffer of
#: sys.stdin.buffer, which then reads straight into it
HEAD_READ = 1 << 16

#: how messages name standard input, given as "-"
STDIN_NAME = "<stdin>"
#: how messages name an empty path: quoted, as bare it named nothing (": no such file")
EMPTY_NAME = "''"


def display_name(path: Input) -> str:
    """An input as messages name it: standard input ("-") as STDIN_NAME, a file object by
    its name (see stream_input), an empty path as EMPTY_NAME."""
    if isinstance(path, StreamInput):
        return path.name
    return STDIN_NAME if path == "-" else path or EMPTY_NAME


#: one capture input: a path ("-" for standard input) or a file object
Input = str | StreamInput
