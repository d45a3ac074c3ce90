"""Where rows go: a file written atomically (see portannot.atomic_file), or standard
output. Kept apart from the writers, and light (no pyarrow), so that a command can open
its output, and refuse an existing one, before it starts reading the captures."""

from __future__ import annotations

import errno
import os
import stat
import sys
from typing import TYPE_CHECKING, BinaryIO, cast

from portannot.atomic_file import AtomicFile
from portannot.errors import OutputError

if TYPE_CHECKING:
    from portannot.output.compressed import CompressedWriter


class Output:
    """Where rows go: a file written atomically, or standard output.

    Use it as a context manager: committed (the file renamed into place) when the block
    ends well, aborted (the temporary removed) when it raises, so that no
    `.portannot-*.part` file is left behind. commit() and abort() may also be called
    directly; once one of them has run, both do nothing. One let go (or left at exit)
    without either is aborted: a script's stages need not reach their cleanup."""

    #: what the rows are written to: the file, standard output's bytes, or (with
    #: `compression`) a CompressedWriter over the file, which writes as a binary file does
    stream: BinaryIO

    def __init__(self, path: str | os.PathLike[str] | None, *, force: bool = False,
                 binary_ok: bool = True, compression: str | None = None) -> None:
        """`compression` (output.formats.COMPRESSION_SUFFIXES' values): `stream`
        compresses what is written to the file (output.compressed), ended on commit;
        not for standard output, which users compress through a pipe."""
        text = None if path is None else _text(path)
        self.path = None if text in (None, "-") else text
        if compression is not None and self.path is None:
            raise ValueError("compressed output goes to a file, not standard output")
        self._compressed: CompressedWriter | None = None
        self._init(force, binary_ok)
        if compression is not None:
            from portannot.output.compressed import CompressedWriter

            try:
                self._compressed = CompressedWriter(self.stream, compression)
            except BaseException as exc:
                self.abort()
                if isinstance(exc, ImportError):  # a compressor this Python was built without
                    raise OutputError(f"{self.path}: cannot compress {compression}: {exc}") from None
                raise
            self.stream = cast("BinaryIO", self._compressed)

    def _init(self, force: bool, binary_ok: bool) -> None:
        """Open the file (or take standard output), refusing what README refuses."""
        self.file: AtomicFile | None = None  #: the file being written, if the output is one
        self._device: BinaryIO | None = None  #: a device, FIFO or descriptor opened in place
        self.finished = False
        if self.path == "":
            # refused here, not by the rename at the end (after the whole read), which
            # failed as "standard output: write failed"
            raise OutputError("an empty output file name")
        if self.path is not None and "\0" in self.path:
            from portannot.printable import nul_in_name

            raise OutputError(nul_in_name(self.path))  # was os.stat's bare ValueError
        if self.path is None:
            if not binary_ok and sys.stdout.isatty():
                raise OutputError("refusing to write Parquet to a terminal; use -o FILE")
            self.stream = sys.stdout.buffer
            return
        if _names_descriptor(self.path) or _special(self.path):
            # an open descriptor (/dev/stdout, -o >(cmd)), a device or a FIFO, also
            # through a link: written as it is, appended to (a `>>` log that /dev/stdout
            # names stays whole); there is no file to replace
            try:
                self.stream = open(self.path, "ab")  # noqa: SIM115 - closed by commit/abort
            except OSError as exc:
                raise output_error(self.path, exc, whole=False) from None
            self._device = self.stream  # under a CompressedWriter, what abort() closes
            return
        # through a symbolic link, the file it names is written (replacing the link
        # with a file of its own would leave the target stale)
        self.path = os.path.realpath(self.path) if os.path.islink(self.path) else self.path
        # the directory as the system resolves it: abspath would fold "missing/../x.csv"
        # to "./x.csv" (and "link/../x.csv" to a directory the link is not in), so that
        # only the rename after the whole read failed
        directory = os.path.dirname(self.path) or os.curdir
        if not os.path.isdir(directory):
            shown = os.path.abspath(directory) if ".." not in directory.split(os.sep) else directory
            if os.path.exists(directory):  # `-o x.pcap/out.csv`: a file where a directory goes
                raise OutputError(f"{self.path}: {shown} is not a directory")
            raise OutputError(f"{self.path}: output directory {shown} does not exist")
        if os.path.isdir(self.path):
            raise OutputError(f"{self.path}: is a directory")
        if os.path.basename(self.path) in ("", ".", ".."):
            # "new/", "new/.": abspath drops the end, so the checks above looked at the
            # parent, and only the rename once all was written failed (ENOTDIR)
            raise OutputError(f"{self.path}: not a file name (it names a directory)")
        if os.path.exists(self.path) and not force:
            raise OutputError(f"{self.path}: already exists (use --force to replace it)")
        try:
            self.file = AtomicFile(self.path)
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot write: {exc.strerror}") from None
        self.stream = self.file.stream

    @property
    def whole(self) -> bool:
        """Whether the output is a file written whole or not at all (AtomicFile): a
        failure leaves nothing. Standard output, a device, a FIFO or a descriptor keep
        what was written before it."""
        return self.file is not None

    @property
    def terminal(self) -> bool:
        """Whether the rows go to a terminal: standard output's, or one -o names
        (/dev/stdout, /dev/tty), written in place. There the rows are the progress: a
        progress line drawn on stderr's terminal beside them splices into them."""
        if self.file is not None:
            return False
        try:
            return self.stream.isatty()
        except (OSError, ValueError):
            return False

    def __enter__(self) -> Output:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_exc: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()

    def commit(self) -> None:
        """Put the whole output in place (or flush standard output)."""
        if self.finished:
            return
        self.finished = True
        if self.file is None:
            try:
                if self._compressed is not None:
                    self._compressed.finish()
                self.stream.flush()
                if self.path is not None:
                    self.stream.close()
            except BrokenPipeError:
                raise
            except OSError as exc:
                raise output_error(self.path, exc, whole=False) from None
            return
        try:
            if self._compressed is not None:
                try:
                    self._compressed.finish()  # the stream's end, before the rename
                except BaseException:
                    self.file.abort()
                    raise
            self.file.commit()  # a failed one has removed the temporary
        except OSError as exc:
            raise output_error(self.path, exc) from None

    def abort(self) -> None:
        """Remove what was written to a file (a replaced file stays as it was). A device,
        FIFO or descriptor -o names is closed here too, as commit() closes it (it stayed
        open until garbage collection), but unflushed: a FIFO whose reader stopped
        reading would block the flush, and an aborted output's rows are not wanted."""
        self.finished = True
        if self.file is not None:
            self.file.abort()
        elif self._device is not None:
            _close_unflushed(self._device)


def _close_unflushed(stream: BinaryIO) -> None:
    """Close a buffered stream without writing its buffer: its descriptor (the raw file)
    first, after which the buffered stream's own close() finds it closed and writes
    nothing, at once and at garbage collection alike."""
    raw = getattr(stream, "raw", None)
    try:
        if raw is not None:
            raw.close()
        stream.close()
    except (OSError, ValueError):
        pass


def _text(path: str | os.PathLike[str]) -> str:
    """The path as str, a Path's own text: a Path was taken as it was and failed as an
    AttributeError (no startswith); bytes are refused, as the capture paths are."""
    text = os.fspath(path)
    if not isinstance(text, str):
        raise TypeError(f"the output path must be str or os.PathLike[str], not "
                        f"{type(path).__name__}")
    return text


def _names_descriptor(path: str) -> bool:
    """Whether `path` names a descriptor the process holds (/dev/stdout, /dev/fd/3, what
    bash's >(cmd) gives): resolved as a link, it is /proc/<pid>/fd/N, then a pipe's
    "pipe:[566110]" or the terminal, neither a place to create a file beside."""
    return path in ("/dev/stdout", "/dev/stderr") or path.startswith(("/dev/fd/",
                                                                      "/proc/self/fd/"))


def _special(path: str) -> bool:
    """Whether what `path` leads to (links followed) exists and is neither a regular file
    nor a directory: a FIFO, a device, a socket."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def output_error(path: str | None, exc: OSError, *, whole: bool = True) -> OutputError:
    """A failed write as the one line the user reads: a full disk said as such, and, for
    a file written whole (`whole`: aborted, never left partial), that nothing was
    written. Standard output and what is written in place (a device, a FIFO, a
    descriptor) keep what went out before the failure: there, no such claim."""
    where = path or "standard output"
    if exc.errno == errno.ENOSPC:
        return OutputError(f"{where}: no space left on device"
                           + ("; nothing written" if whole else ""))
    return OutputError(f"{where}: write failed: {exc.strerror or exc}")
