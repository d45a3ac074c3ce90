"""IANA's official CSV export (``service-names-port-numbers.csv``).

Fields are quoted when they hold commas, quotes or line breaks, and IANA serves
CRLF while copies in git are often LF: the stdlib :mod:`csv` reader, given the
text with ``newline=""``, handles all of that.  A row with the wrong number of
fields or an impossible port/protocol is skipped and reported with its line; a
file that is not CSV at all (bad header, an unterminated quote) is an error.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager

from portannot.errors import RegistryError
from portannot.registry.record import (
    ParseProblem,
    ParseResult,
    ServiceRecord,
    parse_name,
    parse_port,
    parse_transport,
)

FORMAT = "iana-csv"

HEADER: tuple[str, ...] = (
    "Service Name",
    "Port Number",
    "Transport Protocol",
    "Description",
    "Assignee",
    "Contact",
    "Registration Date",
    "Modification Date",
    "Reference",
    "Service Code",
    "Unauthorized Use Reported",
    "Assignment Notes",
)


def looks_like_iana_csv(head: str) -> bool:
    """True if the text starts with the registry's CSV header line."""
    first = head.lstrip("\ufeff").split("\n", 1)[0].strip().lower()
    return first.startswith("service name,port number,transport protocol")


def parse_iana_csv(text: str, path: str = "<csv>") -> ParseResult:
    """Read every record of an IANA CSV, in registry order.

    ``text`` is the decoded file; line numbers in problems count physical
    lines, so a record whose description spans lines is reported where it starts.
    """
    with _fields_up_to(len(text)):
        return _parse(text, path)


@contextmanager
def _fields_up_to(size: int) -> Iterator[None]:
    """The csv module's field limit raised to `size` while the file is read, then put
    back (it is the process's). At its 128 KiB, one longer field refused the whole file
    ('malformed CSV (field larger than field limit (131072))'): the field is a record's,
    judged with the others (a name that long is malformed, a description is kept)."""
    before = csv.field_size_limit()
    csv.field_size_limit(max(before, size))
    try:
        yield
    finally:
        csv.field_size_limit(before)


def _parse(text: str, path: str) -> ParseResult:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise RegistryError(f"{path}: empty file, not an IANA CSV") from None
    except csv.Error as exc:
        raise RegistryError(f"{path}:1: not an IANA CSV ({exc})") from None
    if tuple(h.strip().lower() for h in header) != tuple(h.lower() for h in HEADER):
        raise RegistryError(
            f"{path}:1: not an IANA service-names CSV header (expected {len(HEADER)} "
            f"columns starting 'Service Name,Port Number,Transport Protocol')"
        )
    records: list[ServiceRecord] = []
    problems: list[ParseProblem] = []
    line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise RegistryError(f"{path}:{line}: malformed CSV ({exc})") from None
        start, line = line, reader.line_num + 1
        if not row:
            continue  # a blank line holds no record
        if len(row) != len(HEADER):
            problems.append(
                ParseProblem(
                    path, start, f"expected {len(HEADER)} fields, found {len(row)}; record skipped"
                )
            )
            continue
        port, proto = row[1], row[2]
        try:
            name = parse_name(row[0].strip())
            ports = parse_port(port)
            transport = parse_transport(proto)
        except ValueError as exc:
            problems.append(ParseProblem(path, start, f"{exc}; record skipped"))
            continue
        if not name and ports is None:
            problems.append(
                ParseProblem(path, start, "record has neither a name nor a port; skipped")
            )
            continue
        records.append(
            ServiceRecord(
                name=name,
                port_lo=None if ports is None else ports[0],
                port_hi=None if ports is None else ports[1],
                transport=transport,
                description=row[3],
                assignee=row[4],
                contact=row[5],
                registration_date=row[6],
                modification_date=row[7],
                reference=row[8],
                service_code=row[9],
                unauthorized_use=row[10],
                assignment_notes=row[11],
                line=start,
            )
        )
    return ParseResult(path=path, format=FORMAT, records=records, problems=problems)
