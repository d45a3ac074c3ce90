"""Where rows go: a file written atomically (under a temporary name beside it, renamed
into place only when whole), or standard output; and the permission bits such a file
gets. Kept apart from the writers, and light (no pyarrow), so that a command can open
its output, and refuse an existing one, before it starts reading the captures."""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from typing import BinaryIO

from portannot.errors import OutputError


class Output:
    """Where rows go: a file written atomically, or standard output.

    Use it as a context manager: committed (the file renamed into place) when the block
    ends well, aborted (the temporary removed) when it raises, so that no
    `.portannot-*.part` file is left behind. commit() and abort() may also be called
    directly; once one of them has run, both do nothing."""

    def __init__(self, path: str | None, *, force: bool = False, binary_ok: bool = True) -> None:
        self.path = None if path in (None, "-") else path
        self.tmp: str | None = None
        self.finished = False
        if self.path is None:
            if not binary_ok and sys.stdout.isatty():
                raise OutputError("refusing to write Parquet to a terminal; use -o FILE")
            self.stream: BinaryIO = sys.stdout.buffer
            return
        # through a symbolic link, the file it names is written (replacing the link
        # with a file of its own would leave the target stale)
        self.path = os.path.realpath(self.path) if os.path.islink(self.path) else self.path
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            raise OutputError(f"{self.path}: output directory {directory} does not exist")
        if os.path.isdir(self.path):
            raise OutputError(f"{self.path}: is a directory")
        if os.path.exists(self.path) and not os.path.isfile(self.path):
            # a device or a FIFO: write to it as it is; there is no file to replace
            try:
                self.stream = open(self.path, "wb")  # noqa: SIM115 - closed by commit/abort
            except OSError as exc:
                raise output_error(self.path, exc) from None
            return
        if os.path.exists(self.path) and not force:
            raise OutputError(f"{self.path}: already exists (use --force to replace it)")
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=".portannot-", suffix=".part", dir=directory)
            # mkstemp's file is private (0600); the output gets the mode a plain open()
            # would give it, or keeps the mode of the file it replaces
            os.fchmod(fd, file_mode(self.path))
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot write: {exc.strerror}") from None
        self.stream = os.fdopen(fd, "wb")

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
        if self.tmp is None:
            self.stream.flush()
            if self.path is not None:
                self.stream.close()
            return
        try:
            self.stream.close()
            os.replace(self.tmp, self.path)
        except OSError as exc:
            self.abort()
            raise output_error(self.path, exc) from None
        self.tmp = None

    def abort(self) -> None:
        """Remove what was written to a file (a replaced file stays as it was)."""
        self.finished = True
        if self.tmp is not None:
            try:
                self.stream.close()
            except OSError:
                pass
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
            self.tmp = None


def file_mode(path: str | os.PathLike[str]) -> int:
    """Permission bits for an output file: those of the file it replaces, else what
    open() would create under the process's umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o666 & ~umask()


def umask() -> int:
    """The process's umask, read without changing it where Linux tells it (setting it
    to read it would race with files other threads create)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def output_error(path: str | None, exc: OSError) -> OutputError:
    where = path or "standard output"
    if exc.errno == errno.ENOSPC:
        return OutputError(f"{where}: no space left on device; nothing written")
    return OutputError(f"{where}: write failed: {exc.strerror or exc}")
