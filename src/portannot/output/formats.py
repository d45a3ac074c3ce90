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


#: what -o's name may say that is a data format not written -> (its name, what is
#: written instead: the -f value, or None for any). These are the formats that the
#: tools rows are loaded into (pandas' read_* functions, polars, DuckDB, spreadsheets)
#: read by that name, and the captures portannot itself reads: such a name got the
#: terminal table, exit 0, which each of them then refused or misread. A name that says
#: no data format (none, .txt, .log, .out, ...) still gets the table.
UNWRITTEN_FORMATS: dict[str, tuple[str, str | None]] = {
    ".tsv": ("TSV", "csv"),
    ".json": ("JSON", "jsonl"),
    ".xml": ("XML", "jsonl"),
    ".xlsx": ("Excel", "csv"),
    ".xls": ("Excel", "csv"),
    ".ods": ("OpenDocument", "csv"),
    ".arrow": ("Arrow IPC", "parquet"),
    ".arrows": ("Arrow IPC", "parquet"),
    ".ipc": ("Arrow IPC", "parquet"),
    ".feather": ("Feather", "parquet"),
    ".orc": ("ORC", "parquet"),
    ".avro": ("Avro", "parquet"),
    ".sqlite": ("SQLite", "parquet"),
    ".sqlite3": ("SQLite", "parquet"),
    ".duckdb": ("DuckDB", "parquet"),
    ".pcap": ("a capture", None),
    ".pcapng": ("a capture", None),
}
#: each written format's name, as the refusals give it
FORMAT_NAMES = {"csv": "CSV", "jsonl": "JSON Lines", "parquet": "Parquet"}


def _suffix(name: str) -> str:
    """The file name's last suffix, lower case (`.CSV` is `.csv`), or "" if it has none.
    A name whose only dot is its first character is a dot file's whole name, not a
    suffix (as os.path.splitext and pathlib take it), in any directory: `.csv` and
    `dir/.csv` alike."""
    base = name[name.rfind("/") + 1:]
    dot = base.rfind(".")
    return base[dot:].lower() if dot > 0 else ""


def output_compression(output: str | None) -> str | None:
    """The compression -o's name asks for (`flows.csv.gz`: gzip), or None."""
    if output in (None, "-"):
        return None
    return COMPRESSION_SUFFIXES.get(_suffix(output))


def _split_compression(output: str) -> tuple[str, str]:
    """-o's name and its compression suffix apart (`flows.csv.gz`: `flows.csv` and
    `.gz`); the suffix is "" where the name asks for no compression."""
    if output_compression(output) is None:
        return output, ""
    dot = output.rfind(".")
    return output[:dot], output[dot:]


def resolve_format(fmt: str | None, output: str | None, default: str) -> str:
    """-f when given; else what the -o file's name says (`-o flows.csv` is CSV, not the
    table view of the top rows in a file named .csv), the compression suffix set aside
    (`flows.csv.gz` is CSV too); else `default`."""
    if fmt is not None:
        return fmt
    if output not in (None, "-"):
        return SUFFIX_FORMATS.get(_suffix(_split_compression(output)[0]), default)
    return default


def compression_refusal(fmt: str, output: str | None) -> str | None:
    """Why `fmt` cannot be written compressed to `output`, as the one line of a usage
    error, or None if it can (or the name asks for no compression)."""
    if output is None or output_compression(output) is None or fmt in COMPRESSIBLE_FORMATS:
        return None
    suffix = _split_compression(output)[1]
    if fmt == "parquet":
        return (f"-o {output}: Parquet is not written {suffix}-compressed (it compresses its "
                f"pages itself, zstd): drop {suffix} from the name, or give -f csv or -f jsonl")
    return (f"-o {output}: a {suffix} file is written as CSV or JSON Lines, not the table: end "
            f"its name .csv{suffix} or .jsonl{suffix}, or give -f csv or -f jsonl")


def name_refusal(fmt: str | None, output: str | None) -> str | None:
    """Why -o's name cannot be written when -f is not given (`fmt` None), as the one line
    of a usage error: it says a data format portannot does not write (UNWRITTEN_FORMATS),
    also before a compression suffix (`flows.json.gz`). None if it can be written, or -f
    says the format (it wins over any name, as over `.csv`)."""
    if fmt is not None or output in (None, "-"):
        return None
    stem, compression = _split_compression(output)
    unwritten = UNWRITTEN_FORMATS.get(_suffix(stem))
    if unwritten is None:
        return None
    name, instead = unwritten
    if instead is None:
        return (f"-o {output}: {name} is not written, rows are: name it .csv, .jsonl or "
                f".parquet, or give -f csv, -f jsonl or -f parquet")
    # the compression suffix kept where the format is written so (never Parquet)
    suffix = f".{instead}" + (compression if instead in COMPRESSIBLE_FORMATS else "")
    return (f"-o {output}: {name} is not written; {FORMAT_NAMES[instead]} is: -f {instead} "
            f"or name it {suffix}")
