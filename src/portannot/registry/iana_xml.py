"""IANA's XML export: the records, the registry's ``<updated>`` date and ``<people>``.

The XML is the only published form that names the people behind assignee and
contact ids (``Carlo_Quiñónez`` -> "Carlo Quiñónez, ThermoFisher Scientific"),
and the only one that carries the registry's own date.  Each record is turned
into the same strings the CSV export carries (``[IESG]``, ``[RFC7143]``,
``[1][RFC4727][RFC6335]``), so the CSV and the XML of one date read the same.

ElementTree's C parser reads the whole document (a few MB) at once, the fastest
way the stdlib offers; as it does not expose line numbers, each record's line
comes from one regex pass counting ``<record`` tags.  A syntax error carries
expat's own line.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from portannot.errors import RegistryError
from portannot.registry.record import (
    ParseProblem,
    ParseResult,
    Person,
    ServiceRecord,
    parse_name,
    parse_port,
    parse_transport,
)

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

FORMAT = "iana-xml"


def looks_like_iana_xml(head: str) -> bool:
    """True if the text is XML whose root is an IANA ``<registry>``."""
    text = head.lstrip("\ufeff \t\r\n")
    return text.startswith("<?xml") or text.startswith("<registry")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n)+")
_SOFT_WRAP = re.compile(r"[ \t]+\n[ \t]*")
_RECORD_TAG = re.compile(r"<(?:\w+:)?record[\s/>]")


def _text(elem: ET.Element) -> str:
    """Element text with ``<br/>`` as a line break and ``<xref>`` as ``[id]``.

    That is how the CSV export renders the same mark-up (it also folds the
    blank lines that ``<br/>`` followed by a newline leaves into one break).
    """
    return _SOFT_WRAP.sub(" ", _BLANK_LINES.sub("\n", _raw_text(elem))).strip()


def _raw_text(elem: ET.Element) -> str:
    parts: list[str] = [elem.text or ""]
    for child in elem:
        tag = _local(child.tag)
        if tag == "br":
            parts.append("\n")
        elif tag == "xref":
            parts.append(_xref_text(child))
        elif tag == "paragraph":
            if "".join(parts).strip():
                parts.append("\n")
            parts.append(_raw_text(child))
        else:
            parts.append(_raw_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _xref_text(xref: ET.Element) -> str:
    """``[RFC7143]``, ``[IESG]``, ``[1]``; an xref's own text wins (``[TR-352]``)."""
    kind = xref.get("type", "")
    data = xref.get("data")
    label = (xref.text or "").strip()
    if label:
        return f"[{label}]"
    if kind == "rfc" and data:
        return f"[{data.upper()}]"
    if data:
        return f"[{data}]"
    return "[]"


def _record(elem: ET.Element, line: int) -> ServiceRecord | str:
    """The record, or the reason it must be skipped."""
    fields: dict[str, str] = {}
    contact: list[str] = []
    reference: list[str] = []
    assignee: list[str] = []
    for child in elem:
        tag = _local(child.tag)
        if tag == "xref":
            if child.get("type") == "person":
                contact.append(_xref_text(child))
            else:
                reference.append(_xref_text(child))
        elif tag == "assignee":
            assignee.extend(_xref_text(x) for x in child if _local(x.tag) == "xref")
        elif tag in ("name", "protocol", "number", "description", "note", "unauthorized", "sc"):
            if tag in fields:
                # the registry's schema gives each one element; two <number>s took the
                # last silently, a port the record may not have (none of IANA's has two)
                return f"record has two <{tag}> elements"
            fields[tag] = _text(child)
    try:
        name = parse_name(fields.get("name", ""))
        ports = parse_port(fields.get("number", ""))
        transport = parse_transport(fields.get("protocol", ""))
    except ValueError as exc:
        return str(exc)
    if not name and ports is None:
        return "record has neither a name nor a port"
    contact_text = "".join(contact)
    return ServiceRecord(
        name=name,
        port_lo=None if ports is None else ports[0],
        port_hi=None if ports is None else ports[1],
        transport=transport,
        description=fields.get("description", ""),
        # Without an <assignee>, the one person named is both (as the CSV shows).
        assignee="".join(assignee) if assignee else contact_text,
        contact=contact_text,
        registration_date=elem.get("date", ""),
        modification_date=elem.get("updated", ""),
        reference="".join(reference),
        service_code=fields.get("sc", ""),
        unauthorized_use=fields.get("unauthorized", ""),
        assignment_notes=fields.get("note", ""),
        line=line,
    )


def _person(elem: ET.Element) -> Person:
    values = {_local(c.tag): _text(c) for c in elem}
    return Person(
        id=elem.get("id", ""),
        name=values.get("name", ""),
        org=values.get("org", ""),
        uri=values.get("uri", ""),
        updated=values.get("updated", ""),
    )


def _record_lines(text: str) -> list[int]:
    """Line on which each ``<record`` tag starts, in document order."""
    lines: list[int] = []
    line, pos = 1, 0
    for match in _RECORD_TAG.finditer(text):
        line += text.count("\n", pos, match.start())
        pos = match.start()
        lines.append(line)
    return lines


def parse_iana_xml(text: str, path: str = "<xml>") -> ParseResult:
    """Read records, people and date from the XML registry text."""
    import xml.etree.ElementTree as ET  # only an XML registry loads the XML stack

    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise RegistryError(f"{path}:{exc.position[0]}: malformed XML ({exc})") from None
    if _local(root.tag) != "registry":
        raise RegistryError(f"{path}: XML root is <{_local(root.tag)}>, not an IANA <registry>")
    ns = root.tag[: -len("registry")]
    lines = _record_lines(text)
    records: list[ServiceRecord] = []
    problems: list[ParseProblem] = []
    for ordinal, elem in enumerate(root.iter(ns + "record")):
        line = lines[ordinal] if ordinal < len(lines) else 0
        item = _record(elem, line)
        if isinstance(item, str):
            problems.append(ParseProblem(path, line, f"{item}; record skipped"))
        else:
            records.append(item)
    people = {p.id: p for p in map(_person, root.iter(ns + "person"))}
    updated = root.find(ns + "updated")
    date = (updated.text or "").strip() if updated is not None else ""
    return ParseResult(
        path=path, format=FORMAT, records=records, people=people, date=date, problems=problems
    )
