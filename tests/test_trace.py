"""gk.trace: span nesting and attribution, timing sanity, the Chrome trace, summary(), the spans
file, the CuPy clock (with a fake CuPy) and TensorFlow's trace_on/trace_export flow."""
from __future__ import annotations

import json
import os
import threading
import types
import warnings

import numpy as np
import pytest

import graphkit as gk
from graphkit import events
from graphkit.global_state import PROCESS, SUBSCRIBERS
from graphkit.trace import estimate_flops, read_spans
from graphkit.trace.device import span_end_clock


def _model():
    inner = gk.Sequential([gk.Input((6,)), gk.layers.Dense(5, activation="relu", name="hidden")], name="inner")
    inputs = gk.Input((6,))
    outputs = gk.layers.Dense(3, name="out")(inner(inputs))
    model = gk.Model(inputs, outputs, name="net")
    model.compile(optimizer="sgd", loss="mse")
    return model


def _data(n=32):
    rng = np.random.default_rng(0)
    return rng.random((n, 6), dtype=np.float32), rng.random((n, 3), dtype=np.float32)


def _fit(level, epochs=2, **trace_kwargs):
    model = _model()
    x, y = _data()
    with gk.trace(level=level, **trace_kwargs) as tr:
        model.fit(x, y, batch_size=8, epochs=epochs, verbose=0)
    return model, tr


def _by_id(spans):
    return {span.id: span for span in spans}


def _contains(outer, inner):
    return outer.start_ns <= inner.start_ns and inner.end_ns <= outer.end_ns


# ------------------------------------------------------------------ nesting and attribution
def test_forward_op_spans_lie_in_the_innermost_layer_span():
    _, tr = _fit("op", epochs=1)
    spans = _by_id(tr.spans)
    forward_ops = [s for s in tr.spans if s.kind == "op" and s.phase == "forward" and s.step is not None]
    assert {s.op for s in forward_ops} >= {"dense", "relu", "mean_squared_error"}
    for op in forward_ops:
        parent = spans.get(op.parent)
        if op.op == "mean_squared_error":          # the loss runs outside every layer
            assert op.layer is None and parent.kind == "step"
            continue
        assert parent.kind == "layer" and parent.name == op.layer and _contains(parent, op)
    hidden = [s for s in tr.spans if s.kind == "layer" and s.name == "hidden" and s.phase == "forward"]
    assert hidden and all(spans[s.parent].name == "inner" and spans[spans[s.parent].parent].name == "net"
                          for s in hidden)
    hidden_ops = {s.op for s in forward_ops if s.layer == "hidden"}
    assert hidden_ops == {"dense", "relu"}


def test_backward_spans_are_attributed_to_the_layers_that_ran_forward():
    _, tr = _fit("op", epochs=1)
    spans = _by_id(tr.spans)
    step = next(s for s in tr.spans if s.kind == "step" and s.name == "train_step")
    in_step = [s for s in tr.spans if s.step == step.step]
    backward_ops = [s for s in in_step if s.kind == "op" and s.phase == "backward"]
    assert {(s.op, s.layer) for s in backward_ops} == {
        ("mean_squared_error", None), ("dense", "out"), ("dense", "hidden"), ("relu", "hidden")}
    for op in backward_ops:
        parent = spans[op.parent]
        if op.layer is None:
            assert parent is step
        else:
            assert parent.kind == "layer" and parent.phase == "backward" and parent.name == op.layer
            assert _contains(parent, op)
    backward_layers = {s.name: s for s in in_step if s.kind == "layer" and s.phase == "backward"}
    forward_layers = {s.name: s for s in in_step if s.kind == "layer" and s.phase == "forward"}
    assert set(backward_layers) == set(forward_layers) == {"net", "inner", "hidden", "out"}
    assert spans[backward_layers["hidden"].parent] is backward_layers["inner"]
    assert spans[backward_layers["inner"].parent] is backward_layers["net"]
    assert spans[backward_layers["net"].parent] is step
    for name, backward in backward_layers.items():       # one flow joins each call's two spans
        assert backward.flow is not None and backward.flow == forward_layers[name].flow
        assert forward_layers[name].end_ns <= backward.start_ns
    assert len({s.flow for s in backward_layers.values()}) == 4
    hidden = backward_layers["hidden"]
    own = [s for s in backward_ops if s.layer == "hidden"]
    assert hidden.start_ns == min(s.start_ns for s in own) and hidden.end_ns == max(s.end_ns for s in own)
    assert hidden.flops == sum(s.flops for s in own)


def test_timing_sanity_and_steps():
    model, tr = _fit("op", epochs=2)
    spans = _by_id(tr.spans)
    assert all(s.start_ns <= s.end_ns for s in tr.spans)
    starts = [s.start_ns for s in tr.spans]
    assert starts == sorted(starts)                             # one thread: in start order
    for span in tr.spans:
        if span.parent is not None:
            assert _contains(spans[span.parent], span), span
    steps = [s for s in tr.spans if s.kind == "step" and s.name == "train_step"]
    assert [s.step for s in steps] == list(range(1, 9))         # 4 batches x 2 epochs, optimizer iterations
    assert int(model.optimizer.iterations.numpy()) == 8
    assert all(a.end_ns <= b.start_ns for a, b in zip(steps, steps[1:]))
    for span in tr.spans:                                       # everything in a step carries its number
        parent = spans.get(span.parent)
        while parent is not None and parent.kind != "step":
            parent = spans.get(parent.parent)
        if parent is not None and parent.name == "train_step":
            assert span.step == parent.step
    optimizer = [s for s in tr.spans if s.phase == "optimizer"]
    assert len(optimizer) == 8 and all(spans[s.parent].name == "train_step" for s in optimizer)
    data = [s for s in tr.spans if s.phase == "data"]
    callbacks = [s for s in tr.spans if s.phase == "callback"]
    assert sorted(s.step for s in data) == [2, 3, 4, 6, 7, 8]   # between batches of an epoch
    assert {s.step for s in callbacks} == set(range(1, 9))
    assert all(s.parent is None for s in data + callbacks)


def test_span_fields_shapes_dtype_bytes_flops():
    _, tr = _fit("op", epochs=1)
    fields = tr.to_dicts()[0].keys()
    assert list(fields) == list(gk.trace.FIELDS)
    dense = next(s for s in tr.spans if s.op == "dense" and s.layer == "hidden" and s.phase == "forward"
                 and s.step == 1)
    assert dense.inputs == ((8, 6), (6, 5), (5,)) and dense.outputs == ((8, 5),)
    assert dense.dtype == "float32" and dense.backend == "numpy" and dense.device == "cpu"
    assert dense.flops == 2 * 8 * 6 * 5 + 8 * 5
    assert dense.bytes == 4 * (8 * 6 + 6 * 5 + 5 + 8 * 5)
    backward = next(s for s in tr.spans if s.op == "dense" and s.layer == "hidden" and s.phase == "backward"
                    and s.step == dense.step)
    assert backward.flops == 2 * dense.flops
    layer = next(s for s in tr.spans if s.kind == "layer" and s.name == "hidden" and s.id == dense.parent)
    assert layer.inputs == ((8, 6),) and layer.outputs == ((8, 5),)
    assert layer.flops == sum(s.flops for s in tr.spans if s.parent == layer.id)
    assert dense.thread == threading.get_native_id() and dense.thread_name == threading.current_thread().name


def test_layer_level_keeps_layers_optimizer_and_steps_only():
    _, tr = _fit("layer", epochs=1)
    kinds = {(s.kind, s.phase) for s in tr.spans}
    assert ("op", "forward") not in kinds and ("op", "backward") not in kinds
    assert {("layer", "forward"), ("layer", "backward"), ("op", "optimizer"), ("step", None)} <= kinds
    spans = _by_id(tr.spans)
    assert all(s.parent is None or s.parent in spans for s in tr.spans)
    hidden = [s for s in tr.spans if s.name == "hidden" and s.phase == "forward" and s.step is not None]
    assert all(s.flops == 2 * 8 * 6 * 5 + 8 * 5 + 8 * 5 for s in hidden)   # its dense + relu ops, counted


def test_only_the_opening_threads_events_are_recorded():
    model = _model()
    x, _ = _data()
    other = gk.Sequential([gk.Input((2,)), gk.layers.Dense(2, name="elsewhere")])
    with gk.trace(level="op") as tr:
        worker = threading.Thread(target=lambda: other(np.ones((1, 2), np.float32)))
        worker.start()
        worker.join()
        model(x)
    names = {s.name for s in tr.spans}
    assert "hidden" in names and "elsewhere" not in names
    assert not SUBSCRIBERS.primitive and not SUBSCRIBERS.layer_call    # unsubscribed on exit


def test_summary_lists_the_slowest_leaf_layers():
    _, tr = _fit("layer", epochs=1)
    lines = []
    tr.summary(print_fn=lines.append)
    text = lines[0].splitlines()
    assert text[0].startswith("Trace: ") and "4 training steps" in text[0] and "numpy/cpu" in text[0]
    assert text[1].split() == ["Layer", "Calls", "Forward", "ms", "Backward", "ms", "Total", "ms", "Mean", "ms",
                               "Share"]
    rows = {line.split()[0]: line.split() for line in text[2:]}
    assert set(rows) == {"hidden", "out"}                       # models are containers, not rows
    hidden = [s for s in tr.spans if s.name == "hidden"]
    total_ms = sum(s.duration_ns for s in hidden) / 1e6
    assert float(rows["hidden"][4]) == pytest.approx(total_ms, abs=1e-3)
    assert rows["hidden"][1] == str(sum(1 for s in hidden if s.phase == "forward"))
    assert rows["hidden"][-1].endswith("%")
    lines.clear()
    tr.summary(print_fn=lines.append, top=1)
    assert len(lines[0].splitlines()) == 3


# ------------------------------------------------------------------ Chrome trace
def test_chrome_trace_schema(tmp_path):
    _, tr = _fit("op", epochs=1)
    path = tr.to_chrome_trace(tmp_path / "trace.json")
    with open(path) as file:
        document = json.load(file)
    events_ = document["traceEvents"]
    complete = [e for e in events_ if e["ph"] == "X"]
    assert len(complete) == len(tr.spans)
    for event in complete:
        assert {"name", "cat", "ph", "ts", "dur", "pid", "tid", "args"} <= event.keys()
        assert isinstance(event["ts"], float) and event["ts"] >= 0 and event["dur"] >= 0
        assert event["pid"] == os.getpid() and event["tid"] == threading.get_native_id()
    first = min(tr.spans, key=lambda s: s.start_ns)
    span = tr.spans[5]
    event = next(e for e in complete if e["args"]["id"] == span.id)
    assert event["ts"] == pytest.approx((span.start_ns - first.start_ns) / 1000)
    assert event["dur"] == pytest.approx(span.duration_ns / 1000)
    names = [e for e in events_ if e["ph"] == "M" and e["name"] == "thread_name"]
    assert {e["tid"] for e in names} == {e["tid"] for e in complete}
    assert all(e["args"]["name"] == threading.current_thread().name for e in names)
    starts = {e["id"]: e for e in events_ if e["ph"] == "s"}
    finishes = {e["id"]: e for e in events_ if e["ph"] == "f"}
    flows = {s.flow for s in tr.spans if s.flow is not None}
    assert set(starts) == set(finishes) == flows and flows
    for flow_id, start in starts.items():
        finish = finishes[flow_id]
        assert finish["bp"] == "e" and start["ts"] <= finish["ts"] and start["cat"] == finish["cat"]
        forward = next(e for e in complete if e["args"]["flow"] == flow_id and e["cat"] == "layer,forward")
        backward = next(e for e in complete if e["args"]["flow"] == flow_id and e["cat"] == "layer,backward")
        assert start["ts"] == forward["ts"] and finish["ts"] == backward["ts"]


# ------------------------------------------------------------------ the spans file
def test_logdir_spans_file_is_appended_at_each_epoch_end(tmp_path):
    model = _model()
    x, y = _data()
    seen = []
    path = tmp_path / "graphkit-spans.jsonl"
    probe = gk.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: seen.append(len(read_spans(path)) if path.exists() else 0))
    with gk.trace(logdir=tmp_path, level="layer") as tr:
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[probe])
    on_disk = read_spans(path)
    assert seen[0] == 0 and 0 < seen[1] < len(on_disk)           # streamed at the first epoch's end
    assert on_disk == tr.to_dicts()
    assert all(set(line) == set(gk.trace.FIELDS) for line in on_disk)


def _manual_loop_spans(steps):
    model = _model()
    x, y = _data(8)
    optimizer = gk.optimizers.SGD(0.01)
    with gk.trace(level="op") as tr:
        for _ in range(steps):
            with gk.GradientTape() as tape:
                loss = gk.ops.mean(gk.ops.square(model(x) - y))
            optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
    return [(s.name, s.kind, s.phase, s.layer, s.flops, s.parent is None) for s in tr.spans]


def test_many_waiting_records_are_assembled_between_steps(monkeypatch):
    whole = _manual_loop_spans(6)
    gk.utils.clear_session()
    monkeypatch.setattr(gk.trace.recorder, "FLUSH_RECORDS", 10)    # a flush after every update
    flushes = []
    flush = gk.trace.Trace.flush
    monkeypatch.setattr(gk.trace.Trace, "flush", lambda self: flushes.append(len(self._raw)) or flush(self))
    assert _manual_loop_spans(6) == whole
    assert len(flushes) == 7 and all(n >= 10 for n in flushes[:6])          # six updates and the end
    backward = [row for row in whole if row[2] == "backward" and row[1] == "op" and row[0] == "dense"]
    assert len(backward) == 12 and {row[3] for row in backward} == {"hidden", "out"}


# ------------------------------------------------------------------ CuPy clock
class _FakeStream:
    def __init__(self, log):
        self.log = log

    def synchronize(self):
        import time
        self.log.append(time.perf_counter_ns())


def _fake_cupy(log):
    cuda = types.SimpleNamespace(get_current_stream=lambda: _FakeStream(log),
                                 Device=lambda: types.SimpleNamespace(id=0))
    return types.SimpleNamespace(cuda=cuda)


def test_on_cupy_each_span_ends_at_a_stream_synchronisation(monkeypatch):
    syncs: list[int] = []
    fake_ops = types.SimpleNamespace(xp=_fake_cupy(syncs), name="cupy")
    clock = span_end_clock(fake_ops)
    assert span_end_clock(PROCESS.ops) is None
    assert clock() >= syncs[-1] and len(syncs) == 1
    syncs.clear()
    model = _model()
    x, _ = _data()
    numpy_ops = PROCESS.ops
    tr = gk.trace(level="op")
    monkeypatch.setattr(PROCESS, "ops", fake_ops)
    tr.start()                                          # reads the backend: the fake CuPy
    monkeypatch.setattr(PROCESS, "ops", numpy_ops)      # the work itself runs on NumPy
    try:
        model(x)
    finally:
        tr.stop()
    timed = [s for s in tr.spans if s.kind in ("op", "layer")]
    assert len(syncs) == len(timed) > 0
    assert all(s.backend == "cupy" and s.device == "gpu:0" for s in tr.spans)
    for span in timed:      # the end is read after a synchronisation made inside the span
        assert any(span.start_ns <= t <= span.end_ns for t in syncs)


# ------------------------------------------------------------------ FLOP estimates
def test_flop_estimates():
    assert estimate_flops("matmul", [(4, 8, 16), (16, 32)], [(4, 8, 32)]) == 2 * 4 * 8 * 32 * 16
    assert estimate_flops("dense", [(8, 6), (6, 5), (5,)], [(8, 5)]) == 2 * 8 * 6 * 5 + 8 * 5
    assert estimate_flops("dense", [(8, 6), (6, 5)], [(8, 5)]) == 2 * 8 * 6 * 5
    # conv: 2 N Ho Wo Co kh kw Ci/groups (kernel (kh, kw, Ci/groups, Co))
    assert estimate_flops("conv", [(2, 10, 10, 4), (3, 3, 2, 8)], [(2, 8, 8, 8)]) == 2 * 2 * 8 * 8 * 8 * 3 * 3 * 2
    assert estimate_flops("depthwise_conv", [(1, 5, 5, 3), (3, 3, 3, 1)], [(1, 3, 3, 3)]) == 2 * 27 * 9
    assert estimate_flops("lstm", [(2, 7, 5), (2, 4), (2, 4), (5, 16), (4, 16), (16,)],
                          [(2, 7, 4), (2, 4), (2, 4)]) == 2 * 14 * (80 + 64)
    assert estimate_flops("max_pool", [(1, 4, 4, 2)], [(1, 2, 2, 2)]) == 32
    assert estimate_flops("relu", [(3, 4)], [(3, 4)]) == 12
    assert estimate_flops("no_such_primitive", [(3,)], [(5, 2)]) == 10
    assert estimate_flops("conv", [(2, 3)], [(2, 3)]) == 6          # malformed: elementwise


def test_bad_level_is_refused_and_a_trace_records_once():
    with pytest.raises(ValueError, match="level"):
        gk.trace(level="kernel")
    with gk.trace() as tr:
        pass
    with pytest.raises(RuntimeError, match="records once"):
        tr.start()


# ------------------------------------------------------------------ TensorFlow's trace API
def test_tf_guide_trace_on_trace_export(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    @gk.function
    def my_func(x, y):
        return gk.nn.relu(gk.matmul(x, y))

    x = np.ones((3, 4), np.float32)
    y = np.ones((4, 2), np.float32)
    logdir = str(tmp_path)
    writer = gk.summary.create_file_writer(logdir)
    gk.summary.trace_on(graph=True, profiler=True)
    z = my_func(x, y)
    with writer.as_default():
        gk.summary.trace_export(name="my_func_trace", step=0, profiler_outdir=logdir)
    np.testing.assert_allclose(np.asarray(z), np.full((3, 2), 4.0))
    acc = EventAccumulator(logdir)
    acc.Reload()
    graph = acc.Graph()
    nodes = {node.name: node for node in graph.node}
    assert set(nodes) == {"my_func/input_0", "my_func/input_1", "my_func/matmul", "my_func/relu"}
    assert list(nodes["my_func/matmul"].input) == ["my_func/input_0", "my_func/input_1"]
    assert nodes["my_func/relu"].op == "relu"
    spans = read_spans(tmp_path / "graphkit-spans.jsonl")
    assert [s["op"] for s in spans] == ["matmul", "relu"] and {s["step"] for s in spans} == {0}
    with open(tmp_path / "my_func_trace.trace.json") as file:
        assert len([e for e in json.load(file)["traceEvents"] if e["ph"] == "X"]) == 2
    with open(tmp_path / "graphkit-graph.json") as file:
        op_graph = json.load(file)["op_graphs"]["my_func_trace/my_func"]
    assert [n["class_name"] for n in op_graph["nodes"]] == ["Input", "Input", "matmul", "relu"]
    assert {(e["source"], e["target"], e["label"]) for e in op_graph["edges"]} == {
        ("input_0", "matmul", "(3, 4)"), ("input_1", "matmul", "(4, 2)"), ("matmul", "relu", "(3, 2)")}
    assert not SUBSCRIBERS.function_call and not SUBSCRIBERS.primitive      # export ended the trace


def test_trace_collects_functions_traced_before_and_captures_variables(tmp_path):
    weights = gk.Variable(np.ones((4, 2), np.float32), name="w")

    @gk.function
    def project(x):
        return gk.matmul(x, weights)

    project(np.ones((3, 4), np.float32))            # traced before trace_on: still collected when run
    gk.summary.trace_on(graph=True)
    project(np.ones((3, 4), np.float32))
    writer = gk.summary.create_file_writer(tmp_path)
    with writer.as_default(step=7):
        gk.summary.trace_export("run")
    with open(tmp_path / "graphkit-graph.json") as file:
        graph = json.load(file)["op_graphs"]["run/project"]
    assert {(n["id"], n["class_name"], n["params"]) for n in graph["nodes"]} == {
        ("input_0", "Input", 0), ("w", "Variable", 8), ("matmul", "matmul", 0)}
    assert graph["total_params"] == 8
    assert not (tmp_path / "graphkit-spans.jsonl").exists()             # profiler=False


def test_trace_export_without_trace_on_warns_and_trace_off_discards(tmp_path):
    with pytest.warns(RuntimeWarning, match="no trace is on"):
        gk.summary.trace_export("nothing", step=0)
    gk.summary.trace_on(graph=True, profiler=True)
    with pytest.warns(RuntimeWarning, match="already on"):
        gk.summary.trace_on()
    gk.summary.trace_off()
    assert not SUBSCRIBERS.function_call and not SUBSCRIBERS.primitive
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gk.summary.trace_on(profiler=True)          # on again after off: no warning
    gk.summary.trace_off()


def test_function_call_event_names_the_concrete_function():
    seen = []

    @gk.function
    def double(x):
        return x * 2.0

    with events.subscribed("function_call", lambda fn, cf: seen.append((fn, cf))):
        double(np.ones(2, np.float32))              # traced
        double(np.ones(2, np.float32))              # run
    assert len(seen) == 2 and seen[0][0] is double and seen[0][1] is seen[1][1]
    assert seen[0][1] is double.concrete_functions[0]
