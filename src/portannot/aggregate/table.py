"""FlowTable: the live flows of one command, fed batch by batch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portannot.aggregate import kernel as K
from portannot.decode.columns import PacketBatch

INITIAL_SLOTS = 1 << 16


@dataclass
class RawFlows:
    """Flows as the kernel keeps them: canonical ends, per-direction counters."""

    keys: np.ndarray  #: uint64 (n, 5)
    counts: np.ndarray  #: uint64 (n, 4)
    times: np.ndarray  #: int64 (n, 2)
    small: np.ndarray  #: int32 (n, N_SMALL)
    seq: np.ndarray  #: int64 (n,), creation order: the flow id minus one

    def __len__(self) -> int:
        return int(self.seq.shape[0])

    @classmethod
    def allocate(cls, n: int) -> RawFlows:
        return cls(
            np.empty((n, 5), np.uint64), np.empty((n, 4), np.uint64),
            np.empty((n, 2), np.int64), np.zeros((n, K.N_SMALL), np.int32), np.empty(n, np.int64),
        )

    def head(self, n: int) -> RawFlows:
        return RawFlows(self.keys[:n], self.counts[:n], self.times[:n], self.small[:n], self.seq[:n])

    @staticmethod
    def concat(parts: list[RawFlows]) -> RawFlows:
        parts = [p for p in parts if len(p)]
        if not parts:
            return RawFlows.allocate(0)
        return RawFlows(*(np.concatenate([getattr(p, f) for p in parts])
                          for f in ("keys", "counts", "times", "small", "seq")))


class FlowTable:
    """Aggregates PacketBatches into flows. `update` returns the flows that ended
    in that batch (only with timeouts, or a TCP flow reopened after FIN/RST);
    `drain` returns the rest, in creation order."""

    def __init__(self, idle_timeout: float | None = None, active_timeout: float | None = None,
                 slots: int = INITIAL_SLOTS) -> None:
        self.idle_ns = int(idle_timeout * 1e9) if idle_timeout else 0
        self.active_ns = int(active_timeout * 1e9) if active_timeout else 0
        self.live = RawFlows.allocate(slots)
        self.used = np.zeros(1, np.int64)
        self.next_seq = np.zeros(1, np.int64)
        self.last_sweep_ns: int | None = None

    def __len__(self) -> int:
        return int(self.used[0])

    @property
    def flows_started(self) -> int:
        return int(self.next_seq[0])

    def _grow(self) -> None:
        old = self.live
        new = RawFlows.allocate(old.keys.shape[0] * 2)
        K.rehash(old.keys, old.counts, old.times, old.small, old.seq,
                 new.keys, new.counts, new.times, new.small, new.seq)
        self.live = new

    def update(self, batch: PacketBatch) -> RawFlows:
        n = len(batch)
        ended = RawFlows.allocate(n) if n else RawFlows.allocate(0)
        src = batch.src_addr.view(np.uint64)
        dst = batch.dst_addr.view(np.uint64)
        start, e = 0, 0
        while True:
            t = self.live
            start, reason, e = K.aggregate(
                t.keys, t.counts, t.times, t.small, t.seq, self.used, self.next_seq,
                src, dst, batch.transport, batch.src_port, batch.dst_port, batch.tcp_flags,
                batch.length, batch.ts_ns, batch.vlan, batch.ip_version, batch.status,
                start, self.idle_ns, self.active_ns,
                ended.keys, ended.counts, ended.times, ended.small, ended.seq, e,
            )
            if reason == K.DONE:
                break
            self._grow()
        out = [ended.head(e)]
        if self.idle_ns and n:
            # Sweep once per idle period of capture time: no flow outlives twice the
            # timeout in memory, whatever the mix of long and one-packet flows.
            now = int(batch.ts_ns.max())
            if self.last_sweep_ns is None:
                self.last_sweep_ns = int(batch.ts_ns.min())
            if now - self.last_sweep_ns >= self.idle_ns:
                out.append(self._sweep(now))
        return RawFlows.concat(out) if len(out) > 1 else out[0]

    def _sweep(self, now: int) -> RawFlows:
        """Hand out flows idle past the timeout, so memory follows the live flows only."""
        self.last_sweep_ns = now
        t = self.live
        ended = RawFlows.allocate(len(self))
        e = K.evict_idle(t.keys, t.counts, t.times, t.small, t.seq, now, self.idle_ns,
                         ended.keys, ended.counts, ended.times, ended.small, ended.seq)
        if e:
            self.used[0] -= e
            slots = t.keys.shape[0]
            while slots > INITIAL_SLOTS and len(self) * 8 < slots:
                slots //= 2
            new = RawFlows.allocate(slots)
            K.rehash(t.keys, t.counts, t.times, t.small, t.seq,
                     new.keys, new.counts, new.times, new.small, new.seq)
            self.live = new
        return ended.head(e)

    def drain(self) -> RawFlows:
        t = self.live
        n = len(self)
        out = RawFlows.allocate(n)
        if n:
            first = int(t.seq[t.small[:, K.M_LIVE] != 0].min())
            slot_of = np.empty(int(self.next_seq[0]) - first, np.int64)
            K.drain_in_order(t.keys, t.counts, t.times, t.small, t.seq, first, slot_of,
                             out.keys, out.counts, out.times, out.small, out.seq)
        self.live = RawFlows.allocate(INITIAL_SLOTS)
        self.used[0] = 0
        return out
