"""The `portannot` command: one module per sub-command."""

from portannot.cli import flows as _flows  # noqa: E402,F401

# Sub-commands register themselves on `cli` when imported.
from portannot.cli import lookup as _lookup  # noqa: E402,F401
from portannot.cli import packets as _packets  # noqa: E402,F401
from portannot.cli import registry as _registry  # noqa: E402,F401
from portannot.cli import summary as _summary  # noqa: E402,F401
from portannot.cli.app import cli, main

__all__ = ["cli", "main"]
