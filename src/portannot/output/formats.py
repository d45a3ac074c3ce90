"""The output formats by name. Light (no pyarrow): the commands' --format option lists
them, and `--help` must not load the writers."""

#: the formats BatchWriter writes
WRITER_FORMATS = ("csv", "jsonl", "parquet")
#: what a command's --format takes: the writers' formats and the commands' terminal table
OUTPUT_FORMATS = ("table", *WRITER_FORMATS)

#: what -o's file name says when -f is not given (a name that says none: the table)
SUFFIX_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet",
                  ".pq": "parquet"}


#: what -o's name says when it ends in a compression suffix: the text is written so
#: compressed (output.compressed), in the format the suffix before it says; the suffixes
#: of the tools whose formats the capture reader decompresses (capture.compression)
COMPRESSION_SUFFIXES = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd",
                        ".zstd": "zstd", ".lz4": "lz4"}
#: the formats a compressed output may hold: Parquet compresses its pages itself (zstd),
#: and the table is a view of the top rows for a person to read
COMPRESSIBLE_FORMATS = ("csv", "jsonl")


def _suffix(name: str) -> str:
    """The file name's last suffix, lower case (`.CSV` is `.csv`), or "" if it has none."""
    dot = name.rfind(".")
    return name[dot:].lower() if dot > max(name.rfind("/"), 0) else ""


def output_compression(output: str | None) -> str | None:
    """The compression -o's name asks for (`flows.csv.gz`: gzip), or None."""
    if output in (None, "-"):
        return None
    return COMPRESSION_SUFFIXES.get(_suffix(output))


def resolve_format(fmt: str | None, output: str | None, default: str) -> str:
    """-f when given; else what the -o file's name says (`-o flows.csv` is CSV, not the
    table view of the top rows in a file named .csv), the compression suffix set aside
    (`flows.csv.gz` is CSV too); else `default`."""
    if fmt is not None:
        return fmt
    if output not in (None, "-"):
        if output_compression(output) is not None:
            output = output[: output.rfind(".")]
        return SUFFIX_FORMATS.get(_suffix(output), default)
    return default


def compression_refusal(fmt: str, output: str | None) -> str | None:
    """Why `fmt` cannot be written compressed to `output`, as the one line of a usage
    error, or None if it can (or the name asks for no compression)."""
    compression = output_compression(output)
    if compression is None or fmt in COMPRESSIBLE_FORMATS:
        return None
    suffix = output[output.rfind("."):] if output else ""
    if fmt == "parquet":
        return (f"-o {output}: Parquet is not written {suffix}-compressed (it compresses its "
                f"pages itself, zstd): drop {suffix} from the name, or give -f csv or -f jsonl")
    return (f"-o {output}: a {suffix} file is written as CSV or JSON Lines, not the table: end "
            f"its name .csv{suffix} or .jsonl{suffix}, or give -f csv or -f jsonl")
