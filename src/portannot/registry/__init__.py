"""The IANA service-name and port-number registry: records, table, choice of source.

``load_table()`` is what the packet stages need (a :class:`ServiceTable`,
milliseconds from the cache); ``load_registry()`` gives the full records for
look-ups by name and for details.
"""

from typing import TYPE_CHECKING, Any

from portannot.registry.cache import load_table
from portannot.registry.catalog import Entry, Registry
from portannot.registry.detect import FORMATS, IANA_FORMATS, detect_format, parse_bytes, parse_file
from portannot.registry.record import ParseProblem, ParseResult, Person, PortState, ServiceRecord
from portannot.registry.source import RegistrySource, load_registry, resolve_source
from portannot.registry.table import ServiceTable, build_table

if TYPE_CHECKING:
    from portannot.registry.install import IANA_CSV_URL, update

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
    # `registry update`'s names load when used: the other commands never install
    if name in ("IANA_CSV_URL", "update"):
        from portannot.registry import install

        return getattr(install, name)
    raise AttributeError(f"module 'portannot.registry' has no attribute {name!r}")
