"""pcaps/README.md describes the generated captures frame by frame: what it says of a
frame's bytes is checked here against the bytes (read with struct), and what it says
tshark shows against tshark."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess

import pytest
from paths import LOCAL_PCAPS

README = (LOCAL_PCAPS / "README.md").read_text(encoding="utf-8")
TSHARK = shutil.which("tshark")
#: the tag protocol identifiers a tag stack is made of
TPIDS = {0x8100, 0x88A8, 0x9100}


def pcap_frames(name: str) -> list[bytes]:
    data = (LOCAL_PCAPS / name).read_bytes()
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    frames, offset = [], 24
    while offset < len(data):
        caplen = struct.unpack_from(endian + "I", data, offset + 8)[0]
        frames.append(data[offset + 16:offset + 16 + caplen])
        offset += 16 + caplen
    return frames


def tag_stack(frame: bytes) -> list[int]:
    """The TPIDs of an Ethernet frame's tags, outermost first."""
    tags, p = [], 12
    while struct.unpack_from("!H", frame, p)[0] in TPIDS:
        tags.append(struct.unpack_from("!H", frame, p)[0])
        p += 4
    return tags


def row(name: str) -> str:
    return next(line for line in README.splitlines() if line.startswith(f"| `{name}`"))


def test_vlan_stacks_as_listed():
    """Frames 7 and 8 of link-ethernet-vlan.pcap: the tags README lists (and counts)
    are the frame's, outermost first."""
    frames = pcap_frames("link-ethernet-vlan.pcap")
    text = row("link-ethernet-vlan.pcap")
    for number in (7, 8):
        listed = re.search(rf"\b{number} ((?:0x[0-9a-f]{{4}}\+?)+)(?: \((\d+) tags\))?", text)
        assert listed, f"frame {number} not listed"
        tpids = [int(t, 16) for t in listed.group(1).split("+")]
        assert tag_stack(frames[number - 1]) == tpids
        if listed.group(2):
            assert int(listed.group(2)) == len(tpids)


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
@pytest.mark.parametrize("name", ["truncated.pcap", "malformed.pcap"])
def test_no_addresses_as_tshark_shows(name):
    """A damage row that says "no addresses" is a frame where tshark shows neither
    address (not the source alone: that row says so)."""
    table = README.split(f"`{name}` —", 1)[1].split("\n\n", 2)[1]
    rows = [line.split(" | ") for line in table.splitlines()[2:]]
    said = [int(r[0].strip("| ")) for r in rows if "no addresses" in r[-1]
            and "only" not in r[-1]]
    assert said
    out = subprocess.run([TSHARK, "-n", "-r", str(LOCAL_PCAPS / name), "-T", "fields",
                          "-e", "frame.number", "-e", "ip.src", "-e", "ip.dst",
                          "-e", "ipv6.src", "-e", "ipv6.dst"],
                         capture_output=True, text=True, check=True).stdout
    shown = {int(f[0]): f[1:] for f in (line.split("\t") for line in out.splitlines())}
    for number in said:
        assert not any(shown[number]), f"frame {number}: tshark shows {shown[number]}"
