"""The full IANA registry in ../shared/registry: counts, seed facts, CSV == XML."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from portannot.registry import PortState, Registry, ServiceTable, parse_file
from portannot.transport import TRANSPORT_NAMES

FULL_CSV = "service-names-port-numbers.csv"
FULL_XML = "service-names-port-numbers.xml"
XML_0226 = "service-names-port-numbers.2026-02-26.xml"
CRLF_CSV = "alt/service-names-port-numbers.2026-02-13.crlf.csv"


@pytest.fixture(scope="module")
def csv_registry(shared_registry: Path) -> Registry:
    return Registry(parse_file(shared_registry / FULL_CSV))


@pytest.fixture(scope="module")
def xml_0226(shared_registry: Path) -> Registry:
    return Registry(parse_file(shared_registry / XML_0226))


def _per_transport(reg: Registry) -> Counter[str]:
    return Counter(r.transport or "none" for r in reg.records)


def test_csv_counts(csv_registry: Registry) -> None:
    assert len(csv_registry) == 14_500 and not csv_registry.problems
    assert _per_transport(csv_registry) == {
        "tcp": 6586,
        "udp": 6346,
        "sctp": 93,
        "dccp": 11,
        "none": 1464,
    }
    # 762 port fields are ranges; 6 of them are written "N-N" (one port).
    assert (
        sum(1 for r in csv_registry.records if r.port_hi is not None and r.port_hi != r.port_lo)
        == 756
    )


def test_xml_counts(shared_registry: Path, xml_0226: Registry) -> None:
    assert len(xml_0226) == 14_500 and not xml_0226.problems and xml_0226.date == "2026-02-26"
    latest = Registry(parse_file(shared_registry / FULL_XML))
    assert len(latest) == 14_533 and not latest.problems and latest.date == "2026-08-17"
    assert _per_transport(latest) == {
        "tcp": 6606,
        "udp": 6356,
        "sctp": 93,
        "dccp": 11,
        "none": 1467,
    }
    text = (shared_registry / FULL_XML).read_text(encoding="utf-8")
    assert len(latest.people) == text.count("<person ")


def test_crlf_csv(shared_registry: Path) -> None:
    path = shared_registry / CRLF_CSV
    assert b"\r\n" in path.read_bytes()[:400]
    parsed = parse_file(path)
    assert len(parsed) == 14_499 and not parsed.problems
    assert not any("\r" in r.name or "\r" in r.reference for r in parsed.records)


def test_csv_and_xml_of_one_date_give_identical_tables(
    csv_registry: Registry, xml_0226: Registry
) -> None:
    a, b = csv_registry.table(), xml_0226.table()
    assert list(a.names) == list(b.names)
    assert (a.name_index == b.name_index).all()
    assert (a.state == b.state).all()


def test_csv_and_xml_records_agree(csv_registry: Registry, xml_0226: Registry) -> None:
    """Same records field by field; text compared modulo the exports' whitespace wrapping."""

    def norm(value: object) -> object:
        return re.sub(r"\s+", " ", value).strip() if isinstance(value, str) else value

    fields = (
        "name",
        "port_lo",
        "port_hi",
        "transport",
        "description",
        "assignee",
        "contact",
        "registration_date",
        "modification_date",
        "reference",
        "service_code",
        "unauthorized_use",
        "assignment_notes",
    )
    differ = Counter()
    for c, x in zip(csv_registry.records, xml_0226.records, strict=True):
        for f in fields:
            if norm(getattr(c, f)) != norm(getattr(x, f)):
                differ[f] += 1
    assert not differ


def test_every_port_named_as_the_csv_module_reads_the_file(
    csv_registry: Registry, shared_registry: Path
) -> None:
    """All 4 x 65,536 entries of the table: the first name the file gives the
    (transport, port), read with the csv module, or none."""
    from flow_reference import iana_names

    expected = iana_names(shared_registry / FULL_CSV)
    table = csv_registry.table()
    for t, transport in enumerate(TRANSPORT_NAMES):
        got = table.names[table.name_index[t]]
        want = np.array([expected.get((transport, p), "") for p in range(65536)])
        wrong = np.flatnonzero(got != want)
        assert not wrong.size, [(transport, int(p), got[p], want[p]) for p in wrong[:10]]
    assert len({name for name in expected.values()}) > 5000


@pytest.mark.parametrize("fixture", ["csv_registry", "xml_0226"])
def test_seed_facts_through_the_table(fixture: str, request: pytest.FixtureRequest) -> None:
    reg: Registry = request.getfixturevalue(fixture)
    table: ServiceTable = reg.table()
    assert table.name_at("tcp", 3136) == table.name_at("udp", 3136) == "grubd"
    assert (
        table.name_at("tcp", 3368) == "satvid-datalnk"
        and table.name_at("udp", 3371) == "satvid-datalnk"
    )
    assert table.name_at("tcp", 3260) == "iscsi-target"
    assert reg.by_name("iscsi-target")[0].reference == "[RFC7143]"
    assert table.name_at("tcp", 3306) == "mysql" and table.name_at("tcp", 3360) == "kv-server"
    assert table.name_at("tcp", 80) == "http" and {r.name for r in reg.at_port(80, "tcp")} == {
        "http",
        "www",
        "www-http",
    }
    (onep,) = reg.by_name("1password")
    assert not onep.has_port and table.name_id("1password") == 0
    ksonar = reg.by_name("7ksonar")
    assert {r.transport for r in ksonar} == {"tcp", "udp"} and not any(r.has_port for r in ksonar)
    # facts from PROVENANCE.md
    assert table.name_at("sctp", 2905) == "m3ua" and table.name_at("sctp", 7) == ""
    assert table.name_at("udp", 4789) == "vxlan" and table.name_at("udp", 6696) == "babel"
    assert table.state_at("udp", 6697) == PortState.RESERVED and table.name_at("dccp", 5001) == ""
    assert table.state_at("tcp", 50000) == PortState.DYNAMIC
    assert table.state_at("tcp", 0) == PortState.RESERVED
    assert "Quiñónez" in reg.by_name("abi-instrument")[0].contact


def test_people_names_from_xml(xml_0226: Registry) -> None:
    (abi,) = xml_0226.by_name("abi-instrument")
    assert xml_0226.person_names(abi.contact) == ["Carlo Quiñónez (ThermoFisher Scientific)"]
    (acsp,) = xml_0226.by_name("acsp-server")
    assert xml_0226.person_names(acsp.contact)[0].startswith("Joachim Ståhl")
    assert "Stéphane Magnenat" in xml_0226.person_names("[S_Magnenat]")[0]


def test_port_2049_is_nfs_and_lookup_lists_it_first(csv_registry: Registry) -> None:
    """The CSV's first row on 2049 is shilp, a conflict placeholder (no description);
    nfs is the port's assignment, as Wireshark names it."""
    table = csv_registry.table()
    for t in ("tcp", "udp"):
        assert table.name_at(t, 2049) == "nfs"
        entries = csv_registry.port_entries(2049, t)
        assert [e.record.name for e in entries] == ["nfs", "shilp"]
        assert entries[1].primary == "nfs"


@pytest.mark.parametrize("name", [FULL_CSV, FULL_XML])
def test_every_port_state_as_the_file_read_independently(shared_registry: Path, name: str) -> None:
    """All 4 x 65,536 states against the file read with csv / xml.etree
    (tests/iana_reference.py). udp 7775 and 7997 lie in an earlier "Unassigned" range
    (7748-7776, 7983-7997, no transport) and have a later record of their own saying
    "Reserved": the range's word won, so the table called them unassigned while
    `lookup` showed "Reserved" beside it. The port's own, narrowest record wins."""
    import iana_reference

    path = shared_registry / name
    want = iana_reference.states(path)
    table = Registry(parse_file(path)).table()
    for t, transport in enumerate(TRANSPORT_NAMES):
        got = [PortState(s).label for s in table.state[t]]
        wrong = [(transport, p, got[p], want[transport][p])
                 for p in range(65536) if got[p] != want[transport][p]]
        assert not wrong, wrong[:10]
    assert table.state_at("udp", 7775) == table.state_at("udp", 7997) == PortState.RESERVED
    assert table.state_at("udp", 7776) == table.state_at("udp", 7996) == PortState.UNASSIGNED


def test_a_ports_names_come_before_its_unnamed_records(shared_registry: Path) -> None:
    """7775/tcp and 7997/tcp lie in "Unassigned" ranges listed before their own names
    (inetfs, pushns): the range came first, so a script reading the first match got no
    name for a named port. On every port of the full registry, named entries lead."""
    reg = Registry(parse_file(shared_registry / FULL_XML))
    mixed = []
    for port in range(65536):
        for transport in TRANSPORT_NAMES:
            named = [bool(e.record.name) for e in reg.port_entries(port, transport)]
            if any(named) and not all(named):
                mixed.append((port, transport))
                assert named == sorted(named, reverse=True), (port, transport, named)
    assert (7775, "tcp") in mixed and (7997, "tcp") in mixed
    assert [e.record.name for e in reg.port_entries(7775, "tcp")] == ["inetfs", ""]
