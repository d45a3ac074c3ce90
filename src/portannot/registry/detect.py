"""Which registry format a file holds, decided from its content, never its name.

A registry can arrive as ``registry.dat``, a download with a query string in
its name, or gzip-compressed (the shipped snapshot), so the bytes decide.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

from portannot.errors import RegistryError
from portannot.registry.iana_csv import FORMAT as CSV_FORMAT
from portannot.registry.iana_csv import looks_like_iana_csv, parse_iana_csv
from portannot.registry.iana_xml import FORMAT as XML_FORMAT
from portannot.registry.iana_xml import looks_like_iana_xml, parse_iana_xml
from portannot.registry.record import ParseResult
from portannot.registry.services_file import (
    NMAP,
    SERVICES,
    looks_like_nmap,
    looks_like_services,
    parse_services,
)

FORMATS: tuple[str, ...] = (CSV_FORMAT, XML_FORMAT, SERVICES, NMAP)
#: the official forms: only they say which ports are reserved or unassigned (a
#: services file lists names, and a port it leaves out is merely not named)
IANA_FORMATS: tuple[str, ...] = (CSV_FORMAT, XML_FORMAT)
_HEAD = 64 * 1024


def decode(data: bytes, path: str, *, strict: bool = True) -> str:
    """Bytes -> text: gunzip if gzip, then UTF-8 (an error names the line). Not
    `strict`, bytes that are not UTF-8 are kept as lone surrogates (surrogateescape)
    for the caller to judge."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise RegistryError(f"{path}: damaged gzip data ({exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not strict:
            return data.decode("utf-8", "surrogateescape")
        raise RegistryError(_not_utf8(data, exc.start, path)) from None


def _not_utf8(data: bytes, start: int, path: str) -> str:
    line = data[:start].count(b"\n") + 1
    return f"{path}:{line}: not UTF-8 text (byte 0x{data[start]:02x})"


def _replace_undecodable(text: str, path: str) -> tuple[str, list[str]]:
    """A services or nmap-services file in an older 8-bit encoding (a Latin-1 comment):
    the bytes that are not UTF-8 become U+FFFD and the rest of the file is read, with
    a warning naming the first such line. (The IANA CSV and XML are UTF-8 by
    definition: a byte that is not is damage, and refuses the file.)"""
    raw = text.encode("utf-8", "surrogateescape")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        first = exc.start
    else:
        return text, []
    bad = sum(1 for line in raw.split(b"\n") if _bad(line))
    more = f" (and {bad - 1} more line(s))" if bad > 1 else ""
    note = (f"{_not_utf8(raw, first, path)}{more}: read with U+FFFD in place of the bytes "
            "that are not")
    return raw.decode("utf-8", "replace"), [note]


def _bad(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def detect_format(text: str) -> str:
    """One of :data:`FORMATS`, or RegistryError saying what the text looks like instead."""
    head = text[:_HEAD]
    stripped = head.lstrip("\ufeff \t\r\n").lower()
    if looks_like_iana_csv(head):
        return CSV_FORMAT
    if stripped.startswith("<!doctype html") or stripped.startswith("<html"):
        raise RegistryError("an HTML page, not a registry (an error page from the server?)")
    if looks_like_iana_xml(head):
        return XML_FORMAT
    if looks_like_services(head):
        return NMAP if looks_like_nmap(head) else SERVICES
    raise RegistryError(
        "not a registry: expected an IANA CSV or XML, a services(5) or an nmap-services file"
    )


def parse_text(text: str, path: str, fmt: str | None = None) -> ParseResult:
    """Parse registry text in the given or detected format."""
    if fmt is None:
        try:
            fmt = detect_format(text)
        except RegistryError as exc:
            raise RegistryError(f"{path}: {exc}") from None
    notes: list[str] = []
    if _has_surrogates(text):  # from decode(..., strict=False)
        if fmt not in (SERVICES, NMAP):
            raw = text.encode("utf-8", "surrogateescape")
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise RegistryError(_not_utf8(raw, exc.start, path)) from None
        text, notes = _replace_undecodable(text, path)
    result = _parse(text, path, fmt)
    result.notes += notes
    return result


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _parse(text: str, path: str, fmt: str) -> ParseResult:
    if fmt == CSV_FORMAT:
        return parse_iana_csv(text, path)
    if fmt == XML_FORMAT:
        return parse_iana_xml(text, path)
    if fmt in (SERVICES, NMAP):
        return parse_services(text, path, nmap=fmt == NMAP)
    raise ValueError(f"unknown registry format {fmt!r}; expected one of {FORMATS}")


def parse_bytes(data: bytes, path: str, fmt: str | None = None) -> ParseResult:
    """Parse raw (possibly gzip-compressed) registry bytes."""
    return parse_text(decode(data, path, strict=False), path, fmt)


def parse_file(path: str | os.PathLike[str], fmt: str | None = None) -> ParseResult:
    """Parse a registry file in any supported format, detected from its content."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise RegistryError(f"{p}: cannot read registry ({exc.strerror or exc})") from None
    return parse_bytes(data, str(p), fmt)
