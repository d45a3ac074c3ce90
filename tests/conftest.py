"""Shared test setup: put tests/ on sys.path so test modules in sub-directories can
``import tshark_oracle`` and ``import paths``."""

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
