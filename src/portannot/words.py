"""Word-level helpers every kernel compiles inline: byte-order readers and hash mixing.

The capture walkers read record headers in either byte order, the decoder reads
network-order fields, and three hash tables (flows, talkers, fragments) hash
keys of 64-bit words. One copy of each here, outside the capture and decode
packages, so that both can import it without importing each other. All are
inlined where they are called: using them costs nothing at run time.
"""

from __future__ import annotations

import numpy as np

from portannot.compiled import njit

#: 2^64 divided by the golden ratio, odd: multiplying by it spreads a word's bits
GOLDEN = np.uint64(0x9E3779B97F4A7C15)


#: byte offsets 1 to 7 as unsigned numbers, for index arithmetic (see at)
_1, _2, _3, _4, _5, _6, _7 = (np.uint64(k) for k in range(1, 8))


@njit(cache=True, nogil=True, inline="always")
def at(p):
    """A position as an unsigned index. numba wraps a signed index below 0 around from the
    array's end: a compare and a select for every byte read, which also keeps the bytes
    of one field from being read as one word. The positions the kernels read at are
    never below 0; unsigned, be32 compiles to one load (movbe) instead of 27
    instructions, and the decoder runs a third fewer instructions a packet."""
    return np.uint64(p)


@njit(cache=True, nogil=True, inline="always")
def u8(buf, p):
    return buf[at(p)]


@njit(cache=True, nogil=True, inline="always")
def be16(buf, p):
    u = at(p)
    return (np.int64(buf[u]) << 8) | np.int64(buf[u + _1])


@njit(cache=True, nogil=True, inline="always")
def be32(buf, p):
    u = at(p)
    return (
        (np.int64(buf[u]) << 24)
        | (np.int64(buf[u + _1]) << 16)
        | (np.int64(buf[u + _2]) << 8)
        | np.int64(buf[u + _3])
    )


@njit(cache=True, nogil=True, inline="always")
def le16(buf, p):
    u = at(p)
    return (np.int64(buf[u + _1]) << 8) | np.int64(buf[u])


@njit(cache=True, nogil=True, inline="always")
def le32(buf, p):
    u = at(p)
    return (
        (np.int64(buf[u + _3]) << 24)
        | (np.int64(buf[u + _2]) << 16)
        | (np.int64(buf[u + _1]) << 8)
        | np.int64(buf[u])
    )


@njit(cache=True, nogil=True, inline="always")
def mem32(buf, p):
    u = at(p)
    return (
        np.uint64(buf[u])
        | (np.uint64(buf[u + _1]) << np.uint64(8))
        | (np.uint64(buf[u + _2]) << np.uint64(16))
        | (np.uint64(buf[u + _3]) << np.uint64(24))
    )


@njit(cache=True, nogil=True, inline="always")
def mem64(buf, p):
    """Eight bytes as a native little-endian word: stored into a uint64 view of an
    address column, the bytes land in the same (network) order."""
    return mem32(buf, p) | (mem32(buf, p + 4) << np.uint64(32))


@njit(cache=True, nogil=True, inline="always")
def mix64(h, word):
    """Fold one more 64-bit word into a running hash (start from the first word)."""
    return (h * GOLDEN) ^ word


def hash_key() -> int:
    """A random key for one hash table's lifetime (63 bits: an int64 holds it). The
    tables probe linearly, and the hash without a key is invertible: a capture can be
    made whose every flow (or address) lands on one slot, each new one probing past all
    the others (160,000 such flows took minutes, as many ordinary ones 0.1 s). Keyed, the
    slots cannot be aimed at; the key never changes what the tables hold or give out."""
    import os  # not `secrets`: it imports hashlib, 3 ms of every start

    return int.from_bytes(os.urandom(8), "little") >> 1


@njit(cache=True, nogil=True, inline="always")
def finish64(h):
    """The last two rounds of splitmix64's finalizer: after it every bit of the input
    words reaches the low bits a table masks its slot from."""
    h ^= h >> np.uint64(31)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    return h ^ (h >> np.uint64(29))


@njit(cache=True, nogil=True, inline="always")
def keyed(h, key):
    """A running hash with a table's random key (hash_key) folded in and carried through
    finish64, before the next words are mixed in. mix64 multiplies, and a product's bits
    depend only on the bits below them: with the key merely XORed into the first word,
    flows solved to share one hash without the key still collided under it about once
    in a hundred keys (4,000 such flows, 17 keys of 2,000), their differences following
    the key's low bits. Through the finalizer every bit of the key reaches every bit of
    the state, and the words folded in after it cannot cancel what they cannot know."""
    return finish64(h ^ key)
