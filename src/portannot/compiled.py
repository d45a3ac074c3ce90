"""Where the compiled kernels come from: built ahead of time by the install, or numba's JIT.

The kernels are written once, as numba functions. The install compiles every entry
point into the extension module `portannot._kernels` (numba.pycc, for the machine it
is installed on), so a command does not import numba at all: numba's import and its
first dispatch cost about 0.2 s at every start, more than the work itself on a
capture of a million packets. Without that module (an install that could not build
it, sources edited since it was built, or PORTANNOT_JIT=1), the same functions run
through numba's JIT with its on-disk cache, as before.

- `kernel(signature)` marks an entry point called from Python, with the one numba
  signature the ahead-of-time build compiles. Ahead of time there is no dispatch on
  types, so each call checks its array arguments' dtype, rank and layout against the
  signature and raises TypeError rather than let a compiled loop misread memory.
- `njit(...)` marks a helper the entry points call; it is compiled into them.
- `borrow` and `prefetch` are the intrinsics the kernels use.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from portannot.checksum import checksums

if TYPE_CHECKING:
    import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

PACKAGE = Path(__file__).resolve().parent
#: the modules holding entry points; the ahead-of-time build compiles them all
KERNEL_MODULES = (
    "portannot.capture.walk",
    "portannot.decode.kernel",
    "portannot.aggregate.kernel",
    "portannot.output.text",
    "portannot.output.talkers",
    "portannot.accounting",
)
#: every entry point marked so far: export symbol -> (function, signature)
ENTRIES: dict[str, tuple[Callable[..., Any], str]] = {}


def sources() -> list[tuple[str, os.DirEntry[str]]]:
    """The package's Python sources (not what __pycache__ holds), by path inside it."""
    found = []
    folders = [(str(PACKAGE), "")]
    while folders:
        folder, prefix = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        folders.append((entry.path, f"{prefix}{entry.name}/"))
                elif entry.name.endswith(".py"):
                    found.append((prefix + entry.name, entry))
    return sorted(found, key=lambda source: source[0])


def source_stamp() -> int:
    """A 63-bit digest of the package's Python sources. The built module carries the
    stamp of the sources it was compiled from; a different stamp means they changed
    since (a developer's checkout), and the JIT compiles the current ones instead."""
    crc, adler = checksums(
        part for name, entry in sources() for part in (name.encode(), _read(entry.path))
    )
    return (crc << 31) ^ adler


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def source_listing() -> str:
    """The sources by name, size and modification time: a change source_stamp would see
    shows here too, from a stat of each file (0.6 ms) instead of reading them all (4.4 ms
    of every command's start on a 2-core VM)."""
    found = [(name, entry.stat().st_size, entry.stat().st_mtime_ns) for name, entry in sources()]
    crc, adler = checksums([repr(found).encode()])
    return f"{crc:08x}{adler:08x}"


#: where a process that found the built kernels current notes the sources' listing,
#: so that later ones read the sources again only when a file's size or time changed
AOT_STAMP = PACKAGE / "__pycache__" / "aot-sources.stamp"


def _ahead_of_time() -> ModuleType | None:
    if os.environ.get("PORTANNOT_JIT"):
        return None
    try:
        from portannot import _kernels  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _kernels if sources_current(_kernels.source_stamp()) else None


def sources_current(built: int) -> bool:
    """Whether the sources are those the kernels were built from (stamp `built`)."""
    note = f"{built} {source_listing()}"
    try:
        if AOT_STAMP.read_text() == note:
            return True
    except OSError:
        pass
    if source_stamp() != built:
        return False
    try:
        AOT_STAMP.parent.mkdir(exist_ok=True)
        AOT_STAMP.write_text(note)  # a torn read of it only means reading the sources
    except OSError:  # a read-only install: its sources are read at every start
        pass
    return True


#: numba cache files of this package (beside each kernel module, in __pycache__)
JIT_CACHE_SUFFIXES = (".nbi", ".nbc")
#: where the JIT path notes which sources its cache files were compiled from
JIT_STAMP = PACKAGE / "__pycache__" / "jit-sources.stamp"


def drop_stale_jit_cache() -> None:
    """numba checks a cached kernel against its own file only, so an edited helper in
    another file (decode/ports.py, compiled into decode/kernel.py) would keep running
    the old machine code. When the package's sources changed since the cache was
    written, its cache files go, and the JIT compiles the current sources."""
    stamp = str(source_stamp())
    try:
        if JIT_STAMP.read_text() == stamp:
            return
    except OSError:
        pass
    for cache in PACKAGE.rglob("__pycache__/*"):
        if cache.suffix in JIT_CACHE_SUFFIXES:
            try:
                cache.unlink()
            except OSError:  # another process's, or read-only: numba then recompiles
                pass
    try:
        JIT_STAMP.parent.mkdir(exist_ok=True)
        JIT_STAMP.write_text(stamp)
    except OSError:  # a read-only install is never edited in place
        pass


AOT = _ahead_of_time()
#: "ahead-of-time" or "jit": which path this process uses (README, benchmarks)
MODE = "ahead-of-time" if AOT is not None else "jit"
if AOT is None:
    drop_stale_jit_cache()


def symbol(func: Callable[..., Any]) -> str:
    """The export name of an entry point: module path and function name."""
    return f"{func.__module__.removeprefix('portannot.').replace('.', '_')}__{func.__name__}"


#: what an entry point is to a type checker: its types are the numba signature's, which
#: annotations on the Python function would only repeat (and they stay unannotated, so
#: that what is compiled is what the signature says); callers see a callable of Any
Kernel = Callable[..., Any]


def kernel(signature: str) -> Callable[[Callable[..., Any]], Kernel]:
    """Mark an entry point; see the module docstring."""

    def mark(func: Callable[..., Any]) -> Kernel:
        name = symbol(func)
        ENTRIES[name] = (func, signature)
        if AOT is not None:
            return _checked(getattr(AOT, name), signature, func)
        return _jit(func, cache=True, nogil=True)

    return mark


def njit(**options: Any) -> Callable[[F], F]:
    """A helper compiled into the entry points that call it (numba.njit's options)."""

    def mark(func: F) -> F:
        if AOT is not None:
            return func
        return _jit(func, **options)

    return mark


def _jit(func: F, **options: Any) -> F:
    """numba.njit(**options)(func); without the on-disk cache where numba finds no
    place to keep it (a package directory and a home this user may not write: it
    raised "cannot cache function ... no locator available" at import), at the cost
    of compiling at every run."""
    from numba import njit as jit

    try:
        return _saving_quietly(jit(**options)(func))
    except RuntimeError as exc:
        if not options.get("cache") or "cannot cache" not in str(exc):
            raise
        return jit(**{**options, "cache": False})(func)


def _saving_quietly(dispatcher: F) -> F:
    """`dispatcher`, whose on-disk cache is written when a kernel first compiles, in the
    middle of a read, with a failure to write it (a full disk, a file-size limit)
    ignored: numba raised it from the kernel's call, and the command took it for the
    capture's read error or its output's ("<stdout>: write failed: File too large").
    The kernel is compiled all the same; the next run compiles it again."""
    cache = getattr(dispatcher, "_cache", None)
    save = getattr(cache, "save_overload", None)
    if save is None:
        return dispatcher

    def save_overload(sig: Any, data: Any) -> None:
        try:
            save(sig, data)
        except OSError:
            pass

    cache.save_overload = save_overload  # type: ignore[union-attr]
    return dispatcher


def __getattr__(name: str) -> Any:
    # The intrinsics import numba; ahead of time nothing calls them.
    if name in ("borrow", "prefetch"):
        if AOT is not None:
            return _not_compiled
        from portannot.borrow import borrow
        from portannot.prefetch import prefetch

        return {"borrow": borrow, "prefetch": prefetch}[name]
    raise AttributeError(name)


def _not_compiled(*_args: Any) -> Any:
    raise RuntimeError("a numba intrinsic called outside compiled code")


_ARRAY = re.compile(r"^(\w+)\[(.*)\]$")


def array_args(signature: str) -> list[tuple[int, np.dtype, int, bool]]:
    """(position, dtype, rank, C-contiguous) of each array argument of a numba signature
    such as "UniTuple(i8, 2)(u1[::1], i8, i4[:, :])"."""
    import numpy as np

    out = []
    for i, arg in enumerate(signature_args(signature)):
        m = _ARRAY.match(arg)
        if m:
            dims = [d.strip() for d in m.group(2).split(",")]
            out.append((i, np.dtype(m.group(1)), len(dims), dims[-1] == "::1"))
    return out


def signature_args(signature: str) -> list[str]:
    """The argument types of a numba signature, as written: the last parenthesised list."""
    depth = 0
    for start in range(len(signature) - 1, -1, -1):
        depth += (signature[start] == ")") - (signature[start] == "(")
        if depth == 0:
            break
    return _split(signature[start + 1 : -1])


def _split(args: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in args:
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        depth += ch in "[("
        depth -= ch in "])"
        cur += ch
    return [*parts, cur.strip()] if cur.strip() else parts


def _checked(compiled: Callable[..., Any], signature: str, func: Callable[..., Any]) -> Callable[..., Any]:
    checks = array_args(signature)

    @functools.wraps(func)
    def call(*args: Any) -> Any:
        for i, dtype, ndim, contiguous in checks:
            a = args[i]
            if a.dtype != dtype or a.ndim != ndim or (contiguous and not a.flags.c_contiguous):
                raise TypeError(
                    f"{func.__name__}: argument {i} is {a.dtype}[{a.ndim}d"
                    f"{'' if a.flags.c_contiguous else ', strided'}], compiled for {signature}"
                )
        return compiled(*args)

    call.signature = signature  # type: ignore[attr-defined]
    return call
