"""Fixtures for the registry tests: hand-written seeds, the shared full registry, isolation."""

from __future__ import annotations

from pathlib import Path

import pytest
from paths import REGISTRY_FIXTURES as FIXTURES
from paths import SHARED_REGISTRY

FULL_CSV = "service-names-port-numbers.csv"
FULL_XML = "service-names-port-numbers.xml"
XML_0226 = "service-names-port-numbers.2026-02-26.xml"
CRLF_CSV = "alt/service-names-port-numbers.2026-02-13.crlf.csv"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def shared_registry() -> Path:
    """The full IANA registry copies in ../shared/registry; skip where absent."""
    if not (SHARED_REGISTRY / FULL_CSV).is_file():
        pytest.skip(
            f"full IANA registry not available: {SHARED_REGISTRY.resolve()} is absent (CI has it)"
        )
    return SHARED_REGISTRY


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every test away from the user's data/cache dirs and $PORTANNOT_REGISTRY."""
    monkeypatch.setenv("PORTANNOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PORTANNOT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("PORTANNOT_REGISTRY", raising=False)
    return tmp_path
