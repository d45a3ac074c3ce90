"""Which registry format a file holds, decided from its content, never its name.

A registry can arrive as ``registry.dat``, a download with a query string in
its name, or gzip-compressed (the shipped snapshot), so the bytes decide.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from pathlib import Path

from portannot.errors import RegistryError
from portannot.output.plural import counted
from portannot.registry.iana_csv import FORMAT as CSV_FORMAT
from portannot.registry.iana_csv import looks_like_iana_csv, parse_iana_csv
from portannot.registry.iana_xml import FORMAT as XML_FORMAT
from portannot.registry.iana_xml import looks_like_iana_xml, parse_iana_xml
from portannot.registry.record import ParseResult
from portannot.registry.services_file import (
    NMAP,
    SERVICES,
    data_lines,
    looks_like_nmap,
    looks_like_services,
    parse_services,
)

FORMATS: tuple[str, ...] = (CSV_FORMAT, XML_FORMAT, SERVICES, NMAP)
#: the official forms: only they say which ports are reserved or unassigned (a
#: services file lists names, and a port it leaves out is merely not named)
IANA_FORMATS: tuple[str, ...] = (CSV_FORMAT, XML_FORMAT)
_HEAD = 64 * 1024
#: the most a registry file may hold, inflated if it is gzip (`registry update` takes as
#: much): the IANA XML is 4 MB; a 4 MB gzip of zeros inflated to 1 GB (3 GB of memory)
MAX_REGISTRY = 64 * 1024 * 1024


def _gunzip(data: bytes, path: str, limit: int | None = None) -> bytes:
    """The bytes, inflated if they are gzip; with a `limit`, refused past it without
    inflating more (a 478 kB gzip body inflated to 200 MB: `registry update`)."""
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
                data = stream.read(-1 if limit is None else limit + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise RegistryError(f"{path}: damaged gzip data ({exc})") from None
    if limit is not None and len(data) > limit:
        raise RegistryError(f"{path}: larger than {limit} bytes uncompressed, not a registry")
    return data


def wide_encoding(data: bytes) -> str | None:
    """"UTF-16" or "UTF-32" for text so encoded (a registry saved from Windows tools: a
    byte-order mark, or, without one, a zero byte beside each ASCII character), else
    None. Such text decodes as UTF-8 all the same (a zero byte is valid UTF-8), and was
    "not a registry: expected an IANA CSV or XML ...", which named no reason."""
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    sample = data[:WIDE_SAMPLE]
    if len(sample) < 16:
        return None
    zeros = sample.count(0) / len(sample)
    return "UTF-32" if zeros >= 0.7 else "UTF-16" if zeros >= 0.4 else None


#: bytes of a registry file looked at for the zero bytes of UTF-16 or UTF-32 text
WIDE_SAMPLE = 256


def _not_utf8(data: bytes, start: int, path: str) -> str:
    line = data[:start].count(b"\n") + 1
    return f"{path}:{line}: not UTF-8 text (byte 0x{data[start]:02x})"


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
    # the whole text: a services file may open with more than _HEAD of comments (glibc
    # reads one with 72 kB of them), or with one line longer than that (malformed, skipped)
    if looks_like_services(text):
        return NMAP if looks_like_nmap(text) else SERVICES
    raise RegistryError(
        "not a registry: expected an IANA CSV or XML, a services(5) or an nmap-services file"
    )


def _detect(text: str, path: str) -> str:
    try:
        return detect_format(text)
    except RegistryError as exc:
        raise RegistryError(f"{path}: {exc}") from None


def parse_text(text: str, path: str, fmt: str | None = None) -> ParseResult:
    """Parse registry text in the given or detected format."""
    fmt = fmt or _detect(text, path)
    if fmt == CSV_FORMAT:
        return parse_iana_csv(text, path)
    if fmt == XML_FORMAT:
        return parse_iana_xml(text, path)
    if fmt in (SERVICES, NMAP):
        return parse_services(text, path, nmap=fmt == NMAP)
    raise ValueError(f"unknown registry format {fmt!r}; expected one of {FORMATS}")


def parse_bytes(data: bytes, path: str, fmt: str | None = None, *,
                limit: int | None = None) -> ParseResult:
    """Parse raw (possibly gzip-compressed) registry bytes, UTF-8 text.

    A services or nmap-services file in an older 8-bit encoding (a Latin-1 comment)
    is read with U+FFFD for the bytes that are not UTF-8, and a note naming the first
    such line. The IANA CSV and XML are UTF-8 by definition: there such a byte is
    damage, and refuses the file (the error names the line). Bytes past `limit`,
    inflated, are no registry (RegistryError)."""
    data = _gunzip(data, path, limit)
    wide = wide_encoding(data)
    if wide is not None:
        raise RegistryError(f"{path}: {wide} text, where a registry is UTF-8 (convert it: "
                            f"iconv -f {wide} -t UTF-8)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        first = exc.start
    else:
        return parse_text(text, path, fmt)
    text = data.decode("utf-8", "replace")
    fmt = fmt or _detect(text, path)
    if fmt not in (SERVICES, NMAP):
        raise RegistryError(_not_utf8(data, first, path))
    bad = sum(1 for line in data.split(b"\n") if _bad(line))
    more = f" (and {counted(bad - 1, 'more line')})" if bad > 1 else ""
    result = parse_text(text, path, fmt)
    result.notes.append(f"{_not_utf8(data, first, path)}{more}: read with U+FFFD in place "
                        "of the bytes that are not")
    return result


def read_registry_file(path: str | os.PathLike[str]) -> bytes:
    """A registry file's bytes, or RegistryError saying why they cannot be read (one of
    more than MAX_REGISTRY bytes is none: no more is read)."""
    p = Path(path)
    if "\0" in str(p):  # open()'s bare ValueError ('embedded null byte') otherwise
        from portannot.printable import nul_in_name

        raise RegistryError(nul_in_name(str(p)))
    try:
        with p.open("rb") as fh:
            data = fh.read(MAX_REGISTRY + 1)
    except OSError as exc:
        raise RegistryError(f"{p}: cannot read registry ({exc.strerror or exc})") from None
    if len(data) > MAX_REGISTRY:
        raise RegistryError(f"{p}: larger than {MAX_REGISTRY} bytes, not a registry")
    return data


def parse_file(path: str | os.PathLike[str], fmt: str | None = None) -> ParseResult:
    """Parse a registry file in any supported format, detected from its content."""
    return parse_bytes(read_registry_file(path), str(Path(path)), fmt, limit=MAX_REGISTRY)


def parse_local_file(path: str | os.PathLike[str]) -> ParseResult:
    """A --services file: any registry format, or a services(5) file that names nothing
    (empty, or comments only), which is valid and adds no names: as "not a registry"
    it stopped the command (exit 6)."""
    data = read_registry_file(path)
    plain = _gunzip(data, str(Path(path)), MAX_REGISTRY)
    if not data_lines(plain.decode("utf-8", "replace"), limit=1):
        return parse_services("", str(Path(path)))
    return parse_bytes(plain, str(Path(path)))  # inflated once
