"""`portannot packets`: one annotated row per record, written as batches decode."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from portannot.cli.app import registry_options
from portannot.cli.common import capture_inputs, output_options, run_rows, with_progress
from portannot.pipeline import PacketStream

if TYPE_CHECKING:
    import pyarrow as pa

    from portannot.decode import PacketBatch
    from portannot.output.files import Output
    from portannot.registry import ServiceTable

TABLE_COLUMNS = ("number", "ts", "length", "transport", "src_addr", "src_port", "dst_addr",
                 "dst_port", "src_service", "dst_service", "status")


@click.command()
@capture_inputs
@output_options("table")
@registry_options
def packets(inputs: tuple[str, ...], fmt: str | None, output: str | None, force: bool, quiet: bool,
            registry: str | None, services: str | None) -> None:
    """One row per packet: addresses, transport, ports, the services they name, status.

    Rows are numbered from 1 in each file, like tshark's frame.number.
    """
    run_rows("packets", inputs, fmt, output, force, quiet, registry, services,
             open_stream=lambda _table: PacketStream(inputs, small_batch=JOINED_UNDER),
             to_batch=functools.partial(_packet_rows, with_file=len(inputs) > 1),
             show_table=_print_table)


#: the command's batches under this many rows are joined (up to pipeline.GATHERED), not
#: only those under pipeline.SMALL_BATCH: a 4 MiB chunk of mixed traffic holds ~7,000
#: packets, and each batch is converted, queued and encoded on its own. mixed-1m to
#: Parquet 0.616 -> 0.525 s, JSON Lines 1.95 -> 1.59 s, CSV 1.02 -> 0.94 s (medians of
#: 8-14 interleaved runs), for 20-50 MB more peak RSS; 64-byte packets (52,000 a chunk)
#: are not joined either way
JOINED_UNDER = 1 << 14


def _packet_rows(table: ServiceTable, *, with_file: bool) -> Callable[[PacketBatch], pa.RecordBatch]:
    """Decoded packets -> their Arrow rows, the ports named from `table`; with the `file`
    column when several inputs are read."""
    from portannot.output.tables import packet_batch

    return functools.partial(packet_batch, table=table, with_file=with_file)


def _print_table(stream: PacketStream, table: ServiceTable, out: Output | None,
                 quiet: bool) -> None:
    """Aligned plain columns, streamed: a terminal table that never waits for the end.
    Of several inputs, each row starts with its file's position among them (numbers
    start again at 1 in each file: without it two files' rows could not be told apart).
    The columns are sized on the first batch of rows (see table_widths)."""
    from portannot.output import packet_batch, textual
    from portannot.output.aligned import aligned_lines, printable

    many = len(stream.paths) > 1
    columns = ["file", *TABLE_COLUMNS] if many else list(TABLE_COLUMNS)
    write = out.stream.write if out else _write
    # rows streaming to a terminal are the progress, as CSV's are (common.write_stream):
    # printed above a progress line, each went through rich, which re-rendered and
    # wrapped it (150,000 rows: 35 s against 0.7 s, a long row broken in two)
    quiet = quiet or (out.terminal if out else sys.stdout.isatty())
    # the header once the inputs have given something (or ended well): an input that
    # cannot be read is its error alone, with no header above nothing on stdout
    widths: dict[str, int] | None = None
    for batch in with_progress(stream, quiet):
        rows = packet_batch(batch, table, with_file=many)
        text = textual(printable(rows.select(columns)), batch.ts_digits)  # its own: see PacketStream
        text = _with_protocols(text, rows.column("ip_proto"))
        head = b""
        if widths is None:
            widths = table_widths(text)
            head = _header(widths)
        write(memoryview(head + aligned_lines(text, widths, RIGHT, CUT).tobytes()))
    if widths is None:
        write(memoryview(_header({c: max(len(c), FLOOR.get(c, 0)) for c in columns})))


def table_widths(first: pa.RecordBatch) -> dict[str, int]:
    """Each column as wide as the widest of its name, its values in the first batch of
    rows and its floor (FLOOR: an IPv4 address, a 7-digit frame number), at most
    LIMIT for the names cut to it, in terminal cells (日本語 is 6). Sized on what the
    capture holds, an IPv4 capture's table stays within a terminal (an IPv6 address
    takes 39 characters); a later value wider than its column (an IPv6 address first
    met past the first batch) is written whole and pushes the rest of its row right."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from portannot.output.aligned import cell_lengths

    widths = {}
    for name in first.schema.names:
        longest = pc.max(cell_lengths(pc.cast(first.column(name), pa.string()))).as_py()
        width = max(len(name), FLOOR.get(name, 0), longest or 0)
        widths[name] = min(width, LIMIT[name]) if name in LIMIT else width
    return widths


def _header(widths: dict[str, int]) -> bytes:
    return (" ".join(c.rjust(w) if c in RIGHT else c.ljust(w) for c, w in widths.items())
            .rstrip().encode() + b"\n")


def _with_protocols(text: pa.RecordBatch, ip_proto: pa.Array) -> pa.RecordBatch:
    """The rows with their IP protocol (`icmp`, `esp`, `gre`, or its number) in the
    transport column where there is no transport: without it an ICMP, an ESP and a GRE
    packet had the same empty cell, where Wireshark's Protocol column tells them apart.
    Only the table's text: CSV, JSON Lines and Parquet keep `transport` null there, with
    the number in `ip_proto`."""
    import pyarrow.compute as pc

    from portannot.output.text import ip_protocol_text

    at = text.schema.get_field_index("transport")
    shown = pc.coalesce(text.column(at), ip_protocol_text(ip_proto))
    return text.set_column(at, "transport", shown)


def _write(lines: memoryview) -> None:
    """Bytes to standard output; on a terminal through sys.stdout as text (its encoding
    and line buffering), elsewhere as bytes."""
    binary = getattr(sys.stdout, "buffer", None)
    if sys.stdout.isatty() or binary is None:
        sys.stdout.write(lines.tobytes().decode())
        sys.stdout.flush()
    else:
        binary.write(lines)
        binary.flush()


#: the least width of a column's values: an IPv4 address, a 7-digit frame number, a
#: 5-digit length or port, IANA's longest service name (15 characters, RFC 6335), so
#: that later rows of a batch-sized table keep to it (a service column sized on the
#: first batch cut "afs3-callback" met later to "afs3-callb…")
FLOOR = {"number": 7, "length": 5, "src_addr": 15, "src_port": 5, "dst_addr": 15,
         "dst_port": 5, "src_service": 15, "dst_service": 15}
#: the most a column of free text takes: a service name from a --services file longer
#: than IANA's longest, 15 characters (RFC 6335), is cut to it (CUT)
LIMIT = {"src_service": 15, "dst_service": 15}
RIGHT = {"file", "number", "length"}
#: the columns of free text whose values may be wider than their column, cut to it
CUT = frozenset(LIMIT)
