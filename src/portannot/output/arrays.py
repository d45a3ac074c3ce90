"""numpy to Arrow without `pyarrow.array()`.

`pyarrow.array()` imports pandas the first time it runs whenever pandas is
installed, which costs about 0.4 s of every command's start-up; building the
arrays from their buffers does the same job without it. So do `pyarrow.scalar()`
and every compute function handed a plain Python value (a separator, a fill
value): those take `scalar()` from here instead.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_NUMPY_TYPES = {
    pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32, pa.int64(): np.int64,
    pa.uint8(): np.uint8, pa.uint16(): np.uint16, pa.uint32(): np.uint32, pa.uint64(): np.uint64,
    pa.float32(): np.float32, pa.float64(): np.float64,
}


def validity(valid: np.ndarray | None) -> tuple[pa.Buffer | None, int]:
    """(Arrow validity bitmap, null count) of a boolean mask; None means all valid."""
    if valid is None:
        return None, 0
    nulls = int(valid.size - np.count_nonzero(valid))
    if nulls == 0:
        return None, 0
    return pa.py_buffer(np.packbits(valid, bitorder="little")), nulls


def arrow(values: np.ndarray, type_: pa.DataType, valid: np.ndarray | None = None) -> pa.Array:
    """A numeric (or timestamp, stored as int64) Arrow array over a numpy array."""
    np_type = np.int64 if pa.types.is_timestamp(type_) else _NUMPY_TYPES[type_]
    data = np.ascontiguousarray(values, dtype=np_type)
    bitmap, nulls = validity(valid)
    return pa.Array.from_buffers(type_, data.size, [bitmap, pa.py_buffer(data)], null_count=nulls)


def numbers(array: pa.Array) -> np.ndarray:
    """The values of a numeric or timestamp Arrow array without nulls, as numpy.

    `Array.to_numpy()` also imports pandas on first use; reading the data
    buffer directly does not.
    """
    np_type = np.int64 if pa.types.is_timestamp(array.type) else _NUMPY_TYPES[array.type]
    if array.null_count:
        raise ValueError("numbers() takes arrays without nulls")
    data = np.frombuffer(array.buffers()[1], np_type, count=array.offset + len(array))
    return data[array.offset:]


def strings(values: list[str]) -> pa.Array:
    """An Arrow string array of Python strings, built from its buffers (see the module)."""
    encoded = [v.encode() for v in values]
    offsets = np.zeros(len(encoded) + 1, np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return pa.StringArray.from_buffers(len(encoded), pa.py_buffer(offsets),
                                       pa.py_buffer(b"".join(encoded)))


def scalar(value: str | bool | int | float | None, type_: pa.DataType) -> pa.Scalar:
    """One Arrow scalar of a string, boolean or numeric type (None: its null)."""
    if value is None:
        return pa.nulls(1, type_)[0]
    if type_ == pa.string():
        return strings([value])[0]  # type: ignore[list-item]
    if type_ == pa.bool_():
        bits = np.packbits(np.array([value], bool), bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), 1, [None, pa.py_buffer(bits)])[0]
    return arrow(np.array([value]), type_)[0]


def text_bytes(lines: pa.StringArray) -> memoryview:
    """The characters of a string array without nulls, end to end."""
    _, offsets, data = lines.buffers()
    ends = np.frombuffer(offsets, np.int32, count=len(lines) + 1, offset=lines.offset * 4)
    return memoryview(data)[int(ends[0]):int(ends[-1])]
