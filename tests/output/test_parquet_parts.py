"""output/parquet_parts: row groups encoded apart, joined into the file pyarrow's own
writer makes of the same groups, byte for byte."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from paths import local_capture

import portannot
from portannot.output.parquet_parts import Part, PartJoiner
from portannot.output.thrift_compact import read_struct, write_struct
from portannot.output.writers import parquet_encodings


def _file(groups: list[pa.Table], schema: pa.Schema) -> bytes:
    """The groups written by one pyarrow.parquet.ParquetWriter, one row group each."""
    sink = io.BytesIO()
    with pq.ParquetWriter(sink, schema, compression="zstd", **parquet_encodings(schema)) as w:
        for group in groups:
            w.write_table(group, row_group_size=1 << 62)
    return sink.getvalue()


def _groups(kind: str, sizes: list[int]) -> tuple[list[pa.Table], pa.Schema]:
    table = getattr(portannot, kind)(local_capture("demo.pcap"))
    table = pa.concat_tables([table] * (sum(sizes) // table.num_rows + 1)).combine_chunks()
    schema = table.schema.with_metadata({b"portannot": b'{"test": 1}'})
    groups, start = [], 0
    for size in sizes:
        groups.append(table.slice(start, size).replace_schema_metadata(schema.metadata))
        start += size
    return groups, schema


@pytest.mark.parametrize("kind", ["flows", "packets"])
@pytest.mark.parametrize("sizes", [[1], [500], [3, 1000, 17], [40] * 20])
def test_joined_parts_are_one_writers_file(kind, sizes):
    """Each group written as a file of its own, then joined: the bytes of one writer
    given the same groups (offsets moved, row counts summed, everything else kept)."""
    groups, schema = _groups(kind, sizes)
    sink = io.BytesIO()
    joiner = PartJoiner(sink)
    for group in groups:
        joiner.add(Part.of(_file([group], schema)))
    joiner.finish()
    whole = _file(groups, schema)
    assert sink.getvalue() == whole
    meta = pq.ParquetFile(io.BytesIO(whole)).metadata
    assert [meta.row_group(k).num_rows for k in range(meta.num_row_groups)] == sizes
    assert pq.read_table(io.BytesIO(sink.getvalue())).equals(
        pa.concat_tables(groups).replace_schema_metadata(schema.metadata))


def test_parts_of_several_groups():
    """A part may hold several row groups: the joined file lists them all, in order."""
    groups, schema = _groups("flows", [30, 30, 30, 30])
    out = io.BytesIO()
    joiner = PartJoiner(out)
    for pair in (groups[:2], groups[2:]):
        joiner.add(Part.of(_file(pair, schema)))
    joiner.finish()
    assert out.getvalue() == _file(groups, schema)
    joined = pq.ParquetFile(io.BytesIO(out.getvalue()))
    for k in range(4):
        assert joined.read_row_group(k).equals(groups[k].replace_schema_metadata(schema.metadata))


def test_parts_with_page_indexes_are_refused():
    """An offset index lists its pages' file offsets inside the part's own bytes, which
    the joiner copies as they are: such a part would join into a file whose page index
    points into the wrong row group, so it is refused (the commands write none)."""
    groups, schema = _groups("flows", [30, 30])
    sink = io.BytesIO()
    with pq.ParquetWriter(sink, schema, write_page_index=True) as w:
        w.write_table(groups[1], row_group_size=1 << 62)
    joiner = PartJoiner(io.BytesIO())
    joiner.add(Part.of(_file([groups[0]], schema)))
    with pytest.raises(ValueError, match="page indexes"):
        joiner.add(Part.of(sink.getvalue()))
    # what the refusal prevents: the index read at its (moved) offset still gives the
    # part's own page offsets, not the joined file's
    part = sink.getvalue()
    footer, _ = read_struct(part, len(part) - 8 - int.from_bytes(part[-8:-4], "little"))
    chunk = footer.get(4).items[0].get(1).items[0]
    index, _ = read_struct(part, chunk.get(4))
    assert index.get(1).items[0].get(1) == chunk.get(3).get(9) < len(part)


def test_joiner_writes_forward_only():
    """A pipe cannot seek: the joiner only ever appends."""

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b) -> int:
            self.data += b
            return len(b)

        def seekable(self) -> bool:
            return False

    groups, schema = _groups("packets", [50, 50])
    pipe = Pipe()
    joiner = PartJoiner(pipe)
    for group in groups:
        joiner.add(Part.of(_file([group], schema)))
    joiner.finish()
    assert bytes(pipe.data) == _file(groups, schema)


@pytest.mark.parametrize("data", [b"", b"PAR1", b"PAR1" + bytes(8), b"not parquet at all",
                                  b"PAR1" + b"\x00" + (1000).to_bytes(4, "little") + b"PAR1"])
def test_not_a_parquet_file(data):
    with pytest.raises(ValueError):
        Part.of(data)


def test_finish_without_parts():
    with pytest.raises(ValueError, match="no Parquet part"):
        PartJoiner(io.BytesIO()).finish()


def test_joiner_keeps_each_row_group_as_its_bytes():
    """A file's footer grows with its row groups (a long `packets` run writes hundreds):
    the joiner holds each group in its written form, about what its footer entry takes,
    not as a tree of Python objects (~40x that)."""
    import gc
    import tracemalloc

    class Discard(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b) -> int:
            return len(b)

    groups, schema = _groups("packets", [1] * 200)
    files = [_file([g], schema) for g in groups]
    joiner = PartJoiner(Discard())
    joiner.add(Part.of(files[0]))
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for data in files[1:]:
        joiner.add(Part.of(data))
    gc.collect()
    kept = sum(d.size_diff for d in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    entry = len(write_struct(read_struct(files[0], _footer_start(files[0]))[0].get(4).items[0]))
    assert kept / 199 < 3 * entry, (kept / 199, entry)


def _footer_start(data: bytes) -> int:
    return len(data) - 8 - int.from_bytes(data[-8:-4], "little")
