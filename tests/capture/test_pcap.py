"""capture/pcap: the file header's link-type field, whose upper bits may say each frame
ends with an FCS of a given length (the pcap file format draft, "LinkType and additional
information"; libpcap's LT_FCS_LENGTH_PRESENT and LT_FCS_LENGTH: bit 26, then bits 28-31
in 16-bit words)."""

from __future__ import annotations

import numpy as np
import pytest
from capgen import write_pcap
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from portannot.capture import iter_records

FRAME = bytes(Ether() / IP(src="192.0.2.1", dst="198.51.100.2") / UDP(sport=40000, dport=53))
F_BIT = 0x04000000


@pytest.mark.parametrize(("field", "linktype", "fcs"), [
    (1, 1, 0),
    (1 | F_BIT | 2 << 28, 1, 4),  # 2 words: Ethernet's 4-byte FCS
    (1 | F_BIT | 1 << 28, 1, 2),
    (1 | F_BIT | 7 << 28, 1, 14),
    (1 | F_BIT, 1, 0),  # the F bit and a length of 0: no FCS
    (1 | 2 << 28, 1, 0),  # a length without the F bit says nothing
    # wiretap gives the length to Ethernet frames only (tshark 4.0: these read whole)
    (105 | F_BIT | 2 << 28, 105, 0),
    (127 | F_BIT | 2 << 28, 127, 0),
    (192 | F_BIT | 2 << 28, 192, 0),
    (113 | F_BIT | 2 << 28, 113, 0),
])
def test_the_header_declares_an_fcs(tmp_path, field, linktype, fcs):
    path = write_pcap(tmp_path / "f.pcap", [(i * 1000, FRAME) for i in range(3)], linktype=field)
    (batch,) = iter_records(str(path))
    assert batch.linktype.tolist() == [linktype] * 3
    assert batch.fcs.dtype == np.uint8
    assert batch.fcs.tolist() == [fcs] * 3
    assert batch.length.tolist() == [len(FRAME)] * 3  # the bytes stay the frame's
