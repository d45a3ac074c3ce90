"""Soak test: a long generated capture (20 million packets by default) to Parquet.

    python scripts/soak_20m.py                       # 20M packets under /tmp/portannot-soak
    python scripts/soak_20m.py --packets 50000000 --dir /scratch/soak

Generates the capture with benchmarks/gen_captures.py (numpy, in chunks, no
per-packet Python), then runs

    portannot packets FILE -f parquet -o packets.parquet --quiet
    portannot flows   FILE -f parquet -o flows.parquet --quiet

each as a child process measured with os.wait4 (peak RSS = ru_maxrss), and checks:
the packets Parquet has exactly one row per packet written, its frame numbers are
1..N, its per-status counts add up to N and match the generator's packet kinds
(TCP/UDP/SCTP/DCCP -> ports, ICMP -> no-ports); the flows Parquet's packet counts
add up to the packets that had ports. Prints one line per step and a summary; exit
status 1 if a check fails.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import gen_captures as G  # noqa: E402


def generate(path: Path, packets: int, seed: int) -> dict:
    meta_path = path.with_suffix(".json")
    spec = dict(G.SPECS["small-5m"], packets=packets, seed=seed, name=path.stem,
                version=G.GENERATOR_VERSION)
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("spec") == spec and meta.get("bytes") == path.stat().st_size:
            print(f"reusing {path} ({meta['packets']:,} packets)", flush=True)
            return meta
    t0 = time.perf_counter()
    meta = G.write_capture(path, spec)
    meta["generate_seconds"] = round(time.perf_counter() - t0, 1)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"generated {path}: {meta['packets']:,} packets, {meta['bytes'] / 1e9:.2f} GB "
          f"in {meta['generate_seconds']} s", flush=True)
    return meta


#: runs a command and reports its peak RSS. It runs in a fresh, small interpreter because
#: Linux carries a process's peak RSS over fork and exec: a child of this (large) script
#: would report this script's peak, not its own.
_MEASURE = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(f"MAXRSS {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}", file=sys.stderr)
"""


def measured(args: list[str]) -> tuple[int, float, int, str]:
    """(exit status, seconds, peak RSS in bytes, stderr) of `python -m portannot ARGS`."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _MEASURE, sys.executable, "-m", "portannot", *args],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    seconds = time.perf_counter() - t0
    lines = proc.stderr.decode(errors="replace").splitlines()
    last = lines[-1].split() if lines and lines[-1].startswith("MAXRSS ") else ["MAXRSS", "0", "-1"]
    return int(last[2]), seconds, int(last[1]) * 1024, "\n".join(lines[:-1])


def check_packets(path: Path, meta: dict) -> list[str]:
    import numpy as np
    import pyarrow.parquet as pq

    from portannot.status import STATUS_NAMES

    bad = []
    pf = pq.ParquetFile(path)
    rows = pf.metadata.num_rows
    if rows != meta["packets"]:
        bad.append(f"packets.parquet has {rows:,} rows, {meta['packets']:,} packets were written")
    names = pf.schema_arrow.names
    counts: dict[str, int] = {}
    expect_number = 1
    numbers_ok = True
    for batch in pf.iter_batches(columns=[c for c in ("number", "status") if c in names],
                                 batch_size=1 << 20):
        if "number" in batch.schema.names:
            num = batch.column("number").to_numpy(zero_copy_only=False)
            if len(num) and not (num[0] == expect_number
                                 and np.array_equal(num, np.arange(expect_number, expect_number + len(num)))):
                numbers_ok = False
            expect_number += len(num)
        if "status" in batch.schema.names:
            col = batch.column("status")
            values = col.to_pylist() if not str(col.type).startswith(("int", "uint")) else None
            if values is None:
                for i, c in enumerate(np.bincount(col.to_numpy(), minlength=len(STATUS_NAMES))):
                    counts[STATUS_NAMES[i]] = counts.get(STATUS_NAMES[i], 0) + int(c)
            else:
                u, c = np.unique(np.asarray(values, dtype=object).astype(str), return_counts=True)
                for k, v in zip(u, c):
                    counts[str(k)] = counts.get(str(k), 0) + int(v)
    if not numbers_ok:
        bad.append("frame numbers are not 1..N in order")
    if sum(counts.values()) != rows:
        bad.append(f"per-status counts {counts} add up to {sum(counts.values()):,}, not {rows:,}")
    kinds = meta["packets_by_kind"]
    want_ports = kinds["tcp"] + kinds["udp"] + kinds["sctp"] + kinds["dccp"]
    if counts.get("ports", 0) != want_ports or counts.get("no-ports", 0) != kinds["icmp"]:
        bad.append(f"statuses {counts}: expected ports={want_ports:,}, no-ports={kinds['icmp']:,}")
    print(f"  packets.parquet: {rows:,} rows, statuses {counts}", flush=True)
    return bad


def check_flows(path: Path, meta: dict) -> list[str]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    table = pf.read()
    names = table.schema.names
    col = next((c for c in ("packets", "pkts", "packet_count") if c in names), None)
    print(f"  flows.parquet: {table.num_rows:,} flows, columns {names}", flush=True)
    if col is None:
        return [f"flows.parquet has no packet-count column (columns: {names})"]
    total = int(table.column(col).to_numpy().sum())
    kinds = meta["packets_by_kind"]
    with_ports = kinds["tcp"] + kinds["udp"] + kinds["sctp"] + kinds["dccp"]
    if total not in (meta["packets"], with_ports):
        return [f"flows.parquet counts {total:,} packets; {meta['packets']:,} were written "
                f"({with_ports:,} with ports)"]
    print(f"  flows.parquet: packet counts add up to {total:,}", flush=True)
    return []


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=20_000_000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/portannot-soak"))
    ap.add_argument("--keep", action="store_true", help="keep the Parquet outputs")
    args = ap.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    capture = args.dir / f"soak-{args.packets // 1_000_000}m.pcap"
    meta = generate(capture, args.packets, args.seed)
    failures: list[str] = []
    report = {"capture": str(capture), "capture_packets": meta["packets"], "bytes": meta["bytes"]}
    for command, check in (("packets", check_packets), ("flows", check_flows)):
        out = args.dir / f"{command}.parquet"
        out.unlink(missing_ok=True)
        code, seconds, rss, err = measured([command, str(capture), "-f", "parquet", "-o", str(out),
                                            "--quiet"])
        print(f"portannot {command}: exit {code}, {seconds:,.1f} s, "
              f"{meta['packets'] / seconds / 1e6:.2f} M packets/s, peak RSS {rss / 2**20:,.0f} MiB, "
              f"output {out.stat().st_size / 1e6 if out.exists() else 0:,.0f} MB", flush=True)
        if err.strip():
            print("  stderr: " + err.strip().replace("\n", "\n  stderr: "), flush=True)
        report[command] = {"exit": code, "seconds": round(seconds, 1), "peak_rss_mib": round(rss / 2**20)}
        if code != 0:
            failures.append(f"portannot {command} exited {code}")
            continue
        failures += check(out, meta)
        if not args.keep:
            out.unlink(missing_ok=True)
    report["failures"] = failures
    print(json.dumps(report, indent=2))
    for f in failures:
        print(f"FAIL: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
