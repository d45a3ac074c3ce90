"""JSON Lines built with Arrow kernels read back, value for value, as Python's json
module would write the same rows (non-finite floats as null)."""

from __future__ import annotations

import json
import math

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from portannot.output.jsonl import json_lines


def _expected(batch: pa.RecordBatch) -> list[dict]:
    rows = batch.to_pylist()
    return [{k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in r.items()}
            for r in rows]


def _read(batch: pa.RecordBatch) -> list[dict]:
    text = bytes(json_lines(batch)).decode()
    assert text == "" or text.endswith("\n")
    # JSON Lines split on "\n" only (str.splitlines would also split inside a value
    # holding U+0085 or U+2028, which JSON leaves unescaped)
    return [json.loads(line) for line in text.split("\n")[:-1]]


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(
    st.none() | st.integers(-(2**63), 2**63 - 1),
    st.none() | st.floats(allow_nan=True, allow_infinity=True),
    st.none() | st.text(),
    st.none() | st.booleans(),
    st.none() | st.sampled_from(["tcp", "udp", 'we"ird\\', "é"]),
), max_size=40))
def test_values_read_back_as_json_writes_them(rows):
    ints, floats, texts, bools, words = (list(c) for c in zip(*rows)) if rows else ([],) * 5
    batch = pa.RecordBatch.from_arrays(
        [pa.array(ints, pa.int64()), pa.array(floats, pa.float64()), pa.array(texts, pa.string()),
         pa.array(bools, pa.bool_()), pa.array(words, pa.string()).dictionary_encode()],
        names=["n", "x", "text", "flag", "word"])
    got = _read(batch)
    assert got == _expected(batch)
    for g, e in zip(got, _expected(batch)):  # floats stay floats: 3.0, not 3
        assert type(g["x"]) is type(e["x"])


def test_plain_rows_are_byte_for_byte_json_dumps():
    batch = pa.RecordBatch.from_pydict({
        "flow_id": pa.array([1, 2], pa.int64()),
        "orig_addr": ["192.0.2.1", "2001:db8::1"],
        "orig_port": pa.array([443, None], pa.uint16()),
        "duration": [0.023, 12.0],
        "service": pa.array(["https", None]).dictionary_encode(),
    })
    ref = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n"
                  for r in batch.to_pylist())
    assert bytes(json_lines(batch)).decode() == ref


def test_sliced_and_empty_batches():
    batch = pa.RecordBatch.from_pydict({"a": list(range(10)), "s": [str(i) for i in range(10)]})
    assert _read(batch.slice(3, 4)) == batch.slice(3, 4).to_pylist()
    assert bytes(json_lines(batch.slice(0, 0))) == b""
