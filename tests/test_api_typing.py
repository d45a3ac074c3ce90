"""The public API under `mypy --strict`: README's examples, typed as a user's script
meets them, and the modules they come from. Needs mypy and pyarrow-stubs (the test
extra installs both); skipped without them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")


def _installed(distribution: str) -> bool:
    from importlib.metadata import PackageNotFoundError, version

    try:
        version(distribution)
    except PackageNotFoundError:
        return False
    return True


if not _installed("pyarrow-stubs"):  # a stub-only package: nothing to import
    pytest.skip("pyarrow-stubs not installed", allow_module_level=True)

SRC = Path(__file__).resolve().parents[1] / "src" / "portannot"

#: what portannot/__init__.py exports and README's "Python API" section uses, and the
#: modules those names live in
PUBLIC_MODULES = (
    "__init__.py", "errors.py", "api.py", "timeouts.py", "transport.py", "column_check.py",
    "registry/__init__.py", "registry/table.py", "registry/cache.py", "registry/catalog.py",
    "registry/source.py", "registry/state.py", "capture/__init__.py", "capture/reader.py",
    "capture/batch.py", "decode/__init__.py", "decode/decoder.py", "decode/columns.py",
    "aggregate/__init__.py", "aggregate/table.py", "aggregate/rules.py", "output/__init__.py",
    "output/tables.py", "output/writers.py", "output/files.py", "output/provenance.py",
)

#: README's "Python API" examples as a script types them, with what each call must be
SCRIPT = '''
import contextlib
import warnings
from pathlib import Path

import portannot
from portannot.aggregate import FlowTable, flow_columns
from portannot.aggregate.table import RawFlows
from portannot.capture import CaptureReader
from portannot.decode import Decoder
from portannot.output import BatchWriter, Output, flow_batch, packet_batch
from portannot.output.provenance import provenance
from portannot.registry import load_registry, load_table
from portannot.transport import Transport

reveal_type(portannot.flows("capture.pcapng"))
for batch in portannot.iter_flows(["a.pcap", "b.pcap"], idle_timeout=60):
    reveal_type(batch)
reveal_type(portannot.packets("capture.pcap"))
reveal_type(portannot.summary("capture.pcap"))
reveal_type(portannot.iter_packets(Path("d").glob("*.pcap")))
reveal_type(portannot.flows(Path("x.pcap"), registry=load_registry()))
with contextlib.closing(portannot.iter_packets("big.pcap")) as batches:
    for b in batches:
        break
services = load_table()
reveal_type(services)
decoder, flows = Decoder(), FlowTable(idle_timeout=60)
ended: list[RawFlows] = []
for records in CaptureReader("capture.pcap"):
    packets = decoder.decode(records)
    reveal_type(packets)
    ended.append(flows.update(packets))
    reveal_type(packet_batch(packets, services, with_file=True))
ended.append(flows.drain())
rows = [flow_batch(flow_columns(raw, services), services) for raw in ended]
reveal_type(rows)
with BatchWriter("parquet", Output("flows.parquet")) as writer:
    for row in rows:
        writer.write(row)
reveal_type(provenance("flows", ["a.pcap"], services))
reveal_type(services.names_of([Transport.TCP], [80]))
reveal_type(services.name_at("tcp", 80))
warnings.simplefilter("error", portannot.CaptureWarning)
try:
    pass
except (portannot.InputError, portannot.OutputError, portannot.RegistryError) as exc:
    reveal_type(exc)
'''

#: the revealed types, as patterns: the stubs' module path (pyarrow.__lib_pxi.table) and
#: mypy's spelling of builtins vary by version, the class does not
TABLE, BATCH = r"pyarrow\.[\w.]*\.Table", r"pyarrow\.[\w.]*\.RecordBatch"
REVEALED = [
    TABLE, BATCH, TABLE, r"(builtins\.)?dict\[(builtins\.)?str, Any\]",
    rf"typing\.Generator\[{BATCH}, None, None\]", TABLE,
    r"portannot\.registry\.table\.ServiceTable", r"portannot\.decode\.columns\.PacketBatch",
    BATCH, rf"(builtins\.)?list\[{BATCH}\]",
    r"(builtins\.)?dict\[(builtins\.)?bytes, (builtins\.)?bytes\]",
    r"numpy\.ndarray\[.*\]", r"(builtins\.)?str",
    r"portannot\.errors\.InputError \| portannot\.errors\.OutputError \| "
    r"portannot\.errors\.RegistryError",
]


def _mypy(*args: str, cwd: Path) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                           "--no-error-summary", "--no-pretty", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout + done.stderr


def test_readme_examples_type_check_to_precise_types(tmp_path: Path) -> None:
    """A user's script of README's examples passes `mypy --strict`, and each call's type
    is the one its docstring names (pyarrow.Table, a Generator of RecordBatches, ...),
    not Any."""
    (tmp_path / "script.py").write_text(SCRIPT, encoding="utf-8")
    code, out = _mypy("script.py", cwd=tmp_path)
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert not errors, out
    revealed = re.findall(r'Revealed type is "(.*)"', out)
    assert len(revealed) == len(REVEALED), out
    for got, want in zip(revealed, REVEALED, strict=True):
        assert re.fullmatch(want, got), (got, want)


def test_public_modules_are_clean_under_strict(tmp_path: Path) -> None:
    """The modules README's API comes from (not the compiled kernels' modules, whose
    types are their numba signatures) have no `mypy --strict` error."""
    code, out = _mypy("--follow-imports=silent", *(str(SRC / m) for m in PUBLIC_MODULES),
                      cwd=SRC.parent)
    errors = [line for line in out.splitlines() if ": error:" in line]
    if _bare_ndarray_is_incomplete():
        errors = [line for line in errors if not line.endswith(BARE_NDARRAY)]
    assert not errors, out
    assert code == 0 or _bare_ndarray_is_incomplete(), out


#: mypy --strict's error for `np.ndarray` written without its type arguments
BARE_NDARRAY = 'Missing type arguments for generic type "ndarray"  [type-arg]'


def _bare_ndarray_is_incomplete() -> bool:
    """True for a numpy whose stubs give ndarray's two type parameters no defaults:
    before 2.3 (2.2 is the newest for Python 3.10; pyproject takes 1.24 on), where
    `mypy --strict` calls each bare `np.ndarray` in portannot's hints an error, though
    a script using them checks clean (mypy reports no error inside an installed package)
    and sees the same types (test_readme_examples_type_check_to_precise_types). The
    modules' other errors still count."""
    from importlib.metadata import version

    major, minor = (int(part) for part in version("numpy").split(".")[:2])
    return (major, minor) < (2, 3)


#: README's file objects ("an open file, io.BytesIO, gzip.GzipFile, a socket's
#: makefile("rb"): anything with readinto() or read()") as a script passes them
FILE_OBJECTS = '''
import gzip
import io
import socket
import zipfile

import portannot
from portannot.capture import CaptureReader


class OnlyRead:
    def read(self, size: int = -1) -> bytes:
        return b""


class OnlyReadinto:
    def readinto(self, buffer: memoryview) -> int:
        return 0


with open("x.pcap", "rb") as f:
    portannot.flows(f)
portannot.packets(io.BytesIO(b""))
portannot.flows(gzip.GzipFile("x.pcap.gz"))
portannot.summary([gzip.open("a.pcap.gz"), "b.pcap"])
with zipfile.ZipFile("x.zip") as archive, archive.open("inside/x.pcap") as member:
    portannot.iter_flows(member)
portannot.iter_packets(socket.socket().makefile("rb"))
portannot.flows(OnlyRead())
portannot.flows([OnlyReadinto(), OnlyRead()])
CaptureReader(gzip.GzipFile("x.pcap.gz"))
CaptureReader(OnlyReadinto())
'''


def test_readmes_file_objects_type_check(tmp_path: Path) -> None:
    """Every kind of file object README says the functions and CaptureReader read passes
    `mypy --strict`: a GzipFile or a zip member is not a typing.BinaryIO, a user's reader
    neither, and each was an arg-type error. (A text-mode file cannot be refused so: it
    is an Iterable[str], as a list of paths is; it stays a TypeError at run time.)"""
    (tmp_path / "script.py").write_text(FILE_OBJECTS, encoding="utf-8")
    code, out = _mypy("script.py", cwd=tmp_path)
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert not errors, out
