"""Every record read, in exactly one decode status: the counts a command reports and
checks its exit code against, kept apart from the streams that fill them in."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from portannot.capture import ReadProblem
from portannot.compiled import kernel
from portannot.decode import PacketBatch
from portannot.output.plural import counted
from portannot.status import STATUS_NAMES, Status


@kernel("none(u1[::1], u4[::1], i8[::1], i8[::1])")
def _tally(status, length, counts, nbytes):
    """Packets and bytes per status, in one pass (np.bincount with weights goes
    through float64 and costs several times more)."""
    for i in range(status.shape[0]):
        counts[status[i]] += 1
        nbytes[status[i]] += length[i]


@dataclass
class Accounting:
    """Every record read, in exactly one status; and what went wrong where."""

    records: int = 0
    status_counts: np.ndarray = field(default_factory=lambda: np.zeros(len(STATUS_NAMES), np.int64))
    status_bytes: np.ndarray = field(default_factory=lambda: np.zeros(len(STATUS_NAMES), np.int64))
    #: the damage met: of each file, the first problems as they are, and beyond them
    #: one line per kind that stands for the rest (capture.ProblemLog, ReadProblem.count)
    problems: list[ReadProblem] = field(default_factory=list)
    #: inputs (of several) that could not be read at all, and why
    unreadable: list[Unreadable] = field(default_factory=list)
    #: records of a link type not decoded, per (input's index, its name, link type)
    unsupported_links: dict[tuple[int, str, int], int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    ts_digits: int = 6
    first_ts: int | None = None
    last_ts: int | None = None
    #: time.monotonic() when the reading began (None: not yet): the progress line's
    #: rate counts from it, the reading starting before the line is drawn
    reading_since: float | None = None
    #: time.monotonic() when the reading ended (None: not yet): the progress line's rate
    #: counts to it, not on through the writing after it
    reading_until: float | None = None
    #: (inputs read to their end, bytes of the next one read so far, as it lies on disk):
    #: how far the reading is, for the progress line. One tuple, set whole, so that the
    #: line's thread never sees one half of it updated and the other not
    read_position: tuple[int, int] = (0, 0)

    def add(self, batch: PacketBatch) -> None:
        n = len(batch)
        if not n:
            return
        self.records += n
        before = int(self.status_counts[Status.UNSUPPORTED_LINK])
        _tally(batch.status, batch.length, self.status_counts, self.status_bytes)
        if self.status_counts[Status.UNSUPPORTED_LINK] > before:  # the tally says; no pass
            unsupported = batch.status == Status.UNSUPPORTED_LINK
            lt, cnt = np.unique(batch.linktype[unsupported], return_counts=True)
            for t, c in zip(lt.tolist(), cnt.tolist()):
                key = (batch.file_index, batch.path, t)
                self.unsupported_links[key] = self.unsupported_links.get(key, 0) + c
        lo, hi = int(batch.ts_ns.min()), int(batch.ts_ns.max())
        self.first_ts = lo if self.first_ts is None else min(self.first_ts, lo)
        self.last_ts = hi if self.last_ts is None else max(self.last_ts, hi)

    @property
    def bytes(self) -> int:
        """Sum of original frame lengths."""
        return int(self.status_bytes.sum())

    @property
    def damaged(self) -> bool:
        """Part of the input could not be read or decoded as a capture."""
        return bool(self.problems) or bool(self.unsupported_links) or bool(self.unreadable)

    @property
    def problem_count(self) -> int:
        """Problems met, those counted in a line of their kind included."""
        return sum(p.count for p in self.problems)

    def by_status(self) -> dict[str, int]:
        return {name: int(c) for name, c in zip(STATUS_NAMES, self.status_counts)}

    def warnings(self) -> list[str]:
        """One line per problem, each starting with the input's name (as ReadProblem's
        do): of several inputs, a line without one did not say which to look at."""
        return [line for _, line in self.warnings_by_input()]

    def warnings_by_input(self) -> list[tuple[str, str]]:
        """(input's name, line) for each of warnings(): the API's CaptureWarning.path."""
        out = [(u.path, f"{u.why}; skipped, the other inputs read") for u in self.unreadable]
        out += [(p.path, str(p)) for p in self.problems]
        for (_, path, lt), count in sorted(self.unsupported_links.items()):
            out.append((path, f"{path}: link type {lt} is not supported: "
                              f"{counted(count, 'record')} counted as unsupported-link"))
        return out


@dataclass(frozen=True)
class Unreadable:
    """An input, of several, that could not be read at all: skipped, the others read."""

    path: str  #: its name as the messages give it ("<stdin>" for "-")
    why: str  #: the InputError's message, which starts with the name

    def __str__(self) -> str:
        return self.why
