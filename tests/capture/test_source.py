"""capture/source: how an input is opened.

The pipe an input comes through gets a wider kernel buffer: through Linux's default
64 KiB pipe, `cat capture | portannot flows -` switched between writer and reader every
64 KiB and read at a fraction of the file's speed (source.widen_pipe). The size is read
back from the kernel (F_GETPIPE_SZ)."""

from __future__ import annotations

import io
import os
import sys
import threading

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
    try:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(os.fdopen(r, "rb")))
        assert portannot.packets("-").num_rows == 1500
        writer.join()
        assert pipe_size(keep) == expected_size()
    finally:
        os.close(keep)

