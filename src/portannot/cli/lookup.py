"""`portannot lookup QUERY...`: what the registry says about ports and names."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import click

from portannot.cli.app import check_streams, one_line, registry_options, stdout_console
from portannot.errors import NotFoundError
from portannot.registry import IANA_FORMATS, Entry, PortState, Registry, load_registry
from portannot.registry.source import source_text
from portannot.transport import TRANSPORT_NAMES

#: ASCII digits only (\d takes any script's: "٨٠" was port 80), any number of them, so that
#: every all-digit query past 65535 is the usage error, not a name "not in the registry"
_PORT_QUERY = re.compile(r"^([0-9]+)(?:/(.*))?$", re.DOTALL)
#: the start of a query written as a port: a sign or not, digits, then no letter, digit or
#: '-' ('3com-tsmux', '4-tieropmcli', '914c/g' are IANA names; '443/', '+443', '-1' not)
_PORT_START = re.compile(r"^[+-]?[0-9]+(?![^\W_]|-)")


def _port(digits: str) -> int:
    """The port the digits say; past 65535, 65536 (int() refuses thousands of digits)."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 5 else 65536


@dataclass(frozen=True)
class Query:
    """One QUERY: its text as given, and the port (on one transport, or on all) or the
    name it asks for."""

    text: str
    name: str = ""  #: a name query's name; "" for a port query
    port: int | None = None
    transport: str | None = None  #: PORT/TRANSPORT's transport, lower case

    @property
    def transports(self) -> list[str]:
        """The transports a port query asks about."""
        return [self.transport] if self.transport else list(TRANSPORT_NAMES)


def looks_like_port(text: str) -> bool:
    """Whether a query is written as a port or PORT/TRANSPORT, well or not: it starts as
    a port does (see _PORT_START), or it has an ASCII digit and no letter at all
    ('443-445', ':443'). No service name looks so: RFC 6335 (5.1) gives every name a
    letter, and none of IANA's (914c/g, whois++, 802-11-iapp) starts with a sign, or
    with digits followed by anything but a letter, a digit or '-'."""
    if _PORT_START.match(text):
        return True
    return any(c in "0123456789" for c in text) and not any(c.isalpha() for c in text)


def _usage(text: str, why: str) -> click.BadParameter:
    """A usage error for the query `text`, its control characters escaped as in the
    heading ('7\\n0000', not a newline the error's one line turns into a space)."""
    return click.BadParameter(f"{one_line(text)}: {why}", param_hint="QUERY")


def parse_query(text: str) -> Query:
    """What a QUERY asks for; a usage error for an empty one, one written as a port but
    malformed ('443/', '+443', '-1', '443/tcp/udp'), a port past 65535 or an unknown
    transport. A malformed port was looked up as a name, "not in the registry" (exit 1)."""
    if not text.strip():
        raise click.BadParameter("an empty query (a port, PORT/TRANSPORT or a name)",
                                 param_hint="QUERY")
    query = text.strip()
    match = _PORT_QUERY.match(query)
    if not match:
        if query.startswith("/"):  # a port query without its port; no name starts so
            raise _usage(text, "no port before '/' (443/tcp)")
        if looks_like_port(query):
            raise _usage(text, "not a port (0-65535, digits only), PORT/TRANSPORT (443/tcp) "
                               "or service name")
        return Query(text, name=query)
    port = _port(match.group(1))
    if port > 65535:
        raise _usage(text, "port beyond 65535")
    proto = match.group(2)
    if proto == "":
        raise _usage(text, "no transport after '/' (tcp, udp, sctp, dccp)")
    if proto is not None:
        proto = proto.lower()
        if proto not in TRANSPORT_NAMES:
            raise _usage(text, f"unknown transport {proto!r} (tcp, udp, sctp, dccp)")
    return Query(text, port=port, transport=proto)


def resolve_query(registry: Registry, query: Query) -> tuple[list[Entry], list[dict[str, Any]]]:
    """Entries for one query, plus bare per-transport states for a port without records."""
    if query.port is None:
        return registry.name_entries(query.name), []
    port = query.port
    entries = registry.port_entries(port, query.transport)
    covered = {t for e in entries for t in e.transports}
    table = registry.table()
    bare = []
    for t in query.transports:
        if t in covered:
            continue
        state = table.state_at(t, port)
        if state == PortState.DYNAMIC or table.name_at(t, port):
            bare.append(
                {
                    "port": port,
                    "transport": t,
                    "state": state.label,
                    "name": table.name_at(t, port) or None,
                }
            )
    return entries, bare


def _render(
    registry: Registry, query: str, entries: list[Entry], bare: list[dict[str, Any]]
) -> None:
    from rich.table import Table
    from rich.text import Text

    console = stdout_console(highlight=False, soft_wrap=False)
    # escaped as in error messages: a query matches with the whitespace around it ignored,
    # and '3136\n' (from a list given as $(cat ports.txt)) split its heading over two lines
    query = one_line(query)
    for entry in entries:
        rec = entry.record
        title = rec.name or "(no name)"
        if entry.primary:
            title += f" (alias of {entry.primary})"
        # the heading on a line of its own: as a table's title it was wrapped to the
        # width of the table's columns ("80/tcp: http (alias of" / "mywebthing)")
        console.print(Text(f"{query}: {one_line(title)}", style="italic"), soft_wrap=True)
        grid = Table(show_header=False, box=None, pad_edge=False)
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
                grid.add_row(label, one_line(value))
        console.print(grid)
        console.print()
    for item in bare:
        console.print(
            f"{query}: {item['port']}/{item['transport']} {one_line(item['name'] or '(no name)')}"
            f" - {item['state']}"
        )


def json_match(match: dict[str, Any]) -> dict[str, Any]:
    """A registry entry as `lookup --json` gives it: a value the record lacks is null, not
    "" (as a port or a date, "" is no value a program can take for one), and `port` is
    the port as an integer when the record has one port, null for a range (`port_range`
    gives it, [lo, hi]) or no port; the registry's own text was "3306" or "3367-3371"."""
    doc = {k: None if v == "" else v for k, v in match.items()}
    lo_hi = match["port_range"]
    doc["port"] = lo_hi[0] if lo_hi and lo_hi[0] == lo_hi[1] else None
    return doc


def _why_unknown(registry: Registry, query: Query) -> str:
    """What a query that matched nothing did not find, said so that it cannot be read
    as more than the registry knows."""
    if query.port is None:
        return f"{query.text} (no service name or alias)"
    transports = ", ".join(query.transports)
    if registry.format in IANA_FORMATS:
        # port 0 too: IANA reserves it by records of their own on tcp and udp, which are
        # found; it has none for sctp or dccp port 0, unassigned there as in the table
        return f"{query.text} (no entry: unassigned on {transports})"
    # a services-style file lists names only: no entry says nothing of assignment
    return f"{query.text} (no name on {transports} in this {registry.format} file)"


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
    for text in queries:
        query = parse_query(text)
        entries, bare = resolve_query(reg, query)
        if not entries and not bare:
            unknown.append(_why_unknown(reg, query))
        results.append((text, entries, bare))
    if as_json:
        doc = [
            {
                "query": q,
                "found": bool(e or b),
                "matches": [json_match(x.to_dict(reg)) for x in e],
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
            "not in the registry: " + "; ".join(unknown) + f" (registry: {source_text(reg.source)})"
        )
