"""What -o's file name says: the format (without -f) and the compression."""

from __future__ import annotations

import pytest

from portannot.output.formats import (
    compression_refusal,
    name_refusal,
    output_compression,
    resolve_format,
)


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


@pytest.mark.parametrize("name,says", [
    ("flows.json", "-o flows.json: JSON is not written; JSON Lines is: -f jsonl or name it .jsonl"),
    ("flows.JSON", "JSON is not written"),
    ("flows.json.gz", "name it .jsonl.gz"),  # the compression suffix kept in the advice
    ("flows.tsv", "TSV is not written; CSV is: -f csv or name it .csv"),
    ("flows.tsv.zst", "name it .csv.zst"),
    ("dir/flows.xlsx", "Excel"),
    ("flows.xls", "Excel"),
    ("flows.ods", "OpenDocument"),
    ("flows.arrow", "Parquet is: -f parquet or name it .parquet"),
    ("flows.feather", "Feather"),
    ("flows.feather.gz", "name it .parquet"),  # Parquet is never written compressed
    ("flows.orc", "ORC"),
    ("flows.avro", "Avro"),
    ("flows.pcap", "a capture is not written, rows are"),
    ("flows.pcapng", "a capture is not written"),
])
def test_a_data_format_that_is_not_written_is_refused(name, says):
    """A name whose suffix is a data format portannot does not write got the terminal
    table (README: a name that says no format is the table): `-o flows.json` wrote the
    top-20 view, exit 0, in a file that JSON readers then refused."""
    refusal = name_refusal(None, name)
    assert refusal is not None and says in refusal and "\n" not in refusal


@pytest.mark.parametrize("name", ["flows", "flows.txt", "flows.log", "flows.out", "flows.TXT",
                                  "flows.csv", "flows.jsonl", "flows.parquet", "flows.csv.xz",
                                  "json/flows", "flows.json.d/x", "-", None])
def test_a_name_that_says_a_written_format_or_none_is_not_refused(name):
    assert name_refusal(None, name) is None


@pytest.mark.parametrize("fmt", ["table", "csv", "jsonl", "parquet"])
def test_f_given_writes_any_name(fmt):
    """-f wins over the name, as it does over .csv: `-f csv -o flows.tsv` is CSV."""
    assert name_refusal(fmt, "flows.tsv") is None
    assert name_refusal(fmt, "flows.json") is None


@pytest.mark.parametrize("name", [".csv", "dir/.csv", "./.csv", ".json", "dir/.json",
                                  ".csv.gz", "dir/.gz"])
def test_a_dot_file_name_is_no_suffix_in_any_directory(name):
    """`-o dir/.csv` was CSV and `-o .csv` the table: a name that starts with its only
    dot is a dot file's whole name, not a suffix (os.path.splitext, pathlib), in the
    current directory or any other."""
    bare = name.rsplit("/", 1)[-1]
    assert resolve_format(None, name, "table") == resolve_format(None, bare, "table")
    assert output_compression(name) == output_compression(bare)
    assert name_refusal(None, name) is None
    assert resolve_format(None, ".csv", "table") == "table"
    assert output_compression(".gz") is None
