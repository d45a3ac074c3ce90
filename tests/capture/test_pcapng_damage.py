"""Damage inside a pcapng file that the reader reads past (capture/pcapng.py, the resync
in capture/walk.py): the blocks after it are read as the undamaged file has them, and
the damage is reported once, where it is.

Each file is written here block by block; the expected packets are the undamaged
file's, read by dpkt (capgen.dpkt_frames), or said by hand.
"""

from __future__ import annotations

import struct
import subprocess

import numpy as np
import pytest
from capgen import _block, dpkt_frames
from paths import local_capture
from tshark_oracle import TSHARK

from portannot.capture import CaptureReader
from portannot.decode import Decoder, concat
from portannot.errors import CaptureFormatError
from portannot.status import Status

ORDER = "<"  #: capgen._block writes little-endian blocks


def _shb() -> bytes:
    return _block(0x0A0D0D0A, struct.pack(ORDER + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def _idb(link: int, snaplen: int = 0) -> bytes:
    return _block(1, struct.pack(ORDER + "HHI", link, 0, snaplen))


def _ip_udp(sport: int) -> bytes:
    udp = struct.pack(">HHHH", sport, 53, 20, 0) + b"hello world!"
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 40, 1, 0, 64, 17, 0,
                     bytes([192, 0, 2, 1]), bytes([198, 51, 100, 2]))
    return ip + udp


def _eth(sport: int, extra: int = 0) -> bytes:
    return bytes(range(12)) + b"\x08\x00" + _ip_udp(sport) + bytes(range(extra))


def _epb(frame: bytes, iface: int = 0, t: int = 1_700_000_000_000_000) -> bytes:
    return _block(6, struct.pack(ORDER + "IIIII", iface, t >> 32, t & 0xFFFFFFFF,
                                 len(frame), len(frame)) + frame)


def _spb(data: bytes, orig: int) -> bytes:
    return _block(3, struct.pack(ORDER + "I", orig) + data)


def _read(path, chunk: int | None = None):
    reader = CaptureReader(str(path)) if chunk is None else CaptureReader(str(path), chunk_size=chunk)
    decoder = Decoder()
    batches = [decoder.decode(b) for b in reader]
    return concat(batches), list(reader.problems)


@pytest.mark.parametrize("chunk", [None, 4096], ids=["whole", "small-chunks"])
@pytest.mark.parametrize("stray", [1, 2, 3, 5, 6, 7])
def test_stray_bytes_between_blocks_lose_no_block_after_them(tmp_path, stray, chunk):
    """1 to 7 stray bytes after a packet block: every block after them is whole, only
    off the 4-byte step pcapng keeps. The scan went in 4-byte steps from the damage, so
    with 1, 2, 3, 5... stray bytes it found none of them (all 399 later packets lost, the
    file called cut), with 4 or 8 it found them all. Packets of varied sizes, as
    captures have them (README: a run of same-size ones can make the shifted bytes read
    as an unknown block whose lengths agree, which is skipped whole)."""
    head = _shb() + _idb(1) + _epb(_eth(1000))
    tail = b"".join(_epb(_eth(1000 + i, extra=i % 37)) for i in range(1, 400))
    whole = tmp_path / "whole.pcapng"
    whole.write_bytes(head + tail)
    damaged = tmp_path / "stray.pcapng"
    damaged.write_bytes(head + b"\xee" * stray + tail)
    got, problems = _read(damaged, chunk)
    assert len(got) == 400 == len(dpkt_frames(whole))
    assert got.src_port.tolist() == list(range(1000, 1400))
    assert (got.status == Status.PORTS).all()
    [problem] = problems
    assert problem.offset == len(head) and f"skipped {stray} bytes" in problem.message


def test_a_section_header_with_a_damaged_length_still_starts_its_section(tmp_path):
    """A section header whose type and byte-order magic are whole, only its trailing
    length wrong: the interface after it is the new section's first, and the packets
    naming interface 0 are its raw IPv4 (228) ones, numbered on across sections (1, as
    capinfos counts). They were read under the old section's Ethernet interface, as
    non-IP, the new interface counted as the old section's second."""
    shb2 = bytearray(_shb())
    shb2[-4:] = struct.pack(ORDER + "I", 32)
    first = _shb() + _idb(1) + _epb(_eth(1))
    damaged = tmp_path / "shb.pcapng"
    damaged.write_bytes(first + bytes(shb2) + _idb(228) + _epb(_ip_udp(2)) + _epb(_ip_udp(3)))
    got, problems = _read(damaged)
    assert got.linktype.tolist() == [1, 228, 228]
    assert got.interface.tolist() == [0, 1, 1]
    assert got.src_port.tolist() == [1, 2, 3] and (got.status == Status.PORTS).all()
    [problem] = problems
    assert problem.offset == len(first) and "a new section begins there" in problem.message


def test_a_simple_packet_block_too_short_for_its_packet_is_skipped(tmp_path):
    """A simple packet block holds min(original length, snaplen) bytes: one with room
    for fewer is damaged (tshark: "too small"), skipped and reported; its padding was
    read as packet bytes (caplen 52 of a 50-byte cut). One the snaplen cuts to what it
    holds is sound."""
    frame = _eth(7)
    short = tmp_path / "short.pcapng"
    short.write_bytes(_shb() + _idb(1) + _spb(frame[:50], 100) + _epb(_eth(8)))
    got, problems = _read(short)
    assert got.src_port.tolist() == [8]
    [problem] = problems
    assert problem.offset == len(_shb() + _idb(1))
    assert "room for 52 bytes of data, fewer than its packet's 100" in problem.message
    snapped = tmp_path / "snapped.pcapng"
    snapped.write_bytes(_shb() + _idb(1, snaplen=50) + _spb(frame[:50], 100) + _epb(_eth(8)))
    got, problems = _read(snapped)
    assert not problems
    assert got.caplen.tolist() == [50, len(frame)] and got.length.tolist() == [100, len(frame)]
    assert np.array_equal(got.src_port, [7, 8])


@pytest.mark.parametrize("blen", [0x10000, 0x7FFFFFF0])
def test_the_first_section_header_with_a_damaged_length_loses_no_block(tmp_path, blen):
    """The file's first section header with a length past the end of the file (a flipped
    bit), or one no block can have: the blocks after it are read, the damage reported.
    Taken for a file cut inside its header, the first was refused whole (exit 4)."""
    data = bytearray(local_capture("pcapng-simple.pcapng").read_bytes())
    whole = len(dpkt_frames(local_capture("pcapng-simple.pcapng")))
    data[4:8] = struct.pack("<I", blen)
    damaged = tmp_path / "first.pcapng"
    damaged.write_bytes(bytes(data))
    got, problems = _read(damaged)
    assert len(got) == whole > 0
    [problem] = problems
    assert problem.offset == 0 and "skipped 28 bytes" in problem.message


def test_a_section_header_of_impossible_length_still_starts_its_section(tmp_path):
    """As with a length not repeated at its end: a length no block can have (over 32 MiB),
    with the type and byte-order magic whole, still starts the section."""
    shb2 = bytearray(_shb())
    shb2[4:8] = struct.pack(ORDER + "I", 0x7FFFFFF0)
    first = _shb() + _idb(1) + _epb(_eth(1))
    damaged = tmp_path / "shb.pcapng"
    damaged.write_bytes(first + bytes(shb2) + _idb(228) + _epb(_ip_udp(2)))
    got, problems = _read(damaged)
    assert got.linktype.tolist() == [1, 228] and got.interface.tolist() == [0, 1]
    [problem] = problems
    assert "a new section begins there" in problem.message


def test_the_resync_passes_a_simple_packet_block_the_walk_would_refuse(tmp_path):
    """After damage the scan takes the next plausible block; a simple packet block too
    short for its packet is not one (the walk skips it as damaged): one report covering
    both, not a resync onto it and then a second report of it."""
    head = _shb() + _idb(1) + _epb(_eth(1))
    short = _spb(_eth(7)[:50], 100)
    damaged = tmp_path / "spb.pcapng"
    damaged.write_bytes(head + b"\xee" * 8 + short + _epb(_eth(2)))
    got, problems = _read(damaged)
    assert got.src_port.tolist() == [1, 2]
    [problem] = problems
    assert problem.offset == len(head) and f"skipped {8 + len(short)} bytes" in problem.message


@pytest.mark.parametrize("snaplen, spare", [(0, 8), (0, 4), (40, 16)],
                         ids=["8-spare", "4-spare", "snaplen-40"])
def test_a_simple_packet_block_holding_more_than_its_packet_is_reported(tmp_path, snaplen, spare):
    """A simple packet block's data is exactly min(original length, snaplen) bytes and
    their padding (pcapng spec, 4.4): one holding more is damaged (tshark 4.0: "total
    block lengths (first 80 and second 0) don't match", no frame at all). Its packet is
    where the block says, so it is kept, counted as read (README: every record read in
    one status), and the block reported once with its byte offset, as a packet block
    whose options run past it is; the next block is read. It was read silently."""
    frame = _eth(7)
    want = min(len(frame), snaplen or len(frame))
    head = _shb() + _idb(1, snaplen=snaplen)
    surplus = _spb(frame + bytes(spare), len(frame))
    damaged = tmp_path / "surplus.pcapng"
    damaged.write_bytes(head + surplus + _spb(frame[:want], len(frame)) + _epb(_eth(8)))
    got, problems = _read(damaged)
    assert got.src_port.tolist() == [7, 7, 8]
    assert got.caplen.tolist() == [want, want, len(frame)]
    [problem] = problems
    assert problem.offset == len(head)
    assert (f"simple packet block of {len(surplus)} bytes holds {len(surplus) - 16} bytes of "
            f"data, more than its packet's {want}") in problem.message
    assert "kept its packet" in problem.message
    if TSHARK:
        res = subprocess.run([TSHARK, "-n", "-r", str(damaged)], capture_output=True, text=True,
                             timeout=60)
        assert not res.stdout and "don't match" in res.stderr


def _bom_damaged(name: str) -> bytes:
    """pcaps/NAME with its first section header's byte-order magic overwritten."""
    data = bytearray(local_capture(name).read_bytes())
    data[8:12] = b"\xde\xad\xbe\xef"
    return bytes(data)


def _read_whole_but_for_one_problem(tmp_path, name: str, damaged: bytes):
    """pcaps/NAME's packets must all be read from its `damaged` copy, the damage reported
    once: returns that report."""
    path = tmp_path / name
    path.write_bytes(damaged)
    got, problems = _read(path)
    whole, _ = _read(local_capture(name))
    assert len(got) == len(whole) > 0
    assert got.src_port.tolist() == whole.src_port.tolist()
    assert got.ts_ns.tolist() == whole.ts_ns.tolist()
    [problem] = problems
    return problem


@pytest.mark.parametrize("name, order", [("pcapng-simple.pcapng", "little-endian"),
                                         ("pcapng-multi.pcapng", "big-endian")])
def test_the_first_section_header_with_an_unknown_magic_takes_its_lengths_order(tmp_path, name,
                                                                                order):
    """The file's first section header with its byte-order magic damaged: its length is
    at both of its ends, and they agree in only one byte order, which the section is then
    read in, the damage reported. The reader resynced assuming little-endian: a
    little-endian file was read, a big-endian one (pcapng-multi's first section, 4 of its
    7 packets) lost whole; tshark: "isn't a capture file in a format TShark understands"."""
    problem = _read_whole_but_for_one_problem(tmp_path, name, _bom_damaged(name))
    assert problem.offset == 0
    assert (f"section header block with an unknown byte-order magic (deadbeef); its lengths "
            f"agree only as {order}: read as a {order} section") == problem.message


def test_the_first_section_header_with_an_unknown_magic_and_no_order_is_no_capture(tmp_path, cli):
    """Its lengths agreeing in neither byte order (its trailing length damaged too, or a
    file cut inside it), nothing says how to read the file: not a pcapng capture, exit 4,
    as tshark says and as a file cut inside that block is."""
    data = bytearray(_bom_damaged("pcapng-simple.pcapng"))
    data[24:28] = b"\x00\x00\x00\x01"
    path = tmp_path / "neither.pcapng"
    path.write_bytes(bytes(data))
    with pytest.raises(CaptureFormatError, match="not a pcapng capture: .* agree in neither"):
        list(CaptureReader(str(path)))
    code, out, err = cli("summary", str(path))
    assert code == 4 and "not a pcapng capture" in err
    path.write_bytes(bytes(data[:20]))
    with pytest.raises(CaptureFormatError, match="not a pcapng capture"):
        list(CaptureReader(str(path)))


def test_the_first_section_header_whose_lengths_agree_both_ways_is_no_capture(tmp_path):
    """A length of 256 (00 01 00 00) reads 65,536 big-endian: where the bytes at both
    ends agree both ways, the byte order is not known, and the file is refused."""
    shb = struct.pack("<IIIHHq", 0x0A0D0D0A, 256, 0xEFBEADDE, 1, 0, -1)
    shb += bytes(256 - 4 - len(shb)) + struct.pack("<I", 256)
    head = shb + _idb(1)
    frame = bytearray(_eth(1, extra=0)) + bytearray(70_000)
    at = 65_532 - len(head) - 28  # the frame's byte at file offset 65,532
    frame[at : at + 4] = b"\x00\x01\x00\x00"
    path = tmp_path / "both.pcapng"
    path.write_bytes(head + _epb(bytes(frame)))
    with pytest.raises(CaptureFormatError, match="agree in both byte orders"):
        list(CaptureReader(str(path)))


@pytest.mark.parametrize("name, order, magic", [
    ("pcapng-simple.pcapng", "little-endian", "1a2b3c4d"),
    ("pcapng-multi.pcapng", "big-endian", "4d3c2b1a")])
def test_the_first_section_header_with_a_flipped_magic_takes_its_lengths_order(tmp_path, name,
                                                                               order, magic):
    """The first section header's byte-order magic whole but in the other byte order than
    its blocks (a writer's slip): in the magic's order its length is impossible (28 reads
    469,762,048), in the other it is repeated at its end. Read in the magic's order the
    file lost every packet (pcapng-simple: 0 of 4, exit 3) or its first section
    (pcapng-multi: 3 of 7); tshark refuses the file ("total block length 469762048 is
    too large"). The lengths win, as they do over an unknown magic: every packet read,
    the damage reported."""
    data = bytearray(local_capture(name).read_bytes())
    data[8:12] = bytes(reversed(data[8:12]))
    problem = _read_whole_but_for_one_problem(tmp_path, name, bytes(data))
    assert problem.offset == 0
    assert (f"section header block whose lengths contradict its byte-order magic ({magic}); "
            f"they agree only as {order}: read as a {order} section") == problem.message


def test_a_flipped_magic_whose_length_reads_possible_the_other_way_too(tmp_path):
    """A first section header of 256 bytes (00 01 00 00) with the magic flipped: in the
    magic's (big-endian) order its length is 65,536, possible, and the file is longer
    than that, so only the word at its end says it is not repeated. The lengths decide
    there too: all 300 packets read, where the magic's order lost them all."""
    shb = struct.pack("<IIIHHq", 0x0A0D0D0A, 256, 0x4D3C2B1A, 1, 0, -1)
    shb += bytes(256 - 4 - len(shb)) + struct.pack("<I", 256)
    packets = b"".join(_epb(_eth(1000 + i, extra=200 + i % 50)) for i in range(300))
    path = tmp_path / "flipped-256.pcapng"
    path.write_bytes(shb + _idb(1) + packets)
    assert path.stat().st_size > 65_536
    got, problems = _read(path)
    assert got.src_port.tolist() == list(range(1000, 1300))
    [problem] = problems
    assert problem.offset == 0 and "they agree only as little-endian" in problem.message


def _flipped(block: bytes) -> bytes:
    """A section header block with its byte-order magic in the other byte order."""
    return block[:8] + bytes(reversed(block[8:12])) + block[12:]


@pytest.mark.parametrize("chunk", [None, 4096], ids=["whole", "small-chunks"])
@pytest.mark.parametrize("size", [28, 256])
def test_a_later_section_header_with_a_flipped_magic_takes_its_lengths_order(tmp_path, size,
                                                                              chunk):
    """Three little-endian sections, the second's magic written big-endian (1a2b3c4d).
    Read in the magic's order its length was impossible (28 reads 469,762,048) or, for a
    header of 256 bytes, 65,536, not repeated there: the section's blocks were read
    big-endian and its packets lost (2000-2149 missing: the walk resynced at the third
    section). As for the first section header, the lengths win: every packet of the
    three sections, one warning at the second section header."""
    shb = struct.pack("<IIIHHq", 0x0A0D0D0A, size, 0x1A2B3C4D, 1, 0, -1)
    shb += bytes(size - 4 - len(shb)) + struct.pack("<I", size)
    sections = [(1000, _shb()), (2000, _flipped(shb)), (3000, _shb())]
    data = b"".join(head + _idb(1) + b"".join(_epb(_eth(first + i, extra=200 + i % 50))
                                              for i in range(150))
                    for first, head in sections)
    path = tmp_path / "flipped-later.pcapng"
    path.write_bytes(data)
    assert len(data) > 65_536
    got, problems = _read(path, chunk)
    expected = [first + i for first, _ in sections for i in range(150)]
    assert got.src_port.tolist() == expected
    [problem] = problems
    assert problem.offset == data.index(_flipped(shb))
    assert problem.message == ("section header block whose lengths contradict its byte-order "
                               "magic (1a2b3c4d); they agree only as little-endian: read as a "
                               "little-endian section")


def test_a_later_section_header_with_a_flipped_magic_in_a_capture(tmp_path):
    """pcapng-multi: a big-endian section, then a little-endian one from byte 744 whose
    magic is here written big-endian (its length 64 reads 1,073,741,824). Every packet as
    the undamaged file has it (7; 4 before), the times too."""
    whole_path = local_capture("pcapng-multi.pcapng")
    data = bytearray(whole_path.read_bytes())
    assert data[744:748] == b"\x0a\x0d\x0d\x0a" and data[752:756] == b"\x4d\x3c\x2b\x1a"
    data[752:756] = b"\x1a\x2b\x3c\x4d"
    damaged = tmp_path / "pcapng-multi.pcapng"
    damaged.write_bytes(bytes(data))
    got, problems = _read(damaged)
    whole, _ = _read(whole_path)
    assert len(got) == len(whole) == 7
    assert got.src_port.tolist() == whole.src_port.tolist()
    assert got.ts_ns.tolist() == whole.ts_ns.tolist()
    [problem] = problems
    assert problem.offset == 744 and "they agree only as little-endian" in problem.message
