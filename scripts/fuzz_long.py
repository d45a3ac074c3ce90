"""Long fuzz run of the capture reader and the decoder (issue #5).

    python scripts/fuzz_long.py --minutes 30            # one process
    python scripts/fuzz_long.py --minutes 30 --seed 7   # another random stream

Mutates every capture of pcaps/ and ../shared/pcaps (bytes, length fields, block
structure, compression) and checks each result with the same properties as the
short run in tests/fuzz (tests/fuzz/harness.py): no exception escapes, status
counts add up, nothing is decoded from outside a record, problems name offsets.
A watchdog kills the run with a traceback if one input takes longer than
--hang seconds. A failing input is saved under --out (with the seed file's name)
and the run goes on; the exit status is 1 if any input failed.

Prints, at the end (and every --report seconds): inputs tried, inputs per second,
how many were refused as not a capture, records decoded, failures.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # the harness imports tests/packing.py

from tests.fuzz import harness as H  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0, help="how long to run (default 30)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: time-based)")
    ap.add_argument("--hang", type=float, default=60.0, help="seconds one input may take (default 60)")
    ap.add_argument("--max-seed-bytes", type=int, default=1 << 20,
                    help="use at most this many bytes of each seed capture (default 1 MiB)")
    ap.add_argument("--out", type=Path, default=Path("fuzz-failures"),
                    help="directory for failing inputs (default ./fuzz-failures)")
    ap.add_argument("--report", type=float, default=60.0, help="progress line every N seconds")
    args = ap.parse_args(argv)

    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    seeds = H.load_seeds(args.max_seed_bytes)
    if not seeds:
        print("fuzz_long: no seed captures found", file=sys.stderr)
        return 2
    others = [s.plain for s in seeds]
    print(f"fuzz_long: seed {seed}, {len(seeds)} seed captures, {args.minutes} min", flush=True)

    tried = refused = records = failures = 0
    seen: set[tuple[str, str]] = set()
    start = last = time.monotonic()
    deadline = start + args.minutes * 60
    with tempfile.TemporaryDirectory(prefix="portannot-fuzz-") as tmp:
        work = Path(tmp)
        while time.monotonic() < deadline:
            s = rng.choice(seeds)
            data = H.mutate(s.plain, rng, others)
            data, suffix = H.maybe_compress(data, rng, s.compression)
            chunk = rng.choice((4096, 8192, 65536, 1 << 22))
            tried += 1
            try:
                with H.watchdog(args.hang):
                    out = H.check(data, work, chunk, suffix)
                refused += bool(out.rejected)
                records += out.records
            except Exception as exc:  # noqa: BLE001 - every failure is recorded, the run goes on
                failures += 1
                key = (type(exc).__name__, str(exc)[:120])
                args.out.mkdir(parents=True, exist_ok=True)
                name = args.out / f"fail-{failures:04d}-{s.path.name}.cap{suffix}"
                name.write_bytes(data)
                if key not in seen:
                    seen.add(key)
                    print(f"FAIL {name} (chunk {chunk}): {exc!r}", flush=True)
                    traceback.print_exc(limit=4)
            now = time.monotonic()
            if now - last >= args.report:
                last = now
                print(f"  {now - start:6.0f} s: {tried:,} inputs, {tried / (now - start):,.0f}/s, "
                      f"{failures} failures", flush=True)
    elapsed = time.monotonic() - start
    print(f"fuzz_long: {tried:,} inputs tried in {elapsed:,.0f} s ({tried / elapsed:,.0f}/s); "
          f"{refused:,} refused as not a capture; {records:,} records decoded; "
          f"{failures} failures ({len(seen)} distinct)", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
