"""Link pseudo-headers: bytes a few link types put before the frame in each record,
which wiretap takes off the record before tshark sees it. They are not part of the
frame: tshark's frame.len and frame.cap_len leave them out, and so do the lengths
portannot counts (a flow's bytes are tshark's), so the readers take them off too.
"""

from __future__ import annotations

import numpy as np

#: LINKTYPE_* -> bytes of pseudo-header before each frame
PSEUDO_HEADERS = {
    204: 1,  # LINKTYPE_PPP_WITH_DIR: 0 received, anything else sent; PPP follows
}
#: the same, indexed by link type (a record's link type column gathers its sizes)
_SIZES = np.zeros(1 << 16, np.uint32)
for _linktype, _size in PSEUDO_HEADERS.items():
    _SIZES[_linktype] = _size


def strip_pseudo_headers(offset: np.ndarray, caplen: np.ndarray, length: np.ndarray,
                         linktype: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The records' (offset, caplen, length) with their link types' pseudo-headers taken
    off: the frame starts after it and is that much shorter. A record cut inside its
    pseudo-header keeps no bytes (wiretap refuses the file there). Records without one
    come back as they are, the same arrays."""
    size = _SIZES[linktype]
    if not size.any():
        return offset, caplen, length
    taken = np.minimum(size, caplen)
    return offset + taken, caplen - taken, length - np.minimum(size, length)
