"""The decoder stage: RecordBatch in, PacketBatch out, fragment memory in between."""

from __future__ import annotations

import numpy as np

from portannot.capture import Paths, RecordBatch, iter_records
from portannot.decode.columns import PacketBatch
from portannot.decode.ethertype import ETHER_TABLE
from portannot.decode.fragments import FragmentTable
from portannot.decode.kernel import decode_records
from portannot.decode.link import LINK_TABLE
from portannot.transport import PROTO_TO_TRANSPORT


class Decoder:
    """Decodes batches in order. Keep one Decoder per command so later fragments
    find their first fragment across batches and files."""

    def __init__(self) -> None:
        self.fragments = FragmentTable()

    def decode(self, batch: RecordBatch) -> PacketBatch:
        n = len(batch)
        out = PacketBatch(
            number=batch.numbers,
            ts_ns=batch.ts_ns,
            caplen=batch.caplen,
            length=batch.length,
            interface=batch.interface,
            linktype=batch.linktype,
            vlan=np.empty(n, np.uint16),
            ip_version=np.zeros(n, np.uint8),
            src_addr=np.zeros((n, 16), np.uint8),
            dst_addr=np.zeros((n, 16), np.uint8),
            ip_proto=np.zeros(n, np.uint8),
            transport=np.full(n, 255, np.uint8),
            src_port=np.zeros(n, np.uint16),
            dst_port=np.zeros(n, np.uint16),
            tcp_flags=np.zeros(n, np.uint16),
            status=np.empty(n, np.uint8),
            file_index=batch.file_index,
            path=batch.path,
        )
        f = self.fragments
        decode_records(
            batch.data, batch.offset, batch.caplen, batch.length, batch.linktype,
            LINK_TABLE, ETHER_TABLE, PROTO_TO_TRANSPORT,
            f.keys, f.ports, f.transport, f.stamp, f.clock,
            out.vlan, out.ip_version, out.src_addr.view(np.uint64), out.dst_addr.view(np.uint64), out.ip_proto, out.transport,
            out.src_port, out.dst_port, out.tcp_flags, out.status,
        )
        return out


def concat(batches: list[PacketBatch]) -> PacketBatch:
    if not batches:
        return PacketBatch.empty(0)
    names = [k for k in PacketBatch.__dataclass_fields__ if k not in ("file_index", "path")]
    cols = {k: np.concatenate([getattr(b, k) for b in batches]) for k in names}
    return PacketBatch(**cols, file_index=batches[0].file_index, path=batches[0].path)


def decode_file(paths: Paths) -> PacketBatch:
    """Every record of one or several captures, decoded, in one PacketBatch (for tests and
    small files: the streaming path is `Decoder.decode` over `iter_records`)."""
    decoder = Decoder()
    return concat([decoder.decode(b) for b in iter_records(paths)])
