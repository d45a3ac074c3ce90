"""FlowTable: the live flows of one command, fed batch by batch."""

from __future__ import annotations

import mmap
from collections.abc import Iterator

import numpy as np

from portannot.aggregate import kernel as K
from portannot.column_check import Columns, check_columns
from portannot.decode.columns import PacketBatch
from portannot.timeouts import Timeout, timeout_ns
from portannot.words import hash_key

INITIAL_SLOTS = 1 << 16  # index slots; rows start at half that
#: from this size on, the table's arrays are mapped in small pages (see table_array)
SMALL_PAGES_FROM = 4 << 20


def table_array(shape: int | tuple[int, ...], dtype: type) -> np.ndarray:
    """An uninitialised array for the flow table's rows or index, in 4 KiB pages.

    numpy asks the kernel for transparent huge pages on every array of 4 MiB or more,
    and the kernel then zeroes a fresh 2 MiB page on first touch. On a VM that cost
    swings from run to run with how the host backs the memory: portannot.flows() on
    flows-1m (a million flows, the table doubling to 128 MiB of rows) took 0.33 to
    1.28 s with huge pages on a 2-core Xeon VM, 40 % of it in the kernel's page
    clearing, and a steady 0.41-0.44 s without. The table's growth copies and hash
    probes touch these pages first, so they are mapped here with huge pages refused
    (MADV_NOHUGEPAGE); every other array keeps numpy's choice."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if nbytes < SMALL_PAGES_FROM or not hasattr(mmap, "MADV_NOHUGEPAGE"):
        return np.empty(shape, dtype)
    pages = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE)  # anonymous memory, not shared
    pages.madvise(mmap.MADV_NOHUGEPAGE)
    return np.frombuffer(pages, dtype).reshape(shape)


def mapping_of(array: np.ndarray) -> mmap.mmap | None:
    """The anonymous mapping under a table_array, None for a numpy allocation."""
    base = array.base
    while isinstance(base, np.ndarray):
        base = base.base
    owner = base.obj if isinstance(base, memoryview) else base
    return owner if isinstance(owner, mmap.mmap) else None


def _empty_index(slots: int) -> np.ndarray:
    """An index of `slots` slots, every one empty."""
    index = table_array(slots, np.uint64)
    index.fill(K.EMPTY)
    return index


def _copied(rows: np.ndarray) -> np.ndarray:
    """A copy of table rows, in pages as table_array gives them."""
    out = table_array(rows.shape, rows.dtype.type)
    out[...] = rows
    return out


class RawFlows:
    """Flows as the kernel keeps them, one 16-word row each (see kernel.py): canonical
    ends, per-direction counters. The named fields are views of the rows."""

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    @property
    def keys(self) -> np.ndarray:
        """uint64 (n, 5): lower address words, higher address words, version|transport|ports."""
        return self.rows[:, K.W_A0:K.W_TP + 1]

    @property
    def counts(self) -> np.ndarray:
        """uint64 (n, 4): packets 0, packets 1, bytes 0, bytes 1."""
        return self.rows[:, K.W_PK0:K.W_BY1 + 1]

    @property
    def times(self) -> np.ndarray:
        """int64 (n, 2): first and last timestamp, ns."""
        return self.rows[:, K.W_FIRST:K.W_LAST + 1].view(np.int64)

    @property
    def seq(self) -> np.ndarray:
        """int64 (n,): creation order, the flow id minus one."""
        return self.rows[:, K.W_SEQ].view(np.int64)

    @property
    def small(self) -> np.ndarray:
        """int32 (n, N_SMALL): flags, VLAN, direction evidence, IP version."""
        return _small(self.rows)

    @classmethod
    def allocate(cls, n: int) -> RawFlows:
        return cls(np.empty((n, K.ROW_WORDS), np.uint64))

    def head(self, n: int) -> RawFlows:
        return RawFlows(self.rows[:n])

    def pieces(self, size: int) -> Iterator[RawFlows]:
        """Consecutive slices of at most `size` flows (views, no copy)."""
        for start in range(0, len(self), size):
            yield RawFlows(self.rows[start:start + size])

    @staticmethod
    def concat(parts: list[RawFlows]) -> RawFlows:
        parts = [p for p in parts if len(p)]
        if not parts:
            return RawFlows.allocate(0)
        return RawFlows(np.concatenate([p.rows for p in parts]))


def _small(rows: np.ndarray) -> np.ndarray:
    return rows[:, K.W_SMALL:].view(np.int32)


#: the PacketBatch columns the kernel reads, with their documented types and row shape;
#: `number` too, whose length is len(batch), the rows update allocates for ended flows
PACKET_COLUMNS = Columns(
    "PacketBatch",
    (("number", np.int64, ()), ("src_addr", np.uint8, (16,)), ("dst_addr", np.uint8, (16,)),
     ("transport", np.uint8, ()), ("src_port", np.uint16, ()), ("dst_port", np.uint16, ()), ("tcp_flags", np.uint16, ()),
     ("tcp_seq", np.uint32, ()), ("length", np.uint32, ()), ("ts_ns", np.int64, ()),
     ("vlan", np.uint16, ()), ("ip_version", np.uint8, ()), ("status", np.uint8, ())),
    rows="{n} packets")


def check_packets(batch: PacketBatch) -> None:
    """A TypeError or ValueError for a PacketBatch the kernel would misread. It reads
    each column up to `status`'s length and writes the flows it ends into rows sized by
    len(batch), unchecked: a longer status corrupted the heap (an abort), a shorter column
    was read past its end, and a column of another type was numba's error naming an
    argument number. The decoder's batches always pass; the cost is a few shape
    comparisons a batch. The column whose length differs from most is the one named."""
    check_columns(PACKET_COLUMNS, batch)


def _check_slots(slots: int) -> None:
    """A ValueError unless `slots` is a power of two of at least 2. The kernel probes
    the index with ``hash & (slots - 1)``, which reaches every slot only then: 3 or 100
    slots left the first update looking for a free slot for ever, and 0 crashed."""
    if not isinstance(slots, int) or slots < 2 or slots & (slots - 1):
        raise ValueError(f"slots must be a power of two, at least 2, not {slots!r}")


def _own(flows: RawFlows) -> RawFlows:
    """The flows in rows of their own where they fill less than half the allocation they
    view. update allocates a row per packet of the batch for the flows it may end (128
    bytes each), and a view of a few of them kept that whole allocation alive: README's
    loop, which keeps every update's RawFlows to the end, held 128 bytes of address
    space per packet read (100 updates of 20,000 packets: 609 MB of VmSize, 361 MB with
    the copy), mostly untouched and so not resident, but counted by ulimit -v."""
    base = flows.rows.base
    if isinstance(base, np.ndarray) and 2 * flows.rows.nbytes < base.nbytes:
        return RawFlows(flows.rows.copy())
    return flows


class FlowTable:
    """Aggregates PacketBatches into flows. `update` returns the flows that ended
    in that batch (only with timeouts, or a TCP flow whose ends opened a new connection);
    `drain` returns the rest, in creation order. Timeouts are in seconds (or
    timedeltas), checked by check_timeout; None is none. `slots`, the index's first
    size (it doubles as flows come), is a power of two."""

    def __init__(self, idle_timeout: Timeout = None, active_timeout: Timeout = None,
                 slots: int = INITIAL_SLOTS) -> None:
        _check_slots(slots)
        self.idle_ns = timeout_ns(idle_timeout, "idle_timeout")
        self.active_ns = timeout_ns(active_timeout, "active_timeout")
        #: capture time between sweeps (see update): the shorter timeout, 0 for none
        self.sweep_ns = min((t for t in (self.idle_ns, self.active_ns) if t), default=0)
        self.initial_slots = slots
        self.state = np.array([0, 0, K.CLOCK_UNSET, hash_key()], np.int64)  # kernel.ST_*
        self._reindex(slots, table_array((slots // 2, K.ROW_WORDS), np.uint64), 0)
        self.last_sweep_ns: int | None = None

    def _reindex(self, slots: int, rows: np.ndarray, n: int) -> None:
        """Hold rows[:n] under a fresh index of `slots` slots."""
        self.rows = rows
        self.state[K.ST_ROWS] = n
        self.index = _empty_index(slots)
        if n:
            K.build_index(rows, n, self.index, int(self.state[K.ST_KEY]))

    def __len__(self) -> int:
        return int(self.state[K.ST_ROWS])

    @property
    def slots(self) -> int:
        """Index slots now allocated (twice the flows it can hold)."""
        return int(self.index.shape[0])

    @property
    def flows_started(self) -> int:
        return int(self.state[K.ST_SEQ])

    def _grow(self) -> None:
        n = len(self)
        if n >= self.rows.shape[0]:
            self._double_rows(n)
        if n >= self.index.shape[0] // 2:
            index = _empty_index(self.index.shape[0] * 2)
            K.widen_index(self.index, index)
            self.index = index

    def _double_rows(self, n: int) -> None:
        """Twice the rows, the first n kept. A mapped row array grows in place
        (mremap moves its pages, nothing is copied) when no view of it is held
        elsewhere: flows-1m's five doublings copied 124 MiB into 248 MiB of fresh
        pages, which the kernel zeroes first; in place, only the new halves are fresh,
        and the old rows are not held twice at the peak (the growth took 0.12 s, now
        0.04-0.05 s; the CLI 0.81 -> 0.74 s). Otherwise the rows are copied."""
        size = self.rows.shape[0] * 2
        pages = mapping_of(self.rows)
        if pages is not None:
            del self.rows  # the table's own view: mremap refuses while any exists
            try:
                pages.resize(size * K.ROW_WORDS * 8)
            except (BufferError, OSError, SystemError, TypeError, ValueError):
                pass  # a view of it held elsewhere, or no mremap on this system: copied below
            self.rows = np.frombuffer(pages, np.uint64).reshape(-1, K.ROW_WORDS)
            if self.rows.shape[0] == size:
                return
        rows = table_array((size, K.ROW_WORDS), np.uint64)
        rows[:n] = self.rows[:n]
        self.rows = rows

    def update(self, batch: PacketBatch) -> RawFlows:
        """The flows this batch ends (see the class). A batch a caller built is checked
        first (check_packets): the compiled kernel trusts its arrays."""
        check_packets(batch)
        n = len(batch)
        ended = RawFlows.allocate(n)
        src = batch.src_addr.view(np.uint64)
        dst = batch.dst_addr.view(np.uint64)
        out: list[RawFlows] = []
        start, e, mark = 0, 0, 0
        while True:
            start, reason, e = K.aggregate(
                self.index, self.rows, _small(self.rows), self.state,
                src, dst, batch.transport, batch.src_port, batch.dst_port, batch.tcp_flags,
                batch.tcp_seq, batch.length, batch.ts_ns, batch.vlan, batch.ip_version, batch.status,
                start, self.idle_ns, self.active_ns, ended.rows, e,
            )
            if reason == K.DONE:
                break
            if self.sweep_ns:
                # Full: first hand out what the clock has ended. Growing instead kept
                # flows no packet would ever extend: after one packet stamped in the
                # future, every flow seen later is over by the clock at once, and the
                # periodic sweep below waits for the clock to move again.
                out += [RawFlows(ended.rows[mark:e]), self._sweep(int(self.state[K.ST_CLOCK]))]
                mark = e
                if len(self) < self.index.shape[0] // 4:
                    continue
            self._grow()
        out.append(RawFlows(ended.rows[mark:e]))
        if self.sweep_ns and n:
            # Sweep once per timeout period of capture time (the shorter of the two), at
            # the end of a batch: no flow stays in memory past the batch in which the clock
            # passes its end by twice its timeout, whatever the mix of long and one-packet
            # flows, and a flow ended by the active timeout comes out as the
            # clock passes it, as an idle one does, not at the end of the read. The
            # capture clock decides, as it does packet by packet in the kernel, so a flow
            # swept here is one its next packet would have ended anyway.
            now = int(self.state[K.ST_CLOCK])
            if self.last_sweep_ns is None:
                self.last_sweep_ns = int(batch.ts_ns.min())
            if now - self.last_sweep_ns >= self.sweep_ns:
                out.append(self._sweep(now))
        return _own(RawFlows.concat(out) if len(out) > 1 else out[0])

    def _sweep(self, now: int) -> RawFlows:
        """Hand out flows ended by a timeout, so memory follows the live flows only."""
        self.last_sweep_ns = now
        n = len(self)
        ended = RawFlows.allocate(n)
        kept, e = K.evict_ended(self.rows, n, now, self.idle_ns, self.active_ns, ended.rows)
        if e:
            slots = self.index.shape[0]
            while slots > self.initial_slots and kept * 8 < slots:
                slots //= 2
            rows = self.rows
            if rows.shape[0] > slots // 2:
                rows = _copied(rows[:slots // 2])
            self._reindex(slots, rows, kept)
        return ended.head(e)

    def drain(self) -> RawFlows:
        """Every live flow, in creation order; the table starts over empty."""
        n = len(self)
        rows = self.rows[:n]
        seq = rows[:, K.W_SEQ].view(np.int64)
        if n > 1 and np.any(seq[1:] < seq[:-1]):
            rows = np.take(rows, np.argsort(seq, kind="stable"), axis=0,
                           out=table_array(rows.shape, np.uint64))
        elif n < self.rows.shape[0] // 2:
            rows = _copied(rows)  # do not pin the whole row array
        slots = self.initial_slots
        self._reindex(slots, table_array((slots // 2, K.ROW_WORDS), np.uint64), 0)
        return RawFlows(rows)
