"""Flow timeouts as the API, the command line and the flow table take them, checked
in one place. Kept apart from the flow table so that checking an option
(`registry update --timeout` too) loads no numpy and no kernels."""

from __future__ import annotations

import math
import numbers
from datetime import timedelta
from typing import TYPE_CHECKING

#: the shortest timeout, in seconds: one nanosecond, the flow table's unit (less would
#: round to 0 ns, which the kernel reads as no timeout at all)
MIN_TIMEOUT = 1e-9
#: the longest timeout, in seconds (31 years): times are int64 nanoseconds
MAX_TIMEOUT = 1e9

#: what a timeout may be given as: seconds (numpy's numbers too), a timedelta (pandas'
#: Timedelta is one; numpy's timedelta64 too), None. Type checkers see numpy's types;
#: at run time the alias leaves them out, so that checking an option loads no numpy.
if TYPE_CHECKING:
    import numpy as np

    Timeout = float | np.integer | np.floating | timedelta | np.timedelta64 | None
else:
    Timeout = float | timedelta | None


def check_timeout(value: Timeout, name: str = "timeout", *, minimum: float = MIN_TIMEOUT,
                  maximum: float = MAX_TIMEOUT) -> float | None:
    """A timeout in seconds, checked: a real number (or a timedelta, by its
    total_seconds()) from `minimum` to `maximum`; None is no timeout and stays None.

    The one check for the flow table, the API and the command's options, because the
    kernel reads 0 ns as "no timeout": 0, a negative, NaN or anything under 1 ns would
    silently give whole-capture flows, and infinity failed converting to nanoseconds.
    Raises TypeError for what is not a number, ValueError for a number out of range;
    the message names `name`."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
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
        raise ValueError(f"{name} must be at least {minimum:g} and at most {maximum:g} "
                         f"seconds, not {value!r}")
    return seconds


#: seconds in one of each numpy timedelta64 unit of fixed length (years and months are not)
#: (the finer ones as the power of ten they divide by: a division by an exact integer is
#: correctly rounded, a product with 1e-6 is not: 706,481,438 us came out as
#: 706.4814379999999 s, a nanosecond short)
TIMEDELTA64_UNITS = {"W": 604_800, "D": 86_400, "h": 3_600, "m": 60, "s": 1}
TIMEDELTA64_FINER = {"ms": 10**3, "us": 10**6, "ns": 10**9, "ps": 10**12, "fs": 10**15,
                     "as": 10**18}


def _timedelta64_seconds(value: object, name: str) -> float:
    """A numpy timedelta64's seconds, from its count and unit: a cast to nanoseconds
    first wraps round silently beyond 292 years (584 years came out as 1,526 s). NaT is
    NaN (no timeout at all, refused)."""
    import numpy as np

    if np.isnat(value):
        return math.nan
    unit, step = np.datetime_data(value.dtype)  # type: ignore[attr-defined]
    if unit not in TIMEDELTA64_UNITS and unit not in TIMEDELTA64_FINER:
        raise TypeError(f"{name} must be a timedelta of fixed length, not {value!r}")
    count = int(value.astype("int64"))  # type: ignore[attr-defined]
    if unit in TIMEDELTA64_FINER:
        return count * step / TIMEDELTA64_FINER[unit]
    return count * step * TIMEDELTA64_UNITS[unit]
