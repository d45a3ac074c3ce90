#!/usr/bin/env python3
"""Registry benchmark: parse the full CSV, build the table, load the saved table, look-ups/s.

Usage: python benchmarks/bench_registry.py [--csv FILE] [--pairs N]
(default CSV: registry/service-names-port-numbers.csv in $PORTANNOT_SHARED, as the tests
read it, else in ../shared beside the repo; falls back to the shipped snapshot when it
is absent, and says so).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from harness import positive

from portannot.registry import ServiceTable, build_table, parse_file
from portannot.registry.source import snapshot_source

SHARED = Path(os.environ.get("PORTANNOT_SHARED") or Path(__file__).resolve().parents[2] / "shared")
DEFAULT_CSV = SHARED / "registry" / "service-names-port-numbers.csv"


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--csv", type=Path, default=None)
    parser.add_argument("--pairs", type=positive(int), default=10_000_000)
    parser.add_argument("--repeat", type=positive(int), default=5)
    args = parser.parse_args(argv)
    if args.csv is not None and not args.csv.is_file():  # named, so meant: not replaced
        parser.error(f"--csv {args.csv}: no such file")
    path = args.csv or (DEFAULT_CSV if DEFAULT_CSV.is_file() else snapshot_source().path)
    print(f"registry: {path.resolve()}")

    t_parse, parsed = best_of(lambda: parse_file(path), args.repeat)
    print(
        f"parse            {t_parse * 1e3:8.1f} ms  ({len(parsed.records)} records, {parsed.format})"
    )
    t_build, table = best_of(lambda: build_table(parsed.records, str(path)), args.repeat)
    print(f"build table      {t_build * 1e3:8.1f} ms  ({len(table.names) - 1} names)")
    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(tmp) / "table.npz"
        table.save(saved)
        loads = []
        for _ in range(max(args.repeat, 20)):
            start = time.perf_counter()
            ServiceTable.load(saved)
            loads.append(time.perf_counter() - start)
        print(
            f"load saved table {min(loads) * 1e3:8.2f} ms  (median {statistics.median(loads) * 1e3:.2f} ms, "
            f"{saved.stat().st_size / 1024:.0f} KiB)"
        )

    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, args.pairs, dtype=np.uint8)
    protos = np.array([6, 17, 132, 33], dtype=np.uint8)[codes]
    ports = rng.integers(0, 65536, args.pairs, dtype=np.uint16)
    for label, fn in (
        ("lookup (codes, by='code')", lambda: table.lookup(codes, ports, by="code")),
        ("lookup (IP protocols)", lambda: table.lookup(protos, ports, by="proto")),
        ("states_of (codes)", lambda: table.states_of(codes, ports, by="code")),
        ("names_of (codes)", lambda: table.names_of(codes, ports, by="code")),
    ):
        t, _ = best_of(fn, args.repeat)
        print(
            f"{label:27s} {args.pairs / t / 1e6:8.1f} M look-ups/s  ({t * 1e3:.0f} ms for {args.pairs:,} pairs)"
        )


if __name__ == "__main__":
    main()
