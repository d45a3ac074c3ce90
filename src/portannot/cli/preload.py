"""pyarrow's compiled libraries loaded by a second thread while the command starts.

Loading a shared library (mapping it, relocating its symbols, running its
initialisers) is work an import does with the GIL held: importing pyarrow's `lib`
took 18-20 ms of the main thread (`python -X importtime`), 5 ms once its library was
loaded. The system's dlopen, called through ctypes, runs without the GIL, so a helper
thread loads the libraries while the main thread imports click, numpy and the
command's modules; the import then finds them loaded and only initialises the
modules. `portannot flows` on demo.pcap 5-7 ms sooner (0.148 -> 0.141 s and 0.138
-> 0.133 s, medians of two sets of 40 interleaved runs); on a capture of a million
packets no change, pyarrow's import there running beside the read.

pyarrow's only: numpy's library loads in ~3 ms, and the dynamic loader takes one
library at a time, so a load by the helper while numpy's import loads its own
modules would keep the main thread waiting. Nothing waits for the helper: an import
that comes first loads the library itself, as before. One core, a library not
found, or anything going wrong in the helper: nothing is done, and nothing said.
"""

from __future__ import annotations

import os
import sys
import threading
from importlib.machinery import EXTENSION_SUFFIXES
from importlib.util import find_spec

from portannot.cores import usable_cores

#: (package, its extension modules the packet commands import), in the order needed
LIBRARIES = (("pyarrow", ("lib", "_parquet")),)


def _paths() -> list[bytes]:
    """The extension modules' files, those that exist."""
    found = []
    for package, modules in LIBRARIES:
        spec = find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        folder = spec.submodule_search_locations[0]
        for module in modules:
            for suffix in EXTENSION_SUFFIXES:
                path = os.path.join(folder, module + suffix)
                if os.path.exists(path):
                    found.append(os.fsencode(path))
                    break
    return found


def _load() -> None:
    try:
        import ctypes

        dlopen = ctypes.CDLL(None).dlopen
        dlopen.argtypes = (ctypes.c_char_p, ctypes.c_int)
        dlopen.restype = ctypes.c_void_p
        for path in _paths():
            # as CPython's import opens an extension module (sys.getdlopenflags())
            dlopen(path, sys.getdlopenflags())
    except Exception:  # noqa: BLE001 - a head start only: the import does it anyway
        return


def preload() -> threading.Thread | None:
    """Start loading the libraries in a daemon thread (Linux, two cores or more), and
    return it; None where nothing is started."""
    if not sys.platform.startswith("linux") or usable_cores() < 2:
        return None
    thread = threading.Thread(target=_load, name="portannot-preload", daemon=True)
    thread.start()
    return thread
