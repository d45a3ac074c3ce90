"""`portannot flows`: the main job, one row per bidirectional flow."""

from __future__ import annotations

import functools
import io
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click
import numpy as np

from portannot.cli.app import Seconds, print_whole, registry_options, stdout_console
from portannot.cli.common import capture_inputs, output_options, run_rows, with_progress
from portannot.pipeline import FlowStream
from portannot.printable import one_line
from portannot.timeouts import MAX_TIMEOUT, MIN_TIMEOUT

if TYPE_CHECKING:
    from decimal import Decimal

    import pyarrow as pa

    from portannot.aggregate.rules import FlowColumns
    from portannot.output.files import Output
    from portannot.registry import ServiceTable

# the flow table's bounds (portannot.timeouts, where check_timeout says why)
TIMEOUT = Seconds(MIN_TIMEOUT, MAX_TIMEOUT, exact=True)


@click.command()
@capture_inputs
@output_options("table")
@click.option("--idle-timeout", type=TIMEOUT, metavar="SECONDS",
              help="End a flow once the capture's clock (its latest packet time so far) "
              "is this long past the flow's latest packet time (NetFlow style). Default: none.")
@click.option("--active-timeout", type=TIMEOUT, metavar="SECONDS",
              help="End a flow this long after its earliest packet time, by the same "
              "clock. "
              "Default: none.")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True,
              help="Flows shown by the table format (largest by bytes).")
@registry_options
def flows(inputs: tuple[str, ...], fmt: str | None, output: str | None, force: bool, quiet: bool,
          idle_timeout: Decimal | None, active_timeout: Decimal | None, top: int,
          registry: str | None, services: str | None) -> None:
    """Per-flow summaries: who talked to whom, over which service, how much, when.

    A flow is a transport and its two (address, port) ends, both directions
    together, across every FILE given. The originator is the sender of the first
    SYN, else the receiver of the first SYN+ACK, else the sender of the first
    packet (column direction_basis); the service is named as column
    service_basis says. Bytes are original frame lengths, as tshark counts them.
    """
    run_rows("flows", inputs, fmt, output, force, quiet, registry, services,
             open_stream=lambda table: FlowStream(inputs, table, idle_timeout=idle_timeout,
                                                  active_timeout=active_timeout),
             to_batch=_flow_rows, show_table=functools.partial(_show_table, top=top),
             settings={"idle_timeout": _seconds(idle_timeout),
                       "active_timeout": _seconds(active_timeout)})


def _seconds(timeout: Decimal | None) -> float | None:
    """A typed timeout as the Parquet provenance records it (JSON: a number)."""
    return None if timeout is None else float(timeout)


def _flow_rows(table: ServiceTable) -> Callable[[FlowColumns], pa.RecordBatch]:
    """Flow columns -> their Arrow rows, the services named from `table`."""
    from portannot.output.tables import flow_batch

    return functools.partial(flow_batch, table=table)


def _show_table(stream: FlowStream, table: ServiceTable, out: Output | None, quiet: bool, *,
                top: int) -> None:
    """The `top` flows by bytes as a table. Each piece's own top flows, in their order: the
    top of those is the top of all, and only they become Arrow rows (text addresses and
    flags)."""
    from portannot.output.ranking import top_indices
    from portannot.output.tables import flow_batch

    batches = []
    for cols in with_progress(stream, quiet, "ranking"):
        keep = np.sort(top_indices(cols.orig_bytes + cols.resp_bytes, top))
        batches.append(flow_batch(cols.take(keep), table))
    _print_table(batches, stream, top, out)


def _print_table(batches: list[pa.RecordBatch], stream: FlowStream, top: int,
                 out: Output | None) -> None:
    """The table of the `top` flows by bytes of `batches` (a piece's top flows each), and a
    line of totals, to `out` or standard output."""
    from rich import box
    from rich.table import Table

    from portannot.output.arrays import numbers
    from portannot.output.plural import counted
    from portannot.output.ranking import top_rows
    from portannot.output.text import epoch_seconds, files_read, human_bytes

    acc = stream.accounting
    shown = top_rows(batches, "bytes", top)
    durations: list[str] = []
    if shown.num_rows:
        # as CSV and JSON Lines write it: exact, with the capture's fraction digits, from
        # the times (the float, at three places, showed a nanosecond-capture flow as 0.000s)
        first, last = (numbers(shown.column(c).combine_chunks()) for c in ("first_ts", "last_ts"))
        durations = epoch_seconds(last - first, acc.ts_digits).to_pylist()
        # the shown columns only: a nanosecond timestamp becomes a pandas Timestamp in
        # to_pylist, and the first one imports pandas (a quarter of a second)
        shown = shown.select(list(TABLE_FIELDS))
    t = Table(box=box.SIMPLE_HEAD, title=_title(top, stream.flow_count), title_justify="left")
    for name, justify in (("transport", "left"), ("originator", "right"), ("responder", "left"),
                          ("service", "left"), ("packets orig / resp", "right"),
                          ("bytes orig / resp", "right"),
                          ("duration", "right"), ("basis", "left")):
        t.add_column(name, justify=justify, no_wrap=True)
    if shown.num_rows:
        for r, duration in zip(shown.to_pylist(), durations):
            t.add_row(
                r["transport"], _endpoint(r["orig_addr"], r["orig_port"]),
                _endpoint(r["resp_addr"], r["resp_port"]), one_line(r["service"] or "-"),
                f"{r['orig_packets']:,} / {r['resp_packets']:,}",
                f"{human_bytes(r['orig_bytes'])} / {human_bytes(r['resp_bytes'])}",
                f"{duration}s", r["direction_basis"],
            )
    text = io.TextIOWrapper(out.stream, encoding="utf-8") if out else None
    console = stdout_console(file=text, width=160 if text or not sys.stdout.isatty() else None)
    if shown.num_rows:
        print_whole(console, t)
    else:  # column names over no rows read as rows gone missing
        console.print(_title(top, 0))
    ported = int(acc.status_counts[0])
    console.print(
        f"{counted(stream.flow_count, 'flow')}, {counted(ported, 'packet')} with ports, "
        f"{counted(acc.records, 'packet')} read ({human_bytes(acc.bytes)}) "
        f"{files_read(len(acc.files), len(acc.unreadable))}"
    )
    if text is not None:
        text.flush()
        text.detach()  # the file stays open for table_output to commit


def _title(top: int, flows: int) -> str:
    """"Top 20 of 1,234 flows by bytes", "Top 1 of 1 flow by bytes"; "No flows" for a
    capture without any ("Top 0 of 0 flows" read as a ranking that lost its rows)."""
    from portannot.output.plural import noun

    if not flows:
        return "No flows"
    return f"Top {min(top, flows):,} of {flows:,} {noun(flows, 'flow')} by bytes"


#: the flow columns the table shows
TABLE_FIELDS = ("transport", "orig_addr", "orig_port", "resp_addr", "resp_port", "service",
                "orig_packets", "resp_packets", "orig_bytes", "resp_bytes",
                "direction_basis")


def _endpoint(addr: str, port: int) -> str:
    """address:port, an IPv6 address in brackets (RFC 5952 section 6): without them
    2001:db8::1:22 reads as an address with no port."""
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"
