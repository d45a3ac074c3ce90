"""portannot: streaming packet-capture port annotator.

Captures flow one way through the stages, each usable on its own:
``capture`` (raw records) -> ``decode`` (columns) -> ``flows`` (aggregation)
-> ``output`` (writers), with ``registry`` naming the ports. The functions
below join them: ``flows``, ``iter_flows``, ``packets``, ``iter_packets``, ``summary``.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["CaptureWarning", "flows", "iter_flows", "iter_packets", "packets", "summary",
           "__version__"]


class CaptureWarning(UserWarning):
    """Part of an input could not be read or decoded (a file cut mid-record, a damaged
    block, a link type portannot does not decode): the API's counterpart of the
    command's `portannot: warning:` lines and exit code 3. The rows are still
    returned, so the damage has to be said some other way than an exception; turn it
    into one with ``warnings.simplefilter("error", portannot.CaptureWarning)``."""


def __getattr__(name: str) -> Any:
    # The API pulls in numba and pyarrow; `portannot --version` should not pay for that.
    if name in ("flows", "iter_flows", "packets", "iter_packets", "summary"):
        from portannot import api

        return getattr(api, name)
    raise AttributeError(name)
