"""The service table: per transport, 65,536 ports -> name index and state.

The flow and packet stages name millions of ports at a time, so a look-up is
one numpy fancy-indexing operation on a flat array: no Python per element.
The table keeps a fifth, empty row behind the four transports so that packets
without a port-carrying transport (``Transport.NONE``) index it and get 0
without a branch.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np

from portannot.registry.state import DYNAMIC_FIRST, PortState, state_of_unnamed
from portannot.transport import TRANSPORT_NAMES, Transport, transport_codes

if TYPE_CHECKING:  # records are built by the parsers; the table only reads them
    from portannot.registry.catalog import Registry
    from portannot.registry.record import ServiceRecord

NPORTS = 65536
NTRANSPORTS = len(TRANSPORT_NAMES)
#: Bumped whenever the saved layout or the build rules change (invalidates caches).
TABLE_VERSION = 4
#: how a saved table begins: then the length of a JSON header (uint32, little-endian),
#: the header (meta, and each array's dtype and length), then the names, name_index and
#: state arrays' bytes, 8-aligned
TABLE_MAGIC = b"portannot-table\n"

By = Literal["auto", "code", "proto", "name"]
_BY = get_args(By)

#: what a bare integer under by="auto" is told (README "Python API" has the same rule)
_AMBIGUOUS = ("integer transports are ambiguous: pass by='proto' for IP protocol numbers "
              "(6 tcp, 17 udp, 132 sctp, 33 dccp: a packets table's ip_proto) or by='code' "
              "for portannot's Transport codes (0 tcp, 1 udp, 2 sctp, 3 dccp, 255 none: a "
              "PacketBatch's or FlowColumns' transport)")


def _members(transports: Any) -> bool:
    """Whether `transports` is a Transport or a list or tuple of nothing else: codes by
    their type, whatever by="auto" would guess from the numbers."""
    if isinstance(transports, Transport):
        return True
    return (isinstance(transports, (list, tuple)) and len(transports) > 0
            and all(isinstance(t, Transport) for t in transports))


def _codes(transports: Any, by: By) -> np.ndarray:
    """Transport codes 0..3 (else 255) from names, codes or IP protocol numbers, as `by`
    says. The two kinds of integer share values (1 is UDP's code and ICMP's protocol, 6
    TCP's protocol and no code), so a number is read only as `by` names it: "auto" takes
    names and Transport members, and refuses bare integers rather than guess (as IP
    protocol numbers, a PacketBatch's transport column or Transport.TCP named nothing)."""
    if by not in _BY:
        raise ValueError(f"by must be 'auto', 'code', 'proto' or 'name', not {by!r}")
    if _members(transports):
        if by == "proto":
            raise TypeError("Transport members are portannot's codes, not IP protocol "
                            "numbers: pass by='code' (or 'auto')")
        by = "code"
    arr = np.asarray(transports)
    if arr.dtype.kind in "USO":
        if by in ("code", "proto"):
            raise TypeError(f"by={by!r} takes integers, not transport names: pass by='name' "
                            "(or 'auto') for names")
        return transport_codes(arr)
    if by == "name":
        raise TypeError(f"by='name' needs transport names ('tcp'), not {arr.dtype}")
    arr, missing = _whole_numbers(arr, "transports")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"transports must be names or integers, not {arr.dtype}")
    if by == "auto":
        raise TypeError(_AMBIGUOUS)
    if by == "proto":
        codes = transport_codes(arr)
    elif arr.dtype == np.uint8:
        codes = arr
    else:
        codes = np.where((arr >= 0) & (arr < NTRANSPORTS), arr, Transport.NONE).astype(np.uint8)
    if missing is not None:
        codes = np.where(missing, np.uint8(Transport.NONE), codes)
    return codes


def _whole_numbers(arr: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(the values, where they are missing or None) of an array of integers, or of floats
    that are whole numbers and NaN: a nullable integer column (a packets table's
    ip_proto, dst_port) reaches numpy, through np.asarray or to_pandas(), as float64 with
    NaN for its nulls. A NaN is no transport or port, as Transport.NONE is; a fraction
    is a TypeError. Other arrays are given back as they are."""
    if arr.dtype.kind != "f":
        return arr, None
    missing = np.isnan(arr)
    values = np.where(missing, 0.0, arr)
    if not (np.isfinite(values).all() and (values == np.floor(values)).all()):
        raise TypeError(f"{what} must be whole numbers (NaN for none), not {arr.dtype} "
                        "with fractions or infinities")
    return values.astype(np.int64), (missing if missing.any() else None)


class ServiceTable:
    """Port names and states for tcp, udp, sctp and dccp.

    ``names[0]`` is ``""`` (no name); ``name_index[t, p]`` indexes ``names``;
    ``state[t, p]`` is a :class:`PortState`.  Rows follow :class:`Transport`.
    """

    names: np.ndarray
    name_index: np.ndarray
    state: np.ndarray
    source: str
    date: str
    meta: dict[str, Any]

    def __init__(
        self,
        names: np.ndarray | list[str],
        name_index: np.ndarray,
        state: np.ndarray,
        source: str = "",
        date: str = "",
        meta: dict[str, Any] | None = None,
    ) -> None:
        names_arr = np.asarray(names, dtype=str)
        if names_arr.ndim != 1 or names_arr.size == 0 or names_arr[0] != "":
            raise ValueError("names must be 1-D with names[0] == ''")
        if name_index.shape != (NTRANSPORTS, NPORTS) or state.shape != (NTRANSPORTS, NPORTS):
            raise ValueError(f"name_index and state must have shape {(NTRANSPORTS, NPORTS)}")
        # One spare all-zero row (index 4) absorbs Transport.NONE.
        self._flat_index = np.zeros((NTRANSPORTS + 1) * NPORTS, dtype=np.int32)
        self._flat_index[: NTRANSPORTS * NPORTS] = name_index.reshape(-1)
        self._flat_state = np.zeros((NTRANSPORTS + 1) * NPORTS, dtype=np.uint8)
        self._flat_state[: NTRANSPORTS * NPORTS] = state.reshape(-1)
        self.names = names_arr
        self.name_index = self._flat_index[: NTRANSPORTS * NPORTS].reshape(NTRANSPORTS, NPORTS)
        self.state = self._flat_state[: NTRANSPORTS * NPORTS].reshape(NTRANSPORTS, NPORTS)
        self.source = source
        self.date = date
        self.meta = dict(meta or {})
        self._name_ids: dict[str, int] | None = None

    # -- vectorized look-ups -------------------------------------------------

    def _flat(self, transports: Any, ports: Any, by: By) -> np.ndarray:
        codes = _codes(transports, by)
        port_arr, missing = _whole_numbers(np.asarray(ports), "ports")
        rows = np.minimum(codes, NTRANSPORTS).astype(np.intp)
        flat: np.ndarray
        if port_arr.dtype == np.uint16:
            flat = rows * NPORTS + port_arr
            return flat
        if port_arr.dtype.kind not in "iu":
            raise TypeError(f"ports must be integers, not {port_arr.dtype}")
        bad = (port_arr < 0) | (port_arr >= NPORTS)
        if missing is not None:
            bad |= missing
        if bad.any():
            rows = np.where(bad, NTRANSPORTS, rows)
            port_arr = np.where(bad, 0, port_arr)
        flat = rows * NPORTS + port_arr
        return flat

    def lookup(self, transports: Any, ports: Any, by: By = "auto") -> np.ndarray:
        """int32 indices into :attr:`names` (0 = no name), shaped like the broadcast input.

        ``transports`` holds names (``"tcp"``, any case: ``by="name"``), portannot's
        codes (:class:`Transport`, 0 to 3 and 255 for none: a PacketBatch's
        ``transport``; ``by="code"``) or IP protocol numbers (6, 17, 132, 33: a packets
        table's ``ip_proto``; ``by="proto"``). ``by="auto"`` takes names and Transport
        members; integers mean one thing or the other, so with them it is a TypeError
        that asks for ``by="code"`` or ``by="proto"``, as is a kind other than ``by``
        names. Unknown transports and ports outside 0..65535 give 0, as do NaN (a
        nullable column's nulls, as numpy and pandas give them) in either.
        """
        index: np.ndarray = self._flat_index[self._flat(transports, ports, by)]
        return index

    def names_of(self, transports: Any, ports: Any, by: By = "auto") -> np.ndarray:
        """Service names (``""`` where none), shaped like the input."""
        names: np.ndarray = self.names[self.lookup(transports, ports, by)]
        return names

    def states_of(self, transports: Any, ports: Any, by: By = "auto") -> np.ndarray:
        """uint8 :class:`PortState` per element (UNASSIGNED for unknown transports)."""
        states: np.ndarray = self._flat_state[self._flat(transports, ports, by)]
        return states

    # -- conveniences ---------------------------------------------------------

    def name_at(self, transport: str | int, port: int, by: By = "auto") -> str:
        """Name of one (transport, port), ``""`` if none; `by` as in :meth:`lookup`."""
        return str(self.names_of([transport], np.array([port]), by)[0])

    def state_at(self, transport: str | int, port: int, by: By = "auto") -> PortState:
        """State of one (transport, port); `by` as in :meth:`lookup`."""
        return PortState(int(self.states_of([transport], np.array([port]), by)[0]))

    def name_id(self, name: str) -> int:
        """Index of a name in :attr:`names` (0 if absent)."""
        if self._name_ids is None:
            self._name_ids = {str(n): i for i, n in enumerate(self.names)}
        return self._name_ids.get(name, 0)

    def counts(self) -> dict[str, dict[str, int]]:
        """Ports per transport and state: ``{"tcp": {"assigned": n, ...}, ...}``."""
        out: dict[str, dict[str, int]] = {}
        for code, tname in enumerate(TRANSPORT_NAMES):
            tally = np.bincount(self.state[code], minlength=len(PortState))
            out[tname] = {s.label: int(tally[s]) for s in PortState}
        return out

    def overlay(self, local: ServiceTable) -> ServiceTable:
        """A new table where ``local``'s names win (``--services``, like Wireshark's personal file)."""
        extra = [str(n) for n in local.names[1:] if self.name_id(str(n)) == 0]
        names = np.concatenate([self.names, np.asarray(extra, dtype=str)]) if extra else self.names
        ids = {str(n): i for i, n in enumerate(names)}
        remap = np.array([0] + [ids[str(n)] for n in local.names[1:]], dtype=np.int32)
        mask = local.name_index != 0
        index = np.where(mask, remap[local.name_index], self.name_index)
        state = np.where(mask, np.uint8(PortState.ASSIGNED), self.state).astype(np.uint8)
        meta = dict(self.meta, services=local.source)
        return ServiceTable(names, index, state, self.source, self.date, meta)

    # -- saving ---------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the compact binary form (about 1 MB; see TABLE_MAGIC), atomically."""
        from portannot.atomic_file import atomic_write  # only caching a table writes one

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        small = len(self.names) <= np.iinfo(np.uint16).max
        names = np.ascontiguousarray(self.names.astype(str))
        index = np.ascontiguousarray(self.name_index.astype("<u2" if small else "<i4"))
        state = np.ascontiguousarray(self.state, dtype=np.uint8)
        body = b"".join(arr.tobytes() for arr in (names, index, state))
        meta = dict(self.meta, version=TABLE_VERSION, source=self.source, date=self.date,
                    arrays=[[names.dtype.str, len(names)], [index.dtype.str, index.size]],
                    crc32=zlib.crc32(body))
        header = json.dumps(meta).encode()
        header += b" " * (-(len(TABLE_MAGIC) + 4 + len(header)) % 8)  # arrays 8-aligned
        with atomic_write(path) as fh:
            fh.write(TABLE_MAGIC + len(header).to_bytes(4, "little") + header + body)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ServiceTable:
        """Read a table written by :meth:`save` (milliseconds; no record parsing): one
        read, the arrays views of it (an .npz took numpy's zip reader, whose import
        and member parsing were ~2 ms of every command's start).

        Raises ValueError for a file of another layout version, cut short or damaged
        (a CRC-32 of the arrays, as the .npz's zip members had).
        """
        with open(path, "rb") as f:
            data = f.read()
        if not data.startswith(TABLE_MAGIC):
            raise ValueError(f"{path}: not a portannot table")
        at = len(TABLE_MAGIC) + 4
        size = int.from_bytes(data[len(TABLE_MAGIC):at], "little")
        meta = json.loads(data[at : at + size].decode())
        if meta.get("version") != TABLE_VERSION:
            raise ValueError(
                f"{path}: table version {meta.get('version')}, expected {TABLE_VERSION}")
        at += size
        if zlib.crc32(memoryview(data)[at:]) != meta.pop("crc32", None):
            raise ValueError(f"{path}: damaged (its CRC-32 differs)")
        (names_type, n), (index_type, cells) = meta.pop("arrays")
        names = np.frombuffer(data, names_type, n, at)
        at += names.nbytes
        index = np.frombuffer(data, index_type, cells, at)
        at += index.nbytes
        state = np.frombuffer(data, np.uint8, cells, at)
        if at + state.nbytes != len(data):
            raise ValueError(f"{path}: {len(data) - at - state.nbytes} bytes past the table")
        shape = (NTRANSPORTS, NPORTS)
        return cls(names, index.astype(np.int32).reshape(shape), state.reshape(shape),
                   meta.pop("source", ""), meta.pop("date", ""), meta)

    def __repr__(self) -> str:
        return (
            f"ServiceTable(source={self.source!r}, date={self.date!r}, names={len(self.names) - 1})"
        )


def as_table(services: ServiceTable | Registry) -> ServiceTable:
    """The ServiceTable a stage names ports from, given one or a Registry (its table).

    README's functions take `registry=` loaded either way (load_table() or
    load_registry()), so a script hands the stages the same object: flow_columns,
    packet_batch and flow_batch given a Registry were an AttributeError from inside
    ('Registry' object has no attribute 'lookup'). Anything else is a TypeError."""
    if isinstance(services, ServiceTable):
        return services
    from portannot.registry.catalog import Registry  # the records' module: only when given one

    if isinstance(services, Registry):
        return services.table()
    raise TypeError("the port names must be a ServiceTable (registry.load_table()) or a "
                    f"Registry (registry.load_registry()), not {type(services).__name__}")


def _spans(rec: ServiceRecord, rows: dict[str, int]) -> Iterator[tuple[int, int, int]]:
    """(transport row, first port, one past the last) for each of a record's transports."""
    lo = rec.port_lo
    assert lo is not None  # build_table passes only records with a port
    hi = (lo if rec.port_hi is None else rec.port_hi) + 1
    return ((rows[t], lo, hi) for t in rec.transports)


def _unnamed_order(rec: ServiceRecord) -> tuple[int, bool]:
    """Which unnamed record's word a port takes when several cover it: the narrowest
    first, then reserved before unassigned (sorted() keeps registry order after that).

    IANA covers udp 7997 by ",7983-7997,,Unassigned" and, later, by the port's own
    ",7997,udp,Reserved": the range's word, first in the file, made the port unassigned
    beside a record saying otherwise.
    """
    return len(rec.ports()), state_of_unnamed(rec.description) != PortState.RESERVED


def build_table(
    records: Iterable[ServiceRecord],
    source: str = "",
    date: str = "",
    meta: dict[str, Any] | None = None,
    dynamic: bool = True,
) -> ServiceTable:
    """Build the table from records in registry order.

    * The first named record on a (transport, port) gives its primary name; later
      ones are aliases (found by name in the records, not in the table). A
      placeholder (see ServiceRecord.placeholder: ``shilp`` on 2049, "<== NOTE
      Conflict on 2049 !", listed before ``nfs``) names a port only where nothing
      else does, as Wireshark's services file, which leaves it out, has it.
    * A record with a port but no transport fills tcp and udp.
    * Records without a port never enter the table.
    * A record without a name marks its ports reserved or unassigned; where several
      cover a port, the narrowest (the port's own) wins, and of two as narrow, reserved
      (see _unnamed_order); a name always wins over such a mark.
    * With ``dynamic``, unnamed ports 49152-65535 are DYNAMIC.
    """
    names: list[str] = [""]
    ids: dict[str, int] = {"": 0}
    index = np.zeros((NTRANSPORTS, NPORTS), dtype=np.int32)
    state = np.zeros((NTRANSPORTS, NPORTS), dtype=np.uint8)
    marked = np.zeros((NTRANSPORTS, NPORTS), dtype=bool)
    rows = {name: code for code, name in enumerate(TRANSPORT_NAMES)}
    named: list[tuple[ServiceRecord, int]] = []
    unnamed: list[ServiceRecord] = []
    for rec in records:
        if rec.port_lo is None:
            continue
        if rec.name:
            nid = ids.get(rec.name)
            if nid is None:
                nid = ids[rec.name] = len(names)
                names.append(rec.name)
            named.append((rec, nid))
        else:
            unnamed.append(rec)
    for rec in sorted(unnamed, key=_unnamed_order):
        word = state_of_unnamed(rec.description)
        for t, lo, hi in _spans(rec, rows):
            free = ~marked[t, lo:hi]
            state[t, lo:hi][free] = word
            marked[t, lo:hi] = True
    # placeholders last, each group in registry order (sorted is stable)
    for rec, nid in sorted(named, key=lambda r: r[0].placeholder):
        for t, lo, hi in _spans(rec, rows):
            seg = index[t, lo:hi]
            free = seg == 0
            seg[free] = nid
            state[t, lo:hi][free] = PortState.ASSIGNED
            marked[t, lo:hi] = True
    if dynamic:
        tail = state[:, DYNAMIC_FIRST:]
        tail[index[:, DYNAMIC_FIRST:] == 0] = PortState.DYNAMIC
    return ServiceTable(np.asarray(names, dtype=str), index, state, source, date, meta)
