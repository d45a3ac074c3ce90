"""Text shown to a person is terminal-safe: a service name holding control characters
(from a --services file, or a registry fetched with `registry update --url`) reaches
every text view escaped, and the data formats keep it exact. Before, an ESC in a
name was written raw into the packets, flows, summary and lookup tables: a terminal
escape sequence (here, red text) in the reader's terminal."""

from __future__ import annotations

import csv
import io

import pytest
from paths import LOCAL_PCAPS

from portannot.printable import one_line

DEMO = str(LOCAL_PCAPS / "demo.pcap")
NAME = "e\x1b[1m\x07"  # ESC [1m (bold), then a bell
SHOWN = "e\\x1b[1m\\x07"


@pytest.fixture
def services(tmp_path):
    path = tmp_path / "services"
    path.write_text(f"{NAME} 80/tcp\n")
    return str(path)


@pytest.mark.parametrize("args", [
    ("packets", DEMO), ("packets", "-f", "table", DEMO, DEMO), ("flows", DEMO),
    ("flows", "--top", "50", DEMO), ("summary", DEMO), ("lookup", "80/tcp"), ("lookup", NAME),
])
def test_text_views_escape_control_characters(cli, services, args):
    code, out, err = cli(args[0], "--services", services, *args[1:])
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out
    assert SHOWN in out


def test_data_formats_keep_the_name_exact(cli, services):
    code, out, _ = cli("packets", "-f", "csv", "--services", services, DEMO)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert NAME in {r["dst_service"] for r in rows}


def test_one_line_escapes_every_control_character():
    text = "".join(map(chr, range(128)))
    shown = one_line(text)
    assert all(32 <= ord(c) < 127 for c in shown)
    assert shown.startswith("\\x00\\x01") and "\\t\\n\\x0b\\x0c\\r" in shown
    assert shown.endswith("~\\x7f") and " !\"#" in shown


#: ESC's 8-bit twin, CSI (U+009B), then "1m" (bold), and NEL (U+0085): C1 controls,
#: which xterm and urxvt obey in UTF-8 as they obey ESC [
C1_NAME = "e\x9b1m\x85"
C1_SHOWN = "e\\x9b1m\\x85"


def test_one_line_escapes_c1_controls_as_unicode_counts_them():
    """Every character of Unicode's category Cc (C0, DEL and C1, U+0080-U+009F) is
    escaped, and nothing else of the first 256 code points (NBSP, é stay)."""
    import unicodedata

    for c in map(chr, range(256)):
        escaped = one_line(c) != c
        assert escaped is (unicodedata.category(c) == "Cc"), hex(ord(c))
    assert one_line(C1_NAME) == C1_SHOWN


@pytest.mark.parametrize("args", [
    ("packets", DEMO), ("flows", DEMO), ("summary", DEMO), ("lookup", "80/tcp"),
])
def test_text_views_escape_c1_controls(cli, tmp_path, args):
    """A --services name holding CSI (U+009B) reached every text view raw."""
    path = tmp_path / "services"
    path.write_text(f"{C1_NAME} 80/tcp\n", encoding="utf-8")
    code, out, err = cli(args[0], "--services", str(path), *args[1:])
    assert code == 0, err
    assert "\x9b" not in out and "\x85" not in out
    assert C1_SHOWN in out


def test_an_error_escapes_c1_controls_in_a_file_name(cli, tmp_path):
    missing = tmp_path / f"x{C1_NAME}.pcap"
    code, out, err = cli("summary", str(missing))
    assert code == 4
    assert "\x9b" not in err and f"x{C1_SHOWN}.pcap: no such file" in err
