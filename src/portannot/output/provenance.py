"""What a table of rows was made from, kept with the rows: the schema metadata of the
API's tables and of Parquet files, under the key ``portannot``.

A Parquet file of flows outlives the command that wrote it. Without this, nothing in
it says which captures it covers (the packets' `file` column is only an index into
the inputs), which registry named its services, or whether timeouts split its flows:
an analyst handed the file could not tell two runs' numbers apart.

    import pyarrow.parquet as pq
    portannot.output.provenance.read(pq.read_schema("flows.parquet"))
    # {'portannot': '0.1.0', 'command': 'flows', 'inputs': ['a.pcap', 'b.pcap'], ...}
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from portannot import __version__
from portannot.capture.source import Input, display_name
from portannot.output.text import text_path

if TYPE_CHECKING:
    import pyarrow as pa

    from portannot.registry import Registry, ServiceTable

#: the schema metadata key
KEY = b"portannot"


def provenance(command: str, inputs: Sequence[Input], table: ServiceTable | Registry,
               **settings: Any) -> dict[bytes, bytes]:
    """The metadata of `command`'s rows over `inputs` (in order: the packets' `file`
    column indexes this list), named from `table`, with the `settings` that change the
    rows (the flow timeouts, None when not set). File names that are not UTF-8 are
    given with backslash escapes (text_path), as summary --json gives them. A Registry
    gives its table (whose meta names the services file)."""
    from portannot.registry.table import as_table

    table = as_table(table)
    record = {
        "portannot": __version__,
        "command": command,
        "inputs": [text_path(display_name(p)) for p in inputs],
        "registry": text_path(table.source),
        "registry_date": table.date or None,  # the IANA CSV has none: null, not ""
        "services": _text(table.meta.get("services")),  # the --services file of local names
        **settings,
    }
    return {KEY: json.dumps(record, ensure_ascii=False).encode()}


def _text(path: str | None) -> str | None:
    return None if path is None else text_path(str(path))


def read(schema: pa.Schema) -> dict[str, Any] | None:
    """What provenance() recorded in a schema (a Table's, or pyarrow.parquet.read_schema's),
    or None if it holds none."""
    raw = (schema.metadata or {}).get(KEY)
    return None if raw is None else json.loads(raw)
