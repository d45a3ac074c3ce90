"""The terminal table's aligned columns (`packets -f table`): padded and cut by the
cells a terminal gives each character, as an independent count from unicodedata says."""

from __future__ import annotations

import unicodedata

import pyarrow as pa
import pytest

from portannot.cli.packets import CUT, RIGHT, table_widths
from portannot.output.aligned import aligned_lines

#: service names a --services file may hold: wide (CJK, fullwidth), combining marks
NAMES = ["日本語", "cafe\u0301", "ｗｉｄｅ", "a\u0300\u0301b", "plain", "漢字漢字漢字漢字漢字"]


def cells(text: str) -> int:
    """Terminal cells of `text`: 0 for a combining mark, 2 for an East Asian wide or
    fullwidth character, 1 otherwise (wcwidth's rule, from unicodedata alone)."""
    return sum(0 if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me")
               else 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _starts(line: str, values: list[str]) -> list[int]:
    """The cell at which each of `values`, in order, starts in `line`."""
    out, at = [], 0
    for value in values:
        at = line.index(value, at)
        out.append(cells(line[:at]))
        at += len(value)
    return out


def _batch(services: list[str]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({
        "number": [str(i + 1) for i in range(len(services))],
        "src_service": services,
        "status": ["ports"] * len(services),
    })


def test_a_wide_or_combining_name_keeps_the_next_column_in_place() -> None:
    """utf8_rpad padded to code points: 日本語 (3 code points, 6 cells) pushed its row's
    next column 3 cells right, café written with a combining accent pulled it 1 left."""
    batch = _batch(NAMES[:5])
    widths = table_widths(batch)
    lines = aligned_lines(batch, widths, RIGHT, CUT).tobytes().decode().splitlines()
    assert widths["src_service"] == 15
    starts = {tuple(_starts(line, [name, "ports"])) for line, name in zip(lines, NAMES)}
    assert starts == {(8, 8 + 15 + 1)}


def test_a_column_is_as_wide_as_its_widest_value_in_cells() -> None:
    """table_widths counted code points: a column of ｗｉｄｅｗｉ (6 code points,
    12 cells) was 6 wide."""
    batch = pa.RecordBatch.from_pydict({"transport": ["ｗｉｄｅｗｉ", "tcp"],
                                        "status": ["a", "b"]})
    widths = table_widths(batch)
    assert widths["transport"] == 12
    lines = aligned_lines(batch, widths, set()).tobytes().decode().splitlines()
    assert {_starts(line, [s])[0] for line, s in zip(lines, "ab")} == {13}


def test_a_name_wider_than_its_column_is_cut_to_its_cells() -> None:
    """漢字 x 5 (10 code points, 20 cells) was kept whole as 10 'characters' fit in 15,
    and so pushed the row 5 cells right; cut, it is 7 ideographs and "…" (15 cells)."""
    batch = _batch([NAMES[5], "x"])
    widths = table_widths(batch)
    lines = aligned_lines(batch, widths, RIGHT, CUT).tobytes().decode().splitlines()
    assert "漢字漢字漢字漢\u2026" in lines[0]
    assert [_starts(line, ["ports"])[0] for line in lines] == [8 + 15 + 1] * 2


@pytest.mark.parametrize("name", NAMES[:4])
def test_the_packets_command_aligns_a_services_name(tmp_path, name: str) -> None:
    """`portannot packets --services` with a wide or combining name: every row's status
    starts at the header's cell."""
    import subprocess
    import sys

    from paths import local_capture

    services = tmp_path / "s.services"
    services.write_text(f"{name} 80/tcp\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "portannot", "packets",
                           str(local_capture("demo.pcap")), "--services", str(services)],
                          capture_output=True, check=True)
    lines = proc.stdout.decode().splitlines()
    column = cells(lines[0][:lines[0].index("status")])
    named = [line for line in lines if name in line]
    assert named and {cells(line[:line.rindex(" ") + 1]) for line in named} == {column}
