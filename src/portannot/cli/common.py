"""What the capture sub-commands share: inputs, output options, progress, the ending, and
the whole run of a command that gives rows (run_rows: flows, packets)."""

from __future__ import annotations

import functools
import gc
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn, TypeVar, overload

import click

from portannot.cli.app import PathText, check_streams, interruptible, reading_ended, warn
from portannot.cli.progress import Frames, Line, drawable
from portannot.errors import BrokenPipeOutput, ExitCode, InputError
from portannot.output.formats import (
    OUTPUT_FORMATS,
    compression_refusal,
    name_refusal,
    output_compression,
    resolve_format,
)
from portannot.registry import load_table

if TYPE_CHECKING:
    import pyarrow as pa

    from portannot.accounting import Accounting
    from portannot.aggregate.rules import FlowColumns
    from portannot.decode.columns import PacketBatch
    from portannot.output.files import Output
    from portannot.pipeline import FlowStream, PacketStream
    from portannot.registry import ServiceTable

T = TypeVar("T")
S = TypeVar("S", "FlowStream", "PacketStream")


def capture_inputs(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the FILE... arguments (captures, "-" for standard input) and --files-from to a
    command, which gets both as one tuple of inputs: those given, then those listed."""

    @click.argument("inputs", nargs=-1, metavar="FILE...")
    @click.option("--files-from", "files_from", metavar="LIST",
                  type=PathText(dir_okay=True, allow_dash=True, path_type=str),
                  help="Also read the captures listed in LIST, one path a line, after any "
                  "FILE ('-': the list on standard input): more files than a command line "
                  "holds, e.g. `find DIR -name '*.pcap' | sort | portannot flows "
                  "--files-from -`.")
    @functools.wraps(func)
    def command(*args: Any, inputs: tuple[str, ...], files_from: str | None,
                **kwargs: Any) -> Any:
        if files_from == "-" and "-" in inputs:
            raise click.UsageError(STDIN_TWICE)
        if files_from is not None:
            inputs = (*inputs, *listed_inputs(files_from))
        if not inputs:
            raise click.UsageError("Missing argument 'FILE...'" + (
                " (the --files-from list names none)" if files_from is not None else ""))
        return func(*args, inputs=inputs, **kwargs)

    return command


def listed_inputs(files_from: str) -> list[str]:
    """The paths a --files-from list names, in order: one a line, as `find` prints them
    (a line is a whole path, spaces and all; empty lines are skipped; bytes a file system
    allows but UTF-8 does not come back as they were, os.fsdecode's escapes). "-" reads
    the list from standard input, which then is no capture's."""
    from portannot.capture.source import STDIN_NAME, stdin_bytes

    if "\0" in files_from:
        from portannot.printable import nul_in_name

        raise InputError(f"--files-from {nul_in_name(files_from)}")
    name = STDIN_NAME if files_from == "-" else files_from
    try:
        if files_from == "-":
            try:
                stream = stdin_bytes()
            except InputError as exc:
                raise InputError(f"--files-from: {exc}") from None
            lines = _list_lines(stream, name)
        else:
            with open(files_from, "rb") as f:
                lines = _list_lines(f, name)
    except OSError as exc:
        raise InputError(f"--files-from {name}: {exc.strerror or exc}") from None
    paths = [os.fsdecode(line.removesuffix(b"\r")) for line in lines]
    paths = [p for p in paths if p]
    if files_from == "-" and "-" in paths:
        raise click.UsageError(STDIN_TWICE)
    return paths


STDIN_TWICE = "standard input ('-') holds the --files-from list: it cannot be a capture too"


def _list_lines(stream: BinaryIO, name: str) -> list[bytes]:
    """The lines of a --files-from list, read a piece at a time. Read whole, an endless
    list with no newline (`--files-from /dev/zero`) took memory until a MemoryError
    traceback, or the machine's memory: a line as long as PATH_MAX, which no path can
    be, now ends the read as a list that cannot be read, wherever the pieces fall. A
    capture given as the list (hundreds of "paths" of binary in one long warning) is
    said to be one."""
    lines: list[bytes] = []
    rest = b""
    first = True
    while piece := stream.read(LIST_PIECE):
        if first and _binary_capture(piece):
            raise InputError(f"--files-from {name}: a capture (or a compressed file), not a "
                             "list of paths: give it as FILE")
        first = False
        *whole, rest = (rest + piece).split(b"\n")
        if max(map(len, whole), default=0) >= PATH_MAX or len(rest) >= PATH_MAX:
            at = next((i for i, line in enumerate(whole) if len(line) >= PATH_MAX),
                      len(whole))  # else rest, whose line goes on past the piece
            raise InputError(f"--files-from {name}: line {len(lines) + at + 1} is longer "
                             f"than any path ({PATH_MAX} bytes or more): not a list of paths")
        lines += whole
    return [*lines, rest]


def _binary_capture(head: bytes) -> bool:
    """Whether a list's first bytes are a capture's or a compressed file's. Each of their
    magic numbers holds bytes no path of text begins with, but bzip2's "BZh": that one
    counts only with the digit and the block (or end) magic after it."""
    from portannot.capture import pcap, pcapng
    from portannot.capture.compression import COMPRESSIONS

    if head.startswith(b"BZh"):
        return head[3:4].isdigit() and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90")
    return pcap.sniff(head) or pcapng.sniff(head) or head.startswith(tuple(COMPRESSIONS))


#: what _list_lines reads at once
LIST_PIECE = 1 << 16
#: the longest a path given to the system can be, with its NUL (Linux's PATH_MAX): a
#: longer one is refused by every call (ENAMETOOLONG)
PATH_MAX = 4096


def output_options(default_format: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add --format, --output, --force and --quiet to a command that writes rows."""
    def deco(func: Callable[..., Any]) -> Callable[..., Any]:
        func = click.option("--quiet", "-q", is_flag=True, help="No progress line (shown on a terminal).")(func)
        func = click.option("--force", is_flag=True, help="Replace an existing output file.")(func)
        func = click.option("-o", "--output", type=PathText(dir_okay=True, path_type=str),
                            help="Output file (default: standard output; Parquet there only when it is a "
                            "pipe or a file, not a terminal). A name ending .gz, .bz2, .xz, .zst "
                            "or .lz4 is written so compressed: CSV or JSON Lines, as the name "
                            "before it says (flows.csv.gz) or -f.")(func)
        func = click.option("-f", "--format", "fmt", type=click.Choice(OUTPUT_FORMATS),
                            help=f"Output format. Default: as the -o file's name ends (.csv, "
                            f".jsonl or .ndjson, .parquet or .pq, a compression suffix set "
                            f"aside), else {default_format}; a name of a data format not written, "
                            f".json, .tsv, .xlsx, .arrow and the like, is refused.")(func)
        return func
    return deco


@overload
def with_progress(stream: PacketStream, quiet: bool,
                  verb: str = ...) -> Iterator[PacketBatch]: ...
@overload
def with_progress(stream: FlowStream, quiet: bool,
                  verb: str = ...) -> Iterator[FlowColumns]: ...
@overload
def with_progress(stream: FlowStream | PacketStream, quiet: bool, verb: str = ..., *,
                  items: Iterable[T]) -> Iterator[T]: ...
def with_progress(stream: FlowStream | PacketStream, quiet: bool, verb: str = "writing", *,
                  items: Iterable[Any] | None = None) -> Iterator[Any]:
    """Pass `stream`'s items through (or `items`, made from it: rows converted on the
    way), showing how far `stream`'s reading is on stderr when it is a
    terminal (one that can move its cursor back: not TERM=dumb; see progress.drawable);
    once it has ended, `verb` and the flows there are ("writing 96,492 flows": `flows`
    writes them all then) beside the packets read and the rate they were read at.

    The line is drawn from the accounting by a thread of its own (progress.Line, 10
    frames a second), not when an item passes: `flows` without timeouts hands on
    nothing until the end. Starting to read also ends start-up for the collector (see
    app.console): the imported modules' objects are frozen out of its scans, and
    collection resumes. Its end, however it comes, holds a Ctrl-C (app.reading_ended)
    until the rows still to be written are (app.interruptible)."""
    items = _reading(stream if items is None else items)
    fd = None if quiet else drawable(sys.stderr)
    if fd is None:
        yield from items
        return
    line = Line(fd, Frames(stream.accounting, functools.partial(_after_reading, stream, verb)),
                getattr(sys.stderr, "encoding", None) or "utf-8")
    line.start()
    ended = False
    try:
        yield from items
        ended = True
    finally:
        line.stop(last=ended)


def _after_reading(stream: FlowStream | PacketStream, verb: str) -> str:
    """What the command does once its reading has ended: `verb`, and of flows how many."""
    from portannot.output.plural import counted

    total = getattr(stream, "flows_total", None)
    return verb if total is None else f"{verb} {counted(total, 'flow')}"


@contextmanager
def reading(stream: S) -> Iterator[S]:
    """Start the stream reading at once, so that what the command still has to import
    (the output side: pyarrow is a quarter of the start-up) overlaps the first batches;
    stop its threads however the command ends."""
    stream.start()
    try:
        yield stream
    finally:
        stream.close()


@contextmanager
def watching_output(out: Output | None, accounting: Accounting) -> Iterator[None]:
    """While the inputs are read and the rows written: where they go (standard output, or
    a FIFO given to -o, written in place) is watched when it is a pipe
    (capture.source.watch_output), so that its reader gone (`| head -1` has its line)
    ends a wait on a live capture gone quiet with the broken pipe's exit 5, as the next
    write would, instead of waiting for the capture's next packet; and when a broken pipe
    ends the command, the damage met so far is still reported on standard error before
    the broken pipe's line: `summary a.pcap missing.pcap | head -1` said only that."""
    from portannot.capture.source import watch_output

    target = out.stream if out is not None and out.path is not None else sys.stdout
    try:
        fd = target.fileno()
    except (AttributeError, OSError, ValueError):  # None, no descriptor (a test's, zstd's)
        fd = None
    try:
        with watch_output(fd):
            yield
    except (BrokenPipeError, BrokenPipeOutput):
        for line in accounting.warnings():
            warn(line)
        raise


@contextmanager
def output_file(fmt: str, output: str | None, force: bool) -> Iterator[Output | None]:
    """Where the rows go, opened before the command starts reading, so that a refusal
    (an existing file without --force, a missing directory, Parquet to a terminal) fails
    before any of a capture is read: the refused command costs nothing. A file is
    written as Output writes one (in place only once whole; compressed when its name
    ends .gz, .zst and the like): committed when the block ends well, removed when it
    raises. None: the table view to standard output, which
    prints through the console. Output is light (no pyarrow), so opening it first does
    not delay the reading."""
    if fmt == "table" and output in (None, "-"):
        yield None
        return
    from portannot.output.files import Output, output_error

    out = Output(output, force=force, binary_ok=fmt != "parquet",
                 compression=output_compression(output))
    try:
        yield out
    except OSError as exc:
        out.abort()
        if isinstance(exc, BrokenPipeError):
            raise
        raise output_error(out.path, exc, whole=out.whole) from None
    except BaseException:
        out.abort()
        raise
    out.commit()


def refuse_an_input_as_output(inputs: tuple[str, ...], output: str | None) -> None:
    """Refuse an -o file that is one of the inputs (the same file, by any name; "-"
    when standard input is it): with --force it was replaced by the rows read from it,
    the capture gone; without, the refusal said to use --force. Only an existing regular
    file can be one, so an output that does not exist yet costs one stat. Standard
    output (None, "-") redirected into an input (`>> x.pcap`) is refused the same way:
    the rows were appended to the capture read, as `cat x >> x` is refused."""
    import stat

    from portannot.errors import OutputError

    to_stdout = output in (None, "-")
    try:
        out = os.fstat(1) if to_stdout else os.stat(output)  # type: ignore[arg-type]
    except (OSError, ValueError):
        return
    if not stat.S_ISREG(out.st_mode):
        return  # a device, a FIFO: written in place, as README says
    shown_out = "standard output" if to_stdout else output
    fix = "redirect it to another file" if to_stdout else "give another output file"
    for name in inputs:
        try:
            st = os.fstat(0) if name == "-" else os.stat(name)
        except (OSError, ValueError):
            continue  # the reading reports it
        if (st.st_dev, st.st_ino) == (out.st_dev, out.st_ino):
            shown = "standard input" if name == "-" else name
            raise OutputError(f"{shown_out}: is an input too ({shown}); {fix}")


def write_stream(stream: FlowStream | PacketStream, to_batch: Callable[[Any], Any], fmt: str,
                 out: Output, quiet: bool, metadata: dict[bytes, bytes] | None = None) -> None:
    """Write what a stream yields, each item made a record batch by `to_batch` (in a
    thread of its own, overlapping the writing), in `fmt` to `out` (opened by
    output_file; a file is only put in place once all of it is written), with
    `metadata` (output.provenance) where the format keeps it."""
    from portannot.cores import usable_cores
    from portannot.output.writers import MAX_ENCODERS, BatchWriter
    from portannot.pipeline import converted

    writer = BatchWriter(fmt, out, metadata=metadata,
                         encoders=min(usable_cores(), MAX_ENCODERS))
    # rows streaming to the terminal the progress line is drawn on would splice into it;
    # there the rows themselves show the progress
    quiet = quiet or out.terminal
    batches = converted(stream, to_batch)
    ok = False
    try:
        for batch, ts_digits, paused in with_progress(stream, quiet, items=batches):
            writer.ts_digits = ts_digits
            writer.write(batch)
            if paused:  # a live capture paused: its rows go out now, not with the next ones
                writer.flush()
        # reading has ended, the writing not (the last pieces being made, compressed):
        # a Ctrl-C still stops it; then the output's end and commit go uninterrupted
        with interruptible():
            if not writer.rows:  # still a whole file: a CSV header, a Parquet schema
                writer.write(to_batch(stream.empty()))
            writer.drain()
        ok = True
    finally:
        batches.close()  # type: ignore[attr-defined]
        writer.close(ok)


def run_rows(command: str, inputs: tuple[str, ...], fmt: str | None, output: str | None, force: bool,
             quiet: bool, registry: str | None, services: str | None, *,
             open_stream: Callable[[ServiceTable], S],
             to_batch: Callable[[ServiceTable], Callable[[Any], pa.RecordBatch]],
             show_table: Callable[[S, ServiceTable, Output | None, bool], None],
             settings: dict[str, Any] | None = None) -> NoReturn:
    """What a command that gives rows (flows, packets) does with its options: refuse what
    the standard streams cannot do; open the output, so that a refused one fails before
    any reading; load the service table; read the stream `open_stream` makes and write
    its rows in `fmt` (each item made a record batch by what `to_batch(table)` returns:
    called once reading has started, so that what it imports loads while the first
    batches are read) or show them as the terminal table; report the damage and exit.
    A Parquet file keeps the inputs, the registry and the `settings` that shaped its
    rows (output.provenance)."""
    check_streams(inputs, stdout=output in (None, "-"))
    refusal = name_refusal(fmt, output)
    fmt = resolve_format(fmt, output, "table")
    refusal = refusal or compression_refusal(fmt, output)
    if refusal is not None:
        raise click.UsageError(refusal)
    refuse_an_input_as_output(inputs, output)
    with output_file(fmt, output, force) as out:
        table = load_table(registry, services)
        stream = open_stream(table)
        with watching_output(out, stream.accounting), reading(stream):
            if fmt == "table":
                show_table(stream, table, out, quiet)
            else:
                assert out is not None
                from portannot.output.provenance import provenance

                write_stream(stream, to_batch(table), fmt, out, quiet,
                             provenance(command, inputs, table, **(settings or {})))
    finish(stream.accounting)


def finish(accounting: Accounting) -> NoReturn:
    """Report damage met on the way; exit 4 if an input (of several) could not be read
    at all, else 3 if there was damage, else 0."""
    for line in accounting.warnings():
        warn(line)
    if accounting.unreadable:
        sys.exit(int(ExitCode.INPUT_ERROR))
    sys.exit(int(ExitCode.DAMAGED_INPUT if accounting.damaged else ExitCode.OK))


def _reading(items: Iterable[T]) -> Iterator[T]:
    """`items`, with the collector on while they come, and Ctrl-C held once they end.

    reading_ended runs here, before `items` (a Background) is let go: closing it waits
    in the main thread for its stage to stop, where a KeyboardInterrupt must not land."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
    try:
        yield from items
    finally:
        reading_ended()
