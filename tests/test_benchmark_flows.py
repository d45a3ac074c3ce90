"""bench_flows (benchmarks/bench_flows.py) holds every tool's flow table against
portannot's, transport by transport, so that a tool doing less work than the others is
reported, not timed as if it had done the same. Before, only the dpkt loop's flow count
was compared: the CLI's output, NFStream's and tshark's tables, and every tool's packet
totals were not looked at."""

from __future__ import annotations

import sys

from paths import LOCAL_PCAPS, REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import bench_flows  # noqa: E402
from harness import Row  # noqa: E402

TABLE = {"tcp": [191, 6745], "udp": [45, 2656], "sctp": [5, 182], "dccp": [2, 27]}
N = 10_000


def _row(tool: str, table: dict | None, packets: int = N, error: str = "") -> Row:
    row = Row(tool, "c", packets=packets, seconds=1.0, error=error)
    if table is not None:
        row.extra["by_transport"] = table
    return row


def _mine(cli_table: dict | None = TABLE) -> list[Row]:
    return [_row("portannot flows (CLI)", cli_table), _row("portannot.flows (API)", TABLE)]


def test_every_whole_table_is_compared():
    peers = {"dpkt": _row("dpkt", TABLE), "scapy": _row("scapy", TABLE, packets=2_000),
             "tshark": _row("tshark", {"tcp": TABLE["tcp"], "udp": TABLE["udp"]}),
             "nfstream": _row("nfstream", TABLE)}
    assert bench_flows.same_tables(_mine(), peers, N) == (
        "portannot 243 flows, 9,610 packets; CLI same; dpkt same; "
        "scapy not compared (first 2,000 packets); tshark (tcp, udp) same; nfstream same")


def test_a_tool_that_keyed_less_differs():
    """Fewer packets in as many flows, a transport missing, or a CLI that wrote less."""
    fewer = {**TABLE, "udp": [45, 2600]}
    no_sctp = {k: v for k, v in TABLE.items() if k != "sctp"}
    peers = {"dpkt": _row("dpkt", fewer), "nfstream": _row("nfstream", no_sctp),
             "tshark": _row("tshark", {"tcp": [190, 6700], "udp": TABLE["udp"]})}
    line = bench_flows.same_tables(_mine({"tcp": [1, 1]}), peers, N)
    assert "CLI DIFFER (tcp: 1 flows, 1 packets against 191, 6,745; udp: 0 flows" in line
    assert "dpkt DIFFER (udp: 45 flows, 2,600 packets against 45, 2,656)" in line
    assert "nfstream DIFFER (sctp: 0 flows, 0 packets against 5, 182)" in line
    assert "tshark (tcp, udp) DIFFER (tcp: 190 flows, 6,700 packets against 191, 6,745)" in line


def test_a_failed_tool_is_not_compared():
    peers = {"dpkt": _row("dpkt", None, error="ModuleNotFoundError: dpkt")}
    assert "dpkt not compared (failed)" in bench_flows.same_tables(_mine(), peers, N)


def test_the_clis_file_is_read_back(tmp_path):
    """The CLI row gets the flows of the Parquet file it wrote; no file is an error."""
    import subprocess

    out = tmp_path / "f.parquet"
    demo = str(LOCAL_PCAPS / "demo.pcap")
    subprocess.run([*bench_flows.portannot_cli(), "flows", demo, "-f", "parquet", "-o", str(out),
                    "--quiet"], check=True)
    row = _row("portannot flows (CLI)", None)
    bench_flows.read_back(row, str(out))
    import portannot

    table = portannot.flows(demo)
    assert row.extra["flows"] == len(table) and row.extra["by_transport"] == {
        "tcp": [6, 177], "udp": [20, 40], "sctp": [1, 20], "dccp": [1, 26]}
    missing = _row("portannot flows (CLI)", None)
    bench_flows.read_back(missing, str(tmp_path / "none.parquet"))
    assert missing.error.startswith("no Parquet file read back")


def test_tshark_output_not_understood_fails_the_row():
    """The tshark row's output is read by tshark_table; a layout it does not know fails the
    row (as an exit code would) instead of timing a tool whose table went unseen."""
    from harness import measure

    row = measure("tshark", "c", ["printf", "TCP Conversations\\na <-> b 1\\n"], packets=1,
                  file_bytes=1, parse=bench_flows.tshark_table)
    assert row.error.startswith("output not understood: tshark conversation line")
    ok = measure("tshark", "c", ["printf", "TCP Conversations\\n"], packets=1, file_bytes=1,
                 parse=bench_flows.tshark_table)
    assert not ok.error and ok.extra["by_transport"] == {"tcp": [0, 0]}


def test_a_failed_peer_is_said_in_the_verdicts():
    """A peer that was run and failed is 'not measured' in the summary line, not left out
    of it as if it had been skipped."""
    ours = _row("portannot flows (CLI)", TABLE)
    peers = {"dpkt": _row("dpkt", TABLE, packets=N), "nfstream": _row("nfstream", None,
                                                                        error="ImportError: x")}
    peers["dpkt"].seconds = 100.0
    line = bench_flows.verdicts(ours, peers)
    assert line["vs dpkt"] == "100.0x (target 50x: met)"
    assert line["vs nfstream"] == "not measured (ImportError: x)"
    assert "vs tshark" not in line  # skipped: not run


def _imported(cmd: list[str], env: dict | None = None) -> set[str]:
    """The modules a Python process imports, from its -X importtime report."""
    import os
    import subprocess

    r = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], capture_output=True, text=True,
                       env={**os.environ, **(env or {})}, check=True)
    return {line.rsplit("|", 1)[1].strip() for line in r.stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


def test_the_import_floor_imports_nothing_the_command_does_not(tmp_path):
    """The floor is 'what any portannot flows -f parquet process must load': every module
    it imports is one the command imports too, so no target is called out of reach by
    imports the command itself does without. It imported pyarrow.parquet, whose
    pyarrow.fs, ssl and S3/GCS/Azure/HDFS bindings (~15 ms) the command never loads."""
    demo = str(LOCAL_PCAPS / "demo.pcap")
    cli = _imported([sys.executable, "-m", "portannot", "flows", demo, "-f", "parquet", "-o",
                     str(tmp_path / "f.parquet"), "--quiet"])
    floor = _imported(bench_flows.FLOOR_CMD, bench_flows.FLOOR_ENV)
    assert "pyarrow._parquet" in floor and "numpy" in floor
    assert floor - cli == set()
