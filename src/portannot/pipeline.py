"""The stages joined: captures -> records -> decoded packets -> flows, with the accounting.

Everything here streams: a PacketStream holds one batch at a time, a FlowStream
holds the live flows and nothing per packet.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from portannot.aggregate.rules import FlowColumns, flow_columns
from portannot.aggregate.table import FlowTable, RawFlows, Timeout
from portannot.capture import CaptureReader, Paths, ReadProblem, RecordBatch, as_paths
from portannot.capture.chunks import DEFAULT_CHUNK
from portannot.compiled import kernel
from portannot.decode import Decoder, PacketBatch
from portannot.errors import InputError
from portannot.registry import ServiceTable
from portannot.status import STATUS_NAMES, Status

T = TypeVar("T")


@kernel("none(u1[::1], u4[::1], i8[::1], i8[::1])")
def _tally(status, length, counts, nbytes):
    """Packets and bytes per status, in one pass (np.bincount with weights goes
    through float64 and costs several times more)."""
    for i in range(status.shape[0]):
        counts[status[i]] += 1
        nbytes[status[i]] += length[i]


@dataclass
class Accounting:
    """Every record read, in exactly one status; and what went wrong where."""

    records: int = 0
    status_counts: np.ndarray = field(default_factory=lambda: np.zeros(len(STATUS_NAMES), np.int64))
    status_bytes: np.ndarray = field(default_factory=lambda: np.zeros(len(STATUS_NAMES), np.int64))
    problems: list[ReadProblem] = field(default_factory=list)
    #: inputs (of several) that could not be read at all, and why
    unreadable: list[Unreadable] = field(default_factory=list)
    #: records of a link type not decoded, per (input's index, its name, link type)
    unsupported_links: dict[tuple[int, str, int], int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    ts_digits: int = 6
    first_ts: int | None = None
    last_ts: int | None = None

    def add(self, batch: PacketBatch) -> None:
        n = len(batch)
        if not n:
            return
        self.records += n
        _tally(batch.status, batch.length, self.status_counts, self.status_bytes)
        unsupported = batch.status == Status.UNSUPPORTED_LINK
        if unsupported.any():
            lt, cnt = np.unique(batch.linktype[unsupported], return_counts=True)
            for t, c in zip(lt.tolist(), cnt.tolist()):
                key = (batch.file_index, batch.path, t)
                self.unsupported_links[key] = self.unsupported_links.get(key, 0) + c
        lo, hi = int(batch.ts_ns.min()), int(batch.ts_ns.max())
        self.first_ts = lo if self.first_ts is None else min(self.first_ts, lo)
        self.last_ts = hi if self.last_ts is None else max(self.last_ts, hi)

    @property
    def bytes(self) -> int:
        """Sum of original frame lengths."""
        return int(self.status_bytes.sum())

    @property
    def damaged(self) -> bool:
        """Part of the input could not be read or decoded as a capture."""
        return bool(self.problems) or bool(self.unsupported_links) or bool(self.unreadable)

    def by_status(self) -> dict[str, int]:
        return {name: int(c) for name, c in zip(STATUS_NAMES, self.status_counts)}

    def warnings(self) -> list[str]:
        """One line per problem, each starting with the input's name (as ReadProblem's
        do): of several inputs, a line without one did not say which to look at."""
        return [line for _, line in self.warnings_by_input()]

    def warnings_by_input(self) -> list[tuple[str, str]]:
        """(input's name, line) for each of warnings(): the API's CaptureWarning.path."""
        out = [(u.path, f"{u.why}; skipped, the other inputs read") for u in self.unreadable]
        out += [(p.path, str(p)) for p in self.problems]
        for (_, path, lt), count in sorted(self.unsupported_links.items()):
            out.append((path, f"{path}: link type {lt} is not supported: {count} record(s) "
                              "counted as unsupported-link"))
        return out


@dataclass(frozen=True)
class Unreadable:
    """An input, of several, that could not be read at all: skipped, the others read."""

    path: str  #: its name as the messages give it ("<stdin>" for "-")
    why: str  #: the InputError's message, which starts with the name

    def __str__(self) -> str:
        return self.why


class PacketStream:
    """Decoded PacketBatches of one or several captures, in order; `accounting` fills
    in as it goes.

    Reading and decoding each run in a background thread (the compiled kernels
    release the GIL), a bounded queue apart, while the consumer aggregates or
    writes: three stages of one pass, spread over the cores there are.
    """

    def __init__(self, paths: Paths, *, chunk_size: int = DEFAULT_CHUNK,
                 background: bool = True) -> None:
        self.paths = as_paths(paths)
        self.chunk_size = chunk_size
        self.background = background
        self.accounting = Accounting(files=list(self.paths))
        self.decoder = Decoder()
        self._started: Iterator[PacketBatch | ReadProgress | ReadEnd] | None = None

    def _records(self) -> Iterator[RecordBatch | ReadProgress | ReadEnd]:
        """Each file's records, then its ReadEnd. Of several files, one that cannot be
        read (missing, not a capture, an I/O error) is reported in its ReadEnd and the
        others still count: its fault must not cost theirs. Only when none can be read
        is there nothing to report but the error (as with a single file)."""
        failures: list[InputError] = []
        for index, path in enumerate(self.paths):
            reader = CaptureReader(path, file_index=index, chunk_size=self.chunk_size)
            try:
                for records in reader:
                    yield ReadProgress(reader.ts_digits)
                    yield records
            except InputError as exc:
                if len(self.paths) == 1:
                    raise
                failures.append(exc)
                yield ReadEnd(reader.problems, reader.ts_digits,
                              unreadable=Unreadable(reader.display, str(exc)))
                continue
            yield ReadEnd(reader.problems, reader.ts_digits)
        if failures and len(failures) == len(self.paths):
            raise InputError("; ".join(str(e) for e in failures))

    def _decoded(self, items: Iterator[RecordBatch | ReadProgress | ReadEnd]
                 ) -> Iterator[PacketBatch | ReadProgress | ReadEnd]:
        try:
            for item in items:
                yield self.decoder.decode(item) if isinstance(item, RecordBatch) else item
        finally:
            items.close()  # type: ignore[attr-defined]

    def start(self) -> PacketStream:
        """Begin reading now, in the background, for the next iteration to take over."""
        if self.background and self._started is None:
            self._started = self._items()
        return self

    def close(self) -> None:
        """Stop a started stream that will not be iterated (its threads hold it alive)."""
        if self._started is not None:
            self._started.close()  # type: ignore[attr-defined]
            self._started = None

    @staticmethod
    def empty() -> PacketBatch:
        """No packets: what a capture without records makes, for outputs that still
        need their columns (a CSV header, a Parquet schema)."""
        return PacketBatch.empty(0)

    def _items(self) -> Iterator[PacketBatch | ReadProgress | ReadEnd]:
        if self.background:
            read = _Background(self._records(), "portannot-read")
            return _Background(self._decoded(read), "portannot-decode")
        return self._decoded(self._records())

    def __iter__(self) -> Iterator[PacketBatch]:
        items, self._started = self._started or self._items(), None
        acc = self.accounting
        try:
            for item in items:
                if isinstance(item, ReadProgress):
                    acc.ts_digits = max(acc.ts_digits, item.ts_digits)
                    continue
                if isinstance(item, ReadEnd):
                    acc.problems.extend(item.problems)
                    if item.unreadable is not None:
                        acc.unreadable.append(item.unreadable)
                    acc.ts_digits = max(acc.ts_digits, item.ts_digits)
                    continue
                acc.add(item)
                yield item
        finally:
            items.close()  # type: ignore[attr-defined]


@dataclass
class ReadProgress:
    """The timestamp precision known so far (pcapng interfaces may raise it mid-file)."""

    ts_digits: int


@dataclass
class ReadEnd:
    """Marks the end of one file in the decoded stream, with what its reader met."""

    problems: list[ReadProblem]
    ts_digits: int
    #: why the file, one of several inputs, could not be read at all (None if it could)
    unreadable: Unreadable | None = None


_DONE = object()
QUEUE_DEPTH = 2
#: seconds close() waits for a stage to stop (see _Background.close)
CLOSE_WAIT = 0.5


class _Background(Iterator[T]):
    """A generator run in a thread from the moment this is made, a bounded queue ahead
    of the consumer; its errors surface in the consumer, and a consumer that closes or
    drops it stops it. Starting at once lets a caller begin reading and finish getting
    ready (imports, opening outputs) while the first batches are on their way."""

    def __init__(self, items: Iterator[T], name: str, depth: int = QUEUE_DEPTH) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        # the thread holds the queue and the event, never self: dropping self stops it
        self._worker = threading.Thread(target=_produce, args=(items, self._queue, self._stop),
                                        name=name, daemon=True)
        self._worker.start()

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._stop.is_set():
            raise StopIteration
        item = self._queue.get()
        if item is _DONE:
            self.close()
            raise StopIteration
        if isinstance(item, _Failure):
            self.close()
            raise item.exc
        return item

    def close(self) -> None:
        """Stop the worker. One blocked on input that does not come (a pipe its writer
        holds open) cannot see the stop until the input moves: it is a daemon thread,
        left to end then, so that an interrupted command exits instead of waiting."""
        self._stop.set()
        self._worker.join(CLOSE_WAIT)

    def __del__(self) -> None:
        self._stop.set()


def _produce(items: Iterator[object], q: queue.Queue, stop: threading.Event) -> None:
    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    try:
        for item in items:
            if not put(item):
                return
    except BaseException as exc:  # handed to the consumer, raised there
        put(_Failure(exc))
        return
    finally:
        if stop.is_set():
            items.close()  # type: ignore[attr-defined]
    put(_DONE)


@dataclass
class _Failure:
    exc: BaseException


class FlowStream:
    """Flows of one or several captures: iterate for FlowColumns as flows end (all of
    them at the end when no timeout is set).

    The aggregation runs in its own thread, so what the consumer does with each
    piece of flows (Arrow conversion, Parquet encoding: both release the GIL)
    overlaps with orienting the next piece; flows that end together come out in
    pieces of at most DRAIN_PIECE for that reason.
    """

    def __init__(self, paths: Paths, table: ServiceTable, *, idle_timeout: Timeout = None,
                 active_timeout: Timeout = None, chunk_size: int = DEFAULT_CHUNK,
                 background: bool = True) -> None:
        self.packets = PacketStream(paths, chunk_size=chunk_size, background=background)
        self.table = table
        self.flows = FlowTable(idle_timeout, active_timeout)
        self.flow_count = 0
        self.background = background
        self._started: Iterator[FlowColumns] | None = None

    @property
    def accounting(self) -> Accounting:
        return self.packets.accounting

    def start(self) -> FlowStream:
        """Begin reading now, in the background, for the next iteration to take over."""
        if self.background and self._started is None:
            self._started = _Background(self._columns(), "portannot-flows")
        return self

    def close(self) -> None:
        """Stop a started stream that will not be iterated (its threads hold it alive)."""
        if self._started is not None:
            self._started.close()  # type: ignore[attr-defined]
            self._started = None

    @staticmethod
    def empty() -> FlowColumns:
        """No flows, with every column: see PacketStream.empty."""
        return FlowColumns.empty(0)

    def __iter__(self) -> Iterator[FlowColumns]:
        if self._started is not None:
            started, self._started = self._started, None
            return started
        if self.background:
            return _Background(self._columns(), "portannot-flows")
        return self._columns()

    def _columns(self) -> Iterator[FlowColumns]:
        for raw in self._ended():
            for piece in raw.pieces(DRAIN_PIECE):
                self.flow_count += len(piece)
                yield flow_columns(piece, self.table)

    def _ended(self) -> Iterator[RawFlows]:
        packets = iter(self.packets)
        try:
            for batch in packets:
                ended = self.flows.update(batch)
                if len(ended):
                    yield ended
        finally:
            packets.close()  # type: ignore[attr-defined]
        yield self.flows.drain()


#: flows oriented and handed on at a time when many end at once
DRAIN_PIECE = 1 << 17


def converted(stream: PacketStream | FlowStream, convert: Callable[[Any], T]
              ) -> Iterator[tuple[T, int]]:
    """What a stream yields, each item passed through `convert` in a thread of its own,
    with the timestamp precision known when the item came: the consumer writes one
    while the next converts (Arrow conversion and Parquet encoding both release the
    GIL). Close it if it is not iterated to the end."""
    # one converted item ahead of the writer is enough to overlap them; two held 20 MB
    # more of Arrow batches on flows-1m for no speed
    return _Background(_converting(stream, convert), "portannot-convert", depth=1)


def _converting(stream: PacketStream | FlowStream, convert: Callable[[Any], T]
                ) -> Iterator[tuple[T, int]]:
    items = iter(stream)
    try:
        for item in items:
            yield convert(item), stream.accounting.ts_digits
    finally:
        # now, not when a failure's traceback lets go of this frame: the stages stop here
        items.close()  # type: ignore[attr-defined]
