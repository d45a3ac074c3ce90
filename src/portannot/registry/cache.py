"""The compiled-table cache: ``load_table``.

The compiled table is cached in the user cache directory under a key made of
each source file's path, size, modification and change times and inode (and the
table layout version), so a changed source is rebuilt and an unchanged one loads in
milliseconds without parsing a record.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portannot.registry import dirs
from portannot.registry.source import (
    RegistrySource,
    check_readable,
    load_registry,
    log,
    resolve_source,
    unreadable_as_registry_error,
)
from portannot.registry.table import TABLE_VERSION, ServiceTable, as_table

if TYPE_CHECKING:
    from portannot.registry.catalog import Registry

ENV_CACHE_DIR = "PORTANNOT_CACHE_DIR"
_CACHE_KEEP = 16
#: a cached table's file name ends so (ServiceTable.save's form); .npz: an older version's
CACHE_SUFFIX = ".table"


def cache_dir() -> Path:
    """User cache directory for compiled tables ($PORTANNOT_CACHE_DIR overrides)."""
    env = os.environ.get(ENV_CACHE_DIR)
    return Path(env) if env else Path(dirs.user_cache_dir())


def _regular(path: str | os.PathLike[str]) -> bool:
    """A file the table cache can key: a pipe has no size or time that says whether
    what it gives next is what it gave before."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def cacheable(src: RegistrySource, services: str | os.PathLike[str] | None) -> bool:
    """Whether the table of these files is cached: of regular files only."""
    return _regular(src.path) and (services is None or _regular(services))


def _stamp(path: Path) -> list[Any]:
    """What says a source file is the one a cached table was built from. The size and
    modification time alone did not: a file rewritten to the same size with its time put
    back (`touch -r`, `cp -p`, rsync's default check, a tool keeping times) kept its
    stale table. The change time is the kernel's own (no call sets it) and the inode
    tells a file renamed over the old one."""
    st = path.stat()
    return [str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def cache_key(src: RegistrySource, services: str | os.PathLike[str] | None) -> str:
    """Key of the compiled table: changes whenever a source file changes."""
    parts: list[Any] = [TABLE_VERSION, src.kind, src.source, src.date, _stamp(src.path)]
    if services is not None:
        parts.append(_stamp(Path(services)))
    from portannot.checksum import checksums  # only a table from the cache needs it

    crc, adler = checksums([json.dumps(parts).encode()])  # a file name, not a security boundary
    return f"{crc:08x}{adler:08x}"


def cache_path(src: RegistrySource, services: str | os.PathLike[str] | None = None) -> Path:
    return cache_dir() / "tables" / f"{cache_key(src, services)}{CACHE_SUFFIX}"


def _prune(folder: Path, keep: int = _CACHE_KEEP) -> None:
    with contextlib.suppress(OSError):
        files = sorted(folder.glob(f"*{CACHE_SUFFIX}"), key=lambda p: p.stat().st_mtime,
                       reverse=True)
        for old in files[keep:]:
            old.unlink(missing_ok=True)


def load_table(
    registry: str | os.PathLike[str] | Registry | ServiceTable | None = None,
    services: str | os.PathLike[str] | None = None,
) -> ServiceTable:
    """The service table of the chosen registry, from the cache when it is current.

    A first use parses the registry and saves the table; later uses load the
    saved table in milliseconds.  A cache that cannot be written (read-only
    home) only costs the parse each time.

    `registry` is what the API's `registry=` takes: a registry loaded already (by
    load_registry(), or a table) gives its table, as the stages take either; it was a
    TypeError from os.fspath ('expected str, bytes or os.PathLike object, not
    Registry'). Its local names are in it already, so `services` beside it is refused.
    """
    ready = _ready(registry)
    if ready is not None:
        if services is not None:
            raise ValueError(
                f"services= cannot be added to a ready {type(registry).__name__}: give it "
                "to load_registry() or load_table() instead, or pass registry= as a file")
        return ready
    if registry is not None and not isinstance(registry, (str, os.PathLike)):
        raise TypeError("registry must be a file path, a Registry, a ServiceTable or None, "
                        f"not {type(registry).__name__}")
    if services is not None and not isinstance(services, (str, os.PathLike)):
        raise TypeError(f"services must be a file path or None, not {type(services).__name__}")
    with unreadable_as_registry_error():
        return _load_table(registry, services)


def _ready(registry: object) -> ServiceTable | None:
    """The table of a registry already loaded (a ServiceTable, or a Registry's), else None.
    The records' module is imported only when one may be a Registry (not for a path)."""
    if registry is None or isinstance(registry, (str, os.PathLike)):
        return None
    if isinstance(registry, ServiceTable):
        return registry
    from portannot.registry.catalog import Registry

    return as_table(registry) if isinstance(registry, Registry) else None


def _load_table(
    registry: str | os.PathLike[str] | None,
    services: str | os.PathLike[str] | None,
) -> ServiceTable:
    src = resolve_source(registry)
    if services is not None:
        check_readable(Path(services), "services file")
    if not cacheable(src, services):  # a pipe is read once, and parsed
        table = load_registry(registry, services, src=src).table()
        table.meta["kind"] = src.kind
        return table
    path = cache_path(src, services)
    try:
        table = ServiceTable.load(path)
    except FileNotFoundError:
        pass
    except Exception as exc:  # noqa: BLE001 - any damage (a cut or empty file: ValueError,
        # UnicodeDecodeError) is a miss, rebuilt and written over; it broke every command before
        log.debug("ignoring unreadable cached table %s: %s", path, exc)
    else:
        if services is not None:
            # the key is of the file, not of how it was named: one given under another
            # name (relative, from elsewhere) loads this table, built by a run that named
            # it its own way; the table names it as given now, as a parse would
            table.meta["services"] = str(Path(services))
        for message in table.meta.get("warnings", []):
            log.warning("%s", message)  # as the run that parsed the files said
        return table
    table = load_registry(registry, services, src=src).table()  # the source the key is of
    table.meta["kind"] = src.kind
    try:
        if cache_path(src, services) == path:  # not replaced while it was parsed
            table.save(path)
            _prune(path.parent)
    except OSError as exc:
        log.debug("cannot cache the table in %s: %s", path, exc)
    return table
