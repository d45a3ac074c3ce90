"""The output formats by name. Light (no pyarrow): the commands' --format option lists
them, and `--help` must not load the writers."""

#: the formats BatchWriter writes
WRITER_FORMATS = ("csv", "jsonl", "parquet")
#: what a command's --format takes: the writers' formats and the commands' terminal table
OUTPUT_FORMATS = ("table", *WRITER_FORMATS)
