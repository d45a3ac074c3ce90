"""Text made safe to show on a terminal line: control characters (C0, DEL, C1) as escapes.

Service names and descriptions come from files portannot does not control (a
`--services` file, a registry fetched with `registry update --url`), and so do file
names. Written raw, an ESC in one is a terminal escape sequence (colours, a cleared
screen, a retitled window) and a newline splits a message a script reads line by line.
The data formats keep such text exactly (CSV and JSON escape it their own way); what is
shown to a person goes through here. No imports: the error path and `lookup` use it
without loading numpy.
"""

from __future__ import annotations

#: the controls (Unicode's category Cc: C0, DEL and C1) as \\xNN, with the three common
#: ones by their usual names. C1 counts: U+009B is CSI, which xterm and urxvt obey as
#: ESC [ is obeyed, so a name holding it could drive the terminal just the same
ESCAPES = {c: f"\\x{c:02x}" for c in [*range(32), *range(127, 160)]} | {9: "\\t", 10: "\\n", 13: "\\r"}

#: the same controls as a regular expression's character class (for Arrow's kernels)
CONTROL_CLASS = "[\\x00-\\x1f\\x7f-\\x9f]"


def one_line(text: str) -> str:
    """`text` with its control characters escaped (a newline as \\n), so that it stays
    on the one line it is shown on and cannot drive the terminal."""
    return text.translate(ESCAPES)


def nul_in_name(path: str) -> str:
    """The message for a path holding a NUL byte, the NUL shown escaped. No file can
    have one (the system's calls end a name at it), and Python's own refusal was a bare
    ValueError ('embedded null byte') that named no path and escaped the command's
    handling as a traceback."""
    return f"{one_line(path)}: a NUL byte in the file name, which no file can have"
