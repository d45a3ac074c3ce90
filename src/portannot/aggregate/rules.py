"""Who is the originator, and which service a flow is.

Direction: the sender of the first SYN without ACK; failing that, the receiver
of the first SYN+ACK; failing that, the sender of the first packet.
Service: with a SYN or SYN+ACK the responder is known to be the server, so its
port's name (or none). Otherwise the one port the registry names; if both are
named, the lower port; if neither, none. Unnamed ports never give a service.

The direction rule runs per flow in the compiled `kernel.orient`, which also
lays the columns out; the service rule runs here, vectorized over the flows.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

from portannot.aggregate import kernel as K
from portannot.aggregate.table import RawFlows
from portannot.registry import ServiceTable
from portannot.registry.table import as_table

if TYPE_CHECKING:
    from portannot.registry import Registry

DIRECTION_BASES = ("syn", "synack", "first-packet")
SERVICE_BASES = ("none", "responder-port", "one-named-port", "lower-named-port")


@dataclass
class FlowColumns:
    flow_id: np.ndarray
    transport: np.ndarray  #: uint8 Transport code
    ip_version: np.ndarray
    #: uint64 (n, 2): PacketBatch's 16 address bytes (network order, IPv4 as ::ffff:a.b.c.d)
    #: held as two words; ``orig_addr.view(np.uint8).reshape(-1, 16)`` gives the bytes
    #: back (the words' values are not the address's numbers on a little-endian machine)
    orig_addr: np.ndarray
    orig_port: np.ndarray
    resp_addr: np.ndarray
    resp_port: np.ndarray
    service: np.ndarray  #: int32 index into the table's names, 0 = none
    service_port: np.ndarray  #: int32, -1 = none
    service_basis: np.ndarray  #: uint8 index into SERVICE_BASES
    direction_basis: np.ndarray  #: uint8 index into DIRECTION_BASES
    first_ts: np.ndarray  #: int64 ns, the earliest packet time (not the first packet's)
    last_ts: np.ndarray  #: int64 ns, the latest packet time
    orig_packets: np.ndarray
    orig_bytes: np.ndarray
    resp_packets: np.ndarray
    resp_bytes: np.ndarray
    orig_flags: np.ndarray
    resp_flags: np.ndarray
    vlan: np.ndarray
    #: the read paused after the packets that ended these flows (a live pipe: see
    #: capture.RecordBatch.paused): write them out now
    paused: bool = False

    def __len__(self) -> int:
        return int(self.flow_id.shape[0])

    def take(self, index: np.ndarray) -> FlowColumns:
        """The flows at `index`, in its order."""
        return FlowColumns(**{f.name: getattr(self, f.name)[index] for f in fields(self)
                              if f.name != "paused"})

    @classmethod
    def empty(cls, n: int) -> FlowColumns:
        """Columns for n flows, to be filled by `kernel.orient` and the service rule."""
        return cls(
            flow_id=np.empty(n, np.int64),
            transport=np.empty(n, np.uint8),
            ip_version=np.empty(n, np.uint8),
            orig_addr=np.empty((n, 2), np.uint64),
            orig_port=np.empty(n, np.uint16),
            resp_addr=np.empty((n, 2), np.uint64),
            resp_port=np.empty(n, np.uint16),
            service=np.empty(n, np.int32),
            service_port=np.empty(n, np.int32),
            service_basis=np.empty(n, np.uint8),
            direction_basis=np.empty(n, np.uint8),
            first_ts=np.empty(n, np.int64),
            last_ts=np.empty(n, np.int64),
            orig_packets=np.empty(n, np.int64),
            orig_bytes=np.empty(n, np.int64),
            resp_packets=np.empty(n, np.int64),
            resp_bytes=np.empty(n, np.int64),
            orig_flags=np.empty(n, np.uint16),
            resp_flags=np.empty(n, np.uint16),
            vlan=np.empty(n, np.uint16),
        )


def choose_service(table: ServiceTable, transport: np.ndarray, orig_port: np.ndarray,
                   resp_port: np.ndarray, direction_basis: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(name index, service port or -1, service basis) per flow."""
    name_o = table.lookup(transport, orig_port, by="code")
    name_r = table.lookup(transport, resp_port, by="code")
    server_known = direction_basis < 2
    both = (name_o > 0) & (name_r > 0)
    lower_is_orig = orig_port <= resp_port
    # first-packet rule
    fp_name = np.where(both, np.where(lower_is_orig, name_o, name_r),
                       np.where(name_r > 0, name_r, name_o))
    fp_port = np.where(both, np.where(lower_is_orig, orig_port, resp_port),
                       np.where(name_r > 0, resp_port, orig_port))
    fp_basis = np.where(both, 3, np.where((name_r > 0) | (name_o > 0), 2, 0))
    name = np.where(server_known, name_r, fp_name).astype(np.int32)
    port = np.where(server_known, resp_port, fp_port).astype(np.int32)
    basis = np.where(server_known, np.where(name_r > 0, 1, 0), fp_basis).astype(np.uint8)
    port[name == 0] = -1
    return name, port, basis


def flow_columns(raw: RawFlows, table: ServiceTable | Registry) -> FlowColumns:
    """Flows as originator/responder rows with their direction and service chosen, the
    service named from `table` (a Registry: its table)."""
    table = as_table(table)
    c = FlowColumns.empty(len(raw))
    K.orient(raw.rows, raw.small, c.transport, c.ip_version, c.orig_addr, c.orig_port,
             c.resp_addr, c.resp_port, c.direction_basis, c.first_ts, c.last_ts,
             c.orig_packets, c.orig_bytes, c.resp_packets, c.resp_bytes, c.orig_flags,
             c.resp_flags, c.vlan, c.flow_id)
    c.service, c.service_port, c.service_basis = choose_service(
        table, c.transport, c.orig_port, c.resp_port, c.direction_basis)
    return c
