"""`portannot summary`: the capture at a glance, from its flows and its packet accounting."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from portannot.cli.app import check_streams, print_whole, registry_options, stdout_console
from portannot.cli.common import (
    capture_inputs,
    finish,
    reading,
    refuse_an_input_as_output,
    watching_output,
    with_progress,
)
from portannot.output.plural import counted, noun
from portannot.pipeline import FlowStream
from portannot.printable import one_line
from portannot.registry import load_table

if TYPE_CHECKING:
    from rich.console import Console


@click.command()
@capture_inputs
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
              help="Rows per ranking.")
@click.option("--quiet", "-q", is_flag=True, help="No progress line (shown on a terminal).")
@registry_options
def summary(inputs: tuple[str, ...], as_json: bool, top: int, quiet: bool,
            registry: str | None, services: str | None) -> None:
    """Packets, bytes and flows per transport and per service; top talkers (over the
    flows: packets with ports); flows without a named service; the capture's time span;
    and every packet accounted for by decode status."""
    check_streams(inputs)
    refuse_an_input_as_output(inputs, None)
    table = load_table(registry, services)
    stream = FlowStream(inputs, table)
    with watching_output(None, stream.accounting), reading(stream):
        from portannot.output.summary import summarize

        report = summarize(with_progress(stream, quiet, "summarizing"), stream, table, top)
        if as_json:
            click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        else:
            _print(report, stream.accounting.ts_digits)
        finish(stream.accounting)


def _print(report: dict[str, Any], ts_digits: int) -> None:
    """The report as tables; times (JSON's epoch nanoseconds) as UTC dates with the
    capture's `ts_digits` fraction digits."""
    import numpy as np
    from rich.text import Text

    from portannot.output.text import (
        epoch_seconds,
        files_read,
        human_bytes,
        human_duration,
        utc_time,
    )

    console = stdout_console(width=None if sys.stdout.isatty() else 160)
    console.print(Text.assemble((counted(report["packets"], "packet"), "bold"),
                                f", {human_bytes(report['bytes'])}, "
                                f"{counted(report['flows'], 'flow')} ",
                                files_read(len(report["files"]), len(report["unreadable"]))))
    first, last = report["first_ts"], report["last_ts"]
    if first is None:
        console.print("Capture span: no packets")
    else:
        span = epoch_seconds(np.array([last - first], np.int64), ts_digits)[0].as_py()
        told = human_duration(last - first)
        console.print(f"Capture span: {utc_time(first, ts_digits)} to {utc_time(last, ts_digits)} "
                      f"UTC, {span} s" + (f" ({told})" if told else ""))

    acc = [{"status": k, **v} for k, v in report["accounting"].items()]
    _table(console, "Packet accounting by decode status", acc, ["status", "packets", "bytes"])
    _table(console, "By transport", report["by_transport"],
           ["transport", "flows", "packets", "bytes"])
    services = [{**r, "service": NONE if r["service"] is None else r["service"]}
                for r in report["by_service"]]
    _table(console, "By service" + _services_shown(report), services,
           ["service", "flows", "packets", "bytes"])
    _table(console, "Top talkers (flows with ports)" + _shown(report["top_talkers"],
                                                              report["talkers"]),
           report["top_talkers"], ["address", "flows", "sent", "received", "bytes"])
    u = report["unnamed"]
    _table(console, f"Flows without a named service: {u['flows']:,} "
           f"({counted(u['packets'], 'packet')}, {human_bytes(u['bytes'])})"
           + _shown(u["top_responder_ports"], u["responder_ports"], "responder ports"),
           u["top_responder_ports"], ["transport", "port", "flows", "packets", "bytes"])


#: the text report's name for the by_service row of the flows without a named service
#: (null in JSON, as in `flows` and `packets`)
NONE = "(none)"
#: the text report's column headings where the JSON key alone would mislead: the unnamed
#: flows' port is the responder's, not either end's
HEADINGS = {"port": "responder port"}
#: the columns of text, aligned left; numbers go right
TEXT_COLUMNS = ("service", "transport", "address", "status")


def _table(console: Console, title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    """One section: its title on a line of its own (as a table title, rich wraps it at
    the table's width, which splits a long one over narrow columns), then its rows, or
    "none" (a header over nothing reads as output gone missing)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    console.print(Text(title, style="table.title"))
    if not rows:
        console.print("  none\n")
        return
    t = Table(box=box.SIMPLE_HEAD)
    for c in columns:
        t.add_column(HEADINGS.get(c, c), justify="left" if c in TEXT_COLUMNS else "right")
    for r in rows:
        # a port is a name, not a quantity: no thousands separator
        t.add_row(*[f"{r[c]:,}" if isinstance(r[c], int) and c != "port" else one_line(str(r[c]))
                    for c in columns])
    print_whole(console, t)


def _services_shown(report: dict[str, Any]) -> str:
    """The by-service title's count, saying what it counts: `services` are the named
    services, and the row of flows without one, "(none)", is a row beside them
    (", the top 10 of 57 rows (56 services and (none)) by bytes")."""
    rows, services = report["by_service"], report["services"]
    if not report["unnamed"]["flows"]:
        return _shown(rows, services, noun(services, "service"))
    total = services + 1
    if len(rows) >= total:
        return ""
    return f", the top {len(rows)} of {total:,} rows ({counted(services, 'service')} and {NONE}) by bytes"


def _shown(rows: list[Any], total: int, what: str = "") -> str:
    """", the top 10 of 57 by bytes" when a ranking shows fewer rows than there are: a
    cut list read as the whole one."""
    if len(rows) >= total:
        return ""
    return f", the top {len(rows)} of {total:,}{' ' + what if what else ''} by bytes"
