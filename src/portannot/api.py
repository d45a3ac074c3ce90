"""The Python API: one call for a table, one iterator for streaming.

    import portannot
    flows = portannot.flows("capture.pcapng")          # pyarrow.Table
    df = flows.to_pandas()                             # if pandas is installed
    for batch in portannot.iter_flows(["a.pcap", "b.pcap"], idle_timeout=60):
        ...                                            # pyarrow.RecordBatch as flows end
    report = portannot.summary("capture.pcap")         # dict, as `portannot summary --json`

Damage met on the way (a capture cut mid-record, a damaged block, a link type not
decoded) does not stop the read, as it does not stop the command: each line the
command prints as `portannot: warning:` (exiting 3) is a portannot.CaptureWarning here,
raised once the read is over, so that a caller is told without losing the rows.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterator
from os import PathLike
from typing import Any

import pyarrow as pa

from portannot import CaptureWarning
from portannot.aggregate.table import Timeout, check_timeout
from portannot.capture import Paths, as_paths
from portannot.output.tables import flow_batch, packet_batch
from portannot.pipeline import Accounting, FlowStream, PacketStream
from portannot.registry import Registry, ServiceTable, load_table

#: what `registry=` takes: a registry file, the records load_registry() parsed, the port
#: table load_table() built, or None for the default choice (README "Choosing a registry")
RegistryChoice = str | PathLike[str] | Registry | ServiceTable | None
#: `services=`: a services(5) file of local names that win over the registry
ServicesFile = str | PathLike[str] | None

def _table(registry: RegistryChoice, services: ServicesFile) -> ServiceTable:
    """The port table the call names services from. A ready Registry or ServiceTable
    already holds whatever local names it was loaded with, so `services=` beside it
    would be silently ignored: that is an error instead."""
    if isinstance(registry, (Registry, ServiceTable)):
        if services is not None:
            raise ValueError(
                f"services= cannot be added to a ready {type(registry).__name__}: give it "
                "to load_registry() or load_table() instead, or pass registry= as a file")
        return registry.table() if isinstance(registry, Registry) else registry
    if registry is not None and not isinstance(registry, (str, PathLike)):
        raise TypeError("registry must be a file path, a Registry, a ServiceTable or None, "
                        f"not {type(registry).__name__}")
    return load_table(registry, services)


def _files(paths: Paths) -> list[str]:
    """The capture paths as a list, read once at the top of each API call: an iterator
    (``Path.glob``) handed on as it is would be used up by the first look at it (the
    `file` column's decision), and the stream would then read nothing. No paths at all
    is an error rather than an empty table: a glob that matched nothing should say so."""
    files = as_paths(paths)
    if not files:
        raise ValueError("no capture files given")
    return files


def _report(accounting: Accounting, stacklevel: int) -> None:
    """One CaptureWarning per line the command prints as `portannot: warning:` (and for
    which it exits 3), once the read is over. `stacklevel` counts from the caller: 1
    names its own line, 2 the line that called it (for a generator: the next() that
    ended the read, the user's for loop)."""
    for path, line in accounting.warnings_by_input():
        warnings.warn(CaptureWarning(line, path), stacklevel=stacklevel + 1)


def iter_packets(paths: Paths, *, registry: RegistryChoice = None,
                 services: ServicesFile = None) -> Iterator[pa.RecordBatch]:
    """One Arrow batch of annotated packets per decoded chunk, in capture order."""
    files = _files(paths)
    table = _table(registry, services)
    stream = PacketStream(files)
    return _reported(_packet_batches(stream, table, len(files) > 1), stream.accounting)


def _packet_batches(stream: PacketStream, table: ServiceTable,
                    with_file: bool) -> Iterator[pa.RecordBatch]:
    for batch in stream:
        yield packet_batch(batch, table, with_file=with_file)


def _reported(batches: Iterator[pa.RecordBatch], accounting: Accounting
              ) -> Iterator[pa.RecordBatch]:
    """The batches, then the damage met reading them as warnings (see _report), raised
    where the caller's next() ended the read."""
    yield from batches
    _report(accounting, stacklevel=2)


def packets(paths: Paths, *, registry: RegistryChoice = None,
            services: ServicesFile = None) -> pa.Table:
    """Every packet of the captures, annotated, as one table (use iter_packets for big ones)."""
    files = _files(paths)
    table = _table(registry, services)
    many = len(files) > 1
    stream = PacketStream(files)
    batches = list(_packet_batches(stream, table, many))
    if not batches:  # no records: no rows, every column all the same
        batches = [packet_batch(PacketStream.empty(), table, with_file=many)]
    _report(stream.accounting, stacklevel=2)
    return _concat(batches)


def iter_flows(paths: Paths, *, registry: RegistryChoice = None,
               services: ServicesFile = None, idle_timeout: Timeout = None,
               active_timeout: Timeout = None) -> Iterator[pa.RecordBatch]:
    """Flows as Arrow batches, as they end: with timeouts, as they time out; the flows
    still open at the end of the read last, in flow_id order. Rows are in the order
    flows end, not by flow_id: that is what lets them go as the capture streams past."""
    files = _files(paths)
    check_timeout(idle_timeout, "idle_timeout")  # before the registry loads
    check_timeout(active_timeout, "active_timeout")
    stream = _flow_stream(files, _table(registry, services), idle_timeout, active_timeout)
    return _reported(_flow_batches(stream, stream.table), stream.accounting)


def _flow_stream(files: list[str], table: ServiceTable, idle_timeout: Timeout,
                 active_timeout: Timeout) -> FlowStream:
    return FlowStream(files, table, idle_timeout=idle_timeout, active_timeout=active_timeout)


def _flow_batches(stream: FlowStream, table: ServiceTable) -> Iterator[pa.RecordBatch]:
    for cols in stream:
        yield flow_batch(cols, table)


def flows(paths: Paths, *, registry: RegistryChoice = None,
          services: ServicesFile = None, idle_timeout: Timeout = None,
          active_timeout: Timeout = None) -> pa.Table:
    """Bidirectional flows of the captures with their services, one row per flow, in the
    order the flows ended (as iter_flows gives them; `.sort_by("flow_id")` for the order
    they began)."""
    files = _files(paths)
    check_timeout(idle_timeout, "idle_timeout")  # before the registry loads
    check_timeout(active_timeout, "active_timeout")
    table = _table(registry, services)
    stream = _flow_stream(files, table, idle_timeout, active_timeout)
    batches = list(_flow_batches(stream, table))
    if not batches:  # no flows: no rows, every column all the same
        batches = [flow_batch(FlowStream.empty(), table)]
    _report(stream.accounting, stacklevel=2)
    return _concat(batches)


def summary(paths: Paths, *, registry: RegistryChoice = None,
            services: ServicesFile = None, top: int = 10) -> dict[str, Any]:
    """What `portannot summary --json` reports: totals, the packet accounting by status,
    packets, bytes and flows per transport and per service, the `top` talkers and the
    flows without a named service. No flow rows are kept on the way."""
    from portannot.output.summary import summarize

    if isinstance(top, bool) or not isinstance(top, numbers.Integral) or top < 1:
        raise ValueError(f"top must be a whole number of at least 1, not {top!r}")
    files = _files(paths)
    table = _table(registry, services)
    stream = FlowStream(files, table)
    report = summarize(stream, stream, table, top)
    _report(stream.accounting, stacklevel=2)
    return report


def _concat(batches: list[pa.RecordBatch]) -> pa.Table:
    """The batches as one table, chunks kept (joining them would copy every column
    for nothing: pandas and pyarrow's compute read chunked columns as they are);
    string columns share one dictionary across chunks."""
    return pa.Table.from_batches(batches).unify_dictionaries()
