"""Interface description blocks read inside the compiled walk (walk_pcapng adds each
interface while the reader's arrays have room; the Python side only grows them and
reads the blocks it must report on).

Many interfaces, each with its own link type, time unit and offset, some declared
between packets: every packet's interface, link type and time must be what its own
interface says, by the byte order of its section, whichever side read the block. The
expected times are computed here by hand from the ticks written; a smaller file of the
same kind is checked against tshark's frame.interface_id and frame.time_epoch.
"""

from __future__ import annotations

import random
import struct
import subprocess
from pathlib import Path

import pytest
from tshark_oracle import TSHARK

from portannot.capture import CaptureReader
from portannot.capture.problems import DAMAGED_BLOCKS, DAMAGED_OPTIONS, SHORT_INTERFACES

#: if_tsresol bytes (None: no option, microseconds), each giving TICKS a time between
#: 1970 and 2116: decimal 10^-6 to 10^-12 s, binary 2^-20 to 2^-30 s
RESOLUTIONS = [None, 6, 7, 9, 12, 0x80 | 20, 0x80 | 24, 0x80 | 30]
#: if_tsoffset choices, whole seconds (None: no option)
OFFSETS = [None, 0, 3600, -86_400, 1_000_000]
#: link types and a frame each carries (Ethernet, raw IP, LINKTYPE_IPV4)
LINKS = [1, 101, 228]
TICKS = 1_700_000_000_123_456


def _block(btype: int, body: bytes, order: str) -> bytes:
    body += bytes(-len(body) % 4)
    n = 12 + len(body)
    return struct.pack(order + "II", btype, n) + body + struct.pack(order + "I", n)


def _option(code: int, value: bytes, order: str, claimed: int | None = None) -> bytes:
    size = len(value) if claimed is None else claimed
    return struct.pack(order + "HH", code, size) + value + bytes(-len(value) % 4)


def _shb(order: str) -> bytes:
    return _block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1), order)


def _idb(order: str, link: int, resol: int | None, offset: int | None,
         bad_option: bool = False) -> bytes:
    opts = b""
    if bad_option:  # an option running past the block: the Python side reports it
        opts += _option(2, b"eth0", order, claimed=0xFFF0)
    if resol is not None:
        opts += _option(9, bytes([resol]), order)
    if offset is not None:
        opts += _option(14, struct.pack(order + "q", offset), order)
    if opts and not bad_option:
        opts += struct.pack(order + "HH", 0, 0)
    return _block(1, struct.pack(order + "HHI", link, 0, 262144) + opts, order)


def _frame(link: int, i: int) -> bytes:
    udp = struct.pack(">HHHH", 1000 + i % 60000, 53, 8, 0)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 28, i & 0xFFFF, 0, 64, 17, 0,
                     bytes([192, 0, 2, 1]), bytes([198, 51, 100, 2]))
    return (b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" if link == 1 else b"") + ip + udp


def _epb(order: str, iface: int, link: int, i: int, ticks: int) -> bytes:
    frame = _frame(link, i)
    return _block(6, struct.pack(order + "IIIII", iface, ticks >> 32, ticks & 0xFFFFFFFF,
                                 len(frame), len(frame)) + frame, order)


def _ns(ticks: int, resol: int | None, offset: int | None) -> int:
    """The time wiretap gives `ticks` of an interface, in ns, floored."""
    resol = 6 if resol is None else resol
    if resol & 0x80:
        exp = resol & 0x7F
        ns = (ticks >> exp) * 10**9 + ((ticks & ((1 << exp) - 1)) * 10**9 >> exp)
    else:
        ns = ticks * 10**9 // 10**resol
    return ns + (offset or 0) * 10**9


def _capture(n_if: int, n_pkt: int, seed: int, order: str, bad_every: int = 0,
             short_every: int = 0, sections: int = 1, resolutions: list | None = None,
             mixed: bool = False):
    """Sections of n_if interfaces and n_pkt packets each, the interfaces declared in
    runs between packets, all in `order` or (mixed) each section in one at random;
    returns the bytes, per packet (interface id in the file, link type, ns), and per
    packet its interface's id in its section (tshark 4.0's frame.interface_id)."""
    rng = random.Random(seed)
    out, expect, local, first_global = b"", [], [], 0
    for _ in range(sections):
        order = rng.choice("<>") if mixed else order
        out += _shb(order)
        ifaces: list[tuple[int, int | None, int | None]] = []
        i = 0
        while len(ifaces) < n_if or i < n_pkt:
            for _ in range(rng.randrange(0, 6) if len(ifaces) < n_if else 0):
                k = len(ifaces)
                if short_every and k % short_every == short_every - 1:
                    out += _block(1, b"", order)  # too short: no link type, its packets none
                    ifaces.append((0xFFFF, None, None))
                    continue
                link, resol, offset = (rng.choice(LINKS), rng.choice(resolutions or RESOLUTIONS),
                                       rng.choice(OFFSETS))
                bad = bool(bad_every) and k % bad_every == bad_every - 1
                out += _idb(order, link, None if bad else resol, None if bad else offset, bad)
                ifaces.append((link, None if bad else resol, None if bad else offset))
            if ifaces and i < n_pkt:
                k = rng.randrange(len(ifaces))
                link, resol, offset = ifaces[k]
                ticks = TICKS + rng.randrange(10**12)
                out += _epb(order, k, 1 if link == 0xFFFF else link, i, ticks)
                expect.append((first_global + k, link, _ns(ticks, resol, offset)))
                local.append(k)
                i += 1
        first_global += len(ifaces)
    return out, expect, local


def _records(path: Path, chunk_size: int | None = None):
    reader = CaptureReader(str(path), **({"chunk_size": chunk_size} if chunk_size else {}))
    got = [(int(i), int(lt), int(t)) for b in reader
           for i, lt, t in zip(b.interface, b.linktype, b.ts_ns)]
    return got, reader


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("chunk", [None, 1 << 16])
def test_every_packet_gets_its_own_interface(tmp_path, order, chunk):
    data, expect, _ = _capture(n_if=3000, n_pkt=6000, seed=7, order=order, sections=2)
    path = tmp_path / "many.pcapng"
    path.write_bytes(data)
    got, reader = _records(path, chunk)
    assert got == expect and not reader.problems
    assert reader.ts_digits == 9  # binary and picosecond units among them


@pytest.mark.parametrize("chunk", [None, 1 << 16])
def test_interfaces_the_python_side_reads_keep_the_numbering(tmp_path, chunk):
    """Every 7th interface has an option running past its block (reported, its
    options lost: microseconds), every 11th is too short for a link type: those go
    back to Python, between interfaces the walk reads; the ids stay in order."""
    data, expect, _ = _capture(n_if=400, n_pkt=2000, seed=11, order="<", bad_every=7,
                            short_every=11)
    path = tmp_path / "mixed.pcapng"
    path.write_bytes(data)
    got, reader = _records(path, chunk)
    assert [g[:2] for g in got] == [e[:2] for e in expect]
    assert [g[2] for g, e in zip(got, expect) if e[1] != 0xFFFF] == \
        [e[2] for e in expect if e[1] != 0xFFFF]
    kinds = {p.kind for p in reader.problems}
    assert kinds == {DAMAGED_OPTIONS, SHORT_INTERFACES}
    bad = sum(1 for k in range(400) if k % 7 == 6 and k % 11 != 10)
    short = sum(1 for k in range(400) if k % 11 == 10)
    assert reader.problems.total == bad + short


def test_time_digits_follow_interfaces_met_in_the_walk(tmp_path):
    """The captures' precision (the fraction digits CSV prints) counts interfaces the
    walk read: one millisecond interface, then one in nanoseconds."""
    path = tmp_path / "digits.pcapng"
    body = _shb("<") + _idb("<", 1, 3, None) + _epb("<", 0, 1, 0, TICKS)
    path.write_bytes(body)
    assert _records(path)[1].ts_digits == 6  # never fewer than microseconds
    path.write_bytes(body + _idb("<", 1, 9, None) + _epb("<", 1, 1, 1, TICKS))
    assert _records(path)[1].ts_digits == 9


@pytest.mark.parametrize("mixed", [False, True])
@pytest.mark.parametrize("chunk", [None, 1 << 16])
def test_many_sections_number_their_interfaces_on(tmp_path, mixed, chunk):
    """600 sections of 1 to 4 interfaces: a section header read inside the walk starts
    its interfaces again while the file's numbering goes on; one of the other byte
    order (mixed) goes back to Python, with the same result."""
    data, expect, _ = _capture(n_if=4, n_pkt=5, seed=5, order="<", sections=600, mixed=mixed)
    path = tmp_path / "sections.pcapng"
    path.write_bytes(data)
    got, reader = _records(path, chunk)
    assert got == expect and not reader.problems and len(got) == 600 * 5


@pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")
@pytest.mark.parametrize("shape", ["one section, little-endian", "one section, big-endian",
                                   "60 sections, mixed byte orders"])
def test_interfaces_and_times_agree_with_tshark(tmp_path, shape):
    """Without picoseconds: wiretap's fraction of a second overflows 64 bits there
    (tests/capture/test_formats.py, fine resolutions)."""
    coarse = [r for r in RESOLUTIONS if r != 12]
    if shape.startswith("one"):
        data, expect, local = _capture(n_if=200, n_pkt=600, seed=3, resolutions=coarse,
                                       order="<" if "little" in shape else ">")
    else:
        data, expect, local = _capture(n_if=3, n_pkt=4, seed=9, order="<", sections=60,
                                       mixed=True, resolutions=coarse)
    path = tmp_path / "ifaces.pcapng"
    path.write_bytes(data)
    res = subprocess.run([TSHARK, "-n", "-r", str(path), "-T", "fields", "-e",
                          "frame.interface_id", "-e", "frame.time_epoch"],
                         capture_output=True, text=True, timeout=120, check=True)
    theirs = [line.split("\t") for line in res.stdout.splitlines()]
    got, reader = _records(path)
    assert not reader.problems and got == expect
    # tshark 4.0 numbers each section's interfaces from 0 (portannot: through the file)
    assert [[str(k), f"{t // 10**9}.{t % 10**9:09d}"] for k, (_, _, t) in zip(local, got)] == theirs


@pytest.mark.parametrize("then", ["idb", "shb"])
def test_a_skipped_block_is_reported_with_the_interfaces_before_it(tmp_path, then):
    """A packet block naming an interface not yet described, then more interfaces (or a
    new section): the report counts the interfaces there were at the bad block."""
    bad = _epb("<", 2, 1, 1, TICKS)
    after = (_idb("<", 1, None, None) * 3 if then == "idb"
             else _shb("<") + _idb("<", 1, None, None) * 3)
    head = _shb("<") + _idb("<", 1, None, None) + _epb("<", 0, 1, 0, TICKS)
    path = tmp_path / "bad.pcapng"
    path.write_bytes(head + bad + after + _epb("<", 2, 1, 2, TICKS))
    got, reader = _records(path)
    assert [g[0] for g in got] == [0, 2 if then == "idb" else 1 + 2]
    (problem,) = reader.problems
    assert problem.offset == len(head)
    assert "names interface 2, of 1 in its section; skipped the block" in problem.message


@pytest.mark.parametrize("chunk", [None, 1 << 16])
def test_time_digits_of_a_section_the_walk_ended(tmp_path, chunk):
    """A nanosecond section, then one in microseconds read in the same walk: the
    precision is the first section's too (the walk's arrays start again at the second
    section header, so the digits are kept as the interfaces are added)."""
    path = tmp_path / "two.pcapng"
    path.write_bytes(_shb("<") + _idb("<", 1, 9, None) + _epb("<", 0, 1, 0, TICKS)
                     + _shb("<") + _idb("<", 1, None, None) + _epb("<", 0, 1, 1, TICKS))
    assert _records(path, chunk)[1].ts_digits == 9


def test_reports_within_one_walk_are_in_file_order(tmp_path):
    """A packet block whose option runs past it, then (past an interface block the walk
    reads) one naming an interface that does not exist: reported in that order."""
    overrun = _option(2, b"eth0", "<", claimed=0xFFF0)
    good = _epb("<", 0, 1, 0, TICKS)
    bad_option = good[:-4] + overrun + good[-4:]
    bad_option = bad_option[:4] + struct.pack("<I", len(bad_option)) + bad_option[8:-4] \
        + struct.pack("<I", len(bad_option))
    head = _shb("<") + _idb("<", 1, None, None)
    mid = _idb("<", 1, None, None)
    path = tmp_path / "order.pcapng"
    path.write_bytes(head + bad_option + mid + _epb("<", 5, 1, 1, TICKS) + good)
    got, reader = _records(path)
    assert len(got) == 2
    assert [(p.offset, p.kind) for p in reader.problems] == [
        (len(head), DAMAGED_OPTIONS), (len(head) + len(bad_option) + len(mid), DAMAGED_BLOCKS)]
