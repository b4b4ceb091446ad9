"""gk.live(): the live view's Python state and its widget messages (docs/frontend.md protocol).

What the widget sends is captured by replacing ``view.send``; what a front end sends goes in
through ipywidgets' own message handler (``_handle_msg``), as a comm message would.
"""
import json
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

import graphkit as gk
from graphkit.examples import models as examples
from graphkit.global_state import SUBSCRIBERS
from graphkit.viz import assets
from svg_pictures import only_svg_picture

L = gk.layers

# the live view turns its own drawing failures into warnings; here they fail the test
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


@pytest.fixture
def make_view():
    views = []

    def make(model=None):
        view = gk.live(model)
        view.sent = []
        view.send = lambda content, buffers=None: view.sent.append(json.loads(json.dumps(content, allow_nan=False)))
        views.append(view)
        return view

    yield make
    for view in views:
        view.close()


def incoming(view, content):
    """Deliver a custom message from the front end through ipywidgets' comm handler."""
    view._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def one_new(view, before):
    """The single message sent since ``before`` messages."""
    assert len(view.sent) == before + 1, view.sent[before:]
    return view.sent[-1]


def by_id(items, key="id"):
    return {item[key]: item for item in items}


# ------------------------------------------------------------------------- protocol
def test_loader_is_the_esm(make_view):
    view = make_view()
    if assets.LOADER.exists():
        assert view._esm == assets.LOADER.read_text(encoding="utf-8")
    else:  # not built: the view says so in the DOM contract's error state
        assert "gk-graph-view" in view._esm and "'error'" in view._esm and "npm ci && npm run build" in view._esm


def test_widget_traits_give_the_front_end_its_starting_graph(make_view):
    """_initial is the graph at seq 0 (the first delta is seq 1), _uid tells widgets apart and
    _version is the graphkit version the JupyterLab extension's core must match."""
    model = examples.mlp()
    first, second = make_view(model), make_view()
    assert first._initial == {"seq": 0, "graph": first.graph} and first._initial["graph"]["total_params"] == 55_050
    assert second._initial["graph"]["nodes"] == [] and first._uid != second._uid
    L.Dense(3, name="after")(model.output)
    assert second.sent[0]["seq"] == 1 and second._initial["seq"] == 0
    assert first._version == gk.__version__


def test_front_end_has_graphkits_version():
    """The loader only uses JupyterLab's copy of the core when its version is the kernel's."""
    front_end = pathlib.Path(__file__).resolve().parent.parent / "labextension"
    assert json.loads((front_end / "package.json").read_text(encoding="utf-8"))["version"] == gk.__version__
    source = (front_end / "src" / "version.ts").read_text(encoding="utf-8")
    assert f"export const version = '{gk.__version__}';" in source


def test_hello_need_core_answers_the_bundle(make_view):
    view = make_view()
    incoming(view, {"type": "hello", "need_core": True})
    message = one_new(view, 0)
    assert message["type"] == "core" and set(message) >= {"type", "source"}
    if not assets.CORE.exists():
        assert message["source"] is None and "graphkit-widget.js" in message["error"]
        pytest.skip("the front-end bundle is not built: its text cannot be checked")
    assert message["source"] == assets.CORE.read_text(encoding="utf-8")


def test_hello_answers_the_whole_graph(make_view):
    view = make_view()
    x = gk.Input((3,), name="x")
    L.Dense(2, name="fc")(x)
    before = len(view.sent)
    incoming(view, {"type": "hello", "need_core": False})
    message = one_new(view, before)
    assert message["type"] == "graph" and message["seq"] == view.sent[before - 1]["seq"] + 1
    graph = message["graph"]
    assert graph == view.graph and graph["format"] == "graphkit.graph" and graph["title"] == "live"
    assert [n["id"] for n in graph["nodes"]] == ["fc", "x"] and graph["total_params"] == 8
    assert graph["edges"] == [{"source": "x", "target": "fc", "label": "(None, 3)", "status": "pending"}]
    incoming(view, {"type": "hello", "need_core": False})
    assert view.sent[-1]["seq"] == message["seq"] + 1


def test_each_layer_call_sends_one_delta(make_view):
    view = make_view()
    x = gk.Input((784,), name="img")
    assert view.sent == [] and view.nodes == []  # an Input alone is drawn once something uses it
    h = L.Dense(64, activation="relu", name="hidden")(x)
    delta = one_new(view, 0)
    assert delta["type"] == "delta" and delta["seq"] == 1 and delta["remove"] == [] and delta["groups"] == []
    nodes = by_id(delta["nodes"])
    assert set(nodes) == {"hidden", "img"}
    assert nodes["hidden"]["status"] == "pending" and nodes["hidden"]["params"] == 50240
    assert nodes["hidden"]["formula"] == "kernel 784×64 + bias 64 = 50,240" and nodes["hidden"]["output_shape"] == "(None, 64)"
    assert delta["edges"] == [{"source": "img", "target": "hidden", "label": "(None, 784)", "status": "pending"}]
    assert delta["total_params"] == 50240
    y = L.Dense(10, name="logits")(L.Dropout(0.5, name="drop")(h))
    assert [m["seq"] for m in view.sent] == [1, 2, 3]
    drop, logits = view.sent[1], view.sent[2]
    assert [n["id"] for n in drop["nodes"]] == ["drop"] and drop["total_params"] == 50240
    assert [n["id"] for n in logits["nodes"]] == ["logits"] and logits["total_params"] == 50240 + 650
    assert logits["edges"] == [{"source": "drop", "target": "logits", "label": "(None, 64)", "status": "pending"}]
    assert view.total_params == 50890 and y.shape == (None, 10)
    assert view.edges == [("img", "hidden"), ("hidden", "drop"), ("drop", "logits")]
    assert {n["name"]: (n["class_name"], n["output_shape"], n["params"], n["error"]) for n in view.nodes} == {
        "img": ("InputLayer", "(None, 784)", 0, None), "hidden": ("Dense", "(None, 64)", 50240, None),
        "drop": ("Dropout", "(None, 64)", 0, None), "logits": ("Dense", "(None, 10)", 650, None)}


def test_deltas_carry_the_running_trainable_total(make_view):
    view = make_view()
    x = gk.Input((8,), name="x")
    frozen = L.Dense(4, name="frozen")
    frozen.trainable = False
    h = L.BatchNormalization(name="bn")(frozen(x))  # 4 trainable (gamma, beta) + 4 moving statistics
    L.Dense(2, name="head")(h)
    assert [m["trainable_params"] for m in view.sent] == [0, 8, 18]
    assert [m["total_params"] for m in view.sent] == [36, 52, 62]
    assert view.graph["trainable_params"] == 18
    with pytest.raises(ValueError):
        L.Add(name="bad")([x, h])
    assert view.sent[-1]["trainable_params"] == 18  # a failed call adds nothing


def test_ops_and_shared_layers(make_view):
    view = make_view()
    a, b = gk.Input((4,), name="a"), gk.Input((4,), name="b")
    shared = L.Dense(3, name="shared")
    shared(a)
    before = len(view.sent)
    yb = shared(b)
    delta = one_new(view, before)
    assert [n["id"] for n in delta["nodes"]] == ["shared", "b"]  # the same node, updated
    assert delta["total_params"] == 15 and view.total_params == 15
    assert [n["id"] for n in view.nodes].count("shared") == 1
    assert sorted(view.edges) == [("a", "shared"), ("b", "shared")]
    scaled = yb * 2.0
    assert view.sent[-1]["nodes"][0]["class_name"] == "Multiply" and scaled.shape == (None, 3)


def test_failed_call_is_a_red_node_and_still_raises(make_view):
    view = make_view()
    a, b = gk.Input((3,), name="a"), gk.Input((4,), name="b")
    with pytest.raises(ValueError, match="matching shapes") as info:
        L.concatenate([a, b], axis=0, name="bad")
    delta = one_new(view, 0)
    (error,) = [n for n in delta["nodes"] if n["status"] == "error"]
    assert error["id"] == "bad:error" and error["name"] == "bad" and error["class_name"] == "Concatenate"
    assert error["error"] == f"ValueError: {info.value}" and error["params"] == 0 and error["output_shape"] is None
    assert error["input_shapes"] == ["[(None, 3), (None, 4)]"]
    assert {(e["source"], e["target"], e["status"]) for e in delta["edges"]} == {
        ("a", "bad:error", "error"), ("b", "bad:error", "error")}
    assert delta["total_params"] == 0
    # the fixed call (it consumes the same inputs) replaces the error node
    L.concatenate([a, b], name="joined")
    fixed = view.sent[-1]
    assert fixed["remove"] == ["bad:error"] and [n["id"] for n in fixed["nodes"]] == ["joined"]
    assert "bad:error" not in [n["id"] for n in view.nodes]
    assert sorted(view.edges) == [("a", "joined"), ("b", "joined")]


def test_error_node_goes_when_the_same_layer_succeeds(make_view):
    view = make_view()
    fc = L.Dense(2, name="fc")
    fc(gk.Input((3,), name="good"))
    with pytest.raises(ValueError, match="fc"):
        fc(gk.Input((5,), name="wrong"))
    assert [n["id"] for n in view.nodes if n["status"] == "error"] == ["fc:error"]
    assert view.total_params == 8  # the failed call adds nothing
    fc(gk.Input((3,), name="again"))
    assert view.sent[-1]["remove"] == ["fc:error"]
    assert [n["status"] for n in view.nodes] == ["pending"] * 4 and view.total_params == 8


def test_a_disconnected_model_is_a_red_node_until_a_model_is_made(make_view):
    view = make_view()
    a, b = gk.Input((3,), name="a"), gk.Input((4,), name="b")
    joined = L.concatenate([a, b], name="joined")
    before = len(view.sent)
    with pytest.raises(ValueError, match="Graph disconnected") as info:
        gk.Model(a, joined, name="net")
    delta = one_new(view, before)
    (error,) = [n for n in delta["nodes"] if n["status"] == "error"]
    assert error["id"] == "net:error" and error["name"] == "net" and error["class_name"] == "Functional"
    assert error["error"] == f"ValueError: {info.value}" and error["params"] == 0
    assert error["input_shapes"] == ["(None, 7)"]
    assert {(e["source"], e["target"], e["status"]) for e in delta["edges"]} == {("joined", "net:error", "error")}
    assert delta["total_params"] == 0 and not delta["groups"]
    incoming(view, {"type": "details", "id": "net:error"})   # a half-made model has no weights to show
    assert view.sent[-1] == {"type": "details", "id": "net:error", "weights": None}
    gk.Model([a, b], joined, name="fixed")
    fixed = view.sent[-1]
    assert fixed["remove"] == ["net:error"] and [g["id"] for g in fixed["groups"]] == ["fixed"]
    assert sorted(view.edges) == [("a", "joined"), ("b", "joined")]


def test_model_inputs_that_are_not_inputs_make_a_red_node(make_view):
    view = make_view()
    x = gk.Input((3,), name="x")
    hidden = L.Dense(2, name="hidden")(x)
    with pytest.raises(ValueError, match="must come from gk.Input"):
        gk.Model(hidden, L.Dense(1, name="out")(hidden), name="wrong")
    assert [n["id"] for n in view.nodes if n["status"] == "error"] == ["wrong:error"]
    assert ("out", "wrong:error") in view.edges


def test_model_creation_groups_its_layers(make_view):
    view = make_view()
    x = gk.Input((8,), name="x")
    y = L.Dense(2, name="out")(L.Dense(4, name="mid")(x))
    loose = L.Dense(1, name="loose")(y)
    before = len(view.sent)
    model = gk.Model(x, y, name="net")
    delta = one_new(view, before)
    assert delta["groups"] == [{"id": "net", "name": "net", "class_name": "Functional", "parent": None,
                                "params": 36 + 10, "collapsed": False}]
    assert {n["id"]: (n["group"], n["status"]) for n in delta["nodes"]} == {
        "x": ("net", "model"), "mid": ("net", "model"), "out": ("net", "model")}
    assert {(e["source"], e["target"]): e["status"] for e in delta["edges"]} == {
        ("x", "mid"): "model", ("mid", "out"): "model"}
    states = {n["id"]: (n["group"], n["status"]) for n in view.nodes}
    assert states["loose"] == (None, "pending") and loose.shape == (None, 1)
    assert view.graph["groups"][0]["id"] == "net" and model.count_params() == 46


def test_sequential_group_follows_its_stack(make_view):
    view = make_view()
    seq = gk.Sequential([gk.Input((8,), name="x"), L.Dense(4, name="s1")], name="seq")
    assert by_id(view.graph["groups"])["seq"]["class_name"] == "Sequential"
    before = len(view.sent)
    seq.add(L.Dense(2, name="s2"))
    assert len(view.sent) == before + 2  # the layer call, then the regrouping
    assert view.sent[-2]["nodes"][0]["status"] == "pending"
    assert [n["id"] for n in view.sent[-1]["nodes"]] == ["s2"]  # only what changed, not the whole stack
    assert {n["id"]: (n["group"], n["status"]) for n in view.nodes}["s2"] == ("seq", "model")
    assert view.sent[-1]["groups"][0]["params"] == 36 + 10
    seq.pop()
    assert {n["id"]: (n["group"], n["status"]) for n in view.nodes}["s2"] == (None, "pending")


def test_nested_models_become_child_groups(make_view):
    view = make_view()
    a = gk.Input((3,), name="a")
    inner = gk.Model(a, L.Dense(2, name="inner_fc")(a), name="inner")
    x = gk.Input((3,), name="x")
    y = L.Dense(1, name="head")(inner(x))
    delta = view.sent[-1]
    assert {(e["source"], e["target"]) for e in delta["edges"]} == {("inner_fc", "head")}
    assert ("x", "a") in view.edges  # into the inner Input
    gk.Model(x, y, name="outer")
    groups = by_id(view.graph["groups"])
    assert groups["inner"]["parent"] == "outer" and groups["outer"]["parent"] is None
    states = {n["id"]: n["group"] for n in view.nodes}
    assert states == {"a": "inner", "inner_fc": "inner", "x": "outer", "head": "outer"}
    assert view.total_params == 8 + 3


def test_details_are_weight_statistics(make_view):
    view = make_view()
    x = gk.Input((6,), name="x")
    fc = L.Dense(5, name="fc")
    fc(x)
    fc.bias.assign(np.arange(5, dtype="float32"))
    before = len(view.sent)
    incoming(view, {"type": "details", "id": "fc"})
    message = one_new(view, before)
    assert message["type"] == "details" and message["id"] == "fc"
    assert [w["name"] for w in message["weights"]] == ["kernel", "bias"]
    for stats, variable in zip(message["weights"], fc.weights):
        values = variable.numpy().astype(np.float64)
        assert stats["shape"] == list(values.shape)
        assert [stats["mean"], stats["std"], stats["min"], stats["max"]] == pytest.approx(
            [values.mean(), values.std(), values.min(), values.max()], rel=1e-9)
    assert message["weights"][1]["max"] == 4.0
    assert view.nodes[0]["weights"] is None  # sent on request only
    incoming(view, {"type": "details", "id": "nope"})
    assert view.sent[-1] == {"type": "details", "id": "nope", "weights": None}


def test_clear_and_close(make_view):
    view = make_view()
    x = gk.Input((2,), name="x")
    L.Dense(2, name="first")(x)
    view.clear()
    message = view.sent[-1]
    assert message["type"] == "graph" and message["graph"]["nodes"] == [] and message["graph"]["total_params"] == 0
    assert view.nodes == [] and view.edges == [] and view.total_params == 0
    L.Dense(3, name="second")(x)
    assert [n["id"] for n in view.nodes] == ["second", "x"] and view.total_params == 9
    view.close()
    assert SUBSCRIBERS.layer_call == () and SUBSCRIBERS.model == ()
    sent = len(view.sent)
    L.Dense(3, name="third")(x)
    assert len(view.sent) == sent and [n["id"] for n in view.nodes] == ["second", "x"]


def test_two_views_record_independently(make_view):
    first, second = make_view(), make_view()
    x = gk.Input((2,), name="x")
    L.Dense(2, name="both")(x)
    assert [n["id"] for n in first.nodes] == [n["id"] for n in second.nodes] == ["both", "x"]
    assert len(first.sent) == len(second.sent) == 1
    first.close()
    L.Dense(2, name="only_second")(x)
    assert "only_second" in [n["id"] for n in second.nodes]
    assert "only_second" not in [n["id"] for n in first.nodes]
    assert len(SUBSCRIBERS.layer_call) == len(SUBSCRIBERS.model) == 1


def test_live_view_of_an_existing_nested_model(make_view):
    model = examples.conv_autoencoder()
    view = make_view(model)
    assert view.sent == []  # the front end's hello gets it all
    groups = by_id(view.graph["groups"])
    assert {(g, groups[g]["parent"], groups[g]["collapsed"]) for g in groups} == {
        ("autoencoder", None, False), ("encoder", "autoencoder", True), ("decoder", "autoencoder", True)}
    assert view.total_params == 28241 == model.count_params()
    nodes = {n["id"]: n for n in view.nodes}
    assert nodes["conv2d"]["group"] == "encoder" and nodes["img"]["group"] == "autoencoder"
    assert all(n["status"] == "model" for n in view.nodes) and len(view.nodes) == 15
    edges = set(view.edges)
    assert ("img", "img#2") in edges  # the outer Input feeds the encoder's Input
    assert ("global_max_pooling2d", "encoded_img") in edges  # the encoder's output feeds the decoder's Input
    assert len(edges) == 14
    # going on from the model's output: the edge leaves the decoder's last layer
    L.Flatten(name="flat")(model.output)
    assert view.sent[-1]["edges"][0]["source"] == "conv2d_transpose_3"
    incoming(view, {"type": "hello", "need_core": False})
    assert view.sent[-1]["graph"] == view.graph


def test_live_needs_a_model():
    with pytest.raises(TypeError, match="shows a gk.Model; got Dense"):
        gk.live(L.Dense(2))
    assert SUBSCRIBERS.layer_call == () and SUBSCRIBERS.model == ()


def test_dot_of_the_live_view(make_view):
    view = make_view()
    x = gk.Input((3,), name="x")
    y = L.Dense(2, name="fc")(x)
    gk.Model(x, y, name="net")
    L.Dense(4, name="later")(y)
    with pytest.raises(ValueError):
        L.add([y, gk.Input((5,), name="odd")], name="mismatch")
    dot = view.dot
    assert 'subgraph "cluster_net" {' in dot
    later = next(line.strip() for line in dot.splitlines() if line.strip().startswith('"later" ['))
    assert later.startswith('"later" [style="rounded,filled,dashed", class="gk-pending", label=<')
    assert "<b>later</b>" in later and "(Dense)" in later and ">(None, 4)<" in later and ">12 params<" in later
    failed = next(line.strip() for line in dot.splitlines() if line.strip().startswith('"mismatch:error" ['))
    assert failed.startswith('"mismatch:error" [color="#d32f2f", penwidth=2, class="gk-error", label=<')
    assert '<font point-size="9" color="#d32f2f">ValueError' in failed
    assert '"x" -> "fc" [label=<<table' in dot and "<td>(None, 3)</td>" in dot
    if shutil.which("dot"):
        done = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, check=False)
        assert done.returncode == 0, done.stderr.decode()
        assert b"mismatch" in done.stdout


def test_a_failing_view_does_not_break_layer_calls(make_view):
    view = make_view()

    def broken(*args):
        raise KeyError("boom")

    view._live.layer_called = view._live.add_model = broken
    x = gk.Input((3,))
    with pytest.warns(RuntimeWarning, match="live view failed to draw .KeyError: 'boom'"):
        y = L.Dense(2)(x)
    with pytest.warns(RuntimeWarning, match="live view failed to draw .KeyError: 'boom'"):
        model = gk.Model(x, y)
    assert y.shape == (None, 2) and model.count_params() == 8


def test_no_view_no_subscriber():
    assert SUBSCRIBERS.layer_call == () and SUBSCRIBERS.model == ()


def test_eager_calls_are_not_drawn(make_view):
    """The view subscribes to every layer call; calls on data (no graph node) are left out."""
    view = make_view()
    dense = L.Dense(2, name="eager")
    dense(np.ones((4, 3), np.float32))
    assert view.nodes == [] and view.sent == []
    dense(gk.Input((3,), name="x"))
    assert [n["id"] for n in view.nodes] == ["eager", "x"]


def test_gk_viz_live_stays_the_function_after_a_view_opened():
    """Issue 11: after gk.live(), gk.viz.live was the module viz/live.py ('module' object is not callable)."""
    gk.live().close()
    assert gk.viz.live is gk.live and callable(gk.viz.live)
    gk.viz.live().close()


class Notebook:
    """An IPython shell run as a notebook kernel would: each ``run(cell_id, source)`` is one
    execution of that cell (a new execute request, with JupyterLab's ``cellId`` metadata), and
    ``outputs`` collects what it publishes: (data, display_id, update)."""

    def __init__(self, shell):
        self.shell = shell
        self.outputs = []
        self.runs = 0

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
        self.outputs.append((data, (transient or {}).get("display_id"), update))

    def run(self, cell_id, source):
        self.runs += 1
        self.shell.parent_header = {"header": {"msg_id": f"run-{self.runs}"}, "metadata": {"cellId": cell_id}}
        start = len(self.outputs)
        result = self.shell.run_cell(source)
        result.raise_error()
        return self.outputs[start:]


@pytest.fixture
def notebook(monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell
    monkeypatch.setenv("GRAPHKIT_PROGRESS", "widget")  # in_notebook(): as inside a kernel
    shell = InteractiveShell.instance()
    book = Notebook(shell)
    monkeypatch.setattr(shell.display_pub, "publish", book.publish)
    shell.run_cell("import graphkit as gk")
    try:
        yield book
    finally:
        shell.run_cell("[v.close() for v in list(globals().values()) if isinstance(v, gk.viz.LiveView)]")
        InteractiveShell.clear_instance()


WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def test_live_displays_the_widget_then_its_picture_once_per_cell(notebook):
    widget, picture = notebook.run("a", "view = gk.live()\nview")
    assert WIDGET_MIME in widget[0] and widget[2] is False
    assert widget[0]["text/plain"] == ""  # exports and servers without ipywidgets show the picture, no repr
    view = notebook.shell.user_ns["view"]
    data, display_id, update = picture
    assert display_id == f"graphkit-live-{view._uid}" and not update
    assert set(data) == {gk.viz.GRAPH_MIME, "text/html", "text/plain"} and WIDGET_MIME not in data
    # the picture names the widget shown just before it: the front end shows one of the two
    assert data[gk.viz.GRAPH_MIME] == {**view.graph, "widget": view._uid}
    assert data["text/html"].startswith(f'<div class="gk-live-picture" data-gk-widget="{view._uid}">')
    again = notebook.run("b", "view")  # a later cell shows both again, the picture with the same display id
    assert [WIDGET_MIME in d for d, _, _ in again] == [True, False] and again[1][1] == display_id
    view.close()
    (alone, _, _), = notebook.run("c", "view")  # a closed view: only its picture, not paired
    assert WIDGET_MIME not in alone and "widget" not in alone[gk.viz.GRAPH_MIME]
    assert "data-gk-widget" not in alone["text/html"]


def test_picture_follows_the_graph_when_a_cell_finishes(notebook):
    notebook.run("a", "view = gk.live()")
    view = notebook.shell.user_ns["view"]
    (data, display_id, update), = notebook.run(
        "b", "x = gk.Input((4,), name='x')\nm = gk.Model(x, gk.layers.Dense(3, name='fc')(x), name='tiny')")
    assert update is True and display_id == f"graphkit-live-{view._uid}"
    assert data[gk.viz.GRAPH_MIME] == {**view.graph, "widget": view._uid} and view.title == "tiny"
    assert data["text/plain"] == "graphkit live view 'tiny': 2 nodes, 15 params"
    assert notebook.run("c", "y = 1") == []  # nothing changed: no update


@pytest.mark.skipif(not shutil.which("dot"), reason="graphviz's dot is not installed")
def test_picture_is_a_correctly_sized_svg(make_view):
    import re
    view = make_view(examples.mlp())
    output = view.picture()["text/html"]
    assert output.startswith('<div class="gk-live-picture"')
    img, html = only_svg_picture(output)
    assert img["alt"] == "graph of live view 'mnist_model': 4 nodes, 55,050 params"
    tag = re.search(r"<svg\b[^>]*>", html).group(0)
    width = float(re.search(r'width="([\d.]+)(?:px|pt)?"', tag).group(1))
    height = float(re.search(r'height="([\d.]+)(?:px|pt)?"', tag).group(1))
    left, top, box_width, box_height = [float(v) for v in re.search(r'viewBox="([^"]*)"', tag).group(1).split()]
    assert [box_width, box_height] == pytest.approx([width, height], rel=0.01), tag  # drawn 1:1
    assert (int(img["width"]), int(img["height"])) == (round(width), round(height))  # shown 1:1
    transform = re.search(r'class="graph" transform="([^"]*)"', html).group(1)
    scale = float(re.search(r"scale\(([\d.]+)", transform).group(1))
    dx, dy = map(float, re.search(r"translate\(([-\d.]+)[ ,]([-\d.]+)\)", transform).groups())
    for x, y in re.findall(r'<text[^>]* x="([-\d.]+)" y="([-\d.]+)"', html):  # every label inside the picture
        assert left <= scale * (float(x) + dx) <= left + box_width
        assert top <= scale * (float(y) + dy) <= top + box_height
    for node in view.nodes:
        assert f"<title>{node['id']}</title>" in html


def test_rerunning_a_cell_replaces_its_views(notebook):
    notebook.run("a", "view = gk.live()\nsecond = gk.live()")
    first = notebook.shell.user_ns["view"], notebook.shell.user_ns["second"]
    assert len(SUBSCRIBERS.layer_call) == 2  # two views of one run are kept
    notebook.run("b", "other = gk.live()")
    for _ in range(3):
        notebook.run("a", "view = gk.live()")
    assert all(old.comm is None for old in first)  # closed by the re-run
    assert len(SUBSCRIBERS.layer_call) == len(SUBSCRIBERS.model) == 2  # cell a's latest view, cell b's
    notebook.run("c", "x = gk.Input((3,), name='x')\ny = gk.layers.Dense(2, name='fc')(x)")
    assert [n["id"] for n in notebook.shell.user_ns["view"].nodes] == ["fc", "x"]
    assert all(old.nodes == [] for old in first)


def test_a_view_the_front_end_closed_stops_recording():
    view = gk.viz.LiveView()
    view.comm._closed = True  # as the kernel's comm manager does before handle_close
    view.comm.handle_close({"content": {"comm_id": view.model_id, "data": {}}})
    assert view.comm is None and SUBSCRIBERS.layer_call == () and SUBSCRIBERS.model == ()


def test_restored_front_ends_start_from_the_current_graph(make_view):
    """A reloaded page asks the widget's state: its _initial is the graph now, at the seq of the
    last message, so the restored view is complete and applies the next delta."""
    view = make_view()
    x = gk.Input((3,), name="x")
    L.Dense(2, name="fc")(x)
    assert view.get_state()["_initial"] == {"seq": 1, "graph": view.graph}
    assert view.get_state("_initial") == {"_initial": {"seq": 1, "graph": view.graph}}
    L.Dense(4, name="more")(x)
    assert view.get_state()["_initial"]["seq"] == view.sent[-1]["seq"] == 2
    assert [n["id"] for n in view.get_state()["_initial"]["graph"]["nodes"]] == ["fc", "x", "more"]


def test_live_of_a_model_is_scoped_to_it(make_view):
    model = examples.mlp()
    view = make_view(model)
    assert view.title == view.graph["title"] == model.name
    # unrelated work elsewhere in the kernel does not join the view
    other = gk.Input((5,), name="other")
    L.Dense(1000, name="unrelated")(other)
    gk.Model(other, L.Dense(2, name="unrelated_out")(other), name="unrelated_model")
    with pytest.raises(ValueError):
        L.Add(name="unrelated_bad")([other, gk.Input((6,))])
    assert view.sent == [] and view.total_params == 55_050 and view.title == model.name
    # what grows out of the model does
    head = L.Dense(3, name="head")(model.output)
    assert [n["id"] for n in view.sent[-1]["nodes"]] == ["head"] and view.total_params == 55_050 + 33
    gk.Model(model.input, head, name="extended")
    assert view.title == "extended" and view.sent[-1]["title"] == "extended"
    assert "extended" in by_id(view.graph["groups"])
    view.clear()
    assert view.total_params == 55_050 and view.sent[-1]["graph"]["title"] == model.name


def test_titles_follow_the_last_model(make_view):
    view = make_view()
    assert view.title == "live"
    x = gk.Input((3,), name="x")
    y = L.Dense(2, name="fc")(x)
    assert view.sent[-1]["title"] == "live"
    gk.Model(x, y, name="classifier")
    assert view.title == view.graph["title"] == view.sent[-1]["title"] == "classifier"
    assert view.picture()["text/plain"].startswith("graphkit live view 'classifier'")


def test_clear_errors_removes_every_red_node(make_view):
    view = make_view()
    a, b = gk.Input((3,), name="a"), gk.Input((4,), name="b")
    joined = L.concatenate([a, b], name="joined")
    with pytest.raises(ValueError):
        L.add([a, b], name="bad_add")
    with pytest.raises(ValueError):
        gk.Model(a, joined, name="broken")
    assert {n["id"] for n in view.nodes if n["status"] == "error"} == {"bad_add:error", "broken:error"}
    view.clear_errors()
    assert sorted(view.sent[-1]["remove"]) == ["bad_add:error", "broken:error"]
    assert [n["status"] for n in view.nodes] == ["pending"] * 3
    assert sorted(view.edges) == [("a", "joined"), ("b", "joined")]
    with pytest.raises(ValueError):
        L.add([a, b], name="bad_again")
    incoming(view, {"type": "clear_errors"})  # the toolbar's button
    assert view.sent[-1]["remove"] == ["bad_again:error"] and all(n["status"] != "error" for n in view.nodes)
