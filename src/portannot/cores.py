"""The cores this process may use, in a module of its own: the preload helper asks it
before it starts, and importing background (dataclasses, inspect, queue) for it put
~14 ms of imports ahead of the helper's start (cli/preload)."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
