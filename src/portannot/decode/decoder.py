"""The decoder stage: RecordBatch in, PacketBatch out, fragment memory in between."""

from __future__ import annotations

import numpy as np

from portannot.capture import Paths, RecordBatch, iter_records
from portannot.column_check import Columns, check_columns, check_type
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
        """The batch's records decoded. A batch a caller built is checked first (see
        check_records): the compiled loop trusts its arrays."""
        check_records(batch)
        out = PacketBatch.empty(len(batch), batch.file_index, batch.path)
        # the record's own columns are the reader's arrays, not copies
        out.number, out.ts_ns, out.caplen = batch.numbers, batch.ts_ns, batch.caplen
        out.length, out.interface, out.linktype = batch.length, batch.interface, batch.linktype
        out.paused = batch.paused
        f = self.fragments
        decode_records(
            batch.data, batch.offset, batch.caplen, batch.length, batch.linktype, batch.fcs,
            LINK_TABLE, ETHER_TABLE, PROTO_TO_TRANSPORT,
            f.keys, f.ports, f.transport, f.end, f.stamp, f.clock,
            out.vlan, out.ip_version, out.src_addr.view(np.uint64), out.dst_addr.view(np.uint64), out.ip_proto, out.transport,
            out.src_port, out.dst_port, out.tcp_flags, out.tcp_seq, out.status,
        )
        return out


#: RecordBatch's columns and the one type each must have (its docstring's); `data` is
#: checked on its own: its length is the bytes', not the records'
RECORD_COLUMNS = Columns(
    "RecordBatch",
    (("offset", np.int64, ()), ("caplen", np.uint32, ()), ("length", np.uint32, ()),
     ("ts_ns", np.int64, ()), ("linktype", np.uint16, ()), ("interface", np.uint32, ()),
     ("fcs", np.uint8, ())),
    rows="offset {n}", found="{dtype}, {ndim}-D")


def check_records(batch: RecordBatch) -> None:
    """A TypeError or ValueError for a batch the kernel would misread: it reads every
    column up to `offset`'s length and the data at each offset unchecked below 0, so a
    shorter column or a negative offset was read outside its array (garbage rows, or a
    segmentation fault), and a column of another type was a numba error naming an
    argument number. The readers' batches always pass; the cost is one min() a batch."""
    check_type(RECORD_COLUMNS, "data", batch.data, np.uint8)
    n = len(batch.offset) if isinstance(batch.offset, np.ndarray) else 0
    check_columns(RECORD_COLUMNS, batch, n)
    if n and int(batch.offset.min()) < 0:
        raise ValueError("RecordBatch.offset holds a negative offset (before the data)")


def concat(batches: list[PacketBatch]) -> PacketBatch:
    """The batches' rows as one batch (PacketBatch.join)."""
    return PacketBatch.join(batches)


def decode_file(paths: Paths) -> PacketBatch:
    """Every record of one or several captures, decoded, in one PacketBatch (for tests and
    small files: the streaming path is `Decoder.decode` over `iter_records`)."""
    decoder = Decoder()
    return concat([decoder.decode(b) for b in iter_records(paths)])
