"""output.Output used on its own, as README shows it with BatchWriter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from portannot.errors import OutputError
from portannot.output import BatchWriter, Output


def test_a_pathlike_is_taken_as_every_other_stage_takes_it(tmp_path: Path) -> None:
    """Output(Path("flows.csv")) was an AttributeError ('PosixPath' object has no
    attribute 'startswith'), where CaptureReader, load_table and portannot.flows take a
    Path; its hint said str | None."""
    target = tmp_path / "flows.csv"
    with Output(target) as out:
        out.stream.write(b"a\n")
    assert target.read_bytes() == b"a\n"
    with pytest.raises(OutputError, match="already exists"):
        Output(target)
    with BatchWriter("csv", Output(target, force=True)):
        pass
    assert target.exists()


def test_a_path_of_bytes_is_refused_with_a_type_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="str or os.PathLike"):
        Output(bytes(tmp_path / "x.csv"))  # type: ignore[arg-type]


def test_output_error_is_importable_where_the_others_are(tmp_path: Path) -> None:
    """Output refuses an existing file, a missing directory or a failed write with
    portannot.errors.OutputError, which neither `portannot` (beside InputError and
    RegistryError) nor `portannot.output` offered, nor README named: a caller had to
    find the private module to catch it."""
    import portannot
    import portannot.output

    assert portannot.OutputError is OutputError
    assert portannot.output.OutputError is OutputError
    assert "OutputError" in portannot.__all__ and "OutputError" in portannot.output.__all__
    (tmp_path / "x.csv").write_text("")
    with pytest.raises(portannot.OutputError, match="already exists"):
        Output(tmp_path / "x.csv")


def _left_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def _write_and_drop(target: Path, how: str) -> None:
    """An Output given rows and then let go without commit() or abort(), the ways a
    script of README's stages does it."""
    import pyarrow as pa

    rows = pa.record_batch({"port": pa.array([80, 443], pa.uint16())})
    if how == "dropped":
        out = Output(target, force=True)
        out.stream.write(b"new\n")
        del out
    elif how == "raised past":  # a non-OSError escapes the function holding it
        def stage() -> None:
            out = Output(target, force=True)
            out.stream.write(b"new\n")
            raise LookupError("the script's own failure")
        with pytest.raises(LookupError):
            stage()
    else:  # a writer, of each kind, dropped after a write
        writer = BatchWriter(how, Output(target, force=True))
        writer.write(rows)
        del writer


@pytest.mark.parametrize("how", ["dropped", "raised past", "csv", "jsonl", "parquet"])
def test_an_output_let_go_unfinished_leaves_no_temporary(how: str, tmp_path: Path) -> None:
    """Output(path) let go without its commit or abort (dropped, or its holder left by
    an exception other than an OSError) left '.portannot-*.part' beside the target for
    good. Now it is removed, and the file it was to replace is as it was."""
    target = tmp_path / "flows.out"
    target.write_bytes(b"old\n")
    _write_and_drop(target, how)
    assert _left_in(tmp_path) == ["flows.out"]
    assert target.read_bytes() == b"old\n"


def test_an_output_open_at_exit_leaves_no_temporary(tmp_path: Path) -> None:
    """A script that ends while an Output is still open (held by a global) leaves no
    temporary either; the output is not put in place, being unfinished."""
    import subprocess
    import sys

    target = tmp_path / "flows.csv"
    script = ("import sys\nfrom portannot.output import Output\n"
              "out = Output(sys.argv[1])\nout.stream.write(b'row\\n')\n")
    subprocess.run([sys.executable, "-c", script, str(target)], check=True, timeout=60)
    assert _left_in(tmp_path) == []


def test_a_committed_output_is_kept_when_dropped(tmp_path: Path) -> None:
    """The removal of a dropped Output is only of an unfinished one."""
    target = tmp_path / "flows.csv"
    out = Output(target)
    out.stream.write(b"row\n")
    out.commit()
    del out
    assert target.read_bytes() == b"row\n" and _left_in(tmp_path) == ["flows.csv"]


def test_abort_closes_a_fifo_unflushed_past_a_stalled_reader(tmp_path: Path) -> None:
    """Output(fifo).abort() left the FIFO open until garbage collection (commit() closes
    it), so its reader saw no end. Now abort() closes it at once, without writing its
    buffer into a pipe whose reader has stopped reading (which would block): the reader
    gets what was in the pipe before, then its end, and none of the aborted rows."""
    import errno
    import threading

    fifo = tmp_path / "rows.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        out = Output(fifo)
        filler = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # fills the pipe: it stalls
        sent = 0
        try:
            while True:
                sent += os.write(filler, b"f" * 4096)
        except BlockingIOError:
            pass
        finally:
            os.close(filler)
        out.stream.write(b"aborted row\n")  # in the stream's buffer: a flush would block
        aborting = threading.Thread(target=out.abort, daemon=True)
        aborting.start()
        aborting.join(60)  # a guard against a hang, not a timing: it blocked for good
        assert not aborting.is_alive()
        assert out.stream.closed
        got = b""
        while True:
            try:
                chunk = os.read(reader, 65536)
            except OSError as exc:  # EAGAIN: a writer is still open, no end seen
                assert exc.errno != errno.EAGAIN, "the FIFO was left open"
                raise
            if not chunk:
                break
            got += chunk
        assert got == b"f" * sent
    finally:
        os.close(reader)


def test_a_nul_in_the_path_is_an_output_error(tmp_path: Path) -> None:
    """Output("a\\0b.csv") was os.stat's bare ValueError ('embedded null byte'), naming
    no path; now an OutputError as other unwritable paths are, the NUL escaped."""
    with pytest.raises(OutputError) as caught:
        Output(f"{tmp_path}/a\0b.csv")
    assert str(caught.value) == f"{tmp_path}/a\\x00b.csv: a NUL byte in the file name, which no file can have"
    assert list(tmp_path.iterdir()) == []
