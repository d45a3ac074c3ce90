"""cli.preload: the libraries it loads are the files the imports load, and are loaded
by it (mapped into the process) before any import of theirs, which then works."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.util import find_spec

import pytest

from portannot.cli import preload


def test_paths_are_the_modules_the_imports_load():
    import pyarrow._parquet
    import pyarrow.lib

    assert [p.decode() for p in preload._paths()] == [pyarrow.lib.__file__,
                                                      pyarrow._parquet.__file__]


def test_a_package_not_installed_is_passed_over(monkeypatch):
    monkeypatch.setattr(preload, "LIBRARIES", (("no_such_package_here", ("lib",)),))
    assert find_spec("no_such_package_here") is None
    assert preload._paths() == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_the_libraries_are_mapped_before_their_import():
    """In a fresh interpreter: after the helper, pyarrow's lib is in the process's memory
    map though no pyarrow module was imported; importing pyarrow then works."""
    code = textwrap.dedent("""
        import sys
        from portannot.cli import preload
        paths = [p.decode() for p in preload._paths()]
        def mapped():
            with open("/proc/self/maps") as maps:
                return {line.split()[-1] for line in maps if "/" in line}
        assert not set(paths) & mapped(), "loaded before the helper"
        thread = preload.preload()
        if thread is None:
            print("one core")
            sys.exit(0)
        thread.join()
        assert set(paths) <= mapped(), (paths, "not mapped")
        assert not any(name.startswith("pyarrow") for name in sys.modules)
        import pyarrow as pa
        assert pa.array([1, 2]).to_pylist() == [1, 2]
        print("mapped first")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in ("mapped first", "one core")


def test_a_failing_helper_says_nothing(monkeypatch, capfd):
    """A head start only: whatever goes wrong in the helper stays there (a traceback on
    stderr would break the command's one-line errors)."""
    def broken() -> list[bytes]:
        raise RuntimeError("no such layout")

    monkeypatch.setattr(preload, "_paths", broken)
    preload._load()
    assert capfd.readouterr() == ("", "")


def test_the_helper_starts_before_the_commands_own_imports():
    """The helper is started as soon as its module loads, before the modules the command
    needs later (background's dataclasses, inspect, queue: ~14 ms that ran before the
    helper's start, leaving its load to overlap numpy's, whose dlopen then waited)."""
    code = ("import sys; import portannot.cli.preload; "
            "print(' '.join(m for m in ('portannot.background', 'dataclasses', 'inspect', 'queue') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == []
