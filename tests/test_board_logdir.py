"""The board's Python side: following a log directory while it is written, the payload
(docs/board.md, "Board data"), its reduction for embedded payloads, show() and %graphkit."""
import base64
import json
import os
import shutil

import numpy
import pytest

import graphkit as gk
from graphkit.board import LogDir, build_payload, show
from graphkit.board.logdir import GRAPH_FILE
from graphkit.board.payload import EMBED_BUCKETS, extreme_indices
from board_logs import append_spans, span, write_training_run


def decode(array: dict) -> numpy.ndarray:
    assert array["dtype"] == "float64"
    return numpy.frombuffer(base64.b64decode(array["b64"]), dtype="<f8")


def run_payload(payload: dict, name: str) -> dict:
    return next(run for run in payload["runs"] if run["name"] == name)


def write_scalars(run_dir, tag: str, values, first_step: int = 0) -> None:
    writer = gk.summary.create_file_writer(str(run_dir))
    with writer.as_default():
        for offset, value in enumerate(values):
            gk.summary.scalar(tag, value, step=first_step + offset)
    writer.close()


def event_file(run_dir) -> str:
    (name,) = [name for name in os.listdir(run_dir) if "tfevents" in name]
    return os.path.join(run_dir, name)


def test_a_training_run_becomes_the_payload_of_the_contract(tmp_path):
    model = write_training_run(tmp_path, epochs=3)
    board = LogDir(tmp_path)
    assert board.refresh()
    payload = json.loads(json.dumps(build_payload(board, embedded=True)))
    assert payload["format"] == "graphkit.board" and payload["version"] == 1 and payload["title"] == tmp_path.name
    assert [run["name"] for run in payload["runs"]] == ["train", "validation"]
    train, validation = payload["runs"]
    assert set(train["scalars"]) == {"batch_loss", "epoch_loss", "epoch_accuracy"}
    assert decode(train["scalars"]["epoch_loss"]["step"]).tolist() == [0, 1, 2]
    assert decode(train["scalars"]["batch_loss"]["step"]).tolist() == list(range(1, 13))     # 128 samples / 32 × 3
    accuracy = decode(validation["scalars"]["epoch_accuracy"]["value"])
    assert accuracy.shape == (3,) and ((0 <= accuracy) & (accuracy <= 1)).all()
    kernel = train["histograms"]["hidden/kernel"]
    assert [item["step"] for item in kernel] == [0, 1, 2]
    assert sum(kernel[-1]["counts"]) == 8 * 16
    assert kernel[-1]["min"] == pytest.approx(float(model.get_layer("hidden").kernel.numpy().min()))
    assert kernel[-1]["limits"][-1] == pytest.approx(kernel[-1]["max"])
    assert [item["text"] for item in train["text"]["notes"]] == ["epoch 0 done", "epoch 1 done", "epoch 2 done"]
    assert {node["id"] for node in train["graph"]["nodes"]} >= {"hidden", "classes"}
    assert train["graph"]["timing"] == {} and train["spans"] is None and validation["graph"] is None


def test_a_reader_follows_a_writer_that_appends(tmp_path):
    writer = gk.summary.create_file_writer(str(tmp_path / "run"))
    board = LogDir(tmp_path)
    with writer.as_default():
        for step in range(5):
            gk.summary.scalar("loss", 1.0 / (step + 1), step=step)
        writer.flush()
        assert board.refresh()
        first = board.token
        assert board.runs["run"].scalars()["loss"].step.tolist() == [0, 1, 2, 3, 4]
        assert not board.refresh() and board.token == first           # nothing new: same token
        for step in range(5, 8):
            gk.summary.scalar("loss", 1.0 / (step + 1), step=step)
            gk.summary.scalar("lr", 0.1, step=step)
        writer.flush()
        assert board.refresh() and board.token != first
    run = board.runs["run"].scalars()
    assert run["loss"].step.tolist() == list(range(8)) and run["lr"].step.tolist() == [5, 6, 7]
    assert len(board.runs["run"].event_files) == 1


def test_runs_appear_disappear_and_shrink_between_refreshes(tmp_path):
    write_scalars(tmp_path / "a", "loss", [3.0, 2.0])
    board = LogDir(tmp_path)
    board.refresh()
    assert list(board.runs) == ["a"]
    write_scalars(tmp_path / "b" / "deep", "loss", [1.0])
    write_scalars(tmp_path, "top", [5.0])                         # the log directory itself is a run
    board.refresh()
    assert sorted(board.runs) == ["a", "b/deep", tmp_path.name]
    shutil.rmtree(tmp_path / "a")
    assert board.refresh() and sorted(board.runs) == ["b/deep", tmp_path.name]
    path = event_file(tmp_path / "b" / "deep")
    with open(path, "r+b") as file:
        file.truncate(os.path.getsize(path) - 3)                  # its one scalar record cut short
    with pytest.warns(RuntimeWarning, match="shrank"):
        board.refresh()
    assert "loss" not in board.runs["b/deep"].scalars()
    os.remove(path)                                               # replaced by a new file
    write_scalars(tmp_path / "b" / "deep", "loss", [7.0, 8.0])
    assert board.refresh()
    assert board.runs["b/deep"].scalars()["loss"].value.tolist() == [7.0, 8.0]


def test_a_file_that_shrinks_is_read_again_without_doubling(tmp_path):
    write_scalars(tmp_path / "run", "loss", [1.0, 2.0, 3.0])
    path = event_file(tmp_path / "run")
    whole = open(path, "rb").read()
    board = LogDir(tmp_path)
    board.refresh()
    with open(path, "wb") as file:                                # truncated to the header event + 1 record
        file.write(whole[:len(whole) * 2 // 4])
    with pytest.warns(RuntimeWarning, match="shrank"):
        assert board.refresh()
    shortened = board.runs["run"].scalars()["loss"].value.tolist()
    assert shortened == [1.0, 2.0, 3.0][:len(shortened)] and len(shortened) < 3


def test_a_record_with_a_bad_crc_is_skipped_with_a_warning(tmp_path):
    write_scalars(tmp_path / "run", "loss", [1.0, 2.0, 3.0])
    path = event_file(tmp_path / "run")
    data = bytearray(open(path, "rb").read())
    second = data.rfind(numpy.float32(2.0).tobytes())
    data[second] ^= 0xFF                                          # corrupt the value 2.0's bytes
    open(path, "wb").write(bytes(data))
    board = LogDir(tmp_path)
    with pytest.warns(RuntimeWarning, match="CRC"):
        board.refresh()
    assert board.runs["run"].scalars()["loss"].value.tolist() == [1.0, 3.0]


def test_spans_are_read_line_by_line_and_time_the_graph(tmp_path):
    write_training_run(tmp_path, epochs=1)
    train = tmp_path / "train"
    append_spans(train, [span("hidden", 1_000, 4_000), span("classes", 4_000, 5_000),
                         span("matmul", 1_500, 3_500, kind="op", step=None)])
    with open(train / "graphkit-spans.jsonl", "a") as file:
        file.write(json.dumps(span("hidden", 6_000, 8_000, phase="backward"))[:40])       # a writer mid-line
    board = LogDir(tmp_path)
    board.refresh()
    spans = build_payload(board, embedded=False)["runs"][0]["spans"]
    assert spans["count"] == 3 and spans["columns"]["kind"] == ["layer", "layer", "op"]
    assert decode(spans["columns"]["start_ns"]).tolist() == [0, 3_000, 500]       # relative to the first span
    assert numpy.isnan(decode(spans["columns"]["step"])[2])
    with open(train / "graphkit-spans.jsonl", "a") as file:
        file.write(json.dumps(span("hidden", 6_000, 8_000, phase="backward"))[40:] + "\n")
    assert board.refresh()
    graph = build_payload(board, embedded=False)["runs"][0]["graph"]
    # forward and backward time, per forward call
    assert graph["timing"]["hidden"] == {"total_ns": 5_000.0, "count": 1, "mean_ns": 5_000.0}
    assert graph["timing"]["classes"]["count"] == 1 and "matmul" not in graph["timing"]


def test_layers_of_nested_models_are_timed_under_their_path_ids(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    graph = {"title": "outer", "nodes": [{"id": "inner/dense", "name": "dense"}, {"id": "head", "name": "head"}],
             "edges": [], "groups": []}
    (run / GRAPH_FILE).write_text(json.dumps(graph))
    append_spans(run, [span("dense", 0, 2_000), span("dense", 3_000, 4_000, phase="backward"),
                       span("head", 2_000, 2_500)])
    board = LogDir(tmp_path)
    board.refresh()
    timing = build_payload(board, embedded=False)["runs"][0]["graph"]["timing"]
    assert timing == {"inner/dense": {"total_ns": 3_000.0, "count": 1, "mean_ns": 3_000.0},
                      "head": {"total_ns": 500.0, "count": 1, "mean_ns": 500.0}}


def test_a_bad_graph_file_keeps_the_previous_graph_with_a_warning(tmp_path):
    write_training_run(tmp_path, epochs=1)
    board = LogDir(tmp_path)
    board.refresh()
    nodes = len(board.runs["train"].graph["nodes"])
    (tmp_path / "train" / GRAPH_FILE).write_text("{not json")
    with pytest.warns(RuntimeWarning, match="not valid graph JSON"):
        board.refresh()
    assert len(board.runs["train"].graph["nodes"]) == nodes


def test_the_embedded_reduction_keeps_every_spike(tmp_path):
    points = 1_000_000
    values = numpy.sin(numpy.arange(points) / 5000.0)
    values[123_457] = 1000.0                                       # one spike up ...
    values[876_543] = -1000.0                                      # ... and one down
    write_scalars(tmp_path / "run", "loss", values.tolist())
    board = LogDir(tmp_path)
    board.refresh()
    embedded = build_payload(board, embedded=True)["runs"][0]["scalars"]["loss"]
    assert embedded["reduced"] is True and embedded["points"] == points
    reduced, steps = decode(embedded["value"]), decode(embedded["step"])
    assert 1000.0 in reduced and -1000.0 in reduced and reduced.size <= 2 * EMBED_BUCKETS
    assert (numpy.diff(steps) > 0).all()                           # in step order
    assert steps[reduced == 1000.0].tolist() == [123_457]
    full = build_payload(board, embedded=False)["runs"][0]["scalars"]["loss"]
    assert "reduced" not in full and decode(full["value"]).size == points


def test_extreme_indices_are_each_buckets_minimum_and_maximum():
    values = numpy.array([5.0, 1.0, 9.0, 2.0, 2.0, 8.0, numpy.nan, 3.0])
    assert extreme_indices(values, 3).tolist() == [1, 2, 3, 5, 6]


def test_show_gives_the_board_mime_an_html_snapshot_and_text(tmp_path):
    write_training_run(tmp_path, epochs=2)
    bundle = show(tmp_path)._repr_mimebundle_()
    payload = bundle["application/vnd.graphkit.board+json"]
    assert payload["format"] == "graphkit.board" and payload["live"] is False
    json.dumps(payload)                                            # a notebook can store it
    html = bundle["text/html"]
    assert html.count("<svg") == 3                                 # batch_loss, epoch_loss, epoch_accuracy
    assert "<polyline" in html and "epoch_accuracy" in html and "validation: last" in html
    assert "JupyterLab with graphkit's extension" in html and "graphkit board --logdir" in html
    assert "2 run(s)" in bundle["text/plain"]


def test_the_graphkit_magic_shows_the_board(tmp_path):
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell
    write_scalars(tmp_path / "run", "loss", [1.0, 0.5])
    shell = InteractiveShell.instance()
    try:
        shell.run_line_magic("load_ext", "graphkit")
        shown = shell.run_line_magic("graphkit", f"board {tmp_path}")
        assert shown._repr_mimebundle_()["application/vnd.graphkit.board+json"]["runs"][0]["name"] == "run"
        with pytest.raises(UsageError, match="board"):
            shell.run_line_magic("graphkit", "plot logs/")
        with pytest.raises(UsageError, match="does not exist"):
            shell.run_line_magic("graphkit", f"board {tmp_path / 'missing'}")
    finally:
        InteractiveShell.clear_instance()
