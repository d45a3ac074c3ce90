"""Writers: CSV and JSON Lines outputs of the packets and flows commands read back and
compared with values worked out without portannot (tshark's frames, dpkt, the README's
flow rules), Parquet against the API's table with its types, timestamp text at the
capture's precision, and the atomic-write
contract (refuse an existing file without --force, replace it with --force, leave
neither the output nor a ``.part`` temporary behind when a run fails).

The CLI is run in-process (``portannot.cli.main``) except where a resource limit
needs a child process.
"""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import dpkt
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from capgen import write_pcapng_ticks, write_registry
from flow_reference import expected_row, iana_names, rule_flows
from paths import local_capture
from scapy.layers.l2 import Ether
from tshark_oracle import TSHARK, oracle

import portannot
from portannot.errors import ExitCode
from portannot.output import ranking
from portannot.output.jsonl import json_lines
from portannot.output.ranking import top_rows
from portannot.output.writers import JSON_NUMBER, textual

TS = pa.timestamp("ns", tz="UTC")


def api_table(kind: str, path: Path) -> pa.Table:
    return portannot.packets(path) if kind == "packets" else portannot.flows(path)


def _text_ts(ns: int) -> str:
    """A µs capture's time as the text formats write it: seconds, 6 decimals."""
    assert ns % 1000 == 0, ns
    return f"{ns // 10**9}.{ns % 10**9 // 1000:06d}"


@pytest.fixture(scope="module")
def demo_truth(tmp_path_factory) -> tuple[Path, Path, dict[str, list[dict]]]:
    """pcaps/demo.pcap, the hand-written test registry (tests/capgen.py), and the rows
    a text output of each command must hold, worked out without portannot: packets
    from tshark's frames (tests/tshark_oracle.py), IP protocol and link type as dpkt
    reads them; flows by the README's rules applied to tshark's frames
    (tests/flow_reference.py), named from the registry file read with the csv module."""
    if TSHARK is None:
        pytest.skip("tshark not installed")
    cap = local_capture("demo.pcap")
    registry = write_registry(tmp_path_factory.mktemp("registry") / "registry.csv")
    names = iana_names(registry)
    frames = oracle(cap)
    with open(cap, "rb") as f:
        reader = dpkt.pcap.Reader(f)
        linktype = reader.datalink()
        ip_protos = []
        for _, buf in reader:
            ip = dpkt.ethernet.Ethernet(buf).data
            ip_protos.append(ip.p if isinstance(ip, (dpkt.ip.IP, dpkt.ip6.IP6)) else None)
    assert len(frames) == len(ip_protos) and not any(r.malformed or r.is_fragment for r in frames)
    packets = []
    for r, proto in zip(frames, ip_protos):
        t = r.transport
        packets.append({
            "number": r.number, "ts": _text_ts(r.ts_ns), "length": r.length, "transport": t,
            "src_addr": r.src, "src_port": r.src_port, "dst_addr": r.dst,
            "dst_port": r.dst_port, "src_service": names.get((t, r.src_port)),
            "dst_service": names.get((t, r.dst_port)),
            "status": "ports" if t else "no-ports" if r.is_ip else "non-ip",
            "caplen": r.caplen, "interface": 0, "linktype": linktype, "vlan": r.vlan,
            "ip_version": r.ip_version or None, "ip_proto": proto,
            "tcp_flags": r.tcp_flags if t == "tcp" else None,
        })
    flows = []
    for key, runs in rule_flows("pcaps/demo.pcap", frames).items():
        t, pair = key
        for f in runs:
            (orig, dbasis, service, sport, sbasis, oflags, rflags, vlan, first, last,
             opk, oby, rpk, rby) = expected_row(key, f, names)
            resp = next((e for e in pair if e != orig), orig)
            flows.append({
                "flow_id": f.flow_id, "transport": t, "orig_addr": orig[0], "orig_port": orig[1],
                "resp_addr": resp[0], "resp_port": resp[1], "service": service,
                "service_port": sport, "service_basis": sbasis, "direction_basis": dbasis,
                "first_ts": _text_ts(first), "last_ts": _text_ts(last),
                "duration": _text_ts(last - first), "orig_packets": opk, "orig_bytes": oby,
                "resp_packets": rpk, "resp_bytes": rby, "packets": opk + rpk,
                "bytes": oby + rby, "orig_tcp_flags": oflags, "resp_tcp_flags": rflags,
                "vlan": vlan, "ip_version": 6 if ":" in orig[0] else 4,
            })
    flows.sort(key=lambda r: r["flow_id"])
    assert len(flows) == 28
    return cap, registry, {"packets": packets, "flows": flows}


class JsonNumber(str):
    """A JSON number's literal as it stands in the document (json.loads' parse_float):
    "0.115000", which a float would make 0.115."""


def assert_rows(got: list[dict], expected: list[dict], columns: list[str], *, text: bool) -> None:
    """Rows read back from a CSV (text=True: every cell a string, "" for null) or JSON
    Lines output against expected values, column by column, in `columns` order."""
    assert len(got) == len(expected) > 0
    assert all(list(r) == columns for r in got)
    assert sorted(expected[0]) == sorted(columns), "the expectation misses a column"
    for i, (g, e) in enumerate(zip(got, expected)):
        for k in columns:
            have, want = g[k], e[k]
            if isinstance(want, float):
                assert float(have) == pytest.approx(want), (i, k, have, want)
            elif text:
                assert have == ("" if want is None else str(want)), (i, k, have, want)
            else:
                assert have == want, (i, k, have, want)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part")
                  or p.name.startswith(".portannot-"))


# ------------------------------------------------------------------ round trips

@pytest.mark.parametrize("kind", ["packets", "flows"])
def test_parquet_round_trip_keeps_types(kind, cli, tmp_path):
    cap = local_capture("demo.pcap")
    out = tmp_path / f"{kind}.parquet"
    code, _, err = cli(kind, str(cap), "-f", "parquet", "-o", str(out), "-q")
    assert code == 0, err
    got = pq.read_table(out)
    expected = api_table(kind, cap)
    assert got.schema.names == expected.schema.names
    assert got.num_rows == expected.num_rows
    assert got.to_pylist() == expected.to_pylist()
    types = {f.name: f.type for f in got.schema}
    ts_cols = ("ts",) if kind == "packets" else ("first_ts", "last_ts")
    for c in ts_cols:
        assert types[c] == TS, (c, types[c])
    ints = (("number", "length", "src_port", "dst_port", "caplen") if kind == "packets" else
            ("flow_id", "orig_port", "resp_port", "orig_packets", "orig_bytes", "resp_packets",
             "resp_bytes", "packets", "bytes"))
    for c in ints:
        assert pa.types.is_integer(types[c]), (c, types[c])
    dicts = (("transport", "status", "src_service", "dst_service") if kind == "packets" else
             ("transport", "service", "service_basis", "direction_basis"))
    for c in dicts:
        assert pa.types.is_dictionary(types[c]) and pa.types.is_string(types[c].value_type), (c, types[c])
    # the Arrow types survive, not only the values
    for f in expected.schema:
        assert types[f.name] == f.type, (f.name, types[f.name], f.type)
    # integers and times delta-encoded, dictionary pages only on dictionary columns, on
    # the addresses that repeat (a packet's, a flow's responder), not an originator's, and
    # on the ports that repeat (a flow's responder and service port), not the others
    meta = pq.ParquetFile(out).metadata.row_group(0)
    encodings = {meta.column(i).path_in_schema: set(meta.column(i).encodings)
                 for i in range(meta.num_columns)}
    ports = {"resp_port", "service_port"}
    for f in expected.schema:
        found = encodings[f.name]
        numeric = pa.types.is_integer(f.type) or pa.types.is_timestamp(f.type)
        assert ("DELTA_BINARY_PACKED" in found) == (numeric and f.name not in ports), (
            f.name, found)
        repeated = f.name in ("src_addr", "dst_addr", "resp_addr", *ports)
        assert ("RLE_DICTIONARY" in found) == (pa.types.is_dictionary(f.type) or repeated), (
            f.name, found)
    assert {*ts_cols, *ints} - ports <= {c for c, found in encodings.items()
                                         if "DELTA_BINARY_PACKED" in found}
    # min/max statistics on numbers and times, which bound the rows they describe; none on text
    first = expected.slice(0, meta.num_rows)
    for i in range(meta.num_columns):
        col = meta.column(i)
        f = expected.schema.field(col.path_in_schema)
        text = pa.types.is_dictionary(f.type) or pa.types.is_string(f.type)
        assert col.is_stats_set != text, (f.name, col.is_stats_set)
        if pa.types.is_integer(f.type) and first.num_rows:
            values = [v for v in first.column(f.name).to_pylist() if v is not None]
            assert col.statistics.null_count == first.num_rows - len(values), f.name
            if values:
                assert (col.statistics.min, col.statistics.max) == (min(values), max(values)), f.name


@pytest.mark.parametrize("encoders", [1, 2, 4])
@pytest.mark.parametrize("engine", ["direct", "refused"])
@pytest.mark.parametrize("kind", ["packets", "flows"])
def test_parquet_file_is_the_public_writers(kind, engine, encoders, tmp_path, monkeypatch):
    """BatchWriter makes pyarrow.parquet.ParquetWriter's engine itself (parquet_writer, to
    spare the command pyarrow.fs's import): its file must be the one the public class
    writes with the same options, byte for byte, row groups (several: batches of 20,000
    rows, groups of ROW_GROUP_ROWS) and metadata included. An engine that refuses the
    arguments (another pyarrow) leaves it to the public class. With several encoders
    each row group is a file of its own, encoded in a thread, and the parts joined
    (output.parquet_parts): still that one file."""
    from portannot.output import writers
    from portannot.output.files import Output
    from portannot.output.writers import ROW_GROUP_ROWS, BatchWriter, parquet_encodings

    table = api_table(kind, local_capture("demo.pcap"))
    table = pa.concat_tables([table] * (2 * ROW_GROUP_ROWS // table.num_rows + 1))
    batches = table.combine_chunks().to_batches(max_chunksize=20_000)
    metadata = {b"portannot": b'{"test": 1}'}
    ours = tmp_path / "ours.parquet"
    public_class = pq.ParquetWriter
    if engine == "refused":  # an argument this engine does not know: its TypeError
        monkeypatch.setitem(writers.PARQUET_DEFAULTS, "not_an_argument", 1)
    with BatchWriter("parquet", Output(str(ours)), metadata=metadata,
                     encoders=encoders) as writer:
        for batch in batches:
            writer.write(batch)
        made = writer._writer
        if encoders == 1:
            assert isinstance(made, public_class) == (engine == "refused"), type(made)
        else:
            assert made is None and writer._pool is not None
    public = tmp_path / "public.parquet"
    schema = table.schema.with_metadata(metadata)
    with open(public, "wb") as f, pq.ParquetWriter(f, schema, compression="zstd",
                                                   **parquet_encodings(table.schema)) as w:
        rows = 0
        held: list[pa.RecordBatch] = []
        for batch in batches:  # grouped as BatchWriter groups them
            held.append(batch)
            rows += batch.num_rows
            if rows >= ROW_GROUP_ROWS:
                w.write_table(pa.Table.from_batches(held), row_group_size=1 << 62)
                held, rows = [], 0
        w.write_table(pa.Table.from_batches(held), row_group_size=1 << 62)
    assert pq.ParquetFile(ours).metadata.num_row_groups > 1
    assert ours.read_bytes() == public.read_bytes()


def test_parquet_output_does_not_load_pyarrow_fs(tmp_path):
    """The point of parquet_writer: the command writes Parquet without importing
    pyarrow.parquet and what it loads (pyarrow.fs, ssl)."""
    code = ("import sys; from portannot.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "print(sorted(m for m in ('pyarrow.parquet', 'pyarrow.fs', 'ssl') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, "flows", "-q", "-o",
                          str(tmp_path / "f.parquet"), str(local_capture("demo.pcap"))],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stderr
    assert pq.read_table(tmp_path / "f.parquet").num_rows == api_table("flows", local_capture("demo.pcap")).num_rows


@pytest.mark.parametrize("kind", ["packets", "flows"])
def test_csv_round_trip(kind, cli, tmp_path, demo_truth):
    cap, registry, truth = demo_truth
    out = tmp_path / f"{kind}.csv"
    code, _, err = cli(kind, str(cap), "--registry", str(registry), "-f", "csv",
                       "-o", str(out), "-q")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert_rows(rows, truth[kind], api_table(kind, cap).schema.names, text=True)


@pytest.mark.parametrize("kind", ["packets", "flows"])
def test_jsonl_round_trip(kind, cli, tmp_path, demo_truth):
    cap, registry, truth = demo_truth
    out = tmp_path / f"{kind}.jsonl"
    code, _, err = cli(kind, str(cap), "--registry", str(registry), "-f", "jsonl",
                       "-o", str(out), "-q")
    assert code == 0, err
    rows = [json.loads(ln, parse_float=JsonNumber) for ln in out.read_text().splitlines()]
    assert_rows(rows, truth[kind], api_table(kind, cap).schema.names, text=False)
    if kind == "flows":  # a number, not text: it is the number's own literal that is compared
        assert all(type(r["duration"]) is JsonNumber for r in rows)


def test_jsonl_to_stdout(cli):
    cap = local_capture("pcap-usec-le.pcap")
    code, out, err = cli("packets", str(cap), "-f", "jsonl")
    assert code == 0, err
    rows = [json.loads(ln) for ln in out.splitlines()]
    assert [r["number"] for r in rows] == [1, 2, 3, 4]


# ------------------------------------------------------------------ timestamp precision

def _capture_ts(path: Path) -> list[int]:
    return [t.value for t in portannot.packets(path).column("ts").to_pylist()]


@pytest.mark.parametrize("name,digits", [
    ("pcap-usec-le.pcap", 6), ("pcap-usec-be.pcap", 6),
    ("pcap-nsec-le.pcap", 9), ("pcap-nsec-be.pcap", 9),
])
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_text_timestamps_at_capture_precision(name, digits, fmt, cli, tmp_path):
    cap = local_capture(name)
    out = tmp_path / f"p.{fmt}"
    code, _, err = cli("packets", str(cap), "-f", fmt, "-o", str(out), "-q")
    assert code == 0, err
    if fmt == "csv":
        texts = [r["ts"] for r in csv.DictReader(io.StringIO(out.read_text()))]
    else:
        texts = [json.loads(ln)["ts"] for ln in out.read_text().splitlines()]
    assert texts and all(len(t.split(".")[1]) == digits for t in texts), texts
    assert [int(Decimal(t) * 10**9) for t in texts] == _capture_ts(cap)


def test_flows_csv_times_at_nanosecond_precision(cli, tmp_path):
    cap = local_capture("pcap-nsec-le.pcap")
    out = tmp_path / "f.csv"
    code, _, err = cli("flows", str(cap), "-f", "csv", "-o", str(out), "-q")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    table = portannot.flows(cap).to_pylist()
    assert [int(Decimal(r["first_ts"]) * 10**9) for r in rows] == [r["first_ts"].value for r in table]
    assert all(len(r["last_ts"].split(".")[1]) == 9 for r in rows)


def test_pcapng_multi_precision_is_the_finest_interface(cli, tmp_path):
    """pcapng-multi has 10^-6, 10^-9 and 2^-20 interfaces: 9 digits, exact values."""
    cap = local_capture("pcapng-multi.pcapng")
    code, out, err = cli("packets", str(cap), "-f", "csv")
    assert code == 0, err
    texts = [r["ts"] for r in csv.DictReader(io.StringIO(out))]
    assert all(len(t.split(".")[1]) == 9 for t in texts)
    assert [int(Decimal(t) * 10**9) for t in texts] == _capture_ts(cap)


JAN_2024 = 1_704_067_200  #: 2024-01-01 00:00:00 UTC


#: (if_tsresol byte, ticks after JAN_2024, the flow's first_ts, last_ts and duration as
#: text), worked out by hand: a tick of 2^-30 s is 0.93 ns, so ticks 1 and 3 fall at
#: 10^9 / 2^30 = 0.93 and 2.79 ns, whole nanoseconds 0 and 2 (the fraction dropped, as
#: tshark drops it), 9 digits (binary resolutions finer than 10^-6 are written to the
#: nanosecond); 10^-3 s ticks 123 and 124 are 0.123 and 0.124 s, 6 digits (the fewest
#: the formats give), 0.001 s apart; 10^0 s ticks 0 and 1 are a second apart.
DURATION_CASES = [
    (0x9E, 2**30, [1, 3], "1704067200.000000000", "1704067200.000000002", "0.000000002"),
    (3, 1000, [123, 124], "1704067200.123000", "1704067200.124000", "0.001000"),
    (0, 1, [0, 1], "1704067200.000000", "1704067201.000000", "1.000000"),
]


@pytest.mark.parametrize("tsresol,per_second,ticks,first,last,duration", DURATION_CASES)
def test_duration_is_plain_decimal_at_the_times_precision(tsresol, per_second, ticks, first,
                                                         last, duration, cli, tmp_path):
    """The flows' duration in CSV, JSON Lines and the table view: decimal seconds with the
    timestamps' digits, never a float's exponent form (2e-9)."""
    cap = write_pcapng_ticks(tmp_path / "t.pcapng", tsresol, [JAN_2024 * per_second + t for t in ticks])
    code, out, err = cli("flows", str(cap), "-f", "csv")
    assert code == 0, err
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert (row["first_ts"], row["last_ts"], row["duration"]) == (first, last, duration)
    code, out, err = cli("flows", str(cap), "-f", "jsonl")
    assert code == 0, err
    assert f'"duration":{duration},' in out  # bare: a JSON number
    assert json.loads(out)["duration"] == float(duration)
    code, out, err = cli("flows", str(cap))
    assert code == 0, err
    assert f" {duration}s " in out, out
    # Parquet and the API keep the float of seconds, and the exact times beside it
    [flow] = portannot.flows(cap).to_pylist()
    assert flow["duration"] == float(duration)
    assert flow["last_ts"].value - flow["first_ts"].value == int(Decimal(duration) * 10**9)


def test_textual_duration_without_the_times():
    """A batch of chosen columns, without first_ts and last_ts: the float rounded to the
    nanosecond, still decimal text; null stays null, and a float no int64 of
    nanoseconds holds is null rather than a wrong number."""
    batch = pa.RecordBatch.from_pydict(
        {"duration": pa.array([2e-9, 1.5, None, float("nan"), 1e12], pa.float64())})
    text = textual(batch, 9)
    assert text.column("duration").to_pylist() == ["0.000000002", "1.500000000", None, None, None]
    assert text.schema.field("duration").metadata == JSON_NUMBER
    assert bytes(json_lines(textual(batch.slice(0, 2), 6))).decode() == (
        '{"duration":0.000000}\n{"duration":1.500000}\n')


# ------------------------------------------------------------------ atomic writes

@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_existing_output_is_refused_without_force(fmt, cli, tmp_path):
    cap = local_capture("demo.pcap")
    out = tmp_path / f"out.{fmt}"
    out.write_bytes(b"precious")
    code, stdout, err = cli("flows", str(cap), "-f", fmt, "-o", str(out), "-q")
    assert code == ExitCode.OUTPUT_ERROR
    assert len(err.strip().splitlines()) == 1, err
    assert "--force" in err and str(out) in err
    assert out.read_bytes() == b"precious"
    assert leftovers(tmp_path) == []
    code, _, err = cli("flows", str(cap), "-f", fmt, "-o", str(out), "-q", "--force")
    assert code == 0, err
    assert out.read_bytes() != b"precious"
    if fmt == "parquet":
        assert pq.read_table(out).num_rows == portannot.flows(cap).num_rows
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_output_file_mode_is_what_open_would_give(umask, cli, tmp_path):
    """The file written through a private temporary is not left private: a new one gets
    0666 less the umask, as `open()` and tshark's -w give it; a replaced one keeps its
    mode."""
    cap = local_capture("demo.pcap")
    old = os.umask(umask)
    try:
        for fmt in ("csv", "parquet"):
            out = tmp_path / f"new.{fmt}"
            code, _, err = cli("flows", str(cap), "-f", fmt, "-o", str(out), "-q")
            assert code == 0, err
            assert out.stat().st_mode & 0o777 == 0o666 & ~umask
        kept = tmp_path / "kept.csv"
        kept.write_bytes(b"old")
        kept.chmod(0o604)
        code, _, err = cli("packets", str(cap), "-f", "csv", "-o", str(kept), "-q", "--force")
        assert code == 0, err
        assert kept.stat().st_mode & 0o777 == 0o604 and kept.read_bytes() != b"old"
    finally:
        os.umask(old)


def test_output_through_a_symlink_writes_its_target(cli, tmp_path):
    """-o LINK writes the file the link names, as `>` in a shell does; the link stays."""
    cap = local_capture("demo.pcap")
    (tmp_path / "store").mkdir()
    target = tmp_path / "store" / "flows.csv"
    target.write_bytes(b"old")
    link = tmp_path / "latest.csv"
    link.symlink_to(target)
    code, _, err = cli("flows", str(cap), "-f", "csv", "-o", str(link), "--force", "-q")
    assert code == 0, err
    assert link.is_symlink() and link.resolve() == target.resolve()
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert len(rows) == portannot.flows(cap).num_rows
    assert leftovers(tmp_path) == [] and leftovers(tmp_path / "store") == []


@pytest.mark.parametrize("kind", ["packets", "flows"])
def test_table_format_goes_to_the_output_file(kind, cli, tmp_path):
    """-o FILE with the table format (the default) writes the table there, as standard
    output would have shown it: it was ignored, the table printed and no file made."""
    cap = str(local_capture("demo.pcap"))
    code, shown, err = cli(kind, cap)
    assert code == 0, err
    out = tmp_path / "table.txt"
    code, stdout, err = cli(kind, cap, "-o", str(out), "-q")
    assert code == 0, err
    assert stdout == "" and out.read_text() == shown
    code, _, err = cli(kind, cap, "-o", str(out), "-q")
    assert code == ExitCode.OUTPUT_ERROR and "--force" in err
    assert out.read_text() == shown and leftovers(tmp_path) == []


def test_missing_output_directory(cli, tmp_path):
    cap = local_capture("demo.pcap")
    code, _, err = cli("packets", str(cap), "-f", "csv", "-o", str(tmp_path / "no" / "x.csv"))
    assert code == ExitCode.OUTPUT_ERROR
    assert len(err.strip().splitlines()) == 1


def test_output_is_a_directory(cli, tmp_path):
    cap = local_capture("demo.pcap")
    code, _, err = cli("packets", str(cap), "-f", "csv", "-o", str(tmp_path), "--force")
    assert code == ExitCode.OUTPUT_ERROR
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_a_missing_second_input_is_skipped_and_the_rest_written(fmt, cli, tmp_path):
    """The second input is missing: since 6fe7466 that input is a warning and skipped,
    the first file's rows are written whole and the run exits 4 (README, "Exit codes");
    no temporary file remains."""
    cap = local_capture("demo.pcap")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / f"p.{fmt}"
    code, _, err = cli("packets", str(cap), str(tmp_path / "missing.pcap"), "-f", fmt,
                       "-o", str(out), "-q")
    assert code == ExitCode.INPUT_ERROR, err
    assert len(err.strip().splitlines()) == 1 and "missing.pcap" in err, err
    assert [p.name for p in out_dir.iterdir()] == [out.name]


def test_failed_replace_keeps_the_old_file(cli, tmp_path):
    """No input readable: the error alone, and the file replaced with --force stays."""
    out = tmp_path / "p.csv"
    out.write_text("old\n")
    code, _, _ = cli("packets", str(tmp_path / "missing.pcap"), "-f", "csv",
                     "-o", str(out), "--force", "-q")
    assert code == ExitCode.INPUT_ERROR
    assert out.read_text() == "old\n"
    assert leftovers(tmp_path) == []


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_write_error_mid_output_exits_5_and_leaves_nothing(fmt, tmp_path):
    """The file system refuses more than 4 kB (RLIMIT_FSIZE, like a full disk):
    exit 5, one line, no output, no temporary."""
    cap = local_capture("demo.pcap")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / f"p.{fmt}"
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "portannot", "packets", str(cap), "-f", fmt,
                           "-o", str(out), "-q"], capture_output=True, timeout=120, check=False,
                          env=env, preexec_fn=_limit_file_size)
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == ExitCode.OUTPUT_ERROR, err
    assert len(err.strip().splitlines()) == 1, err
    assert not out.exists()
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize("kind", ["packets", "flows"])
def test_a_lone_row_group_is_encoded_without_a_pool(kind, tmp_path, monkeypatch):
    """The last row group, when no pool has been made (a file of one group: mixed-1m's
    flows, any small capture's), is encoded in the writing thread, which would only wait
    for it: no pool, no thread, concurrent.futures not imported (it loads logging, ~4 ms
    of the command's start). The file is one writer's, byte for byte; a failure to encode
    is raised where the pool's would be (at the join), and nothing is left."""
    from portannot.output import writers
    from portannot.output.files import Output
    from portannot.output.writers import BatchWriter

    table = api_table(kind, local_capture("demo.pcap"))
    files = {}
    for encoders in (1, 2):
        files[encoders] = tmp_path / f"{encoders}.parquet"
        with BatchWriter("parquet", Output(str(files[encoders])), encoders=encoders) as writer:
            for batch in table.to_batches(max_chunksize=7):
                writer.write(batch)
            writer.drain()
            assert writer._pool is None
    assert files[2].read_bytes() == files[1].read_bytes()
    assert pq.read_table(files[2]).equals(table)

    def failing(*_args):
        raise RuntimeError("no part")

    monkeypatch.setattr(writers, "_encoded", failing)
    target = tmp_path / "failed.parquet"
    with pytest.raises(RuntimeError, match="no part"), \
            BatchWriter("parquet", Output(str(target)), encoders=2) as writer:
        writer.write(table.to_batches()[0])
        writer.drain()  # as the command's write_stream does
    assert not target.exists() and list(tmp_path.glob(".portannot-*")) == []


@pytest.mark.parametrize("groups", [0, 1, 5])
def test_parquet_parts_unreadable_footer_falls_back_to_one_writer(groups, tmp_path, monkeypatch):
    """A pyarrow whose part footers thrift_compact cannot read: the first part fails
    before anything is written, and the rows go through one writer instead, all of
    them, into the same file."""
    from portannot.output import parquet_parts, writers
    from portannot.output.files import Output
    from portannot.output.writers import BatchWriter

    def unreadable(data):
        raise ValueError("thrift type 13 (not in a Parquet footer)")

    monkeypatch.setattr(writers, "ROW_GROUP_ROWS", 100)
    table = api_table("packets", local_capture("demo.pcap"))
    table = pa.concat_tables([table] * 3).combine_chunks().slice(0, groups * 100)
    files = {}
    for mode in ("one", "parts"):
        if mode == "parts":
            monkeypatch.setattr(parquet_parts.Part, "of", classmethod(lambda cls, d: unreadable(d)))
        files[mode] = tmp_path / f"{mode}.parquet"
        with BatchWriter("parquet", Output(str(files[mode])),
                         encoders=1 if mode == "one" else 2) as writer:
            for batch in table.to_batches(max_chunksize=60):
                writer.write(batch)
            if not groups:  # a schema alone
                writer.write(pa.RecordBatch.from_pylist([], schema=table.schema))
    assert files["parts"].read_bytes() == files["one"].read_bytes()
    assert pq.read_table(files["parts"]).num_rows == groups * 100


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("kind", ["packets", "flows"])
def test_text_made_in_parallel_is_the_same_text(kind, fmt, tmp_path, monkeypatch):
    """With several encoders each batch's CSV or JSON Lines is made in a thread (in
    pieces of TEXT_ROWS) and written in order: byte for byte the text one writer makes,
    the CSV header once, each batch at the time precision set when it was written (the
    commands raise it mid-stream when a pcapng interface is finer), no rows a header."""
    from portannot.output import writers
    from portannot.output.files import Output
    from portannot.output.writers import BatchWriter

    monkeypatch.setattr(writers, "TEXT_ROWS", 7)
    table = api_table(kind, local_capture("demo.pcap"))
    table = pa.concat_tables([table] * 3).combine_chunks()
    batches = table.to_batches(max_chunksize=40)
    digits = [6, 6, 9] + [9] * len(batches)
    for rows in ("some", "none"):
        texts = []
        for encoders in (1, 2, 3):
            path = tmp_path / f"{rows}-{encoders}.{fmt}"
            with BatchWriter(fmt, Output(str(path)), encoders=encoders) as writer:
                if rows == "none":
                    writer.write(pa.RecordBatch.from_pylist([], schema=table.schema))
                for batch, ts in zip(batches if rows == "some" else [], digits):
                    writer.ts_digits = ts
                    writer.write(batch)
            texts.append(path.read_bytes())
        assert texts[0] == texts[1] == texts[2], (rows, encoders)
        lines = texts[0].decode().splitlines()
        assert len(lines) == (table.num_rows if rows == "some" else 0) + (fmt == "csv")


class _FillingStream(io.RawIOBase):
    """A file that takes `room` bytes and then fails as a full disk does."""

    def __init__(self, room: int) -> None:
        self.room, self.data = room, bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        if len(self.data) + len(b) > self.room:
            raise OSError(28, "No space left on device")
        self.data += b
        return len(b)


@pytest.mark.parametrize("room", [0, 3, 20_000, 60_000])
def test_parquet_parts_write_error_aborts_and_stops_the_encoders(room, monkeypatch):
    """Row groups encoded in parallel, the disk full before the first part, inside one,
    or before the footer: an OutputError naming the file, the output aborted, and no
    encoding thread left running."""
    import threading

    from portannot.errors import OutputError
    from portannot.output import writers
    from portannot.output.writers import BatchWriter

    monkeypatch.setattr(writers, "ROW_GROUP_ROWS", 100)
    table = api_table("packets", local_capture("demo.pcap"))
    table = pa.concat_tables([table] * 8).combine_chunks()

    class FullOutput:
        path = "full.parquet"
        aborted = committed = False

        def __init__(self) -> None:
            self.stream = _FillingStream(room)

        def abort(self) -> None:
            self.aborted = True

        def commit(self) -> None:
            self.committed = True

    out = FullOutput()
    writer = BatchWriter("parquet", out, encoders=2)  # type: ignore[arg-type]
    with pytest.raises(OutputError, match="full.parquet"):
        for batch in table.to_batches(max_chunksize=60):
            writer.write(batch)
        writer.close()
    writer.close(ok=False)
    assert out.aborted and not out.committed
    assert not [t for t in threading.enumerate() if t.name.startswith("portannot-parquet")]


@pytest.mark.parametrize("gather", ["sliced", "taken"])
@pytest.mark.parametrize("n", [1, 3, 5, 8, 20])
def test_top_rows_are_the_largest_in_input_order_on_ties(n, gather, monkeypatch):
    """The table view's selection, against Python's stable sort of the same values."""
    if gather == "taken":
        monkeypatch.setattr(ranking, "SLICED_TAKE", 0)
    values = [5, 9, 1, 9, 5, 0, 7, 9, 5, 2, 5, 7]
    batches = [pa.record_batch({"bytes": pa.array(values[:4], pa.int64()),
                                "row": pa.array(range(4))}),
               pa.record_batch({"bytes": pa.array(values[4:], pa.int64()),
                                "row": pa.array(range(4, len(values)))})]
    expected = sorted(range(len(values)), key=lambda i: -values[i])[:n]
    shown = top_rows(batches, "bytes", n)
    assert shown.column("row").to_pylist() == expected
    assert shown.column("bytes").to_pylist() == [values[i] for i in expected]


@pytest.fixture(scope="module")
def no_flows(tmp_path_factory) -> dict[str, Path]:
    """A capture with no records, and one whose only frame (ARP) makes no flow."""
    from capgen import write_pcap
    from scapy.layers.l2 import ARP

    base = tmp_path_factory.mktemp("no-flows")
    return {"empty": write_pcap(base / "empty.pcap", []),
            "arp-only": write_pcap(base / "arp.pcap", [(0, Ether() / ARP())])}


@pytest.mark.parametrize("which", ["empty", "arp-only"])
@pytest.mark.parametrize("kind", ["packets", "flows"])
def test_no_rows_still_make_whole_outputs(kind, which, no_flows, cli, tmp_path):
    """Nothing to write is still a whole output: a CSV header, a Parquet file with every
    column (a 0-byte .parquet is no Parquet file at all), an API table with the schema
    of any other capture's."""
    cap = no_flows[which]
    demo = api_table(kind, local_capture("demo.pcap"))
    table = api_table(kind, cap)
    assert table.schema.equals(demo.schema)
    assert table.num_rows == (1 if (kind, which) == ("packets", "arp-only") else 0)
    code, out, err = cli(kind, str(cap), "-f", "csv")
    assert code == 0, err
    assert out.splitlines()[0] == ",".join(f'"{n}"' for n in demo.schema.names)
    assert len(out.splitlines()) == 1 + table.num_rows
    target = tmp_path / "out.parquet"
    code, _, err = cli(kind, str(cap), "-f", "parquet", "-o", str(target), "-q")
    assert code == 0, err
    written = pq.read_table(target)
    assert written.num_rows == table.num_rows
    assert written.schema.names == demo.schema.names
    code, out, err = cli(kind, str(cap), "-f", "jsonl")
    assert code == 0, err
    assert len(out.splitlines()) == table.num_rows


# ------------------------------------------------------------------ used alone


def test_batch_writer_alone_keeps_nanoseconds(tmp_path):
    """Used outside the commands, BatchWriter cut nanosecond times to 6 digits."""
    from portannot.output import BatchWriter, Output

    cap = local_capture("pcap-nsec-le.pcap")
    out = tmp_path / "p.csv"
    with BatchWriter("csv", Output(str(out))) as writer:
        for batch in portannot.iter_packets(cap):
            writer.write(batch)
    texts = [r["ts"] for r in csv.DictReader(io.StringIO(out.read_text()))]
    assert texts and [int(Decimal(t) * 10**9) for t in texts] == _capture_ts(cap)


@pytest.mark.parametrize("fmt", ["table", "xml"])
def test_batch_writer_names_the_formats_it_writes(fmt, tmp_path):
    from portannot.output import BatchWriter, Output

    out = Output(str(tmp_path / "x"))
    with pytest.raises(ValueError, match="BatchWriter writes csv, jsonl, parquet, not") as exc:
        BatchWriter(fmt, out)
    assert ("portannot.cli" in str(exc.value)) == (fmt == "table")
    out.abort()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_output_and_writer_as_context_managers(fmt, tmp_path):
    """A block that ends well puts the whole file in place; one that raises leaves
    neither the file nor a .portannot-*.part temporary."""
    from portannot.output import BatchWriter, Output

    demo = portannot.flows(local_capture("demo.pcap"))
    good, bad = tmp_path / f"good.{fmt}", tmp_path / f"bad.{fmt}"
    with Output(str(good)) as out, BatchWriter(fmt, out) as writer:
        for batch in demo.to_batches():
            writer.write(batch)
    if fmt == "parquet":
        assert pq.read_table(good).num_rows == demo.num_rows
    else:
        assert len(good.read_text().splitlines()) == demo.num_rows + (fmt == "csv")
    for managed in ("output", "writer"):
        with pytest.raises(RuntimeError, match="stop"):
            if managed == "output":
                with Output(str(bad)) as out:
                    BatchWriter(fmt, out).write(demo.to_batches()[0])
                    raise RuntimeError("stop")
            else:
                with BatchWriter(fmt, Output(str(bad))) as writer:
                    writer.write(demo.to_batches()[0])
                    raise RuntimeError("stop")
        assert not bad.exists() and leftovers(tmp_path) == [], managed


def test_parquet_row_groups_gather_small_batches(tmp_path):
    """Batches of a few rows (a small file each, a few flows ended by a timeout) are
    written as row groups of ROW_GROUP_ROWS rows or more (up to one batch more), not one
    group each; the rows,
    their order, their types and the dictionaries' values come back as written."""
    from portannot.output.files import Output
    from portannot.output.writers import ROW_GROUP_ROWS, BatchWriter

    names = pa.array(["http", "dns", "ssh"])
    sizes = [7, 1, 300] * 700 + [5]  # 215,605 rows in 2,101 batches
    batches, start = [], 0
    for i, n in enumerate(sizes):
        ids = pa.array(range(start, start + n), pa.int64())
        codes = pa.array([(start + k + i) % 3 for k in range(n)], pa.int32())
        batches.append(pa.record_batch([ids, pa.DictionaryArray.from_arrays(codes, names)],
                                       names=["id", "service"]))
        start += n
    path = tmp_path / "rows.parquet"
    with BatchWriter("parquet", Output(str(path))) as writer:
        for b in batches:
            writer.write(b)
    f = pq.ParquetFile(path)
    groups = [f.metadata.row_group(i).num_rows for i in range(f.metadata.num_row_groups)]
    assert sum(groups) == start and len(groups) == start // ROW_GROUP_ROWS + 1 < 10
    assert all(ROW_GROUP_ROWS <= g < ROW_GROUP_ROWS + 300 for g in groups[:-1])
    got = f.read()
    assert got.column("id").to_pylist() == list(range(start))
    assert pa.types.is_dictionary(got.schema.field("service").type)
    assert got.column("service").to_pylist() == pa.Table.from_batches(batches).column(
        "service").to_pylist()


@pytest.mark.parametrize("encoders", [1, 2])
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_a_table_is_written_as_its_batches(fmt, encoders, tmp_path):
    """writer.write(portannot.flows(...)), a Table where README writes batches, failed
    deep inside: "'pyarrow.lib.ChunkedArray' object has no attribute 'dictionary_decode'"
    (CSV), "... no attribute 'buffers'" (JSON Lines), "Cannot convert pyarrow.lib.Table
    to pyarrow.lib.RecordBatch" (Parquet, at the end of the block). A Table is its
    batches, written in order: the same file as writing them one by one."""
    from portannot.output import BatchWriter, Output

    demo = portannot.flows(local_capture("demo.pcap"))
    whole, apart = tmp_path / f"whole.{fmt}", tmp_path / f"apart.{fmt}"
    with BatchWriter(fmt, Output(whole), encoders=encoders) as writer:
        writer.write(demo)
    with BatchWriter(fmt, Output(apart), encoders=encoders) as writer:
        for batch in demo.to_batches():
            writer.write(batch)
    assert writer.rows == demo.num_rows
    assert whole.read_bytes() == apart.read_bytes()
    with BatchWriter(fmt, Output(tmp_path / f"x.{fmt}")) as writer, \
            pytest.raises(TypeError, match="a pyarrow RecordBatch or Table, not dict"):
        writer.write({"a": [1]})  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_batches_of_other_columns_are_refused(fmt, tmp_path):
    """A writer makes one table: packets' rows after flows' made a CSV whose rows are not
    its header's (packets then flows), JSON Lines of two kinds, and a Parquet error only
    when the block ended; flows then packets to CSV was a segmentation fault (below).
    The batch that does not fit is refused where it is written, and nothing is left."""
    from portannot.output import BatchWriter, Output

    demo = local_capture("demo.pcap")
    packets, flows = portannot.packets(demo), portannot.flows(demo)
    out = tmp_path / f"mixed.{fmt}"
    said = r"columns \(flow_id, transport, .*\) where the first batch had \(number, ts, "
    with pytest.raises(ValueError, match=said), BatchWriter(fmt, Output(out)) as writer:
        writer.write(packets.to_batches()[0])
        writer.write(flows.to_batches()[0])
    assert not out.exists() and leftovers(tmp_path) == []
    with BatchWriter(fmt, Output(out)) as writer:  # the same columns, other metadata
        writer.write(flows.to_batches()[0])
        writer.write(flows.to_batches()[0].replace_schema_metadata(None))


def test_packets_after_flows_to_csv_does_not_crash(tmp_path):
    """pyarrow's CSVWriter given a batch of another schema crashed the process."""
    code = ("import portannot, sys\n"
            "from portannot.output import BatchWriter, Output\n"
            f"p = {str(local_capture('demo.pcap'))!r}\n"
            "fl, pk = portannot.flows(p), portannot.packets(p)\n"
            "try:\n"
            f"    with BatchWriter('csv', Output({str(tmp_path / 'x.csv')!r})) as w:\n"
            "        w.write(fl.to_batches()[0]); w.write(pk.to_batches()[0])\n"
            "except ValueError as exc:\n"
            "    print('refused', exc)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and run.stdout.startswith("refused"), (run.returncode,
                                                                        run.stderr[-500:])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("kind", [str, Path])
def test_a_path_for_the_output_says_to_give_an_output(fmt, kind, tmp_path):
    """BatchWriter("parquet", "flows.parquet"), as pyarrow's writers take a path, was
    accepted; the first write then failed as AttributeError "'str' object has no
    attribute 'stream'", and the abort that followed as "... no attribute 'abort'". The
    constructor now says what it takes, and nothing is written."""
    from portannot.output import BatchWriter

    out = tmp_path / f"flows.{fmt}"
    with pytest.raises(TypeError, match=r"Output\(path\)"):
        BatchWriter(fmt, kind(out))
    assert list(tmp_path.iterdir()) == []


def test_a_refused_format_leaves_no_temporary_file(tmp_path):
    """README's `with BatchWriter(fmt, Output(name)) as writer:` with a format BatchWriter
    refuses: Output had already opened its temporary, and the ValueError, raised before
    the with block, left '.portannot-*.part' in the directory (and its descriptor open)
    for good. The writer owns the output it is given, so its refusal aborts it."""
    from portannot.output import BatchWriter, Output

    with pytest.raises(ValueError, match="not 'xlsx'"), \
            BatchWriter("xlsx", Output(str(tmp_path / "flows.xlsx"))):
        pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt, column", [
    ("csv", pa.array([[1], [2]])),  # CSV has no lists
    ("parquet", pa.array([(1, 2, 3)] * 2, pa.month_day_nano_interval())),  # no Parquet type
])
def test_a_close_that_fails_otherwise_than_by_os_error_aborts(fmt, column, tmp_path,
                                                             monkeypatch):
    """close() aborted the output only when what failed was an OSError: with encoders=2,
    CSV made of a list column (pyarrow: 'Unsupported Type') or Parquet of an interval
    column (no Parquet type) fail when the pool's text or row group is collected, at
    close(), as ArrowInvalid / ArrowNotImplementedError, and '.portannot-*.part' stayed
    beside the file for as long as the writer lived. Now the output is aborted whatever
    fails, and the file it was to replace stays as it was."""
    import concurrent.futures
    import threading

    from portannot.output import BatchWriter, Output

    # the pool's work waits for the gate: a text or row group done before write() looked
    # at it failed there (fresh-clone CI, once), not at the close() this test is about
    gate = threading.Event()

    class Gated(concurrent.futures.ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):
            def gated():
                gate.wait(10)
                return fn(*args, **kwargs)
            return super().submit(gated)

    monkeypatch.setattr(concurrent.futures, "ThreadPoolExecutor", Gated)
    target = tmp_path / f"rows.{fmt}"
    target.write_bytes(b"old\n")
    writer = BatchWriter(fmt, Output(str(target), force=True), encoders=2)
    writer.write(pa.record_batch({"a": column}))
    gate.set()
    with pytest.raises(pa.ArrowException):
        writer.close(True)
    assert target.read_bytes() == b"old\n"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("encoders", [1, 2])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_table_of_no_rows_is_written_with_its_columns(fmt, encoders, no_flows, cli, tmp_path):
    """writer.write(portannot.flows(capture)) of a capture without flows (one ARP frame)
    wrote nothing: the Table has no batches, so a 0-byte CSV (the command writes the
    header) and a 0-byte .parquet, which pyarrow cannot open ('Parquet file size is 0
    bytes'). Its columns are now written as the command writes them."""
    from portannot.output import BatchWriter, Output

    cap = no_flows["arp-only"]
    table = portannot.flows(cap)
    assert table.num_rows == 0 and table.to_batches() == []
    target = tmp_path / f"flows.{fmt}"
    with BatchWriter(fmt, Output(target), encoders=encoders) as writer:
        writer.write(table)
    if fmt == "parquet":
        written = pq.read_table(target)
        assert written.num_rows == 0 and written.schema.names == table.schema.names
        assert written.schema.types == table.schema.types
    else:
        code, out, err = cli("flows", str(cap), "-f", fmt)
        assert code == 0, err
        assert target.read_text() == out and out.count("\n") == 1  # the header


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_a_writer_used_after_close_is_refused(fmt, tmp_path):
    """Rows written after close() went on to standard output as a second file (CSV: the
    header again, then the rows), and to a file as 'I/O operation on closed file' or
    'write to closed file'. Now write() and drain() after close() (or after a with
    block, or a failed write that aborted the output) say the writer is done, and what
    was written stays as it was; close() again does nothing."""
    import subprocess
    import sys

    from portannot.output import BatchWriter, Output

    rows = pa.record_batch({"port": pa.array([80, 443], pa.uint16())})
    target = tmp_path / f"rows.{fmt}"
    with BatchWriter(fmt, Output(target)) as writer:
        writer.write(rows)
    whole = target.read_bytes()
    for call in (lambda: writer.write(rows), writer.drain):
        with pytest.raises(ValueError, match="after its output was closed"):
            call()
    writer.close()
    writer.close(False)
    assert target.read_bytes() == whole and leftovers(tmp_path) == []
    script = ("import pyarrow as pa\nfrom portannot.output import BatchWriter, Output\n"
              "rows = pa.record_batch({'port': pa.array([80, 443], pa.uint16())})\n"
              "w = BatchWriter('csv', Output(None))\nw.write(rows)\nw.close()\n"
              "try:\n    w.write(rows)\nexcept ValueError as exc:\n    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.splitlines()[:3] == ['"port"', "80", "443"]
    assert len(out.splitlines()) == 4 and "after its output was closed" in out
