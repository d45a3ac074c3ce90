"""Files written whole or not at all: under a temporary name beside the target, renamed
over it only once complete, so that a failed or interrupted write never leaves a file
that looks whole. Output files, the installed registry and the cached service table
are all written so.

Light (no numpy, no pyarrow): a command opens its output file with it before it starts
reading the captures.
"""

from __future__ import annotations

import errno
import os
import stat
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

#: the temporary's name: `.portannot-XXXXXXXX.part`, beside the target
TEMP_PREFIX, TEMP_SUFFIX = ".portannot-", ".part"


class AtomicFile:
    """A binary file in the making: `stream` writes to a temporary in the target's
    directory, commit() renames it over the target, abort() removes it. Once one of
    them has run, both do nothing. Dropped without either (an Output let go, a script's
    exception escaping past it), or still open when the interpreter exits, it is
    aborted: the temporary is not left beside the target, which stays as it was.

    The file gets the mode open() would give the target (0666 less the umask), or
    keeps that of the file it replaces: mkstemp's own 0600 left files unreadable to
    the other users an output or an installed registry is for."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        # beside the target as the system resolves the name ("link/../x" is beside
        # what the link names, not beside the link), so that the rename stays in one
        # directory, and a missing one fails here rather than at the rename
        # (mkstemp takes its abspath: resolved first, links and all)
        directory = os.path.dirname(self.path) or os.curdir
        if not stat.S_ISDIR(os.stat(directory).st_mode):
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), directory)
        directory = os.path.realpath(directory)
        fd, self.tmp = temporary(directory)
        try:
            os.fchmod(fd, file_mode(self.path))
        except BaseException:
            os.close(fd)
            os.unlink(self.tmp)
            raise
        self.stream: BinaryIO = os.fdopen(fd, "wb")
        self.finished = False
        # holds the stream and the name, not self, so that dropping self runs it
        self._remove = weakref.finalize(self, _remove, self.stream, self.tmp, os.getpid())

    def commit(self) -> None:
        """Put the whole file in place; if that fails, remove the temporary and raise."""
        if self.finished:
            return
        self.finished = True
        try:
            self.stream.close()
            os.replace(self.tmp, self.path)
        except BaseException:
            self._discard()
            raise
        self._remove.detach()  # in place: nothing left to remove

    def abort(self) -> None:
        """Remove what was written (a file it would have replaced stays as it was)."""
        if self.finished:
            return
        self.finished = True
        self._discard()

    def _discard(self) -> None:
        self._remove()


def _remove(stream: BinaryIO, tmp: str, pid: int) -> None:
    """Close and remove an unfinished temporary: AtomicFile's abort, also run when one
    is dropped or left at exit. Only by the process that made it: a forked child exiting
    would otherwise remove its parent's file in the making."""
    try:
        stream.close()
    except OSError:
        pass
    if os.getpid() != pid:
        return
    try:
        os.unlink(tmp)
    except OSError:
        pass


@contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary file to write `path` through: put in place when the block ends well,
    removed when it raises (see AtomicFile)."""
    file = AtomicFile(path)
    try:
        yield file.stream
    except BaseException:
        file.abort()
        raise
    file.commit()


#: what mkstemp's names are made of; 8 of them, as mkstemp's
_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"
#: flags as mkstemp opens with: a new file only, never through a link
_FLAGS = (os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
          | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
#: names tried before giving up, as many as mkstemp tries
_ATTEMPTS = getattr(os, "TMP_MAX", 10000)


def temporary(directory: str) -> tuple[int, str]:
    """tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=directory), made
    here: tempfile imports shutil (which imports bz2 and lzma) and random, ~2 ms of every
    command that writes a file, for a random name and an exclusive open."""
    for _ in range(_ATTEMPTS):
        name = "".join(_NAME_CHARS[b % len(_NAME_CHARS)] for b in os.urandom(8))
        path = os.path.join(directory, f"{TEMP_PREFIX}{name}{TEMP_SUFFIX}")
        try:
            fd = os.open(path, _FLAGS, 0o600)
        except FileExistsError:
            continue
        return fd, os.path.abspath(path)
    raise FileExistsError(errno.EEXIST, "No usable temporary file name found")


def file_mode(path: str | os.PathLike[str]) -> int:
    """Permission bits for a file written over `path`: those of the file it replaces,
    else what open() would create under the process's umask."""
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
