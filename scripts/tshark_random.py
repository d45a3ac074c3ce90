"""Random captures, optionally damaged, decoded by portannot and by tshark, frame by frame.

    python scripts/tshark_random.py                          # 8 seeds x 3,000 frames, as built
    python scripts/tshark_random.py --damage ip --seeds 16   # bytes of the IP headers changed
    python scripts/tshark_random.py --damage link --kind links

Builds captures with pcaps/generate.py's random generators (`--kind stacks`: Ethernet
with VLAN, MPLS and PPPoE wrappers; `--kind links`: every link type in one pcapng;
`--kind blocks`: pcapng files of random section, interface and block layout),
with seeds other than the committed files' own; `--damage` then changes one or two
bytes of some frames (`ip`: in the IP and transport headers, `link`: in the first 44
bytes, `all`: either). Each capture is compared with tshark's dissection by the rules
of tests/decode/test_tshark_agreement.py, and the disagreements are printed grouped
by kind, with one frame of each to look at (`tshark -r FILE -Y frame.number==N -V`,
N tshark's frame number, which the line names where it is not the packet's own: tshark
counts a pcapng Custom Block as a frame).

The captures stay under --out. pcaps/README.md lists the kinds met so far and which
of them portannot keeps on purpose; a new kind is either a bug or a new line there.
The exit status is 1 if there was any disagreement.
"""

from __future__ import annotations

import argparse
import random
import re
import struct
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for sub in ("", "pcaps", "tests", "tests/decode"):
    sys.path.insert(0, str(REPO / sub))

import generate  # noqa: E402
from test_tshark_agreement import compare  # noqa: E402
from tshark_oracle import oracle, prefetch  # noqa: E402

from portannot.decode import decode_file  # noqa: E402
from tests.fuzz.harness import layout  # noqa: E402

BUILDERS = {"stacks": generate.cap_random_stacks, "links": generate.cap_random_links,
            "blocks": generate.cap_random_blocks}


def records(data: bytes):
    """(offset of the packet bytes, captured length) of each record (pcap) or enhanced
    packet block (pcapng), found by the fuzz harness's layout walk."""
    lay = layout(data)
    if lay.kind == "pcap":
        for start, end in lay.spans:
            yield start + lay.hdr_len, end - start - lay.hdr_len
        return
    for (start, _), e in zip(lay.spans, lay.orders):
        if struct.unpack_from(e + "I", data, start)[0] == 6:
            yield start + 28, struct.unpack_from(e + "I", data, start + 20)[0]


def damage(data: bytes, rng: random.Random, where: str, rate: float = 0.5) -> bytes:
    """Set or flip one or two bytes in some records: in the first 44 bytes (`link`), or
    from the first IP version nibble on (`ip`)."""
    out = bytearray(data)
    for start, caplen in records(data):
        if not caplen or rng.random() >= rate:
            continue
        kind = rng.choice(("ip", "link")) if where == "all" else where
        lo = 0
        if kind == "ip":
            frame = out[start:start + caplen]
            lo = next((k for k in range(min(caplen, 40)) if frame[k] >> 4 in (4, 6)
                       and (frame[k] & 15 >= 5 or frame[k] >> 4 == 6)), 0)
        hi = min(caplen, lo + (80 if kind == "ip" else 44))
        for _ in range(rng.choice((1, 1, 2))):
            k = start + rng.randrange(lo, hi)
            out[k] = rng.randrange(256) if rng.random() < 0.5 else out[k] ^ (1 << rng.randrange(8))
    return bytes(out)


def kind_of(problem: str) -> tuple[str, str, str]:
    """A disagreement reduced to its kind: what differs, tshark's last layer, our status."""
    first = re.sub(r"\d+", "N", problem.split("\n", 1)[0].split(": ", 1)[1])
    layer = re.search(r"tshark: \[([^\]]*)\]", problem)
    ours = re.search(r"ours:\s+\[([\w-]+)\]", problem)
    return (first, layer.group(1).split(":")[-1] if layer else "?",
            ours.group(1) if ours else "?")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", choices=tuple(BUILDERS), default="stacks")
    ap.add_argument("--damage", choices=("none", "ip", "link", "all"), default="none")
    ap.add_argument("--seeds", type=int, default=8, help="captures to build (default 8)")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--frames", type=int, default=3000, help="frames a capture (default 3000)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/portannot-tshark-random"))
    args = ap.parse_args(argv)

    build = BUILDERS[args.kind]
    suffix = ".pcap" if args.kind == "stacks" else ".pcapng"
    args.out.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        data = build(seed, args.frames)
        if args.damage != "none":
            data = damage(data, random.Random(seed), args.damage)
        path = args.out / f"{args.kind}-{args.damage}-{seed}{suffix}"
        path.write_bytes(data)
        paths.append(path)
    prefetch(paths)

    kinds: Counter = Counter()
    example: dict[tuple, str] = {}
    frames = 0
    for path in paths:
        rows = oracle(path)
        frames += len(rows)
        for problem in compare(decode_file(path), rows, {}):
            k = kind_of(problem)
            kinds[k] += 1
            example.setdefault(k, f"{path} {problem.split(':', 1)[0]}")
    print(f"{len(paths)} captures, {frames:,} frames, {sum(kinds.values())} disagreements")
    for k, n in kinds.most_common():
        print(f"{n:6d}  {k[0]}  (tshark ends at {k[1]}, ours {k[2]})\n        e.g. {example[k]}")
    return 1 if kinds else 0


if __name__ == "__main__":
    sys.exit(main())
