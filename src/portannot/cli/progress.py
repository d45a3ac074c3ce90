"""The progress line: what a long run has read so far, on stderr when it is a terminal.

One line, redrawn in place ("\\r", the line, then erased to its end) from the
accounting by a thread of its own, PER_SECOND times a second: nothing is done per
packet or per batch on the reading's side. Each frame is fitted to the terminal's
width as it is then (os.get_terminal_size of stderr, asked at every frame: a resize
counts from the next one), its least important fields left out first (Field.rank).
A line wider than the terminal wrapped onto a second row, and the "\\r" of every
redraw went back to the start of that row only: on 30 columns each frame left a row
behind. The line is erased when the command ends, however it ends.

No rich here: rich.progress costs ~60 ms to import, sizes its line by standard input's
terminal first and by $COLUMNS when it is set (so a resize went unseen), and wraps a
line too long for it.
"""

from __future__ import annotations

import os
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from portannot.accounting import Accounting

#: frames drawn a second at most
PER_SECOND = 10
#: what separates two fields
GAP = "  "


@dataclass(frozen=True)
class Field:
    """One piece of the line: its text and how important it is (0 is left out last)."""

    text: str
    rank: int


def fit(fields: Sequence[Field], width: int) -> str:
    """The fields, in their order and GAP apart, that fit in `width` columns: the least
    important (highest rank) are left out first, and the most important, alone and
    still too wide, is cut to the width."""
    kept = list(fields)
    while kept:
        line = GAP.join(f.text for f in kept)
        if cells(line) <= width:
            return line
        if len(kept) == 1:
            return cut(line, width)
        kept.remove(max(kept, key=lambda f: f.rank))
    return ""


# The rule (cells): a count never short of what any terminal draws, and no more over it
# than that needs. The line is redrawn in place after a "\r": one frame wrapped over two
# rows leaves a row behind at every redraw, while a column to spare costs nothing, so:
# - 2 for East Asian Wide and Fullwidth, and for Ambiguous (two in a CJK locale, one
#   elsewhere) and a regional indicator (a flag's half, drawn two wide alone);
# - 0 for a combining mark (Mn, Me): every terminal draws it on the character before it,
#   and counted 1 it cut "é" spelled e + U+0301 names short and pushed fields out
#   unneeded. A variation selector stays 1: U+FE0F asks emoji presentation, which widens
#   a one-column character before it to two (it is Ambiguous, so 2: the pair counts 3);
# - 1 for everything else (a spacing mark, Mc, which terminals draw 0 or 1 wide; a
#   conjoining Hangul vowel or final, 0 where the terminal composes the syllable).
# The packets table is rich's (rich.cells: Ambiguous 1, combining marks 0): printed once,
# not redrawn, it fits as rich counts, as every rich table does.


#: the Unicode categories of marks drawn on the character before them
MARKS = ("Mn", "Me")


def cells(text: str) -> int:
    """Columns `text` takes on a terminal, at most (the rule above): the line never
    wraps, and is not cut shorter than it must be."""
    if text.isascii():
        return len(text)
    return sum(_cell(c) for c in text)


def _cell(c: str) -> int:
    if _combining(c):
        return 0
    wide = unicodedata.east_asian_width(c) in "WFA" or "\U0001f1e6" <= c <= "\U0001f1ff"
    return 2 if wide else 1


def _combining(c: str) -> bool:
    """A mark drawn on the character before it, taking no column of its own."""
    return (unicodedata.category(c) in MARKS
            and not ("\ufe00" <= c <= "\ufe0f" or "\U000e0100" <= c <= "\U000e01ef"))


def cut(text: str, width: int) -> str:
    """The longest start of `text` that takes at most `width` columns."""
    while cells(text) > width:
        text = text[:-1]
    return text


def clock(seconds: float) -> str:
    """A span as m:ss, or h:mm:ss from an hour on."""
    s = max(int(seconds), 0)
    if s < 3600:
        return f"{s // 60}:{s % 60:02d}"
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class Frames:
    """What the line says at a moment, fitted to a width. While reading: which input of
    several (file n/N) and its name; how much of the inputs is read (a percentage, a
    bar, the time left at the rate so far) when their size is known; packets read, the
    rate they were read at, the time since reading began. Once reading has ended, what
    the command does then (`after()`: "writing 96,492 flows"), the packets read and the
    rate they were read at, which stays as it was when reading ended.

    The size is known when every input is a regular file: the sum of their sizes, and
    a compressed one counted by its compressed bytes (how far its decompressor is into
    the file). Standard input, a pipe or a device has none: the line then gives counts
    and the rate only."""

    def __init__(self, accounting: Accounting, after: Callable[[], str]) -> None:
        self.accounting = accounting
        self.after = after
        self.inputs = list(accounting.files)
        #: _before[k]: bytes of the inputs before the k-th (None: a size is not known);
        #: the inputs are stat()ed in the line's thread, at its first frame
        self._before: list[int] | None = None
        self._sized = False

    def __call__(self, width: int) -> str:
        acc = self.accounting
        elapsed = 0.0 if acc.reading_since is None else time.monotonic() - acc.reading_since
        if acc.reading_until is not None and acc.reading_since is not None:
            return self._after_reading(acc, rate_of(acc), elapsed, width)
        return self._reading(acc, elapsed, width)

    def _reading(self, acc: Accounting, elapsed: float, width: int) -> str:
        rate = acc.records / max(elapsed, 1e-3) if acc.reading_since is not None else 0.0
        ended, offset = acc.read_position
        fields = []
        n = len(self.inputs)
        if n > 1:
            fields.append(Field(f"file {min(ended + 1, n):,}/{n:,}", 2))
            if ended < n:
                fields.append(Field(_shown_name(self.inputs[ended]), 7))
        done = self._fraction(ended, offset)
        if done is not None:
            fields.append(Field(f"{int(done * 100)}%", 0))
            fields.append(Field(BAR, 6))
            if 0 < done < 1 and elapsed > 0:
                fields.append(Field(f"ETA {clock(elapsed * (1 - done) / done)}", 1))
        fields += [Field(f"{acc.records:,} packets", 3), Field(f"{rate / 1e6:.2f} M/s", 4),
                   Field(f"{clock(elapsed)} elapsed", 5)]
        return _with_bar(fit(fields, width), done)

    def _after_reading(self, acc: Accounting, rate: float, elapsed: float, width: int) -> str:
        fields = [Field(self.after(), 0), Field(f"{acc.records:,} packets read", 1),
                  Field(f"at {rate / 1e6:.2f} M/s", 2)]
        if self._fraction(*acc.read_position) is not None:
            fields.append(Field("100%", 3))
        fields.append(Field(f"{clock(elapsed)} elapsed", 4))
        return fit(fields, width)

    def _fraction(self, ended: int, offset: int) -> float | None:
        """How much of the inputs' bytes is read, 0 to 1; None when their size is not
        known."""
        if not self._sized:
            self._before, self._sized = input_sizes(self.inputs), True
        before = self._before
        if before is None or not before[-1]:
            return None
        if ended >= len(self.inputs):
            return 1.0
        size = before[ended + 1] - before[ended]
        return min(before[ended] + min(offset, size), before[-1]) / before[-1]


def rate_of(acc: Accounting) -> float:
    """Packets read a second over the reading, once it has ended."""
    assert acc.reading_since is not None and acc.reading_until is not None
    return acc.records / max(acc.reading_until - acc.reading_since, 1e-3)


#: where the bar goes in a fitted line: a field of its width, drawn by _with_bar (a bar of
#: one width, not one widened to the room left: that moved the fields after it as the
#: others' widths changed, frame to frame)
BAR = "[" + "\0" * 20 + "]"


def _with_bar(line: str, done: float | None) -> str:
    """The line with its bar drawn, `done` of it filled, if the fitting kept it."""
    if done is None or BAR not in line:
        return line
    size = len(BAR) - 2
    filled = int(size * done)
    return line.replace(BAR, "[" + "#" * filled + "-" * (size - filled) + "]")


def input_sizes(inputs: Sequence[str]) -> list[int] | None:
    """Bytes of the inputs before each (and of all, last), when every one is a regular
    file; None when one is standard input, a pipe or a device. One that cannot be
    stat()ed counts as empty (its reading fails and it is skipped)."""
    import stat

    before = [0]
    for path in inputs:
        if path == "-":
            return None
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            before.append(before[-1])
            continue
        if not stat.S_ISREG(st.st_mode):
            return None
        before.append(before[-1] + st.st_size)
    return before


def _shown_name(path: str) -> str:
    """An input's file name as the line shows it: its last part, control characters
    escaped (printable.one_line) and anything else not printable as "?", its start cut
    to NAME_MAX columns (the end tells apart a capture cut in pieces: x-0007.pcap)."""
    from portannot.printable import one_line

    name = "".join(c if c.isprintable() else "?" for c in one_line(os.path.basename(path)))
    if cells(name) <= NAME_MAX:
        return name or "?"
    while cells(name) > NAME_MAX - 3 or (name and unicodedata.category(name[0]) in MARKS):
        name = name[1:]  # and no mark left without its character, drawn on the "..."
    return "..." + name


#: the most columns a file name takes
NAME_MAX = 28


class Line:
    """A line redrawn on the terminal `fd` by a thread of its own, `frame(width)` giving
    its text at each redraw; stop() erases it."""

    def __init__(self, fd: int, frame: Callable[[int], str], encoding: str) -> None:
        self.fd = fd
        self.frame = frame
        self.encoding = encoding
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # a frame is written whole, and none after the end
        self._ended = False
        self._thread = threading.Thread(target=self._run, name="portannot-progress",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        self.draw()  # the first frame here too: stat()s of the inputs stay off the reading
        while not self._stopping.wait(1 / PER_SECOND):
            self.draw()

    def draw(self) -> None:
        """One frame, fitted to the terminal's width less one column (a line that ends in
        the last column leaves some terminals' cursor on the next row)."""
        with self._lock:
            if not self._ended:
                self._write("\r" + self.frame(terminal_width(self.fd) - 1) + ERASE)

    def stop(self, last: bool = False) -> None:
        """Stop redrawing and erase the line; with `last`, draw a frame first (the state
        it ended in, which a run shorter than a frame's interval never showed)."""
        self._stopping.set()
        self._thread.join()
        if last:
            self.draw()
        with self._lock:
            if not self._ended:
                self._write("\r" + ERASE)
            self._ended = True

    def _write(self, text: str) -> None:
        try:
            os.write(self.fd, text.encode(self.encoding, "replace"))
        except OSError:  # the terminal went away (hung up): nothing more to draw
            self._ended = True


#: erase from the cursor to the end of the line (what a longer frame left)
ERASE = "\x1b[K"


def terminal_width(fd: int) -> int:
    """The terminal's columns now; $COLUMNS, then 80, where it does not say (0 columns:
    a pseudo-terminal never sized). The terminal first: an exported $COLUMNS is the
    width the shell had when the command started, and the line must follow a resize."""
    try:
        columns = os.get_terminal_size(fd).columns
    except OSError:
        columns = 0
    if columns > 0:
        return columns
    env = os.environ.get("COLUMNS", "")
    return int(env) if env.isdigit() and int(env) > 0 else 80


def drawable(stream: object) -> int | None:
    """The descriptor of `stream` (stderr) when a line can be drawn there: a terminal
    that can move its cursor back (not TERM=dumb or unknown) and not said to be a log
    (TTY_INTERACTIVE=0, TTY_COMPATIBLE=0, as rich reads them); else None."""
    try:
        if stream is None or not stream.isatty():  # type: ignore[attr-defined]
            return None
        fd = stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return None
    if os.environ.get("TERM", "").lower() in ("dumb", "unknown"):
        return None
    if "0" in (os.environ.get("TTY_INTERACTIVE"), os.environ.get("TTY_COMPATIBLE")):
        return None
    return fd
