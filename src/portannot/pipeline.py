"""The stages joined: captures -> records -> decoded packets -> flows, with the accounting.

Everything here streams: a PacketStream holds one batch at a time, a FlowStream
holds the live flows and nothing per packet.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from portannot.accounting import Accounting, Unreadable
from portannot.aggregate.rules import FlowColumns, flow_columns
from portannot.aggregate.table import FlowTable, RawFlows, Timeout
from portannot.background import Background
from portannot.capture import CaptureReader, Paths, ReadProblem, RecordBatch, as_paths
from portannot.capture.chunks import DEFAULT_CHUNK, BufferPool
from portannot.capture.source import Input
from portannot.decode import Decoder, PacketBatch
from portannot.errors import InputError
from portannot.registry import ServiceTable

T = TypeVar("T")
Item = TypeVar("Item")  # what a stream's stages yield
S = TypeVar("S", bound="_Stages[Any]")


class _Stages(Generic[Item]):
    """A stream whose stages run in background threads once started: start() begins the
    read before the first iteration (the CLI opens its output meanwhile), and the next
    iteration takes the started stages over."""

    background: bool
    _started: Iterator[Item] | None = None

    def _stages(self) -> Iterator[Item]:
        raise NotImplementedError

    def start(self: S) -> S:
        """Begin reading now, in the background, for the next iteration to take over."""
        if self.background and self._started is None:
            self._started = self._stages()
        return self

    def close(self) -> None:
        """Stop a started stream that will not be iterated (its threads hold it alive)."""
        if self._started is not None:
            self._started.close()  # type: ignore[attr-defined]
            self._started = None

    def _take(self) -> Iterator[Item]:
        """The started stages, or new ones."""
        started, self._started = self._started, None
        return started if started is not None else self._stages()


class PacketStream(_Stages["list[PacketBatch | ReadProgress | ReadEnd]"]):
    """Decoded PacketBatches of one or several captures, in order; `accounting` fills
    in as it goes.

    Reading and decoding each run in a background thread (the compiled kernels
    release the GIL), a bounded queue apart, while the consumer aggregates or
    writes: three stages of one pass, spread over the cores there are.

    With `gather` (the default), batches of fewer than `small_batch` rows (SMALL_BATCH
    unless given: small files, the end of each file) are joined, across files, until
    they hold GATHERED rows: what is done per batch (a flow table pass, Arrow
    conversion, a Parquet row group) then is not done per file; a joined batch's `files` says each row's input. The stages
    hand each other parcels of PARCEL_ROWS records (_parcels) for the same reason.
    Without it, each batch is one chunk of one file, handed on as it comes.
    """

    def __init__(self, paths: Paths, *, chunk_size: int = DEFAULT_CHUNK,
                 background: bool = True, gather: bool = True,
                 small_batch: int | None = None) -> None:
        self.paths = as_paths(paths)
        self.chunk_size = chunk_size
        # of many small files, read and decode in the consumer's thread: see SMALL_FILE_BYTES
        self.background = background and not small_files(self.paths)
        self.gather = gather
        #: batches with fewer rows than this are joined (None: SMALL_BATCH)
        self.small_batch = small_batch
        self.accounting = Accounting(files=list(self.paths))
        self.decoder = Decoder()

    def _records(self) -> Iterator[list[RecordBatch | ReadProgress | ReadEnd]]:
        """Each file's records, then its ReadEnd, in parcels (see _parcels). Of several
        files, one that cannot be read (missing, not a capture, an I/O error) is
        reported in its ReadEnd and the others still count: its fault must not cost
        theirs. Only when none can be read is there nothing to report but the error (as
        with a single file)."""
        return _parcels(self._items(), PARCEL_ROWS if self.gather else 1)

    def _items(self) -> Iterator[RecordBatch | ReadProgress | ReadEnd]:
        if self.accounting.reading_since is None:
            self.accounting.reading_since = time.monotonic()
        # why each could not be read, as text: an exception kept here holds this frame in
        # its traceback (a cycle keeping the readers alive until the cycle collector came)
        failures: list[str] = []
        buffers = BufferPool()  # one file's spent chunk buffers are the next one's
        for index, path in enumerate(self.paths):
            reader = CaptureReader(path, file_index=index, chunk_size=self.chunk_size,
                                   buffers=buffers)
            try:
                for records in reader:
                    yield ReadProgress(reader.ts_digits, reader.offset)
                    yield records
            except InputError as exc:
                if len(self.paths) == 1:
                    raise
                failures.append(str(exc))
                yield ReadEnd(list(reader.problems), reader.ts_digits,
                              unreadable=Unreadable(reader.display, str(exc)))
                continue
            yield ReadEnd(list(reader.problems), reader.ts_digits)
        if failures and len(failures) == len(self.paths):
            raise InputError(_unreadable(failures))

    def _decoded(self, parcels: Iterator[list[RecordBatch | ReadProgress | ReadEnd]]
                 ) -> Iterator[list[PacketBatch | ReadProgress | ReadEnd]]:
        try:
            for parcel in parcels:
                yield [self.decoder.decode(item) if isinstance(item, RecordBatch) else item
                       for item in parcel]
        finally:
            parcels.close()  # type: ignore[attr-defined]

    @staticmethod
    def empty() -> PacketBatch:
        """No packets: what a capture without records makes, for outputs that still
        need their columns (a CSV header, a Parquet schema)."""
        return PacketBatch.empty(0)

    def _stages(self) -> Iterator[list[PacketBatch | ReadProgress | ReadEnd]]:
        if self.background:
            # one parcel queued ahead of each stage: a parcel holds a chunk's batch and
            # its progress, which were two items of a queue of two (a second parcel
            # cost 11 MB more peak RSS on small-1m for no speed)
            read = Background(self._records(), "portannot-read", depth=PARCELS_AHEAD)
            return Background(self._decoded(read), "portannot-decode", depth=PARCELS_AHEAD)
        return self._decoded(self._records())

    def __iter__(self) -> Iterator[PacketBatch]:
        batches = self._accounted()
        if not self.gather:
            return batches
        return _joined(batches, SMALL_BATCH if self.small_batch is None else self.small_batch)

    def _accounted(self) -> Iterator[PacketBatch]:
        """The decoded batches, each counted in `accounting` as it comes, with what the
        readers met."""
        items = self._take()
        acc = self.accounting
        try:
            for item in (item for parcel in items for item in parcel):
                if isinstance(item, ReadProgress):
                    acc.ts_digits = max(acc.ts_digits, item.ts_digits)
                    acc.read_position = (acc.read_position[0], item.offset)
                    continue
                if isinstance(item, ReadEnd):
                    acc.problems.extend(item.problems)
                    if item.unreadable is not None:
                        acc.unreadable.append(item.unreadable)
                    acc.ts_digits = max(acc.ts_digits, item.ts_digits)
                    acc.read_position = (acc.read_position[0] + 1, 0)
                    continue
                acc.add(item)
                item.ts_digits = acc.ts_digits  # its own, before a later file's can raise it
                yield item
            acc.reading_until = time.monotonic()
        finally:
            items.close()  # type: ignore[attr-defined]


def _unreadable(failures: list[str]) -> str:
    """The one error line when no input could be read: why, for the first FAILURES_NAMED
    of them, and how many more there were (5,000 missing files made a line of 200 kB)."""
    text = "; ".join(failures[:FAILURES_NAMED])
    more = len(failures) - FAILURES_NAMED
    if more > 0:
        text += f"; and {more:,} more {'input' if more == 1 else 'inputs'} that could not be read"
    return text


#: of inputs none of which could be read, how many the error names
FAILURES_NAMED = 20


def _joined(batches: Iterator[PacketBatch], small: int) -> Iterator[PacketBatch]:
    """`batches`, those of fewer than `small` rows joined (in order, across files)
    until they hold GATHERED rows; a larger batch goes on as it is. Batches of different
    timestamp precision are not joined: each keeps the digits its own rows are written
    with (a microsecond file's last rows are not given a nanosecond file's nine)."""
    held: list[PacketBatch] = []
    rows = 0
    # how many of the last batches held are as they came (not yet joined in a run): a
    # batch costs ~3 KB of arrays and objects whatever its rows, so GATHERED one-packet
    # files held apart cost ~200 MB for 4 MB of packets; runs of JOIN_RUN are joined as
    # they come (each row is copied twice at most: in its run, then with the rest)
    loose = 0
    try:
        for batch in batches:
            if held and batch.ts_digits != held[-1].ts_digits:
                yield PacketBatch.join(held)
                held, rows, loose = [], 0, 0
            if len(batch) < small:
                held.append(batch)
                rows += len(batch)
                if rows < GATHERED and not batch.paused:
                    loose += 1
                    if loose == JOIN_RUN:
                        held[-loose:] = [PacketBatch.join(held[-loose:])]
                        loose = 0
                    continue
                batch = PacketBatch.join(held)
            elif held:
                yield PacketBatch.join(held)
            held, rows, loose = [], 0, 0
            yield batch
    finally:
        batches.close()  # type: ignore[attr-defined]
    if held:
        yield PacketBatch.join(held)


def _parcels(items: Iterator[T], least: int) -> Iterator[list[T]]:
    """`items` in lists of at least `least` records (the last one what is left): a
    stage hands the next a parcel, not an item. Each hand-over between threads costs
    tens of microseconds, and a file makes three items (its progress, its batch, its
    end): 8,000 small files took 2.4 s through the stages, 0.6 s read in one thread. A
    failure ends the parcel in hand first, so that nothing read before it is lost."""
    parcel: list[T] = []
    rows = 0
    try:
        for item in items:
            parcel.append(item)
            if isinstance(item, RecordBatch):
                rows += len(item)
                if rows >= least or item.paused:
                    yield parcel
                    parcel, rows = [], 0
    except GeneratorExit:  # closed by the consumer: nobody to hand anything to
        raise
    except BaseException:
        if parcel:
            yield parcel
        raise
    finally:
        items.close()  # type: ignore[attr-defined]
    if parcel:
        yield parcel


#: parcels a stage keeps ready for the next
PARCELS_AHEAD = 1
#: records a parcel gathers (see _parcels): a 4 MiB chunk holds more unless its packets
#: average over 1 KiB
PARCEL_ROWS = 1 << 12
#: batches with fewer rows than this are joined (see PacketStream) ...
SMALL_BATCH = 1 << 12
#: ... until they hold this many
GATHERED = 1 << 16
#: ... and, held for that, joined in runs of this many as they come: of one-packet files,
#: 65,536 batches held apart peaked at 357 MB (`portannot packets` to Parquet, 110 MB for
#: the same packets in one file)
JOIN_RUN = 1 << 8
#: the same for a FlowStream: a flow table pass costs less per batch than a row group or
#: an Arrow conversion does, and joining is a copy of every column. Of 625 files of
#: 1,600 packets, portannot.flows() took 0.22 s joining them, 0.17 s not; `packets`
#: to Parquet took 0.59 -> 0.92 s without the joins (medians of 7 runs)
FLOW_SMALL_BATCH = 1 << 10


@dataclass
class ReadProgress:
    """The timestamp precision known so far (pcapng interfaces may raise it mid-file),
    and how much of its file the batch after it was read from (CaptureReader.offset)."""

    ts_digits: int
    offset: int = 0


@dataclass
class ReadEnd:
    """Marks the end of one file in the decoded stream, with what its reader met."""

    #: the reader's ProblemLog as lines: the first problems, then one per kind counted
    problems: list[ReadProblem]
    ts_digits: int
    #: why the file, one of several inputs, could not be read at all (None if it could)
    unreadable: Unreadable | None = None


class FlowStream(_Stages[FlowColumns]):
    """Flows of one or several captures: iterate for FlowColumns as flows end (all of
    them at the end when no timeout is set).

    The aggregation runs in its own thread, so what the consumer does with each
    piece of flows (Arrow conversion, Parquet encoding: both release the GIL)
    overlaps with orienting the next piece; flows that end together come out in
    pieces of at most DRAIN_PIECE for that reason.
    """

    def __init__(self, paths: Paths, table: ServiceTable, *, idle_timeout: Timeout = None,
                 active_timeout: Timeout = None, chunk_size: int = DEFAULT_CHUNK,
                 background: bool = True, gather: bool = True) -> None:
        self.packets = PacketStream(paths, chunk_size=chunk_size, background=background,
                                    gather=gather, small_batch=FLOW_SMALL_BATCH)
        self.table = table
        self.flows = FlowTable(idle_timeout, active_timeout)
        self.flow_count = 0
        #: the flows there are in all, once the reading has ended (None before): those
        #: handed on and those still in the table, for the progress line
        self.flows_total: int | None = None
        self.background = background

    @property
    def accounting(self) -> Accounting:
        return self.packets.accounting

    @staticmethod
    def empty() -> FlowColumns:
        """No flows, with every column: see PacketStream.empty."""
        return FlowColumns.empty(0)

    def __iter__(self) -> Iterator[FlowColumns]:
        return self._take()

    def _stages(self) -> Iterator[FlowColumns]:
        if self.background:
            return Background(self._columns(), "portannot-flows")
        return self._columns()

    def _columns(self) -> Iterator[FlowColumns]:
        for raw, paused in self._ended():
            last = (len(raw) - 1) // DRAIN_PIECE
            for i, piece in enumerate(raw.pieces(DRAIN_PIECE)):
                self.flow_count += len(piece)
                columns = flow_columns(piece, self.table)
                columns.paused = paused and i == last
                yield columns
            if paused and not len(raw):  # none ended: what the writer holds still goes out
                columns = FlowColumns.empty(0)
                columns.paused = True
                yield columns

    def _ended(self) -> Iterator[tuple[RawFlows, bool]]:
        """Flows as they end, and whether the read paused after the packets that ended
        them (then even none ended is said: what the writer holds goes out)."""
        packets = iter(self.packets)
        try:
            for batch in packets:
                ended = self.flows.update(batch)
                if len(ended) or batch.paused:
                    yield ended, batch.paused
        finally:
            packets.close()  # type: ignore[attr-defined]
        # every flow ended so far is counted: _columns took each piece before asking again
        self.flows_total = self.flow_count + len(self.flows)
        yield self.flows.drain(), False


#: flows oriented and handed on at a time when many end at once. Each piece becomes a
#: Parquet row group, and with the row groups encoded in parallel (output.parquet_parts)
#: five pieces are alive at once (orienting, converting, two encoding, one waiting):
#: flows-1m to Parquet with 131,072 took as long and 61 MB more peak RSS (339 MB
#: against 278), with 32,768 40 MB less but 10 % longer (medians of 16 runs)
DRAIN_PIECE = 1 << 16


def small_files(paths: list[Input]) -> bool:
    """Whether the inputs are many small files (SMALL_FILES_FROM or more, the median of the
    first SIZE_SAMPLE regular ones under SMALL_FILE_BYTES; file objects are not sized)."""
    if len(paths) < SMALL_FILES_FROM:
        return False
    sizes = []
    for path in paths[:SIZE_SAMPLE]:
        if not isinstance(path, str) or path == "-":
            continue
        try:
            st = os.stat(path)
        except (OSError, ValueError):  # ValueError: a NUL in the name, the read says so
            continue
        if stat.S_ISREG(st.st_mode):
            sizes.append(st.st_size)
    if not sizes:
        return False
    sizes.sort()  # the median as statistics.median has it, without its 1.5 ms import
    half = len(sizes) // 2
    return (sizes[half] if len(sizes) % 2 else (sizes[half - 1] + sizes[half]) / 2) < SMALL_FILE_BYTES


#: Of many small files, a PacketStream reads and decodes in its consumer's thread (a
#: FlowStream's flow stage, the command's conversion stage) rather than in stages of their
#: own: each file is a dozen steps of Python in the reading stage (open, stat, sniff,
#: walk) and a few more in the decoding one, and threads taking turns at the
#: interpreter's lock for them spent more than they overlapped. Over mixed-1m cut into
#: files of 50 kB, 200 kB, 500 kB, 1 MB (medians of 4-8 interleaved runs): `portannot
#: flows` 1.96 -> 1.46 s, 0.95 -> 0.70 s, 0.62 -> 0.53 s, and where the stages win again
#: 0.40 s in stages, 0.42 s not; `portannot packets -f parquet` 2.49 -> 1.72 s, -, 0.94 ->
#: 0.75 s, 0.69 against 0.65 s (minima 0.54 against 0.62 s)
SMALL_FILE_BYTES = 768 << 10
#: ... when there are at least this many inputs
SMALL_FILES_FROM = 16
#: ... sized by the median of this many of the first
SIZE_SAMPLE = 32


def converted(stream: PacketStream | FlowStream, convert: Callable[[Any], T]
              ) -> Iterator[tuple[T, int, bool]]:
    """What a stream yields, each item passed through `convert` in a thread of its own,
    with its timestamp precision (a packet batch's own; for flows, the finest of the
    inputs read when the item came) and whether the read paused after it (a live pipe:
    the writer writes it out at once): the consumer writes one
    while the next converts (Arrow conversion and Parquet encoding both release the
    GIL). Close it if it is not iterated to the end."""
    # one converted item ahead of the writer is enough to overlap them; two held 20 MB
    # more of Arrow batches on flows-1m for no speed
    return Background(_converting(stream, convert), "portannot-convert", depth=1)


def _converting(stream: PacketStream | FlowStream, convert: Callable[[Any], T]
                ) -> Iterator[tuple[T, int, bool]]:
    items = iter(stream)
    try:
        for item in items:
            digits = item.ts_digits if isinstance(item, PacketBatch) else stream.accounting.ts_digits
            yield convert(item), digits, item.paused
    finally:
        # now, not when a failure's traceback lets go of this frame: the stages stop here
        items.close()  # type: ignore[attr-defined]
