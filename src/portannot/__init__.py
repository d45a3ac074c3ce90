"""portannot: streaming packet-capture port annotator.

Captures flow one way through the stages, each usable on its own:
``capture`` (raw records) -> ``decode`` (columns) -> ``flows`` (aggregation)
-> ``output`` (writers), with ``registry`` naming the ports. The functions
below join them: ``flows``, ``iter_flows``, ``packets``, ``iter_packets``, ``summary``.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["flows", "iter_flows", "iter_packets", "packets", "summary", "__version__"]


def __getattr__(name: str) -> Any:
    # The API pulls in numba and pyarrow; `portannot --version` should not pay for that.
    if name in ("flows", "iter_flows", "packets", "iter_packets", "summary"):
        from portannot import api

        return getattr(api, name)
    raise AttributeError(name)
