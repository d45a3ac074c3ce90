"""services(5) lines as glibc reads them (getservbyname/getservbyport on the same file
bound over /etc/services, glibc 2.36)."""

from __future__ import annotations

import pytest

from portannot.registry.services_file import looks_like_services, parse_services

#: what str.splitlines() ended a line at, besides LF, CRLF and CR
_NOT_NEWLINES = ["\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("sep", _NOT_NEWLINES)
def test_only_lf_ends_a_line(sep: str) -> None:
    """glibc reads `ff 93/tcp # see<sep>b 94/tcp` as ff alone, 94/tcp unnamed: the rest
    of the line is the comment. str.splitlines() ended the line there, so `b` was a
    record on 94/tcp taken out of a comment, and every later line number was one off."""
    text = (f"ff 93/tcp # see{sep}b 94/tcp\r\n"
            "cr 95/udp\n"
            "oops\n")
    parsed = parse_services(text, "x")
    assert [(r.name, r.port_lo, r.transport) for r in parsed.records] == [
        ("ff", 93, "tcp"), ("cr", 95, "udp")]
    assert parsed.records[0].description == f"see{sep}b 94/tcp"
    assert [str(p) for p in parsed.problems] == [
        "x:3: expected 'name port/protocol', found 'oops'; line skipped"]


@pytest.mark.parametrize("sep", ["\v", "\f"])
def test_a_vertical_tab_or_form_feed_between_fields_is_a_space(sep: str) -> None:
    """glibc reads `ws 92/tcp<VT>alias92` as ws, alias alias92, on 92/tcp (both are
    isspace()). alias92 was a bad line of its own, and the file refused by `registry
    update` for it."""
    text = f"ws 92/tcp{sep}alias92\n" + "".join(f"s{i} {2000 + i}/tcp\n" for i in range(5))
    parsed = parse_services(text, "x")
    assert not parsed.problems
    assert (parsed.records[0].name, parsed.records[0].aliases) == ("ws", ("alias92",))
    assert looks_like_services(text)


@pytest.mark.parametrize("sep", ["\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\xa0", "\u2028",
                                 "\u3000"])
def test_only_ascii_whitespace_separates_fields(sep: str) -> None:
    """glibc splits fields at C's isspace() only: for `fs 95/tcp<sep>alias95` its
    protocol is 'tcp<sep>alias95', and getservbyport(95, 'tcp') finds nothing (checked
    with U+001C, U+0085 and U+00A0 bound over /etc/services). str.split() split there
    too, so 95/tcp was named fs, with an alias."""
    result = parse_services(f"fs 95/tcp{sep}alias95\nnext 96/tcp\n", "s")
    assert [(r.name, r.port_lo) for r in result.records] == [("next", 96)]
    assert [p.line for p in result.problems] == [1]
    assert "unknown transport protocol" in result.problems[0].message
    # a name that holds such a character is one name, as glibc reads it
    named = parse_services(f"a{sep}b 97/tcp\n", "s")
    assert [(r.name, r.port_lo) for r in named.records] == [(f"a{sep}b", 97)]


def test_a_lone_cr_is_a_space_not_a_line_end() -> None:
    """glibc 2.36 reads services lines up to LF only (fgets), and a CR is isspace():
    `cra 81/tcp<CR>crb 82/tcp` is cra on 81/tcp with aliases crb and 82/tcp, and
    getservbyname('crb', 'tcp') gives 81 (file bound over /etc/services). A lone CR
    ended the line here, so 82/tcp was named crb. CRLF still reads as LF."""
    parsed = parse_services("cra 81/tcp\rcrb 82/tcp\nnext 83/udp\r\n", "x")
    assert [(r.name, r.port_lo, r.aliases) for r in parsed.records] == [
        ("cra", 81, ("crb", "82/tcp")), ("next", 83, ())]
    assert not parsed.problems


def test_a_nul_ends_the_line() -> None:
    """glibc reads each line as a C string: with `ht<NUL>tps 443/tcp`, `fo<NUL>o 8080/tcp`
    and `ssh2 2222/tcp<NUL> # x` bound over /etc/services (after its own lines), getent
    gives https for 443/tcp and http-alt for 8080/tcp (the NUL lines are 'ht' and 'fo',
    malformed), and ssh2 for 2222/tcp. 443/tcp was named 'ht<NUL>tps', and 2222/tcp
    nothing (its protocol read as 'tcp<NUL>')."""
    text = "ht\0tps 443/tcp\nhttps 443/tcp\nfo\0o 8080/tcp\nssh2 2222/tcp\0 # x\n"
    parsed = parse_services(text, "s")
    assert [(r.name, r.port_lo, r.description) for r in parsed.records] == [
        ("https", 443, ""), ("ssh2", 2222, "")]
    assert [str(p) for p in parsed.problems] == [
        "s:1: expected 'name port/protocol', found 'ht'; line skipped",
        "s:3: expected 'name port/protocol', found 'fo'; line skipped"]


@pytest.mark.parametrize(("spec", "port"), [
    ("0x50", 80), ("0X51", 81), ("0x1f", 31), ("010", 8), ("0", 0), ("00", 0),
    ("080", None), ("0x", None), ("0x50-0x52", (80, 82)), ("010-012", (8, 10)),
    ("8080", 8080), ("0xffff", 65535), ("0x10000", None),
])
def test_a_port_is_read_as_strtoul_base_0_reads_it(spec: str, port: object) -> None:
    """glibc 2.36's services parser reads the port with strtoul(line, &end, 0)
    (objdump of _nss_files_parse_servent: base register zeroed), and so does
    Wireshark's range_convert_str (ws_basestrtou32(p, &endp, &val, 0)):
    getservbyname on `hexa 0x50/tcp` gives 80, `oct2 010/tcp` 8, and `oct 080/tcp` is
    no entry at all (strtoul stops at the 8). Here 0x50 was a bad line, 010 was 10 and
    080 was 80. (A port past 65535 stays refused: glibc wraps 70000 to 4464.)"""
    parsed = parse_services(f"svc {spec}/tcp\n", "x")
    if port is None:
        assert not parsed.records
        assert [p.line for p in parsed.problems] == [1]
        return
    lo, hi = port if isinstance(port, tuple) else (port, port)
    assert [(r.port_lo, r.port_hi) for r in parsed.records] == [(lo, hi)]
    assert looks_like_services("".join(f"s{i} {spec}/tcp\n" for i in range(3)))


def test_nmap_ports_are_decimal() -> None:
    """nmap reads nmap-services with sscanf("%hu/..."), base 10: 080 is 80 there."""
    parsed = parse_services("http 080/tcp 0.48\n", "x", nmap=True)
    assert [r.port_lo for r in parsed.records] == [80]
