"""portannot's side of the benchmarks, run in a child process like every peer.

    python benchmarks/subject.py decode FILE      # Decoder.decode over iter_records
    python benchmarks/subject.py compile FILE     # first-batch cost vs steady state
    python benchmarks/subject.py flows-api FILE...   # portannot.flows(paths)

Each prints one line `RESULT {json}` (see peers.py).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

TINY = str(Path(__file__).resolve().parent.parent / "pcaps" / "demo.pcap")


def decode(path: str) -> dict:
    """Throughput of the streaming decode path. One untimed batch first loads (or
    compiles) the kernel, so the timed loop is the steady state."""
    from portannot.capture import iter_records
    from portannot.decode import Decoder

    Decoder().decode(next(iter(iter_records(path))))
    decoder = Decoder()
    packets = 0
    start = time.perf_counter()
    for batch in iter_records(path):
        packets += len(decoder.decode(batch))
    return {"packets": packets, "seconds": time.perf_counter() - start}


def compile_cost(path: str) -> dict:
    """Import time, the first batch (kernel compiled, or loaded from NUMBA_CACHE_DIR)
    and the mean of the later batches of the same file."""
    start = time.perf_counter()
    from portannot.capture import iter_records
    from portannot.decode import Decoder

    imported = time.perf_counter()
    decoder = Decoder()
    batches = iter(iter_records(path))
    first = next(batches)
    t0 = time.perf_counter()
    decoder.decode(first)
    first_batch = time.perf_counter() - t0
    later = []
    for batch in batches:
        t0 = time.perf_counter()
        decoder.decode(batch)
        later.append((time.perf_counter() - t0) / max(len(batch), 1) * len(first))
    steady = sum(later) / len(later) if later else 0.0
    return {
        "import_seconds": imported - start,
        "first_batch_seconds": first_batch,
        "first_batch_packets": len(first),
        "steady_batch_seconds": steady,  # a later batch, scaled to the first's size
        "seconds": first_batch,
    }


def flows_api(*paths: str) -> dict:
    """portannot.flows(paths), timed from the call to the table. One untimed call on a
    tiny capture first loads the kernels and the registry, so this is the steady
    state (the CLI rows carry the fixed costs)."""
    import portannot

    if not hasattr(portannot, "flows"):
        raise SystemExit("portannot not available (portannot.flows is missing)")
    start = time.perf_counter()
    portannot.flows(TINY)
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    result = portannot.flows(list(paths))
    seconds = time.perf_counter() - start
    out = {"seconds": seconds, "warmup_seconds": warmup}
    if hasattr(result, "__len__"):
        out["flows"] = len(result)
        out["by_transport"] = by_transport(result)
    return out


def by_transport(table) -> dict[str, list[int]]:
    """Flows and packets per transport of a flows table (pyarrow): what bench_flows holds
    each peer's table against. Counted with numpy over the columns' own buffers: pyarrow's
    group_by, or even Array.to_numpy, loads libraries that added 45 to 80 MB to the peak
    RSS of the `portannot.flows` process this runs in."""
    import numpy as np
    import pyarrow as pa

    out: dict[str, list[int]] = {}
    for batch in table.select(["transport", "packets"]).to_batches():
        transport, packets = batch.column(0), batch.column(1)
        if not pa.types.is_dictionary(transport.type):
            transport = transport.dictionary_encode()
        names = transport.dictionary.to_pylist()
        codes = _values(transport.indices)
        flows = np.bincount(codes, minlength=len(names))
        sums = np.bincount(codes, weights=_values(packets), minlength=len(names))
        for name, f, p in zip(names, flows.tolist(), sums.tolist()):
            if f:
                entry = out.setdefault(name, [0, 0])
                entry[0] += f
                entry[1] += round(p)
    return out


def _values(array):
    """A null-free integer pyarrow array's values as a numpy view of its buffer."""
    import numpy as np

    if array.null_count:
        raise ValueError("a flow table column with nulls where none are declared")
    dtype = np.dtype(array.type.to_pandas_dtype())
    return np.frombuffer(array.buffers()[1], dtype)[array.offset : array.offset + len(array)]


COMMANDS = {"decode": decode, "compile": compile_cost, "flows-api": flows_api}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Run one portannot measurement, print RESULT {json}.")
    ap.add_argument("what", choices=sorted(COMMANDS))
    ap.add_argument("paths", nargs="+", metavar="path")
    args = ap.parse_args(argv)
    if args.what != "flows-api" and len(args.paths) > 1:
        ap.error(f"{args.what} takes one capture")
    print("RESULT " + json.dumps(COMMANDS[args.what](*args.paths)), flush=True)


if __name__ == "__main__":
    main()
