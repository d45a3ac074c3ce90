"""`portannot registry update`: fetch (or read) a registry, validate it, install it.

Nothing in place is touched until the new registry has parsed and passed
:func:`validate`; its file is then written under a name of its own, and its
metadata, replacing the installed metadata atomically, is the one step that switches
registries: an install killed at any point leaves the old registry or the new one.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portannot import __version__
from portannot.errors import RegistryError
from portannot.output.plural import counted
from portannot.registry.detect import (
    IANA_FORMATS,
    MAX_REGISTRY,
    parse_bytes,
    read_registry_file,
)
from portannot.registry.iana_csv import FORMAT as CSV_FORMAT
from portannot.registry.iana_xml import FORMAT as XML_FORMAT
from portannot.registry.record import ParseResult
from portannot.registry.source import (
    INSTALLED_META,
    RegistrySource,
    installed_dir,
    installed_source,
    read_json,
)

IANA_CSV_URL = (
    "https://www.iana.org/assignments/service-names-port-numbers/service-names-port-numbers.csv"
)
#: A download, or a registry (inflated), larger than this is not a registry (the real
#: CSV is ~1.2 MB, the XML ~3.9 MB): the bound a registry file on disk has too.
MAX_DOWNLOAD = MAX_REGISTRY


@dataclass
class Download:
    """A registry fetched whole: its bytes, the URL, and the date the server gave it."""

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
        expected, modified, data = _fetch_by(request, timeout)
    except urllib.error.HTTPError as exc:
        exc.close()  # the error is the response: its connection, else left to the collector
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


def _fetch_by(request: Any, timeout: float) -> tuple[str | None, str, bytes]:
    """The response's Content-Length and Last-Modified headers and its body, all of it
    within `timeout` s: urlopen's timeout bounds each wait on the socket only, so a
    server that sent its status line or headers a byte at a time kept `--timeout 1`
    going for as long as it liked. The connection is made by the deadline too
    (_connect_by); a watchdog then shuts it at the deadline (the body's reads end there
    on their own: _read_by); what that cut fails with is reported as the timeout: here,
    one that came before the headers were all in (the body's count is _read_by's to
    give)."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    url = request.full_url

    def early() -> RegistryError:
        return RegistryError(f"{url}: download failed: not complete after {timeout:g} s"
                             " (before the end of the headers)")

    try:
        with _Watchdog(timeout, deadline) as watchdog:
            opener = urllib.request.build_opener(*watchdog.handlers())
            with opener.open(request, timeout=timeout) as response:
                # http.client ends the headers at the shut connection's end as at a
                # blank line: fired by now, they may be cut (and no body follows)
                if watchdog.fired():
                    raise early()
                return (response.headers.get("Content-Length"),
                        response.headers.get("Last-Modified", ""),
                        _read_by(response, deadline, url, timeout, watchdog.fired))
    except RegistryError:
        raise
    except Exception:
        if time.monotonic() >= deadline:
            raise early() from None
        raise


class _Watchdog:
    """Shuts the sockets of the connections its handlers open once `timeout` s have
    passed, which ends a read waiting on one (recv returns: the connection is shut);
    its handlers' connections are made by `deadline` (time.monotonic()), the moment
    it fires."""

    def __init__(self, timeout: float, deadline: float) -> None:
        import threading

        self.deadline = deadline
        self._sockets: list[Any] = []
        self._lock = threading.Lock()
        self._fired = False
        self._timer = threading.Timer(timeout, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        import threading

        # a wait past TIMEOUT_MAX (inf: the API's download refuses it later) overflows
        if self._timer.interval < threading.TIMEOUT_MAX:
            self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def fired(self) -> bool:
        """Whether the deadline came and the connections were shut."""
        with self._lock:
            return self._fired

    def _fire(self) -> None:
        with self._lock:
            self._fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def _opened(self, sock: Any) -> None:
        with self._lock:
            self._sockets.append(sock)
            fired = self._fired
        if fired:  # connected after the deadline
            _shut(sock)

    def handlers(self) -> list[Any]:
        """urllib handlers for http and https whose connections this watchdog holds."""
        import functools
        import urllib.request

        watch = self._opened
        connect_by = functools.partial(_connect_by, deadline=self.deadline, opened=watch)

        def watched(connection: type) -> type:
            class Watched(connection):  # type: ignore[valid-type,misc]
                def __init__(self, *args: Any, **kw: Any) -> None:
                    super().__init__(*args, **kw)
                    self._create_connection = connect_by

                def connect(self) -> None:
                    super().connect()
                    watch(self.sock)
            return Watched

        # over do_open, which each version's http_open/https_open call with the class
        # and the arguments of its own (3.11's check_hostname, gone in 3.12)
        class HTTPHandler(urllib.request.HTTPHandler):
            def do_open(self, http_class: type, req: Any, **kw: Any) -> Any:
                return super().do_open(watched(http_class), req, **kw)

        class HTTPSHandler(urllib.request.HTTPSHandler):
            def do_open(self, http_class: type, req: Any, **kw: Any) -> Any:
                return super().do_open(watched(http_class), req, **kw)

        return [HTTPHandler(), HTTPSHandler()]


def _connect_by(address: tuple[str, int], timeout: float | None,
                source_address: tuple[str, int] | None = None, *, deadline: float,
                opened: Callable[[Any], None]) -> Any:
    """socket.create_connection (as http.client calls it) with each step ending by
    `deadline`: urlopen's `timeout` bounded each connect attempt, and the name lookup not
    at all, and was the TLS handshake's whole bound counted from its own start (CPython
    bounds a handshake as a whole by its socket's timeout), so a slow resolver or
    connect added its time to `--timeout`'s. The lookup runs in a thread of its own
    (getaddrinfo takes no timeout; one given up on is left to finish, as a daemon); each
    address is tried with what is left, and the socket leaves with what is left then,
    the bound of a proxy's CONNECT and the handshake that follow. The socket goes to the
    watchdog as soon as it is connected."""
    import socket

    error: OSError | None = None
    for family, kind, proto, _canon, where in _lookup_by(*address, deadline):
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(_left(deadline))
            if source_address:
                sock.bind(source_address)
            sock.connect(where)
            sock.settimeout(_left(deadline))
        except OSError as exc:
            sock.close()
            error = exc
            continue
        except BaseException:  # settimeout's OverflowError (an infinite timeout), Ctrl-C
            sock.close()
            raise
        opened(sock)
        return sock
    raise error or OSError(f"{address[0]}: the name lookup gave no address")


def _lookup_by(host: str, port: int, deadline: float) -> list[tuple[Any, ...]]:
    """getaddrinfo(host, port) for a stream, or TimeoutError once `deadline` has come."""
    import socket
    import threading

    answer: list[Any] = []

    def look() -> None:
        try:
            answer.append(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM))
        except Exception as exc:  # noqa: BLE001 - handed to the waiting thread
            answer.append(exc)

    thread = threading.Thread(target=look, name="portannot-lookup", daemon=True)
    thread.start()
    thread.join(min(_left(deadline), threading.TIMEOUT_MAX))
    if not answer:
        raise TimeoutError(f"looking up {host} timed out")
    if isinstance(answer[0], Exception):
        raise answer[0]
    found: list[tuple[Any, ...]] = answer[0]
    return found


def _left(deadline: float) -> float:
    """The seconds left until `deadline`, or TimeoutError when none are."""
    import time

    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


def _shut(sock: Any) -> None:
    """Shut `sock` both ways, its TLS layer left alone (SSLSocket.shutdown would drop
    the state of the read under way in another thread): the read sees the end."""
    import socket

    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _read_by(response: Any, deadline: float, url: str, timeout: float,
             cut: Callable[[], bool] = lambda: False) -> bytes:
    """The body, up to MAX_DOWNLOAD + 1 bytes, read whole by `deadline`: urlopen's
    timeout bounds each wait on the socket, so a server that sent a little now and then
    kept `--timeout 2` going for as long as it liked. `cut` says whether the watchdog
    shut the connection: the read that ended there is the timeout, not the body's end."""
    import http.client
    import time

    # the socket under http.client's buffered reader (none for a file: URL; an ftp: URL's
    # response, which has a socket but no isclosed(), keeps urlopen's wait per read)
    sock = None
    if isinstance(response, http.client.HTTPResponse):
        sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
    # read1: one wait on the socket at most (read(n) waits until it has all n bytes)
    read = getattr(response, "read1", response.read)
    chunks: list[bytes] = []
    got = 0
    def late() -> RegistryError:
        return RegistryError(
            f"{url}: download failed: not complete after {timeout:g} s ({got} bytes)")

    while got <= MAX_DOWNLOAD:
        left = deadline - time.monotonic()
        if left <= 0:
            raise late()
        if sock is not None and not response.isclosed():  # closed: the body is in
            sock.settimeout(left)  # the last wait ends at the deadline too
        try:
            chunk = read(min(_STEP, MAX_DOWNLOAD + 1 - got))
        except http.client.IncompleteRead as exc:  # said of the whole body, not this step
            exc.partial = b"".join(chunks) + exc.partial
            raise
        except OSError:  # the last wait's own timeout, or the watchdog's shut: the count
            if cut() or time.monotonic() >= deadline:  # is known here, not in _fetch_by
                raise late() from None
            raise
        if not chunk:
            if cut() or time.monotonic() >= deadline:  # the watchdog's shut, not the end
                raise late()
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


_STEP = 64 * 1024

#: the last port the IANA registry lists (49151, Reserved; 49152 up are dynamic): a
#: CSV cut between records parses cleanly, but stops short of it
IANA_LAST_LISTED = 49151


def validate(parsed: ParseResult, min_records: int) -> None:
    """Refuse a registry that would make names worse than the one in place."""
    if parsed.problems:
        raise RegistryError(
            f"{parsed.path}: {counted(len(parsed.problems), 'malformed record')}, not installed; "
            f"first: {parsed.problems[0]} (use --registry FILE to use it anyway)"
        )
    named_ports = sum(1 for r in parsed.records if r.name and r.has_port)
    if len(parsed.records) < min_records or named_ports == 0:
        raise RegistryError(
            f"{parsed.path}: only {counted(len(parsed.records), 'record')} "
            f"({counted(named_ports, 'named port')}), "
            f"fewer than {min_records:,}: not a complete registry, not installed"
        )
    if parsed.format in IANA_FORMATS:
        last = max((r.port_hi or r.port_lo or 0 for r in parsed.records if r.has_port), default=0)
        if last < IANA_LAST_LISTED:
            raise RegistryError(
                f"{parsed.path}: its port records stop at {last}, and IANA's run to "
                f"{IANA_LAST_LISTED}: a registry cut short, not installed"
            )


def _file_name(fmt: str, digest: str) -> str:
    """The installed file's name: its format's, with the first 16 hex digits of its
    SHA-256, so that a new registry never overwrites the one the metadata names (see
    install)."""
    if fmt == CSV_FORMAT:
        stem, ext = "service-names-port-numbers", "csv"
    elif fmt == XML_FORMAT:
        stem, ext = "service-names-port-numbers", "xml"
    else:
        stem, ext = fmt, "txt"
    return f"{stem}.{digest[:16]}.{ext}"


#: a killed install's temporary (atomic_file's name) is removed once it is this old: a
#: younger one may be another command's file being written (an -o into this folder)
STALE_TEMP_SECONDS = 86_400


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """The install folder, locked against other installs (flock on the folder itself:
    released however the process ends, kill -9 included)."""
    try:
        import fcntl
    except ImportError:  # no flock here: installs are not serialised
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _tidy(folder: Path, stale: object, keep: set[str]) -> None:
    """Remove the registry two installs back (`stale`, as the metadata replaced named
    it), unless it is one of `keep`, and killed installs' temporaries a day old. Only
    names the metadata gave are removed: the folder may be one PORTANNOT_DATA_DIR names,
    holding a user's own registry files under the same names."""
    import time

    from portannot.atomic_file import TEMP_PREFIX, TEMP_SUFFIX

    if isinstance(stale, str) and stale and "/" not in stale and stale not in keep:
        with contextlib.suppress(OSError):
            (folder / stale).unlink()
    now = time.time()
    for path in folder.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime > STALE_TEMP_SECONDS:
                path.unlink()


def install(
    data: bytes, origin: str, *, url: str = "", date: str = "", min_records: int = 1000,
    recorded: str = "",
) -> RegistrySource:
    """Validate registry bytes and make them the installed registry.

    Nothing in place is touched until the new file has parsed and passed
    :func:`validate`; the file is then written beside the one in place, and the
    metadata, replaced atomically, switches to it.
    """
    import hashlib

    from portannot.atomic_file import atomic_write  # only an install writes here

    parsed = parse_bytes(data, origin, limit=MAX_DOWNLOAD)
    validate(parsed, min_records)
    digest = hashlib.sha256(data).hexdigest()
    name = _file_name(parsed.format, digest)
    folder = installed_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with _locked(folder):
            old = read_json(folder / INSTALLED_META)
            # The file goes in under a name of its own, and the metadata, renamed over the
            # old, is the one step that switches registries: written over the file the
            # metadata named, a kill -9 or a failure (disk full) between the two renames
            # left the new file under the old metadata, a registry "changed since the
            # install", and neither registry in use.
            with atomic_write(folder / name) as fh:
                fh.write(data)
            meta = {
                "file": name,
                "format": parsed.format,
                "url": url,
                "from": recorded or origin,
                "date": parsed.date or date,
                "installed": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "records": len(parsed.records),
                "sha256": digest,
            }
            # the registry replaced stays, for a command that chose it just before the
            # switch and has yet to open it; the next install removes it
            previous = old.get("file") if isinstance(old, dict) else None
            if isinstance(previous, str) and previous != name:
                meta["previous"] = previous
            st = (folder / name).stat()  # what installed_source checks the file by
            meta.update(size=st.st_size, mtime_ns=st.st_mtime_ns, ctime_ns=st.st_ctime_ns,
                        ino=st.st_ino)
            with atomic_write(folder / INSTALLED_META) as fh:
                fh.write((json.dumps(meta, indent=2) + "\n").encode())
            stale = old.get("previous") if isinstance(old, dict) else None
            _tidy(folder, stale, {name, meta.get("previous", name)})
    except OSError as exc:
        raise RegistryError(
            f"{folder}: cannot install the registry ({exc.strerror or exc})"
        ) from None
    src = installed_source()
    assert src is not None
    return src


def check_source(url: str | None, file: str | os.PathLike[str] | None) -> None:
    """ValueError unless at most one of `url` and `file` is given, and a URL not empty
    (which fell back to IANA's without a word)."""
    if url is not None and file is not None:
        raise ValueError("give a URL or a file, not both")
    if url is not None and not url.strip():
        raise ValueError("an empty URL (give none for IANA's)")


def update(
    url: str | None = None,
    file: str | os.PathLike[str] | None = None,
    *,
    min_records: int = 1000,
    timeout: float = 60.0,
) -> RegistrySource:
    """`portannot registry update`: fetch (or read) a registry, validate, install."""
    check_source(url, file)
    if file is not None:
        # parse messages name the file as given; the record, read from anywhere, in full
        return install(read_registry_file(file), str(Path(file)), min_records=min_records,
                       recorded=os.path.abspath(file))
    got = download(url or IANA_CSV_URL, timeout=timeout)
    return install(got.data, got.url, url=got.url, date=got.last_modified, min_records=min_records)
