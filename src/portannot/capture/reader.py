"""Open any capture input and stream its records in batches.

The container is chosen by its first bytes through FORMATS, the way the link
layer is chosen by the link type further down the pipeline.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable, Iterator
from os import PathLike
from typing import BinaryIO

from portannot.capture import pcap, pcapng
from portannot.capture.batch import RecordBatch
from portannot.capture.chunks import (
    DEFAULT_CHUNK,
    BufferPool,
    ChunkWindow,
    is_read_error,
)
from portannot.capture.compression import DamagedStream, TrailingData, compressed_offset
from portannot.capture.problems import ProblemLog, ReadProblem
from portannot.capture.source import (
    FileObject,
    Input,
    StreamInput,
    display_name,
    is_file_object,
    open_capture,
    read_failure,
    stream_input,
)
from portannot.errors import CaptureFormatError, InputError

#: (sniffer over the first bytes, reader class)
FORMATS = ((pcap.sniff, pcap.PcapReader), (pcapng.sniff, pcapng.PcapngReader))


class CaptureReader:
    """One capture input: a path ("-": standard input) or a readable binary file object,
    read from where it stands and left open (a second iteration of it reads on from where
    the first stopped). Iterate it for RecordBatches; afterwards `problems` lists the
    damage met (each with its byte offset; past the first DETAIL, counted per kind: see
    ProblemLog), and `records` counts what was read."""

    def __init__(self, path: str | PathLike[str] | FileObject | StreamInput, *,
                 file_index: int = 0,
                 chunk_size: int = DEFAULT_CHUNK,
                 buffers: BufferPool | None = None) -> None:
        self.path = one_path(path)
        #: chunk buffers shared with the stream's other readers (see BufferPool)
        self.buffers = buffers
        self.display = display_name(self.path)
        self.file_index = file_index
        self.chunk_size = chunk_size
        self.problems = ProblemLog()
        self.records = 0
        #: bytes of the file read so far, as it lies on disk (of a compressed file, the
        #: compressed bytes): where the reading is, for the progress line
        self.offset = 0
        self.format_name = ""
        self.compression = ""
        self.ts_digits = 6  #: fraction digits of the capture's timestamps

    def __iter__(self) -> Iterator[RecordBatch]:
        # each iteration is a read of its own: a second one added to the first's counts
        self.problems = ProblemLog()
        self.records = 0
        self.offset = 0
        stream, self.compression, file_size = open_capture(self.path)
        if self.compression:  # offsets count the capture's bytes, not the file's
            self.problems.unit = "decompressed byte offset"
        if self.compression:
            window = ChunkWindow(stream, self.chunk_size, DECOMPRESSION_ERRORS, self.buffers)
        else:
            window = ChunkWindow(stream, _window_size(file_size, self.chunk_size), (),
                                 self.buffers)
        reader = None
        try:
            window.fill()
            if window.error is not None and window.end < 8:
                raise window.error  # not even the capture's first bytes decompressed
            head = window.buf[: min(window.end, 8)].tobytes()
            reader_class = next((cls for sniff, cls in FORMATS if sniff(head)), None)
            if not head:  # a whole stream of nothing (a plain empty file fails before)
                raise CaptureFormatError(f"{self.display}: empty after decompression (a "
                                         f"{self.compression} stream of no bytes)")
            if reader_class is None:
                raise CaptureFormatError(
                    f"{self.display}: not a pcap or pcapng capture (starts with {head[:4].hex()})"
                )
            reader = reader_class(window, self.display, self.file_index, self.problems)
            self.format_name = reader.format_name
            for batch in reader:
                self.records += len(batch)
                self.ts_digits = reader.ts_digits
                self.offset = _file_offset(window, stream, self.compression)
                yield batch
            if window.error is not None:
                raise window.error
            if file_size is not None and not self.compression:
                self._check_shrunk(stream, window, file_size)
        except DECOMPRESSION_ERRORS as exc:  # damaged compressed stream, I/O error mid-file
            if is_read_error(exc):
                what = read_failure(exc)
                if reader is None:  # nothing read: the input could not be read at all
                    raise InputError(f"{self.display}: {what}") from None
                # the records before it are good data: kept, and the rest reported lost
                self.problems.append(ReadProblem(
                    self.display, window.offset_of(window.end), f"{what}; stopped reading"))
                return
            what = _stream_failure(self.compression, exc)
            if reader is None:  # not even the capture's header could be decompressed
                raise CaptureFormatError(f"{self.display}: {what}") from None
            self.problems.append(ReadProblem(
                self.display, window.offset_of(window.end), f"{what}; stopped reading"))
        finally:
            window.close()
            stream.close()

    def _check_shrunk(self, stream: BinaryIO, window: ChunkWindow, opened: int) -> None:
        """Report a regular file that is now shorter than what was read of it: truncated
        while it was read (a rotation's copytruncate, a writer starting over). Its end
        came early to the reader, which said at most "file ends inside a record" at a
        byte offset past the file's new end, or, at a record's end, nothing (exit 0): the
        rows are of bytes the file no longer holds. One fstat, once the file is read.
        `opened`: its size when opened; a file that says 0 and holds more (procfs, sysfs)
        is not one that shrank."""
        read = window.offset_of(window.end)
        try:
            size = os.fstat(stream.fileno()).st_size
        except (OSError, ValueError):
            return
        if size < min(read, opened):
            self.problems.append(ReadProblem(
                self.display, size, f"file shrank while it was read, after {read} bytes "
                "were read (the records read are kept, as read); it now ends"))


def _file_offset(window: ChunkWindow, stream: BinaryIO, compression: str) -> int:
    """Bytes of the file read so far: the window's end, or where a compressed file's
    decompressor is (a few arithmetic steps, no system call: this runs per chunk)."""
    if compression:
        read = compressed_offset(stream)
        return 0 if read is None else read
    return window.offset_of(window.end)


def _window_size(file_size: int | None, chunk_size: int) -> int:
    """The window for a file: all of a regular file smaller than a chunk (one byte more,
    so that its first fill meets the end), else a chunk (None: not a regular file). A
    window's buffer stays allocated while any batch of it is referenced, and reading many
    small files keeps hundreds of them alive in the stages' queues: 4 MiB each, where the
    file is a few KiB, was 60 MB more peak RSS. From POOLED_FROM on, the size is rounded
    up to a power of two, so that files of about the same size take each other's spent
    buffers (see BufferPool) instead of fresh memory; below it the allocator reuses its
    own."""
    if file_size is None:
        return chunk_size
    size = file_size + 1
    if size >= POOLED_FROM:
        size = 1 << (size - 1).bit_length()
    return min(size, chunk_size)


#: windows of this size and more are sized to be reused across files (_window_size)
POOLED_FROM = 1 << 17


#: what a damaged compressed stream raises while it is read (OSError only when it
#: is gzip's BadGzipFile; any other is the file's own I/O error)
DECOMPRESSION_ERRORS = (EOFError, OSError, zlib.error, DamagedStream, TrailingData)


def _stream_failure(compression: str, exc: BaseException) -> str:
    """What went wrong with a compressed stream, in words: a file that simply stops (a
    download or copy cut short) is not called damaged."""
    if isinstance(exc, EOFError):
        return f"{compression} stream cut short ({exc})"
    return f"{compression} stream is damaged ({exc})"


#: one capture or several: what every stage that reads captures accepts
#: what the readers take: paths, "-", binary file objects (StreamInput: one already
#: checked and named, as as_paths gives them back)
Paths = (str | PathLike[str] | FileObject | StreamInput
         | Iterable[str | PathLike[str] | FileObject | StreamInput])


def as_paths(paths: Paths) -> list[Input]:
    """One input or an iterable of them, as a list read once (a generator such as
    ``Path.glob`` would be used up by the first look): paths as str, file objects as
    StreamInputs named by their `name` or "<stream N>", N counting the call's file objects
    from 1 (see stream_input). Bytes are refused with a short TypeError: iterated, they
    read as numbers, each then taken for a path."""
    if isinstance(paths, (str, PathLike)):
        return [_path(paths)]
    if isinstance(paths, (bytes, bytearray, memoryview)):
        raise TypeError(f"{_REFUSED}, not {type(paths).__name__}")
    if is_file_object(paths):  # one file object, not an iterable of its lines
        return [stream_input(paths, 1)]
    try:
        items = iter(paths)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{_REFUSED}, not {type(paths).__name__}") from None
    inputs: list[Input] = []
    streams = 0
    for item in items:
        if is_file_object(item):
            streams += 1
            inputs.append(stream_input(item, streams))
        else:
            inputs.append(_path(item))
    return inputs


_REFUSED = ("capture paths must be str or os.PathLike (or an iterable of them), or binary "
            "file objects")


def one_path(path: object) -> Input:
    """One capture's path as str, or a file object as its StreamInput; refused as as_paths
    refuses it: str() of b'/x/a.pcap' was taken for a path and reported as "no such
    file"."""
    if is_file_object(path):
        return stream_input(path, 1)
    return _path(path)


def _path(path: object) -> str:
    """One path as str, through os.fspath (a PathLike's own text, not its repr); bytes,
    and a PathLike of bytes, refused as in as_paths."""
    try:
        text = os.fspath(path)  # type: ignore[call-overload]
    except TypeError:
        text = None
    if not isinstance(text, str):
        raise TypeError(f"{_REFUSED}, not {type(path).__name__}")
    return text


def iter_records(paths: Paths, *, chunk_size: int = DEFAULT_CHUNK) -> Iterator[RecordBatch]:
    """Record batches of one or several captures, in order (problems are not reported:
    use CaptureReader where they matter)."""
    buffers = BufferPool()
    for index, path in enumerate(as_paths(paths)):
        yield from CaptureReader(path, file_index=index, chunk_size=chunk_size, buffers=buffers)
