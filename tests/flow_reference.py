"""The README's flow rules applied to tshark's frames: the reference that the flow and
summary tests compare portannot with.

Frames come from tests/tshark_oracle.py (defragmentation off). A frame counts in a flow
when tshark decoded its outermost transport's ports, or when it is a later IP fragment
of a datagram whose first fragment came earlier (tshark shows it as bare data), or when
EXPECTED_DIFFERENCES says so. Which datagram a later fragment is of, the README's
fragment rules decide from tshark's fields (tshark_oracle.attribute_fragments): the
latest first fragment with its identification; not that one's when it showed no ports,
or when that datagram's last fragment (MF=0) has been seen and ended at or before this
fragment's offset (ip.frag_offset / ipv6.fraghdr.offset; the end from the last
fragment's offset plus its payload, ip.len - ip.hdr_len or ipv6.plen less the headers
up to the Fragment header's end). Flows are keyed by transport and the unordered pair of
(address, port) ends; a SYN without ACK that opens a new TCP connection on the same ends
starts over (see new_connection). Service names come from the registry file read here with the csv module.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

from tshark_oracle import attribute_fragments, flow_key

#: capture id -> {frame: (transport, src port, dst port, reason)}: frames portannot
#: legitimately counts in a flow although tshark shows no ports for them; the reference
#: adds them. Keep minimal (mirrors tests/decode/test_tshark_agreement.py's list).
EXPECTED_DIFFERENCES: dict[str, dict[int, tuple[str, int, int, str]]] = {
    "pcaps/truncated.pcap": {
        12: ("sctp", 45004, 2905, "snaplen keeps exactly the 4 bytes of SCTP ports; tshark "
             "4.0 shows no SCTP field without the whole 12-byte common header"),
    },
}


def reference_with_expected(cid: str, rows) -> dict[tuple, dict[tuple[str, int], list[int]]]:
    """Whole-capture conversations, the rule flows of each key summed: key -> {sending
    end: [packets, bytes]} (tshark_oracle.reference_flows with the EXPECTED_DIFFERENCES
    frames added)."""
    out: dict[tuple, dict[tuple[str, int], list[int]]] = {}
    for key, runs in rule_flows(cid, rows).items():
        ends = out[key] = {}
        for f in runs:
            for end, (packets, nbytes) in f.sent.items():
                s = ends.setdefault(end, [0, 0])
                s[0] += packets
                s[1] += nbytes
    return out


SYN, ACK, FIN, RST = 0x02, 0x10, 0x01, 0x04
#: tcpdump's letter for each flag bit, lowest first (N: the old ECN nonce bit, 0x100)
FLAG_LETTERS = {0x01: "F", 0x02: "S", 0x04: "R", 0x08: "P", 0x10: "A", 0x20: "U", 0x40: "E",
                0x80: "C", 0x100: "N"}


def flag_letters(transport: str, flags: int) -> str | None:
    if transport != "tcp":
        return None
    return "".join(ch for bit, ch in FLAG_LETTERS.items() if flags & bit)


@dataclass
class RuleFlow:
    """One flow of the rules reference: the evidence the README's direction rule reads."""

    flow_id: int  #: 1, 2, ... in the order the flows start (the README's flow_id)
    first_sender: tuple[str, int]
    vlan: int | None  #: the first packet's
    first_ts: int | None  #: None once a frame without a time (pcapng SPB) joined
    last_ts: int | None
    syn_sender: tuple[str, int] | None = None
    synack_receiver: tuple[str, int] | None = None
    closed: bool = False
    #: per sending end, the sequence number its side started from (tshark's base_seq)
    base: dict[tuple[str, int], int] = field(default_factory=dict)
    #: the sending ends that sent a segment with ACK (tshark takes the other side's base
    #: from the first)
    acked: set[tuple[str, int]] = field(default_factory=set)
    #: the sending ends that sent a TCP header tshark decoded (a later IP fragment counted
    #: in the flow is none: tshark shows it as data)
    segments: set[tuple[str, int]] = field(default_factory=set)
    flags: dict[tuple[str, int], int] = field(default_factory=dict)  #: per sending end
    sent: dict[tuple[str, int], list[int]] = field(default_factory=dict)  #: [packets, bytes]

    @property
    def packets(self) -> int:
        return sum(p for p, _ in self.sent.values())

    @property
    def bytes(self) -> int:
        return sum(b for _, b in self.sent.values())


def iana_names(path) -> dict[tuple[str, int], str]:
    """(transport, port) -> the first name the registry file gives it, read with csv.
    A row with ports but no transport (active-net 3322-3325) names them on tcp and udp,
    as the README says. A placeholder row (a name with no description and a conflict
    note: shilp on 2049, before nfs) names a port only where no other row does, as
    Wireshark's make-services.py leaves shilp out."""
    names: dict[tuple[str, int], str] = {}
    held: dict[tuple[str, int], str] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            name = row["Service Name"].strip()
            port = row["Port Number"].strip()
            transport = row["Transport Protocol"].strip().lower()
            if not (name and port):
                continue
            placeholder = (not row["Description"].strip()
                           and "conflict" in row["Assignment Notes"].lower())
            lo, _, hi = port.partition("-")
            for t in [transport] if transport else ["tcp", "udp"]:
                for p in range(int(lo), int(hi or lo) + 1):
                    (held if placeholder else names).setdefault((t, p), name)
    return {**held, **names}


def rule_flows(cid: str, rows, idle_ns: int = 0, active_ns: int = 0) -> dict[tuple, list[RuleFlow]]:
    """Flows in the order they start, from tshark's frames, TCP flags and sequence
    numbers: a SYN without ACK that opens a new connection starts over; so does a flow whose next
    frame comes when the capture clock (the latest time of any frame so far, this one
    included) is more than idle_ns past the flow's latest frame or active_ns past its
    earliest (when those are set; every frame must then have a time)."""
    frag_ports = attribute_fragments(rows)
    extra = EXPECTED_DIFFERENCES.get(cid, {})
    flows: dict[tuple, list[RuleFlow]] = {}
    started = 0
    clock = None
    for r in rows:
        assert r.number not in extra or r.transport is None, \
            f"{cid} frame {r.number}: tshark now has ports, drop the entry"
        if r.ts_ns is not None:
            clock = r.ts_ns if clock is None else max(clock, r.ts_ns)
        flags = 0
        if r.transport is not None:
            t, sp, dp, flags = r.transport, r.src_port, r.dst_port, r.tcp_flags or 0
        elif r.number in frag_ports:
            t, sp, dp = frag_ports[r.number]
        elif r.number in extra:
            t, sp, dp, _ = extra[r.number]
        else:
            continue
        a, b = (r.src, sp), (r.dst, dp)
        runs = flows.setdefault(flow_key(t, a, b), [])
        opening = t == "tcp" and bool(flags & SYN) and not flags & ACK
        if not runs or (opening and new_connection(runs[-1], a, r.tcp_seq)) or _timed_out(
                runs[-1], clock, idle_ns, active_ns):
            started += 1
            runs.append(RuleFlow(started, a, r.vlan, r.ts_ns, r.ts_ns))
        f = runs[-1]
        if r.ts_ns is None or f.first_ts is None:
            f.first_ts = f.last_ts = None
        else:
            f.first_ts, f.last_ts = min(f.first_ts, r.ts_ns), max(f.last_ts, r.ts_ns)
        sent = f.sent.setdefault(a, [0, 0])
        sent[0] += 1
        sent[1] += r.length
        if t != "tcp":
            continue
        if r.transport == "tcp":
            f.segments.add(a)
        f.flags[a] = f.flags.get(a, 0) | flags
        if a not in f.base and flags and r.tcp_seq is not None:
            f.base[a] = r.tcp_seq if flags & SYN else (r.tcp_seq - 1) % 2**32
        if opening and f.syn_sender is None:
            f.syn_sender = a
        if flags & SYN and flags & ACK and f.synack_receiver is None:
            f.synack_receiver = b
        if flags & (FIN | RST):
            f.closed = True
        if flags & ACK:
            f.acked.add(a)
    return flows


def new_connection(f: RuleFlow, sender: tuple[str, int], seq: int | None) -> bool:
    """The README's rule for a SYN without ACK from `sender`, as tshark's tcp.stream
    splits: a new connection when its sequence number differs from the base that side
    started with (its first SYN's number, one less than its first other segment's), a
    retransmission when equal; a side with no base yet opens a new one only after FIN or
    RST, and only where tshark has a base for it: the side sent segments without flags
    (TCP headers: a later IP fragment is none), or the other side acknowledged something."""
    if sender in f.base:
        return seq != f.base[sender]
    others_acked = any(end != sender for end in f.acked)
    return f.closed and (sender in f.segments or others_acked)


def _timed_out(f: RuleFlow, clock: int | None, idle_ns: int, active_ns: int) -> bool:
    if not (idle_ns or active_ns):
        return False
    assert clock is not None and f.first_ts is not None, "timeouts need a time on every frame"
    return bool((idle_ns and clock - f.last_ts > idle_ns)
                or (active_ns and clock - f.first_ts > active_ns))


def expected_row(key, f: RuleFlow, names) -> tuple:
    """(originator, direction_basis, service, service_port, service_basis, originator's
    and responder's TCP flags, VLAN, first and last time, originator's packets and
    bytes, responder's packets and bytes) by the README."""
    t, pair = key
    if f.syn_sender is not None:
        orig, basis = f.syn_sender, "syn"
    elif f.synack_receiver is not None:
        orig, basis = f.synack_receiver, "synack"
    else:
        orig, basis = f.first_sender, "first-packet"
    resp = next((e for e in pair if e != orig), orig)
    name_o, name_r = names.get((t, orig[1])), names.get((t, resp[1]))
    if basis != "first-packet":
        chosen = (name_r, resp[1], "responder-port") if name_r else None
    elif name_o and name_r:
        low = min(orig[1], resp[1])
        chosen = (names[(t, low)], low, "lower-named-port")
    elif name_r:
        chosen = (name_r, resp[1], "one-named-port")
    elif name_o:
        chosen = (name_o, orig[1], "one-named-port")
    else:
        chosen = None
    back = resp != orig  # a flow from an end to itself has one direction
    return (orig, basis, *(chosen or (None, None, "none")),
            flag_letters(t, f.flags.get(orig, 0)),
            flag_letters(t, f.flags.get(resp, 0) if back else 0), f.vlan,
            f.first_ts, f.last_ts,
            *f.sent.get(orig, [0, 0]), *(f.sent.get(resp, [0, 0]) if back else [0, 0]))
