"""The four port-carrying transports and the codes every stage uses for them.

The code is also the row of the service table, so a decoded packet's transport
indexes the registry's 4 x 65,536 arrays directly.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Transport(IntEnum):
    TCP = 0
    UDP = 1
    SCTP = 2
    DCCP = 3
    NONE = 255


#: plain-int twins for compiled code
TCP, UDP, SCTP, DCCP, NONE = 0, 1, 2, 3, 255

TRANSPORT_NAMES: tuple[str, ...] = ("tcp", "udp", "sctp", "dccp")
IP_PROTOCOLS: tuple[int, ...] = (6, 17, 132, 33)

#: IP protocol number -> transport code (NONE for protocols without ports).
PROTO_TO_TRANSPORT = np.full(256, Transport.NONE, dtype=np.uint8)
for _code, _proto in enumerate(IP_PROTOCOLS):
    PROTO_TO_TRANSPORT[_proto] = _code

def transport_codes(values: np.ndarray) -> np.ndarray:
    """Transport names ('tcp', any case) or IP protocol numbers (6) -> uint8 codes, NONE
    for anything else: the service table takes either."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        out = np.full(arr.shape, Transport.NONE, dtype=np.uint8)
        ok = (arr >= 0) & (arr < 256)
        out[ok] = PROTO_TO_TRANSPORT[arr[ok].astype(np.int64)]
        return out
    lowered = np.char.lower(arr.astype(str))
    out = np.full(arr.shape, Transport.NONE, dtype=np.uint8)
    for code, name in enumerate(TRANSPORT_NAMES):
        out[lowered == name] = code
    return out
