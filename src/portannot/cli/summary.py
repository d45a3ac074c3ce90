"""`portannot summary`: the capture at a glance, from its flows and its packet accounting."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from portannot.cli.app import check_streams, print_whole, registry_options, stdout_console
from portannot.cli.common import capture_inputs, finish, reading, with_progress
from portannot.pipeline import FlowStream
from portannot.registry import load_table


@click.command()
@capture_inputs
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
              help="Rows per ranking.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@registry_options
def summary(inputs: tuple[str, ...], as_json: bool, top: int, quiet: bool,
            registry: str | None, services: str | None) -> None:
    """Packets, bytes and flows per transport and per service; top talkers (over the
    flows: packets with ports); flows without a named service; the capture's time span;
    and every packet accounted for by decode status."""
    check_streams(inputs)
    table = load_table(registry, services)
    stream = FlowStream(inputs, table)
    with reading(stream):
        from portannot.output.summary import summarize

        report = summarize(with_progress(stream, stream.accounting, quiet), stream, table, top)
        if as_json:
            click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        else:
            _print(report, stream.accounting.ts_digits)
        finish(stream.accounting)


def _print(report: dict[str, Any], ts_digits: int) -> None:
    """The report as tables; times (JSON's epoch nanoseconds) as UTC dates with the
    capture's `ts_digits` fraction digits."""
    import numpy as np
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from portannot.output.text import epoch_seconds, files_read, human_bytes, utc_time

    console = stdout_console(width=None if sys.stdout.isatty() else 160)
    console.print(Text.assemble((f"{report['packets']:,} packets", "bold"),
                                f", {human_bytes(report['bytes'])}, {report['flows']:,} flows ",
                                files_read(len(report["files"]), len(report["unreadable"]))))
    first, last = report["first_ts"], report["last_ts"]
    if first is None:
        console.print("Capture span: no packets")
    else:
        span = epoch_seconds(np.array([last - first], np.int64), ts_digits)[0].as_py()
        console.print(f"Capture span: {utc_time(first, ts_digits)} to {utc_time(last, ts_digits)} "
                      f"UTC, {span} s")

    def table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
        # the title on a line of its own: as a table title, rich wraps it at the
        # table's width, which splits a long one over narrow columns
        console.print(Text(title, style="table.title"))
        if not rows:  # a header over nothing reads as output gone missing
            console.print("  none\n")
            return
        t = Table(box=box.SIMPLE_HEAD)
        for c in columns:
            t.add_column(c, justify="left" if c in ("service", "transport", "address",
                                                    "status") else "right")
        for r in rows:
            t.add_row(*[f"{r[c]:,}" if isinstance(r[c], int) and c != "port" else str(r[c])
                        for c in columns])
        print_whole(console, t)

    acc = [{"status": k, **v} for k, v in report["accounting"].items()]
    table("Packet accounting by decode status", acc, ["status", "packets", "bytes"])
    table("By transport", report["by_transport"], ["transport", "flows", "packets", "bytes"])
    table("By service" + _shown(report["by_service"], report["services"]), report["by_service"],
          ["service", "flows", "packets", "bytes"])
    table("Top talkers (flows with ports)" + _shown(report["top_talkers"], report["talkers"]),
          report["top_talkers"], ["address", "flows", "sent", "received", "bytes"])
    u = report["unnamed"]
    table(f"Flows without a named service: {u['flows']:,} ({u['packets']:,} packets, "
          f"{human_bytes(u['bytes'])})" + _shown(u["top_responder_ports"], u["responder_ports"],
                                                 "responder ports"),
          u["top_responder_ports"], ["transport", "port", "flows", "packets", "bytes"])


def _shown(rows: list[Any], total: int, what: str = "") -> str:
    """", the top 10 of 57 by bytes" when a ranking shows fewer rows than there are: a
    cut list read as the whole one."""
    if len(rows) >= total:
        return ""
    return f", the top {len(rows)} of {total:,}{' ' + what if what else ''} by bytes"
