"""The numbers behind `portannot summary`, tallied from flow columns as they come.

Nothing per flow is kept: each piece of flows is folded into sums per transport,
per service, per (transport, responder port) of the flows without a service, and
per address (talkers.py); text (names, addresses) is made for the rows shown only.
Building the whole flow table in Arrow and grouping it there cost 0.6 GB and a
second on a million flows, half of it importing pyarrow's query engine (and pandas
with it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from portannot.capture.source import display_name
from portannot.output.ranking import top_indices
from portannot.output.talkers import K_VERSION, K_W0, K_W1, S_FLOWS, S_RECEIVED, S_SENT, TalkerTally
from portannot.output.text import addresses, text_path
from portannot.transport import TRANSPORT_NAMES

if TYPE_CHECKING:
    from collections.abc import Iterable

    from portannot.aggregate.rules import FlowColumns
    from portannot.pipeline import FlowStream
    from portannot.registry import ServiceTable

#: the rows of the sums: [packets, bytes, flows]
PACKETS, BYTES, FLOWS = 0, 1, 2


class Summary:
    """Running totals of the flows seen so far; `report` turns them into the rows."""

    def __init__(self, table: ServiceTable) -> None:
        self.table = table
        ntrans = len(TRANSPORT_NAMES)
        #: [packets, bytes, flows] per transport code / service index / transport * 65536 + port
        self.by_transport = np.zeros((3, ntrans), np.int64)
        self.by_service = np.zeros((3, len(table.names)), np.int64)
        self.unnamed = np.zeros((3, ntrans << 16), np.int64)
        self.talkers = TalkerTally()

    def add(self, flows: FlowColumns) -> None:
        """Fold a piece of flows into the totals; nothing of it is kept."""
        n = len(flows)
        if not n:
            return
        packets = flows.orig_packets + flows.resp_packets
        nbytes = flows.orig_bytes + flows.resp_bytes
        counts = (packets, nbytes, np.ones(n, np.int64))
        _add(self.by_transport, flows.transport, counts)
        _add(self.by_service, flows.service, counts)
        unnamed = flows.service == 0
        port_key = (flows.transport[unnamed].astype(np.int64) << 16) | flows.resp_port[unnamed]
        _add(self.unnamed, port_key, tuple(c[unnamed] for c in counts))
        self.talkers.add(flows.orig_addr, flows.resp_addr, flows.ip_version,
                         flows.orig_bytes, flows.resp_bytes)

    def report(self, stream: FlowStream, top: int) -> dict[str, Any]:
        """The summary as plain data (`summary --json`): the totals of the flows added,
        the `top` rows of each ranking, and `stream`'s packet accounting once it has
        been read to the end."""
        acc = stream.accounting
        names = self.table.names
        service_names = [None] + [str(names[i]) for i in range(1, len(names))]
        unnamed_keys = np.flatnonzero(self.unnamed[FLOWS])
        unnamed_rows = top_indices(self.unnamed[BYTES, unnamed_keys], top)
        return {
            # named as `unreadable` and the Parquet metadata name them: "-" as "<stdin>"
            "files": [text_path(display_name(f)) for f in acc.files],
            "unreadable": [text_path(u.path) for u in acc.unreadable],
            "packets": acc.records,
            "bytes": acc.bytes,
            "flows": stream.flow_count,
            "first_ts": acc.first_ts,
            "last_ts": acc.last_ts,
            "accounting": {name: {"packets": int(c), "bytes": int(b)} for name, c, b in
                           zip(acc.by_status(), acc.status_counts, acc.status_bytes)},
            "by_transport": _rows("transport", TRANSPORT_NAMES, self.by_transport,
                                  len(TRANSPORT_NAMES)),
            "by_service": _rows("service", service_names, self.by_service, top),
            # the named services only: the row of unnamed flows (service null) is no
            # service, and `unnamed` says whether it is there
            "services": int(np.count_nonzero(self.by_service[FLOWS, 1:])),
            "top_talkers": self._talkers(top),
            "talkers": self.talkers.count,
            "unnamed": {
                "flows": int(self.unnamed[FLOWS].sum()),
                "packets": int(self.unnamed[PACKETS].sum()),
                "bytes": int(self.unnamed[BYTES].sum()),
                "responder_ports": len(unnamed_keys),
                "top_responder_ports": [
                    {"transport": TRANSPORT_NAMES[k >> 16], "port": k & 0xFFFF,
                     **_counts(self.unnamed[:, k])}
                    for k in unnamed_keys[unnamed_rows].tolist()
                ],
            },
            "warnings": [text_path(w) for w in acc.warnings()],
        }

    def _talkers(self, top: int) -> list[dict[str, Any]]:
        t = self.talkers
        sums = t.sums[: t.count]
        total = sums[:, S_SENT] + sums[:, S_RECEIVED]
        order = top_indices(total, top)
        keys = t.keys[order]
        text = addresses(np.ascontiguousarray(keys[:, K_W0:K_W1 + 1]),
                         keys[:, K_VERSION].astype(np.uint8)).to_pylist()
        return [{"address": a, "bytes": int(total[i]), "sent": int(sums[i, S_SENT]),
                 "received": int(sums[i, S_RECEIVED]), "flows": int(sums[i, S_FLOWS])}
                for a, i in zip(text, order.tolist())]


def summarize(flows: Iterable[FlowColumns], stream: FlowStream, table: ServiceTable,
              top: int) -> dict[str, Any]:
    """The summary of a stream's flows (`flows`: the stream itself, or the stream seen
    through a progress display)."""
    tally = Summary(table)
    for cols in flows:
        tally.add(cols)
    return tally.report(stream, top)


def _add(target: np.ndarray, index: np.ndarray, values: tuple[np.ndarray, ...]) -> None:
    """target[k, index[j]] += values[k][j], repeated indices summed (exact integers:
    np.bincount would go through float64)."""
    for row, v in zip(target, values):
        np.add.at(row, index, v)


def _counts(column: np.ndarray) -> dict[str, int]:
    return {"packets": int(column[PACKETS]), "bytes": int(column[BYTES]),
            "flows": int(column[FLOWS])}


def _rows(key: str, labels: Any, sums: np.ndarray, top: int) -> list[dict[str, Any]]:
    """The `top` labels that have flows, as rows ranked by bytes."""
    present = np.flatnonzero(sums[FLOWS])
    order = present[top_indices(sums[BYTES, present], top)]
    return [{key: labels[i], **_counts(sums[:, i])} for i in order.tolist()]
