"""portannot.timeouts.check_timeout: what a timeout may be given as, and what it refuses
(the kernel reads 0 ns as no timeout, so nothing may round down to it)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from paths import local_capture

import portannot
from portannot.timeouts import check_timeout


@pytest.mark.parametrize("value,seconds", [
    (5, 5.0), (0.25, 0.25), (timedelta(milliseconds=1500), 1.5),
    (np.timedelta64(5, "s"), 5.0), (np.timedelta64(1500, "ms"), 1.5),
    (np.timedelta64(1, "ns"), 1e-9), (np.float32(2.5), 2.5), (None, None),
    (np.timedelta64(2, "W"), 1_209_600.0), (np.timedelta64(10**9, "s"), 1e9),
])
def test_seconds_of_each_kind(value, seconds):
    assert check_timeout(value) == seconds


@pytest.mark.parametrize("value,error", [
    (0, ValueError), (-1, ValueError), (float("nan"), ValueError), (float("inf"), ValueError),
    (np.timedelta64("NaT"), ValueError), (np.timedelta64(0, "s"), ValueError),
    (timedelta(0), ValueError), ("5", TypeError), (True, TypeError),
    # beyond int64 nanoseconds: a cast to ns wrapped these round to 1,526 s and 0.29 s
    (np.timedelta64(213504, "D"), ValueError), (np.timedelta64(18446744074, "s"), ValueError),
    (np.timedelta64(1 << 62, "W"), ValueError),
    (10**400, ValueError), (-(10**400), ValueError),  # float() overflows: not OverflowError
    (np.timedelta64(1, "Y"), TypeError), (np.timedelta64(3), TypeError),  # no fixed length
])
def test_refused(value, error):
    with pytest.raises(error, match="timeout"):
        check_timeout(value)


def test_a_numpy_timedelta_splits_as_the_same_seconds_do():
    """numpy's timedelta64 (what a pandas column's .to_numpy() holds) failed with
    "float() argument must be ..."."""
    demo = local_capture("demo.pcap")
    by_numpy = portannot.flows(demo, idle_timeout=np.timedelta64(1, "ms"))
    by_float = portannot.flows(demo, idle_timeout=0.001)
    whole = portannot.flows(demo)
    assert by_numpy.equals(by_float) and by_float.num_rows > whole.num_rows


@pytest.mark.slow  # mypy reads numpy's stubs: about 15 s
def test_the_type_hint_takes_what_the_check_takes(tmp_path) -> None:
    """README says a timeout may be a numpy.timedelta64, and check_timeout takes numpy's
    numbers (test_seconds_of_each_kind); the hint, float | timedelta | None, had a type
    checker refuse them in a caller's code (portannot.flows(..., idle_timeout=
    np.timedelta64(5, "s")): incompatible type "timedelta64")."""
    mypy = pytest.importorskip("mypy.api")
    user = tmp_path / "user.py"
    user.write_text(
        "import numpy as np\n"
        "import portannot\n"
        "portannot.flows('a.pcap', idle_timeout=np.timedelta64(5, 's'))\n"
        "portannot.iter_flows('a.pcap', active_timeout=np.int64(60))\n"
        "portannot.flows('a.pcap', idle_timeout=np.float32(0.5))\n"
        "portannot.flows('a.pcap', idle_timeout='60')  # refused: the check still types\n")
    out, _, status = mypy.run([str(user), "--ignore-missing-imports", "--no-incremental",
                               "--cache-dir", str(tmp_path / "cache")])
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert [line.split(":")[1] for line in errors] == ["6"], out


@pytest.mark.parametrize(("count", "unit", "ns"), [
    (706_481_438, "us", 706_481_438_000),
    (795_419_293, "us", 795_419_293_000),
    (123_456_789_012, "ms", 123_456_789_012_000_000),
    (1_500, "ps", 1),
])
def test_a_timedelta64_of_a_finer_unit_is_its_whole_nanoseconds(count: int, unit: str,
                                                                 ns: int) -> None:
    """706,481,438 us was count * 1e-6 = 706.4814379999999 s, 706,481,437,999 ns: a
    nanosecond short, too far off for the rounding to a millionth of a ns to mend."""
    from portannot.aggregate.table import _nanoseconds

    assert _nanoseconds(check_timeout(np.timedelta64(count, unit))) == ns
