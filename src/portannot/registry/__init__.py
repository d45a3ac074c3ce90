"""The IANA service-name and port-number registry: records, table, choice of source.

``load_table()`` is what the packet stages need (a :class:`ServiceTable`,
milliseconds from the cache); ``load_registry()`` gives the full records for
look-ups by name and for details.
"""

from portannot.registry.catalog import Entry, Registry
from portannot.registry.detect import FORMATS, IANA_FORMATS, detect_format, parse_bytes, parse_file
from portannot.registry.record import ParseProblem, ParseResult, Person, PortState, ServiceRecord
from portannot.registry.store import (
    IANA_CSV_URL,
    RegistrySource,
    load_registry,
    load_table,
    resolve_source,
    update,
)
from portannot.registry.table import ServiceTable, build_table

__all__ = [
    "Entry",
    "FORMATS",
    "IANA_FORMATS",
    "IANA_CSV_URL",
    "ParseProblem",
    "ParseResult",
    "Person",
    "PortState",
    "Registry",
    "RegistrySource",
    "ServiceRecord",
    "ServiceTable",
    "build_table",
    "detect_format",
    "load_registry",
    "load_table",
    "parse_bytes",
    "parse_file",
    "resolve_source",
    "update",
]
