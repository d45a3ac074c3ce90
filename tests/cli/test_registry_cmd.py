"""`portannot registry info|update`, with a loopback HTTP server for update --url."""

from __future__ import annotations

import gc
import http.server
import json
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from paths import REGISTRY_FIXTURES as FIXTURES


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves fixtures; /short lies about its length; /chunked-short ends its chunked body
    early; /html is an error page; else 404."""

    routes: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = self.routes.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        if self.path == "/chunked-short":  # one chunk, then the connection closes
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            half = body[: len(body) // 2]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(half), half))
            self.wfile.write(b"%x\r\n" % len(body))
            self.close_connection = True
            return
        length = len(body) + 1000 if self.path == "/short" else len(body)
        self.send_header("Content-Length", str(length))
        self.send_header("Last-Modified", "Thu, 26 Feb 2026 10:00:00 GMT")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    csv_bytes = (FIXTURES / "seed.csv").read_bytes()
    _Handler.routes = {
        "/good.csv": csv_bytes,
        "/good.xml": (FIXTURES / "seed.xml").read_bytes(),
        "/html": b"<!DOCTYPE html><html><body>Service unavailable</body></html>",
        "/bad.csv": csv_bytes + b"x,99999,tcp,,,,,,,,,\n",
        "/short": csv_bytes,
        "/chunked-short": csv_bytes,
        # cut between two records, before the last port IANA lists (49151): parses cleanly
        "/cut.csv": csv_bytes[: csv_bytes.index(b",49151,")],
    }
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def _info(cli, *args: str) -> dict:
    code, out, err = cli("registry", "info", "--json", *args)
    assert code == 0, err
    return json.loads(out)


def test_info_default_is_the_snapshot(cli) -> None:
    doc = _info(cli)
    assert doc["in_use"] == "shipped snapshot" and doc["source"].startswith("snapshot:")
    assert doc["date"] and doc["snapshot"]["records"] == doc["records"]
    assert doc["ports"]["tcp"]["dynamic"] == 16384 and sum(doc["ports"]["udp"].values()) == 65536
    code, out, err = cli("registry", "info")
    assert code == 0 and "shipped snapshot" in out and "dynamic" in out and "tcp" in out


def test_info_text_gives_the_json_counts_in_thousands(cli) -> None:
    """The text view's counts are the JSON's, grouped by thousands as every other view
    gives counts ("14,500 records"): it printed "records   11470" and "43204"."""
    doc = _info(cli)
    code, out, err = cli("registry", "info")
    assert code == 0, err
    (records,) = [line for line in out.splitlines() if line.startswith("records")]
    assert records.split(None, 2)[1] == f"{doc['records']:,}"
    per = ", ".join(f"{k} {v:,}" for k, v in doc["records_per_transport"].items())
    assert f"({per})" in records and "," in records.split(None, 2)[1]
    for tname, counts in doc["ports"].items():
        (row,) = [line for line in out.splitlines() if line.split("│")[1:2]
                  and line.split("│")[1].strip() == tname]
        cells = [cell.strip() for cell in row.split("│")[2:-1]]
        assert cells == [f"{n:,}" for n in counts.values()]


def test_info_names_only_the_states_the_format_tells(cli) -> None:
    """A services file (the snapshot) names ports and says nothing of the others: they
    are `not_named` in the JSON and "not named" in the table, never unassigned, and it
    reserves none. An IANA file has all four states. Either way each transport's
    counts add up to its 65,536 ports."""
    snap = _info(cli)
    assert snap["format"] == "services"
    iana = _info(cli, "--registry", str(FIXTURES / "seed.xml"))
    for doc, keys in ((snap, ["not_named", "assigned", "dynamic"]),
                      (iana, ["unassigned", "assigned", "reserved", "dynamic"])):
        for counts in doc["ports"].values():
            assert list(counts) == keys and sum(counts.values()) == 65536
    code, out, err = cli("registry", "info")
    assert code == 0 and "not named" in out and "unassigned" not in out and "reserved" not in out


def test_info_names_no_cache_for_a_registry_read_from_a_pipe(cli, tmp_path: Path) -> None:
    """A registry from a FIFO (`--registry <(zcat x.gz)`) is parsed on every run, never
    cached, but `cache` named a table file as if it were kept there."""
    import os

    fifo = tmp_path / "registry.fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as fh:
            fh.write((FIXTURES / "seed.csv").read_bytes())

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        doc = _info(cli, "--registry", str(fifo))
    finally:
        writer.join(5)
    assert doc["records"] > 30 and doc["cache"] is None
    assert _info(cli, "--registry", str(FIXTURES / "seed.csv"))["cache"].endswith(".table")


def test_info_counts(cli) -> None:
    doc = _info(cli, "--registry", str(FIXTURES / "seed.xml"))
    assert (
        doc["in_use"] == "--registry"
        and doc["date"] == "2025-10-22"
        and doc["format"] == "iana-xml"
    )
    assert doc["records"] == 38 and doc["names_without_port"] == 8
    assert doc["records_per_transport"] == {"tcp": 17, "udp": 14, "sctp": 1, "none": 6}
    tcp = doc["ports"]["tcp"]
    assert tcp["assigned"] == 14 and tcp["reserved"] == 2 and tcp["dynamic"] == 16384


def test_update_url_installs_and_is_used_by_default(
    cli, server: str
) -> None:
    code, out, err = cli(
        "registry", "update", "--url", f"{server}/good.csv", "--min-records", "10"
    )
    assert code == 0, err
    assert "installed 38 records" in out
    doc = _info(cli)
    assert doc["in_use"] == "installed by `portannot registry update`"
    assert doc["source"] == f"{server}/good.csv" and doc["date"] == "2026-02-26"  # Last-Modified
    code, out, err = cli("lookup", "--json", "3368/udp")
    assert code == 0 and json.loads(out)[0]["matches"][0]["name"] == "satvid-datalnk"

    # every failure leaves the installed registry in place
    for path, message in (
        ("/missing.csv", "HTTP 404"),
        ("/html", "HTML page"),
        ("/bad.csv", "malformed record"),
        ("/short", "download incomplete"),
        ("/chunked-short", "download incomplete"),
        ("/cut.csv", "cut short"),
    ):
        code, out, err = cli(
            "registry", "update", "--url", f"{server}{path}", "--min-records", "10"
        )
        assert code == 6 and message in err, (path, err)
        assert err.count("\n") == 1 and "Traceback" not in err
        assert _info(cli)["source"] == f"{server}/good.csv"
    code, out, err = cli("registry", "update", "--url", f"{server}/good.csv")
    assert code == 6 and "fewer than 1,000" in err

    # a newer registry replaces it; --registry and $PORTANNOT_REGISTRY still come first
    code, out, err = cli(
        "registry", "update", "--url", f"{server}/good.xml", "--min-records", "10"
    )
    assert code == 0, err
    assert _info(cli)["date"] == "2025-10-22"
    assert _info(cli, "--registry", str(FIXTURES / "nmap-services"))["format"] == "nmap-services"


def test_update_refused_port_is_a_clear_error(cli) -> None:
    # Nothing listens on port 9 (discard) of the loopback address.
    code, out, err = cli(
        "registry", "update", "--url", "http://127.0.0.1:9/x.csv", "--timeout", "5"
    )
    assert code == 6 and "download failed" in err
    assert _info(cli)["in_use"] == "shipped snapshot"


def test_update_file(cli) -> None:
    code, out, err = cli(
        "registry", "update", "--file", str(FIXTURES / "seed.xml"), "--min-records", "10"
    )
    assert code == 0, err
    assert _info(cli)["format"] == "iana-xml"


def test_update_counts_what_it_installed_in_words(cli, tmp_path: Path) -> None:
    """The line `registry update` ends with gave its count bare, where every other
    count is in words with thousands separators (output.plural.counted): a services
    file of one record, installed with --min-records 1, said "installed 1 records";
    the fixture's 38 records stay "38 records"."""
    one = tmp_path / "one"
    one.write_text("alpha 1/tcp\n")
    code, out, err = cli("registry", "update", "--file", str(one), "--min-records", "1")
    assert code == 0, err
    assert out.startswith("installed 1 record (services, no date in the file) from "), out
    code, out, err = cli(
        "registry", "update", "--file", str(FIXTURES / "seed.xml"), "--min-records", "10"
    )
    assert code == 0, err
    assert out.startswith("installed 38 records (iana-xml, "), out


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_installed_registry_gets_the_umask_mode(
    cli, tmp_path: Path, umask: int
) -> None:
    """The installed file and its metadata are readable as any file the user makes
    (0666 less the umask), as output files are: mkstemp left them 0600."""
    import os

    old = os.umask(umask)
    try:
        code, _, err = cli(
            "registry", "update", "--file", str(FIXTURES / "seed.xml"),
            "--min-records", "10",
        )
    finally:
        os.umask(old)
    assert code == 0, err
    folder = tmp_path / "data" / "registry"
    files = sorted(folder.iterdir())
    assert len(files) == 2 and files[0].name == "installed.json"
    assert files[1].name.startswith("service-names-port-numbers.") and files[1].suffix == ".xml"
    assert {p.name: p.stat().st_mode & 0o777 for p in files} == dict.fromkeys(
        (p.name for p in files), 0o666 & ~umask)


@pytest.mark.parametrize("url", ["notaurl", "http://[::1", "http://"])
def test_update_bad_url_is_one_line_exit_6(cli, url: str) -> None:
    """urllib refuses these when the request is made, before any connection: that was
    a traceback (the request was built outside the error handling)."""
    code, _out, err = cli("registry", "update", "--url", url, "--timeout", "5")
    assert code == 6, err
    assert len(err.splitlines()) == 1 and err.startswith(f"portannot: {url}: download failed")


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "0", "-1", "soon"])
def test_update_timeout_must_be_finite_and_positive(
    cli, value: str
) -> None:
    code, _out, err = cli("registry", "update", "--url", "http://127.0.0.1:1/x",
                          "--timeout", value)
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "--timeout" in err


def test_download_with_an_infinite_timeout_is_a_registry_error() -> None:
    from portannot.errors import RegistryError
    from portannot.registry.install import download

    with pytest.raises(RegistryError, match="download failed"):
        download("http://127.0.0.1:1/x", timeout=float("inf"))


def _left_open(run: Callable[[], object]) -> list[str]:
    """The ResourceWarnings of what `run()` left open for the collector to close."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        run()
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


def test_a_failed_download_leaves_nothing_open(server: str) -> None:
    """An HTTP error's response kept its connection open until the collector came (which
    CPython 3.14 reports: "Implicitly cleaning up <HTTPError 404: 'Not Found'>"), and the
    socket that an infinite timeout was refused on (settimeout's OverflowError, not an
    OSError) was never closed: "unclosed <socket.socket ...>", on any Python."""
    from portannot.errors import RegistryError
    from portannot.registry.install import download

    def fails(url: str, message: str, timeout: float = 60.0) -> Callable[[], None]:
        def run() -> None:
            with pytest.raises(RegistryError, match=message):
                download(url, timeout)
        return run

    assert _left_open(fails(f"{server}/missing.csv", "HTTP 404 Not Found")) == []
    assert _left_open(fails("http://127.0.0.1:1/x", "download failed", float("inf"))) == []


def test_info_says_what_the_snapshot_was_built_from(cli, tmp_path: Path) -> None:
    """The source line read "snapshot:debian libwireshark-data ... (/usr/share/wireshark/
    services)", which suggests that local file is read: it says the shipped snapshot was
    built from Wireshark's services file, of the package and version its metadata names.
    A count of one is singular ("1 malformed record", not "record(s)")."""
    from portannot.registry.source import SNAPSHOT_DIR, SNAPSHOT_META

    meta = json.loads((SNAPSHOT_DIR / SNAPSHOT_META).read_text(encoding="utf-8"))
    code, out, err = cli("registry", "info")
    assert code == 0, err
    registry_line = out.splitlines()[0]
    assert registry_line.split(None, 1) == [
        "registry", f"the shipped snapshot, built from Wireshark's services file in Debian's "
        f"{meta['package']} {meta['version']}"]
    bad = tmp_path / "bad.csv"
    bad.write_text((FIXTURES / "seed.csv").read_text(encoding="utf-8")
                   + "x,99999,tcp,,,,,,,,,\n", encoding="utf-8")
    code, out, err = cli("registry", "info", "--registry", str(bad))
    assert code == 0, err
    (skipped,) = [line for line in out.splitlines() if line.startswith("skipped")]
    assert skipped.split(None, 1)[1].startswith(f"1 malformed record; first: {bad}:44: ")


@pytest.mark.parametrize("args", [["--url", "http://127.0.0.1:1/x.csv", "--file", "x.csv"],
                                  ["--url", ""], ["--url", "  "]])
def test_update_usage_errors_are_exit_2(cli, args: list[str]) -> None:
    """Both sources named, or an empty URL (which fell back to IANA's silently): usage
    errors, exit 2 with the help to read; "not both" was exit 6, the registry's."""
    code, _out, err = cli("registry", "update", *args)
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "registry update --help" in err
    assert _info(cli)["in_use"] == "shipped snapshot"


@pytest.mark.parametrize("how", ["--registry", "--services", "update --file", "environment"])
def test_a_directory_for_a_registry_is_exit_6_however_given(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """README: 6 is the registry missing or invalid. A directory given by option was
    click's usage error (2), by $PORTANNOT_REGISTRY the registry's (6): 6 for all."""
    folder = tmp_path / "a-folder"
    folder.mkdir()
    if how == "update --file":
        code, _out, err = cli("registry", "update", "--file", str(folder))
    elif how == "environment":
        monkeypatch.setenv("PORTANNOT_REGISTRY", str(folder))
        code, _out, err = cli("lookup", "80/tcp")
    else:
        code, _out, err = cli("lookup", how, str(folder), "80/tcp")
    assert code == 6, err
    assert len(err.splitlines()) == 1 and str(folder) in err and "directory" in err.lower()


@pytest.mark.parametrize("args", [["lookup", "80"], ["registry", "info"],
                                  ["flows", "{demo}", "-f", "csv"]])
def test_a_missing_services_file_is_one_message_whatever_the_command(cli, tmp_path: Path,
                                                                     args: list[str]) -> None:
    from paths import local_capture

    missing = tmp_path / "nope.services"
    argv = [a.format(demo=local_capture("demo.pcap")) for a in args]
    code, out, err = cli(*argv, "--services", str(missing))
    assert code == 6 and out == ""
    assert err.strip() == f"portannot: {missing}: services file not found"


@pytest.mark.parametrize("registry", ["service-names-port-numbers.csv",
                                      "service-names-port-numbers.xml"])
def test_info_counts_every_state_as_the_file_read_independently(cli, registry: str) -> None:
    """Per transport and state, as tests/iana_reference.py reads the file (csv /
    xml.etree): udp 7775 and 7997, each with a "Reserved" record of its own inside an
    earlier "Unassigned" range, were counted unassigned."""
    from collections import Counter

    import iana_reference
    from paths import SHARED_REGISTRY

    path = SHARED_REGISTRY / registry
    if not path.is_file():
        pytest.skip(f"full IANA registry not available: {path.resolve()} is absent (CI has it)")
    want = {t: Counter(column) for t, column in iana_reference.states(path).items()}
    got = _info(cli, "--registry", str(path))["ports"]
    assert got == {t: {s: want[t][s] for s in ("unassigned", "assigned", "reserved", "dynamic")}
                   for t in want}


def test_update_help_says_what_refuses_a_registry(capsys) -> None:
    """The help said a registry is kept "unless the new one downloads completely and
    parses without a malformed record", where README (and install.validate) also refuse
    one over 64 MiB, one under --min-records, and an IANA file whose ports stop before
    49151; and the timeout as "the whole download", naming what that holds as README
    does (its name lookup and TLS handshake too)."""
    from portannot.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["registry", "update", "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for condition in ("within --timeout", "at most 64 MiB", "without a malformed record",
                      "has --min-records records", "up to 49151",
                      "the whole download (name lookup, connection, TLS handshake, status "
                      "line and headers too), not each wait"):
        assert condition in text, condition
