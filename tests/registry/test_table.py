"""ServiceTable: vectorized look-ups, transports in every spelling, saving and loading."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from flow_reference import iana_names

from portannot.registry import PortState, ServiceRecord, ServiceTable, build_table, parse_file
from portannot.transport import Transport


@pytest.fixture
def table(fixtures: Path) -> ServiceTable:
    return build_table(parse_file(fixtures / "seed.csv").records, "seed.csv", "2025-10-22")


def test_layout(table: ServiceTable) -> None:
    assert table.names[0] == ""
    assert table.name_index.dtype == np.int32 and table.name_index.shape == (4, 65536)
    assert table.state.dtype == np.uint8 and table.state.shape == (4, 65536)
    assert table.names[table.name_index[Transport.TCP, 3136]] == "grubd"


def test_lookup_by_codes_names_and_protocol_numbers(table: ServiceTable) -> None:
    ports = np.array([80, 3136, 3306, 3368, 80, 9999], dtype=np.uint16)
    codes = np.array([0, 1, 0, 1, 2, 0], dtype=np.uint8)
    names = np.array(["tcp", "udp", "TCP", "udp", "sctp", "tcp"])
    protos = np.array([6, 17, 6, 17, 132, 6])
    expected = ["http", "grubd", "mysql", "satvid-datalnk", "http", ""]
    for transports, by in (
        (codes, "code"),
        (names, "auto"),
        (protos, "auto"),
        (protos, "proto"),
    ):
        assert list(table.names_of(transports, ports, by=by)) == expected
    idx = table.lookup(codes, ports, by="code")
    assert idx.dtype == np.int32 and list(table.names[idx]) == expected
    assert list(table.states_of(protos, ports)) == [1, 1, 1, 1, 1, 0]


def test_none_transport_bad_ports_and_shapes(table: ServiceTable) -> None:
    assert table.lookup(np.array([Transport.NONE, 1], dtype=np.uint8), np.array([80, 80]),
                        by="code")[0] == 0
    assert table.lookup(np.array([1, 6]), np.array([80, 80]), by="proto")[0] == 0  # ICMP: no ports
    assert list(table.lookup(np.array([0, 0, 0]), np.array([-1, 70000, 80]), by="code")) == [
        0,
        0,
        table.name_id("http"),
    ]
    grid = table.names_of(np.zeros((2, 3), dtype=np.uint8), np.full((2, 3), 3306, dtype=np.uint16),
                          by="code")
    assert grid.shape == (2, 3) and (grid == "mysql").all()
    assert table.states_of(np.array([0]), np.array([60000]), by="code")[0] == PortState.DYNAMIC
    assert table.name_at(17, 3136) == "grubd" and table.name_at("tcp", 3136) == "grubd"


def test_lookup_matches_the_registry_file(table: ServiceTable, fixtures: Path) -> None:
    """Random look-ups, many on ports the seed names, against the names read from
    seed.csv with the csv module (tests/flow_reference.iana_names: a port's first name)."""
    names = iana_names(fixtures / "seed.csv")
    transports = ("tcp", "udp", "sctp", "dccp")  # the codes 0-3, README order
    rng = np.random.default_rng(7)
    codes = rng.integers(0, 4, 5000).astype(np.uint8)
    ports = rng.integers(0, 65536, 5000).astype(np.uint16)
    ports[:500] = rng.choice([0, 80, 3136, 3260, 3306, 3360, 3367, 3371, 3376], 500)
    got = table.names[table.lookup(codes, ports, by="code")]
    want = [names.get((transports[c], int(p)), "") for c, p in zip(codes, ports, strict=True)]
    assert sum(1 for w in want if w) > 200  # named ports were drawn (223)
    assert list(got) == want


def test_save_and_load_round_trip_in_milliseconds(table: ServiceTable, tmp_path: Path) -> None:
    path = tmp_path / "t.table"
    table.save(path)
    start = time.perf_counter()
    loaded = ServiceTable.load(path)
    assert time.perf_counter() - start < 0.2  # a few ms in practice; generous for slow CI
    assert (loaded.name_index == table.name_index).all() and (loaded.state == table.state).all()
    assert list(loaded.names) == list(table.names)
    assert (loaded.source, loaded.date) == ("seed.csv", "2025-10-22")
    assert path.stat().st_size < 1_000_000


def test_overlay_local_names_win(table: ServiceTable, fixtures: Path, tmp_path: Path) -> None:
    local = tmp_path / "local"
    local.write_text("myhttp 80/tcp\nlab 60000/udp # a lab service\n", encoding="utf-8")
    merged = table.overlay(build_table(parse_file(local).records, str(local), dynamic=False))
    assert merged.name_at("tcp", 80) == "myhttp" and merged.name_at("udp", 80) == "http"
    assert (
        merged.name_at("udp", 60000) == "lab"
        and merged.state_at("udp", 60000) == PortState.ASSIGNED
    )
    assert merged.name_at("tcp", 3136) == "grubd"
    assert merged.state_at("tcp", 0) == PortState.RESERVED


def test_integers_are_protocol_numbers_unless_asked(table: ServiceTable) -> None:
    """A column of IP protocol numbers that happens to hold only 0..3 (ICMP, IGMP) names
    nothing: integers are read as codes only with by="code"."""
    ports = np.array([80, 80, 80])
    assert list(table.names_of(np.array([1, 2, 3]), ports)) == ["", "", ""]
    assert list(table.names_of(np.array([1, 2, 3], dtype=np.uint8), ports)) == ["", "", ""]
    assert list(table.names_of(np.array([0, 1, 2]), ports, by="code")) == ["http"] * 3


def test_a_conflict_placeholder_yields_to_the_ports_assignment() -> None:
    """IANA lists `shilp` on 2049 (no description, "<== NOTE Conflict on 2049 !")
    before `nfs`; Wireshark's services file leaves shilp out and names the port nfs.
    A placeholder alone on its port still names it; a name without a description but
    with no conflict note (`ident` before `auth` on 113) stays first, as in Wireshark."""
    note = "<== NOTE Conflict on 2049 !"
    records = [
        ServiceRecord("shilp", 2049, 2049, "tcp", assignment_notes=note),
        ServiceRecord("nfs", 2049, 2049, "tcp", description="Network File System"),
        ServiceRecord("lonely", 7001, 7001, "udp", assignment_notes="Conflict on 7001"),
        ServiceRecord("ident", 113, 113, "tcp"),
        ServiceRecord("auth", 113, 113, "tcp", description="Authentication Service"),
    ]
    table = build_table(records)
    ports = np.array([2049, 7001, 113], dtype=np.uint16)
    assert list(table.names_of(np.array(["tcp", "udp", "tcp"]), ports)) == [
        "nfs", "lonely", "ident"]


def test_the_narrowest_unnamed_record_gives_the_state() -> None:
    """IANA covers udp 7997 by the range ",7983-7997,,Unassigned" and, later, by its own
    ",7997,udp,Reserved": the first record won, so the port was unassigned. A port's own
    (narrowest) record wins whatever the order; of two as narrow, reserved wins."""
    wide = ServiceRecord("", 7983, 7997, None, description="Unassigned")
    own = ServiceRecord("", 7997, 7997, "udp", description="Reserved")
    wide_reserved = ServiceRecord("", 100, 120, "tcp", description="Reserved")
    narrow_free = ServiceRecord("", 110, 110, "tcp", description="De-registered")
    twin_free = ServiceRecord("", 200, 200, "tcp", description="Unassigned")
    twin_reserved = ServiceRecord("", 200, 200, "tcp", description="Reserved")
    for records in ([wide, own, wide_reserved, narrow_free, twin_free, twin_reserved],
                    [own, wide, narrow_free, wide_reserved, twin_reserved, twin_free]):
        table = build_table(records)
        assert table.state_at("udp", 7997) == PortState.RESERVED
        assert table.state_at("tcp", 7997) == table.state_at("udp", 7996) == PortState.UNASSIGNED
        assert table.state_at("tcp", 110) == PortState.UNASSIGNED
        assert table.state_at("tcp", 109) == table.state_at("tcp", 111) == PortState.RESERVED
        assert table.state_at("tcp", 200) == PortState.RESERVED
