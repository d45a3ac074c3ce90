"""The `one` fixture: what the decoder sees in a single frame of a link type."""

from __future__ import annotations

import pytest


@pytest.fixture
def one(decoded):
    return lambda linktype, frame: decoded(linktype, [frame])[0]
