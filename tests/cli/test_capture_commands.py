"""`python -m portannot packets|flows|summary` as a user runs them (subprocess):
--help everywhere, --version, packet rows against capinfos, several files, standard
input (plain and gzip), summary totals against the API, and the exit code and
warning for a capture cut mid-record.

Process start-up dominates, so the commands of a test run side by side.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from capgen import dpkt_frames
from paths import local_capture, shared_capture
from tshark_oracle import CAPINFOS, TSHARK, capinfos_count

import portannot
from portannot import __version__
from portannot.errors import ExitCode
from portannot.transport import TRANSPORT_NAMES


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    """The session's environment (tests/conftest.py: its own cache and data dirs, no
    $PORTANNOT_REGISTRY), a 120-column terminal."""
    return dict(os.environ, COLUMNS="120")


def _run(env, args, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portannot", *map(str, args)], input=stdin,
                          capture_output=True, timeout=180, check=False, env=env)


def run_all(env, commands: dict) -> dict[str, subprocess.CompletedProcess]:
    """name -> args or (args, stdin); run concurrently."""
    def one(item):
        spec = item if isinstance(item, tuple) else (item, None)
        return _run(env, *spec)

    with ThreadPoolExecutor(max_workers=2) as ex:
        return dict(zip(commands, ex.map(one, commands.values())))


def csv_rows(proc: subprocess.CompletedProcess) -> list[dict]:
    return list(csv.DictReader(io.StringIO(proc.stdout.decode())))


def err(proc) -> str:
    return proc.stderr.decode(errors="replace").strip()


needs_capinfos = pytest.mark.skipif(CAPINFOS is None, reason="capinfos (wireshark) not installed")


# ------------------------------------------------------------------ help and version

def test_help_and_version(env):
    commands = {name: [name, "--help"] for name in ("packets", "flows", "summary")}
    commands["top"] = ["--help"]
    commands["version"] = ["--version"]
    res = run_all(env, commands)
    for name, proc in res.items():
        assert proc.returncode == 0, (name, err(proc))
    for name in ("packets", "flows", "summary", "top"):
        out = res[name].stdout.decode()
        assert out.startswith("Usage:"), (name, out[:200])
    top = res["top"].stdout.decode()
    for sub in ("packets", "flows", "summary", "lookup", "registry"):
        assert re.search(rf"^\s+{sub}\b", top, re.M), f"--help lists no {sub}"
    for sub in ("packets", "flows", "summary"):
        text = res[sub].stdout.decode()
        for opt in ("--registry", "--services", "--quiet", "FILE..."):
            assert opt in text, (sub, opt)
    for opt in ("--idle-timeout", "--active-timeout", "--format", "--output", "--force", "--top"):
        assert opt in res["flows"].stdout.decode(), opt
    assert "--json" in res["summary"].stdout.decode()
    from portannot.compiled import MODE

    # the subprocess imports the same installed package, so it runs the same kernels
    assert res["version"].stdout.decode().strip() == (
        f"portannot, version {__version__} (kernels: {MODE})"
    )


def test_bad_command_line_exits_2(env):
    res = run_all(env, {
        "bad-timeout": ["flows", local_capture("demo.pcap"), "--idle-timeout", "0", "-f", "xml"],
        "no-file": ["packets"],
    })
    for name, proc in res.items():
        assert proc.returncode == ExitCode.USAGE, (name, proc.returncode, err(proc))
        assert "Traceback" not in err(proc) and len(err(proc).splitlines()) == 1, err(proc)
    assert err(res["no-file"]).startswith("portannot: error: Missing argument")


@pytest.mark.parametrize("args,says,command", [
    (["summary", "x.pcap", "-f", "csv"], "No such option", "portannot summary"),
    (["nope"], "No such command", "portannot"),
    (["flows", "x.pcap", "-f", "xml"], "'xml' is not one of", "portannot flows"),
    (["lookup", "70000"], "70000: port beyond 65535", "portannot lookup"),
])
def test_a_usage_error_is_one_line(args, says, command, capsys):
    """click prints three lines (Usage, Try, Error); every error of ours is one, here
    naming the help to read (the wording between is click's)."""
    from portannot.cli import main

    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == ExitCode.USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    line, = captured.err.splitlines()
    assert line.startswith("portannot: error: ") and says in line, line
    assert line.endswith(f" (see '{command} --help')"), line


@pytest.mark.parametrize("command", ["packets", "flows"])
def test_the_output_help_says_parquet_goes_to_a_pipe(command, capsys):
    """-o's help said "default: standard output for text formats", as if Parquet needed
    -o; README (and the command) write Parquet to a pipe or a file on standard output,
    refusing only a terminal."""
    from portannot.cli import main

    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "text formats" not in text
    assert "Parquet there only when it is a pipe or a file, not a terminal" in text


@pytest.mark.parametrize("command", ["packets", "flows", "summary"])
def test_quiet_help_names_the_progress_line(command, capsys):
    """--quiet's help said "No progress bar.", where README's --quiet turns off the
    progress line, which shows a bar only when the inputs' size is known (regular files)
    and counts alone from a pipe."""
    from portannot.cli import main

    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "-q, --quiet No progress line (shown on a terminal)." in text


@pytest.mark.parametrize("args", [[], ["registry"]])
def test_a_group_without_a_command_shows_its_help(args, capsys):
    from portannot.cli import main

    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == ExitCode.USAGE
    captured = capsys.readouterr()
    assert (captured.out + captured.err).startswith("Usage: portannot")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "1e10", "soon",
                                   "1e-10", "1e-12"])  # less than 1 ns: 0 ns, none
@pytest.mark.parametrize("option", ["--idle-timeout", "--active-timeout"])
def test_a_timeout_must_be_a_finite_positive_number(option, value, capsys):
    """click's FloatRange let nan and inf through, and the flow table then failed with a
    traceback converting them to nanoseconds."""
    from portannot.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["flows", str(local_capture("demo.pcap")), option, value, "-f", "csv"])
    assert exc.value.code == ExitCode.USAGE
    assert option in capsys.readouterr().err


# ------------------------------------------------------------------ packets

@needs_capinfos
def test_packets_csv_rows_match_capinfos(env):
    caps = [local_capture("pcapng-multi.pcapng"), shared_capture("ndpi/1kxun.pcap")]
    res = run_all(env, {str(c): ["packets", c, "-f", "csv"] for c in caps})
    for c in caps:
        proc = res[str(c)]
        assert proc.returncode == 0, err(proc)
        rows = csv_rows(proc)
        n = capinfos_count(c)
        assert len(rows) == n
        assert [int(r["number"]) for r in rows] == list(range(1, n + 1))
        assert "file" not in rows[0]


def test_multiple_files_and_stdin(env, tmp_path):
    demo = local_capture("demo.pcap")
    multi = local_capture("pcapng-multi.pcapng")
    gz = tmp_path / "demo.pcap.gz"
    gz.write_bytes(gzip.compress(demo.read_bytes(), mtime=0))
    res = run_all(env, {
        "demo": ["packets", demo, "-f", "csv"],
        "stdin-and-file": (["packets", multi, "-", "-f", "csv"], demo.read_bytes()),
        "stdin-gz": (["packets", "-", "-f", "csv"], gz.read_bytes()),
        "flows-stdin-gz": (["flows", "-", "-f", "csv", "-q"], gz.read_bytes()),
    })
    for name, proc in res.items():
        assert proc.returncode == 0, (name, err(proc))
    demo_rows = csv_rows(res["demo"])
    n_demo, n_multi = len(demo_rows), len(portannot.packets(multi))
    assert [int(r["number"]) for r in demo_rows] == list(range(1, n_demo + 1))
    # several inputs: a file column, numbers from 1 in each file (like frame.number)
    mixed = csv_rows(res["stdin-and-file"])
    assert len(mixed) == n_multi + n_demo
    assert [r["file"] for r in mixed] == ["0"] * n_multi + ["1"] * n_demo
    assert [int(r["number"]) for r in mixed] == (list(range(1, n_multi + 1))
                                                 + list(range(1, n_demo + 1)))
    # the piped part is the file's rows (ts aside: 9 digits once the pcapng is in)
    assert ([{k: v for k, v in r.items() if k not in ("file", "ts")} for r in mixed[n_multi:]]
            == [{k: v for k, v in r.items() if k != "ts"} for r in demo_rows])
    # standard input, gzip, is the file
    assert res["stdin-gz"].stdout == res["demo"].stdout
    flows = csv_rows(res["flows-stdin-gz"])
    api = portannot.flows(demo).to_pylist()
    assert [(int(r["flow_id"]), r["orig_addr"], int(r["orig_port"]), int(r["packets"]),
             int(r["bytes"])) for r in flows] == [
        (r["flow_id"], r["orig_addr"], r["orig_port"], r["packets"], r["bytes"]) for r in api]


def test_files_from_a_list_read_as_if_given(env, tmp_path):
    """--files-from LIST reads the captures LIST names (one path a line, as `find`
    prints them: spaces kept, empty lines skipped) after any FILE given, as one capture
    with them: the rows are those of the same files given as arguments, in that order.
    '-' reads the list from standard input."""
    demo = local_capture("demo.pcap")
    multi = local_capture("pcapng-multi.pcapng")
    spaced = tmp_path / "a capture with spaces.pcap"
    spaced.write_bytes(local_capture("transports.pcap").read_bytes())
    listing = tmp_path / "list.txt"
    listing.write_text(f"{multi}\n\n{spaced}\r\n")  # a blank line; a CRLF ending
    res = run_all(env, {
        "given": ["packets", demo, multi, spaced, "-f", "csv"],
        "listed": ["packets", demo, "--files-from", listing, "-f", "csv"],
        "stdin": (["packets", demo, "--files-from", "-", "-f", "csv"],
                  f"{multi}\n{spaced}\n".encode()),
        "flows-given": ["flows", demo, multi, spaced, "-f", "csv", "-q"],
        "flows-listed": (["flows", "--files-from", "-", "-f", "csv", "-q"],
                         f"{demo}\n{multi}\n{spaced}".encode()),  # no final newline
    })
    for name, proc in res.items():
        assert proc.returncode == 0, (name, err(proc))
    given = csv_rows(res["given"])
    assert {r["file"] for r in given} == {"0", "1", "2"}
    assert csv_rows(res["listed"]) == csv_rows(res["stdin"]) == given
    assert res["flows-listed"].stdout == res["flows-given"].stdout


def test_files_from_errors_are_one_line(env, tmp_path):
    """A list that cannot be read is an input that cannot be (exit 4); a list naming no
    capture and no FILE, or standard input asked for twice, a usage error (exit 2)."""
    demo = local_capture("demo.pcap")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    res = run_all(env, {
        "missing": ["flows", "--files-from", tmp_path / "nope.txt"],
        "directory": ["summary", "--files-from", tmp_path],
        "empty": ["packets", "--files-from", empty],
        "stdin-twice": (["flows", "-", "--files-from", "-"], b""),
        "listed-stdin": (["flows", "--files-from", "-"], f"{demo}\n-\n".encode()),
    })
    expected = {"missing": ExitCode.INPUT_ERROR, "directory": ExitCode.INPUT_ERROR,
                "empty": ExitCode.USAGE, "stdin-twice": ExitCode.USAGE,
                "listed-stdin": ExitCode.USAGE}
    for name, proc in res.items():
        line, = err(proc).splitlines()
        assert proc.returncode == expected[name], (name, proc.returncode, line)
        assert line.startswith("portannot: ") and "Traceback" not in line, line
    assert f"--files-from {tmp_path / 'nope.txt'}: No such file" in err(res["missing"])
    assert "Missing argument 'FILE...' (the --files-from list names none)" in err(res["empty"])
    assert "holds the --files-from list" in err(res["stdin-twice"])
    assert "holds the --files-from list" in err(res["listed-stdin"])


def _letters_and_emoji_codes(tmp_path) -> str:
    """IPv6 ends that terminal markup would eat: a link-local and a multicast address
    (a tag to rich: "[fe80::1]"), and :a: and :ab: inside addresses (emoji codes); and
    two of the longest, which a table fitted to 160 columns cut short."""
    from capgen import write_pcap
    from scapy.layers.inet import UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether

    ends = [("fe80::1", "ff02::1:6"), ("2001:db8::a:1", "2001:db8::ab:2"), ("fe80::ab:1", "fe80::1"),
            ("2001:db8:1234:5678:9abc:def0:1234:5678", "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff")]
    frames = [(1_000_000_000 * i,
               Ether() / IPv6(src=a, dst=b) / UDP(sport=6696, dport=6696 + i) / (b"x" * (100 - i)))
              for i, (a, b) in enumerate(ends)]
    return str(write_pcap(tmp_path / "letters.pcap", frames))


@pytest.mark.parametrize("which", ["demo", "shared babel", "letters"])
def test_flows_table_shows_the_largest_flows_with_unambiguous_ends(which, env, tmp_path):
    """The terminal view lists the --top flows by bytes, each end address:port with an
    IPv6 address in brackets (RFC 5952): 2001:db8:22::1:22 would read as an address.
    Addresses print as they are, whatever a terminal library would make of them."""
    import ipaddress
    from urllib.parse import urlsplit

    capture = {"demo": lambda: local_capture("demo.pcap"),
               "shared babel": lambda: shared_capture("tcpdump/babel.pcap"),
               "letters": lambda: _letters_and_emoji_codes(tmp_path)}[which]()
    proc = _run(env, ["flows", capture, "--top", "5"])
    assert proc.returncode == 0, err(proc)
    lines = proc.stdout.decode().splitlines()
    api = sorted(portannot.flows(capture).to_pylist(), key=lambda r: -r["bytes"])
    rows = [cells for cells in map(str.split, lines) if cells[:1] and cells[0] in TRANSPORT_NAMES]
    assert len(rows) == min(5, len(api)) > 0
    assert f"Top {len(rows)} of {len(api)} flows by bytes" in lines[0]
    for cells, flow in zip(rows, api):
        ends = []
        for cell in cells[1:3]:
            url = urlsplit(f"//{cell}")
            ends.append((str(ipaddress.ip_address(url.hostname)), url.port))
        assert ends == [(flow["orig_addr"], flow["orig_port"]), (flow["resp_addr"], flow["resp_port"])]
        assert cells[0] == flow["transport"]
    assert any(":" in urlsplit(f"//{c[1]}").hostname for c in rows)  # IPv6 among them


# ------------------------------------------------------------------ summary

def test_summary_json_totals(env):
    caps = [local_capture("demo.pcap"), local_capture("transports.pcap")]
    res = run_all(env, {
        "demo": ["summary", "--json", caps[0]],
        "both": ["summary", "--json", *caps],
    })
    for name, proc in res.items():
        assert proc.returncode == 0, (name, err(proc))
    for name, paths in (("demo", caps[:1]), ("both", caps)):
        doc = json.loads(res[name].stdout)
        assert doc["packets"] == sum(len(dpkt_frames(p)) for p in paths)
        assert doc["files"] == [str(p) for p in paths]
        acc = doc["accounting"]
        assert sum(v["packets"] for v in acc.values()) == doc["packets"]
        assert sum(v["bytes"] for v in acc.values()) == doc["bytes"]
        table = portannot.flows(paths)
        assert doc["flows"] == table.num_rows
        assert sum(r["flows"] for r in doc["by_transport"]) == table.num_rows
        assert sum(r["packets"] for r in doc["by_transport"]) == acc["ports"]["packets"]
        assert sum(r["bytes"] for r in doc["by_transport"]) == sum(table.column("bytes").to_pylist())
        unnamed = [r for r in table.to_pylist() if r["service"] is None]
        assert doc["unnamed"]["flows"] == len(unnamed)
        assert doc["warnings"] == []
    demo = json.loads(res["demo"].stdout)
    assert demo["packets"] == 270
    assert {r["transport"]: r["flows"] for r in demo["by_transport"]} == {
        "tcp": 6, "udp": 20, "sctp": 1, "dccp": 1}


@pytest.mark.parametrize("which", ["demo", "letters"])
def test_summary_table_says_what_the_json_says(which, env, tmp_path):
    """The terminal view: each section's heading whole on one line (a heading longer
    than its table's columns once wrapped mid-sentence), its figures and addresses
    those of --json."""
    demo = local_capture("demo.pcap") if which == "demo" else _letters_and_emoji_codes(tmp_path)
    res = run_all(env, {"text": ["summary", demo], "json": ["summary", "--json", demo]})
    assert res["text"].returncode == res["json"].returncode == 0
    doc = json.loads(res["json"].stdout)
    lines = [line.rstrip() for line in res["text"].stdout.decode().splitlines()]
    u = doc["unnamed"]
    heading = f"Flows without a named service: {u['flows']:,} ({u['packets']:,} packets,"
    assert [line for line in lines if line.startswith(heading)], lines
    def cut(rows: list, total: int) -> str:  # what the title adds when --top cut its rows
        return f", the top {len(rows)} of {total:,} by bytes" if len(rows) < total else ""

    for title in ("Packet accounting by decode status", "By transport",
                  "By service" + cut(doc["by_service"], doc["services"]),
                  "Top talkers (flows with ports)" + cut(doc["top_talkers"], doc["talkers"])):
        assert title in lines
    assert f"{doc['packets']:,} packets" in lines[0] and f"{doc['flows']:,} flows" in lines[0]
    rows: dict[str, list[str]] = {}
    for line in lines:  # the first row of each name: "tcp" also leads unnamed port rows
        if line.strip():
            rows.setdefault(line.split()[0], line.split()[1:])
    for r in doc["by_transport"]:
        assert rows[r["transport"]] == [f"{r['flows']:,}", f"{r['packets']:,}",
                                        f"{r['bytes']:,}"]
    cells = [line.split() for line in lines]
    for p in u["top_responder_ports"]:
        assert [p["transport"], str(p["port"]), f"{p['flows']:,}", f"{p['packets']:,}",
                f"{p['bytes']:,}"] in cells, p
    for t in doc["top_talkers"]:
        assert rows[t["address"]] == [f"{t[k]:,}" for k in ("flows", "sent", "received", "bytes")]


def test_summary_table_says_none_where_a_section_is_empty(env):
    """One HTTP packet: every flow has a service, so the unnamed section says none
    rather than printing column headers over nothing."""
    one = shared_capture("tcpdump/ipv4_tcp_http_xml.pcap")
    res = run_all(env, {"text": ["summary", one], "json": ["summary", "--json", one]})
    doc = json.loads(res["json"].stdout)
    assert doc["unnamed"]["flows"] == 0 and doc["unnamed"]["top_responder_ports"] == []
    lines = [line.strip() for line in res["text"].stdout.decode().splitlines()]
    at = lines.index("Flows without a named service: 0 (0 packets, 0 B)")
    assert lines[at + 1] == "none"
    assert "port" not in " ".join(lines[at:]).split()


# ------------------------------------------------------------------ damaged input

def test_cut_capture_exits_3_with_byte_offset(env, tmp_path):
    demo = local_capture("demo.pcap")
    data = demo.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut_at = len(data) - 20  # inside the last record
    cut.write_bytes(data[:cut_at])
    gz = tmp_path / "cut.pcap.gz"
    gz.write_bytes(gzip.compress(data[:cut_at], mtime=0))
    res = run_all(env, {
        "packets": ["packets", cut, "-f", "csv"],
        "summary": ["summary", "--json", cut],
        "stdin-gz": (["packets", "-", "-f", "csv"], gz.read_bytes()),
    })
    # the last record starts at its header: 24 + sum of earlier records
    off, starts = 24, []
    while off + 16 <= len(data):
        starts.append(off)
        off += 16 + int.from_bytes(data[off + 8:off + 12], "little")
    last_start = starts[-1]
    for name, proc in res.items():
        e = err(proc)
        assert proc.returncode == ExitCode.DAMAGED_INPUT, (name, proc.returncode, e)
        assert "warning" in e, (name, e)
        assert any(last_start <= int(n) <= cut_at for n in re.findall(r"\d+", e)), (name, e)
    assert len(csv_rows(res["packets"])) in (269, 270)
    assert json.loads(res["summary"].stdout)["warnings"]


def test_unreadable_inputs_exit_4(env, tmp_path):
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"hello, this is not a capture at all" * 10)
    res = run_all(env, {
        "missing": ["packets", tmp_path / "missing.pcap"],
        "junk": ["packets", junk, "-f", "csv"],
    })
    for name, proc in res.items():
        assert proc.returncode == ExitCode.INPUT_ERROR, (name, proc.returncode, err(proc))
        assert len(err(proc).splitlines()) == 1, (name, err(proc))
        assert "Traceback" not in err(proc)


def test_a_skipped_input_is_not_counted_as_read(cli, tmp_path):
    """The totals line says how many of the inputs the numbers cover; --json lists the
    skipped one under `unreadable` (its packets and flows are those of the other)."""
    demo = local_capture("demo.pcap")
    missing = str(tmp_path / "missing.pcap")
    code, out, _ = cli("summary", missing, str(demo), "--json")
    assert code == ExitCode.INPUT_ERROR
    report = json.loads(out)
    assert report["files"] == [missing, str(demo)] and report["unreadable"] == [missing]
    assert report["packets"] == len(dpkt_frames(demo))
    code, out, _ = cli("summary", missing, str(demo))
    assert "from 1 of 2 files (1 could not be read)" in out.splitlines()[0]
    code, out, _ = cli("flows", str(demo), missing)
    assert out.rstrip().endswith("from 1 of 2 files (1 could not be read)")
    code, out, _ = cli("flows", str(demo), str(demo))
    assert out.rstrip().endswith("from 2 files")


# ------------------------------------------------------------------ what a command loads

LOADS = """
import sys
from portannot.cli.app import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = ("pandas", "pyarrow.acero", "pyarrow.dataset")
print(" ".join(m for m in heavy if m in sys.modules), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [
    ["flows"], ["flows", "-f", "csv"], ["flows", "-f", "jsonl"], ["flows", "-f", "parquet"],
    ["summary"], ["summary", "--json"], ["packets"], ["packets", "-f", "csv"],
    ["packets", "-f", "jsonl"], ["packets", "-f", "parquet"],
], ids=" ".join)
def test_commands_do_not_load_pandas(args, env, tmp_path):
    """pyarrow imports pandas, when it is installed, the first time a Python value
    meets Arrow (pa.array, pa.scalar, a compute function's plain argument, to_numpy,
    a nanosecond timestamp's as_py) and with its query engine: a quarter of a second
    of every command's start-up, for nothing (output/arrays.py)."""
    pytest.importorskip("pandas")
    out = ["-o", str(tmp_path / "out")] if "parquet" in args else []
    proc = subprocess.run([sys.executable, "-c", LOADS, *args, *out,
                           str(local_capture("demo.pcap"))],
                          capture_output=True, timeout=180, check=False, env=env)
    assert proc.returncode == 0, err(proc)
    assert err(proc).splitlines()[-1:] in ([], [""]), err(proc)


@pytest.mark.parametrize("piece", [1, 3, 7])
def test_flows_table_is_the_same_whatever_the_pieces(piece, monkeypatch, capsys):
    """The table view keeps each piece's own top flows only: the top of those must be
    the top of all flows, equal byte counts in flow order, however the flows come."""
    from portannot import pipeline
    from portannot.cli import main

    demo = str(local_capture("demo.pcap"))

    def table() -> str:
        with pytest.raises(SystemExit) as exc:
            main(["flows", demo, "--top", "9"])
        assert exc.value.code == 0
        return capsys.readouterr().out

    whole = table()
    monkeypatch.setattr(pipeline, "DRAIN_PIECE", piece)
    assert table() == whole
    api = sorted(portannot.flows(demo).to_pylist(), key=lambda r: -r["bytes"])[:9]
    rows = [line.split() for line in whole.splitlines() if line.split()[:1] in (["tcp"], ["udp"],
                                                                                 ["sctp"], ["dccp"])]
    assert [r[0] for r in rows] == [f["transport"] for f in api]


@pytest.mark.parametrize("names", [["demo.pcap"], ["random-stacks.pcap"], ["pcapng-multi.pcapng"],
                                   ["demo.pcap", "transports.pcap"]], ids=" ".join)
def test_packets_table_is_the_csv_aligned(names, env):
    """The terminal view of `packets` holds the CSV's values, each padded to its column
    (numbers to the right), one space apart, trailing spaces cut; laid out here row by
    row in Python from the CSV, a row without a transport showing its IP protocol's
    IANA keyword (IP_KEYWORDS) there. A column is as wide as the widest of its name, its
    floor (an IPv4 address, a 7-digit number) and the values of the first batch: here
    every row, of both files (small files' batches are joined: pipeline.GATHERED), so
    the IPv6 rows of transports.pcap after demo.pcap's are in their columns too. Of
    several files, the `file` column leads: the numbers start again in each file."""
    from portannot.cli.packets import FLOOR, LIMIT, RIGHT, TABLE_COLUMNS

    captures = [local_capture(name) for name in names]
    columns = ["file", *TABLE_COLUMNS] if len(names) > 1 else list(TABLE_COLUMNS)
    res = run_all(env, {"table": ["packets", *captures],
                        "csv": ["packets", *captures, "-f", "csv"]})
    assert res["table"].returncode == res["csv"].returncode, err(res["table"])
    lines = res["table"].stdout.decode().splitlines()
    rows = csv_rows(res["csv"])
    for row in rows:
        row["transport"] = row["transport"] or IP_KEYWORDS.get(row["ip_proto"], row["ip_proto"])
    from portannot.pipeline import GATHERED

    assert len(rows) < GATHERED
    widths = {c: max([len(c), FLOOR.get(c, 0)] + [len(r[c]) for r in rows]) for c in columns}
    widths.update({c: min(widths[c], w) for c, w in LIMIT.items()})
    expected = [" ".join(c.rjust(widths[c]) if c in RIGHT else c.ljust(widths[c])
                         for c in columns).rstrip()]
    for row in rows:
        expected.append(" ".join(row[c].rjust(widths[c]) if c in RIGHT else row[c].ljust(widths[c])
                                 for c in columns).rstrip())
    assert len(lines) > 5
    assert lines == expected
    if len(names) > 1:
        assert [line.split()[0] for line in lines[1:]] == [
            str(i) for i, c in enumerate(captures) for _ in dpkt_frames(c)]


@pytest.mark.parametrize("name", ["demo.pcap", "transports.pcap", "pcapng-multi.pcapng"])
def test_packets_table_header_stands_over_its_columns(name, capsys):
    """Each header name starts where its column's values start (ends where they end, for
    the numbers), judged from the printed header and the CSV's values alone. The test
    above lays out the expected header with the command's own widths, so it agreed with
    a header that stood off its columns: "transport" and the port names are wider than
    the widths their values had, and every name from src_addr on stood right of them."""
    from portannot.cli import main
    from portannot.cli.packets import RIGHT, TABLE_COLUMNS

    def run(*args: str) -> str:
        with pytest.raises(SystemExit) as exc:
            main(["packets", str(local_capture(name)), "-q", *args])
        assert exc.value.code == 0
        return capsys.readouterr().out

    header, *lines = run().splitlines()
    rows = list(csv.DictReader(io.StringIO(run("-f", "csv"))))
    names = [(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", header)]
    assert [n for n, _, _ in names] == list(TABLE_COLUMNS)
    assert len(lines) == len(rows) > 5
    checked = 0
    for line, row in zip(lines, rows):
        for i, (col, start, end) in enumerate(names):
            value = row[col]
            if col in RIGHT:
                assert line[end - len(value):end] == value, (col, header, line)
                assert end == len(value) or line[end - len(value) - 1] == " ", (col, line)
            else:
                assert line[start:start + len(value)] == value, (col, header, line)
                assert line[start - 1] == " ", (col, header, line)
                room = names[i + 1][1] - start - 1 if i + 1 < len(names) else len(value)
                if len(value) > room:  # wider than its column: the rest of the line moves on
                    break
            checked += 1
    assert checked > 5 * len(lines)


def test_flows_table_of_a_capture_without_flows(env, tmp_path):
    """A capture with no records: the table view says 0 flows, and exits 0."""
    from capgen import write_pcap

    proc = _run(env, ["flows", write_pcap(tmp_path / "empty.pcap", [])])
    assert proc.returncode == 0, err(proc)
    assert "0 flows, 0 packets with ports, 0 packets read" in proc.stdout.decode()


def test_registry_warnings_on_every_run(env, tmp_path):
    """A registry with a malformed record: every capture command says so on each run,
    as one `portannot: warning:` line, also when the table comes from the cache."""
    from paths import REGISTRY_FIXTURES

    bad = tmp_path / "bad.csv"
    bad.write_text((REGISTRY_FIXTURES / "seed.csv").read_text(encoding="utf-8")
                   + "x,99999,tcp,,,,,,,,,\n", encoding="utf-8")
    demo = local_capture("demo.pcap")
    for _ in range(2):  # parsed, then from the cache
        for command in ("packets", "flows", "summary"):
            fmt = ["--json"] if command == "summary" else ["-f", "csv"]
            proc = _run(env, [command, demo, "-q", *fmt, "--registry", bad])
            assert proc.returncode == 0, err(proc)
            lines = err(proc).splitlines()
            assert lines == [f"portannot: warning: {bad}: 1 record skipped; first: {bad}:44: "
                             + lines[0].split(f"{bad}:44: ", 1)[1]], (command, lines)


def test_output_name_chooses_the_format_when_f_is_not_given(env, tmp_path):
    """`-o flows.csv` writes CSV, not the table view of the top 20 flows in a file named
    .csv; -f, when given, wins over the name; a name that says no format gets the table."""
    demo = str(local_capture("demo.pcap"))
    paths = {name: tmp_path / name for name in ("f.csv", "f.PARQUET", "f.ndjson", "f.txt",
                                                "forced.csv", "reference.csv")}
    procs = run_all(env, {
        "csv": ["flows", demo, "-q", "-o", str(paths["f.csv"])],
        "parquet": ["flows", demo, "-q", "-o", str(paths["f.PARQUET"])],
        "jsonl": ["packets", demo, "-q", "-o", str(paths["f.ndjson"])],
        "table": ["flows", demo, "-q", "-o", str(paths["f.txt"])],
        "forced": ["flows", demo, "-q", "-f", "jsonl", "-o", str(paths["forced.csv"])],
        "reference": ["flows", demo, "-q", "-f", "csv", "-o", str(paths["reference.csv"])],
    })
    for name, proc in procs.items():
        assert proc.returncode == 0, (name, err(proc))
    assert paths["f.csv"].read_bytes() == paths["reference.csv"].read_bytes()
    import pyarrow.parquet as pq

    assert pq.read_table(paths["f.PARQUET"]).num_rows == len(
        list(csv.DictReader(io.StringIO(paths["reference.csv"].read_text()))))
    assert all(json.loads(line)["number"] for line in paths["f.ndjson"].read_text().splitlines())
    assert paths["f.txt"].read_text().startswith("Top ")
    assert json.loads(paths["forced.csv"].read_text().splitlines()[0])["flow_id"] == 1


#: -o suffix -> the tool that decompresses it (README: gzip, bzip2, xz, zstd, lz4 -dc)
COMPRESSED_SUFFIXES = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd",
                       ".zstd": "zstd", ".lz4": "lz4", ".GZ": "gzip"}


def test_a_compressed_output_name_writes_the_text_compressed(env, tmp_path):
    """`-o flows.csv.gz` is gzip-compressed CSV (it was the table view, uncompressed, in
    a file named .gz): each compression's own tool gives back exactly the bytes of the
    uncompressed output, flows as CSV, packets as JSON Lines, and -f still says the
    format."""
    demo = str(local_capture("demo.pcap"))
    commands = {"flows.csv": ["flows", demo, "-q", "-f", "csv"],
                "packets.jsonl": ["packets", demo, "-q", "-f", "jsonl"]}
    outputs = {name + suffix: [*args[:3], "-o", str(tmp_path / (name + suffix))]
               for name, args in commands.items() for suffix in COMPRESSED_SUFFIXES
               if name == "flows.csv" or suffix in (".gz", ".xz")}
    # -f wins over the name: JSON Lines in a file named .csv.zst, zstd-compressed
    outputs["forced.csv.zst"] = ["flows", demo, "-q", "-f", "jsonl", "-o",
                                 str(tmp_path / "forced.csv.zst")]
    procs = run_all(env, {**commands, "flows.jsonl": ["flows", demo, "-q", "-f", "jsonl"],
                          **outputs})
    for name, proc in procs.items():
        assert proc.returncode == 0 and not proc.stderr, (name, err(proc))
    expected = {name: procs[name].stdout for name in (*commands, "flows.jsonl")}
    expected["forced.csv"] = expected["flows.jsonl"]
    for name in outputs:
        base, suffix = os.path.splitext(name)
        proc = subprocess.run([COMPRESSED_SUFFIXES[suffix], "-dc", str(tmp_path / name)],
                              capture_output=True, check=False)
        assert proc.returncode == 0, (name, proc.stderr)
        assert proc.stdout == expected[base] and expected[base], name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(outputs)


@pytest.mark.parametrize("args,says", [
    (["flows", "-o", "x.parquet.gz"], "Parquet"),
    (["flows", "-f", "parquet", "-o", "x.csv.zst"], "Parquet"),
    (["flows", "-o", "x.gz"], "not the table"),
    (["packets", "-o", "x.txt.xz"], "not the table"),
    (["packets", "-f", "table", "-o", "x.csv.lz4"], "not the table"),
])
def test_parquet_or_the_table_to_a_compressed_name_is_a_usage_error(args, says, tmp_path,
                                                                    capsys):
    """Parquet compresses its pages itself, and the table is a view for a person: neither
    is written compressed. One line, exit 2, before any reading, no file left."""
    line = _one_usage_error(args, tmp_path, capsys)
    assert line.startswith("portannot: error: ") and says in line
    assert list(tmp_path.iterdir()) == []


def _one_usage_error(args: list[str], tmp_path, capsys) -> str:
    """The command (`x.` names under tmp_path) on demo.pcap: exit 2 and its one line."""
    from portannot.cli import main

    demo = str(local_capture("demo.pcap"))
    args = [str(tmp_path / a) if a.startswith("x.") else a for a in args]
    with pytest.raises(SystemExit) as exc:
        main([args[0], demo, "-q", *args[1:]])
    assert exc.value.code == ExitCode.USAGE
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    return lines[0]


@pytest.mark.parametrize("args,says", [
    (["flows", "-o", "x.json"], "JSON is not written; JSON Lines is: -f jsonl or name it .jsonl"),
    (["flows", "-o", "x.tsv"], "TSV is not written"),
    (["packets", "-o", "x.JSON.gz"], "name it .jsonl.gz"),
    (["flows", "-o", "x.feather"], "Parquet is"),
    (["packets", "-o", "x.xlsx"], "Excel"),
    (["flows", "-o", "x.pcap"], "a capture is not written"),
])
def test_a_data_format_that_is_not_written_is_a_usage_error(args, says, tmp_path, capsys,
                                                           monkeypatch):
    """`-o flows.json` and `-o flows.tsv` wrote the terminal table (the top 20 flows) in a
    file named for a data format, exit 0. Now a usage error: one line, exit 2, before
    any reading, no file left."""
    from portannot import pipeline

    started = []
    for cls in (pipeline.PacketStream, pipeline.FlowStream):
        monkeypatch.setattr(cls, "start", lambda self: started.append(self))
    line = _one_usage_error(args, tmp_path, capsys)
    assert line.startswith("portannot: error: -o ") and says in line
    assert started == [] and list(tmp_path.iterdir()) == []


def test_f_writes_a_name_of_a_format_not_written_and_plain_names_get_the_table(env, tmp_path):
    """-f wins over any name (`-f csv -o flows.tsv` is CSV, as `-f jsonl -o x.csv` is JSON
    Lines); a name without a suffix, or .txt, .log, .out, still gets the table."""
    demo = str(local_capture("demo.pcap"))
    names = ("forced.tsv", "forced.json.gz", "plain", "f.log", "f.out", "reference.csv")
    paths = {name: tmp_path / name for name in names}
    procs = run_all(env, {
        "forced.tsv": ["flows", demo, "-q", "-f", "csv", "-o", paths["forced.tsv"]],
        "forced.json.gz": ["flows", demo, "-q", "-f", "jsonl", "-o", paths["forced.json.gz"]],
        "reference.csv": ["flows", demo, "-q", "-o", paths["reference.csv"]],
        **{name: ["flows", demo, "-q", "-o", paths[name]] for name in ("plain", "f.log", "f.out")},
    })
    for name, proc in procs.items():
        assert proc.returncode == 0 and not proc.stderr, (name, err(proc))
    assert paths["forced.tsv"].read_bytes() == paths["reference.csv"].read_bytes()
    lines = gzip.decompress(paths["forced.json.gz"].read_bytes()).decode().splitlines()
    assert json.loads(lines[0])["flow_id"] == 1
    for name in ("plain", "f.log", "f.out"):
        assert paths[name].read_text().startswith("Top "), name


# ------------------------------------------------------------------ the analyst review's text

#: IANA's "Assigned Internet Protocol Numbers" keywords, lower case (IPIP for 4, ICMPv6 for
#: 58, as Wireshark names them): what the packets table shows for a row without ports
IP_KEYWORDS = {"1": "icmp", "2": "igmp", "4": "ipip", "6": "tcp", "17": "udp", "33": "dccp",
               "41": "ipv6", "43": "ipv6-route", "44": "ipv6-frag", "47": "gre", "50": "esp",
               "51": "ah", "58": "icmpv6", "89": "ospf", "132": "sctp"}
#: tshark's frame.protocols name of the layer after the outer IP -> the table's text
TSHARK_LAYER = {"icmp": "icmp", "icmpv6": "icmpv6", "esp": "esp", "gre": "gre", "ip": "ipip",
                "ipv6": "ipv6", "igmp": "igmp", "ospf": "ospf"}
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark (wireshark) not installed")


def _header_columns(header: str) -> list[tuple[str, int, int]]:
    return [(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", header)]


def _assert_under_header(header: str, line: str, values: dict[str, str], right: set[str]) -> None:
    """Every value of the row stands in its header's column: left-aligned ones start where
    their name starts, right-aligned ones end where it ends; none moved by a wide one."""
    for col, start, end in _header_columns(header):
        value = values[col]
        if col in right:
            assert line[end - len(value):end] == value, (col, header, line)
        else:
            assert line[start:start + len(value)] == value, (col, header, line)
            assert line[start - 1] == " ", (col, header, line)


def _ipv6_frames() -> list[tuple[int, bytes]]:
    """Ethernet frames: UDP from the longest text an IPv6 address has (39 characters) to a
    short one, ICMPv6 back, UDP over IPv4, and UDP to port 5353."""
    import ipaddress
    import struct

    long6, short6 = (ipaddress.ip_address(a).packed for a in
                     ("ffff:eeee:dddd:cccc:bbbb:aaaa:9999:8888", "2001:db8::1"))

    def eth(ethertype: int, payload: bytes) -> bytes:
        return b"\x02" * 6 + b"\x04" * 6 + struct.pack("!H", ethertype) + payload

    def ip6(src: bytes, dst: bytes, nxt: int, payload: bytes) -> bytes:
        return eth(0x86DD, struct.pack("!IHBB", 0x60000000, len(payload), nxt, 64) + src + dst
                   + payload)

    def udp(sport: int, dport: int) -> bytes:
        return struct.pack("!HHHH", sport, dport, 12, 0) + b"data"

    ip4 = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 32, 1, 0, 64, 17, 0, bytes([192, 0, 2, 1]),
                      bytes([198, 51, 100, 2])) + udp(40000, 53)
    return [(1_700_000_000_000_000_000 + i * 1000, f) for i, f in enumerate([
        ip6(long6, short6, 17, udp(40000, 53)),
        ip6(short6, long6, 58, b"\x81\x00\x00\x00\x00\x01\x00\x01"),
        eth(0x0800, ip4),
        ip6(short6, long6, 17, udp(40001, 5353)),
    ])]


@pytest.mark.parametrize("which", ["zeek/ipv6-fragmented-dns.pcap", "tcpdump/babel.pcap",
                                   "longest addresses"])
def test_packets_table_columns_stay_aligned_whatever_the_address(which, tmp_path, capsys):
    """An IPv6 address longer than its column pushed the rest of its row right: every
    value now stands under its header, judged from the printed header and the CSV's
    values (the transport cell of a row without one: its IP protocol's IANA keyword).
    A service name longer than IANA's longest (15 characters, RFC 6335), from a
    --services file, is cut to 14 and "…"."""
    from capgen import write_pcap

    from portannot.cli import main
    from portannot.cli.packets import RIGHT

    if which == "longest addresses":
        capture = write_pcap(tmp_path / "long.pcap", _ipv6_frames())
    else:
        capture = shared_capture(which)
    services = tmp_path / "services"
    services.write_text("an-overly-long-service-name 5353/udp\n", encoding="utf-8")

    def run(*args: str) -> str:
        with pytest.raises(SystemExit) as exc:
            main(["packets", str(capture), "-q", "--services", str(services), *args])
        assert exc.value.code in (ExitCode.OK, ExitCode.DAMAGED_INPUT)
        return capsys.readouterr().out

    header, *lines = run().splitlines()
    rows = list(csv.DictReader(io.StringIO(run("-f", "csv"))))
    assert len(lines) == len(rows) > 0
    for line, row in zip(lines, rows):
        row["transport"] = row["transport"] or IP_KEYWORDS.get(row["ip_proto"], row["ip_proto"])
        for col in ("src_service", "dst_service"):
            if len(row[col]) > 15:
                row[col] = row[col][:14] + "\u2026"
        _assert_under_header(header, line, row, RIGHT)
    if which == "longest addresses":
        addresses = [r["src_addr"] for r in rows]
        assert "ffff:eeee:dddd:cccc:bbbb:aaaa:9999:8888" in addresses
        assert [line.split()[-2] for line in lines if "5353" in line] == ["an-overly-long\u2026"]


@needs_tshark
def test_packets_table_names_the_ip_protocol_of_rows_without_ports(capsys):
    """ICMP, ESP, GRE and the other packets without ports had empty, identical transport
    cells: the table shows the protocol after the outer IP header, as tshark names it
    (frame.protocols), while the CSV keeps `transport` empty there."""
    from tshark_oracle import oracle

    from portannot.cli import main

    capture = local_capture("transports.pcap")

    def run(*args: str) -> str:
        with pytest.raises(SystemExit) as exc:
            main(["packets", str(capture), "-q", *args])
        assert exc.value.code == 0
        return capsys.readouterr().out

    header, *lines = run().splitlines()
    at = header.index("transport")
    rows = list(csv.DictReader(io.StringIO(run("-f", "csv"))))
    shown = {}
    for frame, line, row in zip(oracle(capture), lines, rows):
        cell = line[at:].split()[0]
        if frame.transport is None:
            assert row["transport"] == "", row
            assert cell == TSHARK_LAYER[frame.next_layer], (frame.number, line)
            shown[frame.next_layer] = cell
        else:
            assert cell == row["transport"] == frame.transport, (frame.number, line)
    assert {"icmp", "icmpv6", "esp", "gre", "igmp", "ospf"} <= set(shown.values())


@needs_tshark
def test_summary_counts_read_in_words(tmp_path, cli):
    """"1 packets, 454 B, 1 flows from 1 file(s)": one of a thing is singular, a file count
    no placeholder; a capture with a header and no packets says so instead of a table
    headed "Top 0 of 0 flows by bytes"."""
    from tshark_oracle import oracle

    one = shared_capture("arkime/ipv6-gtp6.pcap")
    (frame,) = oracle(one)
    code, out, err = cli("summary", "-q", str(one))
    assert code == 0, err
    assert out.splitlines()[0] == f"1 packet, {frame.length} B, 1 flow from 1 file"
    code, out, err = cli("flows", "-q", str(one))
    assert code == 0, err
    assert out.splitlines()[0].rstrip() == "Top 1 of 1 flow by bytes"
    assert out.rstrip().endswith(
        f"1 flow, 1 packet with ports, 1 packet read ({frame.length} B) from 1 file")

    header_only = tmp_path / "header-only.pcap"
    header_only.write_bytes(bytes.fromhex("d4c3b2a1 0200 0400 00000000 00000000 ffff0000 01000000"))
    assert header_only.stat().st_size == 24
    code, out, err = cli("flows", "-q", str(header_only))
    assert code == 0, err
    assert out.splitlines() == ["No flows",
                                "0 flows, 0 packets with ports, 0 packets read (0 B) from 1 file"]
    code, out, err = cli("summary", "-q", str(header_only))
    assert code == 0, err
    assert out.splitlines()[0] == "0 packets, 0 B, 0 flows from 1 file"
    assert "(s)" not in out and "Top 0" not in out


@needs_tshark
def test_summary_unnamed_service_row_is_null_in_json_and_counted_apart(cli):
    """The by_service row of the flows without a named service was "(none)" in JSON where
    `flows` and `packets` have null: it is null, "(none)" in the text only; `services`
    counts the named services, not that row, and the cut title says both. demo.pcap's
    one unnamed flow is TCP to port 40500 (the snapshot names no 40500/tcp), 12 frames
    in tshark's view; its table heads that port "responder port"."""
    import gzip as gz

    from tshark_oracle import oracle

    from portannot.registry.source import snapshot_source

    demo = local_capture("demo.pcap")
    snapshot = gz.decompress(snapshot_source().path.read_bytes()).decode()
    assert not re.search(r"^\S+\s+40500/tcp\b", snapshot, re.M)
    frames = [f for f in oracle(demo) if f.transport == "tcp" and 40500 in (f.src_port, f.dst_port)]
    code, out, err = cli("summary", "--json", str(demo))
    assert code == 0, err
    doc = json.loads(out)
    unnamed = [r for r in doc["by_service"] if r["service"] is None]
    assert unnamed == [{"service": None, "packets": len(frames),
                        "bytes": sum(f.length for f in frames), "flows": 1}]
    assert "(none)" not in out
    named = [r["service"] for r in doc["by_service"] if r["service"] is not None]
    assert doc["services"] == len(named) == len(doc["by_service"]) - 1
    code, out, err = cli("summary", "--top", "3", str(demo))
    assert code == 0, err
    lines = [line.strip() for line in out.splitlines()]
    assert (f"By service, the top 3 of {len(named) + 1} rows ({len(named)} services and "
            "(none)) by bytes") in lines
    at = next(i for i, line in enumerate(lines) if line.startswith("Flows without a named"))
    assert lines[at + 2].split() == ["transport", "responder", "port", "flows", "packets", "bytes"]
    assert lines[at + 4].split()[:3] == ["tcp", "40500", "1"]


def test_packets_table_shows_registry_names_whole_after_the_first_batch(capsys):
    """The service columns were sized on the first batch alone: afs.pcap's names, read
    after a capture whose names were short, came out as "afs3-callb…". Their floor is
    IANA's longest name (15 characters), so no registry name is cut, whichever batch
    it comes in; each is compared with the CSV's."""
    from portannot.cli import main

    captures = [str(shared_capture("tcpdump/802.1ad_QinQ.pcap")),
                str(shared_capture("tcpdump/afs.pcap"))]

    def run(*args: str) -> str:
        with pytest.raises(SystemExit) as exc:
            main(["packets", *captures, "-q", *args])
        assert exc.value.code == 0
        return capsys.readouterr().out

    lines = run().splitlines()[1:]
    rows = list(csv.DictReader(io.StringIO(run("-f", "csv"))))
    assert len(lines) == len(rows)
    names = {r[c] for r in rows if r["file"] == "1" for c in ("src_service", "dst_service")}
    assert {"afs3-callback", "afs3-fileserver"} <= names
    shown = 0
    for line, row in zip(lines, rows):
        for col in ("src_service", "dst_service"):
            if row[col]:
                assert f" {row[col]} " in f" {line} ", (row[col], line)
                shown += 1
    assert shown > len(lines) and "\u2026" not in "".join(lines)


def test_tcp_flags_of_a_silent_direction_are_empty_not_null(tmp_path):
    """A TCP flow whose responder sent nothing has resp_tcp_flags "" (TCP, no flags
    seen), a UDP flow null (no TCP flags at all): README "Flows: columns"."""
    table = portannot.flows(local_capture("ipv4-options.pcap"))
    rows = {r["transport"]: r for r in table.to_pylist()}
    assert rows["tcp"]["resp_packets"] == 0
    assert rows["tcp"]["orig_tcp_flags"] == "S" and rows["tcp"]["resp_tcp_flags"] == ""
    assert rows["udp"]["orig_tcp_flags"] is None and rows["udp"]["resp_tcp_flags"] is None


def test_the_packets_table_keeps_each_files_digits():
    """The table view writes each file's times with its own precision, as CSV does: a
    microsecond capture's rows 6 digits, the nanosecond one's after it 9 (the table took
    the precision known when it printed a batch, the next file's by then)."""
    demo, nsec = local_capture("demo.pcap"), local_capture("pcap-nsec-le.pcap")
    proc = subprocess.run([sys.executable, "-m", "portannot", "packets", "-f", "table",
                           str(demo), str(nsec)], capture_output=True, check=True)
    rows = [line.split() for line in proc.stdout.decode().splitlines()[1:]]
    digits = {(file, len(ts.split(".")[1])) for file, _number, ts, *_ in rows}
    assert digits == {("0", 6), ("1", 9)}
