"""One capture read whole and cut into many files, as rotating capture tools leave it.

    python benchmarks/bench_split.py                     # mixed-1m in files of 1 MB
    python benchmarks/bench_split.py --size 0.05 --repeat 3
    python benchmarks/bench_split.py --capture small-5m --size 10

`tcpdump -C 1` and `dumpcap -b filesize:1000` write a capture as files of about a megabyte
each; `portannot flows DIR/*.pcap` then reads hundreds or thousands of files, each opened,
sniffed, walked and handed through the stages on its own. This runs `portannot flows -f
parquet` (the whole process) and `portannot.flows()` (the call) on the whole capture and on
the same packets cut into files of --size MB, in one run, and reports the cost of the cut
as a ratio (cut / whole), with peak RSS and the flow counts, which must be equal.

The pieces are cut here by the pcap record headers (each piece gets the capture's file
header), in a temporary directory that goes when the run ends.
"""

from __future__ import annotations

import argparse
import struct
import sys
import tempfile
import time
from pathlib import Path

from bench_flows import SUBJECT, note_flows, portannot_cli
from gen_captures import SPECS, ensure
from harness import (
    PYTHON,
    Row,
    failed,
    finish,
    measure,
    positive,
    prepare_portannot,
    problems,
    save,
    warm,
)

PCAP_HEADER = 24
RECORD_HEADER = 16


def cut(path: Path, folder: Path, piece_bytes: int) -> list[Path]:
    """`path` (a pcap file) cut at record boundaries into files of about `piece_bytes`,
    each beginning with the capture's file header: what a rotating capture writes."""
    pieces: list[Path] = []
    with path.open("rb") as f:
        header = f.read(PCAP_HEADER)
        order = "<" if header[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        caplen = struct.Struct(order + "8xI")
        while True:
            records = bytearray()
            while len(records) < piece_bytes:
                head = f.read(RECORD_HEADER)
                if len(head) < RECORD_HEADER:
                    break
                (incl,) = caplen.unpack(head[:12])
                records += head + f.read(incl)
            if not records:
                return pieces
            piece = folder / f"{path.stem}-{len(pieces):05d}.pcap"
            piece.write_bytes(header + records)
            pieces.append(piece)


def runs(label: str, capture: str, paths: list[Path], n: int, size: int, cli: list[str] | str,
         out: str, repeat: int) -> list[Row]:
    """The CLI and the API on `paths` (one capture, or its pieces)."""
    names = [str(p) for p in paths]
    rows = []
    if isinstance(cli, str):
        rows.append(failed(f"portannot flows (CLI), {label}", capture, cli))
    else:
        rows.append(measure(f"portannot flows (CLI), {label}", capture,
                            [*cli, "flows", *names, "-f", "parquet", "-o", out, "--quiet",
                             "--force"],
                            packets=n, file_bytes=size, repeat=repeat,
                            note="whole process: start, imports, parquet written"))
    rows.append(measure(f"portannot.flows (API), {label}", capture,
                        [PYTHON, SUBJECT, "flows-api", *names],
                        packets=n, file_bytes=size, repeat=repeat, note="the call only"))
    note_flows(rows[-1])
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--capture", default="mixed-1m", choices=sorted(SPECS),
                    help="a gen_captures name (default mixed-1m)")
    ap.add_argument("--size", type=positive(float), default=1.0, help="MB a piece (default 1)")
    ap.add_argument("--repeat", type=positive(int), default=5, help="best of N (default 5)")
    ap.add_argument("--quick", action="store_true", help="a tenth of the packets")
    args = ap.parse_args(argv)
    began = time.perf_counter()
    cli = portannot_cli()
    build = prepare_portannot() if not isinstance(cli, str) else {}
    path, meta = ensure(args.capture, args.quick)
    n, size = meta["packets"], meta["bytes"]
    with tempfile.TemporaryDirectory(prefix="bench-split-") as tmp:
        folder = Path(tmp)
        pieces = cut(path, folder / "", int(args.size * 1e6))
        label = f"{len(pieces):,} files of {args.size:g} MB"
        print(f"{path.name}: {n:,} packets, {size / 1e6:,.0f} MB; cut into {label}",
              file=sys.stderr)
        out = str(folder / "flows.parquet")
        warm(path)
        for piece in pieces:
            warm(piece)
        whole = runs("one file", path.name, [path], n, size, cli, out, args.repeat)
        split = runs(label, path.name, pieces, n, size, cli, out, args.repeat)
    rows = whole + split
    print()
    print("| capture | tool | seconds | packets/s | MB/s | peak RSS MB | note |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r.capture} | {r.tool} | " + (
            f"| | | | {r.error} |" if r.error else
            f"{r.seconds:.3f} | {r.pps:,.0f} | {r.mbps:,.0f} | {r.rss_mb:,.0f} | {r.note} |"))
    print()
    ratios = {}
    for one, many in zip(whole, split):
        kind = "CLI" if "CLI" in one.tool else "API"
        if one.error or many.error:
            print(f"- {kind}: not measured")
            continue
        ratios[kind] = many.seconds / one.seconds
        print(f"- {kind}: {many.seconds:.3f} s cut against {one.seconds:.3f} s whole "
              f"({ratios[kind]:.2f}x the time; {(many.seconds - one.seconds) / len(pieces) * 1e3:.3f}"
              f" ms more a file); peak RSS {many.rss_mb:,.0f} MB against {one.rss_mb:,.0f} MB")
    flows = [r.extra.get("flows") for r in (whole[1], split[1])]
    same = flows[0] is not None and flows[0] == flows[1]
    print(f"- flows: {flows[0]} whole, {flows[1]} cut ({'equal' if same else 'NOT equal'})")
    elapsed = time.perf_counter() - began
    print(f"- whole run: {elapsed:.0f} s")
    saved = save("split" + ("-quick" if args.quick else ""), {
        "rows": rows, "pieces": len(pieces), "piece_mb": args.size, "ratios": ratios,
        "flows_equal": same, "portannot": build, "elapsed_seconds": elapsed,
        "argv": sys.argv[1:],
    })
    print(f"- saved {saved}")
    finish(problems(rows) + ([] if same else [f"flows: {flows[0]} whole, {flows[1]} cut"]))


if __name__ == "__main__":
    main()
