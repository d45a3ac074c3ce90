"""The kernels built ahead of time: their argument checks, and the same results as numba's JIT."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from paths import local_captures, shared_captures

from portannot import compiled
from portannot.compiled import array_args, signature_args


def test_array_arguments_read_from_a_signature():
    sig = "UniTuple(i8, 3)(u8[::1], u8[:, ::1], i4[:, :], i8, b1, u2[::1])"
    assert array_args(sig) == [
        (0, np.dtype(np.uint64), 1, True),
        (1, np.dtype(np.uint64), 2, True),
        (2, np.dtype(np.int32), 2, False),
        (5, np.dtype(np.uint16), 1, True),
    ]
    assert array_args("none(u1[::1], i8)") == [(0, np.dtype(np.uint8), 1, True)]
    assert array_args("i8()") == []
    assert signature_args("UniTuple(i8, 2)(u1[::1], i4[:, :], b1)") == ["u1[::1]", "i4[:, :]", "b1"]


def test_edited_sources_drop_the_jit_cache(tmp_path, monkeypatch):
    """numba checks a cached kernel against its own file only: an edit to a helper in
    another file must drop the package's cache files, and an unchanged tree keep them."""
    pkg = tmp_path / "portannot"
    cache_dir = pkg / "decode" / "__pycache__"
    cache_dir.mkdir(parents=True)
    helper = pkg / "decode" / "ports.py"
    helper.write_text("FLAGS_FROM = 14\n")
    cache = [cache_dir / "kernel.decode_batch-40.py311.nbi",
             cache_dir / "kernel.decode_batch-40.py311.1.nbc"]
    bytecode = cache_dir / "kernel.cpython-311.pyc"
    monkeypatch.setattr(compiled, "PACKAGE", pkg)
    monkeypatch.setattr(compiled, "JIT_STAMP", pkg / "__pycache__" / "jit-sources.stamp")

    def write_cache():
        for f in [*cache, bytecode]:
            f.write_bytes(b"compiled")

    write_cache()
    compiled.drop_stale_jit_cache()  # no stamp yet: nothing says what the cache was built from
    assert [f.exists() for f in cache] == [False, False]
    assert bytecode.exists()
    write_cache()
    compiled.drop_stale_jit_cache()  # the same sources: the cache stays
    assert [f.exists() for f in cache] == [True, True]
    helper.write_text("FLAGS_FROM = 13\n")
    compiled.drop_stale_jit_cache()  # a helper edited: the cache goes
    assert [f.exists() for f in cache] == [False, False]
    assert compiled.JIT_STAMP.read_text() == str(compiled.source_stamp())


def test_sources_are_read_again_only_when_a_file_changed(tmp_path, monkeypatch):
    """Every start checks the built kernels against the sources: by a stat of each file
    when the last check noted the same sizes and times, by their contents otherwise."""
    pkg = tmp_path / "portannot"
    (pkg / "decode" / "__pycache__").mkdir(parents=True)
    helper = pkg / "decode" / "ports.py"
    helper.write_text("FLAGS_FROM = 14\n")
    (pkg / "decode" / "__pycache__" / "stale.py").write_text("not a source")
    monkeypatch.setattr(compiled, "PACKAGE", pkg)
    monkeypatch.setattr(compiled, "AOT_STAMP", pkg / "__pycache__" / "aot-sources.stamp")
    built = compiled.source_stamp()
    reads = []
    read = compiled.source_stamp
    monkeypatch.setattr(compiled, "source_stamp", lambda: reads.append(1) or read())

    assert compiled.sources_current(built) and len(reads) == 1  # no note yet: read
    assert compiled.sources_current(built) and len(reads) == 1  # noted: a stat each
    mtime = helper.stat().st_mtime_ns
    os.utime(helper, ns=(mtime, mtime + 10**9))  # touched, not changed
    assert compiled.sources_current(built) and len(reads) == 2
    assert compiled.sources_current(built) and len(reads) == 2
    helper.write_text("FLAGS_FROM = 13\n")  # edited: the built kernels are not its
    assert not compiled.sources_current(built) and len(reads) == 3
    assert not compiled.sources_current(built) and len(reads) == 4
    assert compiled.sources_current(read()) and len(reads) == 5  # kernels built anew
    (pkg / "decode" / "fields.py").write_text("")  # a source added
    assert not compiled.sources_current(built)
    monkeypatch.setattr(compiled, "AOT_STAMP", tmp_path / "no-such-dir" / "x" / "stamp")
    assert compiled.sources_current(read()) and compiled.sources_current(read())  # unwritable


def _sum_first(a, b):  # stands in for a compiled entry point
    return int(a[0]) + int(b[0, 0])


def test_arguments_the_build_did_not_compile_for_are_refused():
    checked = compiled._checked(_sum_first, "i8(i8[::1], i4[:, :])", _sum_first)
    a, b = np.arange(4, dtype=np.int64), np.ones((2, 3), dtype=np.int32)
    assert checked(a, b) == 1
    assert checked(a, b[:, ::2]) == 1  # "A" layout: strided views are fine
    with pytest.raises(TypeError, match="argument 0 is int32"):
        checked(a.astype(np.int32), b)
    with pytest.raises(TypeError, match="strided"):
        checked(np.arange(8, dtype=np.int64)[::2], b)
    with pytest.raises(TypeError, match="argument 1"):
        checked(a, b.ravel())


def test_a_built_kernel_refuses_arrays_of_another_type():
    if compiled.MODE != "ahead-of-time":
        pytest.skip("under the JIT, numba compiles another version instead")
    from portannot.accounting import _tally

    counts, nbytes = np.zeros(16, np.int64), np.zeros(16, np.int64)
    with pytest.raises(TypeError, match="_tally: argument 1 is uint64"):
        _tally(np.zeros(4, np.uint8), np.ones(4, np.uint64), counts, nbytes)
    assert not counts.any()


def test_every_entry_point_has_a_signature_naming_its_arrays():
    import importlib

    for module in compiled.KERNEL_MODULES:
        importlib.import_module(module)
    assert {name.split("__")[0] for name in compiled.ENTRIES} == {
        m.removeprefix("portannot.").replace(".", "_") for m in compiled.KERNEL_MODULES
    }
    for func, signature in compiled.ENTRIES.values():
        assert array_args(signature), (func.__name__, signature)
        # one type per parameter: a signature that drifted from the code fails here
        assert len(signature_args(signature)) == func.__code__.co_argcount, func.__name__


def _built() -> str | None:
    """Why the ahead-of-time kernels are not in use, or None when they are."""
    if os.environ.get("PORTANNOT_JIT"):
        return "PORTANNOT_JIT is set"
    try:
        from portannot import _kernels  # type: ignore[attr-defined]
    except ImportError:
        pytest.fail("the install did not build portannot._kernels (see setup.py's message)")
    if _kernels.source_stamp() != compiled.source_stamp():
        return "sources edited since portannot._kernels was built (python setup.py build_ext --inplace)"
    return None


def test_the_install_built_the_kernels():
    reason = _built()
    if reason:
        pytest.skip(reason)
    assert compiled.MODE == "ahead-of-time"
    # the point of building them: a run never imports numba (this process's tests do)
    demo = str(local_captures()[0])
    code = f"import sys, portannot; portannot.flows({demo!r}); print('numba' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert proc.stdout.strip() == "False"


DIGEST = """
import hashlib, json, sys
import pyarrow as pa
import portannot
out = {}
for path in sys.argv[1:]:
    h = hashlib.sha256()
    for table in (portannot.packets(path), portannot.flows(path)):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as w:
            w.write_table(table)
        h.update(sink.getvalue().to_pybytes())
    h.update(json.dumps(portannot.summary(path, top=1 << 20)).encode())
    out[path] = h.hexdigest()
from portannot import compiled
print(json.dumps({"mode": compiled.MODE, "digests": out}))
"""


def test_ahead_of_time_and_jit_kernels_agree_on_every_capture():
    reason = _built()
    if reason:
        pytest.skip(reason)
    paths = [str(p) for p in [*local_captures(), *shared_captures()]]
    results = {}
    for mode, extra in (("ahead-of-time", {}), ("jit", {"PORTANNOT_JIT": "1"})):
        env = {k: v for k, v in os.environ.items() if k != "PORTANNOT_JIT"} | extra
        proc = subprocess.run([sys.executable, "-c", DIGEST, *paths], env=env,
                              capture_output=True, text=True, timeout=600, check=True)
        results[mode] = json.loads(proc.stdout)
        assert results[mode]["mode"] == mode
    assert len(results["jit"]["digests"]) == len(paths) > 10
    assert results["ahead-of-time"]["digests"] == results["jit"]["digests"]


def test_kernels_let_go_of_the_gil():
    """The pipeline's threads overlap only if a kernel releases the GIL while it runs
    (numba's nogil; the ahead-of-time build has to ask for it separately). While a
    kernel holding the GIL runs, no other Python code can: this thread's clock
    readings would skip the middle of the call entirely."""
    import threading
    import time

    from portannot.accounting import _tally

    status = np.zeros(30_000_000, np.uint8)
    length = np.ones(status.shape[0], np.uint32)
    counts, nbytes = np.zeros(16, np.int64), np.zeros(16, np.int64)
    _tally(status[:10], length[:10], counts, nbytes)  # load or compile outside the window
    call: list[float] = []
    done = threading.Event()

    def work():
        call.append(time.perf_counter())
        _tally(status, length, counts, nbytes)
        call.append(time.perf_counter())
        done.set()

    # the GIL changes hands within 10 us, so that the moments around the call (its
    # arguments checked, the thread started) stay out of the middle of it
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        readings = [time.perf_counter()]
        worker = threading.Thread(target=work)
        worker.start()
        while not done.is_set():
            readings.append(time.perf_counter())
        worker.join()
    finally:
        sys.setswitchinterval(interval)
    assert counts[0] == status.shape[0] + 10
    start, end = call
    quarter = (end - start) / 4
    middle = [t for t in readings if start + quarter < t < end - quarter]
    # readings per second in the middle half of the call against the whole loop's: none
    # at all while the kernel holds the GIL; about as many (half on one core) if not
    overall = len(readings) / (readings[-1] - readings[0])
    assert len(middle) / (2 * quarter) > overall / 10, (len(middle), len(readings), end - start)


def test_the_jit_compiles_where_numba_cannot_keep_its_cache():
    """A function whose source file numba cannot cache beside (here: none at all, as
    for a package directory and a home the user may not write) raised "cannot cache
    function ... no locator available" at import under the JIT: it is compiled
    without the disk cache instead."""
    pytest.importorskip("numba")
    namespace: dict = {}
    exec("def twice(x):\n    return 2 * x\n", namespace)  # no file: nowhere to cache
    from numba import njit

    with pytest.raises(RuntimeError, match="cannot cache"):
        njit(cache=True)(namespace["twice"])
    assert compiled._jit(namespace["twice"], cache=True, nogil=True)(21) == 42


def test_a_jit_cache_that_cannot_be_written_costs_nothing_but_the_cache(tmp_path):
    """Under a 64 KiB file-size limit, numba's cache files (larger) failed to be written
    as the kernels first compiled, in the middle of the read, and the command said
    "<output>: write failed: File too large" (exit 5) of an output of 29 kB. Now the
    same output as the build's, exit 0."""
    import resource

    pytest.importorskip("numba")
    demo = next(p for p in local_captures() if p.name == "demo.pcap")
    want = subprocess.run([sys.executable, "-m", "portannot", "packets", str(demo), "-f", "csv"],
                          capture_output=True, check=True, timeout=600).stdout
    assert len(want) < 60_000
    limit = 64 << 10

    def small_files() -> None:  # Python ignores SIGXFSZ: a write past it fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = dict(os.environ, PORTANNOT_JIT="1", NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    out = tmp_path / "out.csv"
    proc = subprocess.run([sys.executable, "-m", "portannot", "packets", str(demo), "-f", "csv",
                           "-o", str(out)], capture_output=True, env=env, preexec_fn=small_files,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    assert out.read_bytes() == want
