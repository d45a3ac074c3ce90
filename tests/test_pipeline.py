"""The threaded pipeline: reader and decoder threads ahead of the consumer.

The threaded stream must give exactly what one thread doing the same steps in
order gives (same packets, same order, same accounting), stop its threads when
the consumer stops early, and hand a reader's error to the consumer.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from paths import LOCAL_PCAPS

from portannot.errors import InputError
from portannot.pipeline import PacketStream
from portannot.status import STATUS_NAMES

SMALL_CHUNK = 4096  # many batches from a small capture (gather=False: kept apart)


PACKET_COLUMNS = ("number", "ts_ns", "length", "status", "transport", "src_port", "dst_port",
                  "tcp_flags", "src_addr", "dst_addr", "vlan")
FLOW_COLUMNS = ("flow_id", "transport", "orig_addr", "orig_port", "resp_addr", "resp_port",
                "service", "direction_basis", "first_ts", "last_ts", "orig_packets",
                "orig_bytes", "resp_packets", "resp_bytes", "orig_flags", "resp_flags", "vlan")


def _columns(batches, names=PACKET_COLUMNS) -> dict[str, np.ndarray]:
    """Each named column of a stream's batches, joined."""
    return {k: np.concatenate([getattr(b, k) for b in batches]) for k in names}


MIXED = ["fragments.pcap", "pcapng-multi.pcapng.gz", "truncated.pcap", "malformed.pcap",
         "transports.pcap", "demo.pcap"]


@pytest.mark.parametrize("names", [["demo.pcap"], MIXED], ids=["one-file", "several-files"])
def test_threads_change_nothing(names):
    path = [LOCAL_PCAPS / n for n in names]
    threaded = PacketStream(path, chunk_size=SMALL_CHUNK, gather=False)
    inline = PacketStream(path, chunk_size=SMALL_CHUNK, background=False, gather=False)
    a, b = list(threaded), list(inline)
    assert len(a) == len(b) > 1
    ca, cb = _columns(a), _columns(b)
    for k in ca:
        np.testing.assert_array_equal(ca[k], cb[k], err_msg=k)
    acc = threaded.accounting
    assert acc.records == len(ca["number"]) == inline.accounting.records
    assert acc.bytes == int(ca["length"].sum()) == inline.accounting.bytes
    counts = np.bincount(ca["status"], minlength=len(STATUS_NAMES))
    np.testing.assert_array_equal(acc.status_counts, counts)
    for s in range(len(STATUS_NAMES)):
        assert acc.status_bytes[s] == int(ca["length"][ca["status"] == s].sum())
    assert [str(p) for p in acc.problems] == [str(p) for p in inline.accounting.problems]


def _stage_threads() -> int:
    return sum(t.name.startswith("portannot-") for t in threading.enumerate())


def test_stopping_early_stops_the_threads(monkeypatch):
    import portannot.pipeline as pipeline

    monkeypatch.setattr(pipeline, "SMALL_FILES_FROM", 1 << 30)  # the stages, of small files too
    stream = iter(PacketStream([LOCAL_PCAPS / "demo.pcap"] * 20, chunk_size=SMALL_CHUNK, gather=False))
    next(stream)
    assert _stage_threads() == 2  # reader and decoder, running ahead
    stream.close()
    assert _stage_threads() == 0


def test_reader_error_reaches_the_consumer(tmp_path):
    bad = tmp_path / "not-a-capture.pcap"
    bad.write_bytes(b"this is not a capture file at all" * 10)
    with pytest.raises(InputError):
        list(PacketStream([bad]))
    with pytest.raises(InputError):  # the last of several, when none could be read
        list(PacketStream([bad, bad]))
    assert _stage_threads() == 0


def test_flows_in_pieces_from_their_own_thread(monkeypatch):
    """The flow thread hands ended flows on in pieces of DRAIN_PIECE; together they
    are exactly the flows of the one-thread stream, in flow-id order."""
    import portannot.pipeline as pipeline
    from portannot.registry import load_table

    monkeypatch.setattr(pipeline, "DRAIN_PIECE", 5)
    table = load_table(None, None)
    path = [LOCAL_PCAPS / n for n in MIXED]
    threaded = pipeline.FlowStream(path, table, chunk_size=SMALL_CHUNK, gather=False)
    inline = pipeline.FlowStream(path, table, chunk_size=SMALL_CHUNK, background=False, gather=False)
    pieces = list(threaded)
    assert _stage_threads() == 0
    assert all(1 <= len(p) <= 5 for p in pieces) and len(pieces) > 2
    a, b = _columns(pieces, FLOW_COLUMNS), _columns(list(inline), FLOW_COLUMNS)
    np.testing.assert_array_equal(a["flow_id"], np.arange(1, len(a["flow_id"]) + 1))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert threaded.flow_count == inline.flow_count == len(a["flow_id"])
    assert threaded.accounting.records == inline.accounting.records


def test_flow_thread_stops_with_its_consumer(monkeypatch):
    import portannot.pipeline as pipeline
    from portannot.pipeline import FlowStream
    from portannot.registry import load_table

    monkeypatch.setattr(pipeline, "SMALL_FILES_FROM", 1 << 30)  # the stages, of small files too
    stream = iter(FlowStream([LOCAL_PCAPS / "demo.pcap"] * 20, load_table(None, None),
                             idle_timeout=0.001, chunk_size=SMALL_CHUNK, gather=False))
    next(stream)
    assert _stage_threads() == 3  # reader, decoder and flows
    stream.close()
    assert _stage_threads() == 0


def _wait_for(condition, seconds: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_started_streams_read_before_they_are_iterated():
    """start() reads in the background while the caller is still getting ready (the CLI
    imports its output side meanwhile); the iteration then takes over, and the result
    is the same as a stream that was not started."""
    from portannot.pipeline import FlowStream
    from portannot.registry import load_table

    table = load_table(None, None)
    path = [LOCAL_PCAPS / n for n in MIXED]
    flows = FlowStream(path, table, chunk_size=SMALL_CHUNK, gather=False).start()
    packets = PacketStream(path, chunk_size=SMALL_CHUNK, gather=False).start()
    assert _wait_for(lambda: flows.accounting.records > 0)  # read, nothing iterated yet
    started_flows, started_packets = list(flows), list(packets)
    assert _stage_threads() == 0
    plain_flows = list(FlowStream(path, table, chunk_size=SMALL_CHUNK, gather=False))
    plain_packets = list(PacketStream(path, chunk_size=SMALL_CHUNK, gather=False))
    a, b = _columns(started_flows, FLOW_COLUMNS), _columns(plain_flows, FLOW_COLUMNS)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    a, b = _columns(started_packets), _columns(plain_packets)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert flows.accounting.records == len(a["number"])


def test_closing_a_started_stream_unread_stops_its_threads(monkeypatch):
    """A command that fails after starting (say, its output file exists) closes it."""
    import portannot.pipeline as pipeline
    from portannot.pipeline import FlowStream
    from portannot.registry import load_table

    monkeypatch.setattr(pipeline, "SMALL_FILES_FROM", 1 << 30)  # the stages, of small files too

    many = [LOCAL_PCAPS / "demo.pcap"] * 50
    flows = FlowStream(many, load_table(None, None), idle_timeout=0.001,
                       chunk_size=SMALL_CHUNK, gather=False).start()
    packets = PacketStream(many, chunk_size=SMALL_CHUNK, gather=False).start()
    # each stage waits on the full queue of the next: flows 3 threads, packets 2
    assert _wait_for(lambda: _stage_threads() == 5)
    flows.close()
    packets.close()
    assert _stage_threads() == 0


def test_converted_in_order_with_the_precision_known_then():
    """converted() runs the conversion in its own thread: the same items in the same
    order as converting inline, each with the timestamp precision the accounting had
    when the batch was read (the text writers print with it; pcapng-multi raises it)."""
    from portannot.pipeline import converted

    path = [LOCAL_PCAPS / n for n in MIXED]
    inline_stream = PacketStream(path, chunk_size=SMALL_CHUNK, background=False, gather=False)
    inline = [(b.number.copy(), inline_stream.accounting.ts_digits) for b in inline_stream]
    got = list(converted(PacketStream(path, chunk_size=SMALL_CHUNK, gather=False), lambda b: b.number.copy()))
    assert len(got) == len(inline) > 1
    assert len({d for _, d in inline}) > 1  # the precision does change along these files
    for (a, da, paused), (b, db) in zip(got, inline):
        assert not paused  # files never pause
        np.testing.assert_array_equal(a, b)
        assert da == db
    assert _stage_threads() == 0


def test_converted_errors_and_early_close():
    from portannot.pipeline import converted

    def boom(batch):
        raise ValueError("conversion failed")

    with pytest.raises(ValueError, match="conversion failed"):
        list(converted(PacketStream([LOCAL_PCAPS / "demo.pcap"]), boom))
    assert _stage_threads() == 0
    items = converted(PacketStream([LOCAL_PCAPS / "demo.pcap"] * 20, chunk_size=SMALL_CHUNK, gather=False), len)
    next(items)
    items.close()
    assert _stage_threads() == 0


def test_an_unreadable_input_among_several_costs_only_itself(tmp_path):
    """Missing, empty, not a capture: reported, skipped; the other inputs all count.
    Only when no input can be read is the error all there is (as with one file)."""
    demo = LOCAL_PCAPS / "demo.pcap"
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    text = tmp_path / "notes.pcap"
    text.write_text("not a capture\n")
    alone = PacketStream([demo])
    n_alone = sum(len(b) for b in alone)
    stream = PacketStream([tmp_path / "missing.pcap", demo, empty, demo, text])
    assert sum(len(b) for b in stream) == 2 * n_alone
    acc = stream.accounting
    assert acc.records == 2 * n_alone and acc.damaged
    assert [u.path for u in acc.unreadable] == [
        str(tmp_path / "missing.pcap"), str(empty), str(text)]
    assert all(u.why.startswith(f"{u.path}: ") for u in acc.unreadable)
    assert acc.warnings()[:3] == [
        f"{tmp_path / 'missing.pcap'}: no such file; skipped, the other inputs read",
        f"{empty}: empty file; skipped, the other inputs read",
        f"{text}: not a pcap or pcapng capture (starts with 6e6f7420); skipped, the other "
        "inputs read",  # "not " in hex
    ]
    with pytest.raises(InputError, match="missing.pcap: no such file; .*empty.pcap: empty file"):
        list(PacketStream([tmp_path / "missing.pcap", empty]))


@pytest.mark.parametrize("n", [20, 21, 5000])
def test_the_error_when_no_input_can_be_read_names_the_first_few(tmp_path, n):
    """Of many inputs none of which can be read, the one error line names the first 20
    and counts the rest: it listed every one (5,000 missing files: a line of 200 kB)."""
    paths = [tmp_path / f"missing{i:05d}.pcap" for i in range(n)]
    with pytest.raises(InputError) as caught:
        list(PacketStream(paths))
    text = str(caught.value)
    for p in paths[:20]:
        assert f"{p}: no such file" in text
    assert str(paths[20]) not in text if n > 20 else True
    more = n - 20
    if more:
        assert text.endswith(f"; and {more:,} more {'input' if more == 1 else 'inputs'} that "
                             "could not be read")
    else:
        assert text.endswith(f"{paths[-1]}: no such file")
    assert len(text) < 200 * (len(str(tmp_path)) + 40)


def test_an_unreadable_input_among_several_exits_4_with_the_others_written(tmp_path, capsys):
    from portannot.cli import main

    out = tmp_path / "flows.csv"
    with pytest.raises(SystemExit) as exc:
        main(["flows", "-q", "-f", "csv", "-o", str(out), str(LOCAL_PCAPS / "demo.pcap"),
              str(tmp_path / "missing.pcap")])
    err = capsys.readouterr().err
    assert exc.value.code == 4
    assert err.splitlines() == [
        f"portannot: warning: {tmp_path / 'missing.pcap'}: no such file; skipped, the other "
        "inputs read"]
    assert len(out.read_text().splitlines()) == 1 + 28  # header and demo.pcap's 28 flows


# ------------------------------------------------------------------ gathering small batches

def test_small_files_are_joined_with_each_row_s_input(tmp_path):
    """Of many small files, the batches are joined (a few batches, not one per file),
    each row still saying its input (`files`) and its number in that file; the rows are
    those of the files read apart, in order, and the accounting is the same."""
    from portannot.pipeline import GATHERED

    names = MIXED * 8
    path = [LOCAL_PCAPS / n for n in names]
    apart = PacketStream(path, gather=False, background=False)
    gathered = PacketStream(path)
    a, b = list(apart), list(gathered)
    assert len(a) >= len(names) and len(b) < 3
    assert all(len(x) <= GATHERED + len(max(a, key=len)) for x in b)
    ca, cb = _columns(a), _columns(b)
    for k in ca:
        np.testing.assert_array_equal(ca[k], cb[k], err_msg=k)
    # each row's input, as the batches read apart give it
    expected = np.concatenate([np.full(len(x), x.file_index, np.int32) for x in a])
    np.testing.assert_array_equal(np.concatenate([x.file_indices() for x in b]), expected)
    assert sorted(set(expected.tolist())) == list(range(len(names)))
    assert gathered.accounting.records == apart.accounting.records == len(expected)
    np.testing.assert_array_equal(gathered.accounting.status_counts,
                                  apart.accounting.status_counts)
    assert [str(p) for p in gathered.accounting.problems] == [
        str(p) for p in apart.accounting.problems]


def test_many_tiny_batches_are_not_held_apart():
    """One-packet files each make a batch of one row, and batches are held until GATHERED
    rows (65,536) are joined: held apart, each cost ~3 KB of arrays and objects, 357 MB
    peak for 65,536 one-packet files (`portannot packets` to Parquet; 110 MB for the same
    packets in one file). They are joined in runs as they come: the rows, their order and
    inputs are the same, and the memory held is about the rows' own."""
    import tracemalloc

    from portannot.decode import PacketBatch
    from portannot.pipeline import GATHERED, SMALL_BATCH, _joined

    n = 20_000
    assert n < GATHERED

    def tiny():
        for i in range(n):
            b = PacketBatch.empty(1, file_index=i)
            b.number[:] = 1
            b.ts_ns[:] = i
            yield b

    tracemalloc.start()
    try:
        out = list(_joined(tiny(), SMALL_BATCH))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(out) == 1
    np.testing.assert_array_equal(out[0].ts_ns, np.arange(n))
    np.testing.assert_array_equal(out[0].file_indices(), np.arange(n))
    # the rows' own columns: ~100 bytes a row, 2 MB; held apart, 20,000 batches took 50 MB
    assert peak < 12 << 20, peak


def test_large_batches_are_not_joined():
    """A batch of SMALL_BATCH rows or more goes on as it is: no copy for big captures."""
    from portannot.pipeline import SMALL_BATCH

    stream = PacketStream([LOCAL_PCAPS / "demo.pcap"], chunk_size=4096)
    stream_apart = PacketStream([LOCAL_PCAPS / "demo.pcap"], chunk_size=4096, gather=False)
    apart = list(stream_apart)
    assert all(len(x) < SMALL_BATCH for x in apart) and len(apart) > 1
    joined = list(stream)
    assert len(joined) == 1 and joined[0].files is None  # one file: no per-row inputs
    big = PacketStream([LOCAL_PCAPS / "demo.pcap"])
    import portannot.pipeline as pipeline

    try:
        pipeline.SMALL_BATCH, saved = 1, pipeline.SMALL_BATCH
        assert len(list(big)) == 1 and len(list(PacketStream([LOCAL_PCAPS / "demo.pcap"] * 3))) == 3
    finally:
        pipeline.SMALL_BATCH = saved


def test_a_parcel_in_hand_reaches_the_consumer_before_the_failure():
    """The stages hand on parcels of records; a failure in the middle of one hands on
    what came before it first, then raises."""
    from portannot.capture import RecordBatch
    from portannot.pipeline import _parcels

    def batch(n):
        z = np.zeros(n, np.int64)
        return RecordBatch(np.zeros(1, np.uint8), z, z.astype(np.uint32), z.astype(np.uint32),
                           z, z.astype(np.uint16), z.astype(np.uint32), z.astype(np.uint8), 1)

    def items():
        yield "progress"
        yield batch(3)
        yield batch(2)
        yield "end"
        yield batch(1)
        raise InputError("broken")

    got = []
    with pytest.raises(InputError, match="broken"):
        for parcel in _parcels(items(), 5):
            got.append([x if isinstance(x, str) else len(x) for x in parcel])
    assert got == [["progress", 3, 2], ["end", 1]]
    assert [[len(x) for x in p] for p in _parcels((batch(1) for _ in range(5)), 2)] == [[1, 1], [1, 1], [1]]


# ------------------------------------------------------------------ many small files

def _cut(path, folder, parts: int) -> list:
    """`path`'s records in `parts` pcap files, each with the file header, as a rotating
    capture (or a per-session splitter) leaves them."""
    from capgen import layout

    data = path.read_bytes()
    starts = [start for start, _ in layout(data).records]
    step = -(-len(starts) // parts)
    bounds = [starts[i] for i in range(0, len(starts), step)] + [len(data)]
    out = []
    for i in range(len(bounds) - 1):
        piece = folder / f"part{i:03d}.pcap"
        piece.write_bytes(data[:24] + data[bounds[i]:bounds[i + 1]])
        out.append(piece)
    return out


def test_many_small_files_are_read_in_the_consumer_s_thread_and_give_the_same_rows(tmp_path):
    """Of many small files (SMALL_FILES_FROM or more, their median size under
    SMALL_FILE_BYTES) a PacketStream reads and decodes in its consumer's thread (a
    FlowStream's own) instead of two stages more; few files, or large ones, keep the
    stages. The flows and packets are those of the capture read whole either way."""
    import portannot
    from portannot.pipeline import SMALL_FILES_FROM, FlowStream, small_files
    from portannot.registry import load_table

    demo = LOCAL_PCAPS / "demo.pcap"
    parts = _cut(demo, tmp_path, 24)
    assert len(parts) >= SMALL_FILES_FROM
    table = load_table()
    many = FlowStream(parts, table)
    assert many.packets.background is False and PacketStream(parts).background is False
    assert FlowStream(parts[:SMALL_FILES_FROM - 1], table).packets.background is True
    assert PacketStream(parts[:SMALL_FILES_FROM - 1]).background is True
    assert FlowStream(parts, table, background=False).packets.background is False
    # the packets of the files are those of the capture read whole
    apart = _columns(list(PacketStream(parts)), [c for c in PACKET_COLUMNS if c != "number"])
    whole = _columns(list(PacketStream([demo])), [c for c in PACKET_COLUMNS if c != "number"])
    for k in whole:
        np.testing.assert_array_equal(apart[k], whole[k], err_msg=k)
    keys = ["transport", "orig_addr", "orig_port", "resp_addr", "resp_port", "service",
            "orig_packets", "orig_bytes", "resp_packets", "resp_bytes", "direction_basis"]
    whole = portannot.flows(demo).select(keys).to_pylist()
    assert portannot.flows(parts).select(keys).to_pylist() == whole
    # what decides: the count, the median size (standard input and what stat refuses skipped)
    assert small_files([str(p) for p in parts])
    assert small_files(["-", str(tmp_path / "missing.pcap"), *map(str, parts)])
    assert not small_files([str(tmp_path / "missing.pcap")] * 40)
    big = tmp_path / "big.pcap"
    big.write_bytes(b"\0" * (1 << 20))
    assert not small_files([str(big)] * 20 + [str(p) for p in parts[:10]])


@pytest.mark.parametrize("small_batch", [None, 1 << 20])
def test_joined_batches_keep_each_files_precision(small_batch):
    """Small batches are joined across files (the default), but not across a change of
    precision: a microsecond capture's rows keep 6 digits when a nanosecond capture
    follows, however the batches fall; the rows after the nanosecond one have 9 (the
    finest read so far, as README says). small_batch 2^20 joins every batch it may."""
    from portannot.pipeline import converted

    names = ["demo.pcap", "pcap-usec-le.pcap", "pcap-nsec-le.pcap", "demo.pcap"]
    want = {0: 6, 1: 6, 2: 9, 3: 9}
    stream = PacketStream([LOCAL_PCAPS / n for n in names], small_batch=small_batch)
    rows = 0
    for files, digits, _paused in converted(stream, lambda b: b.file_indices().copy()):
        assert {want[int(f)] for f in files} == {digits}, (set(files.tolist()), digits)
        rows += len(files)
    assert rows == stream.accounting.records > 0
