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
        out = PacketBatch.empty(len(batch), batch.file_index, batch.path)
        # the record's own columns are the reader's arrays, not copies
        out.number, out.ts_ns, out.caplen = batch.numbers, batch.ts_ns, batch.caplen
        out.length, out.interface, out.linktype = batch.length, batch.interface, batch.linktype
        f = self.fragments
        decode_records(
            batch.data, batch.offset, batch.caplen, batch.length, batch.linktype,
            LINK_TABLE, ETHER_TABLE, PROTO_TO_TRANSPORT,
            f.keys, f.ports, f.transport, f.end, f.stamp, f.clock,
            out.vlan, out.ip_version, out.src_addr.view(np.uint64), out.dst_addr.view(np.uint64), out.ip_proto, out.transport,
            out.src_port, out.dst_port, out.tcp_flags, out.tcp_seq, out.status,
        )
        return out


def concat(batches: list[PacketBatch]) -> PacketBatch:
    """The batches' rows as one batch (PacketBatch.join)."""
    return PacketBatch.join(batches)


def decode_file(paths: Paths) -> PacketBatch:
    """Every record of one or several captures, decoded, in one PacketBatch (for tests and
    small files: the streaming path is `Decoder.decode` over `iter_records`)."""
    decoder = Decoder()
    return concat([decoder.decode(b) for b in iter_records(paths)])
