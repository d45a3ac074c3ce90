"""portannot.cli as the command's process loads it: numpy's OpenBLAS starts no
worker threads (they would spin on the cores the reading threads need)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

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
