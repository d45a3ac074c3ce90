"""pcapng options that run past their block: damage, reported, with the packets kept.

wiretap stops reading a file at such an option ("Not enough data to handle option of
length ..."), so tshark shows the packets before it and calls the file damaged.
portannot read on silently: an interface whose timestamp resolution came after a bad
option had its times read as microseconds, exit 0, no warning. Now each such block is
a warning (exit 3); an interface keeps the options before the bad one, a packet block
its packet (its lengths still say where the bytes are).

The captures are built here block by block (SHB 28 bytes, IDB 20 + options, EPB 32 +
its 42-byte frame padded to 44 + options), so each expected offset is a sum.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from tshark_oracle import TSHARK

from portannot.capture import CaptureReader
from portannot.capture.problems import DAMAGED_OPTIONS, DETAIL
from portannot.decode import Decoder, concat


def _block(btype: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def _option(code: int, value: bytes, claimed: int | None = None) -> bytes:
    size = len(value) if claimed is None else claimed
    return struct.pack("<HH", code, size) + value + bytes(-len(value) % 4)


END_OF_OPTIONS = struct.pack("<HH", 0, 0)
#: an option claiming 0xfff0 bytes, in a block far shorter
OVERRUN = _option(2, b"eth0", claimed=0xFFF0)
TSRESOL_NS = _option(9, b"\x09")


def _shb(options: bytes = b"") -> bytes:
    return _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + options)


def _idb(options: bytes = b"") -> bytes:
    return _block(1, struct.pack("<HHI", 1, 0, 0) + options)


def _frame(i: int) -> bytes:
    """Ethernet / IPv4 / UDP 192.0.2.1:(1000 + i) -> 198.51.100.2:53, 42 bytes."""
    udp = struct.pack(">HHHH", 1000 + i, 53, 8, 0)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 28, i, 0, 64, 17, 0,
                     bytes([192, 0, 2, 1]), bytes([198, 51, 100, 2]))
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + udp


def _epb(i: int, options: bytes = b"", ticks: int = 1_700_000_000_000_000) -> bytes:
    frame = _frame(i)
    ts = ticks + i
    return _block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(frame),
                                 len(frame)) + frame + bytes(-len(frame) % 4) + options)


def _read(path: Path, **kw) -> tuple[list[int], list[int], CaptureReader]:
    reader = CaptureReader(str(path), **kw)
    batch = concat([Decoder().decode(b) for b in reader])
    return batch.src_port.tolist(), batch.ts_ns.tolist(), reader


def _tshark(path: Path) -> tuple[int, str]:
    """(frames tshark shows, its error output)."""
    res = subprocess.run([TSHARK, "-n", "-r", str(path), "-T", "fields", "-e", "frame.number"],
                         capture_output=True, text=True, timeout=60)
    return len(res.stdout.split()), res.stderr


needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")


def test_an_interface_keeps_the_options_before_a_bad_one(tmp_path):
    """The resolution after the bad option is lost, so the times read as microseconds:
    1.7e15 ticks is 1970-01-20 (not 2023): said in a warning, not silently."""
    path = tmp_path / "idb.pcapng"
    path.write_bytes(_shb() + _idb(OVERRUN + TSRESOL_NS) + _epb(0) + _epb(1))
    ports, times, reader = _read(path)
    assert ports == [1000, 1001]
    assert times == [(1_700_000_000_000_000 + i) * 1000 for i in range(2)]
    (problem,) = reader.problems
    assert problem.kind == DAMAGED_OPTIONS and problem.offset == 28
    assert str(problem) == (f"{path}: interface description block of 36 bytes has an option "
                            "running past its end; read the options before it (times in "
                            "microseconds) at byte offset 28")
    # the options before it still count: a resolution first, then the bad option
    path.write_bytes(_shb() + _idb(TSRESOL_NS + OVERRUN) + _epb(0))
    _, times, reader = _read(path)
    assert times == [1_700_000_000_000_000] and len(reader.problems) == 1
    assert next(iter(reader.problems)).message.endswith("(times in nanoseconds)")


def test_a_packet_block_with_a_bad_option_keeps_its_packet(tmp_path):
    path = tmp_path / "epb.pcapng"
    good = _epb(0) + _epb(1, _option(1, b"a comment") + END_OF_OPTIONS)
    bad = _epb(2, OVERRUN)
    path.write_bytes(_shb() + _idb() + good + bad + _epb(3))
    ports, _, reader = _read(path)
    assert ports == [1000, 1001, 1002, 1003]
    (problem,) = reader.problems
    at = 28 + 20 + len(good)
    assert (problem.kind, problem.offset) == (DAMAGED_OPTIONS, at)
    assert problem.message == ("enhanced packet block of 84 bytes has an option running past "
                               "its end; kept its packet")


def test_sound_options_are_no_problem(tmp_path):
    """Comments, flags, hashes and an end-of-options marker, or options filling the
    block exactly without one: nothing to report."""
    path = tmp_path / "fine.pcapng"
    flags = _option(2, struct.pack("<I", 1))
    path.write_bytes(
        _shb(_option(3, b"linux") + END_OF_OPTIONS) + _idb(_option(2, b"eth0") + TSRESOL_NS)
        + _epb(0, _option(1, b"x" * 5) + flags + END_OF_OPTIONS) + _epb(1, flags)
        + _epb(2, _option(3, bytes(17))))
    ports, _, reader = _read(path)
    assert ports == [1000, 1001, 1002] and not reader.problems


def test_a_section_header_with_a_bad_option_is_reported(tmp_path):
    path = tmp_path / "shb.pcapng"
    path.write_bytes(_shb(OVERRUN) + _idb() + _epb(0))
    ports, _, reader = _read(path)
    assert ports == [1000]
    (problem,) = reader.problems
    assert (problem.kind, problem.offset) == (DAMAGED_OPTIONS, 0)


@pytest.mark.parametrize("chunk", [None, 1 << 16])
def test_many_bad_packet_blocks_keep_twenty_and_count_the_rest(tmp_path, chunk):
    n = 5_000
    path = tmp_path / "many.pcapng"
    head = _shb() + _idb() + _epb(0)
    bad = _epb(1, OVERRUN)
    path.write_bytes(head + bad * n + _epb(2))
    ports, _, reader = _read(path, **({"chunk_size": chunk} if chunk else {}))
    assert ports == [1000] + [1001] * n + [1002]
    problems = list(reader.problems)
    assert reader.problems.total == n and len(problems) == DETAIL + 1
    assert [p.offset for p in problems[:DETAIL]] == [len(head) + k * len(bad) for k in range(DETAIL)]
    assert (problems[-1].count, problems[-1].last_offset) == (n - DETAIL, len(head) + (n - 1) * len(bad))
    assert "more blocks with options past their end" in str(problems[-1])


def test_the_command_exits_3_with_every_packet(tmp_path, cli):
    path = tmp_path / "epb.pcapng"
    path.write_bytes(_shb() + _idb() + _epb(0) + _epb(1, OVERRUN) + _epb(2))
    code, out, err = cli("packets", "-f", "csv", str(path))
    assert code == 3
    assert len(out.splitlines()) == 1 + 3
    assert err.splitlines() == [f"portannot: warning: {path}: enhanced packet block of 84 bytes "
                                "has an option running past its end; kept its packet at byte "
                                f"offset {28 + 20 + 76}"]


@needs_tshark
@pytest.mark.parametrize("where", ["shb", "idb", "epb"])
def test_tshark_calls_the_same_blocks_damaged(tmp_path, where):
    """The independent word that these blocks are damage: tshark stops at each of them
    with wiretap's message, where the sound file beside it reads whole."""
    blocks = {"shb": (_shb(OVERRUN), _idb(), _epb(0)),
              "idb": (_shb(), _idb(OVERRUN), _epb(0)),
              "epb": (_shb(), _idb(), _epb(0, OVERRUN))}[where]
    path = tmp_path / f"{where}.pcapng"
    path.write_bytes(b"".join(blocks) + _epb(1))
    frames, error = _tshark(path)
    assert "option of length" in error and frames == 0
    _, _, reader = _read(path)
    assert len(reader.problems) == 1 and next(iter(reader.problems)).kind == DAMAGED_OPTIONS
    sound = tmp_path / "sound.pcapng"
    sound.write_bytes(_shb() + _idb() + _epb(0, _option(1, b"fine") + END_OF_OPTIONS) + _epb(1))
    frames, error = _tshark(sound)
    assert frames == 2 and "damaged" not in error and "option" not in error


def _tshark_times(path: Path) -> list[str]:
    res = subprocess.run([TSHARK, "-n", "-r", str(path), "-T", "fields", "-e",
                          "frame.time_epoch"], capture_output=True, text=True, timeout=60)
    return res.stdout.split()


@needs_tshark
@pytest.mark.parametrize("options", [
    _option(9, b"\x06") + TSRESOL_NS,  # given twice: the first counts
    _option(9, b"") + TSRESOL_NS,  # one without its byte does not count
    _option(9, b"\x09\x00"),  # nor one of two bytes
    _option(14, struct.pack("<q", 3600)) + _option(14, struct.pack("<q", 7200)),
    _option(14, b"\x01\x02") + _option(14, struct.pack("<q", 3600)),  # an offset of 2 bytes
    _option(14, struct.pack("<q", 3600) + bytes(4)),  # or of 12
    _option(1, b"") * 50_000 + TSRESOL_NS + _option(14, struct.pack("<q", -86_400)),
], ids=["tsresol-twice", "tsresol-empty", "tsresol-2-bytes", "tsoffset-twice",
        "tsoffset-2-bytes", "tsoffset-12-bytes", "long-list"])
def test_interface_times_follow_the_options_as_tshark_reads_them(tmp_path, options):
    """Which if_tsresol and if_tsoffset count, as tshark reads them: the times of both
    packets agree to the nanosecond, and neither calls the file damaged (portannot took
    the last of two, and options longer than their value). The long list
    is 50,000 empty comments before the two (read compiled: one 32 MiB list took
    4.8 s and 760 MB as Python tuples)."""
    path = tmp_path / "idb.pcapng"
    path.write_bytes(_shb() + _idb(options + END_OF_OPTIONS) + _epb(0) + _epb(1))
    _, times, reader = _read(path)
    assert not reader.problems
    expected = _tshark_times(path)
    assert len(expected) == 2
    assert [f"{t // 10**9}.{t % 10**9:09d}" for t in times] == expected


@pytest.mark.parametrize("what", ["nrb", "isb", "flags", "dropcount", "version"])
def test_fields_portannot_does_not_read_are_no_damage(tmp_path, what):
    """As README says: a name resolution block of 12 bytes, a statistics block of 16, an
    epb_flags of 3 bytes, an epb_dropcount of 3 and a section of version 1.1 (a minor
    version: compatible, the spec says) are skipped unread or read as 1.0, no warning,
    every packet kept; tshark stops at each (pcaps/README.md)."""
    shb2 = _shb_version(1, 1) + _idb()
    bad = {"nrb": _block(4, b""), "isb": _block(5, bytes(4)),
           "flags": _epb(1, _option(2, b"\x01\x02\x03") + END_OF_OPTIONS),
           "dropcount": _epb(1, _option(4, b"\x01\x02\x03") + END_OF_OPTIONS),
           "version": shb2 + _epb(1)}[what]
    path = tmp_path / f"{what}.pcapng"
    path.write_bytes(_shb() + _idb() + _epb(0) + bad + _epb(2))
    ports, _, reader = _read(path)
    assert ports == ([1000, 1002] if what in ("nrb", "isb") else [1000, 1001, 1002])
    assert not reader.problems
    if TSHARK:
        frames, error = _tshark(path)
        assert frames == 1 and error.strip()


def _shb_version(major: int, minor: int) -> bytes:
    return _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, major, minor, -1))


@pytest.mark.parametrize("major, minor", [(2, 0), (0, 0), (0xFFFF, 3)])
def test_a_section_of_another_major_version_is_skipped(tmp_path, major, minor):
    """A new major version is not backward compatible (pcapng spec, 4.1): its blocks
    cannot be read as 1.0's. Its section, up to the next section header, is skipped with
    one warning, its bytes counted as a damaged range's are; its interfaces get no
    number (numbering goes on from the sections read); exit 3. It was read as 1.0
    without a word. tshark stops at it ("unknown SHB version 2.0")."""
    first = _shb() + _idb() + _epb(0)
    skipped = _shb_version(major, minor) + _idb() + _epb(1) + _block(4, bytes(4)) + _epb(2)
    path = tmp_path / "v2.pcapng"
    path.write_bytes(first + skipped + _shb() + _idb() + _epb(3))
    ports, _, reader = _read(path)
    assert ports == [1000, 1003]
    (problem,) = reader.problems
    assert problem.offset == len(first)
    assert problem.message == (
        f"section header block of version {major}.{minor}, a major version other than 1 "
        f"(not readable as 1.x): skipped its section, {len(skipped)} bytes to the next section "
        f"header at byte offset {len(first + skipped)}; the section starts")
    if TSHARK:
        frames, error = _tshark(path)
        assert frames == 1 and f"unknown SHB version {major}.{minor}" in error


@pytest.mark.parametrize("chunk", [None, 64])
def test_a_first_section_of_another_major_version_is_skipped(tmp_path, chunk):
    """The first section too (tshark: the whole file unread); a file of that section alone
    is read to its end, no packet, the same one warning."""
    skipped = _shb_version(2, 0) + _idb() + b"".join(_epb(i) for i in range(5))
    path = tmp_path / "first.pcapng"
    path.write_bytes(skipped + _shb() + _idb() + _epb(7))
    kw = {"chunk_size": chunk} if chunk else {}
    ports, _, reader = _read(path, **kw)
    assert ports == [1007]
    (problem,) = reader.problems
    assert problem.offset == 0 and f"section, {len(skipped)} bytes to the next section header" in problem.message
    path.write_bytes(skipped)
    reader = CaptureReader(str(path), **kw)
    assert sum(len(b.offset) for b in reader) == 0
    (problem,) = reader.problems
    assert problem.message.endswith(f"its section, {len(skipped)} bytes to the end of the file; "
                                   "the section starts")


def test_a_skipped_section_damaged_inside_still_ends_at_the_next_section(tmp_path):
    """Blocks of the skipped section whose lengths break: it still ends at the next
    section header, found by the scan for a valid block (one warning)."""
    skipped = _shb_version(2, 0) + _idb() + _epb(1) + b"\xee" * 5 + _epb(2)
    path = tmp_path / "broken.pcapng"
    path.write_bytes(_shb() + _idb() + _epb(0) + skipped + _shb() + _idb() + _epb(3))
    ports, _, reader = _read(path)
    assert ports == [1000, 1003]
    (problem,) = reader.problems
    assert f"its section, {len(skipped)} bytes to the next section header" in problem.message


def test_the_command_exits_3_for_a_skipped_section(tmp_path, cli):
    path = tmp_path / "v2.pcapng"
    path.write_bytes(_shb() + _idb() + _epb(0) + _shb_version(2, 0) + _idb() + _epb(1))
    code, out, err = cli("packets", "-f", "csv", str(path))
    assert code == 3 and len(out.splitlines()) == 1 + 1
    assert len(err.splitlines()) == 1 and "version 2.0" in err


def _idb_of(linktype: int, options: bytes = b"") -> bytes:
    return _block(1, struct.pack("<HHI", linktype, 0, 0) + options)


#: 32 bytes after the UDP header, the FCS the last of them
TRAILER = bytes(range(0xA0, 0xC0))


def _tso_frame(i: int) -> bytes:
    """_frame(i) with an IPv4 total length of 0 (TSO: the packet runs to the end of what
    the link gives it, which tshark shows as ip.len) and TRAILER after it: 74 bytes."""
    frame = bytearray(_frame(i) + TRAILER)
    frame[16:18] = b"\0\0"
    return bytes(frame)


def _packet(iface: int, i: int, flags: int | None = None, btype: int = 6) -> bytes:
    """An enhanced packet block (or, btype 2, an obsolete one) of _tso_frame(i) on
    `iface`, with an epb_flags (pack_flags) option where `flags` is given."""
    frame = _tso_frame(i)
    options = b"" if flags is None else _option(2, struct.pack("<I", flags)) + END_OF_OPTIONS
    head = (struct.pack("<IIIII", iface, 0, i, len(frame), len(frame)) if btype == 6 else
            struct.pack("<HHIIII", iface, 0, 0, i, len(frame), len(frame)))
    return _block(btype, head + frame + bytes(-len(frame) % 4) + options)


def _fcslen(value: int) -> bytes:
    return _option(13, bytes([value])) + END_OF_OPTIONS


def _fcs_capture() -> tuple[bytes, list[int]]:
    """A capture whose interfaces and packet blocks name FCS lengths, and the FCS bytes
    tshark 4.0 takes off each packet (test_fcs_lengths_as_tshark_takes_them). wiretap reads if_fcslen as bits except under 8
    (4 and 32 are both 4 bytes, 8 is 1, 255 is 31); the packet's flags (bits 5-8, in
    bytes) override it unless 0; a simple packet block takes interface 0's; only an
    Ethernet interface's frames get one (802.11's if_fcslen is ignored)."""
    interfaces = [_idb_of(1, _fcslen(4)), _idb_of(1), _idb_of(1, _fcslen(2)),
                  _idb_of(1, _fcslen(8)), _idb_of(1, _fcslen(32)), _idb_of(1, _fcslen(255)),
                  _idb_of(1, _fcslen(0)), _idb_of(105, _fcslen(4))]
    packets = [
        (_packet(0, 0), 4), (_packet(1, 1), 0), (_packet(2, 2), 2), (_packet(3, 3), 1),
        (_packet(4, 4), 4), (_packet(5, 5), 31), (_packet(6, 6), 0), (_packet(7, 7), 0),
        (_packet(1, 8, 4 << 5), 4), (_packet(0, 9, 1 << 5), 1), (_packet(0, 10, 0), 4),
        (_packet(6, 11, 15 << 5), 15), (_packet(0, 12, 4 << 5 | 2), 4),  # and a direction
        (_packet(7, 13, 4 << 5), 0),
        (_packet(1, 14, 4 << 5, btype=2), 4), (_packet(0, 15, btype=2), 4),
        (_block(3, struct.pack("<I", 74) + _tso_frame(16)), 4),  # interface 0's
    ]
    return (_shb() + b"".join(interfaces) + b"".join(p for p, _ in packets),
            [fcs for _, fcs in packets])


@pytest.mark.parametrize("chunk", [1 << 20, 64])
def test_fcs_lengths_of_interfaces_and_packets(tmp_path, chunk):
    """Read in the compiled walk, and (small chunks) by the Python side one block at a
    time: the same lengths."""
    data, expected = _fcs_capture()
    path = tmp_path / "fcs.pcapng"
    path.write_bytes(data)
    reader = CaptureReader(str(path), chunk_size=chunk)
    batches = list(reader)
    assert [int(f) for b in batches for f in b.fcs] == expected
    assert [int(x) for b in batches for x in b.length] == [74] * len(expected)
    assert not reader.problems


@needs_tshark
def test_fcs_lengths_as_tshark_takes_them(tmp_path):
    """What tshark takes off each packet of the capture: its IPv4 length of 0 makes the
    IP packet run to the end of what the Ethernet header's type hands on, 60 bytes less
    the FCS, which tshark shows as ip.len. (The 802.11 interface's frames are no 802.11
    frames: tshark finds no IP in them; tests/decode/link/test_ethernet.py
    test_fcs_a_pcapng_declares has real ones.)"""
    data, expected = _fcs_capture()
    path = tmp_path / "fcs.pcapng"
    path.write_bytes(data)
    res = subprocess.run([TSHARK, "-n", "-r", str(path), "-T", "fields", "-e",
                          "frame.interface_id", "-e", "ip.len"],
                         capture_output=True, text=True, timeout=60)
    rows = [line.split("\t") for line in res.stdout.splitlines()]
    assert len(rows) == len(expected)
    assert [60 - int(ip_len) for iface, ip_len in rows if iface != "7"] == [
        want for (iface, _), want in zip(rows, expected) if iface != "7"]
