"""The numbers behind `portannot summary`, computed from a flow table with Arrow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from portannot.pipeline import FlowStream


def _group(flows: pa.Table, key: str) -> list[dict[str, Any]]:
    if not flows.num_rows:
        return []
    g = flows.group_by(key).aggregate([("packets", "sum"), ("bytes", "sum"), ("flow_id", "count")])
    g = g.sort_by([("bytes_sum", "descending")])
    return [{key: r[key], "packets": r["packets_sum"], "bytes": r["bytes_sum"],
             "flows": r["flow_id_count"]} for r in g.to_pylist()]


def _talkers(flows: pa.Table, n: int) -> list[dict[str, Any]]:
    """Addresses by bytes sent and received over all their flows. A flow between two
    ports of one address (loopback) is one of its flows, not two."""
    if not flows.num_rows:
        return []
    other_address = pc.cast(pc.not_equal(flows["resp_addr"], flows["orig_addr"]), pa.int64())
    sides = pa.concat_tables([
        pa.table({"address": flows["orig_addr"], "sent": flows["orig_bytes"],
                  "received": flows["resp_bytes"],
                  "flows": pa.array(np.ones(flows.num_rows, np.int64))}),
        pa.table({"address": flows["resp_addr"], "sent": flows["resp_bytes"],
                  "received": flows["orig_bytes"], "flows": other_address}),
    ])
    g = sides.group_by("address").aggregate([("sent", "sum"), ("received", "sum"),
                                             ("flows", "sum")])
    g = g.append_column("bytes", pc.add(g["sent_sum"], g["received_sum"]))
    g = g.sort_by([("bytes", "descending")]).slice(0, n)
    return [{"address": r["address"], "bytes": r["bytes"], "sent": r["sent_sum"],
             "received": r["received_sum"], "flows": r["flows_sum"]} for r in g.to_pylist()]


def summarize(flows: pa.Table, stream: FlowStream, top: int) -> dict[str, Any]:
    acc = stream.accounting
    if flows.num_rows:
        unnamed = flows.filter(pc.is_null(flows["service"]))
        unnamed_ports = _group(unnamed.append_column(
            "ports", pc.binary_join_element_wise(
                unnamed["transport"].cast(pa.string()), pc.cast(unnamed["resp_port"], pa.string()),
                "/")), "ports")[:top] if unnamed.num_rows else []
        by_service = _group(flows.append_column(
            "svc", pc.if_else(pc.is_null(flows["service"]), "(none)",
                              flows["service"].cast(pa.string()))), "svc")
    else:
        unnamed, unnamed_ports, by_service = flows, [], []
    return {
        "files": acc.files,
        "packets": acc.records,
        "bytes": acc.bytes,
        "flows": stream.flow_count,
        "first_ts": acc.first_ts,
        "last_ts": acc.last_ts,
        "accounting": {name: {"packets": int(c), "bytes": int(b)} for name, c, b in
                       zip(acc.by_status(), acc.status_counts, acc.status_bytes)},
        "by_transport": _group(flows.append_column("proto", flows["transport"].cast(pa.string())),
                               "proto") if flows.num_rows else [],
        "by_service": [{("service" if k == "svc" else k): v for k, v in r.items()}
                       for r in by_service][:top],
        "top_talkers": _talkers(flows, top),
        "unnamed": {
            "flows": unnamed.num_rows,
            "packets": int(pc.sum(unnamed["packets"]).as_py() or 0) if unnamed.num_rows else 0,
            "bytes": int(pc.sum(unnamed["bytes"]).as_py() or 0) if unnamed.num_rows else 0,
            "top_responder_ports": unnamed_ports,
        },
        "warnings": acc.warnings(),
    }
