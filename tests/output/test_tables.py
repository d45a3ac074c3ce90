"""output.tables: which columns the Arrow schemas declare nullable, against the rows
themselves, README's column table, and the Parquet file's repetition of each column."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from paths import REGISTRY_FIXTURES, local_capture

import portannot


def api_table(kind: str, path: Path) -> pa.Table:
    return portannot.packets(path) if kind == "packets" else portannot.flows(path)


#: captures whose packets between them leave every optional column empty somewhere:
#: non-IP frames, ICMP, fragments, untagged and tagged frames, flows of every transport
#: with and without a named service
NULL_CAPTURES = ("demo.pcap", "transports.pcap", "fragments.pcap", "link-ethernet-vlan.pcap",
                 "malformed.pcap", "truncated.pcap")


README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _readme_nullable_flow_columns() -> set[str]:
    """The flow columns README's "Flows: columns" table calls nullable."""
    table = README.split("### Flows: columns", 1)[1].split("\n\n| column |", 1)[1].split("\n\n", 1)[0]
    found = set()
    for row in table.splitlines()[2:]:
        names, kind = row.split("|")[1:3]
        if "nullable" in kind:
            found.update(n.strip(" `") for n in names.split(","))
    return found


def _readme_nullable_columns_in_the_pandas_note() -> dict[str, set[str]]:
    """The columns README's pandas note lists as null where they do not apply."""
    note = " ".join(README.split("A value is null where it does not apply", 1)[1]
                    .split("Of these the integers", 1)[0].split())
    flows, packets = note.split("Among flows:", 1)[1].split("Among packets:", 1)
    return {"flows": set(re.findall(r"`(\w+)`", flows)),
            "packets": set(re.findall(r"`(\w+)`", packets))}


@pytest.mark.parametrize("kind", ["packets", "flows"])
def test_columns_declared_not_null_are_never_null(kind, cli, tmp_path):
    """The schema says which columns may hold nulls, and Parquet keeps a not-null column
    as REQUIRED (no definition levels). The declaration must be true of the rows (a
    column declared not null never has one, on captures of every kind of packet), and
    no looser than needed (each nullable column does have a null in them); it is what
    README says: the flows' column table, and the pandas note's lists for both."""
    tables = [api_table(kind, local_capture(name)) for name in NULL_CAPTURES]
    schema = tables[0].schema
    assert all(t.schema == schema for t in tables)
    nullable = {f.name for f in schema if f.nullable}
    nulls = {name: sum(t.column(name).null_count for t in tables) for name in schema.names}
    assert {name for name, n in nulls.items() if n} == nullable, nulls
    if kind == "flows":
        assert nullable == _readme_nullable_flow_columns()
    assert nullable == _readme_nullable_columns_in_the_pandas_note()[kind]
    out = tmp_path / f"{kind}.parquet"
    code, _, err = cli(kind, str(local_capture("demo.pcap")), "-f", "parquet", "-o", str(out), "-q")
    assert code == 0, err
    levels = {c.name: c.max_definition_level for c in pq.ParquetFile(out).schema}
    assert {name for name, level in levels.items() if level} == nullable


def test_first_ts_and_last_ts_are_the_earliest_and_latest_times(tmp_path, cli):
    """A flow whose packets come out of time order (a capture merged from two taps, a
    clock stepped back): first_ts and last_ts are its earliest and latest packet times,
    not its first and last packets' (dpkt's times of the three frames: 5, 3 and 9 s,
    so 3 and 9, duration 6). README's column table and --help said "the flow's first and
    last packet" and "after its first packet" (--active-timeout, timed from first_ts)."""
    from capgen import write_pcap
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    frame = bytes(Ether() / IP(src="192.0.2.1", dst="198.51.100.2") / UDP(sport=4000, dport=53))
    path = write_pcap(tmp_path / "order.pcap", [(t * 10**9, frame) for t in (5, 3, 9)])
    row = portannot.flows(path).to_pylist()[0]
    assert (row["first_ts"].timestamp(), row["last_ts"].timestamp(), row["duration"]) == (3, 9, 6)
    table = README.split("### Flows: columns", 1)[1]
    [line] = [ln for ln in table.splitlines() if ln.startswith("| `first_ts`, `last_ts` |")]
    assert "earliest and latest packet times" in line and "first and last packet |" not in line
    code, out, _ = cli("flows", "--help")
    assert code == 0 and "after its first packet" not in " ".join(out.split())
    assert "earliest packet time" in " ".join(out.split())


def _joined_by_hand(services: object) -> tuple[list[pa.RecordBatch], list[pa.RecordBatch]]:
    """README's hand-joined stages over demo.pcap, each stage given `services`."""
    from portannot.aggregate import FlowTable, flow_columns
    from portannot.capture import CaptureReader
    from portannot.decode import Decoder
    from portannot.output import flow_batch, packet_batch

    decoder, flows = Decoder(), FlowTable()
    packet_rows, ended = [], []
    for records in CaptureReader(local_capture("demo.pcap")):
        packets = decoder.decode(records)
        packet_rows.append(packet_batch(packets, services))  # type: ignore[arg-type]
        ended.append(flows.update(packets))
    ended.append(flows.drain())
    flow_rows = [flow_batch(flow_columns(raw, services), services)  # type: ignore[arg-type]
                 for raw in ended]
    return packet_rows, flow_rows


def test_the_stages_take_a_loaded_registry_as_the_functions_do() -> None:
    """README: `registry=` takes a registry loaded with load_registry() or load_table();
    the stages took only the latter: flow_columns and packet_batch given a Registry were
    AttributeError "'Registry' object has no attribute 'lookup'", flow_batch "... 'names'".
    A Registry now names the rows as its table does."""
    from portannot.registry import load_registry, load_table

    seed = REGISTRY_FIXTURES / "seed.csv"
    want = _joined_by_hand(load_table(seed))
    got = _joined_by_hand(load_registry(seed))
    for mine, theirs in zip(got, want, strict=True):
        assert pa.Table.from_batches(mine).equals(pa.Table.from_batches(theirs))
    assert "http" in pa.Table.from_batches(got[1]).column("service").to_pylist()


def test_a_stage_given_no_table_says_what_it_takes() -> None:
    """A path or None where the table goes was an AttributeError from deep inside."""
    with pytest.raises(TypeError, match="ServiceTable.*Registry.*not str"):
        _joined_by_hand(str(REGISTRY_FIXTURES / "seed.csv"))


def _decoded_demo():
    from portannot.capture import CaptureReader
    from portannot.decode import Decoder

    return Decoder().decode(next(iter(CaptureReader(local_capture("demo.pcap")))))


@pytest.mark.parametrize("field", ["ip_version", "src_addr", "status", "src_port"])
def test_packet_batch_refuses_columns_of_another_length_before_its_kernel(field: str) -> None:
    """packet_batch formats addresses in a compiled loop over src_addr's rows that reads
    ip_version unchecked: an ip_version of 1 row under 270 addresses was read 269 rows past
    its end (3,000,000 rows: 3 MB past), and only then did pyarrow say 'Arrays were not all
    the same length: 1 vs 270'. It now checks the batch as FlowTable.update does."""
    from dataclasses import replace

    from portannot.output import packet_batch
    from portannot.registry import load_table

    b = _decoded_demo()
    short = replace(b, **{field: getattr(b, field)[:1].copy()})
    with pytest.raises(ValueError, match=f"PacketBatch.{field} has 1 rows, {len(b)} packets"):
        packet_batch(short, load_table(REGISTRY_FIXTURES / "seed.csv"))
