"""`portannot summary --json` on every capture against tshark's frames: packets and bytes
in all and with ports, per transport, per service (the README's rules with the full IANA
registry CSV, tests/flow_reference.py), per address, and the flows without a named service.

The command runs in-process with `--top` large enough to list every row, so rankings
are compared as whole tables, whatever order equal values come in.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from capgen import write_pcap
from flow_reference import expected_row, iana_names, rule_flows
from paths import (
    capture_id,
    capture_params,
    local_capture,
    local_captures,
    shared_captures,
    shared_iana_csv,
)
from tshark_oracle import CAPINFOS, oracle, prefetch

import portannot
from portannot.cli import main
from portannot.errors import ExitCode

PARAMS = capture_params()
EVERY_ROW = "1000000"


@pytest.fixture(scope="module", autouse=True)
def _tshark_all():
    prefetch(local_captures() + shared_captures())


@pytest.fixture(scope="module")
def iana():
    path = shared_iana_csv()
    return path, iana_names(path)


def summary_of(capsys, capture, registry) -> dict:
    with pytest.raises(SystemExit) as exc:
        main(["summary", "--json", "--top", EVERY_ROW, "--registry", str(registry), str(capture)])
    out, err = capsys.readouterr()
    assert exc.value.code in (ExitCode.OK, ExitCode.DAMAGED_INPUT), err
    return json.loads(out)


def reference_summary(cid: str, rows, names) -> dict:
    """The summary's figures, from the reference flows of tshark's frames."""
    tally = lambda: [0, 0, 0]  # noqa: E731 - packets, bytes, flows
    transports, services, unnamed_ports = (defaultdict(tally) for _ in range(3))
    talkers: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # sent, received, flows
    unnamed = [0, 0, 0]
    for key, runs in rule_flows(cid, rows).items():
        t = key[0]
        for f in runs:
            orig, _basis, service = expected_row(key, f, names)[:3]
            resp = next((e for e in key[1] if e != orig), orig)
            adds = [f.packets, f.bytes, 1]
            targets = [transports[t], services[service]]  # None: the unnamed flows' row
            if service is None:
                targets += [unnamed, unnamed_ports[f"{t}/{resp[1]}"]]
            for target in targets:
                for i, v in enumerate(adds):
                    target[i] += v
            for end, (_packets, nbytes) in f.sent.items():
                receiver = resp if end == orig else orig
                talkers[end[0]][0] += nbytes
                talkers[receiver[0]][1] += nbytes
            for addr in {orig[0], resp[0]}:
                talkers[addr][2] += 1
    return {"packets": len(rows), "bytes": sum(r.length for r in rows),
            "transports": dict(transports), "services": dict(services),
            "talkers": dict(talkers), "unnamed": unnamed, "unnamed_ports": dict(unnamed_ports)}


def _rows(doc_rows: list[dict], key: str, fields: tuple[str, ...]) -> dict[str, list[int]]:
    return {r[key]: [r[f] for f in fields] for r in doc_rows}


@pytest.mark.parametrize("capture", PARAMS)
def test_summary_is_what_tsharks_frames_add_up_to(capture, iana, capsys):
    cid = capture_id(capture)
    registry, names = iana
    doc = summary_of(capsys, capture, registry)
    ref = reference_summary(cid, oracle(capture), names)
    assert doc["packets"] == ref["packets"], cid
    assert doc["bytes"] == ref["bytes"], cid
    counts = ("packets", "bytes", "flows")
    assert _rows(doc["by_transport"], "transport", counts) == ref["transports"], cid
    ports = doc["accounting"]["ports"]  # the packets with ports are the flows' packets
    assert [ports["packets"], ports["bytes"]] == [
        sum(v[0] for v in ref["transports"].values()),
        sum(v[1] for v in ref["transports"].values())], cid
    assert _rows(doc["by_service"], "service", counts) == ref["services"], cid
    assert _rows(doc["top_talkers"], "address", ("sent", "received", "flows")) == ref["talkers"], cid
    u = doc["unnamed"]
    assert [u["packets"], u["bytes"], u["flows"]] == ref["unnamed"], cid
    assert {f"{r['transport']}/{r['port']}": [r[f] for f in counts]
            for r in u["top_responder_ports"]} == ref["unnamed_ports"], cid
    assert all(isinstance(r["port"], int) for r in u["top_responder_ports"])
    # the sizes of the whole rankings, which say when --top cut them; `services` counts
    # the named services, not the row of flows without one (service null)
    assert doc["services"] == len([s for s in ref["services"] if s is not None]), cid
    assert (None in ref["services"]) == (u["flows"] > 0), cid
    assert doc["talkers"] == len(ref["talkers"]), cid
    assert u["responder_ports"] == len(ref["unnamed_ports"]), cid


@pytest.mark.parametrize("name", ["demo.pcap", "random-stacks.pcap"])
def test_rankings_are_by_bytes_and_top_keeps_their_head(name, iana, capsys):
    """Every ranking runs from the most bytes down; --top N shows the first N rows of
    the whole ranking (the order of equal rows is fixed, so the head is too)."""
    capture, (registry, _names) = local_capture(name), iana
    whole = summary_of(capsys, capture, registry)
    with pytest.raises(SystemExit):
        main(["summary", "--json", "--top", "3", "--registry", str(registry), str(capture)])
    head = json.loads(capsys.readouterr().out)
    rankings = {
        "by_service": lambda d: d["by_service"],
        "top_talkers": lambda d: d["top_talkers"],
        "unnamed ports": lambda d: d["unnamed"]["top_responder_ports"],
    }
    for what, rows in rankings.items():
        nbytes = [r["bytes"] for r in rows(whole)]
        assert nbytes, (name, what)
        assert nbytes == sorted(nbytes, reverse=True), (name, what)
        assert rows(head) == rows(whole)[:3], (name, what)
    assert max(len(rows(whole)) for rows in rankings.values()) > 3  # --top cut something
    assert head["by_transport"] == whole["by_transport"]  # every transport, always
    named = [r["service"] for r in whole["by_service"] if r["service"] is not None]
    assert head["services"] == len(named) and len(whole["by_service"]) == len(named) + 1
    assert head["talkers"] == len(whole["top_talkers"])
    assert head["unnamed"]["responder_ports"] == len(whole["unnamed"]["top_responder_ports"])
    with pytest.raises(SystemExit):
        main(["summary", "--top", "3", "--registry", str(registry), str(capture)])
    titles = [line for line in capsys.readouterr().out.splitlines()
              if line.startswith(("By service", "Top talkers"))]
    assert titles == [f"By service, the top 3 of {len(named) + 1} rows "
                      f"({len(named)} services and (none)) by bytes",
                      f"Top talkers (flows with ports), the top 3 of {head['talkers']} by bytes"]


def test_api_summary_is_the_commands(iana, capsys):
    """portannot.summary() reports what `portannot summary --json` does (that one is
    checked against tshark above), one capture or several together."""
    registry, _names = iana
    captures = [str(local_capture(n)) for n in ("demo.pcap", "random-stacks.pcap")]
    for paths in ([captures[0]], captures):
        with pytest.raises(SystemExit):
            main(["summary", "--json", "--top", "7", "--registry", str(registry), *paths])
        command = json.loads(capsys.readouterr().out)
        api = portannot.summary(paths if len(paths) > 1 else paths[0], registry=registry, top=7)
        assert json.loads(json.dumps(api)) == command


def test_json_names_a_file_whose_name_is_not_utf8(tmp_path):
    """A file name's bytes that are not UTF-8 reached the JSON as themselves (0xE9),
    which made the document invalid: they are backslash escapes in it."""
    import os
    import subprocess
    import sys

    name = os.path.join(os.fsencode(tmp_path), b"caf\xe9.pcap")
    with open(name, "wb") as f:
        f.write(local_capture("demo.pcap").read_bytes())
    proc = subprocess.run([sys.executable, "-m", "portannot", "summary", "--json", name],
                          capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.decode("utf-8"))  # strict UTF-8: valid JSON text
    assert report["files"] == [os.fsdecode(tmp_path) + "/caf\\xe9.pcap"]


def _capinfos_span(capture) -> tuple[str, str, str]:
    """(first packet time, last packet time, duration) as capinfos writes them in UTC:
    dates and seconds at the capture's precision."""
    import os
    import subprocess

    out = subprocess.run([CAPINFOS, "-a", "-e", "-u", str(capture)], capture_output=True,
                         text=True, check=True, env=dict(os.environ, TZ="UTC")).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return (fields["First packet time"].strip(), fields["Last packet time"].strip(),
            fields["Capture duration"].strip().removesuffix(" seconds"))


@pytest.mark.skipif(CAPINFOS is None, reason="capinfos (wireshark) not installed")
@pytest.mark.parametrize("name", ["demo.pcap", "pcap-nsec-le.pcap", "pcap-usec-be.pcap"])
def test_text_summary_gives_the_span_capinfos_gives(name, cli):
    """The text report's span: first and last packet time and the time between, as
    capinfos gives them (UTC, the capture's digits: 6 for µs, 9 for ns captures)."""
    first, last, duration = _capinfos_span(local_capture(name))
    code, out, err = cli("summary", str(local_capture(name)))
    assert code == 0, err
    assert f"Capture span: {first} to {last} UTC, {duration} s" in out.splitlines(), out


@pytest.mark.skipif(CAPINFOS is None, reason="capinfos (wireshark) not installed")
def test_a_long_span_is_told_in_days_and_hours_too(cli, tmp_path):
    """Beside capinfos's seconds, a span of a minute or more in its two largest units:
    three packets a day, an hour, a minute and a second apart (90,061 s: 1 d 1 h)."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    frame = Ether() / IP(src="192.0.2.1", dst="198.51.100.2") / UDP(sport=43000, dport=53)
    t0 = 1_700_000_000 * 10**9
    capture = write_pcap(tmp_path / "long.pcap",
                         [(t0, frame), (t0 + 5 * 10**9, frame), (t0 + 90_061 * 10**9, frame)])
    first, last, duration = _capinfos_span(capture)
    code, out, err = cli("summary", str(capture))
    assert code == 0, err
    assert f"Capture span: {first} to {last} UTC, {duration} s (1 d 1 h)" in out.splitlines(), out


def test_text_summary_span_of_no_packets_and_talkers_heading(cli, tmp_path):
    """An empty capture has no span to give, and says so; the talkers heading says what
    the table counts (flows: packets with ports, not every IP packet)."""
    empty = write_pcap(tmp_path / "empty.pcap", [])
    code, out, err = cli("summary", str(empty))
    assert code == 0, err
    lines = out.splitlines()
    assert "Capture span: no packets" in lines
    assert "Top talkers (flows with ports)" in lines
