"""The Python API (portannot.flows, packets, iter_*, summary) as a user calls it: the
paths it accepts, the arguments it refuses, the damage it reports."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from paths import local_capture

import portannot


def _rows(result) -> int:
    if hasattr(result, "num_rows"):
        return result.num_rows
    return sum(b.num_rows for b in result)


# ------------------------------------------------------------------ paths


@pytest.mark.parametrize("call", ["packets", "iter_packets", "flows", "iter_flows"])
def test_a_generator_of_paths_reads_every_file(call: str) -> None:
    """Path.glob hands over an iterator: it is read once, and every file it names is
    read (it used to be used up by the check for several files, leaving 0 rows)."""
    demo = local_capture("demo.pcap")
    func = getattr(portannot, call)
    expected = _rows(func(str(demo)))
    assert expected > 0
    assert _rows(func(demo.parent.glob("demo.pcap"))) == expected
    both = _rows(func([demo, demo]))
    if "packets" in call:
        assert both == 2 * expected
    assert _rows(func(p for p in [demo, demo])) == both


def test_a_generator_of_paths_in_summary() -> None:
    demo = local_capture("demo.pcap")
    one = portannot.summary(demo)
    two = portannot.summary(p for p in [demo, demo])
    assert two["packets"] == 2 * one["packets"] and two["files"] == [str(demo)] * 2


def test_a_file_and_its_compressed_copy_are_read_as_two_files() -> None:
    """README: a capture given twice, by two names or as a file and its compressed copy,
    counts its packets twice in the same flows (nothing tells the copies apart)."""
    demo = local_capture("demo.pcap")
    plain, packed = local_capture("pcap-usec-le.pcap"), local_capture("pcap-usec-le.pcap.gz")
    one, both = portannot.summary(plain), portannot.summary([plain, packed])
    assert both["packets"] == 2 * one["packets"] and both["bytes"] == 2 * one["bytes"]
    assert both["flows"] == one["flows"]
    twice = portannot.summary([demo, demo])
    assert (twice["packets"], twice["flows"]) == (540, 28)
    assert (portannot.summary(demo)["packets"], portannot.summary(demo)["flows"]) == (270, 28)


def test_several_files_get_the_file_column_from_a_generator() -> None:
    demo = local_capture("demo.pcap")
    table = portannot.packets(p for p in [demo, demo])
    assert "file" in table.column_names
    assert set(table.column("file").to_pylist()) == {0, 1}
    assert "file" not in portannot.packets(Path(demo)).column_names


@pytest.mark.parametrize("call", ["packets", "iter_packets", "flows", "iter_flows", "summary"])
def test_no_paths_is_an_error_not_an_empty_table(call: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no capture files"):
        getattr(portannot, call)(tmp_path.glob("*.pcap"))


def _binary_object(capture: Path, kind: str) -> object:
    """One of the binary file objects a dpkt user hands over: an open file, a BytesIO, a
    gzip stream (decompressed by the object, or compressed bytes for portannot to detect),
    an object with only read(), and a socket's makefile('rb'). Only the one asked for is
    made: a socket made for another kind was closed unread, and its writer thread's
    sendall raised BrokenPipeError (PytestUnhandledThreadExceptionWarning, seen under
    Python 3.13)."""
    import gzip
    import io
    import socket
    import threading

    data = capture.read_bytes()

    class ReadOnly:  # no readinto, no name: read() alone
        def __init__(self) -> None:
            self._inner = io.BytesIO(data)

        def read(self, n: int = -1) -> bytes:
            return self._inner.read(min(n, 1000) if n > 0 else n)  # short reads too

    def socket_file() -> object:
        left, right = socket.socketpair()

        def send() -> None:
            with right:
                right.sendall(data)

        threading.Thread(target=send, daemon=True).start()
        sock = left.makefile("rb")
        left.close()  # the file keeps the socket until it is closed
        return sock

    makers = {"file": lambda: capture.open("rb"), "bytesio": lambda: io.BytesIO(data),
              "gzipfile": lambda: gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(data))),
              "gzip-bytes": lambda: io.BytesIO(gzip.compress(data)), "read-only": ReadOnly,
              "socket": socket_file}
    return makers[kind]()


BINARY_OBJECTS = ["file", "bytesio", "gzipfile", "gzip-bytes", "read-only", "socket"]


@pytest.mark.parametrize("kind", BINARY_OBJECTS)
@pytest.mark.parametrize("call", ["packets", "iter_packets", "flows", "iter_flows", "summary"])
def test_a_binary_file_object_is_read_as_its_path_is_and_left_open(call: str, kind: str) -> None:
    """As dpkt.pcap.Reader(f) takes any object with read(): the rows from a file object
    are those from the path, compressed bytes in it are detected, and the object is the
    caller's: portannot leaves it open. (It was a TypeError, 'give the path'.)"""
    demo = local_capture("demo.pcap")
    obj = _binary_object(demo, kind)
    func = getattr(portannot, call)
    got = func(obj)
    expected = func(demo)
    if call == "summary":
        assert {k: v for k, v in got.items() if k != "files"} == \
            {k: v for k, v in expected.items() if k != "files"}
    else:
        got, expected = _table(got), _table(expected)
        key = "flow_id" if "flows" in call else "number"
        assert got.sort_by(key).equals(expected.sort_by(key))
        assert got.num_rows > 0
    assert not getattr(obj, "closed", False)
    if hasattr(obj, "close"):
        obj.close()


def _table(result):
    import pyarrow as pa

    if isinstance(result, pa.Table):
        return result
    return pa.Table.from_batches(list(result)).unify_dictionaries()


def test_file_objects_are_named_by_their_name_or_their_place() -> None:
    """Messages, provenance and summary()'s `files` name a file object by its `name`,
    else "<stream N>", N counting the call's file objects from 1."""
    import io
    import json

    demo = local_capture("demo.pcap")
    data = demo.read_bytes()
    with demo.open("rb") as named:
        table = portannot.packets([io.BytesIO(data), named, demo, io.BytesIO(data)])
    inputs = json.loads(table.schema.metadata[b"portannot"])["inputs"]
    assert inputs == ["<stream 1>", str(demo), str(demo), "<stream 3>"]
    assert table.column("file").unique().to_pylist() == [0, 1, 2, 3]
    assert portannot.summary(io.BytesIO(data))["files"] == ["<stream 1>"]
    with pytest.raises(portannot.CaptureFormatError, match=r"^<stream 1>: not a pcap"):
        portannot.flows(io.BytesIO(b"not a capture at all"))
    cut = io.BytesIO(data[:-10])
    with pytest.warns(portannot.CaptureWarning) as caught:
        portannot.flows([io.BytesIO(data), cut])
    assert [w.message.path for w in caught] == ["<stream 2>"]
    assert str(caught[0].message).startswith("<stream 2>: ")


@pytest.mark.parametrize("call", ["packets", "iter_packets", "flows", "iter_flows", "summary"])
def test_a_text_mode_file_is_refused_in_one_short_line(call: str) -> None:
    """A text-mode file gives str, the capture's bytes decoded (some replaced): a
    TypeError saying to open it in binary mode, never a read of garbage. An open file
    was iterated as paths before: each line of the capture became a "no such file", one
    message of 141 KB."""
    import io
    import tempfile

    demo = local_capture("demo.pcap")
    for obj in [demo.open("r", errors="replace"), io.StringIO("text"),
                tempfile.TemporaryFile("w+")]:
        with obj, pytest.raises(TypeError, match="must be binary, not text mode") as exc:
            getattr(portannot, call)(obj)
        assert len(str(exc.value)) < 200 and "\n" not in str(exc.value)


def test_archive_members_are_read_though_their_mode_says_r(tmp_path: Path) -> None:
    """zipfile's member streams are binary with mode 'r' (ZipFile.open's argument) before
    Python 3.13, 'rb' from it: taken for text mode by its `mode`, a capture inside a zip
    was refused. An io byte stream whose mode says 'r' stands for it on every version.
    tarfile's members have no mode and no name."""
    import io
    import tarfile
    import zipfile

    demo = local_capture("demo.pcap")
    expected = portannot.flows(demo).sort_by("flow_id")
    archive = tmp_path / "captures.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(demo, "inside/demo.pcap")
    with zipfile.ZipFile(archive) as z, z.open("inside/demo.pcap") as member:
        assert member.mode in ("r", "rb")
        table = portannot.flows(member)

    class SaysR(io.BytesIO):
        mode = "r"

    assert portannot.flows(SaysR(demo.read_bytes())).sort_by("flow_id").equals(expected)
    assert table.sort_by("flow_id").equals(expected)
    assert json.loads(table.schema.metadata[b"portannot"])["inputs"] == ["inside/demo.pcap"]
    tarred = tmp_path / "captures.tar"
    with tarfile.open(tarred, "w") as t:
        t.add(demo, "demo.pcap")
    with tarfile.open(tarred) as t, t.extractfile("demo.pcap") as member:
        assert portannot.flows(member).sort_by("flow_id").equals(expected)


def test_a_duck_typed_object_giving_str_is_a_type_error() -> None:
    class Text:
        def read(self, n: int = -1) -> str:
            return "d4c3b2a1"

    with pytest.raises(TypeError, match="read\\(\\) gave str, not bytes"):
        portannot.flows(Text())


@pytest.mark.parametrize("call", ["packets", "iter_packets", "flows", "iter_flows", "summary"])
def test_a_file_object_given_twice_is_a_value_error_at_the_call(call: str) -> None:
    """Read once, from where it stands, like standard input: the second read would find
    it at its end and report an empty file."""
    import io

    demo = local_capture("demo.pcap")
    obj = io.BytesIO(demo.read_bytes())
    with pytest.raises(ValueError, match="<stream 1> can be given only once"):
        getattr(portannot, call)([obj, obj])
    assert obj.tell() == 0
    with demo.open("rb") as named, pytest.raises(ValueError, match="can be given only once"):
        getattr(portannot, call)([named, demo, named])


@pytest.mark.parametrize("call", ["packets", "iter_packets", "flows", "iter_flows", "summary"])
def test_a_stream_input_given_twice_is_a_value_error_at_the_call(call: str) -> None:
    """The inputs take a StreamInput too, as as_paths gives a file object back: the same
    one twice is the object twice. It was let through (it is its own first place), and
    the second read found the object at its end: a CaptureWarning 'empty file' and the
    first read's rows only."""
    import io

    from portannot.capture import as_paths

    [given] = as_paths(io.BytesIO(local_capture("demo.pcap").read_bytes()))
    with pytest.raises(ValueError, match="^the file object <stream 1> can be given only once$"):
        getattr(portannot, call)([given, given])
    assert given.obj.tell() == 0


def test_a_closed_or_write_only_file_object_is_refused_at_the_call(tmp_path: Path) -> None:
    import io

    closed = io.BytesIO(b"")
    closed.close()
    with pytest.raises(portannot.InputError, match="^<stream 1>: the file object is closed$"):
        portannot.iter_flows(closed)
    with (tmp_path / "out").open("wb") as written, \
            pytest.raises(TypeError, match="not open for reading"):
        portannot.iter_packets(written)


@pytest.mark.parametrize("call", ["flows", "packets", "summary", "iter_flows", "iter_packets"])
def test_a_nul_in_a_capture_path_is_an_input_error(call: str, tmp_path: Path) -> None:
    """A capture path holding a NUL byte was Python's bare ValueError ('embedded null
    byte', from os.stat) naming no path; now the InputError of a path that cannot be
    read, the NUL escaped. Beside another capture, it is skipped with a warning as
    other unreadable inputs are, and the other's rows are kept."""
    bad = f"{tmp_path}/a\0b.pcap"
    message = f"{tmp_path}/a\\x00b.pcap: a NUL byte in the file name, which no file can have"
    with pytest.raises(portannot.InputError) as caught:
        getattr(portannot, call)(bad)
    assert str(caught.value) == message
    demo = str(local_capture("demo.pcap"))
    with pytest.warns(portannot.CaptureWarning) as warned:
        both = portannot.flows([bad, demo])
    assert [str(w.message) for w in warned] == [f"{message}; skipped, the other inputs read"]
    assert both.equals(portannot.flows(demo))


@pytest.mark.parametrize("argument", ["registry", "services"])
def test_a_nul_in_a_registry_path_is_said(argument: str, tmp_path: Path) -> None:
    """registry= or services= holding a NUL byte was a RegistryError "registry file not
    found" with the NUL written raw; it is the message a capture path with one gets."""
    with pytest.raises(portannot.RegistryError) as caught:
        portannot.flows(local_capture("demo.pcap"), **{argument: f"{tmp_path}/a\0b.csv"})
    assert str(caught.value) == (f"{tmp_path}/a\\x00b.csv: a NUL byte in the file name, "
                                 "which no file can have")


def test_a_file_object_is_read_from_where_it_stands() -> None:
    """Not sought back to its start: a capture after a header of the caller's own."""
    import io

    data = local_capture("demo.pcap").read_bytes()
    obj = io.BytesIO(b"HEADER" + data)
    obj.read(6)
    assert portannot.packets(obj).num_rows == portannot.packets(local_capture("demo.pcap")).num_rows


@pytest.mark.parametrize("paths", [[b"demo.pcap"], (bytearray(b"demo.pcap"),), [5], 5,
                                   b"demo.pcap"])
def test_bytes_and_other_non_paths_are_refused_in_one_short_line(paths) -> None:
    with pytest.raises(TypeError, match="must be str or os.PathLike") as exc:
        portannot.flows(paths)
    assert len(str(exc.value)) < 200


def test_a_pathlike_is_read_through_fspath(tmp_path: Path) -> None:
    """An os.PathLike whose str() is not its path (str() was used on each element)."""
    demo = local_capture("demo.pcap")

    class Where:
        def __fspath__(self) -> str:
            return str(demo)

        def __str__(self) -> str:
            return "not a path"

    assert portannot.flows([Where()]).num_rows == portannot.flows(demo).num_rows > 0
    assert portannot.flows(Where()).num_rows > 0


# ------------------------------------------------------------------ arguments


@pytest.mark.parametrize("call", ["flows", "iter_flows"])
@pytest.mark.parametrize("which", ["idle_timeout", "active_timeout"])
@pytest.mark.parametrize("value", [0, 0.0, -1, -0.5, float("nan"), float("inf"), 1e10,
                                   1e-10, 9e-10])  # less than 1 ns: 0 ns, none
def test_a_timeout_that_is_no_timeout_is_refused(call: str, which: str, value: float) -> None:
    """0, negatives and NaN used to mean "no timeout" silently (the flow table reads 0
    as none), where the command refuses them; infinity failed deep in the flow table."""
    demo = local_capture("demo.pcap")
    with pytest.raises(ValueError, match=which):
        getattr(portannot, call)(demo, **{which: value})


@pytest.mark.parametrize("value", ["60", True, [1]])
def test_a_timeout_that_is_not_a_number_is_a_type_error(value) -> None:
    with pytest.raises(TypeError, match="idle_timeout"):
        portannot.flows(local_capture("demo.pcap"), idle_timeout=value)


def test_a_timeout_may_be_a_timedelta() -> None:
    """pandas users hold durations as Timedelta (a datetime.timedelta): total_seconds()."""
    from datetime import timedelta

    demo = local_capture("demo.pcap")
    by_seconds = portannot.flows(demo, idle_timeout=1e-3, active_timeout=2.0)
    by_delta = portannot.flows(demo, idle_timeout=timedelta(milliseconds=1),
                               active_timeout=timedelta(seconds=2))
    assert by_delta.equals(by_seconds) and by_seconds.num_rows > portannot.flows(demo).num_rows
    with pytest.raises(ValueError, match="idle_timeout"):
        portannot.flows(demo, idle_timeout=timedelta(0))


def test_a_valid_timeout_splits_flows() -> None:
    demo = local_capture("demo.pcap")
    whole = portannot.flows(demo).num_rows
    assert portannot.flows(demo, idle_timeout=1e-6).num_rows > whole
    assert portannot.flows(demo, active_timeout=1e-9).num_rows > whole  # 1 ns, the least
    assert portannot.flows(demo, idle_timeout=1e9, active_timeout=1e9).num_rows == whole


@pytest.fixture(scope="module")
def long_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """80,000 one-packet UDP flows 1 ms apart (80 s of capture time, 9 MB: three of the
    reader's 4 MB chunks), so that flows can end while the capture is still being read."""
    import struct

    from capgen import write_pcap

    def frame(i: int) -> bytes:
        udp = struct.pack("!HHHH", 1024 + i % 60000, 53, 8 + 58, 0) + bytes(58)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                         struct.pack("!I", 0x0A000000 + i), bytes([192, 0, 2, 1]))
        return bytes(6) + bytes([2, 0, 0, 0, 0, 1]) + b"\x08\x00" + ip + udp

    t0 = 1_700_000_000 * 10**9
    return write_pcap(tmp_path_factory.mktemp("long") / "long.pcap",
                      [(t0 + i * 10**6, frame(i)) for i in range(80_000)])


@pytest.mark.parametrize("which", ["idle_timeout", "active_timeout"])
def test_iter_flows_hands_out_ended_flows_while_reading(long_capture: Path, which: str) -> None:
    """With a timeout, flows come out as the capture clock passes their end, not all at
    the end of the read. The active timeout alone used to hold every flow to the end."""
    batches = list(portannot.iter_flows(long_capture, **{which: 1}))
    assert sum(b.num_rows for b in batches) == 80_000  # each packet its own flow
    assert len(batches) >= 3, [b.num_rows for b in batches]
    end = max(b.column("last_ts").to_pylist()[-1] for b in batches)
    first_batch_end = max(batches[0].column("last_ts").to_pylist())
    assert (end - first_batch_end).total_seconds() > 40  # out by the first chunk's end
    # without a timeout nothing ends before the read does: all at the end, in as few
    # pieces as DRAIN_PIECE allows
    from portannot.pipeline import DRAIN_PIECE

    assert [b.num_rows for b in portannot.iter_flows(long_capture)] == [
        min(DRAIN_PIECE, 80_000 - k) for k in range(0, 80_000, DRAIN_PIECE)]


@pytest.mark.parametrize("top", [0, -1, 2.5, True])
def test_summary_top_must_be_a_positive_count(top) -> None:
    with pytest.raises(ValueError, match="top"):
        portannot.summary(local_capture("demo.pcap"), top=top)


# ------------------------------------------------------------------ damaged input


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """demo.pcap cut mid-record, and a capture of a link type portannot does not decode
    (147, a user DLT) next to it: each makes the command exit 3 with a warning."""
    from capgen import write_pcap

    base = tmp_path_factory.mktemp("damaged")
    cut = base / "cut.pcap"
    cut.write_bytes(local_capture("demo.pcap").read_bytes()[:10_000])
    odd = write_pcap(base / "dlt147.pcap", [(1_000, b"\x00" * 60), (2_000, b"\x01" * 60)],
                     linktype=147)
    return {"cut": cut, "link": odd}


def _command_warnings(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    from portannot.cli import main

    with pytest.raises(SystemExit) as exc:
        main([*args, "-q"])
    assert exc.value.code == 3
    lines = capsys.readouterr().err.splitlines()
    assert lines and all(ln.startswith("portannot: warning: ") for ln in lines), lines
    return [ln.removeprefix("portannot: warning: ") for ln in lines]


@pytest.mark.parametrize("which", ["cut", "link", "both"])
@pytest.mark.parametrize("call", ["packets", "iter_packets", "flows", "iter_flows", "summary"])
def test_damage_is_a_capture_warning_per_command_warning(call, which, damaged, capsys) -> None:
    """The API used to return the rows of a damaged capture without a word, where the
    command warns and exits 3: each warning line is now a CaptureWarning, raised when
    the read is over, at the caller's line."""
    paths = [damaged["cut"], damaged["link"]] if which == "both" else [damaged[which]]
    command = "summary" if call == "summary" else call.removeprefix("iter_")
    fmt = ["--json"] if command == "summary" else ["-f", "csv"]
    expected = _command_warnings(capsys, command, *map(str, paths), *fmt)
    assert len(expected) == (2 if which == "both" else 1)
    with pytest.warns(portannot.CaptureWarning) as caught:
        result = getattr(portannot, call)(paths)
        rows = None if call == "summary" else _rows(result)
    assert [str(w.message) for w in caught] == expected
    # each names its input, in the text and as .path (the link type's line named none)
    assert [w.message.path for w in caught] == [str(p) for p in paths]
    assert all(str(w.message).startswith(f"{w.message.path}: ") for w in caught)
    assert {w.filename for w in caught} == {__file__}  # the caller's line, not portannot's
    assert all(issubclass(w.category, UserWarning) for w in caught)
    if call == "summary":
        assert result["warnings"] == expected
    elif not (which == "link" and "flows" in call):  # frames of that link make no flows
        assert rows > 0  # the rows are still there


def test_the_same_damage_in_two_files_is_two_warnings(damaged, tmp_path) -> None:
    """Python shows a warning once per message and line by default: the link type's
    line, naming no file, was said for the first file of a loop and never again."""
    other = tmp_path / "also147.pcap"
    other.write_bytes(damaged["link"].read_bytes())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for path in (damaged["link"], other):
            portannot.packets(path)
    assert [w.message.path for w in caught] == [str(damaged["link"]), str(other)]
    assert [str(w.message) for w in caught] == [
        f"{p}: link type 147 is not supported: 2 records counted as unsupported-link"
        for p in (damaged["link"], other)]


def test_an_unreadable_input_of_several_is_a_warning_naming_it(tmp_path) -> None:
    demo = local_capture("demo.pcap")
    missing = tmp_path / "missing.pcap"
    with pytest.warns(portannot.CaptureWarning) as caught:
        table = portannot.flows([demo, missing])
    assert table.num_rows == portannot.flows(demo).num_rows
    assert [(w.message.path, str(w.message)) for w in caught] == [
        (str(missing), f"{missing}: no such file; skipped, the other inputs read")]


def test_iterating_reports_when_the_read_ends(damaged) -> None:
    batches = portannot.iter_packets(damaged["cut"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", portannot.CaptureWarning)
        first = next(batches)  # nothing said before the end
        assert first.num_rows > 0
        with pytest.raises(portannot.CaptureWarning, match="file ends inside a record"):
            list(batches)


@pytest.mark.parametrize("call", ["packets", "flows", "summary"])
def test_a_whole_capture_warns_nothing(call) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(portannot, call)(local_capture("demo.pcap"))


# ------------------------------------------------------------------ pandas and nulls


def _readme_pandas() -> dict[str, set[str]]:
    """The column names README's "**pandas.**" paragraph lists as nullable."""
    import re

    from paths import REPO

    text = (REPO / "README.md").read_text()
    para = text[text.index("**pandas.**"):text.index("**Errors.**")]
    flows_part = para[para.index("Among flows:"):para.index("Among packets:")]
    packets_part = para[para.index("Among packets:"):para.index("Of these the integers")]
    ints_part = para[para.index("Of these the integers"):]
    names = lambda part: set(re.findall(r"`([a-z_]+)`", part))  # noqa: E731
    return {"flows": names(flows_part), "packets": names(packets_part),
            "integers": names(ints_part)}


@pytest.fixture(scope="module")
def every_local_capture() -> list[Path]:
    """Every capture in pcaps/ (damaged ones too): ICMP, non-IP, tagged and untagged."""
    from paths import LOCAL_PCAPS, is_capture

    caps = sorted(p for p in LOCAL_PCAPS.iterdir() if is_capture(p))
    assert len(caps) > 20
    return caps


@pytest.mark.parametrize("call", ["flows", "packets"])
def test_the_nullable_columns_are_those_readme_lists(call, every_local_capture) -> None:
    """README says which columns can be null and why; over every local capture, those
    are exactly the columns with nulls (so both an undocumented one and a documented
    one that never is would fail)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", portannot.CaptureWarning)
        table = getattr(portannot, call)(every_local_capture)
    with_nulls = {c for c in table.column_names if table.column(c).null_count}
    assert with_nulls == _readme_pandas()[call]
    import pyarrow as pa

    documented = _readme_pandas()
    ints = {c for c in with_nulls if pa.types.is_integer(table.schema.field(c).type)}
    assert ints == documented["integers"] & with_nulls
    assert documented["integers"] <= documented["flows"] | documented["packets"]


def test_the_pandas_idioms_readme_gives() -> None:
    """to_pandas() makes a nullable integer float64; the two types_mappers README gives
    keep it an integer with <NA> (one of them keeping categories)."""
    pd = pytest.importorskip("pandas")
    import pyarrow as pa

    table = portannot.flows(local_capture("demo.pcap"))
    nulls = table.column("service_port").null_count
    assert nulls > 0
    assert str(table.to_pandas()["service_port"].dtype) == "float64"
    arrow = table.to_pandas(types_mapper=pd.ArrowDtype)
    assert arrow["service_port"].dtype == pd.ArrowDtype(pa.uint16())
    assert int(arrow["service_port"].isna().sum()) == nulls
    by_service = arrow.groupby("service").size()
    assert by_service.sum() == table.num_rows - table.column("service").null_count
    mapped = table.to_pandas(
        types_mapper={pa.uint16(): pd.UInt16Dtype(), pa.uint8(): pd.UInt8Dtype()}.get)
    assert mapped["service_port"].dtype == pd.UInt16Dtype()
    assert mapped["service"].dtype == "category"
    assert mapped["service_port"].dropna().tolist() == [
        v for v in table.column("service_port").to_pylist() if v is not None]


def test_service_dictionaries_hold_only_the_names_used(tmp_path) -> None:
    """The dictionaries held the registry's ~6,200 names: pandas' categories and
    groupby(observed=False) listed thousands of services no row had, and so did the
    Parquet the command writes."""
    import pyarrow.parquet as pq

    demo = local_capture("demo.pcap")
    flows = portannot.flows(demo)
    packets = portannot.packets([demo, demo])
    for table, column in ((flows, "service"), (packets, "src_service"),
                          (packets, "dst_service")):
        used = {v for v in table.column(column).to_pylist() if v is not None}
        assert len(used) > 3
        for chunk in table.column(column).chunks:
            assert sorted(chunk.dictionary.to_pylist()) == sorted(used)
    pytest.importorskip("pandas")
    df = flows.to_pandas()
    assert set(df["service"].cat.categories) == set(df["service"].dropna())
    assert len(df.groupby("service", observed=False).size()) == df["service"].nunique()
    from portannot.cli import main

    out = tmp_path / "flows.parquet"
    with pytest.raises(SystemExit) as exc:
        main(["flows", str(demo), "-f", "parquet", "-o", str(out), "-q"])
    assert exc.value.code == 0
    written = pq.read_table(out).column("service")
    assert sorted(written.chunk(0).dictionary.to_pylist()) == sorted(
        {v for v in flows.column("service").to_pylist() if v is not None})


# ------------------------------------------------------------------ errors and iterators


def test_the_error_classes_are_the_packages() -> None:
    from portannot import errors

    assert portannot.InputError is errors.InputError
    assert portannot.CaptureFormatError is errors.CaptureFormatError
    assert issubclass(portannot.CaptureFormatError, portannot.InputError)
    assert portannot.RegistryError is errors.RegistryError
    assert {"InputError", "CaptureFormatError", "RegistryError"} <= set(portannot.__all__)
    with pytest.raises(portannot.RegistryError, match="not found"):
        portannot.flows(local_capture("demo.pcap"), registry="/nonexistent/registry.csv")


@pytest.mark.parametrize("call", ["iter_packets", "iter_flows"])
@pytest.mark.parametrize("which", ["missing", "directory", "empty"])
def test_an_iterator_over_one_unopenable_capture_fails_when_called(call, which, tmp_path):
    """iter_flows("typo.pcap") returned an iterator that failed at its first next(),
    away from the line that named the file."""
    path = tmp_path / "x.pcap"
    if which == "directory":
        path.mkdir()
    elif which == "empty":
        path.write_bytes(b"")
    with pytest.raises(portannot.InputError, match="x.pcap: ") as exc:
        getattr(portannot, call)(path)
    assert str(exc.value).startswith(f"{path}: ")


def test_a_fifo_is_not_opened_ahead_of_the_read(tmp_path) -> None:
    """Looking at a pipe before the read would block the call until a writer came, and
    take the capture's first bytes: only regular files are looked at when called."""
    import contextlib
    import os
    import threading

    demo = local_capture("demo.pcap")
    fifo = tmp_path / "pipe.pcap"
    os.mkfifo(fifo)
    called = threading.Event()
    waited_in_vain = []

    def write() -> None:
        # a call that opened the pipe would block until this opens it: after 20 s
        if not called.wait(20):
            waited_in_vain.append(True)
            with contextlib.suppress(BrokenPipeError):
                fifo.write_bytes(demo.read_bytes())  # for the look, which drops it
        fifo.write_bytes(demo.read_bytes())

    writer = threading.Thread(target=write)
    writer.start()
    batches = portannot.iter_flows(fifo)
    called.set()
    assert pa_table(batches).sort_by("flow_id").equals(
        portannot.flows(demo).sort_by("flow_id"))
    writer.join()
    assert not waited_in_vain, "the call opened the pipe"


def pa_table(batches):
    import pyarrow as pa

    return pa.Table.from_batches(list(batches)).unify_dictionaries()


def _reading(path: Path) -> list[str]:
    """portannot's stage threads alive, and this process's open descriptors of `path`."""
    import os
    import threading

    fds = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                fds.append(fd)
        except OSError:
            pass
    return [t.name for t in threading.enumerate() if t.name.startswith("portannot-")] + fds


@pytest.mark.parametrize("call", ["iter_packets", "iter_flows"])
def test_closing_an_iterator_after_break_stops_the_reading(call, long_capture) -> None:
    """What README and the docstrings promise: .close() (contextlib.closing) after a
    break stops the threads and closes the file then, the iterator still referenced."""
    import contextlib
    import time

    kwargs = {"idle_timeout": 1} if call == "iter_flows" else {}
    with contextlib.closing(getattr(portannot, call)(long_capture, **kwargs)) as batches:
        for _ in batches:
            assert _reading(long_capture)  # the reading runs ahead of the loop
            break
    deadline = time.monotonic() + 2
    while _reading(long_capture) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _reading(long_capture) == []
    assert batches is not None  # still referenced: it was close() that stopped it


@pytest.mark.parametrize("func", ["flows", "iter_flows", "packets", "iter_packets", "summary"])
def test_help_gives_arguments_columns_exceptions(func: str) -> None:
    """help(portannot.flows) said one line. The table functions describe each argument,
    the columns (or where README lists them), exceptions and warnings; the iterators
    say what they share with them and what they add (when rows come, .close())."""
    import inspect

    f = getattr(portannot, func)
    doc = inspect.getdoc(f)
    assert doc and len(doc.splitlines()) > 8
    if func.startswith("iter_"):
        table_func = func.removeprefix("iter_")
        assert f"as {table_func}()" in doc and ".close()" in doc
        assert set(inspect.signature(f).parameters) == set(
            inspect.signature(getattr(portannot, table_func)).parameters)
        return
    for name in inspect.signature(f).parameters:
        assert name in doc, name
    for word in ("Raises", "Warns", "CaptureWarning"):
        assert word in doc, word
    # the exceptions are listed once, in packets(); the others point there
    assert ("InputError" in doc and "RegistryError" in doc) or "As packets()" in doc
    if func in ("flows", "packets"):
        assert "README" in doc and "columns" in doc
        assert all(c in doc for c in portannot.flows(local_capture("demo.pcap")).column_names) \
            if func == "flows" else "src_service" in doc


# ------------------------------------------------------------------ registry


def test_a_registry_object_names_as_its_file_does(tmp_path: Path) -> None:
    """load_registry() returns a Registry; passing it failed with a TypeError deep in
    the registry's file handling."""
    from capgen import write_registry

    from portannot.registry import load_registry, load_table

    demo = local_capture("demo.pcap")
    names = write_registry(tmp_path / "names.csv")
    by_file = portannot.flows(demo, registry=names).column("service").to_pylist()
    assert any(by_file)
    for ready in (load_registry(names), load_table(names)):
        assert portannot.flows(demo, registry=ready).column("service").to_pylist() == by_file
        assert portannot.summary(demo, registry=ready) == portannot.summary(demo, registry=names)


@pytest.mark.parametrize("kind", ["Registry", "ServiceTable"])
def test_services_beside_a_ready_registry_is_an_error(kind: str, tmp_path: Path) -> None:
    """The ready object's names are fixed: services= would be ignored without a word."""
    from capgen import write_registry

    from portannot.registry import load_registry, load_table

    names = write_registry(tmp_path / "names.csv")
    ready = (load_registry if kind == "Registry" else load_table)(names)
    for call in ("flows", "iter_flows", "packets", "iter_packets", "summary"):
        with pytest.raises(ValueError, match=f"services=.*{kind}"):
            getattr(portannot, call)(local_capture("demo.pcap"), registry=ready, services=names)


def test_a_registry_of_another_kind_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="registry must be"):
        portannot.flows(local_capture("demo.pcap"), registry=80)


@pytest.mark.parametrize("services", [80, b"services", ["services"]])
def test_a_services_file_of_another_kind_is_a_type_error_naming_it(services) -> None:
    """registry= of the wrong kind was refused by name, services= not: the TypeError
    came from deep in the loader ("expected str, bytes or os.PathLike object, not int",
    which offers bytes, refused too) without saying which argument was wrong."""
    with pytest.raises(TypeError, match="^services must be a file path or None, not "):
        portannot.flows(local_capture("demo.pcap"), services=services)


# ------------------------------------------------------------------ the package


def test_dir_and_help_list_the_lazy_functions_without_loading_them() -> None:
    import subprocess
    import sys

    code = ("import portannot, sys; names = dir(portannot); "
            "print(sorted(set(portannot.__all__) - set(names)), 'portannot.api' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("]")
    assert out[0] + "]" == "[]" and out[1].strip() == "False", out
    import pydoc

    text = pydoc.render_doc(portannot, renderer=pydoc.plaintext)
    for name in ("flows(", "iter_flows(", "packets(", "iter_packets(", "summary(",
                 "CaptureWarning"):
        assert name in text, name


def test_the_license_is_an_spdx_expression() -> None:
    """The installed metadata names the license as PEP 639 has it (License-Expression,
    metadata 2.4), from pyproject's `license = "MIT"`: the table form it had, `{ text =
    "MIT" }`, is deprecated in setuptools, its support to end after 2027-02-18, after
    which `pip install .` (which takes the newest setuptools) would no longer build."""
    from importlib.metadata import metadata

    meta = metadata("portannot")
    assert meta["License-Expression"] == "MIT"
    assert meta["License"] is None


def test_the_package_is_marked_typed() -> None:
    """py.typed (PEP 561) ships with the package, so type checkers read its hints."""
    import re

    from paths import REPO

    # the package as installed (site-packages in CI, src/ in a development install)
    assert (Path(portannot.__file__).parent / "py.typed").is_file()
    text = (REPO / "pyproject.toml").read_text()
    try:
        import tomllib
    except ImportError:  # Python 3.10 (tomllib is 3.11's): the table's line as written
        table = re.search(r"^\[tool\.setuptools\.package-data\]\n((?:[^\[\n].*\n)*)", text,
                          re.MULTILINE)
        line = re.search(r'^portannot = \[(.*)\]$', table[1] if table else "", re.MULTILINE)
        assert line is not None, text
        assert '"py.typed"' in line[1].split(", ")
    else:
        project = tomllib.loads(text)
        assert "py.typed" in project["tool"]["setuptools"]["package-data"]["portannot"]


@pytest.mark.parametrize("call", ["iter_packets", "iter_flows"])
def test_the_iterators_are_typed_as_closable(call: str) -> None:
    """README and the docstrings tell a caller to .close() an iterator after a break, or
    to loop inside contextlib.closing(...); hinted as a plain Iterator, a type checker
    refused both ("Iterator[Any]" has no attribute "close"). A Generator has close()."""
    import collections.abc
    import typing

    func = getattr(portannot, call)
    returned = typing.get_type_hints(func)["return"]
    assert typing.get_origin(returned) is collections.abc.Generator
    batches = func(local_capture("demo.pcap"))
    assert isinstance(batches, collections.abc.Generator)
    batches.close()


# ------------------------------------------------------------------ standard input


def test_reading_standard_input_leaves_it_open() -> None:
    """portannot.flows('-') closed the caller's sys.stdin ('print(sys.stdin.closed)' gave
    True, and the next read failed with 'ValueError: read of closed file'). Run as the
    review ran it, stdin a file: open after the read, and a second read finds it empty
    (an InputError naming it, not a ValueError)."""
    import subprocess
    import sys

    script = (
        "import portannot, sys\n"
        "print(portannot.flows('-').num_rows, sys.stdin.closed, sys.stdin.buffer.closed)\n"
        "try:\n"
        "    portannot.flows('-')\n"
        "except portannot.InputError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
        "print(sys.stdin.read(), 'read again')\n"
    )
    demo = local_capture("demo.pcap")
    with demo.open("rb") as stdin:
        proc = subprocess.run([sys.executable, "-c", script], stdin=stdin, capture_output=True,
                              text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"{portannot.flows(demo).num_rows} False False",
        "CaptureFormatError <stdin>: empty file",
        " read again",
    ]


def test_a_byte_stream_in_place_of_stdin_is_read_and_left_open(monkeypatch) -> None:
    import io
    import sys

    demo = local_capture("demo.pcap")
    text = io.TextIOWrapper(io.BytesIO(demo.read_bytes()))
    monkeypatch.setattr(sys, "stdin", text)
    assert portannot.packets("-").num_rows == 270
    assert not text.closed and not text.buffer.closed
    binary = io.BytesIO(demo.read_bytes())  # no .buffer: read as it is
    monkeypatch.setattr(sys, "stdin", binary)
    assert portannot.packets("-").num_rows == 270 and not binary.closed


@pytest.mark.parametrize("call", ["packets", "iter_packets", "flows", "iter_flows", "summary"])
def test_standard_input_twice_is_a_value_error_at_the_call(call, monkeypatch) -> None:
    """As the command's usage error: standard input is read once, the second '-' would
    find it empty. Said when the function is called, before anything is read."""
    import io
    import sys

    stdin = io.BytesIO(local_capture("demo.pcap").read_bytes())
    monkeypatch.setattr(sys, "stdin", stdin)
    with pytest.raises(ValueError, match=r"^standard input \('-'\) can be given only once$"):
        getattr(portannot, call)(["-", local_capture("demo.pcap"), "-"])
    assert stdin.tell() == 0


@pytest.mark.parametrize("stdin, why", [
    (None, "there is no standard input (sys.stdin is None)"),
    ("text", "standard input is not a byte stream here (sys.stdin is a StringIO); give the "
             "capture's path instead"),
    ("closed", "standard input is closed"),
])
@pytest.mark.parametrize("call", ["packets", "iter_packets", "flows", "iter_flows", "summary"])
def test_no_usable_stdin_is_an_input_error_naming_it(call, stdin, why, monkeypatch) -> None:
    """Under pythonw sys.stdin is None, in a notebook or a test it may be a StringIO:
    reading '-' raised AttributeError: 'NoneType' (or 'StringIO') has no 'buffer'. Said
    when the function is called, as for a file that cannot be opened."""
    import io
    import sys

    if stdin == "text":
        stdin = io.StringIO("not a capture")
    elif stdin == "closed":
        stdin = io.TextIOWrapper(io.BytesIO(b""))
        stdin.close()
    monkeypatch.setattr(sys, "stdin", stdin)
    with pytest.raises(portannot.InputError) as exc:
        getattr(portannot, call)("-")
    assert str(exc.value) == f"<stdin>: {why}"


# ------------------------------------------------------------------ memory after a call


def _left_for_the_collector(call) -> list[str]:
    """portannot's objects and frames that `call` (its exception caught and dropped)
    left in reference cycles: what only the cycle collector would free. Such a cycle
    kept a failed call's read buffer, flow table and decoder (about 4 MB) alive until a
    full collection, and 1,000 calls on a file that is not a capture peaked at 200 MB."""
    import gc
    import time
    import types

    def once() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                call()
            except (Exception, KeyboardInterrupt):
                pass
        time.sleep(0.1)  # the stages' threads end

    once()  # what a first call does once (imports, the JIT's compiling) is not counted
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        once()
        gc.collect()
        garbage, gc.garbage[:] = gc.garbage[:], []
    finally:
        gc.set_debug(0)
        gc.enable()
    left = []
    for obj in garbage:
        if isinstance(obj, types.FrameType):
            if "portannot" in obj.f_code.co_filename:
                left.append(f"frame {obj.f_code.co_name}")
        elif type(obj).__module__.startswith("portannot"):
            left.append(type(obj).__name__)
    return left


def _loop(batches, exc: type[BaseException] | None = None) -> None:
    for _ in batches:
        if exc is not None:
            raise exc("the caller's")  # a new one: one raised again would hold the last loop
        break


@pytest.fixture(scope="module")
def unreadable(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A file that is no capture, and gzip streams of demo.pcap damaged or cut before
    its capture header."""
    import gzip

    base = tmp_path_factory.mktemp("unreadable")
    packed = gzip.compress(local_capture("demo.pcap").read_bytes())
    files = {"text": b"no capture here\n" * 10, "damaged.gz": packed[:30] + b"\xff" * 20 + packed[50:],
             "cut.gz": packed[:15]}
    for name, data in files.items():
        (base / name).write_bytes(data)
    return {name: base / name for name in files}


@pytest.mark.parametrize("call", ["flows", "packets", "summary", "iter_flows", "iter_packets"])
@pytest.mark.parametrize("which", ["text", "damaged.gz", "cut.gz"])
def test_a_failed_call_leaves_no_cycles(call, which, unreadable) -> None:
    path = unreadable[which]
    func = getattr(portannot, call)
    run = (lambda: _loop(func(path))) if call.startswith("iter") else (lambda: func(path))
    assert _left_for_the_collector(run) == []


@pytest.mark.parametrize("call", ["flows", "summary"])
def test_unreadable_inputs_among_several_leave_no_cycles(call, unreadable, tmp_path) -> None:
    paths = [unreadable["text"], tmp_path / "missing.pcap", local_capture("demo.pcap")]
    func = getattr(portannot, call)
    assert _left_for_the_collector(lambda: func(paths)) == []
    assert _left_for_the_collector(lambda: func(paths[:2])) == []  # none readable


@pytest.mark.parametrize("call", ["iter_flows", "iter_packets"])
@pytest.mark.parametrize("exc", [None, ValueError, KeyboardInterrupt])
def test_leaving_a_loop_leaves_no_cycles(call, exc, long_capture) -> None:
    """A break (the iterator then dropped unclosed), the caller's own exception, Ctrl-C."""
    func = getattr(portannot, call)
    assert _left_for_the_collector(lambda: _loop(func(long_capture), exc)) == []


def test_damage_after_the_header_leaves_no_cycles(tmp_path) -> None:
    """A compressed stream damaged mid-capture: the records before it, a warning."""
    import gzip

    data = local_capture("demo.pcap").read_bytes()
    packed = bytearray(gzip.compress(data, compresslevel=0))  # stored: bytes stay put
    packed[len(packed) // 2 : len(packed) // 2 + 64] = b"\xff" * 64
    path = tmp_path / "mid.pcap.gz"
    path.write_bytes(bytes(packed))
    with pytest.warns(portannot.CaptureWarning, match="stopped reading"):
        portannot.flows(path)
    assert _left_for_the_collector(lambda: portannot.flows(path)) == []


# ------------------------------------------------------------------ file objects vs dpkt

#: captures read from a file object and from their path, and checked against dpkt:
#: pcap and pcapng, both byte orders, µs and ns, Ethernet, SLL and raw IP, fragments,
#: and one compressed
DPKT_CAPTURES = ["local:demo.pcap", "local:pcap-nsec-be.pcap", "local:pcap-usec-le.pcap.xz",
                 "shared:ndpi/1kxun.pcap", "shared:pcapplusplus/ip-frag.pcap",
                 "shared:tcpdump/afs.pcap", "shared:tcpdump/isup.pcap",
                 "shared:tcpdump/bgp-role.pcapng", "shared:tcpdump/LINKTYPE_RAW_ipv6.pcap"]


def _dpkt_capture(where: str) -> Path:
    from paths import shared_capture

    kind, name = where.split(":", 1)
    return local_capture(name) if kind == "local" else shared_capture(name)


def _dpkt_ports(path: Path) -> dict[int, tuple[int, int]]:
    """Frame number -> (source port, destination port) of each whole, unfragmented
    TCP, UDP or SCTP packet over IPv4 or IPv6 straight on Ethernet, SLL or raw IP, as dpkt
    parses it: the simple cases, where any decoder agrees."""
    import lzma

    import dpkt

    data = path.read_bytes()
    if path.suffix == ".xz":
        data = lzma.decompress(data)
    import io

    stream = io.BytesIO(data)
    reader = (dpkt.pcapng.Reader if data[:4] == b"\x0a\x0d\x0d\x0a" else dpkt.pcap.Reader)(stream)
    link = {1: dpkt.ethernet.Ethernet, 113: dpkt.sll.SLL}.get(reader.datalink())
    ports = {}
    for number, (_, frame) in enumerate(reader, 1):
        try:
            ip = link(frame).data if link else (dpkt.ip.IP if frame[0] >> 4 == 4 else dpkt.ip6.IP6)(frame)
        except (dpkt.UnpackError, IndexError):
            continue
        if isinstance(ip, dpkt.ip.IP):
            if ip.mf or ip.offset or len(ip) > len(frame):  # a fragment, or cut by the snaplen
                continue
        elif isinstance(ip, dpkt.ip6.IP6):
            if 44 in ip.extension_hdrs or ip.plen + 40 > len(frame):
                continue
        else:
            continue
        if isinstance(ip.data, (dpkt.tcp.TCP, dpkt.udp.UDP, dpkt.sctp.SCTP)):
            ports[number] = (ip.data.sport, ip.data.dport)
    return ports


@pytest.mark.parametrize("where", DPKT_CAPTURES)
def test_a_file_object_gives_the_paths_rows_and_dpkts_ports(where: str) -> None:
    """For real captures: flows() and packets() of an open file and of a BytesIO equal
    those of the path, and each simple packet's ports are dpkt's."""
    import io

    path = _dpkt_capture(where)
    expected_flows = portannot.flows(path).sort_by("flow_id")
    expected_packets = portannot.packets(path)
    with path.open("rb") as f:
        assert portannot.flows(f).sort_by("flow_id").equals(expected_flows)
    got = portannot.packets(io.BytesIO(path.read_bytes()))
    assert got.equals(expected_packets)
    ours = dict(zip(got.column("number").to_pylist(),
                    zip(got.column("src_port").to_pylist(), got.column("dst_port").to_pylist())))
    reference = _dpkt_ports(path)
    assert reference, "no simple packets to compare"
    assert {n: ours[n] for n in reference} == reference


# ------------------------------------------------------------------ a pipe held open


def _long_pcap(records: int = 12_000, size: int = 500) -> bytes:
    """A pcap of `records` UDP packets of `size` bytes, each its own flow, 1 ms apart:
    more than a 4 MiB chunk, so that a batch comes out before the rest is read."""
    import struct

    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    payload = bytes(size - 42)
    for i in range(records):
        udp = struct.pack("!HHHH", 1024 + i % 60000, 53, 8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                         bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + udp
        frame = bytes(6) + bytes([2, 0, 0, 0, 0, 1]) + b"\x08\x00" + ip
        out.append(struct.pack("<IIII", 1_700_000_000 + i // 1000, (i % 1000) * 1000,
                               len(frame), len(frame)) + frame)
    return b"".join(out)


@pytest.mark.parametrize("call", ["iter_packets", "iter_flows"])
@pytest.mark.parametrize("via", ["fifo", "stdin"])
def test_close_stops_a_read_waiting_on_a_pipe_held_open(call, via, tmp_path, monkeypatch) -> None:
    """A writer that has written part of a capture and holds its pipe open without
    writing more: close() after the first batch stopped nothing that waited in the
    system's read, and the reading thread (and a FIFO's descriptor) stayed until the
    writer wrote or closed. The read now waits in poll() a tenth of a second at a time
    and sees the stop."""
    import os
    import threading
    import time

    data = _long_pcap()
    done = threading.Event()
    writers: list[str] = []  # the writer's own descriptor of the FIFO
    if via == "fifo":
        path = tmp_path / "held.pcap"
        os.mkfifo(path)
        source = path

        def write() -> None:
            with open(path, "wb") as w:
                writers.append(str(w.fileno()))
                w.write(data)
                w.flush()
                done.wait(20)  # held open, writing nothing
    else:
        r, w_fd = os.pipe()
        stdin = os.fdopen(r, "rb")
        monkeypatch.setattr("sys.stdin", type("Stdin", (), {"buffer": stdin})())
        source = "-"

        def write() -> None:
            with os.fdopen(w_fd, "wb") as w:
                w.write(data)
                w.flush()
                done.wait(20)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        kwargs = {"idle_timeout": 0.001} if call == "iter_flows" else {}
        batches = getattr(portannot, call)(source, **kwargs)
        assert next(batches).num_rows > 0
        time.sleep(0.3)  # the reading thread reads the rest and waits for more
        started = time.monotonic()
        batches.close()
        held = str(path) if via == "fifo" else None
        while time.monotonic() - started < 3 and _stages_alive(held, writers):
            time.sleep(0.05)
        assert _stages_alive(held, writers) == []
        assert writer.is_alive()  # the writer still holds the pipe open
    finally:
        done.set()
        writer.join(5)
        if via == "stdin":
            stdin.close()


def _stages_alive(path: str | None, but: list[str]) -> list[str]:
    """portannot's stage threads alive, and the descriptors open of `path` (if given)
    but those in `but`."""
    import threading

    if path is not None:
        return [x for x in _reading(Path(path)) if x not in but]
    return [t.name for t in threading.enumerate() if t.name.startswith("portannot-")]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("kind", ["flows", "packets"])
def test_an_iterator_of_no_rows_gives_the_columns(kind, fmt, cli, tmp_path):
    """iter_flows() of a capture without flows (one ARP frame), and iter_packets() of
    one without packets, yielded nothing, so README's `for batch in iter_flows(...):
    writer.write(batch)` wrote a 0-byte .parquet (pyarrow: 'Parquet file size is 0
    bytes') and a CSV without its header, where the command writes both whole. Now such
    a read yields one batch of no rows with the columns (and metadata) of flows()'s and
    packets()' empty table, and the files are the command's."""
    import pyarrow.parquet as pq
    from capgen import write_pcap
    from scapy.layers.l2 import ARP, Ether

    from portannot.output import BatchWriter, Output

    frames = [(0, Ether() / ARP())] if kind == "flows" else []
    cap = write_pcap(tmp_path / "none.pcap", frames)
    batches = list(getattr(portannot, f"iter_{kind}")(cap))
    assert [b.num_rows for b in batches] == [0]
    assert batches[0].schema.equals(getattr(portannot, kind)(cap).schema, check_metadata=True)
    target = tmp_path / f"out.{fmt}"
    with BatchWriter(fmt, Output(target)) as writer:
        for batch in getattr(portannot, f"iter_{kind}")(cap):
            writer.write(batch)
    if fmt == "parquet":
        written = pq.read_table(target)
        assert written.num_rows == 0 and written.schema.names == batches[0].schema.names
    else:
        code, out, err = cli(kind, str(cap), "-f", "csv")
        assert code == 0, err
        assert target.read_text() == out and out.count("\n") == 1


def test_iter_flows_over_a_live_pipe_gives_no_empty_batch(tmp_path: Path) -> None:
    """A named pipe that pauses (half of demo.pcap, then the rest once the first half is
    read and 1 s has passed) hands its records on at the pause; no flow ends there (no
    timeout), and iter_flows gives no batch of no rows for it: its batches are the
    flows, the same as the file's."""
    import fcntl
    import os
    import struct
    import termios
    import threading
    import time

    import pyarrow as pa

    demo = local_capture("demo.pcap")
    data = demo.read_bytes()
    fifo = tmp_path / "live.pcap"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb", buffering=0) as w:
            w.write(data[: len(data) // 2])
            unread = struct.pack("i", 1)
            while struct.unpack("i", unread)[0]:  # the reader has taken the first half
                time.sleep(0.01)
                unread = fcntl.ioctl(w.fileno(), termios.FIONREAD, struct.pack("i", 0))
            time.sleep(1)  # past the pause the window waits for (chunks.LIVE_WAIT)
            w.write(data[len(data) // 2 :])

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    batches = list(portannot.iter_flows(str(fifo)))
    writer.join(60)
    assert all(b.num_rows for b in batches), [b.num_rows for b in batches]
    got = pa.Table.from_batches(batches).sort_by("flow_id")
    assert got.equals(portannot.flows(demo).sort_by("flow_id"))
