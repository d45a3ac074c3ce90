"""`registry update`'s install step: what a kill or a failure midway leaves."""

from __future__ import annotations

import os
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from portannot.registry import install, resolve_source, source

#: installs `argv[1]`, SIGKILLed right after the rename numbered `argv[2]`
_KILLED = """
import os, signal, sys
from portannot.registry import install
real, n, at = os.replace, [0], int(sys.argv[2])
def replace(a, b):
    real(a, b)
    n[0] += 1
    if n[0] == at:
        os.kill(os.getpid(), signal.SIGKILL)
os.replace = replace
install.update(file=sys.argv[1], min_records=10)
"""


@pytest.mark.parametrize("new", ["seed.csv", "seed.xml"])
def test_an_install_killed_between_its_renames_leaves_the_old_registry(
    new: str, fixtures: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The file was renamed over the one the metadata named, then the metadata: a kill
    -9 between the two left the new file under the old metadata ("changed since the
    install"), and the snapshot in use instead of either registry."""
    old = tmp_path / "old.csv"
    old.write_bytes((fixtures / "seed.csv").read_bytes().replace(b"grubd", b"grubx"))
    install.update(file=old, min_records=10)
    before = resolve_source()
    proc = subprocess.run([sys.executable, "-c", _KILLED, str(fixtures / new), "1"],
                          env=dict(os.environ), capture_output=True)
    assert proc.returncode == -9, proc.stderr
    source._warned.clear()
    with caplog.at_level("WARNING", logger="portannot.registry"):
        after = resolve_source()
    assert caplog.text == ""
    assert after.kind == "installed" and after.path == before.path
    assert after.meta["sha256"] == before.meta["sha256"]
    # the next install tidies what the killed one left, and is used
    install.update(file=fixtures / new, min_records=10)
    assert resolve_source().source == str(fixtures / new)
    left = sorted(p.name for p in source.installed_dir().iterdir())
    assert len(left) == 3 and "installed.json" in left  # the new one, and the one before


def test_an_install_whose_metadata_cannot_be_written_keeps_the_old_registry(
    fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure writing the metadata (a full disk) is "cannot install": the registry
    in place must still be the one in use, as README says."""
    old = tmp_path / "old.csv"
    old.write_bytes((fixtures / "seed.csv").read_bytes().replace(b"grubd", b"grubx"))
    install.update(file=old, min_records=10)
    before = resolve_source()
    import portannot.atomic_file as af  # install() imports atomic_write from it

    original = af.atomic_write

    def failing(path):  # the metadata's write fails
        if Path(path).name == "installed.json":
            raise OSError(28, "No space left on device")
        return original(path)

    monkeypatch.setattr(af, "atomic_write", failing)
    with pytest.raises(Exception, match="cannot install the registry"):
        install.update(file=fixtures / "seed.csv", min_records=10)
    source._warned.clear()
    after = resolve_source()
    assert after.kind == "installed" and after.meta["sha256"] == before.meta["sha256"]
    assert after.path.read_bytes() == old.read_bytes()


def _serve(handler: type) -> tuple[object, str]:
    import http.server
    import threading

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


def test_the_download_timeout_bounds_the_whole_download(fixtures: Path) -> None:
    """`--timeout` bounded each wait on the socket only: a server sending a little every
    0.2 s kept a 1 s timeout going until its body ended (8 s here)."""
    import http.server
    import time

    from portannot.errors import RegistryError

    body = (fixtures / "seed.csv").read_bytes()
    step = len(body) // 40 + 1

    class Trickle(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for i in range(0, len(body), step):
                    self.wfile.write(body[i:i + step])
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass

        def log_message(self, *args: object) -> None:
            pass

    httpd, url = _serve(Trickle)
    try:
        start = time.monotonic()
        with pytest.raises(RegistryError, match="download failed"):
            install.download(url, timeout=1.0)
        # the trickle alone takes 8 s or more: 5 s is far from both, on a loaded machine too
        assert time.monotonic() - start < 5
        # a timeout the trickle fits in: the download is whole
        assert install.download(url, timeout=30).data == body
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_read_the_watchdog_ended_is_the_timeout_not_the_end_of_the_body() -> None:
    """The watchdog shuts the connection at the deadline and the waiting read returns
    b'' as at the body's end: the short body then failed as 'download incomplete (490 of
    3905 bytes)' instead of the timeout (seen once in CI, when the shut came while the
    read was waiting, after the loop's own deadline check)."""
    import io
    import time

    from portannot.errors import RegistryError

    class Shut(io.RawIOBase):  # a first piece, then the end a shut connection reads as
        def __init__(self) -> None:
            self.pieces = [b"x" * 490, b""]

        def readable(self) -> bool:
            return True

        def read1(self, n: int = -1) -> bytes:
            return self.pieces.pop(0)

    far = time.monotonic() + 60
    with pytest.raises(RegistryError, match=r"download failed: not complete after 1 s \(490 bytes\)"):
        install._read_by(Shut(), far, "http://x/", 1.0, cut=lambda: True)
    # the same end with the watchdog not fired is the body's end
    assert install._read_by(Shut(), far, "http://x/", 1.0, cut=lambda: False) == b"x" * 490

    class ShutLate(Shut):  # the end read after the deadline passed, while waiting
        def read1(self, n: int = -1) -> bytes:
            piece = self.pieces.pop(0)
            if not piece:
                time.sleep(0.2)
            return piece

    with pytest.raises(RegistryError, match=r"not complete after 1 s \(490 bytes\)"):
        install._read_by(ShutLate(), time.monotonic() + 0.1, "http://x/", 1.0)


@pytest.mark.parametrize("trickled", ["status line", "headers"])
def test_the_download_timeout_bounds_a_trickle_of_headers(fixtures: Path, trickled: str) -> None:
    """The deadline covered the body only: urlopen's timeout bounds each wait, so a
    server that sent its status line or its headers a byte every 0.1 s (each byte well
    within the timeout) kept `--timeout 1` going for as long as it liked (8 s here)."""
    import socketserver
    import threading
    import time

    from portannot.errors import RegistryError

    body = (fixtures / "seed.csv").read_bytes()
    head = b"HTTP/1.0 200 OK\r\n"
    rest = b"Content-Length: %d\r\nX-Pad: %s\r\n\r\n" % (len(body), b"p" * 80)
    slow, fast = (head + rest, b"") if trickled == "status line" else (rest, head)

    class Trickle(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.recv(65536)
            try:
                self.request.sendall(fast)
                for i in range(len(slow)):
                    self.request.sendall(slow[i:i + 1])
                    time.sleep(0.1)
                self.request.sendall(body)
            except OSError:
                pass

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        start = time.monotonic()
        with pytest.raises(RegistryError, match=r"download failed: not complete after 1 s"
                                                r" \(before the end of the headers\)$"):
            install.download(url, timeout=1.0)
        # the trickle alone takes 8 s or more: 5 s is far from both, on a loaded machine too
        assert time.monotonic() - start < 5
        # a timeout the trickle fits in: the download is whole
        assert install.download(url, timeout=60).data == body
    finally:
        server.shutdown()
        server.server_close()


def test_a_body_stalled_past_the_timeout_says_how_much_came() -> None:
    """A server that sent its headers and 490 bytes of 4000, then nothing, failed as
    'not complete after 1 s' with no count: the last wait's socket timeout (set to the
    deadline) ended the read with an error _fetch_by reported without the bytes
    _read_by had, which its own message ('(490 bytes)') gives when the watchdog's shut
    ends the read instead."""
    import http.server
    import threading

    from portannot.errors import RegistryError

    release = threading.Event()

    class Stall(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Length", "4000")
            self.end_headers()
            self.wfile.write(b"x" * 490)
            self.wfile.flush()
            release.wait(10)

        def log_message(self, *args: object) -> None:
            pass

    httpd, url = _serve(Stall)
    try:
        with pytest.raises(RegistryError, match=r"download failed: not complete after 0\.5 s"
                                                r" \(490 bytes\)$"):
            install.download(url, timeout=0.5)
    finally:
        release.set()
        httpd.shutdown()
        httpd.server_close()


def _stalled_server(release: threading.Event) -> tuple[socketserver.TCPServer, list[bytes]]:
    """A server that takes a connection, reads what the client sends first (a TLS
    ClientHello) and then says nothing until `release` is set: a handshake that stalls."""

    got: list[bytes] = []

    class Stall(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            got.append(self.request.recv(65536))
            release.wait(30)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Stall)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, got


def test_the_download_timeout_bounds_a_stalled_tls_handshake(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The TLS handshake got the whole `--timeout` counted from its own start (CPython
    bounds a handshake as a whole by its socket's timeout, urlopen's), so a name lookup
    of 0.4 s before it made `--timeout 1` last 1.4 s: README has the whole download,
    its connection on, end by the deadline. The handshake now gets what is left, at most
    0.6 s (0.4 s were spent for sure), and the download fails as the timeout."""
    import socket
    import ssl

    from portannot.errors import RegistryError

    real = socket.getaddrinfo

    def slow_resolver(*args: object, **kw: object) -> object:
        time.sleep(0.4)
        return real(*args, **kw)

    bounds: list[float | None] = []
    handshake = ssl.SSLSocket.do_handshake

    def timed_handshake(self: ssl.SSLSocket, *args: object) -> None:
        bounds.append(self.gettimeout())
        handshake(self, *args)

    monkeypatch.setattr(socket, "getaddrinfo", slow_resolver)
    monkeypatch.setattr(ssl.SSLSocket, "do_handshake", timed_handshake)
    release = threading.Event()
    server, got = _stalled_server(release)
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}/"
        with pytest.raises(RegistryError, match=r"download failed: not complete after 1 s"
                                                r" \(before the end of the headers\)$"):
            install.download(url, timeout=1.0)
    finally:
        release.set()
        server.shutdown()
        server.server_close()
    assert got and got[0][:1] == b"\x16"  # a TLS handshake record: it was the handshake
    assert len(bounds) == 1 and bounds[0] is not None and 0 < bounds[0] <= 0.6


def test_the_download_timeout_bounds_the_name_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    """getaddrinfo takes no timeout: a resolver that did not answer held `--timeout 0.5`
    until it gave up (its own retries, 30 s here). The lookup is now given up on at the
    deadline, the download failing as the timeout while the lookup is still waiting."""
    import socket

    from portannot.errors import RegistryError

    real = socket.getaddrinfo
    release, answered = threading.Event(), threading.Event()

    def silent_resolver(*args: object, **kw: object) -> object:
        release.wait(30)
        answered.set()
        return real(*args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", silent_resolver)
    try:
        with pytest.raises(RegistryError, match=r"download failed: not complete after 0\.5 s"
                                                r" \(before the end of the headers\)$"):
            install.download("http://registry.example:8080/ports.csv", timeout=0.5)
        assert not answered.is_set()  # it ended without the lookup's answer
    finally:
        release.set()


def test_a_gzip_registry_is_held_to_the_size_limit_inflated(
    fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The limit was on the bytes as they came: a small gzip body that inflates past it
    (a gzip bomb, Content-Encoding: gzip or a .gz) was parsed whole and installed, and
    inflated again by every later command."""
    import gzip

    from portannot.errors import RegistryError

    monkeypatch.setattr(install, "MAX_DOWNLOAD", 1 << 20)
    seed = (fixtures / "seed.csv").read_bytes()
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(seed + b"\n" * (2 << 20)))
    assert bomb.stat().st_size < 1 << 16
    with pytest.raises(RegistryError, match="larger than 1048576 bytes uncompressed"):
        install.update(file=bomb, min_records=10)
    assert not source.installed_dir().exists() or not any(source.installed_dir().iterdir())
    small = tmp_path / "seed.csv.gz"
    small.write_bytes(gzip.compress(seed))
    install.update(file=small, min_records=10)  # within the limit inflated: installed
    assert resolve_source().kind == "installed"


def test_a_file_given_by_a_relative_name_is_recorded_in_full(
    fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`registry update --file x.csv` recorded "x.csv": `registry info` (and every
    Parquet file's provenance) run from another directory named a file that is not there."""
    monkeypatch.chdir(fixtures)
    install.update(file="seed.csv", min_records=10)
    monkeypatch.chdir("/")
    assert resolve_source().source == str(fixtures / "seed.csv")


def test_only_files_the_metadata_named_are_removed(fixtures: Path, tmp_path: Path) -> None:
    """The install folder may be one PORTANNOT_DATA_DIR names, holding a user's own
    files: an install removed every file named like a registry there
    (service-names-port-numbers.csv, services.txt ...). Now only the registry two
    installs back goes, as the metadata named it."""
    folder = source.installed_dir()
    folder.mkdir(parents=True, exist_ok=True)
    mine = ["service-names-port-numbers.csv", "services.txt",
            "service-names-port-numbers.0123456789abcdef.xml", "notes.txt"]
    for name in mine:
        (folder / name).write_text("a user's file\n")
    variants = []
    for k in range(3):
        path = tmp_path / f"v{k}.csv"
        path.write_bytes((fixtures / "seed.csv").read_bytes().replace(b"grubd", b"grub%d" % k))
        install.update(file=path, min_records=10)
        variants.append(resolve_source().path.name)
    left = {p.name for p in folder.iterdir()}
    assert left == {*mine, "installed.json", variants[1], variants[2]}
    assert all((folder / name).read_text() == "a user's file\n" for name in mine)


def test_a_response_that_is_not_http_is_read_whole() -> None:
    # an ftp: URL's response: a socket's file under urllib's addinfourl, no isclosed()
    # (AttributeError traceback from `registry update --url ftp://...` before)
    import socket
    import threading
    import time
    import urllib.response

    ours, theirs = socket.socketpair()
    body = b"x" * 200_000

    def send() -> None:
        theirs.sendall(body)
        theirs.close()

    threading.Thread(target=send).start()
    response = urllib.response.addinfourl(ours.makefile("rb"), {}, "ftp://host/reg.csv")
    try:
        got = install._read_by(response, time.monotonic() + 30, "ftp://host/reg.csv", 30)
    finally:
        response.close()
        ours.close()
    assert got == body
