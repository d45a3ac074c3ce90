"""What the pcap and pcapng readers share: their window on the file, where their
problems go, and fields read in the file's (or section's) byte order."""

from __future__ import annotations

from portannot.capture.chunks import ChunkWindow
from portannot.capture.problems import END, ProblemLog, ReadProblem


class ContainerReader:
    """Base of the format readers. A reader yields RecordBatches when iterated; damage it
    meets goes to `problems`, at its byte offset in the (decompressed) capture."""

    format_name = ""

    def __init__(self, window: ChunkWindow, path: str, file_index: int, problems: ProblemLog):
        self.window, self.path, self.file_index, self.problems = window, path, file_index, problems
        self.big = False  #: byte order of the file (pcap) or of the current section (pcapng)
        self.ts_digits = 6  #: fraction digits the timestamps carry

    def _field(self, pos: int) -> int:
        """The 4-byte field at window position pos."""
        return int.from_bytes(self.window.buf[pos : pos + 4].tobytes(), "big" if self.big else "little")

    def _problem(self, pos: int, message: str, kind: str = END) -> None:
        self.problems.append(ReadProblem(self.path, self.window.offset_of(pos), message, kind))
