"""The registry's records, kept with every field the published forms carry.

One :class:`ServiceRecord` is one row of the IANA registry (one ``<record>`` of
the XML, one line of a services file).  Nothing is normalised away: the text a
user sees in ``portannot lookup`` is the registry's own, so that "Reserved",
"Unassigned [was netstat]" or "De-registered" read exactly as IANA wrote them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from portannot.registry.state import MAX_PORT, PortState, state_of_unnamed
from portannot.transport import TRANSPORT_NAMES

_ID_RE = re.compile(r"\[([^\[\]]+)\]")


@dataclass(frozen=True, slots=True)
class Person:
    """One entry of the XML registry's ``<people>`` list (assignees and contacts)."""

    id: str
    name: str = ""
    org: str = ""
    uri: str = ""
    updated: str = ""

    def display(self) -> str:
        """ "Name (Organisation)", or whichever of the two is known, or the id."""
        if self.name and self.org and self.org != self.name:
            return f"{self.name} ({self.org})"
        return self.name or self.org or readable_id(self.id)


def readable_id(person_id: str) -> str:
    """A person id as a name when the registry gives no people list (CSV, services).

    ``Carlo_Quiñónez`` -> ``Carlo Quiñónez``; ``Bob_Bradley_2`` -> ``Bob Bradley``
    (the numeric suffix only tells namesakes apart inside IANA).
    """
    text = re.sub(r"_\d+$", "", person_id)
    return text.replace("_", " ").strip() or person_id


def person_ids(field_text: str) -> list[str]:
    """Ids in an assignee or contact field: ``[Erik_Rogers][Dave_Howell]`` -> two ids."""
    return _ID_RE.findall(field_text)


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    """One registry record with all twelve IANA fields, plus services-file extras.

    ``port_lo``/``port_hi`` are both None for a name without a port (DNS-SD
    names such as ``1password``); equal for one port; a range otherwise.
    ``transport`` is None when the registry leaves the protocol empty.
    ``aliases`` come from services(5) lines; ``frequency`` from nmap-services.
    ``line`` is where the record starts in its file, for messages.
    """

    name: str
    port_lo: int | None
    port_hi: int | None
    transport: str | None
    description: str = ""
    assignee: str = ""
    contact: str = ""
    registration_date: str = ""
    modification_date: str = ""
    reference: str = ""
    service_code: str = ""
    unauthorized_use: str = ""
    assignment_notes: str = ""
    aliases: tuple[str, ...] = ()
    frequency: float | None = None
    line: int = field(default=0, compare=False)

    @property
    def placeholder(self) -> bool:
        """A name IANA holds on a port in conflict, with no description, before the
        port's real assignment (``shilp`` 2049, "<== NOTE Conflict on 2049 !", before
        ``nfs``); Wireshark's make-services.py leaves it out."""
        return bool(self.name) and not self.description.strip() and (
            "conflict" in self.assignment_notes.lower())

    @property
    def has_port(self) -> bool:
        return self.port_lo is not None

    @property
    def port_text(self) -> str:
        """The port as the registry writes it: ``3136``, ``3367-3371`` or ``""``."""
        if self.port_lo is None:
            return ""
        if self.port_hi is None or self.port_hi == self.port_lo:
            return str(self.port_lo)
        return f"{self.port_lo}-{self.port_hi}"

    @property
    def transports(self) -> tuple[str, ...]:
        """Transports whose port table this record fills.

        A record with a port but no protocol names its port(s) on tcp and on
        udp (``satvid-datalnk 3367-3371``).  A record without a port fills none.
        """
        if self.port_lo is None:
            return ()
        if self.transport is None:
            return ("tcp", "udp")
        return (self.transport,)

    def ports(self) -> range:
        """Every port the record covers (empty for a name without a port)."""
        if self.port_lo is None:
            return range(0)
        hi = self.port_lo if self.port_hi is None else self.port_hi
        return range(self.port_lo, hi + 1)

    @property
    def state(self) -> PortState:
        """The state this record gives its ports: a name means assigned."""
        if self.name:
            return PortState.ASSIGNED
        return state_of_unnamed(self.description)

    @property
    def all_names(self) -> tuple[str, ...]:
        return ((self.name,) if self.name else ()) + self.aliases


def parse_port(text: str) -> tuple[int, int] | None:
    """``"3136"`` -> (3136, 3136); ``"3367-3371"`` -> (3367, 3371); ``""`` -> None.

    Raises ValueError with a reason for anything else (out of range, reversed).
    """
    text = text.strip()
    if not text:
        return None
    lo_text, sep, hi_text = text.partition("-")
    # ASCII digits only: isdigit() and int() take any script's ("٨٠" was port 80, as
    # glibc's strtoul never reads it) and "²" passed isdigit() for int() to refuse
    if not _digits(lo_text) or (sep and not _digits(hi_text)):
        raise ValueError(f"bad port number {text!r}")
    lo = int(lo_text)
    hi = int(hi_text) if sep else lo
    if hi > MAX_PORT:
        raise ValueError(f"port {text!r} is beyond {MAX_PORT}")
    if hi < lo:
        raise ValueError(f"port range {text!r} runs backwards")
    return lo, hi


#: the longest service name a record may have: a DNS label's 63 (DNS-SD, RFC 6763, names
#: services by their label; IANA's are at most 15, RFC 6335)
MAX_NAME = 63


def parse_name(text: str) -> str:
    """`text` as a record's service name, or ValueError if it is longer than
    :data:`MAX_NAME`. The port table holds its names at the width of the longest, so one
    long name costs as much again for every other name: a 30 MB name in a --services
    file asked numpy for 743 GiB (a MemoryError traceback), and as a --registry one
    made a 720 MB table of six names. The message gives the length, not the name."""
    if len(text) > MAX_NAME:
        raise ValueError(f"service name of {len(text):,} characters, longer than {MAX_NAME}")
    return text


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def parse_transport(text: str) -> str | None:
    """``"TCP"`` -> ``"tcp"``; ``""`` -> None; ValueError for an unknown protocol."""
    text = text.strip().lower()
    if not text:
        return None
    if text not in TRANSPORT_NAMES:
        raise ValueError(f"unknown transport protocol {text!r}")
    return text


@dataclass(frozen=True, slots=True)
class ParseProblem:
    """A record that was skipped, with where and why (never dropped silently)."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(slots=True)
class ParseResult:
    """What a parser read from one file."""

    path: str
    format: str
    records: list[ServiceRecord]
    people: dict[str, Person] = field(default_factory=dict)
    date: str = ""
    problems: list[ParseProblem] = field(default_factory=list)
    #: warnings that skip no record (a services file's line read with U+FFFD)
    notes: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[ServiceRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)
