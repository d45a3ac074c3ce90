"""Who is the originator, and which service a flow is: the rules, applied vectorized.

Direction: the sender of the first SYN without ACK; failing that, the receiver
of the first SYN+ACK; failing that, the sender of the first packet.
Service: with a SYN or SYN+ACK the responder is known to be the server, so its
port's name (or none). Otherwise the one port the registry names; if both are
named, the lower port; if neither, none. Unnamed ports never give a service.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portannot.aggregate import kernel as K
from portannot.aggregate.table import RawFlows
from portannot.registry import ServiceTable

DIRECTION_BASES = ("syn", "synack", "first-packet")
SERVICE_BASES = ("none", "responder-port", "one-named-port", "lower-named-port")


@dataclass
class FlowColumns:
    flow_id: np.ndarray
    transport: np.ndarray  #: uint8 Transport code
    ip_version: np.ndarray
    orig_addr: np.ndarray  #: uint64 (n, 2), address words as in PacketBatch
    orig_port: np.ndarray
    resp_addr: np.ndarray
    resp_port: np.ndarray
    service: np.ndarray  #: int32 index into the table's names, 0 = none
    service_port: np.ndarray  #: int32, -1 = none
    service_basis: np.ndarray  #: uint8 index into SERVICE_BASES
    direction_basis: np.ndarray  #: uint8 index into DIRECTION_BASES
    first_ts: np.ndarray
    last_ts: np.ndarray
    orig_packets: np.ndarray
    orig_bytes: np.ndarray
    resp_packets: np.ndarray
    resp_bytes: np.ndarray
    orig_flags: np.ndarray
    resp_flags: np.ndarray
    vlan: np.ndarray

    def __len__(self) -> int:
        return int(self.flow_id.shape[0])


def originator_is_lower(small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(originator is the lower end, direction basis) per flow. Direction 0 is a packet
    sent by the lower end."""
    syn = small[:, K.M_SYN_DIR]
    synack = small[:, K.M_SYNACK_DIR]
    first = small[:, K.M_FIRST_DIR]
    basis = np.where(syn >= 0, 0, np.where(synack >= 0, 1, 2)).astype(np.uint8)
    orig_lower = np.where(syn >= 0, syn == 0, np.where(synack >= 0, synack == 1, first == 0))
    return orig_lower, basis


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


def flow_columns(raw: RawFlows, table: ServiceTable) -> FlowColumns:
    keys, counts, small = raw.keys, raw.counts, raw.small
    tp = keys[:, K.K_TP]
    transport = (tp >> np.uint64(32)).astype(np.uint8)
    lower_port = ((tp >> np.uint64(16)) & np.uint64(0xFFFF)).astype(np.uint16)
    upper_port = (tp & np.uint64(0xFFFF)).astype(np.uint16)
    lower_addr = keys[:, 0:2]
    upper_addr = keys[:, 2:4]
    orig_lower, dbasis = originator_is_lower(small)
    ol = orig_lower[:, None]
    orig_port = np.where(orig_lower, lower_port, upper_port)
    resp_port = np.where(orig_lower, upper_port, lower_port)
    service, service_port, sbasis = choose_service(table, transport, orig_port, resp_port, dbasis)
    pk0, pk1 = counts[:, K.C_PK0].astype(np.int64), counts[:, K.C_PK1].astype(np.int64)
    by0, by1 = counts[:, K.C_BY0].astype(np.int64), counts[:, K.C_BY1].astype(np.int64)
    f0, f1 = small[:, K.M_FLAGS0], small[:, K.M_FLAGS1]
    return FlowColumns(
        flow_id=raw.seq + 1,
        transport=transport,
        ip_version=small[:, K.M_IPV].astype(np.uint8),
        orig_addr=np.where(ol, lower_addr, upper_addr),
        orig_port=orig_port,
        resp_addr=np.where(ol, upper_addr, lower_addr),
        resp_port=resp_port,
        service=service,
        service_port=service_port,
        service_basis=sbasis,
        direction_basis=dbasis,
        first_ts=raw.times[:, K.T_FIRST],
        last_ts=raw.times[:, K.T_LAST],
        orig_packets=np.where(orig_lower, pk0, pk1),
        orig_bytes=np.where(orig_lower, by0, by1),
        resp_packets=np.where(orig_lower, pk1, pk0),
        resp_bytes=np.where(orig_lower, by1, by0),
        orig_flags=np.where(orig_lower, f0, f1).astype(np.uint16),
        resp_flags=np.where(orig_lower, f1, f0).astype(np.uint16),
        vlan=small[:, K.M_VLAN].astype(np.uint16),
    )
