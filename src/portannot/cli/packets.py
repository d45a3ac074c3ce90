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
        text = textual(packet_batch(batch, table, with_file=many).select(columns),
                       stream.accounting.ts_digits)
        lines = aligned_lines(text, widths, RIGHT)
        if head is not None:
            lines, head = memoryview(head.tobytes() + lines.tobytes()), None
        write(lines)
    if head is not None:
        write(head)


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


#: room for the values of each column of the table view (a wider value pushes the rest
#: of its line on)
VALUE_WIDTHS = {"file": 4, "number": 7, "ts": 20, "length": 6, "transport": 4, "src_addr": 24,
                "src_port": 5, "dst_addr": 24, "dst_port": 5, "src_service": 14,
                "dst_service": 14, "status": 10}
#: column widths: never narrower than the header's name, or the names from that column
#: on stand to the right of their values ("transport" over 5 characters moved src_addr
#: and every column after it 4 characters off)
WIDTHS = {c: max(w, len(c)) for c, w in VALUE_WIDTHS.items()}
RIGHT = {"file", "number", "length"}
