"""Flow timeouts as the API, the command line and the flow table take them, checked
in one place. Kept apart from the flow table so that checking an option
(`registry update --timeout` too) loads no numpy and no kernels."""

from __future__ import annotations

import math
import numbers
import re
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeGuard

#: the shortest timeout, in seconds: one nanosecond, the flow table's unit (less would
#: round to 0 ns, which the kernel reads as no timeout at all)
MIN_TIMEOUT = 1e-9
#: the longest timeout, in seconds (31 years): times are int64 nanoseconds
MAX_TIMEOUT = 1e9

#: what a timeout may be given as: seconds (numpy's numbers too), a timedelta (pandas'
#: Timedelta is one; numpy's timedelta64 too), None. Type checkers see numpy's types;
#: at run time the alias leaves them out, so that checking an option loads no numpy.
if TYPE_CHECKING:
    from decimal import Decimal
    from fractions import Fraction

    import numpy as np

    Timeout = float | Decimal | np.integer | np.floating | timedelta | np.timedelta64 | None
else:
    Timeout = float | timedelta | None

#: what the command line takes as SECONDS: ASCII decimal digits, an optional sign, fraction
#: and exponent (float() also took `1_000`, ' 5 ', any script's digits, nan and inf)
SECONDS_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_seconds(text: str) -> Decimal:
    """A command line's SECONDS, exactly (a float keeps 15-17 digits: 100000000.000000001
    s lost its last ns); ValueError for any other form than :data:`SECONDS_TEXT`."""
    if not SECONDS_TEXT.fullmatch(text):
        raise ValueError(f"{text!r} is not a number of seconds")
    from decimal import Decimal  # here: its import costs every command some 8 ms

    return Decimal(text)


def _is_decimal(value: object) -> TypeGuard[Decimal]:
    """True for a decimal.Decimal, without importing decimal: none exists before it is."""
    decimal = sys.modules.get("decimal")
    return decimal is not None and isinstance(value, decimal.Decimal)


def check_timeout(value: Timeout, name: str = "timeout", *, minimum: float = MIN_TIMEOUT,
                  maximum: float = MAX_TIMEOUT, shown: str | None = None) -> float | None:
    """A timeout in seconds, checked: a real number or a Decimal (or a timedelta, by its
    total_seconds(); a pandas Timedelta by the ns it holds) from `minimum` to `maximum`;
    None is no timeout and stays None.
    An error shows the value as `shown` (the text typed), else as its repr.

    The one check for the flow table, the API and the command's options, because the
    kernel reads 0 ns as "no timeout": 0, a negative, NaN or anything under 1 ns would
    silently give whole-capture flows, and infinity failed converting to nanoseconds.
    Raises TypeError for what is not a number, ValueError for a number out of range;
    the message names `name`."""
    if value is None:
        return None
    if _is_decimal(value):
        from decimal import Decimal  # imported already: `value` is one

        if not (value.is_finite() and Decimal(repr(minimum)) <= value <= Decimal(repr(maximum))):
            raise ValueError(out_of_range(name, minimum, maximum, shown or repr(value)))
        return float(value)
    if isinstance(value, timedelta):
        ns = _pandas_timedelta64(value)
        seconds = value.total_seconds() if ns is None else _timedelta64_seconds(ns, name)
    elif getattr(getattr(value, "dtype", None), "kind", None) == "m":  # numpy.timedelta64
        seconds = _timedelta64_seconds(value, name)
    elif isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number of seconds, a timedelta or None, "
                        f"not {type(value).__name__}")
    else:
        try:
            seconds = float(value)
        except OverflowError:  # an int or Fraction beyond any float: out of range
            seconds = math.inf
    if not (math.isfinite(seconds) and minimum <= seconds <= maximum):
        raise ValueError(out_of_range(name, minimum, maximum, shown or repr(value)))
    return seconds


def out_of_range(name: str, minimum: float, maximum: float, shown: str) -> str:
    """The message for a timeout out of range, `shown` as the caller gave it."""
    return f"{name} must be at least {minimum:g} and at most {maximum:g} seconds, not {shown}"


def timeout_ns(value: Timeout, name: str = "timeout") -> int:
    """A timeout as the flow table's kernel takes it, checked: whole ns, 0 for none.
    Exact for what holds it exactly (a Decimal, as the command line passes its text, an
    integer, a timedelta64), and floored: times are whole ns, so a gap is more than T
    exactly when it is more than T's whole ns (2 ns is more than 1.5e-9 s)."""
    seconds = check_timeout(value, name)
    if seconds is None:
        return 0
    exact = _exact_seconds(value)
    if exact is None:
        return float_nanoseconds(seconds)
    return math.floor(exact * 1_000_000_000)


def _exact_seconds(value: object) -> Fraction | None:
    """`value`'s seconds as an exact fraction, or None for a float (its digits are
    rounded, which :func:`float_nanoseconds` allows for) or a timedelta (microseconds
    that a float holds exactly to 285 years; a pandas Timedelta's ns are exact)."""
    from fractions import Fraction

    if _is_decimal(value):
        return Fraction(value)
    if isinstance(value, timedelta):
        ns = _pandas_timedelta64(value)
        return None if ns is None else _timedelta64_fraction(ns)
    if getattr(getattr(value, "dtype", None), "kind", None) == "m":  # before Integral: a
        return _timedelta64_fraction(value)  # timedelta64 is a numpy signedinteger too
    if isinstance(value, numbers.Integral):
        return Fraction(int(value))
    return None


def float_nanoseconds(seconds: float) -> int:
    """A float timeout's whole ns, rounded down, from the number's shortest decimal
    digits: 0.3 s is 300,000,000 ns (299999999.99999994 as a float product). Digits
    that fill a float's whole precision (16 or 17: 4.9999999999999996e-06, numpy's 5 us;
    0.1 + 0.2) are a float's last bit, not a typed value, and are first rounded to a
    millionth of a ns, so that the error is not taken off (5,000 ns); fewer are what was
    typed, floored as they are (2.9999999999e-9 s is 2 ns, which rounding them too made
    3)."""
    from decimal import Decimal

    typed = Decimal(repr(seconds))
    ns = typed * 1_000_000_000
    if len(typed.as_tuple().digits) > FLOAT_TYPED_DIGITS:
        ns = round(ns, 6)
    return math.floor(ns)


#: the most significant digits a typed decimal keeps through a float (its shortest repr
#: gives them back); more are a float's own last bit
FLOAT_TYPED_DIGITS = 15


#: seconds in one of each numpy timedelta64 unit of fixed length (years and months are not)
#: (the finer ones as the power of ten they divide by: a division by an exact integer is
#: correctly rounded, a product with 1e-6 is not: 706,481,438 us came out as
#: 706.4814379999999 s, a nanosecond short)
TIMEDELTA64_UNITS = {"W": 604_800, "D": 86_400, "h": 3_600, "m": 60, "s": 1}
TIMEDELTA64_FINER = {"ms": 10**3, "us": 10**6, "ns": 10**9, "ps": 10**12, "fs": 10**15,
                     "as": 10**18}


def _pandas_timedelta64(value: timedelta) -> Any:
    """A pandas Timedelta (a timedelta subclass holding whole ns) as the numpy timedelta64
    it holds, or None for a plain timedelta. Its total_seconds() is not its value: pandas 2
    (the last for Python 3.10) rounds it to whole microseconds as datetime's does (1 ns
    came out 0 s, refused; 1,500 ns was 1,000), pandas 3 gives a float (ns lost past 104
    days)."""
    to_timedelta64 = getattr(value, "to_timedelta64", None)
    return None if to_timedelta64 is None else to_timedelta64()


def _timedelta64_seconds(value: Any, name: str) -> float:
    """A numpy timedelta64's seconds (an int for whole units of a second or more). NaT
    is NaN (no timeout at all, refused)."""
    import numpy as np

    if np.isnat(value):
        return math.nan
    top, bottom = _timedelta64_ratio(value, name)
    return top if bottom == 1 else top / bottom


def _timedelta64_fraction(value: object) -> Fraction:
    """A checked (fixed-length, not NaT) numpy timedelta64's seconds, exactly: a float
    holds ns only to 2**53 (104 days)."""
    from fractions import Fraction

    return Fraction(*_timedelta64_ratio(value, "timeout"))


def _timedelta64_ratio(value: Any, name: str) -> tuple[int, int]:
    """A numpy timedelta64's seconds as (numerator, denominator), from its count and
    unit: a cast to nanoseconds first wraps round silently beyond 292 years (584 years
    came out as 1,526 s), and a division by the exact power of ten of a finer unit is
    correctly rounded where a product with its float is not. A unit of no fixed length
    (years, months) is a TypeError naming `name`."""
    import numpy as np

    unit, step = np.datetime_data(value.dtype)
    if unit not in TIMEDELTA64_UNITS and unit not in TIMEDELTA64_FINER:
        raise TypeError(f"{name} must be a timedelta of fixed length, not {value!r}")
    count = int(value.astype("int64"))
    if unit in TIMEDELTA64_FINER:
        return count * step, TIMEDELTA64_FINER[unit]
    return count * step * TIMEDELTA64_UNITS[unit], 1
