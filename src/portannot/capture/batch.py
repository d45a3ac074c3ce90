"""The unit the capture readers hand to the decoder: a block of raw records."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RecordBatch:
    """Raw records of one capture file, as index arrays into a byte buffer.

    ``data`` is the reader's chunk (or the mapped file); readers never overwrite a
    chunk they handed out, so a batch stays valid while it is referenced, and a
    consumer may decode it in another thread.
    """

    data: np.ndarray  #: uint8 buffer holding the records' captured bytes
    offset: np.ndarray  #: int64, start of each record's captured bytes in ``data``
    caplen: np.ndarray  #: uint32, captured length
    length: np.ndarray  #: uint32, original length on the wire
    ts_ns: np.ndarray  #: int64, nanoseconds since the epoch
    linktype: np.ndarray  #: uint16, LINKTYPE_* of the record's interface
    interface: np.ndarray  #: uint32, interface id within the file (0 for pcap)
    #: uint8, bytes of FCS the file says the record's Ethernet frame ends with (the pcap
    #: header's FCS bits): 0 for none, and for link types whose FCS wiretap does not take
    fcs: np.ndarray
    first_number: int  #: 1-based frame number of the first record within its file
    file_index: int = 0  #: position of the file among the command's inputs
    path: str = ""
    #: the read paused after these records (a live pipe: ChunkWindow.fill): the stages
    #: hand them on at once rather than gather more
    paused: bool = False

    def __len__(self) -> int:
        return int(self.offset.shape[0])

    @property
    def numbers(self) -> np.ndarray:
        return np.arange(self.first_number, self.first_number + len(self), dtype=np.int64)

    def record(self, i: int) -> bytes:
        start = int(self.offset[i])
        return self.data[start : start + int(self.caplen[i])].tobytes()
