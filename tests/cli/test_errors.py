"""Every way a capture command can fail ends with exactly one line on stderr, starting
`portannot:`, no traceback (unless --debug), and the exit code the README documents:

    3  finished, but part of an input was damaged or undecodable
    4  an input could not be read at all
    5  the output could not be written

A failed write never leaves a file at the output path that looks complete.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from capgen import big_capture
from paths import local_capture, shared_capture

from portannot.errors import ExitCode

COMMANDS = ["packets", "flows", "summary"]


def run(args: list[str], *, stdout=subprocess.PIPE, preexec=None, env=None,
        timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portannot", *args], stdout=stdout,
                          stderr=subprocess.PIPE, preexec_fn=preexec, env=env,
                          timeout=timeout, check=False)


def one_line(proc: subprocess.CompletedProcess, code: int, *, contains: str = "") -> str:
    err = proc.stderr.decode(errors="replace")
    lines = err.splitlines()
    assert proc.returncode == code, f"exit {proc.returncode}, expected {code}; stderr: {err[:500]}"
    assert "Traceback" not in err, err
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}: {err[:500]}"
    assert lines[0].startswith("portannot:"), lines[0]
    assert contains.lower() in lines[0].lower(), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def demo() -> Path:
    return local_capture("demo.pcap")


@pytest.fixture(scope="module")
def big(tmp_path_factory, demo) -> Path:
    """A capture whose CSV / Parquet output is a few MB (capgen.big_capture)."""
    return big_capture(tmp_path_factory.mktemp("big") / "big.pcap", demo)


# ---------------------------------------------------------------- inputs


@pytest.mark.parametrize("command", COMMANDS)
def test_missing_file(command, tmp_path):
    line = one_line(run([command, str(tmp_path / "nope.pcap")]), ExitCode.INPUT_ERROR)
    assert "nope.pcap" in line


def test_missing_file_with_debug_shows_traceback(tmp_path):
    proc = run(["--debug", "packets", str(tmp_path / "nope.pcap")])
    assert proc.returncode != 0 and b"Traceback" in proc.stderr


@pytest.mark.parametrize("args,code", [
    (["flows", "{tmp}/nope.pcap"], ExitCode.INPUT_ERROR),
    (["flows", "{demo}", "-o", "{tmp}/missing/x.csv"], ExitCode.OUTPUT_ERROR),
    (["flows", "{demo}", "--registry", "{tmp}/nope.csv"], ExitCode.REGISTRY_ERROR),
])
def test_debug_keeps_the_exit_code(args, code, tmp_path, demo):
    """--debug shows the traceback instead of the line, and exits as without it: a
    traceback left to Python exited 1, which README gives `lookup` finding nothing."""
    args = [a.format(tmp=tmp_path, demo=demo) for a in args]
    one_line(run(args), code)
    proc = run(["--debug", *args])
    assert proc.returncode == code and b"Traceback" in proc.stderr


def test_a_name_with_a_newline_is_still_one_line(tmp_path):
    """A control character in a file name is escaped in the message (a newline made it
    two lines)."""
    line = one_line(run(["flows", str(tmp_path / "two\nlines.pcap")]), ExitCode.INPUT_ERROR)
    assert "two\\nlines.pcap" in line


def _main_in_a_process(args: list[str]) -> subprocess.CompletedProcess:
    """The command run with argv a shell cannot give (exec ends an argument at a NUL):
    main() called with the list, in a process of its own, as main() exits it."""
    script = f"from portannot.cli.app import main\nmain({args!r})\n"
    return subprocess.run([sys.executable, "-c", script], stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=300, check=False)


@pytest.mark.parametrize("args,code", [
    (["flows", "{tmp}/a\0b.pcap"], ExitCode.INPUT_ERROR),
    (["summary", "{tmp}/a\0b.pcap"], ExitCode.INPUT_ERROR),
    (["flows", "{demo}", "-o", "{tmp}/a\0b.csv"], ExitCode.OUTPUT_ERROR),
    (["packets", "{demo}", "-o", "{tmp}/a\0b.csv"], ExitCode.OUTPUT_ERROR),
    (["flows", "--files-from", "{tmp}/a\0b.pcap"], ExitCode.INPUT_ERROR),
    (["flows", "{demo}", "--services", "{tmp}/a\0b.pcap"], ExitCode.REGISTRY_ERROR),
    (["registry", "update", "--file", "{tmp}/a\0b.pcap"], ExitCode.REGISTRY_ERROR),
    (["flows", "{demo}", "--registry", "{tmp}/a\0b.csv"], ExitCode.REGISTRY_ERROR),
    (["summary", "{demo}", "--registry", "{tmp}/a\0b.csv"], ExitCode.REGISTRY_ERROR),
    (["lookup", "80", "--registry", "{tmp}/a\0b.csv"], ExitCode.REGISTRY_ERROR),
    (["lookup", "80", "--services", "{tmp}/a\0b.csv"], ExitCode.REGISTRY_ERROR),
])
def test_a_nul_in_a_path_is_one_line(args, code, tmp_path, demo):
    """A path holding a NUL byte was Python's ValueError ('embedded null byte') as a
    traceback, exit 1. Now it is the one line of that kind of file, naming the path with
    the NUL escaped, and its exit code; --registry and --services with one said
    "registry file not found" of a file that cannot exist."""
    args = [a.format(tmp=tmp_path, demo=demo) for a in args]
    [bad] = [a for a in args if "\0" in a]
    said = bad.replace("\0", "\\x00") + ": a NUL byte in the file name, which no file can have"
    one_line(_main_in_a_process(args), code, contains=said)


def test_a_nul_in_a_listed_path_is_skipped_as_unreadable(tmp_path, demo):
    """A --files-from list is where a shell user can put a NUL in a path: the list held
    one, and the command ended in a traceback (exit 1) with no output. It is an input
    that cannot be read, as README has it: a warning, the others read, exit 4."""
    listed = tmp_path / "list"
    listed.write_bytes(b"a\0b.pcap\n" + bytes(demo) + b"\n")
    proc = run(["flows", "-f", "csv", "--files-from", str(listed)])
    line = one_line(proc, ExitCode.INPUT_ERROR, contains="a\\x00b.pcap: a NUL byte")
    assert line.startswith("portannot: warning:")
    alone = run(["flows", "-f", "csv", str(demo)])
    assert alone.returncode == 0 and proc.stdout == alone.stdout


def _memory_cap():
    """At most 4 GiB of address space for the command: a list read whole, as it was,
    ends there in a MemoryError instead of taking the machine's memory."""
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


@pytest.mark.parametrize("how", ["path", "stdin"])
def test_an_endless_list_without_a_newline_is_refused(how, tmp_path):
    """`--files-from /dev/zero` (or the same on standard input) was read whole, never
    ending: it took memory until a MemoryError traceback (exit 1; without a limit, the
    machine's memory). A line of 4096 bytes or more names no path the system takes
    (PATH_MAX: ENAMETOOLONG), so the list is refused there as one that cannot be read."""
    args = ["flows", "-f", "csv", "--files-from", "/dev/zero" if how == "path" else "-"]
    with open("/dev/zero", "rb") as zeros:
        proc = subprocess.run([sys.executable, "-m", "portannot", *args], stdin=zeros,
                              capture_output=True, preexec_fn=_memory_cap, timeout=300,
                              check=False)
    name = "/dev/zero" if how == "path" else "<stdin>"
    one_line(proc, ExitCode.INPUT_ERROR,
             contains=f"--files-from {name}: line 1 is longer than any path")


def test_a_list_line_longer_than_any_path_is_refused_wherever_it_falls(tmp_path, demo):
    """Lines are checked whether they end inside the piece read or not: a 5,000-byte line
    between good paths is line 2 of a list that cannot be read, not one more input."""
    listed = tmp_path / "list"
    listed.write_bytes(b"%s\n%s\n%s\n" % (bytes(demo), b"x" * 5000, bytes(demo)))
    one_line(run(["summary", "--files-from", str(listed)]), ExitCode.INPUT_ERROR,
             contains="line 2 is longer than any path")


@pytest.mark.parametrize("name", ["demo.pcap", "pcapng-simple.pcapng", "pcap-usec-le.pcap.gz",
                                  "pcap-usec-le.pcap.bz2", "pcapng-multi.pcapng.zst"])
def test_a_capture_given_as_the_list_is_said_to_be_one(name):
    """`--files-from capture.pcap` for `capture.pcap`: its bytes were split into hundreds
    of "paths" of binary, every one skipped in one warning line of 40 kB. The list's first
    bytes are a capture's (or a compressed file's): one line says so, exit 4."""
    capture = local_capture(name)
    one_line(run(["flows", "--files-from", str(capture)]), ExitCode.INPUT_ERROR,
             contains=f"--files-from {capture}: a capture (or a compressed file), not a list")


def test_a_list_whose_first_path_begins_as_bzip2_does_is_a_list():
    """bzip2's magic, "BZh", is text a path may begin with: only with the block (or end)
    magic after its digit is the list taken for a compressed file."""
    import bz2

    from portannot.cli.common import _binary_capture

    assert _binary_capture(bz2.compress(b"x")) and _binary_capture(bz2.compress(b""))
    assert not _binary_capture(b"BZh9 capture.pcap\nBZhost.pcap\n")


@pytest.mark.parametrize("command", COMMANDS)
def test_directory(command, tmp_path):
    one_line(run([command, str(tmp_path)]), ExitCode.INPUT_ERROR, contains="directory")


def _as_nobody():
    os.setgid(65534)
    os.setuid(65534)


def test_unreadable_file(tmp_path, demo):
    target = tmp_path / "secret.pcap"
    shutil.copy(demo, target)
    target.chmod(0)
    preexec = env = None
    if os.geteuid() == 0:  # root reads anything: drop to nobody for this run
        tmp_path.chmod(0o755)
        env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"), HOME=str(tmp_path))
        preexec = _as_nobody
    try:
        proc = run(["packets", str(target), "-f", "csv"], preexec=preexec, env=env)
    except (PermissionError, subprocess.SubprocessError) as exc:  # pragma: no cover
        pytest.skip(f"cannot drop privileges here: {exc}")
    one_line(proc, ExitCode.INPUT_ERROR, contains="permission denied")


@pytest.mark.parametrize("command", COMMANDS)
def test_empty_file(command, tmp_path):
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    one_line(run([command, str(empty)]), ExitCode.INPUT_ERROR, contains="empty")


@pytest.mark.parametrize("content", [b"hello, world\n" * 10, b"\x1f\x8bnot gzip at all", b"\xd4\xc3"])
def test_not_a_capture(tmp_path, content):
    path = tmp_path / "notes.pcap"
    path.write_bytes(content)
    one_line(run(["packets", str(path), "-f", "csv"]), ExitCode.INPUT_ERROR, contains="notes.pcap")


def test_unsupported_link_type(tmp_path):
    path = shared_capture("tcpdump/cve2015-0261-crash.pcap")  # SLIP (8)
    proc = run(["packets", str(path), "-f", "csv"])
    one_line(proc, ExitCode.DAMAGED_INPUT, contains="link type")


def test_damaged_input_names_offset(tmp_path, demo):
    data = bytearray(demo.read_bytes())
    data[24 + 8:24 + 12] = b"\xff\xff\xff\xff"  # first record claims 4 GiB
    path = tmp_path / "bad.pcap"
    path.write_bytes(bytes(data))
    line = one_line(run(["packets", str(path), "-f", "csv"]), ExitCode.DAMAGED_INPUT)
    assert "offset 24" in line


#: what a Python without a compression's module lacks: zstd on a CPython 3.14 built
#: without libzstd (compression.zstd needs its _zstd, and backports.zstd installs only
#: before 3.14), bz2's _bz2 on one built without libbz2's headers
WITHOUT = {"zstd": ("_zstd", "backports"), "bzip2": ("_bz2",)}


def run_without(modules: tuple[str, ...], args: list[str]) -> subprocess.CompletedProcess:
    """`portannot ARGS` in a Python where importing `modules` fails."""
    code = ("import runpy, sys; sys.modules.update(dict.fromkeys({!r})); "
            "sys.argv = ['portannot', *{!r}]; runpy.run_module('portannot', run_name='__main__')")
    return subprocess.run([sys.executable, "-c", code.format(modules, args)],
                          capture_output=True, timeout=300, check=False)


@pytest.mark.parametrize("kind,suffix", [("zstd", ".zst"), ("bzip2", ".bz2")])
def test_a_compression_this_python_cannot_do_is_one_line(tmp_path, demo, kind, suffix):
    """A .zst capture, or `-o out.csv.zst`, on a Python without a zstd module ended with a
    traceback (ModuleNotFoundError: No module named 'backports', exit 1), a .bz2 one on a
    Python without bz2 too. The input: exit 4, "cannot decompress"; the output: exit 5,
    "cannot compress", refused before any reading and no file left."""
    from packing import PACK

    capture = tmp_path / f"demo.pcap{suffix}"
    capture.write_bytes(PACK[suffix](demo.read_bytes()))
    proc = run_without(WITHOUT[kind], ["flows", str(capture)])
    read = one_line(proc, ExitCode.INPUT_ERROR, contains=f"{capture}: cannot decompress {kind}: ")
    out = tmp_path / f"out.csv{suffix}"
    proc = run_without(WITHOUT[kind], ["flows", str(demo), "-q", "-o", str(out)])
    written = one_line(proc, ExitCode.OUTPUT_ERROR, contains=f"{out}: cannot compress {kind}: ")
    why = read.split(f"compress {kind}: ", 1)[1]
    assert written.split(f"compress {kind}: ", 1)[1] == why
    assert ("libzstd" in why) if kind == "zstd" else ("_bz2" in why), why
    assert [p.name for p in tmp_path.iterdir()] == [capture.name]


# ---------------------------------------------------------------- outputs


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_output_directory_missing(tmp_path, demo, fmt):
    out = tmp_path / "no" / "such" / f"out.{fmt}"
    one_line(run(["flows", str(demo), "-f", fmt, "-o", str(out)]), ExitCode.OUTPUT_ERROR,
             contains="does not exist")
    assert not out.parent.exists()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_output_directory_that_is_a_file(tmp_path, demo, fmt):
    """`-o x.pcap/out.csv`, x.pcap a file: "output directory .../x.pcap does not exist"
    sent the user looking for a directory to make, where a file stands."""
    inside = tmp_path / "capture.pcap"
    inside.write_bytes(demo.read_bytes())
    out = inside / f"out.{fmt}"
    line = one_line(run(["flows", str(demo), "-f", fmt, "-o", str(out)]), ExitCode.OUTPUT_ERROR)
    assert line == f"portannot: {out}: {inside} is not a directory", line
    assert inside.read_bytes() == demo.read_bytes()


@pytest.mark.parametrize("command", ["packets", "flows"])
def test_output_exists_needs_force(tmp_path, demo, command):
    out = tmp_path / "out.csv"
    out.write_text("precious\n")
    one_line(run([command, str(demo), "-f", "csv", "-o", str(out)]), ExitCode.OUTPUT_ERROR,
             contains="--force")
    assert out.read_text() == "precious\n"
    proc = run([command, str(demo), "-f", "csv", "-o", str(out), "--force"])
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().startswith(("number", "flow", "first", "transport")) or len(out.read_text()) > 100



@pytest.mark.parametrize("why", ["exists", "no directory"])
def test_a_refused_output_file_leaves_the_callers_standard_output_alone(tmp_path, demo, why):
    """cli.main called in-process (README: "In-process callers use cli.main, which raises
    SystemExit as usual") with an -o file it refuses, exit 5, pointed the caller's
    descriptor 1 at /dev/null for the rest of its run: what the caller printed after
    the SystemExit was lost. Only a standard output that cannot take what it holds (a
    full disk, a reader gone) is so silenced; the -o file's failure leaves it as it was."""
    out = tmp_path / "out.csv" if why == "exists" else tmp_path / "no" / "out.csv"
    if why == "exists":
        out.write_text("precious\n")
    script = ("import os, sys\n"
              "from portannot.cli import main\n"
              "print('before', flush=True)\n"
              "try:\n"
              f"    main(['flows', {str(demo)!r}, '-f', 'csv', '-o', {str(out)!r}])\n"
              "except SystemExit as exc:\n"
              "    print('exit', exc.code, flush=True)\n"
              "print('fd 1:', os.readlink('/proc/self/fd/1') != os.devnull, flush=True)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300,
                          check=False)
    one_line(proc, 0, contains="already exists" if why == "exists" else "does not exist")
    assert proc.stdout.decode().splitlines() == ["before", "exit 5", "fd 1: True"], proc.stdout

@pytest.mark.parametrize("how", ["same", "link", "second", "stdin"])
@pytest.mark.parametrize("command", ["packets", "flows"])
def test_an_input_is_not_the_output(tmp_path, demo, command, how):
    """`-o x.pcap --force x.pcap` replaced the capture with the rows read from it (and
    without --force the refusal said to use --force): refused, exit 5, the capture
    untouched, by any name of the file and when standard input is it."""
    capture = tmp_path / "in.pcap"
    shutil.copyfile(demo, capture)
    link = tmp_path / "link.pcap"
    link.symlink_to(capture)
    inputs = {"same": [str(capture)], "link": [str(capture)], "second": [str(demo), str(capture)],
              "stdin": ["-"]}[how]
    out = link if how == "link" else capture
    for force in ([], ["--force"]):
        with open(capture, "rb") as stdin:
            proc = subprocess.run([sys.executable, "-m", "portannot", command, *inputs, "-f",
                                   "csv", "-o", str(out), *force], stdin=stdin,
                                  capture_output=True, timeout=300, check=False)
        line = one_line(proc, ExitCode.OUTPUT_ERROR, contains="is an input too")
        assert "--force" not in line
        assert capture.read_bytes() == demo.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.pcap", "link.pcap"]


@pytest.mark.parametrize("how", ["named", "stdin"])
@pytest.mark.parametrize("args", [["packets", "-f", "csv"], ["packets", "-f", "parquet"],
                                  ["packets"], ["flows", "-f", "jsonl"], ["flows"],
                                  ["summary"], ["summary", "--json"]])
def test_standard_output_into_an_input_is_refused(tmp_path, demo, args, how):
    """`portannot packets -f csv x.pcap >> x.pcap` appended its rows to the capture it
    read (41,777 bytes grew to 70,683; flows and summary their report), exit 0, and the
    capture then read as damaged: refused as -o x.pcap is, exit 5, before any writing,
    the capture untouched; also when standard input is the capture."""
    capture = tmp_path / "in.pcap"
    shutil.copyfile(demo, capture)
    inputs = [str(capture)] if how == "named" else ["-"]
    with open(capture, "rb") as stdin, open(capture, "ab") as stdout:
        proc = subprocess.run([sys.executable, "-m", "portannot", args[0], *inputs, *args[1:]],
                              stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                              timeout=300, check=False)
    shown = str(capture) if how == "named" else "standard input"
    line = one_line(proc, ExitCode.OUTPUT_ERROR, contains=f"is an input too ({shown})")
    assert line.startswith("portannot: standard output:")
    assert capture.read_bytes() == demo.read_bytes()
    with open(tmp_path / "rows", "wb") as other:  # another file: written as before
        proc = run([args[0], str(capture), *args[1:]], stdout=other)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "rows").stat().st_size > 0


def test_disk_full_on_standard_output(demo):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with open("/dev/full", "wb") as full:
        proc = run(["packets", str(demo), "-f", "csv"], stdout=full)
    one_line(proc, ExitCode.OUTPUT_ERROR, contains="space")


@pytest.mark.parametrize("args", [["packets", "-f", "csv"], ["packets", "-f", "jsonl"],
                                  ["flows", "-f", "csv"], ["packets", "-f", "csv", "-o", "/dev/full"]])
def test_disk_full_in_place_does_not_claim_nothing_was_written(demo, args):
    """Standard output (and a device written in place) keeps what went out before the
    disk filled: `packets -f csv big.pcap > small-fs/out.csv` left 64 KiB of rows there
    under "no space left on device; nothing written", which only a file written whole
    (-o FILE, removed on failure) can say."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with open("/dev/full", "wb") as full:
        proc = run([args[0], str(demo), *args[1:]], stdout=full)
    line = one_line(proc, ExitCode.OUTPUT_ERROR, contains="no space left")
    assert "nothing written" not in line, line


@pytest.mark.parametrize("unbuffered", [False, True])
@pytest.mark.parametrize("args", [["summary"], ["summary", "--json"], ["flows"], ["packets"],
                                  ["lookup", "80"], ["registry", "info"]])
def test_disk_full_on_standard_output_names_it(demo, args, unbuffered):
    """The reports and tables (rich, click.echo, print) failed on a full standard output
    with `portannot: No space left on device`, where CSV said which output was full:
    every view says `standard output: no space left on device`, with or without
    PYTHONUNBUFFERED (a failed write, or the flush at exit)."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    command = [args[0], str(demo), *args[1:]] if args[0] in ("summary", "flows", "packets") else args
    with open("/dev/full", "wb") as full:
        proc = run(command, stdout=full, env=env)
    line = one_line(proc, ExitCode.OUTPUT_ERROR)
    assert line == "portannot: standard output: no space left on device", line


def test_disk_full_says_nothing_written_only_of_a_file_written_whole(tmp_path):
    from portannot.output.files import Output, output_error

    full = OSError(28, "No space left on device")
    file = Output(str(tmp_path / "out.csv"))
    try:
        assert file.whole
        assert str(output_error(file.path, full, whole=file.whole)).endswith("; nothing written")
    finally:
        file.abort()
    stdout = Output(None)
    assert not stdout.whole
    assert "nothing written" not in str(output_error(None, full, whole=stdout.whole))


def _file_size_limit(limit: int):
    def apply() -> None:  # Python ignores SIGXFSZ: writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.parametrize("command,fmt", [("packets", "csv"), ("packets", "jsonl"),
                                         ("packets", "parquet"), ("flows", "csv")])
def test_failed_write_leaves_no_file(tmp_path, big, command, fmt):
    """The file system refuses the write half-way (here: a file size limit, as a full
    disk would): exit 5, one line, and nothing at the output path."""
    out = tmp_path / f"out.{fmt}"
    proc = run([command, str(big), "-f", fmt, "-o", str(out), "--quiet"],
               preexec=_file_size_limit(16 << 10))
    one_line(proc, ExitCode.OUTPUT_ERROR)
    assert not out.exists(), f"{out} left behind ({out.stat().st_size} bytes)"
    assert [p.name for p in tmp_path.iterdir()] == [], "temporary files left behind"


def test_failed_write_keeps_the_old_file(tmp_path, big):
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    proc = run(["packets", str(big), "-f", "csv", "-o", str(out), "--force", "--quiet"],
               preexec=_file_size_limit(16 << 10))
    one_line(proc, ExitCode.OUTPUT_ERROR)
    assert out.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


@pytest.mark.parametrize("command,name", [("packets", "out.csv.gz"), ("packets", "out.jsonl.zst"),
                                          ("packets", "out.csv.xz"), ("flows", "out.jsonl.lz4")])
def test_a_failed_compressed_write_leaves_no_file(tmp_path, big, command, name):
    """A compressed output (`-o out.csv.gz`) is written as any -o file: refused half-way
    (a file size limit, as a full disk), exit 5, one line, nothing at the path, and a
    file it would have replaced (--force) left as it was."""
    out = tmp_path / name
    proc = run([command, str(big), "-o", str(out), "--quiet"], preexec=_file_size_limit(16 << 10))
    one_line(proc, ExitCode.OUTPUT_ERROR)
    assert list(tmp_path.iterdir()) == [], "a file or temporary left behind"
    out.write_text("old\n")
    proc = run([command, str(big), "-o", str(out), "--quiet", "--force"],
               preexec=_file_size_limit(16 << 10))
    one_line(proc, ExitCode.OUTPUT_ERROR)
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_a_compressed_output_on_a_full_device_is_written_in_place(tmp_path, demo):
    """`-o x.csv.gz` naming a device (through a link: /dev/full) is compressed into it
    in place, as an uncompressed one is: disk full, exit 5, without "nothing written",
    and the link stays a link."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    link = tmp_path / "x.csv.gz"
    link.symlink_to("/dev/full")
    proc = run(["flows", str(demo), "-q", "-o", str(link), "--force"])
    line = one_line(proc, ExitCode.OUTPUT_ERROR, contains="no space left")
    assert "nothing written" not in line, line
    assert link.is_symlink()


def test_a_compressed_output_into_a_closed_fifo_is_a_broken_pipe(tmp_path, big):
    """A FIFO named .csv.gz whose reader goes away: the broken pipe's one line, exit 5."""
    fifo = tmp_path / "rows.csv.gz"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "portannot", "packets", str(big), "-q",
                             "-o", str(fifo)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with open(fifo, "rb") as reader:  # opened once the command opens it for writing
        reader.read(10)
    out, err = proc.communicate(timeout=300)
    proc = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    one_line(proc, ExitCode.OUTPUT_ERROR, contains="broken pipe")


def test_a_compressed_output_is_never_an_input(tmp_path, demo):
    capture = tmp_path / "in.pcap.gz"
    shutil.copyfile(demo, capture)
    proc = run(["flows", str(capture), "-q", "-f", "csv", "-o", str(capture), "--force"])
    one_line(proc, ExitCode.OUTPUT_ERROR, contains="is an input too")
    assert capture.read_bytes() == demo.read_bytes()


def test_output_to_a_device_is_not_replaced(tmp_path, demo):
    """`-o DEVICE --force` must write to the device (here a copy of /dev/full, so: disk
    full), never replace the device node with a regular file."""
    import stat

    dev = tmp_path / "full"
    try:
        os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except OSError as exc:
        pytest.skip(f"cannot make a device node: {exc}")
    proc = run(["packets", str(demo), "-f", "csv", "-o", str(dev), "--force"])
    still_device = stat.S_ISCHR(os.lstat(dev).st_mode)
    assert still_device, "the output device was replaced by a regular file"
    one_line(proc, ExitCode.OUTPUT_ERROR, contains="space")


@pytest.mark.parametrize(
    "args",
    [
        ["packets", "{big}", "-f", "csv"],
        ["packets", "{big}", "-f", "jsonl"],
        ["packets", "{big}", "-f", "table"],
        ["flows", "{big}"],  # rich tables: rich's own broken-pipe exit would be 1
        ["summary", "{big}"],
        ["lookup", "80", "443"],
    ],
)
def test_broken_pipe(big, args):
    """The reader of our output goes away (`| head`): one line, exit 5, no traceback."""
    r, w = os.pipe()
    os.close(r)
    try:
        proc = run([a.format(big=big) for a in args], stdout=w)
    finally:
        os.close(w)
    one_line(proc, ExitCode.OUTPUT_ERROR, contains="broken pipe")


@pytest.mark.parametrize("fmt", ["table", "csv"])
@pytest.mark.parametrize("command", ["packets", "flows"])
def test_a_refused_output_fails_before_reading(tmp_path, demo, command, fmt, monkeypatch):
    """The output is opened before the captures are read: one that is refused (here: it
    exists, no --force) ends the command before any reading starts, however big the
    input (the commands used to start reading first and stop when the output failed),
    and no reading thread is left behind."""
    import threading

    from portannot import pipeline
    from portannot.cli import main

    started = []
    for cls in (pipeline.PacketStream, pipeline.FlowStream):
        real = cls.start
        monkeypatch.setattr(cls, "start",
                            lambda self, real=real: started.append(self) or real(self))
    out = tmp_path / "out.csv"
    out.write_text("precious\n")
    with pytest.raises(SystemExit) as exc:
        main([command, *[str(demo)] * 200, "-f", fmt, "-o", str(out)])
    assert exc.value.code == ExitCode.OUTPUT_ERROR
    assert started == []
    assert not [t.name for t in threading.enumerate() if t.name.startswith("portannot-")]
    assert out.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    with pytest.raises(SystemExit) as exc:  # the control: the same command, allowed
        main([command, str(demo), "-f", fmt, "-o", str(out), "--force", "-q"])
    assert exc.value.code == 0 and len(started) == 1


@pytest.mark.parametrize("name", ["", "new/", "new/.", "out.csv/", "new/../x.csv",
                                  "out.csv/../x.csv"])
@pytest.mark.parametrize("command", ["packets", "flows"])
def test_an_output_name_that_is_no_file_fails_before_reading(tmp_path, demo, command, name,
                                                               monkeypatch, capsys):
    """-o "" or -o DIR/ (DIR missing) was refused only by the rename once the whole
    capture had been read and written (exit 5 after all the work), "" as "standard
    output: write failed". Now before any reading, naming what was given."""
    from portannot import pipeline
    from portannot.cli import main

    started = []
    for cls in (pipeline.PacketStream, pipeline.FlowStream):
        real = cls.start
        monkeypatch.setattr(cls, "start",
                            lambda self, real=real: started.append(self) or real(self))
    (tmp_path / "out.csv").write_text("precious\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main([command, str(demo), "-f", "csv", "-o", name])
    assert exc.value.code == ExitCode.OUTPUT_ERROR
    assert started == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("portannot:"), err
    assert "standard output" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


@pytest.mark.parametrize("command", COMMANDS)
def test_interrupt_while_input_is_held_open(tmp_path, command):
    """Ctrl-C while the reader waits on a pipe whose writer neither writes nor closes:
    exit 130 with one line, at once (the reading thread cannot see a stop while it is
    blocked; the command does not wait for it), and no output file."""
    import signal

    out = tmp_path / "out.csv"
    with _reading_a_pipe_held_open(tmp_path, _csv_unless_summary(command, out)) as proc:
        assert _blocked_reading(proc.pid)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == ExitCode.INTERRUPTED, err
    # one line: click's Abort printed an empty one first
    assert err.decode().splitlines() == ["portannot: interrupted"]
    assert not out.exists()


def _csv_unless_summary(command: str, out: Path) -> list[str]:
    """The command's arguments after its input: CSV into `out` (summary has no -o)."""
    return [command] if command == "summary" else [command, "-f", "csv", "-o", str(out)]


@contextlib.contextmanager
def _reading_a_pipe_held_open(tmp_path: Path, args: list[str],
                              preexec_fn=None) -> Iterator[subprocess.Popen]:
    """`portannot ARGS[0] FIFO ARGS[1:]` started, the FIFO's writer holding it open after a
    pcap file header, so that its reader waits in a read that no data will end; the
    writer closed and the command killed, if still running, on leaving."""
    import struct

    fifo = tmp_path / "live.pcap"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "portannot", args[0], str(fifo), *args[1:]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=preexec_fn)
    writer = os.open(fifo, os.O_WRONLY)  # returns once the command's reader has opened it
    try:
        os.write(writer, struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        yield proc
    finally:
        os.close(writer)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.parametrize("command", ["flows", "packets"])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(("signame", "line"), [("SIGTERM", "terminated"), ("SIGHUP", "hung up")])
@pytest.mark.parametrize("sigint", ["default", "ignored"])
def test_terminate_while_reading_leaves_no_temporary(tmp_path, command, fmt, signame, line,
                                                     sigint):
    """SIGTERM (kill, timeout, a service manager) and SIGHUP (the terminal closed, an ssh
    session dropped) killed the command where it stood: its temporary
    `.portannot-*.part` was left beside the -o target, as large as what had been
    written. The temporary is removed, and the command still ends by that signal, as
    its caller expects. Also when SIGINT is ignored, as in a job a script starts with
    `&` (POSIX shells ignore SIGINT there): SIGTERM was then not handled at all."""
    import signal

    signum = getattr(signal, signame)

    def ignore_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    out = tmp_path / f"out.{fmt}"
    with _reading_a_pipe_held_open(tmp_path, [command, "-o", str(out)],
                                   ignore_sigint if sigint == "ignored" else None) as proc:
        assert _blocked_reading(proc.pid)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == -signum, err
    assert err.decode().splitlines() == [f"portannot: {line}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.pcap"]


@pytest.mark.parametrize("command", COMMANDS)
def test_an_interrupt_delivered_to_the_reading_thread_ends_the_command(tmp_path, command):
    """A process's signal may be delivered to any of its threads (the kernel's choice
    when the main one has a signal pending; a thread id given to kill), and Python runs
    handlers in the main thread only: a Ctrl-C given to the reading thread, waiting on a
    pipe held open, left the main thread asleep in its untimed wait for the first batch,
    and the command hung. Sent here to that thread (tgkill): exit 130 with the one line,
    no output file."""
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "tgkill"):
        pytest.skip("no tgkill in this C library")
    out = tmp_path / "out.csv"
    with _reading_a_pipe_held_open(tmp_path, _csv_unless_summary(command, out)) as proc:
        reader = _reading_thread(proc.pid)
        assert reader is not None and reader != proc.pid
        assert _waiting(proc.pid)  # the main thread asleep in its wait for a batch
        assert libc.tgkill(proc.pid, reader, signal.SIGINT) == 0
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert err.decode().splitlines() == ["portannot: interrupted"]
    assert not out.exists()


def _waiting(pid: int) -> bool:
    """Wait until the process's main thread sleeps on a lock (a futex) for a while."""
    import time

    deadline = time.monotonic() + 30
    asleep = 0
    while time.monotonic() < deadline and asleep < 10:
        try:
            wchan = Path(f"/proc/{pid}/task/{pid}/wchan").read_text()
        except OSError:
            return False
        asleep = asleep + 1 if "futex" in wchan else 0
        time.sleep(0.02)
    return asleep >= 10


def _reading_thread(pid: int) -> int | None:
    """The id of the process's thread asleep in a read of a pipe, or in the poll()
    before each read (capture.source._Awaited), once there is one."""
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                wchan = (task / "wchan").read_text()
                if "pipe_read" in wchan or "poll_schedule_timeout" in wchan:
                    return int(task.name)
            except OSError:
                continue
        time.sleep(0.02)
    return None


def _blocked_reading(pid: int) -> bool:
    """Wait until one of the process's threads sleeps in a read (of the FIFO)."""
    return _reading_thread(pid) is not None


@pytest.mark.parametrize("delay", [0.04, 0.07, 0.1, 0.13, 0.16, 0.2, 0.25])
def test_interrupt_during_start_up_is_one_line(tmp_path, demo, delay):
    """Ctrl-C while the command is still importing (click, numpy, pyarrow: the first
    0.1 to 0.3 s) printed a KeyboardInterrupt traceback from the imports. Whenever it
    lands once the command has started (console() guards the rest of the start-up), it
    is the one line and exit 130; a signal that lands before (Python's own start, the
    package's first imports: a traceback that never reached console) proves nothing
    here, nor does a run that ended first."""
    import signal
    import time

    out = tmp_path / "out.parquet"
    proc = subprocess.Popen([sys.executable, "-m", "portannot", "flows", str(demo), "-f",
                             "parquet", "-o", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    text = err.decode()
    if proc.returncode == 0 or ("Traceback" in text and ", in console" not in text):
        return
    assert proc.returncode == ExitCode.INTERRUPTED, text
    assert text.splitlines() == ["portannot: interrupted"]
    assert not out.exists() and list(tmp_path.iterdir()) == []


# A SIGINT the command sends itself as the named methods are first called in the main
# thread: the signal lands at that point, every time (a real Ctrl-C did about once in
# 300 tries, when it came as reading ended)
_SIGINT_AT = """
import os, signal, sys, threading
from importlib import import_module

def poke(owner, name):
    original, sent = getattr(owner, name), []
    def wrapper(*args, **kwargs):
        if not sent and threading.current_thread() is threading.main_thread():
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)
        return original(*args, **kwargs)
    setattr(owner, name, wrapper)

for target in sys.argv[1].split(","):
    module, attrs = target.split(":")
    *path, name = attrs.split(".")
    owner = import_module(module)
    for attr in path:
        owner = getattr(owner, attr)
    poke(owner, name)
sys.argv[1:2] = []
from portannot.cli import console
console()
"""


def _interrupted_at(targets: list[str], args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _SIGINT_AT, ",".join(targets), *args],
                          capture_output=True, timeout=120, check=False)


def test_interrupt_as_the_output_is_closed_is_ignored(tmp_path, demo):
    """Ctrl-C once reading has ended, as the output is finished: the command ends as it
    would have (exit 0, its whole file, nothing on stderr). Raised there, the interrupt
    cut the Parquet writer's close short, and its finalizer printed "Exception ignored
    in: ParquetWriter.__del__ ... write to closed file" under the one line."""
    import pyarrow.parquet as pq

    out = tmp_path / "out.parquet"
    proc = _interrupted_at(["portannot.output.writers:BatchWriter.close"],
                           ["flows", str(demo), "-f", "parquet", "-o", str(out), "-q"])
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]
    assert pq.read_metadata(out).num_rows > 0


@pytest.mark.parametrize("command", COMMANDS)
def test_a_second_interrupt_during_the_cleanup_is_ignored(tmp_path, demo, command):
    """Ctrl-C while the command works, then again as it cleans up (the progress
    generator closed as it is dropped, waiting in Background.close for a stage to
    stop): one line, exit 130, no file. The second one printed "Exception ignored in:
    <generator object with_progress>" and a KeyboardInterrupt traceback."""
    out = tmp_path / "out.csv"
    work = {"summary": "portannot.output.summary:Summary.add",
            "packets": "portannot.output.writers:BatchWriter.write",
            "flows": "portannot.output.writers:BatchWriter.write"}[command]
    args = [command, str(demo), "-q"] + ([] if command == "summary" else
                                        ["-f", "csv", "-o", str(out)])
    proc = _interrupted_at([work, "portannot.background:Background.close"], args)
    assert proc.returncode == ExitCode.INTERRUPTED, proc.stderr
    assert proc.stderr.decode().splitlines() == ["portannot: interrupted"]
    assert list(tmp_path.iterdir()) == []


# A SIGINT landing where importlib drops a module's lock: in a weak reference callback
# of the import machinery's own code (`_get_module_lock.<locals>.cb`), which a real
# Ctrl-C during the start-up hit about once in 50 tries
_SIGINT_IN_IMPORTLIB = """
import signal, weakref
import portannot.cli.app as app

started = app._end_start_up_guard
def guard():
    started()
    names = {"raise_signal": signal.raise_signal, "SIGINT": signal.SIGINT}
    exec(compile("def cb(ref):\\n    raise_signal(SIGINT)\\n",
                 "<frozen importlib._bootstrap>", "exec"), names)
    class Lock:
        pass
    lock = Lock()
    ref = weakref.ref(lock, names["cb"])
    del lock  # cb runs here, the handler inside it
app._end_start_up_guard = guard
from portannot.cli import console
console()
"""


@pytest.mark.parametrize("command", COMMANDS)
def test_an_interrupt_inside_the_import_machinery_is_not_lost(tmp_path, demo, command):
    """Ctrl-C while importlib's own code runs in the main thread (a module lock let go
    as numba and pyarrow load): raised there, the KeyboardInterrupt was swallowed ("Exception
    ignored in: <function _get_module_lock.<locals>.cb>", the command going on, Ctrl-C
    ignored from then on), or left the global import lock held and the command hung for
    ever. It is the one line and exit 130, no file."""
    out = tmp_path / "out.csv"
    args = [command, str(demo), "-q"] + ([] if command == "summary" else
                                        ["-f", "csv", "-o", str(out)])
    proc = subprocess.run([sys.executable, "-c", _SIGINT_IN_IMPORTLIB, *args],
                          capture_output=True, timeout=120, check=False)
    assert proc.returncode == ExitCode.INTERRUPTED, proc.stderr
    assert proc.stderr.decode().splitlines() == ["portannot: interrupted"]
    assert list(tmp_path.iterdir()) == []


_BROKEN_BY_INTERRUPT = """
import os, signal, sys, threading, time
import portannot.output.writers as writers

def init(self, *args, **kwargs):  # an import that a Ctrl-C breaks into another error
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    except KeyboardInterrupt:
        raise TypeError("expected a message argument") from None
writers.BatchWriter.__init__ = init
from portannot.cli import console
console()
"""


def test_an_error_the_interrupt_caused_is_the_interruption(tmp_path, demo):
    """A Ctrl-C that lands inside an import can come out as another exception (in
    `import pyarrow.parquet`: "TypeError: expected a message argument", exit 1): once
    the interrupt was raised, whatever escapes the command is the one line and 130."""
    out = tmp_path / "out.parquet"
    proc = subprocess.run([sys.executable, "-c", _BROKEN_BY_INTERRUPT, "flows", str(demo),
                           "-f", "parquet", "-o", str(out), "-q"],
                          capture_output=True, timeout=120, check=False)
    assert proc.returncode == ExitCode.INTERRUPTED, proc.stderr
    assert proc.stderr.decode().splitlines() == ["portannot: interrupted"]
    assert list(tmp_path.iterdir()) == []


def test_a_dropped_stage_stops_its_thread():
    """A Background let go of unfinished stops its thread, seen from the thread (a weak
    reference) rather than by a finalizer: a Ctrl-C landing in a __del__ run in the
    main thread was printed as "Exception ignored" and swallowed."""
    import gc
    import threading
    import time
    from itertools import count

    from portannot.background import Background

    stage = Background((n for n in count()), "portannot-test-stage")
    assert next(stage) == 0
    worker = stage._worker
    del stage
    gc.collect()
    deadline = time.monotonic() + 5
    while worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not worker.is_alive()
    assert "portannot-test-stage" not in [t.name for t in threading.enumerate()]


# The rows still in the making once reading has ended (CSV pieces or Parquet row groups
# in the encoders' pool, then written): each piece made slow, and a signal sent after
# reading ended, at once (argv[2] "0": as the next line runs, before the writing goes
# on) or from a timer (argv[2] seconds later: while the command waits for the pieces)
_SIGNAL_AFTER_READING = """
import os, signal, sys, threading, time
import portannot.cli.app as app
import portannot.cli.common as common
import portannot.output.writers as writers

signum, delay = getattr(signal, sys.argv[1]), float(sys.argv[2])
sys.argv[1:3] = []

def slowed(make):
    def slow(*args):
        time.sleep(3)
        return make(*args)
    return slow

writers._csv_text = slowed(writers._csv_text)
writers._encoded = slowed(writers._encoded)
ended, sent = app.reading_ended, []

def reading_ended():
    ended()
    if not sent:
        sent.append(True)
        if delay:
            threading.Timer(delay, os.kill, (os.getpid(), signum)).start()
        else:
            os.kill(os.getpid(), signum)

app.reading_ended = common.reading_ended = reading_ended
from portannot.cli import console
console()
"""


@pytest.mark.parametrize("delay", [0, 0.3])
@pytest.mark.parametrize(("signame", "line"), [("SIGINT", "interrupted"),
                                               ("SIGTERM", "terminated")])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_signal_while_the_last_rows_are_written_interrupts(tmp_path, demo, fmt, signame,
                                                             line, delay):
    """Reading ends before the rows are all written: the pieces still being encoded, and
    with xz their compression, took seconds (flows-1m's last pieces). A Ctrl-C or SIGTERM
    then, or one that came as the reading ended, was ignored and the command wrote on
    (exit 0). Now it interrupts as during the reading: one line, the exit code README
    gives, no file and no temporary left."""
    import signal

    from portannot.cores import usable_cores

    if usable_cores() < 2:
        pytest.skip("one encoder: the rows are written as they come, none left at the end")
    out = tmp_path / f"out.{fmt}"
    proc = subprocess.run([sys.executable, "-c", _SIGNAL_AFTER_READING, signame, str(delay),
                           "flows", str(demo), "-o", str(out), "-q"],
                          capture_output=True, timeout=120, check=False)
    signum = getattr(signal, signame)
    code = ExitCode.INTERRUPTED if signum == signal.SIGINT else -signum
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.decode().splitlines() == [f"portannot: {line}"]
    assert list(tmp_path.iterdir()) == []
