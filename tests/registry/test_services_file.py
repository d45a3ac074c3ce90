"""services(5) lines as glibc reads them (getservbyname/getservbyport on the same file
bound over /etc/services, glibc 2.36)."""

from __future__ import annotations

import pytest

from portannot.registry.services_file import looks_like_services, parse_services

#: what str.splitlines() ended a line at, besides LF, CRLF and CR
_NOT_NEWLINES = ["\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("sep", _NOT_NEWLINES)
def test_only_lf_crlf_and_cr_end_a_line(sep: str) -> None:
    """glibc reads `ff 93/tcp # see<sep>b 94/tcp` as ff alone, 94/tcp unnamed: the rest
    of the line is the comment. str.splitlines() ended the line there, so `b` was a
    record on 94/tcp taken out of a comment, and every later line number was one off."""
    text = (f"ff 93/tcp # see{sep}b 94/tcp\r\n"
            "cr 95/udp\rlast 96/tcp\n"
            "oops\n")
    parsed = parse_services(text, "x")
    assert [(r.name, r.port_lo, r.transport) for r in parsed.records] == [
        ("ff", 93, "tcp"), ("cr", 95, "udp"), ("last", 96, "tcp")]
    assert parsed.records[0].description == f"see{sep}b 94/tcp"
    assert [str(p) for p in parsed.problems] == [
        "x:4: expected 'name port/protocol', found 'oops'; line skipped"]


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
