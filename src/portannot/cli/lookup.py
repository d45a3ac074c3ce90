"""`portannot lookup QUERY...`: what the registry says about ports and names."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import click

from portannot.cli.app import check_streams, registry_options, stdout_console
from portannot.errors import NotFoundError
from portannot.registry import IANA_FORMATS, PortState, Registry, ServiceRecord, load_registry
from portannot.transport import TRANSPORT_NAMES

#: ASCII digits only (\d takes any script's: "٨٠" was port 80), any number of them, so that
#: every all-digit query past 65535 is the usage error, not a name "not in the registry"
_PORT_QUERY = re.compile(r"^([0-9]+)(?:/([A-Za-z]+))?$")


@dataclass
class Entry:
    """One answer: records equal but for their transport, merged (grubd tcp+udp)."""

    record: ServiceRecord
    transports: list[str]
    states: list[str]
    primary: str = ""  #: the primary name at this port when this record's name is an alias
    local: bool = False
    aliases: list[str] = field(default_factory=list)

    def to_dict(self, registry: Registry) -> dict[str, Any]:
        rec = self.record
        return {
            "name": rec.name,
            "aliases": self.aliases,
            "alias_of": self.primary,
            "port": rec.port_text,
            "port_range": [rec.port_lo, rec.port_hi] if rec.has_port else None,
            "transports": self.transports,
            "state": "/".join(self.states),
            "description": rec.description,
            "assignee": rec.assignee,
            "assignee_names": registry.person_names(rec.assignee),
            "contact": rec.contact,
            "contact_names": registry.person_names(rec.contact),
            "registration_date": rec.registration_date,
            "modification_date": rec.modification_date,
            "reference": rec.reference,
            "service_code": rec.service_code,
            "unauthorized_use_reported": rec.unauthorized_use,
            "assignment_notes": rec.assignment_notes,
            "frequency": rec.frequency,
            "source": "local" if self.local else "registry",
        }


def _merge_key(rec: ServiceRecord) -> tuple[Any, ...]:
    return (
        rec.name,
        rec.port_lo,
        rec.port_hi,
        rec.description,
        rec.assignee,
        rec.contact,
        rec.registration_date,
        rec.modification_date,
        rec.reference,
        rec.assignment_notes,
    )


def _entries(
    registry: Registry, records: list[ServiceRecord], only: str | None = None
) -> list[Entry]:
    """Merge records that differ only by transport; attach states and alias facts."""
    table = registry.table()
    merged: dict[tuple[Any, ...], Entry] = {}
    for rec in records:
        transports = [
            t
            for t in (rec.transports or ((rec.transport,) if rec.transport else ()))
            if only is None or t == only
        ]
        if rec.has_port and not transports:
            continue
        key = _merge_key(rec) + (registry.is_local(rec),)
        entry = merged.get(key)
        if entry is None:
            entry = merged[key] = Entry(rec, [], [], local=registry.is_local(rec))
        for t in transports:
            if t not in entry.transports:
                entry.transports.append(t)
    out = list(merged.values())
    for entry in out:
        rec = entry.record
        if rec.has_port and rec.port_lo is not None:
            states = {
                table.state_at(t, p).label
                for t in entry.transports
                for p in (rec.port_lo, rec.port_hi or rec.port_lo)
            }
            primaries = {table.name_at(t, rec.port_lo) for t in entry.transports}
            primaries.discard("")
            if rec.name and rec.name not in primaries and primaries:
                entry.primary = sorted(primaries)[0]
            entry.states = sorted(states)
        else:
            entry.states = ["no port"]
        entry.aliases = list(rec.aliases)
        if rec.name and not entry.primary and rec.port_lo is not None:
            others = [
                r.name
                for t in entry.transports
                for r in registry.at_port(rec.port_lo, t)
                if r.name and r.name != rec.name and r.port_lo == rec.port_lo
            ]
            entry.aliases += [n for n in dict.fromkeys(others) if n not in entry.aliases]
    return out


def _port(digits: str) -> int:
    """The port the digits say; past 65535, 65536 (int() refuses thousands of digits)."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 5 else 65536


def resolve_query(registry: Registry, query: str) -> tuple[list[Entry], list[dict[str, Any]]]:
    """Entries for one query, plus bare per-transport states for a port without records."""
    if not query.strip():
        raise click.BadParameter("an empty query (a port, PORT/TRANSPORT or a name)",
                                 param_hint="QUERY")
    match = _PORT_QUERY.match(query.strip())
    if not match:
        return _entries(registry, registry.by_name(query.strip())), []
    port = _port(match.group(1))
    if port > 65535:
        raise click.BadParameter(f"{query}: port beyond 65535", param_hint="QUERY")
    proto = match.group(2)
    if proto is not None:
        proto = proto.lower()
        if proto not in TRANSPORT_NAMES:
            raise click.BadParameter(
                f"{query}: unknown transport {proto!r} (tcp, udp, sctp, dccp)", param_hint="QUERY"
            )
    transports = [proto] if proto else list(TRANSPORT_NAMES)
    entries = _entries(registry, registry.at_port(port, proto), proto)
    covered = {t for e in entries for t in e.transports}
    table = registry.table()
    bare = []
    for t in transports:
        if t in covered:
            continue
        state = table.state_at(t, port)
        if state == PortState.DYNAMIC or table.name_at(t, port):
            bare.append(
                {
                    "port": str(port),
                    "transport": t,
                    "state": state.label,
                    "name": table.name_at(t, port),
                }
            )
    return entries, bare


def _render(
    registry: Registry, query: str, entries: list[Entry], bare: list[dict[str, Any]]
) -> None:
    from rich.table import Table

    console = stdout_console(highlight=False, soft_wrap=False)
    for entry in entries:
        rec = entry.record
        title = rec.name or "(no name)"
        if entry.primary:
            title += f" (alias of {entry.primary})"
        grid = Table(
            title=f"{query}: {title}",
            show_header=False,
            title_justify="left",
            box=None,
            pad_edge=False,
        )
        grid.add_column(style="bold")
        grid.add_column(overflow="fold")
        rows = [
            ("name", rec.name or "-"),
            ("aliases", ", ".join(entry.aliases)),
            ("port", rec.port_text or "(none)"),
            ("transport", ", ".join(entry.transports) or "(none)"),
            ("state", ", ".join(entry.states)),
            ("description", rec.description),
            ("assignee", _people(registry, rec.assignee)),
            ("contact", _people(registry, rec.contact)),
            ("registered", rec.registration_date),
            ("modified", rec.modification_date),
            ("reference", rec.reference),
            ("service code", rec.service_code),
            ("unauthorized use", rec.unauthorized_use),
            ("notes", rec.assignment_notes),
            ("nmap frequency", "" if rec.frequency is None else f"{rec.frequency:g}"),
            ("source", "local --services" if entry.local else ""),
        ]
        for label, value in rows:
            if value or label in ("name", "port", "transport", "state", "description"):
                grid.add_row(label, value)
        console.print(grid)
        console.print()
    for item in bare:
        console.print(
            f"{query}: {item['port']}/{item['transport']} {item['name'] or '(no name)'} - {item['state']}"
        )


def _why_unknown(registry: Registry, query: str) -> str:
    """What a query that matched nothing did not find, said so that it cannot be read
    as more than the registry knows."""
    match = _PORT_QUERY.match(query.strip())
    if not match:
        return f"{query} (no service name or alias)"
    port = _port(match.group(1))
    transports = [match.group(2).lower()] if match.group(2) else list(TRANSPORT_NAMES)
    if registry.format in IANA_FORMATS:
        if not port:  # IANA reserves port 0 everywhere: never "unassigned"
            return f"{query} (no entry on {', '.join(transports)}: port 0 is reserved)"
        return f"{query} (no entry: unassigned on {', '.join(transports)})"
    # a services-style file lists names only: no entry says nothing of assignment
    return f"{query} (no name on {', '.join(transports)} in this {registry.format} file)"


def _people(registry: Registry, text: str) -> str:
    names = registry.person_names(text)
    if not names:
        return text
    return f"{', '.join(names)}  {text}"


@click.command()
@registry_options
@click.argument("queries", metavar="QUERY...", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
def lookup(
    queries: tuple[str, ...], registry: str | None, services: str | None, as_json: bool
) -> None:
    """What the registry says about ports and service names.

    QUERY is PORT/TRANSPORT (443/tcp), PORT (3368: every transport) or a
    service name (mysql; aliases included; 7ksonar has no port).
    Exit code 1 if any query matches nothing. A port is found when the registry
    has a record for it or it is in the dynamic range (49152-65535): "dynamic" is
    an answer; a port without either is not found.
    """
    check_streams()
    reg = load_registry(registry, services)
    results = []
    unknown = []
    for query in queries:
        entries, bare = resolve_query(reg, query)
        if not entries and not bare:
            unknown.append(_why_unknown(reg, query))
        results.append((query, entries, bare))
    if as_json:
        doc = [
            {
                "query": q,
                "found": bool(e or b),
                "matches": [x.to_dict(reg) for x in e],
                "ports": b,
            }
            for q, e, b in results
        ]
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        for q, e, b in results:
            if e or b:
                _render(reg, q, e, b)
    if unknown:
        raise NotFoundError(
            "not in the registry: " + "; ".join(unknown) + f" (registry: {reg.source})"
        )
