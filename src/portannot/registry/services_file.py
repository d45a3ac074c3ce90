"""services(5)-style text: ``/etc/services``, Wireshark's ``services``, nmap-services.

All three share ``name  port/proto  ...  # comment``:

* services(5): ``http  80/tcp  www www-http  # WorldWideWeb HTTP`` (aliases follow)
* Wireshark: ``discard  9/tcp/udp/sctp/dccp  # Discard``, ranges ``6000-6063/tcp/udp``
* nmap-services: ``http  80/tcp  0.484143  # World Wide Web HTTP`` (open frequency)

Each (name, port, transport) becomes one :class:`ServiceRecord`, the shape the
IANA forms have, and the ``# comment`` becomes the description.  nmap's
placeholder name ``unknown`` is a port nmap saw open without knowing its
service, so it is read as a record without a name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from portannot.registry.record import (
    ParseProblem,
    ParseResult,
    ServiceRecord,
    parse_name,
    parse_port,
    parse_transport,
)
from portannot.registry.state import MAX_PORT

SERVICES = "services"
NMAP = "nmap-services"

#: protocols of services(5) lines that are not an IP transport with ports: Debian's
#: /etc/services lists AppleTalk's DDP sockets (``rtmp 1/ddp``). Valid lines, not ours.
OTHER_PROTOCOLS = frozenset({"ddp"})

_FREQUENCY = re.compile(r"^\d*\.\d+(?:[eE][-+]?\d+)?$|^[01]$")
_NUMBER = r"(?:0[xX][0-9A-Fa-f]+|\d+)"
_PORT_SPEC = re.compile(rf"^{_NUMBER}(?:-{_NUMBER})?/[A-Za-z]+(?:/[A-Za-z]+)*$")
#: a port as C's strtoul(text, &end, 0) reads it whole: hex after 0x, octal after a 0
_C_NUMBER = re.compile(r"0[xX](?P<hex>[0-9A-Fa-f]+)|0(?P<oct>[0-7]*)|(?P<dec>[1-9][0-9]*)")

#: what separates fields: C's isspace() (glibc's parser, nmap's sscanf), not str.split()'s
#: Unicode whitespace, which also splits at U+001C-U+001F, U+0085, U+00A0, U+2028...
_FIELD_SEP = re.compile(r"[ \t\n\v\f\r]+")


def fields(text: str) -> list[str]:
    """`text` split into fields as glibc splits a services line: at ASCII whitespace
    only ('fs 95/tcp<U+001C>x' is one field 'tcp<U+001C>x' for glibc, no 95/tcp)."""
    return [t for t in _FIELD_SEP.split(text) if t]


def lines(text: str) -> Iterator[str]:
    """The file's lines, ended by LF only, as glibc (fgets), Wireshark and nmap read
    them. A CR is a space to all three (a CRLF line's CR falls away with the spaces),
    so `cra 81/tcp<CR>crb 82/tcp` is one line, crb an alias; str.splitlines() also
    ended a line at a CR, a vertical tab, a form feed, U+001C-U+001E, U+0085, U+2028
    and U+2029 (an alias after a vertical tab became a bad line of its own, the file
    refused by `registry update`, and text after a form feed in a comment a record).
    One at a time: the format's detection reads the first 50 data lines wherever they
    are, without splitting the whole file first."""
    start = 0
    while (end := text.find("\n", start)) >= 0:
        yield text[start:end]
        start = end + 1
    yield text[start:]


def c_line(line: str) -> str:
    """The line as far as its first NUL: glibc, Wireshark and nmap read each line into a
    C string, where a NUL ends it ('ht<NUL>tps 443/tcp' is 'ht', a malformed line, to
    getent, not a service named 'ht<NUL>tps')."""
    return line.partition("\0")[0]


def c_port(text: str) -> int:
    """`text` read as glibc's services parser and Wireshark's port ranges read it, C's
    strtoul with base 0: ``0x50`` is 80, ``010`` is 8, and ``080`` is no number (strtoul
    stops at the 8, and glibc drops the line). ValueError past :data:`MAX_PORT` (glibc
    would wrap 70000 to 4464) or for anything else."""
    match = _C_NUMBER.fullmatch(text)
    if match is None:
        raise ValueError(f"bad port number {text!r}")
    digits, base = next((match[g], b) for g, b in (("hex", 16), ("oct", 8), ("dec", 10))
                        if match[g] is not None)
    port = int(digits or "0", base)
    if port > MAX_PORT:
        raise ValueError(f"port {text!r} is beyond {MAX_PORT}")
    return port


def parse_services_port(text: str, nmap: bool) -> tuple[int, int] | None:
    """A services line's port or ``lo-hi`` range: nmap reads decimal (sscanf's %hu),
    services(5) and Wireshark files as :func:`c_port` does; None for an empty one."""
    if nmap or not text:
        return parse_port(text)
    lo_text, sep, hi_text = text.partition("-")
    if any(_C_NUMBER.fullmatch(part) is None for part in (lo_text, hi_text)[:1 + bool(sep)]):
        raise ValueError(f"bad port number {text!r}")  # the field, not one end of it
    lo = c_port(lo_text)
    hi = c_port(hi_text) if sep else lo
    if hi < lo:
        raise ValueError(f"port range {text!r} runs backwards")
    return lo, hi


def data_lines(text: str, limit: int | None = None) -> list[list[str]]:
    """The fields of each line holding any outside its comment (the first `limit`)."""
    out: list[list[str]] = []
    for raw in lines(text):
        tokens = fields(c_line(raw).split("#", 1)[0])
        if tokens:
            out.append(tokens)
            if limit is not None and len(out) >= limit:
                break
    return out


def looks_like_services(text: str) -> bool:
    """True if most of the first 50 data lines read as ``name port/proto``."""
    lines = data_lines(text, limit=50)
    if not lines:
        return False
    good = sum(1 for t in lines if len(t) >= 2 and _PORT_SPEC.match(t[1]))
    return good >= max(1, int(0.8 * len(lines)))


def looks_like_nmap(text: str) -> bool:
    """True for services text whose third column is nmap's open frequency. The column
    decides, not the words "nmap-services" in a comment: a services(5) file that
    mentions nmap is still one, and its aliases are not frequencies."""
    lines = data_lines(text, limit=50)
    if not lines:
        return False
    freq = sum(1 for t in lines if len(t) >= 3 and _FREQUENCY.match(t[2]))
    return freq >= max(1, int(0.8 * len(lines)))


def parse_services(text: str, path: str = "<services>", nmap: bool = False) -> ParseResult:
    """Read a services(5), Wireshark or (``nmap=True``) nmap-services text.

    A line that is not ``name port/proto`` is skipped and reported with its line.
    """
    records: list[ServiceRecord] = []
    problems: list[ParseProblem] = []
    for lineno, raw in enumerate(lines(text), start=1):
        data, hash_, comment = c_line(raw).partition("#")
        tokens = fields(data)
        if not tokens:
            continue
        if len(tokens) < 2:
            problems.append(
                ParseProblem(
                    path,
                    lineno,
                    f"expected 'name port/protocol', found {data.strip()!r}; line skipped",
                )
            )
            continue
        name, spec, extra = tokens[0], tokens[1], tokens[2:]
        port_text, slash, proto_text = spec.partition("/")
        try:
            parse_name(name)
            if not slash:
                raise ValueError(f"expected port/protocol, found {spec!r}")
            ports = parse_services_port(port_text, nmap)
            if ports is None:
                raise ValueError(f"no port in {spec!r}")
            protocols = [p.lower() for p in proto_text.split("/")]
            if "" in protocols:
                raise ValueError(f"empty protocol in {spec!r}")
            transports = [parse_transport(p) for p in protocols if p not in OTHER_PROTOCOLS]
        except ValueError as exc:
            problems.append(ParseProblem(path, lineno, f"{exc}; line skipped"))
            continue
        frequency: float | None = None
        aliases: tuple[str, ...] = ()
        if nmap:
            if extra:
                try:
                    frequency = float(extra[0])
                except ValueError:
                    problems.append(
                        ParseProblem(path, lineno, f"bad nmap frequency {extra[0]!r}; line skipped")
                    )
                    continue
        else:
            aliases = tuple(extra)
        description = comment.strip() if hash_ else ""
        if nmap and name == "unknown":
            name, description = "", description or "unknown"
        for transport in transports:
            records.append(
                ServiceRecord(
                    name=name,
                    port_lo=ports[0],
                    port_hi=ports[1],
                    transport=transport,
                    description=description,
                    aliases=aliases,
                    frequency=frequency,
                    line=lineno,
                )
            )
    return ParseResult(
        path=path, format=NMAP if nmap else SERVICES, records=records, problems=problems
    )
