"""Look-up entries (registry.catalog): each entry's `alias_of` and aliases are the
table's at the port asked about, true of every transport the entry lists; its state is
the record's own, as its description beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from portannot.registry import Registry, parse_file
from portannot.registry.services_file import parse_services

FULL_CSV = "service-names-port-numbers.csv"


@pytest.fixture(scope="module")
def iana(shared_registry: Path) -> Registry:
    return Registry(parse_file(shared_registry / FULL_CSV))


def test_alias_of_is_per_transport(iana: Registry) -> None:
    """113/tcp's first record is ident and 113/udp has only auth; 999 is garcon on tcp
    and applix on udp, puprouter an alias on both (the CSV's rows, read by hand)."""
    facts = {(e.record.name, tuple(e.transports), e.primary)
             for name in ("auth", "puprouter") for e in iana.name_entries(name)}
    assert facts == {("auth", ("tcp",), "ident"), ("auth", ("udp",), ""),
                     ("puprouter", ("tcp",), "garcon"), ("puprouter", ("udp",), "applix")}


def test_every_named_port_agrees_with_the_table(iana: Registry) -> None:
    """For every name with a single port, on every transport an entry lists, alias_of is
    the table's name at that port when it is another name, else none: the entries agree
    with the table (which test_table.py holds to the registry file); the facts above
    are the ones read off the file by hand."""
    table = iana.table()
    wrong = []
    for name in sorted({r.name for r in iana.records if r.name and r.has_port}):
        for e in iana.name_entries(name):
            rec = e.record
            if rec.port_lo is None or rec.port_hi not in (None, rec.port_lo):
                continue  # a name without a port, or a range
            for t in e.transports:
                own = table.name_at(t, rec.port_lo)
                want = own if own and own != rec.name else ""
                if e.primary != want:
                    wrong.append(f"{name} {rec.port_lo}/{t}: alias_of {e.primary!r}, table {own!r}")
    assert not wrong, "\n".join(wrong[:20])


def test_a_range_is_described_at_the_port_asked_about(iana: Registry) -> None:
    """7983-7997/tcp is one Unassigned row and 7997/tcp is pushns: 7990 is unassigned
    (the range's ends said "assigned/unassigned")."""
    (entry,) = iana.port_entries(7990, "tcp")
    assert (entry.record.port_lo, entry.record.port_hi, entry.states) == (7983, 7997, ["unassigned"])
    (pushns,) = [e for e in iana.port_entries(7997, "tcp") if e.record.name]
    assert pushns.record.name == "pushns" and pushns.states == ["assigned"]


def test_a_record_has_the_state_its_own_text_gives(iana: Registry, shared_registry: Path) -> None:
    """An unnamed range had the state of the port asked about: at 7775 the "Unassigned"
    range 7748-7776 was "assigned, reserved" (inetfs on tcp, a "Reserved" record of its
    own on udp), a pair that names no transport, beside its own "Unassigned". Every port
    that an unnamed range of the CSV covers and another record lists too: each entry's
    state is what its record's text says, by the csv module (a name: assigned)."""
    from iana_reference import _reserving, rows

    ranges, single = [], set()
    for name, field, _t, _description in rows(shared_registry / FULL_CSV):
        lo, _, hi = field.partition("-")
        if not name and hi:
            ranges.append((int(lo), int(hi)))
        elif lo:
            single.add(int(lo))
    inside = sorted({p for p in single for lo, hi in ranges if lo <= p <= hi})
    wrong, differs = [], 0
    for port in inside:
        table_states = {iana.table().state_at(t, port).label for t in ("tcp", "udp")}
        for e in iana.port_entries(port):
            rec = e.record
            want = ("assigned" if rec.name else
                    "reserved" if _reserving(rec.description) else "unassigned")
            differs += table_states != {want}
            if e.states != [want]:
                wrong.append(f"{port} {rec.port_text or rec.port_lo}: {e.states}, "
                             f"its text {rec.name or rec.description!r}")
    assert inside and differs > 0  # ports whose state is not the range's word
    assert not wrong, "\n".join(wrong[:20])


def test_a_local_range_is_the_name_inside_it(iana: Registry) -> None:
    """A --services range over a registered port: asked about 9001, the range's name is
    the port's (the table's), and IANA's etlservicemgr there is its alias, not the other
    way round as at the range's first port, where the local `mine` is the name."""
    local = parse_services("mine\t9000/tcp\nrng\t9000-9002/tcp\n", "local")
    reg = Registry(parse_file(iana.path), local=local)
    assert reg.table().name_at("tcp", 9001) == "rng"
    got = {e.record.name: (e.primary, e.aliases) for e in reg.port_entries(9001, "tcp")}
    assert got["rng"] == ("", ["etlservicemgr"])
    assert got["etlservicemgr"] == ("rng", [])
    at_9000 = {e.record.name: e.primary for e in reg.port_entries(9000, "tcp")}
    assert at_9000["rng"] == "mine"


def test_nmap_frequencies_stay_with_their_transport() -> None:
    parsed = parse_services("http 80/tcp 0.484143\nhttp 80/udp 0.035767\nhttp 80/sctp 0.000000\n",
                            "nmap", nmap=True)
    got = {(tuple(e.transports), e.record.frequency) for e in Registry(parsed).port_entries(80)}
    assert got == {(("tcp",), 0.484143), (("udp",), 0.035767), (("sctp",), 0.0)}
