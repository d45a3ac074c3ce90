"""Compiled record walkers: find the records in a chunk of pcap or pcapng bytes.

Each walker scans from `start` to `end` of the chunk and fills index arrays
(offset, caplen, length, timestamp, interface) for every *complete* record. It
stops, and says why, when the next record is incomplete (the caller reads more),
when a block needs the Python side (a pcapng section header or interface block the
walk cannot read, or one to report), or
when a length field is impossible (the caller reports the byte offset).
Nothing is read outside [start, end).
"""

from __future__ import annotations

import numpy as np

from portannot.compiled import borrow, kernel, njit, prefetch
from portannot.words import be16, be32, le16, le32

NEED_MORE = 0  #: the next record is not wholly in the chunk; `need` says how many bytes it takes
BAD_RECORD = 1  #: a length field is impossible at the returned position
SPECIAL_BLOCK = 2  #: pcapng block the Python side handles (an SHB, an IDB: see walk_pcapng)
FULL = 3  #: output arrays are full

#: the latest time a record may have, in ns since the epoch (2116-02-20), and minus it the
#: earliest (1823-11-12): any two times then differ by at most 2^63 - 2 ns, which an int64
#: holds, so a flow's duration cannot overflow (at 2^62 the two limits were 2^63 apart, one
#: more than int64 holds: the duration wrapped negative, and formatting it crashed). A pcap
#: time always fits (32-bit seconds end in 2106); a pcapng time at it or past it is set to
#: it and reported (pcapng.TIME_HELD).
TS_LIMIT = (1 << 62) - 1
#: the largest if_tsoffset, in seconds, the walk takes as it is; one beyond (in either
#: direction) is held at it, which moves every time past TS_LIMIT just the same
MAX_OFFSET_S = 1 << 62

#: how far past the current record the walk prefetches, bytes
STREAM_AHEAD = 8192

PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_IDB = 0x00000001
PCAPNG_OPB = 0x00000002
PCAPNG_SPB = 0x00000003
PCAPNG_EPB = 0x00000006
PCAPNG_NRB = 0x00000004
PCAPNG_ISB = 0x00000005
PCAPNG_JOURNAL = 0x00000009
PCAPNG_DSB = 0x0000000A
PCAPNG_CUSTOM = 0x00000BAD
PCAPNG_CUSTOM_NOCOPY = 0x40000BAD
BYTE_ORDER_MAGIC = 0x1A2B3C4D
#: the smallest section header block: type, length, magic, version, section length, length
MIN_SHB = 28
#: the only major version read: another is not backward compatible (pcapng spec, 4.1), and
#: its sections are skipped; minor versions are compatible (1.1, 1.2 read as 1.0)
SHB_MAJOR = 1


@njit(cache=True, nogil=True, inline="always")
def _u16(buf, p, big):
    """A 16-bit field in the section's (or file's) byte order."""
    return be16(buf, p) if big else le16(buf, p)


@njit(cache=True, nogil=True, inline="always")
def _u32(buf, p, big):
    return be32(buf, p) if big else le32(buf, p)


@njit(cache=True, nogil=True, forceinline=True)
def _stream_ahead(buf, p, end, ahead):
    """Prefetch the cache lines up to STREAM_AHEAD bytes past p. The next record's
    place is known only once this one is read, so the walk would otherwise wait on
    memory once per record; the file is read in order, so ask for it in order."""
    stop = min(p + STREAM_AHEAD, end)
    ahead = max(ahead, p)
    while ahead < stop:
        prefetch(buf, ahead)
        ahead += 64
    return ahead


#: pcap record headers whose captured and original lengths are the other way round
#: (files before version 2.3, and DG/UX's 543.0): never, always, or when the captured
#: length is the larger (2.3, which some writers used before swapping), as libpcap and
#: tshark read them
LENGTHS_IN_ORDER, LENGTHS_SWAPPED, LENGTHS_MAYBE_SWAPPED = 0, 1, 2


@kernel("UniTuple(i8, 4)(u1[::1], i8, i8, b1, b1, i8, i8, i8, i8[::1], u4[::1], u4[::1], i8[::1])")
def walk_pcap(buf, start, end, big, nano, hdr_len, max_caplen, swapped,
              offset, caplen, length, ts_ns):
    """Index the complete pcap records in buf[start:end]; `swapped` is one of the
    LENGTHS_* above.

    Returns (records found, position after the last one, reason, bytes the next record needs).
    """
    buf = borrow(buf)
    n = 0
    cap = offset.shape[0]
    p = start
    frac_mul = 1 if nano else 1000
    ahead = start
    while True:
        if n >= cap:
            return n, p, FULL, 0
        if end - p < hdr_len:
            return n, p, NEED_MORE, hdr_len
        ahead = _stream_ahead(buf, p, end, ahead)
        sec = _u32(buf, p, big)
        frac = _u32(buf, p + 4, big)
        incl = _u32(buf, p + 8, big)
        orig = _u32(buf, p + 12, big)
        if swapped != LENGTHS_IN_ORDER and (swapped == LENGTHS_SWAPPED or incl > orig):
            incl, orig = orig, incl
        if incl > max_caplen:
            return n, p, BAD_RECORD, 0
        total = hdr_len + np.int64(incl)
        if end - p < total:
            return n, p, NEED_MORE, total
        offset[n] = p + hdr_len
        caplen[n] = incl
        length[n] = orig
        ts_ns[n] = np.int64(sec) * 1_000_000_000 + np.int64(frac) * frac_mul
        n += 1
        p += total


@njit(cache=True, nogil=True, inline="always")
def _pcapng_ts(raw, kind, exp, off_s):
    """Interface timestamp units -> ns since the epoch (kind 0: 10^-exp s, kind 1:
    2^-exp s; exp <= 127, if_tsresol's 7 bits), rounded down, exactly, moved by the
    interface's if_tsoffset (off_s whole seconds), and held within +-TS_LIMIT: a time past it (a
    damaged block, a wrong resolution or offset) is set to the limit, for the reader to
    report, instead of wrapping round the int64 into another century. Ticks too many for
    int64 ns are still moved, in whole seconds (_moved_s): a negative offset can bring
    them back within the limits, or past the earlier one, as tshark adds it."""
    if kind == 0:
        if exp <= 9:
            m = np.uint64(1)
            for _ in range(9 - exp):
                m *= np.uint64(10)
            if raw > np.uint64(TS_LIMIT) // m:
                unit = np.uint64(1_000_000_000) // m  # ticks a second
                return _moved_s(raw // unit, np.int64((raw % unit) * m), off_s)
            return _moved(np.int64(raw * m), off_s)
        if exp > 28:  # 10^(exp - 9) > 2^64 > raw: under a nanosecond
            return _moved(np.int64(0), off_s)
        d = np.uint64(1)
        for _ in range(exp - 9):
            d *= np.uint64(10)
        return _moved(np.int64(raw // d), off_s)
    if exp >= 64:  # 64 bits of ticks span under a second (a shift by 64 is undefined)
        return _moved(_binary_fraction_ns(raw, exp), off_s)
    sh = np.uint64(exp)
    whole = raw >> sh
    part = raw & ((np.uint64(1) << sh) - np.uint64(1))
    if whole > np.uint64(TS_LIMIT // 1_000_000_000):
        return _moved_s(whole, _binary_fraction_ns(part, exp), off_s)
    return _moved(np.int64(whole) * 1_000_000_000 + _binary_fraction_ns(part, exp), off_s)


@njit(cache=True, nogil=True, inline="always")
def _moved(t, off_s):
    """t ns (0 <= t < TS_LIMIT + 10^9) moved by off_s seconds (|off_s| <= MAX_OFFSET_S)
    and held within +-TS_LIMIT. The sum is taken in seconds first: in ns an offset of
    more than about 146 years in either direction, or a time near the limit moved by
    one, would overflow the int64."""
    if off_s == 0:
        return _held(t)
    sec = t // 1_000_000_000 + off_s
    if sec > TS_LIMIT // 1_000_000_000 + 1:
        return np.int64(TS_LIMIT)
    if sec < -(TS_LIMIT // 1_000_000_000) - 1:
        return np.int64(-TS_LIMIT)
    return _held(sec * 1_000_000_000 + t % 1_000_000_000)


@njit(cache=True, nogil=True, inline="always")
def _moved_s(sec, frac_ns, off_s):
    """sec whole seconds (a uint64) and frac_ns (under 10^9), together past TS_LIMIT,
    moved by off_s seconds (|off_s| <= MAX_OFFSET_S) and held within +-TS_LIMIT: for
    ticks whose ns an int64 does not hold. Only a negative offset brings them back;
    seconds further past the limit than any offset moves are held without the sum,
    which could overflow."""
    if off_s >= 0 or sec > np.uint64(TS_LIMIT // 1_000_000_000 + MAX_OFFSET_S + 1):
        return np.int64(TS_LIMIT)
    return _moved(frac_ns, np.int64(sec) + off_s)


@njit(cache=True, nogil=True, inline="always")
def _binary_fraction_ns(part, exp):
    """floor(part * 10^9 / 2^exp) for part < 2^min(exp, 64), exp <= 127, without
    overflow: the product needs up to exp + 30 bits, so from 2^-34 on it is taken in two
    halves of part (an exact floor: shifting a floor right is the floor of the whole).
    From 2^-96 on the result is 0: what is shifted is under 2^62."""
    if exp >= 96:
        return np.int64(0)
    if exp <= 33:
        return np.int64((part * np.uint64(1_000_000_000)) >> np.uint64(exp))
    hi = part >> np.uint64(32)
    lo = part & np.uint64(0xFFFFFFFF)
    upper = hi * np.uint64(1_000_000_000) + ((lo * np.uint64(1_000_000_000)) >> np.uint64(32))
    return np.int64(upper >> np.uint64(exp - 32))


@njit(cache=True, nogil=True, inline="always")
def _held(ns):
    """ns within +-TS_LIMIT."""
    if ns > TS_LIMIT:
        return np.int64(TS_LIMIT)
    if ns < -TS_LIMIT:
        return np.int64(-TS_LIMIT)
    return ns


#: walk_pcapng's `state`: [SKIPPED] the packet blocks skipped, [BAD_OPTIONS] those kept
#: whose options run past them and [SURPLUS] the simple packet blocks kept that hold more
#: than their packet ([k] how many, [k + 1] where the last starts); when it returns,
#: [IF_COUNT] the section's interfaces, [SECTIONS] the section headers it read, [CLOSED]
#: the interfaces of the sections they ended, [DIGITS] the most fraction digits the
#: times of an interface it added need (a section it ended keeps none of them)
SKIPPED, BAD_OPTIONS, IF_COUNT, SECTIONS, CLOSED, DIGITS, SURPLUS = 0, 2, 4, 5, 6, 7, 8
STATE_SIZE = 10


@njit(cache=True, nogil=True, inline="always")
def _note(p, at, counts, k):
    """Note the block at p: in `at` while it has room, counted in counts[k], the last
    in counts[k + 1] (see walk_pcapng's `state`)."""
    n = counts[k]
    if n < at.shape[0]:
        at[n] = p
    counts[k] = n + 1
    counts[k + 1] = p


@njit(cache=True, nogil=True, inline="always")
def options_overrun(buf, q, end, big):
    """Whether the options from q to end (4-byte aligned) hold one whose length runs
    past end, before an end-of-options: wiretap calls the file damaged there ("Not
    enough data to handle option of length ...") and stops reading it."""
    while end - q >= 4:
        if _u16(buf, q, big) == 0:
            return False
        q += 4 + ((_u16(buf, q + 2, big) + 3) & ~3)
    return q > end


@kernel("i8(u1[::1], i8, i8, b1, u2[::1], i8[::1], i8[::1])")
def find_options(buf, q, end, big, codes, sizes, found):
    """The options from q to end (4-byte aligned), up to an end-of-options: found[k] is
    where the value of the first option of code codes[k] and of sizes[k] bytes starts,
    -1 if there is none (wiretap's reading: an option of another size is ignored, and of
    one given twice the first counts). Returns 1 if an option runs past end (the file
    damaged, as options_overrun says; the options before it are found), else 0.

    Section and interface blocks are rare, but nothing bounds their option lists short
    of the block: one 32 MiB list of empty options, read as Python tuples, took 4.8 s
    and 760 MB."""
    return _find_options(borrow(buf), q, end, big, codes, sizes, found)


@njit(cache=True, nogil=True)
def _find_options(buf, q, end, big, codes, sizes, found):
    found[:] = -1
    while end - q >= 4:
        code = _u16(buf, q, big)
        if code == 0:
            return 0
        olen = _u16(buf, q + 2, big)
        if q + 4 + olen > end:
            return 1
        for k in range(codes.shape[0]):
            if code == codes[k] and olen == sizes[k] and found[k] < 0:
                found[k] = q + 4
        q += 4 + ((olen + 3) & ~3)
    return 0


#: the interface options read, and the bytes each must have to count
OPT_IF_TSRESOL, IF_TSRESOL_BYTES = 9, 1
OPT_IF_TSOFFSET, IF_TSOFFSET_BYTES = 14, 8
OPT_IF_FCSLEN, IF_FCSLEN_BYTES = 13, 1
#: a packet block's flags (epb_flags; an obsolete packet block's pack_flags): bits 5-8
#: the FCS length in bytes, which overrides the interface's if_fcslen where it is not 0
OPT_PACKET_FLAGS, PACKET_FLAGS_BYTES = 2, 4
FLAGS_FCS_SHIFT, FLAGS_FCS_MASK = 5, 0xF
#: the one link type whose FCS length wiretap hands on (to Ethernet's pseudo-header), in
#: the pcap header (pcap.fcs_length) and a pcapng interface's if_fcslen or packet flags alike;
#: the capture stage's own name for decode.link.dispatch's, which it does not import
LINKTYPE_ETHERNET = 1


@kernel("UniTuple(i8, 5)(u1[::1], i8, i8, b1)")
def interface_options(buf, q, end, big):
    """(ts kind, ts exponent, ts offset s, FCS bytes, 1 if an option ran past the block)
    from the options of an interface block, buf[q:end], as wiretap reads them: the time
    unit defaults to microseconds (kind 0: 10^-exp s, 1: 2^-exp s), an option of the
    wrong size is ignored, and of one given twice the first counts. An offset beyond
    +-MAX_OFFSET_S is held there (every time it moves is past what the walk holds
    either way: held at the limit and reported). The FCS bytes are if_fcslen's as
    wiretap takes them (fcs_bytes), 0 without it."""
    found = np.empty(3, np.int64)
    return _interface_options(borrow(buf), q, end, big, _idb_codes(), _idb_sizes(), found)


@njit(cache=True, nogil=True, inline="always")
def _idb_codes():
    return np.array([OPT_IF_TSRESOL, OPT_IF_TSOFFSET, OPT_IF_FCSLEN], np.uint16)


@njit(cache=True, nogil=True, inline="always")
def _idb_sizes():
    return np.array([IF_TSRESOL_BYTES, IF_TSOFFSET_BYTES, IF_FCSLEN_BYTES], np.int64)


@njit(cache=True, nogil=True, inline="always")
def _packet_options(buf, q, end, big):
    """(1 if an option runs past end (options_overrun), the FCS length in bytes its
    first 4-byte flags option names (0: none)) of a packet block's options buf[q:end]:
    one pass, with no arrays, as every packet block with options takes it."""
    fcs = -1
    while end - q >= 4:
        code = _u16(buf, q, big)
        if code == 0:
            break
        olen = _u16(buf, q + 2, big)
        if q + 4 + olen > end:
            return 1, max(fcs, 0)
        if code == OPT_PACKET_FLAGS and olen == PACKET_FLAGS_BYTES and fcs < 0:
            fcs = (_u32(buf, q + 4, big) >> FLAGS_FCS_SHIFT) & FLAGS_FCS_MASK
        q += 4 + ((olen + 3) & ~3)
    return 0, max(fcs, 0)


@njit(cache=True, nogil=True, inline="always")
def fcs_bytes(value):
    """An FCS length as wiretap passes it to Ethernet's pseudo-header: in bits, except
    that a value under 8 is taken as bytes (so an if_fcslen of 4, in bytes as the spec
    has it, is 4 bytes, and one of 32 is 4 bytes too; tshark 4.0 shows both so)."""
    return value if value < 8 else value // 8


@njit(cache=True, nogil=True)
def _interface_options(buf, q, end, big, codes, sizes, found):
    overrun = _find_options(buf, q, end, big, codes, sizes, found)
    kind, exp, off = 0, 6, 0
    if found[0] >= 0:
        value = np.int64(buf[found[0]])
        if value & 0x80:
            kind, exp = 1, value & 0x7F
        else:
            kind, exp = 0, value
    if found[1] >= 0:
        o = found[1]
        if big:
            raw = (np.uint64(be32(buf, o)) << np.uint64(32)) | np.uint64(be32(buf, o + 4))
        else:
            raw = (np.uint64(le32(buf, o + 4)) << np.uint64(32)) | np.uint64(le32(buf, o))
        off = min(max(np.int64(raw), -MAX_OFFSET_S), MAX_OFFSET_S)
    fcs = fcs_bytes(np.int64(buf[found[2]])) if found[2] >= 0 else 0
    return np.int64(kind), np.int64(exp), np.int64(off), np.int64(fcs), np.int64(overrun)


@kernel(
    "UniTuple(i8, 4)("
    "u1[::1], i8, i8, b1, i8, i8, u2[::1], u4[::1], i8[::1], i8[::1], i8[::1], i8[::1], i8, "
    "i8[::1], u4[::1], u4[::1], i8[::1], u4[::1], u2[::1], u1[::1], i8[::1], i8[::1], i8[::1], "
    "i8[::1])"
)
def walk_pcapng(buf, start, end, big, first_global, if_count, if_linktype, if_snaplen,
                if_ts_kind, if_ts_exp, if_ts_off, if_fcs, max_block, offset, caplen, length,
                ts_ns, interface, linktype, fcs, bad_at, opt_bad_at, surplus_at, state):
    """Index the packet blocks (EPB, SPB, OPB) in buf[start:end]; skip blocks nobody needs.

    The section's interfaces are if_linktype[:if_count] and the rest of the if_ arrays,
    numbered in the file from first_global on; an interface block adds one at if_count
    while the arrays have room, and state[IF_COUNT] says how many there are when the
    walk returns. A section header read here starts the arrays again at 0, the file's
    numbering going on (state[SECTIONS], [CLOSED]); each packet gets its interface's
    number in the file and link type, and the FCS bytes its Ethernet frame ends with
    (`fcs`: its interface's if_fcslen, or its own flags' FCS length where that is not 0,
    as wiretap reads them; 0 for any other link type). A block the Python side must see is handed back:
    an interface with no room left, too short to hold a link type or with an option
    running past it; a section header of the other byte order, not wholly in the
    window, or with something wrong; either kind after a packet block skipped (its
    report names the interfaces there were). Handed back one by one, interface blocks cost
    8 us each and section headers 15 us (500,000 interfaces in one section: 4.1 s,
    0.23 s read here; both times the command's whole run).

    A packet block whose two lengths agree but whose content is impossible (an interface
    the section has not described, a captured length past the block) is skipped here,
    not handed back one by one: state[SKIPPED] gets how many and state[SKIPPED + 1]
    where the last starts, `bad_at` where the first of them start, as many as it holds.
    A packet block whose options run past its end keeps its packet (the bytes are
    where the lengths say) and is noted the same way: state[BAD_OPTIONS], `opt_bad_at`;
    so is a simple packet block holding more than its packet and its padding (the spec
    makes its data exactly that long; tshark calls it damaged): state[SURPLUS],
    `surplus_at`.

    Returns (records found, position, reason, bytes needed or block type).
    """
    buf = borrow(buf)
    n = 0
    cap = offset.shape[0]
    p = start
    ahead = start
    state[SKIPPED] = 0
    state[BAD_OPTIONS] = 0
    state[SURPLUS] = 0
    state[IF_COUNT] = if_count
    state[SECTIONS] = 0
    state[CLOSED] = 0
    state[DIGITS] = 0
    codes, sizes, found = _idb_codes(), _idb_sizes(), np.empty(3, np.int64)
    while True:
        if n >= cap:
            return n, p, FULL, 0
        if end - p < 12:
            return n, p, NEED_MORE, 12
        ahead = _stream_ahead(buf, p, end, ahead)
        btype = _u32(buf, p, big)
        if btype == PCAPNG_SHB:
            # one of the other byte order goes back too: with `big` fixed for the whole
            # walk the compiler keeps a loop per order (mixed-1m as pcapng, the reader
            # alone: 0.075 s; 0.077-0.078 s when a section header could change it here)
            blen = _section_header(buf, p, end, max_block, big) if state[SKIPPED] == 0 else 0
            if blen == 0:
                return n, p, SPECIAL_BLOCK, np.int64(btype)
            state[SECTIONS] += 1
            state[CLOSED] += if_count
            first_global += if_count
            if_count = 0
            state[IF_COUNT] = 0
            p += blen
            continue
        blen = _u32(buf, p + 4, big)
        if blen < 12 or blen % 4 != 0 or blen > max_block:
            return n, p, BAD_RECORD, 0
        if end - p < blen:
            return n, p, NEED_MORE, np.int64(blen)
        if _u32(buf, p + blen - 4, big) != blen:
            return n, p, BAD_RECORD, 0
        if btype == PCAPNG_IDB:
            if blen < 20 or if_count == if_linktype.shape[0] or state[SKIPPED]:
                return n, p, SPECIAL_BLOCK, np.int64(btype)
            kind, exp, off, if_fcs_len, overrun = _interface_options(
                buf, p + 16, p + blen - 4, big, codes, sizes, found)
            if overrun:
                return n, p, SPECIAL_BLOCK, np.int64(btype)
            if_linktype[if_count] = _u16(buf, p + 8, big)
            if_snaplen[if_count] = _u32(buf, p + 12, big)
            if_ts_kind[if_count] = kind
            if_ts_exp[if_count] = exp
            if_ts_off[if_count] = off
            # only an Ethernet interface's frames end with an FCS wiretap takes off
            if_fcs[if_count] = if_fcs_len if if_linktype[if_count] == LINKTYPE_ETHERNET else 0
            if_count += 1
            state[IF_COUNT] = if_count
            state[DIGITS] = max(state[DIGITS], 9 if kind else min(exp, 9))
        elif btype == PCAPNG_EPB or btype == PCAPNG_OPB:
            if blen < 32:
                _note(p, bad_at, state, SKIPPED)
                p += blen
                continue
            if btype == PCAPNG_EPB:
                iface = _u32(buf, p + 8, big)
            else:
                iface = _u16(buf, p + 8, big)
            incl = _u32(buf, p + 20, big)
            if iface >= if_count or incl > blen - 32:
                _note(p, bad_at, state, SKIPPED)
                p += blen
                continue
            fcs_len = if_fcs[iface]
            if blen - 32 > ((incl + 3) & ~3):  # options: their flags may name an FCS
                overrun, given = _packet_options(buf, p + 28 + ((incl + 3) & ~3),
                                                 p + blen - 4, big)
                if overrun:
                    _note(p, opt_bad_at, state, BAD_OPTIONS)
                if given and if_linktype[iface] == LINKTYPE_ETHERNET:
                    fcs_len = given
            raw = (np.uint64(_u32(buf, p + 12, big)) << np.uint64(32)) | np.uint64(_u32(buf, p + 16, big))
            offset[n] = p + 28
            caplen[n] = incl
            length[n] = _u32(buf, p + 24, big)
            ts_ns[n] = _pcapng_ts(raw, if_ts_kind[iface], if_ts_exp[iface], if_ts_off[iface])
            interface[n] = first_global + iface
            linktype[n] = if_linktype[iface]
            fcs[n] = fcs_len
            n += 1
        elif btype == PCAPNG_SPB:
            if blen < 16 or if_count == 0:
                _note(p, bad_at, state, SKIPPED)
                p += blen
                continue
            orig = _u32(buf, p + 8, big)
            incl = orig
            if if_snaplen[0] != 0 and incl > if_snaplen[0]:
                incl = if_snaplen[0]
            if incl > blen - 16:
                # no room for what its length and the snaplen say it holds (as tshark:
                # damaged): cut to the block, its padding would be read as packet bytes
                _note(p, bad_at, state, SKIPPED)
                p += blen
                continue
            if blen - 16 > ((incl + 3) & ~3):  # more than its packet: kept, reported
                _note(p, surplus_at, state, SURPLUS)
            offset[n] = p + 12
            caplen[n] = incl
            length[n] = orig
            ts_ns[n] = 0
            interface[n] = first_global
            linktype[n] = if_linktype[0]
            fcs[n] = if_fcs[0]
            n += 1
        p += blen


@njit(cache=True, nogil=True)
def _section_header(buf, p, end, max_block, big):
    """The length of the sound section header block at p, of byte order `big`, wholly in
    buf[:end] (its byte-order magic, a possible length repeated at its end, no option
    running past it: pcapng.PcapngReader._section_header's checks) and of major version
    1; 0 if it is not that (a section of another major version is skipped, in Python)."""
    if _u32(buf, p + 8, big) != BYTE_ORDER_MAGIC or _u16(buf, p + 12, big) != SHB_MAJOR:
        return 0
    blen = _u32(buf, p + 4, big)
    if blen < MIN_SHB or blen % 4 != 0 or blen > max_block or end - p < blen:
        return 0
    if _u32(buf, p + blen - 4, big) != blen or options_overrun(buf, p + 24, p + blen - 4, big):
        return 0
    return np.int64(blen)


@kernel("UniTuple(i8, 3)(u1[::1], i8, i8, b1, i8)")
def skip_section(buf, start, end, big, max_block):
    """Pass over the blocks of a section that is not read (another major version), from
    `start`, by their lengths alone, none of their content read: compiled, as a section
    may hold millions of blocks.

    Returns (position, reason, bytes needed): reason SPECIAL_BLOCK, a section header
    starts at position; NEED_MORE, the block there is not wholly in [start, end) and needs
    that many bytes; BAD_RECORD, its lengths are impossible or disagree (the caller scans
    on for a valid block). Reads only [start, end)."""
    buf = borrow(buf)
    p = start
    while True:
        if end - p < 12:
            return p, NEED_MORE, np.int64(12)
        if _u32(buf, p, big) == PCAPNG_SHB:  # the same bytes in either order
            return p, SPECIAL_BLOCK, np.int64(0)
        blen = _u32(buf, p + 4, big)
        if blen < 12 or blen % 4 != 0 or blen > max_block:
            return p, BAD_RECORD, np.int64(0)
        if end - p < blen:
            return p, NEED_MORE, np.int64(blen)
        if _u32(buf, p + blen - 4, big) != blen:
            return p, BAD_RECORD, np.int64(0)
        p += blen


@njit(cache=True, nogil=True, inline="always")
def _known_block(btype):
    return (btype == PCAPNG_IDB or btype == PCAPNG_OPB or btype == PCAPNG_SPB
            or btype == PCAPNG_NRB or btype == PCAPNG_ISB or btype == PCAPNG_EPB
            or btype == PCAPNG_JOURNAL or btype == PCAPNG_DSB or btype == PCAPNG_CUSTOM
            or btype == PCAPNG_CUSTOM_NOCOPY)


@kernel("UniTuple(i8, 2)(u1[::1], i8, i8, b1, i8, i8, i8, b1)")
def resync_pcapng(buf, start, end, big, if_count, snaplen0, max_block, at_eof):
    """After an impossible block: the first position from `start`, byte by byte, where a
    plausible block begins (a known type, a possible length, the same length repeated at
    its end; a section header also needs its byte-order magic, a packet block an existing
    interface and a captured length that fits: for a simple packet block, the one its
    original length and interface 0's snaplen, `snaplen0`, give, as walk_pcapng takes it).

    Returns (position, need): need 0 and at least 12 bytes from position: a block starts
    there; need 0 and fewer than 12 bytes left: none in this chunk (read more and call
    again from position); need > 0: the candidate at position runs past `end` and needs
    `need` bytes to be checked. Reads only [start, end).

    Byte by byte, not in the 4-byte steps blocks keep among themselves: damage that drops
    or adds a byte or two (a copy that lost bytes, a stray write) shifts every block
    after it off that step, and they are whole all the same.

    `at_eof`: `end` is the end of the file, so a candidate running past it is no block and
    the scan goes on here. Returned to Python one by one, the candidates of a damaged
    file's last 32 MiB (each pair of words `06 00 00 00`, a length) took 3 s.
    """
    q = start
    while end - q >= 12:
        btype = _u32(buf, q, big)
        order = big
        if btype == PCAPNG_SHB:  # its own byte order (pcapng.PcapngReader._section_header)
            if _u32(buf, q + 8, True) == BYTE_ORDER_MAGIC:
                order = True
            elif _u32(buf, q + 8, False) == BYTE_ORDER_MAGIC:
                order = False
            else:
                q += 1
                continue
        elif not _known_block(btype):
            q += 1
            continue
        blen = _u32(buf, q + 4, order)
        if blen < 12 or blen % 4 != 0 or blen > max_block or (btype == PCAPNG_SHB and blen < MIN_SHB):
            q += 1
            continue
        if end - q < blen:
            if at_eof:
                q += 1
                continue
            return q, np.int64(blen)
        if _u32(buf, q + blen - 4, order) != blen:
            q += 1
            continue
        ok = True
        if btype == PCAPNG_EPB or btype == PCAPNG_OPB:
            if blen < 32:
                ok = False
            else:
                iface = _u32(buf, q + 8, big) if btype == PCAPNG_EPB else _u16(buf, q + 8, big)
                ok = iface < if_count and _u32(buf, q + 20, big) <= blen - 32
        elif btype == PCAPNG_SPB:
            ok = blen >= 16 and if_count > 0
            if ok:
                incl = np.int64(_u32(buf, q + 8, big))
                if snaplen0 != 0 and incl > snaplen0:
                    incl = snaplen0
                ok = incl <= blen - 16
        elif btype == PCAPNG_IDB:
            ok = blen >= 20
        if ok:
            return q, np.int64(0)
        q += 1
    return q, np.int64(0)
