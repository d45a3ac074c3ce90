"""Shared by bench_decode.py and bench_flows.py: run one tool in its own process,
time it, take its peak memory, and print the side-by-side table.

Peak RSS is the tool's ru_maxrss as GNU `/usr/bin/time -f %M` reports it: the
largest resident set of the tool's process or of any descendant it waited for.
The tool is started by `time`, a small C program, and not forked straight from
this Python process, because Linux carries a process's high-water RSS across
exec: a child forked from a 40 MB interpreter would report at least 40 MB even
for `cat`. Tools that fork workers (NFStream) are also sampled every 50 ms
through /proc, summing the proportional set size (PSS) of the tool's process
tree, so pages shared between its processes count once.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
PYTHON = sys.executable
TIME = "/usr/bin/time"  # GNU time, for the peak RSS of exactly the tool
MB = 1e6


@dataclass
class Run:
    """One measured process."""

    returncode: int
    wall: float  #: seconds, process start to exit, seen from outside
    maxrss_mb: float  #: ru_maxrss of the tool, from /usr/bin/time
    tree_pss_mb: float  #: peak summed PSS of the process tree (0 if never sampled)
    processes: int  #: most processes seen alive at once in the tree
    stdout: str
    stderr: str

    def result(self) -> dict | None:
        """The `RESULT {json}` line a Python child printed, if any."""
        for line in reversed(self.stdout.splitlines()):
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT ") :])
        return None

    def error(self) -> str:
        lines = [x for x in self.stderr.splitlines() if x.strip()]
        return lines[-1][:200] if lines else f"exit code {self.returncode}"


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return pids


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeSampler(threading.Thread):
    """Polls the summed PSS of the process tree below `pid` (`time`) until stopped."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_kb = 0
        self.processes = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            pids = _tree(self.pid)[1:]
            self.processes = max(self.processes, len(pids))
            if len(pids) > 1:  # one process: its ru_maxrss says it exactly
                self.peak_kb = max(self.peak_kb, sum(_pss_kb(p) for p in pids))
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def run(
    cmd: list[str], env: dict | None = None, timeout: float = 3600, stdout_to_null: bool = False
) -> Run:
    """Run `cmd` to completion under /usr/bin/time and measure it."""
    full_env = {**os.environ, **(env or {})}
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r") as rss,
    ):
        start = time.perf_counter()
        proc = subprocess.Popen(
            [TIME, "-f", "%M", "-o", rss.name, *cmd],
            stdout=subprocess.DEVNULL if stdout_to_null else out,
            stderr=err,
            env=full_env,
            start_new_session=True,
        )
        sampler = TreeSampler(proc.pid)
        sampler.start()
        killer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL))
        killer.start()
        proc.wait()
        wall = time.perf_counter() - start
        killer.cancel()
        sampler.stop()
        out.seek(0)
        err.seek(0)
        lines = rss.read().split()
        maxrss_kb = int(lines[-1]) if lines and lines[-1].isdigit() else 0
        return Run(
            proc.returncode,
            wall,
            maxrss_kb * 1024 / MB,
            sampler.peak_kb * 1024 / MB,
            sampler.processes,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


def warm(path: Path) -> None:
    """Read the file once so every tool meets a warm page cache."""
    subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)


@dataclass
class Row:
    """One line of the table: a tool on a capture."""

    tool: str
    capture: str
    packets: int = 0  #: packets the timing covers (a prefix for subset runs)
    seconds: float = 0.0  #: best of the runs
    file_bytes: int = 0  #: bytes those packets occupy in the file (pro rata for a prefix)
    rss_mb: float = 0.0
    tree_pss_mb: float = 0.0
    processes: int = 1
    runs: int = 0
    note: str = ""
    error: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def pps(self) -> float:
        return self.packets / self.seconds if self.seconds else 0.0

    @property
    def mbps(self) -> float:
        return self.file_bytes / self.seconds / MB if self.seconds else 0.0


def measure(
    tool: str,
    capture: str,
    cmd: list[str],
    *,
    packets: int,
    file_bytes: int,
    repeat: int = 1,
    note: str = "",
    timeout: float = 3600,
    env: dict | None = None,
    stdout_to_null: bool = False,
    parse: Callable[[str], dict] | None = None,
) -> Row:
    """Best of `repeat` runs of `cmd`. A child that prints RESULT {json} supplies its
    own seconds (its loop, imports excluded) and packet count; otherwise the
    process's wall time and the given packet count are used. `parse` reads a command's
    output into the row's `extra` instead (tshark's tables: what it counted); output it
    does not understand (ValueError) fails the row, as an exit code would."""
    row = Row(tool, capture, packets=packets, file_bytes=file_bytes, note=note)
    print(f"  {tool} on {capture} ...", end="", file=sys.stderr, flush=True)
    load_before = os.getloadavg()[0]
    times: list[float] = []
    for _ in range(repeat):
        r = run(cmd, env=env, timeout=timeout, stdout_to_null=stdout_to_null)
        if r.returncode != 0:
            row.error = r.error()
            print(f" failed: {row.error}", file=sys.stderr)
            return row
        try:
            result = parse(r.stdout) if parse else r.result() or {}
        except ValueError as e:
            row.error = f"output not understood: {e}"[:200]
            print(f" failed: {row.error}", file=sys.stderr)
            return row
        seconds = float(result.get("seconds", r.wall))
        times.append(seconds)
        if row.runs == 0 or seconds < row.seconds:
            row.seconds = seconds
            row.extra = {k: v for k, v in result.items() if k not in ("seconds",)}
            row.extra["process_wall"] = round(r.wall, 3)
        row.rss_mb = max(row.rss_mb, r.maxrss_mb)
        row.tree_pss_mb = max(row.tree_pss_mb, r.tree_pss_mb)
        row.processes = max(row.processes, r.processes)
        row.runs += 1
    # best of N favours a tool run N times over one run once: keep every run's time
    # and the median beside the best, so a reader can weigh the rows alike
    row.extra["run_seconds"] = [round(t, 4) for t in times]
    row.extra["median_seconds"] = round(statistics.median(times), 4)
    # other work on the machine skews the times: keep the 1-minute load average
    row.extra["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    if max(row.extra["load_average"]) > (os.cpu_count() or 1) + 0.5:
        row.note = "; ".join(x for x in (row.note, "machine busy (load average > cores + 0.5)")
                             if x)
    if "packets" in row.extra:
        counted = int(row.extra["packets"])
        if counted != packets:
            row.note = (row.note + "; " if row.note else "") + f"tool counted {counted:,}"
    print(f" {row.seconds:.3f} s", file=sys.stderr)
    return row


def failed(tool: str, capture: str, reason: str) -> Row:
    return Row(tool, capture, error=reason)


SKIPPED = "skipped"  #: the error of a row left out by --skip: not a failure


def problems(rows: list[Row | None]) -> list[str]:
    """What makes a run's figures not what they claim: a tool that failed (its ratio and
    verdict are missing), or one that handled another number of packets than its rate is
    computed on (a peer that stopped early, or skipped what it could not read)."""
    out = []
    for r in rows:
        if r is None or r.error == SKIPPED:
            continue
        if r.error:
            out.append(f"{r.tool} on {r.capture} failed: {r.error}")
        elif "packets" in r.extra and int(r.extra["packets"]) != r.packets:
            out.append(f"{r.tool} on {r.capture} handled {int(r.extra['packets']):,} packets, "
                       f"its rate is of {r.packets:,}")
    return out


def finish(found: list[str]) -> None:
    """Exit 1 with each problem on standard error, after the table and the JSON are out:
    a run with a failed or short tool must not pass for a complete one."""
    if found:
        for line in found:
            print(f"FAILED: {line}", file=sys.stderr)
        sys.exit(1)


def scale_note(done: int, total: int) -> str:
    return f"first {done:,} of {total:,} packets, rate applies to all"


def fmt_ratio(ours: Row | None, peer: Row) -> str:
    if ours is None or ours.error or not ours.pps:
        return "n/a"
    if peer is ours:
        return "1"
    if not peer.pps:
        return "n/a"
    return f"{ours.pps / peer.pps:,.1f}x"


def table(rows: list[Row], reference: dict[str, Row | None], ref_name: str) -> str:
    """Markdown table; `reference` maps capture -> the portannot row ratios divide."""
    head = (
        "| capture | tool | packets | seconds | packets/s | MB/s | "
        f"ratio ({ref_name} / tool) | peak RSS MB | note |"
    )
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        if r.error:
            lines.append(f"| {r.capture} | {r.tool} | | | | | | | {r.error} |")
            continue
        rss = f"{r.rss_mb:,.0f}"
        if r.processes > 1 and r.tree_pss_mb:
            rss += f" (tree of {r.processes}: {r.tree_pss_mb:,.0f} PSS)"
        lines.append(
            f"| {r.capture} | {r.tool} | {r.packets:,} | {r.seconds:.3f} | {r.pps:,.0f} | "
            f"{r.mbps:,.0f} | {fmt_ratio(reference.get(r.capture), r)} | {rss} | {r.note} |"
        )
    return "\n".join(lines)


def machine() -> dict:
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    try:
        with open("/proc/meminfo") as f:
            info["mem_total_kb"] = int(f.readline().split()[1])
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info


def save(name: str, payload: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    payload = {"machine": machine(), **payload}
    path.write_text(json.dumps(payload, indent=2, default=_jsonable) + "\n")
    return path


def _jsonable(obj):
    if isinstance(obj, Row):
        return {**asdict(obj), "pps": obj.pps, "mbps": obj.mbps}
    raise TypeError(type(obj))


def positive(kind: type) -> Callable[[str], int | float]:
    """An argparse type: a number of `kind` above 0. A --repeat of 0 measured nothing and
    printed rows of 0.000 s with no error; a --size of 0 cut a capture into no files."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be above 0: {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def arguments(doc: str | None, peers: tuple[str, ...], quick: str, repeat: str,
              argv: list[str] | None) -> argparse.Namespace:
    """The options both benchmark commands take: --quick, --skip TOOL, --repeat N."""
    ap = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help=quick)
    ap.add_argument("--skip", action="append", default=[], choices=[*peers, "portannot"],
                    help="leave a tool out (repeatable)")
    ap.add_argument("--repeat", type=positive(int), default=3, help=repeat)
    return ap.parse_args(argv)


def prepare_portannot() -> dict:
    """Put portannot as an install leaves it, and say how its kernels run.

    pip compiles the package's bytecode at install; an editable checkout under
    PYTHONDONTWRITEBYTECODE never has it and would pay ~20 ms a start to compile
    sources, so the bytecode is written here first. "kernels" is "ahead-of-time"
    (portannot._kernels, built by the install) or "jit" (numba at run time)."""
    code = (
        "import os, compileall, portannot.compiled as c\n"
        "compileall.compile_dir(os.path.dirname(c.__file__), quiet=2)\n"
        "print(c.MODE)"
    )
    r = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True)
    mode = r.stdout.strip() or "unknown"
    print(f"portannot kernels: {mode}", file=sys.stderr)
    return {"kernels": mode}


def portannot_missing(*modules: str) -> str:
    """Empty if portannot and the named modules import in a fresh interpreter, else why not."""
    code = "import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)"
    r = subprocess.run([PYTHON, "-c", code, "portannot", *modules], capture_output=True, text=True)
    if r.returncode == 0:
        return ""
    last = (r.stderr.strip().splitlines() or ["import failed"])[-1]
    return f"portannot not available ({last[:120]})"
