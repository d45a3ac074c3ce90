"""portannot.cli as the command's process loads it: numpy's OpenBLAS starts no
worker threads (they would spin on the cores the reading threads need), and a
command loads only what it uses (start-up is half of `flows` on 1 M packets)."""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import pytest
from paths import REGISTRY_FIXTURES, local_capture

THREADS = "import numpy, os; print(len(os.listdir('/proc/self/task')))"


def _threads(prelude: str, env: dict[str, str]) -> int:
    out = subprocess.run([sys.executable, "-c", prelude + THREADS], env=env, check=True,
                         capture_output=True, text=True).stdout
    return int(out)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_command_loads_numpy_without_blas_workers():
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "GOTO_NUM_THREADS")}
    assert _threads("import portannot.cli; ", env) == 1
    if (os.cpu_count() or 1) > 1:
        # the control: numpy alone starts OpenBLAS workers here
        assert _threads("", env) > 1


def test_user_setting_wins():
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2"}
    out = subprocess.run(
        [sys.executable, "-c", "import portannot.cli, os; print(os.environ['OPENBLAS_NUM_THREADS'])"],
        env=env, check=True, capture_output=True, text=True).stdout
    assert out.strip() == "2"


POOL = "import pyarrow as pa; print(pa.default_memory_pool().backend_name)"


def test_command_gives_arrow_the_system_allocator():
    """Arrow allocates through the system's malloc in the command's process (small
    pages: see portannot/cli/__init__.py), unless the user chose a pool."""
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}

    def pool(prelude: str, **extra: str) -> str:
        return subprocess.run([sys.executable, "-c", prelude + POOL], env={**env, **extra},
                              check=True, capture_output=True, text=True).stdout.strip()

    assert pool("import portannot.cli; ") == "system"
    assert pool("import portannot.cli; ", ARROW_DEFAULT_MEMORY_POOL="jemalloc") == "jemalloc"


#: modules only other commands (or other registry formats) need; each costs start-up
NOT_FOR_FLOWS = ("portannot.cli.lookup", "portannot.cli.registry", "portannot.cli.packets",
                 "xml.etree.ElementTree", "hashlib", "numba", "rich",
                 # a Parquet file of one row group is encoded without a pool (writers)
                 "concurrent.futures",
                 # the registry's logger is made when it first has something to say
                 "logging",
                 # the cached table is one read, not an .npz (numpy's zip reader)
                 "zipfile",
                 # the cache and data directories are joined by hand (registry.dirs)
                 "platformdirs",
                 # the output's temporary is made without tempfile (atomic_file), and
                 # bz2 and lzma are imported by the captures compressed so (compression)
                 "tempfile", "shutil", "random", "bz2", "lzma")
LOADED = """
import sys
from portannot.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    assert not exc.code, exc.code
print(" ".join(m for m in {names!r} if m in sys.modules))
"""


def test_flows_loads_only_what_it_uses(tmp_path):
    demo = str(local_capture("demo.pcap"))
    code = LOADED.format(names=NOT_FOR_FLOWS)
    args = ["flows", demo, "-f", "parquet", "-o", str(tmp_path / "f.parquet"), "--quiet"]
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True,
                         text=True, env={**os.environ, "PORTANNOT_CACHE_DIR": str(tmp_path)}).stdout
    assert out.split() == []
    # the control: lookup does load what flows leaves out
    args = ["lookup", "80", "--registry", str(REGISTRY_FIXTURES / "seed.xml")]
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True,
                         text=True).stdout
    assert {"portannot.cli.lookup", "xml.etree.ElementTree"} <= set(out.split())


def test_a_timeout_option_loads_no_flow_table(tmp_path):
    """`registry update --timeout` is checked by the same function as the flow timeouts;
    that check must not bring the flow table's kernels into a registry command."""
    heavy = ("portannot.aggregate", "portannot._kernels", "numba")
    code = LOADED.format(names=heavy)
    args = ["registry", "update", "--file", str(REGISTRY_FIXTURES / "seed.csv"),
            "--timeout", "5", "--min-records", "1"]
    env = {**os.environ, "PORTANNOT_CACHE_DIR": str(tmp_path / "c"),
           "PORTANNOT_DATA_DIR": str(tmp_path / "d")}
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True,
                         text=True, env=env).stdout
    assert out.splitlines()[0].startswith("installed 38 records")
    assert out.splitlines()[-1].split() == []


LANDS_IN_CONSOLE = """
import os, signal, sys
from portannot import cli

real = signal.getsignal
def getsignal(signum):
    # a real Ctrl-C, landing before console has its handler in place
    signal.getsignal = real
    os.kill(os.getpid(), signal.SIGINT)
    return real(signum)

signal.getsignal = getsignal
sys.argv = ["portannot", "--version"]
cli.console()
"""


def test_an_interrupt_before_the_start_up_handler_is_one_line():
    """A Ctrl-C that arrives before console() has put its start-up handler in place is
    raised by Python's default handler at the next check, inside console: it was a
    KeyboardInterrupt traceback through console (test_errors' start-up test met it
    about once in a few hundred runs). Now the one line and exit 130."""
    proc = subprocess.run([sys.executable, "-c", LANDS_IN_CONSOLE], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr == "portannot: interrupted\n"
    assert proc.stdout == ""


CLICKS_COMPILED = """
import sys
from importlib.machinery import EXTENSION_SUFFIXES
before = set(sys.modules)
import click
print(" ".join(sorted(name for name in set(sys.modules) - before
                      if getattr(sys.modules[name], "__file__", "").endswith(tuple(EXTENSION_SUFFIXES)))))
"""

LOADED_AT_PRELOAD = """
import sys
from portannot.cli import preload
def record():
    print(" ".join(sorted(sys.modules)), flush=True)
preload.preload = record
sys.argv = ["portannot", "--help"]
from portannot.cli import console
console()
"""


def test_clicks_compiled_modules_load_before_the_preload_helper():
    """The helper's dlopen of pyarrow holds the dynamic loader: an extension module
    click's import loads while it runs waited for the whole load (_uuid 9-45 ms). The
    modules are found by importing click alone, in a fresh interpreter."""
    run = functools.partial(subprocess.run, check=True, capture_output=True, text=True)
    clicks = set(run([sys.executable, "-c", CLICKS_COMPILED]).stdout.split())
    assert "_uuid" in clicks  # the control: click's own import loads compiled modules
    at_preload = set(run([sys.executable, "-c", LOADED_AT_PRELOAD]).stdout.splitlines()[0].split())
    assert "click" not in at_preload  # the helper still starts before click's import
    assert clicks <= at_preload, clicks - at_preload
