#!/usr/bin/env python3
"""Build the registry snapshot shipped in src/portannot/registry/data/.

The snapshot lets portannot name ports offline on a fresh machine.  It comes
from a public source anyone can fetch again:

* ``--iana-csv FILE``: the official IANA CSV
  (https://www.iana.org/assignments/service-names-port-numbers/service-names-port-numbers.csv);
* by default, Debian's ``libwireshark-data`` package (``apt-get download
  libwireshark-data``), whose ``usr/share/wireshark/services`` is derived from
  the IANA registry; ``--deb FILE`` uses a package already downloaded.

It writes ``registry.gz`` (the source text, gzip with a fixed timestamp so the
output is reproducible) and ``snapshot.json`` (source, package version, date,
checksum, record count).  The source is parsed and checked before anything is
written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from portannot.errors import RegistryError
from portannot.registry.detect import parse_bytes

DATA_DIR = Path(__file__).resolve().parents[1] / "src" / "portannot" / "registry" / "data"
PACKAGE = "libwireshark-data"
MEMBER = "./usr/share/wireshark/services"
MIN_RECORDS = 5000
#: the format each source must parse as: --iana-csv took an XML or a services file,
#: shipped labelled "IANA service-names-port-numbers.csv", kind iana-csv
FORMAT_OF_KIND = {"iana-csv": "iana-csv", "wireshark-services": "services"}


def _run(*cmd: str, cwd: Path | None = None) -> str:
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


def from_deb(deb: Path) -> tuple[bytes, dict[str, str]]:
    """The services file of a libwireshark-data .deb, with its version and date.

    The file carries no date line; its modification time inside the package
    is when Wireshark last refreshed it from IANA, so that is the date recorded.
    """
    version = _run("dpkg-deb", "-f", str(deb), "Version").strip()
    with tempfile.TemporaryDirectory() as tmp:
        tar = Path(tmp) / "data.tar"
        with tar.open("wb") as fh:
            subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=fh, check=True)
        with tarfile.open(tar) as tf:
            member = tf.getmember(MEMBER)
            extracted = tf.extractfile(member)
            if extracted is None:
                raise SystemExit(f"{deb}: {MEMBER} is not a regular file")
            data = extracted.read()
            date = dt.datetime.fromtimestamp(member.mtime, dt.timezone.utc).date().isoformat()
    meta = {
        "source": f"debian {PACKAGE} {version} ({MEMBER.lstrip('.')})",
        "kind": "wireshark-services",
        "package": PACKAGE,
        "version": version,
        "date": date,
        "date_note": "modification time of the services file in the package",
        "refetch": f"apt-get download {PACKAGE}={version}",
    }
    return data, meta


def fetch_deb(workdir: Path) -> Path:
    """``apt-get download libwireshark-data`` into ``workdir``."""
    _run("apt-get", "download", PACKAGE, cwd=workdir)
    debs = sorted(workdir.glob(f"{PACKAGE}_*.deb"))
    if not debs:
        raise SystemExit(f"apt-get download {PACKAGE} produced no .deb")
    return debs[-1]


def from_iana_csv(path: Path) -> tuple[bytes, dict[str, str]]:
    data = path.read_bytes()
    meta = {
        "source": f"IANA service-names-port-numbers.csv ({path.name})",
        "kind": "iana-csv",
        "date": "",
        "refetch": "https://www.iana.org/assignments/service-names-port-numbers/service-names-port-numbers.csv",
    }
    return data, meta


def _inflated(data: bytes) -> bytes:
    """The source as text: a gzip file (``--iana-csv x.csv.gz``) was checked inflated
    but shipped as it was, gzip inside registry.gz, which no command can read."""
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def write_snapshot(data: bytes, meta: dict[str, str], out: Path) -> dict[str, object]:
    data = _inflated(data)
    try:
        parsed = parse_bytes(data, meta["source"])
    except RegistryError as exc:
        raise SystemExit(f"refusing to write a snapshot: {exc}") from None
    expected = FORMAT_OF_KIND[meta["kind"]]
    if parsed.format != expected:
        raise SystemExit(
            f"refusing to write a snapshot: {meta['source']} is {parsed.format}, "
            f"not an {'IANA CSV' if expected == 'iana-csv' else expected + ' file'}"
        )
    if parsed.problems or len(parsed.records) < MIN_RECORDS:
        raise SystemExit(
            f"refusing to write a snapshot: {len(parsed.records)} records, {len(parsed.problems)} problems"
            + (f"; first: {parsed.problems[0]}" if parsed.problems else "")
        )
    if meta["kind"] == "iana-csv" and not meta["date"]:
        dates = [
            d[:10] for r in parsed.records for d in (r.registration_date, r.modification_date) if d
        ]
        meta["date"] = max(dates, default="")
        meta["date_note"] = "newest registration/modification date in the records"
    out.mkdir(parents=True, exist_ok=True)
    (out / "registry.gz").write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    full: dict[str, object] = dict(meta)
    full.update(
        file="registry.gz",
        format=parsed.format,
        records=len(parsed.records),
        sha256=hashlib.sha256(data).hexdigest(),
        built=dt.date.today().isoformat(),
    )
    (out / "snapshot.json").write_text(json.dumps(full, indent=2) + "\n", encoding="utf-8")
    return full


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    src = parser.add_mutually_exclusive_group()
    src.add_argument(
        "--iana-csv", type=Path, help="official IANA CSV to ship instead of Debian's services"
    )
    src.add_argument("--deb", type=Path, help=f"an already downloaded {PACKAGE} .deb")
    parser.add_argument(
        "--out", type=Path, default=DATA_DIR, help=f"output folder (default {DATA_DIR})"
    )
    args = parser.parse_args(argv)
    if args.iana_csv:
        data, meta = from_iana_csv(args.iana_csv)
    elif args.deb:
        data, meta = from_deb(args.deb)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            data, meta = from_deb(fetch_deb(Path(tmp)))
    full = write_snapshot(data, meta, args.out)
    print(json.dumps(full, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
