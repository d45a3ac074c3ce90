"""What went wrong while reading, kept so the command can report it and count it.

A damaged file may hold a problem in every block (a million packet blocks naming an
interface that does not exist), so a file's problems are kept in a ProblemLog: the
first DETAIL as they are, the rest only counted, per kind, with where the first and
the last of them start. What is kept, and so every warning line, stays bounded
whatever the file holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

#: problems of one file kept as they are; later ones are counted per kind
DETAIL = 20

#: kinds of problem, as a counted line names them ("... and 999,980 more damaged blocks")
DAMAGED_BLOCKS = "damaged blocks"
DAMAGED_RANGES = "damaged byte ranges"
SHORT_INTERFACES = "interface blocks too short"
DAMAGED_OPTIONS = "blocks with options past their end"
SURPLUS_DATA = "simple packet blocks holding more than their packet"
UNKNOWN_SECTIONS = "sections of another major version skipped"
HELD_TIMES = "runs of records with times held"
#: what ends the read (a cut, a length no record can have): once a file
END = "problems"


@dataclass(frozen=True)
class ReadProblem:
    path: str
    offset: int  #: byte offset in the (decompressed) capture where the problem starts
    message: str
    #: what problems like this one are called when counted, in the plural
    kind: str = END
    #: how many problems this one stands for: more than 1 in a line of counted ones
    count: int = 1
    #: with count > 1: the byte offset where the last of them starts
    last_offset: int = -1
    #: what the offsets count: "decompressed byte offset" in a compressed file
    unit: str = "byte offset"

    def __str__(self) -> str:
        if self.count > 1:
            return (f"{self.path}: {self.message}, from {self.unit} {self.offset} "
                    f"to {self.last_offset}")
        return f"{self.path}: {self.message} at {self.unit} {self.offset}"


class ProblemLog:
    """One file's problems, in bounded memory: the first `detail` kept as they are, the
    rest counted per kind. Iterated (or indexed), it gives the ReadProblems to report:
    those kept, then for each kind counted beyond them one line that stands for all of
    them ("... and 999,980 more damaged blocks like these, from byte offset 1808 to
    87999960"; a kind counted only once is that problem itself)."""

    def __init__(self, detail: int = DETAIL) -> None:
        self.detail = detail
        #: what offsets count, given to each problem reported (see ReadProblem.unit)
        self.unit = "byte offset"
        self.total = 0  #: every problem met, kept or counted
        self._kept: list[ReadProblem] = []
        #: kind -> [its first problem not kept, how many, where the last starts]
        self._counted: dict[str, list] = {}

    def append(self, problem: ReadProblem) -> None:
        self.total += 1
        if len(self._kept) < self.detail:
            self._kept.append(problem)
            return
        entry = self._counted.get(problem.kind)
        if entry is None:
            self._counted[problem.kind] = [problem, 1, problem.offset]
        else:
            entry[1] += 1
            entry[2] = problem.offset

    def count_more(self, kind: str, count: int, last_offset: int) -> None:
        """`count` more problems of `kind` after the last one appended, which was counted
        (not kept), the last of them starting at `last_offset`: a walk that skipped many
        damaged blocks appends the first DETAIL + 1 of them and counts the rest so."""
        if count:
            entry = self._counted[kind]
            self.total += count
            entry[1] += count
            entry[2] = last_offset

    def __len__(self) -> int:
        return len(self._kept) + len(self._counted)

    def __bool__(self) -> bool:
        return self.total > 0

    def __iter__(self) -> Iterator[ReadProblem]:
        return iter(self.lines())

    def __getitem__(self, index: int) -> ReadProblem:
        return self.lines()[index]

    def lines(self) -> list[ReadProblem]:
        """The problems to report: each kept one, then one per kind counted beyond them,
        their offsets named as `unit` says."""
        return [p if p.unit == self.unit else replace(p, unit=self.unit)
                for p in self._lines()]

    def _lines(self) -> list[ReadProblem]:
        out = list(self._kept)
        kinds = {p.kind for p in self._kept}
        for kind, (first, count, last) in self._counted.items():
            if count == 1:
                out.append(first)
            elif kind in kinds:
                out.append(ReadProblem(first.path, first.offset,
                                       f"... and {count:,} more {kind} like these",
                                       kind, count, last))
            else:
                out.append(ReadProblem(first.path, first.offset,
                                       f"{count:,} more {kind} (the first: {first.message} "
                                       f"at {self.unit} {first.offset})",
                                       kind, count, last))
        return out
