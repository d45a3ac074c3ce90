"""One flow table across several files: a capture split with ``editcap -c N`` gives the
same flows, row for row (flow_id, ends, services, counts, times, flags), as the whole
file, through the Python API (``portannot.flows([parts...])``) and through the CLI
with several FILE arguments.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from paths import local_capture, shared_capture

import portannot

EDITCAP = shutil.which("editcap")

pytestmark = pytest.mark.skipif(EDITCAP is None, reason="editcap (wireshark) not installed")

CAPTURES = [
    pytest.param(("local", "demo.pcap", 50, "pcap"), id="pcaps/demo.pcap-c50-pcap"),
    pytest.param(("local", "demo.pcap", 37, "pcapng"), id="pcaps/demo.pcap-c37-pcapng"),
    pytest.param(("shared", "ndpi/1kxun.pcap", 300, "pcap"), id="shared/ndpi/1kxun.pcap-c300-pcap"),
    pytest.param(("shared", "ndpi/1kxun.pcap", 1, "pcap"), id="shared/ndpi/1kxun.pcap-c1-pcap"),
]


def _source(where: str, name: str) -> Path:
    return local_capture(name) if where == "local" else shared_capture(name)


def split(path: Path, every: int, fmt: str, out_dir: Path) -> list[Path]:
    """editcap -c: files of `every` packets each, in order (editcap numbers them)."""
    out_dir.mkdir()
    subprocess.run([EDITCAP, "-F", fmt, "-c", str(every), str(path), str(out_dir / f"part.{fmt}")],
                   check=True, capture_output=True)
    parts = sorted(out_dir.iterdir())
    assert len(parts) >= 2, parts
    return parts


def _rows(table) -> list[dict]:
    """Rows by flow id: with timeouts flows are emitted as they end, and when the idle
    sweep runs depends on batch boundaries, so only the set of flows must agree."""
    return sorted(table.to_pylist(), key=lambda r: r["flow_id"])


def _diff(a: list[dict], b: list[dict]) -> list[str]:
    out = []
    if len(a) != len(b):
        out.append(f"{len(a)} flows vs {len(b)}")
    for x, y in zip(a, b):
        if x != y:
            keys = [k for k in x if x[k] != y.get(k)]
            out.append(f"flow {x['flow_id']}: " + ", ".join(f"{k} {x[k]!r} != {y.get(k)!r}" for k in keys))
    return out


@pytest.mark.parametrize("spec", CAPTURES)
def test_split_capture_gives_the_same_flows(spec, tmp_path):
    where, name, every, fmt = spec
    whole = _source(where, name)
    parts = split(whole, every, fmt, tmp_path / "parts")
    expected = _rows(portannot.flows(whole))
    got = _rows(portannot.flows(parts))
    assert expected, "the capture has flows"
    problems = _diff(got, expected)
    assert not problems, f"{len(parts)} parts: " + "\n".join(problems[:10])


@pytest.mark.parametrize("spec", CAPTURES[:1] + CAPTURES[2:3])
def test_split_capture_with_idle_timeout(spec, tmp_path):
    """With timeouts flows end mid-stream; the split files must still agree."""
    where, name, every, fmt = spec
    whole = _source(where, name)
    parts = split(whole, every, fmt, tmp_path / "parts")
    for kw in ({"idle_timeout": 0.01}, {"active_timeout": 0.05}):
        expected = _rows(portannot.flows(whole, **kw))
        got = _rows(portannot.flows(parts, **kw))
        problems = _diff(got, expected)
        assert not problems, f"{kw}: " + "\n".join(problems[:10])


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portannot", *args], capture_output=True,
                          timeout=120, check=False)


@pytest.mark.parametrize("spec", [CAPTURES[1], CAPTURES[2]])
def test_cli_several_files_equal_the_whole(spec, tmp_path):
    where, name, every, fmt = spec
    whole = _source(where, name)
    parts = split(whole, every, fmt, tmp_path / "parts")
    one = _cli("flows", str(whole), "-f", "csv", "--quiet")
    many = _cli("flows", *map(str, parts), "-f", "csv", "--quiet")
    assert one.returncode == many.returncode, (one.stderr, many.stderr)
    assert one.returncode in (0, 3), one.stderr.decode()
    assert one.stdout.count(b"\n") > 1
    assert many.stdout == one.stdout
