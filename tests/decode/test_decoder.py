"""Decoder.decode on RecordBatches a caller builds: the compiled kernel trusts its arrays,
so a batch whose columns disagree must be refused before it runs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from paths import local_capture

from portannot.capture import CaptureReader, RecordBatch
from portannot.decode import Decoder


def _batch() -> RecordBatch:
    return next(iter(CaptureReader(local_capture("demo.pcap"))))


def test_a_batch_read_decodes() -> None:
    batch = _batch()
    assert len(Decoder().decode(batch)) == len(batch)


@pytest.mark.parametrize("field", ["caplen", "length", "linktype", "ts_ns", "interface"])
def test_columns_of_another_length_are_refused(field: str) -> None:
    """A column shorter than `offset` was read past its end by the kernel: garbage
    lengths and link types for the rows beyond it, and a segmentation fault once the
    read left the allocation (20,000 offsets over a 1-row caplen)."""
    batch = _batch()
    short = replace(batch, **{field: getattr(batch, field)[:3].copy()})
    with pytest.raises(ValueError, match=f"{field} has 3 rows, offset {len(batch)}"):
        Decoder().decode(short)


def test_an_offset_outside_the_data_is_refused() -> None:
    """A negative offset was read before the buffer (-5: a frame of bytes that are not
    the record's; -10**12: a segmentation fault)."""
    batch = _batch()
    offset = batch.offset.copy()
    offset[7] = -5
    with pytest.raises(ValueError, match="offset"):
        Decoder().decode(replace(batch, offset=offset))


@pytest.mark.parametrize(("field", "dtype"), [("offset", np.int32), ("caplen", np.int64),
                                              ("linktype", np.int32), ("data", np.int8)])
def test_a_column_of_another_type_says_which_and_what(field: str, dtype: type) -> None:
    """numba's own message named an argument number of the kernel's signature."""
    batch = _batch()
    wrong = replace(batch, **{field: getattr(batch, field).astype(dtype)})
    with pytest.raises(TypeError, match=f"RecordBatch.{field} must be"):
        Decoder().decode(wrong)
