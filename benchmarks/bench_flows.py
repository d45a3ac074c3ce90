"""Issue 4: `portannot flows` side by side with its peers, in one run.

    python benchmarks/bench_flows.py            # the full captures (5 to 10 minutes)
    python benchmarks/bench_flows.py --quick    # a tenth of the packets, a smoke run
    python benchmarks/bench_flows.py --skip tshark --skip scapy

Peers: a dpkt loop building the same flow table; scapy on a prefix, scaled;
`tshark -q -z conv,tcp -z conv,udp`; NFStream with DPI off. Targets (reported,
never asserted): at least 50x the dpkt loop, 20x NFStream and 100x tshark, with
peak RSS that stays flat when the capture doubles (mixed-1m -> mixed-2m).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
    scale_note,
    table,
    warm,
)
from peers import PORT_PROTOCOLS, TSHARK_TRANSPORTS, tshark_conv_cmd, tshark_conv_counts
from subject import by_transport

CAPTURES = ("mixed-1m", "small-5m", "flows-1m")
DOUBLED = ("mixed-1m", "mixed-2m")  # peak RSS must not grow with the capture
PEERS = ("dpkt", "scapy", "tshark", "nfstream")
TARGETS = {"dpkt": 50, "nfstream": 20, "tshark": 100}
SCAPY_PACKETS = 20_000
TSHARK_PACKETS = 1_000_000  # tshark reads at most this prefix (--quick: a tenth)
RSS_FLAT = 1.10  # 2x the packets may cost at most 10% more peak RSS
SUBJECT = str(BENCH_DIR / "subject.py")
PEERS_PY = str(BENCH_DIR / "peers.py")
TINY = BENCH_DIR.parent / "pcaps" / "demo.pcap"
#: what any `portannot flows -f parquet` process must load: the interpreter, numpy (the
#: reader and decoder hold packets in its arrays) and pyarrow's Parquet writer, the
#: extension module pyarrow._parquet the command loads. Not pyarrow.parquet: the command
#: does without it, and it adds ~15 ms of pyarrow.fs, ssl and the S3, GCS, Azure and HDFS
#: bindings (the kept runs up to flows-20261207-020144 imported it). With OpenBLAS held to
#: one thread, as the command sets it (portannot.cli)
FLOOR_CMD = [PYTHON, "-c", "import numpy, pyarrow._parquet"]
FLOOR_ENV = {"OPENBLAS_NUM_THREADS": "1"}


def portannot_cli() -> list[str] | str:
    """The command that runs `portannot`, or why there is none."""
    exe = Path(PYTHON).with_name("portannot")
    cmd = [str(exe)] if exe.exists() else [PYTHON, "-m", "portannot"]
    if shutil.which(cmd[0]) is None and not exe.exists():
        return "portannot not available (no portannot command)"
    r = subprocess.run([*cmd, "flows", "--help"], capture_output=True, text=True)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["portannot flows failed"])[-1]
        return f"portannot not available ({last[:120]})"
    return cmd


def ours(
    path: Path, capture: str, n: int, size: int, cli, api_missing: str, out: str, repeat: int
) -> list[Row]:
    rows = []
    if isinstance(cli, str):
        rows.append(failed("portannot flows (CLI)", capture, cli))
    else:
        rows.append(
            measure(
                "portannot flows (CLI)",
                capture,
                [*cli, "flows", str(path), "-f", "parquet", "-o", out, "--quiet", "--force"],
                packets=n,
                file_bytes=size,
                repeat=repeat,
                note="whole process: start, imports, parquet written",
            )
        )
        read_back(rows[-1], out)
    if api_missing:
        rows.append(failed("portannot.flows (API)", capture, api_missing))
    else:
        rows.append(
            measure(
                "portannot.flows (API)",
                capture,
                [PYTHON, SUBJECT, "flows-api", str(path)],
                packets=n,
                file_bytes=size,
                repeat=repeat,
                note="the call only",
            )
        )
        note_flows(rows[-1])
    return rows


def read_back(row: Row, out: str) -> None:
    """The CLI's Parquet file read back into its row: flows and packets per transport,
    held against the API's table like every peer's (the command's output was not
    looked at, so a command that wrote less would have passed). No file is an error."""
    if row.error:
        return
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(out, columns=["transport", "packets"])
    except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError
        row.error = f"no Parquet file read back: {e}"[:200]
        return
    row.extra["flows"] = len(table)
    row.extra["by_transport"] = by_transport(table)
    note_flows(row)


def tshark_table(output: str) -> dict:
    """tshark's conversation tables as a row's `extra`: its flow table by transport."""
    return {"by_transport": tshark_conv_counts(output)}


def note_flows(row: Row) -> None:
    """Put the flows a tool keyed into its row's note, beside what is there."""
    if "flows" in row.extra:
        row.note = "; ".join(x for x in (row.note, f"{row.extra['flows']:,} flows") if x)


def peers(path: Path, capture: str, n: int, size: int, skip: list[str], quick: bool) -> dict:
    rows = {}
    p = str(path)
    if "dpkt" not in skip:
        rows["dpkt"] = measure(
            "dpkt flow loop",
            capture,
            [PYTHON, PEERS_PY, "dpkt-flows", p],
            packets=n,
            file_bytes=size,
        )
    if "scapy" not in skip:
        k = min(n, SCAPY_PACKETS)
        rows["scapy"] = measure(
            "scapy PcapReader flow loop",
            capture,
            [PYTHON, PEERS_PY, "scapy-flows", p, "--limit", str(k)],
            packets=k,
            file_bytes=size * k // n,
            note=scale_note(k, n),
        )
    if "tshark" not in skip:
        k = min(n, TSHARK_PACKETS // (10 if quick else 1))
        rows["tshark"] = measure(
            "tshark -z conv,tcp -z conv,udp",
            capture,
            tshark_conv_cmd(p, k if k < n else 0),
            packets=k,
            file_bytes=size * k // n,
            note=scale_note(k, n) if k < n else "",
            parse=tshark_table,
        )
    if "nfstream" not in skip:
        rows["nfstream"] = measure(
            "NFStream (no DPI, no stats)",
            capture,
            [PYTHON, PEERS_PY, "nfstream-flows", p],
            packets=n,
            file_bytes=size,
        )
    for r in rows.values():
        note_flows(r)
    return rows


def same_tables(mine: list[Row], peer_rows: dict[str, Row], n: int) -> str:
    """Whether each tool that built a flow table of the whole capture keyed the flows and
    packets portannot.flows() did, transport by transport: the CLI (its Parquet file read
    back), the dpkt loop, NFStream (its flows of port transports) and tshark (TCP and UDP,
    the tables it prints). A tool that silently did less shows as DIFFER, for its ratio
    compares unlike work; one timed on a prefix (scapy) is not compared."""
    cli, api = mine[0], mine[1]
    ref_row = api if "by_transport" in api.extra else cli
    ref = ref_row.extra.get("by_transport")
    if ref is None:
        return "not compared (no portannot table)"
    flows, packets = (sum(v[i] for v in ref.values()) for i in (0, 1))
    parts = [f"portannot {flows:,} flows, {packets:,} packets"]
    tools = {"CLI": cli, **peer_rows}
    for name, row in tools.items():
        if row is ref_row:
            continue
        covered = TSHARK_TRANSPORTS if name == "tshark" else tuple(PORT_PROTOCOLS.values())
        label = f"{name} ({', '.join(covered)})" if name == "tshark" else name
        theirs = row.extra.get("by_transport")
        if row.error or theirs is None:
            parts.append(f"{label} not compared ({'failed' if row.error else 'no table'})")
        elif row.packets < n:
            parts.append(f"{label} not compared (first {row.packets:,} packets)")
        else:
            differ = [t for t in covered if theirs.get(t, [0, 0]) != ref.get(t, [0, 0])]
            parts.append(f"{label} same" if not differ else f"{label} DIFFER (" + "; ".join(
                "{}: {:,} flows, {:,} packets against {:,}, {:,}".format(
                    t, *theirs.get(t, [0, 0]), *ref.get(t, [0, 0])) for t in differ) + ")")
    return "; ".join(parts)


def verdicts(reference: Row | None, peer_rows: dict) -> dict:
    if reference is None or reference.error or not reference.pps:
        return {"portannot": reference.error if reference else "not run"}
    out = {"portannot": reference.tool}
    for name, target in TARGETS.items():
        peer = peer_rows.get(name)
        if peer and not peer.error and peer.pps:
            ratio = reference.pps / peer.pps
            out[f"vs {name}"] = (
                f"{ratio:,.1f}x (target {target}x: {'met' if ratio >= target else 'NOT met'})"
            )
        elif peer:  # run and failed: said, not left out of the line
            out[f"vs {name}"] = f"not measured ({peer.error or 'no time'})"
    return out


def like_for_like(mine: list[Row], peer_rows: dict) -> dict:
    """The ratios read two more ways, beside the targets' basis (the whole `portannot
    flows` process against each peer's own figure, which for the Python peers is their
    loop alone): both sides without start-up (the API call against the Python peers'
    loops, imports excluded in both), and both sides as whole processes (start to exit,
    seen from outside). Neither decides a target."""
    cli, api = mine[0], mine[1]  # the CLI row is timed from outside: its seconds are its wall
    ok = {name: r for name, r in peer_rows.items() if not r.error and r.pps}
    out = {}
    if not api.error and api.pps:
        out["without start-up"] = {
            name: round(api.pps / ok[name].pps, 1) for name in ("dpkt", "nfstream") if name in ok
        }
    if not cli.error and cli.pps:
        out["whole processes"] = {
            name: round(cli.pps / (ok[name].packets / ok[name].extra["process_wall"]), 1)
            for name in TARGETS if name in ok and ok[name].extra.get("process_wall")
        }
    return out


def budgets(cli: Row, peer_rows: dict, floor: Row | None) -> dict:
    """Each target as a time: how long the whole `portannot flows` process may take on
    the capture to meet it (the peer's time for the same packets over the target), beside
    the command's own time and the floor no Python process with numpy and pyarrow gets
    under. A budget below the floor is a target this design cannot meet on that capture,
    however fast its reading becomes."""
    out: dict = {}
    if cli.error or not cli.pps:
        return out
    for name, target in TARGETS.items():
        peer = peer_rows.get(name)
        if peer and not peer.error and peer.pps:
            out[name] = round(cli.packets / (peer.pps * target), 3)
    if out:
        out["portannot"] = round(cli.seconds, 3)
        if floor is not None and not floor.error:
            out["import floor"] = round(floor.seconds, 3)
    return out


def main(argv: list[str] | None = None) -> None:
    args = arguments(__doc__, PEERS, "a tenth of the packets", "best of N for portannot", argv)
    began = time.perf_counter()
    if "portannot" in args.skip:
        cli, api_missing = SKIPPED, SKIPPED
    else:
        cli = portannot_cli()
        api_missing = portannot_missing()
        if (
            not api_missing
            and subprocess.run(
                [PYTHON, "-c", "import portannot, sys; sys.exit(not hasattr(portannot, 'flows'))"]
            ).returncode
        ):
            api_missing = "portannot not available (portannot.flows is missing)"

    build = prepare_portannot() if not isinstance(cli, str) else {}
    rows: list[Row] = []
    reference: dict[str, Row | None] = {}
    summary: dict[str, dict] = {}
    readings: dict[str, dict] = {}
    flat: dict[str, dict] = {}
    budget: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-flows-") as tmp:
        out = str(Path(tmp) / "flows.parquet")
        startup = None
        if not isinstance(cli, str):
            startup = measure(
                "portannot flows (CLI)",
                TINY.name,
                [*cli, "flows", str(TINY), "-f", "parquet", "-o", out, "--quiet", "--force"],
                packets=0,
                file_bytes=0,
                repeat=args.repeat,
            )
        floor = measure("python + numpy + pyarrow._parquet imports", "-", FLOOR_CMD, packets=0,
                        file_bytes=0, repeat=args.repeat, env=FLOOR_ENV)
        for name in dict.fromkeys(CAPTURES + DOUBLED):
            path, meta = ensure(name, args.quick)
            capture = path.name
            n, size = meta["packets"], meta["bytes"]
            print(
                f"{capture}: {n:,} packets, {meta['flows']:,} flows, {size / 1e6:,.0f} MB",
                file=sys.stderr,
            )
            warm(path)
            mine = ours(path, capture, n, size, cli, api_missing, out, args.repeat)
            rows.extend(mine)
            reference[capture] = mine[0] if not mine[0].error else mine[1]  # CLI, else API
            if name in DOUBLED:
                for r in mine:
                    flat.setdefault(r.tool, {})[name] = r
            if name in CAPTURES:
                peer_rows = peers(path, capture, n, size, args.skip, args.quick)
                rows.extend(peer_rows.values())
                summary[capture] = verdicts(mine[0], peer_rows)
                summary[capture]["same table"] = same_tables(mine, peer_rows, n)
                readings[capture] = like_for_like(mine, peer_rows)
                budget[capture] = budgets(mine[0], peer_rows, floor)

    elapsed = time.perf_counter() - began
    print()
    print(table(rows, reference, "portannot"))
    print()
    for capture, s in summary.items():
        print(f"- {capture}: " + "; ".join(f"{k}: {v}" for k, v in s.items()))
        for basis, ratios in readings.get(capture, {}).items():
            shown = ", ".join(f"{r:,.1f}x {name}" for name, r in ratios.items())
            print(f"  - {capture}, {basis}: {shown or 'not measured'}")
        if budget.get(capture):
            allowed = budget[capture]
            shown = ", ".join(f"{name} {allowed[name]:.3f} s" for name in TARGETS if name in allowed)
            print(f"  - {capture}, whole process the targets allow: {shown}; portannot took "
                  f"{allowed['portannot']:.3f} s"
                  + (f"; the imports alone take {allowed['import floor']:.3f} s"
                     if "import floor" in allowed else ""))
    flatness = {}
    for tool, by_capture in flat.items():
        small, big = (by_capture.get(c) for c in DOUBLED)
        if small and big and not small.error and not big.error and small.rss_mb:
            growth = big.rss_mb / small.rss_mb
            flatness[tool] = {"rss_mb": [small.rss_mb, big.rss_mb], "growth": growth}
            print(
                f"- peak RSS {tool}: {small.rss_mb:,.0f} MB -> {big.rss_mb:,.0f} MB for 2x the "
                f"packets ({growth:.2f}x; flat means <= {RSS_FLAT}x: "
                f"{'met' if growth <= RSS_FLAT else 'NOT met'})"
            )
        else:
            print(f"- peak RSS {tool}: not measured")
    if startup is not None and not startup.error:
        print(
            f"- fixed cost: `portannot flows` on {TINY.name} takes {startup.seconds:.2f} s "
            f"(peak RSS {startup.rss_mb:,.0f} MB): start, imports and kernel load, included in "
            "the CLI rows"
        )
    print(f"- whole run: {elapsed:.0f} s")
    path = save(
        "flows" + ("-quick" if args.quick else ""),
        {
            "rows": rows,
            "summary": summary,
            "like_for_like": readings,
            "rss_flatness": flatness,
            "startup": startup,
            "import_floor": floor,
            "budgets": budget,
            "portannot": build,
            "elapsed_seconds": elapsed,
            "argv": sys.argv[1:],
        },
    )
    print(f"- results: {path}")
    differ = [f"{capture}: {s['same table']}" for capture, s in summary.items()
              if "DIFFER" in s.get("same table", "")]
    finish(problems([*rows, startup, floor]) + differ)


if __name__ == "__main__":
    main()
