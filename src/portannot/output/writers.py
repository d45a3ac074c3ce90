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

import errno
import os
import stat
import sys
import tempfile
from typing import BinaryIO

import pyarrow as pa

from portannot.errors import OutputError
from portannot.output.arrays import numbers
from portannot.output.text import epoch_seconds

FORMATS = ("table", "csv", "jsonl", "parquet")


def textual(batch: pa.RecordBatch, ts_digits: int, *, decode: bool = True) -> pa.RecordBatch:
    """Timestamps as epoch seconds at the capture's precision; dictionaries as plain
    text unless `decode` is False."""
    cols, names = [], []
    for name, col in zip(batch.schema.names, batch.columns):
        if pa.types.is_timestamp(col.type):
            col = epoch_seconds(numbers(col), ts_digits)
        elif decode and pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        cols.append(col)
        names.append(name)
    return pa.RecordBatch.from_arrays(cols, names=names)


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
            os.fchmod(fd, _mode_for(self.path))
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


def _mode_for(path: str) -> int:
    """Permission bits for an output file: those of the file it replaces, else what
    open() would create under the process's umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
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


def parquet_encodings(schema: pa.Schema) -> dict:
    """Dictionary pages only where values repeat (the dictionary-typed columns): on
    addresses, ports and times Parquet tries a dictionary, finds it too big and falls
    back, which cost 17 % of the writing and made the file larger. Integers and times
    are delta-encoded (DELTA_BINARY_PACKED, read by every Parquet reader): counters and
    sorted times shrink to their differences before zstd (flows-1m: 0.43 -> 0.29 s,
    27.4 -> 21.9 MB, together).

    Min/max statistics only on numbers and times, where a reader's range filter
    (a time window, a port) can skip row groups. On text they cost 16 % of writing
    flows-1m (Arrow finds the dictionary values each row group uses) and a text
    address's min and max bound almost nothing."""
    numeric = [f.name for f in schema
               if pa.types.is_integer(f.type) or pa.types.is_timestamp(f.type)]
    return {
        "use_dictionary": [f.name for f in schema if pa.types.is_dictionary(f.type)],
        "column_encoding": dict.fromkeys(numeric, "DELTA_BINARY_PACKED"),
        "write_statistics": [f.name for f in schema
                             if f.name in numeric or pa.types.is_floating(f.type)],
    }


#: the formats BatchWriter writes ("table" is the commands' terminal view, not a writer)
WRITER_FORMATS = ("csv", "jsonl", "parquet")


class BatchWriter:
    """Streams record batches to an Output in one format.

    `ts_digits` is how many digits after the point CSV and JSON Lines give times: 9 by
    default, every nanosecond kept; the commands set it to the captures' precision as
    they learn it (6 for microsecond captures). As a context manager it closes the
    format (Parquet's footer) and commits the output when the block ends well, and
    aborts it when the block raises."""

    def __init__(self, fmt: str, output: Output, ts_digits: int = 9) -> None:
        if fmt not in WRITER_FORMATS:
            raise ValueError(f"BatchWriter writes {', '.join(WRITER_FORMATS)}, not {fmt!r}"
                             + (" (the table views are the commands': portannot.cli.flows "
                                "and portannot.cli.packets)" if fmt == "table" else ""))
        self.fmt, self.output, self.ts_digits = fmt, output, ts_digits
        self._writer = None
        self.rows = 0
        if fmt == "parquet":
            # loaded now, while a started stream reads, rather than after the last batch
            import pyarrow.parquet  # noqa: F401

    def write(self, batch: pa.RecordBatch) -> None:
        try:
            self._write(batch)
        except BrokenPipeError:
            raise
        except OSError as exc:
            self.output.abort()
            raise output_error(self.output.path, exc) from None
        self.rows += batch.num_rows

    def _write(self, batch: pa.RecordBatch) -> None:
        if self.fmt == "parquet":
            if self._writer is None:
                import pyarrow.parquet as pq  # each format loads only its own module

                self._writer = pq.ParquetWriter(
                    self.output.stream, batch.schema, compression="zstd",
                    **parquet_encodings(batch.schema),
                )
            self._writer.write_batch(batch)
        elif self.fmt == "csv":
            text = textual(batch, self.ts_digits)
            if self._writer is None:
                import pyarrow.csv as pacsv

                self._writer = pacsv.CSVWriter(self.output.stream, text.schema)
            self._writer.write_batch(text)
        elif self.fmt == "jsonl":
            from portannot.output.jsonl import json_lines

            self.output.stream.write(json_lines(textual(batch, self.ts_digits, decode=False)))

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_exc: object) -> None:
        self.close(exc_type is None)

    def close(self, ok: bool = True) -> None:
        """Finish the format and commit the output (`ok`), or abort it."""
        try:
            if self._writer is not None:
                writer, self._writer = self._writer, None
                writer.close()
            if ok:
                self.output.commit()
            else:
                self.output.abort()
        except BrokenPipeError:
            raise
        except OSError as exc:
            self.output.abort()
            raise output_error(self.output.path, exc) from None
