"""portannot.timeouts.check_timeout: what a timeout may be given as, and what it refuses
(the kernel reads 0 ns as no timeout, so nothing may round down to it)."""

from __future__ import annotations

import warnings
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
    (np.timedelta64("NaT", "ns"), ValueError), (np.timedelta64(0, "s"), ValueError),
    (timedelta(0), ValueError), ("5", TypeError), (True, TypeError),
    # beyond int64 nanoseconds: a cast to ns wrapped these round to 1,526 s and 0.29 s
    (np.timedelta64(213504, "D"), ValueError), (np.timedelta64(18446744074, "s"), ValueError),
    (np.timedelta64(1 << 62, "W"), ValueError),
    (10**400, ValueError), (-(10**400), ValueError),  # float() overflows: not OverflowError
    (np.timedelta64(1, "Y"), TypeError),  # no fixed length
])
def test_refused(value, error):
    with pytest.raises(error, match="timeout"):
        check_timeout(value)


@pytest.mark.parametrize("args,error", [(("NaT",), ValueError), ((3,), TypeError)])
def test_a_timedelta64_of_the_generic_unit_is_refused(args, error):
    """numpy's generic unit: NaT is no timeout (ValueError), 3 of it has no length
    (TypeError). numpy 2.5 (Python 3.12 and 3.13 here) deprecates making one, a
    DeprecationWarning, and says it will raise; where numpy makes none, no caller can
    pass one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            value = np.timedelta64(*args)
        except (TypeError, ValueError):
            pytest.skip("this numpy makes no timedelta64 of the generic unit")
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
    from portannot.timeouts import timeout_ns

    assert timeout_ns(np.timedelta64(count, unit)) == ns


def _usage_error(capsys, *args: str) -> str:
    """The one-line error `portannot flows demo.pcap ARGS` gives (exit 2)."""
    from portannot.cli import main
    from portannot.errors import ExitCode

    with pytest.raises(SystemExit) as exc:
        main(["flows", str(local_capture("demo.pcap")), "-f", "csv", *args])
    assert exc.value.code == ExitCode.USAGE
    return capsys.readouterr().err


@pytest.mark.parametrize("typed", ["0", "0.0e5", "-1", "-0", "1e10", "000", "1e-10",
                                   "0.000000000999"])
def test_an_out_of_range_timeout_is_echoed_as_typed(typed: str, capsys) -> None:
    """The error said "not 0.0" for `--idle-timeout 0`, "not -0.0" for -0: the parsed
    float, not what was typed."""
    err = _usage_error(capsys, "--idle-timeout", typed)
    assert f"at most 1e+09 seconds, not {typed!r}" in err


@pytest.mark.parametrize("typed", ["1_000", " 5 ", "5 ", "\u0665", "\uff15", "0x10", "5s", "",
                                   "nan", "inf", "-inf", "infinity", "1e", ".", "e5"])
def test_only_plain_decimal_text_is_a_timeout(typed: str, capsys) -> None:
    """float() took `1_000` (Python's digit separator), ' 5 ', and digits of any script
    ('\u0665', Arabic-Indic five, was 5 s); README's SECONDS is a plain decimal number."""
    err = _usage_error(capsys, "--active-timeout", typed)
    assert f"{typed!r} is not a number of seconds" in err


@pytest.mark.parametrize(("typed", "ns"), [
    ("60", 60 * 10**9), ("+60", 60 * 10**9), ("0.5", 5 * 10**8), (".5", 5 * 10**8),
    ("5.", 5 * 10**9), ("1e3", 10**12), ("1E-9", 1), ("1.5e+2", 150 * 10**9),
    ("123456789.123456789", 123_456_789_123_456_789),
    ("100000000.000000001", 100_000_000_000_000_001),
    ("999999999.999999999", 999_999_999_999_999_999),
    ("1.0000000019", 1_000_000_001),  # finer than a ns: dropped
    ("0.0000000019999999999999999999999999999", 1),  # no rounding up on the way
])
def test_a_typed_timeout_is_its_exact_nanoseconds(typed: str, ns: int) -> None:
    """A float holds 15-17 digits: 123456789.123456789 s was 123,456,789,123,456,790 ns
    (a ns more than typed) and 100000000.000000001 s lost its last ns."""
    from portannot.aggregate.table import FlowTable
    from portannot.cli.flows import TIMEOUT

    assert FlowTable(idle_timeout=TIMEOUT.convert(typed, None, None)).idle_ns == ns


def _two_packets_apart(tmp_path, gap_ns: int):
    """A pcap of two packets of one UDP flow, `gap_ns` apart."""
    from capgen import write_pcap
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    frame = Ether() / IP(src="192.0.2.1", dst="198.51.100.2") / UDP(sport=4000, dport=53)
    return write_pcap(tmp_path / "gap.pcap", [(0, frame), (gap_ns, frame)], nsec=True)


def test_a_nanosecond_timeout_past_1e8_s_splits_as_typed(tmp_path) -> None:
    """Two packets 123,456,789.123456790 s apart are two flows under an idle timeout of
    123456789.123456789 s (the gap is 1 ns more); read as a float the timeout was the
    gap itself, and the flow one."""
    from portannot.cli import main

    pcap = _two_packets_apart(tmp_path, 123_456_789_123_456_790)
    out = tmp_path / "flows.csv"
    with pytest.raises(SystemExit) as exc:
        main(["flows", str(pcap), "--idle-timeout", "123456789.123456789", "-o", str(out),
              "-q"])
    assert exc.value.code == 0
    assert len(out.read_text().splitlines()) == 1 + 2


def test_a_timedelta64_past_2_to_53_ns_is_its_exact_nanoseconds() -> None:
    """np.timedelta64(123456789123456789, 'ns') went through float seconds: 790 ns."""
    from portannot.aggregate.table import FlowTable

    ns = 123_456_789_123_456_789
    assert FlowTable(active_timeout=np.timedelta64(ns, "ns")).active_ns == ns


@pytest.mark.parametrize("timeout", [np.timedelta64(123_456_789_123_456_789, "ns"),
                                     __import__("decimal").Decimal("123456789.123456789")])
def test_the_api_keeps_an_exact_timeout_exact(tmp_path, timeout) -> None:
    """portannot.flows checked the timeout into a float before the flow table saw it, so
    a timedelta64 or Decimal exact to the ns came out 1 ns longer: one flow, not two."""
    pcap = _two_packets_apart(tmp_path, 123_456_789_123_456_790)
    assert portannot.flows(pcap, idle_timeout=timeout).num_rows == 2
