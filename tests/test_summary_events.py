"""gk.summary's event files: the TFRecord framing and CRC-32C, the hand-written protocol buffers
(checked against TensorBoard's own protobuf classes), TensorBoard's EventAccumulator reading
what we write (also while it is being appended), and our reader on files written by
TensorBoard's writer and by ours, including corrupt and truncated records."""
from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.compat.proto import event_pb2, summary_pb2  # noqa: E402
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import crc32c as tb_crc32c  # noqa: E402
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as tb_masked_crc32c  # noqa: E402
from tensorboard.plugins.histogram import summary_v2 as tb_histogram  # noqa: E402
from tensorboard.plugins.scalar import summary_v2 as tb_scalar  # noqa: E402
from tensorboard.plugins.text import summary_v2 as tb_text  # noqa: E402
from tensorboard.summary.writer.event_file_writer import EventFileWriter  # noqa: E402

import graphkit as gk  # noqa: E402
from graphkit.summary import records  # noqa: E402
from graphkit.summary.crc32c import crc32c, crc32c_segments, masked_crc32c  # noqa: E402
from graphkit.summary.graph_def import GraphDef, NodeDef, Shape  # noqa: E402
from graphkit.summary.messages import decode_event  # noqa: E402
from graphkit.summary.reader import _fast_scalars  # noqa: E402

SIZES = {"scalars": 0, "histograms": 0, "tensors": 0}


def accumulate(path) -> EventAccumulator:
    accumulator = EventAccumulator(str(path), size_guidance=SIZES)
    accumulator.Reload()
    return accumulator


def record_payloads(path) -> list[bytes]:
    data = open(path, "rb").read()
    found = records.scan(data)
    return [data[s:s + n] for s, n in zip(found.starts.tolist(), found.lengths.tolist())]


# ---------------------------------------------------------------- CRC-32C

@pytest.mark.parametrize("data, expected", [
    (b"123456789", 0xE3069283),
    (b"", 0x00000000),
    (bytes(32), 0x8A9136AA),                       # RFC 3720, B.4
    (b"\xff" * 32, 0x62A8AB43),
    (bytes(range(32)), 0x46DD794E),
    (bytes(range(31, -1, -1)), 0x113FDB5C),
])
def test_crc32c_known_vectors(data, expected):
    assert crc32c(data) == expected
    segment = crc32c_segments(np.frombuffer(b"xx" + data + b"yy", np.uint8), [2], [len(data)])
    assert int(segment[0]) == expected


def test_crc32c_matches_tensorboard_and_every_row_width():
    rng = np.random.default_rng(0)
    buffer = rng.integers(0, 256, 6000, dtype=np.uint8)
    starts = rng.integers(0, 3000, 200)
    lengths = np.minimum(rng.integers(0, 1500, 200), 6000 - starts)
    lengths[:3] = [0, 1, 3000]                      # empty, one byte, many rows
    expected = np.array([tb_crc32c(buffer[s:s + n].tobytes()) for s, n in zip(starts, lengths)], np.uint32)
    assert [crc32c(buffer[s:s + n].tobytes()) for s, n in zip(starts[:20], lengths[:20])] == expected[:20].tolist()
    for width in (4, 8, 12, 40, 64, 256):
        assert (crc32c_segments(buffer, starts, lengths, width=width) == expected).all(), width
    payload = buffer[:777].tobytes()
    assert masked_crc32c(payload) == tb_masked_crc32c(payload)


# ---------------------------------------------------------------- writing

def test_scalar_records_are_protobuf_events_with_tensorboards_crcs(tmp_path):
    writer = gk.summary.create_file_writer(tmp_path)
    steps = [0, 1, 127, 128, 16383, 16384, 2 ** 21, 2 ** 40, -5]
    values = [0.5, -1.25, float("inf"), 1e300, float("nan"), 3.0, -0.0, 1e-30, 7.0]
    with writer.as_default():
        for step, value in zip(steps, values):
            assert gk.summary.scalar("loss/train", value, step=step)
    writer.close()
    data = open(writer.path, "rb").read()
    found = records.scan(data)
    payloads = record_payloads(writer.path)
    assert event_pb2.Event.FromString(payloads[0]).file_version == "brain.Event:2"
    for start, length, payload in zip(found.starts.tolist(), found.lengths.tolist(), payloads):
        assert data[start - 12:start - 4] == length.to_bytes(8, "little")
        assert int.from_bytes(data[start - 4:start], "little") == tb_masked_crc32c(data[start - 12:start - 4])
        assert int.from_bytes(data[start + length:start + length + 4], "little") == tb_masked_crc32c(payload)
        assert event_pb2.Event.FromString(payload).SerializeToString() == payload   # canonical bytes
    events = [event_pb2.Event.FromString(p) for p in payloads[1:]]
    assert [e.step for e in events] == steps
    got = [e.summary.value[0].simple_value for e in events]
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(got, np.float32(values))    # 1e300 becomes inf, as in float32
    assert {e.summary.value[0].tag for e in events} == {"loss/train"}


def test_file_name_and_version_record(tmp_path):
    writer = gk.summary.create_file_writer(tmp_path / "run")
    name = os.path.basename(writer.path)
    assert os.path.dirname(writer.path) == str(tmp_path / "run") and name.endswith(".v2")
    parts = name[:-len(".v2")].split(".")
    stamp, host, pid, counter = parts[3], ".".join(parts[4:-2]), parts[-2], parts[-1]
    assert parts[:3] == ["events", "out", "tfevents"] and len(stamp) == 10 and stamp.isdigit()
    assert host and int(pid) == os.getpid() and counter.isdigit()
    assert event_pb2.Event.FromString(record_payloads(writer.path)[0]).file_version == "brain.Event:2"
    writer.close()


def test_tensorboard_reads_scalars_histograms_text_and_graph(tmp_path):
    rng = np.random.default_rng(1)
    weights = rng.normal(size=(64, 32)).astype(np.float32)
    writer = gk.summary.create_file_writer(tmp_path)
    with writer.as_default(step=7):
        for step in range(5):
            gk.summary.scalar("loss", 1.0 / (step + 1), step=step)
        gk.summary.scalar("described", 2.0, description="a described scalar")
        gk.summary.histogram("weights", weights)
        gk.summary.histogram("few", weights, buckets=4, step=8)
        gk.summary.histogram("constant", np.full(10, 3.0), step=9)
        gk.summary.text("notes", "hello **world**")
        gk.summary.text("table", [["a", "b"], ["c", "d"]])
        gk.summary.graph([NodeDef("x", "Placeholder", attr={"dtype": np.dtype("float32"),
                                                             "_output_shapes": [Shape((None, 32))]}),
                          NodeDef("dense/MatMul", "MatMul", ("x", "dense/kernel"), device="/cpu:0",
                                  attr={"T": np.float32, "transpose_a": False, "units": 10, "rate": 0.5,
                                        "sizes": [1, 2], "name": "dense"})])
    writer.close()
    accumulator = accumulate(writer.path)

    loss = accumulator.Scalars("loss")
    assert [e.step for e in loss] == list(range(5))
    np.testing.assert_allclose([e.value for e in loss], [1.0 / (s + 1) for s in range(5)], rtol=1e-7)
    assert accumulator.Scalars("described")[0].step == 7
    assert accumulator.SummaryMetadata("described").summary_description == "a described scalar"

    for tag, buckets, data, step in [("weights", None, weights, 7), ("few", 4, weights, 8),
                                     ("constant", None, np.full(10, 3.0), 9)]:
        event = accumulator.Histograms(tag)[0]
        histogram = event.histogram_value
        reference = tensorboard_buckets(data, buckets)       # TF's own bucketing: [left, right, count]
        assert event.step == step
        assert histogram.num == data.size and histogram.min == data.min() and histogram.max == data.max()
        np.testing.assert_allclose(histogram.sum, data.astype(np.float64).sum())
        np.testing.assert_allclose(histogram.sum_squares, (data.astype(np.float64) ** 2).sum())
        np.testing.assert_array_equal(histogram.bucket, reference[:, 2])
        np.testing.assert_allclose(histogram.bucket_limit, reference[:, 1])

    text = accumulator.Tensors("notes")[0]
    assert text.step == 7 and list(text.tensor_proto.string_val) == [b"hello **world**"]
    assert accumulator.SummaryMetadata("notes").plugin_data.plugin_name == "text"
    table = accumulator.Tensors("table")[0].tensor_proto
    assert [d.size for d in table.tensor_shape.dim] == [2, 2] and list(table.string_val) == [b"a", b"b", b"c", b"d"]

    graph = accumulator.Graph()
    assert [(n.name, n.op, list(n.input), n.device) for n in graph.node] == [
        ("x", "Placeholder", [], ""), ("dense/MatMul", "MatMul", ["x", "dense/kernel"], "/cpu:0")]
    placeholder, matmul = graph.node
    assert placeholder.attr["dtype"].type == 1                                     # DT_FLOAT
    assert [d.size for d in placeholder.attr["_output_shapes"].list.shape[0].dim] == [-1, 32]
    assert matmul.attr["T"].type == 1 and matmul.attr["transpose_a"].b is False
    assert matmul.attr["units"].i == 10 and matmul.attr["rate"].f == 0.5
    assert list(matmul.attr["sizes"].list.i) == [1, 2] and matmul.attr["name"].s == b"dense"

    decoded = GraphDef.decode(graph.SerializeToString())                           # and our decoder
    assert decoded.nodes[1].attr == {"T": np.dtype("float32"), "transpose_a": False, "units": 10,
                                     "rate": 0.5, "sizes": [1, 2], "name": "dense"}
    assert decoded.nodes[0].attr["_output_shapes"] == [Shape((None, 32))]


def tensorboard_buckets(data, buckets) -> np.ndarray:
    summary = tb_histogram.histogram_pb("h", data, buckets=buckets)
    tensor = summary.value[0].tensor
    return np.frombuffer(tensor.tensor_content, np.float64).reshape(-1, 3) if tensor.tensor_content \
        else np.array(tensor.double_val).reshape(-1, 3)


def test_tensorboard_reads_a_file_still_being_written(tmp_path):
    writer = gk.summary.create_file_writer(tmp_path, max_queue=1000)
    with writer.as_default():
        for step in range(3):
            gk.summary.scalar("loss", float(step), step=step)
    assert [e.step for e in accumulate(writer.path).Scalars("loss")] == [0, 1, 2]   # as_default flushed
    writer.set_as_default()
    accumulator = accumulate(writer.path)
    for step in range(3, 6):
        gk.summary.scalar("loss", float(step), step=step)
    gk.summary.flush()
    accumulator.Reload()
    assert [e.step for e in accumulator.Scalars("loss")] == list(range(6))
    writer.close()


def test_queue_reaches_the_file_past_max_queue(tmp_path):
    writer = gk.summary.create_file_writer(tmp_path, max_queue=3)
    size = os.path.getsize(writer.path)                      # the version record, flushed at once
    with writer.as_default(step=1):
        for _ in range(3):
            gk.summary.scalar("x", 1.0)
        assert os.path.getsize(writer.path) == size          # three records wait in the queue
        gk.summary.scalar("x", 1.0)                          # the fourth is one too many
        assert os.path.getsize(writer.path) > size
    eager = gk.summary.create_file_writer(tmp_path, flush_millis=0)
    before = os.path.getsize(eager.path)
    with eager.as_default(step=1):
        gk.summary.scalar("x", 1.0)
        assert os.path.getsize(eager.path) > before
    writer.close()
    eager.close()


def test_queued_records_reach_the_file_at_interpreter_exit(tmp_path):
    script = ("import graphkit as gk\n"
              f"writer = gk.summary.create_file_writer({str(tmp_path)!r})\n"
              "writer.set_as_default(step=4)\n"
              "gk.summary.scalar('loss', 0.5)\n")         # queued, never flushed nor closed
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    (path,) = tmp_path.glob("events.out.tfevents.*")
    assert gk.summary.EventFileReader(path).read_new().scalars["loss"].step.tolist() == [4]


# ---------------------------------------------------------------- the API's contract

def test_no_default_writer_returns_false(tmp_path):
    assert gk.summary.scalar("loss", 1.0, step=0) is False
    assert gk.summary.histogram("w", np.ones(3), step=0) is False
    assert gk.summary.text("t", "x", step=0) is False
    assert gk.summary.graph([NodeDef("a", "Const")]) is False
    gk.summary.flush()                                        # nothing to flush: no error


def test_default_writer_and_step_scoping(tmp_path):
    first = gk.summary.create_file_writer(tmp_path / "a")
    second = gk.summary.create_file_writer(tmp_path / "b")
    gk.summary.experimental.set_step(None)
    with first.as_default(step=3):
        assert gk.summary.experimental.get_step() == 3
        with second.as_default():
            assert gk.summary.scalar("inner", 1.0)            # step 3 from the outer block
        assert gk.summary.scalar("outer", 2.0, step=4)
    assert gk.summary.experimental.get_step() is None
    assert gk.summary.scalar("after", 1.0, step=1) is False
    with first.as_default():
        with pytest.raises(ValueError, match="'nostep'.*no step"):
            gk.summary.scalar("nostep", 1.0)
        step = gk.Variable(np.int64(12), trainable=False)
        gk.summary.experimental.set_step(step)
        gk.summary.scalar("from_variable", 1.0)
        step.assign(np.int64(13))
        gk.summary.scalar("from_variable", 1.0)              # the variable is read at each write
        gk.summary.experimental.set_step(None)
        with gk.name_scope("block"):
            gk.summary.scalar("scoped", 1.0, step=0)
    first.close()
    second.close()
    ours = gk.summary.EventFileReader(first.path).read_new().scalars
    assert ours["outer"].step.tolist() == [4] and ours["from_variable"].step.tolist() == [12, 13]
    assert "block/scoped" in ours
    assert gk.summary.EventFileReader(second.path).read_new().scalars["inner"].step.tolist() == [3]


def test_scalar_accepts_numbers_arrays_and_tensors(tmp_path):
    writer = gk.summary.create_file_writer(tmp_path)
    with writer.as_default(step=0):
        for value in (1.5, 2, np.float32(3.5), np.float64(4.5), np.array(5.5), gk.constant(6.5),
                      np.array([7.5])):
            assert gk.summary.scalar("v", value)
        assert gk.summary.histogram("kernel", gk.Variable(np.arange(6.0).reshape(2, 3)))
        with pytest.raises(ValueError, match="'v'.*one number.*shape \\(2,\\)"):
            gk.summary.scalar("v", np.ones(2))
        with pytest.raises(ValueError, match="'w'.*NaN or infinity"):
            gk.summary.histogram("w", np.array([1.0, np.nan]))
    writer.close()
    batch = gk.summary.EventFileReader(writer.path).read_new()
    assert batch.scalars["v"].value.tolist() == [1.5, 2, 3.5, 4.5, 5.5, 6.5, 7.5]
    assert batch.histograms["kernel"][0].count.sum() == 6 and batch.histograms["kernel"][0].right[-1] == 5.0
    with pytest.raises(ValueError, match="closed"):
        writer.write_scalar("v", 1.0, 0)


# ---------------------------------------------------------------- reading

def test_reader_on_files_written_by_tensorboards_writer(tmp_path):
    rng = np.random.default_rng(2)
    data = rng.normal(size=500)
    writer = EventFileWriter(str(tmp_path))
    steps = [0, 5, 300, 2 ** 30, -2]                      # 2**30 takes a five-byte varint
    for step in steps:
        event = event_pb2.Event(wall_time=100.0 + step, step=step)
        event.summary.value.add(tag="simple", simple_value=step * 0.5)
        writer.add_event(event)
    for step, value in [(1, 0.25), (2, 0.75)]:                 # TF2's tensor form, metadata once
        summary = tb_scalar.scalar_pb("tensor_scalar", np.float32(value))
        if step == 2:
            summary.value[0].ClearField("metadata")
        writer.add_event(event_pb2.Event(wall_time=1.0, step=step, summary=summary))
    writer.add_event(event_pb2.Event(wall_time=2.0, step=3, summary=tb_histogram.histogram_pb("h2", data)))
    old_style = summary_pb2.HistogramProto(min=-1.0, max=4.0, num=3, sum=5.0, sum_squares=17.0,
                                           bucket_limit=[0.0, 2.0, 1e308], bucket=[1, 1, 1])
    writer.add_event(event_pb2.Event(wall_time=3.0, step=4, summary=summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag="h1", histo=old_style)])))
    writer.add_event(event_pb2.Event(wall_time=4.0, step=6, summary=tb_text.text_pb("t", "héllo")))
    two = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="a", simple_value=1.0),
                                     summary_pb2.Summary.Value(tag="b", simple_value=2.0)])
    writer.add_event(event_pb2.Event(wall_time=5.0, step=7, summary=two))
    writer.close()
    (path,) = tmp_path.glob("events.out.tfevents.*")
    batch = gk.summary.EventFileReader(path).read_new()

    assert batch.file_version == "brain.Event:2"
    simple = batch.scalars["simple"]
    assert simple.step.tolist() == steps and simple.value.tolist() == [s * 0.5 for s in steps]
    assert simple.wall_time.tolist() == [100.0 + s for s in steps]
    assert batch.scalars["tensor_scalar"].step.tolist() == [1, 2]
    assert batch.scalars["tensor_scalar"].value.tolist() == [0.25, 0.75]
    assert batch.scalars["a"].value.tolist() == [1.0] and batch.scalars["b"].value.tolist() == [2.0]
    (h2,) = batch.histograms["h2"]
    reference = tensorboard_buckets(data, None)
    np.testing.assert_array_equal(np.stack([h2.left, h2.right, h2.count], axis=1), reference)
    (h1,) = batch.histograms["h1"]
    assert h1.left.tolist() == [-1.0, 0.0, 2.0] and h1.right.tolist() == [0.0, 2.0, 4.0]
    assert h1.count.tolist() == [1, 1, 1] and h1.step == 4
    assert batch.texts["t"][0].text.item() == "héllo" and batch.texts["t"][0].step == 6


def test_reader_agrees_with_tensorboard_on_our_files(tmp_path):
    rng = np.random.default_rng(3)
    tags = ["loss", "accuracy", "a/much/longer/tag/name/for/the/validation/metric", "é", "long" * 50]
    writer = gk.summary.create_file_writer(tmp_path, max_queue=50)
    with writer.as_default():
        for step in list(range(0, 40000, 97)) + [2 ** 29, 2 ** 35, -3]:
            for tag in tags:
                gk.summary.scalar(tag, float(rng.normal()), step=step)
            if step % 970 == 0:
                gk.summary.histogram("w", rng.normal(size=100), step=step)
    writer.close()
    accumulator = accumulate(writer.path)
    batch = gk.summary.EventFileReader(writer.path).read_new()
    assert sorted(batch.scalars) == sorted(tags)
    for tag in tags:
        theirs = accumulator.Scalars(tag)
        ours = batch.scalars[tag]
        assert ours.step.tolist() == [e.step for e in theirs]
        assert ours.value.tolist() == [e.value for e in theirs]
        assert ours.wall_time.tolist() == [e.wall_time for e in theirs]
    assert len(batch.histograms["w"]) == len(accumulator.Histograms("w"))


def test_scalar_events_take_the_fast_path_and_it_agrees_with_the_generic_decoder(tmp_path):
    writer = gk.summary.create_file_writer(tmp_path)
    with writer.as_default():
        for step in (0, 1, 200, 70000):
            for tag in ("a", "bb", "a/c"):
                gk.summary.scalar(tag, step / 3, step=step)
    writer.close()
    data = open(writer.path, "rb").read()
    found = records.scan(data)
    fast = _fast_scalars(data, found.starts, found.lengths)
    assert fast.matched.tolist() == [False] + [True] * 12           # all but the version record
    generic = [decode_event(data[s:s + n]) for s, n in zip(found.starts.tolist(), found.lengths.tolist())][1:]
    assert [fast.tags[c] for c in fast.codes] == [e.values[0].tag for e in generic]
    assert fast.step.tolist() == [e.step for e in generic]
    assert fast.wall_time.tolist() == [e.wall_time for e in generic]
    assert fast.value.tolist() == [e.values[0].payload for e in generic]


def test_tags_that_share_a_hash_are_still_told_apart(tmp_path, monkeypatch):
    writer = gk.summary.create_file_writer(tmp_path)
    with writer.as_default():
        for step, tag in enumerate(["ab", "cb", "ab", "xyb"]):
            gk.summary.scalar(tag, float(step), step=step)
    writer.close()
    monkeypatch.setattr(gk.summary.reader, "_TAG_HASH_MULTIPLIER", np.uint64(0))   # hash = last byte
    scalars = gk.summary.EventFileReader(writer.path).read_new().scalars
    assert {tag: series.step.tolist() for tag, series in scalars.items()} == {"ab": [0, 2], "cb": [1], "xyb": [3]}


def test_reader_reads_large_files_in_chunks(tmp_path, monkeypatch):
    writer = gk.summary.create_file_writer(tmp_path, max_queue=100)
    with writer.as_default():
        for step in range(3000):
            gk.summary.scalar(("loss", "acc")[step % 2], float(step), step=step)
            if step % 500 == 0:
                gk.summary.histogram("w", np.arange(100.0) * step, step=step)
    writer.close()
    whole = gk.summary.EventFileReader(writer.path).read_new()
    monkeypatch.setattr(gk.summary.reader, "CHUNK_BYTES", 1000)   # records straddle the chunks
    chunked = gk.summary.EventFileReader(writer.path).read_new()
    for tag in ("loss", "acc"):
        assert chunked.scalars[tag].step.tolist() == whole.scalars[tag].step.tolist()
        assert chunked.scalars[tag].value.tolist() == whole.scalars[tag].value.tolist()
    assert chunked.scalars["loss"].step.tolist() == list(range(0, 3000, 2))
    assert [h.step for h in chunked.histograms["w"]] == list(range(0, 3000, 500))


def test_reader_follows_a_writer_and_resumes_after_a_truncated_record(tmp_path):
    writer = gk.summary.create_file_writer(tmp_path, max_queue=1000)
    reader = gk.summary.EventFileReader(writer.path)
    assert reader.read_new().file_version == "brain.Event:2"
    with writer.as_default():
        gk.summary.scalar("loss", 1.0, step=1)
    record = records.frame(event_pb2.Event(wall_time=9.0, step=2, summary=summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag="loss", simple_value=2.0)])).SerializeToString())
    with open(writer.path, "ab") as file:                # a writer caught in the middle of a record
        file.write(record[:7])
    assert reader.read_new().scalars["loss"].step.tolist() == [1]
    size_before = reader.offset
    with open(writer.path, "ab") as file:
        file.write(record[7:-3])
    assert reader.read_new().empty and reader.offset == size_before
    with open(writer.path, "ab") as file:
        file.write(record[-3:])
    assert reader.read_new().scalars["loss"].step.tolist() == [2]
    assert reader.offset == os.path.getsize(writer.path)
    with open(writer.path, "r+b") as file:              # the file is replaced by a shorter one
        file.truncate(50)
    with pytest.warns(RuntimeWarning, match="shrank"):
        assert reader.read_new().restarted
    writer.close()


def test_corrupt_records_are_skipped_with_a_warning(tmp_path):
    writer = gk.summary.create_file_writer(tmp_path)
    with writer.as_default():
        for step in range(1, 6):
            gk.summary.scalar("loss", float(step), step=step)
    writer.close()
    data = bytearray(open(writer.path, "rb").read())
    found = records.scan(bytes(data))
    starts = found.starts.tolist()
    data[starts[2] + 3] ^= 0x01                           # record 2 (step 2): a data byte flipped
    data[starts[4] - 12] ^= 0x40                          # record 4 (step 4): its length corrupted
    data += records.frame(b"\x0a\xff")                   # a valid frame around a broken Event
    corrupt = tmp_path / "corrupt" / "events.out.tfevents.1.x"
    corrupt.parent.mkdir()
    corrupt.write_bytes(bytes(data))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch = gk.summary.EventFileReader(corrupt).read_new()
    assert batch.scalars["loss"].step.tolist() == [1, 3, 5]
    messages = [str(w.message) for w in caught]
    assert any("bad data CRC" in m for m in messages) and any("corrupt record length" in m for m in messages)
    assert any(str(corrupt) in m and "could not be decoded" in m for m in messages)
