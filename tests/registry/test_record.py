"""Port fields as the registry's parsers read them."""

from __future__ import annotations

import pytest

from portannot.registry.record import parse_port
from portannot.registry.services_file import parse_services


@pytest.mark.parametrize("text", ["٨٠", "８０", "²", "80-٨١", "𝟖𝟎"])
def test_a_port_is_ascii_digits(text: str) -> None:
    """Arabic-Indic or full-width digits were port 80 (int() reads any script's; glibc's
    strtoul, on the same services file, finds no port, and skips the line); "²" passed
    isdigit() and failed in int() with Python's own message."""
    with pytest.raises(ValueError, match=f"bad port number {text!r}"):
        parse_port(text)
    parsed = parse_services(f"http {text}/tcp\nftp 21/tcp\n", "x")
    assert [r.name for r in parsed.records] == ["ftp"]
    assert [str(p) for p in parsed.problems] == [
        f"x:1: bad port number {text!r}; line skipped"]


def test_ascii_ports_and_ranges_still_read() -> None:
    assert parse_port(" 0080 ") == (80, 80)
    assert parse_port("3367-3371") == (3367, 3371)
