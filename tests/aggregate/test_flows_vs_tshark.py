"""Flow packet and byte counts, per direction, equal flows built from tshark's frames.

The reference flows are built in this test from the oracle rows (tests/tshark_oracle.py,
defragmentation off): every frame for which tshark decoded the outermost transport's
ports counts for the bidirectional flow (transport, {(addr, port), (addr, port)}), on
the side of its sending end, with its original frame length as bytes. A later IP
fragment counts with its first fragment's flow when that first fragment came earlier
in the file (tshark shows it as bare data).

portannot's flows are compared as sets of (transport, {end A: (packets, bytes)},
{end B: (packets, bytes)}), independent of which end it calls the originator. Only
port-carrying transports (tcp/udp/sctp/dccp) are compared. Flows portannot splits in
time (idle timeout, a new SYN on a reused 5-tuple) are summed by key first, since the
reference has one flow per key.

Direction and service are checked the same way: the README's rules applied in this
test to tshark's frames (their order, ends and TCP flags, a new flow after FIN/RST and
a SYN) and to the full IANA registry CSV read with the csv module give each flow's
originator, direction_basis, service, service_port and service_basis.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from flow_reference import expected_row, iana_names, reference_with_expected, rule_flows
from paths import capture_id, capture_params, local_captures, shared_captures, shared_iana_csv
from tshark_oracle import (
    TRANSPORTS,
    TSHARK,
    canon_addr,
    flow_key,
    oracle,
    prefetch,
    reference_flows,
)

import portannot

PARAMS = capture_params()
#: damaged captures are part of the set; what portannot.flows() warns of them is tested
#: in tests/test_api.py, here it is only noise
pytestmark = pytest.mark.filterwarnings("ignore::portannot.CaptureWarning")

@pytest.fixture(scope="module", autouse=True)
def _tshark_all():
    prefetch(local_captures() + shared_captures())


def ours_flows(table) -> dict[tuple, dict[tuple[str, int], list[int]]]:
    flows: dict[tuple, dict[tuple[str, int], list[int]]] = {}
    for row in table.to_pylist():
        t = row["transport"]
        if t not in TRANSPORTS or row["orig_port"] is None or row["resp_port"] is None:
            continue
        a = (canon_addr(row["orig_addr"]), int(row["orig_port"]))
        b = (canon_addr(row["resp_addr"]), int(row["resp_port"]))
        ends = flows.setdefault(flow_key(t, a, b), {})
        for end, pk, by in ((a, row["orig_packets"], row["orig_bytes"]),
                            (b, row["resp_packets"], row["resp_bytes"])):
            if pk or by or end not in ends:
                s = ends.setdefault(end, [0, 0])
                s[0] += int(pk or 0)
                s[1] += int(by or 0)
    # drop ends that sent nothing, like the reference (which only has sending ends)
    return {k: {e: s for e, s in v.items() if s[0] or s[1]} for k, v in flows.items()}


def _fmt(key, ends) -> str:
    t, pair = key
    parts = ", ".join(f"{a}:{p} sent {s[0]} pkts/{s[1]} B" for (a, p), s in sorted(
        ends.items(), key=lambda kv: (kv[0][0], kv[0][1])))
    return f"{t} {sorted(pair)} -> {parts or 'nothing'}"


def compare_flows(ours, ref) -> list[str]:
    out = []
    for key in sorted(set(ours) | set(ref), key=repr):
        o, r = ours.get(key), ref.get(key)
        if o is None:
            out.append(f"missing in portannot: {_fmt(key, r)}")
        elif r is None:
            out.append(f"not in tshark's:      {_fmt(key, o)}")
        elif o != r:
            out.append(f"counts differ:\n    ours:   {_fmt(key, o)}\n    tshark: {_fmt(key, r)}")
    return out


@pytest.mark.parametrize("capture", PARAMS)
def test_flows_match_tshark(capture):
    cid = capture_id(capture)
    ref = reference_with_expected(cid, oracle(capture))
    table = portannot.flows([capture])
    ours = ours_flows(table)
    problems = compare_flows(ours, ref)
    shown = "\n".join(problems[:20])
    more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
    assert not problems, (f"{cid}: {len(problems)} flow(s) differ "
                          f"({len(ours)} ours, {len(ref)} tshark's):\n{shown}{more}")


@pytest.mark.parametrize("capture", PARAMS)
def test_flow_totals_add_up(capture):
    """Within portannot's table: packets = orig + resp, bytes = orig + resp."""
    table = portannot.flows([capture]).to_pylist()
    bad = [r for r in table if r["packets"] != r["orig_packets"] + r["resp_packets"]
           or r["bytes"] != r["orig_bytes"] + r["resp_bytes"]]
    assert not bad, f"{capture_id(capture)}: totals do not add up in {bad[:3]}"


def test_reference_flows_demo():
    """The reference itself, on pcaps/demo.pcap: the flows the generator wrote."""
    from paths import local_capture

    ref = reference_flows(oracle(local_capture("demo.pcap")))
    by_t: dict[str, int] = {}
    for t, _ in ref:
        by_t[t] = by_t.get(t, 0) + 1
    # http, https x2, ssh, 80->40500, mysql mid-stream; 20 DNS; 1 SCTP; 1 DCCP
    assert by_t == {"tcp": 6, "udp": 20, "sctp": 1, "dccp": 1}
    mysql = ref[flow_key("tcp", ("192.0.2.33", 3306), ("192.0.2.34", 52000))]
    assert {e: s[0] for e, s in mysql.items()} == {("192.0.2.33", 3306): 12, ("192.0.2.34", 52000): 12}


# ------------------------------------------------- direction and service, by the rules

#: where the first and last time sit in a row of expected_row
TIMES = 8


@pytest.fixture(scope="module")
def iana():
    path = shared_iana_csv()
    return path, iana_names(path)


@pytest.mark.parametrize("capture", PARAMS)
def test_each_flow_is_what_the_rules_make_of_tsharks_frames(capture, iana):
    """Each flow's originator, direction basis and service, with the full IANA registry,
    equal the README's rules applied to tshark's frames (ends, TCP flags, order) and to
    the registry file read here with the csv module; its TCP flags per direction are
    those of tshark's frames, its VLAN that of its first frame, its first and last
    times the earliest and latest of its frames' (frame.time_epoch; not compared for a
    flow with a frame tshark gives no valid time: tests/tshark_oracle.epoch_ns), and
    its packets and bytes each way those of its frames, flow by flow where a TCP flow
    starts over."""
    cid = capture_id(capture)
    path, names = iana
    differ = rules_differ(rule_flows(cid, oracle(capture)), names,
                          portannot.flows([capture], registry=path))
    assert not differ, f"{cid}: {len(differ)} flow(s) differ:\n" + "\n".join(differ[:20])


#: (idle, active) timeouts in seconds: splits in most captures, of both kinds
TIMEOUTS = [(0.5, 2.0), (0.01, None), (None, 0.05)]


@pytest.mark.parametrize("timeouts", TIMEOUTS, ids=lambda t: f"idle{t[0]}-active{t[1]}")
def test_timeouts_split_flows_as_the_rules_do(timeouts, iana):
    """--idle-timeout / --active-timeout: a flow ends when its next frame comes more than
    the idle timeout after its latest frame or more than the active timeout after its
    first, and that frame starts a new one; on every capture whose frames all have a
    time, the same rules applied to tshark's frames give the same flows."""
    idle, active = timeouts
    path, names = iana
    split = 0
    for capture in local_captures() + shared_captures():
        cid = capture_id(capture)
        rows = oracle(capture)
        if any(r.ts_ns is None for r in rows):
            continue
        runs = rule_flows(cid, rows, int((idle or 0) * 1e9), int((active or 0) * 1e9))
        table = portannot.flows([capture], registry=path, idle_timeout=idle,
                                active_timeout=active)
        differ = rules_differ(runs, names, table)
        assert not differ, f"{cid}: {len(differ)} flow(s) differ:\n" + "\n".join(differ[:20])
        split += table.num_rows - len(runs)  # flows beyond one per key
    assert split > 100  # the timeouts did split flows (377, 1,041 and 892 when written)


def flow_rows(table: pa.Table) -> dict[tuple, list[tuple]]:
    """portannot's flows as expected_row tuples, per key in creation order."""
    for name in ("first_ts", "last_ts"):  # integer nanoseconds, as tshark's are here
        if name in table.column_names:
            table = table.set_column(table.schema.get_field_index(name), name,
                                     table[name].cast(pa.int64()))
    ours: dict[tuple, list[tuple]] = {}
    for row in sorted(table.to_pylist(), key=lambda r: r["flow_id"]):
        orig = (canon_addr(row["orig_addr"]), row["orig_port"])
        resp = (canon_addr(row["resp_addr"]), row["resp_port"])
        ours.setdefault(flow_key(row["transport"], orig, resp), []).append((
            orig, row["direction_basis"], row["service"], row["service_port"],
            row["service_basis"], row["orig_tcp_flags"], row["resp_tcp_flags"], row["vlan"],
            row["first_ts"], row["last_ts"], row["orig_packets"], row["orig_bytes"],
            row["resp_packets"], row["resp_bytes"]))
    return ours


def rules_differ(runs: dict, names: dict, table: pa.Table) -> list[str]:
    """Where portannot's flows and the rules' flows of tshark's frames disagree."""
    ref = {key: [expected_row(key, f, names) for f in fs] for key, fs in runs.items()}
    ours = flow_rows(table)
    for key, rows in ref.items():  # no time to compare with where tshark shows none
        for k, row in enumerate(rows):
            if row[TIMES] is None and k < len(ours.get(key, [])):
                mine = ours[key][k]
                ours[key][k] = (*mine[:TIMES], None, None, *mine[TIMES + 2:])
    return [f"{key}: ours {ours.get(key)}, rules {ref.get(key)}"
            for key in sorted(set(ours) | set(ref), key=repr) if ours.get(key) != ref.get(key)]


def test_demo_client_from_port_80_has_no_service(iana):
    """pcaps/demo.pcap's client sending its SYN from port 80 to 40500: the registry
    names no service on 40500 (any transport), so the flow has none, whatever port 80 is."""
    from paths import local_capture

    path, names = iana
    assert not any((t, 40500) in names for t in TRANSPORTS)
    rows = [r for r in portannot.flows(local_capture("demo.pcap"), registry=path).to_pylist()
            if r["resp_port"] == 40500]
    assert [(r["orig_addr"], r["orig_port"], r["direction_basis"], r["service"],
             r["service_basis"]) for r in rows] == [("192.0.2.80", 80, "syn", None, "none")]


def _reuse_capture(path):
    """One client port per case, each a way the same TCP ends see a second SYN."""
    from scapy.all import IP, TCP, Ether, Raw, wrpcap

    client, server = "192.0.2.1", "198.51.100.2"

    def seg(up, port, flags, seq, ack, t, data=b""):
        src, dst, sp, dp = (client, server, port, 80) if up else (server, client, 80, port)
        pkt = Ether() / IP(src=src, dst=dst) / TCP(sport=sp, dport=dp, flags=flags, seq=seq,
                                                   ack=ack)
        if data:
            pkt = pkt / Raw(data)
        pkt.time = 1704067200 + t
        return pkt

    def session(port, t, isn=1000, close="fin"):
        s = [seg(True, port, "S", isn, 0, t), seg(False, port, "SA", 5000, isn + 1, t + .01),
             seg(True, port, "A", isn + 1, 5001, t + .02),
             seg(True, port, "PA", isn + 1, 5001, t + .03, b"x" * 10)]
        if close == "fin":
            s += [seg(True, port, "FA", isn + 11, 5001, t + .04),
                  seg(False, port, "FA", 5001, isn + 12, t + .05),
                  seg(True, port, "A", isn + 12, 5002, t + .06)]
        elif close == "rst":
            s += [seg(False, port, "R", 5001, 0, t + .04)]
        return s

    pkts = (session(40001, 0) + session(40001, 1, isn=9000)  # FIN, then a new SYN
            + session(40002, 2, close="") + session(40002, 3, isn=9000, close="")  # no close
            + session(40003, 4, close="rst") + session(40003, 5, isn=9000)  # RST, new SYN
            + session(40004, 6) + [seg(True, 40004, "S", 1000, 0, 6.5)]  # the old SYN again
            + session(40005, 7) + [seg(False, 40005, "S", 7777, 0, 7.5),  # the server's
                                   seg(True, 40005, "SA", 3333, 7778, 7.51)])
    wrpcap(str(path), pkts)
    return path


@pytest.mark.skipif(TSHARK is None, reason="needs tshark")
def test_a_new_connection_on_the_same_ends_is_a_new_flow_as_tsharks_tcp_stream(tmp_path):
    """Ports reused with or without a FIN or RST between, a retransmitted first SYN, a
    SYN from the other side: each tshark tcp.stream is one flow, and no more."""
    import subprocess

    path = _reuse_capture(tmp_path / "reuse.pcap")
    out = subprocess.run([TSHARK, "-r", str(path), "-T", "fields", "-e", "tcp.stream",
                          "-e", "tcp.srcport", "-e", "tcp.dstport"],
                         capture_output=True, text=True, check=True).stdout
    streams: dict[int, list] = {}
    for line in out.splitlines():
        stream, sport, dport = map(int, line.split("\t"))
        streams.setdefault(stream, []).append(sport if dport == 80 else dport)
    expected = sorted((ports[0], len(ports)) for ports in streams.values())
    table = portannot.flows(path)
    client = [o if r == 80 else r for o, r in zip(table["orig_port"].to_pylist(),
                                                   table["resp_port"].to_pylist())]
    got = sorted(zip(client, table["packets"].to_pylist()))
    assert got == expected
    assert expected == [(40001, 7), (40001, 7), (40002, 4), (40002, 4), (40003, 5),
                        (40003, 7), (40004, 8), (40005, 2), (40005, 7)]


def _fragment_across_a_new_connection(path):
    """The server's segment (ACK, 40 bytes of data) in three IPv4 fragments of id 42; its
    first fragment, then a RST and a new SYN from the client (a new connection), then the
    second fragment, counted in the new flow: the server has sent nothing else in it. A FIN
    without ACK from the client, then a SYN from the server."""
    from scapy.all import IP, TCP, Ether, Raw, fragment, wrpcap

    client, server = "192.0.2.1", "198.51.100.2"

    def seg(src, dst, sport, dport, flags, seq, t):
        pkt = Ether() / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags,
                                                   seq=seq, ack=0)
        pkt.time = 1704067200 + t
        return pkt

    data = IP(src=server, dst=client, id=42) / TCP(sport=80, dport=40001, flags="A", seq=7000,
                                                    ack=0) / Raw(b"y" * 40)
    first, second = (Ether() / f for f in fragment(data, fragsize=24)[:2])
    first.time, second.time = 1704067200, 1704067200.3
    wrpcap(str(path), [first, seg(client, server, 40001, 80, "R", 50, 0.1),
                       seg(client, server, 40001, 80, "S", 100, 0.2), second,
                       seg(client, server, 40001, 80, "F", 101, 0.4),
                       seg(server, client, 80, 40001, "S", 5, 0.5)])
    return path


@pytest.mark.skipif(TSHARK is None, reason="needs tshark")
def test_a_later_fragment_gives_no_side_a_base_as_tsharks_tcp_stream(tmp_path):
    """tshark (defragmentation off, as the oracle runs it) shows the second fragment as
    data, so the server has no base in the new connection's stream and its SYN after the
    client's FIN stays in it: two streams, frames 1-2 and 3, 5, 6; the fragment counts in
    the flow open on its ends, the second. portannot, and the rules reference, took the
    fragment for a segment of the server's and split off its SYN as a third flow."""
    import subprocess

    path = _fragment_across_a_new_connection(tmp_path / "fragment.pcap")
    out = subprocess.run([TSHARK, "-r", str(path), "-o", "ip.defragment:FALSE", "-T", "fields",
                          "-e", "tcp.stream"], capture_output=True, text=True, check=True).stdout
    streams = [int(x) if x else None for x in out.splitlines()]
    assert streams == [0, 0, 1, None, 1, 1]
    expected = [2, 4]  # stream 0; stream 1 and the fragment between its frames
    assert portannot.flows(path)["packets"].to_pylist() == expected
    runs = next(iter(rule_flows("fragment", oracle(path)).values()))
    assert [f.packets for f in runs] == expected
