"""The IANA service-name and port-number registry: records, table, choice of source.

``load_table()`` is what the packet stages need (a :class:`ServiceTable`,
milliseconds from the cache); ``load_registry()`` gives the full records for
look-ups by name and for details.
"""

from typing import TYPE_CHECKING, Any

from portannot.registry.cache import load_table
from portannot.registry.source import RegistrySource, load_registry, resolve_source
from portannot.registry.state import PortState
from portannot.registry.table import ServiceTable, build_table

if TYPE_CHECKING:  # what __getattr__ hands out, for type checkers and editors
    from portannot.registry.catalog import Entry, Registry
    from portannot.registry.detect import (
        FORMATS,
        IANA_FORMATS,
        detect_format,
        parse_bytes,
        parse_file,
    )
    from portannot.registry.install import IANA_CSV_URL, update
    from portannot.registry.record import ParseProblem, ParseResult, Person, ServiceRecord

#: names loaded on first use, by module: the packet commands need only the table, and
#: the records' classes and the parsers were ~8 ms of every command's start
_LAZY = {
    "catalog": ("Entry", "Registry"),
    "detect": ("FORMATS", "IANA_FORMATS", "detect_format", "parse_bytes", "parse_file"),
    "install": ("IANA_CSV_URL", "update"),  # `registry update`'s: the others never install
    "record": ("ParseProblem", "ParseResult", "Person", "ServiceRecord"),
}

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


def __getattr__(name: str) -> Any:
    import importlib

    for module, names in _LAZY.items():
        if name in names:
            return getattr(importlib.import_module(f"portannot.registry.{module}"), name)
    raise AttributeError(f"module 'portannot.registry' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *(n for names in _LAZY.values() for n in names)})
