"""Checks of the numpy columns a caller hands the compiled stages.

RecordBatch and PacketBatch are public dataclasses of numpy arrays, and the kernels
that read them (Decoder.decode, FlowTable.update) trust each array's type, shape and
length: a column of another type was numba's error naming an argument number, and a
shorter one was read past its end. The stages check a batch once, before the kernel
runs (a few comparisons a batch, not a loop over rows), each against its own spec.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Columns:
    """What one batch class's checked columns must be, and how its messages read."""

    #: the class the messages name ("RecordBatch.caplen must be ...")
    owner: str
    #: (field, dtype, shape of one row: () for a 1-D column)
    columns: tuple[tuple[str, type, tuple[int, ...]], ...]
    #: what a column of the wrong length is told, after "has N rows, ": {n} the rows wanted
    rows: str
    #: how an array of the wrong kind is described, after "not ": {dtype}, {ndim}, {shape}
    found: str = "{dtype} of shape {shape}"


def check_type(spec: Columns, name: str, column: object, dtype: type,
               row: tuple[int, ...] = ()) -> None:
    """A TypeError unless `column` is a C-contiguous numpy array of `dtype` whose rows
    have shape `row` (a 0-d array is no column: it has no rows)."""
    if (isinstance(column, np.ndarray) and column.dtype == dtype
            and column.ndim == 1 + len(row) and column.shape[1:] == row
            and column.flags.c_contiguous):
        return
    shape = f"(n, {', '.join(map(str, row))})" if row else "1-D"
    what = (spec.found.format(dtype=column.dtype, ndim=column.ndim, shape=column.shape)
            if isinstance(column, np.ndarray) else type(column).__name__)
    raise TypeError(f"{spec.owner}.{name} must be a contiguous {shape} numpy array of "
                    f"{np.dtype(dtype)}, not {what}")


def check_columns(spec: Columns, batch: object, n: int | None = None) -> None:
    """check_type for each of the spec's columns of `batch`, then a ValueError for the
    first that does not have `n` rows; None: as many as most of them have, so that the
    one column that differs is the one named, whichever it is."""
    for name, dtype, row in spec.columns:
        check_type(spec, name, getattr(batch, name), dtype, row)
    lengths = [(name, int(getattr(batch, name).shape[0])) for name, _, _ in spec.columns]
    if n is None:
        n = Counter(rows for _, rows in lengths).most_common(1)[0][0]
    for name, rows in lengths:
        if rows != n:
            raise ValueError(f"{spec.owner}.{name} has {rows} rows, " + spec.rows.format(n=n))
