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
        (protos, "proto"),
    ):
        assert list(table.names_of(transports, ports, by=by)) == expected
    idx = table.lookup(codes, ports, by="code")
    assert idx.dtype == np.int32 and list(table.names[idx]) == expected
    assert list(table.states_of(protos, ports, by="proto")) == [1, 1, 1, 1, 1, 0]


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
    assert table.name_at(17, 3136, by="proto") == "grubd" and table.name_at("tcp", 3136) == "grubd"


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


def test_integers_are_protocol_numbers_only_when_asked(table: ServiceTable) -> None:
    """A column of IP protocol numbers that happens to hold only 0..3 (ICMP, IGMP) names
    nothing by="proto": integers are read as codes only with by="code"."""
    ports = np.array([80, 80, 80])
    assert list(table.names_of(np.array([1, 2, 3]), ports, by="proto")) == ["", "", ""]
    assert list(table.names_of(np.array([1, 2, 3], dtype=np.uint8), ports, by="proto")) == [
        "", "", ""]
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


def test_transport_codes_are_never_read_as_protocol_numbers(table: ServiceTable) -> None:
    """portannot's own codes (Transport.TCP is 0, UDP 1) read as IP protocol numbers
    named nothing, silently: names_of([Transport.TCP], [80]) was [''], and a PacketBatch's
    `transport` column given without by= named every port ''. Transport members are codes
    by their type; a bare integer array is ambiguous and must say which it is."""
    ports = np.array([80, 3136])
    assert list(table.names_of([Transport.TCP, Transport.UDP], ports)) == ["http", "grubd"]
    assert table.name_at(Transport.UDP, 3136) == "grubd"
    assert table.state_at(Transport.TCP, 0) == PortState.RESERVED
    for column in (np.array([0, 1], dtype=np.uint8), np.array([6, 17]), [6, 17]):
        with pytest.raises(TypeError, match="by='proto'.*by='code'"):
            table.names_of(column, ports)
    with pytest.raises(TypeError, match="by='code'"):
        table.name_at(6, 80)
    assert table.name_at(6, 80, by="proto") == table.name_at(0, 80, by="code") == "http"
    assert table.state_at(17, 3136, by="proto") == PortState.ASSIGNED


@pytest.mark.parametrize(("transports", "by"), [
    (np.array(["tcp"]), "code"), (np.array(["tcp"]), "proto"), (np.array([6]), "name"),
    ([Transport.TCP], "proto"), (np.array([True]), "code"), (np.array([6j]), "proto"),
])
def test_a_transport_of_another_kind_than_by_says_is_refused(
        table: ServiceTable, transports: object, by: str) -> None:
    """Names given with by='code' or 'proto' were read as names anyway, and Transport
    members given with by='proto' as protocol numbers (TCP, 0, is HOPOPT): a TypeError;
    booleans and complex numbers are neither."""
    with pytest.raises(TypeError, match="by=|names or integers"):
        table.names_of(transports, [80], by=by)  # type: ignore[arg-type]


def test_an_unknown_by_is_refused(table: ServiceTable) -> None:
    """by='cod' (a typo) with names was taken as names; with integers, a ValueError."""
    for transports in (np.array(["tcp"]), np.array([0])):
        with pytest.raises(ValueError, match="by must be"):
            table.names_of(transports, [80], by="cod")  # type: ignore[arg-type]


def test_every_spelling_matches_the_full_registry_file(shared_registry: Path) -> None:
    """names_of by name, by code (Transport members and uint8 arrays) and by IP protocol
    number, over every port of the four transports, against the full IANA CSV read with
    the csv module (tests/flow_reference.iana_names)."""
    from portannot.registry import load_table
    from portannot.transport import IP_PROTOCOLS, TRANSPORT_NAMES

    csv_path = shared_registry / "service-names-port-numbers.csv"
    names = iana_names(csv_path)
    table = load_table(csv_path)
    ports = np.arange(65536)
    for code, tname in enumerate(TRANSPORT_NAMES):
        want = [names.get((tname, int(p)), "") for p in ports]
        assert sum(1 for w in want if w) > (1000 if code < 2 else 5)  # dccp: 9
        by_name = table.names_of(np.full(65536, tname.upper()), ports, by="name")
        by_code = table.names_of(np.full(65536, code, np.uint8), ports, by="code")
        by_proto = table.names_of(np.full(65536, IP_PROTOCOLS[code]), ports, by="proto")
        by_member = table.names_of([Transport(code)] * 65536, ports)
        for got in (by_name, by_code, by_proto, by_member):
            assert list(got) == want


def test_a_packets_tables_columns_with_nulls_are_looked_up(fixtures: Path) -> None:
    """lookup's docstring names a packets table's ip_proto for by='proto', but every
    capture with a packet that is not IP (or has no ports) has nulls there, which numpy
    and to_pandas() give as float64 NaN: 'transports must be names or integers, not
    float64', and likewise 'ports must be integers' for src_port and dst_port. A NaN is
    now no transport or no port (no name), as Transport.NONE is; a fraction is refused.
    Checked against seed.csv read with csv, by hand's protocol numbers."""
    from paths import local_capture

    import portannot

    table = build_table(parse_file(fixtures / "seed.csv").records)
    names = iana_names(fixtures / "seed.csv")
    packets = portannot.packets(local_capture("demo.pcap"), registry=table)
    assert packets.column("ip_proto").null_count and packets.column("dst_port").null_count
    by_hand = {6: "tcp", 17: "udp", 132: "sctp", 33: "dccp"}
    want = [names.get((by_hand.get(proto, ""), port), "") if port is not None else ""
            for proto, port in zip(packets.column("ip_proto").to_pylist(),
                                   packets.column("dst_port").to_pylist(), strict=True)]
    assert sum(1 for w in want if w) > 10
    frame = packets.to_pandas()
    for protos, ports in ((packets["ip_proto"], packets["dst_port"]),
                          (frame["ip_proto"], frame["dst_port"])):
        assert list(table.names_of(protos, ports, by="proto")) == want
    assert list(table.names_of(packets["transport"], packets["dst_port"], by="name")) == want
    assert table.states_of(np.array([np.nan]), np.array([80]), by="proto")[0] == 0
    with pytest.raises(TypeError, match="whole numbers"):
        table.names_of(np.array(["tcp"]), np.array([80.5]))
    with pytest.raises(TypeError, match="whole numbers"):
        table.names_of(np.array([6.5]), np.array([80]), by="proto")
