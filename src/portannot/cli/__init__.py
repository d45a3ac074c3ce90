"""The `portannot` command: one module per sub-command.

Each sub-command loads through app.LazyGroup when it runs.
"""

import os

# The command never calls BLAS, but OpenBLAS starts a worker per core as numpy loads,
# and each spins for ~0.1 s of CPU before sleeping: on two cores, time taken from
# the reading threads. Set before numpy loads; a user's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from portannot.cli.app import cli, console, main  # noqa: E402

__all__ = ["cli", "console", "main"]
