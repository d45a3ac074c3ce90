"""The registry's records with indexes for look-ups (by name, by port, merged into
entries for `portannot lookup`), and its table.

The packet stages only need the :class:`ServiceTable`; the records (a few MB
of text) are loaded for look-ups by name or for the full details of a port.
"""

from __future__ import annotations

import numbers
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from portannot.registry.record import ParseProblem, ParseResult, Person, ServiceRecord, person_ids
from portannot.registry.table import ServiceTable, build_table


@dataclass
class Entry:
    """One answer to a look-up: records equal but for their transport, merged (grubd
    tcp+udp), with the state the record gives its ports and the other names there."""

    record: ServiceRecord
    transports: list[str]
    states: list[str]
    primary: str = ""  #: the primary name at this port when this record's name is an alias
    local: bool = False
    aliases: list[str] = field(default_factory=list)

    def to_dict(self, registry: Registry) -> dict[str, Any]:
        """Plain data (`portannot lookup --json`), people named from `registry`'s list."""
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
    """What records must share to be one entry: all but the transport."""
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
        rec.frequency,  # nmap's: a port's open frequency differs by transport
    )


class Registry:
    """Records of one registry (plus optional local ``--services`` records).

    ``records`` keep registry order; ``local_records`` come from ``--services``
    and win over the registry in the table and in look-ups.
    """

    def __init__(
        self,
        parsed: ParseResult,
        source: str | None = None,
        date: str | None = None,
        local: ParseResult | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.records: list[ServiceRecord] = parsed.records
        self.people: dict[str, Person] = parsed.people
        self.format: str = parsed.format
        self.path: str = parsed.path
        self.source: str = source if source is not None else parsed.path
        self.date: str = date if date is not None else parsed.date
        self.problems: list[ParseProblem] = list(parsed.problems)
        self.local_records: list[ServiceRecord] = local.records if local else []
        self.local_path: str = local.path if local else ""
        if local:
            self.problems.extend(local.problems)
        self.meta: dict[str, Any] = dict(meta or {})
        self._table: ServiceTable | None = None
        self._by_name: dict[str, list[ServiceRecord]] | None = None
        self._by_port: dict[int, list[ServiceRecord]] | None = None

    # -- table ----------------------------------------------------------------

    def table(self) -> ServiceTable:
        """The port table (built once); local names overlaid when present."""
        if self._table is None:
            meta = dict(
                self.meta,
                format=self.format,
                records=len(self.records),
                skipped=len(self.problems),
                problems=[str(p) for p in self.problems[:20]],
                newest_record_date=self.newest_record_date,
            )
            table = build_table(self.records, self.source, self.date, meta)
            if self.local_records:
                table = table.overlay(
                    build_table(self.local_records, self.local_path, dynamic=False)
                )
            self._table = table
        return self._table

    # -- look-ups -------------------------------------------------------------

    def _index(self) -> None:
        by_name: dict[str, list[ServiceRecord]] = defaultdict(list)
        by_port: dict[int, list[ServiceRecord]] = defaultdict(list)
        for rec in self.all_records():
            for name in rec.all_names:
                by_name[name.lower()].append(rec)
            for port in rec.ports():
                by_port[port].append(rec)
        self._by_name, self._by_port = dict(by_name), dict(by_port)

    def all_records(self) -> Iterable[ServiceRecord]:
        """Local records first (they win), then the registry's in order."""
        yield from self.local_records
        yield from self.records

    def is_local(self, rec: ServiceRecord) -> bool:
        return any(rec is r for r in self.local_records)

    def by_name(self, name: str) -> list[ServiceRecord]:
        """Records whose name or alias is ``name`` (case-insensitive), any port or none."""
        if self._by_name is None:
            self._index()
        assert self._by_name is not None
        return list(self._by_name.get(name.lower(), ()))

    def at_port(self, port: int, transport: str | None = None) -> list[ServiceRecord]:
        """Records covering ``port`` (on ``transport`` if given, any case), named and
        unnamed. A port given as text is refused: it would match nothing, silently."""
        if isinstance(port, (str, bytes)) or not isinstance(port, numbers.Integral):
            raise TypeError(f"port must be an integer, not {type(port).__name__}")
        if transport is not None:
            transport = transport.lower()
        if self._by_port is None:
            self._index()
        assert self._by_port is not None
        found = self._by_port.get(port, [])
        if transport is None:
            return list(found)
        return [r for r in found if transport in r.transports]

    def port_entries(self, port: int, transport: str | None = None) -> list[Entry]:
        """What the registry says of ``port`` (on ``transport`` if given) as entries: the
        port's own names, then aliases (a placeholder listed first, shilp before nfs on
        2049, comes after), then records without a name, each group in registry order.

        Names lead so that the first entry names a named port: IANA lists the
        "Unassigned" range 7748-7776 before 7775/tcp's own ``inetfs``.
        """
        entries = self._entries(self.at_port(port, transport), transport, at=port)
        return sorted(entries, key=lambda e: (not e.record.name, bool(e.primary)))

    def name_entries(self, name: str) -> list[Entry]:
        """What the registry says of a name or alias (case-insensitive) as entries."""
        return self._entries(self.by_name(name))

    def _entries(self, records: list[ServiceRecord], only: str | None = None,
                 at: int | None = None) -> list[Entry]:
        """Merge records that differ only by transport; attach states and alias facts.

        The facts are the table's at one port: `at`, the port asked about, else the
        record's own (a range's first). A record's name can be the port's own name on one
        transport and an alias on another (auth is 113/udp's name, an alias of ident on
        113/tcp): the transports are merged only where the name's standing is the same,
        so each entry's `alias_of` is true of every transport it lists."""
        table = self.table()
        merged: dict[tuple[Any, ...], Entry] = {}
        for rec in records:
            transports = [
                t
                for t in (rec.transports or ((rec.transport,) if rec.transport else ()))
                if only is None or t == only
            ]
            if rec.has_port and not transports:
                continue
            port = at if at is not None else rec.port_lo
            local = self.is_local(rec)
            each: list[str | None] = [*transports] or [None]  # None: a record without one
            for t in each:
                primary = ""
                if t is not None and port is not None and rec.name:
                    name = table.name_at(t, port)
                    primary = name if name and name != rec.name else ""
                key = _merge_key(rec) + (local, primary)
                entry = merged.get(key)
                if entry is None:
                    entry = merged[key] = Entry(rec, [], [], primary=primary, local=local)
                if t is not None and t not in entry.transports:
                    entry.transports.append(t)
        out = list(merged.values())
        for entry in out:
            rec = entry.record
            port = at if at is not None else rec.port_lo
            # the record's own word, as its description beside it: the port asked about
            # gave "assigned, reserved" to the "Unassigned" range 7748-7776 (7775: inetfs
            # on tcp, its own "Reserved" record on udp), a pair of no one transport
            entry.states = [rec.state.label] if rec.has_port else ["no port"]
            entry.aliases = list(rec.aliases)
            if rec.name and not entry.primary and port is not None:
                others = [
                    r.name
                    for t in entry.transports
                    for r in self.at_port(port, t)
                    if r.name and r.name != rec.name and r.port_lo == port  # not a range's
                ]
                entry.aliases += [n for n in dict.fromkeys(others) if n not in entry.aliases]
        return out

    def person_names(self, field_text: str) -> list[str]:
        """Readable names for an assignee/contact field, from the people list when known."""
        out = []
        for pid in person_ids(field_text):
            person = self.people.get(pid) or Person(pid)
            out.append(person.display())
        return out

    @property
    def newest_record_date(self) -> str:
        """Latest registration/modification date in the records (the CSV has no date line)."""
        dates = [
            d[:10] for r in self.records for d in (r.registration_date, r.modification_date) if d
        ]
        return max(dates, default="")

    @property
    def names_without_port(self) -> int:
        return sum(1 for r in self.records if r.name and not r.has_port)

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return (
            f"Registry(source={self.source!r}, format={self.format!r}, records={len(self.records)})"
        )
