"""Thrift's compact protocol, the encoding of a Parquet file's footer: read into a tree
that keeps every field in its order and written back byte for byte as Apache Thrift's
C++ writer (Arrow's) writes it, so that a footer can be edited (output.parquet_parts
moves its row groups' offsets) without a Parquet schema compiled in.

Only footers pyarrow wrote are read: a type or length that does not fit is a
ValueError, not an attempt at recovery.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

#: compact-protocol type codes (a boolean field's value is its type: true 1, false 2)
BOOL_TRUE, BOOL_FALSE, BYTE, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT = range(1, 13)
#: a list header's size nibble saying the size follows as a varint
LONG_LIST = 15
#: the largest field-id step a field header holds in its high nibble
SHORT_STEP = 15
STOP = 0


@dataclass
class Struct:
    """A struct's fields in the order read: [field id, type, value]."""

    fields: list[list[Any]] = field(default_factory=list)

    def get(self, fid: int) -> Any:
        """The field's value, None when the struct does not have it."""
        for f in self.fields:
            if f[0] == fid:
                return f[2]
        return None

    def set(self, fid: int, value: Any) -> None:
        """Give a field it has a new value (its place and type kept)."""
        for f in self.fields:
            if f[0] == fid:
                f[2] = value
                return
        raise KeyError(f"thrift struct has no field {fid}")


@dataclass
class List:
    """A list (or set) and the type of its elements."""

    etype: int
    items: list[Any]
    kind: int = LIST


@dataclass
class Encoded:
    """A value already written in the compact protocol (a list element, a field's value),
    copied as it is: a long list kept as bytes costs a fraction of its tree."""

    data: bytes


def read_struct(data: bytes | memoryview, pos: int = 0) -> tuple[Struct, int]:
    """The struct that starts at `pos`, and the position after it."""
    reader = _Reader(data, pos)
    try:
        return reader.struct(), reader.pos
    except RecursionError:  # structs nested thousands deep: no footer is
        raise ValueError(f"thrift structs nested too deep at byte {reader.pos}") from None


def write_struct(value: Struct) -> bytes:
    writer = _Writer()
    writer.struct(value)
    return bytes(writer.out)


class _Reader:
    def __init__(self, data: bytes | memoryview, pos: int) -> None:
        self.data, self.pos = data, pos

    def byte(self) -> int:
        try:
            b = self.data[self.pos]
        except IndexError:
            raise ValueError(f"thrift data ends at byte {self.pos}") from None
        self.pos += 1
        return b

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, t: int) -> Any:
        if t in (I16, I32, I64):
            return self.zigzag()
        if t == BINARY:
            n = self.varint()
            end = self.pos + n
            if end > len(self.data):
                raise ValueError(f"thrift binary of {n} bytes runs past the data at {self.pos}")
            value = bytes(self.data[self.pos:end])
            self.pos = end
            return value
        if t == STRUCT:
            return self.struct()
        if t in (LIST, SET):
            header = self.byte()
            n = header >> 4
            if n == LONG_LIST:
                n = self.varint()
            etype = header & 15
            return List(etype, [self.value(etype) for _ in range(n)], t)
        if t in (BOOL_TRUE, BOOL_FALSE):  # an element of a list: a byte of its own
            return self.byte() == BOOL_TRUE
        if t == BYTE:
            b = self.byte()
            return b - 256 if b > 127 else b
        if t == DOUBLE:
            if self.pos + 8 > len(self.data):
                raise ValueError(f"thrift double runs past the data at {self.pos}")
            (value,) = struct.unpack_from("<d", self.data, self.pos)
            self.pos += 8
            return value
        raise ValueError(f"thrift type {t} (not in a Parquet footer) at byte {self.pos}")

    def struct(self) -> Struct:
        fields: list[list[Any]] = []
        last = 0
        while True:
            header = self.byte()
            if header == STOP:
                return Struct(fields)
            t, step = header & 15, header >> 4
            fid = last + step if step else self.zigzag()
            value = t == BOOL_TRUE if t in (BOOL_TRUE, BOOL_FALSE) else self.value(t)
            fields.append([fid, t, value])
            last = fid


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray()

    def varint(self, n: int) -> None:
        while n > 0x7F:
            self.out.append((n & 0x7F) | 0x80)
            n >>= 7
        self.out.append(n)

    def zigzag(self, n: int) -> None:
        self.varint((n << 1) ^ (n >> 63))

    def value(self, t: int, v: Any) -> None:
        if isinstance(v, Encoded):
            self.out += v.data
        elif t in (I16, I32, I64):
            self.zigzag(v)
        elif t == BINARY:
            self.varint(len(v))
            self.out += v
        elif t == STRUCT:
            self.struct(v)
        elif t in (LIST, SET):
            n = len(v.items)
            if n < LONG_LIST:
                self.out.append(n << 4 | v.etype)
            else:
                self.out.append(LONG_LIST << 4 | v.etype)
                self.varint(n)
            for item in v.items:
                self.value(v.etype, item)
        elif t in (BOOL_TRUE, BOOL_FALSE):
            self.out.append(BOOL_TRUE if v else BOOL_FALSE)
        elif t == BYTE:
            self.out.append(v & 0xFF)
        elif t == DOUBLE:
            self.out += struct.pack("<d", v)
        else:
            raise ValueError(f"thrift type {t} is not written here")

    def struct(self, s: Struct) -> None:
        last = 0
        for fid, t, v in s.fields:
            if t in (BOOL_TRUE, BOOL_FALSE):
                t = BOOL_TRUE if v else BOOL_FALSE
            if 0 < fid - last <= SHORT_STEP:
                self.out.append((fid - last) << 4 | t)
            else:
                self.out.append(t)
                self.zigzag(fid)
            if t not in (BOOL_TRUE, BOOL_FALSE):
                self.value(t, v)
            last = fid
        self.out.append(STOP)
