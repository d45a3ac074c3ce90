"""The IANA registry read without portannot: the csv module for the CSV, xml.etree for
the XML. The reference the registry tests compare port states and names with."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

TRANSPORTS = ("tcp", "udp", "sctp", "dccp")
DYNAMIC_FIRST = 49152
#: the unnamed rows' descriptions that set a port aside (every other one, "Unassigned",
#: "De-registered", "Removed", "Possibly used by Sun Solaris????" ..., leaves it free)
RESERVING = ("reserved", "reserved - iana")
_NS = "{http://www.iana.org/assignments}"


def rows(path: Path) -> Iterator[tuple[str, str, str, str]]:
    """(name, port field, transport, description) of every record, in file order."""
    if path.suffix == ".xml":
        for rec in ET.parse(path).getroot().iter(_NS + "record"):
            def text(tag: str, rec: ET.Element = rec) -> str:
                return (rec.findtext(_NS + tag) or "").strip()
            yield text("name"), text("number"), text("protocol").lower(), text("description")
        return
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            yield (row["Service Name"].strip(), row["Port Number"].strip(),
                   row["Transport Protocol"].strip().lower(), row["Description"].strip())


def names(path: Path) -> set[str]:
    """Every service name the file gives, with or without a port."""
    return {name for name, _port, _t, _d in rows(path) if name}


def _reserving(description: str) -> bool:
    text = description.lower()
    return text in RESERVING or text.startswith("any private")


def states(path: Path) -> dict[str, list[str]]:
    """transport -> 65,536 states: assigned where a record names the port; else what
    the narrowest unnamed record on it says (reserved where two as narrow disagree);
    else, from 49152 up, dynamic; else unassigned."""
    best: dict[tuple[str, int], tuple[int, bool]] = {}  # (width, not reserving)
    named: set[tuple[str, int]] = set()
    for name, port, transport, description in rows(path):
        if not port:
            continue
        lo, _, hi = port.partition("-")
        first, last = int(lo), int(hi or lo)
        for t in [transport] if transport else ["tcp", "udp"]:
            for p in range(first, last + 1):
                if name:
                    named.add((t, p))
                    continue
                rank = (last - first, not _reserving(description))
                if (t, p) not in best or rank < best[(t, p)]:
                    best[(t, p)] = rank
    out: dict[str, list[str]] = {}
    for t in TRANSPORTS:
        column = []
        for p in range(65536):
            if (t, p) in named:
                column.append("assigned")
            elif (t, p) in best and p < DYNAMIC_FIRST:
                column.append("unassigned" if best[(t, p)][1] else "reserved")
            elif p >= DYNAMIC_FIRST:
                column.append("dynamic")
            else:
                column.append("unassigned")
        out[t] = column
    return out
