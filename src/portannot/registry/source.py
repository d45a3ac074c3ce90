"""Which registry is in use, and reading its records.

Order (README, "Choosing a registry"): ``--registry FILE``; ``$PORTANNOT_REGISTRY``;
the registry installed by ``portannot registry update`` in the user data
directory; the snapshot shipped in the package.  ``--services FILE`` adds local
names on top of whichever it is.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from portannot.errors import RegistryError
from portannot.output.plural import counted
from portannot.registry import dirs

if TYPE_CHECKING:  # loaded when a registry is parsed (see the package's _LAZY)
    import logging

    from portannot.registry.catalog import Registry
    from portannot.registry.record import ParseResult

#: the logger the registry's warnings go to (records skipped, a damaged install)
LOGGER = "portannot.registry"
#: what is to be done to that logger once it is made (when_logging)
_WHEN_LOGGING: list[Callable[[logging.Logger], None]] = []


class _RegistryLog:
    """The registry's logger, taken from logging when a message is first logged:
    logging (with traceback and string) is ~3 ms of a command's start, and a table
    read from the cache has nothing to say. Attributes are the logger's."""

    def __getattr__(self, name: str) -> Any:
        import logging

        logger = logging.getLogger(LOGGER)
        while _WHEN_LOGGING:
            _WHEN_LOGGING.pop(0)(logger)
        return getattr(logger, name)


log = _RegistryLog()


def when_logging(setup: Callable[[logging.Logger], None]) -> None:
    """Have `setup` (a handler added: the command's warning lines) done to the registry's
    logger before its next message, without loading logging now."""
    if setup not in _WHEN_LOGGING:
        _WHEN_LOGGING.append(setup)

ENV_REGISTRY = "PORTANNOT_REGISTRY"
ENV_DATA_DIR = "PORTANNOT_DATA_DIR"

SNAPSHOT_DIR = Path(__file__).resolve().parent / "data"
SNAPSHOT_META = "snapshot.json"
INSTALLED_META = "installed.json"

#: how the registry in use was chosen (README, "Choosing a registry")
Kind = Literal["option", "env", "installed", "snapshot"]


def data_dir() -> Path:
    """User data directory ($PORTANNOT_DATA_DIR overrides, for tests and sandboxes)."""
    env = os.environ.get(ENV_DATA_DIR)
    return Path(env) if env else Path(dirs.user_data_dir())


def installed_dir() -> Path:
    """Where `registry update` installs a registry and its metadata."""
    return data_dir() / "registry"


@dataclass
class RegistrySource:
    """The registry file chosen, how it was chosen, and what is known about it."""

    path: Path
    kind: Kind
    source: str  #: path, URL or 'snapshot:...' shown to users
    date: str = ""  #: registry date known without parsing (install/snapshot metadata)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def how(self) -> str:
        return {
            "option": "--registry",
            "env": f"${ENV_REGISTRY}",
            "installed": "installed by `portannot registry update`",
            "snapshot": "shipped snapshot",
        }[self.kind]


def read_json(path: Path) -> dict[str, Any] | None:
    """A metadata file's JSON, or None if it cannot be read or parsed: what damaged
    metadata means is the caller's to say."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None  # JSON, but not metadata


def installed_source() -> RegistrySource | None:
    """The registry `registry update` installed, if any. Metadata that cannot be read
    or names no file there is warned about, once a run, and the shipped snapshot used:
    names from it beat none."""
    where = installed_dir() / INSTALLED_META
    try:
        if not where.exists():
            return None
    except OSError as exc:  # a data directory this user may not search (another's HOME)
        _warn_once(f"{where}: cannot look for an installed registry ({exc.strerror or exc}); "
                   "using the shipped snapshot")
        return None
    meta = read_json(where) or {}
    name = meta.get("file")
    path = installed_dir() / name if isinstance(name, str) and name else None
    # without the digest the install recorded, a changed file could not be told: damaged
    if (path is None or path.parent != installed_dir() or not path.is_file()
            or not _is_digest(meta.get("sha256"))):
        _warn_once(f"{where}: the installed registry is damaged or gone (run `portannot "
                   "registry update` again); using the shipped snapshot")
        return None
    if not _as_installed(path, meta):
        _warn_once(f"{path}: the installed registry has changed since `portannot registry "
                   "update` installed it (its SHA-256 differs: run the update again); using "
                   "the shipped snapshot")
        return None
    return RegistrySource(
        path,
        "installed",
        str(meta.get("url") or meta.get("from") or path),
        meta.get("date", ""),
        meta,
    )


def _as_installed(path: Path, meta: dict[str, Any]) -> bool:
    """Whether the installed file is still the one `registry update` checked and
    installed: a file cut short or overwritten since would be parsed as it is, its
    names past the damage silently gone, or stop every command. The file's size and
    time, as the install recorded them, answer without reading it; when they differ
    (or the install could not record them), its SHA-256 does."""
    try:
        st = path.stat()
    except OSError:
        return False
    if _unchanged(st, meta):
        return True
    digest = meta["sha256"]
    import hashlib  # only here: 3 ms of every run's start otherwise

    try:
        return bool(hashlib.sha256(path.read_bytes()).hexdigest() == digest)
    except OSError:
        return False


def _unchanged(st: os.stat_result, meta: dict[str, Any]) -> bool:
    """Whether the file's stat is the one the install recorded. Size and modification
    time alone passed a file rewritten to its own size with its time put back (`touch
    -r`, `cp -p`); the change time (no call sets it) and the inode tell that too. An
    install recorded before they were kept is checked by size and time, as it was."""
    recorded = [meta.get("size"), meta.get("mtime_ns")]
    now = [st.st_size, st.st_mtime_ns]
    for key, value in (("ctime_ns", st.st_ctime_ns), ("ino", st.st_ino)):
        if key in meta:
            recorded.append(meta[key])
            now.append(value)
    return now == recorded


def _is_digest(value: object) -> bool:
    """Whether `value` is a SHA-256 as hex, as `registry update` records it."""
    return (isinstance(value, str) and len(value) == 64
            and all(c in "0123456789abcdef" for c in value))


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning("%s", message)


#: how the shipped snapshot's source is labelled: this, then what it was built from
SNAPSHOT_LABEL = "snapshot:"


def snapshot_source() -> RegistrySource:
    """The snapshot shipped in the package (see scripts/build_registry_snapshot.py)."""
    meta = read_json(SNAPSHOT_DIR / SNAPSHOT_META)
    if not meta or not (SNAPSHOT_DIR / meta.get("file", "")).is_file():
        raise RegistryError(
            f"the shipped registry snapshot is missing from {SNAPSHOT_DIR}; "
            "run `portannot registry update` or pass --registry FILE"
        )
    label = f"{SNAPSHOT_LABEL}{meta.get('source', 'unknown')}"
    return RegistrySource(
        SNAPSHOT_DIR / meta["file"], "snapshot", label, meta.get("date", ""), meta
    )


def source_text(source: str) -> str:
    """A registry's source for people. The snapshot's label names the file it was built
    from, "debian libwireshark-data 4.0.17 (/usr/share/wireshark/services)", which read
    as if that file on this machine were read: said here as what the shipped snapshot
    was built from."""
    if not source.startswith(SNAPSHOT_LABEL):
        return source
    meta = snapshot_source().meta
    if meta.get("kind") == "wireshark-services" and meta.get("package"):
        built_from = (f"Wireshark's services file in Debian's {meta['package']} "
                      f"{meta.get('version', '')}").rstrip()
    else:
        built_from = source.removeprefix(SNAPSHOT_LABEL)
    return f"the shipped snapshot, built from {built_from}"


def resolve_source(registry: str | os.PathLike[str] | None = None) -> RegistrySource:
    """Pick the registry by the order of README "Choosing a registry"."""
    if registry is not None:
        path = Path(registry)
        check_readable(path, "registry file")
        return RegistrySource(path, "option", str(path))
    env = os.environ.get(ENV_REGISTRY)
    if env:
        path = Path(env)
        check_readable(path, "registry file", f" (from ${ENV_REGISTRY})")
        return RegistrySource(path, "env", str(path))
    return installed_source() or snapshot_source()


def check_readable(path: Path, what: str, where: str = "") -> None:
    """A file given by name may be anything readable but a directory: a regular file, a
    FIFO or a /dev/fd/N (`--registry <(zcat services.gz)`); is_file() refused those.
    A name holding a NUL byte is said to be one: is_dir() and exists() answer False for
    it, which read as "not found" of a file that cannot exist."""
    if "\0" in str(path):
        from portannot.printable import nul_in_name

        raise RegistryError(nul_in_name(str(path)))
    if path.is_dir():
        raise RegistryError(f"{path}: is a directory, not a {what}{where}")
    if not path.exists():
        raise RegistryError(f"{path}: {what} not found{where}")


def _report(parsed: ParseResult) -> list[str]:
    """Skipped records are counted and reported, never dropped silently; the warning
    is returned too, for the cached table to repeat it on every later run."""
    for note in parsed.notes:
        log.warning("%s", note)
    if not parsed.problems:
        return list(parsed.notes)
    first = parsed.problems[0]
    more = f" (and {len(parsed.problems) - 1} more)" if len(parsed.problems) > 1 else ""
    message = f"{parsed.path}: {counted(len(parsed.problems), 'record')} skipped; first: {first}{more}"
    log.warning("%s", message)
    return [*parsed.notes, message]


def _has_records(parsed: ParseResult) -> None:
    """RegistryError for a file with no well-formed record (README: not a registry). An
    IANA CSV cut after its header, or an XML <registry/>, parsed as a registry of
    nothing, and every port was then 'unassigned': `lookup 80/tcp` said so, exit 1."""
    if parsed.records:
        return
    if not parsed.problems:
        raise RegistryError(f"{parsed.path}: no record in it: not a registry")
    skipped = counted(len(parsed.problems), "record")
    raise RegistryError(f"{parsed.path}: no well-formed record in it ({skipped} skipped; "
                        f"first: {parsed.problems[0]}): not a registry")


def load_registry(
    registry: str | os.PathLike[str] | None = None,
    services: str | os.PathLike[str] | None = None,
    *,
    src: RegistrySource | None = None,
) -> Registry:
    """Parse the chosen registry's records (and ``services``' local names); `src`: the
    registry already resolved from `registry` (see _load_registry).

    Use :func:`load_table` when only the port table is needed: it skips parsing.
    """
    with unreadable_as_registry_error():
        return _load_registry(registry, services, src)


@contextmanager
def unreadable_as_registry_error() -> Iterator[None]:
    """A registry file, or a directory on the way to one, that cannot be read is a
    RegistryError (exit 6) naming it: as a bare OSError it reached the command's output
    handling and was reported as "standard output: write failed" (exit 5)."""
    try:
        yield
    except RegistryError:
        raise
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise RegistryError(f"{where}cannot read the registry ({exc.strerror or exc})") from None


def _load_registry(
    registry: str | os.PathLike[str] | None,
    services: str | os.PathLike[str] | None,
    src: RegistrySource | None = None,
) -> Registry:
    """`src`: the registry already resolved (load_table keys its cache on it: resolved
    again here, a registry installed meanwhile was parsed under the other's key)."""
    from portannot.registry.catalog import Registry
    from portannot.registry.detect import IANA_FORMATS, parse_file, parse_local_file

    src = src or resolve_source(registry)
    parsed = parse_file(src.path)
    _has_records(parsed)
    warnings = _report(parsed)
    local = None
    if services is not None:
        check_readable(Path(services), "services file")  # worded as load_table words it
        local = parse_local_file(services)
        if local.problems or local.format in IANA_FORMATS:  # README: a services file of
            _has_records(local)  # comments only names nothing; one of bad lines is refused
        warnings += _report(local)
    date = parsed.date or src.date
    meta = {"kind": src.kind, "warnings": warnings}
    return Registry(parsed, source=src.source, date=date, local=local, meta=meta)
