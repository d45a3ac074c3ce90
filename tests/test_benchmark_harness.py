"""The benchmarks' harness (benchmarks/harness.py): a run in which a tool failed, or
handled fewer packets than its rate is computed on, ends with exit status 1 and says so.
Before, bench_flows, bench_decode and bench_split exited 0 whatever failed: a missing
NFStream was an error cell in the table and a verdict left out of the summary line."""

from __future__ import annotations

import os
import sys

import pytest
from paths import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import bench_decode  # noqa: E402
from harness import SKIPPED, Row, finish, measure, problems  # noqa: E402


def test_problems_are_failures_and_short_counts():
    ok = Row("dpkt", "c", packets=10, seconds=1.0, extra={"packets": 10})
    short = Row("nfstream", "c", packets=10, seconds=1.0, extra={"packets": 7})
    broken = Row("tshark", "c", error="exit code 2")
    skipped = Row("portannot", "c", error=SKIPPED)
    assert problems([ok, short, broken, skipped, None]) == [
        "nfstream on c handled 7 packets, its rate is of 10",
        "tshark on c failed: exit code 2",
    ]


def test_a_failing_command_is_a_problem():
    row = measure("false", "c", ["false"], packets=1, file_bytes=1)
    assert problems([row]) == ["false on c failed: exit code 1"]


def test_finish_exits_1_with_the_problems(capsys):
    finish([])  # nothing found: returns
    with pytest.raises(SystemExit) as stop:
        finish(["tshark on c failed: exit code 2"])
    assert stop.value.code == 1
    assert "FAILED: tshark on c failed: exit code 2" in capsys.readouterr().err


def test_the_decode_summary_says_a_failed_peer():
    ours = Row("portannot decode", "c", packets=100, seconds=1.0, file_bytes=100)
    dpkt = Row("dpkt decode loop", "c", error="ModuleNotFoundError: No module named 'dpkt'")
    assert bench_decode._summary(ours, {"dpkt": dpkt}) == {
        "vs dpkt": "not measured (ModuleNotFoundError: No module named 'dpkt')"}


@pytest.mark.parametrize("value", ["0", "-1", "x"])
def test_repeat_must_be_a_positive_count(value, capsys):
    """--repeat 0 ran no measurement and reported 0.000 s rows with no error; bench_registry
    stopped on min() of nothing."""
    from harness import arguments

    with pytest.raises(SystemExit) as stop:
        arguments("doc", ("dpkt",), "q", "r", ["--repeat", value])
    assert stop.value.code == 2
    import bench_registry

    with pytest.raises(SystemExit) as stop:
        bench_registry.main(["--repeat", value])
    assert stop.value.code == 2


@pytest.mark.parametrize("argv", [["--capture", "nosuch"], ["--size", "0"], ["--repeat", "0"]])
def test_bench_split_refuses_what_it_cannot_run(argv):
    """An unknown capture was a KeyError traceback; --size 0 cut no files and ran the tools on
    none; --repeat 0 measured nothing. Refused before any capture is made."""
    import bench_split

    with pytest.raises(SystemExit) as stop:
        bench_split.main(argv)
    assert stop.value.code == 2


def test_every_run_time_and_the_median_are_kept(tmp_path):
    """Best of N favours a tool run N times over a peer run once; the row keeps every
    run's time and their median so both readings can be made from the JSON."""
    cmd = [sys.executable, "-c",
           "import json, os, sys; p = sys.argv[1]; n = len(open(p).read()) if os.path.exists(p)"
           " else 0; open(p, 'a').write('x'); print('RESULT ' + json.dumps({'seconds': [3, 1, 2][n]}))"]
    row = measure("t", "c", [*cmd, str(tmp_path / "n")], packets=1, file_bytes=1, repeat=3)
    assert row.seconds == 1
    assert row.extra["run_seconds"] == [3, 1, 2]
    assert row.extra["median_seconds"] == 2


def test_bench_registry_reads_the_shared_registry_where_the_tests_do(tmp_path):
    """Its default CSV ignored $PORTANNOT_SHARED: from a clone elsewhere it quietly timed
    the bundled snapshot instead of the full registry the tests read."""
    import subprocess
    code = "import bench_registry; print(bench_registry.DEFAULT_CSV)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO / "benchmarks", text=True,
                         capture_output=True, check=True,
                         env={**os.environ, "PORTANNOT_SHARED": str(tmp_path)}).stdout
    assert out.strip() == str(tmp_path / "registry" / "service-names-port-numbers.csv")
