"""Which registry is in use, the compiled-table cache, and `registry update`.

Order (README, "Choosing a registry"): ``--registry FILE``; ``$PORTANNOT_REGISTRY``;
the registry installed by ``portannot registry update`` in the user data
directory; the snapshot shipped in the package.  ``--services FILE`` adds local
names on top of whichever it is.

The compiled table is cached in the user cache directory under a key made of
each source file's path, size and modification time (and the table layout
version), so a changed source is rebuilt and an unchanged one loads in
milliseconds without parsing a record.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import platformdirs

from portannot import __version__
from portannot.errors import RegistryError
from portannot.registry.catalog import Registry
from portannot.registry.detect import IANA_FORMATS, parse_bytes, parse_file, read_registry_file
from portannot.registry.iana_csv import FORMAT as CSV_FORMAT
from portannot.registry.iana_xml import FORMAT as XML_FORMAT
from portannot.registry.record import ParseResult
from portannot.registry.table import TABLE_VERSION, ServiceTable

log = logging.getLogger("portannot.registry")

ENV_REGISTRY = "PORTANNOT_REGISTRY"
ENV_DATA_DIR = "PORTANNOT_DATA_DIR"
ENV_CACHE_DIR = "PORTANNOT_CACHE_DIR"

IANA_CSV_URL = (
    "https://www.iana.org/assignments/service-names-port-numbers/service-names-port-numbers.csv"
)
SNAPSHOT_DIR = Path(__file__).resolve().parent / "data"
SNAPSHOT_META = "snapshot.json"
INSTALLED_META = "installed.json"
_CACHE_KEEP = 16
#: A download larger than this is not a registry (the real CSV is ~1.2 MB).
MAX_DOWNLOAD = 64 * 1024 * 1024

#: how the registry in use was chosen (README, "Choosing a registry")
Kind = Literal["option", "env", "installed", "snapshot"]


def data_dir() -> Path:
    """User data directory ($PORTANNOT_DATA_DIR overrides, for tests and sandboxes)."""
    env = os.environ.get(ENV_DATA_DIR)
    return Path(env) if env else Path(platformdirs.user_data_dir("portannot", appauthor=False))


def cache_dir() -> Path:
    """User cache directory for compiled tables ($PORTANNOT_CACHE_DIR overrides)."""
    env = os.environ.get(ENV_CACHE_DIR)
    return Path(env) if env else Path(platformdirs.user_cache_dir("portannot", appauthor=False))


def installed_dir() -> Path:
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


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def installed_source() -> RegistrySource | None:
    """The registry `registry update` installed, if any. Metadata that cannot be read
    or names no file there is warned about, once a run, and the shipped snapshot used:
    names from it beat none."""
    where = installed_dir() / INSTALLED_META
    if not where.exists():
        return None
    meta = _read_json(where)
    name = meta.get("file") if isinstance(meta, dict) else None
    path = installed_dir() / name if isinstance(name, str) and name else None
    if path is None or path.parent != installed_dir() or not path.is_file():
        _warn_once(f"{where}: the installed registry is damaged or gone (run `portannot "
                   "registry update` again); using the shipped snapshot")
        return None
    return RegistrySource(
        path,
        "installed",
        str(meta.get("url") or meta.get("from") or path),
        meta.get("date", ""),
        meta,
    )


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning("%s", message)


def snapshot_source() -> RegistrySource:
    """The snapshot shipped in the package (see scripts/build_registry_snapshot.py)."""
    meta = _read_json(SNAPSHOT_DIR / SNAPSHOT_META)
    if not meta or not (SNAPSHOT_DIR / meta.get("file", "")).is_file():
        raise RegistryError(
            f"the shipped registry snapshot is missing from {SNAPSHOT_DIR}; "
            "run `portannot registry update` or pass --registry FILE"
        )
    label = f"snapshot:{meta.get('source', 'unknown')}"
    return RegistrySource(
        SNAPSHOT_DIR / meta["file"], "snapshot", label, meta.get("date", ""), meta
    )


def resolve_source(registry: str | os.PathLike[str] | None = None) -> RegistrySource:
    """Pick the registry by the order of README "Choosing a registry"."""
    if registry is not None:
        path = Path(registry)
        _check_readable(path, "registry file")
        return RegistrySource(path, "option", str(path))
    env = os.environ.get(ENV_REGISTRY)
    if env:
        path = Path(env)
        _check_readable(path, "registry file", f" (from ${ENV_REGISTRY})")
        return RegistrySource(path, "env", str(path))
    return installed_source() or snapshot_source()


def _check_readable(path: Path, what: str, where: str = "") -> None:
    """A file given by name may be anything readable but a directory: a regular file, a
    FIFO or a /dev/fd/N (`--registry <(zcat services.gz)`); is_file() refused those."""
    if path.is_dir():
        raise RegistryError(f"{path}: is a directory, not a {what}{where}")
    if not path.exists():
        raise RegistryError(f"{path}: {what} not found{where}")


def _regular(path: str | os.PathLike[str]) -> bool:
    """A file the table cache can key: a pipe has no size or time that says whether
    what it gives next is what it gave before."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


# -- records -------------------------------------------------------------------


def _report(parsed: ParseResult) -> list[str]:
    """Skipped records are counted and reported, never dropped silently; the warning
    is returned too, for the cached table to repeat it on every later run."""
    for note in parsed.notes:
        log.warning("%s", note)
    if not parsed.problems:
        return list(parsed.notes)
    first = parsed.problems[0]
    more = f" (and {len(parsed.problems) - 1} more)" if len(parsed.problems) > 1 else ""
    message = f"{parsed.path}: {len(parsed.problems)} record(s) skipped; first: {first}{more}"
    log.warning("%s", message)
    return [*parsed.notes, message]


def load_registry(
    registry: str | os.PathLike[str] | None = None,
    services: str | os.PathLike[str] | None = None,
) -> Registry:
    """Parse the chosen registry's records (and ``services``' local names).

    Use :func:`load_table` when only the port table is needed: it skips parsing.
    """
    src = resolve_source(registry)
    parsed = parse_file(src.path)
    warnings = _report(parsed)
    local = None
    if services is not None:
        local = parse_file(services)
        warnings += _report(local)
    date = parsed.date or src.date
    meta = {"kind": src.kind, "warnings": warnings}
    return Registry(parsed, source=src.source, date=date, local=local, meta=meta)


# -- compiled-table cache --------------------------------------------------------


def _stamp(path: Path) -> list[Any]:
    st = path.stat()
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


def cache_key(src: RegistrySource, services: str | os.PathLike[str] | None) -> str:
    """Key of the compiled table: changes whenever a source file changes."""
    parts: list[Any] = [TABLE_VERSION, src.kind, src.source, src.date, _stamp(src.path)]
    if services is not None:
        parts.append(_stamp(Path(services)))
    from portannot.checksum import checksums  # only a table from the cache needs it

    crc, adler = checksums([json.dumps(parts).encode()])  # a file name, not a security boundary
    return f"{crc:08x}{adler:08x}"


def cache_path(src: RegistrySource, services: str | os.PathLike[str] | None = None) -> Path:
    return cache_dir() / "tables" / f"{cache_key(src, services)}.npz"


def _prune(folder: Path, keep: int = _CACHE_KEEP) -> None:
    with contextlib.suppress(OSError):
        files = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[keep:]:
            old.unlink(missing_ok=True)


def load_table(
    registry: str | os.PathLike[str] | None = None,
    services: str | os.PathLike[str] | None = None,
) -> ServiceTable:
    """The service table of the chosen registry, from the cache when it is current.

    A first use parses the registry and saves the table; later uses load the
    saved table in milliseconds.  A cache that cannot be written (read-only
    home) only costs the parse each time.
    """
    src = resolve_source(registry)
    if services is not None:
        _check_readable(Path(services), "services file")
    cacheable = _regular(src.path) and (services is None or _regular(services))
    if not cacheable:  # a pipe is read once, and parsed
        table = load_registry(registry, services).table()
        table.meta["kind"] = src.kind
        return table
    path = cache_path(src, services)
    if path.is_file():
        try:
            table = ServiceTable.load(path)
        except (OSError, ValueError, KeyError) as exc:
            log.debug("ignoring unreadable cached table %s: %s", path, exc)
        else:
            for message in table.meta.get("warnings", []):
                log.warning("%s", message)  # as the run that parsed the files said
            return table
    reg = load_registry(registry, services)
    table = reg.table()
    table.meta["kind"] = src.kind
    try:
        table.save(path)
        _prune(path.parent)
    except OSError as exc:
        log.debug("cannot cache the table in %s: %s", path, exc)
    return table


# -- registry update ---------------------------------------------------------------


@dataclass
class Download:
    data: bytes
    url: str
    last_modified: str = ""  #: YYYY-MM-DD from the Last-Modified header, if any


def download(url: str, timeout: float = 60.0) -> Download:
    """Fetch ``url`` completely or raise RegistryError (short reads included)."""
    import email.utils  # only `registry update` fetches: the HTTP stack stays out of start-up
    import http.client
    import urllib.error
    import urllib.request

    try:
        # a URL Request refuses (no scheme, a broken IPv6 host) is a failed download too
        request = urllib.request.Request(url, headers={"User-Agent": f"portannot/{__version__}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read(MAX_DOWNLOAD + 1)
            expected = response.headers.get("Content-Length")
            modified = response.headers.get("Last-Modified", "")
    except urllib.error.HTTPError as exc:
        raise RegistryError(f"{url}: download failed: HTTP {exc.code} {exc.reason}") from None
    except http.client.IncompleteRead as exc:  # a chunked body that stopped early
        raise RegistryError(
            f"{url}: download incomplete ({len(exc.partial)} bytes, then the connection ended)"
        ) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError,
            OverflowError) as exc:
        reason = getattr(exc, "reason", None) or str(exc) or exc.__class__.__name__
        raise RegistryError(f"{url}: download failed: {reason}") from None
    if len(data) > MAX_DOWNLOAD:
        raise RegistryError(f"{url}: download larger than {MAX_DOWNLOAD} bytes, not a registry")
    if expected and expected.isdigit() and int(expected) != len(data):
        raise RegistryError(f"{url}: download incomplete ({len(data)} of {expected} bytes)")
    date = ""
    if modified:
        with contextlib.suppress(TypeError, ValueError):
            date = email.utils.parsedate_to_datetime(modified).date().isoformat()
    return Download(data, url, date)


#: the last port the IANA registry lists (49151, Reserved; 49152 up are dynamic): a
#: CSV cut between records parses cleanly, but stops short of it
IANA_LAST_LISTED = 49151


def validate(parsed: ParseResult, min_records: int) -> None:
    """Refuse a registry that would make names worse than the one in place."""
    if parsed.problems:
        raise RegistryError(
            f"{parsed.path}: {len(parsed.problems)} malformed record(s), not installed; "
            f"first: {parsed.problems[0]} (use --registry FILE to use it anyway)"
        )
    named_ports = sum(1 for r in parsed.records if r.name and r.has_port)
    if len(parsed.records) < min_records or named_ports == 0:
        raise RegistryError(
            f"{parsed.path}: only {len(parsed.records)} record(s) ({named_ports} named ports), "
            f"fewer than {min_records}: not a complete registry, not installed"
        )
    if parsed.format in IANA_FORMATS:
        last = max((r.port_hi or r.port_lo or 0 for r in parsed.records if r.has_port), default=0)
        if last < IANA_LAST_LISTED:
            raise RegistryError(
                f"{parsed.path}: its port records stop at {last}, and IANA's run to "
                f"{IANA_LAST_LISTED}: a registry cut short, not installed"
            )


def _file_name(fmt: str) -> str:
    if fmt == CSV_FORMAT:
        return "service-names-port-numbers.csv"
    if fmt == XML_FORMAT:
        return "service-names-port-numbers.xml"
    return f"{fmt}.txt"


def install(
    data: bytes, origin: str, *, url: str = "", date: str = "", min_records: int = 1000
) -> RegistrySource:
    """Validate registry bytes and make them the installed registry.

    Nothing in place is touched until the new file has parsed and passed
    :func:`validate`; the file and its metadata are then replaced atomically.
    """
    import hashlib

    from portannot.atomic_file import atomic_write  # only an install writes here

    parsed = parse_bytes(data, origin)
    validate(parsed, min_records)
    folder = installed_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        old = _read_json(folder / INSTALLED_META)
        name = _file_name(parsed.format)
        with atomic_write(folder / name) as fh:
            fh.write(data)
        meta = {
            "file": name,
            "format": parsed.format,
            "url": url,
            "from": origin,
            "date": parsed.date or date,
            "installed": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "records": len(parsed.records),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        with atomic_write(folder / INSTALLED_META) as fh:
            fh.write((json.dumps(meta, indent=2) + "\n").encode())
        stale = old.get("file") if isinstance(old, dict) else None
        if isinstance(stale, str) and stale and stale != name and "/" not in stale:
            (folder / stale).unlink(missing_ok=True)
    except OSError as exc:
        raise RegistryError(
            f"{folder}: cannot install the registry ({exc.strerror or exc})"
        ) from None
    src = installed_source()
    assert src is not None
    return src


def update(
    url: str | None = None,
    file: str | os.PathLike[str] | None = None,
    *,
    min_records: int = 1000,
    timeout: float = 60.0,
) -> RegistrySource:
    """`portannot registry update`: fetch (or read) a registry, validate, install."""
    if url and file:
        raise RegistryError("give --url or --file, not both")
    if file is not None:
        return install(read_registry_file(file), str(Path(file)), min_records=min_records)
    got = download(url or IANA_CSV_URL, timeout=timeout)
    return install(got.data, got.url, url=got.url, date=got.last_modified, min_records=min_records)
