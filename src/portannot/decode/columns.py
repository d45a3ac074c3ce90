"""Columnar result of decoding: one numpy array per field, one row per record."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

NO_VLAN = 0xFFFF
#: `tcp_flags` of a packet with transport TCP but no TCP header of its own: a later IP
#: fragment, whose ports are its first fragment's (bits above the 12 flag bits, so that
#: masking with TCP_FLAG_BITS leaves no flags)
NO_TCP_HEADER = 0xF000
#: the bits of `tcp_flags` that are the TCP header's flags
TCP_FLAG_BITS = 0x0FFF
#: PacketBatch's fields that are not a column of rows
_NOT_ROWS = ("file_index", "path", "files", "ts_digits", "paused")


@dataclass
class PacketBatch:
    """Decoded fields of a batch of records.

    Addresses are 16 bytes each in network order: IPv6 as is, IPv4 as the
    IPv4-mapped IPv6 address (::ffff:a.b.c.d), with ``ip_version`` telling which.
    Fields a packet does not have are zero (ports, flags, addresses), NO_VLAN
    for ``vlan`` and Transport.NONE for ``transport``; ``tcp_flags`` of a later TCP
    fragment, which has no TCP header of its own, is NO_TCP_HEADER.

    Every column is an array of this batch's own: none is a buffer the reader or the
    decoder reuses, so a batch may be kept across iterations. ``ts_ns``, ``caplen``,
    ``length``, ``interface`` and ``linktype`` are the RecordBatch's arrays themselves.
    """

    number: np.ndarray  #: int64, frame number within its file, from 1
    ts_ns: np.ndarray  #: int64
    caplen: np.ndarray  #: uint32
    length: np.ndarray  #: uint32, original frame length
    interface: np.ndarray  #: uint32
    linktype: np.ndarray  #: uint16
    vlan: np.ndarray  #: uint16, outer VLAN id or NO_VLAN
    ip_version: np.ndarray  #: uint8: 0, 4 or 6
    src_addr: np.ndarray  #: uint8 (n, 16)
    dst_addr: np.ndarray  #: uint8 (n, 16)
    ip_proto: np.ndarray  #: uint8, the protocol after the IP header chain (0 if none)
    transport: np.ndarray  #: uint8, portannot.transport.Transport
    src_port: np.ndarray  #: uint16
    dst_port: np.ndarray  #: uint16
    tcp_flags: np.ndarray  #: uint16, the 12 flag bits of the TCP header (NO_TCP_HEADER: none)
    tcp_seq: np.ndarray  #: uint32, the TCP sequence number as sent (tshark's tcp.seq_raw)
    status: np.ndarray  #: uint8, portannot.status.Status
    file_index: int = 0
    path: str = ""
    #: int32, each row's input index, where a batch joins rows of several inputs (see
    #: join); None: every row is of input `file_index`
    files: np.ndarray | None = None
    #: fraction digits its times are written with: the finest precision of the inputs
    #: read up to this batch (set by the pipeline; a pcapng may raise it mid-file)
    ts_digits: int = 6
    #: the read paused after these packets (a live pipe: see RecordBatch.paused)
    paused: bool = False

    def __len__(self) -> int:
        return int(self.number.shape[0])

    @classmethod
    def empty(cls, n: int, file_index: int = 0, path: str = "") -> PacketBatch:
        return cls(
            number=np.empty(n, np.int64),
            ts_ns=np.empty(n, np.int64),
            caplen=np.empty(n, np.uint32),
            length=np.empty(n, np.uint32),
            interface=np.empty(n, np.uint32),
            linktype=np.empty(n, np.uint16),
            vlan=np.full(n, NO_VLAN, np.uint16),
            ip_version=np.zeros(n, np.uint8),
            src_addr=np.zeros((n, 16), np.uint8),
            dst_addr=np.zeros((n, 16), np.uint8),
            ip_proto=np.zeros(n, np.uint8),
            transport=np.full(n, 255, np.uint8),
            src_port=np.zeros(n, np.uint16),
            dst_port=np.zeros(n, np.uint16),
            tcp_flags=np.zeros(n, np.uint16),
            tcp_seq=np.zeros(n, np.uint32),
            status=np.zeros(n, np.uint8),
            file_index=file_index,
            path=path,
        )

    @classmethod
    def array_fields(cls) -> tuple[str, ...]:
        """The names of the per-row columns (every field but those of _NOT_ROWS)."""
        return tuple(f.name for f in fields(cls) if f.name not in _NOT_ROWS)

    def file_indices(self) -> np.ndarray:
        """int32, each row's input index."""
        if self.files is not None:
            return self.files
        return np.full(len(self), self.file_index, np.int32)

    def take(self, index: np.ndarray) -> PacketBatch:
        """Rows selected by a boolean mask or an index array."""
        cols = {name: getattr(self, name)[index] for name in self.array_fields()}
        files = None if self.files is None else self.files[index]
        return PacketBatch(**cols, file_index=self.file_index, path=self.path, files=files,
                           ts_digits=self.ts_digits, paused=self.paused)

    @classmethod
    def join(cls, batches: list[PacketBatch]) -> PacketBatch:
        """The rows of `batches`, in order, as one batch; `files` says each row's input
        when they are of more than one (file_index and path are the first's)."""
        if not batches:
            return cls.empty(0)
        if len(batches) == 1:
            return batches[0]
        cols = {k: np.concatenate([getattr(b, k) for b in batches]) for k in cls.array_fields()}
        first = batches[0]
        files = None
        if any(b.files is not None or b.file_index != first.file_index for b in batches):
            files = np.concatenate([b.file_indices() for b in batches])
        return cls(**cols, file_index=first.file_index, path=first.path, files=files,
                   ts_digits=max(b.ts_digits for b in batches), paused=batches[-1].paused)
