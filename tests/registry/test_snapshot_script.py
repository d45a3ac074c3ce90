"""scripts/build_registry_snapshot.py: the snapshot it writes is one portannot reads back.

The script is loaded from its file (scripts/ is no package); MIN_RECORDS is lowered so
that the hand-written fixtures stand in for a full registry.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from paths import REPO

from portannot.registry import parse_file

SCRIPT = REPO / "scripts" / "build_registry_snapshot.py"


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_registry_snapshot", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "MIN_RECORDS", 10)
    return module


def _records(path: Path) -> list[tuple[str, int | None, str | None]]:
    return [(r.name, r.port_lo, r.transport) for r in parse_file(path).records]


def test_a_gzip_iana_csv_is_shipped_as_its_text(
    script: ModuleType, fixtures: Path, tmp_path: Path
) -> None:
    """A gzip CSV was parsed (inflated) for the check, then gzipped again as it was: the
    registry.gz written held gzip inside gzip, which no command could read ('not a
    registry', exit 6 for every command once shipped), and the recorded SHA-256 was the
    compressed file's."""
    source = tmp_path / "iana.csv.gz"
    text = (fixtures / "seed.csv").read_bytes()
    source.write_bytes(gzip.compress(text))
    assert script.main(["--iana-csv", str(source), "--out", str(tmp_path / "out")]) == 0
    shipped = tmp_path / "out" / "registry.gz"
    assert _records(shipped) == _records(fixtures / "seed.csv")
    assert gzip.decompress(shipped.read_bytes()) == text
    meta = json.loads((tmp_path / "out" / "snapshot.json").read_text())
    assert meta["sha256"] == __import__("hashlib").sha256(text).hexdigest()


@pytest.mark.parametrize("fixture", ["seed.xml", "wireshark-services"])
def test_iana_csv_refuses_another_format(
    script: ModuleType, fixtures: Path, tmp_path: Path, fixture: str
) -> None:
    """--iana-csv took any registry: an XML or a services file was shipped labelled
    "IANA service-names-port-numbers.csv", kind iana-csv, for `registry info` to repeat."""
    out = tmp_path / "out"
    with pytest.raises(SystemExit, match="not an IANA CSV"):
        script.main(["--iana-csv", str(fixtures / fixture), "--out", str(out)])
    assert not out.exists()


def test_a_file_that_is_no_registry_is_refused_without_a_traceback(
    script: ModuleType, tmp_path: Path
) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("hello\n")
    with pytest.raises(SystemExit, match="refusing to write a snapshot: .*not a registry"):
        script.main(["--iana-csv", str(source), "--out", str(tmp_path / "out")])
