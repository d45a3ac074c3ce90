"""Fixtures for the registry tests: hand-written seeds, the shared full registry, isolation.

fixtures/seed.csv and seed.xml carry the same records in the two IANA formats: the
rows of the two registry excerpts the project started from (../shared/seeds: ports
3136-3376, the DNS-SD names without a port) and hand-written rows for ports 0, 80,
3137 and 49151 (reserved ends of the range, several names on one port, a note over
two lines, SCTP), whose text is made up for the tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from paths import REGISTRY_FIXTURES as FIXTURES
from paths import SHARED_IANA_CSV, SHARED_REGISTRY


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def shared_registry() -> Path:
    """The full IANA registry copies in ../shared/registry; skip where absent."""
    if not SHARED_IANA_CSV.is_file():
        pytest.skip(
            f"full IANA registry not available: {SHARED_REGISTRY.resolve()} is absent (CI has it)"
        )
    return SHARED_REGISTRY

