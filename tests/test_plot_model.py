"""gk.utils.model_to_dot / plot_model: DOT snapshots, nesting, shared layers, rendering, errors.

Snapshots live in tests/snapshots/plot_model/*.dot; regenerate them with
``GRAPHKIT_UPDATE_SNAPSHOTS=1 pytest tests/test_plot_model.py`` (and review the diff).
"""
import os
import re
import shutil

import numpy as np
import pytest

import graphkit as gk
from graphkit.examples import models as examples
from graphkit.layers.layer import clear_session
from graphkit.utils import graphviz as gv
from svg_pictures import only_svg_picture

L = gk.layers
SNAPSHOTS = os.path.join(os.path.dirname(__file__), "snapshots", "plot_model")
HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="graphviz's `dot` is not installed (make test installs it)")


def check_snapshot(name, text):
    path = os.path.join(SNAPSHOTS, name + ".dot")
    if os.environ.get("GRAPHKIT_UPDATE_SNAPSHOTS") or not os.path.exists(path):
        if not os.environ.get("GRAPHKIT_UPDATE_SNAPSHOTS") and os.environ.get("CI"):
            pytest.fail(f"missing snapshot {path}")
        os.makedirs(SNAPSHOTS, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(str(text))
    with open(path, encoding="utf-8") as handle:
        assert str(text) == handle.read()


def edges(dot):
    return re.findall(r'^\s*("[^"]*") -> ("[^"]*")', str(dot), flags=re.M)


def node_ids(dot):
    return re.findall(r'^\s*"((?:[^"\\]|\\.)*)" \[label=', str(dot), flags=re.M)


def nested_two_in_two_out():
    a, b = gk.Input((3,), name="a"), gk.Input((5,), name="b")
    inner = gk.Model([a, b], [L.Dense(2, name="da")(a), L.Dense(4, name="db")(b)], name="inner")
    x, y = gk.Input((3,), name="x"), gk.Input((5,), name="y")
    p, q = inner([x, y])
    out = L.concatenate([L.Dense(1, name="after_q")(q), p], name="cat")
    return gk.Model([x, y], out, name="outer")


# ------------------------------------------------------------------------------ snapshots
def test_mlp_snapshot():
    dot = gk.utils.model_to_dot(examples.mlp())
    check_snapshot("mlp", dot)
    assert edges(dot) == [('"img"', '"dense"'), ('"dense"', '"dense_1"'), ('"dense_1"', '"dense_2"')]
    assert dot.startswith('digraph "mnist_model" {\n\tgraph [rankdir=TB, dpi=96, splines=ortho];')
    assert "<b>dense</b> (Dense)" in dot


def test_mlp_all_options_snapshot():
    dot = gk.utils.model_to_dot(examples.mlp(), show_shapes=True, show_dtype=True, show_params=True,
                                show_layer_activations=True, show_trainable=True, rankdir="LR", dpi=72)
    check_snapshot("mlp_all_options", dot)
    assert "rankdir=LR, dpi=72" in dot
    assert "Input shape: <b>(None, 784)</b>" in dot and "Output shape: <b>(None, 64)</b>" in dot
    assert "Output dtype: <b>float32</b>" in dot
    assert "Params: <b>50,240</b>" in dot and "Params: <b>650</b>" in dot
    assert "Activation: <b>relu</b>" in dot and "Activation: <b>linear</b>" in dot
    assert dot.count("<b>Trainable</b>") == 3  # the InputLayer has no weights: no cell


def test_each_option_alone():
    model = examples.mlp()
    base = gk.utils.model_to_dot(model)
    assert "Output shape" not in base and "dtype" not in base and "Params" not in base
    assert "Activation" not in base and "Trainable" not in base
    assert "Output shape" in gk.utils.model_to_dot(model, show_shapes=True)
    assert "Output dtype" in gk.utils.model_to_dot(model, show_dtype=True)
    assert "Params: <b>4,160</b>" in gk.utils.model_to_dot(model, show_params=True)
    assert "Activation: <b>relu</b>" in gk.utils.model_to_dot(model, show_layer_activations=True)
    model.layers[1].trainable = False
    frozen = gk.utils.model_to_dot(model, show_trainable=True)
    assert frozen.count("Non-trainable") == 1 and frozen.count("<b>Trainable</b>") == 2
    names = gk.utils.model_to_dot(model, show_layer_names=False)
    assert "<b>Dense</b></font>" in names and "dense_1" not in names.split("\n", 4)[4].split("->")[0].split("label=")[1]
    assert "rankdir=BT" in gk.utils.model_to_dot(model, rankdir="BT")
    with pytest.raises(ValueError, match="rankdir"):
        gk.utils.model_to_dot(model, rankdir="XY")


def test_text_tagger_two_inputs_two_outputs():
    dot = gk.utils.model_to_dot(examples.text_tagger(), show_shapes=True)
    check_snapshot("text_tagger", dot)
    assert set(edges(dot)) >= {('"title"', '"embedding"'), ('"body"', '"embedding_1"'), ('"tags"', '"concatenate"'),
                               ('"concatenate"', '"priority"'), ('"concatenate"', '"department"')}
    assert "Input shape: <b>[(None, 128), (None, 32), (None, 12)]</b>" in dot


def test_shapes_on_edges():
    dot = gk.utils.model_to_dot(examples.text_tagger(), show_shapes="edges")
    check_snapshot("text_tagger_edges", dot)
    assert '"lstm" -> "concatenate" [label="(None, 128)"];' in dot
    assert "Output shape" not in dot and "splines=ortho" not in dot
    both = gk.utils.model_to_dot(examples.mlp(), show_shapes="both")
    assert '[label="(None, 64)"]' in both and "Output shape" in both
    with pytest.raises(ValueError, match="show_shapes"):
        gk.utils.model_to_dot(examples.mlp(), show_shapes="sideways")


def test_nested_autoencoder_collapsed():
    dot = gk.utils.model_to_dot(examples.conv_autoencoder(), show_shapes=True)
    check_snapshot("autoencoder", dot)
    assert node_ids(dot) == ["img", "encoder", "decoder"]
    assert edges(dot) == [('"img"', '"encoder"'), ('"encoder"', '"decoder"')]
    assert "subgraph" not in dot and "<b>encoder</b> (Functional)" in dot


def test_nested_autoencoder_expanded():
    dot = gk.utils.model_to_dot(examples.conv_autoencoder(), expand_nested=True)
    check_snapshot("autoencoder_expanded", dot)
    assert 'subgraph "cluster_encoder" {' in dot and 'subgraph "cluster_decoder" {' in dot
    found = edges(dot)
    assert ('"img"', '"encoder/img"') in found  # into the inner Input, not the cluster
    assert ('"encoder/global_max_pooling2d"', '"decoder/encoded_img"') in found  # from the inner output layer
    assert ('"encoder/conv2d"', '"encoder/conv2d_1"') in found
    assert not any(e for e in found if '"encoder"' in e or '"decoder"' in e)
    assert dot.count("{") == dot.count("}")


def test_nested_multi_input_multi_output_expanded():
    model = nested_two_in_two_out()
    dot = gk.utils.model_to_dot(model, expand_nested=True)
    check_snapshot("nested_two_in_two_out", dot)
    found = set(edges(dot))
    assert {('"x"', '"inner/a"'), ('"y"', '"inner/b"'), ('"inner/db"', '"after_q"'), ('"inner/da"', '"cat"'),
            ('"after_q"', '"cat"')} <= found
    collapsed = gk.utils.model_to_dot(model)
    assert set(edges(collapsed)) == {('"x"', '"inner"'), ('"y"', '"inner"'), ('"inner"', '"after_q"'),
                                     ('"inner"', '"cat"'), ('"after_q"', '"cat"')}


def test_nested_sequential_expanded():
    seq = gk.Sequential([L.Dense(3, name="s1"), L.Dense(1, name="s2")], name="seq")
    x = gk.Input((4,), name="x")
    model = gk.Model(x, L.Dense(2, name="head")(seq(x)), name="m")
    dot = gk.utils.model_to_dot(model, expand_nested=True)
    assert set(edges(dot)) == {('"x"', '"seq/s1"'), ('"seq/s1"', '"seq/s2"'), ('"seq/s2"', '"head"')}
    alone = gk.utils.model_to_dot(seq)
    assert edges(alone) == [('"s1"', '"s2"')]


def test_shared_layer_is_one_node_with_several_edges():
    a, b = gk.Input((4,), name="a"), gk.Input((4,), name="b")
    shared = L.Dense(3, name="shared")
    ya, yb = shared(a), shared(b)
    model = gk.Model([a, b], [L.Dense(1, name="head_a")(ya), L.Dense(1, name="head_b")(yb)], name="siamese")
    dot = gk.utils.model_to_dot(model, show_shapes=True)
    check_snapshot("shared_layer", dot)
    assert node_ids(dot).count("shared") == 1
    found = edges(dot)
    assert [e for e in found if e[1] == '"shared"'] == [('"a"', '"shared"'), ('"b"', '"shared"')]
    assert sorted(e for e in found if e[0] == '"shared"') == [('"shared"', '"head_a"'), ('"shared"', '"head_b"')]
    # two outputs of the shared layer into one consumer: two edges
    c = gk.Input((4,), name="c")
    d = L.Dense(2, name="twice")
    m2 = gk.Model(c, L.add([d(c), d(c)], name="sum"))
    assert edges(gk.utils.model_to_dot(m2)).count(('"twice"', '"sum"')) == 2


def test_deterministic_and_escaped():
    first = gk.utils.model_to_dot(examples.small_resnet(), show_shapes=True, expand_nested=True)
    clear_session()
    second = gk.utils.model_to_dot(examples.small_resnet(), show_shapes=True, expand_nested=True)
    assert first == second
    x = gk.Input((2,), name="in_q")
    model = gk.Model(x, L.Dense(1, name="back_slash")(x), name="m_odel")
    # layer names are restricted when created; force odd ones to check the escaping
    x._keras_history[0]._name = 'in "q" <&>'
    model.layers[1]._name = "back\\slash"
    model._name = 'm"odel'
    dot = gk.utils.model_to_dot(model)
    assert dot.startswith('digraph "m\\"odel" {')
    assert '"in \\"q\\" <&>" [label=' in dot and "<b>in &quot;q&quot; &lt;&amp;&gt;</b>" in dot
    assert '"back%5Cslash" [label=' in dot
    if HAVE_DOT:
        assert "<svg" in dot.create(format="svg").decode()


def test_subgraph_and_layer():
    dot = gk.utils.model_to_dot(examples.mlp(), subgraph=True)
    assert dot.startswith('subgraph "cluster_mnist_model" {') and "digraph" not in dot
    layer = L.Dense(2, name="lonely")
    layer.build((None, 3))
    single = gk.utils.model_to_dot(layer, show_params=True)
    assert node_ids(single) == ["lonely"] and "Params: <b>8</b>" in single
    with pytest.raises(TypeError, match="expects a graphkit model"):
        gk.utils.model_to_dot(object())


def test_concrete_function_graph():
    dense = L.Dense(3, activation="relu", name="fc")
    dense.build((None, 4))

    @gk.function
    def f(x):
        return gk.ops.sum(dense(x) * 2.0)

    x = np.ones((2, 4), "float32")
    f(x)
    concrete = f.get_concrete_function(x)
    dot = gk.utils.model_to_dot(concrete)
    check_snapshot("concrete_function", dot)
    assert node_ids(dot) == ["input_0", "fc/kernel", "fc/bias", "const_0", "dense", "relu", "multiply", "sum",
                             "output_0"]
    assert "<b>dense</b> (dense)" in dot and "Output shape: <b>(2, 3)</b>" in dot
    assert ('"fc/kernel"', '"dense"') in edges(dot) and ('"sum"', '"output_0"') in edges(dot)
    assert gk.utils.model_to_dot(concrete.graph).split("\n", 1)[1] == dot.split("\n", 1)[1]
    assert gk.utils.model_to_dot(f) == dot  # one traced graph: that one
    plot = gk.utils.plot_model(concrete, show_dtype=True)
    assert "Output dtype: <b>float32</b>" in plot.source


# ------------------------------------------------------------------------------ rendering
@needs_dot
@pytest.mark.parametrize("ext,magic", [("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_render_files(tmp_path, ext, magic):
    target = tmp_path / f"model.{ext}"
    plot = gk.utils.plot_model(examples.conv_autoencoder(), to_file=target, show_shapes=True, expand_nested=True)
    assert plot.path == str(target)
    assert target.read_bytes().startswith(magic)
    assert os.listdir(tmp_path) == [f"model.{ext}"]  # no temp file left


@needs_dot
def test_inline_svg_display():
    plot = gk.utils.plot_model(examples.mlp())
    bundle = plot._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"] and bundle["text/vnd.graphviz"] == plot.source
    assert plot._repr_svg_() == bundle["image/svg+xml"]
    # front ends without graphkit's extension show the HTML: the picture, scaled to fit
    img, svg = only_svg_picture(bundle["text/html"])
    assert svg == bundle["image/svg+xml"] and img["style"] == "max-width:100%;height:auto"
    assert img["alt"].startswith("graph of model 'mnist_model': ")
    assert_no_raw_dot(bundle)
    dot_bundle = gk.utils.model_to_dot(examples.mlp())._repr_mimebundle_()
    assert "image/svg+xml" in dot_bundle
    assert_no_raw_dot(dot_bundle)


def assert_no_raw_dot(bundle):
    """What a front end shows (text or HTML) is never the DOT source."""
    for mime in ("text/plain", "text/html"):
        assert "digraph" not in bundle[mime] and not edges(bundle[mime]) and "[label=<" not in bundle[mime], mime


def test_picture_carries_layer_details():
    model = examples.conv_autoencoder()
    plot = gk.utils.plot_model(model, show_shapes=True)
    graph = plot._repr_mimebundle_()["application/vnd.graphkit.graph+json"]
    # one node per DOT node, same ids (the front end finds them by graphviz title)
    assert [n["id"] for n in graph["nodes"]] == node_ids(plot.source)
    encoder = next(n for n in graph["nodes"] if n["id"] == "encoder")
    assert encoder["class_name"] == "Functional" and encoder["params"] == model.get_layer("encoder").count_params()
    nested = gk.utils.plot_model(model, expand_nested=True)
    conv = next(n for n in nested.nodes if n["class_name"] == "Conv2D")
    assert conv["id"].startswith("encoder/") and conv["group"] == "encoder"
    assert conv["formula"].startswith("kernel 3×3×") and conv["weights"][0]["name"] == "kernel"
    assert [n["id"] for n in nested.nodes] == node_ids(nested.source)


def test_write_dot_file(tmp_path):
    target = tmp_path / "model.dot"
    plot = gk.utils.plot_model(examples.mlp(), to_file=str(target))
    assert target.read_text() == plot.source == str(plot)
    assert os.listdir(tmp_path) == ["model.dot"]


def test_unknown_extension(tmp_path):
    with pytest.raises(ValueError, match=r"cannot write '.*model\.jpgx': unknown file extension \.jpgx; use \.svg"):
        gk.utils.plot_model(examples.mlp(), to_file=tmp_path / "model.jpgx")
    assert os.listdir(tmp_path) == []


def test_missing_dot(tmp_path, monkeypatch):
    monkeypatch.delenv("GRAPHKIT_DOT", raising=False)
    monkeypatch.setattr(gv.shutil, "which", lambda *args, **kwargs: None)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(gv.GraphvizNotFoundError) as info:
        gk.utils.plot_model(examples.mlp(), to_file="model.png")
    assert str(info.value) == (
        "plot_model needs graphviz's `dot` program to write 'model.png'; install it with `apt-get install "
        "graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) or `conda install graphviz`, or save to a "
        ".dot file.")
    assert info.value.__context__ is None  # one error, raised by plot_model itself
    assert os.listdir(tmp_path) == []
    # the notebook still gets the graph (laid out by the extension), and .dot files still work
    plot = gk.utils.plot_model(examples.mlp())
    bundle = plot._repr_mimebundle_()
    assert "image/svg+xml" not in bundle and bundle["text/vnd.graphviz"] == plot.source
    assert plot._repr_svg_() is None
    # without the extension: the summary and what to install, never the DOT source
    assert_no_raw_dot(bundle)
    assert 'Model: "mnist_model"' in bundle["text/html"] and "install graphviz" in bundle["text/html"]
    assert "graphkit in the Jupyter server" in bundle["text/html"]
    # ... and the graph MIME, which JupyterLab's extension lays out with its WASM graphviz
    graph = bundle["application/vnd.graphkit.graph+json"]
    assert graph["dot"] == plot.source and graph["format"] == "graphkit.graph"
    assert (graph["title"], graph["total_params"], graph["trainable_params"]) == ("mnist_model", 55_050, 55_050)
    gk.utils.plot_model(examples.mlp(), to_file="model.dot")
    assert os.listdir(tmp_path) == ["model.dot"]


@needs_dot
def test_failed_render_leaves_old_file(tmp_path):
    target = tmp_path / "model.svg"
    target.write_text("old")
    with pytest.raises(gv.GraphvizError, match="failed"):
        gv.write_rendered("digraph { this is not dot ", str(target))
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["model.svg"]


def test_a_model_displays_its_summary_and_its_graph_in_notebooks():
    from graphkit import examples
    bundle = examples.mlp()._repr_mimebundle_()
    assert "Total params: 55,050" in bundle["text/plain"]
    assert "55,050" in bundle["text/html"]
    if shutil.which("dot"):
        assert "(Dense)" in only_svg_picture(bundle["text/html"])[1]
