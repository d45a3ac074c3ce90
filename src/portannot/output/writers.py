"""Writers for CSV, JSON Lines and Parquet: BatchWriter streams Arrow batches to an
Output in one of those formats. (The terminal table views are the commands' own:
portannot.cli.flows and portannot.cli.packets.)

A file output is written under a temporary name beside the target and renamed
into place only when complete, so a failed run (disk full, interrupted) never
leaves a file that looks whole. Text formats go to standard output by default.

    with BatchWriter("parquet", Output("flows.parquet")) as writer:
        for batch in portannot.iter_flows("capture.pcap"):
            writer.write(batch)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
import pyarrow as pa

from portannot.output.arrays import numbers, validity
from portannot.output.files import Output, output_error
from portannot.output.formats import WRITER_FORMATS
from portannot.output.parquet_parts import Part, PartJoiner
from portannot.output.text import epoch_seconds

if TYPE_CHECKING:
    # loaded when a pool is first made: concurrent.futures loads logging, ~4 ms of the
    # start of a command whose Parquet file is one row group (see BatchWriter._encode)
    from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["REPEATED_PORTS", "REPEATED_TEXT", "WRITER_FORMATS", "BatchWriter", "Output", "output_error",
           "MAX_ENCODERS", "parquet_encodings", "parquet_writer", "textual"]


#: field metadata of a text column whose values are JSON numbers: json_lines writes
#: them bare, where other text is quoted
JSON_NUMBER = {b"portannot.json": b"number"}


def textual(batch: pa.RecordBatch, ts_digits: int, *, decode: bool = True) -> pa.RecordBatch:
    """Timestamps as epoch seconds at the capture's precision; a flow's `duration` as
    plain decimal seconds at the same precision (see duration_text); dictionaries as
    plain text unless `decode` is False."""
    fields, cols = [], []
    for field, column in zip(batch.schema, batch.columns):
        col: Any = column  # a DictionaryArray, a timestamp or float column, or any other
        if pa.types.is_timestamp(col.type):
            col = epoch_seconds(numbers(col), ts_digits)
        elif field.name == "duration" and pa.types.is_floating(col.type):
            col = duration_text(batch, ts_digits)
            field = pa.field(field.name, pa.string(), field.nullable, JSON_NUMBER)
        elif decode and pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        fields.append(pa.field(field.name, col.type, field.nullable, field.metadata))
        cols.append(col)
    return pa.RecordBatch.from_arrays(cols, schema=pa.schema(fields))


def duration_text(batch: pa.RecordBatch, ts_digits: int) -> pa.Array[Any]:
    """The `duration` column (float64 seconds) as decimal text with `ts_digits` fraction
    digits, as the times it spans are written: "0.000000002", where the float's own text
    was 2e-9, and "1.000000", not 1. Exact: taken from the batch's first_ts and last_ts
    nanoseconds when it has them (a float64 of seconds holds whole nanoseconds only up
    to about 2^51 ns, 26 days), else from the float rounded to the nanosecond."""
    names = batch.schema.names
    if "first_ts" in names and "last_ts" in names:
        first, last = batch.column("first_ts"), batch.column("last_ts")
        if first.null_count == last.null_count == 0 and pa.types.is_timestamp(first.type) \
                and first.type == last.type and first.type.unit == "ns":
            return epoch_seconds(numbers(last) - numbers(first), ts_digits)
    # a batch of chosen columns without the times: from the float, read off its buffers
    # (to_numpy would load pandas); a value that is not a finite int64 of nanoseconds
    # (null, NaN, 1e10 s) is null
    col = batch.column("duration").cast(pa.float64())
    end = col.offset + len(col)
    bitmap_buffer, data_buffer = col.buffers()
    seconds = np.frombuffer(memoryview(_present(data_buffer)), np.float64, count=end)[col.offset:]
    valid = np.isfinite(seconds) & (np.abs(seconds) < 9e9)
    if col.null_count:
        bits = np.frombuffer(memoryview(_present(bitmap_buffer)), np.uint8)
        valid &= np.unpackbits(bits, count=end, bitorder="little")[col.offset:].astype(bool)
    ns = np.where(valid, np.round(np.where(valid, seconds, 0.0) * 1e9), 0).astype(np.int64)
    _, offsets, data = epoch_seconds(ns, ts_digits).buffers()
    bitmap, nulls = validity(valid)
    return pa.StringArray.from_buffers(len(ns), _present(offsets), _present(data), bitmap,
                                       null_count=nulls)


def _present(buffer: pa.Buffer | None) -> pa.Buffer:
    """An Arrow buffer that the array's layout has (a float column's data, a string
    column's offsets; the validity bitmap where nulls are counted); None only for a
    bitmap of no nulls, which the callers do not ask for."""
    if buffer is None:
        raise ValueError("an Arrow array without the buffer its type has")
    return buffer


#: text columns whose values repeat row after row: a packet's addresses (a flow's
#: packets share them) and a flow's responder (a server answers many flows). Dictionary
#: pages there made writing faster and the file smaller: `portannot packets` to Parquet
#: on mixed-1m 0.76 -> 0.71 s, 72 -> 60 MB, on small-5m 1.67 -> 1.56 s; `flows` on
#: flows-1m 0.74 -> 0.73 s, 21.3 -> 20.3 MB (medians of interleaved runs). Not a flow's
#: originator: in flows-1m nearly every flow has its own (965,129 of 965,129), and there
#: the dictionary cost 0.05 s more writing and a larger file.
REPEATED_TEXT = frozenset({"src_addr", "dst_addr", "resp_addr"})

#: port columns whose values repeat likewise: a flow's responder port and its service
#: port (a server's few ports answer many flows). Dictionary pages there (at most 65,536
#: values, 256 kB: never the fallback to plain) took less writing than the delta
#: encoding and made the columns a third as large: flows-1m 1.65 -> 0.46 MB and
#: 1.61 -> 0.47 MB, the file 20.1 -> 17.8 MB. Not an originator's port (mostly
#: ephemeral: there the dictionary cost more and grew the column, 1.99 -> 2.71 MB), nor
#: a packet's (both ends in turn: the same time on mixed-1m).
REPEATED_PORTS = frozenset({"resp_port", "service_port"})


def parquet_encodings(schema: pa.Schema) -> dict[str, Any]:
    """Dictionary pages only where values repeat (the dictionary-typed columns,
    REPEATED_TEXT and REPEATED_PORTS): on other ports, times and text, Parquet tries a
    dictionary, finds it too big and falls back, which cost 17 % of the writing and
    made the file larger. Other integers and times are delta-encoded (DELTA_BINARY_PACKED,
    read by pyarrow, DuckDB and polars; fastparquet 2026.9 misreads steps past 32 bits): counters and sorted times shrink to their
    differences before zstd (flows-1m: 0.43 -> 0.29 s, 27.4 -> 21.9 MB, together).

    Min/max statistics only on numbers and times, where a reader's range filter
    (a time window, a port) can skip row groups. On text they cost 16 % of writing
    flows-1m (Arrow finds the dictionary values each row group uses) and a text
    address's min and max bound almost nothing."""
    numeric = [f.name for f in schema
               if pa.types.is_integer(f.type) or pa.types.is_timestamp(f.type)]
    repeated = REPEATED_TEXT | REPEATED_PORTS
    return {
        "use_dictionary": [f.name for f in schema
                           if pa.types.is_dictionary(f.type) or f.name in repeated],
        "column_encoding": dict.fromkeys([n for n in numeric if n not in repeated],
                                         "DELTA_BINARY_PACKED"),
        "write_statistics": [f.name for f in schema
                             if f.name in numeric or pa.types.is_floating(f.type)],
    }


#: what pyarrow.parquet.ParquetWriter gives its engine when not told otherwise
PARQUET_DEFAULTS = {"version": "2.6", "writer_engine_version": "V2", "data_page_version": "1.0"}


def _engine() -> Any:
    """pyarrow's Parquet engine class (pyarrow._parquet.ParquetWriter), or None where
    pyarrow has none: then pyarrow.parquet, imported here, writes (parquet_writer)."""
    try:
        from pyarrow._parquet import ParquetWriter
    except ImportError:
        import pyarrow.parquet  # noqa: F401
        return None
    return ParquetWriter


def parquet_writer(sink: Any, schema: pa.Schema, **options: Any) -> Any:
    """pyarrow.parquet.ParquetWriter's engine, made as that class makes it, without
    importing pyarrow.parquet: that module loads pyarrow.fs (ssl, the cloud filesystems),
    13 ms of single-core start-up that a command spent beside its reading threads
    (mixed-1m to Parquet: 0.255 -> 0.245 s, medians of 20 interleaved runs). The
    wrapper adds only the filesystem paths a file object does not need and a schema
    check the engine makes too. A pyarrow whose engine takes other arguments gets the
    wrapper; tests/output/test_writers.py holds the two files byte for byte equal."""
    engine = _engine()
    if engine is not None:
        try:
            return engine(sink, schema, **PARQUET_DEFAULTS, **options)
        except TypeError:
            pass
    import pyarrow.parquet as pq

    return pq.ParquetWriter(sink, schema, **options)


#: Parquet row groups or pieces of text the commands make at once, at most (one a core
#: up to this): each holds its rows (a piece of flows, DRAIN_PIECE, is 10 MB of Arrow)
#: and its encoder's buffers, and beyond a few the threads making the rows cannot keep
#: more of them busy
MAX_ENCODERS = 4


def _encoded(batches: list[pa.RecordBatch], schema: pa.Schema, options: dict[str, Any]
             ) -> memoryview:
    """One row group as a Parquet file in memory (a part: see output.parquet_parts)."""
    sink = pa.BufferOutputStream()
    writer = parquet_writer(sink, schema, **options)
    writer.write_table(pa.Table.from_batches(batches), row_group_size=1 << 62)
    writer.close()
    return memoryview(sink.getvalue())


#: rows of CSV or JSON Lines made at a time in the pool: a piece of flows (DRAIN_PIECE,
#: 64 k) made whole was 11 MB of CSV, 29 MB of JSON Lines, with its text columns beside
TEXT_ROWS = 1 << 14


def _csv_text(batch: pa.RecordBatch, ts_digits: int, header: bool) -> pa.Buffer:
    """A batch as CSV, as pyarrow's CSVWriter writes it (the header only if asked)."""
    import pyarrow.csv as pacsv

    sink = pa.BufferOutputStream()
    pacsv.write_csv(textual(batch, ts_digits), sink,
                    write_options=pacsv.WriteOptions(include_header=header))
    return sink.getvalue()


def _jsonl_text(batch: pa.RecordBatch, ts_digits: int, _header: bool) -> memoryview:
    from portannot.output.jsonl import json_lines

    return json_lines(textual(batch, ts_digits, decode=False))


#: rows a Parquet row group gathers before it is written (a group is written once it
#: has at least this many; what ends the read ends the last one). Larger groups cost
#: the overlap of encoding with reading: small-1m's packets, in 52,000-row batches,
#: took 10 % longer and 11 MB more gathered by 131,072
ROW_GROUP_ROWS = 1 << 15


#: what BatchWriter uses of its output (an output.Output, or a stand-in with these)
_OUTPUT_ATTRIBUTES = ("stream", "path", "commit", "abort")


class BatchWriter:
    """Streams record batches to an Output in one format.

    `ts_digits` is how many digits after the point CSV and JSON Lines give times: 9 by
    default, every nanosecond kept; the commands set it to the captures' precision as
    they learn it (6 for microsecond captures). As a context manager it closes the
    format (Parquet's footer) and commits the output when the block ends well, and
    aborts it when the block raises.

    `metadata` (see portannot.output.provenance) goes into a Parquet file's schema;
    CSV and JSON Lines have nowhere to keep it.

    `encoders` above 1 makes that many batches' output at once, each in a thread of its
    own: Parquet row groups as parts joined under one footer (output.parquet_parts), CSV
    and JSON Lines as text written in order. The same file, byte for byte, sooner when
    many rows come at once (flows-1m's million flows at the end of the read)."""

    def __init__(self, fmt: str, output: Output, ts_digits: int = 9,
                 metadata: dict[bytes, bytes] | None = None, encoders: int = 1) -> None:
        if not all(hasattr(output, name) for name in _OUTPUT_ATTRIBUTES):
            # a path, as pyarrow's writers take, failed at the first write as "'str'
            # object has no attribute 'stream'", then at the abort as "... 'abort'"
            raise TypeError(f"BatchWriter writes to an output.Output, not "
                            f"{type(output).__name__}: give Output(path) (force=True to "
                            "replace a file), or Output(None) for standard output")
        if fmt not in WRITER_FORMATS:
            # the writer owns its output (close commits or aborts it): refused, it aborts
            # it too, or Output's temporary, opened before this call, stayed for good
            output.abort()
            raise ValueError(f"BatchWriter writes {', '.join(WRITER_FORMATS)}, not {fmt!r}"
                             + (" (the table views are the commands': portannot.cli.flows "
                                "and portannot.cli.packets)" if fmt == "table" else ""))
        self.fmt, self.output, self.ts_digits = fmt, output, ts_digits
        self.metadata = metadata
        self._writer: Any = None  #: pyarrow's CSV or Parquet writer, made at the first batch
        #: the first batch's schema: every later batch has its columns (_check_columns)
        self._columns: pa.Schema | None = None
        self.rows = 0
        self.closed = False  #: close() has run: the output is committed or aborted
        #: Parquet: batches not yet written, and their rows (see ROW_GROUP_ROWS)
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self.encoders = max(1, encoders)
        #: Parquet in parts: the writer's schema and settings, the parts being encoded
        #: (oldest first), the joiner writing the finished ones
        self._parquet: tuple[pa.Schema, dict[str, Any]] | None = None
        self._parts: deque[tuple[Future[memoryview] | _Done[memoryview],
                                 list[pa.RecordBatch] | None]] = deque()
        self._pool: ThreadPoolExecutor | None = None
        self._joiner: PartJoiner | None = None
        #: CSV and JSON Lines made in the pool (encoders above 1), oldest first
        self._texts: deque[Future[Any]] = deque()
        self._text_begun = False
        if fmt == "parquet":
            # loaded now, while a started stream reads, rather than after the last batch
            try:
                _engine()
            except BaseException:
                output.abort()
                raise

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Write one batch, or a Table as its batches in order (what portannot.flows()
        returns: it failed deep inside, on a ChunkedArray). A write that fails (disk
        full) aborts the output, so that no partial file stays behind, and is an
        OutputError naming it; a broken pipe stays one, for the command to say the
        reader went away."""
        if isinstance(batch, pa.Table):
            # a table of no rows has no batches, but its columns: written as a batch of
            # none, they make the CSV header and the Parquet schema, where nothing was
            # written before (a 0-byte .parquet, which no reader opens)
            for piece in batch.to_batches() or [pa.RecordBatch.from_pylist([], batch.schema)]:
                self.write(piece)
            return
        if not isinstance(batch, pa.RecordBatch):
            raise TypeError(f"BatchWriter.write takes a pyarrow RecordBatch or Table, not "
                            f"{type(batch).__name__}")
        self._check_open("write")
        self._check_columns(batch.schema)
        with self._failing_aborts():
            self._write(batch)
        self.rows += batch.num_rows

    def _check_open(self, call: str) -> None:
        """A ValueError for rows given once the output is finished: after close() they
        went to standard output as a second file (a second CSV header, a second Parquet
        file behind the first), and to a file as 'I/O operation on closed file'."""
        if self.closed or getattr(self.output, "finished", False):
            raise ValueError(f"BatchWriter.{call}() after its output was closed (close(), "
                             "the end of its with block, or a failed write): one writer "
                             "writes one file; make a new BatchWriter and Output")

    def drain(self) -> None:
        """Write every row given so far: the Parquet rows held back for a row group, and
        the row groups and pieces of text still being made in the pool. What close()
        then does is bounded (a footer, the output's commit), where this grows with the
        rows: the commands run it where a Ctrl-C interrupts (app.interruptible). A
        failed write fails as in write()."""
        self._check_open("drain")
        with self._failing_aborts():
            if self._writer is not None or self._parquet is not None:
                self._write_pending(last=True)
            if self._joiner is not None:
                self._join_parts(keep=0)
            self._write_texts(keep=0)

    def flush(self) -> None:
        """Write out the rows given so far where the format can (the CSV and JSON Lines
        text still being made), and flush the output's stream: a live capture's rows
        reach its reader as the capture pauses. Parquet's rows wait for their row group,
        as a Parquet file is read only once whole. A failed write fails as in write()."""
        self._check_open("flush")
        with self._failing_aborts():
            self._write_texts(keep=0)
            if self.fmt != "parquet":
                self.output.stream.flush()

    @contextmanager
    def _failing_aborts(self) -> Iterator[None]:
        """An OSError of the writing aborts the output and is the OutputError naming it;
        a broken pipe stays one."""
        try:
            yield
        except BrokenPipeError:
            raise
        except OSError as exc:
            self.output.abort()
            raise output_error(self.output.path, exc, whole=_whole(self.output)) from None

    def _check_columns(self, schema: pa.Schema) -> None:
        """A ValueError for a batch whose columns (names and types; metadata may differ)
        are not the first batch's: the file is one table. pyarrow's CSVWriter crashed the
        process on flows' rows after packets', wrote them under the other header the
        other way round, and Parquet failed only when the block ended."""
        first = self._columns
        if first is None:
            self._columns = schema
            return
        if schema.names == first.names and schema.types == first.types:
            return
        if schema.names != first.names:
            said = (f"columns ({', '.join(schema.names)}) where the first batch had "
                    f"({', '.join(first.names)})")
        else:
            said = "columns of other types: " + ", ".join(
                f"{f.name} {f.type}, was {g.type}" for f, g in zip(schema, first)
                if f.type != g.type)
        raise ValueError(f"BatchWriter: a batch of {said}; one writer writes one table")

    def _write(self, batch: pa.RecordBatch) -> None:
        if self.fmt == "parquet":
            if self._writer is None and self._parquet is None:
                schema = batch.schema
                if self.metadata:
                    schema = schema.with_metadata({**(schema.metadata or {}), **self.metadata})
                options = {"compression": "zstd", **parquet_encodings(batch.schema)}
                if self.encoders > 1:
                    self._parquet = schema, options
                else:
                    self._writer = parquet_writer(self.output.stream, schema, **options)
            self._pending.append(batch)
            self._pending_rows += batch.num_rows
            if self._pending_rows >= ROW_GROUP_ROWS:
                self._write_pending()
        elif self.encoders > 1:
            self._submit_text(batch)
        elif self.fmt == "csv":
            text = textual(batch, self.ts_digits)
            if self._writer is None:
                import pyarrow.csv as pacsv

                self._writer = pacsv.CSVWriter(self.output.stream, text.schema)
            self._writer.write_batch(text)
        elif self.fmt == "jsonl":
            self.output.stream.write(_jsonl_text(batch, self.ts_digits, False))

    def _submit_text(self, batch: pa.RecordBatch) -> None:
        """A batch's CSV or JSON Lines made in a thread of the pool; the texts are written
        in order as they are done (_write_texts), at most `encoders` in the making. The
        header is the first text's, as pyarrow's CSVWriter writes it once."""
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self.encoders, thread_name_prefix="portannot-text")
        make = _csv_text if self.fmt == "csv" else _jsonl_text
        for start in range(0, max(1, batch.num_rows), TEXT_ROWS):
            piece = batch.slice(start, TEXT_ROWS)
            self._texts.append(self._pool.submit(make, piece, self.ts_digits,
                                                 not self._text_begun))
            self._text_begun = True
            self._write_texts(keep=self.encoders)

    def _write_texts(self, keep: int) -> None:
        while self._texts and (len(self._texts) > keep or self._texts[0].done()):
            self.output.stream.write(self._texts.popleft().result())

    def _write_pending(self, last: bool = False) -> None:
        """The batches held back, as one row group. Each batch was a row group of its own:
        a capture's worth of 4 MiB chunks (6,500 packets each on mixed-1m), a few flows at
        a time under a timeout, and one group per input file, 8,000 of them for 8,000
        small files (15 s and 365 MB to write 400,000 packets, the footer alone listing
        every column of every group). `last`: no rows come after these (drain, close)."""
        pending, self._pending, self._pending_rows = self._pending, [], 0
        if not pending:
            return
        if self._parquet is None:
            self._writer.write_table(pa.Table.from_batches(pending), row_group_size=1 << 62)
            return
        if self._joiner is None:
            self._joiner = PartJoiner(self.output.stream)
        future = self._encode(pending, last)
        # the rows are kept until a part has joined: see _join_parts
        self._parts.append((future, None if self._joiner.position else pending))
        # no more parts in the making than there are encoders
        self._join_parts(keep=self.encoders)

    def _encode(self, pending: list[pa.RecordBatch], last: bool
                ) -> Future[memoryview] | _Done[memoryview]:
        """A part in the making: in the pool, or, when it is the last and no pool has been
        made (a file of one row group: mixed-1m's 25 k flows, any small capture's), here,
        where the caller would only wait for it. Then no pool, no threads and no
        concurrent.futures (which loads logging): the same part, byte for byte."""
        assert self._parquet is not None
        if last and self._pool is None:
            return _Done(_encoded, pending, *self._parquet)
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self.encoders, thread_name_prefix="portannot-parquet")
        return self._pool.submit(_encoded, pending, *self._parquet)

    def _join_parts(self, keep: int) -> None:
        """Write the finished parts, in order, until at most `keep` remain. Should the
        first part's footer not read (a pyarrow whose footer holds what thrift_compact
        does not know), nothing has been written yet: the rows go to one writer."""
        assert self._joiner is not None
        while self._parts and (len(self._parts) > keep or self._parts[0][0].done()):
            future, _ = self._parts[0]
            try:
                part = Part.of(future.result())
            except ValueError:
                if self._joiner.position:
                    raise
                self._write_unjoined()
                return
            self._parts.popleft()
            self._joiner.add(part)

    def _one_writer(self) -> Any:
        """One pyarrow writer of the whole file after all, on the output, with the settings
        the parts were encoded with."""
        assert self._parquet is not None
        schema, options = self._parquet
        return parquet_writer(self.output.stream, schema, **options)

    def _write_unjoined(self) -> None:
        """The parts' rows, not yet written, through one writer instead of in parts."""
        self._writer = self._one_writer()
        parts, self._parts = self._parts, deque()
        self._stop_parts()
        for _, batches in parts:
            assert batches is not None  # kept: no part has joined
            self._writer.write_table(pa.Table.from_batches(batches), row_group_size=1 << 62)

    def _finish_parts(self) -> None:
        """The parts still encoding, then the footer; a Parquet file with no row group
        (a schema alone) as one writer writes it."""
        if self._joiner is None:
            self._one_writer().close()
            return
        joiner = self._joiner
        self._join_parts(keep=0)
        if self._writer is None:  # not written by one writer after all: _join_parts
            joiner.finish()

    def _stop_parts(self) -> None:
        """The pool stopped (what it is making waited for, what it has not begun
        dropped): the parts' and the texts'."""
        pool, self._pool, self._parquet, self._joiner = self._pool, None, None, None
        self._texts.clear()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_exc: object) -> None:
        self.close(exc_type is None)

    def close(self, ok: bool = True) -> None:
        """Finish the format and commit the output (`ok`), or abort it. Whatever fails on
        the way (not only an OSError: an encoder's ArrowInvalid, a KeyboardInterrupt)
        aborts the output before it is raised, so no temporary outlives the call. Once
        it has run, closing again does nothing."""
        if self.closed:
            return
        self.closed = True
        try:
            try:
                if ok and (self._writer is not None or self._parquet is not None):
                    self._write_pending(last=True)
                    if self._parquet is not None:  # still in parts
                        self._finish_parts()
                if ok:
                    self._write_texts(keep=0)
                if self._writer is not None:
                    writer, self._writer = self._writer, None
                    writer.close()
            finally:
                self._stop_parts()
            if ok:
                self.output.commit()
            else:
                self.output.abort()
        except BaseException as exc:
            self.output.abort()
            if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
                # a broken pipe stays one, for the command to say the reader went away
                raise output_error(self.output.path, exc, whole=_whole(self.output)) from None
            raise


T = TypeVar("T")


class _Done(Generic[T]):
    """A call made at once, answering as the pool's finished Future does: its result,
    or its exception raised where the result is asked for (BatchWriter._encode)."""

    def __init__(self, func: Callable[..., T], *args: Any) -> None:
        self._error: Exception | None = None
        try:
            self._value: T | None = func(*args)
        except Exception as exc:  # noqa: BLE001 - raised by result(), as Future's is
            self._value, self._error = None, exc

    def done(self) -> bool:
        return True

    def result(self) -> T:
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


def _whole(output: Output) -> bool:
    """Whether `output` is written whole or not at all (Output.whole); an output-like
    object without the attribute is taken as one, as every file output is."""
    return getattr(output, "whole", True)
