"""The graph JSON of a model (gk.viz.model_graph), its DOT text and the model's notebook bundle."""
import json
import shutil
import subprocess

import numpy as np
import pytest

import graphkit as gk
from graphkit.examples import models as examples
from graphkit.models.summary import format_summary
from graphkit.viz import GRAPH_MIME, graph_to_dot, model_graph
from graphkit.viz.nodes import json_safe, param_formula
from svg_pictures import only_svg_picture

L = gk.layers
HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="graphviz's `dot` is not installed (make test installs it)")


def ids(graph):
    return [node["id"] for node in graph["nodes"]]


def edge_set(graph):
    return {(edge["source"], edge["target"]) for edge in graph["edges"]}


def node(graph, node_id):
    return next(n for n in graph["nodes"] if n["id"] == node_id)


def strict_json(value):
    return json.loads(json.dumps(value, allow_nan=False))


# ----------------------------------------------------------------------------- structure
def test_mlp_graph():
    model = examples.mlp()
    graph = model_graph(model)
    assert graph["format"] == "graphkit.graph" and graph["version"] == 1
    assert graph["title"] == "mnist_model" and graph["rankdir"] == "TB"
    assert ids(graph) == ["img", "dense", "dense_1", "dense_2"]
    assert [(e["source"], e["target"], e["label"]) for e in graph["edges"]] == [
        ("img", "dense", "(None, 784)"), ("dense", "dense_1", "(None, 64)"), ("dense_1", "dense_2", "(None, 64)")]
    assert graph["groups"] == []
    assert graph["total_params"] == graph["trainable_params"] == 55050
    assert graph["summary"] == format_summary(model)
    dense = node(graph, "dense")
    assert dense["class_name"] == "Dense" and dense["group"] is None and dense["status"] == "model"
    assert dense["input_shapes"] == ["(None, 784)"] and dense["output_shape"] == "(None, 64)"
    assert dense["dtype"] == "float32" and dense["params"] == 50240 and dense["trainable"] is True
    assert dense["activation"] == "relu" and dense["config"]["units"] == 64 and dense["error"] is None
    assert node(graph, "dense_2")["activation"] == "linear"
    img = node(graph, "img")
    assert img["input_shapes"] == [] and img["params"] == 0 and img["formula"] is None and img["weights"] == []


def test_nested_models_are_groups_with_edges_into_inner_layers():
    graph = model_graph(examples.conv_autoencoder())
    assert [(g["id"], g["class_name"], g["parent"], g["params"], g["collapsed"]) for g in graph["groups"]] == [
        ("encoder", "Functional", None, 18672, True), ("decoder", "Functional", None, 9569, True)]
    assert "encoder" not in ids(graph) and "decoder" not in ids(graph)
    assert node(graph, "encoder/conv2d")["group"] == "encoder"
    assert node(graph, "decoder/reshape")["group"] == "decoder" and node(graph, "img")["group"] is None
    edges = edge_set(graph)
    assert ("img", "encoder/img") in edges  # into the inner Input
    assert ("encoder/global_max_pooling2d", "decoder/encoded_img") in edges  # from the inner output layer
    assert ("encoder/conv2d", "encoder/conv2d_1") in edges
    assert len(graph["nodes"]) == 1 + 7 + 7 and len(edges) == 14
    assert graph["total_params"] == 28241 == sum(n["params"] for n in graph["nodes"])
    expanded = model_graph(examples.conv_autoencoder(), expand_nested=True)
    assert [g["collapsed"] for g in expanded["groups"]] == [False, False]


def test_multi_input_output_and_deeper_nesting():
    a, b = gk.Input((3,), name="a"), gk.Input((5,), name="b")
    inner = gk.Model([a, b], [L.Dense(2, name="da")(a), L.Dense(4, name="db")(b)], name="inner")
    x, y = gk.Input((3,), name="x"), gk.Input((5,), name="y")
    p, q = inner([x, y])
    middle = gk.Model([x, y], L.concatenate([L.Dense(1, name="after_q")(q), p], name="cat"), name="middle")
    s, t = gk.Input((3,), name="s"), gk.Input((5,), name="t")
    outer = gk.Model([s, t], L.Dense(1, name="head")(middle([s, t])), name="outer")
    graph = model_graph(outer)
    groups = {g["id"]: g["parent"] for g in graph["groups"]}
    assert groups == {"middle": None, "middle/inner": "middle"}
    assert node(graph, "middle/inner/da")["group"] == "middle/inner"
    assert node(graph, "middle/cat")["group"] == "middle"
    assert {("s", "middle/x"), ("t", "middle/y"), ("middle/x", "middle/inner/a"), ("middle/y", "middle/inner/b"),
            ("middle/inner/db", "middle/after_q"), ("middle/inner/da", "middle/cat"),
            ("middle/cat", "head")} <= edge_set(graph)
    assert graph["total_params"] == outer.count_params()


def test_nested_sequential_group():
    seq = gk.Sequential([L.Dense(3, name="s1"), L.Dense(1, name="s2")], name="seq")
    x = gk.Input((4,), name="x")
    graph = model_graph(gk.Model(x, L.Dense(2, name="head")(seq(x)), name="m"))
    assert graph["groups"][0]["id"] == "seq" and graph["groups"][0]["class_name"] == "Sequential"
    assert edge_set(graph) == {("x", "seq/s1"), ("seq/s1", "seq/s2"), ("seq/s2", "head")}


def test_shared_layer_is_one_node():
    a, b = gk.Input((4,), name="a"), gk.Input((6,), name="b")
    shared = L.Dense(3, name="shared")
    ya = shared(a)
    yb = shared(L.Dense(4, name="squeeze")(b))
    model = gk.Model([a, b], L.add([ya, yb], name="sum"), name="siamese")
    graph = model_graph(model)
    assert ids(graph).count("shared") == 1
    assert {e for e in edge_set(graph) if e[1] == "shared"} == {("a", "shared"), ("squeeze", "shared")}
    assert node(graph, "shared")["input_shapes"] == ["(None, 4)"]  # both calls see (None, 4)
    assert node(graph, "shared")["params"] == 15 and graph["total_params"] == 15 + 28


# ------------------------------------------------------------------------------ formulas
def built(layer, shape):
    layer.build(shape)
    return layer


@pytest.mark.parametrize("layer,shape,formula,count", [
    (L.Dense(64), (None, 784), "kernel 784×64 + bias 64 = 50,240", 784 * 64 + 64),
    (L.Dense(10, use_bias=False), (None, 64), "kernel 64×10 = 640", 640),
    (L.Conv2D(32, 3), (None, 28, 28, 16), "kernel 3×3×16×32 + bias 32 = 4,640", 3 * 3 * 16 * 32 + 32),
    (L.BatchNormalization(), (None, 4),
     "gamma 4 + beta 4 = 8 trainable; moving_mean 4 + moving_variance 4 = 8 non-trainable; total 16", 16),
    (L.Embedding(10000, 64), (None, 12), "embeddings 10,000×64 = 640,000", 10000 * 64),
    (L.LSTM(128), (None, 10, 64), "kernel 64×512 + recurrent_kernel 128×512 + bias 512 = 98,816",
     64 * 512 + 128 * 512 + 512),
])
def test_parameter_formula(layer, shape, formula, count):
    layer = built(layer, shape)
    assert param_formula(layer) == formula
    assert layer.count_params() == count


def test_formula_is_null_without_weights():
    assert param_formula(built(L.MaxPooling2D(2), (None, 8, 8, 3))) is None
    assert param_formula(L.Dense(3)) is None  # not built: no weights yet
    graph = model_graph(examples.small_resnet())
    assert all((n["formula"] is None) == (n["params"] == 0) for n in graph["nodes"])
    dense = [n["formula"] for n in graph["nodes"] if n["class_name"] == "Dense"]
    assert dense == ["kernel 64×256 + bias 256 = 16,640", "kernel 256×10 + bias 10 = 2,570"]


def test_formula_of_a_frozen_layer():
    layer = built(L.Dense(3), (None, 2))
    layer.trainable = False
    assert param_formula(layer) == "kernel 2×3 + bias 3 = 9 non-trainable"


# ------------------------------------------------------------------------------- weights
def test_weight_statistics_match_numpy():
    x = gk.Input((5,), name="x")
    model = gk.Model(x, L.BatchNormalization(name="bn")(L.Dense(7, name="fc")(x)), name="m")
    model.get_layer("bn").moving_mean.assign(np.arange(7, dtype="float32"))
    graph = model_graph(model)
    for layer_name, names in [("fc", ["kernel", "bias"]), ("bn", ["gamma", "beta", "moving_mean", "moving_variance"])]:
        layer = model.get_layer(layer_name)
        stats = node(graph, layer_name)["weights"]
        assert [s["name"] for s in stats] == names
        for entry, variable in zip(stats, layer.weights):
            values = variable.numpy().astype(np.float64)
            assert entry["shape"] == list(values.shape) and entry["trainable"] == variable.trainable
            for key, expected in [("mean", values.mean()), ("std", values.std()), ("min", values.min()),
                                  ("max", values.max())]:
                assert entry[key] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert [s["trainable"] for s in node(graph, "bn")["weights"]] == [True, True, False, False]
    assert node(graph, "bn")["weights"][2]["max"] == 6.0
    assert graph["total_params"] == 5 * 7 + 7 + 4 * 7 and graph["trainable_params"] == 5 * 7 + 7 + 2 * 7


# ---------------------------------------------------------------------------------- JSON
@pytest.mark.parametrize("build", [examples.mlp, examples.text_tagger, examples.small_resnet,
                                   examples.conv_autoencoder])
def test_graph_is_strict_json(build):
    graph = model_graph(build())
    assert strict_json(graph) == graph


def test_configs_fall_back_to_repr():
    x = gk.Input((4, 6), name="x")
    model = gk.Model(x, L.Dense(2, name="fc")(x[:, 1:3]), name="sliced")
    graph = model_graph(model)
    assert strict_json(graph) == graph
    config = next(n for n in graph["nodes"] if n["class_name"] == "GetItem")["config"]
    assert config["name"] == "get_item"
    assert json_safe({"a": (1, np.float32(2.5)), 3: float("nan"), "s": slice(1, 2), "n": np.int64(4)}) == {
        "a": [1, 2.5], "3": "nan", "s": "slice(1, 2, None)", "n": 4}


def test_unbuilt_model_has_no_graph():
    with pytest.raises(ValueError, match="not built"):
        model_graph(gk.Sequential([L.Dense(3)]))


# ----------------------------------------------------------------------------------- DOT
def test_graph_to_dot():
    graph = model_graph(examples.conv_autoencoder())
    dot = graph_to_dot(graph)
    assert dot.startswith('digraph "autoencoder" {') and dot.count("{") == dot.count("}")
    assert 'subgraph "cluster_encoder" {' in dot and 'subgraph "cluster_decoder" {' in dot
    assert '"img" -> "encoder/img" [label=<<table' in dot and "<td>(None, 28, 28, 1)</td>" in dot
    assert "<b>encoder</b> <font color=\"#616161\">(Functional · 18,672 params)</font>" in dot
    assert "dashed" not in dot  # model nodes and model boxes are solid
    graph["nodes"][0]["status"] = "pending"
    graph["nodes"][1].update(status="error", error='ValueError: bad "shape" \\ here')
    dot = graph_to_dot(graph)
    img = next(line.strip() for line in dot.splitlines() if line.strip().startswith('"img" ['))
    assert img.startswith('"img" [style="rounded,filled,dashed", class="gk-pending", label=<')
    assert '<b>img</b> <font color="#616161">(InputLayer)</font>' in img and ">(None, 28, 28, 1)<" in img
    failed = next(line.strip() for line in dot.splitlines() if line.strip().startswith('"encoder/img" ['))
    assert failed.startswith('"encoder/img" [color="#d32f2f", penwidth=2, class="gk-error", label=<')
    assert '<font point-size="9" color="#d32f2f">ValueError: bad &quot;shape&quot; \\\\ here</font>' in failed
    if HAVE_DOT:
        done = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, check=False)
        assert done.returncode == 0, done.stderr.decode()
        assert b"<svg" in done.stdout


# ------------------------------------------------------------------------------ notebooks
def test_mimebundle_carries_the_graph():
    model = examples.mlp()
    bundle = model._repr_mimebundle_()
    assert bundle[GRAPH_MIME] == model_graph(model)
    assert strict_json(bundle[GRAPH_MIME]) == bundle[GRAPH_MIME]
    assert "Total params: 55,050" in bundle["text/plain"] and "55,050" in bundle["text/html"]


def test_mimebundle_without_graphviz(monkeypatch):
    monkeypatch.setenv("GRAPHKIT_DOT", "/nonexistent/graphkit-test-dot")
    model = examples.conv_autoencoder()
    bundle = model._repr_mimebundle_()
    assert set(bundle) == {GRAPH_MIME, "text/html", "text/plain"}
    assert "<svg" not in bundle["text/html"] and "<img" not in bundle["text/html"] and "28,241" in bundle["text/html"]
    assert [g["id"] for g in bundle[GRAPH_MIME]["groups"]] == ["encoder", "decoder"]
    # front ends without graphkit's extension show the summary and say what to install
    assert bundle["text/html"].count('class="graphkit-hint"') == 1 and "install graphviz" in bundle["text/html"]


@needs_dot
def test_mimebundle_with_graphviz():
    bundle = examples.mlp()._repr_mimebundle_()
    img, svg = only_svg_picture(bundle["text/html"])
    assert "(Dense)" in svg and GRAPH_MIME in bundle
    assert img["style"] == "max-width:100%;height:auto" and "graphkit-hint" not in bundle["text/html"]
    assert img["alt"] == "graph of model 'mnist_model': 4 layers, 55,050 params"


def test_unbuilt_model_bundle_has_only_the_summary():
    model = gk.Sequential([L.Dense(3), L.Dense(1)], name="later")
    bundle = model._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    assert 'Model: "later"' in bundle["text/plain"] and "unbuilt" in bundle["text/plain"]
