"""portannot: streaming packet-capture port annotator.

Captures flow one way through the stages, each usable on its own:
``capture`` (raw record batches) -> ``decode`` (packet columns) -> ``aggregate``
(the flow table) -> ``output`` (Arrow tables and writers), with ``registry``
naming the ports. The functions below join them: ``flows``, ``iter_flows``,
``packets``, ``iter_packets``, ``summary`` (see ``portannot.api``).
"""

from typing import TYPE_CHECKING, Any

# the errors the functions raise (the module imports nothing: no cost at start-up)
from portannot.errors import CaptureFormatError, InputError, OutputError, RegistryError

__version__ = "0.1.0"
__all__ = ["CaptureFormatError", "CaptureWarning", "InputError", "OutputError", "RegistryError",
           "flows", "iter_flows", "iter_packets", "packets", "summary", "__version__"]

if TYPE_CHECKING:  # what __getattr__ hands out, for type checkers and editors
    from portannot.api import flows, iter_flows, iter_packets, packets, summary

#: the functions of portannot.api, loaded on first use
_API = ("flows", "iter_flows", "packets", "iter_packets", "summary")


class CaptureWarning(UserWarning):
    """Part of an input could not be read or decoded (a file cut mid-record, a damaged
    block, a link type portannot does not decode, one input of several missing): the
    API's counterpart of the command's `portannot: warning:` lines and exit code 3
    (4 for the missing input). The rows are still returned, so the damage has to be
    said some other way than an exception; turn it into one with
    ``warnings.simplefilter("error", portannot.CaptureWarning)``.

    The message starts with the input's name, and `path` holds it (as the message
    gives it: "<stdin>" for "-"), so that a caller reading many files can tell which
    one is damaged without parsing the text."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


def __getattr__(name: str) -> Any:
    # The API pulls in numba and pyarrow; `portannot --version` should not pay for that.
    if name in _API:
        from portannot import api

        return getattr(api, name)
    raise AttributeError(f"module 'portannot' has no attribute {name!r}")


def __dir__() -> list[str]:
    # dir() and help() list the lazily loaded functions too, without loading them
    return sorted({*globals(), *_API})
