"""output/thrift_compact: Thrift's compact protocol, read and written back byte for byte.

Two sources the codec did not make: bytes derived by hand from the protocol's
specification (Apache Thrift, doc/specs/thrift-compact-protocol.md), and the footers
pyarrow's Parquet writer (Apache Thrift's C++ writer) puts in real files."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paths import local_capture

import portannot
from portannot.output.thrift_compact import (
    BINARY,
    BYTE,
    DOUBLE,
    I16,
    I32,
    I64,
    LIST,
    STRUCT,
    Encoded,
    List,
    Struct,
    read_struct,
    write_struct,
)

#: (struct, its bytes), each derived by hand: a field header is the id's step from the
#: previous field in the high nibble and the type in the low one (a step above 15, or
#: none, is the type byte and then the id as a zigzag varint); integers are zigzag
#: varints (0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3 ...); a boolean field's value is its type
#: (1 true, 2 false); a list header is the size in the high nibble and the element type
#: in the low one (size 15 and up: 0xF then a varint); a struct ends with a 0 byte
HAND_MADE = [
    (Struct([[1, I32, -1]]), bytes([0x15, 0x01, 0x00])),
    (Struct([[1, I64, 150]]), bytes([0x16, 0xAC, 0x02, 0x00])),  # zigzag 300: ac 02
    (Struct([[3, I16, 1], [4, I32, -2]]), bytes([0x34, 0x02, 0x15, 0x03, 0x00])),
    (Struct([[1, 1, True], [2, 2, False]]), bytes([0x11, 0x12, 0x00])),
    (Struct([[17, I32, 0]]), bytes([0x05, 0x22, 0x00, 0x00])),  # a step of 17: long form
    (Struct([[2, I32, 5], [1, I32, 6]]), bytes([0x25, 0x0A, 0x05, 0x02, 0x0C, 0x00])),
    (Struct([[1, BINARY, b"PAR1"]]), bytes([0x18, 0x04]) + b"PAR1" + bytes([0x00])),
    (Struct([[1, BYTE, -1]]), bytes([0x13, 0xFF, 0x00])),
    (Struct([[1, DOUBLE, 1.0]]), bytes([0x17]) + bytes.fromhex("000000000000f03f") + bytes([0x00])),
    (Struct([[1, LIST, List(I32, [1, 2, 3])]]), bytes([0x19, 0x35, 0x02, 0x04, 0x06, 0x00])),
    (Struct([[1, LIST, List(I32, list(range(15)))]]),
     bytes([0x19, 0xF5, 0x0F]) + bytes(2 * k for k in range(15)) + bytes([0x00])),
    (Struct([[1, LIST, List(1, [True])]]), bytes([0x19, 0x11, 0x01, 0x00])),  # a byte each
    (Struct([[1, STRUCT, Struct([[1, I32, 1]])]]), bytes([0x1C, 0x15, 0x02, 0x00, 0x00])),
]


@pytest.mark.parametrize("value,data", HAND_MADE)
def test_hand_derived_bytes(value, data):
    assert write_struct(value) == data
    read, end = read_struct(data)
    assert end == len(data)
    assert read == value


def test_false_in_a_list_reads_from_0_and_2():
    """The specification sends false in a list as 0; Apache Thrift's C++ and Java
    writers send 2 (the false field type), which is what this codec writes back."""
    read, _ = read_struct(bytes([0x19, 0x21, 0x00, 0x02, 0x00]))
    assert read.get(1).items == [False, False]
    assert write_struct(read) == bytes([0x19, 0x21, 0x02, 0x02, 0x00])


def _footer(data: bytes) -> tuple[bytes, int]:
    size = int.from_bytes(data[-8:-4], "little")
    return data[-8 - size:-8], size


@pytest.mark.parametrize("kind", ["flows", "packets"])
def test_pyarrow_footers_read_and_written_back(kind, tmp_path):
    """Footers of real files: flows and packets of a capture, in 20 or more row groups
    of over 15 columns (the long list header), with and without statistics and
    dictionaries, with null counts and key-value metadata."""
    table = getattr(portannot, kind)(local_capture("demo.pcap"))
    table = table.replace_schema_metadata({b"portannot": b"\xc3\xa9t\xc3\xa9"})
    for options in ({}, {"use_dictionary": False, "write_statistics": False},
                    {"compression": "zstd", "column_encoding": None}):
        path = tmp_path / f"{kind}.parquet"
        pq.write_table(table, path, row_group_size=max(1, table.num_rows // 20), **{k: v for k, v in options.items()
                                                          if v is not None})
        data = path.read_bytes()
        footer, _ = _footer(data)
        meta, end = read_struct(footer)
        assert end == len(footer)
        assert write_struct(meta) == footer
        groups = meta.get(4).items
        assert len(groups) == pq.ParquetFile(path).metadata.num_row_groups > 15
        assert meta.get(3) == table.num_rows == sum(g.get(3) for g in groups)


def test_truncated_data_is_a_value_error():
    _, data = HAND_MADE[6]
    for cut in range(1, len(data) - 1):
        with pytest.raises(ValueError):
            read_struct(data[:cut])


def test_a_type_no_footer_has_is_refused():
    with pytest.raises(ValueError, match="type 11"):
        read_struct(bytes([0x1B, 0x00, 0x00]))  # a map
    with pytest.raises(ValueError):
        write_struct(Struct([[1, 11, {}]]))


def test_set_and_get():
    s = Struct([[1, I32, 5], [4, I64, 0]])
    s.set(4, 9)
    assert (s.get(1), s.get(4), s.get(2)) == (5, 9, None)
    with pytest.raises(KeyError):
        s.set(2, 1)


def test_encoded_values_are_copied_as_they_are():
    """A list of structs kept as their bytes writes as the list of the structs."""
    inner = [Struct([[1, I32, k], [2, BINARY, b"x" * k]]) for k in range(20)]
    as_trees = Struct([[1, I64, 7], [4, LIST, List(STRUCT, inner)]])
    as_bytes = Struct([[1, I64, 7], [4, LIST, List(STRUCT, [Encoded(write_struct(i))
                                                            for i in inner])]])
    assert write_struct(as_bytes) == write_struct(as_trees)
    assert read_struct(write_struct(as_bytes))[0] == as_trees


def _demo_footer() -> bytes:
    import io

    sink = io.BytesIO()
    pq.write_table(portannot.flows(local_capture("demo.pcap")), sink)
    return _footer(sink.getvalue())[0]


FOOTER = _demo_footer()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(FOOTER) - 1), st.integers(0, 255)), max_size=6),
       st.integers(0, len(FOOTER)))
def test_damaged_footers_read_or_raise_value_error(changes, cut):
    """A footer with bytes changed or cut short either reads or is a ValueError: the
    joiner's fallback catches that one (writers.BatchWriter._join_parts)."""
    data = bytearray(FOOTER)
    for pos, value in changes:
        data[pos] = value
    try:
        read_struct(bytes(data[:cut]))
    except ValueError:
        pass


def test_deep_nesting_is_a_value_error():
    with pytest.raises(ValueError, match="too deep"):
        read_struct(bytes([0x1C]) * 100_000 + bytes(100_000))
