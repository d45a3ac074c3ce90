"""A growable window over a byte stream, read in chunks of bounded size.

Readers walk records inside the window; what is left of a partial record at the
end is moved to the front before the next read. The window grows only when one
record is larger than it, and never past the caller's limit.
"""

from __future__ import annotations

import gzip
import sys
import time
from typing import BinaryIO, TypeGuard

import numpy as np

DEFAULT_CHUNK = 4 << 20


#: seconds a pipe's first new bytes wait at most for more before the window hands them
#: on (see ChunkWindow.fill)
LIVE_WAIT = 0.1

#: read size for compressed streams: a damaged stream loses at most this much before the damage
COMPRESSED_PIECE = 1 << 13
#: chunk buffers a stream keeps to reuse once no batch refers to them any more (BufferPool)
SPARE_BUFFERS = 8


class BufferPool:
    """Chunk buffers that no batch holds any more, for the windows of one stream to
    reuse, across its files too. Fresh memory costs a page fault per 4 KiB on its first
    touch, about as much as reading the file into it (and keeps the allocator growing
    its heap). A buffer is given back while batches may still view it (they stay valid
    while another thread decodes them, or for as long as a caller keeps them), and
    taken again only once nothing else refers to it."""

    def __init__(self, keep: int = SPARE_BUFFERS) -> None:
        self.keep = keep
        self._held: list[np.ndarray] = []

    def give(self, buf: np.ndarray) -> None:
        """Hold `buf` for a later take; past `keep` buffers the oldest is let go."""
        self._held.append(buf)
        if len(self._held) > self.keep:
            del self._held[0]

    def take(self, size: int) -> np.ndarray:
        """A held buffer of `size` bytes that nothing else refers to, else a new one."""
        held = self._held
        for i in range(len(held)):
            # FREE_REFS: the list's and the argument's, on 3.10-3.14; any batch, view
            # or array handed out adds one
            if held[i].shape[0] == size and _refs(held, i) <= FREE_REFS:
                return held.pop(i)
        return np.empty(size, dtype=np.uint8)


def _refs(held: list[np.ndarray], i: int) -> int:
    """References to held[i], counted by one expression, the one FREE_REFS is measured
    with. Not a local variable's count: CPython 3.14 passes a local to a call without a
    reference of its own (one less than before), and buffers that batches still viewed
    were taken again and overwritten."""
    return sys.getrefcount(held[i])


def _free_refs() -> int:
    """What _refs counts of a buffer nothing but the pool's list holds, measured on this
    interpreter rather than assumed: an interpreter that counts one reference fewer
    (as 3.14 did for locals) would otherwise hand out buffers still in use, giving
    wrong rows without a word; one that counts more would only read into fresh memory."""
    return _refs([np.empty(1, dtype=np.uint8)], 0)


#: references to a held buffer that nothing else views (see BufferPool.take)
FREE_REFS = _free_refs()


def is_read_error(exc: BaseException | None) -> TypeGuard[OSError]:
    """Whether what stopped a window's reads is a read failing (a disk's I/O error, a
    file object's error, a non-blocking object with no bytes ready), past which the
    data goes on unread, rather than the data ending (a compressed stream cut short or
    damaged). gzip's BadGzipFile is the one OSError of the second kind."""
    return isinstance(exc, OSError) and not isinstance(exc, gzip.BadGzipFile)


class ChunkWindow:
    def __init__(self, stream: BinaryIO, chunk_size: int = DEFAULT_CHUNK,
                 stream_errors: tuple[type[BaseException], ...] = (),
                 buffers: BufferPool | None = None) -> None:
        self.stream = stream
        #: errors of a damaged (compressed) stream: reading stops there, keeping what came before
        self.stream_errors = stream_errors
        #: what stops reading, kept in `error`: those and the file's own I/O error (a bad
        #: disk), whose bytes before it are good data
        self._stopping = (*stream_errors, OSError)
        self.error: BaseException | None = None
        self.piece = COMPRESSED_PIECE if stream_errors else 1 << 62
        #: one read of the stream below per call: BufferedReader.readinto goes on
        #: reading to fill the request, and an error on a later read inside it loses the
        #: bytes the earlier ones brought (an I/O error mid-file cost the whole window)
        self._step = getattr(stream, "readinto1", None)
        #: where spent buffers go and fresh ones come from (one per stream of files)
        self.buffers = buffers if buffers is not None else BufferPool()
        self.buf = self.buffers.take(max(chunk_size, 4096))
        self.start = 0  #: first unconsumed byte in buf
        self.end = 0  #: one past the last valid byte in buf
        self.base = 0  #: file offset of buf[0]
        self.eof = False
        #: whether the stream can say that bytes are coming (a pipe's, see fill)
        self._ready = getattr(stream, "ready", None)
        #: the last fill handed on what had come when the stream paused (see fill)
        self.paused = False

    def _read_into(self, view: memoryview) -> int:
        """One read. A stream that can is read with readinto1: of a compressed stream,
        one step of its decompressor at a time (readinto goes on filling the piece, so a
        failure after a complete stream, garbage after the last gzip member, would lose
        the stream's last bytes with it); of a file, one read of the file."""
        if self._step is not None:
            return self._step(view)
        return self.stream.readinto(view)

    @property
    def available(self) -> int:
        return self.end - self.start

    @property
    def ending(self) -> str:
        """How the bytes in hand end, for the record or block they cut: a read that
        failed or found no bytes ready (a non-blocking file object's None) is not the
        end of the file, which "file ends inside a record" said of it."""
        return "reading stopped" if is_read_error(self.error) else "file ends"

    @property
    def data_end(self) -> str:
        """Where the bytes in hand end, as a length pointing past them or a skip running
        to them names it: after a read that failed or found no bytes ready, the file goes
        on unread, and "the end of the file" named a place that was not there."""
        return "where reading stopped" if is_read_error(self.error) else "the end of the file"

    def offset_of(self, pos: int) -> int:
        """File (decompressed stream) offset of a position in the window."""
        return self.base + pos

    def fill(self, need: int = 0) -> None:
        """Move what is left to a fresh buffer, read until it is full or the stream ends,
        and grow it while a record needs more than arrived. A buffer is reused only once
        nothing refers to it, so batches handed out earlier stay valid while another
        thread decodes them, or for as long as a caller keeps them.

        Of a pipe, a fill also ends, `paused`, once what came is at least `need` bytes and
        no more came within LIVE_WAIT of its first new bytes: `tcpdump -U -w - |
        portannot packets -` showed its rows only every 4 MiB of capture, or at the end.
        A writer faster than that (`cat`, a decompressor) fills the window as before."""
        if self.start:
            rest = self.end - self.start
            fresh = self.buffers.take(self.buf.shape[0])
            fresh[:rest] = self.buf[self.start : self.end]
            self.base += self.start
            self.buffers.give(self.buf)
            self.buf, self.start, self.end = fresh, 0, rest
        self.paused = False
        since = 0.0  #: when this fill's first new bytes came (of a pipe)
        while True:
            view = memoryview(self.buf)
            while self.end < self.buf.shape[0] and not self.eof:
                if since and self.end >= need and self._paused(since):
                    self.paused = True
                    return
                try:
                    got = self._read_into(view[self.end : self.end + self.piece])
                except self._stopping as exc:
                    self.error = exc
                    self.eof = True
                    break
                if not got:
                    self.eof = True
                    break
                self.end += got
                if not since and self._ready is not None:
                    since = time.monotonic()
            if self.eof or self.end >= need:
                # full just as a pipe's writer paused: said too, or its records waited for
                # the next bytes (the pcap reader's first walk read on into them)
                self.paused = bool(since) and not self.eof and self._paused(since)
                return
            # full of bytes actually read and a record needs more: double. The window
            # follows the bytes that arrive, never what a length field merely claims.
            grown = np.empty(2 * self.buf.shape[0], dtype=np.uint8)
            grown[: self.end] = self.buf[: self.end]
            self.buf = grown

    def _paused(self, since: float) -> bool:
        """Whether a pipe's bytes that came at `since` have waited long enough: LIVE_WAIT
        is up, or no more come before it is."""
        left = LIVE_WAIT - (time.monotonic() - since)
        return left <= 0 or not self._ready(left)  # type: ignore[misc]

    def close(self) -> None:
        """The file is read: its buffer goes back for the next window, to be used again
        once no batch refers to it. The error kept is let go: its traceback holds fill()'s
        frame, which holds this window, a reference cycle that kept the window and its
        reader alive after a damaged stream until the cycle collector came."""
        self.buffers.give(self.buf)
        self.error = None

    def take(self, n: int) -> bytes | None:
        """Consume n bytes as a bytes object (headers the Python side parses)."""
        if self.available < n:
            self.fill(n)
            if self.available < n:
                return None
        out = self.buf[self.start : self.start + n].tobytes()
        self.start += n
        return out
