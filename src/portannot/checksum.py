"""zlib's CRC-32 and Adler-32 side by side: a cheap fingerprint of bytes.

What portannot fingerprints (its own sources, for the ahead-of-time kernels; a
registry file's path, size and time, for the table cache) only has to tell one
version from another, not to stand up to an attacker: zlib is loaded anyway, and
hashlib's import would cost every run 3 ms.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable


def checksums(parts: Iterable[bytes]) -> tuple[int, int]:
    """(CRC-32, Adler-32) of the parts end to end: 64 bits between them."""
    crc, adler = 0, 1
    for part in parts:
        crc, adler = zlib.crc32(part, crc), zlib.adler32(part, adler)
    return crc, adler
