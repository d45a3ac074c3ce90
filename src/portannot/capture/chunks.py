"""A growable window over a byte stream, read in chunks of bounded size.

Readers walk records inside the window; what is left of a partial record at the
end is moved to the front before the next read. The window grows only when one
record is larger than it, and never past the caller's limit.
"""

from __future__ import annotations

from typing import BinaryIO

import numpy as np

DEFAULT_CHUNK = 4 << 20


class ChunkWindow:
    def __init__(self, stream: BinaryIO, chunk_size: int = DEFAULT_CHUNK) -> None:
        self.stream = stream
        self.buf = np.empty(max(chunk_size, 4096), dtype=np.uint8)
        self.start = 0  #: first unconsumed byte in buf
        self.end = 0  #: one past the last valid byte in buf
        self.base = 0  #: file offset of buf[0]
        self.eof = False

    @property
    def available(self) -> int:
        return self.end - self.start

    def offset_of(self, pos: int) -> int:
        """File (decompressed stream) offset of a position in the window."""
        return self.base + pos

    def fill(self, need: int = 0) -> None:
        """Compact, grow to hold `need` bytes if asked, and read until full or end of stream."""
        if self.start:
            rest = self.end - self.start
            if rest:
                self.buf[:rest] = self.buf[self.start : self.end]
            self.base += self.start
            self.start, self.end = 0, rest
        if need > self.buf.shape[0]:
            grown = np.empty(need, dtype=np.uint8)
            grown[: self.end] = self.buf[: self.end]
            self.buf = grown
        view = memoryview(self.buf)
        while self.end < self.buf.shape[0] and not self.eof:
            got = self.stream.readinto(view[self.end :])
            if not got:
                self.eof = True
                break
            self.end += got

    def take(self, n: int) -> bytes | None:
        """Consume n bytes as a bytes object (headers the Python side parses)."""
        if self.available < n:
            self.fill(n)
            if self.available < n:
                return None
        out = self.buf[self.start : self.start + n].tobytes()
        self.start += n
        return out
