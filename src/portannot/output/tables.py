"""Arrow record batches of packets and flows, with proper types.

Strings that repeat (transport, service, status, bases) are dictionary-encoded,
times are UTC timestamps in nanoseconds, counts are integers; text forms come
only at the writers that need text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from portannot.aggregate.rules import DIRECTION_BASES, SERVICE_BASES, FlowColumns
from portannot.aggregate.table import check_packets
from portannot.decode import NO_VLAN, PacketBatch
from portannot.decode.columns import NO_TCP_HEADER
from portannot.output.arrays import arrow, strings
from portannot.output.text import addresses, tcp_flag_text
from portannot.registry import ServiceTable
from portannot.registry.table import as_table
from portannot.status import STATUS_NAMES
from portannot.transport import TRANSPORT_NAMES, Transport

if TYPE_CHECKING:
    from portannot.registry import Registry

TIMESTAMP = pa.timestamp("ns", tz="UTC")
_TRANSPORTS = strings(list(TRANSPORT_NAMES))
_STATUSES = strings(list(STATUS_NAMES))
_DIRECTION_BASES = strings(list(DIRECTION_BASES))
_SERVICE_BASES = strings(list(SERVICE_BASES))


def _dictionary(codes: np.ndarray, values: pa.Array[Any],
                valid: np.ndarray | None = None) -> pa.Array[Any]:
    return pa.DictionaryArray.from_arrays(arrow(codes, pa.int32(), valid), values)


def _services(codes: np.ndarray, table: ServiceTable) -> pa.Array[Any]:
    """Service names (int32 indices into `table.names`, 0 for none, which is null) as a
    dictionary column whose dictionary holds only the names these rows use. With the
    registry's ~6,000 names as the dictionary, every pandas category list and
    `groupby(observed=False)` listed thousands of services no row has. One bincount
    over the indices finds the used ones; no string is compared. The used names are
    built from their buffers (`strings`): Array.take would load pyarrow.compute and
    pa.array() pandas, at every command's start."""
    names = table.names
    used = np.bincount(codes, minlength=len(names)).astype(bool)
    used[0] = False
    kept = np.flatnonzero(used)
    remap = np.zeros(len(names), np.int32)
    remap[kept] = np.arange(len(kept), dtype=np.int32)
    return _dictionary(remap[codes], strings([str(n) for n in names[kept]]), codes > 0)


def _record_batch(cols: dict[str, pa.Array[Any]], nullable: frozenset[str]) -> pa.RecordBatch:
    """The columns as a batch whose schema declares which may hold nulls. A column
    declared not null is REQUIRED in Parquet, which then writes no definition level
    per value: encoding flows-1m's million flows took 304 -> 270 ms of CPU. Readers
    learn from the schema too that such a column has a value in every row."""
    fields = [pa.field(name, col.type, name in nullable) for name, col in cols.items()]
    return pa.RecordBatch.from_arrays(list(cols.values()), schema=pa.schema(fields))


#: packet columns that can be null: what does not apply to every packet (README
#: "Packets: columns"); the others have a value in every row
PACKET_NULLABLE = frozenset({
    "transport", "src_addr", "src_port", "dst_addr", "dst_port", "src_service",
    "dst_service", "vlan", "ip_version", "ip_proto", "tcp_flags",
})


def packet_batch(batch: PacketBatch, table: ServiceTable | Registry, *,
                 with_file: bool = False) -> pa.RecordBatch:
    """The Arrow rows of decoded packets (the columns README "Packets: columns" lists),
    each port named from `table`. This is where numbers become typed, nullable columns:
    a port, VLAN or flags field that does not apply is null here, not 0, so that no
    reader takes it for port 0. `with_file` adds the `file` column (the input's index),
    which only means something when several files are read together. A Registry gives
    its table. The batch is checked first (aggregate.table.check_packets): the addresses
    are formatted by a compiled loop that trusts its columns' lengths."""
    check_packets(batch)
    table = as_table(table)
    has_ports = batch.transport != Transport.NONE
    code = np.where(has_ports, batch.transport, 0)  # null there: any valid index will do
    src_name = table.lookup(batch.transport, batch.src_port, by="code")
    dst_name = table.lookup(batch.transport, batch.dst_port, by="code")
    words_src = batch.src_addr.view(np.uint64)
    words_dst = batch.dst_addr.view(np.uint64)
    cols = {
        "number": arrow(batch.number, pa.int64()),
        "ts": arrow(batch.ts_ns, TIMESTAMP),
        "length": arrow(batch.length, pa.uint32()),
        "transport": _dictionary(code, _TRANSPORTS, has_ports),
        "src_addr": addresses(words_src, batch.ip_version),
        "src_port": arrow(batch.src_port, pa.uint16(), has_ports),
        "dst_addr": addresses(words_dst, batch.ip_version),
        "dst_port": arrow(batch.dst_port, pa.uint16(), has_ports),
        "src_service": _services(src_name, table),
        "dst_service": _services(dst_name, table),
        "status": _dictionary(batch.status, _STATUSES),
        "caplen": arrow(batch.caplen, pa.uint32()),
        "interface": arrow(batch.interface, pa.uint32()),
        "linktype": arrow(batch.linktype, pa.uint16()),
        "vlan": arrow(batch.vlan, pa.uint16(), batch.vlan != NO_VLAN),
        "ip_version": arrow(batch.ip_version, pa.uint8(), batch.ip_version != 0),
        "ip_proto": arrow(batch.ip_proto, pa.uint8(), batch.ip_version != 0),
        # null for other transports, and for a later fragment: it has no TCP header
        "tcp_flags": arrow(batch.tcp_flags, pa.uint16(),
                           (batch.transport == Transport.TCP) & (batch.tcp_flags != NO_TCP_HEADER)),
    }
    if with_file:
        cols["file"] = arrow(batch.file_indices(), pa.int32())
    return _record_batch(cols, PACKET_NULLABLE)


#: flow columns that can be null (README "Flows: columns"): no named service, not TCP,
#: untagged
FLOW_NULLABLE = frozenset({"service", "service_port", "orig_tcp_flags", "resp_tcp_flags", "vlan"})

FLOW_COLUMNS = (
    "flow_id", "transport", "orig_addr", "orig_port", "resp_addr", "resp_port", "service",
    "service_port", "service_basis", "direction_basis", "first_ts", "last_ts", "duration",
    "orig_packets", "orig_bytes", "resp_packets", "resp_bytes", "packets", "bytes",
    "orig_tcp_flags", "resp_tcp_flags", "vlan", "ip_version",
)


def flow_batch(flows: FlowColumns, table: ServiceTable | Registry) -> pa.RecordBatch:
    """The Arrow rows of oriented flows (what aggregate.flow_columns makes of the RawFlows
    a FlowTable hands out), with FLOW_COLUMNS, the service named from `table`. Counts
    per direction and their sums both, and duration in seconds, so that the rows read
    alone; TCP flags as letters (FSPA), the union of each direction's flags. A Registry
    gives its table."""
    table = as_table(table)
    is_tcp = flows.transport == Transport.TCP
    named = flows.service > 0
    cols = {
        "flow_id": arrow(flows.flow_id, pa.int64()),
        "transport": _dictionary(flows.transport, _TRANSPORTS),
        "orig_addr": addresses(flows.orig_addr, flows.ip_version),
        "orig_port": arrow(flows.orig_port, pa.uint16()),
        "resp_addr": addresses(flows.resp_addr, flows.ip_version),
        "resp_port": arrow(flows.resp_port, pa.uint16()),
        "service": _services(flows.service, table),
        "service_port": arrow(flows.service_port.astype(np.uint16), pa.uint16(), named),
        "service_basis": _dictionary(flows.service_basis, _SERVICE_BASES),
        "direction_basis": _dictionary(flows.direction_basis, _DIRECTION_BASES),
        "first_ts": arrow(flows.first_ts, TIMESTAMP),
        "last_ts": arrow(flows.last_ts, TIMESTAMP),
        "duration": arrow((flows.last_ts - flows.first_ts) / 1e9, pa.float64()),
        "orig_packets": arrow(flows.orig_packets, pa.int64()),
        "orig_bytes": arrow(flows.orig_bytes, pa.int64()),
        "resp_packets": arrow(flows.resp_packets, pa.int64()),
        "resp_bytes": arrow(flows.resp_bytes, pa.int64()),
        "packets": arrow(flows.orig_packets + flows.resp_packets, pa.int64()),
        "bytes": arrow(flows.orig_bytes + flows.resp_bytes, pa.int64()),
        "orig_tcp_flags": tcp_flag_text(flows.orig_flags, is_tcp),
        "resp_tcp_flags": tcp_flag_text(flows.resp_flags, is_tcp),
        "vlan": arrow(flows.vlan, pa.uint16(), flows.vlan != NO_VLAN),
        "ip_version": arrow(flows.ip_version, pa.uint8()),
    }
    return _record_batch(cols, FLOW_NULLABLE)

