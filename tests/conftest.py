"""Shared test setup.

* tests/ on sys.path, so test modules in sub-directories can ``import tshark_oracle``,
  ``import paths`` and the other helpers here.
* No test touches the user's registry, data or cache: for the whole session
  $PORTANNOT_CACHE_DIR and $PORTANNOT_DATA_DIR point into pytest's temporary folder and
  $PORTANNOT_REGISTRY is unset, before any fixture of any scope runs (a module-scoped
  ``load_table()`` included), and child processes inherit it. The cache is shared by
  the session, so the shipped snapshot's table is built once; each test has its own
  empty data dir, so a `registry update` in one test is not another's registry. A test
  that needs an empty cache of its own asks for ``own_cache``.
* COLUMNS is fixed, so click's help text wraps the same on every machine.
* SIGINT is not ignored (see _sigint_as_from_a_terminal).
* ``cli``: the CLI run in-process, giving (exit code, stdout, stderr).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

#: the variables portannot.registry reads (spelled out: the tests check them)
CACHE_DIR, DATA_DIR, REGISTRY = "PORTANNOT_CACHE_DIR", "PORTANNOT_DATA_DIR", "PORTANNOT_REGISTRY"


@pytest.fixture(scope="session", autouse=True)
def _sigint_as_from_a_terminal() -> Iterator[None]:
    """The tests that Ctrl-C the command expect it to start with SIGINT's default, as
    from a terminal. A job a non-interactive shell starts with `&` has SIGINT ignored
    (POSIX), and every process it starts inherits that: `pytest &` in a script failed
    all 18 of them (the command, rightly, ignored the Ctrl-C and read on or ended 0).
    Those that test an ignored SIGINT set it in the child themselves."""
    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    if ignored:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture(scope="session", autouse=True)
def _session_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's cache and (fallback) data dir; no $PORTANNOT_REGISTRY."""
    with pytest.MonkeyPatch.context() as mp:
        cache = tmp_path_factory.mktemp("portannot-cache")
        mp.setenv(CACHE_DIR, str(cache))
        mp.setenv(DATA_DIR, str(tmp_path_factory.mktemp("portannot-data")))
        mp.delenv(REGISTRY, raising=False)
        mp.setenv("COLUMNS", "200")
        yield cache


@pytest.fixture(autouse=True)
def _own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's data dir (where `registry update` installs): tmp_path / "data"."""
    data = tmp_path / "data"
    monkeypatch.setenv(DATA_DIR, str(data))
    return data


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache dir for this test alone: tmp_path / "cache"."""
    cache = tmp_path / "cache"
    monkeypatch.setenv(CACHE_DIR, str(cache))
    return cache


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """``cli("lookup", "80")``: portannot.cli.main run in-process -> (exit code, stdout,
    stderr)."""
    from portannot.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exc:
            main(list(args))
        out, err = capsys.readouterr()
        return int(exc.value.code or 0), out, err

    return run
