"""What -o's file name says: the format (without -f) and the compression."""

from __future__ import annotations

import pytest

from portannot.output.formats import compression_refusal, output_compression, resolve_format


@pytest.mark.parametrize("name,fmt,compression", [
    ("flows.csv", "csv", None),
    ("flows.CSV", "csv", None),
    ("flows.csv.gz", "csv", "gzip"),
    ("flows.CSV.GZ", "csv", "gzip"),
    ("flows.jsonl.zst", "jsonl", "zstd"),
    ("flows.ndjson.zstd", "jsonl", "zstd"),
    ("packets.jsonl.bz2", "jsonl", "bzip2"),
    ("packets.csv.xz", "csv", "xz"),
    ("packets.csv.lz4", "csv", "lz4"),
    ("dir.csv/flows.gz", "table", "gzip"),  # a suffix is the file's, not its directory's
    ("flows.parquet.gz", "parquet", "gzip"),
    ("flows.txt.gz", "table", "gzip"),
    ("flows.gz", "table", "gzip"),
    ("flows.tar", "table", None),
    ("flows.csv.zip", "table", None),  # not a compression the reader reads
    ("-", "table", None),
])
def test_the_name_says_the_format_and_the_compression(name, fmt, compression):
    assert resolve_format(None, name, "table") == fmt
    assert output_compression(name) == compression


def test_f_wins_over_the_name_and_keeps_its_compression():
    assert resolve_format("jsonl", "flows.csv.gz", "table") == "jsonl"
    assert output_compression("flows.csv.gz") == "gzip"
    assert compression_refusal("jsonl", "flows.csv.gz") is None


@pytest.mark.parametrize("fmt,name,says", [
    ("parquet", "flows.parquet.gz", "drop .gz"),
    ("parquet", "flows.csv.zst", "Parquet"),
    ("table", "flows.gz", ".csv.gz or .jsonl.gz"),
    ("table", "flows.csv.lz4", "-f csv or -f jsonl"),
])
def test_parquet_and_the_table_are_not_compressed(fmt, name, says):
    refusal = compression_refusal(fmt, name)
    assert refusal is not None and says in refusal and "\n" not in refusal


@pytest.mark.parametrize("fmt", ["table", "csv", "jsonl", "parquet"])
def test_an_uncompressed_name_is_never_refused(fmt):
    assert compression_refusal(fmt, "flows.csv") is None
    assert compression_refusal(fmt, None) is None
    assert compression_refusal(fmt, "-") is None
