"""The Python API: one call for a table, one iterator for streaming.

    import portannot
    flows = portannot.flows("capture.pcapng")          # pyarrow.Table
    df = flows.to_pandas()                             # if pandas is installed
    for batch in portannot.iter_flows(["a.pcap", "b.pcap"], idle_timeout=60):
        ...                                            # pyarrow.RecordBatch as flows end
    report = portannot.summary("capture.pcap")         # dict, as `portannot summary --json`
"""

from __future__ import annotations

from collections.abc import Iterator
from os import PathLike
from typing import Any

import pyarrow as pa

from portannot.output.tables import flow_batch, packet_batch
from portannot.pipeline import FlowStream, PacketStream, Paths, as_paths
from portannot.registry import ServiceTable, load_table

Registry = str | PathLike[str] | ServiceTable | None


def _table(registry: Registry, services: str | PathLike[str] | None) -> ServiceTable:
    if isinstance(registry, ServiceTable):
        return registry
    return load_table(registry, services)


def iter_packets(paths: Paths, *, registry: Registry = None,
                 services: str | PathLike[str] | None = None) -> Iterator[pa.RecordBatch]:
    """One Arrow batch of annotated packets per decoded chunk, in capture order."""
    table = _table(registry, services)
    many = len(as_paths(paths)) > 1
    for batch in PacketStream(paths):
        yield packet_batch(batch, table, with_file=many)


def packets(paths: Paths, *, registry: Registry = None,
            services: str | PathLike[str] | None = None) -> pa.Table:
    """Every packet of the captures, annotated, as one table (use iter_packets for big ones)."""
    table = _table(registry, services)
    batches = list(iter_packets(paths, registry=table))
    if not batches:  # no records: no rows, every column all the same
        batches = [packet_batch(PacketStream.empty(), table, with_file=len(as_paths(paths)) > 1)]
    return _concat(batches)


def iter_flows(paths: Paths, *, registry: Registry = None,
               services: str | PathLike[str] | None = None, idle_timeout: float | None = None,
               active_timeout: float | None = None) -> Iterator[pa.RecordBatch]:
    """Flows as Arrow batches, as they end (all at the end without timeouts)."""
    table = _table(registry, services)
    stream = FlowStream(paths, table, idle_timeout=idle_timeout, active_timeout=active_timeout)
    for cols in stream:
        yield flow_batch(cols, table)


def flows(paths: Paths, *, registry: Registry = None,
          services: str | PathLike[str] | None = None, idle_timeout: float | None = None,
          active_timeout: float | None = None) -> pa.Table:
    """Bidirectional flows of the captures with their services, one row per flow."""
    table = _table(registry, services)
    batches = list(iter_flows(paths, registry=table, idle_timeout=idle_timeout,
                              active_timeout=active_timeout))
    if not batches:  # no flows: no rows, every column all the same
        batches = [flow_batch(FlowStream.empty(), table)]
    return _concat(batches)


def summary(paths: Paths, *, registry: Registry = None,
            services: str | PathLike[str] | None = None, top: int = 10) -> dict[str, Any]:
    """What `portannot summary --json` reports: totals, the packet accounting by status,
    packets, bytes and flows per transport and per service, the `top` talkers and the
    flows without a named service. No flow rows are kept on the way."""
    from portannot.output.summary import summarize

    table = _table(registry, services)
    stream = FlowStream(paths, table)
    return summarize(stream, stream, table, top)


def _concat(batches: list[pa.RecordBatch]) -> pa.Table:
    """The batches as one table, chunks kept (joining them would copy every column
    for nothing: pandas and pyarrow's compute read chunked columns as they are);
    string columns share one dictionary across chunks."""
    return pa.Table.from_batches(batches).unify_dictionaries()
