"""The decoder on frames a test builds: ``decoded(linktype, frames)`` writes them to a
pcap in the test's tmp_path (tests/capgen.write_pcap, 1 µs apart), decodes it with
``decode_file`` and gives what the decoder saw in each, as a `Seen`. A frame is bytes,
or (bytes captured, original length) for one the snaplen cut."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
from capgen import write_pcap

from portannot.decode import NO_VLAN, decode_file
from portannot.status import STATUS_NAMES
from portannot.transport import TRANSPORT_NAMES

T0 = 1_700_000_000 * 10**9


class Seen(NamedTuple):
    status: str
    ip_version: int
    src: str | None  #: address text, None without an IP layer
    dst: str | None
    transport: str | None
    src_port: int
    dst_port: int
    vlan: int | None


@pytest.fixture
def decoded(tmp_path: Path) -> Callable[[int, list], list[Seen]]:
    written = 0

    def decode(linktype: int, frames: list) -> list[Seen]:
        nonlocal written
        written += 1
        records = [(T0 + i * 1000, *(f if isinstance(f, tuple) else (f,)))
                   for i, f in enumerate(frames)]
        b = decode_file(write_pcap(tmp_path / f"frames-{written}.pcap", records,
                                   linktype=linktype))
        assert len(b) == len(frames)
        out = []
        for i in range(len(b)):
            version = int(b.ip_version[i])
            addr = [None, None]
            if version:
                for k, col in enumerate((b.src_addr[i], b.dst_addr[i])):
                    raw = bytes(col)
                    addr[k] = str(ipaddress.ip_address(raw[12:] if version == 4 else raw))
            t, vlan = int(b.transport[i]), int(b.vlan[i])
            out.append(Seen(STATUS_NAMES[b.status[i]], version, *addr,
                            TRANSPORT_NAMES[t] if t < len(TRANSPORT_NAMES) else None,
                            int(b.src_port[i]), int(b.dst_port[i]),
                            None if vlan == NO_VLAN else vlan))
        return out

    return decode
