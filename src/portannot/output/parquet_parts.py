"""Parquet row groups encoded in parallel and joined into one file.

pyarrow's writer encodes one column chunk after another on the calling thread, and
at the end of `portannot flows` that is most of what is left to do: every flow comes
out of the table at once when no timeout ends them earlier (flows-1m: a million rows,
0.3 s of one core). A row group's column chunks depend only on its rows and the
writer's settings, so each group can be encoded on its own, by a writer of its own
in another thread, as a complete Parquet file in memory (a part). The parts' column
chunks are then written one after another, and one footer lists all their row groups,
with every file offset moved by where its part's chunks landed. The result is the
file one writer would have written from the same groups, byte for byte
(tests/output/test_parquet_parts.py holds it so): only the work is spread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from portannot.output.thrift_compact import (
    LIST,
    STRUCT,
    Encoded,
    List,
    Struct,
    read_struct,
    write_struct,
)

MAGIC = b"PAR1"
#: the footer's length (4 bytes, little-endian) and the closing magic
TRAILER = 8

# field ids of parquet.thrift (FileMetaData, RowGroup, ColumnChunk, ColumnMetaData)
FILE_NUM_ROWS, FILE_ROW_GROUPS = 3, 4
GROUP_COLUMNS, GROUP_FILE_OFFSET, GROUP_ORDINAL = 1, 5, 7
CHUNK_FILE_OFFSET, CHUNK_META, CHUNK_OFFSET_INDEX, CHUNK_COLUMN_INDEX = 2, 3, 4, 6
META_DATA_PAGE, META_INDEX_PAGE, META_DICTIONARY_PAGE, META_BLOOM_FILTER = 9, 10, 11, 14
#: the fields of a column chunk, and of its metadata, that hold file offsets
CHUNK_OFFSETS = (CHUNK_FILE_OFFSET, CHUNK_OFFSET_INDEX, CHUNK_COLUMN_INDEX)
META_OFFSETS = (META_DATA_PAGE, META_INDEX_PAGE, META_DICTIONARY_PAGE, META_BLOOM_FILTER)


@dataclass
class Part:
    """A Parquet file in memory, split: what lies between its magic and its footer (the
    column chunks), and its footer, read."""

    body: memoryview
    meta: Struct

    @classmethod
    def of(cls, data: bytes | memoryview) -> Part:
        data = memoryview(data).cast("B")  # pyarrow buffers show signed bytes ("b")
        if len(data) < len(MAGIC) + TRAILER or data[:4] != MAGIC or data[-4:] != MAGIC:
            raise ValueError("not a Parquet file")
        size = int.from_bytes(data[-TRAILER:-len(MAGIC)], "little")
        start = len(data) - TRAILER - size
        if start < len(MAGIC):
            raise ValueError("Parquet footer longer than its file")
        meta, end = read_struct(data, start)
        if end != len(data) - TRAILER:
            raise ValueError("Parquet footer does not end where its length says")
        return cls(data[len(MAGIC):start], meta)


class PartJoiner:
    """Writes parts to `stream` in the order given and, at `finish`, the one footer
    listing all their row groups. Writes only forward (a pipe will do)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.position = 0  #: bytes written
        self.rows = 0
        #: the row groups listed so far, each already written (as pyarrow's writer keeps
        #: them: a footer grows with the groups, and their trees would take ~40x more)
        self.row_groups: list[Encoded] = []
        self.template: Struct | None = None  #: the first part's footer: schema, metadata

    def add(self, part: Part) -> None:
        if not self.position:
            self._write(MAGIC)
        shift = self.position - len(MAGIC)
        self._write(part.body)
        for group in _row_groups(part.meta):
            _move(group, shift, ordinal=len(self.row_groups))
            self.row_groups.append(Encoded(write_struct(group)))
        self.rows += part.meta.get(FILE_NUM_ROWS) or 0
        if self.template is None:
            self.template = part.meta
            self.template.set(FILE_ROW_GROUPS, List(STRUCT, [], LIST))

    def finish(self) -> None:
        """The footer, after the last part (at least one must have been added)."""
        if self.template is None:
            raise ValueError("no Parquet part to finish")
        self.template.set(FILE_NUM_ROWS, self.rows)
        self.template.set(FILE_ROW_GROUPS, List(STRUCT, self.row_groups, LIST))
        footer = write_struct(self.template)
        self._write(footer + len(footer).to_bytes(4, "little") + MAGIC)

    def _write(self, data: bytes | memoryview) -> None:
        self.stream.write(data)
        self.position += len(data)


def _row_groups(meta: Struct) -> list[Struct]:
    groups = meta.get(FILE_ROW_GROUPS)
    return list(groups.items) if groups is not None else []


def _move(group: Struct, shift: int, ordinal: int) -> None:
    """A part's row group as it lies in the joined file. An offset of 0 is one the
    writer left unset (pyarrow's column chunk file_offset): nothing lies at 0 but the
    magic. A page's offset index holds file offsets of its own, inside the part's
    bytes, which are copied as they are: a part with one is refused."""
    _shift(group, (GROUP_FILE_OFFSET,), shift)
    if group.get(GROUP_ORDINAL) is not None:
        group.set(GROUP_ORDINAL, ordinal)
    for chunk in group.get(GROUP_COLUMNS).items:
        if chunk.get(CHUNK_OFFSET_INDEX):
            raise ValueError("a Parquet part with page indexes cannot be moved")
        _shift(chunk, CHUNK_OFFSETS, shift)
        meta = chunk.get(CHUNK_META)
        if meta is not None:
            _shift(meta, META_OFFSETS, shift)


def _shift(s: Struct, fids: tuple[int, ...], shift: int) -> None:
    for f in s.fields:
        if f[0] in fids and f[2]:
            f[2] += shift
