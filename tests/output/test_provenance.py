"""A Parquet file and an API table say what they were made from (output.provenance):
the inputs in order (what the packets' `file` column indexes), the registry and local
services file that named the services, and the flow timeouts."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from capgen import dpkt_frames
from paths import REGISTRY_FIXTURES, local_capture

import portannot
from portannot.output.provenance import read

SEED = REGISTRY_FIXTURES / "seed.csv"


def test_packets_file_column_indexes_the_recorded_inputs(cli, tmp_path):
    """Each row's file is found again by name: its rows per recorded input are that
    capture's records, as dpkt counts them."""
    a, b = local_capture("demo.pcap"), local_capture("transports.pcap")
    out = tmp_path / "p.parquet"
    code, _, err = cli("packets", str(b), str(a), "-f", "parquet", "-o", str(out), "-q")
    assert code == 0, err
    meta = read(pq.read_schema(out))
    assert meta["command"] == "packets"
    assert meta["inputs"] == [str(b), str(a)]
    files = pq.read_table(out, columns=["file"]).column("file").to_pylist()
    for index, name in enumerate(meta["inputs"]):
        assert files.count(index) == len(dpkt_frames(name))


def test_flows_parquet_records_registry_services_and_timeouts(cli, tmp_path):
    services = tmp_path / "local-services"
    services.write_text("local-thing 9999/tcp\n")
    out = tmp_path / "f.parquet"
    demo = local_capture("demo.pcap")
    code, _, err = cli("flows", str(demo), str(demo), "-f", "parquet", "-o", str(out), "-q",
                       "--registry", str(SEED), "--services", str(services),
                       "--idle-timeout", "1.5")
    assert code == 0, err
    meta = read(pq.read_schema(out))
    assert meta["command"] == "flows"
    assert meta["inputs"] == [str(demo), str(demo)]
    assert str(SEED) in meta["registry"]
    assert meta["services"] == str(services)
    assert meta["idle_timeout"] == 1.5
    assert meta["active_timeout"] is None
    assert meta["portannot"] == portannot.__version__


def test_a_registry_without_a_date_records_null(cli, tmp_path):
    """The IANA CSV carries no date (`registry info`: "not in the file"): the record
    says null, as it says null for no --services file, not "" (a string no date reader
    takes); a registry with one (the XML's <updated>) records it."""
    out = tmp_path / "f.parquet"
    demo = local_capture("demo.pcap")
    code, _, err = cli("flows", str(demo), "-o", str(out), "-q", "--registry", str(SEED))
    assert code == 0, err
    assert read(pq.read_schema(out))["registry_date"] is None
    table = portannot.flows(demo, registry=REGISTRY_FIXTURES / "seed.xml")
    assert read(table.schema)["registry_date"] == "2025-10-22"


@pytest.mark.parametrize("call", ["flows", "packets", "iter_flows", "iter_packets"])
def test_api_tables_and_batches_carry_it(call):
    demo = local_capture("demo.pcap")
    kwargs = {"active_timeout": 30} if "flows" in call else {}
    result = getattr(portannot, call)([demo], registry=SEED, **kwargs)
    schema = result.schema if not call.startswith("iter") else next(iter(result)).schema
    meta = read(schema)
    assert meta["inputs"] == [str(demo)]
    assert meta["command"] == call.removeprefix("iter_")
    assert str(SEED) in meta["registry"]
    if "flows" in call:
        assert (meta["idle_timeout"], meta["active_timeout"]) == (None, 30.0)
        # the values are the rows' own: a flow longer than the timeout would be split
        table = portannot.flows([demo], registry=SEED, active_timeout=30)
        assert max(table.column("duration").to_pylist()) <= 30.0


def test_a_capture_without_flows_still_says_what_was_read(tmp_path):
    from capgen import write_pcap

    empty = write_pcap(tmp_path / "empty.pcap", [])
    table = portannot.flows(empty)
    assert table.num_rows == 0
    assert read(table.schema)["inputs"] == [str(empty)]


def test_a_file_name_that_is_not_utf8_is_named_with_escapes(cli, tmp_path):
    """Linux file names are bytes: the metadata's JSON, which must be UTF-8, failed on
    one that is not, and took every Parquet output and API call on such a file down
    with it. It names the file as summary --json does: b'x\\xff.pcap' -> 'x\\\\xff.pcap'."""
    import os
    import shutil

    name = os.fsdecode(bytes(tmp_path) + b"/x\xff.pcap")
    shutil.copyfile(local_capture("demo.pcap"), name)
    out = tmp_path / "f.parquet"
    code, _, err = cli("flows", name, "-f", "parquet", "-o", str(out))
    assert code == 0, err
    expected = f"{tmp_path}/x\\xff.pcap"
    assert read(pq.read_schema(out))["inputs"] == [expected]
    assert read(portannot.flows(name).schema)["inputs"] == [expected]
    assert pq.read_table(out).num_rows == portannot.flows(name).num_rows > 0


def test_standard_input_is_named_alike_in_metadata_and_summary(tmp_path):
    """"-" read as an input is "<stdin>" in the Parquet metadata's inputs and in
    `summary --json`'s files, as in its `unreadable` list and the messages; the summary
    said "-" while the metadata said "<stdin>" for the same run's inputs."""
    import json
    import subprocess
    import sys

    demo = local_capture("demo.pcap")
    out = tmp_path / "flows.parquet"
    run = [sys.executable, "-m", "portannot"]
    flows = subprocess.run([*run, "flows", "-", str(demo), "-o", str(out), "-q"],
                           input=demo.read_bytes(), capture_output=True, check=True)
    summary = subprocess.run([*run, "summary", "--json", "-", str(demo)],
                             input=demo.read_bytes(), capture_output=True, check=True)
    assert not flows.stderr
    assert read(pq.read_schema(out))["inputs"] == ["<stdin>", str(demo)]
    assert json.loads(summary.stdout)["files"] == ["<stdin>", str(demo)]


def test_provenance_of_a_loaded_registry_is_that_of_its_table(tmp_path):
    """provenance() given a Registry (what registry= takes) read its attributes as a
    table's: 'services' was null for a registry loaded with local names."""
    from portannot.output.provenance import provenance
    from portannot.registry import load_registry

    local = tmp_path / "local"
    local.write_text("corp-web 80/tcp\n", encoding="utf-8")
    registry = load_registry(SEED, local)
    assert provenance("flows", ["a.pcap"], registry) == provenance(
        "flows", ["a.pcap"], registry.table())
    assert read_meta(provenance("flows", ["a.pcap"], registry))["services"] == str(local)


def read_meta(metadata):
    import json

    return json.loads(metadata[b"portannot"])
