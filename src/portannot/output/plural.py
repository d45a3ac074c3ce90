"""Counts in words for the text reports: "1 packet", "2 packets", never "1 packets" or
"file(s)". The reports are read by people, and a number beside the wrong form of its
noun reads as a slip in the number too.

Pure Python and imports nothing: the registry and lookup commands use it without
loading numpy or pyarrow. (portannot.words is another thing: the machine-word readers
the compiled kernels inline.)
"""

from __future__ import annotations


def noun(n: int, singular: str, plural: str | None = None) -> str:
    """The noun for n things: `singular` for exactly 1, else `plural` (default: the
    singular with an s, which every noun the reports count takes)."""
    return singular if n == 1 else (plural or singular + "s")


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """n with thousands separators and the noun in the form it takes: "1 flow",
    "1,024 flows", "0 flows"."""
    return f"{n:,} {noun(n, singular, plural)}"
