"""Issue 3: portannot's decoder side by side with a dpkt loop and `cat`, in one run.

    python benchmarks/bench_decode.py            # 1M-packet captures
    python benchmarks/bench_decode.py --quick    # 100k-packet captures, a smoke run
    python benchmarks/bench_decode.py --skip dpkt

Targets (reported, never asserted): decode throughput at least 40x the dpkt loop;
bytes per second as a fraction of `cat FILE > /dev/null`; the first run's
compile time on its own.
"""

from __future__ import annotations

import sys
import tempfile
import time

from gen_captures import ensure
from harness import (
    BENCH_DIR,
    PYTHON,
    SKIPPED,
    Row,
    arguments,
    failed,
    finish,
    measure,
    portannot_missing,
    prepare_portannot,
    problems,
    save,
    table,
    warm,
)
from peers import cat_cmd

CAPTURES = ("mixed-1m", "small-1m")
PEERS = ("dpkt", "cat")
TARGET_VS_DPKT = 40
SUBJECT = str(BENCH_DIR / "subject.py")
PEERS_PY = str(BENCH_DIR / "peers.py")


def compile_rows(path, capture: str, missing: str) -> tuple[list[Row], dict]:
    """The first batch in a fresh process: with the kernels built ahead of time (if the
    install built them), then under numba's JIT with an empty cache and again with the
    cache that run filled, each against the steady per-batch time."""
    if missing:
        return [failed("portannot first batch", capture, missing)], {}
    rows, info = [], {}
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
        runs = (
            ("ahead-of-time", {}),
            ("JIT, empty cache", {"NUMBA_CACHE_DIR": cache, "PORTANNOT_JIT": "1"}),
            ("JIT, filled cache", {"NUMBA_CACHE_DIR": cache, "PORTANNOT_JIT": "1"}),
        )
        for label, env in runs:
            row = measure(
                f"portannot first batch ({label})",
                capture,
                [PYTHON, SUBJECT, "compile", str(path)],
                packets=0,
                file_bytes=0,
                env=env,
            )
            rows.append(row)
            if not row.error:
                e = row.extra
                info[label] = {
                    "import_seconds": e["import_seconds"],
                    "first_batch_seconds": row.seconds,
                    "steady_batch_seconds": e["steady_batch_seconds"],
                    "compile_or_load_seconds": row.seconds - e["steady_batch_seconds"],
                    "batch_packets": e["first_batch_packets"],
                }
    return rows, info


def main(argv: list[str] | None = None) -> None:
    args = arguments(__doc__, PEERS, "100k-packet captures", "best of N for the fast tools", argv)
    began = time.perf_counter()
    missing = portannot_missing("portannot.capture", "portannot.decode")
    if "portannot" in args.skip:
        missing = SKIPPED
    build = {} if missing else prepare_portannot()

    rows: list[Row] = []
    reference: dict[str, Row | None] = {}
    summary: dict[str, dict] = {}
    compile_info: dict = {}
    compile_runs: list[Row] = []
    for name in CAPTURES:
        path, meta = ensure(name, args.quick)
        capture = path.name
        n, size = meta["packets"], meta["bytes"]
        print(f"{capture}: {n:,} packets, {size / 1e6:,.0f} MB", file=sys.stderr)
        warm(path)
        if missing:
            ours = failed("portannot decode", capture, missing)
        else:
            ours = measure(
                "portannot decode",
                capture,
                [PYTHON, SUBJECT, "decode", str(path)],
                packets=n,
                file_bytes=size,
                repeat=args.repeat,
            )
        reference[capture] = ours
        rows.append(ours)
        peer_rows = {}
        if "dpkt" not in args.skip:
            peer_rows["dpkt"] = measure(
                "dpkt decode loop",
                capture,
                [PYTHON, PEERS_PY, "dpkt-decode", str(path)],
                packets=n,
                file_bytes=size,
            )
        if "cat" not in args.skip:
            peer_rows["cat"] = measure(
                "cat FILE > /dev/null",
                capture,
                cat_cmd(str(path)),
                packets=n,
                file_bytes=size,
                repeat=args.repeat,
                stdout_to_null=True,
            )
        rows.extend(peer_rows.values())
        summary[capture] = _summary(ours, peer_rows)
        if name == CAPTURES[0]:
            compile_runs, compile_info = compile_rows(path, capture, missing)

    elapsed = time.perf_counter() - began
    print()
    print(table(rows, reference, "portannot decode"))
    print()
    for capture, s in summary.items():
        print(f"- {capture}: " + "; ".join(f"{k}: {v}" for k, v in s.items()))
    for label, c in compile_info.items():
        print(
            f"- first batch of {c['batch_packets']:,} packets, {label}: "
            f"{c['first_batch_seconds']:.3f} s vs {c['steady_batch_seconds']:.4f} s steady "
            f"-> compile/load {c['compile_or_load_seconds']:.3f} s "
            f"(import {c['import_seconds']:.2f} s, not included)"
        )
    for r in compile_runs:
        if r.error:
            print(f"- {r.tool}: {r.error}")
    print(f"- whole run: {elapsed:.0f} s")
    out = save(
        "decode" + ("-quick" if args.quick else ""),
        {
            "rows": rows,
            "summary": summary,
            "compile": compile_info,
            "compile_runs": compile_runs,
            "portannot": build,
            "elapsed_seconds": elapsed,
            "argv": sys.argv[1:],
        },
    )
    print(f"- results: {out}")
    finish(problems([*rows, *compile_runs]))


def _summary(ours: Row, peers: dict[str, Row]) -> dict:
    if ours.error or not ours.pps:
        return {"portannot": ours.error or "no result"}
    s = {}
    dpkt = peers.get("dpkt")
    if dpkt and not dpkt.error and dpkt.pps:
        ratio = ours.pps / dpkt.pps
        verdict = "met" if ratio >= TARGET_VS_DPKT else "NOT met"
        s["vs dpkt"] = f"{ratio:,.1f}x (target {TARGET_VS_DPKT}x: {verdict})"
    elif dpkt:
        s["vs dpkt"] = f"not measured ({dpkt.error or 'no time'})"
    cat = peers.get("cat")
    if cat and not cat.error and cat.mbps:
        s["bytes/s vs cat"] = (
            f"{ours.mbps / cat.mbps:.1%} ({ours.mbps:,.0f} of {cat.mbps:,.0f} MB/s)"
        )
    elif cat:
        s["bytes/s vs cat"] = f"not measured ({cat.error or 'no time'})"
    return s


if __name__ == "__main__":
    main()
