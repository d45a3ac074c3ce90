"""Short fuzz run of the capture reader and the decoder (issue #5), with hypothesis.

Seeds: every capture of pcaps/ and ../shared/pcaps (the first 256 KiB of each).
Mutations (tests/fuzz/harness.py): bit flips, length fields set to interesting
values, truncation, duplicated / deleted / swapped / spliced records and blocks,
runs of empty blocks, random insertions, byte-order flips, file-header fields,
re-compression with gzip/bz2/xz/zstd/LZ4 (sometimes damaged). Each input is read through
the chunked reader (small and default windows) and through the memory map.

Properties (harness.check): no exception but a one-line PortannotError escapes,
the status counts add up, nothing is decoded from outside a record (each record
decoded alone, between guard bytes, equals it decoded in place; every record lies
inside the buffer and in the input), problems name offsets inside the input; and
no hang: a watchdog aborts the process with a traceback if one input takes 60 s.

The long run of the same harness is `python scripts/fuzz_long.py --minutes 30`.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import harness as H

SEEDS = H.load_seeds(limit=1 << 18)
OTHERS = [s.plain for s in SEEDS]

pytestmark = pytest.mark.skipif(not SEEDS, reason="no seed captures in pcaps/ or ../shared/pcaps")

FUZZ = settings(max_examples=500, deadline=None, derandomize=False, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(index=st.integers(0, max(len(SEEDS) - 1, 0)), rnd=st.randoms(use_true_random=False),
       chunk=st.sampled_from([4096, 8192, 1 << 22]))
def test_mutated_captures(workdir, index, rnd: random.Random, chunk):
    seed = SEEDS[index]
    data = H.mutate(seed.plain, rnd, OTHERS)
    data, suffix = H.maybe_compress(data, rnd, seed.compression)
    with H.watchdog(60):
        H.check(data, workdir, chunk, suffix)


@pytest.mark.parametrize("seed", SEEDS, ids=[s.path.name for s in SEEDS])
def test_seeds_unmutated(tmp_path, seed):
    """The properties hold on every seed itself (and its recompressed form)."""
    with H.watchdog(60):
        out = H.check(seed.plain, tmp_path, 4096)
    assert not out.rejected, out.rejected


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=0, max_size=512), head=st.sampled_from(
    [b"", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1",
     b"\x0a\x0d\x0d\x0a", b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x4d\x3c\x2b\x1a"]))
def test_random_bytes_behind_a_magic(workdir, data, head):
    with H.watchdog(60):
        H.check(head + data, workdir, 4096)
