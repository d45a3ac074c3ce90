"""The output formats by name. Light (no pyarrow): the commands' --format option lists
them, and `--help` must not load the writers."""

#: the formats BatchWriter writes
WRITER_FORMATS = ("csv", "jsonl", "parquet")
#: what a command's --format takes: the writers' formats and the commands' terminal table
OUTPUT_FORMATS = ("table", *WRITER_FORMATS)

#: what -o's file name says when -f is not given (a name that says none: the table)
SUFFIX_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet",
                  ".pq": "parquet"}


def resolve_format(fmt: str | None, output: str | None, default: str) -> str:
    """-f when given; else what the -o file's name says (`-o flows.csv` is CSV, not the
    table view of the top rows in a file named .csv); else `default`."""
    if fmt is not None:
        return fmt
    if output not in (None, "-"):
        dot = output.rfind(".")
        if dot > max(output.rfind("/"), 0):
            return SUFFIX_FORMATS.get(output[dot:].lower(), default)
    return default
