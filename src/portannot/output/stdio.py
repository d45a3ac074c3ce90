"""Standard streams made safe to write to, whatever the process was started with.

- With PYTHONUNBUFFERED=1 (or `python -u`), sys.stdout.buffer is the raw file, whose
  write() may write less than it was given (a file size limit, a signal) and report
  only the count: callers that ignore it cut the output short and exit 0. It is
  replaced by a BufferedWriter, which writes everything or raises, flushed after every
  write so that the output still goes out as it is written.
- A standard stream closed at start (`<&-`, `>&-`) is None in Python, and its file
  descriptor free: the first file opened would take it (a capture read as standard
  input, an output file that stray prints land in). The descriptor is held with
  /dev/null; a closed standard output is a stream whose writes fail ("standard output
  is closed", exit 5), stdin_closed() tells the commands that read "-", and a closed
  standard error takes the messages to /dev/null (the exit code still tells), and so
  does one whose reader has gone (`2>&1 | head -1`): the first message after that was a
  BrokenPipeError, and the command exited 1 whatever had happened.
- A text stream whose encoding cannot hold every character (PYTHONIOENCODING=ascii, a
  Latin-1 locale) raised UnicodeEncodeError, a traceback, on the first registry
  description or service name beyond it ("FORTÉ"): such characters are written as
  backslash escapes instead, for the block only.

Light (no pyarrow): the command imports it before anything else.
"""

from __future__ import annotations

import codecs
import errno
import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

STDOUT_CLOSED = "standard output is closed"
STDIN_CLOSED = "standard input is closed"


class WholeWriter(io.BufferedWriter):
    """A BufferedWriter flushed after each write: every byte written, or an error."""

    def write(self, data) -> int:  # type: ignore[no-untyped-def, override]
        n = super().write(data)
        self.flush()
        return n


class _Descriptor(io.RawIOBase):
    """A writable raw stream over one of the standard descriptors, by number."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd


class _ClosedRaw(_Descriptor):
    """Standard output that was closed when the process started."""

    def isatty(self) -> bool:
        return False

    def write(self, _data) -> int:  # type: ignore[no-untyped-def, override]
        raise OSError(errno.EBADF, STDOUT_CLOSED)


class _Messages(_Descriptor):
    """Standard error whose reader may go away: what cannot reach it is dropped, as
    messages to a closed standard error are, so that the exit code still tells."""

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, data) -> int:  # type: ignore[no-untyped-def, override]
        try:
            return os.write(self._fd, data)
        except BrokenPipeError:
            return len(memoryview(data))  # nobody reads them any more
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise
            return len(memoryview(data))  # a terminal hung up: nobody sees them


def _messages(stderr: object) -> bool:
    """Whether `stderr` is Python's own standard error, to be replaced by _Messages
    (not a test's capture, not ours already)."""
    if not isinstance(stderr, io.TextIOWrapper) or isinstance(stderr.buffer, WholeWriter):
        return False
    try:
        return stderr.fileno() == 2
    except (OSError, ValueError):
        return False


def _fd_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def hold_standard_descriptors() -> None:
    """Put /dev/null on a standard descriptor the process started without (`2>&-`), so
    that no file opened later becomes it: messages written there would go into that
    file. Python has already made the sys stream None for it: what it was asked to hide
    stays hidden. The installed command does this before any thread starts
    (cli.console: a thread opening a file meanwhile took the descriptor for a moment)."""
    for fd, mode in ((0, os.O_RDONLY), (1, os.O_WRONLY), (2, os.O_WRONLY)):
        if _fd_open(fd):
            continue
        try:
            null = os.open(os.devnull, mode)
        except OSError:
            continue
        if null != fd:
            os.dup2(null, fd)
            os.close(null)


def stdin_closed() -> bool:
    """Whether standard input was closed when the process started (a "-" input fails)."""
    return sys.stdin is None or getattr(sys.stdin, "portannot_closed", False)


def stdout_closed() -> bool:
    """Whether standard output was closed when the process started (nothing can print)."""
    return sys.stdout is None or getattr(sys.stdout, "portannot_closed", False)


def _text(raw: io.RawIOBase, like: io.TextIOBase | None) -> io.TextIOWrapper:
    text = io.TextIOWrapper(WholeWriter(raw), encoding=getattr(like, "encoding", None) or "utf-8",
                            errors=getattr(like, "errors", None) or "strict",
                            line_buffering=False, write_through=True)
    return text


@contextmanager
def standard_streams() -> Iterator[None]:
    """Make the standard streams safe (see the module's doc) for the block; then put
    back what was there."""
    saved = sys.stdin, sys.stdout, sys.stderr
    hold_standard_descriptors()
    if sys.stdin is None:
        sys.stdin = io.TextIOWrapper(io.BytesIO())
        sys.stdin.portannot_closed = True  # type: ignore[attr-defined]
    if sys.stderr is None:  # messages go nowhere, as the closed stream asked; the exit
        # code still tells (every `sys.stderr.isatty()`, `click.echo(err=True)` failed)
        sys.stderr = _text(io.FileIO(2, "wb", closefd=False), None)
    elif _messages(sys.stderr):
        sys.stderr.flush()
        sys.stderr = _text(_Messages(2), sys.stderr)
    if sys.stdout is None:
        sys.stdout = _text(_ClosedRaw(1), None)
        sys.stdout.portannot_closed = True  # type: ignore[attr-defined]
    else:
        buffer = getattr(sys.stdout, "buffer", None)
        if isinstance(buffer, io.RawIOBase) and not isinstance(sys.stdout, _Replaced):
            sys.stdout.flush()
            raw = io.FileIO(buffer.fileno(), "wb", closefd=False)
            sys.stdout = _Replaced(WholeWriter(raw), encoding=sys.stdout.encoding,
                                   errors=sys.stdout.errors, write_through=True)
    narrow = [(stream, stream.errors) for stream in (sys.stdout, sys.stderr) if _narrow(stream)]
    for stream, errors in narrow:
        stream.reconfigure(errors=_ESCAPING[errors])
    try:
        yield
    finally:
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
        for stream, errors in narrow:
            try:
                stream.reconfigure(errors=errors)
            except (OSError, ValueError):
                pass
        sys.stdin, sys.stdout, sys.stderr = saved


def _narrow(stream: object) -> bool:
    """Whether `stream` is a text stream that fails on characters its encoding lacks:
    "strict", or "surrogateescape" (Python's own choice for a C/POSIX locale without
    UTF-8 mode, PYTHONIOENCODING=ascii:surrogateescape), which writes back only the
    undecodable bytes a name was read with and fails on any other character."""
    encoding = getattr(stream, "encoding", None)
    if not isinstance(stream, io.TextIOWrapper) or not encoding:
        return False
    return stream.errors in _ESCAPING and codecs.lookup(encoding).name != "utf-8"


def _surrogate_or_backslash(exc: UnicodeError) -> tuple[str | bytes, int]:
    """surrogateescape where it applies (an undecodable byte goes out as it came), else
    a backslash escape: one character at a time, so that a run mixing both is split."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    char = exc.object[exc.start]
    if 0xDC80 <= ord(char) <= 0xDCFF:
        return bytes([ord(char) - 0xDC00]), exc.start + 1
    return codecs.backslashreplace_errors(
        UnicodeEncodeError(exc.encoding, char, 0, 1, exc.reason))[0], exc.start + 1


codecs.register_error("portannot.surrogateescape", _surrogate_or_backslash)
#: a narrow stream's error handler -> the one the command writes with
_ESCAPING = {"strict": "backslashreplace", "surrogateescape": "portannot.surrogateescape"}


class _Replaced(io.TextIOWrapper):
    """Standard output over a WholeWriter (see standard_streams)."""
