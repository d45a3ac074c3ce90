"""Length fields that lie: huge caplens, pcapng block lengths past the end of the file,
zero or odd block lengths, endless runs of empty blocks.

Each case must finish quickly, allocate nothing near what a header claims, keep every
record before the fault exactly as in the undamaged file, and report the fault with
its byte offset; pcapng resynchronises on the next valid block where it can. Every
case runs over the memory-mapped file, the chunked reader, and a gzip stream.
"""

from __future__ import annotations

import gzip
import struct
import time
import tracemalloc
from pathlib import Path

import pytest

from portannot.capture import CaptureReader
from portannot.decode import Decoder, concat
from portannot.status import STATUS_NAMES

MODES = ["chunked", "gzip"]
SMALL_CHUNK = 1 << 16
#: no case may allocate more than this (the claims go up to 4 GiB)
ALLOC_LIMIT = 24 << 20


# ---------------------------------------------------------------- builders


def frame(i: int) -> bytes:
    """Ethernet / IPv4 / UDP, ports 1000+i -> 53, 60 bytes."""
    udp = struct.pack(">HHHH", 1000 + i % 60000, 53, 26, 0) + bytes(18)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                     bytes([192, 0, 2, 1]), bytes([198, 51, 100, 2]))
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + udp


def pcap_record(data: bytes, i: int, order: str = "<", caplen: int | None = None) -> bytes:
    incl = len(data) if caplen is None else caplen
    return struct.pack(order + "IIII", 1_700_000_000 + i, i, incl, len(data)) + data


def pcap(records: list[bytes], snaplen: int = 65535, order: str = "<") -> bytes:
    return struct.pack(order + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1) + b"".join(records)


def block(btype: int, body: bytes, order: str = "<", blen: int | None = None,
          trailer: int | None = None) -> bytes:
    body = body + bytes(-len(body) % 4)
    n = 12 + len(body)
    return (struct.pack(order + "II", btype, n if blen is None else blen) + body
            + struct.pack(order + "I", n if trailer is None else trailer))


def shb(order: str = "<") -> bytes:
    return block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1), order)


def idb(order: str = "<", linktype: int = 1, options: bytes = b"") -> bytes:
    return block(1, struct.pack(order + "HHI", linktype, 0, 65535) + options, order)


def epb(data: bytes, i: int, order: str = "<", iface: int = 0, caplen: int | None = None) -> bytes:
    ts = 1_700_000_000_000_000 + i
    incl = len(data) if caplen is None else caplen
    return block(6, struct.pack(order + "IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, incl, len(data))
                 + data, order)


def pcapng(n: int, order: str = "<") -> tuple[bytes, list[int]]:
    """SHB, IDB, n EPBs; returns the bytes and the offset of every EPB."""
    out = shb(order) + idb(order)
    offsets = []
    for i in range(n):
        offsets.append(len(out))
        out += epb(frame(i), i, order)
    return out, offsets


# ---------------------------------------------------------------- reading


def read(tmp_path: Path, data: bytes, mode: str, timeout: float = 20.0, alloc: bool = False):
    """(decoded PacketBatch or None, problems, seconds, peak bytes allocated); alloc: trace
    allocations (slow) and check their peak against ALLOC_LIMIT."""
    if mode == "gzip":
        path = tmp_path / "in.pcap.gz"
        path.write_bytes(gzip.compress(data, compresslevel=1, mtime=0))
    else:
        path = tmp_path / "in.pcap"
        path.write_bytes(data)
    reader = CaptureReader(str(path), chunk_size=SMALL_CHUNK)
    decoder = Decoder()
    if alloc:
        tracemalloc.start()
    t0 = time.perf_counter()
    peak = 0
    try:
        batches = [decoder.decode(b) for b in reader]
        seconds = time.perf_counter() - t0
        if alloc:
            _, peak = tracemalloc.get_traced_memory()
    finally:
        if alloc:
            tracemalloc.stop()
    got = concat(batches) if batches else None
    n = 0 if got is None else len(got)
    assert n == reader.records
    if got is not None:
        assert (got.status < len(STATUS_NAMES)).all(), "a record has no valid status"
    assert seconds < timeout, f"took {seconds:.1f} s"
    assert peak < ALLOC_LIMIT, f"allocated {peak / 2**20:.1f} MiB"
    return got, reader.problems, seconds, peak


def ports(batch) -> list[int]:
    return [] if batch is None else batch.src_port.tolist()


def reference(tmp_path: Path, data: bytes):
    got, problems, _, _ = read(tmp_path, data, "chunked")
    assert not problems
    return got


# ---------------------------------------------------------------- pcap


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("claim", [0xFFFFFFFF, 0x80000000, 262145, (64 << 20) + 1])
def test_pcap_huge_caplen_mid_file(tmp_path, mode, claim):
    frames = [frame(i) for i in range(200)]
    records = [pcap_record(f, i) for i, f in enumerate(frames)]
    bad = 120
    offset = 24 + sum(len(r) for r in records[:bad])
    records[bad] = pcap_record(frames[bad], bad, caplen=claim)
    got, problems, _, _ = read(tmp_path, pcap(records), mode)
    # every record before the fault; the claim is either impossible (damage: reading
    # stops there) or plausible with the file ending inside it (a cut last record, kept
    # with the bytes present, where tshark drops it): never more than the file holds
    assert ports(got)[:bad] == [1000 + i for i in range(bad)]
    assert len(got) in (bad, bad + 1)
    if len(got) == bad + 1:
        assert int(got.offset[bad] if hasattr(got, "offset") else 0) >= 0
        assert int(got.caplen[bad]) == sum(len(r) for r in records[bad:]) - 16
    assert [p.offset for p in problems] == [offset]
    assert str(claim) in problems[0].message and f"byte offset {offset}" in str(problems[0])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("claim", [60 << 20, (64 << 20)])
def test_pcap_claim_past_end_of_small_file(tmp_path, mode, claim):
    """The file header allows any snaplen; the last record claims tens of MiB of a 20 KiB
    file: the reader must not allocate what it claims before finding the file ends."""
    records = [pcap_record(frame(i), i) for i in range(300)]
    offset = 24 + sum(len(r) for r in records)
    records.append(pcap_record(frame(300), 300, caplen=claim))
    got, problems, _, _ = read(tmp_path, pcap(records, snaplen=0xFFFFFFFF), mode, alloc=True)
    assert ports(got)[:300] == [1000 + i for i in range(300)]
    assert len(got) in (300, 301)  # the cut record may be kept with the bytes present
    if len(got) == 301:
        assert int(got.caplen[300]) == 60  # only its own bytes, nothing past the file
    assert [p.offset for p in problems] == [offset]


@pytest.mark.parametrize("mode", MODES)
def test_pcap_endless_run_of_empty_records(tmp_path, mode):
    n = 300_000  # 4.8 MB of 16-byte records that capture nothing
    empty = struct.pack("<IIII", 1_700_000_000, 0, 0, 60)
    data = pcap([pcap_record(frame(0), 0)] + [empty] * n + [pcap_record(frame(1), 1)])
    got, problems, _, _ = read(tmp_path, data, mode)
    assert len(got) == n + 2 and not problems
    assert ports(got)[0] == 1000 and ports(got)[-1] == 1001
    assert (got.status[1:-1] == STATUS_NAMES.index("truncated")).all()


# ---------------------------------------------------------------- pcapng


def _damage_epb(data: bytes, offsets: list[int], k: int, *, blen: int | None = None,
                trailer: int | None = None, field_at: int | None = None, value: int = 0) -> bytes:
    buf = bytearray(data)
    o = offsets[k]
    if blen is not None:
        struct.pack_into("<I", buf, o + 4, blen)
    if trailer is not None:
        n = offsets[k + 1] - o
        struct.pack_into("<I", buf, o + n - 4, trailer)
    if field_at is not None:
        struct.pack_into("<I", buf, o + field_at, value)
    return bytes(buf)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("blen", [0, 4, 8, 13, 30, 0x7FFFFFFC, 0xFFFFFFFF, 0xFFFFFFF0, (32 << 20) + 4])
def test_pcapng_impossible_block_length_resynchronises(tmp_path, mode, blen):
    data, offsets = pcapng(400)
    k = 150
    damaged = _damage_epb(data, offsets, k, blen=blen)
    got, problems, _, _ = read(tmp_path, damaged, mode, alloc=True)
    # every packet before the fault, then every packet after the damaged block
    assert ports(got) == [1000 + i for i in range(400) if i != k]
    assert [p.offset for p in problems] == [offsets[k]]
    msg = str(problems[0])
    assert f"byte offset {offsets[k + 1]}" in msg and f"byte offset {offsets[k]}" in msg


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("claim", [1 << 20, 24 << 20, 32 << 20])
def test_pcapng_block_length_past_end_of_file(tmp_path, mode, claim):
    """A length within the block limit that points past the end of the (small) file: no
    allocation of the claim, the packets after it are found again."""
    data, offsets = pcapng(300)
    k = 100
    got, problems, _, _ = read(tmp_path, _damage_epb(data, offsets, k, blen=claim), mode, alloc=True)
    assert ports(got) == [1000 + i for i in range(300) if i != k]
    assert [p.offset for p in problems] == [offsets[k]]


@pytest.mark.parametrize("mode", MODES)
def test_pcapng_cut_inside_last_block_still_reported(tmp_path, mode):
    data, offsets = pcapng(50)
    cut = offsets[-1] + 30
    got, problems, _, _ = read(tmp_path, data[:cut], mode)
    assert ports(got) == [1000 + i for i in range(49)]
    assert [p.offset for p in problems] == [offsets[-1]]
    assert "file ends inside a block" in problems[0].message


@pytest.mark.parametrize("mode", MODES)
def test_pcapng_trailing_length_mismatch_resynchronises(tmp_path, mode):
    data, offsets = pcapng(100)
    got, problems, _, _ = read(tmp_path, _damage_epb(data, offsets, 40, trailer=0x1234), mode)
    assert ports(got) == [1000 + i for i in range(100) if i != 40]
    assert [p.offset for p in problems] == [offsets[40]]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("what", ["caplen", "interface"])
def test_pcapng_well_framed_bad_packet_block_is_skipped(tmp_path, mode, what):
    """A block whose two lengths agree but whose content is impossible (captured length
    larger than the block, an interface that does not exist) costs only that block."""
    data, offsets = pcapng(100)
    field_at, value = (20, 0xFFFFFFFF) if what == "caplen" else (8, 7)
    got, problems, _, _ = read(tmp_path, _damage_epb(data, offsets, 60, field_at=field_at,
                                                      value=value), mode)
    assert ports(got) == [1000 + i for i in range(100) if i != 60]
    assert [p.offset for p in problems] == [offsets[60]]
    assert "skipped the block" in problems[0].message


@pytest.mark.parametrize("mode", MODES)
def test_pcapng_garbage_between_blocks(tmp_path, mode):
    data, offsets = pcapng(100)
    junk = bytes(range(256)) * 40 + b"\x06\x00\x00\x00\xff\xff\x00\x00"  # 10 KiB, a fake EPB head
    damaged = data[:offsets[70]] + junk + data[offsets[70]:]
    got, problems, _, _ = read(tmp_path, damaged, mode)
    assert ports(got) == [1000 + i for i in range(100)]
    assert [p.offset for p in problems] == [offsets[70]]
    assert f"byte offset {offsets[70] + len(junk)}" in str(problems[0])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("btype", [0x12345678, 0x00000BAD, 4, 5])
def test_pcapng_endless_run_of_empty_blocks(tmp_path, mode, btype):
    """A million 12-byte blocks between two packets: skipped in linear time."""
    data, offsets = pcapng(2)
    empty = block(btype, b"")
    damaged = data[:offsets[1]] + empty * 1_000_000 + data[offsets[1]:]
    got, problems, _, _ = read(tmp_path, damaged, mode, timeout=30)
    assert ports(got) == [1000, 1001] and not problems


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["shb", "idb", "idb+epb"])
def test_pcapng_endless_run_of_header_blocks(tmp_path, mode, kind):
    """Section headers and interface blocks are read in the walk, and go back to Python
    one by one where it cannot read them: a run of 100,000 of them (50,000 here) must
    cost time linear in their number, not in number x window size."""
    n = 50_000
    if kind == "shb":
        body = shb() * n + idb() + epb(frame(1), 1)
    elif kind == "idb":
        body = idb() * n + epb(frame(1), 1, iface=n - 1)
    else:
        body = b"".join(idb() + epb(frame(i + 1), i, iface=i + 1) for i in range(n))
    data = shb() + idb() + epb(frame(0), 0) + body
    got, problems, _, _ = read(tmp_path, data, mode, timeout=60)
    assert not problems
    expect = n + 1 if kind == "idb+epb" else 2
    assert len(got) == expect and ports(got)[:2] == [1000, 1001]


@pytest.mark.parametrize("mode", MODES)
def test_pcapng_zero_length_block_run(tmp_path, mode):
    """Blocks of length 0 are impossible: one problem for the whole run, then the packets."""
    data, offsets = pcapng(3)
    zero = struct.pack("<II", 0x12345678, 0) + bytes(4)
    damaged = data[:offsets[1]] + zero * 200_000 + data[offsets[1]:]
    got, problems, _, _ = read(tmp_path, damaged, mode, timeout=30)
    assert ports(got) == [1000, 1001, 1002]
    assert [p.offset for p in problems] == [offsets[1]]


@pytest.mark.parametrize("options", [
    struct.pack("<HH", 9, 200),  # if_tsresol whose value runs past the block
    struct.pack("<HH", 14, 8),  # if_tsoffset with no value bytes
    struct.pack("<HHq", 14, 8, 2**63 - 1) + struct.pack("<HH", 0, 0),  # offset beyond int64 ns
    struct.pack("<HHB", 9, 1, 0xFF) + bytes(3) + struct.pack("<HH", 0, 0),  # 2^-127 s
    struct.pack("<HHB", 9, 1, 0x7F) + bytes(3) + struct.pack("<HH", 0, 0),  # 10^-127 s
    struct.pack("<HH", 0xFFFF, 0xFFFF),
])
def test_pcapng_damaged_interface_options(tmp_path, options):
    data = shb() + idb(options=options) + epb(frame(0), 0) + epb(frame(1), 1)
    got, problems, _, _ = read(tmp_path, data, "chunked")
    assert ports(got) == [1000, 1001]


def test_pcapng_short_interface_block_keeps_numbering(tmp_path):
    """An IDB too short to hold a link type: later interfaces keep their ids."""
    short = block(1, b"")
    data = shb() + idb() + short + idb(linktype=228) + epb(frame(0), 0, iface=0)
    data += epb(frame(1)[14:], 1, iface=2) + epb(frame(2), 2, iface=1)
    got, problems, _, _ = read(tmp_path, data, "chunked")
    assert ports(got)[:2] == [1000, 1001]
    assert got.linktype.tolist() == [1, 228, 0xFFFF]
    assert STATUS_NAMES[got.status[2]] == "unsupported-link"
    assert len(problems) == 1 and "too short" in problems[0].message


@pytest.mark.parametrize("mode", MODES)
def test_pcapng_damaged_section_header_resynchronises(tmp_path, mode):
    """A second section whose byte-order magic is damaged: its blocks are skipped up to
    the next section header (a third section, big-endian) and read from there."""
    s1, _ = pcapng(10)
    s2 = shb() + idb() + b"".join(epb(frame(100 + i), i) for i in range(5))
    s2 = s2[:8] + b"\xde\xad\xbe\xef" + s2[12:]
    s3, _ = pcapng(5, ">")
    got, problems, _, _ = read(tmp_path, s1 + s2 + s3, mode)
    assert ports(got)[:10] == [1000 + i for i in range(10)]
    assert ports(got)[-5:] == [1000 + i for i in range(5)]
    assert problems and problems[0].offset == len(s1)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("valid_after", [True, False])
def test_pcapng_run_of_block_heads_claiming_past_end_of_file(tmp_path, mode, valid_after):
    """After an impossible block, 1 MiB of words that each look like the head of a packet
    block of 32 MiB - 16 bytes: every one runs past the end of the file and is no block.
    The packets after the run are found; with none after it, reading stops at the end
    of the file with the damage reported once."""
    data, offsets = pcapng(100)
    k = 60
    heads = struct.pack("<II", 6, (32 << 20) - 16) * (1 << 17)
    after = data[offsets[k + 1]:] if valid_after else b""
    damaged = _damage_epb(data, offsets, k, blen=7)[:offsets[k + 1]] + heads + after
    got, problems, _, _ = read(tmp_path, damaged, mode, alloc=True)
    assert ports(got) == [1000 + i for i in range(100) if i != k and (valid_after or i < k)]
    assert [p.offset for p in problems] == [offsets[k]]
    if valid_after:
        assert f"byte offset {offsets[k + 1] + len(heads)}" in str(problems[0])
    else:
        assert "no valid block after it" in str(problems[0])
