"""Classic libpcap files: a 24-byte file header, then (16-byte header, bytes) records."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import numpy as np

from portannot.capture.batch import RecordBatch
from portannot.capture.chunks import ChunkWindow, is_read_error
from portannot.capture.container import ContainerReader
from portannot.capture.problems import ProblemLog
from portannot.capture.pseudo_headers import PSEUDO_HEADERS, strip_pseudo_headers
from portannot.capture.walk import (
    BAD_RECORD,
    LENGTHS_IN_ORDER,
    LENGTHS_MAYBE_SWAPPED,
    LENGTHS_SWAPPED,
    LINKTYPE_ETHERNET,
    NEED_MORE,
    walk_pcap,
)
from portannot.errors import CaptureFormatError

#: magic as written in the file's own byte order -> (nanosecond timestamps, record header length)
MAGICS = {
    0xA1B2C3D4: (False, 16),
    0xA1B23C4D: (True, 16),
    0xA1B2CD34: (False, 24),  # Alexey Kuznetzov's modified format
}
#: libpcap's largest snapshot length; a record claiming more than this (or its file's snaplen,
#: whichever is larger, up to HARD_LIMIT) is damage
MAX_SNAPLEN = 262144
HARD_LIMIT = 64 << 20


def lengths_order(major: int, minor: int) -> int:
    """How a file of this version orders a record's two lengths, as libpcap and tshark
    decide it: version 2.3 swapped them (to match BPF's header), so earlier files, and
    DG/UX's 543.0, hold the original length first; in 2.3 some writers had not swapped
    yet, so there a captured length above the original one means they did not."""
    if major == 2 and minor < 3 or major == 543:
        return LENGTHS_SWAPPED
    if major == 2 and minor == 3:
        return LENGTHS_MAYBE_SWAPPED
    return LENGTHS_IN_ORDER


#: the pcap header's link-type field: bit 26 says bits 28-31 give the length of the FCS
#: each frame ends with, in 16-bit words (libpcap's LT_FCS_LENGTH_PRESENT, LT_FCS_LENGTH)
FCS_PRESENT, FCS_SHIFT, FCS_WORD = 0x04000000, 28, 2


def fcs_length(network: int) -> int:
    """Bytes of FCS the header's link-type field says each frame ends with, where tshark
    takes them off: wiretap hands the length to Ethernet frames (LINKTYPE_ETHERNET) only
    (802.11 and its radio headers, a frame behind PPI, any other link type: ignored, as
    tshark 4.0 shows them), and without the F bit says nothing (tshark then guesses from
    the trailer, and portannot leaves the FCS to the IP length to exclude)."""
    if not network & FCS_PRESENT or network & 0xFFFF != LINKTYPE_ETHERNET:
        return 0
    return (network >> FCS_SHIFT) * FCS_WORD


def sniff(head: bytes) -> bool:
    if len(head) < 4:
        return False
    return any(int.from_bytes(head[:4], order) in MAGICS for order in ("little", "big"))


class PcapReader(ContainerReader):
    """One pcap stream: a file header, then records under one link type."""

    format_name = "pcap"

    def __init__(self, window: ChunkWindow, path: str, file_index: int, problems: ProblemLog):
        super().__init__(window, path, file_index, problems)
        header = window.take(24)
        if header is None:
            if is_read_error(window.error):  # the file goes on: the read failed, said so
                raise window.error
            raise CaptureFormatError(f"{path}: file ends inside the pcap file header")
        big = int.from_bytes(header[:4], "big") in MAGICS
        self.big = big
        magic = int.from_bytes(header[:4], "big" if big else "little")
        self.nano, self.hdr_len = MAGICS[magic]
        self.ts_digits = 9 if self.nano else 6
        major, minor, _, _, snaplen, network = struct.unpack((">" if big else "<") + "HHiIII",
                                                             header[4:])
        self.swapped = lengths_order(major, minor)
        self.snaplen = snaplen
        self.linktype = network & 0xFFFF
        self.fcs = fcs_length(network)
        self.max_caplen = min(max(snaplen, MAX_SNAPLEN), HARD_LIMIT)

    def __iter__(self) -> Iterator[RecordBatch]:
        w = self.window
        number = 1
        need = 0
        # a pipe's first fill paused on the bytes in hand: walked before any more are awaited
        walk_first = w.paused
        while True:
            if not walk_first and (w.available < max(need, self.hdr_len) or not w.eof):
                w.fill(need)
            walk_first = False
            cap = max(w.available // self.hdr_len + 1, 16)
            offset = np.empty(cap, np.int64)
            caplen = np.empty(cap, np.uint32)
            length = np.empty(cap, np.uint32)
            ts_ns = np.empty(cap, np.int64)
            n, pos, reason, need = walk_pcap(
                w.buf, w.start, w.end, self.big, self.nano, self.hdr_len, self.max_caplen,
                self.swapped, offset, caplen, length, ts_ns,
            )
            w.start = pos
            if n:
                yield self._batch(offset[:n], caplen[:n], length[:n], ts_ns[:n], number,
                                  paused=w.paused and reason == NEED_MORE)
                number += n
            if reason == BAD_RECORD:
                # A captured length no record can have: damage, wherever it is, and however
                # much of the file follows (a second file's header in `cat a.pcap b.pcap`
                # claims a timestamp's worth of bytes). tshark and capinfos stop there too
                # ("File has N-byte packet, bigger than maximum of 262144"); never a record,
                # or the rest of the file would become one.
                incl, _ = self._lengths(w.start)
                self._problem(w.start, f"record header claims {incl} captured bytes "
                                       f"(limit {self.max_caplen}); stopped reading")
                return
            if reason == NEED_MORE:
                if w.eof:
                    if w.available and self._partial_tail(number):
                        yield self.tail
                    return

    def _lengths(self, pos: int) -> tuple[int, int]:
        """(captured, original) length of the record header at window position pos, in
        the order the file's version writes them (see lengths_order)."""
        incl, orig = self._field(pos + 8), self._field(pos + 12)
        if self.swapped == LENGTHS_SWAPPED or (self.swapped == LENGTHS_MAYBE_SWAPPED and incl > orig):
            return orig, incl
        return incl, orig

    def _partial_tail(self, number: int) -> int:
        """The file ends inside the last record, whose captured length is one a record can
        have (the walk stops at any other): report it, and keep what it holds when its
        header is whole (a cut record still has addresses and often ports; tshark and
        capinfos drop it)."""
        w = self.window
        have = w.available
        if have < self.hdr_len:
            self._problem(w.start, f"{w.ending} inside a record header ({have} of {self.hdr_len} "
                                   "bytes present)")
            return 0
        incl, _ = self._lengths(w.start)
        self._problem(w.start, f"{w.ending} inside a record ({have - self.hdr_len} of {incl} "
                               "captured bytes present); kept what is there")
        self.tail = self._tail_batch(number, have - self.hdr_len)
        return 1

    def _tail_batch(self, number: int, present: int) -> RecordBatch:
        w = self.window
        p = w.start
        frac = self._field(p + 4) * (1 if self.nano else 1000)
        batch = self._batch(
            np.array([p + self.hdr_len], np.int64), np.array([present], np.uint32),
            np.array([self._lengths(p)[1]], np.uint32),
            np.array([self._field(p) * 1_000_000_000 + frac], np.int64), number,
        )
        w.start = w.end
        return batch

    def _batch(self, offset: np.ndarray, caplen: np.ndarray, length: np.ndarray,
               ts_ns: np.ndarray, number: int, paused: bool = False) -> RecordBatch:
        """Records of the window as a batch, the link type's pseudo-header (if it has
        one) taken off each."""
        linktype = np.full(len(offset), self.linktype, np.uint16)
        if self.linktype in PSEUDO_HEADERS:
            offset, caplen, length = strip_pseudo_headers(offset, caplen, length, linktype)
        return RecordBatch(self.window.buf, offset, caplen, length, ts_ns, linktype,
                           np.zeros(len(offset), np.uint32), np.full(len(offset), self.fcs, np.uint8),
                           number, self.file_index, self.path, paused)
