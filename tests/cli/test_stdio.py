"""Standard input and output as a process may be given them: unbuffered
(PYTHONUNBUFFERED=1, common in containers), closed, or one standard input named twice.
Each failure is one `portannot:` line and the README's exit code."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from capgen import big_capture
from paths import local_capture, shared_capture

from portannot.errors import ExitCode

DEMO = local_capture("demo.pcap")


def run(args: list[str], *, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, preexec=None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portannot", *args], stdin=stdin,
                          stdout=stdout, stderr=subprocess.PIPE, preexec_fn=preexec,
                          env=dict(os.environ, **(env or {})), timeout=300, check=False)


def one_line(proc: subprocess.CompletedProcess, code: int, contains: str = "") -> str:
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == code, f"exit {proc.returncode}, expected {code}: {err[:500]}"
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("portannot:"), err[:500]
    assert contains.lower() in lines[0].lower(), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    return big_capture(tmp_path_factory.mktemp("big") / "big.pcap", DEMO)


def _limit(size: int):
    def apply() -> None:  # Python ignores SIGXFSZ: a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return apply


UNBUFFERED = {"PYTHONUNBUFFERED": "1"}


@pytest.mark.parametrize("args", [
    ["packets", "-f", "jsonl"], ["packets", "-f", "csv"], ["packets"],
    ["flows", "-f", "jsonl"], ["flows", "-f", "csv"], ["summary", "--json"],
])
def test_unbuffered_standard_output_is_written_whole_or_fails(tmp_path, big, args):
    """A raw standard output writes less than it is given at the size limit and
    says so only by the count: ignored, the output was cut short with exit 0."""
    limit = 2048 if args[0] == "summary" else 16 << 10
    with open(tmp_path / "out", "wb") as out:
        proc = run([*args, str(big)], stdout=out, preexec=_limit(limit), env=UNBUFFERED)
    one_line(proc, ExitCode.OUTPUT_ERROR, contains="file too large")


@pytest.mark.parametrize("args", [["packets", "-f", "jsonl"], ["flows", "-f", "jsonl"]])
def test_unbuffered_broken_pipe_exits_5(args):
    """`| head -1`: the reader takes a line and goes away while a write is under way
    (1kxun's rows are one batch: one write, cut short by the pipe, and no other). The
    line is read unbuffered, as `head` takes it: through Python's buffer, 128 KiB from
    3.14 (8 KiB before), the reader emptied the pipe of flows' 92.8 kB, the write ended
    and the command exited 0."""
    proc = subprocess.Popen([sys.executable, "-m", "portannot", *args,
                             str(shared_capture("ndpi/1kxun.pcap"))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
                            env=dict(os.environ, **UNBUFFERED))
    assert proc.stdout is not None and proc.stdout.readline().startswith(b"{")
    proc.stdout.close()
    _, err = proc.communicate(timeout=300)
    one_line(subprocess.CompletedProcess(args, proc.returncode, b"", err),
             ExitCode.OUTPUT_ERROR, contains="broken pipe")


def test_unbuffered_output_is_the_buffered_output():
    args = ["packets", "-f", "jsonl", str(DEMO)]
    assert run(args, env=UNBUFFERED).stdout == run(args).stdout


@pytest.mark.parametrize("command", ["packets", "flows", "summary"])
def test_standard_input_given_twice_is_a_usage_error(command):
    with open(DEMO, "rb") as f:
        proc = run([command, "-", "-"], stdin=f)
    one_line(proc, ExitCode.USAGE, contains="only once")


@pytest.mark.parametrize("command", ["packets", "flows", "summary"])
def test_closed_standard_input(command):
    proc = run([command, "-"], preexec=lambda: os.close(0))
    one_line(proc, ExitCode.INPUT_ERROR, contains="standard input is closed")


@pytest.mark.parametrize("command", ["packets", "flows", "summary"])
def test_closed_standard_input_among_other_inputs_is_skipped(command):
    """README: of several inputs, one that cannot be read is a warning and skipped, the
    others read and written in full, exit 4. A closed standard input among them stopped
    the command before any reading: no output at all."""
    fmt = ["-f", "csv"] if command != "summary" else ["--json"]
    proc = run([command, *fmt, str(DEMO), "-"], preexec=lambda: os.close(0))
    assert proc.returncode == ExitCode.INPUT_ERROR, proc.stderr
    assert proc.stderr.decode().splitlines() == [
        "portannot: warning: <stdin>: standard input is closed; skipped, the other inputs read"]
    alone = run([command, *fmt, str(DEMO)])
    assert alone.returncode == ExitCode.OK
    if command == "summary":
        got, want = json.loads(proc.stdout), json.loads(alone.stdout)
        assert got["packets"] == want["packets"] == 270 and got["unreadable"] == ["<stdin>"]
    else:  # (packets rows name their file when there are several inputs)
        assert len(proc.stdout.splitlines()) == len(alone.stdout.splitlines()) > 1


@pytest.mark.parametrize("args", [["packets"], ["packets", "-f", "jsonl"], ["flows"],
                                  ["summary"], ["lookup", "80"], ["registry", "info"]])
def test_closed_standard_output(args):
    if args[0] in ("packets", "flows", "summary"):
        args = [*args, str(DEMO)]
    proc = run(args, preexec=lambda: os.close(1))
    one_line(proc, ExitCode.OUTPUT_ERROR, contains="standard output is closed")


def test_closed_standard_output_does_not_stop_a_file_output(tmp_path):
    out = tmp_path / "flows.csv"
    proc = run(["flows", str(DEMO), "-f", "csv", "-o", str(out)], preexec=lambda: os.close(1))
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().startswith('"flow_id"')


@pytest.mark.parametrize("command", ["flows", "summary", "packets"])
def test_closed_standard_error_still_writes_and_exits_by_the_codes(command, tmp_path):
    """`2>&-`: every capture command failed with exit 1 and wrote nothing (the progress
    check asked the missing stream whether it was a terminal). The messages go nowhere,
    as asked; the rows and the exit codes are as ever."""
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(DEMO.read_bytes()[:-10])
    out = tmp_path / "out.txt"
    args = [command, str(DEMO)] + (["-f", "csv", "-o", str(out)] if command != "summary" else [])
    proc = run(args, preexec=lambda: os.close(2))
    assert proc.returncode == ExitCode.OK
    assert (out.read_text() if command != "summary" else proc.stdout.decode()).strip()
    proc = run([command, str(cut), *args[2:], "--force"] if command != "summary"
               else [command, str(cut)], preexec=lambda: os.close(2))
    assert proc.returncode == ExitCode.DAMAGED_INPUT


@pytest.mark.parametrize("fmt", ["table", "csv", "jsonl"])
def test_an_unreadable_input_prints_nothing_on_standard_output(tmp_path, fmt):
    """The packets table printed its header, then found the input missing."""
    proc = run(["packets", "-f", fmt, str(tmp_path / "nope.pcap")])
    one_line(proc, ExitCode.INPUT_ERROR, contains="nope.pcap")
    assert proc.stdout == b""


def test_the_packets_table_of_a_capture_without_packets_is_its_header(tmp_path):
    empty = tmp_path / "header-only.pcap"
    empty.write_bytes(DEMO.read_bytes()[:24])
    proc = run(["packets", str(empty)])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [b"number", b"ts", b"length", b"transport", b"src_addr",
                                   b"src_port", b"dst_addr", b"dst_port", b"src_service",
                                   b"dst_service", b"status"]


def test_disk_full_under_parquet_on_standard_output_is_one_line():
    """The error, then the same failure again from the flush at exit: two lines."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([sys.executable, "-m", "portannot", "packets", "-f", "parquet",
                               str(DEMO)], stdout=full, stderr=subprocess.PIPE, env=env,
                              check=False, timeout=300)
    one_line(proc, ExitCode.OUTPUT_ERROR, contains="no space left")


def test_an_output_named_by_a_descriptor_is_written_in_place(tmp_path):
    """-o /dev/stdout into a pipe, a `>>` log, and /dev/fd/N (bash's -o >(cmd)): the link
    was resolved to /proc/<pid>/fd/1 -> "pipe:[...]" and a temporary file sought beside
    it (exit 5), and through --force a >> log was replaced whole."""
    csv_rows = run(["flows", str(DEMO), "-f", "csv"]).stdout
    assert csv_rows.count(b"\n") > 5
    piped = run(["flows", str(DEMO), "-f", "csv", "-o", "/dev/stdout"])
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == csv_rows
    log = tmp_path / "log.txt"
    log.write_bytes(b"earlier line\n")
    with open(log, "ab") as f:
        appended = run(["flows", str(DEMO), "-f", "csv", "-o", "/dev/stdout"], stdout=f)
    assert appended.returncode == 0, appended.stderr
    assert log.read_bytes() == b"earlier line\n" + csv_rows
    read_end, write_end = os.pipe()
    with subprocess.Popen([sys.executable, "-m", "portannot", "flows", str(DEMO), "-f", "csv",
                           "-o", f"/dev/fd/{write_end}"], pass_fds=(write_end,),
                          stderr=subprocess.PIPE) as proc:
        os.close(write_end)
        with os.fdopen(read_end, "rb") as r:
            got = r.read()
        assert proc.wait(timeout=300) == 0, proc.stderr.read()
    assert got == csv_rows


@pytest.mark.parametrize("command", ["flows", "packets"])
def test_parquet_goes_to_a_pipe_but_not_to_a_terminal(command, tmp_path):
    """`-f parquet` without `-o`: piped, the Parquet file is standard output (the same
    table as written with -o); on a terminal it is refused, exit 5, nothing written."""
    import pty

    import pyarrow.parquet as pq

    main_fd, term_fd = pty.openpty()
    try:
        on_term = run([command, str(DEMO), "-f", "parquet"], stdout=term_fd)
        os.close(term_fd)
        os.set_blocking(main_fd, False)
        try:
            shown = os.read(main_fd, 65536)
        except OSError:  # nothing there: EAGAIN, or EIO once no process holds the terminal
            shown = b""
    finally:
        os.close(main_fd)
    one_line(on_term, ExitCode.OUTPUT_ERROR, contains="refusing to write Parquet to a terminal")
    assert shown == b""
    piped = run([command, str(DEMO), "-f", "parquet"])
    assert piped.returncode == ExitCode.OK, piped.stderr
    (tmp_path / "piped.parquet").write_bytes(piped.stdout)
    assert run([command, str(DEMO), "-o", str(tmp_path / "file.parquet")]).returncode == 0
    got = pq.read_table(tmp_path / "piped.parquet")
    assert got.num_rows > 0 and got.equals(pq.read_table(tmp_path / "file.parquet"))


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
@pytest.mark.parametrize("command", [["lookup", "80/tcp"], ["flows", "-f", "table", str(DEMO)],
                                     ["summary", str(DEMO)]])
def test_a_narrow_output_encoding_escapes_what_it_cannot_hold(tmp_path, encoding, command):
    """With PYTHONIOENCODING=ascii (or a Latin-1 locale) the first name beyond the encoding
    raised UnicodeEncodeError: a traceback. Now what the encoding lacks is a backslash
    escape, the rest as it was."""
    services = tmp_path / "services"
    services.write_text("caf\u00e9\u2192x 80/tcp\n", encoding="utf-8")
    proc = run([command[0], "--services", str(services), *command[1:]],
               env={"PYTHONIOENCODING": encoding})
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == 0 and "Traceback" not in err, err[-600:]
    out = proc.stdout.decode(encoding)
    want = "caf\\xe9\\u2192x" if encoding == "ascii" else "caf\u00e9\\u2192x"
    assert want in out, out[-600:]


def test_data_formats_stay_utf8_whatever_the_output_encoding(tmp_path):
    """CSV (and JSON Lines, Parquet) are data files: UTF-8 always, not escaped."""
    services = tmp_path / "services"
    services.write_text("caf\u00e9 80/tcp\n", encoding="utf-8")
    proc = run(["flows", "-f", "csv", "--services", str(services), str(DEMO)],
               env={"PYTHONIOENCODING": "ascii"})
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-600:]
    assert ",caf\u00e9,".encode() in proc.stdout.replace(b'"', b"")


@pytest.mark.parametrize("env", [{"PYTHONIOENCODING": "ascii:surrogateescape"},
                                 {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}])
def test_a_surrogateescape_output_escapes_what_it_cannot_hold(tmp_path, env):
    """Python's own stdout for a C/POSIX locale without UTF-8 mode is ASCII with
    surrogateescape, which fails on any other character as strict does: it was a
    UnicodeEncodeError traceback on the first name beyond ASCII."""
    services = tmp_path / "services"
    services.write_text("caf\u00e9\u2192x 80/tcp\n", encoding="utf-8")
    proc = run(["lookup", "--services", str(services), "80/tcp"], env=env)
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == 0 and "Traceback" not in err, err[-600:]
    assert b"caf\\xe9\\u2192x" in proc.stdout, proc.stdout[-600:]


def test_surrogateescape_still_writes_undecodable_bytes_back(monkeypatch):
    """Under surrogateescape, a lone surrogate (an undecodable byte of a name) still goes
    out as the byte it came from; other characters are escaped; the stream's own error
    handler is back once the block ends."""
    import io

    from portannot.output.stdio import standard_streams

    buffer = io.BytesIO()
    stream = io.TextIOWrapper(buffer, encoding="ascii", errors="surrogateescape",
                              write_through=True)
    monkeypatch.setattr(sys, "stdout", stream)
    with standard_streams():
        sys.stdout.write("caf\u00e9\udcff\u2192\udce9")
    assert buffer.getvalue() == b"caf\\xe9\xff\\u2192\xe9"
    assert stream.errors == "surrogateescape"


@pytest.mark.parametrize(("args", "code"), [
    (["flows", "CUT", "-o", "OUT"], ExitCode.DAMAGED_INPUT),
    (["packets", "CUT", "-f", "csv"], ExitCode.DAMAGED_INPUT),
    (["summary", "CUT"], ExitCode.DAMAGED_INPUT),
    (["flows", "MISSING"], ExitCode.INPUT_ERROR),
    (["lookup", "nosuchservicexyz"], ExitCode.NOT_FOUND),
    (["flows", "--no-such-option"], ExitCode.USAGE),
])
def test_a_standard_error_nobody_reads_changes_no_exit_code(tmp_path, args, code):
    """Standard error a pipe whose reader has gone (`2>&1 | head -1`, a log reader that
    died): the first message raised BrokenPipeError, and the command exited 1 (a
    traceback nobody saw) whatever the outcome.
    The messages go nowhere, as a closed standard error's do; the exit code still tells,
    and the output is written."""
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(DEMO.read_bytes()[:20_000])
    out = tmp_path / "out.csv"
    names = {"CUT": str(cut), "OUT": str(out), "MISSING": str(tmp_path / "missing.pcap")}
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([sys.executable, "-m", "portannot",
                               *[names.get(a, a) for a in args]],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=write,
                              timeout=300, check=False)
    finally:
        os.close(write)
    assert proc.returncode == code
    assert out.exists() == ("OUT" in args)


def _records_end(data: bytes, count: int) -> int:
    """Where a pcap's first `count` records end (its own length fields; capgen.layout)."""
    from capgen import layout

    return layout(data).records[count - 1][1]


@pytest.mark.parametrize(("args", "count", "first_row"), [
    (["packets", "-f", "csv"], 1, b"1,"),
    (["packets", "-f", "jsonl"], 1, b'{"number":1,'),
    (["packets"], 1, b"      1 "),
    (["flows", "--idle-timeout", "0.001", "-f", "jsonl"], 2, b'{"flow_id":1,'),
])
def test_a_live_capture_s_rows_come_as_it_pauses(args, count, first_row):
    """`tcpdump -U -w - | portannot packets -`: the rows of the packets that came are
    written while the capture stays open, not when 4 MiB more came or it ended. The
    writer holds the rest of demo.pcap back until the first row is read (60 s at most:
    before the window handed on a paused pipe's bytes, the row came only with the end);
    then all of it is the file's output. Of flows, the first flow ends (idle timeout)
    once the second packet's time passes it."""
    import select

    data = DEMO.read_bytes()
    proc = subprocess.Popen([sys.executable, "-m", "portannot", *args, "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(data[:_records_end(data, count)])
    proc.stdin.flush()
    out = b""
    while not any(line.startswith(first_row) for line in out.splitlines()):
        ready = select.select([proc.stdout], [], [], 60)[0]
        chunk = os.read(proc.stdout.fileno(), 65536) if ready else b""
        if not chunk:
            proc.kill()
            pytest.fail(f"no row while the capture stayed open: {out[:300]!r}")
        out += chunk
    proc.stdin.write(data[_records_end(data, count):])
    proc.stdin.close()
    rest, err = proc.stdout.read(), proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    assert proc.wait(timeout=300) == 0, err
    assert out + rest == run([*args, str(DEMO)]).stdout


@contextlib.contextmanager
def _live(args: list[str], data: bytes, stdout, fifo: Path | None = None
          ) -> Iterator[subprocess.Popen]:
    """`portannot ARGS -` (or ARGS FIFO) given `data` as a live capture that then goes
    quiet: its writer, this process, holds the pipe open without writing until the block
    ends; the command killed, if still running, on leaving."""
    proc = subprocess.Popen([sys.executable, "-m", "portannot", *args,
                             str(fifo) if fifo else "-"],
                            stdin=subprocess.DEVNULL if fifo else subprocess.PIPE,
                            stdout=stdout, stderr=subprocess.PIPE)
    writer = os.open(fifo, os.O_WRONLY) if fifo else proc.stdin.fileno()  # type: ignore[union-attr]
    try:
        os.write(writer, data)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if fifo:
            os.close(writer)


#: a hang guard, not a timing: the command ends within a second or so
HANG = 20


def _until(done: Callable[[], object], what: str) -> None:
    """Wait until `done()` (which may wait a little itself), HANG s at most: a hang guard."""
    deadline = time.monotonic() + HANG
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {HANG} s")
        threading.Event().wait(0.05)


def _ends_as_a_broken_pipe(proc: subprocess.Popen, args: list[str]) -> None:
    """The command (of _live) ends within HANG s of its output's reader going, with the
    broken pipe's one line and exit 5, its capture still open and quiet."""
    try:
        proc.wait(timeout=HANG)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still waiting on the quiet capture {HANG} s after the reader went")
    err = proc.stderr.read()  # type: ignore[union-attr]
    one_line(subprocess.CompletedProcess(args, proc.returncode, b"", err),
             ExitCode.OUTPUT_ERROR, contains="output closed early (broken pipe)")


@pytest.mark.parametrize(("args", "count"), [
    (["packets"], 1),
    (["packets", "-f", "csv"], 1),
    (["packets", "-f", "jsonl"], 1),
    (["flows", "--idle-timeout", "0.001", "-f", "jsonl"], 2),
    (["flows", "--active-timeout", "0.001", "-f", "csv"], 2),
])
@pytest.mark.parametrize("through", ["stdin", "fifo"])
def test_a_quiet_live_capture_ends_once_the_output_s_reader_has_gone(tmp_path, args, count,
                                                                       through):
    """`tcpdump -U -w - | portannot packets - | head -1` on a network gone quiet: once
    `head` had its line and exited, the command waited on its input until the next
    packet's rows failed to be written, for ever on a silent network. The wait now
    watches standard output's pipe too: its reader gone, the command ends as a broken
    pipe ends it, the one line and exit 5, while the capture's writer still holds its
    pipe open. Here the reader takes one line (the header, or the first flow) and
    closes; the writer has sent `count` packets of demo.pcap and stays silent."""
    data = DEMO.read_bytes()
    fifo = None
    if through == "fifo":
        fifo = tmp_path / "live.pcap"
        os.mkfifo(fifo)
    with _live(args, data[:_records_end(data, count)], subprocess.PIPE, fifo) as proc:
        assert proc.stdout is not None
        _until(lambda: select.select([proc.stdout], [], [], 0.1)[0], "no first row")
        assert proc.stdout.readline()
        proc.stdout.close()
        _ends_as_a_broken_pipe(proc, args)


@pytest.mark.parametrize("args", [["summary"], ["flows"], ["packets", "-f", "parquet"]])
def test_a_quiet_live_capture_ends_at_once_when_no_one_reads_the_output(args):
    """Standard output a pipe nobody reads from the start (its reader exited): the
    commands that write only at the end (summary, the flows table, a Parquet row group)
    ended with exit 5 only once the capture did; now at once, the capture still open."""
    data = DEMO.read_bytes()
    read, write = os.pipe()
    os.close(read)
    try:
        with _live(args, data[:_records_end(data, 3)], write) as proc:
            os.close(write)
            write = -1
            _ends_as_a_broken_pipe(proc, args)
    finally:
        if write >= 0:
            os.close(write)


@pytest.mark.parametrize("kind", ["file", "pipe"])
def test_a_quiet_live_capture_is_waited_for_while_the_output_can_be_written(tmp_path, kind):
    """Standard output a file, or a pipe whose reader stays: the command still waits for
    the capture's next packets, and writes all of them once they come."""
    data = DEMO.read_bytes()
    first = _records_end(data, 1)
    args = ["packets", "-f", "csv"]
    path = tmp_path / "out.csv"
    with open(path, "wb") if kind == "file" else contextlib.nullcontext() as out, \
            _live(args, data[:first], out if out else subprocess.PIPE) as proc:
        got = b""

        def two_lines() -> bool:  # the header and the first row, then a quiet capture
            nonlocal got
            assert proc.poll() is None, proc.stderr.read()  # type: ignore[union-attr]
            if kind == "file":
                got = path.read_bytes()
            elif select.select([proc.stdout], [], [], 0.1)[0]:
                got += os.read(proc.stdout.fileno(), 65536)  # type: ignore[union-attr]
            return got.count(b"\n") >= 2

        _until(two_lines, "no first row")
        threading.Event().wait(1)  # quiet for a while: still there
        assert proc.poll() is None, proc.stderr.read()  # type: ignore[union-attr]
        proc.stdin.write(data[first:])  # type: ignore[union-attr]
        proc.stdin.close()  # type: ignore[union-attr]
        rest = proc.stdout.read() if proc.stdout else b""
        err = proc.stderr.read()  # type: ignore[union-attr]
        proc.wait(timeout=300)
    assert proc.returncode == 0, err
    whole = path.read_bytes() if kind == "file" else got + rest
    assert whole == run([*args, str(DEMO)]).stdout


def test_a_quiet_live_capture_ends_once_the_o_fifo_s_reader_has_gone(tmp_path):
    """As with standard output above, with the rows going to a FIFO given to -o (written
    in place): once its reader has its line and goes, the command ends with the broken
    pipe's one line and exit 5 while the capture stays open and quiet. Only standard
    output was watched: the command waited for the capture's next packet."""
    data = DEMO.read_bytes()
    rows = tmp_path / "rows.csv"
    os.mkfifo(rows)
    args = ["packets", "-f", "csv", "-o", str(rows)]
    with _live(args, data[:_records_end(data, 1)], subprocess.DEVNULL) as proc:
        with open(rows, "rb", buffering=0) as reader:  # the command's open waits for it
            _until(lambda: select.select([reader], [], [], 0.1)[0], "no first row")
            got = reader.read(65536)
            assert got.startswith(b"\"number\","), got
        _ends_as_a_broken_pipe(proc, args)


@pytest.mark.parametrize("damage", ["missing", "cut"])
def test_a_broken_pipe_still_reports_the_damage_met(tmp_path, damage):
    """`portannot summary demo.pcap missing.pcap | head -1` (or a capture cut short)
    said only "output closed early (broken pipe)", exit 5: the warning that an input was
    skipped, or damaged, went with the output. It is still told on standard error,
    before the broken pipe's line; the exit stays 5."""
    bad = tmp_path / "bad.pcap"
    if damage == "cut":
        bad.write_bytes(DEMO.read_bytes()[:-10])  # inside the last record
    read, write = os.pipe()
    os.close(read)  # the reader already gone
    try:
        proc = run(["summary", str(DEMO), str(bad)], stdout=write)
    finally:
        os.close(write)
    lines = proc.stderr.decode(errors="replace").splitlines()
    assert proc.returncode == ExitCode.OUTPUT_ERROR, lines
    assert "Traceback" not in proc.stderr.decode(errors="replace")
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"portannot: warning: {bad}: "), lines
    assert ("skipped" if damage == "missing" else "inside a record") in lines[0], lines
    assert lines[1] == "portannot: output closed early (broken pipe)"


def _on_a_terminal(args: list[str], columns: int) -> str:
    """`portannot ARGS`'s standard output on a pseudo-terminal `columns` wide, as text:
    its style codes taken out and the terminal's CRLF made LF."""
    import fcntl
    import pty
    import re
    import struct
    import termios

    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    shown = bytearray()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "portannot", *args],
                                stdin=subprocess.DEVNULL, stdout=terminal,
                                stderr=subprocess.PIPE,
                                env=dict(os.environ, COLUMNS=str(columns)))
        os.close(terminal)
        terminal = -1
        while True:  # read as it comes: a terminal holds only so much
            try:
                got = os.read(controller, 65536)
            except OSError:  # EIO: no process holds the terminal any more
                break
            if not got:
                break
            shown += got
        _, err = proc.communicate(timeout=300)
    finally:
        os.close(controller)
        if terminal >= 0:
            os.close(terminal)
    assert proc.returncode == 0, err
    return re.sub(r"\x1b\[[0-9;]*m", "", shown.decode()).replace("\r\n", "\n")


@pytest.mark.parametrize("args", [
    ["flows", str(DEMO)],
    ["flows", "--idle-timeout", "1", "--top", "5", str(DEMO)],
    ["summary", str(DEMO)],
    ["registry", "info"],
    ["lookup", "443", "ssh", "53/udp"],
])
def test_tables_piped_or_in_a_file_end_no_line_in_spaces(tmp_path, args):
    """The rich tables (flows' table view, summary, registry info, lookup) written to a
    pipe or a file: rich padded every line to the table's width, the title, the rule
    under the header and each row's last cell (`portannot flows demo.pcap | cat -A`:
    25 lines of 28 ending in spaces, up to 130 of them), which `diff`, `grep` and `awk`
    all see. Now no line ends in a space, and the text is what the terminal shows (a
    terminal as wide, its style codes left out) but for those spaces: the same columns
    and values. On the terminal nothing changes: its lines keep their padding."""
    piped = run(args, env={"COLUMNS": "160"})
    assert piped.returncode == 0, piped.stderr
    text = piped.stdout.decode()
    assert text.count("\n") > 3
    assert [line for line in text.splitlines() if line.endswith(" ")] == []
    shown = _on_a_terminal(args, 160)
    assert any(line.endswith(" ") for line in shown.splitlines())
    assert text == "".join(line.rstrip(" ") + "\n" for line in shown.splitlines())
    if args[0] == "flows":  # -o a file: the same text
        out = tmp_path / "flows.txt"
        assert run([*args, "-o", str(out)]).returncode == 0
        assert out.read_text() == text


def test_a_closed_standard_error_is_held_before_the_preload_starts():
    """`2>&-`: the preload helper's thread opened pyarrow's libraries while the command
    started, taking descriptor 2 for a moment, so that the output file opened later could
    become descriptor 2 and the messages went into it (test_closed_standard_error_...
    above exited 5 for 3, now and then, in CI). Descriptor 2 is /dev/null before the
    helper starts: checked where it starts, the command run as installed (console())."""
    code = """
import os, sys
import portannot.cli.preload as p
p.preload = lambda: os.write(1, f"fd2={os.path.realpath('/proc/self/fd/2')}\\n".encode())
sys.argv = ["portannot", "--version"]
from portannot.cli import console
console()
"""
    proc = subprocess.run([sys.executable, "-c", code], stdin=subprocess.DEVNULL,
                          capture_output=True, preexec_fn=lambda: os.close(2), timeout=300,
                          check=False)
    assert f"fd2={os.devnull}\n".encode() in proc.stdout, proc.stdout[-300:]
