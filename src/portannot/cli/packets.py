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
             open_stream=lambda _table: PacketStream(inputs),
             to_batch=functools.partial(_packet_rows, with_file=len(inputs) > 1),
             show_table=_print_table)


def _packet_rows(table: ServiceTable, *, with_file: bool) -> Callable[[PacketBatch], pa.RecordBatch]:
    """Decoded packets -> their Arrow rows, the ports named from `table`; with the `file`
    column when several inputs are read."""
    from portannot.output.tables import packet_batch

    return functools.partial(packet_batch, table=table, with_file=with_file)


def _print_table(stream: PacketStream, table: ServiceTable, out: Output | None,
                 quiet: bool) -> None:
    """Aligned plain columns, streamed: a terminal table that never waits for the end.
    Of several inputs, each row starts with its file's position among them (numbers
    start again at 1 in each file: without it two files' rows could not be told apart)."""
    from portannot.output import packet_batch, textual
    from portannot.output.aligned import aligned_lines

    many = len(stream.paths) > 1
    columns = ["file", *TABLE_COLUMNS] if many else list(TABLE_COLUMNS)
    widths = {c: WIDTHS[c] for c in columns}
    header = " ".join(c.rjust(WIDTHS[c]) if c in RIGHT else c.ljust(WIDTHS[c])
                      for c in columns)
    write = out.stream.write if out else _write
    # the header once the inputs have given something (or ended well): an input that
    # cannot be read is its error alone, with no header above nothing on stdout
    head: memoryview | None = memoryview(header.rstrip().encode() + b"\n")
    for batch in with_progress(stream, stream.accounting, quiet):
        rows = packet_batch(batch, table, with_file=many)
        text = textual(rows.select(columns), stream.accounting.ts_digits)
        text = _with_protocols(text, rows.column("ip_proto"))
        lines = aligned_lines(text, widths, RIGHT, CUT)
        if head is not None:
            lines, head = memoryview(head.tobytes() + lines.tobytes()), None
        write(lines)
    if head is not None:
        write(head)


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
    """Bytes to standard output; on a terminal through sys.stdout as text, which the
    progress display on stderr has taken over so that rows print above it."""
    binary = getattr(sys.stdout, "buffer", None)
    if sys.stdout.isatty() or binary is None:
        sys.stdout.write(lines.tobytes().decode())
        sys.stdout.flush()
    else:
        binary.write(lines)
        binary.flush()


#: room for the values of each column of the table view, enough for every value a column
#: can hold, so that the columns stay aligned: 39 characters, the longest text of an
#: IPv6 address (RFC 5952); 10 digits for a frame number or length (a 32-bit length);
#: 21 for a time (a sign, 10 digits of seconds and 9 of fraction); 15 for a service
#: name, IANA's longest (RFC 6335), a longer one from a --services file cut to it (CUT);
#: 10 for a transport or IP protocol name (output.text.IP_PROTOCOL_NAMES);
#: the last column's values may run on, nothing stands right of them
VALUE_WIDTHS = {"file": 4, "number": 10, "ts": 21, "length": 10, "transport": 10,
                "src_addr": 39, "src_port": 5, "dst_addr": 39, "dst_port": 5,
                "src_service": 15, "dst_service": 15, "status": 10}
#: column widths: never narrower than the header's name, or the names from that column
#: on stand to the right of their values ("transport" over 5 characters moved src_addr
#: and every column after it 4 characters off)
WIDTHS = {c: max(w, len(c)) for c, w in VALUE_WIDTHS.items()}
RIGHT = {"file", "number", "length"}
#: the columns of free text whose values may be wider than their column, cut to it
CUT = frozenset({"src_service", "dst_service"})
