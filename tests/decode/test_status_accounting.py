"""Every record lands in exactly one status, and the records add up to capinfos' count.

For every capture (pcaps/ and ../shared/pcaps): each record decoded has one of the
statuses STATUS_NAMES knows, and the number of records decoded equals capinfos' packet
count (records before a mid-record cut for a damaged file). Each status is also checked against tshark's view of the
frame where the meaning is unambiguous (FRAGMENT only for fragments tshark shows without
ports and not malformed, NON_IP only where tshark found no IP layer, ...), and, for the generated captures whose content is
known, against the status each frame was built to have (EXPECTED_STATUS).
"""

from __future__ import annotations

import numpy as np
import pytest
from paths import capture_id, capture_params, local_capture, local_captures, shared_captures
from tshark_oracle import capinfos_count, oracle, prefetch

from portannot.decode import decode_file
from portannot.status import STATUS_NAMES, Status
from portannot.transport import Transport

PARAMS = capture_params()

P, NP, NON, FR, TR, MAL = (Status.PORTS, Status.NO_PORTS, Status.NON_IP, Status.FRAGMENT,
                           Status.TRUNCATED, Status.MALFORMED)

#: pcaps/ file -> {frame: status it was built to have}. Only unambiguous cases; see
#: pcaps/README.md for the frames and for what tshark says of each.
EXPECTED_STATUS: dict[str, dict[int, Status]] = {
    "truncated.pcap": {
        1: TR, 2: TR, 3: TR, 4: P, 5: TR, 6: P, 7: TR, 8: TR, 9: TR, 10: TR,
        11: TR, 12: P, 13: TR, 14: P, 15: TR, 17: P, 18: P, 19: P,
        20: TR, 21: TR, 22: TR,
    },
    "fragments.pcap": {
        # first fragments have ports; later ones carry them when the first came earlier
        1: P, 2: P, 3: P, 4: P, 5: P, 6: P, 7: P, 8: P, 9: P,
        10: FR, 11: FR,            # first fragment never appears
        12: FR, 13: P, 14: FR, 15: P,  # later fragment before its first
        16: FR,                    # same IPv4 id as frames 1-3, other source address
    },
    "fragment-ends.pcap": {
        1: P, 2: P, 3: FR, 4: FR, 5: P,  # id 77 ends at byte 24: pieces at 800 and 24 are not its
        6: P, 7: P,                # a new first fragment with id 77 starts over
        8: P, 9: P, 10: FR,        # the same over IPv6
        11: FR, 12: FR, 13: FR, 14: FR,  # the header chain split across fragments (RFC 7112)
        15: P, 16: P,              # TCP in an 8-byte first fragment: ports
        17: FR, 18: FR,            # first fragments ending inside the UDP / dest-opts header
        19: FR, 20: FR,            # id 77's latest first fragment has no ports
        21: MAL,                   # an atomic fragment's length leaves 2 bytes of UDP
    },
    "malformed.pcap": {
        1: MAL,  # IPv4 IHL 4
        2: MAL,  # IPv4 total length 16 < 20
        3: MAL,  # IPv4 IHL 15, header longer than the packet
        5: MAL,  # IPv4 total length leaves 2 bytes of the UDP header
        6: MAL,  # IPv6 payload length 4 < 8-byte hop-by-hop header
        7: MAL,  # IPv6 payload length leaves 2 bytes of TCP
        12: MAL,  # IP version 5 under ethertype 0x0800
        13: MAL,  # IP version 4 under ethertype 0x86dd
        15: P, 16: P,  # the IPv4 total length leaves 15 / 16 bytes of TCP: ports kept
        17: MAL,  # an IPv6 hop-by-hop option runs past the packet
        18: P,  # ... past its header only: the transport after the header is read
        19: MAL,  # ... past the frame's bytes (not cut), inside a payload length too large
    },
    "transports.pcap": {**{n: P for n in range(1, 18)}, **{n: NP for n in range(18, 32)},
                        32: P, 33: NP, 34: NP},
    "ipv6-ext-headers.pcap": {**{n: P for n in range(1, 9)}, 9: NP, 10: NP, 11: NP, 12: NP},
    "link-ethernet-vlan.pcap": {**{n: P for n in range(1, 9)}, 9: NON, 10: NON, 11: NON},
    "link-pppoe.pcap": {1: NON, 2: NON, 3: NON, 4: P, 5: P, 6: P, 7: MAL, 8: P},
    "link-ppp.pcap": {1: P, 2: P, 3: P, 4: P, 5: NON, 6: P},
    "link-ppp-dir.pcap": {1: P, 2: P, 3: P, 4: P, 5: NON, 6: NON},
    "link-chdlc.pcap": {1: P, 2: P, 3: NON},
    "link-pflog.pcap": {1: P, 2: P, 3: P, 4: P, 5: NON},
    "link-nflog.pcap": {1: P, 2: P, 3: P, 4: NON},
    "link-nflog-be.pcap": {1: P, 2: P, 3: P, 4: NON},
    # data frames with IP; ARP, null data, protected, beacon
    "link-80211.pcap": {1: P, 2: P, 3: P, 4: P, 5: NON, 6: NON, 7: NON, 8: NON},
    "link-radiotap.pcap": {1: P, 2: P, 3: P, 4: P, 5: NON, 6: NON, 7: NON, 8: NON},
    "link-ppi.pcap": {n: P for n in range(1, 10)},
    "link-prism.pcap": {**{n: P for n in range(1, 8)}, 8: NON},  # 8: a beacon
    "link-avs.pcap": {1: P, 2: P, 3: P, 4: P, 5: NON},  # 5: a protected frame
    "link-sll.pcap": {1: P, 2: P, 3: P, 4: NON},
    "link-sll2.pcap": {1: P, 2: P, 3: P, 4: NON},
    "link-mpls.pcap": {n: P for n in range(1, 7)},
    "ipv4-options.pcap": {n: P for n in range(1, 5)},
}


@pytest.fixture(scope="module", autouse=True)
def _tshark_all():
    prefetch(local_captures() + shared_captures())


def _counts(status: np.ndarray) -> dict[str, int]:
    c = np.bincount(status.astype(np.int64), minlength=len(STATUS_NAMES))
    return {STATUS_NAMES[i] if i < len(STATUS_NAMES) else f"?{i}": int(v)
            for i, v in enumerate(c) if v}


@pytest.mark.parametrize("capture", PARAMS)
def test_status_counts_add_up(capture):
    cid = capture_id(capture)
    batch = decode_file(capture)
    n = len(batch)
    status = batch.status
    assert status.dtype == np.uint8
    assert np.all(status < len(STATUS_NAMES)), f"{cid}: unknown status codes {set(status.tolist())}"
    counts = _counts(status)
    expected = capinfos_count(capture)
    assert n == expected, f"{cid}: {n} records decoded ({counts}), capinfos counts {expected}"
    assert np.array_equal(batch.number, np.arange(1, n + 1)), f"{cid}: frame numbers not 1..{n}"

    # internal consistency of a row's columns with its status
    ports = status == Status.PORTS
    bad = np.nonzero(ports & (batch.transport == Transport.NONE))[0]
    assert not bad.size, f"{cid}: status PORTS without a transport in frames {(bad + 1).tolist()[:20]}"
    bad = np.nonzero(~ports & ((batch.src_port != 0) | (batch.dst_port != 0)))[0]
    assert not bad.size, f"{cid}: ports set without status PORTS in frames {(bad + 1).tolist()[:20]}"
    bad = np.nonzero(np.isin(status, (Status.PORTS, Status.NO_PORTS, Status.FRAGMENT))
                     & (batch.ip_version == 0))[0]
    assert not bad.size, f"{cid}: IP statuses without an IP version in frames {(bad + 1).tolist()[:20]}"


@pytest.mark.parametrize("capture", PARAMS)
def test_status_matches_tshark_classes(capture):
    """FRAGMENT only on fragments tshark shows without ports and does not call
    malformed (later fragments, first fragments that end before the ports: tshark's
    "Unreassembled Packet"), NON_IP only where tshark has no IP layer, NO_PORTS only
    where tshark has one."""
    cid = capture_id(capture)
    rows = oracle(capture)
    batch = decode_file(capture)
    assert len(batch) == len(rows)
    problems = []
    for i, r in enumerate(rows):
        s = Status(int(batch.status[i]))
        layers = r.protocols.split(":")
        tshark_ip = "ip" in layers or "ipv6" in layers
        if s == Status.FRAGMENT and not (r.is_later_fragment or (
                r.is_first_fragment and r.transport is None and not r.malformed)):
            problems.append(f"frame {r.number}: FRAGMENT, tshark: {r.protocols} (not a later "
                            "fragment, nor a first one without ports)")
        if s == Status.NON_IP and tshark_ip:
            problems.append(f"frame {r.number}: NON_IP, tshark: {r.protocols}")
        if s == Status.NO_PORTS and not tshark_ip:
            problems.append(f"frame {r.number}: NO_PORTS, tshark: {r.protocols}")
    assert not problems, f"{cid}:\n" + "\n".join(problems[:25])


@pytest.mark.parametrize("name", sorted(EXPECTED_STATUS))
def test_generated_capture_statuses(name):
    batch = decode_file(local_capture(name))
    wrong = []
    for frame, want in sorted(EXPECTED_STATUS[name].items()):
        got = Status(int(batch.status[frame - 1]))
        if got != want:
            wrong.append(f"frame {frame}: {got.name}, expected {want.name}")
    assert not wrong, f"pcaps/{name}:\n" + "\n".join(wrong)
