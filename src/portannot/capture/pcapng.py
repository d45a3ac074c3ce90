"""pcapng files: blocks, several sections (each with its own byte order) and interfaces.

The compiled walker indexes packet blocks and reads the sound section and interface
blocks itself (walk.walk_pcapng); those it cannot read (a section in the other byte
order, no room for another interface) or that must be reported come back here.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import numpy as np

from portannot.capture.batch import RecordBatch
from portannot.capture.chunks import ChunkWindow, is_read_error
from portannot.capture.container import ContainerReader
from portannot.capture.problems import (
    DAMAGED_BLOCKS,
    DAMAGED_OPTIONS,
    DAMAGED_RANGES,
    HELD_TIMES,
    SHORT_INTERFACES,
    SURPLUS_DATA,
    UNKNOWN_SECTIONS,
    ProblemLog,
    ReadProblem,
)
from portannot.capture.pseudo_headers import strip_pseudo_headers
from portannot.capture.walk import (
    BAD_OPTIONS,
    BAD_RECORD,
    BYTE_ORDER_MAGIC,
    CLOSED,
    DIGITS,
    IF_COUNT,
    LINKTYPE_ETHERNET,
    MIN_SHB,
    NEED_MORE,
    PCAPNG_EPB,
    PCAPNG_IDB,
    PCAPNG_OPB,
    PCAPNG_SHB,
    PCAPNG_SPB,
    SECTIONS,
    SHB_MAJOR,
    SKIPPED,
    SPECIAL_BLOCK,
    STATE_SIZE,
    SURPLUS,
    TS_LIMIT,
    find_options,
    interface_options,
    resync_pcapng,
    skip_section,
    walk_pcapng,
)
from portannot.errors import CaptureFormatError
from portannot.output.plural import counted

SHB_MAGIC = b"\x0a\x0d\x0d\x0a"
#: walks of records held for one batch at the most (see PcapngReader.__iter__): a long
#: run of interface blocks or damage between single packets still hands out batches
MAX_PENDING = 1024
MAX_BLOCK = 32 << 20
#: the times -TS_LIMIT and TS_LIMIT ns (UTC), as messages give them
TIME_HELD = ("1823-11-12 00:06:21", "2116-02-20 23:53:38")


def section_byte_order(bom: bytes) -> str | None:
    """"big" or "little" from a section header's byte-order magic; None if it is not one."""
    for order in ("big", "little"):
        if int.from_bytes(bom, order) == BYTE_ORDER_MAGIC:
            return order
    return None


def sniff(head: bytes) -> bool:
    return head[:4] == SHB_MAGIC


class Interfaces:
    """Per-interface fields of the current section, as arrays the walker indexes and
    fills: it adds the interfaces it meets while the arrays have room (walk_pcapng), and
    `add` makes room by doubling, so a section of many interfaces costs linear time."""

    def __init__(self, first_global: int) -> None:
        self.first_global = first_global
        self.count = 0
        self.linktype = np.zeros(4, np.uint16)
        self.snaplen = np.zeros(4, np.uint32)
        self.ts_kind = np.zeros(4, np.int64)
        self.ts_exp = np.zeros(4, np.int64)
        self.ts_off = np.zeros(4, np.int64)  # if_tsoffset, whole seconds
        #: if_fcslen, in bytes (walk.fcs_bytes), for an Ethernet interface (wiretap hands
        #: the length to Ethernet's pseudo-header only); 0 for any other
        self.fcs = np.zeros(4, np.int64)

    def columns(self) -> tuple[np.ndarray, ...]:
        """The arrays, whole (the walker's argument order): [count:] is room to fill."""
        return self.linktype, self.snaplen, self.ts_kind, self.ts_exp, self.ts_off, self.fcs

    def add(self, linktype: int, snaplen: int, ts_kind: int, ts_exp: int, ts_off_s: int,
            fcs: int = 0) -> None:
        if self.count == self.linktype.shape[0]:
            for name, col in zip(("linktype", "snaplen", "ts_kind", "ts_exp", "ts_off", "fcs"),
                                 self.columns()):
                setattr(self, name, np.concatenate([col, np.zeros_like(col)]))
        fcs = fcs if linktype == LINKTYPE_ETHERNET else 0
        for col, value in zip(self.columns(), (linktype, snaplen, ts_kind, ts_exp, ts_off_s, fcs)):
            col[self.count] = value
        self.count += 1

    def __len__(self) -> int:
        return self.count


def section_options_overrun(buf: np.ndarray, start: int, end: int, big: bool) -> bool:
    """Whether an option of the section header whose options are buf[start:end] runs
    past its end (wiretap: "Not enough data to handle option of length ...", the file
    damaged); none of its options is read."""
    none = np.empty(0, np.int64)
    return bool(find_options(buf, start, end, big, none.astype(np.uint16), none, none))


def _time_unit(kind: int, exp: int) -> str:
    """An interface's time unit in words: if_tsresol's kind (0 decimal, 1 binary) and
    exponent."""
    if kind:
        return f"units of 2^-{exp} s"
    return {0: "seconds", 3: "milliseconds", 6: "microseconds", 9: "nanoseconds"}.get(
        exp, f"units of 10^-{exp} s")


class PcapngReader(ContainerReader):
    """One pcapng stream: sections, each with its byte order and its interfaces."""

    format_name = "pcapng"

    def __init__(self, window: ChunkWindow, path: str, file_index: int, problems: ProblemLog):
        super().__init__(window, path, file_index, problems)
        self.interfaces = Interfaces(0)
        self.sections = 0
        #: the first section header's byte order, taken from its lengths where its
        #: byte-order magic is unknown or they contradict it (_order_from_lengths,
        #: _magic_contradicted); None where the magic says it
        self._first_order: str | None = None
        if window.available < 12:  # a pipe's first fill may have paused before them
            window.fill(12)
        if window.available < 12:
            if is_read_error(window.error):  # the file goes on: the read failed, said so
                raise window.error
            raise CaptureFormatError(f"{path}: file ends inside the pcapng section header")
        self._first_section_whole(path)

    def _first_section_whole(self, path: str) -> None:
        """The first section header block is the capture's header, as a pcap's 24 bytes
        are: a file that ends inside it, with no block after it, holds no capture at all
        (exit 4, one of several inputs skipped), not a capture cut short. A length that
        is impossible, or that runs past the end where sound blocks follow (a damaged
        length, not a cut file), is damage the walk reports and reads past."""
        w = self.window
        big, blen, wrong = self._section_header(w.start)
        if big is None:
            self._first_order = self._order_from_lengths(path)
            big, blen, wrong = self._section_header(w.start)
        elif self._magic_contradicted(big):
            big, blen, wrong = self._section_header(w.start)
        if wrong or w.available >= blen:
            return
        w.fill(blen)
        if w.available >= blen:
            return
        if getattr(w, "error", None) is not None:
            raise w.error  # a damaged compressed stream or an I/O error: its own message
        q, need = resync_pcapng(w.buf, w.start + 1, w.end, big, 0, 0, MAX_BLOCK, True)
        if need == 0 and w.end - q >= 12:
            return
        raise CaptureFormatError(f"{path}: file ends inside the pcapng section header block "
                                 f"({w.available} of {blen} bytes)")

    def _order_from_lengths(self, path: str) -> str:
        """The byte order of the file's first section header block, whose byte-order
        magic is unknown, from its length: at both of its ends, the two agree in one
        byte order only (a length of 28, 1c 00 00 00, is 469,762,076 big-endian, more
        than a block can have). That order is reported and the section read in it.
        Where they agree in neither (a length damaged too, a file cut inside the block)
        or in both (a rare length such as 256, 00 01 00 00, whose big-endian 65,536 also
        finds itself repeated), nothing says how to read the file: not a pcapng capture
        (exit 4, as tshark: "isn't a capture file in a format TShark understands");
        a later section header's unknown magic is damage read past in its section's
        order, with good data before it."""
        w = self.window
        bom = w.buf[w.start + 8 : w.start + 12].tobytes().hex()
        agree = [order for order in ("little", "big") if self._lengths_agree(order)]
        if len(agree) != 1:
            how = "in neither byte order" if not agree else "in both byte orders"
            raise CaptureFormatError(
                f"{path}: not a pcapng capture: its first section header block has an unknown "
                f"byte-order magic ({bom}) and lengths that agree {how}")
        self._problem(w.start, f"section header block with an unknown byte-order magic ({bom}); "
                               f"its lengths agree only as {agree[0]}-endian: read as a "
                               f"{agree[0]}-endian section", DAMAGED_BLOCKS)
        return agree[0]

    def _magic_contradicted(self, big: bool) -> bool:
        """Whether the file's first section header block, whose lengths do not agree in
        the byte order its magic names, has lengths that agree in the other order: then
        its blocks are in that order and the magic is the one thing written wrong (a
        writer's slip), as an unknown magic is damage its lengths decide. The order is
        taken from the lengths, reported, and the section read in it (tshark refuses the
        file: "total block length 469762048 is too large"). A length damaged in the
        magic's order, which the other order does not repeat, is left to the walk."""
        other = self._order_against_magic("big" if big else "little", first=True)
        if other is None:
            return False
        self._first_order = other
        return True

    def _order_against_magic(self, order: str, first: bool) -> str | None:
        """The byte order of the section header block at the window's start where its
        lengths agree only in the other order than its magic's, `order` (reported), else
        None: for the first section header and for a later one alike, a later section
        being a writer's output as much as the first is (its packets were lost, read in
        the magic's order). A stream that fails before a later one's end is left to the
        reading's own stop, as its header cut short."""
        other = "little" if order == "big" else "big"
        if self._lengths_agree(order, first) or not self._lengths_agree(other, first):
            return None
        w = self.window
        bom = w.buf[w.start + 8 : w.start + 12].tobytes().hex()
        self._problem(w.start, f"section header block whose lengths contradict its byte-order "
                               f"magic ({bom}); they agree only as {other}-endian: read as a "
                               f"{other}-endian section", DAMAGED_BLOCKS)
        return other

    def _lengths_agree(self, order: str, first: bool = True) -> bool:
        """Whether the block at the window's start has a length a section header can have
        in `order`, repeated at its end (read to it as needed). The stream's failure
        before that end is raised for the `first` section header (the capture's header),
        else a no."""
        w = self.window
        blen = int.from_bytes(w.buf[w.start + 4 : w.start + 8].tobytes(), order)
        if blen < MIN_SHB or blen % 4 or blen > MAX_BLOCK:
            return False
        if w.available < blen:
            w.fill(blen)
            if w.available < blen:
                if first and getattr(w, "error", None) is not None:
                    raise w.error  # a damaged compressed stream or an I/O error
                return False
        end = w.start + blen
        return int.from_bytes(w.buf[end - 4 : end].tobytes(), order) == blen

    def _section_header(self, p: int, lengths_order: str | None = None
                        ) -> tuple[bool | None, int, str]:
        """(big-endian, length, what is wrong or "") of the section header block at window
        position p, of which the window holds at least 12 bytes; big-endian is None where
        the byte-order magic is unknown, else the magic's order (or `lengths_order`, the
        one its lengths gave against it), also when the length is wrong. A sound block
        the window does not hold whole is not wrong: its length then reaches past the
        window's end. (walk.resync_pcapng makes the same checks, compiled, when it looks
        for a block.)"""
        buf = self.window.buf
        order = lengths_order or section_byte_order(buf[p + 8 : p + 12].tobytes())
        if self._first_order and self.window.offset_of(p) == 0:
            order = self._first_order  # the first's, from its lengths: reported once, when found
        if order is None:
            return None, 0, "section header block with an unknown byte-order magic"
        big = order == "big"
        blen = int.from_bytes(buf[p + 4 : p + 8].tobytes(), order)
        if blen < MIN_SHB or blen % 4 or blen > MAX_BLOCK:
            return big, blen, f"section header block length {blen} is impossible"
        if p + blen <= self.window.end and int.from_bytes(buf[p + blen - 4 : p + blen].tobytes(), order) != blen:
            return big, blen, f"section header block length {blen} is not repeated at its end"
        return big, blen, ""

    def _version(self, p: int, big: bool) -> tuple[int, int]:
        """(major, minor) of the section header block at window position p."""
        order = "big" if big else "little"
        buf = self.window.buf
        return (int.from_bytes(buf[p + 12 : p + 14].tobytes(), order),
                int.from_bytes(buf[p + 14 : p + 16].tobytes(), order))

    def _skip_section(self, p: int, blen: int, big: bool) -> bool:
        """Skip the section whose sound header, whole in the window at p, is of a major
        version other than 1: the spec makes a new major version one that 1.x readers
        cannot read, so none of its blocks is (its interfaces get no number), up to the
        next section header, which the walk then reads, or the end of the file. Reported
        in one warning with the bytes skipped, as a damaged range is. False: the file
        ended inside the section."""
        w = self.window
        at = w.offset_of(p)
        major, minor = self._version(p, big)
        self._new_section(big)
        w.start = p + blen
        found = True
        while True:
            pos, reason, need = (int(v) for v in skip_section(w.buf, w.start, w.end, big, MAX_BLOCK))
            w.start = pos
            if reason == SPECIAL_BLOCK:
                break
            if reason == BAD_RECORD:  # its framing broken: scan on for a valid block
                if not self._scan(pos + 1):
                    found = False
                    break
            elif w.eof:
                w.start, found = w.end, False
                break
            else:
                w.fill(need)
        end = w.offset_of(w.start)
        where = (f"to the next section header at byte offset {end}" if found
                 else f"to {w.data_end}")
        self.problems.append(ReadProblem(
            self.path, at, f"section header block of version {major}.{minor}, a major version "
            f"other than {SHB_MAJOR} (not readable as {SHB_MAJOR}.x): skipped its section, "
            f"{end - at} bytes {where}; the section starts", UNKNOWN_SECTIONS))
        return found

    def _new_section(self, big: bool) -> None:
        self.big = big
        self.sections += 1
        self.interfaces = Interfaces(self.interfaces.first_global + len(self.interfaces))

    def _special(self, btype: int) -> bool:
        """Handle the SHB or IDB at the window's start that the walk handed back; False
        when reading must stop."""
        w = self.window
        p = w.start
        if btype == PCAPNG_SHB:
            if w.available < 12:
                w.fill(12)
                if w.available < 12:
                    self._problem(w.start, f"{w.ending} inside a section header block")
                    return False
                p = w.start
            magic = section_byte_order(w.buf[p + 8 : p + 12].tobytes())
            order = None
            if magic and not (self._first_order and w.offset_of(p) == 0):  # the first's: told
                order = self._order_against_magic(magic, first=False)
                p = w.start
            big, blen, wrong = self._section_header(p, order)
            if not wrong and w.available < blen:
                w.fill(blen)
                p = w.start
                if w.available < blen:  # a damaged length where blocks follow: its type
                    self._new_section(big)  # and byte order say a section starts here
                    return self._resync(p, f"file ends inside a section header block of {blen} "
                                           "bytes; a new section begins there")
                big, blen, wrong = self._section_header(p, order)
            if wrong:
                if big is not None:
                    # its type and byte-order magic say a section starts here, only its
                    # length is damaged: the blocks after it are of this section, with its
                    # byte order and none of the last section's interfaces (their packets
                    # went to the old interface 0 and were read under its link type)
                    self._new_section(big)
                    wrong += "; a new section begins there"
                return self._resync(p, wrong)
            if self._version(p, big)[0] != SHB_MAJOR:
                return self._skip_section(p, blen, big)
            if section_options_overrun(w.buf, p + 24, p + blen - 4, big):
                self._problem(p, f"section header block of {blen} bytes has an option running "
                                 "past its end", DAMAGED_OPTIONS)
            w.take(blen)
            self._new_section(big)
            return True
        # IDB: the walker has checked its length fields, and the window holds it whole:
        # read in place (taken as bytes, a 32 MiB block was copied for its 16-byte head)
        order = "big" if self.big else "little"
        blen = int.from_bytes(w.buf[p + 4 : p + 8].tobytes(), order)
        assert w.available >= blen
        w.start += blen
        buf = w.buf
        if blen < 20:
            self._problem(p, f"interface description block of {blen} bytes is too short; "
                             "its packets are counted as of an unsupported link type",
                          SHORT_INTERFACES)
            self.interfaces.add(0xFFFF, 0, 0, 6, 0)
            return True
        fmt = (">" if self.big else "<") + "HHI"
        linktype, _, snaplen = struct.unpack_from(fmt, buf, p + 8)
        kind, exp, off, fcs, overrun = (int(v) for v in interface_options(
            buf, p + 16, p + blen - 4, self.big))
        if overrun:
            self._problem(p, f"interface description block of {blen} bytes has an option "
                             "running past its end; read the options before it (times in "
                             f"{_time_unit(kind, exp)})", DAMAGED_OPTIONS)
        self.interfaces.add(linktype, snaplen, kind, exp, off, fcs)
        self.ts_digits = max(self.ts_digits, 9 if kind else min(exp, 9))
        return True

    def __iter__(self) -> Iterator[RecordBatch]:
        w = self.window
        number = 1
        need = 0
        refill = not w.paused  # a pipe's bytes in hand, walked before any more are awaited
        cols = None
        #: records walked but not yet handed out, all in the buffer `held`: interface
        #: blocks and damage between packets do not end a batch (a run of IDB, EPB, IDB,
        #: EPB, ... or of garbage and EPB cost one batch, a Parquet row group, each)
        pending: list[tuple[np.ndarray, ...]] = []
        held = w.buf
        #: damaged packet blocks the walk skipped: where the first start, how many, the last
        bad_at = np.empty(self.problems.detail + 1, np.int64)
        #: packet blocks kept whose options run past them: where the first start
        opt_bad_at = np.empty(self.problems.detail + 1, np.int64)
        #: simple packet blocks kept that hold more than their packet: where the first start
        surplus_at = np.empty(self.problems.detail + 1, np.int64)
        state = np.zeros(STATE_SIZE, np.int64)
        if w.buf[w.start : w.start + 4].tobytes() != SHB_MAGIC:
            raise CaptureFormatError(f"{self.path}: pcapng file does not start with a section header")
        while True:
            # refill only when the walker ran out of bytes: a run of section or interface
            # blocks must not move the whole window once per block
            if refill and not w.eof:
                w.fill(need)
            refill, need = False, 0
            ifs = self.interfaces
            cap = max(w.available // 16 + 1, 16)
            if cols is None or cols[0].shape[0] < cap:
                cols = (np.empty(cap, np.int64), np.empty(cap, np.uint32), np.empty(cap, np.uint32),
                        np.empty(cap, np.int64), np.empty(cap, np.uint32), np.empty(cap, np.uint16),
                        np.empty(cap, np.uint8))
            offset, caplen, length, ts_ns, iface, linktype, fcs = cols
            n, pos, reason, extra = walk_pcapng(
                w.buf, w.start, w.end, self.big, ifs.first_global, len(ifs), *ifs.columns(),
                MAX_BLOCK, offset, caplen, length, ts_ns, iface, linktype, fcs, bad_at,
                opt_bad_at, surplus_at, state,
            )
            w.start = pos
            if state[SECTIONS]:  # section headers the walk read: their packets' ids go on
                self.sections += int(state[SECTIONS])
                ifs.first_global += int(state[CLOSED])
            ifs.count = int(state[IF_COUNT])  # with the interface blocks the walk read
            self.ts_digits = max(self.ts_digits, int(state[DIGITS]))
            if state[SKIPPED] or state[BAD_OPTIONS] or state[SURPLUS]:
                self._report_noted(bad_at, opt_bad_at, surplus_at, state)
            if n:
                if pending and held is not w.buf:  # the window moved: theirs is the old one
                    batch = self._batch(held, pending, number)
                    pending, number = [], number + len(batch)
                    yield batch
                held = w.buf
                self._check_times(ts_ns[:n], offset[:n])
                pending.append(tuple(c[:n].copy() for c in (offset, caplen, length, ts_ns,
                                                            linktype, iface, fcs)))
            # hand out what is held when the window is about to move to new bytes or reading
            # ends; past a section or interface block the window holds, or a damaged range
            # (a resync moving the window is no matter: `held` keeps the records' buffer)
            whole = reason == SPECIAL_BLOCK and self._whole_in_window(pos, int(extra))
            hold = reason == BAD_RECORD or whole
            # a pipe's fill paused and the walk stopped short of a whole block: the bytes it
            # needs next (a cut block, a section header's rest, a resync's) wait for the
            # writer, and the records walked go out before that wait, not after it
            starved = w.paused and not whole
            if pending and (not hold or starved or len(pending) >= MAX_PENDING):
                batch = self._batch(held, pending, number, paused=starved)
                pending, number = [], number + len(batch)
                yield batch
            if reason == SPECIAL_BLOCK:
                if extra == PCAPNG_IDB or extra == PCAPNG_SHB:
                    if not self._special(int(extra)):
                        break
                continue
            if reason == BAD_RECORD:  # a block length no block can have
                if not self._resync(pos, self._describe_bad(pos)):
                    break
                continue
            if reason == NEED_MORE:
                if w.eof:
                    if w.available >= 12:  # a length past the end of the file: cut, or damage
                        cut = f"{w.ending} inside a block ({w.available} of {extra} bytes present)"
                        if not self._resync(w.start, f"block length {extra} points past "
                                            f"{w.data_end}", at_end=cut):
                            break
                        continue
                    if w.available:
                        self._problem(w.start, f"{w.ending} inside a block ({w.available} of {extra} bytes present)")
                    break
                need = int(extra)
                refill = True
        if pending:
            yield self._batch(held, pending, number)

    def _batch(self, buf: np.ndarray, pending: list[tuple[np.ndarray, ...]],
               number: int, paused: bool = False) -> RecordBatch:
        """The records walked into `pending`, all in `buf`, as one batch."""
        parts = list(zip(*pending)) if len(pending) > 1 else [[c] for c in pending[0]]
        offset, caplen, length, ts_ns, linktype, iface, fcs = (
            c[0] if len(c) == 1 else np.concatenate(c) for c in parts)
        offset, caplen, length = strip_pseudo_headers(offset, caplen, length, linktype)
        return RecordBatch(buf, offset, caplen, length, ts_ns, linktype, iface, fcs, number,
                           self.file_index, self.path, paused)

    def _check_times(self, ts_ns: np.ndarray, offset: np.ndarray) -> None:
        """Report the records whose time the walk held at +-TS_LIMIT: the packets are
        kept (their bytes are sound), their times are not what the file says."""
        if ts_ns.max() < TS_LIMIT and ts_ns.min() > -TS_LIMIT:
            return
        held = np.flatnonzero(np.abs(ts_ns) >= TS_LIMIT)
        self._problem(int(offset[held[0]]) - 28,  # the packet block's start
                      f"{counted(len(held), 'record')} from here with a time nanoseconds cannot hold "
                      f"(after {TIME_HELD[1]} or before {TIME_HELD[0]}): their times are "
                      "set to that limit", HELD_TIMES)

    def _report_noted(self, bad_at: np.ndarray, opt_bad_at: np.ndarray, surplus_at: np.ndarray,
                      state: np.ndarray) -> None:
        """Report the packet blocks the walk noted: the damaged ones it skipped (their
        lengths agree, so the next block is known; only the content is impossible), those
        kept whose options run past them and the simple packet blocks kept that hold more
        than their packet. The first ones of each kind it noted each as itself, in file
        order, the rest counted. The window still holds them."""
        notes = ((bad_at, SKIPPED, DAMAGED_BLOCKS), (opt_bad_at, BAD_OPTIONS, DAMAGED_OPTIONS),
                 (surplus_at, SURPLUS, SURPLUS_DATA))
        noted = [(pos, kind) for at, k, kind in notes
                 for pos in at[:min(int(state[k]), at.shape[0])].tolist()]
        for pos, kind in sorted(noted):
            if kind == DAMAGED_BLOCKS:
                self._problem(pos, f"{self._describe_content(pos)}; skipped the block", kind)
            elif kind == SURPLUS_DATA:
                self._problem(pos, f"{self._describe_surplus(pos)}; kept its packet", kind)
            else:
                name = "enhanced" if self._field(pos) == PCAPNG_EPB else "obsolete"
                self._problem(pos, f"{name} packet block of {self._field(pos + 4)} bytes has an "
                              "option running past its end; kept its packet", kind)
        # each array holds one more than the log keeps: past it, the log counts them already
        for at, k, kind in notes:
            count = int(state[k])
            self.problems.count_more(kind, count - min(count, at.shape[0]),
                                     self.window.offset_of(int(state[k + 1])))

    def _describe_content(self, pos: int) -> str:
        """What is impossible in the packet block at pos, whose lengths agree."""
        btype, blen = self._field(pos), self._field(pos + 4)
        name = {PCAPNG_EPB: "enhanced packet block", PCAPNG_OPB: "obsolete packet block",
                PCAPNG_SPB: "simple packet block"}.get(btype, f"block of type 0x{btype:08x}")
        count = len(self.interfaces)
        if btype == PCAPNG_SPB:
            if blen < 16:
                why = "is too short"
            elif not count:
                why = "before any interface block"
            else:
                orig, snap = self._field(pos + 8), int(self.interfaces.snaplen[0])
                want = min(orig, snap) if snap else orig
                why = (f"has room for {blen - 16} bytes of data, fewer than its packet's {want} "
                       f"(original length {orig}, interface snaplen {snap or 'none'})")
        elif blen < 32:
            why = "is too short"
        else:
            iface = self._field(pos + 8)
            if btype == PCAPNG_OPB:
                iface = iface >> 16 if self.big else iface & 0xFFFF
            incl = self._field(pos + 20)
            if iface >= count:
                why = f"names interface {iface}, of {count} in its section"
            else:
                why = f"claims {incl} captured bytes, more than its {blen - 32} bytes of data"
        return f"{name} of {blen} bytes {why}"

    def _describe_surplus(self, pos: int) -> str:
        """The simple packet block at pos, which holds more than its packet: the spec makes
        its data min(original length, interface 0's snaplen) bytes and their padding."""
        blen, orig = self._field(pos + 4), self._field(pos + 8)
        snap = int(self.interfaces.snaplen[0])
        want = min(orig, snap) if snap else orig
        return (f"simple packet block of {blen} bytes holds {blen - 16} bytes of data, more "
                f"than its packet's {want} and their padding (original length {orig}, "
                f"interface snaplen {snap or 'none'})")

    def _whole_in_window(self, pos: int, btype: int) -> bool:
        """Whether the section or interface block at pos is whole and sound, so that
        handling it will not move the window (an IDB the walker returns always is)."""
        if btype == PCAPNG_IDB:
            return True
        if btype != PCAPNG_SHB or self.window.end - pos < 12:
            return False
        big, blen, wrong = self._section_header(pos)
        return (not wrong and pos + blen <= self.window.end
                and self._version(pos, big)[0] == SHB_MAJOR)  # another's section is skipped

    def _resync(self, bad: int, what: str, at_end: str = "") -> bool:
        """Scan on from the impossible block at window position `bad`, byte by byte,
        for the next plausible block (see walk.resync_pcapng), reading more as needed.
        True: the window now starts at it and the skipped range is reported. False: there
        is none before the end of the file; reported as `at_end` if given."""
        w = self.window
        bad_offset = w.offset_of(bad)
        w.start = bad
        if self._scan(bad + 1):
            found = w.offset_of(w.start)
            # the window may have moved since: the offset noted before, not _problem(bad)
            self.problems.append(ReadProblem(
                self.path, bad_offset,
                f"{what}; skipped {found - bad_offset} bytes to the next valid block, "
                f"at byte offset {found}; the damage starts", DAMAGED_RANGES,
            ))
            return True
        self.problems.append(ReadProblem(
            self.path, bad_offset, at_end or f"{what}; no valid block after it, stopped reading"))
        return False

    def _scan(self, q: int) -> bool:
        """Move the window to the next plausible block from window position q on (see
        walk.resync_pcapng), reading more as needed. True: the window starts at it.
        False: there is none before the end of the file (the window is emptied)."""
        w = self.window
        while True:
            ifs = self.interfaces
            q, need = resync_pcapng(w.buf, q, w.end, self.big, len(ifs),
                                    int(ifs.snaplen[0]) if len(ifs) else 0, MAX_BLOCK, w.eof)
            need = int(need)
            if need == 0 and w.end - q >= 12:
                w.start = q
                return True
            if need == 0 and w.eof:
                w.start = w.end
                return False
            # read more: keep the bytes from q on (twice the candidate's length, so that a
            # run of candidates does not move the window once each)
            w.start = q
            w.fill(2 * need)
            q = w.start

    def _describe_bad(self, pos: int) -> str:
        return f"impossible pcapng block (type 0x{self._field(pos):08x}, length {self._field(pos + 4)})"
