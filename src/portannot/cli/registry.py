"""`portannot registry info|update`: which registry is in use; install a newer one."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import click

from portannot.cli.app import (
    PathText,
    Seconds,
    check_streams,
    print_whole,
    registry_options,
    stdout_console,
)
from portannot.output.plural import counted
from portannot.registry import (
    IANA_CSV_URL,
    IANA_FORMATS,
    PortState,
    load_registry,
    resolve_source,
)
from portannot.registry import update as install_registry
from portannot.registry.cache import cache_path, cacheable
from portannot.registry.install import check_source
from portannot.registry.source import source_text
from portannot.transport import TRANSPORT_NAMES

#: a download timeout: at least a millisecond, at most a day
DOWNLOAD_TIMEOUT = Seconds(1e-3, 86400)


@click.group()
def registry() -> None:
    """The port registry: which one is in use, and updating it."""


def _state_keys(fmt: str, counts: dict[str, dict[str, int]]) -> list[tuple[PortState, str]]:
    """The port states a registry of this format tells, each with its key. A services
    file lists names: a port it leaves out is not named, of a state it does not know
    (IANA's own files say unassigned and reserved), and it reserves none unless a
    nameless line says so (nmap's `unknown ... # Reserved`)."""
    if fmt in IANA_FORMATS:
        return [(state, state.label) for state in PortState]
    reserves = any(c[PortState.RESERVED.label] for c in counts.values())
    return [(state, "not_named" if state == PortState.UNASSIGNED else state.label)
            for state in PortState if reserves or state != PortState.RESERVED]


def _info(registry_path: str | None, services: str | None) -> dict[str, Any]:
    src = resolve_source(registry_path)
    reg = load_registry(registry_path, services, src=src)  # the registry `src` describes
    table = reg.table()
    by_state = table.counts()
    keys = _state_keys(reg.format, by_state)
    counts = {t: {key: per_state[state.label] for state, key in keys}
              for t, per_state in by_state.items()}
    per_transport_records = Counter(rec.transport or "none" for rec in reg.records)
    no_port = Counter(rec.transport or "none" for rec in reg.records
                      if rec.name and not rec.has_port)
    return {
        "in_use": src.how,
        "source": reg.source,
        "path": str(src.path),
        "format": reg.format,
        "date": reg.date,
        "newest_record_date": reg.newest_record_date,
        "records": len(reg.records),
        "records_per_transport": dict(per_transport_records),
        "names_without_port": reg.names_without_port,
        "names_without_port_per_transport": dict(no_port),
        "distinct_names": len(table.names) - 1,
        "people": len(reg.people),
        "skipped_records": len(reg.problems),
        "problems": [str(p) for p in reg.problems[:10]],
        "services": reg.local_path,
        "local_records": len(reg.local_records),
        "ports": counts,
        "snapshot": src.meta if src.kind == "snapshot" else None,
        "installed": src.meta if src.kind == "installed" else None,
        # a pipe's table is never cached: naming a file for it said one was kept
        "cache": str(cache_path(src, services)) if cacheable(src, services) else None,
    }


@registry.command()
@registry_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
def info(registry: str | None, services: str | None, as_json: bool) -> None:
    """Which registry is in use, its date and source, and counts per transport and state."""
    check_streams()
    doc = _info(registry, services)
    if as_json:
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    from rich.table import Table
    from rich.text import Text

    console = stdout_console(highlight=False)

    def line(label: str, text: str) -> None:
        console.print(Text.assemble((label, "bold"), " " * (10 - len(label)), text), soft_wrap=True)

    line("registry", source_text(doc["source"]))
    line("chosen by", f"{doc['in_use']}  ({doc['path']})")
    line("format", doc["format"])
    date = doc["date"] or "(not in the file)"
    if doc["newest_record_date"]:
        date += f"; newest record date {doc['newest_record_date']}"
    line("date", date)
    line("records", f"{doc['records']:,} ("
         + ", ".join(f"{k} {v:,}" for k, v in doc["records_per_transport"].items())
         + f"); names without a port {doc['names_without_port']:,}; distinct names on a "
         f"port {doc['distinct_names']:,}")
    if doc["services"]:
        line("services", f"{doc['services']} ({doc['local_records']:,} local records win)")
    if doc["skipped_records"]:
        line("skipped", f"{counted(doc['skipped_records'], 'malformed record')}; "
             f"first: {doc['problems'][0]}")
    table = Table(title="ports per transport and state", title_justify="left")
    table.add_column("transport")
    keys = list(doc["ports"]["tcp"])
    for key in keys:
        table.add_column(key.replace("_", " "), justify="right")
    for tname in TRANSPORT_NAMES:
        table.add_row(tname, *(f"{doc['ports'][tname][key]:,}" for key in keys))
    print_whole(console, table)


@registry.command()
@click.option("--url", help=f"Download from URL instead of IANA ({IANA_CSV_URL}).")
@click.option(
    "--file",
    "file",
    type=PathText(path_type=str),  # a directory: the registry's error, exit 6
    help="Install a registry file already on disk (IANA CSV or XML, services, nmap-services).",
)
@click.option(
    "--min-records",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Refuse a registry with fewer records (a truncated or wrong download).",
)
@click.option(
    "--timeout", type=DOWNLOAD_TIMEOUT, default=60.0, show_default=True, metavar="SECONDS",
    help="Download timeout, seconds (0.001 to 86400): the whole download (name lookup, "
         "connection, TLS handshake, status line and headers too), not each wait."
)
def update(url: str | None, file: str | None, min_records: int, timeout: float) -> None:
    """Download the official registry CSV (or --url/--file), validate it, install it.

    The registry in place is kept unless the new one downloads completely
    within --timeout, is at most 64 MiB, parses without a malformed record and
    has --min-records records (the IANA CSV or XML: port records up to 49151,
    the last port IANA lists).  The installed registry is used by
    default from then on (after --registry and $PORTANNOT_REGISTRY).
    """
    try:
        check_source(url, file)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    src = install_registry(url=url, file=file, min_records=min_records, timeout=timeout)
    meta = src.meta
    date = meta.get("date") or "no date in the file"
    click.echo(
        f"installed {counted(int(meta.get('records') or 0), 'record')} ({meta.get('format')}, {date}) "
        f"from {meta.get('url') or meta.get('from')} in {src.path}"
    )
