"""`portannot summary`: the capture at a glance, from its flows and its packet accounting."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
import pyarrow as pa
import pyarrow.compute as pc

from portannot.cli.app import registry_options, stdout_console
from portannot.cli.common import capture_inputs, finish, with_progress
from portannot.output import flow_batch
from portannot.output.writers import human_bytes
from portannot.pipeline import FlowStream
from portannot.registry import load_table


def _group(flows: pa.Table, key: str) -> list[dict[str, Any]]:
    if not flows.num_rows:
        return []
    g = flows.group_by(key).aggregate([("packets", "sum"), ("bytes", "sum"), ("flow_id", "count")])
    g = g.sort_by([("bytes_sum", "descending")])
    return [{key: r[key], "packets": r["packets_sum"], "bytes": r["bytes_sum"],
             "flows": r["flow_id_count"]} for r in g.to_pylist()]


def _talkers(flows: pa.Table, n: int) -> list[dict[str, Any]]:
    """Addresses by bytes sent and received over all their flows."""
    if not flows.num_rows:
        return []
    sides = pa.concat_tables([
        pa.table({"address": flows["orig_addr"], "sent": flows["orig_bytes"],
                  "received": flows["resp_bytes"], "packets": flows["packets"]}),
        pa.table({"address": flows["resp_addr"], "sent": flows["resp_bytes"],
                  "received": flows["orig_bytes"], "packets": flows["packets"]}),
    ])
    g = sides.group_by("address").aggregate([("sent", "sum"), ("received", "sum"),
                                             ("address", "count")])
    g = g.append_column("bytes", pc.add(g["sent_sum"], g["received_sum"]))
    g = g.sort_by([("bytes", "descending")]).slice(0, n)
    return [{"address": r["address"], "bytes": r["bytes"], "sent": r["sent_sum"],
             "received": r["received_sum"], "flows": r["address_count"]} for r in g.to_pylist()]


def summarize(flows: pa.Table, stream: FlowStream, top: int) -> dict[str, Any]:
    acc = stream.accounting
    if flows.num_rows:
        unnamed = flows.filter(pc.is_null(flows["service"]))
        unnamed_ports = _group(unnamed.append_column(
            "ports", pc.binary_join_element_wise(
                unnamed["transport"].cast(pa.string()), pc.cast(unnamed["resp_port"], pa.string()),
                "/")), "ports")[:top] if unnamed.num_rows else []
        by_service = _group(flows.append_column(
            "svc", pc.if_else(pc.is_null(flows["service"]), "(none)",
                              flows["service"].cast(pa.string()))), "svc")
    else:
        unnamed, unnamed_ports, by_service = flows, [], []
    return {
        "files": acc.files,
        "packets": acc.records,
        "bytes": acc.bytes,
        "flows": stream.flow_count,
        "first_ts": acc.first_ts,
        "last_ts": acc.last_ts,
        "accounting": {name: {"packets": int(c), "bytes": int(b)} for name, c, b in
                       zip(acc.by_status(), acc.status_counts, acc.status_bytes)},
        "by_transport": _group(flows.append_column("proto", flows["transport"].cast(pa.string())),
                               "proto") if flows.num_rows else [],
        "by_service": [{("service" if k == "svc" else k): v for k, v in r.items()}
                       for r in by_service][:top],
        "top_talkers": _talkers(flows, top),
        "unnamed": {
            "flows": unnamed.num_rows,
            "packets": int(pc.sum(unnamed["packets"]).as_py() or 0) if unnamed.num_rows else 0,
            "bytes": int(pc.sum(unnamed["bytes"]).as_py() or 0) if unnamed.num_rows else 0,
            "top_responder_ports": unnamed_ports,
        },
        "warnings": acc.warnings(),
    }


@click.command()
@capture_inputs
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
              help="Rows per ranking.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@registry_options
def summary(inputs: tuple[str, ...], as_json: bool, top: int, quiet: bool,
            registry: str | None, services: str | None) -> None:
    """Packets, bytes and flows per transport and per service; top talkers; flows
    without a named service; and every packet accounted for by decode status."""
    table = load_table(registry, services)
    stream = FlowStream(inputs, table)
    batches = [flow_batch(c, table) for c in with_progress(stream, stream.accounting, quiet)]
    flows = pa.Table.from_batches(batches).unify_dictionaries() if batches else pa.table({})
    report = summarize(flows, stream, top)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print(report)
    finish(stream.accounting)


def _print(report: dict[str, Any]) -> None:
    from rich import box
    from rich.table import Table

    console = stdout_console(width=None if sys.stdout.isatty() else 160)
    console.print(f"[bold]{report['packets']:,} packets[/], {human_bytes(report['bytes'])}, "
                  f"{report['flows']:,} flows from {len(report['files'])} file(s)")

    def table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
        t = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
        for c in columns:
            t.add_column(c, justify="left" if c in ("service", "proto", "address", "status",
                                                    "ports") else "right")
        for r in rows:
            t.add_row(*[f"{r[c]:,}" if isinstance(r[c], int) else str(r[c]) for c in columns])
        console.print(t)

    acc = [{"status": k, **v} for k, v in report["accounting"].items()]
    table("Packet accounting by decode status", acc, ["status", "packets", "bytes"])
    table("By transport", report["by_transport"], ["proto", "flows", "packets", "bytes"])
    table("By service", report["by_service"], ["service", "flows", "packets", "bytes"])
    table("Top talkers", report["top_talkers"], ["address", "flows", "sent", "received", "bytes"])
    u = report["unnamed"]
    table(f"Flows without a named service: {u['flows']:,} ({u['packets']:,} packets, "
          f"{human_bytes(u['bytes'])})", u["top_responder_ports"], ["ports", "flows", "packets",
                                                                   "bytes"])
