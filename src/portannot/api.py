"""The Python API: one call for a table, one iterator for streaming.

    import portannot
    flows = portannot.flows("capture.pcapng")          # pyarrow.Table
    df = flows.to_pandas()                             # if pandas is installed
    for batch in portannot.iter_flows(["a.pcap", "b.pcap"], idle_timeout=60):
        ...                                            # pyarrow.RecordBatch as flows end
    report = portannot.summary("capture.pcap")         # dict, as `portannot summary --json`

Damage met on the way (a capture cut mid-record, a damaged block, a link type not
decoded) does not stop the read, as it does not stop the command: each line the
command prints as `portannot: warning:` (exiting 3) is a portannot.CaptureWarning here,
raised once the read is over, so that a caller is told without losing the rows.
README.md, "Python API", is the reference; the functions' docstrings say the same.
"""

from __future__ import annotations

import numbers
import os
import stat
import warnings
from collections.abc import Callable, Generator, Iterator
from os import PathLike
from typing import Any

import pyarrow as pa

from portannot import CaptureWarning
from portannot.accounting import Accounting
from portannot.aggregate.rules import FlowColumns
from portannot.capture import Paths, as_paths
from portannot.capture.source import Input, StreamInput, open_stream
from portannot.decode import PacketBatch
from portannot.output.provenance import provenance
from portannot.output.tables import flow_batch, packet_batch
from portannot.pipeline import FlowStream, PacketStream
from portannot.registry import Registry, ServiceTable, load_table
from portannot.timeouts import Timeout, check_timeout

#: what `registry=` takes: a registry file, the records load_registry() parsed, the port
#: table load_table() built, or None for the default choice (README "Choosing a registry")
RegistryChoice = str | PathLike[str] | Registry | ServiceTable | None
#: `services=`: a services(5) file of local names that win over the registry
ServicesFile = str | PathLike[str] | None
#: what iter_packets and iter_flows return: a generator, so that a type checker knows the
#: .close() (and contextlib.closing) that README and the docstrings tell a caller to use
Batches = Generator[pa.RecordBatch, None, None]


def _files(paths: Paths) -> list[Input]:
    """The capture paths as a list, read once at the top of each API call: an iterator
    (``Path.glob``) handed on as it is would be used up by the first look at it (the
    `file` column's decision), and the stream would then read nothing. No paths at all
    is an error rather than an empty table: a glob that matched nothing should say so.

    A single input that cannot be opened is its InputError here, when the function is
    called: the iterators read only as they are iterated, so `iter_flows("typo.pcap")`
    said so only at the first next(), away from the call that named the file. Of
    several inputs, one that cannot be opened is a warning, and the others are read.
    Standard input ("-") and a file object can be read only once, so each may be given
    only once."""
    files = as_paths(paths)
    if not files:
        raise ValueError("no capture files given")
    if files.count("-") > 1:  # read once: the second would find it empty
        raise ValueError("standard input ('-') can be given only once")
    _once_each(files)
    if len(files) == 1 and _may_open_twice(files[0]):
        stream, _ = open_stream(files[0])  # raises the same InputError the read would
        stream.close()
    elif files == ["-"]:
        from portannot.capture.source import stdin_bytes

        stdin_bytes()  # none to read (sys.stdin None, closed, a StringIO): InputError now
    return files


def _once_each(files: list[Input]) -> None:
    """A ValueError for a file object given twice: like standard input, it is read once
    (from where it stands, never sought back), and the second read would find it at its
    end, an "empty file"."""
    seen: dict[int, str] = {}  # the object's id -> its name where first given
    for item in files:
        if isinstance(item, StreamInput):
            if id(item.obj) in seen:  # also the same StreamInput again (as_paths' own)
                raise ValueError(f"the file object {seen[id(item.obj)]} can be given only once")
            seen[id(item.obj)] = item.name


def _may_open_twice(path: Input) -> bool:
    """Whether opening the input ahead of the read costs it nothing: a regular file, a
    directory or a missing path, not standard input, a file object, a pipe or a device,
    whose first bytes would be taken by the look."""
    if not isinstance(path, str) or path == "-":
        return False
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):  # ValueError: a NUL in the name
        return True  # open_stream says why, as the read would
    return stat.S_ISREG(mode) or stat.S_ISDIR(mode)


def _report(accounting: Accounting, stacklevel: int) -> None:
    """One CaptureWarning per line the command prints as `portannot: warning:` (and for
    which it exits 3, or 4 for an input of several that could not be read), once the
    read is over. `stacklevel` counts from the caller: 1 names its own line, 2 the line
    that called it (for a generator: the next() that ended the read, the user's loop)."""
    for path, line in accounting.warnings_by_input():
        warnings.warn(CaptureWarning(line, path), stacklevel=stacklevel + 1)


def _batches(stream: PacketStream | FlowStream, convert: Callable[[Any], pa.RecordBatch],
             metadata: dict[bytes, bytes]) -> Iterator[pa.RecordBatch]:
    """What the stream yields, as Arrow batches carrying `metadata` (what they were made
    from: output.provenance); closing this (or leaving a for loop over it with break,
    then dropping it) stops the stream's threads and closes its files then, not when
    the garbage collector gets to them."""
    items: Iterator[PacketBatch | FlowColumns] = iter(stream)
    try:
        given = False
        for item in items:
            if item.paused and not len(item):  # a live read's pause, when no flow ended
                continue
            given = True
            yield convert(item).replace_schema_metadata(metadata)
        if not given:
            # a read of no rows still gives the columns, as flows() gives an empty table
            # and the commands a CSV header: README's `for batch in iter_flows(...):
            # writer.write(batch)` wrote a 0-byte .parquet, which no reader opens
            yield convert(stream.empty()).replace_schema_metadata(metadata)
    finally:
        items.close()  # type: ignore[attr-defined]


def _reported(batches: Iterator[pa.RecordBatch], accounting: Accounting) -> Batches:
    """The batches, then the damage met reading them as warnings (see _report), raised
    where the caller's next() ended the read."""
    yield from batches
    _report(accounting, stacklevel=2)


def _whole(batches: Iterator[pa.RecordBatch], empty: Callable[[], pa.RecordBatch],
           accounting: Accounting, metadata: dict[bytes, bytes]) -> pa.Table:
    """Every batch as one table (`empty()`'s columns when there are none: a capture
    without packets or flows still has the schema), then the damage as warnings at the
    line that called flows() or packets()."""
    listed = list(batches) or [empty().replace_schema_metadata(metadata)]
    _report(accounting, stacklevel=3)
    return _concat(listed)


def _concat(batches: list[pa.RecordBatch]) -> pa.Table:
    """The batches as one table, chunks kept (joining them would copy every column
    for nothing: pandas and pyarrow's compute read chunked columns as they are);
    string columns share one dictionary across chunks."""
    return pa.Table.from_batches(batches).unify_dictionaries()


def _packet_stream(paths: Paths, registry: RegistryChoice, services: ServicesFile
                   ) -> tuple[PacketStream, Callable[[Any], pa.RecordBatch], dict[bytes, bytes]]:
    files = _files(paths)
    table = load_table(registry, services)
    many = len(files) > 1  # the `file` column only tells several inputs apart
    return (PacketStream(files), lambda batch: packet_batch(batch, table, with_file=many),
            provenance("packets", files, table))


def _flow_stream(paths: Paths, registry: RegistryChoice, services: ServicesFile,
                 idle_timeout: Timeout, active_timeout: Timeout
                 ) -> tuple[FlowStream, Callable[[Any], pa.RecordBatch], dict[bytes, bytes]]:
    files = _files(paths)
    idle = check_timeout(idle_timeout, "idle_timeout")  # before the registry loads
    active = check_timeout(active_timeout, "active_timeout")
    table = load_table(registry, services)
    # the values as given: the flow table takes a Decimal's or timedelta64's ns exactly
    stream = FlowStream(files, table, idle_timeout=idle_timeout, active_timeout=active_timeout)
    return (stream, lambda cols: flow_batch(cols, table),
            provenance("flows", files, table, idle_timeout=idle, active_timeout=active))


def iter_packets(paths: Paths, *, registry: RegistryChoice = None,
                 services: ServicesFile = None) -> Batches:
    """The rows of packets() as pyarrow.RecordBatches, one per chunk read, in capture
    order (none at all: one batch of no rows, with the columns): memory stays at a few chunks whatever the size of the captures. Small
    batches (small files, each file's end) are joined, across files, until they hold
    65,536 rows (the last one joined may take a batch past that by up to 4,095) or the
    timestamp precision changes (a microsecond file's rows keep their 6 digits).

    Takes one capture or an iterable of them, each a path (str, os.PathLike), "-"
    (standard input) or a readable binary file object (read once, left open).

    Reading starts at the first next(), in background threads (of 16 or more small
    files, in the calling thread: README "Performance"), and stops when the iterator is
    exhausted or closed. After a ``break``, call ``.close()`` (or loop inside
    ``contextlib.closing(...)``) to stop the threads and close the files at once, rather
    than when the iterator is dropped.

    Arguments, exceptions and warnings: as packets(). The CaptureWarnings come from the
    next() that ends the read; a capture that is not a pcap or pcapng file raises its
    CaptureFormatError at the first next().
    """
    stream, convert, metadata = _packet_stream(paths, registry, services)
    return _reported(_batches(stream, convert, metadata), stream.accounting)


def packets(paths: Paths, *, registry: RegistryChoice = None,
            services: ServicesFile = None) -> pa.Table:
    """Every packet of the captures, annotated, as one pyarrow.Table: one row per
    record, packets without ports included (their port and service columns null),
    numbered from 1 in each file as tshark's frame.number. For big captures, use
    iter_packets.

    Takes one capture or an iterable of them, each a path (str, os.PathLike), "-"
    (standard input) or a readable binary file object (read once, left open).

    Columns (README "Packets: columns"): number, ts, length, transport, src_addr,
    src_port, dst_addr, dst_port, src_service, dst_service, status, caplen,
    interface, linktype, vlan, ip_version, ip_proto, tcp_flags; and `file`, the
    input's position from 0, only when several captures are given.

    Args:
        paths: one capture (str or os.PathLike; "-" is standard input; or a
            readable binary file object, read once from where it stands and left
            open) or an iterable of them (``Path("d").glob("*.pcap")``), read in
            order as one. pcap or pcapng, plain or gzip, bzip2, xz, zstd or LZ4
            compressed.
        registry: a registry file (IANA CSV or XML, services(5), nmap-services), a
            Registry from portannot.registry.load_registry() or a ServiceTable from
            load_table() (load it once for many calls), or None for the default
            (README "Choosing a registry").
        services: a services(5) file of local names that win over the registry;
            only beside a registry file or the default.

    Raises, when called (before any row is read):
        ValueError: no paths; "-" or a file object given twice; `services=` beside
            a loaded registry.
        TypeError: paths that are not paths (bytes, a text-mode file); a
            `registry=` that is not a path, Registry or ServiceTable; a `services=`
            that is not a path.
        portannot.InputError: the one capture given cannot be opened (missing, a
            directory, unreadable, empty, a closed file object); not a
            FileNotFoundError. Of several
            captures, one that cannot be read is a CaptureWarning and is skipped;
            only if none can be read is it an InputError.
        portannot.CaptureFormatError (an InputError): not a pcap or pcapng capture.
        portannot.RegistryError: the registry or services file is missing or
            invalid.

    Warns:
        portannot.CaptureWarning: once the read is over, one per problem the
            command reports as `portannot: warning:` (a capture cut short, a damaged
            block, a link type not decoded, a skipped input), its message and
            `.path` naming the input. The rows read are all returned.
    """
    stream, convert, metadata = _packet_stream(paths, registry, services)
    return _whole(_batches(stream, convert, metadata), lambda: convert(PacketStream.empty()),
                  stream.accounting, metadata)


def iter_flows(paths: Paths, *, registry: RegistryChoice = None,
               services: ServicesFile = None, idle_timeout: Timeout = None,
               active_timeout: Timeout = None) -> Batches:
    """The rows of flows() as pyarrow.RecordBatches, as flows end, in the same order
    (none at all: one batch of no rows, with the columns, as flows() has them).

    Takes one capture or an iterable of them, each a path (str, os.PathLike), "-"
    (standard input) or a readable binary file object (read once, left open).

    With a timeout, a flow comes out soon after the capture's clock has passed its end
    (the table is swept after a batch of packets once a timeout period of capture time
    has passed since the last sweep: README, Streaming), so memory follows the flows
    alive over that span. Without a timeout, flows end only with the read (but for
    a TCP flow whose ends open a new connection): nothing comes out until the end,
    and memory is as for flows(). The flows still open at the end come last, in
    flow_id order.

    Reading starts at the first next(), in background threads, and stops when the
    iterator is exhausted or closed. After a ``break``, call ``.close()`` (or loop
    inside ``contextlib.closing(...)``) to stop the threads and close the files at once,
    rather than when the iterator is dropped. (Of 16 or more small files, the files are
    read in the flow table's thread: README "Performance".)

    Arguments, exceptions and warnings: as flows(). The CaptureWarnings come from the
    next() that ends the read; a capture that is not a pcap or pcapng file raises its
    CaptureFormatError at the first next().
    """
    stream, convert, metadata = _flow_stream(paths, registry, services, idle_timeout,
                                             active_timeout)
    return _reported(_batches(stream, convert, metadata), stream.accounting)


def flows(paths: Paths, *, registry: RegistryChoice = None,
          services: ServicesFile = None, idle_timeout: Timeout = None,
          active_timeout: Timeout = None) -> pa.Table:
    """Bidirectional flows of the captures with their services, one row per flow, as
    one pyarrow.Table (``.to_pandas()``: see README "Python API" on the nullable
    integer columns).

    Takes one capture or an iterable of them, each a path (str, os.PathLike), "-"
    (standard input) or a readable binary file object (read once, left open).

    A flow is a transport (TCP, UDP, SCTP, DCCP) and its two (address, port) ends,
    both directions together, across every capture given. Packets without ports
    (ICMP, ESP, GRE, ARP, a fragment whose ports cannot be seen) are in no flow,
    by design: they are counted by decode status (summary()'s `accounting`).

    Rows are in the order flows ended, as iter_flows gives them, not by flow_id:
    ``.sort_by("flow_id")`` for the order they began. Columns (README "Flows:
    columns"): flow_id, transport, orig_addr, orig_port, resp_addr, resp_port,
    service, service_port, service_basis, direction_basis, first_ts, last_ts,
    duration, orig_packets, orig_bytes, resp_packets, resp_bytes, packets, bytes,
    orig_tcp_flags, resp_tcp_flags, vlan, ip_version.

    Args:
        paths, registry, services: as packets().
        idle_timeout: end a flow once the capture's clock (the latest packet time
            read so far) is more than this past the flow's latest packet time: seconds,
            from 1e-9 to 1e9, or a timedelta (datetime, pandas or numpy.timedelta64); None, the
            default, for no timeout. A packet that finds its flow ended starts a new
            one.
        active_timeout: end a flow once the clock is more than this past its earliest
            packet time (first_ts); as idle_timeout.

    Raises:
        As packets(); also ValueError for a timeout out of range (0 and NaN
        included) and TypeError for one that is not a number or a timedelta.

    Warns:
        portannot.CaptureWarning: as packets().
    """
    stream, convert, metadata = _flow_stream(paths, registry, services, idle_timeout,
                                             active_timeout)
    return _whole(_batches(stream, convert, metadata), lambda: convert(FlowStream.empty()),
                  stream.accounting, metadata)


def summary(paths: Paths, *, registry: RegistryChoice = None,
            services: ServicesFile = None, top: int = 10) -> dict[str, Any]:
    """What `portannot summary --json` reports, as a dict: totals, the packet
    accounting by decode status (every record in exactly one), packets, bytes and
    flows per transport and per service, the `top` talkers, the flows without a named
    service, and `warnings` (the damage lines). No flow rows are kept on the way.
    Keys: README "Commands" (`portannot summary --json`).

    Takes one capture or an iterable of them, each a path (str, os.PathLike), "-"
    (standard input) or a readable binary file object (read once, left open).

    Args:
        paths, registry, services: as packets().
        top: how many rows each ranking holds; a whole number, at least 1.

    Raises:
        As packets(); also ValueError for `top`.

    Warns:
        portannot.CaptureWarning: as packets() (the same lines are under `warnings`).
    """
    from portannot.output.summary import summarize

    if isinstance(top, bool) or not isinstance(top, numbers.Integral) or top < 1:
        raise ValueError(f"top must be a whole number of at least 1, not {top!r}")
    files = _files(paths)
    table = load_table(registry, services)
    stream = FlowStream(files, table)
    report = summarize(stream, stream, table, top)
    _report(stream.accounting, stacklevel=2)
    return report
