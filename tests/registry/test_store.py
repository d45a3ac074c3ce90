"""Choosing the registry (issue §5), the compiled-table cache, the shipped snapshot."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from portannot.errors import RegistryError
from portannot.registry import (
    PortState,
    cache,
    detect,
    install,
    load_registry,
    load_table,
    parse_file,
    resolve_source,
    source,
)


def test_snapshot_is_the_default_and_works_offline() -> None:
    src = resolve_source()
    assert src.kind == "snapshot" and src.source.startswith("snapshot:")
    meta = json.loads((source.SNAPSHOT_DIR / source.SNAPSHOT_META).read_text())
    assert meta["source"] and meta["date"] and meta["records"] > 5000
    table = load_table()
    assert table.source.startswith("snapshot:") and table.date == meta["date"]
    assert table.name_at("tcp", 443) == "https" and table.name_at("udp", 53) == "domain"
    assert table.name_at("tcp", 3306) == "mysql"


def test_order_option_env_installed_snapshot(
    fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_source().kind == "snapshot"
    install.update(file=fixtures / "seed.xml", min_records=10)
    assert resolve_source().kind == "installed"
    assert load_table().date == "2025-10-22"
    monkeypatch.setenv("PORTANNOT_REGISTRY", str(fixtures / "nmap-services"))
    assert resolve_source().kind == "env"
    assert load_registry().format == "nmap-services"
    src = resolve_source(fixtures / "seed.csv")
    assert src.kind == "option" and load_table(fixtures / "seed.csv").source == str(
        fixtures / "seed.csv"
    )
    with pytest.raises(RegistryError, match="registry file not found"):
        resolve_source(tmp_path / "nope.csv")
    monkeypatch.setenv("PORTANNOT_REGISTRY", str(tmp_path / "missing"))
    with pytest.raises(RegistryError, match="PORTANNOT_REGISTRY"):
        resolve_source()


def test_services_file_wins(fixtures: Path, tmp_path: Path) -> None:
    local = tmp_path / "mine"
    local.write_text("corp-web 80/tcp # our proxy\n", encoding="utf-8")
    table = load_table(fixtures / "seed.csv", services=local)
    assert table.name_at("tcp", 80) == "corp-web" and table.name_at("udp", 80) == "http"
    reg = load_registry(fixtures / "seed.csv", services=local)
    assert reg.by_name("corp-web")[0].description == "our proxy"
    with pytest.raises(RegistryError, match="services file not found"):
        load_table(fixtures / "seed.csv", services=tmp_path / "absent")


def test_cached_table_names_the_services_file_as_given(
    fixtures: Path, tmp_path: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache is keyed by the services file itself (its resolved path), so one file
    given under another name (relative, from another directory) loads the same cached
    table; the table still names the file as given this time. It named it as the run
    that built the cache had spelled it, and a Parquet file's provenance said
    `../x/mine` for a file given as `/abs/x/mine`."""
    local = tmp_path / "x" / "mine"
    local.parent.mkdir()
    local.write_text("corp-web 80/tcp\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    first = load_table(fixtures / "seed.csv", services=Path("x") / "mine")
    assert first.meta["services"] == str(Path("x") / "mine")
    assert len(list((own_cache / "tables").glob("*.table"))) == 1
    again = load_table(fixtures / "seed.csv", services=local)  # from the cache
    assert again.name_at("tcp", 80) == "corp-web"
    assert again.meta["services"] == str(local)
    assert len(list((own_cache / "tables").glob("*.table"))) == 1  # the same entry


def test_cached_table_skips_parsing_and_rebuilds_on_change(
    fixtures: Path, tmp_path: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = tmp_path / "reg.csv"
    shutil.copy(fixtures / "seed.csv", reg)
    first = load_table(reg)
    assert cache.cache_path(resolve_source(reg)).is_file()
    assert list((own_cache / "tables").iterdir()) == [cache.cache_path(resolve_source(reg))]

    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed although the cached table is current")

    with monkeypatch.context() as m:
        m.setattr(detect, "parse_file", no_parse)
        again = load_table(reg)
    assert (again.name_index == first.name_index).all() and again.source == str(reg)
    # change the source: the table is rebuilt
    reg.write_text(
        reg.read_text(encoding="utf-8").replace("grubd,3136", "grubx,3136"), encoding="utf-8"
    )
    os.utime(reg, ns=(reg.stat().st_atime_ns, reg.stat().st_mtime_ns + 10**9))
    assert load_table(reg).name_at("tcp", 3136) == "grubx"


@pytest.mark.parametrize("how", ["in-place", "renamed-over"])
def test_a_source_changed_with_its_size_and_time_kept_is_rebuilt(
    fixtures: Path, tmp_path: Path, own_cache: Path, how: str
) -> None:
    """A registry file rewritten to the same size, its modification time put back (as
    `touch -r`, `cp -p` or rsync leave it): the cached table was keyed by path, size and
    modification time, and kept naming port 3136 'grubd' from the old file."""
    reg = tmp_path / "reg.csv"
    shutil.copy(fixtures / "seed.csv", reg)
    assert load_table(reg).name_at("tcp", 3136) == "grubd"
    before = reg.stat()
    text = reg.read_text(encoding="utf-8").replace("grubd,3136", "grubx,3136")
    if how == "in-place":
        reg.write_text(text, encoding="utf-8")
    else:
        new = tmp_path / "new.csv"
        new.write_text(text, encoding="utf-8")
        new.replace(reg)
    os.utime(reg, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = reg.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert load_table(reg).name_at("tcp", 3136) == "grubx"


@pytest.mark.parametrize("damage", ["cut", "empty", "flipped"])
def test_a_damaged_cached_table_is_rebuilt(
    fixtures: Path, tmp_path: Path, own_cache: Path, damage: str
) -> None:
    """A cached table cut short (a crash while it was written), empty or with changed
    bytes: the table is built again from the registry and written over it. It broke
    every command that names ports, run after run (a BadZipFile traceback; an empty
    file's EOFError read as Ctrl-C: "interrupted", exit 130)."""
    reg = tmp_path / "reg.csv"
    shutil.copy(fixtures / "seed.csv", reg)
    first = load_table(reg)
    cached = cache.cache_path(resolve_source(reg))
    data = bytearray(cached.read_bytes())
    if damage == "cut":
        data = data[: len(data) // 2]
    elif damage == "empty":
        data = bytearray()
    else:
        data[len(data) // 2 : len(data) // 2 + 4] = b"\xff\x00\xff\x00"
    cached.write_bytes(bytes(data))
    again = load_table(reg)
    assert (again.name_index == first.name_index).all()
    assert again.name_at("tcp", 3306) == "mysql"
    assert cached.read_bytes() != bytes(data)  # written over with a sound table
    assert (load_table(reg).name_index == first.name_index).all()


def test_the_table_is_keyed_on_the_source_it_was_parsed_from(
    fixtures: Path, tmp_path: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The registry is resolved once: the cache's key and the parse are of the same
    source. Resolved again for the parse, a registry installed in between was parsed and
    its table cached under the snapshot's key, for every later run to use."""
    calls = []
    real = source.resolve_source

    def resolve_twice_differently(registry=None):
        calls.append(registry)
        return real(registry if len(calls) == 1 else fixtures / "seed.csv")

    monkeypatch.setattr(cache, "resolve_source", resolve_twice_differently)
    monkeypatch.setattr(source, "resolve_source", resolve_twice_differently)
    table = load_table()
    assert table.meta["kind"] == "snapshot" and table.name_at("tcp", 443) == "https"
    assert len(calls) == 1
    monkeypatch.undo()
    assert load_table().source == resolve_source().source


def test_unwritable_cache_still_works(
    fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    monkeypatch.setenv("PORTANNOT_CACHE_DIR", str(blocker))
    assert load_table(fixtures / "seed.csv").name_at("tcp", 3306) == "mysql"


def test_skipped_records_are_reported(
    fixtures: Path, tmp_path: Path, own_cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        (fixtures / "seed.csv").read_text(encoding="utf-8") + "x,99999,tcp,,,,,,,,,\n",
        encoding="utf-8",
    )
    with caplog.at_level("WARNING", logger="portannot.registry"):
        table = load_table(path)
    assert "1 record skipped" in caplog.text and f"{path}:" in caplog.text
    assert table.meta["skipped"] == 1
    caplog.clear()
    with caplog.at_level("WARNING", logger="portannot.registry"):
        cached = load_table(path)  # from the cache, no parse: the same warning again
    assert cache.cache_path(resolve_source(path)).is_file()
    assert cached.meta["skipped"] == 1
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: 1 record skipped; first: {path}:44: "
        + caplog.text.split(f"{path}:44: ", 1)[1].strip()
    ]


def _recordless(fixtures: Path, tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Registry files with no well-formed record, and what the refusal says of each."""
    header = (fixtures / "seed.csv").read_text(encoding="utf-8").split("\n", 1)[0] + "\n"
    texts = {
        "header.csv": (header, "no record in it: not a registry"),
        "bad.csv": (header + "x,99999,tcp,,,,,,,,,\n",
                    "no well-formed record in it (1 record skipped; first: "),
        "empty.xml": ('<?xml version="1.0"?>\n<registry xmlns="http://www.iana.org/'
                      'assignments" id="service-names-port-numbers"/>\n',
                      "no record in it: not a registry"),
    }
    out = {}
    for name, (text, said) in texts.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        out[name] = (tmp_path / name, said)
    return out


def test_a_registry_with_no_record_is_refused(fixtures: Path, tmp_path: Path,
                                              own_cache: Path) -> None:
    """README: a file with no well-formed record is not a registry. An IANA CSV cut after
    its header, or an XML <registry/>, was loaded as a registry of nothing, where every
    port below 49152 is unassigned (`lookup --registry header.csv 80/tcp`: 'no entry:
    unassigned on tcp', exit 1; flows named no service). As --services such a file is
    refused too; a services(5) file of comments only still adds nothing (test_lookup)."""
    seed = fixtures / "seed.csv"
    for path, said in _recordless(fixtures, tmp_path).values():
        for load, args, kw in ((load_table, (path,), {}), (load_registry, (path,), {}),
                               (load_registry, (seed,), {"services": path})):
            with pytest.raises(RegistryError) as exc:
                load(*args, **kw)
            assert str(exc.value).startswith(f"{path}: {said}")
    assert not list(own_cache.rglob("*.table"))


def test_a_csv_cut_between_records_is_not_installed(shared_registry: Path, tmp_path: Path) -> None:
    """It parses cleanly: only stopping short of port 49151 gives it away."""
    full = shared_registry / "service-names-port-numbers.csv"
    lines = full.read_bytes().splitlines(keepends=True)
    install.update(file=full)
    before = (source.installed_dir() / "installed.json").read_text()
    cut = tmp_path / "cut.csv"
    cut.write_bytes(b"".join(lines[:8000]))
    assert not parse_file(cut).problems and len(parse_file(cut).records) > 7000
    with pytest.raises(RegistryError, match=r"port records stop at \d+, .* cut short"):
        install.update(file=cut)
    assert (source.installed_dir() / "installed.json").read_text() == before


def test_install_validates_before_replacing(fixtures: Path, tmp_path: Path) -> None:
    install.update(file=fixtures / "seed.csv", min_records=10)
    before = (source.installed_dir() / "installed.json").read_text()
    bad = tmp_path / "bad.csv"
    bad.write_text(
        (fixtures / "seed.csv").read_text(encoding="utf-8") + "x,99999,tcp,,,,,,,,,\n",
        encoding="utf-8",
    )
    with pytest.raises(RegistryError, match="malformed record"):
        install.update(file=bad, min_records=10)
    with pytest.raises(RegistryError, match="fewer than 1,000"):
        install.update(file=fixtures / "seed.csv")
    assert (source.installed_dir() / "installed.json").read_text() == before
    assert load_table().source.endswith("seed.csv")
    # a new format replaces the old file
    install.update(file=fixtures / "seed.xml", min_records=10)
    # (the one before it stays, for a command that chose it just before; those before go)
    install.update(file=fixtures / "seed.xml", min_records=10)
    names = sorted(p.name for p in source.installed_dir().iterdir())
    assert len(names) == 2 and names[0] == "installed.json"
    assert re.fullmatch(r"service-names-port-numbers\.[0-9a-f]{16}\.xml", names[1])
    assert load_table().state_at("tcp", 0) == PortState.RESERVED


def _fifo_of(path: Path, data: bytes) -> Path:
    """A FIFO (as `<(cat FILE)` gives) that hands out `data` once, to one reader."""
    import threading

    fifo = path / f"reg-{len(list(path.iterdir()))}.fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as f:
            f.write(data)

    threading.Thread(target=feed, daemon=True).start()
    return fifo


def test_registry_and_services_from_a_pipe(
    fixtures: Path, tmp_path: Path, own_cache: Path
) -> None:
    """`--registry <(zcat ...)`: any readable path but a directory works; is_file()
    called a FIFO "not found". A pipe cannot be cached (nothing tells whether it gives
    the same again): it is parsed, and nothing is saved."""
    services = b"localweb 80/tcp\n"
    fifo = _fifo_of(tmp_path, (fixtures / "wireshark-services").read_bytes())
    table = load_table(fifo, _fifo_of(tmp_path, services))
    assert table.name_at("tcp", 80) == "localweb" and table.name_at("udp", 3306) == "mysql"
    assert not (own_cache / "tables").exists()
    assert load_registry(_fifo_of(tmp_path, services)).format == "services"


def test_a_directory_is_not_a_registry(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="is a directory"):
        resolve_source(tmp_path)
    with pytest.raises(RegistryError, match="not found"):
        resolve_source(tmp_path / "nope")


def test_a_nul_in_the_name_is_said(fixtures: Path, tmp_path: Path) -> None:
    """A registry or services name holding a NUL byte was "registry file not found"
    (Path.exists() answers False for it); it gets the message a capture or -o with one
    gets, the NUL escaped."""
    said = f"^{re.escape(str(tmp_path))}/a\\\\x00b: a NUL byte in the file name, which no file can have$"
    with pytest.raises(RegistryError, match=said):
        resolve_source(f"{tmp_path}/a\0b")
    with pytest.raises(RegistryError, match=said):
        load_table(fixtures / "seed.csv", services=f"{tmp_path}/a\0b")
    with pytest.raises(RegistryError, match=said):
        load_registry(fixtures / "seed.csv", services=f"{tmp_path}/a\0b")


@pytest.mark.parametrize("meta", ['{"file": 5}', "not json", "[1, 2]", '{"file": "gone.csv"}',
                                  '{"file": "../../../etc/passwd"}'])
def test_damaged_install_metadata_warns_and_falls_back_to_the_snapshot(
    meta: str, fixtures: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = source.installed_dir()
    folder.mkdir(parents=True)
    (folder / "installed.json").write_text(meta)
    source._warned.clear()
    with caplog.at_level("WARNING", logger="portannot.registry"):
        assert resolve_source().kind == "snapshot"
    assert "the installed registry is damaged or gone" in caplog.text
    # and `registry update` installs over it
    install.update(file=fixtures / "seed.csv", min_records=10)
    assert resolve_source().kind == "installed"


@pytest.mark.parametrize("damage", ["garbage", "cut", "touched", "time-kept"])
def test_an_installed_file_changed_since_the_install_is_not_used(
    damage: str, fixtures: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Overwritten or cut short after `registry update` checked it: the garbage stopped
    every command (exit 6), the cut file lost the names past the cut without a word.
    Both are now the snapshot and a warning, the table cache included. A file only
    touched (same bytes, new time) is still the installed one. One rewritten to its
    own size with its time put back (`touch -r`, `cp -p`) was taken as installed
    unread, and its cached table kept naming the old file's ports."""
    install.update(file=fixtures / "seed.csv", min_records=10)
    installed = resolve_source()
    assert load_table().name_at("tcp", 3136) == "grubd"  # seed.csv's row; cached now
    data = installed.path.read_bytes()
    if damage == "time-kept":
        before = installed.path.stat()
        installed.path.write_bytes(data.replace(b"grubd,3136", b"grubx,3136"))
        os.utime(installed.path, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert installed.path.stat().st_size == before.st_size
    elif damage == "garbage":
        installed.path.write_bytes(b"\x00not a registry\n" * 100)
    elif damage == "cut":
        installed.path.write_bytes(data[: len(data) // 2])
    else:
        os.utime(installed.path, ns=(1, 1))
    source._warned.clear()
    with caplog.at_level("WARNING", logger="portannot.registry"):
        chosen = resolve_source()
        table = load_table()
    if damage == "touched":
        assert chosen.kind == "installed" and table.source == installed.source
        assert "changed since" not in caplog.text
        return
    assert chosen.kind == "snapshot" and table.source.startswith("snapshot:")
    assert f"{installed.path}: the installed registry has changed since" in caplog.text
    assert table.name_at("tcp", 443) == "https"



@pytest.mark.parametrize("digest", ["missing", None, 5, "abc", "A" * 64])
def test_an_install_record_without_its_digest_is_damaged(
    digest: object, fixtures: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The file edited (80/tcp renamed) and the digest gone from installed.json: the
    edit was taken as installed, without a word ("nothing to compare with"). Without
    the SHA-256 `registry update` always records, the record is damaged: a warning
    and the snapshot."""
    install.update(file=fixtures / "seed.csv", min_records=10)
    installed = resolve_source()
    meta_path = source.installed_dir() / "installed.json"
    meta = json.loads(meta_path.read_text())
    if digest == "missing":
        del meta["sha256"]
    else:
        meta["sha256"] = digest
    meta_path.write_text(json.dumps(meta))
    installed.path.write_bytes(installed.path.read_bytes() + b"\n")  # size and time move
    source._warned.clear()
    with caplog.at_level("WARNING", logger="portannot.registry"):
        assert resolve_source().kind == "snapshot"
    assert "the installed registry is damaged or gone" in caplog.text


def test_a_data_or_cache_directory_this_user_cannot_read_costs_only_the_cache(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Another user's HOME, a locked PORTANNOT_DATA_DIR: the installed registry's lookup
    raised PermissionError, which the command reported as 'standard output: write
    failed' (exit 5). It is a warning and the snapshot; an unreadable cached table is a
    cache miss. (Root reads everything, so the errors are made here.)"""
    real_exists, real_load = Path.exists, cache.ServiceTable.load

    def exists(path: Path) -> bool:
        if path.name == "installed.json":
            raise PermissionError(13, "Permission denied", str(path))
        return real_exists(path)

    def load(path):  # noqa: ANN001, ANN202
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Path, "exists", exists)
    monkeypatch.setattr(cache.ServiceTable, "load", staticmethod(load))
    source._warned.clear()
    with caplog.at_level("WARNING", logger="portannot.registry"):
        table = load_table()
    assert table.source.startswith("snapshot:") and table.name_at("tcp", 443) == "https"
    assert "cannot look for an installed registry (Permission denied)" in caplog.text
    monkeypatch.setattr(cache.ServiceTable, "load", real_load)


def test_a_registry_that_cannot_be_read_is_a_registry_error(
    fixtures: Path, monkeypatch: pytest.MonkeyPatch, own_cache: Path, cli
) -> None:
    """Not an OSError that the command took for its output failing (exit 5)."""
    def unreadable(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(detect, "parse_file", unreadable)
    with pytest.raises(RegistryError, match=r"seed\.csv: cannot read the registry \(Permission"):
        load_table(fixtures / "seed.csv")
    with pytest.raises(RegistryError, match="cannot read the registry"):
        load_registry(fixtures / "seed.csv")
    code, out, err = cli("flows", str(fixtures.parents[2] / "pcaps" / "demo.pcap"),
                         "--registry", str(fixtures / "seed.csv"), "-f", "csv")
    assert code == 6 and not out
    assert err.strip() == (f"portannot: {fixtures / 'seed.csv'}: cannot read the registry "
                           "(Permission denied)")


def test_the_table_loads_without_the_parsers() -> None:
    """The packet commands need the table only: the records and parsers load when a
    registry is parsed or looked up (they were ~8 ms of every command's start)."""
    code = ("import sys, portannot.registry as r; r.load_table(); "
            "print(sorted(m for m in sys.modules if m.startswith('portannot.registry.')))")
    def run() -> str:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True).stdout

    run()  # a cache still empty parses the registry once
    loaded = run()
    assert "registry.table" in loaded
    for parser_side in ("catalog", "record", "detect", "iana_csv", "iana_xml", "services_file"):
        assert f"registry.{parser_side}'" not in loaded
    from portannot.registry import Registry, ServiceRecord, parse_file  # still there on use

    assert Registry.__name__ == "Registry" and ServiceRecord.__module__.endswith("record")
    assert callable(parse_file) and "Registry" in dir(__import__("portannot.registry").registry)


def test_load_table_takes_a_loaded_registry_as_registry_does(fixtures: Path,
                                                              tmp_path: Path) -> None:
    """load_table(load_registry(...)) was a TypeError from os.fspath ('expected str, bytes
    or os.PathLike object, not Registry'), where README's `registry=` and the stages
    (flow_columns, packet_batch) take a loaded registry. It now gives the registry's
    table, local names and all; a table is given back as it is; services= beside a
    loaded one (whose local names are in it already) is refused, as registry= does."""
    local = tmp_path / "mine"
    local.write_text("corp-web 80/tcp # our proxy\n", encoding="utf-8")
    reg = load_registry(fixtures / "seed.csv", services=local)
    table = load_table(reg)
    # seed.csv: http on 80/udp; the local file: corp-web on 80/tcp
    assert table.name_at("tcp", 80) == "corp-web" and table.name_at("udp", 80) == "http"
    assert load_table(table) is table
    with pytest.raises(ValueError, match="services= cannot be added to a ready Registry"):
        load_table(reg, services=local)
    with pytest.raises(TypeError, match="a file path, a Registry, a ServiceTable or None, "
                                        "not int"):
        load_table(80)  # type: ignore[arg-type]
