"""Arrow batches of packets and flows (packet_batch, flow_batch) and their writers to
CSV, JSON Lines and Parquet (BatchWriter, Output). The terminal table views are the
commands' own: portannot.cli.flows and portannot.cli.packets.

The names load on first use: `portannot.output.files` (Output) is light and a command
opens its output with it before reading starts, while the batches and writers pull in
pyarrow, which the command imports while the first batches are read.
"""

from typing import TYPE_CHECKING, Any

# what Output and BatchWriter raise (the module imports nothing)
from portannot.errors import OutputError

if TYPE_CHECKING:
    from portannot.output.files import Output
    from portannot.output.formats import OUTPUT_FORMATS
    from portannot.output.tables import flow_batch, packet_batch
    from portannot.output.writers import BatchWriter, textual

#: name -> the module of this package that holds it
_HOMES = {"OUTPUT_FORMATS": "formats", "BatchWriter": "writers", "textual": "writers",
          "Output": "files", "flow_batch": "tables", "packet_batch": "tables"}
__all__ = ["OUTPUT_FORMATS", "BatchWriter", "Output", "OutputError", "flow_batch", "packet_batch",
           "textual"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'portannot.output' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"portannot.output.{home}"), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
