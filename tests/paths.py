"""Where the test captures are: the project's own (pcaps/) and the shared real ones.

The shared captures live next to the repository (``<repo>/../shared/pcaps``, see its
CATALOG.md); tests that need them are skipped with a clear reason when absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from packing import SUFFIXES

REPO = Path(__file__).resolve().parents[1]
LOCAL_PCAPS = REPO / "pcaps"
#: hand-written registry files: the seeds' quirks in each published format
REGISTRY_FIXTURES = REPO / "tests" / "registry" / "fixtures"
#: the shared data: real captures and the full registry, ``<repo>/../shared`` unless
#: $PORTANNOT_SHARED names another place
SHARED = Path(os.environ.get("PORTANNOT_SHARED") or REPO.parent / "shared")
SHARED_PCAPS = SHARED / "pcaps"
#: the full IANA registry as published (CSV and XML), beside the shared captures
SHARED_REGISTRY = SHARED / "registry"
SHARED_IANA_CSV = SHARED_REGISTRY / "service-names-port-numbers.csv"

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap")
COMPRESSED_SUFFIXES = SUFFIXES  #: every format the reader decompresses

SHARED_MISSING = (f"shared captures not found at {SHARED_PCAPS} (sibling 'shared/pcaps' of the "
                  "repo, or $PORTANNOT_SHARED/pcaps)")
LOCAL_MISSING = f"no generated captures in {LOCAL_PCAPS}: run `python pcaps/generate.py`"


def is_capture(path: Path) -> bool:
    name = path.name
    for c in COMPRESSED_SUFFIXES:
        if name.endswith(c):
            name = name[: -len(c)]
            break
    return path.is_file() and name.endswith(CAPTURE_SUFFIXES)


def shared_captures() -> list[Path]:
    if not SHARED_PCAPS.is_dir():
        return []
    return sorted(p for p in SHARED_PCAPS.rglob("*") if is_capture(p))


def local_captures() -> list[Path]:
    if not LOCAL_PCAPS.is_dir():
        return []
    return sorted(p for p in LOCAL_PCAPS.iterdir() if is_capture(p))


def capture_id(path: Path) -> str:
    """Readable, stable id: 'shared/tcpdump/isup.pcap' or 'pcaps/demo.pcap'."""
    path = Path(path).resolve()
    for root, prefix in ((SHARED_PCAPS, "shared"), (LOCAL_PCAPS, "pcaps")):
        try:
            return f"{prefix}/{path.relative_to(root.resolve()).as_posix()}"
        except ValueError:
            continue
    return path.name


def local_capture(name: str) -> Path:
    """A capture of pcaps/ by file name, or skip the test if it was not generated."""
    p = LOCAL_PCAPS / name
    if not p.is_file():
        pytest.skip(LOCAL_MISSING)
    return p


def shared_capture(relpath: str) -> Path:
    """A shared capture by path under shared/pcaps, or skip the test if absent."""
    p = SHARED_PCAPS / relpath
    if not p.is_file():
        pytest.skip(SHARED_MISSING if not SHARED_PCAPS.is_dir() else f"{p} not found")
    return p


def capture_params(*, shared: bool = True, local: bool = True) -> list:
    """pytest.param per capture with a readable id; a skipped placeholder for a missing set."""
    params = []
    if local:
        found = local_captures()
        params += [pytest.param(p, id=capture_id(p)) for p in found]
        if not found:
            params.append(pytest.param(None, id="pcaps-missing", marks=pytest.mark.skip(reason=LOCAL_MISSING)))
    if shared:
        found = shared_captures()
        params += [pytest.param(p, id=capture_id(p)) for p in found]
        if not found:
            params.append(pytest.param(None, id="shared-missing", marks=pytest.mark.skip(reason=SHARED_MISSING)))
    return params


def shared_iana_csv() -> Path:
    """The full IANA registry CSV of ../shared, or skip the test if absent."""
    if not SHARED_IANA_CSV.is_file():
        pytest.skip(f"full IANA registry not found at {SHARED_IANA_CSV}")
    return SHARED_IANA_CSV
