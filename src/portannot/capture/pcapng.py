"""pcapng files: blocks, several sections (each with its own byte order) and interfaces.

The compiled walker indexes packet blocks; section and interface blocks come
back here because they change how the following packets are read.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import numpy as np

from portannot.capture.batch import RecordBatch
from portannot.capture.chunks import ChunkWindow
from portannot.capture.problems import ReadProblem
from portannot.capture.walk import (
    BAD_RECORD,
    NEED_MORE,
    PCAPNG_IDB,
    PCAPNG_SHB,
    SPECIAL_BLOCK,
    walk_pcapng,
)
from portannot.errors import CaptureFormatError

SHB_MAGIC = b"\x0a\x0d\x0d\x0a"
BYTE_ORDER_MAGIC = 0x1A2B3C4D
MAX_BLOCK = 32 << 20
OPT_IF_TSRESOL = 9
OPT_IF_TSOFFSET = 14
MAX_TSOFFSET = (1 << 62) // 1_000_000_000  #: largest if_tsoffset (s) whose ns fit in int64


def sniff(head: bytes) -> bool:
    return head[:4] == SHB_MAGIC


class Interfaces:
    """Per-interface fields of the current section, as arrays the walker can index."""

    def __init__(self, first_global: int) -> None:
        self.first_global = first_global
        self.linktype: list[int] = []
        self.snaplen: list[int] = []
        self.ts_kind: list[int] = []
        self.ts_exp: list[int] = []
        self.ts_off: list[int] = []
        self.freeze()

    def add(self, linktype: int, snaplen: int, ts_kind: int, ts_exp: int, ts_off_ns: int) -> None:
        self.linktype.append(linktype)
        self.snaplen.append(snaplen)
        self.ts_kind.append(ts_kind)
        self.ts_exp.append(ts_exp)
        self.ts_off.append(ts_off_ns)
        self.freeze()

    def freeze(self) -> None:
        self.a_linktype = np.array(self.linktype, np.uint16)
        self.a_snaplen = np.array(self.snaplen, np.uint32)
        self.a_ts_kind = np.array(self.ts_kind, np.int64)
        self.a_ts_exp = np.array(self.ts_exp, np.int64)
        self.a_ts_off = np.array(self.ts_off, np.int64)

    def __len__(self) -> int:
        return len(self.linktype)


def parse_idb_options(body: bytes, big: bool) -> tuple[int, int, int]:
    """(ts kind, ts exponent, ts offset ns) from an IDB's options; defaults to microseconds."""
    order = ">" if big else "<"
    kind, exp, off = 0, 6, 0
    p = 0
    while p + 4 <= len(body):
        code, olen = struct.unpack_from(order + "HH", body, p)
        p += 4
        if code == 0:
            break
        val = body[p : p + olen]  # may be shorter than olen in a damaged block
        if code == OPT_IF_TSRESOL and olen >= 1 and len(val) >= 1:
            kind, exp = (1, val[0] & 0x7F) if val[0] & 0x80 else (0, val[0])
            exp = min(exp, 63 if kind else 19)
        elif code == OPT_IF_TSOFFSET and olen >= 8 and len(val) >= 8:
            seconds = struct.unpack(order + "q", val[:8])[0]
            if abs(seconds) <= MAX_TSOFFSET:  # else not representable in int64 ns: ignored
                off = seconds * 1_000_000_000
        p += (olen + 3) & ~3
    return kind, exp, off


class PcapngReader:
    format_name = "pcapng"

    def __init__(self, window: ChunkWindow, path: str, file_index: int, problems: list[ReadProblem]):
        self.window, self.path, self.file_index, self.problems = window, path, file_index, problems
        self.big = False
        self.interfaces = Interfaces(0)
        self.sections = 0
        self.ts_digits = 6
        window.fill()
        if window.available < 12:
            raise CaptureFormatError(f"{path}: file ends inside the pcapng section header")

    def _problem(self, pos: int, message: str) -> None:
        self.problems.append(ReadProblem(self.path, self.window.offset_of(pos), message))

    def _special(self, btype: int) -> bool:
        """Handle the SHB or IDB at the window's start; False when reading must stop."""
        w = self.window
        p = w.start
        if btype == PCAPNG_SHB:
            if w.available < 12:
                w.fill(12)
                if w.available < 12:
                    self._problem(w.start, "file ends inside a section header block")
                    return False
                p = w.start
            bom = w.buf[p + 8 : p + 12].tobytes()
            if int.from_bytes(bom, "big") == BYTE_ORDER_MAGIC:
                big = True
            elif int.from_bytes(bom, "little") == BYTE_ORDER_MAGIC:
                big = False
            else:
                self._problem(p, "section header block with an unknown byte-order magic; stopped reading")
                return False
            blen = int.from_bytes(w.buf[p + 4 : p + 8].tobytes(), "big" if big else "little")
            if blen < 28 or blen % 4 or blen > MAX_BLOCK:
                self._problem(p, f"section header block length {blen} is impossible; stopped reading")
                return False
            block = w.take(blen)
            if block is None:
                self._problem(w.start, "file ends inside a section header block")
                return False
            self.big = big
            self.sections += 1
            self.interfaces = Interfaces(self.interfaces.first_global + len(self.interfaces))
            return True
        # IDB: the walker has checked its length fields
        order = "big" if self.big else "little"
        blen = int.from_bytes(w.buf[p + 4 : p + 8].tobytes(), order)
        block = w.take(blen)
        assert block is not None
        if blen < 20:
            self._problem(p, f"interface description block of {blen} bytes is too short; stopped reading")
            return False
        fmt = (">" if self.big else "<") + "HHI"
        linktype, _, snaplen = struct.unpack_from(fmt, block, 8)
        kind, exp, off = parse_idb_options(block[16 : blen - 4], self.big)
        self.interfaces.add(linktype, snaplen, kind, exp, off)
        self.ts_digits = max(self.ts_digits, 9 if kind else min(exp, 9))
        return True

    def __iter__(self) -> Iterator[RecordBatch]:
        w = self.window
        number = 1
        if w.buf[w.start : w.start + 4].tobytes() != SHB_MAGIC:
            raise CaptureFormatError(f"{self.path}: pcapng file does not start with a section header")
        while True:
            if not w.eof:
                w.fill()
            ifs = self.interfaces
            cap = max(w.available // 16 + 1, 16)
            offset = np.empty(cap, np.int64)
            caplen = np.empty(cap, np.uint32)
            length = np.empty(cap, np.uint32)
            ts_ns = np.empty(cap, np.int64)
            iface = np.empty(cap, np.uint32)
            n, pos, reason, extra = walk_pcapng(
                w.buf, w.start, w.end, self.big, len(ifs), ifs.a_snaplen, ifs.a_ts_kind,
                ifs.a_ts_exp, ifs.a_ts_off, MAX_BLOCK, offset, caplen, length, ts_ns, iface,
            )
            w.start = pos
            if n:
                local = iface[:n]
                yield RecordBatch(
                    w.buf, offset[:n], caplen[:n], length[:n], ts_ns[:n],
                    ifs.a_linktype[local], local + np.uint32(ifs.first_global),
                    number, self.file_index, self.path,
                )
                number += n
            if reason == SPECIAL_BLOCK:
                if extra == PCAPNG_IDB or extra == PCAPNG_SHB:
                    if not self._special(int(extra)):
                        return
                continue
            if reason == BAD_RECORD:
                self._problem(pos, self._describe_bad(pos))
                return
            if reason == NEED_MORE:
                if w.eof:
                    if w.available:
                        self._problem(w.start, f"file ends inside a block ({w.available} of {extra} bytes present)")
                    return
                if extra > w.buf.shape[0]:
                    w.fill(int(extra))

    def _describe_bad(self, pos: int) -> str:
        buf = self.window.buf
        order = "big" if self.big else "little"
        btype = int.from_bytes(buf[pos : pos + 4].tobytes(), order)
        blen = int.from_bytes(buf[pos + 4 : pos + 8].tobytes(), order)
        return f"impossible pcapng block (type 0x{btype:08x}, length {blen}); stopped reading"
