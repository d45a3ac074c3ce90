"""The progress line: on stderr when it is a terminal, never with --quiet or a pipe."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from collections.abc import Callable

import pytest
from capgen import big_capture, dpkt_frames
from paths import LOCAL_PCAPS


def _run_on_terminal(*args: str, env: dict[str, str] | None = None, width: int | None = None,
                     resize_to: int | None = None) -> tuple[str, bytes, int]:
    """Run portannot with stderr on a pseudo-terminal (`width` columns if given; resized
    to `resize_to` once its first output has come): (terminal text, stdout, exit)."""
    import threading

    main_fd, term_fd = pty.openpty()
    if width is not None:
        _set_width(term_fd, width)
    proc = subprocess.Popen([sys.executable, "-m", "portannot", *args], stdout=subprocess.PIPE,
                            stderr=term_fd, stdin=subprocess.DEVNULL,
                            env=dict(os.environ, **(env or {})))
    os.close(term_fd)
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read()))
    reader.start()
    chunks: list[bytes] = []
    first = None if resize_to is None else (lambda: _set_width(main_fd, resize_to))
    _read_until_closed(main_fd, chunks, first)  # resized as a terminal window is
    reader.join()
    proc.wait()
    proc.stdout.close()
    os.close(main_fd)
    return b"".join(chunks).decode(errors="replace"), out[0], proc.returncode


def _read_until_closed(fd: int, chunks: list[bytes],
                       on_first: Callable[[], None] | None = None) -> None:
    """Append what the terminal's main side `fd` gives to `chunks` until the terminal
    closes with the process (an OSError on Linux, not an empty read); `on_first` is
    called once the first output has come."""
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            return
        if not data:
            return
        if on_first is not None and not chunks:
            on_first()
        chunks.append(data)


def _set_width(fd: int, columns: int) -> None:
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))


def frames(term: str) -> list[str]:
    """What the terminal showed, frame by frame: the text between carriage returns, escape
    sequences (the erasing of a line's end) left out; the empty frames (erasures) too."""
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", term)
    return [f for f in text.split("\r") if f]


def test_progress_counts_packets_on_a_terminal():
    capture = LOCAL_PCAPS / "demo.pcap"
    term, out, code = _run_on_terminal("flows", str(capture), "-f", "csv")
    assert code == 0
    counts = [int(n.replace(",", "")) for n in re.findall(r"([\d,]+) packets", term)]
    assert counts, f"no progress line on the terminal: {term!r}"
    total = len(dpkt_frames(capture))
    assert all(0 <= n <= total for n in counts)
    assert out.startswith(b"\"flow_id\",")  # stdout carries only the output


#: a rate no reading reaches: README's benchmarks decode 4.9 M packets/s on 2 cores
CEILING = 100e6


def test_the_rate_is_of_the_time_spent_reading(tmp_path):
    """The rate is the packets read over the time they were read in. The reading starts
    before the line does (the output side still importing), and the rate was the count
    over the time the line had been up: its first frame claimed a capture of 272,000
    packets read at 2,488 M/s, its second at 36 M/s, where it took some 0.2 s. The
    reading often ends before the first frame, which then says so ('272,000 packets read
    at 1.66 M/s'): those frames' rate is checked too."""
    capture = big_capture(tmp_path / "big.pcap", LOCAL_PCAPS / "demo.pcap", copies=1000)
    term, _out, code = _run_on_terminal("flows", str(capture), "-f", "csv")
    assert code == 0
    frames = re.findall(r"([\d,]+) packets(?: read)?  (?:at )?([\d.]+) M/s", term)
    assert frames, f"no progress line on the terminal: {term!r}"
    rates = [float(rate) * 1e6 for _, rate in frames]
    assert max(rates) < CEILING, frames


@pytest.mark.parametrize("env", [{"TERM": "dumb"}, {"TERM": "unknown"},
                                 {"TTY_INTERACTIVE": "0"}, {"TERM": "dumb", "TTY_INTERACTIVE": "1"}])
def test_a_dumb_terminal_gets_nothing(env):
    """A terminal that cannot move its cursor (TERM=dumb: Emacs's shell, some CI logs),
    or one rich is told is not interactive (TTY_INTERACTIVE=0), has no line drawn, rich
    drawing none there; it got an empty line instead, left above whatever came next on
    stderr, at the end of every run."""
    capture = LOCAL_PCAPS / "demo.pcap"
    shown, out, code = _run_on_terminal("flows", str(capture), "-f", "csv", env=env)
    assert code == 0 and out.startswith(b"\"flow_id\",")
    assert shown == ""


def test_quiet_and_pipes_get_no_progress():
    capture = LOCAL_PCAPS / "demo.pcap"
    term, out, code = _run_on_terminal("flows", str(capture), "-f", "csv", "--quiet")
    assert code == 0 and "packets" not in term and out.startswith(b"\"flow_id\",")
    piped = subprocess.run([sys.executable, "-m", "portannot", "flows", str(capture), "-f", "csv"],
                           capture_output=True)
    assert piped.returncode == 0 and b"packets" not in piped.stderr


@pytest.mark.parametrize("to", [(), ("-o", "/dev/stdout"), ("-o", "/dev/tty")])
@pytest.mark.parametrize("width", [250, 80])
@pytest.mark.parametrize("fmt", ["table", "csv", "jsonl"])
def test_rows_on_the_terminal_are_not_spliced_into_the_progress_line(fmt, width, to):
    """`packets` with its rows and the progress line on one terminal: every row comes
    out whole (rows written past rich's hold on the terminal landed in the middle of
    the progress line): the rows are the progress, none is drawn. On a terminal
    narrower than a row (80 columns), a table row is not broken either: printed above
    a progress line, each row went through rich, which wrapped it in two (and took 50
    times as long). The terminal named by -o (/dev/stdout, /dev/tty: README's
    descriptors written in place) is that terminal too: the line was drawn there, and
    its redraws erased the start of the rows written after it."""
    import fcntl
    import struct
    import termios
    import threading

    capture = LOCAL_PCAPS / "demo.pcap"
    main_fd, term_fd = pty.openpty()
    fcntl.ioctl(term_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, width, 0, 0))
    args = [sys.executable, "-m", "portannot", "packets", str(capture), "-f", fmt]

    def own_terminal() -> None:  # /dev/tty is the terminal the process controls
        os.setsid()
        fcntl.ioctl(term_fd, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen([*args, *to], stdout=term_fd, stderr=term_fd,
                            stdin=subprocess.DEVNULL, env=dict(os.environ, COLUMNS=str(width)),
                            preexec_fn=own_terminal)
    os.close(term_fd)
    chunks: list[bytes] = []
    reader = threading.Thread(target=_read_until_closed, args=(main_fd, chunks))
    reader.start()
    assert proc.wait(timeout=120) == 0
    reader.join(timeout=10)
    os.close(main_fd)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode(errors="replace"))
    lines = [line.strip() for line in re.split(r"[\r\n]+", text)]
    piped = subprocess.run(args, capture_output=True, check=True)
    rows = [line.strip() for line in piped.stdout.decode().splitlines()]
    assert len(rows) > 100
    assert [line for line in lines if line in rows] == rows
    assert "packets" not in "".join(line for line in lines if line not in rows)  # no progress


@pytest.mark.parametrize("width", [20, 30, 40])
def test_the_line_fits_a_narrow_terminal(tmp_path, width):
    """On 20 to 40 columns every frame fits on one row, the least important fields left
    out: rich's line (spinner, packets, rate, time) wrapped over two rows there, and each
    redraw's "\r" went back to the start of the second only, leaving a row per frame."""
    capture = big_capture(tmp_path / "big.pcap", LOCAL_PCAPS / "demo.pcap", copies=300)
    term, _out, code = _run_on_terminal("flows", str(capture), "-f", "csv", width=width)
    assert code == 0
    shown = frames(term)
    assert shown, f"no progress line on the terminal: {term!r}"
    assert "\n" not in term  # nothing wrapped by the program itself, nothing left above
    # a frame ends short of the last column, where some terminals' cursor wraps
    assert all(len(f) < width for f in shown), [f for f in shown if len(f) >= width]
    # what is kept longest: the percentage (then the time left), or once reading has
    # ended what is being done
    assert all(re.match(r"\d+%|writing", f) for f in shown), shown


def test_a_resize_is_followed(tmp_path):
    """The width is asked at every frame: a terminal narrowed from 120 to 25 columns
    while the command ran gets frames of 25 columns from then on."""
    capture = big_capture(tmp_path / "big.pcap", LOCAL_PCAPS / "demo.pcap", copies=300)
    term, _out, code = _run_on_terminal("flows", str(capture), "-f", "csv", width=120,
                                        resize_to=25)
    assert code == 0
    shown = frames(term)
    assert len(shown[-1]) < 25 and "\n" not in term, shown


def test_fields_are_left_out_least_important_first():
    from portannot.cli.progress import Field, fit

    fields = [Field("file 2/3", 2), Field("45%", 0), Field("ETA 0:04", 1), Field("x.pcap", 3)]
    assert fit(fields, 80) == "file 2/3  45%  ETA 0:04  x.pcap"
    assert fit(fields, 25) == "file 2/3  45%  ETA 0:04"
    assert fit(fields, 15) == "45%  ETA 0:04"
    assert fit(fields, 5) == "45%"
    assert fit(fields, 2) == "45"
    assert fit(fields, 0) == ""


def test_wide_characters_count_two_columns():
    from portannot.cli.progress import Field, cells, fit

    assert cells("日本.pcap") == 9
    assert fit([Field("日本.pcap", 1), Field("45%", 0)], 13) == "45%"


def test_combining_marks_take_no_column_and_emoji_are_not_counted_short():
    """A combining mark counted one column: "café" spelled e + U+0301 took 5, so a name
    of them was cut to half the columns the line gives a name ("..." and 10 of 20 é),
    and the cut could leave a mark first, drawn on the "...". A lone regional indicator
    counted one, where terminals draw it two wide (the line could wrap). Widths by hand:
    c a f e . p c a p is 9 columns; a variation selector is kept at 2 (U+FE0F widens the
    one-column heart to the two an emoji takes)."""
    import unicodedata

    from portannot.cli.progress import NAME_MAX, _shown_name, cells

    assert cells("cafe\u0301.pcap") == 9
    assert cells("\U0001f1ef") == 2 and cells("\U0001f1ef\U0001f1f5") == 4
    assert cells("\u2764\ufe0f") >= 2
    assert _shown_name("e\u0301" * 40 + ".pcap") == "..." + "e\u0301" * 20 + ".pcap"
    for name in ("1\ufe0f\u20e3" * 12 + ".pcap", "xe\u0301\u0302" * 30 + ".pcap"):
        shown = _shown_name(name)
        assert shown.startswith("...") and cells(shown) <= NAME_MAX
        assert unicodedata.category(shown[3]) not in ("Mn", "Me"), shown


def test_the_percentage_reaches_100_on_regular_files(tmp_path):
    """Of regular files, the line says how much of their bytes is read, and which file of
    how many: a plain one by its bytes, a compressed one by its compressed bytes. The
    last frame, once all is read, is 100 %."""
    import gzip

    big = big_capture(tmp_path / "big.pcap", LOCAL_PCAPS / "demo.pcap", copies=300)
    packed = tmp_path / "demo.pcap.gz"
    packed.write_bytes(gzip.compress((LOCAL_PCAPS / "demo.pcap").read_bytes()))
    term, _out, code = _run_on_terminal("flows", str(big), str(packed), "-f", "csv", width=120)
    assert code == 0
    shown = frames(term)
    percents = [int(p) for f in shown for p in re.findall(r"(\d+)%", f)]
    assert percents and percents == sorted(percents), shown
    assert "100%" in shown[-1], shown
    # which file is shown where the reading is long enough to see it: test_several_inputs_...


def test_several_inputs_show_which_file_is_read(tmp_path):
    """Of several inputs, the line says which is read (file n/N) and its name; the first
    a FIFO, held half written until the terminal shows that, so no size is known: no
    percentage then, only the counts."""
    import select

    fifo = tmp_path / "live.pcap"
    os.mkfifo(fifo)
    data = (LOCAL_PCAPS / "demo.pcap").read_bytes()
    main_fd, term_fd = pty.openpty()
    _set_width(term_fd, 100)
    proc = subprocess.Popen([sys.executable, "-m", "portannot", "flows", str(fifo),
                             str(LOCAL_PCAPS / "demo.pcap"), "-f", "csv"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=term_fd)
    os.close(term_fd)
    chunks: list[bytes] = []
    with open(fifo, "wb") as w:
        w.write(data[: len(data) // 2])
        w.flush()
        while not any("file 1/2  live.pcap" in f for f in frames(b"".join(chunks).decode())):
            assert select.select([main_fd], [], [], 60)[0], "no frame of the first file"
            chunks.append(os.read(main_fd, 65536))
        w.write(data[len(data) // 2 :])
    _read_until_closed(main_fd, chunks)
    assert proc.wait() == 0
    os.close(main_fd)
    shown = frames(b"".join(chunks).decode())
    reading = [f for f in shown if f.startswith("file ")]
    assert reading and all("%" not in f and "ETA" not in f and "packets" in f for f in reading)


def test_standard_input_has_counts_and_rate_only():
    """A pipe's size is not known: no percentage, bar or time left, only the counts."""
    capture = LOCAL_PCAPS / "demo.pcap"
    with open(capture, "rb") as f:
        main_fd, term_fd = pty.openpty()
        proc = subprocess.Popen([sys.executable, "-m", "portannot", "flows", "-", "-f", "csv"],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=term_fd)
        os.close(term_fd)
        proc.stdin.write(f.read())
        proc.stdin.close()
        chunks: list[bytes] = []
        _read_until_closed(main_fd, chunks)
        assert proc.wait() == 0
        os.close(main_fd)
    shown = frames(b"".join(chunks).decode())
    assert shown and all("packets" in f and "%" not in f and "ETA" not in f for f in shown)


def _accounting(files: list[str], read_position: tuple[int, int], seconds: float,
                records: int = 1000):
    import time

    from portannot.accounting import Accounting

    acc = Accounting(files=files, records=records)
    acc.read_position = read_position
    acc.reading_since = time.monotonic() - seconds
    return acc


def test_a_frame_says_percent_time_left_and_file(tmp_path):
    """Two files of 1,000 bytes, the second half read after 3 s: 75 % of the bytes, 1 s
    left at that pace, file 2 of 2 and its name."""
    from portannot.cli.progress import Frames

    files = []
    for name in ("a.pcap", "b.pcap"):
        (tmp_path / name).write_bytes(b"\0" * 1000)
        files.append(str(tmp_path / name))
    line = Frames(_accounting(files, (1, 500), 3.0), lambda: "writing")(200)
    assert line.startswith("file 2/2  b.pcap  75%  [###############-----]  ETA 0:01  "), line
    assert line.endswith("1,000 packets  0.00 M/s  0:03 elapsed"), line
    assert Frames(_accounting(files, (2, 0), 3.0), lambda: "writing")(200).startswith("file 2/2  100%  [#####")
    # narrow: the percentage and the time left stay longest
    assert Frames(_accounting(files, (1, 500), 3.0), lambda: "writing")(15) == "75%  ETA 0:01"


def test_a_frame_without_a_known_size_has_no_percentage(tmp_path):
    from portannot.cli.progress import Frames

    line = Frames(_accounting(["-"], (0, 500), 2.0, records=3_000_000), lambda: "writing")(200)
    assert line == "3,000,000 packets  1.50 M/s  0:02 elapsed"


def test_once_reading_has_ended_the_line_says_so_and_the_rate_stays(tmp_path):
    """Reading ended 2 s after it began, 8 s ago (`flows` writing its rows since): the
    line says what is being done, and the rate is the reading's, 1.50 M/s over those
    2 s; it was the count over all 10 s, falling for as long as the writing took."""
    import time

    from portannot.cli.progress import Frames

    (tmp_path / "a.pcap").write_bytes(b"\0" * 1000)
    acc = _accounting([str(tmp_path / "a.pcap")], (1, 0), 10.0, records=3_000_000)
    acc.reading_until = acc.reading_since + 2.0
    frame = Frames(acc, lambda: "writing 96,492 flows")
    assert frame(200) == ("writing 96,492 flows  3,000,000 packets read  at 1.50 M/s  100%"
                          "  0:10 elapsed")
    time.sleep(1.1)
    assert "at 1.50 M/s" in frame(200)
    assert frame(25) == "writing 96,492 flows"


def test_the_last_frame_says_how_many_flows_are_written(tmp_path):
    """`flows` writes its rows once reading has ended (no timeouts): the line says
    "writing N flows", N the rows the file then holds."""
    capture = big_capture(tmp_path / "big.pcap", LOCAL_PCAPS / "demo.pcap", copies=20)
    out = tmp_path / "flows.csv"
    term, _out, code = _run_on_terminal("flows", str(capture), "-o", str(out), width=150)
    assert code == 0
    rows = len(out.read_text().splitlines()) - 1
    last = frames(term)[-1]
    assert last.startswith(f"writing {rows:,} flows  "), last
    assert re.search(r"[\d,]+ packets read  at [\d.]+ M/s  100%", last), last
