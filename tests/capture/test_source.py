"""capture/source: how an input is opened.

The pipe an input comes through gets a wider kernel buffer: through Linux's default
64 KiB pipe, `cat capture | portannot flows -` switched between writer and reader every
64 KiB and read at a fraction of the file's speed (source.widen_pipe). The size is read
back from the kernel (F_GETPIPE_SZ)."""

from __future__ import annotations

import io
import os
import struct
import sys
import threading
import warnings

import pytest
from paths import local_capture

import portannot
from portannot.capture.source import PIPE_BUFFER, widen_pipe

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
linux_pipes = pytest.mark.skipif(not hasattr(fcntl, "F_SETPIPE_SZ"),
                                 reason="no pipe sizes on this system (Linux only)")


def expected_size() -> int:
    """What widen_pipe may ask for: PIPE_BUFFER, or less where the system caps pipes."""
    with open("/proc/sys/fs/pipe-max-size") as f:
        return min(PIPE_BUFFER, int(f.read()))


def pipe_size(fd: int) -> int:
    return fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)


@linux_pipes
def test_a_pipe_is_widened_to_what_the_system_allows():
    r, w = os.pipe()
    try:
        assert pipe_size(r) == 65536  # Linux's default, so that the test shows a change
        with os.fdopen(os.dup(r), "rb", buffering=0) as stream:
            widen_pipe(stream)
        assert pipe_size(r) == pipe_size(w) == expected_size()
    finally:
        os.close(r)
        os.close(w)


@linux_pipes
def test_what_is_not_a_pipe_is_left_alone(tmp_path):
    """A regular file and a stream without a descriptor: no error, nothing to set."""
    path = tmp_path / "f"
    path.write_bytes(b"x")
    with open(path, "rb") as f:
        widen_pipe(f)
    widen_pipe(io.BytesIO(b"x"))  # type: ignore[arg-type]


@linux_pipes
def test_standard_input_from_a_pipe_is_widened_and_read_whole(monkeypatch):
    """portannot.packets("-") with standard input a pipe: every packet of
    random-stacks.pcap (1,500 packets, three times the default pipe, so the writer waits
    for the reader), and the pipe's buffer is the wider one by the time the read is done."""
    data = local_capture("random-stacks.pcap").read_bytes()
    assert len(data) > 65536
    r, w = os.pipe()

    def write() -> None:
        with os.fdopen(w, "wb") as f:
            f.write(data)

    writer = threading.Thread(target=write)
    writer.start()
    keep = os.dup(r)  # the pipe's size, read after the reader closed its end
    stdin = io.TextIOWrapper(os.fdopen(r, "rb"))
    try:
        monkeypatch.setattr(sys, "stdin", stdin)
        assert portannot.packets("-").num_rows == 1500
        writer.join()
        assert pipe_size(keep) == expected_size()
    finally:
        os.close(keep)
        stdin.close()



class _FailingDisk(io.RawIOBase):
    """A file whose bytes from `limit` on cannot be read (EIO), as on a bad disk."""

    def __init__(self, path: str, limit: int) -> None:
        self.f = open(path, "rb")  # noqa: SIM115
        self.limit = limit

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        left = self.limit - self.f.tell()
        if left <= 0:
            raise OSError(5, "Input/output error")
        return self.f.readinto(memoryview(b)[:left])

    def close(self) -> None:
        self.f.close()
        super().close()


@pytest.mark.parametrize("kind", ["pcap", "pcapng"])
def test_an_io_error_mid_file_keeps_the_records_before_it(kind, tmp_path, monkeypatch, cli):
    """An I/O error after records were read is damage (exit 3), the records before it
    kept: it was "could not be read at all" (exit 4), which lost them all with -o and in
    the API, and of several inputs called the file skipped while keeping its records.
    Every record ending before the error's offset is read, as dpkt reads the same bytes."""
    from capgen import dpkt_frames, layout, write_pcap, write_pcapng

    import portannot.capture.source as source
    from portannot.capture import CaptureReader

    frames = [f for _ts, f in dpkt_frames(local_capture("demo.pcap"))] * 20
    path = tmp_path / f"big.{kind}"
    if kind == "pcap":
        write_pcap(path, [(i * 1000, f) for i, f in enumerate(frames)])
    else:
        write_pcapng(path, [(i * 1000, f, 0) for i, f in enumerate(frames)])
    data = path.read_bytes()
    limit = len(data) * 2 // 3
    real_open = source._open_raw
    monkeypatch.setattr(source, "_open_raw",
                        lambda p: (_FailingDisk(p, limit), None) if p == str(path)
                        else real_open(p))

    reader = CaptureReader(str(path), chunk_size=1 << 16)
    got = [b.record(i) for b in reader for i in range(len(b))]
    *cut, problem = reader.problems
    assert problem.message == "read error (Input/output error); stopped reading"
    assert problem.offset == limit  # every byte the disk gave
    whole = [end for _start, end in layout(data).records if end <= limit]
    assert len(whole) > 1000 and got[:len(whole)] == frames[:len(whole)]
    if kind == "pcap":  # the record the error cut is kept as far as it came, and said so
        assert len(got) == len(whole) + 1 and frames[len(whole)].startswith(got[-1])
        assert [p.message.split(" (")[0] for p in cut] == ["reading stopped inside a record"]
    else:  # a cut block is lost, as in tshark
        assert len(got) == len(whole)
        assert [p.message.split(" (")[0] for p in cut] == ["reading stopped inside a block"]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = portannot.packets(str(path)).num_rows
    assert [str(w.message).split(": ", 1)[1].split(" (")[0] for w in caught] == [
        p.message.split(" (")[0] for p in reader.problems]
    assert rows == len(got)
    out = tmp_path / "out.csv"
    code, _out, err = cli("packets", "-q", str(path), "-o", str(out))
    assert code == 3 and "read error (Input/output error); stopped reading" in err
    assert len(out.read_text().splitlines()) == 1 + rows
    code, _out, err = cli("flows", "-q", str(path), str(local_capture("demo.pcap")),
                          "-f", "csv")
    assert code == 3 and "skipped" not in err


def _run_on_a_terminal(args: list[str], timeout: float = 60):
    """`portannot ARGS` with a pseudo-terminal as standard input (and nothing typed):
    its exit status and stderr, or None if it was still waiting after `timeout` s."""
    import os
    import pty
    import subprocess
    import sys

    controller, terminal = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "portannot", *args], stdin=terminal,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return None
        return proc.returncode, err.decode()
    finally:
        os.close(controller)
        os.close(terminal)


@pytest.mark.parametrize("command", ["flows", "packets"])
def test_a_capture_is_not_read_from_a_terminal(command: str) -> None:
    """`portannot flows -` with standard input a terminal waited for ever for a capture
    no one types (gzip refuses so: "compressed data not read from a terminal"). It is an
    input that cannot be read: one line, exit 4, at once."""
    from portannot.errors import ExitCode

    result = _run_on_a_terminal([command, "-", "-f", "csv", "-q"], timeout=30)
    assert result is not None, "still waiting on the terminal"
    status, err = result
    assert status == ExitCode.INPUT_ERROR
    assert err.strip().splitlines() == [
        "portannot: <stdin>: standard input is a terminal: a capture is not read from one "
        "(pipe or redirect it, or give the capture's path)"]


@pytest.mark.parametrize("call", ["flows", "packets", "summary", "iter_flows", "CaptureReader"])
def test_an_empty_path_is_named_as_the_command_names_it(call, cli):
    """portannot.flows("") raised InputError(": no such file") (os.stat's ENOENT for the
    path that is no name), and `portannot flows ''` said 'portannot: : no such file':
    neither named what was given. Both now say the empty name, quoted, in one wording;
    the command still exits 4 (an input that cannot be read). Of several inputs it is
    the warning of a skipped one, and the others are read."""
    from portannot.capture import CaptureReader
    from portannot.errors import ExitCode, InputError

    said = "'': an empty file name, not a capture"
    with pytest.raises(InputError) as raised:
        if call == "CaptureReader":
            list(CaptureReader(""))
        elif call == "iter_flows":
            next(portannot.iter_flows(""))
        else:
            getattr(portannot, call)("")
    assert str(raised.value) == said
    code, out, err = cli(call if call in ("flows", "packets", "summary") else "flows", "")
    assert (code, out, err) == (ExitCode.INPUT_ERROR, "", f"portannot: {said}\n")
    demo = str(local_capture("demo.pcap"))
    with pytest.warns(portannot.CaptureWarning, match=f"^{said}; skipped"):
        both = portannot.flows(["", demo])
    assert both.num_rows == portannot.flows(demo).num_rows > 0


def _pcap_records_within(data: bytes) -> int:
    """The records whose 16-byte header is in `data`, counted by hand from the pcap
    record headers (one cut after its header is kept, as README says of a file cut
    inside a record)."""
    import struct

    count, at = 0, 24
    while at + 16 <= len(data):
        count, at = count + 1, at + 16 + struct.unpack_from("<I", data, at + 8)[0]
    return count


def test_a_non_blocking_file_object_is_said_to_be_one():
    """A pipe set non-blocking (os.set_blocking(fd, False), open(fd, 'rb', buffering=0))
    with nothing written was "<stream 1>: read error (BlockingIOError: [Errno 11] the
    file object is non-blocking and had no bytes ready)": the object's own error class
    in the user's line. The read cannot wait on it (that needs polling the descriptor),
    so it stops as at a read error, keeping what came before, said as what it is."""
    data = local_capture("demo.pcap").read_bytes()
    want = "<stream 1>: the file object is non-blocking and had no bytes ready (give a blocking one)"
    for written in (0, 3000):
        r, w = os.pipe()
        try:
            os.write(w, data[:written])
            os.set_blocking(r, False)
            with open(r, "rb", buffering=0) as f, warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                if not written:
                    with pytest.raises(portannot.InputError) as exc:
                        portannot.packets(f)
                    assert str(exc.value) == want
                    continue
                table = portannot.packets(f)
        finally:
            os.close(w)
        assert table.num_rows == _pcap_records_within(data[:written]) > 0
        assert f"{want}; stopped reading at byte offset {written}" in [
            str(x.message) for x in seen]


class _NotYet(io.RawIOBase):
    """A non-blocking object: `data`'s first `ready` bytes, then None (no bytes ready
    now) from readinto, as a FileIO over a non-blocking pipe gives."""

    def __init__(self, data: bytes, ready: int) -> None:
        self.data, self.ready, self.at = data, ready, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int | None:
        n = min(len(b), self.ready - self.at)
        if n <= 0:
            return None
        b[:n] = self.data[self.at:self.at + n]
        self.at += n
        return n


@pytest.mark.parametrize("ready", [50, 100, 20766 + 16 + 50])
def test_no_bytes_ready_inside_a_record_is_not_the_files_end(ready):
    """A non-blocking object with no bytes ready inside a record: the reader said "file
    ends inside a record" of it, then that the object had none ready, two lines of which
    the first was untrue (the data goes on, unread). The cut record's line says the
    reading stopped; the record is kept as far as it came, as at a read error. Offsets
    and lengths from demo.pcap's record headers, read here by hand."""
    data = local_capture("demo.pcap").read_bytes()
    last = 24  # the start of the record the stop cuts
    while last + 16 + struct.unpack_from("<I", data, last + 8)[0] <= ready:
        last += 16 + struct.unpack_from("<I", data, last + 8)[0]
    if ready - last < 16:
        cut = f"reading stopped inside a record header ({ready - last} of 16 bytes present)"
    else:
        incl = struct.unpack_from("<I", data, last + 8)[0]
        cut = (f"reading stopped inside a record ({ready - last - 16} of {incl} captured "
               "bytes present); kept what is there")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        table = portannot.packets(_NotYet(data, ready))
    assert [str(x.message) for x in seen] == [
        f"<stream 1>: {cut} at byte offset {last}",
        "<stream 1>: the file object is non-blocking and had no bytes ready (give a "
        f"blocking one); stopped reading at byte offset {ready}"]
    assert table.num_rows == _pcap_records_within(data[:ready])


def _stopped_at(data: bytes, ready: int) -> list[str]:
    """The warnings portannot.packets gives over `data` read by a non-blocking object
    with its first `ready` bytes ready, then none."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        portannot.packets(_NotYet(data, ready))
    return [str(x.message) for x in seen]


def test_a_length_past_a_stopped_read_is_not_said_to_pass_the_files_end():
    """pcapng-simple.pcapng (480 bytes) with its first packet block's length made to
    run past byte 336, read by an object that had 336 bytes ready: the damage was
    "block length 688 points past the end of the file", a file that goes on unread to
    byte 480. Block offsets from the file's own block lengths, read here."""
    data = bytearray(local_capture("pcapng-simple.pcapng").read_bytes())
    starts, at = [], 0
    while at < len(data):
        starts.append(at)
        at += struct.unpack_from("<I", data, at + 4)[0]
    assert starts == [0, 28, 48, 136, 228, 336]  # SHB, IDB, four packet blocks
    struct.pack_into("<I", data, 48 + 4, 336 - 48 + 400)
    assert _stopped_at(bytes(data), 336) == [
        "<stream 1>: block length 688 points past where reading stopped; skipped 88 bytes "
        "to the next valid block, at byte offset 136; the damage starts at byte offset 48",
        "<stream 1>: the file object is non-blocking and had no bytes ready (give a "
        "blocking one); stopped reading at byte offset 336"]


def test_a_section_skipped_to_a_stopped_read_is_not_said_to_reach_the_files_end():
    """A section of pcapng version 2.0 (skipped: not readable as 1.x) whose bytes stop
    coming inside it: its skip was said to run "to the end of the file"."""
    data = local_capture("pcapng-simple.pcapng").read_bytes()
    v2 = bytearray(data[:28])
    struct.pack_into("<HH", v2, 12, 2, 0)
    whole = data + bytes(v2) + data[28:]
    ready = len(data) + 100
    assert _stopped_at(whole, ready) == [
        f"<stream 1>: section header block of version 2.0, a major version other than 1 "
        f"(not readable as 1.x): skipped its section, 100 bytes to where reading stopped; "
        f"the section starts at byte offset {len(data)}",
        "<stream 1>: the file object is non-blocking and had no bytes ready (give a "
        f"blocking one); stopped reading at byte offset {ready}"]


@pytest.mark.parametrize("name,ready", [("demo.pcap", 10), ("pcapng-simple.pcapng", 10)])
def test_no_bytes_ready_inside_the_capture_header_is_said_as_such(name, ready):
    """Inside the capture header it was CaptureFormatError "file ends inside the pcap
    file header" (pcapng: "... section header"), the object's stop unsaid; README has a
    read error (and a non-blocking object with nothing ready) before the capture header
    an InputError saying what happened."""
    data = local_capture(name).read_bytes()
    with pytest.raises(portannot.InputError) as caught:
        portannot.packets(_NotYet(data, ready))
    assert not isinstance(caught.value, portannot.CaptureFormatError)
    assert str(caught.value) == ("<stream 1>: the file object is non-blocking and had no "
                                 "bytes ready (give a blocking one)")


def test_a_socket_path_is_said_to_be_one(cli):
    """A Unix socket's path given as a capture: open() refuses it with ENXIO, and the
    command said "<path>: No such device or address", of a path that is there. It is an
    input that cannot be read, said as what it is (exit 4; of several, skipped)."""
    import socket
    import tempfile

    demo = str(local_capture("demo.pcap"))
    with tempfile.TemporaryDirectory(dir="/tmp") as short, \
            socket.socket(socket.AF_UNIX) as sock:  # a socket path holds 108 bytes at most
        path = os.path.join(short, "s")
        sock.bind(path)
        with pytest.raises(portannot.InputError, match="is a socket, not a capture file"):
            portannot.summary(path)
        code, _, err = cli("summary", path)
        assert code == 4 and err == f"portannot: {path}: is a socket, not a capture file\n"
        code, out, err = cli("flows", "-f", "csv", demo, path)
        assert code == 4 and "is a socket" in err
        assert out == cli("flows", "-f", "csv", demo)[1]


@pytest.mark.parametrize("name", ["/dev/stdin", "own"])
def test_a_terminal_given_by_its_path_is_refused_as_standard_input_is(name: str) -> None:
    """`-` on a terminal is refused at once, but the same terminal named by a path
    (`portannot flows /dev/stdin` typed in a shell, /dev/tty, /dev/pts/N) waited for ever
    for a capture no one types. It is refused the same way: one line, exit 4; beside a
    capture, a warning, the capture read."""
    import pty
    import subprocess

    from portannot.errors import ExitCode

    def run(args: list[str]) -> tuple[int, str] | None:
        proc = subprocess.Popen([sys.executable, "-m", "portannot", *args], stdin=terminal,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return None  # still waiting on the terminal
        return proc.returncode, err.decode()

    controller, terminal = pty.openpty()
    try:
        path = os.ttyname(terminal) if name == "own" else name
        said = (f"{path}: is a terminal: a capture is not read from one (pipe or redirect "
                "it, or give the capture's path)")
        assert run(["flows", path, "-f", "csv", "-q"]) == (
            ExitCode.INPUT_ERROR, f"portannot: {said}\n")
        assert run(["summary", str(local_capture("demo.pcap")), path, "-q"]) == (
            ExitCode.INPUT_ERROR, f"portannot: warning: {said}; skipped, the other inputs "
            "read\n")
        # in-process last: before the fix it waited for ever
        with pytest.raises(portannot.InputError, match="is a terminal"):
            portannot.flows(os.ttyname(terminal))
    finally:
        os.close(controller)
        os.close(terminal)


def test_a_wait_on_a_pipe_ends_once_the_watched_output_s_reader_has_gone(tmp_path):
    """watch_output: an input pipe opened under it (here a FIFO given by path) waits on
    its bytes as before while the watched output pipe has a reader, and raises the
    broken pipe's BrokenPipeOutput from that wait once the reader has gone, the input's
    writer still silent. Outside the block, or with a file to watch, nothing is
    watched."""
    from portannot.capture.source import open_capture, watch_output
    from portannot.errors import BrokenPipeOutput

    fifo = tmp_path / "live.pcap"
    os.mkfifo(fifo)
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    out_read, out_write = os.pipe()
    held: list[int] = []

    def write() -> None:  # the capture's header, then silence
        held.append(os.open(fifo, os.O_WRONLY))
        os.write(held[0], header)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        with watch_output(out_write):
            stream, _, _ = open_capture(str(fifo))  # once the header's first bytes came
        writer.join()
        try:
            assert stream.read(24)[:6] == header[:6]  # the first bytes, read by the sniffing
            assert not stream.ready(0.05)  # nothing more yet: a reader is still there
            os.close(out_read)
            with pytest.raises(BrokenPipeOutput, match=r"output closed early \(broken pipe\)"):
                stream.ready(0.05)
            with pytest.raises(BrokenPipeOutput):
                stream.read(1)
        finally:
            stream.close()
    finally:
        writer.join()
        for fd in (*held, out_write):
            os.close(fd)


@pytest.mark.parametrize("watched", ["a file", "a closed descriptor", "nothing"])
def test_only_an_open_output_pipe_is_watched(tmp_path, watched):
    """A file, or nothing, is not watched; nor a pipe closed since (poll() would report
    POLLNVAL at every wait, a busy loop): the input pipe is waited on as before."""
    from portannot.capture.source import _Awaited, watch_output

    in_read, in_write = os.pipe()
    out_read, out_write = os.pipe()
    try:
        with open(tmp_path / "out", "wb") as f:
            fd = {"a file": f.fileno(), "a closed descriptor": out_write}.get(watched)
            with watch_output(fd):
                stream = _Awaited(open(in_read, "rb", buffering=0, closefd=False), in_read)
            os.close(out_read)  # a pipe with no reader, watched or not
            if watched == "a closed descriptor":
                os.close(out_write)
                out_write = -1
            assert not stream.ready(0.05)
            assert stream._output is None
            os.write(in_write, b"x")
            assert stream.read(1) == b"x"
    finally:
        for fd in (in_read, in_write, out_write):
            if fd >= 0:
                os.close(fd)
