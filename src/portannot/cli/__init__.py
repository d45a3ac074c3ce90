"""The `portannot` command: one module per sub-command.

`lookup` and `registry` register on import; the capture commands (flows, packets,
summary) load through app.LazyGroup when they run.
"""

from portannot.cli import lookup as _lookup  # noqa: F401
from portannot.cli import registry as _registry  # noqa: F401
from portannot.cli.app import cli, console, main

__all__ = ["cli", "console", "main"]
